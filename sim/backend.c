/* SPDX-License-Identifier: MIT */
/* backend.c - the simulated VM backend: the `synth` app's life with modeled costs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/engine.h"
#include "sim_int.h"

/*
 * Each instance runs the synth app (struct ukf_app, possibly overridden by
 * the instance's own key=value args):
 *   cold boot: STARTED after boot_base_ns + image * boot_ns_per_byte, then
 *   READY after max(init, mem * boot_ns_per_mem_byte): like synth.c, the
 *   init touches all of mem and spins until init has passed since it began,
 *   so the two overlap (one jitter draw for the longer of the two);
 *   STARTED, READY (paused until complete()), then per unit of work:
 *   work_ns (+ touch_ns_per_page * dirty per unit in a clone) and `dirty`
 *   pages dirtied, then CALL FORK `fork` times (each paused), then CALL
 *   WAIT (arg_id 0) once per child whose fork succeeded (ret > 0), and after
 *   the last unit EXIT: 0, or 1 if a fork or a wait failed (a wait that
 *   returned an error or a child status other than 0), as the real
 *   guest/apps/synth.c does. A fork child (clone_live / restore_delta) is
 *   paused in its fork call after STARTED; once completed it does one unit
 *   and exits 0. A template clone resumes at READY.
 * Every step that the engine must hear about is an event on the queue, so
 * callbacks never happen inside a backend call. Pending steps carry the
 * instance's generation; a destroyed instance's steps are dropped.
 *
 * Costs and injected faults (cfg.faults) are drawn by identity (common
 * random numbers): each instance has an identity - a workload request's
 * number among the workload's requests (world.c), a fork child's its
 * parent's identity and the fork call's position in the parent's run,
 * else one made from its id - and an operation's jitter or fault draw is
 * the position made of that identity (and the draw's number: the unit,
 * the fork) in the stream of that operation (sim_rng_at). The same
 * request's start, init, units and delta saves cost the same, and it
 * fails the same way, in every configuration of a sweep, whatever node it
 * lands on and whatever ran there before. A fault probability of 0 draws
 * nothing. Only template loads (no instance) jitter from their node's
 * stream.
 *
 * Host contention beyond CPU (model keys, all off by default; README
 * "Agent, monitor and memory"): with agent_msg_ns > 0 every step that the
 * engine hears about is first served by its host's agent, one FIFO server
 * busy agent_msg_ns per event; with monitor_slots > 0 the monitor
 * operations (template clone, live fork, restore, delta save, template
 * make and load) are jobs of a FIFO queue with that many servers, each
 * busy for the operation's cost (cold boots start in their own VM thread,
 * as on KVM, and do not queue). Both share one queue per host, whose
 * servers are monitor_slots (1 when only the agent is modeled): with 1,
 * monitor work and messages take turns, as on the live engine's one
 * event-loop thread. A job's end is its step event with F_DONE set; a
 * message served has F_MSG set. Memory: every host counts the private
 * pages of its instances (a cold boot its whole memory, a clone or fork
 * child the pages it has dirtied since its template: copy-on-write) and
 * its templates' bytes; with host_mem_bytes > 0 an operation that would
 * pass it is refused with -ENOMEM.
 */

#define NONE UINT32_MAX
#define PAGE 4096ULL
#define DELTA_MAGIC 0x31445355u /* "USD1" */

/* Bits of a queued event's step (SIM_EV_INST) or fail (SIM_EV_TEMPLATE)
 * field above the value itself (F_VAL). */
#define F_DONE 0x10000u /* ends a job: one of its host's servers is free */
#define F_MSG 0x20000u  /* its host's agent has served it: deliver it */
#define F_VAL 0xffffu

enum step {
	ST_STARTED = 1,
	ST_READY,
	ST_UNIT,
	ST_CALL_FORK,
	ST_CALL_WAIT,
	ST_EXIT,
	ST_DELTA,
	ST_FAULT /* an injected start failure: UKF_BE_ERROR */
};

/* What a cost or fault draw is for: the op of its stream's key. */
enum op {
	OP_START = 1, /* boot, template clone, live fork or restore */
	OP_READY,     /* (a cold boot's init: drawn with OP_START's key since
		       * 2026-12-08; kept, so the later ops keep their keys) */
	OP_UNIT,      /* a unit of work (index: identity + unit) */
	OP_SAVE,      /* encoding a remote fork's delta */
	OP_MAKE,      /* taking a template from its maker */
	OP_LOAD,      /* installing a template from a peer */
	OP_CRASH      /* fault only: a unit ends in a crash */
};

enum pause { P_NONE = 0, P_READY, P_FORK, P_WAIT, P_EXITED };

/* The delta a remote fork ships (in-process only: host byte order). */
struct delta {
	uint32_t magic, app;
	uint64_t child_ident; /* the fork child's identity (backend.c top) */
	uint64_t dirty;
	int64_t work_ns;
	uint32_t dirty_per_unit, pad;
	uint64_t mem_pages;
};

struct inst {
	ukf_id_t id;
	uint32_t node, gen, app;
	union {
		uint32_t next_free; /* free: the next free slot */
		uint32_t twin;      /* used: another node's instance of the
				       same id (byid names the first), or
				       NONE */
	};
	ukf_ns_t init_ns, work_ns;
	uint32_t dirty_per_unit, fork, units;
	uint64_t mem_pages;
	uint64_t dirty; /* pages dirtied since the template */
	uint32_t units_done, forks_issued, children, waits_done;
	uint32_t failed; /* forks or waits that failed: exit status 1 */
	uint32_t forks_made; /* clone_live/save_delta calls made of it */
	uint64_t ident;  /* identity: what its draws are keyed by */
	uint8_t used, is_clone, is_child, cold, pause, starting, resume_early;
	uint8_t save_fail; /* the delta being saved fails (injected) */
	uint8_t on_cpu;    /* in a CPU work phase on its host's cores */
	uint8_t mop;       /* enum ukf_sim_op of its start: boot, clone,
			      fork or restore (the model's distribution) */
	uint8_t sealed;    /* a cold maker whose memory became its template */
	uint64_t acct;     /* bytes counted against its host (mem_sync) */
	struct delta delta;
};

/* A job waiting for a server of its host: the event that ends it. */
struct job {
	struct sim_ev ev;
	ukf_ns_t service;
};

/* A host's agent and monitor: FIFO jobs, `busy` servers in use. */
struct hostq {
	struct job *q; /* ring of cap entries from head */
	uint32_t head, len, cap, busy;
};

#define TPL_DIRECT 64

struct sim_be {
	struct sim_world *w;
	struct inst *inst;
	uint32_t n, cap, free_head;
	size_t live;
	size_t twins;        /* instances chained behind another of their id
				(0 but after link cuts: inst_free's fast
				path) */
	uint64_t loads;      /* load_template calls: its draws' index */
	sim_map_t byid;      /* instance id -> slot of the first of its
				instances (one per node: they are keyed by
				node and id, chained through twin) */
	/* Templates held: node<<32 | app -> bytes. Apps below TPL_DIRECT
	 * (all but the rarest scenario's) are kept per node instead: bit app
	 * of tmask[node] says whether node holds it, tbytes[app][node] its
	 * bytes (a clone asks on every start; a hash map costs a cache miss
	 * in a table of every node's templates). */
	sim_map_t templates;
	uint64_t *tmask;            /* per node; NULL until the first */
	uint64_t *tbytes[TPL_DIRECT]; /* per app, per node; NULL until used */
	struct hostq *hq;    /* per host; NULL until a job is queued */
	uint64_t *mem;       /* per host: bytes counted (instances' private
				pages, templates); NULL until first counted */
	/* With clone_first_ns: node<<32 | guest pages -> 1 + the node's
	 * incarnation when it first cloned at that memory size (a VM shell
	 * of that size made; a failed node comes back without them). */
	sim_map_t shells;
	/* With fetched_first_ns_per_byte: node<<32 | app -> bytes of a
	 * template the node fetched and has not cloned or restored from */
	sim_map_t fresh;
	/* With idle_curve, boot_idle_curve, msg_idle_curve or
	 * delta_idle_curve: per node, the time of its last backend event or
	 * operation (0, the run's start, before any); NULL until one */
	ukf_ns_t *act;
	int idle_kept; /* an idle key given: act is kept (idle_kept()) */
	/* With msg_idle_curve or delta_idle_curve: per node, when it last
	 * sent or received a message between nodes (NULL until one) */
	ukf_ns_t *woke;
};

sim_be_t *sim_be_create(struct sim_world *w)
{
	sim_be_t *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->w = w;
	b->free_head = NONE;
	const struct ukf_sim_model *m = &w->cfg.model;
	b->idle_kept = m->idle_curve.n || m->boot_idle_curve.n ||
		       m->msg_idle_curve.n || m->delta_idle_curve.n;
	sim_map_init(&b->byid);
	sim_map_init(&b->templates);
	sim_map_init(&b->shells);
	sim_map_init(&b->fresh);
	return b;
}

void sim_be_destroy(sim_be_t **bp)
{
	sim_be_t *b = bp ? *bp : NULL;
	if (!b)
		return;
	free(b->inst);
	if (b->hq)
		for (uint32_t i = 0; i < b->w->cfg.engine.nodes; i++)
			free(b->hq[i].q);
	free(b->hq);
	free(b->mem);
	free(b->act);
	free(b->woke);
	sim_map_free(&b->byid);
	sim_map_free(&b->templates);
	sim_map_free(&b->shells);
	sim_map_free(&b->fresh);
	free(b->tmask);
	for (uint32_t a = 0; a < TPL_DIRECT; a++)
		free(b->tbytes[a]);
	free(b);
	*bp = NULL;
}

size_t sim_be_instances(const sim_be_t *b)
{
	return b->live;
}

ukf_node_id_t sim_be_node_of(const sim_be_t *b, ukf_id_t id)
{
	uint64_t v;

	if (!sim_map_get(&b->byid, id, &v))
		return UKF_NODE_NONE;
	return b->inst[v].node;
}

/*
 * Instances are keyed by (node, id), as each live agent's backend holds
 * its own node's VMs: after a link cut the node behind it runs its copy
 * of a request on while the origin places the request again, so one id
 * can run on two nodes (before 2026-12-06 the second start was refused
 * with -EEXIST: `clone_template refused (-17)`). Such twins are rare:
 * byid names the first, the others hang off it (twin), so a lookup
 * costs one map probe and a compare of the node it reads anyway.
 */
static struct inst *find(sim_be_t *b, ukf_node_id_t node, ukf_id_t id,
			 uint32_t *slot)
{
	uint64_t v;
	if (!sim_map_get(&b->byid, id, &v))
		return NULL;
	uint32_t s = (uint32_t)v;
	while (b->inst[s].node != node)
		if ((s = b->inst[s].twin) == NONE)
			return NULL;
	if (slot)
		*slot = s;
	return &b->inst[s];
}

/*
 * Out of memory in the backend: the world cannot be trusted any more (an
 * operation refused for it is no modeled failure), so the run fails, as
 * when the event queue cannot grow. Returns -ENOMEM.
 */
static int be_oom(sim_be_t *b)
{
	if (!b->w->failed) {
		b->w->failed = 1;
		snprintf(b->w->fail_msg, sizeof(b->w->fail_msg),
			 "backend: out of memory");
	}
	return -ENOMEM;
}

/* ---- memory: private pages and templates per host ---- */

/* The per-host byte counts, allocated on first use; NULL on ENOMEM. */
static uint64_t *mem_table(sim_be_t *b)
{
	if (!b->mem)
		b->mem = calloc(b->w->cfg.engine.nodes, sizeof(*b->mem));
	return b->mem;
}

/* The bytes instance in holds of its own: a cold boot's whole memory
 * (synth touches all of it) until it is sealed into a template, else the
 * pages it has dirtied since its template (copy-on-write). */
static uint64_t priv_bytes(const struct inst *in)
{
	uint64_t pages = in->cold && !in->sealed ? in->mem_pages : in->dirty;

	if (in->mem_pages && pages > in->mem_pages)
		pages = in->mem_pages;
	return pages * PAGE;
}

/* Bring in's count on its host up to date. 0, or -ENOMEM. */
static int mem_sync(sim_be_t *b, struct inst *in)
{
	uint64_t v = priv_bytes(in);

	if (v == in->acct)
		return 0;
	if (!mem_table(b))
		return be_oom(b);
	b->mem[in->node] += v - in->acct;
	in->acct = v;
	return 0;
}

/* 1 if `need` more bytes fit on node under host_mem_bytes (always
 * without a limit). */
static int mem_room(sim_be_t *b, ukf_node_id_t node, uint64_t need)
{
	uint64_t lim = b->w->cfg.model.host_mem_bytes;
	uint64_t used = b->mem ? b->mem[node] : 0;

	return lim == 0 || (used <= lim && need <= lim - used);
}

/* Count (add 1) or uncount (add 0) a template's bytes on node. */
static int mem_template(sim_be_t *b, ukf_node_id_t node, uint64_t bytes,
			int add)
{
	if (!bytes)
		return 0;
	if (!mem_table(b))
		return be_oom(b);
	if (add)
		b->mem[node] += bytes;
	else
		b->mem[node] -= b->mem[node] < bytes ? b->mem[node] : bytes;
	return 0;
}

uint64_t sim_be_mem_used(const sim_be_t *b, ukf_node_id_t node)
{
	if (!b->mem || node >= b->w->cfg.engine.nodes)
		return 0;
	return b->mem[node];
}

/* ---- idle spells (idle_curve, boot_idle_curve) ---- */

/* An idle key is given: nodes' activity is kept (set at creation; the
 * model does not change in a run). */
static int idle_kept(const sim_be_t *b)
{
	return b->idle_kept;
}

/* Node's spell since its last activity (an event or a backend
 * operation; the run's start before any), now its activity: 0 when no
 * idle key is given; -1 out of memory (the run fails, be_oom). */
static ukf_ns_t spell(sim_be_t *b, ukf_node_id_t node)
{
	if (!idle_kept(b) || node >= b->w->cfg.engine.nodes)
		return 0;
	if (!b->act &&
	    !(b->act = calloc(b->w->cfg.engine.nodes, sizeof(*b->act))))
		return be_oom(b), -1;
	ukf_ns_t s = b->w->now - b->act[node];
	b->act[node] = b->w->now;
	return s;
}

/* Node did something now. 0, or -ENOMEM. */
static int act_mark(sim_be_t *b, ukf_node_id_t node)
{
	return spell(b, node) < 0 ? -ENOMEM : 0;
}

/* Curve c (idle_curve, boot_idle_curve) at node's spell, for a start
 * there now, which is the node's activity from now. -1 out of memory. */
static double idle_wake(sim_be_t *b, ukf_node_id_t node,
			const struct ukf_sim_curve *c)
{
	ukf_ns_t s = spell(b, node);
	if (s < 0)
		return -1;
	return c->n ? ukf_sim_idle_eval(c, (double)s) : 0;
}

/* What a message sent now from node `from` to node `to` pays for the
 * receiver's idle spell: the spell since its last activity or the last
 * message it sent or received, which both ends' agents are awake from
 * now (not their activity: the operation the message leads to pays
 * idle_curve for the node's spell, as in a calibration). 0 without
 * msg_idle_curve; -1 out of memory. With delta, delta_idle_curve's
 * value into it at that spell, or with delta_idle_since = activity at
 * the spell since the receiver's last activity alone. */
double sim_be_msg_wake(sim_be_t *b, ukf_node_id_t from, ukf_node_id_t to,
		       double *delta)
{
	const struct ukf_sim_curve *c = &b->w->cfg.model.msg_idle_curve;
	const struct ukf_sim_curve *d = &b->w->cfg.model.delta_idle_curve;
	size_t n = b->w->cfg.engine.nodes;

	if ((!c->n && !d->n) || to >= n || from >= n)
		return 0;
	if ((!b->act && !(b->act = calloc(n, sizeof(*b->act)))) ||
	    (!b->woke && !(b->woke = calloc(n, sizeof(*b->woke)))))
		return be_oom(b), -1;
	ukf_ns_t last = b->act[to] > b->woke[to] ? b->act[to] : b->woke[to];
	b->woke[to] = b->woke[from] = b->w->now;
	double s = (double)(b->w->now - last);
	if (delta) {
		double ds = b->w->cfg.model.delta_idle_since ==
					    UKF_SIM_SINCE_ACTIVITY
				    ? (double)(b->w->now - b->act[to])
				    : s;
		*delta = d->n ? ukf_sim_idle_eval(d, ds) : 0;
	}
	return c->n ? ukf_sim_idle_eval(c, s) : 0;
}

/* ---- the host queue: agent messages and monitor operations ---- */

static uint32_t *ev_flags(struct sim_ev *ev)
{
	return ev->type == SIM_EV_INST ? &ev->u.inst.step : &ev->u.tmpl.fail;
}

static uint32_t servers(const sim_be_t *b)
{
	uint64_t n = b->w->cfg.model.monitor_slots;
	return n ? (uint32_t)n : 1; /* at most 1000000 (model.c) */
}

/* 1 if ev is an instance's step and the instance is gone. */
static int ev_stale(const sim_be_t *b, const struct sim_ev *ev)
{
	uint32_t s = ev->u.inst.slot;

	if (ev->type != SIM_EV_INST)
		return 0;
	return s >= b->n || !b->inst[s].used || b->inst[s].gen != ev->u.inst.gen;
}

/* A server of ev's host starts the job: ev (F_DONE) after service. */
static int job_begin(sim_be_t *b, struct hostq *h, const struct sim_ev *ev,
		     ukf_ns_t service)
{
	struct sim_ev e = *ev;

	*ev_flags(&e) |= F_DONE;
	h->busy++;
	return sim_world_push(b->w, b->w->now + service, &e) < 0 ? -ENOMEM : 0;
}

/* Queue the job ending with ev, `service` long, on ev's host: begun at
 * once if a server is free (none is waiting then), else after the jobs
 * before it. 0, or -ENOMEM. */
static int job_submit(sim_be_t *b, const struct sim_ev *ev, ukf_ns_t service)
{
	if (!b->hq) {
		b->hq = calloc(b->w->cfg.engine.nodes, sizeof(*b->hq));
		if (!b->hq)
			return be_oom(b);
	}
	struct hostq *h = &b->hq[ev->node];
	if (h->busy < servers(b))
		return job_begin(b, h, ev, service);
	if (h->len == h->cap) {
		uint32_t ncap = h->cap ? h->cap * 2 : 16;
		struct job *nq = malloc(sizeof(*nq) * ncap);
		if (!nq)
			return be_oom(b);
		for (uint32_t i = 0; i < h->len; i++)
			nq[i] = h->q[(h->head + i) % h->cap];
		free(h->q);
		h->q = nq;
		h->cap = ncap;
		h->head = 0;
	}
	h->q[(h->head + h->len) % h->cap] = (struct job){ *ev, service };
	h->len++;
	return 0;
}

/* A job of node ended: its server takes the next job still wanted. */
static int job_release(sim_be_t *b, ukf_node_id_t node)
{
	struct hostq *h = b->hq ? &b->hq[node] : NULL;

	if (!h || h->busy == 0)
		return 0;
	h->busy--;
	while (h->len && h->busy < servers(b)) {
		struct job j = h->q[h->head];
		h->head = (h->head + 1) % h->cap;
		h->len--;
		if (ev_stale(b, &j.ev))
			continue; /* destroyed while it waited: no work */
		if (job_begin(b, h, &j.ev, j.service) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* A fresh instance slot for `id`; NULL with *rc set. */
static struct inst *inst_new(sim_be_t *b, ukf_node_id_t node, ukf_id_t id,
			     uint32_t *slot, int *rc)
{
	if (node >= b->w->cfg.engine.nodes || id == 0) {
		*rc = -EINVAL;
		return NULL;
	}
	uint64_t first;
	int twin = sim_map_get(&b->byid, id, &first);
	if (twin && find(b, node, id, NULL)) {
		*rc = -EEXIST; /* that node holds one already */
		return NULL;
	}
	uint32_t s;
	if (b->free_head != NONE) {
		s = b->free_head;
		b->free_head = b->inst[s].next_free;
	} else {
		if (b->n == b->cap) {
			uint32_t ncap = b->cap ? b->cap * 2 : 256;
			struct inst *ni = realloc(b->inst, sizeof(*ni) * ncap);
			if (!ni) {
				*rc = be_oom(b);
				return NULL;
			}
			b->inst = ni;
			b->cap = ncap;
		}
		s = b->n++;
		b->inst[s].gen = 0;
	}
	if (!twin && sim_map_put(&b->byid, id, s) < 0) {
		b->inst[s].next_free = b->free_head;
		b->free_head = s;
		*rc = be_oom(b);
		return NULL;
	}
	struct inst *in = &b->inst[s];
	uint32_t gen = in->gen + 1;
	memset(in, 0, sizeof(*in));
	in->gen = gen;
	in->id = id;
	in->node = node;
	in->used = 1;
	in->twin = NONE;
	if (twin) { /* second in the chain: the first stays where it is */
		in->twin = b->inst[first].twin;
		b->inst[first].twin = s;
		b->twins++;
	}
	b->live++;
	*slot = s;
	return in;
}

/* The key of slot s's CPU job while it has generation gen. */
static uint64_t cpu_key(uint32_t s, uint32_t gen)
{
	return ((uint64_t)s << 32) | gen;
}

static void inst_free(sim_be_t *b, uint32_t s)
{
	struct inst *in = &b->inst[s];
	if (in->on_cpu && b->w->cpu &&
	    sim_cpu_cancel(b->w->cpu, b->w->now, in->node, cpu_key(s, in->gen)) < 0)
		be_oom(b);
	in->on_cpu = 0;
	if (in->acct && b->mem)
		b->mem[in->node] -= in->acct;
	in->acct = 0;
	uint64_t v;
	if (!b->twins) {
		sim_map_del(&b->byid, in->id); /* the only one of its id */
	} else if (sim_map_get(&b->byid, in->id, &v)) {
		uint32_t k = (uint32_t)v;
		if (k != s) { /* unlink it from the chain */
			while (b->inst[k].twin != s)
				k = b->inst[k].twin;
			b->inst[k].twin = in->twin;
			b->twins--;
		} else if (in->twin == NONE) {
			sim_map_del(&b->byid, in->id);
		} else { /* the first: its twin takes its place */
			(void)sim_map_set(&b->byid, in->id, in->twin);
			b->twins--;
		}
	}
	in->used = 0;
	in->gen++;
	in->next_free = b->free_head;
	b->free_head = s;
	b->live--;
}

/* Per-instance parameters from the app, overridden by args if given. */
static int set_params(struct inst *in, const struct ukf_app *app,
		      const char *args)
{
	struct ukf_app tmp;
	const struct ukf_app *a = app;

	/* the instance's keys on top of the app's (the two were parsed as
	 * one string; past 511 bytes together the app's own were dropped
	 * without a word and the args parsed alone); for an app with its
	 * own image the args are its guest's command line, not keys of the
	 * synth model (every instance failed, -22) */
	if (args && *args && !app->image[0] && strcmp(args, app->args) != 0) {
		char err[160];
		tmp = *app;
		if (ukf_app_overlay(&tmp, args, err, sizeof(err)) < 0)
			return -EINVAL;
		a = &tmp;
	}
	in->app = app->id;
	in->init_ns = a->init_ns;
	in->work_ns = a->work_ns;
	in->dirty_per_unit = a->dirty_pages;
	in->fork = a->fork;
	in->units = a->units;
	in->mem_pages = a->mem_bytes / PAGE;
	return 0;
}

static int sched(sim_be_t *b, uint32_t slot, ukf_ns_t at, enum step st)
{
	struct sim_ev ev = { .type = SIM_EV_INST, .node = b->inst[slot].node };
	ev.u.inst.slot = slot;
	ev.u.inst.gen = b->inst[slot].gen;
	ev.u.inst.step = st;
	return sim_world_push(b->w, at, &ev) < 0 ? -ENOMEM : 0;
}

/* Step st of slot s after a monitor operation of d: at now + d, or as a
 * job of its host's monitor queue (monitor_slots > 0). */
static int mon_sched(sim_be_t *b, uint32_t s, ukf_ns_t d, enum step st)
{
	if (!b->w->cfg.model.monitor_slots)
		return sched(b, s, b->w->now + d, st);
	struct sim_ev ev = { .type = SIM_EV_INST, .node = b->inst[s].node };
	ev.u.inst.slot = s;
	ev.u.inst.gen = b->inst[s].gen;
	ev.u.inst.step = st;
	return job_submit(b, &ev, d);
}

/*
 * Slot s does `ns` of guest CPU work (a cold boot's init, a unit), then
 * step st: at now + ns without contention, else on its host's cores
 * shared with the other instances working there (cpu.c).
 */
static int work(sim_be_t *b, uint32_t s, ukf_ns_t ns, enum step st)
{
	struct inst *in = &b->inst[s];

	if (!b->w->cpu)
		return sched(b, s, b->w->now + ns, st);
	struct sim_ev ev = { .type = SIM_EV_INST, .node = in->node };
	ev.u.inst.slot = s;
	ev.u.inst.gen = in->gen;
	ev.u.inst.step = st;
	int rc = sim_cpu_start(b->w->cpu, b->w->now, in->node,
			       cpu_key(s, in->gen), ns, &ev);
	if (rc == 0)
		in->on_cpu = 1;
	return rc == -ENOMEM ? be_oom(b) : rc;
}

/* Index of draw `k` of identity `ident` in an op's stream. */
static uint64_t at_index(uint64_t ident, uint64_t k)
{
	return sim_mix64(ident + 0x632be59bd9b4e019ULL * (k + 1));
}

/* Cost ns of op (draw k of it for this instance) of instance in,
 * jittered by identity: the same draw on any node, after anything. */
static ukf_ns_t cost(sim_be_t *b, const struct inst *in, enum op op,
		     uint64_t k, double ns)
{
	enum ukf_sim_op mop = op == OP_START  ? (enum ukf_sim_op)in->mop
			      : op == OP_READY ? UKF_SIM_OP_BOOT
			      : op == OP_SAVE  ? UKF_SIM_OP_SAVE
			      : op == OP_MAKE  ? UKF_SIM_OP_TEMPLATE
					       : UKF_SIM_OP_UNIT;
	return sim_world_jitter_at(b->w, op, mop, at_index(in->ident, k), ns);
}

/* 1 if the fault of probability p strikes draw k of op for identity. */
static int fault(sim_be_t *b, double p, enum op op, uint64_t ident,
		 uint64_t k)
{
	if (!(p > 0))
		return 0; /* no draw: runs without faults are unchanged */
	return sim_rng_at(b->w->rng, UKF_RNG_KEY(SIM_RNG_FAULT, op),
			  at_index(ident, k)) < p;
}

static ukf_ns_t unit_cost(sim_be_t *b, const struct inst *in)
{
	double ns = (double)in->work_ns;
	if (in->is_clone)
		ns += (double)b->w->cfg.model.touch_ns_per_page * in->dirty_per_unit;
	return cost(b, in, OP_UNIT, in->units_done, ns);
}

/* The identity of new instance id: its request's, else from the id. */
static uint64_t ident_of(sim_be_t *b, ukf_id_t id, uint64_t derived)
{
	uint64_t v = sim_world_ident_take(b->w, id);

	if (v)
		return v;
	return derived ? derived : sim_mix64(id ^ 0x696e7374616e6365ULL);
}

/* The identity of the child of parent p's current fork call: the call's
 * position in p's run while p is paused in a guest fork, else (a fork
 * the workload asked for) the count of forks made of it. */
static uint64_t child_ident(struct inst *p)
{
	uint64_t pos;

	if (p->pause == P_FORK && !p->is_child)
		pos = (uint64_t)(p->units_done ? p->units_done - 1 : 0) * p->fork +
		      p->forks_issued;
	else
		pos = (1ULL << 40) + p->forks_made;
	p->forks_made++;
	return sim_mix64(p->ident ^ sim_mix64(pos + 0x666f726b));
}

/* ---- backend ops ---- */

/*
 * Slot s (new, set up) starts: ST_STARTED after the model's ns as costed
 * on node. 0, or a negative errno with the slot freed.
 */
static int start_after(sim_be_t *b, uint32_t s, ukf_node_id_t node, double ns)
{
	struct inst *in = &b->inst[s];
	const struct ukf_sim_faults *f = &b->w->cfg.faults;
	enum step st = ST_STARTED;
	int rc;

	(void)node;
	in->starting = 1;
	if (fault(b, in->cold ? f->boot : f->clone, OP_START, in->ident, 0))
		st = ST_FAULT; /* after the time it took to fail */
	ukf_ns_t d = cost(b, in, OP_START, 0, ns);
	/* a cold boot runs in its own VM thread: no monitor queue */
	if ((rc = in->cold ? sched(b, s, b->w->now + d, st)
			   : mon_sched(b, s, d, st)) < 0 ||
	    (rc = mem_sync(b, in)) < 0)
		inst_free(b, s);
	return rc;
}

/* Slot s, a fork child (one unit, from a template image), starts. */
static int child_start_after(sim_be_t *b, uint32_t s, ukf_node_id_t node,
			     double ns)
{
	struct inst *in = &b->inst[s];

	in->units = 1;
	in->is_clone = 1;
	in->is_child = 1;
	return start_after(b, s, node, ns);
}

/*
 * A new instance id of app on node, cold-booted (clone 0) or cloned from
 * the node's template (clone 1), reaching ST_STARTED after the model's ns
 * (as costed on that node). 0, or a negative errno with nothing left.
 */
static int inst_start(sim_be_t *b, ukf_node_id_t node, ukf_id_t id,
		      const struct ukf_app *app, const char *args, int clone,
		      double ns)
{
	uint32_t s;
	int rc;
	struct inst *in = inst_new(b, node, id, &s, &rc);

	if (!in)
		return rc;
	if (set_params(in, app, args) < 0) {
		inst_free(b, s);
		return -EINVAL;
	}
	if (!clone && !mem_room(b, node, in->mem_pages * PAGE)) {
		inst_free(b, s);
		return -ENOMEM; /* host_mem_bytes: no room for its memory */
	}
	in->ident = ident_of(b, id, 0);
	if (clone)
		in->is_clone = 1;
	else
		in->cold = 1;
	in->mop = clone ? UKF_SIM_OP_CLONE : UKF_SIM_OP_BOOT;
	return start_after(b, s, node, ns);
}

/* Template app of bytes bytes ready on node after `after` (or failing
 * then, fail = OP_MAKE or OP_LOAD: an injected fault). */
static int push_template(sim_be_t *b, ukf_node_id_t node, uint32_t app,
			 uint64_t bytes, ukf_ns_t after, uint32_t fail, int load)
{
	struct sim_ev ev = { .type = SIM_EV_TEMPLATE, .node = node };

	ev.u.tmpl.app = app;
	ev.u.tmpl.fail = fail;
	ev.u.tmpl.load = (uint32_t)load;
	ev.u.tmpl.bytes = bytes;
	if (mem_template(b, node, bytes, 1) < 0)
		return -ENOMEM; /* counted from now; uncounted if it fails */
	if (b->w->cfg.model.monitor_slots)
		return job_submit(b, &ev, after);
	return sim_world_push(b->w, b->w->now + after, &ev) < 0 ? -ENOMEM : 0;
}

static int be_cold_boot(void *bp, ukf_node_id_t node, ukf_id_t id,
			const struct ukf_app *app, const char *args)
{
	sim_be_t *b = bp;
	const struct ukf_sim_model *m = &b->w->cfg.model;

	if (!app)
		return -EINVAL;
	/* boot_idle_curve: ns per byte of guest memory after the spell */
	double wake = idle_wake(b, node, &m->boot_idle_curve);
	if (wake < 0)
		return -ENOMEM;
	wake *= (double)app->mem_bytes;
	return inst_start(b, node, id, app, args, 0,
			  (double)m->boot_base_ns +
			      (double)app->image_bytes * m->boot_ns_per_byte +
			      wake);
}

static int be_make_template(void *bp, ukf_node_id_t node, ukf_id_t id,
			    uint32_t app)
{
	sim_be_t *b = bp;
	const struct ukf_sim_model *m = &b->w->cfg.model;
	struct inst *in = find(b, node, id, NULL);

	if (!in)
		return -ESRCH;
	if (act_mark(b, node) < 0)
		return -ENOMEM;
	uint64_t bytes = in->mem_pages * PAGE;
	/* A cold-booted maker's memory is sealed in place (its pages become
	 * the template's; it keeps only what it dirties after): no new
	 * memory. A clone's template is a copy. */
	int seal = in->cold && !in->sealed;
	if (!seal && !mem_room(b, node, bytes))
		return -ENOMEM;
	if (seal) {
		in->sealed = 1;
		if (mem_sync(b, in) < 0)
			return -ENOMEM;
	}
	ukf_ns_t after = cost(b, in, OP_MAKE, 0,
			      (double)m->template_base_ns +
				  (double)bytes * m->template_ns_per_byte);
	int fail = fault(b, b->w->cfg.faults.template, OP_MAKE, in->ident, 0);
	return push_template(b, node, app, bytes, after, fail ? OP_MAKE : 0, 0);
}

static int be_load_template(void *bp, ukf_node_id_t node, uint32_t app,
			    const void *data, size_t bytes)
{
	sim_be_t *b = bp;
	const struct ukf_sim_model *m = &b->w->cfg.model;

	if (node >= b->w->cfg.engine.nodes)
		return -EINVAL;
	if (!mem_room(b, node, bytes))
		return -ENOMEM;
	if (act_mark(b, node) < 0)
		return -ENOMEM;
	/* No identity: the node's own stream, as before; the fault draw is
	 * the backend's load count's. */
	double cost = m->load_curve.n
			  ? ukf_sim_curve_eval(&m->load_curve, (double)bytes)
			  : (double)m->load_base_ns +
				(double)bytes * m->load_ns_per_byte;
	ukf_ns_t after = sim_world_jitter(b->w, node, UKF_SIM_OP_LOAD, cost);
	int fail = fault(b, b->w->cfg.faults.template, OP_LOAD,
			 ((uint64_t)node << 32) | app, b->loads++);
	return push_template(b, node, app, bytes, after, fail ? OP_LOAD : 0, 1);
}

/* Does node hold app's template? 1 and its bytes in *bytes (may be
 * NULL), or 0. */
static int tpl_get(const sim_be_t *b, ukf_node_id_t node, uint32_t app,
		   uint64_t *bytes)
{
	if (app >= TPL_DIRECT || node >= b->w->cfg.engine.nodes)
		return sim_map_get(&b->templates, ((uint64_t)node << 32) | app,
				   bytes);
	if (!b->tmask || !(b->tmask[node] >> app & 1))
		return 0;
	if (bytes)
		*bytes = b->tbytes[app][node];
	return 1;
}

/* Record node's template of app (bytes). 0, or -ENOMEM. */
static int tpl_put(sim_be_t *b, ukf_node_id_t node, uint32_t app,
		   uint64_t bytes)
{
	uint32_t nodes = b->w->cfg.engine.nodes;

	if (app >= TPL_DIRECT || node >= nodes)
		return sim_map_put(&b->templates, ((uint64_t)node << 32) | app,
				   bytes) < 0 ? -ENOMEM : 0;
	if (!b->tmask && !(b->tmask = calloc(nodes, sizeof(*b->tmask))))
		return -ENOMEM;
	if (!b->tbytes[app] &&
	    !(b->tbytes[app] = calloc(nodes, sizeof(*b->tbytes[app]))))
		return -ENOMEM;
	b->tbytes[app][node] = bytes;
	b->tmask[node] |= 1ULL << app;
	return 0;
}

static void tpl_del(sim_be_t *b, ukf_node_id_t node, uint32_t app)
{
	if (app >= TPL_DIRECT || node >= b->w->cfg.engine.nodes)
		sim_map_del(&b->templates, ((uint64_t)node << 32) | app);
	else if (b->tmask)
		b->tmask[node] &= ~(1ULL << app);
}

static void be_drop_template(void *bp, ukf_node_id_t node, uint32_t app)
{
	sim_be_t *b = bp;
	uint64_t v = 0;

	if (tpl_get(b, node, app, &v))
		(void)mem_template(b, node, v, 0);
	tpl_del(b, node, app);
	sim_map_del(&b->fresh, (uint64_t)node << 32 | app);
}

/*
 * fetched_first_ns_per_byte: the extra cost of the first start from
 * node's template of app when the node fetched it and has not started
 * from it since (its bytes x the key), else 0; that first use is then
 * taken (*taken, for fresh_undo when the start fails). Only a restore is
 * charged it: a template clone takes the first use at no cost (on the
 * testbed the first clone of a 12 MiB template just fetched took 3.0-3.1
 * ms, its VM shell included, as a first clone of a template made there).
 */
static double fresh_first(sim_be_t *b, ukf_node_id_t node, uint32_t app,
			  uint64_t *taken)
{
	uint64_t key = (uint64_t)node << 32 | app;

	*taken = 0;
	if (!b->fresh.count || !sim_map_get(&b->fresh, key, taken))
		return 0;
	sim_map_del(&b->fresh, key);
	return (double)*taken * b->w->cfg.model.fetched_first_ns_per_byte;
}

static void fresh_undo(sim_be_t *b, ukf_node_id_t node, uint32_t app,
		       uint64_t taken)
{
	if (taken)
		(void)sim_map_put(&b->fresh, (uint64_t)node << 32 | app, taken);
}

static int has_template(sim_be_t *b, ukf_node_id_t node, uint32_t app)
{
	return tpl_get(b, node, app, NULL);
}

/*
 * The node's VM shells: clone_first_ns when node has not cloned
 * (template clone, live fork or remote restore) at this guest memory size
 * since it last (re)started, else 0; the size is then remembered, and
 * shell_undo() forgets it again when the start fails after all (a failed
 * attempt makes no shell). The KVM monitor's VM shell pool (backends/kvm,
 * clone_mem.c) refills in the background for the size asked last, so
 * the first clone at a size makes its shell on the spot; later ones find
 * one (the pool keeping several sizes is what this assumes). A restore
 * takes a shell from the same pool but is charged nothing more here (its
 * calibrated cost includes it): charge 0. -1: out of memory.
 */
struct shell_undo {
	uint64_t key, old;
	int put, had;
};

static double shell_first(sim_be_t *b, ukf_node_id_t node, uint64_t pages,
			  int charge, struct shell_undo *u)
{
	const struct ukf_sim_model *m = &b->w->cfg.model;

	u->put = 0;
	if (!m->clone_first_ns)
		return 0;
	uint64_t key = (uint64_t)node << 32 | (pages & 0xffffffffu);
	uint64_t inc = sim_world_incarnation(b->w, node) + 1ULL, v = 0;
	int had = sim_map_get(&b->shells, key, &v);
	if (had && v == inc)
		return 0;
	if (sim_map_put(&b->shells, key, inc) < 0)
		return -1;
	*u = (struct shell_undo){ .key = key, .old = v, .put = 1, .had = had };
	return charge ? (double)m->clone_first_ns : 0;
}

static void shell_undo(sim_be_t *b, const struct shell_undo *u)
{
	if (!u->put)
		return;
	if (u->had)
		(void)sim_map_set(&b->shells, u->key, u->old);
	else
		(void)sim_map_del(&b->shells, u->key);
}

static int be_clone_template(void *bp, ukf_node_id_t node, ukf_id_t id,
			     const struct ukf_app *app, const char *args)
{
	sim_be_t *b = bp;

	if (!app)
		return -EINVAL;
	if (node >= b->w->cfg.engine.nodes)
		return -EINVAL;
	if (!has_template(b, node, app->id))
		return -ENOENT;
	double wake = idle_wake(b, node, &b->w->cfg.model.idle_curve);
	if (wake < 0)
		return -ENOMEM;
	struct shell_undo u;
	double first = shell_first(b, node, app->mem_bytes / PAGE, 1, &u);
	if (first < 0)
		return -ENOMEM;
	uint64_t taken;
	(void)fresh_first(b, node, app->id, &taken); /* not charged: above */
	const struct ukf_sim_model *m = &b->w->cfg.model;
	/* requested on this node (not for a peer): local_clone_ns more */
	double local = m->local_clone_ns > 0 &&
				       ukf_engine_origin(b->w->engines[node],
							 id) == node
			       ? (double)m->local_clone_ns
			       : 0;
	int rc = inst_start(b, node, id, app, args, 1,
			    (double)m->clone_base_ns +
				    m->clone_ns_per_byte *
					    (double)app->mem_bytes +
				    local + first + wake);
	if (rc < 0) {
		shell_undo(b, &u);
		fresh_undo(b, node, app->id, taken);
	}
	return rc;
}

static int be_clone_live(void *bp, ukf_node_id_t node, ukf_id_t child,
			 ukf_id_t parent)
{
	sim_be_t *b = bp;
	const struct ukf_sim_model *m = &b->w->cfg.model;
	uint32_t ps, s;
	int rc;

	if (!find(b, node, parent, &ps))
		return -ESRCH; /* a live fork is on the parent's node */
	if (!mem_room(b, node, b->inst[ps].dirty * PAGE))
		return -ENOMEM; /* the copied pages are the child's own */
	double wake = idle_wake(b, node, &m->idle_curve);
	if (wake < 0)
		return -ENOMEM;
	struct shell_undo u;
	double first = shell_first(b, node, b->inst[ps].mem_pages, 1, &u);
	if (first < 0)
		return -ENOMEM;
	struct inst *in = inst_new(b, node, child, &s, &rc);
	if (!in) {
		shell_undo(b, &u);
		return rc;
	}
	struct inst *p = &b->inst[ps]; /* after inst_new: the pool may move */
	in->app = p->app;
	in->init_ns = p->init_ns;
	in->work_ns = p->work_ns;
	in->dirty_per_unit = p->dirty_per_unit;
	in->mem_pages = p->mem_pages;
	in->dirty = p->dirty;
	in->ident = ident_of(b, child, child_ident(p));
	in->mop = UKF_SIM_OP_FORK;
	rc = child_start_after(b, s, node,
			       (double)(m->fork_base_ns ? m->fork_base_ns
							: m->clone_base_ns) +
				       (double)m->clone_ns_per_page *
					       (double)p->dirty +
				       first + wake);
	if (rc < 0)
		shell_undo(b, &u);
	return rc;
}

static int be_save_delta(void *bp, ukf_node_id_t node, ukf_id_t parent)
{
	sim_be_t *b = bp;
	uint32_t s;
	struct inst *p = find(b, node, parent, &s);

	if (!p)
		return -ESRCH;
	if (act_mark(b, node) < 0)
		return -ENOMEM;
	uint64_t ci = child_ident(p);
	/* the pages the child gets: those dirtied since the parent's
	 * template, or, with no template under it (a cold boot not sealed
	 * into one), its whole memory, as the KVM monitor's delta is then a
	 * full image (ukvm_save_delta); before 2026-12-07 such a delta held
	 * only the unit's dirty pages (10 pages of a 16 MiB parent) */
	uint64_t pages = p->cold && !p->sealed ? p->mem_pages : p->dirty;
	p->delta = (struct delta){ .magic = DELTA_MAGIC, .app = p->app,
				   .child_ident = ci, .dirty = pages,
				   .work_ns = p->work_ns,
				   .dirty_per_unit = p->dirty_per_unit,
				   .mem_pages = p->mem_pages };
	p->save_fail = (uint8_t)fault(b, b->w->cfg.faults.save_delta, OP_SAVE,
				      ci, 0);
	double ns = (double)b->w->cfg.model.save_ns_per_page * (double)pages;
	return mon_sched(b, s, cost(b, p, OP_SAVE, ci, ns), ST_DELTA);
}

static int be_restore_delta(void *bp, ukf_node_id_t node, ukf_id_t child,
			    uint32_t app, const void *data, size_t len,
			    uint64_t delta_bytes)
{
	sim_be_t *b = bp;
	const struct ukf_sim_model *m = &b->w->cfg.model;
	struct delta d;
	uint32_t s;
	int rc;

	if (!data || len != sizeof(d))
		return -EINVAL;
	memcpy(&d, data, sizeof(d));
	if (d.magic != DELTA_MAGIC || d.app != app)
		return -EINVAL;
	if (node >= b->w->cfg.engine.nodes)
		return -EINVAL;
	if (!has_template(b, node, app))
		return -ENOENT;
	if (!mem_room(b, node, d.dirty * PAGE))
		return -ENOMEM;
	double wake = idle_wake(b, node, &m->idle_curve);
	if (wake < 0)
		return -ENOMEM;
	struct shell_undo u; /* its shell: later clones at the size find one */
	if (shell_first(b, node, d.mem_pages, 0, &u) < 0)
		return -ENOMEM;
	struct inst *in = inst_new(b, node, child, &s, &rc);
	if (!in) {
		shell_undo(b, &u);
		return rc;
	}
	in->app = app;
	in->work_ns = d.work_ns;
	in->dirty_per_unit = d.dirty_per_unit;
	in->mem_pages = d.mem_pages;
	in->dirty = d.dirty;
	in->ident = ident_of(b, child, d.child_ident);
	in->mop = UKF_SIM_OP_RESTORE;
	(void)delta_bytes; /* the delta itself says how many pages it holds */
	uint64_t taken;
	double fresh = fresh_first(b, node, app, &taken);
	rc = child_start_after(b, s, node,
			       (double)m->restore_base_ns +
				       (double)m->restore_ns_per_page *
					       (double)d.dirty +
				       fresh + wake);
	if (rc < 0) {
		shell_undo(b, &u);
		fresh_undo(b, node, app, taken);
	}
	return rc;
}

/*
 * Only the instance of that id on that node: after a link cut, the
 * engines on both sides may each hold an instance of one id (the one
 * behind the cut runs on; its origin placed the request again), and the
 * engine of one must not destroy the other's (before 2026-12-06 a clone
 * refused on the origin destroyed the instance behind the cut, a
 * template maker that then never became ready).
 */
static void be_destroy(void *bp, ukf_node_id_t node, ukf_id_t id)
{
	sim_be_t *b = bp;
	uint32_t s;
	(void)act_mark(b, node); /* out of memory: the run fails (be_oom) */
	if (find(b, node, id, &s))
		inst_free(b, s);
}

/* After a unit's forks and waits: the next unit, or exit. */
static int after_unit(sim_be_t *b, uint32_t s)
{
	struct inst *in = &b->inst[s];
	if (in->units_done < in->units)
		return work(b, s, unit_cost(b, in), ST_UNIT);
	return sched(b, s, b->w->now, ST_EXIT);
}

static int be_complete(void *bp, ukf_node_id_t node, ukf_id_t id, int64_t ret,
		       int64_t status, ukf_id_t src, const void *data, size_t len)
{
	sim_be_t *b = bp;
	uint32_t s;
	struct inst *in = find(b, node, id, &s);

	if (!in)
		return -ESRCH;
	switch (in->pause) {
	case P_READY:
		in->pause = P_NONE;
		if (in->units == 0)
			return sched(b, s, b->w->now, ST_EXIT);
		return work(b, s, unit_cost(b, in), ST_UNIT);
	case P_FORK:
		in->pause = P_NONE;
		if (in->is_child && in->units_done == 0)
			return work(b, s, unit_cost(b, in), ST_UNIT);
		in->forks_issued++;
		if (ret > 0)
			in->children++;
		else
			in->failed++;
		if (in->forks_issued < in->fork)
			return sched(b, s, b->w->now, ST_CALL_FORK);
		if (in->children > 0)
			return sched(b, s, b->w->now, ST_CALL_WAIT);
		return after_unit(b, s);
	case P_WAIT:
		in->pause = P_NONE;
		in->waits_done++;
		if (ret < 0 || status != 0)
			in->failed++;
		if (in->waits_done < in->children)
			return sched(b, s, b->w->now, ST_CALL_WAIT);
		return after_unit(b, s);
	default:
		/* A fork child completed before its STARTED was delivered:
		 * it resumes as soon as it exists. */
		if (in->is_child && in->starting && !in->resume_early) {
			in->resume_early = 1;
			return 0;
		}
		return -ESRCH;
	}
}

/* A modeled template has no bytes: only its size leaves the backend. */
static int be_export_template(void *bp, ukf_node_id_t node, uint32_t app,
			      void **data, size_t *len, uint64_t *bytes)
{
	sim_be_t *b = bp;
	uint64_t v = 0;

	if (!data || !len || !bytes)
		return -EINVAL;
	*data = NULL;
	*len = 0;
	*bytes = 0;
	if (node >= b->w->cfg.engine.nodes)
		return -EINVAL;
	if (!tpl_get(b, node, app, &v))
		return -ENOENT;
	*bytes = v;
	return 0;
}

static int be_template_info(void *bp, const struct ukf_app *app,
			    const void *data, size_t len,
			    struct ukf_template_info *info, char *err,
			    size_t errlen)
{
	(void)bp;
	(void)app;
	if (!info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	if (data) {
		snprintf(err, errlen,
			 "the simulated backend's templates have no bytes");
		return -EINVAL;
	}
	info->bytes = len;
	info->mem_bytes = len;
	return 0;
}

const struct ukf_backend_ops sim_backend_ops = {
	.name = "sim",
	.cold_boot = be_cold_boot,
	.make_template = be_make_template,
	.load_template = be_load_template,
	.drop_template = be_drop_template,
	.clone_template = be_clone_template,
	.clone_live = be_clone_live,
	.save_delta = be_save_delta,
	.restore_delta = be_restore_delta,
	.destroy = be_destroy,
	.complete = be_complete,
	.export_template = be_export_template,
	.template_info = be_template_info,
};

/* ---- events ---- */

static void emit(sim_be_t *b, ukf_node_id_t node, struct ukf_be_event *ev)
{
	ukf_engine_t *e = sim_world_engine(b->w, node);

	ev->at = b->w->now;
	if (e)
		ukf_engine_on_backend(e, node, ev);
}

static void be_template_done(sim_be_t *b, const struct sim_ev *e)
{
	uint64_t old = 0;
	if (e->u.tmpl.fail) {
		(void)mem_template(b, e->node, e->u.tmpl.bytes, 0);
		struct ukf_be_event ev = {
			.kind = UKF_BE_ERROR, .inst = 0, .app = e->u.tmpl.app,
			.status = -EIO,
			.text = e->u.tmpl.fail == OP_MAKE
					? "injected fault: template make failed"
					: "injected fault: template load failed"
		};
		emit(b, e->node, &ev);
		return;
	}
	if (tpl_get(b, e->node, e->u.tmpl.app, &old))
		(void)mem_template(b, e->node, old, 0); /* replaced */
	uint64_t key = (uint64_t)e->node << 32 | e->u.tmpl.app;
	if (tpl_put(b, e->node, e->u.tmpl.app, e->u.tmpl.bytes) < 0 ||
	    (e->u.tmpl.load && b->w->cfg.model.fetched_first_ns_per_byte > 0 &&
	     sim_map_put(&b->fresh, key, e->u.tmpl.bytes ? e->u.tmpl.bytes : 1) <
		 0)) {
		b->w->failed = 1;
		snprintf(b->w->fail_msg, sizeof(b->w->fail_msg),
			 "out of memory recording a template");
		return;
	}
	if (!e->u.tmpl.load)
		sim_map_del(&b->fresh, key); /* made here: not fetched */
	struct ukf_be_event ev = { .kind = UKF_BE_TEMPLATE, .inst = 0,
				   .app = e->u.tmpl.app,
				   .bytes = e->u.tmpl.bytes };
	emit(b, e->node, &ev);
}

void sim_be_prefetch(const sim_be_t *b, const struct sim_ev *ev)
{
	if (ev->type == SIM_EV_INST && ev->u.inst.slot < b->n) {
		const char *p = (const char *)&b->inst[ev->u.inst.slot];

		__builtin_prefetch(p, 1);
		__builtin_prefetch(p + 64, 1);
		__builtin_prefetch(p + sizeof(struct inst) - 1, 1);
	}
}

void sim_be_event(sim_be_t *b, const struct sim_ev *e0)
{
	struct sim_ev ecopy = *e0, *e = &ecopy;
	uint32_t *fl = ev_flags(e), flags = *fl & ~F_VAL;

	*fl &= F_VAL;
	if (act_mark(b, e->node) < 0) /* idle keys: the node is awake */
		goto oom;
	if (flags & F_DONE) {
		if (job_release(b, e->node) < 0)
			goto oom;
	}
	if (b->w->cfg.model.agent_msg_ns > 0 && !(flags & F_MSG)) {
		/* the engine hears of it once the host's agent has served it */
		if (ev_stale(b, e))
			return;
		if (e->type == SIM_EV_INST && (e->u.inst.step == ST_READY ||
					       e->u.inst.step == ST_UNIT))
			b->inst[e->u.inst.slot].on_cpu = 0; /* its work is done */
		*fl |= F_MSG;
		if (job_submit(b, e, b->w->cfg.model.agent_msg_ns) < 0)
			goto oom;
		return;
	}
	if (e->type == SIM_EV_TEMPLATE) {
		be_template_done(b, e);
		return;
	}
	uint32_t s = e->u.inst.slot;
	if (s >= b->n || !b->inst[s].used || b->inst[s].gen != e->u.inst.gen)
		return; /* destroyed meanwhile */
	struct inst *in = &b->inst[s];
	struct ukf_be_event ev = { .inst = in->id };
	ukf_node_id_t node = in->node;
	if (e->u.inst.step == ST_READY || e->u.inst.step == ST_UNIT)
		in->on_cpu = 0; /* the end of its work phase (work()) */
	uint32_t gen = in->gen;
	int rc = 0;

	switch ((enum step)e->u.inst.step) {
	case ST_STARTED:
		in->starting = 0;
		ev.kind = UKF_BE_STARTED;
		if (in->is_child)
			in->pause = P_FORK; /* paused in the fork it returns from */
		emit(b, node, &ev);
		/* The engine may have destroyed it (or reused the pool). */
		if (!b->inst[s].used || b->inst[s].gen != gen)
			return;
		in = &b->inst[s];
		if (in->is_child) {
			if (in->resume_early && in->pause == P_FORK) {
				in->resume_early = 0;
				in->pause = P_NONE;
				rc = work(b, s, unit_cost(b, in), ST_UNIT);
			}
		} else if (in->cold) {
			/* init and the memory touch overlap (synth.c).
			 * The boot's one draw of boot_dist scales this part
			 * as it scaled the start: the calibration fitted the
			 * spread of whole boots over their line (a + b mem),
			 * and two independent factors would narrow it (a
			 * fitted sigma of 0.305 came out 0.226) */
			double init = (double)in->init_ns;
			double touch = (double)(in->mem_pages * PAGE) *
				       b->w->cfg.model.boot_ns_per_mem_byte;
			rc = work(b, s,
				  cost(b, in, OP_START, 0,
				       touch > init ? touch : init),
				  ST_READY);
		} else {
			rc = sched(b, s, b->w->now, ST_READY);
		}
		break;
	case ST_READY:
		in->pause = P_READY;
		ev.kind = UKF_BE_READY;
		ev.dirty_pages = in->dirty;
		emit(b, node, &ev);
		break;
	case ST_UNIT:
		in->units_done++;
		if (fault(b, b->w->cfg.faults.crash, OP_CRASH, in->ident,
			  in->units_done - 1)) {
			in->pause = P_EXITED;
			ev.kind = UKF_BE_FAIL;
			ev.text = "injected fault: crash";
			emit(b, node, &ev);
			break;
		}
		in->dirty += in->dirty_per_unit;
		if (in->mem_pages && in->dirty > in->mem_pages)
			in->dirty = in->mem_pages;
		if (mem_sync(b, in) < 0) /* counted, never refused */
			goto oom;
		if (in->is_child || in->fork == 0) {
			if (in->is_child)
				rc = sched(b, s, b->w->now, ST_EXIT);
			else
				rc = after_unit(b, s);
			break;
		}
		in->forks_issued = in->children = in->waits_done = 0;
		/* fall through: the unit's first fork */
		__attribute__((fallthrough));
	case ST_CALL_FORK:
		in->pause = P_FORK;
		ev.kind = UKF_BE_CALL;
		ev.call = UKF_CALL_FORK;
		ev.dirty_pages = in->dirty;
		emit(b, node, &ev);
		break;
	case ST_CALL_WAIT:
		in->pause = P_WAIT;
		ev.kind = UKF_BE_CALL;
		ev.call = UKF_CALL_WAIT;
		ev.arg_id = 0;
		emit(b, node, &ev);
		break;
	case ST_EXIT:
		in->pause = P_EXITED;
		ev.kind = UKF_BE_EXIT;
		ev.status = in->failed ? 1 : 0; /* like guest/apps/synth.c */
		ev.dirty_pages = in->dirty;
		emit(b, node, &ev);
		break;
	case ST_FAULT:
		in->starting = 0;
		in->pause = P_EXITED;
		ev.kind = UKF_BE_ERROR;
		ev.status = -EIO;
		ev.text = in->cold ? "injected fault: cold boot failed"
				   : "injected fault: clone failed";
		emit(b, node, &ev);
		break;
	case ST_DELTA:
		if (in->save_fail) {
			in->save_fail = 0;
			ev.kind = UKF_BE_ERROR;
			ev.status = -EIO;
			ev.text = "injected fault: save_delta failed";
			emit(b, node, &ev);
			break;
		}
		ev.kind = UKF_BE_DELTA;
		ev.data = &in->delta;
		ev.len = sizeof(in->delta);
		ev.bytes = in->delta.dirty * PAGE;
		ev.dirty_pages = in->delta.dirty;
		{
			/* The engine may create instances (and move the pool)
			 * while it holds ev.data: hand it a stable copy. */
			struct delta d = in->delta;
			ev.data = &d;
			emit(b, node, &ev);
		}
		break;
	}
	if (rc < 0) {
oom:
		b->w->failed = 1;
		snprintf(b->w->fail_msg, sizeof(b->w->fail_msg),
			 "out of memory scheduling a backend step");
	}
}
