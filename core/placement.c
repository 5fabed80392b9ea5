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

static ukf_node_id_t p_local(const struct ukf_place_ctx *c)
{
	const struct ukf_dir_record *r =
	    c->self ? c->self : ukf_dir_get(c->dir, c->origin);

	return ukf_dir_fits(r, c->vcpus, c->mem) ? c->origin : UKF_NODE_NONE;
}

/* Uniform start point, then the first node with room from there. */
static ukf_node_id_t p_random(const struct ukf_place_ctx *c)
{
	return ukf_dir_next_fit(c->dir, pick(c), c->vcpus, c->mem);
}

static ukf_node_id_t p_round_robin(const struct ukf_place_ctx *c)
{
	ukf_node_id_t n = ukf_dir_next_fit(c->dir, *c->rr, c->vcpus, c->mem);

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

static ukf_node_id_t p_least_loaded(const struct ukf_place_ctx *c)
{
	return advance(
	    c, ukf_dir_least_loaded_from(c->dir, c->vcpus, c->mem, *c->rr));
}

static ukf_node_id_t p_power_of_two(const struct ukf_place_ctx *c)
{
	ukf_node_id_t a = ukf_dir_next_fit(c->dir, pick(c), c->vcpus, c->mem);
	ukf_node_id_t b = ukf_dir_next_fit(c->dir, pick(c), c->vcpus, c->mem);

	if (a == UKF_NODE_NONE || b == UKF_NODE_NONE)
		return a;
	return ukf_dir_load_key(ukf_dir_get(c->dir, b)) <
		       ukf_dir_load_key(ukf_dir_get(c->dir, a))
		   ? b
		   : a;
}

static ukf_node_id_t p_template_affinity(const struct ukf_place_ctx *c)
{
	ukf_node_id_t n = ukf_dir_least_loaded_holder_from(
	    c->dir, c->app, c->vcpus, c->mem, *c->rr);

	return n != UKF_NODE_NONE ? advance(c, n) : p_least_loaded(c);
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
