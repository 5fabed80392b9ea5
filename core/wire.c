/* SPDX-License-Identifier: MIT */
/* wire.c - the table of engine message bodies, and the encoder, checking decoder and docs made from it. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "le.h"
#include "wire.h"

/*
 * Each type's fields, in body order, declared once as a list of
 *   F(kind, member, "name", "doc")   a fixed-width field of struct ukf_msg
 *   APP("doc")                        app_digest (u64), then the app's name
 *   TEXT("name", "doc")               text/text_len
 * From each list come the table of fields (the docs, the field queries,
 * the generic codec of codec.h) and a straight-line encoder and decoder:
 * every message of a simulated run goes through those (millions of them),
 * where the table-driven loop dispatched on every field. tests/core checks
 * that both give the same bytes and the same errors.
 */
#define SPAWN_FIELDS(F, APP, TEXT, SINCE)                                           \
	F(U64, id, "id", "the new instance's id (chosen by the origin)")      \
	F(U64, parent, "parent", "parent instance, 0 for a workload request") \
	F(U64, tag, "tag", "the workload's tag, returned in its notices")     \
	F(I64, t_request, "t_request", "request time, ns on the origin's clock") \
	F(I64, t_placed, "t_placed", "placement time, ns on the origin's clock") \
	F(U32, origin, "origin", "node that placed it and hears back")        \
	F(U32, attempt, "attempt", "placement attempt, from 1")               \
	F(U32, flags, "flags", "1 notify the workload, 2 fork child")         \
	APP("the application")                                                \
	TEXT("args", "the instance's argument string")
#define CLONE_FIELDS(F, APP, TEXT, SINCE)                                           \
	F(U64, id, "id", "the child's id")                                    \
	F(U64, parent, "parent", "the forked instance")                       \
	F(U64, tag, "tag", "the workload's tag")                              \
	F(I64, t_request, "t_request", "fork time, ns on the origin's clock") \
	F(I64, t_placed, "t_placed", "placement time, ns on the origin's clock") \
	F(U64, bytes, "bytes", "the delta's size as the backend counts it (pages x 4096)") \
	F(U32, origin, "origin", "the parent's node")                         \
	F(U32, attempt, "attempt", "placement attempt, from 1")               \
	F(U32, flags, "flags", "1 notify the workload, 2 fork child")         \
	APP("the parent's application (its template is needed)")            \
	SINCE(U64, tver, "tver", 3, "the template the delta was taken against (0: none, the delta is the whole image)")
#define READY_FIELDS(F, APP, TEXT, SINCE)                                           \
	F(U64, id, "id", "the instance now running")                          \
	F(U64, parent, "parent", "its parent, 0 if none")                     \
	F(U64, tag, "tag", "the workload's tag")                              \
	F(U32, node, "node", "node it runs on")                               \
	F(U32, origin, "origin", "node the notice goes to")                   \
	F(U32, flags, "flags", "flags of the request; 4: bits 8-9 hold the start kind (0 cold, 1 template, 2 fork), for the row its origin writes if this node is lost")
#define EXIT_FIELDS(F, APP, TEXT, SINCE)                                            \
	F(U64, id, "id", "the instance that exited")                          \
	F(U64, parent, "parent", "its parent, 0 if none")                     \
	F(U64, tag, "tag", "the workload's tag")                              \
	F(I64, status, "status", "its exit status")                           \
	F(U32, node, "node", "node it ran on")                                \
	F(U32, origin, "origin", "node the notice goes to")                   \
	F(U32, flags, "flags", "flags of the request")
#define FAIL_FIELDS(F, APP, TEXT, SINCE)                                            \
	F(U64, id, "id", "the instance (or request) that failed")             \
	F(U64, parent, "parent", "its parent, 0 if none")                     \
	F(U64, tag, "tag", "the workload's tag")                              \
	F(U32, node, "node", "node it ran on")                                \
	F(U32, origin, "origin", "node the notice goes to")                   \
	F(U32, flags, "flags", "flags of the request")                        \
	TEXT("reason", "why, in words")
#define NACK_FIELDS(F, APP, TEXT, SINCE)                                            \
	F(U64, id, "id", "the request refused")                               \
	F(U32, origin, "origin", "the origin it goes back to")                \
	APP("its application")                                                \
	SINCE(I64, status, "status", 3, "0: no capacity; -ESTALE (-116): the template its delta was taken against is gone, save a new delta")
#define TFETCH_FIELDS(F, APP, TEXT, SINCE)                                          \
	F(U32, origin, "origin", "node asking")                               \
	APP("the application whose template is asked for")                  \
	SINCE(U64, tver, "tver", 3, "the template version wanted (0: any); a peer holding another answers none")
#define TDATA_FIELDS(F, APP, TEXT, SINCE)                                           \
	F(I64, result, "result", "0: the template follows as bulk bytes; < 0: none here") \
	F(U64, bytes, "bytes", "the template's size as the engine counts it") \
	F(U32, origin, "origin", "node sending it")                           \
	APP("its application")                                                \
	SINCE(U64, tver, "tver", 3, "the template's version: who made it and when, kept by every copy")
#define MSG_FIELDS(F, APP, TEXT, SINCE)                                             \
	F(U64, id, "id", "the destination instance")                          \
	F(U64, src, "src", "the sending instance")                            \
	F(U32, origin, "origin", "the sender's node")
#define KILL_FIELDS(F, APP, TEXT, SINCE)                                            \
	F(U64, id, "id", "the instance to stop")                              \
	F(U32, origin, "origin", "node asking")

#define APP_NAME_MAX (UKF_APP_NAME_MAX - 1)
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The tables. */
#define ROW(k, member, n, d)                                                  \
	UKF_FIELD(n, UKF_FK_##k, struct ukf_msg, member, d),
#define APP_ROWS(d)                                                           \
	ROW(U64, app_digest, "app_digest",                                    \
	    "digest of what the app runs (0: unknown)")                       \
	UKF_FIELD_STR("app", UKF_FK_NAME, struct ukf_msg, app_name,           \
		      app_name_len, APP_NAME_MAX, d),
#define SINCE_ROW(k, member, n, v, d)                                          \
	UKF_FIELD_SINCE(n, UKF_FK_##k, struct ukf_msg, member, v, d),
#define TEXT_ROW(n, d)                                                        \
	UKF_FIELD_STR(n, UKF_FK_TEXT, struct ukf_msg, text, text_len,         \
		      UKF_WIRE_TEXT_MAX, d),
#define TABLE(t, FIELDS)                                                      \
	static const struct ukf_field f_##t[] = { FIELDS(ROW, APP_ROWS, TEXT_ROW, SINCE_ROW) };
TABLE(spawn, SPAWN_FIELDS)
TABLE(clone, CLONE_FIELDS)
TABLE(ready, READY_FIELDS)
TABLE(exit, EXIT_FIELDS)
TABLE(fail, FAIL_FIELDS)
TABLE(nack, NACK_FIELDS)
TABLE(tfetch, TFETCH_FIELDS)
TABLE(tdata, TDATA_FIELDS)
TABLE(msg, MSG_FIELDS)
TABLE(kill, KILL_FIELDS)

/* The encoders: p moves through buf, 0 if it would pass end or a name or
 * text cannot be sent (the checks of ukf_fields_encode). */
#define W_U32 4
#define W_U64 8
#define W_I64 8
#define PUT_U32(p, v) ukf_put32(p, (uint32_t)(v))
#define PUT_U64(p, v) ukf_put64(p, (uint64_t)(v))
#define PUT_I64(p, v) ukf_put64(p, (uint64_t)(v))
#define ENC(k, member, n, d)                                                  \
	if (end - p < W_##k)                                                  \
		return 0;                                                     \
	PUT_##k(p, m->member);                                                \
	p += W_##k;
#define ENC_APP(d)                                                            \
	ENC(U64, app_digest, "app_digest", "")                                \
	if (m->app_name_len == 0 || m->app_name_len > APP_NAME_MAX ||         \
	    !m->app_name || (size_t)(end - p) < 1 + m->app_name_len)          \
		return 0;                                                     \
	*p++ = (uint8_t)m->app_name_len;                                      \
	memcpy(p, m->app_name, m->app_name_len);                              \
	p += m->app_name_len;
#define ENC_TEXT(n, d)                                                        \
	if (m->text_len > UKF_WIRE_TEXT_MAX || (m->text_len && !m->text) ||   \
	    (size_t)(end - p) < 2 + m->text_len)                              \
		return 0;                                                     \
	ukf_put16(p, (uint16_t)m->text_len);                                  \
	p += 2;                                                               \
	if (m->text_len)                                                      \
		memcpy(p, m->text, m->text_len);                              \
	p += m->text_len;
#define ENC_SINCE(k, member, n, v, d) ENC(k, member, n, d)
#define ENCODER(t, FIELDS)                                                    \
	static size_t enc_##t(const struct ukf_msg *m, uint8_t *buf,          \
			      size_t cap)                                     \
	{                                                                     \
		uint8_t *p = buf, *end = buf + cap;                           \
		FIELDS(ENC, ENC_APP, ENC_TEXT, ENC_SINCE)                                \
		return (size_t)(p - buf);                                     \
	}
ENCODER(spawn, SPAWN_FIELDS)
ENCODER(clone, CLONE_FIELDS)
ENCODER(ready, READY_FIELDS)
ENCODER(exit, EXIT_FIELDS)
ENCODER(fail, FAIL_FIELDS)
ENCODER(nack, NACK_FIELDS)
ENCODER(tfetch, TFETCH_FIELDS)
ENCODER(tdata, TDATA_FIELDS)
ENCODER(msg, MSG_FIELDS)
ENCODER(kill, KILL_FIELDS)

/* The decoders: m zeroed by the caller; the errors of ukf_fields_decode. */
#define BAD(...) (snprintf(err, errlen, __VA_ARGS__), -1)
#define POS ((size_t)(p - buf))
#define ENDS_INSIDE(n)                                                        \
	BAD("%s: body ends inside field '%s' at byte %zu", what, n, POS)
#define GET_U32(p) ukf_get32(p)
#define GET_U64(p) ukf_get64(p)
#define GET_I64(p) ((int64_t)ukf_get64(p))
#define DEC(k, member, n, d)                                                  \
	if (end - p < W_##k)                                                  \
		return ENDS_INSIDE(n);                                        \
	m->member = GET_##k(p);                                             \
	p += W_##k;
#define DEC_APP(d)                                                            \
	DEC(U64, app_digest, "app_digest", "")                                \
	{                                                                     \
		size_t nl;                                                    \
		if (end - p < 1)                                              \
			return ENDS_INSIDE("app");                            \
		nl = *p;                                                      \
		if (nl == 0 || nl > APP_NAME_MAX)                             \
			return BAD("%s: field '%s': name of %zu bytes (1..%u)", \
				   what, "app", nl, (unsigned)APP_NAME_MAX);  \
		if ((size_t)(end - p) < 1 + nl)                               \
			return ENDS_INSIDE("app");                            \
		if (memchr(p + 1, 0, nl))                                     \
			return BAD("%s: field '%s': NUL in the name", what,   \
				   "app");                                    \
		m->app_name = (const char *)p + 1;                            \
		m->app_name_len = nl;                                         \
		p += 1 + nl;                                                  \
	}
#define DEC_TEXT(n, d)                                                        \
	{                                                                     \
		size_t tl;                                                    \
		if (end - p < 2)                                              \
			return ENDS_INSIDE(n);                                \
		tl = ukf_get16(p);                                            \
		if (tl > UKF_WIRE_TEXT_MAX)                                   \
			return BAD("%s: field '%s': %zu bytes over the limit %u", \
				   what, n, tl, (unsigned)UKF_WIRE_TEXT_MAX); \
		if ((size_t)(end - p) < 2 + tl)                               \
			return BAD("%s: field '%s': %zu bytes past the end of the body", \
				   what, n, tl);                              \
		m->text = tl ? (const char *)p + 2 : NULL;                    \
		m->text_len = tl;                                             \
		p += 2 + tl;                                                  \
	}
/* an older sender's body ends before the fields appended since */
#define DEC_SINCE(k, member, n, v, d)                                         \
	if (p == end)                                                         \
		return 0;                                                     \
	DEC(k, member, n, d)
#define DECODER(t, FIELDS)                                                    \
	static int dec_##t(struct ukf_msg *m, const uint8_t *buf, size_t len, \
			   int newer, char *err, size_t errlen)               \
	{                                                                     \
		const uint8_t *p = buf, *end = buf + len;                     \
		const char *what = #t;                                        \
		FIELDS(DEC, DEC_APP, DEC_TEXT, DEC_SINCE)                                \
		if (p != end && !newer)                                       \
			return BAD("%s: %zu bytes after the last field",      \
				   what, (size_t)(end - p));                  \
		return 0;                                                     \
	}
DECODER(spawn, SPAWN_FIELDS)
DECODER(clone, CLONE_FIELDS)
DECODER(ready, READY_FIELDS)
DECODER(exit, EXIT_FIELDS)
DECODER(fail, FAIL_FIELDS)
DECODER(nack, NACK_FIELDS)
DECODER(tfetch, TFETCH_FIELDS)
DECODER(tdata, TDATA_FIELDS)
DECODER(msg, MSG_FIELDS)
DECODER(kill, KILL_FIELDS)
#undef BAD

struct mtype {
	const char *name;
	int bulk;      /* carries bulk bytes beside the body */
	int needs_id;  /* id must not be 0 */
	const char *doc, *bulk_doc;
	const struct ukf_field *f;
	size_t nf;
	size_t (*enc)(const struct ukf_msg *m, uint8_t *buf, size_t cap);
	int (*dec)(struct ukf_msg *m, const uint8_t *buf, size_t len,
		   int newer, char *err, size_t errlen);
};

#define CODEC(t) f_##t, N(f_##t), enc_##t, dec_##t

static const struct mtype types[UKF_MSG_TYPE_MAX] = {
	[UKF_MSG_SPAWN] = { "spawn", 0, 1, "origin -> target: start a new instance of an app there (cold or from a template, as the target's template policy decides)", NULL, CODEC(spawn) },
	[UKF_MSG_CLONE] = { "clone", 1, 1, "parent's node -> target: a remote fork; the target builds the child from its template of the app plus the delta", "the delta: the parent's vCPU state and the pages dirtied since its template (the backend's own format)", CODEC(clone) },
	[UKF_MSG_READY] = { "ready", 0, 1, "host -> origin: the instance runs (a fork child: both sides of fork() return)", NULL, CODEC(ready) },
	[UKF_MSG_EXIT] = { "exit", 0, 1, "host -> origin: the instance exited", NULL, CODEC(exit) },
	[UKF_MSG_FAIL] = { "fail", 0, 1, "host -> origin: the instance failed (or could not start)", NULL, CODEC(fail) },
	[UKF_MSG_NACK] = { "nack", 0, 1, "target -> origin: no capacity for the request; the origin places it again later", NULL, CODEC(nack) },
	[UKF_MSG_TFETCH] = { "tfetch", 0, 0, "node -> peer: send me your template of this app", NULL, CODEC(tfetch) },
	[UKF_MSG_TDATA] = { "tdata", 1, 0, "peer -> node: the template asked for, or a refusal", "the template (the backend's own format)", CODEC(tdata) },
	[UKF_MSG_MSG] = { "msg", 1, 1, "a guest's message (ukf_send) to an instance on another node", "the payload, at most UKF_MSG_MAX bytes", CODEC(msg) },
	[UKF_MSG_KILL] = { "kill", 0, 1, "origin -> host: stop the instance (it is recorded as failed, 'killed')", NULL, CODEC(kill) },
};

static const struct mtype *mtype(unsigned t)
{
	return t < UKF_MSG_TYPE_MAX && types[t].name ? &types[t] : NULL;
}

const char *ukf_msg_name(enum ukf_msg_type t)
{
	const struct mtype *mt = mtype((unsigned)t);

	return mt ? mt->name : "?";
}

int ukf_msg_has_bulk(enum ukf_msg_type t)
{
	const struct mtype *mt = mtype((unsigned)t);

	return mt && mt->bulk;
}

size_t ukf_msg_body_size(const struct ukf_msg *m)
{
	const struct mtype *mt = m ? mtype((unsigned)m->type) : NULL;

	return mt ? ukf_fields_size(mt->f, mt->nf, m) : 0;
}

size_t ukf_msg_encode(const struct ukf_msg *m, void *buf, size_t cap)
{
	const struct mtype *mt = m ? mtype((unsigned)m->type) : NULL;

	if (!mt || !buf)
		return 0;
	return mt->enc(m, buf, cap);
}

#define BAD(...) (snprintf(err, errlen, __VA_ARGS__), -1)

int ukf_msg_decode(struct ukf_msg *m, uint16_t type, const void *buf,
		   size_t len, const void *bulk, size_t bulk_len, int newer,
		   char *err, size_t errlen)
{
	const struct mtype *mt = mtype(type);

	if (!m || (!buf && len))
		return BAD("no message");
	if (!mt)
		return BAD("unknown message type %u", type);
	if (len > UKF_WIRE_BODY_MAX)
		return BAD("%s: body of %zu bytes over the %d-byte limit",
			   mt->name, len, UKF_WIRE_BODY_MAX);
	if (bulk_len && !mt->bulk)
		return BAD("%s: carries no bulk bytes, got %zu", mt->name,
			   bulk_len);
	if (bulk_len > UKF_WIRE_BULK_MAX || (bulk_len && !bulk))
		return BAD("%s: bad bulk of %zu bytes", mt->name, bulk_len);
	memset(m, 0, sizeof(*m));
	m->type = (enum ukf_msg_type)type;
	if (mt->dec(m, buf, len, newer, err, errlen) < 0)
		return -1;
	if (mt->needs_id && m->id == 0)
		return BAD("%s without an instance id", mt->name);
	m->data = bulk_len ? bulk : NULL;
	m->data_len = bulk_len;
	return 0;
}

size_t ukf_wire_fields(enum ukf_msg_type t, struct ukf_wire_field_info *out,
		       size_t cap)
{
	const struct mtype *mt = mtype((unsigned)t);

	if (!mt)
		return 0;
	for (size_t k = 0; k < mt->nf && k < cap; k++) {
		out[k].name = mt->f[k].name;
		out[k].kind = ukf_fk_name(mt->f[k].kind);
	}
	return mt->nf;
}

const struct ukf_field *ukf_wire_table(enum ukf_msg_type t, size_t *nf)
{
	const struct mtype *mt = mtype((unsigned)t);

	if (nf)
		*nf = mt ? mt->nf : 0;
	return mt ? mt->f : NULL;
}

void ukf_wire_describe(FILE *out)
{
	for (unsigned t = 1; t < UKF_MSG_TYPE_MAX; t++) {
		const struct mtype *mt = mtype(t);

		if (!mt)
			continue;
		fprintf(out, "### %u `%s`\n\n%s.\n\n", t, mt->name, mt->doc);
		ukf_fields_describe(out, mt->f, mt->nf);
		if (mt->bulk)
			fprintf(out, "\nBulk bytes: %s.\n", mt->bulk_doc);
		fprintf(out, "\n");
	}
}
