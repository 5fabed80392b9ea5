/* SPDX-License-Identifier: MIT */
/* validate_int.h - what the files of validate/ share: one side's instances and
 * the result's layout. */
#ifndef UKF_VALIDATE_INT_H
#define UKF_VALIDATE_INT_H

#include "validate.h"

#define UKF_VALIDATE_NKINDS    3 /* cold, template, fork */
#define UKF_VALIDATE_COLD_KIND 0 /* index of "cold" */
/* a side (real or simulated) of this many runs with instances or more
 * is resampled by run in the bootstrap (fewer: by request) */
#define UKF_VALIDATE_RUN_BOOT 10

/* The instances one side selected: start kind (0..2, -1 other), request-
 * to-ready in ms (NaN: never ready) and node (-1: never placed). */
struct ukf_validate_side {
	size_t n, cap, runs;
	size_t dups; /* selected runs left out: copies of an earlier one */
	size_t nscen;  /* scenarios (content hashes) of its runs */
	char scen[80]; /* that hash when nscen is 1 */
	char app[128]; /* the app its instances were limited to, or "" */
	int where; /* UKF_VALIDATE_WHERE_* they were limited to, or _ANY */
	int *kind;
	double *lat;
	int64_t *node;
	/* per instance: its times (ns; -1 none) for the phases table
	 * (phases.c) and where it started (UKF_VALIDATE_WHERE_*) */
	struct ukf_validate_times {
		int64_t request, placed, start, ready, exit;
		int where;
	} *t;
	/* the runs its instances belong to, in load order (instances come
	 * run by run): id, seed, rep and the first instance's index */
	struct ukf_validate_run {
		int64_t id, seed, rep;
		size_t first, count;
	} *run;
	size_t nrun, caprun;
};

struct ukf_validate_result {
	struct ukf_validate_side real, sim;
	int kind_present[UKF_VALIDATE_NKINDS]; /* ready in either world */
	int64_t *nodes;			       /* nodes seen, ascending */
	size_t nnodes;
	struct ukf_validate_metric *m;
	size_t nm;
	/* the simulated figures: the mean over `groups` groups of simulated
	 * runs shaped like the real side (its seeds, that many runs of each:
	 * group_runs in all); 0 groups: over all the simulated requests */
	size_t groups, group_runs;
	int groups_by_seed; /* 1: per seed; 0: chunks in (rep, seed) order */
	int real_by_run;    /* 1: the real side's runs resampled, not requests */
	int sim_by_run;	    /* 1: the simulated side's runs resampled (its
			       fractions; pooled, its quantiles too) */
	char *path; /* the database compared (phases.c reads it again) */
};

/* Where an instance started: on the node that requested it, on another
 * one, or after its template was fetched (either node); unknown when the
 * row does not say (an older database, a request never placed). */
enum {
	UKF_VALIDATE_WHERE_LOCAL = 0,
	UKF_VALIDATE_WHERE_REMOTE,
	UKF_VALIDATE_WHERE_FETCHED,
	UKF_VALIDATE_NWHERE,
	UKF_VALIDATE_WHERE_UNKNOWN = -1,
	UKF_VALIDATE_WHERE_ANY = -2 /* no --where */
};

/* "local", "remote", "fetched" for UKF_VALIDATE_WHERE_*, else
 * "unknown"; the one of those three named so, else
 * UKF_VALIDATE_WHERE_UNKNOWN. */
const char *ukf_validate_where_name(int w);
int ukf_validate_where_parse(const char *name);

/* "cold", "template", "fork" for 0..2, else NULL. */
const char *ukf_validate_kind_name(int k);
/* "p50", "p95", "p99", "cold_frac", "load"; NULL for others. */
const char *ukf_validate_stat_name(enum ukf_validate_stat s);
/* The stat named so, or -1. */
int ukf_validate_stat_parse(const char *name);

#endif /* UKF_VALIDATE_INT_H */
