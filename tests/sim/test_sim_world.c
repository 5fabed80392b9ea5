/* SPDX-License-Identifier: MIT */
/* test_sim_world.c - self-tests of the simulated world driving the real engine. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/dir.h"
#include "core/engine.h"
#include "sim/sim_int.h"
#include "tests/common/selftest.h"
#include "tests/sim/simt.h"

/* What a run saw, through the world's sinks. */
struct obs {
	uint64_t log_hash;
	size_t log_lines;
	int print, quiet;
	size_t records, failed, exits, readies;
	size_t cold, tmpl, fork, remote;
	/* remote fork children: their deltas' bytes */
	uint64_t min_delta, max_delta;
	ukf_ns_t max_ready_lat, min_ready_lat;
	size_t samples;
	ukf_ns_t last_sample_t;
	uint32_t max_sampled_instances;
	int sampled_templates;
	struct ukf_world world;
	uint32_t app;
};

static uint64_t hstr(uint64_t h, const char *s)
{
	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

static void o_log(void *u, ukf_ns_t t, ukf_node_id_t node, const char *line)
{
	struct obs *o = u;
	char buf[64];
	snprintf(buf, sizeof(buf), "%lld %u ", (long long)t, node);
	o->log_hash = hstr(hstr(o->log_hash, buf), line);
	o->log_lines++;
	if (o->print)
		printf("%12lld n%u %s\n", (long long)t, node, line);
}

static void o_record(void *u, const struct ukf_record *r)
{
	struct obs *o = u;
	o->records++;
	if (r->status == UKF_STATUS_FAILED) {
		if (o->failed++ < 3 && !o->quiet)
			fprintf(stderr, "record %llu failed: %s\n",
			(unsigned long long)r->id,
			r->fail_reason ? r->fail_reason : "?");
		return;
	}
	if (r->start == UKF_START_COLD)
		o->cold++;
	else if (r->start == UKF_START_TEMPLATE)
		o->tmpl++;
	else if (r->start == UKF_START_FORK)
		o->fork++;
	o->remote += r->remote != 0;
	if (r->start == UKF_START_FORK && r->remote) {
		if (!o->min_delta || r->delta_bytes < o->min_delta)
			o->min_delta = r->delta_bytes;
		if (r->delta_bytes > o->max_delta)
			o->max_delta = r->delta_bytes;
	}
	if (r->t_ready != UKF_NS_NEVER && r->t_ready >= r->t_request) {
		ukf_ns_t l = r->t_ready - r->t_request;
		if (l > o->max_ready_lat)
			o->max_ready_lat = l;
		if (!o->min_ready_lat || l < o->min_ready_lat)
			o->min_ready_lat = l;
	}
}

static void o_ready(void *u, ukf_id_t id, uint64_t tag)
{
	((struct obs *)u)->readies++;
}

static void o_exit(void *u, ukf_id_t id, uint64_t tag, int64_t status)
{
	((struct obs *)u)->exits++;
}

static void o_sample(void *u, const struct ukf_world_sample *s)
{
	struct obs *o = u;
	o->samples++;
	o->last_sample_t = s->t;
	if (s->s.instances > o->max_sampled_instances)
		o->max_sampled_instances = s->s.instances;
	if (s->templates && *s->templates)
		o->sampled_templates = 1;
}

static struct ukf_world_sinks sinks_for(struct obs *o, int with_log)
{
	struct ukf_world_sinks s = {
		.record = o_record,
		.log = with_log ? o_log : NULL,
		.hooks = { .on_ready = o_ready, .on_exit = o_exit, .u = o },
		.u = o,
	};
	return s;
}

/* Workload callback: spawn one instance of o->app at node x. */
static void spawn_cb(void *arg, uint64_t x)
{
	struct obs *o = arg;
	ukf_id_t id;
	if (o->world.ops->spawn(o->world.w, (ukf_node_id_t)x, o->app, "", 0,
				&id) != 0)
		fprintf(stderr, "spawn refused\n");
}

/* Build a world with one app, start it and schedule `n` spawns 20 ms apart
 * on rotating nodes. */
static int setup(struct obs *o, struct ukf_sim_config *c, const char *app_kv,
		 int n, int with_log)
{
	if (getenv("UKF_SIM_TRACE")) {
		o->print = 1;
		with_log = 1;
	}
	struct ukf_world_sinks s = sinks_for(o, with_log);
	if (simt_start(&o->world, c, &s, o_sample, "fan", app_kv, &o->app))
		return -1;
	for (int i = 0; i < n; i++)
		o->world.ops->at(o->world.w, (ukf_ns_t)i * 20 * UKF_MS, spawn_cb, o,
				 (uint64_t)(i % c->engine.nodes));
	return 0;
}

static int run_all(struct obs *o)
{
	return simt_run(&o->world);
}

/* Bad configurations are refused with a message, no world made. */
static int t_bad_config(void)
{
	struct ukf_sim_config c;
	struct ukf_world w = { 0 };
	char err[256];
	struct obs o = { 0 };
	struct ukf_world_sinks s = sinks_for(&o, 0);

	ukf_sim_config_default(&c);
	c.engine.nodes = 0;
	CHECK(ukf_sim_create(&w, &c, &s, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "node"));
	CHECK(w.w == NULL);
	ukf_sim_config_default(&c);
	c.link_latency_ns = -1;
	CHECK(ukf_sim_create(&w, &c, &s, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "latency"));
	ukf_sim_config_default(&c);
	c.link_bandwidth_bps = 0;
	CHECK(ukf_sim_create(&w, &c, &s, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "bandwidth"));
	ukf_sim_config_default(&c);
	c.model.jitter = -0.5;
	CHECK(ukf_sim_create(&w, &c, &s, NULL, err, sizeof(err)) == -1);
	ukf_sim_config_default(&c);
	c.engine.placement = "no-such-policy";
	err[0] = 0;
	CHECK(ukf_sim_create(&w, &c, &s, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "no-such-policy"));
	/* Draws need a simulated world. */
	struct ukf_world notsim = { 0 };
	CHECK(!ukf_sim_is(&notsim));
	CHECK(isnan(ukf_sim_uniform(&notsim, 1)));
	return 0;
}

struct dirprobe {
	struct sim_world *w;
	ukf_node_id_t node;
	uint64_t seen_version[4];
	int n;
};

static void dir_probe(void *arg, uint64_t x)
{
	struct dirprobe *p = arg;
	const struct ukf_dir *d = p->w->env_ops.directory(p->w, 0);
	p->seen_version[p->n++] = ukf_dir_get(d, p->node)->version;
}

static void dir_publish(void *arg, uint64_t version)
{
	struct dirprobe *p = arg;
	struct ukf_dir_record r = { .node = p->node, .version = version,
				    .vcpus_total = 8, .vcpus_free = 3 };
	unsigned char buf[512];
	size_t len = ukf_dir_encode(&r, buf, sizeof(buf));
	p->w->env_ops.publish(p->w, p->node, buf, len);
}

/* A published record becomes visible exactly dir_delay later, not before. */
static int t_dir_staleness(void)
{
	struct ukf_sim_config c;
	struct obs o = { 0 };
	char err[256];
	struct ukf_world_sinks s = sinks_for(&o, 0);

	ukf_sim_config_default(&c);
	c.engine.nodes = 3;
	c.dir_delay_ns = 5 * UKF_MS;
	CHECK(ukf_sim_create(&o.world, &c, &s, NULL, err, sizeof(err)) == 0);
	CHECK(ukf_sim_is(&o.world));
	struct dirprobe p = { .w = o.world.w, .node = 2 };
	const struct ukf_world_ops *ops = o.world.ops;
	ops->at(o.world.w, 10 * UKF_MS, dir_publish, &p, 1000);
	ops->at(o.world.w, 15 * UKF_MS - 1, dir_probe, &p, 0);
	ops->at(o.world.w, 15 * UKF_MS + 1, dir_probe, &p, 0); /* after the apply */
	ops->at(o.world.w, 16 * UKF_MS, dir_publish, &p, 999); /* older: ignored */
	ops->at(o.world.w, 30 * UKF_MS, dir_probe, &p, 0);
	CHECK(ops->run(o.world.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	CHECK(p.n == 3);
	CHECK(p.seen_version[0] != 1000);
	CHECK(p.seen_version[1] == 1000);
	CHECK(p.seen_version[2] == 1000);
	CHECK(ops->now(o.world.w) == 30 * UKF_MS);
	ops->destroy(&o.world.w);
	CHECK(o.world.w == NULL);

	/* a delay past the clock's range (9.2e18 ns) is never: a record
	 * published at 1e17 ns is not applied (it wrapped around and was
	 * applied at once) */
	c.dir_delay_ns = 9200000000LL * UKF_S;
	CHECK(ukf_sim_create(&o.world, &c, &s, NULL, err, sizeof(err)) == 0);
	struct dirprobe q = { .w = o.world.w, .node = 2 };
	ops = o.world.ops;
	const ukf_ns_t t = 100000000LL * UKF_S;
	ops->at(o.world.w, t, dir_publish, &q, 1000);
	ops->at(o.world.w, t + UKF_S, dir_probe, &q, 0);
	CHECK(ops->run(o.world.w, t + 2 * UKF_S, NULL, err, sizeof(err)) == 0);
	CHECK(q.n == 1);
	CHECKF(q.seen_version[0] != 1000, "applied within a second");
	ops->destroy(&o.world.w);
	return 0;
}

/*
 * With dir_delay_p99 each record's delay is lognormal with median
 * dir_delay and that p99: N nodes publish once at t = 0; at the median
 * half of their records are visible, at the p99 99 % (each count within
 * 4 binomial standard deviations), and at twice the p99 more than 99.9 %.
 */
struct dircount {
	struct sim_world *w;
	uint32_t nodes;
	uint32_t seen[3];
	int n;
};

static void dir_count(void *arg, uint64_t x)
{
	struct dircount *p = arg;
	const struct ukf_dir *d = p->w->env_ops.directory(p->w, 0);
	uint32_t k = 0;
	(void)x;
	for (uint32_t i = 0; i < p->nodes; i++)
		k += ukf_dir_get(d, i)->version == 1;
	p->seen[p->n++] = k;
}

static void dir_publish_all(void *arg, uint64_t x)
{
	struct dircount *p = arg;
	(void)x;
	for (uint32_t i = 0; i < p->nodes; i++) {
		struct ukf_dir_record r = { .node = i, .version = 1,
					    .vcpus_total = 8, .vcpus_free = 8 };
		unsigned char buf[512];
		size_t len = ukf_dir_encode(&r, buf, sizeof(buf));
		p->w->env_ops.publish(p->w, i, buf, len);
	}
}

static int t_dir_lognormal(void)
{
	struct ukf_sim_config c;
	struct obs o = { 0 };
	char err[256];
	struct ukf_world_sinks s = sinks_for(&o, 0);
	const uint32_t N = 4000;

	ukf_sim_config_default(&c);
	c.engine.nodes = N;
	c.dir_delay_ns = 2 * UKF_MS;
	c.dir_delay_p99_ns = 10 * UKF_MS;
	CHECK(ukf_sim_create(&o.world, &c, &s, NULL, err, sizeof(err)) == 0);
	struct dircount p = { .w = o.world.w, .nodes = N };
	const struct ukf_world_ops *ops = o.world.ops;
	ops->at(o.world.w, 0, dir_publish_all, &p, 0);
	ops->at(o.world.w, 2 * UKF_MS, dir_count, &p, 0);
	ops->at(o.world.w, 10 * UKF_MS, dir_count, &p, 0);
	ops->at(o.world.w, 20 * UKF_MS, dir_count, &p, 0);
	CHECK(ops->run(o.world.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	CHECK(p.n == 3);
	double half = 0.5 * N, sd50 = sqrt(N * 0.25);
	double p99 = 0.99 * N, sd99 = sqrt(N * 0.99 * 0.01);
	CHECKF(fabs(p.seen[0] - half) <= 4 * sd50, "at the median %u of %u",
	       p.seen[0], N);
	CHECKF(fabs(p.seen[1] - p99) <= 4 * sd99, "at the p99 %u of %u",
	       p.seen[1], N);
	/* P(X > 2 p99) = Q(2.326 (1 + ln 2 / ln 5)) = 4e-5 */
	CHECKF(p.seen[2] >= N - N / 1000, "at twice the p99 %u of %u",
	       p.seen[2], N);
	ops->destroy(&o.world.w);
	return 0;
}

/* A tiny cluster through the engine: every request and child finishes with
 * status 0, nothing fails, and cold boots take boot + init. */
static int t_e2e(void)
{
	struct ukf_sim_config c;
	struct obs o = { 0 };

	ukf_sim_config_default(&c);
	c.engine.nodes = 3;
	c.engine.placement = "round-robin";
	c.model.jitter = 0;
	c.sample_every_ns = 10 * UKF_MS;
	CHECK(setup(&o, &c, "mem=64M init=50ms work=10ms dirty=256 fork=2", 6, 0) == 0);
	CHECK(run_all(&o) == 0);
	CHECK(o.world.ops->alive(o.world.w) == 0);
	CHECK(o.failed == 0);
	CHECK(o.records >= 18); /* 6 requests + 12 children (+ template makers) */
	CHECK(o.fork == 12);
	CHECK(o.exits >= 6);
	CHECK(o.cold >= 1);
	/* Cold boot: 2.3 ms + 2 MiB * 0.5 ns + 50 ms init, plus messages. */
	ukf_ns_t boot = 2300 * UKF_US + (2 << 20) / 2 + 50 * UKF_MS;
	CHECK(o.max_ready_lat >= boot);
	CHECK(o.max_ready_lat < boot + 100 * UKF_MS);
	CHECK(o.samples >= 3 * 10); /* 3 nodes, >= 10 periods */
	CHECK(o.samples % 3 == 0);  /* every node each time */
	CHECK(o.max_sampled_instances > 0);
	CHECK(o.sampled_templates); /* "fan" held somewhere */
	CHECK(o.last_sample_t <= o.world.ops->now(o.world.w));
	struct sim_world *w = o.world.w;
	CHECK(sim_be_instances(w->sbe) == 0);
	CHECK(sim_net_connections(w->net) == 0);
	printf("e2e: %zu records, %zu cold, %zu template, %zu fork, %zu remote, "
	       "ready latency %.3f..%.3f ms, %llu events, end t=%.3f ms\n",
	       o.records, o.cold, o.tmpl, o.fork, o.remote,
	       o.min_ready_lat / 1e6, o.max_ready_lat / 1e6,
	       (unsigned long long)o.world.ops->events(o.world.w),
	       o.world.ops->now(o.world.w) / 1e6);
	o.world.ops->destroy(&o.world.w);
	return 0;
}

/* Remote forks: children placed on other nodes ship a delta; the run
 * still completes, and some children ran remotely. */
static int t_e2e_remote(void)
{
	struct ukf_sim_config c;
	struct obs o = { 0 };

	ukf_sim_config_default(&c);
	c.engine.nodes = 4;
	c.engine.placement = "round-robin";
	CHECK(setup(&o, &c, "mem=32M init=20ms work=5ms dirty=512 fork=4 units=2", 4, 0) == 0);
	CHECK(run_all(&o) == 0);
	CHECK(o.failed == 0);
	CHECK(o.fork == 4 * 4 * 2);
	CHECK(o.remote > 0);
	struct sim_world *w = o.world.w;
	CHECK(sim_net_bytes(w->net) > 512 * 4096); /* at least one delta */
	CHECK(sim_be_instances(w->sbe) == 0);
	o.world.ops->destroy(&o.world.w);
	return 0;
}

/*
 * A remote fork's delta: the pages dirtied since the parent's template, or
 * with no template under the parent (templates "none": a cold boot) its
 * whole memory, as the KVM monitor ships a full image then (before
 * 2026-12-07: only the unit's dirty pages, 16 MiB parents shipping 40 KiB).
 */
static int t_delta_whole_image(void)
{
	for (int none = 0; none < 2; none++) {
		struct ukf_sim_config c;
		struct obs o = { 0 };

		ukf_sim_config_default(&c);
		c.engine.nodes = 2;
		c.engine.placement = "round-robin";
		c.engine.templates = none ? "none" : "on-demand";
		CHECK(setup(&o, &c, "mem=16M init=20ms work=5ms dirty=10 "
				    "fork=2 units=1",
			    1, 0) == 0);
		CHECK(run_all(&o) == 0);
		CHECK(o.failed == 0 && o.fork == 2 && o.remote >= 1);
		uint64_t want = none ? 16ULL << 20 : 10 * 4096;
		CHECKF(o.min_delta == want && o.max_delta == want,
		       "templates %s: remote deltas of %llu..%llu bytes, "
		       "want %llu",
		       c.engine.templates, (unsigned long long)o.min_delta,
		       (unsigned long long)o.max_delta,
		       (unsigned long long)want);
		o.world.ops->destroy(&o.world.w);
	}
	return 0;
}

struct costobs {
	int n;
	struct {
		enum ukf_start start;
		ukf_ns_t start_to_ready, ready_to_exit;
		uint64_t dirty;
	} r[8];
};

static void c_record(void *u, const struct ukf_record *r)
{
	struct costobs *c = u;
	if (c->n < 8 && r->status == 0) {
		c->r[c->n].start = r->start;
		c->r[c->n].start_to_ready = r->t_ready - r->t_start;
		c->r[c->n].ready_to_exit = r->t_exit - r->t_ready;
		c->r[c->n].dirty = r->dirty_pages;
		c->n++;
	}
}

static void spawn0_cb(void *arg, uint64_t app)
{
	struct ukf_world *w = arg;
	ukf_id_t id;
	w->ops->spawn(w->w, 0, (uint32_t)app, "", 0, &id);
}

/*
 * Create *w from c with sinks s, add the app "a" of spec as *a (its id 0)
 * and start the world: 0, or 1 after a failed CHECK (err may say why).
 */
static int start_one_app(struct ukf_world *w, const struct ukf_sim_config *c,
			 const struct ukf_world_sinks *s, struct ukf_app *a,
			 const char *spec, char *err, size_t errlen)
{
	CHECK(ukf_sim_create(w, c, s, NULL, err, errlen) == 0);
	CHECK(ukf_app_parse(a, "a", spec, err, errlen) == 0);
	CHECK(w->ops->add_app(w->w, a) == 0 && w->ops->start(w->w) == 0);
	return 0;
}
/* With jitter 0 the backend's times are exactly the model's: a cold boot
 * is boot_base + image * per_byte + init to READY, a template clone is
 * clone_base, and a clone's unit of work pays the first-touch faults. */
static int t_costs(void)
{
	struct ukf_sim_config c;
	struct costobs co = { 0 };
	struct ukf_world w;
	char err[256];
	struct ukf_world_sinks s = { .record = c_record, .u = &co };

	ukf_sim_config_default(&c);
	c.engine.nodes = 1;
	c.model.jitter = 0;
	struct ukf_app a;
	CHECK(start_one_app(&w, &c, &s, &a,
			    "mem=16M init=40ms work=3ms dirty=100 image=1M", err,
			    sizeof(err)) == 0);
	w.ops->at(w.w, 10 * UKF_MS, spawn0_cb, &w, 0);
	w.ops->at(w.w, 1 * UKF_S, spawn0_cb, &w, 0);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	CHECK(co.n == 2);
	const struct ukf_sim_model *m = &c.model;
	ukf_ns_t cold = m->boot_base_ns + (ukf_ns_t)((1 << 20) * m->boot_ns_per_byte) +
			40 * UKF_MS;
	CHECK(co.r[0].start == UKF_START_COLD);
	CHECK(co.r[0].start_to_ready == cold);
	CHECK(co.r[1].start == UKF_START_TEMPLATE);
	CHECK(co.r[1].start_to_ready == m->clone_base_ns);
	/* Work after ready: the original pays none (it may first wait for
	 * its template to be taken), the clone 100 first-touch faults. */
	ukf_ns_t tmpl = m->template_base_ns +
			(ukf_ns_t)((16 << 20) * m->template_ns_per_byte);
	CHECK(co.r[0].ready_to_exit == 3 * UKF_MS ||
	      co.r[0].ready_to_exit == 3 * UKF_MS + tmpl);
	CHECK(co.r[1].ready_to_exit == 3 * UKF_MS + 100 * m->touch_ns_per_page);
	CHECK(co.r[1].dirty == 100);
	w.ops->destroy(&w.w);
	return 0;
}

/* Records of a contention run: each ready-to-exit, and how many. */
struct contobs {
	int n, bad;
	ukf_ns_t min, max;
};

static void cont_record(void *u, const struct ukf_record *r)
{
	struct contobs *c = u;
	ukf_ns_t d = r->t_exit - r->t_ready;

	if (r->status != 0 || r->template_boot) {
		c->bad++;
		return;
	}
	if (c->n == 0 || d < c->min)
		c->min = d;
	if (c->n == 0 || d > c->max)
		c->max = d;
	c->n++;
}

/* 200 instances of 100 ms of work started together on one host: with
 * cores = 8 (the cpu.c model) they share the cores and all exit 200 *
 * 100 ms / 8 = 2.5 s after READY; with cores = 0 each runs alone (100 ms);
 * 8 instances on 8 cores are not slowed either. */
static int cont_run(uint32_t cores, uint32_t n, ukf_ns_t want)
{
	struct ukf_sim_config c;
	struct contobs co = { 0 };
	struct ukf_world w;
	char err[256];
	struct ukf_world_sinks s = { .record = cont_record, .u = &co };

	ukf_sim_config_default(&c);
	c.engine.nodes = 1;
	c.engine.node.vcpus = 1000;
	c.engine.templates = "none";
	c.model.jitter = 0;
	c.cores = cores;
	struct ukf_app a;
	CHECK(start_one_app(&w, &c, &s, &a, "mem=1M init=1ms work=100ms image=1M",
			    err, sizeof(err)) == 0);
	for (uint32_t i = 0; i < n; i++)
		w.ops->at(w.w, 10 * UKF_MS, spawn0_cb, &w, 0);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	fprintf(stderr, "cores %u, %u instances: ready to exit %lld..%lld ns\n",
		cores, n, (long long)co.min, (long long)co.max);
	CHECK(co.n == (int)n && co.bad == 0);
	CHECK(co.min == want && co.max == want);
	w.ops->destroy(&w.w);
	return 0;
}

static int t_cpu_contention(void)
{
	CHECK(cont_run(0, 200, 100 * UKF_MS) == 0);
	CHECK(cont_run(8, 200, 2500 * UKF_MS) == 0);
	CHECK(cont_run(8, 8, 100 * UKF_MS) == 0);
	CHECK(cont_run(8, 16, 200 * UKF_MS) == 0);
	return 0;
}

static void spawn1_cb(void *arg, uint64_t app)
{
	struct ukf_world *w = arg;
	ukf_id_t id;
	w->ops->spawn(w->w, 0, (uint32_t)app, "mem=64M", 0, &id);
}

/* boot_ns_per_mem_byte, exactly (jitter 0): a cold boot is READY at
 * boot_base + image * per_byte + max(init, mem * per_mem_byte) after it
 * starts - the memory touch overlaps init as in guest/apps/synth.c - and
 * the memory is the instance's own (spawn args may change mem=). */
static int t_cold_mem_cost(void)
{
	struct ukf_sim_config c;
	struct costobs co = { 0 };
	struct ukf_world w;
	char err[256];
	struct ukf_world_sinks s = { .record = c_record, .u = &co };

	ukf_sim_config_default(&c);
	c.engine.nodes = 1;
	c.engine.templates = "none";
	c.model.jitter = 0;
	c.model.boot_ns_per_mem_byte = 1.5;
	CHECK(ukf_sim_create(&w, &c, &s, NULL, err, sizeof(err)) == 0);
	struct ukf_app a, b;
	CHECK(ukf_app_parse(&a, "a", "mem=16M init=40ms work=1ms image=1M", err,
			    sizeof(err)) == 0);
	CHECK(ukf_app_parse(&b, "b", "mem=32M init=1ms work=1ms image=1M", err,
			    sizeof(err)) == 0);
	int ia = w.ops->add_app(w.w, &a), ib = w.ops->add_app(w.w, &b);
	CHECK(ia >= 0 && ib >= 0 && w.ops->start(w.w) == 0);
	w.ops->at(w.w, 10 * UKF_MS, spawn0_cb, &w, (uint64_t)ia);
	w.ops->at(w.w, 1 * UKF_S, spawn0_cb, &w, (uint64_t)ib);
	w.ops->at(w.w, 2 * UKF_S, spawn1_cb, &w, (uint64_t)ia);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	CHECK(co.n == 3);
	const struct ukf_sim_model *m = &c.model;
	ukf_ns_t boot = m->boot_base_ns +
			(ukf_ns_t)((1 << 20) * m->boot_ns_per_byte);
	for (int i = 0; i < 3; i++)
		CHECK(co.r[i].start == UKF_START_COLD);
	/* 16 MiB * 1.5 = 25.2 ms < init 40 ms: init decides */
	CHECK(co.r[0].start_to_ready == boot + 40 * UKF_MS);
	/* 32 MiB * 1.5 = 50.3 ms > init 1 ms: the touch decides */
	CHECK(co.r[1].start_to_ready == boot + (ukf_ns_t)((32 << 20) * 1.5));
	/* app a spawned with mem=64M: 100.7 ms > 40 ms */
	CHECK(co.r[2].start_to_ready == boot + (ukf_ns_t)((64 << 20) * 1.5));
	w.ops->destroy(&w.w);

	/* A negative per-byte cost is refused. */
	ukf_sim_config_default(&c);
	c.model.boot_ns_per_mem_byte = -1;
	CHECK(ukf_sim_create(&w, &c, &s, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "model costs must be >= 0"));
	return 0;
}

struct spreadobs {
	int n;
	double sum, sum2; /* of ln(start to ready) */
};

static void sp_record(void *u, const struct ukf_record *r)
{
	struct spreadobs *o = u;
	if (r->status == 0 && r->start == UKF_START_COLD) {
		double l = log((double)(r->t_ready - r->t_start));
		o->n++;
		o->sum += l;
		o->sum2 += l * l;
	}
}

/* A cold boot's start (boot_base_ns) and init (max(init, touch)) take one
 * draw of the boot's spread, so that whole boots spread as the calibration
 * fitted them (over their line). With the two halves equal, independent
 * draws gave ln's sd 0.3 / sqrt(2) ~ 0.21 for a sigma of 0.3 (these 400
 * boots: 0.204); one draw gives 0.3 (0.284) (the bounds are 3 standard errors
 * of the estimate). */
static int t_cold_one_draw(void)
{
	struct ukf_sim_config c;
	struct spreadobs o = { 0 };
	struct ukf_world w;
	char err[256];
	struct ukf_world_sinks s = { .record = sp_record, .u = &o };

	ukf_sim_config_default(&c);
	c.engine.nodes = 1;
	c.engine.templates = "none";
	c.model.jitter = 0.3;
	c.model.boot_base_ns = 20 * UKF_MS;
	c.model.boot_ns_per_byte = 0;
	c.model.boot_ns_per_mem_byte = 0;
	CHECK(ukf_sim_create(&w, &c, &s, NULL, err, sizeof(err)) == 0);
	struct ukf_app a;
	CHECK(ukf_app_parse(&a, "a", "mem=16M init=20ms work=1ms", err,
			    sizeof(err)) == 0);
	int ia = w.ops->add_app(w.w, &a);
	CHECK(ia >= 0 && w.ops->start(w.w) == 0);
	for (int i = 0; i < 400; i++)
		w.ops->at(w.w, (ukf_ns_t)(i + 1) * 200 * UKF_MS, spawn0_cb, &w,
			  (uint64_t)ia);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	w.ops->destroy(&w.w);
	CHECK(o.n == 400);
	double mean = o.sum / o.n;
	double sd = sqrt((o.sum2 - o.n * mean * mean) / (o.n - 1));
	printf("cold boots: ln(start to ready) sd %.4f (sigma 0.3)\n", sd);
	CHECK(sd > 0.3 - 3 * 0.3 / sqrt(2.0 * 400) &&
	      sd < 0.3 + 3 * 0.3 / sqrt(2.0 * 400));
	return 0;
}

struct statobs {
	int parents, children, parent_status, child_status;
};

static void s_record(void *u, const struct ukf_record *r)
{
	struct statobs *o = u;
	if (r->parent == 0) {
		o->parents++;
		o->parent_status = (int)r->status;
	} else {
		o->children++;
		o->child_status = (int)r->status;
	}
}

/* Like the real synth guest, the simulated one exits 1 when a fork failed
 * (here: the engine refuses the 2nd child with max_children = 1). */
static int t_fork_failure_status(void)
{
	struct ukf_sim_config c;
	struct statobs so = { 0 };
	struct ukf_world w;
	char err[256];
	struct ukf_world_sinks s = { .record = s_record, .u = &so };

	ukf_sim_config_default(&c);
	c.engine.nodes = 2;
	c.engine.max_children = 1;
	struct ukf_app a;
	CHECK(start_one_app(&w, &c, &s, &a, "mem=16M fork=2", err,
			    sizeof(err)) == 0);
	w.ops->at(w.w, 10 * UKF_MS, spawn0_cb, &w, 0);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	CHECK(so.parents == 1 && so.children == 1);
	CHECK(so.child_status == 0);
	CHECK(so.parent_status == 1);
	w.ops->destroy(&w.w);
	return 0;
}

static int one_run(uint64_t seed, uint32_t rep, uint64_t *hash, size_t *lines,
		   int print)
{
	struct ukf_sim_config c;
	struct obs o = { .print = print };

	ukf_sim_config_default(&c);
	c.engine.nodes = 4;
	c.engine.placement = "power-of-two";
	c.seed = seed;
	c.rep = rep;
	if (setup(&o, &c, "mem=64M init=30ms work=7ms dirty=300 fork=3", 8, 1))
		return -1;
	if (run_all(&o))
		return -1;
	*hash = o.log_hash;
	*lines = o.log_lines;
	o.world.ops->destroy(&o.world.w);
	return 0;
}

/* Same seed and rep: the same event log, line for line, with times. */
static int t_same_seed_world(void)
{
	uint64_t h1, h2, h3;
	size_t n1, n2, n3;
	CHECK(one_run(5, 0, &h1, &n1, 0) == 0);
	CHECK(one_run(5, 0, &h2, &n2, 0) == 0);
	CHECK(n1 > 20);
	CHECK(n1 == n2 && h1 == h2);
	CHECK(one_run(6, 0, &h3, &n3, 0) == 0);
	CHECK(h3 != h1); /* jitter and placement draw from other streams */
	return 0;
}

/* run(until) stops at `until` with the clock there, and can resume. */
static int t_run_until(void)
{
	struct ukf_sim_config c;
	struct obs o = { 0 };
	char err[256];

	ukf_sim_config_default(&c);
	c.engine.nodes = 2;
	CHECK(setup(&o, &c, "mem=16M init=10ms work=1ms", 3, 0) == 0);
	const struct ukf_world_ops *ops = o.world.ops;
	CHECK(ops->run(o.world.w, 5 * UKF_MS, NULL, err, sizeof(err)) == 0);
	CHECK(ops->now(o.world.w) == 5 * UKF_MS);
	uint64_t ev = ops->events(o.world.w);
	CHECK(ev > 0);
	volatile int stop = 1;
	CHECK(ops->run(o.world.w, UKF_NS_NEVER, &stop, err, sizeof(err)) == 0);
	CHECK(ops->events(o.world.w) == ev); /* stop honoured at once */
	CHECK(run_all(&o) == 0);
	CHECK(o.exits == 3);
	CHECK(ops->at(o.world.w, 0, NULL, NULL, 0) == -EINVAL);
	ops->destroy(&o.world.w);
	return 0;
}

/* Backend refusals: bad ids and missing templates. */
static int t_backend_refusals(void)
{
	struct ukf_sim_config c;
	struct obs o = { 0 };
	char err[256];
	struct ukf_world_sinks s = sinks_for(&o, 0);

	ukf_sim_config_default(&c);
	c.engine.nodes = 2;
	CHECK(ukf_sim_create(&o.world, &c, &s, NULL, err, sizeof(err)) == 0);
	struct sim_world *w = o.world.w;
	const struct ukf_backend_ops *b = w->be.ops;
	struct ukf_app a;
	CHECK(ukf_app_parse(&a, "x", "", err, sizeof(err)) == 0);
	a.id = 0;
	CHECK(b->clone_template(w->be.b, 0, 77, &a, "") == -ENOENT);
	CHECK(b->cold_boot(w->be.b, 9, 77, &a, "") == -EINVAL);
	CHECK(b->cold_boot(w->be.b, 0, 0, &a, "") == -EINVAL);
	CHECK(b->cold_boot(w->be.b, 0, 77, &a, "bogus=1") == -EINVAL);
	CHECK(b->cold_boot(w->be.b, 0, 77, &a, "work=1ms") == 0);
	CHECK(b->cold_boot(w->be.b, 0, 77, &a, "") == -EEXIST);
	CHECK(b->complete(w->be.b, 0, 77, 0, 0, 0, NULL, 0) == -ESRCH); /* not paused */
	CHECK(b->complete(w->be.b, 0, 78, 0, 0, 0, NULL, 0) == -ESRCH);
	CHECK(b->clone_live(w->be.b, 0, 79, 12345) == -ESRCH);
	CHECK(b->save_delta(w->be.b, 0, 12345) == -ESRCH);
	CHECK(b->restore_delta(w->be.b, 1, 80, 0, "junk", 4, 4096) == -EINVAL);
	CHECK(b->make_template(w->be.b, 0, 12345, 0) == -ESRCH);
	b->destroy(w->be.b, 0, 77);
	b->destroy(w->be.b, 0, 77); /* twice: harmless */
	CHECK(sim_be_instances(w->sbe) == 0);
	o.world.ops->destroy(&o.world.w);
	return 0;
}

/* Log lines through the world's log sink (for backend-level tests). */
struct logs {
	char line[32][160];
	int n;
};

static void l_log(void *u, ukf_ns_t t, ukf_node_id_t node, const char *line)
{
	struct logs *l = u;
	(void)t;
	(void)node;
	if (l->n < 32)
		snprintf(l->line[l->n++], sizeof(l->line[0]), "%s", line);
}

static int logged(const struct logs *l, const char *s)
{
	for (int i = 0; i < l->n; i++)
		if (strstr(l->line[i], s))
			return 1;
	return 0;
}

/*
 * The template ops of the "sim" backend: refusals of bad arguments, and
 * once the engine made a template of a 24 MiB app on node 0, export names
 * its modeled size (no bytes) and template_info describes a modeled size
 * (and refuses bytes: a simulated template has none).
 */
static int t_backend_templates(void)
{
	struct ukf_sim_config c;
	struct ukf_world w;
	char err[256];
	struct logs lg = { 0 };
	struct ukf_world_sinks s = { .log = l_log, .u = &lg };

	ukf_sim_config_default(&c);
	c.engine.nodes = 2;
	struct ukf_app a;
	CHECK(start_one_app(&w, &c, &s, &a, "mem=24M init=5ms work=1ms", err,
			    sizeof(err)) == 0);
	a.id = 0;
	w.ops->at(w.w, 0, spawn0_cb, &w, 0);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	struct sim_world *sw = w.w;
	const struct ukf_backend_ops *b = sw->be.ops;
	void *data = (void *)1;
	size_t len = 1;
	uint64_t bytes = 1;

	CHECK(b->export_template(sw->be.b, 0, 0, &data, &len, &bytes) == 0);
	CHECK(data == NULL && len == 0 && bytes == 24ULL << 20);
	CHECK(b->export_template(sw->be.b, 1, 0, &data, &len, &bytes) == -ENOENT);
	CHECK(bytes == 0);
	CHECK(b->export_template(sw->be.b, 7, 0, &data, &len, &bytes) == -EINVAL);
	CHECK(b->export_template(sw->be.b, 0, 0, NULL, &len, &bytes) == -EINVAL);

	struct ukf_template_info info;
	CHECK(b->template_info(sw->be.b, &a, NULL, 24 << 20, &info, err,
			       sizeof(err)) == 0);
	CHECK(info.bytes == 24 << 20 && info.mem_bytes == 24 << 20);
	CHECK(!info.has_image && info.app_name[0] == 0);
	err[0] = 0;
	CHECK(b->template_info(sw->be.b, &a, "x", 1, &info, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(strstr(err, "no bytes"));
	CHECK(b->template_info(sw->be.b, &a, NULL, 1, NULL, err, sizeof(err)) ==
	      -EINVAL);

	/* Refusals: a bad node, no app, another app's delta, no template. */
	CHECK(b->load_template(sw->be.b, 5, 0, NULL, 100) == -EINVAL);
	CHECK(b->clone_template(sw->be.b, 0, 90, NULL, "") == -EINVAL);
	CHECK(b->clone_template(sw->be.b, 5, 90, &a, "") == -EINVAL);
	CHECK(b->cold_boot(sw->be.b, 0, 90, NULL, "") == -EINVAL);
	CHECK(b->make_template(sw->be.b, 5, 90, 0) == -ESRCH);
	/* save_delta hands its delta out in a DELTA event (kind 8) */
	CHECK(b->cold_boot(sw->be.b, 0, 91, &a, "") == 0);
	CHECK(b->save_delta(sw->be.b, 0, 91) == 0);
	/* a delta laid out as sim/backend.c's struct delta: magic, app,
	 * child identity, dirty pages, work, dirty per unit, memory pages */
	struct {
		uint32_t magic, app;
		uint64_t words[5];
	} d;
	lg.n = 0;
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	CHECK(logged(&lg, "drop backend event 8: no instance 91"));
	memset(&d, 0, sizeof(d));
	d.magic = 0x31445355u;
	d.app = 0;
	CHECK(b->restore_delta(sw->be.b, 5, 92, 0, &d, sizeof(d), 0) == -EINVAL);
	CHECK(b->restore_delta(sw->be.b, 1, 92, 0, &d, sizeof(d), 0) == -ENOENT);
	CHECK(b->restore_delta(sw->be.b, 0, 92, 1, &d, sizeof(d), 0) == -EINVAL);
	CHECK(b->restore_delta(sw->be.b, 0, 92, 0, NULL, sizeof(d), 0) == -EINVAL);
	CHECK(b->restore_delta(sw->be.b, 0, 92, 0, &d, sizeof(d), 0) == 0);
	CHECK(b->restore_delta(sw->be.b, 0, 92, 0, &d, sizeof(d), 0) == -EEXIST);
	b->destroy(sw->be.b, 0, 91);
	b->destroy(sw->be.b, 0, 92);
	CHECK(sim_be_instances(sw->sbe) == 0);
	w.ops->destroy(&w.w);
	return 0;
}

/*
 * A fork child completed before its STARTED was delivered (the engine
 * answered at once) resumes as soon as it exists: it does its unit and
 * exits without waiting for another complete(). Completed twice early, or
 * when not starting, it is no paused instance (-ESRCH).
 */
static int t_backend_resume_early(void)
{
	struct ukf_sim_config c;
	struct ukf_world w;
	char err[256];
	struct logs lg = { 0 };
	struct ukf_world_sinks s = { .log = l_log, .u = &lg };

	ukf_sim_config_default(&c);
	c.engine.nodes = 1;
	struct ukf_app a;
	CHECK(start_one_app(&w, &c, &s, &a, "mem=8M init=1ms work=2ms", err,
			    sizeof(err)) == 0);
	a.id = 0;
	struct sim_world *sw = w.w;
	const struct ukf_backend_ops *b = sw->be.ops;
	/* instances the engine does not know: their events are dropped
	 * with a log line naming the kind (5: EXIT) */
	CHECK(b->cold_boot(sw->be.b, 0, 70, &a, "") == 0);
	CHECK(b->clone_live(sw->be.b, 0, 71, 70) == 0);
	CHECK(b->complete(sw->be.b, 0, 71, 0, 0, 0, NULL, 0) == 0);
	CHECK(b->complete(sw->be.b, 0, 71, 0, 0, 0, NULL, 0) == -ESRCH);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	CHECK(logged(&lg, "drop backend event 5: no instance 71"));
	CHECK(!logged(&lg, "drop backend event 5: no instance 70")); /* paused in ready */
	b->destroy(sw->be.b, 0, 70);
	b->destroy(sw->be.b, 0, 71);
	w.ops->destroy(&w.w);
	return 0;
}

/*
 * One id on several nodes (a request running on behind a link cut while
 * its origin places it again elsewhere): the backend keys instances by
 * node and id, so each node may hold one of that id, each is completed,
 * counted and destroyed on its own node only, and freeing the first,
 * a middle or the last of them leaves the others found. Before
 * 2026-12-06 the second start was refused with -EEXIST.
 */
static int t_backend_twins(void)
{
	struct ukf_sim_config c;
	struct ukf_world w;
	char err[256];
	struct logs lg = { 0 };
	struct ukf_world_sinks s = { .log = l_log, .u = &lg };
	const uint64_t mib8 = 8ULL << 20;

	ukf_sim_config_default(&c);
	c.engine.nodes = 4;
	struct ukf_app a;
	CHECK(start_one_app(&w, &c, &s, &a, "mem=8M init=1ms work=2ms", err,
			    sizeof(err)) == 0);
	a.id = 0;
	struct sim_world *sw = w.w;
	const struct ukf_backend_ops *b = sw->be.ops;
	void *bb = sw->be.b;
	CHECK(b->cold_boot(bb, 0, 70, &a, "") == 0);
	CHECK(b->cold_boot(bb, 1, 70, &a, "") == 0);
	CHECK(b->cold_boot(bb, 2, 70, &a, "") == 0);
	CHECK(b->cold_boot(bb, 1, 70, &a, "") == -EEXIST); /* node 1 has it */
	CHECK(sim_be_instances(sw->sbe) == 3);
	for (ukf_node_id_t n = 0; n < 3; n++)
		CHECK(sim_be_mem_used(sw->sbe, n) == mib8);
	CHECK(sim_be_mem_used(sw->sbe, 3) == 0);
	/* each reaches ready, paused, on its own node (the engine knows
	 * none of them: their events are dropped) */
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	CHECK(b->complete(bb, 3, 70, 0, 0, 0, NULL, 0) == -ESRCH);
	CHECK(b->complete(bb, 1, 70, 0, 0, 0, NULL, 0) == 0);
	CHECK(b->complete(bb, 1, 70, 0, 0, 0, NULL, 0) == -ESRCH); /* resumed */
	CHECK(b->make_template(bb, 3, 70, 0) == -ESRCH);
	CHECK(b->make_template(bb, 2, 70, 0) == 0); /* node 2's copy */
	/* the one in the middle of the chain, then the first, then the last */
	b->destroy(bb, 3, 70); /* none there: nothing */
	CHECK(sim_be_instances(sw->sbe) == 3);
	b->destroy(bb, 1, 70);
	CHECK(sim_be_instances(sw->sbe) == 2);
	CHECK(sim_be_mem_used(sw->sbe, 1) == 0);
	CHECK(b->complete(bb, 0, 70, 0, 0, 0, NULL, 0) == 0);
	b->destroy(bb, 0, 70);
	CHECK(sim_be_node_of(sw->sbe, 70) == 2);
	CHECK(b->complete(bb, 0, 70, 0, 0, 0, NULL, 0) == -ESRCH);
	CHECK(b->complete(bb, 2, 70, 0, 0, 0, NULL, 0) == 0);
	CHECK(b->cold_boot(bb, 0, 70, &a, "") == 0); /* node 0 may again */
	b->destroy(bb, 2, 70);
	CHECK(sim_be_node_of(sw->sbe, 70) == 0);
	b->destroy(bb, 0, 70);
	CHECK(sim_be_node_of(sw->sbe, 70) == UKF_NODE_NONE);
	CHECK(sim_be_instances(sw->sbe) == 0);
	for (ukf_node_id_t n = 0; n < 3; n++)
		CHECK(sim_be_mem_used(sw->sbe, n) == (n == 2 ? mib8 : 0));
	w.ops->destroy(&w.w);
	return 0;
}

/*
 * units=0: an instance exits 0 as soon as it is released from ready().
 * A unit dirtying more pages than the instance has counts its memory
 * (the record's dirty_pages), not more.
 */
static int t_backend_units_dirty(void)
{
	struct ukf_sim_config c;
	struct costobs co = { 0 };
	struct ukf_world w;
	char err[256];
	struct ukf_world_sinks s = { .record = c_record, .u = &co };

	ukf_sim_config_default(&c);
	c.engine.nodes = 1;
	c.engine.templates = "none";
	c.model.jitter = 0;
	CHECK(ukf_sim_create(&w, &c, &s, NULL, err, sizeof(err)) == 0);
	struct ukf_app a, b2;
	CHECK(ukf_app_parse(&a, "a", "mem=8M init=3ms work=5ms units=0", err,
			    sizeof(err)) == 0);
	CHECK(ukf_app_parse(&b2, "b", "mem=1M init=1ms work=1ms dirty=1000 units=2",
			    err, sizeof(err)) == 0);
	int ia = w.ops->add_app(w.w, &a), ib = w.ops->add_app(w.w, &b2);
	CHECK(ia == 0 && ib == 1 && w.ops->start(w.w) == 0);
	w.ops->at(w.w, 0, spawn0_cb, &w, (uint64_t)ia);
	w.ops->at(w.w, 100 * UKF_MS, spawn0_cb, &w, (uint64_t)ib);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	CHECK(co.n == 2);
	CHECK(co.r[0].ready_to_exit == 0);
	CHECK(co.r[1].ready_to_exit == 2 * UKF_MS);
	CHECK(co.r[1].dirty == 256); /* 1 MiB of 4 KiB pages */
	w.ops->destroy(&w.w);
	return 0;
}

/*
 * The world ops the scenario runner uses beside spawn: node count, node
 * stats and templates (by node, an unknown node refused), fork and kill
 * of unknown ids, start once, spawn from an unknown node, and the keyed
 * exponential stream; and the configurations create refuses.
 */
static int t_world_ops(void)
{
	struct ukf_sim_config c;
	struct ukf_world w = { 0 };
	char err[256], buf[256];
	struct costobs co = { 0 };
	struct ukf_world_sinks s = { .record = c_record, .u = &co };

	ukf_sim_config_default(&c);
	c.engine.nodes = 3;
	c.engine.node.vcpus = 4;
	c.engine.placement = "local";
	CHECK(ukf_sim_create(&w, &c, &s, NULL, err, sizeof(err)) == 0);
	const struct ukf_world_ops *ops = w.ops;
	struct ukf_app a;
	CHECK(ukf_app_parse(&a, "web", "mem=8M init=1ms work=1s", err,
			    sizeof(err)) == 0);
	CHECK(ops->add_app(w.w, &a) == 0 && ops->start(w.w) == 0);
	CHECK(ops->start(w.w) == -EINVAL);          /* once */
	CHECK(ops->add_app(w.w, &a) < 0);           /* not after start */
	CHECK(ops->nodes(w.w) == 3);
	ukf_id_t id = 0;
	CHECK(ops->spawn(w.w, 3, 0, "", 0, &id) == -EINVAL);
	CHECK(ops->spawn(w.w, 2, 0, "", 0, &id) == 0 && id > 0);
	CHECK(ops->run(w.w, 100 * UKF_MS, NULL, err, sizeof(err)) == 0);
	struct ukf_node_stats st;
	CHECK(ops->node_stats(w.w, 2, &st) == 0);
	CHECK(st.instances == 1 && st.vcpus == 4 && st.vcpus_used == 1);
	CHECK(ops->node_stats(w.w, 0, &st) == 0 && st.instances == 0);
	CHECK(ops->node_stats(w.w, 3, &st) == -EINVAL);
	CHECK(ops->node_templates(w.w, 2, buf, sizeof(buf)) > 0);
	CHECK(strstr(buf, "web"));
	strcpy(buf, "x");
	CHECK(ops->node_templates(w.w, 9, buf, sizeof(buf)) == 0 && !buf[0]);
	CHECK(ops->node_templates(w.w, 9, NULL, 0) == 0);
	ukf_id_t child;
	CHECK(ops->fork(w.w, 12345, 0, &child) == -ESRCH);
	CHECK(ops->kill(w.w, 12345) == -ESRCH);
	CHECK(ops->alive(w.w) == 1);
	CHECK(ops->kill(w.w, id) == 0);
	CHECK(ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	CHECK(ops->alive(w.w) == 0);
	/* the keyed exponential stream: positive, the same for one key and
	 * seed, and refused for a negative mean or a world not simulated */
	double x1 = ukf_sim_exponential(&w, UKF_RNG_KEY(UKF_RNG_ARRIVALS, 3), 2.0);
	CHECK(x1 > 0 && isfinite(x1));
	CHECK(isnan(ukf_sim_exponential(&w, 1, -1)));
	struct ukf_world notsim = { 0 };
	CHECK(isnan(ukf_sim_exponential(&notsim, 1, 1)));
	ops->destroy(&w.w);
	CHECK(ukf_sim_create(&w, &c, &s, NULL, err, sizeof(err)) == 0);
	CHECK(ukf_sim_exponential(&w, UKF_RNG_KEY(UKF_RNG_ARRIVALS, 3), 2.0) == x1);
	w.ops->destroy(&w.w);

	/* refused configurations, each with its message */
	CHECK(ukf_sim_create(NULL, &c, &s, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "no world or configuration"));
	ukf_sim_config_default(&c);
	c.dir_delay_ns = 5 * UKF_MS;
	c.dir_delay_p99_ns = 4 * UKF_MS;
	CHECK(ukf_sim_create(&w, &c, &s, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "below its median"));
	ukf_sim_config_default(&c);
	c.sample_every_ns = -1;
	CHECK(ukf_sim_create(&w, &c, &s, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "negative directory delay or sample period"));
	return 0;
}

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Whole-world throughput: many nodes, many forking requests. */
static int bench(int nodes, int requests, const char *placement)
{
	struct ukf_sim_config c;
	struct obs o = { .quiet = 1 };
	char err[256];

	ukf_sim_config_default(&c);
	c.engine.nodes = (uint32_t)nodes;
	c.engine.placement = placement;
	/* Each node boots its own template: with peer fetch, ~all nodes fetch
	 * from the first holder at once and share its uplink (see README). */
	c.engine.fetch = UKF_FETCH_COLD;
	/* UKF_SIM_CORES=N: host CPU contention on N cores per host (cpu.c) */
	if (getenv("UKF_SIM_CORES"))
		c.cores = (uint32_t)atoi(getenv("UKF_SIM_CORES"));
	o.print = getenv("UKF_SIM_TRACE") != NULL;
	struct ukf_world_sinks s = sinks_for(&o, o.print);
	if (ukf_sim_create(&o.world, &c, &s, NULL, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct ukf_app a;
	ukf_app_parse(&a, "fan", "mem=64M init=50ms work=10ms dirty=256 fork=2", err,
		      sizeof(err));
	o.app = (uint32_t)o.world.ops->add_app(o.world.w, &a);
	o.world.ops->start(o.world.w);
	sim_rng_t *r = sim_rng_create(1, 0);
	double t = 0;
	double mean_gap = 1e9 / (nodes * 0.5); /* ~0.5 requests/s per node */
	for (int i = 0; i < requests; i++) {
		t += sim_rng_exponential(r, 1, mean_gap);
		o.world.ops->at(o.world.w, (ukf_ns_t)t, spawn_cb, &o,
				(uint64_t)(sim_mix64((uint64_t)i) % (uint64_t)nodes));
	}
	sim_rng_destroy(&r);
	double t0 = wall();
	if (run_all(&o))
		return 1;
	double dt = wall() - t0;
	uint64_t ev = o.world.ops->events(o.world.w);
	printf("world: %s, %u cores, %d nodes, %d requests (fork=2): %llu events in %.2f s = "
	       "%.2f M events/s; %zu records, %zu failed, %llu alive, sim time %.1f s\n",
	       placement, c.cores, nodes, requests, (unsigned long long)ev, dt, ev / dt / 1e6,
	       o.records, o.failed, (unsigned long long)o.world.ops->alive(o.world.w),
	       o.world.ops->now(o.world.w) / 1e9);
	o.world.ops->destroy(&o.world.w);
	return 0;
}

static int t_trace(void)
{
	uint64_t h;
	size_t n;
	return one_run(5, 0, &h, &n, 1) ? 1 : 0;
}

static const struct selftest tests[] = {
	{ "bad_config", t_bad_config },
	{ "dir_staleness", t_dir_staleness },
	{ "dir_lognormal", t_dir_lognormal },
	{ "e2e", t_e2e },
	{ "e2e_remote", t_e2e_remote },
	{ "delta_whole_image", t_delta_whole_image },
	{ "same_seed_world", t_same_seed_world },
	{ "run_until", t_run_until },
	{ "backend_refusals", t_backend_refusals },
	{ "costs", t_costs },
	{ "cpu_contention", t_cpu_contention },
	{ "cold_mem_cost", t_cold_mem_cost },
	{ "cold_one_draw", t_cold_one_draw },
	{ "fork_failure_status", t_fork_failure_status },
	{ "backend_templates", t_backend_templates },
	{ "backend_resume_early", t_backend_resume_early },
	{ "backend_twins", t_backend_twins },
	{ "backend_units_dirty", t_backend_units_dirty },
	{ "world_ops", t_world_ops },
};

int main(int argc, char **argv)
{
	int rc;

	if (selftest_dispatch_print(tests, SELFTEST_COUNT(tests), argc, argv,
				    &rc))
		return rc;
	if (argc == 2 && !strcmp(argv[1], "--trace"))
		return t_trace();
	if (argc >= 2 && !strcmp(argv[1], "--bench")) {
		int nodes = argc > 2 ? atoi(argv[2]) : 1000;
		int reqs = argc > 3 ? atoi(argv[3]) : 100000;
		if (nodes <= 0 || reqs <= 0) {
			fprintf(stderr, "--bench [NODES [REQUESTS [PLACEMENT]]]: positive numbers\n");
			return 2;
		}
		return bench(nodes, reqs, argc > 4 ? argv[4] : "least-loaded");
	}
	fprintf(stderr, "usage: %s [--list | --run NAME | --trace | --bench [NODES [REQUESTS [PLACEMENT]]]]\n",
		argv[0]);
	return 2;
}
