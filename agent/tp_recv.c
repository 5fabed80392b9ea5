/* SPDX-License-Identifier: MIT */
/* tp_recv.c - receiving: who sent a frame, checking it, liveness and
 * incarnations, dispatch. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "tp_int.h"

/* Where a frame came from before we know which peer slot it belongs to. */
struct src {
	struct tp_peer *p; /* a node (DEALER, or ROUTER with User-Id n<N>) */
	int client; /* ROUTER with User-Id c<I>: the key index, else -1 */
	const uint8_t *rid;
	size_t rid_len;
};

static int deliverable(uint16_t t)
{
	return (t >= UKF_FRAME_T_ENGINE_MIN && t <= UKF_FRAME_T_ENGINE_MAX) ||
	       (t >= UKF_FRAME_T_DIR_MIN && t <= UKF_FRAME_T_DIR_MAX) ||
	       (t >= UKF_FRAME_T_CLIENT_MIN && t <= UKF_FRAME_T_CLIENT_MAX);
}

/* "Say HELLO first" to a client we hold no handle for: a HELLO with no
 * handle, at most once per heartbeat period per client key. */
static void ask_hello(ukf_tp_t *tp, const struct src *s, uint8_t version)
{
	struct tp_peer tmp;
	int64_t now = tp_now();

	if (now - tp->nohello_ns[s->client] < tp->c.heartbeat_ns)
		return;
	tp->nohello_ns[s->client] = now;
	memset(&tmp, 0, sizeof(tmp));
	tmp.kind = TP_CLIENT;
	tmp.speak = version;
	memcpy(tmp.rid, s->rid, s->rid_len);
	tmp.rid_len = s->rid_len;
	tp_send_hello(tp, &tmp);
}

/* New client HELLO: a slot and a handle. NULL (dropped) on failure. */
static struct tp_peer *client_hello(ukf_tp_t *tp, const struct src *s,
				    const struct ukf_frame_header *h,
				    const uint8_t *body)
{
	struct ukf_tpm_hello m;
	struct tp_peer *p;
	char err[160];

	if (ukf_tpm_decode(UKF_TPM_HELLO, &m, body, h->length,
			   h->version > UKF_FRAME_VERSION, h, err,
			   sizeof(err)) < 0) {
		tp_drop(tp, NULL, UKF_TP_DROP_MALFORMED, "client %d: %s",
			s->client, err);
		return NULL;
	}
	p = tp_client_new(tp, s->client, h->incarnation);
	if (!p) {
		tp_drop(tp, NULL, UKF_TP_DROP_OVERSIZED,
			"client %d: already %zu clients (client_max)",
			s->client, tp->c.client_max);
		return NULL;
	}
	return p;
}

/* Incarnation, sequence and up/restart reporting for a valid frame from
 * p. -1: stale, dropped. */
static int seen(ukf_tp_t *tp, struct tp_peer *p,
		const struct ukf_frame_header *h)
{
	int restarted = 0, was_up = p->up;

	if (p->inc && h->incarnation < p->inc) {
		tp_drop(tp, p, UKF_TP_DROP_STALE,
			"incarnation %" PRIu64 " older than %" PRIu64,
			h->incarnation, p->inc);
		return -1;
	}
	if (p->inc && h->incarnation > p->inc) {
		restarted = 1;
		tp_bulk_abort_all(tp, p, "peer restarted");
		tp_log(tp, UKF_TP_LOG_INFO,
		       "%s restarted: incarnation %" PRIu64 " -> %" PRIu64,
		       p->name, p->inc, h->incarnation);
		p->st.restarts++;
		p->seq_in = 0;
		p->handle_at = UKF_TP_HANDLE_NONE;
		p->need_hello = 1;
	} else if (h->type == UKF_TP_T_HELLO) {
		/* A HELLO (re)starts the numbering: an agent numbers the
		 * frames of a client handle it just made from 1. */
	} else if (p->seq_in && h->seq <= p->seq_in) {
		tp_drop(tp, p, UKF_TP_DROP_STALE,
			"sequence %" PRIu64 " not after %" PRIu64, h->seq,
			p->seq_in);
		return -1;
	} else if (p->seq_in && h->seq > p->seq_in + 1) {
		p->st.lost += h->seq - p->seq_in - 1;
	}
	p->seq_in = h->seq;
	p->inc = h->incarnation;
	p->speak = ukf_frame_version_with(h);
	p->heard_ns = tp_now();
	if (!was_up || restarted) {
		/* Up once we can also send to it: our own connection to a
		 * peer agent may complete a moment after its frames arrive.
		 * A restart of a peer that was up is reported at once. */
		p->pending_restarted |= restarted;
		if (was_up || tp_can_send(p))
			tp_report_up(tp, p);
		else
			p->up_pending = 1;
	}
	return 0;
}

static void on_hello(ukf_tp_t *tp, struct tp_peer *p,
		     const struct ukf_frame_header *h, const uint8_t *body)
{
	struct ukf_tpm_hello m;
	char err[160];

	if (ukf_tpm_decode(UKF_TPM_HELLO, &m, body, h->length,
			   h->version > UKF_FRAME_VERSION, h, err,
			   sizeof(err)) < 0) {
		tp_drop(tp, p, UKF_TP_DROP_MALFORMED, "%s", err);
		return;
	}
	if (p->kind == TP_CLIENT) {
		/* Agent side: (re)confirm the client's handle. */
		tp_send_hello(tp, p);
		return;
	}
	if (tp->is_client) {
		/* Our handle at that agent; none: it forgot us, say HELLO. */
		p->handle_at = m.handle;
		if (m.handle == UKF_TP_HANDLE_NONE)
			tp_send_hello(tp, p);
		return;
	}
	/* Agent to agent: answer at once if we still owe it our HELLO. */
	if (p->need_hello)
		tp_send_hello(tp, p);
}

static void deliver(ukf_tp_t *tp, struct tp_peer *p,
		    const struct ukf_frame_header *h, const uint8_t *body)
{
	if (p->up_pending) /* the engine hears of a peer before its words */
		tp_report_up(tp, p);
	p->st.msgs_in++;
	if (tp->c.on_message)
		tp->c.on_message(tp->c.u, p->id, h, body, h->length, NULL, 0);
}

/*
 * Check and act on one message: f0 = header + body, f1 = its second frame
 * or NULL, extra = frames beyond two.
 */
static void handle(ukf_tp_t *tp, const struct src *s, zmq_msg_t *f0,
		   zmq_msg_t *f1, size_t extra)
{
	struct ukf_frame_header h;
	struct tp_peer *p = s->p;
	const uint8_t *buf = zmq_msg_data(f0), *body;
	size_t len = zmq_msg_size(f0);
	size_t f1_len = f1 ? zmq_msg_size(f1) : 0;
	const char *cname = "";
	char err[160];
	int kind;

	if (p) {
		p->st.frames_in++;
		p->st.bytes_in += len + f1_len;
	}
	if (len > UKF_FRAME_HEADER + tp->c.msg_max) {
		tp_drop(tp, p, UKF_TP_DROP_OVERSIZED,
			"frame of %zu bytes (msg_max %zu)", len, tp->c.msg_max);
		return;
	}
	if (ukf_frame_header_decode(&h, buf, len, err, sizeof(err)) < 0) {
		tp_drop(tp, p, UKF_TP_DROP_MALFORMED, "%s", err);
		return;
	}
	body = buf + UKF_FRAME_HEADER;
	if (s->client >= 0) {
		/* A client: its slot is keyed by (key, incarnation). */
		if (h.sender != UKF_FRAME_CLIENT) {
			tp_drop(tp,
				tp_client_find(tp, s->client, h.incarnation),
				UKF_TP_DROP_FORGED,
				"client %d claims to be node %" PRIu32,
				s->client, h.sender);
			return;
		}
		p = tp_client_find(tp, s->client, h.incarnation);
		/* Only a well-formed HELLO makes a slot (no slot is left
		 * behind by a frame dropped below). */
		if (!p && h.type == UKF_TP_T_HELLO && !extra && !f1 &&
		    !h.flags && h.incarnation)
			p = client_hello(tp, s, &h, body);
		if (!p) {
			if (h.type != UKF_TP_T_HELLO) {
				tp_drop(tp, NULL, UKF_TP_DROP_STALE,
					"client %d (incarnation %" PRIu64
					") has no handle: asked it for HELLO",
					s->client, h.incarnation);
				ask_hello(tp, s, ukf_frame_version_with(&h));
			}
			return;
		}
		p->st.frames_in++;
		p->st.bytes_in += len + f1_len;
		if (s->rid_len != p->rid_len ||
		    memcmp(s->rid, p->rid, s->rid_len)) {
			/* First frame, or the client reconnected. */
			memcpy(p->rid, s->rid, s->rid_len);
			p->rid_len = s->rid_len;
		}
		cname = " from a client";
	} else if (h.sender != p->id) {
		tp_drop(tp, p, UKF_TP_DROP_FORGED,
			"header says sender %" PRIu32 " but the key is %s's",
			h.sender, p->name);
		return;
	}
	if (extra) {
		tp_drop(tp, p, UKF_TP_DROP_MALFORMED, "%zu frames in a message",
			2 + extra);
		return;
	}
	if (h.flags & ~UKF_FRAME_F_BULK) {
		tp_drop(tp, p, UKF_TP_DROP_MALFORMED, "unknown flags 0x%x",
			h.flags);
		return;
	}
	kind = ukf_tpm_kind_of(h.type);
	if (kind < 0 && !deliverable(h.type)) {
		tp_drop(tp, p, UKF_TP_DROP_TYPE, "unknown message type %u",
			h.type);
		return;
	}
	if (kind < 0 && p->kind == TP_CLIENT &&
	    (h.type < UKF_FRAME_T_CLIENT_MIN ||
	     h.type > UKF_FRAME_T_CLIENT_MAX)) {
		tp_drop(tp, p, UKF_TP_DROP_TYPE, "type %u not allowed%s",
			h.type, cname);
		return;
	}
	if ((h.flags & UKF_FRAME_F_BULK) && kind >= 0) {
		tp_drop(tp, p, UKF_TP_DROP_MALFORMED,
			"bulk flag on transport message %u", h.type);
		return;
	}
	if (!!f1 != ((h.flags & UKF_FRAME_F_BULK) || kind == UKF_TPM_CHUNK)) {
		tp_drop(tp, p, UKF_TP_DROP_MALFORMED,
			f1 ? "a second frame on type %u without the bulk flag"
			   : "type %u without its second frame",
			h.type);
		return;
	}
	if (!h.incarnation) {
		tp_drop(tp, p, UKF_TP_DROP_MALFORMED, "incarnation 0");
		return;
	}
	if (seen(tp, p, &h) < 0)
		return;
	switch (kind) {
	case UKF_TPM_HELLO:
		on_hello(tp, p, &h, body);
		break;
	case UKF_TPM_HEARTBEAT:
		if (ukf_tpm_decode(UKF_TPM_HEARTBEAT, NULL, body, h.length,
				   h.version > UKF_FRAME_VERSION, &h, err,
				   sizeof(err)) < 0)
			tp_drop(tp, p, UKF_TP_DROP_MALFORMED, "%s", err);
		break;
	case UKF_TPM_BYE: {
		struct ukf_tpm_bye m;

		if (ukf_tpm_decode(UKF_TPM_BYE, &m, body, h.length,
				   h.version > UKF_FRAME_VERSION, &h, err,
				   sizeof(err)) < 0)
			tp_drop(tp, p, UKF_TP_DROP_MALFORMED, "%s", err);
		else
			tp_peer_down(tp, p, "said bye");
		break;
	}
	case UKF_TPM_CHUNK:
		tp_bulk_on_chunk(tp, p, &h, body, zmq_msg_data(f1), f1_len);
		break;
	case UKF_TPM_CREDIT:
		tp_bulk_on_credit(tp, p, &h, body);
		break;
	default:
		if (h.flags & UKF_FRAME_F_BULK)
			tp_bulk_on_message(tp, p, &h, body, zmq_msg_data(f1),
					   f1_len);
		else
			deliver(tp, p, &h, body);
	}
}

/*
 * Receive one whole message without blocking: its first `keep` frames in
 * m[0..*kept), the number of frames beyond them in *extra (discarded).
 * -1 when nothing is waiting.
 */
static int recv_msg(void *sock, zmq_msg_t *m, size_t keep, size_t *kept,
		    size_t *extra)
{
	int more = 1, flags = ZMQ_DONTWAIT;

	*kept = 0;
	*extra = 0;
	while (more) {
		zmq_msg_t x, *t = *kept < keep ? &m[*kept] : &x;

		zmq_msg_init(t);
		if (zmq_msg_recv(t, sock, flags) < 0) {
			/* Later frames of a message are there already. */
			zmq_msg_close(t);
			for (size_t k = 0; k < *kept; k++)
				zmq_msg_close(&m[k]);
			return -1;
		}
		flags = 0;
		more = zmq_msg_more(t);
		if (t == &x) {
			zmq_msg_close(&x);
			(*extra)++;
		} else {
			(*kept)++;
		}
	}
	return 0;
}

/* The User-Id ZAP gave this connection: a node or a client index. */
static void identify(ukf_tp_t *tp, zmq_msg_t *m, struct src *s)
{
	const char *uid = zmq_msg_gets(m, "User-Id");
	char *end;
	unsigned long v;

	s->p = NULL;
	s->client = -1;
	if (!uid || (uid[0] != 'n' && uid[0] != 'c') || !uid[1])
		return;
	errno = 0;
	v = strtoul(uid + 1, &end, 10);
	if (errno || *end)
		return;
	if (uid[0] == 'n')
		s->p = tp_agent(tp, (uint32_t)v);
	else if (!tp->is_client && v < tp->nkeys - tp->npeers)
		s->client = (int)v;
}

void tp_recv_router(ukf_tp_t *tp)
{
	for (int i = 0; i < TP_RECV_BUDGET; i++) {
		zmq_msg_t m[3]; /* routing id, frame 0, frame 1 */
		size_t kept, extra;
		struct src s;

		if (recv_msg(tp->router, m, 3, &kept, &extra) < 0)
			return;
		if (kept < 2) {
			tp_drop(tp, NULL, UKF_TP_DROP_MALFORMED,
				"empty message");
		} else {
			identify(tp, &m[1], &s);
			s.rid = zmq_msg_data(&m[0]);
			s.rid_len = zmq_msg_size(&m[0]);
			if (s.rid_len > TP_RID_MAX || (!s.p && s.client < 0))
				/* CURVE + ZAP admit only known keys. */
				tp_drop(tp, NULL, UKF_TP_DROP_UNAUTH,
					"frame from a connection with no "
					"known identity");
			else
				handle(tp, &s, &m[1], kept > 2 ? &m[2] : NULL,
				       extra);
		}
		for (size_t k = 0; k < kept; k++)
			zmq_msg_close(&m[k]);
	}
}

void tp_recv_dealer(ukf_tp_t *tp, struct tp_peer *p)
{
	for (int i = 0; i < TP_RECV_BUDGET; i++) {
		zmq_msg_t m[2];
		size_t kept, extra;
		/* The connection was made with p's server key: it is p. */
		struct src s = {.p = p, .client = -1};

		if (recv_msg(p->dealer, m, 2, &kept, &extra) < 0)
			return;
		handle(tp, &s, &m[0], kept > 1 ? &m[1] : NULL, extra);
		for (size_t k = 0; k < kept; k++)
			zmq_msg_close(&m[k]);
	}
}
