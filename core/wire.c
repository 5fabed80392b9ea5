/* SPDX-License-Identifier: MIT */
/* wire.c - the table of engine message bodies, and the encoder, checking decoder and docs made from it. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "le.h"
#include "wire.h"

enum fkind { F_U32, F_U64, F_I64, F_APP, F_TEXT };

struct field {
	const char *name;
	enum fkind kind;
	size_t off; /* offset in struct ukf_msg */
	const char *doc;
};

struct mtype {
	const char *name;
	int bulk;      /* carries bulk bytes beside the body */
	int needs_id;  /* id must not be 0 */
	const char *doc, *bulk_doc;
	const struct field *f;
	size_t nf;
};

#define FLD(n, k, member, d) { n, k, offsetof(struct ukf_msg, member), d }
#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct field f_spawn[] = {
	FLD("id", F_U64, id, "the new instance's id (chosen by the origin)"),
	FLD("parent", F_U64, parent, "parent instance, 0 for a workload request"),
	FLD("tag", F_U64, tag, "the workload's tag, returned in its notices"),
	FLD("t_request", F_I64, t_request, "request time, ns on the origin's clock"),
	FLD("t_placed", F_I64, t_placed, "placement time, ns on the origin's clock"),
	FLD("origin", F_U32, origin, "node that placed it and hears back"),
	FLD("attempt", F_U32, attempt, "placement attempt, from 1"),
	FLD("flags", F_U32, flags, "1 notify the workload, 2 fork child"),
	FLD("app", F_APP, app_name, "the application"),
	FLD("args", F_TEXT, text, "the instance's argument string"),
};
static const struct field f_clone[] = {
	FLD("id", F_U64, id, "the child's id"),
	FLD("parent", F_U64, parent, "the forked instance"),
	FLD("tag", F_U64, tag, "the workload's tag"),
	FLD("t_request", F_I64, t_request, "fork time, ns on the origin's clock"),
	FLD("t_placed", F_I64, t_placed, "placement time, ns on the origin's clock"),
	FLD("bytes", F_U64, bytes, "the delta's size as the backend counts it (pages x 4096)"),
	FLD("origin", F_U32, origin, "the parent's node"),
	FLD("attempt", F_U32, attempt, "placement attempt, from 1"),
	FLD("flags", F_U32, flags, "1 notify the workload, 2 fork child"),
	FLD("app", F_APP, app_name, "the parent's application (its template is needed)"),
};
static const struct field f_ready[] = {
	FLD("id", F_U64, id, "the instance now running"),
	FLD("parent", F_U64, parent, "its parent, 0 if none"),
	FLD("tag", F_U64, tag, "the workload's tag"),
	FLD("node", F_U32, node, "node it runs on"),
	FLD("origin", F_U32, origin, "node the notice goes to"),
	FLD("flags", F_U32, flags, "flags of the request, | start kind << 8"),
};
static const struct field f_exit[] = {
	FLD("id", F_U64, id, "the instance that exited"),
	FLD("parent", F_U64, parent, "its parent, 0 if none"),
	FLD("tag", F_U64, tag, "the workload's tag"),
	FLD("status", F_I64, status, "its exit status"),
	FLD("node", F_U32, node, "node it ran on"),
	FLD("origin", F_U32, origin, "node the notice goes to"),
	FLD("flags", F_U32, flags, "flags of the request"),
};
static const struct field f_fail[] = {
	FLD("id", F_U64, id, "the instance (or request) that failed"),
	FLD("parent", F_U64, parent, "its parent, 0 if none"),
	FLD("tag", F_U64, tag, "the workload's tag"),
	FLD("node", F_U32, node, "node it ran on"),
	FLD("origin", F_U32, origin, "node the notice goes to"),
	FLD("flags", F_U32, flags, "flags of the request"),
	FLD("reason", F_TEXT, text, "why, in words"),
};
static const struct field f_nack[] = {
	FLD("id", F_U64, id, "the request refused"),
	FLD("origin", F_U32, origin, "the origin it goes back to"),
	FLD("app", F_APP, app_name, "its application"),
};
static const struct field f_tfetch[] = {
	FLD("origin", F_U32, origin, "node asking"),
	FLD("app", F_APP, app_name, "the application whose template is asked for"),
};
static const struct field f_tdata[] = {
	FLD("result", F_I64, result, "0: the template follows as bulk bytes; < 0: none here"),
	FLD("bytes", F_U64, bytes, "the template's size as the engine counts it"),
	FLD("origin", F_U32, origin, "node sending it"),
	FLD("app", F_APP, app_name, "its application"),
};
static const struct field f_msg[] = {
	FLD("id", F_U64, id, "the destination instance"),
	FLD("src", F_U64, src, "the sending instance"),
	FLD("origin", F_U32, origin, "the sender's node"),
};
static const struct field f_kill[] = {
	FLD("id", F_U64, id, "the instance to stop"),
	FLD("origin", F_U32, origin, "node asking"),
};

static const struct mtype types[UKF_MSG_TYPE_MAX] = {
	[UKF_MSG_SPAWN] = { "spawn", 0, 1, "origin -> target: start a new instance of an app there (cold or from a template, as the target's template policy decides)", NULL, f_spawn, N(f_spawn) },
	[UKF_MSG_CLONE] = { "clone", 1, 1, "parent's node -> target: a remote fork; the target builds the child from its template of the app plus the delta", "the delta: the parent's vCPU state and the pages dirtied since its template (the backend's own format)", f_clone, N(f_clone) },
	[UKF_MSG_READY] = { "ready", 0, 1, "host -> origin: the instance runs (a fork child: both sides of fork() return)", NULL, f_ready, N(f_ready) },
	[UKF_MSG_EXIT] = { "exit", 0, 1, "host -> origin: the instance exited", NULL, f_exit, N(f_exit) },
	[UKF_MSG_FAIL] = { "fail", 0, 1, "host -> origin: the instance failed (or could not start)", NULL, f_fail, N(f_fail) },
	[UKF_MSG_NACK] = { "nack", 0, 1, "target -> origin: no capacity for the request; the origin places it again later", NULL, f_nack, N(f_nack) },
	[UKF_MSG_TFETCH] = { "tfetch", 0, 0, "node -> peer: send me your template of this app", NULL, f_tfetch, N(f_tfetch) },
	[UKF_MSG_TDATA] = { "tdata", 1, 0, "peer -> node: the template asked for, or a refusal", "the template (the backend's own format)", f_tdata, N(f_tdata) },
	[UKF_MSG_MSG] = { "msg", 1, 1, "a guest's message (ukf_send) to an instance on another node", "the payload, at most UKF_MSG_MAX bytes", f_msg, N(f_msg) },
	[UKF_MSG_KILL] = { "kill", 0, 1, "origin -> host: stop the instance (it is recorded as failed, 'killed')", NULL, f_kill, N(f_kill) },
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

static size_t fsize(const struct field *f, const struct ukf_msg *m)
{
	switch (f->kind) {
	case F_U32:
		return 4;
	case F_U64:
	case F_I64:
		return 8;
	case F_APP:
		return 9 + m->app_name_len;
	case F_TEXT:
		return 2 + m->text_len;
	}
	return 0;
}

size_t ukf_msg_body_size(const struct ukf_msg *m)
{
	const struct mtype *mt = m ? mtype((unsigned)m->type) : NULL;
	size_t n = 0;

	if (!mt)
		return 0;
	for (size_t k = 0; k < mt->nf; k++)
		n += fsize(&mt->f[k], m);
	return n;
}

size_t ukf_msg_encode(const struct ukf_msg *m, void *buf, size_t cap)
{
	const struct mtype *mt = m ? mtype((unsigned)m->type) : NULL;
	uint8_t *p = buf;
	size_t n;

	if (!mt || m->text_len > UKF_WIRE_TEXT_MAX ||
	    (m->text_len && !m->text) ||
	    m->app_name_len >= UKF_APP_NAME_MAX ||
	    (m->app_name_len && !m->app_name))
		return 0;
	n = ukf_msg_body_size(m);
	if (!buf || cap < n)
		return 0;
	for (size_t k = 0; k < mt->nf; k++) {
		const struct field *f = &mt->f[k];
		const char *base = (const char *)m + f->off;

		switch (f->kind) {
		case F_U32:
			ukf_put32(p, *(const uint32_t *)base);
			p += 4;
			break;
		case F_U64:
		case F_I64:
			ukf_put64(p, *(const uint64_t *)base);
			p += 8;
			break;
		case F_APP:
			if (!m->app_name_len)
				return 0; /* a type that names an app needs one */
			ukf_put64(p, m->app_digest);
			p[8] = (uint8_t)m->app_name_len;
			memcpy(p + 9, m->app_name, m->app_name_len);
			p += 9 + m->app_name_len;
			break;
		case F_TEXT:
			ukf_put16(p, (uint16_t)m->text_len);
			if (m->text_len)
				memcpy(p + 2, m->text, m->text_len);
			p += 2 + m->text_len;
			break;
		}
	}
	return n;
}

#define BAD(...) (snprintf(err, errlen, __VA_ARGS__), -1)

int ukf_msg_decode(struct ukf_msg *m, uint16_t type, const void *buf,
		   size_t len, const void *bulk, size_t bulk_len, int newer,
		   char *err, size_t errlen)
{
	const struct mtype *mt = mtype(type);
	const uint8_t *p = buf, *end;

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
	end = p + len;
	for (size_t k = 0; k < mt->nf; k++) {
		const struct field *f = &mt->f[k];
		char *base = (char *)m + f->off;
		size_t at = (size_t)(p - (const uint8_t *)buf), need;

		switch (f->kind) {
		case F_U32:
			need = 4;
			break;
		case F_U64:
		case F_I64:
			need = 8;
			break;
		case F_APP:
			need = 9;
			break;
		default:
			need = 2;
			break;
		}
		if ((size_t)(end - p) < need)
			return BAD("%s: body ends inside field '%s' at byte %zu",
				   mt->name, f->name, at);
		switch (f->kind) {
		case F_U32:
			*(uint32_t *)base = ukf_get32(p);
			p += 4;
			break;
		case F_U64:
		case F_I64:
			*(uint64_t *)base = ukf_get64(p);
			p += 8;
			break;
		case F_APP: {
			size_t nl = p[8];

			if (nl == 0 || nl >= UKF_APP_NAME_MAX)
				return BAD("%s: field '%s': name of %zu bytes (1..%d)",
					   mt->name, f->name, nl,
					   UKF_APP_NAME_MAX - 1);
			if ((size_t)(end - p) < 9 + nl)
				return BAD("%s: body ends inside field '%s' at byte %zu",
					   mt->name, f->name, at);
			if (memchr(p + 9, 0, nl))
				return BAD("%s: field '%s': NUL in the name",
					   mt->name, f->name);
			m->app_digest = ukf_get64(p);
			m->app_name = (const char *)p + 9;
			m->app_name_len = nl;
			p += 9 + nl;
			break;
		}
		case F_TEXT: {
			size_t tl = ukf_get16(p);

			if (tl > UKF_WIRE_TEXT_MAX)
				return BAD("%s: field '%s': %zu bytes over the limit %d",
					   mt->name, f->name, tl,
					   UKF_WIRE_TEXT_MAX);
			if ((size_t)(end - p) < 2 + tl)
				return BAD("%s: field '%s': %zu bytes past the end of the body",
					   mt->name, f->name, tl);
			m->text = tl ? (const char *)p + 2 : NULL;
			m->text_len = tl;
			p += 2 + tl;
			break;
		}
		}
	}
	if (p != end && !newer)
		return BAD("%s: %zu bytes after the last field", mt->name,
			   (size_t)(end - p));
	if (mt->needs_id && m->id == 0)
		return BAD("%s without an instance id", mt->name);
	m->data = bulk_len ? bulk : NULL;
	m->data_len = bulk_len;
	return 0;
}

static const char *kname(enum fkind k)
{
	switch (k) {
	case F_U32:
		return "u32";
	case F_U64:
		return "u64";
	case F_I64:
		return "i64";
	case F_APP:
		return "app";
	case F_TEXT:
		return "text";
	}
	return "?";
}

size_t ukf_wire_fields(enum ukf_msg_type t, struct ukf_wire_field_info *out,
		       size_t cap)
{
	const struct mtype *mt = mtype((unsigned)t);

	if (!mt)
		return 0;
	for (size_t k = 0; k < mt->nf && k < cap; k++) {
		out[k].name = mt->f[k].name;
		out[k].kind = kname(mt->f[k].kind);
	}
	return mt->nf;
}

void ukf_wire_describe(FILE *out)
{
	for (unsigned t = 1; t < UKF_MSG_TYPE_MAX; t++) {
		const struct mtype *mt = mtype(t);

		if (!mt)
			continue;
		fprintf(out, "### %u `%s`\n\n%s.\n\n", t, mt->name, mt->doc);
		fprintf(out, "| field | type | meaning |\n| --- | --- | --- |\n");
		for (size_t k = 0; k < mt->nf; k++)
			fprintf(out, "| `%s` | %s | %s |\n", mt->f[k].name,
				kname(mt->f[k].kind), mt->f[k].doc);
		if (mt->bulk)
			fprintf(out, "\nBulk bytes: %s.\n", mt->bulk_doc);
		fprintf(out, "\n");
	}
}
