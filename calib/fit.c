/* SPDX-License-Identifier: MIT */
/* fit.c - maximum-likelihood distribution fits, KS goodness of fit and
 * least-squares lines with confidence intervals (GSL). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_fit.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>

#include "calib.h"

const char *ukf_calib_family_name(enum ukf_calib_family f)
{
	switch (f) {
	case UKF_CALIB_LOGNORMAL:
		return "lognormal";
	case UKF_CALIB_GAMMA:
		return "gamma";
	case UKF_CALIB_WEIBULL:
		return "weibull";
	case UKF_CALIB_LOGLOGISTIC:
		return "loglogistic";
	}
	return NULL;
}

double ukf_calib_dist_cdf(const struct ukf_calib_dist *d, double x)
{
	if (!(x > 0))
		return 0;
	switch (d->family) {
	case UKF_CALIB_LOGNORMAL:
		return gsl_cdf_lognormal_P(x, d->p1, d->p2);
	case UKF_CALIB_GAMMA:
		return gsl_cdf_gamma_P(x, d->p1, d->p2);
	case UKF_CALIB_WEIBULL:
		return gsl_cdf_weibull_P(x, d->p2, d->p1);
	case UKF_CALIB_LOGLOGISTIC: /* 1 / (1 + (x/alpha)^-k) */
		return 1 / (1 + exp(-d->p1 * (log(x) - log(d->p2))));
	}
	return NAN;
}

double ukf_calib_dist_mean(const struct ukf_calib_dist *d)
{
	double b;

	switch (d->family) {
	case UKF_CALIB_LOGNORMAL:
		return exp(d->p1 + 0.5 * d->p2 * d->p2);
	case UKF_CALIB_GAMMA:
		return d->p1 * d->p2;
	case UKF_CALIB_WEIBULL:
		return d->p2 * gsl_sf_gamma(1 + 1 / d->p1);
	case UKF_CALIB_LOGLOGISTIC: /* alpha b / sin b, b = pi / k */
		b = M_PI / d->p1;
		return d->p1 > 1 ? d->p2 * b / sin(b) : INFINITY;
	}
	return NAN;
}

double ukf_calib_dist_sd(const struct ukf_calib_dist *d)
{
	double s2, g1, g2, b;

	switch (d->family) {
	case UKF_CALIB_LOGNORMAL:
		s2 = d->p2 * d->p2;
		return sqrt(expm1(s2)) * exp(d->p1 + 0.5 * s2);
	case UKF_CALIB_GAMMA:
		return sqrt(d->p1) * d->p2;
	case UKF_CALIB_WEIBULL:
		g1 = gsl_sf_gamma(1 + 1 / d->p1);
		g2 = gsl_sf_gamma(1 + 2 / d->p1);
		return d->p2 * sqrt(fmax(0, g2 - g1 * g1));
	case UKF_CALIB_LOGLOGISTIC: /* E X^2 = alpha^2 2b / sin 2b, k > 2 */
		if (!(d->p1 > 2))
			return INFINITY;
		b = M_PI / d->p1;
		g1 = b / sin(b);
		return d->p2 * sqrt(fmax(0, 2 * b / sin(2 * b) - g1 * g1));
	}
	return NAN;
}

/* ln(1 + e^t) without overflow. */
static double softplus(double t)
{
	return t > 0 ? t + log1p(exp(-t)) : log1p(exp(t));
}

static double log_pdf(const struct ukf_calib_dist *d, double x)
{
	double lx = log(x), z, k, t;

	switch (d->family) {
	case UKF_CALIB_LOGNORMAL:
		z = (lx - d->p1) / d->p2;
		return -lx - log(d->p2) - 0.5 * log(2 * M_PI) - 0.5 * z * z;
	case UKF_CALIB_GAMMA:
		k = d->p1;
		return (k - 1) * lx - x / d->p2 - gsl_sf_lngamma(k) -
		       k * log(d->p2);
	case UKF_CALIB_WEIBULL:
		k = d->p1;
		t = x / d->p2;
		return log(k / d->p2) + (k - 1) * log(t) - pow(t, k);
	case UKF_CALIB_LOGLOGISTIC: /* (k/a) t^(k-1) / (1 + t^k)^2 */
		k = d->p1;
		t = lx - log(d->p2);
		return log(k / d->p2) + (k - 1) * t - 2 * softplus(k * t);
	}
	return NAN;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Kolmogorov's asymptotic tail Q(lambda) = 2 sum (-1)^(j-1) e^(-2 j^2 l^2),
 * with Stephens' small-sample correction of lambda. */
static double ks_pvalue(double d, size_t n)
{
	double sn = sqrt((double)n);
	double l = (sn + 0.12 + 0.11 / sn) * d, sum = 0;

	if (l < 0.2)
		return 1;
	for (int j = 1; j <= 100; j++) {
		double t = 2 * exp(-2.0 * j * j * l * l) * (j % 2 ? 1 : -1);
		sum += t;
		if (fabs(t) < 1e-12)
			break;
	}
	return fmin(1, fmax(0, sum));
}

/* loglik, AIC and KS statistic of d against x[0..n-1] (sorted copy s);
 * -1 if a CDF value is not a probability (GSL failed on it). */
static int quality(struct ukf_calib_dist *d, const double *x, const double *s,
		   size_t n)
{
	double ll = 0, dmax = 0;

	for (size_t i = 0; i < n; i++)
		ll += log_pdf(d, x[i]);
	for (size_t i = 0; i < n; i++) {
		double f = ukf_calib_dist_cdf(d, s[i]);
		if (!(f >= 0 && f <= 1))
			return -1;
		dmax = fmax(dmax, fmax(f - (double)i / (double)n,
				       (double)(i + 1) / (double)n - f));
	}
	d->n = n;
	d->loglik = ll;
	d->aic = 2 * 2 - 2 * ll;
	d->ks_d = dmax;
	d->ks_p = ks_pvalue(dmax, n);
	return 0;
}

/* Gamma MLE: with s = ln(mean) - mean(ln x), the shape solves
 * ln k - psi(k) = s (Minka's start, Newton steps); theta = mean / k. */
static int fit_gamma(double mean, double mlog, double *k, double *theta)
{
	double s = log(mean) - mlog;

	if (!(s > 0))
		return -1;
	double a = (3 - s + sqrt((s - 3) * (s - 3) + 24 * s)) / (12 * s);
	for (int i = 0; i < 100; i++) {
		double f = log(a) - gsl_sf_psi(a) - s;
		double fp = 1 / a - gsl_sf_psi_1(a);
		double next = a - f / fp;
		if (!(next > 0))
			next = a / 2;
		if (fabs(next - a) < 1e-12 * a) {
			a = next;
			break;
		}
		a = next;
	}
	if (!isfinite(a) || !(a > 0) || a > 1e6) /* the loader's bound */
		return -1;
	*k = a;
	*theta = mean / a;
	return 0;
}

/* Weibull MLE: the shape solves g(k) = sum x^k ln x / sum x^k - 1/k -
 * mean(ln x) = 0 (g increasing in k; bisection on a log scale, x scaled
 * by its maximum so that x^k stays finite); lambda = (mean x^k)^(1/k). */
static int fit_weibull(const double *x, size_t n, double mlog, double *k,
		       double *lambda)
{
	double xmax = 0;
	for (size_t i = 0; i < n; i++)
		xmax = fmax(xmax, x[i]);
	double lmax = log(xmax), ml = mlog - lmax;
	double lo = 1e-3, hi = 1e3;

	for (int it = 0; it < 200; it++) {
		double mid = sqrt(lo * hi), sw = 0, swl = 0;
		for (size_t i = 0; i < n; i++) {
			double l = log(x[i]) - lmax, w = exp(mid * l);
			sw += w;
			swl += w * l;
		}
		double g = swl / sw - 1 / mid - ml;
		if (g > 0)
			hi = mid;
		else
			lo = mid;
		if (hi / lo < 1 + 1e-12)
			break;
	}
	double kk = sqrt(lo * hi), sw = 0;
	if (kk <= 1.001e-3 || kk >= 0.999e3)
		return -1;
	for (size_t i = 0; i < n; i++)
		sw += exp(kk * (log(x[i]) - lmax));
	*k = kk;
	*lambda = xmax * pow(sw / (double)n, 1 / kk);
	return isfinite(*lambda) ? 0 : -1;
}

/*
 * Log-logistic MLE. With y = ln x logistic (location ln alpha, scale 1/k),
 * write z = b u - a on the standardised u = (y - mean y) / sd y; then
 * l(a, b) = n ln b + sum g(b u_i - a), g(z) = -ln(1 + e^z) - ln(1 + e^-z),
 * is concave in (a, b) (g is: the logistic density is log-concave), so
 * damped Newton from the moment start (a 0, b pi/sqrt 3) climbs to the one
 * maximum. Back: k = b / sd y, ln alpha = mean y + a sd y / b.
 */
static double ll_logistic(const double *u, size_t n, double a, double b)
{
	double l = (double)n * log(b);
	for (size_t i = 0; i < n; i++) {
		double z = b * u[i] - a;
		l -= softplus(z) + softplus(-z);
	}
	return l;
}

static int fit_loglogistic(const double *x, size_t n, double mlog, double sdlog,
			   double *k, double *alpha)
{
	double *u = malloc(n * sizeof(*u));
	double a = 0, b = M_PI / sqrt(3.0), dn = (double)n;
	int ok = 0;

	if (!u)
		return -1;
	for (size_t i = 0; i < n; i++)
		u[i] = (log(x[i]) - mlog) / sdlog;
	double l = ll_logistic(u, n, a, b);
	for (int it = 0; it < 200; it++) {
		double ga = 0, gb = dn / b, haa = 0, hab = 0,
		       hbb = -dn / (b * b);
		for (size_t i = 0; i < n; i++) {
			double z = b * u[i] - a, sg = 1 / (1 + exp(-z));
			double g1 = 1 - 2 * sg, g2 = -2 * sg * (1 - sg);
			ga -= g1;
			gb += g1 * u[i];
			haa += g2;
			hab -= g2 * u[i];
			hbb += g2 * u[i] * u[i];
		}
		/* Newton step d = -H^-1 grad (H negative definite) */
		double det = haa * hbb - hab * hab;
		if (!(det > 0))
			break;
		double da = -(hbb * ga - hab * gb) / det;
		double db = -(-hab * ga + haa * gb) / det;
		double dec = ga * da + gb * db; /* Newton decrement^2, >= 0 */
		if (!(dec >= 0))
			break;
		if (dec < 1e-8) {
			/* near the top, where the rise is below the
			 * rounding of l: full steps (quadratic convergence
			 * of Newton on a concave function) until the step
			 * itself is at rounding level */
			if (!(b + db > 0))
				break;
			a += da;
			b += db;
			l = ll_logistic(u, n, a, b);
			if (fabs(da) + fabs(db) < 1e-10) {
				ok = 1;
				break;
			}
			continue;
		}
		double t = 1, nl = -INFINITY;
		for (int h = 0; h < 60; h++, t /= 2) {
			if (b + t * db > 0) {
				nl = ll_logistic(u, n, a + t * da, b + t * db);
				if (nl >= l + 1e-4 * t * dec)
					break;
			}
		}
		if (!(nl > l))
			break; /* no ascent far from the top: give up */
		a += t * da;
		b += t * db;
		l = nl;
	}
	free(u);
	if (!ok)
		return -1;
	*k = b / sdlog;
	*alpha = exp(mlog + a * sdlog / b);
	/* the shapes sim/model.c loads (as fit_weibull's bounds) */
	if (!(*k >= 1e-3 && *k <= 1e6) || !isfinite(*alpha) || !(*alpha > 0))
		return -1;
	return 0;
}

static int fit_family(const double *x, size_t n, enum ukf_calib_family f,
		      struct ukf_calib_dist *out)
{
	struct ukf_calib_dist d;
	double mean = 0, mlog = 0, vlog = 0;
	int distinct = 0;

	if (!x || n < 2 || !ukf_calib_family_name(f)) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!(x[i] > 0) || !isfinite(x[i])) {
			errno = EINVAL;
			return -1;
		}
		if (x[i] != x[0])
			distinct = 1;
		mean += x[i];
		mlog += log(x[i]);
	}
	if (!distinct) {
		errno = EINVAL;
		return -1;
	}
	mean /= (double)n;
	mlog /= (double)n;
	for (size_t i = 0; i < n; i++)
		vlog += (log(x[i]) - mlog) * (log(x[i]) - mlog);
	vlog /= (double)n;

	memset(&d, 0, sizeof(d));
	d.family = f;
	int rc = 0;
	switch (f) {
	case UKF_CALIB_LOGNORMAL:
		d.p1 = mlog;
		d.p2 = sqrt(vlog);
		rc = d.p2 > 0 ? 0 : -1;
		break;
	case UKF_CALIB_GAMMA:
		rc = fit_gamma(mean, mlog, &d.p1, &d.p2);
		break;
	case UKF_CALIB_WEIBULL:
		rc = fit_weibull(x, n, mlog, &d.p1, &d.p2);
		break;
	case UKF_CALIB_LOGLOGISTIC:
		rc = fit_loglogistic(x, n, mlog, sqrt(vlog), &d.p1, &d.p2);
		break;
	}
	if (rc < 0) {
		errno = EDOM;
		return -1;
	}
	double *s = malloc(n * sizeof(*s));
	if (!s)
		return -1;
	memcpy(s, x, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	int bad = quality(&d, x, s, n);
	free(s);
	if (bad || !isfinite(d.loglik)) {
		errno = EDOM;
		return -1;
	}
	*out = d;
	return 0;
}

/*
 * GSL's default error handler aborts the process: a gamma CDF of shape
 * ~1e6 (samples spread by 0.1%) does ("error in large x asymptotic"). Off
 * while fitting, so that such a fit fails with EDOM instead.
 */
int ukf_calib_fit_family(const double *x, size_t n, enum ukf_calib_family f,
			 struct ukf_calib_dist *out)
{
	gsl_error_handler_t *old = gsl_set_error_handler_off();
	int rc = fit_family(x, n, f, out);
	int e = errno;

	gsl_set_error_handler(old);
	errno = e;
	return rc;
}

int ukf_calib_fit_best(const double *x, size_t n, struct ukf_calib_dist *best,
		       struct ukf_calib_dist *all)
{
	struct ukf_calib_dist d, b;
	int have = 0, err = EINVAL;

	memset(&b, 0, sizeof(b));
	for (int f = 1; f <= UKF_CALIB_NFAMILIES; f++) {
		int rc =
		    ukf_calib_fit_family(x, n, (enum ukf_calib_family)f, &d);
		if (rc < 0) {
			err = errno;
			memset(&d, 0, sizeof(d));
		} else if (!isfinite(ukf_calib_dist_mean(&d)) ||
			   (f == UKF_CALIB_LOGLOGISTIC &&
			    !(d.p1 > UKF_CALIB_LOGLOGISTIC_MIN_K))) {
			/* kept in all[], not chosen: no mean to scale by */
		} else if (!have || d.aic < b.aic) {
			b = d;
			have = 1;
		}
		if (all)
			all[f - 1] = d;
	}
	if (!have) {
		errno = err;
		return -1;
	}
	*best = b;
	return 0;
}

/*
 * Heteroscedasticity-consistent (HC3) variances of a least-squares line's
 * coefficients: the sandwich (X'X)^-1 X' diag(e_i^2 / (1 - h_i)^2) X
 * (X'X)^-1, with h_i the leverage. The classical variance assumes every
 * sample has the same spread; a cost times a lognormal factor (the
 * calibration's own noise model) spreads more where the cost is higher,
 * and its 95% intervals covered the slope in 91% of datasets (boot) and
 * 76% (the fork's slope with a fixed intercept). In centred coordinates
 * u = x - xbar (with_intercept) or through the origin (u = x). 0, or -1
 * when a leverage is 1 (a lone sample at its own x fits exactly: its
 * residual says nothing of the spread; the caller keeps the classical
 * variance).
 */
static int hc3(const double *x, const double *y, size_t n, int with_intercept,
	       double c0, double c1, double *v0, double *v1)
{
	double xbar = 0, suu = 0, sw = 0, suw = 0, su2w = 0;

	if (with_intercept) {
		for (size_t i = 0; i < n; i++)
			xbar += x[i];
		xbar /= (double)n;
	}
	for (size_t i = 0; i < n; i++)
		suu += (x[i] - xbar) * (x[i] - xbar);
	if (!(suu > 0))
		return -1;
	for (size_t i = 0; i < n; i++) {
		double u = x[i] - xbar, e = y[i] - c0 - c1 * x[i];
		double h = (with_intercept ? 1 / (double)n : 0) + u * u / suu;
		if (!(h < 1 - 1e-9))
			return -1;
		double w = e * e / ((1 - h) * (1 - h));
		sw += w;
		suw += u * w;
		su2w += u * u * w;
	}
	*v1 = su2w / (suu * suu);
	if (with_intercept) {
		/* c0 = a - c1 xbar, a the centred intercept */
		double va = sw / ((double)n * (double)n),
		       cab = suw / ((double)n * suu);
		*v0 = va + xbar * xbar * *v1 - 2 * xbar * cab;
		if (*v0 < 0)
			*v0 = 0;
	} else {
		*v0 = 0;
	}
	return 0;
}

int ukf_calib_fit_line(const double *x, const double *y, size_t n,
		       struct ukf_calib_line *out)
{
	double c0, c1, cov00, cov01, cov11, sumsq;
	int distinct = 0;

	if (!x || !y || n < 3) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 1; i < n; i++)
		if (x[i] != x[0])
			distinct = 1;
	if (!distinct) {
		errno = EINVAL;
		return -1;
	}
	if (gsl_fit_linear(x, 1, y, 1, n, &c0, &c1, &cov00, &cov01, &cov11,
			   &sumsq)) {
		errno = EDOM;
		return -1;
	}
	/* the intervals from HC3 variances (the estimates are least
	 * squares'), the classical ones where HC3 has no answer */
	double v0, v1;
	if (hc3(x, y, n, 1, c0, c1, &v0, &v1) == 0) {
		cov00 = v0;
		cov11 = v1;
	}
	double t = gsl_cdf_tdist_Qinv(0.025, (double)(n - 2));
	double my = 0, tss = 0;
	for (size_t i = 0; i < n; i++)
		my += y[i];
	my /= (double)n;
	for (size_t i = 0; i < n; i++)
		tss += (y[i] - my) * (y[i] - my);
	memset(out, 0, sizeof(*out));
	out->n = n;
	out->c0 = c0;
	out->c1 = c1;
	out->c0_lo = c0 - t * sqrt(cov00);
	out->c0_hi = c0 + t * sqrt(cov00);
	out->c1_lo = c1 - t * sqrt(cov11);
	out->c1_hi = c1 + t * sqrt(cov11);
	out->r2 = tss > 0 ? 1 - sumsq / tss : 1;
	return 0;
}

int ukf_calib_fit_line_robust(const double *x, const double *y, size_t n,
			      struct ukf_calib_line *out)
{
	double xmax = 0;
	int distinct = 0, rc = -1;

	if (!x || !y || n < 3) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (x[i] != x[0])
			distinct = 1;
		if (fabs(x[i]) > xmax)
			xmax = fabs(x[i]);
	}
	if (!distinct || !isfinite(xmax)) {
		errno = EINVAL;
		return -1;
	}
	/* x scaled to at most 1 (bytes run to 1e10): the two columns of
	 * the design matrix of comparable size. GSL's handler off first: a
	 * failed allocation returns NULL instead of aborting */
	gsl_error_handler_t *old = gsl_set_error_handler_off();
	gsl_matrix *X = gsl_matrix_alloc(n, 2);
	gsl_vector *Y = gsl_vector_alloc(n), *c = gsl_vector_alloc(2);
	gsl_matrix *cov = gsl_matrix_alloc(2, 2);
	gsl_multifit_robust_workspace *w =
	    gsl_multifit_robust_alloc(gsl_multifit_robust_bisquare, n, 2);
	if (!X || !Y || !c || !cov || !w) {
		errno = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		gsl_matrix_set(X, i, 0, 1);
		gsl_matrix_set(X, i, 1, x[i] / xmax);
		gsl_vector_set(Y, i, y[i]);
	}
	int e = gsl_multifit_robust(X, Y, c, cov, w);
	if (e && e != GSL_EMAXITER) {
		errno = EDOM;
		goto out;
	}
	gsl_multifit_robust_stats st = gsl_multifit_robust_statistics(w);
	double c0 = gsl_vector_get(c, 0), c1 = gsl_vector_get(c, 1) / xmax;
	double s0 = sqrt(gsl_matrix_get(cov, 0, 0));
	double s1 = sqrt(gsl_matrix_get(cov, 1, 1)) / xmax;
	if (!isfinite(c0) || !isfinite(c1) || !isfinite(s0) || !isfinite(s1)) {
		errno = EDOM;
		goto out;
	}
	double t = gsl_cdf_tdist_Qinv(0.025, (double)(n - 2));
	memset(out, 0, sizeof(*out));
	out->n = n;
	out->c0 = c0;
	out->c1 = c1;
	out->c0_lo = c0 - t * s0;
	out->c0_hi = c0 + t * s0;
	out->c1_lo = c1 - t * s1;
	out->c1_hi = c1 + t * s1;
	out->r2 = st.Rsq;
	rc = 0;
out:
	gsl_set_error_handler(old);
	if (w)
		gsl_multifit_robust_free(w);
	gsl_matrix_free(cov);
	gsl_vector_free(c);
	gsl_vector_free(Y);
	gsl_matrix_free(X);
	return rc;
}

int ukf_calib_fit_slope(const double *x, const double *y, size_t n, double c0,
			struct ukf_calib_line *out)
{
	double c1, cov11, sumsq;
	int nonzero = 0;

	if (!x || !y || n < 2) {
		errno = EINVAL;
		return -1;
	}
	double *r = malloc(n * sizeof(*r));
	if (!r)
		return -1;
	for (size_t i = 0; i < n; i++) {
		r[i] = y[i] - c0;
		if (x[i] != 0)
			nonzero = 1;
	}
	if (!nonzero || gsl_fit_mul(x, 1, r, 1, n, &c1, &cov11, &sumsq)) {
		free(r);
		errno = nonzero ? EDOM : EINVAL;
		return -1;
	}
	/* HC3 (as ukf_calib_fit_line), classical where it has no answer */
	double v0, v1;
	if (hc3(x, r, n, 0, 0, c1, &v0, &v1) == 0)
		cov11 = v1;
	free(r);
	double t = gsl_cdf_tdist_Qinv(0.025, (double)(n - 1));
	memset(out, 0, sizeof(*out));
	out->n = n;
	out->c0 = out->c0_lo = out->c0_hi = c0;
	out->c1 = c1;
	out->c1_lo = c1 - t * sqrt(cov11);
	out->c1_hi = c1 + t * sqrt(cov11);
	out->r2 = NAN;
	out->fixed = 1;
	return 0;
}
