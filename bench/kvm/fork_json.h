/* SPDX-License-Identifier: MIT */
/* fork_json.h - ukvm-bench-fork's --json document, built with the one JSON writer (results/json.h). */
#ifndef UKVM_FORK_JSON_H
#define UKVM_FORK_JSON_H

#include "results/json.h"

/* A latency figure: n values in microseconds, sorted ascending. */
struct ukvm_fork_fig {
	const char *key;
	const double *v;
	int n;
};

/* A throughput figure (per second). */
struct ukvm_fork_tp {
	const char *key;
	double v;
};

/*
 * The document `ukvm-bench-fork --json` prints (one line, ukf_json_print):
 * {"bench":"ukvm-bench-fork","guest":GUEST,"kvm":KVM,"kvm_emulated":BOOL,
 *  "method":...,"figures":{KEY:{"count":N,"median_ms":..,"median_ci_ms":
 *  [lo,hi],"p95_ms":..,"p95_ci_ms":[..],"p99_ms":..,"p99_ci_ms":[..],
 *  "max_ms":..,"min_ms":..},...},"throughput":{KEY:X,...}}
 * Numbers are %.6g; NaN/inf (an empty figure, a CI side the sample cannot
 * bound) are null. Quantiles and CIs are nearest-rank, 95%
 * (results/stats.h). Returns a new object (json_object_put it) or NULL.
 */
struct json_object *ukvm_fork_json(const char *guest, const char *kvm,
				   int kvm_emulated,
				   const struct ukvm_fork_fig *fig, int nfig,
				   const struct ukvm_fork_tp *tp, int ntp);

#endif /* UKVM_FORK_JSON_H */
