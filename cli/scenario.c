/* SPDX-License-Identifier: MIT */
/* scenario.c - Lua scenarios: settings and sweeps, apps, workload, runs. */
#define _GNU_SOURCE
#include "scenario.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "../core/engine.h"
#include "../include/ukf_abi.h"
#include "../core/world.h"
#include "../sim/sim.h"
#include "../results/json.h"
#include "../results/results.h"
#include "../results/stats.h"
#ifdef UKF_HAVE_LIVE
#include "../live/live.h"
#endif
#ifdef UKF_HAVE_AGENT
#include "../agent/client.h"
#endif

#define WHERE_MAX 160
#define ERR_MAX	  1024

/* The most nodes a simulated cluster may have: each takes about 4 KiB
 * (1,000,000 nodes: ~4 GB, about a minute to build; ten million would not
 * fit in the memory of a 24 GiB machine). Refused at the check, before
 * anything is built. */
#define NODES_MAX 1000000

/* ------------------------------------------------------------------ */
/* Keyed random streams: SplitMix64, one 8-byte state per stream (it  */
/* passes BigCrush; a small state keeps 10,000 processes' streams in   */
/* cache on the sleep/wake hot path).                                   */

struct rng {
	uint64_t s;
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}
#define FNV_INIT 0xcbf29ce484222325ULL

/* A stream keyed by (seed, rep, key): the same key gives the same numbers
 * in every sweep point, a different rep gives an independent substream. */
static void rng_seed(struct rng *r, uint64_t seed, uint32_t rep,
		     const char *key)
{
	uint64_t x = seed;
	x ^= splitmix64(&x) + rep * 0xd1b54a32d192ed03ULL;
	x ^= fnv1a(key, strlen(key), FNV_INIT);
	r->s = splitmix64(&x);
}

static inline double rng_uniform(struct rng *r)
{
	return (double)(splitmix64(&r->s) >> 11) * 0x1.0p-53;
}

static double rng_exponential(struct rng *r, double mean)
{
	return -mean * log1p(-rng_uniform(r));
}

/* ------------------------------------------------------------------ */
/* Settings: built-in ones and param(); any may be a list (a sweep).   */

enum stype {
	ST_INT,
	ST_TIME,
	ST_SIZE,
	ST_BW,
	ST_NAME,
	ST_FETCH,
	ST_PATH,
	ST_ANY
};

struct sdef {
	const char *name;
	const char *group; /* the declaring function */
	enum stype type;
};

static const struct sdef builtin[] = {
    {"nodes", "cluster", ST_INT},      {"vcpus", "cluster", ST_INT},
    {"memory", "cluster", ST_SIZE},    {"cache", "cluster", ST_SIZE},
    {"latency", "cluster", ST_TIME},   {"bandwidth", "cluster", ST_BW},
    {"dir_delay", "cluster", ST_TIME}, {"placement", "policy", ST_NAME},
    {"templates", "policy", ST_NAME},  {"fetch", "policy", ST_FETCH},
    {"prewarm", "policy", ST_INT},     {"max_children", "policy", ST_INT},
    {"max_queue", "policy", ST_INT},   {"retry", "policy", ST_TIME},
    {"max_retries", "policy", ST_INT}, {"duration", "run", ST_TIME},
    {"sample_every", "run", ST_TIME},  {"model", "run", ST_PATH},
    {"seed", "run", ST_INT},           {"directory", "cluster", ST_NAME},
    {"dir_delay_p99", "cluster", ST_TIME},
    {"faults", "cluster", ST_NAME}, /* sim only: ukf_sim_faults_parse */
};
#define NBUILTIN (sizeof(builtin) / sizeof(builtin[0]))

enum {
	S_NODES,
	S_VCPUS,
	S_MEMORY,
	S_CACHE,
	S_LATENCY,
	S_BANDWIDTH,
	S_DIR_DELAY,
	S_PLACEMENT,
	S_TEMPLATES,
	S_FETCH,
	S_PREWARM,
	S_MAX_CHILDREN,
	S_MAX_QUEUE,
	S_RETRY,
	S_MAX_RETRIES,
	S_DURATION,
	S_SAMPLE_EVERY,
	S_MODEL,
	S_SEED,
	S_DIRECTORY,
	S_DIR_DELAY_P99,
	S_FAULTS
};

struct val {
	int is_num;
	double num;
	char *str; /* always set: the value as text */
};

/* One setting of the scenario with all its values (nvals > 1: a sweep). */
struct entry {
	char *name;
	int builtin; /* index in builtin[], or -1 for param() */
	struct val *vals;
	size_t nvals;
	char where[WHERE_MAX]; /* "file:line" or "--set name=..." */
	int from_cli;
	int seen;     /* declared by the script in this pass */
	size_t order; /* declaration order (command line only: last) */
};

/* Everything that spans the runs of one `ukfork run`. */
struct scen {
	const struct ukf_run_opts *o;
	char script_dir[512];
	char hash[17];
	struct entry *ents;
	size_t nents, declared;
	uint64_t seed;
	FILE *msg, *out, *trace;
	ukf_db_t *db;
	/* The scenario's text, read once: every pass and run executes these
	 * bytes (an edit during a sweep changes nothing), hashed as stored. */
	char *text;
	size_t textlen;
	char chunkname[WHERE_MAX]; /* "@path": messages say path:line */
	/* Progress: the sweep point being run (0-based) of npoints, reps
	 * per point, and the runs finished so far with their wall time (the
	 * ETA's basis). */
	size_t point_no, npoints, runs_done;
	uint32_t reps;
	double wall_done;
};

static const struct sdef *builtin_find(const char *name)
{
	for (size_t i = 0; i < NBUILTIN; i++)
		if (!strcmp(builtin[i].name, name))
			return &builtin[i];
	return NULL;
}

static struct entry *entry_find(struct scen *sc, const char *name)
{
	for (size_t i = 0; i < sc->nents; i++)
		if (!strcmp(sc->ents[i].name, name))
			return &sc->ents[i];
	return NULL;
}

static struct entry *entry_add(struct scen *sc, const char *name)
{
	struct entry *n = realloc(sc->ents, (sc->nents + 1) * sizeof(*n));
	if (!n)
		return NULL;
	sc->ents = n;
	struct entry *e = &sc->ents[sc->nents++];
	memset(e, 0, sizeof(*e));
	e->name = strdup(name);
	const struct sdef *d = builtin_find(name);
	e->builtin = d ? (int)(d - builtin) : -1;
	return e;
}

static void entry_free_vals(struct entry *e)
{
	for (size_t i = 0; i < e->nvals; i++)
		free(e->vals[i].str);
	free(e->vals);
	e->vals = NULL;
	e->nvals = 0;
}

static int val_push(struct entry *e, int is_num, double num, const char *s)
{
	struct val *n = realloc(e->vals, (e->nvals + 1) * sizeof(*n));
	if (!n)
		return -1;
	e->vals = n;
	n[e->nvals].is_num = is_num;
	n[e->nvals].num = num;
	n[e->nvals].str = strdup(s);
	e->nvals++;
	return 0;
}

/*
 * Numbers written as text (--set values, strings in a scenario, trace
 * files) have one form, as --seed and --reps: decimal digits, optionally
 * a fraction ".digits"; an optional '-' only where a value may be
 * negative (a param). No '+', exponent, hex, blanks, inf or nan: "0x10"
 * and "1e3" are not numbers (docs/scenarios.md, Units).
 * The length of such a number at the start of s (frac: a fraction is
 * allowed), 0 if there is none.
 */
static size_t decimal_len(const char *s, int frac)
{
	size_t i = 0;
	while (s[i] >= '0' && s[i] <= '9')
		i++;
	if (!i)
		return 0;
	if (frac && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9') {
		i++;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i;
}

/* 1 if all of s is a decimal number (an optional '-' if neg). */
static int is_decimal(const char *s, int frac, int neg)
{
	const char *d = neg && *s == '-' ? s + 1 : s;
	size_t n = decimal_len(d, frac);
	return n && !d[n];
}

/* 1 if s is a decimal number followed by nothing but unit letters. */
static int decimal_unit(const char *s)
{
	size_t n = decimal_len(s, 1);
	if (!n)
		return 0;
	for (s += n; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return 0;
	return 1;
}

/* A time from Lua: a number of seconds, or a string with a unit. */
static int text_time(const char *s, ukf_ns_t *out)
{
	size_t n = strlen(s);
	if (!n || !((s[n - 1] >= 'a' && s[n - 1] <= 'z')))
		return -1; /* a bare number in a string is ambiguous: refuse */
	if (!decimal_unit(s))
		return -1;
	return ukf_parse_time(s, out);
}

static int num_time(double x, ukf_ns_t *out)
{
	if (!(x >= 0) || x > 9.2e9)
		return -1;
	*out = (ukf_ns_t)llround(x * 1e9);
	return 0;
}

/* Convert one value to the setting's type; 0 or -1 with a reason in why. */
struct conv {
	int64_t i;
	uint64_t u;
	double d;
	const char *s;
};

static int val_convert(enum stype t, const struct val *v, struct conv *c,
		       const char **why)
{
	memset(c, 0, sizeof(*c));
	c->s = v->str;
	switch (t) {
	case ST_INT: {
		double x = v->num;
		if (!v->is_num) {
			if (!is_decimal(v->str, 0, 0)) {
				*why = "expected a whole number (decimal "
				       "digits)";
				return -1;
			}
			errno = 0;
			x = strtod(v->str, NULL);
		}
		if (x < 0 || x != floor(x) || x > 4e18) {
			*why = "expected a whole number >= 0";
			return -1;
		}
		/* 2.0 or true is a number to Lua, not a count as text */
		if (!is_decimal(v->str, 0, 0)) {
			*why = "expected a whole number (decimal digits)";
			return -1;
		}
		c->i = (int64_t)x;
		c->u = (uint64_t)x;
		return 0;
	}
	case ST_TIME: {
		ukf_ns_t ns;
		int r =
		    v->is_num ? num_time(v->num, &ns) : text_time(v->str, &ns);
		if (r || ns < 0) {
			*why = "expected a time >= 0: seconds, or a string "
			       "with a unit (ns, us, ms, s)";
			return -1;
		}
		c->i = ns;
		return 0;
	}
	case ST_SIZE:
	case ST_BW: {
		uint64_t b;
		if (v->is_num) {
			if (!(v->num >= 0) || v->num > 1.8e19) {
				*why = "expected a size >= 0";
				return -1;
			}
			b = (uint64_t)v->num;
		} else if (!decimal_unit(v->str) ||
			   ukf_parse_size(v->str, &b)) {
			*why = t == ST_BW
				   ? "expected bytes/s: a number or a size "
				     "like \"1G\" (per second)"
				   : "expected a size: bytes, or a "
				     "string like \"64M\"";
			return -1;
		}
		if (t == ST_BW && b == 0) {
			*why = "bandwidth must be > 0";
			return -1;
		}
		c->u = b;
		c->d = (double)b;
		return 0;
	}
	case ST_FETCH:
		if (!strcmp(v->str, "peer"))
			c->i = UKF_FETCH_PEER;
		else if (!strcmp(v->str, "cold"))
			c->i = UKF_FETCH_COLD;
		else {
			*why = "unknown fetch mode (valid: peer, cold)";
			return -1;
		}
		return 0;
	case ST_NAME:
	case ST_PATH:
		if (v->is_num || !*v->str) {
			*why = "expected a name (a string)";
			return -1;
		}
		return 0;
	case ST_ANY:
		return 0;
	}
	return 0;
}

/*
 * A value given twice in one setting's list (a sweep point run twice,
 * stored as two configurations with the same label): the index of the
 * second, or 0 if every value differs. Values of a built-in setting are
 * compared as the setting reads them ("1s" and 1 are one duration),
 * those of a param as numbers or as text. Call after every value was
 * converted.
 */
static size_t entry_dup(const struct entry *e)
{
	for (size_t i = 1; i < e->nvals; i++)
		for (size_t k = 0; k < i; k++) {
			const struct val *a = &e->vals[k], *b = &e->vals[i];
			int same;
			if (e->builtin >= 0) {
				struct conv x, y;
				const char *why;
				enum stype t = builtin[e->builtin].type;
				val_convert(t, a, &x, &why);
				val_convert(t, b, &y, &why);
				same = t == ST_NAME || t == ST_PATH
					   ? !strcmp(x.s, y.s)
					   : x.i == y.i && x.u == y.u;
			} else {
				same = (a->is_num && b->is_num)
					   ? a->num == b->num
					   : !strcmp(a->str, b->str);
			}
			if (same)
				return i;
		}
	return 0;
}

/* ------------------------------------------------------------------ */
/* One run: the declarations the script made and the world it drives. */

enum mode { M_DISCOVER, M_SETUP, M_RUN };

struct app_decl {
	struct ukf_app app;
	char where[WHERE_MAX];
};

/* hosts{}: a group of `count` identical nodes (0 = unset field). */
struct host_decl {
	uint32_t count, vcpus;
	uint64_t memory, cache;
	char where[WHERE_MAX];
};

enum akind { A_POISSON, A_CONSTANT, A_BURSTS, A_TRACE };

struct tev {
	ukf_ns_t t;
	uint32_t app;
	uint32_t node;
	uint32_t line; /* in the trace file, for messages */
};

struct arrival {
	enum akind kind;
	uint32_t app;
	uint32_t node; /* origin, or UKF_NODE_NONE: uniform at random */
	char *args;
	double rate;	   /* poisson: per second */
	ukf_ns_t interval; /* constant */
	ukf_ns_t every, spread;
	uint32_t size; /* bursts */
	ukf_ns_t start, stop;
	ukf_ns_t due; /* world time the next firing is scheduled for */
	struct tev *tev; /* trace */
	size_t ntev, pos;
	char *path; /* trace file */
	struct rng rng;
	char where[WHERE_MAX];
};

enum pend { P_NONE, P_WAIT, P_READY };

struct run;

/*
 * What a Lua thread's extra space points to: its run, its process (idx,
 * NO_PROC for the main chunk) and its default random stream. Allocated in
 * chunks that never move, so the pointer stays valid as processes are
 * added; the C functions of the hot path (sleep, uniform) find everything
 * here without a registry or upvalue lookup.
 */
struct pslot {
	struct run *r;
	lua_State *co; /* the thread this slot belongs to, NULL once ended */
	uint32_t idx;
	int ours; /* the thread yields through sleep/wait/ready, not
		   * coroutine.yield (checked and cleared on its return) */
	struct rng g;
};
#define PCHUNK 1024

/*
 * A Lua process. The hot path (sleep, wake-up) touches only the dense
 * arrays run->cos[] and run->rngs[]: with 10,000 processes woken in random
 * order, every extra cache line per wake-up shows in the benchmark. A
 * thread's extra space holds its process index + 1 (0: the main chunk);
 * the run is every API function's upvalue.
 */
struct proc {
	lua_State *co;
	struct pslot *ps;
	int ref;
	uint32_t idx;
	int nargs; /* arguments waiting on the stack for the start */
	enum pend pend;
	uint32_t pend_slot;
	/* sleep(0) calls in a row at world time zero_t (not on the hot path:
	 * only a sleep that leaves the time unchanged counts) */
	ukf_ns_t zero_t;
	uint32_t zero_n;
};

/* An instance the script asked for (spawn, fork): what wait/ready see. */
enum sstate { I_PENDING, I_READY, I_EXITED, I_FAILED };
struct slot {
	ukf_id_t id;
	enum sstate st;
	int64_t status;
	int32_t waiter, ready_waiter; /* proc index, or -1 */
	int was_ready; /* it reached ready (it may have exited since) */
	char why[64];
};

struct summary {
	char *label;
	size_t runs;
	uint64_t n, cold, failed, events;
	double wall, *lat;
	size_t nlat, cap;
};

struct run {
	struct scen *sc;
	enum mode mode;
	const uint32_t *point; /* value index per entry (RUN/SETUP) */
	/* Per entry (SETUP/RUN): the value this pass of the script gave a
	 * single-valued setting (str NULL: none). A value computed from a
	 * swept param() differs from point to point (issue 11 item 1). */
	struct val *pv;
	uint32_t rep;
	uint64_t seed;
	lua_State *L;
	struct pslot main_ps; /* the main chunk's slot: the script's stream */
	struct pslot **pchunks;
	struct app_decl *apps;
	size_t napps;
	struct arrival *arr;
	size_t narr;
	struct host_decl *hosts;
	size_t nhosts;
	struct ukf_node_config *per_node;
	struct proc **procs;
	lua_State **cos; /* per process: its thread, NULL once finished */
	size_t nprocs, capprocs;
	struct slot *slots;
	size_t nslots, capslots;
	uint32_t *hash; /* id -> slot+1, open addressing */
	size_t hcap;
	/* the world of this run */
	struct ukf_world world;
	int have_world;
	int running; /* the world exists and takes the workload's requests */
	uint32_t nodes;
	ukf_ns_t duration;
	struct ukf_engine_config ecfg;
	volatile int stop;
	int closing; /* the world is being destroyed: no more wake-ups */
	int err_code;
	char err[ERR_MAX];
	int64_t run_id;
	uint64_t lua_allocs; /* allocations made by the Lua state */
	struct summary *sum;
	uint64_t spawn_errors;
	/* The watchdog: Lua instructions of the current step (top-level chunk
	 * or process step) counted in units of hook_every, against budget. */
	uint64_t steps, budget;
	int hook_every;
	int runaway; /* the budget was exceeded: every instruction raises */
};

#define NO_PROC UINT32_MAX

/* "s" unless n is one: "1 node", "2 nodes". */
static inline const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* The run goes to the simulated world (the default backend). */
static inline int is_sim(const struct scen *sc)
{
	return !sc->o->backend || !strcmp(sc->o->backend, "sim");
}

static inline struct pslot *ps_of(lua_State *L)
{
	return *(struct pslot **)lua_getextraspace(L);
}

static inline struct run *run_of(lua_State *L)
{
	return ps_of(L)->r;
}

/* The process index of thread L, or NO_PROC for the main chunk. */
static inline uint32_t pidx_of(lua_State *L)
{
	struct pslot *ps = ps_of(L);
	return ps->co == L ? ps->idx : NO_PROC;
}

static void where_of(lua_State *L, int level, char *buf, size_t cap)
{
	lua_Debug ar;
	if (lua_getstack(L, level, &ar) && lua_getinfo(L, "Sl", &ar) &&
	    ar.currentline > 0)
		snprintf(buf, cap, "%s:%d", ar.short_src, ar.currentline);
	else
		snprintf(buf, cap, "?");
}

static void run_fail(struct run *r, int code, const char *fmt, ...)
{
	if (r->err_code)
		return; /* keep the first error */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	r->err_code = code;
	r->stop = 1;
}

static int find_app(struct run *r, const char *name)
{
	for (size_t i = 0; i < r->napps; i++)
		if (!strcmp(r->apps[i].app.name, name))
			return (int)i;
	return -1;
}

/* Check a table argument's keys against a list; error names the bad key. */
static void check_keys(lua_State *L, int idx, const char *fn,
		       const char *const *keys)
{
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "%s{}: keys must be names", fn);
		const char *k = lua_tostring(L, -1);
		int ok = 0;
		for (size_t i = 0; keys[i]; i++)
			if (!strcmp(keys[i], k))
				ok = 1;
		if (!ok) {
			char list[512] = "";
			for (size_t i = 0; keys[i]; i++) {
				strncat(list, i ? ", " : "",
					sizeof(list) - strlen(list) - 1);
				strncat(list, keys[i],
					sizeof(list) - strlen(list) - 1);
			}
			luaL_error(L, "%s{}: unknown argument '%s' (valid: %s)",
				   fn, k, list);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Declaring settings from the script.                                  */

/* Read a scalar Lua value at idx into (is_num, num, text). */
static int lua_scalar(lua_State *L, int idx, int *is_num, double *num,
		      char *buf, size_t cap)
{
	int t = lua_type(L, idx);
	if (t == LUA_TNUMBER) {
		*is_num = 1;
		*num = lua_tonumber(L, idx);
		if (lua_isinteger(L, idx))
			snprintf(buf, cap, "%lld",
				 (long long)lua_tointeger(L, idx));
		else
			snprintf(buf, cap, "%.17g", *num);
		return 0;
	}
	if (t == LUA_TSTRING) {
		*is_num = 0;
		*num = 0;
		snprintf(buf, cap, "%s", lua_tostring(L, idx));
		return 0;
	}
	if (t == LUA_TBOOLEAN) {
		*is_num = 1;
		*num = lua_toboolean(L, idx);
		snprintf(buf, cap, "%s", *num ? "true" : "false");
		return 0;
	}
	return -1;
}

/* The value of setting e in this run: the point's, or what this pass of
 * the script computed for a single-valued setting. */
static const struct val *entry_value(struct run *r, const struct entry *e)
{
	size_t i = e - r->sc->ents;
	if (r->pv && r->pv[i].str)
		return &r->pv[i];
	uint32_t k = r->point ? r->point[i] : 0;
	return &e->vals[k < e->nvals ? k : 0];
}

/*
 * A later pass (SETUP, RUN) gives setting e, declared on the first pass,
 * the Lua value at idx. A list must be the first pass's list (the sweep
 * point picks from it). A single value is this run's value: computed from
 * a swept param(), it differs from point to point, and it is checked as
 * the first pass's was. Raises a Lua error on bad input.
 */
static void declare_again(lua_State *L, struct run *r, struct entry *e, int idx)
{
	char buf[256];
	int is_num, got;
	double num;
	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) == LUA_TTABLE) {
		lua_Integer n = luaL_len(L, idx);
		if (n == 1 && e->nvals == 1) { /* { v }: one value */
			lua_geti(L, idx, 1);
			got =
			    lua_scalar(L, -1, &is_num, &num, buf, sizeof(buf));
			lua_pop(L, 1);
			goto single;
		}
		int same = n >= 1 && (size_t)n == e->nvals;
		for (lua_Integer k = 1; same && k <= n; k++) {
			lua_geti(L, idx, k);
			same = !lua_scalar(L, -1, &is_num, &num, buf,
					   sizeof(buf)) &&
			       !strcmp(buf, e->vals[k - 1].str);
			lua_pop(L, 1);
		}
		if (!same)
			luaL_error(
			    L,
			    "setting '%s': this list of values differs "
			    "from the one of the first pass (%s): a "
			    "swept list must not depend on param() (give "
			    "one value computed from the param instead)",
			    e->name, e->where);
		return;
	}
	if (e->nvals > 1)
		luaL_error(L,
			   "setting '%s': one value here but a list on the "
			   "first pass (%s): a swept list must not depend on "
			   "param()",
			   e->name, e->where);
	got = lua_scalar(L, idx, &is_num, &num, buf, sizeof(buf));
single:
	if (got)
		luaL_error(L,
			   "setting '%s': got a %s, expected a number or "
			   "string",
			   e->name, luaL_typename(L, idx));
	if (e->builtin >= 0) {
		struct conv c;
		const char *why = "";
		struct val v = {is_num, num, buf};
		if (val_convert(builtin[e->builtin].type, &v, &c, &why))
			luaL_error(L, "setting '%s': bad value '%s': %s",
				   e->name, buf, why);
	}
	if (!r->pv && !(r->pv = calloc(r->sc->nents, sizeof(*r->pv))))
		luaL_error(L, "out of memory");
	char *str = strdup(buf);
	if (!str)
		luaL_error(L, "out of memory");
	struct val *pv = &r->pv[e - r->sc->ents];
	free(pv->str);
	pv->is_num = is_num;
	pv->num = num;
	pv->str = str;
}

/*
 * The script gives setting `name` the Lua value at idx (scalar or list).
 * DISCOVER: record and validate every value. Later passes: a list is the
 * sweep's (the point decides), a single value this run's (declare_again).
 * --set wins over the script in every pass. Raises a Lua error on bad
 * input.
 */
static void declare(lua_State *L, struct run *r, const char *name, int idx)
{
	struct scen *sc = r->sc;
	char where[WHERE_MAX];
	where_of(L, 1, where, sizeof(where));
	struct entry *e = entry_find(sc, name);
	if (r->mode != M_DISCOVER) {
		if (!e)
			luaL_error(L,
				   "setting '%s' was not declared on the "
				   "first pass (a scenario must declare the "
				   "same settings every time it runs)",
				   name);
		if (!e->from_cli)
			declare_again(L, r, e, idx);
		return;
	}
	if (e && e->seen)
		luaL_error(L, "setting '%s' given twice (first at %s)", name,
			   e->where);
	if (!e && !(e = entry_add(sc, name)))
		luaL_error(L, "out of memory");
	e->seen = 1;
	e->order = sc->declared++;
	if (e->from_cli)
		return; /* --set wins over the script */
	snprintf(e->where, sizeof(e->where), "%s", where);
	idx = lua_absindex(L, idx);
	char buf[256];
	int is_num;
	double num;
	if (lua_type(L, idx) == LUA_TTABLE) {
		lua_Integer n = luaL_len(L, idx);
		if (n < 1)
			luaL_error(L, "setting '%s': empty list of values",
				   name);
		for (lua_Integer i = 1; i <= n; i++) {
			lua_geti(L, idx, i);
			if (lua_scalar(L, -1, &is_num, &num, buf, sizeof(buf)))
				luaL_error(L,
					   "setting '%s': value %d is a %s, "
					   "expected a number or string",
					   name, (int)i, luaL_typename(L, -1));
			lua_pop(L, 1);
			val_push(e, is_num, num, buf);
		}
	} else if (lua_scalar(L, idx, &is_num, &num, buf, sizeof(buf))) {
		luaL_error(L,
			   "setting '%s': got a %s, expected a number, "
			   "string or list",
			   name, luaL_typename(L, idx));
	} else {
		val_push(e, is_num, num, buf);
	}
	if (e->builtin >= 0) {
		for (size_t i = 0; i < e->nvals; i++) {
			struct conv c;
			const char *why = "";
			if (val_convert(builtin[e->builtin].type, &e->vals[i],
					&c, &why))
				luaL_error(L,
					   "setting '%s': bad value '%s': %s",
					   name, e->vals[i].str, why);
		}
	}
	size_t d = entry_dup(e);
	if (d)
		luaL_error(L,
			   "setting '%s': value %d ('%s') repeats an earlier "
			   "one in the list (each sweep point once; --reps "
			   "repeats runs)",
			   name, (int)d + 1, e->vals[d].str);
}

/* cluster{...}, policy{...}, run{...}: each key is a built-in setting. */
static int l_group(lua_State *L, const char *group)
{
	struct run *r = run_of(L);
	const char *keys[NBUILTIN + 1];
	size_t n = 0;
	for (size_t i = 0; i < NBUILTIN; i++)
		if (!strcmp(builtin[i].group, group))
			keys[n++] = builtin[i].name;
	keys[n] = NULL;
	if (pidx_of(L) != NO_PROC)
		luaL_error(L,
			   "%s{} is a declaration: call it at the top level "
			   "of the scenario",
			   group);
	check_keys(L, 1, group, keys);
	for (size_t i = 0; keys[i]; i++) {
		if (lua_getfield(L, 1, keys[i]) != LUA_TNIL)
			declare(L, r, keys[i], -1);
		lua_pop(L, 1);
	}
	return 0;
}
static int l_cluster(lua_State *L)
{
	return l_group(L, "cluster");
}
static int l_policy(lua_State *L)
{
	return l_group(L, "policy");
}
static int l_runcfg(lua_State *L)
{
	return l_group(L, "run");
}

static void push_val(lua_State *L, const struct val *v)
{
	if (v->is_num) {
		if (v->num == floor(v->num) && fabs(v->num) < 9e15)
			lua_pushinteger(L, (lua_Integer)v->num);
		else
			lua_pushnumber(L, v->num);
	} else if (!is_decimal(v->str, 1, 1) ||
		   lua_stringtonumber(L, v->str) == 0) {
		lua_pushstring(L, v->str);
	}
}

/* param(name, default) -> the value of this run. */
static int l_param(lua_State *L)
{
	struct run *r = run_of(L);
	const char *name = luaL_checkstring(L, 1);
	if (builtin_find(name))
		luaL_error(L,
			   "param: '%s' is a built-in setting; give it in "
			   "%s{}",
			   name, builtin_find(name)->group);
	for (const char *c = name; *c; c++)
		if (!(*c == '_' || (*c >= 'a' && *c <= 'z') ||
		      (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
			luaL_error(L,
				   "param: bad name '%s' (letters, digits, "
				   "_)",
				   name);
	if (lua_isnoneornil(L, 2))
		luaL_error(L, "param '%s': a default value is required", name);
	/* Every pass: a default computed from another param() follows it. */
	declare(L, r, name, 2);
	struct entry *e = entry_find(r->sc, name);
	push_val(L, entry_value(r, e));
	return 1;
}

/* setting(name) -> value of a setting in this run, or nil if not given. */
static int l_setting(lua_State *L)
{
	struct run *r = run_of(L);
	const char *name = luaL_checkstring(L, 1);
	struct entry *e = entry_find(r->sc, name);
	if (!e || !e->nvals) {
		if (!builtin_find(name))
			luaL_error(L, "setting: unknown setting '%s'", name);
		lua_pushnil(L);
		return 1;
	}
	push_val(L, entry_value(r, e));
	return 1;
}

/*
 * backend() -> "sim" or "kvm": the world this run executes in, so that one
 * file can size itself for a simulated cluster or for the one real node.
 */
static int l_backend(lua_State *L)
{
	struct run *r = run_of(L);
	lua_pushstring(L, r->sc->o->backend ? r->sc->o->backend : "sim");
	return 1;
}

/* ------------------------------------------------------------------ */
/* Apps and arrival processes.                                          */

/*
 * arr (n elements of size bytes) grown by one zeroed element at arr[n]:
 * the new array. A Lua error if out of memory (arr is then unchanged).
 */
static void *grow1(lua_State *L, void *arr, size_t n, size_t size)
{
	char *p = realloc(arr, (n + 1) * size);
	if (!p)
		luaL_error(L, "out of memory");
	memset(p + n * size, 0, size);
	return p;
}

/*
 * A Lua error if a key= appears twice in app name's string kv ("mem=64M
 * mem=32M": which one was meant?). ukf_app_parse itself lets the last one
 * win, as the simulator's spawn-argument overrides (app string + " " +
 * args, sim/backend.c) rely on; a declaration has no such reason.
 */
static void dup_app_key(lua_State *L, const char *name, const char *kv)
{
	const char *p = kv + strspn(kv, " \t\r\n");
	while (*p) {
		size_t n = strcspn(p, " \t\r\n");
		const char *eq = memchr(p, '=', n);
		if (eq) {
			size_t kl = (size_t)(eq - p) + 1; /* with its '=' */
			const char *q = p + n;
			for (q += strspn(q, " \t\r\n"); *q;) {
				size_t m = strcspn(q, " \t\r\n");
				if (m >= kl && !memcmp(q, p, kl)) {
					char msg[2 * UKF_APP_ARGS_MAX + 64];
					snprintf(msg, sizeof(msg),
						 "key '%.*s' given twice "
						 "('%.*s' and '%.*s')",
						 (int)kl - 1, p, (int)n, p,
						 (int)m, q);
					luaL_error(L, "app '%s': %s", name,
						   msg);
				}
				q += m;
				q += strspn(q, " \t\r\n");
			}
		}
		p += n;
		p += strspn(p, " \t\r\n");
	}
}

static int l_app(lua_State *L)
{
	struct run *r = run_of(L);
	if (pidx_of(L) != NO_PROC)
		luaL_error(L,
			   "app() is a declaration: call it at the top level");
	const char *name = luaL_checkstring(L, 1);
	const char *kv = luaL_optstring(L, 2, "");
	if (!lua_isnoneornil(L, 3)) {
		static const char *const k[] = {"image", NULL};
		check_keys(L, 3, "app", k);
	}
	if (!*name || strlen(name) >= UKF_APP_NAME_MAX)
		luaL_error(L, "app: bad name '%s'", name);
	if (r->napps >= UKF_APPS_MAX)
		luaL_error(L,
			   "app '%s': more than %d apps (the engine's limit, "
			   "UKF_APPS_MAX)",
			   name, UKF_APPS_MAX);
	if (find_app(r, name) >= 0)
		luaL_error(L, "app '%s' declared twice", name);
	dup_app_key(L, name, kv);
	r->apps = grow1(L, r->apps, r->napps, sizeof(*r->apps));
	struct app_decl *a = &r->apps[r->napps];
	char err[256];
	if (ukf_app_parse(&a->app, name, kv, err, sizeof(err)))
		luaL_error(L, "app '%s': %s", name, err);
	if (!lua_isnoneornil(L, 3)) {
		if (lua_getfield(L, 3, "image") != LUA_TNIL) {
			const char *img = luaL_checkstring(L, -1);
			if (strlen(img) >= sizeof(a->app.image))
				luaL_error(L, "app '%s': image path too long",
					   name);
			snprintf(a->app.image, sizeof(a->app.image), "%s", img);
		}
		lua_pop(L, 1);
	}
	where_of(L, 1, a->where, sizeof(a->where));
	r->napps++;
	lua_pushvalue(L, 1);
	return 1;
}

/* A size or count field of a table argument, converted like a setting. */
static uint64_t field_conv(lua_State *L, const char *fn, const char *k,
			   enum stype t)
{
	uint64_t v = 0;
	if (lua_getfield(L, 1, k) != LUA_TNIL) {
		struct val x;
		char buf[128];
		if (lua_scalar(L, -1, &x.is_num, &x.num, buf, sizeof(buf)))
			luaL_error(L, "%s{} %s: expected a number or string",
				   fn, k);
		x.str = buf;
		struct conv c;
		const char *why = "";
		if (val_convert(t, &x, &c, &why))
			luaL_error(L, "%s{} %s: bad value '%s': %s", fn, k, buf,
				   why);
		if (c.u == 0)
			luaL_error(L, "%s{} %s: must be > 0", fn, k);
		v = c.u;
	}
	lua_pop(L, 1);
	return v;
}

/* hosts{count=, vcpus=, memory=, cache=}: a group of identical nodes. */
static int l_hosts(lua_State *L)
{
	struct run *r = run_of(L);
	static const char *const k[] = {"count", "vcpus", "memory", "cache",
					NULL};
	if (pidx_of(L) != NO_PROC)
		luaL_error(L, "hosts{} is a declaration: call it at the top "
			      "level");
	check_keys(L, 1, "hosts", k);
	struct host_decl h;
	memset(&h, 0, sizeof(h));
	uint64_t count = field_conv(L, "hosts", "count", ST_INT);
	if (!count || count > NODES_MAX)
		luaL_error(L,
			   "hosts{}: count must be 1..%d (the most nodes a "
			   "simulated cluster may have)",
			   NODES_MAX);
	h.count = (uint32_t)count;
	uint64_t vc = field_conv(L, "hosts", "vcpus", ST_INT);
	if (vc > 1000000)
		luaL_error(L, "hosts{}: vcpus too large");
	h.vcpus = (uint32_t)vc;
	h.memory = field_conv(L, "hosts", "memory", ST_SIZE);
	h.cache = field_conv(L, "hosts", "cache", ST_SIZE);
	where_of(L, 1, h.where, sizeof(h.where));
	r->hosts = grow1(L, r->hosts, r->nhosts, sizeof(*r->hosts));
	r->hosts[r->nhosts++] = h;
	return 0;
}

/* A time argument: number of seconds or string with a unit. */
static ukf_ns_t arg_time(lua_State *L, int idx, const char *what)
{
	ukf_ns_t ns;
	if (lua_type(L, idx) == LUA_TNUMBER) {
		if (num_time(lua_tonumber(L, idx), &ns))
			luaL_error(L, "%s: bad time %f (must be >= 0 seconds)",
				   what, lua_tonumber(L, idx));
		return ns;
	}
	if (lua_type(L, idx) == LUA_TSTRING) {
		if (text_time(lua_tostring(L, idx), &ns) || ns < 0)
			luaL_error(L,
				   "%s: bad time '%s' (seconds as a number, "
				   "or a string with ns/us/ms/s)",
				   what, lua_tostring(L, idx));
		return ns;
	}
	luaL_error(L, "%s: expected a time, got a %s", what,
		   luaL_typename(L, idx));
	return 0;
}

static ukf_ns_t field_time(lua_State *L, const char *fn, const char *k,
			   ukf_ns_t dflt)
{
	ukf_ns_t v = dflt;
	char what[64];
	snprintf(what, sizeof(what), "%s{} %s", fn, k);
	if (lua_getfield(L, 1, k) != LUA_TNIL)
		v = arg_time(L, -1, what);
	lua_pop(L, 1);
	return v;
}

/* Required time field k of fn{}'s table (argument 1): a Lua error if it is
 * missing, not a time, or not > 0. */
static ukf_ns_t field_period(lua_State *L, const char *fn, const char *k)
{
	ukf_ns_t v;
	char what[64];
	snprintf(what, sizeof(what), "%s{} %s", fn, k);
	if (lua_getfield(L, 1, k) == LUA_TNIL)
		luaL_error(L, "%s{}: missing argument '%s'", fn, k);
	v = arg_time(L, -1, what);
	lua_pop(L, 1);
	if (v <= 0)
		luaL_error(L, "%s{}: %s must be > 0", fn, k);
	return v;
}

static double field_num(lua_State *L, const char *fn, const char *k,
			int required, double dflt)
{
	double v = dflt;
	int t = lua_getfield(L, 1, k);
	if (t == LUA_TNIL) {
		if (required)
			luaL_error(L, "%s{}: missing argument '%s'", fn, k);
	} else if (t != LUA_TNUMBER) {
		luaL_error(L, "%s{} %s: expected a number, got a %s", fn, k,
			   luaL_typename(L, -1));
	} else {
		v = lua_tonumber(L, -1);
	}
	lua_pop(L, 1);
	return v;
}

static uint32_t field_node(lua_State *L, const char *fn)
{
	uint32_t node = UKF_NODE_NONE;
	int t = lua_getfield(L, 1, "node");
	if (t != LUA_TNIL) {
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0 ||
		    lua_tointeger(L, -1) >= UKF_NODE_NONE)
			luaL_error(L, "%s{} node: expected a node number >= 0",
				   fn);
		node = (uint32_t)lua_tointeger(L, -1);
	}
	lua_pop(L, 1);
	return node;
}

static struct arrival *arrival_new(lua_State *L, struct run *r, enum akind kind,
				   const char *fn)
{
	if (pidx_of(L) != NO_PROC)
		luaL_error(L, "%s{} is a declaration: call it at the top level",
			   fn);
	r->arr = grow1(L, r->arr, r->narr, sizeof(*r->arr));
	struct arrival *a = &r->arr[r->narr];
	a->kind = kind;
	where_of(L, 1, a->where, sizeof(a->where));
	if (kind != A_TRACE) {
		if (lua_getfield(L, 1, "app") != LUA_TSTRING)
			luaL_error(L,
				   "%s{}: missing argument 'app' (an app "
				   "name)",
				   fn);
		int app = find_app(r, lua_tostring(L, -1));
		if (app < 0)
			luaL_error(L,
				   "%s{}: unknown app '%s' (declare it "
				   "with app() first)",
				   fn, lua_tostring(L, -1));
		a->app = (uint32_t)app;
		lua_pop(L, 1);
		if (lua_getfield(L, 1, "args") != LUA_TNIL)
			a->args = strdup(luaL_checkstring(L, -1));
		lua_pop(L, 1);
	}
	a->node = field_node(L, fn);
	a->start = field_time(L, fn, "start", 0);
	a->stop = field_time(L, fn, "stop", UKF_NS_NEVER);
	if (a->start >= a->stop) {
		char t0[32], t1[32];
		snprintf(t0, sizeof(t0), "%.9g", (double)a->start / 1e9);
		snprintf(t1, sizeof(t1), "%.9g", (double)a->stop / 1e9);
		free(a->args);
		a->args = NULL;
		luaL_error(L,
			   "%s{}: start (%s s) must be before stop (%s s): "
			   "no request would ever arrive",
			   fn, t0, t1);
	}
	char key[64];
	snprintf(key, sizeof(key), "arrival:%zu", r->narr);
	rng_seed(&a->rng, r->seed, r->rep, key);
	r->narr++;
	return a;
}

/* poisson{}'s highest rate (requests per second of world time): faster,
 * gaps round to 0 ns and one instant piles up arrivals without bound. */
#define POISSON_RATE_MAX 1e7

static int l_poisson(lua_State *L)
{
	struct run *r = run_of(L);
	static const char *const k[] = {"app",	 "rate", "node", "args",
					"start", "stop", NULL};
	check_keys(L, 1, "poisson", k);
	double rate = field_num(L, "poisson", "rate", 1, 0);
	if (!(rate > 0) || isinf(rate))
		luaL_error(L,
			   "poisson{}: rate must be > 0 requests per second "
			   "(got %f)",
			   rate);
	if (rate > POISSON_RATE_MAX) {
		char v[32];
		snprintf(v, sizeof(v), "%g", rate);
		luaL_error(L,
			   "poisson{}: rate %s is above the maximum of 1e7 "
			   "requests per second (a mean gap of 100 ns on the "
			   "ns clock)",
			   v);
	}
	struct arrival *a = arrival_new(L, r, A_POISSON, "poisson");
	a->rate = rate;
	return 0;
}

static int l_constant(lua_State *L)
{
	struct run *r = run_of(L);
	static const char *const k[] = {"app",	 "interval", "node", "args",
					"start", "stop",     NULL};
	check_keys(L, 1, "constant", k);
	ukf_ns_t iv = field_period(L, "constant", "interval");
	struct arrival *a = arrival_new(L, r, A_CONSTANT, "constant");
	a->interval = iv;
	return 0;
}

static int l_bursts(lua_State *L)
{
	struct run *r = run_of(L);
	static const char *const k[] = {"app",	  "every", "size",
					"spread", "node",  "args",
					"start",  "stop",  NULL};
	check_keys(L, 1, "bursts", k);
	ukf_ns_t every = field_period(L, "bursts", "every");
	double size = field_num(L, "bursts", "size", 1, 0);
	if (!(size >= 1) || size != floor(size) || size > 1e7)
		luaL_error(L,
			   "bursts{}: size must be a whole number >= 1 "
			   "(got %f)",
			   size);
	ukf_ns_t spread = field_time(L, "bursts", "spread", 0);
	if (spread >= every)
		luaL_error(L, "bursts{}: spread must be shorter than every");
	struct arrival *a = arrival_new(L, r, A_BURSTS, "bursts");
	a->every = every;
	a->size = (uint32_t)size;
	a->spread = spread;
	return 0;
}

static void path_resolve(struct scen *sc, const char *p, char *out, size_t cap)
{
	if (p[0] == '/' || !sc->script_dir[0])
		snprintf(out, cap, "%s", p);
	else
		snprintf(out, cap, "%s/%s", sc->script_dir, p);
}

/* trace{file=, node=}: "time app [node]" lines; '#' comments. */
static int l_trace(lua_State *L)
{
	struct run *r = run_of(L);
	static const char *const k[] = {"file", "node", "start", "stop", NULL};
	check_keys(L, 1, "trace", k);
	if (lua_getfield(L, 1, "file") != LUA_TSTRING)
		luaL_error(L, "trace{}: missing argument 'file' (a path)");
	const char *file = lua_tostring(L, -1);
	lua_pop(L, 1);
	char path[1024];
	path_resolve(r->sc, file, path, sizeof(path));
	FILE *f = fopen(path, "r");
	if (!f)
		luaL_error(L, "trace{}: cannot open '%s': %s", path,
			   strerror(errno));
	/* A regular file only: a device (/dev/zero) or a FIFO could feed
	 * lines for ever, and each pass reads the file again. */
	struct stat fst;
	if (fstat(fileno(f), &fst) == 0 && !S_ISREG(fst.st_mode)) {
		fclose(f);
		luaL_error(L, "trace{}: '%s' is %s, not a trace file", path,
			   S_ISDIR(fst.st_mode) ? "a directory"
						: "not a regular file");
	}
	struct arrival *a = arrival_new(L, r, A_TRACE, "trace");
	char *line = NULL;
	size_t linecap = 0;
	int ln = 0;
	size_t cap = 0;
	ukf_ns_t last = 0;
	/* Whole lines, however long: a long comment read in pieces would
	 * make its tail a line of its own (an arrival nobody wrote). */
	while (getline(&line, &linecap, f) >= 0) {
		ln++;
		char *h = strchr(line, '#');
		if (h)
			*h = 0;
		char ts[128], an[128], extra[128], more[128];
		int nf = sscanf(line, "%127s %127s %127s %127s", ts, an, extra,
				more);
		if (nf <= 0)
			continue;
		char msg[512] = "";
		ukf_ns_t t = 0;
		int app = -1;
		char *end;
		uint32_t node = UKF_NODE_NONE;
		if (nf < 2) {
			snprintf(msg, sizeof(msg),
				 "expected 'time app [node]'");
		} else if (nf > 3) {
			snprintf(msg, sizeof(msg),
				 "unexpected field '%s' after the node "
				 "(expected 'time app [node]')",
				 more);
		} else {
			errno = 0;
			double x = is_decimal(ts, 1, 0) ? strtod(ts, NULL) : 0;
			if (is_decimal(ts, 1, 0)) {
				if (num_time(x, &t))
					snprintf(msg, sizeof(msg),
						 "bad time '%s'", ts);
			} else if (text_time(ts, &t)) {
				snprintf(msg, sizeof(msg), "bad time '%s'", ts);
			}
			if (!*msg && (app = find_app(r, an)) < 0)
				snprintf(msg, sizeof(msg), "unknown app '%s'",
					 an);
			if (!*msg && nf == 3) {
				errno = 0;
				unsigned long v = strtoul(extra, &end, 10);
				if (!is_decimal(extra, 0, 0) || errno ||
				    v >= UKF_NODE_NONE)
					snprintf(msg, sizeof(msg),
						 "bad node '%s'", extra);
				node = (uint32_t)v;
			}
			if (!*msg && t < last)
				snprintf(msg, sizeof(msg),
					 "time goes backwards");
		}
		if (*msg) {
			fclose(f);
			free(line);
			luaL_error(L, "trace{}: %s:%d: %s", path, ln, msg);
		}
		last = t;
		if (a->ntev == cap) {
			cap = cap ? cap * 2 : 64;
			struct tev *n = realloc(a->tev, cap * sizeof(*n));
			if (!n) {
				fclose(f);
				free(line);
				luaL_error(L, "out of memory");
			}
			a->tev = n;
		}
		a->tev[a->ntev++] =
		    (struct tev){t, (uint32_t)app, node, (uint32_t)ln};
	}
	free(line);
	if (ferror(f)) {
		fclose(f);
		luaL_error(L, "trace{}: reading '%s' failed", path);
	}
	fclose(f);
	a->path = strdup(path);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The watchdog: a runaway loop becomes a file:line error.              */

/*
 * A count hook fires every hook_every instructions of any thread (threads
 * inherit it from the state they are created in). The budget is per step:
 * one execution of the top-level chunk, or one resume of a process until it
 * sleeps, waits, ends or fails, so a long simulation of many short steps
 * never trips it. Once tripped, every instruction raises, so a pcall in the
 * script cannot swallow the error and loop on.
 */
static void watchdog(lua_State *L, lua_Debug *ar)
{
	struct run *r = run_of(L);
	if (!r->runaway) {
		r->steps += (uint64_t)r->hook_every;
		if (r->steps < r->budget)
			return;
		r->runaway = 1;
		char where[WHERE_MAX] = "?";
		if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0)
			snprintf(where, sizeof(where), "%s:%d", ar->short_src,
				 ar->currentline);
		else
			where_of(L, 0, where, sizeof(where));
		run_fail(r, UKF_RUN_BAD,
			 "%s: more than %" PRIu64 " Lua instructions without "
			 "a sleep, wait or ready (a runaway loop?): the limit "
			 "of one top-level execution or one process step is "
			 "`ukfork run --max-instructions N`",
			 where, r->budget);
		lua_sethook(L, watchdog, LUA_MASKCOUNT, 1);
	}
	luaL_error(L, "%s", r->err);
}

/* A new step of thread co: its budget starts afresh. */
static inline void step_begin(struct run *r, lua_State *co)
{
	if (!r->hook_every)
		return;
	r->steps = 0;
	if (!r->runaway) /* resets co's own count to hook_every */
		lua_sethook(co, watchdog, LUA_MASKCOUNT, r->hook_every);
}

/* ------------------------------------------------------------------ */
/* Lua processes: coroutines driven by the world's event loop.          */

static void proc_wake(void *arg, uint64_t x);
static int proc_resume(struct run *r, struct proc *p, int *nres);

static uint32_t cur_proc(lua_State *L, const char *fn)
{
	uint32_t i = pidx_of(L);
	if (i == NO_PROC)
		luaL_error(L,
			   "%s() can only be called inside a process "
			   "(process(function() ... end))",
			   fn);
	return i;
}

static struct run *running(lua_State *L, const char *fn)
{
	struct run *r = run_of(L);
	if (r->mode != M_RUN || !r->running)
		luaL_error(L,
			   "%s() can only be called while the scenario "
			   "runs, inside a process",
			   fn);
	return r;
}

/* A wake-up with nothing to hand to the process (sleep). */
#define WAKE_PLAIN (1ULL << 62)

static int proc_schedule(struct run *r, uint32_t idx, ukf_ns_t t, int plain)
{
	return r->world.ops->at(r->world.w, t, proc_wake, r,
				idx | (plain ? WAKE_PLAIN : 0));
}

/* process(fn, ...): a new Lua process; starts at time 0 (or now). */
static int l_process(lua_State *L)
{
	struct run *r = run_of(L);
	luaL_checktype(L, 1, LUA_TFUNCTION);
	if (r->mode != M_RUN)
		return 0;
	int nargs = lua_gettop(L) - 1;
	if (r->nprocs >= NO_PROC - 1)
		luaL_error(L, "process: too many processes");
	if (r->nprocs == r->capprocs) {
		size_t cap = r->capprocs ? r->capprocs * 2 : 64;
		struct proc **n = realloc(r->procs, cap * sizeof(*n));
		if (n)
			r->procs = n;
		lua_State **c = realloc(r->cos, cap * sizeof(*c));
		if (c)
			r->cos = c;
		struct pslot **k =
		    realloc(r->pchunks, (cap / PCHUNK + 1) * sizeof(*k));
		if (k)
			r->pchunks = k;
		if (!n || !c || !k)
			luaL_error(L, "out of memory");
		for (size_t j =
			 r->capprocs / PCHUNK + (r->capprocs % PCHUNK != 0);
		     j <= cap / PCHUNK; j++)
			r->pchunks[j] = NULL;
		r->capprocs = cap;
	}
	size_t ck = r->nprocs / PCHUNK;
	if (!r->pchunks[ck] &&
	    !(r->pchunks[ck] = calloc(PCHUNK, sizeof(struct pslot))))
		luaL_error(L, "out of memory");
	struct proc *p = calloc(1, sizeof(*p));
	if (!p)
		luaL_error(L, "out of memory");
	p->idx = (uint32_t)r->nprocs;
	p->co = lua_newthread(L);
	p->ps = &r->pchunks[ck][p->idx % PCHUNK];
	p->ps->r = r;
	p->ps->co = p->co;
	p->ps->idx = p->idx;
	*(struct pslot **)lua_getextraspace(p->co) = p->ps;
	p->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_xmove(L, p->co, nargs + 1); /* fn and args */
	p->nargs = nargs;
	char key[64];
	snprintf(key, sizeof(key), "process:%u", p->idx);
	rng_seed(&p->ps->g, r->seed, r->rep, key);
	r->cos[p->idx] = p->co;
	r->procs[r->nprocs++] = p;
	if (r->running && proc_schedule(r, p->idx, r->world.ops->now(r->world.w), 0))
		luaL_error(L, "process: cannot schedule");
	return 0;
}

static void proc_end(struct run *r, struct proc *p)
{
	luaL_unref(r->L, LUA_REGISTRYINDEX, p->ref);
	r->procs[p->idx] = NULL;
	r->cos[p->idx] = NULL;
	p->ps->co = NULL;
	free(p);
}

/*
 * Process co yielded through coroutine.yield instead of sleep, wait or
 * ready: nothing would ever resume it, so the scenario is refused with
 * the place of the yield (file:line of the innermost Lua function).
 */
static void proc_bad_yield(struct run *r, lua_State *co)
{
	lua_Debug ar;
	for (int lv = 0; lua_getstack(co, lv, &ar); lv++) {
		if (lua_getinfo(co, "Sl", &ar) && ar.currentline > 0) {
			run_fail(r, UKF_RUN_BAD,
				 "%s:%d: coroutine.yield is reserved: a "
				 "process suspends itself only through sleep, "
				 "wait or ready",
				 ar.short_src, ar.currentline);
			return;
		}
	}
	run_fail(r, UKF_RUN_BAD,
		 "coroutine.yield is reserved: a process suspends itself "
		 "only through sleep, wait or ready");
}

static void proc_wake(void *arg, uint64_t x)
{
	struct run *r = arg;
	int nres = 0, st;
	if (x & WAKE_PLAIN) { /* the hot path: a sleep ends */
		lua_State *co = r->cos[x & ~WAKE_PLAIN];
		if (!co || r->err_code)
			return;
		/* Its slot will be read by sleep/uniform: fetch it while Lua
		 * brings in the thread's own state. */
		struct pslot *ps = *(struct pslot **)lua_getextraspace(co);
		__builtin_prefetch(ps);
		step_begin(r, co);
		st = lua_resume(co, NULL, 0, &nres);
		if (st == LUA_YIELD) {
			if (nres)
				lua_pop(co, nres);
			if (!ps->ours)
				proc_bad_yield(r, co);
			ps->ours = 0;
			return;
		}
		x &= ~WAKE_PLAIN;
	} else {
		if (r->err_code || x >= r->nprocs || !r->procs[x])
			return;
		st = proc_resume(r, r->procs[x], &nres);
		if (st == LUA_YIELD) {
			struct pslot *ps = r->procs[x]->ps;
			if (!ps->ours)
				proc_bad_yield(r, r->procs[x]->co);
			ps->ours = 0;
			return;
		}
	}
	lua_State *co = r->cos[x];
	if (st != LUA_OK) {
		const char *m = lua_tostring(co, -1);
		run_fail(r, UKF_RUN_BAD, "%s", m ? m : "error in a process");
		return;
	}
	proc_end(r, r->procs[x]);
}

/* Resume a process with what it waits for (start args, wait, ready). */
static int proc_resume(struct run *r, struct proc *p, int *nres)
{
	lua_State *co = p->co;
	int nargs = p->nargs;
	p->nargs = 0;
	if (p->pend != P_NONE) {
		struct slot *s = &r->slots[p->pend_slot];
		if (p->pend == P_WAIT) {
			if (s->st == I_EXITED) {
				lua_pushinteger(co, s->status);
				nargs = 1;
			} else {
				lua_pushnil(co);
				lua_pushstring(co, s->why);
				nargs = 2;
			}
		} else {
			if (s->was_ready) {
				lua_pushboolean(co, 1);
				nargs = 1;
			} else {
				lua_pushboolean(co, 0);
				lua_pushstring(
				    co, s->st == I_FAILED ? s->why : "exited");
				nargs = 2;
			}
		}
		p->pend = P_NONE;
	}
	step_begin(r, co);
	int st = lua_resume(co, NULL, nargs, nres);
	if (st == LUA_YIELD && *nres)
		lua_pop(co, *nres);
	return st;
}

/* sleep(0) calls in a row, at one instant of world time, after which a
 * process is taken for a busy loop (~1 s of them). */
#define SLEEP0_MAX 1000000

static void co_where(lua_State *co, char *buf, size_t cap);

/*
 * A sleep that leaves world time unchanged (sleep(0)): a process doing
 * nothing else would spin at one instant forever, the world never
 * reaching its duration. After SLEEP0_MAX of them in a row at one time
 * the run fails, naming the process and its line (as the watchdog does:
 * a pcall around sleep cannot hide it). Returns 1 if the run failed.
 */
static int zero_sleep(lua_State *L, struct run *r, struct proc *p, ukf_ns_t now)
{
	if (!p->zero_n || p->zero_t != now) {
		p->zero_t = now;
		p->zero_n = 1;
		return 0;
	}
	if (++p->zero_n <= SLEEP0_MAX)
		return 0;
	char where[WHERE_MAX];
	co_where(L, where, sizeof(where)); /* its line, even under pcall */
	run_fail(r, UKF_RUN_BAD,
		 "%s: process %u called sleep(0) %d times in a row at %.9f s "
		 "of world time: world time would never advance (a busy "
		 "loop? sleep a positive time, or wait for an instance)",
		 where, p->idx, SLEEP0_MAX, (double)now / 1e9);
	return 1;
}

static int l_sleep(lua_State *L)
{
	/* The hot path: one look at the thread's slot answers both "is the
	 * scenario running" and "is this a process". */
	struct pslot *ps = ps_of(L);
	struct run *r = ps->r;
	if (ps->co != L || r->mode != M_RUN || !r->running) {
		running(L, "sleep"); /* each raises its own message */
		cur_proc(L, "sleep");
	}
	uint32_t p = ps->idx;
	ukf_ns_t d;
	int isnum;
	double s = lua_tonumberx(L, 1, &isnum);
	if (isnum && lua_type(L, 1) == LUA_TNUMBER) {
		if (!(s >= 0))
			luaL_error(L, "sleep: bad duration %f (seconds >= 0)",
				   s);
		if (s > 9.2e9) { /* ukf_ns_t: at most 9.2e18 ns */
			char v[32];
			snprintf(v, sizeof(v), "%g", s);
			luaL_error(L,
				   "sleep: duration %s s is too long (at most "
				   "9.2e9 s)",
				   v);
		}
		d = (ukf_ns_t)(s * 1e9 + 0.5);
	} else {
		d = arg_time(L, 1, "sleep");
	}
	ukf_ns_t now = r->world.ops->now(r->world.w);
	if (d == 0 && zero_sleep(L, r, r->procs[p], now)) {
		ps->ours = 1;
		return lua_yield(L, 0); /* never woken: the run stops */
	}
	if (proc_schedule(r, p, now + d, 1))
		luaL_error(L, "sleep: cannot schedule");
	ps->ours = 1;
	return lua_yield(L, 0);
}

static int l_now(lua_State *L)
{
	struct run *r = run_of(L);
	lua_pushnumber(L, r->running ? (double)r->world.ops->now(r->world.w) / 1e9
			       : 0.0);
	return 1;
}

/* id -> slot index. */
static uint32_t slot_lookup(struct run *r, ukf_id_t id)
{
	if (!r->hcap)
		return UINT32_MAX;
	size_t m = r->hcap - 1, i = (size_t)(id * 0x9e3779b97f4a7c15ULL) & m;
	for (; r->hash[i]; i = (i + 1) & m)
		if (r->slots[r->hash[i] - 1].id == id)
			return r->hash[i] - 1;
	return UINT32_MAX;
}

static int hash_put(struct run *r, ukf_id_t id, uint32_t slot)
{
	if ((r->nslots + 1) * 2 > r->hcap) {
		size_t cap = r->hcap ? r->hcap * 2 : 256;
		uint32_t *n = calloc(cap, sizeof(*n));
		if (!n)
			return -1;
		for (size_t j = 0; j < r->hcap; j++) {
			if (!r->hash[j])
				continue;
			ukf_id_t k = r->slots[r->hash[j] - 1].id;
			size_t i =
			    (size_t)(k * 0x9e3779b97f4a7c15ULL) & (cap - 1);
			while (n[i])
				i = (i + 1) & (cap - 1);
			n[i] = r->hash[j];
		}
		free(r->hash);
		r->hash = n;
		r->hcap = cap;
	}
	size_t m = r->hcap - 1, i = (size_t)(id * 0x9e3779b97f4a7c15ULL) & m;
	while (r->hash[i])
		i = (i + 1) & m;
	r->hash[i] = slot + 1;
	return 0;
}

static uint32_t slot_new(lua_State *L, struct run *r)
{
	if (r->nslots == r->capslots) {
		size_t cap = r->capslots ? r->capslots * 2 : 64;
		struct slot *n = realloc(r->slots, cap * sizeof(*n));
		if (!n)
			luaL_error(L, "out of memory");
		r->slots = n;
		r->capslots = cap;
	}
	struct slot *s = &r->slots[r->nslots];
	memset(s, 0, sizeof(*s));
	s->waiter = s->ready_waiter = -1;
	/* Counted before the engine call: a failure reported synchronously
	 * inside it (h_fail with this slot's tag) must find the slot. */
	return (uint32_t)r->nslots++;
}

/* The engine refused the request outright: the last slot is dropped (no
 * hook can have seen its tag, since no request was made). */
static void slot_drop(struct run *r, uint32_t slot)
{
	if (slot + 1 == r->nslots)
		r->nslots--;
}

static void slot_commit(lua_State *L, struct run *r, uint32_t slot, ukf_id_t id)
{
	r->slots[slot].id = id;
	if (hash_put(r, id, slot))
		luaL_error(L, "out of memory");
}

/* spawn(app [, args] [, node]) -> id */
static int l_spawn(lua_State *L)
{
	struct run *r = running(L, "spawn");
	cur_proc(L, "spawn");
	const char *name = luaL_checkstring(L, 1);
	int app = ukf_apps_find(r->world.ops->apps(r->world.w), name);
	if (app < 0)
		luaL_error(L, "spawn: unknown app '%s'", name);
	/* spawn(app), spawn(app, node), spawn(app, args [, node]) and
	 * spawn(app, nil, node): a nil args slot still takes a node. */
	const char *args = NULL;
	int ni = 2;
	if (lua_type(L, 2) == LUA_TSTRING) {
		args = lua_tostring(L, 2);
		ni = 3;
	} else if (lua_isnoneornil(L, 2)) {
		ni = 3;
	} else if (!lua_isnoneornil(L, 3)) {
		luaL_error(L, "spawn: args must be a string or nil (got %s)",
			   luaL_typename(L, 2));
	}
	ukf_node_id_t node;
	if (lua_isnoneornil(L, ni)) {
		node = (ukf_node_id_t)(rng_uniform(&ps_of(L)->g) * r->nodes);
	} else {
		if (!lua_isinteger(L, ni) || lua_tointeger(L, ni) < 0 ||
		    lua_tointeger(L, ni) >= r->nodes)
			luaL_error(L, "spawn: bad node %s (expected 0..%d)",
				   luaL_tolstring(L, ni, NULL),
				   (int)r->nodes - 1);
		node = (ukf_node_id_t)lua_tointeger(L, ni);
	}
	uint32_t slot = slot_new(L, r);
	ukf_id_t id;
	int rc = r->world.ops->spawn(r->world.w, node, (uint32_t)app,
				  args ? args : r->apps[app].app.args,
				  (uint64_t)slot + 1, &id);
	if (rc) {
		slot_drop(r, slot);
		if (rc == -ENOMEM) /* the world failed, not the scenario */
			run_fail(r, UKF_RUN_FAILED,
				 "spawn '%s': the engine ran out of memory",
				 name);
		luaL_error(L, "spawn '%s': %s", name, strerror(-rc));
	}
	slot_commit(L, r, slot, id);
	lua_pushinteger(L, (lua_Integer)id);
	return 1;
}

static ukf_id_t arg_id(lua_State *L, int idx, const char *fn)
{
	if (!lua_isinteger(L, idx) || lua_tointeger(L, idx) <= 0)
		luaL_error(L, "%s: expected an instance id", fn);
	return (ukf_id_t)lua_tointeger(L, idx);
}

/* fork(id) -> child id */
static int l_fork(lua_State *L)
{
	struct run *r = running(L, "fork");
	cur_proc(L, "fork");
	ukf_id_t parent = arg_id(L, 1, "fork");
	uint32_t slot = slot_new(L, r);
	ukf_id_t id;
	int rc = r->world.ops->fork(r->world.w, parent, (uint64_t)slot + 1, &id);
	if (rc)
		slot_drop(r, slot);
	if (rc == -ENOMEM)
		run_fail(r, UKF_RUN_FAILED,
			 "fork %d: the engine ran out of memory", (int)parent);
	if (rc == -ESRCH || rc == -EINVAL)
		luaL_error(L, "fork: no running instance %d", (int)parent);
	if (rc)
		luaL_error(L, "fork %d: %s", (int)parent, strerror(-rc));
	slot_commit(L, r, slot, id);
	lua_pushinteger(L, (lua_Integer)id);
	return 1;
}

static struct slot *arg_slot(lua_State *L, struct run *r, const char *fn)
{
	ukf_id_t id = arg_id(L, 1, fn);
	uint32_t s = slot_lookup(r, id);
	if (s == UINT32_MAX)
		luaL_error(L,
			   "%s: unknown instance %d (not spawned or forked "
			   "by this scenario)",
			   fn, (int)id);
	return &r->slots[s];
}

/*
 * Suspend process p until slot s is ready (P_READY) or has ended (P_WAIT):
 * p becomes the slot's one waiter of that kind and the coroutine yields.
 * A Lua error if another process already waits on s in the same way.
 */
static int park(lua_State *L, struct run *r, struct proc *p, struct slot *s,
		enum pend how)
{
	int wait = how == P_WAIT;
	int32_t *waiter = wait ? &s->waiter : &s->ready_waiter;

	if (*waiter >= 0)
		luaL_error(L,
			   "%s: instance %d is already %s by another process",
			   wait ? "wait" : "ready", (int)s->id,
			   wait ? "waited for" : "awaited");
	*waiter = (int32_t)p->idx;
	p->pend = how;
	p->pend_slot = (uint32_t)(s - r->slots);
	p->ps->ours = 1;
	return lua_yield(L, 0);
}

/* wait(id) -> status, or nil, reason if it failed */
static int l_wait(lua_State *L)
{
	struct run *r = running(L, "wait");
	struct proc *p = r->procs[cur_proc(L, "wait")];
	struct slot *s = arg_slot(L, r, "wait");
	if (s->st == I_EXITED) {
		lua_pushinteger(L, s->status);
		return 1;
	}
	if (s->st == I_FAILED) {
		lua_pushnil(L);
		lua_pushstring(L, s->why);
		return 2;
	}
	return park(L, r, p, s, P_WAIT);
}

/* ready(id) -> true, or false, reason */
static int l_ready(lua_State *L)
{
	struct run *r = running(L, "ready");
	struct proc *p = r->procs[cur_proc(L, "ready")];
	struct slot *s = arg_slot(L, r, "ready");
	if (s->st != I_PENDING) {
		lua_pushboolean(L, s->was_ready);
		if (s->was_ready)
			return 1;
		lua_pushstring(L, s->st == I_FAILED ? s->why : "exited");
		return 2;
	}
	return park(L, r, p, s, P_READY);
}

static int l_kill(lua_State *L)
{
	struct run *r = running(L, "kill");
	ukf_id_t id = arg_id(L, 1, "kill");
	lua_pushboolean(L, r->world.ops->kill(r->world.w, id) == 0);
	return 1;
}

static void trace_line(struct scen *sc, ukf_ns_t t, const char *node,
		       const char *line)
{
	if (!sc->trace)
		return;
	if (t < 0)
		t = 0;
	fprintf(sc->trace, "%" PRId64 ".%09" PRId64 " %s %s\n",
		(int64_t)(t / UKF_S), (int64_t)(t % UKF_S), node, line);
}

/* log(...): a line in the --trace event log. */
static int l_log(lua_State *L)
{
	struct run *r = run_of(L);
	if (r->mode != M_RUN || !r->sc->trace)
		return 0;
	luaL_Buffer b;
	int n = lua_gettop(L);
	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, ' ');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	trace_line(r->sc, r->running ? r->world.ops->now(r->world.w) : 0, "lua",
		   lua_tostring(L, -1));
	return 0;
}

/* The calling thread's default stream: the process's, or the script's. */
static struct rng *cur_rng(lua_State *L)
{
	struct pslot *ps = ps_of(L);
	if (ps->co == L)
		return &ps->g; /* a process's or the main chunk's */
	return &ps->r->main_ps.g;
}

static struct rng *arg_rng(lua_State *L, int idx)
{
	if (lua_isnoneornil(L, idx))
		return cur_rng(L);
	return luaL_checkudata(L, idx, "ukf.stream");
}

static int l_random(lua_State *L)
{
	lua_pushnumber(L, rng_uniform(arg_rng(L, 1)));
	return 1;
}

static int l_uniform(lua_State *L)
{
	int ia, ib;
	double a = lua_tonumberx(L, 1, &ia), b = lua_tonumberx(L, 2, &ib);
	if (!ia || !ib) {
		a = luaL_checknumber(L, 1); /* raises the usual message */
		b = luaL_checknumber(L, 2);
	}
	if (!(b >= a))
		luaL_error(L, "uniform: need a <= b");
	/* lua_gettop: the cheaper test for the usual uniform(a, b). */
	struct rng *g = lua_gettop(L) < 3 ? cur_rng(L) : arg_rng(L, 3);
	lua_pushnumber(L, a + (b - a) * rng_uniform(g));
	return 1;
}

static int l_exponential(lua_State *L)
{
	double m = luaL_checknumber(L, 1);
	if (!(m > 0))
		luaL_error(L, "exponential: mean must be > 0");
	lua_pushnumber(L, rng_exponential(arg_rng(L, 2), m));
	return 1;
}

/* stream(name) -> a keyed stream object with :random/:uniform/:exponential */
static int l_stream(lua_State *L)
{
	struct run *r = run_of(L);
	const char *name = luaL_checkstring(L, 1);
	struct rng *g = lua_newuserdatauv(L, sizeof(*g), 0);
	char key[256];
	snprintf(key, sizeof(key), "user:%s", name);
	rng_seed(g, r->seed, r->rep, key);
	luaL_setmetatable(L, "ukf.stream");
	return 1;
}

static int m_random(lua_State *L)
{
	lua_pushnumber(L, rng_uniform(luaL_checkudata(L, 1, "ukf.stream")));
	return 1;
}

static int m_uniform(lua_State *L)
{
	struct rng *g = luaL_checkudata(L, 1, "ukf.stream");
	double a = luaL_checknumber(L, 2), b = luaL_checknumber(L, 3);
	if (!(b >= a))
		luaL_error(L, "uniform: need a <= b");
	lua_pushnumber(L, a + (b - a) * rng_uniform(g));
	return 1;
}

static int m_exponential(lua_State *L)
{
	struct rng *g = luaL_checkudata(L, 1, "ukf.stream");
	double m = luaL_checknumber(L, 2);
	if (!(m > 0))
		luaL_error(L, "exponential: mean must be > 0");
	lua_pushnumber(L, rng_exponential(g, m));
	return 1;
}

static const luaL_Reg api[] = {{"cluster", l_cluster},
			       {"policy", l_policy},
			       {"hosts", l_hosts},
			       {"run", l_runcfg},
			       {"param", l_param},
			       {"setting", l_setting},
			       {"backend", l_backend},
			       {"app", l_app},
			       {"poisson", l_poisson},
			       {"constant", l_constant},
			       {"bursts", l_bursts},
			       {"trace", l_trace},
			       {"process", l_process},
			       {"sleep", l_sleep},
			       {"now", l_now},
			       {"spawn", l_spawn},
			       {"fork", l_fork},
			       {"wait", l_wait},
			       {"ready", l_ready},
			       {"kill", l_kill},
			       {"log", l_log},
			       {"random", l_random},
			       {"uniform", l_uniform},
			       {"exponential", l_exponential},
			       {"stream", l_stream},
			       {NULL, NULL}};

static const luaL_Reg stream_methods[] = {{"random", m_random},
					  {"uniform", m_uniform},
					  {"exponential", m_exponential},
					  {NULL, NULL}};

/* ------------------------------------------------------------------ */
/* World sinks and engine hooks.                                        */

static struct slot *tag_slot(struct run *r, uint64_t tag)
{
	if (!tag || tag > r->nslots)
		return NULL;
	return &r->slots[tag - 1];
}

static void wake(struct run *r, int32_t who)
{
	if (who < 0 || r->closing)
		return;
	if (r->world.ops->at(r->world.w, r->world.ops->now(r->world.w),
			     proc_wake, r, (uint64_t)who))
		run_fail(r, UKF_RUN_FAILED,
			 "cannot schedule a process wake-up");
}

static void h_ready(void *u, ukf_id_t id, uint64_t tag)
{
	struct run *r = u;
	struct slot *s = tag_slot(r, tag);
	if (!s || s->st != I_PENDING)
		return;
	s->st = I_READY;
	s->was_ready = 1;
	wake(r, s->ready_waiter);
	s->ready_waiter = -1;
}

static void h_exit(void *u, ukf_id_t id, uint64_t tag, int64_t status)
{
	struct run *r = u;
	struct slot *s = tag_slot(r, tag);
	if (!s || s->st == I_EXITED || s->st == I_FAILED)
		return;
	s->st = I_EXITED;
	s->status = status;
	wake(r, s->ready_waiter);
	wake(r, s->waiter);
	s->ready_waiter = s->waiter = -1;
}

static void h_fail(void *u, ukf_id_t id, uint64_t tag, const char *why)
{
	struct run *r = u;
	struct slot *s = tag_slot(r, tag);
	if (!s || s->st == I_EXITED || s->st == I_FAILED)
		return;
	s->st = I_FAILED;
	snprintf(s->why, sizeof(s->why), "%s", why ? why : "failed");
	wake(r, s->ready_waiter);
	wake(r, s->waiter);
	s->ready_waiter = s->waiter = -1;
}

static void h_console(void *u, ukf_id_t id, const char *line, size_t len)
{
	struct run *r = u;
	if (!r->sc->trace)
		return;
	char buf[600];
	snprintf(buf, sizeof(buf), "console %" PRIu64 " %.*s", id,
		 (int)(len > 500 ? 500 : len), line);
	trace_line(r->sc, r->world.ops->now(r->world.w), "-", buf);
}

static void s_record(void *u, const struct ukf_record *rec)
{
	struct run *r = u;
	struct summary *sm = r->sum;
	if (r->sc->db && r->run_id > 0 &&
	    ukf_db_instance(r->sc->db, r->run_id, rec))
		run_fail(r, UKF_RUN_FAILED, "database: %s",
			 ukf_db_error(r->sc->db));
	if (!sm)
		return;
	sm->n++;
	if (rec->start == UKF_START_COLD)
		sm->cold++;
	if (rec->status == UKF_STATUS_FAILED)
		sm->failed++;
	if (rec->t_ready != UKF_NS_NEVER && rec->t_ready > 0 &&
	    rec->t_ready >= rec->t_request) {
		if (sm->nlat == sm->cap) {
			size_t cap = sm->cap ? sm->cap * 2 : 1024;
			double *n = realloc(sm->lat, cap * sizeof(*n));
			if (!n) {
				run_fail(r, UKF_RUN_FAILED, "out of memory");
				return;
			}
			sm->lat = n;
			sm->cap = cap;
		}
		sm->lat[sm->nlat++] =
		    (double)(rec->t_ready - rec->t_request) / 1e6;
	}
}

static void s_log(void *u, ukf_ns_t t, ukf_node_id_t node, const char *line)
{
	struct run *r = u;
	char n[16];
	snprintf(n, sizeof(n), "%u", node);
	trace_line(r->sc, t, node == UKF_NODE_NONE ? "-" : n, line);
}

static void s_sample(void *u, const struct ukf_world_sample *s)
{
	struct run *r = u;
	if (!r->sc->db || r->run_id <= 0)
		return;
	struct ukf_db_sample d = {
	    .t = s->t,
	    .node = s->node,
	    .instances = s->s.instances,
	    .vcpus_used = s->s.vcpus_used,
	    .mem_used = s->s.mem_used,
	    .cache_used = s->s.cache_used,
	    .templates = s->templates,
	};
	if (ukf_db_sample(r->sc->db, r->run_id, &d))
		run_fail(r, UKF_RUN_FAILED, "database: %s",
			 ukf_db_error(r->sc->db));
}

/* ------------------------------------------------------------------ */
/* Arrival processes in C (no Lua on the hot path).                     */

static void arrival_fire(void *arg, uint64_t x);

static void arrival_spawn(struct run *r, struct arrival *a, uint32_t app,
			  uint32_t node)
{
	if (node == UKF_NODE_NONE)
		node = (uint32_t)(rng_uniform(&a->rng) * r->nodes);
	if (node >= r->nodes) {
		run_fail(r, UKF_RUN_BAD,
			 "%s: node %u does not exist (the "
			 "cluster has %u node%s)",
			 a->where, node, r->nodes, plural(r->nodes));
		return;
	}
	ukf_id_t id;
	const char *args = a->args ? a->args : r->apps[app].app.args;
	int rc = r->world.ops->spawn(r->world.w, node, app, args, 0, &id);
	if (rc == -ENOMEM) /* not a refusal: the run cannot go on */
		run_fail(r, UKF_RUN_FAILED,
			 "%s: spawn of '%s': the engine ran out of memory",
			 a->where, r->apps[app].app.name);
	else if (rc == -EINVAL)
		run_fail(r, UKF_RUN_BAD, "%s: spawn of '%s' refused: %s",
			 a->where, r->apps[app].app.name, strerror(-rc));
	else if (rc)
		r->spawn_errors++;
}

/* The window of arrival a is [start, stop) and ends with the run: no
 * arrival at or after stop or the duration (docs/scenarios.md). */
static inline int arrival_in_window(const struct run *r,
				    const struct arrival *a, ukf_ns_t t)
{
	return t < a->stop && t < r->duration;
}

/* Time of the next arrival after `t`, or NEVER. */
static ukf_ns_t arrival_next(struct run *r, struct arrival *a, ukf_ns_t t)
{
	ukf_ns_t n;
	switch (a->kind) {
	case A_POISSON: {
		double gap = rng_exponential(&a->rng, 1.0 / a->rate);
		n = gap > 9e9 ? UKF_NS_NEVER : t + (ukf_ns_t)(gap * 1e9);
		break;
	}
	case A_CONSTANT:
		n = t + a->interval;
		break;
	case A_BURSTS:
		n = t + a->every;
		break;
	default:
		n = a->pos < a->ntev ? a->start + a->tev[a->pos].t
				     : UKF_NS_NEVER;
	}
	return arrival_in_window(r, a, n) ? n : UKF_NS_NEVER;
}

#define ARR_ONE (1ULL << 63)

static void arrival_fire(void *arg, uint64_t x)
{
	struct run *r = arg;
	if (r->err_code)
		return;
	struct arrival *a = &r->arr[x & ~ARR_ONE];
	/*
	 * The next arrival is drawn from the time this one was due, not from
	 * the clock: in the live world a callback runs a little late, and
	 * counting from `now` would let the lateness accumulate (fewer
	 * arrivals, different ones per configuration). In sim they are equal.
	 */
	ukf_ns_t now = a->due;
	if (x & ARR_ONE) { /* one request of a spread burst */
		arrival_spawn(r, a, a->app, a->node);
		return;
	}
	switch (a->kind) {
	case A_POISSON:
	case A_CONSTANT:
		arrival_spawn(r, a, a->app, a->node);
		break;
	case A_BURSTS:
		for (uint32_t i = 0; i < a->size; i++) {
			if (!a->spread) {
				arrival_spawn(r, a, a->app, a->node);
				continue;
			}
			ukf_ns_t t = now + (ukf_ns_t)(rng_uniform(&a->rng) *
						      (double)a->spread);
			if (!arrival_in_window(r, a, t))
				continue; /* spread past the window's end */
			if (r->world.ops->at(r->world.w, t, arrival_fire, r,
					     x | ARR_ONE))
				run_fail(r, UKF_RUN_FAILED, "cannot schedule");
		}
		break;
	case A_TRACE:
		while (a->pos < a->ntev && a->start + a->tev[a->pos].t <= now) {
			struct tev *e = &a->tev[a->pos++];
			arrival_spawn(r, a, e->app,
				      e->node != UKF_NODE_NONE ? e->node
							       : a->node);
		}
		break;
	}
	ukf_ns_t n = arrival_next(r, a, now);
	if (n == UKF_NS_NEVER)
		return;
	a->due = n;
	if (r->world.ops->at(r->world.w, n, arrival_fire, r, x))
		run_fail(r, UKF_RUN_FAILED, "cannot schedule an arrival");
}

static int arrival_start(struct run *r, size_t i)
{
	struct arrival *a = &r->arr[i];
	ukf_ns_t t;
	if (a->kind == A_POISSON)
		t = arrival_next(r, a, a->start);
	else if (a->kind == A_TRACE)
		t = arrival_next(r, a, 0);
	else
		t = a->start;
	if (t == UKF_NS_NEVER || !arrival_in_window(r, a, t))
		return 0;
	a->due = t;
	return r->world.ops->at(r->world.w, t, arrival_fire, r, i);
}

/* ------------------------------------------------------------------ */
/* One run: execute the script, build the world, drive it.              */

struct cfg {
	struct ukf_engine_config eng;
	ukf_ns_t latency, dir_delay, dir_delay_p99, duration, sample_every;
	double bandwidth;
	const char *model;
	const char *directory; /* imitated: embedded, etcd, etcd3 (NULL: none) */
	int have_latency, have_dir_delay, have_bandwidth, have_dir_delay_p99;
	const char *faults; /* as given (NULL: none); parsed into sim_faults */
	struct ukf_sim_faults sim_faults;
};

/*
 * Progress: a ticker thread raises the world's stop flag after 1 s and
 * then every 0.5 s; the runner prints a line and resumes the world. A
 * thread, not a signal, so no vCPU thread or system call of a real
 * backend ever sees an EINTR because of it.
 */
struct ticker {
	volatile int *stop;
	int tick, quit;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
};

static void *ticker_main(void *arg)
{
	struct ticker *t = arg;
	struct timespec at;
	clock_gettime(CLOCK_REALTIME, &at);
	at.tv_sec += 1;
	pthread_mutex_lock(&t->mu);
	while (!t->quit) {
		if (pthread_cond_timedwait(&t->cv, &t->mu, &at) == ETIMEDOUT) {
			__atomic_store_n(&t->tick, 1, __ATOMIC_RELEASE);
			*t->stop = 1;
			at.tv_nsec += 500000000;
			if (at.tv_nsec >= 1000000000) {
				at.tv_nsec -= 1000000000;
				at.tv_sec++;
			}
		}
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

static int ticker_start(struct ticker *t, volatile int *stop)
{
	memset(t, 0, sizeof(*t));
	t->stop = stop;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	if (pthread_create(&t->th, NULL, ticker_main, t)) {
		pthread_mutex_destroy(&t->mu);
		pthread_cond_destroy(&t->cv);
		return -1;
	}
	return 0;
}

static void ticker_stop(struct ticker *t)
{
	pthread_mutex_lock(&t->mu);
	t->quit = 1;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->th, NULL);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A wall time as "42 s", "3m07s" or "2h05m"; "?" if unknown. */
static void fmt_eta(double s, char *buf, size_t cap)
{
	if (!(s >= 0) || s > 1e9)
		snprintf(buf, cap, "?");
	else if (s < 60)
		snprintf(buf, cap, "%.0f s", s);
	else if (s < 3600)
		snprintf(buf, cap, "%dm%02ds", (int)(s / 60), (int)s % 60);
	else
		snprintf(buf, cap, "%dh%02dm", (int)(s / 3600),
			 (int)(s / 60) % 60);
}

/*
 * One progress line on the message stream: the sweep point and run of
 * how many, this run's label and rep, world time, events (and per second
 * of the event loop, sim) and the ETA of the whole command: the rest of
 * this run at its pace so far, then the runs left at the mean wall time
 * of those finished. On a terminal the line is rewritten in place ("\r",
 * then "erase to the end of the line"); elsewhere (--progress) each is a
 * line of its own. `last`: the run's event loop has ended.
 */
static void progress_line(struct run *r, const char *label, double t_loop,
			  int last)
{
	struct scen *sc = r->sc;
	double el = wall_now() - t_loop;
	ukf_ns_t now = r->world.ops->now(r->world.w);
	uint64_t ev = r->world.ops->events(r->world.w);
	double rest = 0; /* of this run */
	if (!last)
		rest = now > 0 && now < r->duration
			   ? el * (double)(r->duration - now) / (double)now
			   : NAN;
	double per = (sc->wall_done + el + rest) / (double)(sc->runs_done + 1);
	size_t total = sc->npoints * sc->reps;
	size_t after = total > sc->runs_done ? total - sc->runs_done - 1 : 0;
	char eta[32], rate[48] = "";
	fmt_eta(rest + (double)after * per, eta, sizeof(eta));
	if (is_sim(sc)) /* on kvm the loop mostly waits: no rate */
		snprintf(rate, sizeof(rate), ", %.2f M events/s",
			 el > 0 ? (double)ev / el / 1e6 : 0.0);
	int tty = isatty(fileno(sc->msg));
	fprintf(sc->msg,
		"%spoint %zu/%zu, run %zu/%zu: %s rep %u: %.3f / %.3f s world "
		"time, %" PRIu64 " event%s%s, ETA %s%s",
		tty ? "\r" : "", sc->point_no + 1, sc->npoints,
		sc->runs_done + 1, total, label, r->rep, (double)now / 1e9,
		(double)r->duration / 1e9, ev, plural(ev), rate, eta,
		!tty   ? "\n"
		: last ? "\033[K\n"
		       : "\033[K");
	fflush(sc->msg);
}

/* Lua's allocator, counting allocations (UKF_LUA_ALLOCS=1 prints them). */
static void *lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct run *r = ud;
	if (nsize == 0) {
		free(ptr);
		return NULL;
	}
	if (!ptr || nsize > osize)
		r->lua_allocs++;
	return realloc(ptr, nsize);
}

/* ------------------------------------------------------------------ */
/* What a scenario can do: the sandbox, or full Lua with --trusted.     */

#define SANDBOX_WHY                                                            \
	"is not available to a scenario in the sandbox (no process "          \
	"spawning, native code, debug library or file access but trace{} and " \
	"run{model=}): `ukfork run --trusted` gives the scenario full Lua"

/* A global function the sandbox withholds (upvalue 1: its name). */
static int l_withheld(lua_State *L)
{
	return luaL_error(L, "%s " SANDBOX_WHY,
			  lua_tostring(L, lua_upvalueindex(1)));
}

/* __index of a library the sandbox withholds (upvalue 1: its name). */
static int l_withheld_field(lua_State *L)
{
	const char *k = luaL_tolstring(L, 2, NULL);
	return luaL_error(L, "%s.%s " SANDBOX_WHY,
			  lua_tostring(L, lua_upvalueindex(1)), k);
}

/* os.exit, withheld in both modes: it would end ukfork in mid-run. */
static int l_os_exit(lua_State *L)
{
	return luaL_error(L, "os.exit() would end ukfork in the middle of a "
			     "run with nothing stored: a run ends with its "
			     "duration (error() stops it with a message)");
}

/* load(chunk [, name [, mode [, env]]]) with mode "t": no precompiled
 * chunk, whose bytecode Lua does not check (upvalue 1: the real load). */
static int l_load_text(lua_State *L)
{
	if (lua_gettop(L) < 3)
		lua_settop(L, 3);
	lua_pushliteral(L, "t");
	lua_replace(L, 3);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/*
 * coroutine.resume and coroutine.close refuse a process's thread (upvalue
 * 1: the real function, 2: its name): only the scheduler resumes it, with
 * what its sleep, wait or ready returns; resumed by another process, its
 * wait() would return that process's values and its sleep end early.
 */
static int l_co_guard(lua_State *L)
{
	lua_State *co = lua_tothread(L, 1);
	if (co) {
		struct pslot *ps = ps_of(co);
		if (ps->co == co && ps->idx != NO_PROC)
			return luaL_error(
			    L,
			    "coroutine.%s: the thread of Lua process %d is "
			    "driven by the scenario's clock: only the end of "
			    "its sleep, wait or ready resumes it",
			    lua_tostring(L, lua_upvalueindex(2)), (int)ps->idx);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* Replace field name of the table at idx by f with upvalues (the old
 * value, name). */
static void wrap_field(lua_State *L, int idx, const char *name,
		       lua_CFunction f)
{
	idx = lua_absindex(L, idx);
	lua_getfield(L, idx, name);
	lua_pushstring(L, name);
	lua_pushcclosure(L, f, 2);
	lua_setfield(L, idx, name);
}

/* A global table whose every field raises SANDBOX_WHY, but keeps
 * (copied from the real library, when given) the listed harmless ones. */
static void withhold_lib(lua_State *L, const char *lib,
			 const char *const *keep)
{
	lua_newtable(L);
	if (keep) {
		lua_getglobal(L, lib);
		for (size_t i = 0; keep[i]; i++) {
			lua_getfield(L, -1, keep[i]);
			lua_setfield(L, -3, keep[i]);
		}
		lua_pop(L, 1);
	}
	lua_newtable(L); /* its metatable */
	lua_pushstring(L, lib);
	lua_pushcclosure(L, l_withheld_field, 1);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	lua_setglobal(L, lib);
}

/*
 * The standard libraries of a scenario. Trusted: all of them, but
 * os.exit. Sandbox: base, coroutine, table, string, math, utf8 and
 * os.clock/date/difftime/time; io, os (the rest), package, require,
 * debug, dofile and loadfile raise SANDBOX_WHY, load takes text only.
 * In both, coroutine.resume/close refuse the threads of processes.
 */
static void open_libs(lua_State *L, int trusted)
{
	static const char *const os_keep[] = {"clock", "date", "difftime",
					      "time", NULL};
	luaL_openlibs(L);
	if (!trusted) {
		static const char *const fns[] = {"dofile", "loadfile",
						  "require", NULL};
		for (size_t i = 0; fns[i]; i++) {
			lua_pushstring(L, fns[i]);
			lua_pushcclosure(L, l_withheld, 1);
			lua_setglobal(L, fns[i]);
		}
		lua_getglobal(L, "load");
		lua_pushcclosure(L, l_load_text, 1);
		lua_setglobal(L, "load");
		withhold_lib(L, "io", NULL);
		withhold_lib(L, "debug", NULL);
		withhold_lib(L, "package", NULL);
		withhold_lib(L, "os", os_keep);
	}
	lua_getglobal(L, "os");
	lua_pushcfunction(L, l_os_exit);
	lua_setfield(L, -2, "exit");
	lua_getglobal(L, "coroutine");
	wrap_field(L, -1, "resume", l_co_guard);
	wrap_field(L, -1, "close", l_co_guard);
	lua_pop(L, 2);
}

static int run_script(struct run *r)
{
	struct scen *sc = r->sc;
	lua_State *L = lua_newstate(lua_alloc, r);
	if (!L) {
		run_fail(r, UKF_RUN_FAILED, "out of memory");
		return -1;
	}
	r->L = L;
	r->main_ps.r = r;
	r->main_ps.co = L;
	r->main_ps.idx = NO_PROC;
	*(struct pslot **)lua_getextraspace(L) = &r->main_ps;
	open_libs(L, sc->o->trusted);
	rng_seed(&r->main_ps.g, r->seed, r->rep, "script");
	for (const luaL_Reg *f = api; f->name; f++) {
		lua_pushcfunction(L, f->func);
		lua_setglobal(L, f->name);
	}
	luaL_newmetatable(L, "ukf.stream");
	luaL_newlib(L, stream_methods);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	/* The watchdog, inherited by every thread created from now on. */
	uint64_t max = sc->o->max_instructions ? sc->o->max_instructions
					       : UKF_RUN_MAX_INSTRUCTIONS;
	if (max != UINT64_MAX) {
		r->budget = max;
		r->hook_every = max < (1u << 20) ? (int)max : 1 << 20;
	}
	int st = luaL_loadbufferx(L, sc->text, sc->textlen, sc->chunkname,
				  sc->o->trusted ? "bt" : "t");
	if (st == LUA_OK) {
		step_begin(r, L);
		st = lua_pcall(L, 0, 0, 0);
	}
	if (st != LUA_OK) {
		const char *m = lua_tostring(L, -1);
		run_fail(r, UKF_RUN_BAD, "%s", m ? m : "error");
		return -1;
	}
	return 0;
}

static int point_conv(struct run *r, int s, struct conv *c)
{
	struct entry *e = entry_find(r->sc, builtin[s].name);
	if (!e || !e->nvals)
		return 0;
	const char *why = "";
	if (val_convert(builtin[s].type, entry_value(r, e), c, &why)) {
		run_fail(r, UKF_RUN_BAD, "%s: setting '%s': %s", e->where,
			 e->name, why);
		return -1;
	}
	return 1;
}

static int check_policy(const char *key, const char *name, char *err,
			size_t errlen);

/*
 * A placement or template policy computed from a param() was not among
 * the values checked before the first pass: 0 if the registry knows
 * `name` (or it was checked then), else -1 after run_fail() naming it.
 */
static int computed_policy(struct run *r, int s, const char *name)
{
	struct entry *e = entry_find(r->sc, builtin[s].name);
	char err[512];
	if (!e || !r->pv || !r->pv[e - r->sc->ents].str ||
	    !check_policy(builtin[s].name, name, err, sizeof(err)))
		return 0;
	run_fail(r, UKF_RUN_BAD, "%s: setting '%s': %s", e->where, e->name,
		 err);
	return -1;
}

static int build_config(struct run *r, struct cfg *cf)
{
	struct conv c;
	memset(cf, 0, sizeof(*cf));
	ukf_engine_config_default(&cf->eng);
	cf->duration = 60 * UKF_S;
	for (int s = 0; s < (int)NBUILTIN; s++) {
		int k = point_conv(r, s, &c);
		if (k < 0)
			return -1;
		if (!k)
			continue;
		switch (s) {
		case S_NODES:
			if (c.u < 1 || c.u > NODES_MAX) {
				run_fail(r, UKF_RUN_BAD,
					 "%s: setting 'nodes' must be 1..%d "
					 "(the most nodes a simulated cluster "
					 "may have: each takes ~4 KiB)",
					 entry_find(r->sc, "nodes")->where,
					 NODES_MAX);
				return -1;
			}
			cf->eng.nodes = (uint32_t)c.u;
			break;
		case S_VCPUS:
			if (c.u < 1 || c.u > 1000000) {
				run_fail(r, UKF_RUN_BAD,
					 "%s: setting 'vcpus' must be "
					 "1..1000000 (vCPUs per node)",
					 entry_find(r->sc, "vcpus")->where);
				return -1;
			}
			cf->eng.node.vcpus = (uint32_t)c.u;
			break;
		case S_MEMORY:
			cf->eng.node.mem_bytes = c.u;
			break;
		case S_CACHE:
			cf->eng.node.cache_bytes = c.u;
			break;
		case S_LATENCY:
			cf->latency = c.i;
			cf->have_latency = 1;
			break;
		case S_BANDWIDTH:
			cf->bandwidth = c.d;
			cf->have_bandwidth = 1;
			break;
		case S_DIR_DELAY:
			cf->dir_delay = c.i;
			cf->have_dir_delay = 1;
			break;
		case S_PLACEMENT:
			if (computed_policy(r, s, c.s))
				return -1;
			cf->eng.placement = c.s;
			break;
		case S_TEMPLATES:
			if (computed_policy(r, s, c.s))
				return -1;
			cf->eng.templates = c.s;
			break;
		case S_FETCH:
			cf->eng.fetch = (enum ukf_fetch)c.i;
			break;
		case S_PREWARM:
			cf->eng.prewarm_k = (uint32_t)c.u;
			break;
		case S_MAX_CHILDREN:
			cf->eng.max_children = (uint32_t)c.u;
			break;
		case S_MAX_QUEUE:
			cf->eng.max_queue = (uint32_t)c.u;
			break;
		case S_RETRY:
			cf->eng.retry_ns = c.i;
			break;
		case S_MAX_RETRIES:
			cf->eng.max_retries = (uint32_t)c.u;
			break;
		case S_DURATION:
			cf->duration = c.i;
			break;
		case S_SAMPLE_EVERY:
			cf->sample_every = c.i;
			break;
		case S_MODEL:
			cf->model = c.s;
			break;
		case S_SEED:
			break;
		case S_DIRECTORY: {
			struct ukf_sim_dirmodel dm;
			ukf_ns_t delay, p99, detect;
			ukf_sim_dirmodel_default(&dm);
			if (ukf_sim_dirmodel_pick(&dm, c.s, &delay, &p99,
						  &detect) < 0) {
				run_fail(r, UKF_RUN_BAD,
					 "%s: setting 'directory': '%s' is not "
					 "embedded, etcd or etcd3",
					 entry_find(r->sc, "directory")->where,
					 c.s);
				return -1;
			}
			cf->directory = c.s;
			if (!cf->have_dir_delay) /* dir_delay given: it wins */
				cf->dir_delay = delay;
			cf->have_dir_delay = 1;
			cf->dir_delay_p99 = p99;
			cf->have_dir_delay_p99 = 1;
			break;
		}
		case S_DIR_DELAY_P99:
			cf->dir_delay_p99 = c.i;
			cf->have_dir_delay_p99 = 1;
			break;
		case S_FAULTS: {
			char why[160];
			const char *be = r->sc->o->backend;
			if ((be && strcmp(be, "sim")) ||
			    ukf_sim_faults_parse(&cf->sim_faults, c.s, why,
						 sizeof(why)) < 0) {
				run_fail(r, UKF_RUN_BAD, "%s: setting 'faults': %s",
					 entry_find(r->sc, "faults")->where,
					 (be && strcmp(be, "sim"))
					     ? "only the simulator injects faults"
					     : why);
				return -1;
			}
			cf->faults = c.s;
			break;
		}
		}
	}
	if (cf->have_dir_delay_p99 && cf->dir_delay_p99 &&
	    cf->dir_delay_p99 < cf->dir_delay) {
		struct entry *pe = entry_find(r->sc, "dir_delay_p99");
		int given = pe && pe->nvals;
		run_fail(r, UKF_RUN_BAD,
			 "%s: setting 'dir_delay_p99' (%" PRId64
			 " ns%s%s%s) is below the directory delay's median, "
			 "dir_delay (%" PRId64 " ns): give both or neither",
			 given ? pe->where : entry_find(r->sc, "directory")->where,
			 (int64_t)cf->dir_delay_p99,
			 given ? "" : ", from directory '",
			 given ? "" : cf->directory,
			 given ? "" : "'", (int64_t)cf->dir_delay);
		return -1;
	}
	/* hosts{} groups: heterogeneous nodes, unset fields from cluster{}. */
	uint64_t max_mem = cf->eng.node.mem_bytes;
	uint32_t max_vcpus = cf->eng.node.vcpus;
	if (r->nhosts) {
		uint64_t total = 0;
		for (size_t i = 0; i < r->nhosts; i++)
			total += r->hosts[i].count;
		struct entry *ne = entry_find(r->sc, "nodes");
		if (total > NODES_MAX) {
			run_fail(r, UKF_RUN_BAD,
				 "%s: hosts{} declare %" PRIu64 " nodes, more "
				 "than the %d a simulated cluster may have",
				 r->hosts[0].where, total, NODES_MAX);
			return -1;
		}
		if (ne && ne->nvals && cf->eng.nodes != total) {
			run_fail(r, UKF_RUN_BAD,
				 "%s: hosts{} declare %" PRIu64
				 " node%s but setting 'nodes' is %u (%s)",
				 r->hosts[0].where, total, plural(total),
				 cf->eng.nodes, ne ? ne->where : "");
			return -1;
		}
		r->per_node = calloc(total, sizeof(*r->per_node));
		if (!r->per_node) {
			run_fail(r, UKF_RUN_FAILED, "out of memory");
			return -1;
		}
		max_mem = 0;
		max_vcpus = 0;
		size_t k = 0;
		for (size_t i = 0; i < r->nhosts; i++) {
			struct host_decl *h = &r->hosts[i];
			struct ukf_node_config nc = cf->eng.node;
			if (h->vcpus)
				nc.vcpus = h->vcpus;
			if (h->memory)
				nc.mem_bytes = h->memory;
			if (h->cache)
				nc.cache_bytes = h->cache;
			for (uint32_t j = 0; j < h->count; j++)
				r->per_node[k++] = nc;
			if (nc.mem_bytes > max_mem)
				max_mem = nc.mem_bytes;
			if (nc.vcpus > max_vcpus)
				max_vcpus = nc.vcpus;
		}
		cf->eng.nodes = (uint32_t)total;
		cf->eng.per_node = r->per_node;
	}
	/* An app that fits on no node can never run: refuse it up front. */
	for (size_t i = 0; i < r->napps; i++) {
		const struct ukf_app *a = &r->apps[i].app;
		if (a->mem_bytes > max_mem) {
			run_fail(
			    r, UKF_RUN_BAD,
			    "%s: app '%s' needs %" PRIu64
			    " MiB of memory but the largest node has %" PRIu64
			    " MiB (cluster{memory=}, hosts{})",
			    r->apps[i].where, a->name, a->mem_bytes >> 20,
			    max_mem >> 20);
			return -1;
		}
		if (a->vcpus > max_vcpus) {
			run_fail(
			    r, UKF_RUN_BAD,
			    "%s: app '%s' needs %u vCPU%s "
			    "but the largest node has %u (cluster{vcpus=}, "
			    "hosts{})",
			    r->apps[i].where, a->name, a->vcpus,
			    plural(a->vcpus), max_vcpus);
			return -1;
		}
		/* The KVM monitor maps at most UKF_MEM_MAX of guest memory:
		 * a bigger app would only fail when it boots. */
		if (!is_sim(r->sc) && a->mem_bytes > UKF_MEM_MAX) {
			run_fail(r, UKF_RUN_BAD,
				 "%s: app '%s' needs %" PRIu64
				 " MiB of memory but a guest on kvm has at "
				 "most %llu MiB (UKF_MEM_MAX)",
				 r->apps[i].where, a->name, a->mem_bytes >> 20,
				 (unsigned long long)(UKF_MEM_MAX >> 20));
			return -1;
		}
	}
	return 0;
}

#ifdef UKF_HAVE_LIVE
/*
 * Real backends need a guest image per app. Scenario apps are described by
 * synth's key=value parameters, so an app declared without {image=} runs
 * the built `synth` guest. {image=NAME} (no '/') is the built guest NAME;
 * {image=PATH} (with a '/') is that file, relative to the scenario's
 * directory unless absolute. Built guests are found by
 * ukf_live_image_path() (UKF_GUEST_DIR, else guest/ next to ukfork).
 * Returns 0, or -1 after run_fail() naming the app if an image is missing.
 */
/* NULL if path is a regular file starting with the ELF magic, else why. */
static const char *image_not_elf(const char *path)
{
	struct stat st;
	unsigned char m[4] = {0};
	if (stat(path, &st) < 0)
		return strerror(errno);
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	FILE *f = fopen(path, "rb");
	if (!f)
		return strerror(errno);
	size_t n = fread(m, 1, sizeof(m), f);
	fclose(f);
	if (n != sizeof(m) || memcmp(m, "\177ELF", 4))
		return "not an ELF file (a guest image is an ELF executable)";
	return NULL;
}

static int resolve_images(struct run *r)
{
	for (size_t i = 0; i < r->napps; i++) {
		struct ukf_app *a = &r->apps[i].app;
		char p[2048];
		int bad = 0;
		if (!a->image[0])
			bad = ukf_live_image_path("synth", p, sizeof(p));
		else if (!strchr(a->image, '/'))
			bad = ukf_live_image_path(a->image, p, sizeof(p));
		else
			path_resolve(r->sc, a->image, p, sizeof(p));
		if (bad || strlen(p) >= sizeof(a->image)) {
			run_fail(r, UKF_RUN_BAD, "%s: app '%s': guest image "
				 "path too long", r->apps[i].where, a->name);
			return -1;
		}
		if (access(p, R_OK)) {
			run_fail(r, UKF_RUN_BAD,
				 "%s: app '%s': guest image '%s': %s (build "
				 "the guests, set UKF_GUEST_DIR or give "
				 "app(..., {image=...}))",
				 r->apps[i].where, a->name, p, strerror(errno));
			return -1;
		}
		/* a directory or a file that is not ELF would only fail
		 * when the first instance boots */
		const char *why = image_not_elf(p);
		if (why) {
			run_fail(r, UKF_RUN_BAD,
				 "%s: app '%s': guest image '%s': %s",
				 r->apps[i].where, a->name, p, why);
			return -1;
		}
		memcpy(a->image, p, strlen(p) + 1); /* fits: checked above */
	}
	return 0;
}
#endif

static int create_world(struct run *r, struct cfg *cf, int with_db)
{
	struct scen *sc = r->sc;
	struct ukf_world_sinks sinks = {
	    .record = s_record,
	    .log = (r->mode == M_RUN && sc->trace) ? s_log : NULL,
	    .hooks = {h_ready, h_exit, h_fail, h_console, r},
	    .u = r,
	};
	char err[512] = "";
	const char *be = sc->o->backend ? sc->o->backend : "sim";
	if (!strcmp(be, "sim")) {
		struct ukf_sim_config c;
		ukf_sim_config_default(&c);
		c.engine = cf->eng;
		if (cf->have_latency)
			c.link_latency_ns = cf->latency;
		if (cf->have_bandwidth)
			c.link_bandwidth_bps = cf->bandwidth;
		if (cf->have_dir_delay)
			c.dir_delay_ns = cf->dir_delay;
		if (cf->have_dir_delay_p99)
			c.dir_delay_p99_ns = cf->dir_delay_p99;
		c.faults = cf->sim_faults;
		c.sample_every_ns = with_db ? cf->sample_every : 0;
		c.seed = r->seed;
		c.rep = r->rep;
		if (cf->model) {
			char path[1024];
			path_resolve(sc, cf->model, path, sizeof(path));
			if (ukf_sim_model_load(&c.model, path, err,
					       sizeof(err))) {
				run_fail(r, UKF_RUN_BAD,
					 "%s: setting 'model': %s",
					 entry_find(sc, "model")->where, err);
				return -1;
			}
		}
		if (ukf_sim_create(&r->world, &c, &sinks, s_sample, err,
				   sizeof(err))) {
			run_fail(r, UKF_RUN_BAD, "%s: %s", sc->o->script, err);
			return -1;
		}
	} else if (sc->o->cluster) {
#ifdef UKF_HAVE_AGENT
		/* the agents of a cluster file, each a live node */
		struct ukf_cluster_world_config c;
		ukf_cluster_world_config_default(&c);
		c.cluster_file = sc->o->cluster;
		c.engine = cf->eng;
		c.sample_every_ns = with_db ? cf->sample_every : 0;
		c.template_dir = sc->o->template_dir;
		if (resolve_images(r))
			return -1;
		if (ukf_cluster_world_create(&r->world, &c, &sinks, err,
					     sizeof(err))) {
			run_fail(r, UKF_RUN_FAILED, "cluster %s: %s",
				 sc->o->cluster, err);
			return -1;
		}
		r->have_world = 1;
		if (c.sample_every_ns > 0 &&
		    ukf_cluster_world_set_sampler(&r->world, s_sample)) {
			run_fail(r, UKF_RUN_FAILED,
				 "cluster: node samples refused");
			return -1;
		}
#else
		run_fail(r, UKF_RUN_BAD, "--cluster: node agents not built");
		return -1;
#endif
	} else {
#ifdef UKF_HAVE_LIVE
		struct ukf_live_config c;
		ukf_live_config_default(&c);
		c.engine = cf->eng;
		c.engine.nodes = 1;
		c.backend = be;
		c.sample_every_ns = with_db ? cf->sample_every : 0;
		c.template_dir = sc->o->template_dir;
		if (resolve_images(r))
			return -1;
		if (ukf_live_create(&r->world, &c, &sinks, err, sizeof(err))) {
			run_fail(r, UKF_RUN_FAILED, "backend %s: %s", be, err);
			return -1;
		}
		r->have_world = 1;
		/* Node samples go to the same sink (and table) as in sim. */
		if (c.sample_every_ns > 0 &&
		    ukf_live_set_sampler(&r->world, s_sample)) {
			run_fail(r, UKF_RUN_FAILED,
				 "backend %s: node samples refused", be);
			return -1;
		}
#else
		run_fail(r, UKF_RUN_BAD, "backend '%s' not built", be);
		return -1;
#endif
	}
	r->have_world = 1;
	r->running = 1;
	r->nodes = !strcmp(be, "sim") ? cf->eng.nodes
		   : sc->o->cluster ? r->world.ops->nodes(r->world.w)
				    : 1;
	r->duration = cf->duration;
	for (size_t i = 0; i < r->napps; i++) {
		int id = r->world.ops->add_app(r->world.w, &r->apps[i].app);
		if (id != (int)i) {
			run_fail(r, UKF_RUN_FAILED,
				 "%s: engine refused app '%s'",
				 r->apps[i].where, r->apps[i].app.name);
			return -1;
		}
	}
	for (size_t i = 0; i < r->narr; i++) {
		struct arrival *a = &r->arr[i];
		if (a->node != UKF_NODE_NONE && a->node >= r->nodes) {
			run_fail(r, UKF_RUN_BAD,
				 "%s: node %u does not exist "
				 "(the cluster has %u node%s)",
				 a->where, a->node, r->nodes,
				 plural(r->nodes));
			return -1;
		}
		for (size_t k = 0; k < a->ntev; k++)
			if (a->tev[k].node != UKF_NODE_NONE &&
			    a->tev[k].node >= r->nodes) {
				run_fail(r, UKF_RUN_BAD,
					 "%s: trace{}: %s:%u: "
					 "node %u does not exist (the cluster "
					 "has %u node%s)",
					 a->where, a->path ? a->path : "?",
					 a->tev[k].line, a->tev[k].node,
					 r->nodes, plural(r->nodes));
				return -1;
			}
	}
	return 0;
}

static void run_free(struct run *r)
{
	if (r->have_world) {
		r->world.ops->destroy(&r->world.w);
		r->have_world = 0;
	}
	r->running = 0;
	if (r->L)
		lua_close(r->L);
	r->L = NULL;
	for (size_t i = 0; i < r->nprocs; i++)
		free(r->procs[i]);
	free(r->procs);
	free(r->cos);
	for (size_t i = 0; r->pchunks && i * PCHUNK < r->capprocs; i++)
		free(r->pchunks[i]);
	free(r->pchunks);
	for (size_t i = 0; i < r->narr; i++) {
		free(r->arr[i].args);
		free(r->arr[i].tev);
		free(r->arr[i].path);
	}
	free(r->arr);
	free(r->apps);
	free(r->hosts);
	free(r->per_node);
	free(r->slots);
	free(r->hash);
	for (size_t i = 0; r->pv && i < r->sc->nents; i++)
		free(r->pv[i].str);
	free(r->pv);
	r->pv = NULL;
}

/* Add key: val to the settings document j; *bad is set if it failed. */
static void jadd(struct json_object *j, const char *key,
		 struct json_object *val, int *bad)
{
	if (ukf_json_add(j, key, val) < 0)
		*bad = 1;
}

/*
 * The settings of run r as stored (runs.settings_json): the values the
 * engine and world were given, hosts, model, apps and params, as one
 * JSON object written by json-c (results/json.h, the writer of `report
 * --json` and bootbench). Returns a malloc'd string the caller frees, or
 * NULL if out of memory.
 */
static char *settings_json(struct run *r, const struct cfg *cf)
{
	const struct ukf_engine_config *e = &cf->eng;
	const struct ukf_run_opts *o = r->sc->o;
	struct json_object *j = json_object_new_object(), *sub;
	int bad = !j;
	uint32_t nodes = e->nodes; /* kvm: one node; --cluster: the file's */
	if (o->cluster)
		nodes = o->cluster_nodes;
	else if (!is_sim(r->sc))
		nodes = 1;
	jadd(j, "backend", ukf_json_str(o->backend ? o->backend : "sim"), &bad);
	jadd(j, "nodes", json_object_new_int64(nodes), &bad);
	jadd(j, "vcpus", json_object_new_int64(e->node.vcpus), &bad);
	jadd(j, "memory", json_object_new_uint64(e->node.mem_bytes), &bad);
	jadd(j, "cache", json_object_new_uint64(e->node.cache_bytes), &bad);
	if (o->cluster)
		jadd(j, "cluster", ukf_json_str(o->cluster), &bad);
	if (cf->have_latency)
		jadd(j, "latency_ns", json_object_new_int64(cf->latency), &bad);
	if (cf->have_bandwidth)
		jadd(j, "bandwidth_Bps", ukf_json_num(cf->bandwidth, "%.0f"),
		     &bad);
	if (cf->have_dir_delay)
		jadd(j, "dir_delay_ns", json_object_new_int64(cf->dir_delay),
		     &bad);
	if (cf->have_dir_delay_p99)
		jadd(j, "dir_delay_p99_ns",
		     json_object_new_int64(cf->dir_delay_p99), &bad);
	if (cf->directory)
		jadd(j, "directory", ukf_json_str(cf->directory), &bad);
	jadd(j, "placement",
	     ukf_json_str(e->placement ? e->placement : "(default)"), &bad);
	jadd(j, "templates",
	     ukf_json_str(e->templates ? e->templates : "(default)"), &bad);
	jadd(j, "fetch",
	     ukf_json_str(e->fetch == UKF_FETCH_COLD ? "cold" : "peer"), &bad);
	jadd(j, "prewarm", json_object_new_int64(e->prewarm_k), &bad);
	jadd(j, "max_children", json_object_new_int64(e->max_children), &bad);
	jadd(j, "max_queue", json_object_new_int64(e->max_queue), &bad);
	jadd(j, "retry_ns", json_object_new_int64(e->retry_ns), &bad);
	jadd(j, "max_retries", json_object_new_int64(e->max_retries), &bad);
	jadd(j, "duration_ns", json_object_new_int64(cf->duration), &bad);
	jadd(j, "sample_every_ns", json_object_new_int64(cf->sample_every),
	     &bad);
	if (r->nhosts) {
		jadd(j, "hosts", sub = json_object_new_array(), &bad);
		for (size_t i = 0; sub && i < r->nhosts; i++) {
			struct json_object *h = json_object_new_object();
			int hb = !h;
			jadd(h, "count",
			     json_object_new_int64(r->hosts[i].count), &hb);
			jadd(h, "vcpus",
			     json_object_new_int64(r->hosts[i].vcpus), &hb);
			jadd(h, "memory",
			     json_object_new_uint64(r->hosts[i].memory), &hb);
			jadd(h, "cache",
			     json_object_new_uint64(r->hosts[i].cache), &hb);
			if (hb || ukf_json_append(sub, h) < 0)
				bad = 1;
		}
	}
	if (cf->model)
		jadd(j, "model", ukf_json_str(cf->model), &bad);
	if (cf->faults)
		jadd(j, "faults", ukf_json_str(cf->faults), &bad);
	jadd(j, "seed", json_object_new_uint64(r->seed), &bad);
	jadd(j, "rep", json_object_new_int64(r->rep), &bad);
	jadd(j, "apps", sub = json_object_new_object(), &bad);
	for (size_t i = 0; sub && i < r->napps; i++)
		jadd(sub, r->apps[i].app.name,
		     ukf_json_str(r->apps[i].app.args), &bad);
	jadd(j, "params", sub = json_object_new_object(), &bad);
	for (size_t i = 0; sub && i < r->sc->nents; i++) {
		struct entry *en = &r->sc->ents[i];
		if (en->builtin >= 0)
			continue;
		const struct val *v = entry_value(r, en);
		jadd(sub, en->name,
		     v->is_num ? ukf_json_num(v->num, "%.17g")
			       : ukf_json_str(v->str),
		     &bad);
	}
	const char *txt = bad ? NULL
			      : json_object_to_json_string_ext(
				    j, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	char *out = txt ? strdup(txt) : NULL;
	json_object_put(j);
	return out;
}

/*
 * The label of a sweep point: "name=value" of every swept setting and of
 * every setting given by --set (a single --set value names the
 * configuration too, so runs of separate invocations into one database
 * stay apart), in declaration order; "default" when there is none.
 */
static void config_label(struct scen *sc, const uint32_t *point, char *buf,
			 size_t cap)
{
	size_t off = 0;
	buf[0] = 0;
	for (size_t i = 0; i < sc->nents; i++) {
		struct entry *e = &sc->ents[i];
		if (e->nvals < 2 && !e->from_cli)
			continue;
		off += snprintf(buf + off, off < cap ? cap - off : 0, "%s%s=%s",
				off ? " " : "", e->name, e->vals[point[i]].str);
	}
	if (!buf[0])
		snprintf(buf, cap, "default");
}

static uint64_t point_seed(struct scen *sc, const uint32_t *point)
{
	if (sc->o->seed_set)
		return sc->o->seed;
	struct entry *e = entry_find(sc, "seed");
	if (e && e->nvals) {
		struct conv c;
		const char *why;
		size_t i = e - sc->ents;
		if (!val_convert(ST_INT, &e->vals[point ? point[i] : 0], &c,
				 &why))
			return c.u;
	}
	return 1;
}

/* The seed of run r, once its script has run: --seed, else run{seed=}
 * as this pass gave it (computed from a param(), it follows the point),
 * else 1. */
static uint64_t run_seed(struct run *r)
{
	struct scen *sc = r->sc;
	if (sc->o->seed_set)
		return sc->o->seed;
	struct entry *e = entry_find(sc, "seed");
	struct conv c;
	const char *why;
	if (e && e->nvals && !val_convert(ST_INT, entry_value(r, e), &c, &why))
		return c.u;
	return 1;
}

/* Where a suspended thread stands: its innermost Lua line. */
static void co_where(lua_State *co, char *buf, size_t cap)
{
	lua_Debug ar;
	for (int lv = 0; lua_getstack(co, lv, &ar); lv++)
		if (lua_getinfo(co, "Sl", &ar) && ar.currentline > 0) {
			snprintf(buf, cap, "%s:%d", ar.short_src,
				 ar.currentline);
			return;
		}
	snprintf(buf, cap, "?");
}

#define STUCK_NAMED 10

/*
 * At the end of a run, processes still suspended in wait() or ready()
 * waited for something that never came (a lost result would look the
 * same): each is named on stderr and in the trace. Processes in sleep()
 * were merely cut short by the duration and are not reported.
 */
static void warn_stuck(struct run *r, ukf_ns_t end, const char *label,
		       uint32_t rep)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nprocs; i++) {
		struct proc *p = r->procs[i];
		if (!p || p->pend == P_NONE)
			continue;
		if (n++ >= STUCK_NAMED)
			continue;
		char where[WHERE_MAX], line[WHERE_MAX + 160];
		co_where(p->co, where, sizeof(where));
		snprintf(line, sizeof(line),
			 "warning: process %u still suspended in %s(%" PRIu64
			 ") at %s when the run ended",
			 p->idx, p->pend == P_WAIT ? "wait" : "ready",
			 r->slots[p->pend_slot].id, where);
		fprintf(r->sc->msg, "%s rep %u: %s\n", label, rep, line);
		trace_line(r->sc, end, "run", line);
	}
	if (n > STUCK_NAMED) {
		char line[128];
		snprintf(line, sizeof(line),
			 "warning: %zu more process%s still suspended in "
			 "wait() or ready()",
			 n - STUCK_NAMED, n - STUCK_NAMED == 1 ? "" : "es");
		fprintf(r->sc->msg, "%s rep %u: %s\n", label, rep, line);
		trace_line(r->sc, end, "run", line);
	}
}

/* A run of (point, rep) with the given seed, nothing executed yet. */
static void run_init(struct run *r, struct scen *sc, const uint32_t *point,
		     uint32_t rep, enum mode mode, struct summary *sum,
		     uint64_t seed)
{
	memset(r, 0, sizeof(*r));
	r->sc = sc;
	r->mode = mode;
	r->point = point;
	r->rep = rep;
	r->seed = seed;
	r->sum = mode == M_RUN ? sum : NULL;
}

/*
 * Execute one (point, rep). SETUP: build and check only. RUN: the whole
 * run, written to the db. Returns a UKF_RUN_* code; message in r->err.
 */
static int run_one(struct scen *sc, const uint32_t *point, uint32_t rep,
		   enum mode mode, struct summary *sum, const char *label,
		   char *err, size_t errlen)
{
	struct run r;
	run_init(&r, sc, point, rep, mode, sum, point_seed(sc, point));
	struct cfg cf;
	double t0 = wall_now();
	/* Progress lines: --progress, or a terminal unless --quiet. */
	int progress = mode == M_RUN &&
		       (sc->o->progress ||
			(!sc->o->quiet && isatty(fileno(sc->msg))));
	int ticked = 0; /* a progress line was printed during this run */
	ukf_ns_t end = 0;
	uint64_t events = 0;
	double loop_wall = 0, t_loop = 0;

	if (run_script(&r))
		goto out;
	/* run{seed = param(...)}: this point's seed is known only now, and
	 * every stream is keyed by it: execute the script again with it. */
	uint64_t seed = run_seed(&r);
	if (seed != r.seed) {
		run_free(&r);
		run_init(&r, sc, point, rep, mode, sum, seed);
		if (run_script(&r))
			goto out;
		if (run_seed(&r) != seed) {
			run_fail(&r, UKF_RUN_BAD,
				 "%s: setting 'seed' changed when the "
				 "scenario ran with it (it must not depend "
				 "on random draws)",
				 entry_find(sc, "seed")->where);
			goto out;
		}
	}
	if (build_config(&r, &cf))
		goto out;
	if (mode == M_RUN && sc->db) {
		char *js = settings_json(&r, &cf);
		if (!js) {
			run_fail(&r, UKF_RUN_FAILED, "out of memory");
			goto out;
		}
		struct ukf_run_info info = {
		    .kind = "scenario",
		    .scenario = sc->o->script,
		    .scenario_hash = sc->hash,
		    .config = label,
		    .settings_json = js,
		    .seed = r.seed,
		    .rep = rep,
		    .backend = sc->o->backend ? sc->o->backend : "sim",
		    .version = UKF_VERSION,
		    .started_unix_ns = (int64_t)time(NULL) * UKF_S,
		};
		struct timespec ts;
		if (!clock_gettime(CLOCK_REALTIME, &ts))
			info.started_unix_ns =
			    (int64_t)ts.tv_sec * UKF_S + ts.tv_nsec;
		r.run_id = ukf_db_run_begin(sc->db, &info);
		free(js);
		if (r.run_id <= 0) {
			run_fail(&r, UKF_RUN_FAILED, "database: %s",
				 ukf_db_error(sc->db));
			goto out;
		}
	}
	if (create_world(&r, &cf, mode == M_RUN && sc->db != NULL))
		goto out;
	if (mode != M_RUN)
		goto out;
	if (r.world.ops->start(r.world.w)) {
		run_fail(&r, UKF_RUN_FAILED, "engine start failed");
		goto out;
	}
	if (sc->trace)
		fprintf(sc->trace, "# run config=%s seed=%" PRIu64 " rep=%u\n",
			label, r.seed, rep);
	for (size_t i = 0; i < r.nprocs; i++)
		if (proc_schedule(&r, (uint32_t)i, 0, 0)) {
			run_fail(&r, UKF_RUN_FAILED, "cannot schedule");
			goto out;
		}
	for (size_t i = 0; i < r.narr; i++)
		if (arrival_start(&r, i)) {
			run_fail(&r, UKF_RUN_FAILED, "cannot schedule");
			goto out;
		}
	struct ticker tk;
	if (progress && ticker_start(&tk, &r.stop))
		progress = 0;
	uint64_t allocs0 = r.lua_allocs;
	t_loop = wall_now();
	for (;;) {
		char werr[512] = "";
		if (r.world.ops->run(r.world.w, r.duration, &r.stop, werr,
				     sizeof(werr))) {
			run_fail(&r, UKF_RUN_FAILED, "world %s: %s",
				 r.world.ops->name, werr);
			break;
		}
		if (r.err_code || !progress ||
		    !__atomic_exchange_n(&tk.tick, 0, __ATOMIC_ACQ_REL))
			break;
		r.stop = 0;
		progress_line(&r, label, t_loop, 0);
		ticked = 1;
		if (r.world.ops->now(r.world.w) >= r.duration)
			break;
	}
	if (progress) {
		ticker_stop(&tk);
		/* The run's last state: after lines during it, and always
		 * with --progress (each run then has at least this one). */
		if (!r.err_code && (ticked || sc->o->progress))
			progress_line(&r, label, t_loop, 1);
		else if (ticked && isatty(fileno(sc->msg)))
			fprintf(sc->msg, "\n");
	}
	loop_wall = wall_now() - t_loop;
	end = r.world.ops->now(r.world.w);
	events = r.world.ops->events(r.world.w);
	if (!r.err_code)
		warn_stuck(&r, end, label, rep);
	if (getenv("UKF_LUA_ALLOCS"))
		fprintf(stderr,
			"lua allocations: %" PRIu64 " before the run, "
			"%" PRIu64 " during it\n",
			allocs0, r.lua_allocs - allocs0);
out:
	r.closing = 1;
	if (r.have_world) {
		/* Instances still alive are recorded now; no more wake-ups. */
		r.world.ops->destroy(&r.world.w);
		r.have_world = 0;
		r.running = 0;
	}
	/* The trace written so far must be on disk before the run is
	 * stored: a run whose log was lost is a failed run, not kept. */
	if (mode == M_RUN && sc->trace && !r.err_code &&
	    (fflush(sc->trace) || ferror(sc->trace)))
		run_fail(&r, UKF_RUN_FAILED, "ukfork run: writing the trace "
			 "'%s' failed: %s", sc->o->trace_path, strerror(errno));
	double wall = wall_now() - t0;
	if (r.run_id > 0) {
		if (r.err_code)
			ukf_db_run_abort(sc->db, r.run_id);
		else if (ukf_db_run_commit(sc->db, r.run_id, wall, events, end))
			run_fail(&r, UKF_RUN_FAILED, "database: %s",
				 ukf_db_error(sc->db));
	}
	if (mode == M_RUN && !r.err_code) {
		sc->runs_done++;
		sc->wall_done += wall;
		sum->runs++;
		sum->events += events;
		sum->wall += wall;
		if (!sc->o->quiet && is_sim(sc))
			fprintf(sc->out,
				"run %s rep %u: %" PRIu64 " event%s, "
				"%.3f s wall (event loop %.3f s: %.3f M "
				"events/s), %.3f s world time\n",
				label, rep, events, plural(events), wall,
				loop_wall,
				loop_wall > 0 ? events / loop_wall / 1e6 : 0.0,
				(double)end / 1e9);
		else if (!sc->o->quiet)
			/* Real time: the loop mostly waits for the VMs, so
			 * a rate of its events says nothing of its speed. */
			fprintf(sc->out,
				"run %s rep %u: %.3f s wall, %.3f s of it in "
				"the live event loop (%" PRIu64 " engine "
				"event%s: timers, messages, VM events)\n",
				label, rep, wall, loop_wall, events,
				plural(events));
		if (r.spawn_errors && !sc->o->quiet)
			fprintf(sc->out,
				"    (%" PRIu64 " arrival%s refused by "
				"the engine)\n",
				r.spawn_errors, plural(r.spawn_errors));
	}
	int code = r.err_code;
	if (code)
		snprintf(err, errlen, "%s", r.err);
	run_free(&r);
	return code;
}

/* ------------------------------------------------------------------ */
/* The whole `ukfork run`: discover, check every point, run, summarise. */

static void print_summary(FILE *out, struct summary *sums, size_t n)
{
	size_t w = 6;
	for (size_t i = 0; i < n; i++)
		if (strlen(sums[i].label) > w)
			w = strlen(sums[i].label);
	fprintf(out, "\n%-*s %4s %10s %9s %9s %9s %9s %6s %7s\n", (int)w,
		"config", "runs", "requests", "mean_ms", "p50_ms", "p95_ms",
		"p99_ms", "cold", "failed");
	for (size_t i = 0; i < n; i++) {
		struct summary *s = &sums[i];
		ukf_stats_sort(s->lat, s->nlat);
		double mean = 0;
		for (size_t k = 0; k < s->nlat; k++)
			mean += s->lat[k];
		mean = s->nlat ? mean / s->nlat : NAN;
		double v[4] = {mean,
			       ukf_stats_quantile(s->lat, s->nlat, 0.50),
			       ukf_stats_quantile(s->lat, s->nlat, 0.95),
			       ukf_stats_quantile(s->lat, s->nlat, 0.99)};
		char col[4][32], cold[32];
		/* No latency (no request became ready): "-", not nan. */
		for (int k = 0; k < 4; k++)
			if (s->nlat && isfinite(v[k]))
				snprintf(col[k], sizeof(col[k]), "%.3f", v[k]);
			else
				snprintf(col[k], sizeof(col[k]), "-");
		if (s->n)
			snprintf(cold, sizeof(cold), "%.3f",
				 (double)s->cold / s->n);
		else
			snprintf(cold, sizeof(cold), "-");
		fprintf(out,
			"%-*s %4zu %10" PRIu64 " %9s %9s %9s %9s %6s %7" PRIu64
			"\n",
			(int)w, s->label, s->runs, s->n, col[0], col[1], col[2],
			col[3], cold, s->failed);
	}
	fprintf(out, "(request-to-ready over every instance requested, "
		     "nearest-rank quantiles; `ukfork report` gives confidence "
		     "intervals)\n");
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	return (x->order > y->order) - (x->order < y->order);
}

static int parse_set(struct scen *sc, const char *s, FILE *msg)
{
	const char *eq = strchr(s, '=');
	if (!eq || eq == s || !eq[1]) {
		fprintf(msg,
			"ukfork run: --set %s: expected name=value"
			"[,value...]\n",
			s);
		return -1;
	}
	char name[128];
	snprintf(name, sizeof(name), "%.*s", (int)(eq - s), s);
	if (entry_find(sc, name)) {
		fprintf(msg, "ukfork run: --set %s: setting '%s' given twice\n",
			s, name);
		return -1;
	}
	struct entry *e = entry_add(sc, name);
	if (!e)
		return -1;
	e->from_cli = 1;
	e->order = (size_t)1 << 40 | sc->nents;
	snprintf(e->where, sizeof(e->where), "--set %s", s);
	char *dup = strdup(eq + 1), *next = dup;
	if (!dup)
		return -1;
	for (char *t = dup; next; t = next) {
		next = strchr(t, ',');
		if (next)
			*next++ = '\0';
		if (!*t) {
			fprintf(msg,
				"ukfork run: --set %s: empty value at "
				"position %zu of the list\n",
				s, e->nvals + 1);
			free(dup);
			return -1;
		}
		int is_num = is_decimal(t, 1, 1);
		if (val_push(e, is_num, is_num ? strtod(t, NULL) : 0, t)) {
			free(dup);
			return -1;
		}
	}
	free(dup);
	if (!e->nvals) {
		fprintf(msg, "ukfork run: --set %s: no value\n", s);
		return -1;
	}
	if (e->builtin >= 0)
		for (size_t i = 0; i < e->nvals; i++) {
			struct conv c;
			const char *why = "";
			if (val_convert(builtin[e->builtin].type, &e->vals[i],
					&c, &why)) {
				fprintf(msg,
					"ukfork run: --set %s: bad value "
					"'%s' for '%s': %s\n",
					s, e->vals[i].str, name, why);
				return -1;
			}
		}
	size_t d = entry_dup(e);
	if (d) {
		fprintf(msg,
			"ukfork run: --set %s: setting '%s': value %zu ('%s') "
			"repeats an earlier one in the list (each sweep point "
			"once; --reps repeats runs)\n",
			s, name, d + 1, e->vals[d].str);
		return -1;
	}
	return 0;
}

/* Is `name` a valid policy of kind `key` ("placement"/"templates")? */
static int check_policy(const char *key, const char *name, char *err,
			size_t errlen)
{
	struct ukf_sim_config c;
	ukf_sim_config_default(&c);
	c.engine.nodes = 1;
	if (!strcmp(key, "placement"))
		c.engine.placement = name;
	else
		c.engine.templates = name;
	struct ukf_world_sinks sinks;
	memset(&sinks, 0, sizeof(sinks));
	struct ukf_world w;
	if (ukf_sim_create(&w, &c, &sinks, NULL, err, errlen))
		return -1;
	w.ops->destroy(&w.w);
	return 0;
}

/* The largest scenario file read (a scenario is a script, not data). */
#define SCRIPT_MAX (64u << 20)

/*
 * Read the scenario once: its hash and the text every pass executes.
 * Returns 0, or -1 with a message (a missing, unreadable or oversized
 * file: bad input).
 */
static int read_scenario(struct scen *sc, FILE *msg)
{
	FILE *f = fopen(sc->o->script, "rb");
	if (!f) {
		fprintf(msg, "ukfork run: cannot open scenario '%s': %s\n",
			sc->o->script, strerror(errno));
		return -1;
	}
	size_t cap = 0, n = 0;
	char *t = NULL;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			char *nt = cap <= 2 * (size_t)SCRIPT_MAX
				       ? realloc(t, cap)
				       : NULL;
			if (!nt)
				break;
			t = nt;
		}
		size_t k = fread(t + n, 1, cap - n, f);
		n += k;
		if (!k || n > SCRIPT_MAX)
			break;
	}
	int bad = ferror(f) || !t || n > SCRIPT_MAX;
	int e = errno;
	fclose(f);
	if (bad) {
		fprintf(msg, "ukfork run: cannot read scenario '%s': %s\n",
			sc->o->script,
			n > SCRIPT_MAX ? "larger than 64 MiB (not a scenario?)"
				       : strerror(e));
		free(t);
		return -1;
	}
	snprintf(sc->hash, sizeof(sc->hash), "%016" PRIx64,
		 fnv1a(t, n, FNV_INIT));
	/* As luaL_loadfile: a first line "#..." (#!) is not Lua; blanked,
	 * so that line numbers stay those of the file. */
	size_t i = n >= 3 && !memcmp(t, "\xEF\xBB\xBF", 3) ? 3 : 0;
	if (i)
		memset(t, ' ', 3); /* a UTF-8 byte order mark, as Lua skips */
	if (i < n && t[i] == '#')
		for (; i < n && t[i] != '\n'; i++)
			t[i] = ' ';
	sc->text = t;
	sc->textlen = n;
	snprintf(sc->chunkname, sizeof(sc->chunkname), "@%s", sc->o->script);
	const char *sl = strrchr(sc->o->script, '/');
	if (sl)
		snprintf(sc->script_dir, sizeof(sc->script_dir), "%.*s",
			 (int)(sl - sc->o->script), sc->o->script);
	return 0;
}

/* 1 if paths a and b name the same file (the same path, or both exist
 * and are one inode). */
static int same_file(const char *a, const char *b)
{
	struct stat x, y;
	if (!a || !b)
		return 0;
	if (!strcmp(a, b))
		return 1;
	return !stat(a, &x) && !stat(b, &y) && x.st_dev == y.st_dev &&
	       x.st_ino == y.st_ino;
}

/*
 * The outputs must not be the scenario or each other: opening the trace
 * truncates its file, and the runs would then execute (and the database
 * describe) an empty scenario. Returns 0, or -1 with a message.
 */
static int check_outputs(const struct ukf_run_opts *o, FILE *msg)
{
	const char *what = NULL, *path = NULL, *other = NULL;
	if (same_file(o->trace_path, o->script))
		what = "--trace", path = o->trace_path, other = "the scenario";
	else if (same_file(o->db_path, o->script))
		what = "--db", path = o->db_path, other = "the scenario";
	else if (same_file(o->trace_path, o->db_path))
		what = "--trace", path = o->trace_path, other = "the --db";
	if (!what)
		return 0;
	fprintf(msg,
		"ukfork run: %s %s is %s file itself: it would be "
		"overwritten (give another path)\n",
		what, path, other);
	return -1;
}

int ukf_scenario_have_kvm(void)
{
#ifdef UKF_HAVE_LIVE
	return 1;
#else
	return 0;
#endif
}

int ukf_scenario_run(const struct ukf_run_opts *o, FILE *out, FILE *msg)
{
	struct scen sc;
	memset(&sc, 0, sizeof(sc));
	sc.o = o;
	sc.out = out;
	sc.msg = msg;
	int code = UKF_RUN_BAD;
	uint32_t *point = NULL;
	struct summary *sums = NULL;
	size_t npoints = 1, nsums = 0;
	char err[ERR_MAX];

	const char *be = o->backend ? o->backend : "sim";
	if (strcmp(be, "sim") && strcmp(be, "kvm")) {
		fprintf(msg,
			"ukfork run: unknown backend '%s' (valid: sim, "
			"kvm)\n",
			be);
		return UKF_RUN_BAD;
	}
	if (!strcmp(be, "kvm") && !ukf_scenario_have_kvm()) {
		fprintf(msg, "ukfork run: backend 'kvm' not built (the live "
			     "world is missing)\n");
		return UKF_RUN_BAD;
	}
	if (check_outputs(o, msg) || read_scenario(&sc, msg))
		goto done;
	for (size_t i = 0; i < o->nsets; i++)
		if (parse_set(&sc, o->sets[i], msg))
			goto done;

	/* Pass 1: which settings exist, with which values. */
	{
		struct run r;
		memset(&r, 0, sizeof(r));
		r.sc = &sc;
		r.mode = M_DISCOVER;
		r.seed = o->seed_set ? o->seed : 1;
		run_script(&r);
		int c = r.err_code;
		if (c)
			fprintf(msg, "%s\n", r.err);
		run_free(&r);
		if (c) {
			code = c;
			goto done;
		}
	}
	/* Sweep dimensions in the scenario's order, command-line ones last
	 * (a scenario may declare none: qsort takes no NULL array). */
	if (sc.nents)
		qsort(sc.ents, sc.nents, sizeof(*sc.ents), cmp_entry);
	for (size_t i = 0; i < sc.nents; i++) {
		struct entry *e = &sc.ents[i];
		if (e->builtin < 0 && !e->seen) {
			fprintf(msg,
				"ukfork run: %s: unknown setting '%s' (not "
				"a built-in setting nor a param() of %s)\n",
				e->where, e->name, o->script);
			goto done;
		}
		if (e->builtin == S_PLACEMENT || e->builtin == S_TEMPLATES)
			for (size_t k = 0; k < e->nvals; k++)
				if (check_policy(e->name, e->vals[k].str, err,
						 sizeof(err))) {
					fprintf(msg, "%s: setting '%s': %s\n",
						e->where, e->name, err);
					goto done;
				}
		if (e->nvals > 1)
			npoints *= e->nvals;
	}
	if (npoints > 100000) {
		fprintf(msg, "ukfork run: %zu sweep points: too many\n",
			npoints);
		goto done;
	}
	point = calloc(sc.nents ? sc.nents : 1, sizeof(*point));
	sums = calloc(npoints, sizeof(*sums));
	if (!point || !sums) {
		code = UKF_RUN_FAILED;
		goto done;
	}
	/* Pass 2: set up every sweep point before anything is stored. */
	for (size_t p = 0; p < npoints; p++) {
		size_t x = p;
		for (size_t i = sc.nents; i-- > 0;) {
			size_t nv = sc.ents[i].nvals > 1 ? sc.ents[i].nvals : 1;
			point[i] = (uint32_t)(x % nv);
			x /= nv;
		}
		char label[512];
		config_label(&sc, point, label, sizeof(label));
		sums[p].label = strdup(label);
		nsums++;
		int c = run_one(&sc, point, 0, M_SETUP, NULL, label, err,
				sizeof(err));
		if (c) {
			fprintf(msg, "%s\n", err);
			code = c;
			goto done;
		}
	}
	code = UKF_RUN_FAILED;
	if (o->db_path) {
		sc.db = ukf_db_open(o->db_path, err, sizeof(err));
		if (!sc.db) {
			fprintf(msg, "ukfork run: %s\n", err);
			goto done;
		}
	}
	if (o->trace_path) {
		sc.trace = fopen(o->trace_path, "w");
		if (!sc.trace) {
			fprintf(msg,
				"ukfork run: cannot write trace '%s': %s\n",
				o->trace_path, strerror(errno));
			goto done;
		}
	}
	/* Pass 3: the runs. */
	uint32_t reps = o->reps ? o->reps : 1;
	sc.npoints = npoints;
	sc.reps = reps;
	for (size_t p = 0; p < npoints; p++) {
		sc.point_no = p;
		size_t x = p;
		for (size_t i = sc.nents; i-- > 0;) {
			size_t nv = sc.ents[i].nvals > 1 ? sc.ents[i].nvals : 1;
			point[i] = (uint32_t)(x % nv);
			x /= nv;
		}
		for (uint32_t rep = 0; rep < reps; rep++) {
			int c = run_one(&sc, point, rep, M_RUN, &sums[p],
					sums[p].label, err, sizeof(err));
			if (c) {
				fprintf(msg, "%s\n", err);
				code = c;
				goto done;
			}
		}
	}
	if (!o->quiet) {
		print_summary(out, sums, npoints);
		if (o->db_path)
			fprintf(out,
				"%zu runs stored in %s: `ukfork report %s` "
				"for the statistics\n",
				npoints * reps, o->db_path, o->db_path);
	}
	code = UKF_RUN_OK;
done:
	if (sc.trace && fclose(sc.trace) && code == UKF_RUN_OK) {
		fprintf(msg, "ukfork run: writing the trace failed\n");
		code = UKF_RUN_FAILED;
	}
	ukf_db_close(&sc.db);
	for (size_t i = 0; i < nsums; i++) {
		free(sums[i].label);
		free(sums[i].lat);
	}
	free(sums);
	free(point);
	for (size_t i = 0; i < sc.nents; i++) {
		entry_free_vals(&sc.ents[i]);
		free(sc.ents[i].name);
	}
	free(sc.ents);
	free(sc.text);
	return code;
}
