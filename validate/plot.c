/* SPDX-License-Identifier: MIT */
/* plot.c - `ukfork validate --plot DIR`: the real and simulated
 * request-to-ready CDFs per start kind, drawn by gnuplot. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../results/stats.h"
#include "validate_int.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* One side's CDF of kind k as a gnuplot data block: ms, fraction of all
 * that side's requests of kind k (so a curve ends at its success rate). */
static int write_block(FILE *f, const struct ukf_validate_side *s, int k,
		       const char *title)
{
	size_t all = 0, nb = 0;
	double *v = malloc((s->n ? s->n : 1) * sizeof(*v));

	if (!v)
		return -1;
	for (size_t j = 0; j < s->n; j++)
		if (s->kind[j] == k) {
			all++;
			if (!isnan(s->lat[j]))
				v[nb++] = s->lat[j];
		}
	ukf_stats_sort(v, nb);
	fprintf(f, "# %s, %s: %zu requests, %zu ready\n", title,
		ukf_validate_kind_name(k), all, nb);
	for (size_t j = 0; j < nb; j++)
		fprintf(f, "%.6f %.6f\n", v[j], (double)(j + 1) / (double)all);
	if (!nb) /* an empty block would end the index early */
		fprintf(f, "NaN NaN\n");
	fputs("\n\n", f);
	free(v);
	return 0;
}

static int find_gnuplot(char *buf, size_t cap)
{
	const char *g = getenv("UKF_GNUPLOT");
	const char *path = getenv("PATH");

	if (g && *g) {
		snprintf(buf, cap, "%s", g);
		return access(buf, X_OK);
	}
	if (!path || !*path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, cap, "%.*s/gnuplot", (int)n, path);
		if (n && access(buf, X_OK) == 0)
			return 0;
		path += n + (path[n] == ':');
	}
	return -1;
}

/* ukf_validate_plot_check, gnuplot's path into prog (cap bytes). */
static int plot_ready(const char *dir, char *prog, size_t cap, char *err,
		      size_t errlen)
{
	struct stat sb;

	if (find_gnuplot(prog, cap) < 0)
		return fail(err, errlen,
			    "--plot needs gnuplot (Debian: apt-get install "
			    "gnuplot-nox; or UKF_GNUPLOT=PROGRAM): no plot "
			    "written");
	if (!*dir)
		return fail(err, errlen, "--plot: an empty directory name");
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		return fail(err, errlen, "--plot: %s: %s", dir,
			    strerror(errno));
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return fail(err, errlen, "--plot: %s: not a directory", dir);
	if (access(dir, W_OK | X_OK) < 0)
		return fail(err, errlen, "--plot: %s: %s", dir,
			    strerror(errno));
	return 0;
}

int ukf_validate_plot_check(const char *dir, char *err, size_t errlen)
{
	char prog[4096];

	return plot_ready(dir, prog, sizeof(prog), err, errlen);
}

int ukf_validate_plot(const ukf_validate_result_t *r, const char *dir,
		      char *err, size_t errlen)
{
	char path[4096], prog[4096];
	FILE *f;
	int blk = 0;

	if (plot_ready(dir, prog, sizeof(prog), err, errlen) < 0)
		return -1;
	/* an earlier comparison's plot of a kind this one lacks would
	 * stay beside the new plots as if it were of this one */
	for (int k = 0; k < UKF_VALIDATE_NKINDS; k++)
		for (int t = 0; t < 2 && !r->kind_present[k]; t++) {
			snprintf(path, sizeof(path), "%s/validate-cdf-%s.%s",
				 dir, ukf_validate_kind_name(k),
				 t ? "svg" : "png");
			unlink(path);
		}
	snprintf(path, sizeof(path), "%s/validate-cdf.dat", dir);
	f = fopen(path, "w");
	if (!f)
		return fail(err, errlen, "--plot: %s: %s", path,
			    strerror(errno));
	fputs(
	    "# ukfork validate: request-to-ready (ms), cumulative fraction "
	    "of the requests of that start kind; blocks: per kind real, sim\n",
	    f);
	for (int k = 0; k < UKF_VALIDATE_NKINDS; k++)
		if (r->kind_present[k] &&
		    (write_block(f, &r->real, k, "real") < 0 ||
		     write_block(f, &r->sim, k, "sim") < 0)) {
			fclose(f);
			return fail(err, errlen, "--plot: out of memory");
		}
	if (fclose(f) != 0)
		return fail(err, errlen, "--plot: %s: %s", path,
			    strerror(errno));

	snprintf(path, sizeof(path), "%s/validate.gp", dir);
	f = fopen(path, "w");
	if (!f)
		return fail(err, errlen, "--plot: %s: %s", path,
			    strerror(errno));
	fputs("# ukfork validate --plot: run in this directory\n"
	      "set xlabel 'request to ready (ms)'\n"
	      "set ylabel 'fraction of requests'\n"
	      "set logscale x\nset key bottom right\nset grid\n"
	      "set yrange [0:1.05]\n",
	      f);
	for (int k = 0; k < UKF_VALIDATE_NKINDS; k++) {
		if (!r->kind_present[k])
			continue;
		const char *kn = ukf_validate_kind_name(k);
		for (int t = 0; t < 2; t++) {
			fprintf(
			    f,
			    "set terminal %s noenhanced size 800,500\n"
			    "set output 'validate-cdf-%s.%s'\n"
			    "set title 'request-to-ready CDF, %s starts: "
			    "real vs sim'\n"
			    "plot 'validate-cdf.dat' index %d using 1:2 with "
			    "steps lw 2 title 'real', '' index %d using 1:2 "
			    "with steps lw 2 dt 2 title 'sim'\n",
			    t ? "svg" : "pngcairo", kn, t ? "svg" : "png", kn,
			    blk, blk + 1);
		}
		blk += 2;
	}
	fputs("unset output\n", f);
	if (fclose(f) != 0)
		return fail(err, errlen, "--plot: %s: %s", path,
			    strerror(errno));

	pid_t pid = fork();
	if (pid < 0)
		return fail(err, errlen, "--plot: fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		dup2(2, 1);
		if (chdir(dir) == 0)
			execl(prog, prog, "validate.gp", (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return fail(err, errlen, "--plot: waitpid: %s",
				    strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return fail(err, errlen, "--plot: %s failed on %s/validate.gp",
			    prog, dir);
	return 0;
}
