/* SPDX-License-Identifier: MIT */
/* simt.c - a started simulated world with one app, for the tests of tests/sim. */
#include "simt.h"

#include <stdio.h>

int simt_start(struct ukf_world *w, const struct ukf_sim_config *c,
	       const struct ukf_world_sinks *s,
	       void (*sample)(void *u, const struct ukf_world_sample *smp),
	       const char *name, const char *app_kv, uint32_t *app)
{
	char err[256];
	struct ukf_app a;

	if (ukf_sim_create(w, c, s, sample, err, sizeof(err))) {
		fprintf(stderr, "create: %s\n", err);
		return -1;
	}
	if (ukf_app_parse(&a, name, app_kv, err, sizeof(err))) {
		fprintf(stderr, "app: %s\n", err);
		return -1;
	}
	int id = w->ops->add_app(w->w, &a);
	if (id < 0) {
		fprintf(stderr, "add_app refused '%s'\n", name);
		return -1;
	}
	if (w->ops->start(w->w)) {
		fprintf(stderr, "start failed\n");
		return -1;
	}
	*app = (uint32_t)id;
	return 0;
}

int simt_run(struct ukf_world *w)
{
	char err[256];

	if (w->ops->run(w->w, UKF_NS_NEVER, NULL, err, sizeof(err))) {
		fprintf(stderr, "run: %s\n", err);
		return -1;
	}
	return 0;
}
