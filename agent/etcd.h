/* SPDX-License-Identifier: MIT */
/* etcd.h - a small etcd v3 client: the JSON gateway (/v3/...) over libcurl,
 * bodies built and read with json-c. */
#ifndef UKF_ETCD_H
#define UKF_ETCD_H

#include <stddef.h>
#include <stdint.h>

/*
 * One client is one libcurl handle: use it from one thread at a time
 * (the directory on etcd gives its writer and its watcher one each).
 *
 * Every call returns 0 (or a count) on success, or a negative errno:
 *   -EHOSTUNREACH  no endpoint answered (each was tried once, in turn;
 *                  the one that answered last is tried first next time)
 *   -EPROTO        an endpoint answered with an error or with a body that
 *                  is not what the v3 API returns
 *   -ENOMEM
 * with a sentence in the client's last error (ukf_etcd_error).
 */
typedef struct ukf_etcd ukf_etcd_t;

struct ukf_etcd_config {
	const char *endpoints; /* comma-separated http(s)://host:port */
	const char *ca, *cert, *key; /* TLS files, NULL or "" if not used */
	long connect_timeout_ms;     /* 0: 1000 */
	long timeout_ms;	     /* a whole request; 0: 5000 */
};

ukf_etcd_t *ukf_etcd_create(const struct ukf_etcd_config *c, char *err,
			    size_t errlen);
void ukf_etcd_destroy(ukf_etcd_t **e);
const char *ukf_etcd_error(const ukf_etcd_t *e);
/* Each later request's time limit (ms > 0). */
void ukf_etcd_set_timeout(ukf_etcd_t *e, long ms);
/* The endpoint that answered last (or the first one). */
const char *ukf_etcd_endpoint(const ukf_etcd_t *e);

/* A key-value pair as read. Key and value are NUL-terminated copies. */
struct ukf_etcd_kv {
	const char *key, *value;
	size_t key_len, value_len;
	int64_t create_revision, mod_revision, version, lease;
};

/* Leases. Grant: *id, and the TTL the server gave (it may raise it). */
int ukf_etcd_lease_grant(ukf_etcd_t *e, int64_t ttl_s, int64_t *id,
			 int64_t *ttl_given);
/* Keep alive once: 0 and *ttl_left (0: the lease has expired). */
int ukf_etcd_lease_keepalive(ukf_etcd_t *e, int64_t id, int64_t *ttl_left);
int ukf_etcd_lease_revoke(ukf_etcd_t *e, int64_t id);

/*
 * A transaction: if `cmp_key`'s mod revision equals cmp_mod (0: the key
 * does not exist), do `nput` puts (with `lease`, 0: none) and `ndel`
 * deletions. Returns 1 done (*rev: the revision it made), 0 refused (the
 * compared key is at another revision: *cur_mod gets it, 0 if absent, and
 * *cur (if not NULL) its value, to free()), or a negative errno.
 */
struct ukf_etcd_op {
	const char *key, *value; /* value NULL: delete key */
	size_t value_len;
};
int ukf_etcd_txn(ukf_etcd_t *e, const char *cmp_key, int64_t cmp_mod,
		 const struct ukf_etcd_op *ops, size_t nops, int64_t lease,
		 int64_t *rev, int64_t *cur_mod, char **cur);

/* Read one key: 1 and *value (to free) and *mod, 0 if absent, or -errno. */
int ukf_etcd_get(ukf_etcd_t *e, const char *key, char **value, int64_t *mod);

/* Put unconditionally (lease 0: none). */
int ukf_etcd_put(ukf_etcd_t *e, const char *key, const void *value,
		 size_t len, int64_t lease);
/* Delete every key under prefix; returns how many, or -errno. */
int64_t ukf_etcd_delete_prefix(ukf_etcd_t *e, const char *prefix);

/*
 * Read every key under prefix, calling fn for each (in key order);
 * *rev gets the store's revision the read saw. Returns the count or
 * -errno. fn may return non-zero to stop early (then the count so far).
 */
typedef int (*ukf_etcd_kv_fn)(void *u, const struct ukf_etcd_kv *kv);
int64_t ukf_etcd_range_prefix(ukf_etcd_t *e, const char *prefix,
			      ukf_etcd_kv_fn fn, void *u, int64_t *rev);

/*
 * Watch every key under prefix from start_rev, calling fn for each event
 * (deleted = 1 for a deletion; kv->value empty then) until *stop becomes
 * non-zero (checked at least every 100 ms, or at once after
 * ukf_etcd_wake), the stream breaks, or fn returns non-zero. *next_rev
 * is the revision to resume from. Returns 0 (stopped), -ECANCELED (the
 * revision was compacted: *next_rev is the compact revision; read afresh),
 * -EPIPE (the stream ended or broke: resume from *next_rev) or -errno.
 * `created` (may be NULL) is called once the server has set the watch up.
 */
typedef int (*ukf_etcd_event_fn)(void *u, int deleted,
				 const struct ukf_etcd_kv *kv);
int ukf_etcd_watch(ukf_etcd_t *e, const char *prefix, int64_t start_rev,
		   ukf_etcd_event_fn fn, void (*created)(void *u), void *u,
		   volatile int *stop, int64_t *next_rev);
/* Wake a ukf_etcd_watch in progress on e (any thread) to look at *stop. */
void ukf_etcd_wake(ukf_etcd_t *e);

/* The key just after every key starting with prefix (etcd range_end). */
void ukf_etcd_prefix_end(const char *prefix, char *out, size_t cap);

#endif /* UKF_ETCD_H */
