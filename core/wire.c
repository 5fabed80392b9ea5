/* SPDX-License-Identifier: MIT */
/* wire.c - encoder and validating decoder of agent-to-agent messages. */
#include <stdio.h>
#include <string.h>

#include "le.h"
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
	ukf_put32(p, UKF_WIRE_MAGIC);
	ukf_put16(p + 4, UKF_WIRE_VERSION);
	ukf_put16(p + 6, (uint16_t)m->type);
	ukf_put32(p + 8, (uint32_t)(n - UKF_WIRE_HEADER));
	ukf_put32(p + 12, 0);
	p += UKF_WIRE_HEADER;
	ukf_put64(p + 0, m->id);
	ukf_put64(p + 8, m->parent);
	ukf_put64(p + 16, m->ref);
	ukf_put64(p + 24, m->tag);
	ukf_put64(p + 32, (uint64_t)m->t_request);
	ukf_put64(p + 40, (uint64_t)m->t_placed);
	ukf_put64(p + 48, (uint64_t)m->status);
	ukf_put64(p + 56, m->bytes);
	ukf_put32(p + 64, m->app);
	ukf_put32(p + 68, m->origin);
	ukf_put32(p + 72, m->attempt);
	ukf_put32(p + 76, m->flags);
	p += UKF_WIRE_FIXED;
	ukf_put32(p, (uint32_t)m->text_len);
	if (m->text_len)
		memcpy(p + 4, m->text, m->text_len);
	p += 4 + m->text_len;
	ukf_put32(p, (uint32_t)m->data_len);
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
	if (ukf_get32(p) != UKF_WIRE_MAGIC)
		return BAD("bad magic 0x%08x", ukf_get32(p));
	ver = ukf_get16(p + 4);
	if (ver != UKF_WIRE_VERSION)
		return BAD("unsupported version %u (want %u)", ver,
			   UKF_WIRE_VERSION);
	type = ukf_get16(p + 6);
	if (type >= UKF_MSG_TYPE_MAX || !names[type])
		return BAD("unknown message type %u", type);
	if (ukf_get32(p + 8) != len - UKF_WIRE_HEADER)
		return BAD("length field %u does not match frame of %zu bytes",
			   ukf_get32(p + 8), len);
	if (len < UKF_WIRE_MIN)
		return BAD("truncated body (%zu bytes, need %d)", len,
			   UKF_WIRE_MIN);
	memset(m, 0, sizeof(*m));
	m->type = (enum ukf_msg_type)type;
	p += UKF_WIRE_HEADER;
	m->id = ukf_get64(p + 0);
	m->parent = ukf_get64(p + 8);
	m->ref = ukf_get64(p + 16);
	m->tag = ukf_get64(p + 24);
	m->t_request = (ukf_ns_t)ukf_get64(p + 32);
	m->t_placed = (ukf_ns_t)ukf_get64(p + 40);
	m->status = (int64_t)ukf_get64(p + 48);
	m->bytes = ukf_get64(p + 56);
	m->app = ukf_get32(p + 64);
	m->origin = ukf_get32(p + 68);
	m->attempt = ukf_get32(p + 72);
	m->flags = ukf_get32(p + 76);
	p += UKF_WIRE_FIXED;
	left = len - UKF_WIRE_HEADER - UKF_WIRE_FIXED - 8;
	tl = ukf_get32(p);
	if (tl > UKF_WIRE_TEXT_MAX)
		return BAD("text length %zu over limit %d", tl,
			   UKF_WIRE_TEXT_MAX);
	if (tl > left)
		return BAD("text length %zu past end of frame", tl);
	m->text = tl ? (const char *)p + 4 : NULL;
	m->text_len = tl;
	left -= tl;
	p += 4 + tl;
	dl = ukf_get32(p);
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
