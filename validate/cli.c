/* SPDX-License-Identifier: MIT */
/* cli.c - `ukfork validate`: run a scenario in the real world and in the
 * simulator (same seeds, one database), or take two sets of runs of a database,
 * and compare them. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../cli/scenario.h"
#include "../core/ukf.h"
#include "validate_int.h"
#ifdef UKF_VALIDATE_HAVE_AGENT
#include "../agent/cluster.h"
#endif

static const char usage[] =
    "usage: ukfork validate SCENARIO.lua (--backend kvm | --cluster FILE)\n"
    "           [--model MODEL.conf] [--reps R] [--sim-reps N] [--seed S]\n"
    "           [--set N=V]...\n"
    "           [--threshold PCT] [--metrics LIST] [--db DB] [--plot DIR]\n"
    "       ukfork validate --from-db DB [--real-label L] [--real-backend B]\n"
    "           [--real-runs A-B] [--sim-label L] [--sim-backend B]\n"
    "           [--sim-runs A-B] [--threshold PCT] [--metrics LIST] [--plot "
    "DIR]\n"
    "  (both: [--app NAME] [--where W] [--resamples N] [--boot-seed N]\n"
    "   [--sim-pooled] [--phases])\n"
    "\n"
    "Run SCENARIO.lua on the real backend (this machine's KVM, or the node\n"
    "agents of a cluster file), then on the simulator with the same seeds\n"
    "(and the cost model MODEL.conf: --set model=MODEL.conf), both into one\n"
    "results database, and compare them. With --from-db, compare two sets\n"
    "of runs already in DB instead (each side: runs whose label, backend\n"
    "and id range match what is given; a side given none of its three is\n"
    "backend kvm for real, backend sim for sim; a run on both sides is\n"
    "refused).\n"
    "\n"
    "Per start kind (cold, template, fork) the p50, p95 and p99 of\n"
    "request-to-ready (completed requests), the cold-start fraction and\n"
    "each node's share of the instances: real, sim, the relative error\n"
    "(sim - real) / real and a 95% bootstrap interval of the error\n"
    "(each side's runs resampled, or its requests when it has under\n"
    "10 runs; fixed-seed GSL generator). Where the simulated\n"
    "runs hold 2 or more groups shaped like the real runs (the same\n"
    "seeds, as many runs of each), a simulated quantile is the mean over\n"
    "those groups (and its interval resamples them): it is compared at\n"
    "the real side's sample size (the p99 of 48 requests is their\n"
    "largest; the p50 of two apps with a cold start each per run, the\n"
    "smaller app's largest).\n"
    "\n"
    "options:\n"
    "  --threshold PCT   largest |error| of a checked metric, in % (5)\n"
    "  --metrics LIST    checked statistics, comma-separated among p50,\n"
    "                    p95, p99, cold_frac, load (default p50,p95)\n"
    "  --resamples N     bootstrap resamples (1000; at least 200)\n"
    "  --boot-seed N     bootstrap seed, 0..4294967295 (1; 0 is GSL's\n"
    "                    default seed, 4357)\n"
    "  --sim-pooled      simulated figures over all the simulated requests\n"
    "                    at once, not at the real side's size\n"
    "  --app NAME        compare the instances of app NAME only (a start\n"
    "                    kind pooling apps of different sizes has a p50\n"
    "                    between their modes)\n"
    "  --where W         compare the instances that started at W only:\n"
    "                    local (on the node that requested them), remote\n"
    "                    (on another) or fetched (after a template fetch);\n"
    "                    a start kind split so has no border between them\n"
    "                    (on 2 nodes the fork p50 lies on one); the\n"
    "                    fractions are then of those instances, and\n"
    "                    requests never placed are left out\n"
    "  --phases          after the verdict, where the time goes: per start\n"
    "                    kind and where it started (local, remote, after a\n"
    "                    template fetch), each world's share and median\n"
    "                    request -> placed, placed -> start, start -> ready,\n"
    "                    request -> ready and the node's idle spell before\n"
    "                    the placement; then where each quantile's value\n"
    "                    started in each world (a quantile on the border of\n"
    "                    two starts moves with a few placements)\n"
    "  --reps R, --seed S, --set N=V   as for ukfork run (both worlds;\n"
    "                    --reps: the real world's replications)\n"
    "  --sim-reps N      replications of the simulated side (default: R),\n"
    "                    seed S and reps 0..N-1, so the first R are the\n"
    "                    real runs' seed and reps: a simulated run costs\n"
    "                    milliseconds, and more of them estimate the\n"
    "                    model's quantiles closer\n"
    "  --db DB           keep both runs in DB (default: a temporary file);\n"
    "                    `ukfork report DB` shows them\n"
    "  --plot DIR        validate-cdf-KIND.png/.svg: the two CDFs (gnuplot)\n"
    "\n"
    "exit status: 0 every checked metric within the threshold; 1 one is\n"
    "not, a run or gnuplot failed, or stdout could not be written; 2 bad\n"
    "command line, scenario or database, or a --plot DIR that cannot\n"
    "work (checked before anything runs); 77 the real backend is\n"
    "unavailable (no usable /dev/kvm). See docs/validation.md.\n";

static int bad(const char *prog, const char *msg, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, msg, arg);
	fprintf(stderr, "\n(try `%s --help`)\n", prog);
	return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* "A-B" (ids, A <= B) into the selector. */
static int parse_range(const char *s, struct ukf_validate_sel *sel)
{
	char a[32];
	const char *dash = strchr(s, '-');
	uint64_t lo, hi;

	if (!dash || (size_t)(dash - s) >= sizeof(a))
		return -1;
	memcpy(a, s, (size_t)(dash - s));
	a[dash - s] = 0;
	if (parse_u64(a, &lo) || parse_u64(dash + 1, &hi) || lo < 1 ||
	    hi < lo || hi > INT64_MAX)
		return -1;
	sel->id_lo = (int64_t)lo;
	sel->id_hi = (int64_t)hi;
	return 0;
}

static int parse_metrics(const char *s, unsigned *mask)
{
	char buf[256];
	unsigned m = 0;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	/* every item named: "p50,,p95" or a trailing comma is a typo, not
	 * a shorter list (strtok_r skipped empty items) */
	for (char *t = buf, *next; t; t = next) {
		next = strchr(t, ',');
		if (next)
			*next++ = 0;
		int st = ukf_validate_stat_parse(t);
		if (st < 0)
			return -1;
		m |= 1u << st;
	}
	if (!m)
		return -1;
	*mask = m;
	return 0;
}

/* The largest run id of db (0: none or a new file); -1 on error. */
static int64_t max_run_id(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t id = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM runs", -1,
			       &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return id;
}

/* 1 if this process can open /dev/kvm read-write. */
static int kvm_usable(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

struct args {
	const char *script, *db, *plot, *from_db, *model, *backend, *cluster;
	uint32_t cluster_nodes;
	int reps_given;
	uint32_t sim_reps; /* 0: as run.reps */
	struct ukf_run_opts run;
	const char **sets;
	size_t nsets;
	struct ukf_validate_sel real, sim;
	struct ukf_validate_opts vo;
	int phases; /* --phases: the phases table after the verdict */
};

/* Compare, print, plot; the exit status. */
static int compare_and_report(const char *prog, const struct args *a,
			      const char *db)
{
	ukf_validate_result_t *r = NULL;
	char err[2048];

	if (ukf_validate_compare(db, &a->real, &a->sim, &a->vo, &r, err,
				 sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 2;
	}
	ukf_validate_print(r, &a->vo, stdout);
	if (a->phases &&
	    ukf_validate_print_phases(r, stdout, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: the phases table: %s\n", prog, err);
		ukf_validate_result_destroy(&r);
		return 1;
	}
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		/* a verdict nobody could read is no pass (stdout on a full
		 * disk, a closed pipe) */
		fprintf(stderr, "%s: writing the comparison to stdout: %s\n",
			prog, errno ? strerror(errno) : "write error");
		ukf_validate_result_destroy(&r);
		return 1;
	}
	int rc = ukf_validate_failed(r) ? 1 : 0;
	if (a->plot) {
		if (ukf_validate_plot(r, a->plot, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", prog, err);
			rc = 1;
		} else {
			fprintf(stderr,
				"%s: plots in %s (validate-cdf-*.png, .svg)\n",
				prog, a->plot);
		}
	}
	ukf_validate_result_destroy(&r);
	return rc;
}

/* Run the scenario on one world into db; the runs it added are the ids
 * after *first, and *first moves past them. 0, or an exit status. */
static int run_world(const char *prog, struct args *a,
		     ukf_validate_scenario_fn run, const char *db, int real,
		     struct ukf_validate_sel *sel, int64_t *first)
{
	struct ukf_run_opts o = a->run;
	char modelset[4200], nodeset[32];
	const char **sets = a->sets;
	size_t nsets = a->nsets;

	o.db_path = db;
	o.quiet = 1;
	if (real) {
		o.backend = "kvm";
		o.cluster = a->cluster;
		o.cluster_nodes = a->cluster_nodes;
	} else {
		o.backend = "sim";
		o.cluster = NULL;
		o.cluster_nodes = 0;
		if (a->sim_reps)
			o.reps = a->sim_reps;
		if (a->model) {
			snprintf(modelset, sizeof(modelset), "model=%s",
				 a->model);
			sets[nsets++] = modelset;
		}
		/* the simulated cluster has the real one's node count (the
		 * scenario's cluster{nodes=} is for a plain sim run) */
		int nodes_set = 0;
		for (size_t i = 0; i < a->nsets; i++)
			nodes_set |= !strncmp(a->sets[i], "nodes=", 6);
		if (a->cluster && !nodes_set) {
			snprintf(nodeset, sizeof(nodeset), "nodes=%u",
				 a->cluster_nodes);
			sets[nsets++] = nodeset;
		}
	}
	o.sets = sets;
	o.nsets = nsets;
	fprintf(stderr, "%s: %s run of %s (%u rep(s))...\n", prog,
		real ? (a->cluster ? "cluster" : "kvm") : "sim", a->script,
		o.reps);
	int rc = run(&o, stdout, stderr);
	if (rc == UKF_RUN_BAD)
		return 2;
	if (rc != UKF_RUN_OK) {
		fprintf(stderr, "%s: the %s run failed\n", prog,
			real ? "real" : "sim");
		return 1;
	}
	int64_t last = max_run_id(db);
	if (last <= *first) {
		fprintf(stderr, "%s: the %s run stored no run in %s\n", prog,
			real ? "real" : "sim", db);
		return 1;
	}
	sel->id_lo = *first + 1;
	sel->id_hi = last;
	sel->backend = NULL;
	*first = last;
	return 0;
}

static int run_both(const char *prog, struct args *a,
		    ukf_validate_scenario_fn run)
{
	char tmpdir[] = "/tmp/ukf-validate-XXXXXX", tmpdb[64];
	const char *db = a->db;
	int rc;

	if (!run) {
		fprintf(stderr, "%s: no scenario runner in this build\n", prog);
		return 1;
	}
	if (!a->cluster && !kvm_usable()) {
		fprintf(stderr,
			"%s: the real backend is unavailable: /dev/kvm cannot "
			"be opened (validate on a KVM host, inside "
			"scripts/kvm-vm/run, whose timings are emulated, or "
			"against node agents: --cluster FILE)\n",
			prog);
		return 77;
	}
	if (!db) {
		if (!mkdtemp(tmpdir)) {
			fprintf(stderr, "%s: mkdtemp: %s\n", prog,
				strerror(errno));
			return 1;
		}
		snprintf(tmpdb, sizeof(tmpdb), "%s/validate.db", tmpdir);
		db = tmpdb;
	}
	int64_t first = access(db, F_OK) == 0 ? max_run_id(db) : 0;
	if (first < 0)
		first = 0; /* an empty or new file: ukfork run creates it */
	rc = run_world(prog, a, run, db, 1, &a->real, &first);
	if (!rc)
		rc = run_world(prog, a, run, db, 0, &a->sim, &first);
	if (!rc) {
		printf("%s %s, %s vs sim%s%s, %u rep(s)", prog, a->script,
		       a->cluster ? "cluster" : "kvm",
		       a->model ? ", model " : "", a->model ? a->model : "",
		       a->run.reps);
		if (a->sim_reps && a->sim_reps != a->run.reps)
			printf(" (sim %u)", a->sim_reps);
		printf(", seed %llu\n",
		       (unsigned long long)(a->run.seed_set ? a->run.seed : 1));
		printf("runs in %s: real %lld-%lld, sim %lld-%lld\n",
		       a->db ? a->db : "(temporary)", (long long)a->real.id_lo,
		       (long long)a->real.id_hi, (long long)a->sim.id_lo,
		       (long long)a->sim.id_hi);
		rc = compare_and_report(prog, a, db);
	}
	if (!a->db) {
		char side[96];
		static const char *const ext[] = {"", "-wal", "-shm",
						  "-journal"};
		for (size_t i = 0; i < sizeof(ext) / sizeof(*ext); i++) {
			snprintf(side, sizeof(side), "%s%s", tmpdb, ext[i]);
			unlink(side);
		}
		rmdir(tmpdir);
	}
	return rc;
}

/* --plot DIR usable (gnuplot, DIR a writable directory) before anything
 * runs: a run under KVM takes minutes, and a plot failing after it would
 * exit 1 like a failed check. -1 with the message printed (exit 2). */
static int plot_check(const char *prog, const struct args *a)
{
	char err[4200];

	if (!a->plot || ukf_validate_plot_check(a->plot, err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "%s: %s\n", prog, err);
	return -1;
}

int ukf_validate_main(int argc, char **argv, ukf_validate_scenario_fn run)
{
	const char *prog = argc > 0 ? argv[0] : "ukfork validate";
	struct args a;
	char model_abs[PATH_MAX];
	int rc = 2;

	memset(&a, 0, sizeof(a));
	ukf_validate_opts_default(&a.vo);
	a.run.reps = 1;
	a.sets = calloc((size_t)argc + 3, sizeof(*a.sets));
	if (!a.sets)
		return 1;
	/* each goes once (--set may repeat): the last one won without a
	 * word, so `--real-runs 1-2 --real-runs 3-4 --sim-runs 3-4`
	 * compared runs 3-4 with themselves and passed */
	static const char *const once[] = {
	    "--backend",    "--cluster",    "--model",	    "--reps",
	    "--sim-reps",
	    "--seed",	    "--threshold",  "--metrics",    "--resamples",
	    "--boot-seed",  "--db",	    "--plot",	    "--from-db",
	    "--real-label", "--sim-label",  "--real-backend",
	    "--sim-backend", "--real-runs", "--sim-runs", "--app", "--where"};
	unsigned char given[sizeof(once) / sizeof(once[0])] = {0};
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;

		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			fputs(usage, stdout);
			rc = 0;
			goto out;
		}
		if (!strcmp(o, "--sim-pooled") || !strcmp(o, "--phases")) {
			int *flag = o[2] == 's' ? &a.vo.sim_pooled : &a.phases;
			if (*flag) {
				rc = bad(prog, "%s given twice", o);
				goto out;
			}
			*flag = 1;
			continue;
		}
		if (o[0] != '-') {
			if (a.script) {
				rc = bad(
				    prog,
				    "one scenario only (extra argument '%s')",
				    o);
				goto out;
			}
			a.script = o;
			continue;
		}
		for (size_t k = 0; k < sizeof(once) / sizeof(once[0]); k++)
			if (!strcmp(o, once[k]) && given[k]++) {
				rc = bad(prog, "%s given twice", o);
				goto out;
			}
		if (!v) {
			rc = bad(prog, "unknown option or missing value: '%s'",
				 o);
			goto out;
		}
		/* every other option takes a value: an option in its place is a
		 * value forgotten (`--plot --threshold` at the end made a
		 * plot directory named --threshold, exit 0) */
		if (ukf_arg_is_option(v, NULL)) {
			fprintf(stderr, "%s: %s needs a value (found the "
				"option '%s')\n(try `%s --help`)\n",
				prog, o, v, prog);
			goto out;
		}
		i++;
		if (!strcmp(o, "--backend")) {
			if (strcmp(v, "kvm")) {
				rc = bad(prog,
					 "--backend: the real world is 'kvm' "
					 "(or --cluster FILE), not '%s'",
					 v);
				goto out;
			}
			a.backend = v;
		} else if (!strcmp(o, "--cluster")) {
#ifdef UKF_VALIDATE_HAVE_AGENT
			struct ukf_cluster *cl;
			char err[1024];
			if (ukf_cluster_load(&cl, v, err, sizeof(err))) {
				fprintf(stderr, "%s: --cluster: %s\n", prog,
					err);
				goto out;
			}
			a.cluster_nodes = (uint32_t)cl->nnodes;
			ukf_cluster_destroy(&cl);
			a.cluster = v;
#else
			rc = bad(prog, "--cluster %s: node agents not built in",
				 v);
			goto out;
#endif
		} else if (!strcmp(o, "--model")) {
			/* absolute: a relative `model` setting would be
			 * taken relative to the scenario's directory */
			if (access(v, R_OK) != 0 || !realpath(v, model_abs)) {
				rc = bad(prog, "--model: cannot read '%s'", v);
				goto out;
			}
			a.model = model_abs;
		} else if (!strcmp(o, "--reps")) {
			if (parse_u64(v, &n) || n < 1 || n > 1000000) {
				rc = bad(
				    prog,
				    "--reps: expected 1..1000000, got '%s'", v);
				goto out;
			}
			a.run.reps = (uint32_t)n;
			a.reps_given = 1;
		} else if (!strcmp(o, "--sim-reps")) {
			if (parse_u64(v, &n) || n < 1 || n > 1000000) {
				rc = bad(prog,
					 "--sim-reps: expected 1..1000000, got "
					 "'%s'",
					 v);
				goto out;
			}
			a.sim_reps = (uint32_t)n;
			a.reps_given = 1;
		} else if (!strcmp(o, "--seed")) {
			if (parse_u64(v, &n)) {
				rc = bad(prog, "--seed: bad number '%s'", v);
				goto out;
			}
			a.run.seed = n;
			a.run.seed_set = 1;
		} else if (!strcmp(o, "--set")) {
			a.sets[a.nsets++] = v;
		} else if (!strcmp(o, "--threshold")) {
			char *end;
			double t = strtod(v, &end);
			if (end == v || *end || !(t >= 0) || t > 1e6) {
				rc = bad(prog,
					 "--threshold: expected a percentage, "
					 "got '%s'",
					 v);
				goto out;
			}
			a.vo.threshold = t / 100;
		} else if (!strcmp(o, "--metrics")) {
			if (parse_metrics(v, &a.vo.checked)) {
				rc = bad(prog,
					 "--metrics: expected a list of p50, "
					 "p95, p99, cold_frac, load; got '%s'",
					 v);
				goto out;
			}
		} else if (!strcmp(o, "--resamples")) {
			/* a 95% interval of 10 resamples was their smallest
			 * and largest: each tail needs a few */
			unsigned lo = ukf_validate_min_resamples(a.vo.level);
			if (parse_u64(v, &n) || n < lo || n > 1000000) {
				fprintf(stderr,
					"%s: --resamples: expected %u..1000000 "
					"(a %.0f%% interval needs 10 / (1 - "
					"%.2f) resamples: %.0f in each tail), "
					"got '%s'\n(try `%s --help`)\n",
					prog, lo, 100 * a.vo.level, a.vo.level,
					(1 - a.vo.level) / 2 * lo, v, prog);
				goto out;
			}
			a.vo.resamples = (unsigned)n;
		} else if (!strcmp(o, "--boot-seed")) {
			/* GSL's mt19937 keeps the low 32 bits: 2^32 + 1
			 * drew what 1 draws */
			if (parse_u64(v, &n) || n > UINT32_MAX) {
				rc = bad(prog,
					 "--boot-seed: expected 0..4294967295 "
					 "(GSL's mt19937 takes 32 bits), got "
					 "'%s'",
					 v);
				goto out;
			}
			a.vo.seed = n;
		} else if (!strcmp(o, "--db")) {
			a.db = v;
		} else if (!strcmp(o, "--plot")) {
			a.plot = v;
		} else if (!strcmp(o, "--from-db")) {
			a.from_db = v;
		} else if (!strcmp(o, "--app")) {
			a.real.app = a.sim.app = v;
		} else if (!strcmp(o, "--where")) {
			if (ukf_validate_where_parse(v) < 0) {
				rc = bad(prog,
					 "--where: local, remote or fetched, "
					 "got '%s'",
					 v);
				goto out;
			}
			a.real.where = a.sim.where = v;
		} else if (!strcmp(o, "--real-label")) {
			a.real.label = v;
		} else if (!strcmp(o, "--sim-label")) {
			a.sim.label = v;
		} else if (!strcmp(o, "--real-backend")) {
			a.real.backend = v;
		} else if (!strcmp(o, "--sim-backend")) {
			a.sim.backend = v;
		} else if (!strcmp(o, "--real-runs") ||
			   !strcmp(o, "--sim-runs")) {
			if (parse_range(v, o[2] == 'r' ? &a.real : &a.sim)) {
				rc = bad(prog,
					 "expected run ids A-B (1 <= A <= B), "
					 "got '%s'",
					 v);
				goto out;
			}
		} else {
			rc = bad(prog, "unknown option '%s'", o);
			goto out;
		}
	}
	if (a.from_db) {
		if (a.script || a.backend || a.cluster || a.model || a.db ||
		    a.reps_given || a.run.seed_set || a.nsets) {
			rc = bad(prog, "%s",
				 "--from-db compares stored runs: no "
				 "scenario, --backend, --cluster, --model, "
				 "--db, --reps, --sim-reps, --seed or --set");
			goto out;
		}
		if (access(a.from_db, R_OK) != 0) {
			rc =
			    bad(prog, "--from-db: cannot read '%s'", a.from_db);
			goto out;
		}
		if (plot_check(prog, &a) < 0)
			goto out;
		if (!a.real.label && !a.real.backend && !a.real.id_lo)
			a.real.backend = "kvm";
		if (!a.sim.label && !a.sim.backend && !a.sim.id_lo)
			a.sim.backend = "sim";
		rc = compare_and_report(prog, &a, a.from_db);
		goto out;
	}
	if (!a.script) {
		rc = bad(prog, "%s", "missing SCENARIO.lua (or --from-db DB)");
		goto out;
	}
	if (!a.backend && !a.cluster) {
		rc = bad(prog, "%s",
			 "the real world: --backend kvm or --cluster FILE");
		goto out;
	}
	if (a.real.label || a.sim.label || a.real.backend || a.sim.backend ||
	    a.real.id_lo || a.sim.id_lo) {
		rc = bad(prog, "%s",
			 "--real-label, --real-backend, --real-runs, "
			 "--sim-label, --sim-backend and --sim-runs select "
			 "runs of --from-db only");
		goto out;
	}
	/* what the runs would refuse, before /dev/kvm is looked at: a
	 * typo must not read as "no KVM here" (77, a skip in CTest) */
	struct stat sb;
	const char *why = NULL;
	if (stat(a.script, &sb) < 0 || access(a.script, R_OK) < 0)
		why = strerror(errno);
	else if (!S_ISREG(sb.st_mode))
		why = "not a regular file";
	if (why) {
		fprintf(stderr, "%s: cannot read scenario '%s': %s\n", prog,
			a.script, why);
		goto out;
	}
	for (size_t i = 0; i < a.nsets; i++) {
		const char *eq = strchr(a.sets[i], '=');
		if (!eq || eq == a.sets[i]) {
			rc = bad(prog, "--set %s: expected name=value",
				 a.sets[i]);
			goto out;
		}
	}
	if (plot_check(prog, &a) < 0)
		goto out;
	a.run.script = a.script;
	rc = run_both(prog, &a, run);
out:
	free(a.sets);
	return rc;
}
