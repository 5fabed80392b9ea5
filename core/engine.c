/* SPDX-License-Identifier: MIT */
/* engine.c - a node agent: creation, the public API, the world callbacks, and
 * the plumbing every room uses (allocation, id maps, log, timers, records). */
#include "engine_int.h"

static int alloc_fails(ukf_engine_t *e);
static const struct ukf_engine_hooks no_hooks;
void eng_map_free(struct idmap *m);
static int cmp_id(const void *x, const void *y);

/* engine_int.h's layout (64-bit): lines 0-2 hot fields, 3-5 inline map
 * slots, the node from line 6. */
_Static_assert(sizeof(void *) != 8 ||
		   (offsetof(struct ukf_engine, insts_in) == 3 * 64 &&
		    offsetof(struct ukf_engine, node) == 6 * 64),
	       "struct ukf_engine: the hot lines moved (engine_int.h)");

/* Every allocation the running engine makes goes through these three. */
static int alloc_fails(ukf_engine_t *e)
{
	return e->fail_alloc && e->fail_alloc(e->fail_u);
}

/* p from an allocation of n bytes: a failure is fatal to the run. */
static void *allocated(ukf_engine_t *e, void *p, size_t n)
{
	if (__builtin_expect(!p && n, 0) && !e->oom) {
		e->oom = 1;
		if (e->env->ops->fatal)
			e->env->ops->fatal(e->env->w, e->self,
					   "the engine ran out of memory");
	}
	return p;
}

void *eng_malloc(ukf_engine_t *e, size_t n)
{
	return allocated(e, alloc_fails(e) ? NULL : malloc(n), n);
}

void *eng_calloc(ukf_engine_t *e, size_t n, size_t sz)
{
	return allocated(e, alloc_fails(e) ? NULL : calloc(n, sz), n * sz);
}

void *eng_realloc(ukf_engine_t *e, void *p, size_t n)
{
	return allocated(e, alloc_fails(e) ? NULL : realloc(p, n), n);
}

/* id maps (engine_int.h): open addressing, linear probing, backward-shift
 * deletion. A map starting in the IDMAP_INLINE slots at `in` (zeroed). */
void eng_map_init(struct idmap *m, struct idslot *in)
{
	m->s = in;
	m->cap = IDMAP_INLINE;
	m->n = 0;
}

int eng_map_put(ukf_engine_t *e, struct idmap *m, uint64_t k, void *v)
{
	size_t i, mask;

	/* the inline slots hold up to IDMAP_INLINE - 1, the heap half full */
	if (m->n + 1 > (m->cap == IDMAP_INLINE ? IDMAP_INLINE - 1 : m->cap / 2)) {
		struct idmap nm;
		nm.cap = m->cap > IDMAP_INLINE ? m->cap * 2 : 16;
		nm.n = 0;
		nm.s = eng_calloc(e, nm.cap, sizeof(*nm.s));
		if (!nm.s)
			return -1;
		for (size_t j = 0; j < m->cap; j++)
			if (m->s[j].key)
				eng_map_put(e, &nm, m->s[j].key, m->s[j].val);
		if (m->cap > IDMAP_INLINE)
			free(m->s);
		*m = nm;
	}
	mask = (size_t)m->cap - 1;
	i = eng_hash64(k) & mask;
	while (m->s[i].key && m->s[i].key != k)
		i = (i + 1) & mask;
	if (!m->s[i].key)
		m->n++;
	m->s[i].key = k;
	m->s[i].val = v;
	return 0;
}

void eng_map_del(struct idmap *m, uint64_t k)
{
	size_t i, j, mask = (size_t)m->cap - 1;

	if (!m->cap || !k)
		return;
	for (i = eng_hash64(k) & mask; m->s[i].key != k; i = (i + 1) & mask)
		if (!m->s[i].key)
			return;
	m->s[i] = (struct idslot){ 0, NULL };
	m->n--;
	for (j = (i + 1) & mask; m->s[j].key; j = (j + 1) & mask) {
		size_t h = eng_hash64(m->s[j].key) & mask;
		/* move j back to i if its home is not in (i, j] */
		if ((j > i && (h <= i || h > j)) ||
		    (j < i && (h <= i && h > j))) {
			m->s[i] = m->s[j];
			m->s[j] = (struct idslot){ 0, NULL };
			i = j;
		}
	}
}

void eng_map_free(struct idmap *m)
{
	if (m->cap > IDMAP_INLINE)
		free(m->s);
	memset(m, 0, sizeof(*m));
}

void eng_elog(ukf_engine_t *e, ukf_node_id_t node, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	e->env->ops->log(e->env->w, node, line);
}

const char *eng_app_name(const ukf_engine_t *e, uint32_t app)
{
	const struct ukf_app *a = APP(e, app);

	return a ? a->name : "?";
}

/* A new id, unique across the cluster: the world's if it gives them. */
ukf_id_t eng_new_id(ukf_engine_t *e)
{
	if (e->env->ops->new_id)
		return e->env->ops->new_id(e->env->w, e->self);
	return (uint64_t)e->self << 32 | ++e->next_id;
}

char *eng_dupstr(ukf_engine_t *e, const char *s, size_t n)
{
	char *d = eng_malloc(e, n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

void eng_arm(ukf_engine_t *e, ukf_node_id_t node, ukf_ns_t at,
	     enum timer_kind kind, ukf_id_t id, uint32_t gen)
{
	uint64_t cookie = (uint64_t)kind << 60 | (uint64_t)(gen & 0xfff) << 48 |
			  (id & 0xffffffffffffULL);
	int rc = e->env->ops->timer(e->env->w, node, at, cookie);

	if (rc < 0)
		LOG(e, node, "error timer id=%llu rc=%d", ULL(id), rc);
}

void eng_record_inst(ukf_engine_t *e, const struct inst *i, ukf_ns_t t_exit,
		     int64_t status, const char *why)
{
	struct ukf_record r;

	if (!e->env->ops->record || i->internal)
		return;
	memset(&r, 0, sizeof(r));
	r.id = i->id;
	r.parent = i->parent;
	r.app = i->app;
	r.app_name = eng_app_name(e, i->app);
	r.origin = i->origin;
	r.node = i->node;
	r.start = i->start;
	r.remote = i->node != i->origin;
	r.template_fetched = i->fetched;
	r.template_made = i->made;
	r.delta_bytes = i->delta_bytes;
	r.dirty_pages = i->dirty_pages;
	r.t_request = i->t_request;
	r.t_placed = i->t_placed;
	r.t_start = i->t_start;
	r.t_ready = i->t_ready;
	r.t_exit = t_exit;
	r.status = status;
	r.fail_reason = why;
	e->env->ops->record(e->env->w, &r);
}

/* The row of an internal instance that booted to make a template. */
void eng_record_boot(ukf_engine_t *e, const struct inst *m, ukf_ns_t t_exit,
		     int64_t status, const char *why)
{
	struct ukf_record r;

	if (!e->env->ops->record)
		return;
	memset(&r, 0, sizeof(r));
	r.template_boot = 1;
	r.id = m->id;
	r.app = m->app;
	r.app_name = eng_app_name(e, m->app);
	r.origin = r.node = m->node;
	r.start = UKF_START_COLD;
	r.template_made = status == 0;
	r.dirty_pages = m->dirty_pages;
	r.t_request = r.t_placed = UKF_NS_NEVER;
	r.t_start = m->t_start;
	r.t_ready = m->t_ready;
	r.t_exit = t_exit;
	r.status = status;
	r.fail_reason = why;
	e->env->ops->record(e->env->w, &r);
}

/* Sent to another node (or placed there, its parent's delta awaited)
 * with nothing heard back yet. */
int eng_req_unanswered(const ukf_engine_t *e, const struct req *q)
{
	return (q->inflight || q->delta_wait) && !q->killed &&
	       q->target != e->self && q->target < e->nodes &&
	       q->t_placed != UKF_NS_NEVER;
}

/* A request's row: failed (why), or with why NULL an unanswered one
 * (ukf_record.unanswered) at the run's end. */
void eng_record_req(ukf_engine_t *e, const struct req *q, const char *why)
{
	struct ukf_record r;

	if (!e->env->ops->record)
		return;
	memset(&r, 0, sizeof(r));
	r.id = q->id;
	r.parent = q->parent;
	r.app = q->app;
	r.app_name = eng_app_name(e, q->app);
	r.origin = q->origin;
	r.node = UKF_NODE_NONE;
	r.start = q->kind == R_FORK ? UKF_START_FORK : UKF_START_UNKNOWN;
	r.t_request = q->t_request;
	r.t_placed = q->t_placed;
	r.t_start = r.t_ready = UKF_NS_NEVER;
	r.t_exit = eng_now(e);
	r.status = UKF_STATUS_FAILED;
	r.fail_reason = why;
	if (!why) {
		r.node = q->target;
		r.remote = 1;
		r.t_exit = UKF_NS_NEVER;
		r.status = UKF_STATUS_RUNNING;
		r.unanswered = 1;
	}
	e->env->ops->record(e->env->w, &r);
}

void ukf_engine_prefetch(const ukf_engine_t *e)
{
	if (e)
		eng_touch(e);
}

void ukf_engine_on_timer(ukf_engine_t *e, ukf_node_id_t node, uint64_t cookie)
{
	enum timer_kind kind = (enum timer_kind)(cookie >> 60);
	uint32_t gen = (uint32_t)(cookie >> 48) & 0xfff;
	ukf_id_t id = cookie & 0xffffffffffffULL;

	if (!e || node != e->self)
		return;
	if (kind == T_RETRY) {
		struct req *q = eng_req_at(e, node, id);
		if (q && (q->gen & 0xfff) == gen)
			eng_place_req(e, q);
	} else if (kind == T_MAKER) {
		struct inst *m = eng_inst_at(e, node, id);
		struct ukf_tentry *t =
		    m ? ukf_tcache_find(&e->node.tc, m->app) : NULL;
		struct inst **w;
		if (!m || m->t_ready != UKF_NS_NEVER || !t ||
		    t->state != UKF_T_PENDING || t->maker != m->id)
			return;
		LOG(e, node, "template-slow app=%s node=%u inst=%llu",
		    eng_app_name(e, m->app), node, ULL(m->id));
		for (w = (struct inst **)&t->waiters; *w;) {
			struct inst *x = *w;
			if (x->is_fork) {
				w = &x->next_wait;
				continue;
			}
			*w = x->next_wait;
			x->waiting_tpl = 0;
			eng_start_cold(e, &e->node, x, 0);
			/* start_cold may fail x and touch the cache: rescan */
			t = ukf_tcache_find(&e->node.tc, m->app);
			if (!t)
				return;
			w = (struct inst **)&t->waiters;
		}
	} else if (kind == T_ANSWER) {
		eng_answer_timeout(e, id, gen);
	} else if (kind == T_DEADLINE) {
		struct inst *i = eng_inst_at(e, node, id);
		if (!i || (i->gen & 0xfff) != gen)
			return;
		if (i->call == UKF_CALL_WAIT || i->call == UKF_CALL_RECV)
			eng_complete(e, i, -UKF_ETIMEDOUT, 0, 0, NULL, 0);
		else if (i->call == UKF_CALL_BLOCK)
			eng_complete(e, i, 0, 0, 0, NULL, 0);
	}
}

void ukf_engine_on_message(ukf_engine_t *e, ukf_node_id_t to,
			   ukf_node_id_t from, uint16_t type, const void *body,
			   size_t len, const void *bulk, size_t bulk_len)
{
	struct ukf_msg m;
	char err[160];

	if (!e)
		return;
	eng_touch(e);
	if (to != e->self) /* not ours: nothing to log it on */
		return;
	if (ukf_msg_decode(&m, type, body, len, bulk, bulk_len, 0, err,
			   sizeof(err)) < 0) {
		LOG(e, to, "drop message from=%u: %s", from, err);
		return;
	}
	if (from >= e->nodes) {
		LOG(e, to, "drop %s from=%u: no such node",
		    ukf_msg_name(m.type), from);
		return;
	}
	if (m.app_name_len) {
		/* apps travel by name and digest: find ours */
		int id = ukf_apps_find_n(e->apps, m.app_name, m.app_name_len);
		const struct ukf_app *a = id >= 0 ? APP(e, (uint32_t)id) : NULL;
		int nl = (int)m.app_name_len;

		if (!a) {
			LOG(e, to, "drop %s %llu from=%u: unknown app '%.*s'",
			    ukf_msg_name(m.type), ULL(m.id), from, nl,
			    m.app_name);
			return;
		}
		if (m.app_digest && a->digest && m.app_digest != a->digest) {
			LOG(e, to,
			    "drop %s %llu from=%u: app '%.*s' differs here "
			    "(digest %016llx, ours %016llx)",
			    ukf_msg_name(m.type), ULL(m.id), from, nl,
			    m.app_name, ULL(m.app_digest), ULL(a->digest));
			return;
		}
		m.app = (uint32_t)id;
	}
	eng_handle_msg(e, to, from, &m);
}

void ukf_engine_on_backend(ukf_engine_t *e, ukf_node_id_t node,
			   const struct ukf_be_event *ev)
{
	struct node *n;
	struct inst *i;
	ukf_ns_t at;

	if (!e || !ev)
		return;
	eng_touch(e);
	if (node != e->self)
		return;
	n = &e->node;
	/* when it happened; never later than now, never before 0 */
	at = ev->at > 0 && ev->at <= eng_now(e) ? ev->at : eng_now(e);
	if (ev->kind == UKF_BE_TEMPLATE) {
		if (ev->app >= NAPPS(e)) {
			LOG(e, node, "drop template event: bad app %u",
			    ev->app);
			return;
		}
		eng_on_template(e, n, ev);
		return;
	}
	if (ev->kind == UKF_BE_ERROR && ev->inst == 0) {
		struct ukf_tentry *t = ev->app < NAPPS(e)
					   ? ukf_tcache_find(&n->tc, ev->app)
					   : NULL;
		LOG(e, node, "error template app=%s node=%u: %s",
		    eng_app_name(e, ev->app), node, ev->text ? ev->text : "?");
		if (t && t->state == UKF_T_PENDING) {
			/* the instance it was made from waits paused in
			 * ready(): a workload one runs on, an internal one
			 * goes (as when the cache has no room for it) */
			struct inst *m =
			    t->maker ? eng_inst_at(e, node, t->maker) : NULL;
			eng_template_failed(e, n, ev->app, "backend error");
			if (m && !m->internal && m->t_ready != UKF_NS_NEVER)
				eng_complete(e, m, 0, 0, 0, NULL, 0);
			else if (m && m->internal)
				eng_maker_end(e, m, "backend error");
		}
		return;
	}
	i = eng_inst_at(e, node, ev->inst);
	if (!i) {
		LOG(e, node, "drop backend event %d: no instance %llu",
		    (int)ev->kind, ULL(ev->inst));
		return;
	}
	switch (ev->kind) {
	case UKF_BE_STARTED:
		i->running = 1;
		free(i->delta); /* kept for a restore tried again */
		i->delta = NULL;
		i->delta_len = 0;
		if (!i->is_fork || i->internal)
			break;
		/* A fork child is running: both sides of fork() return. */
		i->t_ready = at;
		eng_complete(e, i, 0, 0, 0, NULL, 0);
		eng_notify_origin(e, i, UKF_MSG_READY, 0, NULL);
		break;
	case UKF_BE_READY: {
		struct ukf_tentry *t = ukf_tcache_find(&n->tc, i->app);
		i->t_ready =
		    at; /* internal too: spawns wait for its template */
		i->dirty_pages = ev->dirty_pages;
		if (t && t->state == UKF_T_PENDING && t->maker == i->id) {
			int rc;
			LOG(e, node, "template-make app=%s node=%u inst=%llu",
			    eng_app_name(e, i->app), node, ULL(i->id));
			rc = e->be->ops->make_template(e->be->b, node, i->id,
						       i->app);
			if (rc < 0) {
				t->maker = 0;
				eng_template_failed(e, n, i->app,
						    "make refused");
				if (i->internal) {
					eng_maker_end(e, i, "make refused");
					break;
				}
				eng_complete(e, i, 0, 0, 0, NULL, 0);
			}
		} else if (!i->internal) {
			eng_complete(e, i, i->start == UKF_START_TEMPLATE, 0, 0,
				     NULL, 0);
		} else {
			/* its template came another way meanwhile */
			eng_maker_end(e, i, "template no longer wanted");
			break;
		}
		if (!i->internal)
			eng_notify_origin(e, i, UKF_MSG_READY, 0, NULL);
		break;
	}
	case UKF_BE_CALL:
		eng_on_call(e, i, ev);
		break;
	case UKF_BE_EXIT:
		/* the count at exit is the record's (backend.h); 0 = unknown */
		if (ev->dirty_pages)
			i->dirty_pages = ev->dirty_pages;
		i->t_end = at;
		eng_inst_finish(e, i, ev->status, NULL);
		break;
	case UKF_BE_FAIL:
		i->t_end = at;
		eng_inst_finish(e, i, UKF_STATUS_FAILED,
				ev->text ? ev->text : "failed");
		break;
	case UKF_BE_CONSOLE:
		if (HOOK(e, on_console) && (!ev->len || ev->data))
			HOOK(e, on_console)(HOOK(e, u), i->id, ev->data,
					    ev->len);
		break;
	case UKF_BE_DELTA:
		eng_delta_done(e, i, ev);
		break;
	case UKF_BE_ERROR:
		if (i->delta_req) {
			eng_delta_failed(e, i, "save_delta failed");
			break;
		}
		if (ev->status == -ESTALE && i->is_fork && i->remote &&
		    !i->running && i->start == UKF_START_FORK) {
			/* the delta was taken against another template than
			 * the one here: bring the parent's and restore again
			 * (the backend's check is right; the child need not
			 * fail) */
			LOG(e, node, "template-stale app=%s node=%u inst=%llu: %s",
			    eng_app_name(e, i->app), node, ULL(i->id),
			    ev->text ? ev->text : "?");
			n->cnt.forks--;
			eng_fork_wait_version(e, n, i,
					      "restore refused: another template");
			break;
		}
		eng_inst_finish(e, i, UKF_STATUS_FAILED,
				ev->text ? ev->text : "backend error");
		break;
	default:
		LOG(e, node, "drop backend event %d for %llu", (int)ev->kind,
		    ULL(ev->inst));
		break;
	}
}

/* public API                                                           */
void ukf_engine_config_default(struct ukf_engine_config *c)
{
	memset(c, 0, sizeof(*c));
	c->nodes = 1;
	c->node.vcpus = 8;
	c->node.mem_bytes = 16ULL << 30;
	c->node.cache_bytes = 4ULL << 30;
	c->placement = "least-loaded";
	c->templates = "on-demand";
	c->fetch = UKF_FETCH_PEER;
	c->prewarm_k = 2;
	c->max_children = 64;
	c->max_queue = 256;
	c->retry_ns = 10 * UKF_MS;
	c->max_retries = 100;
}

ukf_engine_t *ukf_engine_create(const struct ukf_engine_config *cfg,
				const ukf_apps_t *apps,
				const struct ukf_env *env,
				const struct ukf_backend *be,
				const struct ukf_engine_hooks *hooks, char *err,
				size_t errlen)
{
	ukf_engine_t *e;
	const struct ukf_placement_ops *pl;
	const struct ukf_template_ops *tp;
	const struct ukf_node_config *nc;

	if (!cfg || !apps || !env || !env->ops || !be || !be->ops) {
		CERR("engine: missing config, apps, env or backend");
		return NULL;
	}
	if (!env->ops->now || !env->ops->timer || !env->ops->send ||
	    !env->ops->uniform || !env->ops->directory || !env->ops->publish) {
		CERR("engine: env lacks a required operation");
		return NULL;
	}
	if (!be->ops->cold_boot || !be->ops->make_template ||
	    !be->ops->load_template || !be->ops->drop_template ||
	    !be->ops->clone_template || !be->ops->clone_live ||
	    !be->ops->save_delta || !be->ops->restore_delta ||
	    !be->ops->destroy || !be->ops->complete) {
		CERR("engine: backend '%s' lacks a required operation",
		     be->ops->name ? be->ops->name : "?");
		return NULL;
	}
	if (cfg->nodes == 0 || cfg->nodes >= UKF_NODE_NONE) {
		CERR("engine: nodes must be at least 1 (got %u)", cfg->nodes);
		return NULL;
	}
	if (cfg->self >= cfg->nodes) {
		CERR("engine: node %u is not one of the cluster's %u nodes",
		     cfg->self, cfg->nodes);
		return NULL;
	}
	if (cfg->fetch != UKF_FETCH_PEER && cfg->fetch != UKF_FETCH_COLD) {
		CERR("engine: bad fetch mode %d", (int)cfg->fetch);
		return NULL;
	}
	pl = ukf_placement_find(
	    cfg->placement ? cfg->placement : "least-loaded", err, errlen);
	if (!pl)
		return NULL;
	tp = ukf_template_find(cfg->templates ? cfg->templates : "on-demand",
			       err, errlen);
	if (!tp)
		return NULL;
	nc = cfg->per_node ? &cfg->per_node[cfg->self] : &cfg->node;
	if (nc->vcpus == 0 || nc->mem_bytes == 0) {
		CERR("engine: node %u has no capacity (vcpus=%u mem=%llu)",
		     cfg->self, nc->vcpus, ULL(nc->mem_bytes));
		return NULL;
	}
	/* on a cache line: the fields every event reads share the first */
	e = aligned_alloc(64, (sizeof(*e) + 63) & ~(size_t)63);
	if (e)
		memset(e, 0, sizeof(*e));
	if (!e) {
		CERR("engine: out of memory");
		return NULL;
	}
	e->cfg = *cfg;
	e->cfg.per_node = NULL;
	e->cfg.placement = pl->name;
	e->cfg.templates = tp->name;
	e->self = cfg->self;
	eng_map_init(&e->insts, e->insts_in);
	eng_map_init(&e->reqs, e->reqs_in);
	eng_map_init(&e->away, e->away_in);
	e->nodes = cfg->nodes;
	e->max_children = cfg->max_children;
	e->max_retries = cfg->max_retries;
	e->mem_cow = cfg->mem_admission == UKF_ADMIT_COW;
	e->max_queue = cfg->max_queue;
	e->retry_ns = cfg->retry_ns;
	e->answer_timeout_ns = cfg->answer_timeout_ns;
	e->timed_answers = cfg->answer_timeout_ns > 0;
	e->apps = apps;
	e->env = env;
	e->be = be;
	e->hooks = hooks ? hooks : &no_hooks;
	e->place = pl;
	e->tpl = tp;
	e->use_templates = tp->templates != 0;
	e->topk_only = tp->topk_only != 0;
	e->node.id = cfg->self;
	e->node.cfg = *nc;
	e->node.rr =
	    cfg->self; /* origins start their rounds at different nodes */
	ukf_tcache_init(&e->node.tc, nc->cache_bytes);
	return e;
}

static int cmp_id(const void *x, const void *y)
{
	ukf_id_t a = *(const ukf_id_t *)x, b = *(const ukf_id_t *)y;

	return a < b ? -1 : a > b;
}

size_t ukf_engine_leftovers(const ukf_engine_t *e, ukf_id_t *ids, size_t cap)
{
	size_t n = 0;

	if (!e)
		return 0;
	for (size_t k = 0; k < e->insts.cap; k++)
		if (e->insts.s[k].key) {
			if (n < cap)
				ids[n] = e->insts.s[k].key;
			n++;
		}
	for (size_t k = 0; k < e->reqs.cap; k++)
		if (e->reqs.s[k].key &&
		    !eng_map_get(&e->insts, e->reqs.s[k].key)) {
			if (n < cap)
				ids[n] = e->reqs.s[k].key;
			n++;
		}
	return n;
}

void ukf_engine_end(ukf_engine_t *e, ukf_id_t id)
{
	struct inst *i = e ? eng_map_get(&e->insts, id) : NULL;
	struct req *q;

	if (!e)
		return;
	if (i) {
		if (!i->internal)
			eng_record_inst(e, i, UKF_NS_NEVER, UKF_STATUS_RUNNING,
					NULL);
		else
			eng_record_boot(e, i, UKF_NS_NEVER, UKF_STATUS_RUNNING,
					NULL);
		e->be->ops->destroy(e->be->b, i->node, i->id);
		eng_inst_free(e, i);
		/* a request of this node for it: the instance's row stands
		 * for it (ended later, it would be a second row, "not
		 * placed") */
		ukf_engine_drop_request(e, id);
		return;
	}
	q = eng_map_get(&e->reqs, id);
	if (q) {
		eng_record_req(e, q,
			       eng_req_unanswered(e, q) ? NULL
			       : q->killed		? "killed"
						: "not placed before the end");
		eng_req_free(e, q);
	}
}

void ukf_engine_drop_request(ukf_engine_t *e, ukf_id_t id)
{
	struct req *q = e ? eng_map_get(&e->reqs, id) : NULL;

	if (q)
		eng_req_free(e, q);
}

/*
 * ukf_engine_destroy's rows without memory for the list of leftovers: the
 * same rows in the same id order, a batch of the smallest ids above the
 * last one ended at a time (ending one removes it from both maps).
 */
static void end_in_batches(ukf_engine_t *e)
{
	enum { BATCH = 64 };
	ukf_id_t b[BATCH], lo = 0;
	size_t n;

	do {
		n = 0;
		for (int m = 0; m < 2; m++) {
			const struct idmap *map = m ? &e->reqs : &e->insts;
			for (size_t k = 0; k < map->cap; k++) {
				ukf_id_t id = map->s[k].key;
				size_t j;
				if (!id || id <= lo ||
				    (m && eng_map_get(&e->insts, id)) ||
				    (n == BATCH && id >= b[BATCH - 1]))
					continue;
				/* insert into b, kept sorted, the largest
				 * falling off when it is full */
				j = n < BATCH ? n++ : BATCH - 1;
				for (; j > 0 && b[j - 1] > id; j--)
					b[j] = b[j - 1];
				b[j] = id;
			}
		}
		for (size_t k = 0; k < n; k++)
			ukf_engine_end(e, b[k]);
		if (n)
			lo = b[n - 1];
	} while (n == BATCH);
}

void ukf_engine_destroy(ukf_engine_t **ep)
{
	ukf_engine_t *e = ep ? *ep : NULL;
	ukf_id_t *ids;
	size_t n;

	if (!e)
		return;
	/* Rows for what is still alive or unplaced, in id order. */
	n = ukf_engine_leftovers(e, NULL, 0);
	ids = alloc_fails(e) ? NULL : malloc((n + 1) * sizeof(*ids));
	if (ids) {
		n = ukf_engine_leftovers(e, ids, n);
		qsort(ids, n, sizeof(*ids), cmp_id);
		for (size_t k = 0; k < n; k++)
			ukf_engine_end(e, ids[k]);
		free(ids);
	} else {
		end_in_batches(e);
	}
	for (size_t k = 0; k < e->reqs.cap; k++) {
		struct req *q = e->reqs.s[k].val;
		if (e->reqs.s[k].key && q) {
			free(q->args);
			free(q->delta);
			free(q);
		}
	}
	for (size_t k = 0; k < e->insts.cap; k++) {
		struct inst *i = e->insts.s[k].val;
		if (e->insts.s[k].key && i) {
			free(i->r_data);
			free(i->dwait);
			free(i->kids);
			free(i->args);
			free(i->delta);
			free(i);
		}
	}
	ukf_topk_free(&e->node.topk);
	ukf_tcache_free(&e->node.tc);
	free(e->node.sh);
	free(e->node.toobig);
	eng_peer_free(e);
	eng_map_free(&e->insts);
	eng_map_free(&e->reqs);
	free(e);
	*ep = NULL;
}

int ukf_engine_start(ukf_engine_t *e)
{
	if (!e || e->started)
		return -EINVAL;
	e->started = 1;
	if (e->topk_only &&
	    ukf_topk_init(&e->node.topk, NAPPS(e), e->cfg.prewarm_k) < 0)
		return -ENOMEM;
	eng_publish(e, &e->node);
	return 0;
}

int ukf_engine_prewarm(ukf_engine_t *e)
{
	if (!e || !e->started)
		return -EINVAL;
	if (e->tpl->prewarm)
		for (uint32_t a = 0; a < NAPPS(e); a++)
			if (ukf_topk_has(&e->node.topk, a))
				eng_prewarm_app(e, &e->node, a);
	return 0;
}

int ukf_engine_spawn(ukf_engine_t *e, ukf_node_id_t origin, uint32_t app,
		     const char *args, uint64_t tag, ukf_id_t *id)
{
	struct req *q;
	size_t alen = args ? strlen(args) : 0;

	if (!e)
		return -EINVAL;
	eng_touch(e);
	if (origin != e->self || app >= NAPPS(e) || alen >= UKF_ARGS_MAX)
		return -EINVAL;
	q = eng_req_new(e, R_SPAWN, origin, app, 0, tag, F_NOTIFY, args, alen);
	if (!q)
		return -ENOMEM;
	if (id)
		*id = q->id;
	eng_place_req(e, q);
	return 0;
}

int ukf_engine_fork(ukf_engine_t *e, ukf_id_t parent, uint64_t tag,
		    ukf_id_t *id)
{
	struct inst *p = e ? eng_map_get(&e->insts, parent) : NULL;
	struct req *q;

	if (!e)
		return -EINVAL;
	if (!p || p->internal || !p->running)
		return -ESRCH;
	if (p->nkids >= e->max_children)
		return -EAGAIN;
	q = eng_req_new(e, R_FORK, p->node, p->app, p->id, tag, F_NOTIFY, NULL,
			0);
	if (!q)
		return -ENOMEM;
	if (!eng_kid_add(e, p, q->id)) {
		eng_req_free(e, q);
		return -ENOMEM;
	}
	if (id)
		*id = q->id;
	eng_place_req(e, q);
	return 0;
}

int ukf_engine_kill(ukf_engine_t *e, ukf_id_t id)
{
	struct inst *i = e ? eng_map_get(&e->insts, id) : NULL;
	struct req *q;

	if (!e)
		return -EINVAL;
	if (i && !i->internal) {
		eng_inst_finish(e, i, UKF_STATUS_FAILED, "killed");
		return 0;
	}
	q = eng_map_get(&e->reqs, id);
	if (q && !q->killed) {
		if (q->inflight)
			q->killed =
			    1; /* resolved when it lands or is refused */
		else
			eng_req_fail(e, q, "killed");
		return 0;
	}
	return -ESRCH;
}

int ukf_engine_node_stats(const ukf_engine_t *e, ukf_node_id_t node,
			  struct ukf_node_stats *s)
{
	const struct node *n;

	if (!e || !s || node != e->self)
		return -EINVAL;
	n = &e->node;
	memset(s, 0, sizeof(*s));
	s->requests = n->cnt.requests;
	s->cold = n->cnt.cold;
	s->template_clones = n->cnt.template_clones;
	s->forks = n->cnt.forks;
	s->remote_in = n->cnt.remote_in;
	s->fetches = n->cnt.fetches;
	s->evictions = n->cnt.evictions;
	s->rejects = n->cnt.rejects;
	s->instances = n->instances;
	s->vcpus_used = n->vcpus_used;
	s->vcpus = n->cfg.vcpus;
	s->mem_used = n->mem_used;
	s->mem = n->cfg.mem_bytes;
	s->templates = n->tc.nready;
	s->cache_used = n->tc.used;
	s->cache = n->tc.budget;
	return 0;
}

uint64_t ukf_engine_alive(const ukf_engine_t *e)
{
	return e ? e->node.instances : 0;
}

size_t ukf_engine_node_templates(const ukf_engine_t *e, ukf_node_id_t node,
				 char *buf, size_t cap)
{
	size_t off = 0;

	if (!buf || !cap)
		return 0;
	buf[0] = 0;
	if (!e || node != e->self)
		return 0;
	/* In app-id order, so samples are stable. */
	for (uint32_t a = 0; a < NAPPS(e); a++) {
		const struct ukf_tcache *c = &e->node.tc;
		int have = 0;
		for (uint32_t k = 0; k < c->n; k++)
			if (ukf_tcache_cat(c, k)->app == a &&
			    ukf_tcache_cat(c, k)->state == UKF_T_READY)
				have = 1;
		if (!have)
			continue;
		int w = snprintf(buf + off, cap - off, "%s%s", off ? "," : "",
				 APP(e, a)->name);
		if (w < 0 || (size_t)w >= cap - off) {
			buf[off] = 0;
			break;
		}
		off += (size_t)w;
	}
	return off;
}

void ukf_engine_set_alloc_hook(ukf_engine_t *e, int (*fail)(void *u), void *u)
{
	if (!e)
		return;
	e->fail_alloc = fail;
	e->fail_u = u;
}

ukf_node_id_t ukf_engine_node(const ukf_engine_t *e)
{
	return e ? e->self : UKF_NODE_NONE;
}

int ukf_engine_has(const ukf_engine_t *e, ukf_id_t id)
{
	const struct inst *i;

	if (!e)
		return 0;
	i = eng_map_get(&e->insts, id);
	if (i)
		return i->internal ? 3 : 1;
	return eng_map_get(&e->reqs, id) ? 2 : 0;
}

ukf_node_id_t ukf_engine_origin(const ukf_engine_t *e, ukf_id_t id)
{
	const struct inst *i = e ? eng_map_get(&e->insts, id) : NULL;

	return i && !i->internal ? i->origin : UKF_NODE_NONE;
}

uint64_t ukf_engine_pending(const ukf_engine_t *e)
{
	return e ? e->reqs.n : 0;
}
