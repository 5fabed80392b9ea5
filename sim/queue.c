/* SPDX-License-Identifier: MIT */
/* queue.c - the discrete-event queue: a radix heap of times, events kept in chunks. */
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
 * only ever moves down, a few times in its life. Measured with callgrind
 * on scripts/bench/sleepers.lua (10,000 pending events): 464 instructions
 * of queue per event with the 4-ary heap this replaced, 286 with 6-bit
 * digits.
 *
 * Ties: events at one time are always in one bucket (the bucket is a
 * function of the time), and every operation keeps a bucket's events in
 * the order they came in (appends; a bucket is dealt out in order into
 * buckets that are empty or receive later pushes only). So equal times
 * leave in scheduling order, and the minimum scan keeps the first of
 * equal times: the pop order is exactly that of a heap ordered by (time,
 * push order).
 *
 * A push earlier than `last` (sim_world_push clamps to now, but the queue
 * accepts any time) lowers `last` and redeals every event: O(n), correct,
 * and absent from simulation runs.
 *
 * Storage: a bucket is a list of chunks of CN events, each event stored
 * with its time in the chunk itself, appended at the bucket's tail chunk.
 * Dealing a bucket and popping bucket 0 read its events in memory order,
 * a chunk (8 cache lines) at a time. The buckets were lists of single
 * slots threaded through a payload pool: at 100,000 hosts (hundreds of
 * thousands of pending events) each step of such a list was a cache miss
 * the next step waited for, and the next event's payload another
 * (scripts/bench/hosts100k.sh, 2026-12-06: 5.5% of the run's samples on
 * the list walk of a deal, 4.8% on the first read of the peeked event).
 * Moving an event now copies its 40 bytes instead of relinking its slot,
 * which costs less than those misses.
 *
 * Chunks come from blocks of 1024 that never move, free ones on a list
 * (one array doubled and copied made the heap keep a hole as large as
 * its last size: +37 MiB of peak memory at hosts100k). Only a push
 * allocates: it keeps RESERVE chunks free, more than a deal can need (a deal takes at
 * most one partly filled chunk per destination bucket beyond the chunks
 * it frees as it reads), so settling the queue never fails.
 */
#define NIL	UINT32_MAX
/* Digits of DBITS bits: NLEVELS of them cover 64 bits. Bucket 0: at
 * `last`; bucket 1 + NVALS*l + v: highest differing digit l, where the
 * event's digit is v. */
#define DBITS	 6
#define NVALS	 (1u << DBITS)
#define NLEVELS	 ((64 + DBITS - 1) / DBITS)
#define NBUCKETS (1 + NVALS * NLEVELS)
_Static_assert(NVALS <= 64 && NLEVELS <= 32, "occupancy masks are 64/32 bits");

#define CN	12		/* events per chunk */
#define RESERVE (NBUCKETS + 1)	/* free chunks a deal may need */
#define BSHIFT	10		/* 2^10 chunks (512 KiB) per block */
#define BCHUNKS (1u << BSHIFT)
#define BLOCKS_MAX (1u << 20)	/* 2^30 chunks */

/* Times biased to unsigned, so that unsigned order is time order. */
#define TBIAS(t)   ((uint64_t)(t) ^ (1ULL << 63))
#define TUNBIAS(u) ((ukf_ns_t)((u) ^ (1ULL << 63)))

struct qent {
	uint64_t t; /* biased time */
	struct sim_ev ev;
};

struct chunk {
	_Alignas(64) uint32_t nx; /* next chunk in its bucket (or free), NIL: last */
	uint32_t n;		  /* entries filled */
	struct qent e[CN];
};

struct sim_queue {
	uint64_t last;	 /* biased time of the last pop (0 at first) */
	uint32_t lvmask; /* bit l: digit l has a non-empty bucket */
	uint32_t pos0;	 /* next entry to pop in bucket 0's head chunk */
	uint64_t
	    vmask[NLEVELS]; /* per digit l: bit v, bucket (l, v) non-empty */
	size_t n;	    /* pending events */
	uint32_t head[NBUCKETS], tail[NBUCKETS]; /* chunk lists, NIL: empty */
	/* earliest biased time in each non-empty bucket but 0 (kept as
	 * events come in), so settling a bucket need not read it before
	 * dealing it */
	uint64_t bmin[NBUCKETS];
	struct chunk **blk; /* chunk c: blk[c >> BSHIFT][c % BCHUNKS] */
	uint32_t nblk, blk_cap;
	uint32_t freel; /* list of free chunks */
	uint32_t nfree;
};

sim_queue_t *sim_queue_create(void)
{
	sim_queue_t *q = calloc(1, sizeof(struct sim_queue));
	if (!q)
		return NULL;
	for (unsigned i = 0; i < NBUCKETS; i++)
		q->head[i] = q->tail[i] = NIL;
	q->freel = NIL;
	return q;
}

void sim_queue_destroy(sim_queue_t **qp)
{
	sim_queue_t *q = qp ? *qp : NULL;

	if (!q)
		return;
	for (uint32_t k = 0; k < q->nblk; k++)
		free(q->blk[k]);
	free(q->blk);
	free(q);
	*qp = NULL;
}

static inline struct chunk *CH(const sim_queue_t *q, uint32_t c)
{
	return &q->blk[c >> BSHIFT][c & (BCHUNKS - 1)];
}

static inline void chunk_put(sim_queue_t *q, uint32_t c)
{
	CH(q, c)->nx = q->freel;
	q->freel = c;
	q->nfree++;
}

/* A free chunk, emptied; the caller made sure there is one. */
static inline uint32_t chunk_take(sim_queue_t *q)
{
	uint32_t c = q->freel;

	q->freel = CH(q, c)->nx;
	q->nfree--;
	CH(q, c)->nx = NIL;
	CH(q, c)->n = 0;
	return c;
}

/* One more block of chunks (blocks never move: nothing is copied, and
 * a large queue's blocks come from the heap huge.c advises). */
static int chunks_grow(sim_queue_t *q)
{
	struct chunk *nb;

	if (q->nblk == BLOCKS_MAX)
		return -1;
	if (q->nblk == q->blk_cap) {
		uint32_t ncap = q->blk_cap ? 2 * q->blk_cap : 16;
		struct chunk **nt = realloc(q->blk, ncap * sizeof(*nt));
		if (!nt)
			return -1;
		q->blk = nt;
		q->blk_cap = ncap;
	}
	nb = aligned_alloc(_Alignof(struct chunk), BCHUNKS * sizeof(*nb));
	if (!nb)
		return -1;
	q->blk[q->nblk++] = nb;
	/* new chunks on the free list, lowest index first */
	for (uint32_t i = BCHUNKS; i > 0; i--)
		chunk_put(q, (q->nblk - 1) * BCHUNKS + i - 1);
	return 0;
}

/* Append an event (biased time u >= last) to its bucket. */
static inline void bucket_put(sim_queue_t *q, uint64_t u,
			      const struct sim_ev *ev)
{
	uint64_t x = u ^ q->last;
	unsigned k = 0;
	uint32_t c;

	if (x) {
		unsigned l = (63u - (unsigned)__builtin_clzll(x)) / DBITS;
		unsigned v = (unsigned)(u >> (DBITS * l)) & (NVALS - 1);
		k = 1 + NVALS * l + v;
		q->lvmask |= 1u << l;
		q->vmask[l] |= 1ULL << v;
	}
	c = q->tail[k];
	if (c == NIL) {
		c = chunk_take(q);
		q->head[k] = q->tail[k] = c;
		q->bmin[k] = u;
		if (!k)
			q->pos0 = 0;
	} else {
		if (CH(q, c)->n == CN) {
			uint32_t nc = chunk_take(q);

			CH(q, c)->nx = nc;
			q->tail[k] = c = nc;
		}
		if (u < q->bmin[k])
			q->bmin[k] = u;
	}
	struct chunk *tc = CH(q, c);
	struct qent *e = &tc->e[tc->n++];
	e->t = u;
	e->ev = *ev;
}

/* Deal the chunk list starting at c (in order) into the buckets for the
 * current last, freeing its chunks as they are read. */
static void deal(sim_queue_t *q, uint32_t c, uint32_t from)
{
	while (c != NIL) {
		struct chunk *ck = CH(q, c);
		uint32_t next = ck->nx, n = ck->n;

		for (uint32_t i = from; i < n; i++) {
			bucket_put(q, ck->e[i].t, &ck->e[i].ev);
		}
		chunk_put(q, c);
		from = 0;
		c = next;
	}
}

/* A push before `last`: it becomes the new last and every entry is dealt
 * again, bucket after bucket (so equal times keep their order). The
 * chunks are chained bucket after bucket first; bucket 0's head chunk
 * may be partly popped (pos0, which is 0 whenever bucket 0 is empty). */
static void redeal_all(sim_queue_t *q, uint64_t nlast)
{
	uint32_t h = NIL, t = NIL, from = q->pos0;

	for (unsigned i = 0; i < NBUCKETS; i++) {
		if (q->head[i] == NIL)
			continue;
		if (t == NIL)
			h = q->head[i];
		else
			CH(q, t)->nx = q->head[i];
		t = q->tail[i];
		q->head[i] = q->tail[i] = NIL;
	}
	q->lvmask = 0;
	memset(q->vmask, 0, sizeof(q->vmask));
	q->last = nlast;
	q->pos0 = 0;
	deal(q, h, from);
}

int sim_queue_push(sim_queue_t *q, ukf_ns_t t, const struct sim_ev *ev)
{
	uint64_t u = TBIAS(t);
	struct sim_ev e = *ev; /* ev may be in the queue: it may move */

	if (q->nfree <= RESERVE && chunks_grow(q) < 0)
		return -1;
	if (u < q->last)
		redeal_all(q, u);
	bucket_put(q, u, &e);
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
	uint32_t c = q->head[kb];
	q->head[kb] = q->tail[kb] = NIL;
	q->vmask[l] &= ~(1ULL << v);
	if (!q->vmask[l])
		q->lvmask &= ~(1u << l);
	q->last = q->bmin[kb];
	if (CH(q, c)->n == 1 && CH(q, c)->nx == NIL) {
		/* alone in its bucket (common): it is next */
		q->head[0] = q->tail[0] = c;
		q->pos0 = 0;
		return 1;
	}
	deal(q, c, 0);
	return 1;
}

int sim_queue_pop(sim_queue_t *q, ukf_ns_t *t, struct sim_ev *ev)
{
	if (!settle(q))
		return 0;
	uint32_t c = q->head[0];
	struct chunk *ck = CH(q, c);
	const struct qent *e = &ck->e[q->pos0];

	if (t)
		*t = TUNBIAS(e->t);
	if (ev)
		*ev = e->ev;
	q->n--;
	if (++q->pos0 == ck->n) {
		/* the head chunk is used up: a full one, or the tail (only
		 * the tail is ever partly filled): later pushes take a new
		 * chunk */
		q->head[0] = ck->nx;
		if (q->head[0] == NIL)
			q->tail[0] = NIL;
		q->pos0 = 0;
		chunk_put(q, c);
	}
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
	uint32_t c = q->head[0], i = q->pos0;

	/* bucket 0 is next; else the lowest bucket's head, which is the
	 * earliest when alone there (the common case settle() takes) */
	if (c == NIL && q->lvmask) {
		unsigned l = (unsigned)__builtin_ctz(q->lvmask);
		unsigned v = (unsigned)__builtin_ctzll(q->vmask[l]);
		c = q->head[1 + NVALS * l + v];
		i = 0;
	}
	return c == NIL ? NULL : &CH(q, c)->e[i].ev;
}

size_t sim_queue_size(const sim_queue_t *q)
{
	return q->n;
}
