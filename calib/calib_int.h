/* SPDX-License-Identifier: MIT */
/* calib_int.h - internals of `ukfork calibrate`: the measurement plan and the
 * KVM measurement. */
#ifndef UKF_CALIB_INT_H
#define UKF_CALIB_INT_H

#include "calib.h"

#define UKF_CALIB_MAX_POINTS 16

/* What to measure (a plan file, or the default plan). */
struct ukf_calib_plan {
	uint32_t n;				 /* samples per point */
	uint64_t boot_mem[UKF_CALIB_MAX_POINTS]; /* cold boots: memory sizes */
	size_t nboot;
	/* cold boots: the app's init (ns) at every boot_mem; 0 comes first
	 * (op "boot"), others give "boot_init_<MiB>" samples (x = init) */
	uint64_t boot_init[UKF_CALIB_MAX_POINTS];
	size_t ninit;
	uint64_t clone_mem[UKF_CALIB_MAX_POINTS]; /* template clones */
	size_t nclone;
	char ops[4096];	   /* Lua scenario of live forks ("" : none) */
	uint32_t ops_reps; /* its replications */
	/* The alone step: a Lua scenario of template clones and live forks
	 * one at a time ("": none; alone-ops.lua), its apps' memory sizes
	 * (whole MiB; n clones each), the pages dirtied before a fork
	 * (alone_dirty) and the forks per size and dirty count */
	char alone[4096];
	uint64_t alone_mem[UKF_CALIB_MAX_POINTS];
	size_t nalone_mem;
	uint32_t alone_dirty[UKF_CALIB_MAX_POINTS];
	size_t nalone_dirty;
	uint32_t alone_forks;
	/* --cluster: the Lua scenario on the node agents ("": none), its
	 * replications, the template sizes (its apps' memory), forks per
	 * app (units) and pages dirtied per unit */
	char cluster_ops[4096];
	uint32_t cluster_reps;
	uint64_t tmpl_mem[UKF_CALIB_MAX_POINTS];
	size_t ntmpl;
	uint32_t fork_units, fork_dirty;
	/* the spell between two requests of the alone step and of the
	 * cluster scenario's template clones (their `gap`): an operation
	 * after an idle spell costs more (session 35: a template clone
	 * through an agent 9-16% more after 300 ms than after 20 ms where
	 * it was requested, 1-6% on another node) */
	uint64_t gap_ns;
	int gap_given; /* 1: the plan set it (only then is it passed on, so a
			  scenario of one's own need not declare `gap`) */
	/* the alone step's idle clones: for each size, idle_n template
	 * clones after an idle spell of each of idle_ns[0 .. nidle) (longer
	 * than the gap, increasing), from which calibrate fits idle_curve;
	 * nidle 0: none. Passed on (`idle`, `idle_n`) when the plan set
	 * idle or the alone scenario is the built-in one */
	uint64_t idle_ns[UKF_CALIB_MAX_IDLE];
	size_t nidle;
	uint32_t idle_n;
	int idle_given;
};

/*
 * The default plan: cold boots at 8, 16 and 32 MiB (init 0 only), template
 * clones at 8 MiB, scripts/calibrate/kvm-ops.lua of the source tree 3 times,
 * scripts/calibrate/alone-ops.lua once with apps of 8, 16 and 32 MiB
 * (forks after 64, 512 and 2048 dirty pages, 15 each);
 * for --cluster, scripts/calibrate/cluster-ops.lua once with templates of 8,
 * 16 and 32 MiB, 4 forks per app, 256 pages dirtied per fork.
 */
void ukf_calib_plan_default(struct ukf_calib_plan *p);

/*
 * Read a plan file over *p: `key = value  # comment` lines with keys
 * boot_mem (sizes, e.g. "8M 16M 32M"), boot_init (durations, e.g. "0 50ms":
 * 0 among them, others in increasing order, at most 60 s; with any but 0,
 * every boot_mem a whole number of MiB), clone_mem (sizes), ops (a Lua
 * scenario path, relative to the plan file's directory, or "none"),
 * ops_reps (a count), alone (a path or "none"), alone_mem (sizes, whole
 * MiB), alone_dirty (page counts), alone_forks (a count), and for
 * --cluster cluster_ops (a path or "none"),
 * cluster_reps, tmpl_mem (sizes, whole MiB), fork_units and fork_dirty
 * (counts), gap (a duration, 0 to 10 s), idle (0 or none, or 1 to
 * UKF_CALIB_MAX_IDLE durations, each at least 1.5 times the one before,
 * the gap before the first, and at most 10 s) and idle_n (a count, 2 to
 * 1000). Returns 0, or -1 with
 * "file:line: ..." in err.
 */
int ukf_calib_plan_load(struct ukf_calib_plan *p, const char *path, char *err,
			size_t errlen);

/* The signal (SIGINT, SIGTERM) that interrupted `ukfork calibrate`'s
 * measurement, or 0: the measuring steps start no new step once set. */
int ukf_calib_interrupted(void);

/*
 * Run plan p on this machine's KVM backend, adding every sample to s:
 * bootbench runs and the scenario's runs go to database db (scratch files
 * in tmpdir). Returns 0, or -1 with a message in err (interrupted
 * included: no later step is started).
 */
int ukf_calib_measure_kvm(const struct ukf_calib_plan *p, const char *db,
			  const char *tmpdir, ukf_calib_scenario_fn run,
			  ukf_calib_set_t *s, char *err, size_t errlen);

/* ---- samples from a results database and an engine trace (collect.c) ---- */

/* One SELECT of (x, ns) rows (its ?1 bound to arg) into s as op; *got:
 * rows added. 0, or -1 with a message in err. */
int ukf_calib_query(const char *db, const char *sql, int64_t arg,
		    ukf_calib_set_t *s, const char *op, size_t *got, char *err,
		    size_t errlen);

/* The largest run id of db (0: none, or no database). */
int64_t ukf_calib_max_run(const char *db);

/*
 * The local template starts and live forks of runs after `before` (the
 * plan's alone step), request -> ready, in the order they started: one
 * that is its run's first clone at its app's memory size (the KVM monitor
 * made its VM shell) as "clone_first" (x = the memory bytes) or
 * "fork_first" (x = the parent's dirty pages), the others as
 * "clone_engine" and "fork"; the memory from the app's template-ready
 * line in the engine trace at `trace`; every one's t_start - t_request
 * as "agent"; a template clone that exited 0 without forking also as
 * "touch", x = its dirty pages, y = READY -> exit (its unit). With
 * nspells > 0 (spells[0] the plan's gap, then its idle spells, ns), a
 * template clone (not a first) goes with the spell nearest by ratio to
 * the one before its request (since the run's last exit before it): with
 * an idle spell it is stored as "clone_idle_<ms>" instead (ms: that
 * spell's, rounded; x = memory bytes; no agent or touch sample), and its
 * spell as "spell_<ms>" (x 0); with the gap, its spell as "spell_gap". 0,
 * or -1 with a message in err (an app with starts but no template-ready
 * line included).
 */
struct ukf_calib_alone_counts {
	size_t clone_first, clones, fork_first, forks, agent, touch, idle;
};
int ukf_calib_collect_alone(const char *db, const char *trace,
			    int64_t before, const double *spells,
			    size_t nspells,
			    ukf_calib_set_t *s,
			    struct ukf_calib_alone_counts *c, char *err,
			    size_t errlen);

/*
 * The local live forks of runs after `before` as op samples ("fork", or
 * "fork_busy" when the plan's alone step measures forks), x = the
 * parent's dirty pages, y = request -> ready. 0, or -1 with a message in
 * err.
 */
int ukf_calib_collect_forks(const char *db, int64_t before, const char *op,
			    ukf_calib_set_t *s, size_t *got, char *err,
			    size_t errlen);

/* template-make (and, with tfetch, template-fetch) -> template-ready pairs
 * of an engine trace, per node and app: "template" (*got) and "tfetch"
 * (*fgot) samples, x = the template's bytes; with tfetch (the cluster
 * workload's trace) none of the apps of its idle step (idle, idlef,
 * idlew, idlepre: made and fetched after idle spells). 0, or -1
 * (unreadable). */
int ukf_calib_trace_templates(const char *path, int tfetch, ukf_calib_set_t *s,
			      size_t *got, size_t *fgot, char *err,
			      size_t errlen);

struct ukf_calib_remote_counts {
	size_t save, restore, total, agent, made, fetch;
	size_t forks; /* every remote fork child, those after a fetch too */
	/* template clones placed on their origin node / another one
	 * (placement -> start), and the same clones' start -> READY */
	size_t placed_local, placed_remote, ready_local, ready_remote;
	/* restores of children that fetched the template first */
	size_t fetched;
	/* template clones after an idle spell (msgl_*, msgr_*) */
	size_t idle;
	/* remote forks of apps "idlef" and "idlew" after the gap or a spell
	 * (dsave_*), and those back to the node that requested their parent
	 * elsewhere (dsavew_*), and those of them left out for their node's
	 * spell nearest the gap */
	size_t idle_forks, idle_forks_woken, woken_near;
};

/*
 * The remote samples of the runs of db after run `before` and of their
 * engine trace (rfork_save, rfork_restore, rfork; agent; placed_local,
 * placed_remote, ready_local and ready_remote; template and tfetch), as
 * calibrate --cluster takes them after its workload; the
 * simulator's runs of the same workload read alike (tests/calib).
 * The template clones of app "idle" (cluster-ops.lua's clones after idle
 * spells) are none of those: with nspells > 1 (spells[0] the plan's gap,
 * then its idle spells, ns) each is stored as "msgl_<ms>" or "msgr_<ms>"
 * (started where requested or on another node; ms the idle spell nearest,
 * by ratio, to its spell since the run's last exit; x = the spell of the
 * node it ran on since its last start, READY or exit there; y = placement
 * -> start: msg_idle_curve), each remote clone of the others adds its
 * node's spell as "msgspell_gap", and c->idle counts them; without, they
 * are left out. So are the remote forks of apps "idlef" and "idlew" (its
 * forks after the gap and idle spells), filed with nspells > 1 as
 * "dsave_gap" or "dsave_<ms>" (x = the target's spell, y = placement ->
 * start: the delta save and transfer; delta_idle_curve) when their
 * parent started where requested, counted in c->idle_forks, and as
 * "dsavew_<ms>" when the parent started on another node and the child
 * went back to the node that requested it (delta_idle_since), counted
 * in c->idle_forks_woken. 0, or -1 with a message in err.
 */
int ukf_calib_collect_remote(const char *db, const char *trace, int64_t before,
			     const double *spells, size_t nspells,
			     ukf_calib_set_t *s,
			     struct ukf_calib_remote_counts *c, char *err,
			     size_t errlen);

/*
 * Run plan p's cluster workload on the node agents of cluster file
 * `cluster` (nodes of them, 2 at least; link: the link's setting, a
 * text without commas, recorded in the runs' settings) and add the remote samples
 * (rfork, rfork_save, rfork_restore, tfetch; agent and template on the
 * way) to s, with the link already set on s (ukf_calib_set_link). The
 * runs go to database db. Returns 0, or -1 with a message in err.
 */
int ukf_calib_measure_cluster(const struct ukf_calib_plan *p,
			      const char *cluster, uint32_t nodes,
			      const char *link,
			      const char *db, const char *tmpdir,
			      ukf_calib_scenario_fn run, ukf_calib_set_t *s,
			      char *err, size_t errlen);

#endif /* UKF_CALIB_INT_H */
