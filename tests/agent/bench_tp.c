/* SPDX-License-Identifier: MIT */
/* bench_tp.c - benchmark, not a test: bulk transfer rate and bytes on the wire
 * between two transports over loopback TCP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int got(void *arg)
{
	struct h_node *n = arg;

	return n->nmsgs >= 1;
}

/* kind: 0 zeros, 1 template-like (a noisy page every 32), 2 random */
static uint8_t *payload(size_t n, int kind)
{
	uint8_t *b = calloc(1, n);
	unsigned seed = 1;

	if (!b)
		return NULL;
	for (size_t pg = 0; kind && pg < n / 4096; pg += kind == 1 ? 32 : 1)
		for (size_t i = 0; i < 4096; i++)
			b[pg * 4096 + i] = (uint8_t)(rand_r(&seed) >> 7);
	return b;
}

static int run(size_t n, int kind, enum ukf_tp_compress codec)
{
	static const char *kinds[] = {"zeros", "template-like", "random"};
	static const char *codecs[] = {"default", "zstd", "lz4", "none"};
	struct h_node a, b, *ns[] = {&a, &b}, *pab[] = {&a, &b};
	struct ukf_tp_peer_stats st;
	uint8_t *data = payload(n, kind);
	void *copy;
	double t0, t1;

	if (!data)
		return 1;
	h_node_init(&a, 0);
	h_node_init(&b, 1);
	h_node_config(&a, pab, 2, NULL, 0);
	h_node_config(&b, pab, 2, NULL, 0);
	a.cfg.log = b.cfg.log = NULL;
	a.cfg.compress = codec;
	a.cfg.peer_timeout_ns = b.cfg.peer_timeout_ns = 60000000000LL;
	if (!h_node_start(&a) || !h_node_start(&b))
		return 1;
	while (ukf_tp_peer_stats(a.tp, 1, &st) < 0 || !st.up)
		h_poll_all(ns, 2);
	/* warm the pages of the copy so the page faults are not timed */
	copy = malloc(n);
	memcpy(copy, data, n);
	t0 = now_s();
	if (ukf_tp_send_owned(a.tp, 1, 2, "b", 1, &copy, n) < 0 ||
	    !h_poll_until(ns, 2, got, &b, 120000))
		return 1;
	t1 = now_s();
	ukf_tp_peer_stats(a.tp, 1, &st);
	printf("%-14s %-5s %4zu MiB  %7.1f MiB/s  wire %11llu bytes (%6.2f%%)  "
	       "max in flight %u\n",
	       kinds[kind], codecs[codec], n >> 20,
	       (double)n / (1 << 20) / (t1 - t0),
	       (unsigned long long)st.bulk_wire_out,
	       100.0 * (double)st.bulk_wire_out / (double)n, st.inflight_max);
	if (memcmp(b.msgs[0].bulk, data, n))
		printf("  ... CORRUPTED\n");
	free(data);
	h_node_free(&a);
	h_node_free(&b);
	return 0;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 64;

	if (!mib)
		mib = 64;
	printf("bulk transfer over loopback TCP, CURVE, chunks of 256 KiB, "
	       "window 8; time from send to delivery, both transports polled "
	       "by one thread\n");
	for (int kind = 0; kind < 3; kind++)
		for (int c = UKF_TP_COMPRESS_ZSTD; c <= UKF_TP_COMPRESS_NONE;
		     c++)
			if (run(mib << 20, kind, (enum ukf_tp_compress)c))
				return 1;
	return 0;
}
