/* SPDX-License-Identifier: MIT */
/* cmsg.h - the client protocol: what `ukfork run/exec --cluster` and the node agents say to each other (types 128..191). */
#ifndef UKF_CMSG_H
#define UKF_CMSG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/frame.h"

/*
 * A client (the scenario runner, `ukfork exec`, `ukfork agent status`)
 * drives the agents of a cluster through these messages; every body is
 * declared once in cmsg.c's table (core/codec.h). One run at a time: the
 * client starts it on every agent (RUN, APP..., START), sends the
 * workload (SPAWN, FORK, KILL, each answered by ANSWER), hears what
 * happens (READY, EXIT, FAIL, CONSOLE, LOG, RECORD, SAMPLE, STATE) and
 * ends it (END, answered by ENDED once the agent's rows are all sent).
 * STATUS_REQ / STATUS work outside runs too. Every run message carries the
 * run's id; an agent drops those of another run.
 */
enum ukf_cmsg_type {
	UKF_C_RUN = 128,	/* client -> agent: a run begins (settings) */
	UKF_C_APP = 129,	/* client -> agent: register an app (in order) */
	UKF_C_START = 130,	/* client -> agent: start the node's engine */
	UKF_C_SPAWN = 131,	/* client -> agent: a workload spawn there */
	UKF_C_FORK = 132,	/* client -> agent: fork(id) if it hosts id */
	UKF_C_KILL = 133,	/* client -> agent: kill(id) if it has id */
	UKF_C_ANSWER = 134,	/* agent -> client: the outcome of one request */
	UKF_C_READY = 135,	/* agent -> client: a workload instance runs */
	UKF_C_EXIT = 136,	/* agent -> client: it exited */
	UKF_C_FAIL = 137,	/* agent -> client: it failed (or never ran) */
	UKF_C_CONSOLE = 138,	/* agent -> client: a console line */
	UKF_C_LOG = 139,	/* agent -> client: an event-log line */
	UKF_C_RECORD = 140,	/* agent -> client: a finished instance's row */
	UKF_C_SAMPLE = 141,	/* agent -> client: the node's state */
	UKF_C_STATE = 142,	/* agent -> client: busy or idle now */
	UKF_C_END = 143,	/* client -> agent: the run is over */
	UKF_C_ENDED = 144,	/* agent -> client: every row sent, run closed */
	UKF_C_STATUS_REQ = 145, /* client -> agent: how are you */
	UKF_C_STATUS = 146,	/* agent -> client: its state */
	UKF_C_TYPE_END = 147
};

/*
 * One struct for every client message; each type uses the fields its row
 * names (the others are 0). Strings point into the decoded body.
 */
struct ukf_cmsg {
	enum ukf_cmsg_type type;
	uint64_t run;	 /* the run's id */
	uint64_t req;	 /* a request's number (ANSWER says which) */
	uint64_t id;	 /* an instance */
	uint64_t parent; /* RECORD: its parent */
	uint64_t tag;	 /* the workload's tag */
	int64_t rc;	 /* ANSWER: 0 or -errno */
	int64_t status;	 /* EXIT, RECORD: exit status */
	int64_t t;	 /* LOG, SAMPLE: world time */
	/* RUN settings */
	int64_t epoch_ns;	 /* world time 0 as CLOCK_REALTIME */
	int64_t retry_ns, answer_timeout_ns, run_limit_ns, sample_every_ns;
	uint32_t nodes, fetch, prewarm_k, max_children, max_queue,
		max_retries;
	uint8_t trace; /* RUN: send LOG lines */
	/* RECORD fields (core/engine.h struct ukf_record) */
	uint32_t app, origin, node, start;
	uint8_t remote, template_fetched, template_made, template_boot;
	uint64_t delta_bytes, dirty_pages;
	int64_t t_request, t_placed, t_start, t_ready, t_exit;
	/* SAMPLE / STATE / STATUS (struct ukf_node_stats and more) */
	uint32_t instances, vcpus_used, vcpus, templates;
	uint64_t mem_used, mem, cache_used, cache, requests, cold,
		template_clones, forks, remote_in, fetches, evictions,
		rejects, alive, pending, events, incarnation;
	/* strings: name is an app name; text, text2 free text */
	const char *name;
	size_t name_len;
	const char *text; /* APP args, SPAWN args, FAIL/RECORD reason,
			     CONSOLE/LOG line, RUN placement, STATUS peers */
	size_t text_len;
	const char *text2; /* APP image, RUN templates, SAMPLE templates,
			      STATUS backend */
	size_t text2_len;
	const char *text3; /* RUN template dir, STATUS templates */
	size_t text3_len;
	const char *text4; /* STATUS directory */
	size_t text4_len;
};

#define UKF_CMSG_TEXT_MAX 8192 /* a console or log line, a reason */
#define UKF_CMSG_BODY_MAX 32768

struct ukf_node_stats;
/* The node statistics fields of SAMPLE and STATUS, from and to the
 * engine's struct (core/engine.h). */
void ukf_cmsg_set_stats(struct ukf_cmsg *m, const struct ukf_node_stats *s);
void ukf_cmsg_get_stats(const struct ukf_cmsg *m, struct ukf_node_stats *s);

/* "spawn", ..., "?" for another type. */
const char *ukf_cmsg_name(unsigned type);

/* Encode m's body into buf: bytes written, 0 if invalid or cap small. */
size_t ukf_cmsg_encode(const struct ukf_cmsg *m, void *buf, size_t cap);

/* Decode the body of a message of `type` (newer: the sender's version is
 * newer, appended fields ignored). 0, or -1 with the reason in err. */
int ukf_cmsg_decode(struct ukf_cmsg *m, uint16_t type, const void *buf,
		    size_t len, int newer, char *err, size_t errlen);

/* The table as Markdown, for docs/protocol.md. */
void ukf_cmsg_describe(FILE *out);

#endif /* UKF_CMSG_H */
