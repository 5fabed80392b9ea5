/* SPDX-License-Identifier: MIT */
/* live.h - the live world: real clock, event loop, a real backend. */
#ifndef UKF_LIVE_H
#define UKF_LIVE_H

#include "../core/world.h"

/*
 * The embedded default: one in-process node agent (node 0) with a real
 * clock (CLOCK_MONOTONIC) and the KVM backend, no daemons. Backend events
 * arrive from vCPU threads and are queued to the loop thread; the engine
 * only ever runs on the loop thread (the one calling ops->run).
 */
struct ukf_live_config {
	struct ukf_engine_config engine; /* engine.nodes must be 1 */
	const char *backend;             /* "kvm" */
	ukf_ns_t run_limit_ns;           /* per-guest deadline (0 = none) */
	ukf_ns_t sample_every_ns;        /* node samples (0 = off) */
};
void ukf_live_config_default(struct ukf_live_config *c);

/* Create; 0 and *world filled, or -1 with a message (e.g. no /dev/kvm). */
int ukf_live_create(struct ukf_world *world, const struct ukf_live_config *cfg,
		    const struct ukf_world_sinks *sinks, char *err,
		    size_t errlen);

#endif /* UKF_LIVE_H */
