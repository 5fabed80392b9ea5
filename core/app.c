/* SPDX-License-Identifier: MIT */
/* app.c - application descriptions: key=value parsing with units. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ukf.h"

const char *ukf_start_name(enum ukf_start s)
{
	switch (s) {
	case UKF_START_COLD:
		return "cold";
	case UKF_START_TEMPLATE:
		return "template";
	case UKF_START_FORK:
		return "fork";
	default:
		return "unknown";
	}
}

/*
 * Split "123.5xyz" into a non-negative number and its unit suffix. The
 * number has the one form every number written as text has in ukfork
 * (docs/scenarios.md, Units): decimal digits, optionally a fraction
 * ".digits". No sign, blank, hex, exponent, inf or nan: "0x10M" and
 * "1e3ms" are refused, not read as 16 MiB and one second.
 */
static int split_num(const char *s, double *num, const char **unit)
{
	size_t n = 0;
	char *end;

	if (!s)
		return -1;
	while (s[n] >= '0' && s[n] <= '9')
		n++;
	if (!n)
		return -1;
	if (s[n] == '.' && s[n + 1] >= '0' && s[n + 1] <= '9') {
		n++;
		while (s[n] >= '0' && s[n] <= '9')
			n++;
	}
	errno = 0;
	*num = strtod(s, &end);
	/* strtod reads further than the decimal form ("0x10", "1e3",
	 * "1."): what it took beyond n is not a number here */
	if (errno || end != s + n)
		return -1;
	*unit = end;
	return 0;
}

int ukf_parse_size(const char *s, uint64_t *out)
{
	double n, mul;
	const char *u;

	if (split_num(s, &n, &u) < 0)
		return -1;
	if (!*u || !strcmp(u, "B"))
		mul = 1;
	else if (!strcmp(u, "K") || !strcmp(u, "k") || !strcmp(u, "KiB"))
		mul = 1024.0;
	else if (!strcmp(u, "M") || !strcmp(u, "MiB"))
		mul = 1024.0 * 1024;
	else if (!strcmp(u, "G") || !strcmp(u, "GiB"))
		mul = 1024.0 * 1024 * 1024;
	else
		return -1;
	n *= mul;
	if (n >= 18446744073709551615.0)
		return -1;
	*out = (uint64_t)n;
	return 0;
}

/* Times at or past this many ns are refused (the clock's range, with a
 * margin; ukf_ns_t is signed 64-bit). */
#define TIME_LIM 9200000000000000000ULL

/*
 * The decimal number at s ("digits[.digits]", as split_num took it: n
 * bytes) times mul = 10^k, exactly, rounded half up: "8888888.88082s"
 * is 8,888,888,880,820,000 ns and "9007199254740993ns" that many, where
 * going through a double was off by a few ns past 2^53 (104 days). 0, or
 * -1 if the result would be TIME_LIM or more.
 */
static int dec_scaled(const char *s, size_t n, unsigned k, uint64_t *out)
{
	uint64_t v = 0, mul = 1, f = 0;
	size_t i = 0;

	for (unsigned j = 0; j < k; j++)
		mul *= 10;
	for (; i < n && s[i] != '.'; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (TIME_LIM - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v > TIME_LIM / mul)
		return -1;
	v *= mul;
	if (i < n)
		i++; /* the '.' */
	/* the first k digits of the fraction, then the next one rounds */
	for (unsigned j = 0; j < k; j++) {
		f *= 10;
		if (i < n)
			f += (unsigned)(s[i++] - '0');
	}
	if (i < n && s[i] >= '5')
		f++;
	if (f >= TIME_LIM - v)
		return -1;
	*out = v + f;
	return 0;
}

int ukf_parse_time_unit(const char *s, ukf_ns_t unit, ukf_ns_t *out)
{
	double n;
	const char *u;
	unsigned k;
	uint64_t v;

	if (split_num(s, &n, &u) < 0)
		return -1;
	if (!*u)
		k = unit == 1 ? 0 : unit == UKF_US ? 3 : unit == UKF_MS ? 6
		    : unit == UKF_S ? 9 : 99;
	else if (!strcmp(u, "ms"))
		k = 6;
	else if (!strcmp(u, "ns"))
		k = 0;
	else if (!strcmp(u, "us"))
		k = 3;
	else if (!strcmp(u, "s"))
		k = 9;
	else
		return -1;
	if (k > 9 || dec_scaled(s, (size_t)(u - s), k, &v) < 0)
		return -1;
	*out = (ukf_ns_t)v;
	return 0;
}

int ukf_parse_time(const char *s, ukf_ns_t *out)
{
	return ukf_parse_time_unit(s, UKF_MS, out);
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static void app_defaults(struct ukf_app *app)
{
	memset(app, 0, sizeof(*app));
	app->mem_bytes = 64ULL << 20;
	app->init_ns = 50 * UKF_MS;
	app->work_ns = 10 * UKF_MS;
	app->dirty_pages = 256;
	app->fork = 0;
	app->units = 1;
	app->vcpus = 1;
	app->image_bytes = 2ULL << 20;
}

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

/* Apply one key=value pair. */
static int apply_kv(struct ukf_app *app, const char *key, const char *val,
		    char *err, size_t errlen)
{
	uint64_t sz;

	if (!strcmp(key, "mem")) {
		if (ukf_parse_size(val, &sz) < 0 || sz == 0)
			return ERR("mem=%s: expected a size > 0 such as 64M or "
				   "1.5G (decimal)",
				   val);
		app->mem_bytes = sz;
	} else if (!strcmp(key, "init") || !strcmp(key, "work")) {
		ukf_ns_t t;
		if (ukf_parse_time(val, &t) < 0)
			return ERR("%s=%s: expected a time such as 50ms or "
				   "1.5s (decimal)",
				   key, val);
		if (key[0] == 'i')
			app->init_ns = t;
		else
			app->work_ns = t;
	} else if (!strcmp(key, "dirty") || !strcmp(key, "fork") ||
		   !strcmp(key, "units") || !strcmp(key, "vcpus")) {
		uint32_t v;
		if (parse_u32(val, &v) < 0)
			return ERR("%s=%s: expected a whole number 0 to "
				   "4294967295 (decimal digits)",
				   key, val);
		if (!strcmp(key, "vcpus") && v == 0)
			return ERR("vcpus=%s: must be at least 1", val);
		if (key[0] == 'd')
			app->dirty_pages = v;
		else if (key[0] == 'f')
			app->fork = v;
		else if (key[0] == 'u')
			app->units = v;
		else
			app->vcpus = v;
	} else if (!strcmp(key, "image")) {
		/* A size models the image; anything else names the guest file.
		 */
		if (ukf_parse_size(val, &sz) == 0) {
			app->image_bytes = sz;
		} else if (strchr(val, '/') || strchr(val, '.')) {
			if (strlen(val) >= sizeof(app->image))
				return ERR("image=%s: path too long", val);
			strcpy(app->image, val);
		} else {
			return ERR(
			    "image=%s: expected a size such as 2M (decimal) or "
			    "a path",
			    val);
		}
	} else {
		return ERR("unknown key '%s' (valid: mem init work dirty fork "
			   "units vcpus image)",
			   key);
	}
	return 0;
}

/* Each key=value of kv (blank-separated, shorter than UKF_APP_ARGS_MAX)
 * onto app, in order. */
static int apply_all(struct ukf_app *app, const char *kv, char *err,
		     size_t errlen)
{
	char tok[UKF_APP_ARGS_MAX];
	const char *p = kv;

	for (;;) {
		size_t n;
		char *eq;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		n = strcspn(p, " \t\r\n");
		memcpy(tok, p, n);
		tok[n] = 0;
		p += n;
		eq = strchr(tok, '=');
		if (!eq || eq == tok)
			return ERR("'%s': expected key=value", tok);
		*eq = 0;
		if (apply_kv(app, tok, eq + 1, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int ukf_app_parse(struct ukf_app *app, const char *name, const char *kv,
		  char *err, size_t errlen)
{
	if (!app || !name)
		return ERR("no application");
	app_defaults(app);
	if (!*name || strlen(name) >= sizeof(app->name))
		return ERR("bad application name '%s' (1-%d characters)", name,
			   UKF_APP_NAME_MAX - 1);
	strcpy(app->name, name);
	if (!kv)
		kv = "";
	if (strlen(kv) >= sizeof(app->args))
		return ERR("%s: argument string longer than %d bytes", name,
			   UKF_APP_ARGS_MAX - 1);
	strcpy(app->args, kv);
	return apply_all(app, kv, err, errlen);
}

int ukf_app_overlay(struct ukf_app *app, const char *kv, char *err,
		    size_t errlen)
{
	if (!app)
		return ERR("no application");
	if (!kv)
		kv = "";
	if (strlen(kv) >= sizeof(app->args))
		return ERR("%s: argument string longer than %d bytes",
			   app->name, UKF_APP_ARGS_MAX - 1);
	return apply_all(app, kv, err, errlen);
}
