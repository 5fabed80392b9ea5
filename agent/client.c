/* SPDX-License-Identifier: MIT */
/* client.c - the cluster world: the node agents of a cluster file behind the world ops, for the scenario runner and `ukfork exec`. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/client.h"
#include "agent/cluster.h"
#include "agent/cmsg.h"
#include "agent/transport.h"
#include "core/apps.h"
#include "core/engine.h"
#include "core/ukf.h"
#include "include/ukf_abi.h"

/* A message from an agent kept until run() hands it on, or a failure the
 * client makes of a request (rq: its index + 1, m a FAIL). */
struct qmsg {
	struct qmsg *next;
	uint32_t from;
	uint32_t rq;	/* 0: from the agent */
	uint64_t nsent; /* requests sent to `from` when it arrived */
	struct ukf_cmsg m; /* strings point into buf */
	char buf[];
};

/*
 * A spawn or fork this client sent. The caller gets the request's client
 * id at once (CID_BIT set: an agent's own ids count from below 2^16 and
 * never reach it); the agent's id for it comes with its ANSWER, and every
 * message naming that id is handed on with the client id instead.
 */
#define CID_BIT 0x80000000ULL
enum rq_state {
	RQ_SENT,   /* no answer yet (in c->open) */
	RQ_OK,	   /* answered: aid is the agent's id */
	RQ_FAILED, /* refused, or not answered in time: its row made here */
	RQ_LATE,   /* answered after it failed here (or its agent lost while
		    * it ran): what the agent says of it is not handed on */
	RQ_LOST,   /* its agent was lost before it answered */
	RQ_FREE,   /* a slot for the next request */
};

struct rq {
	ukf_id_t cid;	  /* the id the caller has */
	ukf_id_t aid;	  /* the agent's (0 until answered) */
	ukf_id_t parent;  /* fork: the parent as the caller named it */
	uint64_t req;	  /* its number on the wire */
	uint64_t tag;
	uint64_t nseq;	  /* its number among those sent to its node */
	int64_t deadline; /* CLOCK_REALTIME: unanswered by then, it fails */
	ukf_ns_t t_request;
	uint32_t app, node; /* app UINT32_MAX: a fork of a parent not ours */
	uint8_t is_fork, state, ready, ended, row, kill;
	uint8_t endmsg; /* its EXIT or FAIL came (ended: or its row) */
	uint8_t gotrow; /* its agent's row came (row: or one made here) */
	int64_t rowstatus; /* that row's status */
	uint8_t in_late; /* in c->late: an answer past its deadline may come */
	uint8_t bylost;	 /* failed here: its agent was lost */
	/* not sent yet (the link to its agent down: a SIGKILLed agent not
	 * declared lost yet): its body, sent from run() in order */
	unsigned char *wire;
	uint32_t wirelen;
};

/* Instances whose request was let go (slot reused): the parent of a row
 * that comes later (a guest's fork outliving it) is still renamed, for
 * the last ENDED_KEEP of them. */
#define ENDED_KEEP 1024

struct timer {
	ukf_ns_t t;
	uint64_t seq;
	ukf_world_fn fn;
	void *arg;
	uint64_t x;
};

struct agent_view {
	int up;
	int busy;	/* as last told (or assumed after a request) */
	uint64_t alive; /* from its last STATE */
	int ended;	/* ENDED received */
	int started;
	int lost;	/* lost or restarted during the run */
	int said_back;	/* its run messages after that: ignored, said once */
	ukf_ns_t lost_at; /* world time of that */
	uint64_t incarnation;
	uint64_t events;
	uint64_t nsent; /* spawns and forks sent to it */
	/* node_stats/node_templates: its state as last told (a STATUS
	 * answer or a SAMPLE), and the STATUS_REQ on its way (0: none) */
	struct ukf_node_stats st;
	char *tmpl;
	uint64_t st_req, st_seen; /* st_seen: the last STATUS's req */
	int64_t st_deadline;
};


struct cworld {
	struct ukf_cluster *cl;
	ukf_tp_t *tp;
	uint32_t nodes;
	struct agent_view *ag;
	struct ukf_world_sinks sinks;
	void (*sample)(void *u, const struct ukf_world_sample *s);
	struct ukf_cluster_world_config cfg;
	ukf_apps_t *apps;
	uint64_t run;
	int64_t epoch_ns;
	uint64_t next_req;
	/* the request being waited for */
	uint64_t wait_req;
	int wait_done;
	int64_t wait_rc;
	uint64_t wait_id;
	uint32_t wait_node;
	char wait_why[512]; /* the ANSWER's reason */
	struct ukf_cmsg *wait_status; /* STATUS answer wanted (copied) */
	char *status_buf;
	size_t status_cap;
	/* what arrived and is not handed on yet */
	struct qmsg *qhead, **qtail;
	/* world callbacks */
	struct timer *tm;
	size_t ntm, captm;
	uint64_t tseq;
	uint64_t events;
	ukf_ns_t last_activity; /* world time of the last message or event */
	char lost[1024];	/* an agent lost during the run */
	char lost_why[96];
	uint64_t ignored; /* run messages of agents back after their loss */
	/* the spawns and forks of the run still needed (a slot is let go,
	 * and reused, once its instance has ended and its row and end came,
	 * or its failure was handed on), the client's and the agents' ids
	 * of them (hashes, open addressing: key 0 free), those not answered
	 * yet and those that failed here for want of an answer (a late
	 * answer's instance is stopped) */
	struct rq *rq;
	size_t nrq, caprq; /* slots used so far (in use or free) */
	uint64_t ncid;	   /* client ids given */
	struct idmap { struct idslot { uint64_t key; uint32_t rq; } *s;
		       size_t n, cap; } ids, cids;
	uint32_t *open, *late, *freed, *unsent; /* unsent: in order */
	size_t nopen, capopen, nlate, caplate, nfreed, capfreed, nunsent,
		capunsent;
	uint64_t *tokill; /* agents' ids */
	size_t ntokill, captokill;
	struct { ukf_id_t aid, cid; } ended[ENDED_KEEP];
	size_t nended;
	uint8_t *held; /* drain(): a message of that node kept back */
};

static const struct ukf_world_ops cluster_ops;

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static ukf_ns_t c_now(void *w)
{
	struct cworld *c = w;

	return realtime_ns() - c->epoch_ns;
}

void ukf_cluster_world_config_default(struct ukf_cluster_world_config *c)
{
	memset(c, 0, sizeof(*c));
	ukf_engine_config_default(&c->engine);
	c->client = "runner";
	c->connect_timeout_ns = 10 * UKF_S;
}

/* ---- messages in ---- */

static size_t str_cp(char *dst, const char *s, size_t n)
{
	if (n)
		memcpy(dst, s, n);
	dst[n] = 0;
	return n + 1;
}

/* Queue a copy of m for run() to hand on; NULL if out of memory (then it
 * is lost: a line, or a row missing, but the run goes on). */
static struct qmsg *enqueue(struct cworld *c, uint32_t from,
			    const struct ukf_cmsg *m)
{
	size_t need = m->name_len + m->text_len + m->text2_len +
		      m->text3_len + m->text4_len + 5;
	struct qmsg *q = malloc(sizeof(*q) + need);
	char *p;

	if (!q)
		return NULL;
	q->next = NULL;
	q->from = from;
	q->rq = 0;
	q->nsent = from < c->nodes ? c->ag[from].nsent : 0;
	q->m = *m;
	p = q->buf;
	q->m.name = p;
	p += str_cp(p, m->name, m->name_len);
	q->m.text = p;
	p += str_cp(p, m->text, m->text_len);
	q->m.text2 = p;
	p += str_cp(p, m->text2, m->text2_len);
	q->m.text3 = p;
	p += str_cp(p, m->text3, m->text3_len);
	q->m.text4 = p;
	str_cp(p, m->text4, m->text4_len);
	*c->qtail = q;
	c->qtail = &q->next;
	return q;
}

static void answered(struct cworld *c, uint32_t from,
		     const struct ukf_cmsg *m);
static void rq_agent_lost(struct cworld *c, uint32_t node);
static void status_ask(struct cworld *c, uint32_t node);
static int node_unsent(const struct cworld *c, uint32_t node);
static void unsent_drop(struct cworld *c, uint32_t k);
static void open_del(struct cworld *c, size_t i);
static void rq_node_lost(struct cworld *c, uint32_t node);
static const char *lost_why(struct cworld *c, uint32_t node);

/* What node_stats and node_templates answer: the agent's state as its
 * last STATUS or SAMPLE told it (messages of one agent arrive in order). */
static void note_state(struct cworld *c, uint32_t from,
		       const struct ukf_cmsg *m, const char *tmpl, size_t len)
{
	struct agent_view *a = &c->ag[from];
	char *t = malloc(len + 1);

	ukf_cmsg_get_stats(m, &a->st);
	if (t) {
		str_cp(t, tmpl, len);
		free(a->tmpl);
		a->tmpl = t;
	}
}

static void tp_message(void *u, uint32_t from,
		       const struct ukf_frame_header *h, const void *body,
		       size_t len, const void *bulk, size_t bulk_len)
{
	struct cworld *c = u;
	struct ukf_cmsg m;
	char err[256];

	(void)bulk;
	(void)bulk_len;
	if (from >= c->nodes ||
	    ukf_cmsg_decode(&m, h->type, body, len,
			    h->version > UKF_FRAME_VERSION, err,
			    sizeof(err)) < 0) {
		return; /* counted by the transport; nothing to do here */
	}
	if (m.type == UKF_C_STATUS) {
		if (!c->wait_status && m.req > c->ag[from].st_seen) {
			/* the answer to the newest STATUS_REQ or a later
			 * one (one late past its deadline included) */
			note_state(c, from, &m, m.text3, m.text3_len);
			c->ag[from].st_seen = m.req;
			if (m.req >= c->ag[from].st_req)
				c->ag[from].st_req = 0;
			return;
		}
		if (c->wait_status && m.req == c->wait_req &&
		    from == c->wait_node) {
			size_t need = m.name_len + m.text_len + m.text2_len +
				      m.text3_len + m.text4_len + 5;
			char *p;
			if (need > c->status_cap) {
				char *nb = realloc(c->status_buf, need);
				if (!nb)
					return;
				c->status_buf = nb;
				c->status_cap = need;
			}
			*c->wait_status = m;
			p = c->status_buf;
			c->wait_status->name = p;
			p += str_cp(p, m.name, m.name_len);
			c->wait_status->text = p;
			p += str_cp(p, m.text, m.text_len);
			c->wait_status->text2 = p;
			p += str_cp(p, m.text2, m.text2_len);
			c->wait_status->text3 = p;
			p += str_cp(p, m.text3, m.text3_len);
			c->wait_status->text4 = p;
			str_cp(p, m.text4, m.text4_len);
			c->wait_done = 1;
		}
		return;
	}
	if (m.type == UKF_C_ANSWER) {
		/* by request number: a refused RUN names no run of ours */
		if (c->wait_req && m.req == c->wait_req &&
		    from == c->wait_node) {
			c->wait_done = 1;
			c->wait_rc = m.rc;
			c->wait_id = m.id;
			str_cp(c->wait_why, m.text,
			       m.text_len < sizeof(c->wait_why)
				   ? m.text_len
				   : sizeof(c->wait_why) - 1);
		} else
			answered(c, from, &m); /* a spawn's or fork's */
		return;
	}
	if (m.run != c->run)
		return; /* another run's */
	if (c->ag[from].lost) {
		/* back after it was declared lost (SIGSTOP and SIGCONT, a
		 * partition healed): its requests and instances have failed
		 * here; a late row would be a second one, unrenamed */
		c->ignored++;
		if (!c->ag[from].said_back++)
			fprintf(stderr,
				"cluster: the agent of node %u (%s) came back "
				"after it was lost: what it says of this run is "
				"ignored\n",
				from, c->cl->nodes[from].endpoint);
		return;
	}
	c->last_activity = c_now(c);
	switch (m.type) {
	case UKF_C_STATE:
		c->ag[from].busy = m.alive || m.pending;
		c->ag[from].alive = m.alive;
		c->ag[from].events = m.events;
		return;
	case UKF_C_ENDED:
		c->ag[from].ended = 1;
		c->ag[from].events = m.events;
		return;
	case UKF_C_SAMPLE:
		note_state(c, from, &m, m.text2, m.text2_len);
		enqueue(c, from, &m);
		return;
	default:
		enqueue(c, from, &m);
	}
}

static void tp_peer(void *u, uint32_t who, int up, uint64_t incarnation,
		    int restarted)
{
	struct cworld *c = u;

	if (who >= c->nodes)
		return;
	if (c->ag[who].started && (!up || restarted)) {
		ukf_ns_t now = c_now(c);

		/* its instances and rows of this run are gone with it: say so
		 * where the user looks, and in the run's outages */
		snprintf(c->lost, sizeof(c->lost),
			 "the agent of node %u was %s during the run", who,
			 up ? "restarted" : "lost");
		fprintf(stderr,
			"cluster: %s (%s, %.3f s into the run): the rows of "
			"its requests still running are stored as failed\n",
			c->lost, c->cl->nodes[who].endpoint, (double)now / 1e9);
		if (c->sinks.log)
			c->sinks.log(c->sinks.u, now, who, c->lost);
		if (c->sinks.outage)
			c->sinks.outage(c->sinks.u, now, who, "node-fail",
					up ? "agent restarted" : "agent lost");
		c->ag[who].lost = 1;
		c->ag[who].lost_at = now;
		c->ag[who].started = 0;
		c->ag[who].busy = 0;
		c->ag[who].alive = 0;
		c->ag[who].ended = 1;
		if (c->wait_node == who && !c->wait_done) {
			c->wait_done = 1;
			c->wait_rc = -EHOSTDOWN;
		}
		c->ag[who].st_req = 0;
		rq_node_lost(c, who);
		rq_agent_lost(c, who);
	}
	c->ag[who].up = up;
	c->ag[who].incarnation = incarnation;
}

/* ---- requests ---- */

static int send_to(struct cworld *c, uint32_t node, struct ukf_cmsg *m)
{
	unsigned char buf[UKF_CMSG_BODY_MAX];
	size_t len;
	int64_t deadline = realtime_ns() + 2 * UKF_S;
	int rc;

	m->run = c->run;
	len = ukf_cmsg_encode(m, buf, sizeof(buf));
	if (!len)
		return -EINVAL;
	/* -EAGAIN while the link comes up or ZeroMQ's queue is full */
	while ((rc = ukf_tp_send(c->tp, node, (uint16_t)m->type, buf, len,
				 NULL, 0)) == -EAGAIN &&
	       realtime_ns() < deadline && c->ag[node].up)
		ukf_tp_poll(c->tp, NULL, 0, 10 * UKF_MS);
	return rc;
}

/* Send m to `node` once, not waiting for the link: 0, or -errno
 * (-EAGAIN: the link is down or ZeroMQ's queue full). For what is sent
 * during the run: send_to waits up to 2 s for a link, which stalled the
 * run at each request to an agent killed and not yet declared lost. */
static int send_now(struct cworld *c, uint32_t node, struct ukf_cmsg *m)
{
	unsigned char buf[UKF_CMSG_BODY_MAX];
	size_t len;

	m->run = c->run;
	len = ukf_cmsg_encode(m, buf, sizeof(buf));
	if (!len)
		return -EINVAL;
	return ukf_tp_send(c->tp, node, (uint16_t)m->type, buf, len, NULL, 0);
}

/* Send m to `node` and wait for its ANSWER (or STATUS into *st). */
static int request(struct cworld *c, uint32_t node, struct ukf_cmsg *m,
		   uint64_t *id, struct ukf_cmsg *st)
{
	int64_t deadline;
	int rc;

	if (node >= c->nodes)
		return -EINVAL;
	if (!c->ag[node].up)
		return -EHOSTDOWN;
	m->req = ++c->next_req;
	c->wait_req = m->req;
	c->wait_node = node;
	c->wait_done = 0;
	c->wait_rc = 0;
	c->wait_id = 0;
	c->wait_why[0] = 0;
	c->wait_status = st;
	rc = send_to(c, node, m);
	if (rc < 0) {
		c->wait_status = NULL;
		return rc;
	}
	deadline = realtime_ns() + c->cfg.connect_timeout_ns;
	while (!c->wait_done && realtime_ns() < deadline) {
		rc = ukf_tp_poll(c->tp, NULL, 0, 50 * UKF_MS);
		if (rc < 0 && rc != -EINTR)
			break;
	}
	c->wait_status = NULL;
	c->wait_req = 0;
	if (!c->wait_done)
		return -ETIMEDOUT;
	if (id)
		*id = c->wait_id;
	return (int)c->wait_rc;
}

/* Instance ids are (node << 32) | n: the node that made it has it. */
static uint32_t node_of(ukf_id_t id)
{
	return (uint32_t)(id >> 32);
}

/* ---- spawns and forks in flight ---- */

static size_t id_hash(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
}

/* The slot of key in m, or -1. */
static int64_t map_get(const struct idmap *m, uint64_t key)
{
	if (!m->cap || !key)
		return -1;
	for (size_t i = id_hash(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->s[i].key == key)
			return m->s[i].rq;
		if (!m->s[i].key)
			return -1;
	}
}

/* 0, or -ENOMEM. */
static int map_put(struct idmap *m, uint64_t key, uint32_t rq)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 256;
		struct idslot *n = calloc(cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		for (size_t k = 0; k < m->cap; k++) {
			size_t j;
			if (!m->s[k].key)
				continue;
			for (j = id_hash(m->s[k].key, cap); n[j].key;
			     j = (j + 1) & (cap - 1))
				;
			n[j] = m->s[k];
		}
		free(m->s);
		m->s = n;
		m->cap = cap;
	}
	i = id_hash(key, m->cap);
	while (m->s[i].key && m->s[i].key != key)
		i = (i + 1) & (m->cap - 1);
	if (!m->s[i].key)
		m->n++;
	m->s[i] = (struct idslot){ key, rq };
	return 0;
}

/* Remove key (linear probing: the entries after it that probed past its
 * slot move back, so no lookup stops short). */
static void map_del(struct idmap *m, uint64_t key)
{
	size_t i, j;

	if (!m->cap || !key)
		return;
	for (i = id_hash(key, m->cap); m->s[i].key != key;
	     i = (i + 1) & (m->cap - 1))
		if (!m->s[i].key)
			return;
	m->s[i].key = 0;
	m->n--;
	for (j = (i + 1) & (m->cap - 1); m->s[j].key;
	     j = (j + 1) & (m->cap - 1)) {
		size_t h = id_hash(m->s[j].key, m->cap);
		/* j's entry may move to i if i lies in its probe path */
		if ((j > i && (h <= i || h > j)) ||
		    (j < i && (h <= i && h > j))) {
			m->s[i] = m->s[j];
			m->s[j].key = 0;
			i = j;
		}
	}
}

static struct rq *rq_of_cid(struct cworld *c, ukf_id_t cid)
{
	int64_t k = (cid & CID_BIT) ? map_get(&c->cids, cid) : -1;

	return k < 0 ? NULL : &c->rq[k];
}

/* The request the agent's id `aid` is, or NULL. */
static struct rq *rq_of_aid(struct cworld *c, ukf_id_t aid)
{
	int64_t k = map_get(&c->ids, aid);

	return k < 0 ? NULL : &c->rq[k];
}

/* 0, or -ENOMEM (then that id's messages go on unrenamed). */
static int ids_put(struct cworld *c, ukf_id_t aid, uint32_t rq)
{
	return map_put(&c->ids, aid, rq);
}

static int idx_push(uint32_t **a, size_t *n, size_t *cap, uint32_t v)
{
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 16;
		uint32_t *na = realloc(*a, nc * sizeof(*na));
		if (!na)
			return -ENOMEM;
		*a = na;
		*cap = nc;
	}
	(*a)[(*n)++] = v;
	return 0;
}

/* A failure of request r that no agent will report: handed on from run()
 * in its node's order, as on_fail and a failed row. */
static void rq_fail(struct cworld *c, struct rq *r, const char *why)
{
	struct ukf_cmsg m = { .type = UKF_C_FAIL, .id = r->cid,
			      .tag = r->tag, .t = c_now(c), .text = why,
			      .text_len = strlen(why) };
	struct qmsg *q;

	r->state = RQ_FAILED;
	q = enqueue(c, r->node, &m);
	if (q)
		q->rq = (uint32_t)(r - c->rq) + 1;
}

/* Fire and forget: the ANSWER matches nothing and is dropped. */
static int kill_later(struct cworld *c, ukf_id_t aid);

/* -EAGAIN: not sent (the link down), kept for later. */
static int kill_send(struct cworld *c, ukf_id_t aid)
{
	struct ukf_cmsg m = { .type = UKF_C_KILL, .id = aid,
			      .req = ++c->next_req };
	uint32_t node = node_of(aid);

	if (node >= c->nodes || !c->ag[node].up || c->ag[node].lost)
		return 0; /* gone with its agent */
	return send_now(c, node, &m);
}

/* The kills the transport's callbacks decided on (they do not send:
 * send_to may poll the transport). */
static void kills_send(struct cworld *c)
{
	size_t n = c->ntokill, k = 0;

	for (size_t i = 0; i < n; i++)
		if (kill_send(c, c->tokill[i]) == -EAGAIN)
			c->tokill[k++] = c->tokill[i]; /* (only this loop adds) */
	/* (kill_send does not poll: nothing was added meanwhile) */
	c->ntokill = k;
}

/* 0, or -ENOMEM (then that kill is not sent: the instance runs on). */
static int kill_later(struct cworld *c, ukf_id_t aid)
{
	if (c->ntokill == c->captokill) {
		size_t cap = c->captokill ? 2 * c->captokill : 16;
		uint64_t *n = realloc(c->tokill, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		c->tokill = n;
		c->captokill = cap;
	}
	c->tokill[c->ntokill++] = aid;
	return 0;
}

/* Let slot k go: nothing will name it again but the caller (its client
 * id then names no request: -ESRCH, as an instance that ended) and
 * the rows of children that outlive it (c->ended). */
static void rq_release(struct cworld *c, uint32_t k)
{
	struct rq *r = &c->rq[k];

	map_del(&c->cids, r->cid);
	if (r->aid && map_get(&c->ids, r->aid) == (int64_t)k) {
		map_del(&c->ids, r->aid);
		c->ended[c->nended % ENDED_KEEP].aid = r->aid;
		c->ended[c->nended % ENDED_KEEP].cid = r->cid;
		c->nended++;
	}
	unsent_drop(c, k);
	r->state = RQ_FREE;
	r->cid = r->aid = 0;
	if (idx_push(&c->freed, &c->nfreed, &c->capfreed, k) < 0)
		return; /* not reused: kept as before */
}

/* Let slot k go if nothing more about it can come or be handed on: its
 * failure handed on (and no late answer can come), or its instance's
 * row and its end (EXIT or FAIL) came, in either order. */
static void rq_done(struct cworld *c, uint32_t k)
{
	const struct rq *r = &c->rq[k];

	if ((r->state == RQ_FAILED && r->row && !r->in_late) ||
	    ((r->state == RQ_OK || r->state == RQ_LATE) && r->gotrow &&
	     r->endmsg))
		rq_release(c, k);
}

/* The client id of an instance whose request was let go, or 0. */
static ukf_id_t ended_cid(const struct cworld *c, ukf_id_t aid)
{
	size_t n = c->nended < ENDED_KEEP ? c->nended : ENDED_KEEP;

	for (size_t i = 0; i < n; i++) {
		size_t k = (c->nended - 1 - i) % ENDED_KEEP;
		if (c->ended[k].aid == aid)
			return c->ended[k].cid;
	}
	return 0;
}

static void rq_fail(struct cworld *c, struct rq *r, const char *why);

/* Send a new request for the caller (m: SPAWN or FORK, to `node`): 0 and
 * its client id in *id, or -errno (nothing sent, nothing kept). With
 * `fail`: not sent, it fails for that reason as one refused (run()
 * hands on its failure). */
static int rq_send(struct cworld *c, uint32_t node, struct ukf_cmsg *m,
		   uint32_t app, ukf_id_t parent, ukf_id_t *id,
		   const char *fail)
{
	struct rq *r;
	uint32_t k;
	int rc;

	if (c->ncid + 1 >= CID_BIT)
		return -ENOSPC;
	if (!c->nfreed && c->nrq == c->caprq) {
		size_t cap = c->caprq ? 2 * c->caprq : 64;
		struct rq *n = realloc(c->rq, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		c->rq = n;
		c->caprq = cap;
	}
	k = c->nfreed ? c->freed[c->nfreed - 1] : (uint32_t)c->nrq;
	if (!fail && idx_push(&c->open, &c->nopen, &c->capopen, k) < 0)
		return -ENOMEM;
	r = &c->rq[k];
	*r = (struct rq){
		.cid = (uint64_t)node << 32 | CID_BIT | (c->ncid + 1),
		.parent = parent,
		.req = ++c->next_req,
		.tag = m->tag,
		.nseq = UINT64_MAX, /* set when sent */
		.deadline = realtime_ns() + c->cfg.connect_timeout_ns,
		.t_request = c_now(c),
		.app = app,
		.node = node,
		.is_fork = m->type == UKF_C_FORK,
		.state = RQ_SENT,
	};
	if (map_put(&c->cids, r->cid, k) < 0) {
		if (!fail)
			c->nopen--;
		r->state = RQ_FREE;
		return -ENOMEM;
	}
	if (c->nfreed)
		c->nfreed--;
	else
		c->nrq++;
	c->ncid++;
	if (fail) {
		r->bylost = 1;
		rq_fail(c, r, fail);
		if (id)
			*id = r->cid;
		return 0;
	}
	m->req = r->req;
	/* behind those to node not sent yet, or kept if the link is down */
	rc = node_unsent(c, node) ? -EAGAIN : send_now(c, node, m);
	if (rc == -EAGAIN) {
		unsigned char buf[UKF_CMSG_BODY_MAX];
		size_t len = ukf_cmsg_encode(m, buf, sizeof(buf));
		r->wire = len ? malloc(len) : NULL;
		if (r->wire) {
			memcpy(r->wire, buf, len);
			r->wirelen = (uint32_t)len;
			if (idx_push(&c->unsent, &c->nunsent, &c->capunsent, k) ==
			    0)
				rc = 0;
			else {
				free(r->wire);
				r->wire = NULL;
			}
		}
		if (rc == 0) {
			c->ag[node].busy = 1;
			if (id)
				*id = r->cid;
			return 0; /* sent from run() (rq_resend) */
		}
	}
	if (rc < 0) {
		for (size_t i = 0; i < c->nopen; i++)
			if (c->open[i] == k) {
				c->open[i] = c->open[--c->nopen];
				break;
			}
		rq_release(c, k);
		return rc;
	}
	r->nseq = ++c->ag[node].nsent;
	c->ag[node].busy = 1;
	if (id)
		*id = r->cid;
	return 0;
}

/* Is a request to node waiting to be sent? */
static int node_unsent(const struct cworld *c, uint32_t node)
{
	for (size_t i = 0; i < c->nunsent; i++)
		if (c->rq[c->unsent[i]].node == node)
			return 1;
	return 0;
}

/* Slot k is not to be sent any more (it failed or its agent is gone). */
static void unsent_drop(struct cworld *c, uint32_t k)
{
	struct rq *r = &c->rq[k];
	size_t j = 0;

	if (!r->wire)
		return;
	free(r->wire);
	r->wire = NULL;
	for (size_t i = 0; i < c->nunsent; i++)
		if (c->unsent[i] != k)
			c->unsent[j++] = c->unsent[i];
	c->nunsent = j;
}

/* Send what waits for a link, in order (each node's in its order); one
 * the transport refuses otherwise fails. */
static void rq_resend(struct cworld *c)
{
	size_t j = 0;

	if (!c->nunsent)
		return;
	memset(c->held, 0, c->nodes); /* here: node's link still down */
	for (size_t i = 0; i < c->nunsent; i++) {
		uint32_t k = c->unsent[i];
		struct rq *r = &c->rq[k];
		int rc = -EAGAIN;
		if (!c->held[r->node])
			rc = ukf_tp_send(c->tp, r->node,
					 r->is_fork ? UKF_C_FORK : UKF_C_SPAWN,
					 r->wire, r->wirelen, NULL, 0);
		if (rc == -EAGAIN) {
			c->held[r->node] = 1;
			c->unsent[j++] = k;
			continue;
		}
		free(r->wire);
		r->wire = NULL;
		if (rc == 0) {
			r->nseq = ++c->ag[r->node].nsent;
			continue;
		}
		{
			char why[160];
			snprintf(why, sizeof(why),
				 "cannot send to the agent of node %u: %s",
				 r->node, strerror(-rc));
			for (size_t o = 0; o < c->nopen; o++)
				if (c->open[o] == k) {
					open_del(c, o);
					break;
				}
			rq_fail(c, r, why);
		}
	}
	c->nunsent = j;
}

static void open_del(struct cworld *c, size_t i)
{
	c->open[i] = c->open[--c->nopen];
}

/* The ANSWER to a spawn or fork (at once, from the transport). */
static void answered(struct cworld *c, uint32_t from,
		     const struct ukf_cmsg *m)
{
	char why[UKF_CMSG_TEXT_MAX + 160];
	struct rq *r;

	for (size_t i = 0; i < c->nopen; i++) {
		r = &c->rq[c->open[i]];
		if (r->req != m->req || r->node != from)
			continue;
		open_del(c, i);
		if (m->rc == 0) {
			r->aid = m->id;
			r->state = RQ_OK;
			(void)ids_put(c, r->aid, (uint32_t)(r - c->rq));
			if (c->sinks.log) {
				char line[96];
				snprintf(line, sizeof(line),
					 "client id %llu is instance %llu",
					 (unsigned long long)r->cid,
					 (unsigned long long)r->aid);
				c->sinks.log(c->sinks.u, c_now(c), from, line);
			}
			if (r->kill) /* asked before the answer */
				(void)kill_later(c, r->aid);
			return;
		}
		snprintf(why, sizeof(why), "the agent of node %u refused it: %.*s",
			 from, (int)m->text_len,
			 m->text_len ? m->text : strerror((int)-m->rc));
		if (m->rc == -ESRCH && r->is_fork && !m->text_len)
			snprintf(why, sizeof(why),
				 "no running instance %llu on node %u",
				 (unsigned long long)r->parent, from);
		rq_fail(c, r, why);
		return;
	}
	/* after its deadline: it failed here; what the agent made is stopped */
	for (size_t i = 0; i < c->nlate; i++) {
		r = &c->rq[c->late[i]];
		if (r->req != m->req || r->node != from)
			continue;
		c->late[i] = c->late[--c->nlate];
		r->in_late = 0;
		if (m->rc == 0) {
			r->aid = m->id;
			r->state = RQ_LATE;
			(void)ids_put(c, r->aid, (uint32_t)(r - c->rq));
			(void)kill_later(c, r->aid);
		} else
			rq_done(c, (uint32_t)(r - c->rq));
		return;
	}
}

/* Requests past their deadline fail (a late answer stops what it made). */
static void rq_expire(struct cworld *c)
{
	int64_t now = realtime_ns();
	char why[160];

	for (size_t i = 0; i < c->nopen;) {
		struct rq *r = &c->rq[c->open[i]];
		if (r->deadline > now) {
			i++;
			continue;
		}
		if (r->wire) { /* never sent: no answer can come */
			fprintf(stderr,
				"cluster: the agent of node %u (%s) was not "
				"reachable for a %s within %.1f s, %.3f s into "
				"the run: it is stored as failed\n",
				r->node, c->cl->nodes[r->node].endpoint,
				r->is_fork ? "fork" : "spawn",
				(double)c->cfg.connect_timeout_ns / 1e9,
				(double)c_now(c) / 1e9);
			snprintf(why, sizeof(why),
				 "the agent of node %u was not reachable "
				 "within %.1f s",
				 r->node, (double)c->cfg.connect_timeout_ns / 1e9);
			unsent_drop(c, c->open[i]);
			open_del(c, i);
			rq_fail(c, r, why);
			continue;
		}
		fprintf(stderr,
			"cluster: the agent of node %u (%s) did not answer a %s "
			"within %.1f s, %.3f s into the run: it is stored as "
			"failed (if the agent makes it later, it is stopped)\n",
			r->node, c->cl->nodes[r->node].endpoint,
			r->is_fork ? "fork" : "spawn",
			(double)c->cfg.connect_timeout_ns / 1e9,
			(double)c_now(c) / 1e9);
		snprintf(why, sizeof(why),
			 "the agent of node %u did not answer within %.1f s",
			 r->node, (double)c->cfg.connect_timeout_ns / 1e9);
		if (idx_push(&c->late, &c->nlate, &c->caplate, c->open[i]) ==
		    0)
			r->in_late = 1;
		open_del(c, i);
		rq_fail(c, r, why);
	}
}

/* The earliest deadline of a request in flight (INT64_MAX: none). */
static int64_t rq_next_deadline(const struct cworld *c)
{
	int64_t d = INT64_MAX;

	for (size_t i = 0; i < c->nopen; i++)
		if (c->rq[c->open[i]].deadline < d)
			d = c->rq[c->open[i]].deadline;
	return d;
}

/* Node's agent was lost (or restarted) during the run: its requests in
 * flight will have no answer and its instances are gone. Both fail now
 * (the workload's fail, a failed row), as the engine fails an instance
 * lost with its node: a Lua process waiting for one goes on. What the
 * agent may still say of them is not handed on. */
static void rq_node_lost(struct cworld *c, uint32_t node)
{
	const char *why = lost_why(c, node);

	if (!why)
		return;
	for (size_t i = 0; i < c->nopen;) {
		struct rq *r = &c->rq[c->open[i]];
		if (r->node != node) {
			i++;
			continue;
		}
		unsent_drop(c, c->open[i]);
		open_del(c, i);
		r->bylost = 1;
		rq_fail(c, r, why);
	}
	for (size_t k = 0; k < c->nrq; k++) {
		struct rq *r = &c->rq[k];
		if (r->node != node || r->state != RQ_OK)
			continue;
		if (r->gotrow && !r->endmsg) {
			/* it ran elsewhere and ended there (its row came from
			 * that node); the notice of its end, which goes to its
			 * origin, is lost with it: handed on from the row */
			struct ukf_cmsg m = {
				.type = r->rowstatus == UKF_STATUS_FAILED
						? UKF_C_FAIL
						: UKF_C_EXIT,
				.id = r->aid, .tag = r->tag,
				.status = r->rowstatus, .text = why,
				.text_len = strlen(why) };
			(void)enqueue(c, node, &m);
			continue;
		}
		if (r->ended)
			continue;
		r->bylost = 1;
		rq_fail(c, r, why);
		r->state = RQ_LATE;
	}
}

/* Node's agent did not end the run (or was lost): its requests in flight
 * will have no answer; they get a failed row at the end as its others
 * without one (rows_of_lost). */
static void rq_agent_lost(struct cworld *c, uint32_t node)
{
	for (size_t i = 0; i < c->nopen;) {
		struct rq *r = &c->rq[c->open[i]];
		if (r->node != node) {
			i++;
			continue;
		}
		r->state = RQ_LOST;
		unsent_drop(c, c->open[i]);
		open_del(c, i);
	}
	for (size_t i = 0; i < c->nlate;)
		if (c->rq[c->late[i]].node == node) {
			uint32_t k = c->late[i];
			c->late[i] = c->late[--c->nlate];
			c->rq[k].in_late = 0;
			rq_done(c, k);
		} else
			i++;
}

static int c_add_app(void *w, const struct ukf_app *app)
{
	struct cworld *c = w;
	const char *args = app->args;
	int id = ukf_apps_add(c->apps, app);

	if (id < 0)
		return -1;
	struct ukf_cmsg m = { .type = UKF_C_APP, .app = (uint32_t)id,
			      .name = app->name, .name_len = strlen(app->name),
			      .text = args, .text_len = strlen(args),
			      .text2 = app->image,
			      .text2_len = strlen(app->image) };
	for (uint32_t n = 0; n < c->nodes; n++)
		if (send_to(c, n, &m) < 0)
			return -1;
	return id;
}

static const ukf_apps_t *c_apps(void *w)
{
	return ((struct cworld *)w)->apps;
}

static int c_start(void *w)
{
	struct cworld *c = w;
	struct ukf_cmsg m = { .type = UKF_C_START };
	int rc;

	for (uint32_t n = 0; n < c->nodes; n++) {
		rc = request(c, n, &m, NULL, NULL);
		if (rc < 0) {
			/* the world op has no message: say why here */
			snprintf(c->lost, sizeof(c->lost),
				 "the agent of node %u (%s) did not start the run: %s",
				 n, c->cl->nodes[n].endpoint,
				 c->wait_why[0] ? c->wait_why : strerror(-rc));
			fprintf(stderr, "cluster: %s\n", c->lost);
			return rc;
		}
		c->ag[n].started = 1;
		status_ask(c, n); /* node_stats has its state soon */
	}
	return 0;
}

/* Why a request to `node` fails at once (NULL: it does not): its agent
 * was lost or restarted during the run (or is not up). The world goes
 * on without that node; what the caller sends there fails as a request,
 * with a row, as those the agent had when it was lost (rq_node_lost). */
static const char *lost_why(struct cworld *c, uint32_t node)
{
	snprintf(c->lost_why, sizeof(c->lost_why),
		 "the agent of node %u was lost during the run", node);
	return c->ag[node].up && !c->ag[node].lost ? NULL : c->lost_why;
}

static int c_spawn(void *w, ukf_node_id_t origin, uint32_t app,
		   const char *args, uint64_t tag, ukf_id_t *id)
{
	struct cworld *c = w;
	struct ukf_cmsg m = { .type = UKF_C_SPAWN, .app = app, .tag = tag,
			      .text = args ? args : "",
			      .text_len = args ? strlen(args) : 0 };

	if (origin == UKF_NODE_NONE)
		origin = 0;
	if (origin >= c->nodes || app >= ukf_apps_count(c->apps) ||
	    m.text_len >= UKF_ARGS_MAX)
		return -EINVAL;
	/* answered later (run() hands on a refusal or a timeout as a
	 * failure of the id given now) */
	return rq_send(c, origin, &m, app, 0, id, lost_why(c, origin));
}

static int c_fork(void *w, ukf_id_t parent, uint64_t tag, ukf_id_t *id)
{
	struct cworld *c = w;
	struct rq *p = rq_of_cid(c, parent);
	struct ukf_cmsg m = { .type = UKF_C_FORK, .id = parent, .tag = tag };
	uint32_t app = UINT32_MAX;

	if (p) {
		/* gone with its agent: the fork fails as the request of a
		 * lost agent (the parent's failure may not be handed on yet) */
		if (p->bylost)
			return rq_send(c, p->node, &m, p->app, parent, id,
				       lost_why(c, p->node));
		/* as the engine: only a running instance forks */
		if (p->state != RQ_OK || !p->ready || p->ended)
			return -ESRCH;
		m.id = p->aid;
		app = p->app;
	} else if ((parent & CID_BIT) || node_of(parent) >= c->nodes)
		return -ESRCH;
	return rq_send(c, node_of(m.id), &m, app, parent, id,
		       lost_why(c, node_of(m.id)));
}

static int c_kill(void *w, ukf_id_t id)
{
	struct cworld *c = w;
	struct rq *r = rq_of_cid(c, id);

	if (r) { /* ours: not waited for */
		if (r->state == RQ_SENT) {
			r->kill = 1; /* once it is answered */
			return 0;
		}
		if (r->state != RQ_OK || r->ended)
			return -ESRCH;
		if (kill_send(c, r->aid) == -EAGAIN)
			(void)kill_later(c, r->aid);
		return 0;
	}
	/* not an id a spawn or fork of this run gave, or one let go since
	 * (ended): none of the caller's instances, which it names by those
	 * ids only. Not asked of the agents (the answer was -ESRCH as well,
	 * after a round trip that stalled the run while one was stopped) */
	return -ESRCH;
}

static uint64_t c_alive(void *w)
{
	struct cworld *c = w;
	uint64_t n = 0;

	for (uint32_t i = 0; i < c->nodes; i++)
		n += c->ag[i].alive;
	return n;
}

static uint32_t c_nodes(void *w)
{
	return ((struct cworld *)w)->nodes;
}

/* Ask node's agent for its state unless a request is on its way (one
 * not answered within the connect timeout is given up: ask again). */
static void status_ask(struct cworld *c, uint32_t node)
{
	struct agent_view *a = &c->ag[node];
	struct ukf_cmsg m = { .type = UKF_C_STATUS_REQ };

	if (!a->up || a->lost ||
	    (a->st_req && realtime_ns() < a->st_deadline))
		return;
	m.req = ++c->next_req;
	a->st_req = m.req;
	a->st_deadline = realtime_ns() + c->cfg.connect_timeout_ns;
	if (send_now(c, node, &m) < 0)
		a->st_req = 0; /* asked again at the next call */
}

/* Not waited for (a stopped agent would stall the run): the state its
 * agent last told, and a fresh one asked for; a caller that asks again
 * after the run has polled sees it. */
static int c_node_stats(void *w, ukf_node_id_t node, struct ukf_node_stats *s)
{
	struct cworld *c = w;

	memset(s, 0, sizeof(*s));
	if (node >= c->nodes)
		return -EINVAL;
	status_ask(c, node);
	*s = c->ag[node].st;
	return 0;
}

static size_t c_node_templates(void *w, ukf_node_id_t node, char *buf,
			       size_t cap)
{
	struct cworld *c = w;

	if (cap)
		buf[0] = 0;
	if (node >= c->nodes || !cap)
		return 0;
	status_ask(c, node);
	if (!c->ag[node].tmpl)
		return 0;
	snprintf(buf, cap, "%s", c->ag[node].tmpl);
	return strlen(buf);
}

/* ---- world callbacks ---- */

static int c_at(void *w, ukf_ns_t t, ukf_world_fn fn, void *arg, uint64_t x)
{
	struct cworld *c = w;
	size_t i;

	if (c->ntm == c->captm) {
		size_t cap = c->captm ? 2 * c->captm : 64;
		struct timer *nt = realloc(c->tm, cap * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		c->tm = nt;
		c->captm = cap;
	}
	/* sorted by (t, seq), latest first: the next one is at the end */
	i = c->ntm;
	while (i > 0 && c->tm[i - 1].t < t) {
		c->tm[i] = c->tm[i - 1];
		i--;
	}
	c->tm[i] = (struct timer){ t, ++c->tseq, fn, arg, x };
	c->ntm++;
	return 0;
}

/* ---- handing messages on ---- */

/* A failure made here (rq_fail): on_fail and the request's failed row. */
static void deliver_failed(struct cworld *c, struct qmsg *q)
{
	struct rq *r = &c->rq[q->rq - 1];
	const struct ukf_app *app =
	    r->app == UINT32_MAX ? NULL : ukf_apps_get(c->apps, r->app);
	const struct ukf_engine_hooks *h = &c->sinks.hooks;
	/* (r is not used after the hook: it may spawn, moving c->rq) */
	struct ukf_record rec = {
		.id = r->cid,
		.parent = r->parent,
		.app = r->app,
		.app_name = app ? app->name : "?",
		.origin = r->node,
		.node = UKF_NODE_NONE,
		.start = r->is_fork ? UKF_START_FORK : UKF_START_UNKNOWN,
		.t_request = r->t_request,
		.t_placed = UKF_NS_NEVER,
		.t_start = UKF_NS_NEVER,
		.t_ready = UKF_NS_NEVER,
		.t_exit = q->m.t,
		.status = UKF_STATUS_FAILED,
		.fail_reason = q->m.text,
	};

	r->ended = 1;
	r->row = 1;
	if (h->on_fail)
		h->on_fail(h->u, rec.id, q->m.tag, q->m.text);
	if (c->sinks.record)
		c->sinks.record(c->sinks.u, &rec);
	rq_done(c, q->rq - 1);
}

static int names_instance(enum ukf_cmsg_type t)
{
	return t == UKF_C_READY || t == UKF_C_EXIT || t == UKF_C_FAIL ||
	       t == UKF_C_CONSOLE || t == UKF_C_RECORD;
}

/* Rename the agent's ids in q to the client's (and note what it says of
 * them); 1 if q is to be dropped: about an instance made after its
 * request had failed here (it is being stopped). */
static int rename_ids(struct cworld *c, struct qmsg *q)
{
	struct ukf_cmsg *m = &q->m;
	struct rq *r;

	if (!names_instance(m->type))
		return 0;
	r = rq_of_aid(c, m->id);
	if (r) {
		uint32_t k = (uint32_t)(r - c->rq);
		int late = r->state == RQ_LATE;
		if (!late)
			m->id = r->cid;
		if (m->type == UKF_C_READY)
			r->ready = 1;
		else if (m->type == UKF_C_EXIT || m->type == UKF_C_FAIL)
			r->ended = r->endmsg = 1;
		else if (m->type == UKF_C_RECORD && !m->template_boot) {
			r->ended = r->row = r->gotrow = 1;
			r->rowstatus = m->status;
			/* a fork of ours: the parent as the caller named it */
			if (r->is_fork && !late) {
				m->parent = r->parent;
				rq_done(c, k);
				return 0;
			}
		}
		rq_done(c, k); /* (r is not used below) */
		if (late)
			return 1;
	} else if (m->id) {
		/* of a request let go (its row and end came): a second row
		 * (a request placed again after a peer's loss ran twice)
		 * under the client's id, as ukfork run counts it once */
		ukf_id_t cid = ended_cid(c, m->id);
		if (cid)
			m->id = cid;
		else if (m->type == UKF_C_RECORD && m->origin < c->nodes &&
			 c->ag[m->origin].lost &&
			 m->t_request >= c->ag[m->origin].lost_at) {
			/* requested by an agent after its loss (back, it
			 * went on with the run) and run elsewhere: of no
			 * request of this run */
			c->ignored++;
			return 1;
		}
	}
	if (m->type == UKF_C_RECORD && m->parent) {
		ukf_id_t p;
		if ((r = rq_of_aid(c, m->parent)))
			m->parent = r->cid;
		else if ((p = ended_cid(c, m->parent)))
			m->parent = p;
	}
	return 0;
}

/* q names an instance not known yet while a request that its agent may
 * have answered after sending q (the ANSWER follows) is in flight: it
 * waits for that answer, or that request's end, to be renamed. From
 * another node than the instance's origin (a row from where it was
 * placed), every request sent to that origin is such. */
static int must_hold(struct cworld *c, const struct qmsg *q)
{
	if (q->rq || q->from >= c->nodes || !names_instance(q->m.type) ||
	    rq_of_aid(c, q->m.id))
		return 0;
	for (size_t i = 0; i < c->nopen; i++) {
		const struct rq *r = &c->rq[c->open[i]];
		if (r->node == q->from && r->nseq <= q->nsent)
			return 1;
		/* from the node it ran on, not its origin (placed there):
		 * any request sent to its origin may have made it */
		if (r->node != q->from && r->node == node_of(q->m.id) &&
		    r->nseq != UINT64_MAX)
			return 1;
	}
	return 0;
}

static void deliver(struct cworld *c, struct qmsg *q)
{
	const struct ukf_cmsg *m = &q->m;
	const struct ukf_engine_hooks *h = &c->sinks.hooks;

	c->events++;
	switch (m->type) {
	case UKF_C_READY:
		if (h->on_ready)
			h->on_ready(h->u, m->id, m->tag);
		break;
	case UKF_C_EXIT:
		if (h->on_exit)
			h->on_exit(h->u, m->id, m->tag, m->status);
		break;
	case UKF_C_FAIL:
		if (h->on_fail)
			h->on_fail(h->u, m->id, m->tag,
				   m->text_len ? m->text : "failed");
		break;
	case UKF_C_CONSOLE:
		if (h->on_console)
			h->on_console(h->u, m->id, m->text, m->text_len);
		break;
	case UKF_C_LOG:
		if (c->sinks.log)
			c->sinks.log(c->sinks.u, m->t, m->node, m->text);
		break;
	case UKF_C_RECORD: {
		const struct ukf_app *app = ukf_apps_get(c->apps, m->app);
		struct ukf_record r = {
			.id = m->id,
			.parent = m->parent,
			.app = m->app,
			.app_name = app ? app->name : "?",
			.origin = m->origin,
			.node = m->node,
			.start = (enum ukf_start)m->start,
			.remote = m->remote,
			.template_fetched = m->template_fetched,
			.template_made = m->template_made,
			.template_boot = m->template_boot,
			.delta_bytes = m->delta_bytes,
			.dirty_pages = m->dirty_pages,
			.t_request = m->t_request,
			.t_placed = m->t_placed,
			.t_start = m->t_start,
			.t_ready = m->t_ready,
			.t_exit = m->t_exit,
			.status = m->status,
			.fail_reason = m->text_len ? m->text : NULL,
			/* the record message has no such field: an origin's
			 * row of a request it heard nothing back of at the
			 * end is the one row still running with no start
			 * time (a host's has its own; eng_record_req) */
			.unanswered = !m->template_boot &&
				      m->status == UKF_STATUS_RUNNING &&
				      m->t_start == UKF_NS_NEVER &&
				      m->node != UKF_NODE_NONE,
		};
		if (c->sinks.record)
			c->sinks.record(c->sinks.u, &r);
		break;
	}
	case UKF_C_SAMPLE:
		if (c->sample) {
			struct ukf_world_sample s;
			memset(&s, 0, sizeof(s));
			s.t = m->t;
			s.node = m->node;
			ukf_cmsg_get_stats(m, &s.s);
			s.templates = m->text2;
			c->sample(c->sinks.u, &s);
		}
		break;
	default:
		break;
	}
}

/* Hand on what is queued, each node's in its order; a node's messages
 * stay from the first one that must wait (must_hold) on. */
static int drain(struct cworld *c)
{
	struct qmsg **pp = &c->qhead;
	int n = 0;

	if (c->held)
		memset(c->held, 0, c->nodes);
	while (*pp) {
		struct qmsg *q = *pp;
		if (c->held && q->from < c->nodes &&
		    (c->held[q->from] || must_hold(c, q))) {
			c->held[q->from] = 1;
			pp = &q->next;
			continue;
		}
		*pp = q->next;
		if (c->qtail == &q->next)
			c->qtail = pp;
		if (q->rq)
			deliver_failed(c, q);
		else if (!rename_ids(c, q))
			deliver(c, q);
		free(q);
		n++;
	}
	return n;
}

static int any_busy(const struct cworld *c)
{
	if (c->nopen)
		return 1; /* a spawn or fork not answered yet */
	for (uint32_t i = 0; i < c->nodes; i++)
		if (c->ag[i].started && c->ag[i].busy)
			return 1;
	/* a request answered whose instance has not ended, its agent not
	 * lost: the node running it (placed there by the agent asked) may
	 * not have said it is busy yet, while the agent asked has said it is
	 * not (seen in agents_etcd_run under emulation: a cold boot placed
	 * on another node, no word from it for 100 ms, the run ended with
	 * the request's wait() pending) */
	for (size_t k = 0; k < c->nrq; k++) {
		const struct rq *r = &c->rq[k];
		if (r->state == RQ_OK && !r->ended && r->node < c->nodes &&
		    !c->ag[r->node].lost)
			return 1;
	}
	return 0;
}

static int c_run(void *w, ukf_ns_t until, volatile int *stop, char *err,
		 size_t errlen)
{
	struct cworld *c = w;
	ukf_ns_t now;

	(void)err;
	(void)errlen;
	c->last_activity = c_now(c);
	for (;;) {
		int rc;
		int64_t timeout, deadline;

		rq_resend(c);
		rq_expire(c);
		kills_send(c);
		drain(c);
		now = c_now(c);
		if (stop && *stop)
			return 0;
		if (now >= until)
			return 0;
		if (c->ntm && c->tm[c->ntm - 1].t <= now) {
			struct timer t = c->tm[--c->ntm];
			c->events++;
			t.fn(t.arg, t.x);
			c->last_activity = c_now(c);
			continue;
		}
		if (!c->ntm && !c->qhead &&
		    now - c->last_activity >= 100 * UKF_MS && !any_busy(c))
			return 0; /* nothing left anywhere */
		timeout = 100 * UKF_MS;
		if (c->ntm && c->tm[c->ntm - 1].t - now < timeout)
			timeout = c->tm[c->ntm - 1].t - now;
		if (until != UKF_NS_NEVER && until - now < timeout)
			timeout = until - now;
		deadline = rq_next_deadline(c);
		if (deadline != INT64_MAX &&
		    deadline - realtime_ns() < timeout)
			timeout = deadline - realtime_ns();
		if (timeout < 0)
			timeout = 0;
		rc = ukf_tp_poll(c->tp, NULL, 0, timeout);
		if (rc < 0 && rc != -EINTR) {
			snprintf(err, errlen, "cluster transport: %s",
				 strerror(-rc));
			return -1;
		}
	}
}

static uint64_t c_events(void *w)
{
	return ((struct cworld *)w)->events;
}

static void free_world(struct cworld *c)
{
	struct qmsg *q = c->qhead;

	while (q) {
		struct qmsg *n = q->next;
		free(q);
		q = n;
	}
	ukf_tp_destroy(&c->tp);
	ukf_cluster_destroy(&c->cl);
	ukf_apps_destroy(&c->apps);
	free(c->tm);
	free(c->status_buf);
	for (size_t k = 0; k < c->nrq; k++)
		free(c->rq[k].wire);
	free(c->unsent);
	free(c->rq);
	free(c->ids.s);
	free(c->cids.s);
	free(c->open);
	free(c->late);
	free(c->freed);
	free(c->tokill);
	free(c->held);
	for (uint32_t n = 0; c->ag && n < c->nodes; n++)
		free(c->ag[n].tmpl);
	free(c->ag);
	free(c);
}

/* One row for each request of ours whose agent was lost or did not end
 * the run: failed, as the engine records an instance lost with its node
 * (no agent will ever send its row). */
static void rows_of_lost(struct cworld *c)
{
	ukf_ns_t now = c_now(c);
	size_t nrows = 0;

	for (size_t i = 0; i < c->nrq; i++) {
		const struct rq *p = &c->rq[i];
		const struct ukf_app *app =
		    p->app == UINT32_MAX ? NULL : ukf_apps_get(c->apps, p->app);
		char why[128];

		if (p->row || p->state == RQ_FAILED || p->state == RQ_LATE ||
		    p->state == RQ_FREE || p->node >= c->nodes ||
		    !c->ag[p->node].lost)
			continue;
		snprintf(why, sizeof(why), "the agent of node %u %s", p->node,
			 c->ag[p->node].lost == 2
				 ? "did not end the run"
				 : "was lost during the run");
		struct ukf_record r = {
			.id = p->cid,
			.parent = p->parent,
			.app = p->app,
			.app_name = app ? app->name : "?",
			.origin = p->node,
			.node = UKF_NODE_NONE,
			.start = p->is_fork ? UKF_START_FORK : UKF_START_UNKNOWN,
			.t_request = p->t_request,
			.t_placed = UKF_NS_NEVER,
			.t_start = UKF_NS_NEVER,
			.t_ready = UKF_NS_NEVER,
			.t_exit = now,
			.status = UKF_STATUS_FAILED,
			.fail_reason = why,
		};
		if (c->sinks.record)
			c->sinks.record(c->sinks.u, &r);
		nrows++;
	}
	if (nrows)
		fprintf(stderr,
			"cluster: %zu request%s got no row from %s agent: "
			"stored as failed\n",
			nrows, nrows == 1 ? "" : "s", nrows == 1 ? "its" : "their");
}

static void c_destroy(void **wp)
{
	struct cworld *c = *wp;
	int64_t deadline;
	int left;

	if (!c)
		return;
	/* *wp stays the world until it is gone: the rows and failures
	 * delivered below reach the caller's hooks, which ask the world's
	 * time (a run interrupted while a spawn was unanswered crashed on
	 * a NULL world) */
	kills_send(c);
	/* END everywhere; the agents stop what runs and send its rows */
	for (uint32_t n = 0; n < c->nodes; n++) {
		struct ukf_cmsg m = { .type = UKF_C_END };
		if (c->ag[n].up && !c->ag[n].ended)
			(void)send_to(c, n, &m);
		else
			c->ag[n].ended = 1;
	}
	deadline = realtime_ns() + c->cfg.connect_timeout_ns;
	do {
		left = 0;
		rq_resend(c);
		rq_expire(c);
		drain(c);
		for (uint32_t n = 0; n < c->nodes; n++)
			if (!c->ag[n].ended && c->ag[n].up)
				left++;
		if (left)
			ukf_tp_poll(c->tp, NULL, 0, 50 * UKF_MS);
	} while (left && realtime_ns() < deadline);
	/* past every deadline of what was sent before the end: those not
	 * answered fail as during the run (the last poll's 50 ms decided
	 * before whether one did, or got only a row of a lost agent) */
	rq_expire(c);
	/* never sent, the run over before the link came back */
	while (c->nunsent) {
		uint32_t k = c->unsent[0];
		char why[96];
		snprintf(why, sizeof(why),
			 "the agent of node %u was not reachable before the "
			 "end of the run", c->rq[k].node);
		unsent_drop(c, k);
		for (size_t o = 0; o < c->nopen; o++)
			if (c->open[o] == k) {
				open_del(c, o);
				break;
			}
		rq_fail(c, &c->rq[k], why);
	}
	for (uint32_t n = 0; n < c->nodes; n++)
		if (!c->ag[n].ended && c->ag[n].up)
			rq_agent_lost(c, n); /* what it holds is let go */
	drain(c);
	for (uint32_t n = 0; n < c->nodes; n++)
		if (!c->ag[n].ended && c->ag[n].up) {
			fprintf(stderr,
				"cluster: the agent of node %u (%s) did not "
				"confirm the end of the run within %.1f s: the "
				"rows of its requests still running are stored "
				"as failed\n",
				n, c->cl->nodes[n].endpoint,
				(double)c->cfg.connect_timeout_ns / 1e9);
			c->ag[n].lost = 2;
		}
	rows_of_lost(c);
	*wp = NULL;
	free_world(c);
}

static const struct ukf_world_ops cluster_ops = {
	.name = "cluster",
	.now = c_now,
	.at = c_at,
	.run = c_run,
	.events = c_events,
	.destroy = c_destroy,
	.add_app = c_add_app,
	.apps = c_apps,
	.start = c_start,
	.spawn = c_spawn,
	.fork = c_fork,
	.kill = c_kill,
	.alive = c_alive,
	.nodes = c_nodes,
	.node_stats = c_node_stats,
	.node_templates = c_node_templates,
};

/* ---- connecting ---- */

static void tp_log(void *u, int level, const char *line)
{
	(void)u;
	if (level <= UKF_TP_LOG_WARNING)
		fprintf(stderr, "cluster: %s\n", line);
}

/* Transport to every agent of the file; waits until all are up (or the
 * deadline passes: then *err names those that are not). Every message
 * names the file once, first (those of agent/cluster.c do already). */
static struct cworld *connect_cluster(const char *file, const char *client,
				      int64_t timeout_ns, int need_all,
				      char *err, size_t errlen)
{
	struct cworld *c = calloc(1, sizeof(*c));
	struct ukf_tp_config tc;
	char who[UKF_CLUSTER_NAME_MAX + 16], why[512];
	int64_t deadline;
	uint32_t up;

	if (!c) {
		snprintf(err, errlen, "%s: out of memory", file);
		return NULL;
	}
	c->qtail = &c->qhead;
	if (ukf_cluster_load(&c->cl, file, err, errlen) < 0)
		goto fail;
	if (!ukf_cluster_client(c->cl, client)) {
		snprintf(err, errlen, "%s: no [client %s] section (the keys this program connects with)",
			 file, client);
		goto fail;
	}
	c->nodes = (uint32_t)c->cl->nnodes;
	c->ag = calloc(c->nodes, sizeof(*c->ag));
	c->held = calloc(c->nodes, 1);
	c->apps = ukf_apps_create();
	if (!c->ag || !c->held || !c->apps) {
		snprintf(err, errlen, "%s: out of memory", file);
		goto fail;
	}
	memset(&tc, 0, sizeof(tc));
	snprintf(who, sizeof(who), "client %s", client);
	if (ukf_cluster_tp_config(c->cl, who, ukf_tp_incarnation_now(), &tc,
				  err, errlen) < 0)
		goto fail;
	tc.on_message = tp_message;
	tc.on_peer = tp_peer;
	tc.log = tp_log;
	tc.u = c;
	c->tp = ukf_tp_create(&tc, why, sizeof(why));
	if (!c->tp) {
		snprintf(err, errlen, "%s: %s", file, why);
		goto fail;
	}
	deadline = realtime_ns() + timeout_ns;
	for (;;) {
		up = 0;
		for (uint32_t n = 0; n < c->nodes; n++)
			up += c->ag[n].up != 0;
		if (up == c->nodes || realtime_ns() >= deadline)
			break;
		ukf_tp_poll(c->tp, NULL, 0, 50 * UKF_MS);
	}
	if (need_all && up < c->nodes) {
		size_t off = (size_t)snprintf(err, errlen, "%s: no answer within %.1f s from the agent of node",
					      file, (double)timeout_ns / 1e9);
		for (uint32_t n = 0; n < c->nodes && off < errlen; n++)
			if (!c->ag[n].up)
				off += (size_t)snprintf(err + off, errlen - off,
							" %u (%s)", n,
							c->cl->nodes[n].endpoint);
		if (off < errlen)
			snprintf(err + off, errlen - off, " - is ukforkd running there, with this cluster file's keys?");
		goto fail;
	}
	return c;
fail:
	free_world(c);
	return NULL;
}

int ukf_cluster_world_create(struct ukf_world *world,
			     const struct ukf_cluster_world_config *cfg,
			     const struct ukf_world_sinks *sinks, char *err,
			     size_t errlen)
{
	struct ukf_cmsg m;
	struct cworld *c;
	int64_t busy_until;
	int rc, said_busy = 0;

	if (!cfg || !cfg->cluster_file) {
		snprintf(err, errlen, "no cluster file");
		return -1;
	}
	c = connect_cluster(cfg->cluster_file,
			    cfg->client ? cfg->client : "runner",
			    cfg->connect_timeout_ns > 0 ? cfg->connect_timeout_ns
							: 10 * UKF_S,
			    1, err, errlen);
	if (!c)
		return -1;
	c->cfg = *cfg;
	if (c->cfg.connect_timeout_ns <= 0)
		c->cfg.connect_timeout_ns = 10 * UKF_S;
	if (sinks)
		c->sinks = *sinks;
	c->epoch_ns = realtime_ns();
	c->run = (uint64_t)c->epoch_ns ^ ((uint64_t)getpid() << 40);
	memset(&m, 0, sizeof(m));
	m.type = UKF_C_RUN;
	m.epoch_ns = c->epoch_ns;
	m.retry_ns = cfg->engine.retry_ns;
	m.answer_timeout_ns = cfg->engine.answer_timeout_ns;
	m.run_limit_ns = cfg->run_limit_ns;
	m.sample_every_ns = cfg->sample_every_ns;
	m.nodes = c->nodes;
	m.fetch = (uint32_t)cfg->engine.fetch;
	m.prewarm_k = cfg->engine.prewarm_k;
	m.max_children = cfg->engine.max_children;
	m.max_queue = cfg->engine.max_queue;
	m.max_retries = cfg->engine.max_retries;
	m.trace = sinks && sinks->log ? 1 : 0;
	m.text = cfg->engine.placement ? cfg->engine.placement : "";
	m.text_len = strlen(m.text);
	m.text2 = cfg->engine.templates ? cfg->engine.templates : "";
	m.text2_len = strlen(m.text2);
	m.text3 = cfg->template_dir ? cfg->template_dir : "";
	m.text3_len = strlen(m.text3);
	/* An agent busy with another client's run: that client may be gone
	 * without ending it (Ctrl-C kills ukfork), which the agent notices
	 * after peer_timeout; wait that long (and a second) before giving up */
	busy_until = realtime_ns() + c->cl->peer_timeout_ns + UKF_S;
	for (uint32_t n = 0; n < c->nodes; n++) {
		rc = request(c, n, &m, NULL, NULL);
		while (rc == -EBUSY && realtime_ns() < busy_until) {
			if (!said_busy++)
				fprintf(stderr,
					"cluster: the agent of node %u (%s) is busy with another client's run: waiting up to %.1f s for it to end (a client stopped without ending its run is dropped after peer_timeout)\n",
					n, c->cl->nodes[n].endpoint,
					(double)(busy_until - realtime_ns()) / 1e9);
			ukf_tp_poll(c->tp, NULL, 0, 250 * UKF_MS);
			rc = request(c, n, &m, NULL, NULL);
		}
		if (rc < 0) {
			snprintf(err, errlen, "%s: the agent of node %u refused the run: %s",
				 cfg->cluster_file, n,
				 c->wait_why[0] ? c->wait_why : strerror(-rc));
			/* end it where it began */
			world->ops = &cluster_ops;
			world->w = c;
			c->sinks = (struct ukf_world_sinks){ 0 };
			c_destroy(&world->w);
			world->ops = NULL;
			return -1;
		}
	}
	world->ops = &cluster_ops;
	world->w = c;
	return 0;
}

int ukf_cluster_world_set_sampler(
    struct ukf_world *world,
    void (*sample)(void *u, const struct ukf_world_sample *s))
{
	if (!world || world->ops != &cluster_ops)
		return -1;
	((struct cworld *)world->w)->sample = sample;
	return 0;
}

int ukf_cluster_world_node_lost(const struct ukf_world *world, uint32_t node)
{
	const struct cworld *c;

	if (!world || world->ops != &cluster_ops)
		return -1;
	c = world->w;
	if (node >= c->nodes)
		return -1;
	return c->ag[node].lost || !c->ag[node].up;
}

void ukf_cluster_world_debug(const struct ukf_world *world,
			     struct ukf_cluster_world_debug *d)
{
	const struct cworld *c;

	memset(d, 0, sizeof(*d));
	if (!world || world->ops != &cluster_ops)
		return;
	c = world->w;
	d->slots = c->caprq + c->ids.cap + c->cids.cap;
	d->unsent = c->nunsent;
	d->ignored = c->ignored;
}

/* ---- ukfork agent status ---- */

static void status_usage(FILE *out)
{
	fprintf(out,
		"usage: ukfork agent status --cluster FILE [--client NAME] [--timeout S]\n"
		"Asks every node agent of the cluster FILE for its state: up or not,\n"
		"incarnation, backend, the run in progress, instances, requests pending,\n"
		"templates, and which peers it sees. Exit status 0 if all are up, 1 if not.\n"
		"  --client NAME  the [client NAME] section whose keys to use (default runner)\n"
		"  --timeout S    how long to wait for the agents (default 3)\n");
}

int ukf_agent_status_main(int argc, char **argv)
{
	const char *file = NULL, *client = "runner";
	double timeout = 3;
	char err[1024];
	struct cworld *c;
	int down = 0;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			status_usage(stdout);
			return 0;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "ukfork agent status: %s needs a value (try --help)\n", o);
			return 2;
		}
		if ((!strcmp(o, "--cluster") || !strcmp(o, "--client") ||
		     !strcmp(o, "--timeout")) &&
		    ukf_arg_is_option(argv[i + 1], NULL)) {
			fprintf(stderr, "ukfork agent status: %s needs a value (found the option '%s')\n",
				o, argv[i + 1]);
			return 2;
		}
		if (!strcmp(o, "--cluster"))
			file = argv[++i];
		else if (!strcmp(o, "--client"))
			client = argv[++i];
		else if (!strcmp(o, "--timeout")) {
			char *end;
			timeout = strtod(argv[++i], &end);
			if (*end || !(timeout > 0) || timeout > 3600) {
				fprintf(stderr, "ukfork agent status: --timeout: '%s' is not seconds\n",
					argv[i]);
				return 2;
			}
		} else {
			fprintf(stderr, "ukfork agent status: unknown option '%s' (try --help)\n", o);
			return 2;
		}
	}
	if (!file) {
		fprintf(stderr, "ukfork agent status: --cluster FILE is required (try --help)\n");
		return 2;
	}
	c = connect_cluster(file, client, (int64_t)(timeout * 1e9), 0, err,
			    sizeof(err));
	if (!c) {
		fprintf(stderr, "ukfork agent status: %s\n", err);
		return 2;
	}
	c->cfg.connect_timeout_ns = (int64_t)(timeout * 1e9);
	printf("cluster %s: %u node%s\n", c->cl->name[0] ? c->cl->name : file,
	       c->nodes, c->nodes == 1 ? "" : "s");
	for (uint32_t n = 0; n < c->nodes; n++) {
		struct ukf_cmsg m = { .type = UKF_C_STATUS_REQ }, st;
		int rc;

		memset(&st, 0, sizeof(st));
		if (!c->ag[n].up) {
			/* (the transport cannot tell which: a refused key
			 * is only in the agent's log) */
			printf("node %u  %s  down (no answer within %.1f s: "
			       "ukforkd not running there, or not with this "
			       "cluster file's keys)\n",
			       n, c->cl->nodes[n].endpoint, timeout);
			down++;
			continue;
		}
		rc = request(c, n, &m, NULL, &st);
		if (rc < 0) {
			printf("node %u  %s  down (%s)\n", n,
			       c->cl->nodes[n].endpoint, strerror(-rc));
			down++;
			continue;
		}
		printf("node %u  %s  up  incarnation %llu\n", n,
		       c->cl->nodes[n].endpoint,
		       (unsigned long long)st.incarnation);
		printf("  backend    %s\n", st.text2);
		printf("  peers      %s\n", st.text);
		printf("  directory  %s\n", st.text4 && *st.text4 ? st.text4
								 : "embedded");
		if (st.run)
			printf("  run        %llu: %llu alive, %llu pending, %llu events; %u vCPUs of %u, %llu of %llu MiB\n",
			       (unsigned long long)st.run,
			       (unsigned long long)st.alive,
			       (unsigned long long)st.pending,
			       (unsigned long long)st.events, st.vcpus_used,
			       st.vcpus, (unsigned long long)(st.mem_used >> 20),
			       (unsigned long long)(st.mem >> 20));
		else
			printf("  run        none\n");
		printf("  templates  %s\n", st.text3 && *st.text3 ? st.text3
								: "(none)");
	}
	free_world(c);
	return down ? 1 : 0;
}
