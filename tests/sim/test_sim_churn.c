/* SPDX-License-Identifier: MIT */
/* test_sim_churn.c - self-tests of random node churn and the failure-detection delay of the simulated world (sim/world.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "sim/sim_int.h"
#include "tests/common/selftest.h"
#include "tests/sim/simt.h"

#define MAXID 1024
#define MAXEV 4096

/* What a run saw: outage log lines and rows. */
struct obs {
	struct ukf_world world;
	uint32_t app;
	int print;
	/* node-fail / node-recover / node-detect lines, in order */
	size_t nev;
	struct {
		ukf_ns_t t;
		uint32_t node;
		char kind; /* 'f' fail, 'r' recover, 'd' detect */
	} ev[MAXEV];
	/* per node: time it went down (-1 up), and down time so far */
	ukf_ns_t down_since[64], down_ns[64];
	uint64_t fails[64], recovers[64];
	ukf_ns_t up_sum, down_sum; /* lengths of whole periods */
	ukf_ns_t up_since[64];
	uint64_t nup, ndown;
	uint32_t row_node[MAXID];
	int64_t row_status[MAXID];
	ukf_ns_t row_ready[MAXID];
	uint8_t rows_of[MAXID];
};

static void o_log(void *u, ukf_ns_t t, ukf_node_id_t node, const char *line)
{
	struct obs *o = u;
	char kind = !strncmp(line, "node-fail", 9)	  ? 'f'
		    : !strncmp(line, "node-recover", 12) ? 'r'
		    : !strncmp(line, "node-detect", 11)  ? 'd'
							 : 0;
	if (o->print)
		printf("%15lld n%u %s\n", (long long)t, node, line);
	if (!kind)
		return;
	if (o->nev < MAXEV) {
		o->ev[o->nev].t = t;
		o->ev[o->nev].node = node;
		o->ev[o->nev].kind = kind;
		o->nev++;
	}
	if (node >= 64)
		return;
	if (kind == 'f') {
		o->fails[node]++;
		o->down_since[node] = t;
		o->up_sum += t - o->up_since[node];
		o->nup++;
	} else if (kind == 'r') {
		o->recovers[node]++;
		o->down_ns[node] += t - o->down_since[node];
		o->down_sum += t - o->down_since[node];
		o->ndown++;
		o->down_since[node] = -1;
		o->up_since[node] = t;
	}
}

static void o_record(void *u, const struct ukf_record *r)
{
	struct obs *o = u;
	if (r->template_boot || r->id >= MAXID)
		return;
	o->rows_of[r->id]++;
	o->row_node[r->id] = r->node;
	o->row_status[r->id] = r->status;
	o->row_ready[r->id] = r->t_ready;
}

static int setup(struct obs *o, struct ukf_sim_config *c, const char *app_kv)
{
	o->print = getenv("UKF_SIM_TRACE") != NULL;
	for (int k = 0; k < 64; k++)
		o->down_since[k] = -1;
	struct ukf_world_sinks s = {
		.record = o_record,
		.log = o_log,
		.u = o,
	};
	return simt_start(&o->world, c, &s, NULL, "a", app_kv, &o->app);
}

static void config(struct ukf_sim_config *c, uint32_t nodes)
{
	ukf_sim_config_default(c);
	c->engine.nodes = nodes;
	c->engine.node.vcpus = 4;
	c->model.jitter = 0;
}

static int run_until(struct obs *o, ukf_ns_t until)
{
	char err[200];
	if (o->world.ops->run(o->world.w, until, NULL, err, sizeof(err))) {
		fprintf(stderr, "run: %s\n", err);
		return -1;
	}
	return 0;
}

/*
 * With exponential up times of mean a (mtbf) and down times of mean b
 * (mttr), the long-run fraction of node-time down is b / (a + b). Over n
 * cycles the ratio estimator sum(D) / sum(U + D) has, by the delta
 * method, a standard deviation of sqrt(2 a^2 b^2 / (n (a + b)^4)); the
 * check allows 5 of them (a false alarm about once in 1.7 million runs,
 * and the run is fixed by its seed). The mean up and down periods are
 * checked the same way (an exponential mean's sd: mean / sqrt(n)).
 */
static int t_churn_fraction(void)
{
	struct obs *o = calloc(1, sizeof(*o));
	struct ukf_sim_config c;
	const uint32_t nodes = 32;
	const double a = 10, b = 1; /* seconds */
	const ukf_ns_t T = 100000 * UKF_S;
	config(&c, nodes);
	c.churn_mtbf_ns = (ukf_ns_t)(a * UKF_S);
	c.churn_mttr_ns = (ukf_ns_t)(b * UKF_S);
	c.seed = 7;
	CHECK(o && setup(o, &c, "mem=16M init=10ms work=1s") == 0);
	o->print = 0; /* 290,000 outages */
	CHECK(run_until(o, T) == 0);
	ukf_ns_t down = 0;
	uint64_t cycles = 0;
	for (uint32_t k = 0; k < nodes; k++) {
		down += o->down_ns[k];
		if (o->down_since[k] >= 0)
			down += T - o->down_since[k];
		cycles += o->fails[k];
		CHECKF(o->fails[k] >= o->recovers[k] &&
			       o->fails[k] <= o->recovers[k] + 1,
		       "node %u: %llu failures, %llu recoveries", k,
		       (unsigned long long)o->fails[k],
		       (unsigned long long)o->recovers[k]);
	}
	double frac = (double)down / ((double)T * nodes);
	double p = b / (a + b);
	double sd = sqrt(2 * a * a * b * b / ((double)cycles * pow(a + b, 4)));
	printf("down fraction %.6f (expected %.6f, sd %.6f, %llu cycles)\n",
	       frac, p, sd, (unsigned long long)cycles);
	CHECKF(cycles > 250000, "only %llu cycles", (unsigned long long)cycles);
	CHECKF(fabs(frac - p) < 5 * sd, "down fraction %.6f, expected %.6f +- %.6f",
	       frac, p, 5 * sd);
	double mu = (double)o->up_sum / o->nup / UKF_S;
	double md = (double)o->down_sum / o->ndown / UKF_S;
	printf("mean up %.5f s (n %llu), mean down %.5f s (n %llu)\n", mu,
	       (unsigned long long)o->nup, md, (unsigned long long)o->ndown);
	CHECKF(fabs(mu - a) < 5 * a / sqrt((double)o->nup), "mean up %.5f s", mu);
	CHECKF(fabs(md - b) < 5 * b / sqrt((double)o->ndown), "mean down %.5f s",
	       md);
	o->world.ops->destroy(&o->world.w);
	free(o);
	return 0;
}

static void spawn_cb(void *arg, uint64_t x)
{
	struct obs *o = arg;
	ukf_id_t id;
	o->world.ops->spawn(o->world.w, (ukf_node_id_t)x, o->app, "", 1, &id);
}

/* One churned run of 6 nodes under placement pl: its outage trace in *o. */
static int churn_run(struct obs *o, const char *pl, uint64_t seed,
		     uint32_t rep, uint32_t vcpus)
{
	struct ukf_sim_config c;
	config(&c, 6);
	c.engine.placement = pl;
	c.engine.node.vcpus = vcpus;
	c.churn_mtbf_ns = 2 * UKF_S;
	c.churn_mttr_ns = 500 * UKF_MS;
	c.seed = seed;
	c.rep = rep;
	if (setup(o, &c, "mem=64M init=20ms work=300ms"))
		return -1;
	for (int i = 0; i < 200; i++) /* origins 0..5 in turn */
		o->world.ops->at(o->world.w, (ukf_ns_t)i * 50 * UKF_MS,
				 spawn_cb, o, (uint64_t)(i % 6));
	if (run_until(o, 12 * UKF_S))
		return -1;
	o->world.ops->destroy(&o->world.w);
	return 0;
}

/* The fail/recover lines (time, node, kind) of two runs are equal. */
static int same_trace(const struct obs *x, const struct obs *y)
{
	size_t i = 0, j = 0;
	for (;;) {
		while (i < x->nev && x->ev[i].kind == 'd')
			i++;
		while (j < y->nev && y->ev[j].kind == 'd')
			j++;
		if (i == x->nev || j == y->nev)
			return i == x->nev && j == y->nev;
		if (x->ev[i].t != y->ev[j].t || x->ev[i].node != y->ev[j].node ||
		    x->ev[i].kind != y->ev[j].kind)
			return 0;
		i++;
		j++;
	}
}

/*
 * Common random numbers: two configurations of a sweep (other placement,
 * other host size, so other work everywhere) see the same churn trace
 * with the same seed; another seed or replication sees another.
 */
static int t_churn_crn(void)
{
	struct obs *x = calloc(1, sizeof(*x)), *y = calloc(1, sizeof(*y));
	struct obs *z = calloc(1, sizeof(*z)), *v = calloc(1, sizeof(*v));
	CHECK(x && y && z && v);
	CHECK(churn_run(x, "least-loaded", 3, 0, 4) == 0);
	CHECK(churn_run(y, "random", 3, 0, 8) == 0);
	CHECK(churn_run(z, "least-loaded", 4, 0, 4) == 0);
	CHECK(churn_run(v, "least-loaded", 3, 1, 4) == 0);
	printf("%zu outage lines\n", x->nev);
	CHECKF(x->nev >= 20, "only %zu outage lines in 12 s", x->nev);
	CHECKF(same_trace(x, y), "the churn trace depends on the placement");
	CHECKF(!same_trace(x, z), "seeds 3 and 4 gave the same churn trace");
	CHECKF(!same_trace(x, v), "reps 0 and 1 gave the same churn trace");
	free(x);
	free(y);
	free(z);
	free(v);
	return 0;
}

static void fail_cb(void *arg, uint64_t x)
{
	struct obs *o = arg;
	char err[200];
	ukf_node_id_t n = (ukf_node_id_t)x;
	int rc = x >> 32 ? ukf_sim_recover_node(&o->world, n, err, sizeof(err))
			 : ukf_sim_fail_node(&o->world, n, "test", err,
					     sizeof(err));
	if (rc)
		fprintf(stderr, "outage on %u: %s\n", n, err);
}

/*
 * Detection delay: node 2 of 3 fails at 500 ms, noticed 300 ms later.
 * Round-robin placement at node 0 sends every third request to node 2;
 * those sent between the failure and its detection are lost on the way
 * and placed again when it is noticed (on 0 or 1, ready after 800 ms),
 * not refused or hung. With detect = 0 none of them goes to node 2.
 */
static int detect_run(struct obs *o, ukf_ns_t detect)
{
	struct ukf_sim_config c;
	config(&c, 3);
	c.engine.placement = "round-robin";
	c.engine.node.vcpus = 64;
	c.detect_ns = detect;
	if (setup(o, &c, "mem=16M init=5ms work=50ms"))
		return -1;
	o->world.ops->at(o->world.w, 500 * UKF_MS, fail_cb, o, 2);
	for (int i = 0; i < 24; i++) /* 600..715 ms */
		o->world.ops->at(o->world.w, 600 * UKF_MS + i * 5 * UKF_MS,
				 spawn_cb, o, 0);
	if (simt_run(&o->world))
		return -1;
	return 0;
}

static int t_churn_detect(void)
{
	struct obs *o = calloc(1, sizeof(*o)), *z = calloc(1, sizeof(*z));
	CHECK(o && z);
	CHECK(detect_run(o, 300 * UKF_MS) == 0);
	size_t late = 0, rows = 0, ok = 0;
	for (ukf_id_t id = 1; id < MAXID; id++) {
		if (!o->rows_of[id])
			continue;
		rows++;
		CHECKF(o->rows_of[id] == 1, "id %llu: %u rows",
		       (unsigned long long)id, o->rows_of[id]);
		CHECKF(o->row_node[id] != 2, "id %llu ran on the failed node",
		       (unsigned long long)id);
		if (o->row_status[id] == 0)
			ok++;
		if (o->row_ready[id] >= 800 * UKF_MS)
			late++;
	}
	int detected = 0;
	for (size_t i = 0; i < o->nev; i++)
		if (o->ev[i].kind == 'd') {
			detected++;
			CHECKF(o->ev[i].t == 800 * UKF_MS && o->ev[i].node == 2,
			       "detected at %lld ns on node %u",
			       (long long)o->ev[i].t, o->ev[i].node);
		}
	printf("%zu rows, %zu exited 0, %zu ready after the detection\n",
	       rows, ok, late);
	CHECKF(detected == 1, "%d detections", detected);
	CHECKF(rows == 24 && ok == 24, "%zu rows, %zu exited 0", rows, ok);
	/* round-robin over 3 nodes: 8 of the 24 went to node 2 first */
	CHECKF(late >= 7 && late <= 9, "%zu ready after the detection", late);
	o->world.ops->destroy(&o->world.w);

	CHECK(detect_run(z, 0) == 0);
	size_t zl = 0;
	for (ukf_id_t id = 1; id < MAXID; id++)
		if (z->rows_of[id] && z->row_ready[id] >= 800 * UKF_MS)
			zl++;
	CHECKF(zl == 0, "detect 0: %zu ready after 800 ms", zl);
	for (size_t i = 0; i < z->nev; i++)
		CHECKF(z->ev[i].kind != 'd', "detect 0 logged a detection");
	z->world.ops->destroy(&z->world.w);
	free(o);
	free(z);
	return 0;
}

/*
 * A node back before its failure was noticed: the others notice at its
 * recovery (its restart shows a new incarnation), once, and the pending
 * detection does nothing later.
 */
static int t_churn_detect_recover(void)
{
	struct obs *o = calloc(1, sizeof(*o));
	struct ukf_sim_config c;
	config(&c, 3);
	c.detect_ns = 300 * UKF_MS;
	CHECK(o && setup(o, &c, "mem=16M init=5ms work=50ms") == 0);
	o->world.ops->at(o->world.w, 500 * UKF_MS, fail_cb, o, 1);
	o->world.ops->at(o->world.w, 600 * UKF_MS, fail_cb, o, 1ULL << 32 | 1);
	for (int i = 0; i < 6; i++)
		o->world.ops->at(o->world.w, 700 * UKF_MS + i * UKF_MS,
				 spawn_cb, o, 0);
	CHECK(simt_run(&o->world) == 0);
	int d = 0;
	for (size_t i = 0; i < o->nev; i++)
		if (o->ev[i].kind == 'd') {
			d++;
			CHECKF(o->ev[i].t == 600 * UKF_MS, "detected at %lld ns",
			       (long long)o->ev[i].t);
		}
	CHECKF(d == 1, "%d detections", d);
	CHECK(ukf_sim_node_state(&o->world, 1) == 0);
	size_t ok = 0;
	for (ukf_id_t id = 1; id < MAXID; id++)
		if (o->rows_of[id] && o->row_status[id] == 0)
			ok++;
	CHECKF(ok == 6, "%zu of 6 exited 0", ok);
	o->world.ops->destroy(&o->world.w);
	free(o);
	return 0;
}

/*
 * A detection delay past the clock's range (9.2e18 ns, the largest time a
 * scenario gives, for "never noticed") is never: a failure at 1e17 ns is
 * still unnoticed at the end, and its recovery notices it once. It
 * wrapped around and was noticed at once.
 */
static int t_churn_detect_never(void)
{
	struct obs *o = calloc(1, sizeof(*o));
	struct ukf_sim_config c;
	config(&c, 3);
	c.detect_ns = 9200000000LL * UKF_S;
	CHECK(o && setup(o, &c, "mem=16M init=5ms work=50ms") == 0);
	const ukf_ns_t t = 100000000LL * UKF_S;
	o->world.ops->at(o->world.w, t, fail_cb, o, 1);
	CHECK(run_until(o, t + UKF_S) == 0);
	for (size_t i = 0; i < o->nev; i++)
		CHECKF(o->ev[i].kind != 'd', "noticed at %lld ns",
		       (long long)o->ev[i].t);
	o->world.ops->at(o->world.w, t + 2 * UKF_S, fail_cb, o,
			 1ULL << 32 | 1);
	CHECK(run_until(o, t + 3 * UKF_S) == 0);
	int n = 0;
	for (size_t i = 0; i < o->nev; i++)
		if (o->ev[i].kind == 'd') {
			n++;
			CHECKF(o->ev[i].t == t + 2 * UKF_S, "noticed at %lld ns",
			       (long long)o->ev[i].t);
		}
	CHECKF(n == 1, "%d detections", n);
	o->world.ops->destroy(&o->world.w);
	free(o);
	return 0;
}

static int state_at;
static void state_cb(void *arg, uint64_t x)
{
	struct obs *o = arg;
	state_at = ukf_sim_node_state(&o->world, (ukf_node_id_t)x);
}

/* A churned run of 3 nodes, seed 5, to `until`, with the outages of
 * ops[0..n) (fail_cb's x at time t) and node 0's state read at `check`. */
static int mixed_run(struct obs *o, ukf_ns_t until, const ukf_ns_t *t,
		     const uint64_t *x, int n, ukf_ns_t check)
{
	struct ukf_sim_config c;
	config(&c, 3);
	c.churn_mtbf_ns = 5 * UKF_S;
	c.churn_mttr_ns = 2 * UKF_S;
	c.seed = 5;
	if (setup(o, &c, "mem=16M init=5ms work=50ms"))
		return -1;
	for (int i = 0; i < n; i++)
		o->world.ops->at(o->world.w, t[i], fail_cb, o, x[i]);
	if (check)
		o->world.ops->at(o->world.w, check, state_cb, o, 0);
	if (run_until(o, until))
		return -1;
	o->world.ops->destroy(&o->world.w);
	return 0;
}

/*
 * The scenario's own outages and churn: churn recovers only a failure it
 * made. Node 0's first churned outage is [t1, t2) (read from a run
 * without outages of the scenario's); the scenario recovers it early and
 * fails it again before t2: at t2 it is still failed. And a node the
 * scenario failed before t1 is neither failed again nor recovered by
 * churn.
 */
static int t_churn_scenario(void)
{
	struct obs *o = calloc(1, sizeof(*o));
	CHECK(o && mixed_run(o, 60 * UKF_S, NULL, NULL, 0, 0) == 0);
	ukf_ns_t t1 = -1, t2 = -1;
	for (size_t i = 0; i < o->nev && t2 < 0; i++)
		if (o->ev[i].node == 0 && o->ev[i].kind == 'f' && t1 < 0)
			t1 = o->ev[i].t;
		else if (o->ev[i].node == 0 && o->ev[i].kind == 'r' && t1 >= 0)
			t2 = o->ev[i].t;
	CHECKF(t1 > 0 && t2 > t1 + 4, "node 0's first outage [%lld, %lld)",
	       (long long)t1, (long long)t2);
	ukf_ns_t t[2] = {t1 + (t2 - t1) / 4, t1 + (t2 - t1) / 2};
	uint64_t x[2] = {1ULL << 32, 0};
	memset(o, 0, sizeof(*o));
	state_at = -2;
	CHECK(mixed_run(o, t2 + 2, t, x, 2, t2 + 1) == 0);
	CHECKF(state_at == 1, "node 0 at t2 + 1 ns: state %d (churn recovered "
	       "the scenario's failure?)", state_at);
	/* failed by the scenario before churn would: left alone */
	ukf_ns_t t0 = t1 / 2;
	uint64_t x0 = 0;
	memset(o, 0, sizeof(*o));
	state_at = -2;
	CHECK(mixed_run(o, t2 + 2, &t0, &x0, 1, t2 + 1) == 0);
	CHECKF(state_at == 1, "node 0 at t2 + 1 ns: state %d", state_at);
	size_t f0 = 0;
	for (size_t i = 0; i < o->nev; i++)
		if (o->ev[i].node == 0 && o->ev[i].kind != 'd')
			f0++;
	CHECKF(f0 == 1, "%zu outage lines of node 0 (only the scenario's)", f0);
	free(o);
	return 0;
}

/* Bad churn settings are refused by ukf_sim_create with a message. */
static int t_churn_bad(void)
{
	static const struct {
		ukf_ns_t mtbf, mttr, detect;
	} bad[] = {
		{UKF_S, 0, 0}, {0, UKF_S, 0}, {-UKF_S, UKF_S, 0},
		{UKF_S, -1, 0}, {0, 0, -1},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ukf_sim_config c;
		struct ukf_world w = {0};
		char err[200] = "";
		config(&c, 2);
		c.churn_mtbf_ns = bad[i].mtbf;
		c.churn_mttr_ns = bad[i].mttr;
		c.detect_ns = bad[i].detect;
		int rc = ukf_sim_create(&w, &c, &(struct ukf_world_sinks){0},
					NULL, err, sizeof(err));
		CHECKF(rc == -1 && strstr(err, "churn"),
		       "case %zu: rc %d, '%s'", i, rc, err);
		if (!rc)
			w.ops->destroy(&w.w);
	}
	return 0;
}

static const struct selftest tests[] = {
	{ "churn_fraction", t_churn_fraction },
	{ "churn_crn", t_churn_crn },
	{ "churn_detect", t_churn_detect },
	{ "churn_detect_recover", t_churn_detect_recover },
	{ "churn_detect_never", t_churn_detect_never },
	{ "churn_bad", t_churn_bad },
	{ "churn_scenario", t_churn_scenario },
};

int main(int argc, char **argv)
{
	return selftest_main_print(tests, SELFTEST_COUNT(tests), argc, argv);
}
