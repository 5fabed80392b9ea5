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

/* ukf_dir_next_holder by its definition: the first node in ring order
 * from `from` whose record lists app, other than `exclude`. */
static ukf_node_id_t ref_next_any(const ukf_dir_t *d, uint32_t app,
				  ukf_node_id_t from, ukf_node_id_t exclude)
{
	uint32_t n = ukf_dir_nodes(d);

	from = from < n ? from : 0;
	for (uint32_t k = 0; k < n; k++) {
		ukf_node_id_t x = (from + k) % n;
		const struct ukf_dir_record *r = ukf_dir_get(d, x);

		for (uint32_t i = 0; x != exclude && i < r->ntemplates; i++)
			if (r->templates[i] == app)
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

/* The least loaded holder of app with room, by a scan of the records. */
static ukf_node_id_t ref_least_holder(const ukf_dir_t *d, uint32_t app,
				      uint32_t v, uint64_t m,
				      ukf_node_id_t exclude)
{
	uint64_t best = UINT64_MAX;

	for (uint32_t x = 0; x < ukf_dir_nodes(d); x++) {
		const struct ukf_dir_record *r = ukf_dir_get(d, x);
		uint64_t k = ukf_dir_load_key(r);
		int holds = 0;

		for (uint32_t i = 0; i < r->ntemplates; i++)
			holds |= r->templates[i] == app;
		if (holds && x != exclude && ukf_dir_fits(r, v, m) && k < best)
			best = k;
	}
	return best == UINT64_MAX ? UKF_NODE_NONE : (ukf_node_id_t)best;
}

/* The same spread from `from`: the first in ring order of the fitting
 * holders in the least loaded one's load class. */
static ukf_node_id_t ref_least_holder_from(const ukf_dir_t *d, uint32_t app,
					   uint32_t v, uint64_t m,
					   ukf_node_id_t from)
{
	uint32_t n = ukf_dir_nodes(d);
	ukf_node_id_t best = ref_least_holder(d, app, v, m, UKF_NODE_NONE);
	uint64_t cls;

	if (best == UKF_NODE_NONE)
		return best;
	cls = ukf_dir_load_key(ukf_dir_get(d, best)) >> 32;
	from = from < n ? from : 0;
	for (uint32_t k = 0; k < n; k++) {
		ukf_node_id_t x = (from + k) % n;
		const struct ukf_dir_record *r = ukf_dir_get(d, x);
		int holds = 0;

		for (uint32_t i = 0; i < r->ntemplates; i++)
			holds |= r->templates[i] == app;
		if (holds && ukf_dir_fits(r, v, m) &&
		    ukf_dir_load_key(r) >> 32 == cls)
			return x;
	}
	return UKF_NODE_NONE;
}

/* Holder queries with and without loads, before and after the first load
 * query (the view starts tracking holders' loads then): each agrees with
 * a scan of the records. Template-affinity placement on a wrong or stale
 * load fails here. */
static int t_holder_loads(void)
{
	ukf_dir_t *d = ukf_dir_create(NODES);
	uint64_t ver[NODES] = {0};
	uint8_t buf[UKF_DIR_RECORD_MAX];
	uint32_t found = 0;

	CHECK(d);
	for (uint32_t step = 0; step < 12000; step++) {
		ukf_node_id_t node = rnd(NODES);
		struct ukf_dir_record r;
		size_t len;

		if (rnd(60) == 0) {
			ukf_dir_forget(d, node);
			ver[node] = 0;
			continue;
		}
		random_record(&r, node, ++ver[node]);
		/* mostly a load change only, as most publishes are */
		if (rnd(4) && ukf_dir_get(d, node)->version) {
			const struct ukf_dir_record *o = ukf_dir_get(d, node);

			r.ntemplates = o->ntemplates;
			memcpy(r.templates, o->templates, sizeof(r.templates));
			memcpy(r.tvers, o->tvers, sizeof(r.tvers));
		}
		len = ukf_dir_encode(&r, buf, sizeof(buf));
		CHECK(len > 0 && ukf_dir_apply(d, buf, len) == 0);
		uint32_t app = rnd(APPS);
		ukf_node_id_t from = rnd(NODES), ex = rnd(NODES);
		CHECK(ukf_dir_next_holder(d, app, from, ex) ==
		      ref_next_any(d, app, from, ex));
		if (step < 4000)
			continue; /* holders' loads not asked for yet */
		uint32_t v = rnd(17);
		uint64_t m = rnd(1u << 30);
		ukf_node_id_t want = ref_least_holder(d, app, v, m, ex);
		CHECKF(ukf_dir_least_loaded_holder(d, app, v, m, ex) == want,
		       "step %u: least loaded holder of app %u: got %u, the "
		       "records say %u",
		       step, app, ukf_dir_least_loaded_holder(d, app, v, m, ex),
		       want);
		CHECK(ukf_dir_least_loaded_holder_from(d, app, v, m, from) ==
		      ref_least_holder_from(d, app, v, m, from));
		found += want != UKF_NODE_NONE;
	}
	CHECK(found > 1000);
	ukf_dir_destroy(&d);
	return 0;
}

static const struct selftest tests[] = {
    {"perf_dir_next_holder_version", t_next_holder_version},
    {"perf_dir_holder_loads", t_holder_loads},
};

int main(int argc, char **argv)
{
	return selftest_main_print(tests, SELFTEST_COUNT(tests), argc, argv);
}
