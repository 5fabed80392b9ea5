/* SPDX-License-Identifier: MIT */
/* plot.c - `ukfork report DB --plot DIR`: data files + a gnuplot script, run. */
#define _GNU_SOURCE
#include "results.h"
#include "results_int.h"
#include "report_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* At most this many points per CDF curve (evenly spaced ranks, both
 * ends kept): a million-request run still plots in a second. */
#define CDF_POINTS 2000
/* Histogram bins: ceil(sqrt(n)), at most this many. */
#define HIST_BINS 50

struct plotter {
	struct report *r;
	const char *dir;
	FILE *gp;       /* the script being written */
	FILE *log;      /* one line per plot written (may be NULL) */
	char **names;   /* base names of the plots, for the log */
	size_t nnames;
};

static int pfail(struct plotter *p, const char *fmt, const char *a,
		 const char *b)
{
	char m[400];
	snprintf(m, sizeof m, fmt, a, b);
	ukf_seterr(p->r->err, p->r->errlen, "%s", m);
	return -1;
}

/* fopen DIR/name for writing. */
static FILE *pfopen(struct plotter *p, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", p->dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		pfail(p, "%s: %s", path, strerror(errno));
	return f;
}

static int pclose_checked(struct plotter *p, FILE *f, const char *name)
{
	int bad = ferror(f);
	if (fclose(f) != 0 || bad)
		return pfail(p, "writing %s/%s failed", p->dir, name);
	return 0;
}

/* A label safe inside a gnuplot single-quoted string ('' for '; control
 * characters as ?); pct: % doubled too, for a string gnuplot takes as a
 * format (a tick label of set xtics (...)). */
static void gp_quote_pct(FILE *gp, const char *s, int pct)
{
	fputc('\'', gp);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\'')
			fputs("''", gp);
		else if (c == '%' && pct)
			fputs("%%", gp);
		else
			fputc(c < 0x20 || c == 0x7f ? '?' : c, gp);
	}
	fputc('\'', gp);
}

static void gp_quote(FILE *gp, const char *s)
{
	gp_quote_pct(gp, s, 0);
}

/*
 * A label as a double-quoted string column of a data file, one token
 * whatever it holds: " \ and control characters as octal escapes (\042,
 * \134, \012). The plots do not read it (their tick labels are in the
 * script, gp_quote): it is there for a reader of the data.
 */
static void data_quote(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\' || c < 0x20 || c == 0x7f)
			fprintf(f, "\\%03o", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/*
 * s as one word of a shell command inside a gnuplot comment line: bare
 * when it is made of characters no shell treats specially, else in '...'
 * (' as '\''), or, when it holds control characters, in bash's $'...'
 * with escapes: a comment never gets a raw newline (the rest of the name
 * was a gnuplot command) or carriage return.
 */
static void gp_comment_word(FILE *gp, const char *s)
{
	int plain = *s != 0, ctl = 0;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c < 0x20 || *c == 0x7f)
			ctl = 1;
		if (!isalnum(*c) && !strchr("_-./+,:@%=", *c))
			plain = 0;
	}
	if (plain) {
		fputs(s, gp);
		return;
	}
	fputs(ctl ? "$'" : "'", gp);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (!ctl && *c == '\'')
			fputs("'\\''", gp);
		else if (!ctl)
			fputc(*c, gp);
		else if (*c == '\n')
			fputs("\\n", gp);
		else if (*c == '\t')
			fputs("\\t", gp);
		else if (*c == '\\' || *c == '\'')
			fprintf(gp, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(gp, "\\x%02x", *c);
		else
			fputc(*c, gp);
	}
	fputc('\'', gp);
}

static void num(FILE *f, double x)
{
	if (isnan(x) || isinf(x))
		fputs(" NaN", f);
	else
		fprintf(f, " %.9g", x);
}

/* Remember base (e.g. "s1-latency-cdf") and start its plot in the script:
 * the PNG first; plot_end() repeats the plot command for the SVG. */
static int plot_begin(struct plotter *p, const char *base, const char *title,
		      const char *xlabel, const char *ylabel)
{
	char **n = realloc(p->names, (p->nnames + 1) * sizeof *n);
	if (!n || !(n[p->nnames] = strdup(base))) {
		if (n)
			p->names = n;
		return pfail(p, "%s%s: out of memory", p->r->path, "");
	}
	p->names = n;
	p->nnames++;
	fprintf(p->gp, "\nreset\nset termoption noenhanced\nset title ");
	gp_quote(p->gp, title);
	fprintf(p->gp, "\nset xlabel '%s'\nset ylabel '%s'\nset grid\n", xlabel,
		ylabel);
	return 0;
}

/* Write cmd (the plot command) for both terminals. */
static void plot_both(struct plotter *p, const char *base, const char *cmd)
{
	fprintf(p->gp,
		"set terminal pngcairo noenhanced size 900,560\n"
		"set output '%s.png'\n%s\nset output\n"
		"set terminal svg noenhanced size 900,560\n"
		"set output '%s.svg'\n%s\nset output\n",
		base, cmd, base, cmd);
}

/* ---- latency CDF per configuration ---- */

/*
 * s<i>-latency-cdf.dat: one block per configuration with completed
 * requests, "latency_ms fraction" at ranks k of the pooled, sorted
 * latencies of its runs; fraction = k / (all requests of those runs), so
 * each curve ends at the configuration's success rate, not at 1.
 */
static int plot_cdf(struct plotter *p, size_t si, const struct section *s)
{
	char base[64], data[80];
	snprintf(base, sizeof base, "s%zu-latency-cdf", si + 1);
	snprintf(data, sizeof data, "%s.dat", base);
	FILE *f = pfopen(p, data);
	if (!f)
		return -1;
	char *cmd = NULL;
	size_t cmdlen = 0, blocks = 0;
	FILE *c = open_memstream(&cmd, &cmdlen);
	if (!c) {
		fclose(f);
		return pfail(p, "%s%s: out of memory", p->r->path, "");
	}
	fputs("plot", c);
	for (size_t j = 0; j < s->nconfigs; j++) {
		const struct config *cf = &s->configs[j];
		size_t n = 0;
		double requests = 0;
		for (size_t k = 0; k < cf->nruns; k++) {
			n += cf->runs[k]->nlat;
			if (!isnan(cf->runs[k]->v[M_REQUESTS]))
				requests += cf->runs[k]->v[M_REQUESTS];
		}
		if (!n)
			continue;
		double *all = malloc(n * sizeof *all);
		if (!all) {
			fclose(c);
			free(cmd);
			fclose(f);
			return pfail(p, "%s%s: out of memory", p->r->path, "");
		}
		n = 0;
		for (size_t k = 0; k < cf->nruns; k++) {
			if (cf->runs[k]->nlat)
				memcpy(all + n, cf->runs[k]->lat,
				       cf->runs[k]->nlat * sizeof *all);
			n += cf->runs[k]->nlat;
		}
		ukf_stats_sort(all, n);
		fprintf(f, "%s# %s: %zu completed of %.0f requests\n",
			blocks ? "\n\n" : "", cf->label, n, requests);
		size_t step = n > CDF_POINTS ? (n + CDF_POINTS - 1) / CDF_POINTS
					     : 1;
		for (size_t k = 1; k <= n; k += step) {
			num(f, all[k - 1]);
			num(f, (double)k / requests);
			fputc('\n', f);
			if (k + step > n && k != n) {
				num(f, all[n - 1]);
				num(f, (double)n / requests);
				fputc('\n', f);
			}
		}
		free(all);
		fprintf(c, "%s '%s' index %zu using 1:2 with steps lw 2 title ",
			blocks ? "," : "", data, blocks);
		gp_quote(c, cf->label);
		blocks++;
	}
	int bad = fclose(c) != 0;
	if (pclose_checked(p, f, data) < 0 || bad || !cmd) {
		free(cmd);
		return -1;
	}
	if (blocks) {
		char title[512];
		snprintf(title, sizeof title,
			 "%s: request latency CDF (failed and unfinished "
			 "requests never arrive: curves end at the success "
			 "rate)",
			 s->scenario[0] ? s->scenario : "(unnamed)");
		if (plot_begin(p, base, title, "latency (ms)",
			       "fraction of requests ready") < 0) {
			free(cmd);
			return -1;
		}
		fputs("set key bottom right\nset yrange [0:1]\n", p->gp);
		plot_both(p, base, cmd);
	}
	free(cmd);
	return 0;
}

/* ---- policy comparison bars ---- */

/* Figure with its interval; a side without one is the figure itself. */
static void ci_cols(FILE *f, const struct ukf_ci *c)
{
	num(f, c->mean);
	num(f, isnan(c->lo) ? c->mean : c->lo);
	num(f, isnan(c->hi) ? c->mean : c->hi);
}

/* The bars' tick labels, the configurations' at 0, 1, ...: in the
 * script, where a single-quoted string keeps " and \ (a data file's
 * string cannot hold a ", and gnuplot's reading of escapes there is not
 * documented). */
static void bar_tics(FILE *gp, const struct section *s)
{
	fputs("set xtics rotate by -20 (", gp);
	for (size_t j = 0; j < s->nconfigs; j++) {
		fputs(j ? ", " : "", gp);
		gp_quote_pct(gp, s->configs[j].label, 1);
		fprintf(gp, " %zu", j);
	}
	fputs(")\n", gp);
}

/*
 * s<i>-compare.dat: per configuration, "index label" (data_quote) then
 * mean latency, p95 latency and success rate, each as "mean lo hi" (the 95%
 * Student-t interval across replications; lo = hi = mean with one replication).
 */
static int plot_compare(struct plotter *p, size_t si, const struct section *s)
{
	char base[64], base2[64], data[80], cmd[1024];
	snprintf(base, sizeof base, "s%zu-compare", si + 1);
	snprintf(base2, sizeof base2, "s%zu-success", si + 1);
	snprintf(data, sizeof data, "%s.dat", base);
	FILE *f = pfopen(p, data);
	if (!f)
		return -1;
	fputs("# index label  latency_mean_ms lo hi  latency_p95_ms lo hi  "
	      "success_rate lo hi\n",
	      f);
	int have_lat = 0, have_succ = 0; /* gnuplot refuses all-NaN plots */
	for (size_t j = 0; j < s->nconfigs; j++) {
		const struct config *c = &s->configs[j];
		have_lat |= !isnan(c->ci[M_LAT_MEAN].mean);
		have_succ |= !isnan(c->ci[M_SUCCESS].mean);
		fprintf(f, "%zu ", j);
		data_quote(f, c->label);
		ci_cols(f, &c->ci[M_LAT_MEAN]);
		ci_cols(f, &c->ci[M_LAT_P95]);
		ci_cols(f, &c->ci[M_SUCCESS]);
		fputc('\n', f);
	}
	if (pclose_checked(p, f, data) < 0)
		return -1;
	char title[512];
	const char *sc = s->scenario[0] ? s->scenario : "(unnamed)";
	snprintf(title, sizeof title,
		 "%s: latency of completed requests by configuration "
		 "(mean across runs, 95%% CI)",
		 sc);
	if (!have_lat)
		goto success;
	if (plot_begin(p, base, title, "configuration", "latency (ms)") < 0)
		return -1;
	fputs("set style data histograms\n"
	      "set style histogram errorbars gap 2 lw 1\n"
	      "set style fill solid 0.6 border -1\n"
	      "set yrange [0:*]\n",
	      p->gp);
	bar_tics(p->gp, s);
	snprintf(cmd, sizeof cmd,
		 "plot '%s' using 3:4:5 title 'mean', "
		 "'' using 6:7:8 title 'p95'",
		 data);
	plot_both(p, base, cmd);
success:
	if (!have_succ)
		return 0;
	snprintf(title, sizeof title,
		 "%s: success rate (ready / requests) by configuration "
		 "(mean across runs, 95%% CI)",
		 sc);
	if (plot_begin(p, base2, title, "configuration", "success rate") < 0)
		return -1;
	fputs("set style data histograms\n"
	      "set style histogram errorbars gap 2 lw 1\n"
	      "set style fill solid 0.6 border -1\n"
	      "set yrange [0:1.05]\n",
	      p->gp);
	bar_tics(p->gp, s);
	snprintf(cmd, sizeof cmd,
		 "plot '%s' using 9:10:11 title 'success rate'", data);
	plot_both(p, base2, cmd);
	return 0;
}

/* ---- time series from the samples table ---- */

/* The values of a one-column query bound to run id (malloc'ed; caller
 * frees; NULL when empty). */
static int column(struct report *r, const char *sql, int64_t run, int cols,
		  double **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(r->sq, sql, -1, &st, NULL) != SQLITE_OK)
		return ukf_report_sqerr(r, "reading samples");
	sqlite3_bind_int64(st, 1, run);
	int rc, nomem = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n + cols > cap) {
			size_t ncap = cap ? 2 * cap : 256 * (size_t)cols;
			double *q = realloc(*out, ncap * sizeof *q);
			if (!q) {
				nomem = 1;
				break;
			}
			*out = q;
			cap = ncap;
		}
		for (int i = 0; i < cols; i++)
			(*out)[(*n)++] = sqlite3_column_double(st, i);
	}
	if (nomem || rc != SQLITE_DONE) {
		if (!nomem)
			ukf_report_sqerr(r, "reading samples");
		else
			ukf_seterr(r->err, r->errlen,
					   "%s: out of memory", r->path);
		sqlite3_finalize(st);
		free(*out);
		*out = NULL;
		*n = 0;
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

/*
 * s<i>-timeseries.dat: one block per configuration, from its first run:
 * "t_s instances vcpus_used template_hits" at each sample time, the first
 * two summed over nodes, template_hits the instances of the run started
 * from a template (start = template) since the previous sample time.
 */
static int plot_series(struct plotter *p, size_t si, const struct section *s)
{
	char base[64], base2[64], data[80];
	snprintf(base, sizeof base, "s%zu-load", si + 1);
	snprintf(base2, sizeof base2, "s%zu-template-hits", si + 1);
	snprintf(data, sizeof data, "s%zu-timeseries.dat", si + 1);
	FILE *f = pfopen(p, data);
	if (!f)
		return -1;
	char *cmd1 = NULL, *cmd2 = NULL;
	size_t l1 = 0, l2 = 0, blocks = 0;
	FILE *c1 = open_memstream(&cmd1, &l1), *c2 = open_memstream(&cmd2, &l2);
	int rc = -1;
	if (!c1 || !c2) {
		pfail(p, "%s%s: out of memory", p->r->path, "");
		goto out;
	}
	fputs("plot", c1);
	fputs("plot", c2);
	for (size_t j = 0; j < s->nconfigs; j++) {
		const struct config *c = &s->configs[j];
		const struct run *run = c->runs[0];
		double *smp, *tt;
		size_t ns, nt;
		if (column(p->r,
			   "SELECT t, sum(instances), sum(vcpus_used) FROM "
			   "samples WHERE run = ? GROUP BY t ORDER BY t",
			   run->id, 3, &smp, &ns) < 0)
			goto out;
		if (!ns)
			continue;
		if (column(p->r,
			   "SELECT t_start FROM instances WHERE run = ? AND "
			   "start_code = 1 AND t_start IS NOT NULL ORDER BY "
			   "t_start",
			   run->id, 1, &tt, &nt) < 0) {
			free(smp);
			goto out;
		}
		fprintf(f, "%s# %s (run %lld)\n", blocks ? "\n\n" : "",
			c->label, (long long)run->id);
		size_t k = 0;
		for (size_t i = 0; i < ns; i += 3) {
			size_t hits = 0;
			while (k < nt && tt[k] <= smp[i]) {
				k++;
				hits++;
			}
			num(f, smp[i] / 1e9);
			num(f, smp[i + 1]);
			num(f, smp[i + 2]);
			fprintf(f, " %zu\n", hits);
		}
		free(smp);
		free(tt);
		fprintf(c1, "%s '%s' index %zu using 1:2 with lines lw 2 title ",
			blocks ? "," : "", data, blocks);
		gp_quote(c1, c->label);
		fprintf(c2, "%s '%s' index %zu using 1:4 with lines lw 2 title ",
			blocks ? "," : "", data, blocks);
		gp_quote(c2, c->label);
		blocks++;
	}
	if (fclose(c1) != 0 || fclose(c2) != 0) {
		c1 = c2 = NULL;
		pfail(p, "%s%s: out of memory", p->r->path, "");
		goto out;
	}
	c1 = c2 = NULL;
	if (pclose_checked(p, f, data) < 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	if (!blocks) { /* no samples in the section: no data, no plot */
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", p->dir, data);
		unlink(path);
	}
	if (blocks) {
		char title[512];
		const char *sc = s->scenario[0] ? s->scenario : "(unnamed)";
		snprintf(title, sizeof title,
			 "%s: load, instances summed over nodes (first run "
			 "of each configuration)",
			 sc);
		if (plot_begin(p, base, title, "time (s)", "instances") < 0)
			goto out;
		plot_both(p, base, cmd1);
		snprintf(title, sizeof title,
			 "%s: template hits (template starts since the "
			 "previous sample; first run of each configuration)",
			 sc);
		if (plot_begin(p, base2, title, "time (s)",
			       "template starts per sample interval") < 0)
			goto out;
		plot_both(p, base2, cmd2);
	}
	rc = 0;
out:
	if (c1)
		fclose(c1);
	if (c2)
		fclose(c2);
	if (f)
		fclose(f);
	free(cmd1);
	free(cmd2);
	return rc;
}

/* ---- bootbench histograms ---- */

/*
 * bootbench-run<id>.dat: "bin_center count bin_lo bin_hi" of the
 * launch-to-marker latencies (ms) of the boots that showed the marker:
 * ceil(sqrt(n)) bins (at most HIST_BINS) of equal width from min to max;
 * a value on a bin's upper edge counts in that bin only if it is the max.
 */
static int plot_boots(struct plotter *p, const struct run *run)
{
	char base[64], data[80], cmd[512];
	double *lat;
	size_t n;
	snprintf(base, sizeof base, "bootbench-run%lld", (long long)run->id);
	snprintf(data, sizeof data, "%s.dat", base);
	if (column(p->r,
		   "SELECT (t_marker - t_launch) / 1e6 FROM boots WHERE run = "
		   "? AND ok AND t_marker IS NOT NULL AND t_launch IS NOT NULL",
		   run->id, 1, &lat, &n) < 0)
		return -1;
	if (!n)
		return 0;
	ukf_stats_sort(lat, n);
	size_t bins = (size_t)ceil(sqrt((double)n));
	if (bins > HIST_BINS)
		bins = HIST_BINS;
	double lo = lat[0], hi = lat[n - 1];
	double w = hi > lo ? (hi - lo) / (double)bins : 1.0;
	if (hi <= lo)
		bins = 1;
	size_t *cnt = calloc(bins, sizeof *cnt);
	FILE *f = cnt ? pfopen(p, data) : NULL;
	if (!f) {
		if (!cnt)
			pfail(p, "%s%s: out of memory", p->r->path, "");
		free(cnt);
		free(lat);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		size_t b = (size_t)((lat[i] - lo) / w);
		cnt[b < bins ? b : bins - 1]++;
	}
	fprintf(f, "# run %lld: %zu boots that showed the marker, %zu bins\n",
		(long long)run->id, n, bins);
	for (size_t b = 0; b < bins; b++) {
		num(f, lo + w * ((double)b + 0.5));
		fprintf(f, " %zu", cnt[b]);
		num(f, lo + w * (double)b);
		num(f, lo + w * (double)(b + 1));
		fputc('\n', f);
	}
	free(cnt);
	free(lat);
	if (pclose_checked(p, f, data) < 0)
		return -1;
	char title[512];
	snprintf(title, sizeof title,
		 "bootbench run %lld (%s): launch-to-marker latency", (long long)run->id,
		 run->config[0] ? run->config : run->scenario);
	if (plot_begin(p, base, title, "latency (ms)", "boots") < 0)
		return -1;
	fprintf(p->gp, "set style fill solid 0.6 border -1\nset boxwidth %.9g\n"
		       "set yrange [0:*]\n",
		w);
	snprintf(cmd, sizeof cmd,
		 "plot '%s' using 1:2 with boxes notitle", data);
	plot_both(p, base, cmd);
	return 0;
}

/* ---- plots of an earlier report in DIR ---- */

/* The first line of every plots.gp this file writes. */
#define GP_HEAD "# plots.gp - written by `ukfork report "

/* A name this file writes: s<i>-<plot>.<ext>, bootbench-run<id>.<ext>. */
static int our_name(const char *n)
{
	static const char *const sfx[] = {
	    "-latency-cdf.dat",	 "-latency-cdf.png", "-latency-cdf.svg",
	    "-compare.dat",	 "-compare.png",     "-compare.svg",
	    "-success.png",	 "-success.svg",     "-timeseries.dat",
	    "-load.png",	 "-load.svg",	     "-template-hits.png",
	    "-template-hits.svg"};
	const char *p;
	if (n[0] == 's' && isdigit((unsigned char)n[1])) {
		for (p = n + 1; isdigit((unsigned char)*p); p++)
			;
		for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++)
			if (!strcmp(p, sfx[i]))
				return 1;
		return 0;
	}
	if (!strncmp(n, "bootbench-run", 13) && isdigit((unsigned char)n[13])) {
		for (p = n + 13; isdigit((unsigned char)*p); p++)
			;
		return !strcmp(p, ".dat") || !strcmp(p, ".png") ||
		       !strcmp(p, ".svg");
	}
	return 0;
}

/*
 * DIR holds the plots of an earlier `ukfork report --plot` (its plots.gp
 * says so): remove the files of our names, so that plots of sections or
 * bootbench runs this database does not have (s2-* after a file with two
 * scenarios) do not stay beside the new ones as if they were its. Other
 * files, and any file in a directory without our plots.gp, are kept.
 */
static void remove_old_plots(const char *dir)
{
	char path[4096], line[sizeof GP_HEAD];
	snprintf(path, sizeof path, "%s/plots.gp", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	int ours = fgets(line, sizeof line, f) && !strcmp(line, GP_HEAD);
	fclose(f);
	if (!ours)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (our_name(e->d_name)) {
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(d);
}

/* ---- running gnuplot ---- */

/* The gnuplot to run: $UKF_GNUPLOT, else "gnuplot" on PATH. Its path in
 * buf, or -1 with a message saying how to get it. */
/* prog (a name without a slash) in PATH's directories, into buf. */
static int in_path(const char *prog, char *buf, size_t cap)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, cap, "%.*s/%s", (int)n, path, prog);
		if (n && access(buf, X_OK) == 0)
			return 0;
		path += n + (path[n] == ':');
	}
	return -1;
}

static int find_gnuplot(struct report *r, char *buf, size_t cap)
{
	const char *g = getenv("UKF_GNUPLOT");
	if (g && *g) {
		/* a path, or a bare name looked up in PATH as a shell does */
		snprintf(buf, cap, "%s", g);
		if (strchr(g, '/') ? access(buf, X_OK) == 0
				   : in_path(g, buf, cap) == 0)
			return 0;
		ukf_seterr(r->err, r->errlen,
				   "--plot: UKF_GNUPLOT=%s is not an "
				   "executable program%s: no plots written",
				   g, strchr(g, '/') ? "" : " in PATH");
		return -1;
	}
	if (in_path("gnuplot", buf, cap) == 0)
		return 0;
	ukf_seterr(r->err, r->errlen,
			   "--plot needs gnuplot, which is not installed "
			   "(Debian: apt-get install gnuplot-nox): no plots "
			   "written");
	return -1;
}

/* gnuplot plots.gp in dir; its output goes to stderr. */
static int run_gnuplot(struct plotter *p, const char *prog)
{
	pid_t pid = fork();
	if (pid < 0)
		return pfail(p, "--plot: fork: %s%s", strerror(errno), "");
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		dup2(2, 1);
		if (chdir(p->dir) == 0)
			execl(prog, prog, "plots.gp", (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return pfail(p, "--plot: waitpid: %s%s",
				     strerror(errno), "");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		ukf_seterr(p->r->err, p->r->errlen,
				   "--plot: %s failed (%s %d) on %s/plots.gp",
				   prog,
				   WIFEXITED(st) ? "exit status" : "signal",
				   WIFEXITED(st) ? WEXITSTATUS(st)
						 : WTERMSIG(st),
				   p->dir);
		return -1;
	}
	return 0;
}

/*
 * Every PNG and SVG the script names is in DIR and not empty: a gnuplot
 * that exits 0 without drawing (a stand-in, a terminal missing from its
 * build, a full disk) is an error naming the files, not "wrote".
 */
static int check_outputs(struct plotter *p, const char *prog)
{
	char *miss = NULL;
	size_t len = 0, n = 0;
	FILE *m = open_memstream(&miss, &len);
	if (!m)
		return pfail(p, "%s%s: out of memory", p->r->path, "");
	for (size_t i = 0; i < p->nnames; i++)
		for (int k = 0; k < 2; k++) {
			char f[4096];
			struct stat sb;
			snprintf(f, sizeof f, "%s/%s.%s", p->dir, p->names[i],
				 k ? "svg" : "png");
			if (stat(f, &sb) == 0 && S_ISREG(sb.st_mode) &&
			    sb.st_size > 0)
				continue;
			if (n++ < 4)
				fprintf(m, "%s%s.%s", n > 1 ? ", " : "",
					p->names[i], k ? "svg" : "png");
		}
	if (n > 4)
		fprintf(m, " and %zu more", n - 4);
	if (fclose(m) != 0 || !miss) {
		free(miss);
		return pfail(p, "%s%s: out of memory", p->r->path, "");
	}
	if (n)
		ukf_seterr(p->r->err, p->r->errlen,
			   "--plot: %s exited 0 but %zu of the %zu plot files "
			   "are missing or empty in %s: %s",
			   prog, n, 2 * p->nnames, p->dir, miss);
	free(miss);
	return n ? -1 : 0;
}

int ukf_report_plot(const char *path, const char *dir, FILE *log, char *err,
		    size_t errlen)
{
	struct report r = {.path = path, .err = err, .errlen = errlen};
	struct plotter p = {.r = &r, .dir = dir, .log = log};
	char prog[4096];
	struct stat sb;
	int rc = -1;

	if (!path || !*path || !dir || !*dir) {
		ukf_seterr(err, errlen, "report: no %s given",
				   path && *path ? "plot directory" : "file");
		return -1;
	}
	if (find_gnuplot(&r, prog, sizeof prog) < 0)
		return -1;
	if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
		ukf_seterr(err, errlen, "--plot: %s: %s", dir,
				   strerror(errno));
		return -1;
	}
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		ukf_seterr(err, errlen, "--plot: %s: not a directory",
				   dir);
		return -1;
	}
	if (ukf_report_load(&r) < 0)
		goto done;
	remove_old_plots(dir);
	p.gp = pfopen(&p, "plots.gp");
	if (!p.gp)
		goto done;
	/* DB and DIR as shell words: a newline in either made the rest of
	 * the name a gnuplot command */
	fputs(GP_HEAD, p.gp);
	gp_comment_word(p.gp, path);
	fputs(" --plot ", p.gp);
	gp_comment_word(p.gp, dir);
	fputs("`; run: cd ", p.gp);
	gp_comment_word(p.gp, dir);
	fputs(" && gnuplot plots.gp\n", p.gp);
	for (size_t i = 0; i < r.nsections; i++) {
		const struct section *s = &r.sections[i];
		if (plot_cdf(&p, i, s) < 0 || plot_compare(&p, i, s) < 0 ||
		    plot_series(&p, i, s) < 0)
			goto done;
	}
	for (size_t i = 0; i < r.nruns; i++)
		if (!strcmp(r.runs[i].kind, "bootbench") &&
		    plot_boots(&p, &r.runs[i]) < 0)
			goto done;
	FILE *gp = p.gp;
	p.gp = NULL;
	if (pclose_checked(&p, gp, "plots.gp") < 0)
		goto done;
	if (p.nnames &&
	    (run_gnuplot(&p, prog) < 0 || check_outputs(&p, prog) < 0))
		goto done;
	for (size_t i = 0; i < p.nnames && log; i++)
		fprintf(log, "ukfork report: wrote %s/%s.png and .svg\n", dir,
			p.names[i]);
	if (!p.nnames && log)
		fprintf(log, "ukfork report: nothing to plot in %s\n", path);
	rc = 0;
done:
	if (p.gp)
		fclose(p.gp);
	for (size_t i = 0; i < p.nnames; i++)
		free(p.names[i]);
	free(p.names);
	ukf_report_done(&r);
	return rc;
}
