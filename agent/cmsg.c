/* SPDX-License-Identifier: MIT */
/* cmsg.c - the client protocol's table of message bodies, and its codec (core/codec.c). */
#include <string.h>

#include "agent/cmsg.h"
#include "core/codec.h"
#include "core/engine.h"
#include "core/ukf.h"

#define U8 UKF_FK_U8
#define U32 UKF_FK_U32
#define U64 UKF_FK_U64
#define I64 UKF_FK_I64
#define F(n, k, m, d) UKF_FIELD(n, k, struct ukf_cmsg, m, d)
#define NAME(d)                                                               \
	UKF_FIELD_STR("app", UKF_FK_NAME, struct ukf_cmsg, name, name_len,    \
		      UKF_APP_NAME_MAX - 1, d)
#define TEXT(n, d)                                                            \
	UKF_FIELD_STR(n, UKF_FK_TEXT, struct ukf_cmsg, text, text_len,        \
		      UKF_CMSG_TEXT_MAX, d)
#define TEXT2(n, d)                                                           \
	UKF_FIELD_STR(n, UKF_FK_TEXT, struct ukf_cmsg, text2, text2_len,      \
		      UKF_CMSG_TEXT_MAX, d)
#define TEXT3(n, d)                                                           \
	UKF_FIELD_STR(n, UKF_FK_TEXT, struct ukf_cmsg, text3, text3_len,      \
		      UKF_CMSG_TEXT_MAX, d)
#define TEXT4(n, d)                                                           \
	UKF_FIELD_STR(n, UKF_FK_TEXT, struct ukf_cmsg, text4, text4_len,      \
		      UKF_CMSG_TEXT_MAX, d)
#define RUN F("run", U64, run, "the run's id")
#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct ukf_field f_run[] = {
	RUN,
	F("req", U64, req, "the request's number, for its ANSWER"),
	F("epoch_ns", I64, epoch_ns, "world time 0, as CLOCK_REALTIME ns"),
	F("nodes", U32, nodes, "nodes in the cluster (must match the agent's cluster file)"),
	F("fetch", U32, fetch, "0 fetch templates from peers, 1 boot them cold"),
	F("prewarm_k", U32, prewarm_k, "prewarm: templates of the top K apps"),
	F("max_children", U32, max_children, "children per instance"),
	F("max_queue", U32, max_queue, "messages queued per instance"),
	F("max_retries", U32, max_retries, "placement attempts after the first"),
	F("retry_ns", I64, retry_ns, "first back-off when no node has room"),
	F("answer_timeout_ns", I64, answer_timeout_ns, "how long an origin waits for a target's answer"),
	F("run_limit_ns", I64, run_limit_ns, "guest running time limit (0 none)"),
	F("sample_every_ns", I64, sample_every_ns, "node samples period (0 none)"),
	F("trace", U8, trace, "1: send the event log (LOG)"),
	TEXT("placement", "placement policy name"),
	TEXT2("templates", "template policy name"),
	TEXT3("template_dir", "templates on disk at the agent ('' none)"),
};
static const struct ukf_field f_app[] = {
	RUN,
	NAME("its name; apps are registered in the same order everywhere"),
	TEXT("args", "its key=value description"),
	TEXT2("image", "its guest image path ('' the agent's own default)"),
};
static const struct ukf_field f_start[] = {
	RUN,
	F("req", U64, req, "the request's number, for its ANSWER"),
};
static const struct ukf_field f_spawn[] = {
	RUN,
	F("req", U64, req, "the request's number, for its ANSWER"),
	F("tag", U64, tag, "the workload's tag"),
	F("app", U32, app, "the app, by its registration index"),
	TEXT("args", "the instance's argument string"),
};
static const struct ukf_field f_fork[] = {
	RUN,
	F("req", U64, req, "the request's number"),
	F("id", U64, id, "the instance to fork"),
	F("tag", U64, tag, "the workload's tag"),
};
static const struct ukf_field f_kill[] = {
	RUN,
	F("req", U64, req, "the request's number"),
	F("id", U64, id, "the instance or request to stop"),
};
static const struct ukf_field f_answer[] = {
	RUN,
	F("req", U64, req, "which request"),
	F("rc", I64, rc, "0, or -errno (-ESRCH: not here)"),
	F("id", U64, id, "the new instance's id"),
	TEXT("reason", "why it was refused ('' if not)"),
};
static const struct ukf_field f_ready[] = {
	RUN,
	F("id", U64, id, "the instance"),
	F("tag", U64, tag, "its tag"),
};
static const struct ukf_field f_exit[] = {
	RUN,
	F("id", U64, id, "the instance"),
	F("tag", U64, tag, "its tag"),
	F("status", I64, status, "exit status"),
};
static const struct ukf_field f_fail[] = {
	RUN,
	F("id", U64, id, "the instance"),
	F("tag", U64, tag, "its tag"),
	TEXT("reason", "why"),
};
static const struct ukf_field f_console[] = {
	RUN,
	F("id", U64, id, "the instance"),
	TEXT("line", "one line of its console (no newline)"),
};
static const struct ukf_field f_log[] = {
	RUN,
	F("t", I64, t, "world time"),
	F("node", U32, node, "the node that logged"),
	TEXT("line", "an event-log line"),
};
static const struct ukf_field f_record[] = {
	RUN,
	F("id", U64, id, "the instance"),
	F("parent", U64, parent, "its parent (0: workload)"),
	F("app", U32, app, "app index"),
	F("origin", U32, origin, "node that handled the request"),
	F("node", U32, node, "node it ran on (0xffffffff: none)"),
	F("start", U32, start, "0 cold, 1 template, 2 fork, 3 unknown"),
	F("remote", U8, remote, "1 if node != origin"),
	F("template_fetched", U8, template_fetched, "a template was fetched for it"),
	F("template_made", U8, template_made, "a template was taken at its ready()"),
	F("delta_bytes", U64, delta_bytes, "remote fork: bytes shipped"),
	F("dirty_pages", U64, dirty_pages, "pages dirtied since its template"),
	F("t_request", I64, t_request, "request time"),
	F("t_placed", I64, t_placed, "placement time"),
	F("t_start", I64, t_start, "start on the target"),
	F("t_ready", I64, t_ready, "ready"),
	F("t_exit", I64, t_exit, "exit or failure"),
	F("status", I64, status, "exit status, -1000 failed, -1001 running"),
	TEXT("reason", "why it failed ('' if not)"),
	F("template_boot", U8, template_boot,
	  "1: the engine's own boot of a template (a template_boots row, not a request)"),
};
#define STATS                                                                 \
	F("instances", U32, instances, "alive on the node"),                  \
	    F("vcpus_used", U32, vcpus_used, "vCPUs in use"),                 \
	    F("vcpus", U32, vcpus, "vCPUs"),                                  \
	    F("templates", U32, templates, "templates cached"),               \
	    F("mem_used", U64, mem_used, "memory in use"),                    \
	    F("mem", U64, mem, "memory"),                                     \
	    F("cache_used", U64, cache_used, "template cache in use"),        \
	    F("cache", U64, cache, "template cache budget"),                  \
	    F("requests", U64, requests, "requests served"),                  \
	    F("cold", U64, cold, "cold boots"),                               \
	    F("template_clones", U64, template_clones, "template clones"),    \
	    F("forks", U64, forks, "forks"),                                  \
	    F("remote_in", U64, remote_in, "instances started for others"),   \
	    F("fetches", U64, fetches, "templates fetched"),                  \
	    F("evictions", U64, evictions, "templates evicted"),              \
	    F("rejects", U64, rejects, "requests refused (no room)")
static const struct ukf_field f_sample[] = {
	RUN,
	F("t", I64, t, "world time"),
	F("node", U32, node, "the node"),
	STATS,
	TEXT2("templates_list", "its templates, comma-separated app names"),
};
static const struct ukf_field f_state[] = {
	RUN,
	F("node", U32, node, "the node"),
	F("alive", U64, alive, "instances alive there"),
	F("pending", U64, pending, "requests it originated, not yet running"),
	F("events", U64, events, "events handled"),
};
static const struct ukf_field f_end[] = { RUN };
static const struct ukf_field f_ended[] = {
	RUN,
	F("events", U64, events, "events the node handled in the run"),
};
static const struct ukf_field f_status_req[] = {
	F("req", U64, req, "echoed in the answer"),
};
static const struct ukf_field f_status[] = {
	F("req", U64, req, "the request's number"),
	F("node", U32, node, "the node"),
	F("incarnation", U64, incarnation, "the agent's incarnation"),
	F("run", U64, run, "the run in progress, 0 if none"),
	F("alive", U64, alive, "instances alive"),
	F("pending", U64, pending, "requests pending"),
	F("events", U64, events, "events handled in the run"),
	STATS,
	TEXT("peers", "peers, e.g. '1 up, 2 down (3 s)'"),
	TEXT2("backend", "the backend and what it runs on"),
	TEXT3("templates_list", "templates held, comma-separated"),
	TEXT4("directory", "the directory: embedded, or etcd and its state (ok, DEGRADED, STALE)"),
};

struct ctype {
	const char *name, *doc;
	const struct ukf_field *f;
	size_t nf;
};

#define T(n, d, tab) { n, d, tab, N(tab) }
static const struct ctype types[UKF_C_TYPE_END - UKF_C_RUN] = {
	T("run", "client -> agent: a run begins, with its settings; the agent makes a fresh node world for it", f_run),
	T("app", "client -> agent: register an app; every agent gets the same apps in the same order", f_app),
	T("start", "client -> agent: start the node's engine (after the apps)", f_start),
	T("spawn", "client -> agent: a workload spawn with this node as origin; answered by ANSWER with the id", f_spawn),
	T("fork", "client -> agent: fork(id) of a running instance, if this node hosts it (ANSWER rc -ESRCH if not)", f_fork),
	T("kill", "client -> agent: kill(id), if this node hosts it or holds its request (-ESRCH if not)", f_kill),
	T("answer", "agent -> client: the outcome of a RUN, START, SPAWN, FORK or KILL", f_answer),
	T("ready", "agent -> client: a workload instance (spawned or forked from this origin) runs", f_ready),
	T("exit", "agent -> client: a workload instance exited", f_exit),
	T("fail", "agent -> client: a workload instance failed, or its request did", f_fail),
	T("console", "agent -> client: a line of an instance's console", f_console),
	T("log", "agent -> client: a line of the node's event log (with RUN trace = 1), sent when the agent is idle or before its next other message to the client", f_log),
	T("record", "agent -> client: a finished instance's row (the results database's instances table, or template_boots for the engine's own template boots)", f_record),
	T("sample", "agent -> client: the node's state, every sample_every_ns", f_sample),
	T("state", "agent -> client: the node went busy or idle (alive instances and pending requests)", f_state),
	T("end", "client -> agent: the run is over; what is still alive is stopped and recorded", f_end),
	T("ended", "agent -> client: every row of the run was sent; the node's world is gone", f_ended),
	T("status_req", "client -> agent: report your state (any time)", f_status_req),
	T("status", "agent -> client: the agent's state", f_status),
};

static const struct ctype *ctype(unsigned t)
{
	return t >= UKF_C_RUN && t < UKF_C_TYPE_END ? &types[t - UKF_C_RUN]
						    : NULL;
}

const char *ukf_cmsg_name(unsigned type)
{
	const struct ctype *c = ctype(type);

	return c ? c->name : "?";
}

size_t ukf_cmsg_encode(const struct ukf_cmsg *m, void *buf, size_t cap)
{
	const struct ctype *c = m ? ctype(m->type) : NULL;

	return c ? ukf_fields_encode(c->f, c->nf, m, buf, cap) : 0;
}

int ukf_cmsg_decode(struct ukf_cmsg *m, uint16_t type, const void *buf,
		    size_t len, int newer, char *err, size_t errlen)
{
	const struct ctype *c = ctype(type);

	if (!m || !c) {
		snprintf(err, errlen, "unknown client message type %u", type);
		return -1;
	}
	if (len > UKF_CMSG_BODY_MAX) {
		snprintf(err, errlen, "%s: body of %zu bytes over the limit",
			 c->name, len);
		return -1;
	}
	memset(m, 0, sizeof(*m));
	m->type = (enum ukf_cmsg_type)type;
	return ukf_fields_decode(c->f, c->nf, m, buf, len, newer, c->name, err,
				 errlen);
}

void ukf_cmsg_describe(FILE *out)
{
	for (unsigned t = UKF_C_RUN; t < UKF_C_TYPE_END; t++) {
		const struct ctype *c = ctype(t);

		fprintf(out, "### %u `%s`\n\n%s.\n\n", t, c->name, c->doc);
		ukf_fields_describe(out, c->f, c->nf);
		fprintf(out, "\n");
	}
}

/* The fields both structs name alike, in one list. */
#define STAT_FIELDS(X)                                                        \
	X(instances) X(vcpus_used) X(vcpus) X(templates) X(mem_used) X(mem)  \
	X(cache_used) X(cache) X(requests) X(cold) X(template_clones)        \
	X(forks) X(remote_in) X(fetches) X(evictions) X(rejects)

void ukf_cmsg_set_stats(struct ukf_cmsg *m, const struct ukf_node_stats *s)
{
#define TO_M(f) m->f = s->f;
	STAT_FIELDS(TO_M)
#undef TO_M
}

void ukf_cmsg_get_stats(const struct ukf_cmsg *m, struct ukf_node_stats *s)
{
#define TO_S(f) s->f = m->f;
	STAT_FIELDS(TO_S)
#undef TO_S
}
