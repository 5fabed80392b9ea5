/* SPDX-License-Identifier: MIT */
/* scenario.h - run a Lua scenario (sweeps x replications) on a world. */
#ifndef UKF_SCENARIO_H
#define UKF_SCENARIO_H

#include <stdint.h>
#include <stdio.h>

/* Exit statuses of `ukfork run`, also returned by ukf_scenario_run(). */
#define UKF_RUN_OK     0
#define UKF_RUN_FAILED 1 /* the world, the database or the system failed */
#define UKF_RUN_BAD    2 /* bad scenario or bad command line: nothing stored */

/* What `ukfork run` was asked to do. Strings are borrowed for the call. */
struct ukf_run_opts {
	const char *script; /* path of the Lua scenario */
	uint64_t seed;	    /* used when seed_set (else run{seed=} or 1) */
	int seed_set;
	uint32_t reps;		 /* replications per sweep point (>= 1) */
	const char *db_path;	 /* results database, or NULL: not stored */
	const char *const *sets; /* "name=value[,value...]" overrides */
	size_t nsets;
	const char *backend;	/* a world's: "sim" (default) or "kvm" */
	const char *trace_path; /* event log file, or NULL */
	int quiet;		/* no summary table, no progress (unless progress) */
	const char *template_dir; /* kvm: templates loaded at start, saved at end */
	/* The node agents of this cluster file run it (backend "kvm": each
	 * agent's own), NULL: not. cluster_nodes: its node count. */
	const char *cluster;
	uint32_t cluster_nodes;
	/* Full Lua (os, io, package, debug, native modules) instead of the
	 * sandbox (docs/scenarios.md "What a scenario can do"). */
	int trusted;
	/* Lua instructions one execution of the top-level chunk or one step
	 * of a process (start or wake-up to its next sleep/wait/ready/end)
	 * may take before the run is stopped as a runaway loop; 0: the
	 * default (UKF_RUN_MAX_INSTRUCTIONS); UINT64_MAX: no limit. */
	uint64_t max_instructions;
	/* Progress lines on `msg` (sweep point, rep, world time, events/s,
	 * ETA) even when it is not a terminal and despite quiet, one at the
	 * end of every run at least; 0: only on a terminal, for runs over a
	 * second, unless quiet. */
	int progress;
	/* Started by mpirun or srun (and MPI built in): split the sweep
	 * points x replications over the ranks, rank 0 storing every run
	 * in the serial order (docs/scenarios.md "Sweeps over MPI"); 0:
	 * never MPI (a caller running several scenarios in one process). */
	int mpi;
};

/* The default of max_instructions: ~1-5 s of pure Lua on one core. */
#define UKF_RUN_MAX_INSTRUCTIONS 1000000000ULL

/*
 * Run the scenario: every sweep point x replication is one run, written to
 * the database (when db_path is set) in its own transaction. Every sweep
 * point is set up and checked before the first run starts, so a bad
 * scenario stores nothing. Messages go to `msg` ("file:line: ..."); the
 * summary table to `out`. Returns UKF_RUN_OK, UKF_RUN_FAILED or UKF_RUN_BAD.
 */
int ukf_scenario_run(const struct ukf_run_opts *o, FILE *out, FILE *msg);

/* The rank an MPI launcher gave this process in its environment
 * (OMPI_COMM_WORLD_RANK, PMIX_RANK or PMI_RANK; the largest if they
 * differ), -1 if none: known before MPI starts. */
long ukf_mpi_env_rank(void);

/*
 * The world registry (cli/scen_world.c) for `ukfork run`'s option checks,
 * so that adding a world needs no edit in main.c:
 * - ukf_scenario_backend_known: 1 if some world answers to --backend
 *   name, else 0;
 * - ukf_scenario_backends: the --backend names the registry knows, in its
 *   order without repeats ("sim, kvm"), into buf (truncated to cap);
 * - ukf_scenario_simulated: 1 if the world o picks (--backend, --cluster)
 *   runs in simulated time, 0 if on real VMs, -1 if no world answers;
 * - ukf_scenario_cluster_backend: the --backend of the world that runs
 *   on a cluster file's node agents (--cluster), NULL if none.
 */
int ukf_scenario_backend_known(const char *name);
void ukf_scenario_backends(char *buf, size_t cap);
int ukf_scenario_simulated(const struct ukf_run_opts *o);
const char *ukf_scenario_cluster_backend(void);

/*
 * After ukf_scenario_run() in a process started by mpirun or srun (MPI
 * built in): MPI_Finalize, or, when a run on some rank failed (the others
 * then wait for ever), MPI_Abort, which ends every rank with `code`. Call
 * it from main() only, once, before exiting; returns code. Without MPI it
 * does nothing.
 */
int ukf_scenario_mpi_end(int code);

#endif /* UKF_SCENARIO_H */
