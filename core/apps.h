/* SPDX-License-Identifier: MIT */
/* apps.h - a table of registered applications, shared read-only by the engines of a world. */
#ifndef UKF_APPS_H
#define UKF_APPS_H

#include "ukf.h"

/*
 * Apps are registered before a run starts; their ids are their indexes, in
 * registration order. A simulated world gives one table to all of its
 * node engines (thousands of nodes share it); a node agent has its own.
 * Not thread-safe: register from the world's thread before engines start.
 */
typedef struct ukf_apps ukf_apps_t;

/* Maximum number of apps in one table (ids 0..UKF_APPS_MAX-1). */
#define UKF_APPS_MAX 4096

/* An empty table; NULL on ENOMEM. */
ukf_apps_t *ukf_apps_create(void);
/* Free the table and NULL *t. */
void ukf_apps_destroy(ukf_apps_t **t);

/*
 * Register a copy of *app (its id field is ignored and set in the copy).
 * Returns the new id (>= 0), or -1: empty or duplicate name, vcpus 0,
 * table full (UKF_APPS_MAX), out of memory.
 */
int ukf_apps_add(ukf_apps_t *t, const struct ukf_app *app);

/* The app with this id, or NULL. Valid until the table is destroyed or
 * another app is added. */
const struct ukf_app *ukf_apps_get(const ukf_apps_t *t, uint32_t id);

/* The id of the app called `name`, or -1. */
int ukf_apps_find(const ukf_apps_t *t, const char *name);
/* The same for a name of len bytes, not NUL-terminated (as messages carry
 * it). */
int ukf_apps_find_n(const ukf_apps_t *t, const char *name, size_t len);

/* Number of apps registered. */
uint32_t ukf_apps_count(const ukf_apps_t *t);

#endif /* UKF_APPS_H */
