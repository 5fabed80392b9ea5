/* SPDX-License-Identifier: MIT */
/* cpu.c - host CPU contention: each host's cores shared by its running vCPUs (processor sharing). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

/*
 * Egalitarian processor sharing per host. With n jobs running on a host of
 * c cores each progresses at rate min(1, c/n). A host keeps a virtual
 * clock V (the service each of its running jobs received so far, in ns)
 * and a binary heap of its jobs' virtual finish times F = V(start) + work:
 * the job with the least F finishes first, at now + (F - V) / rate. A
 * start, a cancel or a finish advances V to now, changes the heap
 * (O(log k)) and reschedules the host's one pending SIM_EV_CPU event
 * (a version number makes the earlier ones stale). A cancelled job leaves
 * its heap entry behind, marked dead (its done event's type set to
 * SIM_EV_NONE), dropped when it reaches the top (or when the host goes
 * idle). A host's heap is the only place its jobs are kept: a cancel and
 * the duplicate check of a start scan it (O(k), k small and contiguous),
 * which costs less than the global key -> entry map this replaced (five
 * hashed look-ups per job, each a likely cache miss at 100,000 hosts).
 */
struct job {
	double f;     /* virtual finish time */
	uint64_t seq; /* start order: ties finish in start order */
	uint64_t key;
	struct sim_ev done; /* type SIM_EV_NONE: cancelled (a dead entry) */
};

struct host {
	double v;       /* virtual clock: service per running job so far */
	ukf_ns_t last;  /* when v was last advanced */
	uint32_t n;     /* running jobs (live heap entries; len - n dead) */
	uint32_t ver;   /* version of the pending event */
	struct job *h;  /* heap on (f, seq), live and stale entries */
	uint32_t len, cap;
};

struct sim_cpu {
	sim_queue_t *q;
	struct host *hosts;
	uint32_t nhosts, cores;
	uint64_t seq;
	int in_event; /* finishing jobs: reschedule once at the end */
};

sim_cpu_t *sim_cpu_create(sim_queue_t *q, uint32_t hosts, uint32_t cores)
{
	if (!q || hosts == 0 || cores == 0)
		return NULL;
	sim_cpu_t *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->hosts = calloc(hosts, sizeof(*c->hosts));
	if (!c->hosts) {
		free(c);
		return NULL;
	}
	c->q = q;
	c->nhosts = hosts;
	c->cores = cores;
	return c;
}

void sim_cpu_destroy(sim_cpu_t **cp)
{
	sim_cpu_t *c = cp ? *cp : NULL;
	if (!c)
		return;
	for (uint32_t i = 0; i < c->nhosts; i++)
		free(c->hosts[i].h);
	free(c->hosts);
	free(c);
	*cp = NULL;
}

uint32_t sim_cpu_running(const sim_cpu_t *c, uint32_t host)
{
	return host < c->nhosts ? c->hosts[host].n : 0;
}

static int job_less(const struct job *a, const struct job *b)
{
	return a->f < b->f || (a->f == b->f && a->seq < b->seq);
}

static void heap_up(struct host *h, uint32_t i)
{
	struct job x = h->h[i];
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (!job_less(&x, &h->h[p]))
			break;
		h->h[i] = h->h[p];
		i = p;
	}
	h->h[i] = x;
}

static void heap_pop(struct host *h)
{
	if (--h->len == 0)
		return;
	struct job x = h->h[h->len];
	uint32_t i = 0;
	for (;;) {
		uint32_t l = 2 * i + 1, m = l;
		if (l >= h->len)
			break;
		if (l + 1 < h->len && job_less(&h->h[l + 1], &h->h[l]))
			m = l + 1;
		if (!job_less(&h->h[m], &x))
			break;
		h->h[i] = h->h[m];
		i = m;
	}
	h->h[i] = x;
}

/* ns of real time per ns of service for each job: max(1, n/c). */
static double stretch(const sim_cpu_t *c, const struct host *h)
{
	return h->n > c->cores ? (double)h->n / (double)c->cores : 1.0;
}

static void advance(const sim_cpu_t *c, struct host *h, ukf_ns_t now)
{
	if (h->n > 0 && now > h->last)
		h->v += (double)(now - h->last) / stretch(c, h);
	h->last = now;
}

static int is_live(const struct job *j)
{
	return j->done.type != SIM_EV_NONE;
}

/* The live entry of job key on host h, or NULL. */
static struct job *find_live(struct host *h, uint64_t key)
{
	for (uint32_t i = 0; i < h->len; i++)
		if (h->h[i].key == key && is_live(&h->h[i]))
			return &h->h[i];
	return NULL;
}

/* Drop stale entries on top; the host's next finish event. */
static int resched(sim_cpu_t *c, uint32_t hi, ukf_ns_t now)
{
	struct host *h = &c->hosts[hi];

	if (c->in_event)
		return 0;
	h->ver++;
	if (h->n == 0) {
		h->len = 0; /* what is left is stale */
		return 0;
	}
	if (h->len > h->n) /* dead entries (cancels): drop those on top */
		while (h->len > 0 && !is_live(&h->h[0]))
			heap_pop(h);
	if (h->len == 0)
		return 0; /* cannot happen: n counts live entries */
	double dt = (h->h[0].f - h->v) * stretch(c, h);
	if (!(dt < 9e18 - (double)now))
		return 0; /* past the clock's range: never (until a change) */
	ukf_ns_t t = now + (dt > 0 ? (ukf_ns_t)llround(dt) : 0);
	struct sim_ev ev = { .type = SIM_EV_CPU, .node = hi };
	ev.u.cpu.ver = h->ver;
	return sim_queue_push(c->q, t, &ev) < 0 ? -ENOMEM : 0;
}

int sim_cpu_start(sim_cpu_t *c, ukf_ns_t now, uint32_t host, uint64_t key,
		  ukf_ns_t work_ns, const struct sim_ev *done)
{
	if (host >= c->nhosts || work_ns < 0 || !done ||
	    done->type == SIM_EV_NONE)
		return -EINVAL;
	struct host *h = &c->hosts[host];
	if (find_live(h, key))
		return -EEXIST;
	if (h->len == h->cap) {
		uint32_t ncap = h->cap ? h->cap * 2 : 4;
		struct job *nh = realloc(h->h, sizeof(*nh) * ncap);
		if (!nh)
			return -ENOMEM;
		h->h = nh;
		h->cap = ncap;
	}
	advance(c, h, now);
	struct job *j = &h->h[h->len++];
	j->f = h->v + (double)work_ns;
	j->seq = c->seq++;
	j->key = key;
	j->done = *done;
	heap_up(h, h->len - 1);
	h->n++;
	return resched(c, host, now);
}

int sim_cpu_cancel(sim_cpu_t *c, ukf_ns_t now, uint32_t host, uint64_t key)
{
	if (host >= c->nhosts)
		return 0;
	struct host *h = &c->hosts[host];
	struct job *j = find_live(h, key);
	if (!j)
		return 0;
	advance(c, h, now);
	j->done.type = SIM_EV_NONE; /* the heap order does not look at it */
	h->n--;
	return resched(c, host, now) < 0 ? -ENOMEM : 1;
}

void sim_cpu_prefetch(const sim_cpu_t *c, const struct sim_ev *ev)
{
	if (c && ev->node < c->nhosts) {
		const char *h = (const char *)&c->hosts[ev->node];

		/* 40 bytes: it may span two lines */
		__builtin_prefetch(h, 1);
		__builtin_prefetch(h + sizeof(struct host) - 1, 1);
	}
}

int sim_cpu_event(sim_cpu_t *c, ukf_ns_t now, const struct sim_ev *ev)
{
	uint32_t hi = ev->node;
	if (hi >= c->nhosts || ev->u.cpu.ver != c->hosts[hi].ver)
		return 0; /* superseded by a later change */
	struct host *h = &c->hosts[hi];
	int rc = 0;

	advance(c, h, now);
	double st = stretch(c, h); /* the rate until now */
	c->in_event = 1;
	/* The top is the job this event was scheduled for (any change since
	 * would have bumped ver); it finishes now, and so do the others due
	 * within half a ns (rounding), in (f, start) order. */
	int finished = 0;
	while (h->len > 0) {
		struct job *j = &h->h[0];
		if (!is_live(j)) {
			heap_pop(h);
			continue;
		}
		if (finished && (j->f - h->v) * st > 0.5)
			break;
		if (j->f > h->v)
			h->v = j->f;
		struct sim_ev done = j->done;
		heap_pop(h);
		h->n--;
		finished = 1;
		if (sim_queue_push(c->q, now, &done) < 0)
			rc = -ENOMEM;
	}
	c->in_event = 0;
	if (resched(c, hi, now) < 0)
		rc = -ENOMEM;
	return rc;
}
