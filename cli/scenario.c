/* SPDX-License-Identifier: MIT */
/* scenario.c - `ukfork run`: one run, progress, labels, the sweep. */
#define _GNU_SOURCE
#include "scen_int.h"

#include <signal.h>

void scen_where_of(lua_State *L, int level, char *buf, size_t cap)
{
	lua_Debug ar;
	if (lua_getstack(L, level, &ar) && lua_getinfo(L, "Sl", &ar) &&
	    ar.currentline > 0)
		snprintf(buf, cap, "%s:%d", ar.short_src, ar.currentline);
	else
		snprintf(buf, cap, "?");
}

void scen_run_fail(struct run *r, int code, const char *fmt, ...)
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

int scen_find_app(struct run *r, const char *name)
{
	for (size_t i = 0; i < r->napps; i++)
		if (!strcmp(r->apps[i].app.name, name))
			return (int)i;
	return -1;
}

/*
 * A Lua error if args, an instance's synth parameters over its app's, do
 * not parse as the simulator's backend reads them (sim/backend.c,
 * set_params): the instance would only fail as it starts, "cold_boot
 * refused (-22)", naming nothing. An app with its own image takes that
 * guest's arguments: not checked.
 */
void scen_check_args(lua_State *L, struct run *r, uint32_t app,
		     const char *fn, const char *args)
{
	const struct ukf_app *a = &r->apps[app].app;
	char kv[2 * UKF_APP_ARGS_MAX + 2], err[160];
	struct ukf_app tmp;

	if (!args || !*args)
		return;
	/* an instance's argument string (an app's too) holds at most
	 * UKF_APP_ARGS_MAX - 1 bytes: the engine took longer ones, and the
	 * world then failed every instance ("cold_boot refused (-22)") */
	if (strlen(args) >= UKF_APP_ARGS_MAX) {
		snprintf(kv, sizeof(kv), "%.40s", args);
		luaL_error(L,
			   "%s: bad args '%s...' for app '%s': %I bytes, at "
			   "most %d",
			   fn, kv, a->name, (lua_Integer)strlen(args),
			   UKF_APP_ARGS_MAX - 1);
	}
	if (a->image[0] || !strcmp(args, a->args))
		return;
	snprintf(kv, sizeof(kv), "%s %s", a->args, args);
	if (ukf_app_parse(&tmp, a->name, kv, err, sizeof(err)) == 0 ||
	    ukf_app_parse(&tmp, a->name, args, err, sizeof(err)) == 0) {
		/* placement, admission and the samples count the app's
		 * memory and vCPUs: an instance may not run with others */
		const char *key = tmp.mem_bytes != a->mem_bytes ? "mem"
				  : tmp.vcpus != a->vcpus	  ? "vcpus"
							  : NULL;
		if (!key)
			return;
		snprintf(err, sizeof(err),
			 "%s differs from the app's (placement and admission "
			 "count the app's %s): declare another app()",
			 key, key);
	}
	snprintf(kv, sizeof(kv), "%.80s", args); /* lua_pushfstring: no %.80s */
	luaL_error(L, "%s: bad args '%s' for app '%s': %s", fn, kv, a->name,
		   err);
}

/*
 * The message of a scenario's error whose value is not text (error({}),
 * error(), error(nil)): Lua gives no message, and ukfork said "error" or
 * "error in a process", naming neither file nor line; a text naming no
 * place (error("x", 0), error(42)) gets the error's line in front. L is
 * the thread that raised it, its stack not unwound (a message handler's,
 * or a process's after its resume failed). Pushes the message (unless the
 * text is kept as it is), returns it.
 */
/* 1 if message m's first line names a place ("file:12:", "[string
 * \"...\"]:3:"): a colon, digits, a colon. */
static int has_where(const char *m)
{
	for (const char *p = m; *p && *p != '\n'; p++) {
		if (*p != ':' || p[1] < '0' || p[1] > '9')
			continue;
		const char *q = p + 1;
		while (*q >= '0' && *q <= '9')
			q++;
		if (*q == ':')
			return 1;
	}
	return 0;
}

const char *scen_error_value(lua_State *L, int idx)
{
	char where[WHERE_MAX];

	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER) {
		/* error("x", 0), error(42), error("x", 9): Lua adds no place;
		 * the innermost Lua line of the error is the scenario's */
		const char *m = lua_tostring(L, idx);
		if (has_where(m))
			return m;
		scen_co_where(L, where, sizeof(where));
		if (!strcmp(where, "?"))
			return m;
		return lua_pushfstring(L, "%s: %s", where, m);
	}
	scen_co_where(L, where, sizeof(where));
	return lua_pushfstring(L,
			       "%s: error() with a %s value, not a message "
			       "(give error() a string)",
			       where, luaL_typename(L, idx));
}

/* The top level's message handler: scen_error_value for a non-text one. */
static int error_value_msg(lua_State *L)
{
	scen_error_value(L, 1);
	return 1;
}

/* Check a table argument's keys against a list; error names the bad key. */
void scen_check_keys(lua_State *L, int idx, const char *fn,
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
 * how many, this run's label and rep (and the rank that made it, under
 * MPI, when not rank 0), world time, events (and per second of the event
 * loop, sim) and the ETA of the whole command: the rest of this run at
 * its pace so far, then the runs left at the mean wall time of those
 * finished, spread over the ranks. On a terminal the line is rewritten in
 * place ("\r", then "erase to the end of the line"); elsewhere
 * (--progress) each is a line of its own. `last`: the run's event loop
 * has ended. el: its event loop's wall time so far; rest: the wall time
 * it still needs (NAN: unknown).
 */
static void progress_print(struct scen *sc, const char *label, uint32_t rep,
			   int rank, ukf_ns_t now, ukf_ns_t duration,
			   uint64_t ev, double el, double rest, int last)
{
	double per = (sc->wall_done + el + rest) / (double)(sc->runs_done + 1);
	size_t total = sc->npoints * sc->reps;
	size_t after = total > sc->runs_done ? total - sc->runs_done - 1 : 0;
	char eta[32], rate[48] = "", by[32] = "";
	fmt_eta(rest + (double)after * per / (sc->size > 1 ? sc->size : 1),
		eta, sizeof(eta));
	if (sc->world->simulated) /* on kvm the loop mostly waits: no rate */
		snprintf(rate, sizeof(rate), ", %.2f M events/s",
			 el > 0 ? (double)ev / el / 1e6 : 0.0);
	if (rank > 0)
		snprintf(by, sizeof(by), " (rank %d)", rank);
	int tty = isatty(fileno(sc->msg));
	fprintf(sc->msg,
		"%spoint %zu/%zu, run %zu/%zu: %s rep %u%s: %.3f / %.3f s world "
		"time, %" PRIu64 " event%s%s, ETA %s%s",
		tty ? "\r" : "", sc->point_no + 1, sc->npoints,
		sc->runs_done + 1, total, label, rep, by, (double)now / 1e9,
		(double)duration / 1e9, ev, plural(ev), rate, eta,
		!tty   ? "\n"
		: last ? "\033[K\n"
		       : "\033[K");
	fflush(sc->msg);
}

/* The progress line of run r, running here (t_loop: its loop's start). */
static void progress_line(struct run *r, const char *label, double t_loop,
			  int last)
{
	double el = wall_now() - t_loop;
	ukf_ns_t now = r->world.ops->now(r->world.w);
	double rest = 0; /* of this run */
	if (!last)
		rest = now > 0 && now < r->duration
			   ? el * (double)(r->duration - now) / (double)now
			   : NAN;
	progress_print(r->sc, label, r->rep, 0, now, r->duration,
		       r->world.ops->events(r->world.w), el, rest, last);
}

/* 1 if runs show progress lines: --progress, or a terminal unless
 * --quiet; under MPI on rank 0 only. */
static int progress_on(const struct scen *sc)
{
	return sc->rank == 0 &&
	       (sc->o->progress || (!sc->o->quiet && isatty(fileno(sc->msg))));
}

/* The most memory a scenario's Lua state may hold by default: a runaway
 * table or string stops the run at its line instead of taking the
 * machine's memory (UKF_LUA_MEMORY=SIZE changes it, 0 removes it). */
#define LUA_MEM_DEFAULT (4ULL << 30)

/*
 * Lua's allocator, counting allocations (UKF_LUA_ALLOCS=1 prints them) and
 * the bytes held. While Lua code runs (in_lua) a growth past lua_max is
 * refused: Lua raises "not enough memory", which scen_lua_oom turns into
 * file:line and the limit. Outside, C pushing a value onto a thread has no
 * protected call to catch an error (Lua would abort): never refused there.
 */
static void *lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct run *r = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		r->lua_bytes -= old;
		return NULL;
	}
	if (nsize > old) {
		r->lua_allocs++;
		if (r->lua_max && r->in_lua &&
		    (r->lua_bytes >= r->lua_max ||
		     nsize - old > r->lua_max - r->lua_bytes)) {
			r->oom = 1;
			/* the main thread's line (the one state always valid
			 * here; getstack/getinfo "Sl" allocate nothing) */
			if (r->in_top)
				scen_co_where(r->L, r->oom_where,
					      sizeof(r->oom_where));
			return NULL;
		}
	}
	void *p = realloc(ptr, nsize);
	if (p)
		r->lua_bytes += nsize - old;
	return p;
}

/* Bytes as "4 GiB", "64 MiB" or "1000 bytes". */
static const char *bytes_str(uint64_t b, char *buf, size_t cap)
{
	if (b && !(b & ((1ULL << 30) - 1)))
		snprintf(buf, cap, "%" PRIu64 " GiB", b >> 30);
	else if (b && !(b & ((1ULL << 20) - 1)))
		snprintf(buf, cap, "%" PRIu64 " MiB", b >> 20);
	else
		snprintf(buf, cap, "%" PRIu64 " bytes", b);
	return buf;
}

int scen_lua_oom(struct run *r, lua_State *co, int st, const char *m)
{
	static const char nem[] = "not enough memory";
	size_t n = m ? strlen(m) : 0;
	if (!r->oom || (st != LUA_ERRMEM &&
			!(n >= sizeof(nem) - 1 &&
			  !strcmp(m + n - (sizeof(nem) - 1), nem))))
		return 0;
	char where[WHERE_MAX], lim[32];
	if (co)
		scen_co_where(co, where, sizeof(where));
	else
		snprintf(where, sizeof(where), "%s",
			 r->oom_where[0] ? r->oom_where : r->sc->o->script);
	scen_run_fail(r, UKF_RUN_BAD,
		      "%s: out of memory: the scenario's Lua values would take "
		      "more than %s (a runaway table or string?); "
		      "UKF_LUA_MEMORY=SIZE changes the limit, 0 removes it",
		      where, bytes_str(r->lua_max, lim, sizeof(lim)));
	return 1;
}

/* r->lua_max from UKF_LUA_MEMORY (a size; 0: no limit): 0, or -1 with
 * the run failed. */
static int lua_mem_limit(struct run *r)
{
	const char *v = getenv("UKF_LUA_MEMORY");
	uint64_t b = LUA_MEM_DEFAULT;
	if (v && (ukf_parse_size(v, &b) || b > SIZE_MAX)) {
		scen_run_fail(r, UKF_RUN_BAD,
			      "UKF_LUA_MEMORY: bad size '%.40s' (bytes, or "
			      "with K, M or G; 0: no limit)",
			      v);
		return -1;
	}
	r->lua_max = (size_t)b;
	return 0;
}

static int run_script(struct run *r)
{
	struct scen *sc = r->sc;
	if (lua_mem_limit(r))
		return -1;
	lua_State *L = lua_newstate(lua_alloc, r);
	if (!L) {
		scen_run_fail(r, UKF_RUN_FAILED, "out of memory");
		return -1;
	}
	r->L = L;
	r->main_ps.r = r;
	r->main_ps.co = L;
	r->main_ps.idx = NO_PROC;
	*(struct pslot **)lua_getextraspace(L) = &r->main_ps;
	scen_open_libs(L, sc->o->trusted);
	rng_seed(&r->main_ps.g, r->seed, r->rep, "script");
	for (const luaL_Reg *f = scen_api; f->name; f++) {
		lua_pushcfunction(L, f->func);
		lua_setglobal(L, f->name);
	}
	luaL_newmetatable(L, "ukf.stream");
	luaL_newlib(L, scen_stream_methods);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	/* The watchdog, inherited by every thread created from now on. */
	uint64_t max = sc->o->max_instructions ? sc->o->max_instructions
					       : UKF_RUN_MAX_INSTRUCTIONS;
	if (max != UINT64_MAX) {
		r->budget = max;
		r->hook_every = max < (1u << 20) ? (int)max : 1 << 20;
	}
	lua_pushcfunction(L, error_value_msg);
	int st = luaL_loadbufferx(L, sc->text, sc->textlen, sc->chunkname,
				  sc->o->trusted ? "bt" : "t");
	if (st == LUA_OK) {
		scen_step_begin(r, L);
		r->in_lua = r->in_top = 1;
		st = lua_pcall(L, 0, 0, -2);
		r->in_lua = r->in_top = 0;
	}
	if (st != LUA_OK) {
		const char *m = lua_tostring(L, -1);
		if (scen_lua_oom(r, NULL, st, m))
			return -1;
		scen_run_fail(r, UKF_RUN_BAD, "%s", m ? m : "error");
		return -1;
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
	scen_idset_free(&r->rows);
	scen_s_free_held(r);
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
	/* kvm: one node; --cluster: the file's */
	uint32_t nodes = r->sc->world->config_nodes(o, e);
	jadd(j, "backend", ukf_json_str(r->sc->world->backend), &bad);
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
	/* the files' contents, not only their names: a model or trace
	 * edited between two runs makes them other configurations (else
	 * `report` took the second for a duplicate of the first) */
	if (cf->model_digest[0])
		jadd(j, "model_digest", ukf_json_str(cf->model_digest), &bad);
	for (size_t i = 0, n = 0; i < r->narr; i++) {
		const struct arrival *a = &r->arr[i];
		char d[17];
		if (a->kind != A_TRACE)
			continue;
		if (!n++)
			jadd(j, "trace_digests", sub = json_object_new_array(),
			     &bad);
		snprintf(d, sizeof(d), "%016" PRIx64, a->digest);
		if (sub && ukf_json_append(sub, ukf_json_str(d)) < 0)
			bad = 1;
	}
	if (cf->faults)
		jadd(j, "faults", ukf_json_str(cf->faults), &bad);
	if (cf->cores)
		jadd(j, "cores", json_object_new_int64(cf->cores), &bad);
	struct scen_net net;
	if (scen_net_get(r, &net)) {
		/* network{} sets the simulated fabric: runs with other
		 * values are other configurations */
		jadd(j, "network", sub = json_object_new_object(), &bad);
		jadd(sub, "sharing",
		     ukf_json_str(net.fair ? "max-min" : "per-link"), &bad);
		jadd(sub, "racks", json_object_new_int64(net.racks), &bad);
		jadd(sub, "rack_uplink_Bps",
		     ukf_json_num(net.rack_uplink_bps, "%.0f"), &bad);
		jadd(sub, "core_Bps", ukf_json_num(net.core_bps, "%.0f"),
		     &bad);
	}
	struct scen_churn ch;
	if (scen_churn_get(r, &ch)) {
		/* churn{} fails nodes at random: another configuration */
		jadd(j, "churn", sub = json_object_new_object(), &bad);
		jadd(sub, "mtbf_ns", json_object_new_int64(ch.mtbf_ns), &bad);
		jadd(sub, "mttr_ns", json_object_new_int64(ch.mttr_ns), &bad);
		/* the detection in effect: without detect =, the imitated
		 * directory's (sim_create) */
		jadd(sub, "detect_ns",
		     json_object_new_int64(ch.detect_given ? ch.detect_ns
				     : cf->directory ? cf->dir_detect
						     : 0),
		     &bad);
	}
	const struct entry *adm = scen_entry_find(r->sc, "admission");
	if (adm && adm->nvals)
		jadd(j, "admission",
		     ukf_json_str(scen_entry_value(r, adm)->str), &bad);
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
		const struct val *v = scen_entry_value(r, en);
		int flag = v->is_num && (!strcmp(v->str, "true") ||
					 !strcmp(v->str, "false"));
		jadd(sub, en->name,
		     flag	 ? json_object_new_boolean(v->num != 0)
		     : v->is_num ? ukf_json_num(v->num, "%.17g")
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
	struct entry *e = scen_entry_find(sc, "seed");
	if (e && e->nvals) {
		struct conv c;
		const char *why;
		size_t i = e - sc->ents;
		if (!scen_val_convert(ST_INT, &e->vals[point ? point[i] : 0],
				      &c, &why))
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
	struct entry *e = scen_entry_find(sc, "seed");
	struct conv c;
	const char *why;
	if (e && e->nvals &&
	    !scen_val_convert(ST_INT, scen_entry_value(r, e), &c, &why))
		return c.u;
	return 1;
}

/* Where a suspended thread stands: its innermost Lua line. */
void scen_co_where(lua_State *co, char *buf, size_t cap)
{
	lua_Debug ar;
	/* Lua lines only, and not ukfork's own chunks ("=coroutine.wrap",
	 * scen_sandbox.c): the scenario's line that called them */
	for (int lv = 0; lua_getstack(co, lv, &ar); lv++)
		if (lua_getinfo(co, "Sl", &ar) && ar.currentline > 0 &&
		    ar.source[0] != '=') {
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
		scen_co_where(p->co, where, sizeof(where));
		snprintf(line, sizeof(line),
			 "warning: process %u still suspended in %s(%" PRIu64
			 ") at %s when the run ended",
			 p->idx, p->pend == P_WAIT ? "wait" : "ready",
			 r->slots[p->pend_slot].id, where);
		fprintf(r->sc->msg, "%s rep %u: %s\n", label, rep, line);
		scen_trace_line(r->sc, end, "run", line);
	}
	if (n > STUCK_NAMED) {
		char line[128];
		snprintf(line, sizeof(line),
			 "warning: %zu more process%s still suspended in "
			 "wait() or ready()",
			 n - STUCK_NAMED, n - STUCK_NAMED == 1 ? "" : "es");
		fprintf(r->sc->msg, "%s rep %u: %s\n", label, rep, line);
		scen_trace_line(r->sc, end, "run", line);
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
 * A run finished (here, or on another rank and stored by rank 0): count
 * it into the progress and the summary, and say so on the output (rank 0
 * only: the other ranks' output is not shown).
 */
static void run_done(struct scen *sc, struct summary *sum, const char *label,
		     uint32_t rep, const struct scen_run_end *e)
{
	sc->runs_done++;
	sc->wall_done += e->wall;
	sum->runs++;
	sum->events += e->events;
	sum->wall += e->wall;
	if (sc->o->quiet || sc->rank != 0)
		return;
	if (sc->world->simulated)
		fprintf(sc->out,
			"run %s rep %u: %" PRIu64 " event%s, "
			"%.3f s wall (event loop %.3f s: %.3f M "
			"events/s), %.3f s world time\n",
			label, rep, e->events, plural(e->events), e->wall,
			e->loop_wall,
			e->loop_wall > 0 ? e->events / e->loop_wall / 1e6
					 : 0.0,
			(double)e->end / 1e9);
	else
		/* Real time: the loop mostly waits for the VMs, so
		 * a rate of its events says nothing of its speed. */
		fprintf(sc->out,
			"run %s rep %u: %.3f s wall, %.3f s of it in "
			"the live event loop (%" PRIu64 " engine "
			"event%s: timers, messages, VM events)\n",
			label, rep, e->wall, e->loop_wall, e->events,
			plural(e->events));
	if (e->spawn_errors)
		fprintf(sc->out,
			"    (%" PRIu64 " arrival%s refused: no "
			"engine took them; stored as failed rows, ids "
			"-1, -2, ...)\n",
			e->spawn_errors, plural(e->spawn_errors));
	if (e->rows_twice)
		fprintf(sc->out,
			"    (%" PRIu64 " request%s ended twice after a "
			"notice lost with a failed node or a cut link: "
			"only the first row of each is stored; see the "
			"trace)\n",
			e->rows_twice, plural(e->rows_twice));
}

/*
 * Execute one (point, rep). SETUP: build and check only. RUN: the whole
 * run, written to the db. Returns a UKF_RUN_* code; message in r->err.
 */
/*
 * SIGINT or SIGTERM while the runs go on (one process, not under MPI):
 * the run going on stops at its world's next look at its stop flag, is
 * not stored (as any failed run), its world is closed as after every run
 * (a cluster's agents are told at once: killed outright, the client left
 * them holding the run and its VMs until peer_timeout), the database is
 * closed, and then the process dies of the signal as before (exit status
 * 130 or 143 to a shell). A second signal kills at once (SA_RESETHAND).
 */
static volatile sig_atomic_t g_sig;
static volatile int *volatile g_stop; /* the run going on's stop flag */

static void on_stop_signal(int sig)
{
	g_sig = sig;
	if (g_stop)
		*g_stop = 1;
}

static int run_one(struct scen *sc, const uint32_t *point, uint32_t rep,
		   enum mode mode, struct summary *sum, const char *label,
		   char *err, size_t errlen)
{
	struct scen_run_end e;
	memset(&e, 0, sizeof(e));
	if (sc->jn) { /* this run's journal (MPI rank > 0) */
		sc->jn->n = 0;
		sc->jn->oom = 0;
	}
	struct run r;
	run_init(&r, sc, point, rep, mode, sum, point_seed(sc, point));
	struct cfg cf;
	double t0 = wall_now();
	/* Progress lines: --progress, or a terminal unless --quiet; under
	 * MPI from rank 0 only. */
	int progress = mode == M_RUN && progress_on(sc);
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
			scen_run_fail(&r, UKF_RUN_BAD,
				 "%s: setting 'seed' changed when the "
				 "scenario ran with it (it must not depend "
				 "on random draws)",
				 scen_entry_find(sc, "seed")->where);
			goto out;
		}
	}
	/* --seed over a seed the scenario computes from a swept param():
	 * every point would run with --seed, as identical runs under
	 * labels that differ (the up-front check sees only lists). */
	struct entry *se = scen_entry_find(sc, "seed");
	struct conv sv;
	const char *why;
	if (mode == M_SETUP && sc->o->seed_set && se && se->nvals &&
	    !scen_val_convert(ST_INT, scen_entry_value(&r, se), &sv, &why)) {
		if (sc->seed_seen && sv.u != sc->seed) {
			scen_run_fail(&r, UKF_RUN_BAD,
				      "%s: setting 'seed' is %" PRIu64
				      " at sweep point %s but %" PRIu64
				      " at the first: --seed %" PRIu64
				      " would replace both (the same runs "
				      "under other labels); drop --seed, or "
				      "sweep the seed without it",
				      se->where, sv.u, label, sc->seed,
				      sc->o->seed);
			goto out;
		}
		sc->seed = sv.u;
		sc->seed_seen = 1;
	}
	if (scen_build_config(&r, &cf))
		goto out;
	if (mode == M_RUN && scen_storing(sc)) {
		char *js = settings_json(&r, &cf);
		if (!js) {
			scen_run_fail(&r, UKF_RUN_FAILED, "out of memory");
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
		    .backend = sc->world->backend,
		    .version = UKF_VERSION,
		    .started_unix_ns = (int64_t)time(NULL) * UKF_S,
		};
		struct timespec ts;
		if (!clock_gettime(CLOCK_REALTIME, &ts))
			info.started_unix_ns =
			    (int64_t)ts.tv_sec * UKF_S + ts.tv_nsec;
		/* a wait for another writer's lock (up to 10 minutes) is
		 * not this run's time: wall_s had it */
		double tb = wall_now();
		r.run_id = scen_db_begin(sc, &info);
		t0 += wall_now() - tb;
		free(js);
		if (r.run_id <= 0) {
			scen_run_fail(&r, UKF_RUN_FAILED, "database: %s",
				 scen_db_error(sc));
			goto out;
		}
	}
	if (scen_create_world(&r, &cf, mode == M_RUN && scen_storing(sc)))
		goto out;
	if (mode != M_RUN)
		goto out;
	/* before the start: prewarm's lines (template boots at time 0)
	 * are the run's, not the previous run's */
	if (sc->trace) {
		fprintf(sc->trace, "# run config=%s seed=%" PRIu64 " rep=%u\n",
			label, r.seed, rep);
		/* the top level's log() lines, at time 0 */
		int top = lua_gettop(r.L);
		if (lua_getfield(r.L, LUA_REGISTRYINDEX, SCEN_PRELOG) ==
		    LUA_TTABLE)
			for (lua_Integer i = 1;
			     lua_rawgeti(r.L, -1, i) == LUA_TSTRING; i++) {
				scen_trace_line(sc, 0, "lua",
						lua_tostring(r.L, -1));
				lua_pop(r.L, 1);
			}
		lua_settop(r.L, top);
	}
	if (r.world.ops->start(r.world.w)) {
		scen_run_fail(&r, UKF_RUN_FAILED, "engine start failed");
		goto out;
	}
	for (size_t i = 0; i < r.nprocs; i++)
		if (scen_proc_schedule(&r, (uint32_t)i, 0, 0)) {
			scen_run_fail(&r, UKF_RUN_FAILED, "cannot schedule");
			goto out;
		}
	for (size_t i = 0; i < r.narr; i++)
		if (scen_arrival_start(&r, i)) {
			scen_run_fail(&r, UKF_RUN_FAILED, "cannot schedule");
			goto out;
		}
	struct ticker tk;
	if (progress && ticker_start(&tk, &r.stop))
		progress = 0;
	uint64_t allocs0 = r.lua_allocs;
	t_loop = wall_now();
	g_stop = &r.stop;
	for (;;) {
		char werr[512] = "";
		if (g_sig)
			r.stop = 1;
		if (r.world.ops->run(r.world.w, r.duration, &r.stop, werr,
				     sizeof(werr))) {
			scen_run_fail(&r, UKF_RUN_FAILED, "world %s: %s",
				 r.world.ops->name, werr);
			break;
		}
		if (g_sig) {
			scen_run_fail(&r, UKF_RUN_FAILED,
				      "ukfork run: interrupted (%s) at %.3f s "
				      "of world time: this run is not stored",
				      g_sig == SIGINT ? "SIGINT" : "SIGTERM",
				      r.world.ops->now(r.world.w) / 1e9);
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
	g_stop = NULL;
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
	scen_s_flush_held(&r);
	/* The trace written so far must be on disk before the run is
	 * stored: a run whose log was lost is a failed run, not kept. */
	if (mode == M_RUN && sc->trace && !r.err_code &&
	    (fflush(sc->trace) || ferror(sc->trace)))
		scen_run_fail(&r, UKF_RUN_FAILED,
			      "ukfork run: writing the trace "
			      "'%s' failed: %s",
			      sc->o->trace_path, strerror(errno));
	e.wall = wall_now() - t0;
	e.loop_wall = loop_wall;
	e.duration = r.duration;
	e.events = events;
	e.end = end;
	e.spawn_errors = r.spawn_errors;
	e.rows_twice = r.rows_twice;
	if (mode == M_RUN && (r.run_id > 0 || sc->jn)) {
		if (r.err_code)
			scen_db_abort(sc, r.run_id);
		else if (scen_db_commit(sc, r.run_id, &e))
			scen_run_fail(&r, UKF_RUN_FAILED, "database: %s",
				 scen_db_error(sc));
	}
	if (mode == M_RUN && !r.err_code)
		run_done(sc, sum, label, rep, &e);
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
	fprintf(out, "\n%-*s %4s %10s %9s %9s %9s %9s %6s %7s %6s %7s\n",
		(int)w, "config", "runs", "requests", "mean_ms", "p50_ms",
		"p95_ms", "p99_ms", "cold", "failed", "ready", "tboots");
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
		char col[4][32], cold[32], ready[32];
		/* No latency (no request became ready): "-", not nan. */
		for (int k = 0; k < 4; k++)
			if (s->nlat && isfinite(v[k]))
				snprintf(col[k], sizeof(col[k]), "%.3f", v[k]);
			else
				snprintf(col[k], sizeof(col[k]), "-");
		if (s->n) {
			snprintf(cold, sizeof(cold), "%.3f",
				 (double)s->cold / s->n);
			snprintf(ready, sizeof(ready), "%.3f",
				 (double)s->nlat / s->n);
		} else {
			snprintf(cold, sizeof(cold), "-");
			snprintf(ready, sizeof(ready), "-");
		}
		fprintf(out,
			"%-*s %4zu %10" PRIu64 " %9s %9s %9s %9s %6s %7" PRIu64
			" %6s %7" PRIu64 "\n",
			(int)w, s->label, s->runs, s->n, col[0], col[1], col[2],
			col[3], cold, s->failed, ready, s->tboots);
	}
	/* What each column is over: the latencies exist only for the
	 * requests that became ready (the `ready` fraction of them). */
	fprintf(out, "(ms: request-to-ready over the requests that became "
		     "ready, all of a configuration's\n runs pooled, "
		     "nearest-rank quantiles; ready: their fraction of the "
		     "requests;\n failed: requests that failed, before or "
		     "after ready; tboots: the engine's own\n template boots, "
		     "not requests; `ukfork report` gives the mean of the "
		     "runs' figures\n with confidence intervals, and the "
		     "boots' time and vCPU-seconds)\n");
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	return (x->order > y->order) - (x->order < y->order);
}

/* The most sweep points of one `ukfork run`. */
#define SWEEP_MAX 100000

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
		 ukf_fnv1a(t, n, UKF_FNV_INIT));
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
	int more = 0; /* npoints only a lower bound (past SWEEP_MAX) */
	char err[ERR_MAX];
	FILE *null = NULL;	/* ranks > 0: where their output goes */
	/* ranks > 0: their messages until the runs (every rank checks the
	 * scenario alike: rank 0 says why, unless it alone found no fault) */
	char *mbuf = NULL;
	size_t mlen = 0;
	FILE *mstream = NULL;
	int agreed = 0, r0code = 0; /* the ranks told each other (MPI) */
	int diverged = 0;	/* ranks went their own ways (pass 3) */
	int told = 0;		/* rank 0 was sent this rank's failure */
	struct scen_journal jn; /* ranks > 0: a run; rank 0: one received */
	struct sigaction sa_int, sa_term; /* as they were before pass 3 */
	int sigs = 0; /* our SIGINT/SIGTERM handler is in place */
	memset(&jn, 0, sizeof(jn));
	sc.size = 1;
	if (o->mpi && scen_mpi_init(&sc.rank, &sc.size, err, sizeof(err))) {
		fprintf(msg, "ukfork run: %s\n", err);
		return UKF_RUN_FAILED;
	}
	if (sc.rank > 0) {
		/* Every rank checks the scenario alike; rank 0 says why. */
		null = fopen("/dev/null", "w");
		mstream = open_memstream(&mbuf, &mlen);
		if (!null || !mstream) {
			fprintf(msg, "ukfork run: rank %d: %s: %s\n", sc.rank,
				null ? "messages" : "/dev/null",
				strerror(errno));
			if (null)
				fclose(null);
			return UKF_RUN_FAILED;
		}
		sc.out = out = null;
		sc.msg = msg = mstream;
	}

	/* ukfork checked --backend (sim or kvm); a world not built in says
	 * so when the first run is set up (scen_create_world) */
	sc.world = scen_world_find(o);
	if (!sc.world) { /* a caller's mistake (contract: sim or kvm) */
		fprintf(msg, "ukfork run: unknown backend '%s'\n", o->backend);
		return UKF_RUN_BAD;
	}
	if (check_outputs(o, msg) || read_scenario(&sc, msg))
		goto done;
	if (sc.size > 1 && o->trace_path) {
		fprintf(msg, "ukfork run: --trace with %d MPI ranks: one "
			     "event log per process is not written (run "
			     "without mpirun for a trace)\n", sc.size);
		goto done;
	}
	for (size_t i = 0; i < o->nsets; i++)
		if (scen_parse_set(&sc, o->sets[i], msg))
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
				if (scen_check_policy(e->name, e->vals[k].str,
						      err, sizeof(err))) {
					fprintf(msg, "%s: setting '%s': %s\n",
						e->where, e->name, err);
					goto done;
				}
		/* past the limit, stop counting: a product of many long
		 * lists wrapped around (2^64 points made 0 runs, exit 0) */
		if (e->nvals > 1 && npoints <= SWEEP_MAX)
			npoints *= e->nvals;
		else if (e->nvals > 1)
			more = 1;
	}
	/* --seed replaces every run's seed: a seed swept by list or given
	 * by --set too would label identical runs as different seeds */
	struct entry *se = scen_entry_find(&sc, "seed");
	if (o->seed_set && se && (se->nvals > 1 || se->from_cli)) {
		fprintf(msg,
			"ukfork run: --seed %" PRIu64 " and setting 'seed' "
			"(%s%s) both give the seed: --seed would replace %s "
			"(the same runs under other labels); give one of "
			"them\n",
			o->seed, se->where,
			se->nvals > 1 ? ", a sweep" : "",
			se->nvals > 1 ? "every value of the sweep" : "its value");
		goto done;
	}
	if (npoints > SWEEP_MAX) {
		fprintf(msg, "ukfork run: %s%zu sweep points: too many (at "
			     "most %d)\n",
			more ? "more than " : "", npoints, SWEEP_MAX);
		goto done;
	}
	point = calloc(sc.nents ? sc.nents : 1, sizeof(*point));
	sums = calloc(npoints, sizeof(*sums));
	if (!point || !sums) {
		fprintf(msg, "ukfork run: out of memory for %zu sweep points\n",
			npoints);
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
	/* Under MPI every rank learns whether another failed its checks
	 * (a model file missing on its host; they end at done: below) */
	agreed = 1;
	if ((code = scen_mpi_agree(0, &r0code))) {
		fprintf(msg, "ukfork run: the scenario's checks failed on "
			     "another rank (which says why); nothing run\n");
		goto done;
	}
	code = UKF_RUN_FAILED;
	diverged = sc.size > 1;
	if (sc.rank > 0) {
		/* Runs' failures are said by the rank that has them. */
		sc.msg = msg = stderr;
		sc.jn = &jn;
	} else if (o->db_path) {
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
	/* Under MPI, the runs start once rank 0 has made its database: a
	 * rank whose first run failed at once stopped every rank
	 * (MPI_Abort) while SQLite was making the file, and left it empty
	 * (0 bytes), a file `ukfork report` refuses. */
	if (scen_mpi_barrier()) {
		fprintf(msg, "ukfork run: rank %d: MPI_Barrier failed\n",
			sc.rank);
		goto done;
	}
	/* Pass 3: the runs. */
	if (sc.size == 1) {
		struct sigaction sa;
		sigs = 1;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_stop_signal;
		sa.sa_flags = SA_RESETHAND;
		sigemptyset(&sa.sa_mask);
		g_sig = 0;
		/* a signal ignored (SIGINT of a background job) stays so */
		sigaction(SIGINT, NULL, &sa_int);
		sigaction(SIGTERM, NULL, &sa_term);
		if (sa_int.sa_handler != SIG_IGN)
			sigaction(SIGINT, &sa, NULL);
		if (sa_term.sa_handler != SIG_IGN)
			sigaction(SIGTERM, &sa, NULL);
	}
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
			/* Under MPI, run g of the grid is rank g mod size's;
			 * rank 0 stores them all, in this order. */
			size_t g = p * reps + rep;
			int owner = (int)(g % (size_t)sc.size), c = 0, rr;
			struct scen_run_end e;
			if (owner == sc.rank) {
				c = run_one(&sc, point, rep, M_RUN, &sums[p],
					    sums[p].label, err, sizeof(err));
				/* a failure goes to rank 0 in the run's
				 * place: the runs before it in the grid,
				 * made by other ranks, are stored first */
				if (c && sc.rank > 0)
					scen_journal_failed(&jn, c, err);
				if (sc.rank > 0 && scen_mpi_send(&jn)) {
					snprintf(err, sizeof(err),
						 "sending a run to rank 0 "
						 "failed");
					c = UKF_RUN_FAILED;
				} else if (c && sc.rank > 0) {
					told = 1; /* rank 0 says it */
					code = c;
					goto done;
				}
			} else if (sc.rank == 0) {
				if (scen_mpi_recv(owner, &jn, err, sizeof(err)))
					c = UKF_RUN_FAILED;
				else if ((rr = scen_replay(&sc, jn.p, jn.n,
							   &sums[p], &e, err,
							   sizeof(err))))
					c = rr < 0 ? UKF_RUN_FAILED : rr;
				else {
					/* its final state, as a run here
					 * ends with one (--progress: every
					 * run has a line) */
					if (progress_on(&sc))
						progress_print(
						    &sc, sums[p].label, rep,
						    owner, e.end, e.duration,
						    e.events, e.loop_wall, 0,
						    1);
					run_done(&sc, &sums[p], sums[p].label,
						 rep, &e);
				}
			}
			if (c) {
				if (sc.size > 1)
					fprintf(sc.msg, "ukfork run: rank %d: "
						"%s\n", owner, err);
				else
					fprintf(msg, "%s\n", err);
				code = c;
				goto done;
			}
		}
	}
	if (!o->quiet && sc.rank == 0) {
		print_summary(out, sums, npoints);
		if (o->db_path)
			fprintf(out,
				"%zu run%s stored in %s: `ukfork report %s` "
				"for the statistics\n",
				npoints * reps, plural(npoints * reps),
				o->db_path, o->db_path);
	}
	/* Without --db the summary is the only result: output that could
	 * not be written (a full disk, a closed stdout) is a failure. */
	if (sc.rank == 0) {
		int e = fflush(out) ? errno : ferror(out) ? EIO : 0;
		if (e) {
			fprintf(msg, "ukfork run: writing the output failed: "
				     "%s%s%s%s\n",
				strerror(e),
				o->db_path ? " (the runs are stored in " : "",
				o->db_path ? o->db_path : "",
				o->db_path ? ")" : "");
			goto done;
		}
	}
	code = UKF_RUN_OK;
done:
	/* A rank that stopped before the runs: the others learn it (they
	 * waited for it at the barrier before, for ever, when it alone had
	 * failed), and it says why unless rank 0 failed too (then rank 0
	 * said it, once) */
	if (!agreed && sc.size > 1) {
		scen_mpi_agree(code ? code : UKF_RUN_FAILED, &r0code);
		if (sc.rank > 0 && !r0code && mstream && !fflush(mstream) &&
		    mlen)
			fprintf(stderr, "ukfork run: rank %d: %.*s", sc.rank,
				(int)mlen, mbuf);
	}
	if (sc.trace && fclose(sc.trace) && code == UKF_RUN_OK) {
		fprintf(msg, "ukfork run: writing the trace failed\n");
		code = UKF_RUN_FAILED;
	}
	ukf_db_close(&sc.db);
	/* (a rank whose failure rank 0 was told of waits in MPI_Finalize
	 * for rank 0, which stores the runs before it and stops them all) */
	if (diverged && code != UKF_RUN_OK && !told)
		scen_mpi_failed();
	free(jn.p);
	if (null)
		fclose(null);
	if (mstream)
		fclose(mstream);
	free(mbuf);
	for (size_t i = 0; i < nsums; i++) {
		free(sums[i].label);
		free(sums[i].lat);
	}
	free(sums);
	free(point);
	for (size_t i = 0; i < sc.nents; i++) {
		scen_entry_free_vals(&sc.ents[i]);
		free(sc.ents[i].name);
	}
	free(sc.ents);
	free(sc.text);
	if (sigs) {
		sigaction(SIGINT, &sa_int, NULL);
		sigaction(SIGTERM, &sa_term, NULL);
		if (g_sig) {
			/* the lines of the runs done are not lost with the
			 * process (a pipe or file: buffered) */
			fflush(out);
			fflush(msg);
			raise(g_sig); /* as before: the signal's own end */
		}
	}
	return code;
}
