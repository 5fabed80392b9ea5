/* SPDX-License-Identifier: MIT */
/* test_sim_host.c - self-tests of the simulator's host model keys that calibration fits: the agent's service per message, the monitor queue (exact orders and an M/D/1 mean wait), copy-on-write memory with templates counted, fork_base_ns, clone_first_ns, and the keys' parsing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/engine.h"
#include "sim/sim.h"
#include "sim/sim_int.h"
#include "tests/common/selftest.h"

/* Template starts seen: t_ready - t_start of each, in record order. */
struct obs {
	int n, failed, cold;
	double sum;      /* of t_ready - t_start over template starts */
	ukf_ns_t d[64];  /* the first 64 of them */
	char why[128];   /* the first failure's reason */
};

static void rec(void *u, const struct ukf_record *r)
{
	struct obs *o = u;

	if (r->template_boot)
		return;
	if (r->status == UKF_STATUS_FAILED) {
		if (!o->failed++ && r->fail_reason)
			snprintf(o->why, sizeof(o->why), "%s", r->fail_reason);
		return;
	}
	if (r->start != UKF_START_TEMPLATE && r->start != UKF_START_FORK) {
		o->cold++;
		return;
	}
	if (o->n < 64)
		o->d[o->n] = r->t_ready - r->t_start;
	o->sum += (double)(r->t_ready - r->t_start);
	o->n++;
}

/* A request of app (the low 32 bits) from origin node x >> 32. */
static void spawn_cb(void *arg, uint64_t x)
{
	struct ukf_world *w = arg;
	ukf_id_t id;

	w->ops->spawn(w->w, (ukf_node_id_t)(x >> 32), (uint32_t)x, "", 0, &id);
}

/* One node with room for everything, exact costs (jitter 0): a cold boot
 * of about 5 ms, template clones of D = 10 ms. */
static void config(struct ukf_sim_config *c)
{
	ukf_sim_config_default(c);
	c->engine.nodes = 1;
	c->engine.node.vcpus = 1000000;
	c->engine.node.mem_bytes = 1ULL << 42;
	c->model.jitter = 0;
	c->model.clone_base_ns = 10 * UKF_MS;
}

/* Create the world with sinks s, app "a" of spec (id 0), and "b" of
 * spec2 (id 1) unless NULL, and start it. */
static int world_sinks(struct ukf_world *w, const struct ukf_sim_config *c,
		       const struct ukf_world_sinks *s, const char *spec,
		       const char *spec2)
{
	struct ukf_app a, b;
	char err[256] = "";

	if (ukf_sim_create(w, c, s, NULL, err, sizeof(err)) < 0 ||
	    ukf_app_parse(&a, "a", spec, err, sizeof(err)) < 0 ||
	    w->ops->add_app(w->w, &a) != 0 ||
	    (spec2 && (ukf_app_parse(&b, "b", spec2, err, sizeof(err)) < 0 ||
		       w->ops->add_app(w->w, &b) != 1)) ||
	    w->ops->start(w->w) != 0) {
		fprintf(stderr, "world: %s\n", err);
		return -1;
	}
	return 0;
}

/* The same, records into o. */
static int world2(struct ukf_world *w, const struct ukf_sim_config *c,
		  struct obs *o, const char *spec, const char *spec2)
{
	struct ukf_world_sinks s = { .record = rec, .u = o };

	return world_sinks(w, c, &s, spec, spec2);
}

static int world(struct ukf_world *w, const struct ukf_sim_config *c,
		 struct obs *o, const char *spec)
{
	return world2(w, c, o, spec, NULL);
}

/* The first request boots cold and makes the template; `k` more arrive
 * together at 1 s and clone it. Fills o; 0 or -1. */
static int burst(struct ukf_sim_config *c, int k, struct obs *o)
{
	struct ukf_world w;
	char err[256];

	memset(o, 0, sizeof(*o));
	if (world(&w, c, o, "mem=4M init=1ms work=50ms dirty=0 image=1M") < 0)
		return -1;
	w.ops->at(w.w, 10 * UKF_MS, spawn_cb, &w, 0);
	for (int i = 0; i < k; i++)
		w.ops->at(w.w, 1 * UKF_S, spawn_cb, &w, 0);
	int rc = w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err));
	if (rc)
		fprintf(stderr, "run: %s\n", err);
	w.ops->destroy(&w.w);
	return rc ? -1 : 0;
}

/* monitor_slots: three clones asked at once take turns on one slot (D,
 * 2D, 3D from their start to ready), share two (D, D, 2D), and run
 * together without a limit (D each, as before the key). */
static int t_monitor_order(void)
{
	struct ukf_sim_config c;
	struct obs o;
	const ukf_ns_t D = 10 * UKF_MS;

	config(&c);
	CHECK(burst(&c, 3, &o) == 0);
	CHECK(o.n == 3 && o.cold == 1 && o.failed == 0);
	CHECK(o.d[0] == D && o.d[1] == D && o.d[2] == D);
	c.model.monitor_slots = 1;
	CHECK(burst(&c, 3, &o) == 0);
	CHECK(o.n == 3 && o.failed == 0);
	CHECKF(o.d[0] == D && o.d[1] == 2 * D && o.d[2] == 3 * D,
	       "%lld %lld %lld", (long long)o.d[0], (long long)o.d[1],
	       (long long)o.d[2]);
	c.model.monitor_slots = 2;
	CHECK(burst(&c, 3, &o) == 0);
	CHECK(o.n == 3 && o.failed == 0);
	CHECK(o.d[0] == D && o.d[1] == D && o.d[2] == 2 * D);
	return 0;
}

/* agent_msg_ns = a, one server: the three clones' STARTED events reach the
 * agent together at D, each READY follows its STARTED's service, so the
 * engine hears the READYs at D + 4a, D + 5a, D + 6a. */
static int t_agent_fifo(void)
{
	struct ukf_sim_config c;
	struct obs o;
	const ukf_ns_t D = 10 * UKF_MS, a = 1 * UKF_MS;

	config(&c);
	c.model.agent_msg_ns = a;
	CHECK(burst(&c, 3, &o) == 0);
	CHECK(o.n == 3 && o.failed == 0);
	CHECKF(o.d[0] == D + 4 * a && o.d[1] == D + 5 * a &&
		       o.d[2] == D + 6 * a,
	       "%lld %lld %lld", (long long)o.d[0], (long long)o.d[1],
	       (long long)o.d[2]);
	/* monitor work and messages on one server: clone 1 (D), its
	 * STARTED waits for clones 2 and 3 (2D more), and so on */
	c.model.monitor_slots = 1;
	CHECK(burst(&c, 3, &o) == 0);
	CHECK(o.n == 3 && o.failed == 0);
	CHECKF(o.d[0] == 3 * D + 4 * a && o.d[1] == 3 * D + 5 * a &&
		       o.d[2] == 3 * D + 6 * a,
	       "%lld %lld %lld", (long long)o.d[0], (long long)o.d[1],
	       (long long)o.d[2]);
	return 0;
}

/* Poisson arrivals */
static void poisson_cb(void *arg, uint64_t x);

struct pois {
	struct ukf_world *w;
	uint64_t state;
	double rate;
	int left;
};

static double unif(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ULL;
	uint64_t z = *s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static void poisson_cb(void *arg, uint64_t x)
{
	struct pois *p = arg;
	ukf_id_t id;
	ukf_ns_t now = p->w->ops->now(p->w->w);

	(void)x;
	p->w->ops->spawn(p->w->w, 0, 0, "", 0, &id);
	if (--p->left > 0)
		p->w->ops->at(p->w->w,
			      now + (ukf_ns_t)(-log(unif(&p->state)) / p->rate * 1e9),
			      poisson_cb, p, 0);
}

/* One monitor slot, Poisson requests of rate lambda, each a clone of D:
 * an M/D/1 queue. The mean start-to-ready is D + W with the
 * Pollaczek-Khinchine W = rho D / (2 (1 - rho)), rho = lambda D. */
static int md1(double rho, int n, double tol)
{
	struct ukf_sim_config c;
	struct obs o;
	struct ukf_world w;
	char err[256];
	const double D = 10e6;

	config(&c);
	c.model.monitor_slots = 1;
	memset(&o, 0, sizeof(o));
	CHECK(world(&w, &c, &o, "mem=4M init=1ms work=1ms dirty=0 image=1M") == 0);
	struct pois p = { &w, 12345, rho / D * 1e9, n };
	w.ops->at(w.w, 10 * UKF_MS, spawn_cb, &w, 0);
	w.ops->at(w.w, 1 * UKF_S, poisson_cb, &p, 0);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	w.ops->destroy(&w.w);
	CHECK(o.n == n && o.failed == 0);
	double mean = o.sum / o.n, want = D + rho * D / (2 * (1 - rho));
	fprintf(stderr, "M/D/1 rho %.2f: %d clones, mean start-to-ready %.3f ms, "
		"Pollaczek-Khinchine %.3f ms (%+.2f%%)\n",
		rho, o.n, mean / 1e6, want / 1e6, 100 * (mean - want) / want);
	CHECK(fabs(mean - want) <= tol * want);
	/* without the key nothing waits */
	return 0;
}

static int t_md1(void)
{
	CHECK(md1(0.5, 40000, 0.02) == 0);
	CHECK(md1(0.8, 100000, 0.04) == 0);
	return 0;
}

/* Memory seen at given times (sampled by world callbacks). */
struct memobs {
	struct ukf_world *w;
	uint64_t at[4];
};

static void mem_cb(void *arg, uint64_t i)
{
	struct memobs *m = arg;
	struct sim_world *sw = m->w->w;

	m->at[i] = sim_be_mem_used(sw->sbe, 0);
}

/*
 * Copy-on-write memory: the host counts a cold boot's whole memory, which
 * becomes the template when it is sealed (no second copy), and of each
 * clone only the pages it has dirtied. 20 clones of a 16 MiB app fit in
 * 64 MiB of host memory (counted at full size they would need 320 MiB); a
 * cold boot of another app of 52 MiB beside the template does not
 * (-ENOMEM), and does without the limit.
 */
static int t_cow_memory(void)
{
	struct ukf_sim_config c;
	struct obs o;
	struct ukf_world w;
	struct memobs m = { &w, { 0 } };
	char err[256];
	const uint64_t MiB = 1 << 20;

	config(&c);
	c.model.host_mem_bytes = 64 * MiB;
	memset(&o, 0, sizeof(o));
	CHECK(world2(&w, &c, &o,
		     "mem=16M init=1ms work=100ms dirty=16 units=2 image=1M",
		     "mem=52M init=1ms work=1ms image=1M") == 0);
	w.ops->at(w.w, 10 * UKF_MS, spawn_cb, &w, 0);
	w.ops->at(w.w, 5 * UKF_MS, mem_cb, &m, 0);   /* nothing yet */
	w.ops->at(w.w, 12 * UKF_MS, mem_cb, &m, 1);  /* the cold boot's */
	for (int i = 0; i < 20; i++)
		w.ops->at(w.w, 1 * UKF_S, spawn_cb, &w, 0);
	/* after the clones' first unit (1 s + 10 ms clone + 100 ms) */
	w.ops->at(w.w, 1 * UKF_S + 150 * UKF_MS, mem_cb, &m, 2);
	w.ops->at(w.w, 2 * UKF_S, spawn_cb, &w, 1);
	w.ops->at(w.w, 3 * UKF_S, mem_cb, &m, 3);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	w.ops->destroy(&w.w);
	fprintf(stderr, "host memory: %llu, %llu, %llu, %llu bytes\n",
		(unsigned long long)m.at[0], (unsigned long long)m.at[1],
		(unsigned long long)m.at[2], (unsigned long long)m.at[3]);
	CHECK(m.at[0] == 0);
	CHECK(m.at[1] == 16 * MiB);
	/* template 16 MiB (the maker's sealed memory; the maker exited)
	 * + 20 clones x 16 pages */
	CHECK(m.at[2] == 16 * MiB + 20 * 16 * 4096);
	CHECK(m.at[3] == 16 * MiB); /* the template stays */
	CHECKF(o.cold == 1 && o.n == 20, "cold %d, clones %d, failed %d: %s", o.cold, o.n, o.failed, o.why);
	CHECKF(o.failed == 1 && strstr(o.why, "cold_boot") &&
		       strstr(o.why, "-12"),
	       "failed %d: %s", o.failed, o.why);
	/* without a limit the big boot runs */
	c.model.host_mem_bytes = 0;
	memset(&o, 0, sizeof(o));
	CHECK(world2(&w, &c, &o,
		     "mem=16M init=1ms work=100ms dirty=16 units=2 image=1M",
		     "mem=52M init=1ms work=1ms image=1M") == 0);
	w.ops->at(w.w, 10 * UKF_MS, spawn_cb, &w, 0);
	w.ops->at(w.w, 2 * UKF_S, spawn_cb, &w, 1);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	w.ops->destroy(&w.w);
	CHECK(o.failed == 0 && o.cold == 2);
	return 0;
}

/* fork_base_ns: a live fork costs fork_base_ns + pages * clone_ns_per_page
 * (0: clone_base_ns, as before the key). */
static int forkcost(ukf_ns_t fork_base, ukf_ns_t *got)
{
	struct ukf_sim_config c;
	struct obs o;
	struct ukf_world w;
	char err[256];

	config(&c);
	c.engine.templates = "none";
	c.model.fork_base_ns = fork_base;
	memset(&o, 0, sizeof(o));
	CHECK(world(&w, &c, &o,
		    "mem=16M init=1ms work=1ms dirty=100 fork=1 image=1M") == 0);
	w.ops->at(w.w, 10 * UKF_MS, spawn_cb, &w, 0);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	w.ops->destroy(&w.w);
	CHECK(o.n == 1 && o.failed == 0);
	*got = o.d[0];
	return 0;
}

static int t_fork_base(void)
{
	struct ukf_sim_config c;
	ukf_ns_t got;

	config(&c);
	CHECK(forkcost(0, &got) == 0);
	CHECK(got == c.model.clone_base_ns + 100 * c.model.clone_ns_per_page);
	CHECK(forkcost(3 * UKF_MS, &got) == 0);
	CHECK(got == 3 * UKF_MS + 100 * c.model.clone_ns_per_page);
	return 0;
}

/* clone_first_ns: the first template clone at each memory size on a node
 * costs that much more; later ones, at a size seen, do not; a live fork
 * at a size its node has not cloned at pays it too. */
static int t_clone_first(void)
{
	struct ukf_sim_config c;
	struct obs o;
	struct ukf_world w;
	char err[256];
	const ukf_ns_t first = 7 * UKF_MS;

	for (int on = 0; on < 2; on++) {
		config(&c);
		c.model.clone_first_ns = on ? first : 0;
		memset(&o, 0, sizeof(o));
		CHECK(world2(&w, &c, &o, "mem=16M init=1ms work=1ms image=1M",
			     "mem=32M init=1ms work=1ms image=1M") == 0);
		/* a: cold (makes its template), then two clones; b the same */
		for (int i = 0; i < 6; i++)
			w.ops->at(w.w, 10 * UKF_MS + i * UKF_S, spawn_cb, &w,
				  i < 3 ? 0 : 1);
		CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) ==
		      0);
		w.ops->destroy(&w.w);
		CHECK(o.failed == 0 && o.cold == 2 && o.n == 4);
		ukf_ns_t e = on ? first : 0;
		CHECKF(o.d[0] == c.model.clone_base_ns + e &&
			       o.d[1] == c.model.clone_base_ns &&
			       o.d[2] == c.model.clone_base_ns + e &&
			       o.d[3] == c.model.clone_base_ns,
		       "on %d: %lld %lld %lld %lld", on, (long long)o.d[0],
		       (long long)o.d[1], (long long)o.d[2], (long long)o.d[3]);
	}
	/* a live fork of a cold instance: the node's first clone at 16M */
	config(&c);
	c.engine.templates = "none";
	c.model.clone_first_ns = first;
	memset(&o, 0, sizeof(o));
	CHECK(world(&w, &c, &o,
		    "mem=16M init=1ms work=1ms dirty=100 fork=1 image=1M") == 0);
	w.ops->at(w.w, 10 * UKF_MS, spawn_cb, &w, 0);
	w.ops->at(w.w, 1 * UKF_S, spawn_cb, &w, 0);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	w.ops->destroy(&w.w);
	CHECK(o.n == 2 && o.failed == 0);
	ukf_ns_t fork = c.model.clone_base_ns + 100 * c.model.clone_ns_per_page;
	CHECKF(o.d[0] == fork + first && o.d[1] == fork, "%lld %lld",
	       (long long)o.d[0], (long long)o.d[1]);
	return 0;
}

static void spawn_bad_cb(void *arg, uint64_t app)
{
	struct ukf_world *w = arg;
	ukf_id_t id;

	w->ops->spawn(w->w, 0, (uint32_t)app, "bogus=1", 0, &id);
}

/* A clone that fails to start (args the synth model refuses) makes no
 * shell: the next clone at its size is still the node's first. */
static int t_clone_first_failed(void)
{
	struct ukf_sim_config c;
	struct obs o;
	struct ukf_world w;
	char err[256];
	const ukf_ns_t first = 7 * UKF_MS;

	config(&c);
	c.model.clone_first_ns = first;
	memset(&o, 0, sizeof(o));
	CHECK(world(&w, &c, &o, "mem=16M init=1ms work=1ms image=1M") == 0);
	w.ops->at(w.w, 10 * UKF_MS, spawn_cb, &w, 0);
	w.ops->at(w.w, 1 * UKF_S, spawn_bad_cb, &w, 0);
	w.ops->at(w.w, 2 * UKF_S, spawn_cb, &w, 0);
	w.ops->at(w.w, 3 * UKF_S, spawn_cb, &w, 0);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	w.ops->destroy(&w.w);
	CHECKF(o.failed == 1 && o.cold == 1 && o.n == 2,
	       "failed %d cold %d n %d (%s)", o.failed, o.cold, o.n, o.why);
	CHECKF(o.d[0] == c.model.clone_base_ns + first &&
		       o.d[1] == c.model.clone_base_ns,
	       "%lld %lld", (long long)o.d[0], (long long)o.d[1]);
	return 0;
}

/* node 0 fails (x 1) or recovers (x 2) */
static void outage_cb(void *arg, uint64_t x)
{
	struct ukf_world *w = arg;
	char err[128];

	if (x == 1)
		(void)ukf_sim_fail_node(w, 0, "test", err, sizeof(err));
	else
		(void)ukf_sim_recover_node(w, 0, err, sizeof(err));
}

/* A node that failed comes back without its VM shells: after its
 * recovery the first clone at a size it had cloned at pays again. */
static int t_clone_first_recover(void)
{
	struct ukf_sim_config c;
	struct obs o;
	struct ukf_world w;
	char err[256];
	const ukf_ns_t first = 7 * UKF_MS;

	config(&c);
	c.engine.nodes = 2; /* node 1 stays up: the run goes on */
	c.engine.placement = "local";
	c.model.clone_first_ns = first;
	memset(&o, 0, sizeof(o));
	CHECK(world(&w, &c, &o, "mem=16M init=1ms work=1ms image=1M") == 0);
	/* on node 0: cold, clone (first), clone; down at 3 s, up at 4 s;
	 * cold again (its template went with it), clone (first again) */
	static const int at_ms[] = { 10, 1000, 2000, 5000, 6000 };
	for (int i = 0; i < 5; i++)
		w.ops->at(w.w, at_ms[i] * UKF_MS, spawn_cb, &w, 0);
	w.ops->at(w.w, 3 * UKF_S, outage_cb, &w, 1);
	w.ops->at(w.w, 4 * UKF_S, outage_cb, &w, 2);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	w.ops->destroy(&w.w);
	CHECKF(o.failed == 0 && o.cold == 2 && o.n == 3, "failed %d cold %d n %d",
	       o.failed, o.cold, o.n);
	CHECKF(o.d[0] == c.model.clone_base_ns + first &&
		       o.d[1] == c.model.clone_base_ns &&
		       o.d[2] == c.model.clone_base_ns + first,
	       "%lld %lld %lld", (long long)o.d[0], (long long)o.d[1],
	       (long long)o.d[2]);
	return 0;
}


/* The keys in a model file; bad values named with file and line. */
static int t_host_keys(void)
{
	struct ukf_sim_model m, d;
	char err[1024], path[] = "/tmp/ukf-hostkeys-XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	ukf_sim_model_default(&d);
	CHECK(d.agent_msg_ns == 0 && d.monitor_slots == 0 &&
	      d.host_mem_bytes == 0 && d.fork_base_ns == 0);
	CHECK(selftest_write_file(path, "agent_msg_ns = 2.5ms\nmonitor_slots = 2\n"
			       "host_mem_bytes = 16G\nfork_base_ns = 40ms\n"
			       "clone_first_ns = 9ms\n") == 0);
	m = d;
	CHECK(ukf_sim_model_load(&m, path, err, sizeof(err)) == 0);
	CHECK(m.agent_msg_ns == 2500000 && m.monitor_slots == 2);
	CHECK(m.host_mem_bytes == 16ULL << 30 && m.fork_base_ns == 40000000);
	CHECK(m.clone_first_ns == 9000000 && d.clone_first_ns == 0);
	CHECK(selftest_write_file(path, "idle_curve = 2e7 0 3e8 4e5 1e9 1e6\n") ==
	      0);
	m = d;
	CHECK(ukf_sim_model_load(&m, path, err, sizeof(err)) == 0);
	CHECK(m.idle_curve.n == 3 && m.idle_curve.x[1] == 3e8 &&
	      m.idle_curve.y[2] == 1e6 && d.idle_curve.n == 0);
	/* flat beyond its ends, linear between its points */
	CHECK(ukf_sim_idle_eval(&m.idle_curve, 0) == 0);
	CHECK(ukf_sim_idle_eval(&m.idle_curve, 2e7) == 0);
	CHECK(fabs(ukf_sim_idle_eval(&m.idle_curve, 1.6e8) - 2e5) < 1e-6);
	CHECK(ukf_sim_idle_eval(&m.idle_curve, 3e8) == 4e5);
	CHECK(fabs(ukf_sim_idle_eval(&m.idle_curve, 6.5e8) - 7e5) < 1e-6);
	CHECK(ukf_sim_idle_eval(&m.idle_curve, 5e9) == 1e6);
	CHECK(ukf_sim_idle_eval(&d.idle_curve, 5e9) == 0);
	static const char *const bad[] = {
		"monitor_slots = -1\n", "monitor_slots = 1.5\n",
		"monitor_slots = 2000000\n", "host_mem_bytes = 12X\n",
		"host_mem_bytes = -1G\n", "agent_msg_ns = -1ms\n",
		"idle_curve = 1e8\n", "idle_curve = 1e8 -5 2e8 5\n",
		"idle_curve = 2e8 0 1e8 5\n", "idle_curve = 1s 5 2s 6\n",
		"boot_idle_curve = 1e8 -0.5 2e8 1\n", "boot_idle_curve = x\n",
		"msg_idle_curve = 1e8 -5 2e8 5\n", "msg_idle_curve = 2e8 0 1e8 5\n",
		"msg_idle_curve = 1e8\n",
		"delta_idle_curve = 1e8 -5 2e8 5\n",
		"delta_idle_curve = 2e8 0 1e8 5\n", "delta_idle_curve = x\n",
		"delta_idle_since = sometimes\n", "delta_idle_since = 1\n",
		"delta_idle_since =\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(selftest_write_file(path, bad[i]) == 0);
		m = d;
		CHECK(ukf_sim_model_load(&m, path, err, sizeof(err)) == -1);
		CHECKF(strstr(err, ":1: bad value") && strstr(err, path),
		       "%s", err);
		CHECK(memcmp(&m, &d, sizeof(m)) == 0);
	}
	/* a word key: named in its error with the words it takes */
	CHECK(selftest_write_file(path, "delta_idle_since = activity\n") == 0);
	m = d;
	CHECK(ukf_sim_model_load(&m, path, err, sizeof(err)) == 0 &&
	      m.delta_idle_since == UKF_SIM_SINCE_ACTIVITY &&
	      d.delta_idle_since == UKF_SIM_SINCE_MESSAGE);
	CHECK(selftest_write_file(path, "delta_idle_since = Activity\n") == 0);
	CHECK(ukf_sim_model_load(&m, path, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "expected message or activity"), "%s", err);
	unlink(path);
	return 0;
}

/* Starts after a template fetch: per record, its kind, whether it was
 * remote and fetched, its node, t_ready - t_start and its delta. */
struct fobs {
	int n, failed;
	struct {
		int start, remote, fetched, node, app;
		ukf_ns_t d, disp; /* start -> READY, placement -> start */
		uint64_t delta;
	} r[64];
};

static void frec(void *u, const struct ukf_record *r)
{
	struct fobs *o = u;

	if (r->template_boot)
		return;
	if (r->status == UKF_STATUS_FAILED) {
		o->failed++;
		return;
	}
	if (o->n == 64)
		return;
	o->r[o->n].start = r->start;
	o->r[o->n].remote = r->remote;
	o->r[o->n].fetched = r->template_fetched;
	o->r[o->n].node = (int)r->node;
	o->r[o->n].app = (int)r->app;
	o->r[o->n].d = r->t_ready - r->t_start;
	o->r[o->n].disp = r->t_start - r->t_placed;
	o->r[o->n].delta = r->delta_bytes;
	o->n++;
}

/*
 * fetched_first_ns_per_byte: two nodes, an 8 MiB app whose instances fork
 * once. Least-loaded placement puts each child on the other node than
 * its parent: the first child on node 1 fetches the template and its
 * restore is the first start from it there (charged the key x 8 MiB);
 * the later children's restores are not. With `local` placement and a
 * request made on node 1, a template clone is the first start from the
 * template node 1 fetched: not charged (measured: the shell only), and
 * it takes that first start (a restore after it would not be charged).
 */
static int t_fetched_first(void)
{
	struct ukf_sim_config c;
	struct ukf_world w;
	struct ukf_world_sinks s = { .record = frec };
	struct fobs o;
	char err[256] = "";
	const double k = 1.0; /* ns per byte: 8.39 ms at 8 MiB */
	const ukf_ns_t fresh = (ukf_ns_t)(k * 8 * 1048576);

	for (int local = 0; local < 2; local++) {
		config(&c);
		c.engine.nodes = 2;
		c.engine.placement = local ? "local" : "least-loaded";
		c.link_latency_ns = 0;
		c.model.fetched_first_ns_per_byte = k;
		memset(&o, 0, sizeof(o));
		s.u = &o;
		CHECK(world_sinks(&w, &c, &s,
				  local ? "mem=8M init=1ms work=1ms image=1M"
					: "mem=8M init=1ms work=20ms dirty=100 "
					  "fork=1 units=1 image=1M",
				  NULL) == 0);
		/* cold on node 0 (its template made there); then, 1 s apart,
		 * requests from node 0 (least-loaded) or node 1 (local) */
		w.ops->at(w.w, 10 * UKF_MS, spawn_cb, &w, 0);
		for (int i = 1; i <= 3; i++)
			w.ops->at(w.w, i * UKF_S, spawn_cb, &w,
				  local ? 1ULL << 32 : 0);
		CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) ==
		      0);
		w.ops->destroy(&w.w);
		CHECK(o.failed == 0);
		int fetched = 0, restores = 0, clones = 0;
		for (int i = 0; i < o.n; i++) {
			if (o.r[i].start == UKF_START_FORK && o.r[i].remote) {
				ukf_ns_t want =
				    c.model.restore_base_ns +
				    c.model.restore_ns_per_page *
					(ukf_ns_t)(o.r[i].delta / 4096) +
				    (o.r[i].fetched ? fresh : 0);
				CHECKF(o.r[i].d == want,
				       "restore %d (fetched %d): %lld ns, "
				       "want %lld",
				       i, o.r[i].fetched, (long long)o.r[i].d,
				       (long long)want);
				restores++;
				fetched += o.r[i].fetched;
			}
			if (o.r[i].start == UKF_START_TEMPLATE &&
			    o.r[i].node == 1) {
				CHECKF(o.r[i].d == c.model.clone_base_ns,
				       "clone %d on node 1: %lld ns", i,
				       (long long)o.r[i].d);
				clones++;
			}
		}
		if (local)
			CHECKF(clones == 3, "%d clones on node 1", clones);
		else
			CHECKF(fetched == 1 && restores >= 3,
			       "%d restores, %d after a fetch", restores,
			       fetched);
	}
	return 0;
}

/*
 * idle_curve: one node, template clones of 10 ms, each instance done
 * ~2 ms after its READY. Requested at 1000, 1050, 1500, 1600 and 1750
 * ms, they find the node idle for ~1 s, ~36, ~440, ~86 and ~140 ms: with
 * a step at 100 ms (the curve 0 at 99 ms, the wake cost from 100 ms) the
 * 1st, 3rd and 5th pay it; with a flat curve all do; with none none. A
 * clone ~150 ms after the last instance ended (the cost of 100 .. 200 ms
 * idle rising from 0 to 2 ms) pays ~1 ms (within 10 us). A live
 * fork right after its parent's unit finds the node busy (pays nothing)
 * unless the curve is flat. On two nodes, the restores of remote fork
 * children pay it on a node idle since the last child, but not the one
 * right after its template was fetched there (the load was activity).
 */
static int t_idle_wake(void)
{
	struct ukf_sim_config c;
	struct obs o;
	struct ukf_world w;
	char err[256];
	const ukf_ns_t wake = 3 * UKF_MS;
	static const int at_ms[] = { 1000, 1050, 1500, 1600, 1750 };
	/* mode 1: a step at 100 ms; 2: flat (every start pays) */
	const struct ukf_sim_curve step = { 2, { 99e6, 100e6 }, { 0, 3e6 } },
				   flat = { 2, { 0, 1 }, { 3e6, 3e6 } };

	for (int mode = 0; mode < 3; mode++) { /* none, 100 ms, 0 */
		config(&c);
		if (mode)
			c.model.idle_curve = mode == 1 ? step : flat;
		memset(&o, 0, sizeof(o));
		CHECK(world(&w, &c, &o, "mem=16M init=1ms work=1ms image=1M") ==
		      0);
		w.ops->at(w.w, 10 * UKF_MS, spawn_cb, &w, 0);
		for (int i = 0; i < 5; i++)
			w.ops->at(w.w, at_ms[i] * UKF_MS, spawn_cb, &w, 0);
		CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) ==
		      0);
		w.ops->destroy(&w.w);
		CHECK(o.failed == 0 && o.cold == 1 && o.n == 5);
		for (int i = 0; i < 5; i++) {
			int pays = mode == 2 || (mode == 1 && i % 2 == 0);
			CHECKF(o.d[i] == c.model.clone_base_ns +
					     (pays ? wake : 0),
			       "mode %d clone %d: %lld ns", mode, i,
			       (long long)o.d[i]);
		}
	}
	/* an instance of b working beside (a unit ends every 100 ms from
	 * ~0.1 to ~1.1 s) keeps the node awake: a's clone at 0.75 s pays
	 * nothing, its clone at 1.5 s (~0.4 s after b's last) pays */
	config(&c);
	c.model.idle_curve = step;
	memset(&o, 0, sizeof(o));
	CHECK(world2(&w, &c, &o, "mem=16M init=1ms work=1ms image=1M",
		     "mem=16M init=1ms work=100ms units=10 image=1M") == 0);
	w.ops->at(w.w, 10 * UKF_MS, spawn_cb, &w, 0);
	w.ops->at(w.w, 20 * UKF_MS, spawn_cb, &w, 1);
	w.ops->at(w.w, 750 * UKF_MS, spawn_cb, &w, 0);
	w.ops->at(w.w, 1500 * UKF_MS, spawn_cb, &w, 0);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	w.ops->destroy(&w.w);
	CHECKF(o.failed == 0 && o.cold == 2 && o.n == 2 &&
		       o.d[0] == c.model.clone_base_ns &&
		       o.d[1] == c.model.clone_base_ns + wake,
	       "cold %d n %d: %lld %lld", o.cold, o.n, (long long)o.d[0],
	       (long long)o.d[1]);
	/* between two points: linear. The first clone (at 1 s, after ~1 s)
	 * pays the last point's 2 ms and is done at ~1013 ms; the next,
	 * ~150 ms after, pays half way: 1 ms (within 10 us: the unit's and
	 * exit's own few hundred microseconds move it by 0.02 each) */
	config(&c);
	c.model.idle_curve =
	    (struct ukf_sim_curve){ 2, { 100e6, 200e6 }, { 0, 2e6 } };
	memset(&o, 0, sizeof(o));
	CHECK(world(&w, &c, &o, "mem=16M init=1ms work=1ms image=1M") == 0);
	w.ops->at(w.w, 10 * UKF_MS, spawn_cb, &w, 0);
	w.ops->at(w.w, 1000 * UKF_MS, spawn_cb, &w, 0);
	w.ops->at(w.w, 1163 * UKF_MS, spawn_cb, &w, 0);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	w.ops->destroy(&w.w);
	CHECKF(o.n == 2 && o.d[0] == c.model.clone_base_ns + 2 * UKF_MS &&
		       llabs(o.d[1] - (c.model.clone_base_ns + UKF_MS)) < 10000,
	       "n %d: %lld %lld", o.n, (long long)o.d[0], (long long)o.d[1]);
	/* live forks of a cold instance, right after its unit */
	for (int mode = 1; mode < 3; mode++) {
		config(&c);
		c.engine.templates = "none";
		c.model.idle_curve = mode == 1 ? step : flat;
		memset(&o, 0, sizeof(o));
		CHECK(world(&w, &c, &o,
			    "mem=16M init=1ms work=1ms dirty=100 fork=1 "
			    "image=1M") == 0);
		w.ops->at(w.w, 10 * UKF_MS, spawn_cb, &w, 0);
		CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) ==
		      0);
		w.ops->destroy(&w.w);
		ukf_ns_t fork =
		    c.model.clone_base_ns + 100 * c.model.clone_ns_per_page;
		CHECKF(o.n == 1 && o.d[0] == fork + (mode == 2 ? wake : 0),
		       "mode %d: %d forks, %lld ns", mode, o.n,
		       (long long)o.d[0]);
	}
	/* remote restores on node 1 (fetched_first's least-loaded world) */
	struct ukf_world_sinks s = { .record = frec };
	struct fobs f;
	config(&c);
	c.engine.nodes = 2;
	c.engine.placement = "least-loaded";
	c.link_latency_ns = 0;
	c.model.idle_curve = step;
	memset(&f, 0, sizeof(f));
	s.u = &f;
	CHECK(world_sinks(&w, &c, &s,
			  "mem=8M init=1ms work=20ms dirty=100 fork=1 units=1 "
			  "image=1M",
			  NULL) == 0);
	w.ops->at(w.w, 10 * UKF_MS, spawn_cb, &w, 0);
	for (int i = 1; i <= 3; i++)
		w.ops->at(w.w, i * UKF_S, spawn_cb, &w, 0);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	w.ops->destroy(&w.w);
	CHECK(f.failed == 0);
	int restores = 0, woken = 0, parents = 0;
	for (int i = 0; i < f.n; i++) {
		if (f.r[i].start == UKF_START_FORK && f.r[i].remote) {
			ukf_ns_t base = c.model.restore_base_ns +
					c.model.restore_ns_per_page *
					    (ukf_ns_t)(f.r[i].delta / 4096);
			ukf_ns_t want = base + (f.r[i].fetched ? 0 : wake);
			CHECKF(f.r[i].d == want,
			       "restore %d (fetched %d): %lld ns, want %lld", i,
			       f.r[i].fetched, (long long)f.r[i].d,
			       (long long)want);
			restores++;
			woken += !f.r[i].fetched;
		}
		if (f.r[i].start == UKF_START_TEMPLATE && f.r[i].node == 0) {
			CHECKF(f.r[i].d == c.model.clone_base_ns + wake,
			       "parent %d: %lld ns", i, (long long)f.r[i].d);
			parents++;
		}
	}
	CHECKF(restores >= 3 && woken >= 2 && parents >= 2,
	       "%d restores (%d woken), %d parents", restores, woken, parents);
	return 0;
}

/*
 * msg_idle_curve: a message to a node idle for a spell arrives the curve
 * at the spell later. Two nodes, least-loaded (turns), requests on node 0
 * a second apart: each template clone placed on node 1 (idle ~2 s) starts
 * peer_msg_ns + 3 ms after its placement, those on node 0 at once, as
 * without the key; the start itself (idle_curve) is not charged. The
 * first one there fetches the template from node 0 first: it pays the
 * curve once, on node 1 (3 ms more than without the key), not again for
 * its fetch request to node 0 (backend idle since the cold boot, but its
 * agent awake: it has just sent the placement). Then the same with
 * requests 20 ms apart after the second: the curve's step (100 ms) not
 * reached, no clone pays.
 */
static int t_msg_idle(void)
{
	struct ukf_sim_config c;
	struct ukf_world w;
	struct ukf_world_sinks s = { .record = frec };
	struct fobs o;
	char err[256] = "";
	const ukf_ns_t peer = 200 * UKF_US, wake = 3 * UKF_MS;
	ukf_ns_t fetched[2] = { -1, -1 }; /* placement -> start, modes 0, 1 */

	for (int mode = 0; mode < 3; mode++) { /* none, 1 s apart, 20 ms */
		config(&c);
		c.engine.nodes = 2;
		c.engine.placement = "least-loaded";
		c.link_latency_ns = 0;
		c.model.peer_msg_ns = peer;
		if (mode)
			c.model.msg_idle_curve = (struct ukf_sim_curve){
				2, { 99e6, 100e6 }, { 0, 3e6 } };
		memset(&o, 0, sizeof(o));
		s.u = &o;
		CHECK(world_sinks(&w, &c, &s,
				  "mem=8M init=1ms work=1ms image=1M",
				  NULL) == 0);
		ukf_ns_t t = 10 * UKF_MS;
		for (int i = 0; i < 9; i++) {
			w.ops->at(w.w, t, spawn_cb, &w, 0);
			t += mode == 2 && i >= 1 ? 20 * UKF_MS : UKF_S;
		}
		CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) ==
		      0);
		w.ops->destroy(&w.w);
		CHECKF(o.failed == 0 && o.n == 9, "mode %d: %d rows, %d failed",
		       mode, o.n, o.failed);
		int remote = 0, local = 0;
		for (int i = 0; i < o.n; i++) {
			if (o.r[i].start == UKF_START_TEMPLATE && o.r[i].fetched &&
			    mode < 2)
				fetched[mode] = o.r[i].disp;
			if (o.r[i].start != UKF_START_TEMPLATE || o.r[i].fetched)
				continue;
			ukf_ns_t want = !o.r[i].node ? 0
				      : peer + (mode == 1 ? wake : 0);
			CHECKF(o.r[i].disp == want && o.r[i].d == c.model.clone_base_ns,
			       "mode %d row %d on %d: placed -> start %lld ns, "
			       "want %lld; start -> READY %lld", mode, i,
			       o.r[i].node, (long long)o.r[i].disp,
			       (long long)want, (long long)o.r[i].d);
			remote += o.r[i].node == 1;
			local += o.r[i].node == 0;
		}
		CHECKF(remote >= 3 && local >= 3, "mode %d: %d remote, %d local",
		       mode, remote, local);
	}
	CHECKF(fetched[0] > 0 && fetched[1] - fetched[0] == wake,
	       "the fetching clone: placed -> start %lld ns, %lld without "
	       "the key", (long long)fetched[1], (long long)fetched[0]);
	return 0;
}

/*
 * delta_idle_curve: a remote fork's delta to a node idle for a spell
 * arrives the curve at the spell later, beside msg_idle_curve. Two nodes,
 * least-loaded, requests on node 0 a second apart, of app a (8 MiB,
 * forking once) twice and app b (no fork) once in turn, which puts a's
 * parents on both nodes: a parent started on node 0 sends its child to
 * node 1, idle ~1 s, whose placement -> start is 2 ms longer with the
 * curve (a step at 100 ms) than without, 2 + 3 ms with msg_idle_curve's 3
 * ms too; a parent started on node 1 sends it back to node 0, awake from
 * the placement's message: no change (as many children pay as parents
 * started on node 0). With delta_idle_since = activity that child pays
 * the 2 ms too (node 0 has run nothing for ~1 s): every child does. A
 * parent's own placement on node 1 (a template clone's message) pays
 * msg_idle_curve only.
 */
static int t_delta_idle(void)
{
	struct ukf_sim_config c;
	struct ukf_world w;
	struct ukf_world_sinks s = { .record = frec };
	struct fobs o;
	char err[256] = "";
	const ukf_ns_t dwake = 2 * UKF_MS, mwake = 3 * UKF_MS;
	ukf_ns_t fbase = -1, tbase = -1; /* mode 0: fork, a parent away */

	/* none, delta, delta + msg, delta since activity */
	for (int mode = 0; mode < 4; mode++) {
		config(&c);
		c.engine.nodes = 2;
		c.engine.placement = "least-loaded";
		c.link_latency_ns = 0;
		if (mode)
			c.model.delta_idle_curve = (struct ukf_sim_curve){
				2, { 99e6, 100e6 }, { 0, 2e6 } };
		if (mode == 2)
			c.model.msg_idle_curve = (struct ukf_sim_curve){
				2, { 99e6, 100e6 }, { 0, 3e6 } };
		if (mode == 3)
			c.model.delta_idle_since = UKF_SIM_SINCE_ACTIVITY;
		memset(&o, 0, sizeof(o));
		s.u = &o;
		CHECK(world_sinks(&w, &c, &s,
				  "mem=8M init=1ms work=20ms dirty=100 fork=1 "
				  "units=1 image=1M",
				  "mem=8M init=1ms work=1ms image=1M") == 0);
		for (int i = 0; i < 18; i++)
			w.ops->at(w.w, 10 * UKF_MS + i * UKF_S, spawn_cb, &w,
				  (uint64_t)(i % 3 == 2));
		CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) ==
		      0);
		w.ops->destroy(&w.w);
		CHECKF(o.failed == 0, "mode %d: %d failed", mode, o.failed);
		/* a's parents (template clones) on node 0 and 1; its remote
		 * children (no fetch) at the base and later */
		int par[2] = { 0, 0 }, plain = 0, later = 0, away = 0;
		for (int i = 0; i < o.n; i++) {
			if (o.r[i].fetched)
				continue;
			if (o.r[i].start == UKF_START_TEMPLATE && o.r[i].app == 0)
				par[o.r[i].node]++;
			if (o.r[i].start == UKF_START_TEMPLATE &&
			    o.r[i].app == 0 && o.r[i].remote) {
				away++;
				if (tbase < 0)
					tbase = o.r[i].disp;
				ukf_ns_t want = tbase + (mode == 2 ? mwake : 0);
				CHECKF(o.r[i].disp == want,
				       "mode %d: a parent on node 1: placed "
				       "-> start %lld, want %lld",
				       mode, (long long)o.r[i].disp,
				       (long long)want);
			}
			if (o.r[i].start != UKF_START_FORK || !o.r[i].remote)
				continue;
			if (fbase < 0) {
				CHECK(mode == 0);
				fbase = o.r[i].disp;
			}
			ukf_ns_t extra = mode ? dwake + (mode == 2 ? mwake : 0)
					      : 0;
			CHECKF(o.r[i].disp == fbase ||
				       (extra && o.r[i].disp == fbase + extra),
			       "mode %d: fork child %d on node %d: placed -> "
			       "start %lld ns, want %lld or + %lld",
			       mode, i, o.r[i].node, (long long)o.r[i].disp,
			       (long long)fbase, (long long)extra);
			later += o.r[i].disp != fbase;
			plain += o.r[i].disp == fbase;
		}
		CHECKF(par[0] >= 3 && par[1] >= 3 && away == par[1] &&
			       plain + later == par[0] + par[1] &&
			       later == (mode == 3 ? par[0] + par[1]
					 : mode    ? par[0]
						   : 0),
		       "mode %d: a's parents %d on node 0, %d on node 1; "
		       "children %d at the base, %d later; %d placed away",
		       mode, par[0], par[1], plain, later, away);
	}
	return 0;
}

/*
 * boot_idle_curve: a cold boot costs the curve at its node's spell times
 * the guest's memory more. One node, no templates, a 16 MiB app booted
 * at 2 s (2 s after the run began: the curve's last point, 0.001 ns a
 * byte: 16777 ns) and ~0.5 s after the first one ended (half of it);
 * against the same world without the key.
 */
static int t_boot_idle(void)
{
	struct ukf_sim_config c;
	struct ukf_world w;
	struct ukf_world_sinks s = { .record = frec };
	struct fobs o[2];
	char err[256] = "";

	for (int on = 0; on < 2; on++) {
		config(&c);
		c.engine.templates = "none";
		if (on)
			c.model.boot_idle_curve = (struct ukf_sim_curve){
				2, { 0, 1e9 }, { 0, 0.001 }
			};
		memset(&o[on], 0, sizeof(o[on]));
		s.u = &o[on];
		CHECK(world_sinks(&w, &c, &s, "mem=16M init=1ms work=1ms image=1M",
				  NULL) == 0);
		w.ops->at(w.w, 2 * UKF_S, spawn_cb, &w, 0);
		w.ops->at(w.w, 2500 * UKF_MS, spawn_cb, &w, 0);
		CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) ==
		      0);
		w.ops->destroy(&w.w);
		CHECK(o[on].n == 2 && o[on].failed == 0);
	}
	double full = 0.001 * 16 * 1048576;
	double d0 = (double)(o[1].r[0].d - o[0].r[0].d),
	       d1 = (double)(o[1].r[1].d - o[0].r[1].d);
	CHECKF(fabs(d0 - full) < 2 && d1 > 0.45 * full && d1 < 0.5 * full,
	       "extra %.0f ns and %.0f ns (want %.0f and just under half)",
	       d0, d1, full);
	return 0;
}

static const struct selftest tests[] = {
	{ "monitor_order", t_monitor_order },
	{ "agent_fifo", t_agent_fifo },
	{ "md1", t_md1 },
	{ "cow_memory", t_cow_memory },
	{ "fork_base", t_fork_base },
	{ "clone_first", t_clone_first },
	{ "clone_first_recover", t_clone_first_recover },
	{ "clone_first_failed", t_clone_first_failed },
	{ "host_keys", t_host_keys },
	{ "fetched_first", t_fetched_first },
	{ "idle_wake", t_idle_wake },
	{ "boot_idle", t_boot_idle },
	{ "msg_idle", t_msg_idle },
	{ "delta_idle", t_delta_idle },
};

int main(int argc, char **argv)
{
	return selftest_main_print(tests, SELFTEST_COUNT(tests), argc, argv);
}
