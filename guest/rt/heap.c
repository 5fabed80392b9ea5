/* SPDX-License-Identifier: MIT */
/* heap.c - first-fit allocator with coalescing over one memory range (pure). */
#include "pure.h"

/*
 * Every block starts with a 16-byte header holding its total size (header
 * included, a multiple of 16). Free blocks additionally hold the next free
 * block in the second word; the free list is kept in address order so that
 * freeing merges with both neighbours in one pass. Only the header of a block
 * is written when it is handed out, so a large allocation touches one page
 * until the caller uses it (this matters for copy-on-write clones).
 */
struct blk {
	size_t size;
	struct blk *next; /* free blocks only */
};

#define HDR	  16u
#define ALIGN	  16u
#define MIN_SPLIT 32u

static size_t round_up(size_t v)
{
	return (v + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

void ukf_heap_init(struct ukf_heap *h, void *start, void *end)
{
	uintptr_t s = ((uintptr_t)start + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
	uintptr_t e = (uintptr_t)end & ~(uintptr_t)(ALIGN - 1);
	h->start = s;
	h->end = e;
	h->free = NULL;
	h->in_use = h->peak = h->nallocs = 0;
	if (e > s && e - s >= MIN_SPLIT) {
		struct blk *b = (struct blk *)s;
		b->size = e - s;
		b->next = NULL;
		h->free = b;
	}
}

void *ukf_heap_alloc(struct ukf_heap *h, size_t size)
{
	if (size > h->end - h->start)
		return NULL;
	size_t need = round_up(size ? size : 1) + HDR;
	struct blk **pp = (struct blk **)&h->free;
	for (struct blk *b = *pp; b; pp = &b->next, b = *pp) {
		if (b->size < need)
			continue;
		if (b->size - need >= MIN_SPLIT) {
			/* hand out the tail: the free list link stays put */
			b->size -= need;
			b = (struct blk *)((uintptr_t)b + b->size);
			b->size = need;
		} else {
			*pp = b->next;
		}
		h->in_use += b->size;
		if (h->in_use > h->peak)
			h->peak = h->in_use;
		h->nallocs++;
		return (char *)b + HDR;
	}
	return NULL;
}

void ukf_heap_free(struct ukf_heap *h, void *p)
{
	if (!p)
		return;
	struct blk *b = (struct blk *)((uintptr_t)p - HDR);
	h->in_use -= b->size;
	h->nallocs--;

	struct blk *prev = NULL, *next = h->free;
	while (next && next < b) {
		prev = next;
		next = next->next;
	}
	b->next = next;
	if (next && (uintptr_t)b + b->size == (uintptr_t)next) {
		b->size += next->size;
		b->next = next->next;
	}
	if (prev && (uintptr_t)prev + prev->size == (uintptr_t)b) {
		prev->size += b->size;
		prev->next = b->next;
	} else if (prev) {
		prev->next = b;
	} else {
		h->free = b;
	}
}

size_t ukf_heap_usable(const struct ukf_heap *h, const void *p)
{
	(void)h;
	const struct blk *b = (const struct blk *)((uintptr_t)p - HDR);
	return b->size - HDR;
}

void *ukf_heap_realloc(struct ukf_heap *h, void *p, size_t size)
{
	if (!p)
		return ukf_heap_alloc(h, size);
	size_t have = ukf_heap_usable(h, p);
	if (size <= have)
		return p;
	void *q = ukf_heap_alloc(h, size);
	if (!q)
		return NULL;
	char *d = q;
	const char *s = p;
	for (size_t i = 0; i < have; i++)
		d[i] = s[i];
	ukf_heap_free(h, p);
	return q;
}

int ukf_heap_check(const struct ukf_heap *h)
{
	const struct blk *prev = NULL;
	for (const struct blk *b = h->free; b; prev = b, b = b->next) {
		uintptr_t a = (uintptr_t)b;
		if (a < h->start || a >= h->end || a % ALIGN)
			return -1;
		if (b->size < MIN_SPLIT || b->size % ALIGN ||
		    b->size > h->end - a)
			return -1;
		/* address order, and neighbours must have been merged */
		if (prev && (uintptr_t)prev + prev->size >= a)
			return -1;
	}
	return 0;
}
