/* SPDX-License-Identifier: MIT */
/* engine_peer.c - other nodes that fail: answers that do not come in time, peers lost or restarted. */
#include "engine_int.h"

/*
 * A workload instance that runs on another node, as its origin knows it
 * until the EXIT or FAIL comes back: what a row and a failure notice need
 * if that node is lost meanwhile.
 */
struct away {
	ukf_id_t id, parent;
	ukf_node_id_t node;
	uint32_t app, flags; /* flags: READY's, the start kind in them */
	uint64_t tag;
	/* t_ready: when the READY came (this node's clock, a message's
	 * latency after the host's own) */
	ukf_ns_t t_request, t_placed, t_ready;
};

void eng_away_add(ukf_engine_t *e, ukf_id_t id, ukf_node_id_t node,
		  ukf_id_t parent, uint32_t app, uint64_t tag, uint32_t flags,
		  ukf_ns_t t_request, ukf_ns_t t_placed)
{
	struct away *a;

	if (eng_map_get(&e->away, id))
		return;
	a = eng_malloc(e, sizeof(*a));
	if (!a) {
		LOG(e, e->self, "error away %llu: out of memory", ULL(id));
		return;
	}
	*a = (struct away){ .id = id, .parent = parent, .node = node,
			    .app = app, .flags = flags, .tag = tag,
			    .t_request = t_request, .t_placed = t_placed,
			    .t_ready = eng_now(e) };
	if (eng_map_put(e, &e->away, id, a) < 0) {
		LOG(e, e->self, "error away %llu: out of memory", ULL(id));
		free(a);
	}
}

void eng_away_remove(ukf_engine_t *e, ukf_id_t id)
{
	struct away *a = eng_map_get(&e->away, id);

	if (a) {
		eng_map_del(&e->away, id);
		free(a);
	}
}

/*
 * 1 (and *node) if id's request was given up; with `take`, forgotten too
 * (its last word, EXIT or FAIL, came; a READY comes before it).
 */
int eng_cancelled(ukf_engine_t *e, ukf_id_t id, ukf_node_id_t *node,
		  int take)
{
	void *v;

	if (!e->cancelled.n || !(v = eng_map_get(&e->cancelled, id)))
		return 0;
	*node = (ukf_node_id_t)((uintptr_t)v - 1);
	if (take)
		eng_map_del(&e->cancelled, id);
	return 1;
}

/* A SPAWN or CLONE of q is being sent: its answer is due in time. */
void eng_answer_due(ukf_engine_t *e, struct req *q)
{
	if (e->timed_answers)
		eng_arm(e, q->origin, eng_now(e) + e->answer_timeout_ns,
			T_ANSWER, q->id, q->gen);
}

/*
 * No answer in time: the target may be slow, partitioned or gone, and may
 * still start the instance. Give the request up (its requester hears so)
 * and make sure no instance of it lives: a KILL goes to the target now,
 * and a READY that still comes is answered with another.
 */
void eng_answer_timeout(ukf_engine_t *e, ukf_id_t id, uint32_t gen)
{
	struct req *q = eng_req_at(e, e->self, id);
	struct ukf_msg m = { .type = UKF_MSG_KILL, .id = id,
			     .origin = e->self };
	ukf_node_id_t target;
	char why[128];

	if (!q || !q->inflight || (q->gen & 0xfff) != gen ||
	    q->target == e->self)
		return;
	target = q->target;
	if (eng_map_put(e, &e->cancelled, id,
			(void *)(uintptr_t)(target + 1)) < 0)
		LOG(e, e->self, "error cancel %llu: out of memory", ULL(id));
	snprintf(why, sizeof(why), "no answer from node %u within %.3f s",
		 target, (double)e->answer_timeout_ns / 1e9);
	LOG(e, e->self, "timeout %llu node=%u", ULL(id), target);
	eng_req_fail(e, q, why);
	eng_deliver(e, e->self, target, &m, 0);
}

/* What the origin knew of an instance lost with its node: its READY
 * said how it started; it came at t_ready (the host's own start and
 * ready times are lost with it). */
struct lost_inst {
	ukf_id_t id, parent;
	uint32_t app;
	ukf_node_id_t node;
	enum ukf_start start;
	ukf_ns_t t_request, t_placed, t_ready;
};

/* A row for an instance lost with its node, as its origin knew it. */
static void record_lost(ukf_engine_t *e, const struct lost_inst *l,
			const char *why)
{
	struct ukf_record r;

	if (!e->env->ops->record)
		return;
	memset(&r, 0, sizeof(r));
	r.id = l->id;
	r.parent = l->parent;
	r.app = l->app;
	r.app_name = eng_app_name(e, l->app);
	r.origin = e->self;
	r.node = l->node;
	r.start = l->start;
	r.remote = 1;
	r.t_request = l->t_request;
	r.t_placed = l->t_placed;
	r.t_ready = l->t_ready;
	r.t_start = UKF_NS_NEVER;
	r.t_exit = eng_now(e);
	r.status = UKF_STATUS_FAILED;
	r.fail_reason = why;
	e->env->ops->record(e->env->w, &r);
}

static int cmp_id(const void *x, const void *y)
{
	ukf_id_t a = *(const ukf_id_t *)x, b = *(const ukf_id_t *)y;

	return a < b ? -1 : a > b;
}

/*
 * Collect the keys of a map first (handlers below change the maps), in
 * id order: what is done first does not depend on the map's layout.
 */
static size_t keys_of(ukf_engine_t *e, const struct idmap *m, ukf_id_t **out)
{
	size_t n = 0;

	*out = m->n ? eng_malloc(e, m->n * sizeof(**out)) : NULL;
	if (!*out)
		return 0;
	for (size_t k = 0; k < m->cap; k++)
		if (m->s[k].key)
			(*out)[n++] = m->s[k].key;
	qsort(*out, n, sizeof(**out), cmp_id);
	return n;
}

static void lost_add(ukf_engine_t *e, ukf_node_id_t peer);

void ukf_engine_peer_down(ukf_engine_t *e, ukf_node_id_t peer,
			  const char *why)
{
	struct node *n;
	ukf_id_t *ids;
	size_t cnt;
	char reason[160];

	if (!e || peer == e->self || peer >= e->nodes)
		return;
	n = &e->node;
	snprintf(reason, sizeof(reason), "node %u lost: %s", peer,
		 why ? why : "gone");
	LOG(e, e->self, "peer-down node=%u reason=%s", peer,
	    why ? why : "gone");
	lost_add(e, peer);
	/* requests sent there: place them again */
	cnt = keys_of(e, &e->reqs, &ids);
	for (size_t k = 0; k < cnt; k++) {
		struct req *q = eng_req_at(e, e->self, ids[k]);
		if (q && (q->inflight || q->delta_wait) &&
		    q->target == peer && q->target != q->origin)
			eng_retry_later(e, q);
	}
	free(ids);
	/* template fetches from it: make the template here instead */
	for (uint32_t k = 0; k < n->tc.n; k++) {
		struct ukf_tentry *t = ukf_tcache_at(&n->tc, k);
		if (t->state == UKF_T_PENDING && t->fetching == 1 &&
		    t->from == peer) {
			LOG(e, e->self,
			    "template-fetch-failed app=%s node=%u from=%u",
			    eng_app_name(e, t->app), e->self, peer);
			eng_fetch_failed(e, n, t);
			k = (uint32_t)-1; /* the cache may have moved: rescan */
		}
	}
	/* children of local instances that ran there */
	cnt = keys_of(e, &e->insts, &ids);
	for (size_t k = 0; k < cnt; k++) {
		struct inst *p = eng_inst_at(e, e->self, ids[k]);
		for (uint32_t j = 0; p && j < p->nkids; j++) {
			struct kid *kd = &p->kids[j];
			if (kd->state != K_RUNNING || kd->node != peer)
				continue;
			ukf_id_t cid = kd->id;
			struct lost_inst l = {
				.id = cid, .parent = p->id, .app = kd->app,
				.node = peer,
				.start = (enum ukf_start)kd->start,
				.t_request = kd->t_request,
				.t_placed = kd->t_placed,
				.t_ready = kd->t_ready,
			};
			LOG(e, e->self, "fail %llu node=%u reason=%s",
			    ULL(cid), peer, reason);
			record_lost(e, &l, reason);
			eng_away_remove(e, cid);
			eng_child_ended(e, p, cid, UKF_STATUS_FAILED);
			p = eng_inst_at(e, e->self, ids[k]);
			j = (uint32_t)-1; /* the kid table changed: rescan */
		}
	}
	free(ids);
	/* given-up requests whose last word would have come from there */
	cnt = keys_of(e, &e->cancelled, &ids);
	for (size_t k = 0; k < cnt; k++) {
		ukf_node_id_t was;
		if (eng_cancelled(e, ids[k], &was, 0) && was == peer)
			eng_cancelled(e, ids[k], &was, 1);
	}
	free(ids);
	/* workload instances that ran there */
	cnt = keys_of(e, &e->away, &ids);
	for (size_t k = 0; k < cnt; k++) {
		struct away *a = eng_map_get(&e->away, ids[k]);
		struct away copy;
		if (!a || a->node != peer)
			continue;
		copy = *a;
		eng_away_remove(e, ids[k]);
		LOG(e, e->self, "fail %llu node=%u reason=%s", ULL(copy.id),
		    peer, reason);
		struct lost_inst l = {
			.id = copy.id, .parent = copy.parent, .app = copy.app,
			.node = peer,
			.start = eng_ready_start(copy.flags),
			.t_request = copy.t_request,
			.t_placed = copy.t_placed,
			.t_ready = copy.t_ready,
		};
		record_lost(e, &l, reason);
		if ((copy.flags & F_NOTIFY) && HOOK(e, on_fail))
			HOOK(e, on_fail)(HOOK(e, u), copy.id, copy.tag, reason);
	}
	free(ids);
}

/*
 * Fork children of its instances waiting here for a template: their
 * parent is gone with it, their origin (that node) wrote no row for them
 * (this node holds them), a NACK to it would be lost, and the version
 * their delta needs may be held by that node only (a fetch from it is
 * never answered: the children, and every later fork of the app waiting
 * on this node's pending template, would wait to the end of the run).
 * They never started: they end here as failed, with their row.
 */
void ukf_engine_peer_failed(ukf_engine_t *e, ukf_node_id_t peer,
			    const char *why)
{
	ukf_id_t *ids;
	size_t cnt;
	char reason[160];

	if (!e || peer == e->self || peer >= e->nodes)
		return;
	snprintf(reason, sizeof(reason), "node %u lost: %s", peer,
		 why ? why : "gone");
	cnt = keys_of(e, &e->insts, &ids);
	for (size_t k = 0; k < cnt; k++) {
		struct inst *i = eng_inst_at(e, e->self, ids[k]);
		if (i && !i->internal && i->is_fork && i->waiting_tpl &&
		    i->origin == peer)
			eng_inst_finish(e, i, UKF_STATUS_FAILED, reason);
	}
	free(ids);
}

void ukf_engine_tell_lost(ukf_engine_t *e, const char *why)
{
	ukf_id_t *ids;
	size_t cnt;

	if (!e || !HOOK(e, on_fail))
		return;
	cnt = keys_of(e, &e->away, &ids);
	for (size_t k = 0; k < cnt; k++) {
		struct away *a = eng_map_get(&e->away, ids[k]);
		if (a && (a->flags & F_NOTIFY))
			HOOK(e, on_fail)(HOOK(e, u), a->id, a->tag, why);
	}
	free(ids);
}

/* Free what the maps of this room hold (engine destroy). */
/*
 * Is `peer` lost as far as this node knows: it was reported down
 * (ukf_engine_peer_down) and its record has not come back into this
 * node's directory view since (a lost peer's record is forgotten: version
 * 0; a record seen again, e.g. the link back, ends the loss)? A message
 * sent there now is lost with it, and nothing would say so again.
 */
int eng_peer_lost(ukf_engine_t *e, ukf_node_id_t peer)
{
	const ukf_dir_t *d;

	for (uint32_t k = 0; k < e->nlost; k++) {
		if (e->lost[k] != peer)
			continue;
		d = e->env->ops->directory(e->env->w, e->self);
		if (d && ukf_dir_get(d, peer)->version == 0)
			return 1;
		e->lost[k] = e->lost[--e->nlost]; /* back */
		return 0;
	}
	return 0;
}

static void lost_add(ukf_engine_t *e, ukf_node_id_t peer)
{
	for (uint32_t k = 0; k < e->nlost; k++)
		if (e->lost[k] == peer)
			return;
	if (e->nlost == e->lost_cap) {
		uint32_t cap = e->lost_cap ? 2 * e->lost_cap : 4;
		ukf_node_id_t *l = eng_realloc(e, e->lost, cap * sizeof(*l));
		if (!l)
			return; /* not remembered: as before, a fetch may be sent */
		e->lost = l;
		e->lost_cap = cap;
	}
	e->lost[e->nlost++] = peer;
}

void eng_peer_free(ukf_engine_t *e)
{
	free(e->lost);
	for (size_t k = 0; k < e->away.cap; k++)
		if (e->away.s[k].key)
			free(e->away.s[k].val);
	eng_map_free(&e->away);
	eng_map_free(&e->cancelled);
}
