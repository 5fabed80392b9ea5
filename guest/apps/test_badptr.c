/* SPDX-License-Identifier: MIT */
/* test_badptr.c - monitor test guest: hypercalls with bad pointers. */
#include "guest/rt/ukfrt.h"

/*
 * test-badptr [CASE...]   (default: wild wrap null huge)
 *   wild       console write from an address far outside guest memory
 *   wrap       console write of a valid buffer with a length of ~2^64 (it
 *              fails the UKF_CONSOLE_MAX check first; tests/kvm tiny.S
 *              mode wrap is the real address wrap-around)
 *   null       console write from address 0 (unmapped page)
 *   huge       console write longer than UKF_CONSOLE_MAX
 *   abort-wild abort with a message pointer outside memory
 *   recv-wild  receive into a buffer outside memory (short deadline)
 * For each case that returns, prints "badptr: CASE ret=R (NAME)"; the monitor
 * may instead fail the guest. Ends with "badptr: survived" and exit 0 when
 * every call was refused with a negative ret, 1 if one was accepted.
 */
static int accepted;

static void console_case(const char *name, uint64_t buf, uint64_t len)
{
	struct ukf_hc_console c = {0, buf, len};
	int64_t r = ukf_hypercall(UKF_HC_CONSOLE, &c);
	printf("badptr: %s ret=%lld (%s)\n", name, (long long)r,
	       ukf_strerror(r));
	if (r >= 0)
		accepted = 1;
}

int main(int argc, char **argv)
{
	static char ok[64] = "visible text\n";
	const char *def[] = {"wild", "wrap", "null", "huge"};
	int n = argc > 1 ? argc - 1 : 4;
	for (int i = 0; i < n; i++) {
		const char *c = argc > 1 ? argv[i + 1] : def[i];
		if (!strcmp(c, "wild")) {
			console_case(c, 0x7fff00000000ULL, 16);
		} else if (!strcmp(c, "wrap")) {
			console_case(c, (uintptr_t)ok, ~0ULL - 0x10);
		} else if (!strcmp(c, "null")) {
			console_case(c, 0, 16);
		} else if (!strcmp(c, "huge")) {
			console_case(c, (uintptr_t)ok, UKF_CONSOLE_MAX + 1);
		} else if (!strcmp(c, "abort-wild")) {
			struct ukf_hc_abort a = {0, 0x7fff00000000ULL, 32};
			int64_t r = ukf_hypercall(UKF_HC_ABORT, &a);
			printf("badptr: %s ret=%lld (%s)\n", c, (long long)r,
			       ukf_strerror(r));
			accepted = 1;
		} else if (!strcmp(c, "recv-wild")) {
			struct ukf_hc_recv rv = {0, 0x7fff00000000ULL, 64,
						 ukf_time_ns() + 1000000, 0};
			int64_t r = ukf_hypercall(UKF_HC_RECV, &rv);
			printf("badptr: %s ret=%lld (%s)\n", c, (long long)r,
			       ukf_strerror(r));
			if (r >= 0)
				accepted = 1;
		} else {
			ukf_abort("test-badptr: unknown case '%s' (wild wrap "
				  "null huge abort-wild recv-wild)",
				  c);
		}
	}
	puts("badptr: survived");
	return accepted;
}
