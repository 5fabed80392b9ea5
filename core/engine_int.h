/* SPDX-License-Identifier: MIT */
/* engine_int.h - the engine's internals, shared by its rooms (engine*.c):
 * objects, limits, helpers. */
#ifndef UKF_ENGINE_INT_H
#define UKF_ENGINE_INT_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "apps_int.h"
#include "dir.h"
#include "include/ukf_abi.h"
#include "policy.h"
#include "wire.h"

/*
 * Roles. An engine is one node's agent and keeps two kinds of objects in
 * its own id maps:
 *   - a request (struct req) lives on the origin node from the request until
 *     the instance is running somewhere (READY) or the request failed;
 *   - an instance (struct inst) lives on the node it runs on.
 * An instance's exit goes back to its origin (for a fork or a guest spawn
 * the origin is the parent's node), where the parent's child table is.
 * The same id may be a request at its origin and an instance on another
 * node (or on the same one) at once.
 *
 * Rooms: engine.c (creation, public API, world callbacks, plumbing),
 * engine_node.c (capacity, resumes, the directory record), engine_inst.c
 * (instances on their node), engine_tpl.c (the template cache),
 * engine_req.c (requests at their origin: placement, retries),
 * engine_call.c (guest calls), engine_msg.c (messages between agents).
 */

/* The app with id a (valid: checked where ids enter the engine). */
#define APP(e, a) apps_at((e)->apps, (a))
#define NAPPS(e)  apps_count((e)->apps)
#define F_NOTIFY  1u /* message flag: tell the workload (hooks) */
#define F_FORK	  2u /* message flag: the instance is a fork child */
/* READY's flags: bits 8-9 hold the start kind (enum ukf_start), said by
 * F_START_KNOWN (a sender before it left them 0) */
#define F_START_KNOWN 4u
#define F_START_SHIFT 8
/* The start kind READY's flags say; from a sender that did not say it,
 * a fork child's is a fork, another's unknown. */
static inline enum ukf_start eng_ready_start(uint32_t flags)
{
	if (flags & F_START_KNOWN)
		return (enum ukf_start)(flags >> F_START_SHIFT & 3u);
	return (flags & F_FORK) ? UKF_START_FORK : UKF_START_UNKNOWN;
}
#define HOOK(e, h) ((e)->hooks->h) /* a workload hook, or NULL */

enum timer_kind { T_RETRY = 1, T_DEADLINE = 2, T_MAKER = 3, T_ANSWER = 4 };

/* How long spawns wait for a template whose maker is still initialising. */
#define MAKER_GRACE(a) (2 * (a)->init_ns + 10 * UKF_MS)

enum req_kind { R_SPAWN = 1, R_FORK = 2 };

enum kid_state { K_PENDING = 0, K_RUNNING = 1, K_EXITED = 2 };

struct kid {
	ukf_id_t id;
	ukf_node_id_t node;
	uint8_t state;
	uint8_t start; /* K_RUNNING: how it started (READY said) */
	uint32_t app;  /* K_RUNNING: its app (a spawn child's may differ) */
	int64_t status;
	/* K_RUNNING: for its row should its node be lost (engine_peer.c);
	 * t_ready when the READY came */
	ukf_ns_t t_request, t_placed, t_ready;
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
	uint8_t internal; /* boots a template only: no request; its row is
			   * a template boot's (eng_record_boot) */
	uint8_t is_fork;  /* child of a live/remote fork */
	uint8_t remote, fetched, made, running, waiting_tpl, maker_timer;
	/* internal: holds the node's vCPUs and memory for its app until its
	 * template is made (held), or runs in those of the fork child
	 * waiting for that template (lender: it cannot start before) */
	uint8_t held;
	ukf_id_t lender;
	uint64_t delta_bytes, dirty_pages;
	/* the template version its memory is a copy of (0: none, a cold
	 * boot's; or not known); a fork child on its target: the version its
	 * delta was taken against, which it waits for */
	uint64_t tver;
	uint8_t tpl_tries; /* fork child: templates brought for it so far */
	ukf_ns_t t_request, t_placed, t_start, t_ready;
	ukf_ns_t t_end; /* when the backend saw it end (event time), 0: now */
	char *args;
	/* target side of a remote fork: the delta, until the child runs
	 * (kept through a restore: a refused one is tried again) */
	void *delta;
	size_t delta_len;
	/* paused call */
	enum ukf_call call;
	ukf_id_t wait_id;
	uint32_t gen;
	ukf_id_t delta_req; /* parent side: request waiting for DELTA */
	/* parent side: more remote forks of it waiting for a delta while one
	 * is saved (one save at a time per parent), in request order, and
	 * when the save under way began */
	ukf_id_t *dwait;
	uint32_t ndwait, capdwait;
	ukf_ns_t t_delta;
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
	/* copy-on-write admission: what its app's mem exceeds its charge by
	 * (0: charged the whole mem), and the copy of a template whose pages
	 * it shares (struct share id, 0: none) */
	uint64_t mem_saved;
	uint32_t share;
};

/*
 * Copy-on-write admission: one copy of a template on a node whose pages
 * live instances share (template clones, restored fork children, a
 * maker sealed into it, live fork children of those). Dropped from the
 * cache (evicted, replaced by another version) while they run, its pages
 * stay in memory until the last of them ends: they count in the node's
 * orphan_bytes until then.
 */
struct share {
	uint32_t id, app;
	uint32_t users;
	uint8_t dropped; /* no longer the cache's: its bytes are orphaned */
	uint64_t tver, bytes;
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
	uint64_t tver; /* the template the delta was taken against (0: none) */
	uint8_t have_delta;
	uint8_t inflight; /* SPAWN/CLONE sent (or delta being saved) */
	uint8_t delta_wait; /* placed; waits for its parent's delta save */
	uint8_t killed;	  /* killed while in flight: stop it when it lands */
	uint32_t attempt, gen;
	ukf_ns_t t_request, t_placed;
};

/*
 * id -> object: open addressing, linear probing. Key and value share a
 * slot. A node holds only a few ids of each kind at a time, so a map
 * starts in a line of IDMAP_INLINE slots inside its engine (no allocation,
 * on the engine's page, its address known without a load) and moves to
 * the heap only past that.
 */
#define IDMAP_INLINE 4
struct idslot {
	uint64_t key; /* 0: empty */
	void *val;
};
struct idmap {
	struct idslot *s; /* cap slots: inline (cap IDMAP_INLINE) or heap */
	uint32_t cap, n;
};

/*
 * A node's state, starting on a cache line: the first line is what
 * placement, capacity checks and the directory record read; the template
 * cache's header and first entries follow.
 */
struct node {
	ukf_node_id_t id;
	uint32_t vcpus_used, instances;
	uint32_t rr;
	uint64_t mem_used;
	uint64_t version;
	struct ukf_node_config cfg;
	struct inst *resume_head, *resume_tail; /* waiting for a vCPU */
	struct ukf_tcache tc;
	struct ukf_topk topk;
	uint64_t tpl_counted; /* copy-on-write admission: template bytes
				 counted in mem_used (eng_cow_sync) */
	/* copy-on-write admission: the template copies in use (struct
	 * share), the bytes of those dropped from the cache */
	struct share *sh;
	uint32_t nsh, capsh, sh_seq;
	uint64_t orphan_bytes;
	/* apps whose template, made or fetched, was larger than the whole
	 * cache here: their spawns start cold, no template made again */
	uint32_t *toobig, ntoobig;
	/* what requests bump, in one line (ukf_engine_node_stats reports
	 * them with the rest) */
	struct node_counts {
		uint64_t requests, cold, template_clones, forks, remote_in,
		    fetches, evictions, rejects;
	} cnt __attribute__((aligned(64)));
};

/*
 * One engine is one node's agent: its instances, the requests it
 * originated, its template cache. Other nodes are known only through
 * messages (env->send) and the directory (env->directory).
 *
 * A simulated cluster holds thousands of engines and each event touches
 * one of them at random, so every cache line an event reads is likely a
 * miss: what events read sits in the engine's first three lines (it is
 * allocated on a line; the limits checked are copied there from cfg), the
 * first slots of its busy maps in the next three, then the node's first
 * lines. engine.c checks the offsets.
 */
struct ukf_engine {
	/* line 0: every message, backend event and request */
	ukf_node_id_t self; /* cfg.self */
	uint32_t nodes;	    /* cfg.nodes */
	const struct ukf_env *env;
	const struct ukf_backend *be;
	const ukf_apps_t *apps; /* shared, read-only */
	struct idmap insts, reqs;
	/* line 1: requests, their placement and their answers */
	uint8_t started;
	uint8_t timed_answers; /* cfg.answer_timeout_ns > 0 */
	uint8_t use_templates, topk_only; /* tpl's */
	uint32_t max_retries;		  /* cfg's */
	int (*fail_alloc)(void *u);	  /* fault injection (tests) */
	const struct ukf_placement_ops *place;
	const struct ukf_engine_hooks *hooks; /* the creator's */
	/* origin side (engine_peer.c): workload instances running on
	 * another node, until their exit is heard; ids whose request was
	 * given up (no answer in time) whose instance must not live */
	struct idmap away, cancelled;
	/* line 2 */
	const struct ukf_template_ops *tpl;
	ukf_ns_t answer_timeout_ns, retry_ns; /* cfg's */
	uint32_t max_children, max_queue;      /* cfg's */
	void *fail_u;
	uint64_t next_id; /* ids when the world gives none */
	uint8_t mem_cow; /* cfg.mem_admission == UKF_ADMIT_COW (in line 2's
			    padding: read on every publish) */
	/* lines 3-5: the first slots of insts, reqs and away */
	struct idslot insts_in[IDMAP_INLINE] __attribute__((aligned(64)));
	struct idslot reqs_in[IDMAP_INLINE], away_in[IDMAP_INLINE];
	/* line 6 on */
	struct node node; /* this engine's node */
	struct ukf_engine_config cfg;
	int oom; /* an allocation failed: env->fatal was told */
	uint64_t tver_seq; /* templates this engine made or adopted */
	/* peers this engine was told are lost (ukf_engine_peer_down), until
	 * their record is seen again (eng_peer_lost): cold, rarely set */
	ukf_node_id_t *lost;
	uint32_t nlost, lost_cap;
};

/* Skip formatting entirely when logging is off. */
#define LOG(e, node, ...)                                                      \
	do {                                                                   \
		if ((e)->env->ops->log)                                        \
			eng_elog((e), (node), __VA_ARGS__);                    \
	} while (0)
#define ULL(x)	  ((unsigned long long)(x))
#define LL(x)	  ((long long)(x))
#define CERR(...) (snprintf(err, errlen, __VA_ARGS__), (void)0)

/*
 * Functions one room calls in another (each defined in the file named
 * above its group). Everything else is static to its room.
 */
/* engine.c */
void *eng_malloc(ukf_engine_t *e, size_t n);
void *eng_calloc(ukf_engine_t *e, size_t n, size_t sz);
void *eng_realloc(ukf_engine_t *e, void *p, size_t n);
void eng_map_init(struct idmap *m, struct idslot *in);
int eng_map_put(ukf_engine_t *e, struct idmap *m, uint64_t k, void *v);
void eng_map_del(struct idmap *m, uint64_t k);
void eng_map_free(struct idmap *m);
const char *eng_app_name(const ukf_engine_t *e, uint32_t app);
ukf_id_t eng_new_id(ukf_engine_t *e);
char *eng_dupstr(ukf_engine_t *e, const char *s, size_t n);
void eng_arm(ukf_engine_t *e, ukf_node_id_t node, ukf_ns_t at,
	     enum timer_kind kind, ukf_id_t id, uint32_t gen);
void eng_record_inst(ukf_engine_t *e, const struct inst *i, ukf_ns_t t_exit,
		     int64_t status, const char *why);
void eng_record_req(ukf_engine_t *e, const struct req *q, const char *why);
int eng_req_unanswered(const ukf_engine_t *e, const struct req *q);
int eng_toobig(const struct node *n, uint32_t app);
void eng_record_boot(ukf_engine_t *e, const struct inst *m, ukf_ns_t t_exit,
		     int64_t status, const char *why);

/* engine_node.c */
void eng_drain_resumes(ukf_engine_t *e, struct node *n);
void eng_vcpu_release(ukf_engine_t *e, struct inst *i);
void eng_resume_unlink(struct node *n, struct inst *i);
void eng_complete(ukf_engine_t *e, struct inst *i, int64_t ret, int64_t status,
		  ukf_id_t src, const void *data, size_t len);
void eng_node_record(const struct node *n, struct ukf_dir_record *r);
void eng_publish(ukf_engine_t *e, struct node *n);
int eng_fits(const struct node *n, const struct ukf_app *a);
void eng_reserve(ukf_engine_t *e, struct node *n, const struct ukf_app *a);
/* Copy-on-write admission (cfg.mem_admission): the memory a new instance
 * of a is charged: with UKF_ADMIT_COW and clone, `pages` pages (at most
 * mem), else the whole mem. eng_fits_mem / eng_reserve_mem: eng_fits /
 * eng_reserve for that charge (the instance keeps mem - charge in
 * mem_saved); eng_release_inst gives back what i holds. eng_cow_sync:
 * the node's ready templates counted in mem_used (COW only). */
uint64_t eng_mem_charge(const ukf_engine_t *e, const struct ukf_app *a,
			int clone, uint64_t pages);
int eng_fits_mem(ukf_engine_t *e, struct node *n, const struct ukf_app *a,
		 uint64_t charge);
void eng_reserve_mem(ukf_engine_t *e, struct node *n, struct inst *i,
		     const struct ukf_app *a, uint64_t charge);
void eng_release_inst(ukf_engine_t *e, struct node *n, struct inst *i,
		      int vcpus_held);
void eng_cow_sync(ukf_engine_t *e, struct node *n);
/* What instance i is charged as a clone of its app's template here: a
 * spawn its units' dirty pages, a remote fork child its delta's pages
 * plus one unit's (eng_mem_charge; the whole mem under full admission). */
uint64_t eng_clone_charge(const ukf_engine_t *e, const struct inst *i);
/* Copy-on-write admission: whether n's memory has room for `bytes` more
 * (for a template about to be fetched or made: ukf_tcache_reserve), its
 * ready and pending templates counted. Always 1 under full admission. */
int eng_tpl_room(ukf_engine_t *e, struct node *n, uint64_t bytes);
/* Copy-on-write admission: instance i is charged `charge` from now on if
 * that is less than what it holds (a waiter about to start as a clone of
 * the template just made or fetched); no publish. Nothing under full. */
void eng_cow_recharge(ukf_engine_t *e, struct node *n, struct inst *i,
		      uint64_t charge);
/* Copy-on-write admission: instance i's memory was just sealed into its
 * template (counted as the template's now): a workload instance keeps the
 * charge of a clone (the pages it dirties after), an internal maker none
 * (it ends). No publish; nothing under full admission. */
void eng_cow_sealed(ukf_engine_t *e, struct node *n, struct inst *i);
/* Copy-on-write admission: instance i now shares the pages of the copy
 * of its template version (i->tver) in n's cache, or, `from` non-NULL
 * (a live fork child), those its parent `from` shares. Nothing under full
 * admission or without a version. */
void eng_share_add_cow(ukf_engine_t *e, struct node *n, struct inst *i,
		       const struct inst *from);
static inline void eng_share_add(ukf_engine_t *e, struct node *n,
				 struct inst *i, const struct inst *from)
{
	if (e->mem_cow) /* no call per start under full admission */
		eng_share_add_cow(e, n, i, from);
}
/* Copy-on-write admission: the ready template (app, tver, bytes) leaves
 * n's cache: if instances share its pages, they stay counted (orphaned)
 * until the last of them ends. */
void eng_share_dropped(ukf_engine_t *e, struct node *n, uint32_t app,
		       uint64_t tver, uint64_t bytes);
/* Copy-on-write admission: the bytes dropping ready template t from n's
 * cache would free (none while instances share it; 0 under full). */
uint64_t eng_tpl_frees(const ukf_engine_t *e, const struct node *n,
		       const struct ukf_tentry *t);
void eng_release(ukf_engine_t *e, struct node *n, const struct ukf_app *a,
		 int vcpus_held);

/* engine_inst.c */
struct kid *eng_kid_find(struct inst *p, ukf_id_t id);
struct kid *eng_kid_add(ukf_engine_t *e, struct inst *p, ukf_id_t id);
void eng_kid_remove(struct inst *p, struct kid *k);
struct inst *eng_inst_new(ukf_engine_t *e, ukf_id_t id, uint32_t app,
			  ukf_node_id_t node);
void eng_inst_free(ukf_engine_t *e, struct inst *i);
void eng_start_failed(ukf_engine_t *e, struct inst *i, const char *op, int rc);
void eng_log_start(ukf_engine_t *e, struct inst *i, const char *via);
void eng_start_cold(ukf_engine_t *e, struct node *n, struct inst *i, int maker);
void eng_start_clone_template(ukf_engine_t *e, struct node *n, struct inst *i);
void eng_start_restore(ukf_engine_t *e, struct node *n, struct inst *i);
int eng_host_accept(ukf_engine_t *e, struct node *n, const struct ukf_msg *m);
void eng_notify_origin(ukf_engine_t *e, struct inst *i, enum ukf_msg_type type,
		       int64_t status, const char *why);
void eng_inst_finish(ukf_engine_t *e, struct inst *i, int64_t status,
		     const char *why);
void eng_child_ended(ukf_engine_t *e, struct inst *p, ukf_id_t id,
		     int64_t status);

/* engine_tpl.c */
void eng_wait_tpl(struct ukf_tentry *t, struct inst *i);
void eng_unwait_tpl(struct node *n, struct inst *i);
void eng_boot_maker(ukf_engine_t *e, struct node *n, struct ukf_tentry *t,
		    struct inst *lender);
void eng_maker_end(ukf_engine_t *e, struct inst *m, const char *why);
void eng_lender_gone(ukf_engine_t *e, struct node *n, struct inst *i);
void eng_template_failed(ukf_engine_t *e, struct node *n, uint32_t app,
			 const char *why);
void eng_fetch_failed(ukf_engine_t *e, struct node *n, struct ukf_tentry *t);
/* A new pending entry of app on n in *out, its template fetched from a
 * peer holding it (policy fetch = peer) or left to be made here; under
 * copy-on-write admission it holds the fetched template's bytes, or
 * make_rsv when made here (what its first user will dirty as a clone).
 * 0; 1 if n has no memory for that (nothing added); -1 if the cache
 * cannot take an entry. */
int eng_obtain_template(ukf_engine_t *e, struct node *n, uint32_t app,
			uint64_t make_rsv, struct ukf_tentry **out);
void eng_on_template(ukf_engine_t *e, struct node *n,
		     const struct ukf_be_event *ev);
void eng_prewarm_app(ukf_engine_t *e, struct node *n, uint32_t app);
int eng_tpl_matches(const struct ukf_tentry *t, uint64_t tver);
void eng_tpl_bring(ukf_engine_t *e, struct node *n, struct ukf_tentry *t,
		   uint64_t tver, ukf_node_id_t peer, const char *why);
void eng_fork_wait_version(ukf_engine_t *e, struct node *n, struct inst *i,
			   const char *why);
/* Fork child i (not started) on node n waits for template entry t: logged
 * "via=wait-template" and queued on t. */
void eng_fork_wait_tpl(ukf_engine_t *e, struct node *n, struct ukf_tentry *t,
		       struct inst *i);
uint64_t eng_delta_tver(ukf_engine_t *e, const struct inst *p);
void eng_fork_stale(ukf_engine_t *e, struct node *n, struct inst *i);
void eng_count_request(ukf_engine_t *e, struct node *n, uint32_t app);

/* engine_req.c */
void eng_req_free(ukf_engine_t *e, struct req *q);
void eng_retry_later(ukf_engine_t *e, struct req *q);
void eng_req_fail(ukf_engine_t *e, struct req *q, const char *why);
void eng_send_req(ukf_engine_t *e, struct req *q);
void eng_place_req(ukf_engine_t *e, struct req *q);
void eng_delta_done(ukf_engine_t *e, struct inst *p,
		    const struct ukf_be_event *ev);
void eng_delta_failed(ukf_engine_t *e, struct inst *p, const char *why);
struct req *eng_req_new(ukf_engine_t *e, enum req_kind kind,
			ukf_node_id_t origin, uint32_t app, ukf_id_t parent,
			uint64_t tag, uint32_t flags, const char *args,
			size_t args_len);
void eng_started_at_origin(ukf_engine_t *e, ukf_node_id_t origin, ukf_id_t id,
			   ukf_id_t parent, ukf_node_id_t node, uint64_t tag,
			   uint32_t flags);

/* engine_call.c */
void eng_deliver_local(ukf_engine_t *e, struct inst *d, ukf_id_t src,
		       const void *data, size_t len, int *rc);
void eng_on_call(ukf_engine_t *e, struct inst *p,
		 const struct ukf_be_event *ev);

/* engine_peer.c */
void eng_away_add(ukf_engine_t *e, ukf_id_t id, ukf_node_id_t node,
		  ukf_id_t parent, uint32_t app, uint64_t tag, uint32_t flags,
		  ukf_ns_t t_request, ukf_ns_t t_placed);
void eng_away_remove(ukf_engine_t *e, ukf_id_t id);
int eng_cancelled(ukf_engine_t *e, ukf_id_t id, ukf_node_id_t *node,
		  int take);
void eng_answer_due(ukf_engine_t *e, struct req *q);
void eng_answer_timeout(ukf_engine_t *e, ukf_id_t id, uint32_t gen);
void eng_peer_free(ukf_engine_t *e);
int eng_peer_lost(ukf_engine_t *e, ukf_node_id_t peer);

/* engine_msg.c */
int eng_deliver(ukf_engine_t *e, ukf_node_id_t from, ukf_node_id_t to,
		const struct ukf_msg *m, uint64_t bulk);
void eng_handle_msg(ukf_engine_t *e, ukf_node_id_t to, ukf_node_id_t from,
		    const struct ukf_msg *m);

/*
 * At the entry of each callback: the engine's lines it is about to read
 * (the hot fields, the inline map slots, the node's first two lines: its
 * capacity and its template cache's header), asked for at once. Cold in a large cluster, they would otherwise arrive one miss
 * after the other, each waiting for the load before it.
 */
static inline void eng_touch(const ukf_engine_t *e)
{
	const char *p = (const char *)e;

	for (size_t off = 0; off <= offsetof(struct ukf_engine, node) + 64; off += 64)
		__builtin_prefetch(p + off);
}

/* Called on every event: inline. */
static inline uint64_t eng_hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static inline void *eng_map_get(const struct idmap *m, uint64_t k)
{
	size_t mask = (size_t)m->cap - 1;

	if (!m->n || !k) /* an empty map's slots are not even read */
		return NULL;
	for (size_t i = eng_hash64(k) & mask;; i = (i + 1) & mask) {
		if (m->s[i].key == k)
			return m->s[i].val;
		if (!m->s[i].key)
			return NULL;
	}
}

static inline ukf_ns_t eng_now(const ukf_engine_t *e)
{
	return e->env->ops->now(e->env->w);
}

/* The instance id on `node` / the request id originated there, or NULL. */
static inline struct inst *eng_inst_at(ukf_engine_t *e, ukf_node_id_t node,
				       ukf_id_t id)
{
	struct inst *i = eng_map_get(&e->insts, id);

	return i && i->node == node ? i : NULL;
}

static inline struct req *eng_req_at(ukf_engine_t *e, ukf_node_id_t node,
				     ukf_id_t id)
{
	struct req *r = eng_map_get(&e->reqs, id);

	return r && r->origin == node ? r : NULL;
}

/* printf-checked log line (use LOG, which skips formatting when off). */
void eng_elog(ukf_engine_t *e, ukf_node_id_t node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* UKF_ENGINE_INT_H */
