/* SPDX-License-Identifier: MIT */
/* world.c - the simulated world: env for the engine, world ops for the runner. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/dir.h"
#include "../core/engine.h"
#include "../core/wire.h"
#include "sim_int.h"

/* A published record's header in its SIM_EV_DIR buffer: the publishing
 * node's incarnation (records of a lost incarnation are not applied). */
#define DIR_HDR 8

/*
 * Outages: node and link failures (sim.h, ukf_sim_fail_node...). Made at
 * the first one; without any, nothing here runs.
 */
struct sim_outage {
	uint8_t *state;  /* per node: 0 up, 1 node failed, 2 link failed */
	uint32_t *inc;   /* per node: incarnation (engine generation) */
	/* A link-failed node's latest record, applied at its recovery. */
	unsigned char **stash;
	size_t *stash_len;
	/* Per node while its link is cut: its own view of the directory,
	 * its record alone (env_directory); NULL otherwise, and the array
	 * NULL until the first cut. */
	ukf_dir_t **lone;
	/* While a failed node's engine is ended: its node, and whether the
	 * row being ended is hosted elsewhere (then not written). */
	ukf_node_id_t crashing;
	int suppress;
	char why[160];
	/* While peers are told of a link failure: rows then written (lost
	 * instances still running behind the cut) go in `lost`, and a
	 * later row of the same id is not written again. */
	int collect;
	sim_map_t lost;
	/* Churn and detection (sim/README.md "Churn"): per node, OUT_CHURNED
	 * while down by churn, OUT_UNDETECTED while its peers have not yet
	 * noticed its failure (detect_why[node]: the reason they will hear). */
	uint8_t *flags;
	char **detect_why;
	/* Rows a failed node's engine ended but left to their origins (whose
	 * peer_down writes them when they notice), kept until a row of the
	 * id is written; owed_write writes those still owed once the failure
	 * is noticed (the origin failed meanwhile, or is a new incarnation
	 * that knows nothing of them) or at the end of the run. owed_ix: id
	 * -> index + 1 of a live entry. */
	struct owed *owed;
	size_t nowed, capowed;
	sim_map_t owed_ix;
};
struct owed {
	struct ukf_record r; /* as written: failed, t_exit its node's failure */
	ukf_node_id_t host;  /* the failed node */
	int live;
	int req; /* a request of the failed node that another node hosts:
		  * that node writes the row, unless it gives the instance
		  * back (a fork child's NACK, lost with its origin) */
	char why[160];
};
enum { OUT_CHURNED = 1, OUT_UNDETECTED = 2 };

void ukf_sim_config_default(struct ukf_sim_config *c)
{
	memset(c, 0, sizeof(*c));
	ukf_engine_config_default(&c->engine);
	ukf_sim_model_default(&c->model);
	c->link_latency_ns = 50 * UKF_US;
	c->link_bandwidth_bps = 1.25e9;
	c->dir_delay_ns = 1 * UKF_MS;
	c->sample_every_ns = 0;
	c->seed = 1;
	c->rep = 0;
}

uint32_t sim_world_incarnation(const struct sim_world *w, ukf_node_id_t node)
{
	return w->out && node < w->cfg.engine.nodes ? w->out->inc[node] : 0;
}

int sim_world_push(struct sim_world *w, ukf_ns_t t, const struct sim_ev *ev)
{
	if (t < w->now)
		t = w->now;
	if (sim_queue_push(w->q, t, ev) < 0) {
		w->failed = 1;
		snprintf(w->fail_msg, sizeof(w->fail_msg),
			 "event queue: out of memory");
		return -1;
	}
	return 0;
}

/* A keyed stream could not be created (NaN draw): the run fails. */
static void rng_oom(struct sim_world *w)
{
	w->failed = 1;
	snprintf(w->fail_msg, sizeof(w->fail_msg), "rng: out of memory");
}

ukf_ns_t sim_world_jitter(struct sim_world *w, ukf_node_id_t node,
			  enum ukf_sim_op mop, double cost_ns)
{
	const struct ukf_sim_model *m = &w->cfg.model;
	if (cost_ns <= 0)
		return 0;
	if (ukf_sim_model_random(m, mop)) {
		double z = sim_rng_gaussian(w->rng, UKF_RNG_KEY(UKF_RNG_BACKEND, node));
		if (isfinite(z))
			cost_ns *= ukf_sim_model_factor(m, mop, z);
		else
			rng_oom(w);
	}
	if (cost_ns > 9e18)
		cost_ns = 9e18;
	return (ukf_ns_t)llround(cost_ns);
}

ukf_ns_t sim_world_jitter_at(struct sim_world *w, uint32_t op,
			     enum ukf_sim_op mop, uint64_t index,
			     double cost_ns)
{
	const struct ukf_sim_model *m = &w->cfg.model;
	if (cost_ns <= 0)
		return 0;
	if (ukf_sim_model_random(m, mop)) {
		double z = sim_rng_gaussian_at(
		    w->rng, UKF_RNG_KEY(SIM_RNG_COST, op), index);
		cost_ns *= ukf_sim_model_factor(m, mop, z);
	}
	if (cost_ns > 9e18)
		cost_ns = 9e18;
	return (ukf_ns_t)llround(cost_ns);
}

uint64_t sim_world_ident_take(struct sim_world *w, ukf_id_t id)
{
	uint64_t v;

	if (!sim_map_get(&w->idents, id, &v))
		return 0;
	sim_map_del(&w->idents, id);
	return v;
}

/* ---- env ops (what the engine calls) ---- */

static ukf_ns_t env_now(void *wp)
{
	return ((struct sim_world *)wp)->now;
}

static int env_timer(void *wp, ukf_node_id_t node, ukf_ns_t at, uint64_t cookie)
{
	struct sim_world *w = wp;
	if (node >= w->cfg.engine.nodes)
		return -EINVAL;
	struct sim_ev ev = { .type = SIM_EV_TIMER, .node = node };
	ev.u.timer.cookie = cookie;
	ev.u.timer.inc = w->out ? w->out->inc[node] : 0;
	return sim_world_push(w, at, &ev) < 0 ? -ENOMEM : 0;
}

static int env_send(void *wp, ukf_node_id_t from, ukf_node_id_t to,
		    uint16_t type, const void *buf, size_t len,
		    const void *bulk, size_t bulk_len, uint64_t bulk_bytes)
{
	struct sim_world *w = wp;
	int rc = 0;
	/* msg_idle_curve: an idle receiver takes longer to wake (deliveries
	 * to it held that long past the message's latency; a transfer's time
	 * on the links overlaps the wait); with delta_idle_curve a remote
	 * fork's delta to it arrives both curves later than it would (its
	 * transfer not overlapping them: the calibration measures
	 * differences of whole save paths), the pair's later messages after
	 * it; a message lost to a cut wakes nobody */
	ukf_ns_t late = 0;
	if (w->idle_msgs && from != to && to < w->cfg.engine.nodes &&
	    from < w->cfg.engine.nodes && !sim_net_is_cut(w->net, from) &&
	    !sim_net_is_cut(w->net, to)) {
		double de = 0;
		double *dp = type == UKF_MSG_CLONE && bulk_len > 0 ? &de : NULL;
		double e = sim_be_msg_wake(w->sbe, from, to, dp);
		if (e < 0)
			return -ENOMEM; /* the backend failed the run */
		if (e >= 1)
			rc = sim_net_hold(w->net, to,
					  w->now + w->cfg.link_latency_ns +
					      w->cfg.model.peer_msg_ns +
					      (ukf_ns_t)e);
		if (dp && w->cfg.model.delta_idle_curve.n && e + de >= 1)
			late = (ukf_ns_t)(e + de);
	}
	if (rc == 0)
		rc = sim_net_send_late(w->net, w->now, from, to, type, buf, len,
				       bulk, bulk_len, bulk_bytes, late);
	if (rc == -ENOMEM) {
		w->failed = 1;
		snprintf(w->fail_msg, sizeof(w->fail_msg), "network: out of memory");
	}
	return rc;
}

static double env_uniform(void *wp, uint64_t key)
{
	struct sim_world *w = wp;
	double u = sim_rng_uniform(w->rng, key);
	if (!isfinite(u)) {
		rng_oom(w);
		return 0;
	}
	return u;
}

/*
 * The directory as node sees it: the shared view, but a node whose link
 * is cut sees only itself, as a live agent whose peers' heartbeats have
 * stopped: it places its requests on itself and fetches no template
 * (before 2026-12-06 it saw its peers, and what it sent them while cut
 * was lost for ever: the requests had no row until the end, their
 * wait()s never returned; test cli_faults_link_cut_origin).
 */
static const struct ukf_dir *env_directory(void *wp, ukf_node_id_t node)
{
	struct sim_world *w = wp;

	if (w->out && w->out->lone && node < w->cfg.engine.nodes &&
	    w->out->lone[node])
		return w->out->lone[node];
	return w->dir;
}

/*
 * A SIM_EV_DIR buffer for a record of len bytes. Records of up to
 * UKF_DIR_RECORD_MAX bytes (all the engine publishes) get one of that
 * size, reused from w->dir_free (every start and end of an instance
 * publishes, a malloc and a free each time otherwise); larger ones their
 * own. NULL on ENOMEM.
 */
static unsigned char *dir_buf_get(struct sim_world *w, size_t len)
{
	unsigned char *b = w->dir_free;

	if (len > UKF_DIR_RECORD_MAX)
		return malloc(DIR_HDR + len);
	if (!b)
		return malloc(DIR_HDR + UKF_DIR_RECORD_MAX);
	memcpy(&w->dir_free, b, sizeof(void *));
	return b;
}

/* Give back a buffer of dir_buf_get(w, len). */
static void dir_buf_put(struct sim_world *w, void *b, size_t len)
{
	if (len > UKF_DIR_RECORD_MAX) {
		free(b);
		return;
	}
	memcpy(b, &w->dir_free, sizeof(void *));
	w->dir_free = b;
}

static void env_publish(void *wp, ukf_node_id_t node, const void *rec,
			size_t len)
{
	struct sim_world *w = wp;
	/* DIR_HDR bytes first: the publishing node's incarnation */
	unsigned char *copy = dir_buf_get(w, len);
	if (!copy) {
		w->failed = 1;
		snprintf(w->fail_msg, sizeof(w->fail_msg), "directory: out of memory");
		return;
	}
	uint32_t inc = w->out && node < w->cfg.engine.nodes ? w->out->inc[node] : 0;
	memcpy(copy, &inc, sizeof(inc));
	if (len)
		memcpy(copy + DIR_HDR, rec, len);
	struct sim_ev ev = { .type = SIM_EV_DIR, .node = node };
	ev.u.dir.buf = copy;
	ev.u.dir.len = len;
	ukf_ns_t delay = w->cfg.dir_delay_ns;
	if (w->cfg.dir_delay_p99_ns > delay && delay > 0) {
		/* lognormal: median delay, p99 at z = 2.3263 */
		double sigma = log((double)w->cfg.dir_delay_p99_ns / (double)delay) /
			       2.3263478740408408;
		double z = sim_rng_gaussian(w->rng,
					    UKF_RNG_KEY(UKF_RNG_DIRECTORY, node));
		if (!isfinite(z)) { /* no stream: the median, and the run fails */
			rng_oom(w);
			z = 0;
		}
		double d = (double)delay * exp(sigma * z);
		delay = d < 9e18 ? (ukf_ns_t)d : INT64_MAX;
	}
	/* a delay past the clock's range: never applied */
	if (delay > INT64_MAX - w->now ||
	    sim_world_push(w, w->now + delay, &ev) < 0)
		dir_buf_put(w, copy, len);
}

static void env_fatal(void *wp, ukf_node_id_t node, const char *why)
{
	struct sim_world *w = wp;

	if (w->failed)
		return;
	w->failed = 1;
	snprintf(w->fail_msg, sizeof(w->fail_msg), "node %u: %s", node, why);
}

static int outage_record(struct sim_world *w, const struct ukf_record *r);
static void owed_write(struct sim_world *w, ukf_node_id_t host);
static int tell_requesters(struct sim_world *w, ukf_node_id_t node);

static void env_record(void *wp, const struct ukf_record *r)
{
	struct sim_world *w = wp;
	sim_map_del(&w->idents, r->id); /* a request that never started */
	if (w->out && outage_record(w, r))
		return;
	if (w->sinks.record)
		w->sinks.record(w->sinks.u, r);
}

static void env_log(void *wp, ukf_node_id_t node, const char *line)
{
	struct sim_world *w = wp;
	w->sinks.log(w->sinks.u, w->now, node, line);
}

/* Run ids from 1 in request order, whichever node asks: deterministic.
 * The first id asked for while a workload request is being made is that
 * request's (ukf_engine_spawn/fork number theirs first): it gets the
 * request's identity, its number among the workload's requests, which
 * does not depend on ids taken by the engine's own instances. */
static ukf_id_t env_new_id(void *wp, ukf_node_id_t node)
{
	struct sim_world *w = wp;
	ukf_id_t id = ++w->next_id;

	(void)node;
	if (w->req_open) {
		if (sim_map_put(&w->idents, id,
				sim_mix64(w->req_open ^ 0x7265717565737431ULL)) <
		    0) {
			w->failed = 1;
			snprintf(w->fail_msg, sizeof(w->fail_msg),
				 "out of memory recording a request");
		}
		w->req_open = 0;
	}
	return id;
}

ukf_engine_t *sim_world_engine(struct sim_world *w, ukf_node_id_t node)
{
	return w->engines && node < w->cfg.engine.nodes ? w->engines[node]
							 : NULL;
}

static void net_deliver(void *u, ukf_node_id_t to, ukf_node_id_t from,
			uint16_t type, const void *buf, size_t len,
			const void *bulk, size_t bulk_len)
{
	ukf_engine_t *e = sim_world_engine(u, to);

	if (e)
		ukf_engine_on_message(e, to, from, type, buf, len, bulk,
				      bulk_len);
}

/* ---- world ops (what the scenario runner calls) ---- */

static ukf_ns_t world_now(void *wp)
{
	return ((struct sim_world *)wp)->now;
}

static int world_at(void *wp, ukf_ns_t t, ukf_world_fn fn, void *arg, uint64_t x)
{
	struct sim_world *w = wp;
	if (!fn)
		return -EINVAL;
	struct sim_ev ev = { .type = SIM_EV_CALL };
	ev.u.call.fn = fn;
	ev.u.call.arg = arg;
	ev.u.call.x = x;
	return sim_world_push(w, t, &ev) < 0 ? -ENOMEM : 0;
}

static void take_samples(struct sim_world *w)
{
	char tmpl[1024];
	struct ukf_world_sample smp;

	for (ukf_node_id_t n = 0; n < w->cfg.engine.nodes; n++) {
		memset(&smp, 0, sizeof(smp));
		smp.t = w->now;
		smp.node = n;
		if (ukf_engine_node_stats(w->engines[n], n, &smp.s) < 0)
			continue;
		tmpl[0] = 0;
		ukf_engine_node_templates(w->engines[n], n, tmpl, sizeof(tmpl));
		tmpl[sizeof(tmpl) - 1] = 0;
		smp.templates = tmpl;
		w->sample(w->sinks.u, &smp);
	}
}

static int dir_current(struct sim_world *w, const struct sim_ev *ev);

static void dispatch(struct sim_world *w, const struct sim_ev *ev)
{
	switch (ev->type) {
	case SIM_EV_CALL:
		ev->u.call.fn(ev->u.call.arg, ev->u.call.x);
		break;
	case SIM_EV_TIMER:
		if (w->out && ev->node < w->cfg.engine.nodes &&
		    (w->out->state[ev->node] == 1 ||
		     ev->u.timer.inc != w->out->inc[ev->node]))
			break; /* a timer of a lost incarnation */
		if (ev->node < w->cfg.engine.nodes)
			ukf_engine_on_timer(w->engines[ev->node], ev->node,
					    ev->u.timer.cookie);
		break;
	case SIM_EV_XFER:
	case SIM_EV_DELIVER:
		if (sim_net_event(w->net, w->now, ev) < 0) {
			w->failed = 1;
			snprintf(w->fail_msg, sizeof(w->fail_msg),
				 "network: out of memory");
		}
		break;
	case SIM_EV_DIR:
		/* A record the directory rejects as malformed is the engine's
		 * bug; the view simply keeps the previous record. Without
		 * memory the run ends (a view missing a record would change
		 * the results). */
		if ((!w->out || dir_current(w, ev)) &&
		    ukf_dir_apply(w->dir,
				  (unsigned char *)ev->u.dir.buf + DIR_HDR,
				  ev->u.dir.len) == -ENOMEM) {
			w->failed = 1;
			snprintf(w->fail_msg, sizeof(w->fail_msg),
				 "directory: out of memory");
		}
		dir_buf_put(w, ev->u.dir.buf, ev->u.dir.len);
		break;
	case SIM_EV_INST:
	case SIM_EV_TEMPLATE:
		sim_be_event(w->sbe, ev);
		break;
	case SIM_EV_CPU:
		if (w->cpu && sim_cpu_event(w->cpu, w->now, ev) < 0) {
			w->failed = 1;
			snprintf(w->fail_msg, sizeof(w->fail_msg),
				 "host cpu: out of memory");
		}
		break;
	case SIM_EV_SAMPLE:
		/* A sample sees the state after every other event of its
		 * instant (the state of [t, t + period), as a time average
		 * wants): one with events still due at its time goes behind
		 * them (ties go in insertion order). Before 2026-12-08 the
		 * sample at 0 came before the arrivals at 0, later ones after
		 * those at their time: a run whose one instance ran from 0
		 * to the end had a mean memory of 15.2 MiB for its 16. */
		if (sim_queue_size(w->q) > 0 &&
		    sim_queue_peek_time(w->q) == w->now) {
			/* (a push that fails sets w->failed: the run fails) */
			if (sim_world_push(w, w->now, ev) == 0)
				w->events--; /* one event per sample taken */
			break;
		}
		take_samples(w);
		/* Keep sampling only while something else is going on (a
		 * sample left alone in the queue is not taken: world_run) */
		if (sim_queue_size(w->q) > 0) {
			struct sim_ev s = { .type = SIM_EV_SAMPLE };
			sim_world_push(w, w->now + w->cfg.sample_every_ns, &s);
		}
		break;
	default:
		break;
	}
}

/*
 * Start loading what the next event will touch while this one runs: in a
 * large cluster each event belongs to a node at random, and its first
 * reads (the engine's hot lines, the directory record) are cache misses
 * that would otherwise each stall the loop in turn. Hints only.
 */
static void prefetch_next(struct sim_world *w)
{
	const struct sim_ev *nx = sim_queue_peek_next(w->q);

	if (!nx || nx->node >= w->cfg.engine.nodes)
		return;
	switch (nx->type) {
	case SIM_EV_DIR:
		ukf_dir_prefetch(w->dir, nx->node);
		break;
	case SIM_EV_TIMER:
		ukf_engine_prefetch(w->engines[nx->node]);
		break;
	case SIM_EV_XFER:
		sim_net_prefetch(w->net, nx);
		break;
	case SIM_EV_DELIVER:
		sim_net_prefetch(w->net, nx);
		ukf_engine_prefetch(w->engines[nx->node]);
		break;
	case SIM_EV_INST:
	case SIM_EV_TEMPLATE:
		sim_be_prefetch(w->sbe, nx);
		ukf_engine_prefetch(w->engines[nx->node]);
		/* most instance steps start or end a work phase on the host */
		if (w->cpu && nx->type == SIM_EV_INST)
			sim_cpu_prefetch(w->cpu, nx);
		break;
	case SIM_EV_CPU:
		sim_cpu_prefetch(w->cpu, nx);
		break;
	default:
		break;
	}
}

/*
 * 1 if the world is idle but for its next sample: the run ends at its
 * last event, as it would without samples (samples observe a run, they
 * neither lengthen it nor add a sample after its end).
 */
static int only_sample_left(struct sim_world *w)
{
	const struct sim_ev *nx;

	if (!w->sample || sim_queue_size(w->q) != 1)
		return 0;
	nx = sim_queue_peek_next(w->q);
	return nx && nx->type == SIM_EV_SAMPLE;
}

static int world_run(void *wp, ukf_ns_t until, volatile int *stop, char *err,
		     size_t errlen)
{
	struct sim_world *w = wp;
	struct sim_ev ev;
	ukf_ns_t t;

	while (!(stop && *stop) && !w->failed) {
		t = sim_queue_peek_time(w->q);
		if (t == UKF_NS_NEVER)
			break;
		if (t > until) {
			if (until > w->now && !only_sample_left(w))
				w->now = until;
			break;
		}
		sim_queue_pop(w->q, &t, &ev);
		if (ev.type == SIM_EV_SAMPLE && t > w->now &&
		    sim_queue_size(w->q) == 0) {
			/* the world went idle at its last event: no sample
			 * after it, nor a later end. The sample stays queued
			 * (events added for a later run resume sampling). */
			if (sim_world_push(w, t, &ev) < 0) {
				w->failed = 1;
				snprintf(w->fail_msg, sizeof(w->fail_msg),
					 "out of memory");
			}
			break;
		}
		w->now = t;
		/* the heap grows 64 MiB at a time (huge.c): a look at the
		 * break every 64 events advises a new part while nearly all
		 * of it is untouched, without a libc call per event */
		if (!(++w->events & 63))
			sim_huge_heap();
		prefetch_next(w);
		dispatch(w, &ev);
	}
	if (w->failed) {
		snprintf(err, errlen, "sim: %s at t=%lld ns", w->fail_msg,
			 (long long)w->now);
		return -1;
	}
	return 0;
}

static uint64_t world_events(void *wp)
{
	return ((struct sim_world *)wp)->events;
}

static void drain(struct sim_world *w)
{
	struct sim_ev ev;
	while (sim_queue_pop(w->q, NULL, &ev)) {
		if (ev.type == SIM_EV_DIR)
			dir_buf_put(w, ev.u.dir.buf, ev.u.dir.len);
		else
			sim_net_drop(&ev);
	}
}

struct leftover {
	ukf_id_t id;
	uint32_t node;
};

static int cmp_leftover(const void *x, const void *y)
{
	const struct leftover *a = x, *b = y;

	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return a->node < b->node ? -1 : a->node > b->node;
}

/*
 * What the engines still hold at the end, ended in id order across the
 * whole world (rows as one engine for the whole cluster wrote them): an
 * instance where it runs; a request at its origin only if no node hosts
 * an instance of that id. Without memory for the list, each engine ends
 * its own at destroy.
 */
static void end_leftovers(struct sim_world *w)
{
	uint32_t nodes = w->cfg.engine.nodes;
	size_t n = 0, total = 0, k, j;
	struct leftover *l;
	ukf_id_t *ids;

	for (k = 0; k < nodes; k++)
		total += ukf_engine_leftovers(w->engines[k], NULL, 0);
	if (!total)
		return;
	l = malloc(total * sizeof(*l));
	ids = malloc(total * sizeof(*ids));
	if (!l || !ids) {
		free(l);
		free(ids);
		return;
	}
	/* each engine's ids into the whole buffer (not the part filled so
	 * far: that was 0 for node 0, whose ids were then never written) */
	for (k = 0; k < nodes; k++) {
		size_t m = ukf_engine_leftovers(w->engines[k], ids, total);

		for (j = 0; j < m && n < total; j++)
			l[n++] = (struct leftover){ ids[j], (uint32_t)k };
	}
	free(ids);
	qsort(l, n, sizeof(*l), cmp_leftover);
	for (k = 0; k < n; k = j) {
		int hosted = 0;

		for (j = k; j < n && l[j].id == l[k].id; j++)
			if (ukf_engine_has(w->engines[l[j].node], l[j].id) != 2)
				hosted = 1;
		for (size_t x = k; x < j; x++) {
			ukf_engine_t *e = w->engines[l[x].node];

			if (!hosted || ukf_engine_has(e, l[x].id) != 2)
				ukf_engine_end(e, l[x].id);
			else /* not ended at destroy either */
				ukf_engine_drop_request(e, l[x].id);
		}
	}
	free(l);
}

static void world_destroy(void **wp)
{
	struct sim_world *w = wp ? *wp : NULL;
	if (!w)
		return;
	/* The engines first: they destroy their instances through the
	 * backend and record the ones still alive, in run-wide id order. */
	if (w->engines) {
		owed_write(w, UKF_NODE_NONE); /* failures never noticed */
		end_leftovers(w);
		for (uint32_t k = 0; k < w->cfg.engine.nodes; k++)
			ukf_engine_destroy(&w->engines[k]);
	}
	free(w->engines);
	ukf_apps_destroy(&w->apps);
	if (w->q)
		drain(w);
	sim_be_destroy(&w->sbe);
	sim_cpu_destroy(&w->cpu);
	sim_net_destroy(&w->net);
	sim_rng_destroy(&w->rng);
	sim_map_free(&w->idents);
	if (w->out) {
		for (uint32_t k = 0; k < w->cfg.engine.nodes; k++)
			free(w->out->stash[k]);
		for (uint32_t k = 0; w->out->lone && k < w->cfg.engine.nodes;
		     k++)
			ukf_dir_destroy(&w->out->lone[k]);
		free(w->out->lone);
		free(w->out->stash);
		free(w->out->stash_len);
		free(w->out->state);
		free(w->out->inc);
		for (uint32_t k = 0; w->out->detect_why &&
				     k < w->cfg.engine.nodes; k++)
			free(w->out->detect_why[k]);
		free(w->out->detect_why);
		free(w->out->flags);
		free(w->out->owed);
		sim_map_free(&w->out->owed_ix);
		sim_map_free(&w->out->lost);
		free(w->out);
	}
	ukf_dir_destroy(&w->dir);
	sim_queue_destroy(&w->q);
	while (w->dir_free) {
		void *b = w->dir_free;

		memcpy(&w->dir_free, b, sizeof(void *));
		free(b);
	}
	free(w);
	*wp = NULL;
}

/* ---- the workload's door: each call to the right node's engine ---- */

static int world_add_app(void *wp, const struct ukf_app *app)
{
	struct sim_world *w = wp;

	return w->started ? -1 : ukf_apps_add(w->apps, app);
}

static const ukf_apps_t *world_apps(void *wp)
{
	return ((struct sim_world *)wp)->apps;
}

static int churn_start(struct sim_world *w);

static int world_start(void *wp)
{
	struct sim_world *w = wp;
	int rc;

	if (w->started)
		return -EINVAL;
	w->started = 1;
	/* every record published before any prewarm, as one engine did */
	for (uint32_t k = 0; k < w->cfg.engine.nodes; k++)
		if ((rc = ukf_engine_start(w->engines[k])) < 0)
			return rc;
	for (uint32_t k = 0; k < w->cfg.engine.nodes; k++)
		if ((rc = ukf_engine_prewarm(w->engines[k])) < 0)
			return rc;
	return churn_start(w);
}

static int world_spawn(void *wp, ukf_node_id_t origin, uint32_t app,
		       const char *args, uint64_t tag, ukf_id_t *id)
{
	struct sim_world *w = wp;
	ukf_engine_t *e = sim_world_engine(w, origin);
	int rc;

	if (!e)
		return -EINVAL;
	if (w->out && w->out->state[origin] == 1)
		return -EHOSTDOWN; /* its agent is gone */
	w->req_open = ++w->requests;
	rc = ukf_engine_spawn(e, origin, app, args, tag, id);
	w->req_open = 0;
	return rc;
}

/*
 * The engine that hosts instance `id`: the simulated backend knows where
 * its VMs run; an instance accepted but not yet started (waiting for a
 * template) is found by asking each engine. NULL if none hosts it.
 */
static ukf_engine_t *host_engine(struct sim_world *w, ukf_id_t id)
{
	ukf_node_id_t n = sim_be_node_of(w->sbe, id);

	if (n != UKF_NODE_NONE && ukf_engine_has(w->engines[n], id) == 1)
		return w->engines[n];
	for (uint32_t k = 0; k < w->cfg.engine.nodes; k++)
		if (ukf_engine_has(w->engines[k], id) == 1)
			return w->engines[k];
	return NULL;
}

static int world_fork(void *wp, ukf_id_t parent, uint64_t tag, ukf_id_t *id)
{
	struct sim_world *w = wp;
	ukf_engine_t *e = host_engine(w, parent);
	int rc;

	if (!e)
		return -ESRCH;
	w->req_open = ++w->requests;
	rc = ukf_engine_fork(e, parent, tag, id);
	w->req_open = 0;
	return rc;
}

static int world_kill(void *wp, ukf_id_t id)
{
	struct sim_world *w = wp;
	ukf_engine_t *e = host_engine(w, id);

	if (e)
		return ukf_engine_kill(e, id);
	/* not running anywhere: a request its origin still holds */
	for (uint32_t k = 0; k < w->cfg.engine.nodes; k++)
		if (ukf_engine_has(w->engines[k], id) == 2)
			return ukf_engine_kill(w->engines[k], id);
	return -ESRCH;
}

static uint64_t world_alive(void *wp)
{
	struct sim_world *w = wp;
	uint64_t n = 0;

	for (uint32_t k = 0; k < w->cfg.engine.nodes; k++)
		n += ukf_engine_alive(w->engines[k]);
	return n;
}

static uint32_t world_nodes(void *wp)
{
	return ((struct sim_world *)wp)->cfg.engine.nodes;
}

static int world_node_stats(void *wp, ukf_node_id_t node,
			    struct ukf_node_stats *s)
{
	ukf_engine_t *e = sim_world_engine(wp, node);

	return e ? ukf_engine_node_stats(e, node, s) : -EINVAL;
}

static size_t world_node_templates(void *wp, ukf_node_id_t node, char *buf,
				   size_t cap)
{
	ukf_engine_t *e = sim_world_engine(wp, node);

	if (!e) {
		if (cap)
			buf[0] = 0;
		return 0;
	}
	return ukf_engine_node_templates(e, node, buf, cap);
}

static const struct ukf_world_ops sim_world_ops = {
	.name = "sim",
	.now = world_now,
	.at = world_at,
	.run = world_run,
	.events = world_events,
	.destroy = world_destroy,
	.add_app = world_add_app,
	.apps = world_apps,
	.start = world_start,
	.spawn = world_spawn,
	.fork = world_fork,
	.kill = world_kill,
	.alive = world_alive,
	.nodes = world_nodes,
	.node_stats = world_node_stats,
	.node_templates = world_node_templates,
};

static int check_config(const struct ukf_sim_config *c, char *err, size_t errlen)
{
	const struct ukf_sim_model *m = &c->model;
	if (c->engine.nodes == 0) {
		snprintf(err, errlen, "sim: the cluster needs at least one node");
		return -1;
	}
	if (c->link_latency_ns < 0) {
		snprintf(err, errlen, "sim: negative link latency %lld ns",
			 (long long)c->link_latency_ns);
		return -1;
	}
	if (!(c->link_bandwidth_bps > 0) || !isfinite(c->link_bandwidth_bps)) {
		snprintf(err, errlen, "sim: link bandwidth must be > 0 bytes/s (got %g)",
			 c->link_bandwidth_bps);
		return -1;
	}
	if (c->dir_delay_p99_ns && c->dir_delay_p99_ns < c->dir_delay_ns) {
		snprintf(err, errlen,
			 "directory delay p99 (%" PRId64 " ns) below its median (%" PRId64 " ns)",
			 (int64_t)c->dir_delay_p99_ns, (int64_t)c->dir_delay_ns);
		return -1;
	}
	if (c->dir_delay_p99_ns > 0 && c->dir_delay_ns == 0) {
		snprintf(err, errlen,
			 "directory delay p99 (%" PRId64 " ns) with a median of 0: "
			 "the lognormal delay needs a median (dir_delay) > 0",
			 (int64_t)c->dir_delay_p99_ns);
		return -1;
	}
	if (c->dir_delay_ns < 0 || c->sample_every_ns < 0) {
		snprintf(err, errlen, "sim: negative directory delay or sample period");
		return -1;
	}
	if (m->boot_base_ns < 0 || m->template_base_ns < 0 || m->clone_base_ns < 0 ||
	    m->clone_ns_per_page < 0 || m->touch_ns_per_page < 0 ||
	    m->restore_base_ns < 0 || m->restore_ns_per_page < 0 ||
	    m->destroy_ns < 0 || m->load_base_ns < 0 || m->save_ns_per_page < 0 ||
	    !(m->boot_ns_per_byte >= 0) || !(m->template_ns_per_byte >= 0) ||
	    !(m->load_ns_per_byte >= 0) || !(m->boot_ns_per_mem_byte >= 0) ||
	    m->peer_msg_ns < 0 || !(m->fetched_first_ns_per_byte >= 0) ||
	    !ukf_sim_curve_ok(&m->load_curve) ||
	    !isfinite(m->fetched_first_ns_per_byte) ||
	    !(m->clone_ns_per_byte >= 0) || !isfinite(m->clone_ns_per_byte) ||
	    m->local_clone_ns < 0 || !ukf_sim_curve_ok(&m->idle_curve) ||
	    !ukf_sim_curve_ok(&m->boot_idle_curve) ||
	    !ukf_sim_curve_ok(&m->msg_idle_curve) ||
	    !ukf_sim_curve_ok(&m->delta_idle_curve) ||
	    !(m->jitter >= 0) || m->jitter > UKF_SIM_JITTER_MAX) {
		snprintf(err, errlen, "sim: model costs must be >= 0 (jitter 0..5)");
		return -1;
	}
	if (m->delta_idle_since != UKF_SIM_SINCE_MESSAGE &&
	    m->delta_idle_since != UKF_SIM_SINCE_ACTIVITY) {
		snprintf(err, errlen,
			 "sim: delta_idle_since must be message (0) or "
			 "activity (1), not %llu",
			 (unsigned long long)m->delta_idle_since);
		return -1;
	}
	if (c->racks > c->engine.nodes || !(c->rack_uplink_bps >= 0) ||
	    !(c->core_bps >= 0) || !isfinite(c->rack_uplink_bps) ||
	    !isfinite(c->core_bps)) {
		snprintf(err, errlen,
			 "sim: racks must be <= nodes (%u > %u?) and rack "
			 "uplink and core bandwidths >= 0 (0: unlimited)",
			 c->racks, c->engine.nodes);
		return -1;
	}
	const struct ukf_sim_faults *f = &c->faults;
	if (!(f->boot >= 0 && f->boot <= 1) || !(f->clone >= 0 && f->clone <= 1) ||
	    !(f->template >= 0 && f->template <= 1) ||
	    !(f->save_delta >= 0 && f->save_delta <= 1) ||
	    !(f->crash >= 0 && f->crash <= 1)) {
		snprintf(err, errlen, "sim: fault probabilities must be in [0, 1]");
		return -1;
	}
	if (c->churn_mtbf_ns < 0 || c->churn_mttr_ns < 0 || c->detect_ns < 0 ||
	    (c->churn_mtbf_ns > 0) != (c->churn_mttr_ns > 0)) {
		snprintf(err, errlen,
			 "sim: churn needs both a mean time between failures "
			 "and a mean time to repair > 0 (or neither), and a "
			 "detection delay >= 0");
		return -1;
	}
	return 0;
}

int ukf_sim_create(struct ukf_world *world, const struct ukf_sim_config *cfg,
		   const struct ukf_world_sinks *sinks,
		   void (*sample)(void *u, const struct ukf_world_sample *s),
		   char *err, size_t errlen)
{
	struct sim_world *w;

	if (!world || !cfg) {
		snprintf(err, errlen, "sim: no world or configuration");
		return -1;
	}
	if (check_config(cfg, err, errlen) < 0)
		return -1;
	sim_huge_setup(cfg->engine.nodes);
	w = calloc(1, sizeof(*w));
	if (!w)
		goto oom;
	sim_map_init(&w->idents);
	w->cfg = *cfg;
	w->idle_msgs = cfg->model.msg_idle_curve.n || cfg->model.delta_idle_curve.n;
	w->cfg.engine.per_node = cfg->engine.per_node; /* caller keeps it alive */
	if (sinks)
		w->sinks = *sinks;
	w->sample = cfg->sample_every_ns > 0 ? sample : NULL;

	w->env_ops = (struct ukf_env_ops){
		.now = env_now,
		.timer = env_timer,
		.send = env_send,
		.uniform = env_uniform,
		.directory = env_directory,
		.publish = env_publish,
		.record = w->sinks.record ? env_record : NULL,
		.log = w->sinks.log ? env_log : NULL,
		.new_id = env_new_id,
		.fatal = env_fatal,
	};
	w->env.ops = &w->env_ops;
	w->env.w = w;
	w->be.ops = &sim_backend_ops;

	if (!(w->q = sim_queue_create()) ||
	    !(w->rng = sim_rng_create(cfg->seed, cfg->rep)) ||
	    !(w->dir = ukf_dir_create(cfg->engine.nodes)) ||
	    !(w->apps = ukf_apps_create()) ||
	    !(w->engines = calloc(cfg->engine.nodes, sizeof(*w->engines))) ||
	    !(w->sbe = sim_be_create(w)) ||
	    !(w->net = sim_net_create(w->q, cfg->engine.nodes,
				      cfg->link_latency_ns +
					  cfg->model.peer_msg_ns,
				      cfg->link_bandwidth_bps, net_deliver, w)) ||
	    (cfg->cores > 0 &&
	     !(w->cpu = sim_cpu_create(w->q, cfg->engine.nodes, cfg->cores))))
		goto oom_free;
	w->be.b = w->sbe;
	if ((cfg->net_fair || cfg->racks) &&
	    sim_net_fabric(w->net, cfg->racks, cfg->rack_uplink_bps,
			   cfg->core_bps) < 0)
		goto oom_free;

	/* one engine per node, sharing the apps, the env and the backend */
	for (uint32_t k = 0; k < cfg->engine.nodes; k++) {
		struct ukf_engine_config ec = w->cfg.engine;

		ec.self = k;
		w->engines[k] = ukf_engine_create(&ec, w->apps, &w->env,
						  &w->be, &w->sinks.hooks, err,
						  errlen);
		sim_huge_heap();
		if (!w->engines[k]) {
			void *p = w;
			world_destroy(&p);
			return -1;
		}
	}
	sim_huge_heap();
	if (w->sample) {
		struct sim_ev s = { .type = SIM_EV_SAMPLE };
		if (sim_world_push(w, 0, &s) < 0)
			goto oom_free;
	}
	world->ops = &sim_world_ops;
	world->w = w;
	return 0;

oom_free:
	{
		void *p = w;
		world_destroy(&p);
	}
oom:
	snprintf(err, errlen, "sim: out of memory creating the world");
	return -1;
}

/* ---- keyed streams for the runner ---- */

static struct sim_world *as_sim(const struct ukf_world *world)
{
	if (!world || world->ops != &sim_world_ops)
		return NULL;
	return world->w;
}

int ukf_sim_is(const struct ukf_world *world)
{
	return as_sim(world) != NULL;
}

double ukf_sim_uniform(struct ukf_world *world, uint64_t key)
{
	struct sim_world *w = as_sim(world);
	return w ? env_uniform(w, key) : NAN;
}

double ukf_sim_exponential(struct ukf_world *world, uint64_t key, double mean)
{
	struct sim_world *w = as_sim(world);
	if (!w || !(mean >= 0))
		return NAN;
	return sim_rng_exponential(w->rng, key, mean);
}

/* ---- the network fabric and outages ---- */

int ukf_sim_set_network(struct ukf_world *world, int fair, uint32_t racks,
			double rack_uplink_bps, double core_bps, char *err,
			size_t errlen)
{
	struct sim_world *w = as_sim(world);

	if (!w) {
		snprintf(err, errlen, "not a simulated world");
		return -1;
	}
	if (w->started || w->cfg.net_fair || w->cfg.racks) {
		snprintf(err, errlen,
			 "the network is set once, before the world starts");
		return -1;
	}
	if (racks > w->cfg.engine.nodes) {
		snprintf(err, errlen, "racks=%u: more racks than nodes (%u)",
			 racks, w->cfg.engine.nodes);
		return -1;
	}
	if (!(rack_uplink_bps >= 0) || !(core_bps >= 0) ||
	    !isfinite(rack_uplink_bps) || !isfinite(core_bps)) {
		snprintf(err, errlen,
			 "bandwidths must be >= 0 bytes/s (0: unlimited)");
		return -1;
	}
	if (!fair && !racks)
		return 0; /* the per-link model, as before */
	if (sim_net_fabric(w->net, racks, rack_uplink_bps, core_bps) < 0) {
		snprintf(err, errlen, "the network is already in use");
		return -1;
	}
	w->cfg.net_fair = 1;
	w->cfg.racks = racks;
	w->cfg.rack_uplink_bps = rack_uplink_bps;
	w->cfg.core_bps = core_bps;
	return 0;
}

/* A record event still current: its node's incarnation, not failed; a
 * link-failed node's record is kept for its recovery instead. */
static int dir_current(struct sim_world *w, const struct sim_ev *ev)
{
	struct sim_outage *o = w->out;
	uint32_t inc, node = ev->node;

	memcpy(&inc, ev->u.dir.buf, sizeof(inc));
	if (node >= w->cfg.engine.nodes)
		return 1;
	if (inc != o->inc[node] || o->state[node] == 1)
		return 0;
	if (o->state[node] == 2) {
		/* its own view sees it at once (out of memory: the run
		 * fails, as for the shared view) */
		if (o->lone && o->lone[node] &&
		    ukf_dir_apply(o->lone[node],
				  (unsigned char *)ev->u.dir.buf + DIR_HDR,
				  ev->u.dir.len) == -ENOMEM) {
			w->failed = 1;
			snprintf(w->fail_msg, sizeof(w->fail_msg),
				 "directory: out of memory");
		}
		unsigned char *c = malloc(ev->u.dir.len ? ev->u.dir.len : 1);
		if (c) {
			memcpy(c, (unsigned char *)ev->u.dir.buf + DIR_HDR,
			       ev->u.dir.len);
			free(o->stash[node]);
			o->stash[node] = c;
			o->stash_len[node] = ev->u.dir.len;
		}
		return 0;
	}
	return 1;
}

/* Keep row r, ended by the failing node's engine, as owed (struct owed).
 * 0, or -1 out of memory. */
static int owe(struct sim_world *w, const struct ukf_record *r)
{
	struct sim_outage *o = w->out;
	struct owed *x;

	if (o->nowed == o->capowed) {
		size_t c = o->capowed ? 2 * o->capowed : 16;
		x = realloc(o->owed, c * sizeof(*x));
		if (!x)
			return -1;
		o->owed = x;
		o->capowed = c;
	}
	x = &o->owed[o->nowed];
	if (sim_map_put(&o->owed_ix, r->id, o->nowed + 1) < 0)
		return -1;
	o->nowed++;
	x->r = *r;
	x->r.status = UKF_STATUS_FAILED;
	x->r.t_exit = w->now;
	x->r.fail_reason = NULL;
	x->r.unanswered = 0; /* a failure's row now, not the end's */
	x->host = o->crashing;
	x->live = 1;
	x->req = 0;
	snprintf(x->why, sizeof(x->why), "%s", o->why);
	return 0;
}

/* Does a node host an instance of id (whose row it will write)? */
static int hosted(struct sim_world *w, ukf_id_t id)
{
	for (uint32_t k = 0; k < w->cfg.engine.nodes; k++)
		if (ukf_engine_has(w->engines[k], id) == 1)
			return 1;
	return 0;
}

/* Write the rows still owed for node host's failure (UKF_NODE_NONE: every
 * node's, at the end of the run): their origins did not write them when
 * they noticed it. Each requester is told (again: a second notice is
 * ignored). */
static void owed_write(struct sim_world *w, ukf_node_id_t host)
{
	struct sim_outage *o = w->out;
	size_t live = 0;

	if (!o || !o->nowed)
		return;
	for (size_t k = 0; k < o->nowed; k++) {
		struct owed *x = &o->owed[k];
		if (!x->live || (host != UKF_NODE_NONE && x->host != host)) {
			live += x->live;
			continue;
		}
		x->live = 0;
		sim_map_del(&o->owed_ix, x->r.id);
		if (o->lost.count && sim_map_del(&o->lost, x->r.id))
			continue; /* written already, lost behind a cut link */
		if (x->r.origin < w->cfg.engine.nodes &&
		    ukf_engine_has(w->engines[x->r.origin], x->r.id) == 2) {
			if (host != UKF_NODE_NONE)
				continue; /* its origin places it again (its
					   * READY had not come): that
					   * attempt's row */
			/* the run ends before its origin noticed: it was
			 * lost with its host, not still starting (the
			 * origin's row would say unfinished) */
			ukf_engine_drop_request(w->engines[x->r.origin],
						x->r.id);
		}
		if (x->req && hosted(w, x->r.id))
			continue; /* its host still runs it: its row */
		x->r.fail_reason = x->why;
		if (w->sinks.record)
			w->sinks.record(w->sinks.u, &x->r);
		if (w->sinks.hooks.on_fail)
			w->sinks.hooks.on_fail(w->sinks.hooks.u, x->r.id, 0,
					       x->why);
	}
	if (!live)
		o->nowed = 0;
}

/*
 * A row written while an outage is handled. Returns 1 if it was handled
 * here (written changed, or not written), 0 to write it as it is.
 */
static int outage_record(struct sim_world *w, const struct ukf_record *r)
{
	struct sim_outage *o = w->out;

	if (o->crashing != UKF_NODE_NONE) {
		/* the failed node's engine ending what it held */
		if (o->suppress) {
			/* a request only: its host writes the row, if it
			 * does not give it back to the failed origin */
			if (owe(w, r) < 0) {
				w->failed = 1;
				snprintf(w->fail_msg, sizeof(w->fail_msg),
					 "outage: out of memory");
			} else {
				o->owed[o->nowed - 1].req = 1;
			}
			return 1;
		}
		if (!r->template_boot && r->origin != o->crashing) {
			/* its origin's peer_down writes the row, if it
			 * still knows the instance: owed until then */
			if (owe(w, r) < 0) {
				w->failed = 1;
				snprintf(w->fail_msg, sizeof(w->fail_msg),
					 "outage: out of memory");
			}
			return 1;
		}
		struct ukf_record c = *r;
		c.status = UKF_STATUS_FAILED;
		c.t_exit = w->now;
		c.fail_reason = o->why;
		c.unanswered = 0;
		if (w->sinks.record)
			w->sinks.record(w->sinks.u, &c);
		if (!r->template_boot && w->sinks.hooks.on_fail)
			w->sinks.hooks.on_fail(w->sinks.hooks.u, r->id, 0,
					       o->why);
		return 1;
	}
	if (o->owed_ix.count) {
		uint64_t ix;
		if (sim_map_get(&o->owed_ix, r->id, &ix)) {
			o->owed[ix - 1].live = 0; /* written by its origin */
			sim_map_del(&o->owed_ix, r->id);
		}
	}
	if (o->collect) {
		if (sim_map_put(&o->lost, r->id, 1) < 0) {
			w->failed = 1;
			snprintf(w->fail_msg, sizeof(w->fail_msg),
				 "outage: out of memory");
		}
		return 0;
	}
	if (o->lost.count && sim_map_del(&o->lost, r->id))
		return 1; /* written already as lost behind a cut link */
	return 0;
}

static int outage_make(struct sim_world *w, char *err, size_t errlen)
{
	uint32_t nodes = w->cfg.engine.nodes;
	struct sim_outage *o;

	if (w->out)
		return 0;
	o = calloc(1, sizeof(*o));
	if (o) {
		o->state = calloc(nodes, sizeof(*o->state));
		o->inc = calloc(nodes, sizeof(*o->inc));
		o->stash = calloc(nodes, sizeof(*o->stash));
		o->stash_len = calloc(nodes, sizeof(*o->stash_len));
		o->flags = calloc(nodes, sizeof(*o->flags));
		o->detect_why = calloc(nodes, sizeof(*o->detect_why));
		sim_map_init(&o->lost);
		sim_map_init(&o->owed_ix);
		o->crashing = UKF_NODE_NONE;
	}
	if (!o || !o->state || !o->inc || !o->stash || !o->stash_len ||
	    !o->flags || !o->detect_why) {
		if (o) {
			free(o->flags);
			free(o->detect_why);
			free(o->state);
			free(o->inc);
			free(o->stash);
			free(o->stash_len);
			free(o);
		}
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w->out = o;
	return 0;
}

/* Common checks; the world or NULL with err set. */
static struct sim_world *outage_world(struct ukf_world *world,
				      ukf_node_id_t node, char *err,
				      size_t errlen)
{
	struct sim_world *w = as_sim(world);

	if (!w) {
		snprintf(err, errlen, "only a simulated world has outages");
		return NULL;
	}
	if (node >= w->cfg.engine.nodes) {
		snprintf(err, errlen, "bad node %u (the cluster has 0..%u)",
			 node, w->cfg.engine.nodes - 1);
		return NULL;
	}
	if (!w->started) {
		snprintf(err, errlen, "the world has not started");
		return NULL;
	}
	return outage_make(w, err, errlen) < 0 ? NULL : w;
}

static int cmp_id_sim(const void *x, const void *y)
{
	ukf_id_t a = *(const ukf_id_t *)x, b = *(const ukf_id_t *)y;

	return a < b ? -1 : a > b;
}

/* What engine e holds (ukf_engine_leftovers), in id order, into *n ids:
 * a malloc'd array the caller frees, or NULL out of memory. */
static ukf_id_t *sorted_leftovers(const ukf_engine_t *e, size_t *n)
{
	size_t k = ukf_engine_leftovers(e, NULL, 0);
	ukf_id_t *ids = malloc((k + 1) * sizeof(*ids));

	if (!ids)
		return NULL;
	*n = ukf_engine_leftovers(e, ids, k);
	qsort(ids, *n, sizeof(*ids), cmp_id_sim);
	return ids;
}

/* The failed node's engine ends everything it held (rows as failed,
 * requesters told) and a new one, not started, takes its place. */
static int crash_engine(struct sim_world *w, ukf_node_id_t node)
{
	struct sim_outage *o = w->out;
	ukf_engine_t *e = w->engines[node];
	size_t n;
	ukf_id_t *ids = sorted_leftovers(e, &n);
	char err[160];

	if (!ids)
		return -1;
	o->crashing = node;
	for (size_t k = 0; k < n; k++) {
		o->suppress = 0;
		if (ukf_engine_has(e, ids[k]) == 2) /* a request only */
			for (uint32_t j = 0; j < w->cfg.engine.nodes; j++)
				if (j != node &&
				    ukf_engine_has(w->engines[j], ids[k]) == 1)
					o->suppress = 1; /* its host's row */
		ukf_engine_end(e, ids[k]);
	}
	o->crashing = UKF_NODE_NONE;
	o->suppress = 0;
	free(ids);
	/* the requesters of its instances running elsewhere: the notices of
	 * their end would come to it. tell_requesters finds those still
	 * alive on other nodes; the engine's own list, also those whose EXIT
	 * is in flight to it, lost with it (their requesters would wait for
	 * ever). A second notice is ignored. */
	if (tell_requesters(w, node) < 0)
		return -1;
	ukf_engine_tell_lost(e, o->why);
	ukf_engine_destroy(&w->engines[node]);
	/* its templates are gone with it */
	for (uint32_t a = 0; a < ukf_apps_count(w->apps); a++)
		w->be.ops->drop_template(w->be.b, node, a);
	struct ukf_engine_config ec = w->cfg.engine;
	ec.self = node;
	w->engines[node] = ukf_engine_create(&ec, w->apps, &w->env, &w->be,
					     &w->sinks.hooks, err, sizeof(err));
	if (!w->engines[node]) {
		w->failed = 1;
		snprintf(w->fail_msg, sizeof(w->fail_msg), "node %u: %.100s",
			 node, err);
		return -1;
	}
	return 0;
}

/*
 * Requests the failed node made that run on other nodes run on (their
 * hosts write their rows when they end), but their requesters asked
 * through the failed node and would hear of them no more: they are told
 * now that the node was lost. 0, or -1 out of memory.
 */
static int tell_requesters(struct sim_world *w, ukf_node_id_t node)
{
	struct sim_outage *o = w->out;

	if (!w->sinks.hooks.on_fail)
		return 0;
	for (uint32_t k = 0; k < w->cfg.engine.nodes; k++) {
		ukf_engine_t *e = w->engines[k];
		size_t n;
		ukf_id_t *ids;

		if (k == node || o->state[k] == 1)
			continue;
		if (!(ids = sorted_leftovers(e, &n)))
			return -1;
		for (size_t j = 0; j < n; j++)
			if (ukf_engine_origin(e, ids[j]) == node)
				w->sinks.hooks.on_fail(w->sinks.hooks.u, ids[j],
						       0, o->why);
		free(ids);
	}
	return 0;
}

/* Every other node still up is told `node` is lost (peer_down). */
static void peers_told(struct sim_world *w, ukf_node_id_t node,
		       const char *why)
{
	for (uint32_t k = 0; k < w->cfg.engine.nodes; k++)
		if (k != node && w->out->state[k] != 1) {
			ukf_engine_peer_failed(w->engines[k], node, why);
			ukf_engine_peer_down(w->engines[k], node, why);
		}
}

/* An outage of node now, to the outage sink (the log lines are the
 * callers'). */
static void outage_note(struct sim_world *w, ukf_node_id_t node,
			const char *kind, const char *reason)
{
	if (w->sinks.outage)
		w->sinks.outage(w->sinks.u, w->now, node, kind, reason);
}

/* The others notice node's failure now: its record is forgotten and
 * every node up is told (peer_down: requests sent there placed again). */
static void detect_now(struct sim_world *w, ukf_node_id_t node)
{
	struct sim_outage *o = w->out;
	char *why = o->detect_why[node];

	o->flags[node] &= (uint8_t)~OUT_UNDETECTED;
	o->detect_why[node] = NULL;
	if (w->sinks.log) {
		char line[64];
		snprintf(line, sizeof(line), "node-detect node=%u", node);
		w->sinks.log(w->sinks.u, w->now, node, line);
	}
	outage_note(w, node, "node-detect", NULL);
	ukf_dir_forget(w->dir, node);
	peers_told(w, node, why ? why : "failed");
	owed_write(w, node);
	free(why);
}

/* The detection of incarnation x >> 32 of node (uint32_t)x's failure. */
static void detect_fire(void *arg, uint64_t x)
{
	struct sim_world *w = arg;
	ukf_node_id_t node = (ukf_node_id_t)x;

	if ((w->out->flags[node] & OUT_UNDETECTED) &&
	    w->out->inc[node] == (uint32_t)(x >> 32))
		detect_now(w, node);
}

/* node failed now: the others notice detect_ns later. 0 or -1 (ENOMEM). */
static int detect_later(struct sim_world *w, ukf_node_id_t node,
			const char *why)
{
	struct sim_outage *o = w->out;
	struct sim_ev ev = { .type = SIM_EV_CALL };

	free(o->detect_why[node]);
	if (!(o->detect_why[node] = strdup(why)))
		return -1;
	o->flags[node] |= OUT_UNDETECTED;
	ev.u.call.fn = detect_fire;
	ev.u.call.arg = w;
	ev.u.call.x = node | (uint64_t)o->inc[node] << 32;
	if (w->cfg.detect_ns > INT64_MAX - w->now)
		return 0; /* past the clock's range: never (a recovery still
			   * notices it) */
	return sim_world_push(w, w->now + w->cfg.detect_ns, &ev);
}

int ukf_sim_fail_node(struct ukf_world *world, ukf_node_id_t node,
		      const char *why, char *err, size_t errlen)
{
	struct sim_world *w = outage_world(world, node, err, errlen);
	struct sim_outage *o;

	if (!w)
		return -1;
	o = w->out;
	if (o->state[node] == 1) {
		snprintf(err, errlen, "node %u has already failed", node);
		return -1;
	}
	snprintf(o->why, sizeof(o->why), "node %u lost: %s", node,
		 why && *why ? why : "failed");
	if (w->sinks.log) {
		char line[200];
		snprintf(line, sizeof(line), "node-fail node=%u reason=%s",
			 node, why && *why ? why : "failed");
		w->sinks.log(w->sinks.u, w->now, node, line);
	}
	outage_note(w, node, "node-fail", why && *why ? why : "failed");
	int was_cut = o->state[node] == 2;
	/* with a detection delay the others notice later (detect_fire) */
	int later = !was_cut && w->cfg.detect_ns > 0;
	o->state[node] = 1;
	if (o->lone) /* its restarted engine will see the shared view */
		ukf_dir_destroy(&o->lone[node]);
	o->inc[node]++;
	free(o->stash[node]);
	o->stash[node] = NULL;
	if (sim_net_cut(w->net, w->now, node, 1) < 0)
		goto oom;
	if (!later)
		ukf_dir_forget(w->dir, node);
	if (crash_engine(w, node) < 0)
		goto oom;
	if (later) {
		if (detect_later(w, node, why && *why ? why : "failed") < 0)
			goto oom;
	} else if (!was_cut) { /* else they were told at the cut */
		peers_told(w, node, why && *why ? why : "failed");
	} else { /* told it was cut off, not that it failed */
		for (uint32_t k = 0; k < w->cfg.engine.nodes; k++)
			if (k != node && o->state[k] != 1)
				ukf_engine_peer_failed(w->engines[k], node,
						       why && *why ? why
								   : "failed");
	}
	if (!later)
		owed_write(w, node);
	return 0;
oom:
	w->failed = 1;
	snprintf(w->fail_msg, sizeof(w->fail_msg), "outage: out of memory");
	snprintf(err, errlen, "out of memory");
	return -1;
}

int ukf_sim_recover_node(struct ukf_world *world, ukf_node_id_t node,
			 char *err, size_t errlen)
{
	struct sim_world *w = outage_world(world, node, err, errlen);

	if (!w)
		return -1;
	if (w->out->state[node] != 1) {
		snprintf(err, errlen, "node %u has not failed", node);
		return -1;
	}
	/* back before its failure was noticed: its restart (a new
	 * incarnation's record) tells the others the old one is gone */
	if (w->out->flags[node] & OUT_UNDETECTED)
		detect_now(w, node);
	/* recovered by the scenario: churn's recovery will not touch a
	 * later failure of the scenario's own */
	w->out->flags[node] &= (uint8_t)~OUT_CHURNED;
	if (w->sinks.log)
		w->sinks.log(w->sinks.u, w->now, node, "node-recover");
	outage_note(w, node, "node-recover", NULL);
	w->out->state[node] = 0;
	if (sim_net_cut(w->net, w->now, node, 0) < 0 ||
	    ukf_engine_start(w->engines[node]) < 0 ||
	    ukf_engine_prewarm(w->engines[node]) < 0) {
		snprintf(err, errlen, "node %u could not restart", node);
		return -1;
	}
	return 0;
}

int ukf_sim_fail_link(struct ukf_world *world, ukf_node_id_t node,
		      const char *why, char *err, size_t errlen)
{
	struct sim_world *w = outage_world(world, node, err, errlen);
	struct sim_outage *o;
	unsigned char buf[2048];

	if (!w)
		return -1;
	o = w->out;
	if (o->state[node] != 0) {
		snprintf(err, errlen, "node %u is already %s", node,
			 o->state[node] == 1 ? "failed" : "cut off");
		return -1;
	}
	why = why && *why ? why : "link failed";
	/* its record as the others last saw it, shown again at recovery
	 * (taken first: without memory for it nothing has changed) */
	size_t len = ukf_dir_encode(ukf_dir_get(w->dir, node), buf, sizeof(buf));
	void *stash = len ? malloc(len) : NULL;
	if (len && !stash) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (stash)
		memcpy(stash, buf, len);
	/* its own view from now on: itself alone (env_directory) */
	ukf_dir_t *lone = NULL;
	if ((!o->lone &&
	     !(o->lone = calloc(w->cfg.engine.nodes, sizeof(*o->lone)))) ||
	    !(lone = ukf_dir_create(w->cfg.engine.nodes)) ||
	    (len && ukf_dir_apply(lone, buf, len) == -ENOMEM)) {
		/* (a record not yet heard of, version 0, is not applied:
		 * its next one is, dir_current) */
		ukf_dir_destroy(&lone);
		free(stash);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	o->lone[node] = lone;
	free(o->stash[node]);
	o->stash[node] = stash;
	o->stash_len[node] = stash ? len : 0;
	if (w->sinks.log) {
		char line[200];
		snprintf(line, sizeof(line), "link-fail node=%u reason=%s",
			 node, why);
		w->sinks.log(w->sinks.u, w->now, node, line);
	}
	outage_note(w, node, "link-fail", why);
	o->state[node] = 2;
	if (sim_net_cut(w->net, w->now, node, 1) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ukf_dir_forget(w->dir, node);
	o->collect = 1;
	for (uint32_t k = 0; k < w->cfg.engine.nodes; k++) {
		if (k == node || o->state[k] == 1)
			continue;
		ukf_engine_peer_down(w->engines[k], node, why);
		ukf_engine_peer_down(w->engines[node], k, why);
	}
	o->collect = 0;
	return 0;
}

int ukf_sim_recover_link(struct ukf_world *world, ukf_node_id_t node,
			 char *err, size_t errlen)
{
	struct sim_world *w = outage_world(world, node, err, errlen);
	struct sim_outage *o;

	if (!w)
		return -1;
	o = w->out;
	if (o->state[node] != 2) {
		snprintf(err, errlen, "node %u's link has not failed", node);
		return -1;
	}
	/* the others see its last record again (first: without memory for
	 * it the link stays cut, the stash kept) */
	if (o->stash[node] &&
	    ukf_dir_apply(w->dir, o->stash[node], o->stash_len[node]) ==
		-ENOMEM) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(o->stash[node]);
	o->stash[node] = NULL;
	ukf_dir_destroy(&o->lone[node]); /* the shared view again */
	if (w->sinks.log)
		w->sinks.log(w->sinks.u, w->now, node, "link-recover");
	outage_note(w, node, "link-recover", NULL);
	o->state[node] = 0;
	if (sim_net_cut(w->net, w->now, node, 0) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int ukf_sim_node_state(struct ukf_world *world, ukf_node_id_t node)
{
	struct sim_world *w = as_sim(world);

	if (!w || node >= w->cfg.engine.nodes)
		return -1;
	return w->out ? w->out->state[node] : 0;
}

uint64_t ukf_sim_net_dropped(struct ukf_world *world)
{
	struct sim_world *w = as_sim(world);

	return w ? sim_net_dropped(w->net) : 0;
}

/* ---- Churn (sim/README.md "Churn") ---- */

/*
 * Length of node's period k: even k an up period (mean churn_mtbf_ns),
 * odd k a down period (churn_mttr_ns), exponential, the draw at index k
 * of the node's own stream: the same in every configuration of a sweep.
 * UKF_NS_NEVER if it would pass the clock's range.
 */
static ukf_ns_t churn_period(struct sim_world *w, ukf_node_id_t node,
			     uint64_t k)
{
	double mean = (double)(k % 2 ? w->cfg.churn_mttr_ns
				     : w->cfg.churn_mtbf_ns);
	double u = sim_rng_at(w->rng, UKF_RNG_KEY(SIM_RNG_CHURN, node), k);
	double d = -mean * log(u); /* u in (0, 1) */

	return d < 4e18 ? (ukf_ns_t)llround(d) : UKF_NS_NEVER;
}

static void churn_fire(void *arg, uint64_t x);

/* Schedule the end of node's period k, which starts now. */
static int churn_next(struct sim_world *w, ukf_node_id_t node, uint64_t k)
{
	struct sim_ev ev = { .type = SIM_EV_CALL };
	ukf_ns_t d = churn_period(w, node, k);

	if (d == UKF_NS_NEVER || k > UINT32_MAX || w->now > INT64_MAX - d)
		return 0;
	ev.u.call.fn = churn_fire;
	ev.u.call.arg = w;
	ev.u.call.x = node | k << 32;
	return sim_world_push(w, w->now + d, &ev);
}

/*
 * The end of period x >> 32 of node (uint32_t)x: an up period ends in a
 * failure (skipped if the node is already failed or cut by the scenario),
 * a down period in its recovery (only of a failure churn made, if the
 * scenario has not recovered it already). Either way the next period is
 * drawn, so a node's trace of periods never depends on anything else.
 */
static void churn_fire(void *arg, uint64_t x)
{
	struct sim_world *w = arg;
	struct sim_outage *o = w->out;
	ukf_node_id_t node = (ukf_node_id_t)x;
	uint64_t k = x >> 32;
	struct ukf_world world = { &sim_world_ops, w };
	char err[160];

	if (k % 2 == 0) {
		if (o->state[node] == 0) {
			if (ukf_sim_fail_node(&world, node, "churn", err,
					      sizeof(err)) < 0)
				return; /* w->failed: the run stops */
			o->flags[node] |= OUT_CHURNED;
		}
	} else if (o->flags[node] & OUT_CHURNED) {
		o->flags[node] &= (uint8_t)~OUT_CHURNED;
		if (o->state[node] == 1 &&
		    ukf_sim_recover_node(&world, node, err, sizeof(err)) < 0) {
			w->failed = 1;
			snprintf(w->fail_msg, sizeof(w->fail_msg),
				 "churn: %.100s", err);
			return;
		}
	}
	churn_next(w, node, k + 1);
}

/* At the world's start: every node's first up period. 0 or -ENOMEM. */
static int churn_start(struct sim_world *w)
{
	char err[64];

	if (w->cfg.churn_mtbf_ns <= 0)
		return 0;
	if (outage_make(w, err, sizeof(err)) < 0)
		return -ENOMEM;
	for (uint32_t n = 0; n < w->cfg.engine.nodes; n++)
		if (churn_next(w, n, 0) < 0)
			return -ENOMEM;
	return 0;
}
