/* SPDX-License-Identifier: MIT */
/* fuzz_agentmsg.c - libFuzzer target: the agents' message bodies - transport (agent/tpmsg.h), client (agent/cmsg.h), directory update (agent/dmsg.h) and the record it carries (core/dir.h). */
#include <stdint.h>
#include <string.h>

#include "agent/cmsg.h"
#include "agent/dmsg.h"
#include "agent/tpmsg.h"
#include "core/dir.h"
#include "core/le.h"
#include "tests/fuzz/fuzz.h"

/*
 * Input: byte 0 the protocol (0 transport, 1 client, 2 directory), byte 1
 * the kind or type (client: any value, unknown types must be refused),
 * byte 2 bit 0 "sender is newer", bit 1 "check a HELLO against a header
 * whose sender and incarnation are the body's"; the rest the body. What
 * decodes from a sender of our version must encode back to the same bytes.
 */
static void transport(unsigned kind, int newer, int with_header,
		      const uint8_t *body, size_t len)
{
	union {
		struct ukf_tpm_hello hello;
		struct ukf_tpm_bye bye;
		struct ukf_tpm_desc desc;
		struct ukf_tpm_chunk chunk;
		struct ukf_tpm_credit credit;
	} msg;
	struct ukf_frame_header h = {0};
	uint8_t out[256];
	char err[256], line[512];
	enum ukf_tpm_kind k = (enum ukf_tpm_kind)(kind % UKF_TPM_KINDS);

	if (with_header && len >= 16) {
		h.sender = ukf_get32(body);
		h.incarnation = ukf_get64(body + 8);
	}
	FUZZ_CHECK(ukf_tpm_kind_of(ukf_tpm_type(k)) ==
		   (k == UKF_TPM_DESC ? -1 : (int)k));
	(void)ukf_tpm_describe(k, line, sizeof(line));
	memset(&msg, 0, sizeof(msg));
	if (ukf_tpm_decode(k, &msg, body, len, newer,
			   with_header ? &h : NULL, err, sizeof(err)))
		return;
	int n = ukf_tpm_encode(k, &msg, out, sizeof(out));
	FUZZ_CHECK(n >= 0 && (size_t)n == ukf_tpm_size(k));
	if (!newer)
		FUZZ_CHECK((size_t)n == len && memcmp(out, body, len) == 0);
	else
		FUZZ_CHECK((size_t)n <= len && memcmp(out, body, n) == 0);
}

static void client(unsigned type, int newer, const uint8_t *body, size_t len)
{
	static uint8_t out[UKF_CMSG_BODY_MAX + 64];
	struct ukf_cmsg m;
	char err[256];

	(void)ukf_cmsg_name(type);
	if (ukf_cmsg_decode(&m, (uint16_t)type, body, len, newer, err,
			    sizeof(err)))
		return;
	fuzz_touch(m.name, m.name_len);
	fuzz_touch(m.text, m.text_len);
	fuzz_touch(m.text2, m.text2_len);
	fuzz_touch(m.text3, m.text3_len);
	fuzz_touch(m.text4, m.text4_len);
	size_t n = ukf_cmsg_encode(&m, out, sizeof(out));
	if (!newer)
		FUZZ_CHECK(n == len && memcmp(out, body, len) == 0);
	else
		FUZZ_CHECK(n > 0 && n <= len && memcmp(out, body, n) == 0);
}

static void directory(int newer, const uint8_t *body, size_t len)
{
	uint8_t out[2048];
	struct ukf_dmsg d;
	char err[256];

	if (ukf_dmsg_decode(&d, body, len, newer, err, sizeof(err)))
		return;
	fuzz_touch(d.rec, d.rec_len);
	size_t n = ukf_dmsg_encode(&d, out, sizeof(out));
	if (!newer)
		FUZZ_CHECK(n == len && memcmp(out, body, len) == 0);
	/* the record inside, as a receiver applies it: a fresh view each
	 * time, so that an input means the same whatever came before */
	ukf_dir_t *dir = ukf_dir_create(8);
	if (!dir)
		return;
	if (ukf_dir_apply(dir, d.rec, d.rec_len) == 0) {
		for (uint32_t i = 0; i < ukf_dir_nodes(dir); i++) {
			const struct ukf_dir_record *r = ukf_dir_get(dir, i);
			FUZZ_CHECK(r && r->ntemplates <= UKF_DIR_MAX_TEMPLATES);
			/* the same record again is old news, then forgotten */
			if (r->version) {
				FUZZ_CHECK(ukf_dir_apply(dir, d.rec,
							 d.rec_len) == 0);
				ukf_dir_forget(dir, i);
			}
		}
	}
	ukf_dir_destroy(&dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	int newer = data[2] & 1;
	switch (data[0] % 3) {
	case 0:
		transport(data[1], newer, data[2] & 2, data + 3, size - 3);
		break;
	case 1:
		client(data[1] + 64u, newer, data + 3, size - 3);
		break;
	default:
		directory(newer, data + 3, size - 3);
		break;
	}
	return 0;
}
