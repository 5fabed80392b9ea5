/* SPDX-License-Identifier: MIT */
/* live.c - the live world: real clock, one-thread event loop, KVM backend. */
#define _GNU_SOURCE
#include "live.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../backends/kvm/template.h"
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
			uint16_t type;
			void *buf; /* body, then bulk_len bulk bytes */
			size_t len, bulk_len;
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
	ukf_apps_t *apps;
	int started;
	ukf_dir_t *dir;
	ukf_evq_t *q;
	struct lw_ev *heap;
	size_t n, cap;
	uint64_t seq;
	size_t keepalive; /* LW_AT and LW_MSG entries in the heap */
	uint64_t events;
	uint64_t rng_ctr;
	int in_run;
	void (*sample)(void *u, const struct ukf_world_sample *s);
	int sampling; /* an LW_SAMPLE entry is in the heap */
	int tdir_loaded; /* ukf_live_load_templates ran (or was tried) */
	uint64_t *tdir_ids; /* by app: id of the template loaded from its
			       file (still the same at save: not rewritten) */
	uint32_t tdir_nids;
};

/* Templates on disk: DIR/APP.ukft. */
#define LW_TMPL_EXT ".ukft"
#define LW_MEM_ALIGN (2ULL << 20) /* the monitor rounds guest memory up */

static int lw_load_templates(struct live_world *w, char *err, size_t errlen);
static int lw_save_templates(struct live_world *w, char *err, size_t errlen);

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
		   uint16_t type, const void *buf, size_t len, const void *bulk,
		   size_t bulk_len, uint64_t bulk_bytes)
{
	struct live_world *w = wp;
	struct lw_ev e = { .t = lw_now(w), .kind = LW_MSG };
	int r;

	(void)bulk_bytes;
	if (to != 0 || from != 0)
		return -EHOSTUNREACH; /* the embedded world has node 0 only */
	e.u.msg.from = from;
	e.u.msg.to = to;
	e.u.msg.type = type;
	e.u.msg.len = len;
	e.u.msg.bulk_len = bulk_len;
	e.u.msg.buf = malloc(len + bulk_len + 1);
	if (!e.u.msg.buf)
		return -ENOMEM;
	memcpy(e.u.msg.buf, buf, len);
	if (bulk_len)
		memcpy((char *)e.u.msg.buf + len, bulk, bulk_len);
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
	struct ukf_world_sample s;
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
				      e->u.msg.type, e->u.msg.buf, e->u.msg.len,
				      e->u.msg.bulk_len
					      ? (char *)e->u.msg.buf + e->u.msg.len
					      : NULL,
				      e->u.msg.bulk_len);
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
	if (w->cfg.template_dir && !w->tdir_loaded) {
		char why[256];

		lw_load_templates(w, why, sizeof(why));
	}
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
	if (w->cfg.template_dir && w->eng && w->vm) {
		char why[256];

		if (lw_save_templates(w, why, sizeof(why)) < 0)
			fprintf(stderr, "live: warning: %s\n", why);
	}
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
	ukf_apps_destroy(&w->apps);
	free(w->tdir_ids);
	free(w);
	*wp = NULL;
}

/* ---- the workload's door (one node: the engine of node 0) ---- */

static int lw_add_app(void *wp, const struct ukf_app *app)
{
	struct live_world *w = wp;

	return w->started ? -1 : ukf_apps_add(w->apps, app);
}

static const ukf_apps_t *lw_apps(void *wp)
{
	return ((struct live_world *)wp)->apps;
}

static int lw_start(void *wp)
{
	struct live_world *w = wp;
	int rc;

	if (w->started)
		return -EINVAL;
	w->started = 1;
	rc = ukf_engine_start(w->eng);
	return rc < 0 ? rc : ukf_engine_prewarm(w->eng);
}

static int lw_spawn(void *wp, ukf_node_id_t origin, uint32_t app,
		    const char *args, uint64_t tag, ukf_id_t *id)
{
	return ukf_engine_spawn(((struct live_world *)wp)->eng, origin, app,
				args, tag, id);
}

static int lw_fork(void *wp, ukf_id_t parent, uint64_t tag, ukf_id_t *id)
{
	return ukf_engine_fork(((struct live_world *)wp)->eng, parent, tag, id);
}

static int lw_kill(void *wp, ukf_id_t id)
{
	return ukf_engine_kill(((struct live_world *)wp)->eng, id);
}

static uint64_t lw_alive(void *wp)
{
	return ukf_engine_alive(((struct live_world *)wp)->eng);
}

static uint32_t lw_nodes(void *wp)
{
	(void)wp;
	return 1;
}

static int lw_node_stats(void *wp, ukf_node_id_t node,
			 struct ukf_node_stats *s)
{
	return ukf_engine_node_stats(((struct live_world *)wp)->eng, node, s);
}

static size_t lw_node_templates(void *wp, ukf_node_id_t node, char *buf,
				size_t cap)
{
	return ukf_engine_node_templates(((struct live_world *)wp)->eng, node,
					 buf, cap);
}

static const struct ukf_world_ops lw_world_ops = {
	.name = "kvm",
	.now = lw_now,
	.at = lw_at,
	.run = lw_run,
	.events = lw_events,
	.destroy = lw_destroy,
	.add_app = lw_add_app,
	.apps = lw_apps,
	.start = lw_start,
	.spawn = lw_spawn,
	.fork = lw_fork,
	.kill = lw_kill,
	.alive = lw_alive,
	.nodes = lw_nodes,
	.node_stats = lw_node_stats,
	.node_templates = lw_node_templates,
};

int ukf_live_set_sampler(struct ukf_world *world,
			 void (*sample)(void *u, const struct ukf_world_sample *s))
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
	w->apps = ukf_apps_create();
	if (!w->q || !w->dir || !w->apps) {
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
	w->eng = ukf_engine_create(&cfg->engine, w->apps, &w->env, &w->be,
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

/* ---- templates on disk ---- */

/* why without a leading "path: " (the snapshot reader names the file;
 * the warning already has): the path is said once. */
static const char *lw_why(const char *path, const char *why)
{
	size_t n = strlen(path);

	if (!strncmp(why, path, n) && why[n] == ':' && why[n + 1] == ' ')
		return why + n + 2;
	return why;
}

/* A warning about the template dir: stderr and the world's log sink. */
static void lw_warn(struct live_world *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void lw_warn(struct live_world *w, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "live: warning: %s\n", line);
	if (w->sinks.log)
		w->sinks.log(w->sinks.u, lw_now(w), 0, line);
}

static struct live_world *lw_of(struct ukf_world *world, char *err,
				size_t errlen)
{
	struct live_world *w;

	if (!world || world->ops != &lw_world_ops || !world->w) {
		snprintf(err, errlen, "not a live world");
		return NULL;
	}
	w = world->w;
	if (!w->cfg.template_dir || !*w->cfg.template_dir) {
		snprintf(err, errlen, "no template dir");
		return NULL;
	}
	return w;
}

/* Image of app (as lw_app_image resolves it) newer than the file? */
static int lw_image_newer(const struct ukf_app *a, const struct stat *fst,
			  char *img, size_t cap)
{
	struct stat ist;

	if (a->image[0])
		snprintf(img, cap, "%s", a->image);
	else if (ukf_live_image_path(a->name, img, cap) < 0)
		return 0;
	if (stat(img, &ist) < 0)
		return 0;
	return ist.st_mtim.tv_sec > fst->st_mtim.tv_sec ||
	       (ist.st_mtim.tv_sec == fst->st_mtim.tv_sec &&
		ist.st_mtim.tv_nsec > fst->st_mtim.tv_nsec);
}

/* Remember which template of app came from its file (best effort). */
static void lw_note_loaded(struct live_world *w, uint32_t app)
{
	struct ukvm_tmpl *t = ukvm_tmpl_lookup(w->vm, app);

	if (!t)
		return;
	if (app >= w->tdir_nids) {
		uint32_t n = app + 8;
		uint64_t *p = realloc(w->tdir_ids, n * sizeof(*p));

		if (!p) {
			ukvm_tmpl_put(t);
			return;
		}
		memset(p + w->tdir_nids, 0, (n - w->tdir_nids) * sizeof(*p));
		w->tdir_ids = p;
		w->tdir_nids = n;
	}
	w->tdir_ids[app] = t->id;
	ukvm_tmpl_put(t);
}

/* Load DIR/file (app name = file minus LW_TMPL_EXT). 1 installed, 0 not. */
static int lw_load_one(struct live_world *w, const char *path,
		       const char *name)
{
	const struct ukf_app *a;
	struct ukvm_snap_reader r;
	struct ukvm_snap_meta meta;
	struct stat fst;
	char why[512], img[PATH_MAX];
	void *data = NULL;
	size_t len = 0;
	uint64_t want;
	int app, rc;

	app = ukf_apps_find(w->apps, name);
	a = app >= 0 ? ukf_apps_get(w->apps, (uint32_t)app) : NULL;
	if (!a) {
		lw_warn(w, "template dir: skipped %s: no app named '%s' is registered",
			path, name);
		return 0;
	}
	if (stat(path, &fst) < 0) {
		lw_warn(w, "template dir: skipped %s: %s", path, strerror(errno));
		return 0;
	}
	if (lw_image_newer(a, &fst, img, sizeof(img))) {
		lw_warn(w, "template dir: skipped %s: the image %s changed after it was saved",
			path, img);
		return 0;
	}
	rc = ukvm_snap_read_file(path, &data, &len, why, sizeof(why));
	if (rc == 0)
		rc = ukvm_snap_open(&r, data, len, why, sizeof(why));
	if (rc) {
		lw_warn(w, "template dir: skipped %s: %s", path, lw_why(path, why));
		free(data);
		return 0;
	}
	if (r.kind != UKVM_SNAP_TEMPLATE) {
		lw_warn(w, "template dir: skipped %s: a snapshot of kind %u, not a template",
			path, r.kind);
		free(data);
		return 0;
	}
	if (ukvm_snap_meta_decode(&r, &meta, why, sizeof(why)) < 0) {
		lw_warn(w, "template dir: skipped %s: %s", path, lw_why(path, why));
		free(data);
		return 0;
	}
	if (meta.app_name[0] && strcmp(meta.app_name, a->name)) {
		lw_warn(w, "template dir: skipped %s: a template of app '%s', not '%s'",
			path, meta.app_name, a->name);
		free(data);
		return 0;
	}
	want = (a->mem_bytes + LW_MEM_ALIGN - 1) & ~(LW_MEM_ALIGN - 1);
	if (meta.mem_size != want) {
		lw_warn(w, "template dir: skipped %s: %llu MiB of memory, app '%s' has %llu MiB",
			path, (unsigned long long)(meta.mem_size >> 20), a->name,
			(unsigned long long)(want >> 20));
		free(data);
		return 0;
	}
	rc = ukvm_template_install(w->vm, (uint32_t)app, data, len, why,
				   sizeof(why));
	free(data);
	if (rc) {
		lw_warn(w, "template dir: skipped %s: %s", path, lw_why(path, why));
		return 0;
	}
	rc = ukf_engine_template_loaded(w->eng, 0, (uint32_t)app,
					meta.mem_size);
	if (rc == -EEXIST)
		return 0; /* the engine has (or is making) one: the same app's */
	if (rc < 0) {
		ukvm_backend_ops.drop_template(w->vm, 0, (uint32_t)app);
		lw_warn(w, "template dir: skipped %s: the engine refused it (%s)",
			path, strerror(-rc));
		return 0;
	}
	lw_note_loaded(w, (uint32_t)app);
	return 1;
}

static int lw_load_templates(struct live_world *w, char *err, size_t errlen)
{
	const char *dir = w->cfg.template_dir;
	struct dirent **ents = NULL;
	int n, i, loaded = 0;

	w->tdir_loaded = 1;
	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		if (errno == ENOENT)
			return 0; /* nothing saved yet */
		snprintf(err, errlen, "template dir %s: %s", dir,
			 strerror(errno));
		lw_warn(w, "%s", err);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *f = ents[i]->d_name;
		size_t fl = strlen(f), el = strlen(LW_TMPL_EXT);
		char path[PATH_MAX], name[UKF_APP_NAME_MAX];
		int k;

		if (f[0] == '.' || fl <= el || strcmp(f + fl - el, LW_TMPL_EXT))
			continue; /* not ours (temp files start with '.') */
		k = snprintf(path, sizeof(path), "%s/%s", dir, f);
		if (k < 0 || (size_t)k >= sizeof(path) ||
		    fl - el >= sizeof(name)) {
			lw_warn(w, "template dir: skipped %s/%s: name too long",
				dir, f);
			continue;
		}
		memcpy(name, f, fl - el);
		name[fl - el] = '\0';
		loaded += lw_load_one(w, path, name);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return loaded;
}

static int lw_save_templates(struct live_world *w, char *err, size_t errlen)
{
	const char *dir = w->cfg.template_dir;
	const struct ukf_app *a;
	uint32_t app;
	int saved = 0;

	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "template dir %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	for (app = 0; (a = ukf_apps_get(w->apps, app)) != NULL; app++) {
		struct ukvm_tmpl *t;
		char path[PATH_MAX], why[512];
		int k;

		/* only apps whose name makes a plain file name */
		if (!a->name[0] || a->name[0] == '.' || strchr(a->name, '/'))
			continue;
		t = ukvm_tmpl_lookup(w->vm, app);
		if (!t)
			continue; /* no template of it on this node */
		k = app < w->tdir_nids && w->tdir_ids[app] == t->id;
		ukvm_tmpl_put(t);
		if (k)
			continue; /* the one loaded from its file: unchanged */
		k = snprintf(path, sizeof(path), "%s/%s" LW_TMPL_EXT, dir,
			     a->name);
		if (k < 0 || (size_t)k >= sizeof(path)) {
			lw_warn(w, "template dir: not saved: %s/%s" LW_TMPL_EXT
				": path too long", dir, a->name);
			continue;
		}
		if (ukvm_template_save_as(w->vm, app, a->name, path, why,
					  sizeof(why)) < 0) {
			lw_warn(w, "template dir: not saved: %s: %s", path, lw_why(path, why));
			continue;
		}
		saved++;
	}
	return saved;
}

int ukf_live_load_templates(struct ukf_world *world, char *err, size_t errlen)
{
	struct live_world *w = lw_of(world, err, errlen);

	return w ? lw_load_templates(w, err, errlen) : -1;
}

int ukf_live_save_templates(struct ukf_world *world, char *err, size_t errlen)
{
	struct live_world *w = lw_of(world, err, errlen);

	return w ? lw_save_templates(w, err, errlen) : -1;
}
