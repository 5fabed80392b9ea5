/* SPDX-License-Identifier: MIT */
/* simt.h - a started simulated world with one app, for the tests of tests/sim. */
#ifndef UKF_TESTS_SIMT_H
#define UKF_TESTS_SIMT_H

#include <stdint.h>

#include "core/ukf.h"
#include "sim/sim.h"

/*
 * Creates a simulated world in *w from c, sinks s and sample (may be NULL,
 * as ukf_sim_create takes them), adds the app `name` parsed from app_kv
 * ("mem=16M init=20ms ...") and starts the world; *app gets the app's id.
 * Returns 0, or -1 with the reason on stderr (the world may then be made
 * and is the caller's to destroy when w->ops is set).
 */
int simt_start(struct ukf_world *w, const struct ukf_sim_config *c,
	       const struct ukf_world_sinks *s,
	       void (*sample)(void *u, const struct ukf_world_sample *smp),
	       const char *name, const char *app_kv, uint32_t *app);

/* Runs w to its last event. Returns 0, or -1 with the reason on stderr. */
int simt_run(struct ukf_world *w);

#endif
