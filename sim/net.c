/* SPDX-License-Identifier: MIT */
/* net.c - the simulated network: per-pair ordered connections sharing links. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

/* See sim_int.h for the model. */

#define NONE UINT32_MAX

struct msg {
	struct msg *next;
	uint32_t from, to;
	size_t len;
	uint64_t bulk;
	unsigned char data[];
};

struct conn {
	uint32_t from, to;
	struct msg *head, *tail;
	double remaining; /* bytes of the head message still to send */
	double rate;      /* bytes/s, 0 until first scheduled */
	ukf_ns_t last;    /* when `remaining` was last brought up to date */
	uint32_t ver;     /* completion events carry it; stale ones are ignored */
	uint32_t up_prev, up_next, dn_prev, dn_next;
	uint32_t next_free;
	int used;
};

struct link {
	uint32_t up_head, dn_head; /* active connections from / to the node */
	uint32_t nup, ndn;
};

struct sim_net {
	sim_queue_t *q;
	uint32_t nodes;
	ukf_ns_t latency;
	double bw;
	sim_deliver_fn deliver;
	void *u;
	struct link *links;
	struct conn *conns;
	uint32_t nconns, cap, free_head;
	size_t open;
	sim_map_t bypair; /* from<<32|to -> conn slot */
	uint64_t bytes;
};

sim_net_t *sim_net_create(sim_queue_t *q, uint32_t nodes, ukf_ns_t latency,
			  double bandwidth, sim_deliver_fn deliver, void *u)
{
	sim_net_t *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->links = malloc(sizeof(*n->links) * (nodes ? nodes : 1));
	if (!n->links) {
		free(n);
		return NULL;
	}
	for (uint32_t i = 0; i < nodes; i++)
		n->links[i] = (struct link){ NONE, NONE, 0, 0 };
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

static int push_deliver(sim_net_t *n, ukf_ns_t t, struct msg *m)
{
	struct sim_ev ev = { .type = SIM_EV_DELIVER, .node = m->to };
	ev.u.deliver.msg = m;
	return sim_queue_push(n->q, t, &ev);
}

/* Bring c's progress up to `now` and (re)schedule its completion if its
 * fair-share rate changed or force is set. */
static int conn_update(sim_net_t *n, uint32_t slot, ukf_ns_t now, int force)
{
	struct conn *c = &n->conns[slot];
	if (c->rate > 0) {
		c->remaining -= c->rate * (double)(now - c->last) * 1e-9;
		if (c->remaining < 0)
			c->remaining = 0;
	}
	c->last = now;
	double up = n->bw / n->links[c->from].nup;
	double dn = n->bw / n->links[c->to].ndn;
	double rate = up < dn ? up : dn;
	if (rate == c->rate && !force)
		return 0;
	c->rate = rate;
	c->ver++;
	double dt = ceil(c->remaining / rate * 1e9);
	ukf_ns_t fin = now + (dt < 9e18 ? (ukf_ns_t)dt : (ukf_ns_t)9e18);
	struct sim_ev ev = { .type = SIM_EV_XFER, .node = c->from };
	ev.u.xfer.slot = slot;
	ev.u.xfer.ver = c->ver;
	return sim_queue_push(n->q, fin, &ev);
}

/* Re-rate the connections on `from`'s uplink and `to`'s downlink. */
static int relink(sim_net_t *n, uint32_t from, uint32_t to, ukf_ns_t now)
{
	int rc = 0;
	for (uint32_t s = n->links[from].up_head; s != NONE; s = n->conns[s].up_next)
		rc |= conn_update(n, s, now, 0);
	for (uint32_t s = n->links[to].dn_head; s != NONE; s = n->conns[s].dn_next)
		rc |= conn_update(n, s, now, 0);
	return rc ? -ENOMEM : 0;
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
	n->conns[n->nconns].ver = 0;
	return n->nconns++;
}

int sim_net_send(sim_net_t *n, ukf_ns_t now, ukf_node_id_t from,
		 ukf_node_id_t to, const void *buf, size_t len,
		 uint64_t bulk_bytes)
{
	if (from >= n->nodes || to >= n->nodes || (len && !buf))
		return -EINVAL;
	struct msg *m = malloc(sizeof(*m) + len);
	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->from = from;
	m->to = to;
	m->len = len;
	m->bulk = bulk_bytes;
	if (len)
		memcpy(m->data, buf, len);

	if (from == to)
		return push_deliver(n, now, m) < 0 ? (free(m), -ENOMEM) : 0;
	if (!(n->bw > 0))
		return push_deliver(n, now + n->latency, m) < 0 ? (free(m), -ENOMEM) : 0;

	uint64_t key = ((uint64_t)from << 32) | to, v;
	if (sim_map_get(&n->bypair, key, &v)) {
		struct conn *c = &n->conns[v];
		c->tail->next = m;
		c->tail = m;
		return 0;
	}
	uint32_t s = conn_alloc(n);
	if (s == NONE || sim_map_put(&n->bypair, key, s) < 0) {
		if (s != NONE) {
			n->conns[s].next_free = n->free_head;
			n->free_head = s;
		}
		free(m);
		return -ENOMEM;
	}
	struct conn *c = &n->conns[s];
	uint32_t ver = c->ver;
	*c = (struct conn){ .from = from, .to = to, .head = m, .tail = m,
			    .remaining = (double)len + (double)bulk_bytes,
			    .rate = 0, .last = now, .ver = ver, .used = 1,
			    .next_free = NONE };
	struct link *lu = &n->links[from], *ld = &n->links[to];
	c->up_prev = NONE;
	c->up_next = lu->up_head;
	if (lu->up_head != NONE)
		n->conns[lu->up_head].up_prev = s;
	lu->up_head = s;
	lu->nup++;
	c->dn_prev = NONE;
	c->dn_next = ld->dn_head;
	if (ld->dn_head != NONE)
		n->conns[ld->dn_head].dn_prev = s;
	ld->dn_head = s;
	ld->ndn++;
	n->open++;
	return relink(n, from, to, now);
}

static int conn_close(sim_net_t *n, uint32_t s, ukf_ns_t now)
{
	struct conn *c = &n->conns[s];
	struct link *lu = &n->links[c->from], *ld = &n->links[c->to];
	uint32_t from = c->from, to = c->to;

	if (c->up_prev != NONE)
		n->conns[c->up_prev].up_next = c->up_next;
	else
		lu->up_head = c->up_next;
	if (c->up_next != NONE)
		n->conns[c->up_next].up_prev = c->up_prev;
	if (c->dn_prev != NONE)
		n->conns[c->dn_prev].dn_next = c->dn_next;
	else
		ld->dn_head = c->dn_next;
	if (c->dn_next != NONE)
		n->conns[c->dn_next].dn_prev = c->dn_prev;
	lu->nup--;
	ld->ndn--;
	sim_map_del(&n->bypair, ((uint64_t)from << 32) | to);
	c->used = 0;
	c->ver++;
	c->next_free = n->free_head;
	n->free_head = s;
	n->open--;
	return relink(n, from, to, now);
}

int sim_net_event(sim_net_t *n, ukf_ns_t now, const struct sim_ev *ev)
{
	if (ev->type == SIM_EV_DELIVER) {
		struct msg *m = ev->u.deliver.msg;
		n->bytes += m->len + m->bulk;
		n->deliver(n->u, m->to, m->from, m->data, m->len);
		free(m);
		return 0;
	}
	if (ev->type != SIM_EV_XFER)
		return 0;
	uint32_t s = ev->u.xfer.slot;
	if (s >= n->nconns || !n->conns[s].used || n->conns[s].ver != ev->u.xfer.ver)
		return 0; /* stale: the rate changed or the connection closed */
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
	if (c->head) {
		/* Same links, same counts: only this connection restarts. */
		c->remaining = (double)c->head->len + (double)c->head->bulk;
		c->last = now;
		return conn_update(n, s, now, 1) < 0 ? -ENOMEM : 0;
	}
	return conn_close(n, s, now);
}
