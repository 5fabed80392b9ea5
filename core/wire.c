/* SPDX-License-Identifier: MIT */
/* wire.c - encoder and validating decoder of agent-to-agent messages. */
#include <stdio.h>
#include <string.h>

#include "wire.h"

static const char *const names[UKF_MSG_TYPE_MAX] = {
    [UKF_MSG_SPAWN] = "spawn",	 [UKF_MSG_CLONE] = "clone",
    [UKF_MSG_READY] = "ready",	 [UKF_MSG_EXIT] = "exit",
    [UKF_MSG_FAIL] = "fail",	 [UKF_MSG_NACK] = "nack",
    [UKF_MSG_TFETCH] = "tfetch", [UKF_MSG_TDATA] = "tdata",
    [UKF_MSG_MSG] = "msg",	 [UKF_MSG_KILL] = "kill",
};

const char *ukf_msg_name(enum ukf_msg_type t)
{
	if ((unsigned)t >= UKF_MSG_TYPE_MAX || !names[t])
		return "?";
	return names[t];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

size_t ukf_msg_size(const struct ukf_msg *m)
{
	return UKF_WIRE_MIN + m->text_len + m->data_len;
}

size_t ukf_msg_encode(const struct ukf_msg *m, void *buf, size_t cap)
{
	uint8_t *p = buf;
	size_t n;

	if (!m || (unsigned)m->type >= UKF_MSG_TYPE_MAX || !names[m->type] ||
	    m->text_len > UKF_WIRE_TEXT_MAX ||
	    m->data_len > UKF_WIRE_DATA_MAX || (m->text_len && !m->text) ||
	    (m->data_len && !m->data))
		return 0;
	n = ukf_msg_size(m);
	if (!buf || cap < n)
		return 0;
	put32(p, UKF_WIRE_MAGIC);
	put16(p + 4, UKF_WIRE_VERSION);
	put16(p + 6, (uint16_t)m->type);
	put32(p + 8, (uint32_t)(n - UKF_WIRE_HEADER));
	put32(p + 12, 0);
	p += UKF_WIRE_HEADER;
	put64(p + 0, m->id);
	put64(p + 8, m->parent);
	put64(p + 16, m->ref);
	put64(p + 24, m->tag);
	put64(p + 32, (uint64_t)m->t_request);
	put64(p + 40, (uint64_t)m->t_placed);
	put64(p + 48, (uint64_t)m->status);
	put64(p + 56, m->bytes);
	put32(p + 64, m->app);
	put32(p + 68, m->origin);
	put32(p + 72, m->attempt);
	put32(p + 76, m->flags);
	p += UKF_WIRE_FIXED;
	put32(p, (uint32_t)m->text_len);
	if (m->text_len)
		memcpy(p + 4, m->text, m->text_len);
	p += 4 + m->text_len;
	put32(p, (uint32_t)m->data_len);
	if (m->data_len)
		memcpy(p + 4, m->data, m->data_len);
	return n;
}

#define BAD(...) (snprintf(err, errlen, __VA_ARGS__), -1)

int ukf_msg_decode(struct ukf_msg *m, const void *buf, size_t len, char *err,
		   size_t errlen)
{
	const uint8_t *p = buf;
	size_t left, tl, dl;
	uint16_t type, ver;

	if (!m || !buf)
		return BAD("no message");
	if (len < UKF_WIRE_HEADER)
		return BAD("truncated header (%zu bytes)", len);
	if (get32(p) != UKF_WIRE_MAGIC)
		return BAD("bad magic 0x%08x", get32(p));
	ver = get16(p + 4);
	if (ver != UKF_WIRE_VERSION)
		return BAD("unsupported version %u (want %u)", ver,
			   UKF_WIRE_VERSION);
	type = get16(p + 6);
	if (type >= UKF_MSG_TYPE_MAX || !names[type])
		return BAD("unknown message type %u", type);
	if (get32(p + 8) != len - UKF_WIRE_HEADER)
		return BAD("length field %u does not match frame of %zu bytes",
			   get32(p + 8), len);
	if (len < UKF_WIRE_MIN)
		return BAD("truncated body (%zu bytes, need %d)", len,
			   UKF_WIRE_MIN);
	memset(m, 0, sizeof(*m));
	m->type = (enum ukf_msg_type)type;
	p += UKF_WIRE_HEADER;
	m->id = get64(p + 0);
	m->parent = get64(p + 8);
	m->ref = get64(p + 16);
	m->tag = get64(p + 24);
	m->t_request = (ukf_ns_t)get64(p + 32);
	m->t_placed = (ukf_ns_t)get64(p + 40);
	m->status = (int64_t)get64(p + 48);
	m->bytes = get64(p + 56);
	m->app = get32(p + 64);
	m->origin = get32(p + 68);
	m->attempt = get32(p + 72);
	m->flags = get32(p + 76);
	p += UKF_WIRE_FIXED;
	left = len - UKF_WIRE_HEADER - UKF_WIRE_FIXED - 8;
	tl = get32(p);
	if (tl > UKF_WIRE_TEXT_MAX)
		return BAD("text length %zu over limit %d", tl,
			   UKF_WIRE_TEXT_MAX);
	if (tl > left)
		return BAD("text length %zu past end of frame", tl);
	m->text = tl ? (const char *)p + 4 : NULL;
	m->text_len = tl;
	left -= tl;
	p += 4 + tl;
	dl = get32(p);
	if (dl > UKF_WIRE_DATA_MAX)
		return BAD("data length %zu over limit %u", dl,
			   UKF_WIRE_DATA_MAX);
	if (dl != left)
		return BAD("data length %zu does not match the %zu bytes left",
			   dl, left);
	m->data = dl ? p + 4 : NULL;
	m->data_len = dl;
	if (m->id == 0 && m->type != UKF_MSG_TFETCH && m->type != UKF_MSG_TDATA)
		return BAD("%s without an instance id", names[type]);
	return 0;
}
