/* SPDX-License-Identifier: MIT */
/* forkbench.c - live-fork latency seen from inside the guest (TSC-timed). */
#include "guest/rt/ukfrt.h"
#include "synth_args.h"

/*
 * forkbench [n=100] [mem=64M] [dirty=256]
 * Allocates and touches `mem`, calls ukf_ready() (the template point), then
 * n times: dirties `dirty` pages, forks a child that exits at once, and
 * reaps it. Times are raw TSC deltas (the guest reads the host TSC, which
 * clones keep reading; the monitor clock may hide the clone's pause):
 *   fork-return  parent: fork call -> child id back
 *   child-start  fork call in the parent -> fork returns 0 in the child
 *   round-trip   fork call -> child reaped by wait
 * Prints one line per figure: "forkbench: NAME median M us p99 P us max X
 * us (n N)". Without a TSC frequency in the boot info (Xen PV: the
 * runtime reads the pvclock instead) the times are the runtime's clock,
 * ukf_time_ns(), which on Xen is the same system time in every domain
 * of the host and costs no exit.
 */

#define N_MAX 10000
#define PAGE  4096u

static uint64_t t_ret[N_MAX], t_child[N_MAX], t_rtt[N_MAX];

/* "Ticks": the TSC when its frequency is known, else nanoseconds. */
static uint64_t khz;

static uint64_t ticks(void)
{
	return khz ? ukf_rdtsc() : ukf_time_ns();
}

static void sort(uint64_t *v, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		uint64_t x = v[i];
		uint32_t j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static void report(const char *name, uint64_t *v, uint32_t n)
{
	uint64_t f = khz ? khz : 1000000; /* ns: a 1 GHz "TSC" */

	if (!n) {
		printf("forkbench: %s no samples\n", name);
		return;
	}
	sort(v, n);
	uint32_t p99 = (99 * n + 99) / 100;
	/* ticks -> ns = ticks * 10^6 / khz; print us with 1 decimal */
	uint64_t med = v[n / 2] * 1000000ULL / f;
	uint64_t p = v[p99 - 1] * 1000000ULL / f;
	uint64_t mx = v[n - 1] * 1000000ULL / f;
	printf("forkbench: %-12s median %llu.%llu us p99 %llu.%llu us max "
	       "%llu.%llu us (n %u)\n",
	       name, (unsigned long long)(med / 1000),
	       (unsigned long long)(med / 100 % 10),
	       (unsigned long long)(p / 1000),
	       (unsigned long long)(p / 100 % 10),
	       (unsigned long long)(mx / 1000),
	       (unsigned long long)(mx / 100 % 10), n);
}

int main(int argc, char **argv)
{
	uint64_t n = 100, mem = 64ULL << 20, dirty = 256;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *end;
		if (!strncmp(a, "n=", 2)) {
			n = strtoull(a + 2, &end, 10);
			if (*end || !n || n > N_MAX)
				ukf_abort("forkbench: %s: want 1..%d", a,
					  N_MAX);
		} else if (!strncmp(a, "dirty=", 6)) {
			dirty = strtoull(a + 6, &end, 10);
			if (*end || end == a + 6)
				ukf_abort("forkbench: %s: want a page count",
					  a);
		} else if (!strncmp(a, "mem=", 4)) {
			if (synth_parse_size(a + 4, &mem) < 0 || !mem)
				ukf_abort("forkbench: %s: want a size such as "
					  "64M",
					  a);
		} else {
			ukf_abort("forkbench: unknown argument '%s' (n= mem= "
				  "dirty=)",
				  a);
		}
	}
	khz = ukf_bootinfo()->tsc_khz;

	/* like synth: mem also sizes the VM, keep a reserve for the runtime */
	uint64_t heap = ukf_heap()->end - ukf_heap()->start;
	if (heap < (1u << 20))
		ukf_abort("forkbench: heap of %llu bytes is too small",
			  (unsigned long long)heap);
	if (mem > heap - (256u << 10))
		mem = heap - (256u << 10);
	mem &= ~(uint64_t)(PAGE - 1);
	volatile uint8_t *m = malloc(mem);
	if (!m)
		ukf_abort("forkbench: cannot allocate %llu bytes",
			  (unsigned long long)mem);
	uint64_t pages = mem / PAGE;
	for (uint64_t p = 0; p < pages; p++)
		m[p * PAGE] = 1;
	if (dirty > pages)
		dirty = pages;

	ukf_ready();
	uint64_t me = ukf_id();
	uint32_t got = 0, nchild = 0;
	for (uint64_t i = 0; i < n; i++) {
		for (uint64_t p = 0; p < dirty; p++)
			m[p * PAGE] = (uint8_t)(i + 2);
		uint64_t t0 = ticks();
		int64_t id = ukf_fork();
		uint64_t t1 = ticks();
		if (id == 0) {
			uint64_t d = t1 - t0;
			ukf_send(me, &d, sizeof(d));
			ukf_exit(0);
		}
		if (id < 0)
			ukf_abort("forkbench: fork %llu: %s",
				  (unsigned long long)i, ukf_strerror(id));
		t_ret[got] = t1 - t0;
		uint64_t d = 0;
		if (ukf_recv(&d, sizeof(d), NULL,
			     ukf_time_ns() + 10000000000ULL) == sizeof(d))
			t_child[nchild++] = d;
		int st = -1;
		if (ukf_wait((uint64_t)id, &st) != id || st != 0)
			ukf_abort("forkbench: child %lld did not exit 0",
				  (long long)id);
		t_rtt[got++] = ticks() - t0;
	}
	if (khz)
		printf("forkbench: mem %llu MiB, %llu dirty pages per fork, "
		       "tsc %llu kHz\n",
		       (unsigned long long)(mem >> 20),
		       (unsigned long long)dirty, (unsigned long long)khz);
	else
		printf("forkbench: mem %llu MiB, %llu dirty pages per fork, "
		       "clock ukf_time_ns (no TSC frequency)\n",
		       (unsigned long long)(mem >> 20),
		       (unsigned long long)dirty);
	report("fork-return", t_ret, got);
	report("child-start", t_child, nchild);
	report("round-trip", t_rtt, got);
	return 0;
}
