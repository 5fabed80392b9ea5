/* SPDX-License-Identifier: MIT */
/* test_sim_cow.c - self-tests of the engine's copy-on-write memory admission (core/engine.h mem_admission) in the simulated world. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "sim/sim.h"
#include "sim/sim_int.h"
#include "tests/common/selftest.h"
#include "tests/sim/simt.h"

#define MIB (1024ULL * 1024)

struct obs {
	struct ukf_world world;
	uint32_t app;
	struct ukf_node_stats at2s;
	size_t failed, failed_at2s;
};

static void o_record(void *u, const struct ukf_record *r)
{
	struct obs *o = u;
	if (r->status == UKF_STATUS_FAILED)
		o->failed++;
}

static void o_log(void *u, ukf_ns_t t, ukf_node_id_t node, const char *line)
{
	(void)u;
	printf("%12lld n%u %s\n", (long long)t, node, line);
}

static void spawn_cb(void *arg, uint64_t x)
{
	struct obs *o = arg;
	ukf_id_t id;
	(void)x;
	if (o->world.ops->spawn(o->world.w, 0, o->app, "", 1, &id))
		fprintf(stderr, "spawn refused\n");
}

static void stats_cb(void *arg, uint64_t x)
{
	struct obs *o = arg;
	(void)x;
	o->world.ops->node_stats(o->world.w, 0, &o->at2s);
	o->failed_at2s = o->failed; /* the end records the rest as failed */
}

/*
 * One 1 GiB host, a 64 MiB app that dirties 1 MiB (256 pages) in its one
 * unit of 10 s: a first request boots cold and makes the template; at 1 s
 * 1000 more come at once. At 2 s, what runs: with full admission 16 (1 GiB
 * / 64 MiB); copy-on-write, the template (64 MiB, once), the instance
 * that made it (sealed into it: only the 1 MiB it dirties after) and 959
 * clones of 1 MiB fill the GiB exactly: 960.
 */
static int cow_run(struct obs *o, int admission)
{
	struct ukf_sim_config c;
	ukf_sim_config_default(&c);
	c.engine.nodes = 1;
	c.engine.node.vcpus = 4096;
	c.engine.node.mem_bytes = 1024 * MIB;
	c.engine.templates = "on-demand";
	c.engine.mem_admission = admission;
	c.model.jitter = 0;
	struct ukf_world_sinks s = {
		.record = o_record,
		.log = getenv("UKF_SIM_TRACE") ? o_log : NULL,
		.u = o,
	};
	if (simt_start(&o->world, &c, &s, NULL, "a",
		       "mem=64M init=10ms work=10s dirty=256 units=1",
		       &o->app))
		return -1;
	o->world.ops->at(o->world.w, 0, spawn_cb, o, 0);
	for (int i = 0; i < 1000; i++)
		o->world.ops->at(o->world.w, UKF_S, spawn_cb, o, 0);
	o->world.ops->at(o->world.w, 2 * UKF_S, stats_cb, o, 0);
	char err[200];
	if (o->world.ops->run(o->world.w, 2 * UKF_S + 1, NULL, err,
			      sizeof(err))) {
		fprintf(stderr, "run: %s\n", err);
		return -1;
	}
	o->world.ops->destroy(&o->world.w);
	return 0;
}

static int t_cow_admission(void)
{
	struct obs *full = calloc(1, sizeof(*full)), *cow = calloc(1, sizeof(*cow));
	CHECK(full && cow);
	CHECK(cow_run(full, UKF_ADMIT_FULL) == 0);
	CHECK(cow_run(cow, UKF_ADMIT_COW) == 0);
	printf("full: %u running, %llu MiB; cow: %u running, %llu MiB\n",
	       full->at2s.instances,
	       (unsigned long long)(full->at2s.mem_used / MIB),
	       cow->at2s.instances,
	       (unsigned long long)(cow->at2s.mem_used / MIB));
	CHECKF(full->at2s.instances == 16 &&
		       full->at2s.mem_used == 1024 * MIB,
	       "full admission: %u running, %llu bytes",
	       full->at2s.instances,
	       (unsigned long long)full->at2s.mem_used);
	CHECKF(cow->at2s.instances == 960 && cow->at2s.mem_used == 1024 * MIB,
	       "copy-on-write admission: %u running, %llu bytes (expected "
	       "960: 64 MiB template + 960 x 1 MiB)",
	       cow->at2s.instances, (unsigned long long)cow->at2s.mem_used);
	CHECK(full->failed_at2s == 0 && cow->failed_at2s == 0);
	free(full);
	free(cow);
	return 0;
}

/*
 * Live forks under copy-on-write admission: a parent (64 MiB, cold, so
 * charged its whole mem) that dirtied 1024 pages forks children that each
 * dirty 1024 in their one unit: each child is charged the parent's pages
 * it copies plus its own, 2048 pages = 8 MiB, so all 64 children of
 * fork=64 run at once on a 1 GiB host (64 + 64 x 8 = 576 MiB), where full
 * admission holds 15 beside the parent.
 */
static int fork_run(int admission, struct ukf_node_stats *st)
{
	struct obs *o = calloc(1, sizeof(*o));
	struct ukf_sim_config c;
	ukf_sim_config_default(&c);
	c.engine.nodes = 1;
	c.engine.node.vcpus = 4096;
	c.engine.node.mem_bytes = 1024 * MIB;
	c.engine.templates = "none";
	c.engine.max_children = 64;
	c.engine.mem_admission = admission;
	c.model.jitter = 0;
	struct ukf_world_sinks s = {
		.record = o_record,
		.log = getenv("UKF_SIM_TRACE") ? o_log : NULL,
		.u = o,
	};
	if (!o || simt_start(&o->world, &c, &s, NULL, "a",
			     "mem=64M init=10ms work=2s dirty=1024 fork=64 "
			     "units=1",
			     &o->app))
		return -1;
	o->world.ops->at(o->world.w, 0, spawn_cb, o, 0);
	/* the parent's unit ends at ~2 s; its children work 2 s after it */
	o->world.ops->at(o->world.w, 3 * UKF_S, stats_cb, o, 0);
	char err[200];
	int rc = o->world.ops->run(o->world.w, 3 * UKF_S + 1, NULL, err,
				   sizeof(err));
	*st = o->at2s;
	o->world.ops->destroy(&o->world.w);
	free(o);
	return rc;
}

static int t_cow_forks(void)
{
	struct ukf_node_stats full, cow;
	CHECK(fork_run(UKF_ADMIT_FULL, &full) == 0);
	CHECK(fork_run(UKF_ADMIT_COW, &cow) == 0);
	printf("full: %u running, %llu MiB; cow: %u running, %llu MiB\n",
	       full.instances, (unsigned long long)(full.mem_used / MIB),
	       cow.instances, (unsigned long long)(cow.mem_used / MIB));
	CHECKF(full.instances == 16, "full: %u running", full.instances);
	CHECKF(cow.instances == 65 && cow.mem_used == (64 + 64 * 8) * MIB,
	       "cow: %u running, %llu bytes", cow.instances,
	       (unsigned long long)cow.mem_used);
	return 0;
}

/* Two apps on two 1 GiB hosts, the highest memory each host's samples
 * (every 1 ms) show. */
struct two {
	struct ukf_world world;
	uint32_t app[2];
	uint64_t peak[2];
	size_t failed, cold_b1;
};

static void two_record(void *u, const struct ukf_record *r)
{
	struct two *o = u;
	if (r->status == UKF_STATUS_FAILED)
		o->failed++;
	if (r->app == o->app[1] && r->node == 1 && r->start == UKF_START_COLD)
		o->cold_b1++;
}

static void two_sample(void *u, const struct ukf_world_sample *smp)
{
	struct two *o = u;
	if (smp->node < 2 && smp->s.mem_used > o->peak[smp->node])
		o->peak[smp->node] = smp->s.mem_used;
}

/* spawn of app x at node y: x = app index << 32 | origin */
static void two_spawn(void *arg, uint64_t x)
{
	struct two *o = arg;
	ukf_id_t id;
	if (o->world.ops->spawn(o->world.w, (ukf_node_id_t)(x & 0xffffffff),
				o->app[x >> 32], "", 1, &id))
		fprintf(stderr, "spawn refused\n");
}

static int two_start(struct two *o, struct ukf_sim_config *c, const char *kv_a,
		     const char *kv_b)
{
	char err[256];
	struct ukf_app a;
	struct ukf_world_sinks s = {
	    .record = two_record,
	    .log = getenv("UKF_SIM_TRACE") ? o_log : NULL,
	    .u = o,
	};
	const char *kv[2] = {kv_a, kv_b};

	c->sample_every_ns = UKF_MS;
	if (ukf_sim_create(&o->world, c, &s, two_sample, err, sizeof(err))) {
		fprintf(stderr, "create: %s\n", err);
		return -1;
	}
	for (int k = 0; k < 2; k++) {
		int id;
		if (ukf_app_parse(&a, k ? "b" : "a", kv[k], err, sizeof(err)) ||
		    (id = o->world.ops->add_app(o->world.w, &a)) < 0) {
			fprintf(stderr, "app: %s\n", err);
			return -1;
		}
		o->app[k] = (uint32_t)id;
	}
	return o->world.ops->start(o->world.w) ? -1 : 0;
}

/*
 * A template fetched for a request already admitted must fit too: node 1
 * holds app a's 64 MiB template, its maker and 831 clones of 1 MiB (896
 * MiB); a spawn of b (128 MiB, its template on node 0) placed there fits
 * its own 128 MiB, not the 128 MiB template it would fetch beside it.
 * Without room for the template it boots cold (template-skip): the host
 * stays at its 1024 MiB, where the fetched template took it to 1152 MiB.
 */
static int t_cow_template_fits(void)
{
	struct two *o = calloc(1, sizeof(*o));
	struct ukf_sim_config c;
	ukf_sim_config_default(&c);
	c.engine.nodes = 2;
	c.engine.node.vcpus = 4096;
	c.engine.node.mem_bytes = 1024 * MIB;
	c.engine.templates = "on-demand";
	c.engine.placement = "local";
	c.engine.mem_admission = UKF_ADMIT_COW;
	c.model.jitter = 0;
	CHECK(o && two_start(o, &c, "mem=64M init=10ms work=10s dirty=256",
			     "mem=128M init=10ms work=10s dirty=256") == 0);
	o->world.ops->at(o->world.w, 0, two_spawn, o, 1ULL << 32 | 0);
	o->world.ops->at(o->world.w, 0, two_spawn, o, 0ULL << 32 | 1);
	for (int i = 0; i < 831; i++)
		o->world.ops->at(o->world.w, UKF_S, two_spawn, o,
				 0ULL << 32 | 1);
	o->world.ops->at(o->world.w, 2 * UKF_S, two_spawn, o, 1ULL << 32 | 1);
	char err[200];
	CHECK(o->world.ops->run(o->world.w, 3 * UKF_S, NULL, err,
				sizeof(err)) == 0);
	o->world.ops->destroy(&o->world.w);
	printf("peak: node 0 %llu MiB, node 1 %llu MiB; b cold on node 1: "
	       "%zu\n",
	       (unsigned long long)(o->peak[0] / MIB),
	       (unsigned long long)(o->peak[1] / MIB), o->cold_b1);
	CHECKF(o->peak[1] == 1024 * MIB,
	       "node 1 used %llu MiB at its peak, of 1024",
	       (unsigned long long)(o->peak[1] / MIB));
	CHECK(o->cold_b1 == 1);
	free(o);
	return 0;
}

/*
 * Placement elsewhere judges a holder by what a clone costs there: node 0
 * has 32 MiB; node 1 (1 GiB) app b's 64 MiB template, the instance that
 * made it and 900 clones of 1 MiB: 59 MiB free. A spawn of b at node 0
 * fits nowhere by b's whole 64 MiB, but as a clone on node 1 (1 MiB):
 * every policy that looks at other nodes places it there. Before, it
 * waited for room that never came (no instance of it by the end).
 */
static int t_cow_place_holder(void)
{
	static const char *const pol[] = {"random", "round-robin",
					  "least-loaded", "power-of-two",
					  "template-affinity"};
	static const struct ukf_node_config nodes[2] = {
	    {.vcpus = 4096, .mem_bytes = 32 * MIB, .cache_bytes = 4096 * MIB},
	    {.vcpus = 4096, .mem_bytes = 1024 * MIB, .cache_bytes = 4096 * MIB},
	};
	for (size_t k = 0; k < sizeof(pol) / sizeof(pol[0]); k++) {
		struct two *o = calloc(1, sizeof(*o));
		struct ukf_node_stats st;
		struct ukf_sim_config c;
		ukf_sim_config_default(&c);
		c.engine.nodes = 2;
		c.engine.per_node = nodes;
		c.engine.templates = "on-demand";
		c.engine.placement = pol[k];
		c.engine.mem_admission = UKF_ADMIT_COW;
		c.model.jitter = 0;
		CHECK(o &&
		      two_start(o, &c, "mem=16M init=10ms work=10s",
				"mem=64M init=10ms work=10s dirty=256") == 0);
		o->world.ops->at(o->world.w, 0, two_spawn, o, 1ULL << 32 | 1);
		for (int i = 0; i < 900; i++)
			o->world.ops->at(o->world.w, UKF_S, two_spawn, o,
					 1ULL << 32 | 1);
		o->world.ops->at(o->world.w, 2 * UKF_S, two_spawn, o,
				 1ULL << 32 | 0);
		char err[200];
		CHECK(o->world.ops->run(o->world.w, 3 * UKF_S, NULL, err,
					sizeof(err)) == 0);
		CHECK(o->world.ops->node_stats(o->world.w, 1, &st) == 0);
		o->world.ops->destroy(&o->world.w);
		printf("%s: node 1 runs %u, %llu MiB (peak %llu)\n", pol[k],
		       st.instances, (unsigned long long)(st.mem_used / MIB),
		       (unsigned long long)(o->peak[1] / MIB));
		CHECKF(st.instances == 902 && st.mem_used == 966 * MIB,
		       "%s: node 1 runs %u, %llu MiB (expected 902: the "
		       "maker, 900 clones and the spawn from node 0)",
		       pol[k], st.instances,
		       (unsigned long long)(st.mem_used / MIB));
		free(o);
	}
	return 0;
}

static struct ukf_node_stats ev_at3s;
static void ev_stats(void *arg, uint64_t x)
{
	struct two *o = arg;
	(void)x;
	o->world.ops->node_stats(o->world.w, 0, &ev_at3s);
}

/*
 * A template evicted while its clones run keeps its pages in memory
 * (each clone still maps them) until the last of them ends: one 1 GiB
 * host with a 100 MiB template cache; app a's template (64 MiB) is made
 * at 0 s and 10 clones of it start at 1 s (1 MiB each, 10 s of work); at
 * 2 s app b's first instance makes b's template (64 MiB), which evicts
 * a's. At 3 s the host holds a's 64 MiB (for its maker and 10 clones, 11
 * MiB), b's template and its maker (65 MiB): 140 MiB, where the count
 * dropped a's to 76 MiB. When all have ended only b's template is left.
 */
static int t_cow_evicted(void)
{
	struct two *o = calloc(1, sizeof(*o));
	struct ukf_node_stats end;
	struct ukf_sim_config c;
	ukf_sim_config_default(&c);
	c.engine.nodes = 1;
	c.engine.node.vcpus = 4096;
	c.engine.node.mem_bytes = 1024 * MIB;
	c.engine.node.cache_bytes = 100 * MIB;
	c.engine.templates = "on-demand";
	c.engine.mem_admission = UKF_ADMIT_COW;
	c.model.jitter = 0;
	CHECK(o && two_start(o, &c, "mem=64M init=10ms work=10s dirty=256",
			     "mem=64M init=10ms work=10s dirty=256") == 0);
	o->world.ops->at(o->world.w, 0, two_spawn, o, 0);
	for (int i = 0; i < 10; i++)
		o->world.ops->at(o->world.w, UKF_S, two_spawn, o, 0);
	o->world.ops->at(o->world.w, 2 * UKF_S, two_spawn, o, 1ULL << 32);
	o->world.ops->at(o->world.w, 3 * UKF_S, ev_stats, o, 0);
	char err[200];
	CHECK(o->world.ops->run(o->world.w, 30 * UKF_S, NULL, err,
				sizeof(err)) == 0);
	CHECK(o->world.ops->node_stats(o->world.w, 0, &end) == 0);
	o->world.ops->destroy(&o->world.w);
	printf("at 3 s: %u running, %llu MiB, evictions %llu; at the end: "
	       "%u running, %llu MiB (templates %llu MiB)\n",
	       ev_at3s.instances, (unsigned long long)(ev_at3s.mem_used / MIB),
	       (unsigned long long)ev_at3s.evictions, end.instances,
	       (unsigned long long)(end.mem_used / MIB),
	       (unsigned long long)(end.cache_used / MIB));
	CHECK(ev_at3s.instances == 12 && ev_at3s.evictions == 1);
	CHECKF(ev_at3s.mem_used == 140 * MIB,
	       "at 3 s %llu MiB used (expected 140: a's evicted template "
	       "still shared by 11 instances)",
	       (unsigned long long)(ev_at3s.mem_used / MIB));
	CHECK(end.instances == 0 && end.mem_used == 64 * MIB &&
	      end.cache_used == 64 * MIB);
	free(o);
	return 0;
}

/* the peak of each of up to 8 nodes' samples */
struct many {
	struct two t; /* first: the sinks' u */
	uint64_t peak[8];
	size_t samples;
};

static void many_sample(void *u, const struct ukf_world_sample *smp)
{
	struct many *o = u;
	o->samples++;
	if (smp->node < 8 && smp->s.mem_used > o->peak[smp->node])
		o->peak[smp->node] = smp->s.mem_used;
}

static void outage_cb(void *arg, uint64_t x)
{
	struct many *o = arg;
	char err[128];
	ukf_node_id_t n = (ukf_node_id_t)(x & 0xff);
	int rc = 0;
	switch (x >> 8) {
	case 0:
		rc =
		    ukf_sim_fail_link(&o->t.world, n, "test", err, sizeof(err));
		break;
	case 1:
		rc = ukf_sim_recover_link(&o->t.world, n, err, sizeof(err));
		break;
	case 2:
		rc =
		    ukf_sim_fail_node(&o->t.world, n, "test", err, sizeof(err));
		break;
	default:
		rc = ukf_sim_recover_node(&o->t.world, n, err, sizeof(err));
		break;
	}
	if (rc)
		fprintf(stderr, "outage: %s\n", err);
}

/*
 * The memory accounting end to end under copy-on-write admission: four
 * 512 MiB hosts with a 150 MiB template cache (evictions while clones
 * run), two apps (one forking twice per unit, children local or remote),
 * injected faults of every kind, a link cut and a node failure. Every
 * sample (1 ms) of every host is within its memory, and once all has
 * ended each host's used memory is its templates' bytes, in the engine's
 * count and in the backend's.
 */
static int t_cow_accounting(void)
{
	struct many *o = calloc(1, sizeof(*o));
	struct ukf_sim_config c;
	char err[256];
	struct ukf_app a;
	ukf_sim_config_default(&c);
	c.engine.nodes = 4;
	c.engine.node.vcpus = 64;
	c.engine.node.mem_bytes = 512 * MIB;
	c.engine.node.cache_bytes = 150 * MIB;
	c.engine.templates = "on-demand";
	c.engine.mem_admission = UKF_ADMIT_COW;
	c.engine.max_retries = 5;
	c.faults.boot = 0.05;
	c.faults.clone = 0.05;
	c.faults.template = 0.1;
	c.faults.save_delta = 0.1;
	c.faults.crash = 0.02;
	c.sample_every_ns = UKF_MS;
	struct ukf_world_sinks s = {
	    .record = two_record,
	    .log = getenv("UKF_SIM_TRACE") ? o_log : NULL,
	    .u = o,
	};
	const char *kv[2] = {
	    "mem=128M init=30ms work=300ms dirty=2048 fork=2 units=2",
	    "mem=64M init=20ms work=200ms dirty=256 units=3"};
	CHECK(o && ukf_sim_create(&o->t.world, &c, &s, many_sample, err,
				  sizeof(err)) == 0);
	for (int k = 0; k < 2; k++) {
		int id;
		CHECK(ukf_app_parse(&a, k ? "b" : "a", kv[k], err,
				    sizeof(err)) == 0);
		CHECK((id = o->t.world.ops->add_app(o->t.world.w, &a)) >= 0);
		o->t.app[k] = (uint32_t)id;
	}
	CHECK(o->t.world.ops->start(o->t.world.w) == 0);
	for (int i = 0; i < 600; i++)
		o->t.world.ops->at(
		    o->t.world.w, (ukf_ns_t)i * 10 * UKF_MS, two_spawn, &o->t,
		    (uint64_t)(i % 3 == 0) << 32 | (uint64_t)(i % 4));
	o->t.world.ops->at(o->t.world.w, 2 * UKF_S, outage_cb, o, 0 << 8 | 1);
	o->t.world.ops->at(o->t.world.w, 3 * UKF_S, outage_cb, o, 1 << 8 | 1);
	o->t.world.ops->at(o->t.world.w, 2500 * UKF_MS, outage_cb, o,
			   2 << 8 | 2);
	o->t.world.ops->at(o->t.world.w, 3500 * UKF_MS, outage_cb, o,
			   3 << 8 | 2);
	CHECK(o->t.world.ops->run(o->t.world.w, 120 * UKF_S, NULL, err,
				  sizeof(err)) == 0);
	struct sim_world *sw = o->t.world.w;
	int bad = 0;
	for (ukf_node_id_t n = 0; n < 4; n++) {
		struct ukf_node_stats st;
		CHECK(o->t.world.ops->node_stats(o->t.world.w, n, &st) == 0);
		uint64_t be = sim_be_mem_used(sw->sbe, n);
		printf("node %u: peak %llu MiB; at the end %u running, used "
		       "%llu MiB, templates %llu MiB, backend %llu MiB\n",
		       n, (unsigned long long)(o->peak[n] / MIB), st.instances,
		       (unsigned long long)(st.mem_used / MIB),
		       (unsigned long long)(st.cache_used / MIB),
		       (unsigned long long)(be / MIB));
		if (o->peak[n] > 512 * MIB || st.instances ||
		    st.mem_used != st.cache_used || be != st.cache_used)
			bad = 1;
	}
	printf("%zu samples, %zu failed\n", o->samples, o->t.failed);
	o->t.world.ops->destroy(&o->t.world.w);
	CHECK(!bad);
	free(o);
	return 0;
}

static const struct selftest tests[] = {
    {"cow_accounting", t_cow_accounting},
    {"cow_evicted", t_cow_evicted},
    {"cow_place_holder", t_cow_place_holder},
    {"cow_template_fits", t_cow_template_fits},
    {"cow_admission", t_cow_admission},
    {"cow_forks", t_cow_forks},
};

int main(int argc, char **argv)
{
	return selftest_main_print(tests, SELFTEST_COUNT(tests), argc, argv);
}
