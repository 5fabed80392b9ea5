/* SPDX-License-Identifier: MIT */
/* model.c - the VM cost model: compiled-in defaults and the model file reader. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sf_gamma.h>

#include "sim_int.h"

/* The same numbers as data/model.conf, which names each one's source
 * (a test checks that the two agree). */
void ukf_sim_model_default(struct ukf_sim_model *m)
{
	memset(m, 0, sizeof(*m));
	m->boot_base_ns = 2300 * UKF_US;
	m->boot_ns_per_byte = 0.5;
	m->template_base_ns = 1 * UKF_MS;
	m->template_ns_per_byte = 0.7;
	m->clone_base_ns = 1300 * UKF_US;
	m->clone_ns_per_page = 250;
	m->touch_ns_per_page = 1000;
	m->restore_base_ns = 10 * UKF_MS;
	m->restore_ns_per_page = 250;
	m->destroy_ns = 1 * UKF_MS;
	m->jitter = 0.1;
	m->load_base_ns = 1 * UKF_MS;
	m->load_ns_per_byte = 0.25;
	m->save_ns_per_page = 250;
	m->boot_ns_per_mem_byte = 0;
}

enum ftype { F_TIME, F_REAL, F_DIST, F_COUNT, F_BYTES, F_CURVE, F_WORD };

/* delta_idle_since's words, by their values (a uint64_t field) */
static const char *const since_words[] = { "message", "activity", NULL };

static const struct field {
	const char *name;
	enum ftype type;
	size_t off;
	const char *const *words; /* F_WORD: its words, NULL-ended */
} fields[] = {
#define T(f) { #f, F_TIME, offsetof(struct ukf_sim_model, f), NULL }
#define R(f) { #f, F_REAL, offsetof(struct ukf_sim_model, f), NULL }
	T(boot_base_ns),     R(boot_ns_per_byte),
	T(template_base_ns), R(template_ns_per_byte),
	T(clone_base_ns),    T(clone_ns_per_page),
	T(touch_ns_per_page),
	T(restore_base_ns),  T(restore_ns_per_page),
	T(destroy_ns),       R(jitter),
	T(load_base_ns),     R(load_ns_per_byte),
	T(save_ns_per_page), R(boot_ns_per_mem_byte),
#define D(name, op) { #name, F_DIST, offsetof(struct ukf_sim_model, dist) + \
			 (op) * sizeof(struct ukf_sim_dist), NULL }
	D(boot_dist, UKF_SIM_OP_BOOT),   D(template_dist, UKF_SIM_OP_TEMPLATE),
	D(load_dist, UKF_SIM_OP_LOAD),   D(clone_dist, UKF_SIM_OP_CLONE),
	D(fork_dist, UKF_SIM_OP_FORK),   D(save_dist, UKF_SIM_OP_SAVE),
	D(restore_dist, UKF_SIM_OP_RESTORE), D(unit_dist, UKF_SIM_OP_UNIT),
#undef D
	T(agent_msg_ns),
	{ "monitor_slots", F_COUNT, offsetof(struct ukf_sim_model, monitor_slots), NULL },
	{ "host_mem_bytes", F_BYTES, offsetof(struct ukf_sim_model, host_mem_bytes), NULL },
	T(fork_base_ns),
	T(dir_delay_ns),     T(dir_delay_p99_ns),
	T(clone_first_ns),
	T(peer_msg_ns),
	{ "load_curve", F_CURVE, offsetof(struct ukf_sim_model, load_curve), NULL },
	R(fetched_first_ns_per_byte),
	R(clone_ns_per_byte),
	T(local_clone_ns),
	{ "idle_curve", F_CURVE, offsetof(struct ukf_sim_model, idle_curve), NULL },
	{ "boot_idle_curve", F_CURVE,
	  offsetof(struct ukf_sim_model, boot_idle_curve), NULL },
	{ "msg_idle_curve", F_CURVE,
	  offsetof(struct ukf_sim_model, msg_idle_curve), NULL },
	{ "delta_idle_curve", F_CURVE,
	  offsetof(struct ukf_sim_model, delta_idle_curve), NULL },
	{ "delta_idle_since", F_WORD,
	  offsetof(struct ukf_sim_model, delta_idle_since), since_words },
#undef T
#undef R
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))
_Static_assert(NFIELDS <= 64, "load_fields() keeps the lines seen of 64 keys (and *given has 64 bits)");

/* A time: a non-negative decimal number with an optional unit ns/us/ms/s;
 * a bare number is nanoseconds (the keys say _ns). */
static int parse_time(const char *s, ukf_ns_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return -1;
	double mult = 1;
	if (!strcmp(end, "") || !strcmp(end, "ns"))
		mult = 1;
	else if (!strcmp(end, "us"))
		mult = 1e3;
	else if (!strcmp(end, "ms"))
		mult = 1e6;
	else if (!strcmp(end, "s"))
		mult = 1e9;
	else
		return -1;
	v = v * mult;
	if (v > 9e18)
		return -1;
	*out = (ukf_ns_t)llround(v);
	return 0;
}

static int parse_real(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(v) || v < 0)
		return -1;
	*out = v;
	return 0;
}

/* A count: a whole number in [0, 1000000]. */
static int parse_count(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || *end || errno || v > 1000000)
		return -1;
	*out = v;
	return 0;
}

/* A size: a whole number of bytes, or with a suffix K, M, G or T (powers
 * of 1024), at most 2^60. */
static int parse_bytes(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;
	if (end == s || errno)
		return -1;
	if (*end) {
		const char *u = strchr("KMGT", toupper((unsigned char)*end));
		if (!u || end[1])
			return -1;
		shift = 10 * (unsigned)(u - "KMGT" + 1);
	}
	if (v > (1ULL << 60) >> shift)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

double ukf_sim_empirical_mean(const double q[UKF_SIM_EMP_Q])
{
	double mean = 0;

	for (int i = 0; i + 1 < UKF_SIM_EMP_Q; i++)
		mean += (q[i] + q[i + 1]) / 2;
	return mean / (UKF_SIM_EMP_Q - 1);
}

/* "empirical Q0 Q5 ... Q100": 21 quantiles, non-decreasing, Q0 >= 0,
 * Q100 > 0, scaled to a piecewise-linear quantile function of mean 1. */
static int parse_empirical(const char *s, struct ukf_sim_dist *out)
{
	double q[UKF_SIM_EMP_Q];
	char *end;

	for (int i = 0; i < UKF_SIM_EMP_Q; i++) {
		if (!isspace((unsigned char)*s))
			return -1;
		errno = 0;
		q[i] = strtod(s, &end);
		if (end == s || errno || !isfinite(q[i]) || q[i] < 0 ||
		    q[i] > 1e12 || (i && q[i] < q[i - 1]))
			return -1;
		s = end;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s)
		return -1;
	double mean = ukf_sim_empirical_mean(q);
	if (!(mean > 0))
		return -1;
	memset(out, 0, sizeof(*out));
	out->family = UKF_SIM_DIST_EMPIRICAL;
	for (int i = 0; i < UKF_SIM_EMP_Q; i++)
		out->q[i] = q[i] / mean;
	return 0;
}

/* A distribution: "none", or a family name and its two parameters,
 * "lognormal MU SIGMA" (SIGMA > 0), "gamma K THETA", "weibull K LAMBDA"
 * (all > 0), "loglogistic K ALPHA" (K > 1: its mean, which the factor is
 * scaled by, is infinite for K <= 1; ALPHA > 0), separated by blanks; or
 * "empirical" and 21 quantiles (parse_empirical). */
static int parse_dist(const char *s, struct ukf_sim_dist *out)
{
	static const char *const names[] = { "none", "lognormal", "gamma",
					     "weibull", "loglogistic",
					     "empirical" };
	enum { NNAMES = sizeof(names) / sizeof(names[0]) };
	char fam[16], *end;
	size_t n = strcspn(s, " \t");
	int f;

	if (n == 0 || n >= sizeof(fam))
		return -1;
	memcpy(fam, s, n);
	fam[n] = 0;
	for (f = 0; f < NNAMES; f++)
		if (!strcmp(fam, names[f]))
			break;
	if (f == NNAMES)
		return -1;
	s += n;
	if (f == UKF_SIM_DIST_EMPIRICAL)
		return parse_empirical(s, out);
	if (f == UKF_SIM_DIST_NONE) {
		if (*s)
			return -1;
		memset(out, 0, sizeof(*out));
		return 0;
	}
	double p[2];
	for (int i = 0; i < 2; i++) {
		if (!isspace((unsigned char)*s))
			return -1;
		errno = 0;
		p[i] = strtod(s, &end);
		if (end == s || errno || !isfinite(p[i]))
			return -1;
		s = end;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s || !(p[1] > 0) || (f != UKF_SIM_DIST_LOGNORMAL && !(p[0] > 0)))
		return -1;
	/* a shape this far out has no usable quantiles */
	if (f == UKF_SIM_DIST_LOGNORMAL ? p[1] > 20 : (p[0] < 1e-3 || p[0] > 1e6))
		return -1;
	if (f == UKF_SIM_DIST_LOGLOGISTIC && !(p[0] > 1))
		return -1;
	memset(out, 0, sizeof(*out));
	out->family = f;
	out->p1 = p[0];
	out->p2 = p[1];
	return 0;
}

int ukf_sim_curve_ok(const struct ukf_sim_curve *c)
{
	if (!c->n)
		return 1;
	if (c->n < 2 || c->n > UKF_SIM_CURVE_MAX)
		return 0;
	for (uint32_t i = 0; i < c->n; i++)
		if (!(c->x[i] >= 0) || !isfinite(c->x[i]) || !(c->y[i] >= 0) ||
		    !isfinite(c->y[i]) || (i && !(c->x[i] > c->x[i - 1])))
			return 0;
	return 1;
}

/* "none", or 2 to UKF_SIM_CURVE_MAX pairs "X Y" of numbers making a
 * curve ukf_sim_curve_ok takes. */
static int parse_curve(const char *s, struct ukf_sim_curve *out)
{
	struct ukf_sim_curve c;
	char *end;

	memset(&c, 0, sizeof(c));
	if (!strcmp(s, "none")) {
		*out = c;
		return 0;
	}
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		if (c.n == UKF_SIM_CURVE_MAX)
			return -1;
		for (int i = 0; i < 2; i++) {
			while (isspace((unsigned char)*s))
				s++;
			errno = 0;
			double v = strtod(s, &end);
			if (end == s || errno ||
			    (*end && !isspace((unsigned char)*end)))
				return -1;
			*(i ? &c.y[c.n] : &c.x[c.n]) = v;
			s = end;
		}
		c.n++;
	}
	if (!c.n || !ukf_sim_curve_ok(&c))
		return -1;
	*out = c;
	return 0;
}

double ukf_sim_curve_eval(const struct ukf_sim_curve *c, double x)
{
	if (c->n < 2)
		return c->n ? c->y[0] : 0;
	/* below the first point: proportional to x (a size half the first
	 * costs half; the first segment's line could reach 0 well above 0) */
	if (x < c->x[0])
		return c->x[0] > 0 && x > 0 ? c->y[0] * x / c->x[0] : 0;
	uint32_t k = 1; /* the segment [k-1, k]: the last one beyond */
	while (k + 1 < c->n && x > c->x[k])
		k++;
	double y = c->y[k - 1] + (c->y[k] - c->y[k - 1]) *
				     (x - c->x[k - 1]) /
				     (c->x[k] - c->x[k - 1]);
	/* beyond the last point: its line, but never under the last
	 * point's cost per byte (a flat or falling last segment of noisy
	 * means would make a size beyond the measured ones cheap) */
	uint32_t l = c->n - 1;
	if (x > c->x[l] && c->x[l] > 0 && y < c->y[l] * x / c->x[l])
		y = c->y[l] * x / c->x[l];
	return y > 0 ? y : 0;
}

double ukf_sim_idle_eval(const struct ukf_sim_curve *c, double x)
{
	if (!c->n)
		return 0;
	if (x <= c->x[0])
		return c->y[0];
	uint32_t l = c->n - 1;
	if (x >= c->x[l])
		return c->y[l];
	uint32_t k = 1; /* the segment [k-1, k] holding x */
	while (x > c->x[k])
		k++;
	return c->y[k - 1] + (c->y[k] - c->y[k - 1]) * (x - c->x[k - 1]) /
				     (c->x[k] - c->x[k - 1]);
}

/* A word of words: its index into the uint64_t at out. */
static int parse_word(const char *s, const char *const *words, uint64_t *out)
{
	for (uint64_t i = 0; words && words[i]; i++)
		if (!strcmp(s, words[i])) {
			*out = i;
			return 0;
		}
	return -1;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

/* The longest line a model file may have before its comment (its
 * newline included when there is no comment). */
#define LINE_MAX_BYTES 1023

/* Read `key = value  # comment` lines of path into the fields of *tmp. */
static int load_fields(void *tmp, const struct field *fields, size_t nfields,
		       const char *path, uint64_t *given, uint64_t *digest,
		       char *err, size_t errlen)
{
	uint64_t h = UKF_FNV_INIT;
	unsigned seen[64] = { 0 };
	unsigned lineno = 0;
	int rc = -1;

	if (!path) {
		snprintf(err, errlen, "model: no file name");
		return -1;
	}
	/* A regular file only, looked at before it is opened: a FIFO's open
	 * waits for a writer for ever, a device (/dev/zero) feeds lines of
	 * NULs, blank to this loop, for ever. */
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s, not a model file", path,
			 S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
		return -1;
	}
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t linecap = 0;
	ssize_t got;
	while ((got = getline(&line, &linecap, f)) >= 0) {
		lineno++;
		h = ukf_fnv1a(line, (size_t)got, h);
		/* a NUL would end the line early, silently: the rest unread */
		if (memchr(line, 0, (size_t)got)) {
			snprintf(err, errlen,
				 "%s:%u: a NUL byte in the line (a model file "
				 "is text)",
				 path, lineno);
			goto out;
		}
		/* the limit is the key = value's: a comment may be longer
		 * (the provenance calibrate writes: a command line with a
		 * long --note is one line) */
		char *hash = strchr(line, '#');
		if ((hash ? (size_t)(hash - line) : (size_t)got) >
		    LINE_MAX_BYTES) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			goto out;
		}
		if (hash)
			*hash = 0;
		char *s = trim(line);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected 'key = value', got '%.60s'",
				 path, lineno, s);
			goto out;
		}
		*eq = 0;
		char *key = trim(s), *val = trim(eq + 1);
		size_t i;
		for (i = 0; i < nfields; i++)
			if (!strcmp(fields[i].name, key))
				break;
		if (i == nfields) {
			char names[768] = "";
			for (size_t j = 0; j < nfields; j++) {
				strncat(names, fields[j].name, sizeof(names) - strlen(names) - 1);
				if (j + 1 < nfields)
					strncat(names, ", ", sizeof(names) - strlen(names) - 1);
			}
			snprintf(err, errlen, "%s:%u: unknown key '%.60s' (valid: %s)",
				 path, lineno, key, names);
			goto out;
		}
		if (seen[i]) {
			snprintf(err, errlen, "%s:%u: key '%s' already set on line %u",
				 path, lineno, key, seen[i]);
			goto out;
		}
		seen[i] = lineno;
		void *dst = (char *)tmp + fields[i].off;
		int bad = fields[i].type == F_TIME    ? parse_time(val, dst)
			  : fields[i].type == F_DIST  ? parse_dist(val, dst)
			  : fields[i].type == F_COUNT ? parse_count(val, dst)
			  : fields[i].type == F_BYTES ? parse_bytes(val, dst)
			  : fields[i].type == F_CURVE ? parse_curve(val, dst)
			  : fields[i].type == F_WORD
				  ? parse_word(val, fields[i].words, dst)
				  : parse_real(val, dst);
		/* the world refuses a jitter above 5 (sim/world.c): said
		 * here, at its line, not as "model costs must be >= 0" */
		if (!bad && !strcmp(key, "jitter") &&
		    *(double *)dst > UKF_SIM_JITTER_MAX) {
			snprintf(err, errlen,
				 "%s:%u: bad value '%.60s' for 'jitter' "
				 "(expected a lognormal sigma from 0 to 5)",
				 path, lineno, val);
			goto out;
		}
		if (bad && fields[i].type == F_WORD) {
			char w[128] = "";
			for (int k = 0; fields[i].words[k]; k++)
				snprintf(w + strlen(w), sizeof(w) - strlen(w),
					 "%s%s", k ? " or " : "",
					 fields[i].words[k]);
			snprintf(err, errlen,
				 "%s:%u: bad value '%.60s' for '%s' (expected %s)",
				 path, lineno, val, key, w);
			goto out;
		}
		if (bad) {
			snprintf(err, errlen,
				 "%s:%u: bad value '%.60s' for '%s' (expected %s)", path,
				 lineno, val, key,
				 fields[i].type == F_TIME
					 ? "a non-negative time: 123, 2.3ms, 50us, 1s"
				 : fields[i].type == F_DIST
					 ? "none, lognormal MU SIGMA, gamma K THETA, "
					   "weibull K LAMBDA or loglogistic K ALPHA, "
					   "parameters > 0 (MU any; loglogistic K > 1), "
					   "or empirical and 21 non-decreasing "
					   "quantiles >= 0 (0, 5%, ... 100%)"
				 : fields[i].type == F_COUNT
					 ? "a whole number from 0 to 1000000"
				 : fields[i].type == F_BYTES
					 ? "a size: 1073741824, 512M, 16G"
				 : fields[i].type == F_CURVE
					 ? "none, or 2 to 16 pairs BYTES NS of "
					   "numbers >= 0, BYTES increasing"
					 : "a non-negative number");
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s:%u: read error", path, lineno);
		goto out;
	}
	rc = 0;
	if (digest)
		*digest = h;
	if (given)
		for (size_t i = 0; i < nfields && i < 64; i++)
			if (seen[i])
				*given |= 1ULL << i;
out:
	free(line);
	fclose(f);
	return rc;
}

int ukf_sim_model_load(struct ukf_sim_model *m, const char *path, char *err,
		       size_t errlen)
{
	return ukf_sim_model_load_keys(m, path, NULL, NULL, err, errlen);
}

int ukf_sim_model_load_keys(struct ukf_sim_model *m, const char *path,
			    uint64_t *given, uint64_t *digest, char *err,
			    size_t errlen)
{
	struct ukf_sim_model tmp = *m;
	uint64_t g = 0;

	if (load_fields(&tmp, fields, NFIELDS, path, &g, digest, err,
			errlen) < 0)
		return -1;
	if (tmp.dir_delay_p99_ns && tmp.dir_delay_p99_ns < tmp.dir_delay_ns) {
		snprintf(err, errlen,
			 "%s: dir_delay_p99_ns (%lld ns) is below dir_delay_ns "
			 "(%lld ns), the median",
			 path, (long long)tmp.dir_delay_p99_ns,
			 (long long)tmp.dir_delay_ns);
		return -1;
	}
	if (tmp.dir_delay_p99_ns && !tmp.dir_delay_ns) {
		snprintf(err, errlen,
			 "%s: dir_delay_p99_ns is given without dir_delay_ns "
			 "(the median): give both or neither",
			 path);
		return -1;
	}
	*m = tmp;
	if (given)
		*given |= g;
	return 0;
}

int ukf_sim_model_format(const struct ukf_sim_model *m, const char *key,
			 char *buf, size_t cap)
{
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];
		const void *v = (const char *)m + f->off;
		if (strcmp(f->name, key))
			continue;
		switch (f->type) {
		case F_TIME:
			snprintf(buf, cap, "%lld", (long long)*(const ukf_ns_t *)v);
			return 0;
		case F_REAL:
			snprintf(buf, cap, "%g", *(const double *)v);
			return 0;
		case F_COUNT:
		case F_BYTES:
			snprintf(buf, cap, "%llu",
				 (unsigned long long)*(const uint64_t *)v);
			return 0;
		case F_WORD:
			for (uint64_t k = 0; f->words[k]; k++)
				if (k == *(const uint64_t *)v) {
					snprintf(buf, cap, "%s", f->words[k]);
					return 0;
				}
			return -1;
		case F_DIST:
		case F_CURVE:
			return -1;
		}
	}
	return -1;
}

size_t ukf_sim_model_unset(uint64_t given, char *buf, size_t cap)
{
	size_t n = 0, len = 0;
	int curve = 0;

	if (cap)
		buf[0] = 0;
	for (size_t i = 0; i < NFIELDS && i < 64; i++)
		curve |= (given >> i & 1) && !strcmp(fields[i].name, "load_curve");
	for (size_t i = 0; i < NFIELDS && i < 64; i++) {
		const struct field *f = &fields[i];
		/* a load_curve given takes the place of the load line */
		if (curve && !strncmp(f->name, "load_", 5))
			continue;
		/* a cost or a host limit; not a *_dist (none: the jitter),
		 * the directory's pair (the scenario's own) or destroy_ns
		 * (not charged) */
		if ((given >> i & 1) || f->type == F_DIST || f->type == F_CURVE ||
		    f->type == F_WORD ||
		    !strncmp(f->name, "dir_delay", 9) ||
		    !strcmp(f->name, "destroy_ns"))
			continue;
		n++;
		if (len < cap) {
			int k = snprintf(buf + len, cap - len, "%s%s",
					 len ? ", " : "", f->name);
			len = k < 0 ? cap : len + (size_t)k;
		}
	}
	return n;
}

int ukf_sim_model_random(const struct ukf_sim_model *m, enum ukf_sim_op op)
{
	if ((unsigned)op < UKF_SIM_NOPS && m->dist[op].family != UKF_SIM_DIST_NONE)
		return 1;
	return m->jitter > 0;
}

double ukf_sim_model_factor(const struct ukf_sim_model *m, enum ukf_sim_op op,
			    double z)
{
	const struct ukf_sim_dist *d =
		(unsigned)op < UKF_SIM_NOPS ? &m->dist[op] : NULL;
	double sigma, q, k, x;

	if (isnan(z))
		return 1;
	switch (d ? d->family : UKF_SIM_DIST_NONE) {
	case UKF_SIM_DIST_LOGNORMAL:
		sigma = d->p2;
		return exp(sigma * z - 0.5 * sigma * sigma);
	case UKF_SIM_DIST_GAMMA:
		/* Gamma(k, 1/k) has mean 1; the upper tail through Q keeps
		 * precision for large z */
		k = d->p1;
		if (k > 1000) {
			/* GSL's inverse goes wrong past k ~ 1800 and calls
			 * its error handler (abort) past ~3500; there the
			 * Wilson-Hilferty cube, ((1 - c) + z sqrt c)^3 with
			 * c = 1/(9k), is within 2e-4 of it for |z| <= 8
			 * (mean 1 - c^3) */
			q = 1 / (9 * k);
			x = 1 - q + z * sqrt(q);
			return x > 0 ? x * x * x : 0;
		}
		x = z > 0 ? gsl_cdf_gamma_Qinv(gsl_cdf_ugaussian_Q(z), k, 1 / k)
			  : gsl_cdf_gamma_Pinv(gsl_cdf_ugaussian_P(z), k, 1 / k);
		return isfinite(x) && x >= 0 ? x : (z > 0 ? 1e6 : 0);
	case UKF_SIM_DIST_WEIBULL:
		/* X = lambda (-ln(1-u))^(1/k), mean lambda Gamma(1 + 1/k) */
		k = d->p1;
		q = gsl_cdf_ugaussian_Q(z); /* 1 - u */
		if (!(q > 0))
			return 1e6;
		x = pow(z > 0 ? -log(q) : -log1p(-gsl_cdf_ugaussian_P(z)),
			1 / k) /
		    gsl_sf_gamma(1 + 1 / k);
		return isfinite(x) && x >= 0 ? x : 1e6;
	case UKF_SIM_DIST_LOGLOGISTIC:
		/*
		 * The heavy-tailed family (issue 11): ln X is logistic, so
		 * P(X > x) ~ (x/alpha)^-k, a power-law tail where lognormal,
		 * gamma and Weibull all fall off faster than any power. Chosen
		 * over a Pareto/Lomax because it also has a body (a mode
		 * above 0 for k > 1, as operation costs do) and over a
		 * shifted family because it keeps two parameters (the same
		 * AIC footing as the others). Its quantile is closed-form,
		 * alpha (u/(1-u))^(1/k), so the common-random-numbers draw is
		 * the same inversion of u = Phi(z) as for the others: ln P(z)
		 * and ln Q(z) are each taken from GSL's own tail (relative
		 * precision either side), Q's asymptote past its underflow
		 * keeps the factor monotone in z. Mean alpha b / sin b, b =
		 * pi/k (finite for k > 1, which the loader demands).
		 */
		k = d->p1;
		q = gsl_cdf_ugaussian_Q(z);
		if (q > 0)
			x = log(gsl_cdf_ugaussian_P(z)) - log(q);
		else /* z > 37: ln Q(z) ~ -z^2/2 - ln(z sqrt(2 pi)) */
			x = 0.5 * z * z + log(z * sqrt(2 * M_PI));
		x = x / k + log(sin(M_PI / k) / (M_PI / k));
		return exp(fmin(x, 700));
	case UKF_SIM_DIST_EMPIRICAL:
		/* measured quantiles, linear between them: u = Phi(z) */
		q = (z > 0 ? 1 - gsl_cdf_ugaussian_Q(z) : gsl_cdf_ugaussian_P(z)) *
		    (UKF_SIM_EMP_Q - 1);
		k = floor(q);
		if (k >= UKF_SIM_EMP_Q - 1)
			return d->q[UKF_SIM_EMP_Q - 1];
		if (k < 0)
			return d->q[0];
		return d->q[(int)k] +
		       (q - k) * (d->q[(int)k + 1] - d->q[(int)k]);
	default:
		sigma = m->jitter;
		if (!(sigma > 0))
			return 1;
		return exp(sigma * z - 0.5 * sigma * sigma);
	}
}

/* ---- the directory model ---- */

/* The same numbers as data/directory.conf, which names their source
 * (bench/cluster/directory.sh; a test checks that the two agree). */
void ukf_sim_dirmodel_default(struct ukf_sim_dirmodel *m)
{
	memset(m, 0, sizeof(*m));
	m->embedded_delay_ns = 66 * UKF_US;
	m->embedded_delay_p99_ns = 197 * UKF_US;
	m->embedded_detect_ns = 2970 * UKF_MS;
	m->etcd_delay_ns = 1110 * UKF_US;
	m->etcd_delay_p99_ns = 3340 * UKF_US;
	m->etcd_detect_ns = 2870 * UKF_MS;
	m->etcd3_delay_ns = 2510 * UKF_US;
	m->etcd3_delay_p99_ns = 7590 * UKF_US;
	m->etcd3_detect_ns = 2870 * UKF_MS;
}

static const struct field dir_fields[] = {
#define T(f) { #f, F_TIME, offsetof(struct ukf_sim_dirmodel, f), NULL }
	T(embedded_delay_ns), T(embedded_delay_p99_ns), T(embedded_detect_ns),
	T(etcd_delay_ns),     T(etcd_delay_p99_ns),     T(etcd_detect_ns),
	T(etcd3_delay_ns),    T(etcd3_delay_p99_ns),    T(etcd3_detect_ns),
#undef T
};

int ukf_sim_dirmodel_load(struct ukf_sim_dirmodel *m, const char *path,
			  char *err, size_t errlen)
{
	struct ukf_sim_dirmodel tmp = *m;

	if (load_fields(&tmp, dir_fields, sizeof(dir_fields) / sizeof(dir_fields[0]),
			path, NULL, NULL, err, errlen) < 0)
		return -1;
	*m = tmp;
	return 0;
}

int ukf_sim_dirmodel_pick(const struct ukf_sim_dirmodel *m, const char *name,
			  ukf_ns_t *delay, ukf_ns_t *p99, ukf_ns_t *detect)
{
	const ukf_ns_t *v;

	if (!strcmp(name, "embedded"))
		v = &m->embedded_delay_ns;
	else if (!strcmp(name, "etcd"))
		v = &m->etcd_delay_ns;
	else if (!strcmp(name, "etcd3"))
		v = &m->etcd3_delay_ns;
	else
		return -1;
	*delay = v[0];
	*p99 = v[1];
	*detect = v[2];
	return 0;
}

/* ---- injected faults ---- */

static const struct {
	const char *name;
	size_t off;
} fault_keys[] = {
#define K(f) { #f, offsetof(struct ukf_sim_faults, f) }
	K(boot), K(clone), K(template), K(save_delta), K(crash),
#undef K
};
#define NFAULTS (sizeof(fault_keys) / sizeof(fault_keys[0]))

int ukf_sim_faults_parse(struct ukf_sim_faults *f, const char *spec,
			 char *err, size_t errlen)
{
	struct ukf_sim_faults tmp;
	unsigned seen = 0;
	const char *p = spec ? spec : "";

	memset(&tmp, 0, sizeof(tmp));
	while (isspace((unsigned char)*p))
		p++;
	if (!strcmp(p, "none")) /* whole spec */
		p += 4;
	while (*p) {
		char pair[64], *eq;
		size_t n = 0, i;

		while (p[n] && !isspace((unsigned char)p[n]))
			n++;
		if (n >= sizeof(pair)) {
			snprintf(err, errlen, "faults: '%.*s...' is too long",
				 20, p);
			return -1;
		}
		memcpy(pair, p, n);
		pair[n] = 0;
		p += n;
		while (isspace((unsigned char)*p))
			p++;
		eq = strchr(pair, '=');
		if (eq)
			*eq = 0;
		for (i = 0; i < NFAULTS; i++)
			if (!strcmp(fault_keys[i].name, pair))
				break;
		if (!eq || i == NFAULTS) {
			snprintf(err, errlen,
				 "faults: '%s' is not key=probability with a "
				 "key of boot, clone, template, save_delta, "
				 "crash",
				 pair);
			return -1;
		}
		if (seen & (1u << i)) {
			snprintf(err, errlen, "faults: '%s' given twice", pair);
			return -1;
		}
		seen |= 1u << i;
		double v;
		if (strspn(eq + 1, "0123456789.") != strlen(eq + 1) ||
		    parse_real(eq + 1, &v) < 0 || v > 1) {
			snprintf(err, errlen,
				 "faults: %s=%s: expected a probability in "
				 "[0, 1]",
				 pair, eq + 1);
			return -1;
		}
		memcpy((char *)&tmp + fault_keys[i].off, &v, sizeof(v));
	}
	*f = tmp;
	return 0;
}
