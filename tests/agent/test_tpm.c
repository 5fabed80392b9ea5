/* SPDX-License-Identifier: MIT */
/* test_tpm.c - self-tests of the transport's message codec: round trips, every
 * bad field rejected, the doc quoting the table. */
#include <stdio.h>
#include <string.h>

#include "agent/tpmsg.h"
#include "harness.h"
#include "tests/common/selftest.h"

/* ---- codec ---- */

/* x encodes to the n bytes at want (a round trip compared on the wire:
 * a struct's padding bytes are not its value). */
static int same_bytes(enum ukf_tpm_kind type, const void *x,
		      const uint8_t *want, size_t n)
{
	uint8_t b[64];

	return ukf_tpm_encode(type, x, b, sizeof(b)) == (int)n &&
	       !memcmp(b, want, n);
}

static int test_tpm_roundtrip(void)
{
	struct ukf_frame_header h = h_hdr(3, 77, 1, UKF_TP_T_HELLO, 32);
	struct ukf_tpm_hello he = {3, UKF_TP_ROLE_AGENT, 77, UKF_TP_HANDLE_NONE,
				   250000000},
			     he2;
	struct ukf_tpm_bye by = {UKF_TP_BYE_SHUTDOWN}, by2;
	struct ukf_tpm_desc de = {9, 1000000, 262144, 4}, de2;
	struct ukf_tpm_chunk ch = {9, 3, 213568, 1234, UKF_TP_CODEC_ZSTD}, ch2;
	struct ukf_tpm_credit cr = {9, 2, 10, UKF_TP_CREDIT_OK}, cr2;
	uint8_t buf[64];
	char err[160];

	CHECK(ukf_tpm_encode(UKF_TPM_HELLO, &he, buf, sizeof(buf)) == 32);
	CHECK(ukf_tpm_decode(UKF_TPM_HELLO, &he2, buf, 32, 0, &h, err,
			     sizeof(err)) == 0);
	CHECK(same_bytes(UKF_TPM_HELLO, &he2, buf, 32)); /* not memcmp: padding */
	CHECK(ukf_tpm_encode(UKF_TPM_BYE, &by, buf, sizeof(buf)) == 8);
	CHECK(ukf_tpm_decode(UKF_TPM_BYE, &by2, buf, 8, 0, NULL, err,
			     sizeof(err)) == 0);
	CHECK(by2.reason == by.reason);
	CHECK(ukf_tpm_encode(UKF_TPM_DESC, &de, buf, sizeof(buf)) == 24);
	CHECK(ukf_tpm_decode(UKF_TPM_DESC, &de2, buf, 24, 0, NULL, err,
			     sizeof(err)) == 0);
	CHECK(same_bytes(UKF_TPM_DESC, &de2, buf, 24)); /* not memcmp: padding */
	CHECK(ukf_tpm_encode(UKF_TPM_CHUNK, &ch, buf, sizeof(buf)) == 24);
	CHECK(ukf_tpm_decode(UKF_TPM_CHUNK, &ch2, buf, 24, 0, NULL, err,
			     sizeof(err)) == 0);
	CHECK(same_bytes(UKF_TPM_CHUNK, &ch2, buf, 24)); /* not memcmp: padding */
	CHECK(ukf_tpm_encode(UKF_TPM_CREDIT, &cr, buf, sizeof(buf)) == 24);
	CHECK(ukf_tpm_decode(UKF_TPM_CREDIT, &cr2, buf, 24, 0, NULL, err,
			     sizeof(err)) == 0);
	CHECK(same_bytes(UKF_TPM_CREDIT, &cr2, buf, 24)); /* not memcmp: padding */
	CHECK(ukf_tpm_encode(UKF_TPM_HEARTBEAT, NULL, buf, sizeof(buf)) == 0);
	CHECK(ukf_tpm_decode(UKF_TPM_HEARTBEAT, NULL, buf, 0, 0, NULL, err,
			     sizeof(err)) == 0);
	/* little-endian on the wire, field by field */
	ukf_tpm_encode(UKF_TPM_CREDIT, &cr, buf, sizeof(buf));
	CHECK(buf[0] == 9 && buf[8] == 2 && buf[12] == 10);
	/* types map to kinds and back */
	for (int k = 0; k < UKF_TPM_KINDS; k++)
		if (k != UKF_TPM_DESC)
			CHECK(ukf_tpm_kind_of(ukf_tpm_type(k)) == k);
	CHECK(ukf_tpm_kind_of(1) < 0 && ukf_tpm_kind_of(95) < 0);
	return 0;
}

/* Decode buf after applying `mutate`, expect failure mentioning what. */
static int rejects(enum ukf_tpm_kind k, const void *msg,
		   const struct ukf_frame_header *h, size_t at, int width,
		   uint64_t value, const char *what)
{
	uint8_t buf[64], out[64];
	char err[160] = "";
	int n = ukf_tpm_encode(k, msg, buf, sizeof(buf));

	if (n < 0)
		return 0;
	for (int i = 0; i < width; i++)
		buf[at + (size_t)i] = (uint8_t)(value >> (8 * i));
	if (ukf_tpm_decode(k, out, buf, (size_t)n, 0, h, err, sizeof(err)) ==
	    0) {
		fprintf(stderr, "%s: byte %zu = %llu accepted\n",
			ukf_tpm_name(k), at, (unsigned long long)value);
		return 0;
	}
	if (!strstr(err, what)) {
		fprintf(stderr, "%s: error '%s' does not say '%s'\n",
			ukf_tpm_name(k), err, what);
		return 0;
	}
	return 1;
}

static int test_tpm_reject(void)
{
	struct ukf_frame_header h = h_hdr(3, 77, 1, UKF_TP_T_HELLO, 32);
	struct ukf_tpm_hello he = {3, UKF_TP_ROLE_AGENT, 77, UKF_TP_HANDLE_NONE,
				   250000000};
	struct ukf_tpm_bye by = {0};
	struct ukf_tpm_desc de = {9, 1000000, 262144, 4};
	struct ukf_tpm_chunk ch = {9, 3, 213568, 1234, UKF_TP_CODEC_ZSTD};
	struct ukf_tpm_credit cr = {9, 2, 10, UKF_TP_CREDIT_OK};
	uint8_t buf[64], out[64];
	char err[160];

	/* hello: node, role, reserved, incarnation, reserved, heartbeat */
	CHECK(rejects(UKF_TPM_HELLO, &he, &h, 0, 4, 4, "header sender"));
	CHECK(rejects(UKF_TPM_HELLO, &he, &h, 4, 2, 0, "role 0"));
	CHECK(rejects(UKF_TPM_HELLO, &he, &h, 4, 2, 3, "role 3"));
	CHECK(rejects(UKF_TPM_HELLO, &he, &h, 4, 2, UKF_TP_ROLE_CLIENT,
		      "does not fit"));
	CHECK(rejects(UKF_TPM_HELLO, &he, &h, 6, 2, 1, "reserved"));
	CHECK(rejects(UKF_TPM_HELLO, &he, &h, 8, 8, 0, "incarnation 0"));
	CHECK(rejects(UKF_TPM_HELLO, &he, &h, 8, 8, 78, "header incarnation"));
	CHECK(rejects(UKF_TPM_HELLO, &he, &h, 20, 4, 5, "reserved"));
	CHECK(rejects(UKF_TPM_HELLO, &he, &h, 24, 8, 0, "heartbeat_ns 0"));
	/* bye */
	CHECK(rejects(UKF_TPM_BYE, &by, NULL, 0, 4, 1, "reason 1"));
	CHECK(rejects(UKF_TPM_BYE, &by, NULL, 4, 4, 1, "reserved"));
	/* bulk descriptor */
	CHECK(rejects(UKF_TPM_DESC, &de, NULL, 0, 8, 0, "xfer 0"));
	CHECK(rejects(UKF_TPM_DESC, &de, NULL, 8, 8, 0, "total 0"));
	CHECK(rejects(UKF_TPM_DESC, &de, NULL, 8, 8, UKF_TP_BULK_ABS_MAX + 1,
		      "total"));
	CHECK(rejects(UKF_TPM_DESC, &de, NULL, 16, 4, 512, "chunk 512"));
	CHECK(rejects(UKF_TPM_DESC, &de, NULL, 16, 4, UKF_TP_CHUNK_MAX + 1,
		      "chunk"));
	CHECK(rejects(UKF_TPM_DESC, &de, NULL, 20, 4, 5, "make 4"));
	CHECK(rejects(UKF_TPM_DESC, &de, NULL, 20, 4, 0, "nchunks 0"));
	/* chunk */
	CHECK(rejects(UKF_TPM_CHUNK, &ch, NULL, 0, 8, 0, "xfer 0"));
	CHECK(rejects(UKF_TPM_CHUNK, &ch, NULL, 8, 4, UINT32_MAX, "index"));
	CHECK(rejects(UKF_TPM_CHUNK, &ch, NULL, 12, 4, 0, "raw_len 0"));
	CHECK(rejects(UKF_TPM_CHUNK, &ch, NULL, 12, 4, UKF_TP_CHUNK_MAX + 1,
		      "raw_len"));
	CHECK(rejects(UKF_TPM_CHUNK, &ch, NULL, 16, 4, 213568, "compressed"));
	CHECK(rejects(UKF_TPM_CHUNK, &ch, NULL, 20, 2, 4, "codec 4"));
	CHECK(rejects(UKF_TPM_CHUNK, &ch, NULL, 20, 2, UKF_TP_CODEC_ZERO,
		      "zero codec"));
	CHECK(rejects(UKF_TPM_CHUNK, &ch, NULL, 20, 2, UKF_TP_CODEC_NONE,
		      "raw codec"));
	CHECK(rejects(UKF_TPM_CHUNK, &ch, NULL, 22, 2, 1, "reserved"));
	/* credit */
	CHECK(rejects(UKF_TPM_CREDIT, &cr, NULL, 0, 8, 0, "xfer 0"));
	CHECK(rejects(UKF_TPM_CREDIT, &cr, NULL, 8, 4, 11, "below consumed"));
	CHECK(rejects(UKF_TPM_CREDIT, &cr, NULL, 16, 4, 3, "status 3"));
	CHECK(rejects(UKF_TPM_CREDIT, &cr, NULL, 20, 4, 1, "reserved"));
	/* lengths: short, long; long is fine from a newer version */
	ukf_tpm_encode(UKF_TPM_CREDIT, &cr, buf, sizeof(buf));
	CHECK(ukf_tpm_decode(UKF_TPM_CREDIT, out, buf, 23, 0, NULL, err,
			     sizeof(err)) < 0);
	CHECK(strstr(err, "23 body bytes, expected 24"));
	CHECK(ukf_tpm_decode(UKF_TPM_CREDIT, out, buf, 25, 0, NULL, err,
			     sizeof(err)) < 0);
	CHECK(ukf_tpm_decode(UKF_TPM_CREDIT, out, buf, 25, 1, NULL, err,
			     sizeof(err)) == 0);
	CHECK(ukf_tpm_decode(UKF_TPM_HEARTBEAT, NULL, buf, 1, 0, NULL, err,
			     sizeof(err)) < 0);
	/* the encoder applies the same ranges */
	he.role = 9;
	CHECK(ukf_tpm_encode(UKF_TPM_HELLO, &he, buf, sizeof(buf)) < 0);
	CHECK(ukf_tpm_encode(UKF_TPM_CREDIT, &cr, buf, 10) < 0);
	return 0;
}

/* The protocol doc quotes the table's layout lines: they must match. */
static int test_tpm_doc(void)
{
	const char *path = UKF_SOURCE_DIR "/docs/protocol-transport.md";
	FILE *f = fopen(path, "r");
	static char doc[1 << 17];
	size_t n;
	char line[512];

	CHECK(f);
	n = fread(doc, 1, sizeof(doc) - 1, f);
	fclose(f);
	doc[n] = 0;
	for (int k = 0; k < UKF_TPM_KINDS; k++) {
		ukf_tpm_describe(k, line, sizeof(line));
		if (!strstr(doc, line)) {
			fprintf(stderr, "%s lacks the line:\n%s\n", path, line);
			return 1;
		}
	}
	return 0;
}

static const struct selftest tests[] = {
    {"tpm_roundtrip", test_tpm_roundtrip},
    {"tpm_reject", test_tpm_reject},
    {"tpm_doc", test_tpm_doc},
};

int main(int argc, char **argv)
{
	return selftest_main(tests, SELFTEST_COUNT(tests), argc, argv);
}
