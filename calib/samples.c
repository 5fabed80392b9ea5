/* SPDX-License-Identifier: MIT */
/* samples.c - a calibration's raw samples in memory and in the results database
 * (tables calib_runs, calib_samples). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../results/results.h"
#include "calib.h"

struct sample {
	char op[16];
	double x, ns;
};

struct ukf_calib_set {
	struct sample *v;
	size_t n, cap;
	struct ukf_calib_prov prov;
	char *strs[7]; /* owned copies of prov's strings */
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
	for (size_t i = 0; i < 7; i++)
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
		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	struct sample *e = &s->v[s->n++];
	memset(e, 0, sizeof(*e));
	strcpy(e->op, op);
	e->x = x;
	e->ns = ns;
	return 0;
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

int ukf_calib_set_prov(ukf_calib_set_t *s, const struct ukf_calib_prov *p)
{
	const char *in[7] = {p->date, p->host,	  p->kvm, p->backend,
			     p->plan, p->command, p->load};
	char *out[7] = {0};

	for (size_t i = 0; i < 7; i++) {
		if (in[i] && !(out[i] = strdup(in[i]))) {
			for (size_t j = 0; j < i; j++)
				free(out[j]);
			return -1;
		}
	}
	for (size_t i = 0; i < 7; i++) {
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
	s->prov.n = p->n;
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
    " backend TEXT, plan TEXT, command TEXT, load TEXT, n INTEGER);"
    "CREATE TABLE IF NOT EXISTS calib_samples("
    " calib INTEGER NOT NULL REFERENCES calib_runs(id),"
    " op TEXT NOT NULL, x REAL NOT NULL, ns REAL NOT NULL);"
    "CREATE INDEX IF NOT EXISTS calib_samples_calib ON calib_samples(calib);";

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
	if (sqlite3_exec(sq, tables_sql, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	what = "storing the calibration";
	if (sqlite3_prepare_v2(
		sq,
		"INSERT INTO calib_runs(date, host, kvm, backend,"
		" plan, command, load, n) VALUES (?,?,?,?,?,?,?,?)",
		-1, &st, NULL) != SQLITE_OK)
		goto fail;
	const char *v[7] = {p->date, p->host,	 p->kvm, p->backend,
			    p->plan, p->command, p->load};
	for (int i = 0; i < 7; i++)
		sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 8, p->n);
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

int ukf_calib_load(const char *path, int64_t id, ukf_calib_set_t **out,
		   char *err, size_t errlen)
{
	sqlite3 *sq;
	sqlite3_stmt *st = NULL;
	ukf_calib_set_t *s = NULL;
	int rc = -1;

	if (access(path, R_OK) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	sq = open_db(path, 0, err, errlen);
	if (!sq)
		return -1;
	if (sqlite3_prepare_v2(
		sq,
		"SELECT id, date, host, kvm, backend, plan,"
		" command, load, n FROM calib_runs"
		" WHERE ?1 = 0 OR id = ?1 ORDER BY id DESC LIMIT 1",
		-1, &st, NULL) != SQLITE_OK) {
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
	if (!(s = ukf_calib_set_create()))
		goto oom;
	int64_t cid = sqlite3_column_int64(st, 0);
	struct ukf_calib_prov p = {
	    .date = col(st, 1),
	    .host = col(st, 2),
	    .kvm = col(st, 3),
	    .backend = col(st, 4),
	    .plan = col(st, 5),
	    .command = col(st, 6),
	    .load = col(st, 7),
	    .n = (uint32_t)sqlite3_column_int64(st, 8),
	};
	if (ukf_calib_set_prov(s, &p) < 0)
		goto oom;
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
	sqlite3_bind_int64(st, 1, cid);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *op = col(st, 0);
		if (!op ||
		    ukf_calib_set_add(s, op, sqlite3_column_double(st, 1),
				      sqlite3_column_double(st, 2)) < 0) {
			if (errno == ENOMEM)
				goto oom;
			snprintf(err, errlen,
				 "%s: calibration %lld: bad op '%.20s'", path,
				 (long long)cid, op ? op : "(null)");
			goto out;
		}
	}
	if (r != SQLITE_DONE) {
		snprintf(err, errlen, "%s: reading samples: %s", path,
			 sqlite3_errmsg(sq));
		goto out;
	}
	*out = s;
	s = NULL;
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "%s: out of memory", path);
out:
	sqlite3_finalize(st);
	sqlite3_close(sq);
	ukf_calib_set_destroy(&s);
	return rc;
}
