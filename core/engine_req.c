/* SPDX-License-Identifier: MIT */
/* engine_req.c - requests at their origin: placement, retries with back-off,
 * local forks, the answer from the target. */
#include "engine_int.h"

static int local_fork(ukf_engine_t *e, struct req *q, struct inst *p);
static int save_delta(ukf_engine_t *e, struct inst *p, struct req *q);
static void delta_wait(ukf_engine_t *e, struct inst *p, struct req *q);

void eng_req_free(ukf_engine_t *e, struct req *q)
{
	eng_map_del(&e->reqs, q->id);
	free(q->args);
	free(q->delta);
	free(q);
}

/*
 * The attempt just made did not place q: try again after a back-off, or,
 * if that was its last attempt, fail it now (waiting out one more back-off
 * would only delay the answer).
 */
void eng_retry_later(ukf_engine_t *e, struct req *q)
{
	uint32_t sh = q->attempt > 0 ? q->attempt - 1 : 0;
	ukf_ns_t delay = e->retry_ns << (sh < 6 ? sh : 6);

	q->inflight = 0;
	q->delta_wait = 0;
	if (q->killed) {
		eng_req_fail(e, q, "killed");
		return;
	}
	if (q->attempt > e->max_retries) {
		char why[96];
		snprintf(why, sizeof(why), "no capacity after %u attempts",
			 q->attempt);
		eng_req_fail(e, q, why);
		return;
	}
	q->gen++;
	LOG(e, q->origin, "retry %llu attempt=%u in=%lldns", ULL(q->id),
	    q->attempt, LL(delay));
	eng_arm(e, q->origin, eng_now(e) + delay, T_RETRY, q->id, q->gen);
}

/* A request that can never be placed: the requester learns why. */
void eng_req_fail(ukf_engine_t *e, struct req *q, const char *why)
{
	struct inst *p =
	    q->parent ? eng_inst_at(e, q->origin, q->parent) : NULL;
	ukf_id_t id = q->id;
	uint64_t tag = q->tag;
	int notify = (q->flags & F_NOTIFY) != 0;

	LOG(e, q->origin, "fail %llu node=none reason=%s", ULL(q->id), why);
	eng_record_req(e, q, why ? why : "failed");
	if (p) {
		struct kid *k = eng_kid_find(p, q->id);
		if (k)
			eng_kid_remove(p, k);
		if ((p->call == UKF_CALL_FORK && q->kind == R_FORK &&
		     !(q->flags & F_NOTIFY)) ||
		    (p->call == UKF_CALL_SPAWN && q->kind == R_SPAWN))
			eng_complete(e, p, -UKF_EAGAIN, 0, 0, NULL, 0);
	}
	eng_req_free(e, q);
	if (notify && HOOK(e, on_fail))
		HOOK(e, on_fail)(HOOK(e, u), id, tag, why);
}

void eng_send_req(ukf_engine_t *e, struct req *q)
{
	if (q->killed) {
		eng_req_fail(e, q, "killed");
		return;
	}
	q->inflight = 1;
	struct ukf_msg m = {
	    .type = q->kind == R_FORK ? UKF_MSG_CLONE : UKF_MSG_SPAWN,
	    .id = q->id,
	    .parent = q->parent,
	    .tag = q->tag,
	    .t_request = q->t_request,
	    .t_placed = q->t_placed,
	    .bytes = q->delta_bytes,
	    .tver = q->kind == R_FORK ? q->tver : 0,
	    .app = q->app,
	    .origin = q->origin,
	    .attempt = q->attempt,
	    .flags = q->flags,
	    .text = q->args,
	    .text_len = q->args ? strlen(q->args) : 0,
	    .data = q->delta,
	    .data_len = q->delta_len,
	};
	if (q->target != q->origin)
		eng_answer_due(e, q);
	int rc = eng_deliver(e, q->origin, q->target, &m,
			     q->kind == R_FORK ? q->delta_bytes : 0);
	if (rc == -2)
		eng_req_fail(e, q, "request too large to send");
	else if (rc < 0)
		eng_retry_later(e, q);
}

/*
 * Remote forks' deltas. A backend saves one delta of a parent at a time;
 * forks of the same parent placed meanwhile wait in p->dwait (placed,
 * target chosen, not sent). When the delta comes, those requested no
 * later than its save began ship the same delta (the parent's state is
 * the one they asked for); the others start the next save at once and
 * all share it.
 */

/* Start saving p's delta for q; fails q if the backend refuses. */
static int save_delta(ukf_engine_t *e, struct inst *p, struct req *q)
{
	int rc;

	p->delta_req = q->id;
	p->t_delta = eng_now(e);
	q->inflight = 1;
	q->delta_wait = 0;
	rc = e->be->ops->save_delta(e->be->b, q->origin, p->id);
	if (rc < 0) {
		p->delta_req = 0;
		q->inflight = 0;
		eng_req_fail(e, q, "save_delta refused");
		return -1;
	}
	return 0;
}

/* q waits for the delta of p that is being saved. */
static void delta_wait(ukf_engine_t *e, struct inst *p, struct req *q)
{
	if (p->ndwait == p->capdwait) {
		uint32_t c = p->capdwait ? p->capdwait * 2 : 4;
		ukf_id_t *w = eng_realloc(e, p->dwait, c * sizeof(*w));
		if (!w) {
			eng_req_fail(e, q, "out of memory");
			return;
		}
		p->dwait = w;
		p->capdwait = c;
	}
	p->dwait[p->ndwait++] = q->id;
	q->delta_wait = 1;
	LOG(e, q->origin, "delta-wait %llu parent=%llu", ULL(q->id),
	    ULL(p->id));
}

/* A request of p->dwait still waiting, or NULL (it went: failed, killed,
 * sent back to placement). */
static struct req *waiter(ukf_engine_t *e, struct inst *p, ukf_id_t id)
{
	struct req *q = eng_req_at(e, p->node, id);

	return q && q->delta_wait && q->parent == p->id ? q : NULL;
}

/* The waiters that are left start the next save (the first one's). */
static void next_save(ukf_engine_t *e, struct inst *p)
{
	ukf_id_t id = p->id;

	while (p && !p->delta_req && p->ndwait) {
		struct req *q = waiter(e, p, p->dwait[0]);
		memmove(p->dwait, p->dwait + 1,
			(p->ndwait - 1) * sizeof(*p->dwait));
		p->ndwait--;
		if (q)
			save_delta(e, p, q);
		p = eng_inst_at(e, e->self, id); /* a failure may end it */
	}
}

/* q has its delta: send it, unless placement took it back meanwhile. */
static void delta_ready(ukf_engine_t *e, struct req *q, const void *data,
			size_t len, uint64_t bytes, uint64_t tver)
{
	q->have_delta = 1;
	q->tver = tver;
	q->delta_wait = 0;
	q->delta_bytes = bytes;
	if (len && data) {
		q->delta = eng_malloc(e, len);
		if (q->delta) {
			memcpy(q->delta, data, len);
			q->delta_len = len;
		}
	}
	if (q->inflight)
		eng_send_req(e, q);
}

void eng_delta_done(ukf_engine_t *e, struct inst *p,
		    const struct ukf_be_event *ev)
{
	struct req *q = eng_req_at(e, p->node, p->delta_req);
	ukf_id_t id = p->id;
	ukf_ns_t began = p->t_delta;
	uint32_t k = 0, kept = 0;
	uint64_t tver = eng_delta_tver(e, p);

	p->delta_req = 0;
	if (q)
		delta_ready(e, q, ev->data, ev->len, ev->bytes, tver);
	/* sending fails a request at worst, never its parent */
	while ((p = eng_inst_at(e, e->self, id)) != NULL && k < p->ndwait) {
		ukf_id_t w = p->dwait[k++];
		q = waiter(e, p, w);
		if (!q)
			continue;
		if (q->t_request <= began) {
			q->inflight = 1;
			delta_ready(e, q, ev->data, ev->len, ev->bytes, tver);
		} else {
			p->dwait[kept++] = w;
		}
	}
	if (!p)
		return;
	p->ndwait = kept;
	next_save(e, p);
}

void eng_delta_failed(ukf_engine_t *e, struct inst *p, const char *why)
{
	struct req *q = eng_req_at(e, p->node, p->delta_req);
	ukf_id_t id = p->id;

	p->delta_req = 0;
	if (q)
		eng_req_fail(e, q, why);
	p = eng_inst_at(e, e->self, id);
	if (p)
		next_save(e, p); /* the others try a save of their own */
}

/* Local fork: clone the paused parent on its own node. */
static int local_fork(ukf_engine_t *e, struct req *q, struct inst *p)
{
	struct node *n = &e->node;
	const struct ukf_app *a = APP(e, q->app);
	/* copy-on-write: the parent's dirtied pages copied, one unit's */
	uint64_t charge = eng_mem_charge(e, a, 1, p->dirty_pages + a->dirty_pages);
	struct inst *c;
	int rc;

	if (!eng_fits_mem(e, n, a, charge)) {
		n->cnt.rejects++;
		LOG(e, n->id, "nack %llu app=%s node=%u", ULL(q->id), a->name,
		    n->id);
		return -1;
	}
	c = eng_inst_new(e, q->id, q->app, n->id);
	if (!c)
		return -1;
	c->parent = q->parent;
	c->origin = q->origin;
	c->tag = q->tag;
	c->flags = q->flags;
	c->t_request = q->t_request;
	c->t_placed = q->t_placed;
	c->is_fork = 1;
	c->tver = p->tver; /* the parent's memory, the same template under */
	c->start = UKF_START_FORK;
	c->t_start = eng_now(e);
	n->cnt.requests++;
	n->cnt.forks++;
	eng_reserve_mem(e, n, c, a, charge);
	eng_share_add(e, n, c, p); /* the pages of p's template too */
	eng_count_request(e, n, q->app);
	eng_req_free(e, q);
	eng_log_start(e, c, "live");
	rc = e->be->ops->clone_live(e->be->b, n->id, c->id, p->id);
	if (rc < 0)
		eng_start_failed(e, c, "clone_live", rc);
	return 0;
}

/* What q would be charged on its origin's node n (eng_mem_charge). */
static uint64_t req_charge(ukf_engine_t *e, struct node *n,
			   const struct req *q, const struct ukf_app *a)
{
	const struct ukf_tentry *t;
	const struct inst *p;

	if (!e->mem_cow)
		return a->mem_bytes;
	if (q->kind == R_FORK) {
		p = eng_inst_at(e, q->origin, q->parent);
		return p ? eng_mem_charge(e, a, 1,
					  p->dirty_pages + a->dirty_pages)
			 : a->mem_bytes;
	}
	t = ukf_tcache_find(&n->tc, q->app);
	return t && t->state == UKF_T_READY
		       ? eng_mem_charge(e, a, 1,
					(uint64_t)a->dirty_pages * a->units)
		       : a->mem_bytes;
}

void eng_place_req(ukf_engine_t *e, struct req *q)
{
	struct node *n = &e->node;
	const struct ukf_app *a = APP(e, q->app);
	struct ukf_place_ctx c;
	struct ukf_dir_record self;
	ukf_node_id_t t;

	if (q->attempt > e->max_retries) {
		char why[96];
		snprintf(why, sizeof(why), "no capacity after %u attempts",
			 q->attempt);
		eng_req_fail(e, q, why);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.dir = e->env->ops->directory(e->env->w, q->origin);
	c.env = e->env;
	c.origin = q->origin;
	c.app = q->app;
	c.vcpus = a->vcpus;
	c.mem = a->mem_bytes;
	c.rr = &n->rr;
	/* copy-on-write admission: a spawn costs a holder of its app's
	 * template only a clone's pages (a fork child there needs that very
	 * version: judged by the whole mem, but at its origin) */
	if (e->mem_cow && q->kind == R_SPAWN)
		c.mem_clone = eng_mem_charge(
		    e, a, 1, (uint64_t)a->dirty_pages * a->units);
	eng_node_record(n, &self);
	c.self = &self;
	t = c.dir ? e->place->place(&c) : UKF_NODE_NONE;
	/* The view may be stale or empty; the origin knows its own room. */
	if (t == UKF_NODE_NONE && eng_fits_mem(e, n, a, req_charge(e, n, q, a)))
		t = q->origin;
	q->attempt++;
	if (t == UKF_NODE_NONE || t >= e->nodes) {
		LOG(e, q->origin, "noplace %llu app=%s attempt=%u", ULL(q->id),
		    a->name, q->attempt);
		eng_retry_later(e, q);
		return;
	}
	q->target = t;
	q->t_placed = eng_now(e);
	LOG(e, q->origin, "place %llu app=%s origin=%u -> node=%u attempt=%u",
	    ULL(q->id), a->name, q->origin, t, q->attempt);
	if (q->kind == R_FORK) {
		struct inst *p = eng_inst_at(e, q->origin, q->parent);
		if (!p) {
			eng_req_fail(e, q, "parent gone");
			return;
		}
		if (t == q->origin) {
			if (local_fork(e, q, p) < 0)
				eng_retry_later(e, q);
			return;
		}
		if (!q->have_delta) {
			if (p->delta_req == q->id) {
				/* its save is still under way (it was sent
				 * back to placement meanwhile) */
				q->inflight = 1;
				return;
			}
			if (p->delta_req) {
				/* one save at a time per parent: wait for
				 * the one under way, no back-off */
				delta_wait(e, p, q);
				return;
			}
			save_delta(e, p, q);
			return; /* continues at UKF_BE_DELTA */
		}
	}
	eng_send_req(e, q);
}

struct req *eng_req_new(ukf_engine_t *e, enum req_kind kind,
			ukf_node_id_t origin, uint32_t app, ukf_id_t parent,
			uint64_t tag, uint32_t flags, const char *args,
			size_t args_len)
{
	struct req *q = eng_calloc(e, 1, sizeof(*q));

	if (!q)
		return NULL;
	q->id = eng_new_id(e);
	q->kind = kind;
	q->origin = origin;
	q->app = app;
	q->parent = parent;
	q->tag = tag;
	q->flags = flags;
	q->t_request = eng_now(e);
	q->t_placed = UKF_NS_NEVER;
	if (args && args_len) {
		q->args = eng_dupstr(e, args, args_len);
		if (!q->args) {
			free(q);
			return NULL;
		}
	}
	if (eng_map_put(e, &e->reqs, q->id, q) < 0) {
		free(q->args);
		free(q);
		return NULL;
	}
	LOG(e, origin, "request %llu app=%s origin=%u parent=%llu kind=%s",
	    ULL(q->id), eng_app_name(e, app), origin, ULL(parent),
	    kind == R_FORK ? "fork" : "spawn");
	return q;
}

/* The new instance runs (READY message at the origin, or local fork). */
void eng_started_at_origin(ukf_engine_t *e, ukf_node_id_t origin, ukf_id_t id,
			   ukf_id_t parent, ukf_node_id_t node, uint64_t tag,
			   uint32_t flags)
{
	struct req *q = eng_req_at(e, origin, id);
	enum req_kind kind = (flags & F_FORK) ? R_FORK : R_SPAWN;
	struct inst *p;
	ukf_node_id_t was;

	if (!q && eng_cancelled(e, id, &was, 0)) {
		/* its request was given up: the instance must not live */
		struct ukf_msg m = {
		    .type = UKF_MSG_KILL, .id = id, .origin = origin};
		LOG(e, origin, "kill %llu node=%u: answered too late", ULL(id),
		    node);
		eng_deliver(e, origin, node, &m, 0);
		return;
	}
	if (q && q->killed) {
		/* killed while in flight: stop it where it landed; its FAIL
		 * comes back here like any other */
		struct ukf_msg m = {
		    .type = UKF_MSG_KILL, .id = id, .origin = origin};
		eng_req_free(e, q);
		eng_deliver(e, origin, node, &m, 0);
		return;
	}
	int known = q != NULL;
	uint32_t app = q ? q->app : 0;
	ukf_ns_t t_request = q ? q->t_request : UKF_NS_NEVER;
	ukf_ns_t t_placed = q ? q->t_placed : UKF_NS_NEVER;
	if (q)
		eng_req_free(e, q);
	if (parent && (p = eng_inst_at(e, origin, parent)) != NULL) {
		struct kid *k = eng_kid_find(p, id);
		if (k && k->state == K_PENDING) {
			k->state = K_RUNNING;
			k->node = node;
			k->start = (uint8_t)eng_ready_start(flags);
			k->app = known ? app : p->app;
			k->t_request = t_request;
			k->t_placed = t_placed;
			k->t_ready = eng_now(e);
		}
		if (!(flags & F_NOTIFY) &&
		    ((kind == R_FORK && p->call == UKF_CALL_FORK) ||
		     (kind == R_SPAWN && p->call == UKF_CALL_SPAWN)))
			eng_complete(e, p, (int64_t)id, 0, 0, NULL, 0);
	}
	/* a workload request running elsewhere: what its row needs should
	 * that node be lost (a fork child's is in its parent's kid) */
	if ((flags & F_NOTIFY) && node != origin)
		eng_away_add(e, id, node, parent, app, tag, flags, t_request,
			     t_placed);
	if ((flags & F_NOTIFY) && HOOK(e, on_ready))
		HOOK(e, on_ready)(HOOK(e, u), id, tag);
}
