/* SPDX-License-Identifier: MIT */
/* dirvis.c - directory update-to-visibility, both ends in one process (the
 * measurement of bench_dir and of `ukfork calibrate --directory`). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "agent/dir_etcd.h"
#include "agent/dirvis.h"
#include "agent/dmsg.h"
#include "agent/etcd.h"
#include "agent/transport.h"
#include "core/dir.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Node `node`'s record at version v (what an agent's record holds). */
static size_t rec_of(uint32_t node, uint64_t v, void *buf)
{
	struct ukf_dir_record r = { .node = node, .version = v,
				    .vcpus_total = 8, .vcpus_free = 8 - (uint32_t)(v % 8),
				    .mem_total = 8ull << 30,
				    .mem_free = 4ull << 30,
				    .instances = (uint32_t)v, .ntemplates = 1,
				    .templates = { 0 } };

	return ukf_dir_encode(&r, buf, 512);
}

/* ---- embedded: node 0's update message to node 1 over the transport ---- */

struct end {
	uint32_t id;
	char pub[UKF_TP_KEY_Z85], sec[UKF_TP_KEY_Z85];
	char ep[64];
	struct ukf_tp_peer peers[2];
	struct ukf_tp_config cfg;
	ukf_tp_t *tp;
	int got; /* an update arrived: its body */
	unsigned char body[1024];
	size_t len;
};

static void on_message(void *u, uint32_t from, const struct ukf_frame_header *h,
		       const void *body, size_t len, const void *bulk,
		       size_t bulk_len)
{
	struct end *e = u;

	(void)from;
	(void)bulk;
	(void)bulk_len;
	if (h->type != UKF_D_UPDATE || len > sizeof(e->body))
		return;
	memcpy(e->body, body, len);
	e->len = len;
	e->got = 1;
}

static int vis_embedded(const struct ukf_dirvis_config *c, int64_t tmo,
			double *ns, char *err, size_t errlen)
{
	struct end e[2];
	ukf_dir_t *view = ukf_dir_create(2);
	unsigned char rec[512], body[1024];
	int rc = -1;

	memset(e, 0, sizeof(e));
	for (int i = 0; i < 2; i++) {
		int port = ukf_tp_free_port();
		e[i].id = (uint32_t)i;
		if (port < 0 || zmq_curve_keypair(e[i].pub, e[i].sec)) {
			snprintf(err, errlen, "embedded directory: no loopback "
					      "port or CURVE keys");
			goto out;
		}
		snprintf(e[i].ep, sizeof(e[i].ep), "tcp://127.0.0.1:%d", port);
	}
	for (int i = 0; i < 2; i++) {
		struct ukf_tp_config *t = &e[i].cfg;
		char why[256];
		for (int k = 0; k < 2; k++) {
			e[i].peers[k].node = e[k].id;
			memcpy(e[i].peers[k].endpoint, e[k].ep,
			       sizeof(e[k].ep)); /* 64 < 256 */
			memcpy(e[i].peers[k].public_key, e[k].pub,
			       UKF_TP_KEY_Z85);
		}
		t->self = e[i].id;
		t->incarnation = ukf_tp_incarnation_now();
		t->bind = e[i].ep;
		memcpy(t->public_key, e[i].pub, UKF_TP_KEY_Z85);
		memcpy(t->secret_key, e[i].sec, UKF_TP_KEY_Z85);
		t->peers = e[i].peers;
		t->npeers = 2;
		/* the agents' heartbeat (default); node 0 is polled only
		 * when it sends: no peer timeout while measuring */
		t->peer_timeout_ns = 60000000000LL;
		t->on_message = on_message;
		t->u = &e[i];
		if (!(e[i].tp = ukf_tp_create(t, why, sizeof(why)))) {
			snprintf(err, errlen, "embedded directory: transport "
					      "of node %d: %s", i, why);
			goto out;
		}
	}
	if (!view) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* the two come up (each has heard from the other) */
	for (int64_t end = now_ns() + tmo;;) {
		struct ukf_tp_peer_stats s0, s1;
		if (ukf_tp_peer_stats(e[0].tp, 1, &s0) == 0 && s0.up &&
		    ukf_tp_peer_stats(e[1].tp, 0, &s1) == 0 && s1.up)
			break;
		if (now_ns() > end) {
			snprintf(err, errlen, "embedded directory: the two "
					      "transports did not connect over "
					      "loopback TCP in time");
			goto out;
		}
		for (int i = 0; i < 2; i++)
			ukf_tp_poll(e[i].tp, NULL, 0, 1000000);
	}
	for (uint32_t i = 0; i < c->warmup + c->samples; i++) {
		struct ukf_dmsg d = { .run = 1, .rec = rec }, in;
		char why[128];
		uint64_t v = (uint64_t)i + 1;
		int64_t t0 = now_ns();
		size_t n;

		d.rec_len = rec_of(0, v, rec);
		n = ukf_dmsg_encode(&d, body, sizeof(body));
		if (!n || ukf_tp_send(e[0].tp, 1, UKF_D_UPDATE, body, n, NULL,
				      0) < 0) {
			snprintf(err, errlen, "embedded directory: update %u "
					      "not sent", i);
			goto out;
		}
		/* node 1 waits in its poll as an agent does (wakes on the
		 * frame) */
		while (!e[1].got && now_ns() < t0 + tmo)
			ukf_tp_poll(e[1].tp, NULL, 0, 100000000);
		if (!e[1].got) {
			snprintf(err, errlen, "embedded directory: update %u "
					      "not seen in %.1f s", i, tmo / 1e9);
			goto out;
		}
		e[1].got = 0;
		if (ukf_dmsg_decode(&in, e[1].body, e[1].len, 0, why,
				    sizeof(why)) < 0 ||
		    ukf_dir_apply(view, in.rec, in.rec_len) < 0 ||
		    ukf_dir_get(view, 0)->version != v) {
			snprintf(err, errlen, "embedded directory: update %u "
					      "arrived wrong", i);
			goto out;
		}
		if (i >= c->warmup) /* the first ones warm the path */
			ns[i - c->warmup] = (double)(now_ns() - t0);
	}
	rc = 0;
out:
	for (int i = 0; i < 2; i++)
		ukf_tp_destroy(&e[i].tp);
	ukf_dir_destroy(&view);
	return rc;
}

/* ---- etcd: node 0's member publishes, node 1's member sees it ---- */

static ukf_dir_etcd_t *member(const char *eps, const char *prefix,
			      uint32_t self, char *err, size_t errlen)
{
	struct ukf_dir_etcd_config c = {
		.etcd = { .endpoints = eps },
		.prefix = prefix,
		.self = self,
		.nodes = 2,
		.incarnation = (uint64_t)time(NULL) * 1000 + self,
		.lease_ttl_s = 10,
		.vcpus = 8,
		.memory = 8ull << 30,
	};

	return ukf_dir_etcd_start(&c, err, errlen);
}

/* Delete the keys under prefix: 0, or -1 with why in err. */
static int clear_prefix(const char *eps, const char *prefix, char *err,
			size_t errlen)
{
	struct ukf_etcd_config c = { .endpoints = eps };
	char why[256];
	ukf_etcd_t *e = ukf_etcd_create(&c, why, sizeof(why));
	int rc = 0;

	if (!e) {
		snprintf(err, errlen, "etcd %s: %s", eps, why);
		return -1;
	}
	/* the directory's keys are PREFIX/...: with the '/', a prefix
	 * /x/12 does not also take /x/123's keys */
	char under[160];
	snprintf(under, sizeof(under), "%s/", prefix);
	int64_t r = ukf_etcd_delete_prefix(e, under);
	if (r < 0) {
		snprintf(err, errlen, "etcd %s%s: %s", eps,
			 r == -EHOSTUNREACH ? " unreachable" : "",
			 ukf_etcd_error(e));
		rc = -1;
	}
	ukf_etcd_destroy(&e);
	return rc;
}

static int vis_etcd(const struct ukf_dirvis_config *c, int64_t tmo, double *ns,
		    char *err, size_t errlen)
{
	char prefix[96], why[512];
	ukf_dir_etcd_t *a = NULL, *b = NULL;
	ukf_dir_t *view = ukf_dir_create(2);
	unsigned char rec[512];
	int rc = -1;

	if (c->prefix)
		snprintf(prefix, sizeof(prefix), "%s", c->prefix);
	else
		snprintf(prefix, sizeof(prefix), "/ukfork-dirvis/%d",
			 (int)getpid());
	if (!view) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (clear_prefix(c->etcd, prefix, err, errlen) < 0)
		goto out;
	if (!(a = member(c->etcd, prefix, 0, why, sizeof(why))) ||
	    !(b = member(c->etcd, prefix, 1, why, sizeof(why)))) {
		snprintf(err, errlen, "etcd %s: %s", c->etcd, why);
		goto out;
	}
	for (uint32_t i = 0; i < c->warmup + c->samples; i++) {
		struct ukf_dir_etcd_event ev;
		uint64_t v = (uint64_t)i + 1;
		int64_t t0 = now_ns();
		int seen = 0;

		int prc = ukf_dir_etcd_publish(a, 1, rec, rec_of(0, v, rec));
		if (prc < 0) {
			snprintf(err, errlen, "etcd %s: publishing update %u: %s",
				 c->etcd, i, strerror(-prc));
			goto out;
		}
		while (!seen && now_ns() < t0 + tmo) {
			struct pollfd p = { .fd = ukf_dir_etcd_fd(b),
					    .events = POLLIN };
			poll(&p, 1, 100);
			while (ukf_dir_etcd_next(b, &ev))
				if (ev.kind == UKF_DE_RECORD && ev.node == 0 &&
				    ev.len) {
					ukf_dir_apply(view, ev.rec, ev.len);
					seen = ukf_dir_get(view, 0)->version ==
					       v;
				}
		}
		if (!seen) {
			char st[256];
			ukf_dir_etcd_status(b, st, sizeof(st));
			snprintf(err, errlen,
				 "etcd %s: update %u not seen in %.1f s (%s)",
				 c->etcd, i, tmo / 1e9, st);
			goto out;
		}
		if (i >= c->warmup)
			ns[i - c->warmup] = (double)(now_ns() - t0);
	}
	rc = 0;
out:
	ukf_dir_etcd_stop(&a, 1);
	ukf_dir_etcd_stop(&b, 1);
	if (rc == 0)
		clear_prefix(c->etcd, prefix, why, sizeof(why));
	ukf_dir_destroy(&view);
	return rc;
}

int ukf_dirvis_measure(const struct ukf_dirvis_config *c, double *ns,
		       char *err, size_t errlen)
{
	int64_t tmo = c->timeout_ns > 0 ? c->timeout_ns : 10000000000LL;

	if (!c->samples || !ns) {
		snprintf(err, errlen, "no samples asked for");
		return -1;
	}
	if (c->etcd && *c->etcd)
		return vis_etcd(c, tmo, ns, err, errlen);
	return vis_embedded(c, tmo, ns, err, errlen);
}
