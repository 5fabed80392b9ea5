/* SPDX-License-Identifier: MIT */
/* live.h - the live world: real clock, event loop, a real backend. */
#ifndef UKF_LIVE_H
#define UKF_LIVE_H

#include "../core/world.h"


/*
 * The embedded default: one in-process node agent (node 0) with a real
 * clock (CLOCK_MONOTONIC) and the KVM backend, no daemons. Backend events
 * arrive from vCPU threads and are queued to the loop thread; the engine
 * only ever runs on the loop thread (the one calling ops->run).
 */
struct ukf_live_config {
	struct ukf_engine_config engine; /* engine.nodes must be 1 */
	const char *backend;             /* "kvm" */
	ukf_ns_t run_limit_ns;           /* per-guest deadline (0 = none) */
	ukf_ns_t sample_every_ns;        /* node samples (0 = off) */
	/*
	 * Appended (H9): templates on disk, so a node restarts warm. NULL
	 * = off. See ukf_live_load_templates / ukf_live_save_templates.
	 */
	const char *template_dir;
};
void ukf_live_config_default(struct ukf_live_config *c);

/* Create; 0 and *world filled, or -1 with a message (e.g. no /dev/kvm). */
int ukf_live_create(struct ukf_world *world, const struct ukf_live_config *cfg,
		    const struct ukf_world_sinks *sinks, char *err,
		    size_t errlen);

/*
 * Appended by live/ (H7):
 *
 * World time is CLOCK_MONOTONIC minus the time the world was created, so a
 * live run starts near 0 like a simulated one; backend events are stamped
 * with world time when the monitor reports them, and guest deadlines the
 * monitor reports (CLOCK_MONOTONIC, ukvm_now()) are converted to world time.
 * The caller registers apps (ops->add_app) and then calls ops->start, as
 * with the simulated world. An app whose image
 * is "" boots ukf_live_image_path(app name). Node 0 is the only node:
 * env->send delivers to node 0 through the loop, the directory is one view
 * and publish applies at once. run() returns when no instance is alive and
 * no world callback (`at`) or message is pending and no engine timer is
 * due within max(1 s, 128 x engine.retry_ns) (a request waiting to be
 * retried keeps the world running; a stale deadline far ahead does not),
 * when `until` passes, or when *stop is set.
 */

/*
 * The default image of app `name`: $UKF_GUEST_DIR/NAME if that variable is
 * set, else DIR/guest/NAME where DIR holds the running executable
 * (/proc/self/exe: build/ukfork finds build/guest/NAME), also tried one
 * and two levels further up (so programs in build/live/ or build/tests/X/
 * find build/guest/NAME too). Writes the first path
 * that exists (or the first candidate if none does) into buf; returns 0,
 * or -1 if it does not fit.
 */
int ukf_live_image_path(const char *name, char *buf, size_t cap);

/*
 * Node samples for a live world (cfg.sample_every_ns > 0): every period,
 * while run() runs, sample(sinks.u, s) gets node 0's engine statistics, in
 * the same struct as the simulated world's samples. Call before run();
 * NULL turns samples off. Returns 0, or -1 if `world` is not a live world.
 */
int ukf_live_set_sampler(struct ukf_world *world,
			 void (*sample)(void *u, const struct ukf_world_sample *s));

/*
 * Appended by H9: every guest image of a directory as an app, so a guest's
 * ukf_spawn("hello") finds the app "hello". Registers in world (before
 * ops->start) each
 * regular file of dir that is an ELF image and whose file name is a valid
 * app name not registered yet (ukf_app_parse defaults; image = its path),
 * in name order. Returns the number registered (>= 0), or -1 with a
 * message in err (dir unreadable, engine refused an app).
 */
int ukf_live_add_guest_apps(struct ukf_world *world, const char *dir,
			    char *err, size_t errlen);

/*
 * Appended by H9: templates on disk (cfg.template_dir; both return -1 with
 * "no template dir" in err if it is not set or world is not a live world).
 *
 * Each template is DIR/APP.ukft, a snapshot of kind TEMPLATE whose meta
 * names APP (ukvm_template_save_as).
 *
 * load: install every DIR/NAME.ukft whose NAME is a registered app into the
 * backend and tell the engine the node holds it (ukf_engine_template_loaded),
 * so spawns of NAME clone it instead of booting cold. Call after the apps
 * are registered, before ops->start; run() calls it itself the first
 * time if nobody did. A file that cannot be used (not a snapshot,
 * truncated, corrupted, for another app, of another memory size than the
 * app's, older than the app's image, for no registered app, refused by
 * the engine) is skipped with a warning naming it (stderr, and the world's
 * log sink); the node goes on. A missing DIR loads nothing. Returns the
 * number installed; -1 + err only for a bad call or an unreadable DIR.
 *
 * save: write every template the node's backend holds to DIR/APP.ukft
 * (atomically; DIR created if missing). The world's destroy calls it when
 * template_dir is set. Returns the number written; failures are warnings
 * naming the file (stderr and log), -1 + err only for a bad call or when
 * DIR cannot be created.
 */
int ukf_live_load_templates(struct ukf_world *world, char *err, size_t errlen);
int ukf_live_save_templates(struct ukf_world *world, char *err, size_t errlen);

#endif /* UKF_LIVE_H */
