/* SPDX-License-Identifier: MIT */
/* uxen.h - the Xen backend through libxenlight: PV domains from ukfork guest images. */
#ifndef UKF_UXEN_H
#define UKF_UXEN_H

#include "../registry.h"

/*
 * The registry's driver "xen" (backends/registry.c lists it when the build
 * has UKF_HAVE_XEN). What it does today (docs/xen.md):
 *   - cold_boot: a PV domain from app->image (a Xen PV guest image,
 *     build/guest-xen/NAME) with app->mem_bytes of memory and app->vcpus
 *     vCPUs, args as its command line; UKF_BE_STARTED once it runs, one
 *     UKF_BE_CONSOLE per line of its PV console, UKF_BE_READY at its first
 *     "UKF-READY" line (the guest is not paused there: complete() answers
 *     0 and changes nothing), UKF_BE_EXIT with the status the guest left in
 *     xenstore when it powers off, UKF_BE_FAIL with a reason when it
 *     crashes, cannot be built (every libxl error carries libxl's own last
 *     message) or runs past cfg->run_limit_ns (wall time here);
 *   - destroy: the domain destroyed, its watcher thread joined;
 *   - templates, clones, fork, deltas: refused with -ENOSYS (not carried
 *     on Xen yet).
 * One watcher thread per domain; events come from it (thread-safe sink).
 */
extern const struct ukf_backend_driver uxen_driver;

#endif /* UKF_UXEN_H */
