/* SPDX-License-Identifier: MIT */
/* harness.c - keyed loopback nodes, recorded callbacks and raw ZeroMQ peers for
 * the transport tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "harness.h"

int h_free_port(void)
{
	return ukf_tp_free_port();
}

static void on_message(void *u, uint32_t from, const struct ukf_frame_header *h,
		       const void *body, size_t len, const void *bulk,
		       size_t bulk_len)
{
	struct h_node *n = u;
	struct h_msg *m;

	if (n->nmsgs >= H_MAX_MSGS)
		return;
	m = &n->msgs[n->nmsgs++];
	m->from = from;
	m->h = *h;
	m->len = len;
	m->body = malloc(len + 1);
	if (len)
		memcpy(m->body, body, len);
	m->bulk_len = bulk_len;
	m->bulk = bulk_len ? ukf_tp_take_bulk(n->tp) : NULL;
	/* take_bulk hands over the very buffer the callback was given */
	if (bulk_len && m->bulk != bulk)
		m->bulk = NULL;
}

static void on_peer(void *u, uint32_t who, int up, uint64_t inc, int restarted)
{
	struct h_node *n = u;

	if (n->nev < H_MAX_EVENTS)
		n->ev[n->nev++] = (struct h_event){who, up, restarted, inc};
	if (n->send_on_up && up && !ukf_tp_is_handle(who) &&
	    ukf_tp_send(n->tp, who, 10, "on up", 5, NULL, 0) != 0)
		n->send_on_up_failed++;
}

static void on_log(void *u, int level, const char *line)
{
	struct h_node *n = u;

	if (getenv("UKF_TEST_VERBOSE"))
		fprintf(stderr, "[%d] %s\n", level, line);
	if (n->nlog < H_MAX_LOG)
		n->log[n->nlog++] = strdup(line);
}

void h_node_init(struct h_node *n, uint32_t id)
{
	memset(n, 0, sizeof(*n));
	n->id = id;
	zmq_curve_keypair(n->pub, n->sec);
	snprintf(n->ep, sizeof(n->ep), "tcp://127.0.0.1:%d", h_free_port());
}

void h_node_config(struct h_node *n, struct h_node **peers, size_t np,
		   struct h_node **clients, size_t nc)
{
	struct ukf_tp_peer *pp = calloc(np + 1, sizeof(*pp));
	char(*ck)[41] = calloc(nc + 1, 41);

	free((void *)n->cfg.peers);
	free((void *)n->cfg.client_keys);
	memset(&n->cfg, 0, sizeof(n->cfg));
	for (size_t i = 0; i < np; i++) {
		pp[i].node = peers[i]->id;
		snprintf(pp[i].endpoint, sizeof(pp[i].endpoint), "%s",
			 peers[i]->ep);
		memcpy(pp[i].public_key, peers[i]->pub, 41);
	}
	for (size_t i = 0; i < nc; i++)
		memcpy(ck[i], clients[i]->pub, 41);
	n->cfg.self = n->id;
	n->cfg.incarnation = ukf_tp_incarnation_now();
	n->cfg.bind = n->id == UKF_FRAME_CLIENT ? NULL : n->ep;
	memcpy(n->cfg.public_key, n->pub, 41);
	memcpy(n->cfg.secret_key, n->sec, 41);
	n->cfg.peers = pp;
	n->cfg.npeers = np;
	n->cfg.client_keys = (const char(*)[41])ck;
	n->cfg.nclients = nc;
	n->cfg.heartbeat_ns = 50 * 1000000LL;
	n->cfg.peer_timeout_ns = 500 * 1000000LL;
	n->cfg.on_message = on_message;
	n->cfg.on_peer = on_peer;
	n->cfg.log = on_log;
	n->cfg.u = n;
}

ukf_tp_t *h_node_start(struct h_node *n)
{
	char err[256];

	n->tp = ukf_tp_create(&n->cfg, err, sizeof(err));
	if (!n->tp)
		fprintf(stderr, "ukf_tp_create: %s\n", err);
	return n->tp;
}

void h_msgs_clear(struct h_node *n)
{
	for (size_t i = 0; i < n->nmsgs; i++) {
		free(n->msgs[i].body);
		free(n->msgs[i].bulk);
	}
	n->nmsgs = 0;
}

void h_node_free(struct h_node *n)
{
	ukf_tp_destroy(&n->tp);
	h_msgs_clear(n);
	for (size_t i = 0; i < n->nlog; i++)
		free(n->log[i]);
	free((void *)n->cfg.peers);
	free((void *)n->cfg.client_keys);
	n->cfg.peers = NULL;
	n->cfg.client_keys = NULL;
	n->nmsgs = n->nlog = n->nev = 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void h_poll_all(struct h_node **ns, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ns[i]->tp)
			ukf_tp_poll(ns[i]->tp, NULL, 0, 1000000);
}

int h_poll_until(struct h_node **ns, size_t n, int (*cond)(void *), void *arg,
		 int guard_ms)
{
	int64_t end = mono_ms() + guard_ms;

	while (!cond(arg)) {
		if (mono_ms() > end)
			return 0;
		h_poll_all(ns, n);
	}
	return 1;
}

void h_poll_for(struct h_node **ns, size_t n, int ms)
{
	int64_t end = mono_ms() + ms;

	while (mono_ms() < end)
		h_poll_all(ns, n);
}

int h_find_event(const struct h_node *n, uint32_t who, int up, int restarted)
{
	for (size_t i = 0; i < n->nev; i++)
		if (n->ev[i].who == who && n->ev[i].up == up &&
		    (restarted < 0 || n->ev[i].restarted == restarted))
			return (int)i;
	return -1;
}

size_t h_log_count(const struct h_node *n, const char *s)
{
	size_t c = 0;

	for (size_t i = 0; i < n->nlog; i++)
		if (strstr(n->log[i], s))
			c++;
	return c;
}

void *h_raw_ctx(void)
{
	return zmq_ctx_new();
}

void *h_raw_dealer(void *ctx, const char *ep, const char *spub, const char *pub,
		   const char *sec)
{
	void *s = zmq_socket(ctx, ZMQ_DEALER);
	int linger = 0;

	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, spub, 41);
	zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 41);
	zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 41);
	if (zmq_connect(s, ep) < 0) {
		zmq_close(s);
		return NULL;
	}
	return s;
}

void *h_raw_router(void *ctx, const char *ep, const char *sec)
{
	void *s = zmq_socket(ctx, ZMQ_ROUTER);
	int linger = 0, one = 1;

	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one));
	zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 41);
	if (zmq_bind(s, ep) < 0) {
		zmq_close(s);
		return NULL;
	}
	return s;
}

int h_raw_send(void *sock, const struct ukf_frame_header *h, const void *body,
	       size_t len, const void *const *f, const size_t *flen, int nextra)
{
	uint8_t *buf = malloc(UKF_FRAME_HEADER + len + 1);
	int rc;

	ukf_frame_header_encode(h, buf);
	if (len)
		memcpy(buf + UKF_FRAME_HEADER, body, len);
	rc = zmq_send(sock, buf, UKF_FRAME_HEADER + len,
		      nextra ? ZMQ_SNDMORE : 0);
	free(buf);
	for (int i = 0; rc >= 0 && i < nextra; i++)
		rc = zmq_send(sock, f[i], flen[i],
			      i + 1 < nextra ? ZMQ_SNDMORE : 0);
	return rc < 0 ? -1 : 0;
}

int h_raw_bytes(void *sock, const void *b, size_t n)
{
	return zmq_send(sock, b, n, 0) < 0 ? -1 : 0;
}

struct ukf_frame_header h_hdr(uint32_t sender, uint64_t inc, uint64_t seq,
			      uint16_t type, uint32_t len)
{
	return (struct ukf_frame_header){
	    .version = UKF_FRAME_VERSION,
	    .min_version = UKF_FRAME_MIN_VERSION,
	    .type = type,
	    .sender = sender,
	    .incarnation = inc,
	    .seq = seq,
	    .length = len,
	};
}
