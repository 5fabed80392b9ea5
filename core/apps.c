/* SPDX-License-Identifier: MIT */
/* apps.c - the table of registered applications. */
#include <stdlib.h>
#include <string.h>

#include "apps_int.h"

static struct name_key name_key(const char *name, size_t len)
{
	struct name_key k = { 0, len };

	memcpy(&k.head, name, len < 8 ? len : 8);
	return k;
}

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
	free(t->key);
	free(t);
	*tp = NULL;
}

int ukf_apps_add(ukf_apps_t *t, const struct ukf_app *app)
{
	if (!t || !app || !app->name[0] || app->vcpus == 0 ||
	    t->n >= UKF_APPS_MAX || ukf_apps_find(t, app->name) >= 0)
		return -1;
	if (strnlen(app->name, UKF_APP_NAME_MAX) >= UKF_APP_NAME_MAX)
		return -1;
	if (t->n == t->cap) {
		uint32_t c = t->cap ? t->cap * 2 : 8;
		struct ukf_app *a = realloc(t->a, c * sizeof(*a));
		struct name_key *k;

		if (!a)
			return -1;
		t->a = a;
		k = realloc(t->key, c * sizeof(*k));
		if (!k)
			return -1;
		t->key = k;
		t->cap = c;
	}
	t->a[t->n] = *app;
	t->key[t->n] = name_key(app->name, strlen(app->name));
	t->a[t->n].id = t->n;
	return (int)t->n++;
}

const struct ukf_app *ukf_apps_get(const ukf_apps_t *t, uint32_t id)
{
	return t && id < t->n ? &t->a[id] : NULL;
}

int ukf_apps_find(const ukf_apps_t *t, const char *name)
{
	return name ? ukf_apps_find_n(t, name, strlen(name)) : -1;
}

/* Every message naming an app looks it up here. */
int ukf_apps_find_n(const ukf_apps_t *t, const char *name, size_t len)
{
	struct name_key nk;

	if (!t || !name || len == 0 || len >= UKF_APP_NAME_MAX)
		return -1;
	nk = name_key(name, len);
	for (uint32_t k = 0; k < t->n; k++)
		if (t->key[k].head == nk.head && t->key[k].len == len &&
		    (len <= 8 || !memcmp(t->a[k].name + 8, name + 8, len - 8)))
			return (int)k;
	return -1;
}

uint32_t ukf_apps_count(const ukf_apps_t *t)
{
	return t ? t->n : 0;
}
