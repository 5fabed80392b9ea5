/* SPDX-License-Identifier: MIT */
/* test_fork.c - monitor test guest: copy-on-write isolation checks. */
#include "guest/rt/ukfrt.h"

/*
 * One .bss page and a 1 MiB heap buffer are written by parent, child A and
 * child B at agreed moments (ordered with messages); each prints what it
 * sees as "test-fork: WHO sees V (expected E) ok|FAIL". The parent ends with
 * "test-fork: PASS" (exit 0) or "test-fork: FAIL" (exit 1); exit 2 if fork
 * is unavailable.
 */

#define BIG	   (1u << 20)
#define TIMEOUT_NS 30000000000ULL

static volatile uint64_t page[512] __attribute__((aligned(4096)));
static volatile uint8_t *big;
static uint64_t parent_id;
static int bad;

static void expect(const char *who, uint64_t seen, uint64_t want)
{
	printf("test-fork: %s sees %llu (expected %llu) %s\n", who,
	       (unsigned long long)seen, (unsigned long long)want,
	       seen == want ? "ok" : "FAIL");
	if (seen != want)
		bad = 1;
}

/* The first byte of `big` that differs from v, or BIG if none does. */
static uint32_t big_differs(uint8_t v)
{
	for (uint32_t i = 0; i < BIG; i += 512)
		if (big[i] != v)
			return i;
	return BIG;
}

static void msg_wait(const char *who, const char *want)
{
	char buf[16] = {0};
	int64_t n =
	    ukf_recv(buf, sizeof(buf) - 1, NULL, ukf_time_ns() + TIMEOUT_NS);
	if (n < 0 || strcmp(buf, want))
		ukf_abort("test-fork: %s: waiting for '%s': %s", who, want,
			  n < 0 ? ukf_strerror(n) : buf);
}

static void msg_send(uint64_t dst, const char *m)
{
	int e = ukf_send(dst, m, strlen(m) + 1);
	if (e < 0)
		ukf_abort("test-fork: send '%s' to %llu: %s", m,
			  (unsigned long long)dst, ukf_strerror(e));
}

static __attribute__((noreturn)) void child(const char *who, uint64_t mine,
					    uint8_t fill)
{
	expect(who, page[0], 100); /* the parent's value at fork time */
	expect(who, big_differs(0x11), BIG);
	page[0] = mine;
	for (uint32_t i = 0; i < BIG; i += 512)
		big[i] = fill;
	msg_send(parent_id, who);
	msg_wait(who, "check");
	/* after everyone else wrote: still our own values */
	expect(who, page[0], mine);
	expect(who, big_differs(fill), BIG);
	ukf_exit(bad);
}

int main(int argc, char **argv)
{
	parent_id = ukf_id();
	big = malloc(BIG);
	if (!big)
		ukf_abort("test-fork: no memory");
	memset((void *)big, 0x11, BIG);
	page[0] = 100;

	int64_t a = ukf_fork();
	if (a == 0)
		child("child-A", 201, 0xaa);
	if (a < 0) {
		printf("test-fork: fork: %s\n", ukf_strerror(a));
		return 2;
	}
	msg_wait("parent", "child-A");
	expect("parent-after-A", page[0], 100);
	expect("parent-after-A", big_differs(0x11), BIG);

	int64_t b = ukf_fork();
	if (b == 0)
		child("child-B", 202, 0xbb); /* must not see A's writes */
	if (b < 0) {
		printf("test-fork: second fork: %s\n", ukf_strerror(b));
		return 2;
	}
	msg_wait("parent", "child-B");
	page[0] = 300;
	memset((void *)big, 0x33, BIG);
	msg_send((uint64_t)a, "check");
	msg_send((uint64_t)b, "check");

	int sa = -1, sb = -1;
	int64_t ra = ukf_wait((uint64_t)a, &sa);
	int64_t rb = ukf_wait((uint64_t)b, &sb);
	printf("test-fork: child-A %lld status %d, child-B %lld status %d\n",
	       (long long)ra, sa, (long long)rb, sb);
	expect("parent-at-end", page[0], 300);
	expect("parent-at-end", big_differs(0x33), BIG);
	if (ra != a || rb != b || sa != 0 || sb != 0)
		bad = 1;
	puts(bad ? "test-fork: FAIL" : "test-fork: PASS");
	return bad;
}
