/* SPDX-License-Identifier: MIT */
/* test_sim_cov.c - the simulated world (sim/world.c) used wrongly or in unusual orders: each bad configuration refused with its message, calls in the past, runs to a time or stopped, a link cut before its node fails. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "sim/sim_int.h"
#include "tests/common/selftest.h"
#include "tests/sim/simt.h"

/* ukf_sim_create on c must fail with a message containing `want`. */
static int refused(const struct ukf_sim_config *c, const char *want)
{
	struct ukf_world w = { 0 };
	char err[300] = "";
	if (ukf_sim_create(&w, c, NULL, NULL, err, sizeof(err)) == 0) {
		fprintf(stderr, "accepted, wanted '%s'\n", want);
		w.ops->destroy(&w.w);
		return 0;
	}
	if (!strstr(err, want)) {
		fprintf(stderr, "message '%s', wanted '%s'\n", err, want);
		return 0;
	}
	return 1;
}

/*
 * Each bad setting is refused by ukf_sim_create with a message naming
 * it; the defaults (and each setting at its limit) are accepted.
 */
static int t_create_refusals(void)
{
	struct ukf_sim_config c, d;
	struct ukf_world w = { 0 };
	char err[300];

	ukf_sim_config_default(&d);
	CHECK(ukf_sim_create(NULL, &d, NULL, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "no world or configuration"));
	CHECK(ukf_sim_create(&w, NULL, NULL, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "no world or configuration"));

#define BAD(field, value, want)                                               \
	do {                                                                  \
		c = d;                                                        \
		c.field = value;                                              \
		CHECKF(refused(&c, want), "%s = %s", #field, #value);         \
	} while (0)
	BAD(engine.nodes, 0, "at least one node");
	BAD(link_latency_ns, -1, "negative link latency -1 ns");
	BAD(link_bandwidth_bps, 0, "link bandwidth must be > 0");
	BAD(link_bandwidth_bps, NAN, "link bandwidth must be > 0");
	BAD(link_bandwidth_bps, INFINITY, "link bandwidth must be > 0");
	BAD(dir_delay_ns, -1, "negative directory delay");
	BAD(sample_every_ns, -1, "sample period");
	BAD(dir_delay_p99_ns, d.dir_delay_ns - 1, "below its median");
	BAD(model.boot_base_ns, -1, "model costs must be >= 0");
	BAD(model.load_ns_per_byte, NAN, "model costs must be >= 0");
	BAD(model.jitter, 5.5, "jitter 0..5");
	BAD(racks, d.engine.nodes + 1, "racks must be <= nodes");
	BAD(rack_uplink_bps, -1, "uplink and core bandwidths >= 0");
	BAD(core_bps, INFINITY, "uplink and core bandwidths >= 0");
	BAD(faults.boot, 1.5, "fault probabilities must be in [0, 1]");
	BAD(faults.crash, NAN, "fault probabilities must be in [0, 1]");
	BAD(faults.save_delta, -0.1, "fault probabilities must be in [0, 1]");
	BAD(churn_mtbf_ns, UKF_S, "churn needs both");
	BAD(churn_mttr_ns, UKF_S, "churn needs both");
	BAD(detect_ns, -1, "detection delay >= 0");
	BAD(engine.placement, "no-such-policy", "no-such-policy");
#undef BAD
	/* a lognormal delay needs a median > 0: a p99 with dir_delay 0 was
	 * ignored without a word (every record applied at once) */
	c = d;
	c.dir_delay_ns = 0;
	c.dir_delay_p99_ns = 5 * UKF_MS;
	CHECKF(refused(&c, "median of 0"), "dir_delay_p99 with dir_delay 0");

	/* at the limits: accepted */
	c = d;
	c.racks = c.engine.nodes;
	c.model.jitter = 5;
	c.faults.boot = 1;
	c.dir_delay_p99_ns = c.dir_delay_ns;
	CHECK(ukf_sim_create(&w, &c, NULL, NULL, err, sizeof(err)) == 0);
	CHECK(ukf_sim_is(&w));
	w.ops->destroy(&w.w);
	CHECK(!w.w);
	return 0;
}

/*
 * ukf_sim_set_network refuses what is not a simulated world, more racks
 * than nodes and bad bandwidths, each with its message, and leaves the
 * world as it was; asking for the per-link model (fair 0, racks 0)
 * changes nothing, so the fabric can still be chosen after it, once.
 */
static int t_set_network_refusals(void)
{
	struct ukf_sim_config c;
	struct ukf_world none = { 0 }, w = { 0 };
	char err[300];

	ukf_sim_config_default(&c);
	c.engine.nodes = 4;
	CHECK(ukf_sim_set_network(&none, 1, 0, 0, 0, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not a simulated world"));
	CHECK(!ukf_sim_is(&none));
	CHECK(isnan(ukf_sim_uniform(&none, 1)));
	CHECK(isnan(ukf_sim_exponential(&none, 1, 1.0)));
	CHECK(ukf_sim_node_state(&none, 0) == -1);
	CHECK(ukf_sim_net_dropped(&none) == 0);
	CHECK(ukf_sim_create(&w, &c, NULL, NULL, err, sizeof(err)) == 0);
	CHECK(isnan(ukf_sim_exponential(&w, 1, -1.0)));
	double x = ukf_sim_exponential(&w, 1, 2.0);
	CHECK(x >= 0 && isfinite(x));
	CHECK(ukf_sim_set_network(&w, 1, 5, 0, 0, err, sizeof(err)) == -1);
	CHECK(strstr(err, "racks=5: more racks than nodes (4)"));
	CHECK(ukf_sim_set_network(&w, 1, 2, -1, 0, err, sizeof(err)) == -1);
	CHECK(strstr(err, "bandwidths must be >= 0"));
	CHECK(ukf_sim_set_network(&w, 1, 2, 0, NAN, err, sizeof(err)) == -1);
	CHECK(strstr(err, "bandwidths must be >= 0"));
	CHECK(ukf_sim_set_network(&w, 0, 0, 0, 0, err, sizeof(err)) == 0);
	CHECK(ukf_sim_set_network(&w, 1, 2, 1e9, 0, err, sizeof(err)) == 0);
	CHECK(ukf_sim_set_network(&w, 1, 2, 1e9, 0, err, sizeof(err)) == -1);
	CHECK(strstr(err, "set once"));
	/* outages need a started world */
	CHECK(ukf_sim_fail_node(&w, 1, "x", err, sizeof(err)) == -1);
	CHECK(strstr(err, "the world has not started"));
	CHECK(ukf_sim_node_state(&w, 4) == -1);
	CHECK(ukf_sim_node_state(&w, 3) == 0);
	w.ops->destroy(&w.w);
	return 0;
}

/* What the callbacks of t_world_order saw. */
struct seen {
	struct ukf_world *w;
	int n;
	ukf_ns_t at[8];
	uint64_t x[8];
	volatile int *stop;
};

static void note(void *arg, uint64_t x)
{
	struct seen *s = arg;
	if (s->n < 8) {
		s->at[s->n] = s->w->ops->now(s->w->w);
		s->x[s->n] = x;
	}
	s->n++;
	if (x == 99 && s->stop)
		*s->stop = 1; /* a callback asks the run to stop */
}

/*
 * The clock and the run loop: run(until) ends with the clock at `until`
 * when events remain beyond it (and does not go back for an earlier
 * until); a call scheduled in the past runs at the current time, after
 * those already due then; a set stop flag ends a run before its next
 * event and the next run goes on from there; a call without a function
 * is refused.
 */
static int t_world_order(void)
{
	struct ukf_sim_config c;
	struct ukf_world w = { 0 };
	struct seen s = { .w = &w };
	volatile int stop = 0;
	char err[300];

	ukf_sim_config_default(&c);
	c.engine.nodes = 1;
	CHECK(ukf_sim_create(&w, &c, NULL, NULL, err, sizeof(err)) == 0);
	CHECK(w.ops->at(w.w, 10, NULL, &s, 0) == -EINVAL);
	CHECK(w.ops->at(w.w, 1000, note, &s, 1) == 0);
	CHECK(w.ops->at(w.w, 5000, note, &s, 2) == 0);
	CHECK(w.ops->run(w.w, 2000, NULL, err, sizeof(err)) == 0);
	CHECK(s.n == 1 && s.at[0] == 1000 && s.x[0] == 1);
	CHECK(w.ops->now(w.w) == 2000);
	CHECK(w.ops->run(w.w, 1500, NULL, err, sizeof(err)) == 0);
	CHECK(w.ops->now(w.w) == 2000); /* never backwards */
	/* in the past: at now, after what is already due at now */
	CHECK(w.ops->at(w.w, 2000, note, &s, 3) == 0);
	CHECK(w.ops->at(w.w, 10, note, &s, 4) == 0);
	CHECK(w.ops->run(w.w, 2000, NULL, err, sizeof(err)) == 0);
	CHECKF(s.n == 3 && s.at[1] == 2000 && s.x[1] == 3 && s.at[2] == 2000 &&
		       s.x[2] == 4,
	       "n %d: x %llu at %lld, x %llu at %lld", s.n,
	       (unsigned long long)s.x[1], (long long)s.at[1],
	       (unsigned long long)s.x[2], (long long)s.at[2]);
	/* stop: set before the run, nothing happens; set by a callback,
	 * the run ends after it */
	uint64_t ev0 = w.ops->events(w.w);
	stop = 1;
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, &stop, err, sizeof(err)) == 0);
	CHECK(s.n == 3 && w.ops->events(w.w) == ev0 && w.ops->now(w.w) == 2000);
	stop = 0;
	s.stop = &stop;
	CHECK(w.ops->at(w.w, 3000, note, &s, 99) == 0);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, &stop, err, sizeof(err)) == 0);
	CHECK(s.n == 4 && s.x[3] == 99 && w.ops->now(w.w) == 3000);
	stop = 0;
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, &stop, err, sizeof(err)) == 0);
	CHECK(s.n == 5 && s.x[4] == 2 && s.at[4] == 5000);
	CHECK(w.ops->now(w.w) == 5000);
	w.ops->destroy(&w.w);
	return 0;
}

/* Outage order: what t_link_then_node counts. */
struct obs {
	struct ukf_world world;
	uint32_t app;
	size_t rows, failed, lost;
	int hook_fail;
	char why[200];
};

static void o_record(void *u, const struct ukf_record *r)
{
	struct obs *o = u;
	if (r->template_boot)
		return;
	o->rows++;
	if (r->status == UKF_STATUS_FAILED) {
		o->failed++;
		if (r->fail_reason && strstr(r->fail_reason, "lost"))
			o->lost++;
		if (r->fail_reason && !o->why[0])
			snprintf(o->why, sizeof(o->why), "%s", r->fail_reason);
	}
}

static void o_fail(void *u, ukf_id_t id, uint64_t tag, const char *why)
{
	(void)id;
	(void)tag;
	(void)why;
	((struct obs *)u)->hook_fail++;
}

static void spawn_at(void *arg, uint64_t node)
{
	struct obs *o = arg;
	ukf_id_t id;
	o->world.ops->spawn(o->world.w, (ukf_node_id_t)node, o->app, "", 1,
			    &id);
}

static void cut_link(void *arg, uint64_t node)
{
	struct obs *o = arg;
	char err[200];
	if (ukf_sim_fail_link(&o->world, (ukf_node_id_t)node, "",
			      err, sizeof(err)))
		fprintf(stderr, "fail_link: %s\n", err);
}

static void fail_node(void *arg, uint64_t node)
{
	struct obs *o = arg;
	char err[200];
	if (ukf_sim_fail_node(&o->world, (ukf_node_id_t)node, NULL, err,
			      sizeof(err)))
		fprintf(stderr, "fail_node: %s\n", err);
}

/*
 * A node whose link is cut while it runs an instance, and which then
 * fails: the instance goes on while only the link is cut, ends as failed
 * ("node 1 lost: failed", the default reason) when the node fails, and
 * its requester is told once; a cut node refuses a second cut ("already
 * cut off") and a failed one a link recovery; once recovered the node
 * is up again, its link with it.
 */
static int t_link_then_node(void)
{
	struct obs *o = calloc(1, sizeof(*o));
	struct ukf_sim_config c;
	struct ukf_world_sinks s = { 0 };
	char err[200];

	CHECK(o);
	ukf_sim_config_default(&c);
	c.engine.nodes = 2;
	c.engine.placement = "local";
	s.record = o_record;
	s.hooks.on_fail = o_fail;
	s.u = o;
	s.hooks.u = o;
	CHECK(simt_start(&o->world, &c, &s, NULL, "a",
			 "mem=16M init=10ms work=1s", &o->app) == 0);
	CHECK(o->world.ops->at(o->world.w, 0, spawn_at, o, 1) == 0);
	CHECK(o->world.ops->at(o->world.w, 200 * UKF_MS, cut_link, o, 1) == 0);
	CHECK(o->world.ops->at(o->world.w, 400 * UKF_MS, fail_node, o, 1) == 0);
	CHECK(o->world.ops->run(o->world.w, 300 * UKF_MS, NULL, err,
				sizeof(err)) == 0);
	CHECK(ukf_sim_node_state(&o->world, 1) == 2);
	CHECK(o->world.ops->alive(o->world.w) == 1); /* its work goes on */
	CHECK(ukf_sim_fail_link(&o->world, 1, "x", err, sizeof(err)) == -1);
	CHECK(strstr(err, "node 1 is already cut off"));
	CHECK(simt_run(&o->world) == 0);
	CHECK(ukf_sim_node_state(&o->world, 1) == 1);
	CHECK(ukf_sim_recover_link(&o->world, 1, err, sizeof(err)) == -1);
	CHECK(strstr(err, "node 1's link has not failed"));
	CHECKF(o->rows == 1 && o->failed == 1 && o->lost == 1,
	       "rows %zu failed %zu lost %zu", o->rows, o->failed, o->lost);
	CHECKF(strstr(o->why, "node 1 lost: failed"), "why '%s'", o->why);
	CHECK(o->hook_fail == 1);
	CHECK(ukf_sim_recover_node(&o->world, 1, err, sizeof(err)) == 0);
	CHECK(ukf_sim_node_state(&o->world, 1) == 0);
	o->world.ops->destroy(&o->world.w);
	free(o);
	return 0;
}

static const struct selftest tests[] = {
	{ "cov_create_refusals", t_create_refusals },
	{ "cov_set_network_refusals", t_set_network_refusals },
	{ "cov_world_order", t_world_order },
	{ "cov_link_then_node", t_link_then_node },
};

int main(int argc, char **argv)
{
	return selftest_main_print(tests, SELFTEST_COUNT(tests), argc, argv);
}
