/* SPDX-License-Identifier: MIT */
/* harness.h - helpers of the transport tests: keyed nodes on loopback, recorded
 * callbacks, raw ZeroMQ peers. */
#ifndef UKF_TEST_AGENT_HARNESS_H
#define UKF_TEST_AGENT_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/tpmsg.h"
#include "agent/transport.h"

#define H_MAX_MSGS   256
#define H_MAX_EVENTS 64
#define H_MAX_LOG    256

struct h_msg {
	uint32_t from;
	struct ukf_frame_header h;
	uint8_t *body;
	size_t len;
	uint8_t *bulk; /* taken with ukf_tp_take_bulk */
	size_t bulk_len;
};

struct h_event {
	uint32_t who;
	int up, restarted;
	uint64_t inc;
};

/* One party under test: its keys, endpoint, transport and what it saw. */
struct h_node {
	uint32_t id; /* node id or UKF_FRAME_CLIENT */
	char pub[41], sec[41];
	char ep[64];
	struct ukf_tp_config cfg;
	ukf_tp_t *tp;
	struct h_msg msgs[H_MAX_MSGS];
	size_t nmsgs;
	struct h_event ev[H_MAX_EVENTS];
	size_t nev;
	char *log[H_MAX_LOG];
	size_t nlog;
	/* When a node comes up, send it "on up" (type 10) from the callback
	 * and count the sends that failed. */
	int send_on_up;
	int send_on_up_failed;
};

/* A free TCP port on 127.0.0.1 (bound and released). */
int h_free_port(void);
/* Fresh keys and a loopback endpoint for node id (no transport yet). */
void h_node_init(struct h_node *n, uint32_t id);
/* Fill n->cfg to talk to peers[0..np) (their ids/endpoints/keys), with
 * this test's short timings; clients[0..nc) are allowed in. */
void h_node_config(struct h_node *n, struct h_node **peers, size_t np,
		   struct h_node **clients, size_t nc);
/* ukf_tp_create(&n->cfg); NULL on failure (err printed). */
ukf_tp_t *h_node_start(struct h_node *n);
void h_node_free(struct h_node *n);
/* Forget the messages n received (their bodies and bulks freed). */
void h_msgs_clear(struct h_node *n);

/* Poll every node of ns[0..n) once with a short timeout. */
void h_poll_all(struct h_node **ns, size_t n);
/* Poll until cond(arg) holds or `guard_ms` passes (a hang guard, not a
 * measurement). 1 if cond held. */
int h_poll_until(struct h_node **ns, size_t n, int (*cond)(void *), void *arg,
		 int guard_ms);
/* Poll for ms milliseconds regardless. */
void h_poll_for(struct h_node **ns, size_t n, int ms);

/* Index of the first event of who with up (and restarted if >= 0), or -1. */
int h_find_event(const struct h_node *n, uint32_t who, int up, int restarted);
/* Number of log lines containing s. */
size_t h_log_count(const struct h_node *n, const char *s);

/* Raw ZeroMQ peers, for what a correct transport never sends. */
void *h_raw_ctx(void);
/* A DEALER with keys pub/sec connected to ep (server key spub). */
void *h_raw_dealer(void *ctx, const char *ep, const char *spub, const char *pub,
		   const char *sec);
/* A ROUTER CURVE server with secret key sec bound on ep (no ZAP: it
 * accepts any client key). */
void *h_raw_router(void *ctx, const char *ep, const char *sec);
/* Send header (+ body) in frame 0, then nextra frames f[i]. 0 or -1. */
int h_raw_send(void *sock, const struct ukf_frame_header *h, const void *body,
	       size_t len, const void *const *f, const size_t *flen,
	       int nextra);
/* Send a frame of raw bytes as one whole message. */
int h_raw_bytes(void *sock, const void *b, size_t n);
/* A header from `sender`, incarnation inc, sequence seq, of type and
 * length len. */
struct ukf_frame_header h_hdr(uint32_t sender, uint64_t inc, uint64_t seq,
			      uint16_t type, uint32_t len);

#endif /* UKF_TEST_AGENT_HARNESS_H */
