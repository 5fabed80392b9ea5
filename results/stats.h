/* SPDX-License-Identifier: MIT */
/* stats.h - quantiles and 95% confidence intervals used by `ukfork report`. */
#ifndef UKF_STATS_H
#define UKF_STATS_H

#include <stddef.h>

/*
 * A figure with its confidence interval. lo/hi are NaN when no interval
 * can be given (too few values); mean is NaN when n == 0.
 */
struct ukf_ci {
	double mean; /* the point estimate (mean, or the quantile itself) */
	double lo, hi;
	size_t n; /* values it was computed from */
};

/*
 * Quantile p (0 <= p <= 1) of n >= 1 values sorted ascending, by the
 * nearest-rank method: the smallest value x(k) (1-based) such that at
 * least p*n of the values are <= it, k = max(1, ceil(p n)). Always one of
 * the observed values; the same definition as `ukfork run`'s summary and
 * `ukfork bootbench`. (p n is rounded to 1e-9 first so that 0.07 * 100
 * gives rank 7, not 8.) Returns NaN if n == 0 or p is outside [0, 1].
 */
double ukf_stats_quantile(const double *sorted, size_t n, double p);

/* That value's rank k (1-based) among n; 0 if n == 0 or p is outside
 * [0, 1]. */
size_t ukf_stats_rank(size_t n, double p);

/*
 * Mean of the non-NaN values among x[0..n) with the Student-t confidence
 * interval at `level` (e.g. 0.95): mean +- t(1-(1-level)/2, m-1) s/sqrt(m)
 * where m is the count of non-NaN values and s their sample standard
 * deviation. With m < 2, lo = hi = NaN. Never fails.
 */
void ukf_stats_mean_ci(const double *x, size_t n, double level,
		       struct ukf_ci *ci);

/*
 * Distribution-free confidence interval for quantile p of the population
 * a sample of n values (sorted ascending) comes from: [x(l), x(u)]
 * (1-based order statistics) where, with B ~ Binomial(n, p), l is the
 * largest rank with P(B <= l-1) <= (1-level)/2 and u the smallest with
 * P(B <= u-1) >= 1-(1-level)/2; its coverage is at least `level`. A side
 * with no such rank in 1..n is NaN (e.g. the median of fewer than 6
 * values at 95%). ci->mean is ukf_stats_quantile(sorted, n, p).
 */
void ukf_stats_quantile_ci(const double *sorted, size_t n, double p,
			   double level, struct ukf_ci *ci);

/* Sort n doubles ascending in place (NaNs last). */
void ukf_stats_sort(double *x, size_t n);

#endif /* UKF_STATS_H */
