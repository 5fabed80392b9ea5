/* SPDX-License-Identifier: MIT */
/* fuzz_wire.c - libFuzzer target: frame headers and every engine message body of wire protocol v3 and older (core/frame.h, core/wire.h). */
#include <stdint.h>
#include <string.h>

#include "core/frame.h"
#include "tests/fuzz/fuzz.h"
#include "core/wire.h"

/*
 * Input: byte 0 the message type (any value: unknown types must be
 * refused), byte 1 bit 0 "sender is newer", bit 1 "bulk bytes present",
 * the rest the body. The whole input is also read as a frame header.
 * A body that decodes (from a sender of our version) must encode back to
 * the same bytes: the decoder accepts only what the encoder writes.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ukf_frame_header h;
	struct ukf_msg m;
	char err[256];
	static uint8_t out[UKF_WIRE_BODY_MAX + 64];

	if (ukf_frame_header_decode(&h, data, size, err, sizeof(err)) == 0)
		(void)ukf_frame_version_with(&h);
	if (size < 2)
		return 0;
	uint16_t type = data[0];
	int newer = data[1] & 1;
	const uint8_t *body = data + 2;
	size_t len = size - 2;
	static const uint8_t bulk[16] = "bulk bytes here";
	int has_bulk = (data[1] & 2) != 0;

	if (ukf_msg_decode(&m, type, body, len, has_bulk ? bulk : NULL,
			   has_bulk ? sizeof(bulk) : 0, newer, err,
			   sizeof(err)))
		return 0;
	(void)ukf_msg_name(m.type);
	fuzz_touch(m.app_name, m.app_name_len);
	fuzz_touch(m.text, m.text_len);
	fuzz_touch(m.data, m.data_len);
	size_t n = ukf_msg_encode(&m, out, sizeof(out));
	/* what decodes encodes back to the same bytes, but for the fields an
	 * older sender's body ends before (codec `since`: they decode as 0
	 * and encode as zeros after its bytes); a newer sender's body may
	 * also hold fields after ours, which are not encoded back */
	size_t common = n < len ? n : len;
	FUZZ_CHECK(n > 0 && ukf_msg_body_size(&m) == n &&
		   memcmp(out, body, common) == 0);
	if (!newer)
		FUZZ_CHECK(n >= len);
	for (size_t k = len; k < n; k++)
		FUZZ_CHECK(out[k] == 0);
	return 0;
}
