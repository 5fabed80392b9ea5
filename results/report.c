/* SPDX-License-Identifier: MIT */
/* report.c - `ukfork report`: per-configuration statistics of a results db. */
#define _GNU_SOURCE /* wcwidth, newlocale, uselocale */
#include "results.h"
#include "results_int.h"
#include "report_int.h"
#include "json.h"
#include "stats.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <sys/stat.h>

static const char *const quantile_method =
	"nearest rank, the smallest value with at least p*n values\n"
	"  <= it (x(k), k = ceil(p n)), as `ukfork run` and `bootbench`";
static const char *const ci_method =
	"95% Student-t confidence\n"
	"  interval (gsl_cdf_tdist_Pinv), given when runs >= 2";
static const char *const boot_ci_method =
	"distribution-free 95% order-statistic interval [x(l), x(u)],\n"
	"  ranks from Binomial(n, p) (gsl_cdf_binomial_P); \"-\" when too "
	"few samples";
static const char *const tboot_method =
	"the engine's own boots that make a template (prewarm, or\n"
	"  for a fork), not requests (table template_boots); time: the sum "
	"over\n  them of t_end - t_start in seconds (a boot still going at "
	"the end: to\n  the run's end), during which each holds its app's "
	"vCPUs and memory\n  (inside the reservation of the fork child "
	"waiting for it, if any);\n  vCPU- and MiB-seconds: each boot's "
	"time times its app's vcpus= and\n  mem= (from the run's "
	"settings_json apps; \"-\" if an app is not there);\n  \"-\" for "
	"a file written before the table existed";
static const char *const outage_method =
	"node failures and link cuts of the run (table outages);\n"
	"  downtime: the seconds from each failure or cut to its node's "
	"recovery,\n  or to the run's end, summed over nodes (a node that "
	"fails while cut\n  off is down from then on: node downtime, not "
	"link); \"-\" for a file\n  written before the table existed";
static const char *const outcome_method =
	"latency figures are over completed requests (ready);\n"
	"  every request is completed, failed before ready or unfinished at "
	"the end,\n  and the three fractions (success rate first) sum to 1";

const struct ukf_report_metric ukf_report_metrics[M_COUNT] = {
	[M_REQUESTS] = {"requests", "requests", F_COUNT},
	[M_SUCCESS] = {"success rate (ready / requests)", "success_rate",
		       F_FRAC},
	[M_FAILED] = {"failed before ready", "failed_before_ready", F_COUNT},
	[M_FAILED_FRAC] = {"failed-before-ready fraction",
			   "failed_before_ready_fraction", F_FRAC},
	[M_UNFINISHED] = {"unfinished at end", "unfinished", F_COUNT},
	[M_UNFINISHED_FRAC] = {"unfinished fraction", "unfinished_fraction",
			       F_FRAC},
	[M_LAT_MEAN] = {"latency mean (ms, completed)", "latency_mean_ms",
			F_MS},
	[M_LAT_P50] = {"latency p50 (ms, completed)", "latency_p50_ms", F_MS},
	[M_LAT_P95] = {"latency p95 (ms, completed)", "latency_p95_ms", F_MS},
	[M_LAT_P99] = {"latency p99 (ms, completed)", "latency_p99_ms", F_MS},
	[M_COLD] = {"cold-start fraction", "cold_fraction", F_FRAC},
	[M_TEMPLATE] = {"template fraction", "template_fraction", F_FRAC},
	[M_FORK] = {"fork fraction", "fork_fraction", F_FRAC},
	[M_REMOTE] = {"remote fraction", "remote_fraction", F_FRAC},
	[M_FAILURES] = {"failures", "failures", F_COUNT},
	[M_MEM] = {"mean memory (MiB)", "mean_memory_mib", F_MIB},
	[M_TBOOTS] = {"template boots (not requests)", "template_boots",
		      F_COUNT},
	[M_TBOOT_S] = {"template boot time (s)", "template_boot_s", F_S},
	[M_TBOOT_VCPU_S] = {"template boot vCPU-seconds",
			    "template_boot_vcpu_s", F_S},
	[M_TBOOT_MIB_S] = {"template boot memory (MiB-seconds)",
			   "template_boot_mem_mib_s", F_S},
	[M_NODE_FAILS] = {"node failures", "node_failures", F_COUNT},
	[M_NODE_DOWN_S] = {"node downtime (s)", "node_down_s", F_S},
	[M_LINK_CUTS] = {"link cuts", "link_cuts", F_COUNT},
	[M_LINK_DOWN_S] = {"link downtime (s)", "link_down_s", F_S},
};
#define metrics ukf_report_metrics

/* The quantiles given with order-statistic intervals. */
const double ukf_report_q[3] = {0.50, 0.95, 0.99};
static const char *const qname[3] = {"p50", "p95", "p99"};

struct pairdiff {
	size_t pairs;
	struct ukf_ci mean, p95, success;
};

struct boot_summary {
	struct run *run;
	char *mode;
	size_t count, ok;
	struct ukf_ci median, p95, p99;
	double max_ms, launch_rate, cpu_mean, rss_max;
};

/* ---- small helpers ---- */

static char *dupcol(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return strdup(s ? (const char *)s : "");
}

static int streq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static int sq_err(struct report *r, const char *what)
{
	ukf_seterr(r->err, r->errlen, "%s: %s: %s", r->path, what,
			   sqlite3_errmsg(r->sq));
	return -1;
}

int ukf_report_sqerr(struct report *r, const char *what)
{
	return sq_err(r, what);
}

static int oom(struct report *r)
{
	ukf_seterr(r->err, r->errlen, "%s: out of memory", r->path);
	return -1;
}

/* ---- loading ---- */

static int load_runs(struct report *r)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;

	if (sqlite3_prepare_v2(r->sq,
			       "SELECT id, kind, scenario, scenario_hash, "
			       "config, backend, version, seed, rep, wall_s, "
			       "events, settings_json FROM runs ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return sq_err(r, "reading runs");
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (r->nruns == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct run *n = realloc(r->runs, ncap * sizeof *n);
			if (!n) {
				sqlite3_finalize(st);
				return oom(r);
			}
			r->runs = n;
			cap = ncap;
		}
		struct run *run = &r->runs[r->nruns++];
		memset(run, 0, sizeof *run);
		run->id = sqlite3_column_int64(st, 0);
		run->kind = dupcol(st, 1);
		run->scenario = dupcol(st, 2);
		run->hash = dupcol(st, 3);
		run->config = dupcol(st, 4);
		run->backend = dupcol(st, 5);
		run->version = dupcol(st, 6);
		run->settings = dupcol(st, 11);
		run->seed = (uint64_t)sqlite3_column_int64(st, 7);
		run->rep = sqlite3_column_int64(st, 8);
		run->wall_s = sqlite3_column_type(st, 9) == SQLITE_NULL
				      ? NAN
				      : sqlite3_column_double(st, 9);
		run->events = sqlite3_column_type(st, 10) == SQLITE_NULL
				      ? -1
				      : sqlite3_column_int64(st, 10);
		for (int m = 0; m < M_COUNT; m++)
			run->v[m] = NAN;
		if (!run->kind || !run->scenario || !run->hash ||
		    !run->config || !run->backend || !run->version ||
		    !run->settings) {
			sqlite3_finalize(st);
			return oom(r);
		}
		/* What makes two runs one configuration: their settings
		 * apart from seed and rep (NULL: none, or not an object). */
		run->cmp = json_tokener_parse(run->settings);
		if (run->cmp && !json_object_is_type(run->cmp, json_type_object)) {
			json_object_put(run->cmp);
			run->cmp = NULL;
		}
		if (run->cmp) {
			json_object_object_del(run->cmp, "seed");
			json_object_object_del(run->cmp, "rep");
		}
		if (!strcmp(run->kind, "bootbench"))
			r->nboot++;
		else
			r->nscenario++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_err(r, "reading runs");
	return 0;
}

/* The values of a one-column query bound to run id: *out is malloc'ed
 * (caller frees, NULL when empty), *n its length. */
static int load_column(struct report *r, const char *sql, int64_t run,
		       double **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(r->sq, sql, -1, &st, NULL) != SQLITE_OK)
		return sq_err(r, "reading values");
	sqlite3_bind_int64(st, 1, run);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t ncap = cap ? 2 * cap : 1024;
			double *p = realloc(*out, ncap * sizeof *p);
			if (!p) {
				sqlite3_finalize(st);
				free(*out);
				*out = NULL;
				return oom(r);
			}
			*out = p;
			cap = ncap;
		}
		(*out)[(*n)++] = sqlite3_column_double(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(*out);
		*out = NULL;
		return sq_err(r, "reading values");
	}
	return 0;
}

/* One row of numbers from an aggregate query bound to run id. */
static int load_row(struct report *r, const char *sql, int64_t run,
		    double *v, int nv)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(r->sq, sql, -1, &st, NULL) != SQLITE_OK)
		return sq_err(r, "reading figures");
	sqlite3_bind_int64(st, 1, run);
	int rc = sqlite3_step(st);
	for (int i = 0; i < nv; i++)
		v[i] = rc == SQLITE_ROW &&
				       sqlite3_column_type(st, i) != SQLITE_NULL
			       ? sqlite3_column_double(st, i)
			       : NAN;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_err(r, "reading figures");
	return 0;
}

/* How long a template boot ran, ns: to t_end, or to the run's end
 * (e.t, sim_end_ns) while still booting; NULL without a start. */
#define TBOOT_NS_SQL                                                          \
	"CASE WHEN b.t_start IS NOT NULL AND coalesce(b.t_end, e.t) >= "      \
	"b.t_start THEN coalesce(b.t_end, e.t) - b.t_start END"
#define TBOOT_FROM_SQL                                                        \
	" FROM template_boots b, (SELECT sim_end_ns AS t FROM runs WHERE "    \
	"id = ?1) e WHERE b.run = ?1"

/*
 * The run's template boots: count, seconds, and vCPU- and MiB-seconds,
 * each boot's seconds times its app's vcpus= and mem=, read from the
 * app's description in the run's settings_json ("apps", as `ukfork run`
 * stores them). Those two are NaN when an app that booted is not there
 * or does not parse (a database written by another tool).
 */
static int tboot_figures(struct report *r, struct run *run)
{
	sqlite3_stmt *st = NULL;
	struct json_object *apps = NULL;
	double n = 0, s = 0, vs = 0, ms = 0;

	if (run->cmp)
		json_object_object_get_ex(run->cmp, "apps", &apps);
	if (sqlite3_prepare_v2(r->sq,
			       "SELECT b.app, count(*), total(" TBOOT_NS_SQL
			       ") / 1e9" TBOOT_FROM_SQL " GROUP BY b.app",
			       -1, &st, NULL) != SQLITE_OK)
		return sq_err(r, "reading template boots");
	sqlite3_bind_int64(st, 1, run->id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		double secs = sqlite3_column_double(st, 2);
		struct json_object *spec = NULL;
		struct ukf_app app;
		char e[256];
		n += sqlite3_column_double(st, 1);
		s += secs;
		if (secs == 0)
			continue;
		if (!name || !apps ||
		    !json_object_object_get_ex(apps, name, &spec) ||
		    !json_object_is_type(spec, json_type_string) ||
		    ukf_app_parse(&app, name, json_object_get_string(spec), e,
				  sizeof e) < 0) {
			vs = ms = NAN;
			continue;
		}
		vs += app.vcpus * secs;
		ms += (double)app.mem_bytes / 1048576.0 * secs;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_err(r, "reading template boots");
	run->v[M_TBOOTS] = n;
	run->v[M_TBOOT_S] = s;
	run->v[M_TBOOT_VCPU_S] = vs;
	run->v[M_TBOOT_MIB_S] = ms;
	return 0;
}

/* One row of outages, as read for the figures. */
struct orow {
	int64_t node, t;
	size_t seq; /* its place in the run's rows (rowid order) */
	int kind;   /* OK_* */
};
enum { OK_OTHER, OK_NODE_FAIL, OK_NODE_RECOVER, OK_LINK_FAIL,
       OK_LINK_RECOVER };

static int cmp_orow(const void *x, const void *y)
{
	const struct orow *a = x, *b = y;

	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The downtime of an interval from t0 to t1 (NaN: an end not known). */
static double down_s(int64_t t0, double t1)
{
	return t1 > (double)t0 ? (t1 - (double)t0) / 1e9 : 0;
}

/*
 * The run's node failures and link cuts (rows of outages) and the
 * seconds nodes were down and cut off, summed over nodes: a node-fail
 * to its node's next node-recover, a link-fail to its next
 * link-recover or node-fail (a node that fails while cut off is down
 * from then on), an interval still open to the run's end (sim_end_ns;
 * NULL there: the downtime is unknown, NaN). The rows of one node are
 * taken in the order they were written (rowid), which is world order.
 */
static int outage_figures(struct report *r, struct run *run)
{
	sqlite3_stmt *st = NULL;
	struct orow *o = NULL;
	size_t n = 0, cap = 0;
	double end;
	double nf = 0, nd = 0, lc = 0, ld = 0;

	if (load_row(r, "SELECT sim_end_ns FROM runs WHERE id = ?", run->id,
		     &end, 1) < 0)
		return -1;
	if (sqlite3_prepare_v2(r->sq,
			       "SELECT node, t, kind FROM outages WHERE run = "
			       "? ORDER BY rowid",
			       -1, &st, NULL) != SQLITE_OK)
		return sq_err(r, "reading outages");
	sqlite3_bind_int64(st, 1, run->id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 2);
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct orow *p = realloc(o, ncap * sizeof *p);
			if (!p) {
				sqlite3_finalize(st);
				free(o);
				return oom(r);
			}
			o = p;
			cap = ncap;
		}
		o[n].node = sqlite3_column_int64(st, 0);
		o[n].t = sqlite3_column_int64(st, 1);
		o[n].seq = n;
		o[n].kind = !k ? OK_OTHER
			    : !strcmp(k, "node-fail")    ? OK_NODE_FAIL
			    : !strcmp(k, "node-recover") ? OK_NODE_RECOVER
			    : !strcmp(k, "link-fail")    ? OK_LINK_FAIL
			    : !strcmp(k, "link-recover") ? OK_LINK_RECOVER
							 : OK_OTHER;
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(o);
		return sq_err(r, "reading outages");
	}
	if (n) /* o is NULL without outages: qsort's is never */
		qsort(o, n, sizeof *o, cmp_orow);
	for (size_t i = 0; i < n;) {
		int down = 0, cut = 0; /* open intervals of this node */
		int64_t t_down = 0, t_cut = 0;
		size_t j = i;
		for (; j < n && o[j].node == o[i].node; j++) {
			const struct orow *x = &o[j];
			switch (x->kind) {
			case OK_NODE_FAIL:
				nf++;
				if (cut)
					ld += down_s(t_cut, (double)x->t);
				cut = 0;
				if (!down) {
					down = 1;
					t_down = x->t;
				}
				break;
			case OK_NODE_RECOVER:
				if (down)
					nd += down_s(t_down, (double)x->t);
				down = 0;
				break;
			case OK_LINK_FAIL:
				lc++;
				if (!cut && !down) {
					cut = 1;
					t_cut = x->t;
				}
				break;
			case OK_LINK_RECOVER:
				if (cut)
					ld += down_s(t_cut, (double)x->t);
				cut = 0;
				break;
			default:
				break;
			}
		}
		if (down)
			nd += isnan(end) ? NAN : down_s(t_down, end);
		if (cut)
			ld += isnan(end) ? NAN : down_s(t_cut, end);
		i = j;
	}
	free(o);
	run->v[M_NODE_FAILS] = nf;
	run->v[M_NODE_DOWN_S] = nd;
	run->v[M_LINK_CUTS] = lc;
	run->v[M_LINK_DOWN_S] = ld;
	return 0;
}

/*
 * An instance that became ready: a ready time (NULL = never), not before
 * its request. A ready time of 0 also means "never": records of requests
 * that failed before placement leave it unset (no real ready time is 0:
 * every start takes time, and monotonic clocks do not start at 0).
 */
#define READY_SQL                                                             \
	"t_ready IS NOT NULL AND t_request IS NOT NULL AND t_ready > 0 AND "  \
	"t_ready >= t_request"

static int scenario_figures(struct report *r, struct run *run)
{
	double a[8];
	double *lat;
	size_t n;

	/* Outcomes: completed (ready), failed before ready, unfinished. */
	if (load_row(r,
		     "SELECT count(*), sum(start_code = 0), "
		     "sum(start_code = 1), sum(start_code = 2), sum(remote), "
		     "sum(status = -1000 OR fail_reason IS NOT NULL), "
		     "sum(" READY_SQL "), "
		     "sum(NOT (" READY_SQL ") AND (status = -1000 OR "
		     "fail_reason IS NOT NULL)) "
		     "FROM instances WHERE run = ?",
		     run->id, a, 8) < 0)
		return -1;
	run->v[M_REQUESTS] = a[0];
	/* counts are 0 for a run without requests (sum() of no rows is
	 * NULL), so their means across runs are over the same runs as the
	 * requests'; fractions of no requests stay undefined */
	run->v[M_FAILURES] = a[0] > 0 ? a[5] : 0;
	run->v[M_FAILED] = a[0] > 0 ? a[7] : 0;
	run->v[M_UNFINISHED] = a[0] > 0 ? a[0] - a[6] - a[7] : 0;
	if (a[0] > 0) {
		run->v[M_COLD] = a[1] / a[0];
		run->v[M_TEMPLATE] = a[2] / a[0];
		run->v[M_FORK] = a[3] / a[0];
		run->v[M_REMOTE] = a[4] / a[0];
		run->v[M_SUCCESS] = a[6] / a[0];
		run->v[M_FAILED_FRAC] = a[7] / a[0];
		run->v[M_UNFINISHED_FRAC] = (a[0] - a[6] - a[7]) / a[0];
	}
	if (load_row(r,
		     "SELECT avg(m) / 1048576.0 FROM (SELECT sum(mem_used) AS "
		     "m FROM samples WHERE run = ? GROUP BY t)",
		     run->id, &run->v[M_MEM], 1) < 0)
		return -1;
	/* The engine's own template boots; a file written before the
	 * table existed has no figures, not 0. */
	if (r->have_tboots && tboot_figures(r, run) < 0)
		return -1;
	/* Node and link outages; none in a file older than the table. */
	if (r->have_outages && outage_figures(r, run) < 0)
		return -1;
	if (load_column(r,
			"SELECT (t_ready - t_request) / 1e6 FROM instances "
			"WHERE run = ? AND " READY_SQL,
			run->id, &lat, &n) < 0)
		return -1;
	ukf_stats_sort(lat, n);
	for (int k = 0; k < 3; k++)
		ukf_stats_quantile_ci(lat, n, ukf_report_q[k], LEVEL,
				      &run->q[k]);
	if (n) {
		struct ukf_ci ci;
		ukf_stats_mean_ci(lat, n, LEVEL, &ci);
		run->v[M_LAT_MEAN] = ci.mean;
		run->v[M_LAT_P50] = run->q[0].mean;
		run->v[M_LAT_P95] = run->q[1].mean;
		run->v[M_LAT_P99] = run->q[2].mean;
	}
	run->lat = lat;
	run->nlat = n;
	return 0;
}

/* The next component of a path from p on and its length n (0: the end),
 * past repeated slashes and "." components. */
static const char *path_part(const char *p, size_t *n)
{
	for (;;) {
		while (*p == '/')
			p++;
		*n = strcspn(p, "/");
		if (*n != 1 || p[0] != '.')
			return p;
		p++;
	}
}

/* Two scenario paths name the same file as far as their text tells:
 * "s.lua", "./s.lua" and ".//s.lua" are one section, not three (".."
 * and symbolic links are left as written). */
static int same_path(const char *a, const char *b)
{
	if ((a[0] == '/') != (b[0] == '/'))
		return 0;
	for (;;) {
		size_t n, m;
		a = path_part(a, &n);
		b = path_part(b, &m);
		if (n != m || memcmp(a, b, n))
			return 0;
		if (!n)
			return 1;
		a += n;
		b += m;
	}
}

static struct section *find_section(struct report *r, const struct run *run)
{
	for (size_t i = 0; i < r->nsections; i++)
		if (same_path(r->sections[i].scenario, run->scenario) &&
		    streq(r->sections[i].hash, run->hash))
			return &r->sections[i];
	struct section *n =
		realloc(r->sections, (r->nsections + 1) * sizeof *n);
	if (!n)
		return NULL;
	r->sections = n;
	struct section *s = &r->sections[r->nsections++];
	memset(s, 0, sizeof *s);
	s->scenario = run->scenario;
	s->hash = run->hash;
	return s;
}

/* Runs a and b have the same settings apart from seed and rep (the raw
 * text is compared where a settings_json is not a JSON object). */
static int same_settings(const struct run *a, const struct run *b)
{
	if (a->cmp && b->cmp)
		return json_object_equal(a->cmp, b->cmp);
	return !a->cmp && !b->cmp && streq(a->settings, b->settings);
}

static struct config *find_config(struct section *s, const struct run *run)
{
	for (size_t i = 0; i < s->nconfigs; i++)
		if (streq(s->configs[i].config, run->config) &&
		    streq(s->configs[i].backend, run->backend) &&
		    s->configs[i].nruns &&
		    same_settings(s->configs[i].runs[0], run))
			return &s->configs[i];
	struct config *n = realloc(s->configs, (s->nconfigs + 1) * sizeof *n);
	if (!n)
		return NULL;
	s->configs = n;
	struct config *c = &s->configs[s->nconfigs++];
	memset(c, 0, sizeof *c);
	c->config = run->config;
	c->backend = run->backend;
	if (s->nconfigs > 1 && !streq(s->configs[0].backend, run->backend))
		s->mixed_backends = 1;
	return c;
}

/* Append to buf (length *off, capacity cap) printf-style, truncating. */
static void bprintf(char *buf, size_t cap, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void bprintf(char *buf, size_t cap, size_t *off, const char *fmt, ...)
{
	va_list ap;
	if (*off >= cap)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *off, cap - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
	if (*off >= cap)
		*off = cap - 1;
}

/*
 * s for a terminal, a table cell or a data file's comment line
 * (ukf_esc_char of each character, UTF-8 checked) into buf (cap bytes), never cut inside a character
 * or an escape. A label from a swept string (param() or --set) may hold a
 * newline, which broke the table and the plot data's comment.
 */
static void printable(char *buf, size_t cap, const char *s)
{
	size_t off = 0, k, n;
	char e[8];

	while (*s) {
		const char *src = ukf_esc_char(s, UKF_ESC_UTF8, e, &k, &n);
		if (off + n >= cap)
			break;
		memcpy(buf + off, src, n);
		off += n;
		s += k;
	}
	if (cap)
		buf[off] = 0;
}

/*
 * What a configuration is called: its config label ("(default)" if
 * empty); where other configurations of the section share that label and
 * backend but not the settings, the settings that tell them apart
 * ("default {nodes=4}"); "[backend]" when the section mixes backends.
 */
static void label_configs(struct section *s)
{
	for (size_t i = 0; i < s->nconfigs; i++) {
		struct config *c = &s->configs[i];
		const struct run *a = c->runs[0];
		size_t off = 0, nkeys = 0;
		bprintf(c->label, sizeof c->label, &off, "%s",
			c->config[0] ? c->config : "(default)");
		for (size_t j = 0; j < s->nconfigs; j++) {
			const struct config *d = &s->configs[j];
			if (j == i || !streq(c->config, d->config) ||
			    !streq(c->backend, d->backend))
				continue;
			const struct run *b = d->runs[0];
			if (!a->cmp || !b->cmp)
				continue;
			json_object_object_foreach(a->cmp, key, val)
			{
				struct json_object *o = NULL;
				if (json_object_object_get_ex(b->cmp, key, &o) &&
				    json_object_equal(val, o))
					continue;
				/* once per key */
				char pat[160];
				snprintf(pat, sizeof pat, "%s=", key);
				const char *br = strchr(c->label, '{');
				if (br && strstr(br, pat))
					continue;
				bprintf(c->label, sizeof c->label, &off, "%s%s=%s",
					nkeys++ ? ", " : " {", key,
					json_object_is_type(val,
							    json_type_string)
						? json_object_get_string(val)
						: json_object_to_json_string_ext(
							  val,
							  JSON_C_TO_STRING_PLAIN));
			}
		}
		if (nkeys)
			bprintf(c->label, sizeof c->label, &off, "}");
		else
			for (size_t j = 0; j < i; j++)
				if (streq(c->config, s->configs[j].config) &&
				    streq(c->backend, s->configs[j].backend)) {
					/* settings differ, not as objects */
					bprintf(c->label, sizeof c->label,
						&off, " #%zu", i + 1);
					break;
				}
		if (s->mixed_backends)
			bprintf(c->label, sizeof c->label, &off, " [%s]",
				c->backend);
		char raw[sizeof c->label];
		memcpy(raw, c->label, sizeof raw);
		printable(c->label, sizeof c->label, raw);
	}
}

/* Quantiles of the completed requests of all runs of c, pooled, with
 * order-statistic intervals. -1 when out of memory. */
static int pool_quantiles(struct config *c)
{
	size_t n = 0;
	for (size_t k = 0; k < c->nruns; k++)
		n += c->runs[k]->nlat;
	double *all = malloc((n ? n : 1) * sizeof *all);
	if (!all)
		return -1;
	n = 0;
	for (size_t k = 0; k < c->nruns; k++) {
		if (c->runs[k]->nlat)
			memcpy(all + n, c->runs[k]->lat,
			       c->runs[k]->nlat * sizeof *all);
		n += c->runs[k]->nlat;
	}
	ukf_stats_sort(all, n);
	for (int q = 0; q < 3; q++)
		ukf_stats_quantile_ci(all, n, ukf_report_q[q], LEVEL,
				      &c->pooled[q]);
	free(all);
	return 0;
}

static int group_runs(struct report *r)
{
	for (size_t i = 0; i < r->nruns; i++) {
		struct run *run = &r->runs[i];
		if (!strcmp(run->kind, "bootbench"))
			continue;
		if (scenario_figures(r, run) < 0)
			return -1;
		struct section *s = find_section(r, run);
		struct config *c = s ? find_config(s, run) : NULL;
		if (!c)
			return oom(r);
		/* the same simulated run stored twice (same scenario hash,
		 * config, backend, seed and rep) is one replication, not two;
		 * a real one (kvm, cluster) run again with the same seed is
		 * another measurement, kept */
		struct run *dup = NULL;
		int det = streq(run->backend, "sim");
		for (size_t k = 0; det && k < c->nruns && !dup; k++)
			if (c->runs[k]->seed == run->seed &&
			    c->runs[k]->rep == run->rep)
				dup = c->runs[k];
		if (dup) {
			fprintf(stderr,
				"ukfork report: warning: %s: run %lld duplicates "
				"run %lld (scenario %s, config %s, seed %llu, "
				"rep %lld): counted once\n",
				r->path, (long long)run->id, (long long)dup->id,
				run->scenario, run->config,
				(unsigned long long)run->seed,
				(long long)run->rep);
			continue;
		}
		struct run **n =
			realloc(c->runs, (c->nruns + 1) * sizeof *n);
		if (!n)
			return oom(r);
		c->runs = n;
		c->runs[c->nruns++] = run;
	}
	for (size_t i = 0; i < r->nsections; i++) {
		struct section *s = &r->sections[i];
		for (size_t j = 0; j < s->nconfigs; j++) {
			struct config *c = &s->configs[j];
			double *v = malloc(c->nruns * sizeof *v);
			if (!v)
				return oom(r);
			for (int m = 0; m < M_COUNT; m++) {
				for (size_t k = 0; k < c->nruns; k++)
					v[k] = c->runs[k]->v[m];
				ukf_stats_mean_ci(v, c->nruns, LEVEL,
						  &c->ci[m]);
			}
			free(v);
			if (pool_quantiles(c) < 0)
				return oom(r);
		}
		label_configs(s);
	}
	return 0;
}

/*
 * Pair each run of c with the unused run of base that has the same seed and
 * rep; differences c - base of mean and p95 latency and of the success
 * rate, with their CIs.
 */
static int pair_configs(const struct config *base, const struct config *c,
			struct pairdiff *d)
{
	size_t n = c->nruns;
	double *dm = malloc((n ? n : 1) * sizeof *dm);
	double *dp = malloc((n ? n : 1) * sizeof *dp);
	double *ds = malloc((n ? n : 1) * sizeof *ds);

	if (!dm || !dp || !ds) {
		free(dm);
		free(dp);
		free(ds);
		return -1;
	}
	for (size_t k = 0; k < base->nruns; k++)
		base->runs[k]->paired = 0;
	d->pairs = 0;
	for (size_t i = 0; i < n; i++) {
		const struct run *rc = c->runs[i];
		for (size_t k = 0; k < base->nruns; k++) {
			struct run *rb = base->runs[k];
			if (rb->paired || rb->seed != rc->seed ||
			    rb->rep != rc->rep)
				continue;
			rb->paired = 1;
			dm[d->pairs] = rc->v[M_LAT_MEAN] - rb->v[M_LAT_MEAN];
			dp[d->pairs] = rc->v[M_LAT_P95] - rb->v[M_LAT_P95];
			ds[d->pairs] = rc->v[M_SUCCESS] - rb->v[M_SUCCESS];
			d->pairs++;
			break;
		}
	}
	ukf_stats_mean_ci(dm, d->pairs, LEVEL, &d->mean);
	ukf_stats_mean_ci(dp, d->pairs, LEVEL, &d->p95);
	ukf_stats_mean_ci(ds, d->pairs, LEVEL, &d->success);
	free(dm);
	free(dp);
	free(ds);
	return 0;
}

static int boot_summary(struct report *r, struct run *run,
			struct boot_summary *b)
{
	double a[6];
	double *lat = NULL;
	size_t n;
	sqlite3_stmt *st = NULL;

	memset(b, 0, sizeof *b);
	b->run = run;
	if (load_row(r,
		     "SELECT count(*), sum(ok), avg(cpu_s), max(peak_rss_bytes),"
		     " min(t_launch), max(CASE WHEN ok THEN t_marker END) "
		     "FROM boots WHERE run = ?",
		     run->id, a, 6) < 0)
		return -1;
	b->count = (size_t)a[0];
	b->ok = isnan(a[1]) ? 0 : (size_t)a[1];
	b->cpu_mean = a[2];
	b->rss_max = a[3];
	double span_s = (a[5] - a[4]) / 1e9;
	b->launch_rate = b->ok && span_s > 0 ? (double)b->ok / span_s : NAN;
	if (sqlite3_prepare_v2(r->sq,
			       "SELECT group_concat(mode, ',') FROM (SELECT "
			       "DISTINCT mode FROM boots WHERE run = ? AND "
			       "mode IS NOT NULL ORDER BY mode)",
			       -1, &st, NULL) != SQLITE_OK)
		return sq_err(r, "reading boots");
	sqlite3_bind_int64(st, 1, run->id);
	if (sqlite3_step(st) == SQLITE_ROW)
		b->mode = dupcol(st, 0);
	sqlite3_finalize(st);
	if (!b->mode)
		b->mode = strdup("");
	if (!b->mode)
		return oom(r);
	if (load_column(r,
			"SELECT (t_marker - t_launch) / 1e6 FROM boots "
			"WHERE run = ? AND ok AND t_marker IS NOT NULL "
			"AND t_launch IS NOT NULL",
			run->id, &lat, &n) < 0)
		return -1;
	ukf_stats_sort(lat, n);
	ukf_stats_quantile_ci(lat, n, 0.50, LEVEL, &b->median);
	ukf_stats_quantile_ci(lat, n, 0.95, LEVEL, &b->p95);
	ukf_stats_quantile_ci(lat, n, 0.99, LEVEL, &b->p99);
	b->max_ms = n ? lat[n - 1] : NAN;
	free(lat);
	return 0;
}

/* Call fn(index, status, last_output) for each failed boot of run. */
static int each_failure(struct report *r, int64_t run,
			void (*fn)(void *u, int64_t idx, sqlite3_stmt *st),
			void *u)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(r->sq,
			       "SELECT idx, status, last_output FROM boots "
			       "WHERE run = ? AND NOT ok ORDER BY idx",
			       -1, &st, NULL) != SQLITE_OK)
		return sq_err(r, "reading failures");
	sqlite3_bind_int64(st, 1, run);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(u, sqlite3_column_int64(st, 0), st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_err(r, "reading failures");
	return 0;
}

/* ---- number formatting ---- */

static int decimals(enum fmt f, double x)
{
	double a = fabs(x);
	switch (f) {
	case F_FRAC:
		return 3;
	case F_COUNT:
		return x == floor(x) ? 0 : 1;
	default:
		return a >= 1000 ? 0 : a >= 100 ? 1 : a >= 10 ? 2 : 3;
	}
}

static void fmt_num(char *buf, size_t cap, enum fmt f, double x)
{
	if (isnan(x))
		snprintf(buf, cap, "-");
	else
		snprintf(buf, cap, "%.*f", decimals(f, x), x);
}

/* "mean ±half" (or "mean" without an interval). */
static void fmt_ci(char *buf, size_t cap, enum fmt f, const struct ukf_ci *c)
{
	if (isnan(c->mean)) {
		snprintf(buf, cap, "-");
	} else if (isnan(c->lo) || isnan(c->hi)) {
		fmt_num(buf, cap, f, c->mean);
	} else {
		int d = f == F_COUNT ? (fabs(c->mean) >= 100 ? 0 : 1)
				     : decimals(f, c->mean);
		snprintf(buf, cap, "%.*f ±%.*f", d, c->mean, d,
			 (c->hi - c->lo) / 2);
	}
}

/* "x [lo, hi]" (or "x [-, hi]" where a side is unavailable). */
static void fmt_interval(char *buf, size_t cap, const struct ukf_ci *c)
{
	char m[32], lo[32], hi[32];
	fmt_num(m, sizeof m, F_MS, c->mean);
	if (isnan(c->mean)) {
		snprintf(buf, cap, "-");
		return;
	}
	fmt_num(lo, sizeof lo, F_MS, c->lo);
	fmt_num(hi, sizeof hi, F_MS, c->hi);
	snprintf(buf, cap, "%s [%s, %s]", m, lo, hi);
}

/* ---- aligned text tables ---- */

struct table {
	size_t cols, rows, cap;
	size_t left; /* columns 0..left-1 are left-aligned (at least 1) */
	char **cells; /* rows * cols, malloc'ed strings */
};

static int table_add(struct table *t, const char *const *cells)
{
	if (t->rows == t->cap) {
		size_t ncap = t->cap ? 2 * t->cap : 16;
		char **n = realloc(t->cells, ncap * t->cols * sizeof *n);
		if (!n)
			return -1;
		t->cells = n;
		t->cap = ncap;
	}
	for (size_t c = 0; c < t->cols; c++) {
		char *s = strdup(cells[c] ? cells[c] : "");
		if (!s) {
			while (c--)
				free(t->cells[t->rows * t->cols + c]);
			return -1;
		}
		t->cells[t->rows * t->cols + c] = s;
	}
	t->rows++;
	return 0;
}

/* Display width of a UTF-8 string: wcwidth() in glibc's C.UTF-8 (an
 * emoji or a CJK character takes two columns, a combining mark none;
 * a label with one was a column off), whatever the user's locale; one
 * column per code point where that locale is missing. Cells hold
 * printable text (labels pass through printable()). */
static size_t width(const char *s)
{
	static locale_t utf8;
	static int tried;
	size_t w = 0, left = strlen(s);

	if (!tried) {
		tried = 1;
		utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	}
	if (utf8) {
		locale_t was = uselocale(utf8);
		mbstate_t st;
		wchar_t wc;
		memset(&st, 0, sizeof st);
		while (left) {
			size_t k = mbrtowc(&wc, s, left, &st);
			if (k == 0 || k > left)
				break; /* invalid: the rest by code points */
			int cw = wcwidth(wc);
			w += cw < 0 ? 1 : (size_t)cw;
			s += k;
			left -= k;
		}
		uselocale(was);
	}
	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

/* Rows of columns 0 and c0..c1-1 (widths w), 2 spaces apart: text
 * columns left-aligned, numbers right. */
static void table_rows(FILE *out, const struct table *t, const size_t *w,
		       const char *indent, size_t c0, size_t c1)
{
	for (size_t r = 0; r < t->rows; r++) {
		fputs(indent, out);
		for (size_t c = 0; c < c1; c = c ? c + 1 : c0) {
			const char *s = t->cells[r * t->cols + c];
			size_t pad = w[c] - width(s);
			if (c)
				fputs("  ", out);
			if (c < t->left || c == 0) {
				fputs(s, out);
				if (c + 1 < c1)
					fprintf(out, "%*s", (int)pad, "");
			} else {
				fprintf(out, "%*s%s", (int)pad, "", s);
			}
		}
		fputc('\n', out);
	}
}

/*
 * The table, its columns as wide as their widest cell. maxw > 0 and the
 * table wider than maxw display columns (indent included): columns 1..
 * (one per configuration) in blocks, each behind column 0 (the figures'
 * names) and as wide as fits in maxw (at least one column), headed
 * "<what> a-b of n:" and a blank line apart. 300 configurations side by
 * side made lines of 6,600 characters.
 */
static void table_print_wrap(FILE *out, struct table *t, const char *indent,
			     size_t maxw, const char *what)
{
	size_t *w = calloc(t->cols, sizeof *w);
	if (!w)
		return;
	size_t total = width(indent);
	for (size_t c = 0; c < t->cols; c++) {
		for (size_t r = 0; r < t->rows; r++) {
			size_t x = width(t->cells[r * t->cols + c]);
			if (x > w[c])
				w[c] = x;
		}
		total += (c ? 2 : 0) + w[c];
	}
	if (!maxw || total <= maxw || t->cols < 3) {
		table_rows(out, t, w, indent, 1, t->cols);
		free(w);
		return;
	}
	for (size_t c0 = 1; c0 < t->cols;) {
		size_t c1 = c0 + 1, used = width(indent) + w[0] + 2 + w[c0];
		while (c1 < t->cols && used + 2 + w[c1] <= maxw)
			used += 2 + w[c1++];
		fprintf(out, "%s%s%s %zu-%zu of %zu:\n", c0 > 1 ? "\n" : "",
			indent, what, c0, c1 - 1, t->cols - 1);
		table_rows(out, t, w, indent, c0, c1);
		c0 = c1;
	}
	free(w);
}

static void table_print(FILE *out, struct table *t, const char *indent)
{
	table_print_wrap(out, t, indent, 0, NULL);
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->rows * t->cols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->rows = t->cap = 0;
}


/*
 * Printable form of console output for a text report: C escapes for
 * control characters and for bytes that are not valid UTF-8; at most max
 * characters, then "...".
 */
static void put_escaped(FILE *out, const char *s, size_t max)
{
	size_t n = 0, k, len;
	char e[8];

	for (; *s && n < max; s += k, n++) {
		const char *t = ukf_esc_char(
		    s, UKF_ESC_UTF8 | UKF_ESC_QUOTES, e, &k, &len);
		fwrite(t, 1, len, out);
	}
	if (*s)
		fputs("...", out);
}

/* ---- JSON (json-c, through json.h) ---- */

/* A method description on one line: "\n  " folded into a space. */
static struct json_object *j_oneline(const char *s)
{
	/* as long as s: no description is cut (a fixed 512 bytes cut
	 * template_boot_method's last words) */
	char *buf = malloc(strlen(s) + 1);
	size_t n = 0;
	if (!buf)
		return NULL;
	for (; *s; s++) {
		if (*s == '\n') {
			buf[n++] = ' ';
			while (s[1] == ' ')
				s++;
		} else {
			buf[n++] = *s;
		}
	}
	buf[n] = 0;
	struct json_object *o = ukf_json_str(buf);
	free(buf);
	return o;
}

static struct json_object *j_num(double x)
{
	return ukf_json_num(x, "%.12g");
}

/* {"mean":..,"ci95_lo":..,"ci95_hi":..,"n":..} */
static struct json_object *j_ci(const struct ukf_ci *c)
{
	struct json_object *o = json_object_new_object();
	int bad = ukf_json_add(o, "mean", j_num(c->mean)) |
		  ukf_json_add(o, "ci95_lo", j_num(c->lo)) |
		  ukf_json_add(o, "ci95_hi", j_num(c->hi)) |
		  ukf_json_add(o, "n", json_object_new_uint64(c->n));
	if (bad) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ---- output ---- */

static const char *config_label(const struct section *s,
				const struct config *c, char *buf, size_t cap)
{
	(void)s;
	snprintf(buf, cap, "%s", c->label);
	return buf;
}

static int text_section(struct report *r, FILE *out, const struct section *s)
{
	struct table t = {.cols = s->nconfigs + 1};
	const char **row = calloc(t.cols, sizeof *row);
	char(*buf)[256] = calloc(t.cols, sizeof *buf);
	int rc = -1;

	size_t sl = 4 * strlen(s->scenario) + 1;
	char *scen = malloc(sl);
	if (!row || !buf || !scen) {
		free(scen);
		goto done;
	}
	printable(scen, sl, s->scenario);
	fprintf(out, "\n== scenario %s (sha %.12s), %zu configuration%s\n",
		scen[0] ? scen : "(unnamed)", s->hash[0] ? s->hash : "-",
		s->nconfigs, s->nconfigs == 1 ? "" : "s");
	free(scen);
	row[0] = "";
	for (size_t j = 0; j < s->nconfigs; j++)
		row[j + 1] = config_label(s, &s->configs[j], buf[j + 1],
					  sizeof buf[j + 1]);
	if (table_add(&t, row) < 0)
		goto done;
	row[0] = "runs (replications)";
	for (size_t j = 0; j < s->nconfigs; j++) {
		snprintf(buf[j + 1], sizeof buf[j + 1], "%zu",
			 s->configs[j].nruns);
		row[j + 1] = buf[j + 1];
	}
	if (table_add(&t, row) < 0)
		goto done;
	for (int m = 0; m < M_COUNT; m++) {
		row[0] = metrics[m].label;
		for (size_t j = 0; j < s->nconfigs; j++) {
			fmt_ci(buf[j + 1], sizeof buf[j + 1], metrics[m].fmt,
			       &s->configs[j].ci[m]);
			row[j + 1] = buf[j + 1];
		}
		if (table_add(&t, row) < 0)
			goto done;
	}
	for (int q = 0; q < 3; q++) {
		static const char *const lab[3] = {
			"pooled p50 (ms) [95% OS CI]",
			"pooled p95 (ms) [95% OS CI]",
			"pooled p99 (ms) [95% OS CI]"};
		row[0] = lab[q];
		for (size_t j = 0; j < s->nconfigs; j++) {
			fmt_interval(buf[j + 1], sizeof buf[j + 1],
				     &s->configs[j].pooled[q]);
			row[j + 1] = buf[j + 1];
		}
		if (table_add(&t, row) < 0)
			goto done;
	}
	table_print_wrap(out, &t, "  ", r->width, "configurations");
	table_free(&t);

	if (s->nconfigs > 1) {
		char base[256];
		struct table p = {.cols = 5, .left = 1};
		const char *hdr[5] = {"configuration", "pairs",
				      "diff mean latency ms [95% CI]",
				      "diff p95 latency ms [95% CI]",
				      "diff success rate [95% CI]"};
		config_label(s, &s->configs[0], base, sizeof base);
		fprintf(out,
			"\n  paired differences against %s (configuration - "
			"baseline, runs paired by seed and rep):\n",
			base);
		if (table_add(&p, hdr) < 0) {
			table_free(&p);
			goto done;
		}
		for (size_t j = 1; j < s->nconfigs; j++) {
			struct pairdiff d;
			char lab[256], np[32], a[128], b[128], c[128];
			if (pair_configs(&s->configs[0], &s->configs[j], &d) <
			    0) {
				table_free(&p);
				goto done;
			}
			snprintf(np, sizeof np, "%zu", d.pairs);
			fmt_interval(a, sizeof a, &d.mean);
			fmt_interval(b, sizeof b, &d.p95);
			fmt_interval(c, sizeof c, &d.success);
			const char *cells[5] = {
				config_label(s, &s->configs[j], lab, sizeof lab),
				np, a, b, c};
			if (table_add(&p, cells) < 0) {
				table_free(&p);
				goto done;
			}
		}
		table_print(out, &p, "  ");
		table_free(&p);
	}
	rc = 0;
done:
	table_free(&t);
	free(row);
	free(buf);
	if (rc < 0)
		return oom(r);
	return 0;
}

static void text_failure(void *u, int64_t idx, sqlite3_stmt *st)
{
	FILE *out = u;
	const unsigned char *last = sqlite3_column_text(st, 2);
	fprintf(out, "    #%lld ", (long long)idx);
	if (sqlite3_column_type(st, 1) == SQLITE_NULL)
		fputs("status -", out);
	else
		fprintf(out, "status %lld",
			(long long)sqlite3_column_int64(st, 1));
	fputs(", last output: \"", out);
	put_escaped(out, last ? (const char *)last : "", 200);
	fputs("\"\n", out);
}

static int text_boots(struct report *r, FILE *out, struct boot_summary *bs,
		      size_t n)
{
	struct table t = {.cols = 12, .left = 3};
	const char *hdr[12] = {"run",
			       "configuration",
			       "mode",
			       "count",
			       "failed",
			       "median [95% CI]",
			       "p95 [95% CI]",
			       "p99 [95% CI]",
			       "max",
			       "launches/s",
			       "cpu s (mean)",
			       "peak RSS MiB (max)"};

	fprintf(out,
		"\n== bootbench runs: launch-to-marker latency in ms;\n"
		"CI: %s;\n"
		"launches/s: instances that reached the marker per second,\n"
		"  from the first launch to the last marker\n",
		boot_ci_method);
	if (table_add(&t, hdr) < 0) {
		table_free(&t);
		return oom(r);
	}
	for (size_t i = 0; i < n; i++) {
		struct boot_summary *b = &bs[i];
		char id[32], cnt[32], fl[32], med[128], p95[128], p99[128],
			mx[32], rate[32], cpu[32], rss[32];
		snprintf(id, sizeof id, "%lld", (long long)b->run->id);
		snprintf(cnt, sizeof cnt, "%zu", b->count);
		snprintf(fl, sizeof fl, "%zu", b->count - b->ok);
		fmt_interval(med, sizeof med, &b->median);
		fmt_interval(p95, sizeof p95, &b->p95);
		fmt_interval(p99, sizeof p99, &b->p99);
		fmt_num(mx, sizeof mx, F_MS, b->max_ms);
		fmt_num(rate, sizeof rate, F_MS, b->launch_rate);
		fmt_num(cpu, sizeof cpu, F_MS, b->cpu_mean);
		/* docs/report.md lists it; only --json had it */
		if (isnan(b->rss_max))
			snprintf(rss, sizeof rss, "-");
		else
			snprintf(rss, sizeof rss, "%.1f",
				 b->rss_max / (1024.0 * 1024.0));
		char cfg[256];
		printable(cfg, sizeof cfg,
			  b->run->config[0] ? b->run->config
					    : b->run->scenario);
		const char *row[12] = {id,  cfg, b->mode, cnt,	fl,  med,
				       p95, p99, mx,	  rate, cpu, rss};
		if (table_add(&t, row) < 0) {
			table_free(&t);
			return oom(r);
		}
	}
	table_print(out, &t, "  ");
	table_free(&t);
	for (size_t i = 0; i < n; i++) {
		if (bs[i].ok == bs[i].count)
			continue;
		fprintf(out, "  failures of run %lld:\n",
			(long long)bs[i].run->id);
		if (each_failure(r, bs[i].run->id, text_failure, out) < 0)
			return -1;
	}
	return 0;
}

static void json_failure(void *u, int64_t idx, sqlite3_stmt *st)
{
	struct json_object *f = json_object_new_object();
	ukf_json_add(f, "index", json_object_new_int64(idx));
	ukf_json_add(f, "status",
		     sqlite3_column_type(st, 1) == SQLITE_NULL
			     ? NULL
			     : json_object_new_int64(
				       sqlite3_column_int64(st, 1)));
	ukf_json_add(f, "last_output",
		     ukf_json_str((const char *)sqlite3_column_text(st, 2)));
	ukf_json_append(u, f);
}

static struct json_object *json_config(const struct config *c)
{
	struct json_object *o = json_object_new_object(), *pr;
	ukf_json_add(o, "config", ukf_json_str(c->config));
	ukf_json_add(o, "backend", ukf_json_str(c->backend));
	ukf_json_add(o, "label", ukf_json_str(c->label));
	ukf_json_add(o, "settings", c->runs[0]->cmp
					    ? json_object_get(c->runs[0]->cmp)
					    : NULL);
	ukf_json_add(o, "runs", json_object_new_uint64(c->nruns));
	for (int m = 0; m < M_COUNT; m++)
		ukf_json_add(o, metrics[m].key, j_ci(&c->ci[m]));
	for (int q = 0; q < 3; q++) {
		char key[64];
		snprintf(key, sizeof key, "latency_%s_pooled_ms", qname[q]);
		ukf_json_add(o, key, j_ci(&c->pooled[q]));
	}
	ukf_json_add(o, "per_run", pr = json_object_new_array());
	for (size_t k = 0; k < c->nruns; k++) {
		const struct run *run = c->runs[k];
		struct json_object *x = json_object_new_object();
		ukf_json_add(x, "run", json_object_new_int64(run->id));
		ukf_json_add(x, "seed", json_object_new_uint64(run->seed));
		ukf_json_add(x, "rep", json_object_new_int64(run->rep));
		ukf_json_add(x, "wall_s", j_num(run->wall_s));
		ukf_json_add(x, "events",
			     run->events < 0
				     ? NULL
				     : json_object_new_int64(run->events));
		for (int m = 0; m < M_COUNT; m++)
			ukf_json_add(x, metrics[m].key, j_num(run->v[m]));
		for (int q = 0; q < 3; q++) {
			char key[64];
			snprintf(key, sizeof key, "latency_%s_ci95_ms",
				 qname[q]);
			ukf_json_add(x, key,
				     ukf_json_pair(run->q[q].lo, run->q[q].hi,
						   "%.12g"));
		}
		ukf_json_append(pr, x);
	}
	return o;
}

static int json_report(struct report *r, FILE *out, struct boot_summary *bs,
		       size_t nb)
{
	struct json_object *doc = json_object_new_object(), *sa, *ba;
	int rc = -1;

	if (!doc)
		return oom(r);
	ukf_json_add(doc, "file", ukf_json_str(r->path));
	ukf_json_add(doc, "schema_version",
		     json_object_new_int(UKF_RESULTS_SCHEMA_VERSION));
	ukf_json_add(doc, "runs", json_object_new_uint64(r->nruns));
	ukf_json_add(doc, "quantile_method", j_oneline(quantile_method));
	ukf_json_add(doc, "ci_method", j_oneline(ci_method));
	ukf_json_add(doc, "bootbench_ci_method", j_oneline(boot_ci_method));
	ukf_json_add(doc, "outcome_method", j_oneline(outcome_method));
	ukf_json_add(doc, "template_boot_method", j_oneline(tboot_method));
	ukf_json_add(doc, "outage_method", j_oneline(outage_method));
	ukf_json_add(doc, "scenarios", sa = json_object_new_array());
	for (size_t i = 0; i < r->nsections; i++) {
		const struct section *s = &r->sections[i];
		struct json_object *so = json_object_new_object(), *ca, *cm;
		ukf_json_append(sa, so);
		ukf_json_add(so, "scenario", ukf_json_str(s->scenario));
		ukf_json_add(so, "scenario_hash", ukf_json_str(s->hash));
		ukf_json_add(so, "configs", ca = json_object_new_array());
		for (size_t j = 0; j < s->nconfigs; j++)
			ukf_json_append(ca, json_config(&s->configs[j]));
		ukf_json_add(so, "comparisons", cm = json_object_new_array());
		for (size_t j = 1; j < s->nconfigs; j++) {
			const struct config *c = &s->configs[j],
					    *b = &s->configs[0];
			struct pairdiff d;
			if (pair_configs(b, c, &d) < 0) {
				oom(r);
				goto done;
			}
			struct json_object *o = json_object_new_object();
			ukf_json_append(cm, o);
			ukf_json_add(o, "config", ukf_json_str(c->config));
			ukf_json_add(o, "backend", ukf_json_str(c->backend));
			ukf_json_add(o, "label", ukf_json_str(c->label));
			ukf_json_add(o, "baseline", ukf_json_str(b->config));
			ukf_json_add(o, "baseline_backend",
				     ukf_json_str(b->backend));
			ukf_json_add(o, "baseline_label", ukf_json_str(b->label));
			ukf_json_add(o, "pairs", json_object_new_uint64(d.pairs));
			ukf_json_add(o, "diff_latency_mean_ms", j_ci(&d.mean));
			ukf_json_add(o, "diff_latency_p95_ms", j_ci(&d.p95));
			ukf_json_add(o, "diff_success_rate", j_ci(&d.success));
		}
	}
	ukf_json_add(doc, "bootbench", ba = json_object_new_array());
	for (size_t i = 0; i < nb; i++) {
		const struct boot_summary *b = &bs[i];
		struct json_object *o = json_object_new_object(), *fa;
		ukf_json_append(ba, o);
		ukf_json_add(o, "run", json_object_new_int64(b->run->id));
		ukf_json_add(o, "config", ukf_json_str(b->run->config));
		ukf_json_add(o, "scenario", ukf_json_str(b->run->scenario));
		ukf_json_add(o, "backend", ukf_json_str(b->run->backend));
		ukf_json_add(o, "mode", ukf_json_str(b->mode));
		ukf_json_add(o, "count", json_object_new_uint64(b->count));
		ukf_json_add(o, "failed",
			     json_object_new_uint64(b->count - b->ok));
		const struct {
			const char *k, *kci;
			const struct ukf_ci *c;
		} q[3] = {{"median_ms", "median_ci95_ms", &b->median},
			  {"p95_ms", "p95_ci95_ms", &b->p95},
			  {"p99_ms", "p99_ci95_ms", &b->p99}};
		for (int k = 0; k < 3; k++) {
			ukf_json_add(o, q[k].k, j_num(q[k].c->mean));
			ukf_json_add(o, q[k].kci,
				     ukf_json_pair(q[k].c->lo, q[k].c->hi,
						   "%.12g"));
		}
		ukf_json_add(o, "max_ms", j_num(b->max_ms));
		ukf_json_add(o, "launch_rate", j_num(b->launch_rate));
		ukf_json_add(o, "cpu_s_mean", j_num(b->cpu_mean));
		ukf_json_add(o, "peak_rss_max_bytes", j_num(b->rss_max));
		ukf_json_add(o, "failures", fa = json_object_new_array());
		if (each_failure(r, b->run->id, json_failure, fa) < 0)
			goto done;
	}
	if (ukf_json_print(out, doc) < 0) {
		ukf_seterr(r->err, r->errlen,
				   "report: writing output: %s",
				   strerror(errno));
		goto done;
	}
	rc = 0;
done:
	json_object_put(doc);
	return rc;
}

static int text_report(struct report *r, FILE *out, struct boot_summary *bs,
		       size_t nb)
{
	fprintf(out,
		"ukfork report: %s (results schema %d): %zu run%s (%zu "
		"scenario, %zu bootbench)\n",
		r->path, UKF_RESULTS_SCHEMA_VERSION, r->nruns,
		r->nruns == 1 ? "" : "s", r->nscenario, r->nboot);
	if (r->nsections)
		fprintf(out,
			"latency: t_ready - t_request of instances that became "
			"ready;\nfractions: of all instances (requests); "
			"memory: mean over samples of\n"
			"  memory in use summed over nodes.\n"
			"outcomes: %s.\n"
			"template boots: %s.\n"
			"outages: %s.\n"
			"quantiles: %s.\n"
			"a ± b: mean across replications ± half-width of its "
			"%s.\n"
			"pooled quantiles: over the completed requests of all "
			"runs of a configuration,\n  with the %s.\n",
			outcome_method, tboot_method, outage_method,
			quantile_method,
			ci_method,
			boot_ci_method);
	for (size_t i = 0; i < r->nsections; i++)
		if (text_section(r, out, &r->sections[i]) < 0)
			return -1;
	if (nb && text_boots(r, out, bs, nb) < 0)
		return -1;
	return 0;
}

/*
 * Reopen r->path as immutable (SQLite reads it without any lock or -shm
 * file), for a database this process cannot write. Only when it has no
 * write-ahead log with data: otherwise the committed runs in that log
 * would be missed. Returns 0, or -1 with r->err set.
 */
static int reopen_immutable(struct report *r)
{
	char wal[4096], uri[3 * 4096 + 32];
	struct stat sb;
	snprintf(wal, sizeof(wal), "%s-wal", r->path);
	if (stat(wal, &sb) == 0 && sb.st_size > 0) {
		ukf_seterr(r->err, r->errlen,
				   "%s: cannot read it without write access: "
				   "its write-ahead log %s holds runs that "
				   "only a writer can apply (open it once "
				   "with write access, or copy both files)",
				   r->path, wal);
		return -1;
	}
	size_t n = snprintf(uri, sizeof(uri), "file:");
	for (const unsigned char *c = (const unsigned char *)r->path;
	     *c && n + 4 < sizeof(uri); c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || strchr("/._-~", *c))
			uri[n++] = (char)*c;
		else
			n += snprintf(uri + n, sizeof(uri) - n, "%%%02X", *c);
	}
	snprintf(uri + n, sizeof(uri) - n, "?immutable=1");
	sqlite3_close(r->sq);
	r->sq = NULL;
	if (sqlite3_open_v2(uri, &r->sq, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
			    NULL) != SQLITE_OK)
		return sq_err(r, "cannot open");
	return 0;
}

/* Open path read-only, refusing a missing, empty or foreign file. */
static int report_open(struct report *r)
{
	struct stat sb;
	if (stat(r->path, &sb) < 0) {
		ukf_seterr(r->err, r->errlen, "%s: %s", r->path,
				   strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		ukf_seterr(r->err, r->errlen, "%s: not a regular file",
				   r->path);
		return -1;
	}
	if (sb.st_size == 0) {
		ukf_seterr(r->err, r->errlen,
				   "%s: empty file, not a ukfork results "
				   "database",
				   r->path);
		return -1;
	}
	if (sqlite3_open_v2(r->path, &r->sq, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		return sq_err(r, "cannot open");
	sqlite3_busy_timeout(r->sq, 10000);
	int empty;
	if (ukf_results_check_schema(r->sq, r->path, &empty, r->err,
				     r->errlen) < 0) {
		/* A WAL database (ukfork run writes them) needs its -shm
		 * file, which a reader without write access cannot create. */
		int code = sqlite3_errcode(r->sq) & 0xff;
		if (code != SQLITE_READONLY && code != SQLITE_CANTOPEN)
			return -1;
		if (reopen_immutable(r) < 0 ||
		    ukf_results_check_schema(r->sq, r->path, &empty, r->err,
					     r->errlen) < 0)
			return -1;
	}
	/* The tables read must be tables: a view in their place (a
	 * recursive one runs for ever) is not a ukfork results database. */
	static const char *const tabs[] = {"runs", "instances", "samples",
					   "template_boots", "outages", NULL};
	for (size_t i = 0; !empty && tabs[i]; i++) {
		sqlite3_stmt *st = NULL;
		const char *type = NULL;
		if (sqlite3_prepare_v2(r->sq,
				       "SELECT type FROM sqlite_schema WHERE "
				       "name = ?",
				       -1, &st, NULL) != SQLITE_OK)
			return sq_err(r, "reading the schema");
		sqlite3_bind_text(st, 1, tabs[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			type = (const char *)sqlite3_column_text(st, 0);
		int ok = !type || !strcmp(type, "table");
		if (type && !strcmp(tabs[i], "template_boots"))
			r->have_tboots = 1;
		if (type && !strcmp(tabs[i], "outages"))
			r->have_outages = 1;
		if (!ok)
			ukf_seterr(r->err, r->errlen,
					   "%s: '%s' is a %s, not a table: not "
					   "a ukfork results database",
					   r->path, tabs[i], type);
		sqlite3_finalize(st);
		if (!ok)
			return -1;
	}
	if (empty) {
		ukf_seterr(r->err, r->errlen,
				   "%s: empty SQLite database, not a ukfork "
				   "results database",
				   r->path);
		return -1;
	}
	return 0;
}

/*
 * The instances' times and status as ukfork writes them: integers or
 * NULL. A text or real there (a hand edit, another program) compares
 * above every integer in SQLite and reads as 0: a request counted as
 * completed with a negative latency. Refused, naming the first row.
 */
static int check_types(struct report *r)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(
		r->sq,
		"SELECT run, id, col, count(*) OVER () FROM (SELECT run, id,"
#define BAD_TYPE(c) " WHEN typeof(" c ") NOT IN ('integer', 'null') THEN '" c "'"
		" CASE" BAD_TYPE("t_request") BAD_TYPE("t_placed")
		BAD_TYPE("t_start") BAD_TYPE("t_ready") BAD_TYPE("t_exit")
		BAD_TYPE("status")
#undef BAD_TYPE
		" END AS col FROM instances) WHERE col IS NOT NULL LIMIT 1",
		-1, &st, NULL) != SQLITE_OK)
		return sq_err(r, "reading the instances' types");
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		ukf_seterr(r->err, r->errlen,
			   "%s: instances: %lld row(s) with a time or status "
			   "that is not an integer (the first: run %lld, id "
			   "%lld, column %s): not rows ukfork wrote",
			   r->path, (long long)sqlite3_column_int64(st, 3),
			   (long long)sqlite3_column_int64(st, 0),
			   (long long)sqlite3_column_int64(st, 1),
			   (const char *)sqlite3_column_text(st, 2));
		rc = -1;
	} else if (s != SQLITE_DONE) {
		sqlite3_finalize(st);
		return sq_err(r, "reading the instances' types");
	}
	sqlite3_finalize(st);
	return rc;
}

int ukf_report_load(struct report *r)
{
	if (report_open(r) < 0)
		return -1;
	/* One read transaction: a consistent snapshot while others write. */
	if (sqlite3_exec(r->sq, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return sq_err(r, "starting to read");
	if (load_runs(r) < 0 || check_types(r) < 0)
		return -1;
	if (r->nruns == 0) {
		ukf_seterr(r->err, r->errlen,
				   "%s: no runs recorded yet (empty results "
				   "database)",
				   r->path);
		return -1;
	}
	return group_runs(r);
}

void ukf_report_done(struct report *r)
{
	for (size_t i = 0; i < r->nsections; i++) {
		for (size_t j = 0; j < r->sections[i].nconfigs; j++)
			free(r->sections[i].configs[j].runs);
		free(r->sections[i].configs);
	}
	free(r->sections);
	r->sections = NULL;
	r->nsections = 0;
	for (size_t i = 0; i < r->nruns; i++) {
		struct run *run = &r->runs[i];
		free(run->kind);
		free(run->scenario);
		free(run->hash);
		free(run->config);
		free(run->backend);
		free(run->version);
		free(run->settings);
		free(run->lat);
		json_object_put(run->cmp);
	}
	free(r->runs);
	r->runs = NULL;
	r->nruns = 0;
	if (r->sq) {
		sqlite3_exec(r->sq, "COMMIT", NULL, NULL, NULL);
		sqlite3_close(r->sq);
		r->sq = NULL;
	}
}

int ukf_report(const char *path, int json, FILE *out, char *err,
	       size_t errlen)
{
	return ukf_report_width(path, json, 0, out, err, errlen);
}

int ukf_report_width(const char *path, int json, size_t cols, FILE *out,
		     char *err, size_t errlen)
{
	struct report r = {
	    .path = path, .width = cols, .err = err, .errlen = errlen};
	struct boot_summary *bs = NULL;
	size_t nb = 0;
	int rc = -1;

	if (!path || !*path || !out) {
		ukf_seterr(err, errlen, "report: no %s given",
				   out ? "file" : "output");
		return -1;
	}
	if (ukf_report_load(&r) < 0)
		goto done;
	if (r.nboot) {
		bs = calloc(r.nboot, sizeof *bs);
		if (!bs) {
			oom(&r);
			goto done;
		}
		for (size_t i = 0; i < r.nruns; i++) {
			if (strcmp(r.runs[i].kind, "bootbench"))
				continue;
			if (boot_summary(&r, &r.runs[i], &bs[nb++]) < 0)
				goto done;
		}
	}
	rc = json ? json_report(&r, out, bs, nb) : text_report(&r, out, bs, nb);
	if (rc == 0 && (fflush(out) != 0 || ferror(out))) {
		ukf_seterr(err, errlen, "report: writing output: %s",
				   strerror(errno));
		rc = -1;
	}
done:
	for (size_t i = 0; i < nb; i++)
		free(bs[i].mode);
	free(bs);
	ukf_report_done(&r);
	return rc;
}
