/* SPDX-License-Identifier: MIT */
/* queue_check.c - checks sim/queue.c against a naive reference queue. */
/*
 * Random pushes (spread, tied, and earlier than the last pop), pops and
 * peeks on sim/queue.c and on a linear-scan reference ordered by (time,
 * push order); any difference in what comes out (time and payload), the
 * peeked time, the peeked next event or the size fails. CTest test sim.queue_reference; prints "queue check OK".
 */
#include <stdio.h>
#include <stdlib.h>

#include "sim_int.h"

struct ref {
	long long t;
	unsigned long long seq, a;
};

enum { MAXREF = 200000, STEPS = 60000, ROUNDS = 20 };
static struct ref refq[MAXREF];
static size_t nref;
static unsigned long long seqc;
static unsigned long long rs = 88172645463325252ULL;

static unsigned long long rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static int ref_pop(struct ref *o)
{
	if (!nref)
		return 0;
	size_t m = 0;
	for (size_t i = 1; i < nref; i++)
		if (refq[i].t < refq[m].t ||
		    (refq[i].t == refq[m].t && refq[i].seq < refq[m].seq))
			m = i;
	*o = refq[m];
	refq[m] = refq[--nref];
	return 1;
}

/* Times to push in a round: 0 spread over 1 us, 1 the same with more
 * pushes than pops, 2 within 3 ns (many ties), 3 also before the last
 * pop, by up to 500 ns or by 2^40 ns. */
static long long next_time(int mode, long long now)
{
	if (mode == 2)
		return now + (long long)(rnd() % 3);
	if (mode == 3)
		return now + (long long)(rnd() % 1000) - 500 -
		       (rnd() % 2 ? (1LL << 40) : 0);
	return now + (long long)(rnd() % 1000);
}

int main(void)
{
	for (int round = 0; round < ROUNDS; round++) {
		sim_queue_t *q = sim_queue_create();
		long long now = 0;
		unsigned long long ops = 0;
		int mode = round % 4;
		if (!q)
			return 1;
		for (int k = 0; k < STEPS; k++) {
			unsigned op = (unsigned)(rnd() % 10);
			if (op < 4 || (mode == 1 && op < 7)) {
				long long t = next_time(mode, now);
				struct sim_ev e = {.type = SIM_EV_USER};
				e.u.user.a = ops++;
				e.u.user.c = ~e.u.user.a; /* the whole payload kept */
				if (sim_queue_push(q, t, &e) || nref >= MAXREF) {
					printf("push failed\n");
					return 1;
				}
				refq[nref++] = (struct ref){t, seqc++, e.u.user.a};
			} else if (op < 9) {
				ukf_ns_t t;
				struct sim_ev e;
				struct ref o;
				int a = sim_queue_pop(q, &t, &e), b = ref_pop(&o);
				if (a != b ||
				    (a && (t != o.t || e.u.user.a != o.a ||
					   e.u.user.c != ~o.a ||
					   e.type != SIM_EV_USER))) {
					printf("pop differs: round %d step %d\n",
					       round, k);
					return 1;
				}
				if (a)
					now = t;
			} else {
				ukf_ns_t pt = sim_queue_peek_time(q);
				const struct sim_ev *nx = sim_queue_peek_next(q);
				long long m = 0;
				size_t mi = 0;
				for (size_t i = 0; i < nref; i++)
					if (i == 0 || refq[i].t < m ||
					    (refq[i].t == m &&
					     refq[i].seq < refq[mi].seq)) {
						m = refq[i].t;
						mi = i;
					}
				/* once the time is known, the hint is exact */
				if ((nref == 0 && (pt != UKF_NS_NEVER || nx)) ||
				    (nref && (pt != m || !nx ||
					      nx->u.user.a != refq[mi].a))) {
					printf("peek differs: round %d step %d\n",
					       round, k);
					return 1;
				}
			}
			if (sim_queue_size(q) != nref) {
				printf("size differs: round %d step %d\n", round,
				       k);
				return 1;
			}
		}
		ukf_ns_t t;
		struct sim_ev e;
		struct ref o;
		while (sim_queue_pop(q, &t, &e))
			if (!ref_pop(&o) || t != o.t || e.u.user.a != o.a) {
				printf("drain differs: round %d\n", round);
				return 1;
			}
		if (nref) {
			printf("reference not drained\n");
			return 1;
		}
		sim_queue_destroy(&q);
	}
	printf("queue check OK\n");
	return 0;
}
