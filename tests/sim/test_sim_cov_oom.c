/* SPDX-License-Identifier: MIT */
/* test_sim_cov_oom.c - out of memory in the parts of the simulated world test_sim_oom.c does not reach: the max-min network with racks, host CPU sharing, link cuts and node failures with a detection delay; each allocation failed in turn ends the run with a message or is absorbed, never a crash, a leak or another error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "sim/sim_int.h"
#include "tests/common/selftest.h"
#include "tests/sim/oomhook.h"

struct out {
	size_t records, failed;
	uint64_t hash; /* of every record's id, node, times, status */
	char cb_err[200]; /* the first refused outage call */
	struct ukf_world world;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
}

static void o_record(void *u, const struct ukf_record *r)
{
	struct out *o = u;
	o->records++;
	o->failed += r->status == UKF_STATUS_FAILED;
	o->hash = mix(mix(mix(mix(mix(o->hash, r->id), r->node),
			      (uint64_t)r->t_ready), (uint64_t)r->t_exit),
		      (uint64_t)r->status);
}

static void o_sample(void *u, const struct ukf_world_sample *s)
{
	(void)u;
	(void)s;
}

static void spawn_cb(void *arg, uint64_t node)
{
	struct out *o = arg;
	ukf_id_t id;
	o->world.ops->spawn(o->world.w, (ukf_node_id_t)node, 0, "", 0, &id);
}

/* x: node | kind << 8 (0 fail node, 1 recover node, 2 cut link,
 * 3 recover link) */
static void outage_cb(void *arg, uint64_t x)
{
	struct out *o = arg;
	char err[200];
	ukf_node_id_t node = (ukf_node_id_t)(x & 0xff);
	int rc;
	switch (x >> 8) {
	case 0: rc = ukf_sim_fail_node(&o->world, node, "t", err, sizeof(err)); break;
	case 1: rc = ukf_sim_recover_node(&o->world, node, err, sizeof(err)); break;
	case 2: rc = ukf_sim_fail_link(&o->world, node, "t", err, sizeof(err)); break;
	default: rc = ukf_sim_recover_link(&o->world, node, err, sizeof(err)); break;
	}
	if (rc && !o->cb_err[0])
		snprintf(o->cb_err, sizeof(o->cb_err), "%s", err);
}

enum outcome { OK, CREATE_OOM, SETUP_REFUSED, RUN_OOM, CALL_REFUSED, OTHER };

/*
 * One small run through the fair network (2 racks, thin rack uplinks),
 * CPU sharing (1 core for 2 vCPUs), remote forks, a link cut and a node
 * failure noticed 5 ms later, both recovered (churn 1: nodes failing and
 * repaired at random instead, run to 300 ms as churn never ends). Returns
 * its outcome; err holds the message.
 */
static enum outcome one_run(int churn, char *err, size_t errlen,
			    uint64_t *hash)
{
	struct ukf_sim_config c;
	struct out o = { 0 };
	struct ukf_world_sinks s = { .record = o_record, .u = &o };
	struct ukf_app a;

	err[0] = 0;
	ukf_sim_config_default(&c);
	c.engine.nodes = 4;
	c.engine.node.vcpus = 2;
	c.engine.placement = "round-robin";
	c.net_fair = 1;
	c.racks = 2;
	c.rack_uplink_bps = 2e8;
	c.core_bps = 3e8;
	c.cores = 1;
	c.detect_ns = 5 * UKF_MS;
	c.sample_every_ns = 20 * UKF_MS;
	if (churn) { /* random failures and repairs instead of the script */
		c.churn_mtbf_ns = 25 * UKF_MS;
		c.churn_mttr_ns = 10 * UKF_MS;
	}
	if (ukf_sim_create(&o.world, &c, &s, o_sample, err, errlen))
		return strstr(err, "out of memory") ? CREATE_OOM : OTHER;
	enum outcome rc = SETUP_REFUSED;
	if (ukf_app_parse(&a, "a", "mem=16M init=10ms work=4ms dirty=256 fork=2",
			  err, errlen) ||
	    o.world.ops->add_app(o.world.w, &a) != 0 ||
	    o.world.ops->start(o.world.w)) {
		snprintf(err, errlen, "setup refused");
		goto out;
	}
	rc = OTHER;
	for (int i = 0; i < 8; i++)
		o.world.ops->at(o.world.w, (ukf_ns_t)i * 5 * UKF_MS, spawn_cb,
				&o, (uint64_t)(i % 4));
	static const struct { ukf_ns_t t; uint64_t x; } outs[] = {
		{ 12 * UKF_MS, 2 << 8 | 3 }, { 18 * UKF_MS, 0 << 8 | 2 },
		{ 30 * UKF_MS, 3 << 8 | 3 }, { 40 * UKF_MS, 1 << 8 | 2 },
	};
	for (size_t i = 0; !churn && i < sizeof(outs) / sizeof(outs[0]); i++)
		o.world.ops->at(o.world.w, outs[i].t, outage_cb, &o, outs[i].x);
	if (o.world.ops->run(o.world.w, churn ? 300 * UKF_MS : UKF_NS_NEVER,
			     NULL, err, errlen))
		rc = strstr(err, "out of memory") ? RUN_OOM : OTHER;
	else if (o.cb_err[0])
		rc = strstr(o.cb_err, "out of memory") ||
				     strstr(o.cb_err, "could not restart")
			     ? CALL_REFUSED
			     : OTHER;
	else
		rc = o.records >= 8 ? OK : OTHER;
	if (rc == OTHER && !err[0])
		snprintf(err, errlen, "%s (%zu records)", o.cb_err, o.records);
	*hash = o.hash;
out:
	o.world.ops->destroy(&o.world.w);
	return rc;
}

/*
 * Fail the 1st, 2nd, ... allocation of the run in turn: every run ends
 * with an "out of memory" message (from ukf_sim_create, from run, or from
 * the outage call that needed it), is refused while it is set up, or
 * completes; never anything else (a crash, another error), and it frees
 * all it allocated either way. A failure absorbed must leave the run's
 * results exactly those of the run without one (absorbed with other
 * results were: a link cut's stashed record and the record re-applied at
 * link recovery, sim/world.c; a directory update, core/dir.c; an engine
 * destroyed at a node failure, core/engine.c; a unit of work put on a
 * host's CPU, sim/backend.c); COV_OOM_SHOW=1 names each such allocation.
 */
static int oom_sweep(int churn)
{
#ifdef NO_INTERPOSE
	return SKIP;
#else
	char err[256];
	long long total, n, creates = 0, runs = 0, calls = 0, oks = 0;
	long long diverged = 0;
	uint64_t h0 = 0, h = 0;

	CHECK(one_run(churn, err, sizeof(err), &h0) == OK);
	long long live0 = oom_live;
	oom_allocs = 0;
	oom_fail_at = 0; /* counting, failing none */
	CHECK(one_run(churn, err, sizeof(err), &h) == OK);
	CHECK(h == h0);
	total = oom_allocs;
	CHECK(oom_live == live0);
	CHECK(total > 100 && total < 1000000);
	for (n = 1; n <= total; n++) {
		oom_allocs = 0;
		oom_fail_at = n;
		enum outcome r = one_run(churn, err, sizeof(err), &h);
		oom_fail_at = -1;
		if (r == OK && h != h0 && getenv("COV_OOM_SHOW"))
			fprintf(stderr, "allocation %lld absorbed, result differs\n", n);
		diverged += r == OK && h != h0;
		if (r == OTHER || (r == SETUP_REFUSED && n > total / 2) ||
		    oom_live != live0) {
			fprintf(stderr,
				"churn %d: allocation %lld of %lld failed: outcome %d, "
				"'%s', %lld blocks leaked\n",
				churn, n, total, (int)r, err, oom_live - live0);
			return 1;
		}
		creates += r == CREATE_OOM;
		runs += r == RUN_OOM;
		calls += r == CALL_REFUSED;
		oks += r == OK;
	}
	printf("churn %d: %lld allocations: %lld refused the world, %lld ended the run, "
	       "%lld refused an outage, %lld absorbed (%lld with other "
	       "results)\n",
	       churn, total, creates, runs, calls, oks, diverged);
	CHECK(creates > 0 && runs > 0);
	CHECKF(diverged == 0, "%lld absorbed failures changed the results", diverged);
	return 0;
#endif
}

static int t_oom_fabric(void)
{
	int rc = oom_sweep(0);
	return rc ? rc : oom_sweep(1);
}

static const struct selftest tests[] = {
	{ "cov_oom_fabric", t_oom_fabric },
};

int main(int argc, char **argv)
{
	return selftest_main_print(tests, SELFTEST_COUNT(tests), argc, argv);
}
