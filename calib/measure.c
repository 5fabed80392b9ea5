/* SPDX-License-Identifier: MIT */
/* measure.c - the measurement plan on the KVM backend: cold boots and template
 * clones through bootbench, live forks and template making through the engine
 * (a Lua scenario). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

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

/* One SELECT of (x, ns) rows into the set as op; *got: rows added. */
static int query_samples(const char *db, const char *sql, int64_t arg,
			 ukf_calib_set_t *s, const char *op, size_t *got,
			 char *err, size_t errlen)
{
	sqlite3 *sq = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1, r;

	*got = 0;
	if (sqlite3_open_v2(db, &sq, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(sq, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", db,
			 sq ? sqlite3_errmsg(sq) : "out of memory");
		goto out;
	}
	sqlite3_bind_int64(st, 1, arg);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (ukf_calib_set_add(s, op, sqlite3_column_double(st, 0),
				      sqlite3_column_double(st, 1)) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		(*got)++;
	}
	if (r != SQLITE_DONE) {
		snprintf(err, errlen, "%s: %s", db, sqlite3_errmsg(sq));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(sq);
	return rc;
}

static int64_t max_run(const char *db)
{
	sqlite3 *sq = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = 0;

	if (sqlite3_open_v2(db, &sq, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(sq, "SELECT coalesce(max(id), 0) FROM runs", -1,
			       &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(sq);
	return v;
}

/* Cold boots (template 0) or template clones (1) of synth at mem bytes. */
static int boots(const struct ukf_calib_plan *p, const char *db,
		 const char *synth, uint64_t mem, int from_template,
		 ukf_calib_set_t *s, char *err, size_t errlen)
{
	char n[24], m[32], gm[48];
	snprintf(n, sizeof(n), "%u", p->n);
	snprintf(m, sizeof(m), "%" PRIu64 "K", mem >> 10);
	snprintf(gm, sizeof(gm), "mem=%s", m);
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
	av[ac++] = (char *)"--guest";
	av[ac++] = (char *)synth;
	av[ac++] = gm;
	av[ac++] = (char *)"init=0";
	av[ac++] = (char *)"work=0";
	av[ac++] = (char *)"dirty=0";
	av[ac] = NULL;

	int64_t before = max_run(db);
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
	    mem);
	if (query_samples(db, sql, before, s, from_template ? "clone" : "boot",
			  &got, err, errlen) < 0)
		return -1;
	if (got < 2) {
		snprintf(err, errlen,
			 "bootbench %s at %s: %zu of %u instances reached "
			 "UKF-READY (see its messages above)",
			 from_template ? "template clones" : "cold boots", gm,
			 got, p->n);
		return -1;
	}
	if (rc == 1)
		fprintf(stderr,
			"ukfork calibrate: bootbench %s at %s: %zu of "
			"%u ok, the others left out\n",
			from_template ? "template clones" : "cold boots", gm,
			got, p->n);
	return 0;
}

/* template-make (and, tfetch set, template-fetch) -> template-ready pairs
 * of the engine trace, on the same node: "T NODE template-make app=A ...",
 * "T NODE template-fetch app=A node=N from=P" and "T NODE template-ready
 * app=A node=N bytes=B ..." (T in seconds). Makes become "template"
 * samples, fetches (with tfetch) "tfetch" ones, x = bytes. */
static int trace_templates(const char *path, int tfetch, ukf_calib_set_t *s,
			   size_t *got, size_t *fgot, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	struct {
		char node[32], app[64];
		int fetch;
		double t;
	} open_[64];
	size_t nopen = 0;

	*got = *fgot = 0;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		double t;
		char node[32], ev[32], app[64];
		if (sscanf(line, "%lf %31s %31s app=%63s", &t, node, ev, app) !=
		    4)
			continue;
		int fetch = !strcmp(ev, "template-fetch");
		if ((fetch && tfetch) || !strcmp(ev, "template-make")) {
			size_t k = 0;
			while (k < nopen && (strcmp(open_[k].node, node) ||
					     strcmp(open_[k].app, app)))
				k++;
			if (k == nopen) {
				if (nopen == 64)
					continue;
				nopen++;
			}
			snprintf(open_[k].node, sizeof(open_[k].node), "%s",
				 node);
			snprintf(open_[k].app, sizeof(open_[k].app), "%s", app);
			open_[k].fetch = fetch;
			open_[k].t = t;
		} else if (!strcmp(ev, "template-ready")) {
			const char *b = strstr(line, " bytes=");
			for (size_t i = 0; i < nopen; i++) {
				if (strcmp(open_[i].app, app) ||
				    strcmp(open_[i].node, node))
					continue;
				if (b && ukf_calib_set_add(
					     s,
					     open_[i].fetch ? "tfetch"
							    : "template",
					     strtod(b + 7, NULL),
					     (t - open_[i].t) * 1e9) == 0)
					(*(open_[i].fetch ? fgot : got))++;
				open_[i] = open_[--nopen];
				break;
			}
		}
	}
	fclose(f);
	return 0;
}

/* Run the plan's engine workload: the one-node ops scenario on the local
 * KVM (cluster NULL) or the cluster scenario on the node agents of
 * `cluster` (nodes of them). *before: the last run id before it. */
static int run_ops(const struct ukf_calib_plan *p, const char *db,
		   const char *trace, ukf_calib_scenario_fn run,
		   const char *cluster, uint32_t nodes, int64_t *before,
		   char *err, size_t errlen)
{
	struct ukf_run_opts o;
	char sets[5][128];
	const char *setv[5];
	const char *script = cluster ? p->cluster_ops : p->ops;

	if (!run) {
		snprintf(err, errlen, "%s: no scenario runner",
			 cluster ? "remote forks" : "live forks");
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.script = script;
	o.reps = cluster ? p->cluster_reps : p->ops_reps;
	o.db_path = db;
	o.backend = "kvm";
	o.trace_path = trace;
	o.quiet = 1;
	if (cluster) {
		char sizes[UKF_CALIB_MAX_POINTS * 12] = "";
		for (size_t i = 0; i < p->ntmpl; i++) {
			size_t l = strlen(sizes);
			snprintf(sizes + l, sizeof(sizes) - l, "%s%" PRIu64,
				 i ? " " : "", p->tmpl_mem[i] >> 20);
		}
		snprintf(sets[0], sizeof(sets[0]), "nodes=%u", nodes);
		snprintf(sets[1], sizeof(sets[1]), "n=%u", p->n);
		snprintf(sets[2], sizeof(sets[2]), "sizes=%s", sizes);
		snprintf(sets[3], sizeof(sets[3]), "units=%u", p->fork_units);
		snprintf(sets[4], sizeof(sets[4]), "dirty=%u", p->fork_dirty);
		for (int i = 0; i < 5; i++)
			setv[i] = sets[i];
		o.sets = setv;
		o.nsets = 5;
		o.cluster = cluster;
		o.cluster_nodes = nodes;
	}
	FILE *null = fopen("/dev/null", "w");
	*before = max_run(db);
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
	if (run_ops(p, db, trace, run, NULL, 0, &before, err, errlen) < 0)
		return -1;
	size_t got, tgot, fgot;
	/* x = pages copied at the fork: the parent's dirty_pages (its row at
	 * exit; a kvm-ops.lua parent writes nothing after forking) */
	if (query_samples(db,
			  "SELECT p.dirty_pages, c.t_ready - c.t_request"
			  " FROM instances c JOIN instances p"
			  " ON p.run = c.run AND p.id = c.parent"
			  " WHERE c.run > ?1 AND c.start = 'fork'"
			  " AND NOT coalesce(c.remote, 0)"
			  " AND c.t_ready >= c.t_request AND c.t_request >= 0"
			  " ORDER BY c.run, c.id",
			  before, s, "fork", &got, err, errlen) < 0)
		return -1;
	/* Template starts through the engine, request -> READY: what the
	 * simulator's template start is (READY comes from the VM thread
	 * before any guest code runs, backends/kvm/vm.c), unlike bootbench's
	 * launch -> UKF-READY line, which also resumes the guest up to its
	 * first console write. x = the app's memory from its fork rows is
	 * not stored; 0 (a flat mean). */
	size_t cgot, agot;
	if (query_samples(db,
			  "SELECT 0, t_ready - t_request FROM instances"
			  " WHERE run > ?1 AND start = 'template'"
			  " AND NOT coalesce(remote, 0)"
			  " AND NOT coalesce(template_fetched, 0)"
			  " AND t_ready >= t_request AND t_request >= 0"
			  " ORDER BY run, id",
			  before, s, "clone_engine", &cgot, err, errlen) < 0)
		return -1;
	/* The engine's own time from a request to the backend operation it
	 * leads to (placement, bookkeeping, the live loop's turn): the node
	 * agent's service of one message, for template starts and forks. */
	if (query_samples(db,
			  "SELECT 0, t_start - t_request FROM instances"
			  " WHERE run > ?1 AND start IN ('template', 'fork')"
			  " AND NOT coalesce(remote, 0)"
			  " AND NOT coalesce(template_fetched, 0)"
			  " AND t_start >= t_request AND t_request >= 0"
			  " ORDER BY run, id",
			  before, s, "agent", &agot, err, errlen) < 0)
		return -1;
	if (trace_templates(trace, 0, s, &tgot, &fgot, err, errlen) < 0)
		return -1;
	fprintf(stderr,
		"ukfork calibrate: %zu live forks, %zu templates made, %zu "
		"template starts, %zu agent samples\n",
		got, tgot, cgot, agot);
	if (got < 3) {
		snprintf(err, errlen,
			 "the engine workload %s gave %zu live "
			 "forks (3 at least are needed)",
			 p->ops, got);
		return -1;
	}
	return 0;
}

/* A remote fork child's row: start 'fork' on another node than its
 * origin (the parent's), with the delta it was restored from. x = the
 * delta's pages (the KVM backend's delta_bytes is pages x 4096:
 * backends/kvm/clone.c), which, unlike the parent's row at exit, is the
 * count at this fork when the parent forks after each of several units. */
#define REMOTE_FORK                                                            \
	" FROM instances WHERE run > ?1 AND start = 'fork'"                    \
	" AND coalesce(remote, 0) AND delta_bytes > 0"

int ukf_calib_measure_cluster(const struct ukf_calib_plan *p,
			      const char *cluster, uint32_t nodes,
			      const char *db, const char *tmpdir,
			      ukf_calib_scenario_fn run, ukf_calib_set_t *s,
			      char *err, size_t errlen)
{
	char trace[512];
	int64_t before;
	size_t sgot, rgot, tgot, fgot, agot, cgot;

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
		nodes, cluster, p->cluster_ops, p->cluster_reps, p->n);
	snprintf(trace, sizeof(trace), "%s/cluster.trace", tmpdir);
	if (run_ops(p, db, trace, run, cluster, nodes, &before, err, errlen) <
	    0)
		return -1;
	/* delta save + transfer: placement on the parent's node -> the
	 * restore's start on the target (one clock per node: the testbed's
	 * agents share the host's; real hosts need synchronised clocks),
	 * without the children that had to fetch the template first */
	if (query_samples(db,
			  "SELECT delta_bytes / 4096.0, t_start - t_placed"
			  REMOTE_FORK
			  " AND NOT coalesce(template_fetched, 0)"
			  " AND t_start >= t_placed AND t_placed >= 0"
			  " ORDER BY run, id",
			  before, s, "rfork_save", &sgot, err, errlen) < 0 ||
	    query_samples(db,
			  "SELECT delta_bytes / 4096.0, t_ready - t_start"
			  REMOTE_FORK
			  " AND t_ready >= t_start AND t_start >= 0"
			  " ORDER BY run, id",
			  before, s, "rfork_restore", &rgot, err, errlen) < 0 ||
	    query_samples(db,
			  "SELECT delta_bytes / 4096.0, t_ready - t_request"
			  REMOTE_FORK
			  " AND NOT coalesce(template_fetched, 0)"
			  " AND t_ready >= t_request AND t_request >= 0"
			  " ORDER BY run, id",
			  before, s, "rfork", &cgot, err, errlen) < 0)
		return -1;
	/* the engine's own time on a request handled where it was made:
	 * here mostly cold boots (each app's first instance) */
	if (query_samples(db,
			  "SELECT 0, t_start - t_request FROM instances"
			  " WHERE run > ?1"
			  " AND start IN ('cold', 'template', 'fork')"
			  " AND NOT coalesce(remote, 0)"
			  " AND NOT coalesce(template_fetched, 0)"
			  " AND t_start >= t_request AND t_request >= 0"
			  " ORDER BY run, id",
			  before, s, "agent", &agot, err, errlen) < 0)
		return -1;
	if (trace_templates(trace, 1, s, &tgot, &fgot, err, errlen) < 0)
		return -1;
	fprintf(stderr,
		"ukfork calibrate: %zu remote forks (%zu without a template "
		"fetch), %zu template fetches, %zu templates made, %zu agent "
		"samples\n",
		rgot, sgot, fgot, tgot, agot);
	if (rgot < 3) {
		snprintf(err, errlen,
			 "the cluster workload %s gave %zu remote forks (3 at "
			 "least are needed; see the agents' logs)",
			 p->cluster_ops, rgot);
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
	for (size_t i = 0; i < p->nboot; i++) {
		fprintf(stderr,
			"ukfork calibrate: cold boots at %" PRIu64
			" MiB (%u)...\n",
			p->boot_mem[i] >> 20, p->n);
		if (boots(p, db, synth, p->boot_mem[i], 0, s, err, errlen) < 0)
			return -1;
	}
	for (size_t i = 0; i < p->nclone; i++) {
		fprintf(stderr,
			"ukfork calibrate: template clones at %" PRIu64
			" MiB (%u)...\n",
			p->clone_mem[i] >> 20, p->n);
		if (boots(p, db, synth, p->clone_mem[i], 1, s, err, errlen) < 0)
			return -1;
	}
	if (p->ops[0]) {
		fprintf(stderr,
			"ukfork calibrate: live forks and templates "
			"through the engine (%s, %u runs)...\n",
			p->ops, p->ops_reps);
		if (forks(p, db, tmpdir, run, s, err, errlen) < 0)
			return -1;
	}
	return 0;
}
