/* SPDX-License-Identifier: MIT */
/* backend.h - the VM operations the engine asks of a world (sim, KVM, Xen). */
#ifndef UKF_BACKEND_H
#define UKF_BACKEND_H

#include "ukf.h"

/*
 * Every operation is asynchronous: it returns 0 when accepted (or -errno
 * when refused at once, e.g. -ENOMEM, -ENOENT for a missing template), and
 * its outcome arrives later as a struct ukf_be_event, which the world hands
 * to ukf_engine_on_backend() from its event loop (never from inside the
 * call). `b` is the backend's own state; `node` is the node the operation
 * happens on (a simulated backend serves every node of the cluster, a real
 * one serves its own node only).
 *
 * Guest-visible pauses: an instance that signals ready (UKF_BE_READY) or
 * makes a call (UKF_BE_CALL) stays paused until the engine answers with
 * ops->complete(). The engine may take a template in between.
 */
struct ukf_app;
struct ukf_template_info;

enum ukf_call {
	UKF_CALL_FORK = 1,  /* no arguments; answer: child id (parent side) */
	UKF_CALL_SPAWN = 2, /* app + args; answer: new instance id */
	UKF_CALL_WAIT = 3,  /* id (0 = any), deadline; answer: id + status */
	UKF_CALL_SEND = 4,  /* dst, data; answer: 0 */
	UKF_CALL_RECV = 5,  /* deadline; answer: src + data */
	UKF_CALL_BLOCK = 6  /* deadline; answer: 0 timeout, 1 message */
};

enum ukf_be_kind {
	UKF_BE_STARTED = 1, /* the instance exists and runs (boot or clone) */
	UKF_BE_READY = 2,   /* guest called ukf_ready(); paused */
	UKF_BE_TEMPLATE = 3,/* make_template/load_template done (app, bytes) */
	UKF_BE_CALL = 4,    /* guest call (enum ukf_call); paused */
	UKF_BE_EXIT = 5,    /* guest exited (status) */
	UKF_BE_FAIL = 6,    /* failed: fault, timeout, bad pointer, ... (reason) */
	UKF_BE_CONSOLE = 7, /* a line of console output (data, len) */
	UKF_BE_DELTA = 8,   /* save_delta done: data/len is the encoded delta */
	UKF_BE_ERROR = 9    /* an accepted operation failed (op, err, reason) */
};

struct ukf_be_event {
	enum ukf_be_kind kind;
	ukf_id_t inst;        /* the instance concerned (0 for template ops) */
	uint32_t app;         /* UKF_BE_TEMPLATE: the app */
	enum ukf_call call;   /* UKF_BE_CALL */
	int64_t status;       /* UKF_BE_EXIT: exit status; UKF_BE_ERROR: -errno */
	uint64_t bytes;       /* UKF_BE_TEMPLATE: template size; DELTA: pages*4096 */
	uint64_t dirty_pages; /* READY/CALL(fork)/EXIT: pages dirtied since template */
	ukf_id_t arg_id;      /* CALL: wait id / send dst */
	ukf_ns_t deadline;    /* CALL: wait/recv/block deadline (0 = none) */
	const char *text;     /* SPAWN app name; FAIL/ERROR reason (NUL-terminated) */
	const void *data;     /* SPAWN args (NUL-term.), SEND data, CONSOLE, DELTA */
	size_t len;
	ukf_ns_t at;          /* when it happened (world time); 0 = now */
};

struct ukf_backend_ops {
	const char *name; /* "sim", "kvm", "xen" */

	/* Boot `app` cold as instance `inst` with argument string `args`. */
	int (*cold_boot)(void *b, ukf_node_id_t node, ukf_id_t inst,
			 const struct ukf_app *app, const char *args);

	/*
	 * Freeze instance `inst` (paused in ready) as the node's template of
	 * its app. Completes with UKF_BE_TEMPLATE; the instance stays paused
	 * until complete().
	 */
	int (*make_template)(void *b, ukf_node_id_t node, ukf_id_t inst,
			     uint32_t app);

	/*
	 * Install a template of `app` on `node` received from a peer (image
	 * of `bytes` bytes; data may be NULL in simulation). UKF_BE_TEMPLATE.
	 */
	int (*load_template)(void *b, ukf_node_id_t node, uint32_t app,
			     const void *data, size_t bytes);

	/* Drop the node's template of `app` (synchronous, cannot fail). */
	void (*drop_template)(void *b, ukf_node_id_t node, uint32_t app);

	/*
	 * New instance `inst` cloned from the node's template of its app,
	 * resuming from ready() as a clone with its own id and args.
	 * UKF_BE_STARTED then UKF_BE_READY.
	 */
	int (*clone_template)(void *b, ukf_node_id_t node, ukf_id_t inst,
			      const struct ukf_app *app, const char *args);

	/*
	 * Live fork on the same node: `child` gets `parent`'s current state
	 * (parent is paused in UKF_CALL_FORK). UKF_BE_STARTED for the child;
	 * the engine then completes both calls (parent: child id, child: 0).
	 */
	int (*clone_live)(void *b, ukf_node_id_t node, ukf_id_t child,
			  ukf_id_t parent);

	/*
	 * Remote fork, source side: encode `parent`'s state as a delta
	 * against its template (registers + dirtied pages). UKF_BE_DELTA.
	 */
	int (*save_delta)(void *b, ukf_node_id_t node, ukf_id_t parent);

	/*
	 * Remote fork, target side: build `child` from the node's template of
	 * `app` plus the delta. UKF_BE_STARTED for the child.
	 */
	int (*restore_delta)(void *b, ukf_node_id_t node, ukf_id_t child,
			     uint32_t app, const void *delta, size_t len,
			     uint64_t delta_bytes);

	/* Stop and free an instance (any state). Synchronous, cannot fail. */
	void (*destroy)(void *b, ukf_node_id_t node, ukf_id_t inst);

	/*
	 * Answer the call or ready the instance is paused in: `ret` is the
	 * call's return value; for WAIT `status` is the child's status; for
	 * RECV `data`/`len` the message and `src` its sender. Returns 0 or
	 * -errno (-ESRCH: no such paused instance).
	 */
	int (*complete)(void *b, ukf_node_id_t node, ukf_id_t inst, int64_t ret,
			int64_t status, ukf_id_t src, const void *data,
			size_t len);

	/*
	 * Appended: bulk state out of a backend, for another node or a file.
	 * A template leaves through export_template and enters a peer through
	 * load_template; a fork's delta needs no export op: save_delta hands
	 * it out as UKF_BE_DELTA's data/len (valid during the event only, the
	 * receiver copies it) and restore_delta takes it in on the target.
	 *
	 * Template export (synchronous): the node's template of `app` encoded
	 * in the backend's own snapshot format, exactly the bytes a peer's
	 * load_template (and template_info) accept; they name the app and the
	 * guest image it was made from, so a receiver can refuse another
	 * app's. *data is malloc'd, the caller frees it; *len is its length;
	 * *bytes the template's size as the engine counts it (what
	 * UKF_BE_TEMPLATE reported for it). A simulated backend has no bytes:
	 * *data = NULL, *len = 0, *bytes the modeled size. Returns 0, -ENOENT
	 * (no template of app on the node, or not ready yet), -ENOMEM, or
	 * another -errno (e.g. -EIO reading the template's memory). May be
	 * NULL in a backend that cannot export.
	 *
	 * Files on disk need nothing more: saving is export_template + write
	 * the bytes; loading is read the bytes + load_template.
	 */
	int (*export_template)(void *b, ukf_node_id_t node, uint32_t app,
			       void **data, size_t *len, uint64_t *bytes);

	/*
	 * Template bytes described and checked (synchronous, changes
	 * nothing): validates data[0..len) as this backend's template (format,
	 * bounds, checksum, kind) and fills *info. With `app` non-NULL, also
	 * checks that they are a template of that app: the app name they
	 * carry (bytes written before names were stamped carry none), the
	 * guest memory size and the digest of the guest image (against
	 * app->image as the backend resolves it; skipped when either side has
	 * none). Returns 0, or -EINVAL with a reason in err naming what was
	 * wrong ("truncated: ...", "a template of app 'synth', not 'hello'"),
	 * or another -errno (e.g. the app's image cannot be read). A simulated
	 * backend takes data = NULL and len = the modeled size. Worlds use it
	 * to check a file or a peer's bytes before load_template, and to
	 * learn which app a file holds.
	 */
	int (*template_info)(void *b, const struct ukf_app *app,
			     const void *data, size_t len,
			     struct ukf_template_info *info, char *err,
			     size_t errlen);
};

struct ukf_backend {
	const struct ukf_backend_ops *ops;
	void *b;
};

/*
 * Appended: ukf_be_event.dirty_pages means the same in every backend -
 * pages the instance has written since the template its memory maps (a
 * fork child: since its parent's template, so the pages copied from the
 * parent count too). READY and CALL(fork) carry it, and EXIT carries the
 * value at exit, which the engine stores as ukf_record.dirty_pages; 0 on
 * EXIT means "not known" (e.g. a cold boot with no template behind it) and
 * keeps the last value reported.
 */

/*
 * Appended: what template bytes hold (ops->template_info).
 */
struct ukf_template_info {
	char app_name[UKF_APP_NAME_MAX]; /* the app they name; "" if none */
	uint64_t bytes;     /* the template's size as the engine counts it
			       (what UKF_BE_TEMPLATE reports when loaded) */
	uint64_t mem_bytes; /* guest memory of the instance it froze */
	uint8_t image_sha256[32]; /* SHA-256 of the guest image file it was
				     booted from; has_image says if known */
	int has_image;
};

/*
 * Appended: load_template's outcome, in every backend. UKF_BE_TEMPLATE
 * (app, bytes) when installed, bytes being the template's size as the
 * engine counts it - the same figure make_template reports and
 * export_template returns, not the length of the encoded data. Bytes that
 * cannot be used (not a template, truncated, corrupted, of another app or
 * guest image than the node knows `app` by) are accepted and refused by a
 * UKF_BE_ERROR with inst 0, app, status -errno and a reason in text;
 * refused at once (-errno, no event) only for a bad call (NULL data on a
 * real backend: -EINVAL) or a lack of resources (-ENOMEM).
 */

#endif /* UKF_BACKEND_H */
