/* SPDX-License-Identifier: MIT */
/* engine_tpl.c - the node's template cache: making, fetching, waiting for,
 * evicting and prewarming templates. */
#include "engine_int.h"

static void evict_cb(void *u, uint32_t app);
static void maker_free(ukf_engine_t *e, struct inst *m, const char *why,
		       int destroy);
static void serve_waiters(ukf_engine_t *e, struct node *n, struct inst *w,
			  int fetched);
static void template_now_ready(ukf_engine_t *e, struct node *n,
			       struct ukf_tentry *t, uint64_t bytes,
			       int loaded);

static void evict_cb(void *u, uint32_t app)
{
	void **a = u;
	ukf_engine_t *e = a[0];
	struct node *n = a[1];

	e->be->ops->drop_template(e->be->b, n->id, app);
	n->cnt.evictions++;
	LOG(e, n->id, "template-evict app=%s node=%u", eng_app_name(e, app),
	    n->id);
}

void eng_wait_tpl(struct ukf_tentry *t, struct inst *i)
{
	struct inst **p = (struct inst **)&t->waiters;

	while (*p)
		p = &(*p)->next_wait;
	i->next_wait = NULL;
	i->waiting_tpl = 1;
	*p = i;
}

void eng_unwait_tpl(struct node *n, struct inst *i)
{
	for (uint32_t k = 0; k < n->tc.n; k++) {
		struct inst **p = (struct inst **)&n->tc.e[k].waiters;
		for (; *p; p = &(*p)->next_wait) {
			if (*p == i) {
				*p = i->next_wait;
				i->waiting_tpl = 0;
				return;
			}
		}
	}
}

/*
 * Boot an internal instance whose ready() becomes the template. It is a VM
 * like any other while it boots: it takes its app's vCPUs and memory on
 * the node until the template is made (eng_maker_end), or, when a fork
 * child that has them reserved waits for this template (`lender`), runs
 * in that reservation: the child cannot start before the template exists.
 * Without a lender and without room on the node, nothing boots
 * (t->maker stays 0).
 */
void eng_boot_maker(ukf_engine_t *e, struct node *n, struct ukf_tentry *t,
		    struct inst *lender)
{
	const struct ukf_app *a = APP(e, t->app);
	struct inst *m;
	int rc;

	if (!lender && !eng_fits(n, a)) {
		LOG(e, n->id, "template-boot app=%s node=%u: no room", a->name,
		    n->id);
		return;
	}
	m = eng_inst_new(e, eng_new_id(e), t->app, n->id);
	if (!m) {
		LOG(e, n->id, "error template-boot app=%s: out of memory",
		    a->name);
		return;
	}
	m->internal = 1;
	m->start = UKF_START_COLD;
	t->maker = m->id;
	if (lender) {
		m->lender = lender->id;
		LOG(e, n->id, "template-boot app=%s node=%u inst=%llu for=%llu",
		    a->name, n->id, ULL(m->id), ULL(lender->id));
	} else {
		m->held = 1;
		eng_reserve(e, n, a);
		LOG(e, n->id, "template-boot app=%s node=%u inst=%llu",
		    a->name, n->id, ULL(m->id));
	}
	rc = e->be->ops->cold_boot(e->be->b, n->id, m->id, a, "");
	if (rc < 0) {
		char why[64];
		t->maker = 0;
		LOG(e, n->id, "error template-boot app=%s rc=%d", a->name, rc);
		snprintf(why, sizeof(why), "cold_boot refused (%d)", rc);
		maker_free(e, m, why, 0); /* no VM to destroy */
	}
}

/* m's row, its VM destroyed (if it has one), the capacity it held given
 * back. */
static void maker_free(ukf_engine_t *e, struct inst *m, const char *why,
		       int destroy)
{
	struct node *n = &e->node;
	const struct ukf_app *a = APP(e, m->app);
	int held = m->held;

	eng_record_boot(e, m, eng_now(e), why ? UKF_STATUS_FAILED : 0, why);
	if (destroy)
		e->be->ops->destroy(e->be->b, n->id, m->id);
	eng_inst_free(e, m);
	if (held) {
		eng_release(e, n, a, 1);
		eng_drain_resumes(e, n);
	}
}

/* Internal maker m is done: its template was made (why NULL) or will not
 * be. */
void eng_maker_end(ukf_engine_t *e, struct inst *m, const char *why)
{
	maker_free(e, m, why, 1);
}

/*
 * Fork child i, waiting for its app's template, ends: if the internal
 * maker of that template runs in i's reservation, it takes the
 * reservation over (i's release just made exactly that room).
 */
void eng_lender_gone(ukf_engine_t *e, struct node *n, struct inst *i)
{
	struct ukf_tentry *t = ukf_tcache_find(&n->tc, i->app);
	struct inst *m = t && t->state == UKF_T_PENDING && t->maker
			     ? eng_inst_at(e, n->id, t->maker)
			     : NULL;

	if (!m || !m->internal || m->lender != i->id)
		return;
	m->lender = 0;
	m->held = 1;
	eng_reserve(e, n, APP(e, m->app));
}

/*
 * A pending template will not come (fetch refused, maker failed, no room):
 * forks waiting for it fail, spawns waiting for it boot cold.
 */
void eng_template_failed(ukf_engine_t *e, struct node *n, uint32_t app,
			 const char *why)
{
	struct ukf_tentry *t = ukf_tcache_find(&n->tc, app);
	struct inst *w;

	if (!t)
		return;
	w = t->waiters;
	t->waiters = NULL;
	LOG(e, n->id, "template-drop app=%s node=%u reason=%s",
	    eng_app_name(e, app), n->id, why);
	ukf_tcache_remove(&n->tc, app);
	while (w) {
		struct inst *next = w->next_wait;
		w->waiting_tpl = 0;
		if (w->is_fork)
			eng_inst_finish(e, w, UKF_STATUS_FAILED,
					"template unavailable");
		else
			eng_start_cold(e, n, w, 0);
		w = next;
	}
}

/* The fetch of a pending template failed: make it here instead. */
void eng_fetch_failed(ukf_engine_t *e, struct node *n, struct ukf_tentry *t)
{
	struct inst *w = t->waiters;

	t->fetching = 0;
	if (w && !w->is_fork) {
		t->waiters = w->next_wait;
		w->waiting_tpl = 0;
		eng_start_cold(e, n, w, 1);
	} else {
		eng_boot_maker(e, n, t, w); /* w: a fork child or none */
		if (!t->maker)
			eng_template_failed(e, n, t->app, "cannot boot");
	}
}

/* Get a missing template onto node n: fetch from a peer or boot it here. */
int eng_obtain_template(ukf_engine_t *e, struct node *n, uint32_t app,
			struct ukf_tentry **out)
{
	struct ukf_tentry *t = ukf_tcache_add(&n->tc, app);
	ukf_node_id_t peer = UKF_NODE_NONE;

	if (!t)
		return -1;
	*out = t;
	if (e->cfg.fetch == UKF_FETCH_PEER) {
		const ukf_dir_t *d = e->env->ops->directory(e->env->w, n->id);
		/* the next holder after this node, round the ring: fetches
		 * from many nodes spread over the holders */
		peer = ukf_dir_next_holder(d, app, n->id + 1, n->id);
	}
	if (peer != UKF_NODE_NONE) {
		struct ukf_msg m = {
		    .type = UKF_MSG_TFETCH, .app = app, .origin = n->id};
		t->fetching = 1;
		t->from = peer;
		LOG(e, n->id, "template-fetch app=%s node=%u from=%u",
		    eng_app_name(e, app), n->id, peer);
		eng_deliver(e, n->id, peer, &m, 0);
	}
	return 0;
}

static void serve_waiters(ukf_engine_t *e, struct node *n, struct inst *w,
			  int fetched)
{
	while (w) {
		struct inst *next = w->next_wait;
		w->waiting_tpl = 0;
		w->fetched = (uint8_t)fetched;
		if (w->is_fork)
			eng_start_restore(e, n, w);
		else
			eng_start_clone_template(e, n, w);
		w = next;
	}
}

/*
 * Entry `t` of node `n` now holds a ready template of `bytes`: count it,
 * log it and tell the directory. Shared by templates the engine had made
 * or fetched and those adopted from outside (`loaded`).
 */
static void template_now_ready(ukf_engine_t *e, struct node *n,
			       struct ukf_tentry *t, uint64_t bytes, int loaded)
{
	uint32_t app = t->app;

	ukf_tcache_set_ready(&n->tc, t, bytes);
	LOG(e, n->id, "template-ready app=%s node=%u bytes=%llu%s",
	    eng_app_name(e, app), n->id, ULL(bytes), loaded ? " loaded=1" : "");
	eng_publish(e, n);
}

void eng_on_template(ukf_engine_t *e, struct node *n,
		     const struct ukf_be_event *ev)
{
	struct ukf_tentry *t = ukf_tcache_find(&n->tc, ev->app);
	struct inst *w, *maker = NULL;
	int fetched;
	void *ctx[2] = {e, n};

	if (!t || t->state == UKF_T_READY) {
		LOG(e, n->id, "template-stale app=%s node=%u",
		    eng_app_name(e, ev->app), n->id);
		if (!t)
			e->be->ops->drop_template(e->be->b, n->id, ev->app);
		return;
	}
	if (t->maker)
		maker = eng_inst_at(e, n->id, t->maker);
	fetched = t->fetching == 2;
	/* Make room among the ready ones (pending entries hold no bytes). */
	if (ukf_tcache_make_room(&n->tc, ev->bytes, UKF_DIR_MAX_TEMPLATES,
				 evict_cb, ctx) < 0) {
		e->be->ops->drop_template(e->be->b, n->id, ev->app);
		eng_template_failed(e, n, ev->app, "cache full");
		if (maker && !maker->internal)
			eng_complete(e, maker, 0, 0, 0, NULL, 0);
		else if (maker)
			eng_maker_end(e, maker, "template cache full");
		return;
	}
	t = ukf_tcache_find(&n->tc, ev->app); /* eviction moves entries */
	w = t->waiters;
	t->waiters = NULL;
	if (fetched)
		n->cnt.fetches++;
	template_now_ready(e, n, t, ev->bytes, 0);
	if (maker) {
		if (maker->internal) {
			eng_maker_end(e, maker, NULL);
		} else {
			maker->made = 1;
			eng_complete(e, maker, 0, 0, 0, NULL, 0);
		}
	}
	serve_waiters(e, n, w, fetched);
}

void eng_prewarm_app(ukf_engine_t *e, struct node *n, uint32_t app)
{
	struct ukf_tentry *t = ukf_tcache_find(&n->tc, app);

	if (t) {
		t->pinned = 1;
		return;
	}
	if (eng_obtain_template(e, n, app, &t) < 0)
		return;
	t->pinned = 1;
	LOG(e, n->id, "prewarm app=%s node=%u", eng_app_name(e, app), n->id);
	if (!t->fetching) {
		eng_boot_maker(e, n, t, NULL);
		if (!t->maker)
			ukf_tcache_remove(&n->tc, app);
	}
}

void eng_count_request(ukf_engine_t *e, struct node *n, uint32_t app)
{
	uint32_t added, removed;
	struct ukf_tentry *t;

	if (!e->topk_only ||
	    !ukf_topk_bump(&n->topk, app, &added, &removed))
		return;
	t = ukf_tcache_find(&n->tc, removed);
	if (t)
		t->pinned = 0;
	if (e->tpl->prewarm)
		eng_prewarm_app(e, n, added);
}

int ukf_engine_template_loaded(ukf_engine_t *e, ukf_node_id_t node,
			       uint32_t app, uint64_t bytes)
{
	struct node *n;
	struct ukf_tentry *t;
	void *ctx[2];

	if (!e || node != e->self || app >= NAPPS(e))
		return -EINVAL;
	n = &e->node;
	if (ukf_tcache_find(&n->tc, app))
		return -EEXIST;
	ctx[0] = e;
	ctx[1] = n;
	if (ukf_tcache_make_room(&n->tc, bytes, UKF_DIR_MAX_TEMPLATES, evict_cb,
				 ctx) < 0)
		return -ENOSPC;
	t = ukf_tcache_add(&n->tc, app);
	if (!t)
		return -ENOMEM;
	template_now_ready(e, n, t, bytes, 1);
	return 0;
}
