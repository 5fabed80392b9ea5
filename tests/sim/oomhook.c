/* SPDX-License-Identifier: MIT */
/* oomhook.c - malloc and friends that fail on request and count live
 * blocks, for the allocation-failure tests of tests/sim. */
#include <stddef.h>
#include <stdlib.h>

#include "tests/sim/oomhook.h"

/*
 * This program's own malloc, calloc, realloc, aligned_alloc and free
 * (glibc lets a program interpose them; libc, GSL and the engine then
 * allocate through them too). While armed, the allocation numbered
 * oom_fail_at fails; oom_live counts the blocks not yet freed, so a run
 * that leaks shows. Sanitizer
 * builds have their own allocator: the tests skip there.
 */
long long oom_allocs, oom_fail_at = -1, oom_live;

#ifndef NO_INTERPOSE
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t n);


static int fail_now(void)
{
	return oom_fail_at >= 0 && ++oom_allocs == oom_fail_at;
}

void *malloc(size_t n)
{
	void *p = fail_now() ? NULL : __libc_malloc(n);
	oom_live += p != NULL;
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = fail_now() ? NULL : __libc_calloc(n, size);
	oom_live += p != NULL;
	return p;
}

void *realloc(void *old, size_t n)
{
	if (!old)
		return malloc(n);
	if (n == 0) {
		free(old);
		return NULL;
	}
	return fail_now() ? NULL : __libc_realloc(old, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	void *p = fail_now() ? NULL : __libc_memalign(align, n);
	oom_live += p != NULL;
	return p;
}

void free(void *p)
{
	oom_live -= p != NULL;
	__libc_free(p);
}
#endif
