/* SPDX-License-Identifier: MIT */
/* dir.h - the cluster directory: each node's published record, indexed. */
#ifndef UKF_DIR_H
#define UKF_DIR_H

#include "ukf.h"

/*
 * A key-value view of the cluster: key = node id, value = the node's latest
 * record that reached this view. Records travel as opaque encoded bytes
 * (env->publish); a world applies them to a view, in simulation after the
 * modeled propagation delay, so placement may act on stale information.
 * Older versions than the one held are ignored. The view keeps indexes so
 * that placement queries stay cheap with 10,000 nodes.
 */
typedef struct ukf_dir ukf_dir_t;

#define UKF_DIR_MAX_TEMPLATES 32

struct ukf_dir_record {
	ukf_node_id_t node;
	uint64_t version;      /* increases with each publish by that node */
	uint32_t vcpus_total, vcpus_free;
	uint64_t mem_total, mem_free;
	uint32_t instances;    /* load: instances alive */
	uint32_t ntemplates;
	uint32_t templates[UKF_DIR_MAX_TEMPLATES]; /* app ids held */
	/* the version of each (0: not known, e.g. a record of encoding 1):
	 * two templates of one app with different versions are different
	 * templates, and a fork's delta applies to its own only */
	uint64_t tvers[UKF_DIR_MAX_TEMPLATES];
};

/* A view of `nodes` nodes, all records empty (version 0). NULL on ENOMEM. */
ukf_dir_t *ukf_dir_create(uint32_t nodes);
void ukf_dir_destroy(ukf_dir_t **d);

/*
 * Encode a record for env->publish (encoding 2: each template with its
 * version); returns bytes written, 0 if cap small. UKF_DIR_RECORD_MAX
 * bytes always suffice. Records of encoding 1 (no versions) still apply.
 */
#define UKF_DIR_RECORD_MAX (48 + 12 * UKF_DIR_MAX_TEMPLATES)
size_t ukf_dir_encode(const struct ukf_dir_record *r, void *buf, size_t cap);
/*
 * Decode and apply a published record; 0 applied or ignored as old, -1 bad,
 * -ENOMEM no memory for its templates' indexes (the view left as it was).
 */
int ukf_dir_apply(ukf_dir_t *d, const void *buf, size_t len);

/*
 * Forget node's record (a lost peer): the view holds it as never heard of
 * (version 0, not placed on, holds no template), so the next record from
 * that node applies whatever its version (a restarted agent counts from 1
 * again).
 */
void ukf_dir_forget(ukf_dir_t *d, ukf_node_id_t node);

uint32_t ukf_dir_nodes(const ukf_dir_t *d);
/* A hint, no effect on answers: a record of `node` is about to be applied,
 * so start loading the lines ukf_dir_apply reads first (its record and
 * its leaf of the index of all nodes). */
void ukf_dir_prefetch(const ukf_dir_t *d, ukf_node_id_t node);
/* The record held for `node` (never NULL for a valid node). */
const struct ukf_dir_record *ukf_dir_get(const ukf_dir_t *d, ukf_node_id_t node);

#endif /* UKF_DIR_H */

/* --- appended by core/ (H1): indexed queries for placement, O(log N) --- */

/* Does a record (as held) have room for `vcpus` and `mem` bytes? */
int ukf_dir_fits(const struct ukf_dir_record *r, uint32_t vcpus,
		 uint64_t mem);

/*
 * A record's load, as placement orders nodes: the utilisation of its
 * scarcest resource (max of vCPU and memory use, 16-bit fixed point), then
 * its instance count, then its node id. Lower is less loaded; unique.
 */
uint64_t ukf_dir_load_key(const struct ukf_dir_record *r);

/*
 * The least-loaded known node (lowest ukf_dir_load_key) with room for
 * vcpus/mem, other than `exclude` (UKF_NODE_NONE: none excluded).
 * UKF_NODE_NONE if no node fits. About O(log N) on typical clusters: nodes
 * with a low load key but no room for the request cost extra steps.
 */
ukf_node_id_t ukf_dir_least_loaded(const ukf_dir_t *d, uint32_t vcpus,
				   uint64_t mem, ukf_node_id_t exclude);

/* The same among the nodes whose record lists a template of `app`. */
ukf_node_id_t ukf_dir_least_loaded_holder(const ukf_dir_t *d, uint32_t app,
					  uint32_t vcpus, uint64_t mem,
					  ukf_node_id_t exclude);

/* Number of nodes whose record lists a template of `app`. */
uint32_t ukf_dir_holders(const ukf_dir_t *d, uint32_t app);

/*
 * The first known node at or after `from` (wrapping around) with room for
 * vcpus/mem; UKF_NODE_NONE if none. Used by random and round-robin.
 */
ukf_node_id_t ukf_dir_next_fit(const ukf_dir_t *d, ukf_node_id_t from,
			       uint32_t vcpus, uint64_t mem);

/*
 * The same choices with ties spread: among the fitting nodes of the lowest
 * load class (utilisation and instance count equal to the least loaded
 * one's), the first at or after `from`, wrapping around. Origins that
 * start from different points do not all pick the same idle node.
 */
ukf_node_id_t ukf_dir_least_loaded_from(const ukf_dir_t *d, uint32_t vcpus,
					uint64_t mem, ukf_node_id_t from);
ukf_node_id_t ukf_dir_least_loaded_holder_from(const ukf_dir_t *d,
					       uint32_t app, uint32_t vcpus,
					       uint64_t mem, ukf_node_id_t from);

/* The same among the nodes whose record lists a template of `app`
 * (from the holder trees ukf_dir_least_loaded_holder keeps). */
ukf_node_id_t ukf_dir_next_fit_holder(const ukf_dir_t *d, uint32_t app,
				      ukf_node_id_t from, uint32_t vcpus,
				      uint64_t mem);

/* Does record r list a template of `app`? */
int ukf_dir_lists(const struct ukf_dir_record *r, uint32_t app);

/*
 * The first node at or after `from` (wrapping) whose record lists a
 * template of `app`, other than `exclude`; UKF_NODE_NONE if none.
 */
ukf_node_id_t ukf_dir_next_holder(const ukf_dir_t *d, uint32_t app,
				  ukf_node_id_t from, ukf_node_id_t exclude);

/*
 * The same among the nodes whose record lists version `tver` (non-zero)
 * of the app's template: a copy of that very template. A record that
 * lists the app without a version does not count. O(holders of the app)
 * at worst.
 */
ukf_node_id_t ukf_dir_next_holder_version(const ukf_dir_t *d, uint32_t app,
					  uint64_t tver, ukf_node_id_t from,
					  ukf_node_id_t exclude);

/* The version of `app`'s template that node's record lists: 0 if none is
 * listed or its version is not known. */
uint64_t ukf_dir_template_version(const ukf_dir_t *d, ukf_node_id_t node,
				  uint32_t app);

/* Largest app id a record may list (larger ids make a record invalid). */
#define UKF_DIR_MAX_APPS 4096
