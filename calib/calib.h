/* SPDX-License-Identifier: MIT */
/* calib.h - `ukfork calibrate`: measure VM operation costs, store raw samples,
 * fit the simulator's cost model. */
#ifndef UKF_CALIB_H
#define UKF_CALIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- distributions fitted by maximum likelihood (fit.c) ---- */

/* The same numbering as enum ukf_sim_family (sim/sim.h). */
enum ukf_calib_family {
	UKF_CALIB_LOGNORMAL = 1, /* p1 = mu, p2 = sigma of ln X */
	UKF_CALIB_GAMMA = 2,	 /* p1 = shape k, p2 = scale theta */
	UKF_CALIB_WEIBULL = 3,	 /* p1 = shape k, p2 = scale lambda */
	UKF_CALIB_LOGLOGISTIC = 4 /* p1 = shape k, p2 = scale alpha: ln X
				     logistic, tail P(X > x) ~ x^-k */
};
#define UKF_CALIB_NFAMILIES 4

struct ukf_calib_dist {
	enum ukf_calib_family family;
	double p1, p2;
	size_t n;      /* samples fitted */
	double loglik; /* maximised log-likelihood */
	double aic;    /* 2 * 2 - 2 loglik (every family has 2 parameters) */
	double ks_d;   /* Kolmogorov-Smirnov statistic sup |F_n - F| */
	double ks_p;   /* its asymptotic p-value (parameters estimated from
			  the same sample: optimistic, a guide only) */
};

/* "lognormal", "gamma", "weibull", "loglogistic" (NULL for anything
 * else). */
const char *ukf_calib_family_name(enum ukf_calib_family f);

/*
 * Fit family f to x[0..n-1] (all > 0, n >= 2, not all equal) by maximum
 * likelihood (lognormal: closed form; gamma: Newton on the shape; Weibull:
 * bisection on the shape's score equation; log-logistic: damped Newton on
 * the log-scale, where the log-likelihood is concave), with loglik, AIC
 * and the KS statistic. A log-logistic with k <= 1 is a valid fit whose
 * mean (ukf_calib_dist_mean) is infinite. Returns 0, or -1 with errno
 * EINVAL (too few, non-positive or constant samples) or EDOM (no
 * convergence); *out is then unchanged.
 */
int ukf_calib_fit_family(const double *x, size_t n, enum ukf_calib_family f,
			 struct ukf_calib_dist *out);

/*
 * Fit every family and return in *best the one with the lowest AIC (with
 * two parameters each, the highest likelihood) among those whose mean is
 * finite (the simulator scales the shape to mean 1: a log-logistic needs
 * k > UKF_CALIB_LOGLOGISTIC_MIN_K to be chosen); all[] (may be NULL, else
 * UKF_CALIB_NFAMILIES entries in family order) gets each fit, with family
 * 0 for one that failed. Returns 0, or -1 (errno as above) if none fits.
 */
int ukf_calib_fit_best(const double *x, size_t n, struct ukf_calib_dist *best,
		       struct ukf_calib_dist *all);

/* The least log-logistic shape the calibrator chooses: the loader needs
 * k > 1 (finite mean), and the file's 6 digits must keep it above 1. */
#define UKF_CALIB_LOGLOGISTIC_MIN_K 1.001
/* Samples an operation needs for its factors' own quantiles to be written
 * in place of a family none of which fits (calib/model.c). */
#define UKF_CALIB_EMPIRICAL_MIN_N 50

/* Mean, CDF and standard deviation of a fitted distribution (mean and sd
 * INFINITY where they do not exist: a log-logistic with k <= 1, k <= 2). */
double ukf_calib_dist_mean(const struct ukf_calib_dist *d);
double ukf_calib_dist_cdf(const struct ukf_calib_dist *d, double x);
double ukf_calib_dist_sd(const struct ukf_calib_dist *d);

/* ---- least squares (fit.c) ---- */

struct ukf_calib_line {
	size_t n;
	double c0, c1;	     /* y = c0 + c1 x */
	double c0_lo, c0_hi; /* 95% confidence interval (t quantile) */
	double c1_lo, c1_hi;
	double r2; /* coefficient of determination (free line) */
	int fixed; /* 1: c0 was given, only c1 fitted */
};

/*
 * Least-squares line through (x[i], y[i]) with 95% confidence intervals of
 * both coefficients (gsl_fit_linear, t quantile with n - 2 degrees of
 * freedom). Needs n >= 3 and at least two distinct x: else -1, EINVAL.
 */
int ukf_calib_fit_line(const double *x, const double *y, size_t n,
		       struct ukf_calib_line *out);

/*
 * The same line fitted robustly: iteratively reweighted least squares
 * with Tukey's bisquare weights (gsl_multifit_robust), so that a
 * heavy-tailed spread (a few samples at several times the rest) neither
 * pulls the line nor widens its intervals as it does least squares'. The
 * intervals come from the fit's covariance (t quantile, n - 2 degrees of
 * freedom), r2 from its statistics. Needs n >= 3 and two distinct x: else
 * -1, EINVAL; -1, EDOM when the fit fails (GSL's iteration limit is not a
 * failure: its last iterate is kept).
 */
int ukf_calib_fit_line_robust(const double *x, const double *y, size_t n,
			      struct ukf_calib_line *out);

/*
 * The extra cost of a template clone after an idle spell (calib/idle.c):
 * base (bx, by: nb clones after the plan's gap, x = memory bytes) and
 * idle (ix, iy: ni clones after the idle spell); each idle clone's excess
 * over the median base clone at its size (idle clones at a size without
 * base clones are left out), and the median of those excesses, with a 95%
 * percentile interval from 2000 bootstrap resamples of both sets (base
 * within each size; a fixed seed: the same samples, the same figures).
 * sb / si: the spells before the base and the idle clones (ns), whose
 * medians are reported (model.c puts the curve's point at the idle
 * clones' spell). r->fitted: 2 used idle clones and 2 base clones at least, and a
 * spell of each. 0, or -1 out of memory.
 */
#define UKF_CALIB_MAX_IDLE 8 /* idle spells a plan may measure */
struct ukf_calib_idle {
	int fitted;
	size_t nbase, nidle, nused; /* base, idle, idle at a base size */
	size_t nspell_base, nspell_idle; /* the spells given of each */
	double wake, lo, hi;        /* the median excess, its interval */
	double spell_base, spell_idle; /* the spells' medians */
};
int ukf_calib_fit_idle(const double *bx, const double *by, size_t nb,
		       const double *ix, const double *iy, size_t ni,
		       const double *sb, size_t nsb, const double *si,
		       size_t nsi, struct ukf_calib_idle *r);

/*
 * The slope of y = c0 + c1 x with the intercept c0 given (gsl_fit_mul on
 * y - c0; interval with n - 1 degrees of freedom). Needs n >= 2 and some
 * x != 0: else -1, EINVAL.
 */
int ukf_calib_fit_slope(const double *x, const double *y, size_t n, double c0,
			struct ukf_calib_line *out);

/* ---- samples (samples.c) ---- */

/*
 * A calibration's samples and provenance, in memory. Operations (op):
 * "boot" (x = guest memory bytes, ns = launch to ready of a cold boot),
 * "clone" (x = memory bytes, ns = template clone to ready), "fork" (x =
 * pages copied, ns = live fork request to the child's ready), "template"
 * (x = memory bytes, ns = making a template), "clone_engine" (x = 0, ns =
 * a template start's request to READY through the engine), "agent" (x =
 * 0, ns = the engine's request to backend operation, 0 allowed). With
 * clone_engine samples the model's clone_base_ns comes from them (less two
 * agent messages) and the bootbench "clone" is only reported. Other names
 * are kept and stored but not fitted.
 */
typedef struct ukf_calib_set ukf_calib_set_t;

/* What made the samples. Strings are copied where stored. */
struct ukf_calib_prov {
	const char *date;    /* UTC, ISO 8601 */
	const char *host;    /* host name, CPUs */
	const char *kvm;     /* what KVM it is (modules, nesting, emulation) */
	const char *backend; /* "kvm" */
	const char *plan;    /* the plan (file name or "default") */
	const char *command; /* the command line */
	const char *load;    /* load average before and after */
	uint32_t n;	     /* samples per point asked for */
	/* --cluster calibrations (NULL / 0 for one node): */
	const char *cluster; /* the cluster file, its node count, directory */
	const char *link;    /* the links between nodes as set up (netem
				delay, jitter, rate; where that came from) */
	double link_latency_ns; /* one-way node-to-node latency the
				   simulator's network charges (0: none) */
	double link_bandwidth;	/* bytes/s of each node's link (0: not
				   limited: no transfer time charged) */
	/* Set by ukf_calib_load_ids when several calibrations are merged
	 * (one line each), else NULL; not stored. */
	const char *sources;
};

/*
 * Remote operations (ukfork calibrate --cluster, node agents): "rfork"
 * (x = pages in the delta, delta_bytes / 4096, ns = a remote fork child's
 * request to ready), "rfork_save" (x = pages, ns = its placement to the
 * restore's start on the target: delta save, DELTA event, transfer, the
 * message; children that had to fetch the template first are left out),
 * "rfork_restore" (x = pages, ns = the restore's start to ready on the
 * target), "tfetch" (x = template bytes, ns = the engine trace's
 * template-fetch to template-ready on the fetching node). Each sample
 * carries the link it was measured over (ukf_calib_set_link), from which
 * model.c subtracts what the simulator's network charges.
 */

/* An empty set; NULL on ENOMEM. */
ukf_calib_set_t *ukf_calib_set_create(void);
void ukf_calib_set_destroy(ukf_calib_set_t **s);
/* The longest sample name (op) a set keeps. */
#define UKF_CALIB_OP_MAX 31
/* Add one sample (op is copied, at most UKF_CALIB_OP_MAX bytes); 0, or -1
 * with errno ENOMEM or EINVAL (no name, or a longer one). */
int ukf_calib_set_add(ukf_calib_set_t *s, const char *op, double x, double ns);
size_t ukf_calib_set_count(const ukf_calib_set_t *s);
/* The link (one-way latency ns, bytes/s, 0: none / not limited) of the
 * samples added from now on (a new set: 0, 0). */
void ukf_calib_set_link(ukf_calib_set_t *s, double latency_ns,
			double bandwidth);
/* Sample i's link. */
void ukf_calib_set_get_link(const ukf_calib_set_t *s, size_t i,
			    double *latency_ns, double *bandwidth);
/* Sample i (i < count): its op (owned by the set), x and ns. */
void ukf_calib_set_get(const ukf_calib_set_t *s, size_t i, const char **op,
		       double *x, double *ns);
/* The calibration sample i was loaded from (ukf_calib_load_ids), 0 for
 * one added otherwise. */
int64_t ukf_calib_set_get_calib(const ukf_calib_set_t *s, size_t i);

/*
 * The kinds of sample the fits take: a name ("boot") or a prefix and a
 * number ("spell_300", "boot_init_16"); what x counts, whether a duration
 * of 0 is a measurement. ukf_calib_kind_of: the kind of op, NULL for a
 * name no fit takes (stored, not fitted). ukf_calib_kind_xmax: the
 * largest x a plan can give such a sample (bytes: 1 TiB, a plan size's
 * limit; pages: 1 TiB of 4 KiB pages; ns: UKF_CALIB_NS_MAX).
 */
enum ukf_calib_xunit {
	UKF_CALIB_X_UNUSED, /* not used by a fit (0, or a count) */
	UKF_CALIB_X_BYTES,
	UKF_CALIB_X_PAGES,
	UKF_CALIB_X_NS /* an init or an idle spell */
};
struct ukf_calib_kind {
	const char *name;
	int prefix; /* name is followed by a number */
	enum ukf_calib_xunit x;
	int zero_ok; /* ns 0 is a measurement (an agent's service) */
};
/* The longest duration (ns) a sample of a known kind may have: an hour
 * (the slowest in data/measured, an emulated template fetch, took 22 s). */
#define UKF_CALIB_NS_MAX 3.6e12
const struct ukf_calib_kind *ukf_calib_kind_of(const char *op);
double ukf_calib_kind_xmax(const struct ukf_calib_kind *k);

/* The samples of one op a fit takes: x and ns finite, ns > 0 (or 0 too
 * with zero_ok), with their links, in the set's order (each array n long,
 * malloc'd). */
struct ukf_calib_sel {
	size_t n;
	double *x, *y, *lat, *bw;
	size_t *idx; /* each one's index in the set */
};
/* 0, or -1 (ENOMEM: *out empty). */
int ukf_calib_set_select(const ukf_calib_set_t *s, const char *op,
			 int zero_ok, struct ukf_calib_sel *out);
/* The same for the samples whose name match(op, u) takes (non-zero). */
int ukf_calib_set_select_if(const ukf_calib_set_t *s,
			    int (*match)(const char *op, const void *u),
			    const void *u, int zero_ok,
			    struct ukf_calib_sel *out);
void ukf_calib_sel_free(struct ukf_calib_sel *sel);
/* The provenance kept with the set (copied on set; strings owned by it). */
int ukf_calib_set_prov(ukf_calib_set_t *s, const struct ukf_calib_prov *p);
const struct ukf_calib_prov *ukf_calib_set_get_prov(const ukf_calib_set_t *s);

/*
 * Store the set as one calibration in the results database `path`
 * (created if missing; a ukfork results database otherwise): a row of
 * calib_runs (provenance) and one row of calib_samples(calib, op, x, ns)
 * per sample, in one transaction, the link being the provenance's (a set
 * merged from calibrations over several links is refitted, not stored).
 * *id (may be NULL) gets the calibration's id. Returns 0, or -1 with a
 * message in err.
 */
int ukf_calib_store(const char *path, const ukf_calib_set_t *s, int64_t *id,
		    char *err, size_t errlen);
/* The samples of s that came from no stored calibration are now of
 * calibration `calib` (after ukf_calib_store, so that what the model
 * file says of a sample names it as a refit from the database does). */
void ukf_calib_set_mark(ukf_calib_set_t *s, int64_t calib);

/*
 * Load calibration `id` (0: the latest) of database `path` into a new set
 * (*out, the caller destroys it). Returns 0, or -1 with a message in err
 * (no such file, not a results database, no calibration stored).
 */
int ukf_calib_load(const char *path, int64_t id, ukf_calib_set_t **out,
		   char *err, size_t errlen);

/*
 * Load calibrations ids[0..nids-1] (an id 0: the latest; nids 0: every
 * calibration stored, ids unused) of
 * `path` into one new set, each sample with its calibration's link: e.g.
 * one calibration per testbed netem setting, fitted together. The
 * provenance is the last one's, with `sources` listing them all. Returns
 * 0, or -1 with a message in err (as ukf_calib_load; an id not stored).
 */
int ukf_calib_load_ids(const char *path, const int64_t *ids, size_t nids,
		       ukf_calib_set_t **out, char *err, size_t errlen);

/* ---- the model file (model.c) ---- */

/*
 * An idle curve of a calibration's samples: for each idle spell its
 * "<prefix><ms>" samples (less `less`, at least 1 ns, as the base
 * samples bx, by were taken; with per_byte, then divided by their x, as
 * by must be) fitted by ukf_calib_fit_idle against the base, with the
 * spells of its "<spells><ms>" samples and those of "<spells>gap" (spells
 * NULL: none measured; the spell asked for, and 0 for the base); groups
 * in increasing spell, at most UKF_CALIB_MAX_IDLE (beyond, the spells
 * met last among the samples are left out). Template clones: "clone_idle_", "spell_", against
 * clone_engine; cold boots: "boot_idle_", NULL, per byte, against boot.
 * 0, or -1 out of memory.
 */
struct ukf_calib_idle_curve {
	size_t ngroups, ngap;
	double spell_gap;                /* median spell of the gap clones */
	double ms[UKF_CALIB_MAX_IDLE];   /* each group's spell, its name's */
	struct ukf_calib_idle fit[UKF_CALIB_MAX_IDLE];
};
int ukf_calib_fit_idle_set(const ukf_calib_set_t *s, const char *prefix,
			   const char *spells, const double *bx,
			   const double *by, size_t nb, double less,
			   int per_byte, struct ukf_calib_idle_curve *c);

/*
 * What a message to an idle node costs more (msg_idle_curve; calibrate
 * --cluster with plan key idle): for each idle spell, the template clones
 * after it placed on another node ("msgr_<ms>", placement ->
 * start less the link's latency, x = the running node's spell) and where
 * requested ("msgl_<ms>"); the difference of their medians less
 * the same of the clones after the gap (placed_remote less latency,
 * placed_local: peer_msg_ns, 0 when negative), with a 95% bootstrap interval (all four
 * sets resampled, 2000 times, fixed seed). A group is fitted with 2
 * samples in each set at least and the gap's spell known ("msgspell_gap":
 * its remote clones' node spells, the curve's first point). 0, or -1
 * out of memory.
 */
struct ukf_calib_msg_group {
	size_t nlocal, nremote;
	double spell;         /* median node spell of the remote ones, ns */
	double wake, lo, hi;  /* the estimate and its interval, ns */
	int fitted;
};
struct ukf_calib_msg_idle {
	size_t ngroups, nlocal_gap, nremote_gap;
	double spell_gap;               /* median of msgspell_gap (0: none) */
	double ms[UKF_CALIB_MAX_IDLE];  /* each group's spell, its name's */
	struct ukf_calib_msg_group g[UKF_CALIB_MAX_IDLE];
};
int ukf_calib_fit_msg_idle(const ukf_calib_set_t *s,
			   struct ukf_calib_msg_idle *c);
/* The points of msg_idle_curve as the model file has them (its first the
 * gap's spell at 0, when known; then each fitted group's estimate, 0 when
 * not above 0, at its median node spell, left out when not after the
 * point before) into *out (the key is written with 2 points or more). */
struct ukf_sim_curve;
void ukf_calib_msg_idle_points(const struct ukf_calib_msg_idle *c,
			       struct ukf_sim_curve *out);

/*
 * What a remote fork's delta costs more when its target has been idle
 * (delta_idle_curve; calibrate --cluster with plan key idle): for each
 * idle spell, the save paths (placement -> the restore's start) of the
 * forks after it ("dsave_<ms>", x = the target's spell) less those after
 * the gap ("dsave_gap"), medians, less what msg_idle_curve charges the
 * same message at the group's median target spell when msg_charged (the
 * model has the curve: ukf_calib_msg_idle_points, as the simulator
 * evaluates it) and at the gap's, with a 95% bootstrap
 * interval (both sets resampled, 2000 times, fixed seed). A group is
 * fitted with 2 samples in it and 2 after the gap at least. With woken,
 * the same of the forks whose parent started on another node than the
 * one that requested it, so that the child went back to that node, its
 * agent awake from the placement's message ("dsavew_<ms>", against
 * "dsave_gap"; no curve of their own: they choose delta_idle_since,
 * ukf_calib_delta_idle_since). 0, or -1 out of memory.
 */
struct ukf_calib_delta_group {
	size_t n;
	double spell;           /* median target spell, ns */
	double msg;             /* what msg_idle_curve charges there, ns */
	double extra, lo, hi;   /* the estimate and its interval, ns */
	int fitted;
};
struct ukf_calib_delta_idle {
	size_t ngroups, ngap;
	double spell_gap;               /* median target spell after the gap */
	double ms[UKF_CALIB_MAX_IDLE];  /* each group's spell, its name's */
	struct ukf_calib_delta_group g[UKF_CALIB_MAX_IDLE];
};
int ukf_calib_fit_delta_idle(const ukf_calib_set_t *s, int back,
			     const struct ukf_calib_msg_idle *mi,
			     int msg_charged, struct ukf_calib_delta_idle *c);
/* The points of delta_idle_curve, by the same rule as msg_idle_curve's
 * (the gap's target spell at 0, then each fitted group's extra). */
void ukf_calib_delta_idle_points(const struct ukf_calib_delta_idle *c,
				 struct ukf_sim_curve *out);
/*
 * delta_idle_since from the forks back to the node that requested their
 * parent (`back`, ukf_calib_fit_delta_idle with woken) against the
 * curve's (`c`), at the longest spell fitted in both (*k and *kb its
 * groups in each; c->ngroups and back->ngroups when there is none): the
 * simulator reckons the spell from messages too (UKF_SIM_SINCE_MESSAGE)
 * unless the curve's extra there is above 0 and back's is nearer it
 * than 0, its 95% interval above 0 (UKF_SIM_SINCE_ACTIVITY: a node
 * whose agent has just sent a message pays the curve all the same).
 */
int ukf_calib_delta_idle_since(const struct ukf_calib_delta_idle *c,
			       const struct ukf_calib_delta_idle *back,
			       size_t *k, size_t *kb);

/*
 * Fit the set's operations and write a simulator model file at path
 * (data/model.conf's key = value form with per-operation `*_dist` keys,
 * loadable by ukf_sim_model_load), its comments giving the provenance,
 * each fit's sample count, confidence intervals and goodness of fit. A
 * summary table goes to `summary` (may be NULL). Operations with too few
 * samples are left out of the file (the simulator then keeps its
 * defaults) and said so in the summary. Warnings go to `warn` (may be
 * NULL; also in the file's comments): samples of kinds no fit takes, and
 * a sample that alone moves a least-squares cost (its calibration, x,
 * ns, the cost without it). Returns 0, or -1 with a message
 * in err (nothing could be fitted, the file cannot be written).
 */
int ukf_calib_model_write(const ukf_calib_set_t *s, const char *path,
			  FILE *summary, FILE *warn, char *err, size_t errlen);

/* ---- the command (cli.c, measure.c) ---- */

/* What runs a Lua scenario for the measurement plan: cli/scenario.h's
 * ukf_scenario_run(), passed in by `ukfork` (NULL: scenarios unavailable). */
struct ukf_run_opts;
typedef int (*ukf_calib_scenario_fn)(const struct ukf_run_opts *o, FILE *out,
				     FILE *msg);

/*
 * `ukfork calibrate` (argv[0] is the command name): see the usage text
 * (ukfork calibrate --help) and docs/calibration.md. Returns the exit
 * status: 0 done, 1 failure, 2 bad command line, 77 no usable /dev/kvm.
 */
int ukf_calib_main(int argc, char **argv, ukf_calib_scenario_fn run);

#endif /* UKF_CALIB_H */
