/* SPDX-License-Identifier: MIT */
/* queue.c - the discrete-event queue: 4-ary implicit heap + payload pool. */
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

/*
 * A heap entry is 16 bytes: the event time and a key whose high 36 bits
 * are the insertion sequence number and low 28 bits the payload slot.
 * Ordering by (t, key) is ordering by (t, seq) since sequence numbers are
 * unique: equal times run in scheduling order. 2^36 insertions (~6.9e10)
 * and 2^28 pending events are the limits; push fails beyond them.
 */
#define SLOT_BITS 28
#define SLOT_MASK ((1ULL << SLOT_BITS) - 1)
#define SEQ_MAX (1ULL << (64 - SLOT_BITS))

/* (time, key) as one 128-bit integer: the time biased to unsigned in the
 * high half, so one integer comparison orders by time then key. */
typedef unsigned __int128 hent_t;
#define HENT(t, k) (((hent_t)((uint64_t)(t) ^ (1ULL << 63)) << 64) | (k))
#define HENT_T(e) ((int64_t)((uint64_t)((e) >> 64) ^ (1ULL << 63)))
#define HENT_K(e) ((uint64_t)(e))

struct sim_queue {
	hent_t *heap;
	size_t n, cap;
	struct sim_ev *pool;
	uint32_t *free_slots;
	size_t pool_cap, nfree;
	uint64_t seq;
};

sim_queue_t *sim_queue_create(void)
{
	return calloc(1, sizeof(struct sim_queue));
}

void sim_queue_destroy(sim_queue_t **qp)
{
	sim_queue_t *q = qp ? *qp : NULL;

	if (!q)
		return;
	free(q->heap);
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
	struct sim_ev *np = realloc(q->pool, ncap * sizeof(*np));
	if (!np)
		return -1;
	q->pool = np;
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

int sim_queue_push(sim_queue_t *q, ukf_ns_t t, const struct sim_ev *ev)
{
	if (q->nfree == 0 && pool_grow(q) < 0)
		return -1;
	if (q->n == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 1024;
		hent_t *nh = realloc(q->heap, ncap * sizeof(*nh));
		if (!nh)
			return -1;
		q->heap = nh;
		q->cap = ncap;
	}
	if (q->seq >= SEQ_MAX)
		return -1;
	uint32_t slot = q->free_slots[--q->nfree];
	q->pool[slot] = *ev;
	hent_t e = HENT(t, (q->seq++ << SLOT_BITS) | slot);

	/* Sift up. */
	size_t i = q->n++;
	hent_t *h = q->heap;
	while (i > 0) {
		size_t p = (i - 1) >> 2;
		if (!(e < h[p]))
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = e;
	return 0;
}

int sim_queue_pop(sim_queue_t *q, ukf_ns_t *t, struct sim_ev *ev)
{
	if (q->n == 0)
		return 0;
	hent_t *h = q->heap;
	hent_t top = h[0];
	hent_t last = h[--q->n];
	size_t n = q->n;

	/* Sift the last entry down from the root. */
	size_t i = 0;
	for (;;) {
		size_t c = 4 * i + 1;
		if (c >= n)
			break;
		size_t m = c;
		if (c + 4 <= n) {
			/* Full node: a branch-light minimum of four. */
			size_t m1 = h[c + 1] < h[c] ? c + 1 : c;
			size_t m2 = h[c + 3] < h[c + 2] ? c + 3 : c + 2;
			m = h[m2] < h[m1] ? m2 : m1;
		} else {
			for (size_t j = c + 1; j < n; j++)
				if (h[j] < h[m])
					m = j;
		}
		if (!(h[m] < last))
			break;
		h[i] = h[m];
		i = m;
	}
	if (n > 0)
		h[i] = last;

	uint32_t slot = (uint32_t)(HENT_K(top) & SLOT_MASK);
	if (t)
		*t = HENT_T(top);
	if (ev)
		*ev = q->pool[slot];
	q->free_slots[q->nfree++] = slot;
	return 1;
}

ukf_ns_t sim_queue_peek_time(const sim_queue_t *q)
{
	return q->n ? HENT_T(q->heap[0]) : UKF_NS_NEVER;
}

size_t sim_queue_size(const sim_queue_t *q)
{
	return q->n;
}
