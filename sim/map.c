/* SPDX-License-Identifier: MIT */
/* map.c - u64 -> u64 open-addressing hash map used throughout the simulator. */
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

#define EMPTY UINT64_MAX

uint64_t sim_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void sim_map_init(sim_map_t *m)
{
	memset(m, 0, sizeof(*m));
}

void sim_map_free(sim_map_t *m)
{
	free(m->keys);
	free(m->vals);
	sim_map_init(m);
}

static int map_grow(sim_map_t *m)
{
	uint32_t ncap = m->cap ? m->cap * 2 : 64;
	uint64_t *nk, *nv;

	if (ncap == 0)
		return -1;
	nk = malloc(sizeof(*nk) * ncap);
	nv = malloc(sizeof(*nv) * ncap);
	if (!nk || !nv) {
		free(nk);
		free(nv);
		return -1;
	}
	for (uint32_t i = 0; i < ncap; i++)
		nk[i] = EMPTY;
	for (uint32_t i = 0; i < m->cap; i++) {
		uint64_t k = m->keys[i];
		if (k == EMPTY)
			continue;
		uint32_t j = (uint32_t)sim_mix64(k) & (ncap - 1);
		while (nk[j] != EMPTY)
			j = (j + 1) & (ncap - 1);
		nk[j] = k;
		nv[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = nk;
	m->vals = nv;
	m->cap = ncap;
	return 0;
}

int sim_map_get(const sim_map_t *m, uint64_t key, uint64_t *val)
{
	if (key == EMPTY) {
		if (m->has_max && val)
			*val = m->max_val;
		return m->has_max;
	}
	if (!m->cap)
		return 0;
	uint32_t mask = m->cap - 1;
	for (uint32_t j = (uint32_t)sim_mix64(key) & mask;; j = (j + 1) & mask) {
		uint64_t k = m->keys[j];
		if (k == key) {
			if (val)
				*val = m->vals[j];
			return 1;
		}
		if (k == EMPTY)
			return 0;
	}
}

int sim_map_put(sim_map_t *m, uint64_t key, uint64_t val)
{
	if (key == EMPTY) {
		m->has_max = 1;
		m->max_val = val;
		return 0;
	}
	/* Keep the load factor at most 1/2. */
	if ((uint64_t)(m->count + 1) * 2 > m->cap && map_grow(m) < 0)
		return -1;
	uint32_t mask = m->cap - 1;
	uint32_t j = (uint32_t)sim_mix64(key) & mask;
	while (m->keys[j] != EMPTY && m->keys[j] != key)
		j = (j + 1) & mask;
	if (m->keys[j] == EMPTY)
		m->count++;
	m->keys[j] = key;
	m->vals[j] = val;
	return 0;
}

int sim_map_del(sim_map_t *m, uint64_t key)
{
	if (key == EMPTY) {
		int had = m->has_max;
		m->has_max = 0;
		return had;
	}
	if (!m->cap)
		return 0;
	uint32_t mask = m->cap - 1;
	uint32_t j = (uint32_t)sim_mix64(key) & mask;
	while (m->keys[j] != key) {
		if (m->keys[j] == EMPTY)
			return 0;
		j = (j + 1) & mask;
	}
	/* Backward-shift deletion: no tombstones. */
	uint32_t i = j;
	for (;;) {
		j = (j + 1) & mask;
		if (m->keys[j] == EMPTY)
			break;
		uint32_t home = (uint32_t)sim_mix64(m->keys[j]) & mask;
		/* Move j into the hole i unless home lies cyclically in (i, j]. */
		if ((i <= j) ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		m->keys[i] = m->keys[j];
		m->vals[i] = m->vals[j];
		i = j;
	}
	m->keys[i] = EMPTY;
	m->count--;
	return 1;
}
