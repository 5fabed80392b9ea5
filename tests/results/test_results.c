/* SPDX-License-Identifier: MIT */
/* test_results.c - self-tests of the results database, stats and report. */
#define _GNU_SOURCE
#include "results/results.h"
#include "results/stats.h"
#include "results/json.h"
#include "tests/common/selftest.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>
#include <sys/syscall.h>
#include <json-c/json.h>

/* tests/results/fake_gnuplot.sh: writes the files plots.gp names (the
 * report checks that they were made, so /bin/true does not do) */
#ifndef FAKE_GNUPLOT
#error "FAKE_GNUPLOT: the stand-in gnuplot's path (tests/results/CMakeLists.txt)"
#endif

#define CHECK_NEAR(a, b, tol)                                                 \
	do {                                                                  \
		double a_ = (a), b_ = (b);                                    \
		if (!(fabs(a_ - b_) <= (tol))) {                              \
			fprintf(stderr, "%s:%d: %s = %.12g, expected %.12g\n", \
				__FILE__, __LINE__, #a, a_, b_);              \
			return 1;                                             \
		}                                                             \
	} while (0)

#define CHECK_HAS(text, sub)                                                  \
	do {                                                                  \
		if (!strstr((text), (sub))) {                                 \
			fprintf(stderr,                                       \
				"%s:%d: \"%s\" not found in:\n%s\n",          \
				__FILE__, __LINE__, (sub), (text));           \
			return 1;                                             \
		}                                                             \
	} while (0)

/*
 * Allocation failure injection: the test program is linked with
 * --wrap=malloc,calloc,realloc,strdup (tests/results/CMakeLists.txt), so
 * every allocation of the results code (and of this file) goes through
 * these. With alloc_fail_at = N > 0 the Nth allocation from alloc_count =
 * 0 fails (returns NULL); the others succeed. Children (fork) are left
 * alone: a coverage build's fork and exec wrappers allocate there.
 */
static long alloc_fail_at, alloc_count;
static pid_t alloc_pid; /* only this process (not a child of fork) fails */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
static int alloc_fails(void)
{
	return alloc_fail_at > 0 && getpid() == alloc_pid &&
	       ++alloc_count == alloc_fail_at;
}
void *__wrap_malloc(size_t n)
{
	return alloc_fails() ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
	return alloc_fails() ? NULL : __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
	return alloc_fails() ? NULL : __real_realloc(p, n);
}
char *__wrap_strdup(const char *s)
{
	return alloc_fails() ? NULL : __real_strdup(s);
}

/* t(0.975, 2): the 95% two-sided Student t quantile for 3 replications. */
#define T975_2 4.302652729749464

static char tmpdir[256];
static const char *self_exe;

/* A path inside this test's private directory. */
static const char *tpath(const char *name)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
	return buf[k];
}

static int write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(data, 1, n, f);
	return fclose(f) == 0 && w == n ? 0 : -1;
}

/* Integer result of a query on a database file (-999999 on error). */
static int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *sq = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -999999;
	if (sqlite3_open_v2(path, &sq, SQLITE_OPEN_READONLY, NULL) ==
		    SQLITE_OK &&
	    sqlite3_prepare_v2(sq, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(sq);
	return v;
}

static int sql_exec(const char *path, const char *sql)
{
	sqlite3 *sq = NULL;
	int rc = sqlite3_open(path, &sq) == SQLITE_OK &&
				 sqlite3_exec(sq, sql, NULL, NULL, NULL) ==
					 SQLITE_OK
			 ? 0
			 : -1;
	sqlite3_close(sq);
	return rc;
}

/* json_valid / json_extract through SQLite's JSON functions. */

/*
 * Run sql (one row, parameters json and, unless NULL, path) on an
 * in-memory SQLite: 1 with *st on its row, 0 if it gave none. Either way
 * the caller ends with jdone(*sq, *st).
 */
static int jquery(sqlite3 **sq, sqlite3_stmt **st, const char *sql,
		  const char *json, const char *path)
{
	*sq = NULL;
	*st = NULL;
	sqlite3_open(":memory:", sq);
	if (sqlite3_prepare_v2(*sq, sql, -1, st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(*st, 1, json, -1, SQLITE_STATIC);
	if (path)
		sqlite3_bind_text(*st, 2, path, -1, SQLITE_STATIC);
	return sqlite3_step(*st) == SQLITE_ROW;
}

static void jdone(sqlite3 *sq, sqlite3_stmt *st)
{
	sqlite3_finalize(st);
	sqlite3_close(sq);
}

static int json_valid(const char *json)
{
	sqlite3 *sq;
	sqlite3_stmt *st;
	int ok = 0;
	if (jquery(&sq, &st, "SELECT json_valid(?)", json, NULL))
		ok = sqlite3_column_int(st, 0);
	jdone(sq, st);
	return ok;
}

/* Numeric value at a JSON path; NaN if absent or null. */
static double jnum(const char *json, const char *path)
{
	sqlite3 *sq;
	sqlite3_stmt *st;
	double v = NAN;
	if (jquery(&sq, &st, "SELECT json_extract(?, ?)", json, path) &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_double(st, 0);
	jdone(sq, st);
	return v;
}

/* String at a JSON path into buf ("" if absent). */
static const char *jstr(const char *json, const char *path, char *buf,
			size_t cap)
{
	sqlite3 *sq;
	sqlite3_stmt *st;
	buf[0] = 0;
	if (jquery(&sq, &st, "SELECT json_extract(?, ?)", json, path) &&
	    sqlite3_column_text(st, 0))
		snprintf(buf, cap, "%s", sqlite3_column_text(st, 0));
	jdone(sq, st);
	return buf;
}

/* Run ukf_report into a malloc'ed string; returns its rc. */
static int report_str(const char *path, int json, char **text, char *err,
		      size_t errlen)
{
	size_t n = 0;
	FILE *f = open_memstream(text, &n);
	if (!f)
		return -2;
	err[0] = 0;
	int rc = ukf_report(path, json, f, err, errlen);
	fclose(f);
	return rc;
}

static struct ukf_run_info run_info(const char *config, uint64_t seed,
				    uint32_t rep)
{
	struct ukf_run_info ri = {
		.kind = "scenario",
		.scenario = "scripts/examples/test.lua",
		.scenario_hash = "0123456789abcdef0123",
		.config = config,
		.settings_json = "{\"nodes\":2}",
		.seed = seed,
		.rep = rep,
		.backend = "sim",
		.version = UKF_VERSION,
		.started_unix_ns = 1700000000000000000LL,
	};
	return ri;
}

static struct ukf_record record(ukf_id_t id, enum ukf_start start,
				double latency_ms)
{
	struct ukf_record r = {
		.id = id,
		.parent = 0,
		.app = 1,
		.app_name = "web",
		.origin = 0,
		.node = 0,
		.start = start,
		.t_request = 1000 * UKF_MS,
		.t_placed = 1000 * UKF_MS + 10,
		.t_start = 1000 * UKF_MS + 20,
		.t_ready = 1000 * UKF_MS + (ukf_ns_t)llround(latency_ms * 1e6),
		.t_exit = 2000 * UKF_MS,
		.status = 0,
	};
	return r;
}

/* ---- statistics ---- */

static int t_stats_quantile(void)
{
	double x[] = {10, 20, 30, 40, 50};
	CHECK_NEAR(ukf_stats_quantile(x, 5, 0.0), 10, 0);
	CHECK_NEAR(ukf_stats_quantile(x, 5, 0.2), 10, 0);
	CHECK_NEAR(ukf_stats_quantile(x, 5, 0.21), 20, 0);
	CHECK_NEAR(ukf_stats_quantile(x, 5, 0.5), 30, 0);
	CHECK_NEAR(ukf_stats_quantile(x, 5, 0.95), 50, 0);
	CHECK_NEAR(ukf_stats_quantile(x, 5, 1.0), 50, 0);
	CHECK_NEAR(ukf_stats_quantile(x, 4, 0.5), 20, 0); /* lower middle */
	CHECK_NEAR(ukf_stats_quantile(x, 1, 0.95), 10, 0);
	CHECK(isnan(ukf_stats_quantile(x, 0, 0.5)));
	CHECK(isnan(ukf_stats_quantile(x, 5, 1.5)));
	CHECK(isnan(ukf_stats_quantile(x, 5, NAN)));
	/* 0.07 * 100 is 7.000000000000001 in binary: still rank 7. */
	double h[100];
	for (int i = 0; i < 100; i++)
		h[i] = i + 1;
	CHECK_NEAR(ukf_stats_quantile(h, 100, 0.07), 7, 0);
	CHECK_NEAR(ukf_stats_quantile(h, 100, 0.95), 95, 0);
	CHECK_NEAR(ukf_stats_quantile(h, 100, 0.99), 99, 0);
	/* The definition, on arbitrary data with ties: q is the smallest
	 * value with at least p*n values <= q. */
	double y[97];
	unsigned s = 12345;
	for (int i = 0; i < 97; i++) {
		s = s * 1103515245u + 12345u;
		y[i] = (double)((s >> 8) % 50);
	}
	ukf_stats_sort(y, 97);
	for (int i = 1; i < 97; i++)
		CHECK(y[i - 1] <= y[i]);
	for (int pc = 1; pc <= 100; pc++) {
		double p = pc / 100.0, q = ukf_stats_quantile(y, 97, p);
		int le = 0, lt = 0;
		for (int i = 0; i < 97; i++) {
			le += y[i] <= q;
			lt += y[i] < q;
		}
		CHECK(le >= p * 97 - 1e-9);
		CHECK(lt < p * 97 - 1e-9);
	}
	return 0;
}

static int t_stats_mean_ci(void)
{
	struct ukf_ci ci;
	double x[] = {30, 33, 36};
	ukf_stats_mean_ci(x, 3, 0.95, &ci);
	CHECK(ci.n == 3);
	CHECK_NEAR(ci.mean, 33, 1e-12);
	CHECK_NEAR(ci.hi - ci.mean, T975_2 * 3 / sqrt(3), 1e-9);
	CHECK_NEAR(ci.mean - ci.lo, T975_2 * 3 / sqrt(3), 1e-9);
	/* NaN values are skipped, one value has no interval. */
	double y[] = {NAN, 7, NAN};
	ukf_stats_mean_ci(y, 3, 0.95, &ci);
	CHECK(ci.n == 1);
	CHECK_NEAR(ci.mean, 7, 0);
	CHECK(isnan(ci.lo) && isnan(ci.hi));
	ukf_stats_mean_ci(y, 0, 0.95, &ci);
	CHECK(ci.n == 0 && isnan(ci.mean));
	/* Identical values: zero-width interval. */
	double z[] = {5, 5, 5, 5};
	ukf_stats_mean_ci(z, 4, 0.95, &ci);
	CHECK_NEAR(ci.lo, 5, 1e-12);
	CHECK_NEAR(ci.hi, 5, 1e-12);
	return 0;
}

static int t_stats_quantile_ci(void)
{
	struct ukf_ci ci;
	double x[100];
	for (int i = 0; i < 100; i++)
		x[i] = i + 1; /* x(k) = k */
	/* n = 100, median: the textbook ranks 40 and 61 (coverage 0.965). */
	ukf_stats_quantile_ci(x, 100, 0.5, 0.95, &ci);
	CHECK_NEAR(ci.mean, 50, 1e-12);
	CHECK_NEAR(ci.lo, 40, 0);
	CHECK_NEAR(ci.hi, 61, 0);
	/* n = 5: no distribution-free 95% interval for the median. */
	ukf_stats_quantile_ci(x, 5, 0.5, 0.95, &ci);
	CHECK(isnan(ci.lo) && isnan(ci.hi));
	/* n = 6: the whole sample, [x(1), x(6)], coverage 31/32. */
	ukf_stats_quantile_ci(x, 6, 0.5, 0.95, &ci);
	CHECK_NEAR(ci.lo, 1, 0);
	CHECK_NEAR(ci.hi, 6, 0);
	/* p99 of 100 values: no upper bound within the sample. */
	ukf_stats_quantile_ci(x, 100, 0.99, 0.95, &ci);
	CHECK(isnan(ci.hi));
	CHECK(ci.lo >= 90 && ci.lo <= 99);
	/* Coverage really is at least 95% by the binomial formula. */
	ukf_stats_quantile_ci(x, 100, 0.95, 0.95, &ci);
	CHECK(ci.lo < 95.95 && ci.hi > 95.05);
	return 0;
}

/* ---- writing ---- */

static int t_roundtrip(void)
{
	char err[512];
	const char *path = tpath("rt.db");
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	struct ukf_run_info ri = run_info("placement=random", UINT64_MAX, 7);
	int64_t run = ukf_db_run_begin(db, &ri);
	CHECK(run > 0);
	struct ukf_record r = record(42, UKF_START_FORK, 3.5);
	r.parent = 41;
	r.origin = 3;
	r.node = 5;
	r.remote = 1;
	r.template_fetched = 1;
	r.delta_bytes = 1ULL << 40;
	r.dirty_pages = 256;
	CHECK(ukf_db_instance(db, run, &r) == 0);
	struct ukf_record f = record(43, UKF_START_UNKNOWN, 0);
	f.node = UKF_NODE_NONE;
	f.t_ready = UKF_NS_NEVER;
	f.t_start = UKF_NS_NEVER;
	f.status = UKF_STATUS_FAILED;
	f.fail_reason = "no capacity";
	f.app_name = NULL;
	CHECK(ukf_db_instance(db, run, &f) == 0);
	struct ukf_db_sample s = {.t = 5 * UKF_MS,
				  .node = 1,
				  .instances = 3,
				  .vcpus_used = 2,
				  .mem_used = 64ULL << 20,
				  .cache_used = 4ULL << 30,
				  .templates = "web,db"};
	CHECK(ukf_db_sample(db, run, &s) == 0);
	CHECK(ukf_db_run_commit(db, run, 1.25, 12345, 99 * UKF_S) == 0);
	ukf_db_close(&db);
	CHECK(db == NULL);

	CHECK(sql_int(path, "SELECT count(*) FROM runs") == 1);
	CHECK(sql_int(path, "SELECT seed = -1 AND rep = 7 AND events = 12345 "
			    "AND sim_end_ns = 99000000000 AND wall_s = 1.25 "
			    "AND kind = 'scenario' AND config = "
			    "'placement=random' AND backend = 'sim' AND "
			    "settings_json = '{\"nodes\":2}' AND "
			    "scenario_hash = '0123456789abcdef0123' AND "
			    "started_unix_ns = 1700000000000000000 AND "
			    "version = '" UKF_VERSION "' FROM runs") == 1);
	CHECK(sql_int(path,
		      "SELECT parent = 41 AND app = 'web' AND app_id = 1 AND "
		      "origin = 3 AND node = 5 AND start = 'fork' AND "
		      "start_code = 2 AND remote = 1 AND template_fetched = 1 "
		      "AND template_made = 0 AND delta_bytes = 1099511627776 "
		      "AND dirty_pages = 256 AND t_request = 1000000000 AND "
		      "t_placed = 1000000010 AND t_start = 1000000020 AND "
		      "t_ready = 1003500000 AND t_exit = 2000000000 AND "
		      "status = 0 AND fail_reason IS NULL "
		      "FROM instances WHERE id = 42") == 1);
	CHECK(sql_int(path, "SELECT node IS NULL AND t_ready IS NULL AND "
			    "t_start IS NULL AND start = 'unknown' AND "
			    "start_code = 3 AND status = -1000 AND "
			    "fail_reason = 'no capacity' AND app IS NULL "
			    "FROM instances WHERE id = 43") == 1);
	CHECK(sql_int(path, "SELECT t = 5000000 AND node = 1 AND instances = 3 "
			    "AND vcpus_used = 2 AND mem_used = 67108864 AND "
			    "cache_used = 4294967296 AND templates = 'web,db' "
			    "FROM samples") == 1);
	CHECK(sql_int(path, "PRAGMA journal_mode") != -999999);

	/* Reopen the same file: a second run is appended. */
	db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	struct ukf_run_info bi = {.kind = "bootbench",
				  .scenario = "qemu -kernel hello",
				  .backend = "external"};
	run = ukf_db_run_begin(db, &bi);
	CHECK(run > 1);
	struct ukf_db_boot b = {.index = 3,
				.t_launch = 10,
				.t_first_output = 20,
				.t_marker = 30,
				.t_exit = -1,
				.status = -1,
				.ok = 1,
				.cpu_s = 0.5,
				.peak_rss_bytes = 1 << 20,
				.mode = "external",
				.last_output = "UKF-READY\n"};
	CHECK(ukf_db_boot(db, run, &b) == 0);
	CHECK(ukf_db_run_commit(db, run, 0.1, 0, UKF_NS_NEVER) == 0);
	ukf_db_close(&db);
	CHECK(sql_int(path, "SELECT count(*) FROM runs") == 2);
	CHECK(sql_int(path, "SELECT idx = 3 AND t_launch = 10 AND "
			    "t_first_output = 20 AND t_marker = 30 AND "
			    "t_exit IS NULL AND status = -1 AND ok = 1 AND "
			    "cpu_s = 0.5 AND peak_rss_bytes = 1048576 AND "
			    "mode = 'external' AND last_output = "
			    "'UKF-READY' || char(10) FROM boots") == 1);
	CHECK(sql_int(path, "SELECT sim_end_ns IS NULL FROM runs WHERE "
			    "kind = 'bootbench'") == 1);
	/* The file is versioned. */
	CHECK(sql_int(path, "SELECT value FROM meta WHERE key = "
			    "'schema_version'") == 1);
	return 0;
}

/* One committed run of ri holding instance r: 0, or 1 (a failed check). */
static int one_run(ukf_db_t *db, const struct ukf_run_info *ri,
		   const struct ukf_record *r)
{
	int64_t run = ukf_db_run_begin(db, ri);
	CHECK(run > 0);
	CHECK(ukf_db_instance(db, run, r) == 0);
	CHECK(ukf_db_run_commit(db, run, 0, 0, 0) == 0);
	return 0;
}

/* Outage rows: the five kinds stored with time, node and reason; any
 * other kind refused by name, nothing stored for it. */
static int t_outages(void)
{
	char err[512];
	const char *path = tpath("outages.db");
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	struct ukf_run_info ri = run_info("a", 1, 0);
	int64_t run = ukf_db_run_begin(db, &ri);
	CHECK(run > 0);
	CHECK(ukf_db_outage(db, run, 5, 2, "node-fail", "churn") == 0);
	CHECK(ukf_db_outage(db, run, 6, 2, "node-detect", NULL) == 0);
	CHECK(ukf_db_outage(db, run, 7, 2, "node-recover", NULL) == 0);
	CHECK(ukf_db_outage(db, run, 8, 1, "link-fail", "port") == 0);
	CHECK(ukf_db_outage(db, run, 9, 1, "link-recover", NULL) == 0);
	CHECK(ukf_db_outage(db, run, 10, 1, "node-exploded", "x") < 0);
	CHECK(strstr(ukf_db_error(db), "unknown outage kind 'node-exploded'"));
	CHECK(ukf_db_outage(db, run, 10, 1, NULL, "x") < 0);
	CHECK(ukf_db_outage(db, run + 1, 10, 1, "node-fail", "x") < 0);
	CHECK(ukf_db_run_commit(db, run, 0.1, 1, 10) == 0);
	ukf_db_close(&db);
	CHECK(sql_int(path, "SELECT count(*) FROM outages") == 5);
	CHECK(sql_int(path, "SELECT sum(t * node) FROM outages") ==
	      5 * 2 + 6 * 2 + 7 * 2 + 8 + 9);
	CHECK(sql_int(path, "SELECT count(*) FROM outages WHERE kind = "
			    "'node-fail' AND reason = 'churn'") == 1);
	CHECK(sql_int(path, "SELECT count(*) FROM outages WHERE reason IS "
			    "NULL") == 3);
	return 0;
}

static int t_abort_leaves_nothing(void)
{
	char err[512];
	const char *path = tpath("abort.db");
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	struct ukf_run_info ri = run_info("a", 1, 0);
	int64_t run = ukf_db_run_begin(db, &ri);
	CHECK(run > 0);
	for (ukf_id_t i = 1; i <= 1000; i++) {
		struct ukf_record r = record(i, UKF_START_COLD, 1);
		CHECK(ukf_db_instance(db, run, &r) == 0);
	}
	struct ukf_db_sample s = {.t = 1};
	CHECK(ukf_db_sample(db, run, &s) == 0);
	ukf_db_run_abort(db, run);
	CHECK(sql_int(path, "SELECT count(*) FROM runs") == 0);
	CHECK(sql_int(path, "SELECT count(*) FROM instances") == 0);
	CHECK(sql_int(path, "SELECT count(*) FROM samples") == 0);
	/* Writing after the abort works; the old run id is gone. */
	CHECK(ukf_db_instance(db, run, &(struct ukf_record){.id = 1}) < 0);
	struct ukf_record r = record(1, UKF_START_COLD, 1);
	CHECK(one_run(db, &ri, &r) == 0);
	/* Closing with a run open drops it too. */
	int64_t open_run = ukf_db_run_begin(db, &ri);
	CHECK(open_run > 0);
	CHECK(ukf_db_instance(db, open_run, &r) == 0);
	ukf_db_close(&db);
	CHECK(sql_int(path, "SELECT count(*) FROM runs") == 1);
	CHECK(sql_int(path, "SELECT count(*) FROM instances") == 1);
	/* A failed write leaves the run open for the caller to abort. */
	db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	run = ukf_db_run_begin(db, &ri);
	CHECK(ukf_db_instance(db, run, &r) == 0);
	CHECK(ukf_db_instance(db, run, NULL) < 0);
	CHECK(ukf_db_instance(db, run, &r) == 0);
	ukf_db_run_abort(db, run);
	ukf_db_close(&db);
	CHECK(sql_int(path, "SELECT count(*) FROM instances") == 1);
	CHECK(sql_int(path, "SELECT count(*) FROM runs") == 1);
	return 0;
}

static int t_crash_leaves_nothing(void)
{
	char err[512];
	const char *path = tpath("crash.db");
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	struct ukf_run_info ri = run_info("a", 1, 0);
	struct ukf_record r = record(1, UKF_START_COLD, 1);
	CHECK(one_run(db, &ri, &r) == 0);
	ukf_db_close(&db);

	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* A writer killed in the middle of a big run. */
		ukf_db_t *c = ukf_db_open(path, err, sizeof err);
		if (!c)
			_exit(3);
		int64_t cr = ukf_db_run_begin(c, &ri);
		for (ukf_id_t i = 1; i <= 200000; i++) {
			struct ukf_record x = record(i, UKF_START_COLD, 1);
			if (ukf_db_instance(c, cr, &x) < 0)
				_exit(4);
		}
		raise(SIGKILL);
		_exit(5);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	CHECK(sql_int(path, "SELECT count(*) FROM runs") == 1);
	CHECK(sql_int(path, "SELECT count(*) FROM instances") == 1);
	CHECK(sql_int(path, "PRAGMA integrity_check") != -999999);
	/* The file stays usable for the next run. */
	db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	CHECK(one_run(db, &ri, &r) == 0);
	ukf_db_close(&db);
	CHECK(sql_int(path, "SELECT count(*) FROM runs") == 2);
	return 0;
}

/*
 * The reader side of reader_while_writing, in its own process (exec'ed):
 * `--reader DB RUNS`: the report must see exactly RUNS runs, at once.
 */
static int reader_main(const char *path, long runs)
{
	char err[512], *text = NULL;
	int rc = report_str(path, 1, &text, err, sizeof err);
	if (rc != 0) {
		fprintf(stderr, "reader: %s\n", err);
		return 10;
	}
	if (!json_valid(text) || jnum(text, "$.runs") != (double)runs) {
		fprintf(stderr, "reader: expected %ld runs:\n%s\n", runs, text);
		return 11;
	}
	free(text);
	return 0;
}

static int run_reader(const char *path, long runs)
{
	char n[32];
	snprintf(n, sizeof n, "%ld", runs);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl(self_exe, self_exe, "--reader", path, n, (char *)NULL);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int t_reader_while_writing(void)
{
	char err[512];
	const char *path = tpath("wal.db");
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	struct ukf_run_info ri = run_info("a", 1, 0);
	struct ukf_record r = record(1, UKF_START_COLD, 1);
	CHECK(one_run(db, &ri, &r) == 0);

	/* A second run is being written: the reader sees the first only. */
	int64_t run = ukf_db_run_begin(db, &ri);
	CHECK(run > 0);
	for (ukf_id_t i = 1; i <= 50000; i++) {
		struct ukf_record x = record(i, UKF_START_COLD, 2);
		CHECK(ukf_db_instance(db, run, &x) == 0);
	}
	CHECK(run_reader(path, 1) == 0);
	/* The writer carries on after the reader. */
	struct ukf_record x = record(50001, UKF_START_COLD, 2);
	CHECK(ukf_db_instance(db, run, &x) == 0);
	CHECK(ukf_db_run_commit(db, run, 0, 0, 0) == 0);
	CHECK(run_reader(path, 2) == 0);
	ukf_db_close(&db);
	CHECK(sql_int(path, "PRAGMA journal_mode") != -999999);
	sqlite3 *sq;
	sqlite3_open(path, &sq);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(sq, "PRAGMA journal_mode", -1, &st, NULL);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHECK(!strcmp((const char *)sqlite3_column_text(st, 0), "wal"));
	sqlite3_finalize(st);
	sqlite3_close(sq);
	return 0;
}

/*
 * The second writer of two_writers_take_turns (exec'ed): `--writer DB FD`.
 * Opening does not wait for the other process's run; it says so on FD,
 * then its run begins once the other run is committed.
 */
static int writer_main(const char *path, int fd)
{
	char err[512];
	ukf_db_t *c = ukf_db_open(path, err, sizeof err);
	if (!c) {
		fprintf(stderr, "writer: %s\n", err);
		return 3;
	}
	if (write(fd, "o", 1) != 1)
		return 4;
	close(fd);
	struct ukf_run_info ci = run_info("b", 1, 0);
	int64_t cr = ukf_db_run_begin(c, &ci);
	struct ukf_record x = record(1, UKF_START_COLD, 1);
	if (cr <= 0 || ukf_db_instance(c, cr, &x) < 0 ||
	    ukf_db_run_commit(c, cr, 0, 0, 0) < 0) {
		fprintf(stderr, "writer: %s\n", ukf_db_error(c));
		return 5;
	}
	ukf_db_close(&c);
	return 0;
}

/*
 * Wait until process pid sleeps in nanosleep/clock_nanosleep (read from
 * /proc/PID/syscall): for the writer below, the only sleep after it said
 * "o" is SQLite's busy handler inside ukf_db_run_begin, retrying the
 * write lock this process holds. 1 once seen; 0 if pid ended or 60 s
 * passed without it; -1 if /proc/PID/syscall cannot be read here.
 */
static int wait_sleeping_on_lock(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
	for (int i = 0; i < 60000; i++) {
		FILE *f = fopen(path, "r");
		char line[256] = "";
		long nr = -1;
		if (!f)
			return -1;
		int got = fgets(line, sizeof line, f) != NULL;
		fclose(f);
		if (!got)
			return -1;
		/* "running" while on a CPU: look again */
		if (strncmp(line, "running", 7) && sscanf(line, "%ld", &nr) != 1)
			return -1;
#ifdef SYS_nanosleep
		if (nr == SYS_nanosleep)
			return 1;
#endif
		if (nr == SYS_clock_nanosleep)
			return 1;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return 0;
		usleep(1000);
	}
	return 0;
}

/*
 * Two processes writing one file take turns, run by run: the second
 * writer's ukf_db_run_begin waits for the first's commit instead of
 * failing. Contention is proven, not hoped for: this process keeps its run
 * open until the other is seen sleeping in SQLite's busy handler (it
 * retries the lock this run holds); a slow second process only delays the
 * test. Where /proc/PID/syscall cannot be read the test skips, saying so.
 */
static int t_two_writers_take_turns(void)
{
	char err[512];
	const char *path = tpath("turns.db");
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	struct ukf_run_info ri = run_info("a", 1, 0);
	int64_t run = ukf_db_run_begin(db, &ri);
	CHECK(run > 0);
	int fds[2];
	CHECK(pipe(fds) == 0);
	/* The writer is a fresh process: a child that inherited this one's
	 * SQLite state across fork() would inherit its locks too. */
	char fdarg[16];
	snprintf(fdarg, sizeof fdarg, "%d", fds[1]);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		execl(self_exe, self_exe, "--writer", path, fdarg, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char ch;
	CHECK(read(fds[0], &ch, 1) == 1);
	close(fds[0]);
	int waiting = wait_sleeping_on_lock(pid);
	if (waiting < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ukf_db_close(&db);
		fprintf(stderr, "SKIP: cannot read /proc/%d/syscall to see the "
				"second writer wait: contention not tested\n",
			(int)pid);
		return SKIP;
	}
	/* The other writer must be blocked on this run's lock by now. */
	CHECK(waiting == 1);
	for (ukf_id_t i = 1; i <= 1000; i++) {
		struct ukf_record x = record(i, UKF_START_COLD, 1);
		CHECK(ukf_db_instance(db, run, &x) == 0);
	}
	CHECK(ukf_db_run_commit(db, run, 0, 0, 0) == 0);
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ukf_db_close(&db);
	CHECK(sql_int(path, "SELECT count(*) FROM runs") == 2);
	CHECK(sql_int(path, "SELECT count(*) FROM instances WHERE run = 1") ==
	      1000);
	CHECK(sql_int(path, "SELECT count(*) FROM instances WHERE run = 2") ==
	      1);
	return 0;
}

static int t_one_run_at_a_time(void)
{
	char err[512];
	ukf_db_t *db = ukf_db_open(tpath("one.db"), err, sizeof err);
	CHECK(db);
	struct ukf_run_info ri = run_info("a", 1, 0);
	struct ukf_record r = record(1, UKF_START_COLD, 1);
	/* No run open yet. */
	CHECK(ukf_db_instance(db, 1, &r) < 0);
	CHECK_HAS(ukf_db_error(db), "no run is open");
	CHECK(ukf_db_run_commit(db, 1, 0, 0, 0) < 0);
	int64_t run = ukf_db_run_begin(db, &ri);
	CHECK(run > 0);
	CHECK(ukf_db_run_begin(db, &ri) < 0);
	CHECK_HAS(ukf_db_error(db), "still open");
	CHECK(ukf_db_instance(db, run + 1, &r) < 0);
	CHECK_HAS(ukf_db_error(db), "not the open run");
	ukf_db_run_abort(db, run + 1); /* not the open run: ignored */
	CHECK(ukf_db_instance(db, run, &r) == 0);
	CHECK(ukf_db_run_commit(db, run, 0, 0, 0) == 0);
	ukf_db_close(&db);
	CHECK(sql_int(tpath("one.db"), "SELECT count(*) FROM instances") == 1);
	return 0;
}

static int t_bad_inputs_api(void)
{
	char err[512];
	err[0] = 0;
	CHECK(ukf_db_open(NULL, err, sizeof err) == NULL);
	CHECK_HAS(err, "no database path");
	CHECK(ukf_db_open(tmpdir, err, sizeof err) == NULL);
	CHECK_HAS(err, "not a regular file");
	CHECK(ukf_db_open(tpath("no/such/dir.db"), err, sizeof err) == NULL);
	CHECK_HAS(err, "cannot open");
	const char *txt = tpath("text.db");
	char junk[4096];
	memset(junk, 'x', sizeof junk);
	CHECK(write_file(txt, junk, sizeof junk) == 0);
	CHECK(ukf_db_open(txt, err, sizeof err) == NULL);
	CHECK_HAS(err, "not a SQLite database");
	/* A foreign SQLite file is refused and left untouched. */
	const char *foreign = tpath("foreign.db");
	CHECK(sql_exec(foreign, "CREATE TABLE t(x); INSERT INTO t VALUES(1)") ==
	      0);
	CHECK(ukf_db_open(foreign, err, sizeof err) == NULL);
	CHECK_HAS(err, "not a ukfork results database");
	CHECK(sql_int(foreign, "SELECT count(*) FROM sqlite_schema") == 1);
	CHECK(access(tpath("foreign.db-wal"), F_OK) != 0);
	/* Bad run descriptions. */
	ukf_db_t *db = ukf_db_open(tpath("bad.db"), err, sizeof err);
	CHECK(db);
	CHECK(ukf_db_run_begin(db, NULL) < 0);
	CHECK_HAS(ukf_db_error(db), "without a kind");
	struct ukf_run_info ri = run_info("a", 1, 0);
	ri.kind = "weird";
	CHECK(ukf_db_run_begin(db, &ri) < 0);
	CHECK_HAS(ukf_db_error(db), "unknown run kind 'weird'");
	ri = run_info("a", 1, 0);
	ri.settings_json = "{nodes: 2";
	CHECK(ukf_db_run_begin(db, &ri) < 0);
	CHECK_HAS(ukf_db_error(db), "CHECK constraint");
	/* Still usable after the refusals. */
	ri = run_info("a", 1, 0);
	int64_t run = ukf_db_run_begin(db, &ri);
	CHECK(run > 0);
	CHECK(ukf_db_instance(db, run, NULL) < 0);
	CHECK(ukf_db_sample(db, run, NULL) < 0);
	CHECK(ukf_db_boot(db, run, NULL) < 0);
	CHECK(ukf_db_run_commit(db, run, 0, 0, 0) == 0);
	ukf_db_close(&db);
	ukf_db_close(&db); /* closing twice is harmless */
	ukf_db_close(NULL);
	CHECK(!strcmp(ukf_db_error(NULL), "no database"));
	CHECK(ukf_db_run_begin(NULL, &ri) < 0);
	return 0;
}

/* ---- report ---- */

/*
 * The hand-made database: configurations A and B, 3 replications each
 * (seeds 1..3, paired), and C with one unpaired run. Run r of A has 5 ready
 * instances with latencies {10,20,30,40,50} + 3r ms (mean 30+3r, p50
 * 30+3r, p95 = p99 = 50+3r by nearest rank), one cold, two template, two
 * forks, one
 * remote, plus one failed instance (never ready: t_ready NEVER, or 0 as
 * the engine leaves it for unplaced requests); memory samples average
 * 200+10r MiB.
 * B is A with the largest latency raised by k = {5, 10, 30}: paired
 * differences of the mean k/5 = {1, 2, 6}, of p95 k = {5, 10, 30}.
 */
static int make_known_db(const char *path)
{
	char err[512];
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	if (!db)
		return -1;
	const double k[3] = {5, 10, 30};
	const char *cfg[3] = {"placement=A", "placement=B", "placement=C"};
	for (int c = 0; c < 3; c++) {
		for (int rep = 0; rep < (c == 2 ? 1 : 3); rep++) {
			struct ukf_run_info ri =
				run_info(cfg[c], c == 2 ? 7 : rep + 1, rep);
			int64_t run = ukf_db_run_begin(db, &ri);
			if (run < 0)
				return -1;
			const enum ukf_start st[5] = {
				UKF_START_COLD, UKF_START_TEMPLATE,
				UKF_START_TEMPLATE, UKF_START_FORK,
				UKF_START_FORK};
			for (int i = 0; i < 5; i++) {
				double lat = 10.0 * (i + 1) + 3 * rep;
				if (c == 1 && i == 4)
					lat += k[rep];
				struct ukf_record r =
					record(i + 1, st[i], lat);
				r.remote = i == 3;
				r.parent = i >= 3 ? 1 : 0;
				if (ukf_db_instance(db, run, &r) < 0)
					return -1;
			}
			struct ukf_record f = record(6, UKF_START_UNKNOWN, 0);
			f.t_ready = UKF_NS_NEVER;
			f.status = UKF_STATUS_FAILED;
			f.fail_reason = "no capacity";
			if (rep == 1) {
				/* As the engine writes unplaced requests. */
				f.t_ready = f.t_start = f.t_placed = 0;
				f.node = UKF_NODE_NONE;
			}
			if (ukf_db_instance(db, run, &f) < 0)
				return -1;
			for (int t = 0; t < 2; t++) {
				uint64_t mib = 1 << 20;
				struct ukf_db_sample s0 = {
					.t = t * UKF_S,
					.node = 0,
					.mem_used = (uint64_t)(t ? 200 : 100) *
							    mib +
						    10 * rep * mib};
				struct ukf_db_sample s1 = {.t = t * UKF_S,
							   .node = 1,
							   .mem_used =
								   50 * mib};
				if (ukf_db_sample(db, run, &s0) < 0 ||
				    ukf_db_sample(db, run, &s1) < 0)
					return -1;
			}
			if (ukf_db_run_commit(db, run, 0.5, 100, UKF_S) < 0)
				return -1;
		}
	}
	ukf_db_close(&db);
	return 0;
}

static int t_report_known_values(void)
{
	char err[512], *j = NULL;
	const char *path = tpath("known.db");
	CHECK(make_known_db(path) == 0);
	CHECK(report_str(path, 1, &j, err, sizeof err) == 0);
	CHECK(json_valid(j));
	double hw3 = T975_2 * 3 / sqrt(3); /* sd of {30,33,36} is 3 */
	CHECK_NEAR(jnum(j, "$.runs"), 7, 0);
	const char *a = "$.scenarios[0].configs[0]";
	char p[256];
#define AT(fmt) (snprintf(p, sizeof p, "%s." fmt, a), p)
	CHECK_NEAR(jnum(j, AT("runs")), 3, 0);
	CHECK_NEAR(jnum(j, AT("requests.mean")), 6, 1e-12);
	CHECK_NEAR(jnum(j, AT("requests.ci95_lo")), 6, 1e-12);
	CHECK_NEAR(jnum(j, AT("latency_mean_ms.mean")), 33, 1e-9);
	CHECK_NEAR(jnum(j, AT("latency_mean_ms.ci95_lo")), 33 - hw3, 1e-6);
	CHECK_NEAR(jnum(j, AT("latency_mean_ms.ci95_hi")), 33 + hw3, 1e-6);
	CHECK_NEAR(jnum(j, AT("latency_p50_ms.mean")), 33, 1e-9);
	CHECK_NEAR(jnum(j, AT("latency_p95_ms.mean")), 53, 1e-9);
	CHECK_NEAR(jnum(j, AT("latency_p95_ms.ci95_hi")), 53 + hw3, 1e-6);
	CHECK_NEAR(jnum(j, AT("latency_p99_ms.mean")), 53, 1e-9);
	CHECK_NEAR(jnum(j, AT("cold_fraction.mean")), 1.0 / 6, 1e-12);
	CHECK_NEAR(jnum(j, AT("template_fraction.mean")), 2.0 / 6, 1e-12);
	CHECK_NEAR(jnum(j, AT("fork_fraction.mean")), 2.0 / 6, 1e-12);
	CHECK_NEAR(jnum(j, AT("remote_fraction.mean")), 1.0 / 6, 1e-12);
	CHECK_NEAR(jnum(j, AT("failures.mean")), 1, 0);
	CHECK_NEAR(jnum(j, AT("mean_memory_mib.mean")), 210, 1e-9);
	CHECK_NEAR(jnum(j, AT("mean_memory_mib.ci95_hi")),
		   210 + T975_2 * 10 / sqrt(3), 1e-6);
	CHECK_NEAR(jnum(j, AT("per_run[1].latency_p95_ms")), 53, 1e-9);
	CHECK_NEAR(jnum(j, AT("per_run[2].seed")), 3, 0);
	/* B: mean latency = 33 + mean(k)/5 = 36. */
	CHECK_NEAR(jnum(j, "$.scenarios[0].configs[1].latency_mean_ms.mean"),
		   36, 1e-9);
	/* Paired differences B - A: {1,2,6} (sd sqrt 7) and {5,10,30} (sd
	 * sqrt 175). */
	const char *d = "$.scenarios[0].comparisons[0]";
	a = d;
	double hwd = T975_2 * sqrt(7) / sqrt(3);
	char s[128];
	CHECK(!strcmp(jstr(j, AT("config"), s, sizeof s), "placement=B"));
	CHECK(!strcmp(jstr(j, AT("baseline"), s, sizeof s), "placement=A"));
	CHECK_NEAR(jnum(j, AT("pairs")), 3, 0);
	CHECK_NEAR(jnum(j, AT("diff_latency_mean_ms.mean")), 3, 1e-9);
	CHECK_NEAR(jnum(j, AT("diff_latency_mean_ms.ci95_lo")), 3 - hwd, 1e-6);
	CHECK_NEAR(jnum(j, AT("diff_latency_mean_ms.ci95_hi")), 3 + hwd, 1e-6);
	CHECK_NEAR(jnum(j, AT("diff_latency_p95_ms.mean")), 15, 1e-9);
	CHECK_NEAR(jnum(j, AT("diff_latency_p95_ms.ci95_hi")),
		   15 + T975_2 * sqrt(175) / sqrt(3), 1e-6);
	/* C shares no seed with A: no pairs, no figures. */
	a = "$.scenarios[0].comparisons[1]";
	CHECK_NEAR(jnum(j, AT("pairs")), 0, 0);
	CHECK(isnan(jnum(j, AT("diff_latency_mean_ms.mean"))));
	/* One run: figures without an interval. */
	a = "$.scenarios[0].configs[2]";
	CHECK_NEAR(jnum(j, AT("latency_mean_ms.mean")), 30, 1e-9);
	CHECK(isnan(jnum(j, AT("latency_mean_ms.ci95_lo"))));
#undef AT
	free(j);
	return 0;
}

/*
 * Runs pair by seed AND rep: in a real sweep every configuration's
 * replication r shares one seed with the others' and differs by rep. Here
 * A and B share seed 42 for all three reps, A's runs are stored in rep
 * order 2, 0, 1 and B's in 0, 1, 2, so pairing by seed alone (first unused
 * run) would pair B's rep 0 with A's rep 2. B is A plus k = {5, 10, 30}
 * on its largest latency: by rep the mean differences are {1, 2, 6} (sd
 * sqrt 7); paired wrongly {-5, 5, 9} (the same mean, another interval).
 * C (seed 42, rep 0) pairs with A's rep 0 although B paired with it before
 * (each comparison starts afresh); D (seed 43, rep 0) pairs with nothing.
 */
static int t_report_pairs_by_rep(void)
{
	char err[512], *j = NULL, s[128];
	const char *path = tpath("reps.db");
	const int order[2][3] = {{2, 0, 1}, {0, 1, 2}};
	const double k[3] = {5, 10, 30};
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);

	CHECK(db != NULL);
	for (int c = 0; c < 4; c++) {
		for (int n = 0; n < (c >= 2 ? 1 : 3); n++) {
			int rep = c >= 2 ? 0 : order[c][n];
			const char *names[4] = {"placement=A", "placement=B",
						"placement=C", "placement=D"};
			struct ukf_run_info ri =
			    run_info(names[c], c == 3 ? 43 : 42, (uint32_t)rep);
			int64_t run = ukf_db_run_begin(db, &ri);
			CHECK(run >= 0);
			for (int i = 0; i < 5; i++) {
				double lat = 10.0 * (i + 1) + 3 * rep;
				if (c == 1 && i == 4)
					lat += k[rep];
				struct ukf_record r =
				    record(i + 1, UKF_START_TEMPLATE, lat);
				CHECK(ukf_db_instance(db, run, &r) == 0);
			}
			CHECK(ukf_db_run_commit(db, run, 0.5, 100, UKF_S) == 0);
		}
	}
	ukf_db_close(&db);
	CHECK(report_str(path, 1, &j, err, sizeof err) == 0);
#define AT(x) (snprintf(s, sizeof s, "%s.%s", d, x), s)
	const char *d = "$.scenarios[0].comparisons[0]";
	double hwd = T975_2 * sqrt(7) / sqrt(3);
	char name[64];
	CHECK(!strcmp(jstr(j, AT("config"), name, sizeof name), "placement=B"));
	CHECK_NEAR(jnum(j, AT("pairs")), 3, 0);
	CHECK_NEAR(jnum(j, AT("diff_latency_mean_ms.mean")), 3, 1e-9);
	CHECK_NEAR(jnum(j, AT("diff_latency_mean_ms.ci95_lo")), 3 - hwd, 1e-6);
	CHECK_NEAR(jnum(j, AT("diff_latency_mean_ms.ci95_hi")), 3 + hwd, 1e-6);
	d = "$.scenarios[0].comparisons[1]";
	CHECK(!strcmp(jstr(j, AT("config"), name, sizeof name), "placement=C"));
	CHECK_NEAR(jnum(j, AT("pairs")), 1, 0);
	d = "$.scenarios[0].comparisons[2]";
	CHECK(!strcmp(jstr(j, AT("config"), name, sizeof name), "placement=D"));
	CHECK_NEAR(jnum(j, AT("pairs")), 0, 0);
#undef AT
	free(j);
	return 0;
}

/*
 * Configurations are told apart by settings too (issue 11 item 2): runs
 * labelled "default" by separate invocations with different settings are
 * two configurations, not duplicates. settings differ only in nodes
 * (2 or 4); seed and rep inside settings_json do not split a
 * configuration. Runs: 1 nodes=2 seed 1 rep 0; 2 nodes=4 seed 1 rep 0;
 * 3 = run 1 again (a true duplicate, skipped); 4 nodes=2 seed 2 rep 1.
 * Expected: "default {nodes=2}" with runs 1 and 4, "default {nodes=4}"
 * with run 2, paired with run 1 (1 pair).
 */
static int t_report_settings_configs(void)
{
	char err[512], *j = NULL, *t = NULL, s[128];
	const char *path = tpath("settings.db");
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	const struct {
		int nodes;
		uint64_t seed;
		uint32_t rep;
		double lat;
	} runs[4] = {{2, 1, 0, 10}, {4, 1, 0, 30}, {2, 1, 0, 10}, {2, 2, 1, 20}};
	for (int i = 0; i < 4; i++) {
		char sj[128];
		snprintf(sj, sizeof sj,
			 "{\"backend\":\"sim\",\"nodes\":%d,\"seed\":%llu,"
			 "\"rep\":%u}",
			 runs[i].nodes, (unsigned long long)runs[i].seed,
			 runs[i].rep);
		struct ukf_run_info ri =
			run_info("default", runs[i].seed, runs[i].rep);
		ri.settings_json = sj;
		struct ukf_record r = record(1, UKF_START_COLD, runs[i].lat);
		CHECK(one_run(db, &ri, &r) == 0);
	}
	ukf_db_close(&db);
	CHECK(report_str(path, 1, &j, err, sizeof err) == 0);
	CHECK(json_valid(j));
	CHECK_NEAR(jnum(j, "$.runs"), 4, 0);
	CHECK(!strcmp(jstr(j, "$.scenarios[0].configs[0].label", s, sizeof s),
		      "default {nodes=2}"));
	CHECK_NEAR(jnum(j, "$.scenarios[0].configs[0].runs"), 2, 0);
	CHECK_NEAR(jnum(j, "$.scenarios[0].configs[0].latency_mean_ms.mean"),
		   15, 1e-9);
	CHECK_NEAR(jnum(j, "$.scenarios[0].configs[0].settings.nodes"), 2, 0);
	CHECK(isnan(jnum(j, "$.scenarios[0].configs[0].settings.seed")));
	CHECK(!strcmp(jstr(j, "$.scenarios[0].configs[1].label", s, sizeof s),
		      "default {nodes=4}"));
	CHECK_NEAR(jnum(j, "$.scenarios[0].configs[1].runs"), 1, 0);
	CHECK_NEAR(jnum(j, "$.scenarios[0].configs[1].latency_mean_ms.mean"),
		   30, 1e-9);
	CHECK(!strcmp(jstr(j, "$.scenarios[0].configs[2].label", s, sizeof s),
		      ""));
	CHECK_NEAR(jnum(j, "$.scenarios[0].comparisons[0].pairs"), 1, 0);
	CHECK_NEAR(jnum(j,
			"$.scenarios[0].comparisons[0].diff_latency_mean_ms.mean"),
		   20, 1e-9);
	free(j);
	CHECK(report_str(path, 0, &t, err, sizeof err) == 0);
	CHECK_HAS(t, "2 configurations");
	CHECK_HAS(t, "default {nodes=2}");
	CHECK_HAS(t, "default {nodes=4}");
	free(t);
	return 0;
}

/* Two cold requests that never became ready: `failed` failed booting,
 * `running` was still starting at the end. 0, or -1. */
static int never_ready(ukf_db_t *db, int64_t run, ukf_id_t failed,
		       ukf_id_t running)
{
	struct ukf_record f = record(failed, UKF_START_COLD, 0);
	f.t_ready = f.t_exit = UKF_NS_NEVER;
	f.status = UKF_STATUS_FAILED;
	f.fail_reason = "boot failed";
	if (ukf_db_instance(db, run, &f))
		return -1;
	f = record(running, UKF_START_COLD, 0);
	f.t_ready = f.t_exit = UKF_NS_NEVER;
	f.status = UKF_STATUS_RUNNING;
	return ukf_db_instance(db, run, &f) ? -1 : 0;
}

/*
 * Outcomes and order-statistic intervals (issue 11 item 8), by hand.
 * Configuration A, run 1 (seed 1, rep 0), 10 requests: 7 completed with
 * latencies 10, 20, .., 70 ms (the 70 ms one killed later: completed, and
 * one of the 3 failures), 2 failed before ready (one unplaced, t_ready =
 * 0; one with t_ready never), 1 unfinished (still starting at the end).
 * Success rate 0.7, failed-before-ready 2 (0.2), unfinished 1 (0.1).
 * Run 2 (seed 2, rep 1): 13 completed, 101..113 ms: success rate 1.
 * Nearest rank p50: run 1 x(4) = 40, run 2 x(7) = 107.
 * Order-statistic 95% intervals [x(l), x(u)], B ~ Binomial(n, p), l the
 * largest rank with P(B <= l-1) <= 0.025, u the smallest with
 * P(B <= u-1) >= 0.975:
 *   n = 7, p = .5: P(B<=0) = 1/128 = .0078, P(B<=1) = 8/128 = .0625,
 *     P(B<=5) = 120/128 = .9375, P(B<=6) = 127/128 = .9922: l = 1, u = 7,
 *     [10, 70].
 *   n = 13, p = .5: P(B<=2) = 92/8192 = .0112, P(B<=3) = 378/8192 = .0461,
 *     P(B<=9) = .9539, P(B<=10) = .9888: l = 3, u = 11: [103, 111].
 *   pooled, n = 20 (10..70 then 101..113), p = .5: P(B<=5) = .0207,
 *     P(B<=6) = .0577, P(B<=13) = .9423, P(B<=14) = .9793: l = 6,
 *     u = 15: [x(6), x(15)] = [60, 108], p50 = x(10) = 103.
 *   pooled, p = .95: p95 = x(19) = 112; P(B<=16) = .0159, P(B<=17) =
 *     .0755: l = 17, x(17) = 110; P(B<=19) = 1 - .95^20 = .6415 < .975:
 *     no upper rank (null).
 * Configuration B, run seed 1 rep 0: 4 requests, 2 completed: success rate
 * 0.5; paired with A's run 1: success-rate difference 0.5 - 0.7 = -0.2.
 */
static int t_report_outcomes(void)
{
	char err[512], *j = NULL, *t = NULL;
	const char *path = tpath("outcomes.db");
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	struct ukf_run_info ri = run_info("A", 1, 0);
	int64_t run = ukf_db_run_begin(db, &ri);
	CHECK(run > 0);
	for (int i = 0; i < 7; i++) {
		struct ukf_record r = record(i + 1, UKF_START_COLD, 10.0 * (i + 1));
		if (i == 6) {
			r.status = UKF_STATUS_FAILED;
			r.fail_reason = "killed";
		}
		CHECK(ukf_db_instance(db, run, &r) == 0);
	}
	struct ukf_record f = record(8, UKF_START_UNKNOWN, 0);
	f.t_ready = f.t_start = f.t_placed = 0;
	f.node = UKF_NODE_NONE;
	f.status = UKF_STATUS_FAILED;
	f.fail_reason = "no capacity";
	CHECK(ukf_db_instance(db, run, &f) == 0);
	CHECK(never_ready(db, run, 9, 10) == 0);
	CHECK(ukf_db_run_commit(db, run, 0.1, 10, UKF_S) == 0);
	ri = run_info("A", 2, 1);
	run = ukf_db_run_begin(db, &ri);
	CHECK(run > 0);
	for (int i = 0; i < 13; i++) {
		struct ukf_record r = record(i + 1, UKF_START_TEMPLATE, 101 + i);
		CHECK(ukf_db_instance(db, run, &r) == 0);
	}
	CHECK(ukf_db_run_commit(db, run, 0.1, 10, UKF_S) == 0);
	ri = run_info("B", 1, 0);
	run = ukf_db_run_begin(db, &ri);
	CHECK(run > 0);
	for (int i = 0; i < 4; i++) {
		struct ukf_record r = record(i + 1, UKF_START_COLD, 5);
		if (i >= 2) {
			r.t_ready = r.t_exit = UKF_NS_NEVER;
			r.status = UKF_STATUS_RUNNING;
		}
		CHECK(ukf_db_instance(db, run, &r) == 0);
	}
	CHECK(ukf_db_run_commit(db, run, 0.1, 10, UKF_S) == 0);
	/* C: a run without requests (counts 0, fractions undefined), then
	 * one with a failed and an unfinished request */
	ri = run_info("C", 1, 0);
	run = ukf_db_run_begin(db, &ri);
	CHECK(run > 0);
	CHECK(ukf_db_run_commit(db, run, 0.1, 10, UKF_S) == 0);
	ri = run_info("C", 2, 1);
	run = ukf_db_run_begin(db, &ri);
	CHECK(run > 0);
	CHECK(never_ready(db, run, 1, 2) == 0);
	CHECK(ukf_db_run_commit(db, run, 0.1, 10, UKF_S) == 0);
	ukf_db_close(&db);

	CHECK(report_str(path, 1, &j, err, sizeof err) == 0);
	const char *r1 = "$.scenarios[0].configs[0].per_run[0]";
	const char *r2 = "$.scenarios[0].configs[0].per_run[1]";
	const char *a = "$.scenarios[0].configs[0]";
	char p[256];
#define AT(base, x) (snprintf(p, sizeof p, "%s.%s", base, x), p)
	CHECK_NEAR(jnum(j, AT(r1, "requests")), 10, 0);
	CHECK_NEAR(jnum(j, AT(r1, "success_rate")), 0.7, 1e-12);
	CHECK_NEAR(jnum(j, AT(r1, "failed_before_ready")), 2, 0);
	CHECK_NEAR(jnum(j, AT(r1, "failed_before_ready_fraction")), 0.2, 1e-12);
	CHECK_NEAR(jnum(j, AT(r1, "unfinished")), 1, 0);
	CHECK_NEAR(jnum(j, AT(r1, "unfinished_fraction")), 0.1, 1e-12);
	CHECK_NEAR(jnum(j, AT(r1, "failures")), 3, 0);
	CHECK_NEAR(jnum(j, AT(r1, "latency_mean_ms")), 40, 1e-9);
	CHECK_NEAR(jnum(j, AT(r1, "latency_p50_ms")), 40, 1e-9);
	CHECK_NEAR(jnum(j, AT(r1, "latency_p50_ci95_ms[0]")), 10, 1e-9);
	CHECK_NEAR(jnum(j, AT(r1, "latency_p50_ci95_ms[1]")), 70, 1e-9);
	CHECK_NEAR(jnum(j, AT(r2, "success_rate")), 1, 0);
	CHECK_NEAR(jnum(j, AT(r2, "unfinished")), 0, 0);
	CHECK_NEAR(jnum(j, AT(r2, "latency_p50_ms")), 107, 1e-9);
	CHECK_NEAR(jnum(j, AT(r2, "latency_p50_ci95_ms[0]")), 103, 1e-9);
	CHECK_NEAR(jnum(j, AT(r2, "latency_p50_ci95_ms[1]")), 111, 1e-9);
	CHECK_NEAR(jnum(j, AT(a, "success_rate.mean")), 0.85, 1e-12);
	CHECK_NEAR(jnum(j, AT(a, "success_rate.ci95_hi")),
		   0.85 + 12.706204736174698 * 0.3 / sqrt(2) / sqrt(2), 1e-6);
	CHECK_NEAR(jnum(j, AT(a, "latency_p50_pooled_ms.mean")), 103, 1e-9);
	CHECK_NEAR(jnum(j, AT(a, "latency_p50_pooled_ms.ci95_lo")), 60, 1e-9);
	CHECK_NEAR(jnum(j, AT(a, "latency_p50_pooled_ms.ci95_hi")), 108, 1e-9);
	CHECK_NEAR(jnum(j, AT(a, "latency_p50_pooled_ms.n")), 20, 0);
	CHECK_NEAR(jnum(j, AT(a, "latency_p95_pooled_ms.mean")), 112, 1e-9);
	CHECK_NEAR(jnum(j, AT(a, "latency_p95_pooled_ms.ci95_lo")), 110, 1e-9);
	CHECK(isnan(jnum(j, AT(a, "latency_p95_pooled_ms.ci95_hi"))));
	const char *c = "$.scenarios[0].comparisons[0]";
	CHECK_NEAR(jnum(j, AT(c, "pairs")), 1, 0);
	CHECK_NEAR(jnum(j, AT(c, "diff_success_rate.mean")), -0.2, 1e-12);
	/* counts of a run without requests are 0 (as its failures), so the
	 * means across runs are over the same runs as the requests' */
	const char *c0 = "$.scenarios[0].configs[2].per_run[0]";
	const char *cc = "$.scenarios[0].configs[2]";
	CHECK_NEAR(jnum(j, AT(c0, "requests")), 0, 0);
	CHECK_NEAR(jnum(j, AT(c0, "failed_before_ready")), 0, 0);
	CHECK_NEAR(jnum(j, AT(c0, "unfinished")), 0, 0);
	CHECK_NEAR(jnum(j, AT(c0, "failures")), 0, 0);
	CHECK(isnan(jnum(j, AT(c0, "success_rate"))));
	CHECK(isnan(jnum(j, AT(c0, "unfinished_fraction"))));
	CHECK_NEAR(jnum(j, AT(cc, "requests.mean")), 1, 0);
	CHECK_NEAR(jnum(j, AT(cc, "failed_before_ready.mean")), 0.5, 0);
	CHECK_NEAR(jnum(j, AT(cc, "failed_before_ready.n")), 2, 0);
	CHECK_NEAR(jnum(j, AT(cc, "unfinished.mean")), 0.5, 0);
	CHECK_NEAR(jnum(j, AT(cc, "failures.mean")), 0.5, 0);
	CHECK_NEAR(jnum(j, AT(cc, "unfinished_fraction.mean")), 0.5, 0);
	CHECK_NEAR(jnum(j, AT(cc, "unfinished_fraction.n")), 1, 0);
#undef AT
	free(j);
	CHECK(report_str(path, 0, &t, err, sizeof err) == 0);
	CHECK_HAS(t, "success rate (ready / requests)");
	CHECK_HAS(t, "latency p50 (ms, completed)");
	CHECK_HAS(t, "103.0 [60.00, 108.0]");
	CHECK_HAS(t, "-0.200");
	free(t);
	return 0;
}

static int make_boot_db(const char *path);

/*
 * A database with a bit of everything the report reads: the known
 * scenario runs, runs told apart by string-valued, numeric and
 * unparsable settings under one label, and the bootbench runs.
 */
static int make_mixed_db(const char *path)
{
	if (make_known_db(path) < 0)
		return -1;
	char err[512];
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	if (!db)
		return -1;
	const char *sj[5] = {"{\"placement\":\"random\",\"nodes\":2}",
			     "{\"placement\":\"least-loaded\",\"nodes\":2}",
			     "[1]", "[2]",
			     "{\"placement\":\"first-fit\",\"nodes\":2}"};
	char longname[400];
	memset(longname, 'L', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	for (int i = 0; i < 7; i++) {
		struct ukf_run_info ri =
			run_info(i < 5 ? "sweep" : longname, 1, 0);
		if (i >= 5)
			ri.settings_json = i == 5 ? "{\"n\":1}" : "{\"n\":2}";
		else
			ri.settings_json = sj[i];
		struct ukf_record r = record(1, UKF_START_COLD, 10 + i);
		if (one_run(db, &ri, &r) < 0)
			return -1;
	}
	ukf_db_close(&db);
	return 0;
}

/*
 * Labels of configurations that share a config label: the settings that
 * differ, a string without quotes; settings that are not JSON objects
 * ("[1]" and "[2]") by position (#N).
 */
static int t_report_labels(void)
{
	char err[512], *j = NULL, s[128];
	const char *path = tpath("labels.db");
	CHECK(make_mixed_db(path) == 0);
	CHECK(report_str(path, 1, &j, err, sizeof err) == 0);
	const char *c = "$.scenarios[0].configs";
	char p[128];
#define L(i) (snprintf(p, sizeof p, "%s[%d].label", c, i), jstr(j, p, s, sizeof s))
	CHECK(!strcmp(L(3), "sweep {placement=random}"));
	CHECK(!strcmp(L(4), "sweep {placement=least-loaded}"));
	CHECK(!strcmp(L(5), "sweep #6"));
	CHECK(!strcmp(L(6), "sweep #7"));
	CHECK(!strcmp(L(7), "sweep {placement=first-fit}"));
	/* a label too long to show whole is cut (255 bytes) */
	char big[300];
	snprintf(p, sizeof p, "%s[8].label", c);
	jstr(j, p, big, sizeof big);
	CHECK(strlen(big) == 255 && big[0] == 'L');
	CHECK(!strcmp(L(0), "placement=A"));
#undef L
	free(j);
	return 0;
}

/*
 * Out of memory anywhere in the report (text, JSON) or in --plot: for
 * each N, the Nth allocation of the results code fails; the call must
 * then fail saying "out of memory" (or succeed, where the allocation
 * only degrades the output) and never crash or leak (the sanitizer
 * build checks leaks). N grows until a call needs fewer allocations.
 */
static int t_report_out_of_memory(void)
{
	char err[512], path[600], plots[600];
	snprintf(path, sizeof path, "%s", tpath("oom.db"));
	snprintf(plots, sizeof plots, "%s", tpath("oom-plots"));
	CHECK(make_mixed_db(path) == 0);
	CHECK(make_boot_db(tpath("oom-boot.db")) == 0);
	/* both kinds of runs in one file */
	char sql[1024];
	snprintf(sql, sizeof sql,
		 "ATTACH '%s' AS b; INSERT INTO runs SELECT 100 + id, kind, "
		 "scenario, scenario_hash, config, settings_json, seed, rep, "
		 "backend, version, started_unix_ns, wall_s, events, "
		 "sim_end_ns FROM b.runs; INSERT INTO boots SELECT 100 + run, "
		 "idx, t_launch, t_first_output, t_marker, t_exit, status, ok, "
		 "cpu_s, peak_rss_bytes, mode, last_output FROM b.boots",
		 tpath("oom-boot.db"));
	CHECK(sql_exec(path, sql) == 0);
	setenv("UKF_GNUPLOT", FAKE_GNUPLOT, 1);
	alloc_pid = getpid();
	for (int mode = 0; mode < 3; mode++) {
		long n;
		int done = 0;
		for (n = 1; n < 100000 && !done; n++) {
			char *out = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&out, &len);
			CHECK(f);
			err[0] = 0;
			alloc_count = 0;
			alloc_fail_at = n;
			int rc = mode < 2 ? ukf_report(path, mode, f, err,
						       sizeof err)
					  : ukf_report_plot(path, plots, NULL,
							    err, sizeof err);
			alloc_fail_at = 0;
			done = alloc_count < n;
			fclose(f);
			free(out);
			if (rc != 0 && !strstr(err, "out of memory")) {
				fprintf(stderr,
					"mode %d, allocation %ld failing: rc %d, "
					"%s\n",
					mode, n, rc, err);
				return 1;
			}
			if (done)
				CHECK(rc == 0);
		}
		CHECK(done);
		CHECK(n > 20); /* the report does allocate */
	}
	unsetenv("UKF_GNUPLOT");
	return 0;
}

/*
 * A file whose tables lack columns the report reads (a damaged or
 * hand-made database): the report, JSON and --plot fail with a message
 * naming the file and what was being read, never crash.
 */
static int t_report_damaged_schema(void)
{
	const char *drops[][2] = {
		{"runs", "settings_json"}, {"instances", "start_code"},
		{"instances", "t_ready"},  {"samples", "mem_used"},
		{"samples", "vcpus_used"}, {"boots", "mode"},
		{"boots", "t_marker"},     {"boots", "last_output"},
		{"template_boots", "t_start"},
	};
	char err[512], sql[256], name[64];
	setenv("UKF_GNUPLOT", FAKE_GNUPLOT, 1);
	for (size_t i = 0; i < sizeof drops / sizeof drops[0]; i++) {
		snprintf(name, sizeof name, "damaged%zu.db", i);
		char path[600], plots[600];
		snprintf(path, sizeof path, "%s", tpath(name));
		snprintf(plots, sizeof plots, "%s", tpath("dplots"));
		CHECK(make_mixed_db(path) == 0);
		ukf_db_t *db = ukf_db_open(path, err, sizeof err);
		CHECK(db);
		struct ukf_run_info ri = {.kind = "bootbench", .scenario = "b",
					  .config = "c", .backend = "external",
					  .version = UKF_VERSION};
		int64_t run = ukf_db_run_begin(db, &ri);
		struct ukf_db_boot b = {.index = 0, .t_launch = 0,
					.t_first_output = 1, .t_marker = 2,
					.t_exit = 3, .ok = 1, .mode = "x"};
		CHECK(run > 0 && ukf_db_boot(db, run, &b) == 0 &&
		      ukf_db_run_commit(db, run, 0, 0, 0) == 0);
		struct ukf_db_boot f = b;
		ri.config = "d";
		run = ukf_db_run_begin(db, &ri);
		f.ok = 0;
		f.last_output = "no";
		CHECK(run > 0 && ukf_db_boot(db, run, &f) == 0 &&
		      ukf_db_run_commit(db, run, 0, 0, 0) == 0);
		/* samples so that --plot reads them */
		ri = run_info("placement=A", 1, 0);
		ukf_db_close(&db);
		snprintf(sql, sizeof sql,
			 "INSERT INTO samples(run, t, node, instances, "
			 "vcpus_used, mem_used) VALUES (1, 5, 0, 1, 1, 1);"
			 "ALTER TABLE %s DROP COLUMN %s",
			 drops[i][0], drops[i][1]);
		CHECK(sql_exec(path, sql) == 0);
		int fails = 0;
		for (int mode = 0; mode < 3; mode++) {
			char *out = NULL;
			size_t len = 0;
			FILE *o = open_memstream(&out, &len);
			err[0] = 0;
			int rc = mode < 2 ? ukf_report(path, mode, o, err,
						       sizeof err)
					  : ukf_report_plot(path, plots, NULL,
							    err, sizeof err);
			fclose(o);
			free(out);
			if (rc != 0) {
				fails++;
				CHECK_HAS(err, name);
				CHECK_HAS(err, "reading");
				CHECK_HAS(err, drops[i][1]);
			}
		}
		if (!fails) {
			fprintf(stderr, "%s.%s dropped: no call failed\n",
				drops[i][0], drops[i][1]);
			return 1;
		}
	}
	unsetenv("UKF_GNUPLOT");
	return 0;
}

/*
 * Another user's results: a database this process cannot write (no -shm
 * can be made beside it) is read without locks; one whose -wal holds
 * runs is refused with a message saying why. As root the reader is a
 * child process that drops to user nobody.
 */
static int read_as_other_user(const char *path, int json, char *err,
			      size_t errlen)
{
	int fds[2];
	if (pipe(fds) < 0)
		return -2;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		/* nobody while reading; root kept as the saved id, taken back
		 * before exit() so that a coverage build can write its data */
		int root = getuid() == 0;
		if (root && (setresgid(65534, 65534, 0) < 0 ||
			     setresuid(65534, 65534, 0) < 0))
			_exit(3);
		char e[512] = "";
		FILE *devnull = fopen("/dev/null", "w");
		int rc = ukf_report(path, json, devnull, e, sizeof e);
		fclose(devnull);
		if (write(fds[1], e, strlen(e) + 1) < 0)
			_exit(4);
		if (root && (setresuid(0, 0, 0) < 0 || setresgid(0, 0, 0) < 0))
			_exit(5);
		exit(rc == 0 ? 0 : 1);
	}
	close(fds[1]);
	ssize_t k = read(fds[0], err, errlen - 1);
	err[k > 0 ? k : 0] = 0;
	close(fds[0]);
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -2;
	return WEXITSTATUS(st);
}

static int t_report_other_users_db(void)
{
	char err[512], dir[600], path[700];
	snprintf(dir, sizeof dir, "%s/ro", tmpdir);
	CHECK(mkdir(dir, 0755) == 0);
	snprintf(path, sizeof path, "%s/res%%ults.db", dir);
	CHECK(make_known_db(path) == 0);
	CHECK(chmod(tmpdir, 0755) == 0);
	CHECK(chmod(dir, 0555) == 0);
	CHECK(chmod(path, 0444) == 0);
	/* the writer closed it: no -wal with data, read without locks */
	int rc = read_as_other_user(path, 1, err, sizeof err);
	if (rc == 3) {
		fprintf(stderr, "SKIP: cannot become user nobody\n");
		return SKIP;
	}
	CHECK(rc == 0);
	CHECK(access(path, F_OK) == 0);
	/* a -wal with runs in it: only a writer can apply them */
	char wal[800];
	snprintf(wal, sizeof wal, "%s-wal", path);
	CHECK(chmod(dir, 0755) == 0);
	CHECK(write_file(wal, "not empty", 9) == 0);
	CHECK(chmod(dir, 0555) == 0);
	rc = read_as_other_user(path, 0, err, sizeof err);
	CHECK(rc == 1);
	CHECK_HAS(err, "without write access");
	CHECK_HAS(err, "-wal");
	CHECK(chmod(dir, 0755) == 0);
	return 0;
}

/*
 * --plot's data files and script, with a stand-in gnuplot (FAKE_GNUPLOT):
 * a CDF of 2500 completed requests is cut to at most 2001 points, both
 * ends kept; a configuration without completed requests has NaN bars and
 * no curve; a quote in a label is doubled in the script; 2600 boots give
 * 50 histogram bins, boots that all took 7 ms one bin, a run whose boots
 * all failed no histogram. A failing gnuplot, a plot "directory" that is
 * a file and a missing argument are errors with messages.
 */
static int t_report_plot_data(void)
{
	char err[512], line[256], path[600];
	snprintf(path, sizeof path, "%s", tpath("plotdata.db"));
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	struct ukf_run_info ri = run_info("it's big", 1, 0);
	int64_t run = ukf_db_run_begin(db, &ri);
	CHECK(run > 0);
	for (int i = 0; i < 2500; i++) {
		struct ukf_record r = record(i + 1, UKF_START_COLD, 1 + i);
		CHECK(ukf_db_instance(db, run, &r) == 0);
	}
	CHECK(ukf_db_run_commit(db, run, 0, 0, 0) == 0);
	ri = run_info("none ready", 1, 0);
	struct ukf_record nr = record(1, UKF_START_COLD, 0);
	nr.t_ready = UKF_NS_NEVER;
	nr.status = UKF_STATUS_RUNNING;
	CHECK(one_run(db, &ri, &nr) == 0);
	struct ukf_run_info bi = {.kind = "bootbench", .scenario = "b",
				  .config = "c", .backend = "external",
				  .version = UKF_VERSION};
	for (int k = 0; k < 3; k++) {
		run = ukf_db_run_begin(db, &bi);
		CHECK(run > 0);
		for (int i = 0; i < (k == 0 ? 2600 : 4); i++) {
			struct ukf_db_boot b = {
				.index = i, .t_launch = 0, .t_first_output = 1,
				.t_marker = k == 0 ? (i + 1) * UKF_MS : 7 * UKF_MS,
				.t_exit = -1, .ok = k != 2, .mode = "x"};
			CHECK(ukf_db_boot(db, run, &b) == 0);
		}
		CHECK(ukf_db_run_commit(db, run, 0, 0, 0) == 0);
	}
	ukf_db_close(&db);
	char dir[600];
	snprintf(dir, sizeof dir, "%s", tpath("plots"));
	setenv("UKF_GNUPLOT", FAKE_GNUPLOT, 1);
	char *log = NULL;
	size_t loglen = 0;
	FILE *lf = open_memstream(&log, &loglen);
	CHECK(ukf_report_plot(path, dir, lf, err, sizeof err) == 0);
	fclose(lf);
	CHECK_HAS(log, "wrote");
	CHECK_HAS(log, "s1-latency-cdf.png and .svg");
	CHECK_HAS(log, "bootbench-run3.png");
	CHECK_HAS(log, "bootbench-run4.png");
	CHECK(!strstr(log, "bootbench-run5"));
	CHECK(!strstr(log, "s1-load")); /* no samples: no time series */
	free(log);
	char f[700];
	/* CDF: one block (the other configuration has no point) */
	snprintf(f, sizeof f, "%s/s1-latency-cdf.dat", dir);
	FILE *in = fopen(f, "r");
	CHECK(in);
	int points = 0, blocks = 0;
	double x = NAN, y = NAN, x0 = NAN;
	while (fgets(line, sizeof line, in)) {
		if (line[0] == '#') {
			blocks++;
			continue;
		}
		if (sscanf(line, "%lf %lf", &x, &y) == 2 && points++ == 0)
			x0 = x;
	}
	fclose(in);
	CHECK(blocks == 1);
	CHECK(points > 1000 && points <= 2001);
	CHECK_NEAR(x0, 1, 1e-9);
	CHECK_NEAR(x, 2500, 1e-9);
	CHECK_NEAR(y, 1, 1e-12);
	/* bars: NaN for the configuration without latencies */
	snprintf(f, sizeof f, "%s/s1-compare.dat", dir);
	in = fopen(f, "r");
	CHECK(in);
	int nan_row = 0;
	while (fgets(line, sizeof line, in))
		if (!strncmp(line, "1 \"none ready\" NaN NaN NaN", 26))
			nan_row = 1;
	fclose(in);
	CHECK(nan_row);
	snprintf(f, sizeof f, "%s/plots.gp", dir);
	in = fopen(f, "r");
	CHECK(in);
	int quoted = 0;
	while (fgets(line, sizeof line, in))
		if (strstr(line, "'it''s big'"))
			quoted = 1;
	fclose(in);
	CHECK(quoted);
	/* histograms: bins and counts */
	const struct {
		int run;
		int bins, total;
	} h[2] = {{3, 50, 2600}, {4, 1, 4}};
	for (int k = 0; k < 2; k++) {
		snprintf(f, sizeof f, "%s/bootbench-run%d.dat", dir, h[k].run);
		in = fopen(f, "r");
		CHECK(in);
		int bins = 0, total = 0, c;
		double center;
		while (fgets(line, sizeof line, in))
			if (line[0] != '#' &&
			    sscanf(line, "%lf %d", &center, &c) == 2) {
				bins++;
				total += c;
			}
		fclose(in);
		CHECK(bins == h[k].bins);
		CHECK(total == h[k].total);
	}
	/* errors */
	/* a gnuplot that exits 0 without drawing: not "wrote" (it was) */
	setenv("UKF_GNUPLOT", "/bin/true", 1);
	lf = open_memstream(&log, &loglen);
	CHECK(lf);
	CHECK(ukf_report_plot(path, dir, lf, err, sizeof err) == -1);
	fclose(lf);
	CHECK(!strstr(log, "wrote"));
	free(log);
	CHECK_HAS(err, "/bin/true exited 0 but 10 of the 10 plot files are "
		       "missing or empty in ");
	CHECK_HAS(err, "s1-latency-cdf.png, s1-latency-cdf.svg, "
		       "s1-compare.png, s1-compare.svg and 6 more");
	setenv("UKF_GNUPLOT", "/bin/false", 1);
	CHECK(ukf_report_plot(path, dir, NULL, err, sizeof err) == -1);
	CHECK_HAS(err, "/bin/false failed (exit status 1)");
	setenv("UKF_GNUPLOT", FAKE_GNUPLOT, 1);
	CHECK(ukf_report_plot(path, path, NULL, err, sizeof err) == -1);
	CHECK_HAS(err, "not a directory");
	CHECK(ukf_report_plot(path, tpath("no/such/dir"), NULL, err,
			      sizeof err) == -1);
	CHECK_HAS(err, "No such file");
	CHECK(ukf_report_plot(path, NULL, NULL, err, sizeof err) == -1);
	CHECK_HAS(err, "no plot directory given");
	/* a data file that cannot be written (a directory in its place) */
	char blocked[700];
	snprintf(blocked, sizeof blocked, "%s/s1-compare.dat", tpath("bl"));
	CHECK(mkdir(tpath("bl"), 0755) == 0 && mkdir(blocked, 0755) == 0);
	CHECK(ukf_report_plot(path, tpath("bl"), NULL, err, sizeof err) == -1);
	CHECK_HAS(err, "s1-compare.dat: Is a directory");
	CHECK(ukf_report_plot(NULL, dir, NULL, err, sizeof err) == -1);
	CHECK_HAS(err, "no file given");
	CHECK(ukf_report_plot(tpath("nope.db"), dir, NULL, err, sizeof err) ==
	      -1);
	CHECK_HAS(err, "nope.db");
	/* a database with nothing to plot says so */
	lf = open_memstream(&log, &loglen);
	db = ukf_db_open(tpath("empty-runs.db"), err, sizeof err);
	CHECK(db);
	ri = run_info("a", 1, 0);
	run = ukf_db_run_begin(db, &ri);
	CHECK(run > 0 && ukf_db_run_commit(db, run, 0, 0, 0) == 0);
	ukf_db_close(&db);
	unsetenv("UKF_GNUPLOT");
	char *saved = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	setenv("PATH", "/nonexistent", 1);
	CHECK(ukf_report_plot(tpath("empty-runs.db"), dir, lf, err,
			      sizeof err) == -1);
	CHECK_HAS(err, "gnuplot-nox");
	unsetenv("PATH"); /* the default /usr/bin:/bin */
	setenv("UKF_GNUPLOT", FAKE_GNUPLOT, 1);
	if (ukf_report_plot(tpath("empty-runs.db"), dir, lf, err,
			    sizeof err) != 0) {
		fprintf(stderr, "empty-runs.db: %s\n", err);
		return 1;
	}
	if (saved)
		setenv("PATH", saved, 1);
	free(saved);
	fclose(lf);
	CHECK_HAS(log, "nothing to plot");
	free(log);
	unsetenv("UKF_GNUPLOT");
	return 0;
}

/*
 * Output that cannot be written (a full disk, a stream open for reading)
 * is an error naming the cause, in text and JSON; a file whose samples
 * table is a view is not a results database; the database API refuses
 * calls without a database and stores odd records faithfully.
 */
static int t_report_output_errors(void)
{
	char err[512];
	const char *path = tpath("out.db");
	CHECK(make_known_db(path) == 0);
	FILE *full = fopen("/dev/full", "w");
	if (full) {
		CHECK(ukf_report(path, 0, full, err, sizeof err) == -1);
		CHECK_HAS(err, "writing output");
		fclose(full);
	}
	for (int json = 0; json < 2; json++) {
		FILE *ro = fopen("/dev/null", "r");
		CHECK(ro);
		err[0] = 0;
		CHECK(ukf_report(path, json, ro, err, sizeof err) == -1);
		CHECK_HAS(err, "writing output");
		fclose(ro);
	}
	/* a view where a table should be */
	const char *v = tpath("view.db");
	CHECK(make_known_db(v) == 0);
	CHECK(sql_exec(v, "DROP TABLE samples; CREATE VIEW samples AS "
			  "SELECT 1 AS run") == 0);
	CHECK(ukf_report(v, 0, stdout, err, sizeof err) == -1);
	CHECK_HAS(err, "'samples' is a view, not a table");
	/* meta without its value column */
	const char *m = tpath("meta.db");
	CHECK(sql_exec(m, "CREATE TABLE meta(key TEXT)") == 0);
	CHECK(ukf_report(m, 0, stdout, err, sizeof err) == -1);
	CHECK_HAS(err, "reading meta");
	CHECK(ukf_db_open(m, err, sizeof err) == NULL);
	CHECK_HAS(err, "reading meta");
	/* no error buffer: still refused, nothing written anywhere */
	CHECK(ukf_db_open(NULL, NULL, 0) == NULL);
	CHECK(ukf_report(m, 0, stdout, NULL, 0) == -1);
	/* API calls without a database or an open run */
	struct ukf_record r = record(1, UKF_START_COLD, 1);
	struct ukf_db_sample smp = {.t = 0};
	struct ukf_db_boot b = {.index = 0};
	CHECK(ukf_db_instance(NULL, 1, &r) == -1);
	CHECK(ukf_db_sample(NULL, 1, &smp) == -1);
	CHECK(ukf_db_boot(NULL, 1, &b) == -1);
	CHECK(ukf_db_run_commit(NULL, 1, 0, 0, 0) == -1);
	ukf_db_run_abort(NULL, 1);
	/* an unknown start kind is stored as unknown, no origin as NULL */
	ukf_db_t *db = ukf_db_open(tpath("odd.db"), err, sizeof err);
	CHECK(db);
	struct ukf_run_info ri = run_info("a", 1, 0);
	r.start = (enum ukf_start)99;
	r.origin = UKF_NODE_NONE;
	CHECK(one_run(db, &ri, &r) == 0);
	ukf_db_close(&db);
	CHECK(sql_int(tpath("odd.db"),
		      "SELECT start_code FROM instances WHERE start = "
		      "'unknown' AND origin IS NULL") == UKF_START_UNKNOWN);
	/* ukf_db_open out of memory */
	alloc_pid = getpid();
	alloc_count = 0;
	alloc_fail_at = 1;
	db = ukf_db_open(tpath("oom2.db"), err, sizeof err);
	alloc_fail_at = 0;
	CHECK(db == NULL);
	CHECK_HAS(err, "out of memory");
	return 0;
}

/* The JSON writer's contract: NaN, infinities and NULL strings are null;
 * adding to no container fails (and frees the value); printing writes one
 * line. */
static int t_json_writer(void)
{
	CHECK(ukf_json_num(NAN, "%g") == NULL);
	CHECK(ukf_json_num(INFINITY, "%g") == NULL);
	CHECK(ukf_json_num(-INFINITY, NULL) == NULL);
	CHECK(ukf_json_str(NULL) == NULL);
	CHECK(ukf_json_add(NULL, "k", json_object_new_int(1)) == -1);
	CHECK(ukf_json_append(NULL, json_object_new_int(1)) == -1);
	struct json_object *o = json_object_new_object();
	CHECK(ukf_json_add(o, "x", ukf_json_num(0.1, NULL)) == 0);
	CHECK(ukf_json_add(o, "p", ukf_json_pair(1.5, NAN, "%.3g")) == 0);
	CHECK(ukf_json_add(o, "s", ukf_json_str("a/\"\x7f\xff")) == 0);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	CHECK(ukf_json_print(f, o) == 0);
	fclose(f);
	CHECK(!strcmp(out, "{\"x\":0.1,\"p\":[1.5,null],\"s\":\"a/\\\"\x7f"
			   "\xef\xbf\xbd\"}\n"));
	free(out);
	FILE *ro = fopen("/dev/null", "r");
	CHECK(ro && ukf_json_print(ro, o) == -1);
	fclose(ro);
	json_object_put(o);
	return 0;
}

/* The line of text that holds label also holds want (after it). */
static int line_has(const char *text, const char *label, const char *want)
{
	const char *l = strstr(text, label);
	if (!l)
		return 0;
	const char *nl = strchr(l, '\n');
	const char *w = strstr(l + strlen(label), want);
	return w && (!nl || w < nl);
}

/*
 * Node failures and link cuts (outages rows) and the seconds nodes were
 * down and cut off, summed over nodes. A's three runs (10 s each), rows
 * written in world order, nodes interleaved: node 0 fails at 1 s
 * (noticed at 1.5 s), recovers at 3 s and fails again at 4 s until the
 * end (2 + 6 s); node 1 is cut at 2 s to 2.5 s, and again at 5 s until
 * it fails at 6 s (link 0.5 + 1 s), recovering at 7 s (node 1 s); node 3
 * fails and recovers at 8 s (0 s); node 2 is cut at 9 - rep s until the
 * end (1 + rep s). So 4 node failures and 9 s down, 3 cuts and
 * {2.5, 3.5, 4.5} s cut off. B has none: 0, not "-". C's run has no end
 * time (sim_end_ns NULL) and a node still down: its downtime is unknown
 * ("-", null), its count is not. A file written before the table existed
 * (dropped here) reports without the figures.
 */
static int t_report_outages(void)
{
	char err[512], *j = NULL, *t = NULL;
	const char *path = tpath("outages.db");
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	const char *cfg[3] = {"churn=A", "churn=B", "churn=C"};
	for (int c = 0; c < 3; c++)
		for (int rep = 0; rep < (c == 2 ? 1 : 3); rep++) {
			struct ukf_run_info ri = run_info(cfg[c], rep + 1, rep);
			int64_t run = ukf_db_run_begin(db, &ri);
			CHECK(run > 0);
			struct ukf_record q = record(1, UKF_START_TEMPLATE, 10);
			CHECK(ukf_db_instance(db, run, &q) == 0);
			const struct {
				double t;
				uint32_t node;
				const char *kind;
			} a[] = {{1, 0, "node-fail"},    {1.5, 0, "node-detect"},
				 {2, 1, "link-fail"},    {2.5, 1, "link-recover"},
				 {3, 0, "node-recover"}, {4, 0, "node-fail"},
				 {5, 1, "link-fail"},    {6, 1, "node-fail"},
				 {7, 1, "node-recover"}, {8, 3, "node-fail"},
				 {8, 3, "node-recover"}, {9 - rep, 2, "link-fail"}};
			for (size_t k = 0; c == 0 && k < sizeof a / sizeof a[0];
			     k++)
				CHECK(ukf_db_outage(db, run,
						    (ukf_ns_t)(a[k].t * UKF_S),
						    a[k].node, a[k].kind,
						    "why") == 0);
			if (c == 2)
				CHECK(ukf_db_outage(db, run, 2 * UKF_S, 1,
						    "node-fail", NULL) == 0);
			CHECK(ukf_db_run_commit(db, run, 0.5, 10,
						c == 2 ? UKF_NS_NEVER
						       : 10 * UKF_S) == 0);
		}
	ukf_db_close(&db);
	CHECK(sql_int(path, "SELECT count(*) FROM outages") == 37);
	CHECK(report_str(path, 1, &j, err, sizeof err) == 0);
	CHECK(json_valid(j));
	double hw = T975_2 * 1 / sqrt(3); /* sd of {2.5,3.5,4.5}: 1 */
	const char *a = "$.scenarios[0].configs[0]";
	char p[256], s[512];
#define AT(fmt) (snprintf(p, sizeof p, "%s." fmt, a), p)
	CHECK_NEAR(jnum(j, AT("node_failures.mean")), 4, 0);
	CHECK_NEAR(jnum(j, AT("node_failures.ci95_hi")), 4, 1e-12);
	CHECK_NEAR(jnum(j, AT("node_down_s.mean")), 9, 1e-9);
	CHECK_NEAR(jnum(j, AT("link_cuts.mean")), 3, 0);
	CHECK_NEAR(jnum(j, AT("link_down_s.mean")), 3.5, 1e-9);
	CHECK_NEAR(jnum(j, AT("link_down_s.ci95_hi")), 3.5 + hw, 1e-9);
	CHECK_NEAR(jnum(j, AT("per_run[0].link_down_s")), 2.5, 1e-9);
	CHECK_NEAR(jnum(j, AT("per_run[2].link_down_s")), 4.5, 1e-9);
	CHECK_NEAR(jnum(j, AT("per_run[1].node_down_s")), 9, 1e-9);
	CHECK_NEAR(jnum(j, AT("per_run[1].node_failures")), 4, 0);
	a = "$.scenarios[0].configs[1]";
	CHECK_NEAR(jnum(j, AT("node_failures.mean")), 0, 0);
	CHECK_NEAR(jnum(j, AT("node_down_s.mean")), 0, 0);
	CHECK_NEAR(jnum(j, AT("link_cuts.mean")), 0, 0);
	CHECK_NEAR(jnum(j, AT("link_down_s.mean")), 0, 0);
	a = "$.scenarios[0].configs[2]";
	CHECK_NEAR(jnum(j, AT("node_failures.mean")), 1, 0);
	CHECK(isnan(jnum(j, AT("node_down_s.mean"))));
	CHECK(isnan(jnum(j, AT("per_run[0].node_down_s"))));
	CHECK_NEAR(jnum(j, AT("link_down_s.mean")), 0, 0);
	CHECK_HAS(jstr(j, "$.outage_method", s, sizeof s),
		  "to the run's end, summed over nodes");
	free(j);
	CHECK(report_str(path, 0, &t, err, sizeof err) == 0);
	CHECK_HAS(t, "\noutages: node failures and link cuts");
	char want[160];
	CHECK(line_has(t, "  node failures ", " 4.0 ±0.0 "));
	CHECK(line_has(t, "  node downtime (s) ", " 9.000 ±0.000 "));
	CHECK(line_has(t, "  link cuts ", " 3.0 ±0.0 "));
	snprintf(want, sizeof want, " %.3f ±%.3f ", 3.5, hw);
	CHECK(line_has(t, "  link downtime (s) ", want));
	CHECK(line_has(t, "  node downtime (s) ", " 0.000 ±0.000  "));
	CHECK(line_has(t, "  node downtime (s) ", " -\n"));
	CHECK(line_has(t, "  node failures ", " 1\n"));
	free(t);

	/* An older file: no table, no figures, no error. */
	CHECK(sql_exec(path, "DROP TABLE outages") == 0);
	CHECK(report_str(path, 1, &j, err, sizeof err) == 0);
	a = "$.scenarios[0].configs[0]";
	CHECK_NEAR(jnum(j, AT("requests.mean")), 1, 0);
	CHECK(isnan(jnum(j, AT("node_failures.mean"))));
	CHECK(isnan(jnum(j, AT("per_run[0].link_down_s"))));
	CHECK(strstr(j, "\"link_cuts\":{\"mean\":null"));
	free(j);
	CHECK(report_str(path, 0, &t, err, sizeof err) == 0);
	CHECK(line_has(t, "  node failures ", " -  "));
	CHECK(line_has(t, "  link downtime (s) ", " -\n"));
	free(t);
#undef AT
	return 0;
}

/*
 * The engine's own template boots (template_boots rows, no requests):
 * per run their count, the seconds they ran, t_end - t_start, a boot
 * still going at the end counted to the run's end (sim_end_ns), and those
 * seconds times the app's vcpus= and mem= of the run's settings_json. A
 * has three runs (web: vcpus=2, mem=128M), each with a boot made from 0
 * to 2 s, one still booting from 1 s at the end (5 s) and rep boots of
 * 1 s: counts {2, 3, 4}, seconds {6, 7, 8}, vCPU-seconds {12, 14, 16},
 * MiB-seconds 128 times the seconds. B has none: 0, not "-". C's settings
 * do not describe web: its seconds (2) but no vCPU- or MiB-seconds. A file
 * written before the table existed (dropped here) reports without the
 * figures: "-" and null, no error.
 */
static int t_report_template_boots(void)
{
	char err[512], *j = NULL, *t = NULL;
	const char *path = tpath("tboots.db");
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	const char *cfg[3] = {"placement=A", "placement=B", "placement=C"};
	for (int c = 0; c < 3; c++)
		for (int rep = 0; rep < (c == 2 ? 1 : 3); rep++) {
			struct ukf_run_info ri = run_info(cfg[c], rep + 1, rep);
			if (c == 0)
				ri.settings_json =
					"{\"nodes\":2,\"apps\":{\"web\":"
					"\"mem=128M init=20ms vcpus=2\"}}";
			int64_t run = ukf_db_run_begin(db, &ri);
			CHECK(run > 0);
			struct ukf_record q = record(1, UKF_START_TEMPLATE, 10);
			CHECK(ukf_db_instance(db, run, &q) == 0);
			int nb = c == 0 ? 2 + rep : c == 2 ? 1 : 0;
			for (int k = 0; k < nb; k++) {
				struct ukf_record b = {
					.id = 100 + k,
					.app = 1,
					.app_name = "web",
					.node = 0,
					.start = UKF_START_COLD,
					.t_request = UKF_NS_NEVER,
					.t_placed = UKF_NS_NEVER,
					.template_made = 1,
					.template_boot = 1};
				if (k == 0) {
					b.t_start = 0;
					b.t_ready = b.t_exit = 2 * UKF_S;
				} else if (k == 1) {
					b.t_start = 1 * UKF_S;
					b.t_ready = b.t_exit = UKF_NS_NEVER;
					b.status = UKF_STATUS_RUNNING;
					b.template_made = 0;
				} else {
					b.t_start = 3 * UKF_S;
					b.t_ready = b.t_exit = 4 * UKF_S;
				}
				CHECK(ukf_db_instance(db, run, &b) == 0);
			}
			CHECK(ukf_db_run_commit(db, run, 0.5, 10, 5 * UKF_S) ==
			      0);
		}
	ukf_db_close(&db);
	CHECK(sql_int(path, "SELECT count(*) FROM template_boots") == 10);
	CHECK(sql_int(path, "SELECT count(*) FROM instances") == 7);
	CHECK(report_str(path, 1, &j, err, sizeof err) == 0);
	CHECK(json_valid(j));
	double hw = T975_2 * 1 / sqrt(3); /* sd of {2,3,4} and {6,7,8}: 1 */
	const char *a = "$.scenarios[0].configs[0]";
	char p[256], s[512];
#define AT(fmt) (snprintf(p, sizeof p, "%s." fmt, a), p)
	CHECK_NEAR(jnum(j, AT("requests.mean")), 1, 0);
	CHECK_NEAR(jnum(j, AT("template_boots.mean")), 3, 1e-12);
	CHECK_NEAR(jnum(j, AT("template_boots.ci95_lo")), 3 - hw, 1e-9);
	CHECK_NEAR(jnum(j, AT("template_boots.ci95_hi")), 3 + hw, 1e-9);
	CHECK_NEAR(jnum(j, AT("template_boot_s.mean")), 7, 1e-9);
	CHECK_NEAR(jnum(j, AT("template_boot_s.ci95_hi")), 7 + hw, 1e-9);
	CHECK_NEAR(jnum(j, AT("per_run[0].template_boots")), 2, 0);
	CHECK_NEAR(jnum(j, AT("per_run[0].template_boot_s")), 6, 1e-9);
	CHECK_NEAR(jnum(j, AT("per_run[2].template_boots")), 4, 0);
	CHECK_NEAR(jnum(j, AT("per_run[2].template_boot_s")), 8, 1e-9);
	CHECK_NEAR(jnum(j, AT("template_boot_vcpu_s.mean")), 14, 1e-9);
	CHECK_NEAR(jnum(j, AT("template_boot_vcpu_s.ci95_hi")), 14 + 2 * hw,
		   1e-9);
	CHECK_NEAR(jnum(j, AT("per_run[0].template_boot_vcpu_s")), 12, 1e-9);
	CHECK_NEAR(jnum(j, AT("template_boot_mem_mib_s.mean")), 128 * 7,
		   1e-9);
	CHECK_NEAR(jnum(j, AT("per_run[2].template_boot_mem_mib_s")), 128 * 8,
		   1e-9);
	a = "$.scenarios[0].configs[1]";
	CHECK_NEAR(jnum(j, AT("template_boots.mean")), 0, 0);
	CHECK_NEAR(jnum(j, AT("template_boot_s.mean")), 0, 0);
	CHECK_NEAR(jnum(j, AT("template_boot_vcpu_s.mean")), 0, 0);
	a = "$.scenarios[0].configs[2]";
	CHECK_NEAR(jnum(j, AT("template_boots.mean")), 1, 0);
	CHECK_NEAR(jnum(j, AT("template_boot_s.mean")), 2, 1e-9);
	CHECK(isnan(jnum(j, AT("template_boot_vcpu_s.mean"))));
	CHECK(isnan(jnum(j, AT("per_run[0].template_boot_mem_mib_s"))));
	CHECK_HAS(jstr(j, "$.template_boot_method", s, sizeof s),
		  "t_end - t_start");
	free(j);
	CHECK(report_str(path, 0, &t, err, sizeof err) == 0);
	CHECK_HAS(t, "template boots: the engine's own boots");
	char want[160];
	snprintf(want, sizeof want, " %.1f ±%.1f ", 3.0, hw);
	CHECK(line_has(t, "template boots (not requests) ", want));
	snprintf(want, sizeof want, " %.3f ±%.3f ", 7.0, hw);
	CHECK(line_has(t, "template boot time (s) ", want));
	snprintf(want, sizeof want, " %.2f ±%.2f ", 14.0, 2 * hw);
	CHECK(line_has(t, "template boot vCPU-seconds ", want));
	/* B: none; C: 2 s of an app its settings do not describe */
	CHECK(line_has(t, "template boot time (s) ", " 0.000 ±0.000  "));
	CHECK(line_has(t, "template boot time (s) ", " 2.000\n"));
	CHECK(line_has(t, "template boot vCPU-seconds ", " -\n"));
	free(t);

	/* An older file: no table, no figures, no error (--plot too). */
	CHECK(sql_exec(path, "DROP TABLE template_boots") == 0);
	CHECK(report_str(path, 1, &j, err, sizeof err) == 0);
	a = "$.scenarios[0].configs[0]";
	CHECK_NEAR(jnum(j, AT("requests.mean")), 1, 0);
	CHECK(isnan(jnum(j, AT("template_boots.mean"))));
	CHECK(isnan(jnum(j, AT("per_run[0].template_boot_s"))));
	CHECK(strstr(j, "\"template_boots\":{\"mean\":null"));
	free(j);
	CHECK(report_str(path, 0, &t, err, sizeof err) == 0);
	CHECK(line_has(t, "template boots (not requests) ", " -  "));
	CHECK(line_has(t, "template boot time (s) ", " -\n"));
	free(t);
	setenv("UKF_GNUPLOT", FAKE_GNUPLOT, 1);
	int rc = ukf_report_plot(path, tpath("tbplots"), NULL, err,
				 sizeof err);
	unsetenv("UKF_GNUPLOT");
	CHECK(rc == 0);
#undef AT
	return 0;
}

static int t_report_text(void)
{
	char err[512], *t = NULL;
	const char *path = tpath("text.db");
	CHECK(make_known_db(path) == 0);
	CHECK(report_str(path, 0, &t, err, sizeof err) == 0);
	CHECK_HAS(t, "7 runs");
	CHECK_HAS(t, "nearest rank");
	CHECK_HAS(t, "scripts/examples/test.lua");
	CHECK_HAS(t, "placement=A");
	char want[64];
	snprintf(want, sizeof want, "33.00 ±%.2f", T975_2 * 3 / sqrt(3));
	CHECK_HAS(t, want);
	CHECK_HAS(t, "53.00 ±");
	CHECK_HAS(t, "0.167 ±0.000");
	CHECK_HAS(t, "210.0 ±");
	CHECK_HAS(t, "paired differences against placement=A");
	snprintf(want, sizeof want, "3.000 [%.3f, %.3f]",
		 3 - T975_2 * sqrt(7) / sqrt(3), 3 + T975_2 * sqrt(7) / sqrt(3));
	CHECK_HAS(t, want);
	/* The configuration table is aligned: every row has one width. */
	char *tab = strstr(t, "\n== scenario");
	CHECK(tab);
	tab = strchr(tab + 1, '\n') + 1;
	size_t w0 = 0, rows = 0;
	for (char *line = tab; *line && *line != '\n';) {
		char *nl = strchr(line, '\n');
		size_t w = 0;
		for (char *c = line; c < nl; c++)
			w += ((unsigned char)*c & 0xC0) != 0x80;
		if (rows == 0)
			w0 = w;
		CHECK(w == w0);
		rows++;
		line = nl + 1;
	}
	CHECK(rows == 29); /* header, runs, 24 figures, 3 pooled quantiles */
	free(t);
	return 0;
}

static int t_report_json(void)
{
	char err[512], *j = NULL;
	const char *path = tpath("json.db");
	CHECK(make_known_db(path) == 0);
	CHECK(report_str(path, 1, &j, err, sizeof err) == 0);
	CHECK(json_valid(j));
	/* Also with Python's parser when there is one. */
	if (system("python3 -c '' 2>/dev/null") == 0) {
		const char *out = tpath("report.json");
		CHECK(write_file(out, j, strlen(j)) == 0);
		char cmd[1024];
		snprintf(cmd, sizeof cmd,
			 "python3 -m json.tool '%s' > /dev/null", out);
		CHECK(system(cmd) == 0);
	}
	char s[256];
	CHECK(!strcmp(jstr(j, "$.scenarios[0].scenario", s, sizeof s),
		      "scripts/examples/test.lua"));
	CHECK_NEAR(jnum(j, "$.schema_version"), 1, 0);
	CHECK(strstr(jstr(j, "$.quantile_method", s, sizeof s), "nearest rank"));
	/* json-c parses it too; a figure without a value is a JSON null
	 * that is present (C's one run has no interval), not NaN text. */
	struct json_object *doc = json_tokener_parse(j), *v = NULL, *x;
	CHECK(doc);
	CHECK(json_object_object_get_ex(doc, "runs", &v) &&
	      json_object_get_int(v) == 7);
	CHECK(json_object_object_get_ex(doc, "scenarios", &v));
	v = json_object_array_get_idx(v, 0);
	CHECK(json_object_object_get_ex(v, "configs", &v));
	v = json_object_array_get_idx(v, 2);
	CHECK(json_object_object_get_ex(v, "latency_mean_ms", &x));
	CHECK(json_object_object_get_ex(x, "ci95_lo", &v) && v == NULL);
	CHECK(json_object_object_get_ex(x, "mean", &v) &&
	      json_object_get_double(v) == 30);
	json_object_put(doc);
	CHECK(!strstr(j, "nan") && !strstr(j, "NaN") && !strstr(j, "inf"));
	free(j);
	return 0;
}

/* 10 boots: 0..7 reach the marker (i+1 ms after launch at i ms), 8 and 9
 * fail with awkward last output. */
static int make_boot_db(const char *path)
{
	char err[512];
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	if (!db)
		return -1;
	struct ukf_run_info ri = {.kind = "bootbench",
				  .scenario = "qemu-system-x86_64 -M microvm",
				  .config = "qemu-kvm",
				  .backend = "external",
				  .version = UKF_VERSION};
	int64_t run = ukf_db_run_begin(db, &ri);
	if (run < 0)
		return -1;
	for (int i = 0; i < 10; i++) {
		int ok = i < 8;
		struct ukf_db_boot b = {
			.index = i,
			.t_launch = i * UKF_MS,
			.t_first_output = i * UKF_MS + 100,
			.t_marker = ok ? (2 * i + 1) * UKF_MS : -1,
			.t_exit = ok ? (2 * i + 2) * UKF_MS : -1,
			.status = ok ? 0 : -1,
			.ok = ok,
			.cpu_s = 0.25,
			.peak_rss_bytes = (uint64_t)(i + 1) << 20,
			.mode = "external",
			.last_output = i == 8 ? "panic: \"oops\"\\ at\n\tline 2"
					      : i == 9 ? "bad \xff byte \x01"
						       : "UKF-READY"};
		if (ukf_db_boot(db, run, &b) < 0)
			return -1;
	}
	if (ukf_db_run_commit(db, run, 0.1, 0, UKF_NS_NEVER) < 0)
		return -1;
	ukf_db_close(&db);
	return 0;
}

static int t_report_bootbench(void)
{
	char err[512], *j = NULL, *t = NULL, s[256];
	const char *path = tpath("boot.db");
	CHECK(make_boot_db(path) == 0);
	CHECK(report_str(path, 1, &j, err, sizeof err) == 0);
	CHECK(json_valid(j));
	CHECK_NEAR(jnum(j, "$.bootbench[0].count"), 10, 0);
	CHECK_NEAR(jnum(j, "$.bootbench[0].failed"), 2, 0);
	CHECK_NEAR(jnum(j, "$.bootbench[0].median_ms"), 4, 1e-9);
	CHECK_NEAR(jnum(j, "$.bootbench[0].median_ci95_ms[0]"), 1, 1e-9);
	CHECK_NEAR(jnum(j, "$.bootbench[0].median_ci95_ms[1]"), 8, 1e-9);
	CHECK_NEAR(jnum(j, "$.bootbench[0].p95_ms"), 8, 1e-9);
	CHECK_NEAR(jnum(j, "$.bootbench[0].p99_ms"), 8, 1e-9);
	CHECK_NEAR(jnum(j, "$.bootbench[0].max_ms"), 8, 1e-9);
	CHECK_NEAR(jnum(j, "$.bootbench[0].launch_rate"), 8 / 0.015, 1e-6);
	CHECK_NEAR(jnum(j, "$.bootbench[0].peak_rss_max_bytes"), 10 << 20, 0);
	CHECK_NEAR(jnum(j, "$.bootbench[0].failures[0].index"), 8, 0);
	CHECK_NEAR(jnum(j, "$.bootbench[0].failures[0].status"), -1, 0);
	CHECK(!strcmp(jstr(j, "$.bootbench[0].failures[0].last_output", s,
			   sizeof s),
		      "panic: \"oops\"\\ at\n\tline 2"));
	CHECK(!strcmp(jstr(j, "$.bootbench[0].failures[1].last_output", s,
			   sizeof s),
		      "bad \xef\xbf\xbd byte \x01"));
	CHECK(!strcmp(jstr(j, "$.bootbench[0].mode", s, sizeof s),
		      "external"));
	free(j);
	CHECK(report_str(path, 0, &t, err, sizeof err) == 0);
	CHECK_HAS(t, "bootbench runs");
	CHECK_HAS(t, "order-statistic");
	CHECK_HAS(t, "4.000 [1.000, 8.000]");
	CHECK_HAS(t, "qemu-kvm");
	/* the largest peak RSS, 10 MiB (it was in --json only) */
	CHECK_HAS(t, "peak RSS MiB (max)");
	CHECK_HAS(t, "10.0\n");
	CHECK_HAS(t, "failures of run 1:");
	CHECK_HAS(t, "#8 status -1, last output: \"panic: \\\"oops\\\"\\\\ at"
		     "\\n\\tline 2\"");
	CHECK_HAS(t, "#9 status -1, last output: \"bad \\xff byte \\x01\"");
	free(t);
	return 0;
}

static int t_report_missing_file(void)
{
	char err[512], *t = NULL;
	CHECK(report_str(tpath("nope.db"), 0, &t, err, sizeof err) == -1);
	CHECK_HAS(err, "nope.db");
	CHECK_HAS(err, "No such file");
	CHECK(access(tpath("nope.db"), F_OK) != 0); /* not created */
	free(t);
	CHECK(ukf_report(NULL, 0, stdout, err, sizeof err) == -1);
	return 0;
}

static int t_report_not_a_database(void)
{
	char err[512], *t = NULL;
	const char *path = tpath("notes.txt");
	char junk[2000];
	memset(junk, 'z', sizeof junk);
	CHECK(write_file(path, junk, sizeof junk) == 0);
	CHECK(report_str(path, 0, &t, err, sizeof err) == -1);
	CHECK_HAS(err, "not a SQLite database");
	free(t);
	CHECK(report_str(tmpdir, 0, &t, err, sizeof err) == -1);
	CHECK_HAS(err, "not a regular file");
	free(t);
	return 0;
}

static int t_report_foreign_sqlite(void)
{
	char err[512], *t = NULL;
	const char *path = tpath("other.db");
	CHECK(sql_exec(path, "CREATE TABLE runs(id INTEGER PRIMARY KEY);"
			     "INSERT INTO runs VALUES (1)") == 0);
	CHECK(report_str(path, 0, &t, err, sizeof err) == -1);
	CHECK_HAS(err, "not a ukfork results database");
	free(t);
	/* A meta table of somebody else's. */
	const char *p2 = tpath("other2.db");
	CHECK(sql_exec(p2, "CREATE TABLE meta(key, value);") == 0);
	CHECK(report_str(p2, 0, &t, err, sizeof err) == -1);
	CHECK_HAS(err, "not a ukfork results database");
	free(t);
	return 0;
}

static int t_report_newer_schema(void)
{
	char err[512], *t = NULL;
	const char *path = tpath("newer.db");
	CHECK(make_known_db(path) == 0);
	CHECK(sql_exec(path, "UPDATE meta SET value = '99' WHERE key = "
			     "'schema_version'") == 0);
	CHECK(report_str(path, 0, &t, err, sizeof err) == -1);
	CHECK_HAS(err, "schema version 99 is newer");
	free(t);
	CHECK(ukf_db_open(path, err, sizeof err) == NULL);
	CHECK_HAS(err, "schema version 99 is newer");
	return 0;
}

static int t_report_empty_file(void)
{
	char err[512], *t = NULL;
	const char *path = tpath("empty.db");
	CHECK(write_file(path, "", 0) == 0);
	CHECK(report_str(path, 0, &t, err, sizeof err) == -1);
	CHECK_HAS(err, "empty file");
	free(t);
	/* A SQLite file with a header but no tables. */
	const char *p2 = tpath("blank.db");
	CHECK(sql_exec(p2, "PRAGMA user_version = 3") == 0);
	CHECK(report_str(p2, 0, &t, err, sizeof err) == -1);
	CHECK_HAS(err, "empty SQLite database");
	free(t);
	return 0;
}

static int t_report_empty_database(void)
{
	char err[512], *t = NULL;
	const char *path = tpath("noruns.db");
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	ukf_db_close(&db);
	CHECK(report_str(path, 0, &t, err, sizeof err) == -1);
	CHECK_HAS(err, "no runs recorded yet");
	free(t);
	CHECK(report_str(path, 1, &t, err, sizeof err) == -1);
	free(t);
	return 0;
}

static int t_report_json_escaping(void)
{
	char err[512], *j = NULL, s[256];
	const char *path = tpath("esc.db");
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	const char *name = "we\"ird\\path\t\x01\x1f/é€😀\xc3(";
	struct ukf_run_info ri = run_info("k=\"v\"\n", 1, 0);
	ri.scenario = name;
	int64_t run = ukf_db_run_begin(db, &ri);
	CHECK(run > 0);
	CHECK(ukf_db_run_commit(db, run, 0, 0, 0) == 0);
	ukf_db_close(&db);
	CHECK(report_str(path, 1, &j, err, sizeof err) == 0);
	CHECK(json_valid(j));
	CHECK(!strcmp(jstr(j, "$.scenarios[0].scenario", s, sizeof s),
		      "we\"ird\\path\t\x01\x1f/é€😀\xef\xbf\xbd("));
	CHECK(!strcmp(jstr(j, "$.scenarios[0].configs[0].config", s, sizeof s),
		      "k=\"v\"\n"));
	/* A run without instances reports no latency, zero failures. */
	CHECK(isnan(jnum(j, "$.scenarios[0].configs[0].latency_mean_ms.mean")));
	CHECK_NEAR(jnum(j, "$.scenarios[0].configs[0].requests.mean"), 0, 0);
	free(j);
	/* The text report survives the same strings. */
	CHECK(report_str(path, 0, &j, err, sizeof err) == 0);
	free(j);
	/* Invalid UTF-8 of every kind becomes U+FFFD byte by byte (overlong
	 * 3- and 4-byte forms, a surrogate, beyond U+10FFFF, a bad
	 * continuation); valid 2-, 3- and 4-byte characters stay. In the
	 * text report: \x escapes, \r, valid UTF-8 as is, a NULL status as
	 * "-", and output past 200 characters cut with "...". */
	const char *bad = "\xe0\x80\x80|\xed\xa0\x80|\xf0\x80\x80\x80|"
			  "\xf4\x90\x80\x80|\xe2(|\xf0\x9f(|é€😀\r";
#define R "\xef\xbf\xbd"
	const char *want = R R R "|" R R R "|" R R R R "|" R R R R "|" R "(|" R R
				 "(|é€😀\r";
#undef R
	const char *bpath = tpath("esc-boot.db");
	db = ukf_db_open(bpath, err, sizeof err);
	CHECK(db);
	struct ukf_run_info bi = {.kind = "bootbench",
				  .scenario = "qemu -M microvm",
				  .config = "", .backend = "external",
				  .version = UKF_VERSION};
	run = ukf_db_run_begin(db, &bi);
	CHECK(run > 0);
	char longout[400];
	memset(longout, 'y', sizeof longout - 1);
	longout[sizeof longout - 1] = 0;
	for (int i = 0; i < 3; i++) {
		struct ukf_db_boot b = {.index = i, .t_launch = 0,
					.t_first_output = -1, .t_marker = -1,
					.t_exit = -1, .status = -1, .ok = 0,
					.mode = "external",
					.last_output = i == 0 ? bad
						       : i == 1 ? longout
							       : "z"};
		CHECK(ukf_db_boot(db, run, &b) == 0);
	}
	CHECK(ukf_db_run_commit(db, run, 0, 0, 0) == 0);
	ukf_db_close(&db);
	CHECK(sql_exec(bpath, "UPDATE boots SET status = NULL WHERE idx = 2") ==
	      0);
	CHECK(report_str(bpath, 1, &j, err, sizeof err) == 0);
	CHECK(!strcmp(jstr(j, "$.bootbench[0].failures[0].last_output", s,
			   sizeof s),
		      want));
	CHECK(isnan(jnum(j, "$.bootbench[0].failures[2].status")));
	CHECK(isnan(jnum(j, "$.bootbench[0].median_ms")));
	free(j);
	CHECK(report_str(bpath, 0, &j, err, sizeof err) == 0);
	CHECK_HAS(j, "#0 status -1, last output: \"\\xe0\\x80\\x80|");
	CHECK_HAS(j, "|é€😀\\r\"");
	char cut[260];
	snprintf(cut, sizeof cut, "\"%.200s...\"", longout);
	CHECK_HAS(j, cut);
	CHECK_HAS(j, "#2 status -, last output: \"z\"");
	CHECK_HAS(j, "qemu -M microvm"); /* no config label: the command */
	free(j);
	return 0;
}

/* sim and kvm runs of one scenario: two configurations, paired. */
static int t_report_mixed_backends(void)
{
	char err[512], *j = NULL, *t = NULL, s[128];
	const char *path = tpath("mixed.db");
	ukf_db_t *db = ukf_db_open(path, err, sizeof err);
	CHECK(db);
	for (int b = 0; b < 2; b++) {
		for (int rep = 0; rep < 2; rep++) {
			struct ukf_run_info ri = run_info("nodes=1", 5, rep);
			ri.backend = b ? "kvm" : "sim";
			/* kvm: 1 ms slower in rep 0, 3 ms in rep 1. */
			struct ukf_record r = record(
				1, UKF_START_COLD, 10 + (b ? 1 + 2 * rep : 0));
			CHECK(one_run(db, &ri, &r) == 0);
		}
	}
	ukf_db_close(&db);
	CHECK(report_str(path, 1, &j, err, sizeof err) == 0);
	CHECK(json_valid(j));
	CHECK(!strcmp(jstr(j, "$.scenarios[0].configs[1].backend", s, sizeof s),
		      "kvm"));
	CHECK_NEAR(jnum(j, "$.scenarios[0].comparisons[0].pairs"), 2, 0);
	CHECK_NEAR(jnum(j, "$.scenarios[0].comparisons[0]"
			   ".diff_latency_mean_ms.mean"),
		   2, 1e-9);
	free(j);
	CHECK(report_str(path, 0, &t, err, sizeof err) == 0);
	CHECK_HAS(t, "nodes=1 [sim]");
	CHECK_HAS(t, "nodes=1 [kvm]");
	free(t);
	return 0;
}

static const struct selftest tests[] = {
	{"stats_quantile", t_stats_quantile},
	{"stats_mean_ci", t_stats_mean_ci},
	{"stats_quantile_ci", t_stats_quantile_ci},
	{"roundtrip", t_roundtrip},
	{"abort_leaves_nothing", t_abort_leaves_nothing},
	{"outages", t_outages},
	{"crash_leaves_nothing", t_crash_leaves_nothing},
	{"reader_while_writing", t_reader_while_writing},
	{"two_writers_take_turns", t_two_writers_take_turns},
	{"one_run_at_a_time", t_one_run_at_a_time},
	{"bad_inputs_api", t_bad_inputs_api},
	{"report_known_values", t_report_known_values},
	{"report_pairs_by_rep", t_report_pairs_by_rep},
	{"report_text", t_report_text},
	{"report_template_boots", t_report_template_boots},
	{"report_outages", t_report_outages},
	{"report_json", t_report_json},
	{"report_bootbench", t_report_bootbench},
	{"report_missing_file", t_report_missing_file},
	{"report_not_a_database", t_report_not_a_database},
	{"report_foreign_sqlite", t_report_foreign_sqlite},
	{"report_newer_schema", t_report_newer_schema},
	{"report_empty_file", t_report_empty_file},
	{"report_empty_database", t_report_empty_database},
	{"report_json_escaping", t_report_json_escaping},
	{"report_mixed_backends", t_report_mixed_backends},
	{"report_settings_configs", t_report_settings_configs},
	{"report_outcomes", t_report_outcomes},
	{"report_labels", t_report_labels},
	{"report_out_of_memory", t_report_out_of_memory},
	{"report_damaged_schema", t_report_damaged_schema},
	{"report_other_users_db", t_report_other_users_db},
	{"report_plot_data", t_report_plot_data},
	{"report_output_errors", t_report_output_errors},
	{"json_writer", t_json_writer},
};

static void cleanup(void)
{
	char cmd[600];
	if (!tmpdir[0] || getenv("UKF_KEEP_TMP"))
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

static int run_one(size_t i)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/ukf-results-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	int rc = tests[i].fn();
	printf("%s %s\n", rc ? "FAIL" : "ok  ", tests[i].name);
	cleanup();
	return rc;
}

int main(int argc, char **argv)
{
	size_t n = sizeof tests / sizeof tests[0];
	self_exe = "/proc/self/exe";
	static char exe[4096];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (k > 0) {
		exe[k] = 0;
		self_exe = exe;
	}
	if (argc == 4 && !strcmp(argv[1], "--writer"))
		return writer_main(argv[2], (int)strtol(argv[3], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "--reader"))
		return reader_main(argv[2], strtol(argv[3], NULL, 10));
	if (argc == 3 && !strcmp(argv[1], "--run")) {
		const struct selftest *t = selftest_find(tests, n, argv[2]);
		if (t)
			return run_one((size_t)(t - tests));
		fprintf(stderr, "unknown test %s\n", argv[2]);
		return 2;
	}
	if (argc == 2 && !strcmp(argv[1], "--list"))
		return selftest_list(tests, n);
	if (argc != 1) {
		fprintf(stderr, "usage: %s [--run NAME | --list]\n", argv[0]);
		return 2;
	}
	int fails = 0;
	for (size_t i = 0; i < n; i++)
		fails += run_one(i) != 0;
	return fails ? 1 : 0;
}
