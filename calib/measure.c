/* SPDX-License-Identifier: MIT */
/* measure.c - the measurement plan on the KVM backend: cold boots and template
 * clones through bootbench, live forks and template making through the engine
 * (a Lua scenario). */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bootbench/bootbench.h"
#include "../cli/scenario.h"
#include "../live/live.h"
#include "calib_int.h"

/* Run `ukfork bootbench` with stdout sent to /dev/null (its summary is not
 * ours; its errors still go to stderr). Returns its exit status. */
static int bootbench_quiet(int argc, char **argv)
{
	fflush(stdout);
	int saved = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY);
	if (saved < 0 || null < 0) {
		if (saved >= 0)
			close(saved);
		if (null >= 0)
			close(null);
		return ukf_bootbench_main(argc, argv);
	}
	dup2(null, STDOUT_FILENO);
	close(null);
	int rc = ukf_bootbench_main(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	return rc;
}

/* Cold boots (template 0) or template clones (1) of synth at mem bytes,
 * the app's init `init` ns: op "boot" (x = mem) or "clone"; cold boots
 * with init > 0: op "boot_init_<MiB>" (x = init ns); cold boots each
 * `gap` ns after the last one ended (bootbench --gap; gap > 0, init 0):
 * op "boot_idle_<ms>" (x = mem), the plan's idle_n of them. */
static int boots(const struct ukf_calib_plan *p, const char *db,
		 const char *synth, uint64_t mem, uint64_t init, uint64_t gap,
		 int from_template, ukf_calib_set_t *s, char *err,
		 size_t errlen)
{
	char n[24], m[32], gm[48], gi[40], op[32], g[32];
	snprintf(n, sizeof(n), "%u", gap ? p->idle_n : p->n);
	snprintf(g, sizeof(g), "%.3f", (double)gap / 1e6);
	snprintf(m, sizeof(m), "%" PRIu64 "K", mem >> 10);
	snprintf(gm, sizeof(gm), "mem=%s", m);
	snprintf(gi, sizeof(gi), "init=%" PRIu64 "ns", init);
	if (init)
		snprintf(op, sizeof(op), "boot_init_%" PRIu64, mem >> 20);
	else if (gap)
		snprintf(op, sizeof(op), "boot_idle_%.6g", (double)gap / 1e6);
	else
		snprintf(op, sizeof(op), "%s",
			 from_template ? "clone" : "boot");
	char *av[20];
	int ac = 0;
	av[ac++] = (char *)"ukfork bootbench";
	av[ac++] = (char *)"-n";
	av[ac++] = n;
	av[ac++] = (char *)"-j";
	av[ac++] = (char *)"1";
	av[ac++] = (char *)"--mem";
	av[ac++] = m;
	av[ac++] = (char *)"--db";
	av[ac++] = (char *)db;
	if (from_template)
		av[ac++] = (char *)"--from-template";
	if (gap) {
		av[ac++] = (char *)"--gap";
		av[ac++] = g;
	}
	av[ac++] = (char *)"--guest";
	av[ac++] = (char *)synth;
	av[ac++] = gm;
	av[ac++] = gi;
	av[ac++] = (char *)"work=0";
	av[ac++] = (char *)"dirty=0";
	av[ac] = NULL;

	int64_t before = ukf_calib_max_run(db);
	int rc = bootbench_quiet(ac, av);
	if (rc != 0 && rc != 1) {
		snprintf(err, errlen,
			 "bootbench (%s, %s) refused its arguments",
			 from_template ? "template clones" : "cold boots", gm);
		return -1;
	}
	size_t got;
	char sql[256];
	snprintf(
	    sql, sizeof(sql),
	    "SELECT %" PRIu64 ", t_marker - t_launch FROM boots"
	    " WHERE run > ?1 AND ok AND t_marker >= t_launch ORDER BY run, idx",
	    init ? init : mem);
	if (ukf_calib_query(db, sql, before, s, op, &got, err, errlen) < 0)
		return -1;
	if (got < 2) {
		snprintf(err, errlen,
			 "bootbench %s at %s: %zu of %s instances reached "
			 "UKF-READY (see its messages above)",
			 from_template ? "template clones" : "cold boots", gm,
			 got, n);
		return -1;
	}
	if (rc == 1)
		fprintf(stderr,
			"ukfork calibrate: bootbench %s at %s: %zu of "
			"%s ok, the others left out\n",
			from_template ? "template clones" : "cold boots", gm,
			got, n);
	return 0;
}

/* Append v to the space-separated list in buf (a --set value). */
static void list_add(char *buf, size_t cap, uint64_t v)
{
	size_t l = strlen(buf);
	snprintf(buf + l, cap - l, "%s%" PRIu64, l ? " " : "", v);
}

/* The plan's alone step is the built-in scenario (which declares every
 * param calibrate may set). */
static int alone_builtin(const struct ukf_calib_plan *p)
{
	return !strcmp(p->alone,
		       UKF_SOURCE_DIR "/scripts/calibrate/alone-ops.lua");
}

/* The plan's cluster workload is the built-in scenario. */
static int cluster_builtin(const struct ukf_calib_plan *p)
{
	return !strcmp(p->cluster_ops,
		       UKF_SOURCE_DIR "/scripts/calibrate/cluster-ops.lua");
}

/* The runs the built-in cluster workload is split into, each about 5 of
 * its n x sizes apps (at most n, and 64): in one run of 10-50 apps on
 * session 37's testbed the template fetches after the first few took
 * 100-250 ms at 24 MiB, against 60-90 ms in runs of a few (held-out.lua's
 * runs are of 2 apps). 1: one run; an own scenario is never split. */
static uint32_t cluster_parts(const struct ukf_calib_plan *p)
{
	uint64_t apps = (uint64_t)p->n * p->ntmpl, parts = (apps + 4) / 5;
	if (!cluster_builtin(p))
		return 1;
	if (parts > p->n)
		parts = p->n;
	return parts > 64 ? 64 : parts ? (uint32_t)parts : 1;
}

/* The alone step (cluster 0) or the cluster workload (1) is asked for
 * idle clones: the plan has idle spells, and set them or runs the
 * built-in scenario. */
static int idle_asked(const struct ukf_calib_plan *p, int cluster)
{
	return p->nidle &&
	       (p->idle_given ||
		(cluster ? cluster_builtin(p) : alone_builtin(p)));
}

/* Run the plan's engine workload: the one-node ops scenario on the local
 * KVM (cluster NULL) or the cluster scenario on the node agents of
 * `cluster` (nodes of them); with `alone`, the alone step instead, on the
 * local KVM or on the agents (its requests all on node 0). *before: the
 * last run id before it. */
static int run_ops(const struct ukf_calib_plan *p, const char *db,
		   const char *trace, ukf_calib_scenario_fn run,
		   const char *cluster, uint32_t nodes, const char *link,
		   int alone, int64_t *before, char *err, size_t errlen)
{
	struct ukf_run_opts o;
	/* room for "dirty=" or "sizes=" and UKF_CALIB_MAX_POINTS numbers */
	char sets[12][UKF_CALIB_MAX_POINTS * 24 + 16];
	const char *setv[12];
	const char *script = cluster ? p->cluster_ops : p->ops;

	if (!run) {
		snprintf(err, errlen, "%s: no scenario runner",
			 cluster ? "remote forks" : "live forks");
		return -1;
	}
	if (alone)
		script = p->alone;
	memset(&o, 0, sizeof(o));
	for (int i = 0; i < 12; i++)
		setv[i] = sets[i];
	o.sets = setv;
	o.script = script;
	o.reps = alone ? 1 : cluster ? p->cluster_reps : p->ops_reps;
	o.db_path = db;
	o.backend = "kvm";
	o.trace_path = trace;
	o.quiet = 1;
	if (cluster && !alone) {
		char sizes[UKF_CALIB_MAX_POINTS * 12] = "";
		for (size_t i = 0; i < p->ntmpl; i++)
			list_add(sizes, sizeof(sizes), p->tmpl_mem[i] >> 20);
		snprintf(sets[0], sizeof(sets[0]), "nodes=%u", nodes);
		snprintf(sets[1], sizeof(sets[1]), "n=%u", p->n);
		snprintf(sets[2], sizeof(sets[2]), "sizes=%s", sizes);
		snprintf(sets[3], sizeof(sets[3]), "units=%u", p->fork_units);
		snprintf(sets[4], sizeof(sets[4]), "dirty=%u", p->fork_dirty);
		snprintf(sets[5], sizeof(sets[5]), "link=%s",
			 link ? link : "not given");
		o.nsets = 6;
		/* in runs of about 5 apps: a sweep of part = 1..parts over
		 * cluster-ops.lua's apps (its own scenario gets them only when
		 * the plan's is the built-in one) */
		uint32_t parts = cluster_parts(p);
		if (parts > 1) {
			int w = snprintf(sets[o.nsets], sizeof(sets[0]),
					 "part=1");
			for (uint32_t k = 2; k <= parts; k++)
				w += snprintf(sets[o.nsets] + w,
					      sizeof(sets[0]) - (size_t)w,
					      ",%u", k);
			o.nsets++;
			snprintf(sets[o.nsets++], sizeof(sets[0]), "parts=%u",
				 parts);
		}
		o.cluster = cluster;
		o.cluster_nodes = nodes;
	} else if (alone) {
		char sizes[UKF_CALIB_MAX_POINTS * 12] = "";
		char dirty[UKF_CALIB_MAX_POINTS * 12] = "";
		for (size_t i = 0; i < p->nalone_mem; i++)
			list_add(sizes, sizeof(sizes), p->alone_mem[i] >> 20);
		for (size_t i = 0; i < p->nalone_dirty; i++)
			list_add(dirty, sizeof(dirty), p->alone_dirty[i]);
		snprintf(sets[0], sizeof(sets[0]), "n=%u", p->n);
		snprintf(sets[1], sizeof(sets[1]), "sizes=%s", sizes);
		snprintf(sets[2], sizeof(sets[2]), "dirty=%s", dirty);
		snprintf(sets[3], sizeof(sets[3]), "forks=%u", p->alone_forks);
		o.nsets = 4;
		if (cluster) {
			/* the scenario's placement is local: every request
			 * is made on node 0 and runs there */
			snprintf(sets[o.nsets++], sizeof(sets[0]), "nodes=%u",
				 nodes);
			o.cluster = cluster;
			o.cluster_nodes = nodes;
		}
	}
	/* both calibration scenarios space their requests by `gap` (the
	 * ops scenario has none) */
	if (p->gap_given && (cluster || alone))
		snprintf(sets[o.nsets++], sizeof(sets[0]), "gap=%" PRIu64 "ns",
			 p->gap_ns);
	/* the alone step's or the cluster workload's idle clones: asked of
	 * the built-in scenario (default plan), or of one's own when the
	 * plan sets idle */
	if ((alone || cluster) && idle_asked(p, !alone)) {
		char spells[UKF_CALIB_MAX_IDLE * 24] = "";
		for (size_t i = 0; i < p->nidle; i++)
			list_add(spells, sizeof(spells), p->idle_ns[i]);
		snprintf(sets[o.nsets++], sizeof(sets[0]), "idle=%s", spells);
		snprintf(sets[o.nsets++], sizeof(sets[0]), "idle_n=%u",
			 p->idle_n);
	}
	assert(o.nsets <= sizeof(sets) / sizeof(sets[0]));
	FILE *null = fopen("/dev/null", "w");
	*before = ukf_calib_max_run(db);
	int rc = run(&o, null ? null : stderr, stderr);
	if (null)
		fclose(null);
	if (rc != 0) {
		snprintf(err, errlen,
			 "the engine workload %s failed (status %d, "
			 "messages above)",
			 script, rc);
		return -1;
	}
	return 0;
}

/* Live forks (and the templates made on the way) through the engine. */
static int forks(const struct ukf_calib_plan *p, const char *db,
		 const char *tmpdir, ukf_calib_scenario_fn run,
		 ukf_calib_set_t *s, char *err, size_t errlen)
{
	char trace[512];
	int64_t before;

	snprintf(trace, sizeof(trace), "%s/ops.trace", tmpdir);
	if (run_ops(p, db, trace, run, NULL, 0, NULL, 0, &before, err,
		    errlen) < 0)
		return -1;
	/* With the plan's alone step, which measures template clones and
	 * forks one at a time, this workload's clones, forks and agent
	 * samples (four forks at once, instances of three apps alive on a
	 * few cores: each waiting for the others on the engine's one
	 * thread and for a core) are stored as clone_busy, fork_busy and
	 * agent_busy: reported, not fitted, since the simulator adds those
	 * waits itself (monitor_slots, agent_msg_ns, cores). */
	int busy = p->alone[0] != 0;
	size_t got, tgot, fgot;
	if (ukf_calib_collect_forks(db, before, busy ? "fork_busy" : "fork", s,
				    &got, err, errlen) < 0)
		return -1;
	/* Template starts through the engine, request -> READY: what the
	 * simulator's template start is (READY comes from the VM thread
	 * before any guest code runs, backends/kvm/vm.c), unlike bootbench's
	 * launch -> UKF-READY line, which also resumes the guest up to its
	 * first console write. x = the app's memory from its fork rows is
	 * not stored; 0 (a flat mean). */
	size_t cgot, agot;
	if (ukf_calib_query(db,
			    "SELECT 0, t_ready - t_request FROM instances"
			    " WHERE run > ?1 AND start = 'template'"
			    " AND NOT coalesce(remote, 0)"
			    " AND NOT coalesce(template_fetched, 0)"
			    " AND t_ready >= t_request AND t_request >= 0"
			    " ORDER BY run, id",
			    before, s, busy ? "clone_busy" : "clone_engine",
			    &cgot, err, errlen) < 0)
		return -1;
	/* The engine's own time from a request to the backend operation it
	 * leads to (placement, bookkeeping, the live loop's turn): the node
	 * agent's service of one message, for template starts and forks. */
	if (ukf_calib_query(db,
			    "SELECT 0, t_start - t_request FROM instances"
			    " WHERE run > ?1 AND start IN ('template', 'fork')"
			    " AND NOT coalesce(remote, 0)"
			    " AND NOT coalesce(template_fetched, 0)"
			    " AND t_start >= t_request AND t_request >= 0"
			    " ORDER BY run, id",
			    before, s, busy ? "agent_busy" : "agent", &agot, err,
			    errlen) < 0)
		return -1;
	if (ukf_calib_trace_templates(trace, 0, s, &tgot, &fgot, err, errlen) <
	    0)
		return -1;
	fprintf(stderr,
		"ukfork calibrate: %zu live forks, %zu templates made, %zu "
		"template starts, %zu agent samples%s\n",
		got, tgot, cgot, agot,
		busy ? " (all but the templates made reported, not fitted: "
		       "the alone step measures those)"
		     : "");
	if (got < 3) {
		snprintf(err, errlen,
			 "the engine workload %s gave %zu live "
			 "forks (3 at least are needed)",
			 p->ops, got);
		return -1;
	}
	return 0;
}

/* Template clones and live forks one at a time (the plan's alone step,
 * alone-ops.lua), on the local KVM (cluster NULL) or through the node
 * agents of cluster (on its node 0): clone_first, clone_engine,
 * fork(_first) and agent samples, and the templates made. */
static int alone(const struct ukf_calib_plan *p, const char *db,
		 const char *tmpdir, ukf_calib_scenario_fn run,
		 const char *cluster, uint32_t nodes, ukf_calib_set_t *s,
		 char *err, size_t errlen)
{
	char trace[512];
	int64_t before;
	struct ukf_calib_alone_counts c;

	/* its idle clones asked for (run_ops): each later template clone
	 * goes with the nearest (by ratio) of the gap and the idle spells */
	int idle = idle_asked(p, 0);
	double spells[UKF_CALIB_MAX_IDLE + 1] = {(double)p->gap_ns};
	char more[UKF_CALIB_MAX_IDLE * 12 + 96] = "";
	if (idle) {
		int o = snprintf(more, sizeof(more),
				 "; %u more per size after each idle spell of",
				 p->idle_n);
		for (size_t i = 0; i < p->nidle; i++) {
			spells[i + 1] = (double)p->idle_ns[i];
			o += snprintf(more + o, sizeof(more) - (size_t)o,
				      " %.0f", (double)p->idle_ns[i] / 1e6);
		}
		snprintf(more + o, sizeof(more) - (size_t)o, " ms");
	}
	fprintf(stderr,
		"ukfork calibrate: template clones and live forks one at a "
		"time through %s (%s, %u clones per size, %u forks per size "
		"and dirty count, %.0f ms apart%s)...\n",
		cluster ? "the agent of node 0" : "the engine", p->alone, p->n,
		p->alone_forks, (double)p->gap_ns / 1e6, more);
	snprintf(trace, sizeof(trace), "%s/alone.trace", tmpdir);
	if (run_ops(p, db, trace, run, cluster, nodes, NULL, 1, &before, err,
		    errlen) < 0)
		return -1;
	size_t tgot, fgot;
	if (ukf_calib_collect_alone(db, trace, before, spells,
				    idle ? p->nidle + 1 : 0, s, &c, err,
				    errlen) <
		0 ||
	    ukf_calib_trace_templates(trace, 0, s, &tgot, &fgot, err, errlen) <
		0)
		return -1;
	fprintf(stderr,
		"ukfork calibrate: %zu template clones (%zu the first at "
		"their size), %zu live forks (%zu the first at their size), "
		"%zu templates made, %zu agent samples, %zu clone units\n",
		c.clones + c.clone_first, c.clone_first, c.forks + c.fork_first,
		c.fork_first, tgot, c.agent, c.touch);
	if (idle)
		fprintf(stderr,
			"ukfork calibrate: %zu template clones after an idle "
			"spell\n",
			c.idle);
	if (c.clones < 2) {
		snprintf(err, errlen,
			 "the alone workload %s gave %zu template clones "
			 "after the first at each size (2 at least are "
			 "needed)",
			 p->alone, c.clones);
		return -1;
	}
	return 0;
}

int ukf_calib_measure_cluster(const struct ukf_calib_plan *p,
			      const char *cluster, uint32_t nodes,
			      const char *link,
			      const char *db, const char *tmpdir,
			      ukf_calib_scenario_fn run, ukf_calib_set_t *s,
			      char *err, size_t errlen)
{
	char trace[512];
	int64_t before;

	if (nodes < 2) {
		snprintf(err, errlen,
			 "%s has %u node: a remote fork needs two at least",
			 cluster, nodes);
		return -1;
	}
	if (!p->cluster_ops[0]) {
		snprintf(err, errlen, "the plan has cluster_ops = none");
		return -1;
	}
	fprintf(stderr,
		"ukfork calibrate: remote forks and template fetches on the "
		"%u node agents of %s (%s, %u run(s), %u apps per size)...\n",
		nodes, cluster, p->cluster_ops,
		p->cluster_reps * cluster_parts(p), p->n);
	snprintf(trace, sizeof(trace), "%s/cluster.trace", tmpdir);
	if (run_ops(p, db, trace, run, cluster, nodes, link, 0, &before, err,
		    errlen) < 0)
		return -1;
	/* its idle clones asked for: each template clone goes with the
	 * nearest (by ratio) of the gap and the idle spells */
	int idle = idle_asked(p, 1);
	double spells[UKF_CALIB_MAX_IDLE + 1] = {(double)p->gap_ns};
	for (size_t i = 0; idle && i < p->nidle; i++)
		spells[i + 1] = (double)p->idle_ns[i];
	struct ukf_calib_remote_counts c;
	if (ukf_calib_collect_remote(db, trace, before, spells,
				     idle ? p->nidle + 1 : 0, s, &c, err,
				     errlen) < 0)
		return -1;
	fprintf(stderr,
		"ukfork calibrate: %zu remote forks (%zu without a template "
		"fetch: those are fitted), %zu template fetches, %zu "
		"templates made, %zu agent samples, %zu template clones "
		"started where requested and %zu on another node\n",
		c.forks, c.restore, c.fetch, c.made, c.agent, c.placed_local,
		c.placed_remote);
	if (idle)
		fprintf(stderr,
			"ukfork calibrate: %zu template clones after an idle "
			"spell (on either node), %zu remote forks after the "
			"gap or an idle spell (apps idlef and idlew, the "
			"parent where requested), %zu back to the node that "
			"requested the parent elsewhere (delta_idle_since; "
			"%zu more left out, that node not idle)\n",
			c.idle, c.idle_forks, c.idle_forks_woken,
			c.woken_near);
	if (idle && c.idle_forks_woken < 2 * (size_t)p->nidle)
		fprintf(stderr,
			"ukfork calibrate: warning: %zu forks back to the node "
			"that requested the parent elsewhere after %zu idle "
			"spells: delta_idle_since is chosen from 2 a spell at "
			"least (the model keeps its default where too few)\n",
			c.idle_forks_woken, (size_t)p->nidle);
	if (c.restore < 3) {
		snprintf(err, errlen,
			 "the cluster workload %s gave %zu remote forks (3 at "
			 "least are needed; see the agents' logs)",
			 p->cluster_ops, c.restore);
		return -1;
	}
	/* The node's own operations as the agents run them: on this
	 * machine's 2-node testbed a template clone through an agent took
	 * 3-19% longer than the same clone in calibrate's own process
	 * (session 31), and a model of the testbed is to have the first */
	if (p->alone[0]) {
		if (ukf_calib_interrupted()) {
			snprintf(err, errlen, "interrupted");
			return -1;
		}
		if (alone(p, db, tmpdir, run, cluster, nodes, s, err, errlen) <
		    0)
			return -1;
	}
	return 0;
}

int ukf_calib_measure_kvm(const struct ukf_calib_plan *p, const char *db,
			  const char *tmpdir, ukf_calib_scenario_fn run,
			  ukf_calib_set_t *s, char *err, size_t errlen)
{
	char synth[4096];

	if (ukf_live_image_path("synth", synth, sizeof(synth)) < 0 ||
	    access(synth, R_OK) < 0) {
		snprintf(err, errlen,
			 "no synth guest image at %s (build it: "
			 "cmake --build BUILD --target guest-synth; "
			 "or set UKF_GUEST_DIR)",
			 synth);
		return -1;
	}
	size_t ninit = p->ninit ? p->ninit : 1; /* boot_init[0] is 0 */
	for (size_t i = 0; i < p->nboot; i++)
		for (size_t j = 0; j < ninit; j++) {
			uint64_t init = j ? p->boot_init[j] : 0;
			if (ukf_calib_interrupted())
				goto stopped;
			if (init)
				fprintf(stderr,
					"ukfork calibrate: cold boots at "
					"%" PRIu64 " MiB, init %.3f ms "
					"(%u)...\n",
					p->boot_mem[i] >> 20,
					(double)init / 1e6, p->n);
			else
				fprintf(stderr,
					"ukfork calibrate: cold boots at "
					"%" PRIu64 " MiB (%u)...\n",
					p->boot_mem[i] >> 20, p->n);
			if (boots(p, db, synth, p->boot_mem[i], init, 0, 0, s,
				  err, errlen) < 0)
				return -1;
		}
	/* the same cold boots after each idle spell (boot_idle_curve) */
	for (size_t i = 0; i < p->nboot; i++)
		for (size_t j = 0; j < p->nidle; j++) {
			if (ukf_calib_interrupted())
				goto stopped;
			fprintf(stderr,
				"ukfork calibrate: cold boots at %" PRIu64
				" MiB, each %.0f ms after the last (%u)...\n",
				p->boot_mem[i] >> 20,
				(double)p->idle_ns[j] / 1e6, p->idle_n);
			if (boots(p, db, synth, p->boot_mem[i], 0,
				  p->idle_ns[j], 0, s, err, errlen) < 0)
				return -1;
		}
	for (size_t i = 0; i < p->nclone; i++) {
		if (ukf_calib_interrupted())
			goto stopped;
		fprintf(stderr,
			"ukfork calibrate: template clones at %" PRIu64
			" MiB (%u)...\n",
			p->clone_mem[i] >> 20, p->n);
		if (boots(p, db, synth, p->clone_mem[i], 0, 0, 1, s, err,
			  errlen) < 0)
			return -1;
	}
	if (ukf_calib_interrupted())
		goto stopped;
	if (p->ops[0]) {
		fprintf(stderr,
			"ukfork calibrate: live forks and templates "
			"through the engine (%s, %u runs)...\n",
			p->ops, p->ops_reps);
		if (forks(p, db, tmpdir, run, s, err, errlen) < 0)
			return -1;
	}
	if (ukf_calib_interrupted())
		goto stopped;
	if (p->alone[0]) {
		if (alone(p, db, tmpdir, run, NULL, 0, s, err, errlen) < 0)
			return -1;
	}
	return 0;
stopped:
	snprintf(err, errlen, "interrupted");
	return -1;
}
