/* SPDX-License-Identifier: MIT */
/* fork_json.c - ukvm-bench-fork's --json document through results/json.h (json-c). */
#include "bench/kvm/fork_json.h"

#include <math.h>

#include "results/stats.h"

static struct json_object *num(double v)
{
	return ukf_json_num(v, "%.6g");
}

static struct json_object *figure(const struct ukvm_fork_fig *f)
{
	static const struct {
		const char *val, *ci;
		double p;
	} q[3] = { { "median_ms", "median_ci_ms", 0.5 },
		   { "p95_ms", "p95_ci_ms", 0.95 },
		   { "p99_ms", "p99_ci_ms", 0.99 } };
	struct json_object *j = json_object_new_object();

	ukf_json_add(j, "count", json_object_new_int(f->n));
	for (int k = 0; k < 3; k++) {
		struct ukf_ci ci;

		ukf_stats_quantile_ci(f->v, (size_t)f->n, q[k].p, 0.95, &ci);
		ukf_json_add(j, q[k].val, num(ci.mean / 1e3));
		ukf_json_add(j, q[k].ci,
			     ukf_json_pair(ci.lo / 1e3, ci.hi / 1e3, "%.6g"));
	}
	ukf_json_add(j, "max_ms", num(f->n ? f->v[f->n - 1] / 1e3 : NAN));
	ukf_json_add(j, "min_ms", num(f->n ? f->v[0] / 1e3 : NAN));
	return j;
}

struct json_object *ukvm_fork_json(const char *guest, const char *kvm,
				   int kvm_emulated,
				   const struct ukvm_fork_fig *fig, int nfig,
				   const struct ukvm_fork_tp *tp, int ntp)
{
	struct json_object *j = json_object_new_object(), *figs, *tps;

	if (!j)
		return NULL;
	if (ukf_json_add(j, "bench", ukf_json_str("ukvm-bench-fork")) ||
	    ukf_json_add(j, "guest", ukf_json_str(guest ? guest : "")) ||
	    ukf_json_add(j, "kvm", ukf_json_str(kvm ? kvm : "")) ||
	    ukf_json_add(j, "kvm_emulated",
			 json_object_new_boolean(kvm_emulated)) ||
	    ukf_json_add(j, "method",
			 ukf_json_str("nearest-rank quantiles, 95% "
				      "distribution-free CIs "
				      "(results/stats.h)")) ||
	    ukf_json_add(j, "figures", figs = json_object_new_object()) ||
	    ukf_json_add(j, "throughput", tps = json_object_new_object()))
		goto fail;
	for (int i = 0; i < nfig; i++)
		if (ukf_json_add(figs, fig[i].key, figure(&fig[i])))
			goto fail;
	for (int i = 0; i < ntp; i++)
		if (ukf_json_add(tps, tp[i].key, num(tp[i].v)))
			goto fail;
	return j;
fail:
	json_object_put(j);
	return NULL;
}
