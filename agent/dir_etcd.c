/* SPDX-License-Identifier: MIT */
/* dir_etcd.c - a node agent's cluster directory on etcd: lease, guarded writes, watch, replica. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "agent/dir_etcd.h"
#include "core/dir.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

struct replica {
	uint8_t present;
	uint64_t run, incarnation;
	int64_t revision;
	size_t len;
	unsigned char rec[512];
};

struct ukf_dir_etcd {
	struct ukf_dir_etcd_config c;
	char prefix[256], nodes_prefix[300];
	ukf_etcd_t *wr, *wa; /* the writer's and the watcher's clients */
	pthread_t twr, twa;
	int have_twr, have_twa;
	int efd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	volatile int stop;
	/* events for the agent (mu) */
	struct ukf_dir_etcd_event *q;
	size_t qn, qhead, qcap;
	/* the writer's work (mu) */
	int dirty;
	uint64_t run;
	size_t len;
	unsigned char rec[512];
	/* state for status (mu) */
	int degraded, stale;
	int bad[2]; /* the writer (0), the watcher (1) cannot reach etcd */
	char derr[256];
	struct timespec since;
	int64_t revision;
	/* writer only */
	int64_t lease, lease_ttl, node_mod;
	uint32_t written_tpl[UKF_DIR_MAX_TEMPLATES], nwritten_tpl;
	ukf_dir_t *scratch; /* decodes this node's records */
	uint64_t scratch_run;
	/* watcher only */
	uint8_t *seen_present;
	uint64_t *seen_inc;
	/* the agent's thread only */
	struct replica *rep;
};

static int64_t now_ns(clockid_t clk)
{
	struct timespec t;

	clock_gettime(clk, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* ---- events to the agent ---- */

static void push(ukf_dir_etcd_t *d, const struct ukf_dir_etcd_event *ev)
{
	uint64_t one = 1;

	pthread_mutex_lock(&d->mu);
	if (d->qhead == d->qn) {
		d->qhead = d->qn = 0;
	}
	if (d->qn == d->qcap) {
		if (d->qhead > 0) {
			memmove(d->q, d->q + d->qhead,
				(d->qn - d->qhead) * sizeof(*d->q));
			d->qn -= d->qhead;
			d->qhead = 0;
		}
		if (d->qn == d->qcap) {
			size_t cap = d->qcap ? d->qcap * 2 : 64;
			void *p = realloc(d->q, cap * sizeof(*d->q));
			if (!p) {
				pthread_mutex_unlock(&d->mu);
				return; /* the next fresh read repairs it */
			}
			d->q = p;
			d->qcap = cap;
		}
	}
	d->q[d->qn++] = *ev;
	pthread_mutex_unlock(&d->mu);
	if (write(d->efd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow in practice */
	}
}

static void logf_(ukf_dir_etcd_t *d, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void logf_(ukf_dir_etcd_t *d, int level, const char *fmt, ...)
{
	struct ukf_dir_etcd_event ev = { .kind = UKF_DE_LOG, .level = level };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ev.why, sizeof(ev.why), fmt, ap);
	va_end(ap);
	push(d, &ev);
}

int ukf_dir_etcd_fd(const ukf_dir_etcd_t *d)
{
	return d->efd;
}

int ukf_dir_etcd_next(ukf_dir_etcd_t *d, struct ukf_dir_etcd_event *ev)
{
	uint64_t cnt;
	int got = 0;

	pthread_mutex_lock(&d->mu);
	if (d->qhead < d->qn) {
		*ev = d->q[d->qhead++];
		got = 1;
	} else {
		/* drained: reset the eventfd (non-blocking) */
		if (read(d->efd, &cnt, sizeof(cnt)) < 0) {
			/* EAGAIN: nothing was counted */
		}
	}
	pthread_mutex_unlock(&d->mu);
	if (got && ev->node < d->c.nodes) {
		struct replica *r = &d->rep[ev->node];
		if (ev->kind == UKF_DE_RECORD) {
			r->present = 1;
			r->run = ev->run;
			r->incarnation = ev->incarnation;
			r->revision = ev->revision;
			r->len = ev->len;
			memcpy(r->rec, ev->rec, ev->len);
		} else if (ev->kind == UKF_DE_GONE) {
			memset(r, 0, sizeof(*r));
		}
	}
	return got;
}

size_t ukf_dir_etcd_replica(const ukf_dir_etcd_t *d, uint32_t node,
			    uint64_t run, void *buf, size_t cap)
{
	const struct replica *r;

	if (node >= d->c.nodes)
		return 0;
	r = &d->rep[node];
	if (!r->present || r->run != run || !r->len || r->len > cap)
		return 0;
	memcpy(buf, r->rec, r->len);
	return r->len;
}

uint32_t ukf_dir_etcd_known(const ukf_dir_etcd_t *d)
{
	uint32_t n = 1; /* this node (the watcher leaves it out) */

	for (uint32_t k = 0; k < d->c.nodes; k++)
		n += d->rep[k].present;
	return n;
}

/* ---- values ---- */

static void key_node(const ukf_dir_etcd_t *d, uint32_t node, char *out,
		     size_t cap)
{
	snprintf(out, cap, "%s/nodes/%u", d->prefix, node);
}

/* A node's value, as JSON text (to free). */
static char *node_json(const ukf_dir_etcd_t *d, uint64_t run,
		       const struct ukf_dir_record *r)
{
	json_object *j = json_object_new_object(), *t = json_object_new_array();
	char *s;

	json_object_object_add(j, "node", json_object_new_int64(d->c.self));
	json_object_object_add(j, "incarnation",
			       json_object_new_uint64(d->c.incarnation));
	json_object_object_add(j, "run", json_object_new_uint64(run));
	json_object_object_add(j, "version", json_object_new_uint64(r->version));
	json_object_object_add(j, "vcpus_total",
			       json_object_new_int64(r->vcpus_total));
	json_object_object_add(j, "vcpus_free",
			       json_object_new_int64(r->vcpus_free));
	json_object_object_add(j, "mem_total", json_object_new_uint64(r->mem_total));
	json_object_object_add(j, "mem_free", json_object_new_uint64(r->mem_free));
	json_object_object_add(j, "instances",
			       json_object_new_int64(r->instances));
	for (uint32_t k = 0; k < r->ntemplates && k < UKF_DIR_MAX_TEMPLATES; k++)
		json_object_array_add(t, json_object_new_int64(r->templates[k]));
	json_object_object_add(j, "templates", t);
	/* each template's version, in the same order (hex: a u64) */
	t = json_object_new_array();
	for (uint32_t k = 0; k < r->ntemplates && k < UKF_DIR_MAX_TEMPLATES; k++) {
		char hex[20];
		snprintf(hex, sizeof(hex), "%016llx",
			 (unsigned long long)r->tvers[k]);
		json_object_array_add(t, json_object_new_string(hex));
	}
	json_object_object_add(j, "template_versions", t);
	json_object_object_add(j, "written_ns",
			       json_object_new_int64(now_ns(CLOCK_REALTIME)));
	s = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	json_object_put(j);
	return s;
}

/* A template key's value, {"node":N,"app":A,"run":R}, into out (cap
 * bytes); -1 when json-c cannot allocate or the text does not fit. */
static int tpl_json(const ukf_dir_etcd_t *d, uint64_t run, uint32_t app,
		    char *out, size_t cap)
{
	json_object *j = json_object_new_object();
	int rc = -1;

	if (!j)
		return -1;
	if (!json_object_object_add(j, "node",
				    json_object_new_int64(d->c.self)) &&
	    !json_object_object_add(j, "app", json_object_new_int64(app)) &&
	    !json_object_object_add(j, "run", json_object_new_uint64(run))) {
		const char *s =
			json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
		if (s && strlen(s) < cap) {
			memcpy(out, s, strlen(s) + 1);
			rc = 0;
		}
	}
	json_object_put(j);
	return rc;
}

static int64_t jget(json_object *j, const char *k, int *ok)
{
	json_object *v;

	if (!json_object_object_get_ex(j, k, &v) ||
	    (!json_object_is_type(v, json_type_int) &&
	     !json_object_is_type(v, json_type_string))) {
		*ok = 0;
		return 0;
	}
	return json_object_get_int64(v);
}

static uint64_t jget_u(json_object *j, const char *k, int *ok)
{
	json_object *v;

	if (!json_object_object_get_ex(j, k, &v) ||
	    !json_object_is_type(v, json_type_int)) {
		*ok = 0;
		return 0;
	}
	return json_object_get_uint64(v);
}

/*
 * A node's value -> an event (record of that run; run 0: present, no
 * record). -1 with why if it is not one this version writes.
 */
static int parse_node(const ukf_dir_etcd_t *d, uint32_t node, const char *val,
		      struct ukf_dir_etcd_event *ev, char *why, size_t wl)
{
	json_object *j = json_tokener_parse(val), *t;
	struct ukf_dir_record r;
	int ok = 1;

	memset(ev, 0, sizeof(*ev));
	memset(&r, 0, sizeof(r));
	if (!j || !json_object_is_type(j, json_type_object)) {
		snprintf(why, wl, "not a JSON object");
		json_object_put(j);
		return -1;
	}
	ev->kind = UKF_DE_RECORD;
	ev->node = node;
	if ((uint32_t)jget(j, "node", &ok) != node)
		ok = 0;
	ev->incarnation = jget_u(j, "incarnation", &ok);
	ev->run = jget_u(j, "run", &ok);
	ev->written_ns = jget(j, "written_ns", &ok);
	r.node = node;
	r.version = jget_u(j, "version", &ok);
	r.vcpus_total = (uint32_t)jget(j, "vcpus_total", &ok);
	r.vcpus_free = (uint32_t)jget(j, "vcpus_free", &ok);
	r.mem_total = jget_u(j, "mem_total", &ok);
	r.mem_free = jget_u(j, "mem_free", &ok);
	r.instances = (uint32_t)jget(j, "instances", &ok);
	if (!json_object_object_get_ex(j, "templates", &t) ||
	    !json_object_is_type(t, json_type_array) ||
	    json_object_array_length(t) > UKF_DIR_MAX_TEMPLATES)
		ok = 0;
	for (size_t k = 0; ok && k < json_object_array_length(t); k++) {
		int64_t a = json_object_get_int64(json_object_array_get_idx(t, k));
		if (a < 0 || a >= UKF_DIR_MAX_APPS)
			ok = 0;
		r.templates[r.ntemplates++] = (uint32_t)a;
	}
	/* optional (agents before template versions wrote none): 0 unknown */
	if (ok && json_object_object_get_ex(j, "template_versions", &t) &&
	    json_object_is_type(t, json_type_array) &&
	    json_object_array_length(t) == r.ntemplates) {
		for (size_t k = 0; k < r.ntemplates; k++) {
			const char *h = json_object_get_string(
			    json_object_array_get_idx(t, k));
			char *end = NULL;
			unsigned long long v = h ? strtoull(h, &end, 16) : 0;
			r.tvers[k] = h && end && !*end ? (uint64_t)v : 0;
		}
	}
	json_object_put(j);
	if (!ok) {
		snprintf(why, wl, "a field is missing or of the wrong type");
		return -1;
	}
	if (ev->run) {
		ev->len = ukf_dir_encode(&r, ev->rec, sizeof(ev->rec));
		if (!ev->len) {
			snprintf(why, wl, "the record does not encode");
			return -1;
		}
	}
	return 0;
}

/* PREFIX/nodes/K -> K, or -1. */
static long node_of_key(const ukf_dir_etcd_t *d, const char *key)
{
	size_t n = strlen(d->nodes_prefix);
	char *end;
	long k;

	if (strncmp(key, d->nodes_prefix, n) || !key[n])
		return -1;
	errno = 0;
	k = strtol(key + n, &end, 10);
	if (errno || *end || k < 0 || (uint64_t)k >= d->c.nodes)
		return -1;
	return k;
}

/* ---- status ---- */

enum { WRITER, WATCHER };

static void set_degraded(ukf_dir_etcd_t *d, int who, const char *err)
{
	const char *what = who == WRITER ? "writer" : "watcher";
	int was;

	pthread_mutex_lock(&d->mu);
	d->bad[who] = 1;
	was = d->degraded;
	if (!was) {
		d->degraded = 1;
		clock_gettime(CLOCK_MONOTONIC, &d->since);
	}
	snprintf(d->derr, sizeof(d->derr), "%s: %s", what, err);
	pthread_mutex_unlock(&d->mu);
	if (!was)
		logf_(d, 4, "etcd lost (%s: %s): placement goes on from the last replica; writes retried",
		      what, err);
}

static void set_ok(ukf_dir_etcd_t *d, int who, int64_t rev)
{
	int was;

	pthread_mutex_lock(&d->mu);
	was = d->degraded;
	d->bad[who] = 0;
	d->degraded = d->bad[WRITER] || d->bad[WATCHER];
	was = was && !d->degraded;
	if (rev > d->revision)
		d->revision = rev;
	pthread_mutex_unlock(&d->mu);
	if (was)
		logf_(d, 6, "etcd reachable again (%s)",
		      ukf_etcd_endpoint(d->wr));
}

int ukf_dir_etcd_degraded(ukf_dir_etcd_t *d)
{
	int v;

	pthread_mutex_lock(&d->mu);
	v = d->degraded;
	pthread_mutex_unlock(&d->mu);
	return v;
}

void ukf_dir_etcd_status(ukf_dir_etcd_t *d, char *buf, size_t cap)
{
	struct timespec now;
	double ago;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&d->mu);
	ago = (double)(now.tv_sec - d->since.tv_sec) +
	      (double)(now.tv_nsec - d->since.tv_nsec) / 1e9;
	if (d->stale)
		snprintf(buf, cap,
			 "etcd %s, prefix %s: STALE: %s (this agent no longer writes)",
			 ukf_etcd_endpoint(d->wr), d->prefix, d->derr);
	else if (d->degraded)
		snprintf(buf, cap,
			 "etcd, prefix %s: DEGRADED for %.1f s (%s); placement from the last replica of %u nodes, writes retried",
			 d->prefix, ago, d->derr, ukf_dir_etcd_known(d));
	else
		snprintf(buf, cap,
			 "etcd %s, prefix %s: ok, revision %lld, %u nodes known, lease TTL %lld s",
			 ukf_etcd_endpoint(d->wr), d->prefix,
			 (long long)d->revision, ukf_dir_etcd_known(d),
			 (long long)d->lease_ttl);
	pthread_mutex_unlock(&d->mu);
}

/* ---- the writer ---- */

/* Wait up to ms or until woken (publish, stop). */
static void writer_wait(ukf_dir_etcd_t *d, long ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&d->mu);
	if (!d->dirty && !d->stop)
		pthread_cond_timedwait(&d->cv, &d->mu, &until);
	pthread_mutex_unlock(&d->mu);
}

static uint64_t incarnation_of(const char *val)
{
	json_object *j = val ? json_tokener_parse(val) : NULL, *v;
	uint64_t inc = 0;

	if (j && json_object_object_get_ex(j, "incarnation", &v))
		inc = json_object_get_uint64(v);
	json_object_put(j);
	return inc;
}

/*
 * Write this node's key (and its template keys) from record r of run,
 * guarded by the mod revision last written. 0 written, -ESTALE a newer
 * incarnation holds the key, other -errno: retry later.
 */
static int write_node(ukf_dir_etcd_t *d, uint64_t run,
		      const struct ukf_dir_record *r)
{
	char key[320], tkeys[2 * UKF_DIR_MAX_TEMPLATES + 1][340], *val;
	char tval[2 * UKF_DIR_MAX_TEMPLATES + 1][96];
	struct ukf_etcd_op ops[2 * UKF_DIR_MAX_TEMPLATES + 1];
	size_t nops = 0;
	int64_t rev = 0, cur_mod = 0;
	char *cur = NULL;
	int rc;

	key_node(d, d->c.self, key, sizeof(key));
	val = node_json(d, run, r);
	if (!val)
		return -ENOMEM;
	ops[nops++] = (struct ukf_etcd_op){ key, val, strlen(val) };
	/* template keys: the new set put, the old set's others deleted */
	for (uint32_t k = 0; k < r->ntemplates; k++) {
		snprintf(tkeys[nops], sizeof(tkeys[0]), "%s/templates/%u/%u",
			 d->prefix, d->c.self, r->templates[k]);
		if (tpl_json(d, run, r->templates[k], tval[nops],
			     sizeof(tval[0])) < 0) {
			free(val);
			return -ENOMEM;
		}
		ops[nops] = (struct ukf_etcd_op){ tkeys[nops], tval[nops],
						  strlen(tval[nops]) };
		nops++;
	}
	for (uint32_t k = 0; k < d->nwritten_tpl; k++) {
		int kept = 0;
		for (uint32_t j = 0; j < r->ntemplates; j++)
			kept |= r->templates[j] == d->written_tpl[k];
		if (kept)
			continue;
		snprintf(tkeys[nops], sizeof(tkeys[0]), "%s/templates/%u/%u",
			 d->prefix, d->c.self, d->written_tpl[k]);
		ops[nops] = (struct ukf_etcd_op){ tkeys[nops], NULL, 0 };
		nops++;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = ukf_etcd_txn(d->wr, key, d->node_mod, ops, nops, d->lease,
				  &rev, &cur_mod, &cur);
		if (rc != 0)
			break;
		/* refused: who holds it? */
		uint64_t inc = incarnation_of(cur);
		free(cur);
		cur = NULL;
		if (inc > d->c.incarnation) {
			free(val);
			return -ESTALE;
		}
		d->node_mod = cur_mod; /* our own earlier write, or an older agent's */
	}
	free(val);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return -EAGAIN;
	d->node_mod = rev;
	d->nwritten_tpl = r->ntemplates;
	memcpy(d->written_tpl, r->templates,
	       r->ntemplates * sizeof(r->templates[0]));
	set_ok(d, WRITER, rev);
	return 0;
}

/* The record to write now (this node's latest, or its key outside runs). */
static int take_record(ukf_dir_etcd_t *d, uint64_t *run,
		       struct ukf_dir_record *r)
{
	unsigned char rec[512];
	size_t len;

	pthread_mutex_lock(&d->mu);
	*run = d->run;
	len = d->len;
	memcpy(rec, d->rec, len);
	d->dirty = 0;
	pthread_mutex_unlock(&d->mu);
	memset(r, 0, sizeof(*r));
	r->node = d->c.self;
	if (!*run || !len) {
		r->vcpus_total = r->vcpus_free = d->c.vcpus;
		r->mem_total = r->mem_free = d->c.memory;
		return 0;
	}
	if (*run != d->scratch_run) {
		ukf_dir_forget(d->scratch, d->c.self); /* versions restart */
		d->scratch_run = *run;
	}
	if (ukf_dir_apply(d->scratch, rec, len) < 0)
		return -EINVAL;
	*r = *ukf_dir_get(d->scratch, d->c.self);
	return 0;
}

static int new_lease(ukf_dir_etcd_t *d)
{
	int64_t ttl = 0;
	int rc = ukf_etcd_lease_grant(d->wr, d->c.lease_ttl_s, &d->lease, &ttl);

	if (rc == 0) {
		pthread_mutex_lock(&d->mu);
		d->lease_ttl = ttl;
		pthread_mutex_unlock(&d->mu);
	}
	return rc;
}

static void *writer(void *u)
{
	ukf_dir_etcd_t *d = u;
	long backoff = 0;
	int64_t next_ka = now_ns(CLOCK_MONOTONIC);
	int need_write = 0, need_lease = 0;

	while (!d->stop) {
		int64_t now = now_ns(CLOCK_MONOTONIC), ka_every;
		int rc = 0, dirty;

		pthread_mutex_lock(&d->mu);
		dirty = d->dirty;
		ka_every = d->lease_ttl * 1000000000 / 3;
		pthread_mutex_unlock(&d->mu);
		if (ka_every < 100000000)
			ka_every = 100000000;
		if (need_lease) {
			rc = new_lease(d);
			if (rc == 0) {
				need_lease = 0;
				need_write = 1;
				logf_(d, 4, "the lease had expired: a new one (%lld), node key written again",
				      (long long)d->lease);
			}
		} else if (now >= next_ka) {
			int64_t left = 0;
			rc = ukf_etcd_lease_keepalive(d->wr, d->lease, &left);
			if (rc == 0 && left <= 0) {
				need_lease = 1;
				continue;
			}
			if (rc == 0) {
				next_ka = now + ka_every;
				set_ok(d, WRITER, 0);
			}
		}
		if (rc == 0 && !need_lease && (dirty || need_write)) {
			uint64_t run;
			struct ukf_dir_record r;
			if (take_record(d, &run, &r) < 0) {
				logf_(d, 3, "this node's record does not decode: not written");
			} else {
				rc = write_node(d, run, &r);
				if (rc == -ESTALE) {
					pthread_mutex_lock(&d->mu);
					d->stale = 1;
					snprintf(d->derr, sizeof(d->derr),
						 "a newer agent of node %u holds its key",
						 d->c.self);
					pthread_mutex_unlock(&d->mu);
					logf_(d, 3, "write refused: a newer agent of node %u holds its key in etcd; this one stops writing",
					      d->c.self);
					break;
				}
				if (rc < 0) {
					pthread_mutex_lock(&d->mu);
					d->dirty = 1; /* the latest again later */
					pthread_mutex_unlock(&d->mu);
				} else {
					need_write = 0;
				}
			}
		}
		if (rc < 0) {
			if (rc != -EAGAIN)
				set_degraded(d, WRITER, ukf_etcd_error(d->wr));
			/* no longer than a quarter of the TTL: when etcd
			 * returns (its leases restart their TTL), the first
			 * keep-alive must come before the lease runs out */
			backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
			if (backoff > BACKOFF_MAX_MS)
				backoff = BACKOFF_MAX_MS;
			if (backoff > d->lease_ttl * 250)
				backoff = d->lease_ttl * 250;
			writer_wait(d, backoff);
			next_ka = 0; /* keep-alive first when back */
			continue;
		}
		backoff = 0;
		now = now_ns(CLOCK_MONOTONIC);
		if (!need_write && !need_lease)
			writer_wait(d, next_ka > now ? (long)((next_ka - now) / 1000000) + 1
						     : 1);
	}
	return NULL;
}

int ukf_dir_etcd_publish(ukf_dir_etcd_t *d, uint64_t run, const void *rec,
			 size_t len)
{
	if (len > sizeof(d->rec))
		return -EINVAL;
	pthread_mutex_lock(&d->mu);
	d->run = run;
	d->len = len;
	memcpy(d->rec, rec, len);
	d->dirty = 1;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	return 0;
}

/* ---- the watcher ---- */

static void seen(ukf_dir_etcd_t *d, uint32_t node, const char *val,
		 int64_t rev)
{
	struct ukf_dir_etcd_event ev;
	char why[128];

	if (node == d->c.self)
		return;
	if (parse_node(d, node, val, &ev, why, sizeof(why)) < 0) {
		logf_(d, 4, "etcd: node %u's value ignored: %s", node, why);
		return;
	}
	/* a new incarnation: the old one's record goes first (versions restart) */
	if (d->seen_present[node] && d->seen_inc[node] != ev.incarnation) {
		struct ukf_dir_etcd_event g = { .kind = UKF_DE_GONE,
						.node = node, .revision = rev };
		snprintf(g.why, sizeof(g.why), "restarted (incarnation %llu)",
			 (unsigned long long)ev.incarnation);
		push(d, &g);
	}
	d->seen_present[node] = 1;
	d->seen_inc[node] = ev.incarnation;
	ev.revision = rev;
	push(d, &ev);
}

static void gone(ukf_dir_etcd_t *d, uint32_t node, int64_t rev,
		 const char *why)
{
	struct ukf_dir_etcd_event g = { .kind = UKF_DE_GONE, .node = node,
					.revision = rev };

	if (node == d->c.self || !d->seen_present[node])
		return;
	d->seen_present[node] = 0;
	snprintf(g.why, sizeof(g.why), "%s", why);
	push(d, &g);
}

struct fresh {
	ukf_dir_etcd_t *d;
	uint8_t *now;
};

static int fresh_kv(void *u, const struct ukf_etcd_kv *kv)
{
	struct fresh *f = u;
	long k = node_of_key(f->d, kv->key);

	if (k >= 0) {
		f->now[k] = 1;
		seen(f->d, (uint32_t)k, kv->value, kv->mod_revision);
	}
	return 0;
}

static int watch_kv(void *u, int deleted, const struct ukf_etcd_kv *kv)
{
	ukf_dir_etcd_t *d = u;
	long k = node_of_key(d, kv->key);

	if (k < 0)
		return 0;
	if (deleted)
		gone(d, (uint32_t)k, kv->mod_revision,
		     "its key left etcd (lease expired or agent stopped)");
	else
		seen(d, (uint32_t)k, kv->value, kv->mod_revision);
	pthread_mutex_lock(&d->mu);
	if (kv->mod_revision > d->revision)
		d->revision = kv->mod_revision;
	pthread_mutex_unlock(&d->mu);
	return 0;
}

static void *watcher(void *u)
{
	ukf_dir_etcd_t *d = u;
	uint8_t *now = calloc(d->c.nodes, 1);
	long backoff = 0;

	while (!d->stop && now) {
		struct fresh f = { d, now };
		int64_t rev = 0, next;
		int64_t n;
		int rc;

		/* a fresh read: what is there, what went while we were away */
		memset(now, 0, d->c.nodes);
		n = ukf_etcd_range_prefix(d->wa, d->nodes_prefix, fresh_kv, &f,
					  &rev);
		if (n < 0) {
			set_degraded(d, WATCHER, ukf_etcd_error(d->wa));
			backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
			if (backoff > BACKOFF_MAX_MS)
				backoff = BACKOFF_MAX_MS;
			for (long t = 0; t < backoff && !d->stop; t += 50)
				usleep(50000);
			continue;
		}
		for (uint32_t k = 0; k < d->c.nodes; k++)
			if (!now[k])
				gone(d, k, rev,
				     "its key left etcd (seen at a fresh read)");
		backoff = 0;
		set_ok(d, WATCHER, rev);
		/* then every change after that revision */
		rc = ukf_etcd_watch(d->wa, d->nodes_prefix, rev + 1, watch_kv,
				    NULL, d, &d->stop, &next);
		if (d->stop)
			break;
		if (rc == -ECANCELED)
			logf_(d, 4, "etcd watch: %s; reading afresh",
			      ukf_etcd_error(d->wa));
		else /* the fresh read says whether etcd is there */
			logf_(d, 7, "etcd watch ended (%s); reading afresh",
			      ukf_etcd_error(d->wa));
	}
	free(now);
	return NULL;
}

/* ---- start and stop ---- */

ukf_dir_etcd_t *ukf_dir_etcd_start(const struct ukf_dir_etcd_config *c,
				   char *err, size_t errlen)
{
	ukf_dir_etcd_t *d = calloc(1, sizeof(*d));
	char key[320], *cur = NULL;
	struct ukf_dir_record r;
	int rc;

	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->c = *c;
	d->efd = -1;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	snprintf(d->prefix, sizeof(d->prefix), "%s",
		 c->prefix && c->prefix[0] ? c->prefix : "/ukfork");
	snprintf(d->nodes_prefix, sizeof(d->nodes_prefix), "%s/nodes/",
		 d->prefix);
	d->lease_ttl = c->lease_ttl_s > 0 ? c->lease_ttl_s : 5;
	d->c.lease_ttl_s = d->lease_ttl;
	d->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	d->scratch = ukf_dir_create(c->nodes);
	d->rep = calloc(c->nodes, sizeof(*d->rep));
	d->seen_present = calloc(c->nodes, 1);
	d->seen_inc = calloc(c->nodes, sizeof(*d->seen_inc));
	if (d->efd < 0 || !d->scratch || !d->rep || !d->seen_present ||
	    !d->seen_inc || c->self >= c->nodes) {
		snprintf(err, errlen, "cannot set up the etcd directory: %s",
			 c->self >= c->nodes ? "node id out of range"
					     : strerror(errno ? errno : ENOMEM));
		goto fail;
	}
	d->wr = ukf_etcd_create(&c->etcd, err, errlen);
	if (!d->wr)
		goto fail;
	d->wa = ukf_etcd_create(&c->etcd, err, errlen);
	if (!d->wa)
		goto fail;
	if (new_lease(d) < 0) {
		snprintf(err, errlen, "etcd unreachable at start: %s",
			 ukf_etcd_error(d->wr));
		goto fail;
	}
	/* this node's key: take it over from an older incarnation only */
	key_node(d, c->self, key, sizeof(key));
	rc = ukf_etcd_get(d->wr, key, &cur, &d->node_mod);
	if (rc < 0) {
		snprintf(err, errlen, "etcd: reading %s: %s", key,
			 ukf_etcd_error(d->wr));
		goto fail;
	}
	if (cur && incarnation_of(cur) > c->incarnation) {
		snprintf(err, errlen,
			 "etcd: %s is held by a newer agent of node %u (incarnation %llu, this one %llu)",
			 key, c->self, (unsigned long long)incarnation_of(cur),
			 (unsigned long long)c->incarnation);
		free(cur);
		goto fail;
	}
	free(cur);
	memset(&r, 0, sizeof(r));
	r.node = c->self;
	r.vcpus_total = r.vcpus_free = c->vcpus;
	r.mem_total = r.mem_free = c->memory;
	rc = write_node(d, 0, &r);
	if (rc < 0) {
		snprintf(err, errlen, "etcd: writing %s: %s", key,
			 rc == -ESTALE ? "a newer agent of this node holds it"
			 : rc == -EAGAIN ? "refused twice (another writer?)"
					 : ukf_etcd_error(d->wr));
		goto fail;
	}
	/* Start-up took the configured (or 5 s) time limit per request; from
	 * now on the writer's requests end well within a TTL, so that a hung
	 * member leaves time to keep the lease alive through another one. */
	if (!c->etcd.timeout_ms) {
		long ms = (long)(d->lease_ttl * 1000 / 3);
		ukf_etcd_set_timeout(d->wr, ms < 1000 ? 1000 : ms > 5000 ? 5000 : ms);
	}
	if (pthread_create(&d->twr, NULL, writer, d)) {
		snprintf(err, errlen, "cannot start the etcd writer thread");
		goto fail;
	}
	d->have_twr = 1;
	if (pthread_create(&d->twa, NULL, watcher, d)) {
		snprintf(err, errlen, "cannot start the etcd watcher thread");
		goto fail;
	}
	d->have_twa = 1;
	return d;
fail:
	ukf_dir_etcd_stop(&d, 1);
	return NULL;
}

void ukf_dir_etcd_stop(ukf_dir_etcd_t **dp, int revoke)
{
	ukf_dir_etcd_t *d = *dp;

	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	if (d->wa)
		ukf_etcd_wake(d->wa);
	if (d->have_twr)
		pthread_join(d->twr, NULL);
	if (d->have_twa)
		pthread_join(d->twa, NULL);
	if (revoke && d->wr && d->lease)
		ukf_etcd_lease_revoke(d->wr, d->lease);
	ukf_etcd_destroy(&d->wr);
	ukf_etcd_destroy(&d->wa);
	ukf_dir_destroy(&d->scratch);
	if (d->efd >= 0)
		close(d->efd);
	free(d->q);
	free(d->rep);
	free(d->seen_present);
	free(d->seen_inc);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	free(d);
	*dp = NULL;
}
