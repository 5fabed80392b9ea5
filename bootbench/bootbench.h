/* SPDX-License-Identifier: MIT */
/* bootbench.h - `ukfork bootbench`: launch instances, time them to a marker. */
#ifndef UKF_BOOTBENCH_H
#define UKF_BOOTBENCH_H

#include <stddef.h>
#include <stdint.h>

/*
 * The `ukfork bootbench` command (argv[0] is the command name). Launches
 * COUNT instances (at most PARALLEL alive at once) of either ukfork's own
 * KVM backend (--guest IMAGE [ARGS...]) or an external command line
 * (--cmd 'LINE', run with sh -c), watches each one's output for the marker
 * regex, records every instance into SQLite (--db) and prints a summary
 * (or one JSON object with --json). See docs/bootbench.md.
 * Returns the process exit status: 0 all instances reached the marker,
 * 1 some failed (or a run-time error), 2 bad command line.
 */
int ukf_bootbench_main(int argc, char **argv);

/*
 * Order statistics used by the summary (exposed for tests), the same as
 * `ukfork report`'s (results/stats.h). ukf_bb_quantile: nearest-rank quantile
 * of sorted v[0..n-1] (q in [0,1]): x(k), k = max(1, ceil(q n)) with q n
 * rounded to 1e-9 first (ukf_stats_quantile). ukf_bb_quantile_ci: the
 * exact distribution-free 95% order-statistic interval for that quantile
 * (ukf_stats_quantile_ci); a side no rank of the sample can bound is NaN
 * (e.g. the upper side of p95 with fewer than 72 values, both sides of the
 * median with fewer than 6). n must be > 0.
 */
double ukf_bb_quantile(const double *sorted, size_t n, double q);
void ukf_bb_quantile_ci(const double *sorted, size_t n, double q, double *lo,
			double *hi);

#endif /* UKF_BOOTBENCH_H */
