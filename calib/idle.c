/* SPDX-License-Identifier: MIT */
/* idle.c - the idle-spell fit of `ukfork calibrate`: what a template clone costs more after the node had nothing to do for a while (idle_curve). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "calib.h"
#include "../sim/sim.h"

#define BOOT_REPS 2000
#define BOOT_SEED 0x1d1eULL

/* The median of v[0..n) (n >= 1), sorting v. */
static double median_sort(double *v, size_t n)
{
	gsl_sort(v, 1, n);
	return gsl_stats_median_from_sorted_data(v, 1, n);
}

/* The 95% percentile interval of BOOT_REPS bootstrap estimates (sorting
 * them). */
static void interval95(double *boot, double *lo, double *hi)
{
	gsl_sort(boot, 1, BOOT_REPS);
	*lo = gsl_stats_quantile_from_sorted_data(boot, 1, BOOT_REPS, 0.025);
	*hi = gsl_stats_quantile_from_sorted_data(boot, 1, BOOT_REPS, 0.975);
}

/* The median of a copy of v[0..n) into tmp. */
static double median_of(const double *v, size_t n, double *tmp)
{
	memcpy(tmp, v, n * sizeof(*v));
	return median_sort(tmp, n);
}

/*
 * The base clones grouped by size: sizes[k] (increasing), the indices of
 * its clones idx[start[k] .. start[k + 1]). Sizes are exact byte counts
 * (from the engine trace), so equal doubles are one size.
 */
struct groups {
	size_t nsz;
	double *sizes;
	size_t *start, *idx;
};

struct xi {
	double x;
	size_t i;
};

static int cmp_xi(const void *a, const void *b)
{
	const struct xi *u = a, *v = b;
	if (u->x != v->x)
		return (u->x > v->x) - (u->x < v->x);
	return (u->i > v->i) - (u->i < v->i);
}

static void groups_free(struct groups *g)
{
	free(g->sizes);
	free(g->start);
	free(g->idx);
}

static int groups_make(const double *bx, size_t nb, struct groups *g)
{
	struct xi *p = malloc((nb + 1) * sizeof(*p));

	memset(g, 0, sizeof(*g));
	g->sizes = malloc((nb + 1) * sizeof(double));
	g->start = malloc((nb + 1) * sizeof(size_t));
	g->idx = malloc((nb + 1) * sizeof(size_t));
	if (!p || !g->sizes || !g->start || !g->idx) {
		free(p);
		groups_free(g);
		return -1;
	}
	for (size_t i = 0; i < nb; i++)
		p[i] = (struct xi){ bx[i], i };
	qsort(p, nb, sizeof(*p), cmp_xi);
	for (size_t i = 0; i < nb; i++)
		g->idx[i] = p[i].i;
	free(p);
	for (size_t i = 0; i < nb; i++)
		if (!i || bx[g->idx[i]] != g->sizes[g->nsz - 1]) {
			g->start[g->nsz] = i;
			g->sizes[g->nsz++] = bx[g->idx[i]];
		}
	g->start[g->nsz] = nb;
	return 0;
}

/* The group of size x, or -1. */
static long group_of(const struct groups *g, double x)
{
	size_t lo = 0, hi = g->nsz;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (g->sizes[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < g->nsz && g->sizes[lo] == x ? (long)lo : -1;
}

/*
 * One estimate: the median over the idle clones `use` (their indices into
 * iy, and gi their groups) of iy - the median of their group's base
 * clones; pick[] picks the base clones (indices into by, grouped as g), or
 * NULL for all. med and tmp: scratch of g->nsz and nb doubles.
 */
static double estimate(const struct groups *g, const double *by,
		       const size_t *pick, const double *iy, const size_t *use,
		       const long *gi, size_t nused, double *med, double *tmp,
		       double *ex)
{
	for (size_t k = 0; k < g->nsz; k++) {
		size_t n = g->start[k + 1] - g->start[k];
		for (size_t j = 0; j < n; j++) {
			size_t at = g->start[k] + (pick ? pick[g->start[k] + j] : j);
			tmp[j] = by[g->idx[at]];
		}
		med[k] = n ? median_sort(tmp, n) : NAN;
	}
	for (size_t j = 0; j < nused; j++)
		ex[j] = iy[use[j]] - med[gi[use[j]]];
	return median_sort(ex, nused);
}

int ukf_calib_fit_idle(const double *bx, const double *by, size_t nb,
		       const double *ix, const double *iy, size_t ni,
		       const double *sb, size_t nsb, const double *si,
		       size_t nsi, struct ukf_calib_idle *r)
{
	struct groups g;
	size_t cap = (nb > ni ? nb : ni) + (nsb > nsi ? nsb : nsi) + 1;
	double *tmp = malloc(cap * sizeof(double));
	double *med = malloc((nb + 1) * sizeof(double)); /* per size */
	double *ex = malloc((ni + 1) * sizeof(double));
	double *boot = malloc(BOOT_REPS * sizeof(double));
	long *gi = malloc((ni + 1) * sizeof(long));
	size_t *use = malloc((ni + 1) * sizeof(size_t));
	size_t *pick = malloc((nb + 1) * sizeof(size_t));
	size_t *draw = malloc((ni + 1) * sizeof(size_t));
	gsl_rng *rng = NULL;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	r->nbase = nb;
	r->nidle = ni;
	r->nspell_base = nsb;
	r->nspell_idle = nsi;
	if (!tmp || !med || !ex || !boot || !gi || !use || !pick || !draw ||
	    groups_make(bx, nb, &g) < 0)
		goto out_nog;
	for (size_t i = 0; i < ni; i++)
		if ((gi[i] = group_of(&g, ix[i])) >= 0)
			use[r->nused++] = i;
	if (nsb)
		r->spell_base = median_of(sb, nsb, tmp);
	if (nsi)
		r->spell_idle = median_of(si, nsi, tmp);
	if (r->nused < 2 || nb < 2 || !nsb || !nsi) {
		rc = 0; /* not fitted */
		goto out;
	}
	r->wake = estimate(&g, by, NULL, iy, use, gi, r->nused, med, tmp, ex);
	if (!(rng = gsl_rng_alloc(gsl_rng_mt19937)))
		goto out;
	gsl_rng_set(rng, BOOT_SEED);
	for (size_t b = 0; b < BOOT_REPS; b++) {
		for (size_t k = 0; k < g.nsz; k++) {
			size_t n = g.start[k + 1] - g.start[k];
			for (size_t j = 0; j < n; j++)
				pick[g.start[k] + j] = gsl_rng_uniform_int(rng, n);
		}
		for (size_t j = 0; j < r->nused; j++)
			draw[j] = use[gsl_rng_uniform_int(rng, r->nused)];
		boot[b] = estimate(&g, by, pick, iy, draw, gi, r->nused, med,
				   tmp, ex);
	}
	interval95(boot, &r->lo, &r->hi);
	r->fitted = 1;
	rc = 0;
out:
	groups_free(&g);
out_nog:
	if (rng)
		gsl_rng_free(rng);
	free(tmp);
	free(med);
	free(ex);
	free(boot);
	free(gi);
	free(use);
	free(pick);
	free(draw);
	return rc;
}

/* The group of spell ms among *n in msv (made if new, kept in increasing
 * order), or -1 when there are UKF_CALIB_MAX_IDLE already. */
static int group_for_ms(double *msv, size_t *n, double ms)
{
	size_t k = 0;
	while (k < *n && msv[k] < ms)
		k++;
	if (k < *n && msv[k] == ms)
		return (int)k;
	if (*n == UKF_CALIB_MAX_IDLE)
		return -1;
	memmove(&msv[k + 1], &msv[k], (*n - k) * sizeof(double));
	msv[k] = ms;
	(*n)++;
	return (int)k;
}

/* "<prefix><ms>": ms, or -1 (not such a name). */
static double name_ms(const char *op, const char *prefix)
{
	size_t l = strlen(prefix);
	char *end;
	if (strncmp(op, prefix, l) || !op[l])
		return -1;
	double ms = strtod(op + l, &end);
	return *end || !(ms > 0) ? -1 : ms;
}

int ukf_calib_fit_idle_set(const ukf_calib_set_t *s, const char *prefix,
			   const char *spells, const double *bx,
			   const double *by, size_t nb, double less,
			   int per_byte, struct ukf_calib_idle_curve *c)
{
	char gap_op[40];
	size_t n = ukf_calib_set_count(s);
	double *x = malloc((n + 1) * sizeof(double));
	double *y = malloc((n + 1) * sizeof(double));
	double *sg = malloc((n + 1) * sizeof(double));
	double *si = malloc((n + 1) * sizeof(double));
	const char *op;
	double sx, sy;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (!x || !y || !sg || !si)
		goto out;
	if (spells)
		snprintf(gap_op, sizeof(gap_op), "%sgap", spells);
	/* the groups, in increasing spell (more than the maximum: the
	 * longest left out) */
	for (size_t i = 0; i < n; i++) {
		ukf_calib_set_get(s, i, &op, &sx, &sy);
		double ms = name_ms(op, prefix);
		if (ms > 0)
			(void)group_for_ms(c->ms, &c->ngroups, ms);
		if (spells && !strcmp(op, gap_op) && isfinite(sy))
			sg[c->ngap++] = sy;
	}
	if (!spells) /* back to back: a spell of 0 */
		sg[c->ngap++] = 0;
	if (c->ngap)
		c->spell_gap = median_of(sg, c->ngap, si);
	for (size_t k = 0; k < c->ngroups; k++) {
		size_t ni = 0, ns = 0;
		for (size_t i = 0; i < n; i++) {
			ukf_calib_set_get(s, i, &op, &sx, &sy);
			if (name_ms(op, prefix) == c->ms[k] && isfinite(sx) &&
			    isfinite(sy) && sy > 0 && (!per_byte || sx > 0)) {
				x[ni] = sx;
				y[ni] = sy - less > 1 ? sy - less : 1;
				if (per_byte)
					y[ni] /= sx;
				ni++;
			} else if (spells && name_ms(op, spells) == c->ms[k] &&
				   isfinite(sy)) {
				si[ns++] = sy;
			}
		}
		if (!spells) /* the spell asked for */
			si[ns++] = c->ms[k] * 1e6;
		if (ukf_calib_fit_idle(bx, by, nb, x, y, ni, sg, c->ngap, si, ns,
				       &c->fit[k]) < 0)
			goto out;
	}
	rc = 0;
out:
	free(x);
	free(y);
	free(sg);
	free(si);
	return rc;
}

/* ---- messages to an idle node (msg_idle_curve) ---- */

/* The estimate of one idle group: the difference of the remote and local
 * medians, less the same of the gap's clones as the simulator charges it
 * (peer_msg_ns: 0 when negative). Each array is sorted. */
static double wake_estimate(double *il, size_t nil, double *ir, size_t nir,
			    double *bl, size_t nbl, double *br, size_t nbr)
{
	return median_sort(ir, nir) - median_sort(il, nil) -
	       fmax(0, median_sort(br, nbr) - median_sort(bl, nbl));
}

/* n draws of src[0..n) with replacement into dst. */
static void resample(gsl_rng *rng, const double *src, size_t n, double *dst)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = src[gsl_rng_uniform_int(rng, n)];
}

/* Which samples op_samples takes: those named name, or, with ms > 0,
 * those named "<name><ms>" (by the number: "msgr_1000" and "msgr_1e+03"
 * alike). */
struct want {
	const char *name;
	double ms;
};

static int want_match(const char *op, const void *u)
{
	const struct want *w = u;
	return w->ms > 0 ? name_ms(op, w->name) == w->ms : !strcmp(op, w->name);
}

/* The samples w names' y (0 or more: ukf_calib_set_select), less their
 * link's latency when less_lat, into a new array (*n of them; x into *xs
 * unless NULL); NULL out of memory. */
static double *op_samples(const ukf_calib_set_t *s, struct want w,
			  int less_lat, double **xs, size_t *n)
{
	struct ukf_calib_sel sel;
	double *y;

	*n = 0;
	if (ukf_calib_set_select_if(s, want_match, &w, 1, &sel) < 0)
		return NULL;
	for (size_t i = 0; less_lat && i < sel.n; i++)
		sel.y[i] -= sel.lat[i];
	*n = sel.n;
	y = sel.y;
	sel.y = NULL;
	if (xs) {
		*xs = sel.x;
		sel.x = NULL;
	}
	ukf_calib_sel_free(&sel);
	return y;
}

int ukf_calib_fit_msg_idle(const ukf_calib_set_t *s,
			   struct ukf_calib_msg_idle *c)
{
	size_t nbl = 0, nbr = 0, nsg = 0, all = ukf_calib_set_count(s);
	double *bl = op_samples(s, (struct want){"placed_local", 0}, 0, NULL,
				&nbl);
	double *br = op_samples(s, (struct want){"placed_remote", 0}, 1, NULL,
				&nbr);
	double *sg = op_samples(s, (struct want){"msgspell_gap", 0}, 0, NULL,
				&nsg);
	size_t cap = all + 1;
	double *t[4] = { malloc(cap * sizeof(double)),
			 malloc(cap * sizeof(double)),
			 malloc(cap * sizeof(double)),
			 malloc(cap * sizeof(double)) };
	double *boot = malloc(BOOT_REPS * sizeof(double));
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (!bl || !br || !sg || !t[0] || !t[1] || !t[2] || !t[3] || !boot ||
	    !rng)
		goto out;
	c->nlocal_gap = nbl;
	c->nremote_gap = nbr;
	if (nsg)
		c->spell_gap = median_of(sg, nsg, t[0]);
	/* the groups, by the spells their names give */
	const char *op;
	double sx, sy;
	for (size_t i = 0; i < all; i++) {
		ukf_calib_set_get(s, i, &op, &sx, &sy);
		double ms = name_ms(op, "msgr_");
		if (ms < 0)
			ms = name_ms(op, "msgl_");
		if (ms > 0)
			(void)group_for_ms(c->ms, &c->ngroups, ms);
	}
	for (size_t k = 0; k < c->ngroups; k++) {
		struct ukf_calib_msg_group *g = &c->g[k];
		size_t nil = 0, nir = 0;
		double *ix = NULL;
		double *il = op_samples(s, (struct want){"msgl_", c->ms[k]}, 0,
					NULL, &nil);
		double *ir = op_samples(s, (struct want){"msgr_", c->ms[k]}, 1,
					&ix, &nir);
		if (!il || !ir || !ix) {
			free(il);
			free(ir);
			free(ix);
			goto out;
		}
		g->nlocal = nil;
		g->nremote = nir;
		if (nir)
			g->spell = median_of(ix, nir, t[0]);
		if (nil >= 2 && nir >= 2 && nbl >= 2 && nbr >= 2 && nsg) {
			memcpy(t[0], il, nil * sizeof(double));
			memcpy(t[1], ir, nir * sizeof(double));
			memcpy(t[2], bl, nbl * sizeof(double));
			memcpy(t[3], br, nbr * sizeof(double));
			g->wake = wake_estimate(t[0], nil, t[1], nir, t[2], nbl,
						t[3], nbr);
			gsl_rng_set(rng, BOOT_SEED);
			for (size_t b = 0; b < BOOT_REPS; b++) {
				resample(rng, il, nil, t[0]);
				resample(rng, ir, nir, t[1]);
				resample(rng, bl, nbl, t[2]);
				resample(rng, br, nbr, t[3]);
				boot[b] = wake_estimate(t[0], nil, t[1], nir,
							t[2], nbl, t[3], nbr);
			}
			interval95(boot, &g->lo, &g->hi);
			g->fitted = 1;
		}
		free(il);
		free(ir);
		free(ix);
	}
	rc = 0;
out:
	if (rng)
		gsl_rng_free(rng);
	free(bl);
	free(br);
	free(sg);
	for (int i = 0; i < 4; i++)
		free(t[i]);
	free(boot);
	return rc;
}

/* An idle curve's point for a fitted group (msg_idle_curve and
 * delta_idle_curve alike): its estimate, 0 when not above 0, at its
 * spell, when after the point before (the gap's, at 0, first). */
static void curve_point(struct ukf_sim_curve *c, double spell, double est)
{
	if (c->n && c->n < UKF_SIM_CURVE_MAX && spell > c->x[c->n - 1]) {
		c->x[c->n] = spell;
		c->y[c->n++] = fmax(0, est);
	}
}

/* The curve's first point: the gap's spell at 0, when known. */
static void curve_start(struct ukf_sim_curve *c, double spell_gap)
{
	memset(c, 0, sizeof(*c));
	if (spell_gap > 0) {
		c->x[0] = spell_gap;
		c->n = 1;
	}
}

void ukf_calib_msg_idle_points(const struct ukf_calib_msg_idle *c,
			       struct ukf_sim_curve *out)
{
	curve_start(out, c->spell_gap);
	for (size_t k = 0; k < c->ngroups; k++)
		if (c->g[k].fitted)
			curve_point(out, c->g[k].spell, c->g[k].wake);
}

void ukf_calib_delta_idle_points(const struct ukf_calib_delta_idle *c,
				 struct ukf_sim_curve *out)
{
	curve_start(out, c->spell_gap);
	for (size_t k = 0; k < c->ngroups; k++)
		if (c->g[k].fitted)
			curve_point(out, c->g[k].spell, c->g[k].extra);
}

/* ---- a remote fork's delta to an idle node (delta_idle_curve) ---- */

int ukf_calib_delta_idle_since(const struct ukf_calib_delta_idle *c,
			       const struct ukf_calib_delta_idle *back,
			       size_t *k, size_t *kb)
{
	*k = c->ngroups;
	*kb = back->ngroups;
	for (size_t i = 0; i < c->ngroups; i++) {
		if (!c->g[i].fitted)
			continue;
		for (size_t j = 0; j < back->ngroups; j++)
			if (back->g[j].fitted && back->ms[j] == c->ms[i] &&
			    (*k == c->ngroups || c->ms[i] > c->ms[*k])) {
				*k = i;
				*kb = j;
			}
	}
	if (*k == c->ngroups)
		return UKF_SIM_SINCE_MESSAGE;
	const struct ukf_calib_delta_group *g = &c->g[*k], *b = &back->g[*kb];
	return g->extra > 0 && b->lo > 0 && b->extra > g->extra / 2
		       ? UKF_SIM_SINCE_ACTIVITY
		       : UKF_SIM_SINCE_MESSAGE;
}

int ukf_calib_fit_delta_idle(const ukf_calib_set_t *s, int woken,
			     const struct ukf_calib_msg_idle *mi,
			     int msg_charged, struct ukf_calib_delta_idle *c)
{
	const char *prefix = woken ? "dsavew_" : "dsave_";
	size_t ngap = 0, all = ukf_calib_set_count(s);
	double *gx = NULL;
	double *gap =
	    op_samples(s, (struct want){"dsave_gap", 0}, 0, &gx, &ngap);
	double *t[2] = { malloc((all + 1) * sizeof(double)),
			 malloc((all + 1) * sizeof(double)) };
	double *boot = malloc(BOOT_REPS * sizeof(double));
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	int rc = -1;

	struct ukf_sim_curve mc = {0};
	if (msg_charged)
		ukf_calib_msg_idle_points(mi, &mc);
	memset(c, 0, sizeof(*c));
	if (!gap || !gx || !t[0] || !t[1] || !boot || !rng)
		goto out;
	c->ngap = ngap;
	if (ngap)
		c->spell_gap = median_of(gx, ngap, t[0]);
	const char *op;
	double sx, sy;
	for (size_t i = 0; i < all; i++) {
		ukf_calib_set_get(s, i, &op, &sx, &sy);
		double ms = name_ms(op, prefix);
		if (ms > 0)
			(void)group_for_ms(c->ms, &c->ngroups, ms);
	}
	for (size_t k = 0; k < c->ngroups; k++) {
		struct ukf_calib_delta_group *g = &c->g[k];
		double *x = NULL;
		double *y = op_samples(s, (struct want){prefix, c->ms[k]}, 0,
				       &x, &g->n);
		if (!y || !x) {
			free(y);
			free(x);
			goto out;
		}
		if (g->n)
			g->spell = median_of(x, g->n, t[0]);
		/* what the simulator charges the fork's message already, at
		 * this group's spell over the gap's */
		if (mc.n >= 2)
			g->msg = ukf_sim_idle_eval(&mc, g->spell) -
				 ukf_sim_idle_eval(&mc, c->spell_gap);
		if (g->n >= 2 && ngap >= 2) {
			g->extra = median_of(y, g->n, t[0]) -
				   median_of(gap, ngap, t[1]) - g->msg;
			gsl_rng_set(rng, BOOT_SEED);
			for (size_t b = 0; b < BOOT_REPS; b++) {
				resample(rng, y, g->n, t[0]);
				resample(rng, gap, ngap, t[1]);
				boot[b] = median_sort(t[0], g->n) -
					  median_sort(t[1], ngap) - g->msg;
			}
			interval95(boot, &g->lo, &g->hi);
			g->fitted = 1;
		}
		free(y);
		free(x);
	}
	rc = 0;
out:
	if (rng)
		gsl_rng_free(rng);
	free(gap);
	free(gx);
	free(t[0]);
	free(t[1]);
	free(boot);
	return rc;
}
