/* SPDX-License-Identifier: MIT */
/* bootbench.c - `ukfork bootbench`: options, marker matching, summary, db. */
#include "bootbench.h"
#include "bb_int.h"

#include "../backends/registry.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../results/stats.h"
#include "../results/json.h"
#include "../include/ukf_abi.h"
#ifdef UKF_BB_HAVE_DB
#include "../results/results.h"
#endif

ukf_ns_t bb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ukf_ns_t)ts.tv_sec * UKF_S + ts.tv_nsec;
}

/* ---- output handling ---- */

/* Match the line so far, without its trailing \r\n, against the marker and
 * --fail. Called for unfinished lines too (after every read), so the line is
 * cut for regexec only and restored: a line that one read ended at a \r
 * ("boot\r", then "UKF-READY\r\n" in the next read, as a serial console
 * gives it under nested KVM) once kept a '\0' there for good, and the
 * marker after it went unseen. */
static void bb_check_line(const struct bb_opts *o, struct bb_inst *in,
			  ukf_ns_t t)
{
	size_t n = in->line_len;
	char cut;

	if (in->t_marker >= 0 || in->bad)
		return;
	while (n && (in->line[n - 1] == '\r' || in->line[n - 1] == '\n'))
		n--;
	cut = in->line[n]; /* n <= line_len <= BB_LINE_MAX - 1 */
	in->line[n] = '\0';
	if (regexec(&o->re, in->line, 0, NULL, 0) == 0) {
		in->t_marker = t;
		in->ok = 1;
	} else if (o->have_fail &&
		   regexec(&o->fail_re, in->line, 0, NULL, 0) == 0) {
		in->bad = 1;
		snprintf(in->why, sizeof(in->why), "failure output: %.100s",
			 in->line);
	}
	in->line[n] = cut;
}

void bb_feed(const struct bb_opts *o, struct bb_inst *in, const char *buf,
	     size_t len, ukf_ns_t t)
{
	size_t i;

	if (!len)
		return;
	if (in->t_first < 0)
		in->t_first = t;
	/* keep the tail of the output for failure reports */
	if (len >= BB_LAST_MAX - 1) {
		memcpy(in->last, buf + len - (BB_LAST_MAX - 1), BB_LAST_MAX - 1);
		in->last_len = BB_LAST_MAX - 1;
	} else {
		if (in->last_len + len > BB_LAST_MAX - 1) {
			size_t drop = in->last_len + len - (BB_LAST_MAX - 1);

			memmove(in->last, in->last + drop, in->last_len - drop);
			in->last_len -= drop;
		}
		memcpy(in->last + in->last_len, buf, len);
		in->last_len += len;
	}
	in->last[in->last_len] = '\0';

	for (i = 0; i < len; i++) {
		char c = buf[i];

		if (c == '\n' || in->line_len >= BB_LINE_MAX - 1) {
			bb_check_line(o, in, t);
			in->line_len = 0;
			if (c == '\n')
				continue;
		}
		if (c != '\0')
			in->line[in->line_len++] = c;
	}
	/* a marker printed without a newline (a prompt) still counts */
	if (in->line_len && in->t_marker < 0)
		bb_check_line(o, in, t);
}

void bb_feed_end(const struct bb_opts *o, struct bb_inst *in, ukf_ns_t t)
{
	if (in->line_len) {
		bb_check_line(o, in, t);
		in->line_len = 0;
	}
}

/* ---- statistics ---- */

/* The definitions of `ukfork report` (results/stats.h), so the two agree. */
double ukf_bb_quantile(const double *v, size_t n, double q)
{
	return ukf_stats_quantile(v, n, q);
}

void ukf_bb_quantile_ci(const double *v, size_t n, double q, double *lo,
			double *hi)
{
	struct ukf_ci ci;

	ukf_stats_quantile_ci(v, n, q, 0.95, &ci);
	*lo = ci.lo;
	*hi = ci.hi;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct bb_summary {
	uint32_t count, ok, failed;
	double median, median_lo, median_hi, p95, p95_lo, p95_hi, p99, p99_lo,
		p99_hi, max, min, mean;
	double first_median; /* launch-to-first-output, ms */
	double launch_rate;  /* instances at the marker per second of run */
	double span_s;       /* first launch to last marker */
	double wall_s;
	double cpu_mean_s, rss_mean_mib;
};

static void bb_summarize(const struct bb_opts *o, const struct bb_inst *in,
			 const struct bb_result *res, struct bb_summary *s)
{
	double *v = calloc(o->count ? o->count : 1, sizeof(double));
	double *f = calloc(o->count ? o->count : 1, sizeof(double));
	uint32_t i, nf = 0, ncpu = 0, nrss = 0;
	ukf_ns_t first = -1, last = -1;
	double cpu = 0, rss = 0, sum = 0;

	memset(s, 0, sizeof(*s));
	s->count = o->count;
	s->wall_s = (double)res->t_end / 1e9;
	for (i = 0; i < o->count; i++) {
		const struct bb_inst *x = &in[i];

		if (x->t_launch >= 0 && (first < 0 || x->t_launch < first))
			first = x->t_launch;
		if (x->cpu_s >= 0) {
			cpu += x->cpu_s;
			ncpu++;
		}
		if (x->rss) {
			rss += (double)x->rss;
			nrss++;
		}
		if (!x->ok) {
			s->failed++;
			continue;
		}
		v[s->ok] = (double)(x->t_marker - x->t_launch) / 1e6;
		sum += v[s->ok];
		s->ok++;
		if (x->t_first >= 0)
			f[nf++] = (double)(x->t_first - x->t_launch) / 1e6;
		if (x->t_marker > last)
			last = x->t_marker;
	}
	if (s->ok && v && f) {
		qsort(v, s->ok, sizeof(double), cmp_double);
		qsort(f, nf, sizeof(double), cmp_double);
		s->median = ukf_bb_quantile(v, s->ok, 0.5);
		ukf_bb_quantile_ci(v, s->ok, 0.5, &s->median_lo, &s->median_hi);
		s->p95 = ukf_bb_quantile(v, s->ok, 0.95);
		ukf_bb_quantile_ci(v, s->ok, 0.95, &s->p95_lo, &s->p95_hi);
		s->p99 = ukf_bb_quantile(v, s->ok, 0.99);
		ukf_bb_quantile_ci(v, s->ok, 0.99, &s->p99_lo, &s->p99_hi);
		s->max = v[s->ok - 1];
		s->min = v[0];
		s->mean = sum / s->ok;
		s->first_median = nf ? ukf_bb_quantile(f, nf, 0.5) : NAN;
		s->span_s = (double)(last - first) / 1e9;
		s->launch_rate = s->span_s > 0 ? s->ok / s->span_s : 0;
	}
	s->cpu_mean_s = ncpu ? cpu / ncpu : NAN;
	s->rss_mean_mib = nrss ? rss / nrss / 1048576.0 : NAN;
	free(v);
	free(f);
}

/* Printable one-line form of an instance's last output (into buf). */
static void bb_tail(const struct bb_inst *x, char *buf, size_t cap,
		    size_t keep)
{
	const char *p = x->last;
	size_t n = x->last_len, j = 0, i;

	while (n && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	if (n > keep) {
		p += n - keep;
		n = keep;
	}
	for (i = 0; i < n && j + 4 < cap; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\n') {
			buf[j++] = ' ';
			buf[j++] = '|';
			buf[j++] = ' ';
		} else if (c == '\r') {
			continue;
		} else {
			buf[j++] = (c < 32 || c >= 127) ? '.' : (char)c;
		}
	}
	buf[j] = '\0';
}

/* Numbers of the JSON summary: 6 significant digits, NaN as null. */
static struct json_object *jnum(double v)
{
	return ukf_json_num(v, "%.6g");
}

/* The runner's platform plus whether this is scripts/xen-testbed's dom0
 * (its run sets UKF_IN_XEN_TESTBED=tcg for the command). */
static void bb_platform_here(struct bb_platform *p)
{
	const char *x = getenv("UKF_IN_XEN_TESTBED");

	bb_platform(p);
	p->xen_emulated = x && *x;
	/* the testbed's dom0 has no KVM: its emulation is Xen's, said so */
	if (p->xen_emulated && !p->usable)
		p->emulated = 0;
}

int bb_emulated(const struct bb_platform *p)
{
	return p->emulated || p->xen_emulated;
}

/* The --json summary: one object (json-c, field names as documented in
 * docs/bootbench.md), a figure that cannot be computed as null. */
static void bb_print_json(const struct bb_opts *o, const struct bb_inst *in,
			  const struct bb_result *res,
			  const struct bb_summary *s, FILE *out)
{
	int have = s->ok > 0;
	double nan_ = NAN;
	struct json_object *j = json_object_new_object(), *fa;

	ukf_json_add(j, "count", json_object_new_uint64(s->count));
	ukf_json_add(j, "ok", json_object_new_uint64(s->ok));
	ukf_json_add(j, "failed", json_object_new_uint64(s->failed));
	ukf_json_add(j, "mode", ukf_json_str(res->mode ? res->mode : ""));
	ukf_json_add(j, "backend",
		     ukf_json_str(res->backend ? res->backend : ""));
	ukf_json_add(j, "marker", ukf_json_str(o->marker ? o->marker : ""));
	ukf_json_add(j, "parallel", json_object_new_uint64(o->parallel));
	if (o->gap_ns) /* --gap: only then, as before without it */
		ukf_json_add(j, "gap_ms",
			     json_object_new_double((double)o->gap_ns / 1e6));
	ukf_json_add(j, "kvm", ukf_json_str(res->plat.kvm));
	ukf_json_add(j, "kvm_emulated",
		     json_object_new_boolean(res->plat.emulated));
	ukf_json_add(j, "xen_testbed",
		     json_object_new_boolean(res->plat.xen_emulated));
	ukf_json_add(j, "emulated",
		     json_object_new_boolean(bb_emulated(&res->plat)));
	ukf_json_add(j, "median_ms", jnum(have ? s->median : nan_));
	ukf_json_add(j, "median_ci_ms",
		     ukf_json_pair(have ? s->median_lo : nan_,
				   have ? s->median_hi : nan_, "%.6g"));
	ukf_json_add(j, "p95_ms", jnum(have ? s->p95 : nan_));
	ukf_json_add(j, "p95_ci_ms",
		     ukf_json_pair(have ? s->p95_lo : nan_,
				   have ? s->p95_hi : nan_, "%.6g"));
	ukf_json_add(j, "p99_ms", jnum(have ? s->p99 : nan_));
	ukf_json_add(j, "p99_ci_ms",
		     ukf_json_pair(have ? s->p99_lo : nan_,
				   have ? s->p99_hi : nan_, "%.6g"));
	ukf_json_add(j, "max_ms", jnum(have ? s->max : nan_));
	ukf_json_add(j, "min_ms", jnum(have ? s->min : nan_));
	ukf_json_add(j, "mean_ms", jnum(have ? s->mean : nan_));
	ukf_json_add(j, "first_output_median_ms",
		     jnum(have ? s->first_median : nan_));
	ukf_json_add(j, "launch_rate", jnum(have ? s->launch_rate : nan_));
	ukf_json_add(j, "wall_s", jnum(s->wall_s));
	ukf_json_add(j, "cpu_mean_s", jnum(s->cpu_mean_s));
	ukf_json_add(j, "peak_rss_mean_mib", jnum(s->rss_mean_mib));
	ukf_json_add(j, "measures",
		     ukf_json_str(res->measures));
	ukf_json_add(j, "failures", fa = json_object_new_array());
	for (uint32_t i = 0; i < o->count; i++) {
		if (in[i].ok)
			continue;
		struct json_object *f = json_object_new_object();
		ukf_json_add(f, "index", json_object_new_uint64(in[i].index));
		ukf_json_add(f, "reason",
			     ukf_json_str(in[i].why[0] ? in[i].why
						       : "no marker"));
		ukf_json_add(f, "status", json_object_new_int64(in[i].status));
		/* as stored with --db and in `ukfork report --json`: the
		 * bytes themselves (JSON escapes them), not the text
		 * summary's one-line form */
		ukf_json_add(f, "last_output", ukf_json_str(in[i].last));
		ukf_json_append(fa, f);
	}
	ukf_json_print(out, j);
	json_object_put(j);
}

/* "[lo, hi]" with '-' for a side that cannot be bounded (NaN). */
static const char *ci_text(double lo, double hi, char *buf, size_t cap)
{
	char l[32] = "-", h[32] = "-";

	if (!isnan(lo))
		snprintf(l, sizeof(l), "%.3f", lo);
	if (!isnan(hi))
		snprintf(h, sizeof(h), "%.3f", hi);
	snprintf(buf, cap, "[%s, %s]", l, h);
	return buf;
}

static void bb_print_text(const struct bb_opts *o, const struct bb_inst *in,
			  const struct bb_result *res,
			  const struct bb_summary *s, FILE *out)
{
	uint32_t i;
	char tail[BB_LAST_MAX * 3];

	fprintf(out, "bootbench: %u instances, backend %s, mode %s, parallel %u, marker /%s/\n",
		s->count, res->backend, res->mode, o->parallel, o->marker);
	fprintf(out, "  KVM here: %s\n", res->plat.kvm);
	if (res->plat.emulated)
		fprintf(out, "  EMULATED: KVM nested under QEMU TCG; these timings show behaviour only and compare with no real machine\n");
	if (res->plat.xen_emulated)
		fprintf(out, "  EMULATED: in a Xen dom0 under QEMU TCG (scripts/xen-testbed); these timings show behaviour only and compare with no real machine\n");
	fprintf(out, "  ok %u, failed %u, wall %.3f s\n", s->ok, s->failed,
		s->wall_s);
	if (s->ok) {
		char ci[80];

		fprintf(out, "  launch-to-marker ms      value   95%% CI (order statistics; - : too few values to bound that side)\n");
		fprintf(out, "    median          %10.3f   %s\n", s->median,
			ci_text(s->median_lo, s->median_hi, ci, sizeof(ci)));
		fprintf(out, "    p95             %10.3f   %s\n", s->p95,
			ci_text(s->p95_lo, s->p95_hi, ci, sizeof(ci)));
		fprintf(out, "    p99             %10.3f   %s\n", s->p99,
			ci_text(s->p99_lo, s->p99_hi, ci, sizeof(ci)));
		fprintf(out, "    max             %10.3f\n", s->max);
		fprintf(out, "    min / mean      %10.3f / %.3f\n", s->min, s->mean);
		fprintf(out, "  launch-to-first-output median %.3f ms\n",
			s->first_median);
		fprintf(out, "  launch rate %.1f instances/s (%u at the marker within %.3f s of the first launch)\n",
			s->launch_rate, s->ok, s->span_s);
	}
	if (!isnan(s->cpu_mean_s) || !isnan(s->rss_mean_mib))
		fprintf(out, "  per instance: cpu %.4f s, peak memory %.2f MiB (%s)\n",
			s->cpu_mean_s, s->rss_mean_mib, res->measures);
	for (i = 0; i < o->count; i++) {
		if (in[i].ok)
			continue;
		bb_tail(&in[i], tail, sizeof(tail), 200);
		fprintf(out, "  FAILED #%u: %s (status %lld); last output: %s\n",
			in[i].index, in[i].why[0] ? in[i].why : "no marker",
			(long long)in[i].status, tail[0] ? tail : "(none)");
	}
}

/* ---- database ---- */

#ifdef UKF_BB_HAVE_DB
/* Every setting of the run, for runs.settings_json (caller puts it). */
static struct json_object *settings_json(const struct bb_opts *o,
					 const struct bb_result *res)
{
	struct json_object *j = json_object_new_object();

	ukf_json_add(j, "count", json_object_new_uint64(o->count));
	ukf_json_add(j, "parallel", json_object_new_uint64(o->parallel));
	ukf_json_add(j, "marker", ukf_json_str(o->marker ? o->marker : ""));
	ukf_json_add(j, "fail",
		     ukf_json_str(o->fail_marker ? o->fail_marker : ""));
	ukf_json_add(j, "grace_ms",
		     json_object_new_int64(o->grace_ns / UKF_MS));
	ukf_json_add(j, "timeout_ms",
		     json_object_new_int64(o->timeout_ns / UKF_MS));
	ukf_json_add(j, "keep_running", json_object_new_int(o->keep_running));
	if (o->gap_ns) /* only then: runs of before stay one configuration */
		ukf_json_add(j, "gap_ms",
			     json_object_new_double((double)o->gap_ns / 1e6));
	ukf_json_add(j, "from_template",
		     json_object_new_int(o->from_template));
	if (o->cmd) {
		ukf_json_add(j, "cmd", ukf_json_str(o->cmd));
	} else {
		ukf_json_add(j, "guest", ukf_json_str(o->guest ? o->guest : ""));
		ukf_json_add(j, "args", ukf_json_str(o->guest_args));
		ukf_json_add(j, "mem_bytes", json_object_new_uint64(o->mem_bytes));
		ukf_json_add(j, "pool", json_object_new_uint64(o->pool));
	}
	ukf_json_add(j, "kvm", ukf_json_str(res->plat.kvm));
	ukf_json_add(j, "kvm_emulated", json_object_new_int(res->plat.emulated));
	ukf_json_add(j, "xen_testbed", json_object_new_int(res->plat.xen_emulated));
	return j;
}

/* Record the run (one runs row, a boots row per instance) into db, opened
 * on --db before anything was launched; 0, or -1 with a message in err. */
static int bb_write_db(const struct bb_opts *o, const struct bb_inst *in,
		       const struct bb_result *res, int64_t started_unix,
		       ukf_db_t *db, char *err, size_t errlen)
{
	char scen[UKF_APP_ARGS_MAX + 512], hash[32], cfg[64];
	struct ukf_run_info ri;
	int64_t run;
	uint32_t i;
	struct json_object *sjo = settings_json(o, res);
	const char *sj = json_object_to_json_string_ext(
		sjo, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (o->cmd)
		snprintf(scen, sizeof(scen), "%s", o->cmd);
	else
		snprintf(scen, sizeof(scen), "%s%s%s", o->guest,
			 o->guest_args[0] ? " " : "", o->guest_args);
	snprintf(hash, sizeof(hash), "%016llx",
		 (unsigned long long)ukf_fnv1a(scen, strlen(scen),
					       UKF_FNV_INIT));
	snprintf(cfg, sizeof(cfg), "%s-%s", res->backend, res->mode);
	memset(&ri, 0, sizeof(ri));
	ri.kind = "bootbench";
	ri.scenario = scen;
	ri.scenario_hash = hash;
	ri.config = cfg;
	ri.settings_json = sj;
	ri.backend = res->backend;
	ri.version = UKF_VERSION;
	ri.started_unix_ns = started_unix;
	run = ukf_db_run_begin(db, &ri);
	if (run < 0)
		goto fail;
	for (i = 0; i < o->count; i++) {
		struct ukf_db_boot b = {
			.index = in[i].index,
			.t_launch = in[i].t_launch,
			.t_first_output = in[i].t_first,
			.t_marker = in[i].t_marker,
			.t_exit = in[i].t_exit,
			.status = in[i].status,
			.ok = in[i].ok,
			.cpu_s = in[i].cpu_s,
			.peak_rss_bytes = in[i].rss,
			.mode = res->mode,
			.last_output = in[i].ok ? NULL : in[i].last,
		};

		if (ukf_db_boot(db, run, &b) < 0) {
			ukf_db_run_abort(db, run);
			goto fail;
		}
	}
	if (ukf_db_run_commit(db, run, (double)res->t_end / 1e9, o->count, 0) < 0)
		goto fail;
	json_object_put(sjo);
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", o->db, ukf_db_error(db));
	json_object_put(sjo);
	return -1;
}
#endif

/* ---- command line ---- */

static void usage(FILE *out, const char *prog)
{
	char names[128];

	ukf_backend_driver_names(names, sizeof(names));
	fprintf(out,
		"usage: %s [options] --guest IMAGE [ARGS...]\n"
		"       %s [options] --cmd 'COMMAND LINE'\n"
		"Launch instances and time each from launch to a marker in its output.\n"
		"  -n COUNT          instances to launch (default 1)\n"
		"  -j PARALLEL       at most this many alive at once (default 1)\n"
		"  --marker REGEX    POSIX extended regex marking ready (default UKF-READY)\n"
		"  --fail REGEX      output meaning the instance failed: stop it at once\n"
		"  --db FILE         record the run into this SQLite results file\n"
		"  --json            print the summary as one JSON object\n"
		"  --grace MS        after the marker, time to exit before being stopped (default 1000)\n"
		"  --keep-running    do not stop instances after the marker\n"
		"  --timeout MS      an instance without the marker by then fails (default 30000)\n"
		"  --gap MS          --guest and -j 1 only: launch each instance MS after the last one\n"
		"                    ended, the first MS after the start (the machine idle before each)\n"
		"  --mem SIZE        guest memory for --guest (default: a mem=SIZE guest argument, else 64M)\n"
		"  --from-template   --guest only: make the app's template once, then time clones of it\n"
		"  --pool N          --guest only: keep N VM shells (VM + vCPU + memory slot) made ahead by a\n"
		"                    background thread; the first N are made before timing (LightVM)\n"
		"  --backend NAME    --guest only: the backend that boots it, in-process (default kvm; %s)\n"
		"  --guest IMAGE ... ukfork's backend in-process; must be last, the rest are guest args\n"
		"  --cmd LINE        external VMM, run with sh -c; {i} is replaced by the instance number (0..COUNT-1)\n"
		"  --kvm-info        print what KVM this machine has as JSON (kvm, kvm_emulated, usable) and exit\n"
		"Every summary names the machine's KVM (hardware, nested kvm_pvm, nested, or nested under\n"
		"QEMU TCG); figures taken under emulation are marked so (text: EMULATED, JSON: kvm_emulated).\n",
		prog, prog, names);
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_ms(const char *s, ukf_ns_t *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v < 0 || v > 1e9 || isnan(v))
		return -1;
	*out = (ukf_ns_t)(v * 1e6);
	return 0;
}

/* --pool's bound: shells are made (and hold memory) before timing. */
#define BB_POOL_MAX 4096u

/* "64M", "2G", "4096": bytes (K/M/G binary); 0 or -1. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	else if (*end)
		return -1;
	if (shift && end[1])
		return -1;
	if (v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Compile pattern, the regex of option opt, into re: 0, or -1 with
 * "PROG: bad OPT regex 'PATTERN': why" on stderr (re then unset). */
static int compile_marker(const char *prog, const char *opt,
			  const char *pattern, regex_t *re)
{
	char msg[256];
	int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);

	if (!rc)
		return 0;
	regerror(rc, re, msg, sizeof(msg));
	fprintf(stderr, "%s: bad %s regex '%s': %s\n", prog, opt, pattern, msg);
	return -1;
}

/* Without --mem, a mem=SIZE word of the guest arguments sizes the VM, as
 * an app string's mem= does under `ukfork run`: the words go through
 * ukf_app_parse (same size grammar, the last of several wins). 0, or -1 with
 * the message on stderr. */
static int guest_mem(const char *prog, struct bb_opts *o)
{
	char kv[UKF_APP_ARGS_MAX], err[256];
	const char *p = o->guest_args;
	struct ukf_app app;
	size_t len = 0;

	kv[0] = '\0';
	while (*p) {
		size_t n = strcspn(p, " ");

		if (n >= 4 && !strncmp(p, "mem=", 4)) {
			/* fits: kv is as large as guest_args */
			len += (size_t)snprintf(kv + len, sizeof(kv) - len,
						"%s%.*s", len ? " " : "",
						(int)n, p);
		}
		p += n;
		p += strspn(p, " ");
	}
	if (!len)
		return 0;
	if (ukf_app_parse(&app, "guest", kv, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: --guest arguments: %s\n", prog, err);
		return -1;
	}
	o->mem_bytes = app.mem_bytes;
	return 0;
}

/* 0 ok (*o filled), 1 help printed, 2 bad usage (message printed). */
static int bb_parse(int argc, char **argv, struct bb_opts *o)
{
	const char *prog = argc > 0 && argv[0] ? argv[0] : "bootbench";
	/* the options that take a value, each allowed once (a second -n
	 * silently won); the flags may repeat, they change nothing */
	static const char *const once[] = {
	    "-n",	 "-j",	    "--marker",	 "--fail", "--db",
	    "--pool",	 "--grace", "--timeout", "--gap",  "--mem",
	    "--backend", "--cmd",   NULL};
	unsigned seen = 0;
	int i;

	memset(o, 0, sizeof(*o));
	o->count = 1;
	o->parallel = 1;
	o->marker = "UKF-READY";
	o->grace_ns = 1000 * UKF_MS;
	o->timeout_ns = 30000 * UKF_MS;
	o->mem_bytes = 64ULL << 20;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		char name[32];
		const char *eq = NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout, prog);
			return 1;
		}
		if (!strcmp(a, "--kvm-info")) {
			struct bb_platform p;

			bb_platform_here(&p);
			struct json_object *j = json_object_new_object();
			ukf_json_add(j, "kvm", ukf_json_str(p.kvm));
			ukf_json_add(j, "kvm_emulated",
				     json_object_new_boolean(p.emulated));
			ukf_json_add(j, "usable",
				     json_object_new_boolean(p.usable));
			ukf_json_add(j, "xen_testbed",
				     json_object_new_boolean(p.xen_emulated));
			ukf_json_print(stdout, j);
			json_object_put(j);
			return 1;
		}
		/* --name=value */
		if (!strncmp(a, "--", 2) && (eq = strchr(a, '=')) &&
		    (size_t)(eq - a) < sizeof(name)) {
			memcpy(name, a, (size_t)(eq - a));
			name[eq - a] = '\0';
			a = name;
			val = eq + 1;
		}
/* An option in a value's place is a value forgotten (--db --json made a
 * database named --json), in the --db=--json form too, as ukfork's other
 * commands refuse it; a value starting with -- goes as ./--x or [-]-x. */
#define NEEDVAL()                                                            \
	do {                                                                  \
		if (!val) {                                                   \
			if (i + 1 >= argc) {                                  \
				fprintf(stderr, "%s: %s needs a value\n", prog, a); \
				return 2;                                     \
			}                                                     \
			val = argv[++i];                                      \
		}                                                             \
		if (ukf_arg_is_option(val, NULL)) {                           \
			fprintf(stderr,                                       \
				"%s: %s needs a value (found the option "     \
				"'%s')\n",                                    \
				prog, a, val);                                \
			return 2;                                             \
		}                                                             \
	} while (0)
		for (int k = 0; once[k]; k++)
			if (!strcmp(a, once[k])) {
				if (seen & 1u << k) {
					fprintf(stderr, "%s: %s given twice\n",
						prog, a);
					return 2;
				}
				seen |= 1u << k;
			}
		if (!strcmp(a, "-n")) {
			NEEDVAL();
			if (parse_u32(val, &o->count) || o->count == 0 ||
			    o->count > 1000000) {
				fprintf(stderr, "%s: -n: expected a count 1..1000000, got '%s'\n",
					prog, val);
				return 2;
			}
		} else if (!strcmp(a, "-j")) {
			NEEDVAL();
			if (parse_u32(val, &o->parallel) || o->parallel == 0) {
				fprintf(stderr, "%s: -j: expected a positive number, got '%s'\n",
					prog, val);
				return 2;
			}
		} else if (!strcmp(a, "--marker")) {
			NEEDVAL();
			o->marker = val;
		} else if (!strcmp(a, "--fail")) {
			NEEDVAL();
			o->fail_marker = val;
		} else if (!strcmp(a, "--db")) {
			NEEDVAL();
			o->db = val;
		} else if (!strcmp(a, "--json")) {
			o->json = 1;
		} else if (!strcmp(a, "--keep-running")) {
			o->keep_running = 1;
		} else if (!strcmp(a, "--from-template")) {
			o->from_template = 1;
		} else if (!strcmp(a, "--pool")) {
			NEEDVAL();
			if (parse_u32(val, &o->pool) || o->pool > BB_POOL_MAX) {
				fprintf(stderr, "%s: --pool: expected a count 0..%u, got '%s'\n",
					prog, BB_POOL_MAX, val);
				return 2;
			}
		} else if (!strcmp(a, "--grace") || !strcmp(a, "--timeout") ||
			   !strcmp(a, "--gap")) {
			ukf_ns_t *dst = !strcmp(a, "--gap")  ? &o->gap_ns
					: a[2] == 'g' ? &o->grace_ns
						      : &o->timeout_ns;

			NEEDVAL();
			if (parse_ms(val, dst)) {
				fprintf(stderr, "%s: %s: expected milliseconds, got '%s'\n",
					prog, a, val);
				return 2;
			}
		} else if (!strcmp(a, "--mem")) {
			NEEDVAL();
			if (parse_size(val, &o->mem_bytes)) {
				fprintf(stderr, "%s: --mem: expected a size like 64M, got '%s'\n",
					prog, val);
				return 2;
			}
			o->mem_set = 1;
		} else if (!strcmp(a, "--backend")) {
			NEEDVAL();
			o->backend = val;
		} else if (!strcmp(a, "--cmd")) {
			NEEDVAL();
			if (!*val) {
				fprintf(stderr, "%s: --cmd: empty command line\n", prog);
				return 2;
			}
			o->cmd = val;
		} else if (!strcmp(a, "--guest")) {
			size_t len = 0;
			int k;

			NEEDVAL();
			o->guest = val;
			for (k = i + 1; k < argc; k++) {
				int w = snprintf(o->guest_args + len,
						 sizeof(o->guest_args) - len, "%s%s",
						 len ? " " : "", argv[k]);

				if (w < 0 || (size_t)w >= sizeof(o->guest_args) - len) {
					fprintf(stderr, "%s: guest arguments too long (max %zu bytes)\n",
						prog, sizeof(o->guest_args) - 1);
					return 2;
				}
				len += (size_t)w;
			}
			break;
		} else {
			fprintf(stderr, "%s: unknown option '%s' (try --help)\n", prog,
				argv[i]);
			return 2;
		}
#undef NEEDVAL
	}
	if (!o->cmd == !o->guest) {
		fprintf(stderr, "%s: give exactly one of --guest IMAGE or --cmd 'LINE' (try --help)\n",
			prog);
		return 2;
	}
	if (o->from_template && !o->guest) {
		fprintf(stderr, "%s: --from-template needs --guest\n", prog);
		return 2;
	}
	if (o->pool && !o->guest) {
		fprintf(stderr, "%s: --pool needs --guest\n", prog);
		return 2;
	}
	if (o->mem_set && !o->guest) { /* an external VMM sizes itself */
		fprintf(stderr, "%s: --mem needs --guest\n", prog);
		return 2;
	}
	if (o->gap_ns && !o->guest) {
		fprintf(stderr, "%s: --gap needs --guest\n", prog);
		return 2;
	}
	if (o->gap_ns && o->parallel > 1) {
		fprintf(stderr,
			"%s: --gap needs -j 1 (each launch after the last "
			"instance ended), not -j %u\n",
			prog, o->parallel);
		return 2;
	}
	if (o->backend && !o->guest) {
		fprintf(stderr, "%s: --backend needs --guest\n", prog);
		return 2;
	}
	if (o->backend && !ukf_backend_driver_find(o->backend)) {
		char names[128];

		ukf_backend_driver_names(names, sizeof(names));
		fprintf(stderr, "%s: --backend: unknown backend '%s' (this build has: %s)\n",
			prog, o->backend, names);
		return 2;
	}
	if (o->pool && o->backend && strcmp(o->backend, "kvm")) {
		fprintf(stderr, "%s: --pool is the KVM backend's (VM shells made ahead), not %s's\n",
			prog, o->backend);
		return 2;
	}
	if (o->guest) {
		/* a missing or unreadable image is a usage error, found
		 * before anything runs (not N failed boots, exit 1) */
		struct stat st;

		if (stat(o->guest, &st) < 0 || access(o->guest, R_OK) < 0) {
			fprintf(stderr, "%s: --guest %s: %s\n", prog, o->guest,
				strerror(errno));
			return 2;
		}
		if (!S_ISREG(st.st_mode)) {
			fprintf(stderr, "%s: --guest %s: not a regular file\n",
				prog, o->guest);
			return 2;
		}
	}
	if (o->guest && !o->mem_set && guest_mem(prog, o) < 0)
		return 2;
	if (o->mem_bytes < UKF_MEM_MIN || o->mem_bytes > UKF_MEM_MAX) {
		fprintf(stderr, "%s: %s: %llu bytes is outside the guest memory range "
			"%llu MiB..%llu MiB\n", prog,
			o->mem_set ? "--mem" : "--guest argument mem=SIZE",
			(unsigned long long)o->mem_bytes,
			(unsigned long long)(UKF_MEM_MIN >> 20),
			(unsigned long long)(UKF_MEM_MAX >> 20));
		return 2;
	}
	if (o->pool > o->count) {
		fprintf(stderr, "%s: --pool %u: more shells than the %u instances (-n) that could use them\n",
			prog, o->pool, o->count);
		return 2;
	}
	if (o->parallel > o->count)
		o->parallel = o->count;
	if (compile_marker(prog, "--marker", o->marker, &o->re))
		return 2;
	if (o->fail_marker) {
		if (compile_marker(prog, "--fail", o->fail_marker,
				   &o->fail_re)) {
			regfree(&o->re);
			return 2;
		}
		o->have_fail = 1;
	}
	return 0;
}

static void bb_free_opts(struct bb_opts *o)
{
	regfree(&o->re);
	if (o->have_fail)
		regfree(&o->fail_re);
}

int ukf_bootbench_main(int argc, char **argv)
{
	const char *prog = argc > 0 && argv[0] ? argv[0] : "bootbench";
	struct bb_opts o;
	struct bb_inst *in = NULL;
	struct bb_result res;
	struct bb_summary s;
	struct timespec wall;
	char err[512] = "";
	uint32_t i;
	int rc;
#ifdef UKF_BB_HAVE_DB
	ukf_db_t *db = NULL;
#endif

	rc = bb_parse(argc, argv, &o);
	if (rc == 1) { /* --help or --kvm-info printed */
		int e = fflush(stdout) ? errno : ferror(stdout) ? EIO : 0;

		if (e)
			fprintf(stderr, "%s: writing the output failed: %s\n",
				prog, strerror(e));
		return e ? 1 : 0;
	}
	if (rc)
		return 2;
#ifndef UKF_BB_HAVE_DB
	if (o.db) {
		fprintf(stderr, "%s: --db: this build has no results database\n", prog);
		bb_free_opts(&o);
		return 2;
	}
#endif
#ifdef UKF_BB_HAVE_DB
	/* a results file that cannot be opened is found before any boot */
	if (o.db && !(db = ukf_db_open(o.db, err, sizeof(err)))) {
		fprintf(stderr, "%s: --db: %s\n", prog, err);
		bb_free_opts(&o);
		return 2;
	}
#endif
	{
		/* many VMs or pipes at once: use the whole open-files allowance */
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	in = calloc(o.count, sizeof(*in));
	if (!in) {
		fprintf(stderr, "%s: out of memory for %u instances\n", prog, o.count);
		rc = 1;
		goto out;
	}
	for (i = 0; i < o.count; i++) {
		in[i].index = i;
		in[i].t_launch = in[i].t_first = in[i].t_marker = in[i].t_exit = -1;
		in[i].status = -1;
		in[i].cpu_s = -1;
		in[i].fd = -1;
	}
	memset(&res, 0, sizeof(res));
	bb_platform_here(&res.plat);
	clock_gettime(CLOCK_REALTIME, &wall);
	if (o.cmd)
		rc = bb_run_external(&o, in, &res, err, sizeof(err));
	else if (!o.backend || !strcmp(o.backend, "kvm"))
		rc = bb_run_kvm(&o, in, &res, err, sizeof(err));
	else
		rc = bb_run_backend(&o, in, &res, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		rc = 1;
		goto out;
	}
	bb_summarize(&o, in, &res, &s);
	if (o.json)
		bb_print_json(&o, in, &res, &s, stdout);
	else
		bb_print_text(&o, in, &res, &s, stdout);
	/* errno of the failed write: fflush's, or EIO when an earlier
	 * write failed (a full disk, a closed stdout) */
	int werr = fflush(stdout) ? errno : ferror(stdout) ? EIO : 0;
	rc = s.failed ? 1 : 0;
	int stored = 0;
#ifdef UKF_BB_HAVE_DB
	if (db && bb_write_db(&o, in, &res,
			      (int64_t)wall.tv_sec * UKF_S + wall.tv_nsec, db,
			      err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: --db: %s\n", prog, err);
		rc = 1;
	} else if (db) {
		stored = 1;
	}
#endif
	/* the summary may be the only result: not written is a failure */
	if (werr) {
		fprintf(stderr, "%s: writing the output failed: %s%s%s%s\n",
			prog, strerror(werr),
			stored ? " (the run is stored in " : "",
			stored ? o.db : "", stored ? ")" : "");
		rc = 1;
	}
out:
#ifdef UKF_BB_HAVE_DB
	ukf_db_close(&db);
#endif
	free(in);
	bb_free_opts(&o);
	return rc;
}
