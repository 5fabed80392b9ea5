/* SPDX-License-Identifier: MIT */
/* apps.c - the table of registered applications. */
#include <stdlib.h>
#include <string.h>

#include "apps.h"

struct ukf_apps {
	struct ukf_app *a;
	uint32_t n, cap;
};

ukf_apps_t *ukf_apps_create(void)
{
	return calloc(1, sizeof(struct ukf_apps));
}

void ukf_apps_destroy(ukf_apps_t **tp)
{
	ukf_apps_t *t = tp ? *tp : NULL;

	if (!t)
		return;
	free(t->a);
	free(t);
	*tp = NULL;
}

int ukf_apps_add(ukf_apps_t *t, const struct ukf_app *app)
{
	if (!t || !app || !app->name[0] || app->vcpus == 0 ||
	    t->n >= UKF_APPS_MAX || ukf_apps_find(t, app->name) >= 0)
		return -1;
	if (t->n == t->cap) {
		uint32_t c = t->cap ? t->cap * 2 : 8;
		struct ukf_app *a = realloc(t->a, c * sizeof(*a));
		if (!a)
			return -1;
		t->a = a;
		t->cap = c;
	}
	t->a[t->n] = *app;
	t->a[t->n].id = t->n;
	return (int)t->n++;
}

const struct ukf_app *ukf_apps_get(const ukf_apps_t *t, uint32_t id)
{
	return t && id < t->n ? &t->a[id] : NULL;
}

int ukf_apps_find(const ukf_apps_t *t, const char *name)
{
	if (!t || !name)
		return -1;
	for (uint32_t k = 0; k < t->n; k++)
		if (!strcmp(t->a[k].name, name))
			return (int)k;
	return -1;
}

uint32_t ukf_apps_count(const ukf_apps_t *t)
{
	return t ? t->n : 0;
}
