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

/*
 * Template versions. Two templates of one app made on two nodes differ
 * (guest memory at ready() is not the same twice), and a fork's delta
 * applies only to the template it was taken against. So each template
 * gets a version when it is made (or adopted from outside) on a node,
 * and every copy fetched from it keeps that version (TDATA carries it).
 * A remote fork names the version of its delta (CLONE); a target holding
 * another one brings the parent's over from the parent's node first,
 * replacing its own (a backend holds one template per app and node).
 */

/* A version no other template has: this node, this app, now, a count. */
static uint64_t new_tver(ukf_engine_t *e, uint32_t app)
{
	uint64_t x = eng_hash64(((uint64_t)e->self << 32 | app) ^
				eng_hash64((uint64_t)eng_now(e) ^
					   (++e->tver_seq << 40)));

	return x ? x : 1;
}

/* Does entry t serve a delta taken against version tver (0: any)? */
int eng_tpl_matches(const struct ukf_tentry *t, uint64_t tver)
{
	return t && t->state == UKF_T_READY && (!tver || !t->tver ||
						t->tver == tver);
}

/*
 * Fetch version `tver` (0: whichever it holds) of t's app from `peer`
 * into entry t, replacing the template t holds if ready (dropped from the
 * backend; the instances cloned from it keep running). t must not have a
 * maker or a fetch under way.
 */
void eng_tpl_bring(ukf_engine_t *e, struct node *n, struct ukf_tentry *t,
		   uint64_t tver, ukf_node_id_t peer, const char *why)
{
	struct ukf_msg m = {.type = UKF_MSG_TFETCH,
			    .app = t->app,
			    .origin = n->id,
			    .tver = tver};
	int was_ready = t->state == UKF_T_READY;

	if (was_ready) {
		e->be->ops->drop_template(e->be->b, n->id, t->app);
		eng_share_dropped(e, n, t->app, t->tver, t->bytes);
		ukf_tcache_unready(&n->tc, t);
	}
	t->maker = 0;
	t->fetching = 1;
	t->from = peer;
	t->tver = tver;
	/* copy-on-write admission: its bytes are held from now on (those of
	 * the template it replaces just left) */
	if (e->mem_cow)
		ukf_tcache_reserve(&n->tc, t, APP(e, t->app)->mem_bytes);
	if (was_ready)
		LOG(e, n->id,
		    "template-replace app=%s node=%u from=%u version=%016llx "
		    "reason=%s",
		    eng_app_name(e, t->app), n->id, peer, ULL(tver), why);
	else
		LOG(e, n->id, "template-fetch app=%s node=%u from=%u",
		    eng_app_name(e, t->app), n->id, peer);
	if (was_ready || e->mem_cow)
		eng_publish(e, n); /* it holds none of the app until it comes */
	eng_deliver(e, n->id, peer, &m, 0);
}

/*
 * Fork child i (not started) needs the template version i->tver, which
 * node n does not hold ready: bring it from the parent's node and wait
 * for it. A few tries (another version may come first, e.g. one being
 * made here); then i fails, saying which template it lacked.
 */
/* Where fork child i's template comes from: the next node round the
 * ring whose record lists that very version (fetches for many children
 * spread over its holders), else the parent's node. */
static ukf_node_id_t fetch_peer(ukf_engine_t *e, struct node *n,
				const struct inst *i)
{
	const ukf_dir_t *d = e->env->ops->directory(e->env->w, n->id);
	ukf_node_id_t p = i->tver ? ukf_dir_next_holder_version(
					d, i->app, i->tver, n->id + 1, n->id)
				  : UKF_NODE_NONE;

	return p != UKF_NODE_NONE ? p : i->origin;
}

/* A new pending entry in node n's template cache (ukf_tcache_add) whose
 * overflow block, when it is needed, comes from the engine's allocator
 * (fault injection; an allocation failure is reported as the engine's). */
static struct ukf_tentry *eng_tcache_add(ukf_engine_t *e, struct node *n,
					 uint32_t app)
{
	if (ukf_tcache_wants_block(&n->tc)) {
		n->tc.more = eng_malloc(e, UKF_TCACHE_BLOCK_BYTES);
		if (!n->tc.more)
			return NULL;
	}
	return ukf_tcache_add(&n->tc, app);
}


void eng_fork_wait_version(ukf_engine_t *e, struct node *n, struct inst *i,
			   const char *why)
{
	struct ukf_tentry *t = ukf_tcache_find(&n->tc, i->app);
	ukf_node_id_t peer;

	if (i->tpl_tries >= 3) {
		eng_fork_stale(e, n, i);
		return;
	}
	i->tpl_tries++;
	peer = fetch_peer(e, n, i);
	if (peer == i->origin && eng_peer_lost(e, peer)) {
		/* no node this one sees holds that version, and the parent's
		 * is lost: a fetch sent there would never be answered, and
		 * every later request of the app here would wait behind it */
		LOG(e, n->id,
		    "template-fetch-failed app=%s node=%u from=%u: lost",
		    eng_app_name(e, i->app), n->id, peer);
		eng_fork_stale(e, n, i);
		return;
	}
	int fresh = !t;
	uint64_t mem = APP(e, i->app)->mem_bytes;
	/* copy-on-write admission: room for the template brought (one
	 * replaced frees its bytes unless clones of it run) */
	uint64_t frees = t ? eng_tpl_frees(e, n, t) : 0;
	if ((fresh || t->state == UKF_T_READY) &&
	    !eng_tpl_room(e, n, mem > frees ? mem - frees : 0)) {
		LOG(e, n->id, "template-fetch app=%s node=%u: no memory",
		    eng_app_name(e, i->app), n->id);
		eng_fork_stale(e, n, i);
		return;
	}
	if (fresh && !(t = eng_tcache_add(e, n, i->app))) {
		eng_inst_finish(e, i, UKF_STATUS_FAILED, "template cache full");
		return;
	}
	/* a pending one (made here or fetched) is checked again when ready */
	if (fresh || t->state == UKF_T_READY)
		eng_tpl_bring(e, n, t, i->tver, peer, why);
	eng_fork_wait_tpl(e, n, t, i);
}

void eng_fork_wait_tpl(ukf_engine_t *e, struct node *n, struct ukf_tentry *t,
		       struct inst *i)
{
	LOG(e, n->id,
	    "fork %llu parent=%llu app=%s origin=%u -> node=%u "
	    "via=wait-template",
	    ULL(i->id), ULL(i->parent), eng_app_name(e, i->app), i->origin,
	    n->id);
	eng_wait_tpl(t, i);
}

/*
 * Fork child i cannot get the template its delta was taken against (its
 * node holds another one now): it never started, so it goes without a
 * row, and its origin hears a NACK saying so, which places the fork again
 * with a new delta (the parent is still paused in fork()).
 */
void eng_fork_stale(ukf_engine_t *e, struct node *n, struct inst *i)
{
	struct ukf_msg r = {.type = UKF_MSG_NACK,
			    .id = i->id,
			    .app = i->app,
			    .origin = i->origin,
			    .status = -ESTALE};

	LOG(e, n->id,
	    "nack %llu app=%s node=%u: template %016llx of its delta not here",
	    ULL(i->id), eng_app_name(e, i->app), n->id, ULL(i->tver));
	if (i->waiting_tpl)
		eng_unwait_tpl(n, i);
	eng_release_inst(e, n, i, !i->vcpu_off);
	eng_lender_gone(e, n, i);
	n->cnt.rejects++;
	eng_inst_free(e, i);
	eng_deliver(e, n->id, r.origin, &r, 0);
	eng_drain_resumes(e, n);
}

/* The template version a delta of p's, saved now, is taken against: its
 * template's, if that is still the node's template of its app (a backend
 * diffs against that one only; else the delta is the whole image). */
uint64_t eng_delta_tver(ukf_engine_t *e, const struct inst *p)
{
	struct ukf_tentry *t = ukf_tcache_find(&e->node.tc, p->app);

	return p->tver && t && t->state == UKF_T_READY && t->tver == p->tver
		   ? p->tver
		   : 0;
}

static void evict_cb(void *u, uint32_t app)
{
	void **a = u;
	ukf_engine_t *e = a[0];
	struct node *n = a[1];

	struct ukf_tentry *t = ukf_tcache_find(&n->tc, app);

	e->be->ops->drop_template(e->be->b, n->id, app);
	if (t)
		eng_share_dropped(e, n, app, t->tver, t->bytes);
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
		struct inst **p =
			(struct inst **)&ukf_tcache_at(&n->tc, k)->waiters;
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

	if (!lender && !eng_fits_mem(e, n, a, a->mem_bytes)) {
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
	int held = m->held;

	eng_record_boot(e, m, eng_now(e), why ? UKF_STATUS_FAILED : 0, why);
	if (destroy)
		e->be->ops->destroy(e->be->b, n->id, m->id);
	if (held)
		eng_release_inst(e, n, m, 1); /* its charge: 0 once sealed */
	eng_inst_free(e, m);
	if (held)
		eng_drain_resumes(e, n);
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
	struct inst *w, **pw = (struct inst **)&t->waiters, *lost = NULL;
	uint32_t app = t->app, nlost = 0;
	ukf_node_id_t from = t->from;
	uint64_t want = t->tver;

	w = t->waiters;
	if (want && w && w->is_fork && w->tver == want && from != w->origin &&
	    !eng_peer_lost(e, w->origin)) {
		/* the holder the directory named has another version now:
		 * the parent's node has it (or says so) */
		t->state = UKF_T_PENDING;
		eng_tpl_bring(e, n, t, want, w->origin, "holder has another");
		return;
	}
	t->fetching = 0;
	t->tver = 0;
	/* fork children that need one version: one made here is another */
	while ((w = *pw) != NULL) {
		if (w->is_fork && w->tver) {
			*pw = w->next_wait;
			w->waiting_tpl = 0;
			w->next_wait = lost;
			lost = w;
			nlost++;
		} else {
			pw = &w->next_wait;
		}
	}
	while (lost) {
		struct inst *next = lost->next_wait;
		eng_fork_stale(e, n, lost);
		lost = next;
	}
	t = ukf_tcache_find(&n->tc, app); /* a failure may move entries */
	if (!t)
		return;
	w = t->waiters;
	if (!w && nlost && !t->pinned) {
		/* it was wanted by those only */
		ukf_tcache_remove(&n->tc, app);
		return;
	}
	/* copy-on-write admission: made here, the template takes over its
	 * maker's pages; what is held is what its first user (a spawn that
	 * makes it, or the fork child the maker boots for) will dirty as a
	 * clone of it: less than the fetch held */
	if (e->mem_cow) {
		ukf_tcache_reserve(&n->tc, t, w ? eng_clone_charge(e, w) : 0);
		eng_publish(e, n);
	}
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
			uint64_t make_rsv, struct ukf_tentry **out)
{
	struct ukf_tentry *t;
	ukf_node_id_t peer = UKF_NODE_NONE;
	uint64_t rsv;

	if (e->cfg.fetch == UKF_FETCH_PEER) {
		const ukf_dir_t *d = e->env->ops->directory(e->env->w, n->id);
		/* the next holder after this node, round the ring: fetches
		 * from many nodes spread over the holders */
		peer = ukf_dir_next_holder(d, app, n->id + 1, n->id);
	}
	rsv = peer != UKF_NODE_NONE ? APP(e, app)->mem_bytes : make_rsv;
	if (!eng_tpl_room(e, n, rsv))
		return 1;
	t = eng_tcache_add(e, n, app);
	if (!t)
		return -1;
	*out = t;
	if (e->mem_cow && rsv) {
		ukf_tcache_reserve(&n->tc, t, rsv);
		eng_publish(e, n);
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
	struct inst *again = NULL, **tail = &again;
	uint32_t app = w ? w->app : 0;

	while (w) {
		struct inst *next = w->next_wait;
		w->waiting_tpl = 0;
		w->fetched = (uint8_t)fetched;
		if (w->is_fork &&
		    !eng_tpl_matches(ukf_tcache_find(&n->tc, w->app), w->tver)) {
			/* another version came: its own is brought after */
			w->next_wait = NULL;
			*tail = w;
			tail = &w->next_wait;
		} else if (w->is_fork) {
			eng_start_restore(e, n, w);
		} else {
			eng_start_clone_template(e, n, w);
		}
		w = next;
	}
	while (again) {
		struct inst *next = again->next_wait;
		if (eng_inst_at(e, n->id, again->id) == again &&
		    again->app == app)
			eng_fork_wait_version(e, n, again,
					      "another version came");
		again = next;
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

	if (!t->tver)
		t->tver = new_tver(e, app);
	ukf_tcache_set_ready(&n->tc, t, bytes);
	LOG(e, n->id, "template-ready app=%s node=%u bytes=%llu%s",
	    eng_app_name(e, app), n->id, ULL(bytes), loaded ? " loaded=1" : "");
	eng_publish(e, n);
}

/*
 * app's template (bytes) is larger than node n's whole cache: it can never
 * be kept here, so its spawns here start cold from now on instead of each
 * making one (its maker paused for the make) only to drop it.
 */
int eng_toobig(const struct node *n, uint32_t app)
{
	for (uint32_t k = 0; k < n->ntoobig; k++)
		if (n->toobig[k] == app)
			return 1;
	return 0;
}

static void too_big(ukf_engine_t *e, struct node *n, uint32_t app,
		    uint64_t bytes)
{
	if (eng_toobig(n, app))
		return;
	uint32_t *t = eng_realloc(e, n->toobig, (n->ntoobig + 1) * sizeof(*t));
	if (!t)
		return; /* tried again next time: no harm */
	n->toobig = t;
	n->toobig[n->ntoobig++] = app;
	LOG(e, n->id,
	    "template-too-big app=%s node=%u bytes=%llu cache=%llu: its "
	    "spawns here start cold",
	    eng_app_name(e, app), n->id, ULL(bytes), ULL(n->tc.budget));
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
	if (!fetched)
		t->tver = 0; /* made here: a version of its own */
	/* Make room among the ready ones (pending entries hold no bytes). */
	if (ukf_tcache_make_room(&n->tc, ev->bytes, UKF_DIR_MAX_TEMPLATES,
				 evict_cb, ctx) < 0) {
		e->be->ops->drop_template(e->be->b, n->id, ev->app);
		if (ev->bytes > n->tc.budget)
			too_big(e, n, ev->app, ev->bytes);
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
	if (e->mem_cow) {
		/* copy-on-write admission: before the template counts, those
		 * whose pages it takes over or shares give them up: its
		 * maker (sealed), the waiters about to start as its clones */
		if (!t->tver)
			t->tver = new_tver(e, t->app);
		if (maker && (!maker->internal || maker->held))
			eng_cow_sealed(e, n, maker);
		for (struct inst *x = w; x; x = x->next_wait)
			if (!x->is_fork || !x->tver || x->tver == t->tver)
				eng_cow_recharge(e, n, x,
						 eng_clone_charge(e, x));
	}
	template_now_ready(e, n, t, ev->bytes, 0);
	if (maker) {
		if (maker->internal) {
			eng_maker_end(e, maker, NULL);
		} else {
			maker->made = 1;
			/* its memory is now a copy of the template */
			maker->tver = t->tver;
			eng_share_add(e, n, maker, NULL);
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
	if (eng_toobig(n, app))
		return; /* it cannot be kept here: no maker booted for it */
	if (eng_obtain_template(e, n, app, 0, &t) != 0)
		return; /* 1: no memory to fetch it (copy-on-write admission) */
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
	return ukf_engine_template_loaded_version(e, node, app, bytes, 0);
}

int ukf_engine_template_loaded_version(ukf_engine_t *e, ukf_node_id_t node,
				       uint32_t app, uint64_t bytes,
				       uint64_t tver)
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
	t = eng_tcache_add(e, n, app);
	if (!t)
		return -ENOMEM;
	t->tver = tver;
	template_now_ready(e, n, t, bytes, 1);
	return 0;
}
