/* SPDX-License-Identifier: MIT */
/* env.h - everything the engine needs from the world it runs in. */
#ifndef UKF_ENV_H
#define UKF_ENV_H

#include "ukf.h"

struct ukf_dir;     /* core/dir.h: the cluster directory (key-value view) */
struct ukf_record;  /* core/engine.h: a finished instance's row */

/*
 * The engine never reads a clock, opens a socket or sleeps: it calls these.
 * The simulated world (sim/) implements them with a virtual clock and an
 * event queue; the live world (live/) with CLOCK_MONOTONIC, an event loop
 * and (between processes) ZeroMQ. `w` is the world's own state.
 *
 * Callbacks into the engine (ukf_engine_on_*) are made by the world from its
 * event loop, never from inside one of these calls.
 */
struct ukf_env_ops {
	/* Current time in ns (virtual or monotonic). */
	ukf_ns_t (*now)(void *w);

	/*
	 * One-shot timer for node `node` at absolute time `at` (>= now). On
	 * expiry the world calls ukf_engine_on_timer(e, node, cookie).
	 * Returns 0 or -errno. Timers cannot be cancelled: the engine ignores
	 * stale cookies.
	 */
	int (*timer)(void *w, ukf_node_id_t node, ukf_ns_t at, uint64_t cookie);

	/*
	 * Send a message from node `from` to node `to`: its type and encoded
	 * body (core/wire.h), and its bulk bytes (a delta, a template, a
	 * payload; NULL/0 if none), which travel beside the body in their own
	 * frames. `bulk_bytes` is the size the bulk stands for (dirty pages,
	 * a template image; in simulation the bytes are not all there): the
	 * simulated network charges transfer time for len + bulk_bytes. The
	 * world copies body and bulk. Delivery: ukf_engine_on_message(e, to,
	 * from, type, body, len, bulk, bulk_len). Returns 0 or -errno.
	 */
	int (*send)(void *w, ukf_node_id_t from, ukf_node_id_t to,
		    uint16_t type, const void *body, size_t len,
		    const void *bulk, size_t bulk_len, uint64_t bulk_bytes);

	/*
	 * Random number uniform in [0, 1) from the stream keyed by `key`
	 * (common random numbers: a stream is keyed by what it drives, e.g.
	 * UKF_RNG_KEY(UKF_RNG_PLACEMENT, node)).
	 */
	double (*uniform)(void *w, uint64_t key);

	/*
	 * The directory as node `node` currently sees it (possibly stale).
	 * The pointer stays valid for the engine's lifetime.
	 */
	const struct ukf_dir *(*directory)(void *w, ukf_node_id_t node);

	/*
	 * Publish node `node`'s own directory record (the world copies it);
	 * other nodes see it after the world's propagation delay.
	 */
	void (*publish)(void *w, ukf_node_id_t node, const void *rec,
			size_t len);

	/* A finished instance's row, for the results database. May be NULL. */
	void (*record)(void *w, const struct ukf_record *r);

	/*
	 * One line of the event log (no trailing newline), for golden-log
	 * tests and --trace. May be NULL (logging off: the engine then skips
	 * formatting entirely).
	 */
	void (*log)(void *w, ukf_node_id_t node, const char *line);

	/*
	 * Appended: a new instance id for the engine of node `node`: never
	 * 0, unique across the cluster and the run, below 2^48 (timer
	 * cookies keep 48 bits of it). May be NULL: the engine then counts
	 * (node << 32) | n itself.
	 */
	ukf_id_t (*new_id)(void *w, ukf_node_id_t node);

	/*
	 * Appended: the engine of node `node` cannot go on (it ran out of
	 * memory; the request at hand was refused with -ENOMEM). The world
	 * should end the run with `why` rather than let it limp on. Called
	 * once per engine. May be NULL.
	 */
	void (*fatal)(void *w, ukf_node_id_t node, const char *why);
};

struct ukf_env {
	const struct ukf_env_ops *ops;
	void *w;
};

/* Random stream keys: what a stream drives, and for which node/app. */
enum ukf_rng_kind {
	UKF_RNG_PLACEMENT = 1,
	UKF_RNG_ARRIVALS = 2,
	UKF_RNG_SERVICE = 3,
	UKF_RNG_NETWORK = 4,
	UKF_RNG_SCRIPT = 5,
	UKF_RNG_BACKEND = 6,
	UKF_RNG_DIRECTORY = 7
};
#define UKF_RNG_KEY(kind, sub) (((uint64_t)(kind) << 48) | ((uint64_t)(sub) & 0xffffffffffffULL))

#endif /* UKF_ENV_H */
