/* SPDX-License-Identifier: MIT */
/* validate.h - `ukfork validate`: the same scenario in the real world and in
 * the simulator, compared metric by metric with bootstrap intervals and a
 * verdict. */
#ifndef UKF_VALIDATE_H
#define UKF_VALIDATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Which runs of a results database form one side (real or sim) of a
 * comparison. Every given criterion must hold (AND); none given: every
 * scenario run. Strings are borrowed for the call.
 */
struct ukf_validate_sel {
	const char *label;    /* runs.config equal to this, or NULL */
	const char *backend;  /* runs.backend equal to this, or NULL */
	int64_t id_lo, id_hi; /* runs.id in [id_lo, id_hi]; 0, 0: any */
	const char *app;      /* instances of this app only, or NULL */
	const char *where;    /* instances started there only: "local"
				 (the requesting node), "remote" (another),
				 "fetched" (after a template fetch), or NULL */
};

/* Statistics a metric can be (the names --metrics takes). */
enum ukf_validate_stat {
	UKF_VALIDATE_P50 = 0, /* median request-to-ready of a start kind */
	UKF_VALIDATE_P95,
	UKF_VALIDATE_P99,
	UKF_VALIDATE_COLD, /* cold-start fraction of all instances */
	UKF_VALIDATE_LOAD, /* fraction of the instances placed on a node */
	UKF_VALIDATE_NSTATS
};

/* One compared figure. err = (sim - real) / real (0 when both are 0, NaN
 * when real is 0 and sim is not, or a side has no value). */
struct ukf_validate_metric {
	char name[40]; /* e.g. "cold p50 (ms)", "load node 1" */
	enum ukf_validate_stat stat;
	double real, sim;	    /* NaN: no value on that side */
	size_t n_real, n_sim;	    /* values each figure comes from */
	double err, err_lo, err_hi; /* error and its bootstrap interval */
	int checked;		    /* 1: the threshold applies to it */
	int exceeded;		    /* 1: checked and |err| > threshold or
				       present on one side only */
	int thin; /* 1: a quantile with an interval, fewer than 5 values
		     beyond it on a side (n * (1 - p) < 5; the simulated n
		     per group when grouped): the interval is too narrow */
};

/* How to compare. */
struct ukf_validate_opts {
	double threshold;   /* relative, e.g. 0.05 */
	unsigned checked;   /* bit (1 << stat) for each stat to check */
	uint64_t seed;	    /* bootstrap RNG seed (gsl mt19937), at most
			       UINT32_MAX (it keeps the low 32 bits; 0 is
			       its default seed, 4357) */
	unsigned resamples; /* bootstrap resamples, at least
			       ukf_validate_min_resamples(level) */
	double level;	    /* interval level, e.g. 0.95 */
	int sim_pooled;	    /* 1: simulated figures over all its requests;
			       0 (default): at the real side's size, the
			       mean over groups of simulated runs shaped
			       like the real side's, where there are 2 or
			       more such groups */
};

/* Defaults: 5%, p50 and p95 checked, seed 1, 1000 resamples, 95%. */
void ukf_validate_opts_default(struct ukf_validate_opts *o);

/* The fewest resamples an interval of this level is taken from:
 * 10 / (1 - level), so that each tail holds 5 resamples (200 at 95%:
 * with 10, the "95% interval" was the smallest and largest of 10). */
unsigned ukf_validate_min_resamples(double level);

/* A finished comparison (opaque); free with ukf_validate_result_destroy. */
typedef struct ukf_validate_result ukf_validate_result_t;

/*
 * Read the scenario runs that `real` and `sim` select from the results
 * database `path` (opened read-only, never changed) and compare them:
 * per start kind (cold, template, fork) the p50/p95/p99 of
 * request-to-ready over completed requests, the cold-start fraction and
 * per node the fraction of instances it ran; each with the relative
 * error of sim against real and a bootstrap percentile interval of that
 * error (a fixed-seed GSL generator: the same data and options give the
 * same interval). A quantile of a sample estimates differently at
 * different sample sizes (the p99 of 48 values is their largest; a p50
 * of two apps with one cold start each per run is the smaller app's
 * largest), so unless o->sim_pooled, when the simulated runs hold 2 or
 * more groups shaped like the real runs (for each real seed, as many
 * simulated runs of it), each simulated figure is the mean of the
 * groups' figures: what the model predicts the real side's figure to
 * be at its own size (quantiles only; the fractions come from all the
 * simulated requests). Intervals: each side's runs resampled with
 * replacement (its requests when it has fewer than 10 runs with
 * instances), and for the grouped quantiles the simulated groups.
 * *out gets the result (the caller destroys it). Returns 0; -1 with a
 * message in err when the file is not a ukfork results database, a
 * side selects no run or no instance, or a run is compared on both
 * sides (bad input: the caller exits 2), or on ENOMEM.
 */
int ukf_validate_compare(const char *path, const struct ukf_validate_sel *real,
			 const struct ukf_validate_sel *sim,
			 const struct ukf_validate_opts *o,
			 ukf_validate_result_t **out, char *err, size_t errlen);

/* Free *r (NULL is fine) and set *r to NULL. */
void ukf_validate_result_destroy(ukf_validate_result_t **r);

/* Number of metrics and metric i (owned by the result). */
size_t ukf_validate_count(const ukf_validate_result_t *r);
const struct ukf_validate_metric *
ukf_validate_get(const ukf_validate_result_t *r, size_t i);

/* 1 if some checked metric exceeded the threshold, else 0. */
int ukf_validate_failed(const ukf_validate_result_t *r);

/* The table (one line per metric, marked FAIL, ok, "(wide) ok" and
 * "(thin)"), the verdict line and the lines counting the marks, on out. */
void ukf_validate_print(const ukf_validate_result_t *r,
			const struct ukf_validate_opts *o, FILE *out);

/*
 * Where the time goes (validate/phases.c): per start kind and where it
 * started (on the requesting node, another one, or after fetching its
 * template), each side's completed requests, their share of the kind's,
 * and the medians of request -> placed, placed -> start, start -> ready,
 * request -> ready and the node's idle spell before the placement (since
 * the last start, ready or exit of an instance of the run there); real,
 * sim (all its requests), their difference; then for each quantile of
 * each kind where its value started in each world and the nearest rank
 * of another start, flagged when the two worlds' values come from starts
 * whose real medians differ by 10% or more. Diagnostic: nothing in it is
 * checked. The idle spells come from every instance of the runs, read
 * again from the database compared. 0, or -1 with a message in err.
 */
int ukf_validate_print_phases(const ukf_validate_result_t *r, FILE *out,
			      char *err, size_t errlen);

/*
 * Write DIR/validate-cdf.dat (request-to-ready in ms and the cumulative
 * fraction of all that side's requests of that kind, real and sim, per
 * start kind) and DIR/validate.gp, and run gnuplot ($UKF_GNUPLOT, else
 * gnuplot on PATH) on it: validate-cdf.png and .svg, one panel per start
 * kind, the two worlds' CDFs on a log time axis. DIR is created if
 * missing. Returns 0, or -1 with a message in err (gnuplot missing or
 * failing, DIR not writable).
 */
int ukf_validate_plot(const ukf_validate_result_t *r, const char *dir,
		      char *err, size_t errlen);

/*
 * What ukf_validate_plot() needs before anything is compared or run:
 * gnuplot there, DIR a directory we may write (created if missing). The
 * command checks it first, so a bad --plot is not found after the real
 * and simulated runs. 0, or -1 with a message in err.
 */
int ukf_validate_plot_check(const char *dir, char *err, size_t errlen);

/* What runs a Lua scenario: cli/scenario.h's ukf_scenario_run(), passed
 * in by `ukfork` (NULL: only --from-db works). */
struct ukf_run_opts;
typedef int (*ukf_validate_scenario_fn)(const struct ukf_run_opts *o, FILE *out,
					FILE *msg);

/*
 * `ukfork validate` (argv[0] is the command name; usage: --help and
 * docs/validation.md). Returns the exit status: 0 every checked metric
 * within the threshold, 1 one is not (or a run failed), 2 bad input, 77
 * the real backend is unavailable (no usable /dev/kvm).
 */
int ukf_validate_main(int argc, char **argv, ukf_validate_scenario_fn run);

#endif /* UKF_VALIDATE_H */
