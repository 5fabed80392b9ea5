/* SPDX-License-Identifier: MIT */
/* exec.h - `ukfork exec`: run one app through the engine on the live world. */
#ifndef UKF_EXEC_H
#define UKF_EXEC_H

#include <stddef.h>

/*
 * `ukfork exec [--backend kvm] [--placement P] [--templates T] [--mem SIZE]
 *  [--timeout MS] APP [ARGS...]` (argv[0] is the command name). Spawns APP
 * (a name: its image is ukf_live_image_path(APP); or a path containing '/')
 * through the engine on the live world, streams its console and its
 * children's (children's lines prefixed "[id] ") to stdout, waits for it and
 * returns its exit status (0-255); 1 if it failed or the world could not be
 * created, 2 for a bad command line.
 */
int ukf_exec_main(int argc, char **argv);

/*
 * The same with `--cluster FILE`: make() creates the world of the cluster
 * FILE's node agents (agent/client.h; live/ cannot name it) with these
 * engine settings and template directory (at the agents); 0, or -1 with a
 * message that names the FILE once, first (printed as it is after
 * "--cluster "). make == NULL refuses --cluster.
 */
struct ukf_world;
struct ukf_world_sinks;
struct ukf_engine_config;
typedef int (*ukf_exec_cluster_fn)(struct ukf_world *world,
				   const char *cluster,
				   const struct ukf_engine_config *engine,
				   const char *template_dir,
				   const struct ukf_world_sinks *sinks,
				   char *err, size_t errlen);
int ukf_exec_main_cluster(int argc, char **argv, ukf_exec_cluster_fn make);

#endif /* UKF_EXEC_H */
