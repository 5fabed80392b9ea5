/* SPDX-License-Identifier: MIT */
/* live_test.c - self-tests of the live world: queue, timers, loop thread. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/kvm/ukvm.h"
#include "core/dir.h"
#include "live/evq.h"
#include "live/live.h"
#include "live/live_int.h"
#include "tests/common/selftest.h"

static const char *hello_path;

static int need_kvm(void)
{
	char why[256];

	if (!ukvm_available(why, sizeof(why))) {
		printf("SKIP: KVM unavailable: %s\n", why);
		return 0;
	}
	return 1;
}

/*
 * For a test that boots hello under KVM: 0 to go on; 1 (FAIL) when hello
 * was not built - the images are part of the build, so a broken build
 * fails - or SKIP when KVM is unavailable, each said on stdout.
 */
static int need_hello_kvm(void)
{
	if (access(hello_path, R_OK)) {
		printf("FAIL: %s was not built (a build failure, not a missing "
		       "capability)\n", hello_path);
		return 1;
	}
	return need_kvm() ? 0 : SKIP;
}

/* ---- evq: events pushed from other threads arrive whole and in order ---- */

#define NTHR 4
#define NPER 2000
struct pusher {
	ukf_evq_t *q;
	int id;
};

static void *push_thread(void *arg)
{
	struct pusher *p = arg;
	char data[32];
	int i;

	for (i = 0; i < NPER; i++) {
		struct ukf_be_event ev = { .kind = UKF_BE_CONSOLE };

		ev.inst = (ukf_id_t)p->id;
		ev.status = i;
		ev.len = (size_t)snprintf(data, sizeof(data), "t%d line %d", p->id, i);
		ev.data = data;
		ev.text = "reason";
		ukf_evq_push(p->q, 0, &ev, 1000 + i);
		/* overwrite the caller's buffer: the queue must have copied it */
		memset(data, 'X', sizeof(data));
	}
	return NULL;
}

static int t_evq_threads(void)
{
	ukf_evq_t *q = ukf_evq_create();
	pthread_t th[NTHR];
	struct pusher ps[NTHR];
	int next[NTHR] = { 0 }, got = 0, i;

	CHECK(q);
	for (i = 0; i < NTHR; i++) {
		ps[i].q = q;
		ps[i].id = i;
		CHECK(pthread_create(&th[i], NULL, push_thread, &ps[i]) == 0);
	}
	while (got < NTHR * NPER) {
		struct ukf_evq_item *it;
		char want[32];

		CHECK(ukf_evq_wait(q, 5LL * 1000000000) >= 0);
		while ((it = ukf_evq_pop(q))) {
			int t = (int)it->ev.inst;

			CHECK(t >= 0 && t < NTHR);
			CHECK(it->ev.status == next[t]);
			snprintf(want, sizeof(want), "t%d line %d", t, next[t]);
			CHECK(it->ev.len == strlen(want));
			CHECK(!memcmp(it->ev.data, want, it->ev.len));
			CHECK(!strcmp(it->ev.text, "reason"));
			CHECK(it->ev.at == 1000 + next[t]);
			next[t]++;
			got++;
			free(it);
		}
	}
	for (i = 0; i < NTHR; i++)
		pthread_join(th[i], NULL);
	CHECK(!ukf_evq_pending(q));
	CHECK(ukf_evq_wait(q, 1000000) == 0 || !ukf_evq_pending(q));
	CHECK(ukf_evq_lost(q) == 0);
	ukf_evq_destroy(&q);
	CHECK(q == NULL);
	return 0;
}

/* ---- bad configurations are refused with a message ---- */

static int t_bad_config(void)
{
	struct ukf_live_config c;
	struct ukf_world w = { 0 };
	char err[256] = "";

	ukf_live_config_default(&c);
	c.engine.nodes = 3;
	CHECK(ukf_live_create(&w, &c, NULL, err, sizeof(err)) < 0);
	CHECK(strstr(err, "1 node"));
	ukf_live_config_default(&c);
	c.backend = "xen";
	err[0] = '\0';
	CHECK(ukf_live_create(&w, &c, NULL, err, sizeof(err)) < 0);
	CHECK(strstr(err, "xen"));
	CHECK(w.w == NULL);
	return 0;
}

static int t_image_path(void)
{
	char buf[512];

	setenv("UKF_GUEST_DIR", "/opt/guests", 1);
	CHECK(ukf_live_image_path("hello", buf, sizeof(buf)) == 0);
	CHECK(!strcmp(buf, "/opt/guests/hello"));
	CHECK(ukf_live_image_path("hello", buf, 8) < 0);
	unsetenv("UKF_GUEST_DIR");
	CHECK(ukf_live_image_path("hello", buf, sizeof(buf)) == 0);
	CHECK(strstr(buf, "/guest/hello"));
	return 0;
}

/* ---- timers: order, equal times, until ---- */

struct order {
	int seq[16];
	int n;
	struct ukf_world *w;
	ukf_ns_t late;
};

static void note(void *arg, uint64_t x)
{
	struct order *o = arg;

	if (o->n < 16)
		o->seq[o->n++] = (int)x;
	if (x == 9) /* schedule from inside a callback, in the past: now */
		o->w->ops->at(o->w->w, 0, note, o, 10);
}

static int t_timers_order(void)
{
	struct ukf_live_config c;
	struct ukf_world w = { 0 };
	struct order o = { .w = &w };
	char err[256] = "";
	ukf_ns_t t0, t1;

	if (!need_kvm())
		return SKIP;
	ukf_live_config_default(&c);
	CHECK(ukf_live_create(&w, &c, NULL, err, sizeof(err)) == 0);
	CHECK(!strcmp(w.ops->name, "kvm"));
	CHECK(w.ops->start(w.w) == 0);
	t0 = w.ops->now(w.w);
	CHECK(t0 >= 0 && t0 < 10 * UKF_S);
	CHECK(w.ops->at(w.w, t0 + 30 * UKF_MS, note, &o, 3) == 0);
	CHECK(w.ops->at(w.w, t0 + 10 * UKF_MS, note, &o, 1) == 0);
	CHECK(w.ops->at(w.w, t0 + 20 * UKF_MS, note, &o, 2) == 0);
	CHECK(w.ops->at(w.w, t0 + 10 * UKF_MS, note, &o, 4) == 0); /* tie: after 1 */
	CHECK(w.ops->at(w.w, t0 + 20 * UKF_MS, note, &o, 9) == 0);
	CHECK(w.ops->at(w.w, t0 + 60 * UKF_S, note, &o, 99) == 0); /* past until */
	CHECK(w.ops->run(w.w, t0 + 200 * UKF_MS, NULL, err, sizeof(err)) == 0);
	t1 = w.ops->now(w.w);
	CHECK(o.n == 6);
	CHECK(o.seq[0] == 1 && o.seq[1] == 4 && o.seq[2] == 2 && o.seq[3] == 9 &&
	      o.seq[4] == 10 && o.seq[5] == 3);
	CHECK(t1 >= t0 + 200 * UKF_MS); /* until respected: 99 still pending */
	CHECK(w.ops->events(w.w) >= 6);
	w.ops->destroy(&w.w);
	CHECK(w.w == NULL);
	return 0;
}

/* idle world: run returns at once (no instance, nothing pending) */
static int t_idle_returns(void)
{
	struct ukf_live_config c;
	struct ukf_world w = { 0 };
	char err[256] = "";
	volatile int stop = 0;
	struct order o = { .w = &w };

	if (!need_kvm())
		return SKIP;
	ukf_live_config_default(&c);
	CHECK(ukf_live_create(&w, &c, NULL, err, sizeof(err)) == 0);
	CHECK(w.ops->start(w.w) == 0);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, &stop, err, sizeof(err)) == 0);
	/* a pending callback keeps it running until it has run */
	CHECK(w.ops->at(w.w, w.ops->now(w.w) + 5 * UKF_MS, note, &o, 7) == 0);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, &stop, err, sizeof(err)) == 0);
	CHECK(o.n == 1 && o.seq[0] == 7);
	/* *stop set: returns without running what is due */
	stop = 1;
	CHECK(w.ops->at(w.w, 0, note, &o, 8) == 0);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, &stop, err, sizeof(err)) == 0);
	CHECK(o.n == 1);
	w.ops->destroy(&w.w);
	return 0;
}

/* ---- periodic node samples while the loop runs ---- */

struct samples {
	int n, bad;
	ukf_ns_t last;
};

static void on_sample(void *u, const struct ukf_world_sample *s)
{
	struct samples *sm = u;

	if (s->node != 0 || s->t < sm->last || !s->templates)
		sm->bad++;
	sm->last = s->t;
	sm->n++;
}

static int t_samples(void)
{
	struct ukf_live_config c;
	struct ukf_world w = { 0 };
	struct ukf_world_sinks sk;
	struct samples sm = { 0 };
	struct order o = { .w = &w };
	char err[256] = "";

	if (!need_kvm())
		return SKIP;
	memset(&sk, 0, sizeof(sk));
	sk.u = &sm;
	ukf_live_config_default(&c);
	c.sample_every_ns = 5 * UKF_MS;
	CHECK(ukf_live_create(&w, &c, &sk, err, sizeof(err)) == 0);
	CHECK(ukf_live_set_sampler(&w, on_sample) == 0);
	CHECK(w.ops->start(w.w) == 0);
	ukf_ns_t t0 = w.ops->now(w.w);
	CHECK(w.ops->at(w.w, t0 + 40 * UKF_MS, note, &o, 1) == 0);
	CHECK(w.ops->run(w.w, UKF_NS_NEVER, NULL, err, sizeof(err)) == 0);
	CHECK(o.n == 1);         /* samples do not keep an idle world alive */
	/* one every 5 ms while the world ran, at most: a loaded or emulated
	 * machine may take fewer (missed ones are not made up), never more */
	ukf_ns_t ran = w.ops->now(w.w) - t0;
	CHECK(sm.n >= 1 && sm.n <= (int)(ran / (5 * UKF_MS)) + 2);
	CHECK(sm.bad == 0);
	w.ops->destroy(&w.w);
	{
		struct ukf_world notlive = { 0 };

		CHECK(ukf_live_set_sampler(&notlive, on_sample) < 0);
	}
	return 0;
}

/* ---- a real guest: events from vCPU threads reach hooks on the loop ---- */

struct seen {
	pthread_t loop;
	int wrong_thread, ready_line, exited, failed, readies;
	int64_t status;
	char why[256];
	volatile int stop;
};

static void h_console(void *u, ukf_id_t id, const char *line, size_t len)
{
	struct seen *s = u;

	if (!pthread_equal(pthread_self(), s->loop))
		s->wrong_thread++;
	if (len >= 9 && !memcmp(line, "UKF-READY", 9))
		s->ready_line++;
}

static void h_ready(void *u, ukf_id_t id, uint64_t tag)
{
	struct seen *s = u;

	if (!pthread_equal(pthread_self(), s->loop))
		s->wrong_thread++;
	s->readies++;
}

static void h_exit(void *u, ukf_id_t id, uint64_t tag, int64_t status)
{
	struct seen *s = u;

	if (!pthread_equal(pthread_self(), s->loop))
		s->wrong_thread++;
	s->exited++;
	s->status = status;
}

static void h_fail(void *u, ukf_id_t id, uint64_t tag, const char *why)
{
	struct seen *s = u;

	s->failed++;
	snprintf(s->why, sizeof(s->why), "%s", why ? why : "?");
}

static void rec(void *u, const struct ukf_record *r)
{
	(void)u;
	(void)r;
}

static int t_hello_on_loop(void)
{
	struct ukf_live_config c;
	struct ukf_world w = { 0 };
	struct ukf_world_sinks sk;
	struct seen s = { 0 };
	struct ukf_app app;
	char err[256] = "";
	ukf_id_t id;
	int aid, rc;

	if ((rc = need_hello_kvm()))
		return rc;
	s.loop = pthread_self();
	memset(&sk, 0, sizeof(sk));
	sk.record = rec;
	sk.hooks.on_console = h_console;
	sk.hooks.on_ready = h_ready;
	sk.hooks.on_exit = h_exit;
	sk.hooks.on_fail = h_fail;
	sk.hooks.u = &s;
	ukf_live_config_default(&c);
	c.run_limit_ns = 20 * UKF_S;
	CHECK(ukf_live_create(&w, &c, &sk, err, sizeof(err)) == 0);
	CHECK(ukf_app_parse(&app, "hello", "mem=16M", err, sizeof(err)) == 0);
	snprintf(app.image, sizeof(app.image), "%s", hello_path);
	aid = w.ops->add_app(w.w, &app);
	CHECK(aid >= 0);
	CHECK(w.ops->start(w.w) == 0);
	CHECK(w.ops->spawn(w.w, 0, (uint32_t)aid, "", 1, &id) == 0);
	CHECK(w.ops->run(w.w, w.ops->now(w.w) + 30 * UKF_S, NULL, err, sizeof(err)) == 0);
	if (s.failed)
		fprintf(stderr, "hello failed: %s\n", s.why);
	CHECK(s.failed == 0);
	CHECK(s.exited == 1 && s.status == 0);
	CHECK(s.ready_line == 1);
	CHECK(s.wrong_thread == 0);
	CHECK(w.ops->alive(w.w) == 0);
	w.ops->destroy(&w.w);
	return 0;
}

/* The world's log lines, joined (lw_warn writes its warnings there too). */
static char logbuf[8192];

static void log_line(void *u, ukf_ns_t t, ukf_node_id_t node, const char *line)
{
	size_t n = strlen(logbuf);

	(void)u, (void)t, (void)node;
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", line);
}

/*
 * Loading a template dir on a node: a dir its group can write is refused
 * as a whole; in a good one, a file whose name is too long for an app and
 * one larger than any template are skipped, each with a warning naming
 * it in the world's log, and nothing is loaded.
 */
static int t_tdir_load_errors(void)
{
	struct ukf_live_config c;
	struct ukf_world w = { 0 };
	struct ukf_world_sinks sk;
	struct ukf_app app;
	char dir[] = "/tmp/ukf_tdirlXXXXXX", err[512] = "", path[400];
	char name[100];
	int fd, rc;

	if ((rc = need_hello_kvm()))
		return rc;
	CHECK(mkdtemp(dir));
	memset(&sk, 0, sizeof(sk));
	sk.record = rec;
	sk.log = log_line;
	ukf_live_config_default(&c);
	c.template_dir = dir;
	CHECK(ukf_live_create(&w, &c, &sk, err, sizeof(err)) == 0);
	if (!w.w) {
		fprintf(stderr, "create: %s\n", err);
		return 1;
	}
	CHECK(ukf_app_parse(&app, "hello", "mem=16M", err, sizeof(err)) == 0);
	snprintf(app.image, sizeof(app.image), "%s", hello_path);
	CHECK(w.ops->add_app(w.w, &app) >= 0);
	CHECK(chmod(dir, 0770) == 0);
	CHECK(ukf_live_load_templates(&w, err, sizeof(err)) == -1);
	printf("dir 0770: %s\n", err);
	CHECK(strstr(err, "refused") && strstr(err, "writable by its group"));
	CHECK(strstr(logbuf, "writable by its group"));
	CHECK(chmod(dir, 0700) == 0);
	memset(name, 'n', 80);
	name[80] = 0;
	snprintf(path, sizeof(path), "%s/%s.ukft", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/hello.ukft", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 8LL << 30) == 0);
	close(fd);
	logbuf[0] = 0;
	CHECK(ukf_live_load_templates(&w, err, sizeof(err)) == 0);
	printf("log:\n%s", logbuf);
	CHECK(strstr(logbuf, "name too long") && strstr(logbuf, name));
	CHECK(strstr(logbuf, "hello.ukft: 8589934592 bytes, larger than any template"));
	/* saving into a dir its group can write is refused too */
	CHECK(chmod(dir, 0770) == 0);
	CHECK(ukf_live_save_templates(&w, err, sizeof(err)) == -1);
	CHECK(strstr(err, "refused") && strstr(err, "writable by its group"));
	CHECK(chmod(dir, 0700) == 0);
	/* the images of a directory as apps: hello's dir has hello (already
	 * registered) and its siblings; no backend, no directory refused */
	{
		char gdir[300];
		struct ukf_world notlive = { 0 };

		snprintf(gdir, sizeof(gdir), "%s", hello_path);
		*strrchr(gdir, '/') = 0;
		CHECK(ukf_live_add_guest_apps(&w, gdir, err, sizeof(err)) >= 1);
		CHECK(ukf_live_add_guest_apps_as(&w, "nosuch", gdir, err,
						 sizeof(err)) == -1);
		CHECK(strstr(err, "no backend 'nosuch'"));
		CHECK(ukf_live_add_guest_apps(&w, "", err, sizeof(err)) == -1);
		CHECK(strstr(err, "no world or directory"));
		CHECK(ukf_live_add_guest_apps(&notlive, gdir, err,
					      sizeof(err)) == -1);
	}
	w.ops->destroy(&w.w); /* saves nothing: no template was made */
	CHECK(unlink(path) == 0);
	snprintf(path, sizeof(path), "%s/%s.ukft", dir, name);
	CHECK(unlink(path) == 0);
	CHECK(rmdir(dir) == 0);
	return 0;
}

/* A queue destroyed with events still in it frees them (the sanitizer
 * build would report a leak); destroying nothing is a no-op; a wait with
 * nothing pushed times out (0). */
static int t_evq_destroy_full(void)
{
	ukf_evq_t *q = ukf_evq_create(), *none = NULL;
	struct ukf_be_event ev;

	CHECK(q != NULL);
	memset(&ev, 0, sizeof(ev));
	ev.kind = UKF_BE_CONSOLE;
	ev.data = "left behind";
	ev.len = 11;
	CHECK(ukf_evq_wait(q, 0) == 0);
	CHECK(ukf_evq_push(q, 0, &ev, 1) == 0);
	CHECK(ukf_evq_push(q, 0, &ev, 2) == 0);
	CHECK(ukf_evq_wait(q, 0) == 1);
	ukf_evq_destroy(&q);
	CHECK(q == NULL);
	ukf_evq_destroy(&none);
	ukf_evq_destroy(NULL);
	return 0;
}

/* ---- a node of a cluster, with a network that only records ---- */

struct fake_net {
	int sends, publishes, waits;
	uint8_t rec[512];
	size_t rec_len;
};

static int fn_send(void *u, ukf_node_id_t to, uint16_t type, const void *body,
		   size_t len, const void *bulk, size_t bulk_len)
{
	struct fake_net *n = u;

	(void)to, (void)type, (void)body, (void)len, (void)bulk, (void)bulk_len;
	n->sends++;
	return 0;
}

static void fn_publish(void *u, const void *rec, size_t len)
{
	struct fake_net *n = u;

	n->publishes++;
	if (len <= sizeof(n->rec)) {
		memcpy(n->rec, rec, len);
		n->rec_len = len;
	}
}

/* Nothing arrives from the network: wait on the backend's fd only. */
static int fn_wait(void *u, int fd, int64_t timeout_ns)
{
	struct fake_net *n = u;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timespec ts = { timeout_ns / UKF_S, timeout_ns % UKF_S };

	n->waits++;
	return ppoll(&p, 1, timeout_ns < 0 ? NULL : &ts, NULL);
}

/*
 * A node of a two-node cluster (cfg.net): a bad configuration is refused
 * by name; the node publishes its record through the network and keeps
 * it (ukf_live_own_record), runs a spawn placed by "random" (the only
 * node it knows is alive: itself) while waiting through net->wait, and
 * takes what the agent feeds in (messages, records, peers going down).
 * A world that is not a cluster node refuses those calls.
 */
static int t_cluster_node(void)
{
	struct ukf_live_config c;
	struct ukf_live_net net = { fn_send, fn_publish, fn_wait, NULL };
	struct ukf_live_net half = { fn_send, fn_publish, NULL, NULL };
	struct fake_net fn = { 0 };
	struct ukf_world w = { 0 }, notlive = { 0 };
	struct ukf_world_sinks sk;
	struct ukf_node_stats ns;
	struct seen s = { 0 };
	struct ukf_app app;
	char err[256] = "", tl[256];
	uint8_t own[512], junk[8] = { 0xff };
	uint64_t alive = 1, pending = 1;
	ukf_id_t id = 0;
	int aid, rc;

	net.u = &fn;
	/* refused before anything starts, KVM or not */
	CHECK(ukf_live_create(&w, NULL, NULL, err, sizeof(err)) < 0);
	CHECK(strstr(err, "no configuration"));
	ukf_live_config_default(&c);
	c.engine.nodes = 2;
	c.engine.self = 2;
	c.net = &net;
	CHECK(ukf_live_create(&w, &c, NULL, err, sizeof(err)) < 0);
	CHECK(strstr(err, "node 2 is not one of the cluster's 2"));
	c.engine.self = 0;
	c.net = &half;
	CHECK(ukf_live_create(&w, &c, NULL, err, sizeof(err)) < 0);
	CHECK(strstr(err, "incomplete network hooks"));
	/* what the agent feeds in, to a world that is no cluster node */
	CHECK(ukf_live_deliver(&notlive, 1, 1, "x", 1, NULL, 0) == -1);
	CHECK(ukf_live_dir_apply(&notlive, "x", 1) == -1);
	CHECK(ukf_live_peer_down(&notlive, 1, "test") == -1);
	CHECK(ukf_live_peer_link_down(&notlive, 1, "test") == -1);
	CHECK(ukf_live_own_record(&notlive, own, sizeof(own)) == 0);
	CHECK(ukf_live_activity(&notlive, &alive, &pending) == -1);
	if ((rc = need_hello_kvm()))
		return rc;

	s.loop = pthread_self();
	memset(&sk, 0, sizeof(sk));
	sk.record = rec;
	sk.hooks.on_console = h_console;
	sk.hooks.on_exit = h_exit;
	sk.hooks.on_fail = h_fail;
	sk.hooks.u = &s;
	c.net = &net;
	c.engine.placement = "random";
	c.run_limit_ns = 20 * UKF_S;
	{
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		c.epoch_realtime_ns = (int64_t)now.tv_sec * UKF_S + now.tv_nsec;
	}
	CHECK(ukf_live_create(&w, &c, &sk, err, sizeof(err)) == 0);
	if (!w.w) {
		fprintf(stderr, "create: %s\n", err);
		return 1;
	}
	CHECK(w.ops->nodes(w.w) == 2);
	CHECK(ukf_app_parse(&app, "hello", "mem=16M", err, sizeof(err)) == 0);
	snprintf(app.image, sizeof(app.image), "%s", hello_path);
	aid = w.ops->add_app(w.w, &app);
	CHECK(aid >= 0);
	CHECK(w.ops->start(w.w) == 0);
	CHECK(w.ops->start(w.w) == -EINVAL); /* once */
	CHECK(w.ops->at(w.w, 0, NULL, NULL, 0) == -EINVAL); /* nothing to run */
	/* its record went out through the network, and it keeps a copy */
	CHECK(fn.publishes >= 1 && fn.rec_len > 0);
	CHECK(ukf_live_own_record(&w, own, sizeof(own)) == fn.rec_len);
	CHECK(memcmp(own, fn.rec, fn.rec_len) == 0);
	CHECK(ukf_live_own_record(&w, own, 1) == 0); /* no room: nothing */
	CHECK(ukf_live_dir_apply(&w, fn.rec, fn.rec_len) == 0);
	CHECK(ukf_live_dir_apply(&w, junk, sizeof(junk)) == -1);
	CHECK(w.ops->spawn(w.w, 0, (uint32_t)aid, "", 1, &id) == 0);
	/* ids carry the node in bits 32..47: node 0, a count from the
	 * node's clock (a restarted agent does not reuse its ids) */
	CHECK(id >> 32 == 0 && id > 0xffff);
	CHECK(w.ops->run(w.w, w.ops->now(w.w) + 60 * UKF_S, NULL, err,
			 sizeof(err)) == 0);
	if (s.failed)
		fprintf(stderr, "hello failed: %s\n", s.why);
	CHECK(s.exited == 1 && s.status == 0 && s.ready_line == 1);
	CHECK(s.wrong_thread == 0);
	CHECK(fn.waits > 0); /* it waited through the network's hook */
	CHECK(fn.sends == 0); /* nothing went to node 1, which it never saw */
	CHECK(ukf_live_activity(&w, &alive, &pending) == 0);
	CHECK(alive == 0);
	CHECK(w.ops->node_stats(w.w, 0, &ns) == 0);
	(void)w.ops->node_templates(w.w, 0, tl, sizeof(tl));
	CHECK(w.ops->kill(w.w, id) < 0); /* it has ended */
	/* the agent's calls: a message of an unknown type is dropped, a
	 * peer going down is taken */
	CHECK(ukf_live_deliver(&w, 1, 0xfff0, "x", 1, NULL, 0) == 0);
	CHECK(ukf_live_peer_link_down(&w, 1, "test") == 0);
	CHECK(ukf_live_peer_down(&w, 1, "test") == 0);
	w.ops->destroy(&w.w);
	CHECK(w.w == NULL);

	/* round-robin with node 1 in the directory (a record as its agent
	 * would publish): the second spawn goes out to node 1 through
	 * net->send; when node 1 is declared down, the request is settled
	 * (retried here or failed) and the run ends */
	{
		struct ukf_dir_record n1;
		uint8_t buf[512];
		size_t len;
		ukf_id_t id2 = 0;

		memset(&s, 0, sizeof(s));
		s.loop = pthread_self();
		memset(&fn, 0, sizeof(fn));
		c.engine.placement = "round-robin";
		CHECK(ukf_live_create(&w, &c, &sk, err, sizeof(err)) == 0);
		if (!w.w)
			return 1;
		aid = w.ops->add_app(w.w, &app);
		CHECK(aid >= 0);
		CHECK(w.ops->start(w.w) == 0);
		memset(&n1, 0, sizeof(n1));
		n1.node = 1;
		n1.version = 1;
		n1.vcpus_total = n1.vcpus_free = 64;
		n1.mem_total = n1.mem_free = 64ULL << 30;
		len = ukf_dir_encode(&n1, buf, sizeof(buf));
		CHECK(len > 0 && ukf_live_dir_apply(&w, buf, len) == 0);
		CHECK(w.ops->spawn(w.w, 0, (uint32_t)aid, "", 1, &id) == 0);
		CHECK(fn.sends == 0); /* the first: here */
		CHECK(w.ops->spawn(w.w, 0, (uint32_t)aid, "", 2, &id2) == 0);
		CHECK(fn.sends >= 1); /* the second: to node 1 */
		CHECK(ukf_live_peer_down(&w, 1, "test: node 1 gone") == 0);
		CHECK(w.ops->run(w.w, w.ops->now(w.w) + 60 * UKF_S, NULL, err,
				 sizeof(err)) == 0);
		printf("after node 1 went down: %d exited, %d failed (%s)\n",
		       s.exited, s.failed, s.why);
		CHECK(s.exited >= 1 && s.exited + s.failed == 2);
		CHECK(w.ops->alive(w.w) == 0);
		w.ops->destroy(&w.w);
	}
	return 0;
}

/* a request waiting for capacity is retried, not dropped by an idle world */
static int t_retry_keeps_running(void)
{
	struct ukf_live_config c;
	struct ukf_world w = { 0 };
	struct ukf_world_sinks sk;
	struct seen s = { 0 };
	struct ukf_app app;
	char err[256] = "";
	ukf_id_t id;
	int aid;

	if (!need_kvm())
		return SKIP;
	s.loop = pthread_self();
	memset(&sk, 0, sizeof(sk));
	sk.hooks.on_fail = h_fail;
	sk.hooks.on_exit = h_exit;
	sk.hooks.u = &s;
	ukf_live_config_default(&c);
	c.engine.retry_ns = 1 * UKF_MS;
	c.engine.max_retries = 3;
	c.engine.node.mem_bytes = 64ULL << 20;
	CHECK(ukf_live_create(&w, &c, &sk, err, sizeof(err)) == 0);
	CHECK(ukf_app_parse(&app, "big", "mem=128M", err, sizeof(err)) == 0);
	snprintf(app.image, sizeof(app.image), "%s", hello_path);
	aid = w.ops->add_app(w.w, &app);
	CHECK(aid >= 0);
	CHECK(w.ops->start(w.w) == 0);
	CHECK(w.ops->spawn(w.w, 0, (uint32_t)aid, "", 1, &id) == 0);
	CHECK(w.ops->run(w.w, w.ops->now(w.w) + 30 * UKF_S, NULL, err, sizeof(err)) == 0);
	/* the engine retried and gave up: the requester hears about it */
	CHECK(s.failed == 1 && s.exited == 0);
	CHECK(strstr(s.why, "capacity"));
	w.ops->destroy(&w.w);
	return 0;
}

/* Templates on disk: bad calls, a missing dir, a dir that cannot be made. */
static int t_tdir_bad_calls(void)
{
	struct ukf_live_config c;
	struct ukf_world w = { 0 }, notlive = { 0 };
	char err[256] = "";

	CHECK(ukf_live_load_templates(NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not a live world"));
	CHECK(ukf_live_save_templates(&notlive, err, sizeof(err)) == -1);
	if (!need_kvm())
		return SKIP;
	ukf_live_config_default(&c);
	CHECK(ukf_live_create(&w, &c, NULL, err, sizeof(err)) == 0);
	err[0] = '\0';
	CHECK(ukf_live_load_templates(&w, err, sizeof(err)) == -1);
	CHECK(strstr(err, "no template dir"));
	CHECK(ukf_live_save_templates(&w, err, sizeof(err)) == -1);
	w.ops->destroy(&w.w);

	/* a dir that does not exist yet loads nothing; one under a file
	 * cannot be made: save says so, destroy only warns */
	c.template_dir = "/nonexistent-ukf-h9/tpl";
	CHECK(ukf_live_create(&w, &c, NULL, err, sizeof(err)) == 0);
	CHECK(ukf_live_load_templates(&w, err, sizeof(err)) == 0);
	c.template_dir = "/dev/null/tpl";
	w.ops->destroy(&w.w);
	CHECK(ukf_live_create(&w, &c, NULL, err, sizeof(err)) == 0);
	err[0] = '\0';
	CHECK(ukf_live_save_templates(&w, err, sizeof(err)) == -1);
	CHECK(strstr(err, "/dev/null/tpl"));
	w.ops->destroy(&w.w);
	CHECK(w.w == NULL);
	return 0;
}

/*
 * The template dir's file rules (#12), without KVM: a dir others can write
 * (or another user's) is refused; a symlink planted where a template goes
 * does not get its target written; a FIFO does not block the loader; a
 * symlink or a file others can write is not loaded.
 */
static int t_tdir_files(void)
{
	char dir[] = "/tmp/ukf_tdirXXXXXX", why[256] = "", path[300];
	char victim[300], buf[16] = "";
	struct stat st;
	void *data = NULL;
	size_t len = 0;
	int fd;

	CHECK(mkdtemp(dir));
	CHECK(lw_tdir_dir_ok(dir, why, sizeof(why)) == 0);
	CHECK(chmod(dir, 0777) == 0);
	CHECK(lw_tdir_dir_ok(dir, why, sizeof(why)) == -1);
	printf("dir 0777: %s\n", why);
	CHECK(strstr(why, "writable by others"));
	CHECK(chmod(dir, 0770) == 0);
	CHECK(lw_tdir_dir_ok(dir, why, sizeof(why)) == -1);
	CHECK(strstr(why, "writable by its group"));
	CHECK(chmod(dir, 0700) == 0);
	if (geteuid() == 0) {
		CHECK(chown(dir, 65534, 65534) == 0);
		CHECK(lw_tdir_dir_ok(dir, why, sizeof(why)) == -1);
		printf("another user's dir: %s\n", why);
		CHECK(strstr(why, "owned by uid 65534"));
		CHECK(chown(dir, 0, 0) == 0);
	}
	CHECK(lw_tdir_dir_ok("/nonexistent-ukf-tdir", why, sizeof(why)) ==
	      -1);

	/* a symlink planted at the template's name: replaced, not followed */
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(path, sizeof(path), "%s/a.ukft", dir);
	fd = open(victim, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && write(fd, "victim", 6) == 6);
	close(fd);
	CHECK(symlink(victim, path) == 0);
	CHECK(lw_tdir_read_file(path, &data, &len, why, sizeof(why)) == -1);
	printf("symlink: %s\n", why);
	CHECK(strstr(why, "symlink"));
	CHECK(lw_tdir_write(dir, "a", "template", 8, why, sizeof(why)) == 0);
	fd = open(victim, O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 6);
	close(fd);
	CHECK(memcmp(buf, "victim", 6) == 0);
	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	      (st.st_mode & 0777) == 0600);
	CHECK(lw_tdir_read_file(path, &data, &len, why, sizeof(why)) == 0);
	CHECK(len == 8 && memcmp(data, "template", 8) == 0);
	free(data);
	data = NULL;
	/* a file others can write is not ours to run */
	CHECK(chmod(path, 0646) == 0);
	CHECK(lw_tdir_read_file(path, &data, &len, why, sizeof(why)) == -1);
	printf("file 0646: %s\n", why);
	CHECK(strstr(why, "writable by others"));
	unlink(path);

	/* a FIFO: refused at once, the loader does not wait for a writer */
	snprintf(path, sizeof(path), "%s/f.ukft", dir);
	CHECK(mkfifo(path, 0600) == 0);
	alarm(20); /* a hang fails the test */
	CHECK(lw_tdir_read_file(path, &data, &len, why, sizeof(why)) == -1);
	alarm(0);
	printf("fifo: %s\n", why);
	CHECK(strstr(why, "FIFO"));
	unlink(path);
	unlink(victim);
	CHECK(rmdir(dir) == 0);
	return 0;
}

/*
 * Template files that cannot be read or written, without KVM: each says
 * why, and a failed write leaves neither the file nor its temporary copy.
 */
static int t_tdir_file_errors(void)
{
	char dir[] = "/tmp/ukf_tdireXXXXXX", why[256] = "", path[300];
	char *longdir = malloc(5000);
	void *data = NULL;
	size_t len = 0;
	struct dirent *e;
	DIR *d;
	int fd, n = 0;

	CHECK(longdir && mkdtemp(dir));
	/* larger than any template: refused unread (a sparse file) */
	snprintf(path, sizeof(path), "%s/big.ukft", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 8LL << 30) == 0);
	close(fd);
	CHECK(lw_tdir_read_file(path, &data, &len, why, sizeof(why)) == -1);
	printf("8 GiB: %s\n", why);
	CHECK(strstr(why, "larger than any template") && data == NULL);
	unlink(path);
	/* a directory, a missing file */
	CHECK(lw_tdir_read_file(dir, &data, &len, why, sizeof(why)) == -1);
	CHECK(strstr(why, "not a regular file"));
	CHECK(lw_tdir_read_file(path, &data, &len, why, sizeof(why)) == -1);
	CHECK(strstr(why, strerror(ENOENT)));
	/* writes: a path too long, a dir that does not exist, a directory
	 * where the file goes (the rename fails) */
	memset(longdir, 'd', 4999);
	longdir[0] = '/';
	longdir[4999] = 0;
	CHECK(lw_tdir_write(longdir, "a", "t", 1, why, sizeof(why)) == -1);
	CHECK(strstr(why, "path too long"));
	snprintf(path, sizeof(path), "%s/no/such", dir);
	CHECK(lw_tdir_write(path, "a", "t", 1, why, sizeof(why)) == -1);
	CHECK(strstr(why, strerror(ENOENT)));
	snprintf(path, sizeof(path), "%s/a.ukft", dir);
	CHECK(mkdir(path, 0700) == 0);
	CHECK(lw_tdir_write(dir, "a", "t", 1, why, sizeof(why)) == -1);
	printf("onto a directory: %s\n", why);
	CHECK(strstr(why, strerror(EISDIR)));
	CHECK(rmdir(path) == 0);
	d = opendir(dir);
	CHECK(d != NULL);
	while (d && (e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	CHECK(n == 0); /* no temporary file left */
	CHECK(rmdir(dir) == 0);
	free(longdir);
	return 0;
}

static const struct selftest tests[] = {
	{ "evq_threads", t_evq_threads },
	{ "evq_destroy_full", t_evq_destroy_full },
	{ "bad_config", t_bad_config },
	{ "image_path", t_image_path },
	{ "timers_order", t_timers_order },
	{ "idle_returns", t_idle_returns },
	{ "samples", t_samples },
	{ "hello_on_loop", t_hello_on_loop },
	{ "retry_keeps_running", t_retry_keeps_running },
	{ "tdir_bad_calls", t_tdir_bad_calls },
	{ "tdir_files", t_tdir_files },
	{ "tdir_file_errors", t_tdir_file_errors },
	{ "cluster_node", t_cluster_node },
	{ "tdir_load_errors", t_tdir_load_errors },
};

int main(int argc, char **argv)
{
	size_t i;
	int rc = 0;

	hello_path = getenv("UKF_HELLO") ? getenv("UKF_HELLO") : "guest/hello";
	if (argc == 2 && !strcmp(argv[1], "--probe")) {
		/* for the shell tests: 0 if the KVM backend can run here
		 * (honours $UKVM_DEVICE), else 77 with the reason */
		char why[256];

		if (ukvm_available(why, sizeof(why)))
			return 0;
		printf("SKIP: KVM unavailable: %s\n", why);
		return SKIP;
	}
	if (selftest_dispatch(tests, SELFTEST_COUNT(tests), argc, argv, &rc))
		return rc;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int r = tests[i].fn();

		printf("%-16s %s\n", tests[i].name,
		       r == 0 ? "ok" : r == SKIP ? "skipped" : "FAILED");
		if (r && r != SKIP)
			rc = 1;
	}
	return rc;
}
