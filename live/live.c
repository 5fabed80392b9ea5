/* SPDX-License-Identifier: MIT */
/* live.c - the live world: real clock, one-thread event loop, a backend from the registry; one node, alone or in a cluster. */
#define _GNU_SOURCE
#include "live.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../backends/registry.h"
#include "../core/dir.h"
#include "evq.h"
#include "live_int.h"

/* With nothing alive, engine timers further ahead than this are stale. */
#define LW_IDLE_HORIZON (1 * UKF_S)

ukf_ns_t lw_now(void *wp)
{
	const struct live_world *w = wp;
	struct timespec ts;

	clock_gettime(w->clock, &ts);
	return (ukf_ns_t)ts.tv_sec * UKF_S + ts.tv_nsec - w->t0;
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
	if (from != w->cfg.engine.self)
		return -EINVAL;
	if (to != from) {
		if (!w->cfg.net)
			return -EHOSTUNREACH; /* alone: no other node */
		return w->cfg.net->send(w->cfg.net->u, to, type, buf, len,
					bulk, bulk_len);
	}
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
	int rc = ukf_dir_apply(w->dir, rec, len);
	if (rc < 0) {
		if (w->sinks.log)
			w->sinks.log(w->sinks.u, lw_now(w), node,
				     rc == -ENOMEM
					 ? "live: directory record dropped: "
					   "out of memory"
					 : "live: bad directory record dropped");
		return;
	}
	if (len <= sizeof(w->own_rec)) {
		memcpy(w->own_rec, rec, len);
		w->own_len = len;
	}
	if (w->cfg.net)
		w->cfg.net->publish(w->cfg.net->u, rec, len);
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

/*
 * Ids unique across the cluster: the node in bits 32..47 and a count in the
 * low 32 bits, starting where this node's clock puts it so that an agent
 * that restarts within a run does not hand out its earlier ids again
 * (alone, node 0, from 1: ids 1, 2, 3 as before).
 */
static ukf_id_t lw_new_id(void *wp, ukf_node_id_t node)
{
	struct live_world *w = wp;

	return (uint64_t)(node & 0xffff) << 32 | ++w->next_id;
}

static void lw_fatal(void *wp, ukf_node_id_t node, const char *why)
{
	struct live_world *w = wp;

	if (!w->fatal[0])
		snprintf(w->fatal, sizeof(w->fatal), "node %u: %s", node, why);
}

/* Two tables: the engine skips log formatting when log is NULL. */
static const struct ukf_env_ops lw_env_ops_log = {
	.now = lw_now, .timer = lw_timer, .send = lw_send,
	.uniform = lw_uniform, .directory = lw_directory,
	.publish = lw_publish, .record = lw_record, .log = lw_log,
	.new_id = lw_new_id, .fatal = lw_fatal,
};
static const struct ukf_env_ops lw_env_ops_quiet = {
	.now = lw_now, .timer = lw_timer, .send = lw_send,
	.uniform = lw_uniform, .directory = lw_directory,
	.publish = lw_publish, .record = lw_record, .log = NULL,
	.new_id = lw_new_id, .fatal = lw_fatal,
};

/* ---- images ---- */

int ukf_live_image_path_in(const char *image_dir, const char *name,
			   char *buf, size_t cap)
{
	static const char *const up[] = { "/", "/../", "/../../" };
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
		w = snprintf(buf, cap, "%s/%s", image_dir, name);
		return w < 0 || (size_t)w >= cap ? -1 : 0;
	}
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	for (i = 0; i < sizeof(up) / sizeof(up[0]); i++) {
		w = snprintf(buf, cap, "%s%s%s/%s", exe, up[i], image_dir, name);
		if (w < 0 || (size_t)w >= cap)
			return -1;
		if (access(buf, R_OK) == 0)
			return 0;
	}
	w = snprintf(buf, cap, "%s%s%s/%s", exe, up[0], image_dir, name);
	return w < 0 || (size_t)w >= cap ? -1 : 0;
}

int ukf_live_image_path(const char *name, char *buf, size_t cap)
{
	return ukf_live_image_path_in("guest", name, buf, cap);
}


/* Backend threads (or the loop thread for synchronous failures). */
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

/* ---- the loop ---- */

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
		/* guest deadlines come as CLOCK_MONOTONIC (the backend's) */
		if (it->ev.deadline > 0 && it->ev.deadline != UKF_NS_NEVER)
			it->ev.deadline = it->ev.deadline - w->mono0;
		if (it->ev.kind == UKF_BE_CALL && it->ev.deadline < 0)
			it->ev.deadline = 1;
		if (!lw_tdir_event(w, &it->ev))
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
	ukf_node_id_t self = w->cfg.engine.self;

	memset(&s, 0, sizeof(s));
	s.t = t;
	s.node = self;
	templates[0] = '\0';
	if (ukf_engine_node_stats(w->eng, self, &s.s) == 0) {
		ukf_engine_node_templates(w->eng, self, templates,
					  sizeof(templates));
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

/* Wait for backend events (and the network) until `next` at the latest. */
static int lw_wait(struct live_world *w, ukf_ns_t now, ukf_ns_t next)
{
	int64_t timeout = next == UKF_NS_NEVER ? 200 * UKF_MS
			  : next <= now	       ? 0
					       : next - now;

	if (w->cfg.net) {
		int r = w->cfg.net->wait(w->cfg.net->u, ukf_evq_fd(w->q),
					 timeout);
		if (r >= 0)
			ukf_evq_wait(w->q, 0); /* consume the eventfd */
		return r;
	}
	return ukf_evq_wait(w->q, timeout);
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
		if (w->fatal[0]) {
			snprintf(err, errlen, "live world: %s", w->fatal);
			w->in_run = 0;
			return -1;
		}
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
		if (!w->cfg.serve && !w->keepalive &&
		    ukf_engine_alive(w->eng) == 0 && !ukf_evq_pending(w->q) &&
		    !lw_timer_soon(w, now))
			break;
		next = w->n ? w->heap[0].t : UKF_NS_NEVER;
		if (until < next)
			next = until;
		r = lw_wait(w, now, next);
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
	if (w->cfg.template_dir && w->eng && w->drv) {
		char why[256];

		lw_deliver_backend(w); /* templates made just now count */
		if (lw_save_templates(w, why, sizeof(why)) < 0)
			fprintf(stderr, "live: warning: %s\n", why);
	}
	/* the engine stops what is still alive through the backend */
	ukf_engine_destroy(&w->eng);
	if (w->drv)
		w->drv->destroy(&w->be);
	while (w->q && (it = ukf_evq_pop(w->q)))
		free(it);
	ukf_evq_destroy(&w->q);
	for (i = 0; i < w->n; i++)
		if (w->heap[i].kind == LW_MSG)
			free(w->heap[i].u.msg.buf);
	free(w->heap);
	ukf_dir_destroy(&w->dir);
	ukf_apps_destroy(&w->apps);
	free(w->tfile);
	free(w->tfile_ver);
	free(w);
	*wp = NULL;
}

/* ---- the workload's door (the engine of this node) ---- */

/* A digest of what an app runs: its image's bytes (BLAKE2b, 64 bits), or
 * its description when it has no image file. */
static uint64_t app_digest(const struct ukf_app *a)
{
	unsigned char h[8] = { 0 }, buf[65536];
	crypto_generichash_state st;
	uint64_t d = 0;
	FILE *f = a->image[0] ? fopen(a->image, "rb") : NULL;

	if (crypto_generichash_init(&st, NULL, 0, sizeof(h)) != 0) {
		if (f)
			fclose(f);
		return 0;
	}
	if (f) {
		size_t n;

		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			crypto_generichash_update(&st, buf, n);
		fclose(f);
	} else {
		crypto_generichash_update(&st, (const unsigned char *)a->name,
					  strlen(a->name));
		crypto_generichash_update(&st, (const unsigned char *)a->args,
					  strlen(a->args));
	}
	crypto_generichash_final(&st, h, sizeof(h));
	for (int k = 0; k < 8; k++)
		d |= (uint64_t)h[k] << (8 * k);
	return d;
}

static int lw_add_app(void *wp, const struct ukf_app *app)
{
	struct live_world *w = wp;
	struct ukf_app a;

	if (w->started || !app)
		return -1;
	a = *app;
	/* an app with no image boots the backend's guest of its name */
	if (!a.image[0] &&
	    ukf_live_image_path_in(w->drv->image_dir, a.name, a.image,
				   sizeof(a.image)) < 0)
		return -1;
	if (!a.digest)
		a.digest = app_digest(&a);
	return ukf_apps_add(w->apps, &a);
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
	return ((struct live_world *)wp)->cfg.engine.nodes;
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

static ukf_ns_t lw_now_op(void *wp)
{
	return lw_now(wp);
}

static const struct ukf_world_ops lw_world_ops = {
	.name = "kvm", /* replaced by the backend's name in each world */
	.now = lw_now_op,
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

struct live_world *lw_of(struct ukf_world *world, char *err, size_t errlen)
{
	if (!world || !world->ops || world->ops->run != lw_run || !world->w) {
		snprintf(err, errlen, "not a live world");
		return NULL;
	}
	return world->w;
}

int ukf_live_set_sampler(struct ukf_world *world,
			 void (*sample)(void *u, const struct ukf_world_sample *s))
{
	char err[64];
	struct live_world *w = lw_of(world, err, sizeof(err));

	if (!w)
		return -1;
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

static ukf_ns_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (ukf_ns_t)ts.tv_sec * UKF_S + ts.tv_nsec;
}

int ukf_live_create(struct ukf_world *world, const struct ukf_live_config *cfg,
		    const struct ukf_world_sinks *sinks, char *err,
		    size_t errlen)
{
	struct live_world *w;
	struct ukf_backend_config bc;
	const char *be = cfg && cfg->backend ? cfg->backend : "kvm";

	if (!world || !cfg) {
		snprintf(err, errlen, "live world: no configuration");
		return -1;
	}
	if (cfg->engine.nodes == 0 || cfg->engine.self >= cfg->engine.nodes) {
		snprintf(err, errlen,
			 "live world: node %u is not one of the cluster's %u",
			 cfg->engine.self, cfg->engine.nodes);
		return -1;
	}
	if (!cfg->net && cfg->engine.nodes != 1) {
		snprintf(err, errlen,
			 "live world: alone, the world runs exactly 1 node (asked for %u); a cluster needs its agents",
			 cfg->engine.nodes);
		return -1;
	}
	if (cfg->net && (!cfg->net->send || !cfg->net->publish ||
			 !cfg->net->wait)) {
		snprintf(err, errlen, "live world: incomplete network hooks");
		return -1;
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "live world: libsodium did not start");
		return -1;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "live world: out of memory");
		return -1;
	}
	w->cfg = *cfg;
	w->cfg.backend = be;
	if (sinks)
		w->sinks = *sinks;
	if (cfg->epoch_realtime_ns > 0) {
		w->clock = CLOCK_REALTIME;
		w->t0 = cfg->epoch_realtime_ns;
	} else {
		w->clock = CLOCK_MONOTONIC;
		w->t0 = clock_ns(CLOCK_MONOTONIC);
	}
	/* the backend reports guest deadlines on CLOCK_MONOTONIC */
	w->mono0 = clock_ns(CLOCK_MONOTONIC) - lw_now(w);
	/* alone, ids from 1; in a cluster, from a point of this node's clock
	 * (a restarted agent does not reuse its earlier ids) */
	if (cfg->net)
		w->next_id = (uint32_t)(clock_ns(CLOCK_REALTIME) / UKF_S & 0xffff)
			     << 16;
	w->ops = lw_world_ops;
	w->ops.name = be;
	w->q = ukf_evq_create();
	w->dir = ukf_dir_create(cfg->engine.nodes);
	w->apps = ukf_apps_create();
	if (!w->q || !w->dir || !w->apps) {
		snprintf(err, errlen, "live world: out of memory");
		goto fail;
	}
	ukf_backend_config_default(&bc);
	bc.event = lw_on_backend;
	bc.u = w;
	bc.node = cfg->engine.self;
	bc.pause_on_ready = 1; /* the engine decides about templates */
	bc.run_limit_ns = cfg->run_limit_ns;
	{
		char why[384];

		w->drv = ukf_backend_open(be, &bc, &w->be, why, sizeof(why));
		if (!w->drv) {
			snprintf(err, errlen, "live world: %s", why);
			goto fail;
		}
	}
	w->env.ops = w->sinks.log ? &lw_env_ops_log : &lw_env_ops_quiet;
	w->env.w = w;
	w->eng = ukf_engine_create(&cfg->engine, w->apps, &w->env, &w->be,
				   &w->sinks.hooks, err, errlen);
	if (!w->eng)
		goto fail;
	world->ops = &w->ops;
	world->w = w;
	return 0;
fail:
	{
		void *p = w;

		lw_destroy(&p);
	}
	return -1;
}

/* ---- a node of a cluster: what the agent feeds in ---- */

static struct live_world *lw_cluster(struct ukf_world *world)
{
	char err[64];
	struct live_world *w = lw_of(world, err, sizeof(err));

	return w && w->cfg.net ? w : NULL;
}

int ukf_live_deliver(struct ukf_world *world, ukf_node_id_t from,
		     uint16_t type, const void *body, size_t len,
		     const void *bulk, size_t bulk_len)
{
	struct live_world *w = lw_cluster(world);

	if (!w)
		return -1;
	ukf_engine_on_message(w->eng, w->cfg.engine.self, from, type, body,
			      len, bulk, bulk_len);
	w->events++;
	return 0;
}

int ukf_live_dir_apply(struct ukf_world *world, const void *rec, size_t len)
{
	struct live_world *w = lw_cluster(world);

	if (!w)
		return -1;
	return ukf_dir_apply(w->dir, rec, len) < 0 ? -1 : 0;
}

int ukf_live_peer_down(struct ukf_world *world, ukf_node_id_t node,
		       const char *why)
{
	struct live_world *w = lw_cluster(world);

	if (!w)
		return -1;
	ukf_dir_forget(w->dir, node);
	ukf_engine_peer_down(w->eng, node, why);
	return 0;
}

int ukf_live_peer_link_down(struct ukf_world *world, ukf_node_id_t node,
			    const char *why)
{
	struct live_world *w = lw_cluster(world);

	if (!w)
		return -1;
	ukf_engine_peer_down(w->eng, node, why);
	return 0;
}

size_t ukf_live_own_record(struct ukf_world *world, void *buf, size_t cap)
{
	char err[64];
	struct live_world *w = lw_of(world, err, sizeof(err));

	if (!w || !w->own_len || w->own_len > cap)
		return 0;
	memcpy(buf, w->own_rec, w->own_len);
	return w->own_len;
}

int ukf_live_activity(struct ukf_world *world, uint64_t *alive,
		      uint64_t *pending)
{
	char err[64];
	struct live_world *w = lw_of(world, err, sizeof(err));

	if (!w)
		return -1;
	*alive = ukf_engine_alive(w->eng);
	*pending = ukf_engine_pending(w->eng);
	return 0;
}
