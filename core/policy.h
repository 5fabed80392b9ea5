/* SPDX-License-Identifier: MIT */
/* policy.h - placement and template policies (registries), template cache. */
#ifndef UKF_POLICY_H
#define UKF_POLICY_H

#include <stddef.h>

#include "dir.h"
#include "env.h"

/* What a placement policy sees: the origin's (possibly stale) directory. */
struct ukf_place_ctx {
	const ukf_dir_t *dir;
	const struct ukf_env *env;
	ukf_node_id_t origin; /* node deciding (the parent's for a fork) */
	uint32_t app;
	uint32_t vcpus; /* the instance's needs */
	uint64_t mem;
	uint32_t *rr; /* the origin's round-robin cursor */
	/* the origin's own current record (NULL: its entry in dir) */
	const struct ukf_dir_record *self;
	/* copy-on-write admission: the instance's memory on a node whose
	 * record lists the app's template (it starts there as a clone of
	 * it); 0, or not below mem: mem everywhere */
	uint64_t mem_clone;
};

struct ukf_placement_ops {
	const char *name;
	/* A node with room in the view, or UKF_NODE_NONE (retry later). */
	ukf_node_id_t (*place)(const struct ukf_place_ctx *c);
};

/* NULL-terminated registry, in the order names are listed in errors. */
extern const struct ukf_placement_ops *const ukf_placements[];

/*
 * Look a placement policy up by name. NULL and a message listing the valid
 * names in err if unknown.
 */
const struct ukf_placement_ops *ukf_placement_find(const char *name, char *err,
						   size_t errlen);

/* Template policies: data-driven ops, see templates.c. */
struct ukf_template_ops {
	const char *name;
	int templates; /* 0: never take or use templates for spawns */
	int topk_only; /* 1: only the node's top-K apps get templates */
	int prewarm;   /* 1: keep the top-K templates on every node */
};
extern const struct ukf_template_ops *const ukf_template_policies[];
const struct ukf_template_ops *ukf_template_find(const char *name, char *err,
						 size_t errlen);

/* --- a node's template cache: byte budget, LRU eviction --- */
enum ukf_tstate { UKF_T_PENDING = 1, UKF_T_READY = 2 };
#define UKF_TCACHE_MAX 64 /* entries (ready + pending) per node */
#define UKF_TCACHE_PAGE 4096ULL /* unit of a pending entry's reservation */
/* entries kept inside the cache itself; the rest (up to UKF_TCACHE_MAX) in
 * one block allocated when the first of them is added, so a node with a
 * few apps pays 8 entries, not 64 (3.5 KiB per node at 100,000 nodes) */
#define UKF_TCACHE_INLINE 8

struct ukf_tentry {
	uint32_t app;
	uint8_t state;	  /* enum ukf_tstate */
	uint8_t pinned;	  /* prewarm: never evicted */
	uint8_t fetching; /* pending: a TFETCH is out */
	uint32_t from;	  /* fetching: the node asked */
	/* pending: 4 KiB pages held for it in the node's memory until it is
	 * ready (copy-on-write admission; ukf_tcache_reserve) */
	uint32_t rsv_pages;
	uint64_t bytes;
	uint64_t last_use; /* LRU stamp */
	ukf_id_t maker; /* pending: instance whose ready makes it (0: none) */
	void *waiters;	/* engine: instances waiting for it */
	/* the template's version: set when it is ready, kept by every copy
	 * fetched from it (two nodes that each made a template of one app
	 * hold two versions: different memory); pending: the version
	 * fetched, 0 any */
	uint64_t tver;
};

struct ukf_tcache {
	uint32_t n;
	uint32_t nready;
	uint64_t used; /* bytes of ready templates */
	uint64_t reserved; /* bytes its pending entries hold (rsv_pages) */
	uint64_t budget;
	uint64_t tick;
	/* entries UKF_TCACHE_INLINE.. (NULL until needed; never moved, so
	 * an entry's address stays valid until the next remove) */
	struct ukf_tentry *more;
	struct ukf_tentry e[UKF_TCACHE_INLINE]; /* entries 0..n in use: at() */
};

/* Entry k (< n) of the cache. */
static inline struct ukf_tentry *ukf_tcache_at(struct ukf_tcache *c,
					       uint32_t k)
{
	return k < UKF_TCACHE_INLINE ? &c->e[k]
				     : &c->more[k - UKF_TCACHE_INLINE];
}
static inline const struct ukf_tentry *
ukf_tcache_cat(const struct ukf_tcache *c, uint32_t k)
{
	return k < UKF_TCACHE_INLINE ? &c->e[k]
				     : &c->more[k - UKF_TCACHE_INLINE];
}

/* The block of entries past the inline ones: its size, and whether the
 * next add needs it (ukf_tcache_add allocates it then unless the caller
 * has given c->more one of its own allocator's). */
#define UKF_TCACHE_BLOCK_BYTES                                                 \
	((UKF_TCACHE_MAX - UKF_TCACHE_INLINE) * sizeof(struct ukf_tentry))
static inline int ukf_tcache_wants_block(const struct ukf_tcache *c)
{
	return c->n == UKF_TCACHE_INLINE && !c->more;
}

void ukf_tcache_init(struct ukf_tcache *c, uint64_t budget);
/* The block of entries beyond the inline ones. */
void ukf_tcache_free(struct ukf_tcache *c);
/* The entry of `app`, or NULL. Pointers stay valid until the next remove. */
struct ukf_tentry *ukf_tcache_find(struct ukf_tcache *c, uint32_t app);
/* A new pending entry for `app` (must not exist); NULL if the cache is full
 * (errno ENOSPC), app is there already (EEXIST) or out of memory (ENOMEM). */
struct ukf_tentry *ukf_tcache_add(struct ukf_tcache *c, uint32_t app);
/* Mark used now (LRU). */
void ukf_tcache_touch(struct ukf_tcache *c, struct ukf_tentry *e);
/* Pending entry e holds `bytes` (rounded up to 4 KiB pages, at most
 * 2^32 - 1 of them) of its node's memory until it is ready or removed,
 * in place of what it held: `reserved` follows. */
void ukf_tcache_reserve(struct ukf_tcache *c, struct ukf_tentry *e,
			uint64_t bytes);
/* Remove the entry of `app` (its bytes leave `used` if it was ready, its
 * reservation `reserved` if pending). */
void ukf_tcache_remove(struct ukf_tcache *c, uint32_t app);
/*
 * Make room for one more ready template of `bytes` bytes: evict the least
 * recently used unpinned ready templates until used + bytes <= budget and
 * fewer than max_ready are ready, calling evict(u, app) for each before it
 * is removed. Evicts nothing and returns -1 if that cannot succeed.
 */
int ukf_tcache_make_room(struct ukf_tcache *c, uint64_t bytes,
			 uint32_t max_ready,
			 void (*evict)(void *u, uint32_t app), void *u);
/* Mark a pending entry ready with its size (call make_room first); its
 * reservation ends. */
void ukf_tcache_set_ready(struct ukf_tcache *c, struct ukf_tentry *e,
			  uint64_t bytes);
/* A ready entry back to pending (its template is being replaced): its
 * bytes leave `used`; pin, LRU stamp and waiters stay. */
void ukf_tcache_unready(struct ukf_tcache *c, struct ukf_tentry *e);

/* --- top-K apps by request count (prewarm) --- */
struct ukf_topk {
	uint64_t *count; /* per app */
	uint8_t *in;	 /* per app: in the top-K set */
	uint32_t napps, k;
};
/* Initial set: apps 0..k-1. 0 or -1 (ENOMEM). */
int ukf_topk_init(struct ukf_topk *t, uint32_t napps, uint32_t k);
void ukf_topk_free(struct ukf_topk *t);
/*
 * Count one request for `app`. When the set changes returns 1 with the app
 * that entered in *added and the one that left in *removed; else 0. A member
 * is replaced only when the newcomer's count is strictly higher.
 */
int ukf_topk_bump(struct ukf_topk *t, uint32_t app, uint32_t *added,
		  uint32_t *removed);
int ukf_topk_has(const struct ukf_topk *t, uint32_t app);

#endif /* UKF_POLICY_H */
