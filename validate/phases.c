/* SPDX-License-Identifier: MIT */
/* phases.c - `ukfork validate --phases`: where each world's time goes, per
 * start kind and where the instance started, phase by phase. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sort.h>
#include <sqlite3.h>
#include <gsl/gsl_statistics_double.h>

#include "../results/stats.h"
#include "core/ukf.h"
#include "validate_int.h"

/* The measures of a group, each a median over its completed requests. */
enum {
	PH_PLACED, /* request -> placed */
	PH_START,  /* placed -> start */
	PH_READY,  /* start -> ready */
	PH_TOTAL,  /* request -> ready */
	PH_IDLE,   /* the node's spell before the placement */
	NPH
};

static const char *const ph_names[NPH] = {
    "request -> placed", "placed -> start", "start -> ready",
    "request -> ready", "node idle before"};

/* A node's activity at time t (an instance's start, ready or exit). */
struct act {
	int64_t node, t;
};

static int cmp_act(const void *a, const void *b)
{
	const struct act *u = a, *v = b;
	if (u->node != v->node)
		return (u->node > v->node) - (u->node < v->node);
	return (u->t > v->t) - (u->t < v->t);
}

/* Run id's activity, every instance's of it (whatever --app and --where
 * kept of them), into *a (grown as needed, *cap), sorted by node and
 * time: *na of them. 0, or -1 with a message. */
static int run_activity(sqlite3 *db, sqlite3_stmt *st, int64_t id,
			struct act **a, size_t *na, size_t *cap, char *err,
			size_t errlen)
{
	int rc;

	*na = 0;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t node = sqlite3_column_int64(st, 0);
		for (int c = 1; c <= 3; c++) {
			if (sqlite3_column_type(st, c) == SQLITE_NULL ||
			    sqlite3_column_int64(st, c) < 0)
				continue;
			if (*na == *cap) {
				size_t nc = *cap ? 2 * *cap : 256;
				struct act *v = realloc(*a, nc * sizeof(*v));
				if (!v) {
					ukf_seterr(err, errlen, "out of memory");
					return -1;
				}
				*a = v;
				*cap = nc;
			}
			(*a)[(*na)++] =
			    (struct act){node, sqlite3_column_int64(st, c)};
		}
	}
	if (rc != SQLITE_DONE) {
		ukf_seterr(err, errlen, "reading run %lld's instances: %s",
			   (long long)id, sqlite3_errmsg(db));
		return -1;
	}
	qsort(*a, *na, sizeof(**a), cmp_act);
	return 0;
}

/*
 * spell[i]: how long instance i's node had been idle when i was placed
 * there, in ms: since the last start, ready or exit of any instance of
 * its run on that node strictly before the placement (the run's start if
 * none; the instances --app or --where left out count too, as the node
 * was busy with them); NaN when i has no node or no placement time. The
 * runs' instances are read again from the database. 0, or -1 with a
 * message.
 */
static int spells(sqlite3 *db, const struct ukf_validate_side *s,
		  double *spell, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	struct act *a = NULL;
	size_t na = 0, cap = 0;
	int rc = -1;

	if (sqlite3_prepare_v2(db,
			       "SELECT node, t_start, t_ready, t_exit FROM "
			       "instances WHERE run = ?1 AND node IS NOT NULL",
			       -1, &st, NULL) != SQLITE_OK) {
		ukf_seterr(err, errlen, "reading instances: %s",
			   sqlite3_errmsg(db));
		return -1;
	}
	for (size_t k = 0; k < s->nrun; k++) {
		size_t first = s->run[k].first, end = first + s->run[k].count;
		if (run_activity(db, st, s->run[k].id, &a, &na, &cap, err,
				 errlen) < 0)
			goto out;
		for (size_t i = first; i < end; i++) {
			int64_t node = s->node[i], placed = s->t[i].placed;
			spell[i] = NAN;
			if (node < 0 || placed < 0)
				continue;
			/* the last activity on node before placed */
			size_t lo = 0, hi = na;
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				if (a[mid].node < node ||
				    (a[mid].node == node && a[mid].t < placed))
					lo = mid + 1;
				else
					hi = mid;
			}
			int64_t since = lo > 0 && a[lo - 1].node == node
					    ? a[lo - 1].t
					    : 0;
			spell[i] = (double)(placed - since) / 1e6;
		}
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	free(a);
	return rc;
}

/* The phase p of instance i of s in ms (NaN: a time missing). */
static double phase(const struct ukf_validate_side *s, const double *spell,
		    size_t i, int p)
{
	const struct ukf_validate_times *t = &s->t[i];
	int64_t a, b;

	switch (p) {
	case PH_PLACED:
		a = t->request, b = t->placed;
		break;
	case PH_START:
		a = t->placed, b = t->start;
		break;
	case PH_READY:
		a = t->start, b = t->ready;
		break;
	case PH_TOTAL:
		return s->lat[i];
	default:
		return spell[i];
	}
	return a >= 0 && b >= a ? (double)(b - a) / 1e6 : NAN;
}

static int where_of(const struct ukf_validate_side *s, size_t i)
{
	int w = s->t[i].where;
	return w >= 0 && w < UKF_VALIDATE_NWHERE ? w : UKF_VALIDATE_NWHERE;
}

/* The median of measure p over side s's completed requests of kind k
 * started at w (NaN: none; spell may be NULL for PH_TOTAL). buf: scratch
 * of s->n doubles. */
static double median(const struct ukf_validate_side *s, const double *spell,
		     int k, int w, int p, double *buf)
{
	size_t m = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (s->kind[i] != k || isnan(s->lat[i]) || where_of(s, i) != w)
			continue;
		double v = phase(s, spell, i, p);
		if (!isnan(v))
			buf[m++] = v;
	}
	if (!m)
		return NAN;
	gsl_sort(buf, 1, m);
	return gsl_stats_median_from_sorted_data(buf, 1, m);
}

/* One side's figures for kind k, where w: n completed requests, their
 * share of the kind's completed ones, each measure's median (NaN: none).
 * buf: scratch of s->n doubles. */
static void group(const struct ukf_validate_side *s, const double *spell,
		  int k, int w, double *buf, size_t *n, double *share,
		  double med[NPH])
{
	size_t all = 0;

	*n = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->kind[i] == k && !isnan(s->lat[i])) {
			all++;
			*n += where_of(s, i) == w;
		}
	*share = all ? (double)*n / (double)all : NAN;
	for (int p = 0; p < NPH; p++)
		med[p] = median(s, spell, k, w, p, buf);
}

/* A completed request of one kind: its request -> ready and where it
 * started. */
struct lw {
	double lat;
	int where;
};

static int cmp_lw(const void *a, const void *b)
{
	const struct lw *u = a, *v = b;
	if (u->lat != v->lat)
		return (u->lat > v->lat) - (u->lat < v->lat);
	return (u->where > v->where) - (u->where < v->where);
}

/* Where a quantile's value started. */
struct src {
	size_t rank, n;	  /* its nearest rank, 1-based, of n; 0: none */
	int where;	  /* its start */
	size_t other;	  /* the nearest rank of another start, 0: none */
	int other_where;  /* that start */
};

/* Side s's quantile q of kind k (nearest rank, ukf_stats_rank, as the
 * comparison's).
 * v: scratch of s->n. */
static struct src source(const struct ukf_validate_side *s, int k, double q,
			 struct lw *v)
{
	struct src o = {0};
	size_t m = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->kind[i] == k && !isnan(s->lat[i]))
			v[m++] = (struct lw){s->lat[i], where_of(s, i)};
	o.n = m;
	if (!m)
		return o;
	qsort(v, m, sizeof(*v), cmp_lw);
	size_t r = ukf_stats_rank(m, q);
	o.rank = r;
	o.where = v[r - 1].where;
	for (size_t d = 1; d < m && !o.other; d++) {
		if (r > d && v[r - 1 - d].where != o.where)
			o.other = r - d;
		else if (r + d <= m && v[r - 1 + d].where != o.where)
			o.other = r + d;
	}
	if (o.other)
		o.other_where = v[o.other - 1].where;
	return o;
}

/* "  real: remote (rank 168 of 336; a local start 1 rank below)" */
static void put_source(FILE *out, const char *side, const struct src *o)
{
	fprintf(out, "  %s: ", side);
	if (!o->rank) {
		fputs("-", out);
		return;
	}
	fprintf(out, "%s (rank %zu of %zu; ", ukf_validate_where_name(o->where),
		o->rank, o->n);
	if (!o->other) {
		fputs("all of one start)", out);
		return;
	}
	size_t d = o->other > o->rank ? o->other - o->rank
				      : o->rank - o->other;
	fprintf(out, "a %s start %zu rank%s %s)",
		ukf_validate_where_name(o->other_where),
		d, d == 1 ? "" : "s", o->other > o->rank ? "above" : "below");
}

/* Where each quantile's value started, on both sides: a quantile whose
 * value is of another start in each world (a fork p50 at the border of
 * the local and remote forks) moves with a few placements, not with the
 * times. 0, or -1 out of memory. */
static int put_sources(const ukf_validate_result_t *r, FILE *out)
{
	size_t most = r->real.n > r->sim.n ? r->real.n : r->sim.n;
	struct lw *v = malloc((most + 1) * sizeof(*v));
	double *buf = malloc((most + 1) * sizeof(double));
	static const double q[3] = {0.50, 0.95, 0.99};
	static const char *const qn[3] = {"p50", "p95", "p99"};

	if (!v || !buf) {
		free(v);
		free(buf);
		return -1;
	}
	fprintf(out,
		"\nwhere each quantile's value started (nearest rank; sim over "
		"all its requests),\nand the nearest rank of another start:\n");
	for (int k = 0; k < UKF_VALIDATE_NKINDS; k++)
		for (int t = 0; t < 3; t++) {
			struct src a = source(&r->real, k, q[t], v);
			struct src b = source(&r->sim, k, q[t], v);
			if (!a.rank && !b.rank)
				continue;
			fprintf(out, "%s %s", ukf_validate_kind_name(k), qn[t]);
			put_source(out, "real", &a);
			put_source(out, "sim", &b);
			/* starts of different costs (the real side's
			 * medians 10% apart or more): the shares decide */
			if (a.rank && b.rank && a.where != b.where) {
				double ma = median(&r->real, NULL, k, a.where,
						   PH_TOTAL, buf),
				       mb = median(&r->real, NULL, k, b.where,
						   PH_TOTAL, buf);
				if (isnan(mb))
					fputs("  <- different starts, the "
					      "real side has none of the "
					      "sim's",
					      out);
				else if (ma > 0 && mb > 0 &&
					 fabs(mb / ma - 1) >= 0.1)
					fprintf(out,
						"  <- different starts, their "
						"real medians %.3g and %.3g "
						"ms: the shares decide",
						ma, mb);
			}
			fputc('\n', out);
		}
	free(v);
	free(buf);
	return 0;
}

static void num(FILE *out, double v, const char *fmt)
{
	if (isnan(v))
		fprintf(out, " %10s", "-");
	else
		fprintf(out, fmt, v);
}

int ukf_validate_print_phases(const ukf_validate_result_t *r, FILE *out,
			      char *err, size_t errlen)
{
	const struct ukf_validate_side *sd[2] = {&r->real, &r->sim};
	size_t most = r->real.n > r->sim.n ? r->real.n : r->sim.n;
	double *spell[2] = {malloc((r->real.n + 1) * sizeof(double)),
			    malloc((r->sim.n + 1) * sizeof(double))};
	double *buf = malloc((most + 1) * sizeof(double));
	sqlite3 *db = NULL;
	int rc = -1;

	if (!spell[0] || !spell[1] || !buf) {
		ukf_seterr(err, errlen, "out of memory");
		goto out;
	}
	if (sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		ukf_seterr(err, errlen, "%s: %s", r->path,
			   db ? sqlite3_errmsg(db) : "cannot open");
		goto out;
	}
	if (spells(db, &r->real, spell[0], err, errlen) < 0 ||
	    spells(db, &r->sim, spell[1], err, errlen) < 0)
		goto out;
	fprintf(out,
		"\nphases: medians over the completed requests of each start "
		"kind, by where it started\n"
		"(local: on the requesting node; remote: on another; fetched: "
		"after fetching its template),\n"
		"in ms; sim over all its requests; node idle before: since "
		"the last start, ready or exit\n"
		"of an instance of the run on that node before the "
		"placement\n");
	fprintf(out, "%-9s %-8s %-18s %10s %10s %10s %8s\n", "kind", "where",
		"measure", "real", "sim", "sim-real", "error");
	for (int k = 0; k < UKF_VALIDATE_NKINDS; k++)
		for (int w = 0; w <= UKF_VALIDATE_NWHERE; w++) {
			size_t n[2];
			double share[2], med[2][NPH];
			for (int j = 0; j < 2; j++)
				group(sd[j], spell[j], k, w, buf, &n[j],
				      &share[j], med[j]);
			if (!n[0] && !n[1])
				continue;
			const char *kn = ukf_validate_kind_name(k);
			const char *wn = ukf_validate_where_name(w);
			fprintf(out, "%-9s %-8s %-18s %10zu %10zu\n", kn, wn,
				"requests", n[0], n[1]);
			fprintf(out, "%-9s %-8s %-18s", kn, wn,
				"share of the kind");
			num(out, share[0], " %10.4f");
			num(out, share[1], " %10.4f");
			num(out, share[1] - share[0], " %+10.4f");
			fputc('\n', out);
			for (int p = 0; p < NPH; p++) {
				double a = med[0][p], b = med[1][p];
				fprintf(out, "%-9s %-8s %-18s", kn, wn,
					ph_names[p]);
				num(out, a, " %10.4f");
				num(out, b, " %10.4f");
				num(out, b - a, " %+10.4f");
				if (a > 0 && !isnan(b))
					fprintf(out, " %+7.1f%%",
						100 * (b - a) / a);
				fputc('\n', out);
			}
		}
	rc = put_sources(r, out);
	if (rc < 0)
		ukf_seterr(err, errlen, "out of memory");
out:
	sqlite3_close(db);
	free(spell[0]);
	free(spell[1]);
	free(buf);
	return rc;
}
