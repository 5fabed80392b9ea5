/* SPDX-License-Identifier: MIT */
/* agentd.c - ukforkd, the node agent: transport, peers, directory updates, the client protocol, one run's live world at a time. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/agentd.h"
#include "agent/cluster.h"
#include "agent/cmsg.h"
#include "agent/dir_etcd.h"
#include "agent/dmsg.h"
#include "agent/transport.h"
#include "backends/registry.h"
#include "core/engine.h"
#include "live/live.h"

enum { L_ERR = 3, L_WARN = 4, L_INFO = 6, L_DEBUG = 7 };

struct agentd {
	struct ukf_cluster *cl;
	uint32_t self, nodes;
	uint64_t incarnation;
	ukf_tp_t *tp;
	/* log */
	const char *log_path;
	FILE *log;
	int log_level;
	/* settings from the command line */
	const char *backend;	  /* override of the cluster file's */
	const char *template_dir; /* default for runs that name none */
	/* peers: 1 up */
	uint8_t *up;
	/* the directory on etcd (directory = etcd), NULL: embedded */
	ukf_dir_etcd_t *de;
	char etcd_prefix[300];
	/* the run in progress (one at a time) */
	uint64_t run;
	uint32_t client; /* its client's handle */
	int have_world, started, app_error;
	char app_why[512]; /* why an app was refused: START's answer says it */
	struct ukf_world world;
	struct ukf_live_net net;
	struct ukf_live_config lc;
	char placement[64], templates[64], tdir[PATH_MAX];
	volatile int end_run;	/* END received (or client lost) */
	int last_busy;		/* busy (1) / idle (0) as last told */
	/* trace lines (UKF_C_LOG) encoded and held until the loop is idle:
	 * sent as they came, each a message to the client on the engine's
	 * thread, they put their cost inside the operations they trace
	 * (template clones 5-10% slower traced, session 34), and
	 * calibrate measures with a trace */
	unsigned char *logq;
	size_t logq_len;
	unsigned logq_n;
	uint64_t rx; /* frames and peer events handled (net_wait's look) */
	uint64_t events_base;
	/* signals */
	volatile sig_atomic_t stop, reopen;
};

static struct agentd *g_sig; /* the one agent of this process (signals) */

static void alog(struct agentd *a, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void alog(struct agentd *a, int level, const char *fmt, ...)
{
	static const char *const lv[] = { [L_ERR] = "error",
					  [L_WARN] = "warning",
					  [L_INFO] = "info",
					  [L_DEBUG] = "debug" };
	char ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;
	FILE *out = a->log ? a->log : stderr;

	if (level > a->log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(out, "%s.%03ldZ node %u %s: ", ts, now.tv_nsec / 1000000,
		a->self, lv[level] ? lv[level] : "?");
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
}

static void on_signal(int sig)
{
	if (!g_sig)
		return;
	if (sig == SIGHUP)
		g_sig->reopen = 1;
	else
		g_sig->stop = 1;
}

static void reopen_log(struct agentd *a)
{
	FILE *f;

	a->reopen = 0;
	if (!a->log_path)
		return;
	f = fopen(a->log_path, "a");
	if (!f) {
		alog(a, L_ERR, "cannot reopen log %s: %s (keeping the old one)",
		     a->log_path, strerror(errno));
		return;
	}
	if (a->log)
		fclose(a->log);
	a->log = f;
	alog(a, L_INFO, "log reopened");
}

/* ---- to the client ---- */

/* The held trace lines (each a length then an encoded UKF_C_LOG). */
#define LOGQ_CAP (256u * 1024)
#define LOGQ_MAX 512u
_Static_assert(UKF_CMSG_BODY_MAX + sizeof(uint32_t) <= LOGQ_CAP,
	       "a line fits an emptied queue");

static void flush_logs(struct agentd *a)
{
	size_t off = 0;

	while (a->client && off + sizeof(uint32_t) <= a->logq_len) {
		uint32_t len;
		memcpy(&len, a->logq + off, sizeof(len));
		off += sizeof(len);
		int rc = ukf_tp_send(a->tp, a->client, UKF_C_LOG,
				     a->logq + off, len, NULL, 0);
		if (rc < 0)
			alog(a, L_DEBUG, "send %s to the client: %s",
			     ukf_cmsg_name(UKF_C_LOG), strerror(-rc));
		if (rc == -EHOSTUNREACH)
			break; /* the client is gone: the rest with it */
		off += len;
	}
	a->logq_len = 0;
	a->logq_n = 0;
}

static void to_client(struct agentd *a, struct ukf_cmsg *m)
{
	unsigned char buf[UKF_CMSG_BODY_MAX];
	size_t len;
	int rc;

	if (!a->client)
		return;
	m->run = a->run;
	len = ukf_cmsg_encode(m, buf, sizeof(buf));
	if (!len) {
		alog(a, L_WARN, "cannot encode %s for the client",
		     ukf_cmsg_name(m->type));
		return;
	}
	if (m->type == UKF_C_LOG) {
		/* held (in order) until idle, a full queue, or the next
		 * other message to the client */
		if (!a->logq)
			a->logq = malloc(LOGQ_CAP);
		if (a->logq) {
			uint32_t l32 = (uint32_t)len;
			if (a->logq_n >= LOGQ_MAX ||
			    a->logq_len + sizeof(l32) + len > LOGQ_CAP)
				flush_logs(a);
			memcpy(a->logq + a->logq_len, &l32, sizeof(l32));
			memcpy(a->logq + a->logq_len + sizeof(l32), buf, len);
			a->logq_len += sizeof(l32) + len;
			a->logq_n++;
			return;
		}
		/* no memory for the queue: sent at once, as before */
	} else {
		flush_logs(a);
	}
	rc = ukf_tp_send(a->tp, a->client, (uint16_t)m->type, buf, len, NULL,
			 0);
	if (rc < 0)
		alog(a, L_DEBUG, "send %s to the client: %s",
		     ukf_cmsg_name(m->type), strerror(-rc));
}

static void answer_why(struct agentd *a, uint32_t to, uint64_t req,
		       int64_t rc, uint64_t id, const char *why)
{
	struct ukf_cmsg m = { .type = UKF_C_ANSWER, .req = req, .rc = rc,
			      .id = id, .text = why,
			      .text_len = why ? strlen(why) : 0 };
	uint32_t keep = a->client;

	flush_logs(a); /* the run's client's, before the answer */
	a->client = to;
	to_client(a, &m);
	a->client = keep;
}

static void answer(struct agentd *a, uint32_t to, uint64_t req, int64_t rc,
		   uint64_t id)
{
	answer_why(a, to, req, rc, id, NULL);
}

static size_t cap_text(const char *s, size_t n)
{
	return n > UKF_CMSG_TEXT_MAX ? UKF_CMSG_TEXT_MAX : n;
}

static void s_record(void *u, const struct ukf_record *r)
{
	struct agentd *a = u;
	struct ukf_cmsg m = {
		.type = UKF_C_RECORD,
		.id = r->id,
		.parent = r->parent,
		.app = r->app,
		.origin = r->origin,
		.node = r->node,
		.start = (uint32_t)r->start,
		.remote = (uint8_t)r->remote,
		.template_fetched = (uint8_t)r->template_fetched,
		.template_made = (uint8_t)r->template_made,
		.template_boot = (uint8_t)r->template_boot,
		.delta_bytes = r->delta_bytes,
		.dirty_pages = r->dirty_pages,
		.t_request = r->t_request,
		.t_placed = r->t_placed,
		.t_start = r->t_start,
		.t_ready = r->t_ready,
		.t_exit = r->t_exit,
		.status = r->status,
		.text = r->fail_reason,
		.text_len = r->fail_reason ? cap_text(r->fail_reason,
						       strlen(r->fail_reason))
					   : 0,
	};
	to_client(a, &m);
}

static void s_log(void *u, ukf_ns_t t, ukf_node_id_t node, const char *line)
{
	struct agentd *a = u;
	struct ukf_cmsg m = { .type = UKF_C_LOG, .t = t, .node = node,
			      .text = line,
			      .text_len = cap_text(line, strlen(line)) };

	alog(a, L_DEBUG, "%s", line);
	to_client(a, &m);
}

static void h_ready(void *u, ukf_id_t id, uint64_t tag)
{
	struct ukf_cmsg m = { .type = UKF_C_READY, .id = id, .tag = tag };

	to_client(u, &m);
}

static void h_exit(void *u, ukf_id_t id, uint64_t tag, int64_t status)
{
	struct ukf_cmsg m = { .type = UKF_C_EXIT, .id = id, .tag = tag,
			      .status = status };

	to_client(u, &m);
}

static void h_fail(void *u, ukf_id_t id, uint64_t tag, const char *why)
{
	struct ukf_cmsg m = { .type = UKF_C_FAIL, .id = id, .tag = tag,
			      .text = why,
			      .text_len = why ? cap_text(why, strlen(why)) : 0 };

	to_client(u, &m);
}

static void h_console(void *u, ukf_id_t id, const char *line, size_t len)
{
	struct ukf_cmsg m = { .type = UKF_C_CONSOLE, .id = id, .text = line,
			      .text_len = cap_text(line, len) };

	to_client(u, &m);
}

static void s_sample(void *u, const struct ukf_world_sample *s)
{
	struct ukf_cmsg m = { .type = UKF_C_SAMPLE, .t = s->t, .node = s->node,
			      .text2 = s->templates,
			      .text2_len = s->templates ? strlen(s->templates)
							: 0 };

	ukf_cmsg_set_stats(&m, &s->s);
	to_client(u, &m);
}

/* Tell the client when the node goes busy or idle. */
static void report_state(struct agentd *a, int force)
{
	uint64_t alive = 0, pending = 0;
	int busy;

	if (!a->have_world || !a->started)
		return;
	ukf_live_activity(&a->world, &alive, &pending);
	busy = alive || pending;
	if (!force && busy == a->last_busy)
		return;
	a->last_busy = busy;
	struct ukf_cmsg m = { .type = UKF_C_STATE, .node = a->self,
			      .alive = alive, .pending = pending,
			      .events = a->world.ops->events(a->world.w) };
	to_client(a, &m);
}

/* ---- the network side of the node's live world ---- */

static int net_send(void *u, ukf_node_id_t to, uint16_t type, const void *body,
		    size_t len, const void *bulk, size_t bulk_len)
{
	struct agentd *a = u;

	return ukf_tp_send(a->tp, to, type, body, len, bulk, bulk_len);
}

static void send_record(struct agentd *a, uint32_t to, const void *rec,
			size_t len)
{
	unsigned char buf[1024];
	struct ukf_dmsg d = { .run = a->run, .rec = rec, .rec_len = len };
	size_t n = ukf_dmsg_encode(&d, buf, sizeof(buf));
	int rc;

	if (!n)
		return;
	rc = ukf_tp_send(a->tp, to, UKF_D_UPDATE, buf, n, NULL, 0);
	if (rc < 0 && rc != -EAGAIN)
		alog(a, L_DEBUG, "directory update to node %u: %s", to,
		     strerror(-rc));
}

static void net_publish(void *u, const void *rec, size_t len)
{
	struct agentd *a = u;

	if (a->de) {
		if (ukf_dir_etcd_publish(a->de, a->run, rec, len) < 0)
			alog(a, L_WARN, "own record too large for etcd: not written");
		return;
	}
	for (uint32_t n = 0; n < a->nodes; n++)
		if (n != a->self && a->up[n])
			send_record(a, n, rec, len);
}

/* What the etcd directory's threads learnt: into the run's directory. */
static void dir_events(struct agentd *a)
{
	struct ukf_dir_etcd_event ev;

	if (!a->de)
		return;
	while (ukf_dir_etcd_next(a->de, &ev)) {
		switch (ev.kind) {
		case UKF_DE_LOG:
			alog(a, ev.level, "%s", ev.why);
			break;
		case UKF_DE_RECORD:
			alog(a, L_DEBUG, "etcd: node %u record (run %llu, revision %lld)",
			     ev.node, (unsigned long long)ev.run,
			     (long long)ev.revision);
			if (a->have_world && ev.run == a->run && ev.len &&
			    ukf_live_dir_apply(&a->world, ev.rec, ev.len) < 0)
				alog(a, L_WARN, "etcd: node %u's record refused",
				     ev.node);
			break;
		case UKF_DE_GONE:
			alog(a, L_WARN, "etcd: node %u left the directory: %s",
			     ev.node, ev.why);
			if (a->have_world)
				ukf_live_peer_down(&a->world, ev.node, ev.why);
			break;
		}
	}
}

/*
 * ukf_tp_poll with trace lines held: they are sent when nothing is waiting
 * (a look first), so that they delay no operation, and the wait is the
 * rest of timeout_ns. ukf_tp_poll returns the extra fds ready, not the
 * frames it handled: those show in a->rx, and then it returns at once, so
 * the world looks at its timers and `stop` again (an END, a request, a
 * lost client) before waiting.
 */
static int poll_flushing(struct agentd *a, struct pollfd *p, int np,
			 int64_t timeout_ns)
{
	uint64_t rx0 = a->rx;
	struct timespec t0, t1;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = ukf_tp_poll(a->tp, p, np, 0);
	if (r != 0 || a->rx != rx0 || a->end_run || a->stop)
		return r;
	flush_logs(a);
	if (timeout_ns > 0) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		int64_t took = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 +
			       (t1.tv_nsec - t0.tv_nsec);
		timeout_ns = took >= timeout_ns ? 0 : timeout_ns - took;
	}
	return ukf_tp_poll(a->tp, p, np, timeout_ns);
}

static int net_wait(void *u, int fd, int64_t timeout_ns)
{
	struct agentd *a = u;
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
			       { .fd = a->de ? ukf_dir_etcd_fd(a->de) : -1,
				 .events = POLLIN } };
	int r;

	if (a->stop)
		a->end_run = 1; /* SIGTERM during a run: end it, then stop */
	if (a->end_run)
		timeout_ns = 0;
	if (a->logq_n && timeout_ns != 0)
		r = poll_flushing(a, p, a->de ? 2 : 1, timeout_ns);
	else
		r = ukf_tp_poll(a->tp, p, a->de ? 2 : 1, timeout_ns);
	if (a->reopen)
		reopen_log(a);
	if (a->de && r > 0) {
		if (p[1].revents)
			dir_events(a);
		r = p[0].revents ? 1 : 0; /* the world's fd is what it waits for */
	}
	report_state(a, 0);
	if (r == -EINTR) {
		errno = EINTR;
		return -1;
	}
	return r < 0 ? 0 : r; /* other errors: counted by the transport */
}

/* ---- runs ---- */

static void end_world(struct agentd *a)
{
	uint64_t events;

	if (!a->have_world)
		return;
	events = a->world.ops->events(a->world.w);
	/* the engine records what is still alive (rows to the client) */
	a->world.ops->destroy(&a->world.w);
	a->have_world = 0;
	a->started = 0;
	struct ukf_cmsg m = { .type = UKF_C_ENDED, .events = events };
	to_client(a, &m);
	alog(a, L_INFO, "run %llu ended (%llu events)",
	     (unsigned long long)a->run, (unsigned long long)events);
	a->run = 0;
	a->client = 0;
	a->end_run = 0;
}

static void str_of(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = 0;
}

/* RUN: a fresh world for this node, with the run's settings. */
static void begin_run(struct agentd *a, uint32_t from,
		      const struct ukf_cmsg *m)
{
	const struct ukf_cluster_node *me = ukf_cluster_node(a->cl, a->self);
	struct ukf_world_sinks sk;
	char err[512];

	if (a->have_world) {
		if (a->run == m->run && a->client == from) {
			answer(a, from, m->req, 0, 0); /* a repeat */
			return;
		}
		char why[256];
		alog(a, L_WARN, "refused run %llu: run %llu is in progress",
		     (unsigned long long)m->run, (unsigned long long)a->run);
		snprintf(why, sizeof(why),
			 "another client's run is in progress here (run %llu; a client gone without ending it is dropped after peer_timeout, %.1f s)",
			 (unsigned long long)a->run,
			 (double)a->cl->peer_timeout_ns / 1e9);
		answer_why(a, from, m->req, -EBUSY, 0, why);
		return;
	}
	if (m->nodes != a->nodes) {
		alog(a, L_WARN, "refused run %llu: it has %u nodes, the cluster file %u",
		     (unsigned long long)m->run, m->nodes, a->nodes);
		answer_why(a, from, m->req, -EINVAL, 0,
			   "the run's node count differs from this agent's cluster file");
		return;
	}
	ukf_live_config_default(&a->lc);
	a->lc.engine.nodes = a->nodes;
	a->lc.engine.self = a->self;
	if (me->vcpus)
		a->lc.engine.node.vcpus = me->vcpus;
	if (me->memory)
		a->lc.engine.node.mem_bytes = me->memory;
	if (me->cache)
		a->lc.engine.node.cache_bytes = me->cache;
	str_of(a->placement, sizeof(a->placement), m->text, m->text_len);
	str_of(a->templates, sizeof(a->templates), m->text2, m->text2_len);
	str_of(a->tdir, sizeof(a->tdir), m->text3, m->text3_len);
	if (a->placement[0])
		a->lc.engine.placement = a->placement;
	if (a->templates[0])
		a->lc.engine.templates = a->templates;
	a->lc.engine.fetch = (enum ukf_fetch)m->fetch;
	if (m->prewarm_k)
		a->lc.engine.prewarm_k = m->prewarm_k;
	if (m->max_children)
		a->lc.engine.max_children = m->max_children;
	if (m->max_queue)
		a->lc.engine.max_queue = m->max_queue;
	if (m->retry_ns > 0)
		a->lc.engine.retry_ns = m->retry_ns;
	a->lc.engine.max_retries = m->max_retries;
	a->lc.engine.answer_timeout_ns =
	    m->answer_timeout_ns > 0 ? m->answer_timeout_ns : 60 * UKF_S;
	a->lc.backend = a->backend ? a->backend : me->backend;
	a->lc.run_limit_ns = m->run_limit_ns;
	a->lc.sample_every_ns = m->sample_every_ns;
	a->lc.template_dir = a->tdir[0] ? a->tdir : a->template_dir;
	a->net = (struct ukf_live_net){ .send = net_send,
					.publish = net_publish,
					.wait = net_wait,
					.u = a };
	a->lc.net = &a->net;
	a->lc.serve = 1;
	a->lc.epoch_realtime_ns = m->epoch_ns;
	memset(&sk, 0, sizeof(sk));
	sk.record = s_record;
	if (m->trace)
		sk.log = s_log;
	sk.hooks = (struct ukf_engine_hooks){ .on_ready = h_ready,
					      .on_exit = h_exit,
					      .on_fail = h_fail,
					      .on_console = h_console,
					      .u = a };
	sk.u = a;
	a->run = m->run;
	a->client = from;
	if (ukf_live_create(&a->world, &a->lc, &sk, err, sizeof(err)) < 0) {
		alog(a, L_ERR, "run %llu: %s", (unsigned long long)m->run, err);
		answer_why(a, from, m->req, -EINVAL, 0, err);
		a->run = 0;
		a->client = 0;
		return;
	}
	if (m->sample_every_ns > 0)
		ukf_live_set_sampler(&a->world, s_sample);
	a->have_world = 1;
	if (a->de) {
		/* the records of this run the replica already holds */
		unsigned char rec[512];
		dir_events(a);
		for (uint32_t n = 0; n < a->nodes; n++) {
			size_t len = n == a->self ? 0
				   : ukf_dir_etcd_replica(a->de, n, a->run, rec,
							  sizeof(rec));
			if (len)
				ukf_live_dir_apply(&a->world, rec, len);
		}
	}
	a->started = 0;
	a->app_error = 0;
	a->app_why[0] = 0;
	a->last_busy = -1;
	alog(a, L_INFO, "run %llu begins (client %u, backend %s)",
	     (unsigned long long)m->run, from, a->lc.backend);
	answer(a, from, m->req, 0, 0);
}

static void add_app(struct agentd *a, const struct ukf_cmsg *m)
{
	struct ukf_app app;
	char name[UKF_APP_NAME_MAX], args[UKF_APP_ARGS_MAX], err[256];

	char image[sizeof(app.image)] = "";

	str_of(name, sizeof(name), m->name, m->name_len);
	str_of(args, sizeof(args), m->text, m->text_len);
	if (ukf_app_parse(&app, name, args, err, sizeof(err)) < 0) {
		alog(a, L_ERR, "app %s: %s", name, err);
		snprintf(a->app_why, sizeof(a->app_why), "node %u: app '%s': %s",
			 a->self, name, err);
		a->app_error = -EINVAL;
		return;
	}
	str_of(app.image, sizeof(app.image), m->text2, m->text2_len);
	if (app.image[0] && access(app.image, R_OK) < 0) {
		/* the client's path is not on this host: this node's own
		 * guest of the app's name, if it has one */
		const struct ukf_backend_driver *d =
		    ukf_backend_driver_find(a->lc.backend);
		int err_no = errno;

		memcpy(image, app.image, sizeof(image));
		if (!d || ukf_live_image_path_in(d->image_dir, name, app.image,
						 sizeof(app.image)) < 0 ||
		    access(app.image, R_OK) < 0) {
			snprintf(a->app_why, sizeof(a->app_why),
				 "node %u: app '%s': its image %s is not readable there (%s), nor is a guest of that name (%s)",
				 a->self, name, image, strerror(err_no),
				 d ? app.image : "no backend");
			alog(a, L_ERR, "%s", a->app_why);
			a->app_error = -ENOENT;
			return;
		}
		alog(a, L_WARN, "app %s: its image %s is not readable here (%s): booting this node's own guest %s",
		     name, image, strerror(err_no), app.image);
	}
	if (a->world.ops->add_app(a->world.w, &app) < 0) {
		snprintf(a->app_why, sizeof(a->app_why),
			 "node %u: app '%s' refused (a duplicate name, or the app table is full)",
			 a->self, name);
		alog(a, L_ERR, "%s", a->app_why);
		if (!a->app_error)
			a->app_error = -EINVAL;
	}
}

static void start_run(struct agentd *a, uint32_t from, uint64_t req)
{
	int rc = a->app_error;
	unsigned char rec[512];
	size_t n;

	if (!rc && !a->started)
		rc = a->world.ops->start(a->world.w);
	if (!rc) {
		a->started = 1;
		/* our record to every peer now up (later ones get it at up) */
		n = ukf_live_own_record(&a->world, rec, sizeof(rec));
		if (n)
			net_publish(a, rec, n);
	}
	answer_why(a, from, req, rc, 0,
		   rc && a->app_error && a->app_why[0] ? a->app_why : NULL);
	report_state(a, 1);
}

static void status(struct agentd *a, uint32_t from, uint64_t req)
{
	char peers[2048], backend[640], tmpl[1024] = "";
	struct ukf_cmsg m = { .type = UKF_C_STATUS, .req = req,
			      .node = a->self,
			      .incarnation = a->incarnation,
			      .run = a->run };
	const struct ukf_cluster_node *me = ukf_cluster_node(a->cl, a->self);
	const struct ukf_backend_driver *drv;
	char why[256] = "";
	size_t off = 0;

	for (uint32_t n = 0; n < a->nodes && off < sizeof(peers) - 32; n++)
		if (n != a->self)
			off += (size_t)snprintf(peers + off, sizeof(peers) - off,
						"%s%u %s", off ? ", " : "", n,
						a->up[n] ? "up" : "down");
	if (!off)
		snprintf(peers, sizeof(peers), "(no peers)");
	/* what crossed each link, on the wire (compressed bulk included) */
	for (uint32_t n = 0; n < a->nodes && off < sizeof(peers) - 64; n++) {
		struct ukf_tp_peer_stats ps;
		if (n == a->self || ukf_tp_peer_stats(a->tp, n, &ps) < 0)
			continue;
		off += (size_t)snprintf(peers + off, sizeof(peers) - off,
					"%s %u %llu/%llu",
					strchr(peers, ';') ? "," : "; bytes in/out:",
					n, (unsigned long long)ps.bytes_in,
					(unsigned long long)ps.bytes_out);
	}
	drv = ukf_backend_driver_find(a->backend ? a->backend : me->backend);
	snprintf(backend, sizeof(backend), "%s: %s",
		 a->backend ? a->backend : me->backend,
		 !drv ? "not in this build"
		 : drv->available(why, sizeof(why)) ? "available"
						       : why);
	if (a->have_world && a->started) {
		struct ukf_node_stats st;
		ukf_live_activity(&a->world, &m.alive, &m.pending);
		m.events = a->world.ops->events(a->world.w);
		if (a->world.ops->node_stats(a->world.w, a->self, &st) == 0)
			ukf_cmsg_set_stats(&m, &st);
		a->world.ops->node_templates(a->world.w, a->self, tmpl,
					     sizeof(tmpl));
	}
	m.text = peers;
	m.text_len = strlen(peers);
	m.text2 = backend;
	m.text2_len = strlen(backend);
	m.text3 = tmpl;
	m.text3_len = strlen(tmpl);
	char dirst[512];
	if (a->de)
		ukf_dir_etcd_status(a->de, dirst, sizeof(dirst));
	else
		snprintf(dirst, sizeof(dirst),
			 "embedded (records from the peers' update messages)");
	m.text4 = dirst;
	m.text4_len = strlen(dirst);
	m.run = a->run;
	{
		unsigned char buf[UKF_CMSG_BODY_MAX];
		size_t len = ukf_cmsg_encode(&m, buf, sizeof(buf));
		if (from == a->client)
			flush_logs(a); /* the run's client: lines in order */
		if (len)
			ukf_tp_send(a->tp, from, UKF_C_STATUS, buf, len, NULL,
				    0);
	}
}

static void on_client(struct agentd *a, uint32_t from, uint16_t type,
		      const void *body, size_t len, int newer)
{
	struct ukf_cmsg m;
	char err[256];
	ukf_id_t id = 0;
	int rc;

	if (ukf_cmsg_decode(&m, type, body, len, newer, err, sizeof(err)) <
	    0) {
		alog(a, L_WARN, "dropped a message from client %u: %s", from,
		     err);
		return;
	}
	if (m.type == UKF_C_STATUS_REQ) {
		status(a, from, m.req);
		return;
	}
	if (m.type == UKF_C_RUN) {
		begin_run(a, from, &m);
		return;
	}
	if (!a->have_world || m.run != a->run || from != a->client) {
		alog(a, L_DEBUG, "dropped %s of run %llu from client %u: not the run here",
		     ukf_cmsg_name(type), (unsigned long long)m.run, from);
		if (m.type == UKF_C_SPAWN || m.type == UKF_C_FORK ||
		    m.type == UKF_C_KILL || m.type == UKF_C_START)
			answer(a, from, m.req, -ESRCH, 0);
		if (m.type == UKF_C_END) {
			struct ukf_cmsg e = { .type = UKF_C_ENDED, .run = m.run };
			unsigned char buf[64];
			size_t n = ukf_cmsg_encode(&e, buf, sizeof(buf));
			ukf_tp_send(a->tp, from, UKF_C_ENDED, buf, n, NULL, 0);
		}
		return;
	}
	switch (m.type) {
	case UKF_C_APP:
		add_app(a, &m);
		break;
	case UKF_C_START:
		start_run(a, from, m.req);
		break;
	case UKF_C_SPAWN: {
		char args[UKF_APP_ARGS_MAX];
		str_of(args, sizeof(args), m.text, m.text_len);
		rc = a->started ? a->world.ops->spawn(a->world.w, a->self,
						      m.app, args, m.tag, &id)
				: -EAGAIN;
		answer(a, from, m.req, rc, id);
		break;
	}
	case UKF_C_FORK:
		rc = a->started ? a->world.ops->fork(a->world.w, m.id, m.tag,
						     &id)
				: -EAGAIN;
		answer(a, from, m.req, rc, id);
		break;
	case UKF_C_KILL:
		rc = a->started ? a->world.ops->kill(a->world.w, m.id)
				: -EAGAIN;
		answer(a, from, m.req, rc, 0);
		break;
	case UKF_C_END:
		a->end_run = 1;
		break;
	default:
		alog(a, L_DEBUG, "ignored %s from client %u",
		     ukf_cmsg_name(type), from);
		break;
	}
	report_state(a, 0);
}

/* ---- transport callbacks ---- */

static void tp_message(void *u, uint32_t from,
		       const struct ukf_frame_header *h, const void *body,
		       size_t len, const void *bulk, size_t bulk_len)
{
	struct agentd *a = u;
	int newer = h->version > UKF_FRAME_VERSION;

	a->rx++;
	if (h->type >= UKF_FRAME_T_ENGINE_MIN &&
	    h->type <= UKF_FRAME_T_ENGINE_MAX) {
		if (from >= a->nodes) {
			alog(a, L_WARN, "engine message from %u, not a node",
			     from);
			return;
		}
		if (a->have_world && a->started)
			ukf_live_deliver(&a->world, from, h->type, body, len,
					 bulk, bulk_len);
		else
			alog(a, L_DEBUG, "engine message %u from node %u outside a run",
			     h->type, from);
		return;
	}
	if (h->type == UKF_D_UPDATE) {
		struct ukf_dmsg d;
		char err[160];
		if (a->de) {
			alog(a, L_DEBUG, "directory update from %u ignored: this cluster's directory is etcd",
			     from);
			return;
		}
		if (from >= a->nodes ||
		    ukf_dmsg_decode(&d, body, len, newer, err, sizeof(err)) <
			0) {
			alog(a, L_WARN, "bad directory update from %u", from);
			return;
		}
		if (a->have_world && d.run == a->run &&
		    ukf_live_dir_apply(&a->world, d.rec, d.rec_len) < 0)
			alog(a, L_WARN, "directory update from node %u refused",
			     from);
		return;
	}
	if (h->type >= UKF_FRAME_T_CLIENT_MIN &&
	    h->type <= UKF_FRAME_T_CLIENT_MAX) {
		if (!ukf_tp_is_handle(from)) {
			alog(a, L_WARN, "client message %u from node %u",
			     h->type, from);
			return;
		}
		on_client(a, from, h->type, body, len, newer);
		return;
	}
	alog(a, L_DEBUG, "ignored message type %u from %u", h->type, from);
}

static void tp_peer(void *u, uint32_t who, int up, uint64_t incarnation,
		    int restarted)
{
	struct agentd *a = u;

	a->rx++;
	if (ukf_tp_is_handle(who)) {
		alog(a, L_INFO, "client %u %s", who, up ? "up" : "down");
		if (!up && who == a->client && a->have_world) {
			alog(a, L_WARN, "the client of run %llu is gone: ending it",
			     (unsigned long long)a->run);
			a->end_run = 1;
		}
		return;
	}
	if (who >= a->nodes)
		return;
	alog(a, up ? L_INFO : L_WARN, "node %u %s%s (incarnation %llu)", who,
	     up ? "up" : "down", restarted ? ", restarted" : "",
	     (unsigned long long)incarnation);
	if ((!up || restarted) && a->have_world) {
		if (a->de) /* membership is etcd's: only what was in flight */
			ukf_live_peer_link_down(&a->world, who,
						up ? "restarted" : "link lost");
		else
			ukf_live_peer_down(&a->world, who,
					   up ? "restarted" : "lost");
	}
	a->up[who] = (uint8_t)up;
	if (up && !a->de && a->have_world && a->started) {
		unsigned char rec[512];
		size_t n = ukf_live_own_record(&a->world, rec, sizeof(rec));
		if (n)
			send_record(a, who, rec, n);
	}
}

static void tp_log(void *u, int level, const char *line)
{
	alog(u, level, "transport: %s", line);
}

/* ---- main ---- */

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"usage: %s --cluster FILE --node K [--log FILE] [--log-level LEVEL]\n"
		"          [--template-dir DIR] [--backend NAME]\n"
		"The node agent of node K of the cluster FILE describes: links to the\n"
		"other nodes' agents (ZeroMQ, CURVE keys from the file) and serves the\n"
		"runs that clients (ukfork run/exec --cluster FILE) start.\n"
		"  --log FILE         append the log there (default: stderr); SIGHUP reopens it\n"
		"  --log-level LEVEL  error, warning, info (default) or debug\n"
		"  --template-dir DIR templates on disk for runs that name none\n"
		"  --backend NAME     run this backend instead of the cluster file's\n"
		"SIGTERM/SIGINT stop it cleanly (a run in progress ends, its rows sent).\n",
		prog);
}

int ukf_agentd_main(int argc, char **argv)
{
	const char *prog = argc > 0 ? argv[0] : "ukforkd";
	const char *cluster = NULL, *level = "info";
	long node = -1;
	struct agentd a;
	struct ukf_tp_config tc;
	char err[512], who[32];
	struct sigaction sa;
	int rc = 0;

	memset(&a, 0, sizeof(a));
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			usage(stdout, prog);
			return 0;
		}
		if (!v) {
			fprintf(stderr, "%s: %s needs a value (try --help)\n",
				prog, o);
			return 2;
		}
		if (!strcmp(o, "--cluster"))
			cluster = v;
		else if (!strcmp(o, "--node")) {
			char *end;
			errno = 0;
			node = strtol(v, &end, 10);
			if (errno || *end || !*v || node < 0) {
				fprintf(stderr, "%s: --node: '%s' is not a node id\n",
					prog, v);
				return 2;
			}
		} else if (!strcmp(o, "--log"))
			a.log_path = v;
		else if (!strcmp(o, "--log-level"))
			level = v;
		else if (!strcmp(o, "--template-dir"))
			a.template_dir = v;
		else if (!strcmp(o, "--backend"))
			a.backend = v;
		else {
			fprintf(stderr, "%s: unknown option '%s' (try --help)\n",
				prog, o);
			return 2;
		}
		i++;
	}
	if (!cluster || node < 0) {
		fprintf(stderr, "%s: --cluster FILE and --node K are required (try --help)\n",
			prog);
		return 2;
	}
	if (!strcmp(level, "error"))
		a.log_level = L_ERR;
	else if (!strcmp(level, "warning"))
		a.log_level = L_WARN;
	else if (!strcmp(level, "info"))
		a.log_level = L_INFO;
	else if (!strcmp(level, "debug"))
		a.log_level = L_DEBUG;
	else {
		fprintf(stderr, "%s: --log-level: '%s' (error, warning, info, debug)\n",
			prog, level);
		return 2;
	}
	if (ukf_cluster_load(&a.cl, cluster, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 2;
	}
	if ((size_t)node >= a.cl->nnodes) {
		fprintf(stderr, "%s: --node %ld: %s has nodes 0..%zu\n", prog,
			node, cluster, a.cl->nnodes - 1);
		ukf_cluster_destroy(&a.cl);
		return 2;
	}
	if (a.backend && !ukf_backend_driver_find(a.backend)) {
		char names[128];
		ukf_backend_driver_names(names, sizeof(names));
		fprintf(stderr, "%s: --backend: unknown backend '%s' (this build has: %s)\n",
			prog, a.backend, names);
		ukf_cluster_destroy(&a.cl);
		return 2;
	}
	a.self = (uint32_t)node;
	a.nodes = (uint32_t)a.cl->nnodes;
	if (a.log_path && !(a.log = fopen(a.log_path, "a"))) {
		fprintf(stderr, "%s: --log %s: %s\n", prog, a.log_path,
			strerror(errno));
		ukf_cluster_destroy(&a.cl);
		return 2;
	}
	a.up = calloc(a.nodes, 1);
	if (!a.up) {
		fprintf(stderr, "%s: out of memory\n", prog);
		rc = 1;
		goto out;
	}
	a.incarnation = ukf_tp_incarnation_now();
	if (a.cl->directory == UKF_CLUSTER_DIR_ETCD) {
		const struct ukf_cluster_node *me =
		    ukf_cluster_node(a.cl, a.self);
		struct ukf_dir_etcd_config dc = {
			.etcd = { .endpoints = a.cl->etcd_endpoints,
				  .ca = a.cl->etcd_ca,
				  .cert = a.cl->etcd_cert,
				  .key = a.cl->etcd_key },
			.self = a.self,
			.nodes = a.nodes,
			.incarnation = a.incarnation,
			.lease_ttl_s = a.cl->etcd_lease_ttl_ns / UKF_S,
			.vcpus = me->vcpus,
			.memory = me->memory,
		};
		if (a.cl->etcd_prefix[0])
			snprintf(a.etcd_prefix, sizeof(a.etcd_prefix), "%s",
				 a.cl->etcd_prefix);
		else
			snprintf(a.etcd_prefix, sizeof(a.etcd_prefix),
				 "/ukfork/%s", a.cl->name);
		dc.prefix = a.etcd_prefix;
		a.de = ukf_dir_etcd_start(&dc, err, sizeof(err));
		if (!a.de) {
			fprintf(stderr, "%s: %s: directory = etcd (%s): %s\n",
				prog, cluster, a.cl->etcd_endpoints, err);
			alog(&a, L_ERR, "cannot start: %s", err);
			rc = 2;
			goto out;
		}
		alog(&a, L_INFO, "directory: etcd at %s, prefix %s, lease TTL %lld s",
		     a.cl->etcd_endpoints, a.etcd_prefix,
		     (long long)(a.cl->etcd_lease_ttl_ns / UKF_S));
	}
	memset(&tc, 0, sizeof(tc));
	snprintf(who, sizeof(who), "node %u", a.self);
	if (ukf_cluster_tp_config(a.cl, who, a.incarnation, &tc, err,
				  sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		rc = 2;
		goto out;
	}
	tc.on_message = tp_message;
	tc.on_peer = tp_peer;
	tc.log = tp_log;
	tc.u = &a;
	a.tp = ukf_tp_create(&tc, err, sizeof(err));
	if (!a.tp) {
		fprintf(stderr, "%s: %s\n", prog, err);
		alog(&a, L_ERR, "cannot start: %s", err);
		rc = 1;
		goto out;
	}
	g_sig = &a;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: polls return EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	alog(&a, L_INFO, "up: %s, endpoint %s, incarnation %llu, %u nodes",
	     a.cl->path, ukf_cluster_node(a.cl, a.self)->endpoint,
	     (unsigned long long)a.incarnation, a.nodes);
	while (!a.stop) {
		if (a.have_world && a.started && !a.end_run) {
			if (a.world.ops->run(a.world.w, UKF_NS_NEVER, &a.end_run,
					     err, sizeof(err)) < 0) {
				alog(&a, L_ERR, "run %llu: %s",
				     (unsigned long long)a.run, err);
				a.end_run = 1;
			}
			if (a.stop)
				a.end_run = 1;
		}
		if (a.have_world && a.end_run) {
			end_world(&a);
			continue;
		}
		{
			struct pollfd dp = { .fd = a.de ? ukf_dir_etcd_fd(a.de)
							: -1,
					     .events = POLLIN };
			ukf_tp_poll(a.tp, &dp, a.de ? 1 : 0, 200 * UKF_MS);
			dir_events(&a);
		}
		if (a.reopen)
			reopen_log(&a);
	}
	alog(&a, L_INFO, "stopping (signal)");
	if (a.have_world)
		end_world(&a);
out:
	g_sig = NULL;
	ukf_tp_destroy(&a.tp);
	ukf_dir_etcd_stop(&a.de, 1); /* the node leaves the directory now */
	free(a.up);
	free(a.logq);
	ukf_cluster_destroy(&a.cl);
	if (a.log)
		fclose(a.log);
	return rc;
}
