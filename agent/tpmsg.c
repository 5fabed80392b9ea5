/* SPDX-License-Identifier: MIT */
/* tpmsg.c - the table of transport message bodies and the codec driven by it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/le.h"
#include "tpmsg.h"

#define RESERVED SIZE_MAX /* offset of a field that is always 0 */

struct field {
	const char *name;
	uint8_t width; /* bytes: 1, 2, 4 or 8 */
	size_t off;    /* in the message struct, or RESERVED */
	uint64_t min, max;
};

struct kind {
	const char *name;
	uint16_t type;
	const struct field *f;
	size_t nf;
	/* Rules across fields or with the header; NULL if none. */
	int (*check)(const void *msg, const struct ukf_frame_header *h,
		     char *err, size_t errlen);
};

#define F(s, m, lo, hi)                                                        \
	{                                                                      \
#m, sizeof(((struct s *)0)->m), offsetof(struct s, m), lo, hi  \
	}
#define R(w)                                                                   \
	{                                                                      \
		"reserved", w, RESERVED, 0, 0                                  \
	}
#define N(a)	 (sizeof(a) / sizeof((a)[0]))
#define BAD(...) (snprintf(err, errlen, __VA_ARGS__), -1)

static const struct field hello_f[] = {
    F(ukf_tpm_hello, node, 0, UINT32_MAX),
    F(ukf_tpm_hello, role, UKF_TP_ROLE_AGENT, UKF_TP_ROLE_CLIENT),
    R(2),
    F(ukf_tpm_hello, incarnation, 1, UINT64_MAX),
    F(ukf_tpm_hello, handle, 0, UINT32_MAX),
    R(4),
    F(ukf_tpm_hello, heartbeat_ns, 1, UINT64_MAX),
};

static const struct field bye_f[] = {
    F(ukf_tpm_bye, reason, UKF_TP_BYE_SHUTDOWN, UKF_TP_BYE_SHUTDOWN),
    R(4),
};

static const struct field desc_f[] = {
    F(ukf_tpm_desc, xfer, 1, UINT64_MAX),
    F(ukf_tpm_desc, total, 1, UKF_TP_BULK_ABS_MAX),
    F(ukf_tpm_desc, chunk, UKF_TP_CHUNK_MIN, UKF_TP_CHUNK_MAX),
    F(ukf_tpm_desc, nchunks, 1, UINT32_MAX),
};

static const struct field chunk_f[] = {
    F(ukf_tpm_chunk, xfer, 1, UINT64_MAX),
    F(ukf_tpm_chunk, index, 0, UINT32_MAX - 1),
    F(ukf_tpm_chunk, raw_len, 1, UKF_TP_CHUNK_MAX),
    F(ukf_tpm_chunk, wire_len, 0, UINT32_MAX),
    F(ukf_tpm_chunk, codec, 0, UKF_TP_CODEC_MAX),
    R(2),
};

static const struct field credit_f[] = {
    F(ukf_tpm_credit, xfer, 1, UINT64_MAX),
    F(ukf_tpm_credit, consumed, 0, UINT32_MAX),
    F(ukf_tpm_credit, limit, 0, UINT32_MAX),
    F(ukf_tpm_credit, status, UKF_TP_CREDIT_OK, UKF_TP_CREDIT_ABORTED),
    R(4),
};

static int hello_check(const void *msg, const struct ukf_frame_header *h,
		       char *err, size_t errlen)
{
	const struct ukf_tpm_hello *m = msg;

	if ((m->role == UKF_TP_ROLE_CLIENT) != (m->node == UKF_FRAME_CLIENT))
		return BAD("hello: role %u does not fit node 0x%08" PRIx32,
			   m->role, m->node);
	if (!h)
		return 0;
	if (m->node != h->sender)
		return BAD("hello: node %" PRIu32 " but header sender %" PRIu32,
			   m->node, h->sender);
	if (m->incarnation != h->incarnation)
		return BAD("hello: incarnation %" PRIu64
			   " but header incarnation %" PRIu64,
			   m->incarnation, h->incarnation);
	return 0;
}

static int desc_check(const void *msg, const struct ukf_frame_header *h,
		      char *err, size_t errlen)
{
	const struct ukf_tpm_desc *m = msg;
	uint64_t n = (m->total + m->chunk - 1) / m->chunk;

	if (m->nchunks != n)
		return BAD("bulk descriptor: %" PRIu32 " chunks but %" PRIu64
			   " bytes in chunks of %" PRIu32 " make %" PRIu64,
			   m->nchunks, m->total, m->chunk, n);
	return 0;
}

static int chunk_check(const void *msg, const struct ukf_frame_header *h,
		       char *err, size_t errlen)
{
	const struct ukf_tpm_chunk *m = msg;

	if (m->codec == UKF_TP_CODEC_ZERO && m->wire_len != 0)
		return BAD("bulk chunk: zero codec with %" PRIu32 " bytes",
			   m->wire_len);
	if (m->codec == UKF_TP_CODEC_NONE && m->wire_len != m->raw_len)
		return BAD("bulk chunk: raw codec with %" PRIu32
			   " bytes for %" PRIu32,
			   m->wire_len, m->raw_len);
	if ((m->codec == UKF_TP_CODEC_LZ4 || m->codec == UKF_TP_CODEC_ZSTD) &&
	    (m->wire_len == 0 || m->wire_len >= m->raw_len))
		return BAD("bulk chunk: compressed %" PRIu32
			   " bytes for %" PRIu32 " raw",
			   m->wire_len, m->raw_len);
	return 0;
}

static int credit_check(const void *msg, const struct ukf_frame_header *h,
			char *err, size_t errlen)
{
	const struct ukf_tpm_credit *m = msg;

	if (m->limit < m->consumed)
		return BAD("bulk credit: limit %" PRIu32
			   " below consumed %" PRIu32,
			   m->limit, m->consumed);
	return 0;
}

static const struct kind kinds[UKF_TPM_KINDS] = {
    [UKF_TPM_HELLO] = {"hello", UKF_TP_T_HELLO, hello_f, N(hello_f),
		       hello_check},
    [UKF_TPM_HEARTBEAT] = {"heartbeat", UKF_TP_T_HEARTBEAT, NULL, 0, NULL},
    [UKF_TPM_BYE] = {"bye", UKF_TP_T_BYE, bye_f, N(bye_f), NULL},
    [UKF_TPM_CHUNK] = {"bulk chunk", UKF_TP_T_BULK_CHUNK, chunk_f, N(chunk_f),
		       chunk_check},
    [UKF_TPM_CREDIT] = {"bulk credit", UKF_TP_T_BULK_CREDIT, credit_f,
			N(credit_f), credit_check},
    [UKF_TPM_DESC] = {"bulk descriptor", 0, desc_f, N(desc_f), desc_check},
};

int ukf_tpm_kind_of(uint16_t type)
{
	for (int k = 0; k < UKF_TPM_KINDS; k++)
		if (kinds[k].type && kinds[k].type == type)
			return k;
	return -1;
}

uint16_t ukf_tpm_type(enum ukf_tpm_kind k)
{
	return (unsigned)k < UKF_TPM_KINDS ? kinds[k].type : 0;
}

const char *ukf_tpm_name(enum ukf_tpm_kind k)
{
	return (unsigned)k < UKF_TPM_KINDS ? kinds[k].name : "?";
}

size_t ukf_tpm_size(enum ukf_tpm_kind k)
{
	size_t n = 0;

	if ((unsigned)k >= UKF_TPM_KINDS)
		return 0;
	for (size_t i = 0; i < kinds[k].nf; i++)
		n += kinds[k].f[i].width;
	return n;
}

static uint64_t load(const void *msg, const struct field *f)
{
	/* no msg + RESERVED (SIZE_MAX): that pointer would be undefined */
	const uint8_t *p =
	    (const uint8_t *)msg + (f->off == RESERVED ? 0 : f->off);
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	if (f->off == RESERVED)
		return 0;
	switch (f->width) {
	case 1:
		memcpy(&u8, p, 1);
		return u8;
	case 2:
		memcpy(&u16, p, 2);
		return u16;
	case 4:
		memcpy(&u32, p, 4);
		return u32;
	default:
		memcpy(&u64, p, 8);
		return u64;
	}
}

static void store(void *msg, const struct field *f, uint64_t v)
{
	uint8_t *p = (uint8_t *)msg + (f->off == RESERVED ? 0 : f->off);
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;

	if (f->off == RESERVED)
		return;
	switch (f->width) {
	case 1:
		memcpy(p, &u8, 1);
		break;
	case 2:
		memcpy(p, &u16, 2);
		break;
	case 4:
		memcpy(p, &u32, 4);
		break;
	default:
		memcpy(p, &v, 8);
	}
}

static void put(uint8_t *p, int width, uint64_t v)
{
	switch (width) {
	case 1:
		*p = (uint8_t)v;
		break;
	case 2:
		ukf_put16(p, (uint16_t)v);
		break;
	case 4:
		ukf_put32(p, (uint32_t)v);
		break;
	default:
		ukf_put64(p, v);
	}
}

static uint64_t get(const uint8_t *p, int width)
{
	switch (width) {
	case 1:
		return *p;
	case 2:
		return ukf_get16(p);
	case 4:
		return ukf_get32(p);
	default:
		return ukf_get64(p);
	}
}

/* Struct sizes per kind, for the scratch copy the encoder checks. */
static size_t struct_size(enum ukf_tpm_kind k)
{
	switch (k) {
	case UKF_TPM_HELLO:
		return sizeof(struct ukf_tpm_hello);
	case UKF_TPM_BYE:
		return sizeof(struct ukf_tpm_bye);
	case UKF_TPM_CHUNK:
		return sizeof(struct ukf_tpm_chunk);
	case UKF_TPM_CREDIT:
		return sizeof(struct ukf_tpm_credit);
	case UKF_TPM_DESC:
		return sizeof(struct ukf_tpm_desc);
	default:
		return 0;
	}
}

static int check_fields(enum ukf_tpm_kind k, const void *msg,
			const struct ukf_frame_header *h, char *err,
			size_t errlen)
{
	const struct kind *d = &kinds[k];

	for (size_t i = 0; i < d->nf; i++) {
		const struct field *f = &d->f[i];
		uint64_t v = load(msg, f);

		if (v < f->min || v > f->max)
			return BAD("%s: %s %" PRIu64 " out of range %" PRIu64
				   "..%" PRIu64,
				   d->name, f->name, v, f->min, f->max);
	}
	return d->check ? d->check(msg, h, err, errlen) : 0;
}

int ukf_tpm_encode(enum ukf_tpm_kind k, const void *msg, void *out, size_t cap)
{
	const struct kind *d;
	uint8_t *p = out;
	size_t n;
	char err[8];

	if ((unsigned)k >= UKF_TPM_KINDS)
		return -1;
	d = &kinds[k];
	n = ukf_tpm_size(k);
	if (cap < n || (n && (!out || !msg)))
		return -1;
	if (n && check_fields(k, msg, NULL, err, sizeof(err)) < 0)
		return -1;
	for (size_t i = 0; i < d->nf; i++) {
		put(p, d->f[i].width, load(msg, &d->f[i]));
		p += d->f[i].width;
	}
	return (int)n;
}

int ukf_tpm_decode(enum ukf_tpm_kind k, void *msg, const void *buf, size_t len,
		   int newer, const struct ukf_frame_header *h, char *err,
		   size_t errlen)
{
	const struct kind *d;
	const uint8_t *p = buf;
	size_t n;

	if ((unsigned)k >= UKF_TPM_KINDS)
		return BAD("unknown transport message kind %d", (int)k);
	d = &kinds[k];
	n = ukf_tpm_size(k);
	if (len < n || (len > n && !newer))
		return BAD("%s: %zu body bytes, expected %zu", d->name, len, n);
	if (!n)
		return 0;
	if (!msg || !buf)
		return BAD("%s: nothing to decode", d->name);
	memset(msg, 0, struct_size(k));
	for (size_t i = 0; i < d->nf; i++) {
		const struct field *f = &d->f[i];
		uint64_t v = get(p, f->width);

		if (f->off == RESERVED && v != 0)
			return BAD("%s: reserved field at byte %td is not zero",
				   d->name, p - (const uint8_t *)buf);
		store(msg, f, v);
		p += f->width;
	}
	return check_fields(k, msg, h, err, errlen);
}

int ukf_tpm_describe(enum ukf_tpm_kind k, char *buf, size_t len)
{
	const struct kind *d;
	size_t at = 0;
	int w;

#define ADD(...)                                                               \
	do {                                                                   \
		w = snprintf(buf ? buf + (at < len ? at : len) : NULL,         \
			     at < len ? len - at : 0, __VA_ARGS__);            \
		if (w < 0)                                                     \
			return -1;                                             \
		at += (size_t)w;                                               \
	} while (0)

	if ((unsigned)k >= UKF_TPM_KINDS)
		return -1;
	d = &kinds[k];
	if (d->type)
		ADD("%s (%u), %zu bytes:", d->name, d->type, ukf_tpm_size(k));
	else
		ADD("%s (frame 1), %zu bytes:", d->name, ukf_tpm_size(k));
	if (!d->nf)
		ADD(" empty");
	for (size_t i = 0; i < d->nf; i++) {
		const struct field *f = &d->f[i];
		uint64_t all =
		    f->width == 8 ? UINT64_MAX : (1ull << (8 * f->width)) - 1;

		ADD("%s u%d %s", i ? "," : "", 8 * f->width, f->name);
		if (f->off == RESERVED)
			ADD(" (0)");
		else if (f->min == f->max)
			ADD(" = %" PRIu64, f->min);
		else if (f->max == all && f->min)
			ADD(" >= %" PRIu64, f->min);
		else if (f->min != 0 || f->max != all)
			ADD(" %" PRIu64 "..%" PRIu64, f->min, f->max);
	}
#undef ADD
	return (int)at;
}
