/* SPDX-License-Identifier: MIT */
/* net.c - the simulated network: ordered per-pair connections on shared links (per-link processor sharing, or max-min fair flows over host links, rack uplinks and a core). */
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
	uint32_t ep_from, ep_to; /* the endpoints' epochs when it was sent */
	uint16_t type;
	uint8_t pooled;	 /* a MSG_POOL_BYTES block: back to the free list */
	uint8_t paired;	 /* its delivery time is its pair's hold (late) */
	ukf_ns_t late;	 /* sim_net_send_late: added to its arrival */
	size_t len;	 /* body bytes, then bulk_len bulk bytes, in data */
	size_t bulk_len;
	uint64_t bulk;	 /* bytes charged beyond len + bulk_len */
	unsigned char data[];
};

/* Messages whose body and bulk fit in a MSG_POOL_BYTES block (control
 * messages, deltas: nearly all) take one from the network's free list
 * and go back to it once delivered, instead of a malloc and a free each:
 * the block reused is the one freed last, still in the cache. Every
 * block is a malloc'd one, so free() of a message stays right. */
#define MSG_POOL_BYTES 256

struct conn {
	uint32_t from, to;
	struct msg *head, *tail;
	uint8_t pending[2]; /* head message still in service on UP / DN */
	uint32_t next_free;
	int used;
	/* Max-min mode: the head message is a flow over nl fabric links. */
	uint32_t nl;
	uint32_t fl[5];   /* fabric links crossed */
	uint32_t fpos[5]; /* its index in each link's flow list */
	uint32_t hpos;    /* index in the finish heap */
	uint32_t mark, frozen; /* solve epochs */
	double rem;       /* bytes left at time t */
	double rate;      /* bytes/s */
	ukf_ns_t t;       /* when rem was last brought up to date */
	ukf_ns_t fin;     /* when it is done at this rate */
};

/* Max-min mode: a link of the fabric (a host's up or down link, a rack's
 * uplink or downlink, the core) and the flows crossing it. */
struct flink {
	double cap;      /* bytes/s */
	uint32_t *fl;    /* connection slots of the flows on it */
	uint32_t n, capn;
	uint32_t mark, ver; /* solve scratch */
	double c;        /* capacity not yet given out (solve) */
	uint32_t un;     /* flows not yet frozen (solve) */
};

struct share {
	double s;
	uint32_t link, ver;
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
	/* Max-min mode: from<<32|to -> when the pair's last small message
	 * has been sent (its size at the path's rate), so the next small one
	 * goes after it, in order; entries in the past are dropped when the
	 * map reaches small_prune entries. */
	sim_map_t smalls;
	uint32_t small_prune;
	/* per node: open connections it sends on; a send from a node with
	 * none (most: control messages between idle pairs) skips bypair,
	 * whose table, grown to the peak of open connections, is cold */
	uint32_t *nout;
	uint64_t bytes;
	struct msg *mfree; /* spent MSG_POOL_BYTES blocks */
	int failed;
	/* Node cuts (failures): down[node] while cut; epoch[node] counts
	 * cuts, so a message of an earlier epoch is lost. NULL until the
	 * first cut. */
	uint8_t *down;
	uint32_t *epoch;
	uint64_t dropped;
	/* sim_net_hold: per node, no delivery from another before this;
	 * NULL until the first hold */
	ukf_ns_t *hold;
	/* sim_net_send_late: from<<32|to -> the delivery time of the pair's
	 * last late message, none of the pair's later ones before it; an
	 * entry goes when that message is delivered */
	sim_map_t pairs;
	/* Max-min mode (sim_net_fabric). */
	int fair;
	uint32_t racks;
	struct flink *fx;  /* 2 * nodes + 2 * racks + 1 */
	uint32_t nfx;
	uint32_t *fheap;   /* connection slots by finish time */
	uint32_t nheap, capheap;
	uint32_t epoch_solve;
	uint32_t fver;     /* the one pending SIM_EV_XFER event's version */
	ukf_ns_t farmed;
	uint32_t *seeds, nseeds, capseeds; /* links changed since the last solve */
	uint32_t *cl, ncl, capcl; /* solve scratch: component links */
	uint32_t *cf, ncf, capcf; /* solve scratch: component flows */
	struct share *sh;
	uint32_t nsh, capsh;
	uint64_t solves, solved_flows; /* cost figures (tests, benchmarks) */
};

sim_net_t *sim_net_create(sim_queue_t *q, uint32_t nodes, ukf_ns_t latency,
			  double bandwidth, sim_deliver_fn deliver, void *u)
{
	sim_net_t *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->links = calloc(2 * (size_t)(nodes ? nodes : 1), sizeof(*n->links));
	n->nout = calloc(nodes ? nodes : 1, sizeof(*n->nout));
	if (!n->links || !n->nout) {
		free(n->links);
		free(n->nout);
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
	sim_map_init(&n->smalls);
	sim_map_init(&n->pairs);
	n->small_prune = 1024;
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
	while (n->mfree) {
		struct msg *nx = n->mfree->next;
		free(n->mfree);
		n->mfree = nx;
	}
	for (size_t i = 0; i < 2 * (size_t)n->nodes; i++)
		free(n->links[i].heap);
	for (uint32_t i = 0; i < n->nfx; i++)
		free(n->fx[i].fl);
	free(n->fx);
	free(n->fheap);
	free(n->seeds);
	free(n->cl);
	free(n->cf);
	free(n->sh);
	free(n->down);
	free(n->epoch);
	free(n->hold);
	free(n->nout);
	free(n->conns);
	free(n->links);
	sim_map_free(&n->bypair);
	sim_map_free(&n->smalls);
	sim_map_free(&n->pairs);
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
	ukf_ns_t at = now + (dt < 9e18 - (double)now ? (ukf_ns_t)dt
						  : (ukf_ns_t)9e18 - now);
	if (lazy && l->armed <= at)
		return 0;
	l->ver++;
	l->armed = at;
	struct sim_ev ev = { .type = SIM_EV_XFER, .node = li / 2 };
	ev.u.xfer.slot = li;
	ev.u.xfer.ver = l->ver;
	return sim_queue_push(n->q, at, &ev);
}


/* ---- max-min fair flows (sim_net_fabric) ---- */

#define FAIR_SLOT UINT32_MAX /* SIM_EV_XFER of the fair model's one event */

static int grow(void *pp, uint32_t *cap, uint32_t need, size_t sz)
{
	void **p = pp;
	if (need <= *cap)
		return 0;
	uint32_t nc = *cap ? *cap : 8;
	while (nc < need)
		nc *= 2;
	void *np = realloc(*p, sz * nc);
	if (!np)
		return -1;
	*p = np;
	*cap = nc;
	return 0;
}

/* R racks of nodes / R or one more, contiguous: node k in rack
 * floor(k R / nodes) (k / (nodes / R) when R divides the nodes). */
static uint32_t rack_of(const sim_net_t *n, uint32_t node)
{
	return (uint32_t)((uint64_t)node * n->racks / n->nodes);
}

/* The fabric links a transfer from -> to crosses (unlimited ones left
 * out); returns how many. */
static uint32_t fair_path(const sim_net_t *n, uint32_t from, uint32_t to,
			  uint32_t *out)
{
	uint32_t k = 0, N = n->nodes;
	out[k++] = 2 * from + UP;
	if (n->racks && rack_of(n, from) != rack_of(n, to)) {
		uint32_t cand[3] = { 2 * N + 2 * rack_of(n, from) + UP,
				     2 * N + 2 * n->racks,
				     2 * N + 2 * rack_of(n, to) + DN };
		for (int i = 0; i < 3; i++)
			if (isfinite(n->fx[cand[i]].cap))
				out[k++] = cand[i];
	}
	out[k++] = 2 * to + DN;
	return k;
}

static int seed(sim_net_t *n, uint32_t link)
{
	if (grow(&n->seeds, &n->capseeds, n->nseeds + 1, sizeof(uint32_t)) < 0)
		return -1;
	n->seeds[n->nseeds++] = link;
	return 0;
}

/* finish heap: connection slots ordered by (fin, slot) */
static int fh_less(const sim_net_t *n, uint32_t a, uint32_t b)
{
	const struct conn *x = &n->conns[a], *y = &n->conns[b];
	return x->fin < y->fin || (x->fin == y->fin && a < b);
}

static void fh_place(sim_net_t *n, uint32_t i, uint32_t s)
{
	n->fheap[i] = s;
	n->conns[s].hpos = i;
}

static void fh_fix(sim_net_t *n, uint32_t i)
{
	uint32_t s = n->fheap[i];
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (!fh_less(n, s, n->fheap[p]))
			break;
		fh_place(n, i, n->fheap[p]);
		i = p;
	}
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n->nheap)
			break;
		if (c + 1 < n->nheap && fh_less(n, n->fheap[c + 1], n->fheap[c]))
			c++;
		if (!fh_less(n, n->fheap[c], s))
			break;
		fh_place(n, i, n->fheap[c]);
		i = c;
	}
	fh_place(n, i, s);
}

static int fh_set(sim_net_t *n, uint32_t s)
{
	struct conn *c = &n->conns[s];
	if (c->hpos == NONE) {
		if (grow(&n->fheap, &n->capheap, n->nheap + 1,
			 sizeof(uint32_t)) < 0)
			return -1;
		c->hpos = n->nheap++;
		n->fheap[c->hpos] = s;
	}
	fh_fix(n, c->hpos);
	return 0;
}

static void fh_del(sim_net_t *n, uint32_t s)
{
	struct conn *c = &n->conns[s];
	uint32_t i = c->hpos;
	if (i == NONE)
		return;
	c->hpos = NONE;
	uint32_t last = n->fheap[--n->nheap];
	if (i < n->nheap) {
		fh_place(n, i, last);
		fh_fix(n, i);
	}
}

/* The connection's head message becomes a flow (its rate comes from the
 * next solve). */
static int flow_add(sim_net_t *n, uint32_t s, double size, ukf_ns_t now)
{
	struct conn *c = &n->conns[s];
	c->nl = fair_path(n, c->from, c->to, c->fl);
	c->rem = size;
	c->rate = 0;
	c->t = now;
	c->fin = UKF_NS_NEVER;
	c->hpos = NONE;
	c->mark = c->frozen = 0;
	for (uint32_t k = 0; k < c->nl; k++) {
		struct flink *l = &n->fx[c->fl[k]];
		if (grow(&l->fl, &l->capn, l->n + 1, sizeof(uint32_t)) < 0 ||
		    seed(n, c->fl[k]) < 0) {
			for (uint32_t j = 0; j < k; j++) /* undo */
				n->fx[c->fl[j]].n--;
			c->nl = 0;
			return -ENOMEM;
		}
		c->fpos[k] = l->n;
		l->fl[l->n++] = s;
	}
	return 0;
}

/* The flow leaves its links (done or dropped); seeds them. */
static int flow_remove(sim_net_t *n, uint32_t s)
{
	struct conn *c = &n->conns[s];
	int rc = 0;
	fh_del(n, s);
	for (uint32_t k = 0; k < c->nl; k++) {
		uint32_t li = c->fl[k], idx = c->fpos[k];
		struct flink *l = &n->fx[li];
		uint32_t last = l->fl[--l->n];
		if (idx != l->n) {
			struct conn *o = &n->conns[last];
			l->fl[idx] = last;
			for (uint32_t j = 0; j < o->nl; j++)
				if (o->fl[j] == li) {
					o->fpos[j] = idx;
					break;
				}
		}
		rc |= seed(n, li);
	}
	c->nl = 0;
	return rc ? -ENOMEM : 0;
}

static int share_less(const struct share *a, const struct share *b)
{
	return a->s < b->s || (a->s == b->s && a->link < b->link);
}

static int share_push(sim_net_t *n, double sv, uint32_t link, uint32_t ver)
{
	if (grow(&n->sh, &n->capsh, n->nsh + 1, sizeof(*n->sh)) < 0)
		return -1;
	struct share x = { sv, link, ver };
	uint32_t i = n->nsh++;
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (!share_less(&x, &n->sh[p]))
			break;
		n->sh[i] = n->sh[p];
		i = p;
	}
	n->sh[i] = x;
	return 0;
}

static struct share share_pop(sim_net_t *n)
{
	struct share top = n->sh[0], last = n->sh[--n->nsh];
	uint32_t i = 0;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n->nsh)
			break;
		if (c + 1 < n->nsh && share_less(&n->sh[c + 1], &n->sh[c]))
			c++;
		if (!share_less(&n->sh[c], &last))
			break;
		n->sh[i] = n->sh[c];
		i = c;
	}
	if (n->nsh)
		n->sh[i] = last;
	return top;
}

/* Arm the one event at the earliest finish (an event already pending no
 * later than that is kept: it fires early, finds nothing due, re-arms). */
static int fair_arm(sim_net_t *n)
{
	if (!n->nheap) {
		n->fver++;
		n->farmed = UKF_NS_NEVER;
		return 0;
	}
	ukf_ns_t at = n->conns[n->fheap[0]].fin;
	if (n->farmed != UKF_NS_NEVER && n->farmed <= at)
		return 0;
	n->fver++;
	n->farmed = at;
	struct sim_ev ev = { .type = SIM_EV_XFER };
	ev.u.xfer.slot = FAIR_SLOT;
	ev.u.xfer.ver = n->fver;
	return sim_queue_push(n->q, at, &ev) < 0 ? -ENOMEM : 0;
}

/*
 * Max-min fair rates by progressive filling, for the flows connected (by
 * shared links, transitively) to the links changed since the last solve:
 * the rest keep their rates. The link with the least fair share
 * (capacity left / flows not yet fixed) fixes its flows at that share,
 * which is taken from every other link they cross; repeat. Shares only
 * grow as flows are fixed, so a heap with stale entries skipped finds
 * each next bottleneck: O((F P + L) log L) for F flows of P links each.
 */
static int fair_settle(sim_net_t *n, ukf_ns_t now)
{
	if (!n->nseeds)
		return fair_arm(n);
	uint32_t ep = ++n->epoch_solve;
	n->ncl = n->ncf = 0;
	for (uint32_t i = 0; i < n->nseeds; i++) {
		struct flink *l = &n->fx[n->seeds[i]];
		if (l->mark == ep)
			continue;
		l->mark = ep;
		if (grow(&n->cl, &n->capcl, n->ncl + 1, sizeof(uint32_t)) < 0)
			return -ENOMEM;
		n->cl[n->ncl++] = n->seeds[i];
	}
	n->nseeds = 0;
	for (uint32_t i = 0; i < n->ncl; i++) {
		struct flink *l = &n->fx[n->cl[i]];
		for (uint32_t k = 0; k < l->n; k++) {
			uint32_t s = l->fl[k];
			struct conn *c = &n->conns[s];
			if (c->mark == ep)
				continue;
			c->mark = ep;
			if (grow(&n->cf, &n->capcf, n->ncf + 1,
				 sizeof(uint32_t)) < 0)
				return -ENOMEM;
			n->cf[n->ncf++] = s;
			for (uint32_t j = 0; j < c->nl; j++) {
				struct flink *m = &n->fx[c->fl[j]];
				if (m->mark == ep)
					continue;
				m->mark = ep;
				if (grow(&n->cl, &n->capcl, n->ncl + 1,
					 sizeof(uint32_t)) < 0)
					return -ENOMEM;
				n->cl[n->ncl++] = c->fl[j];
			}
		}
	}
	for (uint32_t i = 0; i < n->ncf; i++) {
		struct conn *c = &n->conns[n->cf[i]];
		c->rem -= c->rate * (double)(now - c->t) * 1e-9;
		if (c->rem < 0)
			c->rem = 0;
		c->t = now;
	}
	n->nsh = 0;
	for (uint32_t i = 0; i < n->ncl; i++) {
		struct flink *l = &n->fx[n->cl[i]];
		l->c = l->cap;
		l->un = l->n;
		l->ver = 0;
		if (l->un && share_push(n, l->c / l->un, n->cl[i], 0) < 0)
			return -ENOMEM;
	}
	while (n->nsh) {
		struct share top = share_pop(n);
		struct flink *l = &n->fx[top.link];
		if (top.ver != l->ver || !l->un)
			continue;
		double r = l->c / l->un;
		if (!(r > 0))
			r = l->cap * 1e-12; /* rounding: never a stuck flow */
		for (uint32_t k = 0; k < l->n; k++) {
			struct conn *c = &n->conns[l->fl[k]];
			if (c->frozen == ep)
				continue;
			c->frozen = ep;
			c->rate = r;
			for (uint32_t j = 0; j < c->nl; j++) {
				struct flink *m = &n->fx[c->fl[j]];
				m->c -= r;
				m->un--;
				if (c->fl[j] != top.link && m->un &&
				    share_push(n, m->c / m->un, c->fl[j],
					       ++m->ver) < 0)
					return -ENOMEM;
			}
		}
	}
	for (uint32_t i = 0; i < n->ncf; i++) {
		uint32_t s = n->cf[i];
		struct conn *c = &n->conns[s];
		double dt = c->rem > 0 ? ceil(c->rem / c->rate * 1e9) : 0;
		c->fin = now + (dt < 9e18 - (double)now ? (ukf_ns_t)dt
						       : (ukf_ns_t)9e18 - now);
		if (fh_set(n, s) < 0)
			return -ENOMEM;
	}
	n->solves++;
	n->solved_flows += n->ncf;
	return fair_arm(n);
}

/* Settle once for all the starts of this instant: the one event, now. */
static int fair_defer(sim_net_t *n, ukf_ns_t now)
{
	if (n->farmed == now)
		return 0; /* pending at now already: it settles */
	if (n->farmed != UKF_NS_NEVER && n->farmed < now)
		return fair_settle(n, now); /* a caller ahead of the queue */
	n->fver++;
	n->farmed = now;
	struct sim_ev ev = { .type = SIM_EV_XFER };
	ev.u.xfer.slot = FAIR_SLOT;
	ev.u.xfer.ver = n->fver;
	return sim_queue_push(n->q, now, &ev) < 0 ? -ENOMEM : 0;
}

int sim_net_fabric(sim_net_t *n, uint32_t racks, double rack_bw,
		   double core_bw)
{
	if (!n || n->fair || n->nconns || n->bytes || racks > n->nodes ||
	    !(n->bw > 0) || !isfinite(n->bw) || rack_bw < 0 || core_bw < 0 ||
	    isnan(rack_bw) || isnan(core_bw))
		return -EINVAL;
	uint32_t nfx = 2 * n->nodes + 2 * racks + 1;
	struct flink *fx = calloc(nfx, sizeof(*fx));
	if (!fx)
		return -ENOMEM;
	for (uint32_t i = 0; i < 2 * n->nodes; i++)
		fx[i].cap = n->bw;
	for (uint32_t i = 2 * n->nodes; i < nfx - 1; i++)
		fx[i].cap = rack_bw > 0 ? rack_bw : INFINITY;
	fx[nfx - 1].cap = core_bw > 0 ? core_bw : INFINITY;
	n->fx = fx;
	n->nfx = nfx;
	n->racks = racks;
	n->fair = 1;
	n->farmed = UKF_NS_NEVER;
	return 0;
}

uint32_t sim_net_rack(const sim_net_t *n, ukf_node_id_t node)
{
	return n->racks && node < n->nodes ? rack_of(n, node) : 0;
}

uint64_t sim_net_solves(const sim_net_t *n, uint64_t *flows)
{
	if (flows)
		*flows = n->solved_flows;
	return n->solves;
}

/* The least capacity on the path (a small message's rate). */
static double fair_path_bw(const sim_net_t *n, uint32_t from, uint32_t to)
{
	uint32_t p[5], k = fair_path(n, from, to, p);
	double b = INFINITY;
	for (uint32_t i = 0; i < k; i++)
		if (n->fx[p[i]].cap < b)
			b = n->fx[p[i]].cap;
	return b;
}

/* Put the connection's head message in service on both its links (or,
 * max-min, make it a flow: the caller settles the rates). */
static int conn_start(sim_net_t *n, uint32_t s, ukf_ns_t now)
{
	struct conn *c = &n->conns[s];
	double size = (double)c->head->len + (double)c->head->bulk_len +
		      (double)c->head->bulk;
	if (n->fair)
		return flow_add(n, s, size, now);
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

/* A message with `data` bytes of body and bulk; NULL on ENOMEM. */
static struct msg *msg_get(sim_net_t *n, size_t data)
{
	struct msg *m;

	if (data > MSG_POOL_BYTES - sizeof(*m)) {
		if ((m = malloc(sizeof(*m) + data)))
			m->pooled = 0;
		return m;
	}
	if ((m = n->mfree))
		n->mfree = m->next;
	else if (!(m = malloc(MSG_POOL_BYTES)))
		return NULL;
	m->pooled = 1;
	return m;
}

/* Done with m (delivered or lost). */
static void msg_put(sim_net_t *n, struct msg *m)
{
	if (!m->pooled) {
		free(m);
		return;
	}
	m->next = n->mfree;
	n->mfree = m;
}

static int push_deliver(sim_net_t *n, ukf_ns_t t, struct msg *m)
{
	struct sim_ev ev = { .type = SIM_EV_DELIVER, .node = m->to };
	/* a late message (sim_net_send_late) arrives that much later, and
	 * its pair's later ones not before it; a waking receiver
	 * (sim_net_hold): holds only grow, so messages due in order stay in
	 * order */
	if (__builtin_expect(m->late || n->pairs.count || n->hold, 0) &&
	    m->from != m->to) {
		uint64_t key = (uint64_t)m->from << 32 | m->to, v;
		t += m->late;
		if (n->pairs.count && sim_map_get(&n->pairs, key, &v) &&
		    t < (ukf_ns_t)v)
			t = (ukf_ns_t)v;
		if (n->hold && t < n->hold[m->to])
			t = n->hold[m->to];
		if (m->late) {
			if (sim_map_put(&n->pairs, key, (uint64_t)t) < 0)
				return -1;
			m->late = 0;
			m->paired = 1;
		}
	}
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

/* Max-min mode: when pair `key`'s last small message has left (the
 * pair's entry of smalls), or now if it has already. */
static ukf_ns_t fair_small_free(const sim_net_t *n, uint64_t key,
				ukf_ns_t now)
{
	uint64_t busy;

	if (n->smalls.count && sim_map_get(&n->smalls, key, &busy) &&
	    (ukf_ns_t)busy > now)
		return (ukf_ns_t)busy;
	return now;
}

/*
 * Max-min mode: a small message of `bytes` on pair `key` (from<<32|to)
 * is sent at its size over the path's rate, after the pair's previous
 * small message (a connection sends one message after another): *sent is
 * when it has left, before the latency. Without this a short message
 * sent right after a longer one would overtake it. 0, or -ENOMEM.
 */
static int fair_small_sent(sim_net_t *n, uint64_t key, ukf_ns_t now,
			   double bytes, ukf_ns_t *sent)
{
	ukf_ns_t start = fair_small_free(n, key, now);

	*sent = start + (ukf_ns_t)ceil(bytes / fair_path_bw(n, (uint32_t)(key >> 32),
							     (uint32_t)key) * 1e9);
	if (n->smalls.count >= n->small_prune) {
		if (sim_map_keep_above(&n->smalls, (uint64_t)now) < 0)
			return -ENOMEM;
		n->small_prune = n->smalls.count * 2 > 1024 ? n->smalls.count * 2 : 1024;
	}
	return sim_map_put(&n->smalls, key, (uint64_t)*sent) < 0 ? -ENOMEM : 0;
}

int sim_net_send(sim_net_t *n, ukf_ns_t now, ukf_node_id_t from,
		 ukf_node_id_t to, uint16_t type, const void *buf, size_t len,
		 const void *bulk, size_t bulk_len, uint64_t bulk_bytes)
{
	return sim_net_send_late(n, now, from, to, type, buf, len, bulk,
				 bulk_len, bulk_bytes, 0);
}

__attribute__((hot)) int
sim_net_send_late(sim_net_t *n, ukf_ns_t now, ukf_node_id_t from,
		  ukf_node_id_t to, uint16_t type, const void *buf, size_t len,
		  const void *bulk, size_t bulk_len, uint64_t bulk_bytes,
		  ukf_ns_t late)
{
	if (from >= n->nodes || to >= n->nodes || (len && !buf) ||
	    (bulk_len && !bulk))
		return -EINVAL;
	struct msg *m = msg_get(n, len + bulk_len);
	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->from = from;
	m->to = to;
	m->type = type;
	m->len = len;
	m->bulk_len = bulk_len;
	m->bulk = bulk_bytes;
	m->late = from != to && late > 0 ? late : 0;
	m->paired = 0;
	if (len)
		memcpy(m->data, buf, len);
	if (bulk_len)
		memcpy(m->data + len, bulk, bulk_len);
	len += bulk_len; /* what the links carry: body and bulk */
	m->ep_from = n->epoch ? n->epoch[from] : 0;
	m->ep_to = n->epoch ? n->epoch[to] : 0;
	if (n->down && from != to && (n->down[from] || n->down[to])) {
		msg_put(n, m); /* a cut node's link: lost */
		n->dropped++;
		return 0;
	}

	if (from == to)
		return push_deliver(n, now, m) < 0 ? (msg_put(n, m), -ENOMEM) : 0;
	if (!(n->bw > 0))
		return push_deliver(n, now + n->latency, m) < 0 ? (msg_put(n, m), -ENOMEM) : 0;

	uint64_t key = ((uint64_t)from << 32) | to, v;
	if (n->nout[from] && sim_map_get(&n->bypair, key, &v)) {
		struct conn *c = &n->conns[v];
		c->tail->next = m; /* sent after the ones before it */
		c->tail = m;
		return 0;
	}
	if ((uint64_t)len + bulk_bytes <= SIM_NET_SMALL) {
		ukf_ns_t at = now;
		if (n->fair && fair_small_sent(n, key, now, (double)len +
				(double)bulk_bytes, &at) < 0) {
			msg_put(n, m);
			return -ENOMEM;
		}
		return push_deliver(n, at + n->latency, m) < 0 ? (msg_put(n, m), -ENOMEM) : 0;
	}
	uint32_t s = conn_alloc(n);
	if (s == NONE || sim_map_put(&n->bypair, key, s) < 0) {
		if (s != NONE) {
			n->conns[s].used = 0;
			n->conns[s].next_free = n->free_head;
			n->free_head = s;
		}
		msg_put(n, m);
		return -ENOMEM;
	}
	n->conns[s] = (struct conn){ .from = from, .to = to, .head = m,
				     .tail = m, .used = 1, .next_free = NONE,
				     .hpos = NONE };
	n->open++;
	n->nout[from]++;
	int rc = conn_start(n, s, now);
	if (n->fair)
		rc |= fair_defer(n, now);
	return rc ? -ENOMEM : 0;
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
	/* max-min: not before the pair's small messages sent before it
	 * (fair_small_sent), which it would otherwise overtake */
	uint64_t key = ((uint64_t)c->from << 32) | c->to;
	ukf_ns_t at = n->fair ? fair_small_free(n, key, now) : now;
	if (push_deliver(n, at + n->latency, m) < 0) {
		msg_put(n, m);
		return -ENOMEM;
	}
	if (c->head)
		return conn_start(n, s, now);
	sim_map_del(&n->bypair, key);
	n->nout[c->from]--;
	c->used = 0;
	c->next_free = n->free_head;
	n->free_head = s;
	n->open--;
	return 0;
}

void sim_net_prefetch(const sim_net_t *n, const struct sim_ev *ev)
{
	if (ev->type == SIM_EV_DELIVER) {
		const char *m = ev->u.deliver.msg;

		__builtin_prefetch(m);
		__builtin_prefetch(m + 64);
	} else if (ev->type == SIM_EV_XFER && ev->u.xfer.slot < 2 * n->nodes) {
		__builtin_prefetch(&n->links[ev->u.xfer.slot], 1);
	}
}

int sim_net_event(sim_net_t *n, ukf_ns_t now, const struct sim_ev *ev)
{
	if (ev->type == SIM_EV_DELIVER) {
		struct msg *m = ev->u.deliver.msg;
		if (n->epoch && (m->ep_from != n->epoch[m->from] ||
				 m->ep_to != n->epoch[m->to] ||
				 (m->from != m->to &&
				  (n->down[m->from] || n->down[m->to])))) {
			msg_put(n, m); /* an endpoint was cut since it was sent */
			n->dropped++;
			return 0;
		}
		n->bytes += m->len + m->bulk_len + m->bulk;
		if (m->paired) {
			uint64_t key = (uint64_t)m->from << 32 | m->to, v;
			if (sim_map_get(&n->pairs, key, &v) &&
			    (ukf_ns_t)v <= now)
				sim_map_del(&n->pairs, key);
		}
		n->deliver(n->u, m->to, m->from, m->type, m->data, m->len,
			   m->bulk_len ? m->data + m->len : NULL, m->bulk_len);
		msg_put(n, m);
		return 0;
	}
	if (ev->type != SIM_EV_XFER)
		return 0;
	if (ev->u.xfer.slot == FAIR_SLOT) {
		if (!n->fair || ev->u.xfer.ver != n->fver)
			return 0; /* stale: re-armed since */
		int rc = 0;
		n->farmed = UKF_NS_NEVER;
		while (n->nheap && n->conns[n->fheap[0]].fin <= now) {
			uint32_t s = n->fheap[0];
			rc |= flow_remove(n, s);
			rc |= conn_done(n, s, now);
		}
		rc |= fair_settle(n, now);
		return rc ? -ENOMEM : 0;
	}
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

/* ---- node cuts (failures) ---- */

/* Take slot s out of legacy link li's heap (after advancing its clock). */
static int link_remove(sim_net_t *n, uint32_t li, uint32_t s, ukf_ns_t now)
{
	struct link *l = &n->links[li];
	uint32_t k = 0;
	link_advance(n, l, now);
	for (uint32_t i = 0; i < l->n; i++)
		if (l->heap[i].slot != s)
			l->heap[k++] = l->heap[i];
	l->n = k;
	for (uint32_t i = k / 2; i-- > 0;) { /* heapify */
		uint32_t j = i;
		struct fin x = l->heap[j];
		for (;;) {
			uint32_t c = 2 * j + 1;
			if (c >= k)
				break;
			if (c + 1 < k && (l->heap[c + 1].f < l->heap[c].f ||
					  (l->heap[c + 1].f == l->heap[c].f &&
					   l->heap[c + 1].slot < l->heap[c].slot)))
				c++;
			if (x.f < l->heap[c].f ||
			    (x.f == l->heap[c].f && x.slot < l->heap[c].slot))
				break;
			l->heap[j] = l->heap[c];
			j = c;
		}
		l->heap[j] = x;
	}
	if (!l->n)
		l->v = 0;
	return link_arm(n, li, now, 0);
}

int sim_net_cut(sim_net_t *n, ukf_ns_t now, ukf_node_id_t node, int down)
{
	int rc = 0;

	if (!n || node >= n->nodes)
		return -EINVAL;
	if (!n->down) {
		n->down = calloc(n->nodes, sizeof(*n->down));
		n->epoch = calloc(n->nodes, sizeof(*n->epoch));
		if (!n->down || !n->epoch) {
			free(n->down);
			free(n->epoch);
			n->down = NULL;
			n->epoch = NULL;
			return -ENOMEM;
		}
	}
	if (!down) {
		n->down[node] = 0;
		return 0;
	}
	if (n->down[node])
		return 0;
	n->down[node] = 1;
	n->epoch[node]++; /* what is in flight to or from it is lost */
	for (uint32_t s = 0; s < n->nconns; s++) {
		struct conn *c = &n->conns[s];
		if (!c->used || (c->from != node && c->to != node))
			continue;
		if (n->fair) {
			rc |= flow_remove(n, s);
		} else {
			if (c->pending[0])
				rc |= link_remove(n, 2 * c->from + UP, s, now);
			if (c->pending[1])
				rc |= link_remove(n, 2 * c->to + DN, s, now);
			c = &n->conns[s];
		}
		for (struct msg *m = c->head, *nx; m; m = nx) {
			nx = m->next;
			msg_put(n, m);
			n->dropped++;
		}
		c->head = c->tail = NULL;
		sim_map_del(&n->bypair, ((uint64_t)c->from << 32) | c->to);
		n->nout[c->from]--;
		c->used = 0;
		c->next_free = n->free_head;
		n->free_head = s;
		n->open--;
	}
	if (n->fair)
		rc |= fair_settle(n, now);
	return rc ? -ENOMEM : 0;
}

int sim_net_hold(sim_net_t *n, ukf_node_id_t node, ukf_ns_t until)
{
	if (node >= n->nodes)
		return -EINVAL;
	if (!n->hold && !(n->hold = calloc(n->nodes, sizeof(*n->hold))))
		return -ENOMEM;
	if (until > n->hold[node])
		n->hold[node] = until;
	return 0;
}

int sim_net_is_cut(const sim_net_t *n, ukf_node_id_t node)
{
	return n->down && node < n->nodes && n->down[node];
}

uint64_t sim_net_dropped(const sim_net_t *n)
{
	return n->dropped;
}
