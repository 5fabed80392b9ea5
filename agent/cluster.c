/* SPDX-License-Identifier: MIT */
/* cluster.c - parse and check the cluster file (one table of keys per section),
 * read secret key files, build transport configurations. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "cluster.h"
#include "tpmsg.h"

#define LINE_MAX_LEN 4096
#define NODES_MAX    65536u
#define CLIENTS_MAX  4096u

enum sect { S_NONE, S_CLUSTER, S_NODE, S_CLIENT };

enum vtype {
	V_NAME,	    /* [A-Za-z0-9_.-]+ */
	V_ENUM,	    /* one of the names in `en` */
	V_TIME,	    /* ukf_parse_time, min..max ns */
	V_SIZE,	    /* ukf_parse_size, min..max bytes */
	V_U32,	    /* decimal, min..max */
	V_KEY,	    /* Z85 CURVE public key */
	V_PATH,	    /* file name, relative to the cluster file */
	V_ENDPOINT, /* tcp://HOST:PORT or ipc://PATH */
	V_URLS,	    /* comma-separated http(s)://... */
	V_PREFIX,   /* /something */
};

struct enumval {
	const char *name;
	int value;
};

static const struct enumval dir_names[] = {
    {"embedded", UKF_CLUSTER_DIR_EMBEDDED},
    {"etcd", UKF_CLUSTER_DIR_ETCD},
    {0}};
static const struct enumval compress_names[] = {{"zstd", UKF_TP_COMPRESS_ZSTD},
						{"lz4", UKF_TP_COMPRESS_LZ4},
						{"none", UKF_TP_COMPRESS_NONE},
						{0}};

struct keydef {
	enum sect sect;
	const char *name;
	enum vtype t;
	size_t off, cap; /* cap: string capacity, or value width */
	uint64_t min, max;
	const struct enumval *en;
	int required;
};

#define CL(f)                                                                  \
	offsetof(struct ukf_cluster, f), sizeof(((struct ukf_cluster *)0)->f)
#define ND(f)                                                                  \
	offsetof(struct ukf_cluster_node, f),                                  \
	    sizeof(((struct ukf_cluster_node *)0)->f)
#define CI(f)                                                                  \
	offsetof(struct ukf_cluster_client, f),                                \
	    sizeof(((struct ukf_cluster_client *)0)->f)

static const struct keydef keys[] = {
    {S_CLUSTER, "name", V_NAME, CL(name), 0, 0, NULL, 1},
    {S_CLUSTER, "directory", V_ENUM, CL(directory), 0, 0, dir_names, 0},
    {S_CLUSTER, "heartbeat", V_TIME, CL(heartbeat_ns), UKF_MS, 60 * UKF_S, NULL,
     0},
    {S_CLUSTER, "peer_timeout", V_TIME, CL(peer_timeout_ns), 2 * UKF_MS,
     3600 * UKF_S, NULL, 0},
    {S_CLUSTER, "etcd_endpoints", V_URLS, CL(etcd_endpoints), 0, 0, NULL, 0},
    {S_CLUSTER, "etcd_prefix", V_PREFIX, CL(etcd_prefix), 0, 0, NULL, 0},
    {S_CLUSTER, "etcd_ca", V_PATH, CL(etcd_ca), 0, 0, NULL, 0},
    {S_CLUSTER, "etcd_cert", V_PATH, CL(etcd_cert), 0, 0, NULL, 0},
    {S_CLUSTER, "etcd_key", V_PATH, CL(etcd_key), 0, 0, NULL, 0},
    {S_CLUSTER, "etcd_lease_ttl", V_TIME, CL(etcd_lease_ttl_ns), UKF_S,
     3600 * UKF_S, NULL, 0},
    {S_CLUSTER, "bulk_chunk", V_SIZE, CL(bulk_chunk), UKF_TP_CHUNK_MIN,
     UKF_TP_CHUNK_MAX, NULL, 0},
    {S_CLUSTER, "bulk_window", V_U32, CL(bulk_window), 1, 1024, NULL, 0},
    {S_CLUSTER, "bulk_max", V_SIZE, CL(bulk_max), 1, UKF_TP_BULK_ABS_MAX, NULL,
     0},
    {S_CLUSTER, "compress", V_ENUM, CL(compress), 0, 0, compress_names, 0},
    {S_NODE, "endpoint", V_ENDPOINT, ND(endpoint), 0, 0, NULL, 1},
    {S_NODE, "public_key", V_KEY, ND(public_key), 0, 0, NULL, 1},
    {S_NODE, "secret_key_file", V_PATH, ND(secret_key_file), 0, 0, NULL, 1},
    {S_NODE, "backend", V_NAME, ND(backend), 0, 0, NULL, 0},
    {S_NODE, "vcpus", V_U32, ND(vcpus), 1, 4096, NULL, 0},
    {S_NODE, "memory", V_SIZE, ND(memory), 1 << 20, UINT64_MAX, NULL, 0},
    {S_NODE, "cache", V_SIZE, ND(cache), 0, UINT64_MAX, NULL, 0},
    {S_NODE, "netns", V_NAME, ND(netns), 0, 0, NULL, 0},
    {S_CLIENT, "public_key", V_KEY, CI(public_key), 0, 0, NULL, 1},
    {S_CLIENT, "secret_key_file", V_PATH, CI(secret_key_file), 0, 0, NULL, 1},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Where each key was set in the current section (0: not set). */
struct parse {
	const char *path;
	char base[2 * UKF_CLUSTER_PATH_MAX]; /* for relative paths */
	struct ukf_cluster *c;
	enum sect sect;
	void *target; /* the struct the section's keys fill */
	int sect_line;
	char sect_name[80];
	int set_at[NKEYS];
	int cluster_at[NKEYS]; /* [cluster]'s, kept for the final checks */
	int have_cluster;
	char *err;
	size_t errlen;
};

static int fail(struct parse *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct parse *ps, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(ps->err, ps->errlen, "%s:%d: ", ps->path, line);

	if (n < 0 || (size_t)n >= ps->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int is_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return 0;
	return 1;
}

/* Decimal without sign into *v (<= max). */
static int parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || *end || x > max)
		return -1;
	*v = x;
	return 0;
}

static int resolve(struct parse *ps, const char *v, char *out, size_t cap)
{
	int n = v[0] == '/' ? snprintf(out, cap, "%s", v)
			    : snprintf(out, cap, "%s/%s", ps->base, v);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int check_endpoint(const char *v, char *why, size_t wl)
{
	const char *colon;
	uint64_t port;

	if (!strncmp(v, "ipc://", 6)) {
		if (!v[6]) {
			snprintf(why, wl, "ipc:// needs a path");
			return -1;
		}
		return 0;
	}
	if (strncmp(v, "tcp://", 6)) {
		snprintf(why, wl, "'%s' is not tcp://HOST:PORT or ipc://PATH",
			 v);
		return -1;
	}
	colon = strrchr(v + 6, ':');
	if (!colon || colon == v + 6 || parse_u64(colon + 1, 65535, &port) ||
	    port == 0) {
		snprintf(why, wl, "'%s' is not tcp://HOST:PORT (port 1..65535)",
			 v);
		return -1;
	}
	if (v[6] == '*') {
		snprintf(why, wl,
			 "'%s': peers dial this endpoint, it needs a "
			 "real host, not *",
			 v);
		return -1;
	}
	return 0;
}

static int check_urls(const char *v, char *why, size_t wl)
{
	const char *p = v;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (!((n > 7 && !strncmp(p, "http://", 7)) ||
		      (n > 8 && !strncmp(p, "https://", 8)))) {
			snprintf(why, wl,
				 "'%.*s' is not an http:// or https:// URL",
				 (int)n, p);
			return -1;
		}
		p += n + (e ? 1 : 0);
		if (e && !*p) {
			snprintf(why, wl, "empty URL after ','");
			return -1;
		}
	}
	return 0;
}

/* Store value v of key k into ps->target. */
static int set_value(struct parse *ps, int line, const struct keydef *k,
		     const char *v)
{
	char *dst = (char *)ps->target + k->off, why[200];
	uint64_t u;
	ukf_ns_t t;

	switch (k->t) {
	case V_NAME:
		if (!is_name(v) || strlen(v) >= k->cap)
			return fail(ps, line,
				    "%s = %s: expected a name of letters, "
				    "digits, '_', '.', '-' (at most %zu)",
				    k->name, v, k->cap - 1);
		strcpy(dst, v);
		return 0;
	case V_ENUM:
		for (const struct enumval *e = k->en; e->name; e++)
			if (!strcmp(e->name, v)) {
				memcpy(dst, &e->value, sizeof(int));
				return 0;
			}
		snprintf(why, sizeof(why), "%s", k->en[0].name);
		for (const struct enumval *e = k->en + 1; e->name; e++)
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 " | %s", e->name);
		return fail(ps, line, "%s = %s: expected %s", k->name, v, why);
	case V_TIME:
		if (ukf_parse_time(v, &t) < 0 || t < (ukf_ns_t)k->min ||
		    t > (ukf_ns_t)k->max)
			return fail(ps, line,
				    "%s = %s: expected a time such as 250ms or "
				    "3s, %" PRIu64 " ms to %" PRIu64 " s",
				    k->name, v, k->min / (uint64_t)UKF_MS,
				    k->max / (uint64_t)UKF_S);
		memcpy(dst, &t, sizeof(t));
		return 0;
	case V_SIZE:
		if (ukf_parse_size(v, &u) < 0 || u < k->min || u > k->max)
			return fail(ps, line,
				    "%s = %s: expected a size such as 256K or "
				    "16G, from %" PRIu64 " bytes%s",
				    k->name, v, k->min,
				    k->max == UINT64_MAX ? ""
							 : " (and a maximum)");
		memcpy(dst, &u, sizeof(u));
		return 0;
	case V_U32:
		if (parse_u64(v, k->max, &u) < 0 || u < k->min)
			return fail(ps, line,
				    "%s = %s: expected a whole number %" PRIu64
				    "..%" PRIu64,
				    k->name, v, k->min, k->max);
		if (k->cap == sizeof(uint32_t)) {
			uint32_t w = (uint32_t)u;

			memcpy(dst, &w, sizeof(w));
		} else {
			memcpy(dst, &u, sizeof(u));
		}
		return 0;
	case V_KEY:
		if (!ukf_tp_key_valid(v))
			return fail(ps, line,
				    "%s: '%.60s' is not a CURVE key (40 Z85 "
				    "characters; make one with `ukfork keys`)",
				    k->name, v);
		strcpy(dst, v);
		return 0;
	case V_PATH:
		if (resolve(ps, v, dst, k->cap) < 0)
			return fail(ps, line, "%s: path too long", k->name);
		return 0;
	case V_ENDPOINT:
		if (check_endpoint(v, why, sizeof(why)) < 0 ||
		    strlen(v) >= k->cap)
			return fail(ps, line, "endpoint: %s",
				    strlen(v) >= k->cap ? "too long" : why);
		strcpy(dst, v);
		return 0;
	case V_URLS:
		if (check_urls(v, why, sizeof(why)) < 0 || strlen(v) >= k->cap)
			return fail(ps, line, "%s: %s", k->name,
				    strlen(v) >= k->cap ? "too long" : why);
		strcpy(dst, v);
		return 0;
	case V_PREFIX:
		if (v[0] != '/' || strlen(v) >= k->cap)
			return fail(ps, line,
				    "%s = %s: expected a key prefix starting "
				    "with '/'",
				    k->name, v);
		strcpy(dst, v);
		return 0;
	}
	return fail(ps, line, "internal: key type");
}

/* A section ends: its required keys must have been set. */
static int end_section(struct parse *ps)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].sect == ps->sect && keys[i].required &&
		    !ps->set_at[i])
			return fail(ps, ps->sect_line, "[%s] has no %s",
				    ps->sect_name, keys[i].name);
	if (ps->sect == S_CLUSTER)
		memcpy(ps->cluster_at, ps->set_at, sizeof(ps->set_at));
	return 0;
}

static int begin_section(struct parse *ps, int line, char *s)
{
	struct ukf_cluster *c = ps->c;
	char *word = s, *arg;
	uint64_t id;

	while (*word == ' ' || *word == '\t')
		word++;
	arg = word + strcspn(word, " \t");
	if (*arg) {
		*arg++ = 0;
		while (*arg == ' ' || *arg == '\t')
			arg++;
		arg[strcspn(arg, " \t")] = 0; /* trailing blanks */
	}
	memset(ps->set_at, 0, sizeof(ps->set_at));
	ps->sect_line = line;
	if (!strcmp(word, "cluster")) {
		if (*arg)
			return fail(ps, line, "[cluster] takes no name");
		if (ps->have_cluster)
			return fail(ps, line, "a second [cluster] section");
		ps->have_cluster = line;
		ps->sect = S_CLUSTER;
		ps->target = c;
		snprintf(ps->sect_name, sizeof(ps->sect_name), "cluster");
		return 0;
	}
	if (!strcmp(word, "node")) {
		struct ukf_cluster_node *n;

		if (parse_u64(arg, NODES_MAX - 1, &id) < 0)
			return fail(ps, line,
				    "[node %s]: expected a node id 0..%u", arg,
				    NODES_MAX - 1);
		for (size_t i = 0; i < c->nnodes; i++)
			if (c->nodes[i].id == id)
				return fail(ps, line,
					    "[node %" PRIu64
					    "] again (first at line %d)",
					    id, c->nodes[i].line);
		if (c->nnodes >= NODES_MAX)
			return fail(ps, line, "more than %u nodes", NODES_MAX);
		n = realloc(c->nodes, (c->nnodes + 1) * sizeof(*n));
		if (!n)
			return fail(ps, line, "out of memory");
		c->nodes = n;
		n = &c->nodes[c->nnodes++];
		memset(n, 0, sizeof(*n));
		n->id = (uint32_t)id;
		n->line = line;
		strcpy(n->backend, "kvm");
		ps->sect = S_NODE;
		ps->target = n;
		snprintf(ps->sect_name, sizeof(ps->sect_name), "node %" PRIu64,
			 id);
		return 0;
	}
	if (!strcmp(word, "client")) {
		struct ukf_cluster_client *k;

		if (!is_name(arg) || strlen(arg) >= UKF_CLUSTER_NAME_MAX)
			return fail(ps, line,
				    "[client %s]: expected a name of letters, "
				    "digits, '_', '.', '-'",
				    arg);
		for (size_t i = 0; i < c->nclients; i++)
			if (!strcmp(c->clients[i].name, arg))
				return fail(ps, line,
					    "[client %s] again (first at line "
					    "%d)",
					    arg, c->clients[i].line);
		if (c->nclients >= CLIENTS_MAX)
			return fail(ps, line, "more than %u clients",
				    CLIENTS_MAX);
		k = realloc(c->clients, (c->nclients + 1) * sizeof(*k));
		if (!k)
			return fail(ps, line, "out of memory");
		c->clients = k;
		k = &c->clients[c->nclients++];
		memset(k, 0, sizeof(*k));
		strcpy(k->name, arg);
		k->line = line;
		ps->sect = S_CLIENT;
		ps->target = k;
		snprintf(ps->sect_name, sizeof(ps->sect_name), "client %s",
			 arg);
		return 0;
	}
	return fail(ps, line,
		    "unknown section [%s%s%s] (expected [cluster], [node N] or "
		    "[client NAME])",
		    word, *arg ? " " : "", arg);
}

static int key_line(struct parse *ps, int line, char *s)
{
	char *eq = strchr(s, '='), *key = s, *val, *p;
	char known[300] = "";
	const struct keydef *k = NULL;
	size_t ki = 0;

	if (!eq)
		return fail(
		    ps, line,
		    "expected 'key = value' or a [section], got '%.60s'", s);
	*eq = 0;
	val = eq + 1;
	for (p = eq - 1; p >= key && (*p == ' ' || *p == '\t'); p--)
		*p = 0;
	while (*val == ' ' || *val == '\t')
		val++;
	if (!*key)
		return fail(ps, line, "a value without a key");
	if (ps->sect == S_NONE)
		return fail(ps, line, "%s = ... before any [section]", key);
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].sect != ps->sect)
			continue;
		snprintf(known + strlen(known), sizeof(known) - strlen(known),
			 "%s%s", *known ? ", " : "", keys[i].name);
		if (!strcmp(keys[i].name, key)) {
			k = &keys[i];
			ki = i;
		}
	}
	if (!k)
		return fail(ps, line, "unknown key '%s' in [%s] (known: %s)",
			    key, ps->sect_name, known);
	if (ps->set_at[ki])
		return fail(ps, line, "%s set again in [%s] (first at line %d)",
			    key, ps->sect_name, ps->set_at[ki]);
	if (!*val)
		return fail(ps, line, "%s has no value", key);
	if (val[strcspn(val, " \t")])
		return fail(ps, line,
			    "%s = %s: one word expected (no blanks in a value)",
			    key, val);
	ps->set_at[ki] = line;
	return set_value(ps, line, k, val);
}

/* Strip a comment: '#' at the start or after a blank (a Z85 key may hold
 * '#' inside), then trailing blanks. */
static void strip(char *s)
{
	size_t n;

	for (char *p = s; *p; p++)
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = 0;
			break;
		}
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
}

static int line_of(const struct parse *ps, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].sect == S_CLUSTER && !strcmp(keys[i].name, key))
			return ps->cluster_at[i];
	return 0;
}

static int final_checks(struct parse *ps, int last)
{
	struct ukf_cluster *c = ps->c;
	struct ukf_cluster_node *sorted;
	int l;

	if (!ps->have_cluster)
		return fail(ps, last ? last : 1, "no [cluster] section");
	if (!c->nnodes)
		return fail(ps, last ? last : 1, "no [node 0] section");
	if (c->peer_timeout_ns <= c->heartbeat_ns) {
		l = line_of(ps, "peer_timeout");
		return fail(ps, l ? l : line_of(ps, "heartbeat"),
			    "peer_timeout (%" PRId64 " ms) must be longer "
			    "than heartbeat (%" PRId64 " ms)",
			    (int64_t)(c->peer_timeout_ns / UKF_MS),
			    (int64_t)(c->heartbeat_ns / UKF_MS));
	}
	if (c->directory == UKF_CLUSTER_DIR_ETCD && !c->etcd_endpoints[0])
		return fail(ps, line_of(ps, "directory"),
			    "directory = etcd needs etcd_endpoints");
	if (c->directory != UKF_CLUSTER_DIR_ETCD) {
		static const char *const ek[] = {"etcd_endpoints",
						 "etcd_prefix", "etcd_ca",
						 "etcd_cert", "etcd_key",
						 "etcd_lease_ttl"};

		for (size_t i = 0; i < sizeof(ek) / sizeof(ek[0]); i++)
			if ((l = line_of(ps, ek[i])))
				return fail(ps, l, "%s needs directory = etcd",
					    ek[i]);
	}
	if (c->etcd_lease_ttl_ns % UKF_S) {
		l = line_of(ps, "etcd_lease_ttl");
		return fail(ps, l, "etcd_lease_ttl must be whole seconds (etcd leases count seconds)");
	}
	if (!c->etcd_cert[0] != !c->etcd_key[0])
		return fail(
		    ps, line_of(ps, c->etcd_cert[0] ? "etcd_cert" : "etcd_key"),
		    "etcd_cert and etcd_key go together");
	/* node ids 0..N-1, each once: put them in id order */
	sorted = calloc(c->nnodes, sizeof(*sorted));
	if (!sorted)
		return fail(ps, last, "out of memory");
	for (size_t i = 0; i < c->nnodes; i++) {
		if (c->nodes[i].id >= c->nnodes) {
			uint32_t miss = 0;

			while (miss < c->nnodes) {
				size_t j = 0;

				while (j < c->nnodes && c->nodes[j].id != miss)
					j++;
				if (j == c->nnodes)
					break;
				miss++;
			}
			free(sorted);
			return fail(ps, c->nodes[i].line,
				    "[node %" PRIu32 "] but there is no [node "
				    "%" PRIu32 "]: node ids are 0..N-1, each "
				    "once (%zu nodes)",
				    c->nodes[i].id, miss, c->nnodes);
		}
		sorted[c->nodes[i].id] = c->nodes[i];
	}
	free(c->nodes);
	c->nodes = sorted;
	/* distinct endpoints and keys */
	for (size_t i = 0; i < c->nnodes; i++) {
		for (size_t j = 0; j < i; j++) {
			const struct ukf_cluster_node *a = &c->nodes[j],
						      *b = &c->nodes[i];
			const struct ukf_cluster_node *later =
			    a->line > b->line ? a : b;
			const struct ukf_cluster_node *first =
			    later == a ? b : a;

			if (!strcmp(a->endpoint, b->endpoint))
				return fail(ps, later->line,
					    "[node %" PRIu32 "] has the "
					    "endpoint of [node %" PRIu32
					    "] (%s)",
					    later->id, first->id, a->endpoint);
			if (!strcmp(a->public_key, b->public_key))
				return fail(ps, later->line,
					    "[node %" PRIu32 "] has the "
					    "public_key of [node %" PRIu32 "]",
					    later->id, first->id);
		}
		for (size_t j = 0; j < c->nclients; j++)
			if (!strcmp(c->nodes[i].public_key,
				    c->clients[j].public_key))
				return fail(ps,
					    c->clients[j].line >
						    c->nodes[i].line
						? c->clients[j].line
						: c->nodes[i].line,
					    "[client %s] and [node %" PRIu32
					    "] have the same public_key",
					    c->clients[j].name, c->nodes[i].id);
	}
	for (size_t i = 0; i < c->nclients; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->clients[i].public_key,
				    c->clients[j].public_key))
				return fail(ps, c->clients[i].line,
					    "[client %s] has the public_key of "
					    "[client %s]",
					    c->clients[i].name,
					    c->clients[j].name);
	return 0;
}

static int build_tp_views(struct ukf_cluster *c)
{
	c->tp_peers = calloc(c->nnodes, sizeof(*c->tp_peers));
	c->tp_client_keys = calloc(c->nclients + 1, UKF_TP_KEY_Z85);
	if (!c->tp_peers || !c->tp_client_keys)
		return -1;
	for (size_t i = 0; i < c->nnodes; i++) {
		c->tp_peers[i].node = c->nodes[i].id;
		memcpy(c->tp_peers[i].endpoint, c->nodes[i].endpoint,
		       sizeof(c->tp_peers[i].endpoint));
		memcpy(c->tp_peers[i].public_key, c->nodes[i].public_key,
		       UKF_TP_KEY_Z85);
	}
	for (size_t i = 0; i < c->nclients; i++)
		memcpy(c->tp_client_keys[i], c->clients[i].public_key,
		       UKF_TP_KEY_Z85);
	return 0;
}

/* The directory relative paths start from: the cluster file's, made
 * absolute. -1 if it does not fit. */
static int set_base(struct parse *ps, const char *path)
{
	const char *slash = strrchr(path, '/');
	int dl = slash ? (int)(slash - path) : 0, n;
	char cwd[UKF_CLUSTER_PATH_MAX];

	if (slash == path)
		n = snprintf(ps->base, sizeof(ps->base), "/");
	else if (path[0] == '/')
		n = snprintf(ps->base, sizeof(ps->base), "%.*s", dl, path);
	else if (!getcwd(cwd, sizeof(cwd)))
		n = snprintf(ps->base, sizeof(ps->base), "%.*s", slash ? dl : 1,
			     slash ? path : ".");
	else if (slash)
		n = snprintf(ps->base, sizeof(ps->base), "%s/%.*s", cwd, dl,
			     path);
	else
		n = snprintf(ps->base, sizeof(ps->base), "%s", cwd);
	return n < 0 || (size_t)n >= sizeof(ps->base) ? -1 : 0;
}

int ukf_cluster_parse(struct ukf_cluster **out, const char *text, size_t len,
		      const char *path, char *err, size_t errlen)
{
	struct parse ps = {
	    .path = path ? path : "(cluster)", .err = err, .errlen = errlen};
	struct ukf_cluster *c;
	char *buf;
	size_t at = 0;
	int line = 0, rc = -1;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	buf = malloc(LINE_MAX_LEN + 2);
	if (!c || !buf) {
		free(c);
		free(buf);
		snprintf(err, errlen, "%s: out of memory", ps.path);
		return -1;
	}
	snprintf(c->path, sizeof(c->path), "%s", ps.path);
	c->heartbeat_ns = 250 * UKF_MS;
	c->peer_timeout_ns = 3 * UKF_S;
	c->etcd_lease_ttl_ns = 5 * UKF_S;
	c->compress = UKF_TP_COMPRESS_ZSTD;
	ps.c = c;
	if (set_base(&ps, ps.path) < 0) {
		snprintf(err, errlen, "%s: path too long", ps.path);
		goto out;
	}
	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
		char *s = buf;

		line++;
		if (n > LINE_MAX_LEN) {
			fail(&ps, line, "line longer than %d bytes",
			     LINE_MAX_LEN);
			goto out;
		}
		memcpy(buf, text + at, n);
		buf[n] = 0;
		at += n + (nl ? 1 : 0);
		for (size_t i = 0; i < n; i++)
			if ((buf[i] < 32 && buf[i] != '\t' && buf[i] != '\r') ||
			    buf[i] == 127) {
				fail(&ps, line, "control character 0x%02x",
				     (unsigned char)buf[i]);
				goto out;
			}
		strip(s);
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			continue;
		if (*s == '[') {
			size_t e = strlen(s);

			if (s[e - 1] != ']') {
				fail(&ps, line, "section line without ']'");
				goto out;
			}
			s[e - 1] = 0;
			if ((ps.sect != S_NONE && end_section(&ps) < 0) ||
			    begin_section(&ps, line, s + 1) < 0)
				goto out;
			continue;
		}
		if (key_line(&ps, line, s) < 0)
			goto out;
	}
	if (ps.sect != S_NONE && end_section(&ps) < 0)
		goto out;
	if (final_checks(&ps, line) < 0)
		goto out;
	if (build_tp_views(c) < 0) {
		snprintf(err, errlen, "%s: out of memory", ps.path);
		goto out;
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	free(buf);
	ukf_cluster_destroy(&c);
	return rc;
}

int ukf_cluster_load(struct ukf_cluster **out, const char *path, char *err,
		     size_t errlen)
{
	FILE *f;
	char *text = NULL;
	size_t cap = 0, len = 0;
	int rc;

	*out = NULL;
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		if (len + 4096 > cap) {
			char *t;

			if (cap > (16u << 20)) {
				snprintf(err, errlen,
					 "%s: larger than 16 MiB: not a "
					 "cluster file",
					 path);
				free(text);
				fclose(f);
				return -1;
			}
			cap = cap ? 2 * cap : 65536;
			t = realloc(text, cap);
			if (!t) {
				snprintf(err, errlen, "%s: out of memory",
					 path);
				free(text);
				fclose(f);
				return -1;
			}
			text = t;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(text);
		fclose(f);
		return -1;
	}
	fclose(f);
	rc = ukf_cluster_parse(out, text ? text : "", len, path, err, errlen);
	free(text);
	return rc;
}

void ukf_cluster_destroy(struct ukf_cluster **cp)
{
	struct ukf_cluster *c = cp ? *cp : NULL;

	if (!c)
		return;
	*cp = NULL;
	free(c->nodes);
	free(c->clients);
	free(c->tp_peers);
	free(c->tp_client_keys);
	free(c);
}

const struct ukf_cluster_node *ukf_cluster_node(const struct ukf_cluster *c,
						uint32_t id)
{
	return c && id < c->nnodes ? &c->nodes[id] : NULL;
}

const struct ukf_cluster_client *ukf_cluster_client(const struct ukf_cluster *c,
						    const char *name)
{
	for (size_t i = 0; c && name && i < c->nclients; i++)
		if (!strcmp(c->clients[i].name, name))
			return &c->clients[i];
	return NULL;
}

/* "node N" / "client NAME" -> its key file, public key, section line. */
static int find_member(const struct ukf_cluster *c, const char *who,
		       const char **file, const char **pub, int *line,
		       uint32_t *node, char *err, size_t errlen)
{
	uint64_t id;

	if (who && !strncmp(who, "node ", 5) &&
	    parse_u64(who + 5, UINT32_MAX, &id) == 0) {
		const struct ukf_cluster_node *n =
		    ukf_cluster_node(c, (uint32_t)id);

		if (!n) {
			snprintf(err, errlen, "%s: no [%s] (nodes 0..%zu)",
				 c->path, who, c->nnodes - 1);
			return -1;
		}
		*file = n->secret_key_file;
		*pub = n->public_key;
		*line = n->line;
		*node = n->id;
		return 0;
	}
	if (who && !strncmp(who, "client ", 7)) {
		const struct ukf_cluster_client *k =
		    ukf_cluster_client(c, who + 7);

		if (!k) {
			snprintf(err, errlen, "%s: no [%s]", c->path, who);
			return -1;
		}
		*file = k->secret_key_file;
		*pub = k->public_key;
		*line = k->line;
		*node = UKF_FRAME_CLIENT;
		return 0;
	}
	snprintf(err, errlen, "%s: '%s': expected \"node N\" or \"client NAME\"",
		 c->path, who ? who : "(null)");
	return -1;
}

int ukf_cluster_load_secret(const struct ukf_cluster *c, const char *who,
			    char out[UKF_TP_KEY_Z85], char *err, size_t errlen)
{
	const char *file, *pub;
	char buf[128], derived[UKF_TP_KEY_Z85];
	struct stat st;
	ssize_t n;
	uint32_t node;
	int line, fd;

	if (find_member(c, who, &file, &pub, &line, &node, err, errlen) < 0)
		return -1;
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "%s:%d: secret_key_file %s of [%s]: %s",
			 c->path, line, file, who, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
			 "%s:%d: secret_key_file %s of [%s]: not a regular file",
			 c->path, line, file, who);
		close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "%s:%d: secret_key_file %s of [%s] has mode %04o: a "
			 "secret key must not be readable or writable by group "
			 "or others (chmod 600 %s)",
			 c->path, line, file, who,
			 (unsigned)(st.st_mode & 07777), file);
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s:%d: secret_key_file %s of [%s]: %s",
			 c->path, line, file, who, strerror(errno));
		return -1;
	}
	buf[n] = 0;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
		     buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = 0;
	if (!ukf_tp_key_valid(buf)) {
		explicit_bzero(buf, sizeof(buf));
		snprintf(err, errlen,
			 "%s:%d: secret_key_file %s of [%s]: expected one line "
			 "of 40 Z85 characters (a secret key from `ukfork keys`)",
			 c->path, line, file, who);
		return -1;
	}
	if (zmq_curve_public(derived, buf) < 0 || strcmp(derived, pub)) {
		explicit_bzero(buf, sizeof(buf));
		snprintf(err, errlen,
			 "%s:%d: secret_key_file %s is not the secret key of "
			 "the public_key of [%s]",
			 c->path, line, file, who);
		return -1;
	}
	memcpy(out, buf, UKF_TP_KEY_Z85);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int ukf_cluster_tp_config(const struct ukf_cluster *c, const char *who,
			  uint64_t inc, struct ukf_tp_config *tc, char *err,
			  size_t errlen)
{
	const char *file, *pub;
	uint32_t node;
	int line;

	if (find_member(c, who, &file, &pub, &line, &node, err, errlen) < 0 ||
	    ukf_cluster_load_secret(c, who, tc->secret_key, err, errlen) < 0)
		return -1;
	tc->self = node;
	tc->incarnation = inc;
	tc->bind = node == UKF_FRAME_CLIENT ? NULL : c->nodes[node].endpoint;
	memcpy(tc->public_key, pub, UKF_TP_KEY_Z85);
	tc->peers = c->tp_peers;
	tc->npeers = c->nnodes;
	tc->client_keys =
	    node == UKF_FRAME_CLIENT
		? NULL
		: (const char(*)[UKF_TP_KEY_Z85])c->tp_client_keys;
	tc->nclients = node == UKF_FRAME_CLIENT ? 0 : c->nclients;
	tc->heartbeat_ns = c->heartbeat_ns;
	tc->peer_timeout_ns = c->peer_timeout_ns;
	tc->bulk_chunk = (size_t)c->bulk_chunk;
	tc->bulk_window = (size_t)c->bulk_window;
	tc->bulk_max = c->bulk_max;
	tc->compress = c->compress;
	return 0;
}
