/* SPDX-License-Identifier: MIT */
/* registry.c - the explicit list of real backend drivers compiled into this build. */
#include "registry.h"

#include <stdio.h>
#include <string.h>

/* Each backend's driver, declared by its own header (UKF_HAVE_* from
 * backends/CMakeLists.txt: the backend's library is linked in). */
#ifdef UKF_HAVE_KVM
#include "kvm/ukvm.h"
#endif
#ifdef UKF_HAVE_XEN
#include "xen/uxen.h"
#endif

static const struct ukf_backend_driver *const drivers[] = {
#ifdef UKF_HAVE_KVM
	&ukvm_driver,
#endif
#ifdef UKF_HAVE_XEN
	&uxen_driver,
#endif
	NULL /* keeps the array non-empty in a build without backends */
};

#define NDRIVERS (sizeof(drivers) / sizeof(drivers[0]) - 1)

void ukf_backend_config_default(struct ukf_backend_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->pause_on_ready = 1;
}

size_t ukf_backend_drivers(const struct ukf_backend_driver *const **list)
{
	if (list)
		*list = drivers;
	return NDRIVERS;
}

const struct ukf_backend_driver *ukf_backend_driver_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; drivers[i]; i++)
		if (!strcmp(drivers[i]->name, name))
			return drivers[i];
	return NULL;
}

int ukf_backend_driver_names(char *buf, size_t len)
{
	int n = 0;

	if (len)
		buf[0] = '\0';
	if (NDRIVERS == 0)
		return snprintf(buf, len, "none");
	for (size_t i = 0; drivers[i]; i++) {
		size_t at = (size_t)n < len ? (size_t)n : len;
		int w = snprintf(buf + at, len - at, "%s%s", i ? ", " : "",
				 drivers[i]->name);

		if (w < 0)
			return w;
		n += w;
	}
	return n;
}

const struct ukf_backend_driver *
ukf_backend_open(const char *name, const struct ukf_backend_config *cfg,
		 struct ukf_backend *out, char *err, size_t errlen)
{
	const struct ukf_backend_driver *d = ukf_backend_driver_find(name);
	char known[256], why[256];

	if (!d) {
		ukf_backend_driver_names(known, sizeof(known));
		snprintf(err, errlen, "unknown backend '%s' (known: %s)",
			 name ? name : "(none)", known);
		return NULL;
	}
	if (!cfg || !cfg->event || !out) {
		snprintf(err, errlen,
			 "backend %s: a configuration with an event sink and a place for the backend are required",
			 d->name);
		return NULL;
	}
	why[0] = '\0';
	if (!d->available(why, sizeof(why))) {
		snprintf(err, errlen, "backend %s is not available here: %s",
			 d->name, why[0] ? why : "(no reason given)");
		return NULL;
	}
	memset(out, 0, sizeof(*out));
	if (d->create(cfg, out, err, errlen) < 0)
		return NULL;
	return d;
}
