/* SPDX-License-Identifier: MIT */
/* scen_int.h - shared structs and scen_ helpers of the scenario runner. */
#ifndef UKF_SCEN_INT_H
#define UKF_SCEN_INT_H

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
/* A macro's value as a string literal (SCEN_STR(NODES_MAX): "1000000") */
#define SCEN_STR_(x) #x
#define SCEN_STR(x) SCEN_STR_(x)

/* ------------------------------------------------------------------ */
/* Keyed random streams: SplitMix64, one 8-byte state per stream (it  */
/* passes BigCrush; a small state keeps 10,000 processes' streams in   */
/* cache on the sleep/wake hot path).                                   */

struct rng {
	uint64_t s;
};

static inline uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A stream keyed by (seed, rep, key): the same key gives the same numbers
 * in every sweep point, a different rep gives an independent substream. */
static inline void rng_seed(struct rng *r, uint64_t seed, uint32_t rep,
		     const char *key)
{
	uint64_t x = seed;
	x ^= splitmix64(&x) + rep * 0xd1b54a32d192ed03ULL;
	x ^= ukf_fnv1a(key, strlen(key), UKF_FNV_INIT);
	r->s = splitmix64(&x);
}

/* rng_seed with the key prefix followed by the n bytes of name (any
 * length, NULs too): the stream rng_seed gives the concatenation. */
static inline void rng_seed2(struct rng *r, uint64_t seed, uint32_t rep,
			     const char *prefix, const char *name, size_t n)
{
	uint64_t x = seed;
	x ^= splitmix64(&x) + rep * 0xd1b54a32d192ed03ULL;
	x ^= ukf_fnv1a(name, n, ukf_fnv1a(prefix, strlen(prefix), UKF_FNV_INIT));
	r->s = splitmix64(&x);
}

static inline double rng_uniform(struct rng *r)
{
	return (double)(splitmix64(&r->s) >> 11) * 0x1.0p-53;
}

static inline double rng_exponential(struct rng *r, double mean)
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
	S_FAULTS,
	S_CORES,
	S_ADMISSION /* sim only, read by scen_net_config (scen_settings.c) */
};

/* The built-in settings, indexed by S_*: name, declaring function, type. */
#define NBUILTIN (S_ADMISSION + 1)
extern const struct sdef scen_builtin[NBUILTIN];

struct val {
	int is_num;
	double num;
	char *str; /* always set: the value as text */
};

/* One setting of the scenario with all its values (nvals > 1: a sweep). */
struct entry {
	char *name;
	int builtin; /* index in scen_builtin[], or -1 for param() */
	struct val *vals;
	size_t nvals;
	char where[WHERE_MAX]; /* "file:line" or "--set name=..." */
	int from_cli;
	int seen;     /* declared by the script in this pass */
	size_t order; /* declaration order (command line only: last) */
};

struct run;
struct cfg;

/*
 * A world a scenario runs on (scen_world.c lists them): the simulator, the
 * local KVM node, or the node agents of a cluster file. Chosen once per
 * `ukfork run` from --backend and --cluster (scen_world_find).
 */
struct scen_world_ops {
	const char *name;    /* "sim", "kvm", "cluster" */
	const char *backend; /* the --backend that picks it (backend()) */
	int cluster;	     /* picked with --cluster: 1, without: 0, both: -1 */
	int simulated;	     /* simulated time: faults, events/s, any nodes */
	/* Create r->world from cf with these sinks (with_db: node samples
	 * every cf->sample_every): 0, or -1 after scen_run_fail(). NULL: not
	 * built in this ukfork (not_built says so). */
	int (*create)(struct run *r, const struct cfg *cf,
		      const struct ukf_world_sinks *sinks, int with_db);
	const char *not_built;
	/* The nodes of r's world once created. */
	uint32_t (*nodes)(const struct run *r, const struct cfg *cf);
	/* The nodes a configuration stores in its settings JSON. */
	uint32_t (*config_nodes)(const struct ukf_run_opts *o,
				 const struct ukf_engine_config *e);
	/* Node n of r's world: 0 up, 1 failed (sim: fail_node; cluster:
	 * its agent lost), 2 cut (sim: fail_link). NULL: always up. */
	int (*node_state)(struct run *r, ukf_node_id_t n);
};

/* Everything that spans the runs of one `ukfork run`. */
struct scen {
	const struct ukf_run_opts *o;
	const struct scen_world_ops *world; /* what runs it (scen_world_find) */
	char script_dir[512];
	char hash[17];
	struct entry *ents;
	size_t nents, declared;
	/* --seed with a seed the scenario computes: its value at the first
	 * sweep point (pass 2), seed_seen once it is known; another point's
	 * value differing is refused (run_one). */
	uint64_t seed;
	int seed_seen;
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
	/* MPI (scen_mpi.c): this process's rank of size ranks (0 of 1
	 * without mpirun). With size > 1 only rank 0 opens db; every other
	 * rank stores its runs in jn, a journal sent to rank 0. */
	int rank, size;
	struct scen_journal *jn;
};
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
	uint64_t digest; /* trace: of its bytes (runs.settings_json) */
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
	uint64_t tboots; /* the engine's own template boots (no requests) */
	double wall, *lat;
	size_t nlat, cap;
};

/* A set of ids (scen_proc.c: request rows written). */
struct scen_idchunk {
	uint64_t key;	/* id >> 15 */
	uint64_t *bits; /* NULL: free slot */
};
struct scen_idset {
	struct scen_idchunk *t;
	size_t cap, n;
	uint64_t last_key, *last;
};
void scen_idset_free(struct scen_idset *s);

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
	/* The Lua state's memory (scenario.c, lua_alloc): bytes held, the
	 * most it may hold (0: no limit), refused while Lua code runs
	 * (in_lua: in a protected call or resume, where a refusal is a Lua
	 * error, not a panic); oom: a growth was refused, oom_where: the
	 * top-level line it was refused at (in_top: the main chunk runs). */
	size_t lua_bytes, lua_max;
	int in_lua, in_top, oom;
	char oom_where[WHERE_MAX];
	struct summary *sum;
	uint64_t spawn_errors;
	/* Request ids whose row was written, and later rows of such ids not
	 * stored (a request that ended twice after a lost notice). */
	struct scen_idset rows;
	uint64_t rows_twice;
	/* Rows an origin wrote at the end of requests it heard nothing back
	 * of (ukf_record.unanswered): stored at the run's end, for the ids
	 * no other row came for (scen_s_flush_held), whatever the order in
	 * which the nodes' rows came. */
	struct held_row *held;
	size_t nheld, capheld;
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

static inline struct pslot *ps_of(lua_State *L)
{
	return *(struct pslot **)lua_getextraspace(L);
}

static inline struct run *run_of(lua_State *L)
{
	return ps_of(L)->r;
}

/* 1 with *v set if the value at idx is a number with an integral value
 * (2 or 2.0: Lua's 4/2 is a float), else 0 (a string, 2.5, nan, 1e300). */
static inline int scen_integral(lua_State *L, int idx, lua_Integer *v)
{
	int ok = 0;
	*v = 0;
	if (lua_type(L, idx) == LUA_TNUMBER)
		*v = lua_tointegerx(L, idx, &ok);
	return ok;
}

/* The process index of thread L, or NO_PROC for the main chunk. */
static inline uint32_t pidx_of(lua_State *L)
{
	struct pslot *ps = ps_of(L);
	return ps->co == L ? ps->idx : NO_PROC;
}
/* ------------------------------------------------------------------ */
/* One run: execute the script, build the world, drive it.              */

struct cfg {
	struct ukf_engine_config eng;
	ukf_ns_t latency, dir_delay, dir_delay_p99, duration, sample_every;
	double bandwidth;
	const char *model;
	/* sim: the model file read once, when the settings are taken
	 * (its directory keys matter there), and handed to the world */
	struct ukf_sim_model sim_model;
	int have_sim_model;
	/* of the model file's bytes (runs.settings_json: runs of a file
	 * changed in between are other configurations), "" if none */
	char model_digest[17];
	const char *directory; /* imitated: embedded, etcd, etcd3 (NULL: none) */
	ukf_ns_t dir_detect; /* with directory: its measured failure detection,
				the default of churn{ detect = } */
	int have_latency, have_dir_delay, have_bandwidth, have_dir_delay_p99;
	const char *faults; /* as given (NULL: none); parsed into sim_faults */
	struct ukf_sim_faults sim_faults;
	int64_t cores; /* sim: physical cores per host (0: no contention) */
};

/* A setting's value converted to its type (scen_val_convert). */
struct conv {
	int64_t i;
	uint64_t u;
	double d;
	const char *s;
};

/* Helpers one room defines and others call (prefix scen_). */

/* scen_settings.c */
/* The entry of setting `name`, or NULL if no one declared or --set it. */
struct entry *scen_entry_find(struct scen *sc, const char *name);
/* Free e's values (not e); e then has none. */
void scen_entry_free_vals(struct entry *e);
/* 1 if all of s is a decimal number (an optional '-' if neg). */
int scen_is_decimal(const char *s, int frac, int neg);
/* A time from Lua: a number of seconds, or a string with a unit. */
int scen_text_time(const char *s, ukf_ns_t *out);
/* Seconds x as ns in *out: 0, or -1 if negative, not finite or too large. */
int scen_num_time(double x, ukf_ns_t *out);
/* Convert one value to the setting's type; 0 or -1 with a reason in why
 * (a static string). */
int scen_val_convert(enum stype t, const struct val *v, struct conv *c,
		     const char **why);
/* Read a scalar Lua value at idx into (is_num, num, text). */
int scen_lua_scalar(lua_State *L, int idx, int *is_num, double *num, char *buf,
		    size_t cap);
/* The value of setting e in this run: the point's, or what this pass of
 * the script computed for a single-valued setting. */
const struct val *scen_entry_value(struct run *r, const struct entry *e);
/*
 * The script gives setting `name` the Lua value at idx (scalar or list).
 * DISCOVER: record and validate every value. Later passes: a list is the
 * sweep's (the point decides), a single value this run's (declare_again).
 * --set wins over the script in every pass. Raises a Lua error on bad
 * input.
 */
void scen_declare(lua_State *L, struct run *r, const char *name, int idx);
/* cluster{}, policy{}, run{}: declare built-in settings of that group. */
int scen_l_cluster(lua_State *L);
/* network{...} (scen_settings.c): the simulated network's fabric, kept
 * in the Lua registry; scen_net_config puts it in the sim config c when
 * the world is made: 0, or -1 with the run failed (file:line). */
int scen_l_network(lua_State *L);
int scen_net_config(struct run *r, struct ukf_sim_config *c);
/* What network{} said, for the run's stored settings. */
struct scen_net {
	char where[WHERE_MAX]; /* file:line of the network{} call */
	int fair;	       /* sharing = "max-min" (or racks given) */
	uint32_t racks;	       /* 0: none */
	double rack_uplink_bps, core_bps; /* bytes/s; 0: unlimited */
};
/* 1 with *out filled if the scenario called network{}, else 0 (out zeroed). */
int scen_net_get(struct run *r, struct scen_net *out);
/* churn{ mtbf =, mttr =, detect = } (scen_settings.c, sim only): random
 * node failures and the failure-detection delay, kept in the Lua registry;
 * scen_net_config also puts them in the sim config. */
int scen_l_churn(lua_State *L);
struct scen_churn {
	char where[WHERE_MAX]; /* file:line of the churn{} call */
	ukf_ns_t mtbf_ns, mttr_ns; /* 0: no random failures */
	ukf_ns_t detect_ns;        /* 0: failures noticed at once */
	int detect_given;          /* detect = was given (else detect_ns 0) */
};
/* 1 with *out filled if the scenario called churn{}, else 0 (out zeroed). */
int scen_churn_get(struct run *r, struct scen_churn *out);
int scen_l_policy(lua_State *L);
int scen_l_runcfg(lua_State *L);
/* param(name, default) -> the value of this run. */
int scen_l_param(lua_State *L);
/* setting(name) -> value of a setting in this run, or nil if not given. */
int scen_l_setting(lua_State *L);
/*
 * backend() -> "sim" or "kvm": the world this run executes in, so that one
 * file can size itself for a simulated cluster or for the one real node.
 */
int scen_l_backend(lua_State *L);
/* One --set "name=value[,value...]" into sc's entries: 0, or -1 with a
 * message on msg (bad input). */
int scen_parse_set(struct scen *sc, const char *s, FILE *msg);

/* scen_decl.c */
/* app{name=, image=, ...}: declare an app (Lua API; raises on bad input). */
int scen_l_app(lua_State *L);
/* hosts{count=, vcpus=, memory=, cache=}: a group of identical nodes. */
int scen_l_hosts(lua_State *L);
/* A time argument: number of seconds or string with a unit. */
ukf_ns_t scen_arg_time(lua_State *L, int idx, const char *what);
/* poisson{}, constant{}, bursts{}: declare an arrival process (Lua API). */
int scen_l_poisson(lua_State *L);
int scen_l_constant(lua_State *L);
int scen_l_bursts(lua_State *L);
/* Path p relative to the scenario's directory (absolute: as is) in out. */
void scen_path_resolve(struct scen *sc, const char *p, char *out, size_t cap);
/* trace{file=, node=}: "time app [node]" lines; '#' comments. */
int scen_l_trace(lua_State *L);
/* One arrival of a trace file: time, app index, node (UKF_NODE_NONE: the
 * trace{}'s node or spread). */
struct scen_tline {
	ukf_ns_t t;
	int app;
	uint32_t node;
};
int scen_trace_parse(char *line, size_t len,
		     int (*find_app)(void *ctx, const char *name), void *ctx,
		     ukf_ns_t last, struct scen_tline *out, char *msg,
		     size_t cap);

/* scen_proc.c */
/* The scenario API (global functions), and a stream's methods. */
extern const luaL_Reg scen_api[];
extern const luaL_Reg scen_stream_methods[4];
/*
 * A count hook fires every hook_every instructions of any thread (threads
 * inherit it from the state they are created in). The budget is per step:
 * one execution of the top-level chunk, or one resume of a process until it
 * sleeps, waits, ends or fails, so a long simulation of many short steps
 * never trips it. Once tripped, every instruction raises, so a pcall in the
 * script cannot swallow the error and loop on.
 */
void scen_watchdog(lua_State *L, lua_Debug *ar);
/* Wake process idx at world time t (plain: a sleep, not a wait): 0 or -1. */
int scen_proc_schedule(struct run *r, uint32_t idx, ukf_ns_t t, int plain);
/* One event log line (time, node, text) when a trace file is open. */
void scen_trace_line(struct scen *sc, ukf_ns_t t, const char *node,
		     const char *line);
/* Resume process `who` (-1: none) waiting on an instance. */
void scen_wake(struct run *r, int32_t who);
/* The engine's hooks and the world's sinks: u is the struct run. */
void scen_h_ready(void *u, ukf_id_t id, uint64_t tag);
void scen_h_exit(void *u, ukf_id_t id, uint64_t tag, int64_t status);
void scen_h_fail(void *u, ukf_id_t id, uint64_t tag, const char *why);
void scen_h_console(void *u, ukf_id_t id, const char *line, size_t len);
void scen_s_record(void *u, const struct ukf_record *rec);
void scen_s_log(void *u, ukf_ns_t t, ukf_node_id_t node, const char *line);
void scen_s_outage(void *u, ukf_ns_t t, ukf_node_id_t node, const char *kind,
		   const char *reason);
void scen_s_sample(void *u, const struct ukf_world_sample *s);

/* scen_arrival.c */
/* Schedule the first firing of arrival process i: 0, or -1 (world failed). */
int scen_arrival_start(struct run *r, size_t i);

/* scen_sandbox.c */
/*
 * The standard libraries of a scenario. Trusted: all of them, but
 * os.exit. Sandbox: base, coroutine, table, string, math, utf8 and
 * os.clock/date/difftime/time; io, os (the rest), package, require,
 * debug, dofile and loadfile raise SANDBOX_WHY, load takes text only.
 * In both, coroutine.resume/close refuse the threads of processes.
 */
void scen_open_libs(lua_State *L, int trusted);

/* scen_world.c */
/* This run's world configuration from its settings: 0, or -1 after
 * scen_run_fail(). Strings in cf point into the run's entries. */
int scen_build_config(struct run *r, struct cfg *cf);
/* Create r's world from cf (with_db: record rows to the database): 0, or
 * -1 after scen_run_fail(). run_free() destroys it. */
/* The world of o's --backend and --cluster, or NULL: no such backend. */
const struct scen_world_ops *scen_world_find(const struct ukf_run_opts *o);
int scen_create_world(struct run *r, struct cfg *cf, int with_db);
/* Node n of r's world: 0 up, 1 failed, 2 cut (scen_world_ops). */
int scen_node_state(struct run *r, ukf_node_id_t n);
/* Is `name` a valid policy of kind `key` ("placement"/"templates")? */
int scen_check_policy(const char *key, const char *name, char *err,
		      size_t errlen);

/* scenario.c */
/* "file:line" of Lua stack level `level` of L into buf, "?" if unknown. */
void scen_where_of(lua_State *L, int level, char *buf, size_t cap);
/* Record r's first error (code UKF_RUN_*) and stop its world. */
void scen_run_fail(struct run *r, int code, const char *fmt, ...);
/* Index of app `name` among r's declarations, or -1. */
int scen_find_app(struct run *r, const char *name);
/* A Lua error naming fn, app and key if an instance's args do not parse
 * or are longer than UKF_APP_ARGS_MAX - 1 bytes (apps with their own
 * image: only the length is checked). */
void scen_check_args(lua_State *L, struct run *r, uint32_t app,
		     const char *fn, const char *args);
/* An error value as a message: the text itself ("file:line: " in front
 * if it names no place), or for error({}), error() ... "file:line:
 * error() with a table value ..." (pushed). */
const char *scen_error_value(lua_State *L, int idx);
/* Check a table argument's keys against a list; error names the bad key. */
void scen_check_keys(lua_State *L, int idx, const char *fn,
		     const char *const *keys);
/* The registry table of the lines log() wrote at the top level of a run
 * (scen_proc.c), written after the run's "# run" line (scenario.c). */
#define SCEN_PRELOG "ukf.prelog"

/* Where a suspended thread stands: its innermost Lua line. */
void scen_co_where(lua_State *co, char *buf, size_t cap);
/* A failed step (status st, message m) of thread co (NULL: the main
 * chunk, unwound) that the Lua memory limit caused: the run fails with
 * file:line and the limit, returns 1; else 0. */
int scen_lua_oom(struct run *r, lua_State *co, int st, const char *m);

/* A new step of thread co: its budget starts afresh. */
static inline void scen_step_begin(struct run *r, lua_State *co)
{
	if (!r->hook_every)
		return;
	r->steps = 0;
	if (!r->runaway) /* resets co's own count to hook_every */
		lua_sethook(co, scen_watchdog, LUA_MASKCOUNT, r->hook_every);
}

/* ------------------------------------------------------------------ */
/* Storing a run (scen_mpi.c): into sc->db when open, else into sc->jn,
 * the journal a rank sends to rank 0. Same returns as ukf_db_*. */

/* A run's rows, serialised (scen_mpi.c); p is malloc'd, owned by it. */
struct scen_journal {
	char *p;
	size_t n, cap;
	int oom;
};

/* How a run ended: stored with it, and what its summary line says. */
struct scen_run_end {
	double wall, loop_wall;
	uint64_t events, spawn_errors;
	ukf_ns_t end;
	uint64_t rows_twice; /* rows of requests that ended twice, not stored */
	ukf_ns_t duration;   /* the run's, for rank 0's progress line (MPI) */
};

/* 1 if runs are stored (--db: the database here, or at rank 0). */
static inline int scen_storing(const struct scen *sc)
{
	return sc->o->db_path != NULL && (sc->db != NULL || sc->jn != NULL);
}
/* Begin a run; its id (> 0), or -1. With a journal (whose caller empties
 * it before each run) the instances and the end of every run are kept,
 * stored or not (rank 0's summary counts them), the rest only if
 * scen_storing(). */
int64_t scen_db_begin(struct scen *sc, const struct ukf_run_info *in);
/* An instance: into the journal if there is one, else into db when run
 * > 0 (else nowhere). */
int scen_db_instance(struct scen *sc, int64_t run,
		     const struct ukf_record *r);
int scen_db_sample(struct scen *sc, int64_t run,
		   const struct ukf_db_sample *s);
/* A node or link outage of the run (ukf_db_outage's row); like samples,
 * kept only if scen_storing(). */
struct scen_outage {
	ukf_ns_t t;
	ukf_node_id_t node;
	const char *kind, *reason;
};
int scen_db_outage(struct scen *sc, int64_t run, const struct scen_outage *o);
int scen_db_commit(struct scen *sc, int64_t run,
		   const struct scen_run_end *e);
void scen_db_abort(struct scen *sc, int64_t run);
/* The last failure's message (the database's, or "out of memory"). */
const char *scen_db_error(const struct scen *sc);
/* Rank 0: store one run's journal (p, n) into sc->db as the run that
 * made it would have, counting its requests into sum; e gets how the run
 * ended. Returns 0, -1 with a message in err (nothing stored), or the
 * code (> 0) of a run that failed at its rank (scen_journal_failed), its
 * message in err. */
int scen_replay(struct scen *sc, const char *p, size_t n,
		struct summary *sum, struct scen_run_end *e, char *err,
		size_t errlen);
/* Rank > 0: j becomes the message of a run that failed with code (a
 * UKF_RUN_* > 0) and msg, sent to rank 0 in the run's place: rank 0
 * stores every run before it in the grid, as a serial run would have,
 * then says so and stops every rank. */
void scen_journal_failed(struct scen_journal *j, int code, const char *msg);
/* Count one instance record into sum (requests only; NULL sum: none).
 * Returns 0, or -1 out of memory. Defined in scen_proc.c. */
int scen_summary_add(struct summary *sum, const struct ukf_record *rec);
/* An unanswered row kept for the run's end: the record, its app's name
 * copied (the world that named it is gone by then). */
struct held_row {
	struct ukf_record r;
	char *app_name;
};
void scen_s_flush_held(struct run *r);
void scen_s_free_held(struct run *r);

/* MPI_Init when a launcher (mpirun, srun) started the process and MPI
 * is built in; rank and size (0 and 1 otherwise). 0, or -1 with err. */
int scen_mpi_init(int *rank, int *size, char *err, size_t errlen);
/* Rank > 0: send rank 0 the journal j of one run (or of its failure:
 * scen_journal_failed). Blocks until rank 0 takes it. 0 or -1. */
int scen_mpi_send(const struct scen_journal *j);
/* Rank 0: the next run from rank `from` into j (reused buffer). 0, or -1
 * (err says why). */
int scen_mpi_recv(int from, struct scen_journal *j, char *err, size_t errlen);
/* Every rank gives its code (0: ok); returns the largest of all ranks'
 * (MPI_Allreduce), *r0 rank 0's. Without MPI or with one rank: code.
 * On an MPI failure, UKF_RUN_FAILED. */
int scen_mpi_agree(int code, int *r0);
/* Every rank waits here until all have come (MPI_Barrier; at once
 * without MPI or with one rank). 0 or -1. */
int scen_mpi_barrier(void);
/* A run failed after the ranks went their own ways: the other ranks
 * cannot finish, ukf_scenario_mpi_end() stops them all. */
void scen_mpi_failed(void);

#endif /* UKF_SCEN_INT_H */
