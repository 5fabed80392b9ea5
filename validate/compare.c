/* SPDX-License-Identifier: MIT */
/* compare.c - the comparison core of `ukfork validate`: two sets of runs of a
 * results database -> metrics, relative errors with bootstrap intervals,
 * verdict. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>
#include <sqlite3.h>

#include "../results/results_int.h"
#include "../results/stats.h"
#include "core/ukf.h"
#include "validate_int.h"

static const char *const kind_names[UKF_VALIDATE_NKINDS] = {"cold", "template",
							    "fork"};
static const char *const stat_names[UKF_VALIDATE_NSTATS] = {
    "p50", "p95", "p99", "cold_frac", "load"};
/* The quantile of each of the first three stats (p50, p95, p99). */
static const double stat_q[3] = {0.50, 0.95, 0.99};

const char *ukf_validate_kind_name(int k)
{
	return k >= 0 && k < UKF_VALIDATE_NKINDS ? kind_names[k] : NULL;
}

const char *ukf_validate_stat_name(enum ukf_validate_stat s)
{
	return (unsigned)s < UKF_VALIDATE_NSTATS ? stat_names[s] : NULL;
}

int ukf_validate_stat_parse(const char *name)
{
	for (int s = 0; s < UKF_VALIDATE_NSTATS; s++)
		if (!strcmp(name, stat_names[s]))
			return s;
	return -1;
}

/* --where's words, and what each means in a message */
static const char *const where_names[UKF_VALIDATE_NWHERE] = {
    "local", "remote", "fetched"};
static const char *const where_texts[UKF_VALIDATE_NWHERE] = {
    "started on the requesting node", "started on another node",
    "started after a template fetch"};

static const char *where_text(int w)
{
	return w >= 0 && w < UKF_VALIDATE_NWHERE ? where_texts[w]
						 : "started at an unknown place";
}

const char *ukf_validate_where_name(int w)
{
	return w >= 0 && w < UKF_VALIDATE_NWHERE ? where_names[w] : "unknown";
}

int ukf_validate_where_parse(const char *name)
{
	for (int w = 0; name && w < UKF_VALIDATE_NWHERE; w++)
		if (!strcmp(name, where_names[w]))
			return w;
	return UKF_VALIDATE_WHERE_UNKNOWN;
}

void ukf_validate_opts_default(struct ukf_validate_opts *o)
{
	o->threshold = 0.05;
	o->checked = 1u << UKF_VALIDATE_P50 | 1u << UKF_VALIDATE_P95;
	o->seed = 1;
	o->resamples = 1000;
	o->level = 0.95;
	o->sim_pooled = 0;
}

unsigned ukf_validate_min_resamples(double level)
{
	if (!(level > 0 && level < 1))
		return UINT_MAX;
	/* 10 / (1 - 0.95) is 199.99999999999983 in doubles */
	return (unsigned)ceil(10 / (1 - level) - 1e-6);
}

/* Instance n (about to be pushed) belongs to run id (seed, rep). */
static int side_run(struct ukf_validate_side *s, int64_t id, int64_t seed,
		    int64_t rep)
{
	if (s->nrun && s->run[s->nrun - 1].id == id) {
		s->run[s->nrun - 1].count++;
		return 0;
	}
	if (s->nrun == s->caprun) {
		size_t cap = s->caprun ? 2 * s->caprun : 64;
		struct ukf_validate_run *r = realloc(s->run, cap * sizeof(*r));
		if (!r)
			return -1;
		s->run = r;
		s->caprun = cap;
	}
	s->run[s->nrun++] = (struct ukf_validate_run){
	    .id = id, .seed = seed, .rep = rep, .first = s->n, .count = 1};
	return 0;
}

static int side_push(struct ukf_validate_side *s, int kind, double lat,
		     int64_t node, const struct ukf_validate_times *t)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		int *k = realloc(s->kind, cap * sizeof(*k));
		if (!k)
			return -1;
		s->kind = k;
		double *l = realloc(s->lat, cap * sizeof(*l));
		if (!l)
			return -1;
		s->lat = l;
		int64_t *nd = realloc(s->node, cap * sizeof(*nd));
		if (!nd)
			return -1;
		s->node = nd;
		struct ukf_validate_times *tv = realloc(s->t, cap * sizeof(*tv));
		if (!tv)
			return -1;
		s->t = tv;
		s->cap = cap;
	}
	s->kind[s->n] = kind;
	s->lat[s->n] = lat;
	s->node[s->n] = node;
	s->t[s->n] = *t;
	s->n++;
	return 0;
}

static void side_free(struct ukf_validate_side *s)
{
	free(s->kind);
	free(s->lat);
	free(s->node);
	free(s->t);
	free(s->run);
	memset(s, 0, sizeof(*s));
}

/* Column c, a time in ns since the run's start, or -1 (NULL: never). */
static int64_t col_time(sqlite3_stmt *st, int c)
{
	if (sqlite3_column_type(st, c) == SQLITE_NULL)
		return -1;
	int64_t t = sqlite3_column_int64(st, c);
	return t >= 0 ? t : -1;
}

/* Load one side's instances; 0, or -1 with a message. */
static int load_side(sqlite3 *db, const char *which,
		     const struct ukf_validate_sel *sel,
		     struct ukf_validate_side *s, char *err, size_t errlen)
{
	/* a side's runs; a simulated run stored twice (the same scenario,
	 * config, settings, seed and rep selected again, e.g. one `ukfork
	 * run --db` repeated on the file) counts once, as in `ukfork report`:
	 * its copies, identical, would weigh its requests twice. A real run
	 * (kvm, cluster) repeated with the same seed is a measurement of its
	 * own (scripts/validate/repeat.sh pools two such sides): kept */
#define SEL(a)                                                                 \
	" " a ".kind = 'scenario' AND (?1 IS NULL OR " a ".config = ?1)"       \
	" AND (?2 IS NULL OR " a ".backend = ?2)"                              \
	" AND (?3 = 0 OR " a ".id >= ?3) AND (?4 = 0 OR " a ".id <= ?4)"
/* k = 1 for the first (lowest id) of its copies among the selected */
#define FIRST                                                                  \
	"SELECT r.id AS id, r.scenario_hash AS h, row_number() OVER"           \
	" (PARTITION BY r.scenario_hash,"                                      \
	" r.config, r.backend, r.seed, r.rep, r.settings_json,"                \
	" CASE WHEN r.backend = 'sim' THEN 0 ELSE r.id END ORDER BY r.id)"     \
	" AS k FROM runs r WHERE" SEL("r")
	static const char sql[] =
	    "SELECT i.start, i.t_request, i.t_ready, i.node, i.run,"
	    " coalesce(r.seed, 0), coalesce(r.rep, 0), i.t_placed,"
	    " i.t_start, i.t_exit, i.remote, i.template_fetched"
	    " FROM instances i JOIN runs r ON r.id = i.run"
	    " WHERE i.run IN (SELECT id FROM (" FIRST
	    ") WHERE k = 1) AND (?5 IS NULL OR i.app = ?5)"
	    " ORDER BY i.run, i.id";
	static const char sql_runs[] =
	    "SELECT count(*), coalesce(sum(k > 1), 0), count(DISTINCT h),"
	    " min(h) FROM (" FIRST ")";
#undef SEL
#undef FIRST
	sqlite3_stmt *st = NULL;
	/* --where: the instances that started there (a word not known,
	 * which the command refuses, keeps none) */
	int want = UKF_VALIDATE_WHERE_ANY;
	if (sel->where && (want = ukf_validate_where_parse(sel->where)) < 0)
		want = UKF_VALIDATE_NWHERE;
	int rc;

	for (int pass = 0; pass < 2; pass++) {
		if (sqlite3_prepare_v2(db, pass ? sql : sql_runs, -1, &st,
				       NULL) != SQLITE_OK) {
			ukf_seterr(err, errlen, "not a ukfork results database: %s",
			       sqlite3_errmsg(db));
			return -1;
		}
		sqlite3_bind_text(st, 1, sel->label, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, sel->backend, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, sel->id_lo);
		sqlite3_bind_int64(st, 4, sel->id_hi);
		if (pass)
			sqlite3_bind_text(st, 5, sel->app, -1, SQLITE_STATIC);
		if (!pass) {
			rc = sqlite3_step(st);
			if (rc != SQLITE_ROW) {
				ukf_seterr(err, errlen, "reading runs: %s",
					   sqlite3_errmsg(db));
				sqlite3_finalize(st);
				return -1;
			}
			s->dups = (size_t)sqlite3_column_int64(st, 1);
			s->nscen = (size_t)sqlite3_column_int64(st, 2);
			const unsigned char *h = sqlite3_column_text(st, 3);
			snprintf(s->scen, sizeof(s->scen), "%s",
				 h ? (const char *)h : "");
			s->runs = (size_t)sqlite3_column_int64(st, 0) - s->dups;
			sqlite3_finalize(st);
			if (!s->runs) {
				ukf_seterr(err, errlen,
				       "the %s side selects no scenario run",
				       which);
				return -1;
			}
			continue;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *k =
			    (const char *)sqlite3_column_text(st, 0);
			int kind = -1;
			double lat = NAN;
			int64_t node = -1;

			for (int j = 0; k && j < UKF_VALIDATE_NKINDS; j++)
				if (!strcmp(k, kind_names[j]))
					kind = j;
			if (sqlite3_column_type(st, 1) != SQLITE_NULL &&
			    sqlite3_column_type(st, 2) != SQLITE_NULL) {
				int64_t rq = sqlite3_column_int64(st, 1);
				int64_t rd = sqlite3_column_int64(st, 2);
				if (rd > 0 && rd >= rq)
					lat = (double)(rd - rq) / 1e6;
			}
			if (sqlite3_column_type(st, 3) != SQLITE_NULL)
				node = sqlite3_column_int64(st, 3);
			struct ukf_validate_times t = {
			    .request = col_time(st, 1),
			    .placed = col_time(st, 7),
			    .start = col_time(st, 8),
			    .ready = col_time(st, 2),
			    .exit = col_time(st, 9),
			    .where = UKF_VALIDATE_WHERE_UNKNOWN};
			if (sqlite3_column_int(st, 11))
				t.where = UKF_VALIDATE_WHERE_FETCHED;
			else if (sqlite3_column_type(st, 10) != SQLITE_NULL &&
				 node >= 0)
				t.where = sqlite3_column_int(st, 10)
					      ? UKF_VALIDATE_WHERE_REMOTE
					      : UKF_VALIDATE_WHERE_LOCAL;
			if (want != UKF_VALIDATE_WHERE_ANY && t.where != want)
				continue;
			if (side_run(s, sqlite3_column_int64(st, 4),
				     sqlite3_column_int64(st, 5),
				     sqlite3_column_int64(st, 6)) < 0 ||
			    side_push(s, kind, lat, node, &t) < 0) {
				sqlite3_finalize(st);
				ukf_seterr(err, errlen, "out of memory");
				return -1;
			}
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			ukf_seterr(err, errlen, "reading instances: %s",
			       sqlite3_errmsg(db));
			return -1;
		}
	}
	snprintf(s->app, sizeof(s->app), "%s", sel->app ? sel->app : "");
	s->where = want;
	if (!s->n) {
		if (sel->app || sel->where)
			ukf_seterr(err, errlen,
				   "the %s side's %zu run(s) have no instance "
				   "%s%s%s%s%s",
				   which, s->runs, sel->app ? "of app '" : "",
				   sel->app ? sel->app : "",
				   sel->app ? "'" : "",
				   sel->app && sel->where ? " " : "",
				   sel->where ? where_text(want) : "");
		else
			ukf_seterr(err, errlen,
				   "the %s side's %zu run(s) have no instance",
				   which, s->runs);
		return -1;
	}
	return 0;
}

/* One side's selection as the options that made it ("--real-runs 25-72
 * --real-backend sim"; "every scenario run" when none). */
static void sel_text(const char *which, const struct ukf_validate_sel *sel,
		     char *buf, size_t len)
{
	size_t l = 0;

	buf[0] = 0;
	if (sel->label)
		l += (size_t)snprintf(buf + l, l < len ? len - l : 0,
				      "%s--%s-label %s", l ? " " : "", which,
				      sel->label);
	if (sel->backend && l < len)
		l += (size_t)snprintf(buf + l, len - l, "%s--%s-backend %s",
				      l ? " " : "", which, sel->backend);
	if (sel->id_lo && l < len)
		l += (size_t)snprintf(buf + l, len - l, "%s--%s-runs %lld-%lld",
				      l ? " " : "", which,
				      (long long)sel->id_lo,
				      (long long)sel->id_hi);
	if (!l)
		snprintf(buf, len, "every scenario run");
}

/*
 * The runs compared on both sides (ids in ascending order on each: the
 * instances come run by run, ORDER BY i.run). A run on both sides is
 * compared with itself: --real-runs alone leaves the sim side its
 * default, every run of backend sim, so stand-in real runs of the
 * simulator were counted on both sides and pulled the errors towards 0
 * (a +6.9% FAIL printed +2.9% PASS). 0 none, else -1 with a message.
 */
static int check_disjoint(const struct ukf_validate_side *re,
			  const struct ukf_validate_side *si,
			  const struct ukf_validate_sel *rsel,
			  const struct ukf_validate_sel *ssel, char *err,
			  size_t errlen)
{
	size_t i = 0, j = 0, n = 0, nr = 0;
	char ids[160] = "", rt[300], st[300];
	size_t l = 0;
	int64_t lo = 0, hi = -2;

	/* the common ids, written as ranges "25-72, 80" (the first few) */
	for (;;) {
		int end = i >= re->nrun || j >= si->nrun;
		int64_t a = end ? 0 : re->run[i].id, b = end ? 0 : si->run[j].id;
		if (!end && a < b) {
			i++;
			continue;
		}
		if (!end && b < a) {
			j++;
			continue;
		}
		if (!end && a == hi + 1) { /* extends the current range */
			hi = a;
			n++;
			i++;
			j++;
			continue;
		}
		if (hi >= lo && hi >= 0 && l < sizeof(ids)) { /* flush it */
			if (nr < 4)
				l += (size_t)snprintf(ids + l, sizeof(ids) - l,
						      lo == hi ? "%s%lld"
							       : "%s%lld-%lld",
						      nr ? ", " : "",
						      (long long)lo,
						      (long long)hi);
			else if (nr == 4)
				l += (size_t)snprintf(ids + l, sizeof(ids) - l,
						      ", ...");
			nr++;
		}
		if (end)
			break;
		lo = hi = a;
		n++;
		i++;
		j++;
	}
	if (!n)
		return 0;
	sel_text("real", rsel, rt, sizeof(rt));
	sel_text("sim", ssel, st, sizeof(st));
	ukf_seterr(err, errlen,
		   "%zu run(s) on both sides (id %s): a run would be compared "
		   "with itself (the real side: %s; the sim side: %s); give "
		   "each side its own runs with --real-runs/--sim-runs A-B, "
		   "--real-label/--sim-label or --real-backend/--sim-backend "
		   "(a side given none of its three is backend kvm for real, "
		   "sim for sim)",
		   n, ids, rt, st);
	return -1;
}

/* The figures of the metrics of r, computed over the instances idx[0..m)
 * of side s (idx NULL: all of them, in order); out[i] for metric i,
 * cnt[i] the values it came from (may be NULL). buf holds m doubles.
 * With quantiles 0, only the fractions (the quantiles' out and cnt are
 * left as they are: group_mean gives them). */
static void compute(const struct ukf_validate_result *r,
		    const struct ukf_validate_side *s, const size_t *idx,
		    size_t m, double *buf, double *out, size_t *cnt,
		    int quantiles)
{
	size_t i = 0;

	for (int k = 0; k < UKF_VALIDATE_NKINDS; k++) {
		if (!r->kind_present[k])
			continue;
		if (!quantiles) {
			i += 3;
			continue;
		}
		size_t nb = 0;
		for (size_t j = 0; j < m; j++) {
			size_t x = idx ? idx[j] : j;
			if (s->kind[x] == k && !isnan(s->lat[x]))
				buf[nb++] = s->lat[x];
		}
		ukf_stats_sort(buf, nb);
		for (int t = 0; t < 3; t++, i++) {
			out[i] = nb ? ukf_stats_quantile(buf, nb, stat_q[t])
				    : NAN;
			if (cnt)
				cnt[i] = nb;
		}
	}
	size_t cold = 0;
	for (size_t j = 0; j < m; j++)
		cold += s->kind[idx ? idx[j] : j] == UKF_VALIDATE_COLD_KIND;
	out[i] = m ? (double)cold / (double)m : NAN;
	if (cnt)
		cnt[i] = m;
	i++;
	for (size_t nd = 0; nd < r->nnodes; nd++, i++) {
		size_t c = 0;
		for (size_t j = 0; j < m; j++)
			c += s->node[idx ? idx[j] : j] == r->nodes[nd];
		out[i] = m ? (double)c / (double)m : NAN;
		if (cnt)
			cnt[i] = m;
	}
}

/*
 * 1 when the error e lies beyond the threshold th (both relative). An
 * error equal to the threshold is within it, up to the rounding of the
 * division: (1.05 - 1) / 1 is 0.050000000000000044 and 5 / 100 is 0.05,
 * so a clone of 1.050 ms against 1.000 ms failed 5% while 105 ms against
 * 100 ms passed. The margin, 1e-9 of the threshold (and 1e-12 for a
 * threshold of 0), is far above the division's rounding (1e-16) and
 * below what a nanosecond can move an error: 1 ns in a request of 10 s
 * is 1e-10, 2e-9 of a 5% threshold.
 */
static int beyond(double e, double th)
{
	return fabs(e) > th * (1 + 1e-9) + 1e-12;
}

static double rel_err(double real, double sim)
{
	if (isnan(real) || isnan(sim))
		return NAN;
	if (real == 0)
		return sim == 0 ? 0 : NAN;
	return (sim - real) / real;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int add_node(struct ukf_validate_result *r, int64_t node)
{
	if (node < 0)
		return 0;
	for (size_t i = 0; i < r->nnodes; i++)
		if (r->nodes[i] == node)
			return 0;
	int64_t *n = realloc(r->nodes, (r->nnodes + 1) * sizeof(*n));
	if (!n)
		return -1;
	r->nodes = n;
	size_t i = r->nnodes++;
	while (i > 0 && r->nodes[i - 1] > node) { /* kept sorted */
		r->nodes[i] = r->nodes[i - 1];
		i--;
	}
	r->nodes[i] = node;
	return 0;
}

/* The metric list (names, stats, checked) from what the data hold. */
static int make_metrics(struct ukf_validate_result *r,
			const struct ukf_validate_opts *o)
{
	const struct ukf_validate_side *sides[2] = {&r->real, &r->sim};

	for (int sd = 0; sd < 2; sd++)
		for (size_t j = 0; j < sides[sd]->n; j++) {
			if (sides[sd]->kind[j] >= 0 &&
			    !isnan(sides[sd]->lat[j]))
				r->kind_present[sides[sd]->kind[j]] = 1;
			if (add_node(r, sides[sd]->node[j]) < 0)
				return -1;
		}
	size_t n = 1 + r->nnodes;
	for (int k = 0; k < UKF_VALIDATE_NKINDS; k++)
		n += r->kind_present[k] ? 3 : 0;
	r->m = calloc(n, sizeof(*r->m));
	if (!r->m)
		return -1;
	r->nm = n;
	size_t i = 0;
	for (int k = 0; k < UKF_VALIDATE_NKINDS; k++) {
		if (!r->kind_present[k])
			continue;
		for (int t = 0; t < 3; t++, i++) {
			snprintf(r->m[i].name, sizeof(r->m[i].name),
				 "%s %s (ms)", kind_names[k], stat_names[t]);
			r->m[i].stat = (enum ukf_validate_stat)t;
		}
	}
	snprintf(r->m[i].name, sizeof(r->m[i].name), "cold-start fraction");
	r->m[i++].stat = UKF_VALIDATE_COLD;
	for (size_t nd = 0; nd < r->nnodes; nd++, i++) {
		snprintf(r->m[i].name, sizeof(r->m[i].name), "load node %lld",
			 (long long)r->nodes[nd]);
		r->m[i].stat = UKF_VALIDATE_LOAD;
	}
	for (i = 0; i < n; i++)
		r->m[i].checked = !!(o->checked & 1u << r->m[i].stat);
	return 0;
}

/* How many of the first `upto` runs of side s have this seed. */
static size_t runs_of_seed(const struct ukf_validate_side *s, size_t upto,
			   int64_t seed)
{
	size_t c = 0;
	for (size_t j = 0; j < upto; j++)
		c += s->run[j].seed == seed;
	return c;
}

static int cmp_run_rep_seed(const void *a, const void *b)
{
	const struct ukf_validate_run *x = a, *y = b;
	if (x->rep != y->rep)
		return (x->rep > y->rep) - (x->rep < y->rep);
	if (x->seed != y->seed)
		return (x->seed > y->seed) - (x->seed < y->seed);
	return (x->id > y->id) - (x->id < y->id);
}

/*
 * Assign the simulated runs to groups shaped like the real side: for
 * each seed of the real runs, as many simulated runs of that seed (the
 * next ones by rep) in every group, when every real seed has enough for 2
 * groups; else, chunks of as many runs as the real side in (rep, seed)
 * order. grp[k]: the group of the simulated run k (its index in
 * r->sim.run), or -1 (in none). Sets r->groups (0: fewer than 2) and
 * r->group_runs. 0, or -1 (out of memory).
 */
static int make_groups(struct ukf_validate_result *r, long *grp)
{
	const struct ukf_validate_side *re = &r->real, *si = &r->sim;
	size_t ns = si->nrun, nr = re->nrun;
	struct ukf_validate_run *sorted = malloc((ns + 1) * sizeof(*sorted));
	size_t g = SIZE_MAX;

	if (!sorted)
		return -1;
	r->groups = r->group_runs = 0;
	for (size_t k = 0; k < ns; k++)
		grp[k] = -1;
	if (!nr || ns < 2 * nr) {
		free(sorted);
		return 0;
	}
	/* the simulated runs in (rep, seed) order; first = their index */
	for (size_t k = 0; k < ns; k++) {
		sorted[k] = si->run[k];
		sorted[k].first = k;
	}
	qsort(sorted, ns, sizeof(*sorted), cmp_run_rep_seed);
	/* by seed: G = min over the real seeds of sim(seed) / real(seed) */
	for (size_t i = 0; i < nr && g; i++) {
		int64_t seed = re->run[i].seed;
		if (runs_of_seed(re, i, seed)) /* counted at its first run */
			continue;
		size_t q = runs_of_seed(si, ns, seed) / runs_of_seed(re, nr, seed);
		if (q < g)
			g = q;
	}
	if (g >= 2 && g != SIZE_MAX) {
		r->groups_by_seed = 1;
		for (size_t i = 0; i < nr; i++) {
			int64_t seed = re->run[i].seed;
			if (runs_of_seed(re, i, seed))
				continue;
			size_t want = runs_of_seed(re, nr, seed), at = 0;
			for (size_t k = 0; k < ns && at < g * want; k++)
				if (sorted[k].seed == seed)
					grp[sorted[k].first] = (long)(at++ / want);
		}
	} else {
		r->groups_by_seed = 0;
		g = ns / nr;
		for (size_t k = 0; k < g * nr; k++)
			grp[sorted[k].first] = (long)(k / nr);
	}
	free(sorted);
	r->groups = g;
	r->group_runs = nr;
	return 0;
}

/* The simulated quantiles as the mean over the groups of gfig (groups x
 * nm, NaN where a group has no value: left out of the mean); the groups
 * pick[0..G) (NULL: each once). cnt (may be NULL): the values behind
 * them, summed. The fractions (cold start, load) are not touched: they
 * have no bias with the sample's size, and come from all the requests. */
static void group_mean(const struct ukf_validate_result *r, const double *gfig,
		       const size_t *gcnt, const size_t *pick, double *out,
		       size_t *cnt)
{
	for (size_t i = 0; i < r->nm; i++) {
		if (r->m[i].stat >= UKF_VALIDATE_COLD)
			continue;
		double sum = 0;
		size_t k = 0, c = 0;
		for (size_t j = 0; j < r->groups; j++) {
			size_t gj = pick ? pick[j] : j;
			double v = gfig[gj * r->nm + i];
			c += gcnt[gj * r->nm + i];
			if (isnan(v))
				continue;
			sum += v;
			k++;
		}
		out[i] = k ? sum / (double)k : NAN;
		if (cnt)
			cnt[i] = c;
	}
}

/* The most instances one run of side s has. */
static size_t max_run_count(const struct ukf_validate_side *s)
{
	size_t c = 0;
	for (size_t j = 0; j < s->nrun; j++)
		if (s->run[j].count > c)
			c = s->run[j].count;
	return c;
}

/* One bootstrap resample of side s into idx: its runs drawn with
 * replacement, each with all its instances (by_run), else its
 * instances one by one. Returns how many idx holds (at most
 * s->nrun * max_run_count(s) by run, s->n by instance). */
static size_t resample(gsl_rng *rng, const struct ukf_validate_side *s,
		       int by_run, size_t *idx)
{
	size_t m = 0;

	if (!by_run) {
		for (; m < s->n; m++)
			idx[m] = gsl_rng_uniform_int(rng, s->n);
		return m;
	}
	for (size_t j = 0; j < s->nrun; j++) {
		const struct ukf_validate_run *u =
		    &s->run[gsl_rng_uniform_int(rng, s->nrun)];
		for (size_t c = 0; c < u->count; c++)
			idx[m++] = u->first + c;
	}
	return m;
}

/* Point figures, bootstrap intervals of the errors, verdict. */
static int evaluate(struct ukf_validate_result *r,
		    const struct ukf_validate_opts *o)
{
	size_t nm = r->nm, B = o->resamples;
	/* each side's resample: its runs when it has enough of them
	 * (requests of one run share its minutes of the machine, and its
	 * mix of kinds, apps and nodes: resampled one by one they looked
	 * more independent than they are). The simulated side alike: by
	 * request, a cold-start fraction the same in every run (0.0690)
	 * had an interval of [-37.5%, +41.7%] */
	r->real_by_run = r->real.nrun >= UKF_VALIDATE_RUN_BOOT;
	r->sim_by_run = r->sim.nrun >= UKF_VALIDATE_RUN_BOOT;
	size_t rcap = r->real_by_run ? r->real.nrun * max_run_count(&r->real)
				     : r->real.n;
	size_t scap = r->sim_by_run ? r->sim.nrun * max_run_count(&r->sim)
				    : r->sim.n;
	size_t nmax = r->real.n > r->sim.n ? r->real.n : r->sim.n;
	if (scap > nmax)
		nmax = scap;
	double *buf = malloc(nmax * sizeof(*buf));
	double *fr = malloc(nm * sizeof(*fr)), *fs = malloc(nm * sizeof(*fs));
	size_t *cr = malloc(nm * sizeof(*cr)), *cs = malloc(nm * sizeof(*cs));
	size_t *idx = malloc(nmax * sizeof(*idx));
	double *errs = malloc(B * nm * sizeof(*errs));
	long *grp = malloc((r->sim.nrun + 1) * sizeof(*grp));
	size_t *ridx = malloc((rcap + 1) * sizeof(*ridx));
	double *rbuf = malloc((rcap + 1) * sizeof(*rbuf));
	double *gfig = NULL;
	size_t *gcnt = NULL, *pick = NULL;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	int ret = -1;

	if (!buf || !fr || !fs || !cr || !cs || !idx || !errs || !grp ||
	    !ridx || !rbuf || !rng)
		goto out;
	r->groups = 0;
	if (!o->sim_pooled && make_groups(r, grp) < 0)
		goto out;
	if (r->groups) {
		size_t G = r->groups;
		gfig = malloc(G * nm * sizeof(*gfig));
		gcnt = malloc(G * nm * sizeof(*gcnt));
		pick = malloc(G * sizeof(*pick));
		if (!gfig || !gcnt || !pick)
			goto out;
		for (size_t g = 0; g < G; g++) {
			size_t m = 0;
			for (size_t k = 0; k < r->sim.nrun; k++) {
				const struct ukf_validate_run *u =
				    &r->sim.run[k];
				if (grp[k] != (long)g)
					continue;
				for (size_t j = 0; j < u->count; j++)
					idx[m++] = u->first + j;
			}
			compute(r, &r->sim, idx, m, buf, gfig + g * nm,
				gcnt + g * nm, 1);
		}
	}
	compute(r, &r->real, NULL, r->real.n, buf, fr, cr, 1);
	/* grouped: the quantiles from the groups, the fractions from all */
	compute(r, &r->sim, NULL, r->sim.n, buf, fs, cs, !r->groups);
	if (r->groups)
		group_mean(r, gfig, gcnt, NULL, fs, cs);
	for (size_t i = 0; i < nm; i++) {
		struct ukf_validate_metric *m = &r->m[i];
		m->real = fr[i];
		m->sim = fs[i];
		m->n_real = cr[i];
		m->n_sim = cs[i];
		m->err = rel_err(fr[i], fs[i]);
	}
	gsl_rng_set(rng, (unsigned long)o->seed);
	for (size_t b = 0; b < B; b++) {
		size_t m = resample(rng, &r->real, r->real_by_run, ridx);
		compute(r, &r->real, ridx, m, rbuf, fr, NULL, 1);
		m = resample(rng, &r->sim, r->sim_by_run, idx);
		compute(r, &r->sim, idx, m, buf, fs, NULL, !r->groups);
		if (r->groups) {
			for (size_t g = 0; g < r->groups; g++)
				pick[g] = gsl_rng_uniform_int(rng, r->groups);
			group_mean(r, gfig, gcnt, pick, fs, NULL);
		}
		for (size_t i = 0; i < nm; i++)
			errs[i * B + b] = rel_err(fr[i], fs[i]);
	}
	for (size_t i = 0; i < nm; i++) {
		struct ukf_validate_metric *m = &r->m[i];
		double *e = errs + i * B;
		size_t ok = 0;
		for (size_t b = 0; b < B; b++) /* drop undefined resamples */
			if (!isnan(e[b]))
				e[ok++] = e[b];
		m->err_lo = m->err_hi = NAN;
		/* an interval only when nearly every resample gave a value */
		if (ok >= 10 && ok >= B - B / 50) {
			qsort(e, ok, sizeof(*e), cmp_double);
			double a = (1 - o->level) / 2;
			m->err_lo = ukf_stats_quantile(e, ok, a);
			m->err_hi = ukf_stats_quantile(e, ok, 1 - a);
		}
		/* a quantile with fewer than 5 values beyond it on a side:
		 * a resample never passes the sample's extreme, so the
		 * interval is too narrow (the cold p99 of 48 values, their
		 * largest: 63-67% of its 95% intervals held the truth) */
		if (m->stat < UKF_VALIDATE_COLD && !isnan(m->err_lo)) {
			double tail = 1 - stat_q[m->stat];
			double ns = r->groups ? (double)m->n_sim /
						    (double)r->groups
					      : (double)m->n_sim;
			m->thin = (double)m->n_real * tail < 5 - 1e-9 ||
				  ns * tail < 5 - 1e-9;
		}
		if (!m->checked)
			continue;
		if (isnan(m->real) && isnan(m->sim))
			continue; /* neither world has it: nothing to compare */
		if (isnan(m->err) || beyond(m->err, o->threshold))
			m->exceeded = 1;
	}
	ret = 0;
out:
	gsl_rng_free(rng);
	free(rbuf);
	free(ridx);
	free(pick);
	free(gcnt);
	free(gfig);
	free(grp);
	free(errs);
	free(idx);
	free(cs);
	free(cr);
	free(fs);
	free(fr);
	free(buf);
	return ret;
}

int ukf_validate_compare(const char *path, const struct ukf_validate_sel *real,
			 const struct ukf_validate_sel *sim,
			 const struct ukf_validate_opts *o,
			 ukf_validate_result_t **out, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	struct ukf_validate_result *r;

	*out = NULL;
	if (!(o->level > 0 && o->level < 1) ||
	    o->resamples < ukf_validate_min_resamples(o->level) ||
	    !(o->threshold >= 0) || o->seed > UINT32_MAX) {
		ukf_seterr(err, errlen,
			   "bad options (0 < level < 1, resamples >= 10 / (1 - "
			   "level), threshold >= 0, seed <= %lu)",
			   (unsigned long)UINT32_MAX);
		return -1;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		ukf_seterr(err, errlen, "%s: %s", path,
		       db ? sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return -1;
	}
	/* what `ukfork report` accepts: a ukfork results file of this
	 * schema (a newer one may mean other things by the same columns) */
	int empty = 0;
	char e1[600];
	if (ukf_results_check_schema(db, path, &empty, e1, sizeof(e1)) < 0 ||
	    empty) {
		if (empty)
			ukf_seterr(err, errlen,
				   "%s: empty, not a ukfork results database",
				   path);
		else
			ukf_seterr(err, errlen, "%s", e1);
		sqlite3_close(db);
		return -1;
	}
	r = calloc(1, sizeof(*r));
	if (r && !(r->path = strdup(path))) {
		free(r);
		r = NULL;
	}
	if (!r) {
		sqlite3_close(db);
		ukf_seterr(err, errlen, "out of memory");
		return -1;
	}
	char e2[1200];
	if (load_side(db, "real", real, &r->real, e2, sizeof(e2)) < 0 ||
	    load_side(db, "sim", sim, &r->sim, e2, sizeof(e2)) < 0) {
		ukf_seterr(err, errlen, "%s: %s", path, e2);
		goto fail;
	}
	if (check_disjoint(&r->real, &r->sim, real, sim, e2, sizeof(e2)) < 0) {
		ukf_seterr(err, errlen, "%s: %s", path, e2);
		goto fail;
	}
	sqlite3_close(db);
	db = NULL;
	if (make_metrics(r, o) < 0 || evaluate(r, o) < 0) {
		ukf_seterr(err, errlen, "out of memory");
		goto fail;
	}
	*out = r;
	return 0;
fail:
	sqlite3_close(db);
	ukf_validate_result_destroy(&r);
	return -1;
}

void ukf_validate_result_destroy(ukf_validate_result_t **rp)
{
	struct ukf_validate_result *r = rp ? *rp : NULL;

	if (!r)
		return;
	side_free(&r->real);
	side_free(&r->sim);
	free(r->nodes);
	free(r->m);
	free(r->path);
	free(r);
	*rp = NULL;
}

size_t ukf_validate_count(const ukf_validate_result_t *r)
{
	return r->nm;
}

const struct ukf_validate_metric *
ukf_validate_get(const ukf_validate_result_t *r, size_t i)
{
	return i < r->nm ? &r->m[i] : NULL;
}

int ukf_validate_failed(const ukf_validate_result_t *r)
{
	for (size_t i = 0; i < r->nm; i++)
		if (r->m[i].exceeded)
			return 1;
	return 0;
}

static void fig(FILE *out, double v, int frac)
{
	if (isnan(v))
		fprintf(out, " %10s", "-");
	else
		fprintf(out, frac ? " %10.4f" : " %10.3f", v);
}

static void pct(FILE *out, double v, int width)
{
	if (isnan(v))
		fprintf(out, " %*s", width, "-");
	else
		fprintf(out, " %+*.1f%%", width - 1, 100 * v);
}

void ukf_validate_print(const ukf_validate_result_t *r,
			const struct ukf_validate_opts *o, FILE *out)
{
	size_t nchk = 0, nbad = 0, nwide = 0, nthin = 0, nthinchk = 0;
	int wh = r->real.where != UKF_VALIDATE_WHERE_ANY;

	fprintf(out,
		"real: %zu run(s), %zu requests; sim: %zu run(s), %zu "
		"requests%s%s%s%s%s%s\n",
		r->real.runs, r->real.n, r->sim.runs, r->sim.n,
		r->real.app[0] || wh ? " (" : "",
		r->real.app[0] ? "of app " : "", r->real.app,
		r->real.app[0] && wh ? ", " : "",
		wh ? where_text(r->real.where) : "",
		r->real.app[0] || wh ? " only)" : "");
	/* (no hash stored: another tool's rows, nothing to say) */
	if (r->real.nscen > 1 || r->sim.nscen > 1)
		fprintf(
		    out,
		    "note: runs of several scenarios on one side (real %zu, "
		    "sim %zu), their requests pooled as if of one\n",
		    r->real.nscen, r->sim.nscen);
	else if (r->real.nscen == 1 && r->sim.nscen == 1 &&
		 strcmp(r->real.scen, r->sim.scen))
		fprintf(
		    out,
		    "note: the real and sim runs are of different scenarios "
		    "(content hash %.12s vs %.12s)\n",
		    r->real.scen, r->sim.scen);
	if (r->groups)
		fprintf(out,
			"sim: each quantile the mean over %zu groups of %zu "
			"simulated runs (%s; %zu of the %zu runs), the real "
			"side's size (%zu runs with instances): a quantile's "
			"estimate depends on the sample's size; fractions over "
			"all runs; --sim-pooled: quantiles too\n",
			r->groups, r->group_runs,
			r->groups_by_seed ? "the real runs' seeds, as many "
					    "runs of each"
					  : "in (rep, seed) order",
			r->groups * r->group_runs, r->sim.nrun,
			r->real.nrun);
	if (r->real.dups || r->sim.dups)
		fprintf(out,
			"left out: runs stored twice (same scenario, config, "
			"backend, settings, seed and rep), counted once: "
			"real %zu, sim %zu\n",
			r->real.dups, r->sim.dups);
	fprintf(out, "%-22s %6s %6s %10s %10s %8s  %s\n", "metric", "n real",
		"n sim", "real", "sim", "error",
		"bootstrap interval of the error");
	for (size_t i = 0; i < r->nm; i++) {
		const struct ukf_validate_metric *m = &r->m[i];
		int frac = m->stat >= UKF_VALIDATE_COLD;
		fprintf(out, "%-22s %6zu %6zu", m->name, m->n_real, m->n_sim);
		fig(out, m->real, frac);
		fig(out, m->sim, frac);
		pct(out, m->err, 8);
		fputs("  [", out);
		pct(out, m->err_lo, 7);
		fputs(",", out);
		pct(out, m->err_hi, 7);
		fputs(" ]", out);
		/* within the threshold, but its interval reaches past it
		 * on a side (or there is none): the point passed, the data
		 * do not show the agreement (an interval of [-98%, +5090%]
		 * printed "ok" like one of [-1%, +1%]) */
		int wide = m->checked && !m->exceeded && !isnan(m->err) &&
			   (isnan(m->err_lo) || isnan(m->err_hi) ||
			    beyond(m->err_lo, o->threshold) ||
			    beyond(m->err_hi, o->threshold));
		if (m->exceeded)
			fputs(isnan(m->err) ? "  FAIL (one world only)"
					    : "  FAIL",
			      out);
		else if (wide)
			fputs("  (wide) ok", out);
		else if (m->checked && !(isnan(m->real) && isnan(m->sim)))
			fputs("  ok", out);
		if (m->thin) {
			fputs("  (thin)", out);
			nthin++;
			nthinchk += m->checked;
		}
		fputc('\n', out);
		if (m->checked && !(isnan(m->real) && isnan(m->sim)))
			nchk++;
		nwide += wide;
		nbad += m->exceeded;
	}
	char list[128] = "";
	for (int s = 0; s < UKF_VALIDATE_NSTATS; s++)
		if (o->checked & 1u << s) {
			size_t l = strlen(list);
			snprintf(list + l, sizeof(list) - l, "%s%s",
				 l ? "," : "", stat_names[s]);
		}
	/* grouped: the groups are resampled for the quantiles, the runs
	 * (or requests) for the fractions */
	fprintf(out,
		"error = (sim - real) / real; %.0f%% percentile intervals, %u "
		"bootstrap resamples (real: of the %s; sim: %s%s; seed "
		"%llu)\n",
		100 * o->level, o->resamples,
		r->real_by_run ? "runs" : "requests",
		r->groups ? "its quantiles of the groups, its fractions "
			    : "",
		r->sim_by_run ? "of the runs" : "of the requests",
		(unsigned long long)o->seed);
	if (nbad)
		fprintf(out,
			"verdict: FAIL: %zu of %zu checked metrics (%s) beyond "
			"%g%%\n",
			nbad, nchk, list, 100 * o->threshold);
	else
		fprintf(out,
			"verdict: PASS: %zu checked metrics (%s) within %g%%\n",
			nchk, list, 100 * o->threshold);
	if (nwide)
		fprintf(out,
			"intervals: %zu of the metrics within %g%% have one "
			"reaching beyond it (\"(wide) ok\"): their "
			"point errors passed, the samples are too few to show "
			"the agreement (more runs narrow them; "
			"scripts/validate/noise-floor.sh gives the spread a "
			"right model's validation has)\n",
			nwide, 100 * o->threshold);
	if (nthin)
		fprintf(out,
			"thin: %zu of the quantiles (%zu of them checked) have "
			"fewer than 5 values beyond them on a side (n x (1 - "
			"p) < 5, the simulated n per group; \"(thin)\"): a "
			"resample never passes the sample's extreme, so their "
			"intervals are too narrow, lower bounds on the "
			"uncertainty (the verdict is on the point error)\n",
			nthin, nthinchk);
}
