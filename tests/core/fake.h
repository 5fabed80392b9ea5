/* SPDX-License-Identifier: MIT */
/* fake.h - a small deterministic world and backend for the engine's tests. */
#ifndef UKF_TEST_FAKE_H
#define UKF_TEST_FAKE_H

#include <stdio.h>

#include "core/dir.h"
#include "core/engine.h"

/*
 * Virtual time, a binary-heap event queue, fixed costs, one shared
 * directory view (updates applied after dir_delay), messages delivered
 * after `latency`. The backend runs the synth app like sim/ does (STARTED,
 * READY, units with `fork` forks and their waits, EXIT 0); apps whose name
 * starts with "manual" stop after READY and are driven by the test with
 * fake_call()/fake_exit(); "noready*" apps never call ready() at all.
 */
#define FAKE_MAX_INST 4096

struct fake_rec {
	struct ukf_record r;
	char app[64];
	char why[128];
};

struct fake_inst {
	int used, alive, node, manual, is_child;
	uint32_t app;
	int pause; /* 0 running, 1 ready, 2 call */
	enum ukf_call call;
	uint32_t units_done, forks_issued, children, waits_done;
	int64_t last_ret, last_status;
	ukf_id_t last_src;
	char last_data[256];
	size_t last_len;
	int ncomplete;
	uint32_t gen;
	uint32_t tcrc; /* the template its memory maps (0: none) */
};

struct fake_world {
	ukf_ns_t now;
	void *heap;
	size_t nheap, capheap;
	uint64_t seq;
	ukf_dir_t *dir;
	ukf_ns_t latency, dir_delay;
	ukf_engine_t **eng; /* one per node */
	uint32_t nnodes;
	ukf_apps_t *apps;
	ukf_id_t next_id;
	/* env->fatal calls (an engine ran out of memory), and the last one's */
	unsigned fatal_calls;
	ukf_node_id_t fatal_node;
	struct ukf_env env;
	struct ukf_backend be;
	struct ukf_engine_hooks hooks;
	uint64_t rng;
	double *uniform_script; /* if set: uniform() returns these in turn */
	size_t nuniform, iuniform;
	struct fake_rec *recs;
	size_t nrecs, caprecs;
	char *log;
	size_t loglen, logcap;
	int verbose;
	int overcommit; /* a node's use went over its capacity */
	int check_every_event;
	uint64_t events;
	uint64_t ready_hooks, exit_hooks, fail_hooks;
	struct fake_inst inst[FAKE_MAX_INST];
	uint64_t
	    templates[256]; /* (node << 32 | app) + 1 held by the backend */
	/* each one's checksum, as the KVM backend's: a template made on a
	 * node is its own (a fresh value), a loaded one keeps its source's;
	 * a delta names the one it was taken against and a restore onto
	 * another is refused with -ESTALE, as KVM refuses it */
	uint32_t tcrc[256];
	uint32_t next_crc;
	uint64_t stale_refusals; /* restores refused so (-ESTALE) */
	size_t ntemplates;
	uint64_t msgs, msg_bytes, bulk_bytes;
	int fail_clone_template; /* make clone_template refuse (-ENOMEM) */
	int fail_clone_live;	 /* ... clone_live */
	int fail_restore;	 /* ... restore_delta */
	/* more refusals at once (-ENOMEM), each of one backend op */
	int fail_cold_boot, fail_make_template, fail_load_template,
	    fail_save_delta;
	/* accepted, then failed: make/load_template end in a UKF_BE_ERROR
	 * (inst 0, app, -EIO) instead of UKF_BE_TEMPLATE; save_delta in a
	 * UKF_BE_ERROR for the parent instead of UKF_BE_DELTA */
	int error_template, error_save_delta;
	uint64_t drop_to;	 /* bit n: messages to node n vanish */
	ukf_ns_t delay_to[8];	 /* extra latency of messages to node n */
};

/* Create the world and one engine per node (cfg->nodes; cfg->self is
 * ignored). NULL + err on error. */
struct fake_world *fake_create(const struct ukf_engine_config *cfg, char *err,
			       size_t errlen);
void fake_destroy(struct fake_world **fw);
/* Register an app parsed from key=value; returns its id or -1. */
int fake_app(struct fake_world *fw, const char *name, const char *kv);
/* Run events until the queue is empty or time `until`. */
void fake_run(struct fake_world *fw, ukf_ns_t until);
/* Drive a manual instance: a guest call / an exit, delivered now. */
void fake_call(struct fake_world *fw, ukf_id_t id, enum ukf_call call,
	       ukf_id_t arg, ukf_ns_t deadline, const void *data, size_t len,
	       const char *text);
void fake_exit(struct fake_world *fw, ukf_id_t id, int64_t status);
/* The same with the backend's dirty-page count: an EXIT / a FORK call
 * carrying ukf_be_event.dirty_pages. */
void fake_exit_dirty(struct fake_world *fw, ukf_id_t id, int64_t status,
		     uint64_t dirty_pages);
void fake_fork_dirty(struct fake_world *fw, ukf_id_t id, uint64_t dirty_pages);
/* Instance id fails in the backend now: a UKF_BE_FAIL (error = 0) or a
 * UKF_BE_ERROR (error = -errno) with reason `why`. */
void fake_fail(struct fake_world *fw, ukf_id_t id, int error, const char *why);
/* The backend of `node` holds a template of `app` installed outside the
 * engine (as a world loading one from disk does before telling the engine
 * with ukf_engine_template_loaded). */
void fake_hold_template(struct fake_world *fw, ukf_node_id_t node,
			uint32_t app);
/* The checksum of the template of `app` the backend of `node` holds (0:
 * none): two nodes that each made one hold two different ones. */
uint32_t fake_template_crc(const struct fake_world *fw, ukf_node_id_t node,
			   uint32_t app);
/* 1 if the backend of `node` holds a template of `app`. */
int fake_has_template(const struct fake_world *fw, ukf_node_id_t node,
		      uint32_t app);
/* Deliver raw bytes as the body of a message of `type` to node `to`. */
void fake_raw_message(struct fake_world *fw, ukf_node_id_t to,
		      ukf_node_id_t from, uint16_t type, const void *buf,
		      size_t len);
/* The world's door to its node engines, as core/world.h's ops are. */
ukf_engine_t *fake_engine(struct fake_world *fw, ukf_node_id_t node);
int fake_start(struct fake_world *fw);
int fake_spawn(struct fake_world *fw, ukf_node_id_t origin, uint32_t app,
	       const char *args, uint64_t tag, ukf_id_t *id);
int fake_fork(struct fake_world *fw, ukf_id_t parent, uint64_t tag,
	      ukf_id_t *id);
int fake_kill(struct fake_world *fw, ukf_id_t id);
uint64_t fake_alive(const struct fake_world *fw);
int fake_stats(struct fake_world *fw, ukf_node_id_t node,
	       struct ukf_node_stats *s);
size_t fake_templates(struct fake_world *fw, ukf_node_id_t node, char *buf,
		      size_t cap);
void fake_set_alloc_hook(struct fake_world *fw, int (*fail)(void *u),
			 void *u);
/* The record of id, or NULL. */
const struct fake_rec *fake_rec(const struct fake_world *fw, ukf_id_t id);
/* Number of log lines containing `s`. */
int fake_log_count(const struct fake_world *fw, const char *s);

/* One test of a program built on the fake world: it counts its failures. */
struct fake_test {
	const char *name;
	void (*fn)(void);
};

/*
 * main() of such a program: "--list" prints the names of tests[0..n);
 * "--run NAME" runs that one, no arguments all of them, each printed as
 * "ok   NAME" or "FAIL NAME" by whether *failures grew. Returns the exit
 * code: 0 all passed, 1 any failed, 2 (with a usage line naming prog)
 * when nothing ran.
 */
int fake_test_main(const struct fake_test *tests, size_t n,
		   const int *failures, const char *prog, int argc,
		   char **argv);

/*
 * Checks of the programs built on the fake world, which define their own
 * `static int failures`: CHECK and CHECKF are selftest.h's counting ones
 * (say where and what on stderr, count one more failure, go on); CHECK_EQ
 * also prints both values.
 */
#define SELFTEST_COUNTING
#include "tests/common/selftest.h"

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_) {                                                \
			fprintf(stderr,                                        \
				"%s:%d: %s == %lld, expected %s == %lld\n",    \
				__FILE__, __LINE__, #a, a_, #b, b_);           \
			failures++;                                            \
		}                                                              \
	} while (0)

#endif /* UKF_TEST_FAKE_H */
