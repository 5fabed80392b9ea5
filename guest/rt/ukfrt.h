/* SPDX-License-Identifier: MIT */
/* ukfrt.h - the ukfork guest runtime API: the one header guest apps include. */
#ifndef UKFRT_H
#define UKFRT_H

/*
 * A guest app defines `int main(int argc, char **argv)`; the runtime's entry
 * (guest/rt/entry.S) zeroes .bss, sets up the heap and console, splits the
 * boot info argument string into argv (argv[0] is the app's name) and calls
 * main; main's return value is the exit status. See guest/README.md for the
 * boot contract with the monitor and the PVH path.
 *
 * Error convention: calls that talk to the monitor return >= 0 on success and
 * a negated UKF_E* code (include/ukf_abi.h) on failure; ukf_strerror() names
 * one. Nothing here exits except ukf_exit() and ukf_abort().
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "include/ukf_abi.h"
#include "guest/rt/pure.h"

/* ---- instance, lifecycle ---- */

/*
 * Initialisation is done: flush the console and tell the monitor, which may
 * take a template here. Returns 0 in the original and 1 in an instance cloned
 * from the template; in a clone the runtime has re-read the boot info first,
 * so ukf_id(), ukf_parent_id() and ukf_args() are the clone's. Negative on
 * error (never under the ukfork monitor; 0 under PVH).
 */
int ukf_ready(void);
/* This instance's id / its parent's id (0 if none). */
uint64_t ukf_id(void);
uint64_t ukf_parent_id(void);
/* The node this instance runs on as reported by the monitor (0 if unknown). */
uint64_t ukf_node(void);
/*
 * The current argument vector (the clone's after ukf_ready() returned 1):
 * stores it in *argv (owned by the runtime, valid until the next ukf_ready)
 * and returns argc.
 */
int ukf_args(char ***argv);
/* The boot info page (read-only). */
const volatile struct ukf_bootinfo *ukf_bootinfo(void);
/* enum ukf_platform of this boot. */
int ukf_platform(void);

/* Flush the console and exit with `status`. Never returns. */
__attribute__((noreturn)) void ukf_exit(int status);
/* Flush the console and fail with a formatted message. Never returns. */
__attribute__((noreturn, format(printf, 1, 2))) void ukf_abort(const char *fmt,
							       ...);

/* ---- time ---- */

/*
 * Monotonic nanoseconds on the monitor's clock (the clock deadlines use).
 * Cheap: reads the TSC between occasional re-anchoring hypercalls.
 */
uint64_t ukf_time_ns(void);
/* Wall-clock ns since the Unix epoch (a hypercall; 0 under PVH). */
uint64_t ukf_wall_ns(void);
/* Raw TSC. */
static inline uint64_t ukf_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
/* Busy-compute (no exits) until ukf_time_ns() >= deadline. */
void ukf_spin_until(uint64_t deadline_ns);
/* Sleep until the deadline or a message arrives: 1 woken by a message,
 * 0 deadline passed, < 0 error. */
int ukf_block(uint64_t deadline_ns);

/* ---- fork, spawn, wait, messages ---- */

/*
 * Clone this instance: returns the child's id (> 0) in the parent, 0 in the
 * child (whose ukf_id() is then its own), < 0 on error (e.g. -UKF_EAGAIN at
 * a limit, -UKF_ENOSYS under PVH). The console is flushed first.
 */
int64_t ukf_fork(void);
/* Start an instance of app `app` with argument string `args` (may be NULL):
 * its id, or < 0 (-UKF_ENOENT for an unknown app). */
int64_t ukf_spawn(const char *app, const char *args);
/*
 * Reap child `id` (0 = any): its id, with its exit status in *status (may be
 * NULL). < 0 on error (-UKF_ECHILD: no such child or already reaped).
 */
int64_t ukf_wait(uint64_t id, int *status);
/* As ukf_wait with a monotonic deadline (0 = none): -UKF_ETIMEDOUT. */
int64_t ukf_wait_until(uint64_t id, int *status, uint64_t deadline_ns);
/* Send `len` bytes (<= UKF_MSG_MAX) to instance `dst`: 0 or < 0. */
int ukf_send(uint64_t dst, const void *buf, size_t len);
/*
 * Receive one message into buf (cap bytes; longer ones are truncated), the
 * sender in *src (may be NULL), waiting until `deadline_ns` (monotonic; 0 =
 * forever): its length, or < 0 (-UKF_ETIMEDOUT).
 */
int64_t ukf_recv(void *buf, size_t cap, uint64_t *src, uint64_t deadline_ns);
/* A short name for a UKF_E* code (positive or negated). */
const char *ukf_strerror(int64_t err);

/* ---- raw hypercalls (for tests of the monitor) ---- */

/*
 * Issue hypercall `nr` with argument struct `arg` (whose first field is
 * int64_t ret) and return that ret. Under PVH the runtime emulates the
 * calls it can and returns -UKF_ENOSYS for the others.
 */
int64_t ukf_hypercall(unsigned nr, void *arg);

/* ---- console ---- */

/*
 * Console output is buffered (4 KiB) and written with ONE hypercall per
 * flush. By default a printf/puts whose text contains a newline flushes at
 * its end (line batches); ukf_console_full(1) flushes only when the buffer
 * fills or at ready/fork/wait/recv/block/exit/abort.
 */
void ukf_console_full(int on);
void ukf_flush(void);
/* Write raw bytes through the buffer. */
void ukf_write(const void *buf, size_t len);

/* ---- a small libc ---- */

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int puts(const char *s);
int putchar(int c);

void *malloc(size_t size);
void free(void *p);
void *calloc(size_t nmemb, size_t size);
void *realloc(void *p, size_t size);
/* The runtime heap (for statistics). */
struct ukf_heap *ukf_heap(void);

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
char *strcpy(char *dst, const char *src);
char *strncpy(char *dst, const char *src, size_t n);
char *strstr(const char *h, const char *n);
unsigned long long strtoull(const char *s, char **end, int base);
long long strtoll(const char *s, char **end, int base);
int atoi(const char *s);

#endif /* UKFRT_H */
