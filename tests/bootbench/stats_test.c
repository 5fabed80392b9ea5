/* SPDX-License-Identifier: MIT */
/* stats_test.c - bootbench's quantiles and their confidence intervals (results/stats.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bootbench/bootbench.h"
#include "tests/common/selftest.h"
#ifdef UKF_BB_TEST_KVM
#include "backends/kvm/ukvm.h"
#endif

static int t_quantiles(void)
{
	double v[100];
	int i;

	for (i = 0; i < 100; i++)
		v[i] = i + 1; /* 1..100 */
	/* nearest rank: the value at rank ceil(q n) */
	CHECK(ukf_bb_quantile(v, 100, 0.5) == 50);
	CHECK(ukf_bb_quantile(v, 100, 0.95) == 95);
	CHECK(ukf_bb_quantile(v, 100, 0.99) == 99);
	CHECK(ukf_bb_quantile(v, 100, 1.0) == 100);
	CHECK(ukf_bb_quantile(v, 100, 0.0) == 1);
	CHECK(ukf_bb_quantile(v, 3, 0.5) == 2);
	CHECK(ukf_bb_quantile(v, 2, 0.5) == 1);
	/* 0.07 * 100 is 7.000000000000001 in binary: still rank 7, not 8 */
	CHECK(ukf_bb_quantile(v, 100, 0.07) == 7);
	/* the rank is never past n */
	CHECK(ukf_bb_quantile(v, 19, 0.999) == 19);
	return 0;
}

/*
 * Exact order-statistic intervals, ranks worked out by hand from the
 * binomial: l the largest rank with P(B <= l-1) <= 0.025, u the smallest
 * with P(B <= u-1) >= 0.975, B ~ Bin(n, q).
 */
static int t_intervals(void)
{
	double v[100], lo, hi, one = 7.5;
	int i;

	for (i = 0; i < 100; i++)
		v[i] = i + 1; /* 1..100 */
	/* median of 100: P(B <= 39) = 0.018, P(B <= 40) = 0.028 -> l = 40;
	 * P(B <= 59) = 0.972, P(B <= 60) = 0.982 -> u = 61 */
	ukf_bb_quantile_ci(v, 100, 0.5, &lo, &hi);
	CHECK(lo == 40 && hi == 61);
	/* p95 of 100: [x(90), x(100)] */
	ukf_bb_quantile_ci(v, 100, 0.95, &lo, &hi);
	CHECK(lo == 90 && hi == 100);
	/* p99 of 100: no rank bounds it above (P(B <= 99) = 0.634); the old
	 * normal approximation claimed the sample's maximum */
	ukf_bb_quantile_ci(v, 100, 0.99, &lo, &hi);
	CHECK(lo == 97 && isnan(hi));
	/* p95 of 19 values: the upper side needs at least 72 values */
	ukf_bb_quantile_ci(v, 19, 0.95, &lo, &hi);
	CHECK(lo == 16 && isnan(hi));
	ukf_bb_quantile_ci(v, 71, 0.95, &lo, &hi);
	CHECK(isnan(hi));
	ukf_bb_quantile_ci(v, 72, 0.95, &lo, &hi);
	CHECK(hi == 72);
	/* median of 19: [x(5), x(15)]; of 20: [x(6), x(15)] */
	ukf_bb_quantile_ci(v, 19, 0.5, &lo, &hi);
	CHECK(lo == 5 && hi == 15);
	ukf_bb_quantile_ci(v, 20, 0.5, &lo, &hi);
	CHECK(lo == 6 && hi == 15);
	/* the median needs 6 values; 5 bound neither side */
	ukf_bb_quantile_ci(v, 5, 0.5, &lo, &hi);
	CHECK(isnan(lo) && isnan(hi));
	ukf_bb_quantile_ci(v, 6, 0.5, &lo, &hi);
	CHECK(lo == 1 && hi == 6);
	/* a bounded side always holds the estimate and lies in the sample */
	for (i = 1; i <= 100; i++) {
		double q[] = { 0.5, 0.95, 0.99 };
		int k;

		for (k = 0; k < 3; k++) {
			double e = ukf_bb_quantile(v, (size_t)i, q[k]);

			ukf_bb_quantile_ci(v, (size_t)i, q[k], &lo, &hi);
			CHECK(isnan(lo) || (lo <= e && lo >= 1));
			CHECK(isnan(hi) || (e <= hi && hi <= i));
		}
	}
	/* one sample: the estimate is that sample, no interval */
	ukf_bb_quantile_ci(&one, 1, 0.5, &lo, &hi);
	CHECK(ukf_bb_quantile(&one, 1, 0.99) == 7.5 && isnan(lo) && isnan(hi));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct selftest tests[] = { { "quantiles", t_quantiles },
						  { "intervals", t_intervals } };
	const struct selftest *t;
	size_t i;
	int rc = 0;

	if (argc == 2 && !strcmp(argv[1], "--probe")) {
		/* for run.sh: 0 if the KVM backend can run here (honours
		 * $UKVM_DEVICE), else 77 with the reason */
#ifdef UKF_BB_TEST_KVM
		char why[256];

		if (ukvm_available(why, sizeof(why)))
			return 0;
		printf("SKIP: KVM unavailable: %s\n", why);
#else
		printf("SKIP: bootbench built without the KVM backend\n");
#endif
		return 77;
	}
	if (argc == 3 && !strcmp(argv[1], "--run") &&
	    (t = selftest_find(tests, SELFTEST_COUNT(tests), argv[2])))
		return t->fn();
	if (argc == 1) {
		for (i = 0; i < SELFTEST_COUNT(tests); i++)
			if (tests[i].fn())
				rc = 1;
		return rc;
	}
	fprintf(stderr, "usage: %s [--run quantiles|intervals] [--probe]\n",
		argv[0]);
	return 2;
}
