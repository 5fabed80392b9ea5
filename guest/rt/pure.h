/* SPDX-License-Identifier: MIT */
/* pure.h - the runtime's pure parts (format, args, heap), host-testable. */
#ifndef UKF_GUEST_PURE_H
#define UKF_GUEST_PURE_H

/*
 * Everything here uses only <stddef.h>, <stdint.h> and <stdarg.h> and touches
 * no hardware, so the same files are compiled into the freestanding guest
 * runtime and into host unit tests (tests/guest/). Names carry a ukf_ prefix
 * so they never clash with a host libc.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Format like C99 vsnprintf for the subset: %d %i %u %x %X %s %c %p %%, the
 * length modifiers l, ll, z, a field width and precision (digits or '*'), and
 * the flags '-' and '0'. Writes at most n bytes including the NUL (nothing if
 * n is 0) and returns the length the full output would have had. An unknown
 * conversion is copied through literally. A NULL %s prints "(null)".
 */
int ukf_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
/* As ukf_vsnprintf with variadic arguments. */
int ukf_snprintf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Split the argument string `s` in place into words: separated by blanks
 * (space, tab, newline), "double" or 'single' quotes group blanks into a
 * word, a backslash outside single quotes takes the next character
 * literally. Stores up to `max` word pointers into argv (pointing into s)
 * followed by a NULL when room is left, and returns the number of words
 * found (which may exceed `max`: the extra words are dropped). Returns -1
 * for an unterminated quote (s is then unspecified).
 */
int ukf_split_args(char *s, char **argv, int max);

/*
 * A first-fit heap over a caller-given memory range with address-ordered
 * free list and coalescing. All blocks are 16-byte aligned. The heap state
 * lives in the struct (no globals), so tests can run many heaps.
 */
struct ukf_heap {
	uintptr_t start, end; /* the managed range */
	void *free;	      /* first free block (address order) */
	size_t in_use;	      /* bytes handed out (payload + headers) */
	size_t peak;	      /* high-water mark of in_use */
	size_t nallocs;	      /* live allocations */
};

/* Take over [start, end); start/end are rounded inwards to 16 bytes. */
void ukf_heap_init(struct ukf_heap *h, void *start, void *end);
/* A block of at least `size` bytes, or NULL (size 0 gives a unique block). */
void *ukf_heap_alloc(struct ukf_heap *h, size_t size);
/* Return a block from ukf_heap_alloc (NULL is ignored). */
void ukf_heap_free(struct ukf_heap *h, void *p);
/* Resize keeping the contents (like realloc); NULL on failure, p intact. */
void *ukf_heap_realloc(struct ukf_heap *h, void *p, size_t size);
/* Usable size of an allocated block. */
size_t ukf_heap_usable(const struct ukf_heap *h, const void *p);
/* Consistency check for tests: 0 if the free list is sane, else -1. */
int ukf_heap_check(const struct ukf_heap *h);

/*
 * Console buffering. Output collects in `buf` and leaves through `emit`
 * (one hypercall, or one COM1 burst) per flush, never per byte:
 *   - line mode (full == 0): a write/printf call whose text contains a
 *     newline flushes at its end, so one call printing many lines is one
 *     emit, and a partial line waits for the rest;
 *   - full mode: only when the buffer fills or ukf_con_flush is called.
 * A single output larger than the buffer is emitted on its own (printf
 * formats it into a block from `alloc`, released with `release`; without
 * alloc such a printf returns -1 and prints nothing).
 */
#define UKF_CON_BUF 4096
struct ukf_con {
	char buf[UKF_CON_BUF];
	size_t len;
	int full;
	void (*emit)(void *u, const char *p, size_t n);
	void *(*alloc)(size_t n);
	void (*release)(void *p);
	void *u;
};

/* Emit what is buffered (nothing if empty). */
void ukf_con_flush(struct ukf_con *c);
/* Append n raw bytes (line rule applies). */
void ukf_con_write(struct ukf_con *c, const void *p, size_t n);
/* Format and append (line rule applies); the length, or -1. */
int ukf_con_vprintf(struct ukf_con *c, const char *fmt, va_list ap);

#endif /* UKF_GUEST_PURE_H */
