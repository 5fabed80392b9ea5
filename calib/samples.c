/* SPDX-License-Identifier: MIT */
/* samples.c - a calibration's raw samples in memory and in the results database
 * (tables calib_runs, calib_samples). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../results/results.h"
#include "calib.h"

struct sample {
	char op[UKF_CALIB_OP_MAX + 1];
	double x, ns;
	double lat, bw; /* the link it was measured over */
	int64_t calib;	/* its calibration (0: not loaded from a database) */
};

#define NSTRS 10

struct ukf_calib_set {
	struct sample *v;
	size_t n, cap;
	struct ukf_calib_prov prov;
	char *strs[NSTRS]; /* owned copies of prov's strings */
	double lat, bw;	   /* the link of samples added now */
	int64_t calib;	   /* the calibration of samples added now */
};

ukf_calib_set_t *ukf_calib_set_create(void)
{
	return calloc(1, sizeof(struct ukf_calib_set));
}

void ukf_calib_set_destroy(ukf_calib_set_t **sp)
{
	ukf_calib_set_t *s = sp ? *sp : NULL;

	if (!s)
		return;
	for (size_t i = 0; i < NSTRS; i++)
		free(s->strs[i]);
	free(s->v);
	free(s);
	*sp = NULL;
}

int ukf_calib_set_add(ukf_calib_set_t *s, const char *op, double x, double ns)
{
	if (!op || !*op || strlen(op) >= sizeof(s->v[0].op)) {
		errno = EINVAL;
		return -1;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct sample *v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			errno = ENOMEM;
			return -1;
		}
		s->v = v;
		s->cap = cap;
	}
	struct sample *e = &s->v[s->n++];
	memset(e, 0, sizeof(*e));
	strcpy(e->op, op);
	e->x = x;
	e->ns = ns;
	e->lat = s->lat;
	e->bw = s->bw;
	e->calib = s->calib;
	return 0;
}

void ukf_calib_set_link(ukf_calib_set_t *s, double latency_ns, double bandwidth)
{
	s->lat = latency_ns > 0 ? latency_ns : 0;
	s->bw = bandwidth > 0 ? bandwidth : 0;
}

void ukf_calib_set_get_link(const ukf_calib_set_t *s, size_t i,
			    double *latency_ns, double *bandwidth)
{
	*latency_ns = s->v[i].lat;
	*bandwidth = s->v[i].bw;
}

size_t ukf_calib_set_count(const ukf_calib_set_t *s)
{
	return s->n;
}

void ukf_calib_set_get(const ukf_calib_set_t *s, size_t i, const char **op,
		       double *x, double *ns)
{
	*op = s->v[i].op;
	*x = s->v[i].x;
	*ns = s->v[i].ns;
}

int64_t ukf_calib_set_get_calib(const ukf_calib_set_t *s, size_t i)
{
	return s->v[i].calib;
}

void ukf_calib_set_mark(ukf_calib_set_t *s, int64_t calib)
{
	for (size_t i = 0; i < s->n; i++)
		if (!s->v[i].calib)
			s->v[i].calib = calib;
	if (!s->calib)
		s->calib = calib;
}

/* The kinds of sample the fits take (calib.h, ukf_calib_kind_of): a name,
 * or a prefix followed by a number (a spell in ms, a memory in MiB). */
#define XB UKF_CALIB_X_BYTES
#define XP UKF_CALIB_X_PAGES
#define XN UKF_CALIB_X_NS
#define XU UKF_CALIB_X_UNUSED
static const struct ukf_calib_kind kinds[] = {
    {"boot", 0, XB, 0},		  {"clone", 0, XB, 0},
    {"fork", 0, XP, 0},		  {"template", 0, XB, 0},
    {"clone_engine", 0, XB, 0},	  {"agent", 0, XU, 1},
    {"rfork_save", 0, XP, 0},	  {"rfork_restore", 0, XP, 0},
    {"tfetch", 0, XB, 0},	  {"rfork", 0, XP, 0},
    {"clone_first", 0, XB, 0},	  {"clone_busy", 0, XB, 0},
    {"fork_first", 0, XP, 0},	  {"fork_busy", 0, XP, 0},
    {"agent_busy", 0, XU, 1},	  {"touch", 0, XP, 1},
    {"placed_local", 0, XU, 1},	  {"placed_remote", 0, XU, 1},
    {"rfetch_restore", 0, XP, 0}, {"rfetch_bytes", 0, XB, 0},
    {"ready_local", 0, XU, 0},	  {"ready_remote", 0, XU, 0},
    {"spell_gap", 0, XU, 1},	  {"msgspell_gap", 0, XU, 1},
    {"dsave_gap", 0, XN, 1},	  {"dir_embedded", 0, XU, 0},
    {"dir_etcd", 0, XU, 0},	  {"boot_init_", 1, XN, 0},
    {"boot_idle_", 1, XB, 0},	  {"clone_idle_", 1, XB, 0},
    {"spell_", 1, XU, 1},	  {"msgl_", 1, XN, 1},
    {"msgr_", 1, XN, 1},	  {"dsave_", 1, XN, 1},
    {"dsavew_", 1, XN, 1},
};
#undef XB
#undef XP
#undef XN
#undef XU

const struct ukf_calib_kind *ukf_calib_kind_of(const char *op)
{
	size_t n = sizeof(kinds) / sizeof(kinds[0]);

	for (size_t i = 0; op && i < n; i++) /* names before prefixes */
		if (!kinds[i].prefix && !strcmp(op, kinds[i].name))
			return &kinds[i];
	for (size_t i = 0; op && i < n; i++) {
		size_t l = strlen(kinds[i].name);
		char *end;
		if (!kinds[i].prefix || strncmp(op, kinds[i].name, l) ||
		    !(op[l] >= '0' && op[l] <= '9'))
			continue;
		double v = strtod(op + l, &end);
		if (!*end && v > 0 && isfinite(v))
			return &kinds[i];
	}
	return NULL;
}

double ukf_calib_kind_xmax(const struct ukf_calib_kind *k)
{
	switch (k ? k->x : UKF_CALIB_X_UNUSED) {
	case UKF_CALIB_X_BYTES:
		return 1099511627776.0; /* a plan's sizes: 1 TiB at most */
	case UKF_CALIB_X_PAGES:
		return 268435456.0; /* pages of 4 KiB in 1 TiB */
	case UKF_CALIB_X_NS:
		return UKF_CALIB_NS_MAX;
	default:
		return 1e18;
	}
}

/* Sample e is one a fit takes: its name matched, x and ns usable. */
static int selected(const struct sample *e,
		    int (*match)(const char *op, const void *u), const void *u,
		    int zero_ok)
{
	return match(e->op, u) && isfinite(e->x) && isfinite(e->ns) &&
	       (e->ns > 0 || (zero_ok && e->ns == 0));
}

static int same_name(const char *op, const void *u)
{
	return !strcmp(op, u);
}

int ukf_calib_set_select(const ukf_calib_set_t *s, const char *op,
			 int zero_ok, struct ukf_calib_sel *out)
{
	return ukf_calib_set_select_if(s, same_name, op, zero_ok, out);
}

int ukf_calib_set_select_if(const ukf_calib_set_t *s,
			    int (*match)(const char *op, const void *u),
			    const void *u, int zero_ok,
			    struct ukf_calib_sel *out)
{
	size_t k = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < s->n; i++)
		k += selected(&s->v[i], match, u, zero_ok);
	out->x = malloc((k + 1) * sizeof(double));
	out->y = malloc((k + 1) * sizeof(double));
	out->lat = malloc((k + 1) * sizeof(double));
	out->bw = malloc((k + 1) * sizeof(double));
	out->idx = malloc((k + 1) * sizeof(size_t));
	if (!out->x || !out->y || !out->lat || !out->bw || !out->idx) {
		ukf_calib_sel_free(out);
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct sample *e = &s->v[i];
		if (!selected(e, match, u, zero_ok))
			continue;
		out->idx[out->n] = i;
		out->x[out->n] = e->x;
		out->y[out->n] = e->ns;
		out->lat[out->n] = e->lat;
		out->bw[out->n++] = e->bw;
	}
	return 0;
}

void ukf_calib_sel_free(struct ukf_calib_sel *sel)
{
	free(sel->x);
	free(sel->y);
	free(sel->lat);
	free(sel->bw);
	free(sel->idx);
	memset(sel, 0, sizeof(*sel));
}

int ukf_calib_set_prov(ukf_calib_set_t *s, const struct ukf_calib_prov *p)
{
	const char *in[NSTRS] = {p->date, p->host,    p->kvm,  p->backend,
				 p->plan, p->command, p->load, p->cluster,
				 p->link, p->sources};
	char *out[NSTRS] = {0};

	for (size_t i = 0; i < NSTRS; i++) {
		if (in[i] && !(out[i] = strdup(in[i]))) {
			for (size_t j = 0; j < i; j++)
				free(out[j]);
			return -1;
		}
	}
	for (size_t i = 0; i < NSTRS; i++) {
		free(s->strs[i]);
		s->strs[i] = out[i];
	}
	s->prov.date = out[0];
	s->prov.host = out[1];
	s->prov.kvm = out[2];
	s->prov.backend = out[3];
	s->prov.plan = out[4];
	s->prov.command = out[5];
	s->prov.load = out[6];
	s->prov.cluster = out[7];
	s->prov.link = out[8];
	s->prov.sources = out[9];
	s->prov.n = p->n;
	s->prov.link_latency_ns = p->link_latency_ns;
	s->prov.link_bandwidth = p->link_bandwidth;
	return 0;
}

const struct ukf_calib_prov *ukf_calib_set_get_prov(const ukf_calib_set_t *s)
{
	return &s->prov;
}

/* ---- the database ---- */

static const char tables_sql[] =
    "CREATE TABLE IF NOT EXISTS calib_runs("
    " id INTEGER PRIMARY KEY, date TEXT, host TEXT, kvm TEXT,"
    " backend TEXT, plan TEXT, command TEXT, load TEXT, n INTEGER,"
    " cluster TEXT, link TEXT, link_latency_ns REAL, link_bandwidth REAL);"
    "CREATE TABLE IF NOT EXISTS calib_samples("
    " calib INTEGER NOT NULL REFERENCES calib_runs(id),"
    " op TEXT NOT NULL, x REAL NOT NULL, ns REAL NOT NULL);"
    "CREATE INDEX IF NOT EXISTS calib_samples_calib ON calib_samples(calib);";

/* The columns calib_runs gained with --cluster (databases made before
 * lack them: added on the next store, read as NULL until then). */
static const char *const link_cols[4][2] = {{"cluster", "TEXT"},
					    {"link", "TEXT"},
					    {"link_latency_ns", "REAL"},
					    {"link_bandwidth", "REAL"}};

/* Does calib_runs have column `name`? */
static int has_col(sqlite3 *sq, const char *name)
{
	sqlite3_stmt *st = NULL;
	int found = 0;

	if (sqlite3_prepare_v2(sq, "PRAGMA table_info(calib_runs)", -1, &st,
			       NULL) != SQLITE_OK)
		return 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *c = sqlite3_column_text(st, 1);
		if (c && !strcmp((const char *)c, name))
			found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

static int add_link_cols(sqlite3 *sq)
{
	char sql[128];
	for (int i = 0; i < 4; i++) {
		if (has_col(sq, link_cols[i][0]))
			continue;
		snprintf(sql, sizeof(sql),
			 "ALTER TABLE calib_runs ADD COLUMN %s %s",
			 link_cols[i][0], link_cols[i][1]);
		if (sqlite3_exec(sq, sql, NULL, NULL, NULL) != SQLITE_OK)
			return -1;
	}
	return 0;
}

/* Open path as a ukfork results database (created if missing: the results
 * library checks or makes its schema), then directly with SQLite. */
static sqlite3 *open_db(const char *path, int create, char *err, size_t errlen)
{
	sqlite3 *sq = NULL;

	if (create) {
		ukf_db_t *db = ukf_db_open(path, err, errlen);
		if (!db)
			return NULL;
		ukf_db_close(&db);
	}
	int flags = create ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
	if (sqlite3_open_v2(path, &sq, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 sq ? sqlite3_errmsg(sq) : "out of memory");
		sqlite3_close(sq);
		return NULL;
	}
	sqlite3_busy_timeout(sq, 5000);
	return sq;
}

int ukf_calib_store(const char *path, const ukf_calib_set_t *s, int64_t *id,
		    char *err, size_t errlen)
{
	sqlite3 *sq = open_db(path, 1, err, errlen);
	sqlite3_stmt *st = NULL;
	const struct ukf_calib_prov *p = &s->prov;
	const char *what = "creating the calibration tables";
	int rc = -1;

	if (!sq)
		return -1;
	if (sqlite3_exec(sq, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_exec(sq, tables_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    add_link_cols(sq) < 0)
		goto fail;
	what = "storing the calibration";
	if (sqlite3_prepare_v2(
		sq,
		"INSERT INTO calib_runs(date, host, kvm, backend,"
		" plan, command, load, n, cluster, link, link_latency_ns,"
		" link_bandwidth) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
		-1, &st, NULL) != SQLITE_OK)
		goto fail;
	const char *v[7] = {p->date, p->host,	 p->kvm, p->backend,
			    p->plan, p->command, p->load};
	for (int i = 0; i < 7; i++)
		sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 8, p->n);
	sqlite3_bind_text(st, 9, p->cluster, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 10, p->link, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(st, 11, p->link_latency_ns);
	sqlite3_bind_double(st, 12, p->link_bandwidth);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	st = NULL;
	int64_t cid = sqlite3_last_insert_rowid(sq);
	what = "storing the samples";
	if (sqlite3_prepare_v2(sq, "INSERT INTO calib_samples VALUES (?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < s->n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, cid);
		sqlite3_bind_text(st, 2, s->v[i].op, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 3, s->v[i].x);
		sqlite3_bind_double(st, 4, s->v[i].ns);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(sq, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (id)
		*id = cid;
	rc = 0;
	goto out;
fail:
	snprintf(err, errlen, "%s: %s: %s", path, what, sqlite3_errmsg(sq));
	sqlite3_finalize(st);
	sqlite3_exec(sq, "ROLLBACK", NULL, NULL, NULL);
out:
	sqlite3_close(sq);
	return rc;
}

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : NULL;
}

/* Append calibration `id` (0: the latest) of the open database to s: its
 * provenance replaces s's, its samples get its link. *cid: its id; *nadd:
 * samples added. -1 with a message in err. */
static int load_one(sqlite3 *sq, const char *path, int64_t id,
		    ukf_calib_set_t *s, int64_t *cid, size_t *nadd, char *err,
		    size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, links = has_col(sq, "link_bandwidth");
	char sql[512];

	*nadd = 0;
	snprintf(sql, sizeof(sql),
		 "SELECT id, date, host, kvm, backend, plan,"
		 " command, load, n, %s FROM calib_runs"
		 " WHERE ?1 = 0 OR id = ?1 ORDER BY id DESC LIMIT 1",
		 links ? "cluster, link, link_latency_ns, link_bandwidth"
		       : "NULL, NULL, 0, 0");
	if (sqlite3_prepare_v2(sq, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen,
			 "%s: no calibration stored (%s): run `ukfork calibrate"
			 " --backend kvm --db %s` first",
			 path, sqlite3_errmsg(sq), path);
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		if (id)
			snprintf(err, errlen, "%s: no calibration %lld", path,
				 (long long)id);
		else
			snprintf(err, errlen, "%s: no calibration stored",
				 path);
		goto out;
	}
	*cid = sqlite3_column_int64(st, 0);
	struct ukf_calib_prov p = {
	    .date = col(st, 1),
	    .host = col(st, 2),
	    .kvm = col(st, 3),
	    .backend = col(st, 4),
	    .plan = col(st, 5),
	    .command = col(st, 6),
	    .load = col(st, 7),
	    .n = (uint32_t)sqlite3_column_int64(st, 8),
	    .cluster = col(st, 9),
	    .link = col(st, 10),
	    .link_latency_ns = sqlite3_column_double(st, 11),
	    .link_bandwidth = sqlite3_column_double(st, 12),
	    .sources = s->prov.sources,
	};
	if (ukf_calib_set_prov(s, &p) < 0)
		goto oom;
	ukf_calib_set_link(s, p.link_latency_ns, p.link_bandwidth);
	s->calib = *cid;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(
		sq,
		"SELECT op, x, ns FROM calib_samples WHERE calib = ?"
		" ORDER BY rowid",
		-1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: reading samples: %s", path,
			 sqlite3_errmsg(sq));
		goto out;
	}
	sqlite3_bind_int64(st, 1, *cid);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *op = col(st, 0);
		/* a measurement: two numbers >= 0 in range (text, NULL,
		 * negative or huge values come from an edited or damaged
		 * database, e.g. a CSV imported; one such x wrecked a line
		 * fit without a word, negative times were dropped unseen) */
		double x = sqlite3_column_double(st, 1),
		       ns = sqlite3_column_double(st, 2);
		int tx = sqlite3_column_type(st, 1),
		    tn = sqlite3_column_type(st, 2);
		if ((tx != SQLITE_INTEGER && tx != SQLITE_FLOAT) ||
		    (tn != SQLITE_INTEGER && tn != SQLITE_FLOAT) ||
		    !(x >= 0 && x <= 1e18) || !(ns >= 0 && ns <= 9e18)) {
			const char *xt = (const char *)sqlite3_column_text(st, 1),
				   *nt = (const char *)sqlite3_column_text(st, 2);
			snprintf(err, errlen,
				 "%s: calibration %lld, sample %zu (op "
				 "'%.20s'): x '%.30s', ns '%.30s' is not a "
				 "measurement (numbers, x from 0 to 1e18, ns "
				 "from 0 to 9e18)",
				 path, (long long)*cid, *nadd + 1,
				 op ? op : "(null)", xt ? xt : "NULL",
				 nt ? nt : "NULL");
			goto out;
		}
		/* a measurement of its kind: no duration of 0 where the
		 * operation cannot take 0 ns (the fits took such samples
		 * out unseen), none beyond an hour and no x beyond what a
		 * plan can give (one 1e15 ns boot among 60 wrote a 7-hour
		 * boot_base_ns; one x of 1e18 bytes was fitted) */
		const struct ukf_calib_kind *k = ukf_calib_kind_of(op);
		const char *why = NULL;
		if (k && ns == 0 && !k->zero_ok)
			why = "a duration of 0 (this operation cannot take "
			      "0 ns)";
		else if (k && ns > UKF_CALIB_NS_MAX)
			why = "a duration beyond an hour";
		else if (k && x > ukf_calib_kind_xmax(k))
			why = k->x == UKF_CALIB_X_BYTES
				  ? "x beyond 1 TiB (a plan's largest size)"
			      : k->x == UKF_CALIB_X_PAGES
				  ? "x beyond 2^28 pages (1 TiB)"
				  : "x beyond an hour";
		if (why) {
			snprintf(err, errlen,
				 "%s: calibration %lld, sample %zu (op "
				 "'%.20s', x %.6g, ns %.6g): %s: not a "
				 "measurement",
				 path, (long long)*cid, *nadd + 1, op, x, ns,
				 why);
			goto out;
		}
		if (!op || ukf_calib_set_add(s, op, x, ns) < 0) {
			if (errno == ENOMEM)
				goto oom;
			snprintf(err, errlen,
				 "%s: calibration %lld: bad op '%.20s'", path,
				 (long long)*cid, op ? op : "(null)");
			goto out;
		}
		(*nadd)++;
	}
	if (r != SQLITE_DONE) {
		snprintf(err, errlen, "%s: reading samples: %s", path,
			 sqlite3_errmsg(sq));
		goto out;
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "%s: out of memory", path);
out:
	sqlite3_finalize(st);
	return rc;
}

/* Every calibration id stored, ascending, into a malloc'd *ids. */
static int all_ids(sqlite3 *sq, const char *path, int64_t **ids, size_t *n,
		   char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;

	*ids = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(sq, "SELECT id FROM calib_runs ORDER BY id", -1,
			       &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen,
			 "%s: no calibration stored (%s): run `ukfork calibrate"
			 " --backend kvm --db %s` first",
			 path, sqlite3_errmsg(sq), path);
		return -1;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			int64_t *v = realloc(*ids, cap * sizeof(*v));
			if (!v) {
				sqlite3_finalize(st);
				snprintf(err, errlen, "%s: out of memory",
					 path);
				return -1;
			}
			*ids = v;
		}
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (!*n) {
		snprintf(err, errlen, "%s: no calibration stored", path);
		return -1;
	}
	return 0;
}

int ukf_calib_load_ids(const char *path, const int64_t *ids, size_t nids,
		       ukf_calib_set_t **out, char *err, size_t errlen)
{
	sqlite3 *sq;
	ukf_calib_set_t *s = NULL;
	int64_t *mine = NULL;
	char *src = NULL;
	size_t srclen = 0;
	int rc = -1;

	if (access(path, R_OK) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	sq = open_db(path, 0, err, errlen);
	if (!sq)
		return -1;
	if (!nids) {
		if (all_ids(sq, path, &mine, &nids, err, errlen) < 0)
			goto out;
		ids = mine;
	}
	if (!(s = ukf_calib_set_create()))
		goto oom;
	for (size_t i = 0; i < nids; i++) {
		int64_t cid = 0;
		size_t nadd = 0;
		if (load_one(sq, path, ids[i], s, &cid, &nadd, err, errlen) < 0)
			goto out;
		if (nids < 2)
			continue;
		const struct ukf_calib_prov *p = &s->prov;
		/* each calibration's whole provenance (the file's header is
		 * the last one's alone): where, on what KVM (an EMULATED
		 * note), what plan, under what load, by what command */
#define PV(x) ((x) ? (x) : "?")
		char *line = NULL;
		size_t ll = 0;
		FILE *m = open_memstream(&line, &ll);
		if (!m)
			goto oom;
		fprintf(m, "%scalibration %lld: %s, %s, %zu samples%s%s%s%s",
			i ? "\n" : "", (long long)cid, PV(p->date),
			PV(p->backend), nadd, p->cluster ? ", cluster " : "",
			p->cluster ? p->cluster : "", p->link ? ", link " : "",
			p->link ? p->link : "");
		fprintf(m,
			"\n  host %s; KVM: %s\n  plan %s, n = %u; load average "
			"%s\n  command: %s",
			PV(p->host), PV(p->kvm), PV(p->plan), p->n, PV(p->load),
			PV(p->command));
#undef PV
		if (fclose(m) != 0) {
			free(line);
			goto oom;
		}
		char *t = realloc(src, srclen + ll + 1);
		if (!t) {
			free(line);
			goto oom;
		}
		src = t;
		memcpy(src + srclen, line, ll + 1);
		srclen += ll;
		free(line);
	}
	if (src) {
		struct ukf_calib_prov p = s->prov;
		p.sources = src;
		if (ukf_calib_set_prov(s, &p) < 0)
			goto oom;
	}
	*out = s;
	s = NULL;
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "%s: out of memory", path);
out:
	free(src);
	free(mine);
	sqlite3_close(sq);
	ukf_calib_set_destroy(&s);
	return rc;
}

int ukf_calib_load(const char *path, int64_t id, ukf_calib_set_t **out,
		   char *err, size_t errlen)
{
	return ukf_calib_load_ids(path, &id, 1, out, err, errlen);
}
