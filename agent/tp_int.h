/* SPDX-License-Identifier: MIT */
/* tp_int.h - internal state of the transport, shared by transport.c, tp_recv.c,
 * tp_bulk.c and tp_zap.c. */
#ifndef UKF_TP_INT_H
#define UKF_TP_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "tpmsg.h"
#include "transport.h"

#define TP_RID_MAX	 256 /* routing ids ZeroMQ generates are 5 bytes */
#define TP_RECV_BUDGET	 256 /* messages per socket per poll round */
#define TP_ZAP_NOTES	 8   /* refusal notices waiting to be logged */
#define TP_ZAP_SEEN	 64  /* distinct refused keys remembered */
#define TP_COMPRESS_PAYS 90  /* use a compressed chunk below 90% of raw */

/* One outgoing bulk message, queued per peer (FIFO, one active). */
struct tp_tx {
	struct tp_tx *next;
	uint16_t type;
	uint8_t *body; /* owned, len bytes (NULL if 0) */
	size_t len;
	uint8_t *bulk; /* owned, total bytes */
	uint64_t total;
	uint64_t xfer;
	uint32_t chunk, nchunks;
	uint32_t next_idx; /* next chunk to send */
	uint32_t consumed; /* receiver's last report */
	uint32_t limit;	   /* may send index < limit */
	int announced;
	int64_t since_ns; /* last progress (head, announce, credit) */
};

/* The one incoming bulk message being reassembled from a peer. */
struct tp_rx {
	struct ukf_frame_header h;
	uint8_t *body; /* owned, h.length bytes */
	uint8_t *buf;  /* owned, total bytes, zeroed at start */
	uint64_t xfer, total;
	uint32_t chunk, nchunks, next_idx, limit;
	uint64_t wire;
	int64_t progress_ns;
};

enum tp_kind {
	TP_AGENT,  /* a node we hold a DEALER to */
	TP_CLIENT, /* agent side: a client reached through our ROUTER */
};

struct tp_peer {
	uint32_t id; /* node id or client handle */
	enum tp_kind kind;
	char name[48]; /* "node 3", "client 1 handle 0x80000002" */
	void *dealer;  /* TP_AGENT */
	char endpoint[256];
	uint8_t key[32];
	int client_idx;		 /* TP_CLIENT: index in the client keys */
	uint8_t rid[TP_RID_MAX]; /* TP_CLIENT: routing id at our ROUTER */
	size_t rid_len;
	int used; /* TP_CLIENT slot in use */

	int up;
	uint64_t inc;	 /* incarnation last seen, 0 never */
	uint64_t seq_in; /* last sequence number seen from it */
	uint64_t seq_out;
	uint8_t speak;	       /* version to speak to it */
	uint32_t handle_at;    /* client side: our handle at this agent */
	int need_hello;	       /* send a HELLO as soon as it can go */
	int need_out;	       /* a send hit EAGAIN: want POLLOUT / retry */
	int up_pending;	       /* heard from it, our DEALER not connected yet */
	int pending_restarted; /* ... and it had restarted */
	int64_t heard_ns;      /* last valid frame from it */
	int64_t hb_next;       /* next HEARTBEAT/HELLO due */
	uint32_t logged;       /* drop kinds logged already (bit per kind) */

	struct tp_tx *tx_head, *tx_tail;
	uint64_t tx_bytes; /* bulk bytes queued */
	uint64_t next_xfer;
	struct tp_rx *rx;

	struct ukf_tp_peer_stats st;
};

/* Keys the ZAP handler admits, and what User-Id it gives each. */
struct tp_key {
	uint8_t key[32];
	char uid[24]; /* "n<node>" or "c<client index>" */
};

struct tp_zap {
	void *sock; /* REP on inproc://zeromq.zap.01, used by the thread */
	pthread_t thread;
	int started;
	const struct tp_key *keys; /* immutable while the thread runs */
	size_t nkeys;
	pthread_mutex_t lock; /* guards what follows */
	uint64_t refused;
	char notes[TP_ZAP_NOTES][160];
	int nnotes;
	uint8_t seen[TP_ZAP_SEEN][32];
	int nseen;
};

struct ukf_tp {
	struct ukf_tp_config c; /* copy; pointers below replace its arrays */
	char bind[256];
	void *ctx, *router;
	int is_client;

	struct tp_peer *peers; /* TP_AGENT, npeers */
	size_t npeers;
	struct tp_peer *clients; /* TP_CLIENT slots, c.client_max */
	uint8_t (*client_keys)[32];
	int64_t *nohello_ns; /* per client key: last "say HELLO" reply */
	uint32_t next_handle;

	struct tp_key *keys;
	size_t nkeys;
	struct tp_zap zap;

	struct ukf_tp_stats g;
	uint32_t glogged;

	void *zc, *zd; /* ZSTD_CCtx, ZSTD_DCtx */
	uint8_t *scratch;
	size_t scratch_cap;

	void *cb_bulk; /* bulk buffer during on_message; NULL once taken */
	int cb_taken;

	void *items; /* zmq_pollitem_t[], items_cap */
	size_t items_cap;
};

/* transport.c */
int64_t tp_now(void);
void tp_log(ukf_tp_t *tp, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Count a dropped frame against p (NULL: global) and log it the first
 * time for this peer and kind. */
void tp_drop(ukf_tp_t *tp, struct tp_peer *p, enum ukf_tp_drop kind,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
struct tp_peer *tp_find(const ukf_tp_t *tp, uint32_t who);
struct tp_peer *tp_agent(const ukf_tp_t *tp, uint32_t node);
/* Send a frame 0 (header + body) and, if f1, frame 1 to p. 0 or -errno. */
int tp_send_frames(ukf_tp_t *tp, struct tp_peer *p, uint16_t type,
		   uint32_t flags, const void *body, size_t len, const void *f1,
		   size_t f1_len);
/* Encode a transport message of kind k and send it to p (no frame 1). */
int tp_send_tpm(ukf_tp_t *tp, struct tp_peer *p, enum ukf_tpm_kind k,
		const void *msg);
int tp_send_hello(ukf_tp_t *tp, struct tp_peer *p);
/* 1 if a frame to p can go now (our DEALER to it is connected). */
int tp_can_send(struct tp_peer *p);
/* Report p up (restarted if p->pending_restarted). */
void tp_report_up(ukf_tp_t *tp, struct tp_peer *p);
/* Report p down (why for the log); a client slot is freed. */
void tp_peer_down(ukf_tp_t *tp, struct tp_peer *p, const char *why);
/* A new client slot for key index ci (NULL if all are in use). */
struct tp_peer *tp_client_new(ukf_tp_t *tp, int ci, uint64_t inc);
struct tp_peer *tp_client_find(const ukf_tp_t *tp, int ci, uint64_t inc);

/* tp_recv.c */
void tp_recv_router(ukf_tp_t *tp);
void tp_recv_dealer(ukf_tp_t *tp, struct tp_peer *p);

/* tp_bulk.c */
int tp_bulk_init(ukf_tp_t *tp, char *err, size_t errlen);
void tp_bulk_fini(ukf_tp_t *tp);
/* Queue a bulk message (takes *bulk_p) and start pumping. 0 or -errno. */
int tp_bulk_queue(ukf_tp_t *tp, struct tp_peer *p, uint16_t type,
		  const void *body, size_t len, void **bulk_p, size_t total);
/* Send what credit allows; sets p->need_out when ZeroMQ pushes back. */
void tp_bulk_pump(ukf_tp_t *tp, struct tp_peer *p);
void tp_bulk_on_message(ukf_tp_t *tp, struct tp_peer *p,
			const struct ukf_frame_header *h, const void *body,
			const void *f1, size_t f1_len);
void tp_bulk_on_chunk(ukf_tp_t *tp, struct tp_peer *p,
		      const struct ukf_frame_header *h, const void *body,
		      const void *f1, size_t f1_len);
void tp_bulk_on_credit(ukf_tp_t *tp, struct tp_peer *p,
		       const struct ukf_frame_header *h, const void *body);
/* Drop every transfer to and from p. */
void tp_bulk_abort_all(ukf_tp_t *tp, struct tp_peer *p, const char *why);
/* Stall checks; returns the next time they are due (INT64_MAX if none). */
int64_t tp_bulk_tick(ukf_tp_t *tp, struct tp_peer *p, int64_t now);

/* tp_zap.c */
int tp_zap_start(ukf_tp_t *tp, char *err, size_t errlen);
void tp_zap_stop(ukf_tp_t *tp);
/* Log the refusals the ZAP thread noted since the last call. */
void tp_zap_drain(ukf_tp_t *tp);

#endif /* UKF_TP_INT_H */
