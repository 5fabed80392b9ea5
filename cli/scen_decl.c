/* SPDX-License-Identifier: MIT */
/* scen_decl.c - declarations: app{}, hosts{}, arrivals and trace{}. */
#define _GNU_SOURCE
#include "scen_int.h"

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

int scen_l_app(lua_State *L)
{
	struct run *r = run_of(L);
	if (pidx_of(L) != NO_PROC)
		luaL_error(L,
			   "app() is a declaration: call it at the top level");
	const char *name = luaL_checkstring(L, 1);
	const char *kv = luaL_optstring(L, 2, "");
	if (!lua_isnoneornil(L, 3)) {
		static const char *const k[] = {"image", NULL};
		scen_check_keys(L, 3, "app", k);
	}
	/* a trace file names apps between blanks, and the event log writes
	 * app=NAME among blank-separated fields: no blank or control
	 * character in a name (nor a NUL, which would cut it short) */
	size_t nlen;
	lua_tolstring(L, 1, &nlen);
	int blank = nlen != strlen(name);
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		blank |= *c <= ' ' || *c == 0x7f;
	if (!*name || nlen >= UKF_APP_NAME_MAX || blank) {
		char q[80];
		snprintf(q, sizeof(q), "%.64s%s", name,
			 strlen(name) > 64 ? "..." : "");
		luaL_error(L,
			   "app: bad name '%s' (1 to %d bytes, no blanks or "
			   "control characters: trace files and the event "
			   "log separate fields by blanks)",
			   q, UKF_APP_NAME_MAX - 1);
	}
	if (r->napps >= UKF_APPS_MAX)
		luaL_error(L,
			   "app '%s': more than %d apps (the engine's limit, "
			   "UKF_APPS_MAX)",
			   name, UKF_APPS_MAX);
	if (scen_find_app(r, name) >= 0)
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
	scen_where_of(L, 1, a->where, sizeof(a->where));
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
		if (scen_lua_scalar(L, -1, &x.is_num, &x.num, buf, sizeof(buf)))
			luaL_error(L, "%s{} %s: expected a number or string",
				   fn, k);
		x.str = buf;
		struct conv c;
		const char *why = "";
		if (scen_val_convert(t, &x, &c, &why))
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
int scen_l_hosts(lua_State *L)
{
	struct run *r = run_of(L);
	static const char *const k[] = {"count", "vcpus", "memory", "cache",
					NULL};
	if (pidx_of(L) != NO_PROC)
		luaL_error(L, "hosts{} is a declaration: call it at the top "
			      "level");
	scen_check_keys(L, 1, "hosts", k);
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
	scen_where_of(L, 1, h.where, sizeof(h.where));
	r->hosts = grow1(L, r->hosts, r->nhosts, sizeof(*r->hosts));
	r->hosts[r->nhosts++] = h;
	return 0;
}

/* A time argument: number of seconds or string with a unit. */
ukf_ns_t scen_arg_time(lua_State *L, int idx, const char *what)
{
	ukf_ns_t ns;
	if (lua_type(L, idx) == LUA_TNUMBER) {
		double x = lua_tonumber(L, idx);
		if (scen_num_time(x, &ns))
			luaL_error(L, "%s: bad time %f (must be %s seconds)",
				   what, x,
				   x > 0 ? "at most 9.2e9" : ">= 0");
		return ns;
	}
	if (lua_type(L, idx) == LUA_TSTRING) {
		if (scen_text_time(lua_tostring(L, idx), &ns) || ns < 0)
			luaL_error(L,
				   "%s: bad time '%s' (seconds as a number, "
				   "or a string with ns/us/ms/s)",
				   what, lua_tostring(L, idx));
		return ns;
	}
	luaL_error(L, "%s: expected a time, got %s%s", what,
		   lua_isnone(L, idx) ? "" : "a ", luaL_typename(L, idx));
	return 0;
}

static ukf_ns_t field_time(lua_State *L, const char *fn, const char *k,
			   ukf_ns_t dflt)
{
	ukf_ns_t v = dflt;
	char what[64];
	snprintf(what, sizeof(what), "%s{} %s", fn, k);
	if (lua_getfield(L, 1, k) != LUA_TNIL)
		v = scen_arg_time(L, -1, what);
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
	v = scen_arg_time(L, -1, what);
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
		lua_Integer v;
		if (!scen_integral(L, -1, &v) || v < 0 || v >= UKF_NODE_NONE)
			luaL_error(L,
				   "%s{} node: expected a node number >= 0, "
				   "got %s",
				   fn, luaL_tolstring(L, -1, NULL));
		node = (uint32_t)v;
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
	scen_where_of(L, 1, a->where, sizeof(a->where));
	if (kind != A_TRACE) {
		if (lua_getfield(L, 1, "app") != LUA_TSTRING)
			luaL_error(L,
				   "%s{}: missing argument 'app' (an app "
				   "name)",
				   fn);
		int app = scen_find_app(r, lua_tostring(L, -1));
		if (app < 0)
			luaL_error(L,
				   "%s{}: unknown app '%s' (declare it "
				   "with app() first)",
				   fn, lua_tostring(L, -1));
		a->app = (uint32_t)app;
		lua_pop(L, 1);
		if (lua_getfield(L, 1, "args") != LUA_TNIL) {
			char what[32];
			snprintf(what, sizeof(what), "%s{}", fn);
			scen_check_args(L, r, a->app, what,
					luaL_checkstring(L, -1));
			a->args = strdup(lua_tostring(L, -1));
		}
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

int scen_l_poisson(lua_State *L)
{
	struct run *r = run_of(L);
	static const char *const k[] = {"app",	 "rate", "node", "args",
					"start", "stop", NULL};
	scen_check_keys(L, 1, "poisson", k);
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

int scen_l_constant(lua_State *L)
{
	struct run *r = run_of(L);
	static const char *const k[] = {"app",	 "interval", "node", "args",
					"start", "stop",     NULL};
	scen_check_keys(L, 1, "constant", k);
	ukf_ns_t iv = field_period(L, "constant", "interval");
	struct arrival *a = arrival_new(L, r, A_CONSTANT, "constant");
	a->interval = iv;
	return 0;
}

int scen_l_bursts(lua_State *L)
{
	struct run *r = run_of(L);
	static const char *const k[] = {"app",	  "every", "size",
					"spread", "node",  "args",
					"start",  "stop",  NULL};
	scen_check_keys(L, 1, "bursts", k);
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

void scen_path_resolve(struct scen *sc, const char *p, char *out, size_t cap)
{
	if (p[0] == '/' || !sc->script_dir[0])
		snprintf(out, cap, "%s", p);
	else
		snprintf(out, cap, "%s/%s", sc->script_dir, p);
}

/* What separates the fields of a trace line (as sscanf's %s). */
#define TRACE_BLANKS " \t\r\n\v\f"

/* A trace field for a message: at most 60 bytes of it, then "...". */
static const char *field_quote(const char *fld, char *buf, size_t cap)
{
	if (strlen(fld) > 60)
		snprintf(buf, cap, "%.60s...", fld);
	else
		snprintf(buf, cap, "%s", fld);
	return buf;
}

/*
 * One line of a trace file (len bytes, split in place): "time app
 * [node]", '#' starting a comment. 1: an arrival in *out; 0: blank or a
 * comment; -1: refused, msg says why. find_app(ctx, name): the app's
 * index or -1; last: the time of the arrival before (times never go
 * backwards).
 */
int scen_trace_parse(char *line, size_t len,
		     int (*find_app)(void *ctx, const char *name), void *ctx,
		     ukf_ns_t last, struct scen_tline *out, char *msg,
		     size_t cap)
{
	char q[80];
	/* a NUL would end the line where C reads it: the rest (of a binary
	 * file, say) silently dropped */
	int nul = memchr(line, 0, len) != NULL;
	char *h = strchr(line, '#');
	if (h)
		*h = 0;
	char *fld[4];
	int nf = 0;
	for (char *p = line; nf < 4;) {
		p += strspn(p, TRACE_BLANKS);
		if (!*p)
			break;
		fld[nf++] = p;
		p += strcspn(p, TRACE_BLANKS);
		if (*p)
			*p++ = 0;
	}
	if (!nul && nf == 0)
		return 0; /* blank or a comment */
	msg[0] = 0;
	out->t = 0;
	out->app = -1;
	out->node = UKF_NODE_NONE;
	if (nul) {
		snprintf(msg, cap, "a NUL byte in the line (not a text file?)");
		return -1;
	}
	if (nf < 2) {
		snprintf(msg, cap, "expected 'time app [node]'");
		return -1;
	}
	if (nf > 3) {
		snprintf(msg, cap,
			 "unexpected field '%s' after the node (expected "
			 "'time app [node]')",
			 field_quote(fld[3], q, sizeof(q)));
		return -1;
	}
	const char *ts = fld[0], *an = fld[1];
	/* a bare number is seconds; both forms exact to the ns */
	if (scen_is_decimal(ts, 1, 0) ? ukf_parse_time_unit(ts, UKF_S, &out->t)
				      : scen_text_time(ts, &out->t)) {
		snprintf(msg, cap, "bad time '%s'",
			 field_quote(ts, q, sizeof(q)));
		return -1;
	}
	if ((out->app = find_app(ctx, an)) < 0) {
		snprintf(msg, cap, "unknown app '%s'",
			 field_quote(an, q, sizeof(q)));
		return -1;
	}
	if (nf == 3) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(fld[2], &end, 10);
		if (!scen_is_decimal(fld[2], 0, 0) || errno ||
		    v >= UKF_NODE_NONE) {
			snprintf(msg, cap, "bad node '%s'",
				 field_quote(fld[2], q, sizeof(q)));
			return -1;
		}
		out->node = (uint32_t)v;
	}
	if (out->t < last) {
		snprintf(msg, cap, "time goes backwards");
		return -1;
	}
	return 1;
}

static int trace_app(void *r, const char *name)
{
	return scen_find_app(r, name);
}

/* trace{file=, node=}: "time app [node]" lines; '#' comments. */
int scen_l_trace(lua_State *L)
{
	struct run *r = run_of(L);
	static const char *const k[] = {"file", "node", "start", "stop", NULL};
	scen_check_keys(L, 1, "trace", k);
	int ft = lua_getfield(L, 1, "file");
	if (ft == LUA_TNIL)
		luaL_error(L, "trace{}: missing argument 'file' (a path)");
	if (ft != LUA_TSTRING)
		luaL_error(L, "trace{}: file must be a path (a string), got a %s",
			   luaL_typename(L, -1));
	const char *file = lua_tostring(L, -1);
	lua_pop(L, 1);
	char path[1024];
	scen_path_resolve(r->sc, file, path, sizeof(path));
	/* A regular file only: a device (/dev/zero) could feed lines for
	 * ever, and each pass reads the file again; looked at before it is
	 * opened, as a FIFO's open waits for a writer for ever. */
	struct stat fst;
	if (stat(path, &fst) == 0 && !S_ISREG(fst.st_mode))
		luaL_error(L, "trace{}: '%s' is %s, not a trace file", path,
			   S_ISDIR(fst.st_mode) ? "a directory"
						: "not a regular file");
	FILE *f = fopen(path, "r");
	if (!f)
		luaL_error(L, "trace{}: cannot open '%s': %s", path,
			   strerror(errno));
	struct arrival *a = arrival_new(L, r, A_TRACE, "trace");
	char *line = NULL;
	size_t linecap = 0;
	int ln = 0;
	size_t cap = 0;
	ukf_ns_t last = 0;
	/* Whole lines, however long: a long comment read in pieces would
	 * make its tail a line of its own (an arrival nobody wrote). Fields
	 * are split in the line itself: a field over a fixed width read in
	 * pieces would become the next field ("unknown app" naming the end
	 * of a long time). */
	ssize_t len;
	a->digest = UKF_FNV_INIT;
	while ((len = getline(&line, &linecap, f)) >= 0) {
		ln++;
		a->digest = ukf_fnv1a(line, (size_t)len, a->digest);
		char msg[512];
		struct scen_tline tl;
		int got = scen_trace_parse(line, (size_t)len, trace_app, r,
					   last, &tl, msg, sizeof(msg));
		if (got == 0)
			continue;
		if (got < 0) {
			fclose(f);
			free(line);
			luaL_error(L, "trace{}: %s:%d: %s", path, ln, msg);
		}
		last = tl.t;
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
		    (struct tev){tl.t, (uint32_t)tl.app, tl.node, (uint32_t)ln};
	}
	free(line);
	if (ferror(f)) {
		int e = errno;
		fclose(f);
		luaL_error(L, "trace{}: reading '%s' failed: %s", path,
			   strerror(e));
	}
	fclose(f);
	a->path = strdup(path);
	return 0;
}
