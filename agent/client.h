/* SPDX-License-Identifier: MIT */
/* client.h - a world made of the node agents of a cluster file: the scenario runner and `ukfork exec` drive real agents through it. */
#ifndef UKF_AGENT_CLIENT_H
#define UKF_AGENT_CLIENT_H

#include "core/world.h"

/*
 * A client of the cluster's agents (ukforkd), behind the same world ops as
 * the simulated and the live worlds: add_app/start/spawn/fork/kill/run.
 * Create connects to every agent (CURVE, the client's keys from the file),
 * starts one run on each (RUN with the settings below), and run() drives
 * it: world callbacks (`at`) on this process's clock, the agents'
 * notices, rows, console and log lines handed to the sinks. World time is
 * CLOCK_REALTIME minus the run's epoch on every node, so rows from
 * different agents share one time line (exact on one machine; across
 * hosts as good as their clocks' synchronisation).
 *
 * spawn(origin, ...) goes to the agent of node `origin`, fork(id) and
 * kill(id) to the node that made the instance. spawn and fork do not
 * wait: they return an id of the client's (node << 32 | 2^31 | k) at
 * once, and run() hands on everything about it under that id, each
 * node's messages in their order; one refused or not answered within
 * connect_timeout_ns fails (on_fail and a failed row; what a late answer
 * made is killed). They fail at once only for what the client knows:
 * -EINVAL (node, app, args), -ESRCH (fork of an instance of ours not
 * running). An agent lost or restarted during the run: its requests not
 * answered and its instances still running fail then ("the agent of
 * node K was lost during the run"), and so do, in run(), the spawns and
 * forks sent its way after (not -EHOSTDOWN: the world goes on). A
 * request to an agent whose link is down (killed, not declared lost
 * yet) is kept and sent from run() when the link is back; it fails
 * with the agent's loss, or past its deadline ("was not reachable").
 * Nothing sent during run() waits for a link. kill does not wait either:
 * of an instance of ours it is sent once its spawn is answered; another
 * id (not one spawn or fork gave, or its instance ended) is -ESRCH at
 * once, as in the simulated world: the caller has no other ids of
 * instances (a guest's forks are known only by their rows).
 * node_stats and node_templates do not wait: they give the node's state
 * as its agent last told it (a STATUS answer or a SAMPLE; zeros and ""
 * before any) and ask it for a fresh one unless one is on its way: a
 * caller that asks again after run() has polled sees it; a stopped or
 * lost agent's state stays the last it told.
 *
 * run() returns at `until`, on *stop, or when nothing is left: every
 * workload instance has exited or failed, no `at` callback is pending, and
 * every agent has said it is idle (no instance alive, no request pending)
 * for 100 ms. destroy ends the run on every agent (what still runs is
 * stopped and recorded: its rows reach the sinks first) and disconnects.
 */
struct ukf_cluster_world_config {
	const char *cluster_file;
	const char *client; /* its [client NAME] section (default "runner") */
	/* the run's engine settings (nodes: from the cluster file) */
	struct ukf_engine_config engine;
	ukf_ns_t run_limit_ns;	  /* per-guest limit (0 = none) */
	ukf_ns_t sample_every_ns; /* node samples (0 = off) */
	const char *template_dir; /* at the agents (NULL: theirs) */
	ukf_ns_t connect_timeout_ns; /* agents up, answers (default 10 s) */
};
void ukf_cluster_world_config_default(struct ukf_cluster_world_config *c);

/* 0 and *world, or -1 with a message: a bad cluster file, an agent that is
 * not up or refuses the run (its node and reason named). The message
 * names the cluster file once, first ("FILE: ..." or "FILE:LINE: ..."):
 * callers print it as it is. */
int ukf_cluster_world_create(struct ukf_world *world,
			     const struct ukf_cluster_world_config *cfg,
			     const struct ukf_world_sinks *sinks, char *err,
			     size_t errlen);

/* Node samples (cfg.sample_every_ns > 0), as the live world's. 0, or -1 if
 * world is not a cluster world. */
int ukf_cluster_world_set_sampler(
    struct ukf_world *world,
    void (*sample)(void *u, const struct ukf_world_sample *s));

/* 1 if node's agent was lost or restarted during the run, or is not up
 * (what is sent its way fails; ukfork run's node_state(n) says "failed",
 * spawn without a node draws another, an arrival for it is refused),
 * else 0; -1 if world is not a cluster world or node not one of its. */
int ukf_cluster_world_node_lost(const struct ukf_world *world, uint32_t node);

/* For tests: slots: the entries the world has allocated to keep its
 * spawns and forks (their table and id maps), bounded by the requests in
 * flight or running at once, not by the run's total; unsent: requests
 * waiting for a link to their agent. Zeros if not a cluster world. */
struct ukf_cluster_world_debug {
	size_t slots, unsent;
	uint64_t ignored; /* run messages of agents back after their loss */
};
void ukf_cluster_world_debug(const struct ukf_world *world,
			     struct ukf_cluster_world_debug *d);

/*
 * `ukfork agent status --cluster FILE [--client NAME] [--json]`: every
 * agent's state (up or not, its run, instances, templates, peers,
 * backend). Returns the exit status (0 all up, 1 some not, 2 bad usage).
 */
int ukf_agent_status_main(int argc, char **argv);

#endif /* UKF_AGENT_CLIENT_H */
