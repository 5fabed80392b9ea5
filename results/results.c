/* SPDX-License-Identifier: MIT */
/* results.c - writing runs, instances, template boots, samples, outages and
 * boots to SQLite. */
#include "results.h"
#include "results_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The engine's own boots that make a template (struct ukf_record with
 * template_boot = 1): no request, so not in instances, whose rows are the
 * requests (count, latency and start fractions are theirs). Added to
 * schema version 1 without a new version: older files get it at their
 * next run (ukf_db_run_begin) and older readers never look for it.
 */
#define TBOOTS_SQL                                                             \
	"CREATE TABLE IF NOT EXISTS template_boots("                           \
	" run INTEGER NOT NULL REFERENCES runs(id),"                           \
	" id INTEGER NOT NULL, app TEXT, app_id INTEGER, node INTEGER,"        \
	" template_made INTEGER, dirty_pages INTEGER,"                         \
	" t_start INTEGER, t_ready INTEGER, t_end INTEGER,"                     \
	" status INTEGER, fail_reason TEXT);"

/*
 * Node and link outages of a simulated run (churn{}, fail_node(), ...):
 * when each node failed, was noticed failed, was cut off or came back.
 * Added to schema version 1 as template_boots was.
 */
#define OUTAGES_SQL                                                            \
	"CREATE TABLE IF NOT EXISTS outages("                                  \
	" run INTEGER NOT NULL REFERENCES runs(id),"                           \
	" t INTEGER NOT NULL, node INTEGER NOT NULL,"                          \
	" kind TEXT NOT NULL CHECK (kind IN ('node-fail','node-detect',"       \
	"  'node-recover','link-fail','link-recover')),"                       \
	" reason TEXT);"

/* Set once on database creation; checked on every open. */
static const char *const schema_sql =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE runs("
	" id INTEGER PRIMARY KEY,"
	" kind TEXT NOT NULL CHECK (kind IN ('scenario','bootbench')),"
	" scenario TEXT, scenario_hash TEXT, config TEXT,"
	" settings_json TEXT CHECK (settings_json IS NULL"
	"  OR json_valid(settings_json)),"
	" seed INTEGER, rep INTEGER, backend TEXT, version TEXT,"
	" started_unix_ns INTEGER,"
	" wall_s REAL, events INTEGER, sim_end_ns INTEGER);"
	"CREATE TABLE instances("
	" run INTEGER NOT NULL REFERENCES runs(id),"
	" id INTEGER NOT NULL, parent INTEGER NOT NULL,"
	" app TEXT, app_id INTEGER, origin INTEGER, node INTEGER,"
	" start TEXT NOT NULL, start_code INTEGER NOT NULL, remote INTEGER,"
	" template_fetched INTEGER, template_made INTEGER,"
	" delta_bytes INTEGER, dirty_pages INTEGER,"
	" t_request INTEGER, t_placed INTEGER, t_start INTEGER,"
	" t_ready INTEGER, t_exit INTEGER,"
	" status INTEGER, fail_reason TEXT);"
	"CREATE INDEX instances_run ON instances(run);"
	TBOOTS_SQL
	OUTAGES_SQL
	"CREATE TABLE samples("
	" run INTEGER NOT NULL REFERENCES runs(id),"
	" t INTEGER NOT NULL, node INTEGER NOT NULL,"
	" instances INTEGER, vcpus_used INTEGER, mem_used INTEGER,"
	" cache_used INTEGER, templates TEXT);"
	"CREATE INDEX samples_run ON samples(run, t);"
	"CREATE TABLE boots("
	" run INTEGER NOT NULL REFERENCES runs(id),"
	" idx INTEGER NOT NULL,"
	" t_launch INTEGER, t_first_output INTEGER, t_marker INTEGER,"
	" t_exit INTEGER, status INTEGER, ok INTEGER NOT NULL,"
	" cpu_s REAL, peak_rss_bytes INTEGER, mode TEXT, last_output TEXT,"
	" PRIMARY KEY (run, idx)) WITHOUT ROWID;";

enum {
	ST_RUN,
	ST_INSTANCE,
	ST_SAMPLE,
	ST_BOOT,
	ST_COMMIT,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_RUN] = "INSERT INTO runs(kind, scenario, scenario_hash, config,"
		   " settings_json, seed, rep, backend, version,"
		   " started_unix_ns) VALUES (?,?,?,?,?,?,?,?,?,?)",
	[ST_INSTANCE] = "INSERT INTO instances VALUES (?,?,?,?,?,?,?,?,?,?,"
			"?,?,?,?,?,?,?,?,?,?,?)",
	[ST_SAMPLE] = "INSERT INTO samples VALUES (?,?,?,?,?,?,?,?)",
	[ST_BOOT] = "INSERT INTO boots VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
	[ST_COMMIT] = "UPDATE runs SET wall_s = ?, events = ?, sim_end_ns = ?"
		      " WHERE id = ?",
};

struct ukf_db {
	sqlite3 *sq;
	sqlite3_stmt *st[ST_COUNT];
	sqlite3_stmt *tboot; /* into template_boots, prepared at first use */
	sqlite3_stmt *outage; /* into outages, prepared at first use */
	int64_t run; /* the open run, 0 if none */
	int waited_ms; /* in the current wait for the write lock (busy) */
	char path[1024];
	char err[512];
};

/* The longest wait for another writer's lock, and when it is said. */
#define BUSY_MAX_MS 600000
#define BUSY_SAY_MS 2000

/*
 * SQLite's busy handler: another writer holds the lock (its run is open,
 * which can take minutes). Wait up to BUSY_MAX_MS, as busy_timeout did,
 * but say so on stderr once the wait passes BUSY_SAY_MS: a `ukfork run`
 * waiting behind another sweep on the same file looked hung.
 */
static int busy(void *u, int n)
{
	ukf_db_t *db = u;
	if (n == 0)
		db->waited_ms = 0;
	if (db->waited_ms >= BUSY_MAX_MS)
		return 0;
	int ms = n < 10 ? 1 + n : 100;
	if (db->waited_ms < BUSY_SAY_MS && db->waited_ms + ms >= BUSY_SAY_MS)
		fprintf(stderr,
			"ukfork: %s: waiting for another process that is "
			"writing to it (another run's end; up to %d "
			"minutes)\n",
			db->path, BUSY_MAX_MS / 60000);
	sqlite3_sleep(ms);
	db->waited_ms += ms;
	return 1;
}

static int db_fail(ukf_db_t *db, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(db->err, sizeof db->err, fmt, ap);
	va_end(ap);
	return -1;
}

static int sq_fail(ukf_db_t *db, const char *what)
{
	return db_fail(db, "%s: %s: %s", db->path, what,
		       sqlite3_errmsg(db->sq));
}

/* Run one query returning one integer; -1 on error (*ok = 0). */
static int64_t query_int(sqlite3 *sq, const char *sql, int *ok)
{
	sqlite3_stmt *st = NULL;
	int64_t v = 0;

	*ok = 0;
	if (sqlite3_prepare_v2(sq, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		v = sqlite3_column_int64(st, 0);
		*ok = 1;
	} else if (rc == SQLITE_DONE) {
		*ok = 1;
	}
	sqlite3_finalize(st);
	return v;
}

int ukf_results_check_schema(sqlite3 *sq, const char *path, int *empty,
			     char *err, size_t errlen)
{
	int ok;

	*empty = 0;
	int64_t n = query_int(sq, "SELECT count(*) FROM sqlite_schema", &ok);
	if (!ok) {
		int code = sqlite3_errcode(sq);
		if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
			ukf_seterr(err, errlen,
					   "%s: not a SQLite database (%s)",
					   path, sqlite3_errmsg(sq));
		else
			ukf_seterr(err, errlen, "%s: cannot read: %s",
					   path, sqlite3_errmsg(sq));
		return -1;
	}
	if (n == 0) {
		*empty = 1;
		return 0;
	}
	int64_t app = query_int(sq, "PRAGMA application_id", &ok);
	int64_t has_meta = query_int(
		sq,
		"SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
		" AND name = 'meta'",
		&ok);
	if ((app != 0 && app != UKF_RESULTS_APP_ID) || !has_meta) {
		ukf_seterr(err, errlen,
				   "%s: a SQLite database, but not a ukfork "
				   "results database (no ukfork meta table)",
				   path);
		return -1;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(sq,
			       "SELECT value FROM meta WHERE key = "
			       "'schema_version'",
			       -1, &st, NULL) != SQLITE_OK) {
		ukf_seterr(err, errlen, "%s: reading meta: %s", path,
				   sqlite3_errmsg(sq));
		return -1;
	}
	int rc = sqlite3_step(st);
	const unsigned char *txt =
		rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
	char *end = NULL;
	long v = txt ? strtol((const char *)txt, &end, 10) : 0;
	int valid = txt && end != (const char *)txt && *end == '\0' && v > 0;
	sqlite3_finalize(st);
	if (!valid) {
		ukf_seterr(err, errlen,
				   "%s: not a ukfork results database (meta "
				   "table without a schema_version)",
				   path);
		return -1;
	}
	if (v > UKF_RESULTS_SCHEMA_VERSION) {
		ukf_seterr(err, errlen,
				   "%s: results schema version %ld is newer "
				   "than this ukfork understands (%d); use a "
				   "newer ukfork",
				   path, v, UKF_RESULTS_SCHEMA_VERSION);
		return -1;
	}
	if (v < UKF_RESULTS_SCHEMA_VERSION) {
		/* No older schema has ever been released. */
		ukf_seterr(err, errlen,
				   "%s: unknown old results schema version %ld",
				   path, v);
		return -1;
	}
	return 0;
}

static int exec(ukf_db_t *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db->sq, sql, NULL, NULL, &msg) != SQLITE_OK) {
		db_fail(db, "%s: %s", db->path,
			msg ? msg : sqlite3_errmsg(db->sq));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Create the schema in an empty file, or check the one that is there. */
static int db_init(ukf_db_t *db)
{
	int empty;

	/* IMMEDIATE: two processes creating the same file do not race. */
	if (exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (ukf_results_check_schema(db->sq, db->path, &empty, db->err,
				     sizeof db->err) < 0)
		goto fail;
	if (empty) {
		char sql[256];
		if (exec(db, schema_sql) < 0)
			goto fail;
		snprintf(sql, sizeof sql,
			 "INSERT INTO meta VALUES ('schema_version', '%d'),"
			 " ('application', 'ukfork');"
			 "PRAGMA application_id = %d;",
			 UKF_RESULTS_SCHEMA_VERSION, UKF_RESULTS_APP_ID);
		if (exec(db, sql) < 0)
			goto fail;
	}
	return exec(db, "COMMIT");
fail:
	sqlite3_exec(db->sq, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

ukf_db_t *ukf_db_open(const char *path, char *err, size_t errlen)
{
	ukf_db_t *db = NULL;

	if (!path || !*path) {
		ukf_seterr(err, errlen, "no database path given");
		return NULL;
	}
	struct stat sb, mine;
	int st = stat(path, &sb);
	/* a file made here that a failure below (a full disk) leaves empty
	 * is removed: not left for `ukfork report` to refuse (0 bytes) */
	int made = st < 0 && errno == ENOENT;
	if (st == 0 && !S_ISREG(sb.st_mode)) {
		ukf_seterr(err, errlen, "%s: not a regular file", path);
		return NULL;
	}
	db = calloc(1, sizeof *db);
	if (!db) {
		ukf_seterr(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	snprintf(db->path, sizeof db->path, "%s", path);
	int rc = sqlite3_open_v2(path, &db->sq,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
				 NULL);
	/* the file SQLite made, if it did: the only one removed */
	made = made && stat(path, &mine) == 0;
	if (rc != SQLITE_OK) {
		sq_fail(db, "cannot open");
		goto fail;
	}
	/* SQLite falls back to reading a file it may not write: refuse it
	 * now, not with "attempt to write a readonly database" at the
	 * first run (or "cannot read" from the schema check under WAL). */
	if (sqlite3_db_readonly(db->sq, "main") == 1) {
		db_fail(db, "%s: cannot write: no write permission on the file",
			path);
		goto fail;
	}
	/*
	 * A run holds the write lock from begin to commit, which can take
	 * minutes: a second writer's ukf_db_run_begin waits up to 10 min,
	 * saying so after 2 s (busy).
	 */
	sqlite3_busy_handler(db->sq, busy, db);
	int empty;
	/* Refuse foreign files before touching them (journal mode writes). */
	if (ukf_results_check_schema(db->sq, db->path, &empty, db->err,
				     sizeof db->err) < 0) {
		/* a WAL file whose DB-shm cannot be made: not a read error */
		if ((sqlite3_errcode(db->sq) & 0xff) == SQLITE_READONLY)
			db_fail(db,
				"%s: cannot write: %s (DB-wal and DB-shm must "
				"be created beside it: no write permission on "
				"its directory?)",
				path, sqlite3_errmsg(db->sq));
		goto fail;
	}
	/*
	 * WAL: readers (`ukfork report`) never block the writer. synchronous
	 * NORMAL: a commit survives a crash of the process; after a power
	 * loss the last commits may be lost but the file stays consistent.
	 * Foreign keys stay unenforced (SQLite's default): rows only ever
	 * reference the open run, which check_run() guarantees, and the
	 * per-row lookup would cost a fifth of the insert rate.
	 */
	if (exec(db, "PRAGMA journal_mode = WAL;"
		     "PRAGMA synchronous = NORMAL;"
		     "PRAGMA cache_size = -65536;"
		     "PRAGMA journal_size_limit = 67108864;") < 0)
		goto fail;
	/* Only a new file needs the write lock (another run may hold it). */
	if (empty && db_init(db) < 0)
		goto fail;
	for (int i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(db->sq, stmt_sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &db->st[i],
				       NULL) != SQLITE_OK) {
			sq_fail(db, "preparing statements");
			goto fail;
		}
	}
	return db;
fail:
	ukf_seterr(err, errlen, "%s", db->err);
	ukf_db_close(&db);
	if (made && stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    sb.st_size == 0 && sb.st_dev == mine.st_dev &&
	    sb.st_ino == mine.st_ino)
		unlink(path);
	return NULL;
}

void ukf_db_close(ukf_db_t **dbp)
{
	ukf_db_t *db = dbp ? *dbp : NULL;
	if (!db)
		return;
	if (db->run)
		ukf_db_run_abort(db, db->run);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(db->st[i]);
	sqlite3_finalize(db->tboot);
	sqlite3_finalize(db->outage);
	sqlite3_close(db->sq);
	free(db);
	*dbp = NULL;
}

const char *ukf_db_error(const ukf_db_t *db)
{
	if (!db)
		return "no database";
	return db->err[0] ? db->err : "no error";
}

/* Text or NULL, borrowed for the duration of one step. */
static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* A time, or NULL when it never happened (UKF_NS_NEVER or negative). */
static void bind_time(sqlite3_stmt *st, int i, ukf_ns_t t)
{
	if (t == UKF_NS_NEVER || t < 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, t);
}

/* Step a bound insert/update and reset it; 0 or -1. */
static int step(ukf_db_t *db, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail(db, what);
	return 0;
}

static int check_run(ukf_db_t *db, int64_t run)
{
	if (!db)
		return -1;
	if (!db->run)
		return db_fail(db, "%s: no run is open", db->path);
	if (run != db->run)
		return db_fail(db, "%s: run %lld is not the open run (%lld)",
			       db->path, (long long)run, (long long)db->run);
	return 0;
}

int64_t ukf_db_run_begin(ukf_db_t *db, const struct ukf_run_info *info)
{
	if (!db)
		return -1;
	if (!info || !info->kind)
		return db_fail(db, "%s: run without a kind", db->path);
	if (strcmp(info->kind, "scenario") && strcmp(info->kind, "bootbench"))
		return db_fail(db,
			       "%s: unknown run kind '%s' (scenario or "
			       "bootbench)",
			       db->path, info->kind);
	if (db->run)
		return db_fail(db, "%s: run %lld is still open", db->path,
			       (long long)db->run);
	if (exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	/* a file made before template_boots or outages existed gets them */
	if ((!db->tboot && exec(db, TBOOTS_SQL) < 0) ||
	    (!db->outage && exec(db, OUTAGES_SQL) < 0)) {
		sqlite3_exec(db->sq, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	sqlite3_stmt *st = db->st[ST_RUN];
	bind_text(st, 1, info->kind);
	bind_text(st, 2, info->scenario);
	bind_text(st, 3, info->scenario_hash);
	bind_text(st, 4, info->config);
	bind_text(st, 5, info->settings_json);
	/* uint64 seeds keep their bits: read back through a cast. */
	sqlite3_bind_int64(st, 6, (int64_t)info->seed);
	sqlite3_bind_int64(st, 7, info->rep);
	bind_text(st, 8, info->backend);
	bind_text(st, 9, info->version);
	sqlite3_bind_int64(st, 10, info->started_unix_ns);
	if (step(db, st, "recording the run") < 0) {
		sqlite3_exec(db->sq, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	db->run = sqlite3_last_insert_rowid(db->sq);
	return db->run;
}

/* A template boot's row (ukf_db_instance of a record marked so). */
static int template_boot(ukf_db_t *db, int64_t run, const struct ukf_record *r)
{
	sqlite3_stmt *st = db->tboot;

	if (!st && sqlite3_prepare_v3(db->sq,
				      "INSERT INTO template_boots VALUES "
				      "(?,?,?,?,?,?,?,?,?,?,?,?)",
				      -1, SQLITE_PREPARE_PERSISTENT, &db->tboot,
				      NULL) != SQLITE_OK)
		return sq_fail(db, "preparing statements");
	st = db->tboot;
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int64(st, 2, (int64_t)r->id);
	bind_text(st, 3, r->app_name);
	sqlite3_bind_int64(st, 4, r->app);
	if (r->node == UKF_NODE_NONE)
		sqlite3_bind_null(st, 5);
	else
		sqlite3_bind_int64(st, 5, r->node);
	sqlite3_bind_int(st, 6, r->template_made != 0);
	sqlite3_bind_int64(st, 7, (int64_t)r->dirty_pages);
	bind_time(st, 8, r->t_start);
	bind_time(st, 9, r->t_ready);
	bind_time(st, 10, r->t_exit);
	sqlite3_bind_int64(st, 11, r->status);
	bind_text(st, 12, r->fail_reason);
	return step(db, st, "recording a template boot");
}

int ukf_db_instance(ukf_db_t *db, int64_t run, const struct ukf_record *r)
{
	if (check_run(db, run) < 0)
		return -1;
	if (!r)
		return db_fail(db, "%s: no instance record", db->path);
	if (r->template_boot)
		return template_boot(db, run, r);
	sqlite3_stmt *st = db->st[ST_INSTANCE];
	enum ukf_start s = r->start;
	if ((unsigned)s > UKF_START_UNKNOWN)
		s = UKF_START_UNKNOWN;
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int64(st, 2, (int64_t)r->id);
	sqlite3_bind_int64(st, 3, (int64_t)r->parent);
	bind_text(st, 4, r->app_name);
	sqlite3_bind_int64(st, 5, r->app);
	if (r->origin == UKF_NODE_NONE)
		sqlite3_bind_null(st, 6);
	else
		sqlite3_bind_int64(st, 6, r->origin);
	if (r->node == UKF_NODE_NONE)
		sqlite3_bind_null(st, 7);
	else
		sqlite3_bind_int64(st, 7, r->node);
	bind_text(st, 8, ukf_start_name(s));
	sqlite3_bind_int(st, 9, (int)s);
	sqlite3_bind_int(st, 10, r->remote != 0);
	sqlite3_bind_int(st, 11, r->template_fetched != 0);
	sqlite3_bind_int(st, 12, r->template_made != 0);
	sqlite3_bind_int64(st, 13, (int64_t)r->delta_bytes);
	sqlite3_bind_int64(st, 14, (int64_t)r->dirty_pages);
	bind_time(st, 15, r->t_request);
	bind_time(st, 16, r->t_placed);
	bind_time(st, 17, r->t_start);
	bind_time(st, 18, r->t_ready);
	bind_time(st, 19, r->t_exit);
	sqlite3_bind_int64(st, 20, r->status);
	bind_text(st, 21, r->fail_reason);
	return step(db, st, "recording an instance");
}

int ukf_db_sample(ukf_db_t *db, int64_t run, const struct ukf_db_sample *s)
{
	if (check_run(db, run) < 0)
		return -1;
	if (!s)
		return db_fail(db, "%s: no sample", db->path);
	sqlite3_stmt *st = db->st[ST_SAMPLE];
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int64(st, 2, s->t);
	sqlite3_bind_int64(st, 3, s->node);
	sqlite3_bind_int64(st, 4, s->instances);
	sqlite3_bind_int64(st, 5, s->vcpus_used);
	sqlite3_bind_int64(st, 6, (int64_t)s->mem_used);
	sqlite3_bind_int64(st, 7, (int64_t)s->cache_used);
	bind_text(st, 8, s->templates);
	return step(db, st, "recording a sample");
}

int ukf_db_outage(ukf_db_t *db, int64_t run, ukf_ns_t t, ukf_node_id_t node,
		  const char *kind, const char *reason)
{
	static const char *const kinds[] = { "node-fail", "node-detect",
					     "node-recover", "link-fail",
					     "link-recover" };
	size_t k = 0;

	if (check_run(db, run) < 0)
		return -1;
	while (k < sizeof(kinds) / sizeof(kinds[0]) &&
	       (!kind || strcmp(kind, kinds[k])))
		k++;
	if (k == sizeof(kinds) / sizeof(kinds[0]))
		return db_fail(db, "%s: unknown outage kind '%s'", db->path,
			       kind ? kind : "(none)");
	if (!db->outage &&
	    sqlite3_prepare_v3(db->sq, "INSERT INTO outages VALUES (?,?,?,?,?)",
			       -1, SQLITE_PREPARE_PERSISTENT, &db->outage,
			       NULL) != SQLITE_OK)
		return sq_fail(db, "preparing statements");
	sqlite3_stmt *st = db->outage;
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int64(st, 2, t);
	sqlite3_bind_int64(st, 3, node);
	bind_text(st, 4, kinds[k]);
	bind_text(st, 5, reason);
	return step(db, st, "recording an outage");
}

int ukf_db_boot(ukf_db_t *db, int64_t run, const struct ukf_db_boot *b)
{
	if (check_run(db, run) < 0)
		return -1;
	if (!b)
		return db_fail(db, "%s: no boot record", db->path);
	sqlite3_stmt *st = db->st[ST_BOOT];
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int64(st, 2, b->index);
	bind_time(st, 3, b->t_launch);
	bind_time(st, 4, b->t_first_output);
	bind_time(st, 5, b->t_marker);
	bind_time(st, 6, b->t_exit);
	sqlite3_bind_int64(st, 7, b->status);
	sqlite3_bind_int(st, 8, b->ok != 0);
	sqlite3_bind_double(st, 9, b->cpu_s);
	sqlite3_bind_int64(st, 10, (int64_t)b->peak_rss_bytes);
	bind_text(st, 11, b->mode);
	bind_text(st, 12, b->last_output);
	return step(db, st, "recording a boot");
}

int ukf_db_run_commit(ukf_db_t *db, int64_t run, double wall_s,
		      uint64_t events, ukf_ns_t sim_end)
{
	if (check_run(db, run) < 0)
		return -1;
	sqlite3_stmt *st = db->st[ST_COMMIT];
	sqlite3_bind_double(st, 1, wall_s);
	sqlite3_bind_int64(st, 2, (int64_t)events);
	bind_time(st, 3, sim_end);
	sqlite3_bind_int64(st, 4, run);
	if (step(db, st, "finishing the run") < 0 || exec(db, "COMMIT") < 0) {
		/* Keep the error message of the failure, not of the rollback. */
		sqlite3_exec(db->sq, "ROLLBACK", NULL, NULL, NULL);
		db->run = 0;
		return -1;
	}
	db->run = 0;
	return 0;
}

void ukf_db_run_abort(ukf_db_t *db, int64_t run)
{
	if (!db || !db->run || run != db->run)
		return;
	sqlite3_exec(db->sq, "ROLLBACK", NULL, NULL, NULL);
	db->run = 0;
}
