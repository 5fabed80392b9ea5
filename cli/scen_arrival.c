/* SPDX-License-Identifier: MIT */
/* scen_arrival.c - arrival processes in C (no Lua on the hot path). */
#define _GNU_SOURCE
#include "scen_int.h"

/* ------------------------------------------------------------------ */
/* Arrival processes in C (no Lua on the hot path).                     */

static void arrival_fire(void *arg, uint64_t x);

/*
 * An arrival no engine took (its node down, or the world refused it) is a
 * request all the same: a failed row, so that the run's requests, failures
 * and success rate count it as a client's request to a lost node counts.
 * No engine gave it an id: the run's refused arrivals are -1, -2, ... in
 * the database (ukf_id_t's top values), never an engine's.
 */
static void arrival_refused(struct run *r, uint32_t app, uint32_t node, int rc)
{
	ukf_ns_t now = r->world.ops->now(r->world.w);
	char what[96], why[128], n[16], line[256];

	if (rc == -EHOSTDOWN)
		snprintf(what, sizeof(what), "node %u is down", node);
	else
		snprintf(what, sizeof(what), "at node %u: %s", node,
			 strerror(-rc));
	snprintf(why, sizeof(why), "arrival refused: %s", what);
	r->spawn_errors++;
	struct ukf_record rec = {
	    .id = (ukf_id_t)0 - r->spawn_errors,
	    .app = app,
	    .app_name = r->apps[app].app.name,
	    .origin = node,
	    .node = UKF_NODE_NONE,
	    .start = UKF_START_UNKNOWN,
	    .t_request = now,
	    .t_placed = UKF_NS_NEVER,
	    .t_start = UKF_NS_NEVER,
	    .t_ready = UKF_NS_NEVER,
	    .t_exit = now,
	    .status = UKF_STATUS_FAILED,
	    .fail_reason = why,
	};
	snprintf(n, sizeof(n), "%u", node);
	snprintf(line, sizeof(line), "arrival -%" PRIu64 " app=%s refused: %s",
		 r->spawn_errors, rec.app_name, what);
	scen_trace_line(r->sc, now, n, line);
	scen_s_record(r, &rec);
}

static void arrival_spawn(struct run *r, struct arrival *a, uint32_t app,
			  uint32_t node)
{
	/* a node given (arrival or trace line) was checked against the
	 * cluster when the world was made (scen_create_world) */
	if (node == UKF_NODE_NONE)
		node = (uint32_t)(rng_uniform(&a->rng) * r->nodes);
	/* a failed node (or a cluster node whose agent was lost) takes no
	 * arrivals: the request fails there at once */
	if (scen_node_state(r, (ukf_node_id_t)node) == 1) {
		arrival_refused(r, app, node, -EHOSTDOWN);
		return;
	}
	ukf_id_t id;
	const char *args = a->args ? a->args : r->apps[app].app.args;
	int rc = r->world.ops->spawn(r->world.w, node, app, args, 0, &id);
	if (rc == -ENOMEM) /* not a refusal: the run cannot go on */
		scen_run_fail(r, UKF_RUN_FAILED,
			 "%s: spawn of '%s': the engine ran out of memory",
			 a->where, r->apps[app].app.name);
	else if (rc == -EINVAL)
		scen_run_fail(r, UKF_RUN_BAD, "%s: spawn of '%s' refused: %s",
			 a->where, r->apps[app].app.name, strerror(-rc));
	else if (rc)
		arrival_refused(r, app, node, rc);
}

/* The window of arrival a is [start, stop) and ends with the run: no
 * arrival at or after stop or the duration (docs/scenarios.md). */
static inline int arrival_in_window(const struct run *r,
				    const struct arrival *a, ukf_ns_t t)
{
	return t < a->stop && t < r->duration;
}

/* t + d (both >= 0), or NEVER past the clock's end: a sum that wrapped
 * was a time in the past, and the arrivals piled up at one instant
 * (constant{ interval = 9e9, start = 8e9 } in a run of 9.2e9 s). */
static inline ukf_ns_t time_add(ukf_ns_t t, ukf_ns_t d)
{
	return d > UKF_NS_NEVER - t ? UKF_NS_NEVER : t + d;
}

/* Time of the next arrival after `t`, or NEVER. */
static ukf_ns_t arrival_next(struct run *r, struct arrival *a, ukf_ns_t t)
{
	ukf_ns_t n;
	switch (a->kind) {
	case A_POISSON: {
		double gap = rng_exponential(&a->rng, 1.0 / a->rate);
		n = gap > 9e9 ? UKF_NS_NEVER
			      : time_add(t, (ukf_ns_t)(gap * 1e9));
		break;
	}
	case A_CONSTANT:
		n = time_add(t, a->interval);
		break;
	case A_BURSTS:
		n = time_add(t, a->every);
		break;
	default:
		n = a->pos < a->ntev ? time_add(a->start, a->tev[a->pos].t)
				     : UKF_NS_NEVER;
	}
	return arrival_in_window(r, a, n) ? n : UKF_NS_NEVER;
}

#define ARR_ONE (1ULL << 63)

static void arrival_fire(void *arg, uint64_t x)
{
	struct run *r = arg;
	if (r->err_code)
		return;
	struct arrival *a = &r->arr[x & ~ARR_ONE];
	/*
	 * The next arrival is drawn from the time this one was due, not from
	 * the clock: in the live world a callback runs a little late, and
	 * counting from `now` would let the lateness accumulate (fewer
	 * arrivals, different ones per configuration). In sim they are equal.
	 */
	ukf_ns_t now = a->due;
	if (x & ARR_ONE) { /* one request of a spread burst */
		arrival_spawn(r, a, a->app, a->node);
		return;
	}
	switch (a->kind) {
	case A_POISSON:
	case A_CONSTANT:
		arrival_spawn(r, a, a->app, a->node);
		break;
	case A_BURSTS:
		for (uint32_t i = 0; i < a->size; i++) {
			if (!a->spread) {
				arrival_spawn(r, a, a->app, a->node);
				continue;
			}
			ukf_ns_t t = time_add(
			    now, (ukf_ns_t)(rng_uniform(&a->rng) *
					    (double)a->spread));
			if (!arrival_in_window(r, a, t))
				continue; /* spread past the window's end */
			if (r->world.ops->at(r->world.w, t, arrival_fire, r,
					     x | ARR_ONE))
				scen_run_fail(r, UKF_RUN_FAILED,
					      "cannot schedule");
		}
		break;
	case A_TRACE:
		while (a->pos < a->ntev &&
		       time_add(a->start, a->tev[a->pos].t) <= now) {
			struct tev *e = &a->tev[a->pos++];
			arrival_spawn(r, a, e->app,
				      e->node != UKF_NODE_NONE ? e->node
							       : a->node);
		}
		break;
	}
	ukf_ns_t n = arrival_next(r, a, now);
	if (n == UKF_NS_NEVER)
		return;
	a->due = n;
	if (r->world.ops->at(r->world.w, n, arrival_fire, r, x))
		scen_run_fail(r, UKF_RUN_FAILED, "cannot schedule an arrival");
}

int scen_arrival_start(struct run *r, size_t i)
{
	struct arrival *a = &r->arr[i];
	ukf_ns_t t;
	if (a->kind == A_POISSON)
		t = arrival_next(r, a, a->start);
	else if (a->kind == A_TRACE)
		t = arrival_next(r, a, 0);
	else
		t = a->start;
	if (t == UKF_NS_NEVER || !arrival_in_window(r, a, t))
		return 0;
	a->due = t;
	return r->world.ops->at(r->world.w, t, arrival_fire, r, i);
}
