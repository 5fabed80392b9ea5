/* SPDX-License-Identifier: MIT */
/* etcd.c - a small etcd v3 client over the JSON gateway (libcurl, json-c, libsodium's base64). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <sodium.h>

#include "agent/etcd.h"

#define MAX_ENDPOINTS 8
#define BODY_MAX (256u << 20) /* a reply larger than this is refused */

struct ukf_etcd {
	char ep[MAX_ENDPOINTS][256];
	unsigned nep, cur;
	CURL *h;
	CURLM *m; /* for watches (wakeable) */
	struct curl_slist *hdr;
	long connect_ms, timeout_ms;
	char err[512];
	/* reply being read */
	char *buf;
	size_t len, cap;
	int too_big;
	/* watch being read */
	ukf_etcd_event_fn wfn;
	void (*wcreated)(void *u);
	void *wu;
	int64_t *wnext;
	int wstate; /* 0 going, 1 fn stopped it, 2 compacted, 3 bad reply */
};

static void seterr(ukf_etcd_t *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void seterr(ukf_etcd_t *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->err, sizeof(e->err), fmt, ap);
	va_end(ap);
}

const char *ukf_etcd_error(const ukf_etcd_t *e)
{
	return e->err;
}

void ukf_etcd_set_timeout(ukf_etcd_t *e, long ms)
{
	if (ms > 0)
		e->timeout_ms = ms;
}

const char *ukf_etcd_endpoint(const ukf_etcd_t *e)
{
	return e->ep[e->cur];
}

static int global_init(void)
{
	static int done;

	/* curl_global_init is not thread-safe before 7.84; agents call this
	 * from their main thread before any other thread uses curl. */
	if (!done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -1;
		if (sodium_init() < 0)
			return -1;
		done = 1;
	}
	return 0;
}

ukf_etcd_t *ukf_etcd_create(const struct ukf_etcd_config *c, char *err,
			    size_t errlen)
{
	ukf_etcd_t *e;
	const char *p;

	if (global_init() < 0) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (p = c->endpoints ? c->endpoints : ""; *p;) {
		size_t n = strcspn(p, ",");
		if (n) {
			if (e->nep == MAX_ENDPOINTS || n >= sizeof(e->ep[0])) {
				snprintf(err, errlen,
					 "etcd endpoints: at most %d, each under %zu characters",
					 MAX_ENDPOINTS, sizeof(e->ep[0]));
				goto fail;
			}
			memcpy(e->ep[e->nep], p, n);
			e->ep[e->nep][n] = 0;
			/* no trailing slash: paths start with one */
			while (n > 1 && e->ep[e->nep][n - 1] == '/')
				e->ep[e->nep][--n] = 0;
			if (strncmp(e->ep[e->nep], "http://", 7) &&
			    strncmp(e->ep[e->nep], "https://", 8)) {
				snprintf(err, errlen,
					 "etcd endpoint '%s': not an http:// or https:// URL",
					 e->ep[e->nep]);
				goto fail;
			}
			e->nep++;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (!e->nep) {
		snprintf(err, errlen, "no etcd endpoint given");
		goto fail;
	}
	e->connect_ms = c->connect_timeout_ms > 0 ? c->connect_timeout_ms : 1000;
	e->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 5000;
	e->h = curl_easy_init();
	e->m = curl_multi_init();
	e->hdr = curl_slist_append(NULL, "Content-Type: application/json");
	if (!e->h || !e->m || !e->hdr) {
		snprintf(err, errlen, "cannot create a libcurl handle");
		goto fail;
	}
	curl_easy_setopt(e->h, CURLOPT_HTTPHEADER, e->hdr);
	curl_easy_setopt(e->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e->h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e->h, CURLOPT_TCP_KEEPIDLE, 2L);
	curl_easy_setopt(e->h, CURLOPT_TCP_KEEPINTVL, 1L);
	curl_easy_setopt(e->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e->h, CURLOPT_CONNECTTIMEOUT_MS, e->connect_ms);
	if (c->ca && c->ca[0])
		curl_easy_setopt(e->h, CURLOPT_CAINFO, c->ca);
	if (c->cert && c->cert[0])
		curl_easy_setopt(e->h, CURLOPT_SSLCERT, c->cert);
	if (c->key && c->key[0])
		curl_easy_setopt(e->h, CURLOPT_SSLKEY, c->key);
	return e;
fail:
	ukf_etcd_destroy(&e);
	return NULL;
}

void ukf_etcd_destroy(ukf_etcd_t **ep)
{
	ukf_etcd_t *e = *ep;

	if (!e)
		return;
	if (e->h)
		curl_easy_cleanup(e->h);
	if (e->m)
		curl_multi_cleanup(e->m);
	curl_slist_free_all(e->hdr);
	free(e->buf);
	free(e);
	*ep = NULL;
}

/* ---- requests ---- */

static size_t on_body(char *p, size_t sz, size_t n, void *u)
{
	ukf_etcd_t *e = u;
	size_t add = sz * n;

	if (e->len + add + 1 > BODY_MAX) {
		e->too_big = 1;
		return 0;
	}
	if (e->len + add + 1 > e->cap) {
		size_t cap = e->cap ? e->cap : 4096;
		char *b;
		while (cap < e->len + add + 1)
			cap *= 2;
		b = realloc(e->buf, cap);
		if (!b)
			return 0;
		e->buf = b;
		e->cap = cap;
	}
	memcpy(e->buf + e->len, p, add);
	e->len += add;
	e->buf[e->len] = 0;
	return add;
}

/* A connection-level failure: worth trying the next endpoint. */
static int is_link_error(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	       rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_SEND_ERROR ||
	       rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
	       rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PARTIAL_FILE;
}

/* The gateway's error body: {"error":..., "code":N, "message":...}. */
static void reply_error(ukf_etcd_t *e, const char *url, long status)
{
	json_object *j = e->buf ? json_tokener_parse(e->buf) : NULL;
	json_object *msg = NULL;

	if (j && (json_object_object_get_ex(j, "message", &msg) ||
		  json_object_object_get_ex(j, "error", &msg)))
		seterr(e, "%s: HTTP %ld: %s", url, status,
		       json_object_get_string(msg));
	else
		seterr(e, "%s: HTTP %ld", url, status);
	json_object_put(j);
}

/*
 * POST body to path at each endpoint in turn until one answers; 0 and
 * *out (the reply's JSON), or -errno.
 */
static int post(ukf_etcd_t *e, const char *path, json_object *body,
		json_object **out)
{
	const char *text = json_object_to_json_string_ext(body,
							  JSON_C_TO_STRING_PLAIN);
	char url[320], first[600] = "";

	*out = NULL;
	for (unsigned tries = 0; tries < e->nep; tries++) {
		unsigned k = (e->cur + tries) % e->nep;
		long status = 0;
		CURLcode rc;

		snprintf(url, sizeof(url), "%s%s", e->ep[k], path);
		e->len = 0;
		e->too_big = 0;
		if (e->buf)
			e->buf[0] = 0;
		curl_easy_setopt(e->h, CURLOPT_URL, url);
		curl_easy_setopt(e->h, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(e->h, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(e->h, CURLOPT_WRITEDATA, e);
		curl_easy_setopt(e->h, CURLOPT_TIMEOUT_MS, e->timeout_ms);
		rc = curl_easy_perform(e->h);
		if (rc != CURLE_OK) {
			if (e->too_big) {
				seterr(e, "%s: the reply is over %u MiB", url,
				       BODY_MAX >> 20);
				return -EPROTO;
			}
			if (!first[0])
				snprintf(first, sizeof(first), "%s: %s", url,
					 curl_easy_strerror(rc));
			if (is_link_error(rc))
				continue;
			seterr(e, "%s: %s", url, curl_easy_strerror(rc));
			return -EPROTO;
		}
		curl_easy_getinfo(e->h, CURLINFO_RESPONSE_CODE, &status);
		if (status == 503 || status == 502) {
			/* a member without a leader: another may have one */
			if (!first[0])
				snprintf(first, sizeof(first),
					 "%s: HTTP %ld (no leader?)", url, status);
			continue;
		}
		e->cur = k;
		if (status != 200) {
			reply_error(e, url, status);
			return -EPROTO;
		}
		*out = json_tokener_parse(e->buf ? e->buf : "");
		if (!*out || !json_object_is_type(*out, json_type_object)) {
			json_object_put(*out);
			*out = NULL;
			seterr(e, "%s: the reply is not a JSON object", url);
			return -EPROTO;
		}
		return 0;
	}
	if (e->nep > 1)
		seterr(e, "no etcd endpoint answered (%u tried; first: %s)",
		       e->nep, first);
	else
		seterr(e, "%s", first);
	return -EHOSTUNREACH;
}

/* ---- JSON and base64 ---- */

static json_object *b64(const void *p, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);
	json_object *j;

	if (!s)
		return NULL;
	sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
	j = json_object_new_string(s);
	free(s);
	return j;
}

/* Decode base64 into a fresh NUL-terminated buffer; NULL if bad. */
static char *unb64(const char *s, size_t *n)
{
	size_t sl = strlen(s), cap = sl / 4 * 3 + 4;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	if (sodium_base642bin((unsigned char *)out, cap, s, sl, NULL, n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) < 0) {
		free(out);
		return NULL;
	}
	out[*n] = 0;
	return out;
}

static int64_t i64(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v))
		return 0;
	return json_object_get_int64(v);
}

static json_object *obj(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static void add(json_object *o, const char *k, json_object *v)
{
	json_object_object_add(o, k, v);
}

static void add_i64(json_object *o, const char *k, int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%lld", (long long)v);
	json_object_object_add(o, k, json_object_new_string(s));
}

void ukf_etcd_prefix_end(const char *prefix, char *out, size_t cap)
{
	size_t n = strlen(prefix);

	snprintf(out, cap, "%s", prefix);
	if (n >= cap)
		n = cap - 1;
	/* the last byte below 0xff, plus one; all 0xff: "\0" (no end) */
	while (n > 0) {
		if ((unsigned char)out[n - 1] < 0xff) {
			out[n - 1]++;
			out[n] = 0;
			return;
		}
		n--;
	}
	out[0] = 0;
}

/* A request body's key and range_end covering every key under prefix. */
static void add_prefix(json_object *o, const char *prefix)
{
	char end[512];

	ukf_etcd_prefix_end(prefix, end, sizeof(end));
	add(o, "key", b64(prefix, strlen(prefix)));
	add(o, "range_end", b64(end, strlen(end)));
}

/* kv as the gateway writes it -> a ukf_etcd_kv with fresh copies. */
static int read_kv(json_object *j, struct ukf_etcd_kv *kv, char **k,
		   char **v)
{
	json_object *jk = obj(j, "key"), *jv = obj(j, "value");

	memset(kv, 0, sizeof(*kv));
	*k = unb64(jk ? json_object_get_string(jk) : "", &kv->key_len);
	*v = unb64(jv ? json_object_get_string(jv) : "", &kv->value_len);
	if (!*k || !*v) {
		free(*k);
		free(*v);
		return -1;
	}
	kv->key = *k;
	kv->value = *v;
	kv->create_revision = i64(j, "create_revision");
	kv->mod_revision = i64(j, "mod_revision");
	kv->version = i64(j, "version");
	kv->lease = i64(j, "lease");
	return 0;
}

/* ---- leases ---- */

int ukf_etcd_lease_grant(ukf_etcd_t *e, int64_t ttl_s, int64_t *id,
			 int64_t *ttl_given)
{
	json_object *rq = json_object_new_object(), *r = NULL;
	int rc;

	add_i64(rq, "TTL", ttl_s);
	rc = post(e, "/v3/lease/grant", rq, &r);
	json_object_put(rq);
	if (rc < 0)
		return rc;
	*id = i64(r, "ID");
	if (ttl_given)
		*ttl_given = i64(r, "TTL");
	json_object_put(r);
	if (!*id) {
		seterr(e, "lease grant: no lease ID in the reply");
		return -EPROTO;
	}
	return 0;
}

int ukf_etcd_lease_keepalive(ukf_etcd_t *e, int64_t id, int64_t *ttl_left)
{
	json_object *rq = json_object_new_object(), *r = NULL, *res;
	int rc;

	add_i64(rq, "ID", id);
	rc = post(e, "/v3/lease/keepalive", rq, &r);
	json_object_put(rq);
	if (rc < 0)
		return rc;
	res = obj(r, "result");
	*ttl_left = res ? i64(res, "TTL") : 0; /* no TTL: expired */
	json_object_put(r);
	return 0;
}

int ukf_etcd_lease_revoke(ukf_etcd_t *e, int64_t id)
{
	json_object *rq = json_object_new_object(), *r = NULL;
	int rc;

	add_i64(rq, "ID", id);
	rc = post(e, "/v3/lease/revoke", rq, &r);
	json_object_put(rq);
	json_object_put(r);
	return rc;
}

/* ---- writes ---- */

int ukf_etcd_txn(ukf_etcd_t *e, const char *cmp_key, int64_t cmp_mod,
		 const struct ukf_etcd_op *ops, size_t nops, int64_t lease,
		 int64_t *rev, int64_t *cur_mod, char **cur)
{
	json_object *rq = json_object_new_object(), *r = NULL;
	json_object *cmp = json_object_new_array(), *c = json_object_new_object();
	json_object *ok = json_object_new_array(), *no = json_object_new_array();
	json_object *rr, *resp, *kvs;
	int rc;

	add(c, "target", json_object_new_string("MOD"));
	add(c, "key", b64(cmp_key, strlen(cmp_key)));
	add(c, "result", json_object_new_string("EQUAL"));
	add_i64(c, "mod_revision", cmp_mod);
	json_object_array_add(cmp, c);
	for (size_t i = 0; i < nops; i++) {
		json_object *op = json_object_new_object(),
			    *body = json_object_new_object();
		add(body, "key", b64(ops[i].key, strlen(ops[i].key)));
		if (ops[i].value) {
			add(body, "value", b64(ops[i].value, ops[i].value_len));
			if (lease)
				add_i64(body, "lease", lease);
			add(op, "requestPut", body);
		} else {
			add(op, "requestDeleteRange", body);
		}
		json_object_array_add(ok, op);
	}
	rr = json_object_new_object();
	add(rr, "key", b64(cmp_key, strlen(cmp_key)));
	json_object *fop = json_object_new_object();
	add(fop, "requestRange", rr);
	json_object_array_add(no, fop);
	add(rq, "compare", cmp);
	add(rq, "success", ok);
	add(rq, "failure", no);
	rc = post(e, "/v3/kv/txn", rq, &r);
	json_object_put(rq);
	if (rc < 0)
		return rc;
	if (rev)
		*rev = i64(obj(r, "header"), "revision");
	if (json_object_get_boolean(obj(r, "succeeded"))) {
		json_object_put(r);
		return 1;
	}
	/* refused: what is there now */
	if (cur_mod)
		*cur_mod = 0;
	if (cur)
		*cur = NULL;
	resp = json_object_array_get_idx(obj(r, "responses"), 0);
	kvs = obj(obj(resp, "response_range"), "kvs");
	if (kvs && json_object_array_length(kvs) > 0) {
		struct ukf_etcd_kv kv;
		char *k, *v;
		if (read_kv(json_object_array_get_idx(kvs, 0), &kv, &k, &v) ==
		    0) {
			if (cur_mod)
				*cur_mod = kv.mod_revision;
			if (cur)
				*cur = v;
			else
				free(v);
			free(k);
		}
	}
	json_object_put(r);
	return 0;
}

int ukf_etcd_put(ukf_etcd_t *e, const char *key, const void *value,
		 size_t len, int64_t lease)
{
	json_object *rq = json_object_new_object(), *r = NULL;
	int rc;

	add(rq, "key", b64(key, strlen(key)));
	add(rq, "value", b64(value, len));
	if (lease)
		add_i64(rq, "lease", lease);
	rc = post(e, "/v3/kv/put", rq, &r);
	json_object_put(rq);
	json_object_put(r);
	return rc;
}

int64_t ukf_etcd_delete_prefix(ukf_etcd_t *e, const char *prefix)
{
	json_object *rq = json_object_new_object(), *r = NULL;
	int64_t n;
	int rc;

	add_prefix(rq, prefix);
	rc = post(e, "/v3/kv/deleterange", rq, &r);
	json_object_put(rq);
	if (rc < 0)
		return rc;
	n = i64(r, "deleted");
	json_object_put(r);
	return n;
}

/* ---- reads ---- */

int ukf_etcd_get(ukf_etcd_t *e, const char *key, char **value, int64_t *mod)
{
	json_object *rq = json_object_new_object(), *r = NULL, *kvs;
	struct ukf_etcd_kv kv;
	char *k, *v;
	int rc;

	*value = NULL;
	*mod = 0;
	add(rq, "key", b64(key, strlen(key)));
	rc = post(e, "/v3/kv/range", rq, &r);
	json_object_put(rq);
	if (rc < 0)
		return rc;
	kvs = obj(r, "kvs");
	if (!kvs || json_object_array_length(kvs) == 0) {
		json_object_put(r);
		return 0;
	}
	rc = read_kv(json_object_array_get_idx(kvs, 0), &kv, &k, &v);
	json_object_put(r);
	if (rc < 0) {
		seterr(e, "get %s: the key or value is not base64", key);
		return -EPROTO;
	}
	free(k);
	*value = v;
	*mod = kv.mod_revision;
	return 1;
}

int64_t ukf_etcd_range_prefix(ukf_etcd_t *e, const char *prefix,
			      ukf_etcd_kv_fn fn, void *u, int64_t *rev)
{
	json_object *rq = json_object_new_object(), *r = NULL, *kvs;
	int64_t n = 0;
	int rc;

	add_prefix(rq, prefix);
	rc = post(e, "/v3/kv/range", rq, &r);
	json_object_put(rq);
	if (rc < 0)
		return rc;
	if (rev)
		*rev = i64(obj(r, "header"), "revision");
	kvs = obj(r, "kvs");
	for (size_t i = 0; kvs && i < json_object_array_length(kvs); i++) {
		struct ukf_etcd_kv kv;
		char *k, *v;
		if (read_kv(json_object_array_get_idx(kvs, i), &kv, &k, &v) <
		    0) {
			seterr(e, "range %s: a key or value is not base64",
			       prefix);
			json_object_put(r);
			return -EPROTO;
		}
		n++;
		rc = fn ? fn(u, &kv) : 0;
		free(k);
		free(v);
		if (rc)
			break;
	}
	json_object_put(r);
	return n;
}

/* ---- watches ---- */

/* One message of the stream: {"result": {...}} or {"error": {...}}. */
static void watch_message(ukf_etcd_t *e, const char *line)
{
	json_object *j = json_tokener_parse(line), *res, *evs;

	if (!j) {
		seterr(e, "watch: a message is not JSON");
		e->wstate = 3;
		return;
	}
	res = obj(j, "result");
	if (!res) {
		json_object *er = obj(j, "error");
		seterr(e, "watch: %s",
		       er ? json_object_get_string(obj(er, "message") ? obj(er, "message") : er)
			  : "a message without a result");
		e->wstate = 3;
		json_object_put(j);
		return;
	}
	if (i64(res, "compact_revision") > 0) {
		*e->wnext = i64(res, "compact_revision");
		seterr(e, "watch: revision compacted (now from %lld)",
		       (long long)*e->wnext);
		e->wstate = 2;
		json_object_put(j);
		return;
	}
	if (json_object_get_boolean(obj(res, "canceled"))) {
		seterr(e, "watch canceled by the server: %s",
		       obj(res, "cancel_reason")
			   ? json_object_get_string(obj(res, "cancel_reason"))
			   : "no reason given");
		e->wstate = 3;
		json_object_put(j);
		return;
	}
	if (json_object_get_boolean(obj(res, "created")) && e->wcreated)
		e->wcreated(e->wu);
	evs = obj(res, "events");
	for (size_t i = 0; evs && i < json_object_array_length(evs) &&
			   !e->wstate;
	     i++) {
		json_object *ev = json_object_array_get_idx(evs, i), *t;
		struct ukf_etcd_kv kv;
		char *k, *v;
		int deleted = json_object_object_get_ex(ev, "type", &t) &&
			      !strcmp(json_object_get_string(t), "DELETE");
		if (read_kv(obj(ev, "kv"), &kv, &k, &v) < 0) {
			seterr(e, "watch: an event's key or value is not base64");
			e->wstate = 3;
			break;
		}
		if (kv.mod_revision >= *e->wnext)
			*e->wnext = kv.mod_revision + 1;
		if (e->wfn(e->wu, deleted, &kv))
			e->wstate = 1;
		free(k);
		free(v);
	}
	json_object_put(j);
}

static size_t on_watch(char *p, size_t sz, size_t n, void *u)
{
	ukf_etcd_t *e = u;
	size_t add = sz * n, used = 0;
	char *nl;

	if (on_body(p, sz, n, e) != add)
		return 0;
	/* messages are newline-terminated JSON objects */
	while (!e->wstate && (nl = memchr(e->buf + used, '\n', e->len - used))) {
		*nl = 0;
		if (nl > e->buf + used)
			watch_message(e, e->buf + used);
		used = (size_t)(nl - e->buf) + 1;
	}
	memmove(e->buf, e->buf + used, e->len - used);
	e->len -= used;
	if (e->buf)
		e->buf[e->len] = 0;
	return e->wstate ? 0 : add;
}

int ukf_etcd_watch(ukf_etcd_t *e, const char *prefix, int64_t start_rev,
		   ukf_etcd_event_fn fn, void (*created)(void *u), void *u,
		   volatile int *stop, int64_t *next_rev)
{
	json_object *rq = json_object_new_object(),
		    *cr = json_object_new_object();
	char url[320];
	CURLcode res = CURLE_OK;
	int running = 1, rc;
	long status = 0;

	add_prefix(cr, prefix);
	add_i64(cr, "start_revision", start_rev);
	add(rq, "create_request", cr);
	*next_rev = start_rev;
	e->wfn = fn;
	e->wcreated = created;
	e->wu = u;
	e->wnext = next_rev;
	e->wstate = 0;
	e->len = 0;
	snprintf(url, sizeof(url), "%s/v3/watch", e->ep[e->cur]);
	curl_easy_setopt(e->h, CURLOPT_URL, url);
	curl_easy_setopt(e->h, CURLOPT_COPYPOSTFIELDS,
			 json_object_to_json_string_ext(rq, JSON_C_TO_STRING_PLAIN));
	json_object_put(rq);
	curl_easy_setopt(e->h, CURLOPT_WRITEFUNCTION, on_watch);
	curl_easy_setopt(e->h, CURLOPT_WRITEDATA, e);
	curl_easy_setopt(e->h, CURLOPT_TIMEOUT_MS, 0L);
	curl_multi_add_handle(e->m, e->h);
	while (!*stop && running) {
		CURLMsg *msg;
		int left;
		curl_multi_perform(e->m, &running);
		while ((msg = curl_multi_info_read(e->m, &left)))
			if (msg->msg == CURLMSG_DONE)
				res = msg->data.result;
		if (!running || *stop)
			break;
		curl_multi_poll(e->m, NULL, 0, 100, NULL);
	}
	curl_easy_getinfo(e->h, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(e->m, e->h);
	curl_easy_setopt(e->h, CURLOPT_POSTFIELDS, NULL);
	if (e->wstate == 2)
		return -ECANCELED;
	if (e->wstate == 3)
		return -EPROTO;
	if (e->wstate == 1 || *stop)
		return 0;
	if (res != CURLE_OK) {
		seterr(e, "watch %s: %s", url, curl_easy_strerror(res));
		rc = is_link_error(res) ? -EHOSTUNREACH : -EPIPE;
		if (is_link_error(res) && e->nep > 1)
			e->cur = (e->cur + 1) % e->nep; /* next time: another */
		return rc;
	}
	if (status != 200) {
		reply_error(e, url, status);
		return -EPROTO;
	}
	seterr(e, "watch %s: the stream ended", url);
	return -EPIPE;
}

void ukf_etcd_wake(ukf_etcd_t *e)
{
	curl_multi_wakeup(e->m);
}
