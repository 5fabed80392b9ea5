/* SPDX-License-Identifier: MIT */
/* open_backend.h - the Xen backend opened as the dom0 operation tests (xen_ops_test.c, xen_remote_ops_test.c) drive it. */
#ifndef UKF_TESTS_XEN_OPEN_BACKEND_H
#define UKF_TESTS_XEN_OPEN_BACKEND_H

#include <stdio.h>
#include <stdlib.h>

#include "backends/registry.h"
#include "core/ukf.h"

/*
 * The registry's "xen" backend as an engine opens it (ready holds the
 * guest), its templates in TPLDIR, at most MAX_VMS domains, each failed
 * after LIMIT_S seconds of running; events go to EV(U). NULL after
 * printing why it could not be opened.
 */
static inline const struct ukf_backend_driver *
xt_open_backend(const char *tpldir, unsigned max_vms, unsigned limit_s,
		void (*ev)(void *, ukf_node_id_t, const struct ukf_be_event *),
		void *u, struct ukf_backend *be)
{
	const struct ukf_backend_driver *d;
	struct ukf_backend_config cfg;
	char err[1024];

	setenv("UKF_XEN_TEMPLATE_DIR", tpldir, 1);
	ukf_backend_config_default(&cfg);
	cfg.event = ev;
	cfg.u = u;
	cfg.pause_on_ready = 1;
	cfg.max_vms = max_vms;
	cfg.run_limit_ns = (int64_t)limit_s * UKF_S;
	d = ukf_backend_open("xen", &cfg, be, err, sizeof(err));
	if (!d)
		fprintf(stderr, "open: %s\n", err);
	return d;
}

#endif /* UKF_TESTS_XEN_OPEN_BACKEND_H */
