/* SPDX-License-Identifier: MIT */
/* test_sim.c - self-tests and benchmark of the simulator's parts (no engine). */
#include <errno.h>
#include <unistd.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/sim_int.h"
#include "tests/common/selftest.h"

#ifndef UKF_SOURCE_DIR
#define UKF_SOURCE_DIR "."
#endif

static struct sim_ev user_ev(uint64_t a)
{
	struct sim_ev e = { .type = SIM_EV_USER };
	e.u.user.a = a;
	return e;
}

/* Events come out by time; equal times in the order they were scheduled. */
static int t_queue_order(void)
{
	sim_queue_t *q = sim_queue_create();
	CHECK(q);
	uint64_t x = 12345;
	enum { N = 20000 };
	for (uint64_t i = 0; i < N; i++) {
		x = sim_mix64(x);
		struct sim_ev e = user_ev(i);
		CHECK(sim_queue_push(q, (ukf_ns_t)(x % 1000), &e) == 0);
	}
	CHECK(sim_queue_size(q) == N);
	ukf_ns_t t, lt = -1;
	uint64_t last_seq_at_t = 0;
	struct sim_ev e;
	size_t n = 0;
	while (sim_queue_pop(q, &t, &e)) {
		CHECK(e.type == SIM_EV_USER);
		CHECK(t >= lt);
		if (t == lt)
			CHECK(e.u.user.a > last_seq_at_t); /* insertion order */
		lt = t;
		last_seq_at_t = e.u.user.a;
		n++;
	}
	CHECK(n == N);
	CHECK(sim_queue_peek_time(q) == UKF_NS_NEVER);
	sim_queue_destroy(&q);
	CHECK(q == NULL);
	return 0;
}

/* Ties: events at one time pushed while popping still follow push order,
 * and a later push at an earlier time than the pending ones comes first. */
static int t_queue_ties(void)
{
	sim_queue_t *q = sim_queue_create();
	struct sim_ev e;
	ukf_ns_t t;
	for (uint64_t i = 0; i < 5; i++) {
		e = user_ev(i);
		sim_queue_push(q, 100, &e);
	}
	CHECK(sim_queue_pop(q, &t, &e) && t == 100 && e.u.user.a == 0);
	e = user_ev(99);
	sim_queue_push(q, 100, &e); /* same time, pushed last: comes last */
	e = user_ev(50);
	sim_queue_push(q, 50, &e); /* earlier time: comes first */
	uint64_t want[] = { 50, 1, 2, 3, 4, 99 };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CHECK(sim_queue_pop(q, &t, &e));
		CHECK(e.u.user.a == want[i]);
	}
	CHECK(!sim_queue_pop(q, &t, &e));
	sim_queue_destroy(&q);
	return 0;
}

/* A small random simulation (jobs with random service times driven by keyed
 * streams); returns a hash of its whole (time, job) event sequence. */
static uint64_t mini_sim(uint64_t seed, uint32_t rep)
{
	sim_queue_t *q = sim_queue_create();
	sim_rng_t *r = sim_rng_create(seed, rep);
	uint64_t h = 0;
	for (uint64_t j = 0; j < 100; j++) {
		struct sim_ev e = user_ev(j);
		double d = sim_rng_exponential(r, UKF_RNG_KEY(UKF_RNG_ARRIVALS, 0), 1e6);
		sim_queue_push(q, (ukf_ns_t)d, &e);
	}
	struct sim_ev e;
	ukf_ns_t t;
	int steps = 0;
	while (sim_queue_pop(q, &t, &e)) {
		h = sim_mix64(h ^ (uint64_t)t) ^ e.u.user.a;
		if (++steps < 5000) {
			uint64_t j = e.u.user.a;
			double d = sim_rng_uniform(r, UKF_RNG_KEY(UKF_RNG_SERVICE, j));
			sim_queue_push(q, t + (ukf_ns_t)(d * 1e6), &e);
		}
	}
	sim_queue_destroy(&q);
	sim_rng_destroy(&r);
	return h;
}

static int t_same_seed(void)
{
	uint64_t a = mini_sim(42, 0), b = mini_sim(42, 0);
	CHECK(a == b);
	CHECK(mini_sim(43, 0) != a); /* another seed: another run */
	CHECK(mini_sim(42, 1) != a); /* another replication: another run */
	return 0;
}

/* Drawing from one stream does not change another's draws. */
static int t_streams_independent(void)
{
	sim_rng_t *r1 = sim_rng_create(7, 0), *r2 = sim_rng_create(7, 0);
	uint64_t ka = UKF_RNG_KEY(UKF_RNG_ARRIVALS, 3);
	uint64_t kb = UKF_RNG_KEY(UKF_RNG_PLACEMENT, 3);
	double a1[50], a2[50];
	for (int i = 0; i < 50; i++) {
		a1[i] = sim_rng_uniform(r1, ka);
		CHECK(a1[i] >= 0 && a1[i] < 1);
	}
	for (int i = 0; i < 50; i++) {
		/* r2 interleaves many draws from another stream. */
		for (int k = 0; k < 7; k++)
			sim_rng_uniform(r2, kb);
		sim_rng_exponential(r2, UKF_RNG_KEY(UKF_RNG_SERVICE, i), 1.0);
		a2[i] = sim_rng_uniform(r2, ka);
	}
	for (int i = 0; i < 50; i++)
		CHECK(a1[i] == a2[i]);
	/* Different keys give different sequences. */
	CHECK(sim_rng_uniform(r1, kb) != sim_rng_uniform(r1, ka));
	CHECK(sim_rng_streams(r2) == 52);
	/* Exponential draws have about the requested mean. */
	double s = 0;
	for (int i = 0; i < 20000; i++)
		s += sim_rng_exponential(r1, UKF_RNG_KEY(UKF_RNG_SCRIPT, 1), 5.0);
	CHECK(fabs(s / 20000 - 5.0) < 0.25);
	sim_rng_destroy(&r1);
	sim_rng_destroy(&r2);
	return 0;
}

/* ---- network ---- */

struct got {
	int n;
	ukf_ns_t at[16];
	int tag[16];
	ukf_node_id_t to[16], from[16];
};
static ukf_ns_t net_now;

static void on_deliver(void *u, ukf_node_id_t to, ukf_node_id_t from,
		       uint16_t type, const void *buf, size_t len,
		       const void *bulk, size_t bulk_len)
{
	struct got *g = u;
	(void)type;
	(void)bulk;
	(void)bulk_len;
	if (g->n < 16) {
		g->at[g->n] = net_now;
		g->tag[g->n] = len ? ((const unsigned char *)buf)[0] : -1;
		g->to[g->n] = to;
		g->from[g->n] = from;
		g->n++;
	}
}

static int net_run(sim_queue_t *q, sim_net_t *n)
{
	struct sim_ev e;
	while (sim_queue_pop(q, &net_now, &e))
		if (sim_net_event(n, net_now, &e) < 0)
			return -1;
	return 0;
}

/* 1 MB at 1e9 B/s = 1 ms, plus 50 us latency. Two concurrent transfers on
 * one sender's uplink (to two receivers) each take about twice as long. */
static int t_net_share(void)
{
	const ukf_ns_t lat = 50 * UKF_US;
	sim_queue_t *q = sim_queue_create();
	struct got g = { 0 };
	sim_net_t *n = sim_net_create(q, 4, lat, 1e9, on_deliver, &g);
	unsigned char a = 1, b = 2;

	net_now = 0;
	CHECK(sim_net_send(n, 0, 0, 1, 1, &a, 1, NULL, 0, 1000000 - 1) == 0);
	CHECK(net_run(q, n) == 0);
	CHECK(g.n == 1 && g.to[0] == 1 && g.from[0] == 0 && g.tag[0] == 1);
	ukf_ns_t alone = g.at[0];
	CHECK(llabs(alone - (1 * UKF_MS + lat)) < 1000);

	g.n = 0;
	ukf_ns_t t0 = net_now;
	CHECK(sim_net_send(n, t0, 0, 1, 1, &a, 1, NULL, 0, 1000000 - 1) == 0);
	CHECK(sim_net_send(n, t0, 0, 2, 1, &b, 1, NULL, 0, 1000000 - 1) == 0);
	CHECK(sim_net_connections(n) == 2);
	CHECK(net_run(q, n) == 0);
	CHECK(g.n == 2);
	for (int i = 0; i < 2; i++) {
		ukf_ns_t took = g.at[i] - t0 - lat;
		CHECK(llabs(took - 2 * UKF_MS) < 1000); /* twice 1 ms */
	}
	CHECK(sim_net_connections(n) == 0);

	/* Staggered: B starts halfway through A. A sends 0.5 MB alone, then
	 * shares: its last 0.5 MB at half rate -> done at 1.5 ms; B has sent
	 * 0.5 MB by then, the rest at full rate -> done at 2 ms (from t0). */
	g.n = 0;
	t0 = net_now;
	CHECK(sim_net_send(n, t0, 0, 1, 1, &a, 1, NULL, 0, 1000000 - 1) == 0);
	struct sim_ev e;
	ukf_ns_t t;
	/* Nothing happens before t0 + 0.5 ms except stale completions. */
	while (sim_queue_peek_time(q) < t0 + UKF_MS / 2) {
		sim_queue_pop(q, &t, &e);
		net_now = t;
		sim_net_event(n, t, &e);
	}
	net_now = t0 + UKF_MS / 2;
	CHECK(sim_net_send(n, net_now, 3, 1, 1, &b, 1, NULL, 0, 1000000 - 1) == 0); /* shares 1's downlink */
	CHECK(net_run(q, n) == 0);
	CHECK(g.n == 2);
	CHECK(g.tag[0] == 1 && g.tag[1] == 2);
	CHECK(llabs(g.at[0] - t0 - lat - 3 * UKF_MS / 2) < 1000);
	CHECK(llabs(g.at[1] - t0 - lat - 2 * UKF_MS) < 1000);

	sim_net_destroy(&n);
	sim_queue_destroy(&q);
	return 0;
}

/* Messages between one pair arrive in the order sent, even a small one
 * sent after a large one; a message to oneself arrives at once. */
static int t_net_order(void)
{
	sim_queue_t *q = sim_queue_create();
	struct got g = { 0 };
	sim_net_t *n = sim_net_create(q, 2, 10 * UKF_US, 1e9, on_deliver, &g);
	unsigned char m[3] = { 1, 2, 3 };

	net_now = 0;
	CHECK(sim_net_send(n, 0, 0, 1, 1, &m[0], 1, NULL, 0, 10000000) == 0);
	CHECK(sim_net_send(n, 0, 0, 1, 1, &m[1], 1, NULL, 0, 0) == 0);
	CHECK(sim_net_send(n, 0, 1, 1, 1, &m[2], 1, NULL, 0, 10000000) == 0);
	CHECK(net_run(q, n) == 0);
	CHECK(g.n == 3);
	CHECK(g.tag[0] == 3 && g.at[0] == 0); /* self: immediate */
	CHECK(g.tag[1] == 1 && g.tag[2] == 2);
	CHECK(g.at[2] >= g.at[1]);
	CHECK(sim_net_bytes(n) == 3 + 20000000);
	sim_net_destroy(&n);
	sim_queue_destroy(&q);
	return 0;
}

/* Fan-in: 1000 senders to one receiver share its downlink: together they
 * take the time of all bytes at the link's rate, each finishing at about
 * that time, and the work stays linear (events per transfer bounded). */
static int t_net_fan_in(void)
{
	enum { N = 1000 };
	sim_queue_t *q = sim_queue_create();
	struct got g = { 0 };
	sim_net_t *n = sim_net_create(q, N + 1, 0, 1e9, on_deliver, &g);
	unsigned char x = 7;
	for (uint32_t i = 1; i <= N; i++)
		CHECK(sim_net_send(n, 0, i, 0, 1, &x, 1, NULL, 0, 1000000 - 1) == 0);
	struct sim_ev e;
	size_t events = 0;
	ukf_ns_t first = -1;
	while (sim_queue_pop(q, &net_now, &e)) {
		events++;
		if (e.type == SIM_EV_DELIVER && first < 0)
			first = net_now;
		CHECK(sim_net_event(n, net_now, &e) == 0);
	}
	CHECK(sim_net_bytes(n) == (uint64_t)N * 1000000);
	CHECK(llabs(net_now - 1 * UKF_S) < 10 * UKF_US);   /* 1 GB at 1 GB/s */
	CHECK(llabs(first - 1 * UKF_S) < 10 * UKF_US);     /* fair: all at once */
	CHECK(events < 10 * N);
	CHECK(sim_net_connections(n) == 0);
	sim_net_destroy(&n);
	sim_queue_destroy(&q);
	return 0;
}

static int t_net_bad_input(void)
{
	sim_queue_t *q = sim_queue_create();
	struct got g = { 0 };
	sim_net_t *n = sim_net_create(q, 2, 0, 1e9, on_deliver, &g);
	unsigned char x = 0;
	CHECK(sim_net_send(n, 0, 0, 2, 1, &x, 1, NULL, 0, 0) == -EINVAL);
	CHECK(sim_net_send(n, 0, 5, 0, 1, &x, 1, NULL, 0, 0) == -EINVAL);
	CHECK(sim_net_send(n, 0, 0, 1, 1, NULL, 4, NULL, 0, 0) == -EINVAL);
	CHECK(sim_queue_size(q) == 0);
	/* Destroy with messages still queued frees them (checked by ASan). */
	CHECK(sim_net_send(n, 0, 0, 1, 1, &x, 1, NULL, 0, 100) == 0);
	CHECK(sim_net_send(n, 0, 0, 1, 1, &x, 1, NULL, 0, 100) == 0);
	struct sim_ev e;
	while (sim_queue_pop(q, NULL, &e))
		sim_net_drop(&e);
	sim_net_destroy(&n);
	sim_queue_destroy(&q);
	return 0;
}

/* ---- hash map ---- */
static int t_map(void)
{
	sim_map_t m;
	sim_map_init(&m);
	uint64_t v;
	for (uint64_t i = 0; i < 5000; i++)
		CHECK(sim_map_put(&m, i * 7919, i) == 0);
	CHECK(sim_map_put(&m, UINT64_MAX, 1) == 0);
	for (uint64_t i = 0; i < 5000; i += 2)
		CHECK(sim_map_del(&m, i * 7919) == 1);
	for (uint64_t i = 0; i < 5000; i++) {
		int has = sim_map_get(&m, i * 7919, &v);
		CHECK(has == (int)(i & 1));
		if (has)
			CHECK(v == i);
	}
	CHECK(sim_map_get(&m, UINT64_MAX, &v) && v == 1);
	CHECK(sim_map_del(&m, 3) == 0);
	CHECK(m.count == 2500);
	/* set: replaces a value present, adds nothing absent */
	CHECK(sim_map_set(&m, 7 * 7919ULL, 70) == 1);
	CHECK(sim_map_get(&m, 7 * 7919ULL, &v) && v == 70);
	CHECK(sim_map_set(&m, 7 * 7919ULL, 7) == 1);
	CHECK(sim_map_set(&m, 8 * 7919ULL, 80) == 0);
	CHECK(!sim_map_get(&m, 8 * 7919ULL, NULL));
	CHECK(sim_map_set(&m, UINT64_MAX, 2) == 1);
	CHECK(sim_map_get(&m, UINT64_MAX, &v) && v == 2);
	CHECK(sim_map_set(&m, UINT64_MAX, 1) == 1);
	CHECK(m.count == 2500);
	/* keep_above: the entries above the floor, the UINT64_MAX key too */
	CHECK(sim_map_put(&m, UINT64_MAX, 4001) == 0);
	CHECK(sim_map_keep_above(&m, 4000) == 0);
	CHECK(m.count == 500); /* odd i in 4001..4999 */
	CHECK(sim_map_get(&m, 4999 * 7919ULL, &v) && v == 4999);
	CHECK(!sim_map_get(&m, 3999 * 7919ULL, NULL));
	CHECK(sim_map_get(&m, UINT64_MAX, &v) && v == 4001);
	CHECK(sim_map_keep_above(&m, 4001) == 0);
	CHECK(!sim_map_get(&m, UINT64_MAX, NULL));
	CHECK(m.count == 499 && !sim_map_get(&m, 4001 * 7919ULL, NULL));
	sim_map_free(&m);
	return 0;
}

/* ---- model file ---- */


/* data/model.conf holds exactly the compiled-in defaults. */
static int t_model_file(void)
{
	struct ukf_sim_model d, m;
	char err[512];
	ukf_sim_model_default(&d);
	memset(&m, 0xab, sizeof(m));
	int rc = ukf_sim_model_load(&m, UKF_SOURCE_DIR "/data/model.conf", err,
				    sizeof(err));
	if (rc)
		fprintf(stderr, "%s\n", err);
	CHECK(rc == 0);
	CHECK(memcmp(&d, &m, sizeof(d)) == 0);
	/* Units are accepted; a file overrides only what it names. */
	char path[] = "/tmp/ukf-model-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(selftest_write_file(path, "# comment\n\n  clone_base_ns = 2.5ms # src\n"
			       "jitter=0\nboot_base_ns = 125ms\ntouch_ns_per_page = 3us\n"
			       "boot_ns_per_mem_byte = 1.5\n") == 0);
	m = d;
	CHECK(ukf_sim_model_load(&m, path, err, sizeof(err)) == 0);
	CHECK(m.clone_base_ns == 2500000 && m.jitter == 0);
	CHECK(m.boot_base_ns == 125 * UKF_MS && m.touch_ns_per_page == 3000);
	CHECK(m.boot_ns_per_mem_byte == 1.5);
	CHECK(m.restore_base_ns == d.restore_base_ns);
	remove(path);
	return 0;
}

/* data/directory.conf says what ukf_sim_dirmodel_default compiles in;
 * each directory kind picks its three values; bad files are refused. */
static int t_dirmodel_file(void)
{
	struct ukf_sim_dirmodel d, m;
	ukf_ns_t delay, p99, detect;
	char err[512];
	ukf_sim_dirmodel_default(&d);
	memset(&m, 0xab, sizeof(m));
	int rc = ukf_sim_dirmodel_load(&m, UKF_SOURCE_DIR "/data/directory.conf",
				       err, sizeof(err));
	if (rc)
		fprintf(stderr, "%s\n", err);
	CHECK(rc == 0);
	CHECK(memcmp(&d, &m, sizeof(d)) == 0);
	CHECK(ukf_sim_dirmodel_pick(&d, "etcd3", &delay, &p99, &detect) == 0);
	CHECK(delay == d.etcd3_delay_ns && p99 == d.etcd3_delay_p99_ns &&
	      detect == d.etcd3_detect_ns);
	CHECK(ukf_sim_dirmodel_pick(&d, "zookeeper", &delay, &p99, &detect) < 0);
	for (int k = 0; k < 3; k++) {
		CHECK(ukf_sim_dirmodel_pick(&d, k == 0 ? "embedded" : k == 1 ? "etcd" : "etcd3",
					    &delay, &p99, &detect) == 0);
		CHECK(delay > 0 && p99 >= delay && detect > 0);
	}
	char path[] = "/tmp/ukf-dirmodel-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(selftest_write_file(path, "etcd_delay_ns = 2ms\nraft_delay_ns = 1ms\n") == 0);
	m = d;
	CHECK(ukf_sim_dirmodel_load(&m, path, err, sizeof(err)) < 0);
	CHECK(strstr(err, ":2: unknown key 'raft_delay_ns'") != NULL);
	CHECK(m.etcd_delay_ns == d.etcd_delay_ns); /* nothing applied */
	remove(path);
	return 0;
}

/* data/kvm-local.conf (generated by scripts/calibrate/kvm.sh) loads over
 * the defaults: its keys are valid, and its cold boot scales with memory,
 * not with the image. */
static int t_model_kvm_local(void)
{
	struct ukf_sim_model d, m;
	char err[512];
	ukf_sim_model_default(&d);
	m = d;
	int rc = ukf_sim_model_load(&m, UKF_SOURCE_DIR "/data/kvm-local.conf",
				    err, sizeof(err));
	if (rc)
		fprintf(stderr, "%s\n", err);
	CHECK(rc == 0);
	CHECK(m.boot_ns_per_mem_byte > 0 && m.boot_ns_per_byte == 0);
	CHECK(m.boot_base_ns > 0 && m.clone_base_ns > 0);
	/* not measured on one node: model.conf's */
	CHECK(m.restore_base_ns == d.restore_base_ns &&
	      m.load_ns_per_byte == d.load_ns_per_byte);
	return 0;
}

/* Bad input: the error names file:line and the offending key or value,
 * and the model is left unchanged. */
static int expect_bad(const char *text, const char *want1, const char *want2)
{
	char path[] = "/tmp/ukf-model-XXXXXX", err[512], where[600];
	int fd = mkstemp(path);
	if (fd < 0)
		return 1;
	selftest_write_file(path, text);
	struct ukf_sim_model m, before;
	ukf_sim_model_default(&m);
	before = m;
	int rc = ukf_sim_model_load(&m, path, err, sizeof(err));
	snprintf(where, sizeof(where), "%s:%s", path, want1);
	remove(path);
	if (rc != -1 || !strstr(err, where) || (want2 && !strstr(err, want2)) ||
	    memcmp(&m, &before, sizeof(m))) {
		fprintf(stderr, "rc=%d err='%s' want '%s' and '%s'\n", rc, err,
			where, want2 ? want2 : "");
		return 1;
	}
	return 0;
}

static int t_model_bad(void)
{
	CHECK(!expect_bad("jitter = 0.1\nfoo = 3\n", "2: unknown key 'foo'", "clone_base_ns"));
	CHECK(!expect_bad("\n\nclone_base_ns = 1.3xs\n", "3: bad value '1.3xs'", "clone_base_ns"));
	CHECK(!expect_bad("jitter = abc\n", "1: bad value 'abc'", "jitter"));
	CHECK(!expect_bad("boot_base_ns = -5\n", "1: bad value '-5'", NULL));
	CHECK(!expect_bad("boot_ns_per_mem_byte = -0.5\n", "1: bad value '-0.5'",
			  "a non-negative number"));
	CHECK(!expect_bad("boot_base_ns\n", "1: expected 'key = value'", NULL));
	CHECK(!expect_bad("boot_base_ns = \n", "1: bad value ''", NULL));
	CHECK(!expect_bad("jitter = 1\njitter = 2\n", "2: key 'jitter' already set on line 1", NULL));
	CHECK(!expect_bad("clone_base_ns = 1e400\n", "1: bad value", NULL));
	char err[256];
	struct ukf_sim_model m;
	ukf_sim_model_default(&m);
	CHECK(ukf_sim_model_load(&m, "/nonexistent/model.conf", err, sizeof(err)) == -1);
	CHECK(strstr(err, "/nonexistent/model.conf: cannot open"));
	return 0;
}

/* load_curve: read and checked at its line; its value between the
 * points, beyond them (the end segments' lines) and never below 0. */
static int t_model_curve(void)
{
	char path[] = "/tmp/ukf-curve-XXXXXX";
	char err[512];
	struct ukf_sim_model m;
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	CHECK(selftest_write_file(path, "load_curve = 100 10  200 30 400 110 "
					"# bytes ns\n") == 0);
	ukf_sim_model_default(&m);
	CHECK(ukf_sim_model_load(&m, path, err, sizeof(err)) == 0);
	remove(path);
	const struct ukf_sim_curve *c = &m.load_curve;
	CHECK(c->n == 3 && c->x[2] == 400 && c->y[1] == 30);
	CHECK(ukf_sim_curve_eval(c, 100) == 10);
	CHECK(ukf_sim_curve_eval(c, 150) == 20);
	CHECK(ukf_sim_curve_eval(c, 300) == 70);
	CHECK(ukf_sim_curve_eval(c, 600) == 190); /* last segment's line */
	CHECK(ukf_sim_curve_eval(c, 40) == 4);	   /* proportional: not -2 */
	CHECK(ukf_sim_curve_eval(c, 75) == 7.5);
	CHECK(ukf_sim_curve_eval(c, 0) == 0);
	/* a falling last segment: beyond it, the last point's cost per
	 * unit (110 / 400, so 220 at 800), not the segment's line (90) */
	struct ukf_sim_curve f = {.n = 3,
				  .x = {100, 200, 400},
				  .y = {10, 120, 110}};
	CHECK(ukf_sim_curve_eval(&f, 800) == 220);
	CHECK(ukf_sim_curve_eval(&f, 300) == 115);
	/* none, and a file without the key, leave the line in use */
	ukf_sim_model_default(&m);
	CHECK(m.load_curve.n == 0);
	CHECK(!expect_bad("load_curve = 100 10\n", "1: bad value '100 10' for "
			  "'load_curve'", "2 to 16 pairs"));
	CHECK(!expect_bad("load_curve = 100 10 100 20\n", "1: bad value", NULL));
	CHECK(!expect_bad("load_curve = 200 10 100 20\n", "1: bad value", NULL));
	CHECK(!expect_bad("load_curve = 100 10 200\n", "1: bad value", NULL));
	CHECK(!expect_bad("load_curve = 100 -1 200 5\n", "1: bad value", NULL));
	CHECK(!expect_bad("load_curve = 100 1 200 5M\n", "1: bad value", NULL));
	CHECK(!expect_bad("load_curve = 100 1 200 nan\n", "1: bad value", NULL));
	char many[400] = "load_curve =";
	for (int i = 1; i <= 17; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 " %d 1", i);
	strcat(many, "\n");
	CHECK(!expect_bad(many, "1: bad value", NULL));
	return 0;
}

/* ---- benchmark ---- */

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Hold model: keep `pending` events queued; each pop schedules one new
 * event a random delay later. One op = one push + one pop. */
static int bench(void)
{
	size_t sizes[] = { 1000, 10000, 100000, 1000000 };
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t pending = sizes[k];
		sim_queue_t *q = sim_queue_create();
		uint64_t x = 1;
		for (size_t i = 0; i < pending; i++) {
			x = sim_mix64(x);
			struct sim_ev e = user_ev(i);
			sim_queue_push(q, (ukf_ns_t)(x % 1000000000), &e);
		}
		uint64_t ops = 20000000;
		double t0 = wall();
		struct sim_ev e;
		ukf_ns_t t;
		for (uint64_t i = 0; i < ops; i++) {
			sim_queue_pop(q, &t, &e);
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			sim_queue_push(q, t + (ukf_ns_t)((x >> 33) % 1000000000), &e);
		}
		double dt = wall() - t0;
		printf("queue hold, %7zu pending: %.1f M schedule+pop/s (%llu ops in %.2f s)\n",
		       pending, ops / dt / 1e6, (unsigned long long)ops, dt);
		sim_queue_destroy(&q);
	}
	/* Network: many transfers sharing links (random pairs among 1000
	 * nodes, 64 KiB each, all sent at once). */
	{
		enum { NODES = 1000, MSGS = 1000000 };
		sim_queue_t *q = sim_queue_create();
		struct got g = { 0 };
		sim_net_t *n = sim_net_create(q, NODES, 50 * UKF_US, 1.25e9,
					      on_deliver, &g);
		unsigned char b = 1;
		uint64_t x = 3;
		double t0 = wall();
		for (uint32_t i = 0; i < MSGS; i++) {
			x = sim_mix64(x);
			uint32_t from = (uint32_t)(x % NODES);
			uint32_t to = (uint32_t)((x >> 32) % NODES);
			sim_net_send(n, (ukf_ns_t)i * 100, from, to, 1, &b, 1, NULL, 0, 65535);
			/* interleave: process what is due before the next send */
			while (sim_queue_peek_time(q) <= (ukf_ns_t)i * 100) {
				struct sim_ev e;
				sim_queue_pop(q, &net_now, &e);
				sim_net_event(n, net_now, &e);
			}
		}
		struct sim_ev e;
		while (sim_queue_pop(q, &net_now, &e))
			sim_net_event(n, net_now, &e);
		double dt = wall() - t0;
		printf("network: %d transfers of 64 KiB among %d nodes: %.2f M transfers/s "
		       "(%.2f s wall, %.3f s simulated)\n",
		       MSGS, NODES, MSGS / dt / 1e6, dt, net_now / 1e9);
		sim_net_destroy(&n);
		sim_queue_destroy(&q);
	}
	sim_rng_t *r = sim_rng_create(1, 0);
	uint64_t draws = 20000000;
	double s = 0, t0 = wall();
	for (uint64_t i = 0; i < draws; i++)
		s += sim_rng_uniform(r, UKF_RNG_KEY(UKF_RNG_SCRIPT, i & 1023));
	double dt = wall() - t0;
	printf("keyed uniform draws (1024 streams): %.1f M/s (sum %.0f)\n",
	       draws / dt / 1e6, s);
	sim_rng_destroy(&r);
	return 0;
}

static const struct selftest tests[] = {
	{ "queue_order", t_queue_order },
	{ "queue_ties", t_queue_ties },
	{ "same_seed", t_same_seed },
	{ "streams_independent", t_streams_independent },
	{ "net_share", t_net_share },
	{ "net_order", t_net_order },
	{ "net_fan_in", t_net_fan_in },
	{ "net_bad_input", t_net_bad_input },
	{ "map", t_map },
	{ "model_file", t_model_file },
	{ "model_curve", t_model_curve },
	{ "dirmodel_file", t_dirmodel_file },
	{ "model_kvm_local", t_model_kvm_local },
	{ "model_bad", t_model_bad },
};

int main(int argc, char **argv)
{
	int rc;

	if (selftest_dispatch_print(tests, SELFTEST_COUNT(tests), argc, argv,
				    &rc))
		return rc;
	if (argc == 2 && !strcmp(argv[1], "--bench"))
		return bench();
	fprintf(stderr, "usage: %s [--list | --run NAME | --bench]\n", argv[0]);
	return 2;
}
