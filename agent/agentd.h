/* SPDX-License-Identifier: MIT */
/* agentd.h - ukforkd, the node agent: one node's live world, its peers over the transport, the runs its clients drive. */
#ifndef UKF_AGENTD_H
#define UKF_AGENTD_H

/*
 * `ukforkd --cluster FILE --node K [--log FILE] [--log-level L]
 *          [--template-dir DIR] [--backend NAME]`
 *
 * Reads the cluster file, binds node K's endpoint, links to every other
 * node (CURVE), and serves runs: a client (`ukfork run --cluster`,
 * `ukfork exec --cluster`) starts one on every agent; each agent then runs
 * its node's engine (live/ world, backend from the registry) joined to its
 * peers, sends the client its rows, notices, console and log lines, and
 * ends the run when the client says so (or is lost). SIGTERM/SIGINT stop
 * the agent cleanly (a run in progress ends: its instances are stopped and
 * recorded, peers and clients get BYE); SIGHUP reopens the log file.
 * Returns the process exit status: 0, 1 on failure after start, 2 for a
 * bad command line or cluster file.
 */
int ukf_agentd_main(int argc, char **argv);

#endif /* UKF_AGENTD_H */
