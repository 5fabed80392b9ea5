/* SPDX-License-Identifier: MIT */
/* scen_proc.c - Lua processes, watchdog, random streams, world sinks. */
#define _GNU_SOURCE
#include "scen_int.h"

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
void scen_watchdog(lua_State *L, lua_Debug *ar)
{
	struct run *r = run_of(L);
	if (!r->runaway) {
		r->steps += (uint64_t)r->hook_every;
		if (r->steps < r->budget)
			return;
		r->runaway = 1;
		char where[WHERE_MAX] = "?";
		if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0 &&
		    ar->source[0] != '=')
			snprintf(where, sizeof(where), "%s:%d", ar->short_src,
				 ar->currentline);
		else /* in C, or in ukfork's own coroutine.wrap */
			scen_co_where(L, where, sizeof(where));
		scen_run_fail(r, UKF_RUN_BAD,
			 "%s: more than %" PRIu64 " Lua instructions without "
			 "a sleep, wait or ready (a runaway loop?): the limit "
			 "of one top-level execution or one process step is "
			 "`ukfork run --max-instructions N`",
			 where, r->budget);
		lua_sethook(L, scen_watchdog, LUA_MASKCOUNT, 1);
	}
	luaL_error(L, "%s", r->err);
}


/* ------------------------------------------------------------------ */
/* Lua processes: coroutines driven by the world's event loop.          */

static void proc_wake(void *arg, uint64_t x);
static int proc_resume(struct run *r, struct proc *p, int *nres);

static uint32_t cur_proc(lua_State *L, const char *fn)
{
	uint32_t i = pidx_of(L);
	if (i == NO_PROC && L != run_of(L)->L) { /* not the main chunk */
		/* the run's error too: coroutine.resume returns a Lua
		 * error to its caller, which went on as if nothing was
		 * wrong (the call was not made) */
		char msg[256];
		snprintf(msg, sizeof(msg),
			 "%s() was called from a coroutine: only a process's "
			 "own function (process(function() ... end)) may call "
			 "it, not a coroutine it or the top level created",
			 fn);
		luaL_where(L, 1);
		scen_run_fail(run_of(L), UKF_RUN_BAD, "%s%s",
			      lua_tostring(L, -1), msg);
		lua_pop(L, 1);
		luaL_error(L, "%s", msg);
	}
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

int scen_proc_schedule(struct run *r, uint32_t idx, ukf_ns_t t, int plain)
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
	if (r->running &&
	    scen_proc_schedule(r, p->idx, r->world.ops->now(r->world.w), 0))
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
			scen_run_fail(r, UKF_RUN_BAD,
				 "%s:%d: coroutine.yield is reserved: a "
				 "process suspends itself only through sleep, "
				 "wait or ready",
				 ar.short_src, ar.currentline);
			return;
		}
	}
	scen_run_fail(r, UKF_RUN_BAD,
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
		scen_step_begin(r, co);
		r->in_lua = 1;
		st = lua_resume(co, NULL, 0, &nres);
		r->in_lua = 0;
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
		if (scen_lua_oom(r, co, st, lua_tostring(co, -1)))
			return;
		const char *m = scen_error_value(co, -1);
		scen_run_fail(r, UKF_RUN_BAD, "%s",
			      m ? m : "error in a process");
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
	scen_step_begin(r, co);
	r->in_lua = 1;
	int st = lua_resume(co, NULL, nargs, nres);
	r->in_lua = 0;
	if (st == LUA_YIELD && *nres)
		lua_pop(co, *nres);
	return st;
}

/* sleep(0) calls in a row, at one instant of world time, after which a
 * process is taken for a busy loop (~1 s of them). */
#define SLEEP0_MAX 1000000

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
	scen_co_where(L, where, sizeof(where)); /* its line, even under pcall */
	scen_run_fail(r, UKF_RUN_BAD,
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
		d = scen_arg_time(L, 1, "sleep");
	}
	ukf_ns_t now = r->world.ops->now(r->world.w);
	if (d == 0 && zero_sleep(L, r, r->procs[p], now)) {
		ps->ours = 1;
		return lua_yield(L, 0); /* never woken: the run stops */
	}
	/* past the clock's end (a run of 9.2e9 s): never, not a wrapped
	 * time in the past */
	ukf_ns_t at = d > UKF_NS_NEVER - now ? UKF_NS_NEVER : now + d;
	if (scen_proc_schedule(r, p, at, 1))
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
	 * inside it (scen_h_fail with this slot's tag) must find the slot. */
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
		scen_check_args(L, r, (uint32_t)app, "spawn", args);
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
		/* a failed node takes no requests: the next one up does */
		for (uint32_t k = 0; k < r->nodes &&
				     scen_node_state(r, node) == 1;
		     k++)
			node = (node + 1) % (ukf_node_id_t)r->nodes;
	} else {
		lua_Integer v;
		if (!scen_integral(L, ni, &v) || v < 0 || v >= r->nodes)
			luaL_error(L, "spawn: bad node %s (expected 0..%d)",
				   luaL_tolstring(L, ni, NULL),
				   (int)r->nodes - 1);
		node = (ukf_node_id_t)v;
	}
	uint32_t slot = slot_new(L, r);
	ukf_id_t id;
	int rc = r->world.ops->spawn(r->world.w, node, (uint32_t)app,
				  args ? args : r->apps[app].app.args,
				  (uint64_t)slot + 1, &id);
	if (rc) {
		slot_drop(r, slot);
		if (rc == -ENOMEM) /* the world failed, not the scenario */
			scen_run_fail(r, UKF_RUN_FAILED,
				 "spawn '%s': the engine ran out of memory",
				 name);
		if (rc == -EHOSTDOWN)
			luaL_error(L, "spawn '%s': node %d has failed "
				   "(fail_node): it takes no requests until "
				   "recover_node", name, (int)node);
		luaL_error(L, "spawn '%s': %s", name, strerror(-rc));
	}
	slot_commit(L, r, slot, id);
	lua_pushinteger(L, (lua_Integer)id);
	return 1;
}

static ukf_id_t arg_id(lua_State *L, int idx, const char *fn)
{
	lua_Integer v;
	if (!scen_integral(L, idx, &v) || v <= 0)
		luaL_error(L, "%s: expected an instance id, got %s", fn,
			   luaL_tolstring(L, idx, NULL));
	return (ukf_id_t)v;
}

/* fork(id) -> child id, or nil and why if id is not running */
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
		scen_run_fail(r, UKF_RUN_FAILED,
			 "fork %d: the engine ran out of memory", (int)parent);
	if (rc == -ESRCH || rc == -EINVAL) {
		/* one of this scenario's not running: a race a scenario
		 * cannot rule out (ready() is true of one that has exited
		 * since), answered as wait() answers a failure; it stopped
		 * the whole sweep */
		uint32_t s = slot_lookup(r, parent);
		if (s == UINT32_MAX)
			luaL_error(L,
				   "fork: unknown instance %d (not spawned or "
				   "forked by this scenario)",
				   (int)parent);
		const struct slot *sl = &r->slots[s];
		lua_pushnil(L);
		lua_pushfstring(L, "instance %d is not running (%s)",
				(int)parent,
				sl->st == I_PENDING   ? "not ready yet"
				: sl->st == I_READY ? "it is ending"
						    : "it has ended");
		return 2;
	}
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

/* ---- outages (the simulated world only, sim/README.md) ---- */

/* The node argument of an outage call: a node of the cluster. */
static ukf_node_id_t arg_node(lua_State *L, struct run *r, const char *fn)
{
	lua_Integer v;
	if (!scen_integral(L, 1, &v) || v < 0 || v >= r->nodes)
		luaL_error(L, "%s: bad node %s (expected 0..%d)", fn,
			   luaL_tolstring(L, 1, NULL), (int)r->nodes - 1);
	return (ukf_node_id_t)v;
}

/* fail_node(n [, why]), fail_link(n [, why]), recover_node(n),
 * recover_link(n): at the process's now; Lua errors name what was wrong. */
static int outage(lua_State *L, const char *fn, int kind)
{
	struct run *r = running(L, fn);
	cur_proc(L, fn);
	if (!ukf_sim_is(&r->world))
		luaL_error(L, "%s: only the simulated world has outages", fn);
	ukf_node_id_t n = arg_node(L, r, fn);
	const char *why = luaL_optstring(L, 2, NULL);
	char err[200] = "";
	int rc;
	switch (kind) {
	case 0:
		rc = ukf_sim_fail_node(&r->world, n, why, err, sizeof(err));
		break;
	case 1:
		rc = ukf_sim_recover_node(&r->world, n, err, sizeof(err));
		break;
	case 2:
		rc = ukf_sim_fail_link(&r->world, n, why, err, sizeof(err));
		break;
	default:
		rc = ukf_sim_recover_link(&r->world, n, err, sizeof(err));
		break;
	}
	if (rc)
		luaL_error(L, "%s(%d): %s", fn, (int)n, err);
	return 0;
}

static int l_fail_node(lua_State *L)
{
	return outage(L, "fail_node", 0);
}
static int l_recover_node(lua_State *L)
{
	return outage(L, "recover_node", 1);
}
static int l_fail_link(lua_State *L)
{
	return outage(L, "fail_link", 2);
}
static int l_recover_link(lua_State *L)
{
	return outage(L, "recover_link", 3);
}

/* node_state(n) -> "up", "failed" (node) or "cut" (link). */
static int l_node_state(lua_State *L)
{
	struct run *r = running(L, "node_state");
	ukf_node_id_t n = arg_node(L, r, "node_state");
	int st = scen_node_state(r, n);
	lua_pushstring(L, st == 1 ? "failed" : st == 2 ? "cut" : "up");
	return 1;
}

static int l_kill(lua_State *L)
{
	struct run *r = running(L, "kill");
	ukf_id_t id = arg_id(L, 1, "kill");
	lua_pushboolean(L, r->world.ops->kill(r->world.w, id) == 0);
	return 1;
}

void scen_trace_line(struct scen *sc, ukf_ns_t t, const char *node,
		       const char *line)
{
	if (!sc->trace)
		return;
	if (t < 0)
		t = 0;
	const unsigned char *c = (const unsigned char *)line;
	while (*c >= 0x20 && *c != 0x7f)
		c++;
	if (!*c) { /* the usual line: nothing to escape */
		fprintf(sc->trace, "%" PRId64 ".%09" PRId64 " %s %s\n",
			(int64_t)(t / UKF_S), (int64_t)(t % UKF_S), node, line);
		return;
	}
	/* A control character (a log() text, an app's name, a guest's
	 * console): one event is one line, so a newline in it would write
	 * a line that reads as another event; escaped as \n, \r, \t, \xHH
	 * (ukf_esc_char byte by byte: other bytes go as they are). */
	fprintf(sc->trace, "%" PRId64 ".%09" PRId64 " %s ",
		(int64_t)(t / UKF_S), (int64_t)(t % UKF_S), node);
	char e[8];
	size_t k, n;
	for (const char *p = line; *p; p += k) {
		const char *out = ukf_esc_char(p, 0, e, &k, &n);
		fwrite(out, 1, n, sc->trace);
	}
	putc('\n', sc->trace);
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
	if (!r->running) {
		/* the top level: its lines follow the run's "# run" line,
		 * written once the settings (the label) are known */
		if (lua_getfield(L, LUA_REGISTRYINDEX, SCEN_PRELOG) !=
		    LUA_TTABLE) {
			lua_pop(L, 1);
			lua_newtable(L);
			lua_pushvalue(L, -1);
			lua_setfield(L, LUA_REGISTRYINDEX, SCEN_PRELOG);
		}
		lua_insert(L, -2);
		lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
		return 0;
	}
	scen_trace_line(r->sc, r->world.ops->now(r->world.w), "lua",
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
	size_t n;
	const char *name = luaL_checklstring(L, 1, &n);
	struct rng *g = lua_newuserdatauv(L, sizeof(*g), 0);
	/* the whole name: cut to a fixed key, two long names that differ
	 * only past the cut (or after a NUL) shared one stream */
	rng_seed2(g, r->seed, r->rep, "user:", name, n);
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

const luaL_Reg scen_api[] = {{"cluster", scen_l_cluster},
			       {"policy", scen_l_policy},
			       {"hosts", scen_l_hosts},
			       {"run", scen_l_runcfg},
			       {"param", scen_l_param},
			       {"setting", scen_l_setting},
			       {"backend", scen_l_backend},
			       {"app", scen_l_app},
			       {"poisson", scen_l_poisson},
			       {"constant", scen_l_constant},
			       {"bursts", scen_l_bursts},
			       {"trace", scen_l_trace},
			       {"process", l_process},
			       {"sleep", l_sleep},
			       {"now", l_now},
			       {"spawn", l_spawn},
			       {"fork", l_fork},
			       {"wait", l_wait},
			       {"ready", l_ready},
			       {"kill", l_kill},
			       {"fail_node", l_fail_node},
			       {"recover_node", l_recover_node},
			       {"fail_link", l_fail_link},
			       {"recover_link", l_recover_link},
			       {"node_state", l_node_state},
			       {"network", scen_l_network},
			       {"churn", scen_l_churn},
			       {"log", l_log},
			       {"random", l_random},
			       {"uniform", l_uniform},
			       {"exponential", l_exponential},
			       {"stream", l_stream},
			       {NULL, NULL}};

const luaL_Reg scen_stream_methods[4] = {{"random", m_random},
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

void scen_wake(struct run *r, int32_t who)
{
	if (who < 0 || r->closing)
		return;
	if (r->world.ops->at(r->world.w, r->world.ops->now(r->world.w),
			     proc_wake, r, (uint64_t)who))
		scen_run_fail(r, UKF_RUN_FAILED,
			 "cannot schedule a process wake-up");
}

void scen_h_ready(void *u, ukf_id_t id, uint64_t tag)
{
	struct run *r = u;
	struct slot *s = tag_slot(r, tag);
	if (!s || s->st != I_PENDING)
		return;
	s->st = I_READY;
	s->was_ready = 1;
	scen_wake(r, s->ready_waiter);
	s->ready_waiter = -1;
}

void scen_h_exit(void *u, ukf_id_t id, uint64_t tag, int64_t status)
{
	struct run *r = u;
	struct slot *s = tag_slot(r, tag);
	if (!s || s->st == I_EXITED || s->st == I_FAILED)
		return;
	s->st = I_EXITED;
	s->status = status;
	scen_wake(r, s->ready_waiter);
	scen_wake(r, s->waiter);
	s->ready_waiter = s->waiter = -1;
}

void scen_h_fail(void *u, ukf_id_t id, uint64_t tag, const char *why)
{
	struct run *r = u;
	struct slot *s = tag_slot(r, tag);
	if (!tag) { /* a failed node's own request: known by its id */
		uint32_t k = slot_lookup(r, id);
		s = k == UINT32_MAX ? NULL : &r->slots[k];
	}
	if (!s || s->st == I_EXITED || s->st == I_FAILED)
		return;
	s->st = I_FAILED;
	snprintf(s->why, sizeof(s->why), "%s", why ? why : "failed");
	scen_wake(r, s->ready_waiter);
	scen_wake(r, s->waiter);
	s->ready_waiter = s->waiter = -1;
}

void scen_h_console(void *u, ukf_id_t id, const char *line, size_t len)
{
	struct run *r = u;
	if (!r->sc->trace)
		return;
	char buf[600];
	snprintf(buf, sizeof(buf), "console %" PRIu64 " %.*s", id,
		 (int)(len > 500 ? 500 : len), line);
	scen_trace_line(r->sc, r->world.ops->now(r->world.w), "-", buf);
}

int scen_summary_add(struct summary *sm, const struct ukf_record *rec)
{
	/* the engine's own template boots are no requests: their rows go to
	 * template_boots, and the summary counts them apart from requests */
	if (!sm)
		return 0;
	if (rec->template_boot) {
		sm->tboots++;
		return 0;
	}
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
			if (!n)
				return -1;
			sm->lat = n;
			sm->cap = cap;
		}
		sm->lat[sm->nlat++] =
		    (double)(rec->t_ready - rec->t_request) / 1e6;
	}
	return 0;
}

/*
 * The ids of requests whose row was written: a bitmap in 4 KiB chunks of
 * 32,768 ids, found by the id's high bits in a small open-addressing
 * table (simulated ids are dense from 1; a cluster's are a node's number
 * above a count, dense per node). Rows come roughly in id order, so the
 * last chunk used answers most lookups.
 */
#define IDSET_SHIFT 15
#define IDSET_WORDS ((1u << IDSET_SHIFT) / 64)

static uint64_t *idset_chunk(struct scen_idset *s, uint64_t key)
{
	size_t i, mask;

	if (s->last && s->last_key == key)
		return s->last;
	if (2 * (s->n + 1) > s->cap) {
		size_t ncap = s->cap ? 2 * s->cap : 64;
		struct scen_idchunk *nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			return NULL;
		for (size_t k = 0; k < s->cap; k++) {
			if (!s->t[k].bits)
				continue;
			i = (size_t)(s->t[k].key * 0x9e3779b97f4a7c15ULL >> 20) &
			    (ncap - 1);
			while (nt[i].bits)
				i = (i + 1) & (ncap - 1);
			nt[i] = s->t[k];
		}
		free(s->t);
		s->t = nt;
		s->cap = ncap;
	}
	mask = s->cap - 1;
	i = (size_t)(key * 0x9e3779b97f4a7c15ULL >> 20) & mask;
	while (s->t[i].bits && s->t[i].key != key)
		i = (i + 1) & mask;
	if (!s->t[i].bits) {
		uint64_t *b = calloc(IDSET_WORDS, sizeof(*b));
		if (!b)
			return NULL;
		s->t[i].key = key;
		s->t[i].bits = b;
		s->n++;
	}
	s->last_key = key;
	return s->last = s->t[i].bits;
}

/* Put id in the set: 0 if it was not there, 1 if it was, -1 ENOMEM. */
static int idset_add(struct scen_idset *s, uint64_t id)
{
	uint64_t *b = idset_chunk(s, id >> IDSET_SHIFT);
	uint32_t low = (uint32_t)(id & ((1u << IDSET_SHIFT) - 1));
	uint64_t bit = 1ULL << (low & 63);

	if (!b)
		return -1;
	if (b[low >> 6] & bit)
		return 1;
	b[low >> 6] |= bit;
	return 0;
}

/* 1 if id is in the set (0 also when out of memory). */
static int idset_has(struct scen_idset *s, uint64_t id)
{
	uint64_t *b = idset_chunk(s, id >> IDSET_SHIFT);
	uint32_t low = (uint32_t)(id & ((1u << IDSET_SHIFT) - 1));

	return b && (b[low >> 6] >> (low & 63) & 1);
}

void scen_idset_free(struct scen_idset *s)
{
	for (size_t k = 0; k < s->cap; k++)
		free(s->t[k].bits);
	free(s->t);
	memset(s, 0, sizeof(*s));
}

/*
 * One row per request. Under node failures a request can end twice: its
 * host wrote its row, the notice to its origin was lost with a failed
 * node, and the origin placed it again (at least once, as a live agent
 * does) or, failing itself, ended it as lost. Under a link cut the copy
 * behind the cut runs on while its origin places the request again.
 * Only the first row is stored; the later ones are counted (the run's
 * summary line says how many) and named in the trace.
 */
/*
 * The origin's row of a request it heard nothing back of at the end
 * (ukf_record.unanswered): kept until the run's end, when it is stored
 * unless its host wrote a row (the EXIT was still on its way, or, on a
 * live cluster whose agents end apart, the host's row came after it).
 */
static void hold_row(struct run *r, const struct ukf_record *rec)
{
	if (idset_has(&r->rows, rec->id))
		return;
	if (r->nheld == r->capheld) {
		size_t c = r->capheld ? 2 * r->capheld : 16;
		struct held_row *h = realloc(r->held, c * sizeof(*h));
		if (!h) {
			scen_run_fail(r, UKF_RUN_FAILED, "out of memory");
			return;
		}
		r->held = h;
		r->capheld = c;
	}
	struct held_row *h = &r->held[r->nheld];
	h->r = *rec;
	h->r.fail_reason = NULL;
	h->app_name = strdup(rec->app_name ? rec->app_name : "?");
	if (!h->app_name) {
		scen_run_fail(r, UKF_RUN_FAILED, "out of memory");
		return;
	}
	h->r.app_name = h->app_name;
	r->nheld++;
}

void scen_s_free_held(struct run *r)
{
	for (size_t k = 0; k < r->nheld; k++)
		free(r->held[k].app_name);
	free(r->held);
	r->held = NULL;
	r->nheld = r->capheld = 0;
}

void scen_s_flush_held(struct run *r)
{
	for (size_t k = 0; k < r->nheld; k++) {
		r->held[k].r.unanswered = 0;
		if (!idset_has(&r->rows, r->held[k].r.id))
			scen_s_record(r, &r->held[k].r);
	}
	scen_s_free_held(r);
}

void scen_s_record(void *u, const struct ukf_record *rec)
{
	struct run *r = u;
	if (rec->unanswered && !rec->template_boot) {
		hold_row(r, rec);
		return;
	}
	if (!rec->template_boot) {
		int seen = idset_add(&r->rows, rec->id);
		if (seen < 0) {
			scen_run_fail(r, UKF_RUN_FAILED, "out of memory");
			return;
		}
		if (seen) {
			char line[300];
			r->rows_twice++;
			if (rec->status == UKF_STATUS_FAILED)
				snprintf(line, sizeof(line),
					 "request %" PRIu64 " ended again "
					 "(failed: %.200s): its first row is "
					 "kept, this one is not stored",
					 (uint64_t)rec->id,
					 rec->fail_reason ? rec->fail_reason
							  : "?");
			else if (rec->t_exit == UKF_NS_NEVER)
				snprintf(line, sizeof(line),
					 "request %" PRIu64 " ended again "
					 "(still running on node %u at the "
					 "end): its first row is kept, this "
					 "one is not stored",
					 (uint64_t)rec->id, (unsigned)rec->node);
			else
				snprintf(line, sizeof(line),
					 "request %" PRIu64 " ended again "
					 "(exited on node %u): its first row "
					 "is kept, this one is not stored",
					 (uint64_t)rec->id, (unsigned)rec->node);
			/* a row of the living is written at the end: its
			 * t_exit is NEVER, the line's time the world's */
			scen_trace_line(r->sc,
					rec->t_exit == UKF_NS_NEVER
						? r->world.ops->now(r->world.w)
						: rec->t_exit,
					"run", line);
			return;
		}
	}
	if (scen_db_instance(r->sc, r->run_id, rec))
		scen_run_fail(r, UKF_RUN_FAILED, "database: %s",
			 scen_db_error(r->sc));
	if (scen_summary_add(r->sum, rec))
		scen_run_fail(r, UKF_RUN_FAILED, "out of memory");
}

void scen_s_log(void *u, ukf_ns_t t, ukf_node_id_t node, const char *line)
{
	struct run *r = u;
	char n[16];
	snprintf(n, sizeof(n), "%u", node);
	scen_trace_line(r->sc, t, node == UKF_NODE_NONE ? "-" : n, line);
}

void scen_s_outage(void *u, ukf_ns_t t, ukf_node_id_t node, const char *kind,
		   const char *reason)
{
	struct run *r = u;
	if (!scen_storing(r->sc) || r->run_id <= 0)
		return;
	struct scen_outage o = {
	    .t = t, .node = node, .kind = kind, .reason = reason,
	};
	if (scen_db_outage(r->sc, r->run_id, &o))
		scen_run_fail(r, UKF_RUN_FAILED, "database: %s",
			 scen_db_error(r->sc));
}

void scen_s_sample(void *u, const struct ukf_world_sample *s)
{
	struct run *r = u;
	if (!scen_storing(r->sc) || r->run_id <= 0)
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
	if (scen_db_sample(r->sc, r->run_id, &d))
		scen_run_fail(r, UKF_RUN_FAILED, "database: %s",
			 scen_db_error(r->sc));
}
