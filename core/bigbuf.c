/* SPDX-License-Identifier: MIT */
/* bigbuf.c - large zeroed buffers, on transparent huge pages when asked (UKF_THP=1). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ukf.h"

#define HUGE_2M (2u << 20)

/*
 * A large calloc is a fresh mapping (zero, nothing touched). With UKF_THP=1
 * in the environment, transparent huge pages are asked for on its 2 MiB-
 * aligned part, so writing it costs one page fault per 2 MiB instead of
 * one per 4 KiB; stretches never written stay unbacked. Off by default:
 * on this project's nested machine (kvm_pvm, session 33) huge pages made
 * back-to-back template fetches faster (24/32/48 MiB: 105.5/151.7/251.2
 * -> 77.5/123.6/213.0 ms, medians of 18) but the sparse ones of
 * held-out.lua slower (24 MiB: 114 -> 180 ms, medians of 9): a huge page
 * then comes from memory the VM's host has not backed yet, which costs
 * more than the 512 faults it saves. Below 16 MiB: a plain calloc.
 */
int ukf_big_thp(void)
{
	const char *thp = getenv("UKF_THP");

	return thp && !strcmp(thp, "1");
}

void *ukf_big_calloc(size_t n)
{
	uint8_t *b = calloc(1, n ? n : 1);
	uintptr_t lo, hi;

	/* (a fresh mapping only where glibc maps it: its threshold rises
	 * to 32 MiB after such a buffer is freed; below, heap memory) */
	if (b && n >= 8 * (size_t)HUGE_2M && ukf_big_thp()) {
		lo = ((uintptr_t)b + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1);
		hi = ((uintptr_t)b + n) & ~(uintptr_t)(HUGE_2M - 1);
		if (hi > lo)
			(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
	}
	return b;
}
