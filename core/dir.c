/* SPDX-License-Identifier: MIT */
/* dir.c - the cluster directory view: versioned records and placement indexes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "dir.h"

/*
 * Indexes are segment trees over node ids (one for all known nodes and,
 * once a query asks for the least loaded holder, one per app for the
 * holders of its template). Each tree node keeps the minimum load key
 * below it and the maximum free vCPUs / memory below it, so a "least
 * loaded with room" query descends only into subtrees that can improve on
 * the best answer found so far and that have room at all. Who holds an
 * app's template is a bitmap (struct hset).
 */
#define KEY_NONE UINT64_MAX

/*
 * One tree node: the minimum load key below it, upper bounds of the free
 * vCPUs and memory below it. 16 bytes on a 16-byte boundary, so the two
 * children of a node share one cache line (and two pairs a line): an
 * update reads one line per level it climbs, a query one per pair of
 * children it looks at, and a tree at 100,000 nodes takes 4 MiB, not 8.
 * (Three arrays, one per value, took three lines each time; at thousands
 * of nodes the lower levels are cold, and every published record walks
 * one tree per template it lists.)
 *
 * Memory is kept in 4 KiB pages rounded up (at most LT_MPAGES_MAX) and
 * vCPUs up to LT_VMAX, so an inner node's values bound its leaves' from
 * above and prune nothing that fits. A leaf whose rounding lost something
 * (memory not a whole number of pages, or either value at its cap) has
 * LT_INEXACT in vfree and is checked against its record (struct
 * ltree.rec); every other leaf is exact as it stands.
 */
struct ltn {
	uint64_t key;	/* (load << 32) | node, KEY_NONE when absent */
	uint32_t vfree; /* leaves: | LT_INEXACT */
	uint32_t mpages;
};
_Static_assert(sizeof(struct ltn) == 16, "struct ltn: four in a cache line");
#define LT_INEXACT    0x80000000u
#define LT_VMAX	      0x7fffffffu
#define LT_MPAGES_MAX 0xffffffffu
#define LT_PAGE_SHIFT 12

struct ltree {
	uint32_t size;	/* leaves (power of two) */
	uint32_t count; /* leaves present */
	struct ltn *n;	/* 2 * size, n[1] the root, on a 64-byte line */
	/* the directory's records, by node: an inexact leaf's values */
	const struct ukf_dir_record *rec;
};

/*
 * The nodes whose record lists one version of one app's template, in node
 * order: ukf_dir_next_holder_version is a binary search in it (walking an
 * app's holders checking each one's version took most of a run's time at
 * 10,000 nodes). A change moves the ids after it, but records change the
 * templates they list far less often than their load. Only an app's first
 * entry in a record counts (as ukf_dir_template_version reads it), and
 * only known versions (non-zero).
 */
/*
 * The nodes holding an app's template (its first or any entry in their
 * record): one bit per node, and one bit per word of them that is not
 * zero, so the next holder round the ring is a find-first-set in a few
 * words. 12.5 KiB per app at 100,000 nodes, where a tree of present
 * leaves, which this replaces, took 4 MiB (2 x 131,072 x 16 bytes).
 */
struct hset {
	uint64_t *w;   /* (nodes + 63) / 64 words; NULL: no holder yet */
	uint64_t *sum; /* bit k: w[k] != 0 */
	uint32_t count;
};

struct vset {
	uint64_t tver; /* 0: an unused slot of the table */
	uint32_t app;
	uint32_t n, cap;
	uint32_t *node;
};

struct ukf_dir {
	uint32_t nodes;
	struct ukf_dir_record *rec;
	struct ltree all;
	struct hset *hsets;	/* per app (w allocated on first holder) */
	struct ltree **holders; /* per app, with holder_loads only */
	uint32_t napps;		/* allocated length of both */
	/*
	 * 0: only the holder sets say who holds what (ukf_dir_next_holder),
	 * so a publish that changes only a node's load walks one tree, not
	 * one more per template it holds. The first query for the least
	 * loaded holder makes a tree per app with holders, with each holder's
	 * leaf from its record (loaded_holders), and 1: from then on
	 * publishes keep the trees too.
	 */
	int holder_loads;
	int oom; /* loaded_holders could not make the trees: the next apply
		    returns -ENOMEM */
	/* open addressing by (app, version), linear probing; a set that
	 * empties keeps its slot (versions are few next to records) */
	struct vset *vs;
	uint32_t vcap, vused; /* vcap a power of two (0: none yet) */
};

#define DIR_MAGIC   0x44464b55u /* "UKFD" little-endian */
#define DIR_VERSION 2 /* 2: a u64 version after each template's app id */
#define DIR_FIXED   48
/* bytes per template: encoding 1 an app id, 2 an app id and a version */
#define DIR_PER_TPL(v) ((v) == 1 ? 4u : 12u)

static int lt_init(struct ltree *t, uint32_t nodes,
		   const struct ukf_dir_record *rec)
{
	uint32_t p = 1;

	while (p < nodes)
		p <<= 1;
	t->size = p;
	t->count = 0;
	t->rec = rec;
	/* 2 * p * 16 bytes: a multiple of 64 (p >= 2 but for one node) */
	t->n = aligned_alloc(64, (sizeof(*t->n) * 2 * p + 63) & ~(size_t)63);
	if (!t->n)
		return -1;
	for (uint32_t i = 0; i < 2 * p; i++)
		t->n[i] = (struct ltn){.key = KEY_NONE};
	return 0;
}

static void lt_free(struct ltree *t)
{
	free(t->n);
	t->n = NULL;
}

uint64_t ukf_dir_load_key(const struct ukf_dir_record *r)
{
	uint64_t uv = 0xffff, um = 0xffff, u, inst;

	if (r->vcpus_total)
		uv = (uint64_t)(r->vcpus_total - r->vcpus_free) * 0xffff /
		     r->vcpus_total;
	if (r->mem_total) {
		uint64_t used = r->mem_total - r->mem_free;
		/* 64-bit unless used * 0xffff would overflow (over 256 TiB):
		 * the same quotient without a call to __udivti3 */
		um = used <= UINT64_MAX / 0xffff
			 ? used * 0xffff / r->mem_total
			 : (uint64_t)((unsigned __int128)used * 0xffff /
				      r->mem_total);
	}
	u = uv > um ? uv : um;
	inst = r->instances < 0xffff ? r->instances : 0xffff;
	return u << 48 | inst << 32 | r->node;
}

/*
 * Set a leaf and fix its ancestors. An inner node is a function of its two
 * children only, so the walk up stops at the first one whose values come
 * out unchanged: the ones above it are already right. (A record changes on
 * every start and end of an instance; most changes stop a few levels up.)
 */
struct leaf {
	uint64_t key, mf;
	uint32_t vf;
};

/* A record's leaf (computed once per record, set in every tree it is in);
 * r NULL: absent. */
static struct leaf leaf_of(const struct ukf_dir_record *r)
{
	struct leaf l = {KEY_NONE, 0, 0};

	if (r) {
		l.key = ukf_dir_load_key(r);
		l.mf = r->mem_free;
		l.vf = r->vcpus_free;
	}
	return l;
}

/* Memory bytes as pages rounded up, at most LT_MPAGES_MAX. */
static inline uint32_t lt_pages(uint64_t bytes)
{
	uint64_t p = (bytes >> LT_PAGE_SHIFT) +
		     ((bytes & ((1u << LT_PAGE_SHIFT) - 1)) != 0);

	return p < LT_MPAGES_MAX ? (uint32_t)p : LT_MPAGES_MAX;
}

static void lt_set(struct ltree *t, uint32_t node, struct leaf lf)
{
	uint32_t i = t->size + node;
	uint64_t key = lf.key;
	uint32_t vf = lf.vf < LT_VMAX ? lf.vf : LT_VMAX;
	uint32_t mp = lt_pages(lf.mf);

	/* exact: the pages times the page size are the bytes, and neither
	 * value reached its cap */
	if (lf.vf >= LT_VMAX || mp == LT_MPAGES_MAX ||
	    ((uint64_t)mp << LT_PAGE_SHIFT) != lf.mf)
		vf |= LT_INEXACT;
	if ((t->n[i].key == KEY_NONE) != (key == KEY_NONE))
		t->count += key == KEY_NONE ? -1u : 1u;
	for (;;) {
		struct ltn *x = &t->n[i];

		if (x->key == key && x->vfree == vf && x->mpages == mp)
			return;
		x->key = key;
		x->vfree = vf;
		x->mpages = mp;
		if ((i >>= 1) == 0)
			return;
		const struct ltn *l = &t->n[2 * i], *rr = l + 1;
		uint32_t lv = l->vfree & ~LT_INEXACT, rv = rr->vfree & ~LT_INEXACT;
		key = l->key < rr->key ? l->key : rr->key;
		vf = lv > rv ? lv : rv;
		mp = l->mpages > rr->mpages ? l->mpages : rr->mpages;
	}
}

/* What a query asks, in the trees' units, capped as the trees' values are
 * (a request at a cap passes only inexact leaves, checked exactly). */
struct need {
	uint32_t v;  /* vCPUs, at most LT_VMAX */
	uint32_t mp; /* pages, rounded up */
};

static struct need need_of(uint32_t vcpus, uint64_t mem)
{
	struct need n = {vcpus < LT_VMAX ? vcpus : LT_VMAX, lt_pages(mem)};

	return n;
}

/* Whether subtree x may hold a leaf with room for n (upper bounds). */
static inline int lt_room(const struct ltn *x, const struct need *n)
{
	return (x->vfree & ~LT_INEXACT) >= n->v && x->mpages >= n->mp;
}

/* Whether leaf `node` (present, lt_room true) is an answer: not the
 * excluded node, and room for vcpus and mem (an exact leaf already said
 * so, an inexact one asks its record). */
static inline int lt_takes(const struct ltree *t, uint32_t node,
			   ukf_node_id_t exclude, uint32_t vcpus, uint64_t mem)
{
	const struct ltn *x = &t->n[t->size + node];

	if (node == exclude)
		return 0;
	if (!(x->vfree & LT_INEXACT))
		return 1;
	return t->rec[node].vcpus_free >= vcpus && t->rec[node].mem_free >= mem;
}

struct query {
	uint32_t v;
	uint64_t m;
	uint64_t best;
	ukf_node_id_t exclude;
	struct need need;
};

static void lt_least(const struct ltree *t, uint32_t i, struct query *q)
{
	const struct ltn *x = &t->n[i];

	if (x->key >= q->best || !lt_room(x, &q->need))
		return;
	if (i >= t->size) {
		uint32_t node = (uint32_t)(x->key & 0xffffffffu);
		if (lt_takes(t, node, q->exclude, q->v, q->m))
			q->best = x->key;
		return;
	}
	if (t->n[2 * i + 1].key < t->n[2 * i].key) {
		lt_least(t, 2 * i + 1, q);
		lt_least(t, 2 * i, q);
	} else {
		lt_least(t, 2 * i, q);
		lt_least(t, 2 * i + 1, q);
	}
}

struct first_q {
	uint32_t v;
	uint64_t m;
	uint64_t maxclass; /* load key >> 32 at most this */
	ukf_node_id_t exclude;
	struct need need; /* need_of(v, m) */
};

/* Whether subtree i may hold a leaf that fits q (its minimum and maxima
 * may come from different leaves: a leaf is checked on its own). */
static inline int lt_fits(const struct ltn *x, const struct first_q *q)
{
	return x->key != KEY_NONE && (x->key >> 32) <= q->maxclass &&
	       lt_room(x, &q->need);
}

/*
 * The first leaf index >= lo that fits q, -1 if none. Bottom-up: from the
 * leaf lo, the subtrees right of it in index order (climb while a right
 * child, then the right sibling), descending into one that may fit, down
 * its leftmost branch that may; a dead end or the excluded leaf goes on
 * with the subtree after it. The same answer as a depth-first search from
 * the root, but an answer near lo (usual: the round-robin cursor sits
 * among the least loaded) reads the few lines around it instead of a
 * path from the root, whose lower levels are cold in a large cluster.
 */
static int64_t lt_first(const struct ltree *t, uint32_t lo,
			const struct first_q *q)
{
	uint32_t i;

	if (lo >= t->size)
		return -1;
	i = t->size + lo;
	for (;;) {
		if (lt_fits(&t->n[i], q)) {
			while (i < t->size) {
				if (lt_fits(&t->n[2 * i], q))
					i = 2 * i;
				else if (lt_fits(&t->n[2 * i + 1], q))
					i = 2 * i + 1;
				else
					break;
			}
			if (i >= t->size &&
			    lt_takes(t, i - t->size, q->exclude, q->v, q->m))
				return (int64_t)(i - t->size);
		}
		while (i & 1)
			i >>= 1;
		if (!i)
			return -1;
		i++;
	}
}

/* lt_first from `from`, wrapping around to 0. */
static ukf_node_id_t lt_first_wrap(const struct ltree *t, uint32_t nodes,
				   const struct first_q *q, ukf_node_id_t from)
{
	uint32_t lo = from < nodes ? from : 0;
	int64_t r;

	if (!t || !t->count)
		return UKF_NODE_NONE;
	r = lt_first(t, lo, q);
	if (r < 0 && lo > 0)
		r = lt_first(t, 0, q);
	return r < 0 ? UKF_NODE_NONE : (ukf_node_id_t)r;
}

ukf_dir_t *ukf_dir_create(uint32_t nodes)
{
	ukf_dir_t *d;

	if (nodes == 0)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->nodes = nodes;
	d->rec = calloc(nodes, sizeof(*d->rec));
	if (!d->rec || lt_init(&d->all, nodes, d->rec) < 0) {
		ukf_dir_destroy(&d);
		return NULL;
	}
	for (uint32_t i = 0; i < nodes; i++)
		d->rec[i].node = i;
	return d;
}

void ukf_dir_destroy(ukf_dir_t **dp)
{
	ukf_dir_t *d = dp ? *dp : NULL;

	if (!d)
		return;
	for (uint32_t a = 0; a < d->napps; a++) {
		if (d->holders[a]) {
			lt_free(d->holders[a]);
			free(d->holders[a]);
		}
		free(d->hsets[a].w);
		free(d->hsets[a].sum);
	}
	free(d->holders);
	free(d->hsets);
	for (uint32_t k = 0; k < d->vcap; k++)
		free(d->vs[k].node);
	free(d->vs);
	lt_free(&d->all);
	free(d->rec);
	free(d);
	*dp = NULL;
}

size_t ukf_dir_encode(const struct ukf_dir_record *r, void *buf, size_t cap)
{
	uint8_t *p = buf;
	size_t n;

	if (!r || r->ntemplates > UKF_DIR_MAX_TEMPLATES)
		return 0;
	n = DIR_FIXED + DIR_PER_TPL(DIR_VERSION) * (size_t)r->ntemplates;
	if (!buf || cap < n)
		return 0;
	ukf_put32(p, DIR_MAGIC);
	ukf_put32(p + 4, DIR_VERSION | (uint32_t)r->ntemplates << 16);
	ukf_put32(p + 8, r->node);
	ukf_put32(p + 12, r->instances);
	ukf_put64(p + 16, r->version);
	ukf_put32(p + 24, r->vcpus_total);
	ukf_put32(p + 28, r->vcpus_free);
	ukf_put64(p + 32, r->mem_total);
	ukf_put64(p + 40, r->mem_free);
	for (uint32_t i = 0; i < r->ntemplates; i++) {
		ukf_put32(p + DIR_FIXED + 12 * i, r->templates[i]);
		ukf_put64(p + DIR_FIXED + 12 * i + 4, r->tvers[i]);
	}
	return n;
}

static int has_app(const struct ukf_dir_record *r, uint32_t app)
{
	for (uint32_t i = 0; i < r->ntemplates; i++)
		if (r->templates[i] == app)
			return 1;
	return 0;
}

static uint32_t hs_words(uint32_t nodes)
{
	return (nodes + 63) / 64;
}

/* Node's bit in h (allocated) on or off. */
static void hs_put(struct hset *h, uint32_t node, int on)
{
	uint32_t k = node / 64;
	uint64_t b = 1ULL << (node % 64);

	if (!(h->w[k] & b) == !on)
		return;
	h->w[k] ^= b;
	h->count += on ? 1u : -1u;
	if (h->w[k])
		h->sum[k / 64] |= 1ULL << (k % 64);
	else
		h->sum[k / 64] &= ~(1ULL << (k % 64));
}

/* The first node >= lo in h, -1 if none (h allocated, nwords words). */
static int64_t hs_next(const struct hset *h, uint32_t nwords, uint32_t lo)
{
	uint32_t k = lo / 64, j;
	uint64_t x;

	if (k >= nwords)
		return -1;
	x = h->w[k] & (~0ULL << (lo % 64));
	if (x)
		return (int64_t)k * 64 + __builtin_ctzll(x);
	/* the next non-zero word after k, from the summary */
	k++;
	for (j = k / 64; j < (nwords + 63) / 64; j++, k = j * 64) {
		uint64_t s = k % 64 ? h->sum[j] & (~0ULL << (k % 64)) : h->sum[j];

		if (s) {
			k = j * 64 + (uint32_t)__builtin_ctzll(s);
			return (int64_t)k * 64 + __builtin_ctzll(h->w[k]);
		}
	}
	return -1;
}

/* Room for app in the per-app arrays, its holder set, and with
 * holder_loads its tree. -1 on ENOMEM (what existed is unchanged). */
static int holder_room(ukf_dir_t *d, uint32_t app)
{
	if (app >= d->napps) {
		uint32_t n = d->napps ? d->napps : 16;
		while (n <= app)
			n *= 2;
		struct ltree **h = realloc(d->holders, n * sizeof(*h));
		if (!h)
			return -1;
		memset(h + d->napps, 0, (n - d->napps) * sizeof(*h));
		d->holders = h;
		struct hset *hs = realloc(d->hsets, n * sizeof(*hs));
		if (!hs)
			return -1; /* holders is longer: harmless */
		memset(hs + d->napps, 0, (n - d->napps) * sizeof(*hs));
		d->hsets = hs;
		d->napps = n;
	}
	struct hset *hs = &d->hsets[app];
	if (!hs->w) {
		uint32_t nw = hs_words(d->nodes);
		hs->w = calloc(nw, sizeof(*hs->w));
		hs->sum = calloc((nw + 63) / 64, sizeof(*hs->sum));
		if (!hs->w || !hs->sum) {
			free(hs->w);
			free(hs->sum);
			*hs = (struct hset){0};
			return -1;
		}
	}
	if (d->holder_loads && !d->holders[app]) {
		struct ltree *t = calloc(1, sizeof(*t));
		if (!t || lt_init(t, d->nodes, d->rec) < 0) {
			free(t);
			return -1;
		}
		d->holders[app] = t;
	}
	return 0;
}

static uint32_t vs_slot(uint32_t app, uint64_t tver, uint32_t cap)
{
	uint64_t h = (tver ^ (uint64_t)app << 32) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h >> 32) & (cap - 1);
}

/* The set of (app, tver), NULL if there is none. */
static struct vset *vs_find(const ukf_dir_t *d, uint32_t app, uint64_t tver)
{
	if (!d->vcap)
		return NULL;
	for (uint32_t i = vs_slot(app, tver, d->vcap);; i = (i + 1) & (d->vcap - 1)) {
		struct vset *v = &d->vs[i];

		if (!v->tver)
			return NULL;
		if (v->tver == tver && v->app == app)
			return v;
	}
}

/* Double the table (or make one). -1 on ENOMEM, the table unchanged. */
static int vs_grow(ukf_dir_t *d)
{
	uint32_t cap = d->vcap ? 2 * d->vcap : 64;
	struct vset *vs = calloc(cap, sizeof(*vs));

	if (!vs)
		return -1;
	for (uint32_t k = 0; k < d->vcap; k++) {
		const struct vset *v = &d->vs[k];
		uint32_t i = vs_slot(v->app, v->tver, cap);

		if (!v->tver)
			continue;
		while (vs[i].tver)
			i = (i + 1) & (cap - 1);
		vs[i] = *v;
	}
	free(d->vs);
	d->vs = vs;
	d->vcap = cap;
	return 0;
}

/*
 * Make sure the set of (app, tver) exists with room for one more node, so
 * that vs_add cannot fail. -1 on ENOMEM. Moves the sets: pointers to them
 * taken before do not hold.
 */
static int vs_reserve(ukf_dir_t *d, uint32_t app, uint64_t tver)
{
	struct vset *v = vs_find(d, app, tver);

	if (!v) {
		if (2 * (d->vused + 1) > d->vcap && vs_grow(d) < 0)
			return -1;
		uint32_t i = vs_slot(app, tver, d->vcap);
		while (d->vs[i].tver)
			i = (i + 1) & (d->vcap - 1);
		v = &d->vs[i];
		*v = (struct vset){.tver = tver, .app = app};
		d->vused++;
	}
	if (v->n == v->cap) {
		uint32_t cap = v->cap ? 2 * v->cap : 4;
		uint32_t *a = realloc(v->node, cap * sizeof(*a));

		if (!a)
			return -1;
		v->node = a;
		v->cap = cap;
	}
	return 0;
}

/* Index of the first id >= node in v (v->n if none). */
static uint32_t vs_lower(const struct vset *v, uint32_t node)
{
	uint32_t lo = 0, hi = v->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (v->node[mid] < node)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Add node to the set of (app, tver), reserved by vs_reserve before. */
static void vs_add(ukf_dir_t *d, uint32_t app, uint64_t tver, uint32_t node)
{
	struct vset *v = vs_find(d, app, tver);
	uint32_t i = vs_lower(v, node);

	if (i < v->n && v->node[i] == node)
		return;
	memmove(&v->node[i + 1], &v->node[i], (v->n - i) * sizeof(*v->node));
	v->node[i] = node;
	v->n++;
}

static void vs_del(ukf_dir_t *d, uint32_t app, uint64_t tver, uint32_t node)
{
	struct vset *v = vs_find(d, app, tver);
	uint32_t i = v ? vs_lower(v, node) : 0;

	if (!v || i == v->n || v->node[i] != node)
		return;
	memmove(&v->node[i], &v->node[i + 1], (v->n - i - 1) * sizeof(*v->node));
	v->n--;
}

/* The version r lists for app (its first entry of app; 0: none). */
static uint64_t listed_version(const struct ukf_dir_record *r, uint32_t app)
{
	for (uint32_t i = 0; i < r->ntemplates; i++)
		if (r->templates[i] == app)
			return r->tvers[i];
	return 0;
}

/* Is entry i of r what the version index holds for r's node? */
static int indexed(const struct ukf_dir_record *r, uint32_t i)
{
	if (!r->tvers[i])
		return 0;
	for (uint32_t j = 0; j < i; j++)
		if (r->templates[j] == r->templates[i])
			return 0;
	return 1;
}

/* Do a and b list the same templates with the same versions, in the same
 * order? (Most records change only the load.) */
static int same_templates(const struct ukf_dir_record *a,
			  const struct ukf_dir_record *b)
{
	return a->ntemplates == b->ntemplates &&
	       !memcmp(a->templates, b->templates, 4 * (size_t)a->ntemplates) &&
	       !memcmp(a->tvers, b->tvers, 8 * (size_t)a->ntemplates);
}

/* Before r replaces old (its node's record): make every holder set (and
 * with holder_loads, tree) and version set r enters, with room for it. -1
 * on ENOMEM, the view's answers unchanged. */
static int templates_reserve(ukf_dir_t *d, const struct ukf_dir_record *old,
			     const struct ukf_dir_record *r)
{
	for (uint32_t i = 0; i < r->ntemplates; i++)
		if (holder_room(d, r->templates[i]) < 0 ||
		    (indexed(r, i) &&
		     listed_version(old, r->templates[i]) != r->tvers[i] &&
		     vs_reserve(d, r->templates[i], r->tvers[i]) < 0))
			return -1;
	return 0;
}

/* r replaces old: the node leaves the holder sets (and trees) and version
 * sets of what old lists and r does not, and enters the version sets of
 * what r lists and old does not (templates_reserve made room; the holder
 * sets and trees it enters are set after, the trees with its leaf). */
static void templates_move(ukf_dir_t *d, const struct ukf_dir_record *old,
			   const struct ukf_dir_record *r)
{
	for (uint32_t i = 0; i < old->ntemplates; i++) {
		if (!has_app(r, old->templates[i])) {
			hs_put(&d->hsets[old->templates[i]], r->node, 0);
			if (d->holder_loads)
				lt_set(d->holders[old->templates[i]], r->node,
				       leaf_of(NULL));
		}
		if (indexed(old, i) &&
		    listed_version(r, old->templates[i]) != old->tvers[i])
			vs_del(d, old->templates[i], old->tvers[i], r->node);
	}
	for (uint32_t i = 0; i < r->ntemplates; i++)
		if (indexed(r, i) &&
		    listed_version(old, r->templates[i]) != r->tvers[i])
			vs_add(d, r->templates[i], r->tvers[i], r->node);
}

int ukf_dir_apply(ukf_dir_t *d, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	struct ukf_dir_record r;
	struct ukf_dir_record *old;
	uint32_t w, enc;
	int same;

	if (!d || !buf || len < DIR_FIXED)
		return -1;
	if (d->oom)
		return -ENOMEM;
	w = ukf_get32(p + 4);
	enc = w & 0xffff;
	if (ukf_get32(p) != DIR_MAGIC || enc < 1 || enc > DIR_VERSION)
		return -1;
	memset(&r, 0, offsetof(struct ukf_dir_record, templates));
	r.ntemplates = w >> 16;
	if (r.ntemplates > UKF_DIR_MAX_TEMPLATES ||
	    len != DIR_FIXED + DIR_PER_TPL(enc) * (size_t)r.ntemplates)
		return -1;
	r.node = ukf_get32(p + 8);
	r.instances = ukf_get32(p + 12);
	r.version = ukf_get64(p + 16);
	r.vcpus_total = ukf_get32(p + 24);
	r.vcpus_free = ukf_get32(p + 28);
	r.mem_total = ukf_get64(p + 32);
	r.mem_free = ukf_get64(p + 40);
	if (r.node >= d->nodes || r.version == 0 ||
	    r.vcpus_free > r.vcpus_total || r.mem_free > r.mem_total)
		return -1;
	for (uint32_t i = 0; i < r.ntemplates; i++) {
		const uint8_t *q = p + DIR_FIXED + DIR_PER_TPL(enc) * i;
		r.templates[i] = ukf_get32(q);
		r.tvers[i] = enc == 1 ? 0 : ukf_get64(q + 4);
		if (r.templates[i] >= UKF_DIR_MAX_APPS)
			return -1;
	}
	old = &d->rec[r.node];
	if (r.version <= old->version)
		return 0; /* older or same: ignored */
	same = same_templates(old, &r);
	if (!same && templates_reserve(d, old, &r) < 0)
		return -ENOMEM; /* the view as it was */
	if (!same)
		templates_move(d, old, &r);
	/* *old = r, writing only what the records use: the templates past
	 * ntemplates are zero in both (calloc, forget and this keep it so) */
	if (old->ntemplates > r.ntemplates) {
		memset(&old->templates[r.ntemplates], 0,
		       4 * (size_t)(old->ntemplates - r.ntemplates));
		memset(&old->tvers[r.ntemplates], 0,
		       8 * (size_t)(old->ntemplates - r.ntemplates));
	}
	memcpy(old, &r,
	       offsetof(struct ukf_dir_record, templates) +
		   4 * (size_t)r.ntemplates);
	memcpy(old->tvers, r.tvers, 8 * (size_t)r.ntemplates);
	struct leaf lf = leaf_of(old);
	lt_set(&d->all, r.node, lf);
	if (!same)
		for (uint32_t i = 0; i < r.ntemplates; i++)
			hs_put(&d->hsets[r.templates[i]], r.node, 1);
	if (d->holder_loads)
		for (uint32_t i = 0; i < r.ntemplates; i++)
			lt_set(d->holders[r.templates[i]], r.node, lf);
	return 0;
}

void ukf_dir_forget(ukf_dir_t *d, ukf_node_id_t node)
{
	struct ukf_dir_record *old;

	if (!d || node >= d->nodes)
		return;
	old = &d->rec[node];
	for (uint32_t i = 0; i < old->ntemplates; i++) {
		if (d->hsets[old->templates[i]].w)
			hs_put(&d->hsets[old->templates[i]], node, 0);
		if (d->holders[old->templates[i]])
			lt_set(d->holders[old->templates[i]], node,
			       leaf_of(NULL));
		if (indexed(old, i))
			vs_del(d, old->templates[i], old->tvers[i], node);
	}
	lt_set(&d->all, node, leaf_of(NULL));
	memset(old, 0, sizeof(*old));
	old->node = node;
}

void ukf_dir_prefetch(const ukf_dir_t *d, ukf_node_id_t node)
{
	if (!d || node >= d->nodes)
		return;
	const struct ukf_dir_record *r = &d->rec[node];
	uint32_t i = d->all.size + node;

	/* the record's head and templates (up to 8 of them) and their
	 * versions: records do not start on a line, so each may span one
	 * line more */
	__builtin_prefetch(r, 1);
	__builtin_prefetch((const char *)&r->templates[8] - 1, 1);
	__builtin_prefetch(&r->tvers[0], 1);
	__builtin_prefetch(&r->tvers[7], 1);
	/* the leaf, and the lines of its parent and grandparent, where most
	 * walks up stop (lt_set) */
	__builtin_prefetch(&d->all.n[i], 1);
	__builtin_prefetch(&d->all.n[i >> 1], 1);
	__builtin_prefetch(&d->all.n[i >> 2], 1);
}

uint32_t ukf_dir_nodes(const ukf_dir_t *d)
{
	return d ? d->nodes : 0;
}

const struct ukf_dir_record *ukf_dir_get(const ukf_dir_t *d, ukf_node_id_t node)
{
	if (!d || node >= d->nodes)
		return NULL;
	return &d->rec[node];
}

int ukf_dir_fits(const struct ukf_dir_record *r, uint32_t vcpus, uint64_t mem)
{
	return r && r->version > 0 && r->vcpus_free >= vcpus &&
	       r->mem_free >= mem;
}

static ukf_node_id_t least(const struct ltree *t, uint32_t vcpus, uint64_t mem,
			   ukf_node_id_t exclude)
{
	struct query q = {vcpus, mem, KEY_NONE, exclude, need_of(vcpus, mem)};

	if (!t || !t->count)
		return UKF_NODE_NONE;
	/* the least loaded of all, when it has room and is not excluded
	 * (most queries): one leaf read instead of a walk from the root */
	uint64_t k = t->n[1].key;
	uint32_t node = (uint32_t)(k & 0xffffffffu);
	const struct ltn *x = &t->n[t->size + node];
	if (lt_room(x, &q.need) && lt_takes(t, node, exclude, vcpus, mem))
		return (ukf_node_id_t)node;
	lt_least(t, 1, &q);
	return q.best == KEY_NONE ? UKF_NODE_NONE
				  : (ukf_node_id_t)(q.best & 0xffffffffu);
}

ukf_node_id_t ukf_dir_least_loaded(const ukf_dir_t *d, uint32_t vcpus,
				   uint64_t mem, ukf_node_id_t exclude)
{
	return d ? least(&d->all, vcpus, mem, exclude) : UKF_NODE_NONE;
}

/*
 * App's holder tree with each holder's load (NULL: no holder yet). The
 * first call makes a tree for every app with holders and sets each
 * holder's leaf (struct ukf_dir): a query of a const view changes how it
 * keeps its indexes, never what it answers. Without memory for the trees
 * it answers NULL and the view's next apply fails with -ENOMEM.
 */
static const struct ltree *loaded_holders(const ukf_dir_t *cd, uint32_t app)
{
	ukf_dir_t *d = (ukf_dir_t *)cd;

	if (d->oom)
		return NULL;
	if (!d->holder_loads) {
		for (uint32_t a = 0; a < d->napps; a++) {
			struct ltree *t;

			if (!d->hsets[a].w)
				continue;
			t = calloc(1, sizeof(*t));
			if (!t || lt_init(t, d->nodes, d->rec) < 0) {
				free(t);
				d->oom = 1;
				return NULL;
			}
			d->holders[a] = t;
		}
		for (uint32_t n = 0; n < d->nodes; n++) {
			const struct ukf_dir_record *r = &d->rec[n];
			struct leaf lf = leaf_of(r);

			for (uint32_t i = 0; r->version && i < r->ntemplates;
			     i++)
				lt_set(d->holders[r->templates[i]], n, lf);
		}
		d->holder_loads = 1;
	}
	return app < d->napps ? d->holders[app] : NULL;
}

ukf_node_id_t ukf_dir_least_loaded_holder(const ukf_dir_t *d, uint32_t app,
					  uint32_t vcpus, uint64_t mem,
					  ukf_node_id_t exclude)
{
	if (!d || app >= d->napps)
		return UKF_NODE_NONE;
	return least(loaded_holders(d, app), vcpus, mem, exclude);
}

uint32_t ukf_dir_holders(const ukf_dir_t *d, uint32_t app)
{
	if (!d || app >= d->napps)
		return 0;
	return d->hsets[app].count;
}

ukf_node_id_t ukf_dir_next_fit(const ukf_dir_t *d, ukf_node_id_t from,
			       uint32_t vcpus, uint64_t mem)
{
	struct first_q q = {vcpus, mem, UINT64_MAX, UKF_NODE_NONE,
			    need_of(vcpus, mem)};

	return d ? lt_first_wrap(&d->all, d->nodes, &q, from) : UKF_NODE_NONE;
}

ukf_node_id_t ukf_dir_next_fit_holder(const ukf_dir_t *d, uint32_t app,
				      ukf_node_id_t from, uint32_t vcpus,
				      uint64_t mem)
{
	struct first_q q = {vcpus, mem, UINT64_MAX, UKF_NODE_NONE,
			    need_of(vcpus, mem)};

	if (!d || app >= d->napps || !d->hsets[app].count)
		return UKF_NODE_NONE;
	return lt_first_wrap(loaded_holders(d, app), d->nodes, &q, from);
}

int ukf_dir_lists(const struct ukf_dir_record *r, uint32_t app)
{
	return r && has_app(r, app);
}

/* Among the least loaded class, the first at or after `from`. */
static ukf_node_id_t least_from(const ukf_dir_t *d, const struct ltree *t,
				uint32_t vcpus, uint64_t mem,
				ukf_node_id_t from, ukf_node_id_t exclude)
{
	ukf_node_id_t best = least(t, vcpus, mem, exclude);
	struct first_q q = {vcpus, mem, 0, exclude, need_of(vcpus, mem)};

	if (best == UKF_NODE_NONE)
		return best;
	q.maxclass = ukf_dir_load_key(&d->rec[best]) >> 32;
	return lt_first_wrap(t, d->nodes, &q, from);
}

ukf_node_id_t ukf_dir_least_loaded_from(const ukf_dir_t *d, uint32_t vcpus,
					uint64_t mem, ukf_node_id_t from)
{
	return d ? least_from(d, &d->all, vcpus, mem, from, UKF_NODE_NONE)
		 : UKF_NODE_NONE;
}

ukf_node_id_t ukf_dir_least_loaded_holder_from(const ukf_dir_t *d, uint32_t app,
					       uint32_t vcpus, uint64_t mem,
					       ukf_node_id_t from)
{
	if (!d || app >= d->napps || !d->hsets[app].count)
		return UKF_NODE_NONE;
	return least_from(d, loaded_holders(d, app), vcpus, mem, from,
			  UKF_NODE_NONE);
}

ukf_node_id_t ukf_dir_next_holder(const ukf_dir_t *d, uint32_t app,
				  ukf_node_id_t from, ukf_node_id_t exclude)
{
	const struct hset *h;
	uint32_t nw, lo;
	int64_t r;

	if (!d || app >= d->napps || !d->hsets[app].count)
		return UKF_NODE_NONE;
	h = &d->hsets[app];
	nw = hs_words(d->nodes);
	lo = from < d->nodes ? from : 0;
	/* the first holder from lo round the ring, exclude skipped */
	r = hs_next(h, nw, lo);
	if (r >= 0 && (ukf_node_id_t)r == exclude)
		r = hs_next(h, nw, exclude + 1);
	if (r < 0 && lo > 0) {
		r = hs_next(h, nw, 0);
		if (r >= 0 && (ukf_node_id_t)r == exclude)
			r = hs_next(h, nw, exclude + 1);
	}
	return r < 0 ? UKF_NODE_NONE : (ukf_node_id_t)r;
}

uint64_t ukf_dir_template_version(const ukf_dir_t *d, ukf_node_id_t node,
				  uint32_t app)
{
	const struct ukf_dir_record *r = ukf_dir_get(d, node);

	for (uint32_t i = 0; r && i < r->ntemplates; i++)
		if (r->templates[i] == app)
			return r->tvers[i];
	return 0;
}

ukf_node_id_t ukf_dir_next_holder_version(const ukf_dir_t *d, uint32_t app,
					  uint64_t tver, ukf_node_id_t from,
					  ukf_node_id_t exclude)
{
	const struct vset *v = d && tver ? vs_find(d, app, tver) : NULL;
	uint32_t i;

	if (!v || !v->n)
		return UKF_NODE_NONE;
	/* the first in ring order from `from` (0 past the last node) */
	i = vs_lower(v, from < d->nodes ? from : 0);
	for (uint32_t k = 0; k < v->n && k < 2; k++, i++) {
		ukf_node_id_t n = v->node[i < v->n ? i : i - v->n];

		if (n != exclude)
			return n;
	}
	return UKF_NODE_NONE;
}
