/* SPDX-License-Identifier: MIT */
/* engine_node.c - the node's capacity: vCPUs and memory, paused instances
 * waiting to resume, its directory record. */
#include <stddef.h>

#include "engine_int.h"

static void be_complete(ukf_engine_t *e, struct inst *i, int64_t ret,
			int64_t status, ukf_id_t src, const void *data,
			size_t len);
static int vcpu_free_for(const ukf_engine_t *e, const struct node *n,
			 const struct inst *i);

static void be_complete(ukf_engine_t *e, struct inst *i, int64_t ret,
			int64_t status, ukf_id_t src, const void *data,
			size_t len)
{
	int rc = e->be->ops->complete(e->be->b, i->node, i->id, ret, status,
				      src, data, len);
	if (rc < 0)
		LOG(e, i->node, "error complete %llu rc=%d", ULL(i->id), rc);
}

static int vcpu_free_for(const ukf_engine_t *e, const struct node *n,
			 const struct inst *i)
{
	return n->vcpus_used + (uint64_t)APP(e, i->app)->vcpus <= n->cfg.vcpus;
}

/* Resume queued instances while their node has vCPUs for them (FIFO). */
void eng_drain_resumes(ukf_engine_t *e, struct node *n)
{
	int changed = 0;

	while (n->resume_head && vcpu_free_for(e, n, n->resume_head)) {
		struct inst *i = n->resume_head;
		n->resume_head = i->next_resume;
		if (!n->resume_head)
			n->resume_tail = NULL;
		i->next_resume = NULL;
		i->resuming = 0;
		i->vcpu_off = 0;
		n->vcpus_used += APP(e, i->app)->vcpus;
		changed = 1;
		be_complete(e, i, i->r_ret, i->r_status, i->r_src, i->r_data,
			    i->r_len);
		free(i->r_data);
		i->r_data = NULL;
		i->r_len = 0;
	}
	if (changed)
		eng_publish(e, n);
}

/* The instance blocks: its vCPUs go back to the node. */
void eng_vcpu_release(ukf_engine_t *e, struct inst *i)
{
	struct node *n = &e->node;

	if (i->vcpu_off || i->internal)
		return;
	i->vcpu_off = 1;
	n->vcpus_used -= APP(e, i->app)->vcpus;
	eng_publish(e, n);
	eng_drain_resumes(e, n);
}

/* Take an instance out of its node's resume queue (it ends). */
void eng_resume_unlink(struct node *n, struct inst *i)
{
	struct inst **p = &n->resume_head, *prev = NULL;

	for (; *p; prev = *p, p = &(*p)->next_resume) {
		if (*p == i) {
			*p = i->next_resume;
			if (n->resume_tail == i)
				n->resume_tail = prev;
			i->next_resume = NULL;
			i->resuming = 0;
			return;
		}
	}
}

/* Answer the call or ready() the instance is paused in. */
void eng_complete(ukf_engine_t *e, struct inst *i, int64_t ret, int64_t status,
		  ukf_id_t src, const void *data, size_t len)
{
	struct node *n = &e->node;

	i->call = 0;
	i->gen++;
	if (i->vcpu_off && !vcpu_free_for(e, n, i)) {
		/* no vCPU to resume on yet: keep the answer, queue */
		i->r_ret = ret;
		i->r_status = status;
		i->r_src = src;
		i->r_data = NULL;
		i->r_len = 0;
		if (len) {
			i->r_data = eng_malloc(e, len);
			if (i->r_data) {
				memcpy(i->r_data, data, len);
				i->r_len = len;
			} else {
				i->r_ret = -UKF_ENOMEM;
			}
		}
		i->resuming = 1;
		i->next_resume = NULL;
		if (n->resume_tail)
			n->resume_tail->next_resume = i;
		else
			n->resume_head = i;
		n->resume_tail = i;
		return;
	}
	if (i->vcpu_off) {
		i->vcpu_off = 0;
		n->vcpus_used += APP(e, i->app)->vcpus;
		eng_publish(e, n);
	}
	be_complete(e, i, ret, status, src, data, len);
}

/* The node's own record as it stands now. */
void eng_node_record(const struct node *n, struct ukf_dir_record *r)
{
	/* the fixed fields only: readers of a record (ukf_dir_encode, the
	 * placements) read no template past ntemplates, and zeroing all 32
	 * slots on every publish was a fifth of its cost */
	memset(r, 0, offsetof(struct ukf_dir_record, templates));
	r->node = n->id;
	r->version = n->version ? n->version : 1;
	r->vcpus_total = n->cfg.vcpus;
	r->vcpus_free = n->cfg.vcpus - n->vcpus_used;
	r->mem_total = n->cfg.mem_bytes;
	/* copy-on-write admission may count past the limit (growth) */
	r->mem_free = n->mem_used < n->cfg.mem_bytes
			  ? n->cfg.mem_bytes - n->mem_used
			  : 0;
	r->instances = n->instances;
	for (uint32_t k = 0;
	     k < n->tc.n && r->ntemplates < UKF_DIR_MAX_TEMPLATES; k++) {
		const struct ukf_tentry *t = ukf_tcache_cat(&n->tc, k);
		if (t->state == UKF_T_READY) {
			r->tvers[r->ntemplates] = t->tver;
			r->templates[r->ntemplates++] = t->app;
		}
	}
}

/* Publish the node's own record: called after every change it shows. */
void eng_publish(ukf_engine_t *e, struct node *n)
{
	struct ukf_dir_record r;
	unsigned char buf[UKF_DIR_RECORD_MAX];
	size_t len;

	++n->version;
	eng_cow_sync(e, n);
	eng_node_record(n, &r);
	len = ukf_dir_encode(&r, buf, sizeof(buf));
	if (e->started && len)
		e->env->ops->publish(e->env->w, n->id, buf, len);
}

/* Room for a new instance; none while blocked instances wait to resume. */
int eng_fits(const struct node *n, const struct ukf_app *a)
{
	return !n->resume_head &&
	       n->vcpus_used + (uint64_t)a->vcpus <= n->cfg.vcpus &&
	       n->mem_used + a->mem_bytes <= n->cfg.mem_bytes;
}

void eng_reserve(ukf_engine_t *e, struct node *n, const struct ukf_app *a)
{
	n->vcpus_used += a->vcpus;
	n->mem_used += a->mem_bytes;
	n->instances++;
	eng_publish(e, n);
}

void eng_release(ukf_engine_t *e, struct node *n, const struct ukf_app *a,
		 int vcpus_held)
{
	if (vcpus_held)
		n->vcpus_used -= a->vcpus;
	n->mem_used -= a->mem_bytes;
	n->instances--;
	eng_publish(e, n);
}

void eng_cow_sync(ukf_engine_t *e, struct node *n)
{
	uint64_t counted;

	if (!e->mem_cow)
		return;
	counted = n->tc.used + n->tc.reserved + n->orphan_bytes;
	if (n->tpl_counted == counted)
		return;
	n->mem_used = n->mem_used - n->tpl_counted + counted;
	n->tpl_counted = counted;
}

int eng_tpl_room(ukf_engine_t *e, struct node *n, uint64_t bytes)
{
	if (!e->mem_cow)
		return 1;
	eng_cow_sync(e, n);
	return n->mem_used <= n->cfg.mem_bytes &&
	       bytes <= n->cfg.mem_bytes - n->mem_used;
}

uint64_t eng_mem_charge(const ukf_engine_t *e, const struct ukf_app *a,
			int clone, uint64_t pages)
{
	if (!e->mem_cow || !clone ||
	    pages >= a->mem_bytes / UKF_PAGE_SIZE)
		return a->mem_bytes;
	return pages * UKF_PAGE_SIZE;
}

uint64_t eng_clone_charge(const ukf_engine_t *e, const struct inst *i)
{
	const struct ukf_app *a = APP(e, i->app);
	uint64_t pages =
	    i->is_fork ? (i->delta_bytes + UKF_PAGE_SIZE - 1) / UKF_PAGE_SIZE +
			     a->dirty_pages
		       : (uint64_t)a->dirty_pages * a->units;

	return eng_mem_charge(e, a, 1, pages);
}

int eng_fits_mem(ukf_engine_t *e, struct node *n, const struct ukf_app *a,
		 uint64_t charge)
{
	eng_cow_sync(e, n);
	return !n->resume_head &&
	       n->vcpus_used + (uint64_t)a->vcpus <= n->cfg.vcpus &&
	       n->mem_used + charge <= n->cfg.mem_bytes;
}

void eng_reserve_mem(ukf_engine_t *e, struct node *n, struct inst *i,
		     const struct ukf_app *a, uint64_t charge)
{
	i->mem_saved = a->mem_bytes - charge;
	n->mem_used -= i->mem_saved; /* eng_reserve adds the whole mem */
	eng_reserve(e, n, a);
}

/* Instance i no longer shares its template copy's pages: the last user
 * of a copy dropped from the cache frees them. */
static void share_end(struct node *n, struct inst *i)
{
	for (uint32_t k = 0; k < n->nsh; k++) {
		struct share *s = &n->sh[k];
		if (s->id != i->share)
			continue;
		i->share = 0;
		if (--s->users)
			return;
		if (s->dropped)
			n->orphan_bytes -= s->bytes;
		*s = n->sh[--n->nsh];
		return;
	}
	i->share = 0;
}

void eng_share_add_cow(ukf_engine_t *e, struct node *n, struct inst *i,
		       const struct inst *from)
{
	struct share *s = NULL;

	if (!e->mem_cow || i->share || (from ? !from->share : !i->tver))
		return;
	for (uint32_t k = 0; k < n->nsh && !s; k++)
		if (from ? n->sh[k].id == from->share
			 : !n->sh[k].dropped && n->sh[k].app == i->app &&
			       n->sh[k].tver == i->tver)
			s = &n->sh[k];
	if (!s) {
		if (from)
			return; /* cannot happen: the parent's is listed */
		if (n->nsh == n->capsh) {
			uint32_t c = n->capsh ? 2 * n->capsh : 4;
			struct share *m = eng_realloc(e, n->sh, c * sizeof(*m));
			if (!m)
				return; /* reported (env fatal) */
			n->sh = m;
			n->capsh = c;
		}
		s = &n->sh[n->nsh++];
		memset(s, 0, sizeof(*s));
		s->id = ++n->sh_seq ? n->sh_seq : ++n->sh_seq;
		s->app = i->app;
		s->tver = i->tver;
	}
	s->users++;
	i->share = s->id;
}

uint64_t eng_tpl_frees(const ukf_engine_t *e, const struct node *n,
		       const struct ukf_tentry *t)
{
	if (!e->mem_cow || t->state != UKF_T_READY)
		return 0;
	for (uint32_t k = 0; k < n->nsh; k++)
		if (!n->sh[k].dropped && n->sh[k].app == t->app &&
		    n->sh[k].tver == t->tver)
			return 0; /* its clones keep its pages */
	return t->bytes;
}

void eng_share_dropped(ukf_engine_t *e, struct node *n, uint32_t app,
		       uint64_t tver, uint64_t bytes)
{
	if (!e->mem_cow)
		return;
	for (uint32_t k = 0; k < n->nsh; k++) {
		struct share *s = &n->sh[k];
		if (s->dropped || s->app != app || s->tver != tver)
			continue;
		s->dropped = 1;
		s->bytes = bytes;
		n->orphan_bytes += bytes;
		return;
	}
}

void eng_release_inst(ukf_engine_t *e, struct node *n, struct inst *i,
		      int vcpus_held)
{
	if (e->mem_cow && i->share)
		share_end(n, i);
	n->mem_used += i->mem_saved; /* eng_release takes the whole mem */
	i->mem_saved = 0;
	eng_release(e, n, APP(e, i->app), vcpus_held);
}

void eng_cow_recharge(ukf_engine_t *e, struct node *n, struct inst *i,
		      uint64_t charge)
{
	const struct ukf_app *a = APP(e, i->app);

	if (!e->mem_cow || charge >= a->mem_bytes - i->mem_saved)
		return;
	n->mem_used -= a->mem_bytes - i->mem_saved - charge;
	i->mem_saved = a->mem_bytes - charge;
}

void eng_cow_sealed(ukf_engine_t *e, struct node *n, struct inst *i)
{
	const struct ukf_app *a = APP(e, i->app);

	eng_cow_recharge(
	    e, n, i,
	    i->internal
		? 0
		: eng_mem_charge(e, a, 1, (uint64_t)a->dirty_pages * a->units));
}
