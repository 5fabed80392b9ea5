/* SPDX-License-Identifier: MIT */
/* live.h - the live world: real clock, event loop, any registered backend; one node, alone or in a cluster. */
#ifndef UKF_LIVE_H
#define UKF_LIVE_H

#include <stddef.h>

#include "../core/world.h"

/*
 * One node's engine against real time and a real backend, created by name
 * from the backend registry (backends/registry.h): live/ names no backend.
 * Backend events arrive on the backend's threads and are queued to the
 * loop; the engine only ever runs on the loop thread (the one calling
 * ops->run).
 *
 * Alone (net == NULL, the embedded default of `ukfork run --backend kvm`
 * and `ukfork exec`) the world is node 0 of a one-node cluster. In a
 * cluster (the node agent, ukforkd) it is node engine.self of
 * engine.nodes, and reaches its peers through `net`: messages to other
 * nodes go out through net->send, the node's own directory record through
 * net->publish, and the agent feeds what arrives back in with
 * ukf_live_deliver / ukf_live_dir_apply / ukf_live_peer_down.
 */
struct ukf_live_net {
	/* Send a message (core/wire.h: type, body, bulk) to node `to`; the
	 * net copies. 0 or -errno. */
	int (*send)(void *u, ukf_node_id_t to, uint16_t type, const void *body,
		    size_t len, const void *bulk, size_t bulk_len);
	/* The node's own directory record changed (encoded): tell peers. */
	void (*publish)(void *u, const void *rec, size_t len);
	/*
	 * Wait at most timeout_ns (< 0: no limit) for the network or for
	 * `fd` (the backend event queue's eventfd) to have something, and
	 * handle what arrived from the network (calling ukf_live_deliver
	 * etc.). Returns >= 0, or -1 with errno (EINTR: a signal).
	 */
	int (*wait)(void *u, int fd, int64_t timeout_ns);
	void *u;
};

struct ukf_live_config {
	/* engine.nodes: the cluster's nodes (1 alone); engine.self: ours */
	struct ukf_engine_config engine;
	const char *backend;             /* registry name, default "kvm" */
	ukf_ns_t run_limit_ns;           /* per-guest deadline (0 = none) */
	ukf_ns_t sample_every_ns;        /* node samples (0 = off) */
	/*
	 * Templates on disk, so a node restarts warm. NULL = off. See
	 * ukf_live_load_templates / ukf_live_save_templates.
	 */
	const char *template_dir;
	/* Appended: a node of a cluster (NULL: alone). Kept, not copied. */
	const struct ukf_live_net *net;
	/* Appended: run() returns only at `until` or *stop, never when idle
	 * (a daemon serving a run). */
	int serve;
	/*
	 * Appended: world time 0 as CLOCK_REALTIME ns, so the nodes of a
	 * cluster stamp records on one time line (as good as their clocks'
	 * synchronisation; on one machine exact). 0: the world's creation,
	 * on CLOCK_MONOTONIC.
	 */
	int64_t epoch_realtime_ns;
};
void ukf_live_config_default(struct ukf_live_config *c);

/* Create; 0 and *world filled, or -1 with a message (unknown backend,
 * backend unavailable here, bad configuration). */
int ukf_live_create(struct ukf_world *world, const struct ukf_live_config *cfg,
		    const struct ukf_world_sinks *sinks, char *err,
		    size_t errlen);

/*
 * World time is CLOCK_MONOTONIC minus the time the world was created (or
 * CLOCK_REALTIME minus cfg.epoch_realtime_ns), so a live run starts near 0
 * like a simulated one; backend events are stamped with world time when
 * the backend reports them, and guest deadlines it reports
 * (CLOCK_MONOTONIC) are converted to world time. The caller registers apps
 * (ops->add_app; an app whose image is "" boots ukf_live_image_path(name),
 * resolved at registration) and then calls ops->start, as with the
 * simulated world. Alone, env->send delivers to node 0 through the loop,
 * the directory is one view and publish applies at once. run() returns
 * when no instance is alive and no world callback (`at`) or message is
 * pending and no engine timer is due within max(1 s, 128 x
 * engine.retry_ns) (a request waiting to be retried keeps the world
 * running; a stale deadline far ahead does not) - unless cfg.serve - when
 * `until` passes, or when *stop is set.
 */

/*
 * The default image of app `name`: $UKF_GUEST_DIR/NAME if that variable is
 * set, else DIR/guest/NAME where DIR holds the running executable
 * (/proc/self/exe: build/ukfork finds build/guest/NAME), also tried one
 * and two levels further up (so programs in build/live/ or build/tests/X/
 * find build/guest/NAME too). Writes the first path that exists (or the
 * first candidate if none does) into buf; returns 0, or -1 if it does not
 * fit. ("guest" is the KVM driver's image_dir; ukf_live_image_path_in
 * takes another.)
 */
int ukf_live_image_path(const char *name, char *buf, size_t cap);
int ukf_live_image_path_in(const char *image_dir, const char *name,
			   char *buf, size_t cap);

/*
 * Node samples (cfg.sample_every_ns > 0): every period, while run() runs,
 * sample(sinks.u, s) gets the node's engine statistics, in the same struct
 * as the simulated world's samples. Call before run(); NULL turns samples
 * off. Returns 0, or -1 if `world` is not a live world.
 */
int ukf_live_set_sampler(struct ukf_world *world,
			 void (*sample)(void *u, const struct ukf_world_sample *s));

/*
 * Every guest image of a directory as an app, so a guest's
 * ukf_spawn("hello") finds the app "hello". Registers in world (before
 * ops->start) each regular file of dir that the world's backend takes for
 * a guest image (its driver's is_image) and whose file name is a valid app
 * name not registered yet (ukf_app_parse defaults; image = its path), in
 * name order. Returns the number registered (>= 0), or -1 with a message
 * in err (dir unreadable, world refused an app).
 */
int ukf_live_add_guest_apps(struct ukf_world *world, const char *dir,
			    char *err, size_t errlen);
/* The same in any world (the cluster world of agent/client.h too), with
 * the is_image of the registry's backend `backend`. */
int ukf_live_add_guest_apps_as(struct ukf_world *world, const char *backend,
			       const char *dir, char *err, size_t errlen);

/*
 * Templates on disk (cfg.template_dir; both return -1 with "no template
 * dir" in err if it is not set, "not a live world" if world is not one).
 *
 * Each template is DIR/APP.ukft: the bytes the backend's export_template
 * gave for APP.
 *
 * load: every DIR/NAME.ukft whose NAME is a registered app is checked by
 * the backend (template_info against the app: format, checksum, app name,
 * memory size, guest image), installed (load_template) and adopted by the
 * engine (ukf_engine_template_loaded), so spawns of NAME clone it instead
 * of booting cold. Call after the apps are registered, before ops->start;
 * run() calls it itself the first time if nobody did. A file that cannot
 * be used (not a regular file, unreadable, not a template, truncated,
 * corrupted, of another app, memory size or image, for no registered app,
 * refused by the engine) is skipped with a warning naming it (stderr, and
 * the world's log sink); the node goes on. A missing DIR loads nothing.
 * Returns the number installed; -1 + err only for a bad call or an
 * unreadable DIR.
 *
 * save: every template the node holds that did not come unchanged from its
 * file is exported and written to DIR/APP.ukft (a new file in DIR renamed
 * over it; DIR created if missing). The world's destroy calls it when
 * template_dir is set. Returns the number written; failures are warnings
 * naming the file (stderr and log), -1 + err only for a bad call or when
 * DIR cannot be created.
 */
int ukf_live_load_templates(struct ukf_world *world, char *err, size_t errlen);
int ukf_live_save_templates(struct ukf_world *world, char *err, size_t errlen);

/*
 * A node of a cluster (cfg.net): what the agent feeds in from the network,
 * on the loop thread (from net->wait). Each returns 0, or -1 if world is
 * not a live world in a cluster.
 *
 * deliver: a message from node `from` (core/wire.h type, body, bulk), for
 *   the engine (copied as needed).
 * dir_apply: a peer's directory record (encoded by core/dir.c), applied to
 *   this node's view if newer than the one held.
 * peer_down: peer `node` is gone (lost, or restarted as a new incarnation):
 *   its record leaves the view and the engine settles what it had in
 *   flight there (ukf_engine_peer_down).
 */
int ukf_live_deliver(struct ukf_world *world, ukf_node_id_t from,
		     uint16_t type, const void *body, size_t len,
		     const void *bulk, size_t bulk_len);
int ukf_live_dir_apply(struct ukf_world *world, const void *rec, size_t len);
int ukf_live_peer_down(struct ukf_world *world, ukf_node_id_t node,
		       const char *why);
/*
 * The link to node went down (or its agent restarted) while the directory
 * keeps its record: where membership is a replicated directory's (etcd),
 * a node stays placeable until the directory drops it. Requests in flight
 * there are placed again; the record is left alone. 0, or -1.
 */
int ukf_live_peer_link_down(struct ukf_world *world, ukf_node_id_t node,
			    const char *why);
/* The node's instances alive and requests pending (placing, retrying,
 * in flight): 0, or -1 if not a live world. */
int ukf_live_activity(struct ukf_world *world, uint64_t *alive,
		      uint64_t *pending);

/* The node's own directory record as last published (encoded), for a
 * peer that just came up; returns its length, 0 if none yet. */
size_t ukf_live_own_record(struct ukf_world *world, void *buf, size_t cap);

#endif /* UKF_LIVE_H */
