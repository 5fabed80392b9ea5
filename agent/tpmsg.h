/* SPDX-License-Identifier: MIT */
/* tpmsg.h - the transport's own messages (hello, heartbeat, bye, bulk
 * descriptor, chunk, credit): one table, one codec. */
#ifndef UKF_TPMSG_H
#define UKF_TPMSG_H

#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"

/*
 * Frame types of the transport range (UKF_FRAME_T_TRANSPORT_MIN..MAX).
 * Each body is a fixed sequence of little-endian fields, declared once in
 * the table of tpmsg.c; encoder, decoder, range checks and the layout
 * printed into docs/protocol-transport.md all come from that table.
 */
#define UKF_TP_T_HELLO	   64 /* I am node N, incarnation I (+ client handle) */
#define UKF_TP_T_HEARTBEAT 65 /* still here (empty body) */
#define UKF_TP_T_BYE	   66 /* going away cleanly: report me down now */
#define UKF_TP_T_BULK_CHUNK                                                    \
	67 /* one chunk of a bulk transfer; frame 1 = bytes */
#define UKF_TP_T_BULK_CREDIT 68 /* receiver -> sender: chunks it may send */

/* HELLO roles. */
#define UKF_TP_ROLE_AGENT  1
#define UKF_TP_ROLE_CLIENT 2

/* "No handle" in a HELLO (agent -> agent, client -> agent; agent -> client:
 * "I do not know you, say HELLO"). */
#define UKF_TP_HANDLE_NONE 0xffffffffu

/* Bulk chunk codecs. */
#define UKF_TP_CODEC_NONE 0 /* frame 1 holds the raw bytes */
#define UKF_TP_CODEC_ZERO 1 /* every byte is 0; frame 1 is empty */
#define UKF_TP_CODEC_LZ4  2 /* frame 1 is one LZ4 block */
#define UKF_TP_CODEC_ZSTD 3 /* frame 1 is one zstd frame */
#define UKF_TP_CODEC_MAX  3

/* Credit status. */
#define UKF_TP_CREDIT_OK      0
#define UKF_TP_CREDIT_REFUSED 1 /* receiver will not take this transfer */
#define UKF_TP_CREDIT_ABORTED 2 /* receiver gave up on it (stall, error) */

/* BYE reasons. */
#define UKF_TP_BYE_SHUTDOWN 0

/* Limits every receiver applies, whatever its configuration. */
#define UKF_TP_CHUNK_MIN    1024u
#define UKF_TP_CHUNK_MAX    (4u << 20)
#define UKF_TP_BULK_ABS_MAX (1ull << 40)

struct ukf_tpm_hello {
	uint32_t node;	       /* == header.sender */
	uint16_t role;	       /* UKF_TP_ROLE_* */
	uint64_t incarnation;  /* == header.incarnation, never 0 */
	uint32_t handle;       /* agent -> client: the client's handle */
	uint64_t heartbeat_ns; /* the sender's heartbeat period */
};

struct ukf_tpm_bye {
	uint32_t reason; /* UKF_TP_BYE_* */
};

/* Frame 1 of a message whose header has UKF_FRAME_F_BULK. */
struct ukf_tpm_desc {
	uint64_t xfer;	  /* transfer id, per sender and receiver, from 1 */
	uint64_t total;	  /* bulk bytes, 1..UKF_TP_BULK_ABS_MAX */
	uint32_t chunk;	  /* raw bytes per chunk (the last may be shorter) */
	uint32_t nchunks; /* == ceil(total / chunk) */
};

struct ukf_tpm_chunk {
	uint64_t xfer;
	uint32_t index;	   /* 0.. nchunks-1, sent in order */
	uint32_t raw_len;  /* bytes this chunk stands for */
	uint32_t wire_len; /* bytes of frame 1 */
	uint16_t codec;	   /* UKF_TP_CODEC_* */
};

struct ukf_tpm_credit {
	uint64_t xfer;
	uint32_t consumed; /* chunks the receiver has taken */
	uint32_t limit;	   /* the sender may send chunks with index < limit */
	uint32_t status;   /* UKF_TP_CREDIT_* */
};

/* The kinds of body the table declares. DESC is no frame type of its own:
 * it is frame 1 of an engine/directory/client message carrying bulk. */
enum ukf_tpm_kind {
	UKF_TPM_HELLO,
	UKF_TPM_HEARTBEAT,
	UKF_TPM_BYE,
	UKF_TPM_CHUNK,
	UKF_TPM_CREDIT,
	UKF_TPM_DESC,
	UKF_TPM_KINDS
};

/* The kind of a transport frame type, or -1 if t is not one of ours. */
int ukf_tpm_kind_of(uint16_t type);

/* Frame type of a kind (0 for UKF_TPM_DESC), and its name ("hello"). */
uint16_t ukf_tpm_type(enum ukf_tpm_kind k);
const char *ukf_tpm_name(enum ukf_tpm_kind k);

/* Encoded body size of kind k (fixed). */
size_t ukf_tpm_size(enum ukf_tpm_kind k);

/*
 * Encode *msg (the struct of kind k) into out (cap bytes). Returns the
 * bytes written, or -1 if cap is too small or a field is out of the range
 * the table allows (the same checks the decoder applies).
 */
int ukf_tpm_encode(enum ukf_tpm_kind k, const void *msg, void *out, size_t cap);

/*
 * Decode and check the body buf[0..len) of kind k into *msg (its struct).
 * The length must be exact, unless `newer` (the header's version is above
 * ours) when trailing bytes (fields a later version appended) are ignored.
 * Every field's range, reserved zeros and cross-field rules are checked;
 * h (may be NULL, e.g. for DESC) is the frame header the body came with,
 * for rules such as HELLO node == header.sender. 0, or -1 with what was
 * wrong in err ("hello: role 7 out of range 1..2").
 */
int ukf_tpm_decode(enum ukf_tpm_kind k, void *msg, const void *buf, size_t len,
		   int newer, const struct ukf_frame_header *h, char *err,
		   size_t errlen);

/*
 * One line describing kind k's layout from the table, e.g.
 * "hello (64), 32 bytes: u32 node, u16 role 1..2, u16 reserved (0), ...".
 * docs/protocol-transport.md quotes these lines (a test checks it).
 * Returns the length snprintf would have written.
 */
int ukf_tpm_describe(enum ukf_tpm_kind k, char *buf, size_t len);

#endif /* UKF_TPMSG_H */
