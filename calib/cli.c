/* SPDX-License-Identifier: MIT */
/* cli.c - the `ukfork calibrate` command: options, plan file, provenance,
 * measure -> store -> fit -> model file. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/ukf.h"
#include "calib_int.h"
#ifdef UKF_HAVE_AGENT
#include "../agent/cluster.h"
#endif
#ifdef UKF_HAVE_DIRVIS
#include "../agent/dirvis.h"
#endif

#ifndef UKF_SOURCE_DIR
#define UKF_SOURCE_DIR "."
#endif

static const char usage[] =
    "usage: ukfork calibrate --backend kvm [--plan FILE|default] [--db DB]\n"
    "                        [--out MODEL.conf] [-n N] [--note TEXT]\n"
    "       ukfork calibrate --cluster FILE [--delay MS] [--rate MBIT]\n"
    "                        [--plan FILE|default] [--db DB] [--out "
    "MODEL.conf]\n"
    "                        [-n N] [--note TEXT]\n"
    "       ukfork calibrate --directory embedded|etcd [--etcd URL,...]\n"
    "                        [-n N] [--db DB] [--out MODEL.conf] [--note "
    "TEXT]\n"
    "       ukfork calibrate --from-db DB [--calib ID[,ID...]|all] --out "
    "MODEL.conf\n"
    "\n"
    "Measure the VM operations the simulator models on this machine's KVM\n"
    "backend (cold boots across memory sizes, and with the plan's boot_init\n"
    "across the app's init too, template making through the engine, and\n"
    "template clones and live forks across dirty-page counts through the\n"
    "engine one at a time: the simulator adds their waits for each other;\n"
    "template clones and cold boots again after the plan's idle spells:\n"
    "idle_curve, boot_idle_curve),\n"
    "store every raw sample in the results database (tables calib_runs,\n"
    "calib_samples), fit each cost by least squares (95% confidence\n"
    "intervals) and its spread by maximum likelihood (lognormal, gamma,\n"
    "Weibull, heavy-tailed log-logistic; the lowest AIC, with the\n"
    "Kolmogorov-Smirnov statistic), and\n"
    "write a model file sim/ loads (run { model = FILE }). With --cluster,\n"
    "measure on the node agents of a cluster file (two nodes or more, e.g.\n"
    "`ukfork testbed up --nodes 2`) instead: remote forks across dirty-page\n"
    "counts (delta save and transfer, restore) and template fetches across\n"
    "template sizes, fitting save_ns_per_page, restore_base_ns,\n"
    "restore_ns_per_page, load_base_ns and load_ns_per_byte less what the\n"
    "simulator charges the network (and with the plan's idle spells,\n"
    "template clones and remote forks after them: msg_idle_curve,\n"
    "delta_idle_curve and delta_idle_since). With --directory, time the\n"
    "cluster directory's update to visibility at another agent (two\n"
    "members in this process, one clock: the agents' update messages over\n"
    "loopback TCP, or the agents' etcd client against --etcd) and fit its\n"
    "median and p99\n"
    "(empirical, 95% order-statistic intervals; the lognormal MLE beside\n"
    "them) as dir_delay_ns and dir_delay_p99_ns, which a scenario naming\n"
    "the model file takes as dir_delay and dir_delay_p99 when it sets\n"
    "neither (nor directory). With --from-db, refit a calibration\n"
    "already stored, or several together (e.g. one per netem setting),\n"
    "without KVM.\n"
    "\n"
    "  --backend kvm     measure on /dev/kvm (the only backend)\n"
    "  --cluster FILE    measure on the node agents of this cluster file\n"
    "  --delay MS        the one-way node-to-node delay of its links "
    "(default:\n"
    "                    testbed.conf beside FILE, as `ukfork testbed up`\n"
    "                    writes it; else none)\n"
    "  --rate MBIT       each node link's rate, Mbit/s (the same; 0: not "
    "limited)\n"
    "  --directory KIND  measure the directory: embedded or etcd\n"
    "  --etcd URL,...    with --directory etcd: its endpoints\n"
    "                    (http://host:port, e.g. from scripts/etcd/local.sh)\n"
    "  --plan FILE       what to measure (default: the built-in plan; keys in\n"
    "                    docs/calibration.md)\n"
    "  --db DB           results database for the raw samples (default: a\n"
    "                    temporary one, removed at the end)\n"
    "  --out FILE        the model file (default: calibrated.conf)\n"
    "  -n N              samples per point (default 20; --cluster: apps per\n"
    "                    template size, each forking fork_units times;\n"
    "                    --directory: updates timed, default 500, after 10\n"
    "                    not timed)\n"
    "  --note TEXT       added to the file's provenance (e.g. EMULATED)\n"
    "  --from-db DB      refit stored samples without measuring\n"
    "  --calib ID,...    with --from-db: these calibrations together, or all\n"
    "                    (default: the latest)\n"
    "\n"
    "Progress goes to stderr, the fitted summary to stdout. Exit status: 0\n"
    "done, 1 failed (etcd unreachable, ...), 2 bad command line, plan or\n"
    "cluster file, 77 no usable /dev/kvm.\n";

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ukfork calibrate: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(try `ukfork calibrate --help`)\n");
	return 2;
}

/* Whether what (--out, --db) can be written at path: an existing file we
 * may write, or a new one in a directory we may write. Checked before
 * measuring: a measurement of minutes is not to end in "cannot write"
 * (the samples of a temporary database lost with it). 0, or -1 with the
 * reason in err. */
static int writable(const char *what, const char *path, char *err,
		    size_t errlen)
{
	struct stat st;
	char dir[4096];
	const char *slash = strrchr(path, '/');

	if (!*path) {
		snprintf(err, errlen, "%s: an empty path", what);
		return -1;
	}
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%s %s: is a directory", what,
				 path);
			return -1;
		}
		if (access(path, W_OK) < 0)
			goto no;
		return 0;
	}
	if (errno != ENOENT)
		goto no;
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (access(dir, W_OK | X_OK) == 0)
		return 0;
no:
	snprintf(err, errlen, "%s %s: cannot write: %s", what, path,
		 strerror(errno));
	return -1;
}

/* What the file at path is: 0 not there or empty, 1 an SQLite database,
 * 2 something else. */
static int file_kind(const char *path)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t got = fread(head, 1, sizeof(head), f);
	fclose(f);
	if (got == 0)
		return 0;
	return got == sizeof(head) && !memcmp(head, magic, 16) ? 1 : 2;
}

/* -1 (reason in err) if the --db file is there, not empty and not an
 * SQLite database: found before measuring, not when storing the samples. */
static int not_sqlite(const char *path, char *err, size_t errlen)
{
	if (file_kind(path) != 2)
		return 0; /* a new one (writable() checked the directory) */
	snprintf(err, errlen, "--db %s: not an SQLite database", path);
	return -1;
}

/* -1 (reason in err) if --out would overwrite an SQLite database: the
 * model file written over the --db or --from-db one (or any results
 * database) destroyed every raw sample in it. */
static int out_is_db(const char *out, char *err, size_t errlen)
{
	if (file_kind(out) != 1)
		return 0;
	snprintf(err, errlen,
		 "--out %s is an SQLite database (the samples'?): not "
		 "overwritten with the model file",
		 out);
	return -1;
}

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || errno || v < lo || v > hi)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* A size: digits with an optional K, M or G (binary). */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10, end++;
	else if (*end == 'M' || *end == 'm')
		shift = 20, end++;
	else if (*end == 'G' || *end == 'g')
		shift = 30, end++;
	if (*end || errno || v == 0 || v > (1ULL << 40) >> shift)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

void ukf_calib_plan_default(struct ukf_calib_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->n = 20;
	p->boot_mem[0] = 8ULL << 20;
	p->boot_mem[1] = 16ULL << 20;
	p->boot_mem[2] = 32ULL << 20;
	p->nboot = 3;
	p->ninit = 1; /* boot_init = 0 */
	p->clone_mem[0] = 8ULL << 20;
	p->nclone = 1;
	snprintf(p->ops, sizeof(p->ops), "%s",
		 UKF_SOURCE_DIR "/scripts/calibrate/kvm-ops.lua");
	p->ops_reps = 3;
	snprintf(p->alone, sizeof(p->alone), "%s",
		 UKF_SOURCE_DIR "/scripts/calibrate/alone-ops.lua");
	p->alone_mem[0] = 8ULL << 20;
	p->alone_mem[1] = 16ULL << 20;
	p->alone_mem[2] = 32ULL << 20;
	p->nalone_mem = 3;
	p->alone_dirty[0] = 64;
	p->alone_dirty[1] = 512;
	p->alone_dirty[2] = 2048;
	p->nalone_dirty = 3;
	p->alone_forks = 15;
	snprintf(p->cluster_ops, sizeof(p->cluster_ops), "%s",
		 UKF_SOURCE_DIR "/scripts/calibrate/cluster-ops.lua");
	p->cluster_reps = 1;
	/* steps of 1.5 and 1.33: a fetch's cost need not be linear
	 * between two sizes (session 37: the 2-node testbed fetched 8, 16
	 * and 24 MiB at 2.6-2.8 ns a byte, 32 MiB at 80 or 250 ms, and a
	 * curve through 16 and 32 MiB put 24 MiB at 109 ms, 60% over) */
	p->tmpl_mem[0] = 8ULL << 20;
	p->tmpl_mem[1] = 12ULL << 20;
	p->tmpl_mem[2] = 16ULL << 20;
	p->tmpl_mem[3] = 24ULL << 20;
	p->tmpl_mem[4] = 32ULL << 20;
	p->ntmpl = 5;
	/* deltas of 259 to 771 pages without a fetch: forks dirty a few
	 * hundred pages (held-out.lua's 256), and a line fitted over 515-1027
	 * put 7.4 ms at 260 where 259-page samples averaged 6.7 (session
	 * 30) */
	p->fork_units = 6;
	p->fork_dirty = 128;
	p->gap_ns = 20000000; /* the scenarios' own default */
	/* after 300 ms or more the cost was up in every measurement of
	 * session 35 (scripts/bench/idle-gap.sh); in session 36 it kept
	 * growing to 2 s (+0.13, +0.57, +1.0, +1.7 ms at 0.3, 0.6, 1 and 2
	 * s): 8 clones per size after each of three spells, ~80 s */
	p->idle_ns[0] = 300000000;
	p->idle_ns[1] = 1000000000;
	p->idle_ns[2] = 2000000000;
	p->nidle = 3;
	p->idle_n = 8;
}

/* Durations (core/app.c units: ns, us, ms (the default), s), strictly
 * increasing, each at most max_ns, 1 to max of them; the first 0 when
 * first_zero, else every one above 0. 0, or -1. */
static int parse_spans(char *v, uint64_t *out, size_t *n, size_t max,
		       ukf_ns_t max_ns, int first_zero)
{
	char *save = NULL;
	size_t k = 0;
	for (char *t = strtok_r(v, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save)) {
		ukf_ns_t ns;
		if (k == max || ukf_parse_time(t, &ns) < 0 || ns > max_ns ||
		    ((k == 0 && first_zero) ? ns != 0 : ns <= 0) ||
		    (k > 0 && (uint64_t)ns <= out[k - 1]))
			return -1;
		out[k++] = (uint64_t)ns;
	}
	if (!k)
		return -1;
	*n = k;
	return 0;
}

/* Plan key idle: "0" or "none" (nidle 0), or 1 to UKF_CALIB_MAX_IDLE
 * durations, increasing, each at most 10 s (at least 1.5 times the one
 * before, the gap before the first: checked with the whole plan). */
static int parse_idle(char *v, uint64_t *out, size_t *n)
{
	if (!strcmp(v, "0") || !strcmp(v, "none")) {
		*n = 0;
		return 0;
	}
	return parse_spans(v, out, n, UKF_CALIB_MAX_IDLE, 10 * 1000000000LL, 0);
}

/* boot_init's durations: 0 first, then strictly increasing, each at most
 * 60 s. */
static int parse_inits(char *v, uint64_t *out, size_t *n)
{
	return parse_spans(v, out, n, UKF_CALIB_MAX_POINTS, 60 * 1000000000LL,
			   1);
}

/* A path value of a plan file: "none" (empty), absolute, or relative to
 * the plan file's directory. 0, or -1 if empty or too long. */
static int plan_path(char *out, size_t cap, const char *v, const char *plan)
{
	const char *slash = strrchr(plan, '/');
	if (!*v)
		return -1;
	if (!strcmp(v, "none"))
		out[0] = 0;
	else if (*v == '/' || !slash)
		return (size_t)snprintf(out, cap, "%s", v) < cap ? 0 : -1;
	else
		return (size_t)snprintf(out, cap, "%.*s/%s",
					(int)(slash - plan), plan, v) < cap
			   ? 0
			   : -1;
	return 0;
}

static int parse_sizes(char *v, uint64_t *out, size_t *n)
{
	char *save = NULL;
	size_t k = 0;
	for (char *t = strtok_r(v, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save)) {
		if (k == UKF_CALIB_MAX_POINTS || parse_size(t, &out[k]) < 0)
			return -1;
		k++;
	}
	*n = k;
	return 0;
}

/* Whole numbers from lo to hi, space-separated, one at least. */
static int parse_counts(char *v, uint32_t lo, uint32_t hi, uint32_t *out,
			size_t *n)
{
	char *save = NULL;
	size_t k = 0;
	for (char *t = strtok_r(v, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save)) {
		if (k == UKF_CALIB_MAX_POINTS || parse_u32(t, lo, hi, &out[k]) < 0)
			return -1;
		k++;
	}
	if (!k)
		return -1;
	*n = k;
	return 0;
}

int ukf_calib_plan_load(struct ukf_calib_plan *p, const char *path, char *err,
			size_t errlen)
{
	struct ukf_calib_plan t = *p;
	char line[1024];
	unsigned lineno = 0, init_line = 0;
	/* the line of each key given (a key twice is refused: the first
	 * would be dropped without a word); ops paths checked at the end */
	static const char *const keys[] = {
	    "boot_mem", "boot_init",  "clone_mem", "ops",	 "ops_reps",
	    "cluster_ops", "cluster_reps", "tmpl_mem", "fork_units",
	    "fork_dirty", "alone", "alone_mem", "alone_dirty",
	    "alone_forks", "gap", "idle", "idle_n"};
	unsigned seen[sizeof(keys) / sizeof(keys[0])] = {0};
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *h = strchr(line, '#');
		if (h)
			*h = 0;
		char *s = line;
		while (isspace((unsigned char)*s))
			s++;
		size_t len = strlen(s);
		while (len && isspace((unsigned char)s[len - 1]))
			s[--len] = 0;
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected 'key = value'",
				 path, lineno);
			goto fail;
		}
		char *k = s, *v = eq + 1;
		*eq = 0;
		len = strlen(k);
		while (len && isspace((unsigned char)k[len - 1]))
			k[--len] = 0;
		while (isspace((unsigned char)*v))
			v++;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			if (strcmp(k, keys[i]))
				continue;
			if (seen[i]) {
				snprintf(err, errlen,
					 "%s:%u: '%s' given twice (first at "
					 "line %u): one line, its values "
					 "space-separated",
					 path, lineno, k, seen[i]);
				goto fail;
			}
			seen[i] = lineno;
		}
		int ok;
		if (!strcmp(k, "boot_mem"))
			ok = parse_sizes(v, t.boot_mem, &t.nboot) == 0;
		else if (!strcmp(k, "boot_init")) {
			char given[64];
			snprintf(given, sizeof(given), "%s", v);
			ok = parse_inits(v, t.boot_init, &t.ninit) == 0;
			init_line = lineno;
			if (!ok) {
				snprintf(err, errlen,
					 "%s:%u: bad value '%.60s' for "
					 "'boot_init' (durations such as 0 "
					 "50ms 1s: 0 first, then increasing, "
					 "at most 60s, %d in all)",
					 path, lineno, given,
					 UKF_CALIB_MAX_POINTS);
				goto fail;
			}
		} else if (!strcmp(k, "clone_mem"))
			ok = parse_sizes(v, t.clone_mem, &t.nclone) == 0;
		else if (!strcmp(k, "ops_reps"))
			ok = parse_u32(v, 1, 1000, &t.ops_reps) == 0;
		else if (!strcmp(k, "ops"))
			ok = plan_path(t.ops, sizeof(t.ops), v, path) == 0;
		else if (!strcmp(k, "cluster_ops"))
			ok = plan_path(t.cluster_ops, sizeof(t.cluster_ops), v,
				       path) == 0;
		else if (!strcmp(k, "cluster_reps"))
			ok = parse_u32(v, 1, 1000, &t.cluster_reps) == 0;
		else if (!strcmp(k, "tmpl_mem")) {
			ok = parse_sizes(v, t.tmpl_mem, &t.ntmpl) == 0 &&
			     t.ntmpl > 0;
			for (size_t i = 0; ok && i < t.ntmpl; i++)
				ok = t.tmpl_mem[i] % (1ULL << 20) == 0;
		} else if (!strcmp(k, "alone"))
			ok = plan_path(t.alone, sizeof(t.alone), v, path) == 0;
		else if (!strcmp(k, "alone_mem")) {
			/* each once: alone-ops.lua names an app by it */
			ok = parse_sizes(v, t.alone_mem, &t.nalone_mem) == 0 &&
			     t.nalone_mem > 0;
			for (size_t i = 0; ok && i < t.nalone_mem; i++) {
				ok = t.alone_mem[i] % (1ULL << 20) == 0 &&
				     t.alone_mem[i] > 0 &&
				     t.alone_mem[i] <= 64ULL << 30;
				for (size_t j = 0; ok && j < i; j++)
					ok = t.alone_mem[j] != t.alone_mem[i];
			}
		} else if (!strcmp(k, "alone_dirty")) {
			ok = parse_counts(v, 1, 1u << 20, t.alone_dirty,
					  &t.nalone_dirty) == 0;
			for (size_t i = 0; ok && i < t.nalone_dirty; i++)
				for (size_t j = 0; ok && j < i; j++)
					ok = t.alone_dirty[j] != t.alone_dirty[i];
		}
		else if (!strcmp(k, "alone_forks"))
			ok = parse_u32(v, 0, 1000, &t.alone_forks) == 0;
		else if (!strcmp(k, "fork_units"))
			ok = parse_u32(v, 1, 100, &t.fork_units) == 0;
		else if (!strcmp(k, "fork_dirty"))
			ok = parse_u32(v, 1, 1u << 20, &t.fork_dirty) == 0;
		else if (!strcmp(k, "gap")) {
			ukf_ns_t ns;
			ok = ukf_parse_time(v, &ns) == 0 && ns >= 0 &&
			     ns <= 10 * 1000000000LL;
			if (ok) {
				t.gap_ns = (uint64_t)ns;
				t.gap_given = 1;
			}
		} else if (!strcmp(k, "idle")) {
			char copy[1024]; /* the message names v whole */
			snprintf(copy, sizeof(copy), "%s", v);
			ok = parse_idle(copy, t.idle_ns, &t.nidle) == 0;
			t.idle_given = 1;
		} else if (!strcmp(k, "idle_n"))
			ok = parse_u32(v, 2, 1000, &t.idle_n) == 0;
		else {
			snprintf(
			    err, errlen,
			    "%s:%u: unknown key '%.40s' (valid: boot_mem, "
			    "boot_init, clone_mem, ops, ops_reps, alone, "
			    "alone_mem, alone_dirty, alone_forks, cluster_ops, "
			    "cluster_reps, tmpl_mem, "
			    "fork_units, fork_dirty, gap, idle, idle_n)",
			    path, lineno, k);
			goto fail;
		}
		if (!ok) {
			snprintf(err, errlen,
				 "%s:%u: bad value '%.60s' for '%s'", path,
				 lineno, v, k);
			goto fail;
		}
	}
	if (ferror(f)) { /* e.g. a directory: not an empty plan */
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 strerror(errno));
		goto fail;
	}
	/* the scenarios named must be there before anything is measured
	 * (keys 3, 5 and 10: ops, cluster_ops, alone) */
	const char *scripts[3] = {t.ops, t.cluster_ops, t.alone};
	const unsigned key[3] = {3, 5, 10};
	for (int i = 0; i < 3; i++)
		if (seen[key[i]] && scripts[i][0] &&
		    access(scripts[i], R_OK) < 0) {
			snprintf(err, errlen, "%s:%u: %s: %s: %s", path,
				 seen[key[i]], keys[key[i]], scripts[i],
				 strerror(errno));
			goto fail;
		}
	/* each idle spell at least 1.5 times the one before it, the gap
	 * before the first: a clone goes with the spell nearest by ratio to
	 * the one it found (collect.c), which must tell them apart */
	for (size_t i = 0; i < t.nidle; i++) {
		double before = i ? (double)t.idle_ns[i - 1] : (double)t.gap_ns;
		if ((double)t.idle_ns[i] >= 1.5 * before)
			continue;
		snprintf(err, errlen,
			 "%s:%u: idle: %.3f ms is not at least 1.5 times %s "
			 "(%.3f ms): the idle spells' clones are told apart by "
			 "the spell before them (set idle = 0 for none)",
			 path, seen[15] ? seen[15] : seen[14],
			 (double)t.idle_ns[i] / 1e6,
			 i ? "the spell before it" : "gap", before / 1e6);
		goto fail;
	}
	/* boot_init samples are named by the memory in MiB (measure.c) */
	for (size_t i = 0; t.ninit > 1 && i < t.nboot; i++)
		if (t.boot_mem[i] % (1ULL << 20) ||
		    t.boot_mem[i] >> 20 > 99999) {
			snprintf(err, errlen,
				 "%s:%u: boot_init needs every boot_mem in "
				 "whole MiB (at most 99999M)",
				 path, init_line);
			goto fail;
		}
	fclose(f);
	*p = t;
	return 0;
fail:
	fclose(f);
	return -1;
}

/* ---- provenance ---- */

static void read_line(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	buf[0] = 0;
	if (!f)
		return;
	if (fgets(buf, (int)cap, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static void cpu_model(char *buf, size_t cap)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	int hyp = 0, svm = 0, vmx = 0;
	buf[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!buf[0] && !strncmp(line, "model name", 10)) {
			char *c = strchr(line, ':');
			if (c)
				snprintf(buf, cap, "%s", c + 2);
			buf[strcspn(buf, "\n")] = 0;
		}
		if (!strncmp(line, "flags", 5)) {
			hyp |= strstr(line, " hypervisor") != NULL;
			svm |= strstr(line, " svm") != NULL;
			vmx |= strstr(line, " vmx") != NULL;
		}
	}
	fclose(f);
	size_t n = strlen(buf);
	snprintf(buf + n, cap - n, "%s%s%s", svm ? ", svm" : "",
		 vmx ? ", vmx" : "", hyp ? ", itself a guest" : "");
}

static void kvm_kind(char *buf, size_t cap, const char *note)
{
	char mods[256] = "", vendor[128], cpu[256];
	DIR *d = opendir("/sys/module");
	struct dirent *e;

	if (d) {
		while ((e = readdir(d))) {
			if (strncmp(e->d_name, "kvm", 3))
				continue;
			size_t n = strlen(mods), l = strlen(e->d_name);
			if (n + l + 2 > sizeof(mods))
				break;
			if (n)
				mods[n++] = ' ';
			memcpy(mods + n, e->d_name, l + 1);
		}
		closedir(d);
	}
	read_line("/sys/class/dmi/id/sys_vendor", vendor, sizeof(vendor));
	cpu_model(cpu, sizeof(cpu));
	int k = snprintf(buf, cap, "modules %.200s; machine %.100s; CPU %.200s",
			 mods[0] ? mods : "(none)", vendor[0] ? vendor : "?",
			 cpu[0] ? cpu : "?");
	if (note && k >= 0 && (size_t)k < cap)
		snprintf(buf + k, cap - (size_t)k, "; %s", note);
}

static void loadavg(char *buf, size_t cap)
{
	char l[64];
	read_line("/proc/loadavg", l, sizeof(l));
	/* the first three fields */
	char *p = l;
	for (int i = 0; i < 3 && p; i++)
		p = strchr(p + 1, ' ');
	if (p)
		*p = 0;
	snprintf(buf, cap, "%.*s", (int)(cap - 1), l);
}

static int do_fit(const ukf_calib_set_t *s, const char *out)
{
	char err[512];
	/* again now: a --db made by this run under another name for the
	 * same file (--db x.db --out ./x.db) is a database only now */
	if (out_is_db(out, err, sizeof(err)) < 0) {
		fprintf(stderr, "ukfork calibrate: %s\n", err);
		return 1;
	}
	if (ukf_calib_model_write(s, out, stdout, stderr, err, sizeof(err)) < 0) {
		fprintf(stderr, "ukfork calibrate: %s\n", err);
		return 1;
	}
	fprintf(stderr, "ukfork calibrate: wrote %s\n", out);
	return 0;
}

static int from_db(const char *db, const int64_t *ids, size_t nids,
		   const char *out)
{
	ukf_calib_set_t *s = NULL;
	char err[512];

	if (ukf_calib_load_ids(db, ids, nids, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "ukfork calibrate: %s\n", err);
		return 1;
	}
	fprintf(stderr, "ukfork calibrate: %zu samples from %s\n",
		ukf_calib_set_count(s), db);
	int rc = do_fit(s, out);
	ukf_calib_set_destroy(&s);
	return rc;
}

/* --calib: "all" (*n = 0), or ids separated by commas. -1 if bad. */
static int parse_ids(const char *v, int64_t *ids, size_t cap, size_t *n,
		     char *why, size_t wl)
{
	const char *p = v;

	*n = 0;
	snprintf(why, wl, "is not a calibration id, a list ID,ID,... or 'all'");
	if (!strcmp(v, "all"))
		return 0;
	for (;;) {
		char item[24];
		size_t len = strcspn(p, ",");
		uint32_t id;
		if (len == 0 || len >= sizeof(item))
			return -1; /* empty item (',,', a leading or trailing
				      ','), or not a number */
		memcpy(item, p, len);
		item[len] = 0;
		if (parse_u32(item, 1, UINT32_MAX, &id) < 0)
			return -1;
		for (size_t k = 0; k < *n; k++)
			if (ids[k] == id) {
				snprintf(why, wl,
					 "names calibration %u twice (its "
					 "samples would count twice)",
					 id);
				return -1;
			}
		if (*n == cap) {
			snprintf(why, wl, "names more than %zu calibrations",
				 cap);
			return -1;
		}
		ids[(*n)++] = id;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

/* A non-negative decimal (ms, Mbit/s). -1 if bad. */
static int parse_num(const char *v, double *out)
{
	char *end;
	if (!v || !*v)
		return -1;
	errno = 0;
	double d = strtod(v, &end);
	if (*end || errno || !(d >= 0) || d > 1e9)
		return -1;
	*out = d;
	return 0;
}

/* The link between the cluster's nodes: --delay/--rate, else the
 * testbed.conf `ukfork testbed up` leaves beside the cluster file
 * (delay, jitter: ms node to node; rate: Mbit/s per node link). desc: what
 * it is and where it came from. */
struct link {
	double delay_ms, jitter_ms, rate_mbit; /* < 0: not known */
	int from_testbed;
	char desc[256];
};

static void read_testbed_conf(const char *cluster, struct link *l)
{
	char path[4200], line[256];
	const char *slash = strrchr(cluster, '/');
	FILE *f;

	if (slash)
		snprintf(path, sizeof(path), "%.*s/testbed.conf",
			 (int)(slash - cluster), cluster);
	else
		snprintf(path, sizeof(path), "testbed.conf");
	if (!(f = fopen(path, "r")))
		return;
	l->from_testbed = 1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = 0;
		double v = 0;
		/* empty: none added (not shaped) */
		int have = parse_num(eq + 1, &v) == 0;
		if (!strcmp(line, "delay") && l->delay_ms < 0)
			l->delay_ms = have ? v : 0;
		else if (!strcmp(line, "jitter") && l->jitter_ms < 0)
			l->jitter_ms = have ? v : 0;
		else if (!strcmp(line, "rate") && l->rate_mbit < 0)
			l->rate_mbit = have ? v : 0;
	}
	fclose(f);
}

static void link_desc(struct link *l, int opts)
{
	char d[64] = "no delay added", j[48] = "", r[64] = "rate not limited";
	if (l->delay_ms > 0)
		snprintf(d, sizeof(d), "delay %g ms one way", l->delay_ms);
	if (l->jitter_ms > 0)
		snprintf(j, sizeof(j), " +-%g ms", l->jitter_ms);
	if (l->rate_mbit > 0)
		snprintf(r, sizeof(r), "rate %g Mbit/s per node link",
			 l->rate_mbit);
	snprintf(l->desc, sizeof(l->desc), "%s%s, %s (%s)", d, j, r,
		 opts && l->from_testbed ? "--delay/--rate over testbed.conf"
		 : opts			 ? "--delay/--rate"
		 : l->from_testbed	 ? "the testbed's testbed.conf"
					 : "not known: no testbed.conf beside "
					   "the cluster file, no --delay/--rate;"
					   " nothing charged to the link");
}

static void rm_rf_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[4400];
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

/* --etcd: comma-separated http:// or https:// endpoints. -1 if bad. */
static int check_endpoints(const char *v)
{
	const char *q = v;
	if (!*v)
		return -1;
	for (;;) {
		size_t l = strcspn(q, ",");
		size_t sch = !strncmp(q, "http://", 7)	  ? 7
			     : !strncmp(q, "https://", 8) ? 8
							  : 0;
		if (!sch || l <= sch || memchr(q, ' ', l))
			return -1;
		if (!q[l])
			return 0;
		q += l + 1;
	}
}

/* --directory: n updates timed on the embedded directory (etcd NULL) or
 * etcd, as samples "dir_embedded" / "dir_etcd" (x 0) of s. */
static int measure_dir(const char *etcd, uint32_t n, ukf_calib_set_t *s,
		       char *err, size_t errlen)
{
#ifdef UKF_HAVE_DIRVIS
	struct ukf_dirvis_config c = {.etcd = etcd, .samples = n, .warmup = 10};
	double *ns = calloc(n, sizeof(double));
	const char *op = etcd ? "dir_etcd" : "dir_embedded";
	int rc = -1;

	if (!ns) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	fprintf(stderr,
		"ukfork calibrate: directory %s%s: %u updates (after 10 not "
		"timed), one at a time\n",
		etcd ? "etcd " : "embedded", etcd ? etcd : "", n);
	if (ukf_dirvis_measure(&c, ns, err, errlen) == 0) {
		rc = 0;
		for (uint32_t i = 0; rc == 0 && i < n; i++)
			if (ukf_calib_set_add(s, op, 0, ns[i]) < 0) {
				snprintf(err, errlen, "out of memory");
				rc = -1;
			}
	}
	free(ns);
	return rc;
#else
	(void)etcd;
	(void)n;
	(void)s;
	snprintf(err, errlen, "node agents not built in this ukfork");
	return -1;
#endif
}


/*
 * SIGINT or SIGTERM while measuring: the step going on ends (a scenario
 * run of the plan stops at once, as `ukfork run`'s do; a bootbench batch
 * or the directory's updates finish), no later step starts, the samples
 * measured so far are stored in --db as a calibration marked interrupted
 * (not lost with minutes of measuring; `--from-db` refits them), no model
 * file is written, the temporary directory is removed, and the process
 * then dies of the signal (exit status 130 or 143 to a shell). A second
 * signal kills at once (SA_RESETHAND).
 */
static volatile sig_atomic_t calib_sig;

static void on_calib_signal(int sig)
{
	/* said at once (write(2) is async-signal-safe): a bootbench batch
	 * under emulation can take a minute to end */
	static const char m[] = "ukfork calibrate: interrupted: ending the "
				"step going on, then storing what was "
				"measured (a second signal kills at once)\n";
	calib_sig = sig;
	ssize_t w = write(STDERR_FILENO, m, sizeof(m) - 1);
	(void)w;
}

int ukf_calib_interrupted(void)
{
	return calib_sig;
}

/* Catch SIGINT and SIGTERM (not one that is ignored: a background job's
 * SIGINT stays so); the old actions in old[2]. */
static void catch_signals(struct sigaction old[2])
{
	struct sigaction sa;
	const int sigs[2] = {SIGINT, SIGTERM};

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_calib_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	calib_sig = 0;
	for (int i = 0; i < 2; i++) {
		sigaction(sigs[i], NULL, &old[i]);
		if (old[i].sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
}

static void restore_signals(const struct sigaction old[2])
{
	sigaction(SIGINT, &old[0], NULL);
	sigaction(SIGTERM, &old[1], NULL);
}

/*
 * The command line as a shell would take it back, whole (it was cut at
 * 1024 bytes): an argument with a space, a quote or another character
 * special to sh in single quotes (--note "a b" was written --note a b,
 * two words). Malloc'd; NULL without memory.
 */
static char *shell_command(int argc, char **argv)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	fputs("ukfork calibrate", m);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int plain = *a != 0;
		for (const char *q = a; *q && plain; q++)
			plain = isalnum((unsigned char)*q) ||
				strchr("-_./,:=+@%", *q) != NULL;
		fputc(' ', m);
		if (plain) {
			fputs(a, m);
			continue;
		}
		fputc('\'', m);
		for (const char *q = a; *q; q++)
			fputs(*q == '\'' ? "'\\''" : (char[]){*q, 0}, m);
		fputc('\'', m);
	}
	if (fclose(m) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int ukf_calib_main(int argc, char **argv, ukf_calib_scenario_fn run)
{
	const char *backend = NULL, *plan_path = NULL, *db = NULL;
	const char *out = "calibrated.conf", *fromdb = NULL, *note = NULL;
	const char *cluster = NULL, *calib_arg = NULL;
	const char *directory = NULL, *etcd = NULL;
	uint32_t n = 0, nodes = 0;
	int64_t ids[64];
	size_t nids = 1;
	struct ukf_calib_plan plan;
	struct link lk = {.delay_ms = -1, .jitter_ms = -1, .rate_mbit = -1};
	int link_opts = 0, sigs = 0; /* sigs: ours caught, oldsa theirs */
	struct sigaction oldsa[2];
	char err[1024] = "", clinfo[4400] = "";

	static const char *const opts[] = {
	    "--backend", "--plan",  "--db",	"--out",     "-n",
	    "--from-db", "--calib", "--note", "--cluster", "--delay",
	    "--rate",	 "--directory", "--etcd"};
	unsigned char given[sizeof(opts) / sizeof(opts[0])] = {0};

	ids[0] = 0; /* the latest */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return 0;
		}
		size_t o = 0;
		while (o < sizeof(opts) / sizeof(opts[0]) && strcmp(a, opts[o]))
			o++;
		if (o == sizeof(opts) / sizeof(opts[0]))
			return bad(a[0] == '-' ? "unknown option '%s'"
					       : "unexpected argument '%s'",
				   a);
		/* the last one won without a word (two --out: one file) */
		if (given[o]++)
			return bad("%s given twice", a);
		if (!v)
			return bad("%s needs a value", a);
		/* every option takes a value: an option in its place is a
		 * value forgotten (--out --note x wrote a file named --note) */
		if (ukf_arg_is_option(v, NULL))
			return bad("%s needs a value (found the option '%s')",
				    a, v);
		i++;
		if (!strcmp(a, "--backend"))
			backend = v;
		else if (!strcmp(a, "--plan"))
			plan_path = v;
		else if (!strcmp(a, "--db"))
			db = v;
		else if (!strcmp(a, "--out"))
			out = v;
		else if (!strcmp(a, "--note"))
			note = v;
		else if (!strcmp(a, "--from-db"))
			fromdb = v;
		else if (!strcmp(a, "--cluster"))
			cluster = v;
		else if (!strcmp(a, "--delay")) {
			if (parse_num(v, &lk.delay_ms) < 0)
				return bad("--delay: '%s' is not a number of "
					   "milliseconds >= 0",
					   v);
			link_opts = 1;
		} else if (!strcmp(a, "--rate")) {
			if (parse_num(v, &lk.rate_mbit) < 0)
				return bad("--rate: '%s' is not a number of "
					   "Mbit/s >= 0 (0: not limited)",
					   v);
			link_opts = 1;
		} else if (!strcmp(a, "--directory")) {
			if (strcmp(v, "embedded") && strcmp(v, "etcd"))
				return bad("--directory: '%s' is not embedded "
					   "or etcd",
					   v);
			directory = v;
		} else if (!strcmp(a, "--etcd")) {
			if (check_endpoints(v) < 0)
				return bad("--etcd: '%s' is not a list of "
					   "endpoints http://host:port,...",
					   v);
			etcd = v;
		} else if (!strcmp(a, "-n")) {
			if (parse_u32(v, 2, 100000, &n) < 0)
				return bad(
				    "-n: '%s' is not a count of 2 or more", v);
		} else {
			calib_arg = v;
			char why[96], msg[700];
			if (parse_ids(v, ids, sizeof(ids) / sizeof(ids[0]),
				      &nids, why, sizeof(why)) < 0) {
				snprintf(msg, sizeof(msg), "--calib: '%.500s' %s",
					 v, why);
				return bad("%s", msg);
			}
		}
	}
	if (fromdb) {
		if (backend || plan_path || db || n || cluster || link_opts ||
		    directory || etcd || note)
			return bad("%s",
				   "--from-db refits stored samples: it takes "
				   "no --backend, --cluster, --directory, "
				   "--etcd, --plan, --db, -n, --delay, "
				   "--rate or --note (the file keeps the "
				   "stored calibration's)");
		if (out_is_db(out, err, sizeof(err)) < 0)
			return bad("%s", err);
		return from_db(fromdb, nids ? ids : NULL, nids, out);
	}
	if (calib_arg)
		return bad("--calib %s goes with --from-db", calib_arg);
	if (link_opts && !cluster)
		return bad("%s", "--delay and --rate describe a cluster's "
				 "links: they go with --cluster");
	if (etcd && (!directory || strcmp(directory, "etcd")))
		return bad("--etcd %s goes with --directory etcd", etcd);
	if (directory) {
		if (backend || cluster || plan_path)
			return bad("%s", "--directory measures the cluster "
					 "directory alone: it takes no "
					 "--backend, --cluster or --plan");
		if (!strcmp(directory, "etcd") && !etcd)
			return bad("%s", "--directory etcd needs --etcd "
					 "URL,... (scripts/etcd/local.sh start "
					 "DIR prints them)");
#ifndef UKF_HAVE_DIRVIS
		return bad("--directory %s: node agents not built in this "
			   "ukfork",
			   directory);
#endif
	} else if (cluster) {
		if (backend && strcmp(backend, "kvm"))
			return bad("--cluster runs on the node agents' own "
				   "backend (kvm): --backend %s does not go "
				   "with it",
				   backend);
#ifdef UKF_HAVE_AGENT
		struct ukf_cluster *cl = NULL;
		if (ukf_cluster_load(&cl, cluster, err, sizeof(err))) {
			fprintf(stderr, "ukfork calibrate: --cluster: %s\n",
				err);
			return 2;
		}
		nodes = (uint32_t)cl->nnodes;
		snprintf(
		    clinfo, sizeof(clinfo),
		    "%s (%u nodes, directory %s, compress %s)", cluster, nodes,
		    cl->directory == UKF_CLUSTER_DIR_ETCD ? "etcd" : "embedded",
		    cl->compress == UKF_TP_COMPRESS_NONE  ? "none"
		    : cl->compress == UKF_TP_COMPRESS_LZ4 ? "lz4"
							  : "zstd");
		ukf_cluster_destroy(&cl);
		if (nodes < 2) {
			fprintf(stderr,
				"ukfork calibrate: --cluster %s: %u node; a "
				"remote fork needs two at least (ukfork "
				"testbed up --nodes 2)\n",
				cluster, nodes);
			return 2;
		}
#else
		return bad("--cluster %s: node agents not built in this ukfork",
			   cluster);
#endif
		read_testbed_conf(cluster, &lk);
		link_desc(&lk, link_opts);
	} else {
		if (!backend)
			return bad("%s", "--backend kvm, --cluster FILE (or "
					 "--from-db DB) is needed");
		if (strcmp(backend, "kvm"))
			return bad("unknown backend '%s' (valid: kvm; the "
				   "simulator needs no calibration)",
				   backend);
	}
	ukf_calib_plan_default(&plan);
	if (plan_path && strcmp(plan_path, "default") &&
	    ukf_calib_plan_load(&plan, plan_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "ukfork calibrate: %s\n", err);
		return 2;
	}
	/* a plan with nothing for this kind of calibration to measure is a
	 * bad plan, said now: not "nothing to fit" after /dev/kvm and the
	 * cluster were set up for it */
	if (cluster && !plan.cluster_ops[0]) {
		fprintf(stderr,
			"ukfork calibrate: %s: cluster_ops = none: --cluster "
			"has nothing to measure\n",
			plan_path);
		return 2;
	}
	if (!cluster && !directory && !plan.nboot && !plan.nclone &&
	    !plan.ops[0] && !plan.alone[0]) {
		fprintf(stderr,
			"ukfork calibrate: %s: nothing to measure with "
			"--backend kvm (boot_mem and clone_mem empty, ops = "
			"none, alone = none)\n",
			plan_path);
		return 2;
	}
	if (db && !strcmp(db, out)) {
		snprintf(err, sizeof(err),
			 "--out %s is the --db: the model file would "
			 "overwrite the samples",
			 out);
		fprintf(stderr, "ukfork calibrate: %s (nothing measured)\n",
			err);
		return 2;
	}
	if (writable("--out", out, err, sizeof(err)) < 0 ||
	    out_is_db(out, err, sizeof(err)) < 0 ||
	    (db && (writable("--db", db, err, sizeof(err)) < 0 ||
		    not_sqlite(db, err, sizeof(err)) < 0))) {
		fprintf(stderr, "ukfork calibrate: %s (nothing measured)\n",
			err);
		return 2;
	}
	if (n)
		plan.n = n;
	else if (directory)
		plan.n = 500; /* a p99 interval with an upper bound needs 368 or more */
	if (!cluster && !directory) {
		int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr,
				"ukfork calibrate: SKIP: /dev/kvm not usable "
				"(%s): calibrate on a KVM host, or inside "
				"scripts/kvm-vm/run (emulated timings)\n",
				strerror(errno));
			return 77;
		}
		close(fd);
	}

	/* $TMPDIR, as mktemp(1) takes it; /tmp without it */
	const char *tmproot = getenv("TMPDIR");
	char tmpdir[4096], tmpdb[4200];
	if (!tmproot || !*tmproot)
		tmproot = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/ukf-calib-XXXXXX", tmproot);
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "ukfork calibrate: temporary directory: %s\n",
			strerror(errno));
		return 1;
	}
	if (!db) {
		snprintf(tmpdb, sizeof(tmpdb), "%s/calib.db", tmpdir);
		db = tmpdb;
		fprintf(stderr,
			"ukfork calibrate: no --db: the raw samples are "
			"not kept\n");
	}

	char date[32], host[128] = "?", kind[1024], load0[64], load1[64],
		       hostinfo[192], loads[160];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%MZ", &tm);
	gethostname(host, sizeof(host) - 1);
	snprintf(hostinfo, sizeof(hostinfo), "%s, %ld CPUs", host,
		 sysconf(_SC_NPROCESSORS_ONLN));
	kvm_kind(kind, sizeof(kind), note);
	char *cmd = shell_command(argc, argv);
	loadavg(load0, sizeof(load0));

	ukf_calib_set_t *s = ukf_calib_set_create();
	int rc = 1;
	if (!s) {
		fprintf(stderr, "ukfork calibrate: out of memory\n");
		goto out;
	}
	double lat_ns = lk.delay_ms > 0 ? lk.delay_ms * 1e6 : 0;
	double bw = lk.rate_mbit > 0 ? lk.rate_mbit * 125000.0 : 0;
	char dirdesc[600] = "";
	int mrc;
	catch_signals(oldsa);
	sigs = 1;
	if (directory) {
		snprintf(dirdesc, sizeof(dirdesc),
			 "directory %s%s%s: 2 members in one process, one "
			 "clock, 10 updates not timed first",
			 directory, etcd ? " at " : " (ZeroMQ over loopback TCP)",
			 etcd ? etcd : "");
		mrc = measure_dir(etcd, plan.n, s, err, sizeof(err));
	} else if (cluster) {
		fprintf(stderr, "ukfork calibrate: link: %s\n", lk.desc);
		ukf_calib_set_link(s, lat_ns, bw);
		/* the link in the runs' settings (a --set value: no
		 * commas, which would make it a sweep) */
		char linkset[96];
		if (lk.delay_ms > 0)
			snprintf(linkset, sizeof(linkset), "%.6g ms",
				 lk.delay_ms);
		else
			snprintf(linkset, sizeof(linkset), "no delay");
		size_t ll = strlen(linkset);
		if (lk.rate_mbit > 0)
			snprintf(linkset + ll, sizeof(linkset) - ll,
				 " / %.6g Mbit/s", lk.rate_mbit);
		else
			snprintf(linkset + ll, sizeof(linkset) - ll,
				 " / no rate limit");
		mrc = ukf_calib_measure_cluster(&plan, cluster, nodes,
						linkset, db, tmpdir, run, s,
						err, sizeof(err));
	} else
		mrc = ukf_calib_measure_kvm(&plan, db, tmpdir, run, s, err,
					    sizeof(err));
	/* a signal from here on (storing, fitting) ends the process as
	 * before; one during the measurement is handled below */
	restore_signals(oldsa);
	sigs = 0;
	if (mrc < 0 && !calib_sig) {
		fprintf(stderr, "ukfork calibrate: %s\n", err);
		goto out;
	}
	char plandesc[1200];
	const char *sig = calib_sig == SIGINT ? "SIGINT" : "SIGTERM";
	snprintf(plandesc, sizeof(plandesc), "%s%s%s%s",
		 directory  ? dirdesc
		 : plan_path ? plan_path
			     : "default",
		 calib_sig ? " (INTERRUPTED by " : "", calib_sig ? sig : "",
		 calib_sig ? ": the plan may be incomplete)" : "");
	if (calib_sig) {
		fprintf(stderr,
			"ukfork calibrate: interrupted (%s) while measuring: "
			"%zu samples measured, no model file written\n",
			sig, ukf_calib_set_count(s));
		if (db == tmpdb || !ukf_calib_set_count(s)) {
			fprintf(stderr, "ukfork calibrate: %s\n",
				db == tmpdb ? "no --db: nothing kept"
					    : "nothing to store");
			goto out;
		}
	}
	loadavg(load1, sizeof(load1));
	snprintf(loads, sizeof(loads), "%s before, %s after", load0, load1);
	struct ukf_calib_prov p = {
	    .date = date,
	    .host = hostinfo,
	    .kvm = kind,
	    .backend = directory ? "none (the cluster directory alone)" : "kvm",
	    .plan = plandesc,
	    .command = cmd ? cmd : "ukfork calibrate",
	    .load = loads,
	    .n = plan.n,
	    .cluster = cluster ? clinfo : NULL,
	    .link = cluster ? lk.desc : NULL,
	    .link_latency_ns = lat_ns,
	    .link_bandwidth = bw,
	};
	int64_t id = 0;
	if (ukf_calib_set_prov(s, &p) < 0 ||
	    ukf_calib_store(db, s, &id, err, sizeof(err)) < 0) {
		fprintf(stderr, "ukfork calibrate: %s\n",
			err[0] ? err : "out of memory");
		goto out;
	}
	/* (a temporary database's id would name samples no one can
	 * read again) */
	if (db != tmpdb) {
		ukf_calib_set_mark(s, id);
		fprintf(stderr,
			"ukfork calibrate: %zu samples stored in %s "
			"(calibration %" PRId64 "%s)\n",
			ukf_calib_set_count(s), db, id,
			calib_sig ? ", marked interrupted" : "");
	}
	if (calib_sig)
		fprintf(stderr,
			"ukfork calibrate: `ukfork calibrate --from-db %s "
			"--calib %" PRId64 " --out FILE` fits them\n",
			db, id);
	else
		rc = do_fit(s, out);
out:
	free(cmd);
	ukf_calib_set_destroy(&s);
	rm_rf_tmp(tmpdir);
	if (sigs)
		restore_signals(oldsa);
	if (calib_sig) {
		/* the process ends of the signal, as it would have without
		 * the handler, its messages out first */
		fflush(stdout);
		fflush(stderr);
		raise(calib_sig);
	}
	return rc;
}
