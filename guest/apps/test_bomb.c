/* SPDX-License-Identifier: MIT */
/* test_bomb.c - monitor test guest: fork until refused, print, reap. */
#include "guest/rt/ukfrt.h"

/*
 * test-bomb [MAX]   (default MAX 100000)
 * Forks children that stay alive (each waits for a message) until a fork
 * fails, prints "test-bomb: fork N failed: ERR (ret)", then releases and
 * reaps every child and prints "test-bomb: reaped N children". Exit 0 when
 * a limit stopped it and every child was reaped with status 0; exit 1 if
 * MAX forks all succeeded (no limit) or a child went missing.
 */

#define LIFETIME_NS 120000000000ULL

int main(int argc, char **argv)
{
	uint64_t max = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;
	if (!max)
		ukf_abort("test-bomb: usage: test-bomb [MAX>0]");
	uint64_t parent = ukf_id();
	size_t cap = 256, n = 0;
	int64_t *kids = malloc(cap * sizeof(*kids));
	int64_t err = 0;
	if (!kids)
		ukf_abort("test-bomb: no memory");

	while (n < max) {
		int64_t id = ukf_fork();
		if (id == 0) {
			char m[8];
			int64_t r = ukf_recv(m, sizeof(m), NULL,
					     ukf_time_ns() + LIFETIME_NS);
			ukf_exit(r < 0 ? 3 : 0);
		}
		if (id < 0) {
			err = id;
			printf("test-bomb: fork %zu failed: %s (%lld)\n", n + 1,
			       ukf_strerror(id), (long long)id);
			break;
		}
		if (n == cap) {
			int64_t *k = realloc(kids, 2 * cap * sizeof(*kids));
			if (!k) {
				printf("test-bomb: out of guest memory after "
				       "%zu forks\n",
				       n);
				kids[n - 1] = id; /* keep the newest */
				break;
			}
			kids = k;
			cap *= 2;
		}
		kids[n++] = id;
	}
	(void)parent;
	int lost = 0;
	for (size_t i = 0; i < n; i++) {
		if (ukf_send((uint64_t)kids[i], "bye", 4) < 0)
			lost++;
	}
	size_t reaped = 0;
	for (size_t i = 0; i < n; i++) {
		int st = -1;
		if (ukf_wait((uint64_t)kids[i], &st) == kids[i] && st == 0)
			reaped++;
	}
	printf("test-bomb: reaped %zu of %zu children\n", reaped, n);
	if (!err) {
		printf("test-bomb: no limit hit after %zu forks\n", n);
		return 1;
	}
	return reaped == n && !lost ? 0 : 1;
}
