/* SPDX-License-Identifier: MIT */
/* apps_int.h - the app table's fields, for apps.c and the engine's rooms
 * (which read an app on every event: inline, not a call). */
#ifndef UKF_APPS_INT_H
#define UKF_APPS_INT_H

#include "apps.h"

/* A name's length and first 8 bytes (zero-padded): names of up to 8
 * bytes are equal iff their keys are; longer ones compare the rest. */
struct name_key {
	uint64_t head;
	uint64_t len;
};

struct ukf_apps {
	struct ukf_app *a;
	struct name_key *key; /* per app: lookups by name scan these */
	uint32_t n, cap;
};

/* ukf_apps_get and ukf_apps_count, inline. */
static inline const struct ukf_app *apps_at(const ukf_apps_t *t, uint32_t id)
{
	return t && id < t->n ? &t->a[id] : NULL;
}

static inline uint32_t apps_count(const ukf_apps_t *t)
{
	return t ? t->n : 0;
}

#endif /* UKF_APPS_INT_H */
