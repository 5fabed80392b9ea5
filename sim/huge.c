/* SPDX-License-Identifier: MIT */
/* huge.c - transparent huge pages for a large world's heap (a speed hint only). */
#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim_int.h"

/*
 * A world of many nodes reads its per-node state at random: every event
 * belongs to a node at random, and each of its lines is a TLB miss as
 * well as a cache miss when the heap is in 4 KiB pages (hosts100k.lua:
 * ~800 MiB). With THP in "madvise" mode (Debian's default) the heap only
 * gets 2 MiB pages where madvise(MADV_HUGEPAGE) asked for them, as
 * glibc's tunable glibc.malloc.hugetlb=1 would do for the whole process.
 * So a large world makes the heap grow in large steps and, whenever it
 * has grown, advises the new part before most of it is touched. Pages
 * change, nothing else: results are the same bit for bit. Process-wide
 * (the heap is), and only from the first large world on.
 */
#define HUGE_NODES 4096           /* worlds from this size on */
#define HUGE_PAD (64u << 20)      /* the heap grows by this much at least */
#define HUGE_MMAP_MAX (32u << 20) /* glibc's largest mmap threshold */

static uintptr_t advised; /* the heap is advised below this (0: off) */

void sim_huge_heap(void)
{
	uintptr_t cur, pg, lo;

	if (!advised) /* a small world: nothing to do, not even sbrk */
		return;
	cur = (uintptr_t)sbrk(0); /* glibc's cached break: no system call */
	if (cur == advised || cur == (uintptr_t)-1)
		return;
	pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	lo = advised < cur ? advised : cur;
	lo &= ~(pg - 1);
	if (cur > lo)
		(void)madvise((void *)lo, cur - lo, MADV_HUGEPAGE);
	advised = cur;
}

void sim_huge_setup(uint32_t nodes)
{
	if (nodes < HUGE_NODES || advised)
		return;
	/* blocks up to 32 MiB from the heap, which then grows 64 MiB at a
	 * time: advised while still mostly untouched */
	mallopt(M_MMAP_THRESHOLD, HUGE_MMAP_MAX);
	mallopt(M_TOP_PAD, HUGE_PAD);
	advised = (uintptr_t)sbrk(0);
	if (advised == (uintptr_t)-1)
		advised = 0;
}
