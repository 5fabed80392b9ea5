/* SPDX-License-Identifier: MIT */
/* synth_args.c - parse synth's key=value arguments with units (pure). */
#include "synth_args.h"
#include "guest/rt/pure.h"

static int eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/*
 * "123.45unit" -> value * mul (mul the unit's scale), rounded to nearest;
 * the unit string is matched by the caller through `units`.
 */
struct unit {
	const char *name;
	uint64_t mul;
};

static int parse_scaled(const char *s, const struct unit *units, uint64_t *out)
{
	uint64_t ip = 0, frac = 0, fdiv = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (ip > (UINT64_MAX - 9) / 10)
			return -1;
		ip = ip * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (fdiv < 1000000000ULL) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				fdiv *= 10;
			}
		}
	}
	for (const struct unit *u = units; u->name; u++) {
		if (!eq(p, u->name))
			continue;
		if (ip && u->mul > UINT64_MAX / ip)
			return -1;
		uint64_t v = ip * u->mul;
		/* frac < 10^9 and mul <= 2^30: the product fits in 64 bits */
		uint64_t f = (frac * u->mul + fdiv / 2) / fdiv;
		if (v > UINT64_MAX - f)
			return -1;
		*out = v + f;
		return 0;
	}
	return -1;
}

static const struct unit size_units[] = {{"", 1},
					 {"B", 1},
					 {"K", 1ULL << 10},
					 {"k", 1ULL << 10},
					 {"KiB", 1ULL << 10},
					 {"M", 1ULL << 20},
					 {"MiB", 1ULL << 20},
					 {"G", 1ULL << 30},
					 {"GiB", 1ULL << 30},
					 {0, 0}};

static const struct unit time_units[] = {
    {"", 1000000ULL}, {"ms", 1000000ULL},   {"ns", 1},
    {"us", 1000ULL},  {"s", 1000000000ULL}, {0, 0}};

int synth_parse_size(const char *s, uint64_t *out)
{
	return parse_scaled(s, size_units, out);
}

int synth_parse_time(const char *s, uint64_t *out)
{
	return parse_scaled(s, time_units, out);
}

static int parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

void synth_defaults(struct synth_cfg *c)
{
	c->mem = 64ULL << 20;
	c->init_ns = 50000000ULL;
	c->work_ns = 10000000ULL;
	c->dirty = 256;
	c->fork = 0;
	c->units = 1;
}

#define ERR(...) (ukf_snprintf(err, errlen, __VA_ARGS__), -1)

int synth_parse(struct synth_cfg *c, int argc, char *const *argv, char *err,
		size_t errlen)
{
	for (int i = 0; i < argc; i++) {
		char key[16];
		const char *w = argv[i], *val = w;
		size_t k = 0;
		while (*val && *val != '=')
			val++;
		if (!*val || val == w)
			return ERR("'%s': expected key=value", w);
		if ((size_t)(val - w) >= sizeof(key))
			return ERR("unknown key in '%s' (valid: mem init work "
				   "dirty fork units vcpus image)",
				   w);
		for (k = 0; w + k < val; k++)
			key[k] = w[k];
		key[k] = '\0';
		val++;

		if (eq(key, "mem")) {
			uint64_t v;
			if (synth_parse_size(val, &v) < 0 || v == 0)
				return ERR("mem=%s: expected a size > 0 such "
					   "as 64M",
					   val);
			c->mem = v;
		} else if (eq(key, "init") || eq(key, "work")) {
			uint64_t v;
			if (synth_parse_time(val, &v) < 0)
				return ERR("%s=%s: expected a time such as "
					   "50ms",
					   key, val);
			if (key[0] == 'i')
				c->init_ns = v;
			else
				c->work_ns = v;
		} else if (eq(key, "dirty") || eq(key, "fork") ||
			   eq(key, "units") || eq(key, "vcpus")) {
			uint32_t v;
			if (parse_u32(val, &v) < 0)
				return ERR("%s=%s: expected a non-negative "
					   "integer",
					   key, val);
			if (key[0] == 'd')
				c->dirty = v;
			else if (key[0] == 'f')
				c->fork = v;
			else if (key[0] == 'u')
				c->units = v;
			else if (v == 0)
				return ERR("vcpus=%s: must be at least 1", val);
		} else if (eq(key, "image")) {
			if (!*val)
				return ERR("image=: expected a size or a path");
		} else {
			return ERR("unknown key '%s' (valid: mem init work "
				   "dirty fork units vcpus image)",
				   key);
		}
	}
	return 0;
}
