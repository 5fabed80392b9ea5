/* SPDX-License-Identifier: MIT */
/* dmsg.h - the embedded directory's update message between node agents (type 96): a node's own record, for one run. */
#ifndef UKF_DMSG_H
#define UKF_DMSG_H

#include <stddef.h>
#include <stdint.h>

/*
 * Each agent is the only writer of its node's record; it sends the record
 * (core/dir.c's encoding, versioned) to every peer when it changes, and to
 * a peer when that peer comes up (the snapshot on join: every node's record
 * comes from that node). Receivers keep the newest version of each; a
 * peer lost is forgotten. The run id keeps a run's records out of another.
 */
#define UKF_D_UPDATE 96

struct ukf_dmsg {
	uint64_t run;	 /* the run the record belongs to */
	const void *rec; /* the record as core/dir.c encodes it */
	size_t rec_len;
};

/* Encode into buf: bytes written, 0 if cap is too small or the record
 * over 1 KiB. */
size_t ukf_dmsg_encode(const struct ukf_dmsg *d, void *buf, size_t cap);
/* Decode a body: 0, or -1 with the reason in err. */
int ukf_dmsg_decode(struct ukf_dmsg *d, const void *buf, size_t len,
		    int newer, char *err, size_t errlen);

#endif /* UKF_DMSG_H */
