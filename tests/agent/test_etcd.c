/* SPDX-License-Identifier: MIT */
/* test_etcd.c - the etcd client and the agents' directory on etcd, against a real etcd (tests/agent/etcd_test.sh starts it). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/dir_etcd.h"
#include "agent/etcd.h"
#include "core/dir.h"

static int failures;
#define SELFTEST_COUNTING
#include "../common/selftest.h"

static const char *endpoints; /* UKF_TEST_ETCD */
static char prefix[128];      /* per test, fresh */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* scripts/etcd/local.sh CMD DIR K on the test's cluster (UKF_TEST_ETCD_DIR). */
static int ctl(const char *what, int k)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "bash %s/scripts/etcd/local.sh %s %s %d >&2",
		 UKF_SOURCE_DIR, what, getenv("UKF_TEST_ETCD_DIR"), k);
	return system(cmd);
}

static ukf_etcd_t *client(void)
{
	struct ukf_etcd_config c = { .endpoints = endpoints };
	char err[256];
	ukf_etcd_t *e = ukf_etcd_create(&c, err, sizeof(err));

	CHECKF(e, "client: %s", err);
	return e;
}

/* A directory member for node `self` of `nodes`. */
static ukf_dir_etcd_t *member(uint32_t self, uint32_t nodes, uint64_t inc,
			      int64_t ttl, char *err, size_t errlen)
{
	struct ukf_dir_etcd_config c = {
		.etcd = { .endpoints = endpoints },
		.prefix = prefix,
		.self = self,
		.nodes = nodes,
		.incarnation = inc,
		.lease_ttl_s = ttl,
		.vcpus = 4,
		.memory = 1ull << 30,
	};

	return ukf_dir_etcd_start(&c, err, errlen);
}

/* A record of node with version v (and instances = v). */
static size_t rec_of(uint32_t node, uint64_t v, void *buf)
{
	struct ukf_dir_record r = { .node = node, .version = v,
				    .vcpus_total = 4, .vcpus_free = 3,
				    .mem_total = 1ull << 30,
				    .mem_free = 1ull << 29,
				    .instances = (uint32_t)v, .ntemplates = 2,
				    .templates = { 1, 3 } };

	return ukf_dir_encode(&r, buf, 512);
}

struct seen {
	uint64_t version[8], run[8], incarnation[8];
	int gone[8], records[8];
	int64_t last_rev[8];
	int rev_backwards;
	char why[8][256];
	ukf_dir_t *view;
};

/* Take d's events for up to `secs` or until cond(s) holds. */
static int pump(ukf_dir_etcd_t *d, struct seen *s, double secs,
		int (*cond)(struct seen *, void *), void *arg)
{
	double end = now_s() + secs;
	struct ukf_dir_etcd_event ev;

	do {
		struct pollfd p = { .fd = ukf_dir_etcd_fd(d), .events = POLLIN };
		poll(&p, 1, 20);
		while (ukf_dir_etcd_next(d, &ev)) {
			if (ev.kind == UKF_DE_LOG) {
				fprintf(stderr, "  [dir %d] %s\n", ev.level,
					ev.why);
				continue;
			}
			if (ev.node >= 8)
				continue;
			if (ev.revision < s->last_rev[ev.node])
				s->rev_backwards++;
			s->last_rev[ev.node] = ev.revision;
			if (ev.kind == UKF_DE_GONE) {
				s->gone[ev.node]++;
				snprintf(s->why[ev.node], sizeof(s->why[0]), "%s",
					 ev.why);
				s->version[ev.node] = 0;
				if (s->view)
					ukf_dir_forget(s->view, ev.node);
				continue;
			}
			s->records[ev.node]++;
			s->run[ev.node] = ev.run;
			s->incarnation[ev.node] = ev.incarnation;
			if (ev.len && s->view) {
				ukf_dir_apply(s->view, ev.rec, ev.len);
				s->version[ev.node] =
				    ukf_dir_get(s->view, ev.node)->version;
			}
		}
		if (cond && cond(s, arg))
			return 1;
	} while (now_s() < end);
	return cond ? cond(s, arg) : 0;
}

static int has_version(struct seen *s, void *arg)
{
	uint64_t *want = arg; /* node, version */
	return s->version[want[0]] == want[1];
}

static int is_gone(struct seen *s, void *arg)
{
	return s->gone[*(uint32_t *)arg] > 0;
}

static void fresh_prefix(const char *name)
{
	ukf_etcd_t *e;

	snprintf(prefix, sizeof(prefix), "/ukfork-test/%s-%d", name,
		 (int)getpid());
	e = client();
	if (e) {
		ukf_etcd_delete_prefix(e, prefix);
		ukf_etcd_destroy(&e);
	}
}

/* ---- the client ---- */

static int count_kv(void *u, const struct ukf_etcd_kv *kv)
{
	(*(int *)u)++;
	(void)kv;
	return 0;
}

static void t_client(void)
{
	ukf_etcd_t *e = client();
	char key[200], *val = NULL;
	int64_t mod = 0, rev = 0, cur_mod = 0, lease = 0, ttl = 0;
	struct ukf_etcd_op op;
	int n = 0, rc;

	if (!e)
		return;
	fresh_prefix("client");
	snprintf(key, sizeof(key), "%s/a", prefix);
	CHECKF(ukf_etcd_get(e, key, &val, &mod) == 0, "absent key read");
	/* create only if absent */
	op = (struct ukf_etcd_op){ key, "one", 3 };
	rc = ukf_etcd_txn(e, key, 0, &op, 1, 0, &rev, &cur_mod, NULL);
	CHECKF(rc == 1, "create: %d %s", rc, ukf_etcd_error(e));
	CHECKF(ukf_etcd_get(e, key, &val, &mod) == 1 && val &&
		  !strcmp(val, "one") && mod == rev,
	      "read back: %s mod %lld rev %lld", val ? val : "(null)",
	      (long long)mod, (long long)rev);
	free(val);
	/* a stale writer (compares an older revision) is refused */
	op.value = "two";
	rc = ukf_etcd_txn(e, key, mod - 1, &op, 1, 0, &rev, &cur_mod, &val);
	CHECKF(rc == 0 && cur_mod == mod && val && !strcmp(val, "one"),
	      "stale write: rc %d cur_mod %lld", rc, (long long)cur_mod);
	free(val);
	rc = ukf_etcd_txn(e, key, mod, &op, 1, 0, &rev, &cur_mod, NULL);
	CHECKF(rc == 1, "current write refused");
	/* a lease: keys on it go when it is revoked */
	CHECKF(ukf_etcd_lease_grant(e, 30, &lease, &ttl) == 0 && lease &&
		  ttl >= 30,
	      "lease: %s", ukf_etcd_error(e));
	snprintf(key, sizeof(key), "%s/b", prefix);
	CHECKF(ukf_etcd_put(e, key, "x", 1, lease) == 0, "put on lease");
	CHECKF(ukf_etcd_range_prefix(e, prefix, count_kv, &n, &rev) == 2 &&
		  n == 2,
	      "range: %d", n);
	int64_t left = 0;
	CHECKF(ukf_etcd_lease_keepalive(e, lease, &left) == 0 && left > 0,
	      "keepalive");
	CHECKF(ukf_etcd_lease_revoke(e, lease) == 0, "revoke");
	CHECKF(ukf_etcd_lease_keepalive(e, lease, &left) == 0 && left == 0,
	      "a revoked lease kept alive: %lld", (long long)left);
	CHECKF(ukf_etcd_get(e, key, &val, &mod) == 0, "key on a revoked lease");
	CHECKF(ukf_etcd_delete_prefix(e, prefix) == 1, "delete prefix");
	/* prefix ends */
	char end[16];
	ukf_etcd_prefix_end("/a/", end, sizeof(end));
	CHECKF(!strcmp(end, "/a0"), "prefix end of /a/: %s", end);
	ukf_etcd_destroy(&e);
	/* bad endpoints are refused with a reason */
	struct ukf_etcd_config bad = { .endpoints = "127.0.0.1:2379" };
	char err[256];
	e = ukf_etcd_create(&bad, err, sizeof(err));
	CHECKF(!e && strstr(err, "not an http"), "bad endpoint: %s", err);
	ukf_etcd_destroy(&e);
}

/* ---- the directory ---- */

/* Two members see each other's records; a record update arrives. */
static void t_visible(void)
{
	char err[512];
	unsigned char rec[512];
	struct seen s = { 0 };
	ukf_dir_etcd_t *a, *b;
	uint64_t want[2] = { 0, 3 };

	fresh_prefix("visible");
	s.view = ukf_dir_create(2);
	a = member(0, 2, 100, 5, err, sizeof(err));
	CHECKF(a, "member 0: %s", err);
	b = member(1, 2, 200, 5, err, sizeof(err));
	CHECKF(b, "member 1: %s", err);
	if (!a || !b)
		goto out;
	for (uint64_t v = 1; v <= 3; v++)
		ukf_dir_etcd_publish(a, 7, rec, rec_of(0, v, rec));
	CHECKF(pump(b, &s, 10, has_version, want),
	      "node 1 did not see node 0's version 3 (has %llu)",
	      (unsigned long long)s.version[0]);
	CHECKF(s.run[0] == 7 && s.incarnation[0] == 100, "run %llu inc %llu",
	      (unsigned long long)s.run[0],
	      (unsigned long long)s.incarnation[0]);
	CHECKF(ukf_dir_etcd_replica(b, 0, 7, rec, sizeof(rec)) > 0,
	      "not in the replica");
	CHECKF(ukf_dir_etcd_replica(b, 0, 8, rec, sizeof(rec)) == 0,
	      "another run's record given");
	CHECKF(ukf_dir_etcd_known(b) == 2, "known %u", ukf_dir_etcd_known(b));
	/* each template the record lists has its key (docs/directory.md) */
	ukf_etcd_t *e = client();
	for (int k = 0; e && k < 2; k++) {
		static const char *const want_tpl[2] = {
			"{\"node\":0,\"app\":1,\"run\":7}",
			"{\"node\":0,\"app\":3,\"run\":7}",
		};
		char key[200], *val = NULL;
		int64_t mod = 0;
		snprintf(key, sizeof(key), "%s/templates/0/%d", prefix,
			 k ? 3 : 1);
		CHECKF(ukf_etcd_get(e, key, &val, &mod) == 1 && val &&
			       !strcmp(val, want_tpl[k]),
		       "%s: %s (want %s)", key, val ? val : "(absent)",
		       want_tpl[k]);
		free(val);
	}
	ukf_etcd_destroy(&e);
	CHECKF(!s.rev_backwards, "revisions went backwards");
	char st[512];
	ukf_dir_etcd_status(b, st, sizeof(st));
	CHECKF(strstr(st, ": ok,"), "status: %s", st);
	/* a clean stop revokes the lease: node 0 leaves at once */
	uint32_t node0 = 0;
	double t0 = now_s();
	ukf_dir_etcd_stop(&a, 1);
	CHECKF(pump(b, &s, 5, is_gone, &node0), "node 0 did not leave");
	CHECKF(now_s() - t0 < 2, "leaving took %.2f s", now_s() - t0);
out:
	ukf_dir_etcd_stop(&a, 1);
	ukf_dir_etcd_stop(&b, 1);
	ukf_dir_destroy(&s.view);
}

/* A member that dies (no revoke) leaves when its lease expires. */
static void t_lease_expiry(void)
{
	char err[512];
	struct seen s = { 0 };
	ukf_dir_etcd_t *a, *b;
	uint32_t node0 = 0;
	uint64_t want[2] = { 0, 0 };

	fresh_prefix("lease");
	a = member(0, 2, 100, 2, err, sizeof(err));
	CHECKF(a, "member 0: %s", err);
	b = member(1, 2, 200, 2, err, sizeof(err));
	CHECKF(b, "member 1: %s", err);
	if (!a || !b)
		goto out;
	pump(b, &s, 1, NULL, want);
	CHECKF(s.records[0] > 0, "node 0 never seen");
	/* longer than the TTL alive: keep-alives work */
	pump(b, &s, 3, is_gone, &node0);
	CHECKF(!s.gone[0], "node 0 left while alive: %s", s.why[0]);
	double t0 = now_s();
	ukf_dir_etcd_stop(&a, 0); /* as if killed: the lease is not revoked */
	CHECKF(pump(b, &s, 10, is_gone, &node0), "node 0 never left");
	double took = now_s() - t0;
	CHECKF(took > 1.0 && took < 6.0, "left after %.2f s (TTL 2 s)", took);
	fprintf(stderr, "  node 0 left %.2f s after it stopped (TTL 2 s): %s\n",
		took, s.why[0]);
out:
	ukf_dir_etcd_stop(&a, 1);
	ukf_dir_etcd_stop(&b, 1);
}

/* An older incarnation cannot overwrite a newer one's key; a newer agent
 * takes over an older one's; the older learns it is stale. */
static void t_stale_write(void)
{
	char err[512], key[200], *val = NULL;
	unsigned char rec[512];
	ukf_dir_etcd_t *old, *nw, *older;
	ukf_etcd_t *e = client();
	int64_t mod = 0;

	fresh_prefix("stale");
	old = member(1, 2, 100, 5, err, sizeof(err));
	CHECKF(old, "incarnation 100: %s", err);
	nw = member(1, 2, 200, 5, err, sizeof(err));
	CHECKF(nw, "incarnation 200 did not take over: %s", err);
	older = member(1, 2, 150, 5, err, sizeof(err));
	CHECKF(!older && strstr(err, "newer agent"),
	      "incarnation 150 started over 200: %s", older ? "" : err);
	if (!old || !nw || !e)
		goto out;
	ukf_dir_etcd_publish(old, 1, rec, rec_of(1, 9, rec));
	double end = now_s() + 5;
	char st[512] = "";
	while (now_s() < end) {
		ukf_dir_etcd_status(old, st, sizeof(st));
		if (strstr(st, "STALE"))
			break;
		usleep(20000);
	}
	CHECKF(strstr(st, "STALE"), "the old writer is not stale: %s", st);
	snprintf(key, sizeof(key), "%s/nodes/1", prefix);
	CHECKF(ukf_etcd_get(e, key, &val, &mod) == 1 && val &&
		  strstr(val, "\"incarnation\":200"),
	      "node 1's key: %s", val ? val : "(none)");
	free(val);
out:
	ukf_dir_etcd_stop(&old, 0);
	ukf_dir_etcd_stop(&nw, 1);
	ukf_dir_etcd_stop(&older, 1);
	ukf_etcd_destroy(&e);
}

/* etcd unreachable at start: a clear error; no threads left. */
static void t_unreachable(void)
{
	struct ukf_dir_etcd_config c = {
		.etcd = { .endpoints = "http://127.0.0.1:9,http://127.0.0.1:7",
			  .connect_timeout_ms = 300 },
		.prefix = "/ukfork-test/unreachable",
		.self = 0,
		.nodes = 1,
		.incarnation = 1,
		.lease_ttl_s = 2,
	};
	char err[512] = "";
	ukf_dir_etcd_t *d = ukf_dir_etcd_start(&c, err, sizeof(err));

	CHECKF(!d, "started without etcd");
	CHECKF(strstr(err, "unreachable") && strstr(err, "127.0.0.1:9"),
	      "error: %s", err);
	fprintf(stderr, "  %s\n", err);
	ukf_dir_etcd_stop(&d, 0);
}

/*
 * etcd restarted (killed, down a while, back): the members go degraded,
 * go on, and resynchronise; node 1 ends with node 0's last record, though
 * node 0 wrote it while etcd was down.
 */
static void t_restart(void)
{
	char err[512], st[512];
	unsigned char rec[512];
	struct seen s = { 0 };
	ukf_dir_etcd_t *a, *b;
	uint64_t want[2] = { 0, 2 };

	fresh_prefix("restart");
	s.view = ukf_dir_create(2);
	a = member(0, 2, 100, 10, err, sizeof(err));
	b = member(1, 2, 200, 10, err, sizeof(err));
	CHECKF(a && b, "members: %s", err);
	if (!a || !b)
		goto out;
	ukf_dir_etcd_publish(a, 1, rec, rec_of(0, 2, rec));
	CHECKF(pump(b, &s, 10, has_version, want), "version 2 not seen");
	if (ctl("kill", 0) != 0) {
		CHECKF(0, "cannot kill the etcd members");
		goto out;
	}
	usleep(300000);
	/* written while etcd is down: retried until it is back */
	ukf_dir_etcd_publish(a, 1, rec, rec_of(0, 5, rec));
	pump(b, &s, 1.5, NULL, NULL);
	ukf_dir_etcd_status(a, st, sizeof(st));
	CHECKF(strstr(st, "DEGRADED"), "node 0 not degraded: %s", st);
	ukf_dir_etcd_status(b, st, sizeof(st));
	CHECKF(strstr(st, "DEGRADED"), "node 1 not degraded: %s", st);
	/* placement goes on from the last replica */
	CHECKF(ukf_dir_etcd_replica(b, 0, 1, rec, sizeof(rec)) > 0,
	      "the replica was emptied while etcd was down");
	CHECKF(!s.gone[0], "node 0 dropped while etcd was down");
	if (ctl("restart", 0) != 0) {
		CHECKF(0, "cannot restart the etcd members");
		goto out;
	}
	want[1] = 5;
	CHECKF(pump(b, &s, 15, has_version, want),
	      "node 1 has node 0's version %llu after the restart, not 5",
	      (unsigned long long)s.version[0]);
	double end = now_s() + 5;
	while (now_s() < end) {
		ukf_dir_etcd_status(b, st, sizeof(st));
		if (strstr(st, ": ok,"))
			break;
		usleep(50000);
	}
	CHECKF(strstr(st, ": ok,"), "node 1 still degraded: %s", st);
	CHECKF(!s.gone[0], "node 0 dropped over the restart: %s", s.why[0]);
	CHECKF(!s.rev_backwards, "revisions went backwards");
out:
	ukf_dir_etcd_stop(&a, 1);
	ukf_dir_etcd_stop(&b, 1);
	ukf_dir_destroy(&s.view);
}

/* Three members, the one the clients talk to killed: every update still
 * arrives, no member is dropped. */
static void t_member_killed(void)
{
	char err[512];
	unsigned char rec[512];
	struct seen s = { 0 };
	ukf_dir_etcd_t *a, *b;
	uint64_t want[2] = { 0, 1 };
	double worst = 0;

	if (!strchr(endpoints, ',')) {
		fprintf(stderr, "  needs a three-member cluster\n");
		failures++;
		return;
	}
	fresh_prefix("member");
	s.view = ukf_dir_create(2);
	a = member(0, 2, 100, 5, err, sizeof(err));
	b = member(1, 2, 200, 5, err, sizeof(err));
	CHECKF(a && b, "members: %s", err);
	if (!a || !b)
		goto out;
	ukf_dir_etcd_publish(a, 1, rec, rec_of(0, 1, rec));
	CHECKF(pump(b, &s, 10, has_version, want), "version 1 not seen");
	CHECKF(ctl("kill", 0) == 0, "kill member 0");
	for (uint64_t v = 2; v <= 10; v++) {
		double t0 = now_s();
		want[1] = v;
		ukf_dir_etcd_publish(a, 1, rec, rec_of(0, v, rec));
		CHECKF(pump(b, &s, 10, has_version, want),
		      "version %llu not seen", (unsigned long long)v);
		if (now_s() - t0 > worst)
			worst = now_s() - t0;
	}
	fprintf(stderr, "  with member 0 killed: slowest update seen after %.3f s\n",
		worst);
	CHECKF(!s.gone[0], "node 0 dropped: %s", s.why[0]);
out:
	ukf_dir_etcd_stop(&a, 1);
	ukf_dir_etcd_stop(&b, 1);
	ukf_dir_destroy(&s.view);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = { { "etcd_client", t_client },
		      { "etcd_visible", t_visible },
		      { "etcd_lease_expiry", t_lease_expiry },
		      { "etcd_stale_write", t_stale_write },
		      { "etcd_unreachable", t_unreachable },
		      { "etcd_restart", t_restart },
		      { "etcd_member_killed", t_member_killed } };
	int ran = 0;

	endpoints = getenv("UKF_TEST_ETCD");
	if (!endpoints || !*endpoints) {
		fprintf(stderr, "%s: UKF_TEST_ETCD (etcd endpoints) is not set: run it through tests/agent/etcd_test.sh\n",
			argv[0]);
		return 2;
	}
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (argc < 3 || !strcmp(argv[2], tests[i].name)) {
			fprintf(stderr, "%s\n", tests[i].name);
			tests[i].fn();
			ran++;
		}
	if (!ran) {
		fprintf(stderr, "usage: %s [--run NAME]\n", argv[0]);
		return 2;
	}
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
