/* SPDX-License-Identifier: MIT */
/* test_perf_dir.c - the directory's fast indexes (core/dir.c) against plain scans of its records, under random publishes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dir.h"
#include "tests/common/selftest.h"

#define NODES 300
#define APPS 5
#define VERSIONS 4

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* The answer of ukf_dir_next_holder_version by its definition: the nodes
 * in ring order from `from`, the first whose record lists `tver` as its
 * (first) entry of `app`, other than `exclude`. */
static ukf_node_id_t ref_next_version(const ukf_dir_t *d, uint32_t app,
				      uint64_t tver, ukf_node_id_t from,
				      ukf_node_id_t exclude)
{
	uint32_t n = ukf_dir_nodes(d);

	if (!tver)
		return UKF_NODE_NONE;
	from = from < n ? from : 0;
	for (uint32_t k = 0; k < n; k++) {
		ukf_node_id_t x = (from + k) % n;

		if (x != exclude && ukf_dir_template_version(d, x, app) == tver)
			return x;
	}
	return UKF_NODE_NONE;
}

/* A random record for node: some apps, each with a version out of a few
 * (0 sometimes: not known), an app listed twice now and then. */
static void random_record(struct ukf_dir_record *r, ukf_node_id_t node,
			  uint64_t version)
{
	memset(r, 0, sizeof(*r));
	r->node = node;
	r->version = version;
	r->vcpus_total = 16;
	r->vcpus_free = rnd(17);
	r->mem_total = 1u << 30;
	r->mem_free = rnd(1u << 30);
	r->instances = rnd(8);
	r->ntemplates = rnd(APPS + 2);
	for (uint32_t i = 0; i < r->ntemplates; i++) {
		r->templates[i] = rnd(APPS);
		r->tvers[i] = rnd(VERSIONS + 1) * 0x1000 + (rnd(3) ? 1 : 0);
	}
}

/* Random publishes and forgets; after each, every version query agrees
 * with the scan. A placement that fetches a template version from the
 * wrong node (or never finds one that is there) fails here. */
static int t_next_holder_version(void)
{
	ukf_dir_t *d = ukf_dir_create(NODES);
	uint64_t ver[NODES] = {0};
	uint8_t buf[UKF_DIR_RECORD_MAX];
	uint32_t found = 0;

	CHECK(d);
	for (uint32_t step = 0; step < 20000; step++) {
		ukf_node_id_t node = rnd(NODES);
		struct ukf_dir_record r;

		if (rnd(50) == 0) {
			ukf_dir_forget(d, node);
			ver[node] = 0;
		} else {
			/* now and then an old version, which is ignored */
			uint64_t v = rnd(10) ? ++ver[node] : ver[node];
			size_t len;

			random_record(&r, node, v ? v : 1);
			len = ukf_dir_encode(&r, buf, sizeof(buf));
			CHECK(len > 0);
			CHECK(ukf_dir_apply(d, buf, len) == 0);
			if (!v)
				ver[node] = 1;
		}
		for (uint32_t q = 0; q < 4; q++) {
			uint32_t app = rnd(APPS);
			uint64_t tv = rnd(VERSIONS + 1) * 0x1000 + rnd(2);
			ukf_node_id_t from = rnd(NODES + 2);
			ukf_node_id_t ex = rnd(3) ? rnd(NODES) : UKF_NODE_NONE;
			ukf_node_id_t want = ref_next_version(d, app, tv, from, ex);
			ukf_node_id_t got =
			    ukf_dir_next_holder_version(d, app, tv, from, ex);

			CHECKF(got == want,
			       "step %u: app %u version %llx from %u exclude "
			       "%u: got %u, the records say %u",
			       step, app, (unsigned long long)tv, from, ex, got,
			       want);
			found += want != UKF_NODE_NONE;
		}
	}
	CHECK(found > 1000); /* the queries did find holders */
	ukf_dir_destroy(&d);
	return 0;
}

static const struct selftest tests[] = {
    {"perf_dir_next_holder_version", t_next_holder_version},
};

int main(int argc, char **argv)
{
	return selftest_main_print(tests, SELFTEST_COUNT(tests), argc, argv);
}
