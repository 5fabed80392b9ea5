/* SPDX-License-Identifier: MIT */
/* apps.c - every guest image of a directory registered as an app (ukf_spawn by name). */
#define _GNU_SOURCE
#include "live.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/engine.h"
#include "live_int.h"

static int add_apps(struct ukf_world *world,
		    const struct ukf_backend_driver *drv, const char *dir,
		    char *err, size_t errlen);

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int ukf_live_add_guest_apps(struct ukf_world *world, const char *dir,
			    char *err, size_t errlen)
{
	struct live_world *lw = lw_of(world, err, errlen);

	if (!lw)
		return -1;
	return add_apps(world, lw->drv, dir, err, errlen);
}

int ukf_live_add_guest_apps_as(struct ukf_world *world, const char *backend,
			       const char *dir, char *err, size_t errlen)
{
	const struct ukf_backend_driver *drv = ukf_backend_driver_find(backend);

	if (!drv) {
		snprintf(err, errlen, "guest apps: no backend '%s' in this build",
			 backend ? backend : "(null)");
		return -1;
	}
	return add_apps(world, drv, dir, err, errlen);
}

static int add_apps(struct ukf_world *world,
		    const struct ukf_backend_driver *drv, const char *dir,
		    char *err, size_t errlen)
{
	struct dirent **ents = NULL;
	int n, i, added = 0, rc = 0;

	if (!world || !dir || !*dir) {
		snprintf(err, errlen, "guest apps: no world or directory");
		return -1;
	}
	n = scandir(dir, &ents, NULL, by_name);
	if (n < 0) {
		snprintf(err, errlen, "guest apps: %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		struct ukf_app app;
		char path[UKF_APP_PATH_MAX], why[128];
		int w;

		if (rc < 0 || name[0] == '.' ||
		    ukf_apps_find(world->ops->apps(world->w), name) >= 0)
			continue;
		w = snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (w < 0 || (size_t)w >= sizeof(path) ||
		    !drv->is_image(path, why, sizeof(why)))
			continue;
		/* a file name that is no valid app name is no app: skipped */
		if (ukf_app_parse(&app, name, "", why, sizeof(why)) < 0)
			continue;
		memcpy(app.image, path, (size_t)w + 1);
		if (world->ops->add_app(world->w, &app) < 0) {
			snprintf(err, errlen,
				 "guest apps: the engine refused app '%s' (table full?)",
				 name);
			rc = -1;
			continue;
		}
		added++;
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc < 0 ? -1 : added;
}
