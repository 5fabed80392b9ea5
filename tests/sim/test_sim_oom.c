/* SPDX-License-Identifier: MIT */
/* test_sim_oom.c - the simulated world out of memory: each allocation of a run failed in turn ends it with a message, never a crash or a leak. */
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
	uint64_t hash; /* of every record's id, node, start, times, status */
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
	o->hash = mix(mix(mix(mix(mix(mix(o->hash, r->id), r->node), r->start),
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

enum outcome { OK, CREATE_OOM, SETUP_REFUSED, RUN_OOM, OTHER };

/*
 * One small run that allocates in every part of the world: 3 nodes of 1
 * vCPU (remote forks with deltas, templates fetched from peers over the
 * network), directory delays drawn (lognormal), samples, cost jitter,
 * faults drawn. Returns its outcome; err holds the message.
 */
static enum outcome one_run(char *err, size_t errlen, uint64_t *hash)
{
	struct ukf_sim_config c;
	struct out o = { 0 };
	struct ukf_world_sinks s = { .record = o_record, .u = &o };
	struct ukf_app a;

	err[0] = 0;
	ukf_sim_config_default(&c);
	c.engine.nodes = 3;
	c.engine.node.vcpus = 1;
	c.engine.placement = "round-robin";
	c.dir_delay_p99_ns = 5 * UKF_MS;
	c.sample_every_ns = 50 * UKF_MS;
	c.faults.crash = 0.2;
	if (ukf_sim_create(&o.world, &c, &s, o_sample, err, errlen))
		return strstr(err, "out of memory") ? CREATE_OOM : OTHER;
	enum outcome rc = SETUP_REFUSED;
	if (ukf_app_parse(&a, "a", "mem=16M init=10ms work=2ms dirty=64 fork=2",
			  err, errlen) ||
	    o.world.ops->add_app(o.world.w, &a) != 0 ||
	    o.world.ops->start(o.world.w)) {
		snprintf(err, errlen, "setup refused");
		goto out;
	}
	rc = OTHER;
	for (int i = 0; i < 6; i++)
		o.world.ops->at(o.world.w, (ukf_ns_t)i * 7 * UKF_MS, spawn_cb, &o,
				(uint64_t)(i % 3));
	if (o.world.ops->run(o.world.w, UKF_NS_NEVER, NULL, err, errlen))
		rc = strstr(err, "out of memory") ? RUN_OOM : OTHER;
	else
		rc = o.records >= 6 ? OK : OTHER;
	*hash = o.hash;
out:
	o.world.ops->destroy(&o.world.w);
	return rc;
}

/*
 * Fail the 1st, 2nd, ... allocation of the run in turn (each run fails
 * exactly one): every run either ends with an "out of memory" message -
 * from ukf_sim_create or from run, naming where - or is refused while it
 * is set up (an app or the start refused), or completes exactly as the
 * run without a failure did (the failure was absorbed: same records, same
 * times), never anything else (a crash, another error, a run that went on
 * otherwise); and it frees all it allocated either way.
 */
static int t_oom_each_allocation(void)
{
#ifdef NO_INTERPOSE
	return SKIP;
#else
	char err[256];
	long long total, n, creates = 0, runs = 0, oks = 0;
	uint64_t h0 = 0, h = 0;

	/* Unarmed: count the allocations of a whole run (stdio and GSL set
	 * up once, before). */
	CHECK(one_run(err, sizeof(err), &h0) == OK);
	long long live0 = oom_live;
	oom_allocs = 0;
	oom_fail_at = 0; /* counting, failing none */
	CHECK(one_run(err, sizeof(err), &h) == OK);
	CHECK(h == h0);
	total = oom_allocs;
	CHECK(oom_live == live0);
	CHECK(total > 100 && total < 1000000);
	for (n = 1; n <= total; n++) {
		oom_allocs = 0;
		oom_fail_at = n;
		enum outcome r = one_run(err, sizeof(err), &h);
		oom_fail_at = -1;
		if (r == OTHER || (r == SETUP_REFUSED && n > total / 2) ||
		    (r == OK && h != h0) || oom_live != live0) {
			fprintf(stderr,
				"allocation %lld of %lld failed: outcome %d, "
				"'%s', %lld blocks leaked\n",
				n, total, (int)r, err, oom_live - live0);
			return 1;
		}
		creates += r == CREATE_OOM;
		runs += r == RUN_OOM;
		oks += r == OK;
	}
	printf("%lld allocations: %lld refused the world, %lld ended the run, "
	       "%lld absorbed\n",
	       total, creates, runs, oks);
	CHECK(creates > 0 && runs > 0);
	return 0;
#endif
}

static const struct selftest tests[] = {
	{ "oom_each_allocation", t_oom_each_allocation },
};

int main(int argc, char **argv)
{
	return selftest_main_print(tests, SELFTEST_COUNT(tests), argc, argv);
}
