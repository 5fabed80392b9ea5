/* SPDX-License-Identifier: MIT */
/* net.c - the simulated network: ordered per-pair connections on processor-sharing links. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

/* See sim_int.h for the model. */

#define NONE UINT32_MAX
/* Control messages up to this size travel in `latency` alone when their
 * connection is idle, without loading the links: they would occupy a
 * 10 Gb/s link for under 4 us. Behind a busy connection they queue. */
#define SIM_NET_SMALL 4096
#define UP 0
#define DN 1

struct msg {
	struct msg *next;
	uint32_t from, to;
	uint16_t type;
	size_t len;	 /* body bytes, then bulk_len bulk bytes, in data */
	size_t bulk_len;
	uint64_t bulk;	 /* bytes charged beyond len + bulk_len */
	unsigned char data[];
};

struct conn {
	uint32_t from, to;
	struct msg *head, *tail;
	uint8_t pending[2]; /* head message still in service on UP / DN */
	uint32_t next_free;
	int used;
};

struct fin {
	double f;      /* virtual finish time on the link */
	uint32_t slot; /* connection */
};

/* One direction of a node's link, a processor-sharing server. */
struct link {
	double v;       /* virtual clock: service one connection got so far */
	ukf_ns_t t;     /* when v was last advanced */
	uint32_t n;     /* connections in service */
	uint32_t ver;   /* the pending event carries it; older ones are stale */
	ukf_ns_t armed; /* time of the pending event, UKF_NS_NEVER if none */
	struct fin *heap;
	uint32_t cap;
};

struct sim_net {
	sim_queue_t *q;
	uint32_t nodes;
	ukf_ns_t latency;
	double bw;
	sim_deliver_fn deliver;
	void *u;
	struct link *links; /* 2 * nodes: [2*node + UP/DN] */
	struct conn *conns;
	uint32_t nconns, cap, free_head;
	size_t open;
	sim_map_t bypair; /* from<<32|to -> conn slot */
	uint64_t bytes;
	int failed;
};

sim_net_t *sim_net_create(sim_queue_t *q, uint32_t nodes, ukf_ns_t latency,
			  double bandwidth, sim_deliver_fn deliver, void *u)
{
	sim_net_t *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->links = calloc(2 * (size_t)(nodes ? nodes : 1), sizeof(*n->links));
	if (!n->links) {
		free(n);
		return NULL;
	}
	for (size_t i = 0; i < 2 * (size_t)nodes; i++)
		n->links[i].armed = UKF_NS_NEVER;
	n->q = q;
	n->nodes = nodes;
	n->latency = latency < 0 ? 0 : latency;
	n->bw = bandwidth;
	n->deliver = deliver;
	n->u = u;
	n->free_head = NONE;
	sim_map_init(&n->bypair);
	return n;
}

void sim_net_destroy(sim_net_t **np)
{
	sim_net_t *n = np ? *np : NULL;
	if (!n)
		return;
	for (uint32_t i = 0; i < n->nconns; i++) {
		if (!n->conns[i].used)
			continue;
		struct msg *m = n->conns[i].head;
		while (m) {
			struct msg *nx = m->next;
			free(m);
			m = nx;
		}
	}
	for (size_t i = 0; i < 2 * (size_t)n->nodes; i++)
		free(n->links[i].heap);
	free(n->conns);
	free(n->links);
	sim_map_free(&n->bypair);
	free(n);
	*np = NULL;
}

void sim_net_drop(const struct sim_ev *ev)
{
	if (ev->type == SIM_EV_DELIVER)
		free(ev->u.deliver.msg);
}

size_t sim_net_connections(const sim_net_t *n)
{
	return n->open;
}

uint64_t sim_net_bytes(const sim_net_t *n)
{
	return n->bytes;
}

/* ---- per-link heap of virtual finish times (binary min-heap) ---- */

static int heap_push(struct link *l, double f, uint32_t slot)
{
	if (l->n == l->cap) {
		uint32_t ncap = l->cap ? l->cap * 2 : 4;
		struct fin *nh = realloc(l->heap, sizeof(*nh) * ncap);
		if (!nh)
			return -1;
		l->heap = nh;
		l->cap = ncap;
	}
	uint32_t i = l->n++;
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (l->heap[p].f < f || (l->heap[p].f == f && l->heap[p].slot < slot))
			break;
		l->heap[i] = l->heap[p];
		i = p;
	}
	l->heap[i] = (struct fin){ f, slot };
	return 0;
}

static struct fin heap_pop(struct link *l)
{
	struct fin top = l->heap[0];
	struct fin last = l->heap[--l->n];
	uint32_t i = 0, n = l->n;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && (l->heap[c + 1].f < l->heap[c].f ||
				  (l->heap[c + 1].f == l->heap[c].f &&
				   l->heap[c + 1].slot < l->heap[c].slot)))
			c++;
		if (last.f < l->heap[c].f ||
		    (last.f == l->heap[c].f && last.slot < l->heap[c].slot))
			break;
		l->heap[i] = l->heap[c];
		i = c;
	}
	if (n > 0)
		l->heap[i] = last;
	return top;
}

/* ---- links ---- */

static void link_advance(sim_net_t *n, struct link *l, ukf_ns_t now)
{
	if (l->n > 0)
		l->v += n->bw * (double)(now - l->t) * 1e-9 / l->n;
	else
		l->v = 0; /* idle: rebase, keeps the clock small and exact */
	l->t = now;
}

/*
 * Arm the link's one event at the time its earliest finish is due. With
 * lazy set, an event already pending no later than that is kept: a start
 * only ever delays finishes, so the event fires early, finds nothing due
 * and re-arms (one wake-up instead of one push per start).
 */
static int link_arm(sim_net_t *n, uint32_t li, ukf_ns_t now, int lazy)
{
	struct link *l = &n->links[li];
	if (l->n == 0) {
		l->ver++;
		l->armed = UKF_NS_NEVER;
		return 0;
	}
	double need = l->heap[0].f - l->v;
	double dt = need > 0 ? ceil(need * l->n / n->bw * 1e9) : 0;
	ukf_ns_t at = now + (dt < 9e18 ? (ukf_ns_t)dt : (ukf_ns_t)9e18);
	if (lazy && l->armed <= at)
		return 0;
	l->ver++;
	l->armed = at;
	struct sim_ev ev = { .type = SIM_EV_XFER, .node = li / 2 };
	ev.u.xfer.slot = li;
	ev.u.xfer.ver = l->ver;
	return sim_queue_push(n->q, at, &ev);
}

/* Put the connection's head message in service on both its links. */
static int conn_start(sim_net_t *n, uint32_t s, ukf_ns_t now)
{
	struct conn *c = &n->conns[s];
	double size = (double)c->head->len + (double)c->head->bulk_len +
		      (double)c->head->bulk;
	uint32_t li[2] = { 2 * c->from + UP, 2 * c->to + DN };
	int rc = 0;
	for (int d = 0; d < 2; d++) {
		struct link *l = &n->links[li[d]];
		link_advance(n, l, now);
		if (heap_push(l, l->v + size, s) < 0)
			return -ENOMEM;
		c->pending[d] = 1;
		rc |= link_arm(n, li[d], now, 1);
	}
	return rc ? -ENOMEM : 0;
}

static int push_deliver(sim_net_t *n, ukf_ns_t t, struct msg *m)
{
	struct sim_ev ev = { .type = SIM_EV_DELIVER, .node = m->to };
	ev.u.deliver.msg = m;
	return sim_queue_push(n->q, t, &ev);
}

static uint32_t conn_alloc(sim_net_t *n)
{
	if (n->free_head != NONE) {
		uint32_t s = n->free_head;
		n->free_head = n->conns[s].next_free;
		return s;
	}
	if (n->nconns == n->cap) {
		uint32_t ncap = n->cap ? n->cap * 2 : 256;
		struct conn *nc = realloc(n->conns, sizeof(*nc) * ncap);
		if (!nc)
			return NONE;
		n->conns = nc;
		n->cap = ncap;
	}
	return n->nconns++;
}

int sim_net_send(sim_net_t *n, ukf_ns_t now, ukf_node_id_t from,
		 ukf_node_id_t to, uint16_t type, const void *buf, size_t len,
		 const void *bulk, size_t bulk_len, uint64_t bulk_bytes)
{
	if (from >= n->nodes || to >= n->nodes || (len && !buf) ||
	    (bulk_len && !bulk))
		return -EINVAL;
	struct msg *m = malloc(sizeof(*m) + len + bulk_len);
	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->from = from;
	m->to = to;
	m->type = type;
	m->len = len;
	m->bulk_len = bulk_len;
	m->bulk = bulk_bytes;
	if (len)
		memcpy(m->data, buf, len);
	if (bulk_len)
		memcpy(m->data + len, bulk, bulk_len);
	len += bulk_len; /* what the links carry: body and bulk */

	if (from == to)
		return push_deliver(n, now, m) < 0 ? (free(m), -ENOMEM) : 0;
	if (!(n->bw > 0))
		return push_deliver(n, now + n->latency, m) < 0 ? (free(m), -ENOMEM) : 0;

	uint64_t key = ((uint64_t)from << 32) | to, v;
	if (sim_map_get(&n->bypair, key, &v)) {
		struct conn *c = &n->conns[v];
		c->tail->next = m; /* sent after the ones before it */
		c->tail = m;
		return 0;
	}
	if ((uint64_t)len + bulk_bytes <= SIM_NET_SMALL)
		return push_deliver(n, now + n->latency, m) < 0 ? (free(m), -ENOMEM) : 0;
	uint32_t s = conn_alloc(n);
	if (s == NONE || sim_map_put(&n->bypair, key, s) < 0) {
		if (s != NONE) {
			n->conns[s].used = 0;
			n->conns[s].next_free = n->free_head;
			n->free_head = s;
		}
		free(m);
		return -ENOMEM;
	}
	n->conns[s] = (struct conn){ .from = from, .to = to, .head = m,
				     .tail = m, .used = 1, .next_free = NONE };
	n->open++;
	return conn_start(n, s, now);
}

/* The head message has had its service on both links: it leaves. */
static int conn_done(sim_net_t *n, uint32_t s, ukf_ns_t now)
{
	struct conn *c = &n->conns[s];
	struct msg *m = c->head;
	c->head = m->next;
	if (!c->head)
		c->tail = NULL;
	m->next = NULL;
	if (push_deliver(n, now + n->latency, m) < 0) {
		free(m);
		return -ENOMEM;
	}
	if (c->head)
		return conn_start(n, s, now);
	sim_map_del(&n->bypair, ((uint64_t)c->from << 32) | c->to);
	c->used = 0;
	c->next_free = n->free_head;
	n->free_head = s;
	n->open--;
	return 0;
}

int sim_net_event(sim_net_t *n, ukf_ns_t now, const struct sim_ev *ev)
{
	if (ev->type == SIM_EV_DELIVER) {
		struct msg *m = ev->u.deliver.msg;
		n->bytes += m->len + m->bulk_len + m->bulk;
		n->deliver(n->u, m->to, m->from, m->type, m->data, m->len,
			   m->bulk_len ? m->data + m->len : NULL, m->bulk_len);
		free(m);
		return 0;
	}
	if (ev->type != SIM_EV_XFER)
		return 0;
	uint32_t li = ev->u.xfer.slot;
	if (li >= 2 * n->nodes || n->links[li].ver != ev->u.xfer.ver)
		return 0; /* stale: the link was re-armed since */
	struct link *l = &n->links[li];
	int d = li & 1, rc = 0;
	link_advance(n, l, now);
	/* Everything whose finish the clock has reached (within rounding). */
	while (l->n > 0 && l->heap[0].f <= l->v + 1e-6 * (1.0 + l->v * 1e-9)) {
		struct fin f = heap_pop(l);
		struct conn *c = &n->conns[f.slot];
		c->pending[d] = 0;
		if (!c->pending[!d])
			rc |= conn_done(n, f.slot, now);
		l = &n->links[li]; /* conn_start may have grown another heap */
	}
	if (l->n == 0)
		l->v = 0;
	l->armed = UKF_NS_NEVER; /* this event has fired */
	rc |= link_arm(n, li, now, 0);
	return rc ? -ENOMEM : 0;
}
