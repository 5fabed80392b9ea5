/* SPDX-License-Identifier: MIT */
/* engine.c - the node agents: instances, the fork protocol, templates, limits.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "apps.h"
#include "dir.h"
#include "include/ukf_abi.h"
#include "policy.h"
#include "wire.h"

/*
 * Roles. Each agent (node) keeps two kinds of objects, both in engine-wide
 * id maps but always tagged with the node that owns them, and a message for
 * node X only ever looks at objects owned by X:
 *   - a request (struct req) lives on the origin node from the request until
 *     the instance is running somewhere (READY) or the request failed;
 *   - an instance (struct inst) lives on the node it runs on.
 * An instance's exit goes back to its origin (for a fork or a guest spawn
 * the origin is the parent's node), where the parent's child table is.
 */

/* The app with id a (valid: checked where ids enter the engine). */
#define APP(e, a) ukf_apps_get((e)->apps, (a))
#define NAPPS(e)  ukf_apps_count((e)->apps)
#define F_NOTIFY 1u /* message flag: tell the workload (hooks) */
#define F_FORK	 2u /* message flag: the instance is a fork child */

enum timer_kind { T_RETRY = 1, T_DEADLINE = 2, T_MAKER = 3 };

/* How long spawns wait for a template whose maker is still initialising. */
#define MAKER_GRACE(a) (2 * (a)->init_ns + 10 * UKF_MS)

enum req_kind { R_SPAWN = 1, R_FORK = 2 };

enum kid_state { K_PENDING = 0, K_RUNNING = 1, K_EXITED = 2 };

struct kid {
	ukf_id_t id;
	ukf_node_id_t node;
	uint8_t state;
	int64_t status;
};

struct qmsg {
	struct qmsg *next;
	ukf_id_t src;
	size_t len;
	unsigned char data[];
};

struct inst {
	ukf_id_t id, parent;
	uint32_t app;
	ukf_node_id_t origin, node;
	uint64_t tag;
	uint32_t flags; /* F_NOTIFY */
	enum ukf_start start;
	uint8_t internal; /* boots a template only; no row, no load */
	uint8_t is_fork;  /* child of a live/remote fork */
	uint8_t remote, fetched, made, running, waiting_tpl, maker_timer;
	uint64_t delta_bytes, dirty_pages;
	ukf_ns_t t_request, t_placed, t_start, t_ready;
	ukf_ns_t t_end; /* when the backend saw it end (event time), 0: now */
	char *args;
	/* target side of a remote fork: the delta, until the template is here
	 */
	void *delta;
	size_t delta_len;
	/* paused call */
	enum ukf_call call;
	ukf_id_t wait_id;
	uint32_t gen;
	ukf_id_t delta_req; /* parent side: request waiting for DELTA */
	/* children (origin-side bookkeeping of forks and spawns) */
	struct kid *kids;
	uint32_t nkids, capkids;
	/* message queue */
	struct qmsg *qhead, *qtail;
	uint32_t qlen;
	struct inst *next_wait; /* template waiters */
	/*
	 * Blocked in WAIT/RECV/BLOCK, an instance runs no vCPU: its vCPUs go
	 * back to the node (so its children can run there) and must be had
	 * again before it resumes; an answer that finds none waits in the
	 * node's resume queue with its values kept here.
	 */
	uint8_t vcpu_off, resuming;
	struct inst *next_resume;
	int64_t r_ret, r_status;
	ukf_id_t r_src;
	void *r_data;
	size_t r_len;
};

struct req {
	ukf_id_t id, parent;
	uint32_t app;
	ukf_node_id_t origin, target;
	enum req_kind kind;
	uint32_t flags;
	uint64_t tag;
	char *args;
	void *delta;
	size_t delta_len;
	uint64_t delta_bytes;
	uint8_t have_delta;
	uint8_t inflight; /* SPAWN/CLONE sent (or delta being saved) */
	uint8_t killed;	  /* killed while in flight: stop it when it lands */
	uint32_t attempt, gen;
	ukf_ns_t t_request, t_placed;
};

struct idmap {
	uint64_t *keys;
	void **vals;
	size_t cap, n;
};

struct node {
	ukf_node_id_t id;
	struct ukf_node_config cfg;
	uint32_t vcpus_used, instances;
	uint64_t mem_used;
	uint64_t version;
	uint32_t rr;
	struct ukf_tcache tc;
	struct ukf_topk topk;
	struct ukf_node_stats st;
	struct inst *resume_head, *resume_tail; /* waiting for a vCPU */
};

/*
 * One engine is one node's agent: its instances, the requests it
 * originated, its template cache. Other nodes are known only through
 * messages (env->send) and the directory (env->directory).
 */
struct ukf_engine {
	struct ukf_engine_config cfg;
	ukf_node_id_t self; /* cfg.self */
	const struct ukf_env *env;
	const struct ukf_backend *be;
	struct ukf_engine_hooks hooks;
	const struct ukf_placement_ops *place;
	const struct ukf_template_ops *tpl;
	struct node node;           /* this engine's node */
	const ukf_apps_t *apps;     /* shared, read-only */
	struct idmap insts, reqs;
	uint64_t next_id;           /* ids when the world gives none */
	uint64_t alive;
	int started;
	int (*fail_alloc)(void *u); /* fault injection (tests) */
	void *fail_u;
};

/* Every allocation the running engine makes goes through these three. */
static int alloc_fails(ukf_engine_t *e)
{
	return e->fail_alloc && e->fail_alloc(e->fail_u);
}
static void *e_malloc(ukf_engine_t *e, size_t n)
{
	return alloc_fails(e) ? NULL : malloc(n);
}
static void *e_calloc(ukf_engine_t *e, size_t n, size_t sz)
{
	return alloc_fails(e) ? NULL : calloc(n, sz);
}
static void *e_realloc(ukf_engine_t *e, void *p, size_t n)
{
	return alloc_fails(e) ? NULL : realloc(p, n);
}

/* ------------------------------------------------------------------ */
/* id map: open addressing, linear probing, backward-shift deletion    */

static uint64_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static void *map_get(const struct idmap *m, uint64_t k)
{
	if (!m->cap || !k)
		return NULL;
	for (size_t i = hash64(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == k)
			return m->vals[i];
		if (!m->keys[i])
			return NULL;
	}
}

static int map_put(ukf_engine_t *e, struct idmap *m, uint64_t k, void *v)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct idmap nm;
		nm.cap = m->cap ? m->cap * 2 : 64;
		nm.n = 0;
		nm.keys = e_calloc(e, nm.cap, sizeof(*nm.keys));
		nm.vals = e_calloc(e, nm.cap, sizeof(*nm.vals));
		if (!nm.keys || !nm.vals) {
			free(nm.keys);
			free(nm.vals);
			return -1;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i])
				map_put(e, &nm, m->keys[i], m->vals[i]);
		free(m->keys);
		free(m->vals);
		*m = nm;
	}
	size_t i = hash64(k) & (m->cap - 1);
	while (m->keys[i] && m->keys[i] != k)
		i = (i + 1) & (m->cap - 1);
	if (!m->keys[i])
		m->n++;
	m->keys[i] = k;
	m->vals[i] = v;
	return 0;
}

static void map_del(struct idmap *m, uint64_t k)
{
	size_t i, j, mask = m->cap - 1;

	if (!m->cap || !k)
		return;
	for (i = hash64(k) & mask; m->keys[i] != k; i = (i + 1) & mask)
		if (!m->keys[i])
			return;
	m->keys[i] = 0;
	m->vals[i] = NULL;
	m->n--;
	for (j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
		size_t h = hash64(m->keys[j]) & mask;
		/* move j back to i if its home is not in (i, j] */
		if ((j > i && (h <= i || h > j)) ||
		    (j < i && (h <= i && h > j))) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			m->keys[j] = 0;
			m->vals[j] = NULL;
			i = j;
		}
	}
}

static void map_free(struct idmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static ukf_ns_t now(const ukf_engine_t *e)
{
	return e->env->ops->now(e->env->w);
}

static void elog(ukf_engine_t *e, ukf_node_id_t node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void elog(ukf_engine_t *e, ukf_node_id_t node, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	e->env->ops->log(e->env->w, node, line);
}
/* Skip formatting entirely when logging is off. */
#define LOG(e, node, ...)                                                      \
	do {                                                                   \
		if ((e)->env->ops->log)                                        \
			elog((e), (node), __VA_ARGS__);                        \
	} while (0)

#define ULL(x) ((unsigned long long)(x))
#define LL(x)  ((long long)(x))

static const char *app_name(const ukf_engine_t *e, uint32_t app)
{
	const struct ukf_app *a = APP(e, app);

	return a ? a->name : "?";
}

/* A new id, unique across the cluster: the world's if it gives them. */
static ukf_id_t new_id(ukf_engine_t *e)
{
	if (e->env->ops->new_id)
		return e->env->ops->new_id(e->env->w, e->self);
	return (uint64_t)e->self << 32 | ++e->next_id;
}

static char *dupstr(ukf_engine_t *e, const char *s, size_t n)
{
	char *d = e_malloc(e, n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

static struct inst *inst_at(ukf_engine_t *e, ukf_node_id_t node, ukf_id_t id)
{
	struct inst *i = map_get(&e->insts, id);

	return i && i->node == node ? i : NULL;
}

static struct req *req_at(ukf_engine_t *e, ukf_node_id_t node, ukf_id_t id)
{
	struct req *r = map_get(&e->reqs, id);

	return r && r->origin == node ? r : NULL;
}

static void arm(ukf_engine_t *e, ukf_node_id_t node, ukf_ns_t at,
		enum timer_kind kind, ukf_id_t id, uint32_t gen)
{
	uint64_t cookie = (uint64_t)kind << 60 | (uint64_t)(gen & 0xfff) << 48 |
			  (id & 0xffffffffffffULL);
	int rc = e->env->ops->timer(e->env->w, node, at, cookie);

	if (rc < 0)
		LOG(e, node, "error timer id=%llu rc=%d", ULL(id), rc);
}

static void publish(ukf_engine_t *e, struct node *n);

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
static void drain_resumes(ukf_engine_t *e, struct node *n)
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
		publish(e, n);
}

/* The instance blocks: its vCPUs go back to the node. */
static void vcpu_release(ukf_engine_t *e, struct inst *i)
{
	struct node *n = &e->node;

	if (i->vcpu_off || i->internal)
		return;
	i->vcpu_off = 1;
	n->vcpus_used -= APP(e, i->app)->vcpus;
	publish(e, n);
	drain_resumes(e, n);
}

/* Take an instance out of its node's resume queue (it ends). */
static void resume_unlink(struct node *n, struct inst *i)
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
static void complete(ukf_engine_t *e, struct inst *i, int64_t ret,
		     int64_t status, ukf_id_t src, const void *data, size_t len)
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
			i->r_data = e_malloc(e, len);
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
		publish(e, n);
	}
	be_complete(e, i, ret, status, src, data, len);
}

/* The node's own record as it stands now. */
static void node_record(const struct node *n, struct ukf_dir_record *r)
{
	memset(r, 0, sizeof(*r));
	r->node = n->id;
	r->version = n->version ? n->version : 1;
	r->vcpus_total = n->cfg.vcpus;
	r->vcpus_free = n->cfg.vcpus - n->vcpus_used;
	r->mem_total = n->cfg.mem_bytes;
	r->mem_free = n->cfg.mem_bytes - n->mem_used;
	r->instances = n->instances;
	for (uint32_t k = 0;
	     k < n->tc.n && r->ntemplates < UKF_DIR_MAX_TEMPLATES; k++)
		if (n->tc.e[k].state == UKF_T_READY)
			r->templates[r->ntemplates++] = n->tc.e[k].app;
}

/* Publish the node's own record: called after every change it shows. */
static void publish(ukf_engine_t *e, struct node *n)
{
	struct ukf_dir_record r;
	unsigned char buf[64 + 4 * UKF_DIR_MAX_TEMPLATES];
	size_t len;

	++n->version;
	node_record(n, &r);
	len = ukf_dir_encode(&r, buf, sizeof(buf));
	if (e->started && len)
		e->env->ops->publish(e->env->w, n->id, buf, len);
}

/* Room for a new instance; none while blocked instances wait to resume. */
static int fits(const struct node *n, const struct ukf_app *a)
{
	return !n->resume_head &&
	       n->vcpus_used + (uint64_t)a->vcpus <= n->cfg.vcpus &&
	       n->mem_used + a->mem_bytes <= n->cfg.mem_bytes;
}

/* Send a message from agent `from` to agent `to` (direct call if equal). */
static void handle_msg(ukf_engine_t *e, ukf_node_id_t to, ukf_node_id_t from,
		       const struct ukf_msg *m);

/*
 * Returns 0, -1 if the message could not be sent now (out of memory, the
 * world refused it) or -2 if it can never be (too large to encode).
 */
static int deliver(ukf_engine_t *e, ukf_node_id_t from, ukf_node_id_t to,
		   const struct ukf_msg *m, uint64_t bulk)
{
	size_t need;
	int rc;

	if (from == to) {
		handle_msg(e, to, from, m);
		return 0;
	}
	need = ukf_msg_size(m);
	if (m->text_len > UKF_WIRE_TEXT_MAX ||
	    m->data_len > UKF_WIRE_DATA_MAX) {
		LOG(e, from,
		    "error send %s %llu: cannot encode (text %zu, data %zu "
		    "bytes)",
		    ukf_msg_name(m->type), ULL(m->id), m->text_len,
		    m->data_len);
		return -2;
	}
	/* small messages on the stack; the world copies what it sends */
	unsigned char small[512], *buf = small;
	if (need > sizeof(small) && !(buf = e_malloc(e, need))) {
		LOG(e, from, "error send %s %llu: out of memory",
		    ukf_msg_name(m->type), ULL(m->id));
		return -1;
	}
	if (!ukf_msg_encode(m, buf, need)) {
		LOG(e, from, "error send %s %llu: cannot encode",
		    ukf_msg_name(m->type), ULL(m->id));
		if (buf != small)
			free(buf);
		return -2;
	}
	rc = e->env->ops->send(e->env->w, from, to, buf, need, bulk);
	if (buf != small)
		free(buf);
	if (rc < 0) {
		LOG(e, from, "error send %s %llu to node %u rc=%d",
		    ukf_msg_name(m->type), ULL(m->id), to, rc);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* records                                                             */

static void record_inst(ukf_engine_t *e, const struct inst *i, ukf_ns_t t_exit,
			int64_t status, const char *why)
{
	struct ukf_record r;

	if (!e->env->ops->record || i->internal)
		return;
	memset(&r, 0, sizeof(r));
	r.id = i->id;
	r.parent = i->parent;
	r.app = i->app;
	r.app_name = app_name(e, i->app);
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

static void record_req(ukf_engine_t *e, const struct req *q, const char *why)
{
	struct ukf_record r;

	if (!e->env->ops->record)
		return;
	memset(&r, 0, sizeof(r));
	r.id = q->id;
	r.parent = q->parent;
	r.app = q->app;
	r.app_name = app_name(e, q->app);
	r.origin = q->origin;
	r.node = UKF_NODE_NONE;
	r.start = q->kind == R_FORK ? UKF_START_FORK : UKF_START_UNKNOWN;
	r.t_request = q->t_request;
	r.t_placed = q->t_placed;
	r.t_start = r.t_ready = UKF_NS_NEVER;
	r.t_exit = now(e);
	r.status = UKF_STATUS_FAILED;
	r.fail_reason = why;
	e->env->ops->record(e->env->w, &r);
}

/* ------------------------------------------------------------------ */
/* children                                                            */

static struct kid *kid_find(struct inst *p, ukf_id_t id)
{
	for (uint32_t k = 0; k < p->nkids; k++)
		if (p->kids[k].id == id)
			return &p->kids[k];
	return NULL;
}

static struct kid *kid_add(ukf_engine_t *e, struct inst *p, ukf_id_t id)
{
	if (p->nkids == p->capkids) {
		uint32_t c = p->capkids ? p->capkids * 2 : 4;
		struct kid *k = e_realloc(e, p->kids, c * sizeof(*k));
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

static void kid_remove(struct inst *p, struct kid *k)
{
	/* keep order: "wait any" reaps the earliest exited child */
	size_t idx = (size_t)(k - p->kids);
	memmove(k, k + 1, (p->nkids - idx - 1) * sizeof(*k));
	p->nkids--;
}

/* ------------------------------------------------------------------ */
/* instances                                                           */

/* A new instance; NULL if out of memory or the id is taken (forged). */
static struct inst *inst_new(ukf_engine_t *e, ukf_id_t id, uint32_t app,
			     ukf_node_id_t node)
{
	struct inst *i;

	if (map_get(&e->insts, id))
		return NULL;
	i = e_calloc(e, 1, sizeof(*i));
	if (!i)
		return NULL;
	i->id = id;
	i->app = app;
	i->node = node;
	i->origin = node;
	i->start = UKF_START_UNKNOWN;
	i->t_request = i->t_placed = i->t_start = now(e);
	i->t_ready = UKF_NS_NEVER;
	if (map_put(e, &e->insts, id, i) < 0) {
		free(i);
		return NULL;
	}
	return i;
}

static void inst_free(ukf_engine_t *e, struct inst *i)
{
	struct qmsg *q = i->qhead;

	while (q) {
		struct qmsg *n = q->next;
		free(q);
		q = n;
	}
	map_del(&e->insts, i->id);
	free(i->kids);
	free(i->args);
	free(i->delta);
	free(i->r_data);
	free(i);
}

static void reserve(ukf_engine_t *e, struct node *n, const struct ukf_app *a)
{
	n->vcpus_used += a->vcpus;
	n->mem_used += a->mem_bytes;
	n->instances++;
	e->alive++;
	publish(e, n);
}

static void release(ukf_engine_t *e, struct node *n, const struct ukf_app *a,
		    int vcpus_held)
{
	if (vcpus_held)
		n->vcpus_used -= a->vcpus;
	n->mem_used -= a->mem_bytes;
	n->instances--;
	e->alive--;
	publish(e, n);
}

static void inst_finish(ukf_engine_t *e, struct inst *i, int64_t status,
			const char *why);

/* ------------------------------------------------------------------ */
/* templates                                                           */

static void evict_cb(void *u, uint32_t app)
{
	void **a = u;
	ukf_engine_t *e = a[0];
	struct node *n = a[1];

	e->be->ops->drop_template(e->be->b, n->id, app);
	n->st.evictions++;
	LOG(e, n->id, "template-evict app=%s node=%u", app_name(e, app), n->id);
}

static void start_clone_template(ukf_engine_t *e, struct node *n,
				 struct inst *i);
static void start_restore(ukf_engine_t *e, struct node *n, struct inst *i);
static void start_cold(ukf_engine_t *e, struct node *n, struct inst *i,
		       int maker);

static void wait_tpl(struct ukf_tentry *t, struct inst *i)
{
	struct inst **p = (struct inst **)&t->waiters;

	while (*p)
		p = &(*p)->next_wait;
	i->next_wait = NULL;
	i->waiting_tpl = 1;
	*p = i;
}

static void unwait_tpl(struct node *n, struct inst *i)
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

/* Boot an internal instance whose ready() becomes the template. */
static void boot_maker(ukf_engine_t *e, struct node *n, struct ukf_tentry *t)
{
	struct inst *m = inst_new(e, new_id(e), t->app, n->id);
	int rc;

	if (!m) {
		LOG(e, n->id, "error template-boot app=%s: out of memory",
		    app_name(e, t->app));
		return;
	}
	m->internal = 1;
	m->start = UKF_START_COLD;
	t->maker = m->id;
	LOG(e, n->id, "template-boot app=%s node=%u inst=%llu",
	    app_name(e, t->app), n->id, ULL(m->id));
	rc =
	    e->be->ops->cold_boot(e->be->b, n->id, m->id, APP(e, t->app), "");
	if (rc < 0) {
		t->maker = 0;
		inst_free(e, m);
		LOG(e, n->id, "error template-boot app=%s rc=%d",
		    app_name(e, t->app), rc);
	}
}

/*
 * A pending template will not come (fetch refused, maker failed, no room):
 * forks waiting for it fail, spawns waiting for it boot cold.
 */
static void template_failed(ukf_engine_t *e, struct node *n, uint32_t app,
			    const char *why)
{
	struct ukf_tentry *t = ukf_tcache_find(&n->tc, app);
	struct inst *w;

	if (!t)
		return;
	w = t->waiters;
	t->waiters = NULL;
	LOG(e, n->id, "template-drop app=%s node=%u reason=%s",
	    app_name(e, app), n->id, why);
	ukf_tcache_remove(&n->tc, app);
	while (w) {
		struct inst *next = w->next_wait;
		w->waiting_tpl = 0;
		if (w->is_fork)
			inst_finish(e, w, UKF_STATUS_FAILED,
				    "template unavailable");
		else
			start_cold(e, n, w, 0);
		w = next;
	}
}

/* The fetch of a pending template failed: make it here instead. */
static void fetch_failed(ukf_engine_t *e, struct node *n, struct ukf_tentry *t)
{
	struct inst *w = t->waiters;

	t->fetching = 0;
	if (w && !w->is_fork) {
		t->waiters = w->next_wait;
		w->waiting_tpl = 0;
		start_cold(e, n, w, 1);
	} else {
		boot_maker(e, n, t);
		if (!t->maker)
			template_failed(e, n, t->app, "cannot boot");
	}
}

/* Get a missing template onto node n: fetch from a peer or boot it here. */
static int obtain_template(ukf_engine_t *e, struct node *n, uint32_t app,
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
		LOG(e, n->id, "template-fetch app=%s node=%u from=%u",
		    app_name(e, app), n->id, peer);
		deliver(e, n->id, peer, &m, 0);
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
			start_restore(e, n, w);
		else
			start_clone_template(e, n, w);
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
	n->st.templates = n->tc.nready;
	LOG(e, n->id, "template-ready app=%s node=%u bytes=%llu%s",
	    app_name(e, app), n->id, ULL(bytes), loaded ? " loaded=1" : "");
	publish(e, n);
}

static void on_template(ukf_engine_t *e, struct node *n,
			const struct ukf_be_event *ev)
{
	struct ukf_tentry *t = ukf_tcache_find(&n->tc, ev->app);
	struct inst *w, *maker = NULL;
	int fetched;
	void *ctx[2] = {e, n};

	if (!t || t->state == UKF_T_READY) {
		LOG(e, n->id, "template-stale app=%s node=%u",
		    app_name(e, ev->app), n->id);
		if (!t)
			e->be->ops->drop_template(e->be->b, n->id, ev->app);
		return;
	}
	if (t->maker)
		maker = inst_at(e, n->id, t->maker);
	fetched = t->fetching == 2;
	/* Make room among the ready ones (pending entries hold no bytes). */
	if (ukf_tcache_make_room(&n->tc, ev->bytes, UKF_DIR_MAX_TEMPLATES,
				 evict_cb, ctx) < 0) {
		e->be->ops->drop_template(e->be->b, n->id, ev->app);
		template_failed(e, n, ev->app, "cache full");
		if (maker && !maker->internal)
			complete(e, maker, 0, 0, 0, NULL, 0);
		else if (maker) {
			e->be->ops->destroy(e->be->b, n->id, maker->id);
			inst_free(e, maker);
		}
		return;
	}
	t = ukf_tcache_find(&n->tc, ev->app); /* eviction moves entries */
	w = t->waiters;
	t->waiters = NULL;
	if (fetched)
		n->st.fetches++;
	template_now_ready(e, n, t, ev->bytes, 0);
	if (maker) {
		if (maker->internal) {
			e->be->ops->destroy(e->be->b, n->id, maker->id);
			inst_free(e, maker);
		} else {
			maker->made = 1;
			complete(e, maker, 0, 0, 0, NULL, 0);
		}
	}
	serve_waiters(e, n, w, fetched);
}

/* ------------------------------------------------------------------ */
/* starting instances on their node                                     */

static void start_failed(ukf_engine_t *e, struct inst *i, const char *op,
			 int rc)
{
	char why[96];

	snprintf(why, sizeof(why), "%s refused (%d)", op, rc);
	inst_finish(e, i, UKF_STATUS_FAILED, why);
}

static void log_start(ukf_engine_t *e, struct inst *i, const char *via)
{
	if (i->is_fork)
		LOG(e, i->node,
		    "fork %llu parent=%llu app=%s origin=%u -> node=%u via=%s",
		    ULL(i->id), ULL(i->parent), app_name(e, i->app), i->origin,
		    i->node, via);
	else
		LOG(e, i->node, "spawn %llu app=%s origin=%u -> node=%u via=%s",
		    ULL(i->id), app_name(e, i->app), i->origin, i->node, via);
}

static void start_cold(ukf_engine_t *e, struct node *n, struct inst *i,
		       int maker)
{
	int rc;

	i->start = UKF_START_COLD;
	i->t_start = now(e);
	n->st.cold++;
	if (maker) {
		struct ukf_tentry *t = ukf_tcache_find(&n->tc, i->app);
		if (t)
			t->maker = i->id;
	}
	log_start(e, i, maker ? "cold+template" : "cold");
	rc = e->be->ops->cold_boot(e->be->b, n->id, i->id, APP(e, i->app),
				   i->args ? i->args : "");
	if (rc < 0)
		start_failed(e, i, "cold_boot", rc);
}

static void start_clone_template(ukf_engine_t *e, struct node *n,
				 struct inst *i)
{
	struct ukf_tentry *t = ukf_tcache_find(&n->tc, i->app);
	int rc;

	if (t)
		ukf_tcache_touch(&n->tc, t);
	i->start = UKF_START_TEMPLATE;
	i->t_start = now(e);
	n->st.template_clones++;
	log_start(e, i, i->fetched ? "fetched-template" : "template");
	rc = e->be->ops->clone_template(
	    e->be->b, n->id, i->id, APP(e, i->app), i->args ? i->args : "");
	if (rc < 0)
		start_failed(e, i, "clone_template", rc);
}

static void start_restore(ukf_engine_t *e, struct node *n, struct inst *i)
{
	struct ukf_tentry *t = ukf_tcache_find(&n->tc, i->app);
	int rc;

	if (t)
		ukf_tcache_touch(&n->tc, t);
	i->start = UKF_START_FORK;
	i->t_start = now(e);
	n->st.forks++;
	log_start(e, i, "delta");
	rc = e->be->ops->restore_delta(e->be->b, n->id, i->id, i->app, i->delta,
				       i->delta_len, i->delta_bytes);
	free(i->delta);
	i->delta = NULL;
	i->delta_len = 0;
	if (rc < 0)
		start_failed(e, i, "restore_delta", rc);
}

static int wants_template(ukf_engine_t *e, struct node *n, uint32_t app)
{
	if (!e->tpl->templates)
		return 0;
	if (e->tpl->topk_only)
		return ukf_topk_has(&n->topk, app);
	return 1;
}

/* A spawn accepted on node n (capacity reserved): choose how it starts. */
static void host_spawn(ukf_engine_t *e, struct node *n, struct inst *i)
{
	struct ukf_tentry *t;

	if (!wants_template(e, n, i->app)) {
		start_cold(e, n, i, 0);
		return;
	}
	t = ukf_tcache_find(&n->tc, i->app);
	if (t && t->state == UKF_T_READY) {
		start_clone_template(e, n, i);
		return;
	}
	if (t) {
		/*
		 * Pending: wait for it. A workload instance that is to make
		 * it may never reach ready() (a guest need not call it): past
		 * MAKER_GRACE after its start, spawns boot cold instead, and
		 * a timer then releases those already waiting.
		 */
		struct inst *m = t->maker ? inst_at(e, n->id, t->maker) : NULL;
		if (m && !m->internal && m->t_ready == UKF_NS_NEVER) {
			ukf_ns_t until =
			    m->t_start + MAKER_GRACE(APP(e, m->app));
			if (now(e) >= until) {
				start_cold(e, n, i, 0);
				return;
			}
			if (!m->maker_timer) {
				m->maker_timer = 1;
				arm(e, n->id, until, T_MAKER, m->id, 0);
			}
		}
		log_start(e, i, "wait-template");
		wait_tpl(t, i);
		return;
	}
	if (obtain_template(e, n, i->app, &t) < 0) {
		start_cold(e, n, i, 0); /* cache full of pending entries */
		return;
	}
	if (t->fetching) {
		log_start(e, i, "wait-template");
		wait_tpl(t, i);
	} else {
		start_cold(e, n, i, 1);
	}
}

/* A remote fork child accepted on node n: it needs the app's template. */
static void host_clone(ukf_engine_t *e, struct node *n, struct inst *i)
{
	struct ukf_tentry *t = ukf_tcache_find(&n->tc, i->app);

	if (t && t->state == UKF_T_READY) {
		start_restore(e, n, i);
		return;
	}
	if (!t) {
		if (obtain_template(e, n, i->app, &t) < 0) {
			inst_finish(e, i, UKF_STATUS_FAILED,
				    "template cache full");
			return;
		}
		if (!t->fetching) {
			boot_maker(e, n, t);
			if (!t->maker) {
				ukf_tcache_remove(&n->tc, i->app);
				inst_finish(e, i, UKF_STATUS_FAILED,
					    "cannot boot template");
				return;
			}
		}
	}
	LOG(e, n->id,
	    "fork %llu parent=%llu app=%s origin=%u -> node=%u "
	    "via=wait-template",
	    ULL(i->id), ULL(i->parent), app_name(e, i->app), i->origin, n->id);
	wait_tpl(t, i);
}

static void count_request(ukf_engine_t *e, struct node *n, uint32_t app);

/*
 * Accept SPAWN/CLONE m on node n after re-checking capacity against the
 * node's true state. Returns 0, or -1 if the node has no room (NACK).
 */
static int host_accept(ukf_engine_t *e, struct node *n, const struct ukf_msg *m)
{
	const struct ukf_app *a = APP(e, m->app);
	struct inst *i;

	if (!fits(n, a)) {
		n->st.rejects++;
		LOG(e, n->id, "nack %llu app=%s node=%u", ULL(m->id), a->name,
		    n->id);
		return -1;
	}
	if (map_get(&e->insts, m->id)) {
		LOG(e, n->id, "drop %s %llu: duplicate instance id",
		    ukf_msg_name(m->type), ULL(m->id));
		return 0;
	}
	i = inst_new(e, m->id, m->app, n->id);
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
		i->args = dupstr(e, m->text, m->text_len);
	n->st.requests++;
	if (i->remote)
		n->st.remote_in++;
	reserve(e, n, a);
	count_request(e, n, m->app);
	if (m->type == UKF_MSG_CLONE) {
		i->is_fork = 1;
		i->delta_bytes = m->bytes;
		if (m->data_len) {
			i->delta = e_malloc(e, m->data_len);
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

/* ------------------------------------------------------------------ */
/* prewarm                                                              */

static void prewarm_app(ukf_engine_t *e, struct node *n, uint32_t app)
{
	struct ukf_tentry *t = ukf_tcache_find(&n->tc, app);

	if (t) {
		t->pinned = 1;
		return;
	}
	if (obtain_template(e, n, app, &t) < 0)
		return;
	t->pinned = 1;
	LOG(e, n->id, "prewarm app=%s node=%u", app_name(e, app), n->id);
	if (!t->fetching) {
		boot_maker(e, n, t);
		if (!t->maker)
			ukf_tcache_remove(&n->tc, app);
	}
}

static void count_request(ukf_engine_t *e, struct node *n, uint32_t app)
{
	uint32_t added, removed;
	struct ukf_tentry *t;

	if (!e->tpl->topk_only ||
	    !ukf_topk_bump(&n->topk, app, &added, &removed))
		return;
	t = ukf_tcache_find(&n->tc, removed);
	if (t)
		t->pinned = 0;
	if (e->tpl->prewarm)
		prewarm_app(e, n, added);
}

/* ------------------------------------------------------------------ */
/* requests (origin side)                                               */

static void req_free(ukf_engine_t *e, struct req *q)
{
	map_del(&e->reqs, q->id);
	free(q->args);
	free(q->delta);
	free(q);
}

static void place_req(ukf_engine_t *e, struct req *q);

static void req_fail(ukf_engine_t *e, struct req *q, const char *why);

static void retry_later(ukf_engine_t *e, struct req *q)
{
	uint32_t sh = q->attempt > 0 ? q->attempt - 1 : 0;
	ukf_ns_t delay = e->cfg.retry_ns << (sh < 6 ? sh : 6);

	q->inflight = 0;
	if (q->killed) {
		req_fail(e, q, "killed");
		return;
	}
	q->gen++;
	LOG(e, q->origin, "retry %llu attempt=%u in=%lldns", ULL(q->id),
	    q->attempt, LL(delay));
	arm(e, q->origin, now(e) + delay, T_RETRY, q->id, q->gen);
}

/* A request that can never be placed: the requester learns why. */
static void req_fail(ukf_engine_t *e, struct req *q, const char *why)
{
	struct inst *p = q->parent ? inst_at(e, q->origin, q->parent) : NULL;
	ukf_id_t id = q->id;
	uint64_t tag = q->tag;
	int notify = (q->flags & F_NOTIFY) != 0;

	LOG(e, q->origin, "fail %llu node=none reason=%s", ULL(q->id), why);
	record_req(e, q, why);
	if (p) {
		struct kid *k = kid_find(p, q->id);
		if (k)
			kid_remove(p, k);
		if ((p->call == UKF_CALL_FORK && q->kind == R_FORK &&
		     !(q->flags & F_NOTIFY)) ||
		    (p->call == UKF_CALL_SPAWN && q->kind == R_SPAWN))
			complete(e, p, -UKF_EAGAIN, 0, 0, NULL, 0);
	}
	req_free(e, q);
	if (notify && e->hooks.on_fail)
		e->hooks.on_fail(e->hooks.u, id, tag, why);
}

static void send_req(ukf_engine_t *e, struct req *q)
{
	if (q->killed) {
		req_fail(e, q, "killed");
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
	    .app = q->app,
	    .origin = q->origin,
	    .attempt = q->attempt,
	    .flags = q->flags,
	    .text = q->args,
	    .text_len = q->args ? strlen(q->args) : 0,
	    .data = q->delta,
	    .data_len = q->delta_len,
	};
	int rc = deliver(e, q->origin, q->target, &m,
			 q->kind == R_FORK ? q->delta_bytes : 0);
	if (rc == -2)
		req_fail(e, q, "request too large to send");
	else if (rc < 0)
		retry_later(e, q);
}

/* Local fork: clone the paused parent on its own node. */
static int local_fork(ukf_engine_t *e, struct req *q, struct inst *p)
{
	struct node *n = &e->node;
	const struct ukf_app *a = APP(e, q->app);
	struct inst *c;
	int rc;

	if (!fits(n, a)) {
		n->st.rejects++;
		LOG(e, n->id, "nack %llu app=%s node=%u", ULL(q->id), a->name,
		    n->id);
		return -1;
	}
	c = inst_new(e, q->id, q->app, n->id);
	if (!c)
		return -1;
	c->parent = q->parent;
	c->origin = q->origin;
	c->tag = q->tag;
	c->flags = q->flags;
	c->t_request = q->t_request;
	c->t_placed = q->t_placed;
	c->is_fork = 1;
	c->start = UKF_START_FORK;
	c->t_start = now(e);
	n->st.requests++;
	n->st.forks++;
	reserve(e, n, a);
	count_request(e, n, q->app);
	req_free(e, q);
	log_start(e, c, "live");
	rc = e->be->ops->clone_live(e->be->b, n->id, c->id, p->id);
	if (rc < 0)
		start_failed(e, c, "clone_live", rc);
	return 0;
}

static void place_req(ukf_engine_t *e, struct req *q)
{
	struct node *n = &e->node;
	const struct ukf_app *a = APP(e, q->app);
	struct ukf_place_ctx c;
	struct ukf_dir_record self;
	ukf_node_id_t t;

	if (q->attempt > e->cfg.max_retries) {
		char why[96];
		snprintf(why, sizeof(why), "no capacity after %u attempts",
			 q->attempt);
		req_fail(e, q, why);
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
	node_record(n, &self);
	c.self = &self;
	t = c.dir ? e->place->place(&c) : UKF_NODE_NONE;
	/* The view may be stale or empty; the origin knows its own room. */
	if (t == UKF_NODE_NONE && fits(n, a))
		t = q->origin;
	q->attempt++;
	if (t == UKF_NODE_NONE || t >= e->cfg.nodes) {
		LOG(e, q->origin, "noplace %llu app=%s attempt=%u", ULL(q->id),
		    a->name, q->attempt);
		retry_later(e, q);
		return;
	}
	q->target = t;
	q->t_placed = now(e);
	LOG(e, q->origin, "place %llu app=%s origin=%u -> node=%u attempt=%u",
	    ULL(q->id), a->name, q->origin, t, q->attempt);
	if (q->kind == R_FORK) {
		struct inst *p = inst_at(e, q->origin, q->parent);
		if (!p) {
			req_fail(e, q, "parent gone");
			return;
		}
		if (t == q->origin) {
			if (local_fork(e, q, p) < 0)
				retry_later(e, q);
			return;
		}
		if (!q->have_delta) {
			int rc;
			if (p->delta_req) {
				/* one save at a time per parent */
				retry_later(e, q);
				return;
			}
			p->delta_req = q->id;
			q->inflight = 1;
			rc = e->be->ops->save_delta(e->be->b, q->origin, p->id);
			if (rc < 0) {
				p->delta_req = 0;
				q->inflight = 0;
				req_fail(e, q, "save_delta refused");
			}
			return; /* continues at UKF_BE_DELTA */
		}
	}
	send_req(e, q);
}

static struct req *req_new(ukf_engine_t *e, enum req_kind kind,
			   ukf_node_id_t origin, uint32_t app, ukf_id_t parent,
			   uint64_t tag, uint32_t flags, const char *args,
			   size_t args_len)
{
	struct req *q = e_calloc(e, 1, sizeof(*q));

	if (!q)
		return NULL;
	q->id = new_id(e);
	q->kind = kind;
	q->origin = origin;
	q->app = app;
	q->parent = parent;
	q->tag = tag;
	q->flags = flags;
	q->t_request = now(e);
	q->t_placed = UKF_NS_NEVER;
	if (args && args_len) {
		q->args = dupstr(e, args, args_len);
		if (!q->args) {
			free(q);
			return NULL;
		}
	}
	if (map_put(e, &e->reqs, q->id, q) < 0) {
		free(q->args);
		free(q);
		return NULL;
	}
	LOG(e, origin, "request %llu app=%s origin=%u parent=%llu kind=%s",
	    ULL(q->id), app_name(e, app), origin, ULL(parent),
	    kind == R_FORK ? "fork" : "spawn");
	return q;
}

/* ------------------------------------------------------------------ */
/* exits and notifications                                              */

static void notify_origin(ukf_engine_t *e, struct inst *i,
			  enum ukf_msg_type type, int64_t status,
			  const char *why)
{
	struct ukf_msg m = {
	    .type = type,
	    .id = i->id,
	    .parent = i->parent,
	    .ref = i->node,
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
	deliver(e, i->node, i->origin, &m, 0);
}

static void inst_finish(ukf_engine_t *e, struct inst *i, int64_t status,
			const char *why)
{
	struct node *n = &e->node;
	struct ukf_tentry *t = ukf_tcache_find(&n->tc, i->app);
	ukf_ns_t t_exit = i->t_end ? i->t_end : now(e);
	int counted = !i->internal;

	if (i->waiting_tpl)
		unwait_tpl(n, i);
	if (i->delta_req) { /* a remote fork of it was saving its delta */
		struct req *q = req_at(e, i->node, i->delta_req);
		i->delta_req = 0;
		if (q)
			req_fail(e, q, "parent gone");
	}
	if (t && t->state == UKF_T_PENDING && t->maker == i->id) {
		t->maker = 0;
		template_failed(e, n, i->app, "maker ended");
	}
	e->be->ops->destroy(e->be->b, n->id, i->id);
	if (i->internal) {
		inst_free(e, i);
		return;
	}
	if (why)
		LOG(e, n->id, "fail %llu node=%u reason=%s", ULL(i->id), n->id,
		    why);
	else
		LOG(e, n->id, "exit %llu node=%u status=%lld", ULL(i->id),
		    n->id, LL(status));
	record_inst(e, i, t_exit, status, why);
	if (i->resuming)
		resume_unlink(n, i);
	if (counted)
		release(e, n, APP(e, i->app), !i->vcpu_off);
	notify_origin(e, i, why ? UKF_MSG_FAIL : UKF_MSG_EXIT, status, why);
	inst_free(e, i);
	drain_resumes(e, n);
}

/* A child of p ended: reap it if p waits for it. */
static void child_ended(ukf_engine_t *e, struct inst *p, ukf_id_t id,
			int64_t status)
{
	struct kid *k = kid_find(p, id);

	if (!k) {
		LOG(e, p->node, "orphan-exit %llu parent=%llu", ULL(id),
		    ULL(p->id));
		return;
	}
	k->state = K_EXITED;
	k->status = status;
	if (p->call == UKF_CALL_WAIT && (p->wait_id == 0 || p->wait_id == id)) {
		kid_remove(p, k);
		LOG(e, p->node, "reap %llu child=%llu status=%lld", ULL(p->id),
		    ULL(id), LL(status));
		complete(e, p, (int64_t)id, status, 0, NULL, 0);
	}
}

/* The new instance runs (READY message at the origin, or local fork). */
static void started_at_origin(ukf_engine_t *e, ukf_node_id_t origin,
			      ukf_id_t id, ukf_id_t parent, ukf_node_id_t node,
			      uint64_t tag, uint32_t flags)
{
	struct req *q = req_at(e, origin, id);
	enum req_kind kind = (flags & F_FORK) ? R_FORK : R_SPAWN;
	struct inst *p;

	if (q && q->killed) {
		/* killed while in flight: stop it where it landed; its FAIL
		 * comes back here like any other */
		struct ukf_msg m = {
		    .type = UKF_MSG_KILL, .id = id, .origin = origin};
		req_free(e, q);
		deliver(e, origin, node, &m, 0);
		return;
	}
	if (q)
		req_free(e, q);
	if (parent && (p = inst_at(e, origin, parent)) != NULL) {
		struct kid *k = kid_find(p, id);
		if (k && k->state == K_PENDING) {
			k->state = K_RUNNING;
			k->node = node;
		}
		if (!(flags & F_NOTIFY) &&
		    ((kind == R_FORK && p->call == UKF_CALL_FORK) ||
		     (kind == R_SPAWN && p->call == UKF_CALL_SPAWN)))
			complete(e, p, (int64_t)id, 0, 0, NULL, 0);
	}
	if ((flags & F_NOTIFY) && e->hooks.on_ready)
		e->hooks.on_ready(e->hooks.u, id, tag);
}

/* ------------------------------------------------------------------ */
/* guest calls                                                          */

static void deliver_local(ukf_engine_t *e, struct inst *d, ukf_id_t src,
			  const void *data, size_t len, int *rc)
{
	struct qmsg *q;

	*rc = 0;
	if (d->call == UKF_CALL_RECV) {
		complete(e, d, (int64_t)len, 0, src, data, len);
		return;
	}
	if (d->qlen >= e->cfg.max_queue) {
		*rc = -UKF_EAGAIN;
		return;
	}
	q = e_malloc(e, sizeof(*q) + len);
	if (!q) {
		*rc = -UKF_ENOMEM;
		return;
	}
	q->next = NULL;
	q->src = src;
	q->len = len;
	if (len)
		memcpy(q->data, data, len);
	if (d->qtail)
		d->qtail->next = q;
	else
		d->qhead = q;
	d->qtail = q;
	d->qlen++;
	if (d->call == UKF_CALL_BLOCK)
		complete(e, d, 1, 0, 0, NULL, 0);
}

static void wait_deadline(ukf_engine_t *e, struct inst *i, ukf_ns_t deadline)
{
	if (deadline > 0)
		arm(e, i->node, deadline, T_DEADLINE, i->id, i->gen);
}

static void call_fork_or_spawn(ukf_engine_t *e, struct inst *p,
			       const struct ukf_be_event *ev)
{
	uint32_t app = p->app;
	const char *args = NULL;
	size_t alen = 0;
	struct req *q;

	if (ev->call == UKF_CALL_SPAWN) {
		int a = ev->text ? ukf_apps_find(e->apps, ev->text) : -1;
		if (a < 0) {
			complete(e, p, -UKF_ENOENT, 0, 0, NULL, 0);
			return;
		}
		app = (uint32_t)a;
		if (ev->data) {
			args = ev->data;
			alen = strnlen(args, ev->len ? ev->len : UKF_ARGS_MAX);
			if (alen >= UKF_ARGS_MAX) {
				complete(e, p, -UKF_EINVAL, 0, 0, NULL, 0);
				return;
			}
		}
	}
	if (p->nkids >= e->cfg.max_children) {
		LOG(e, p->node, "limit %llu children=%u", ULL(p->id), p->nkids);
		complete(e, p, -UKF_EAGAIN, 0, 0, NULL, 0);
		return;
	}
	q = req_new(e, ev->call == UKF_CALL_FORK ? R_FORK : R_SPAWN, p->node,
		    app, p->id, p->tag, 0, args, alen);
	if (!q || !kid_add(e, p, q->id)) {
		if (q)
			req_free(e, q);
		complete(e, p, -UKF_ENOMEM, 0, 0, NULL, 0);
		return;
	}
	if (ev->call == UKF_CALL_FORK)
		p->dirty_pages = ev->dirty_pages;
	vcpu_release(e, p); /* paused until placed: the child may use it */
	place_req(e, q);
}

static void call_wait(ukf_engine_t *e, struct inst *p,
		      const struct ukf_be_event *ev)
{
	struct kid *k = NULL;
	int pending = 0;

	if (ev->arg_id) {
		k = kid_find(p, ev->arg_id);
		if (!k) {
			complete(e, p, -UKF_ECHILD, 0, 0, NULL, 0);
			return;
		}
		pending = k->state != K_EXITED;
	} else {
		for (uint32_t j = 0; j < p->nkids && !k; j++)
			if (p->kids[j].state == K_EXITED)
				k = &p->kids[j];
		if (!k && !p->nkids) {
			complete(e, p, -UKF_ECHILD, 0, 0, NULL, 0);
			return;
		}
		pending = !k;
	}
	if (!pending) {
		ukf_id_t id = k->id;
		int64_t st = k->status;
		kid_remove(p, k);
		LOG(e, p->node, "reap %llu child=%llu status=%lld", ULL(p->id),
		    ULL(id), LL(st));
		complete(e, p, (int64_t)id, st, 0, NULL, 0);
		return;
	}
	if (ev->deadline > 0 && ev->deadline <= now(e)) {
		complete(e, p, -UKF_ETIMEDOUT, 0, 0, NULL, 0);
		return;
	}
	p->wait_id = ev->arg_id;
	wait_deadline(e, p, ev->deadline);
	vcpu_release(e, p); /* blocked: its vCPU can run others */
}

static void call_send(ukf_engine_t *e, struct inst *p,
		      const struct ukf_be_event *ev)
{
	ukf_id_t dst = ev->arg_id;
	ukf_node_id_t where = UKF_NODE_NONE;
	struct inst *d;
	struct kid *k;
	int rc;

	if (ev->len > UKF_MSG_MAX) {
		complete(e, p, -UKF_EMSGSIZE, 0, 0, NULL, 0);
		return;
	}
	if (ev->len && !ev->data) {
		complete(e, p, -UKF_EFAULT, 0, 0, NULL, 0);
		return;
	}
	/* Where dst runs, as far as this agent knows. */
	if ((d = inst_at(e, p->node, dst)) != NULL && !d->internal) {
		deliver_local(e, d, p->id, ev->data, ev->len, &rc);
		complete(e, p, rc, 0, 0, NULL, 0);
		return;
	}
	if (dst == p->parent && p->parent)
		where = p->origin;
	else if ((k = kid_find(p, dst)) != NULL && k->state == K_RUNNING)
		where = k->node;
	if (where == UKF_NODE_NONE || where == p->node) {
		complete(e, p, -UKF_ESRCH, 0, 0, NULL, 0);
		return;
	}
	struct ukf_msg m = {.type = UKF_MSG_MSG,
			    .id = dst,
			    .ref = p->id,
			    .origin = p->node,
			    .data = ev->data,
			    .data_len = ev->len};
	complete(e, p, 0, 0, 0, NULL, 0);
	deliver(e, p->node, where, &m, 0);
}

static void call_recv(ukf_engine_t *e, struct inst *p,
		      const struct ukf_be_event *ev)
{
	struct qmsg *q = p->qhead;

	if (q) {
		if (ev->call == UKF_CALL_BLOCK) {
			complete(e, p, 1, 0, 0, NULL, 0);
			return;
		}
		p->qhead = q->next;
		if (!p->qhead)
			p->qtail = NULL;
		p->qlen--;
		complete(e, p, (int64_t)q->len, 0, q->src, q->data, q->len);
		free(q);
		return;
	}
	if (ev->deadline > 0 && ev->deadline <= now(e)) {
		complete(e, p, ev->call == UKF_CALL_BLOCK ? 0 : -UKF_ETIMEDOUT,
			 0, 0, NULL, 0);
		return;
	}
	wait_deadline(e, p, ev->deadline);
	vcpu_release(e, p); /* blocked: its vCPU can run others */
}

static void on_call(ukf_engine_t *e, struct inst *p,
		    const struct ukf_be_event *ev)
{
	if (p->call) {
		LOG(e, p->node, "drop call %llu: already paused in call %d",
		    ULL(p->id), (int)p->call);
		return;
	}
	p->call = ev->call;
	p->gen++;
	switch (ev->call) {
	case UKF_CALL_FORK:
	case UKF_CALL_SPAWN:
		call_fork_or_spawn(e, p, ev);
		break;
	case UKF_CALL_WAIT:
		call_wait(e, p, ev);
		break;
	case UKF_CALL_SEND:
		call_send(e, p, ev);
		break;
	case UKF_CALL_RECV:
	case UKF_CALL_BLOCK:
		call_recv(e, p, ev);
		break;
	default:
		complete(e, p, -UKF_ENOSYS, 0, 0, NULL, 0);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* world callbacks                                                      */

void ukf_engine_on_timer(ukf_engine_t *e, ukf_node_id_t node, uint64_t cookie)
{
	enum timer_kind kind = (enum timer_kind)(cookie >> 60);
	uint32_t gen = (uint32_t)(cookie >> 48) & 0xfff;
	ukf_id_t id = cookie & 0xffffffffffffULL;

	if (!e || node != e->self)
		return;
	if (kind == T_RETRY) {
		struct req *q = req_at(e, node, id);
		if (q && (q->gen & 0xfff) == gen)
			place_req(e, q);
	} else if (kind == T_MAKER) {
		struct inst *m = inst_at(e, node, id);
		struct ukf_tentry *t =
		    m ? ukf_tcache_find(&e->node.tc, m->app) : NULL;
		struct inst **w;
		if (!m || m->t_ready != UKF_NS_NEVER || !t ||
		    t->state != UKF_T_PENDING || t->maker != m->id)
			return;
		LOG(e, node, "template-slow app=%s node=%u inst=%llu",
		    app_name(e, m->app), node, ULL(m->id));
		for (w = (struct inst **)&t->waiters; *w;) {
			struct inst *x = *w;
			if (x->is_fork) {
				w = &x->next_wait;
				continue;
			}
			*w = x->next_wait;
			x->waiting_tpl = 0;
			start_cold(e, &e->node, x, 0);
			/* start_cold may fail x and touch the cache: rescan */
			t = ukf_tcache_find(&e->node.tc, m->app);
			if (!t)
				return;
			w = (struct inst **)&t->waiters;
		}
	} else if (kind == T_DEADLINE) {
		struct inst *i = inst_at(e, node, id);
		if (!i || (i->gen & 0xfff) != gen)
			return;
		if (i->call == UKF_CALL_WAIT || i->call == UKF_CALL_RECV)
			complete(e, i, -UKF_ETIMEDOUT, 0, 0, NULL, 0);
		else if (i->call == UKF_CALL_BLOCK)
			complete(e, i, 0, 0, 0, NULL, 0);
	}
}

static void handle_msg(ukf_engine_t *e, ukf_node_id_t to, ukf_node_id_t from,
		       const struct ukf_msg *m)
{
	struct node *n = &e->node;

	switch (m->type) {
	case UKF_MSG_SPAWN:
	case UKF_MSG_CLONE:
		if (m->app >= NAPPS(e) || m->origin >= e->cfg.nodes) {
			LOG(e, to, "drop %s %llu: bad app or origin",
			    ukf_msg_name(m->type), ULL(m->id));
			return;
		}
		if (host_accept(e, n, m) < 0) {
			struct ukf_msg r = {.type = UKF_MSG_NACK,
					    .id = m->id,
					    .app = m->app,
					    .origin = m->origin};
			deliver(e, to, m->origin, &r, 0);
		}
		break;
	case UKF_MSG_NACK: {
		struct req *q = req_at(e, to, m->id);
		if (!q) {
			LOG(e, to, "drop nack %llu: no such request",
			    ULL(m->id));
			return;
		}
		retry_later(e, q);
		break;
	}
	case UKF_MSG_READY:
		LOG(e, to, "ready %llu node=%llu", ULL(m->id), ULL(m->ref));
		started_at_origin(e, to, m->id, m->parent,
				  (ukf_node_id_t)m->ref, m->tag, m->flags);
		break;
	case UKF_MSG_EXIT:
	case UKF_MSG_FAIL: {
		int64_t st =
		    m->type == UKF_MSG_EXIT ? m->status : UKF_STATUS_FAILED;
		struct req *q = req_at(e, to, m->id);
		struct inst *p = m->parent ? inst_at(e, to, m->parent) : NULL;
		struct kid *k = p ? kid_find(p, m->id) : NULL;
		int never_ran = q || (k && k->state == K_PENDING);
		if (never_ran && m->type == UKF_MSG_FAIL) {
			/* it failed before it ever ran: the fork or spawn
			 * itself failed, as the guest sees it */
			if (q)
				req_free(e, q);
			if (k)
				kid_remove(p, k);
			if (p && !(m->flags & F_NOTIFY) &&
			    p->call == ((m->flags & F_FORK) ? UKF_CALL_FORK
							    : UKF_CALL_SPAWN))
				complete(e, p, -UKF_EAGAIN, 0, 0, NULL, 0);
			else if (p && p->call == UKF_CALL_WAIT &&
				 (p->wait_id == m->id ||
				  (p->wait_id == 0 && p->nkids == 0)))
				complete(e, p, -UKF_ECHILD, 0, 0, NULL, 0);
			p = NULL; /* nothing left to reap */
		} else if (never_ran) {
			/* ended before its READY reached us */
			started_at_origin(e, to, m->id, m->parent,
					  (ukf_node_id_t)m->ref, m->tag,
					  m->flags & ~F_NOTIFY);
		}
		if (p)
			child_ended(e, p, m->id, st);
		else if (m->parent && !never_ran)
			LOG(e, to, "orphan-exit %llu parent=%llu", ULL(m->id),
			    ULL(m->parent));
		if (m->flags & F_NOTIFY) {
			if (m->type == UKF_MSG_EXIT && e->hooks.on_exit)
				e->hooks.on_exit(e->hooks.u, m->id, m->tag, st);
			if (m->type == UKF_MSG_FAIL && e->hooks.on_fail) {
				char why[256];
				size_t l = m->text_len < sizeof(why) - 1
					       ? m->text_len
					       : sizeof(why) - 1;
				if (l)
					memcpy(why, m->text, l);
				why[l] = 0;
				e->hooks.on_fail(e->hooks.u, m->id, m->tag,
						 why);
			}
		}
		break;
	}
	case UKF_MSG_TFETCH: {
		struct ukf_tentry *t = ukf_tcache_find(&n->tc, m->app);
		struct ukf_msg r = {.type = UKF_MSG_TDATA,
				    .app = m->app,
				    .origin = to,
				    .status = -1};
		if (t && t->state == UKF_T_READY) {
			ukf_tcache_touch(&n->tc, t);
			r.status = 0;
			r.bytes = t->bytes;
		}
		deliver(e, to, from, &r, r.bytes);
		break;
	}
	case UKF_MSG_TDATA: {
		struct ukf_tentry *t = ukf_tcache_find(&n->tc, m->app);
		int rc;
		if (!t || t->state != UKF_T_PENDING || t->fetching != 1) {
			LOG(e, to, "drop tdata app=%s: not fetching",
			    app_name(e, m->app));
			return;
		}
		if (m->status < 0) {
			LOG(e, to,
			    "template-fetch-failed app=%s node=%u from=%u",
			    app_name(e, m->app), to, from);
			fetch_failed(e, n, t);
			return;
		}
		t->fetching = 2;
		rc = e->be->ops->load_template(e->be->b, to, m->app, m->data,
					       m->bytes);
		if (rc < 0)
			fetch_failed(e, n, t);
		break;
	}
	case UKF_MSG_MSG: {
		struct inst *d = inst_at(e, to, m->id);
		int rc = -UKF_ESRCH;
		if (d && !d->internal)
			deliver_local(e, d, m->ref, m->data, m->data_len, &rc);
		if (rc < 0)
			LOG(e, to, "drop msg to %llu from %llu: %s", ULL(m->id),
			    ULL(m->ref),
			    rc == -UKF_EAGAIN ? "queue full"
					      : "no such instance");
		break;
	}
	case UKF_MSG_KILL: {
		struct inst *d = inst_at(e, to, m->id);
		if (d)
			inst_finish(e, d, UKF_STATUS_FAILED, "killed");
		break;
	}
	default:
		break;
	}
}

void ukf_engine_on_message(ukf_engine_t *e, ukf_node_id_t to,
			   ukf_node_id_t from, const void *buf, size_t len)
{
	struct ukf_msg m;
	char err[160];

	if (!e || to != e->self) /* not ours: nothing to log it on */
		return;
	if (ukf_msg_decode(&m, buf, len, err, sizeof(err)) < 0) {
		LOG(e, to, "drop message from=%u: %s", from, err);
		return;
	}
	if (from >= e->cfg.nodes) {
		LOG(e, to, "drop %s from=%u: no such node",
		    ukf_msg_name(m.type), from);
		return;
	}
	handle_msg(e, to, from, &m);
}

void ukf_engine_on_backend(ukf_engine_t *e, ukf_node_id_t node,
			   const struct ukf_be_event *ev)
{
	struct node *n;
	struct inst *i;
	ukf_ns_t at;

	if (!e || !ev || node != e->self)
		return;
	n = &e->node;
	/* when it happened; never later than now, never before 0 */
	at = ev->at > 0 && ev->at <= now(e) ? ev->at : now(e);
	if (ev->kind == UKF_BE_TEMPLATE) {
		if (ev->app >= NAPPS(e)) {
			LOG(e, node, "drop template event: bad app %u",
			    ev->app);
			return;
		}
		on_template(e, n, ev);
		return;
	}
	if (ev->kind == UKF_BE_ERROR && ev->inst == 0) {
		struct ukf_tentry *t = ev->app < NAPPS(e)
					   ? ukf_tcache_find(&n->tc, ev->app)
					   : NULL;
		LOG(e, node, "error template app=%s node=%u: %s",
		    app_name(e, ev->app), node, ev->text ? ev->text : "?");
		if (t && t->state == UKF_T_PENDING)
			template_failed(e, n, ev->app, "backend error");
		return;
	}
	i = inst_at(e, node, ev->inst);
	if (!i) {
		LOG(e, node, "drop backend event %d: no instance %llu",
		    (int)ev->kind, ULL(ev->inst));
		return;
	}
	switch (ev->kind) {
	case UKF_BE_STARTED:
		i->running = 1;
		if (!i->is_fork || i->internal)
			break;
		/* A fork child is running: both sides of fork() return. */
		i->t_ready = at;
		complete(e, i, 0, 0, 0, NULL, 0);
		notify_origin(e, i, UKF_MSG_READY, 0, NULL);
		break;
	case UKF_BE_READY: {
		struct ukf_tentry *t = ukf_tcache_find(&n->tc, i->app);
		i->t_ready =
		    at; /* internal too: spawns wait for its template */
		i->dirty_pages = ev->dirty_pages;
		if (t && t->state == UKF_T_PENDING && t->maker == i->id) {
			int rc;
			LOG(e, node, "template-make app=%s node=%u inst=%llu",
			    app_name(e, i->app), node, ULL(i->id));
			rc = e->be->ops->make_template(e->be->b, node, i->id,
						       i->app);
			if (rc < 0) {
				t->maker = 0;
				template_failed(e, n, i->app, "make refused");
				if (!i->internal)
					complete(e, i, 0, 0, 0, NULL, 0);
			}
		} else if (!i->internal) {
			complete(e, i, i->start == UKF_START_TEMPLATE, 0, 0,
				 NULL, 0);
		}
		if (!i->internal)
			notify_origin(e, i, UKF_MSG_READY, 0, NULL);
		break;
	}
	case UKF_BE_CALL:
		on_call(e, i, ev);
		break;
	case UKF_BE_EXIT:
		/* the count at exit is the record's (backend.h); 0 = unknown */
		if (ev->dirty_pages)
			i->dirty_pages = ev->dirty_pages;
		i->t_end = at;
		inst_finish(e, i, ev->status, NULL);
		break;
	case UKF_BE_FAIL:
		i->t_end = at;
		inst_finish(e, i, UKF_STATUS_FAILED,
			    ev->text ? ev->text : "failed");
		break;
	case UKF_BE_CONSOLE:
		if (e->hooks.on_console && (!ev->len || ev->data))
			e->hooks.on_console(e->hooks.u, i->id, ev->data,
					    ev->len);
		break;
	case UKF_BE_DELTA: {
		struct req *q = req_at(e, node, i->delta_req);
		i->delta_req = 0;
		if (!q)
			break;
		q->have_delta = 1;
		q->delta_bytes = ev->bytes;
		if (ev->len && ev->data) {
			q->delta = e_malloc(e, ev->len);
			if (q->delta) {
				memcpy(q->delta, ev->data, ev->len);
				q->delta_len = ev->len;
			}
		}
		send_req(e, q);
		break;
	}
	case UKF_BE_ERROR:
		if (i->delta_req) {
			struct req *q = req_at(e, node, i->delta_req);
			i->delta_req = 0;
			if (q)
				req_fail(e, q, "save_delta failed");
			break;
		}
		inst_finish(e, i, UKF_STATUS_FAILED,
			    ev->text ? ev->text : "backend error");
		break;
	default:
		LOG(e, node, "drop backend event %d for %llu", (int)ev->kind,
		    ULL(ev->inst));
		break;
	}
}

/* ------------------------------------------------------------------ */
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

#define CERR(...) (snprintf(err, errlen, __VA_ARGS__), (void)0)

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
	e = calloc(1, sizeof(*e));
	if (!e) {
		CERR("engine: out of memory");
		return NULL;
	}
	e->cfg = *cfg;
	e->cfg.per_node = NULL;
	e->cfg.placement = pl->name;
	e->cfg.templates = tp->name;
	e->self = cfg->self;
	e->apps = apps;
	e->env = env;
	e->be = be;
	if (hooks)
		e->hooks = *hooks;
	e->place = pl;
	e->tpl = tp;
	e->node.id = cfg->self;
	e->node.cfg = *nc;
	e->node.rr = cfg->self; /* origins start their rounds at different nodes */
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
		if (e->insts.keys[k]) {
			if (n < cap)
				ids[n] = e->insts.keys[k];
			n++;
		}
	for (size_t k = 0; k < e->reqs.cap; k++)
		if (e->reqs.keys[k] && !map_get(&e->insts, e->reqs.keys[k])) {
			if (n < cap)
				ids[n] = e->reqs.keys[k];
			n++;
		}
	return n;
}

void ukf_engine_end(ukf_engine_t *e, ukf_id_t id)
{
	struct inst *i = e ? map_get(&e->insts, id) : NULL;
	struct req *q;

	if (!e)
		return;
	if (i) {
		if (!i->internal)
			record_inst(e, i, UKF_NS_NEVER, UKF_STATUS_RUNNING,
				    NULL);
		e->be->ops->destroy(e->be->b, i->node, i->id);
		inst_free(e, i);
		return;
	}
	q = map_get(&e->reqs, id);
	if (q) {
		record_req(e, q, "not placed before the end");
		req_free(e, q);
	}
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
	ids = malloc((n + 1) * sizeof(*ids));
	if (ids) {
		n = ukf_engine_leftovers(e, ids, n);
		qsort(ids, n, sizeof(*ids), cmp_id);
		for (size_t k = 0; k < n; k++)
			ukf_engine_end(e, ids[k]);
		free(ids);
	}
	for (size_t k = 0; k < e->reqs.cap; k++) {
		struct req *q = e->reqs.vals[k];
		if (e->reqs.keys[k] && q) {
			free(q->args);
			free(q->delta);
			free(q);
		}
	}
	for (size_t k = 0; k < e->insts.cap; k++) {
		struct inst *i = e->insts.vals[k];
		if (e->insts.keys[k] && i) {
			free(i->r_data);
			free(i->kids);
			free(i->args);
			free(i->delta);
			free(i);
		}
	}
	ukf_topk_free(&e->node.topk);
	map_free(&e->insts);
	map_free(&e->reqs);
	free(e);
	*ep = NULL;
}

int ukf_engine_start(ukf_engine_t *e)
{
	if (!e || e->started)
		return -EINVAL;
	e->started = 1;
	if (e->tpl->topk_only &&
	    ukf_topk_init(&e->node.topk, NAPPS(e), e->cfg.prewarm_k) < 0)
		return -ENOMEM;
	publish(e, &e->node);
	return 0;
}

int ukf_engine_prewarm(ukf_engine_t *e)
{
	if (!e || !e->started)
		return -EINVAL;
	if (e->tpl->prewarm)
		for (uint32_t a = 0; a < NAPPS(e); a++)
			if (ukf_topk_has(&e->node.topk, a))
				prewarm_app(e, &e->node, a);
	return 0;
}

int ukf_engine_spawn(ukf_engine_t *e, ukf_node_id_t origin, uint32_t app,
		     const char *args, uint64_t tag, ukf_id_t *id)
{
	struct req *q;
	size_t alen = args ? strlen(args) : 0;

	if (!e || origin != e->self || app >= NAPPS(e) ||
	    alen >= UKF_ARGS_MAX)
		return -EINVAL;
	q = req_new(e, R_SPAWN, origin, app, 0, tag, F_NOTIFY, args, alen);
	if (!q)
		return -ENOMEM;
	if (id)
		*id = q->id;
	place_req(e, q);
	return 0;
}

int ukf_engine_fork(ukf_engine_t *e, ukf_id_t parent, uint64_t tag,
		    ukf_id_t *id)
{
	struct inst *p = e ? map_get(&e->insts, parent) : NULL;
	struct req *q;

	if (!e)
		return -EINVAL;
	if (!p || p->internal || !p->running)
		return -ESRCH;
	if (p->nkids >= e->cfg.max_children)
		return -EAGAIN;
	q = req_new(e, R_FORK, p->node, p->app, p->id, tag, F_NOTIFY, NULL, 0);
	if (!q)
		return -ENOMEM;
	if (!kid_add(e, p, q->id)) {
		req_free(e, q);
		return -ENOMEM;
	}
	if (id)
		*id = q->id;
	place_req(e, q);
	return 0;
}

int ukf_engine_kill(ukf_engine_t *e, ukf_id_t id)
{
	struct inst *i = e ? map_get(&e->insts, id) : NULL;
	struct req *q;

	if (!e)
		return -EINVAL;
	if (i && !i->internal) {
		inst_finish(e, i, UKF_STATUS_FAILED, "killed");
		return 0;
	}
	q = map_get(&e->reqs, id);
	if (q && !q->killed) {
		if (q->inflight)
			q->killed =
			    1; /* resolved when it lands or is refused */
		else
			req_fail(e, q, "killed");
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
	*s = n->st;
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
	return e ? e->alive : 0;
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
			if (c->e[k].app == a && c->e[k].state == UKF_T_READY)
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

ukf_node_id_t ukf_engine_node(const ukf_engine_t *e)
{
	return e ? e->self : UKF_NODE_NONE;
}

int ukf_engine_has(const ukf_engine_t *e, ukf_id_t id)
{
	const struct inst *i;

	if (!e)
		return 0;
	i = map_get(&e->insts, id);
	if (i)
		return i->internal ? 3 : 1;
	return map_get(&e->reqs, id) ? 2 : 0;
}
