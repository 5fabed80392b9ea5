/* SPDX-License-Identifier: MIT */
/* scen_settings.c - settings: built-in ones, param(), values, --set. */
#define _GNU_SOURCE
#include "scen_int.h"

const struct sdef scen_builtin[] = {
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
    {"cores", "cluster", ST_INT}, /* sim only: host CPU contention */
    {"admission", "policy", ST_NAME}, /* sim only: full or cow memory */
};
_Static_assert(sizeof(scen_builtin) / sizeof(scen_builtin[0]) ==
		   S_ADMISSION + 1,
	       "one S_* per built-in setting");

static const struct sdef *builtin_find(const char *name)
{
	for (size_t i = 0; i < NBUILTIN; i++)
		if (!strcmp(scen_builtin[i].name, name))
			return &scen_builtin[i];
	return NULL;
}

struct entry *scen_entry_find(struct scen *sc, const char *name)
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
	e->builtin = d ? (int)(d - scen_builtin) : -1;
	return e;
}

void scen_entry_free_vals(struct entry *e)
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
int scen_is_decimal(const char *s, int frac, int neg)
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
int scen_text_time(const char *s, ukf_ns_t *out)
{
	size_t n = strlen(s);
	if (!n || !((s[n - 1] >= 'a' && s[n - 1] <= 'z')))
		return -1; /* a bare number in a string is ambiguous: refuse */
	if (!decimal_unit(s))
		return -1;
	return ukf_parse_time(s, out);
}

int scen_num_time(double x, ukf_ns_t *out)
{
	if (!(x >= 0) || x > 9.2e9)
		return -1;
	*out = (ukf_ns_t)llround(x * 1e9);
	return 0;
}


int scen_val_convert(enum stype t, const struct val *v, struct conv *c,
		       const char **why)
{
	memset(c, 0, sizeof(*c));
	c->s = v->str;
	/* a Lua boolean comes as the number 0 or 1 with the text
	 * true/false (scen_lua_scalar): no time, size or bandwidth */
	if ((t == ST_TIME || t == ST_SIZE || t == ST_BW) && v->is_num &&
	    (!strcmp(v->str, "true") || !strcmp(v->str, "false"))) {
		*why = t == ST_TIME   ? "expected a time, not a boolean"
		       : t == ST_SIZE ? "expected a size, not a boolean"
				      : "expected bytes/s, not a boolean";
		return -1;
	}
	switch (t) {
	case ST_INT: {
		double x = v->num;
		if (!v->is_num) {
			if (!scen_is_decimal(v->str, 0, 0)) {
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
		if (!scen_is_decimal(v->str, 0, 0)) {
			*why = "expected a whole number (decimal digits)";
			return -1;
		}
		c->i = (int64_t)x;
		c->u = (uint64_t)x;
		return 0;
	}
	case ST_TIME: {
		ukf_ns_t ns;
		int r = v->is_num ? scen_num_time(v->num, &ns)
				  : scen_text_time(v->str, &ns);
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
				*why = v->num > 1.8e19
					   ? "expected a size >= 0 and below "
					     "16 EiB"
					   : "expected a size >= 0";
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

/* One value of a list as entry_dup compares it: text (s, or num when s
 * is NULL and num[0] is not 0), else (a, b). */
struct dupkey {
	size_t i; /* its index in the list */
	const char *s;
	char num[32]; /* a param's number in its shortest form (in the key:
		       * qsort moves keys, s cannot point here) */
	int64_t a;
	uint64_t b;
};

static void shortest(char *buf, size_t cap, double x);

static const char *dupkey_text(const struct dupkey *k)
{
	return k->s ? k->s : k->num[0] ? k->num : NULL;
}

static int dupkey_cmp(const void *x, const void *y)
{
	const struct dupkey *p = x, *q = y;
	const char *a = dupkey_text(p), *b = dupkey_text(q);
	int c = a && b ? strcmp(a, b) : 0;
	if (c)
		return c;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	return p->i < q->i ? -1 : p->i > q->i;
}

/*
 * A value given twice in one setting's list (a sweep point run twice,
 * stored as two configurations with the same label): the index of the
 * first value that repeats an earlier one, 0 if every value differs, or
 * (size_t)-1 out of memory. Values of a built-in setting are compared as
 * the setting reads them ("1s" and 1 are one duration), those of a param
 * by their text, a number's in its shortest form (5 and 5.0 are one
 * value, and so are 0.1 and "0.1"). Sorted, not compared pairwise: a list of
 * 100,000 seeds took 4.4 s. Call after every value was converted.
 */
static size_t entry_dup(const struct entry *e)
{
	if (e->nvals < 2)
		return 0;
	struct dupkey *k = malloc(e->nvals * sizeof *k);
	if (!k)
		return (size_t)-1;
	enum stype t = e->builtin >= 0 ? scen_builtin[e->builtin].type : 0;
	for (size_t i = 0; i < e->nvals; i++) {
		k[i] = (struct dupkey){.i = i, .s = e->vals[i].str};
		if (e->builtin >= 0) {
			struct conv x;
			const char *why;
			scen_val_convert(t, &e->vals[i], &x, &why);
			if (t == ST_NAME || t == ST_PATH || t == ST_ANY) {
				k[i].s = x.s;
			} else {
				k[i].s = NULL;
				k[i].a = x.i;
				k[i].b = x.u;
			}
		} else if (e->vals[i].is_num) {
			shortest(k[i].num, sizeof k[i].num, e->vals[i].num);
			k[i].s = NULL;
		}
	}
	qsort(k, e->nvals, sizeof *k, dupkey_cmp);
	size_t first = 0; /* the least index that repeats an earlier value */
	for (size_t j = 1; j < e->nvals; j++) {
		struct dupkey p = k[j - 1], q = k[j];
		p.i = q.i = 0;
		if (!dupkey_cmp(&p, &q) && (!first || k[j].i < first))
			first = k[j].i;
	}
	free(k);
	return first;
}

/* ------------------------------------------------------------------ */
/* Declaring settings from the script.                                  */

/*
 * x as the shortest text that reads back as x ("0.1", not %.17g's
 * "0.10000000000000001"): the text names sweep points in labels, where
 * --set r=0.1 gives "0.1", and runs with one label are one configuration.
 */
static void shortest(char *buf, size_t cap, double x)
{
	/* 0/0: "nan" in a message, not the C library's "-nan" */
	if (isnan(x)) {
		snprintf(buf, cap, "nan");
		return;
	}
	/* a whole float keeps its digits (1e16 is a count, not "1e+16") */
	if (x == floor(x) && fabs(x) < 9.2e18) {
		snprintf(buf, cap, "%.0f", x);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, x);
		if (strtod(buf, NULL) == x)
			return;
	}
}

/* Read a scalar Lua value at idx into (is_num, num, text). */
int scen_lua_scalar(lua_State *L, int idx, int *is_num, double *num,
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
			shortest(buf, cap, *num);
		return 0;
	}
	if (t == LUA_TSTRING) {
		size_t len;
		const char *sv = lua_tolstring(L, idx, &len);
		if (len >= cap) {
			/* it was cut to cap - 1 bytes without a word: a
			 * param() then gave the scenario other text */
			char msg[160];
			snprintf(msg, sizeof(msg),
				 "a text value of %zu bytes ('%.40s...'): at "
				 "most %zu bytes",
				 len, sv, cap - 1);
			luaL_error(L, "%s", msg);
		}
		*is_num = 0;
		*num = 0;
		snprintf(buf, cap, "%s", sv);
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
const struct val *scen_entry_value(struct run *r, const struct entry *e)
{
	size_t i = e - r->sc->ents;
	if (r->pv && r->pv[i].str)
		return &r->pv[i];
	uint32_t k = r->point ? r->point[i] : 0;
	return &e->vals[k < e->nvals ? k : 0];
}

/* A text value of setting `name` too long for buf (cap bytes): a Lua
 * error naming the setting, before scen_lua_scalar's own, which cannot. */
static void check_len(lua_State *L, int idx, const char *name, size_t cap)
{
	size_t len;
	if (lua_type(L, idx) != LUA_TSTRING)
		return;
	const char *sv = lua_tolstring(L, idx, &len);
	if (len < cap)
		return;
	char msg[WHERE_MAX + 200];
	snprintf(msg, sizeof(msg),
		 "setting '%.64s': a text value of %zu bytes ('%.40s...'): "
		 "at most %zu bytes",
		 name, len, sv, cap - 1);
	luaL_error(L, "%s", msg);
}

/* 1 if the Lua list at idx is e's list of values (the first pass's). */
static int same_list(lua_State *L, int idx, const struct entry *e)
{
	char buf[256];
	int is_num;
	double num;
	lua_Integer n = luaL_len(L, idx);
	int same = n >= 1 && (size_t)n == e->nvals;
	for (lua_Integer k = 1; same && k <= n; k++) {
		lua_geti(L, idx, k);
		check_len(L, -1, e->name, sizeof(buf));
		same = !scen_lua_scalar(L, -1, &is_num, &num, buf,
					sizeof(buf)) &&
		       !strcmp(buf, e->vals[k - 1].str);
		lua_pop(L, 1);
	}
	return same;
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
			check_len(L, -1, e->name, sizeof(buf));
			got = scen_lua_scalar(L, -1, &is_num, &num, buf,
					      sizeof(buf));
			lua_pop(L, 1);
			goto single;
		}
		if (!same_list(L, idx, e))
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
	check_len(L, idx, e->name, sizeof(buf));
	got = scen_lua_scalar(L, idx, &is_num, &num, buf, sizeof(buf));
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
		if (scen_val_convert(scen_builtin[e->builtin].type, &v, &c,
				     &why))
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
void scen_declare(lua_State *L, struct run *r, const char *name, int idx)
{
	struct scen *sc = r->sc;
	char where[WHERE_MAX];
	scen_where_of(L, 1, where, sizeof(where));
	struct entry *e = scen_entry_find(sc, name);
	/* the live world reads no admission: only "full" is what it does */
	if (!strcmp(name, "admission") && !sc->world->simulated &&
	    !(lua_type(L, idx) == LUA_TSTRING &&
	      !strcmp(lua_tostring(L, idx), "full")))
		luaL_error(L,
			   "setting 'admission': only the simulated world "
			   "admits copy-on-write (the %s world admits each "
			   "instance by its app's whole mem)",
			   sc->world->backend);
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
	if (e->from_cli) {
		/* --set wins over the script; of a param whose default is a
		 * boolean (or a list of them), true and false are booleans */
		int t = lua_type(L, idx);
		if (t == LUA_TTABLE) {
			t = lua_geti(L, idx, 1);
			lua_pop(L, 1);
		}
		for (size_t i = 0; t == LUA_TBOOLEAN && e->builtin < 0 &&
				   i < e->nvals;
		     i++)
			if (!e->vals[i].is_num &&
			    (!strcmp(e->vals[i].str, "true") ||
			     !strcmp(e->vals[i].str, "false"))) {
				e->vals[i].is_num = 1;
				e->vals[i].num = !strcmp(e->vals[i].str, "true");
			}
		return;
	}
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
			check_len(L, -1, name, sizeof(buf));
			if (scen_lua_scalar(L, -1, &is_num, &num, buf,
					    sizeof(buf)))
				luaL_error(L,
					   "setting '%s': value %d is a %s, "
					   "expected a number or string",
					   name, (int)i, luaL_typename(L, -1));
			lua_pop(L, 1);
			val_push(e, is_num, num, buf);
		}
	} else if (check_len(L, idx, name, sizeof(buf)),
		   scen_lua_scalar(L, idx, &is_num, &num, buf, sizeof(buf))) {
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
			if (scen_val_convert(scen_builtin[e->builtin].type,
					     &e->vals[i], &c, &why))
				luaL_error(L,
					   "setting '%s': bad value '%s': %s",
					   name, e->vals[i].str, why);
		}
	}
	size_t d = entry_dup(e);
	if (d == (size_t)-1)
		luaL_error(L, "setting '%s': out of memory", name);
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
		if (!strcmp(scen_builtin[i].group, group))
			keys[n++] = scen_builtin[i].name;
	keys[n] = NULL;
	if (pidx_of(L) != NO_PROC)
		luaL_error(L,
			   "%s{} is a declaration: call it at the top level "
			   "of the scenario",
			   group);
	scen_check_keys(L, 1, group, keys);
	for (size_t i = 0; keys[i]; i++) {
		if (lua_getfield(L, 1, keys[i]) != LUA_TNIL)
			scen_declare(L, r, keys[i], -1);
		lua_pop(L, 1);
	}
	return 0;
}
int scen_l_cluster(lua_State *L)
{
	return l_group(L, "cluster");
}
int scen_l_policy(lua_State *L)
{
	return l_group(L, "policy");
}
int scen_l_runcfg(lua_State *L)
{
	return l_group(L, "run");
}

/* 1 if v holds a Lua boolean (scen_lua_scalar: the number 0 or 1 with
 * the text false or true). */
static int val_bool(const struct val *v)
{
	return v->is_num && (!strcmp(v->str, "true") || !strcmp(v->str, "false"));
}

static void push_val(lua_State *L, const struct val *v)
{
	if (val_bool(v)) {
		/* not the number 0: it is true to Lua, and a swept flag
		 * param("f", {true, false}) took one branch at both points */
		lua_pushboolean(L, v->num != 0);
	} else if (v->is_num) {
		if (v->num == floor(v->num) && fabs(v->num) < 9e15)
			lua_pushinteger(L, (lua_Integer)v->num);
		else
			lua_pushnumber(L, v->num);
	} else if (!scen_is_decimal(v->str, 1, 1) ||
		   lua_stringtonumber(L, v->str) == 0) {
		lua_pushstring(L, v->str);
	}
}

/*
 * param(name, default) in a process: the default at index 2 must be the
 * top level's, a list its list, a single value this run's (computed from
 * another param the same way). Raises a Lua error otherwise.
 */
static void check_read_default(lua_State *L, struct run *r,
			       const struct entry *e)
{
	char buf[256];
	int is_num;
	double num;
	if (lua_type(L, 2) == LUA_TTABLE) {
		if (!same_list(L, 2, e))
			luaL_error(L,
				   "param '%s': this list differs from the "
				   "one declared at %s: a process reads the "
				   "param (param(\"%s\") or the same list)",
				   e->name, e->where, e->name);
		return;
	}
	const struct val *v = scen_entry_value(r, e);
	if (scen_lua_scalar(L, 2, &is_num, &num, buf, sizeof(buf)) ||
	    strcmp(buf, v->str))
		luaL_error(L,
			   "param '%s': default '%s' differs from this run's "
			   "value '%s' (declared at %s): a process reads the "
			   "param, it does not set it (param(\"%s\"))",
			   e->name,
			   lua_type(L, 2) == LUA_TSTRING ||
				   lua_type(L, 2) == LUA_TNUMBER
			       ? lua_tostring(L, 2)
			       : luaL_typename(L, 2),
			   v->str, e->where, e->name);
}

/* param(name, default) -> the value of this run. */
int scen_l_param(lua_State *L)
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
	/* --set names are at most 127 bytes: a longer one could not be set */
	if (!*name || strlen(name) > 127)
		luaL_error(L, "param: bad name '%s' (1 to 127 letters, digits, "
			      "_)", name);
	/* a process may read a param the top level declared, not declare
	 * one (it said "was not declared on the first pass") */
	if (pidx_of(L) != NO_PROC) {
		struct entry *e = scen_entry_find(r->sc, name);
		if (!e)
			luaL_error(L,
				   "param '%s' is a declaration: call it at "
				   "the top level of the scenario (a process "
				   "may read a param declared there)",
				   name);
		/* it reads: a default given here is not a second
		 * declaration (it replaced the run's value, unseen in
		 * its label and settings); one that differs is refused */
		if (!lua_isnoneornil(L, 2) && !e->from_cli)
			check_read_default(L, r, e);
		push_val(L, scen_entry_value(r, e));
		return 1;
	}
	if (lua_isnoneornil(L, 2))
		luaL_error(L, "param '%s': a default value is required", name);
	/* Every pass: a default computed from another param() follows it. */
	scen_declare(L, r, name, 2);
	struct entry *e = scen_entry_find(r->sc, name);
	push_val(L, scen_entry_value(r, e));
	return 1;
}

/* setting(name) -> value of a setting in this run, or nil if not given. */
int scen_l_setting(lua_State *L)
{
	struct run *r = run_of(L);
	const char *name = luaL_checkstring(L, 1);
	struct entry *e = scen_entry_find(r->sc, name);
	if (!e || !e->nvals) {
		if (!builtin_find(name))
			luaL_error(L, "setting: unknown setting '%s'", name);
		lua_pushnil(L);
		return 1;
	}
	push_val(L, scen_entry_value(r, e));
	return 1;
}

/*
 * backend() -> "sim" or "kvm": the world this run executes in, so that one
 * file can size itself for a simulated cluster or for the one real node.
 */
int scen_l_backend(lua_State *L)
{
	struct run *r = run_of(L);
	lua_pushstring(L, r->sc->world->backend);
	return 1;
}

int scen_parse_set(struct scen *sc, const char *s, FILE *msg)
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
	if ((size_t)(eq - s) >= sizeof(name)) { /* was cut, another name */
		fprintf(msg,
			"ukfork run: --set %.40s...: a name of %zu bytes (at "
			"most %zu)\n",
			s, (size_t)(eq - s), sizeof(name) - 1);
		return -1;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(eq - s), s);
	if (scen_entry_find(sc, name)) {
		fprintf(msg, "ukfork run: --set %s: setting '%s' given twice\n",
			s, name);
		return -1;
	}
	struct entry *e = entry_add(sc, name);
	if (!e) {
		fprintf(msg, "ukfork run: --set %s: out of memory\n", s);
		return -1;
	}
	e->from_cli = 1;
	e->order = (size_t)1 << 40 | sc->nents;
	snprintf(e->where, sizeof(e->where), "--set %s", s);
	char *dup = strdup(eq + 1), *next = dup;
	if (!dup) {
		fprintf(msg, "ukfork run: --set %s: out of memory\n", s);
		return -1;
	}
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
		int is_num = scen_is_decimal(t, 1, 1);
		if (val_push(e, is_num, is_num ? strtod(t, NULL) : 0, t)) {
			fprintf(msg, "ukfork run: --set %s: out of memory\n", s);
			free(dup);
			return -1;
		}
	}
	free(dup);
	if (e->builtin >= 0)
		for (size_t i = 0; i < e->nvals; i++) {
			struct conv c;
			const char *why = "";
			int bad =
			    scen_val_convert(scen_builtin[e->builtin].type,
					     &e->vals[i], &c, &why);
			/* nodes: one message for -1 and 0 (it was ">= 0"
			 * here, "1..1000000" without this prefix at the
			 * run) */
			double x = bad ? e->vals[i].num : (double)c.u;
			if (e->builtin == S_NODES &&
			    (!bad || e->vals[i].is_num) &&
			    (x < 1 || x > NODES_MAX)) {
				bad = 1;
				why = "expected a count of nodes from 1 to "
				      SCEN_STR(NODES_MAX);
			}
			if (bad) {
				fprintf(msg,
					"ukfork run: --set %s: bad value "
					"'%s' for '%s': %s\n",
					s, e->vals[i].str, name, why);
				return -1;
			}
		}
	size_t d = entry_dup(e);
	if (d == (size_t)-1) {
		fprintf(msg, "ukfork run: --set %s: out of memory\n", s);
		return -1;
	}
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

/* ------------------------------------------------------------------ */
/* network{...}: the simulated network fabric (sim/README.md "Network"). */

#define NET_KEY "ukf.network"

/* One bandwidth key of network{}: bytes/s (> 0), or 0 if absent. */
static double net_bw(lua_State *L, const char *key)
{
	char buf[256];
	int is_num;
	double num;
	if (lua_getfield(L, 1, key) == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	struct conv c;
	const char *why = "";
	if (scen_lua_scalar(L, -1, &is_num, &num, buf, sizeof(buf)))
		luaL_error(L, "network{}: %s must be a bandwidth, not a %s",
			   key, luaL_typename(L, -1));
	struct val v = {is_num, num, buf};
	if (scen_val_convert(ST_BW, &v, &c, &why))
		luaL_error(L, "network{}: bad value %s=%s: %s", key, buf,
			   why);
	lua_pop(L, 1);
	return c.d;
}

/*
 * network{ sharing = "max-min"|"per-link", racks = R, rack_uplink = BW,
 * core = BW }: at the top level, once per pass; checked at once (errors
 * name file:line and key=value) and kept in the Lua registry until the
 * world is made (scen_net_config).
 */
int scen_l_network(lua_State *L)
{
	static const char *const keys[] = {"sharing", "racks", "rack_uplink",
					   "core", NULL};
	char where[WHERE_MAX];
	scen_where_of(L, 1, where, sizeof(where));
	if (pidx_of(L) != NO_PROC)
		luaL_error(L,
			   "network{} is a declaration: call it at the top "
			   "level of the scenario");
	scen_check_keys(L, 1, "network", keys);
	if (lua_getfield(L, LUA_REGISTRYINDEX, NET_KEY) != LUA_TNIL) {
		lua_getfield(L, -1, "where");
		luaL_error(L, "network{} given twice (first at %s)",
			   lua_tostring(L, -1));
	}
	lua_pop(L, 1);
	int fair = 0;
	if (lua_getfield(L, 1, "sharing") != LUA_TNIL) {
		const char *s = lua_type(L, -1) == LUA_TSTRING
				    ? lua_tostring(L, -1)
				    : NULL;
		if (s && !strcmp(s, "max-min"))
			fair = 1;
		else if (!s || strcmp(s, "per-link"))
			luaL_error(L,
				   "network{}: bad value sharing=%s (valid: "
				   "max-min, per-link)",
				   luaL_tolstring(L, -1, NULL));
	}
	lua_pop(L, 1);
	lua_Integer racks = 0;
	if (lua_getfield(L, 1, "racks") != LUA_TNIL) {
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 ||
		    lua_tointeger(L, -1) > 1000000)
			luaL_error(L,
				   "network{}: bad value racks=%s (a whole "
				   "number of racks, 1..nodes)",
				   luaL_tolstring(L, -1, NULL));
		racks = lua_tointeger(L, -1);
	}
	lua_pop(L, 1);
	double up = net_bw(L, "rack_uplink");
	double core = net_bw(L, "core");
	if (!racks && (up > 0 || core > 0))
		luaL_error(L,
			   "network{}: rack_uplink and core need racks "
			   "(racks = R)");
	if (racks && !fair) {
		lua_getfield(L, 1, "sharing");
		int given = !lua_isnil(L, -1);
		lua_pop(L, 1);
		if (given)
			luaL_error(L,
				   "network{}: racks need sharing = "
				   "\"max-min\" (the per-link model has no "
				   "racks)");
		fair = 1;
	}
	lua_createtable(L, 0, 5);
	lua_pushstring(L, where);
	lua_setfield(L, -2, "where");
	lua_pushboolean(L, fair);
	lua_setfield(L, -2, "fair");
	lua_pushinteger(L, racks);
	lua_setfield(L, -2, "racks");
	lua_pushnumber(L, up);
	lua_setfield(L, -2, "up");
	lua_pushnumber(L, core);
	lua_setfield(L, -2, "core");
	lua_setfield(L, LUA_REGISTRYINDEX, NET_KEY);
	return 0;
}

int scen_net_get(struct run *r, struct scen_net *out)
{
	lua_State *L = r->L;
	memset(out, 0, sizeof(*out));
	if (!L)
		return 0;
	if (lua_getfield(L, LUA_REGISTRYINDEX, NET_KEY) != LUA_TTABLE) {
		lua_pop(L, 1);
		return 0; /* no network{}: the per-link model */
	}
	lua_getfield(L, -1, "where");
	lua_getfield(L, -2, "fair");
	lua_getfield(L, -3, "racks");
	lua_getfield(L, -4, "up");
	lua_getfield(L, -5, "core");
	snprintf(out->where, sizeof(out->where), "%s",
		 lua_tostring(L, -5) ? lua_tostring(L, -5) : "?");
	out->fair = lua_toboolean(L, -4);
	out->racks = (uint32_t)lua_tointeger(L, -3);
	out->rack_uplink_bps = lua_tonumber(L, -2);
	out->core_bps = lua_tonumber(L, -1);
	lua_pop(L, 6);
	return 1;
}

/* ------------------------------------------------------------------ */
/* churn{...}: random node failures and the failure-detection delay     */
/* (sim/README.md "Churn").                                              */

#define CHURN_KEY "ukf.churn"

/* One time key of churn{}: ns (>= 0), or -1 if absent. */
static ukf_ns_t churn_time(lua_State *L, const char *key)
{
	char buf[256];
	int is_num;
	double num;
	if (lua_getfield(L, 1, key) == LUA_TNIL) {
		lua_pop(L, 1);
		return -1;
	}
	struct conv c;
	const char *why = "";
	if (lua_type(L, -1) == LUA_TBOOLEAN ||
	    scen_lua_scalar(L, -1, &is_num, &num, buf, sizeof(buf)))
		luaL_error(L, "churn{}: %s must be a time, not a %s", key,
			   luaL_typename(L, -1));
	struct val v = {is_num, num, buf};
	if (scen_val_convert(ST_TIME, &v, &c, &why))
		luaL_error(L, "churn{}: bad value %s=%s: %s", key, buf, why);
	lua_pop(L, 1);
	return c.i;
}

/*
 * churn{ mtbf = T, mttr = T [, detect = T] } or churn{ detect = T }: at
 * the top level, once per pass, sim only; checked at once (errors name
 * file:line and key=value) and kept in the Lua registry until the world
 * is made (scen_net_config puts it in the sim config).
 */
int scen_l_churn(lua_State *L)
{
	static const char *const keys[] = {"mtbf", "mttr", "detect", NULL};
	char where[WHERE_MAX];
	struct run *r = run_of(L);
	scen_where_of(L, 1, where, sizeof(where));
	if (pidx_of(L) != NO_PROC)
		luaL_error(L,
			   "churn{} is a declaration: call it at the top "
			   "level of the scenario");
	if (!r->sc->world->simulated)
		luaL_error(L, "churn{}: only the simulated world has churn "
			      "(this run's backend is %s)",
			   r->sc->world->backend);
	scen_check_keys(L, 1, "churn", keys);
	if (lua_getfield(L, LUA_REGISTRYINDEX, CHURN_KEY) != LUA_TNIL) {
		lua_getfield(L, -1, "where");
		luaL_error(L, "churn{} given twice (first at %s)",
			   lua_tostring(L, -1));
	}
	lua_pop(L, 1);
	ukf_ns_t mtbf = churn_time(L, "mtbf"), mttr = churn_time(L, "mttr");
	ukf_ns_t detect = churn_time(L, "detect");
	if (mtbf == 0 || mttr == 0)
		luaL_error(L,
			   "churn{}: %s must be > 0 (a node that fails at "
			   "once or comes back at once is no churn; leave "
			   "churn{} out for none)",
			   mtbf == 0 ? "mtbf" : "mttr");
	if ((mtbf < 0) != (mttr < 0))
		luaL_error(L, "churn{}: give both mtbf and mttr (the mean "
			      "times between failures and to repair), or "
			      "neither");
	if (mtbf < 0 && detect < 0)
		luaL_error(L, "churn{}: give mtbf and mttr, or detect");
	lua_createtable(L, 0, 4);
	lua_pushstring(L, where);
	lua_setfield(L, -2, "where");
	lua_pushinteger(L, mtbf > 0 ? mtbf : 0);
	lua_setfield(L, -2, "mtbf");
	lua_pushinteger(L, mttr > 0 ? mttr : 0);
	lua_setfield(L, -2, "mttr");
	lua_pushinteger(L, detect > 0 ? detect : 0);
	lua_setfield(L, -2, "detect");
	lua_pushboolean(L, detect >= 0);
	lua_setfield(L, -2, "detect_given");
	lua_setfield(L, LUA_REGISTRYINDEX, CHURN_KEY);
	return 0;
}

int scen_churn_get(struct run *r, struct scen_churn *out)
{
	lua_State *L = r->L;
	memset(out, 0, sizeof(*out));
	if (!L)
		return 0;
	if (lua_getfield(L, LUA_REGISTRYINDEX, CHURN_KEY) != LUA_TTABLE) {
		lua_pop(L, 1);
		return 0;
	}
	lua_getfield(L, -1, "where");
	lua_getfield(L, -2, "mtbf");
	lua_getfield(L, -3, "mttr");
	lua_getfield(L, -4, "detect");
	lua_getfield(L, -5, "detect_given");
	snprintf(out->where, sizeof(out->where), "%s",
		 lua_tostring(L, -5) ? lua_tostring(L, -5) : "?");
	out->mtbf_ns = lua_tointeger(L, -4);
	out->mttr_ns = lua_tointeger(L, -3);
	out->detect_ns = lua_tointeger(L, -2);
	out->detect_given = lua_toboolean(L, -1);
	lua_pop(L, 6);
	return 1;
}

/* policy{ admission = "full" | "cow" }: the engine's memory admission
 * (core/engine.h mem_admission). 0, or -1 with the run failed. */
static int admission_config(struct run *r, struct ukf_sim_config *c)
{
	struct entry *e = scen_entry_find(r->sc, "admission");
	const struct val *v;

	if (!e || !e->nvals)
		return 0;
	v = scen_entry_value(r, e);
	if (!strcmp(v->str, "cow")) {
		c->engine.mem_admission = UKF_ADMIT_COW;
	} else if (!strcmp(v->str, "full")) {
		c->engine.mem_admission = UKF_ADMIT_FULL;
	} else {
		scen_run_fail(r, UKF_RUN_BAD,
			      "%s: setting 'admission': bad value '%s' "
			      "(valid: full, cow)",
			      e->where, v->str);
		return -1;
	}
	return 0;
}

/* Put what churn{} said into the sim config. */
static void churn_config(struct run *r, struct ukf_sim_config *c)
{
	struct scen_churn ch;

	if (!scen_churn_get(r, &ch))
		return;
	c->churn_mtbf_ns = ch.mtbf_ns;
	c->churn_mttr_ns = ch.mttr_ns;
	if (ch.detect_given) /* else the directory's (sim_create) */
		c->detect_ns = ch.detect_ns;
}

int scen_net_config(struct run *r, struct ukf_sim_config *c)
{
	struct scen_net n;

	churn_config(r, c);
	if (admission_config(r, c))
		return -1;
	if (!scen_net_get(r, &n))
		return 0;
	c->net_fair = n.fair;
	c->racks = n.racks;
	c->rack_uplink_bps = n.rack_uplink_bps;
	c->core_bps = n.core_bps;
	if (c->racks > c->engine.nodes) {
		scen_run_fail(r, UKF_RUN_BAD,
			      "%s: network{}: racks=%u is more than the %u "
			      "nodes",
			      n.where, c->racks, c->engine.nodes);
		return -1;
	}
	return 0;
}
