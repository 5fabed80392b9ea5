/* SPDX-License-Identifier: MIT */
/* bench_dir.c - benchmark, not a test: directory update-to-visibility latency (embedded: the agents' update message over the transport; etcd: lease-guarded write, watch, replica; the measurement is agent/dirvis.c, shared with `ukfork calibrate --directory`) and placement decisions on a 10,000-node replica loaded from etcd. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/dir_etcd.h"
#include "agent/dirvis.h"
#include "agent/etcd.h"
#include "core/dir.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *lat, int n)
{
	qsort(lat, (size_t)n, sizeof(*lat), cmp_d);
	printf("visibility %-10s samples %4d  median %8.1f us  p99 %8.1f us  max %8.1f us\n",
	       what, n, lat[n / 2] * 1e6, lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] * 1e6,
	       lat[n - 1] * 1e6);
	fflush(stdout);
}

/* update to visibility at another agent: agent/dirvis.c, which
 * `ukfork calibrate --directory` runs too */
static int visibility(const char *eps, const char *what, int samples)
{
	struct ukf_dirvis_config c = { .etcd = eps, .samples = (uint32_t)samples,
				       .warmup = 10 };
	double *lat = calloc((size_t)samples, sizeof(double));
	char err[512];

	if (!lat || ukf_dirvis_measure(&c, lat, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_dir: %s\n", lat ? err : "out of memory");
		free(lat);
		return 1;
	}
	for (int i = 0; i < samples; i++)
		lat[i] /= 1e9;
	report(what, lat, samples);
	free(lat);
	return 0;
}

/* an agent's directory member on etcd (for placement) */
static ukf_dir_etcd_t *member(const char *eps, const char *prefix,
			      uint32_t self, uint32_t nodes, int64_t ttl)
{
	struct ukf_dir_etcd_config c = {
		.etcd = { .endpoints = eps },
		.prefix = prefix,
		.self = self,
		.nodes = nodes,
		.incarnation = (uint64_t)time(NULL) * 1000 + self,
		.lease_ttl_s = ttl,
		.vcpus = 8,
		.memory = 8ull << 30,
	};
	char err[512];
	ukf_dir_etcd_t *d = ukf_dir_etcd_start(&c, err, sizeof(err));

	if (!d)
		fprintf(stderr, "bench_dir: %s\n", err);
	return d;
}

/* ---- placement on a replica of `nodes` nodes loaded from etcd ---- */

static int placement(const char *eps, uint32_t nodes, long decisions)
{
	char prefix[96], key[160], val[512];
	struct ukf_etcd_config c = { .endpoints = eps, .timeout_ms = 60000 };
	char err[256];
	ukf_etcd_t *e = ukf_etcd_create(&c, err, sizeof(err));
	struct ukf_etcd_op ops[100];
	char keys[100][160], vals[100][512];
	ukf_dir_etcd_t *d;
	ukf_dir_t *view = ukf_dir_create(nodes + 1);
	unsigned seed = 7;
	double t0, t1;
	uint32_t loaded = 0;

	if (!e || !view) {
		fprintf(stderr, "bench_dir: %s\n", e ? "out of memory" : err);
		return 1;
	}
	snprintf(prefix, sizeof(prefix), "/ukfork-bench/place-%d", (int)getpid());
	ukf_etcd_delete_prefix(e, prefix);
	/* the synthetic load: nodes 0..nodes-1 as agents write them
	 * (docs/directory-etcd.md), 100 per transaction */
	t0 = now_s();
	for (uint32_t n = 0; n < nodes; n += 100) {
		size_t k = 0;
		for (; k < 100 && n + k < nodes; k++) {
			uint32_t id = n + (uint32_t)k;
			uint32_t used = (uint32_t)(rand_r(&seed) % 9);
			snprintf(keys[k], sizeof(keys[k]), "%s/nodes/%u", prefix,
				 id);
			snprintf(vals[k], sizeof(vals[k]),
				 "{\"node\":%u,\"incarnation\":1,\"run\":1,\"version\":1,"
				 "\"vcpus_total\":8,\"vcpus_free\":%u,\"mem_total\":%llu,"
				 "\"mem_free\":%llu,\"instances\":%u,\"templates\":[%u,%u],"
				 "\"written_ns\":0}",
				 id, 8 - used, 16ull << 30,
				 (16ull << 30) - (uint64_t)used * (1ull << 30), used,
				 (unsigned)(rand_r(&seed) % 64),
				 (unsigned)(rand_r(&seed) % 64));
			ops[k] = (struct ukf_etcd_op){ keys[k], vals[k],
						       strlen(vals[k]) };
		}
		/* compare on a key nobody writes: always absent */
		snprintf(key, sizeof(key), "%s/none", prefix);
		if (ukf_etcd_txn(e, key, 0, ops, k, 0, NULL, NULL, NULL) != 1) {
			fprintf(stderr, "bench_dir: writing the load: %s\n",
				ukf_etcd_error(e));
			return 1;
		}
	}
	t1 = now_s();
	printf("placement: %u node records written to etcd in %.2f s\n", nodes,
	       t1 - t0);
	(void)val;
	/* an agent (node `nodes`) starts and loads the replica */
	t0 = now_s();
	d = member(eps, prefix, nodes, nodes + 1, 10);
	if (!d)
		return 1;
	while (loaded < nodes && now_s() < t0 + 120) {
		struct ukf_dir_etcd_event ev;
		struct pollfd p = { .fd = ukf_dir_etcd_fd(d), .events = POLLIN };
		poll(&p, 1, 100);
		while (ukf_dir_etcd_next(d, &ev))
			if (ev.kind == UKF_DE_RECORD && ev.len &&
			    ukf_dir_apply(view, ev.rec, ev.len) == 0)
				loaded++;
	}
	t1 = now_s();
	if (loaded < nodes) {
		fprintf(stderr, "bench_dir: only %u of %u records loaded\n",
			loaded, nodes);
		return 1;
	}
	printf("placement: replica of %u nodes loaded from etcd in %.3f s\n",
	       nodes, t1 - t0);
	/* decisions: least loaded with room, and least loaded holder of an
	 * app's template (core/dir.h queries that the policies make) */
	{
		volatile uint32_t sink = 0;
		long k;
		t0 = now_s();
		for (k = 0; k < decisions; k++)
			sink += ukf_dir_least_loaded_from(
			    view, 1 + (uint32_t)(k % 4), 1ull << 30,
			    (uint32_t)(k * 7919) % nodes);
		t1 = now_s();
		printf("placement: least-loaded      %9.0f decisions/s (%ld on %u nodes)\n",
		       (double)decisions / (t1 - t0), decisions, nodes);
		t0 = now_s();
		for (k = 0; k < decisions; k++)
			sink += ukf_dir_least_loaded_holder_from(
			    view, (uint32_t)(k % 64), 1 + (uint32_t)(k % 4),
			    1ull << 30, (uint32_t)(k * 7919) % nodes);
		t1 = now_s();
		printf("placement: template holder   %9.0f decisions/s (%ld on %u nodes)\n",
		       (double)decisions / (t1 - t0), decisions, nodes);
		(void)sink;
	}
	fflush(stdout);
	ukf_dir_etcd_stop(&d, 1);
	ukf_etcd_delete_prefix(e, prefix);
	ukf_etcd_destroy(&e);
	ukf_dir_destroy(&view);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bench_dir visibility embedded [--samples N]\n"
		"       bench_dir visibility etcd ENDPOINTS [--label L] [--samples N]\n"
		"       bench_dir placement ENDPOINTS [--nodes N] [--decisions N]\n"
		"A benchmark, not a test (bench/cluster/directory.sh runs it against\n"
		"real etcd clusters of 1 and 3 members).\n");
}

int main(int argc, char **argv)
{
	int samples = 200;
	long decisions = 1000000;
	uint32_t nodes = 10000;
	const char *label = "etcd";
	int i;

	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--samples") && i + 1 < argc)
			samples = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--label") && i + 1 < argc)
			label = argv[++i];
		else if (!strcmp(argv[i], "--nodes") && i + 1 < argc)
			nodes = (uint32_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "--decisions") && i + 1 < argc)
			decisions = atol(argv[++i]);
		else if (i == 3 && argv[i][0] != '-')
			continue; /* ENDPOINTS of visibility etcd */
		else {
			fprintf(stderr, "bench_dir: bad argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (samples < 10 || nodes < 1 || decisions < 1) {
		fprintf(stderr, "bench_dir: --samples >= 10, --nodes and --decisions >= 1\n");
		return 2;
	}
	if (!strcmp(argv[1], "visibility") && !strcmp(argv[2], "embedded"))
		return visibility(NULL, "embedded", samples);
	if (!strcmp(argv[1], "visibility") && !strcmp(argv[2], "etcd") &&
	    argc > 3)
		return visibility(argv[3], label, samples);
	if (!strcmp(argv[1], "placement"))
		return placement(argv[2], nodes, decisions);
	usage(stderr);
	return 2;
}
