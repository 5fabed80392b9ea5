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
	free(m->s);
	sim_map_init(m);
}

static int map_grow(sim_map_t *m)
{
	uint32_t ncap = m->cap ? m->cap * 2 : 64;
	struct sim_slot *ns;

	if (ncap == 0)
		return -1;
	ns = malloc(sizeof(*ns) * ncap);
	if (!ns)
		return -1;
	for (uint32_t i = 0; i < ncap; i++)
		ns[i].key = EMPTY;
	for (uint32_t i = 0; i < m->cap; i++) {
		uint64_t k = m->s[i].key;
		if (k == EMPTY)
			continue;
		uint32_t j = (uint32_t)sim_mix64(k) & (ncap - 1);
		while (ns[j].key != EMPTY)
			j = (j + 1) & (ncap - 1);
		ns[j] = m->s[i];
	}
	free(m->s);
	m->s = ns;
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
		uint64_t k = m->s[j].key;
		if (k == key) {
			if (val)
				*val = m->s[j].val;
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
	while (m->s[j].key != EMPTY && m->s[j].key != key)
		j = (j + 1) & mask;
	if (m->s[j].key == EMPTY)
		m->count++;
	m->s[j].key = key;
	m->s[j].val = val;
	return 0;
}

int sim_map_set(sim_map_t *m, uint64_t key, uint64_t val)
{
	if (key == EMPTY) {
		if (m->has_max)
			m->max_val = val;
		return m->has_max;
	}
	if (!m->cap)
		return 0;
	uint32_t mask = m->cap - 1;
	for (uint32_t j = (uint32_t)sim_mix64(key) & mask;; j = (j + 1) & mask) {
		if (m->s[j].key == key) {
			m->s[j].val = val;
			return 1;
		}
		if (m->s[j].key == EMPTY)
			return 0;
	}
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
	while (m->s[j].key != key) {
		if (m->s[j].key == EMPTY)
			return 0;
		j = (j + 1) & mask;
	}
	/* Backward-shift deletion: no tombstones. */
	uint32_t i = j;
	for (;;) {
		j = (j + 1) & mask;
		if (m->s[j].key == EMPTY)
			break;
		uint32_t home = (uint32_t)sim_mix64(m->s[j].key) & mask;
		/* Move j into the hole i unless home lies cyclically in (i, j]. */
		if ((i <= j) ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		m->s[i] = m->s[j];
		i = j;
	}
	m->s[i].key = EMPTY;
	m->count--;
	return 1;
}

int sim_map_keep_above(sim_map_t *m, uint64_t floor)
{
	struct sim_map keep;

	sim_map_init(&keep);
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->s[i].key != EMPTY && m->s[i].val > floor &&
		    sim_map_put(&keep, m->s[i].key, m->s[i].val) < 0) {
			sim_map_free(&keep);
			return -1;
		}
	/* the UINT64_MAX key lives beside the slots: carried over by
	 * assignment, which cannot fail as a put into the slots can */
	if (m->has_max && m->max_val > floor) {
		keep.has_max = 1;
		keep.max_val = m->max_val;
	}
	sim_map_free(m);
	*m = keep;
	return 0;
}
