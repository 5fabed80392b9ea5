/* SPDX-License-Identifier: MIT */
/* transport.c - ukf_tp: sockets, sending, the poll loop, heartbeats and
 * liveness. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/ukf.h"
#include "tp_int.h"

#define BAD(...) (snprintf(err, errlen, __VA_ARGS__), -1)

static const char *const drop_names[UKF_TP_DROP_KINDS] = {
    [UKF_TP_DROP_MALFORMED] = "malformed",
    [UKF_TP_DROP_OVERSIZED] = "oversized",
    [UKF_TP_DROP_TYPE] = "type",
    [UKF_TP_DROP_FORGED] = "forged",
    [UKF_TP_DROP_STALE] = "stale",
    [UKF_TP_DROP_BULK] = "bulk",
    [UKF_TP_DROP_UNAUTH] = "unauthenticated",
};

const char *ukf_tp_drop_name(enum ukf_tp_drop k)
{
	return (unsigned)k < UKF_TP_DROP_KINDS ? drop_names[k] : "?";
}

int64_t tp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * UKF_S + ts.tv_nsec;
}

uint64_t ukf_tp_incarnation_now(void)
{
	struct timespec ts;
	uint64_t v;

	clock_gettime(CLOCK_REALTIME, &ts);
	v = (uint64_t)ts.tv_sec * UKF_S + (uint64_t)ts.tv_nsec;
	return v ? v : 1;
}

int ukf_tp_key_valid(const char *s)
{
	static const char z85[] =
	    "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
	uint8_t bin[32];

	if (!s || strlen(s) != 40)
		return 0;
	for (int i = 0; i < 40; i++)
		if (!strchr(z85, s[i]))
			return 0;
	return zmq_z85_decode(bin, s) != NULL;
}

static void vlog(ukf_tp_t *tp, int level, const char *fmt, va_list ap)
{
	char line[512];
	const char *who = tp->is_client ? "client" : "node";
	int n;

	if (!tp->c.log)
		return;
	if (tp->is_client)
		n = snprintf(line, sizeof(line), "tp %s: ", who);
	else
		n = snprintf(line, sizeof(line), "tp %s %" PRIu32 ": ", who,
			     tp->c.self);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	tp->c.log(tp->c.u, level, line);
}

void tp_log(ukf_tp_t *tp, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(tp, level, fmt, ap);
	va_end(ap);
}

void tp_drop(ukf_tp_t *tp, struct tp_peer *p, enum ukf_tp_drop kind,
	     const char *fmt, ...)
{
	uint32_t *logged = p ? &p->logged : &tp->glogged;
	char what[320];
	va_list ap;

	if (p)
		p->st.dropped[kind]++;
	else
		tp->g.dropped[kind]++;
	if (*logged & (1u << kind))
		return;
	*logged |= 1u << kind;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	tp_log(tp, UKF_TP_LOG_WARNING,
	       "%s: dropped %s frame: %s (further ones are only counted)",
	       p ? p->name : "unknown sender", drop_names[kind], what);
}

struct tp_peer *tp_agent(const ukf_tp_t *tp, uint32_t node)
{
	for (size_t i = 0; i < tp->npeers; i++)
		if (tp->peers[i].id == node)
			return &tp->peers[i];
	return NULL;
}

struct tp_peer *tp_find(const ukf_tp_t *tp, uint32_t who)
{
	if (!ukf_tp_is_handle(who))
		return tp_agent(tp, who);
	for (size_t i = 0; tp->clients && i < tp->c.client_max; i++)
		if (tp->clients[i].used && tp->clients[i].id == who)
			return &tp->clients[i];
	return NULL;
}

struct tp_peer *tp_client_find(const ukf_tp_t *tp, int ci, uint64_t inc)
{
	for (size_t i = 0; tp->clients && i < tp->c.client_max; i++) {
		struct tp_peer *p = &tp->clients[i];

		if (p->used && p->client_idx == ci && p->inc == inc)
			return p;
	}
	return NULL;
}

struct tp_peer *tp_client_new(ukf_tp_t *tp, int ci, uint64_t inc)
{
	for (size_t i = 0; tp->clients && i < tp->c.client_max; i++) {
		struct tp_peer *p = &tp->clients[i];

		if (p->used)
			continue;
		memset(p, 0, sizeof(*p));
		p->used = 1;
		p->kind = TP_CLIENT;
		p->client_idx = ci;
		p->inc = inc;
		p->id = UKF_TP_HANDLE_BASE + tp->next_handle++;
		p->speak = UKF_FRAME_VERSION;
		p->handle_at = UKF_TP_HANDLE_NONE;
		memcpy(p->key, tp->client_keys[ci], 32);
		snprintf(p->name, sizeof(p->name),
			 "client %d handle 0x%08" PRIx32, ci, p->id);
		return p;
	}
	return NULL;
}

int tp_send_frames(ukf_tp_t *tp, struct tp_peer *p, uint16_t type,
		   uint32_t flags, const void *body, size_t len, const void *f1,
		   size_t f1_len)
{
	struct ukf_frame_header h = {
	    .version = p->speak,
	    .min_version = UKF_FRAME_MIN_VERSION,
	    .type = type,
	    .sender = tp->c.self,
	    .flags = flags,
	    .incarnation = tp->c.incarnation,
	    .seq = p->seq_out + 1,
	    .length = (uint32_t)len,
	};
	void *sock = p->kind == TP_AGENT ? p->dealer : tp->router;
	zmq_msg_t m;
	int more = f1 ? ZMQ_SNDMORE : 0;

	if (zmq_msg_init_size(&m, UKF_FRAME_HEADER + len) < 0)
		return -ENOMEM;
	ukf_frame_header_encode(&h, zmq_msg_data(&m));
	if (len)
		memcpy((uint8_t *)zmq_msg_data(&m) + UKF_FRAME_HEADER, body,
		       len);
	if (p->kind == TP_CLIENT && zmq_send(sock, p->rid, p->rid_len,
					     ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0) {
		int e = errno;

		zmq_msg_close(&m);
		return -e;
	}
	if (zmq_msg_send(&m, sock, ZMQ_DONTWAIT | more) < 0) {
		int e = errno;

		zmq_msg_close(&m);
		/* Past the routing id a ROUTER message cannot fail half way. */
		return -e;
	}
	if (f1 && zmq_send(sock, f1, f1_len, ZMQ_DONTWAIT) < 0)
		return -errno; /* cannot happen after the first part went */
	p->seq_out++;
	p->st.frames_out++;
	p->st.bytes_out += UKF_FRAME_HEADER + len + (f1 ? f1_len : 0);
	p->hb_next = tp_now() + tp->c.heartbeat_ns;
	return 0;
}

int tp_send_tpm(ukf_tp_t *tp, struct tp_peer *p, enum ukf_tpm_kind k,
		const void *msg)
{
	uint8_t body[64];
	int n = ukf_tpm_encode(k, msg, body, sizeof(body));

	if (n < 0)
		return -EINVAL;
	return tp_send_frames(tp, p, ukf_tpm_type(k), 0, body, (size_t)n, NULL,
			      0);
}

int tp_send_hello(ukf_tp_t *tp, struct tp_peer *p)
{
	struct ukf_tpm_hello m = {
	    .node = tp->c.self,
	    .role = tp->is_client ? UKF_TP_ROLE_CLIENT : UKF_TP_ROLE_AGENT,
	    .incarnation = tp->c.incarnation,
	    .handle =
		p->kind == TP_CLIENT && p->used ? p->id : UKF_TP_HANDLE_NONE,
	    .heartbeat_ns = (uint64_t)tp->c.heartbeat_ns,
	};
	int rc = tp_send_tpm(tp, p, UKF_TPM_HELLO, &m);

	if (rc == 0)
		p->need_hello = 0;
	return rc;
}

int tp_can_send(struct tp_peer *p)
{
	int ev = 0;
	size_t n = sizeof(ev);

	if (p->kind != TP_AGENT)
		return 1;
	return zmq_getsockopt(p->dealer, ZMQ_EVENTS, &ev, &n) == 0 &&
	       (ev & ZMQ_POLLOUT);
}

void tp_report_up(ukf_tp_t *tp, struct tp_peer *p)
{
	int restarted = p->pending_restarted, was_up = p->up;

	p->up_pending = 0;
	p->pending_restarted = 0;
	p->up = 1;
	if (!was_up && p->kind == TP_CLIENT)
		tp->g.clients++;
	tp_log(tp, UKF_TP_LOG_INFO, "%s up, incarnation %" PRIu64 "%s", p->name,
	       p->inc, restarted ? " (restarted)" : "");
	if (tp->c.on_peer)
		tp->c.on_peer(tp->c.u, p->id, 1, p->inc, restarted);
}

static void free_client(struct tp_peer *p)
{
	p->used = 0;
	p->up = 0;
}

void tp_peer_down(ukf_tp_t *tp, struct tp_peer *p, const char *why)
{
	uint32_t id = p->id;
	uint64_t inc = p->inc;

	tp_bulk_abort_all(tp, p, "peer down");
	p->up_pending = 0;
	p->pending_restarted = 0;
	if (p->up) {
		p->up = 0;
		tp_log(tp, UKF_TP_LOG_INFO, "%s down: %s", p->name, why);
		if (p->kind == TP_CLIENT) {
			free_client(p);
			tp->g.clients--;
		}
		if (tp->c.on_peer)
			tp->c.on_peer(tp->c.u, id, 0, inc, 0);
	} else if (p->kind == TP_CLIENT) {
		free_client(p);
	}
	p->need_hello = 1;
	p->handle_at = UKF_TP_HANDLE_NONE;
}

/* ---- create / destroy ---- */

static int setopt_int(void *s, int opt, int v)
{
	return zmq_setsockopt(s, opt, &v, sizeof(v));
}

static int common_opts(ukf_tp_t *tp, void *s)
{
	int64_t maxmsg = (int64_t)(UKF_FRAME_HEADER + tp->c.msg_max);
	int hb = (int)((tp->c.heartbeat_ns + UKF_MS - 1) / UKF_MS);
	int to = (int)((tp->c.peer_timeout_ns + UKF_MS - 1) / UKF_MS);

	/* Frames a little over our limits reach the decoder, which counts
	 * them; ZeroMQ drops connections that send far more. */
	if (maxmsg < (int64_t)UKF_TP_CHUNK_MAX + 65536)
		maxmsg = (int64_t)UKF_TP_CHUNK_MAX + 65536;
	maxmsg += 1 << 20;
	if (setopt_int(s, ZMQ_LINGER, 0) < 0 ||
	    setopt_int(s, ZMQ_SNDHWM, 10000) < 0 ||
	    setopt_int(s, ZMQ_RCVHWM, 10000) < 0 ||
	    setopt_int(s, ZMQ_HEARTBEAT_IVL, hb) < 0 ||
	    setopt_int(s, ZMQ_HEARTBEAT_TIMEOUT, to) < 0 ||
	    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) < 0)
		return -1;
	return 0;
}

static int check_config(const struct ukf_tp_config *c, char *err, size_t errlen)
{
	char pub[UKF_TP_KEY_Z85];

	if (!c)
		return BAD("no configuration");
	if (c->self == UKF_FRAME_CLIENT) {
		if (c->bind)
			return BAD(
			    "a client (self = UKF_FRAME_CLIENT) binds nothing");
		if (c->nclients)
			return BAD("a client accepts no clients");
	} else {
		if (c->self >= UKF_TP_HANDLE_BASE)
			return BAD("node id %" PRIu32 " is not below 0x%08x",
				   c->self, UKF_TP_HANDLE_BASE);
		if (!c->bind || !*c->bind)
			return BAD("an agent needs an endpoint to bind");
		if (strlen(c->bind) >= 256)
			return BAD("bind endpoint longer than 255 characters");
	}
	if (!c->incarnation)
		return BAD("incarnation must not be 0");
	if (!ukf_tp_key_valid(c->public_key))
		return BAD("own public key is not 40 Z85 characters");
	if (!ukf_tp_key_valid(c->secret_key))
		return BAD("own secret key is not 40 Z85 characters");
	if (zmq_curve_public(pub, c->secret_key) < 0 ||
	    strcmp(pub, c->public_key))
		return BAD("own secret key does not belong to public key %s",
			   c->public_key);
	if (c->npeers && !c->peers)
		return BAD("npeers %zu but no peers", c->npeers);
	for (size_t i = 0; i < c->npeers; i++) {
		const struct ukf_tp_peer *p = &c->peers[i];

		if (p->node >= UKF_TP_HANDLE_BASE)
			return BAD("peer %zu: node id %" PRIu32 " too large", i,
				   p->node);
		if (!memchr(p->endpoint, 0, sizeof(p->endpoint)) ||
		    !p->endpoint[0])
			return BAD("peer %" PRIu32 ": no endpoint", p->node);
		if (!memchr(p->public_key, 0, UKF_TP_KEY_Z85) ||
		    !ukf_tp_key_valid(p->public_key))
			return BAD("peer %" PRIu32
				   ": public key is not 40 Z85 characters",
				   p->node);
		for (size_t j = 0; j < i; j++) {
			if (c->peers[j].node == p->node)
				return BAD("peer %" PRIu32 " listed twice",
					   p->node);
			if (p->node != c->self && c->peers[j].node != c->self &&
			    !strcmp(c->peers[j].public_key, p->public_key))
				return BAD("peers %" PRIu32 " and %" PRIu32
					   " have the same public key",
					   c->peers[j].node, p->node);
		}
	}
	if (c->nclients && !c->client_keys)
		return BAD("nclients %zu but no client keys", c->nclients);
	for (size_t i = 0; i < c->nclients; i++)
		if (!memchr(c->client_keys[i], 0, UKF_TP_KEY_Z85) ||
		    !ukf_tp_key_valid(c->client_keys[i]))
			return BAD("client key %zu is not 40 Z85 characters",
				   i);
	if (c->heartbeat_ns < 0 || c->heartbeat_ns > 3600 * UKF_S)
		return BAD("heartbeat %" PRId64 " ns outside 0..1 h",
			   c->heartbeat_ns);
	if (c->peer_timeout_ns < 0 || c->peer_timeout_ns > 86400 * UKF_S)
		return BAD("peer timeout %" PRId64 " ns outside 0..1 day",
			   c->peer_timeout_ns);
	if (c->bulk_chunk && (c->bulk_chunk < UKF_TP_CHUNK_MIN ||
			      c->bulk_chunk > UKF_TP_CHUNK_MAX))
		return BAD("bulk_chunk %zu outside %u..%u", c->bulk_chunk,
			   UKF_TP_CHUNK_MIN, UKF_TP_CHUNK_MAX);
	if (c->bulk_window > 1024)
		return BAD("bulk_window %zu over 1024", c->bulk_window);
	if (c->bulk_max > UKF_TP_BULK_ABS_MAX)
		return BAD("bulk_max %" PRIu64 " over %llu", c->bulk_max,
			   UKF_TP_BULK_ABS_MAX);
	if (c->msg_max > (256u << 20))
		return BAD("msg_max %zu over 256 MiB", c->msg_max);
	if (c->client_max > 65536)
		return BAD("client_max %zu over 65536", c->client_max);
	if ((unsigned)c->compress > UKF_TP_COMPRESS_NONE)
		return BAD("unknown compression %d", (int)c->compress);
	return 0;
}

static void apply_defaults(struct ukf_tp_config *c)
{
	if (!c->heartbeat_ns)
		c->heartbeat_ns = 250 * UKF_MS;
	if (!c->peer_timeout_ns)
		c->peer_timeout_ns = 3 * UKF_S;
	if (!c->bulk_chunk)
		c->bulk_chunk = 256 << 10;
	if (!c->bulk_window)
		c->bulk_window = 8;
	if (!c->bulk_max)
		c->bulk_max = 4ull << 30;
	if (!c->msg_max)
		c->msg_max = 16 << 20;
	if (!c->client_max)
		c->client_max = 64;
	if (c->compress == UKF_TP_COMPRESS_DEFAULT)
		c->compress = UKF_TP_COMPRESS_ZSTD;
}

static int make_keys(ukf_tp_t *tp, const struct ukf_tp_config *c)
{
	size_t n = 0;

	tp->keys = calloc(tp->npeers + c->nclients + 1, sizeof(*tp->keys));
	tp->client_keys = calloc(c->nclients + 1, 32);
	if (!tp->keys || !tp->client_keys)
		return -1;
	for (size_t i = 0; i < tp->npeers; i++, n++) {
		memcpy(tp->keys[n].key, tp->peers[i].key, 32);
		snprintf(tp->keys[n].uid, sizeof(tp->keys[n].uid), "n%" PRIu32,
			 tp->peers[i].id);
	}
	for (size_t i = 0; i < c->nclients; i++, n++) {
		zmq_z85_decode(tp->client_keys[i], c->client_keys[i]);
		memcpy(tp->keys[n].key, tp->client_keys[i], 32);
		snprintf(tp->keys[n].uid, sizeof(tp->keys[n].uid), "c%zu", i);
	}
	tp->nkeys = n;
	return 0;
}

static int open_dealer(ukf_tp_t *tp, struct tp_peer *p, const char *pubz,
		       char *err, size_t errlen)
{
	p->dealer = zmq_socket(tp->ctx, ZMQ_DEALER);
	if (!p->dealer || common_opts(tp, p->dealer) < 0 ||
	    setopt_int(p->dealer, ZMQ_IMMEDIATE, 1) < 0 ||
	    setopt_int(p->dealer, ZMQ_RECONNECT_IVL, 100) < 0 ||
	    setopt_int(p->dealer, ZMQ_RECONNECT_IVL_MAX, 1000) < 0 ||
	    zmq_setsockopt(p->dealer, ZMQ_CURVE_SERVERKEY, pubz, 41) < 0 ||
	    zmq_setsockopt(p->dealer, ZMQ_CURVE_PUBLICKEY, tp->c.public_key,
			   41) < 0 ||
	    zmq_setsockopt(p->dealer, ZMQ_CURVE_SECRETKEY, tp->c.secret_key,
			   41) < 0)
		return BAD("%s: socket: %s", p->name, zmq_strerror(errno));
	if (zmq_connect(p->dealer, p->endpoint) < 0)
		return BAD("%s: connect %s: %s", p->name, p->endpoint,
			   zmq_strerror(errno));
	return 0;
}

ukf_tp_t *ukf_tp_create(const struct ukf_tp_config *c, char *err, size_t errlen)
{
	ukf_tp_t *tp;
	size_t n = 0;
	int64_t now = tp_now();

	if (check_config(c, err, errlen) < 0)
		return NULL;
	if (!zmq_has("curve")) {
		snprintf(err, errlen, "libzmq was built without CURVE");
		return NULL;
	}
	tp = calloc(1, sizeof(*tp));
	if (!tp) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&tp->zap.lock, NULL);
	tp->c = *c;
	apply_defaults(&tp->c);
	if (tp->c.peer_timeout_ns <= tp->c.heartbeat_ns) {
		snprintf(err, errlen,
			 "peer timeout %" PRId64
			 " ns is not above heartbeat %" PRId64 " ns",
			 tp->c.peer_timeout_ns, tp->c.heartbeat_ns);
		goto fail;
	}
	tp->c.peers = NULL;
	tp->c.client_keys = NULL;
	tp->c.bind = NULL;
	tp->is_client = c->self == UKF_FRAME_CLIENT;
	if (c->bind)
		snprintf(tp->bind, sizeof(tp->bind), "%s", c->bind);
	tp->next_handle = 1;

	tp->peers = calloc(c->npeers + 1, sizeof(*tp->peers));
	if (!tp->peers)
		goto nomem;
	for (size_t i = 0; i < c->npeers; i++) {
		struct tp_peer *p = &tp->peers[n];

		if (c->peers[i].node == c->self)
			continue;
		p->id = c->peers[i].node;
		p->kind = TP_AGENT;
		p->speak = UKF_FRAME_VERSION;
		p->need_hello = 1;
		p->handle_at = UKF_TP_HANDLE_NONE;
		p->hb_next = now;
		snprintf(p->endpoint, sizeof(p->endpoint), "%s",
			 c->peers[i].endpoint);
		zmq_z85_decode(p->key, c->peers[i].public_key);
		snprintf(p->name, sizeof(p->name), "node %" PRIu32, p->id);
		n++;
	}
	tp->npeers = n;
	if (!tp->is_client) {
		tp->clients = calloc(tp->c.client_max, sizeof(*tp->clients));
		tp->nohello_ns = calloc(c->nclients + 1, sizeof(int64_t));
		if (!tp->clients || !tp->nohello_ns)
			goto nomem;
	}
	if (make_keys(tp, c) < 0)
		goto nomem;
	if (tp_bulk_init(tp, err, errlen) < 0)
		goto fail;

	tp->ctx = zmq_ctx_new();
	if (!tp->ctx) {
		snprintf(err, errlen, "zmq_ctx_new: %s", zmq_strerror(errno));
		goto fail;
	}
	if (tp_zap_start(tp, err, errlen) < 0)
		goto fail;
	if (!tp->is_client) {
		tp->router = zmq_socket(tp->ctx, ZMQ_ROUTER);
		if (!tp->router || common_opts(tp, tp->router) < 0 ||
		    setopt_int(tp->router, ZMQ_ROUTER_MANDATORY, 1) < 0 ||
		    setopt_int(tp->router, ZMQ_CURVE_SERVER, 1) < 0 ||
		    zmq_setsockopt(tp->router, ZMQ_CURVE_SECRETKEY,
				   tp->c.secret_key, 41) < 0 ||
		    zmq_setsockopt(tp->router, ZMQ_ZAP_DOMAIN, "ukfork", 6) <
			0) {
			snprintf(err, errlen, "router socket: %s",
				 zmq_strerror(errno));
			goto fail;
		}
		if (zmq_bind(tp->router, tp->bind) < 0) {
			snprintf(err, errlen, "bind %s: %s", tp->bind,
				 zmq_strerror(errno));
			goto fail;
		}
	}
	for (size_t i = 0, k = 0; i < c->npeers; i++) {
		if (c->peers[i].node == c->self)
			continue;
		if (open_dealer(tp, &tp->peers[k++], c->peers[i].public_key,
				err, errlen) < 0)
			goto fail;
	}
	return tp;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	ukf_tp_destroy(&tp);
	return NULL;
}

static void free_peer(ukf_tp_t *tp, struct tp_peer *p)
{
	tp_bulk_abort_all(tp, p, "shutting down");
	if (p->dealer)
		zmq_close(p->dealer);
	p->dealer = NULL;
}

void ukf_tp_destroy(ukf_tp_t **tpp)
{
	ukf_tp_t *tp = tpp ? *tpp : NULL;
	struct ukf_tpm_bye bye = {.reason = UKF_TP_BYE_SHUTDOWN};
	int linger = 200;

	if (!tp)
		return;
	*tpp = NULL;
	/* BYE to everyone we can reach, given a moment to leave. */
	for (size_t i = 0; i < tp->npeers; i++) {
		struct tp_peer *p = &tp->peers[i];

		if (!p->dealer)
			continue;
		tp_send_tpm(tp, p, UKF_TPM_BYE, &bye);
		zmq_setsockopt(p->dealer, ZMQ_LINGER, &linger, sizeof(linger));
	}
	for (size_t i = 0; tp->clients && tp->router && i < tp->c.client_max;
	     i++)
		if (tp->clients[i].used)
			tp_send_tpm(tp, &tp->clients[i], UKF_TPM_BYE, &bye);
	if (tp->router) {
		zmq_setsockopt(tp->router, ZMQ_LINGER, &linger, sizeof(linger));
		zmq_close(tp->router);
	}
	for (size_t i = 0; i < tp->npeers; i++)
		free_peer(tp, &tp->peers[i]);
	for (size_t i = 0; tp->clients && i < tp->c.client_max; i++)
		free_peer(tp, &tp->clients[i]);
	if (tp->ctx) {
		tp_zap_stop(tp);
		zmq_ctx_term(tp->ctx);
	}
	tp_bulk_fini(tp);
	explicit_bzero(tp->c.secret_key, sizeof(tp->c.secret_key));
	free(tp->peers);
	free(tp->clients);
	free(tp->nohello_ns);
	free(tp->client_keys);
	free(tp->keys);
	free(tp->items);
	pthread_mutex_destroy(&tp->zap.lock);
	free(tp);
}

/* ---- sending ---- */

static int deliverable(uint16_t t)
{
	return (t >= UKF_FRAME_T_ENGINE_MIN && t <= UKF_FRAME_T_ENGINE_MAX) ||
	       (t >= UKF_FRAME_T_DIR_MIN && t <= UKF_FRAME_T_DIR_MAX) ||
	       (t >= UKF_FRAME_T_CLIENT_MIN && t <= UKF_FRAME_T_CLIENT_MAX);
}

int ukf_tp_send_owned(ukf_tp_t *tp, uint32_t to, uint16_t type,
		      const void *body, size_t len, void **bulk_p,
		      size_t bulk_len)
{
	struct tp_peer *p;
	int rc;

	if (!tp || !deliverable(type) || (len && !body) ||
	    (bulk_len && (!bulk_p || !*bulk_p))) {
		rc = -EINVAL;
		goto out;
	}
	if (tp->is_client &&
	    (type < UKF_FRAME_T_CLIENT_MIN || type > UKF_FRAME_T_CLIENT_MAX)) {
		rc = -EINVAL;
		goto out;
	}
	p = tp_find(tp, to);
	if (!p) {
		rc = -EINVAL;
		goto out;
	}
	if (len > tp->c.msg_max || bulk_len > tp->c.bulk_max) {
		rc = -EMSGSIZE;
		goto out;
	}
	if (bulk_len)
		return tp_bulk_queue(tp, p, type, body, len, bulk_p, bulk_len);
	rc = tp_send_frames(tp, p, type, 0, body, len, NULL, 0);
	if (rc == 0)
		p->st.msgs_out++;
out:
	if (bulk_p) {
		free(*bulk_p);
		*bulk_p = NULL;
	}
	return rc;
}

int ukf_tp_send(ukf_tp_t *tp, uint32_t to, uint16_t type, const void *body,
		size_t len, const void *bulk, size_t bulk_len)
{
	void *copy = NULL;

	if (bulk_len) {
		if (!bulk)
			return -EINVAL;
		if (tp && bulk_len > tp->c.bulk_max)
			return -EMSGSIZE;
		/* a template crosses in this copy: on huge pages with
		 * UKF_THP=1, else malloc (no zeroing of what is copied over) */
		copy = ukf_big_thp() ? ukf_big_calloc(bulk_len)
				     : malloc(bulk_len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, bulk, bulk_len);
	}
	return ukf_tp_send_owned(tp, to, type, body, len,
				 bulk_len ? &copy : NULL, bulk_len);
}

void *ukf_tp_take_bulk(ukf_tp_t *tp)
{
	void *b;

	if (!tp || !tp->cb_bulk || tp->cb_taken)
		return NULL;
	b = tp->cb_bulk;
	tp->cb_taken = 1;
	return b;
}

/* ---- the loop ---- */

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Heartbeats, HELLOs, liveness and bulk stalls of p; next due time. */
static int64_t tick_peer(ukf_tp_t *tp, struct tp_peer *p, int64_t now)
{
	int64_t due;

	if (p->up && now - p->heard_ns >= tp->c.peer_timeout_ns) {
		char why[64];

		snprintf(why, sizeof(why), "silent for %" PRId64 " ms",
			 (int64_t)((now - p->heard_ns) / UKF_MS));
		tp_peer_down(tp, p, why);
		if (p->kind == TP_CLIENT)
			return INT64_MAX;
	}
	if (p->kind == TP_CLIENT && !p->up)
		return INT64_MAX;
	if (p->up_pending) {
		if (tp_can_send(p))
			tp_report_up(tp, p);
		else if (now - p->heard_ns >= tp->c.peer_timeout_ns)
			p->up_pending = 0; /* heard, but never reachable */
	}
	if (now >= p->hb_next) {
		if (p->up && !p->need_hello) {
			tp_send_frames(tp, p, UKF_TP_T_HEARTBEAT, 0, NULL, 0,
				       NULL, 0);
		} else if (tp_send_hello(tp, p) < 0) {
			p->need_hello = 1;
		}
		p->hb_next = now + tp->c.heartbeat_ns;
	}
	if (p->need_out) {
		p->need_out = 0; /* set again if ZeroMQ still pushes back */
		tp_bulk_pump(tp, p);
	}
	due = p->hb_next;
	if (p->up || p->up_pending)
		due = min64(due, p->heard_ns + tp->c.peer_timeout_ns);
	due = min64(due, tp_bulk_tick(tp, p, now));
	if (p->kind == TP_CLIENT && p->need_out)
		due = min64(due, now + UKF_MS); /* no POLLOUT per client */
	return due;
}

static int64_t tick(ukf_tp_t *tp, int64_t now)
{
	int64_t due = INT64_MAX;

	for (size_t i = 0; i < tp->npeers; i++)
		due = min64(due, tick_peer(tp, &tp->peers[i], now));
	for (size_t i = 0; tp->clients && i < tp->c.client_max; i++)
		if (tp->clients[i].used)
			due = min64(due, tick_peer(tp, &tp->clients[i], now));
	return due;
}

static short to_zmq_events(short ev)
{
	return (short)(((ev & POLLIN) ? ZMQ_POLLIN : 0) |
		       ((ev & POLLOUT) ? ZMQ_POLLOUT : 0) |
		       ((ev & POLLPRI) ? ZMQ_POLLPRI : 0));
}

static short from_zmq_events(short ev)
{
	return (short)(((ev & ZMQ_POLLIN) ? POLLIN : 0) |
		       ((ev & ZMQ_POLLOUT) ? POLLOUT : 0) |
		       ((ev & ZMQ_POLLERR) ? POLLERR : 0) |
		       ((ev & ZMQ_POLLPRI) ? POLLPRI : 0));
}

int ukf_tp_poll(ukf_tp_t *tp, struct pollfd *fds, size_t nfds,
		int64_t timeout_ns)
{
	zmq_pollitem_t *it;
	size_t n = 0, need = 1 + tp->npeers + nfds;
	int64_t now = tp_now(), due, wait;
	long ms;
	int rc, ready = 0;

	if (nfds && !fds)
		return -EINVAL;
	if (need > tp->items_cap) {
		void *m = realloc(tp->items, need * sizeof(zmq_pollitem_t));

		if (!m)
			return -ENOMEM;
		tp->items = m;
		tp->items_cap = need;
	}
	it = tp->items;
	due = tick(tp, now);
	wait = timeout_ns < 0 ? INT64_MAX : timeout_ns;
	if (due != INT64_MAX)
		wait = min64(wait, due > now ? due - now : 0);
	if (tp->router)
		it[n++] = (zmq_pollitem_t){.socket = tp->router,
					   .events = ZMQ_POLLIN};
	for (size_t i = 0; i < tp->npeers; i++) {
		struct tp_peer *p = &tp->peers[i];
		short ev = ZMQ_POLLIN;

		if (p->need_hello || p->need_out || p->up_pending)
			ev |= ZMQ_POLLOUT;
		it[n++] = (zmq_pollitem_t){.socket = p->dealer, .events = ev};
	}
	for (size_t i = 0; i < nfds; i++) {
		fds[i].revents = 0;
		it[n + i] = (zmq_pollitem_t){
		    .fd = fds[i].fd, .events = to_zmq_events(fds[i].events)};
	}
	if (wait == INT64_MAX)
		ms = -1;
	else if (wait / UKF_MS >= 3600 * 1000)
		ms = 3600 * 1000;
	else
		ms = (long)((wait + UKF_MS - 1) / UKF_MS);
	rc = zmq_poll(it, (int)(n + nfds), ms);
	if (rc < 0)
		return -errno;
	n = 0;
	if (tp->router && (it[n++].revents & ZMQ_POLLIN))
		tp_recv_router(tp);
	for (size_t i = 0; i < tp->npeers; i++) {
		struct tp_peer *p = &tp->peers[i];
		short rev = it[n++].revents;

		if (rev & ZMQ_POLLIN)
			tp_recv_dealer(tp, p);
		if (rev & ZMQ_POLLOUT) {
			if (p->up_pending)
				tp_report_up(tp, p);
			if (p->need_hello)
				tp_send_hello(tp, p);
			if (p->need_out) {
				p->need_out = 0;
				tp_bulk_pump(tp, p);
			}
		}
	}
	for (size_t i = 0; i < nfds; i++) {
		fds[i].revents = from_zmq_events(it[n + i].revents);
		if (fds[i].revents)
			ready++;
	}
	tick(tp, tp_now());
	tp_zap_drain(tp);
	return ready;
}

/* ---- inspection ---- */

int ukf_tp_peer_stats(const ukf_tp_t *tp, uint32_t who,
		      struct ukf_tp_peer_stats *st)
{
	const struct tp_peer *p = tp ? tp_find(tp, who) : NULL;

	if (!p || !st)
		return -ENOENT;
	*st = p->st;
	st->up = p->up;
	st->incarnation = p->inc;
	return 0;
}

void ukf_tp_stats(const ukf_tp_t *tp, struct ukf_tp_stats *st)
{
	*st = tp->g;
	pthread_mutex_lock((pthread_mutex_t *)&tp->zap.lock);
	st->refused = tp->zap.refused;
	pthread_mutex_unlock((pthread_mutex_t *)&tp->zap.lock);
}

uint32_t ukf_tp_my_handle(const ukf_tp_t *tp, uint32_t node)
{
	const struct tp_peer *p = tp ? tp_agent(tp, node) : NULL;

	return p ? p->handle_at : UKF_TP_HANDLE_NONE;
}

int ukf_tp_free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}
