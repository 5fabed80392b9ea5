/* SPDX-License-Identifier: MIT */
/* frame.h - the header every frame between node agents (and clients) starts with: wire protocol v3. */
#ifndef UKF_FRAME_H
#define UKF_FRAME_H

#include <stddef.h>
#include <stdint.h>

/*
 * A message between two parties (node agents, or a client and an agent) is
 * one ZeroMQ multipart message: frame 0 is this 40-byte header followed by
 * `length` bytes of body; further frames, if any, carry bulk bytes (see the
 * transport). All integers little-endian, fixed width:
 *
 *   0  u32 magic        UKF_FRAME_MAGIC ("UKF2")
 *   4  u8  version      the sender's protocol version (UKF_FRAME_VERSION)
 *   5  u8  min_version  the oldest version the sender still understands
 *   6  u16 type         message type (ranges below)
 *   8  u32 sender       sender's node id (UKF_FRAME_CLIENT for a client)
 *  12  u32 flags        UKF_FRAME_F_* bits
 *  16  u64 incarnation  sender's incarnation: changes when it restarts
 *  24  u64 seq          sender's sequence number, +1 per message to a peer
 *  32  u32 length       body bytes after the header in frame 0
 *  36  u32 reserved     0
 *
 * A receiver accepts a frame when the version ranges overlap
 * (min_version <= UKF_FRAME_VERSION and version >= UKF_FRAME_MIN_VERSION)
 * and speaks the lower of the two versions back. New header fields are
 * never added; new body fields are appended, with a version bump.
 *
 * Type ranges: 1..63 engine messages (core/wire.h), 64..95 transport
 * (hello, heartbeat, bye, bulk chunks and credits), 96..127 directory
 * updates, 128..191 client <-> agent (workload, records, status).
 */
#define UKF_FRAME_MAGIC	      0x32464b55u /* "UKF2" */
#define UKF_FRAME_VERSION     3 /* 3: template versions (tver) appended */
#define UKF_FRAME_MIN_VERSION 2
#define UKF_FRAME_HEADER      40
#define UKF_FRAME_CLIENT      0xfffffffeu /* sender id of a client */

#define UKF_FRAME_F_BULK 0x1u /* bulk frames follow frame 0 */

#define UKF_FRAME_T_ENGINE_MIN	  1
#define UKF_FRAME_T_ENGINE_MAX	  63
#define UKF_FRAME_T_TRANSPORT_MIN 64
#define UKF_FRAME_T_TRANSPORT_MAX 95
#define UKF_FRAME_T_DIR_MIN	  96
#define UKF_FRAME_T_DIR_MAX	  127
#define UKF_FRAME_T_CLIENT_MIN	  128
#define UKF_FRAME_T_CLIENT_MAX	  191

struct ukf_frame_header {
	uint8_t version, min_version;
	uint16_t type;
	uint32_t sender;
	uint32_t flags;
	uint64_t incarnation;
	uint64_t seq;
	uint32_t length;
};

/* Write h into out[UKF_FRAME_HEADER] (magic, reserved = 0). */
void ukf_frame_header_encode(const struct ukf_frame_header *h,
			     uint8_t out[UKF_FRAME_HEADER]);

/*
 * Read and check the header at the start of a frame of `len` bytes: magic,
 * a version range overlapping ours, reserved zero, and length equal to
 * len - UKF_FRAME_HEADER. 0 and *h filled, or -1 with the reason in err
 * (e.g. "bad magic 0x12345678", "version 3..5 not understood (we speak
 * 2..2)", "length 100 but 60 body bytes").
 */
int ukf_frame_header_decode(struct ukf_frame_header *h, const void *buf,
			    size_t len, char *err, size_t errlen);

/* The version to speak to a peer whose header said h: min(ours, theirs). */
uint8_t ukf_frame_version_with(const struct ukf_frame_header *h);

#endif /* UKF_FRAME_H */
