/* SPDX-License-Identifier: MIT */
/* world.h - what a scenario runner sees of a world: clock, scheduling, run. */
#ifndef UKF_WORLD_H
#define UKF_WORLD_H

#include "engine.h"

/*
 * A world owns an engine, a backend and an env implementation: the
 * simulated world (sim/sim.h, virtual clock) or the live world (live/live.h,
 * real clock and a real backend). The Lua scenario runner drives either one
 * through this table, so one scenario runs in both.
 */
struct ukf_world_sinks {
	/* Every finished instance (NULL: not kept). */
	void (*record)(void *u, const struct ukf_record *r);
	/* Event log lines (NULL: logging off). `t` is world time. */
	void (*log)(void *u, ukf_ns_t t, ukf_node_id_t node, const char *line);
	/* Workload hooks, forwarded from the engine. */
	struct ukf_engine_hooks hooks;
	void *u;
	/*
	 * Node and link outages as they happen (NULL: not kept; only the
	 * simulated world has them). kind: "node-fail", "node-detect" (the
	 * others noticed a failure, churn{ detect } later), "node-recover",
	 * "link-fail", "link-recover"; reason: the failure's reason, NULL
	 * for detect and recover.
	 */
	void (*outage)(void *u, ukf_ns_t t, ukf_node_id_t node,
		       const char *kind, const char *reason);
};

/* A node's state at time t, sampled periodically by either world. */
struct ukf_world_sample {
	ukf_ns_t t;
	ukf_node_id_t node;
	struct ukf_node_stats s;
	const char *templates; /* comma-separated app names */
};

typedef void (*ukf_world_fn)(void *arg, uint64_t x);

struct ukf_world_ops {
	const char *name; /* "sim", "kvm" */
	ukf_ns_t (*now)(void *w);
	/*
	 * Call fn(arg, x) from the event loop at time t (>= now; earlier is
	 * clamped to now). Events at equal times run in scheduling order.
	 * Returns 0 or -errno.
	 */
	int (*at)(void *w, ukf_ns_t t, ukf_world_fn fn, void *arg, uint64_t x);
	/*
	 * Run the event loop until nothing is left to do, time `until` is
	 * reached, or *stop becomes nonzero. Returns 0, or -1 with a message
	 * in err if the world failed.
	 */
	int (*run)(void *w, ukf_ns_t until, volatile int *stop, char *err,
		   size_t errlen);
	/* Events processed so far (for progress and benchmarks). */
	uint64_t (*events)(void *w);
	void (*destroy)(void **w);

	/*
	 * The workload's door into the world's node engines (one per node):
	 * the runner never holds an engine. Apps are registered before
	 * start; ids are their registration order.
	 */
	int (*add_app)(void *w, const struct ukf_app *app); /* id or -1 */
	const ukf_apps_t *(*apps)(void *w);
	/* Start every node's engine (records published, then prewarm). */
	int (*start)(void *w);
	/* As ukf_engine_spawn/fork/kill (engine.h), routed to the engine
	 * of the origin node, of the parent's node, of the instance's. */
	int (*spawn)(void *w, ukf_node_id_t origin, uint32_t app,
		     const char *args, uint64_t tag, ukf_id_t *id);
	int (*fork)(void *w, ukf_id_t parent, uint64_t tag, ukf_id_t *id);
	int (*kill)(void *w, ukf_id_t id);
	/* Instances alive in the whole world. */
	uint64_t (*alive)(void *w);
	/* Number of nodes, and one node's state (0 or -EINVAL). */
	uint32_t (*nodes)(void *w);
	int (*node_stats)(void *w, ukf_node_id_t node,
			  struct ukf_node_stats *s);
	size_t (*node_templates)(void *w, ukf_node_id_t node, char *buf,
				 size_t cap);
};

struct ukf_world {
	const struct ukf_world_ops *ops;
	void *w;
};

#endif /* UKF_WORLD_H */
