/* SPDX-License-Identifier: MIT */
/* test_client.c - self-tests of the cluster client (agent/client.c) against fake agents: spawns that do not wait for a slow agent. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "agent/client.h"
#include "agent/cluster.h"
#include "agent/cmsg.h"
#include "agent/transport.h"
#include "core/apps.h"
#include "harness.h"
#include "tests/common/selftest.h"

/*
 * Two fake agents (nodes 0 and 1) in a thread of their own, answering the
 * client as ukforkd does, with two twists the test switches on:
 * - node 1 "paused": it keeps the spawns it gets, unanswered, until the
 *   test lets it go (then it answers them, late);
 * - node 0's first spawn fails at once: its fail and record go out
 *   before its answer, and the answer a moment later (as an engine that
 *   fails a request inside ukf_engine_spawn does, the client's poll in
 *   between).
 */
#define LONG_TAG 99
#define DUP_TAG 98 /* runs, and its row comes twice */
/* node 1: placed on node 0, which sends its row (before node 1's answer
 * names it); its end notice (to node 1, its origin) is not sent */
#define REMOTE_TAG 97

struct fake;
struct fake_node {
	struct fake *f;
	uint32_t k;
	ukf_tp_t *tp;
	uint64_t next;
};

struct fake {
	const char *path;
	struct fake_node n[2];
	int paused1, stop, ready; /* __atomic */
	uint64_t run;
	int64_t epoch; /* the run's, from RUN */
	uint32_t client; /* the client's handle (node 0's view) */
	int orphan0; /* __atomic: 1: node 0 sends the row of an instance
		      * node 1 made after its loss (placed on node 0) */
	struct { uint32_t to; uint64_t req, tag, app; } held[32];
	int nheld;
	int spawns0;
	uint64_t killed[32];
	int nkilled; /* __atomic */
	/* node 1 "stopped" (as SIGSTOP, its link up): what it gets is kept,
	 * untouched, and handled in order once it goes on */
	int stopped1; /* __atomic */
	struct { uint32_t from; uint16_t type; size_t len;
		 unsigned char body[512]; } kept[16];
	int nkept;
	uint32_t status_inst[2]; /* __atomic: the instances STATUS says */
	/* spawns with tag LONG_TAG run until the run ends: END stops them
	 * (FAIL, RECORD) before ENDED, as ukforkd does */
	uint64_t longid[8], longtag[8];
	uint32_t longto[8], longnode[8];
	int nlong;
	int restart1; /* __atomic: 1: node 1 restarts (a new incarnation) */
	unsigned only; /* nodes served (bit k: node k; 0: both) */
	int frozen1; /* __atomic: node 1 not polled (silent, as SIGSTOPped) */
	int loops;   /* __atomic: rounds of the fake's loop */
	int nstatus[2];		 /* __atomic: STATUS_REQs answered */
	char err[512];
};

static void fsend(struct fake_node *n, uint32_t to, struct ukf_cmsg *m)
{
	unsigned char buf[UKF_CMSG_BODY_MAX];
	size_t len;

	m->run = n->f->run;
	len = ukf_cmsg_encode(m, buf, sizeof(buf));
	if (len)
		ukf_tp_send(n->tp, to, (uint16_t)m->type, buf, len, NULL, 0);
}

static void fanswer(struct fake_node *n, uint32_t to, uint64_t req,
		    uint64_t id)
{
	struct ukf_cmsg m = { .type = UKF_C_ANSWER, .req = req, .id = id };

	fsend(n, to, &m);
}

static void frecord(struct fake_node *n, uint32_t to, uint64_t id,
		    uint64_t app, int64_t status, const char *why)
{
	struct ukf_cmsg m = { .type = UKF_C_RECORD, .id = id,
			      .app = (uint32_t)app, .origin = n->k,
			      .node = n->k, .status = status,
			      .t_ready = status ? -1 : 1, .text = why,
			      .text_len = why ? strlen(why) : 0 };

	fsend(n, to, &m);
}

static void fstate(struct fake_node *n, uint32_t to)
{
	struct ukf_cmsg m = { .type = UKF_C_STATE };

	fsend(n, to, &m);
}

/* A spawn that runs: answer, ready, exit 0, row, idle. */
static void frun(struct fake_node *n, uint32_t to, uint64_t req, uint64_t tag,
		 uint64_t app)
{
	uint64_t id = (uint64_t)n->k << 32 | ++n->next;
	struct ukf_cmsg r = { .type = UKF_C_READY, .id = id, .tag = tag };
	struct ukf_cmsg e = { .type = UKF_C_EXIT, .id = id, .tag = tag };

	fanswer(n, to, req, id);
	fsend(n, to, &r);
	fsend(n, to, &e);
	frecord(n, to, id, app, 0, NULL);
	fstate(n, to);
}

static void fake_msg(void *u, uint32_t from, const struct ukf_frame_header *h,
		     const void *body, size_t len, const void *bulk,
		     size_t bulk_len)
{
	struct fake_node *n = u;
	struct fake *f = n->f;
	struct ukf_cmsg m;
	char err[128];

	(void)bulk;
	(void)bulk_len;
	if (n->k == 1 && __atomic_load_n(&f->stopped1, __ATOMIC_SEQ_CST)) {
		if (f->nkept < 16 && len <= sizeof(f->kept[0].body)) {
			f->kept[f->nkept].from = from;
			f->kept[f->nkept].type = h->type;
			f->kept[f->nkept].len = len;
			memcpy(f->kept[f->nkept].body, body, len);
			f->nkept++;
		}
		return;
	}
	if (ukf_cmsg_decode(&m, h->type, body, len, 0, err, sizeof(err)) < 0)
		return;
	switch (m.type) {
	case UKF_C_STATUS_REQ: {
		char tpl[32];
		struct ukf_cmsg st = { .type = UKF_C_STATUS, .req = m.req,
				       .node = n->k };
		st.instances = __atomic_load_n(&f->status_inst[n->k],
					       __ATOMIC_SEQ_CST);
		snprintf(tpl, sizeof(tpl), "tpl%u-%u", n->k, st.instances);
		st.text3 = tpl;
		st.text3_len = strlen(tpl);
		fsend(n, from, &st);
		__atomic_add_fetch(&f->nstatus[n->k], 1, __ATOMIC_SEQ_CST);
		break;
	}
	case UKF_C_RUN:
		f->run = m.run;
		f->epoch = m.epoch_ns;
		if (n->k == 0)
			f->client = from;
		fanswer(n, from, m.req, 0);
		break;
	case UKF_C_START:
		fanswer(n, from, m.req, 0);
		fstate(n, from);
		break;
	case UKF_C_SPAWN:
		if (m.tag == LONG_TAG && f->nlong < 8) {
			uint64_t id = (uint64_t)n->k << 32 | ++n->next;
			struct ukf_cmsg r = { .type = UKF_C_READY, .id = id,
					      .tag = m.tag };
			fanswer(n, from, m.req, id);
			fsend(n, from, &r);
			f->longid[f->nlong] = id;
			f->longtag[f->nlong] = m.tag;
			f->longnode[f->nlong] = n->k;
			f->longto[f->nlong++] = from;
		} else if (n->k == 1 && m.tag == REMOTE_TAG) {
			uint64_t id = (uint64_t)n->k << 32 | ++n->next;
			struct ukf_cmsg r = { .type = UKF_C_READY, .id = id,
					      .tag = m.tag };
			struct ukf_cmsg rec = { .type = UKF_C_RECORD, .id = id,
						.origin = 1, .node = 0,
						.remote = 1, .t_ready = 1 };
			/* its row first, from node 0 (where it ran), then
			 * the answer that names it (the client polls
			 * meanwhile) */
			fsend(&f->n[0], f->client, &rec);
			usleep(200000);
			fanswer(n, from, m.req, id);
			fsend(n, from, &r);
		} else if (m.tag == DUP_TAG) {
			frun(n, from, m.req, m.tag, m.app);
			frecord(n, from, (uint64_t)n->k << 32 | n->next, m.app,
				0, NULL);
		} else if (n->k == 1 &&
			   __atomic_load_n(&f->paused1, __ATOMIC_SEQ_CST)) {
			if (f->nheld < 32)
				f->held[f->nheld++] = (typeof(f->held[0])){
				    from, m.req, m.tag, m.app };
		} else if (n->k == 0 && !f->spawns0++) {
			uint64_t id = ++n->next;
			struct ukf_cmsg fl = { .type = UKF_C_FAIL, .id = id,
					       .tag = m.tag, .text = "no room",
					       .text_len = 7 };
			fsend(n, from, &fl);
			frecord(n, from, id, m.app, -1000, "no room");
			usleep(200000); /* the client polls meanwhile */
			fanswer(n, from, m.req, id);
			fstate(n, from);
		} else
			frun(n, from, m.req, m.tag, m.app);
		break;
	case UKF_C_KILL: {
		int k = __atomic_load_n(&f->nkilled, __ATOMIC_SEQ_CST);
		if (k < 32) {
			f->killed[k] = m.id;
			__atomic_store_n(&f->nkilled, k + 1, __ATOMIC_SEQ_CST);
		}
		/* as ukforkd: an id it has not made is refused */
		if ((m.id >> 32) == n->k && (m.id & 0xffffffffULL) >= 100 &&
		    (m.id & 0xffffffffULL) <= n->next)
			fanswer(n, from, m.req, 0);
		else {
			struct ukf_cmsg a = { .type = UKF_C_ANSWER,
					      .req = m.req, .rc = -EINVAL };
			fsend(n, from, &a);
		}
		break;
	}
	case UKF_C_END: {
		struct ukf_cmsg e = { .type = UKF_C_ENDED };
		for (int i = 0; i < f->nlong; i++) {
			if (f->longnode[i] != n->k)
				continue;
			struct ukf_cmsg fl = { .type = UKF_C_FAIL,
					       .id = f->longid[i],
					       .tag = f->longtag[i],
					       .text = "the run ended",
					       .text_len = 13 };
			fsend(n, f->longto[i], &fl);
			frecord(n, f->longto[i], f->longid[i], 0, -1000,
				"the run ended");
		}
		for (int i = 0; i < f->nlong;)
			if (f->longnode[i] == n->k) {
				f->nlong--;
				f->longid[i] = f->longid[f->nlong];
				f->longtag[i] = f->longtag[f->nlong];
				f->longto[i] = f->longto[f->nlong];
				f->longnode[i] = f->longnode[f->nlong];
			} else
				i++;
		fsend(n, from, &e);
		break;
	}
	default:
		break;
	}
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	struct ukf_cluster *cl = NULL;
	const char *who[2] = { "node 0", "node 1" };

	if (ukf_cluster_load(&cl, f->path, f->err, sizeof(f->err)) < 0)
		goto out;
	for (uint32_t k = 0; k < 2; k++) {
		struct ukf_tp_config tc;
		memset(&tc, 0, sizeof(tc));
		if (f->only && !(f->only & (1u << k)))
			continue;
		f->n[k].f = f;
		f->n[k].k = k;
		f->n[k].next = 100 * (k + 1);
		if (ukf_cluster_tp_config(cl, who[k], 7 + k, &tc, f->err,
					  sizeof(f->err)) < 0)
			goto out;
		/* (frozen, it still holds the client: as an agent stopped
		 * shorter than its own view of peer_timeout) */
		tc.peer_timeout_ns = 60 * UKF_S;
		tc.on_message = fake_msg;
		tc.u = &f->n[k];
		f->n[k].tp = ukf_tp_create(&tc, f->err, sizeof(f->err));
		if (!f->n[k].tp)
			goto out;
	}
	__atomic_store_n(&f->ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST)) {
		__atomic_add_fetch(&f->loops, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&f->orphan0, __ATOMIC_SEQ_CST) == 1) {
			struct timespec ts;
			struct ukf_cmsg r = { .type = UKF_C_RECORD,
					      .id = (uint64_t)1 << 32 | 300,
					      .origin = 1, .node = 0,
					      .t_ready = 1 };
			clock_gettime(CLOCK_REALTIME, &ts);
			r.t_request = (int64_t)ts.tv_sec * 1000000000LL +
				      ts.tv_nsec - f->epoch;
			fsend(&f->n[0], f->client, &r);
			__atomic_store_n(&f->orphan0, 2, __ATOMIC_SEQ_CST);
		}
		if (__atomic_load_n(&f->restart1, __ATOMIC_SEQ_CST) == 1) {
			/* what it ran is gone with it */
			struct ukf_tp_config tc;
			memset(&tc, 0, sizeof(tc));
			ukf_tp_destroy(&f->n[1].tp);
			f->nlong = 0;
			f->nheld = 0;
			if (ukf_cluster_tp_config(cl, who[1], 70, &tc, f->err,
						  sizeof(f->err)) < 0)
				break;
			tc.on_message = fake_msg;
			tc.u = &f->n[1];
			f->n[1].tp = ukf_tp_create(&tc, f->err, sizeof(f->err));
			if (!f->n[1].tp)
				break;
			__atomic_store_n(&f->restart1, 2, __ATOMIC_SEQ_CST);
		}
		for (int k = 0; k < 2; k++)
			if (f->n[k].tp &&
			    !(k == 1 && __atomic_load_n(&f->frozen1,
							__ATOMIC_SEQ_CST)))
				ukf_tp_poll(f->n[k].tp, NULL, 0, 2 * UKF_MS);
		if (!__atomic_load_n(&f->paused1, __ATOMIC_SEQ_CST))
			for (int i = 0; i < f->nheld; i++)
				frun(&f->n[1], f->held[i].to, f->held[i].req,
				     f->held[i].tag, f->held[i].app);
		if (!__atomic_load_n(&f->paused1, __ATOMIC_SEQ_CST))
			f->nheld = 0;
		if (!__atomic_load_n(&f->stopped1, __ATOMIC_SEQ_CST) &&
		    f->nkept) {
			int nk = f->nkept;
			f->nkept = 0;
			for (int i = 0; i < nk; i++) {
				struct ukf_frame_header h = {
				    .type = f->kept[i].type };
				fake_msg(&f->n[1], f->kept[i].from, &h,
					 f->kept[i].body, f->kept[i].len, NULL,
					 0);
			}
		}
	}
out:
	ukf_cluster_destroy(&cl);
	if (!__atomic_load_n(&f->ready, __ATOMIC_SEQ_CST))
		__atomic_store_n(&f->ready, -1, __ATOMIC_SEQ_CST);
	for (int k = 0; k < 2; k++)
		ukf_tp_destroy(&f->n[k].tp);
	return NULL;
}

/* What the client handed on. */
#define SEEN_MAX 64
struct seen {
	struct { char what; ukf_id_t id; int64_t status; char why[96]; } ev[SEEN_MAX];
	int n;
};

static void seen_add(struct seen *s, char what, ukf_id_t id, int64_t status,
		     const char *why)
{
	if (s->n < SEEN_MAX) {
		s->ev[s->n].what = what;
		s->ev[s->n].id = id;
		s->ev[s->n].status = status;
		snprintf(s->ev[s->n].why, sizeof(s->ev[0].why), "%s",
			 why ? why : "");
		s->n++;
	}
}

static void on_ready(void *u, ukf_id_t id, uint64_t tag)
{
	(void)tag;
	seen_add(u, 'R', id, 0, NULL);
}

static void on_exit_(void *u, ukf_id_t id, uint64_t tag, int64_t status)
{
	(void)tag;
	seen_add(u, 'E', id, status, NULL);
}

static void on_fail(void *u, ukf_id_t id, uint64_t tag, const char *why)
{
	(void)tag;
	seen_add(u, 'F', id, 0, why);
}

static void on_record(void *u, const struct ukf_record *r)
{
	seen_add(u, 'W', r->id, r->status, r->fail_reason);
}

/* Index of the first event `what` about id, or -1. */
static int seen_find(const struct seen *s, char what, ukf_id_t id)
{
	for (int i = 0; i < s->n; i++)
		if (s->ev[i].what == what && s->ev[i].id == id)
			return i;
	return -1;
}

static int seen_count(const struct seen *s, char what)
{
	int c = 0;

	for (int i = 0; i < s->n; i++)
		c += s->ev[i].what == what;
	return c;
}

static int write_secret(const char *dir, const char *name, char pub[41])
{
	char sec[41], p[300];
	int fd;

	if (zmq_curve_keypair(pub, sec) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/%s.key", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, sec, 40) != 40 || write(fd, "\n", 1) != 1)
		return -1;
	return close(fd);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the world in steps of 50 ms until cond holds (a hang guard of 20 s,
 * not a measurement). */
static int run_until(struct ukf_world *w, int (*cond)(void *), void *arg)
{
	char err[256];
	int64_t end = mono_ms() + 20000;

	while (!cond(arg) && mono_ms() < end)
		if (w->ops->run(w->w, w->ops->now(w->w) + 50 * UKF_MS, NULL,
				err, sizeof(err)) < 0)
			return 0;
	return cond(arg);
}

struct want {
	struct seen *s;
	struct fake *f;
	char what;
	ukf_id_t id;
};

static int has_event(void *a)
{
	struct want *w = a;

	return seen_find(w->s, w->what, w->id) >= 0;
}

static int has_kill(void *a)
{
	return __atomic_load_n(&((struct want *)a)->f->nkilled,
			       __ATOMIC_SEQ_CST) > 0;
}

/* Two fake agents, a world of theirs (answers awaited up to timeout_ns),
 * one app (0) registered and the run started. */
struct env {
	char dir[64], path[128];
	struct fake f;
	struct seen s;
	struct ukf_world w;
	pthread_t th;
	int thread;
	pid_t child; /* node 1's fake in a process of its own (SIGKILL) */
	const char *peer_timeout; /* the cluster file's (NULL: 10s) */
	char log[8][200]; /* the first event-log lines */
	int nlog;
};

static void on_log(void *u, ukf_ns_t t, ukf_node_id_t node, const char *line)
{
	struct env *e = (struct env *)((char *)u - offsetof(struct env, s));

	(void)t;
	(void)node;
	if (e->nlog < 8)
		snprintf(e->log[e->nlog++], sizeof(e->log[0]), "%s", line);
}

static int env_up2(struct env *e, int64_t timeout_ns,
		   const struct ukf_engine_hooks *hooks, int child1,
		   const char *peer_timeout);

static int env_up(struct env *e, int64_t timeout_ns,
		  const struct ukf_engine_hooks *hooks)
{
	return env_up2(e, timeout_ns, hooks, 0, NULL);
}

/* As env_up; child1: node 1's fake runs in a child process (e->child),
 * which the test can SIGKILL as an agent killed. */
static int env_up2(struct env *e, int64_t timeout_ns,
		   const struct ukf_engine_hooks *hooks, int child1,
		   const char *peer_timeout)
{
	char text[2048], pub0[41], pub1[41], pubc[41], err[512];
	struct ukf_cluster_world_config cfg;
	struct ukf_world_sinks sinks;
	struct ukf_app app;
	int rc;

	memset(e, 0, sizeof(*e));
	e->peer_timeout = peer_timeout ? peer_timeout : "10s";
	snprintf(e->dir, sizeof(e->dir), "/tmp/ukf-client-test-XXXXXX");
	CHECK(mkdtemp(e->dir));
	CHECK(write_secret(e->dir, "node0", pub0) == 0);
	CHECK(write_secret(e->dir, "node1", pub1) == 0);
	CHECK(write_secret(e->dir, "runner", pubc) == 0);
	snprintf(text, sizeof(text),
		 "[cluster]\nname = t\nheartbeat = 50ms\npeer_timeout = %s\n"
		 "[node 0]\nendpoint = tcp://127.0.0.1:%d\npublic_key = %s\n"
		 "secret_key_file = node0.key\n"
		 "[node 1]\nendpoint = tcp://127.0.0.1:%d\npublic_key = %s\n"
		 "secret_key_file = node1.key\n"
		 "[client runner]\npublic_key = %s\n"
		 "secret_key_file = runner.key\n",
		 e->peer_timeout, h_free_port(), pub0, h_free_port(), pub1,
		 pubc);
	snprintf(e->path, sizeof(e->path), "%s/c.conf", e->dir);
	{
		FILE *fp = fopen(e->path, "w");
		CHECK(fp && fputs(text, fp) >= 0 && fclose(fp) == 0);
	}
	e->f.path = e->path;
	if (child1) {
		/* (before any thread or ZeroMQ context of this process) */
		e->child = fork();
		CHECK(e->child >= 0);
		if (!e->child) {
			static struct fake f1;
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			f1.path = e->path;
			f1.only = 2;
			fake_main(&f1);
			_exit(0);
		}
		e->f.only = 1;
	}
	CHECK(pthread_create(&e->th, NULL, fake_main, &e->f) == 0);
	e->thread = 1;
	while (!__atomic_load_n(&e->f.ready, __ATOMIC_SEQ_CST))
		usleep(1000);
	CHECKF(__atomic_load_n(&e->f.ready, __ATOMIC_SEQ_CST) == 1, "%s",
	       e->f.err);

	ukf_cluster_world_config_default(&cfg);
	cfg.cluster_file = e->path;
	cfg.connect_timeout_ns = timeout_ns; /* and for the answers */
	memset(&sinks, 0, sizeof(sinks));
	sinks.record = on_record;
	sinks.log = on_log;
	if (hooks)
		sinks.hooks = *hooks;
	else
		sinks.hooks = (struct ukf_engine_hooks){ .on_ready = on_ready,
							 .on_exit = on_exit_,
							 .on_fail = on_fail,
							 .u = &e->s };
	sinks.u = &e->s;
	rc = ukf_cluster_world_create(&e->w, &cfg, &sinks, err, sizeof(err));
	CHECKF(rc == 0, "%s", err);
	CHECK(ukf_app_parse(&app, "s", "mem=8M init=1ms work=1ms", err,
			    sizeof(err)) == 0);
	CHECK(e->w.ops->add_app(e->w.w, &app) == 0);
	CHECK(e->w.ops->start(e->w.w) == 0);
	return 0;
}

static void env_down(struct env *e)
{
	char cmd[128];

	if (e->w.w)
		e->w.ops->destroy(&e->w.w);
	if (e->thread) {
		__atomic_store_n(&e->f.stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(e->th, NULL);
	}
	if (e->child > 0) {
		kill(e->child, SIGKILL);
		waitpid(e->child, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	(void)system(cmd);
}

static int test_client_async(void)
{
	static struct env e;
	char err[512];
	ukf_id_t a = 0, b = 0, c = 0;

	if (env_up(&e, 5 * UKF_S, NULL)) {
		env_down(&e);
		return 1;
	}
	/* node 1 paused: its spawn is sent, not waited for */
	__atomic_store_n(&e.f.paused1, 1, __ATOMIC_SEQ_CST);
	CHECK(e.w.ops->spawn(e.w.w, 1, 0, "", 1, &a) == 0);
	CHECK(e.w.ops->spawn(e.w.w, 0, 0, "", 2, &b) == 0);
	CHECK(e.w.ops->spawn(e.w.w, 0, 0, "", 3, &c) == 0);
	CHECK(a != b && b != c && a != c);
	/* node 0's requests are served while node 1's waits: c ran, b
	 * failed, under the ids the client gave (b's fail and row came
	 * before its answer named the agent's id) */
	{
		struct want wc = { &e.s, &e.f, 'W', c };
		CHECK(run_until(&e.w, has_event, &wc));
	}
	CHECK(seen_find(&e.s, 'R', c) >= 0 && seen_find(&e.s, 'E', c) >= 0);
	CHECK(seen_find(&e.s, 'F', b) >= 0);
	CHECK(seen_find(&e.s, 'W', b) >= 0 &&
	      e.s.ev[seen_find(&e.s, 'W', b)].status == -1000 &&
	      !strcmp(e.s.ev[seen_find(&e.s, 'W', b)].why, "no room"));
	CHECK(seen_find(&e.s, 'F', a) < 0 && seen_find(&e.s, 'W', a) < 0);
	CHECKF(e.s.n == 5, "%d events handed on", e.s.n); /* R E W of c, F W of b */
	/* node 1 never answers in time: a fails, with a row */
	{
		struct want wa = { &e.s, &e.f, 'W', a };
		CHECK(run_until(&e.w, has_event, &wa));
	}
	CHECK(seen_find(&e.s, 'F', a) >= 0);
	CHECKF(!strcmp(e.s.ev[seen_find(&e.s, 'W', a)].why,
		       "the agent of node 1 did not answer within 5.0 s"),
	       "'%s'", e.s.ev[seen_find(&e.s, 'W', a)].why);
	/* node 1 answers late: what it made is killed, nothing of it is
	 * handed on (one row per request) */
	__atomic_store_n(&e.f.paused1, 0, __ATOMIC_SEQ_CST);
	{
		struct want wk = { &e.s, &e.f, 0, 0 };
		CHECK(run_until(&e.w, has_kill, &wk));
	}
	CHECK(e.f.killed[0] == ((uint64_t)1 << 32 | 201));
	e.w.ops->run(e.w.w, e.w.ops->now(e.w.w) + 200 * UKF_MS, NULL, err,
		   sizeof(err));
	CHECKF(seen_count(&e.s, 'W') == 3, "%d rows", seen_count(&e.s, 'W'));
	CHECK(seen_count(&e.s, 'R') == 1);
	e.w.ops->destroy(&e.w.w);
	CHECK(seen_count(&e.s, 'W') == 3);
	env_down(&e);
	return 0;
}

/* A hang guard for calls that must not wait for a stopped agent (the
 * client's own timeout is an hour there): not a measurement. */
static const char *guard_what = "";

static void guard_alarm(int sig)
{
	(void)sig;
	(void)!write(2, "hang guard: ", 12);
	(void)!write(2, guard_what, strlen(guard_what));
	(void)!write(2, "\n", 1);
	_exit(1);
}

struct stats_want {
	struct ukf_world *w;
	uint32_t node, instances;
};

static int has_stats(void *a)
{
	struct stats_want *sw = a;
	struct ukf_node_stats st;

	return sw->w->ops->node_stats(sw->w->w, sw->node, &st) == 0 &&
	       st.instances == sw->instances;
}


/*
 * node_stats, node_templates and the kill of an id the client did not
 * make do not wait for the agent: a stopped agent (node 1) does not stall
 * the run; they answer from its last known state, and its answers, when
 * it goes on, refresh it.
 */
static int test_client_status(void)
{
	static struct env e;
	struct ukf_node_stats st;
	char buf[64];
	ukf_id_t x = 0;

	if (env_up(&e, 3600 * UKF_S, NULL)) {
		env_down(&e);
		return 1;
	}
	__atomic_store_n(&e.f.status_inst[0], 3, __ATOMIC_SEQ_CST);
	__atomic_store_n(&e.f.status_inst[1], 5, __ATOMIC_SEQ_CST);
	{
		struct stats_want s0 = { &e.w, 0, 3 }, s1 = { &e.w, 1, 5 };
		CHECK(run_until(&e.w, has_stats, &s0));
		CHECK(run_until(&e.w, has_stats, &s1));
	}
	CHECK(e.w.ops->node_templates(e.w.w, 1, buf, sizeof(buf)) == 6 &&
	      !strcmp(buf, "tpl1-5"));
	CHECK(e.w.ops->node_stats(e.w.w, 2, &st) == -EINVAL);

	/* node 1 stopped: what was known of it, at once */
	__atomic_store_n(&e.f.status_inst[1], 6, __ATOMIC_SEQ_CST);
	__atomic_store_n(&e.f.stopped1, 1, __ATOMIC_SEQ_CST);
	signal(SIGALRM, guard_alarm);
	guard_what = "node_stats waited for a stopped agent";
	alarm(30);
	for (int i = 0; i < 3; i++) {
		CHECK(e.w.ops->node_stats(e.w.w, 1, &st) == 0);
		CHECK(st.instances == 5);
	}
	guard_what = "node_templates waited for a stopped agent";
	CHECK(e.w.ops->node_templates(e.w.w, 1, buf, sizeof(buf)) == 6 &&
	      !strcmp(buf, "tpl1-5"));
	/* an id no spawn or fork gave names no instance of the caller's:
	 * at once (it asked the agent before, as well as for the stats) */
	guard_what = "kill of another id waited for a stopped agent";
	CHECK(e.w.ops->kill(e.w.w, (uint64_t)1 << 32 | 999) == -ESRCH);
	CHECK(e.w.ops->kill(e.w.w, (uint64_t)7 << 32 | 1) == -ESRCH);
	CHECK(e.w.ops->kill(e.w.w, (uint64_t)1 << 32 | 0x80000000ULL | 77) ==
	      -ESRCH);
	/* the other node's work goes on meanwhile (its first spawn fails:
	 * the fake's twist) */
	guard_what = "a run step waited for a stopped agent";
	CHECK(e.w.ops->spawn(e.w.w, 0, 0, "", 8, &x) == 0);
	CHECK(e.w.ops->spawn(e.w.w, 0, 0, "", 9, &x) == 0);
	{
		struct want wx = { &e.s, &e.f, 'W', x };
		CHECK(run_until(&e.w, has_event, &wx));
	}
	alarm(0);
	CHECK(seen_find(&e.s, 'R', x) >= 0);

	/* it goes on: its answers refresh what is known */
	__atomic_store_n(&e.f.stopped1, 0, __ATOMIC_SEQ_CST);
	{
		struct stats_want s1 = { &e.w, 1, 6 };
		CHECK(run_until(&e.w, has_stats, &s1));
	}
	CHECK(e.w.ops->node_templates(e.w.w, 1, buf, sizeof(buf)) == 6 &&
	      !strcmp(buf, "tpl1-6"));
	env_down(&e);
	return 0;
}

static size_t debug_slots(const struct ukf_world *w)
{
	struct ukf_cluster_world_debug d;

	ukf_cluster_world_debug(w, &d);
	return d.slots;
}

struct rows_want {
	struct seen *s;
	int rows;
};

static int has_rows(void *a)
{
	struct rows_want *rw = a;

	return seen_count(rw->s, 'W') >= rw->rows;
}

/*
 * A long run does not keep what it no longer needs: 40 rounds of 16
 * spawns (each ends, with its row) leave the request table and id maps
 * as big as after the first round (they grew by every request before).
 */
static int test_client_slots(void)
{
	static struct env e;
	size_t first = 0, last;
	int rows = 0;
	ukf_id_t id0 = 0, id = 0;

	if (env_up(&e, 30 * UKF_S, NULL)) {
		env_down(&e);
		return 1;
	}
	for (int round = 0; round < 40; round++) {
		for (int k = 0; k < 16; k++) {
			CHECK(e.w.ops->spawn(e.w.w, (uint32_t)(k & 1), 0, "",
					     (uint64_t)k, &id) == 0);
			if (!id0)
				id0 = id;
			CHECK(id != id0 || (!round && !k)); /* ids not reused */
		}
		rows += 16;
		e.s.n = 0; /* only counts matter here */
		{
			struct rows_want rw = { &e.s, 16 };
			CHECK(run_until(&e.w, has_rows, &rw));
		}
		if (!round)
			first = debug_slots(&e.w);
	}
	last = debug_slots(&e.w);
	CHECKF(first > 0 && last <= first,
	       "after %d requests: %zu entries kept, %zu after the first 16",
	       rows, last, first);
	/* an id whose request was let go names no instance, as one ended */
	CHECK(e.w.ops->kill(e.w.w, id0) == -ESRCH);
	CHECK(e.w.ops->fork(e.w.w, id0, 1, &id) == -ESRCH);
	env_down(&e);
	return 0;
}

/* Hooks that ask the world's time, as ukfork run's do. */
struct asker {
	struct ukf_world *w;
	struct seen *s;
	int asked;
	ukf_ns_t t;
};

static void ask_fail(void *u, ukf_id_t id, uint64_t tag, const char *why)
{
	struct asker *a = u;

	(void)tag;
	a->t = a->w->ops->now(a->w->w);
	a->asked++;
	seen_add(a->s, 'F', id, 0, why);
}

static void ask_ready(void *u, ukf_id_t id, uint64_t tag)
{
	struct asker *a = u;

	(void)tag;
	seen_add(a->s, 'R', id, 0, NULL);
}

/*
 * A run interrupted while an instance runs (node 0) and a spawn is
 * unanswered (node 1 stopped, as by SIGSTOP): destroy ends the run on
 * the agents; node 0 stops its instance, whose failure reaches the hooks,
 * which ask the world's time, while the world is ending (a NULL world
 * crashed there: 87f21cc); node 1 never confirms the end, and the
 * spawn sent to it fails, past its deadline, the same way.
 */
static int test_client_destroy(void)
{
	static struct env e;
	static struct asker a;
	struct ukf_engine_hooks h = { .on_ready = ask_ready,
				      .on_fail = ask_fail, .u = &a };
	ukf_id_t x = 0, y = 0;
	int i;

	a.w = &e.w;
	a.s = &e.s;
	if (env_up(&e, 1500 * UKF_MS, &h)) {
		env_down(&e);
		return 1;
	}
	/* y runs on node 0 until the run ends */
	CHECK(e.w.ops->spawn(e.w.w, 0, 0, "", LONG_TAG, &y) == 0);
	{
		struct want wy = { &e.s, &e.f, 'R', y };
		CHECK(run_until(&e.w, has_event, &wy));
	}
	__atomic_store_n(&e.f.stopped1, 1, __ATOMIC_SEQ_CST);
	CHECK(e.w.ops->spawn(e.w.w, 1, 0, "", 4, &x) == 0);
	e.w.ops->destroy(&e.w.w); /* the run interrupted at once */
	CHECK(e.w.w == NULL);
	CHECKF(a.asked == 2, "%d failures asked the time", a.asked);
	CHECK(a.t > 0);
	/* y stopped by node 0's end: its fail and row */
	i = seen_find(&e.s, 'F', y);
	CHECK(i >= 0 && !strcmp(e.s.ev[i].why, "the run ended"));
	i = seen_find(&e.s, 'W', y);
	CHECK(i >= 0 && e.s.ev[i].status == -1000);
	/* x unanswered: it fails as one past its deadline does */
	i = seen_find(&e.s, 'F', x);
	CHECK(i >= 0 && !strcmp(e.s.ev[i].why,
				"the agent of node 1 did not answer within 1.5 s"));
	i = seen_find(&e.s, 'W', x);
	CHECK(i >= 0 && e.s.ev[i].status == UKF_STATUS_FAILED);
	CHECKF(seen_count(&e.s, 'W') == 2, "%d rows", seen_count(&e.s, 'W'));
	__atomic_store_n(&e.f.stopped1, 0, __ATOMIC_SEQ_CST);
	env_down(&e);
	return 0;
}

struct fails_want {
	struct seen *s;
	ukf_id_t id[4];
	int n;
};

static int has_fails(void *a)
{
	struct fails_want *fw = a;

	for (int i = 0; i < fw->n; i++)
		if (seen_find(fw->s, 'F', fw->id[i]) < 0 ||
		    seen_find(fw->s, 'W', fw->id[i]) < 0)
			return 0;
	return 1;
}

/*
 * An agent restarted during the run (node 1; the same for one lost): the
 * instance it ran and the spawn it had not answered fail at once (fail
 * and row, "the agent of node 1 was lost during the run"), so a process
 * waiting for them goes on; spawns and forks sent its way afterwards
 * fail the same way instead of -EHOSTDOWN (a Lua error in ukfork run:
 * "node 1 has failed (fail_node)", exit 2, the run not stored); node 0
 * goes on; one row per request.
 */
static int test_client_lost(void)
{
	static struct env e;
	const char *why = "the agent of node 1 was lost during the run";
	ukf_id_t y = 0, x = 0, z = 0, k = 0, a = 0, b = 0;
	int i;

	if (env_up(&e, 5 * UKF_S, NULL)) {
		env_down(&e);
		return 1;
	}
	CHECK(e.w.ops->spawn(e.w.w, 1, 0, "", LONG_TAG, &y) == 0);
	{
		struct want wy = { &e.s, &e.f, 'R', y };
		CHECK(run_until(&e.w, has_event, &wy));
	}
	__atomic_store_n(&e.f.paused1, 1, __ATOMIC_SEQ_CST);
	CHECK(e.w.ops->spawn(e.w.w, 1, 0, "", 5, &x) == 0);
	__atomic_store_n(&e.f.restart1, 1, __ATOMIC_SEQ_CST);
	{
		struct fails_want fw = { &e.s, { y, x }, 2 };
		CHECK(run_until(&e.w, has_fails, &fw));
	}
	/* sent its way now: an id, and the same failure */
	CHECK(e.w.ops->spawn(e.w.w, 1, 0, "", 6, &z) == 0);
	CHECK(e.w.ops->fork(e.w.w, y, 7, &k) == 0);
	{
		struct fails_want fw = { &e.s, { z, k }, 2 };
		CHECK(run_until(&e.w, has_fails, &fw));
	}
	CHECK(e.w.ops->kill(e.w.w, y) == -ESRCH);
	ukf_id_t ids[4] = { y, x, z, k };
	for (int j = 0; j < 4; j++) {
		i = seen_find(&e.s, 'F', ids[j]);
		CHECKF(i >= 0 && !strcmp(e.s.ev[i].why, why), "%d: '%s'", j,
		       i >= 0 ? e.s.ev[i].why : "");
		i = seen_find(&e.s, 'W', ids[j]);
		CHECK(i >= 0 && e.s.ev[i].status == UKF_STATUS_FAILED &&
		      !strcmp(e.s.ev[i].why, why));
	}
	/* node 0 goes on (its first spawn fails: the fake's twist) */
	CHECK(e.w.ops->spawn(e.w.w, 0, 0, "", 8, &a) == 0);
	CHECK(e.w.ops->spawn(e.w.w, 0, 0, "", 9, &b) == 0);
	{
		struct want wb = { &e.s, &e.f, 'W', b };
		CHECK(run_until(&e.w, has_event, &wb));
	}
	CHECK(seen_find(&e.s, 'R', b) >= 0);
	e.w.ops->destroy(&e.w.w);
	CHECKF(seen_count(&e.s, 'W') == 6, "%d rows for 6 requests",
	       seen_count(&e.s, 'W'));
	env_down(&e);
	return 0;
}

/*
 * An agent killed (SIGKILL: its link drops, it is declared lost only
 * peer_timeout later): spawns sent its way meanwhile do not wait for a
 * link (send_to waited 2 s each and then failed -EAGAIN, which ukfork run
 * took for a bad scenario: "spawn: Resource temporarily unavailable",
 * exit 2, the run not stored); they wait, unsent, and fail with the
 * agent's loss; the other node goes on.
 */
static int test_client_killed(void)
{
	static struct env e;
	struct ukf_cluster_world_debug d;
	const char *why = "the agent of node 1 was lost during the run";
	ukf_id_t y = 0, ids[64], b = 0;
	int n = 0, i;
	int64_t end;

	if (env_up2(&e, 30 * UKF_S, NULL, 1, "2s")) {
		env_down(&e);
		return 1;
	}
	CHECK(e.w.ops->spawn(e.w.w, 1, 0, "", LONG_TAG, &y) == 0);
	{
		struct want wy = { &e.s, &e.f, 'R', y };
		CHECK(run_until(&e.w, has_event, &wy));
	}
	CHECK(kill(e.child, SIGKILL) == 0);
	CHECK(waitpid(e.child, NULL, 0) == e.child);
	e.child = 0;
	/* spawns to node 1 until one finds its link down (a hang guard) */
	end = mono_ms() + 20000;
	do {
		char err[128];
		CHECK(n < 64 && mono_ms() < end);
		CHECKF(e.w.ops->spawn(e.w.w, 1, 0, "", 20, &ids[n]) == 0,
		       "spawn %d after the kill refused", n);
		n++;
		e.w.ops->run(e.w.w, e.w.ops->now(e.w.w) + 20 * UKF_MS, NULL,
			     err, sizeof(err));
		ukf_cluster_world_debug(&e.w, &d);
	} while (!d.unsent);
	/* node 0 goes on (its first spawn fails: the fake's twist) */
	CHECK(e.w.ops->spawn(e.w.w, 0, 0, "", 8, &b) == 0);
	CHECK(e.w.ops->spawn(e.w.w, 0, 0, "", 9, &b) == 0);
	{
		struct want wb = { &e.s, &e.f, 'R', b };
		CHECK(run_until(&e.w, has_event, &wb));
	}
	/* node 1 declared lost: everything of it fails so */
	{
		struct want wy = { &e.s, &e.f, 'F', y };
		CHECK(run_until(&e.w, has_event, &wy));
	}
	for (i = 0; i < n; i++) {
		struct want wi = { &e.s, &e.f, 'W', ids[i] };
		int k;
		CHECK(run_until(&e.w, has_event, &wi));
		k = seen_find(&e.s, 'W', ids[i]);
		CHECKF(!strcmp(e.s.ev[k].why, why), "%d: '%s'", i,
		       e.s.ev[k].why);
	}
	ukf_cluster_world_debug(&e.w, &d);
	CHECK(d.unsent == 0);
	env_down(&e);
	return 0;
}

static int has_ignored(void *a)
{
	struct ukf_cluster_world_debug d;

	ukf_cluster_world_debug(a, &d);
	return d.ignored >= 3;
}

struct ignored_want {
	struct ukf_world *w;
	uint64_t more_than;
};

static int has_ignored_more(void *a)
{
	struct ignored_want *iw = a;
	struct ukf_cluster_world_debug d;

	ukf_cluster_world_debug(iw->w, &d);
	return d.ignored > iw->more_than;
}

/*
 * An agent declared lost that comes back (silent past peer_timeout, as
 * SIGSTOPped, then SIGCONT): the spawn it got meanwhile has failed here
 * with the loss; that it runs it after all hands on nothing (before:
 * its ready, exit and a second row, under the agent's id). And a row
 * that comes twice for a request already let go (placed again after a
 * peer's loss, it ran twice) comes under the client's id both times, as
 * ukfork run keeps one row per id (before: the second under the
 * agent's id, a row of its own).
 */
static int test_client_back(void)
{
	static struct env e;
	const char *why = "the agent of node 1 was lost during the run";
	ukf_id_t y = 0, x = 0, d = 0, z = 0;
	uint64_t xa = (uint64_t)1 << 32 | 204;
	int i, rows = 0;

	if (env_up2(&e, 30 * UKF_S, NULL, 0, "1s")) {
		env_down(&e);
		return 1;
	}
	/* a row twice (node 1's instance 201) */
	CHECK(e.w.ops->spawn(e.w.w, 1, 0, "", DUP_TAG, &d) == 0);
	{
		struct rows_want rw = { &e.s, 2 };
		CHECK(run_until(&e.w, has_rows, &rw));
	}
	for (i = 0; i < e.s.n; i++)
		if (e.s.ev[i].what == 'W') {
			CHECKF(e.s.ev[i].id == d, "a row of %llu",
			       (unsigned long long)e.s.ev[i].id);
			rows++;
		}
	CHECK(rows == 2);
	/* z runs on node 0 for node 1: its row (from node 0) comes, its
	 * end notice would come from node 1 */
	CHECK(e.w.ops->spawn(e.w.w, 1, 0, "", REMOTE_TAG, &z) == 0);
	{
		struct want wz = { &e.s, &e.f, 'W', z };
		CHECK(run_until(&e.w, has_event, &wz));
	}
	/* node 1 silent: lost; a spawn it holds meanwhile fails so */
	CHECK(e.w.ops->spawn(e.w.w, 1, 0, "", LONG_TAG, &y) == 0);
	{
		struct want wy = { &e.s, &e.f, 'R', y };
		CHECK(run_until(&e.w, has_event, &wy));
	}
	__atomic_store_n(&e.f.frozen1, 1, __ATOMIC_SEQ_CST);
	{
		/* a round begun after the freeze: node 1 no longer polled */
		int l = __atomic_load_n(&e.f.loops, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&e.f.loops, __ATOMIC_SEQ_CST) < l + 2)
			usleep(1000);
	}
	CHECK(e.w.ops->spawn(e.w.w, 1, 0, "", 5, &x) == 0);
	{
		struct fails_want fw = { &e.s, { y, x }, 2 };
		CHECK(run_until(&e.w, has_fails, &fw));
	}
	i = seen_find(&e.s, 'F', x);
	CHECK(i >= 0 && !strcmp(e.s.ev[i].why, why));
	/* z's end, from its row: a process waiting for it goes on (its
	 * wait hung until the run's end); one row still */
	{
		struct want wz = { &e.s, &e.f, 'E', z };
		CHECK(run_until(&e.w, has_event, &wz));
	}
	CHECK(e.s.ev[seen_find(&e.s, 'E', z)].status == 0);
	CHECK(seen_find(&e.s, 'F', z) < 0);
	/* back: it runs x (its instance 203: ready, exit, row, state) */
	__atomic_store_n(&e.f.frozen1, 0, __ATOMIC_SEQ_CST);
	CHECK(run_until(&e.w, has_ignored, &e.w));
	CHECK(seen_find(&e.s, 'R', xa) < 0 && seen_find(&e.s, 'E', xa) < 0 &&
	      seen_find(&e.s, 'W', xa) < 0);
	CHECK(seen_find(&e.s, 'R', x) < 0);
	/* a request node 1 made after its loss and placed on node 0: its
	 * row, from node 0, is of no request of this run */
	{
		struct ukf_cluster_world_debug dd;
		struct ignored_want iw = { &e.w, 0 };
		ukf_cluster_world_debug(&e.w, &dd);
		iw.more_than = dd.ignored;
		__atomic_store_n(&e.f.orphan0, 1, __ATOMIC_SEQ_CST);
		CHECK(run_until(&e.w, has_ignored_more, &iw));
	}
	CHECK(seen_find(&e.s, 'W', (uint64_t)1 << 32 | 300) < 0);
	env_down(&e);
	return 0;
}

static const struct selftest tests[] = {
    {"client_async", test_client_async},
    {"client_status", test_client_status},
    {"client_slots", test_client_slots},
    {"client_destroy", test_client_destroy},
    {"client_lost", test_client_lost},
    {"client_killed", test_client_killed},
    {"client_back", test_client_back},
};

int main(int argc, char **argv)
{
	return selftest_main(tests, SELFTEST_COUNT(tests), argc, argv);
}
