/* SPDX-License-Identifier: MIT */
/* queue.c - the discrete-event queue: a radix heap of times + payload pool. */
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

/*
 * A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan) over event times, with
 * 6-bit digits. A discrete-event simulation is monotone: nothing is
 * scheduled before the last event popped (`last`), so an event can be kept
 * in the bucket named by the highest digit l in which its time differs
 * from last and by its own value v of that digit; bucket 0 holds the
 * events at time `last` itself. Push is O(1): a count-leading-zeros and an
 * append. Pop takes bucket 0's front; when bucket 0 is empty, the lowest
 * non-empty bucket (lowest l, then lowest v: two find-first-set on the
 * occupancy masks) holds the earliest events: its earliest time becomes
 * `last` and its events are dealt into buckets of lower digits. An event
 * only ever moves down, a few times in its life, where the 4-ary heap
 * this replaces sifted through log4(n) levels at every pop. Measured with
 * callgrind on scripts/bench/sleepers.lua (10,000 pending events): 464
 * instructions of queue per event with the heap, 328 with 4-bit digits,
 * 286 with 6-bit ones (64 values: one mask word per digit).
 *
 * Ties: events at one time are always in one bucket (the bucket is a
 * function of the time), and every operation keeps a bucket's events in
 * the order they came in (appends; a bucket is dealt out in order into
 * buckets that are empty or receive later pushes only). So equal times
 * leave in scheduling order, and the minimum scan keeps the first of
 * equal times: the pop order is exactly that of the heap it replaces.
 *
 * A push earlier than `last` (sim_world_push clamps to now, but the queue
 * accepts any time) lowers `last` and redeals every event: O(n), correct,
 * and absent from simulation runs.
 *
 * Buckets are singly linked lists threaded through the payload slots
 * (lk[] beside pool[]), so moving an event never allocates: the only
 * allocation is the pool's growth on push.
 */
#define SLOT_BITS 28
#define SLOT_MASK ((1ULL << SLOT_BITS) - 1)
#define NIL	  UINT32_MAX
/* Digits of DBITS bits: NLEVELS of them cover 64 bits. Bucket 0: at
 * `last`; bucket 1 + NVALS*l + v: highest differing digit l, where the
 * event's digit is v. */
#define DBITS	 6
#define NVALS	 (1u << DBITS)
#define NLEVELS	 ((64 + DBITS - 1) / DBITS)
#define NBUCKETS (1 + NVALS * NLEVELS)
_Static_assert(NVALS <= 64 && NLEVELS <= 32, "occupancy masks are 64/32 bits");

/* Times biased to unsigned, so that unsigned order is time order. */
#define TBIAS(t)   ((uint64_t)(t) ^ (1ULL << 63))
#define TUNBIAS(u) ((ukf_ns_t)((u) ^ (1ULL << 63)))

struct qlink {
	uint64_t t;  /* biased time of the slot's event */
	uint32_t nx; /* next slot in its bucket, NIL: last */
};

struct sim_queue {
	uint64_t last;	 /* biased time of the last pop (0 at first) */
	uint32_t lvmask; /* bit l: digit l has a non-empty bucket */
	uint64_t
	    vmask[NLEVELS]; /* per digit l: bit v, bucket (l, v) non-empty */
	size_t n;	    /* pending events */
	uint32_t head[NBUCKETS], tail[NBUCKETS]; /* slot lists, NIL: empty */
	/* earliest biased time in each non-empty bucket but 0 (kept as
	 * events come in), so settling a bucket need not walk its list to
	 * find it before dealing it: one walk of a chain of cold slots, not
	 * two */
	uint64_t bmin[NBUCKETS];
	struct qlink *lk;			 /* per slot */
	struct sim_ev *pool;
	uint32_t *free_slots;
	size_t pool_cap, nfree;
};

sim_queue_t *sim_queue_create(void)
{
	sim_queue_t *q = calloc(1, sizeof(struct sim_queue));
	if (!q)
		return NULL;
	for (unsigned i = 0; i < NBUCKETS; i++)
		q->head[i] = q->tail[i] = NIL;
	return q;
}

void sim_queue_destroy(sim_queue_t **qp)
{
	sim_queue_t *q = qp ? *qp : NULL;

	if (!q)
		return;
	free(q->lk);
	free(q->pool);
	free(q->free_slots);
	free(q);
	*qp = NULL;
}

static int pool_grow(sim_queue_t *q)
{
	size_t ncap = q->pool_cap ? q->pool_cap * 2 : 1024;
	if (ncap > SLOT_MASK + 1)
		ncap = SLOT_MASK + 1;
	if (ncap <= q->pool_cap)
		return -1;
	/* Each array is replaced only once it has grown: a failure leaves
	 * the queue usable at its old capacity. */
	struct sim_ev *np = realloc(q->pool, ncap * sizeof(*np));
	if (!np)
		return -1;
	q->pool = np;
	struct qlink *nl = realloc(q->lk, ncap * sizeof(*nl));
	if (!nl)
		return -1;
	q->lk = nl;
	uint32_t *nf = realloc(q->free_slots, ncap * sizeof(*nf));
	if (!nf)
		return -1;
	q->free_slots = nf;
	/* New slots go on the free stack, lowest index on top. */
	for (size_t i = ncap; i > q->pool_cap; i--)
		q->free_slots[q->nfree++] = (uint32_t)(i - 1);
	q->pool_cap = ncap;
	return 0;
}

/* Append slot s (biased time u >= last) to its bucket. */
static inline void bucket_put(sim_queue_t *q, uint32_t s, uint64_t u)
{
	uint64_t x = u ^ q->last;
	unsigned k = 0;
	if (x) {
		unsigned l = (63u - (unsigned)__builtin_clzll(x)) / DBITS;
		unsigned v = (unsigned)(u >> (DBITS * l)) & (NVALS - 1);
		k = 1 + NVALS * l + v;
		q->lvmask |= 1u << l;
		q->vmask[l] |= 1ULL << v;
	}
	q->lk[s].nx = NIL;
	if (q->tail[k] == NIL) {
		q->head[k] = s;
		q->bmin[k] = u;
	} else {
		q->lk[q->tail[k]].nx = s;
		if (u < q->bmin[k])
			q->bmin[k] = u;
	}
	q->tail[k] = s;
}

/* Deal the list starting at slot s (in order) into the buckets for the
 * current last. */
static void deal(sim_queue_t *q, uint32_t s)
{
	while (s != NIL) {
		uint32_t next = q->lk[s].nx;
		bucket_put(q, s, q->lk[s].t);
		s = next;
	}
}

/* A push before `last`: it becomes the new last and every entry is dealt
 * again, bucket after bucket (so equal times keep their order). */
static void redeal_all(sim_queue_t *q, uint64_t nlast)
{
	uint32_t h = NIL, t = NIL;
	for (unsigned i = 0; i < NBUCKETS; i++) {
		if (q->head[i] == NIL)
			continue;
		if (t == NIL)
			h = q->head[i];
		else
			q->lk[t].nx = q->head[i];
		t = q->tail[i];
		q->head[i] = q->tail[i] = NIL;
	}
	q->lvmask = 0;
	memset(q->vmask, 0, sizeof(q->vmask));
	q->last = nlast;
	deal(q, h);
}

int sim_queue_push(sim_queue_t *q, ukf_ns_t t, const struct sim_ev *ev)
{
	uint64_t u = TBIAS(t);

	if (q->nfree == 0 && pool_grow(q) < 0)
		return -1;
	if (u < q->last)
		redeal_all(q, u);
	uint32_t slot = q->free_slots[--q->nfree];
	q->pool[slot] = *ev;
	q->lk[slot].t = u;
	bucket_put(q, slot, u);
	q->n++;
	return 0;
}

/*
 * Bring the earliest events into bucket 0: the lowest non-empty bucket's
 * earliest time becomes `last` and its entries go down. 0 if the queue is
 * empty, else 1.
 */
static int settle(sim_queue_t *q)
{
	if (q->head[0] != NIL)
		return 1;
	if (!q->lvmask)
		return 0;
	unsigned l = (unsigned)__builtin_ctz(q->lvmask);
	unsigned v = (unsigned)__builtin_ctzll(q->vmask[l]);
	unsigned kb = 1 + NVALS * l + v;
	uint32_t s = q->head[kb];
	q->head[kb] = q->tail[kb] = NIL;
	q->vmask[l] &= ~(1ULL << v);
	if (!q->vmask[l])
		q->lvmask &= ~(1u << l);
	q->last = q->bmin[kb];
	if (q->lk[s].nx == NIL) { /* alone in its bucket (common): it is next */
		q->head[0] = q->tail[0] = s;
		return 1;
	}
	deal(q, s);
	return 1;
}

int sim_queue_pop(sim_queue_t *q, ukf_ns_t *t, struct sim_ev *ev)
{
	if (!settle(q))
		return 0;
	uint32_t slot = q->head[0];
	q->head[0] = q->lk[slot].nx;
	if (q->head[0] == NIL)
		q->tail[0] = NIL;
	q->n--;
	if (t)
		*t = TUNBIAS(q->lk[slot].t);
	if (ev)
		*ev = q->pool[slot];
	q->free_slots[q->nfree++] = slot;
	return 1;
}

ukf_ns_t sim_queue_peek_time(sim_queue_t *q)
{
	if (!settle(q))
		return UKF_NS_NEVER;
	return TUNBIAS(q->last);
}

const struct sim_ev *sim_queue_peek_next(const sim_queue_t *q)
{
	uint32_t s = q->head[0];

	/* bucket 0 is next; else the lowest bucket's head, which is the
	 * earliest when alone there (the common case settle() takes) */
	if (s == NIL && q->lvmask) {
		unsigned l = (unsigned)__builtin_ctz(q->lvmask);
		unsigned v = (unsigned)__builtin_ctzll(q->vmask[l]);
		s = q->head[1 + NVALS * l + v];
	}
	return s == NIL ? NULL : &q->pool[s];
}

size_t sim_queue_size(const sim_queue_t *q)
{
	return q->n;
}
