/* SPDX-License-Identifier: MIT */
/* live.c - the live world: real clock, one-thread event loop, KVM backend. */
#define _GNU_SOURCE
#include "live.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../backends/kvm/ukvm.h"
#include "../core/dir.h"
#include "evq.h"

/* With nothing alive, engine timers further ahead than this are stale. */
#define LW_IDLE_HORIZON (1 * UKF_S)

enum lw_kind { LW_AT = 1, LW_TIMER = 2, LW_MSG = 3, LW_SAMPLE = 4 };

struct lw_ev {
	ukf_ns_t t;
	uint64_t seq; /* equal times run in scheduling order */
	enum lw_kind kind;
	union {
		struct {
			ukf_world_fn fn;
			void *arg;
			uint64_t x;
		} at;
		struct {
			ukf_node_id_t node;
			uint64_t cookie;
		} timer;
		struct {
			ukf_node_id_t from, to;
			void *buf;
			size_t len;
		} msg;
	} u;
};

struct live_world {
	struct ukf_live_config cfg;
	struct ukf_world_sinks sinks;
	ukf_ns_t t0; /* CLOCK_MONOTONIC at creation = world time 0 */
	ukvm_t *vm;
	struct ukf_backend be;
	struct ukf_env env;
	ukf_engine_t *eng;
	ukf_dir_t *dir;
	ukf_evq_t *q;
	struct lw_ev *heap;
	size_t n, cap;
	uint64_t seq;
	size_t keepalive; /* LW_AT and LW_MSG entries in the heap */
	uint64_t events;
	uint64_t rng_ctr;
	int in_run;
	void (*sample)(void *u, const struct ukf_sim_sample *s);
	int sampling; /* an LW_SAMPLE entry is in the heap */
};

static ukf_ns_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ukf_ns_t)ts.tv_sec * UKF_S + ts.tv_nsec;
}

static ukf_ns_t lw_now(void *wp)
{
	const struct live_world *w = wp;

	return mono_ns() - w->t0;
}

/* ---- timer heap: min on (t, seq) ---- */

static int lw_less(const struct lw_ev *a, const struct lw_ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static int lw_push(struct live_world *w, struct lw_ev *e)
{
	size_t i;

	if (w->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 64;
		struct lw_ev *nh = realloc(w->heap, nc * sizeof(*nh));

		if (!nh)
			return -ENOMEM;
		w->heap = nh;
		w->cap = nc;
	}
	e->seq = w->seq++;
	i = w->n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!lw_less(e, &w->heap[p]))
			break;
		w->heap[i] = w->heap[p];
		i = p;
	}
	w->heap[i] = *e;
	if (e->kind == LW_AT || e->kind == LW_MSG)
		w->keepalive++;
	return 0;
}

static void lw_pop(struct live_world *w, struct lw_ev *out)
{
	struct lw_ev last;
	size_t i = 0;

	*out = w->heap[0];
	last = w->heap[--w->n];
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= w->n)
			break;
		if (c + 1 < w->n && lw_less(&w->heap[c + 1], &w->heap[c]))
			c++;
		if (!lw_less(&w->heap[c], &last))
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->n)
		w->heap[i] = last;
	if (out->kind == LW_AT || out->kind == LW_MSG)
		w->keepalive--;
}

/* ---- env ---- */

static int lw_timer(void *wp, ukf_node_id_t node, ukf_ns_t at, uint64_t cookie)
{
	struct live_world *w = wp;
	struct lw_ev e = { .t = at, .kind = LW_TIMER };

	e.u.timer.node = node;
	e.u.timer.cookie = cookie;
	return lw_push(w, &e);
}

static int lw_send(void *wp, ukf_node_id_t from, ukf_node_id_t to,
		   const void *buf, size_t len, uint64_t bulk_bytes)
{
	struct live_world *w = wp;
	struct lw_ev e = { .t = lw_now(w), .kind = LW_MSG };
	int r;

	(void)bulk_bytes;
	if (to != 0 || from != 0)
		return -EHOSTUNREACH; /* the embedded world has node 0 only */
	e.u.msg.from = from;
	e.u.msg.to = to;
	e.u.msg.len = len;
	e.u.msg.buf = malloc(len ? len : 1);
	if (!e.u.msg.buf)
		return -ENOMEM;
	memcpy(e.u.msg.buf, buf, len);
	r = lw_push(w, &e);
	if (r < 0)
		free(e.u.msg.buf);
	return r;
}

static double lw_uniform(void *wp, uint64_t key)
{
	struct live_world *w = wp;
	/* splitmix64 over (key, counter): live runs are not reproducible */
	uint64_t z = key * 0x9e3779b97f4a7c15ULL + ++w->rng_ctr +
		     (uint64_t)w->t0;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

static const struct ukf_dir *lw_directory(void *wp, ukf_node_id_t node)
{
	struct live_world *w = wp;

	(void)node;
	return w->dir;
}

static void lw_publish(void *wp, ukf_node_id_t node, const void *rec,
		       size_t len)
{
	struct live_world *w = wp;

	(void)node;
	if (ukf_dir_apply(w->dir, rec, len) < 0 && w->sinks.log)
		w->sinks.log(w->sinks.u, lw_now(w), node,
			     "live: bad directory record dropped");
}

static void lw_record(void *wp, const struct ukf_record *r)
{
	struct live_world *w = wp;

	if (w->sinks.record)
		w->sinks.record(w->sinks.u, r);
}

static void lw_log(void *wp, ukf_node_id_t node, const char *line)
{
	struct live_world *w = wp;

	if (w->sinks.log)
		w->sinks.log(w->sinks.u, lw_now(w), node, line);
}

/* Two tables: the engine skips log formatting when log is NULL. */
static const struct ukf_env_ops lw_env_ops_log = {
	.now = lw_now, .timer = lw_timer, .send = lw_send,
	.uniform = lw_uniform, .directory = lw_directory,
	.publish = lw_publish, .record = lw_record, .log = lw_log,
};
static const struct ukf_env_ops lw_env_ops_quiet = {
	.now = lw_now, .timer = lw_timer, .send = lw_send,
	.uniform = lw_uniform, .directory = lw_directory,
	.publish = lw_publish, .record = lw_record, .log = NULL,
};

/* ---- backend: ukvm behind a thin wrapper that resolves default images ---- */

int ukf_live_image_path(const char *name, char *buf, size_t cap)
{
	static const char *const up[] = { "/guest/", "/../guest/",
					  "/../../guest/" };
	const char *env = getenv("UKF_GUEST_DIR");
	char exe[PATH_MAX], *slash;
	ssize_t n;
	size_t i;
	int w;

	if (env && *env) {
		w = snprintf(buf, cap, "%s/%s", env, name);
		return w < 0 || (size_t)w >= cap ? -1 : 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		w = snprintf(buf, cap, "guest/%s", name);
		return w < 0 || (size_t)w >= cap ? -1 : 0;
	}
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	for (i = 0; i < sizeof(up) / sizeof(up[0]); i++) {
		w = snprintf(buf, cap, "%s%s%s", exe, up[i], name);
		if (w < 0 || (size_t)w >= cap)
			return -1;
		if (access(buf, R_OK) == 0)
			return 0;
	}
	w = snprintf(buf, cap, "%s%s%s", exe, up[0], name);
	return w < 0 || (size_t)w >= cap ? -1 : 0;
}

static const struct ukf_app *lw_app_image(const struct ukf_app *app,
					  struct ukf_app *tmp)
{
	if (app->image[0])
		return app;
	*tmp = *app;
	if (ukf_live_image_path(app->name, tmp->image, sizeof(tmp->image)) < 0)
		return NULL;
	return tmp;
}

#define LW_VM(b) (((struct live_world *)(b))->vm)

static int lw_cold_boot(void *b, ukf_node_id_t node, ukf_id_t inst,
			const struct ukf_app *app, const char *args)
{
	struct ukf_app tmp;
	const struct ukf_app *a = lw_app_image(app, &tmp);

	if (!a)
		return -ENAMETOOLONG;
	return ukvm_backend_ops.cold_boot(LW_VM(b), node, inst, a, args);
}

static int lw_make_template(void *b, ukf_node_id_t node, ukf_id_t inst,
			    uint32_t app)
{
	return ukvm_backend_ops.make_template(LW_VM(b), node, inst, app);
}

static int lw_load_template(void *b, ukf_node_id_t node, uint32_t app,
			    const void *data, size_t bytes)
{
	return ukvm_backend_ops.load_template(LW_VM(b), node, app, data, bytes);
}

static void lw_drop_template(void *b, ukf_node_id_t node, uint32_t app)
{
	ukvm_backend_ops.drop_template(LW_VM(b), node, app);
}

static int lw_clone_template(void *b, ukf_node_id_t node, ukf_id_t inst,
			     const struct ukf_app *app, const char *args)
{
	struct ukf_app tmp;
	const struct ukf_app *a = lw_app_image(app, &tmp);

	if (!a)
		return -ENAMETOOLONG;
	return ukvm_backend_ops.clone_template(LW_VM(b), node, inst, a, args);
}

static int lw_clone_live(void *b, ukf_node_id_t node, ukf_id_t child,
			 ukf_id_t parent)
{
	return ukvm_backend_ops.clone_live(LW_VM(b), node, child, parent);
}

static int lw_save_delta(void *b, ukf_node_id_t node, ukf_id_t parent)
{
	return ukvm_backend_ops.save_delta(LW_VM(b), node, parent);
}

static int lw_restore_delta(void *b, ukf_node_id_t node, ukf_id_t child,
			    uint32_t app, const void *delta, size_t len,
			    uint64_t delta_bytes)
{
	return ukvm_backend_ops.restore_delta(LW_VM(b), node, child, app, delta,
					      len, delta_bytes);
}

static void lw_be_destroy(void *b, ukf_node_id_t node, ukf_id_t inst)
{
	ukvm_backend_ops.destroy(LW_VM(b), node, inst);
}

static int lw_complete(void *b, ukf_node_id_t node, ukf_id_t inst, int64_t ret,
		       int64_t status, ukf_id_t src, const void *data,
		       size_t len)
{
	return ukvm_backend_ops.complete(LW_VM(b), node, inst, ret, status, src,
					 data, len);
}

static const struct ukf_backend_ops lw_backend_ops = {
	.name = "kvm",
	.cold_boot = lw_cold_boot,
	.make_template = lw_make_template,
	.load_template = lw_load_template,
	.drop_template = lw_drop_template,
	.clone_template = lw_clone_template,
	.clone_live = lw_clone_live,
	.save_delta = lw_save_delta,
	.restore_delta = lw_restore_delta,
	.destroy = lw_be_destroy,
	.complete = lw_complete,
};

/* vCPU threads (or the loop thread for synchronous failures). */
static void lw_on_backend(void *u, ukf_node_id_t node,
			  const struct ukf_be_event *ev)
{
	struct live_world *w = u;
	struct ukf_be_event e = *ev;

	e.at = lw_now(w);
	if (e.at <= 0)
		e.at = 1; /* 0 would mean "now" to the engine: same thing */
	ukf_evq_push(w->q, node, &e, e.at);
}

/* ---- world ops ---- */

static int lw_at(void *wp, ukf_ns_t t, ukf_world_fn fn, void *arg, uint64_t x)
{
	struct live_world *w = wp;
	struct lw_ev e = { .t = t, .kind = LW_AT };

	if (!fn)
		return -EINVAL;
	e.u.at.fn = fn;
	e.u.at.arg = arg;
	e.u.at.x = x;
	return lw_push(w, &e);
}

static void lw_deliver_backend(struct live_world *w)
{
	struct ukf_evq_item *it;

	while ((it = ukf_evq_pop(w->q))) {
		/* guest deadlines come as CLOCK_MONOTONIC (ukvm_now()) */
		if (it->ev.deadline > 0 && it->ev.deadline != UKF_NS_NEVER)
			it->ev.deadline -= w->t0;
		if (it->ev.kind == UKF_BE_CALL && it->ev.deadline < 0)
			it->ev.deadline = 1;
		ukf_engine_on_backend(w->eng, it->node, &it->ev);
		w->events++;
		free(it);
	}
}

static void lw_take_sample(struct live_world *w, ukf_ns_t t)
{
	struct ukf_sim_sample s;
	char templates[1024];
	struct lw_ev e = { .kind = LW_SAMPLE };

	memset(&s, 0, sizeof(s));
	s.t = t;
	s.node = 0;
	templates[0] = '\0';
	if (ukf_engine_node_stats(w->eng, 0, &s.s) == 0) {
		ukf_engine_node_templates(w->eng, 0, templates, sizeof(templates));
		templates[sizeof(templates) - 1] = '\0';
		s.templates = templates;
		if (w->sample)
			w->sample(w->sinks.u, &s);
	}
	w->sampling = 0;
	if (w->sample && w->cfg.sample_every_ns > 0) {
		e.t = t + w->cfg.sample_every_ns;
		if (lw_push(w, &e) == 0)
			w->sampling = 1;
	}
}

static void lw_dispatch(struct live_world *w, struct lw_ev *e)
{
	switch (e->kind) {
	case LW_SAMPLE:
		lw_take_sample(w, e->t);
		break;
	case LW_AT:
		e->u.at.fn(e->u.at.arg, e->u.at.x);
		break;
	case LW_TIMER:
		ukf_engine_on_timer(w->eng, e->u.timer.node, e->u.timer.cookie);
		break;
	case LW_MSG:
		ukf_engine_on_message(w->eng, e->u.msg.to, e->u.msg.from,
				      e->u.msg.buf, e->u.msg.len);
		free(e->u.msg.buf);
		break;
	}
	w->events++;
}

/*
 * Nothing alive: an engine timer due soon still counts as work (a request
 * waiting to be retried for capacity is not an alive instance), but one far
 * ahead (the deadline of a call whose instance is gone) does not keep an idle
 * world running. Scans the heap: only when nothing is alive.
 */
static int lw_timer_soon(const struct live_world *w, ukf_ns_t now)
{
	ukf_ns_t horizon = w->cfg.engine.retry_ns * 128; /* > its back-off cap */
	size_t i;

	if (horizon < LW_IDLE_HORIZON)
		horizon = LW_IDLE_HORIZON;
	for (i = 0; i < w->n; i++)
		if (w->heap[i].kind == LW_TIMER && w->heap[i].t <= now + horizon)
			return 1;
	return 0;
}

static int lw_run(void *wp, ukf_ns_t until, volatile int *stop, char *err,
		  size_t errlen)
{
	struct live_world *w = wp;

	if (w->in_run) {
		snprintf(err, errlen, "live world: run() called re-entrantly");
		return -1;
	}
	w->in_run = 1;
	if (w->sample && w->cfg.sample_every_ns > 0 && !w->sampling) {
		struct lw_ev e = { .t = lw_now(w), .kind = LW_SAMPLE };

		if (lw_push(w, &e) == 0)
			w->sampling = 1;
	}
	for (;;) {
		ukf_ns_t now, next;
		int r;

		if (stop && *stop)
			break;
		lw_deliver_backend(w);
		now = lw_now(w);
		/* everything due, in (time, order), none past `until` */
		while (w->n && w->heap[0].t <= now && w->heap[0].t <= until &&
		       !(stop && *stop)) {
			struct lw_ev e;

			lw_pop(w, &e);
			lw_dispatch(w, &e);
			lw_deliver_backend(w);
		}
		if (stop && *stop)
			break;
		now = lw_now(w);
		if (until != UKF_NS_NEVER && now >= until)
			break;
		if (!w->keepalive && ukf_engine_alive(w->eng) == 0 &&
		    !ukf_evq_pending(w->q) && !lw_timer_soon(w, now))
			break;
		next = w->n ? w->heap[0].t : UKF_NS_NEVER;
		if (until < next)
			next = until;
		r = ukf_evq_wait(w->q, next == UKF_NS_NEVER ? 200 * UKF_MS :
				 next <= now ? 0 : next - now);
		if (r < 0 && errno != EINTR) {
			snprintf(err, errlen, "live world: wait: %s",
				 strerror(errno));
			w->in_run = 0;
			return -1;
		}
	}
	w->in_run = 0;
	return 0;
}

static ukf_engine_t *lw_engine(void *wp)
{
	return ((struct live_world *)wp)->eng;
}

static uint64_t lw_events(void *wp)
{
	return ((struct live_world *)wp)->events;
}

static void lw_destroy(void **wp)
{
	struct live_world *w = wp ? *wp : NULL;
	struct ukf_evq_item *it;
	size_t i;

	if (!w)
		return;
	/* the engine stops what is still alive through the backend */
	ukf_engine_destroy(&w->eng);
	ukvm_destroy(&w->vm);
	while (w->q && (it = ukf_evq_pop(w->q)))
		free(it);
	ukf_evq_destroy(&w->q);
	for (i = 0; i < w->n; i++)
		if (w->heap[i].kind == LW_MSG)
			free(w->heap[i].u.msg.buf);
	free(w->heap);
	ukf_dir_destroy(&w->dir);
	free(w);
	*wp = NULL;
}

static const struct ukf_world_ops lw_world_ops = {
	.name = "kvm",
	.now = lw_now,
	.at = lw_at,
	.run = lw_run,
	.engine = lw_engine,
	.events = lw_events,
	.destroy = lw_destroy,
};

int ukf_live_set_sampler(struct ukf_world *world,
			 void (*sample)(void *u, const struct ukf_sim_sample *s))
{
	struct live_world *w;

	if (!world || world->ops != &lw_world_ops || !world->w)
		return -1;
	w = world->w;
	w->sample = sample;
	return 0;
}

void ukf_live_config_default(struct ukf_live_config *c)
{
	memset(c, 0, sizeof(*c));
	ukf_engine_config_default(&c->engine);
	c->engine.nodes = 1;
	c->backend = "kvm";
}

int ukf_live_create(struct ukf_world *world, const struct ukf_live_config *cfg,
		    const struct ukf_world_sinks *sinks, char *err,
		    size_t errlen)
{
	struct live_world *w;
	struct ukvm_config vc;
	char why[256];

	if (!world || !cfg) {
		snprintf(err, errlen, "live world: no configuration");
		return -1;
	}
	if (cfg->engine.nodes != 1) {
		snprintf(err, errlen,
			 "live world: the embedded world runs exactly 1 node (asked for %u)",
			 cfg->engine.nodes);
		return -1;
	}
	if (cfg->backend && strcmp(cfg->backend, "kvm")) {
		snprintf(err, errlen, "live world: unknown backend '%s' (valid: kvm)",
			 cfg->backend);
		return -1;
	}
	if (!ukvm_available(why, sizeof(why))) {
		snprintf(err, errlen, "live world: KVM unavailable: %s", why);
		return -1;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "live world: out of memory");
		return -1;
	}
	w->cfg = *cfg;
	if (sinks)
		w->sinks = *sinks;
	w->t0 = mono_ns();
	w->q = ukf_evq_create();
	w->dir = ukf_dir_create(1);
	if (!w->q || !w->dir) {
		snprintf(err, errlen, "live world: out of memory");
		goto fail;
	}
	memset(&vc, 0, sizeof(vc));
	vc.event = lw_on_backend;
	vc.u = w;
	vc.node = 0;
	vc.pause_on_ready = 1; /* the engine decides about templates */
	vc.run_limit_ns = cfg->run_limit_ns;
	w->vm = ukvm_create(&vc, err, errlen);
	if (!w->vm)
		goto fail;
	w->be.ops = &lw_backend_ops;
	w->be.b = w;
	w->env.ops = w->sinks.log ? &lw_env_ops_log : &lw_env_ops_quiet;
	w->env.w = w;
	w->eng = ukf_engine_create(&cfg->engine, &w->env, &w->be,
				   &w->sinks.hooks, err, errlen);
	if (!w->eng)
		goto fail;
	world->ops = &lw_world_ops;
	world->w = w;
	return 0;
fail:
	{
		void *p = w;

		lw_destroy(&p);
	}
	return -1;
}
