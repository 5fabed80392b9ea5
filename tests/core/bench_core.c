/* SPDX-License-Identifier: MIT */
/* bench_core.c - placement decisions per second on a 10,000-node directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/dir.h"
#include "core/policy.h"

/*
 * Usage: bench_core [NODES [DECISIONS]]   (defaults 10000, 1000000)
 * NODES nodes of 16 vCPUs and 32 GiB, each holding templates of 0-3 of 16
 * apps (app a needs 1 vCPU and 256 MiB << (a % 4)). The cluster is first
 * filled to half its vCPUs; then every timed step is one placement decision
 * for a random app from a random origin, the chosen node's record updated
 * with the new instance, and one random resident instance leaving (its
 * node's record updated too), so the cluster stays in a steady state.
 * Prints decisions/s per policy (each including its two record updates)
 * and the cost of a record update alone.
 */

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double u_uniform(void *w, uint64_t key)
{
	return (double)(next() >> 11) / 9007199254740992.0;
}

static double secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct ukf_dir_record *recs;
static uint64_t *resident; /* node << 8 | app */
static size_t nres;

static uint64_t app_mem(uint32_t app)
{
	return (256ULL << 20) << (app % 4);
}

static void publish(ukf_dir_t *d, ukf_node_id_t n)
{
	unsigned char buf[256];
	struct ukf_dir_record *r = &recs[n];
	size_t len;

	r->version++;
	len = ukf_dir_encode(r, buf, sizeof(buf));
	if (ukf_dir_apply(d, buf, len) < 0) {
		fprintf(stderr, "bench_core: bad record\n");
		exit(1);
	}
}

static void add(ukf_dir_t *d, ukf_node_id_t n, uint32_t app)
{
	recs[n].vcpus_free--;
	recs[n].mem_free -= app_mem(app);
	recs[n].instances++;
	resident[nres++] = (uint64_t)n << 8 | app;
	publish(d, n);
}

static void leave(ukf_dir_t *d)
{
	size_t k = next() % nres;
	ukf_node_id_t n = (ukf_node_id_t)(resident[k] >> 8);
	uint32_t app = resident[k] & 0xff;

	resident[k] = resident[--nres];
	recs[n].vcpus_free++;
	recs[n].mem_free += app_mem(app);
	recs[n].instances--;
	publish(d, n);
}

int main(int argc, char **argv)
{
	uint32_t nodes = argc > 1 ? (uint32_t)atoi(argv[1]) : 10000;
	long decisions = argc > 2 ? atol(argv[2]) : 1000000;
	ukf_dir_t *d = nodes ? ukf_dir_create(nodes) : NULL;
	struct ukf_env_ops eo = {.uniform = u_uniform};
	struct ukf_env env = {&eo, NULL};
	uint32_t rr = 0;
	double t0, t;

	if (!d || decisions <= 0) {
		fprintf(stderr, "usage: bench_core [NODES [DECISIONS]]\n");
		return 2;
	}
	recs = calloc(nodes, sizeof(*recs));
	resident = calloc((size_t)nodes * 16, sizeof(*resident));
	if (!recs || !resident)
		return 1;
	for (uint32_t n = 0; n < nodes; n++) {
		struct ukf_dir_record *r = &recs[n];
		r->node = n;
		r->vcpus_total = r->vcpus_free = 16;
		r->mem_total = r->mem_free = 32ULL << 30;
		r->ntemplates = (uint32_t)(next() % 4);
		for (uint32_t k = 0; k < r->ntemplates; k++)
			r->templates[k] = (uint32_t)((n + k * 5) % 16);
		publish(d, n);
	}
	/* fill to half the vCPUs, evenly at random */
	while (nres < (size_t)nodes * 8) {
		ukf_node_id_t n = (ukf_node_id_t)(next() % nodes);
		uint32_t app = (uint32_t)(next() % 16);
		if (ukf_dir_fits(&recs[n], 1, app_mem(app)))
			add(d, n, app);
	}
	t0 = secs();
	for (long i = 0; i < decisions; i++)
		publish(d, (ukf_node_id_t)(next() % nodes));
	t = secs() - t0;
	printf("bench_core: %u nodes, %zu resident instances, %ld decisions "
	       "per policy\n",
	       nodes, nres, decisions);
	printf("  %-18s %8.2f M/s  (%4.0f ns each)\n", "record update",
	       decisions / t / 1e6, t / decisions * 1e9);

	for (size_t p = 0; ukf_placements[p]; p++) {
		const struct ukf_placement_ops *ops = ukf_placements[p];
		long placed = 0;
		struct ukf_place_ctx c = {d, &env, 0, 0, 1, 0, &rr, NULL, 0};

		t0 = secs();
		for (long i = 0; i < decisions; i++) {
			c.origin = (ukf_node_id_t)(next() % nodes);
			c.app = (uint32_t)(next() % 16);
			c.mem = app_mem(c.app);
			ukf_node_id_t n = ops->place(&c);
			if (n != UKF_NODE_NONE) {
				placed++;
				add(d, n, c.app);
			}
			if (nres)
				leave(d);
		}
		t = secs() - t0;
		printf("  %-18s %8.2f M decisions/s (%4.0f ns each incl. 2 "
		       "record updates; %.1f%% placed)\n",
		       ops->name, decisions / t / 1e6, t / decisions * 1e9,
		       100.0 * (double)placed / (double)decisions);
	}
	ukf_dir_destroy(&d);
	free(recs);
	free(resident);
	return 0;
}
