/* SPDX-License-Identifier: MIT */
/* failalloc.c - LD_PRELOAD shim for tests/cli: calloc of at least
 * $UKF_FAILALLOC_ABOVE bytes fails, as when memory is exhausted (the
 * engine's hash maps grow with calloc; Lua and SQLite use malloc/realloc). */
#include <stdlib.h>

extern void *__libc_calloc(size_t n, size_t size);

void *calloc(size_t n, size_t size)
{
	static long long above = -1;
	if (above < 0) {
		const char *e = getenv("UKF_FAILALLOC_ABOVE");
		above = e ? atoll(e) : 0;
	}
	if (above > 0 && size && n >= (size_t)above / size)
		return NULL;
	return __libc_calloc(n, size);
}
