/* SPDX-License-Identifier: MIT */
/* scen_sandbox.c - what a scenario may do: sandbox or --trusted Lua. */
#define _GNU_SOURCE
#include "scen_int.h"

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
 * setmetatable(t, mt) without a __gc field in mt (upvalue 1: the real
 * one). Lua runs finalizers with debug hooks off, so the watchdog never
 * sees one: a __gc that loops hung ukfork (at a collection, or when the
 * state is closed). Lua marks an object for finalization only if its
 * metatable holds __gc when set (a raw field): this test is the same.
 */
static int l_setmetatable_nogc(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(
			    L, "setmetatable: a __gc metamethod is not "
			       "available to a scenario in the sandbox (a "
			       "finalizer runs where the watchdog cannot stop "
			       "it): `ukfork run --trusted` gives the scenario "
			       "full Lua");
		lua_pop(L, 1);
	}
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
	/* after the watchdog's error, a thread it stopped is not closed:
	 * its __close handlers would run with Lua's hooks still off (as a
	 * hook that raised left them), where a loop is never stopped */
	if (co && run_of(L)->runaway &&
	    !strcmp(lua_tostring(L, lua_upvalueindex(2)), "close")) {
		lua_pushboolean(L, 0);
		lua_pushstring(L, run_of(L)->err);
		return 2;
	}
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

/*
 * xpcall's message handler runs before the error unwinds, and when the
 * error came from the watchdog's hook Lua still has its hooks off there
 * (a hook that raises does not turn them back on until a pcall catches
 * the error): a handler that loops was never stopped, and hung ukfork.
 * A scenario's handler therefore runs through this one (upvalue 1: the
 * scenario's), which hands on the watchdog's error untouched.
 */
static int l_xpcall_handler(lua_State *L)
{
	if (run_of(L)->runaway)
		return 1; /* the watchdog's error, as it is */
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

/* What xpcall returned, after a yield inside it too (a process that
 * sleeps inside an xpcall). */
static int xpcall_done(lua_State *L, int status, lua_KContext ctx)
{
	(void)status;
	(void)ctx;
	return lua_gettop(L);
}

/* xpcall(f, msgh, ...) with msgh wrapped (upvalue 1: the real xpcall). */
static int l_xpcall_guard(lua_State *L)
{
	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushvalue(L, 2);
	lua_pushcclosure(L, l_xpcall_handler, 1);
	lua_replace(L, 2);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_callk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, xpcall_done);
	return xpcall_done(L, LUA_OK, 0);
}

/*
 * coroutine.wrap in Lua over the guarded resume and close (Lua's own, in
 * C, closes a failed coroutine itself, and after the watchdog's error
 * that ran its __close handlers with hooks off: a loop there hung
 * ukfork). The same results and messages as Lua's: a text error gets the
 * caller's place in front, the coroutine is closed.
 */
static const char wrap_lua[] =
    "local create, resume, close = coroutine.create, coroutine.resume, "
    "coroutine.close\n"
    "local function done(co, ok, ...)\n"
    "  if ok then return ... end\n"
    "  local e = ...\n"
    "  close(co)\n"
    "  error(e, 2)\n" /* done is a tail call: level 2 is the caller */
    "end\n"
    "return function(f)\n"
    "  if type(f) ~= 'function' then\n"
    "    error(\"bad argument #1 to 'wrap' (function expected, got \" ..\n"
    "          (f == nil and 'no value' or type(f)) .. ')', 2)\n"
    "  end\n"
    "  local co = create(f)\n"
    "  return function(...) return done(co, resume(co, ...)) end\n"
    "end\n";

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
 * debug, dofile and loadfile raise SANDBOX_WHY, load takes text only,
 * setmetatable refuses a __gc metamethod.
 * In both, coroutine.resume/close refuse the threads of processes and
 * xpcall's handler does not run on the watchdog's error.
 */
void scen_open_libs(lua_State *L, int trusted)
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
		lua_getglobal(L, "setmetatable");
		lua_pushcclosure(L, l_setmetatable_nogc, 1);
		lua_setglobal(L, "setmetatable");
		withhold_lib(L, "io", NULL);
		withhold_lib(L, "debug", NULL);
		withhold_lib(L, "package", NULL);
		withhold_lib(L, "os", os_keep);
	}
	lua_getglobal(L, "os");
	lua_pushcfunction(L, l_os_exit);
	lua_setfield(L, -2, "exit");
	lua_getglobal(L, "xpcall");
	lua_pushcclosure(L, l_xpcall_guard, 1);
	lua_setglobal(L, "xpcall");
	lua_getglobal(L, "coroutine");
	wrap_field(L, -1, "resume", l_co_guard);
	wrap_field(L, -1, "close", l_co_guard);
	if (luaL_loadbufferx(L, wrap_lua, sizeof(wrap_lua) - 1,
			     "=coroutine.wrap", "t") == LUA_OK &&
	    lua_pcall(L, 0, 1, 0) == LUA_OK)
		lua_setfield(L, -2, "wrap");
	else
		lua_pop(L, 1); /* out of memory: Lua's own wrap stays */
	lua_pop(L, 2);
}
