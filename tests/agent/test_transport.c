/* SPDX-License-Identifier: MIT */
/* test_transport.c - self-tests of the agent transport: real transports over
 * loopback TCP, in one process and in children. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "harness.h"
#include "tests/common/selftest.h"

#define GUARD_MS 20000 /* hang guard of every wait */
#define N(a)	 (sizeof(a) / sizeof((a)[0]))

/* ---- configuration ---- */

static int create_fails(struct ukf_tp_config *c, const char *what)
{
	char err[256] = "";
	ukf_tp_t *tp = ukf_tp_create(c, err, sizeof(err));

	if (tp) {
		ukf_tp_destroy(&tp);
		fprintf(stderr, "accepted a config that should fail: %s\n",
			what);
		return 0;
	}
	if (!strstr(err, what)) {
		fprintf(stderr, "error '%s' does not say '%s'\n", err, what);
		return 0;
	}
	return 1;
}

static int test_tp_config_bad(void)
{
	struct h_node a, b, c, *pb[] = {&b}, *pbb[] = {&b, &b};
	struct ukf_tp_config k;
	char other_pub[41], other_sec[41];

	h_node_init(&a, 0);
	h_node_init(&b, 1);
	h_node_init(&c, UKF_FRAME_CLIENT);
	h_node_config(&a, pb, 1, NULL, 0);
	zmq_curve_keypair(other_pub, other_sec);

	k = a.cfg;
	k.public_key[3] = ' ';
	CHECK(create_fails(&k, "own public key"));
	k = a.cfg;
	memcpy(k.secret_key, other_sec, 41);
	CHECK(create_fails(&k, "does not belong"));
	k = a.cfg;
	k.incarnation = 0;
	CHECK(create_fails(&k, "incarnation"));
	k = a.cfg;
	k.bind = NULL;
	CHECK(create_fails(&k, "endpoint to bind"));
	k = a.cfg;
	k.peer_timeout_ns = k.heartbeat_ns;
	CHECK(create_fails(&k, "not above heartbeat"));
	k = a.cfg;
	k.bulk_chunk = 100;
	CHECK(create_fails(&k, "bulk_chunk"));
	k = a.cfg;
	k.bind = "tcp://127.0.0.1:1"; /* privileged port ... */
	if (geteuid() != 0)
		CHECK(create_fails(&k, "bind tcp://127.0.0.1:1"));
	k = a.cfg;
	k.bind = "nonsense://x";
	CHECK(create_fails(&k, "bind nonsense://x"));

	h_node_config(&a, pbb, 2, NULL, 0);
	CHECK(create_fails(&a.cfg, "listed twice"));

	/* a client binds nothing and takes no clients */
	h_node_config(&c, pb, 1, pb, 1);
	CHECK(create_fails(&c.cfg, "accepts no clients"));
	h_node_config(&c, pb, 1, NULL, 0);
	k = c.cfg;
	k.bind = "tcp://127.0.0.1:9";
	CHECK(create_fails(&k, "binds nothing"));

	/* the same port twice: the second bind fails with a reason */
	h_node_config(&a, pb, 1, NULL, 0);
	CHECK(h_node_start(&a));
	{
		struct h_node a2 = a;

		a2.tp = NULL;
		a2.cfg.incarnation++;
		CHECK(create_fails(&a2.cfg, "Address already in use"));
	}
	h_node_free(&a);
	h_node_free(&b);
	h_node_free(&c);
	return 0;
}

/* ---- traffic ---- */

struct want {
	struct h_node *n;
	size_t msgs;
};

static int have_msgs(void *arg)
{
	struct want *w = arg;

	return w->n->nmsgs >= w->msgs;
}

struct want_ev {
	struct h_node *n;
	uint32_t who;
	int up, restarted;
};

static int have_event(void *arg)
{
	struct want_ev *w = arg;

	return h_find_event(w->n, w->who, w->up, w->restarted) >= 0;
}

static int all_up(void *arg)
{
	struct h_node **ns = arg;

	for (size_t i = 0; ns[i]; i++)
		for (size_t j = 0; ns[j]; j++)
			if (i != j && h_find_event(ns[i], ns[j]->id, 1, -1) < 0)
				return 0;
	return 1;
}

static int find_msg(const struct h_node *n, uint32_t from, uint16_t type,
		    const char *body)
{
	for (size_t i = 0; i < n->nmsgs; i++)
		if (n->msgs[i].from == from && n->msgs[i].h.type == type &&
		    n->msgs[i].len == strlen(body) &&
		    !memcmp(n->msgs[i].body, body, n->msgs[i].len))
			return (int)i;
	return -1;
}

/* k agents, each talking to all the others, every direction checked. */
static int mesh(size_t k)
{
	struct h_node nodes[3], *ns[4] = {0}, *peers[3];
	char body[64];

	for (size_t i = 0; i < k; i++) {
		h_node_init(&nodes[i], (uint32_t)i);
		ns[i] = &nodes[i];
	}
	for (size_t i = 0; i < k; i++) {
		size_t np = 0;

		for (size_t j = 0; j < k; j++)
			peers[np++] = &nodes[j]; /* self is skipped */
		h_node_config(&nodes[i], peers, np, NULL, 0);
		nodes[i].send_on_up = 1;
		CHECK(h_node_start(&nodes[i]));
	}
	CHECK(h_poll_until(ns, k, all_up, ns, GUARD_MS));
	/* up means we can send to it: a send from on_peer works */
	for (size_t j = 0; j < k; j++) {
		struct want w = {&nodes[j], k - 1};

		CHECK(h_poll_until(ns, k, have_msgs, &w, GUARD_MS));
		CHECK(nodes[j].send_on_up_failed == 0);
		for (size_t i = 0; i < k; i++)
			CHECK(i == j || find_msg(&nodes[j], (uint32_t)i, 10,
						 "on up") >= 0);
		h_msgs_clear(&nodes[j]);
	}
	for (size_t i = 0; i < k; i++)
		for (size_t j = 0; j < k; j++) {
			if (i == j) {
				CHECK(ukf_tp_send(nodes[i].tp, (uint32_t)j, 9,
						  "x", 1, NULL, 0) == -EINVAL);
				continue;
			}
			snprintf(body, sizeof(body), "from %zu to %zu", i, j);
			CHECK(ukf_tp_send(nodes[i].tp, (uint32_t)j, 9, body,
					  strlen(body), NULL, 0) == 0);
		}
	for (size_t j = 0; j < k; j++) {
		struct want w = {&nodes[j], k - 1};

		CHECK(h_poll_until(ns, k, have_msgs, &w, GUARD_MS));
	}
	for (size_t i = 0; i < k; i++)
		for (size_t j = 0; j < k; j++) {
			int m;

			if (i == j)
				continue;
			snprintf(body, sizeof(body), "from %zu to %zu", i, j);
			m = find_msg(&nodes[j], (uint32_t)i, 9, body);
			CHECK(m >= 0);
			CHECK(nodes[j].msgs[m].h.sender == i);
			CHECK(nodes[j].msgs[m].h.incarnation ==
			      nodes[i].cfg.incarnation);
		}
	/* types the transport does not carry */
	CHECK(ukf_tp_send(nodes[0].tp, 1, 0, "x", 1, NULL, 0) == -EINVAL);
	CHECK(ukf_tp_send(nodes[0].tp, 1, UKF_TP_T_HELLO, "x", 1, NULL, 0) ==
	      -EINVAL);
	CHECK(ukf_tp_send(nodes[0].tp, 1, 192, "x", 1, NULL, 0) == -EINVAL);
	CHECK(ukf_tp_send(nodes[0].tp, 77, 9, "x", 1, NULL, 0) == -EINVAL);
	for (size_t i = 0; i < k; i++)
		h_node_free(&nodes[i]);
	return 0;
}

static int test_tp_two_way(void)
{
	return mesh(2);
}

static int test_tp_three(void)
{
	return mesh(3);
}

/* A client talks to two agents: handles, both directions, limits. */
static int test_tp_client(void)
{
	struct h_node a, b, cl, *ns[] = {&a, &b, &cl, NULL};
	struct h_node *pab[] = {&a, &b}, *pcl[] = {&cl};
	struct ukf_tp_peer_stats st;
	struct ukf_tp_stats g;
	uint32_t ha, hb;
	int m;

	h_node_init(&a, 0);
	h_node_init(&b, 1);
	h_node_init(&cl, UKF_FRAME_CLIENT);
	h_node_config(&a, pab, 2, pcl, 1);
	h_node_config(&b, pab, 2, pcl, 1);
	h_node_config(&cl, pab, 2, NULL, 0);
	CHECK(h_node_start(&a) && h_node_start(&b) && h_node_start(&cl));
	{
		struct want_ev w1 = {&cl, 0, 1, 0}, w2 = {&cl, 1, 1, 0};

		CHECK(h_poll_until(ns, 3, have_event, &w1, GUARD_MS));
		CHECK(h_poll_until(ns, 3, have_event, &w2, GUARD_MS));
	}
	/* each agent reported the client up under a handle */
	CHECK(a.nev >= 1 && b.nev >= 1);
	m = -1;
	for (size_t i = 0; i < a.nev; i++)
		if (ukf_tp_is_handle(a.ev[i].who) && a.ev[i].up)
			m = (int)i;
	CHECK(m >= 0);
	ha = a.ev[m].who;
	CHECK(a.ev[m].inc == cl.cfg.incarnation);
	/* the client learns its handle from the agent's HELLO */
	{
		struct h_node *w[] = {&a, &b, &cl};
		int ok = 0;

		for (int i = 0; i < 2000 && !ok; i++) {
			h_poll_all(w, 3);
			ok = ukf_tp_my_handle(cl.tp, 0) == ha &&
			     ukf_tp_my_handle(cl.tp, 1) != UKF_TP_HANDLE_NONE;
		}
		CHECK(ok);
	}
	hb = ukf_tp_my_handle(cl.tp, 1);
	CHECK(ukf_tp_is_handle(hb));
	ukf_tp_stats(a.tp, &g);
	CHECK(g.clients == 1);
	/* client -> agent: client types only */
	CHECK(ukf_tp_send(cl.tp, 0, 9, "no", 2, NULL, 0) == -EINVAL);
	CHECK(ukf_tp_send(cl.tp, 0, 130, "run it", 6, NULL, 0) == 0);
	CHECK(ukf_tp_send(cl.tp, 1, 131, "status?", 7, NULL, 0) == 0);
	{
		struct want wa = {&a, 1}, wb = {&b, 1};

		CHECK(h_poll_until(ns, 3, have_msgs, &wa, GUARD_MS));
		CHECK(h_poll_until(ns, 3, have_msgs, &wb, GUARD_MS));
	}
	CHECK(find_msg(&a, ha, 130, "run it") == 0);
	CHECK(a.msgs[0].h.sender == UKF_FRAME_CLIENT);
	CHECK(find_msg(&b, hb, 131, "status?") == 0);
	/* agent -> client by handle */
	CHECK(ukf_tp_send(a.tp, ha, 140, "done", 4, NULL, 0) == 0);
	CHECK(ukf_tp_send(b.tp, hb, 141, "fine", 4, NULL, 0) == 0);
	CHECK(ukf_tp_send(a.tp, ha + 100, 140, "nobody", 6, NULL, 0) ==
	      -EINVAL);
	{
		struct want w = {&cl, 2};

		CHECK(h_poll_until(ns, 3, have_msgs, &w, GUARD_MS));
	}
	CHECK(find_msg(&cl, 0, 140, "done") >= 0);
	CHECK(find_msg(&cl, 1, 141, "fine") >= 0);
	CHECK(ukf_tp_peer_stats(a.tp, ha, &st) == 0 && st.up &&
	      st.msgs_in == 1 && st.msgs_out == 1);
	/* the client leaves: BYE, its handle is down at once and gone */
	h_node_free(&cl);
	{
		struct want_ev w = {&a, ha, 0, 0};

		CHECK(h_poll_until(ns, 2, have_event, &w, GUARD_MS));
	}
	CHECK(ukf_tp_peer_stats(a.tp, ha, &st) == -ENOENT);
	CHECK(ukf_tp_send(a.tp, ha, 140, "late", 4, NULL, 0) == -EINVAL);
	h_node_free(&a);
	h_node_free(&b);
	return 0;
}

/* 64 MiB mostly zero pages: compressed, intact, within the window. */
static uint8_t *template_like(size_t n, unsigned seed)
{
	uint8_t *b = calloc(1, n);

	/* a 4 KiB page of noise every 32 pages, and a fully random 1 MiB
	 * stretch (incompressible chunks go raw) */
	for (size_t pg = 0; pg < n / 4096; pg += 32)
		for (size_t i = 0; i < 4096; i++)
			b[pg * 4096 + i] = (uint8_t)(rand_r(&seed) >> 7);
	for (size_t i = n / 2; i < n / 2 + (1 << 20) && i < n; i++)
		b[i] = (uint8_t)(rand_r(&seed) >> 5);
	return b;
}

static int test_tp_bulk_64m(void)
{
	struct h_node a, b, *ns[] = {&a, &b, NULL}, *pab[] = {&a, &b};
	size_t n = 64u << 20;
	uint8_t *big = template_like(n, 42);
	struct ukf_tp_peer_stats sa, sb;
	struct want w = {&b, 2};

	h_node_init(&a, 0);
	h_node_init(&b, 1);
	h_node_config(&a, pab, 2, NULL, 0);
	h_node_config(&b, pab, 2, NULL, 0);
	/* not a liveness test: page faults on 64 MiB may stall a loaded VM */
	a.cfg.peer_timeout_ns = b.cfg.peer_timeout_ns = 30000000000LL;
	CHECK(h_node_start(&a) && h_node_start(&b));
	CHECK(h_poll_until(ns, 2, all_up, ns, GUARD_MS));
	{
		void *copy = malloc(n);

		CHECK(copy);
		memcpy(copy, big, n);
		CHECK(ukf_tp_send_owned(a.tp, 1, 2, "clone", 5, &copy, n) == 0);
		CHECK(copy == NULL);
	}
	/* a message without bulk overtakes the transfer in progress */
	CHECK(ukf_tp_send(a.tp, 1, 3, "ready", 5, NULL, 0) == 0);
	CHECK(h_poll_until(ns, 2, have_msgs, &w, 60000));
	CHECK(find_msg(&b, 0, 3, "ready") == 0);
	CHECK(find_msg(&b, 0, 2, "clone") == 1);
	CHECK(b.msgs[1].h.flags & UKF_FRAME_F_BULK);
	CHECK(b.msgs[1].bulk_len == n && b.msgs[1].bulk);
	CHECK(!memcmp(b.msgs[1].bulk, big, n));
	CHECK(ukf_tp_peer_stats(a.tp, 1, &sa) == 0);
	CHECK(ukf_tp_peer_stats(b.tp, 0, &sb) == 0);
	printf("64 MiB bulk: %llu raw bytes, %llu on the wire (%.2f%%), "
	       "%llu chunks, at most %u in flight\n",
	       (unsigned long long)sa.bulk_raw_out,
	       (unsigned long long)sa.bulk_wire_out,
	       100.0 * (double)sa.bulk_wire_out / (double)sa.bulk_raw_out,
	       (unsigned long long)sa.chunks_out, sa.inflight_max);
	CHECK(sa.bulk_raw_out == n && sb.bulk_raw_in == n);
	CHECK(sa.bulk_wire_out * 8 < sa.bulk_raw_out);
	CHECK(sa.bulk_wire_out > (1u << 20)); /* the random MiB went raw */
	CHECK(sb.bulk_wire_in == sa.bulk_wire_out);
	CHECK(sa.chunks_out == n / (256 << 10));
	CHECK(sa.inflight_max >= 1 && sa.inflight_max <= 8);
	CHECK(sa.bulk_out == 1 && sb.bulk_in == 1 && sb.bulk_aborted == 0);
	free(big);
	h_node_free(&a);
	h_node_free(&b);
	return 0;
}

/* Bulk messages of awkward sizes, both codecs, arrive intact, in order. */
static int bulk_order(enum ukf_tp_compress codec)
{
	struct h_node a, b, *ns[] = {&a, &b, NULL}, *pab[] = {&a, &b};
	size_t sizes[] = {1, 4096, 8192, 8193, 3 * 8192, 100000, 5};
	uint8_t *data[N(sizes)];
	struct want w = {&b, N(sizes) + 2};
	size_t got = 0;

	h_node_init(&a, 0);
	h_node_init(&b, 1);
	h_node_config(&a, pab, 2, NULL, 0);
	h_node_config(&b, pab, 2, NULL, 0);
	a.cfg.bulk_chunk = 8192;
	a.cfg.compress = codec;
	b.cfg.bulk_window = 2;
	CHECK(h_node_start(&a) && h_node_start(&b));
	CHECK(h_poll_until(ns, 2, all_up, ns, GUARD_MS));
	for (size_t i = 0; i < N(sizes); i++) {
		char body[16];

		data[i] = template_like(sizes[i] < 4096 ? 4096 : sizes[i],
					(unsigned)i);
		if (i % 3 == 0)
			memset(data[i], 'u', sizes[i]); /* compresses well */
		snprintf(body, sizeof(body), "bulk %zu", i);
		CHECK(ukf_tp_send(a.tp, 1, 20, body, strlen(body), data[i],
				  sizes[i]) == 0);
		if (i == 2)
			CHECK(ukf_tp_send(a.tp, 1, 21, "", 0, NULL, 0) == 0);
	}
	CHECK(ukf_tp_send(a.tp, 1, 21, "", 0, NULL, 0) == 0);
	CHECK(h_poll_until(ns, 2, have_msgs, &w, GUARD_MS));
	for (size_t i = 0; i < b.nmsgs; i++) {
		struct h_msg *m = &b.msgs[i];
		char body[16];

		if (m->h.type == 21)
			continue;
		snprintf(body, sizeof(body), "bulk %zu", got);
		CHECK(m->len == strlen(body) && !memcmp(m->body, body, m->len));
		CHECK(m->bulk_len == sizes[got]);
		CHECK(!memcmp(m->bulk, data[got], sizes[got]));
		got++;
	}
	CHECK(got == N(sizes));
	for (size_t i = 0; i < N(sizes); i++)
		free(data[i]);
	{
		struct ukf_tp_peer_stats sa;

		CHECK(ukf_tp_peer_stats(a.tp, 1, &sa) == 0);
		CHECK(sa.inflight_max <= 2);
		if (codec == UKF_TP_COMPRESS_NONE)
			CHECK(sa.bulk_wire_out > sa.bulk_raw_out);
		else
			CHECK(sa.bulk_wire_out < sa.bulk_raw_out);
	}
	h_node_free(&a);
	h_node_free(&b);
	return 0;
}

static int test_tp_bulk_order(void)
{
	return bulk_order(UKF_TP_COMPRESS_ZSTD);
}

static int test_tp_bulk_lz4(void)
{
	return bulk_order(UKF_TP_COMPRESS_LZ4);
}

static int test_tp_bulk_raw(void)
{
	return bulk_order(UKF_TP_COMPRESS_NONE);
}

/* A bulk message larger than the receiver takes is refused at once. */
static int test_tp_bulk_refused(void)
{
	struct h_node a, b, *ns[] = {&a, &b, NULL}, *pab[] = {&a, &b};
	static uint8_t data[100000];
	struct ukf_tp_peer_stats sa, sb;
	int done = 0;

	h_node_init(&a, 0);
	h_node_init(&b, 1);
	h_node_config(&a, pab, 2, NULL, 0);
	h_node_config(&b, pab, 2, NULL, 0);
	b.cfg.bulk_max = 50000;
	/* long timeouts: only the refusal can end the transfer in time */
	a.cfg.peer_timeout_ns = b.cfg.peer_timeout_ns = 60000000000LL;
	CHECK(h_node_start(&a) && h_node_start(&b));
	CHECK(h_poll_until(ns, 2, all_up, ns, GUARD_MS));
	CHECK(ukf_tp_send(a.tp, 1, 7, "big", 3, data, sizeof(data)) == 0);
	CHECK(ukf_tp_send(a.tp, 1, 7, "small", 5, data, 1000) == 0);
	for (int i = 0; i < 20000 && !done; i++) {
		h_poll_all(ns, 2);
		ukf_tp_peer_stats(a.tp, 1, &sa);
		done = sa.bulk_aborted == 1 && b.nmsgs == 1;
	}
	CHECK(done);
	CHECK(find_msg(&b, 0, 7, "small") == 0);
	CHECK(ukf_tp_peer_stats(b.tp, 0, &sb) == 0);
	CHECK(sb.dropped[UKF_TP_DROP_OVERSIZED] == 1);
	CHECK(h_log_count(&b, "over bulk_max") == 1);
	CHECK(h_log_count(&a, "the receiver refused it") == 1);
	/* and the sender's own limit */
	CHECK(ukf_tp_send(b.tp, 0, 7, "x", 1, data, 50001) == -EMSGSIZE);
	h_node_free(&a);
	h_node_free(&b);
	return 0;
}

/* Receive everything waiting on a raw ROUTER; count chunk frames of
 * transfer xfer (0: any), note a descriptor. */
struct raw_rx {
	uint64_t xfer;
	uint32_t chunks;
	uint32_t nchunks;
};

static void raw_drain(void *r, struct raw_rx *x)
{
	for (;;) {
		zmq_msg_t m[3];
		int n = 0, more = 1;

		while (more && n < 3) {
			zmq_msg_init(&m[n]);
			if (zmq_msg_recv(&m[n], r, n ? 0 : ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&m[n]);
				return;
			}
			more = zmq_msg_more(&m[n]);
			n++;
		}
		if (n >= 2 && zmq_msg_size(&m[1]) >= UKF_FRAME_HEADER) {
			struct ukf_frame_header h;
			char err[128];
			const uint8_t *d = zmq_msg_data(&m[1]);

			if (ukf_frame_header_decode(&h, d, zmq_msg_size(&m[1]),
						    err, sizeof(err)) == 0) {
				if ((h.flags & UKF_FRAME_F_BULK) && n == 3) {
					struct ukf_tpm_desc de;

					ukf_tpm_decode(UKF_TPM_DESC, &de,
						       zmq_msg_data(&m[2]),
						       zmq_msg_size(&m[2]), 0,
						       NULL, err, sizeof(err));
					x->xfer = de.xfer;
					x->nchunks = de.nchunks;
				} else if (h.type == UKF_TP_T_BULK_CHUNK) {
					x->chunks++;
				}
			}
		}
		for (int i = 0; i < n; i++)
			zmq_msg_close(&m[i]);
	}
}

static int raw_credit(void *d, uint32_t self, uint64_t inc, uint64_t *seq,
		      uint64_t xfer, uint32_t consumed, uint32_t limit)
{
	struct ukf_tpm_credit c = {xfer, consumed, limit, UKF_TP_CREDIT_OK};
	uint8_t body[24];
	struct ukf_frame_header h;

	ukf_tpm_encode(UKF_TPM_CREDIT, &c, body, sizeof(body));
	h = h_hdr(self, inc, ++*seq, UKF_TP_T_BULK_CREDIT, 24);
	return h_raw_send(d, &h, body, 24, NULL, NULL, 0);
}

/* A receiver that grants 4 chunks gets 4, no more; 2 more: 2 more. */
static int test_tp_flow_window(void)
{
	struct h_node a, b, *ns[] = {&a}, *pab[] = {&a, &b};
	void *ctx = h_raw_ctx(), *r, *d;
	static uint8_t data[32 * 4096];
	struct raw_rx x = {0};
	uint64_t seq = 0, inc = 5;
	struct ukf_tp_peer_stats sa;
	unsigned seed = 7;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(rand_r(&seed) >> 3);
	h_node_init(&a, 0);
	h_node_init(&b, 1); /* played by raw sockets */
	h_node_config(&a, pab, 2, NULL, 0);
	a.cfg.bulk_chunk = 4096;
	a.cfg.peer_timeout_ns = 60000000000LL;
	CHECK(h_node_start(&a));
	r = h_raw_router(ctx, b.ep, b.sec);
	d = h_raw_dealer(ctx, a.ep, a.pub, b.pub, b.sec);
	CHECK(r && d);
	CHECK(ukf_tp_send(a.tp, 1, 2, "tpl", 3, data, sizeof(data)) == 0);
	for (int i = 0; i < 20000 && !x.xfer; i++) {
		h_poll_all(ns, 1);
		raw_drain(r, &x);
	}
	CHECK(x.xfer == 1 && x.nchunks == 32);
	CHECK(x.chunks == 0); /* nothing before the first credit */
	CHECK(raw_credit(d, 1, inc, &seq, x.xfer, 0, 4) == 0);
	for (int i = 0; i < 20000 && x.chunks < 4; i++) {
		h_poll_all(ns, 1);
		raw_drain(r, &x);
	}
	CHECK(x.chunks == 4);
	for (int i = 0; i < 300; i++) { /* a while: nothing more may come */
		h_poll_all(ns, 1);
		raw_drain(r, &x);
	}
	CHECK(x.chunks == 4);
	CHECK(raw_credit(d, 1, inc, &seq, x.xfer, 4, 6) == 0);
	for (int i = 0; i < 20000 && x.chunks < 6; i++) {
		h_poll_all(ns, 1);
		raw_drain(r, &x);
	}
	for (int i = 0; i < 300; i++) {
		h_poll_all(ns, 1);
		raw_drain(r, &x);
	}
	CHECK(x.chunks == 6);
	CHECK(ukf_tp_peer_stats(a.tp, 1, &sa) == 0);
	CHECK(sa.chunks_out == 6 && sa.inflight_max == 4);
	/* a credit claiming more consumed than sent is a violation */
	CHECK(raw_credit(d, 1, inc, &seq, x.xfer, 9, 12) == 0);
	for (int i = 0; i < 20000 && !sa.dropped[UKF_TP_DROP_BULK]; i++) {
		h_poll_all(ns, 1);
		raw_drain(r, &x);
		ukf_tp_peer_stats(a.tp, 1, &sa);
	}
	CHECK(sa.dropped[UKF_TP_DROP_BULK] == 1 && x.chunks == 6);
	zmq_close(r);
	zmq_close(d);
	zmq_ctx_term(ctx);
	h_node_free(&a);
	h_node_free(&b);
	return 0;
}

static int refused_some(void *arg)
{
	struct ukf_tp_stats g;

	ukf_tp_stats(arg, &g);
	return g.refused >= 1;
}

/* A peer whose key A does not know gets nothing through. */
static int test_tp_unknown_key(void)
{
	struct h_node a, b, c, *ns[] = {&a, &b, &c}, *pab[] = {&a, &b};
	struct h_node *pca[] = {&c, &a};
	struct want_ev w = {&b, 0, 1, -1};

	h_node_init(&a, 0);
	h_node_init(&b, 1);
	h_node_init(&c, 1); /* claims to be node 1, with its own key */
	h_node_config(&a, pab, 2, NULL, 0);
	h_node_config(&b, pab, 2, NULL, 0);
	h_node_config(&c, pca, 2, NULL, 0);
	CHECK(h_node_start(&a) && h_node_start(&b));
	/* c binds elsewhere but dials a like b does */
	CHECK(h_node_start(&c));
	CHECK(ukf_tp_send(c.tp, 0, 9, "let me in", 9, NULL, 0) == -EAGAIN);
	CHECK(h_poll_until(ns, 3, refused_some, a.tp, GUARD_MS));
	CHECK(h_poll_until(ns, 3, have_event, &w, GUARD_MS));
	/* libzmq does not redial after a refusal; keep trying to send */
	for (int i = 0; i < 100; i++) {
		h_poll_all(ns, 3);
		ukf_tp_send(c.tp, 0, 9, "let me in", 9, NULL, 0);
	}
	/* a heard from b only; c's frames never arrived */
	for (size_t i = 0; i < a.nmsgs; i++)
		CHECK(memcmp(a.msgs[i].body, "let me in", 9));
	CHECK(h_find_event(&c, 0, 1, -1) < 0); /* no HELLO back either */
	CHECK(h_log_count(&a, "unknown key") == 1);
	{
		struct ukf_tp_peer_stats st;

		CHECK(ukf_tp_peer_stats(a.tp, 1, &st) == 0);
		CHECK(st.incarnation == b.cfg.incarnation);
	}
	h_node_free(&a);
	h_node_free(&b);
	h_node_free(&c);
	return 0;
}

static int dropped_kind(void *arg)
{
	void **x = arg;
	struct ukf_tp_peer_stats st;

	ukf_tp_peer_stats(x[0], 1, &st);
	return st.dropped[*(int *)x[1]] >= *(uint64_t *)x[2];
}

/* Node 1's key with header.sender = 2: dropped; the truth gets through. */
static int test_tp_forged(void)
{
	struct h_node a, b, c, *ns[] = {&a}, *pabc[] = {&a, &b, &c};
	void *ctx = h_raw_ctx(), *d;
	struct ukf_frame_header h;
	struct ukf_tp_peer_stats st;
	struct want w = {&a, 1};
	int kind = UKF_TP_DROP_FORGED;
	uint64_t one = 1;
	void *x[] = {NULL, &kind, &one};

	h_node_init(&a, 0);
	h_node_init(&b, 1);
	h_node_init(&c, 2);
	h_node_config(&a, pabc, 3, NULL, 0);
	CHECK(h_node_start(&a));
	x[0] = a.tp;
	d = h_raw_dealer(ctx, a.ep, a.pub, b.pub, b.sec);
	h = h_hdr(2, 9, 1, 9, 6);
	CHECK(h_raw_send(d, &h, "forged", 6, NULL, NULL, 0) == 0);
	CHECK(h_poll_until(ns, 1, dropped_kind, x, GUARD_MS));
	h = h_hdr(1, 9, 2, 9, 4);
	CHECK(h_raw_send(d, &h, "true", 4, NULL, NULL, 0) == 0);
	CHECK(h_poll_until(ns, 1, have_msgs, &w, GUARD_MS));
	CHECK(a.nmsgs == 1 && find_msg(&a, 1, 9, "true") == 0);
	CHECK(ukf_tp_peer_stats(a.tp, 1, &st) == 0 &&
	      st.dropped[UKF_TP_DROP_FORGED] == 1);
	CHECK(h_find_event(&a, 2, 1, -1) < 0); /* node 2 never came up */
	CHECK(h_log_count(&a, "forged") == 1);
	zmq_close(d);
	zmq_ctx_term(ctx);
	h_node_free(&a);
	h_node_free(&b);
	h_node_free(&c);
	return 0;
}

/* Garbage of every kind from an authenticated peer: counted per kind,
 * logged once per kind, dropped; the transport goes on working. */
static int test_tp_malformed(void)
{
	struct h_node a, b, *ns[] = {&a}, *pab[] = {&a, &b};
	void *ctx = h_raw_ctx(), *d;
	struct ukf_frame_header h;
	struct ukf_tp_peer_stats st;
	struct want w = {&a, 1};
	uint64_t inc = 1000, seq = 0;
	uint8_t junk[64], big[4097], body[64];
	const void *f[2];
	size_t fl[2];
	int n;

	memset(junk, 0x5a, sizeof(junk));
	memset(big, 0, sizeof(big));
	h_node_init(&a, 0);
	h_node_init(&b, 1);
	h_node_config(&a, pab, 2, NULL, 0);
	a.cfg.msg_max = 4096;
	a.cfg.peer_timeout_ns = 60000000000LL;
	CHECK(h_node_start(&a));
	d = h_raw_dealer(ctx, a.ep, a.pub, b.pub, b.sec);
	CHECK(d);
	/* malformed: short, bad magic, versions, length, type 0, incarnation
	 * 0, unknown flags, three frames, bulk flag without its frame, a frame
	 * without the flag, bad hello bodies, bad bulk descriptor */
	CHECK(h_raw_bytes(d, junk, 10) == 0);
	CHECK(h_raw_bytes(d, junk, 40) == 0);
	h = h_hdr(1, inc, ++seq, 9, 0);
	/* a sender that no longer speaks this version */
	h.version = UKF_FRAME_VERSION + 3, h.min_version = UKF_FRAME_VERSION + 1;
	CHECK(h_raw_send(d, &h, NULL, 0, NULL, NULL, 0) == 0);
	h = h_hdr(1, inc, ++seq, 9, 7);
	CHECK(h_raw_send(d, &h, junk, 6, NULL, NULL, 0) == 0);
	h = h_hdr(1, inc, ++seq, 0, 0);
	CHECK(h_raw_send(d, &h, NULL, 0, NULL, NULL, 0) == 0);
	h = h_hdr(1, 0, ++seq, 9, 0);
	CHECK(h_raw_send(d, &h, NULL, 0, NULL, NULL, 0) == 0);
	h = h_hdr(1, inc, ++seq, 9, 0);
	h.flags = 0x4;
	CHECK(h_raw_send(d, &h, NULL, 0, NULL, NULL, 0) == 0);
	f[0] = f[1] = junk;
	fl[0] = fl[1] = 3;
	h = h_hdr(1, inc, ++seq, 9, 0);
	CHECK(h_raw_send(d, &h, NULL, 0, f, fl, 2) == 0);
	h = h_hdr(1, inc, ++seq, 9, 0);
	h.flags = UKF_FRAME_F_BULK;
	CHECK(h_raw_send(d, &h, NULL, 0, NULL, NULL, 0) == 0);
	h = h_hdr(1, inc, ++seq, 9, 0);
	CHECK(h_raw_send(d, &h, NULL, 0, f, fl, 1) == 0);
	h = h_hdr(1, inc, ++seq, UKF_TP_T_HELLO, 31);
	CHECK(h_raw_send(d, &h, junk, 31, NULL, NULL, 0) == 0);
	{
		struct ukf_tpm_hello he = {1, UKF_TP_ROLE_AGENT, inc,
					   UKF_TP_HANDLE_NONE, 1};

		ukf_tpm_encode(UKF_TPM_HELLO, &he, body, sizeof(body));
		body[4] = UKF_TP_ROLE_CLIENT;
		h = h_hdr(1, inc, ++seq, UKF_TP_T_HELLO, 32);
		CHECK(h_raw_send(d, &h, body, 32, NULL, NULL, 0) == 0);
	}
	{
		struct ukf_tpm_desc de = {1, 8192, 4096, 2};

		n = ukf_tpm_encode(UKF_TPM_DESC, &de, body, sizeof(body));
		body[20] = 3; /* nchunks */
		f[0] = body;
		fl[0] = (size_t)n;
		h = h_hdr(1, inc, ++seq, 9, 0);
		h.flags = UKF_FRAME_F_BULK;
		CHECK(h_raw_send(d, &h, NULL, 0, f, fl, 1) == 0);
	}
	/* oversized: a body over msg_max */
	h = h_hdr(1, inc, ++seq, 9, sizeof(big));
	CHECK(h_raw_send(d, &h, big, sizeof(big), NULL, NULL, 0) == 0);
	/* type: outside every range, unknown transport type */
	h = h_hdr(1, inc, ++seq, 200, 0);
	CHECK(h_raw_send(d, &h, NULL, 0, NULL, NULL, 0) == 0);
	h = h_hdr(1, inc, ++seq, 90, 0);
	CHECK(h_raw_send(d, &h, NULL, 0, NULL, NULL, 0) == 0);
	/* bulk: a chunk of no transfer; then a transfer whose chunk does not
	 * decompress */
	{
		struct ukf_tpm_chunk c = {77, 0, 4096, 10, UKF_TP_CODEC_ZSTD};
		struct ukf_tpm_desc de = {1, 8192, 4096, 2};
		uint8_t dd[24];

		ukf_tpm_encode(UKF_TPM_CHUNK, &c, body, sizeof(body));
		f[0] = junk;
		fl[0] = 10;
		h = h_hdr(1, inc, ++seq, UKF_TP_T_BULK_CHUNK, 24);
		CHECK(h_raw_send(d, &h, body, 24, f, fl, 1) == 0);
		ukf_tpm_encode(UKF_TPM_DESC, &de, dd, sizeof(dd));
		f[0] = dd;
		fl[0] = 24;
		h = h_hdr(1, inc, ++seq, 9, 0);
		h.flags = UKF_FRAME_F_BULK;
		CHECK(h_raw_send(d, &h, NULL, 0, f, fl, 1) == 0);
		c.xfer = 1;
		ukf_tpm_encode(UKF_TPM_CHUNK, &c, body, sizeof(body));
		f[0] = junk;
		fl[0] = 10;
		h = h_hdr(1, inc, ++seq, UKF_TP_T_BULK_CHUNK, 24);
		CHECK(h_raw_send(d, &h, body, 24, f, fl, 1) == 0);
	}
	/* stale: a sequence number again, an older incarnation */
	h = h_hdr(1, inc, seq, 9, 0);
	CHECK(h_raw_send(d, &h, NULL, 0, NULL, NULL, 0) == 0);
	h = h_hdr(1, inc - 1, ++seq, 9, 0);
	CHECK(h_raw_send(d, &h, NULL, 0, NULL, NULL, 0) == 0);
	/* and then a good one */
	h = h_hdr(1, inc, ++seq, 9, 4);
	CHECK(h_raw_send(d, &h, "fine", 4, NULL, NULL, 0) == 0);
	CHECK(h_poll_until(ns, 1, have_msgs, &w, GUARD_MS));
	CHECK(a.nmsgs == 1 && find_msg(&a, 1, 9, "fine") == 0);
	CHECK(ukf_tp_peer_stats(a.tp, 1, &st) == 0);
	fprintf(stderr,
		"malformed %llu oversized %llu type %llu bulk %llu "
		"stale %llu forged %llu\n",
		(unsigned long long)st.dropped[UKF_TP_DROP_MALFORMED],
		(unsigned long long)st.dropped[UKF_TP_DROP_OVERSIZED],
		(unsigned long long)st.dropped[UKF_TP_DROP_TYPE],
		(unsigned long long)st.dropped[UKF_TP_DROP_BULK],
		(unsigned long long)st.dropped[UKF_TP_DROP_STALE],
		(unsigned long long)st.dropped[UKF_TP_DROP_FORGED]);
	CHECK(st.dropped[UKF_TP_DROP_MALFORMED] == 13);
	CHECK(st.dropped[UKF_TP_DROP_OVERSIZED] == 1);
	CHECK(st.dropped[UKF_TP_DROP_TYPE] == 2);
	CHECK(st.dropped[UKF_TP_DROP_BULK] == 2);
	CHECK(st.dropped[UKF_TP_DROP_STALE] == 2);
	CHECK(st.dropped[UKF_TP_DROP_FORGED] == 0);
	CHECK(st.bulk_aborted == 1 && st.up);
	/* logged once per kind */
	CHECK(h_log_count(&a, "dropped malformed frame") == 1);
	CHECK(h_log_count(&a, "dropped oversized frame") == 1);
	CHECK(h_log_count(&a, "dropped type frame") == 1);
	CHECK(h_log_count(&a, "dropped bulk frame") == 1);
	CHECK(h_log_count(&a, "dropped stale frame") == 1);
	zmq_close(d);
	zmq_ctx_term(ctx);
	h_node_free(&a);
	h_node_free(&b);
	return 0;
}

/* BYE reports a peer down at once (its timeout is a minute). */
static int test_tp_bye(void)
{
	struct h_node a, b, *ns[] = {&a, &b, NULL}, *pab[] = {&a, &b};
	struct want_ev w = {&a, 1, 0, 0};

	h_node_init(&a, 0);
	h_node_init(&b, 1);
	h_node_config(&a, pab, 2, NULL, 0);
	h_node_config(&b, pab, 2, NULL, 0);
	a.cfg.peer_timeout_ns = b.cfg.peer_timeout_ns = 60000000000LL;
	CHECK(h_node_start(&a) && h_node_start(&b));
	CHECK(h_poll_until(ns, 2, all_up, ns, GUARD_MS));
	ukf_tp_destroy(&b.tp);
	CHECK(h_poll_until(ns, 1, have_event, &w, GUARD_MS));
	CHECK(h_log_count(&a, "said bye") == 1);
	h_node_free(&a);
	h_node_free(&b);
	return 0;
}

/* Run node b in a child process until it is killed (or a minute). */
static pid_t child_node_c(struct h_node *b, struct h_node **peers, size_t np,
			  struct h_node **clients, size_t nc, uint64_t inc)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	h_node_config(b, peers, np, clients, nc);
	b->cfg.incarnation = inc;
	b->cfg.log = NULL;
	if (!h_node_start(b))
		_exit(3);
	for (int i = 0; i < 60000; i++)
		ukf_tp_poll(b->tp, NULL, 0, 1000000);
	_exit(0);
}

static pid_t child_node(struct h_node *b, struct h_node **peers, size_t np,
			uint64_t inc)
{
	return child_node_c(b, peers, np, NULL, 0, inc);
}

/* A peer that dies without BYE (SIGKILL) is reported down. */
static int test_tp_peer_lost(void)
{
	struct h_node a, b, *ns[] = {&a}, *pab[] = {&a, &b};
	struct want_ev up = {&a, 1, 1, 0}, down = {&a, 1, 0, 0};
	pid_t pid;
	int status;

	h_node_init(&a, 0);
	h_node_init(&b, 1);
	pid = child_node(&b, pab, 2, 1000);
	CHECK(pid > 0);
	h_node_config(&a, pab, 2, NULL, 0); /* peer_timeout 500 ms */
	CHECK(h_node_start(&a));
	CHECK(h_poll_until(ns, 1, have_event, &up, GUARD_MS));
	CHECK(a.ev[h_find_event(&a, 1, 1, 0)].inc == 1000);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(h_poll_until(ns, 1, have_event, &down, GUARD_MS));
	CHECK(h_log_count(&a, "silent for") == 1);
	CHECK(h_log_count(&a, "said bye") == 0);
	h_node_free(&a);
	return 0;
}

/* A peer that comes back with a larger incarnation is reported
 * restarted; one with a smaller one is not believed. */
static int test_tp_restart(void)
{
	struct h_node a, b, *ns[] = {&a}, *pab[] = {&a, &b};
	struct want_ev up = {&a, 1, 1, 0}, again = {&a, 1, 1, 1};
	struct ukf_tp_peer_stats st;
	pid_t pid;
	int status, e;

	h_node_init(&a, 0);
	h_node_init(&b, 1);
	pid = child_node(&b, pab, 2, 1000);
	CHECK(pid > 0);
	h_node_config(&a, pab, 2, NULL, 0);
	CHECK(h_node_start(&a));
	CHECK(h_poll_until(ns, 1, have_event, &up, GUARD_MS));
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	pid = child_node(&b, pab, 2, 2000); /* same keys and port */
	CHECK(pid > 0);
	CHECK(h_poll_until(ns, 1, have_event, &again, GUARD_MS));
	e = h_find_event(&a, 1, 1, 1);
	CHECK(a.ev[e].inc == 2000);
	CHECK(ukf_tp_peer_stats(a.tp, 1, &st) == 0);
	CHECK(st.restarts == 1 && st.incarnation == 2000 && st.up);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	/* an older incarnation is stale, not a restart */
	pid = child_node(&b, pab, 2, 1500);
	CHECK(pid > 0);
	{
		int kind = UKF_TP_DROP_STALE;
		uint64_t one = 1;
		void *x[] = {a.tp, &kind, &one};

		CHECK(h_poll_until(ns, 1, dropped_kind, x, GUARD_MS));
	}
	CHECK(ukf_tp_peer_stats(a.tp, 1, &st) == 0);
	CHECK(st.restarts == 1 && st.incarnation == 2000);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	h_node_free(&a);
	return 0;
}

static int has_handle(void *arg)
{
	struct h_node *cl = arg;

	return ukf_tp_my_handle(cl->tp, 0) != UKF_TP_HANDLE_NONE;
}

/* The agent a client talks to is killed and restarted: the client sees
 * it restarted and gets a handle from the new one. */
static int test_tp_client_agent_restart(void)
{
	struct h_node a, cl, *ns[] = {&cl}, *pa[] = {&a}, *pcl[] = {&cl};
	struct want_ev again = {&cl, 0, 1, 1};
	pid_t pid;
	int status;

	h_node_init(&a, 0);
	h_node_init(&cl, UKF_FRAME_CLIENT);
	pid = child_node_c(&a, pa, 1, pcl, 1, 1000);
	CHECK(pid > 0);
	h_node_config(&cl, pa, 1, NULL, 0);
	cl.cfg.peer_timeout_ns = 60000000000LL; /* the client never times out */
	CHECK(h_node_start(&cl));
	CHECK(h_poll_until(ns, 1, has_handle, &cl, GUARD_MS));
	CHECK(h_find_event(&cl, 0, 1, 0) >= 0);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	pid = child_node_c(&a, pa, 1, pcl, 1, 2000);
	CHECK(pid > 0);
	/* the client's heartbeats reach an agent that does not know it: it
	 * answers HELLO without handle, the client says HELLO again */
	CHECK(h_poll_until(ns, 1, have_event, &again, GUARD_MS));
	CHECK(h_poll_until(ns, 1, has_handle, &cl, GUARD_MS));
	CHECK(cl.ev[h_find_event(&cl, 0, 1, 1)].inc == 2000);
	CHECK(h_find_event(&cl, 0, 0, -1) < 0); /* never seen down */
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	h_node_free(&cl);
	return 0;
}

struct new_handle {
	struct h_node *cl;
	uint32_t old;
};

static int handle_changed(void *arg)
{
	struct new_handle *x = arg;
	uint32_t h = ukf_tp_my_handle(x->cl->tp, 0);

	return h != UKF_TP_HANDLE_NONE && h != x->old;
}

/* A client silent past the agent's timeout loses its handle; when it
 * talks again (same incarnation) it is asked for HELLO and gets a new
 * one, numbered from 1 again. */
static int test_tp_client_partition(void)
{
	struct h_node a, cl, *ns[] = {&a, &cl}, *pa[] = {&a}, *pcl[] = {&cl};
	struct new_handle x = {&cl, 0};
	struct want_ev down = {&a, 0, 0, 0};
	struct ukf_tp_peer_stats st;
	int e;

	h_node_init(&a, 0);
	h_node_init(&cl, UKF_FRAME_CLIENT);
	h_node_config(&a, pa, 1, pcl, 1);
	h_node_config(&cl, pa, 1, NULL, 0);
	cl.cfg.peer_timeout_ns = 60000000000LL;
	CHECK(h_node_start(&a) && h_node_start(&cl));
	CHECK(h_poll_until(ns, 2, has_handle, &cl, GUARD_MS));
	x.old = down.who = ukf_tp_my_handle(cl.tp, 0);
	CHECK(h_poll_until(ns, 1, have_event, &down, GUARD_MS)); /* a only */
	CHECK(h_poll_until(ns, 2, handle_changed, &x, GUARD_MS));
	e = h_find_event(&a, ukf_tp_my_handle(cl.tp, 0), 1, 0);
	CHECK(e >= 0 && a.ev[e].inc == cl.cfg.incarnation);
	CHECK(ukf_tp_send(cl.tp, 0, 150, "back", 4, NULL, 0) == 0);
	{
		struct want w = {&a, 1};

		CHECK(h_poll_until(ns, 2, have_msgs, &w, GUARD_MS));
	}
	CHECK(a.msgs[0].from == ukf_tp_my_handle(cl.tp, 0));
	CHECK(ukf_tp_peer_stats(cl.tp, 0, &st) == 0);
	CHECK(st.dropped[UKF_TP_DROP_STALE] == 0);
	h_node_free(&cl);
	h_node_free(&a);
	return 0;
}

/* An idle transport sleeps in poll: it wakes for heartbeats, not in a
 * loop (a spin would show as thousands of returns). */
static int test_tp_idle_quiet(void)
{
	struct h_node a, b, cl, *ns[] = {&a, &b, &cl, NULL};
	struct h_node *pab[] = {&a, &b}, *pcl[] = {&cl};
	static uint8_t data[1 << 20];
	struct want w = {&b, 1};
	struct timespec t0, t;
	int returns = 0;
	long ms = 0;

	h_node_init(&a, 0);
	h_node_init(&b, 1);
	h_node_init(&cl, UKF_FRAME_CLIENT);
	h_node_config(&a, pab, 2, pcl, 1);
	h_node_config(&b, pab, 2, pcl, 1);
	h_node_config(&cl, pab, 2, NULL, 0);
	CHECK(h_node_start(&a) && h_node_start(&b) && h_node_start(&cl));
	{
		struct h_node *agents[] = {&a, &b, NULL};

		CHECK(h_poll_until(ns, 3, all_up, agents, GUARD_MS));
	}
	CHECK(h_poll_until(ns, 3, has_handle, &cl, GUARD_MS));
	CHECK(ukf_tp_send(a.tp, 1, 2, "x", 1, data, sizeof(data)) == 0);
	CHECK(h_poll_until(ns, 3, have_msgs, &w, GUARD_MS));
	/* a alone for 500 ms, heartbeat 50 ms: a few dozen wake-ups */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ms < 500) {
		ukf_tp_poll(a.tp, NULL, 0, 1000000000LL);
		returns++;
		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 +
		     (t.tv_nsec - t0.tv_nsec) / 1000000;
	}
	fprintf(stderr, "idle: %d returns from poll in %ld ms\n", returns, ms);
	CHECK(returns < 200);
	h_node_free(&cl);
	h_node_free(&a);
	h_node_free(&b);
	return 0;
}

static const struct selftest tests[] = {
    {"tp_config_bad", test_tp_config_bad},
    {"tp_two_way", test_tp_two_way},
    {"tp_three", test_tp_three},
    {"tp_client", test_tp_client},
    {"tp_bulk_64m", test_tp_bulk_64m},
    {"tp_bulk_order", test_tp_bulk_order},
    {"tp_bulk_lz4", test_tp_bulk_lz4},
    {"tp_bulk_raw", test_tp_bulk_raw},
    {"tp_bulk_refused", test_tp_bulk_refused},
    {"tp_flow_window", test_tp_flow_window},
    {"tp_unknown_key", test_tp_unknown_key},
    {"tp_forged", test_tp_forged},
    {"tp_malformed", test_tp_malformed},
    {"tp_bye", test_tp_bye},
    {"tp_peer_lost", test_tp_peer_lost},
    {"tp_restart", test_tp_restart},
    {"tp_client_agent_restart", test_tp_client_agent_restart},
    {"tp_client_partition", test_tp_client_partition},
    {"tp_idle_quiet", test_tp_idle_quiet},
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return selftest_main(tests, SELFTEST_COUNT(tests), argc, argv);
}
