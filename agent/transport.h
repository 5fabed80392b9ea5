/* SPDX-License-Identifier: MIT */
/* transport.h - node agents' and clients' links over ZeroMQ + CURVE: identified
 * peers, liveness, bulk transfer. */
#ifndef UKF_TRANSPORT_H
#define UKF_TRANSPORT_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"

/*
 * One ukf_tp per agent (or client) process: frames in, frames out. An
 * agent binds one ROUTER (CURVE server) and connects one DEALER (CURVE
 * client) to each peer agent; it sends to a peer through its DEALER and
 * to a client through the ROUTER. A client (self = UKF_FRAME_CLIENT)
 * binds nothing and connects a DEALER to each agent it talks to.
 *
 * The transport carries `type` + body (+ bulk bytes) opaquely for the
 * engine (1..63), directory (96..127) and client (128..191) ranges; it
 * owns the transport range (tpmsg.h). Wire format, handshake and limits:
 * docs/protocol-transport.md.
 *
 * Threading: one loop thread calls everything below; callbacks run on it,
 * inside ukf_tp_poll. Internally one more thread answers ZAP requests
 * (it only reads the key lists, fixed at create).
 */
typedef struct ukf_tp ukf_tp_t;

/* Client handles (who/from/to values for clients seen by an agent) are
 * UKF_TP_HANDLE_BASE + n, n = 1, 2, ... never reused by one transport.
 * Node ids are below it. */
#define UKF_TP_HANDLE_BASE 0x80000000u
static inline int ukf_tp_is_handle(uint32_t who)
{
	return who >= UKF_TP_HANDLE_BASE && who != UKF_FRAME_CLIENT;
}

/* Z85 text of a CURVE key: 40 characters + NUL. */
#define UKF_TP_KEY_Z85 41

struct ukf_tp_peer {
	uint32_t node;	    /* < UKF_TP_HANDLE_BASE */
	char endpoint[256]; /* "tcp://10.77.0.1:7700" */
	char public_key[UKF_TP_KEY_Z85];
};

/* Chunk compression (the receiver understands every codec). */
enum ukf_tp_compress {
	UKF_TP_COMPRESS_DEFAULT = 0, /* zstd */
	UKF_TP_COMPRESS_ZSTD,
	UKF_TP_COMPRESS_LZ4,
	UKF_TP_COMPRESS_NONE /* raw chunks, all-zero ones included */
};

/* Log levels (syslog's). */
#define UKF_TP_LOG_ERR	   3
#define UKF_TP_LOG_WARNING 4
#define UKF_TP_LOG_INFO	   6

struct ukf_tp_config {
	uint32_t self;	      /* node id, or UKF_FRAME_CLIENT */
	uint64_t incarnation; /* != 0, larger after every restart */
	const char *bind;     /* agent: endpoint to bind; client: NULL */
	char public_key[UKF_TP_KEY_Z85], secret_key[UKF_TP_KEY_Z85];
	/* Agents to connect to (an entry for self is skipped). */
	const struct ukf_tp_peer *peers;
	size_t npeers;
	/* Agent only: public keys of clients allowed to connect. */
	const char (*client_keys)[UKF_TP_KEY_Z85];
	size_t nclients;
	/* 0 = default: 250 ms, 3 s (> heartbeat), 256 KiB, 8 chunks, 4 GiB. */
	int64_t heartbeat_ns, peer_timeout_ns;
	size_t bulk_chunk, bulk_window;
	uint64_t bulk_max; /* largest bulk payload sent or accepted */
	size_t msg_max;	   /* largest body (default 16 MiB) */
	size_t client_max; /* agent: clients at once (default 64) */
	enum ukf_tp_compress compress;
	/*
	 * A message: `from` is a node id or a client handle (agent side), or
	 * the agent's node id (client side). h is its header; body and bulk
	 * are valid only during the call (see ukf_tp_take_bulk).
	 */
	void (*on_message)(void *u, uint32_t from,
			   const struct ukf_frame_header *h, const void *body,
			   size_t len, const void *bulk, size_t bulk_len);
	/*
	 * who came up (up = 1: we heard from it and can send to it) or went
	 * down (0: silent for peer_timeout, or BYE). restarted = 1: it came
	 * back with a larger incarnation than before, so whatever was in
	 * flight there is lost. Bulk transfers to and from who are dropped
	 * when it goes down or restarts.
	 */
	void (*on_peer)(void *u, uint32_t who, int up, uint64_t incarnation,
			int restarted);
	void (*log)(void *u, int level, const char *line); /* may be NULL */
	void *u;
};

/* Kinds of dropped frames, counted per peer (and globally when the
 * frame cannot be tied to a peer). */
enum ukf_tp_drop {
	UKF_TP_DROP_MALFORMED, /* bad header, body, flags or frame count */
	UKF_TP_DROP_OVERSIZED, /* over msg_max / bulk_max / chunk limits */
	UKF_TP_DROP_TYPE,      /* unknown type, or not allowed from sender */
	UKF_TP_DROP_FORGED,    /* header.sender is not who authenticated */
	UKF_TP_DROP_STALE,     /* older incarnation, or seq not increasing */
	UKF_TP_DROP_BULK,      /* bulk protocol violation or bad chunk data */
	UKF_TP_DROP_UNAUTH,    /* no known identity (global only) */
	UKF_TP_DROP_KINDS
};

/* Name of a drop kind ("malformed"). */
const char *ukf_tp_drop_name(enum ukf_tp_drop k);

struct ukf_tp_peer_stats {
	int up;
	uint64_t incarnation; /* last seen, 0 if never */
	uint32_t restarts;    /* times seen with a larger incarnation */
	uint64_t frames_in, frames_out;	    /* every ZeroMQ message */
	uint64_t bytes_in, bytes_out;	    /* their bytes on the wire */
	uint64_t msgs_in, msgs_out;	    /* messages delivered / sent */
	uint64_t lost;			    /* gaps in the sequence numbers */
	uint64_t bulk_in, bulk_out;	    /* bulk messages completed / sent */
	uint64_t bulk_raw_in, bulk_wire_in; /* bulk bytes: raw, on wire */
	uint64_t bulk_raw_out, bulk_wire_out; /* (wire: chunk frames) */
	uint64_t chunks_out;
	uint32_t inflight_max; /* most chunks sent and not yet consumed */
	uint64_t bulk_aborted; /* transfers given up (either direction) */
	uint64_t dropped[UKF_TP_DROP_KINDS];
};

struct ukf_tp_stats {
	uint64_t refused; /* connections refused by ZAP (unknown keys) */
	uint64_t dropped[UKF_TP_DROP_KINDS]; /* frames with no known peer */
	uint32_t clients; /* client handles currently up (agent) */
};

/* A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and
 * released), or -1: for endpoints of tests and measurements on loopback. */
int ukf_tp_free_port(void);

/*
 * Create a transport: check c, start the ZAP handler, bind (agent),
 * connect to every peer and queue HELLOs. Everything in c is copied (the
 * caller may free it after). NULL on failure with the reason in err
 * (e.g. "peer 2: public key is not 40 Z85 characters").
 */
ukf_tp_t *ukf_tp_create(const struct ukf_tp_config *c, char *err,
			size_t errlen);

/* Send BYE to every peer and client, close everything, free *tp and set
 * it to NULL (no-op on NULL). Not from inside a callback. */
void ukf_tp_destroy(ukf_tp_t **tp);

/*
 * Send type + body (+ bulk) to `to` (a peer node id, or a client handle
 * on an agent). Copies body and bulk. Types: 1..63, 96..127, 128..191;
 * a client sends only 128..191. Messages without bulk go out at once and
 * may overtake bulk transfers in progress; bulk messages to one peer
 * arrive in order. Returns 0, or -EINVAL (bad type, unknown `to`, self),
 * -EMSGSIZE (len > msg_max, bulk_len > bulk_max), -EAGAIN (not connected
 * or ZeroMQ's queue is full), -EHOSTUNREACH (client gone), -ENOBUFS
 * (bulk queue to `to` over bulk_max bytes), -ENOMEM.
 */
int ukf_tp_send(ukf_tp_t *tp, uint32_t to, uint16_t type, const void *body,
		size_t len, const void *bulk, size_t bulk_len);

/* As ukf_tp_send, but takes the malloc'd *bulk_p instead of copying it:
 * *bulk_p is set to NULL and freed by the transport, even on error. */
int ukf_tp_send_owned(ukf_tp_t *tp, uint32_t to, uint16_t type,
		      const void *body, size_t len, void **bulk_p,
		      size_t bulk_len);

/*
 * Poll the transport's sockets plus nfds extra plain fds (events as for
 * poll(2)) for up to timeout_ns (< 0: until something happens), handle
 * every frame that is ready (callbacks run here), send due heartbeats
 * and HELLOs, report lost peers, push bulk chunks. Returns early when
 * frames were handled or an extra fd is ready. Returns the number of
 * extra fds with revents set, or -errno (-EINTR on a signal).
 */
int ukf_tp_poll(ukf_tp_t *tp, struct pollfd *fds, size_t nfds,
		int64_t timeout_ns);

/*
 * Inside on_message for a bulk message: take ownership of the bulk
 * buffer (free() it when done) instead of having it freed after the
 * callback. NULL outside such a call.
 */
void *ukf_tp_take_bulk(ukf_tp_t *tp);

/* Counters of a peer node or client handle: 0, or -ENOENT. */
int ukf_tp_peer_stats(const ukf_tp_t *tp, uint32_t who,
		      struct ukf_tp_peer_stats *st);

/* Counters not tied to a peer. */
void ukf_tp_stats(const ukf_tp_t *tp, struct ukf_tp_stats *st);

/* A client: the handle the agent `node` gave us (UKF_TP_HANDLE_NONE from
 * tpmsg.h if none yet). */
uint32_t ukf_tp_my_handle(const ukf_tp_t *tp, uint32_t node);

/* An incarnation for a process starting now: CLOCK_REALTIME in ns (so it
 * grows across restarts on a sane clock), never 0. */
uint64_t ukf_tp_incarnation_now(void);

/* 1 if s is a Z85 CURVE key: 40 characters of the Z85 alphabet decoding
 * to 32 bytes; else 0. */
int ukf_tp_key_valid(const char *s);

#endif /* UKF_TRANSPORT_H */
