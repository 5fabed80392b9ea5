/* SPDX-License-Identifier: MIT */
/* wire.h - versioned messages between node agents, and their codec. */
#ifndef UKF_WIRE_H
#define UKF_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "ukf.h"

/*
 * Frame (all integers little-endian, fixed width):
 *   0  u32 magic   UKF_WIRE_MAGIC ("UKFW")
 *   4  u16 version UKF_WIRE_VERSION
 *   6  u16 type    enum ukf_msg_type
 *   8  u32 length  bytes that follow the 16-byte header
 *  12  u32 reserved (0)
 *  16  fixed body: id, parent, ref, tag, t_request, t_placed, status, bytes
 *      (8 x u64), app, origin, attempt, flags (4 x u32)       = 80 bytes
 *  96  u32 text_len, text bytes (no NUL), u32 data_len, data bytes
 * New fields are only appended to the fixed body, with a version bump.
 * Decoding checks every length against the frame and the limits below.
 */
#define UKF_WIRE_MAGIC	  0x57464b55u
#define UKF_WIRE_VERSION  1
#define UKF_WIRE_HEADER	  16
#define UKF_WIRE_FIXED	  80
#define UKF_WIRE_TEXT_MAX 2048	     /* args, app name, reason */
#define UKF_WIRE_DATA_MAX (1u << 30) /* delta, template, message */
#define UKF_WIRE_MIN	  (UKF_WIRE_HEADER + UKF_WIRE_FIXED + 8)

enum ukf_msg_type {
	UKF_MSG_SPAWN = 1,  /* origin -> target: start instance id of app */
	UKF_MSG_CLONE = 2,  /* parent node -> target: remote fork, data=delta */
	UKF_MSG_READY = 3,  /* target -> origin: id is running (ref = node) */
	UKF_MSG_EXIT = 4,   /* host -> origin/parent node: id exited (status) */
	UKF_MSG_FAIL = 5,   /* host -> origin/parent node: id failed (text) */
	UKF_MSG_NACK = 6,   /* target -> origin: no capacity for id */
	UKF_MSG_TFETCH = 7, /* node -> peer: send me your template of app */
	UKF_MSG_TDATA = 8,  /* peer -> node: template (status < 0: none) */
	UKF_MSG_MSG = 9,    /* ukf_send: from ref to id, data = payload */
	UKF_MSG_KILL = 10,  /* origin -> host: stop id */
	UKF_MSG_TYPE_MAX = 11
};

/* A decoded message. text/data point into the decoded buffer (not owned). */
struct ukf_msg {
	enum ukf_msg_type type;
	ukf_id_t id;	    /* the instance concerned */
	ukf_id_t parent;    /* its parent (0: workload request) */
	ukf_id_t ref;	    /* MSG: sender; READY: node it runs on */
	uint64_t tag;	    /* workload tag */
	ukf_ns_t t_request; /* when the request was made */
	ukf_ns_t t_placed;  /* when the origin placed it */
	int64_t status;	    /* EXIT status, TDATA result */
	uint64_t bytes;	    /* CLONE delta bytes, TDATA template bytes */
	uint32_t app;
	uint32_t origin;  /* node handling the request / the parent's node */
	uint32_t attempt; /* placement attempt number */
	uint32_t flags; /* READY: start kind (enum ukf_start) | fetched << 8 */
	const char *text; /* not NUL-terminated; text_len bytes */
	size_t text_len;
	const void *data;
	size_t data_len;
};

/* Name of a message type ("spawn"), "?" if unknown. */
const char *ukf_msg_name(enum ukf_msg_type t);

/* Bytes ukf_msg_encode needs for m. */
size_t ukf_msg_size(const struct ukf_msg *m);

/*
 * Encode m into buf (cap bytes). Returns bytes written, or 0 if m is invalid
 * (unknown type, text/data over the limits) or cap is too small.
 */
size_t ukf_msg_encode(const struct ukf_msg *m, void *buf, size_t cap);

/*
 * Decode and validate a frame of exactly len bytes. On success fills *m
 * (text/data point into buf) and returns 0; on bad input returns -1 with a
 * message in err saying what was wrong.
 */
int ukf_msg_decode(struct ukf_msg *m, const void *buf, size_t len, char *err,
		   size_t errlen);

#endif /* UKF_WIRE_H */
