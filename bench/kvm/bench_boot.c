/* SPDX-License-Identifier: MIT */
/* bench_boot.c - ukvm-bench: cold-boot latency of a guest to its marker and monitor memory per idle VM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "bench/kvm/bench_proc.h"
#include "backends/kvm/clone.h"
#include "backends/kvm/host.h"
#include "backends/kvm/ukvm_int.h"
#include "tests/kvm/kvm_harness.h"

#ifndef UKVM_DEFAULT_GUEST
#define UKVM_DEFAULT_GUEST "build/guest/hello"
#endif

static int cmp_ns(const void *a, const void *b)
{
	ukf_ns_t x = *(const ukf_ns_t *)a, y = *(const ukf_ns_t *)b;

	return x < y ? -1 : x > y;
}

static void summary(const char *what, ukf_ns_t *v, unsigned n)
{
	unsigned p99 = (99 * n + 99) / 100;

	if (!n) {
		printf("%-34s no samples\n", what);
		return;
	}
	qsort(v, n, sizeof(*v), cmp_ns);
	if (p99 < 1)
		p99 = 1;
	printf("%-34s n=%-4u median %8.3f ms  p99 %8.3f ms  min %7.3f  max %7.3f\n",
	       what, n, v[n / 2] / 1e6, v[p99 - 1] / 1e6, v[0] / 1e6,
	       v[n - 1] / 1e6);
}

static unsigned pool_size; /* --pool N: pre-created VM shells */

static struct kh *monitor(unsigned n, int pause)
{
	char err[300];
	struct kh *k = kh_create(n, pause, 0, 0, 0, pool_size, err,
				 sizeof(err));

	if (!k)
		fprintf(stderr, "ukvm-bench: %s\n", err);
	else if (pool_size)
		usleep(pool_size * 1500 + 50000); /* let the pool fill up */
	return k;
}

static void pool_report(struct kh *k)
{
	uint64_t hits, misses;

	if (!pool_size)
		return;
	ukvm_shell_pool_stats(k->m->boot_pool, &hits, &misses);
	printf("  shell pool of %u: %llu boots took a pooled shell, %llu made "
	       "one\n",
	       pool_size, (unsigned long long)hits,
	       (unsigned long long)misses);
}

/*
 * Instance i of k, ended: 1 with *r its record if it reached its marker;
 * else 0, one more in *failed (the first failure's reason and output on
 * stderr).
 */
static int reached_marker(struct kh *k, unsigned i, unsigned *failed,
			  struct kh_inst *r)
{
	*r = kh_get(k, i);
	if (r->t_marker)
		return 1;
	if (!(*failed)++)
		fprintf(stderr, "instance %u: %s%s\n", i, r->reason, r->out);
	return 0;
}

/* The end of a boot benchmark: failures and pool figures printed, k
 * destroyed; -1 if any of the n boots failed, else 0. */
static int bench_end(struct kh *k, unsigned failed, unsigned n)
{
	if (failed)
		printf("  FAILED: %u of %u\n", failed, n);
	pool_report(k);
	kh_destroy(&k);
	return failed ? -1 : 0;
}

/* Boot n instances one after the other: launch-to-marker each. */
static int bench_sequential(const char *img, uint64_t mem, unsigned n)
{
	struct kh *k = monitor(n, 0);
	ukf_ns_t *lat = calloc(n, sizeof(*lat)), *full = calloc(n, sizeof(*full));
	unsigned got = 0, failed = 0;

	if (!k || !lat || !full)
		return -1;
	for (unsigned i = 1; i <= n; i++) {
		ukf_ns_t t0 = ukvm_now();
		struct kh_inst r;

		if (kh_boot(k, i, img, mem, "") < 0 ||
		    kh_wait(k, i, KH_ENDED) < 0) {
			failed++;
			continue;
		}
		if (!reached_marker(k, i, &failed, &r))
			continue;
		lat[got] = r.t_marker - t0;
		full[got++] = r.t_end - t0;
		ukvm_backend_ops.destroy(k->m, 0, i);
	}
	printf("sequential cold boots of %s (%llu MiB):\n", img,
	       (unsigned long long)(mem >> 20));
	summary("  launch -> marker", lat, got);
	summary("  launch -> exit", full, got);
	free(lat);
	free(full);
	return bench_end(k, failed, n);
}

/* Launch n instances at once: each one's launch-to-marker, and the time
 * until the last marker. */
static int bench_concurrent(const char *img, uint64_t mem, unsigned n)
{
	struct kh *k = monitor(n, 0);
	ukf_ns_t *lat = calloc(n, sizeof(*lat)), *t0 = calloc(n + 1, sizeof(*t0));
	ukf_ns_t start, last = 0;
	unsigned got = 0, failed = 0;

	if (!k || !lat || !t0)
		return -1;
	start = ukvm_now();
	for (unsigned i = 1; i <= n; i++) {
		t0[i] = ukvm_now();
		if (kh_boot(k, i, img, mem, "") < 0)
			failed++;
	}
	for (unsigned i = 1; i <= n; i++) {
		struct kh_inst r;

		if (kh_wait(k, i, KH_ENDED) < 0)
			continue;
		if (!reached_marker(k, i, &failed, &r))
			continue;
		lat[got++] = r.t_marker - t0[i];
		if (r.t_marker > last)
			last = r.t_marker;
	}
	printf("%u concurrent cold boots:\n", n);
	summary("  launch -> marker (each)", lat, got);
	printf("  all %u markers within %.3f ms of the first launch "
	       "(%.0f boots/s)\n",
	       got, (last - start) / 1e6, got / ((last - start) / 1e9));
	free(lat);
	free(t0);
	return bench_end(k, failed, n);
}

/* n VMs paused in ready() (idle): process memory per VM. */
static int bench_memory(const char *img, uint64_t mem, unsigned n)
{
	struct kh *k = monitor(n, 1);
	long a0, f0, s0, r0, a1, f1, s1, r1, m0, m1;
	unsigned ok = 0;

	if (!k)
		return -1;
	/* warm the image cache and allocator with one VM first */
	kh_boot(k, 1, img, mem, "");
	kh_wait(k, 1, KH_READY);
	m0 = bench_proc_kib("/proc/meminfo", "MemAvailable");
	a0 = bench_proc_kib("/proc/self/status", "RssAnon");
	f0 = bench_proc_kib("/proc/self/status", "RssFile");
	s0 = bench_proc_kib("/proc/self/status", "RssShmem");
	r0 = bench_proc_kib("/proc/self/status", "VmRSS");
	for (unsigned i = 2; i <= n; i++)
		kh_boot(k, i, img, mem, "");
	for (unsigned i = 2; i <= n; i++)
		if (kh_wait(k, i, KH_READY) == 0 && kh_get(k, i).ready)
			ok++;
	m1 = bench_proc_kib("/proc/meminfo", "MemAvailable");
	a1 = bench_proc_kib("/proc/self/status", "RssAnon");
	f1 = bench_proc_kib("/proc/self/status", "RssFile");
	s1 = bench_proc_kib("/proc/self/status", "RssShmem");
	r1 = bench_proc_kib("/proc/self/status", "VmRSS");
	printf("memory of %u idle VMs (paused in ready()), per VM:\n", ok);
	if (ok) {
		printf("  monitor (RssAnon+RssFile)  %7.1f KiB   <- goal < 1024 KiB\n",
		       (double)((a1 - a0) + (f1 - f0)) / ok);
		printf("  guest pages (RssShmem)     %7.1f KiB   (memfd pages the "
		       "guest touched)\n",
		       (double)(s1 - s0) / ok);
		printf("  VmRSS                      %7.1f KiB\n",
		       (double)(r1 - r0) / ok);
		printf("  host MemAvailable drop     %7.1f KiB   (incl. guest "
		       "pages and KVM's kernel memory; other processes make "
		       "this noisy)\n",
		       (double)(m0 - m1) / ok);
	}
	kh_destroy(&k);
	return ok == n - 1 ? 0 : -1;
}

/* "64M" -> bytes (K/M/G binary suffixes); -1 if malformed. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'K': v <<= 10; end++; break;
	case 'M': v <<= 20; end++; break;
	case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	const char *img = UKVM_DEFAULT_GUEST;
	uint64_t mem = 64ULL << 20;
	unsigned n = 100, idle = 200;
	char why[300];
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--image") && i + 1 < argc)
			img = argv[++i];
		else if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--pool") && i + 1 < argc)
			pool_size = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--idle") && i + 1 < argc)
			idle = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--mem") && i + 1 < argc) {
			if (parse_size(argv[++i], &mem) < 0) {
				fprintf(stderr, "ukvm-bench: bad size %s\n",
					argv[i]);
				return 2;
			}
		} else {
			fprintf(stderr,
				"usage: ukvm-bench [--image GUEST] [-n N] "
				"[--idle N] [--mem SIZE] [--pool N]\n"
				"  cold boots GUEST (default %s) N times "
				"sequentially and N at once,\n"
				"  then keeps --idle VMs paused in ready() and "
				"reports memory per VM.\n"
				"  --pool N keeps N VM shells pre-created "
				"(filled before timing).\n",
				UKVM_DEFAULT_GUEST);
			return 2;
		}
	}
	if (n < 1 || idle < 2) {
		fprintf(stderr, "ukvm-bench: -n must be >= 1, --idle >= 2\n");
		return 2;
	}
	if (!ukvm_available(why, sizeof(why))) {
		fprintf(stderr, "ukvm-bench: %s\n", why);
		return 1;
	}
	printf("KVM here: %s%s\n", ukvm_host()->desc,
	       ukvm_host()->kind == UKVM_HOST_EMULATED
		       ? " -- EMULATED: timings show behaviour only"
		       : "");
	rc |= bench_sequential(img, mem, n);
	rc |= bench_concurrent(img, mem, n);
	rc |= bench_memory(img, mem, idle);
	return rc ? 1 : 0;
}
