/* SPDX-License-Identifier: MIT */
/* model.c - fit a calibration's samples and write the simulator model file
 * (sim/model.c's key = value form, per-operation *_dist keys). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "../sim/sim.h"
#include "calib.h"

/* One fitted operation. */
struct opfit {
	const char *op;	      /* sample op name */
	const char *dist_key; /* its model key, e.g. "clone_dist" */
	size_t n;
	double *x, *y;
	double *lat, *bw; /* each sample's link */
	size_t *idx;	  /* each sample's index in the set */
	const ukf_calib_set_t *set; /* the set they are of */
	int zero_ok;   /* samples of 0 ns count (the agent's) */
	int linear;    /* base + slope x fitted (else a flat mean) */
	int robust;    /* the free line by bisquare-weighted least squares */
	int free_robust; /* it is (robust asked and the fit worked) */
	int line_robust; /* the line used is that robust free line */
	int have_line; /* line (free or fixed intercept) is valid */
	struct ukf_calib_line line, free_line;
	int have_free;
	double base, slope; /* what the model gets */
	int fitted;	    /* base (and slope) usable */
	int have_dist;
	int no_spread; /* its factors spread by less than UKF_NO_SPREAD: no
			  *_dist, a sigma of 0 in jitter's median */
	struct ukf_calib_dist dist, all[UKF_CALIB_NFAMILIES];
	char note[160];
	size_t clamped; /* samples below what sim charges beside the cost */
	/* the fitted distribution's mean (the factors' mean is 1; the fit's
	 * need not be), by which base and slope were multiplied; 1 without
	 * a distribution */
	double dist_mean;
	/* the factors' quantiles at 0, 5%, ... 100%, written instead of the
	 * chosen family when even its optimistic KS test rejects it */
	int empirical;
	double emp[UKF_SIM_EMP_Q];
	/* the cost as a curve through the median at each x (fit_curve: 3
	 * distinct x or more), used instead of base + slope x when n > 0 */
	struct ukf_sim_curve curve;
	/* what fit_cost was asked (check_influence refits alike) */
	int ask_linear;
	double ask_c0;
	/* samples that alone move the fitted cost (check_influence): the
	 * UKF_INFL_KEEP with the largest effect, and how many in all */
	struct influence {
		size_t idx;	   /* in the set */
		double y, ratio, z; /* the sample as fitted, over the cost
				       fitted without it, its robust z */
		double effect;	   /* the largest relative change of the
				      cost over the x measured */
		double base, slope;	  /* the fit (before a spread's mean) */
		double base_wo, slope_wo; /* the fit without it */
	} infl[4];
	size_t ninfl;
};
#define UKF_INFL_KEEP 4

static void opfit_free(struct opfit *f)
{
	free(f->x);
	free(f->y);
	free(f->lat);
	free(f->bw);
	free(f->idx);
}

static int collect(const ukf_calib_set_t *s, struct opfit *f)
{
	struct ukf_calib_sel sel;

	if (ukf_calib_set_select(s, f->op, f->zero_ok, &sel) < 0)
		return -1;
	f->n = sel.n;
	f->x = sel.x;
	f->y = sel.y;
	f->lat = sel.lat;
	f->bw = sel.bw;
	f->idx = sel.idx;
	f->set = s;
	/* 1 until a spread scales the cost: an operation without a
	 * distribution key (touch, rfork) has none, and its 0 printed a
	 * slope interval of [0, 0] and "times the spread's mean 0.0000" */
	f->dist_mean = 1;
	return 0;
}

static double mean(const double *v, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	return n ? s / (double)n : NAN;
}

/*
 * The spread: each sample over its fitted cost, a factor of mean 1,
 * fitted by maximum likelihood. The simulator draws a factor of that
 * shape scaled to mean 1 and multiplies the cost key by it, so the key
 * is the least-squares cost times the fitted distribution's own mean:
 * then the simulator's quantiles are the fitted ones. (A fit is not
 * bound to the sample's mean: a log-logistic fitted to template clones
 * whose mean a few slow ones lift had mean 0.82, and the simulator's
 * median came out 22% above the measured one, session 29.)
 */
/* The fitted cost times m (the spread's mean: base, slope and the curve's
 * points alike), m kept as its dist_mean. */
static void scale_cost(struct opfit *f, double m)
{
	f->base *= m;
	f->slope *= m;
	for (uint32_t j = 0; j < f->curve.n; j++)
		f->curve.y[j] *= m;
	f->dist_mean = m;
}

/* The least spread of the factors (sd of their logarithm) fitted as a
 * distribution: below, the cost is as good as constant, and whether a
 * fit came out (a lognormal of sigma 5e-17) or failed (factors all
 * equal) was a matter of rounding. */
#define UKF_NO_SPREAD 1e-3

static int fit_spread(struct opfit *f)
{
	double *r = malloc(f->n * sizeof(*r));
	size_t k = 0;

	if (!r)
		return -1;
	for (size_t i = 0; i < f->n; i++) {
		double c = f->curve.n ? ukf_sim_curve_eval(&f->curve, f->x[i])
				      : f->base + f->slope * f->x[i];
		if (c > 0 && f->y[i] > 0)
			r[k++] = f->y[i] / c;
	}
	f->no_spread = 0;
	if (k >= 5) {
		double m = 0, v = 0;
		for (size_t i = 0; i < k; i++)
			m += log(r[i]);
		m /= (double)k;
		for (size_t i = 0; i < k; i++)
			v += (log(r[i]) - m) * (log(r[i]) - m);
		f->no_spread = sqrt(v / (double)(k - 1)) < UKF_NO_SPREAD;
	}
	if (k >= 5 && !f->no_spread &&
	    ukf_calib_fit_best(r, k, &f->dist, f->all) == 0)
		f->have_dist = 1;
	/* The family AIC chose does not fit (KS p < 0.05 with the
	 * parameters from the same sample, which makes the test lenient:
	 * the others fit worse by AIC) and there are enough
	 * samples to stand for themselves: their quantiles */
	f->empirical = 0;
	if (f->have_dist && k >= UKF_CALIB_EMPIRICAL_MIN_N &&
	    f->dist.ks_p < 0.05) {
		gsl_sort(r, 1, k);
		for (int i = 0; i < UKF_SIM_EMP_Q; i++)
			f->emp[i] = gsl_stats_quantile_from_sorted_data(
			    r, 1, k, (double)i / (UKF_SIM_EMP_Q - 1));
		double pl = ukf_sim_empirical_mean(f->emp);
		if (pl > 0) {
			f->empirical = 1;
			scale_cost(f, pl);
			free(r);
			return 0;
		}
	}
	free(r);
	f->dist_mean = 1;
	if (f->have_dist) {
		double m = ukf_calib_dist_mean(&f->dist);
		if (isfinite(m) && m > 0)
			scale_cost(f, m);
	}
	return 0;
}

struct xy {
	double x, y;
};
/* means_by_x reads a group's y's with a stride of 2 doubles */
_Static_assert(sizeof(struct xy) == 2 * sizeof(double), "struct xy padded");

static int cmp_xy(const void *a, const void *b)
{
	double u = ((const struct xy *)a)->x, v = ((const struct xy *)b)->x;
	return (u > v) - (u < v);
}

static int cmp_y(const void *a, const void *b)
{
	double u = ((const struct xy *)a)->y, v = ((const struct xy *)b)->y;
	return (u > v) - (u < v);
}

/*
 * The mean of y at each distinct x (with `median`, the median), x
 * increasing, into c (the first UKF_SIM_CURVE_MAX of them) and cnt (how
 * many at each; may be NULL). Returns how many distinct x there are (more
 * than c holds: c is not the whole), or -1 out of memory.
 */
static int means_by_x(const double *x, const double *y, size_t n,
		      struct ukf_sim_curve *c, size_t cnt[UKF_SIM_CURVE_MAX],
		      int median)
{
	struct xy *v = malloc((n ? n : 1) * sizeof(*v));
	int groups = 0;

	memset(c, 0, sizeof(*c));
	if (!v)
		return -1;
	for (size_t i = 0; i < n; i++)
		v[i] = (struct xy){ x[i], y[i] };
	qsort(v, n, sizeof(*v), cmp_xy);
	for (size_t i = 0, j; i < n; i = j, groups++) {
		double sum = 0;
		for (j = i; j < n && v[j].x == v[i].x; j++)
			sum += v[j].y;
		if (c->n < UKF_SIM_CURVE_MAX) {
			if (cnt)
				cnt[c->n] = j - i;
			c->x[c->n] = v[i].x;
			if (median) {
				/* the group by y; its y's are every other
				 * double of v from v[i].y on */
				qsort(v + i, j - i, sizeof(*v), cmp_y);
				c->y[c->n] = gsl_stats_median_from_sorted_data(
				    &v[i].y, sizeof(*v) / sizeof(double), j - i);
			} else {
				c->y[c->n] = sum / (double)(j - i);
			}
			c->n++;
		}
	}
	free(v);
	return groups;
}

/*
 * The cost as a curve through the median of the samples at each distinct
 * x, when there are 3 of them or more (and UKF_SIM_CURVE_MAX at most): a
 * measured cost that grows faster than linearly across the sizes (the
 * template fetch) is then met at every size measured, where a line
 * misses the middle ones. The median, not the mean (until session 34):
 * the 32 MiB fetches of a calibration spread from 90 to 396 ms, and a
 * few slow ones put that size's mean 7-34% above its median (four 2-node
 * fits, sessions 33-34), and the 24 MiB fetch interpolated from it.
 * Before fit_spread, which scales it as it scales the line. -1 out of
 * memory.
 */
static int fit_curve(struct opfit *f)
{
	struct ukf_sim_curve c;

	memset(&f->curve, 0, sizeof(f->curve));
	if (!f->fitted || f->n < 3)
		return 0;
	int groups = means_by_x(f->x, f->y, f->n, &c, NULL, 1);
	if (groups < 0)
		return -1;
	if (groups >= 3 && groups <= UKF_SIM_CURVE_MAX && c.x[0] >= 0)
		f->curve = c;
	return 0;
}

/* base + slope x by least squares (slope >= 0, base >= 0); a flat mean
 * when there is one x or the slope comes out negative. c0 >= 0: the
 * intercept is fixed there (fork: the clone's cost). */
static void fit_cost(struct opfit *f, int linear, double c0)
{
	f->ask_linear = linear;
	f->ask_c0 = c0;
	f->fitted = 0;
	if (f->n < 2) {
		snprintf(f->note, sizeof(f->note), "%zu sample(s): not fitted",
			 f->n);
		return;
	}
	/* a line needs 3 samples at 2 sizes or more (fit_line): 2 samples,
	 * even at two sizes, give the flat mean below */
	f->line_robust = 0;
	if (linear) /* (a flat refit keeps the free line for its comment) */
		f->free_robust = 0;
	/* robust asked: least squares if that fit fails (GSL's scale of
	 * the residuals is their MAD: 0 when most samples lie on a line) */
	if (linear && f->robust &&
	    ukf_calib_fit_line_robust(f->x, f->y, f->n, &f->free_line) == 0)
		f->have_free = f->free_robust = 1;
	else if (linear &&
		 ukf_calib_fit_line(f->x, f->y, f->n, &f->free_line) == 0)
		f->have_free = 1;
	if (linear && c0 >= 0 &&
	    ukf_calib_fit_slope(f->x, f->y, f->n, c0, &f->line) == 0 &&
	    f->line.c1 >= 0) {
		f->have_line = f->linear = 1;
		f->base = c0;
		f->slope = f->line.c1;
		snprintf(f->note, sizeof(f->note),
			 "slope with the intercept fixed at %.0f ns", c0);
	} else if (linear && c0 < 0 && f->have_free && f->free_line.c1 >= 0 &&
		   f->free_line.c0 >= 0) {
		f->line = f->free_line;
		f->have_line = f->linear = 1;
		f->line_robust = f->free_robust;
		f->base = f->line.c0;
		f->slope = f->line.c1;
		snprintf(f->note, sizeof(f->note), "%s",
			 f->line_robust ? "bisquare-weighted line (robust)"
					: "least-squares line");
	} else if (linear && c0 < 0 && f->have_free && f->free_line.c1 > 0 &&
		   ukf_calib_fit_slope(f->x, f->y, f->n, 0, &f->line) == 0 &&
		   f->line.c1 > 0) {
		/* a negative intercept (costs growing faster than linearly):
		 * the line through the origin keeps the growth with x */
		f->have_line = f->linear = 1;
		f->base = 0;
		f->slope = f->line.c1;
		snprintf(f->note, sizeof(f->note), "%s",
			 f->free_robust
			     ? "free intercept negative: line through the "
			       "origin (least squares)"
			     : "free intercept negative: line through the "
			       "origin");
	} else {
		f->base = mean(f->y, f->n);
		f->slope = 0;
		snprintf(f->note, sizeof(f->note), "%s",
			 !linear      ? "mean"
			 : f->n < 3   ? "2 samples (a line needs 3): flat mean"
			 : f->have_free ? "no usable positive trend: flat mean"
					: "one size: flat mean");
	}
	f->fitted = 1;
}

/*
 * One sample that alone decides a least-squares cost (fit_cost): least
 * squares fits the mean cost, as the project asks, and one sample far
 * from the rest moved it without a word (one 1 s cold boot among 60 of
 * 10-50 ms made boot_ns_per_mem_byte 0). Each sample is held out in turn
 * and the cost refitted as fit_cost fits it: its effect is the largest
 * relative change of the fitted cost over the x measured (a ratio of two
 * lines: largest at an end), its z the robust z-score of its log ratio
 * to the cost without it among the others' (median, 1.4826 MAD). One
 * with an effect above UKF_INFL_EFFECT and |z| above UKF_INFL_Z is kept
 * in f->infl (said on the warning stream and in the model file; the fit
 * is not changed). The thresholds leave data/measured's calibrations
 * silent: among their samples with an effect above 10% the largest z is
 * 7.1 (a kvm_pvm bootbench clone 6.3 times the others, effect 27%), and
 * the largest z of all 10.4 (an emulated agent message, effect 8%); one
 * 100 ms boot among 60 of 10-50 ms spread by a lognormal sigma 0.2 has
 * z 13 and effect 26%. -1 out of memory.
 */
#define UKF_INFL_MIN_N 8
#define UKF_INFL_Z 12.0
#define UKF_INFL_EFFECT 0.10

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int check_influence(struct opfit *f)
{
	size_t n = f->n;
	double xmin = INFINITY, xmax = -INFINITY;

	f->ninfl = 0;
	if (!f->fitted || n < UKF_INFL_MIN_N)
		return 0;
	double *gx = malloc(n * sizeof(double)), *gy = malloc(n * sizeof(double));
	double *t = malloc(n * sizeof(double));
	if (!gx || !gy || !t) {
		free(gx), free(gy), free(t);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		xmin = fmin(xmin, f->x[i]);
		xmax = fmax(xmax, f->x[i]);
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		for (size_t j = 0; j < n; j++)
			if (j != i)
				gx[k] = f->x[j], gy[k++] = f->y[j];
		struct opfit g = *f;
		g.x = gx;
		g.y = gy;
		g.n = n - 1;
		g.robust = 0;
		/* the refit's own results, none of f's: a refit whose line
		 * fails (one size left) kept f's line and fitted through the
		 * origin instead of its flat mean, which hid a lone sample
		 * at its own size (40 boots at 8 MiB and one of 1 s at 64
		 * MiB: no warning, though that one set the memory slope) */
		g.have_free = g.have_line = g.linear = 0;
		g.free_robust = g.line_robust = 0;
		g.base = g.slope = 0;
		fit_cost(&g, f->ask_linear, f->ask_c0);
		double wo = g.base + g.slope * f->x[i];
		if (!g.fitted || !(wo > 0) || !(f->y[i] > 0))
			continue;
		struct influence c = {.idx = f->idx[i],
				      .y = f->y[i],
				      .ratio = f->y[i] / wo,
				      .base = f->base,
				      .slope = f->slope,
				      .base_wo = g.base,
				      .slope_wo = g.slope};
		double ends[2] = {xmin, xmax};
		for (int e = 0; e < 2; e++) {
			double a = f->base + f->slope * ends[e],
			       b = g.base + g.slope * ends[e];
			if (b > 0)
				c.effect = fmax(c.effect, fabs(a / b - 1));
		}
		if (!(c.effect > UKF_INFL_EFFECT))
			continue;
		/* the others' log ratios to the same cost: its z among
		 * them (median, MAD), as if it were one more of them */
		size_t nl = 0;
		for (size_t j = 0; j < n - 1; j++) {
			double cj = g.base + g.slope * gx[j];
			if (cj > 0 && gy[j] > 0)
				t[nl++] = log(gy[j] / cj);
		}
		if (nl < UKF_INFL_MIN_N - 1)
			continue;
		qsort(t, nl, sizeof(double), cmp_double);
		double med = gsl_stats_median_from_sorted_data(t, 1, nl);
		for (size_t j = 0; j < nl; j++)
			t[j] = fabs(t[j] - med);
		qsort(t, nl, sizeof(double), cmp_double);
		double mad = 1.4826 * gsl_stats_median_from_sorted_data(t, 1, nl);
		double d = log(c.ratio) - med;
		c.z = mad > 0 ? d / mad : d == 0 ? 0 : copysign(INFINITY, d);
		if (!(fabs(c.z) > UKF_INFL_Z))
			continue;
		/* kept: the largest effects first */
		size_t k2 = f->ninfl < UKF_INFL_KEEP ? f->ninfl : UKF_INFL_KEEP;
		while (k2 > 0 && f->infl[k2 - 1].effect < c.effect) {
			if (k2 < UKF_INFL_KEEP)
				f->infl[k2] = f->infl[k2 - 1];
			k2--;
		}
		if (k2 < UKF_INFL_KEEP)
			f->infl[k2] = c;
		f->ninfl++;
	}
	free(gx), free(gy), free(t);
	return 0;
}

/* The influential samples of f (check_influence), each on lines
 * starting with `pre` ("#   " in the model file), x in `xu` units. */
static void put_influence(FILE *o, const char *pre, const struct opfit *f,
			  const char *xu)
{
	size_t shown = f->ninfl < UKF_INFL_KEEP ? f->ninfl : UKF_INFL_KEEP;

	for (size_t k = 0; k < shown; k++) {
		const struct influence *c = &f->infl[k];
		const char *op;
		double x, ns;
		char from[48] = "";
		ukf_calib_set_get(f->set, c->idx, &op, &x, &ns);
		long long cid = (long long)ukf_calib_set_get_calib(f->set, c->idx);
		if (cid)
			snprintf(from, sizeof(from), " of calibration %lld", cid);
		char a[64], b[64];
		snprintf(a, sizeof(a), "%.6g ns", c->base);
		snprintf(b, sizeof(b), "%.6g ns", c->base_wo);
		if (f->ask_linear) {
			snprintf(a + strlen(a), sizeof(a) - strlen(a),
				 " + %.6g ns/%s", c->slope, xu);
			snprintf(b + strlen(b), sizeof(b) - strlen(b),
				 " + %.6g ns/%s", c->slope_wo, xu);
		}
		fprintf(o,
			"%swarning: one %s sample%s (x %.6g, ns %.6g) alone "
			"moves the least-squares cost by up to %.0f%%:\n"
			"%s  %.4g times the cost fitted without it (robust "
			"z %.1f); fitted %s,\n%s  without it %s (the keys "
			"keep it: check that sample)\n",
			pre, f->op, from, x, ns, 100 * c->effect, pre, c->ratio,
			c->z, a, pre, b);
	}
	if (f->ninfl > shown)
		fprintf(o, "%s  (%zu such %s samples in all, the %zu of "
			   "largest effect above)\n",
			pre, f->ninfl, f->op, shown);
}

static void put_dist_comment(FILE *o, const struct opfit *f)
{
	fprintf(o, "#   spread: factor = sample / fitted cost, n=%zu; by AIC:",
		f->dist.n);
	for (int i = 0; i < UKF_CALIB_NFAMILIES; i++) {
		const struct ukf_calib_dist *d = &f->all[i];
		if (!d->family)
			continue;
		fprintf(o, "%s %s AIC %.1f KS D %.3f", i ? ";" : "",
			ukf_calib_family_name(d->family), d->aic, d->ks_d);
		if (d->family == UKF_CALIB_LOGLOGISTIC &&
		    !(d->p1 > UKF_CALIB_LOGLOGISTIC_MIN_K))
			fprintf(o, " (k %.3g: no finite mean, not chosen)",
				d->p1);
	}
	fprintf(o,
		"\n#   chosen %s: KS D %.3f (p %.2g, optimistic: parameters "
		"from the same sample), sd %.3f\n",
		ukf_calib_family_name(f->dist.family), f->dist.ks_d,
		f->dist.ks_p, ukf_calib_dist_sd(&f->dist));
	if (f->dist_mean != 1)
		fprintf(o,
			"#   its mean %.4f: the cost above is the %s "
			"one times it, so that the simulator\n#   (which "
			"scales the shape to mean 1) draws the fitted "
			"quantiles\n",
			f->dist_mean,
			f->line_robust ? "fitted (robust)" : "least-squares");
}

static void put_dist(FILE *o, const struct opfit *f)
{
	if (f->no_spread)
		fprintf(o, "#   spread: the factors (sample / fitted cost) "
			   "spread by less than 0.1%%: no %s\n#   (the "
			   "simulator draws it with jitter, which counts it "
			   "as a sigma of 0)\n",
			f->dist_key);
	if (!f->have_dist)
		return;
	put_dist_comment(o, f);
	if (f->empirical) {
		fprintf(o,
			"#   no family fits (the best's KS p %.2g < 0.05): the "
			"factors' own quantiles at 0, 5%%, ... 100%%\n%s = "
			"empirical",
			f->dist.ks_p, f->dist_key);
		for (int i = 0; i < UKF_SIM_EMP_Q; i++)
			fprintf(o, " %.5g", f->emp[i]);
		fprintf(o, "   # source: calibrate, %zu samples\n", f->dist.n);
		return;
	}
	fprintf(o,
		"%s = %s %.6g %.6g   # source: calibrate, MLE of the factor\n",
		f->dist_key, ukf_calib_family_name(f->dist.family), f->dist.p1,
		f->dist.p2);
}

static void put_line_comment(FILE *o, const struct opfit *f, const char *xu)
{
	fprintf(o, "#   %s, n=%zu", f->note, f->n);
	if (f->have_line)
		fprintf(o, "; slope 95%% CI [%.4g, %.4g] ns/%s", f->line.c1_lo,
			f->line.c1_hi, xu);
	if (f->dist_mean != 1)
		fprintf(o, " (%s; the keys below are it times "
			   "the spread's mean %.4f)",
			f->line_robust ? "bisquare-weighted" : "least squares",
			f->dist_mean);
	fputc('\n', o);
	if (f->have_free)
		fprintf(o,
			"#   free line%s: intercept %.0f ns [%.0f, %.0f], slope "
			"%.4g ns/%s [%.4g, %.4g], %sR^2 %.3f\n",
			f->free_robust ? " (bisquare-weighted)" : "",
			f->free_line.c0, f->free_line.c0_lo, f->free_line.c0_hi,
			f->free_line.c1, xu, f->free_line.c1_lo,
			f->free_line.c1_hi, f->free_robust ? "robust " : "",
			f->free_line.r2);
	put_influence(o, "#   ", f, xu);
}

static void summary_row(FILE *o, const struct opfit *f, const char *xu)
{
	if (!o)
		return;
	if (!f->fitted) {
		fprintf(o,
			"%-13s %5zu  (not fitted: too few samples; the "
			"simulator keeps its default)",
			f->op, f->n);
		if (f->clamped)
			fprintf(o,
				" [%zu left out: no more than sim charges "
				"the link]",
				f->clamped);
		fputc('\n', o);
		return;
	}
	fprintf(o, "%-13s %5zu  %12.1f us", f->op, f->n, f->base / 1e3);
	/* the interval scaled as the slope was (scale_cost): it printed
	 * the least-squares one beside the scaled slope, which then lay
	 * outside it (755.7 [874.8, 916.9]) */
	if (f->linear)
		fprintf(o, " + %.4g ns/%s [%.4g, %.4g]", f->slope, xu,
			f->line.c1_lo * f->dist_mean,
			f->line.c1_hi * f->dist_mean);
	if (f->empirical)
		fprintf(o, "  empirical (p50 %.3g, p95 %.3g; best family %s "
			   "KS p %.2g)",
			f->emp[UKF_SIM_EMP_Q / 2], f->emp[UKF_SIM_EMP_Q - 2],
			ukf_calib_family_name(f->dist.family), f->dist.ks_p);
	else if (f->have_dist)
		fprintf(o, "  %s(%.4g, %.4g) KS D %.3f",
			ukf_calib_family_name(f->dist.family), f->dist.p1,
			f->dist.p2, f->dist.ks_d);
	if (f->clamped)
		fprintf(o, " [%zu left out: no more than sim charges the link]",
			f->clamped);
	fputc('\n', o);
}

/* The simulator's page: a fork's delta is pages x this many bytes
 * (sim/backend.c's DELTA event). */
#define SIM_PAGE 4096.0

/*
 * What the simulator's network charges sample i of a remote operation
 * (sim/net.c: a message is delivered `latency` after it has crossed the
 * sender's and the receiver's host links at `bandwidth` bytes/s; links
 * idle in a calibration, so the whole bandwidth): msgs messages, bytes
 * in all, each message also delayed `msg` (peer_msg_ns) by the agents.
 * 0 for a sample measured over no link.
 */
static double net_ns(const struct opfit *f, size_t i, int msgs, double bytes,
		     double msg)
{
	double t = msgs * (f->lat[i] + msg);
	if (f->bw[i] > 0)
		t += bytes / f->bw[i] * 1e9;
	return t;
}

/* Each sample less what the simulator charges beside the cost fitted:
 * `agent` (agent_msg_ns: the one event the agent serves before the
 * engine hears of it), msgs messages (each its link's latency and `msg`)
 * and x * bytes_per_x bytes over the link. A sample that took no more than that (the link carried fewer
 * bytes than sim charges: compressed transfers) is left out and counted
 * in f->clamped: a cost of 0 or less says nothing about the cost. */
static void less_charged(struct opfit *f, double agent, int msgs,
			 double bytes_per_x, double msg)
{
	size_t k = 0;
	for (size_t i = 0; i < f->n; i++) {
		double y = f->y[i] - agent -
			   net_ns(f, i, msgs, f->x[i] * bytes_per_x, msg);
		if (!(y > 0)) {
			f->clamped++;
			continue;
		}
		f->x[k] = f->x[i];
		f->idx[k] = f->idx[i];
		f->lat[k] = f->lat[i];
		f->bw[k] = f->bw[i];
		f->y[k++] = y;
	}
	f->n = k;
}

/* The links of f's samples, for the file's comments: "L ms, B MB/s"
 * when all are alike, else "several". */
static void links_text(const struct opfit *f, char *buf, size_t cap)
{
	int same = 1;
	for (size_t i = 1; i < f->n; i++)
		same &= f->lat[i] == f->lat[0] && f->bw[i] == f->bw[0];
	if (!f->n)
		snprintf(buf, cap, "none");
	else if (!same)
		snprintf(buf, cap, "several (one per calibration merged)");
	else if (f->bw[0] > 0)
		snprintf(buf, cap, "latency %.3f ms, %.4g MB/s",
			 f->lat[0] / 1e6, f->bw[0] / 1e6);
	else
		snprintf(buf, cap, "latency %.3f ms, bandwidth not limited",
			 f->lat[0] / 1e6);
}

static void put_clamped(FILE *o, const struct opfit *f)
{
	if (f->clamped)
		fprintf(o,
			"#   %zu of %zu samples took no more than sim charges "
			"beside the cost (fewer bytes\n"
			"#   on the wire than sim charges: compressed "
			"transfers?): left out\n",
			f->clamped, f->clamped + f->n);
}

/* A remote cost that could not be fitted: its samples, those left out,
 * and which keys keep their defaults (`keeps`). */
static void put_not_fitted(FILE *o, const char *what, const struct opfit *f,
			   const char *keeps)
{
	fprintf(o, "# %s: not fitted (%zu samples, %zu left out): %s\n", what,
		f->n, f->clamped, keeps);
}

/*
 * Two keys of --cluster from template clones started where they were
 * requested (local) and on or for another node (remote): the difference
 * of the two sets' medians, remote less local for peer_msg_ns (placement
 * -> start, each remote one less its link's latency), local less remote
 * for local_clone_ns (start -> READY). diff is 0 when not fitted (2
 * samples of each at least) or negative.
 */
struct meddiff {
	size_t nlocal, nremote;
	double local, remote; /* medians, ns */
	int fitted;
	double diff;
};

/* The median of f's samples (n >= 1), each less its link's latency when
 * less_link; NAN out of memory. */
static double median_y(const struct opfit *f, int less_link)
{
	double *a = malloc(f->n * sizeof(double)), m;

	if (!a)
		return NAN;
	for (size_t i = 0; i < f->n; i++)
		a[i] = f->y[i] - (less_link ? f->lat[i] : 0);
	gsl_sort(a, 1, f->n);
	m = gsl_stats_median_from_sorted_data(a, 1, f->n);
	free(a);
	return m;
}

/* remote_first: diff = remote - local (else local - remote); the remote
 * samples less their link's latency when less_link. -1 out of memory. */
static int fit_meddiff(const struct opfit *lo, const struct opfit *re,
		       int remote_first, int less_link, struct meddiff *d)
{
	memset(d, 0, sizeof(*d));
	d->nlocal = lo->n;
	d->nremote = re->n;
	if (lo->n < 2 || re->n < 2)
		return 0;
	d->local = median_y(lo, 0);
	d->remote = median_y(re, less_link);
	if (isnan(d->local) || isnan(d->remote))
		return -1;
	d->diff = fmax(0, remote_first ? d->remote - d->local
				       : d->local - d->remote);
	d->fitted = 1;
	return 0;
}

/* The median of the factor the simulator draws for f's spread (scaled to
 * mean 1 as it does), or 1 without one. */
static double median_factor(const struct opfit *f)
{
	struct ukf_sim_model m;

	if (!f->have_dist)
		return 1;
	memset(&m, 0, sizeof(m));
	struct ukf_sim_dist *d = &m.dist[UKF_SIM_OP_CLONE];
	if (f->empirical) {
		double mu = ukf_sim_empirical_mean(f->emp);
		if (!(mu > 0))
			return 1;
		d->family = UKF_SIM_DIST_EMPIRICAL;
		for (int i = 0; i < UKF_SIM_EMP_Q; i++)
			d->q[i] = f->emp[i] / mu;
	} else {
		/* the calibration's families are the simulator's numbers */
		d->family = (int)f->dist.family;
		d->p1 = f->dist.p1;
		d->p2 = f->dist.p2;
	}
	double v = ukf_sim_model_factor(&m, UKF_SIM_OP_CLONE, 0);
	return v > 0 && isfinite(v) ? v : 1;
}

/* A fitted curve's key line (key = x y ..., n points; x the spell named
 * xwhat, in ns, y in ns or, per_byte, ns a byte), or a line saying it
 * keeps its default when fewer than 2 points. */
static void put_curve(FILE *o, const char *key, const char *xwhat,
		      const double *x, const double *y, size_t n, int per_byte,
		      const char *source)
{
	if (n < 2) {
		fprintf(o, "# %s not fitted, keeps its default\n", key);
		return;
	}
	fprintf(o,
		"# The curve (%s ns, extra %s; linear between, flat beyond "
		"its ends):\n%s =",
		xwhat, per_byte ? "ns per byte" : "ns", key);
	for (size_t i = 0; i < n; i++)
		fprintf(o, per_byte ? " %.0f %.6g" : " %.0f %.0f", x[i], y[i]);
	fprintf(o, "   # source: %s\n", source);
}

/* An idle curve (key: idle_curve for template clones, boot_idle_curve
 * for cold boots, per byte): its first point the base's spell at 0, then
 * each idle spell's median excess over the spread's median factor medf
 * (the simulator multiplies the whole cost, the extra included, by a
 * factor of that median), 0 when not above 0; a spell not fitted, or not
 * longer than the point before, is left out. */
static void put_idle(FILE *o, const struct ukf_calib_idle_curve *c,
		     double medf, const char *key, int per_byte,
		     const char *spells)
{
	double x[UKF_CALIB_MAX_IDLE + 1], y[UKF_CALIB_MAX_IDLE + 1];
	size_t n = 0;
	/* figures printed in us, or ns a byte */
	double sc = per_byte ? 1 : 1e-3;
	const char *u = per_byte ? " ns/byte" : " us";

	if (!c->ngroups)
		return;
	if (per_byte)
		fprintf(o,
			"# Cold boots (bootbench, launch -> ready) each an idle "
			"spell after the last ended (plan key\n"
			"# idle), against the %zu back to back: each one's "
			"excess per byte of guest memory over the\n"
			"# median back-to-back boot's at its size, the median, "
			"95%% interval (bootstrap of both sets),\n"
			"# over the boot spread's median factor %.4f (the "
			"simulator scales the whole cost by it):\n",
			c->fit[0].nbase, medf);
	else
		fprintf(o,
			"# Template clones after idle spells (plan key idle), "
			"request -> READY, against the %zu after the\n"
			"# plan's gap (their spell since the last instance "
			"ended: a median %.1f ms): each one's excess\n"
			"# over the median gap clone at its size, the median, "
			"95%% interval (bootstrap of both sets),\n"
			"# over the clone spread's median factor %.4f (the "
			"simulator scales the whole cost by it):\n",
			c->fit[0].nbase, c->spell_gap / 1e6, medf);
	if (c->ngap) {
		x[n] = c->spell_gap;
		y[n++] = 0;
	}
	for (size_t k = 0; k < c->ngroups; k++) {
		const struct ukf_calib_idle *r = &c->fit[k];
		if (!r->fitted) {
			/* what is missing: a spell (spell_gap, spell_<ms>
			 * samples) or enough clones */
			fprintf(o, "#   %g ms: %zu samples (%zu at a size with "
				   "base ones): not fitted: ",
				c->ms[k], r->nidle, r->nused);
			if (!r->nspell_base && spells)
				fprintf(o, "no %sgap samples (the base "
					   "clones' spell)\n", spells);
			else if (!r->nspell_idle && spells)
				fprintf(o, "no %s%g samples (this spell)\n",
					spells, c->ms[k]);
			else
				fprintf(o, "%zu idle and %zu base samples "
					   "(2 of each at least)\n",
					r->nused, r->nbase);
			continue;
		}
		double w = fmax(0, r->wake / medf);
		int kept = n && r->spell_idle > x[n - 1];
		fprintf(o,
			"#   %g ms: %zu samples, spell median %.1f ms, excess "
			"%.4g%s [%.4g, %.4g] -> %.4g%s%s\n",
			c->ms[k], r->nused, r->spell_idle / 1e6, r->wake * sc, u,
			r->lo * sc, r->hi * sc, w * sc, u,
			kept ? "" : " (not after the point before: left out)");
		if (kept) {
			x[n] = r->spell_idle;
			y[n++] = w;
		}
	}
	put_curve(o, key, "spell", x, y, n, per_byte, "calibrate");
	fputc('\n', o);
}

static void put_local_clone(FILE *o, const struct meddiff *lc, int eng)
{
	if (!lc->nlocal && !lc->nremote)
		return;
	if (!lc->fitted) {
		fprintf(o,
			"# Template clones started where requested / for a "
			"peer: %zu / %zu (2 of each at least):\n"
			"# local_clone_ns not fitted, keeps its default\n\n",
			lc->nlocal, lc->nremote);
		return;
	}
	fprintf(o,
		"# A template clone started on the node that requested it, "
		"start -> READY: median of %zu\n"
		"# %.1f us, against %.1f us for %zu started there for a "
		"peer%s:\n"
		"local_clone_ns = %.0f   # source: calibrate --cluster\n\n",
		lc->nlocal, lc->local / 1e3, lc->remote / 1e3, lc->nremote,
		eng ? " (the template clone fit above took it off the alone "
		      "step's clones)"
		    : "",
		lc->diff);
}

static void put_peer_msg(FILE *o, const struct meddiff *pm)
{
	if (!pm->fitted) {
		fprintf(o,
			"# Peer messages: not fitted (%zu template clones "
			"started where requested, %zu on\n"
			"# another node; 2 of each at least): peer_msg_ns "
			"keeps its default\n",
			pm->nlocal, pm->nremote);
		return;
	}
	fprintf(o,
		"# Peer messages: a template clone's placement -> its start, "
		"median of %zu started on\n"
		"# another node than the one it was requested from, less "
		"the link's latency: %.1f us;\n"
		"# median of %zu started where requested: %.1f us. The "
		"difference is the node agents'\n"
		"# own delay on a message between nodes (sim adds it to "
		"every such message, and the\n"
		"# remote keys below are less it: 1 message per delta save, "
		"2 per template fetch):\n"
		"peer_msg_ns = %.0f   # source: calibrate --cluster\n",
		pm->nremote, pm->remote / 1e3, pm->nlocal, pm->local / 1e3,
		pm->diff);
}

/* fetched_first_ns_per_byte (--cluster): the restores of children that
 * fetched the template first, less what the restore's least-squares line
 * gives at their pages and the agent's message, against the template's
 * bytes, by least squares through the origin; times the restore's spread
 * mean, as the restore keys (sim draws the restore's factor over both). */
struct fetchfirst {
	int fitted;
	size_t n;
	const char *why; /* not fitted: why (NULL: no samples) */
	double k; /* ns per template byte, >= 0 */
	/* per template size (x, bytes): mean extra (y, ns), and how many */
	struct ukf_sim_curve extra;
	size_t cnt[UKF_SIM_CURVE_MAX];
};

/* -1 out of memory */
static int fit_fetched_first(const struct opfit *r, const struct opfit *b,
			     const struct opfit *rs, double agent,
			     struct fetchfirst *ff)
{
	double sxy = 0, sxx = 0;

	memset(ff, 0, sizeof(*ff));
	ff->n = r->n;
	if (!r->n && !b->n)
		return 0;
	/* the two ops are one sample each per child, in the same order */
	if (r->n != b->n) {
		ff->why = "the restores and their template sizes differ in "
			  "number";
		return 0;
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->y[i] != b->y[i]) {
			ff->why = "the restores and their template sizes do "
				  "not pair";
			return 0;
		}
	if (!rs->fitted) {
		ff->why = "the restore line is not fitted";
		return 0;
	}
	if (r->n < 2) {
		ff->why = "fewer than 2 such restores";
		return 0;
	}
	double *e = malloc(r->n * sizeof(*e));
	if (!e)
		return -1;
	/* the least-squares line: the keys are it times the spread's mean */
	double m = rs->dist_mean > 0 ? rs->dist_mean : 1;
	for (size_t i = 0; i < r->n; i++) {
		e[i] = r->y[i] - agent - (rs->base + rs->slope * r->x[i]) / m;
		sxy += b->x[i] * e[i];
		sxx += b->x[i] * b->x[i];
	}
	int groups = means_by_x(b->x, e, r->n, &ff->extra, ff->cnt, 0);
	free(e);
	if (groups < 0)
		return -1;
	if (!(sxx > 0)) {
		ff->why = "no template bytes";
		return 0;
	}
	ff->k = fmax(0, sxy / sxx) * m;
	for (uint32_t k = 0; k < ff->extra.n; k++)
		ff->extra.y[k] *= m;
	ff->fitted = 1;
	return 0;
}

static void put_fetched_first(FILE *o, const struct fetchfirst *ff)
{
	if (!ff->fitted) {
		if (ff->why)
			fprintf(o,
				"# First start from a fetched template: not "
				"fitted (%zu restores after a fetch): %s;\n"
				"# fetched_first_ns_per_byte keeps its "
				"default\n",
				ff->n, ff->why);
		return;
	}
	fprintf(o,
		"# First start from a fetched template: the restore of a "
		"child that fetched its\n"
		"# template first, less the restore line at its pages and "
		"agent_msg_ns, against\n"
		"# the template's bytes (least squares through the origin, "
		"n=%zu; times the restore's\n"
		"# spread mean, as the restore keys); sim adds it to a "
		"restore that is the first\n"
		"# start from a template its node fetched:\n"
		"fetched_first_ns_per_byte = %.6g   # source: calibrate "
		"--cluster\n",
		ff->n, ff->k);
	for (uint32_t k = 0; k < ff->extra.n; k++)
		fprintf(o,
			"#   %.1f MiB: %.3f ms more (mean of %zu, times the "
			"spread's mean), the key %.3f ms\n",
			ff->extra.x[k] / 1048576.0, ff->extra.y[k] / 1e6,
			ff->cnt[k], ff->k * ff->extra.x[k] / 1e6);
}

/* msg_idle_curve (--cluster with plan key idle): its first point the gap
 * clones' node spell at 0, then each idle spell's estimate (0 when not
 * above 0) at its remote clones' median node spell; a spell not fitted,
 * or not longer than the point before, is left out. Only with peer_msg_ns
 * fitted (the estimates are over it). */
static void put_msg_idle(FILE *o, const struct ukf_calib_msg_idle *c,
			 const struct meddiff *pm)
{
	struct ukf_sim_curve cv;

	if (!c->ngroups)
		return;
	if (!pm->fitted) {
		fprintf(o, "# Template clones after idle spells: %zu spell(s); "
			   "msg_idle_curve not fitted (no peer_msg_ns)\n",
			c->ngroups);
		return;
	}
	fprintf(o,
		"# Template clones after idle spells (plan key idle), "
		"placement -> start: the median of\n"
		"# those on another node (less the link's latency) less "
		"the median of those where requested,\n"
		"# less the same after the gap (peer_msg_ns; the remote "
		"ones' node idle a median %.1f ms),\n"
		"# 95%% interval (bootstrap of the four sets); at the "
		"remote ones' median node spell:\n",
		c->spell_gap / 1e6);
	ukf_calib_msg_idle_points(c, &cv);
	uint32_t next = 1; /* the points after the gap's, in the groups' order */
	for (size_t k = 0; k < c->ngroups; k++) {
		const struct ukf_calib_msg_group *g = &c->g[k];
		if (!g->fitted) {
			fprintf(o,
				"#   %g ms: %zu remote, %zu local (2 of each "
				"at least, and the gap's): not fitted\n",
				c->ms[k], g->nremote, g->nlocal);
			continue;
		}
		int kept = next < cv.n && cv.x[next] == g->spell;
		next += kept;
		fprintf(o,
			"#   %g ms: %zu remote, %zu local, node spell "
			"median %.1f ms, extra %.1f us [%.1f, %.1f]%s\n",
			c->ms[k], g->nremote, g->nlocal, g->spell / 1e6,
			g->wake / 1e3, g->lo / 1e3, g->hi / 1e3,
			kept ? "" : " (not after the point before: left out)");
	}
	put_curve(o, "msg_idle_curve", "node spell", cv.x, cv.y, cv.n, 0,
		  "calibrate --cluster");
}

/* delta_idle_curve (--cluster with plan key idle): its first point the
 * gap forks' target spell at 0, then each idle spell's estimate (0 when
 * not above 0) at its forks' median target spell; a spell not fitted, or
 * not longer than the point before, is left out. */
static void put_delta_idle(FILE *o, const struct ukf_calib_delta_idle *c,
			   const struct ukf_calib_delta_idle *back)
{
	struct ukf_sim_curve cv;

	if (!c->ngroups)
		return;
	fprintf(o,
		"# Remote forks after idle spells (plan key idle, apps idlef "
		"and idlew, the parent started\n"
		"# where requested), placement -> the restore's start: the "
		"median of those after each spell less\n"
		"# the median of %zu after the gap (their target idle a "
		"median %.1f ms), less what\n"
		"# msg_idle_curve (when written) charges the fork's message "
		"there, 95%% interval (bootstrap of both sets);\n"
		"# at the forks' median target spell:\n",
		c->ngap, c->spell_gap / 1e6);
	ukf_calib_delta_idle_points(c, &cv);
	uint32_t next = 1; /* the points after the gap's, in the groups' order */
	for (size_t k = 0; k < c->ngroups; k++) {
		const struct ukf_calib_delta_group *g = &c->g[k];
		if (!g->fitted) {
			fprintf(o,
				"#   %g ms: %zu fork(s), %zu after the gap (2 "
				"of each at least): not fitted\n",
				c->ms[k], g->n, c->ngap);
			continue;
		}
		int kept = next < cv.n && cv.x[next] == g->spell;
		next += kept;
		fprintf(o,
			"#   %g ms: %zu forks, target spell median %.1f ms, "
			"extra %.1f us [%.1f, %.1f] beside msg_idle_curve's "
			"%.1f us%s\n",
			c->ms[k], g->n, g->spell / 1e6, g->extra / 1e3,
			g->lo / 1e3, g->hi / 1e3, g->msg / 1e3,
			kept ? "" : " (not after the point before: left out)");
	}
	put_curve(o, "delta_idle_curve", "target spell", cv.x, cv.y, cv.n, 0,
		  "calibrate --cluster");
	/* the forks whose parent started on another node: the spell's rule */
	fprintf(o, "# The same of the remote forks back to the node that "
		   "requested their parent elsewhere\n# (mostly app idlew's; "
		   "the node's agent awake from that message), nothing "
		   "less:\n");
	if (!back->ngroups)
		fprintf(o, "#   none\n");
	for (size_t k = 0; k < back->ngroups; k++) {
		const struct ukf_calib_delta_group *g = &back->g[k];
		fprintf(o,
			"#   %g ms: %zu fork(s), target spell median %.1f ms, "
			"%zu after the gap: ",
			back->ms[k], g->n, g->spell / 1e6, back->ngap);
		if (g->fitted)
			fprintf(o, "extra %.1f us [%.1f, %.1f]\n",
				g->extra / 1e3, g->lo / 1e3, g->hi / 1e3);
		else
			fprintf(o, "too few (2 of each at least)\n");
	}
	if (cv.n < 2)
		return;
	size_t k, kb;
	int since = ukf_calib_delta_idle_since(c, back, &k, &kb);
	if (k == c->ngroups) {
		fprintf(o, "# delta_idle_since not written: no spell fitted "
			   "in both (the simulator keeps\n# its default, "
			   "message: a message between nodes ends the spell "
			   "too)\n");
		return;
	}
	fprintf(o,
		"# delta_idle_since: at %g ms those back %.1f us "
		"against the curve's %.1f us: %s\n",
		c->ms[k], back->g[kb].extra / 1e3, c->g[k].extra / 1e3,
		since == UKF_SIM_SINCE_ACTIVITY
			? "above 0 and nearer it than 0, so the "
			  "spell\n# counts from backend activity "
			  "alone (a message does not spare the node)"
			: "not above 0 or nearer 0 than it, so a "
			  "message\n# between nodes ends the spell "
			  "too (an awake agent pays nothing)");
	fprintf(o, "delta_idle_since = %s   # source: calibrate --cluster\n",
		since == UKF_SIM_SINCE_ACTIVITY ? "activity" : "message");
}

/* The remote operations' keys (--cluster calibrations). */
static void put_remote(FILE *o, const struct opfit *sv, const struct opfit *rs,
		       const struct opfit *tf, const struct opfit *rf,
		       double restore_base, double agent,
		       const struct meddiff *pm,
		       const struct ukf_calib_msg_idle *mi,
		       const struct ukf_calib_delta_idle *di,
		       const struct ukf_calib_delta_idle *db,
		       const struct fetchfirst *ff)
{
	char l1[96], l2[96], l3[96];

	links_text(sv, l1, sizeof(l1));
	links_text(rs, l2, sizeof(l2));
	links_text(tf, l3, sizeof(l3));
	fprintf(o,
		"# Remote operations (calibrate --cluster: node agents), "
		"less what the simulator charges\n"
		"# beside the fitted cost: agent_msg_ns = %.0f ns per "
		"backend event, and the link (its\n"
		"# latency, bandwidth) the samples were measured over: the "
		"same setting in a scenario's\n"
		"# cluster { latency =, bandwidth = } composes the "
		"measured times again.\n",
		agent);
	put_peer_msg(o, pm);
	put_msg_idle(o, mi, pm);
	put_delta_idle(o, di, db);
	if (sv->fitted) {
		fprintf(o,
			"# Delta save: a remote fork child's placement -> its "
			"restore's start on the target (no\n"
			"# template fetched on the way) less agent_msg_ns, "
			"the link's latency, peer_msg_ns and\n"
			"# pages x 4096 / bandwidth (link: %s), against "
			"pages copied:\n",
			l1);
		put_line_comment(o, sv, "page");
		put_clamped(o, sv);
		fprintf(o,
			"save_ns_per_page = %.0f   # source: calibrate "
			"--cluster\n",
			sv->slope);
		if (!rs->fitted && sv->base != 0)
			fprintf(o,
				"# (the save line's base, %.0f ns, is not "
				"written: sim charges a save no base, and\n"
				"# restore_base_ns, which would carry it, is not "
				"fitted)\n",
				sv->base);
		put_dist(o, sv);
	} else {
		put_not_fitted(o, "Delta save", sv,
			       "save_ns_per_page keeps its default");
	}
	if (rs->fitted) {
		fprintf(o,
			"# Restore: the restore's start -> ready on the target "
			"less agent_msg_ns (link: %s),\n"
			"# against pages copied:\n",
			l2);
		put_line_comment(o, rs, "page");
		put_clamped(o, rs);
		fprintf(o,
			"# restore_base_ns: the restore line's base %.0f ns "
			"plus the save line's %.0f ns\n"
			"# (sim charges a save no base of its own)\n",
			rs->base, sv->fitted ? sv->base : 0.0);
		fprintf(o,
			"restore_base_ns = %.0f   # source: calibrate "
			"--cluster\n",
			restore_base);
		fprintf(o,
			"restore_ns_per_page = %.0f   # source: calibrate "
			"--cluster\n",
			rs->slope);
		put_dist(o, rs);
		put_fetched_first(o, ff);
	} else {
		put_not_fitted(o, "Restore", rs,
			       "restore_base_ns and restore_ns_per_page keep "
			       "their defaults");
	}
	if (tf->fitted) {
		fprintf(o,
			"# Template fetch: template-fetch -> template-ready on "
			"the fetching node less\n"
			"# agent_msg_ns, 2 latencies, 2 peer_msg_ns and bytes "
			"/ bandwidth (link: %s),\n"
			"# against template bytes:\n",
			l3);
		put_line_comment(o, tf, "byte");
		put_clamped(o, tf);
		if (!tf->curve.n) {
			fprintf(o,
				"load_base_ns = %.0f   # source: calibrate "
				"--cluster\n",
				tf->base);
			fprintf(o,
				"load_ns_per_byte = %.6g   # source: "
				"calibrate --cluster\n",
				tf->slope);
		} else {
			fprintf(o,
				"#   that line (load_base_ns %.0f, "
				"load_ns_per_byte %.6g) is not written: it\n"
				"#   misses sizes between its ends when the cost "
				"does not grow linearly. The median\n"
				"#   at each of the %u sizes measured (bytes "
				"ns; times the spread's mean), which sim\n"
				"#   takes in place of load_base_ns and "
				"load_ns_per_byte, the spread of each sample\n"
				"#   over its size's median:\n"
				"load_curve =",
				tf->base, tf->slope, tf->curve.n);
			for (uint32_t j = 0; j < tf->curve.n; j++)
				fprintf(o, " %.0f %.0f", tf->curve.x[j],
					tf->curve.y[j]);
			fprintf(o, "   # source: calibrate --cluster\n");
			for (uint32_t j = 0; j < tf->curve.n; j++) {
				double l = tf->base + tf->slope * tf->curve.x[j];
				fprintf(o,
					"#   %.1f MiB: %.3f ms (%.2f ns/byte), "
					"the line %.3f ms (%+.1f%%)\n",
					tf->curve.x[j] / 1048576.0,
					tf->curve.y[j] / 1e6,
					tf->curve.x[j] > 0
					    ? tf->curve.y[j] / tf->curve.x[j]
					    : 0.0,
					l / 1e6,
					tf->curve.y[j] > 0
					    ? 100 * (l - tf->curve.y[j]) /
						  tf->curve.y[j]
					    : 0.0);
			}
		}
		put_dist(o, tf);
	} else {
		put_not_fitted(o, "Template fetch", tf,
			       "load_base_ns, load_ns_per_byte and load_curve "
			       "keep their defaults");
	}
	if (rf->n && sv->fitted && rs->fitted) {
		double m = 0, c = 0;
		for (size_t i = 0; i < rf->n; i++) {
			double x = rf->x[i];
			m += rf->y[i];
			c += sv->slope * x + agent +
			     net_ns(rf, i, 1, x * SIM_PAGE, pm->diff) +
			     restore_base +
			     rs->slope * x + agent;
		}
		fprintf(o,
			"# Check: remote fork request -> ready, mean of %zu: "
			"measured %.3f ms; the keys above\n"
			"# composed as sim charges them (save, agent, link, "
			"peer message, restore, agent; no queueing, no\n"
			"# placement time): %.3f ms. Both, and every line above, "
			"leave out the children\n"
			"# that fetched the template first (sim charges them "
			"the fetch and\n"
			"# fetched_first_ns_per_byte).\n",
			rf->n, m / (double)rf->n / 1e6,
			c / (double)rf->n / 1e6);
	}
	fputc('\n', o);
}

/* ---- directory propagation (calibrate --directory) ---- */

/* One directory's update-to-visibility samples and their fit. */
struct dirfit {
	const char *op;	  /* "dir_embedded", "dir_etcd" */
	const char *what; /* for the file */
	size_t n;
	double *y; /* sorted */
	int fitted;
	double med, p99;
	double ci[2][2]; /* [median, p99][lo, hi]; NAN: beyond the sample */
	int have_ln;
	struct ukf_calib_dist ln; /* lognormal MLE */
};

/*
 * The distribution-free 95% confidence interval of the q quantile from
 * the order statistics of y[0..n-1] (sorted): ranks l < u with
 * P(l <= B <= u - 1) >= 0.95 for B ~ Binomial(n, q), each tail 2.5% at
 * most. A bound no rank gives (too few samples for that tail) is NAN.
 */
static void order_ci(const double *y, size_t n, double q, double ci[2])
{
	ci[0] = ci[1] = NAN;
	for (size_t l = n; l >= 1; l--)
		if (gsl_cdf_binomial_P((unsigned)(l - 1), q, (unsigned)n) <=
		    0.025) {
			ci[0] = y[l - 1];
			break;
		}
	for (size_t u = 1; u <= n; u++)
		if (gsl_cdf_binomial_Q((unsigned)(u - 1), q, (unsigned)n) <=
		    0.025) {
			ci[1] = y[u - 1];
			break;
		}
}

static int dirfit_collect(const ukf_calib_set_t *s, struct dirfit *d)
{
	struct ukf_calib_sel sel;

	if (ukf_calib_set_select(s, d->op, 0, &sel) < 0)
		return -1;
	d->y = sel.y; /* kept: the rest freed */
	d->n = sel.n;
	sel.y = NULL;
	ukf_calib_sel_free(&sel);
	if (d->n < 2)
		return 0;
	qsort(d->y, d->n, sizeof(double), cmp_double);
	d->med = gsl_stats_quantile_from_sorted_data(d->y, 1, d->n, 0.5);
	d->p99 = gsl_stats_quantile_from_sorted_data(d->y, 1, d->n, 0.99);
	order_ci(d->y, d->n, 0.5, d->ci[0]);
	order_ci(d->y, d->n, 0.99, d->ci[1]);
	d->have_ln = ukf_calib_fit_family(d->y, d->n, UKF_CALIB_LOGNORMAL,
					  &d->ln) == 0;
	d->fitted = 1;
	return 0;
}

/* 1 if the interpolated p99 lies outside its own order-statistic interval
 * (n = 2: the interval's lower bound is the larger sample, the estimate
 * just below it): a valid bound, a poor estimate; said beside it. */
static int p99_outside(const struct dirfit *d)
{
	return (!isnan(d->ci[1][0]) && d->p99 < d->ci[1][0]) ||
	       (!isnan(d->ci[1][1]) && d->p99 > d->ci[1][1]);
}

static void put_us(FILE *o, double ns)
{
	if (isnan(ns))
		fprintf(o, "beyond the sample");
	else
		fprintf(o, "%.1f us", ns / 1e3);
}

/*
 * The keys this file leaves to the simulator's defaults, with their values
 * (data/model.conf's), read back from the file as sim/ reads it: a file
 * made by --backend kvm has no remote-fork or template-fetch keys, and
 * what sim then charges for those should not have to be guessed. The
 * file, once written, must load: -1 (reason in err) if sim/ refuses it.
 * Not done for a path that is not a regular file (sim/ reads only those).
 */
static int put_unset(FILE *o, const char *path, char *err, size_t errlen)
{
	struct ukf_sim_model m, def;
	struct stat st;
	uint64_t given = 0;
	char names[600], e[512];

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	ukf_sim_model_default(&m);
	def = m;
	if (ukf_sim_model_load_keys(&m, path, &given, NULL, e, sizeof(e)) < 0) {
		snprintf(err, errlen,
			 "the model file written does not load in the "
			 "simulator: %s",
			 e);
		return -1;
	}
	if (!ukf_sim_model_unset(given, names, sizeof(names)))
		return 0;
	fprintf(o, "\n# Not in this file (not measured by this calibration): "
		   "the simulator keeps data/model.conf's\n"
		   "# values, the compiled-in defaults (published figures; 0: "
		   "off), for\n");
	for (char *k = names; *k;) {
		size_t l = strcspn(k, ",");
		char key[64], v[48];
		snprintf(key, sizeof(key), "%.*s", (int)l, k);
		if (ukf_sim_model_format(&def, key, v, sizeof(v)) == 0)
			fprintf(o, "#   %s = %s\n", key, v);
		k += l;
		while (*k == ',' || *k == ' ')
			k++;
	}
	if (strstr(names, "restore_") ||
	    strstr(names, "load_base_ns") || strstr(names, "save_ns_per_page"))
		fprintf(o, "# Remote forks and template fetches "
			   "(save_ns_per_page, restore_*, load_*) need two "
			   "nodes:\n# `ukfork calibrate --cluster FILE` "
			   "measures them; `--from-db DB --calib ID,ID`\n"
			   "# fits a one-node and a cluster calibration into "
			   "one file (--cluster also measures\n"
			   "# the node's clones and forks through an agent: for "
			   "a model of the agents, give the\n"
			   "# one-node calibration a plan with ops = none and "
			   "alone = none).\n");
	if (fflush(o) || ferror(o)) {
		snprintf(err, errlen, "%s: write error: %s", path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static void put_dir(FILE *o, const struct dirfit *d, int keys)
{
	const double z99 = gsl_cdf_ugaussian_Pinv(0.99);

	fprintf(o,
		"# Directory propagation, %s: update to visibility at the "
		"other member\n"
		"# (both in one process, one clock), n=%zu, min %.1f us, max "
		"%.1f us:\n",
		d->what, d->n, d->y[0] / 1e3, d->y[d->n - 1] / 1e3);
	fprintf(o, "#   empirical median %.1f us, 95%% CI [", d->med / 1e3);
	put_us(o, d->ci[0][0]);
	fprintf(o, ", ");
	put_us(o, d->ci[0][1]);
	fprintf(o, "] (order statistics)\n#   empirical p99 %.1f us, 95%% CI [",
		d->p99 / 1e3);
	put_us(o, d->ci[1][0]);
	fprintf(o, ", ");
	put_us(o, d->ci[1][1]);
	fprintf(o, "]\n");
	if (p99_outside(d))
		fprintf(o, "#   (n=%zu is too few for a p99: the estimate lies "
			   "outside its own interval; measure more, -n)\n",
			d->n);
	if (d->have_ln)
		fprintf(o,
			"#   lognormal MLE: mu %.4f, sigma %.4f (KS D %.3f): "
			"median %.1f us, p99 %.1f us\n"
			"#   (the keys' lognormal, median and p99 as measured: "
			"sigma %.4f)\n",
			d->ln.p1, d->ln.p2, d->ln.ks_d, exp(d->ln.p1) / 1e3,
			exp(d->ln.p1 + z99 * d->ln.p2) / 1e3,
			d->p99 > d->med ? log(d->p99 / d->med) / z99 : 0.0);
	if (keys)
		fprintf(o,
			"# The simulator draws each record's delay from the "
			"lognormal with this median and p99\n"
			"# (a scenario naming this file and setting no "
			"dir_delay, dir_delay_p99 or directory):\n"
			"dir_delay_ns = %.0f   # source: calibrate --directory, "
			"empirical median\n"
			"dir_delay_p99_ns = %.0f   # source: calibrate "
			"--directory, empirical p99\n",
			d->med, fmax(d->p99, d->med));
	else
		fprintf(o, "#   (no keys: several directories in one fit; "
			   "refit one calibration, --calib ID)\n");
	fputc('\n', o);
}

static void dir_summary(FILE *o, const struct dirfit *d)
{
	if (!d->fitted) {
		fprintf(o, "%-13s %5zu  (not fitted: too few samples)\n", d->op,
			d->n);
		return;
	}
	fprintf(o, "%-13s %5zu  median %.1f us [", d->op, d->n, d->med / 1e3);
	put_us(o, d->ci[0][0]);
	fprintf(o, ", ");
	put_us(o, d->ci[0][1]);
	fprintf(o, "], p99 %.1f us [", d->p99 / 1e3);
	put_us(o, d->ci[1][0]);
	fprintf(o, ", ");
	put_us(o, d->ci[1][1]);
	fprintf(o, "]%s", p99_outside(d) ? " (too few samples for a p99)" : "");
	if (d->have_ln)
		fprintf(o, "  lognormal(%.4g, %.4g) p99 %.1f us KS D %.3f",
			d->ln.p1, d->ln.p2,
			exp(d->ln.p1 + gsl_cdf_ugaussian_Pinv(0.99) * d->ln.p2) /
			    1e3,
			d->ln.ks_d);
	fputc('\n', o);
}

/* ---- cold boots with the app's init (plan key boot_init) ---- */

/* Samples "boot_init_<MiB>" (x = init ns) of cold boots at that memory,
 * with the "boot" samples at the same memory as init 0. */
#define BI_PREFIX "boot_init_"

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a,
		      y = *(const unsigned long *)b;
	return (x > y) - (x < y);
}

struct bi_pair {
	double x, y;
};

static int cmp_pair(const void *a, const void *b)
{
	const struct bi_pair *p = a, *q = b;
	return (p->x > q->x) - (p->x < q->x);
}

/* The MiB of a boot_init op, or 0 if op is not one. */
static unsigned long bi_mib(const char *op)
{
	size_t l = strlen(BI_PREFIX);
	char *end;
	if (strncmp(op, BI_PREFIX, l) || op[l] < '1' || op[l] > '9')
		return 0;
	unsigned long v = strtoul(op + l, &end, 10);
	return *end ? 0 : v;
}

/* One (memory, init) point of the comparison. */
struct bi_point {
	unsigned long mib;
	double init, measured, composed, additive, overlap, touch;
	size_t n;
};

/*
 * For each memory size with boot_init samples: the least-squares line of
 * boot time against init (comments of o), and per init the measured mean
 * against what sim charges with the boot keys fitted (boot, composed as
 * sim/backend.c does: boot_base_ns + max(init, mem x boot_ns_per_mem_byte))
 * and against no overlap at all (the mean at init 0 plus init); the
 * overlap is the part of the init-0 boot hidden under init. Rows to
 * summary (may be NULL). 0, or -1 (out of memory).
 */
static int put_boot_init(FILE *o, FILE *summary, const ukf_calib_set_t *s,
			 const struct opfit *boot)
{
	size_t n = ukf_calib_set_count(s), nm = 0;
	unsigned long mibs[64];
	const char *op;
	double x, ns;

	for (size_t i = 0; i < n; i++) {
		ukf_calib_set_get(s, i, &op, &x, &ns);
		unsigned long m = bi_mib(op);
		size_t j = 0;
		while (m && j < nm && mibs[j] != m)
			j++;
		if (m && j == nm && nm < sizeof(mibs) / sizeof(mibs[0]))
			mibs[nm++] = m;
	}
	if (!nm)
		return 0;
	qsort(mibs, nm, sizeof(mibs[0]), cmp_ulong);
	struct bi_pair *v = malloc(n * sizeof(*v));
	struct bi_point *pt = malloc(n * sizeof(*pt));
	size_t npt = 0;
	if (!v || !pt) {
		free(v);
		free(pt);
		return -1;
	}
	fprintf(o,
		"# Cold boot with the app's init (plan key boot_init): READY "
		"comes when synth has\n"
		"# touched its memory and init has passed since it began "
		"(guest/apps/synth.c); sim\n"
		"# charges boot_base_ns + max(init, mem x "
		"boot_ns_per_mem_byte) (sim/backend.c).\n"
		"# Per memory size, boot time = c0 + c1 x init (least "
		"squares, init 0 from the\n"
		"# cold boots above), then per init: measured mean; composed "
		"as sim does with the\n"
		"# keys above; additive (the init-0 mean + init: no "
		"overlap); overlap = init-0 mean\n"
		"# + init - measured (touch time hidden under init; sim's "
		"composition has\n"
		"# min(init, mem x boot_ns_per_mem_byte)). Times in ms.\n");
	if (!boot->fitted)
		fprintf(o, "#   (cold boots at init 0 not fitted: no "
			   "composed figures)\n");
	else if (!boot->linear || boot->slope <= 0)
		fprintf(o,
			"#   (boot_ns_per_mem_byte is 0 (one memory size, or "
			"no slope): sim then adds\n"
			"#   init to the whole boot, touch included)\n");
	for (size_t m = 0; m < nm; m++) {
		char want[16];
		double mem = (double)mibs[m] * 1048576.0;
		size_t k = 0;
		snprintf(want, sizeof(want), BI_PREFIX "%lu", mibs[m]);
		for (size_t i = 0; i < n; i++) {
			ukf_calib_set_get(s, i, &op, &x, &ns);
			if (!(ns > 0) || !isfinite(ns) || !isfinite(x))
				continue;
			if (!strcmp(op, want) && x > 0)
				v[k++] = (struct bi_pair){x, ns};
			else if (!strcmp(op, "boot") && x == mem)
				v[k++] = (struct bi_pair){0, ns};
		}
		qsort(v, k, sizeof(*v), cmp_pair);
		double *xs = malloc((k ? k : 1) * sizeof(double));
		double *ys = malloc((k ? k : 1) * sizeof(double));
		if (!xs || !ys) {
			free(xs);
			free(ys);
			free(v);
			free(pt);
			return -1;
		}
		for (size_t i = 0; i < k; i++)
			xs[i] = v[i].x, ys[i] = v[i].y;
		struct ukf_calib_line l;
		if (ukf_calib_fit_line(xs, ys, k, &l) == 0)
			fprintf(o,
				"# %lu MiB: c0 = %.3f ms [%.3f, %.3f], c1 = "
				"%.4f [%.4f, %.4f] per ns of init, r2 = %.3f, "
				"n = %zu\n",
				mibs[m], l.c0 / 1e6, l.c0_lo / 1e6,
				l.c0_hi / 1e6, l.c1, l.c1_lo, l.c1_hi, l.r2, k);
		else
			fprintf(o, "# %lu MiB: no line (%zu samples)\n",
				mibs[m], k);
		free(xs);
		free(ys);
		double m0 = NAN;
		size_t first = npt;
		for (size_t i = 0; i < k;) {
			size_t j = i;
			double sum = 0;
			while (j < k && v[j].x == v[i].x)
				sum += v[j++].y;
			struct bi_point *q = &pt[npt++];
			q->mib = mibs[m];
			q->init = v[i].x;
			q->n = j - i;
			q->measured = sum / (double)q->n;
			if (v[i].x == 0)
				m0 = q->measured;
			q->touch = boot->fitted ? boot->slope * mem : NAN;
			q->composed = boot->fitted
					  ? boot->base + fmax(q->init, q->touch)
					  : NAN;
			i = j;
		}
		for (size_t i = first; i < npt; i++) {
			struct bi_point *q = &pt[i];
			q->additive = m0 + q->init;
			q->overlap = m0 + q->init - q->measured;
			fprintf(o,
				"#   init %9.3f  n %3zu  measured %9.3f  "
				"composed %9.3f  additive %9.3f  overlap "
				"%8.3f (sim: %.3f)\n",
				q->init / 1e6, q->n, q->measured / 1e6,
				q->composed / 1e6, q->additive / 1e6,
				q->overlap / 1e6,
				fmin(q->init, q->touch) / 1e6);
		}
	}
	/* how far each composition is from what was measured, init > 0 */
	double ec = 0, ea = 0;
	size_t ne = 0;
	for (size_t i = 0; i < npt; i++)
		if (pt[i].init > 0 && isfinite(pt[i].composed) &&
		    isfinite(pt[i].additive)) {
			ec += fabs(pt[i].composed - pt[i].measured) /
			      pt[i].measured;
			ea += fabs(pt[i].additive - pt[i].measured) /
			      pt[i].measured;
			ne++;
		}
	if (ne)
		fprintf(o,
			"# Check: mean |composed - measured| / measured over "
			"the %zu points with init > 0:\n"
			"# sim's composition %.1f%%, additive (no overlap) "
			"%.1f%%\n",
			ne, 100 * ec / (double)ne, 100 * ea / (double)ne);
	fputc('\n', o);
	if (summary) {
		fprintf(summary,
			"boot_init: MiB  init ms   n  measured ms  composed "
			"ms  additive ms  overlap ms\n");
		for (size_t i = 0; i < npt; i++)
			fprintf(summary,
				"boot_init %9lu %8.3f %3zu %12.3f %12.3f "
				"%12.3f %11.3f\n",
				pt[i].mib, pt[i].init / 1e6, pt[i].n,
				pt[i].measured / 1e6, pt[i].composed / 1e6,
				pt[i].additive / 1e6, pt[i].overlap / 1e6);
		if (ne)
			fprintf(summary,
				"boot_init composed vs measured: %.1f%% "
				"(sim), %.1f%% (additive), mean over %zu "
				"points\n",
				100 * ec / (double)ne, 100 * ea / (double)ne,
				ne);
	}
	free(v);
	free(pt);
	return 0;
}

/* The model file is line-based: a provenance text (a --note, a command
 * line, a path, a field of a database not written by us) with a newline
 * in it would start a line of its own, a key line to the loader. Its
 * copy here has every control character as a space; NULL stays NULL. */
static char flat(char c)
{
	return (unsigned char)c < 0x20 || c == 0x7f ? ' ' : c;
}

static char *one_line(const char *t, int *oom)
{
	if (!t)
		return NULL;
	char *c = strdup(t);
	if (!c) {
		*oom = 1;
		return NULL;
	}
	for (char *q = c; *q; q++)
		*q = flat(*q);
	return c;
}

/* Samples of kinds no fit takes (ukf_calib_kind_of: a misspelt 'Boot',
 * 'boot '): how many, and the first names with their counts, on o, each
 * line starting with pre. Said, not refused: a later ukfork's kinds are
 * stored and refitted by this one. */
static void put_unknown(FILE *o, const char *pre, const ukf_calib_set_t *s)
{
	enum { NAMES = 6 };
	const char *name[NAMES];
	size_t cnt[NAMES], nn = 0, all = 0, n = ukf_calib_set_count(s);

	for (size_t i = 0; i < n; i++) {
		const char *op;
		double x, ns;
		ukf_calib_set_get(s, i, &op, &x, &ns);
		if (ukf_calib_kind_of(op))
			continue;
		all++;
		size_t k = 0;
		while (k < nn && strcmp(name[k], op))
			k++;
		if (k < nn)
			cnt[k]++;
		else if (nn < NAMES)
			name[nn] = op, cnt[nn++] = 1;
	}
	if (!all)
		return;
	fprintf(o, "%swarning: %zu sample(s) of kinds no fit takes, not "
		   "fitted:", pre, all);
	for (size_t k = 0; k < nn; k++)
		fprintf(o, "%s '%s' x%zu", k ? "," : "", name[k], cnt[k]);
	fprintf(o, "%s\n", nn < all && nn == NAMES ? ", ..." : "");
}

int ukf_calib_model_write(const ukf_calib_set_t *s, const char *path,
			  FILE *summary, FILE *warn, char *err, size_t errlen)
{
	enum {
		BOOT,
		CLONE,
		FORK,
		TMPL,
		CLONE_ENG,
		AGENT,
		RSAVE,
		RRESTORE,
		TFETCH,
		RFORK,
		CLONE_FIRST,
		CLONE_BUSY,
		FORK_FIRST,
		FORK_BUSY,
		AGENT_BUSY,
		TOUCH,
		PLACED_LOCAL,
		PLACED_REMOTE,
		RFETCH_R,
		RFETCH_B,
		READY_LOCAL,
		READY_REMOTE,
		NOPS
	};
	struct opfit f[NOPS] = {
	    [BOOT] = {.op = "boot", .dist_key = "boot_dist"},
	    [CLONE] = {.op = "clone", .dist_key = "clone_dist"},
	    [FORK] = {.op = "fork", .dist_key = "fork_dist"},
	    [TMPL] = {.op = "template", .dist_key = "template_dist"},
	    [CLONE_ENG] = {.op = "clone_engine", .dist_key = "clone_dist"},
	    [AGENT] = {.op = "agent", .dist_key = NULL, .zero_ok = 1},
	    [RSAVE] = {.op = "rfork_save", .dist_key = "save_dist"},
	    [RRESTORE] = {.op = "rfork_restore", .dist_key = "restore_dist"},
	    [TFETCH] = {.op = "tfetch", .dist_key = "load_dist"},
	    [RFORK] = {.op = "rfork", .dist_key = NULL},
	    [CLONE_FIRST] = {.op = "clone_first", .dist_key = NULL},
	    [CLONE_BUSY] = {.op = "clone_busy", .dist_key = NULL},
	    [FORK_FIRST] = {.op = "fork_first", .dist_key = NULL},
	    [FORK_BUSY] = {.op = "fork_busy", .dist_key = NULL},
	    [AGENT_BUSY] = {.op = "agent_busy", .dist_key = NULL, .zero_ok = 1},
	    [TOUCH] = {.op = "touch", .dist_key = NULL, .zero_ok = 1},
	    [PLACED_LOCAL] = {.op = "placed_local", .dist_key = NULL,
			      .zero_ok = 1},
	    [PLACED_REMOTE] = {.op = "placed_remote", .dist_key = NULL,
			       .zero_ok = 1},
	    [RFETCH_R] = {.op = "rfetch_restore", .dist_key = NULL},
	    [RFETCH_B] = {.op = "rfetch_bytes", .dist_key = NULL},
	    [READY_LOCAL] = {.op = "ready_local", .dist_key = NULL},
	    [READY_REMOTE] = {.op = "ready_remote", .dist_key = NULL},
	};
	struct ukf_calib_idle_curve idle = {0}, bidle = {0};
	struct meddiff pm;
	struct ukf_calib_msg_idle mi = {0};
	struct ukf_calib_delta_idle di = {0}, db = {0};
	struct fetchfirst ff;
	struct dirfit dirs[2] = {
	    {.op = "dir_embedded",
	     .what = "embedded (the agents' update messages, ZeroMQ over "
		     "loopback TCP)"},
	    {.op = "dir_etcd",
	     .what = "etcd (lease-guarded write, watch, replica)"},
	};
	const struct ukf_calib_prov *p0 = ukf_calib_set_get_prov(s);
	struct ukf_calib_prov pv = *p0;
	const struct ukf_calib_prov *p = &pv;
	int oom = 0;
	char *pt[] = {
	    (char *)(pv.date = one_line(p0->date, &oom)),
	    (char *)(pv.host = one_line(p0->host, &oom)),
	    (char *)(pv.kvm = one_line(p0->kvm, &oom)),
	    (char *)(pv.backend = one_line(p0->backend, &oom)),
	    (char *)(pv.plan = one_line(p0->plan, &oom)),
	    (char *)(pv.command = one_line(p0->command, &oom)),
	    (char *)(pv.load = one_line(p0->load, &oom)),
	    (char *)(pv.cluster = one_line(p0->cluster, &oom)),
	    (char *)(pv.link = one_line(p0->link, &oom)),
	};
	FILE *o = NULL;
	int rc = -1, ndirs = 0;
	/* the boot_init rows of the summary, printed after its table */
	char *bis_text = NULL;
	size_t bis_len = 0;
	FILE *bis = summary ? open_memstream(&bis_text, &bis_len) : NULL;

	if (oom) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (int i = 0; i < NOPS; i++)
		if (collect(s, &f[i]) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	for (int i = 0; i < 2; i++) {
		if (dirfit_collect(s, &dirs[i]) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		ndirs += dirs[i].fitted;
	}
	fit_cost(&f[BOOT], 1, -1);
	/* cold boots after idle spells: per byte, against the boots' own */
	if (f[BOOT].fitted) {
		double *pb = malloc((f[BOOT].n + 1) * sizeof(double));
		int r = -1;
		if (pb) {
			for (size_t i = 0; i < f[BOOT].n; i++)
				pb[i] = f[BOOT].x[i] > 0
						? f[BOOT].y[i] / f[BOOT].x[i]
						: 0;
			r = ukf_calib_fit_idle_set(s, "boot_idle_", NULL,
						   f[BOOT].x, pb, f[BOOT].n, 0,
						   1, &bidle);
			free(pb);
		}
		if (r < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	fit_cost(&f[CLONE], 0, -1);
	fit_cost(&f[TMPL], 1, -1);
	fit_cost(&f[AGENT], 0, -1);
	/* With the engine's own samples (calibrations since the host model
	 * keys): the agent's service per message, template clones as the
	 * engine sees them less the two messages (STARTED, READY) the
	 * simulator's agent serves before the engine hears READY, forks
	 * with a free intercept (fork_base_ns) less the one message
	 * (STARTED) before the child is ready. Older calibrations: the
	 * bootbench clone and the fork's intercept fixed at it, as before. */
	double agent = f[AGENT].fitted ? f[AGENT].base : 0;
	/* local_clone_ns (--cluster): template clones started on the node
	 * that requested them against those started there for a peer,
	 * start -> READY, the difference of the medians (0 if negative);
	 * the alone step's clones, all local, are fitted less it */
	struct meddiff lc;
	if (fit_meddiff(&f[READY_LOCAL], &f[READY_REMOTE], 0, 0, &lc) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	int eng = 0;
	if (f[CLONE_ENG].n >= 2) {
		for (size_t i = 0; i < f[CLONE_ENG].n; i++)
			f[CLONE_ENG].y[i] = fmax(
			    f[CLONE_ENG].y[i] - 2 * agent - lc.diff, 1);
		/* against guest memory (the alone step's x): clone_base_ns
		 * + clone_ns_per_byte x bytes when the slope's 95% interval
		 * is above 0 (a negative intercept: the line through the
		 * origin, as fit_cost does); else a flat mean (sizes not
		 * varied, 0 in calibrations before the alone step; no clear
		 * rise). The line is fitted robustly (bisquare weights):
		 * the clones' spread is heavy-tailed (a few at 3-9 times
		 * the rest), which in least squares could hide a rise of a
		 * few us a MiB that the medians by size showed */
		/* the clones after each idle spell, taken alike, against
		 * these (their medians by size) */
		if (ukf_calib_fit_idle_set(s, "clone_idle_", "spell_",
					   f[CLONE_ENG].x, f[CLONE_ENG].y,
					   f[CLONE_ENG].n, 2 * agent + lc.diff,
					   0, &idle) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		f[CLONE_ENG].robust = 1;
		fit_cost(&f[CLONE_ENG], 1, -1);
		if (f[CLONE_ENG].linear &&
		    !(f[CLONE_ENG].have_free &&
		      f[CLONE_ENG].free_line.c1_lo > 0)) {
			/* the flat fit keeps the free line for the comment */
			f[CLONE_ENG].linear = f[CLONE_ENG].have_line = 0;
			fit_cost(&f[CLONE_ENG], 0, -1);
			snprintf(f[CLONE_ENG].note, sizeof(f[CLONE_ENG].note),
				 "the slope's 95%% interval reaches 0");
		}
		eng = f[CLONE_ENG].fitted;
	}
	/* the first clone at a memory size (its mean; clone_first_ns after
	 * the spreads), and the samples reported only */
	fit_cost(&f[CLONE_FIRST], 0, -1);
	fit_cost(&f[CLONE_BUSY], 0, -1);
	fit_cost(&f[FORK_FIRST], 0, -1);
	fit_cost(&f[FORK_BUSY], 0, -1);
	fit_cost(&f[AGENT_BUSY], 0, -1);
	/* a clone's unit against the pages it dirtied: the slope is
	 * touch_ns_per_page (the work, 1 ms, and the exit in the intercept) */
	fit_cost(&f[TOUCH], 1, -1);
	if (eng) {
		for (size_t i = 0; i < f[FORK].n; i++)
			f[FORK].y[i] = fmax(f[FORK].y[i] - agent, 1);
		fit_cost(&f[FORK], 1, -1);
		if (f[FORK].fitted && f[FORK].linear && f[FORK].base < 1)
			f[FORK].base = 1; /* fork_base_ns 0 would mean clone's */
	} else {
		fit_cost(&f[FORK], 1, f[CLONE].fitted ? f[CLONE].base : -1);
	}
	/* Remote operations (--cluster): what sim charges beside the fitted
	 * cost comes off first (docs/calibration.md, "--cluster"). A remote
	 * fork in sim: delta save (save_ns_per_page x pages, no base), its
	 * DELTA event through the agent, the delta over the link (latency +
	 * pages x 4096 / bandwidth), the restore on the target
	 * (restore_base_ns + restore_ns_per_page x pages) and its STARTED
	 * event. Save: a free line on placement -> restore start less the
	 * agent and the link; restore: a free line on restore start -> ready
	 * less the agent. sim has no save base: the save line's intercept
	 * goes to restore_base_ns with the restore's, so that the composed
	 * time is the measured one. A template fetch: the request and the
	 * image over the link (2 latencies + bytes / bandwidth), then
	 * load_base_ns + load_ns_per_byte x bytes and its TEMPLATE event. */
	if (fit_meddiff(&f[PLACED_LOCAL], &f[PLACED_REMOTE], 1, 1, &pm) < 0 ||
	    ukf_calib_fit_msg_idle(s, &mi) < 0 ||
	    ukf_calib_fit_delta_idle(s, 0, &mi, pm.fitted, &di) < 0 ||
	    ukf_calib_fit_delta_idle(s, 1, &mi, 0, &db) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	less_charged(&f[RSAVE], agent, 1, SIM_PAGE, pm.diff);
	less_charged(&f[RRESTORE], agent, 0, 0, pm.diff);
	less_charged(&f[TFETCH], agent, 2, 1, pm.diff);
	fit_cost(&f[RSAVE], 1, -1);
	fit_cost(&f[RRESTORE], 1, -1);
	fit_cost(&f[TFETCH], 1, -1);
	if (fit_curve(&f[TFETCH]) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	fit_cost(&f[RFORK], 1, -1);
	/* least-squares costs that one sample alone decides (before the
	 * spreads: the fitted cost itself); the robust clone line is left
	 * to its weights */
	static const struct {
		int op;
		const char *xu;
	} checked[] = {{BOOT, "byte"},	  {CLONE, "byte"},  {TMPL, "byte"},
		       {AGENT, "msg"},	  {TOUCH, "page"},  {FORK, "page"},
		       {RSAVE, "page"},	  {RRESTORE, "page"}, {TFETCH, "byte"},
		       {RFORK, "page"}};
	for (size_t k = 0; k < sizeof(checked) / sizeof(checked[0]); k++)
		if (check_influence(&f[checked[k].op]) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	int remote_shown = f[RSAVE].n || f[RRESTORE].n || f[TFETCH].n ||
			   f[RFORK].n || pm.fitted || p->cluster;
	int any = 0;
	for (int i = 0; i < NOPS; i++) {
		/* no distribution key of its own (a flat figure, samples
		 * reported or used by another fit), or not used */
		if (!f[i].dist_key || (i == CLONE && eng))
			continue;
		if (f[i].fitted && fit_spread(&f[i]) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		any |= f[i].fitted;
	}
	int anycost = any;
	/* after the restore's spread: its keys as sim charges them */
	if (fit_fetched_first(&f[RFETCH_R], &f[RFETCH_B], &f[RRESTORE], agent,
			      &ff) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	any |= ndirs > 0;
	/* after the spreads: their means scale the keys. The first clone at
	 * a size: what makes its mean (request -> READY) the measured one
	 * on top of the clone's key and two agent messages */
	double first_extra = -1, later_clone = 0;
	if (eng && f[CLONE_FIRST].fitted) {
		/* over a later clone at the first clones' sizes */
		later_clone = f[CLONE_ENG].base + 2 * agent + lc.diff +
			      f[CLONE_ENG].slope *
				      mean(f[CLONE_FIRST].x, f[CLONE_FIRST].n);
		first_extra = fmax(0, f[CLONE_FIRST].base - later_clone);
	}
	double restore_base = -1;
	if (f[RRESTORE].fitted)
		restore_base =
		    fmax(0, f[RRESTORE].base +
				(f[RSAVE].fitted ? f[RSAVE].base : 0));
	if (!any) {
		snprintf(err, errlen,
			 "nothing to fit: no operation has 2 samples or more "
			 "(%zu samples in all)",
			 ukf_calib_set_count(s));
		goto out;
	}
	/* jitter (operations without their own distribution): the median
	 * of the fitted lognormal sigmas */
	double sig[NOPS];
	int ns = 0;
	for (int i = 0; i < NOPS; i++)
		if (f[i].have_dist && f[i].all[0].family)
			sig[ns++] = f[i].all[0].p2;
		else if (f[i].fitted && f[i].no_spread)
			sig[ns++] = 0; /* spread by less than 0.1% */
	qsort(sig, (size_t)ns, sizeof(double), cmp_double);
	double jitter =
	    ns ? (ns % 2 ? sig[ns / 2] : (sig[ns / 2 - 1] + sig[ns / 2]) / 2)
	       : -1;

	if (!(o = fopen(path, "w"))) {
		snprintf(err, errlen, "%s: cannot write: %s", path,
			 strerror(errno));
		goto out;
	}
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
#define S(x) ((x) ? (x) : "?")
	fprintf(o,
		"# SPDX-License-Identifier: MIT\n"
		"# %s - simulator costs measured by `ukfork calibrate` "
		"(generated: regenerate, do not edit).\n#\n",
		base);
	if (p->sources)
		fprintf(o, "# Several calibrations fitted together (Merged, "
			   "below, gives each one's provenance);\n"
			   "# the last of them:\n");
	fprintf(o, "# Date: %s. Host: %s. Backend: %s.\n", S(p->date),
		S(p->host), S(p->backend));
	fprintf(o, "# KVM: %s.\n", S(p->kvm));
	fprintf(o, "# Plan: %s, n = %u per point. Load average: %s.\n",
		S(p->plan), p->n, S(p->load));
	fprintf(o, "# Command: %s\n", S(p->command));
	if (p->cluster)
		fprintf(o, "# Cluster: %s. Link: %s.\n", p->cluster,
			S(p->link));
	if (p->sources) {
		fprintf(o, "# Merged:");
		for (const char *q = p->sources; *q;) {
			size_t l = strcspn(q, "\n");
			fputs("\n#   ", o);
			for (; l; l--, q++) /* one line each */
				fputc(flat(*q), o);
			if (*q)
				q++;
		}
		fputc('\n', o);
	}
#undef S
	fprintf(
	    o,
	    "#\n"
	    "# Raw samples: tables calib_runs / calib_samples of the results\n"
	    "# database the command was given (--db); `ukfork calibrate\n"
	    "# --from-db DB --out FILE` refits them. Costs: least squares\n"
	    "# (gsl_fit_linear; 95%% CI from the t quantile and HC3\n"
	    "# standard errors, the spread growing with the cost) of the samples\n"
	    "# against x (memory bytes, pages copied), the simulator adding\n"
	    "# base + slope * x; the template clone's line bisquare-weighted\n"
	    "# (gsl_multifit_robust): its spread is heavy-tailed.\n"
	    "# Spread (*_dist): lognormal, gamma, Weibull\n"
	    "# and log-logistic (heavy, power-law tail) fitted by maximum\n"
	    "# likelihood to each sample divided by its\n"
	    "# fitted cost, the lowest AIC chosen; the simulator uses its\n"
	    "# shape with mean 1. Directory propagation (dir_delay_ns,\n"
	    "# dir_delay_p99_ns): the empirical median and p99 of the\n"
	    "# update-to-visibility samples. Keys not written keep\n"
	    "# data/model.conf's values. docs/calibration.md describes the\n"
	    "# method.\n\n");
	put_unknown(o, "# ", s);

	if (f[BOOT].fitted) {
		fprintf(o, "# Cold boot, launch -> ready against guest memory "
			   "bytes:\n");
		put_line_comment(o, &f[BOOT], "byte");
		/* merged: the last calibration's date need not be the
		 * boots' (Merged above dates each) */
		fprintf(o, "boot_base_ns = %.0f   # source: calibrate%s%s\n",
			f[BOOT].base, p->sources ? " (merged)" : ", ",
			p->sources ? "" : p->date ? p->date : "");
		fprintf(
		    o,
		    "boot_ns_per_byte = 0   # source: image size not varied\n");
		fprintf(o,
			"boot_ns_per_mem_byte = %.6g   # source: calibrate, "
			"per byte of guest memory\n",
			f[BOOT].slope);
		put_dist(o, &f[BOOT]);
		fputc('\n', o);
		put_idle(o, &bidle, median_factor(&f[BOOT]), "boot_idle_curve",
			 1, NULL);
	}
	if (put_boot_init(o, bis, s, &f[BOOT]) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (f[TMPL].fitted) {
		fprintf(o, "# Making a template (engine trace template-make -> "
			   "template-ready) against memory bytes:\n");
		put_line_comment(o, &f[TMPL], "byte");
		fprintf(o, "template_base_ns = %.0f   # source: calibrate\n",
			f[TMPL].base);
		fprintf(o,
			"template_ns_per_byte = %.6g   # source: calibrate\n",
			f[TMPL].slope);
		put_dist(o, &f[TMPL]);
		fputc('\n', o);
	}
	if (f[AGENT].fitted) {
		fprintf(o,
			"# The engine's own time from a request to its backend "
			"operation (t_start - t_request of template starts and "
			"forks%s, mean, n=%zu):\n"
			"# the node agent's service per message.\n",
			remote_shown ? " placed on their origin node, and "
				       "cold boots (--cluster)"
				     : "",
			f[AGENT].n);
		fprintf(o, "agent_msg_ns = %.0f   # source: calibrate\n",
			f[AGENT].base);
		put_influence(o, "#   ", &f[AGENT], "msg");
		if (f[AGENT_BUSY].fitted)
			fprintf(o,
				"#   not fitted: the same of the ops "
				"workload's starts, beside others, mean %.0f "
				"ns (n=%zu)\n",
				f[AGENT_BUSY].base, f[AGENT_BUSY].n);
		fprintf(o,
			"# The live engine runs every backend operation (clone, "
			"fork, template make, delta save/restore) on its one\n"
			"# event-loop thread (live/live.c, backends/kvm "
			"clone_live/make_template are synchronous): one server.\n"
			"monitor_slots = 1   # source: structure of live/ and "
			"backends/kvm, not fitted\n\n");
	}
	if (eng) {
		fprintf(o,
			"# Template clone through the engine, request -> READY, "
			"less 2 x agent_msg_ns%s (%s, n=%zu%s):\n",
			lc.diff > 0 ? " and local_clone_ns" : "",
			f[CLONE_ENG].line_robust ? "bisquare-weighted least squares"
			: f[CLONE_ENG].linear	 ? "least squares"
						 : "mean",
			f[CLONE_ENG].n,
			f[CLONE_FIRST].n ? "; one at a time, after the first "
					   "at each memory size"
					 : "");
		if (f[CLONE_ENG].linear) {
			fprintf(o, "#   against guest memory bytes:\n");
			put_line_comment(o, &f[CLONE_ENG], "byte");
		} else if (f[CLONE_ENG].have_free) {
			fprintf(o,
				"#   against guest memory (not used: %s): "
				"intercept %.0f ns [%.0f, %.0f], slope %.4g "
				"ns/byte [%.4g, %.4g], %sR^2 %.3f\n",
				f[CLONE_ENG].note,
				f[CLONE_ENG].free_line.c0,
				f[CLONE_ENG].free_line.c0_lo,
				f[CLONE_ENG].free_line.c0_hi,
				f[CLONE_ENG].free_line.c1,
				f[CLONE_ENG].free_line.c1_lo,
				f[CLONE_ENG].free_line.c1_hi,
				f[CLONE_ENG].free_robust ? "robust " : "",
				f[CLONE_ENG].free_line.r2);
		}
		fprintf(o, "clone_base_ns = %.0f   # source: calibrate\n",
			f[CLONE_ENG].base);
		if (f[CLONE_ENG].linear)
			fprintf(o,
				"clone_ns_per_byte = %.6g   # source: "
				"calibrate, per byte of guest memory\n",
				f[CLONE_ENG].slope);
		put_dist(o, &f[CLONE_ENG]);
		if (f[CLONE_BUSY].fitted)
			fprintf(o,
				"#   not used: template clones beside the ops "
				"workload's forks (the engine serves both on "
				"one thread; the simulator\n#   queues them "
				"itself, monitor_slots), request -> READY, "
				"mean %.0f ns (n=%zu)\n",
				f[CLONE_BUSY].base, f[CLONE_BUSY].n);
		if (first_extra >= 0)
			fprintf(o,
				"# The first template clone at each memory "
				"size (the monitor makes its VM shell), "
				"request -> READY, mean %.0f ns\n# (n=%zu), "
				"over the later clones' %.0f ns:\n"
				"clone_first_ns = %.0f   # source: "
				"calibrate\n",
				f[CLONE_FIRST].base, f[CLONE_FIRST].n,
				later_clone, first_extra);
		if (f[CLONE].fitted)
			fprintf(o,
				"#   not used: bootbench --from-template, launch "
				"-> the guest's UKF-READY line, mean %.0f ns "
				"(n=%zu):\n#   it also completes the clone's "
				"READY pause and runs the guest to its first "
				"console write\n",
				f[CLONE].base, f[CLONE].n);
		fputc('\n', o);
	} else if (f[CLONE].fitted) {
		fprintf(o, "# Template clone, launch -> ready (mean, n=%zu):\n",
			f[CLONE].n);
		fprintf(o, "clone_base_ns = %.0f   # source: calibrate\n",
			f[CLONE].base);
		put_influence(o, "#   ", &f[CLONE], "byte");
		put_dist(o, &f[CLONE]);
		fputc('\n', o);
	}
	put_local_clone(o, &lc, eng);
	if (eng)
		put_idle(o, &idle, median_factor(&f[CLONE_ENG]), "idle_curve",
			 0, "spell_");
	if (f[TOUCH].fitted && f[TOUCH].linear) {
		fprintf(o, "# A template clone's unit (READY -> exit, 1 ms of work "
			   "and the first touches of the pages it dirties),\n"
			   "# against those pages: the slope\n");
		put_line_comment(o, &f[TOUCH], "page");
		fprintf(o, "touch_ns_per_page = %.0f   # source: calibrate\n\n",
			f[TOUCH].slope);
	}
	/* with the engine's forks a flat mean is a fork cost too (its own
	 * intercept, no per-page slope): leaving both keys out would have
	 * the simulator charge clone_base_ns + its default per page, as
	 * when a few noisy forks (under emulation) showed no rise */
	if (f[FORK].fitted && (f[FORK].linear || eng)) {
		fprintf(o, "# Live fork, request -> child ready%s, against pages "
			   "copied (the parent's dirty pages):\n",
			eng ? " less agent_msg_ns" : "");
		put_line_comment(o, &f[FORK], "page");
		/* without the engine's samples too, once the spread scaled
		 * the intercept fixed at clone_base_ns: left out, the
		 * simulator charged clone_base_ns, not the summary's base */
		if (eng || (f[FORK].linear && f[FORK].dist_mean != 1))
			fprintf(o, "fork_base_ns = %.0f   # source: calibrate\n",
				fmax(f[FORK].base, 1));
		fprintf(o, "clone_ns_per_page = %.0f   # source: calibrate\n",
			f[FORK].linear ? f[FORK].slope : 0);
		put_dist(o, &f[FORK]);
		if (f[FORK_FIRST].fitted)
			fprintf(o,
				"#   not fitted: forks that were their run's "
				"first clone at their memory size "
				"(clone_first_ns charges that),\n#   request "
				"-> ready, mean %.0f ns (n=%zu)\n",
				f[FORK_FIRST].base, f[FORK_FIRST].n);
		if (f[FORK_BUSY].fitted)
			fprintf(o,
				"#   not fitted: the ops workload's forks, "
				"beside others (the simulator adds those "
				"waits itself), request -> ready,\n#   mean "
				"%.0f ns (n=%zu)\n",
				f[FORK_BUSY].base, f[FORK_BUSY].n);
		fputc('\n', o);
	}
	if (remote_shown)
		put_remote(o, &f[RSAVE], &f[RRESTORE], &f[TFETCH], &f[RFORK],
			   restore_base, agent, &pm, &mi, &di, &db, &ff);
	for (int i = 0; i < 2; i++)
		if (dirs[i].fitted)
			put_dir(o, &dirs[i], ndirs == 1);
	if (jitter >= 0) {
		fprintf(o, "# Operations without their own *_dist: the median "
			   "of the lognormal sigmas above.\n");
		fprintf(o, "jitter = %.4f   # source: calibrate\n", jitter);
	}
	if (fflush(o) || ferror(o)) {
		snprintf(err, errlen, "%s: write error: %s", path,
			 strerror(errno));
		goto out;
	}
	if (put_unset(o, path, err, errlen) < 0)
		goto out;
	if (summary && anycost) {
		fprintf(
		    summary, "%-13s %5s  %s\n", "operation", "n",
		    "fitted cost [95% CI of the slope]  spread of the factor");
		summary_row(summary, &f[BOOT], "byte");
		summary_row(summary, &f[TMPL], "byte");
		summary_row(summary, &f[eng ? CLONE_ENG : CLONE], "byte");
		if (first_extra >= 0)
			fprintf(summary,
				"%-13s %5zu  %12.1f us  (request -> READY; "
				"clone_first_ns %.1f us over a later clone)\n",
				f[CLONE_FIRST].op, f[CLONE_FIRST].n,
				f[CLONE_FIRST].base / 1e3, first_extra / 1e3);
		summary_row(summary, &f[FORK], "page");
		if (f[TOUCH].fitted && f[TOUCH].linear)
			summary_row(summary, &f[TOUCH], "page");
		if (f[AGENT].fitted)
			summary_row(summary, &f[AGENT], "msg");
		if (remote_shown) {
			summary_row(summary, &f[RSAVE], "page");
			summary_row(summary, &f[RRESTORE], "page");
			summary_row(summary, &f[TFETCH], "byte");
			if (f[TFETCH].curve.n)
				fprintf(summary,
					"%-13s %5s  (load_curve: the median at "
					"each of %u sizes, in place of the "
					"line)\n",
					"", "", f[TFETCH].curve.n);
			summary_row(summary, &f[RFORK], "page");
			if (pm.fitted)
				fprintf(summary,
					"%-13s %5zu  %12.1f us  (placement -> "
					"start on another node, median %.1f "
					"us, n=%zu, less where requested)\n",
					"peer_msg", pm.nremote, pm.diff / 1e3,
					pm.remote / 1e3, pm.nlocal);
		}
	}
	if (warn) {
		put_unknown(warn, "ukfork calibrate: ", s);
		for (size_t k = 0; k < sizeof(checked) / sizeof(checked[0]);
		     k++)
			put_influence(warn, "ukfork calibrate: ",
				      &f[checked[k].op], checked[k].xu);
	}
	if (summary) {
		if (ndirs)
			fprintf(summary, "%-13s %5s  %s\n", "directory", "n",
				"update to visibility [95% CI, order "
				"statistics]  lognormal MLE");
		for (int i = 0; i < 2; i++)
			if (dirs[i].n)
				dir_summary(summary, &dirs[i]);
		if (ndirs > 1)
			fprintf(summary,
				"directory keys not written: several "
				"directories in one fit (--calib ID)\n");
		if (jitter >= 0)
			fprintf(summary, "jitter (other operations): %.4f\n",
				jitter);
		if (bis && !fflush(bis) && bis_len)
			fputs(bis_text, summary);
	}
	rc = 0;
out:
	if (o && fclose(o) && rc == 0) {
		snprintf(err, errlen, "%s: write error: %s", path,
			 strerror(errno));
		rc = -1;
	}
	/* a file cut short (disk full, a size limit) would load as a model
	 * with keys missing, their defaults silently used: not left behind
	 * (a regular file only: never a device such as /dev/full) */
	struct stat st;
	if (o && rc < 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
		unlink(path);
	for (int i = 0; i < NOPS; i++)
		opfit_free(&f[i]);
	for (int i = 0; i < 2; i++)
		free(dirs[i].y);
	for (size_t i = 0; i < sizeof(pt) / sizeof(pt[0]); i++)
		free(pt[i]);
	if (bis)
		fclose(bis);
	free(bis_text);
	return rc;
}
