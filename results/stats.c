/* SPDX-License-Identifier: MIT */
/* stats.c - quantiles and confidence intervals (GSL for t and binomial). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_cdf.h>

size_t ukf_stats_rank(size_t n, double p)
{
	if (n == 0 || !(p >= 0.0 && p <= 1.0))
		return 0;
	/* Undo binary rounding of p (0.07 * 100 = 7.000000000000001). */
	double pn = round(p * (double)n * 1e9) / 1e9;
	size_t k = (size_t)ceil(pn);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return k;
}

double ukf_stats_quantile(const double *sorted, size_t n, double p)
{
	size_t k = ukf_stats_rank(n, p);
	return k ? sorted[k - 1] : NAN;
}

void ukf_stats_mean_ci(const double *x, size_t n, double level,
		       struct ukf_ci *ci)
{
	size_t m = 0;
	double mean = 0.0, m2 = 0.0;

	/* Welford: stable for large values such as nanosecond times. */
	for (size_t i = 0; i < n; i++) {
		if (isnan(x[i]))
			continue;
		m++;
		double d = x[i] - mean;
		mean += d / (double)m;
		m2 += d * (x[i] - mean);
	}
	ci->n = m;
	ci->mean = m ? mean : NAN;
	ci->lo = ci->hi = NAN;
	if (m < 2)
		return;
	double sd = sqrt(m2 / (double)(m - 1));
	double t = gsl_cdf_tdist_Pinv(1.0 - (1.0 - level) / 2.0, (double)(m - 1));
	double hw = t * sd / sqrt((double)m);
	ci->lo = mean - hw;
	ci->hi = mean + hw;
}

static double binom_cdf(size_t k, double p, size_t n)
{
	return gsl_cdf_binomial_P((unsigned)k, p, (unsigned)n);
}

void ukf_stats_quantile_ci(const double *sorted, size_t n, double p,
			   double level, struct ukf_ci *ci)
{
	double a = (1.0 - level) / 2.0;

	ci->n = n;
	ci->mean = ukf_stats_quantile(sorted, n, p);
	ci->lo = ci->hi = NAN;
	if (n == 0 || !(p > 0.0 && p < 1.0))
		return;
	/*
	 * F(k) = P(B <= k) grows with k, so both ranks are found by binary
	 * search. Lower rank l: the largest l in 1..n with F(l-1) <= a.
	 */
	size_t l = 0, lo = 1, hi = n;
	while (lo <= hi) {
		size_t k = lo + (hi - lo) / 2;
		if (binom_cdf(k - 1, p, n) <= a) {
			l = k;
			lo = k + 1;
		} else {
			hi = k - 1;
		}
	}
	/* Upper rank u: the smallest u in 1..n with F(u-1) >= 1 - a. */
	size_t u = 0;
	lo = 1;
	hi = n;
	while (lo <= hi) {
		size_t k = lo + (hi - lo) / 2;
		if (binom_cdf(k - 1, p, n) >= 1.0 - a) {
			u = k;
			hi = k - 1;
		} else {
			lo = k + 1;
		}
	}
	if (l)
		ci->lo = sorted[l - 1];
	if (u)
		ci->hi = sorted[u - 1];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return (x > y) - (x < y);
}

void ukf_stats_sort(double *x, size_t n)
{
	if (n > 1)
		qsort(x, n, sizeof *x, cmp_double);
}
