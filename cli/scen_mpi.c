/* SPDX-License-Identifier: MIT */
/* scen_mpi.c - sweeps over MPI ranks: a run's rows as a journal, sent to rank 0 and stored there in grid order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scen_int.h"

#ifdef UKF_HAVE_MPI
#include <mpi.h>

/* libgcov's, in a coverage build (UKF_COVERAGE) only */
extern void __gcov_dump(void) __attribute__((weak));
#endif

/*
 * Journal entries, one after another in scen_journal.p: a kind byte, then
 * its fields in host byte order (every rank runs the same build on one
 * kind of machine). Strings: a uint32 length (UINT32_MAX: NULL) and bytes.
 */
enum {
	J_BEGIN = 'B',
	J_INSTANCE = 'I',
	J_SAMPLE = 'S',
	J_OUTAGE = 'O',
	J_COMMIT = 'C',
	J_FAILED = 'F' /* alone: the run failed (its code, its message) */
};

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

/*
 * The journal's messages, each declared once: its fields in order, F for
 * one of fixed size (its bytes), S for a string (put_str/get_str). The
 * writers below and scen_replay() both expand these.
 */
#define J_BEGIN_FIELDS(F, S)                                                   \
	S(kind) S(scenario) S(scenario_hash) S(config) S(settings_json)        \
	F(seed) F(rep) S(backend) S(version) F(started_unix_ns)
#define J_INSTANCE_FIELDS(F, S)                                                \
	F(id) F(parent) F(app) S(app_name) F(origin) F(node) F(start)          \
	F(remote) F(template_fetched) F(template_made) F(delta_bytes)          \
	F(dirty_pages) F(t_request) F(t_placed) F(t_start) F(t_ready)          \
	F(t_exit) F(status) S(fail_reason) F(template_boot)
#define J_SAMPLE_FIELDS(F, S)                                                  \
	F(t) F(node) F(instances) F(vcpus_used) F(mem_used) F(cache_used)      \
	S(templates)
#define J_OUTAGE_FIELDS(F, S) F(t) F(node) S(kind) S(reason)

/* Writing a message's fields from the struct behind pointer `src`. */
#define J_PUT_F(x) PUT(j, src->x);
#define J_PUT_S(x) put_str(j, src->x);
/* Reading them into the struct `dst`: a string into a malloc'd local of
 * its field's name (J_DECL_S, NULL), freed with J_FREE_S; `bad` is set
 * when a string could not be read (the ones after it are not tried). */
#define J_NONE(x)
#define J_DECL_S(x) char *x = NULL;
#define J_GET_F(x) GET(&d, dst.x);
#define J_GET_S(x) bad = bad || get_str(&d, &x), dst.x = x;
#define J_FREE_S(x) free(x);

int64_t scen_db_begin(struct scen *sc, const struct ukf_run_info *in)
{
	if (sc->db)
		return ukf_db_run_begin(sc->db, in);
	struct scen_journal *j = sc->jn;
	const struct ukf_run_info *src = in;
	char k = J_BEGIN;
	PUT(j, k);
	J_BEGIN_FIELDS(J_PUT_F, J_PUT_S)
	return j->oom ? -1 : 1;
}

int scen_db_instance(struct scen *sc, int64_t run,
		     const struct ukf_record *r)
{
	if (!sc->jn)
		return sc->db && run > 0 ? ukf_db_instance(sc->db, run, r)
					 : 0;
	struct scen_journal *j = sc->jn;
	const struct ukf_record *src = r;
	char k = J_INSTANCE;
	PUT(j, k);
	J_INSTANCE_FIELDS(J_PUT_F, J_PUT_S)
	return j->oom ? -1 : 0;
}

int scen_db_sample(struct scen *sc, int64_t run,
		   const struct ukf_db_sample *s)
{
	if (sc->db)
		return ukf_db_sample(sc->db, run, s);
	struct scen_journal *j = sc->jn;
	const struct ukf_db_sample *src = s;
	char k = J_SAMPLE;
	PUT(j, k);
	J_SAMPLE_FIELDS(J_PUT_F, J_PUT_S)
	return j->oom ? -1 : 0;
}

int scen_db_outage(struct scen *sc, int64_t run, const struct scen_outage *o)
{
	if (sc->db)
		return ukf_db_outage(sc->db, run, o->t, o->node, o->kind,
				     o->reason);
	struct scen_journal *j = sc->jn;
	const struct scen_outage *src = o;
	char k = J_OUTAGE;
	PUT(j, k);
	J_OUTAGE_FIELDS(J_PUT_F, J_PUT_S)
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

void scen_journal_failed(struct scen_journal *j, int code, const char *msg)
{
	char k = J_FAILED;
	int32_t c = code;

	j->n = 0;
	j->oom = 0;
	PUT(j, k);
	PUT(j, c);
	put_str(j, msg);
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
		if (k == J_FAILED && !run && d.at == 1) {
			int32_t c;
			char *m = NULL;
			GET(&d, c);
			if (get_str(&d, &m) < 0 || !m || d.at != d.n ||
			    c <= 0) {
				free(m);
				goto fail;
			}
			snprintf(err, errlen, "%s", m);
			free(m);
			return c;
		} else if (k == J_BEGIN && !run && sc->db) {
			struct ukf_run_info dst;
			J_BEGIN_FIELDS(J_NONE, J_DECL_S)
			int bad = 0;
			memset(&dst, 0, sizeof(dst));
			J_BEGIN_FIELDS(J_GET_F, J_GET_S)
			if (!bad && !d.bad) {
				run = ukf_db_run_begin(sc->db, &dst);
				if (run <= 0)
					what = ukf_db_error(sc->db), run = 0;
			}
			J_BEGIN_FIELDS(J_NONE, J_FREE_S)
			if (!run) {
				/* what must outlive s: copy now */
				snprintf(err, errlen, "database: %s", what);
				return -1;
			}
		} else if (k == J_INSTANCE) {
			struct ukf_record dst;
			J_INSTANCE_FIELDS(J_NONE, J_DECL_S)
			int bad = 0;
			memset(&dst, 0, sizeof(dst));
			J_INSTANCE_FIELDS(J_GET_F, J_GET_S)
			int f = bad || d.bad;
			if (!f && run && ukf_db_instance(sc->db, run, &dst))
				f = 1, what = ukf_db_error(sc->db);
			if (!f && scen_summary_add(sum, &dst))
				f = 1, what = "out of memory";
			J_INSTANCE_FIELDS(J_NONE, J_FREE_S)
			if (f)
				goto fail;
		} else if (k == J_SAMPLE && run) {
			struct ukf_db_sample dst;
			J_SAMPLE_FIELDS(J_NONE, J_DECL_S)
			int bad = 0;
			memset(&dst, 0, sizeof(dst));
			J_SAMPLE_FIELDS(J_GET_F, J_GET_S)
			int f = bad || d.bad;
			if (!f && ukf_db_sample(sc->db, run, &dst))
				f = 1, what = ukf_db_error(sc->db);
			J_SAMPLE_FIELDS(J_NONE, J_FREE_S)
			if (f)
				goto fail;
		} else if (k == J_OUTAGE && run) {
			struct scen_outage dst;
			J_OUTAGE_FIELDS(J_NONE, J_DECL_S)
			int bad = 0;
			memset(&dst, 0, sizeof(dst));
			J_OUTAGE_FIELDS(J_GET_F, J_GET_S)
			int f = bad || d.bad;
			if (!f && ukf_db_outage(sc->db, run, dst.t, dst.node,
						dst.kind, dst.reason))
				f = 1, what = ukf_db_error(sc->db);
			J_OUTAGE_FIELDS(J_NONE, J_FREE_S)
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

long ukf_mpi_env_rank(void)
{
	static const char *const ranks[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK",
					    "PMI_RANK"};
	long r = -1;
	for (size_t i = 0; i < sizeof(ranks) / sizeof(ranks[0]); i++)
		if (getenv(ranks[i]) && atol(getenv(ranks[i])) > r)
			r = atol(getenv(ranks[i]));
	return r;
}

/*
 * srun started this process as one of several tasks of its step, but with
 * no MPI plugin (Slurm's default --mpi=none): no launcher variable says
 * so, and each task would run and store the whole sweep. The task count,
 * or 0 when that is not the case.
 */
static long srun_without_mpi(void)
{
	const char *n = getenv("SLURM_STEP_NUM_TASKS");

	if (launched() || !n || !getenv("SLURM_PROCID"))
		return 0;
	return atol(n) > 1 ? atol(n) : 0;
}

int scen_mpi_init(int *rank, int *size, char *err, size_t errlen)
{
	long tasks = srun_without_mpi();

	*rank = 0;
	*size = 1;
	if (tasks) {
		snprintf(err, errlen,
			 "started by srun as task %s of %ld with no MPI "
			 "plugin (Slurm's --mpi=none): each task would run and "
			 "store the whole sweep; run srun --mpi=pmix (or set "
			 "MpiDefault=pmix in slurm.conf), or a single task "
			 "(docs/scenarios.md, \"Under Slurm\")",
			 getenv("SLURM_PROCID"), tasks);
		return -1;
	}
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
	long n = 1;
	if (!launched())
		return 0;
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
		if (getenv(many[i]) && atol(getenv(many[i])) > n)
			n = atol(getenv(many[i]));
	if (ukf_mpi_env_rank() > 0 && n < 2)
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

int scen_mpi_send(const struct scen_journal *j)
{
#ifdef UKF_HAVE_MPI
	/* Header: the length of the journal that follows. */
	uint64_t h = (uint64_t)j->n;
	if (MPI_Send(&h, 1, MPI_UINT64_T, 0, TAG_HDR, MPI_COMM_WORLD) !=
	    MPI_SUCCESS)
		return -1;
	/* Bodies over 2 GiB go in pieces (MPI counts are int). */
	for (uint64_t off = 0; off < h;) {
		uint64_t n = h - off > (1u << 30) ? (1u << 30) : h - off;
		if (MPI_Send(j->p + off, (int)n, MPI_CHAR, 0, TAG_BODY,
			     MPI_COMM_WORLD) != MPI_SUCCESS)
			return -1;
		off += n;
	}
	return 0;
#else
	(void)j;
	return -1;
#endif
}

int scen_mpi_recv(int from, struct scen_journal *j, char *err, size_t errlen)
{
#ifdef UKF_HAVE_MPI
	uint64_t h;
	if (MPI_Recv(&h, 1, MPI_UINT64_T, from, TAG_HDR, MPI_COMM_WORLD,
		     MPI_STATUS_IGNORE) != MPI_SUCCESS) {
		snprintf(err, errlen, "rank %d: receiving failed", from);
		return -1;
	}
	j->n = 0;
	j->oom = 0;
	if (h > j->cap) {
		char *p = realloc(j->p, h);
		if (!p) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		j->p = p;
		j->cap = h;
	}
	for (uint64_t off = 0; off < h;) {
		uint64_t n = h - off > (1u << 30) ? (1u << 30) : h - off;
		if (MPI_Recv(j->p + off, (int)n, MPI_CHAR, from, TAG_BODY,
			     MPI_COMM_WORLD, MPI_STATUS_IGNORE) !=
		    MPI_SUCCESS) {
			snprintf(err, errlen, "rank %d: receiving failed",
				 from);
			return -1;
		}
		off += n;
	}
	j->n = h;
	return 0;
#else
	(void)from;
	(void)j;
	snprintf(err, errlen, "built without MPI");
	return -1;
#endif
}

int scen_mpi_agree(int code, int *r0)
{
	*r0 = code;
#ifdef UKF_HAVE_MPI
	if (g_inited && g_size > 1) {
		int in[2] = {code, g_rank == 0 ? code : 0}, o[2];
		if (MPI_Allreduce(in, o, 2, MPI_INT, MPI_MAX,
				  MPI_COMM_WORLD) != MPI_SUCCESS)
			return UKF_RUN_FAILED;
		*r0 = o[1];
		return o[0];
	}
#endif
	return code;
}

int scen_mpi_barrier(void)
{
#ifdef UKF_HAVE_MPI
	if (g_inited && g_size > 1 &&
	    MPI_Barrier(MPI_COMM_WORLD) != MPI_SUCCESS)
		return -1;
#endif
	return 0;
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
	if (g_failed && g_size > 1) {
		/* MPI_Abort ends this process without exit(): a gcov build
		 * writes its counts first (the symbol is NULL otherwise) */
		if (__gcov_dump)
			__gcov_dump();
		MPI_Abort(MPI_COMM_WORLD, code ? code : UKF_RUN_FAILED);
	}
	MPI_Finalize();
#endif
	return code;
}
