/* SPDX-License-Identifier: MIT */
/* live_int.h - the live world's internals, shared by live.c (loop, env, world ops) and live_tdir.c (templates on disk). */
#ifndef UKF_LIVE_INT_H
#define UKF_LIVE_INT_H

#include <stdint.h>
#include <time.h>

#include "../backends/registry.h"
#include "../core/dir.h"
#include "../core/engine.h"
#include "evq.h"
#include "live.h"

enum lw_kind { LW_AT = 1, LW_TIMER = 2, LW_MSG = 3, LW_SAMPLE = 4 };

struct lw_ev {
	ukf_ns_t t;
	uint64_t seq; /* equal times run in scheduling order */
	enum lw_kind kind;
	union {
		struct {
			ukf_world_fn fn;
			void *arg;
			uint64_t x;
		} at;
		struct {
			ukf_node_id_t node;
			uint64_t cookie;
		} timer;
		struct {
			ukf_node_id_t from, to;
			uint16_t type;
			void *buf; /* body, then bulk_len bulk bytes */
			size_t len, bulk_len;
		} msg;
	} u;
};

/* What a template file of an app is to this node (live_tdir.c). */
enum lw_tfile { LW_TF_NONE = 0, LW_TF_LOADING, LW_TF_LOADED, LW_TF_CHANGED };

struct live_world {
	struct ukf_live_config cfg;
	char fatal[160]; /* the engine cannot go on: run() fails with this */
	struct ukf_world_sinks sinks;
	struct ukf_world_ops ops;   /* lw_world_ops, named after the backend */
	ukf_ns_t t0;		    /* world time 0 on `clock` */
	clockid_t clock;	    /* CLOCK_MONOTONIC, or REALTIME (epoch) */
	ukf_ns_t mono0;		    /* world time 0 on CLOCK_MONOTONIC */
	uint32_t next_id;	    /* the count in this node's ids */
	const struct ukf_backend_driver *drv;
	struct ukf_backend be;
	struct ukf_env env;
	ukf_engine_t *eng;
	ukf_apps_t *apps;
	int started;
	ukf_dir_t *dir;
	ukf_evq_t *q;
	struct lw_ev *heap;
	size_t n, cap;
	uint64_t seq;
	size_t keepalive; /* LW_AT and LW_MSG entries in the heap */
	uint64_t events;
	uint64_t rng_ctr;
	int in_run;
	void (*sample)(void *u, const struct ukf_world_sample *s);
	int sampling; /* an LW_SAMPLE entry is in the heap */
	unsigned char own_rec[512]; /* the node's record as last published */
	size_t own_len;
	/* templates on disk (live_tdir.c) */
	int tdir_loaded; /* ukf_live_load_templates ran (or was tried) */
	uint8_t *tfile;	 /* by app: enum lw_tfile */
	uint64_t *tfile_ver; /* by app: the version of the bytes loaded */
	uint32_t ntfile;
};

/* World time now. */
ukf_ns_t lw_now(void *w);
/* A world's log line and warning (stderr + the log sink). */
void lw_warn(struct live_world *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The live world behind a struct ukf_world, or NULL with "not a live
 * world" in err. */
struct live_world *lw_of(struct ukf_world *world, char *err, size_t errlen);
/*
 * A backend event on its way to the engine, seen first by the template
 * dir code: 1 if it was one of its own loads (consumed), 0 to pass on.
 */
int lw_tdir_event(struct live_world *w, const struct ukf_be_event *ev);
int lw_load_templates(struct live_world *w, char *err, size_t errlen);
int lw_save_templates(struct live_world *w, char *err, size_t errlen);
/*
 * The template dir's file rules (docs/security.md), each testable alone.
 * lw_tdir_dir_ok: dir is a directory owned by this effective user and
 * writable by nobody else; 0, or -1 with the reason in why.
 * lw_tdir_read_file: a template file's bytes (*data malloc'd, the caller
 * frees): a regular file (a FIFO or device is refused without blocking, a
 * symlink is not followed) owned by this user, writable by nobody else, no
 * larger than any template; 0, or -1 with the reason in why.
 * lw_tdir_write: bytes to DIR/NAME.ukft through a new temporary file
 * (O_EXCL, mode 0600: a planted file or symlink is never opened) renamed
 * over it; 0, or -1 with the reason in why.
 */
int lw_tdir_dir_ok(const char *dir, char *why, size_t whylen);
int lw_tdir_read_file(const char *path, void **data, size_t *len, char *why,
		      size_t whylen);
int lw_tdir_write(const char *dir, const char *name, const void *data,
		  size_t len, char *why, size_t whylen);

#endif /* UKF_LIVE_INT_H */
