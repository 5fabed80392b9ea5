/* SPDX-License-Identifier: MIT */
/* engine_inst.c - instances on their node: accepting spawns and clones,
 * starting them cold, from a template or from a delta, their end. */
#include "engine_int.h"

static int wants_template(ukf_engine_t *e, struct node *n, uint32_t app);
static void host_spawn(ukf_engine_t *e, struct node *n, struct inst *i);
static void host_clone(ukf_engine_t *e, struct node *n, struct inst *i);

struct kid *eng_kid_find(struct inst *p, ukf_id_t id)
{
	for (uint32_t k = 0; k < p->nkids; k++)
		if (p->kids[k].id == id)
			return &p->kids[k];
	return NULL;
}

struct kid *eng_kid_add(ukf_engine_t *e, struct inst *p, ukf_id_t id)
{
	if (p->nkids == p->capkids) {
		uint32_t c = p->capkids ? p->capkids * 2 : 4;
		struct kid *k = eng_realloc(e, p->kids, c * sizeof(*k));
		if (!k)
			return NULL;
		p->kids = k;
		p->capkids = c;
	}
	struct kid *k = &p->kids[p->nkids++];
	memset(k, 0, sizeof(*k));
	k->id = id;
	k->node = UKF_NODE_NONE;
	return k;
}

void eng_kid_remove(struct inst *p, struct kid *k)
{
	/* keep order: "wait any" reaps the earliest exited child */
	size_t idx = (size_t)(k - p->kids);
	memmove(k, k + 1, (p->nkids - idx - 1) * sizeof(*k));
	p->nkids--;
}

/* A new instance; NULL if out of memory or the id is taken (forged). */
struct inst *eng_inst_new(ukf_engine_t *e, ukf_id_t id, uint32_t app,
			  ukf_node_id_t node)
{
	struct inst *i;

	if (eng_map_get(&e->insts, id))
		return NULL;
	i = eng_calloc(e, 1, sizeof(*i));
	if (!i)
		return NULL;
	i->id = id;
	i->app = app;
	i->node = node;
	i->origin = node;
	i->start = UKF_START_UNKNOWN;
	i->t_request = i->t_placed = i->t_start = eng_now(e);
	i->t_ready = UKF_NS_NEVER;
	if (eng_map_put(e, &e->insts, id, i) < 0) {
		free(i);
		return NULL;
	}
	return i;
}

void eng_inst_free(ukf_engine_t *e, struct inst *i)
{
	struct qmsg *q = i->qhead;

	while (q) {
		struct qmsg *n = q->next;
		free(q);
		q = n;
	}
	eng_map_del(&e->insts, i->id);
	free(i->kids);
	free(i->args);
	free(i->delta);
	free(i->r_data);
	free(i->dwait);
	free(i);
}

void eng_start_failed(ukf_engine_t *e, struct inst *i, const char *op, int rc)
{
	char why[96];

	snprintf(why, sizeof(why), "%s refused (%d)", op, rc);
	eng_inst_finish(e, i, UKF_STATUS_FAILED, why);
}

void eng_log_start(ukf_engine_t *e, struct inst *i, const char *via)
{
	if (i->is_fork)
		LOG(e, i->node,
		    "fork %llu parent=%llu app=%s origin=%u -> node=%u via=%s",
		    ULL(i->id), ULL(i->parent), eng_app_name(e, i->app),
		    i->origin, i->node, via);
	else
		LOG(e, i->node, "spawn %llu app=%s origin=%u -> node=%u via=%s",
		    ULL(i->id), eng_app_name(e, i->app), i->origin, i->node,
		    via);
}

void eng_start_cold(ukf_engine_t *e, struct node *n, struct inst *i, int maker)
{
	int rc;

	i->start = UKF_START_COLD;
	i->t_start = eng_now(e);
	n->cnt.cold++;
	if (maker) {
		struct ukf_tentry *t = ukf_tcache_find(&n->tc, i->app);
		if (t)
			t->maker = i->id;
	}
	eng_log_start(e, i, maker ? "cold+template" : "cold");
	rc = e->be->ops->cold_boot(e->be->b, n->id, i->id, APP(e, i->app),
				   i->args ? i->args : "");
	if (rc < 0)
		eng_start_failed(e, i, "cold_boot", rc);
}

void eng_start_clone_template(ukf_engine_t *e, struct node *n, struct inst *i)
{
	struct ukf_tentry *t = ukf_tcache_find(&n->tc, i->app);
	int rc;

	if (t)
		ukf_tcache_touch(&n->tc, t);
	i->tver = t && t->state == UKF_T_READY ? t->tver : 0;
	eng_share_add(e, n, i, NULL);
	i->start = UKF_START_TEMPLATE;
	i->t_start = eng_now(e);
	n->cnt.template_clones++;
	eng_log_start(e, i, i->fetched ? "fetched-template" : "template");
	rc = e->be->ops->clone_template(e->be->b, n->id, i->id, APP(e, i->app),
					i->args ? i->args : "");
	if (rc < 0)
		eng_start_failed(e, i, "clone_template", rc);
}

void eng_start_restore(ukf_engine_t *e, struct node *n, struct inst *i)
{
	struct ukf_tentry *t = ukf_tcache_find(&n->tc, i->app);
	int rc;

	if (t)
		ukf_tcache_touch(&n->tc, t);
	i->start = UKF_START_FORK;
	i->t_start = eng_now(e);
	n->cnt.forks++;
	eng_log_start(e, i, "delta");
	/* the delta stays until the child runs: a restore refused for
	 * another template (-ESTALE) is tried again with the right one */
	rc = e->be->ops->restore_delta(e->be->b, n->id, i->id, i->app, i->delta,
				       i->delta_len, i->delta_bytes);
	if (rc >= 0)
		eng_share_add(e, n, i, NULL);
	if (rc == -ESTALE && i->remote) {
		n->cnt.forks--;
		eng_fork_wait_version(e, n, i, "restore refused: another template");
	} else if (rc < 0) {
		eng_start_failed(e, i, "restore_delta", rc);
	}
}

static int wants_template(ukf_engine_t *e, struct node *n, uint32_t app)
{
	if (!e->use_templates)
		return 0;
	if (eng_toobig(n, app))
		return 0; /* it cannot be kept here (engine_tpl.c) */
	if (e->topk_only) {
		/* prewarm: the top K; and an app that has fallen out of it
		 * while its template is still here, ready (it booted cold
		 * beside it, the template unused until evicted) */
		const struct ukf_tentry *t;
		return ukf_topk_has(&n->topk, app) ||
		       ((t = ukf_tcache_find(&n->tc, app)) &&
			t->state == UKF_T_READY);
	}
	return 1;
}

/* A spawn accepted on node n (capacity reserved): choose how it starts. */
static void host_spawn(ukf_engine_t *e, struct node *n, struct inst *i)
{
	struct ukf_tentry *t;

	if (!wants_template(e, n, i->app)) {
		eng_start_cold(e, n, i, 0);
		return;
	}
	t = ukf_tcache_find(&n->tc, i->app);
	if (t && t->state == UKF_T_READY) {
		eng_start_clone_template(e, n, i);
		return;
	}
	if (t) {
		/*
		 * Pending: wait for it. A workload instance that is to make
		 * it may never reach ready() (a guest need not call it): past
		 * MAKER_GRACE after its start, spawns boot cold instead, and
		 * a timer then releases those already waiting.
		 */
		struct inst *m =
		    t->maker ? eng_inst_at(e, n->id, t->maker) : NULL;
		if (m && !m->internal && m->t_ready == UKF_NS_NEVER) {
			ukf_ns_t until =
			    m->t_start + MAKER_GRACE(APP(e, m->app));
			if (eng_now(e) >= until) {
				eng_start_cold(e, n, i, 0);
				return;
			}
			if (!m->maker_timer) {
				m->maker_timer = 1;
				eng_arm(e, n->id, until, T_MAKER, m->id, 0);
			}
		}
		eng_log_start(e, i, "wait-template");
		eng_wait_tpl(t, i);
		return;
	}
	int rc = eng_obtain_template(e, n, i->app, eng_clone_charge(e, i), &t);
	if (rc > 0) {
		/* copy-on-write admission: no memory here for its template
		 * beside what runs (its own reservation covers a cold boot) */
		LOG(e, n->id, "template-skip app=%s node=%u: no memory",
		    eng_app_name(e, i->app), n->id);
		eng_start_cold(e, n, i, 0);
		return;
	}
	if (rc < 0) {
		eng_start_cold(e, n, i, 0); /* cache full of pending entries */
		return;
	}
	if (t->fetching) {
		eng_log_start(e, i, "wait-template");
		eng_wait_tpl(t, i);
	} else {
		eng_start_cold(e, n, i, 1);
	}
}

/* A remote fork child accepted on node n: it needs the app's template. */
static void host_clone(ukf_engine_t *e, struct node *n, struct inst *i)
{
	struct ukf_tentry *t = ukf_tcache_find(&n->tc, i->app);

	if (t && t->state == UKF_T_READY) {
		if (eng_tpl_matches(t, i->tver))
			eng_start_restore(e, n, i);
		else /* this node made its own: the parent's is another */
			eng_fork_wait_version(e, n, i, "another version here");
		return;
	}
	if (!t && i->tver) {
		/* only the parent's template serves its delta: from its node,
		 * whatever the fetch policy (one made here would be another) */
		eng_fork_wait_version(e, n, i, "none here");
		return;
	}
	if (!t) {
		int rc = eng_obtain_template(e, n, i->app,
					     eng_clone_charge(e, i), &t);
		if (rc != 0) {
			/* 1: no memory for it (copy-on-write admission;
			 * eng_host_accept checked there was: cannot happen) */
			eng_inst_finish(e, i, UKF_STATUS_FAILED,
					rc > 0 ? "no memory for its template"
					       : "template cache full");
			return;
		}
		if (!t->fetching) {
			eng_boot_maker(e, n, t, i);
			if (!t->maker) {
				ukf_tcache_remove(&n->tc, i->app);
				eng_inst_finish(e, i, UKF_STATUS_FAILED,
						"cannot boot template");
				return;
			}
		}
	}
	eng_fork_wait_tpl(e, n, t, i);
}

/*
 * Copy-on-write admission: the memory a remote fork child m also needs on
 * n for its template t (NULL: none here), when n holds none it can use
 * and none is coming: the template's bytes when it will be fetched; when
 * made here (a whole-image delta, no holder), what the child dirties as
 * its clone (the maker runs in the child's reservation and its pages
 * become the template's). A spawn needs none: without room for its
 * template it boots cold (host_spawn).
 */
static uint64_t clone_tpl_need(ukf_engine_t *e, struct node *n,
			       const struct ukf_msg *m, const struct ukf_app *a,
			       const struct ukf_tentry *t)
{
	const ukf_dir_t *d;

	if (t)
		return 0; /* pending: held already (ready: host_charge) */
	if (m->tver)
		return a->mem_bytes; /* fetched, whatever the policy */
	d = e->cfg.fetch == UKF_FETCH_PEER
		? e->env->ops->directory(e->env->w, n->id)
		: NULL;
	if (d &&
	    ukf_dir_next_holder(d, m->app, n->id + 1, n->id) != UKF_NODE_NONE)
		return a->mem_bytes; /* eng_obtain_template fetches it */
	return eng_mem_charge(e, a, 1,
			      (m->bytes + UKF_PAGE_SIZE - 1) / UKF_PAGE_SIZE +
				  a->dirty_pages);
}

/* What SPAWN/CLONE m is charged on n (eng_mem_charge): under copy-on-write
 * admission a clone of a template ready here its private pages; *need:
 * what its template needs beside it (clone_tpl_need), 0 under full. */
static uint64_t host_charge(ukf_engine_t *e, struct node *n,
			    const struct ukf_msg *m, const struct ukf_app *a,
			    uint64_t *need)
{
	struct ukf_tentry *t;

	*need = 0;
	if (!e->mem_cow)
		return a->mem_bytes;
	t = ukf_tcache_find(&n->tc, m->app);
	if (!t || t->state != UKF_T_READY) {
		if (m->type == UKF_MSG_CLONE)
			*need = clone_tpl_need(e, n, m, a, t);
		return a->mem_bytes; /* a cold boot, or a wait for one */
	}
	if (m->type == UKF_MSG_CLONE) {
		if (eng_tpl_matches(t, m->tver))
			return eng_mem_charge(e, a, 1,
					      (m->bytes + UKF_PAGE_SIZE - 1) /
						      UKF_PAGE_SIZE +
						  a->dirty_pages);
		/* another version here: replaced by the parent's, which
		 * frees the bytes of this one unless clones of it run */
		uint64_t frees = eng_tpl_frees(e, n, t);
		*need = frees >= a->mem_bytes ? 0 : a->mem_bytes - frees;
		return a->mem_bytes;
	}
	return eng_mem_charge(e, a, 1, (uint64_t)a->dirty_pages * a->units);
}

/*
 * Accept SPAWN/CLONE m on node n after re-checking capacity against the
 * node's true state. Returns 0, or -1 if the node has no room (NACK).
 */
int eng_host_accept(ukf_engine_t *e, struct node *n, const struct ukf_msg *m)
{
	const struct ukf_app *a = APP(e, m->app);
	uint64_t need;
	uint64_t charge = host_charge(e, n, m, a, &need);
	struct inst *i;

	if (!eng_fits_mem(e, n, a, charge + need)) {
		n->cnt.rejects++;
		LOG(e, n->id, "nack %llu app=%s node=%u", ULL(m->id), a->name,
		    n->id);
		return -1;
	}
	if (eng_map_get(&e->insts, m->id)) {
		LOG(e, n->id, "drop %s %llu: duplicate instance id",
		    ukf_msg_name(m->type), ULL(m->id));
		return 0;
	}
	i = eng_inst_new(e, m->id, m->app, n->id);
	if (!i) {
		LOG(e, n->id, "nack %llu: out of memory", ULL(m->id));
		return -1;
	}
	i->parent = m->parent;
	i->origin = m->origin;
	i->tag = m->tag;
	i->flags = m->flags;
	i->t_request = m->t_request;
	i->t_placed = m->t_placed;
	i->remote = m->origin != n->id;
	if (m->text_len)
		i->args = eng_dupstr(e, m->text, m->text_len);
	n->cnt.requests++;
	if (i->remote)
		n->cnt.remote_in++;
	eng_reserve_mem(e, n, i, a, charge);
	eng_count_request(e, n, m->app);
	if (m->type == UKF_MSG_CLONE) {
		i->is_fork = 1;
		i->delta_bytes = m->bytes;
		i->tver = m->tver;
		if (m->data_len) {
			i->delta = eng_malloc(e, m->data_len);
			if (i->delta) {
				memcpy(i->delta, m->data, m->data_len);
				i->delta_len = m->data_len;
			}
		}
		host_clone(e, n, i);
	} else {
		host_spawn(e, n, i);
	}
	return 0;
}

void eng_notify_origin(ukf_engine_t *e, struct inst *i, enum ukf_msg_type type,
		       int64_t status, const char *why)
{
	struct ukf_msg m = {
	    .type = type,
	    .id = i->id,
	    .parent = i->parent,
	    .node = i->node,
	    .tag = i->tag,
	    .status = status,
	    .app = i->app,
	    .origin = i->origin,
	    .flags = i->flags | (i->is_fork ? F_FORK : 0),
	    .text = why,
	    .text_len = why ? strlen(why) : 0,
	};

	if (m.text_len > UKF_WIRE_TEXT_MAX)
		m.text_len = UKF_WIRE_TEXT_MAX;
	/* the origin keeps what it is told for the row it writes should
	 * this node be lost (engine_peer.c) */
	if (type == UKF_MSG_READY)
		m.flags = (m.flags & ~(F_START_KNOWN | 3u << F_START_SHIFT)) |
			  F_START_KNOWN | ((uint32_t)i->start & 3u)
						  << F_START_SHIFT;
	eng_deliver(e, i->node, i->origin, &m, 0);
}

void eng_inst_finish(ukf_engine_t *e, struct inst *i, int64_t status,
		     const char *why)
{
	struct node *n = &e->node;
	struct ukf_tentry *t = ukf_tcache_find(&n->tc, i->app);
	ukf_ns_t t_exit = i->t_end ? i->t_end : eng_now(e);
	int counted = !i->internal;

	if (i->waiting_tpl)
		eng_unwait_tpl(n, i);
	if (i->delta_req || i->ndwait) {
		/* remote forks of it were saving or waiting for its delta */
		struct req *q = eng_req_at(e, i->node, i->delta_req);
		i->delta_req = 0;
		if (q)
			eng_req_fail(e, q, "parent gone");
		for (uint32_t k = 0; k < i->ndwait; k++) {
			q = eng_req_at(e, i->node, i->dwait[k]);
			if (q && q->delta_wait && q->parent == i->id)
				eng_req_fail(e, q, "parent gone");
		}
		i->ndwait = 0;
	}
	if (t && t->state == UKF_T_PENDING && t->maker == i->id) {
		t->maker = 0;
		eng_template_failed(e, n, i->app, "maker ended");
	}
	if (i->internal) {
		eng_maker_end(e, i, why ? why : "ended before its template");
		return;
	}
	e->be->ops->destroy(e->be->b, n->id, i->id);
	if (why)
		LOG(e, n->id, "fail %llu node=%u reason=%s", ULL(i->id), n->id,
		    why);
	else
		LOG(e, n->id, "exit %llu node=%u status=%lld", ULL(i->id),
		    n->id, LL(status));
	eng_record_inst(e, i, t_exit, status, why);
	if (i->resuming)
		eng_resume_unlink(n, i);
	if (counted) {
		eng_release_inst(e, n, i, !i->vcpu_off);
		if (i->is_fork && !i->running)
			eng_lender_gone(e, n, i);
	}
	eng_notify_origin(e, i, why ? UKF_MSG_FAIL : UKF_MSG_EXIT, status, why);
	eng_inst_free(e, i);
	eng_drain_resumes(e, n);
}

/* A child of p ended: reap it if p waits for it. */
void eng_child_ended(ukf_engine_t *e, struct inst *p, ukf_id_t id,
		     int64_t status)
{
	struct kid *k = eng_kid_find(p, id);

	if (!k) {
		LOG(e, p->node, "orphan-exit %llu parent=%llu", ULL(id),
		    ULL(p->id));
		return;
	}
	k->state = K_EXITED;
	k->status = status;
	if (p->call == UKF_CALL_WAIT && (p->wait_id == 0 || p->wait_id == id)) {
		eng_kid_remove(p, k);
		LOG(e, p->node, "reap %llu child=%llu status=%lld", ULL(p->id),
		    ULL(id), LL(status));
		eng_complete(e, p, (int64_t)id, status, 0, NULL, 0);
	}
}
