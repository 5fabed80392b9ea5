/* SPDX-License-Identifier: MIT */
/* exec.h - `ukfork exec`: run one app through the engine on the live world. */
#ifndef UKF_EXEC_H
#define UKF_EXEC_H

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

#endif /* UKF_EXEC_H */
