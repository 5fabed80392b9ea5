/* SPDX-License-Identifier: MIT */
/* uxen.h - the Xen backend through libxenlight: PV domains from ukfork guest images. */
#ifndef UKF_UXEN_H
#define UKF_UXEN_H

#include "../registry.h"

/*
 * The registry's driver "xen" (backends/registry.c lists it when the build
 * has UKF_HAVE_XEN). What it does (docs/xen.md):
 *   - cold_boot: a PV domain from app->image (a Xen PV guest image,
 *     build/guest-xen/NAME) with app->mem_bytes of memory and app->vcpus
 *     vCPUs, args as its command line; UKF_BE_STARTED once it runs, one
 *     UKF_BE_CONSOLE per line of its PV console, UKF_BE_READY at its first
 *     "UKF-READY" line (or, with cfg->pause_on_ready, when the guest held
 *     at ready says so in xenstore; it waits for complete()), UKF_BE_EXIT
 *     with the status the guest left in xenstore when it powers off,
 *     UKF_BE_FAIL with a reason when it crashes, cannot be built (every
 *     libxl error carries libxl's own last message), breaks the call
 *     page's rules or runs past cfg->run_limit_ns (wall time here);
 *   - calls: fork, spawn, wait, send, recv and block come over the guest's
 *     call page and event channel (uxen_abi.h) as UKF_BE_CALL with the
 *     same fields backends/kvm fills (spawn: text = app, data/len = args;
 *     wait: arg_id, deadline; send: arg_id = dst, data/len; recv and
 *     block: deadline; deadlines on CLOCK_MONOTONIC); the guest waits
 *     until complete() (recv: data/len and src; wait: status). Bad lengths
 *     and fork flags are answered at once (-UKF_EINVAL, -UKF_EMSGSIZE,
 *     unknown numbers -UKF_ENOSYS) without an event; a page naming data
 *     outside itself, or a channel that cannot be mapped or bound, fails
 *     the instance with the reason. Other domains and the backend go on;
 *   - clone_live (fork, same node): libxl saves the parent (held in its
 *     fork call) to a file in the template directory and resumes it; the
 *     file is restored as the child's domain (UKF_BE_STARTED). Both wait
 *     in their fork call for complete(): the parent's answer is the
 *     child's id, the child's 0 (its own id from data/ukf-id);
 *     UKF_XEN_TIMES=1 prints each fork's save/restore times on stderr;
 *   - make_template / clone_template: libxl suspend of a domain held at
 *     ready to a file / restore of that file as a new domain;
 *   - destroy: the domain destroyed, its watcher thread joined;
 *   - export_template / load_template / template_info: the template's
 *     libxl save image as bytes (a checked header + a zstd frame) out of
 *     a node and into a peer; save_delta / restore_delta (fork across
 *     nodes): the parent saved as a local fork saves it, compressed with
 *     the node's template image as zstd's prefix, restored on the peer as
 *     the child (uxen_remote.c, docs/xen.md "Across nodes").
 * One watcher thread per domain (its console, xenstore watch, call
 * channel); events come from it (thread-safe sink). A sink without an
 * engine (ukf-xen-boot) answers calls -UKF_ENOSYS with complete().
 */
extern const struct ukf_backend_driver uxen_driver;

#endif /* UKF_UXEN_H */
