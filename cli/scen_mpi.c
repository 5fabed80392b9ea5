/* SPDX-License-Identifier: MIT */
/* scen_mpi.c - sweeps over MPI ranks: a run's rows as a journal, sent to rank 0 and stored there in grid order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scen_int.h"

#ifdef UKF_HAVE_MPI
#include <mpi.h>
#endif

/*
 * Journal entries, one after another in scen_journal.p: a kind byte, then
 * its fields in host byte order (every rank runs the same build on one
 * kind of machine). Strings: a uint32 length (UINT32_MAX: NULL) and bytes.
 */
enum { J_BEGIN = 'B', J_INSTANCE = 'I', J_SAMPLE = 'S', J_COMMIT = 'C' };

/* Process state of MPI: one per process by nature (MPI_Init is). */
#ifdef UKF_HAVE_MPI
static int g_rank, g_size = 1, g_inited;
#endif
static int g_failed;

static void put(struct scen_journal *j, const void *v, size_t n)
{
	if (j->oom)
		return;
	if (j->n + n > j->cap) {
		size_t cap = j->cap ? j->cap : 4096;
		while (cap < j->n + n)
			cap *= 2;
		char *p = realloc(j->p, cap);
		if (!p) {
			j->oom = 1;
			return;
		}
		j->p = p;
		j->cap = cap;
	}
	memcpy(j->p + j->n, v, n);
	j->n += n;
}
#define PUT(j, x) put((j), &(x), sizeof(x))

static void put_str(struct scen_journal *j, const char *s)
{
	uint32_t n = s ? (uint32_t)strlen(s) : UINT32_MAX;
	PUT(j, n);
	if (s)
		put(j, s, n);
}

/* Reading: cursor over a received journal; bad sets on overrun. */
struct rd {
	const char *p;
	size_t n, at;
	int bad;
};

static void get(struct rd *d, void *v, size_t n)
{
	if (d->bad || d->n - d->at < n) {
		d->bad = 1;
		memset(v, 0, n);
		return;
	}
	memcpy(v, d->p + d->at, n);
	d->at += n;
}
#define GET(d, x) get((d), &(x), sizeof(x))

/* A string of the journal, copied into a malloc'd buffer (*s NULL for
 * NULL); -1 when out of memory or the journal is short. */
static int get_str(struct rd *d, char **s)
{
	uint32_t n;
	*s = NULL;
	GET(d, n);
	if (d->bad || n == UINT32_MAX)
		return d->bad ? -1 : 0;
	if (d->n - d->at < n) {
		d->bad = 1;
		return -1;
	}
	*s = malloc((size_t)n + 1);
	if (!*s)
		return -1;
	memcpy(*s, d->p + d->at, n);
	(*s)[n] = 0;
	d->at += n;
	return 0;
}

int64_t scen_db_begin(struct scen *sc, const struct ukf_run_info *in)
{
	if (sc->db)
		return ukf_db_run_begin(sc->db, in);
	struct scen_journal *j = sc->jn;
	char k = J_BEGIN;
	PUT(j, k);
	put_str(j, in->kind);
	put_str(j, in->scenario);
	put_str(j, in->scenario_hash);
	put_str(j, in->config);
	put_str(j, in->settings_json);
	PUT(j, in->seed);
	PUT(j, in->rep);
	put_str(j, in->backend);
	put_str(j, in->version);
	PUT(j, in->started_unix_ns);
	return j->oom ? -1 : 1;
}

int scen_db_instance(struct scen *sc, int64_t run,
		     const struct ukf_record *r)
{
	if (!sc->jn)
		return sc->db && run > 0 ? ukf_db_instance(sc->db, run, r)
					 : 0;
	struct scen_journal *j = sc->jn;
	char k = J_INSTANCE;
	PUT(j, k);
	PUT(j, r->id);
	PUT(j, r->parent);
	PUT(j, r->app);
	put_str(j, r->app_name);
	PUT(j, r->origin);
	PUT(j, r->node);
	PUT(j, r->start);
	PUT(j, r->remote);
	PUT(j, r->template_fetched);
	PUT(j, r->template_made);
	PUT(j, r->delta_bytes);
	PUT(j, r->dirty_pages);
	PUT(j, r->t_request);
	PUT(j, r->t_placed);
	PUT(j, r->t_start);
	PUT(j, r->t_ready);
	PUT(j, r->t_exit);
	PUT(j, r->status);
	put_str(j, r->fail_reason);
	PUT(j, r->template_boot);
	return j->oom ? -1 : 0;
}

int scen_db_sample(struct scen *sc, int64_t run,
		   const struct ukf_db_sample *s)
{
	if (sc->db)
		return ukf_db_sample(sc->db, run, s);
	struct scen_journal *j = sc->jn;
	char k = J_SAMPLE;
	PUT(j, k);
	PUT(j, s->t);
	PUT(j, s->node);
	PUT(j, s->instances);
	PUT(j, s->vcpus_used);
	PUT(j, s->mem_used);
	PUT(j, s->cache_used);
	put_str(j, s->templates);
	return j->oom ? -1 : 0;
}

int scen_db_commit(struct scen *sc, int64_t run,
		   const struct scen_run_end *e)
{
	if (sc->db)
		return ukf_db_run_commit(sc->db, run, e->wall, e->events,
					 e->end);
	struct scen_journal *j = sc->jn;
	char k = J_COMMIT;
	PUT(j, k);
	PUT(j, *e);
	return j->oom ? -1 : 0;
}

void scen_db_abort(struct scen *sc, int64_t run)
{
	if (sc->db)
		ukf_db_run_abort(sc->db, run);
	else if (sc->jn)
		sc->jn->n = 0;
}

const char *scen_db_error(const struct scen *sc)
{
	return sc->db ? ukf_db_error(sc->db) : "out of memory";
}

int scen_replay(struct scen *sc, const char *p, size_t n,
		struct summary *sum, struct scen_run_end *e, char *err,
		size_t errlen)
{
	struct rd d = {.p = p, .n = n};
	int64_t run = 0;
	int rc = -1;
	const char *what = "a short or garbled journal";
	memset(e, 0, sizeof(*e));
	while (d.at < d.n) {
		char k;
		GET(&d, k);
		if (k == J_BEGIN && !run && sc->db) {
			struct ukf_run_info in;
			char *s[7] = {0};
			memset(&in, 0, sizeof(in));
			int bad = get_str(&d, &s[0]) || get_str(&d, &s[1]) ||
				  get_str(&d, &s[2]) || get_str(&d, &s[3]) ||
				  get_str(&d, &s[4]);
			GET(&d, in.seed);
			GET(&d, in.rep);
			bad = bad || get_str(&d, &s[5]) || get_str(&d, &s[6]);
			GET(&d, in.started_unix_ns);
			in.kind = s[0], in.scenario = s[1];
			in.scenario_hash = s[2], in.config = s[3];
			in.settings_json = s[4], in.backend = s[5];
			in.version = s[6];
			if (!bad && !d.bad) {
				run = ukf_db_run_begin(sc->db, &in);
				if (run <= 0)
					what = ukf_db_error(sc->db), run = 0;
			}
			for (int i = 0; i < 7; i++)
				free(s[i]);
			if (!run) {
				/* what must outlive s: copy now */
				snprintf(err, errlen, "database: %s", what);
				return -1;
			}
		} else if (k == J_INSTANCE) {
			struct ukf_record r;
			char *an = NULL, *fr = NULL;
			memset(&r, 0, sizeof(r));
			GET(&d, r.id);
			GET(&d, r.parent);
			GET(&d, r.app);
			int bad = get_str(&d, &an);
			GET(&d, r.origin);
			GET(&d, r.node);
			GET(&d, r.start);
			GET(&d, r.remote);
			GET(&d, r.template_fetched);
			GET(&d, r.template_made);
			GET(&d, r.delta_bytes);
			GET(&d, r.dirty_pages);
			GET(&d, r.t_request);
			GET(&d, r.t_placed);
			GET(&d, r.t_start);
			GET(&d, r.t_ready);
			GET(&d, r.t_exit);
			GET(&d, r.status);
			bad = bad || get_str(&d, &fr);
			GET(&d, r.template_boot);
			r.app_name = an;
			r.fail_reason = fr;
			int f = bad || d.bad;
			if (!f && run && ukf_db_instance(sc->db, run, &r))
				f = 1, what = ukf_db_error(sc->db);
			if (!f && scen_summary_add(sum, &r))
				f = 1, what = "out of memory";
			free(an);
			free(fr);
			if (f)
				goto fail;
		} else if (k == J_SAMPLE && run) {
			struct ukf_db_sample s;
			char *t = NULL;
			memset(&s, 0, sizeof(s));
			GET(&d, s.t);
			GET(&d, s.node);
			GET(&d, s.instances);
			GET(&d, s.vcpus_used);
			GET(&d, s.mem_used);
			GET(&d, s.cache_used);
			int f = get_str(&d, &t) || d.bad;
			s.templates = t;
			if (!f && ukf_db_sample(sc->db, run, &s))
				f = 1, what = ukf_db_error(sc->db);
			free(t);
			if (f)
				goto fail;
		} else if (k == J_COMMIT) {
			GET(&d, *e);
			if (d.bad || d.at != d.n)
				goto fail;
			if (run && ukf_db_run_commit(sc->db, run, e->wall,
						     e->events, e->end)) {
				snprintf(err, errlen, "database: %s",
					 ukf_db_error(sc->db));
				return -1;
			}
			return 0;
		} else {
			goto fail;
		}
	}
fail:
	snprintf(err, errlen, "%s%s", run ? "database: " : "", what);
	if (run)
		ukf_db_run_abort(sc->db, run);
	return rc;
}

/* ------------------------------------------------------------------ */
/* MPI itself: only when a launcher started this process. */

/* 1 if mpirun/mpiexec (Open MPI) or srun (PMI/PMIx) started us. */
static int launched(void)
{
	static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE",
					   "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (getenv(vars[i]))
			return 1;
	return 0;
}

int scen_mpi_init(int *rank, int *size, char *err, size_t errlen)
{
	*rank = 0;
	*size = 1;
#ifdef UKF_HAVE_MPI
	int ok = 0;
	if (!launched())
		return 0;
	MPI_Initialized(&ok);
	if (!ok && MPI_Init(NULL, NULL) != MPI_SUCCESS) {
		snprintf(err, errlen, "MPI_Init failed");
		return -1;
	}
	g_inited = 1;
	MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
	MPI_Comm_size(MPI_COMM_WORLD, &g_size);
	*rank = g_rank;
	*size = g_size;
#else
	/* Built without MPI but started as one of several processes: each
	 * would run and store the whole sweep. Refuse instead. */
	static const char *const many[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
	static const char *const ranks[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK",
					    "PMI_RANK"};
	long n = 1;
	if (!launched())
		return 0;
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
		if (getenv(many[i]) && atol(getenv(many[i])) > n)
			n = atol(getenv(many[i]));
	for (size_t i = 0; i < sizeof(ranks) / sizeof(ranks[0]); i++)
		if (getenv(ranks[i]) && atol(getenv(ranks[i])) > 0 && n < 2)
			n = 2;
	if (n > 1) {
		snprintf(err, errlen,
			 "started by an MPI launcher as one of %s%ld processes, "
			 "but this ukfork was built without MPI (each would run "
			 "and store the whole sweep): build with libopenmpi-dev "
			 "installed (configure says 'MPI sweeps: ON') or run it "
			 "alone",
			 n == 2 && !getenv("OMPI_COMM_WORLD_SIZE") &&
				 !getenv("PMI_SIZE")
			     ? "at least "
			     : "",
			 n);
		return -1;
	}
#endif
	return 0;
}

/* Message tags: the grid index of the run is the tag's base. */
#define TAG_HDR 1
#define TAG_BODY 2

int scen_mpi_send(int code, const char *what, const struct scen_journal *j)
{
#ifdef UKF_HAVE_MPI
	/* Header: code (0: journal follows, else the error text follows)
	 * and the length of what follows. */
	uint64_t h[2] = {(uint64_t)code,
			 code ? strlen(what) + 1 : (uint64_t)j->n};
	const char *body = code ? what : j->p;
	if (MPI_Send(h, 2, MPI_UINT64_T, 0, TAG_HDR, MPI_COMM_WORLD) !=
	    MPI_SUCCESS)
		return -1;
	/* Bodies over 2 GiB go in pieces (MPI counts are int). */
	for (uint64_t off = 0; off < h[1];) {
		uint64_t n = h[1] - off > (1u << 30) ? (1u << 30) : h[1] - off;
		if (MPI_Send(body + off, (int)n, MPI_CHAR, 0, TAG_BODY,
			     MPI_COMM_WORLD) != MPI_SUCCESS)
			return -1;
		off += n;
	}
	return 0;
#else
	(void)code;
	(void)what;
	(void)j;
	return -1;
#endif
}

int scen_mpi_recv(int from, struct scen_journal *j, int *code, char *err,
		  size_t errlen)
{
#ifdef UKF_HAVE_MPI
	uint64_t h[2];
	*code = 0;
	if (MPI_Recv(h, 2, MPI_UINT64_T, from, TAG_HDR, MPI_COMM_WORLD,
		     MPI_STATUS_IGNORE) != MPI_SUCCESS) {
		snprintf(err, errlen, "rank %d: receiving failed", from);
		return -1;
	}
	j->n = 0;
	j->oom = 0;
	if (h[1] > j->cap) {
		char *p = realloc(j->p, h[1]);
		if (!p) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		j->p = p;
		j->cap = h[1];
	}
	for (uint64_t off = 0; off < h[1];) {
		uint64_t n = h[1] - off > (1u << 30) ? (1u << 30) : h[1] - off;
		if (MPI_Recv(j->p + off, (int)n, MPI_CHAR, from, TAG_BODY,
			     MPI_COMM_WORLD, MPI_STATUS_IGNORE) !=
		    MPI_SUCCESS) {
			snprintf(err, errlen, "rank %d: receiving failed",
				 from);
			return -1;
		}
		off += n;
	}
	j->n = h[1];
	if (h[0]) {
		*code = (int)h[0];
		snprintf(err, errlen, "%.*s", (int)(h[1] ? h[1] - 1 : 0),
			 j->p);
	}
	return 0;
#else
	(void)from;
	(void)j;
	(void)code;
	snprintf(err, errlen, "built without MPI");
	return -1;
#endif
}

void scen_mpi_failed(void)
{
	g_failed = 1;
}

int ukf_scenario_mpi_end(int code)
{
#ifdef UKF_HAVE_MPI
	if (!g_inited)
		return code;
	int fin = 0;
	MPI_Finalized(&fin);
	if (fin)
		return code;
	if (g_failed && g_size > 1)
		MPI_Abort(MPI_COMM_WORLD, code ? code : UKF_RUN_FAILED);
	MPI_Finalize();
#endif
	return code;
}
