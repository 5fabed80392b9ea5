/* SPDX-License-Identifier: MIT */
/* fanout.c - primes below N counted by K forked children, gathered. */
#include "guest/rt/ukfrt.h"
#include "sieve.h"

/*
 * fanout K N: the parent computes the base primes, forks K children (each
 * inherits them copy-on-write), child i counts the primes in its slice
 * [N*i/K, N*(i+1)/K) and sends {i, count, time, node} to the parent, which
 * gathers with ukf_recv, reaps every child and prints
 *     primes below N: COUNT
 *     child I: [LO, HI) COUNT primes in T ms on node X (id Y)
 * Where fork is unavailable (PVH) or fails, a slice is computed in-process
 * and its line says "inline".
 */

/*
 * At most 64 children: the engine refuses a fork beyond an instance's
 * max_children unreaped children (64 by default, core/engine.h), so a
 * larger K would only compute slices inline after 64 refused forks.
 */
#define K_MAX		64
#define RECV_TIMEOUT_NS 120000000000ULL

struct result {
	uint32_t idx;
	uint32_t inline_; /* computed by the parent itself */
	uint64_t lo, hi, count, ns, node, id;
};

static uint32_t base[SIEVE_BASE_MAX];
static int nbase;
static uint8_t seg[SIEVE_SEG_BYTES];

static void slice(struct result *r, uint32_t i, uint32_t k, uint64_t n)
{
	r->idx = i;
	r->lo = n * i / k;
	r->hi = n * (i + 1) / k;
	uint64_t t0 = ukf_time_ns();
	r->count = sieve_count(r->lo, r->hi, base, nbase, seg);
	r->ns = ukf_time_ns() - t0;
	r->node = ukf_node();
	r->id = ukf_id();
}

static uint64_t parse_num(const char *s, const char *what)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);
	if (end == s || *end)
		ukf_abort("fanout: %s '%s' is not a number (usage: fanout K N)",
			  what, s);
	return v;
}

int main(int argc, char **argv)
{
	/*
	 * Ready before anything else: the node's template of fanout is this
	 * bare state (whatever the arguments of the instance that made it),
	 * so a clone of it - on this node or another, also a template booted
	 * on a node that a fork goes to - runs with its own arguments, and a
	 * fork shipped to another node carries only the pages this instance
	 * wrote since (its base primes), not its whole memory.
	 */
	if (ukf_ready() == 1)
		argc = ukf_args(&argv);
	if (argc != 3)
		ukf_abort("fanout: usage: fanout K N (K children, primes "
			  "below N)");
	uint64_t k = parse_num(argv[1], "K");
	uint64_t n = parse_num(argv[2], "N");
	if (k < 1 || k > K_MAX)
		ukf_abort("fanout: K=%llu out of range 1..%d (an instance "
			  "may have at most %d unreaped children)",
			  (unsigned long long)k, K_MAX, K_MAX);
	if (n > SIEVE_N_MAX)
		ukf_abort("fanout: N=%llu too large (max %llu)",
			  (unsigned long long)n,
			  (unsigned long long)SIEVE_N_MAX);
	nbase = sieve_base(n, base, SIEVE_BASE_MAX, seg);
	if (nbase < 0)
		ukf_abort("fanout: cannot sieve below %llu",
			  (unsigned long long)n);

	uint64_t me = ukf_id();
	struct result res[K_MAX];
	int64_t kids[K_MAX];
	uint8_t seen[K_MAX];
	uint32_t nkids = 0, got = 0;
	memset(res, 0, sizeof(res));
	memset(seen, 0, sizeof(seen));

	for (uint32_t i = 0; i < k; i++) {
		int64_t id = ukf_fork();
		if (id == 0) {
			struct result r;
			slice(&r, i, (uint32_t)k, n);
			int e = ukf_send(me, &r, sizeof(r));
			ukf_exit(e < 0 ? 2 : 0);
		}
		if (id < 0) {
			if (id != -UKF_ENOSYS)
				printf("fanout: fork of child %u failed: %s; "
				       "computing its slice inline\n",
				       i, ukf_strerror(id));
			slice(&res[i], i, (uint32_t)k, n);
			res[i].inline_ = 1;
			seen[i] = 1;
			got++;
			continue;
		}
		kids[nkids++] = id;
	}

	uint64_t deadline = ukf_time_ns() + RECV_TIMEOUT_NS;
	for (uint32_t r = 0; r < nkids; r++) {
		struct result m;
		uint64_t src;
		int64_t len = ukf_recv(&m, sizeof(m), &src, deadline);
		if (len < 0)
			ukf_abort("fanout: waiting for %u of %u results: %s",
				  nkids - r, nkids, ukf_strerror(len));
		if (len != sizeof(m) || m.idx >= k || seen[m.idx])
			ukf_abort("fanout: bad message (%lld bytes) from %llu",
				  (long long)len, (unsigned long long)src);
		res[m.idx] = m;
		seen[m.idx] = 1;
		got++;
	}
	int bad = 0;
	for (uint32_t i = 0; i < nkids; i++) {
		int st = -1;
		int64_t r = ukf_wait((uint64_t)kids[i], &st);
		if (r < 0 || st != 0) {
			printf("fanout: child %lld: %s, status %d\n",
			       (long long)kids[i],
			       r < 0 ? ukf_strerror(r) : "exited", st);
			bad = 1;
		}
	}

	uint64_t total = 0;
	for (uint32_t i = 0; i < k; i++)
		total += res[i].count;
	ukf_console_full(1);
	printf("primes below %llu: %llu\n", (unsigned long long)n,
	       (unsigned long long)total);
	for (uint32_t i = 0; i < k; i++) {
		const struct result *r = &res[i];
		printf("child %u: [%llu, %llu) %llu primes in %llu.%03llu ms "
		       "on node %llu (%s %llu)\n",
		       i, (unsigned long long)r->lo, (unsigned long long)r->hi,
		       (unsigned long long)r->count,
		       (unsigned long long)(r->ns / 1000000),
		       (unsigned long long)(r->ns / 1000 % 1000),
		       (unsigned long long)r->node,
		       r->inline_ ? "inline, id" : "id",
		       (unsigned long long)r->id);
	}
	ukf_flush();
	return bad || got != k ? 1 : 0;
}
