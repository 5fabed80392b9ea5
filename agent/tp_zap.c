/* SPDX-License-Identifier: MIT */
/* tp_zap.c - the ZAP handler (RFC 27) of a transport: admits the configured
 * CURVE keys, names each with a User-Id. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "tp_int.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES   8
#define STOP	     "ukf-zap-stop"

static void note_refusal(struct tp_zap *z, const uint8_t key[32],
			 const char *addr)
{
	char kz[41] = "?";
	int seen = 0;

	pthread_mutex_lock(&z->lock);
	z->refused++;
	for (int i = 0; i < z->nseen; i++)
		if (!memcmp(z->seen[i], key, 32))
			seen = 1;
	if (!seen && z->nseen < TP_ZAP_SEEN) {
		memcpy(z->seen[z->nseen++], key, 32);
		if (z->nnotes < TP_ZAP_NOTES) {
			zmq_z85_encode(kz, key, 32);
			snprintf(z->notes[z->nnotes++], sizeof(z->notes[0]),
				 "refused a connection from %s: unknown key %s",
				 addr, kz);
		}
	}
	pthread_mutex_unlock(&z->lock);
}

static void reply(void *sock, zmq_msg_t *req_id, const char *code,
		  const char *text, const char *uid)
{
	zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
	zmq_msg_send(req_id, sock, ZMQ_SNDMORE);
	zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
	zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(sock, uid, strlen(uid), ZMQ_SNDMORE);
	zmq_send(sock, "", 0, 0);
}

/* Copy frame m as a C string into out (truncated). */
static void str_of(zmq_msg_t *m, char *out, size_t cap)
{
	size_t n = zmq_msg_size(m);

	if (n >= cap)
		n = cap - 1;
	memcpy(out, zmq_msg_data(m), n);
	out[n] = 0;
}

/* Answer one request; 1 when asked to stop, -1 when the context ends. */
static int serve_one(struct tp_zap *z)
{
	zmq_msg_t f[ZAP_FRAMES];
	int n = 0, more = 1, rc = 0;
	char version[8], mech[16], addr[64];

	while (more) {
		zmq_msg_t x, *t = n < ZAP_FRAMES ? &f[n] : &x;

		zmq_msg_init(t);
		if (zmq_msg_recv(t, z->sock, 0) < 0) {
			zmq_msg_close(t);
			for (int i = 0; i < n; i++)
				zmq_msg_close(&f[i]);
			return errno == EINTR ? 0 : -1;
		}
		more = zmq_msg_more(t);
		if (t == &x)
			zmq_msg_close(&x);
		else
			n++;
	}
	str_of(&f[0], version, sizeof(version));
	if (n == 1 && zmq_msg_size(&f[0]) == strlen(STOP) &&
	    !memcmp(zmq_msg_data(&f[0]), STOP, strlen(STOP))) {
		zmq_send(z->sock, "ok", 2, 0);
		rc = 1;
	} else if (n < 6 || strcmp(version, "1.0")) {
		/* Not a ZAP request we can answer; libzmq never sends one. */
		if (n >= 2)
			reply(z->sock, &f[1], "500", "bad ZAP request", "");
		else
			zmq_send(z->sock, "", 0, 0);
	} else {
		str_of(&f[5], mech, sizeof(mech));
		str_of(&f[3], addr, sizeof(addr));
		if (strcmp(mech, "CURVE") || n < 7 ||
		    zmq_msg_size(&f[6]) != 32) {
			reply(z->sock, &f[1], "400", "CURVE only", "");
		} else {
			const uint8_t *key = zmq_msg_data(&f[6]);
			const struct tp_key *k = NULL;

			for (size_t i = 0; i < z->nkeys && !k; i++)
				if (!memcmp(z->keys[i].key, key, 32))
					k = &z->keys[i];
			if (k) {
				reply(z->sock, &f[1], "200", "OK", k->uid);
			} else {
				note_refusal(z, key, addr);
				reply(z->sock, &f[1], "400", "unknown key", "");
			}
		}
	}
	for (int i = 0; i < n; i++)
		zmq_msg_close(&f[i]);
	return rc;
}

static void *zap_main(void *arg)
{
	struct tp_zap *z = arg;

	while (serve_one(z) == 0)
		;
	zmq_close(z->sock);
	return NULL;
}

int tp_zap_start(ukf_tp_t *tp, char *err, size_t errlen)
{
	struct tp_zap *z = &tp->zap;
	int linger = 0;

	z->keys = tp->keys;
	z->nkeys = tp->nkeys;
	z->sock = zmq_socket(tp->ctx, ZMQ_REP);
	if (!z->sock) {
		snprintf(err, errlen, "ZAP socket: %s", zmq_strerror(errno));
		return -1;
	}
	zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_bind(z->sock, ZAP_ENDPOINT) < 0) {
		snprintf(err, errlen, "ZAP bind: %s", zmq_strerror(errno));
		zmq_close(z->sock);
		z->sock = NULL;
		return -1;
	}
	/* The socket moves to the thread; pthread_create is the barrier. */
	if (pthread_create(&z->thread, NULL, zap_main, z)) {
		snprintf(err, errlen, "cannot start the ZAP thread");
		zmq_close(z->sock);
		z->sock = NULL;
		return -1;
	}
	z->started = 1;
	return 0;
}

void tp_zap_stop(ukf_tp_t *tp)
{
	struct tp_zap *z = &tp->zap;
	void *req;
	char ok[4];
	int linger = 0;

	if (!z->started)
		return;
	req = zmq_socket(tp->ctx, ZMQ_REQ);
	if (req) {
		zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof(linger));
		if (zmq_connect(req, ZAP_ENDPOINT) == 0 &&
		    zmq_send(req, STOP, strlen(STOP), 0) == (int)strlen(STOP))
			zmq_recv(req, ok, sizeof(ok), 0);
		zmq_close(req);
	}
	pthread_join(z->thread, NULL);
	z->started = 0;
}

void tp_zap_drain(ukf_tp_t *tp)
{
	struct tp_zap *z = &tp->zap;
	char notes[TP_ZAP_NOTES][160];
	int n;

	pthread_mutex_lock(&z->lock);
	n = z->nnotes;
	memcpy(notes, z->notes, sizeof(notes[0]) * (size_t)n);
	z->nnotes = 0;
	pthread_mutex_unlock(&z->lock);
	for (int i = 0; i < n; i++)
		tp_log(tp, UKF_TP_LOG_WARNING, "%s", notes[i]);
}
