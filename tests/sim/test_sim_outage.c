/* SPDX-License-Identifier: MIT */
/* test_sim_outage.c - self-tests of node and link failures in the simulated world (sim/world.c) and of the max-min network under the engine. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "sim/sim_int.h"
#include "tests/common/selftest.h"
#include "tests/sim/simt.h"

#define MAXID 4096
/* What a run saw. */
struct obs {
	struct ukf_world world;
	uint32_t app;
	int print;
	size_t rows, failed_rows, lost_rows, hook_fail, hook_exit;
	uint8_t rows_of[MAXID];   /* rows written per id */
	uint32_t node_of[MAXID];  /* node of the id's row */
	int64_t status_of[MAXID];
	ukf_ns_t request_of[MAXID], ready_of[MAXID], placed_of[MAXID];
	uint8_t start_of[MAXID];
	ukf_id_t parent_of[MAXID];
	uint8_t failed_hook[MAXID];
	ukf_ns_t fail_at;
	uint32_t fail_node;
};

static void o_log(void *u, ukf_ns_t t, ukf_node_id_t node, const char *line)
{
	struct obs *o = u;
	if (o->print)
		printf("%12lld n%u %s\n", (long long)t, node, line);
}

static void o_record(void *u, const struct ukf_record *r)
{
	struct obs *o = u;
	if (r->template_boot)
		return;
	o->rows++;
	if (r->id < MAXID) {
		o->rows_of[r->id]++;
		o->node_of[r->id] = r->node;
		o->status_of[r->id] = r->status;
		o->request_of[r->id] = r->t_request;
		o->ready_of[r->id] = r->t_ready;
		o->placed_of[r->id] = r->t_placed;
		o->start_of[r->id] = (uint8_t)r->start;
		o->parent_of[r->id] = r->parent;
	}
	if (r->status == UKF_STATUS_FAILED) {
		o->failed_rows++;
		if (r->fail_reason && strstr(r->fail_reason, " lost: "))
			o->lost_rows++;
	}
}

static void o_fail(void *u, ukf_id_t id, uint64_t tag, const char *why)
{
	struct obs *o = u;
	(void)tag;
	(void)why;
	o->hook_fail++;
	if (id < MAXID)
		o->failed_hook[id]++;
}

static void o_exit(void *u, ukf_id_t id, uint64_t tag, int64_t status)
{
	((struct obs *)u)->hook_exit++;
}

static void spawn_cb(void *arg, uint64_t x)
{
	struct obs *o = arg;
	ukf_id_t id;
	/* the origin: node 0, the cluster's front door */
	int rc = o->world.ops->spawn(o->world.w, (ukf_node_id_t)x, o->app, "",
				     1, &id);
	if (rc)
		fprintf(stderr, "spawn refused: %d\n", rc);
}

static void fail_cb(void *arg, uint64_t x)
{
	struct obs *o = arg;
	char err[200];
	int kind = (int)(x >> 32);
	ukf_node_id_t n = (ukf_node_id_t)(x & 0xffffffff);
	int rc = kind == 0   ? ukf_sim_fail_node(&o->world, n, "test", err, sizeof(err))
		 : kind == 1 ? ukf_sim_recover_node(&o->world, n, err, sizeof(err))
		 : kind == 2 ? ukf_sim_fail_link(&o->world, n, "test", err, sizeof(err))
			     : ukf_sim_recover_link(&o->world, n, err, sizeof(err));
	if (rc)
		fprintf(stderr, "outage %d on %u: %s\n", kind, n, err);
	if (kind == 0 || kind == 2) {
		o->fail_at = o->world.ops->now(o->world.w);
		o->fail_node = n;
	}
}

/* A world of `nodes`, one app, started. */
static int setup(struct obs *o, struct ukf_sim_config *c, const char *app_kv)
{
	o->print = getenv("UKF_SIM_TRACE") != NULL;
	struct ukf_world_sinks s = {
		.record = o_record,
		.log = o->print ? o_log : NULL,
		.hooks = { .on_fail = o_fail, .on_exit = o_exit, .u = o },
		.u = o,
	};
	return simt_start(&o->world, c, &s, NULL, "a", app_kv, &o->app);
}

static int run_all(struct obs *o)
{
	return simt_run(&o->world);
}

static void config(struct ukf_sim_config *c, uint32_t nodes)
{
	ukf_sim_config_default(c);
	c->engine.nodes = nodes;
	c->engine.node.vcpus = 4;
	c->model.jitter = 0;
}

/*
 * A node fails while it runs instances: each of them ends as failed (one
 * row, "node 2 lost: test", its requester told), placement stops choosing
 * it, and after it recovers it is chosen again. The rest run to the end.
 */
static int t_outage_node(void)
{
	struct obs *o = calloc(1, sizeof(*o));
	struct ukf_sim_config c;
	config(&c, 4);
	CHECK(o && setup(o, &c, "mem=64M init=10ms work=1s image=1M") == 0);
	/* 16 requests at node 0, 1 ms apart: least-loaded spreads them */
	for (int i = 0; i < 16; i++)
		o->world.ops->at(o->world.w, (ukf_ns_t)i * UKF_MS, spawn_cb, o, 0);
	o->world.ops->at(o->world.w, 500 * UKF_MS, fail_cb, o, 2);
	/* while 2 is down: 8 more; after it is back: 8 more */
	for (int i = 0; i < 8; i++)
		o->world.ops->at(o->world.w, 600 * UKF_MS + i * UKF_MS,
				 spawn_cb, o, 0);
	o->world.ops->at(o->world.w, 3 * UKF_S, fail_cb, o, 1ULL << 32 | 2);
	for (int i = 0; i < 8; i++)
		o->world.ops->at(o->world.w, 3100 * UKF_MS + i * UKF_MS,
				 spawn_cb, o, 0);
	CHECK(run_all(o) == 0);
	CHECK(ukf_sim_node_state(&o->world, 2) == 0);
	size_t on2_before = 0, on2_during = 0, on2_after = 0, dup = 0;
	for (ukf_id_t id = 1; id < MAXID; id++) {
		if (o->rows_of[id] > 1)
			dup++;
		if (!o->rows_of[id] || o->node_of[id] != 2)
			continue;
		ukf_ns_t t = o->request_of[id];
		if (t < 500 * UKF_MS) {
			on2_before++;
			CHECKF(o->status_of[id] == UKF_STATUS_FAILED &&
				       o->failed_hook[id] == 1,
			       "instance %llu on the failed node: status %lld, "
			       "%u failure notices",
			       (unsigned long long)id,
			       (long long)o->status_of[id], o->failed_hook[id]);
			/* it was ready (its READY came): its row says so, as
			 * its origin knew it */
			CHECKF(o->start_of[id] != UKF_START_UNKNOWN &&
				       o->start_of[id] != UKF_START_FORK &&
				       o->placed_of[id] == t &&
				       o->ready_of[id] > t + 10 * UKF_MS &&
				       o->ready_of[id] < 500 * UKF_MS,
			       "lost instance %llu: start %u, placed %lld, "
			       "ready %lld (requested at %lld)",
			       (unsigned long long)id, o->start_of[id],
			       (long long)o->placed_of[id],
			       (long long)o->ready_of[id], (long long)t);
		} else if (t < 3 * UKF_S) {
			on2_during++;
		} else {
			on2_after++;
			CHECK(o->status_of[id] == 0);
		}
	}
	CHECKF(dup == 0, "%zu ids with more than one row", dup);
	CHECKF(o->rows == 32, "%zu rows", o->rows);
	CHECKF(on2_before == 4, "%zu of 16 on node 2 before", on2_before);
	CHECKF(o->lost_rows == 4 && o->failed_rows == 4 && o->hook_fail == 4,
	       "lost rows %zu, failed rows %zu, failure notices %zu",
	       o->lost_rows, o->failed_rows, o->hook_fail);
	CHECKF(on2_during == 0, "%zu placed on the failed node", on2_during);
	CHECKF(on2_after > 0, "none placed on node 2 after its recovery");
	CHECKF(o->hook_exit == 28, "%zu exits", o->hook_exit);
	o->world.ops->destroy(&o->world.w);
	free(o);
	return 0;
}

/*
 * Requests the failed node originated: those it hosts end as failed with
 * their requester told (tag 0, by id); spawns at it are refused while it
 * is down (-EHOSTDOWN).
 */
static int t_outage_origin(void)
{
	struct obs *o = calloc(1, sizeof(*o));
	struct ukf_sim_config c;
	config(&c, 2);
	c.engine.placement = "local";
	CHECK(o && setup(o, &c, "mem=64M init=10ms work=1s image=1M") == 0);
	for (int i = 0; i < 3; i++)
		o->world.ops->at(o->world.w, (ukf_ns_t)i * UKF_MS, spawn_cb, o, 1);
	o->world.ops->at(o->world.w, 100 * UKF_MS, fail_cb, o, 1);
	CHECK(o->world.ops->run(o->world.w, 200 * UKF_MS, NULL, NULL, 0) == 0);
	ukf_id_t id;
	CHECK(o->world.ops->spawn(o->world.w, 1, o->app, "", 1, &id) ==
	      -EHOSTDOWN);
	CHECK(run_all(o) == 0);
	CHECKF(o->rows == 3 && o->lost_rows == 3 && o->hook_fail == 3,
	       "rows %zu lost %zu notices %zu", o->rows, o->lost_rows,
	       o->hook_fail);
	o->world.ops->destroy(&o->world.w);
	free(o);
	return 0;
}

/*
 * A link fails under a template transfer: the fetch from the cut node
 * fails (the template is made locally instead), the instances behind the
 * cut get one row each (lost, as their origin saw it), none a second one,
 * and placement avoids the node until its link is back.
 */
static int t_outage_link(void)
{
	struct obs *o = calloc(1, sizeof(*o));
	struct ukf_sim_config c;
	config(&c, 3);
	c.link_bandwidth_bps = 1e8; /* a 256 MB template: 2.7 s to fetch */
	CHECK(o && setup(o, &c, "mem=256M init=10ms work=2s image=1M") == 0);
	for (int i = 0; i < 12; i++)
		o->world.ops->at(o->world.w, (ukf_ns_t)i * UKF_MS, spawn_cb, o, 0);
	o->world.ops->at(o->world.w, 1 * UKF_S, fail_cb, o, 2ULL << 32 | 1);
	for (int i = 0; i < 4; i++)
		o->world.ops->at(o->world.w, 1100 * UKF_MS + i * UKF_MS,
				 spawn_cb, o, 0);
	o->world.ops->at(o->world.w, 8 * UKF_S, fail_cb, o, 3ULL << 32 | 1);
	CHECK(run_all(o) == 0);
	CHECK(ukf_sim_node_state(&o->world, 1) == 0);
	CHECK(ukf_sim_net_dropped(&o->world) > 0);
	size_t dup = 0, on1_during = 0, lost_on1 = 0;
	for (ukf_id_t id = 1; id < MAXID; id++) {
		if (o->rows_of[id] > 1)
			dup++;
		if (o->rows_of[id] && o->node_of[id] == 1 &&
		    o->request_of[id] >= 1 * UKF_S && o->request_of[id] < 8 * UKF_S)
			on1_during++;
		if (o->rows_of[id] && o->node_of[id] == 1 &&
		    o->status_of[id] == UKF_STATUS_FAILED)
			lost_on1++;
	}
	CHECKF(dup == 0, "%zu ids with two rows", dup);
	CHECKF(o->rows == 16, "%zu rows", o->rows);
	CHECKF(lost_on1 > 0 && lost_on1 == o->lost_rows,
	       "%zu lost on node 1, %zu lost rows", lost_on1, o->lost_rows);
	CHECKF(on1_during == 0, "%zu placed behind the cut", on1_during);
	o->world.ops->destroy(&o->world.w);
	free(o);
	return 0;
}

/*
 * Fork children running on another node when it fails: each gets one row
 * from its parent's node, a fork's, with its request, placement and READY
 * times (the parent saw fork() return); none is left without a row.
 */
static int t_outage_fork_kids(void)
{
	struct obs *o = calloc(1, sizeof(*o));
	struct ukf_sim_config c;
	config(&c, 2);
	c.engine.placement = "round-robin";
	CHECK(o && setup(o, &c,
			 "mem=64M init=10ms work=500ms fork=2 units=1 "
			 "image=1M") == 0);
	/* the parent works 0.5 s, then forks; its children work 0.5 s */
	o->world.ops->at(o->world.w, 0, spawn_cb, o, 0);
	o->world.ops->at(o->world.w, 800 * UKF_MS, fail_cb, o, 1);
	CHECK(run_all(o) == 0);
	size_t kids = 0, lost = 0;
	for (ukf_id_t id = 1; id < MAXID; id++) {
		if (!o->rows_of[id] || !o->parent_of[id])
			continue;
		kids++;
		CHECKF(o->rows_of[id] == 1, "child %llu: %u rows",
		       (unsigned long long)id, o->rows_of[id]);
		if (o->node_of[id] != 1)
			continue;
		lost++;
		CHECKF(o->status_of[id] == UKF_STATUS_FAILED &&
			       o->start_of[id] == UKF_START_FORK &&
			       o->request_of[id] != UKF_NS_NEVER &&
			       o->placed_of[id] >= o->request_of[id] &&
			       o->ready_of[id] > o->placed_of[id] &&
			       o->ready_of[id] < 800 * UKF_MS,
		       "lost child %llu: status %lld start %u request %lld "
		       "placed %lld ready %lld",
		       (unsigned long long)id, (long long)o->status_of[id],
		       o->start_of[id], (long long)o->request_of[id],
		       (long long)o->placed_of[id], (long long)o->ready_of[id]);
	}
	CHECKF(kids == 2 && lost >= 1, "%zu children with rows, %zu lost",
	       kids, lost);
	o->world.ops->destroy(&o->world.w);
	free(o);
	return 0;
}

/* Bad outage calls are refused with a message. */
static int t_outage_bad(void)
{
	struct obs *o = calloc(1, sizeof(*o));
	struct ukf_sim_config c;
	char err[200];
	struct ukf_world none = { 0 };
	config(&c, 2);
	CHECK(o);
	CHECK(ukf_sim_fail_node(&none, 0, "x", err, sizeof(err)) == -1);
	CHECK(strstr(err, "simulated"));
	CHECK(setup(o, &c, "mem=64M init=10ms work=1s image=1M") == 0);
	CHECK(ukf_sim_fail_node(&o->world, 2, "x", err, sizeof(err)) == -1);
	CHECK(strstr(err, "bad node 2"));
	CHECK(ukf_sim_recover_node(&o->world, 1, err, sizeof(err)) == -1);
	CHECK(strstr(err, "has not failed"));
	CHECK(ukf_sim_fail_node(&o->world, 1, "x", err, sizeof(err)) == 0);
	CHECK(ukf_sim_fail_node(&o->world, 1, "x", err, sizeof(err)) == -1);
	CHECK(ukf_sim_fail_link(&o->world, 1, "x", err, sizeof(err)) == -1);
	CHECK(ukf_sim_node_state(&o->world, 1) == 1);
	CHECK(ukf_sim_recover_link(&o->world, 1, err, sizeof(err)) == -1);
	CHECK(ukf_sim_recover_node(&o->world, 1, err, sizeof(err)) == 0);
	CHECK(ukf_sim_set_network(&o->world, 1, 0, 0, 0, err, sizeof(err)) == -1);
	CHECK(strstr(err, "before the world starts"));
	o->world.ops->destroy(&o->world.w);
	free(o);
	return 0;
}

/*
 * The fair network under the engine: with racks and a thin rack uplink, a
 * template fetched across racks takes its size at the uplink's rate (here
 * 64 MB at 10 MB/s: 6.4 s), one inside a rack at the host links' rate.
 */
static int fetch_time(int racks, ukf_ns_t *lat)
{
	struct obs *o = calloc(1, sizeof(*o));
	struct ukf_sim_config c;
	config(&c, 4);
	c.engine.placement = "local";
	c.racks = (uint32_t)racks;
	c.rack_uplink_bps = 1e7;
	c.link_bandwidth_bps = 1e9;
	CHECK(o && setup(o, &c, "mem=64M init=10ms work=1ms image=1M") == 0);
	/* node 0 makes the template; later node 1 (same rack of 2) or
	 * node 2 (other rack) fetches it */
	o->world.ops->at(o->world.w, 0, spawn_cb, o, 0);
	o->world.ops->at(o->world.w, 1 * UKF_S, spawn_cb, o, racks ? 2 : 1);
	CHECK(run_all(o) == 0);
	CHECK(o->rows == 2);
	*lat = o->ready_of[2] - o->request_of[2];
	o->world.ops->destroy(&o->world.w);
	free(o);
	return 0;
}

static int t_outage_net_racks(void)
{
	ukf_ns_t in_rack, cross;
	CHECK(fetch_time(0, &in_rack) == 0);
	CHECK(fetch_time(2, &cross) == 0);
	/* 64 MB at 1 GB/s: 67 ms; at 10 MB/s: 6.7 s */
	CHECKF(in_rack < 500 * UKF_MS, "in rack %lld ns", (long long)in_rack);
	CHECKF(cross > 6 * UKF_S && cross < 8 * UKF_S, "across racks %lld ns",
	       (long long)cross);
	return 0;
}

static const struct selftest tests[] = {
	{ "outage_node", t_outage_node },
	{ "outage_origin", t_outage_origin },
	{ "outage_link", t_outage_link },
	{ "outage_fork_kids", t_outage_fork_kids },
	{ "outage_bad", t_outage_bad },
	{ "outage_net_racks", t_outage_net_racks },
};

int main(int argc, char **argv)
{
	return selftest_main_print(tests, SELFTEST_COUNT(tests), argc, argv);
}
