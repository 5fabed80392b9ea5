/* SPDX-License-Identifier: MIT */
/* test_sim_net.c - self-tests of the max-min fair network and link cuts (sim/net.c) against analytic answers. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/sim_int.h"
#include "tests/common/selftest.h"

#define MAXGOT 4096
struct got {
	int n;
	ukf_ns_t now;
	ukf_ns_t at[MAXGOT];   /* by tag */
	int seen[MAXGOT];
	int rank[MAXGOT];      /* by tag: 1 + deliveries before it */
};

static void on_deliver(void *u, ukf_node_id_t to, ukf_node_id_t from,
		       uint16_t type, const void *buf, size_t len,
		       const void *bulk, size_t bulk_len)
{
	struct got *g = u;
	(void)to;
	(void)from;
	(void)type;
	(void)bulk;
	(void)bulk_len;
	unsigned tag = 0;
	if (len >= 2)
		tag = ((const unsigned char *)buf)[0] |
		      ((const unsigned char *)buf)[1] << 8;
	if (tag < MAXGOT) {
		g->at[tag] = g->now;
		g->seen[tag]++;
		g->rank[tag] = g->n + 1;
	}
	g->n++;
}

static int run_all(sim_queue_t *q, sim_net_t *n, struct got *g, ukf_ns_t until)
{
	struct sim_ev e;
	while (sim_queue_peek_time(q) <= until &&
	       sim_queue_pop(q, &g->now, &e))
		if (sim_net_event(n, g->now, &e) < 0)
			return -1;
	return 0;
}

/* Send `bytes` (>= 4 KiB: a real transfer) from -> to, tagged. */
static int xfer(sim_net_t *n, ukf_ns_t now, uint32_t from, uint32_t to,
		unsigned tag, uint64_t bytes)
{
	unsigned char b[2] = { (unsigned char)tag, (unsigned char)(tag >> 8) };
	return sim_net_send(n, now, from, to, 1, b, 2, NULL, 0, bytes - 2);
}

/* A world of `nodes` with the fair model; racks etc. as given. */
static sim_net_t *fair_net(sim_queue_t *q, struct got *g, uint32_t nodes,
			   ukf_ns_t lat, double bw, uint32_t racks,
			   double rack_bw, double core_bw)
{
	sim_net_t *n = sim_net_create(q, nodes, lat, bw, on_deliver, g);
	if (n && sim_net_fabric(n, racks, rack_bw, core_bw) < 0)
		sim_net_destroy(&n);
	return n;
}

/* ceil(x) ns as the model rounds a finish time. */
static ukf_ns_t ns_ceil(double sec)
{
	return (ukf_ns_t)ceil(sec * 1e9 - 1e-6);
}

/* N equal transfers sharing one link (fan-in to one receiver's downlink,
 * and fan-out from one sender) each end at N * size / bw + latency. */
static int t_net_fair_equal(void)
{
	const ukf_ns_t lat = 50000;
	const double bw = 1e9, S = 1e6;
	for (int N = 1; N <= 64; N *= 4) {
		for (int out = 0; out < 2; out++) {
			sim_queue_t *q = sim_queue_create();
			struct got g = { 0 };
			sim_net_t *n = fair_net(q, &g, N + 1, lat, bw, 0, 0, 0);
			CHECK(n);
			for (int i = 1; i <= N; i++)
				CHECK(xfer(n, 0, out ? 0 : i, out ? i : 0, i,
					   S) == 0);
			CHECK(sim_net_connections(n) == (size_t)N);
			CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
			CHECK(g.n == N);
			ukf_ns_t want = ns_ceil(N * S / bw) + lat;
			for (int i = 1; i <= N; i++)
				CHECKF(llabs(g.at[i] - want) <= 1,
				       "N=%d out=%d: transfer %d arrived at "
				       "%lld ns, want %lld",
				       N, out, i, (long long)g.at[i],
				       (long long)want);
			CHECK(sim_net_connections(n) == 0);
			sim_net_destroy(&n);
			sim_queue_destroy(&q);
		}
	}
	return 0;
}

/* Two transfers on disjoint paths do not interact: each takes size/bw,
 * and a solve re-rates only the flows of the changed links. */
static int t_net_fair_disjoint(void)
{
	enum { P = 500 };
	const double bw = 1e9, S = 1e6;
	sim_queue_t *q = sim_queue_create();
	struct got g = { 0 };
	sim_net_t *n = fair_net(q, &g, 2 * P, 0, bw, 0, 0, 0);
	CHECK(n);
	for (int i = 0; i < P; i++) { /* each sent at its time */
		CHECK(run_all(q, n, &g, (ukf_ns_t)i * 1000) == 0);
		CHECK(xfer(n, (ukf_ns_t)i * 1000, 2 * i, 2 * i + 1, i, S) == 0);
	}
	CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
	CHECK(g.n == P);
	for (int i = 0; i < P; i++)
		CHECKF(g.at[i] == (ukf_ns_t)i * 1000 + ns_ceil(S / bw),
		       "pair %d arrived at %lld", i, (long long)g.at[i]);
	uint64_t flows, solves = sim_net_solves(n, &flows);
	/* one flow per start, none at the ends: not P^2 */
	CHECKF(flows <= (uint64_t)P, "%llu flows re-rated in %llu solves",
	       (unsigned long long)flows, (unsigned long long)solves);
	sim_net_destroy(&n);
	sim_queue_destroy(&q);
	return 0;
}

/*
 * The classic max-min example with two bottlenecks: link 1 = node 0's
 * uplink (1 GB/s), link 2 = rack 0's uplink (1.2 GB/s). A (0 -> 2, other
 * rack) crosses both, C (0 -> 1, same rack) link 1 only, B (1 -> 3, other
 * rack) link 2 only (and 1's own uplink, 1 GB/s, not binding). Link 1 is
 * the first bottleneck: A = C = 0.5 GB/s; link 2 gives B what A leaves:
 * 0.7 GB/s (not its host link's 1 GB/s, not a half of 1.2). 1 MB each:
 * B ends at 1/0.7 ms, then A and C still share link 1: 2 ms.
 */
static int t_net_fair_maxmin(void)
{
	const double S = 1e6;
	sim_queue_t *q = sim_queue_create();
	struct got g = { 0 };
	sim_net_t *n = fair_net(q, &g, 4, 0, 1e9, 2, 1.2e9, 0);
	CHECK(n);
	CHECK(sim_net_rack(n, 1) == 0 && sim_net_rack(n, 2) == 1);
	CHECK(xfer(n, 0, 0, 2, 1, S) == 0); /* A */
	CHECK(xfer(n, 0, 1, 3, 2, S) == 0); /* B */
	CHECK(xfer(n, 0, 0, 1, 3, S) == 0); /* C */
	CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
	CHECK(g.n == 3);
	CHECKF(g.at[2] == ns_ceil(S / 0.7e9), "B at %lld", (long long)g.at[2]);
	CHECKF(llabs(g.at[1] - 2000000) <= 1, "A at %lld", (long long)g.at[1]);
	CHECKF(llabs(g.at[3] - 2000000) <= 1, "C at %lld", (long long)g.at[3]);
	sim_net_destroy(&n);
	sim_queue_destroy(&q);

	/* Rates change as flows end: two flows on one 1 GB/s link, one of
	 * 1 MB and one of 3 MB: the first ends at 2 ms, the second has 2 MB
	 * left and runs alone at full rate: 4 ms. */
	q = sim_queue_create();
	memset(&g, 0, sizeof(g));
	n = fair_net(q, &g, 3, 0, 1e9, 0, 0, 0);
	CHECK(n);
	CHECK(xfer(n, 0, 0, 1, 1, 1000000) == 0);
	CHECK(xfer(n, 0, 0, 2, 2, 3000000) == 0);
	CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
	CHECKF(llabs(g.at[1] - 2000000) <= 1, "short at %lld", (long long)g.at[1]);
	CHECKF(llabs(g.at[2] - 4000000) <= 1, "long at %lld", (long long)g.at[2]);
	sim_net_destroy(&n);
	sim_queue_destroy(&q);
	return 0;
}

/*
 * Rack uplink oversubscription: 2 racks of 4 hosts (1 GB/s links), rack
 * uplinks of 2 GB/s (4:2 = 2:1 oversubscribed). Four transfers between
 * pairs inside a rack each run at 1 GB/s; four from rack 0 to rack 1 share
 * the uplink at 0.5 GB/s: twice as long. A core of 1 GB/s halves it again.
 */
static int t_net_fair_racks(void)
{
	const double S = 4e6;
	ukf_ns_t t_in = 0, t_out = 0, t_core = 0;
	for (int mode = 0; mode < 3; mode++) {
		sim_queue_t *q = sim_queue_create();
		struct got g = { 0 };
		sim_net_t *n = fair_net(q, &g, 8, 0, 1e9, 2, 2e9,
					mode == 2 ? 1e9 : 0);
		CHECK(n);
		for (int i = 0; i < 4; i++) {
			/* in-rack: 0->2, 1->3, 4->6, 5->7 */
			int f = mode == 0 ? (i < 2 ? i : i + 2) : i;
			uint32_t from = (uint32_t)f;
			uint32_t to = mode == 0 ? from + 2 : (uint32_t)(4 + i);
			CHECK(xfer(n, 0, from, to, i, S) == 0);
		}
		CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
		CHECK(g.n == 4);
		for (int i = 1; i < 4; i++)
			CHECK(g.at[i] == g.at[0]);
		if (mode == 0)
			t_in = g.at[0];
		else if (mode == 1)
			t_out = g.at[0];
		else
			t_core = g.at[0];
		sim_net_destroy(&n);
		sim_queue_destroy(&q);
	}
	CHECKF(t_in == ns_ceil(S / 1e9), "in-rack %lld", (long long)t_in);
	CHECKF(t_out == 2 * t_in, "cross-rack %lld vs in-rack %lld",
	       (long long)t_out, (long long)t_in);
	CHECKF(t_core == 4 * t_in, "through a 1 GB/s core %lld",
	       (long long)t_core);
	return 0;
}

/*
 * R racks are R racks whatever the node count: nodes split into R
 * contiguous racks whose sizes differ by at most one (node k in rack
 * floor(k R / nodes)). Filling racks of ceil(nodes / R) left racks empty:
 * 9 nodes in "4 racks" made 3 racks of 3, 5 nodes in 4 made 2, 2, 1.
 * Where R divides the nodes, the racks are those of before.
 */
static int t_net_fair_rack_sizes(void)
{
	static const uint32_t cases[][2] = { { 9, 4 }, { 5, 4 }, { 10, 4 },
					     { 8, 2 }, { 7, 7 }, { 1000, 3 },
					     { 3, 1 }, { 64, 63 } };
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint32_t N = cases[c][0], R = cases[c][1];
		sim_queue_t *q = sim_queue_create();
		struct got g = { 0 };
		sim_net_t *n = fair_net(q, &g, N, 0, 1e9, R, 1e9, 0);
		CHECK(n);
		uint32_t size[64] = { 0 }, prev = 0;
		for (uint32_t k = 0; k < N; k++) {
			uint32_t r = sim_net_rack(n, k);
			CHECKF(r < R && r >= prev && r <= prev + 1,
			       "%u nodes, %u racks: node %u in rack %u", N, R,
			       k, r);
			prev = r;
			size[r % 64]++;
		}
		uint32_t lo = N / R, hi = (N + R - 1) / R;
		for (uint32_t r = 0; r < R && r < 64; r++)
			CHECKF(size[r] == lo || size[r] == hi,
			       "%u nodes, %u racks: rack %u has %u nodes", N, R,
			       r, size[r]);
		if (N % R == 0)
			for (uint32_t k = 0; k < N; k++)
				CHECK(sim_net_rack(n, k) == k / (N / R));
		sim_net_destroy(&n);
		sim_queue_destroy(&q);
	}
	/* 9 nodes in 4 racks: 6 -> 8 crosses racks 2 and 3, so a 100 MB/s
	 * rack uplink limits it (it was inside one rack of 3: 1 GB/s) */
	sim_queue_t *q = sim_queue_create();
	struct got g = { 0 };
	sim_net_t *n = fair_net(q, &g, 9, 0, 1e9, 4, 1e8, 0);
	CHECK(n);
	CHECK(xfer(n, 0, 6, 8, 1, 1000000) == 0);
	CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
	CHECKF(g.at[1] == 10000000, "6 -> 8 at %lld", (long long)g.at[1]);
	sim_net_destroy(&n);
	sim_queue_destroy(&q);
	return 0;
}

/*
 * The incremental solver against a plain reference: random transfers
 * (distinct pairs, random sizes and start times) over 3 racks of 4 hosts
 * with an oversubscribed rack uplink and a thin core; the reference
 * re-solves every flow by progressive filling at every start and finish
 * and advances them exactly (doubles). Each transfer must arrive within
 * 200 ns + 1e-6 of the reference's time (the model rounds each finish up
 * to a ns and re-solves only the flows a change reaches).
 */
enum { RF = 60, RN = 12, RR = 3, RL = 2 * RN + 2 * RR + 1 };
struct rflow {
	int path[5], np;
	double start, rem, rate, end;
	int on, done;
};

static void ref_rates(struct rflow *f, const double *cap)
{
	double left[RL];
	int un[RL] = { 0 }, fixed[RF] = { 0 };
	for (int l = 0; l < RL; l++)
		left[l] = cap[l];
	for (int i = 0; i < RF; i++)
		if (f[i].on)
			for (int k = 0; k < f[i].np; k++)
				un[f[i].path[k]]++;
	for (;;) {
		int best = -1;
		double share = INFINITY;
		for (int l = 0; l < RL; l++)
			if (un[l] && left[l] / un[l] < share)
				share = left[l] / un[l], best = l;
		if (best < 0)
			return;
		for (int i = 0; i < RF; i++) {
			int crosses = 0;
			for (int k = 0; k < f[i].np; k++)
				crosses |= f[i].path[k] == best;
			if (!f[i].on || fixed[i] || !crosses)
				continue;
			fixed[i] = 1;
			f[i].rate = share;
			for (int k = 0; k < f[i].np; k++) {
				left[f[i].path[k]] -= share;
				un[f[i].path[k]]--;
			}
		}
	}
}

static int t_net_fair_reference(void)
{
	const double bw = 1e9, rack_bw = 1.5e9, core_bw = 2e9;
	double cap[RL];
	for (int l = 0; l < 2 * RN; l++)
		cap[l] = bw;
	for (int l = 2 * RN; l < RL - 1; l++)
		cap[l] = rack_bw;
	cap[RL - 1] = core_bw;
	uint64_t x = 0x243f6a8885a308d3ULL;
	for (int round = 0; round < 20; round++) {
		struct rflow f[RF] = { 0 };
		int used[RN][RN] = { 0 };
		sim_queue_t *q = sim_queue_create();
		struct got g = { 0 };
		sim_net_t *n = fair_net(q, &g, RN, 0, bw, RR, rack_bw, core_bw);
		CHECK(n);
		for (int i = 0; i < RF; i++) {
			int a, b;
			do {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				a = (int)(x % RN);
				b = (int)((x >> 20) % RN);
			} while (a == b || used[a][b]);
			used[a][b] = 1;
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			uint64_t bytes = 5000 + x % 2000000;
			/* starts on a 10 us grid: some at one instant */
			f[i].start = (double)((x >> 32) % 500) * 10000;
			f[i].rem = (double)bytes;
			f[i].path[f[i].np++] = 2 * a + 0;
			if (a / (RN / RR) != b / (RN / RR)) {
				f[i].path[f[i].np++] = 2 * RN + 2 * (a / (RN / RR));
				f[i].path[f[i].np++] = RL - 1;
				f[i].path[f[i].np++] = 2 * RN + 2 * (b / (RN / RR)) + 1;
			}
			f[i].path[f[i].np++] = 2 * b + 1;
			/* the model: sent at its start time */
			(void)a;
		}
		/* the model, transfers sent in time order */
		for (int sent = 0; sent < RF;) {
			int k = -1;
			for (int i = 0; i < RF; i++)
				if (!f[i].done && (k < 0 || f[i].start < f[k].start))
					k = i;
			CHECK(run_all(q, n, &g, (ukf_ns_t)f[k].start) == 0);
			int a = f[k].path[0] / 2, b = f[k].path[f[k].np - 1] / 2;
			CHECK(xfer(n, (ukf_ns_t)f[k].start, (uint32_t)a,
				   (uint32_t)b, (unsigned)k + 1,
				   (uint64_t)f[k].rem) == 0);
			f[k].done = 1;
			sent++;
		}
		CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
		CHECK(g.n == RF);
		/* the reference */
		for (int i = 0; i < RF; i++)
			f[i].done = 0;
		double now = 0;
		for (int left = RF; left > 0;) {
			for (int i = 0; i < RF; i++)
				if (!f[i].on && !f[i].done && f[i].start <= now)
					f[i].on = 1;
			ref_rates(f, cap);
			double next = INFINITY;
			for (int i = 0; i < RF; i++) {
				if (f[i].on && now + f[i].rem / f[i].rate * 1e9 < next)
					next = now + f[i].rem / f[i].rate * 1e9;
				if (!f[i].on && !f[i].done && f[i].start < next)
					next = f[i].start;
			}
			for (int i = 0; i < RF; i++)
				if (f[i].on) {
					f[i].rem -= f[i].rate * (next - now) / 1e9;
					if (f[i].rem <= 1e-10 * f[i].rate) {
						f[i].on = 0;
						f[i].done = 1;
						f[i].end = next;
						left--;
					}
				}
			now = next;
		}
		for (int i = 0; i < RF; i++)
			CHECKF(fabs((double)g.at[i + 1] - f[i].end) <=
				       200 + 1e-6 * f[i].end,
			       "round %d transfer %d: at %lld ns, reference "
			       "%.1f ns",
			       round, i, (long long)g.at[i + 1], f[i].end);
		sim_net_destroy(&n);
		sim_queue_destroy(&q);
	}
	return 0;
}

/*
 * The per-link model (the default) against a plain reference: each host
 * link serves the transfers with service left on it by processor sharing
 * (bw / k each), a transfer needs its size on its sender's uplink and on
 * its receiver's downlink, each on its own, and arrives once it has had
 * both (plus the latency). 20 rounds of 60 random transfers between
 * distinct pairs of 10 hosts, 5 KB-2 MB, starting on a 10 us grid: every
 * arrival within 200 ns + 1e-6 of the reference's.
 */
enum { PF = 60, PN = 10 };
static int t_net_link_reference(void)
{
	const double bw = 1e9;
	const ukf_ns_t lat = 30000;
	uint64_t x = 0x13198a2e03707344ULL;
	for (int round = 0; round < 20; round++) {
		struct {
			int a, b, done, on;
			double start, rem[2], end;
		} f[PF] = { 0 };
		int used[PN][PN] = { 0 };
		sim_queue_t *q = sim_queue_create();
		struct got g = { 0 };
		sim_net_t *n = sim_net_create(q, PN, lat, bw, on_deliver, &g);
		CHECK(n);
		for (int i = 0; i < PF; i++) {
			do {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				f[i].a = (int)(x % PN);
				f[i].b = (int)((x >> 20) % PN);
			} while (f[i].a == f[i].b || used[f[i].a][f[i].b]);
			used[f[i].a][f[i].b] = 1;
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			f[i].rem[0] = f[i].rem[1] = (double)(5000 + x % 2000000);
			f[i].start = (double)((x >> 32) % 500) * 10000;
		}
		for (int sent = 0; sent < PF; sent++) {
			int k = -1;
			for (int i = 0; i < PF; i++)
				if (!f[i].done && (k < 0 || f[i].start < f[k].start))
					k = i;
			CHECK(run_all(q, n, &g, (ukf_ns_t)f[k].start) == 0);
			CHECK(xfer(n, (ukf_ns_t)f[k].start, (uint32_t)f[k].a,
				   (uint32_t)f[k].b, (unsigned)k + 1,
				   (uint64_t)f[k].rem[0]) == 0);
			f[k].done = 1;
		}
		CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
		CHECK(g.n == PF);
		for (int i = 0; i < PF; i++)
			f[i].done = 0;
		double now = 0;
		int steps = 0;
		for (int left = PF; left > 0;) {
			int k[PN][2] = { 0 }; /* transfers served on each link */
			CHECKF(++steps < 100000, "round %d: reference stuck at %.1f ns", round, now);
			for (int i = 0; i < PF; i++) {
				if (!f[i].on && !f[i].done && f[i].start <= now)
					f[i].on = 1;
				if (f[i].on) {
					k[f[i].a][0] += f[i].rem[0] > 0;
					k[f[i].b][1] += f[i].rem[1] > 0;
				}
			}
			double next = INFINITY;
			for (int i = 0; i < PF; i++) {
				for (int d = 0; d < 2 && f[i].on; d++) {
					int kk = k[d ? f[i].b : f[i].a][d];
					double t = now + f[i].rem[d] * kk / bw * 1e9;
					if (f[i].rem[d] > 0 && t < next)
						next = t;
				}
				if (!f[i].on && !f[i].done && f[i].start < next)
					next = f[i].start;
			}
			for (int i = 0; i < PF; i++) {
				if (!f[i].on)
					continue;
				for (int d = 0; d < 2; d++) {
					int kk = k[d ? f[i].b : f[i].a][d];
					if (f[i].rem[d] > 0) {
						f[i].rem[d] -= bw / kk * (next - now) / 1e9;
						if (f[i].rem[d] <= 1e-10 * bw / kk)
							f[i].rem[d] = 0;
					}
				}
				if (f[i].rem[0] == 0 && f[i].rem[1] == 0) {
					f[i].on = 0;
					f[i].done = 1;
					f[i].end = next + (double)lat;
					left--;
				}
			}
			now = next;
		}
		for (int i = 0; i < PF; i++)
			CHECKF(fabs((double)g.at[i + 1] - f[i].end) <=
				       200 + 1e-6 * f[i].end,
			       "round %d transfer %d: at %lld ns, reference "
			       "%.1f ns",
			       round, i, (long long)g.at[i + 1], f[i].end);
		sim_net_destroy(&n);
		sim_queue_destroy(&q);
	}
	return 0;
}

/* Small messages (<= 4 KiB, idle connection) pay latency plus their size
 * at the path's rate (the least capacity on it), without loading links. */
static int t_net_fair_small(void)
{
	sim_queue_t *q = sim_queue_create();
	struct got g = { 0 };
	sim_net_t *n = fair_net(q, &g, 4, 50000, 1e9, 2, 1e8, 0);
	CHECK(n);
	CHECK(xfer(n, 0, 0, 1, 1, 4000) == 0);   /* same rack: 1 GB/s */
	CHECK(xfer(n, 0, 0, 2, 2, 4000) == 0);   /* other rack: 100 MB/s */
	CHECK(sim_net_connections(n) == 0);
	CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
	CHECKF(g.at[1] == 50000 + 4000, "in-rack small at %lld",
	       (long long)g.at[1]);
	CHECKF(g.at[2] == 50000 + 40000, "cross-rack small at %lld",
	       (long long)g.at[2]);
	sim_net_destroy(&n);
	sim_queue_destroy(&q);
	return 0;
}

/*
 * Order on one connection in the fair model: small messages pay their size
 * at the path's rate, so a shorter one sent right after a longer one would
 * arrive first; messages between two nodes must arrive in the order sent
 * (the per-link model and sim/README.md promise it, the engine relies on
 * it). 100 MB/s, 50 us latency: 4000 bytes take 40 us, 10 bytes 100 ns,
 * 2000 bytes 20 us, each sent after the one before it on the pair (a
 * connection sends one message after another), at the same instant or
 * 1 us later: 90 us, 90.1 us, 110.1 us. Another pair is not held back.
 */
static int t_net_fair_small_order(void)
{
	for (int gap = 0; gap <= 1000; gap += 1000) {
		sim_queue_t *q = sim_queue_create();
		struct got g = { 0 };
		sim_net_t *n = fair_net(q, &g, 3, 50000, 1e8, 0, 0, 0);
		CHECK(n);
		CHECK(xfer(n, 0, 0, 1, 1, 4000) == 0);
		CHECK(run_all(q, n, &g, gap) == 0);
		CHECK(xfer(n, gap, 0, 1, 2, 10) == 0);
		CHECK(xfer(n, gap, 0, 2, 3, 10) == 0); /* another pair */
		CHECK(xfer(n, gap, 0, 1, 4, 2000) == 0);
		CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
		CHECK(g.n == 4);
		CHECKF(g.rank[1] < g.rank[2] && g.rank[2] < g.rank[4],
		       "gap %d: 0 -> 1 delivered in the order %d %d %d", gap,
		       g.rank[1], g.rank[2], g.rank[4]);
		CHECKF(g.at[1] == 90000 && g.at[2] == 90100 &&
			       g.at[4] == 110100,
		       "gap %d: at %lld %lld %lld", gap, (long long)g.at[1],
		       (long long)g.at[2], (long long)g.at[4]);
		CHECKF(g.at[3] == gap + 50000 + 100, "gap %d: 0 -> 2 at %lld",
		       gap, (long long)g.at[3]);
		sim_net_destroy(&n);
		sim_queue_destroy(&q);
	}
	/* A transfer (> 4 KiB, a flow) sent right after two small messages
	 * of its pair does not overtake them: 4,000 + 4,000 bytes leave at
	 * 40 and 80 us, the 5,000-byte flow would end at 50 us: it arrives
	 * with the second, after it; a small one queued behind the flow
	 * follows it. */
	{
		sim_queue_t *q = sim_queue_create();
		struct got g = { 0 };
		sim_net_t *n = fair_net(q, &g, 2, 50000, 1e8, 0, 0, 0);
		CHECK(n);
		CHECK(xfer(n, 0, 0, 1, 1, 4000) == 0);
		CHECK(xfer(n, 0, 0, 1, 2, 4000) == 0);
		CHECK(xfer(n, 0, 0, 1, 3, 5000) == 0);
		CHECK(xfer(n, 0, 0, 1, 4, 10) == 0);
		CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
		CHECK(g.n == 4);
		CHECKF(g.rank[1] == 1 && g.rank[2] == 2 && g.rank[3] == 3 &&
			       g.rank[4] == 4,
		       "delivered in the order %d %d %d %d", g.rank[1],
		       g.rank[2], g.rank[3], g.rank[4]);
		CHECKF(g.at[1] == 90000 && g.at[2] == 130000 &&
			       g.at[3] == 130000 && g.at[4] == 130000,
		       "at %lld %lld %lld %lld", (long long)g.at[1],
		       (long long)g.at[2], (long long)g.at[3],
		       (long long)g.at[4]);
		sim_net_destroy(&n);
		sim_queue_destroy(&q);
	}
	/* Many pairs at once (past the 1024 entries where the pairs' record
	 * is pruned): each pair's two messages in order. */
	enum { H = 40 };
	sim_queue_t *q = sim_queue_create();
	struct got g = { 0 };
	sim_net_t *n = fair_net(q, &g, H, 50000, 1e8, 0, 0, 0);
	CHECK(n);
	unsigned p = 0;
	for (uint32_t a = 0; a < H; a++)
		for (uint32_t b = 0; b < H; b++)
			if (a != b) {
				CHECK(xfer(n, 0, a, b, 2 * p + 1, 4000) == 0);
				CHECK(xfer(n, 0, a, b, 2 * p + 2, 10) == 0);
				p++;
			}
	CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
	CHECK(g.n == 2 * H * (H - 1));
	for (unsigned i = 0; i < p; i++)
		CHECKF(g.rank[2 * i + 1] < g.rank[2 * i + 2] &&
			       g.at[2 * i + 2] == 90100,
		       "pair %u: ranks %d %d, at %lld", i, g.rank[2 * i + 1],
		       g.rank[2 * i + 2], (long long)g.at[2 * i + 2]);
	sim_net_destroy(&n);
	sim_queue_destroy(&q);
	return 0;
}

/*
 * A transfer whose end falls past the clock's range (9e9 bytes at 1 B/s,
 * 9e18 ns, sent at 1e18 ns) is not delivered, in either model; the
 * per-link model's finish time wrapped around to before now.
 */
static int t_net_huge_transfer(void)
{
	for (int fair = 0; fair < 2; fair++) {
		sim_queue_t *q = sim_queue_create();
		struct got g = { 0 };
		sim_net_t *n = fair ? fair_net(q, &g, 2, 0, 1.0, 0, 0, 0)
				    : sim_net_create(q, 2, 0, 1.0, on_deliver, &g);
		CHECK(n);
		const ukf_ns_t t = 1000000000000000000LL;
		CHECK(xfer(n, t, 0, 1, 1, 9000000000ULL) == 0);
		struct sim_ev e;
		int events = 0;
		while (sim_queue_peek_time(q) <= t + 1000000000 &&
		       sim_queue_pop(q, &g.now, &e) && events++ < 1000)
			CHECK(sim_net_event(n, g.now, &e) == 0);
		CHECKF(g.n == 0 && events < 1000,
		       "fair=%d: %d delivered, %d events, at %lld", fair, g.n,
		       events, (long long)g.at[1]);
		sim_net_destroy(&n);
		sim_queue_destroy(&q);
	}
	return 0;
}

/* Bad fabric settings are refused. */
static int t_net_fair_bad(void)
{
	sim_queue_t *q = sim_queue_create();
	struct got g = { 0 };
	sim_net_t *n = sim_net_create(q, 4, 0, 1e9, on_deliver, &g);
	CHECK(sim_net_fabric(n, 5, 1e9, 0) == -EINVAL);   /* racks > nodes */
	CHECK(sim_net_fabric(n, 2, -1, 0) == -EINVAL);
	CHECK(sim_net_fabric(n, 2, 1e9, NAN) == -EINVAL);
	CHECK(sim_net_fabric(n, 2, 1e9, 0) == 0);
	CHECK(sim_net_fabric(n, 2, 1e9, 0) == -EINVAL);   /* twice */
	CHECK(sim_net_cut(n, 0, 4, 1) == -EINVAL);
	sim_net_destroy(&n);
	sim_queue_destroy(&q);
	return 0;
}

/*
 * A cut link: a transfer in flight over it is lost (never delivered, in
 * either model); the transfer sharing the link with it then has it alone;
 * sends while cut are lost; after the restore transfers go through again.
 */
static int t_net_cut(void)
{
	const double S = 1e6;
	for (int fair = 0; fair < 2; fair++) {
		sim_queue_t *q = sim_queue_create();
		struct got g = { 0 };
		sim_net_t *n = fair ? fair_net(q, &g, 3, 0, 1e9, 0, 0, 0)
				    : sim_net_create(q, 3, 0, 1e9, on_deliver, &g);
		CHECK(n);
		CHECK(xfer(n, 0, 0, 1, 1, S) == 0);
		CHECK(xfer(n, 0, 0, 2, 2, S) == 0); /* shares 0's uplink */
		CHECK(run_all(q, n, &g, 500000) == 0); /* half way: 0.25 MB each */
		CHECK(sim_net_cut(n, 500000, 1, 1) == 0);
		CHECK(sim_net_is_cut(n, 1) && !sim_net_is_cut(n, 0));
		CHECK(xfer(n, 500000, 1, 2, 3, S) == 0); /* lost at once */
		CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
		CHECKF(g.n == 1 && g.seen[2] == 1 && !g.seen[1] && !g.seen[3],
		       "fair=%d: %d delivered", fair, g.n);
		/* 0.25 MB at half rate by 0.5 ms, 0.75 MB alone: 1.25 ms */
		CHECKF(llabs(g.at[2] - 1250000) <= 2, "fair=%d: 2 at %lld",
		       fair, (long long)g.at[2]);
		CHECK(sim_net_dropped(n) == 2);
		CHECK(sim_net_connections(n) == 0);
		CHECK(sim_net_cut(n, g.now, 1, 0) == 0);
		CHECK(xfer(n, g.now, 0, 1, 4, S) == 0);
		ukf_ns_t t0 = g.now;
		CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
		CHECK(g.seen[4] == 1 && llabs(g.at[4] - t0 - 1000000) <= 2);
		sim_net_destroy(&n);
		sim_queue_destroy(&q);
	}
	return 0;
}

/*
 * Cost of the fair model (not a test): M concurrent transfers among H
 * hosts in R racks, each host sending one after another to random peers.
 */
static int bench(int argc, char **argv)
{
	uint32_t hosts = argc > 2 ? (uint32_t)atoi(argv[2]) : 256;
	uint32_t msgs = argc > 3 ? (uint32_t)atoi(argv[3]) : 100000;
	/* one transfer every `gap` ns: 25 us offers 40 GB/s, half of what 16
	 * rack uplinks of 5 GB/s carry each way */
	ukf_ns_t gap = argc > 4 ? atoll(argv[4]) : 25000;
	for (int fair = 0; fair < 2; fair++) {
		sim_queue_t *q = sim_queue_create();
		struct got g = { 0 };
		sim_net_t *n = fair ? fair_net(q, &g, hosts, 50000, 1.25e9,
					       hosts / 16 ? hosts / 16 : 1,
					       5e9, 0)
				    : sim_net_create(q, hosts, 50000, 1.25e9,
						     on_deliver, &g);
		uint64_t x = 88172645463325252ULL, ev = 0;
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (uint32_t i = 0; i < msgs; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			uint32_t from = (uint32_t)(x % hosts);
			uint32_t to = (uint32_t)((x >> 32) % hosts);
			if (xfer(n, (ukf_ns_t)i * gap, from, to, 0,
				 1000000) < 0)
				return 1;
			struct sim_ev e;
			while (sim_queue_peek_time(q) <= (ukf_ns_t)i * gap &&
			       sim_queue_pop(q, &g.now, &e)) {
				ev++;
				sim_net_event(n, g.now, &e);
			}
		}
		struct sim_ev e;
		while (sim_queue_pop(q, &g.now, &e)) {
			ev++;
			sim_net_event(n, g.now, &e);
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		double s = (double)(b.tv_sec - a.tv_sec) +
			   (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
		uint64_t flows, solves = sim_net_solves(n, &flows);
		printf("%s: %u hosts, %u transfers of 1 MB every %lld ns: "
		       "%.3f s, %llu events, %.0f events/s, %.0f transfers/s, "
		       "%.1f flows per solve\n",
		       fair ? "max-min" : "per-link", hosts, msgs,
		       (long long)gap, s, (unsigned long long)ev, ev / s,
		       msgs / s,
		       solves ? (double)flows / (double)solves : 0.0);
		sim_net_destroy(&n);
		sim_queue_destroy(&q);
	}
	return 0;
}

/* A small message (tag, 2 bytes) from -> to. */
static int small(sim_net_t *n, ukf_ns_t now, uint32_t from, uint32_t to,
		 unsigned tag)
{
	unsigned char b[2] = { (unsigned char)tag, (unsigned char)(tag >> 8) };
	return sim_net_send(n, now, from, to, 1, b, 2, NULL, 0, 0);
}

/*
 * sim_net_hold (msg_idle_curve's waking receiver): messages to the held
 * node from others sent after the hold arrive at the hold, in the order
 * sent, a transfer too; one sent before it is not held (due earlier, so
 * the order is kept); a later, shorter hold changes nothing; a node's
 * message to itself, one to another node and one due after the hold are
 * not held; a bad node is refused. Both network models.
 */
static int t_net_hold(void)
{
	const ukf_ns_t lat = 100000, until = 5000000;
	for (int fair = 0; fair < 2; fair++) {
		sim_queue_t *q = sim_queue_create();
		struct got g = { 0 };
		sim_net_t *n = fair ? fair_net(q, &g, 3, lat, 1e9, 0, 0, 0)
				    : sim_net_create(q, 3, lat, 1e9, on_deliver,
						     &g);
		CHECK(q && n);
		CHECK(small(n, 0, 0, 1, 1) == 0);        /* due at lat */
		CHECK(sim_net_hold(n, 1, until) == 0);
		CHECK(sim_net_hold(n, 1, until / 2) == 0); /* no effect */
		CHECK(sim_net_hold(n, 3, until) == -EINVAL);
		CHECK(small(n, 0, 0, 1, 2) == 0);
		CHECK(xfer(n, 0, 2, 1, 3, 1000000) == 0); /* ~1.1 ms */
		CHECK(small(n, 0, 1, 1, 4) == 0);        /* to itself */
		CHECK(small(n, 0, 0, 2, 5) == 0);        /* another node */
		CHECK(run_all(q, n, &g, until - 1) == 0);
		/* (max-min: a small message also takes its 2 bytes' 2 ns) */
		CHECKF(g.n == 3 && g.at[1] - lat <= 2 && g.seen[4] == 1 &&
			       g.at[4] == 0 && g.at[5] - lat <= 2,
		       "fair %d: %d delivered before the hold", fair, g.n);
		CHECK(small(n, until - lat / 2, 0, 1, 6) == 0); /* due later */
		CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
		CHECK(g.n == 6);
		for (unsigned t = 2; t <= 3; t++)
			CHECKF(g.seen[t] == 1 && g.at[t] == until,
			       "fair %d: message %u at %lld ns", fair, t,
			       (long long)g.at[t]);
		CHECK(g.rank[1] < g.rank[2] && g.rank[2] < g.rank[3]);
		CHECK(g.at[6] - (until + lat / 2) <= 2);
		sim_net_destroy(&n);
		sim_queue_destroy(&q);
	}
	return 0;
}

/*
 * sim_net_send_late (delta_idle_curve's remote fork delta): a transfer
 * of 1 MB from node 0 to node 1 sent late by 2 ms arrives 2 ms after it
 * would have; small messages from node 0 to node 1 sent after it (one
 * behind it on the pair's connection, one when its transfer is over and
 * the connection gone) arrive right after it, in the pair's order, while
 * one from node 2 to node 1 and one from node 0 to node 2 keep their own
 * times (nothing else held); a message to itself is never late; once it
 * is delivered the pair's messages keep their own times again. Both
 * network models.
 */
static int t_net_late(void)
{
	const ukf_ns_t lat = 100000, late = 2000000;
	for (int fair = 0; fair < 2; fair++) {
		ukf_ns_t plain = 0;
		for (int on = 0; on < 2; on++) {
			sim_queue_t *q = sim_queue_create();
			struct got g = { 0 };
			sim_net_t *n =
			    fair ? fair_net(q, &g, 3, lat, 1e9, 0, 0, 0)
				 : sim_net_create(q, 3, lat, 1e9, on_deliver,
						  &g);
			unsigned char b[2] = { 1, 0 };
			CHECK(q && n);
			CHECK(sim_net_send_late(n, 0, 0, 1, 1, b, 2, NULL, 0,
						1000000 - 2,
						on ? late : 0) == 0);
			CHECK(small(n, 10, 0, 1, 2) == 0);
			CHECK(small(n, 10, 2, 1, 3) == 0);
			CHECK(small(n, 10, 0, 2, 4) == 0);
			b[0] = 5;
			CHECK(sim_net_send_late(n, 20, 1, 1, 1, b, 2, NULL, 0,
						0, late) == 0);
			if (on) { /* its transfer over: the connection gone */
				CHECK(run_all(q, n, &g, plain) == 0);
				CHECK(small(n, plain, 0, 1, 7) == 0);
			}
			CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
			CHECK(g.n == 5 + on);
			if (!on)
				plain = g.at[1];
			CHECKF(g.at[1] == plain + (on ? late : 0),
			       "fair %d on %d: the transfer at %lld ns "
			       "(%lld without)",
			       fair, on, (long long)g.at[1],
			       (long long)plain);
			CHECK(g.rank[1] < g.rank[2]);
			CHECK(!on || (g.at[7] == g.at[1] && g.rank[2] < g.rank[7]));
			CHECKF(on ? g.at[2] == g.at[1] : g.at[2] >= g.at[1],
			       "fair %d on %d: the pair's next at %lld", fair,
			       on, (long long)g.at[2]);
			CHECK(g.at[3] - (10 + lat) <= 2 &&
			      g.at[4] - (10 + lat) <= 2);
			CHECK(g.at[5] == 20); /* to itself: not late */
			/* the pair's hold is gone once delivered: a message
			 * sent now keeps its own time */
			ukf_ns_t t = g.at[1] + 1;
			CHECK(small(n, t, 0, 1, 6) == 0);
			CHECK(run_all(q, n, &g, UKF_NS_NEVER) == 0);
			CHECK(g.n == 6 + on && g.at[6] - (t + lat) <= 2);
			sim_net_destroy(&n);
			sim_queue_destroy(&q);
		}
	}
	return 0;
}

static const struct selftest tests[] = {
	{ "net_fair_equal", t_net_fair_equal },
	{ "net_fair_disjoint", t_net_fair_disjoint },
	{ "net_fair_maxmin", t_net_fair_maxmin },
	{ "net_fair_racks", t_net_fair_racks },
	{ "net_fair_rack_sizes", t_net_fair_rack_sizes },
	{ "net_fair_reference", t_net_fair_reference },
	{ "net_link_reference", t_net_link_reference },
	{ "net_fair_small", t_net_fair_small },
	{ "net_fair_small_order", t_net_fair_small_order },
	{ "net_fair_bad", t_net_fair_bad },
	{ "net_huge_transfer", t_net_huge_transfer },
	{ "net_cut", t_net_cut },
	{ "net_hold", t_net_hold },
	{ "net_late", t_net_late },
};

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--bench"))
		return bench(argc, argv);
	return selftest_main_print(tests, SELFTEST_COUNT(tests), argc, argv);
}
