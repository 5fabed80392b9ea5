/* SPDX-License-Identifier: MIT */
/* registry.h - the real backends this build has, created by name with no backend header included. */
#ifndef UKF_BACKENDS_REGISTRY_H
#define UKF_BACKENDS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "../core/backend.h"

/*
 * A world (live/, the node agent) that runs real VMs picks its backend by
 * name ("kvm", later "xen") from this registry and drives it through
 * struct ukf_backend's ops only. The registry is an explicit array in
 * registry.c, compiled in by what the build has (UKF_HAVE_KVM, ...): no
 * constructors, no linker sections. The simulated backend is not here: it
 * lives inside the simulated world.
 */

/* What every real backend is created with. */
struct ukf_backend_config {
	ukf_node_id_t node; /* the node it serves; events carry it */
	/*
	 * Event sink (required): called from the backend's own threads (vCPU
	 * threads) or from the calling thread, so it must be thread-safe; the
	 * event and what it points to are valid only during the call (a live
	 * world copies it into its loop's queue).
	 */
	void (*event)(void *u, ukf_node_id_t node, const struct ukf_be_event *ev);
	void *u;
	/*
	 * 1: a guest's ready() pauses it (UKF_BE_READY) until complete(), so
	 * the engine can take a template (what an engine needs). 0: ready()
	 * returns at once and is still reported.
	 */
	int pause_on_ready;
	int64_t run_limit_ns;   /* guest running time before it fails; 0 none */
	uint32_t max_vms;       /* VMs alive at once; 0 = no limit */
	uint64_t max_mem_bytes; /* guest memory in all; 0 = no limit */
	uint32_t shell_pool;    /* VM shells kept pre-created; 0 = none */
};

/* cfg zeroed, pause_on_ready = 1 (an engine's backend). */
void ukf_backend_config_default(struct ukf_backend_config *cfg);

/* One real backend. */
struct ukf_backend_driver {
	const char *name;    /* "kvm": what --backend takes */
	const char *summary; /* one line for --help listings */
	/*
	 * The build tree's directory of its guest images ("guest" for KVM:
	 * build/guest/NAME). A world's default image rule (an app with no
	 * image boots DIR/NAME found next to the program, as live's
	 * ukf_live_image_path does) looks there.
	 */
	const char *image_dir;
	/* 1 if the backend can run here; 0 with the reason in why (e.g.
	 * "cannot open /dev/kvm: No such file or directory"). */
	int (*available)(char *why, size_t len);
	/*
	 * Create an instance of the backend serving cfg->node: 0 with *out
	 * filled (ops and state), or -1 with a message in err. The caller
	 * releases it with destroy().
	 */
	int (*create)(const struct ukf_backend_config *cfg,
		      struct ukf_backend *out, char *err, size_t errlen);
	/* Stop every VM it still runs, free it, zero *be. NULL-safe. */
	void (*destroy)(struct ukf_backend *be);
	/*
	 * 1 if the file at path is a guest image this backend can boot (for
	 * registering every guest app of a directory), else 0 with the
	 * reason in why (not a regular file, not an ELF, wrong machine, bad
	 * segments...).
	 */
	int (*is_image)(const char *path, char *why, size_t len);
};

/* The driver called name, or NULL (name NULL or unknown). */
const struct ukf_backend_driver *ukf_backend_driver_find(const char *name);

/* Every driver of this build: *list gets the array; returns its length. */
size_t ukf_backend_drivers(const struct ukf_backend_driver *const **list);

/*
 * The drivers' names joined by ", " into buf ("kvm"; "none" for a build
 * without any), for messages and --help. Returns the length it needed
 * (as snprintf does).
 */
int ukf_backend_driver_names(char *buf, size_t len);

/*
 * Find the driver called name, check that it is available and create a
 * backend from cfg into *out. Returns the driver (whose destroy() releases
 * *out), or NULL with err saying why: "unknown backend 'x' (known: kvm)",
 * "backend kvm is not available here: cannot open /dev/kvm: ...", or the
 * driver's own creation error.
 */
const struct ukf_backend_driver *
ukf_backend_open(const char *name, const struct ukf_backend_config *cfg,
		 struct ukf_backend *out, char *err, size_t errlen);

#endif /* UKF_BACKENDS_REGISTRY_H */
