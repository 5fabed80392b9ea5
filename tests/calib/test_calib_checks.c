/* SPDX-License-Identifier: MIT */
/* test_calib_checks.c - what `ukfork calibrate` says of its samples and its
 * fits: interval coverage under multiplicative noise (HC3), one sample that
 * alone moves a cost, samples refused or not fitted, spreads too small to
 * fit, the idle curve's missing spells. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <sqlite3.h>

#include "calib/calib.h"
#include "tests/common/selftest.h"

#define MIB 1048576.0

/* The project's noise model: a factor of mean 1, lognormal sigma s. */
static double factor(gsl_rng *r, double s)
{
	return exp(gsl_ran_gaussian(r, s) - s * s / 2);
}

/* Cold boots y = (a + b x) * factor (mul) or + normal(0, sd) (!mul), at
 * 8, 16 and 32 MiB, 20 each: how often of reps datasets the slope's 95%
 * interval holds b (fixed: the fork's slope-only fit, intercept a given). */
static double coverage(int mul, double level, int fixed, int reps)
{
	const double a = 856000, b = 1.2934;
	double x[60], y[60];
	int cov = 0;
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	gsl_rng_set(r, 1);
	for (int k = 0; k < reps; k++) {
		for (int i = 0; i < 60; i++) {
			x[i] = (8 << (i / 20)) * MIB;
			double c = a + b * x[i];
			y[i] = mul ? c * factor(r, level)
				   : c + gsl_ran_gaussian(r, level);
		}
		struct ukf_calib_line l;
		int rc = fixed ? ukf_calib_fit_slope(x, y, 60, a, &l)
			       : ukf_calib_fit_line(x, y, 60, &l);
		cov += rc == 0 && l.c1_lo <= b && b <= l.c1_hi;
	}
	gsl_rng_free(r);
	return (double)cov / reps;
}

/* The slope intervals cover about 95% under a multiplicative spread (the
 * classical ones: 89-91% for the line, 76% for the slope alone) and still
 * under an additive one. */
static int t_hc3_cover(void)
{
	const int reps = 2000;
	double ml = coverage(1, 0.3, 0, reps), mf = coverage(1, 0.3, 1, reps);
	double al = coverage(0, 5e6, 0, reps), af = coverage(0, 5e6, 1, reps);

	fprintf(stderr, "coverage of %d: line mul %.3f add %.3f; slope alone "
			"mul %.3f add %.3f\n",
		reps, ml, al, mf, af);
	CHECKF(ml >= 0.93 && ml <= 0.97, "line, multiplicative: %.3f", ml);
	CHECKF(mf >= 0.93 && mf <= 0.97, "slope alone, multiplicative: %.3f",
	       mf);
	CHECKF(al >= 0.93 && al <= 0.97, "line, additive: %.3f", al);
	CHECKF(af >= 0.93 && af <= 0.97, "slope alone, additive: %.3f", af);
	return 0;
}

/* Fit set s into a model file: its text in *file, the warnings in *warn,
 * the summary in *sum (each malloc'd). */
static int fit(const ukf_calib_set_t *s, char **file, char **warn, char **sum)
{
	char path[] = "/tmp/ukf-calib-checks.XXXXXX", err[512];
	size_t wl = 0, sl = 0;
	int fd = mkstemp(path);
	FILE *w = open_memstream(warn, &wl), *u = open_memstream(sum, &sl);

	if (fd < 0 || !w || !u)
		return -1;
	close(fd);
	int rc = ukf_calib_model_write(s, path, u, w, err, sizeof(err));
	fclose(w);
	fclose(u);
	if (rc < 0) {
		fprintf(stderr, "model_write: %s\n", err);
		unlink(path);
		return -1;
	}
	FILE *f = fopen(path, "r");
	size_t cap = 1 << 20, n = f ? fread(*file = malloc(cap), 1, cap - 1, f)
				    : 0;
	if (f)
		fclose(f);
	unlink(path);
	if (!f || !*file)
		return -1;
	(*file)[n] = 0;
	return 0;
}

/* 60 cold boots on a line, spread by a lognormal sigma 0.2, seed 7. */
static ukf_calib_set_t *boots(void)
{
	ukf_calib_set_t *s = ukf_calib_set_create();
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	gsl_rng_set(r, 7);
	for (int i = 0; i < 60; i++) {
		double x = (8 << (i / 20)) * MIB;
		ukf_calib_set_add(s, "boot", x,
				  (856000 + 1.2934 * x) * factor(r, 0.2));
	}
	gsl_rng_free(r);
	return s;
}

/* One 1 s boot among 60 of 10-50 ms: said on the warning stream and in
 * the file, naming it and its effect; none without it. */
static int t_outlier(void)
{
	ukf_calib_set_t *s = boots();
	char *file, *warn, *sum;

	CHECK(fit(s, &file, &warn, &sum) == 0);
	CHECKF(!strstr(warn, "warning"), "no outlier, yet: %s", warn);
	free(file), free(warn), free(sum);
	ukf_calib_set_add(s, "boot", 8 * MIB, 1e9);
	CHECK(fit(s, &file, &warn, &sum) == 0);
	fputs(warn, stderr);
	CHECKF(strstr(warn, "warning: one boot sample (x 8.38861e+06, ns "
			    "1e+09) alone moves the least-squares cost"),
	       "%s", warn);
	CHECK(strstr(warn, "without it"));
	CHECK(strstr(file, "#   warning: one boot sample (x 8.38861e+06"));
	free(file), free(warn), free(sum);
	ukf_calib_set_destroy(&s);

	/* A lone sample at its own size: 40 boots at 8 MiB and one 1 s boot
	 * at 64 MiB, which alone gives the line its slope. Its refit without
	 * it has one size left, a flat mean; before, the refit kept the full
	 * fit's line and went through the origin, and no warning came. */
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	gsl_rng_set(r, 7);
	s = ukf_calib_set_create();
	for (int i = 0; i < 40; i++)
		ukf_calib_set_add(s, "boot", 8 * MIB,
				  (856000 + 1.2934 * 8 * MIB) * factor(r, 0.2));
	gsl_rng_free(r);
	ukf_calib_set_add(s, "boot", 64 * MIB, 1e9);
	CHECK(fit(s, &file, &warn, &sum) == 0);
	fputs(warn, stderr);
	CHECKF(strstr(warn, "warning: one boot sample (x 6.71089e+07, ns "
			    "1e+09) alone moves the least-squares cost"),
	       "%s", warn);
	free(file), free(warn), free(sum);
	ukf_calib_set_destroy(&s);
	return 0;
}

/* A database of one calibration: 60 boots and one more (op, x, ns). */
static int db_with(const char *path, const char *op, double x, double ns)
{
	sqlite3 *db;
	char sql[256];
	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	int rc = sqlite3_exec(
	    db,
	    "CREATE TABLE calib_runs(id INTEGER PRIMARY KEY, date TEXT, host "
	    "TEXT, kvm TEXT, backend TEXT, plan TEXT, command TEXT, load TEXT, "
	    "n INTEGER);"
	    "CREATE TABLE calib_samples(calib INTEGER NOT NULL, op TEXT NOT "
	    "NULL, x REAL NOT NULL, ns REAL NOT NULL);"
	    "INSERT INTO calib_runs(id, date, n) VALUES (1, 'today', 20);"
	    "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k "
	    "WHERE i < 59) INSERT INTO calib_samples SELECT 1, 'boot', "
	    "(8 << (i / 20)) * 1048576.0, 1e7 + i * 1e5 FROM k;",
	    NULL, NULL, NULL);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO calib_samples VALUES (1, '%s', %.17g, %.17g)", op,
		 x, ns);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Refused at load, naming calibration, sample and values: a duration of 0
 * where the operation cannot take 0 (dropped unseen before), one beyond
 * an hour, an x beyond what a plan gives; taken: a 0 ns agent message, a
 * kind no fit takes (said when fitted: t_unknown). */
static int t_refused(void)
{
	const char *db = "/tmp/ukf-calib-checks-refused.db";
	static const struct {
		const char *op;
		double x, ns;
		const char *why; /* NULL: loaded */
	} c[] = {
	    {"boot", 32 * MIB, 0, "sample 61 (op 'boot', x 3.35544e+07, ns 0)"
				  ": a duration of 0"},
	    {"boot", 8 * MIB, 1e15, "a duration beyond an hour"},
	    {"boot", 1e18, 1e7, "x beyond 1 TiB"},
	    {"fork", 3e8, 1e7, "x beyond 2^28 pages"},
	    {"agent", 0, 0, NULL},
	    {"Boot", 8 * MIB, 0, NULL},
	    {"boot", 99999 * MIB, 3e12, NULL},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		ukf_calib_set_t *s = NULL;
		char err[512] = "";
		CHECK(db_with(db, c[i].op, c[i].x, c[i].ns) == 0);
		int rc = ukf_calib_load(db, 0, &s, err, sizeof(err));
		if (c[i].why)
			CHECKF(rc < 0 && strstr(err, "calibration 1, ") &&
				   strstr(err, c[i].why),
			       "case %zu: rc %d, '%s'", i, rc, err);
		else
			CHECKF(rc == 0 && ukf_calib_set_count(s) == 61,
			       "case %zu: %s", i, err);
		ukf_calib_set_destroy(&s);
	}
	unlink(db);
	return 0;
}

/* Kinds no fit takes (a misspelt 'Boot', 'boot '): counted and named. */
static int t_unknown(void)
{
	ukf_calib_set_t *s = boots();
	char *file, *warn, *sum;

	ukf_calib_set_add(s, "Boot", 8 * MIB, 1e7);
	ukf_calib_set_add(s, "boot ", 8 * MIB, 1e7);
	ukf_calib_set_add(s, "boot ", 8 * MIB, 1e7);
	CHECK(fit(s, &file, &warn, &sum) == 0);
	CHECKF(strstr(warn, "warning: 3 sample(s) of kinds no fit takes, not "
			    "fitted: 'Boot' x1, 'boot ' x2"),
	       "%s", warn);
	CHECK(strstr(file, "# warning: 3 sample(s) of kinds no fit takes"));
	free(file), free(warn), free(sum);
	ukf_calib_set_destroy(&s);
	CHECK(ukf_calib_kind_of("spell_300") && ukf_calib_kind_of("spell_gap") &&
	      ukf_calib_kind_of("boot_init_16") &&
	      ukf_calib_kind_of("dsavew_1000") && !ukf_calib_kind_of("spell_") &&
	      !ukf_calib_kind_of("boot_init_x") && !ukf_calib_kind_of("boot "));
	return 0;
}

/* An operation without a distribution key (touch): its slope's interval
 * as fitted, not times a spread's mean of 0. */
static int t_touch_mean(void)
{
	ukf_calib_set_t *s = boots();
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	char *file, *warn, *sum;
	static const double pages[] = {0, 64, 512, 2048};

	gsl_rng_set(r, 3);
	for (int i = 0; i < 36; i++) {
		double p = pages[i / 9];
		ukf_calib_set_add(s, "touch", p,
				  (1e6 + 20000 * p) * factor(r, 0.2));
	}
	gsl_rng_free(r);
	CHECK(fit(s, &file, &warn, &sum) == 0);
	const char *row = strstr(sum, "\ntouch");
	CHECKF(row && !strstr(row, "[0, 0]") && strstr(row, "ns/page ["),
	       "%s", sum);
	CHECKF(!strstr(file, "spread's mean 0.0000"), "%s", file);
	free(file), free(warn), free(sum);
	ukf_calib_set_destroy(&s);
	return 0;
}

/* Boots exactly on a line (spread 0, or rounding's): no boot_dist, and
 * jitter 0 - whichever way the rounding goes. */
static int t_no_spread(void)
{
	for (int k = 0; k < 3; k++) {
		ukf_calib_set_t *s = ukf_calib_set_create();
		char *file, *warn, *sum;
		for (int i = 0; i < 60; i++) {
			double x = (8 << (i / 20)) * MIB;
			/* k 0: exact; 1: the probe's line; 2: 0.01% */
			double y = k == 0 ? 1e6 + 1.25 * x
				   : k == 1 ? 856000 + 1.2934 * x
					    : (856000 + 1.2934 * x) *
						  (1 + 1e-4 * (i % 3 - 1));
			ukf_calib_set_add(s, "boot", x, y);
		}
		CHECK(fit(s, &file, &warn, &sum) == 0);
		CHECKF(!strstr(file, "\nboot_dist ="), "case %d: %s", k, file);
		CHECKF(strstr(file, "\njitter = 0.0000"), "case %d: %s", k,
		       file);
		CHECK(strstr(file, "spread by less than 0.1%: no boot_dist"));
		free(file), free(warn), free(sum);
		ukf_calib_set_destroy(&s);
	}
	return 0;
}

/* Idle clones whose spells are missing: the file names the missing
 * spell's samples, not too few clones. */
static int t_idle_missing(void)
{
	/* gap 1: spell_gap missing; 0: spell_1000 missing */
	for (int gap = 0; gap < 2; gap++) {
		ukf_calib_set_t *s = ukf_calib_set_create();
		char *file, *warn, *sum;
		for (int i = 0; i < 60; i++) {
			double x = (8 << (i / 20)) * MIB, f = 1 + 0.01 * (i % 7);
			ukf_calib_set_add(s, "agent", 0, 50000);
			ukf_calib_set_add(s, "clone_engine", x,
					  (500000 + 0.002 * x) * f);
			if (!gap)
				ukf_calib_set_add(s, "spell_gap", 0, 2e7);
			if (i % 5 == 0) {
				ukf_calib_set_add(s, "clone_idle_1000", x,
						  (600000 + 0.002 * x) * f);
				if (gap)
					ukf_calib_set_add(s, "spell_1000", 0,
							  1e9);
			}
		}
		CHECK(fit(s, &file, &warn, &sum) == 0);
		const char *want = !gap ? "no spell_1000 samples (this spell)"
					: "no spell_gap samples (the base "
					  "clones' spell)";
		CHECKF(strstr(file, want), "%s: %s", want, file);
		free(file), free(warn), free(sum);
		ukf_calib_set_destroy(&s);
	}
	return 0;
}

static const struct selftest tests[] = {
    {"hc3_cover", t_hc3_cover},	  {"outlier", t_outlier},
    {"refused", t_refused},	  {"unknown", t_unknown},
    {"touch_mean", t_touch_mean}, {"no_spread", t_no_spread},
    {"idle_missing", t_idle_missing},
};

int main(int argc, char **argv)
{
	return selftest_main(tests, SELFTEST_COUNT(tests), argc, argv);
}
