/* SPDX-License-Identifier: MIT */
/* rng.c - keyed random streams (common random numbers) on GSL generators. */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "sim_int.h"

/*
 * One small generator (gsl_rng_taus2: 3 words of state) per key, created on
 * first use and seeded from hash(seed, rep, key). Because a stream's seed
 * depends only on (seed, rep, key), the draws of one stream never depend on
 * how many draws other streams made: two policies run with one seed see the
 * same arrivals. taus2 takes a 32-bit seed, so the 64-bit hash is folded;
 * distinct keys collide with probability ~n^2/2^33 (n streams), which only
 * makes two streams equal, never breaks determinism.
 */
struct sim_rng {
	uint64_t base;     /* hash(seed, rep) */
	sim_map_t index;   /* key -> index in gens */
	gsl_rng **gens;
	size_t n, cap;
	uint64_t last_key; /* one-entry cache: most draws repeat the key */
	gsl_rng *last;
};

sim_rng_t *sim_rng_create(uint64_t seed, uint32_t rep)
{
	sim_rng_t *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->base = sim_mix64(sim_mix64(seed) ^ (0x5851f42d4c957f2dULL * (rep + 1ULL)));
	sim_map_init(&r->index);
	return r;
}

void sim_rng_destroy(sim_rng_t **rp)
{
	sim_rng_t *r = rp ? *rp : NULL;
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		gsl_rng_free(r->gens[i]);
	free(r->gens);
	sim_map_free(&r->index);
	free(r);
	*rp = NULL;
}

/*
 * A taus2 generator, unseeded; NULL on ENOMEM. Not gsl_rng_alloc: out of
 * memory it calls GSL's error handler, whose default aborts the process
 * (a world must fail its run instead). gsl_rng_free frees what this
 * allocates (the state, then the generator).
 */
static gsl_rng *rng_alloc(void)
{
	gsl_rng *g = malloc(sizeof(*g));

	if (!g)
		return NULL;
	g->type = gsl_rng_taus2;
	g->state = calloc(1, gsl_rng_taus2->size);
	if (!g->state) {
		free(g);
		return NULL;
	}
	return g;
}

static gsl_rng *stream(sim_rng_t *r, uint64_t key)
{
	uint64_t idx;

	if (r->last && r->last_key == key)
		return r->last;
	if (sim_map_get(&r->index, key, &idx)) {
		r->last = r->gens[idx];
		r->last_key = key;
		return r->last;
	}
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 64;
		gsl_rng **ng = realloc(r->gens, ncap * sizeof(*ng));
		if (!ng)
			return NULL;
		r->gens = ng;
		r->cap = ncap;
	}
	gsl_rng *g = rng_alloc();
	if (!g)
		return NULL;
	uint64_t h = sim_mix64(r->base ^ sim_mix64(key));
	unsigned long s = (unsigned long)((h ^ (h >> 32)) & 0xffffffffUL);
	gsl_rng_set(g, s ? s : 1);
	if (sim_map_put(&r->index, key, r->n) < 0) {
		gsl_rng_free(g);
		return NULL;
	}
	r->gens[r->n++] = g;
	r->last = g;
	r->last_key = key;
	return g;
}

double sim_rng_uniform(sim_rng_t *r, uint64_t key)
{
	gsl_rng *g = stream(r, key);
	return g ? gsl_rng_uniform(g) : NAN;
}

double sim_rng_exponential(sim_rng_t *r, uint64_t key, double mean)
{
	gsl_rng *g = stream(r, key);
	return g ? gsl_ran_exponential(g, mean) : NAN;
}

double sim_rng_gaussian(sim_rng_t *r, uint64_t key)
{
	gsl_rng *g = stream(r, key);
	return g ? gsl_ran_gaussian_ziggurat(g, 1.0) : NAN;
}

size_t sim_rng_streams(const sim_rng_t *r)
{
	return r->n;
}

double sim_rng_at(const sim_rng_t *r, uint64_t key, uint64_t index)
{
	uint64_t h = sim_mix64(r->base ^ sim_mix64(key));

	h = sim_mix64(h ^ sim_mix64(index ^ 0x9e3779b97f4a7c15ULL));
	return ((double)(h >> 11) + 0.5) * 0x1.0p-53; /* never 0 or 1 */
}

double sim_rng_gaussian_at(const sim_rng_t *r, uint64_t key, uint64_t index)
{
	return gsl_cdf_ugaussian_Pinv(sim_rng_at(r, key, index));
}
