/* SPDX-License-Identifier: MIT */
/* frame.c - encode and check the wire protocol v2 frame header. */
#include <stdio.h>

#include "frame.h"
#include "le.h"

void ukf_frame_header_encode(const struct ukf_frame_header *h,
			     uint8_t out[UKF_FRAME_HEADER])
{
	ukf_put32(out + 0, UKF_FRAME_MAGIC);
	out[4] = h->version;
	out[5] = h->min_version;
	ukf_put16(out + 6, h->type);
	ukf_put32(out + 8, h->sender);
	ukf_put32(out + 12, h->flags);
	ukf_put64(out + 16, h->incarnation);
	ukf_put64(out + 24, h->seq);
	ukf_put32(out + 32, h->length);
	ukf_put32(out + 36, 0);
}

int ukf_frame_header_decode(struct ukf_frame_header *h, const void *buf,
			    size_t len, char *err, size_t errlen)
{
	const uint8_t *p = buf;
	uint32_t magic;

	if (!buf || len < UKF_FRAME_HEADER) {
		snprintf(err, errlen, "frame of %zu bytes is shorter than the %d-byte header",
			 len, UKF_FRAME_HEADER);
		return -1;
	}
	magic = ukf_get32(p);
	if (magic != UKF_FRAME_MAGIC) {
		snprintf(err, errlen, "bad magic 0x%08x", magic);
		return -1;
	}
	h->version = p[4];
	h->min_version = p[5];
	if (h->min_version > h->version) {
		snprintf(err, errlen, "version range %u..%u is empty",
			 h->min_version, h->version);
		return -1;
	}
	if (h->min_version > UKF_FRAME_VERSION ||
	    h->version < UKF_FRAME_MIN_VERSION) {
		snprintf(err, errlen, "version %u..%u not understood (we speak %d..%d)",
			 h->min_version, h->version, UKF_FRAME_MIN_VERSION,
			 UKF_FRAME_VERSION);
		return -1;
	}
	h->type = ukf_get16(p + 6);
	h->sender = ukf_get32(p + 8);
	h->flags = ukf_get32(p + 12);
	h->incarnation = ukf_get64(p + 16);
	h->seq = ukf_get64(p + 24);
	h->length = ukf_get32(p + 32);
	if (ukf_get32(p + 36) != 0) {
		snprintf(err, errlen, "reserved header field is not zero");
		return -1;
	}
	if ((uint64_t)h->length != (uint64_t)len - UKF_FRAME_HEADER) {
		snprintf(err, errlen, "length %u but %zu body bytes", h->length,
			 len - UKF_FRAME_HEADER);
		return -1;
	}
	if (h->type == 0) {
		snprintf(err, errlen, "message type 0");
		return -1;
	}
	return 0;
}

uint8_t ukf_frame_version_with(const struct ukf_frame_header *h)
{
	return h->version < UKF_FRAME_VERSION ? h->version : UKF_FRAME_VERSION;
}
