/* SPDX-License-Identifier: MIT */
/* wire.c - the table of engine message bodies, and the encoder, checking decoder and docs made from it. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "wire.h"

struct mtype {
	const char *name;
	int bulk;      /* carries bulk bytes beside the body */
	int needs_id;  /* id must not be 0 */
	const char *doc, *bulk_doc;
	const struct ukf_field *f;
	size_t nf;
};

#define F_U32 UKF_FK_U32
#define F_U64 UKF_FK_U64
#define F_I64 UKF_FK_I64
#define FLD(n, k, member, d) UKF_FIELD(n, k, struct ukf_msg, member, d)
/* an app: its digest, then its name */
#define APPF(d)                                                               \
	FLD("app_digest", F_U64, app_digest,                                  \
	    "digest of what the app runs (0: unknown)"),                      \
	    UKF_FIELD_STR("app", UKF_FK_NAME, struct ukf_msg, app_name,       \
			  app_name_len, UKF_APP_NAME_MAX - 1, d)
#define TEXTF(n, d)                                                           \
	UKF_FIELD_STR(n, UKF_FK_TEXT, struct ukf_msg, text, text_len,         \
		      UKF_WIRE_TEXT_MAX, d)
#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct ukf_field f_spawn[] = {
	FLD("id", F_U64, id, "the new instance's id (chosen by the origin)"),
	FLD("parent", F_U64, parent, "parent instance, 0 for a workload request"),
	FLD("tag", F_U64, tag, "the workload's tag, returned in its notices"),
	FLD("t_request", F_I64, t_request, "request time, ns on the origin's clock"),
	FLD("t_placed", F_I64, t_placed, "placement time, ns on the origin's clock"),
	FLD("origin", F_U32, origin, "node that placed it and hears back"),
	FLD("attempt", F_U32, attempt, "placement attempt, from 1"),
	FLD("flags", F_U32, flags, "1 notify the workload, 2 fork child"),
	APPF("the application"),
	TEXTF("args", "the instance's argument string"),
};
static const struct ukf_field f_clone[] = {
	FLD("id", F_U64, id, "the child's id"),
	FLD("parent", F_U64, parent, "the forked instance"),
	FLD("tag", F_U64, tag, "the workload's tag"),
	FLD("t_request", F_I64, t_request, "fork time, ns on the origin's clock"),
	FLD("t_placed", F_I64, t_placed, "placement time, ns on the origin's clock"),
	FLD("bytes", F_U64, bytes, "the delta's size as the backend counts it (pages x 4096)"),
	FLD("origin", F_U32, origin, "the parent's node"),
	FLD("attempt", F_U32, attempt, "placement attempt, from 1"),
	FLD("flags", F_U32, flags, "1 notify the workload, 2 fork child"),
	APPF("the parent's application (its template is needed)"),
};
static const struct ukf_field f_ready[] = {
	FLD("id", F_U64, id, "the instance now running"),
	FLD("parent", F_U64, parent, "its parent, 0 if none"),
	FLD("tag", F_U64, tag, "the workload's tag"),
	FLD("node", F_U32, node, "node it runs on"),
	FLD("origin", F_U32, origin, "node the notice goes to"),
	FLD("flags", F_U32, flags, "flags of the request, | start kind << 8"),
};
static const struct ukf_field f_exit[] = {
	FLD("id", F_U64, id, "the instance that exited"),
	FLD("parent", F_U64, parent, "its parent, 0 if none"),
	FLD("tag", F_U64, tag, "the workload's tag"),
	FLD("status", F_I64, status, "its exit status"),
	FLD("node", F_U32, node, "node it ran on"),
	FLD("origin", F_U32, origin, "node the notice goes to"),
	FLD("flags", F_U32, flags, "flags of the request"),
};
static const struct ukf_field f_fail[] = {
	FLD("id", F_U64, id, "the instance (or request) that failed"),
	FLD("parent", F_U64, parent, "its parent, 0 if none"),
	FLD("tag", F_U64, tag, "the workload's tag"),
	FLD("node", F_U32, node, "node it ran on"),
	FLD("origin", F_U32, origin, "node the notice goes to"),
	FLD("flags", F_U32, flags, "flags of the request"),
	TEXTF("reason", "why, in words"),
};
static const struct ukf_field f_nack[] = {
	FLD("id", F_U64, id, "the request refused"),
	FLD("origin", F_U32, origin, "the origin it goes back to"),
	APPF("its application"),
};
static const struct ukf_field f_tfetch[] = {
	FLD("origin", F_U32, origin, "node asking"),
	APPF("the application whose template is asked for"),
};
static const struct ukf_field f_tdata[] = {
	FLD("result", F_I64, result, "0: the template follows as bulk bytes; < 0: none here"),
	FLD("bytes", F_U64, bytes, "the template's size as the engine counts it"),
	FLD("origin", F_U32, origin, "node sending it"),
	APPF("its application"),
};
static const struct ukf_field f_msg[] = {
	FLD("id", F_U64, id, "the destination instance"),
	FLD("src", F_U64, src, "the sending instance"),
	FLD("origin", F_U32, origin, "the sender's node"),
};
static const struct ukf_field f_kill[] = {
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

size_t ukf_msg_body_size(const struct ukf_msg *m)
{
	const struct mtype *mt = m ? mtype((unsigned)m->type) : NULL;

	return mt ? ukf_fields_size(mt->f, mt->nf, m) : 0;
}

size_t ukf_msg_encode(const struct ukf_msg *m, void *buf, size_t cap)
{
	const struct mtype *mt = m ? mtype((unsigned)m->type) : NULL;

	if (!mt)
		return 0;
	return ukf_fields_encode(mt->f, mt->nf, m, buf, cap);
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
	if (ukf_fields_decode(mt->f, mt->nf, m, buf, len, newer, mt->name, err,
			      errlen) < 0)
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
