/* SPDX-License-Identifier: MIT */
/* bigbuf.c - large zeroed buffers backed by huge pages where the kernel gives them. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "ukf.h"

#define HUGE_2M (2u << 20)

/*
 * A large calloc is a fresh mapping (zero, nothing touched); asking for
 * transparent huge pages on the 2 MiB-aligned part of it makes writing it
 * cost one page fault per 2 MiB instead of one per 4 KiB. That matters
 * where a fault is dear (a nested VM: filling a fresh 32 MiB buffer took
 * ~14 ms against ~3 ms for one already touched, session 33), for the
 * buffers a template crosses between nodes in. Stretches never written
 * (zero chunks, holes) stay unbacked. Below 16 MiB, or with UKF_NO_THP
 * set in the environment (for comparisons): a plain calloc.
 */
void *ukf_big_calloc(size_t n)
{
	uint8_t *b = calloc(1, n ? n : 1);
	uintptr_t lo, hi;

	if (b && n >= 8 * (size_t)HUGE_2M && !getenv("UKF_NO_THP")) {
		lo = ((uintptr_t)b + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1);
		hi = ((uintptr_t)b + n) & ~(uintptr_t)(HUGE_2M - 1);
		if (hi > lo)
			(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
	}
	return b;
}
