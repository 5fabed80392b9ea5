/* SPDX-License-Identifier: MIT */
/* wire.h - messages between node agents (wire protocol v3): one body layout per type, declared once. */
#ifndef UKF_WIRE_H
#define UKF_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ukf.h"

/*
 * An engine message is a type (core/frame.h's type field, 1..63), a body
 * and, for some types, bulk bytes that travel in their own frames (a fork's
 * delta, a template, a guest message's payload): the body never copies
 * them. Each type's body is the fixed sequence of fields its row of the
 * table in wire.c names, all little-endian, fixed width, in that order:
 *
 *   u32, u64, i64   4, 8, 8 bytes
 *   app             u64 digest, u8 name length (1..63), the name's bytes:
 *                   apps are named, never sent as a node's local index
 *   text            u16 length (0..UKF_WIRE_TEXT_MAX), the bytes (no NUL)
 *
 * A decoder checks every length, refuses unknown types, empty or oversized
 * names and texts, a missing instance id, and trailing bytes (unless the
 * sender speaks a newer version, whose appended fields it then ignores).
 * New fields are only appended to a type's row, with a version bump, as
 * SINCE(kind, member, name, version, doc): a body that ends right before
 * them (an older sender's) decodes with them 0.
 * `ukf_wire_describe` prints the table: docs/protocol.md is made from it.
 */
#define UKF_WIRE_TEXT_MAX  2048		  /* args, reason */
#define UKF_WIRE_BULK_MAX  (4ULL << 30)	  /* delta, template, message */
#define UKF_WIRE_BODY_MAX  4096		  /* no body is larger */

enum ukf_msg_type {
	UKF_MSG_SPAWN = 1,  /* origin -> target: start instance id of app */
	UKF_MSG_CLONE = 2,  /* parent's node -> target: remote fork (bulk: delta) */
	UKF_MSG_READY = 3,  /* host -> origin: id is running */
	UKF_MSG_EXIT = 4,   /* host -> origin: id exited (status) */
	UKF_MSG_FAIL = 5,   /* host -> origin: id failed (reason) */
	UKF_MSG_NACK = 6,   /* target -> origin: no capacity for id */
	UKF_MSG_TFETCH = 7, /* node -> peer: send me your template of app */
	UKF_MSG_TDATA = 8,  /* peer -> node: the template (bulk), or none */
	UKF_MSG_MSG = 9,    /* a guest's message to instance id (bulk: payload) */
	UKF_MSG_KILL = 10,  /* origin -> host: stop id */
	UKF_MSG_TYPE_MAX = 11
};

/*
 * A message, decoded or to encode. Each field has one meaning whatever the
 * type; a type uses the fields its table row names and leaves the others
 * 0. Pointers point into the decoded buffers (not owned).
 */
struct ukf_msg {
	enum ukf_msg_type type;
	ukf_id_t id;	    /* the instance (MSG: the destination) */
	ukf_id_t parent;    /* its parent (0: a workload request) */
	ukf_id_t src;	    /* MSG: the sending instance */
	uint64_t tag;	    /* workload tag */
	ukf_ns_t t_request; /* when the request was made (origin's clock) */
	ukf_ns_t t_placed;  /* when the origin placed it */
	int64_t status;	    /* EXIT: exit status; NACK: why (v3) */
	int64_t result;	    /* TDATA: 0 template follows, < 0 none */
	uint64_t bytes;	    /* CLONE: delta size; TDATA: template size */
	uint64_t tver;	    /* CLONE/TFETCH/TDATA: a template's version
			       (appended in v3; 0 none/any/unknown) */
	uint32_t node;	    /* READY/EXIT/FAIL: node the instance runs on */
	uint32_t origin;    /* node handling the request / the parent's node */
	uint32_t attempt;   /* placement attempt number */
	uint32_t flags;	    /* engine flags (notify, fork, start kind) */
	/* The app, by name and digest; the engine maps it to its own id. */
	uint32_t app;	    /* engine side only: the local id */
	const char *app_name;
	size_t app_name_len;
	uint64_t app_digest; /* 0: unknown (matches any) */
	const char *text;    /* SPAWN/CLONE: args; FAIL: reason */
	size_t text_len;
	/* bulk bytes: never in the body; they travel beside it */
	const void *data;
	size_t data_len;
};

/* Name of a message type ("spawn"), "?" if unknown. */
const char *ukf_msg_name(enum ukf_msg_type t);

/* 1 if messages of this type carry bulk bytes (CLONE, TDATA, MSG). */
int ukf_msg_has_bulk(enum ukf_msg_type t);

/* Bytes the body of m takes (0 if m's type is unknown). */
size_t ukf_msg_body_size(const struct ukf_msg *m);

/*
 * Encode m's body into buf (cap bytes). Returns bytes written, or 0 if m
 * is invalid (unknown type, app name or text over its limit) or cap is too
 * small. Bulk bytes (m->data) are not part of the body.
 */
size_t ukf_msg_encode(const struct ukf_msg *m, void *buf, size_t cap);

/*
 * Decode and check the body of a message of `type` (exactly len bytes; with
 * `newer` set, bytes after the known fields are allowed and ignored: the
 * sender speaks a newer version). bulk/bulk_len become m->data/data_len
 * (refused for types without bulk). 0 and *m filled, or -1 with the reason
 * in err (e.g. "spawn: body ends inside field 'app' at byte 60").
 */
int ukf_msg_decode(struct ukf_msg *m, uint16_t type, const void *buf,
		   size_t len, const void *bulk, size_t bulk_len, int newer,
		   char *err, size_t errlen);

/* One field of a type's body, for tests and tools. */
struct ukf_wire_field_info {
	const char *name;
	const char *kind; /* "u32", "u64", "i64", "app", "text" */
};
/* The fields of type t in body order: returns how many (0 for an unknown
 * type); writes at most cap into out. */
size_t ukf_wire_fields(enum ukf_msg_type t, struct ukf_wire_field_info *out,
		       size_t cap);

/*
 * Type t's fields as codec.h's table (NULL and *nf = 0 for an unknown type):
 * what the docs and ukf_wire_fields come from. The encoder and decoder
 * above are generated from the same list; tests check them against
 * ukf_fields_encode/ukf_fields_decode over this table.
 */
struct ukf_field;
const struct ukf_field *ukf_wire_table(enum ukf_msg_type t, size_t *nf);

/* The table as Markdown (one section per type: fields, sizes, meaning). */
void ukf_wire_describe(FILE *out);

#endif /* UKF_WIRE_H */
