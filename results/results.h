/* SPDX-License-Identifier: MIT */
/* results.h - the SQLite results database: runs, instances, samples, boots. */
#ifndef UKF_RESULTS_H
#define UKF_RESULTS_H

#include <stdio.h>
#include "../core/engine.h"

/*
 * One database file (WAL mode). A run is written in one transaction:
 * ukf_db_run_begin .. ukf_db_run_commit; a crash or ukf_db_run_abort leaves
 * no trace of it. All functions return 0 (or a positive id) on success and
 * -1 with a message retrievable by ukf_db_error() on failure.
 */
typedef struct ukf_db ukf_db_t;

ukf_db_t *ukf_db_open(const char *path, char *err, size_t errlen);
void ukf_db_close(ukf_db_t **db);
const char *ukf_db_error(const ukf_db_t *db);

/* What identifies a scenario run. Strings are copied. */
struct ukf_run_info {
	const char *kind;          /* "scenario" or "bootbench" */
	const char *scenario;      /* path of the Lua file (or command line) */
	const char *scenario_hash; /* hex digest of its contents */
	const char *config;        /* label of the sweep point, e.g. "placement=random" */
	const char *settings_json; /* every setting of this run, as JSON */
	uint64_t seed;
	uint32_t rep;              /* replication number */
	const char *backend;       /* "sim", "kvm", "external" */
	const char *version;       /* UKF_VERSION */
	int64_t started_unix_ns;
};

/* Begin a run (opens the transaction); returns the run id (> 0) or -1. */
int64_t ukf_db_run_begin(ukf_db_t *db, const struct ukf_run_info *info);
/* One finished instance of the run (a row of instances); a record with
 * template_boot set, the engine's own boot of a template, is a row of
 * template_boots instead (not a request). */
int ukf_db_instance(ukf_db_t *db, int64_t run, const struct ukf_record *r);
/* One periodic node sample. */
struct ukf_db_sample {
	ukf_ns_t t;
	ukf_node_id_t node;
	uint32_t instances, vcpus_used;
	uint64_t mem_used, cache_used;
	const char *templates;
};
int ukf_db_sample(ukf_db_t *db, int64_t run, const struct ukf_db_sample *s);

/*
 * One node or link outage of the run at world time t (a row of outages):
 * kind "node-fail", "node-detect", "node-recover", "link-fail" or
 * "link-recover" (anything else: -1, "unknown outage kind"); reason may
 * be NULL. 0 or -1 (ukf_db_error).
 */
int ukf_db_outage(ukf_db_t *db, int64_t run, ukf_ns_t t, ukf_node_id_t node,
		  const char *kind, const char *reason);

/* One bootbench instance (kind "bootbench" runs). Times are ns since launch
 * of the whole benchmark; -1 = never happened. */
struct ukf_db_boot {
	uint32_t index;
	ukf_ns_t t_launch, t_first_output, t_marker, t_exit;
	int64_t status;          /* exit status, or -1 killed/failed */
	int ok;                  /* 1 if the marker was seen */
	double cpu_s;            /* user+system CPU seconds */
	uint64_t peak_rss_bytes; /* peak memory */
	const char *mode;        /* "cold", "template", "external" */
	const char *last_output; /* failures: the last output seen */
};
int ukf_db_boot(ukf_db_t *db, int64_t run, const struct ukf_db_boot *b);

/* End the run: summary figures stored with it (wall seconds, events). */
int ukf_db_run_commit(ukf_db_t *db, int64_t run, double wall_s,
		      uint64_t events, ukf_ns_t sim_end);
/* Drop the run (rollback). */
void ukf_db_run_abort(ukf_db_t *db, int64_t run);

/*
 * `ukfork report FILE`: per configuration statistics, 95% confidence
 * intervals across replications, paired differences between
 * configurations that share seeds. json = 1: one JSON document. Returns 0,
 * or -1 with a message in err.
 */
int ukf_report(const char *path, int json, FILE *out, char *err,
	       size_t errlen);

/*
 * ukf_report with a text width: a section's table (one column per
 * configuration) wider than `cols` display columns is printed in blocks
 * of configurations, each block with the figures' names in front and no
 * wider than `cols` unless one configuration alone is. cols 0: one
 * table however wide (as ukf_report). JSON output is the same either way.
 */
int ukf_report_width(const char *path, int json, size_t cols, FILE *out,
		     char *err, size_t errlen);

/*
 * `ukfork report FILE --plot DIR`: creates DIR (if needed) and writes
 * there, as PNG and SVG through gnuplot ($UKF_GNUPLOT, else gnuplot on
 * PATH, run as a child process on the generated DIR/plots.gp): per
 * scenario section i the latency CDF per configuration (si-latency-cdf),
 * latency and success-rate bars with 95% CI error bars (si-compare,
 * si-success), load and template hits over time (si-load,
 * si-template-hits), and a histogram per bootbench run
 * (bootbench-run<id>); the data files (.dat) beside them. One line per
 * plot on log (may be NULL). Returns 0, or -1 with a message in err
 * (gnuplot missing or failing, DIR not writable, FILE not a results
 * database). Formats of the data files: docs/report.md.
 */
int ukf_report_plot(const char *path, const char *dir, FILE *log, char *err,
		    size_t errlen);

/*
 * Details of the contract above (appended; signatures unchanged):
 * - ukf_db_open creates the file (schema version 1, WAL) or opens an
 *   existing ukfork results file; it refuses, with a message naming the
 *   file, a directory, a file that is not SQLite, a foreign SQLite file and
 *   a newer schema, and leaves such files untouched. A file it made and
 *   failed to set up (a full disk) is removed, not left empty. Free with
 *   ukf_db_close, which also aborts a run left open.
 * - One run open at a time per handle. Rows for any other run id fail.
 *   When a row fails (-1) the run stays open: the caller aborts it (or
 *   carries on; the failed row is not stored).
 * - Times equal to UKF_NS_NEVER (instances) or negative (boots) are stored
 *   as NULL. uint64 fields (seed, ids, byte counts) are stored in SQLite's
 *   signed 64-bit integers with their bits kept (values >= 2^63 read back
 *   negative in plain SQL). settings_json must be valid JSON or NULL.
 * - ukf_db_run_begin takes the database's write lock until commit/abort;
 *   another process's ukf_db_run_begin waits for it (up to 10 minutes),
 *   its ukf_db_open does not. Readers (ukf_report) never wait.
 * - ukf_report opens the file read-only: never creates it or changes its
 *   contents (SQLite may create the -wal/-shm side files of WAL mode).
 *   Methods (quantiles, intervals, pairing) are in docs/report.md.
 */

#endif /* UKF_RESULTS_H */
