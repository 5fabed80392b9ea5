/* SPDX-License-Identifier: MIT */
/* templates.c - template policies, the per-node LRU cache, top-K counting. */
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static const struct ukf_template_ops tp_none = {"none", 0, 0, 0};
static const struct ukf_template_ops tp_on_demand = {"on-demand", 1, 0, 0};
static const struct ukf_template_ops tp_prewarm = {"prewarm", 1, 1, 1};

const struct ukf_template_ops *const ukf_template_policies[] = {
    &tp_none, &tp_on_demand, &tp_prewarm, NULL};

const struct ukf_template_ops *ukf_template_find(const char *name, char *err,
						 size_t errlen)
{
	size_t off;

	for (size_t i = 0; ukf_template_policies[i]; i++)
		if (name && !strcmp(name, ukf_template_policies[i]->name))
			return ukf_template_policies[i];
	off = (size_t)snprintf(
	    err, errlen,
	    "unknown template policy '%s' (valid:", name ? name : "(null)");
	for (size_t i = 0; ukf_template_policies[i] && off < errlen; i++)
		off += (size_t)snprintf(err + off, errlen - off, " %s",
					ukf_template_policies[i]->name);
	if (off < errlen)
		snprintf(err + off, errlen - off, ")");
	return NULL;
}

void ukf_tcache_init(struct ukf_tcache *c, uint64_t budget)
{
	/* the fields; the entries are written when added */
	memset(c, 0, offsetof(struct ukf_tcache, e));
	c->budget = budget;
}

void ukf_tcache_free(struct ukf_tcache *c)
{
	free(c->more);
	c->more = NULL;
}

struct ukf_tentry *ukf_tcache_find(struct ukf_tcache *c, uint32_t app)
{
	for (uint32_t i = 0; i < c->n; i++) {
		struct ukf_tentry *e = ukf_tcache_at(c, i);
		if (e->app == app)
			return e;
	}
	return NULL;
}

struct ukf_tentry *ukf_tcache_add(struct ukf_tcache *c, uint32_t app)
{
	struct ukf_tentry *e;

	if (ukf_tcache_find(c, app)) {
		errno = EEXIST;
		return NULL;
	}
	if (c->n >= UKF_TCACHE_MAX) {
		errno = ENOSPC;
		return NULL;
	}
	if (ukf_tcache_wants_block(c)) {
		c->more = malloc(UKF_TCACHE_BLOCK_BYTES);
		if (!c->more) {
			errno = ENOMEM;
			return NULL;
		}
	}
	e = ukf_tcache_at(c, c->n++);
	memset(e, 0, sizeof(*e));
	e->app = app;
	e->state = UKF_T_PENDING;
	e->last_use = ++c->tick;
	return e;
}

void ukf_tcache_touch(struct ukf_tcache *c, struct ukf_tentry *e)
{
	e->last_use = ++c->tick;
}

void ukf_tcache_remove(struct ukf_tcache *c, uint32_t app)
{
	struct ukf_tentry *e = ukf_tcache_find(c, app);

	if (!e)
		return;
	if (e->state == UKF_T_READY) {
		c->used -= e->bytes;
		c->nready--;
	}
	c->reserved -= (uint64_t)e->rsv_pages * UKF_TCACHE_PAGE;
	*e = *ukf_tcache_at(c, --c->n);
}

int ukf_tcache_make_room(struct ukf_tcache *c, uint64_t bytes,
			 uint32_t max_ready,
			 void (*evict)(void *u, uint32_t app), void *u)
{
	uint64_t freeable = 0;
	uint32_t nfree = 0;

	if (bytes > c->budget)
		return -1;
	for (uint32_t i = 0; i < c->n; i++) {
		const struct ukf_tentry *e = ukf_tcache_at(c, i);
		if (e->state == UKF_T_READY && !e->pinned) {
			freeable += e->bytes;
			nfree++;
		}
	}
	if (c->used - freeable + bytes > c->budget ||
	    (max_ready && c->nready - nfree >= max_ready))
		return -1;
	while (c->used + bytes > c->budget ||
	       (max_ready && c->nready >= max_ready)) {
		struct ukf_tentry *lru = NULL;
		for (uint32_t i = 0; i < c->n; i++) {
			struct ukf_tentry *e = ukf_tcache_at(c, i);
			if (e->state == UKF_T_READY && !e->pinned &&
			    (!lru || e->last_use < lru->last_use))
				lru = e;
		}
		if (!lru)
			return -1; /* cannot happen: checked above */
		uint32_t app = lru->app;
		if (evict)
			evict(u, app);
		ukf_tcache_remove(c, app);
	}
	return 0;
}

void ukf_tcache_reserve(struct ukf_tcache *c, struct ukf_tentry *e,
			uint64_t bytes)
{
	uint64_t pages = (bytes + UKF_TCACHE_PAGE - 1) / UKF_TCACHE_PAGE;

	if (pages > UINT32_MAX)
		pages = UINT32_MAX;
	c->reserved -= (uint64_t)e->rsv_pages * UKF_TCACHE_PAGE;
	e->rsv_pages = (uint32_t)pages;
	c->reserved += pages * UKF_TCACHE_PAGE;
}

void ukf_tcache_set_ready(struct ukf_tcache *c, struct ukf_tentry *e,
			  uint64_t bytes)
{
	if (e->state == UKF_T_READY)
		return;
	ukf_tcache_reserve(c, e, 0);
	e->state = UKF_T_READY;
	e->bytes = bytes;
	e->fetching = 0;
	e->maker = 0;
	c->used += bytes;
	c->nready++;
	ukf_tcache_touch(c, e);
}

void ukf_tcache_unready(struct ukf_tcache *c, struct ukf_tentry *e)
{
	if (e->state != UKF_T_READY)
		return;
	c->used -= e->bytes;
	c->nready--;
	e->state = UKF_T_PENDING;
	e->bytes = 0;
	e->tver = 0;
}

int ukf_topk_init(struct ukf_topk *t, uint32_t napps, uint32_t k)
{
	memset(t, 0, sizeof(*t));
	t->napps = napps;
	t->k = k < napps ? k : napps;
	if (!napps)
		return 0;
	t->count = calloc(napps, sizeof(*t->count));
	t->in = calloc(napps, 1);
	if (!t->count || !t->in) {
		ukf_topk_free(t);
		return -1;
	}
	for (uint32_t i = 0; i < t->k; i++)
		t->in[i] = 1;
	return 0;
}

void ukf_topk_free(struct ukf_topk *t)
{
	free(t->count);
	free(t->in);
	t->count = NULL;
	t->in = NULL;
}

int ukf_topk_bump(struct ukf_topk *t, uint32_t app, uint32_t *added,
		  uint32_t *removed)
{
	uint32_t min = UINT32_MAX;

	if (app >= t->napps)
		return 0;
	t->count[app]++;
	if (t->in[app] || t->k == 0)
		return 0;
	/* The weakest member: lowest count, ties to the highest app id. */
	for (uint32_t i = 0; i < t->napps; i++) {
		if (t->in[i] &&
		    (min == UINT32_MAX || t->count[i] < t->count[min] ||
		     (t->count[i] == t->count[min] && i > min)))
			min = i;
	}
	if (min == UINT32_MAX || t->count[app] <= t->count[min])
		return 0;
	t->in[min] = 0;
	t->in[app] = 1;
	*added = app;
	*removed = min;
	return 1;
}

int ukf_topk_has(const struct ukf_topk *t, uint32_t app)
{
	return app < t->napps && t->in[app];
}
