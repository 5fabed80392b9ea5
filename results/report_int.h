/* SPDX-License-Identifier: MIT */
/* report_int.h - the loaded report shared by report.c and plot.c (internal). */
#ifndef UKF_REPORT_INT_H
#define UKF_REPORT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "stats.h"

#define LEVEL 0.95

/* Per-run figures of a scenario run. */
enum metric {
	M_REQUESTS,
	M_SUCCESS,
	M_FAILED,
	M_FAILED_FRAC,
	M_UNFINISHED,
	M_UNFINISHED_FRAC,
	M_LAT_MEAN,
	M_LAT_P50,
	M_LAT_P95,
	M_LAT_P99,
	M_COLD,
	M_TEMPLATE,
	M_FORK,
	M_REMOTE,
	M_FAILURES,
	M_MEM,
	M_TBOOTS,   /* the engine's own template boots (template_boots) */
	M_TBOOT_S,  /* their time, seconds: sum of t_end - t_start */
	M_TBOOT_VCPU_S, /* the time times each boot's app's vcpus */
	M_TBOOT_MIB_S,  /* the time times each boot's app's memory, MiB */
	M_NODE_FAILS,   /* node-fail rows of outages */
	M_NODE_DOWN_S,  /* seconds nodes were down, summed over nodes */
	M_LINK_CUTS,    /* link-fail rows of outages */
	M_LINK_DOWN_S,  /* seconds nodes were cut off, summed over nodes */
	M_COUNT
};

enum fmt { F_COUNT, F_MS, F_FRAC, F_MIB, F_S };

struct ukf_report_metric {
	const char *label; /* text table */
	const char *key;   /* JSON */
	enum fmt fmt;
};
extern const struct ukf_report_metric ukf_report_metrics[M_COUNT];
/* p of the quantiles given with order-statistic intervals: p50, p95, p99 */
extern const double ukf_report_q[3];

struct run {
	int64_t id;
	char *kind, *scenario, *hash, *config, *backend, *version;
	char *settings; /* settings_json as stored ("" if NULL) */
	struct json_object *cmp; /* settings without seed and rep (or NULL) */
	uint64_t seed;
	int64_t rep;
	double wall_s;  /* NaN if NULL */
	int64_t events; /* -1 if NULL */
	double v[M_COUNT];
	struct ukf_ci q[3]; /* p50/p95/p99 with order-statistic CIs */
	double *lat;        /* latencies of completed requests, ms, sorted */
	size_t nlat;
	int paired; /* used while pairing */
};

struct config {
	const char *config, *backend;
	struct run **runs;
	size_t nruns;
	struct ukf_ci ci[M_COUNT];
	struct ukf_ci pooled[3]; /* quantiles of all runs' latencies pooled */
	char label[256];          /* shown: config, settings, backend */
};

struct section {
	const char *scenario, *hash;
	struct config *configs;
	size_t nconfigs;
	int mixed_backends;
};

struct report {
	const char *path;
	sqlite3 *sq;
	struct run *runs;
	size_t nruns, nscenario, nboot;
	struct section *sections;
	size_t nsections;
	int have_tboots; /* the file has template_boots (older ones do not) */
	int have_outages; /* the file has outages (older ones do not) */
	size_t width; /* text: a section's table wider than this many columns
		       * is printed in blocks of configurations (0: never) */
	char *err;
	size_t errlen;
};

/* Open r->path read-only, load its runs and group them into sections and
 * configurations with their figures. 0, or -1 with r->err set; either way
 * ukf_report_done(r) releases what was loaded. */
int ukf_report_load(struct report *r);
void ukf_report_done(struct report *r);

/* r->err from SQLite's last message ("PATH: what: message"); returns -1. */
int ukf_report_sqerr(struct report *r, const char *what);

#endif /* UKF_REPORT_INT_H */
