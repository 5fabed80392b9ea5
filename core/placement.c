/* SPDX-License-Identifier: MIT */
/* placement.c - placement policies: where a new instance runs. */
#include <stdio.h>
#include <string.h>

#include "policy.h"

static uint32_t pick(const struct ukf_place_ctx *c)
{
	uint32_t n = ukf_dir_nodes(c->dir);
	double u = c->env->ops->uniform(
	    c->env->w, UKF_RNG_KEY(UKF_RNG_PLACEMENT, c->origin));
	uint32_t i = (uint32_t)(u * n);

	return i < n ? i : n - 1;
}

/*
 * Copy-on-write admission (c->mem_clone below c->mem): on a node whose
 * record lists the app's template the instance needs only mem_clone, so
 * each policy also asks among those holders with that need and takes the
 * better of the two answers by its own rule. Under full admission
 * (mem_clone 0) only the first query is made, as before.
 */
static int cow(const struct ukf_place_ctx *c)
{
	return c->mem_clone && c->mem_clone < c->mem;
}

/* Ring distance from `from` to n (n != NONE) among `nodes`. */
static uint32_t ring(ukf_node_id_t from, ukf_node_id_t n, uint32_t nodes)
{
	return n >= from ? n - from : n + nodes - from;
}

/* The first node from `from` round the ring with room: for the whole mem
 * anywhere, or for mem_clone on a holder. */
static ukf_node_id_t next_fit(const struct ukf_place_ctx *c, ukf_node_id_t from)
{
	ukf_node_id_t a = ukf_dir_next_fit(c->dir, from, c->vcpus, c->mem);
	ukf_node_id_t h;
	uint32_t n;

	if (!cow(c))
		return a;
	h = ukf_dir_next_fit_holder(c->dir, c->app, from, c->vcpus,
				    c->mem_clone);
	if (a == UKF_NODE_NONE || h == UKF_NODE_NONE)
		return a == UKF_NODE_NONE ? h : a;
	n = ukf_dir_nodes(c->dir);
	from = from < n ? from : 0;
	return ring(from, h, n) <= ring(from, a, n) ? h : a;
}

/* The less loaded of a node fitting the whole mem and a holder fitting
 * mem_clone (a tie in load class to the holder: a clone costs less). */
static ukf_node_id_t less_loaded(const struct ukf_place_ctx *c, ukf_node_id_t a,
				 ukf_node_id_t h)
{
	if (a == UKF_NODE_NONE || h == UKF_NODE_NONE)
		return a == UKF_NODE_NONE ? h : a;
	return ukf_dir_load_key(ukf_dir_get(c->dir, h)) >> 32 <=
		       ukf_dir_load_key(ukf_dir_get(c->dir, a)) >> 32
		   ? h
		   : a;
}

static ukf_node_id_t p_local(const struct ukf_place_ctx *c)
{
	const struct ukf_dir_record *r =
	    c->self ? c->self : ukf_dir_get(c->dir, c->origin);
	uint64_t mem =
	    cow(c) && ukf_dir_lists(r, c->app) ? c->mem_clone : c->mem;

	return ukf_dir_fits(r, c->vcpus, mem) ? c->origin : UKF_NODE_NONE;
}

/* Uniform start point, then the first node with room from there. */
static ukf_node_id_t p_random(const struct ukf_place_ctx *c)
{
	return next_fit(c, pick(c));
}

static ukf_node_id_t p_round_robin(const struct ukf_place_ctx *c)
{
	ukf_node_id_t n = next_fit(c, *c->rr);

	if (n != UKF_NODE_NONE)
		*c->rr = (n + 1) % ukf_dir_nodes(c->dir);
	return n;
}

/* Ties among the least loaded go round-robin from the origin's cursor. */
static ukf_node_id_t advance(const struct ukf_place_ctx *c, ukf_node_id_t n)
{
	if (n != UKF_NODE_NONE)
		*c->rr = (n + 1) % ukf_dir_nodes(c->dir);
	return n;
}

static ukf_node_id_t least_holder(const struct ukf_place_ctx *c)
{
	return ukf_dir_least_loaded_holder_from(
	    c->dir, c->app, c->vcpus, cow(c) ? c->mem_clone : c->mem, *c->rr);
}

static ukf_node_id_t p_least_loaded(const struct ukf_place_ctx *c)
{
	ukf_node_id_t a =
	    ukf_dir_least_loaded_from(c->dir, c->vcpus, c->mem, *c->rr);

	return advance(c, cow(c) ? less_loaded(c, a, least_holder(c)) : a);
}

static ukf_node_id_t p_power_of_two(const struct ukf_place_ctx *c)
{
	ukf_node_id_t a = next_fit(c, pick(c));
	ukf_node_id_t b = next_fit(c, pick(c));

	if (a == UKF_NODE_NONE || b == UKF_NODE_NONE)
		return a;
	return ukf_dir_load_key(ukf_dir_get(c->dir, b)) <
		       ukf_dir_load_key(ukf_dir_get(c->dir, a))
		   ? b
		   : a;
}

static ukf_node_id_t p_template_affinity(const struct ukf_place_ctx *c)
{
	ukf_node_id_t n = least_holder(c);

	if (n == UKF_NODE_NONE)
		n = ukf_dir_least_loaded_from(c->dir, c->vcpus, c->mem, *c->rr);
	return advance(c, n);
}

static const struct ukf_placement_ops pl_local = {"local", p_local};
static const struct ukf_placement_ops pl_random = {"random", p_random};
static const struct ukf_placement_ops pl_rr = {"round-robin", p_round_robin};
static const struct ukf_placement_ops pl_ll = {"least-loaded", p_least_loaded};
static const struct ukf_placement_ops pl_p2 = {"power-of-two", p_power_of_two};
static const struct ukf_placement_ops pl_ta = {"template-affinity",
					       p_template_affinity};

const struct ukf_placement_ops *const ukf_placements[] = {
    &pl_local, &pl_random, &pl_rr, &pl_ll, &pl_p2, &pl_ta, NULL};

const struct ukf_placement_ops *ukf_placement_find(const char *name, char *err,
						   size_t errlen)
{
	size_t off;

	for (size_t i = 0; ukf_placements[i]; i++)
		if (name && !strcmp(name, ukf_placements[i]->name))
			return ukf_placements[i];
	off = (size_t)snprintf(
	    err, errlen,
	    "unknown placement policy '%s' (valid:", name ? name : "(null)");
	for (size_t i = 0; ukf_placements[i] && off < errlen; i++)
		off += (size_t)snprintf(err + off, errlen - off, " %s",
					ukf_placements[i]->name);
	if (off < errlen)
		snprintf(err + off, errlen - off, ")");
	return NULL;
}
