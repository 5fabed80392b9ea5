/* SPDX-License-Identifier: MIT */
/* collect.c - samples from what a measurement left behind: rows of a results
 * database's instances table and the engine trace (no KVM needed: the
 * simulator's runs read the same way). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "calib_int.h"

/* A sample could not be added to the set: why, into err. */
static void add_failed(char *err, size_t errlen)
{
	if (errno == EINVAL) /* the names are the collector's own */
		snprintf(err, errlen,
			 "a sample name longer than %d bytes (a bug)",
			 UKF_CALIB_OP_MAX);
	else
		snprintf(err, errlen, "out of memory");
}

/*
 * Run sql (its ?1 bound to arg) on db, read-only, and hand each row to
 * row(st, u, err, errlen), which returns 0, or -1 with err set to stop.
 * 0, or -1 with a message in err.
 */
static int query_rows(const char *db, const char *sql, int64_t arg,
		      int (*row)(sqlite3_stmt *st, void *u, char *err,
				 size_t errlen),
		      void *u, char *err, size_t errlen)
{
	sqlite3 *sq = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	if (sqlite3_open_v2(db, &sq, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(sq, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", db,
			 sq ? sqlite3_errmsg(sq) : "out of memory");
		goto out;
	}
	sqlite3_bind_int64(st, 1, arg);
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		if (row(st, u, err, errlen) < 0)
			goto out;
	if (r != SQLITE_DONE) {
		snprintf(err, errlen, "%s: %s", db, sqlite3_errmsg(sq));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(sq);
	return rc;
}

struct xy_rows {
	ukf_calib_set_t *s;
	const char *op;
	size_t *got;
};

static int xy_row(sqlite3_stmt *st, void *u, char *err, size_t errlen)
{
	struct xy_rows *q = u;

	if (ukf_calib_set_add(q->s, q->op, sqlite3_column_double(st, 0),
			      sqlite3_column_double(st, 1)) < 0) {
		add_failed(err, errlen);
		return -1;
	}
	(*q->got)++;
	return 0;
}

/* One SELECT of (x, ns) rows into the set as op; *got: rows added. */
int ukf_calib_query(const char *db, const char *sql, int64_t arg,
		    ukf_calib_set_t *s, const char *op, size_t *got, char *err,
		    size_t errlen)
{
	struct xy_rows q = { .s = s, .op = op, .got = got };

	*got = 0;
	return query_rows(db, sql, arg, xy_row, &q, err, errlen);
}

int64_t ukf_calib_max_run(const char *db)
{
	sqlite3 *sq = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = 0;

	if (sqlite3_open_v2(db, &sq, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(sq, "SELECT coalesce(max(id), 0) FROM runs", -1,
			       &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(sq);
	return v;
}

/* One event of an engine trace naming an app: "T NODE EVENT app=A ..."
 * (T in seconds), and its " bytes=B" if it has one (has_bytes). */
struct trace_ev {
	double t, bytes;
	int has_bytes;
	char node[32], ev[32], app[64];
};

static int trace_event(const char *line, struct trace_ev *e)
{
	if (sscanf(line, "%lf %31s %31s app=%63s", &e->t, e->node, e->ev,
		   e->app) != 4)
		return 0;
	const char *b = strstr(line, " bytes=");
	e->has_bytes = b != NULL;
	e->bytes = b ? strtod(b + 7, NULL) : 0;
	return 1;
}

/* SQL lists: cluster-ops.lua's apps of its forks after idle spells, and
 * those with the template clones around them (each filed apart or
 * left out of the other samples, which they would give the spell; the
 * trace's template samples leave out all four: idle_step_app) */
#define IDLE_FORK_APPS "('idlef', 'idlew')"
#define IDLE_OTHER_APPS "('idle', 'idlef', 'idlew', 'idlepre')"
#define IDLE_CLONE_APPS "('idlef', 'idlew', 'idlepre')"

/* An app of the idle step (in IDLE_OTHER_APPS, the one list of them):
 * its templates are made and fetched after idle spells. */
static int idle_step_app(const char *app)
{
	char quoted[72];

	snprintf(quoted, sizeof(quoted), "'%s'", app);
	return strlen(app) < 64 && strstr(IDLE_OTHER_APPS, quoted) != NULL;
}

/* template-make (and, tfetch set, template-fetch) -> template-ready pairs
 * of the engine trace, on the same node: "T NODE template-make app=A ...",
 * "T NODE template-fetch app=A node=N from=P" and "T NODE template-ready
 * app=A node=N bytes=B ..." (T in seconds). Makes become "template"
 * samples, fetches (with tfetch) "tfetch" ones, x = bytes. */
int ukf_calib_trace_templates(const char *path, int tfetch, ukf_calib_set_t *s,
			      size_t *got, size_t *fgot, char *err,
			      size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	struct {
		char node[32], app[64];
		int fetch;
		double t;
	} open_[64];
	size_t nopen = 0;

	*got = *fgot = 0;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct trace_ev e;
		if (!trace_event(line, &e))
			continue;
		int fetch = !strcmp(e.ev, "template-fetch");
		if (tfetch && idle_step_app(e.app))
			continue; /* after an idle spell: not the gap's */
		if ((fetch && tfetch) || !strcmp(e.ev, "template-make")) {
			size_t k = 0;
			while (k < nopen && (strcmp(open_[k].node, e.node) ||
					     strcmp(open_[k].app, e.app)))
				k++;
			if (k == nopen) {
				if (nopen == 64)
					continue;
				nopen++;
			}
			snprintf(open_[k].node, sizeof(open_[k].node), "%s",
				 e.node);
			snprintf(open_[k].app, sizeof(open_[k].app), "%s",
				 e.app);
			open_[k].fetch = fetch;
			open_[k].t = e.t;
		} else if (!strcmp(e.ev, "template-ready")) {
			for (size_t i = 0; i < nopen; i++) {
				if (strcmp(open_[i].app, e.app) ||
				    strcmp(open_[i].node, e.node))
					continue;
				if (e.has_bytes &&
				    ukf_calib_set_add(
					s,
					open_[i].fetch ? "tfetch" : "template",
					e.bytes, (e.t - open_[i].t) * 1e9) == 0)
					(*(open_[i].fetch ? fgot : got))++;
				open_[i] = open_[--nopen];
				break;
			}
		}
	}
	fclose(f);
	return 0;
}

static int fetched_restores(const char *db, const char *trace,
			    int64_t before, ukf_calib_set_t *s, size_t *got,
			    char *err, size_t errlen);

/* A remote fork child's row: start 'fork' on another node than its
 * origin (the parent's), with the delta it was restored from. x = the
 * delta's pages (the KVM backend's delta_bytes is pages x 4096:
 * backends/kvm/clone.c), which, unlike the parent's row at exit, is the
 * count at this fork when the parent forks after each of several units. */
#define REMOTE_FORK                                                            \
	" FROM instances WHERE run > ?1 AND start = 'fork'"                    \
	" AND coalesce(remote, 0) AND delta_bytes > 0"                         \
	" AND coalesce(app, '') NOT IN " IDLE_FORK_APPS

/* SQL: the spell before instance x's request since the last exit in its
 * run (NULL: none) */
#define RUN_SPELL(x)                                                           \
	" " x ".t_request - (SELECT max(k.t_exit) FROM instances k"             \
	"  WHERE k.run = " x ".run AND k.t_exit >= 0"                          \
	"  AND k.t_exit <= " x ".t_request)"

/* SQL: the last start, READY or exit (each -1 when none) on instance c's
 * node in its run at or before time expression t, three arguments of a
 * max(): the node's last activity, that a spell counts from */
#define NODE_LAST(t)                                                           \
	"  coalesce((SELECT max(k.t_start) FROM instances k"                   \
	"   WHERE k.run = c.run AND k.node = c.node"                           \
	"   AND k.t_start >= 0 AND k.t_start <= " t "), -1),"                  \
	"  coalesce((SELECT max(k.t_ready) FROM instances k"                   \
	"   WHERE k.run = c.run AND k.node = c.node"                           \
	"   AND k.t_ready >= 0 AND k.t_ready <= " t "), -1),"                  \
	"  coalesce((SELECT max(k.t_exit) FROM instances k"                    \
	"   WHERE k.run = c.run AND k.node = c.node"                           \
	"   AND k.t_exit >= 0 AND k.t_exit <= " t "), -1)"

/* The spell of spells[0 .. n) nearest to `gap` by ratio (n >= 1). */
static size_t nearest_spell(const double *spells, size_t n, double gap);

struct clone_rows {
	ukf_calib_set_t *s;
	struct ukf_calib_remote_counts *c;
	const double *spells; /* the gap, then the idle spells (ns) */
	size_t nspells;       /* 0: no idle clones */
};

/* A template clone of the cluster workload: one of another app than
 * "idle" (after the gap): its placement -> start as placed_local or
 * placed_remote (and, remote, with idle spells, its node's spell as
 * msgspell_gap) and its start -> READY as ready_local or ready_remote;
 * one of app "idle" (after an idle spell) with idle spells, its placement
 * -> start alone as msgl_<ms> or msgr_<ms> (x = its node's spell; ms: the
 * idle spell nearest, by ratio, to the one before its request), else
 * none. Columns: 0 remote, 1 placement -> start, 2 start -> READY (NULL:
 * none), 3 the spell before the request since the run's last exit, 4 the
 * running node's spell (NULL: none), 5 its app is "idle". */
static int clone_row(sqlite3_stmt *st, void *u, char *err, size_t errlen)
{
	struct clone_rows *q = u;
	int remote = sqlite3_column_int(st, 0) != 0;
	double placed = sqlite3_column_double(st, 1);
	int ready = sqlite3_column_type(st, 2) != SQLITE_NULL;
	int spelled = sqlite3_column_type(st, 4) != SQLITE_NULL;
	double node_spell = sqlite3_column_double(st, 4);
	int idle = sqlite3_column_int(st, 5) != 0;
	int rc = 0;

	if (idle) {
		char op[40];
		if (q->nspells < 2 ||
		    sqlite3_column_type(st, 3) == SQLITE_NULL || !spelled)
			return 0; /* no idle spells, or no spell to file it at */
		size_t k = 1 + nearest_spell(q->spells + 1, q->nspells - 1,
					     sqlite3_column_double(st, 3));
		snprintf(op, sizeof(op), "msg%s_%.6g",
			 remote ? "r" : "l", q->spells[k] / 1e6);
		rc = ukf_calib_set_add(q->s, op, node_spell, placed);
		q->c->idle += rc == 0;
	} else {
		rc = ukf_calib_set_add(q->s, remote ? "placed_remote"
						    : "placed_local",
				       0, placed);
		(*(remote ? &q->c->placed_remote : &q->c->placed_local)) +=
		    rc == 0;
		if (rc == 0 && ready) {
			rc = ukf_calib_set_add(
			    q->s, remote ? "ready_remote" : "ready_local", 0,
			    sqlite3_column_double(st, 2));
			(*(remote ? &q->c->ready_remote : &q->c->ready_local)) +=
			    rc == 0;
		}
		if (rc == 0 && remote && spelled && q->nspells > 1)
			rc = ukf_calib_set_add(q->s, "msgspell_gap", 0,
					       node_spell);
	}
	if (rc < 0) {
		add_failed(err, errlen);
		return -1;
	}
	return 0;
}

/* A remote fork child of apps "idlef" and "idlew" (cluster-ops.lua's
 * forks after the gap and after idle spells): its placement -> start (the
 * delta save, its message and transfer), x = its node's spell. When its
 * parent started where requested, so that its node had no message from
 * the parent's during its spell: as dsave_gap or dsave_<ms> (the nearest,
 * by ratio, of the gap and the idle spells to the spell before its
 * parent's request). When the parent started on another node and the
 * child went back to the node that requested it, which has just sent
 * the placement: as dsavew_<ms> (the idle spell nearest to x), or, its
 * node's spell nearest the gap (it ran something since), left out and
 * counted in woken_near. Otherwise (a parent started away and the child
 * on a third node) left out. Columns: 0 placement -> start, 1 the spell
 * before the parent's request since the run's last exit, 2 the parent
 * started away, 3 the child's node's spell (NULL: none), 4 the child's
 * node requested the parent. */
static int idle_fork_row(sqlite3_stmt *st, void *u, char *err, size_t errlen)
{
	struct clone_rows *q = u;
	char op[40];
	int away = sqlite3_column_int(st, 2) != 0;
	int back = sqlite3_column_int(st, 4) != 0;
	size_t k;

	if (sqlite3_column_type(st, 1) == SQLITE_NULL ||
	    sqlite3_column_type(st, 3) == SQLITE_NULL || (away && !back))
		return 0;
	if (away) {
		k = nearest_spell(q->spells, q->nspells,
				  sqlite3_column_double(st, 3));
		if (!k) {
			q->c->woken_near++;
			return 0;
		}
		snprintf(op, sizeof(op), "dsavew_%.6g", q->spells[k] / 1e6);
	} else {
		k = nearest_spell(q->spells, q->nspells,
				  sqlite3_column_double(st, 1));
		if (k)
			snprintf(op, sizeof(op), "dsave_%.6g",
				 q->spells[k] / 1e6);
		else
			snprintf(op, sizeof(op), "dsave_gap");
	}
	if (ukf_calib_set_add(q->s, op, sqlite3_column_double(st, 3),
			      sqlite3_column_double(st, 0)) < 0) {
		add_failed(err, errlen);
		return -1;
	}
	(*(away ? &q->c->idle_forks_woken : &q->c->idle_forks))++;
	return 0;
}

int ukf_calib_collect_remote(const char *db, const char *trace, int64_t before,
			     const double *spells, size_t nspells,
			     ukf_calib_set_t *s,
			     struct ukf_calib_remote_counts *c, char *err,
			     size_t errlen)
{
	memset(c, 0, sizeof(*c));
	/* delta save + transfer: placement on the parent's node -> the
	 * restore's start on the target (one clock per node: the testbed's
	 * agents share the host's; real hosts need synchronised clocks),
	 * without the children that had to fetch the template first: here
	 * and in the restore and the total, so that the keys compose to the
	 * typical remote fork (a restore right after a fetch is slower on
	 * real hosts: fetched_restores measures that apart, and sim charges
	 * it as fetched_first_ns_per_byte) */
	if (ukf_calib_query(
		db,
		"SELECT delta_bytes / 4096.0, t_start - t_placed" REMOTE_FORK
		" AND NOT coalesce(template_fetched, 0)"
		" AND t_start >= t_placed AND t_placed >= 0"
		" ORDER BY run, id",
		before, s, "rfork_save", &c->save, err, errlen) < 0 ||
	    ukf_calib_query(
		db,
		"SELECT delta_bytes / 4096.0, t_ready - t_start" REMOTE_FORK
		" AND NOT coalesce(template_fetched, 0)"
		" AND t_ready >= t_start AND t_start >= 0"
		" ORDER BY run, id",
		before, s, "rfork_restore", &c->restore, err, errlen) < 0 ||
	    ukf_calib_query(
		db,
		"SELECT delta_bytes / 4096.0, t_ready - t_request" REMOTE_FORK
		" AND NOT coalesce(template_fetched, 0)"
		" AND t_ready >= t_request AND t_request >= 0"
		" ORDER BY run, id",
		before, s, "rfork", &c->total, err, errlen) < 0)
		return -1;
	/* how many remote forks there were in all (counted, not samples) */
	ukf_calib_set_t *all = ukf_calib_set_create();
	if (!all) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = ukf_calib_query(db, "SELECT 0, 0" REMOTE_FORK
				     " ORDER BY run, id",
				 before, all, "rfork_all", &c->forks, err,
				 errlen);
	ukf_calib_set_destroy(&all);
	if (rc < 0)
		return -1;
	/* the engine's own time on a request handled where it was made:
	 * here mostly cold boots (each app's first instance); not the idle
	 * clones and forks (apps "idle", "idlef", "idlew", "idlepre"), whose
	 * dispatch pays for the spell */
	if (ukf_calib_query(db,
			    "SELECT 0, t_start - t_request FROM instances"
			    " WHERE run > ?1"
			    " AND coalesce(app, '') NOT IN " IDLE_OTHER_APPS
			    " AND start IN ('cold', 'template', 'fork')"
			    " AND NOT coalesce(remote, 0)"
			    " AND NOT coalesce(template_fetched, 0)"
			    " AND t_start >= t_request AND t_request >= 0"
			    " ORDER BY run, id",
			    before, s, "agent", &c->agent, err, errlen) < 0)
		return -1;
	/* a message between engines: template clones (no fetch) placed ->
	 * started on the node they were requested from, and on another
	 * (the placement's request crossing to that node's engine first;
	 * one clock, as above), and the same clones' start -> READY on the
	 * node that ran them (local_clone_ns: a clone requested there costs
	 * it more); the columns as clone_row takes them (a node's spell:
	 * since its last start, READY or exit there) */
	struct clone_rows q = { .s = s, .c = c, .spells = spells,
				.nspells = nspells };
	if (query_rows(
		db,
		"SELECT coalesce(c.remote, 0), c.t_start - c.t_placed,"
		" CASE WHEN c.t_ready >= c.t_start"
		"  THEN c.t_ready - c.t_start END,"
		RUN_SPELL("c") ","
		" c.t_placed - nullif(max(" NODE_LAST("c.t_placed") "), -1),"
		" coalesce(c.app, '') = 'idle'"
		" FROM instances c WHERE c.run > ?1"
		" AND c.start = 'template'"
		" AND coalesce(c.app, '') NOT IN " IDLE_CLONE_APPS
		" AND NOT coalesce(c.template_fetched, 0)"
		" AND NOT coalesce(c.template_made, 0)"
		/* not its app's first clone or fork child on its node in its
		 * run: after a cold boot there, the first clone at the app's
		 * memory size (the KVM monitor makes its VM shell then,
		 * clone_first_ns); in runs of a few apps, every app's */
		" AND EXISTS (SELECT 1 FROM instances k WHERE k.run = c.run"
		"  AND k.node = c.node AND k.app = c.app"
		"  AND k.start IN ('template', 'fork')"
		"  AND k.t_start >= 0 AND k.t_start < c.t_start)"
		" AND c.t_start >= c.t_placed AND c.t_placed >= 0"
		" ORDER BY c.run, c.id",
		before, clone_row, &q, err, errlen) < 0)
		return -1;
	if (nspells > 1) {
		if (query_rows(
			db,
			"SELECT c.t_start - c.t_placed," RUN_SPELL("p") ","
			" coalesce(p.remote, 0),"
			" c.t_placed - nullif(max(" NODE_LAST("c.t_placed")
			"), -1), p.origin = c.node"
			" FROM instances c JOIN instances p"
			" ON p.run = c.run AND p.id = c.parent"
			" WHERE c.run > ?1 AND c.app IN " IDLE_FORK_APPS
			" AND c.start = 'fork' AND coalesce(c.remote, 0)"
			" AND c.delta_bytes > 0"
			" AND NOT coalesce(c.template_fetched, 0)"
			/* not a parent that fetched its template (from
			 * the child's node, on 3 nodes or more: awake) */
			" AND NOT coalesce(p.template_fetched, 0)"
			" AND c.t_start >= c.t_placed AND c.t_placed >= 0"
			" ORDER BY c.run, c.id",
			before, idle_fork_row, &q, err, errlen) < 0)
			return -1;
	}
	if (fetched_restores(db, trace, before, s, &c->fetched, err, errlen) <
	    0)
		return -1;
	return ukf_calib_trace_templates(trace, 1, s, &c->made, &c->fetch, err,
					 errlen);
}

/* An app's memory bytes, from the last template-ready line of it in an
 * engine trace (trace_app_bytes: every app the trace names so). */
struct app_bytes {
	char app[64];
	double bytes;
};

static int trace_app_bytes(const char *path, struct app_bytes **out,
			   size_t *n, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	struct app_bytes *a = NULL;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct trace_ev e;
		if (!trace_event(line, &e) || !e.has_bytes ||
		    strcmp(e.ev, "template-ready"))
			continue;
		size_t k = 0;
		while (k < *n && strcmp(a[k].app, e.app))
			k++;
		if (k == *n) {
			if (*n == cap) {
				size_t nc = cap ? 2 * cap : 16;
				struct app_bytes *g =
				    realloc(a, nc * sizeof(*a));
				if (!g) {
					free(a);
					fclose(f);
					snprintf(err, errlen, "out of memory");
					return -1;
				}
				a = g;
				cap = nc;
			}
			snprintf(a[k].app, sizeof(a[k].app), "%s", e.app);
			(*n)++;
		}
		a[k].bytes = e.bytes;
	}
	fclose(f);
	*out = a;
	return 0;
}

/* The bytes of app in apps (trace_app_bytes), or NULL. */
static const struct app_bytes *app_of(const struct app_bytes *apps,
				      size_t napps, const char *app)
{
	for (size_t k = 0; app && k < napps; k++)
		if (!strcmp(apps[k].app, app))
			return &apps[k];
	return NULL;
}

struct fetched_rows {
	const struct app_bytes *apps;
	size_t napps;
	ukf_calib_set_t *s;
	size_t *got;
};

static int fetched_row(sqlite3_stmt *st, void *u, char *err, size_t errlen)
{
	struct fetched_rows *q = u;
	const struct app_bytes *a = app_of(
	    q->apps, q->napps, (const char *)sqlite3_column_text(st, 0));

	if (!a)
		return 0; /* not sized by the trace: left out */
	double pages = sqlite3_column_double(st, 1);
	double ns = sqlite3_column_double(st, 2);
	if (ukf_calib_set_add(q->s, "rfetch_restore", pages, ns) < 0 ||
	    ukf_calib_set_add(q->s, "rfetch_bytes", a->bytes, ns) < 0) {
		add_failed(err, errlen);
		return -1;
	}
	(*q->got)++;
	return 0;
}

/*
 * The restores of the remote fork children that fetched their template
 * first (t_ready - t_start: the first start from a template just
 * fetched), each as two samples in the same order: "rfetch_restore" with
 * x = the delta's pages and "rfetch_bytes" with x = the template's bytes
 * (its app's, from the trace), so that the fit can take off what the
 * restore line gives at those pages and put the rest on the bytes
 * (fetched_first_ns_per_byte). A child whose app the trace does not size
 * is left out.
 */
static int fetched_restores(const char *db, const char *trace,
			    int64_t before, ukf_calib_set_t *s, size_t *got,
			    char *err, size_t errlen)
{
	struct app_bytes *apps = NULL;
	size_t napps = 0;

	*got = 0;
	if (trace_app_bytes(trace, &apps, &napps, err, errlen) < 0)
		return -1;
	struct fetched_rows q = { .apps = apps, .napps = napps, .s = s,
				  .got = got };
	int rc = query_rows(
	    db,
	    "SELECT app, delta_bytes / 4096.0, t_ready - t_start"
	    " FROM instances WHERE run > ?1 AND start = 'fork'"
	    " AND coalesce(remote, 0) AND delta_bytes > 0"
	    " AND coalesce(template_fetched, 0)"
	    /* not apps idlef's and idlew's (after idle spells: their
	     * restore paid for the node's spell too) */
	    " AND coalesce(app, '') NOT IN " IDLE_FORK_APPS
	    " AND t_ready >= t_start AND t_start >= 0 ORDER BY run, id",
	    before, fetched_row, &q, err, errlen);
	free(apps);
	return rc;
}

/* One size seen in a run (the alone step's first clone at a size). */
static int size_seen(double **seen, size_t *n, size_t *cap, double size)
{
	for (size_t i = 0; i < *n; i++)
		if ((*seen)[i] == size)
			return 1;
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 16;
		double *g = realloc(*seen, nc * sizeof(**seen));
		if (!g)
			return -1;
		*seen = g;
		*cap = nc;
	}
	(*seen)[(*n)++] = size;
	return 0;
}

struct alone_rows {
	const char *db;
	const struct app_bytes *apps;
	size_t napps, nseen, cap;
	double *seen; /* the sizes started at in this run */
	int64_t run;
	ukf_calib_set_t *s;
	struct ukf_calib_alone_counts *c;
	const double *spells; /* the gap, then the idle spells (ns) */
	size_t nspells;       /* 0: no idle clones */
};

/* The spell of spells[0 .. n) nearest to `gap` by ratio (n >= 1). */
static size_t nearest_spell(const double *spells, size_t n, double gap)
{
	size_t best = 0;
	double lg = log(gap > 1 ? gap : 1), d = INFINITY;
	for (size_t i = 0; i < n; i++) {
		double e = fabs(log(spells[i] > 1 ? spells[i] : 1) - lg);
		if (e < d) {
			d = e;
			best = i;
		}
	}
	return best;
}

static int alone_row(sqlite3_stmt *st, void *u, char *err, size_t errlen)
{
	struct alone_rows *q = u;
	struct ukf_calib_alone_counts *c = q->c;
	const char *app = (const char *)sqlite3_column_text(st, 1);
	const struct app_bytes *a = app_of(q->apps, q->napps, app);

	if (!a) {
		snprintf(err, errlen,
			 "%s: app %s has template starts or forks but "
			 "no template-ready line (its memory size) in "
			 "the engine trace",
			 q->db, app ? app : "(null)");
		return -1;
	}
	if (sqlite3_column_int64(st, 0) != q->run) {
		q->run = sqlite3_column_int64(st, 0);
		q->nseen = 0;
	}
	int fork = sqlite3_column_int(st, 2) != 0;
	int first = size_seen(&q->seen, &q->nseen, &q->cap, a->bytes);
	double ns = sqlite3_column_double(st, 3),
	       agent = sqlite3_column_double(st, 4),
	       x = fork ? sqlite3_column_double(st, 5) : a->bytes;
	first = first == 0 ? 1 : first == 1 ? 0 : -1;
	if (first < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* a later template clone: after the gap, or after an idle spell */
	int spell = q->nspells > 0 && !fork && !first &&
		    sqlite3_column_type(st, 8) != SQLITE_NULL;
	double gap = spell ? sqlite3_column_double(st, 8) : 0;
	size_t k = spell ? nearest_spell(q->spells, q->nspells, gap) : 0;
	int idle = k > 0;
	char iop[32] = "", sop[32] = "";
	if (idle) { /* named by the idle spell, in ms */
		snprintf(iop, sizeof(iop), "clone_idle_%.6g", q->spells[k] / 1e6);
		snprintf(sop, sizeof(sop), "spell_%.6g", q->spells[k] / 1e6);
	}
	const char *op = fork ? (first ? "fork_first" : "fork")
			      : (first ? "clone_first"
				       : (idle ? iop : "clone_engine"));
	if (ukf_calib_set_add(q->s, op, x, ns) < 0 ||
	    (spell && ukf_calib_set_add(q->s, idle ? sop : "spell_gap", 0,
					gap) < 0) ||
	    (!idle && agent >= 0 &&
	     ukf_calib_set_add(q->s, "agent", 0, agent) < 0)) {
		add_failed(err, errlen);
		return -1;
	}
	if (idle) {
		c->idle++;
		return 0; /* its dispatch and unit: not the gap's context */
	}
	(*(fork ? (first ? &c->fork_first : &c->forks)
		: (first ? &c->clone_first : &c->clones)))++;
	c->agent += agent >= 0;
	if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
		if (ukf_calib_set_add(q->s, "touch",
				      sqlite3_column_double(st, 6),
				      sqlite3_column_double(st, 7)) < 0) {
			add_failed(err, errlen);
			return -1;
		}
		c->touch++;
	}
	return 0;
}

int ukf_calib_collect_alone(const char *db, const char *trace,
			    int64_t before, const double *spells,
			    size_t nspells,
			    ukf_calib_set_t *s,
			    struct ukf_calib_alone_counts *c, char *err,
			    size_t errlen)
{
	struct app_bytes *apps;
	size_t napps;

	memset(c, 0, sizeof(*c));
	if (trace_app_bytes(trace, &apps, &napps, err, errlen) < 0)
		return -1;
	/* columns 6, 7: a template clone that exited 0 without forking:
	 * its dirty pages and READY -> exit (its one unit: the work and
	 * the first touches of those pages), else NULL; column 8: the spell
	 * before its request since the run's last exit (NULL: none) */
	static const char sql[] =
	    "SELECT c.run, c.app, c.start = 'fork', c.t_ready - c.t_request,"
	    " c.t_start - c.t_request, coalesce(p.dirty_pages, 0),"
	    " CASE WHEN c.start = 'template' AND c.status = 0"
	    "  AND c.t_exit > c.t_ready AND c.dirty_pages >= 0"
	    "  AND NOT EXISTS (SELECT 1 FROM instances k WHERE k.run = c.run"
	    "  AND k.parent = c.id) THEN c.dirty_pages END,"
	    " c.t_exit - c.t_ready,"
	    " c.t_request - (SELECT max(k.t_exit) FROM instances k"
	    "  WHERE k.run = c.run AND k.t_exit >= 0"
	    "  AND k.t_exit <= c.t_request)"
	    " FROM instances c LEFT JOIN instances p"
	    " ON p.run = c.run AND p.id = c.parent AND c.start = 'fork'"
	    " WHERE c.run > ?1 AND c.start IN ('template', 'fork')"
	    " AND (c.start = 'template' OR p.id IS NOT NULL)"
	    " AND NOT coalesce(c.remote, 0)"
	    " AND NOT coalesce(c.template_fetched, 0)"
	    " AND c.t_ready >= c.t_request AND c.t_request >= 0"
	    " AND c.t_start >= c.t_request"
	    " ORDER BY c.run, c.t_start, c.id";
	struct alone_rows q = { .db = db, .apps = apps, .napps = napps,
				.run = -1, .s = s, .c = c,
				.spells = spells, .nspells = nspells };
	int rc = query_rows(db, sql, before, alone_row, &q, err, errlen);
	free(apps);
	free(q.seen);
	return rc;
}

int ukf_calib_collect_forks(const char *db, int64_t before, const char *op,
			    ukf_calib_set_t *s, size_t *got, char *err,
			    size_t errlen)
{
	/* x = pages copied at the fork: the parent's dirty_pages (its row at
	 * exit; a kvm-ops.lua parent writes nothing after forking) */
	return ukf_calib_query(db,
			       "SELECT p.dirty_pages, c.t_ready - c.t_request"
			       " FROM instances c JOIN instances p"
			       " ON p.run = c.run AND p.id = c.parent"
			       " WHERE c.run > ?1 AND c.start = 'fork'"
			       " AND NOT coalesce(c.remote, 0)"
			       " AND c.t_ready >= c.t_request"
			       " AND c.t_request >= 0"
			       " ORDER BY c.run, c.id",
			       before, s, op, got, err, errlen);
}
