/* SPDX-License-Identifier: MIT */
/* stats_test.c - bootbench's quantiles and their confidence intervals. */
#include <stdio.h>
#include <string.h>

#include "bootbench/bootbench.h"

#define CHECK(c)                                                          \
	do {                                                              \
		if (!(c)) {                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #c);                            \
			return 1;                                         \
		}                                                         \
	} while (0)

static int t_quantiles(void)
{
	double v[100], lo, hi, one = 7.5;
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
	/* median of 100: ranks 50 -/+ 1.96 * 5 -> [40, 61] */
	ukf_bb_quantile_ci(v, 100, 0.5, &lo, &hi);
	CHECK(lo == 40 && hi == 61);
	/* p99 of 100: the upper end is clamped to the sample's maximum */
	ukf_bb_quantile_ci(v, 100, 0.99, &lo, &hi);
	CHECK(lo == 97 && hi == 100);
	/* the interval always holds the estimate */
	for (i = 1; i <= 100; i++) {
		double q[] = { 0.5, 0.95, 0.99 };
		int k;

		for (k = 0; k < 3; k++) {
			double e = ukf_bb_quantile(v, (size_t)i, q[k]);

			ukf_bb_quantile_ci(v, (size_t)i, q[k], &lo, &hi);
			CHECK(lo <= e && e <= hi);
			CHECK(lo >= 1 && hi <= i);
		}
	}
	/* one sample: everything is that sample */
	ukf_bb_quantile_ci(&one, 1, 0.5, &lo, &hi);
	CHECK(ukf_bb_quantile(&one, 1, 0.99) == 7.5 && lo == 7.5 && hi == 7.5);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--run") && !strcmp(argv[2], "quantiles"))
		return t_quantiles();
	if (argc == 1)
		return t_quantiles();
	fprintf(stderr, "usage: %s [--run quantiles]\n", argv[0]);
	return 2;
}
