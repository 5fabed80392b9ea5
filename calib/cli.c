/* SPDX-License-Identifier: MIT */
/* cli.c - the `ukfork calibrate` command: options, plan file, provenance,
 * measure -> store -> fit -> model file. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calib_int.h"

#ifndef UKF_SOURCE_DIR
#define UKF_SOURCE_DIR "."
#endif

static const char usage[] =
    "usage: ukfork calibrate --backend kvm [--plan FILE|default] [--db DB]\n"
    "                        [--out MODEL.conf] [-n N] [--note TEXT]\n"
    "       ukfork calibrate --from-db DB [--calib ID] --out MODEL.conf\n"
    "\n"
    "Measure the VM operations the simulator models on this machine's KVM\n"
    "backend (cold boots across memory sizes, template clones, live forks\n"
    "across dirty-page counts and template making through the engine),\n"
    "store every raw sample in the results database (tables calib_runs,\n"
    "calib_samples), fit each cost by least squares (95% confidence\n"
    "intervals) and its spread by maximum likelihood (lognormal, gamma,\n"
    "Weibull, heavy-tailed log-logistic; the lowest AIC, with the\n"
    "Kolmogorov-Smirnov statistic), and\n"
    "write a model file sim/ loads (run { model = FILE }). With --from-db,\n"
    "refit a calibration already stored, without KVM.\n"
    "\n"
    "  --backend kvm     measure on /dev/kvm (the only backend)\n"
    "  --plan FILE       what to measure (default: the built-in plan; keys in\n"
    "                    docs/calibration.md)\n"
    "  --db DB           results database for the raw samples (default: a\n"
    "                    temporary one, removed at the end)\n"
    "  --out FILE        the model file (default: calibrated.conf)\n"
    "  -n N              samples per point (default 20)\n"
    "  --note TEXT       added to the file's provenance (e.g. EMULATED)\n"
    "  --from-db DB      refit calibration --calib ID (default the latest)\n"
    "\n"
    "Progress goes to stderr, the fitted summary to stdout. Exit status: 0\n"
    "done, 1 failed, 2 bad command line, 77 no usable /dev/kvm.\n";

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "ukfork calibrate: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(try `ukfork calibrate --help`)\n");
	return 2;
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
	p->clone_mem[0] = 8ULL << 20;
	p->nclone = 1;
	snprintf(p->ops, sizeof(p->ops), "%s",
		 UKF_SOURCE_DIR "/scripts/calibrate/kvm-ops.lua");
	p->ops_reps = 3;
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

int ukf_calib_plan_load(struct ukf_calib_plan *p, const char *path, char *err,
			size_t errlen)
{
	struct ukf_calib_plan t = *p;
	char line[1024];
	unsigned lineno = 0;
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
		int ok;
		if (!strcmp(k, "boot_mem"))
			ok = parse_sizes(v, t.boot_mem, &t.nboot) == 0;
		else if (!strcmp(k, "clone_mem"))
			ok = parse_sizes(v, t.clone_mem, &t.nclone) == 0;
		else if (!strcmp(k, "ops_reps"))
			ok = parse_u32(v, 1, 1000, &t.ops_reps) == 0;
		else if (!strcmp(k, "ops")) {
			const char *slash = strrchr(path, '/');
			ok = *v != 0;
			if (!strcmp(v, "none"))
				t.ops[0] = 0;
			else if (*v == '/' || !slash)
				ok = ok &&
				     (size_t)snprintf(t.ops, sizeof(t.ops),
						      "%s", v) < sizeof(t.ops);
			else
				ok = ok && (size_t)snprintf(
					       t.ops, sizeof(t.ops), "%.*s/%s",
					       (int)(slash - path), path,
					       v) < sizeof(t.ops);
		} else {
			snprintf(err, errlen,
				 "%s:%u: unknown key '%.40s' (valid: boot_mem, "
				 "clone_mem, ops, ops_reps)",
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
	if (ukf_calib_model_write(s, out, stdout, err, sizeof(err)) < 0) {
		fprintf(stderr, "ukfork calibrate: %s\n", err);
		return 1;
	}
	fprintf(stderr, "ukfork calibrate: wrote %s\n", out);
	return 0;
}

static int from_db(const char *db, int64_t id, const char *out)
{
	ukf_calib_set_t *s = NULL;
	char err[512];

	if (ukf_calib_load(db, id, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "ukfork calibrate: %s\n", err);
		return 1;
	}
	fprintf(stderr, "ukfork calibrate: %zu samples from %s\n",
		ukf_calib_set_count(s), db);
	int rc = do_fit(s, out);
	ukf_calib_set_destroy(&s);
	return rc;
}

static void rm_rf_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[4200];
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

int ukf_calib_main(int argc, char **argv, ukf_calib_scenario_fn run)
{
	const char *backend = NULL, *plan_path = NULL, *db = NULL;
	const char *out = "calibrated.conf", *fromdb = NULL, *note = NULL;
	uint32_t n = 0;
	int64_t calib_id = 0;
	struct ukf_calib_plan plan;
	char err[1024] = "";

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return 0;
		}
		int takes = !strcmp(a, "--backend") || !strcmp(a, "--plan") ||
			    !strcmp(a, "--db") || !strcmp(a, "--out") ||
			    !strcmp(a, "-n") || !strcmp(a, "--from-db") ||
			    !strcmp(a, "--calib") || !strcmp(a, "--note");
		if (!takes)
			return bad(a[0] == '-' ? "unknown option '%s'"
					       : "unexpected argument '%s'",
				   a);
		if (!v)
			return bad("%s needs a value", a);
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
		else if (!strcmp(a, "-n")) {
			if (parse_u32(v, 2, 100000, &n) < 0)
				return bad(
				    "-n: '%s' is not a count of 2 or more", v);
		} else {
			uint32_t id;
			if (parse_u32(v, 1, UINT32_MAX, &id) < 0)
				return bad(
				    "--calib: '%s' is not a calibration id", v);
			calib_id = id;
		}
	}
	if (fromdb) {
		if (backend || plan_path || db || n)
			return bad("%s",
				   "--from-db refits stored samples: it takes "
				   "no --backend, --plan, --db or -n");
		return from_db(fromdb, calib_id, out);
	}
	if (!backend)
		return bad("%s", "--backend kvm (or --from-db DB) is needed");
	if (strcmp(backend, "kvm"))
		return bad("unknown backend '%s' (valid: kvm; the simulator "
			   "needs no calibration)",
			   backend);
	ukf_calib_plan_default(&plan);
	if (plan_path && strcmp(plan_path, "default") &&
	    ukf_calib_plan_load(&plan, plan_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "ukfork calibrate: %s\n", err);
		return 2;
	}
	if (n)
		plan.n = n;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr,
			"ukfork calibrate: SKIP: /dev/kvm not usable (%s): "
			"calibrate on a KVM host, or inside scripts/kvm-vm/run "
			"(emulated timings)\n",
			strerror(errno));
		return 77;
	}
	close(fd);

	char tmpdir[] = "/tmp/ukf-calib-XXXXXX", tmpdb[64];
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
		       hostinfo[192], cmd[1024] = "ukfork calibrate",
		       loads[160];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%MZ", &tm);
	gethostname(host, sizeof(host) - 1);
	snprintf(hostinfo, sizeof(hostinfo), "%s, %ld CPUs", host,
		 sysconf(_SC_NPROCESSORS_ONLN));
	kvm_kind(kind, sizeof(kind), note);
	for (int i = 1; i < argc; i++) {
		size_t l = strlen(cmd);
		snprintf(cmd + l, sizeof(cmd) - l, " %s", argv[i]);
	}
	loadavg(load0, sizeof(load0));

	ukf_calib_set_t *s = ukf_calib_set_create();
	int rc = 1;
	if (!s) {
		fprintf(stderr, "ukfork calibrate: out of memory\n");
		goto out;
	}
	if (ukf_calib_measure_kvm(&plan, db, tmpdir, run, s, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "ukfork calibrate: %s\n", err);
		goto out;
	}
	loadavg(load1, sizeof(load1));
	snprintf(loads, sizeof(loads), "%s before, %s after", load0, load1);
	struct ukf_calib_prov p = {
	    .date = date,
	    .host = hostinfo,
	    .kvm = kind,
	    .backend = "kvm",
	    .plan = plan_path ? plan_path : "default",
	    .command = cmd,
	    .load = loads,
	    .n = plan.n,
	};
	int64_t id = 0;
	if (ukf_calib_set_prov(s, &p) < 0 ||
	    ukf_calib_store(db, s, &id, err, sizeof(err)) < 0) {
		fprintf(stderr, "ukfork calibrate: %s\n",
			err[0] ? err : "out of memory");
		goto out;
	}
	if (db != tmpdb)
		fprintf(stderr,
			"ukfork calibrate: %zu samples stored in %s "
			"(calibration %" PRId64 ")\n",
			ukf_calib_set_count(s), db, id);
	rc = do_fit(s, out);
out:
	ukf_calib_set_destroy(&s);
	rm_rf_tmp(tmpdir);
	return rc;
}
