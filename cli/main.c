/* SPDX-License-Identifier: MIT */
/* main.c - the `ukfork` program: command dispatch, flags, help. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../core/ukf.h"
#include "../results/results.h"
#include "scenario.h"
#ifdef UKF_HAVE_BOOTBENCH
#include "../bootbench/bootbench.h"
#endif
#ifdef UKF_HAVE_LIVE
#include "../live/exec.h"
#endif
#ifdef UKF_HAVE_CALIB
#include "../calib/calib.h"
#endif
#ifdef UKF_HAVE_VALIDATE
#include "../validate/validate.h"
#endif
#ifdef UKF_HAVE_AGENT
#include <limits.h>
#include <unistd.h>

#include "../agent/client.h"
#include "../agent/cluster.h"
#include "../agent/keys.h"
#endif

static const char usage_main[] =
    "usage: ukfork [--help] [--version] COMMAND [ARGS...]\n"
    "\n"
    "Unikernels that fork: run scenarios on a simulated cluster or on KVM.\n"
    "\n"
    "commands:\n"
    "  run SCENARIO.lua   run a Lua scenario (sweeps x replications) and\n"
    "                     store every run in a results database\n"
    "  report DB          statistics of the runs stored in a database\n"
    "  bootbench          measure boot time of VMs (ukfork's or any VMM's)\n"
    "  calibrate          measure the KVM backend, fit the simulator's model\n"
    "  validate SCEN.lua  the same scenario real and simulated, compared\n"
    "                     per metric with error intervals and a verdict\n"
    "  exec APP [ARGS]    run one application on the local KVM node (or on\n"
    "                     the node agents of a cluster: --cluster FILE)\n"
    "  keys NAME          make a node's or client's CURVE key pair\n"
    "  testbed up|down    node agents in network namespaces on this machine\n"
    "  agent status       what the node agents of a cluster file are doing\n"
    "\n"
    "`ukfork COMMAND --help` describes a command. Scenario API:\n"
    "docs/scenarios.md.\n";

static const char usage_run[] =
    "usage: ukfork run SCENARIO.lua [options]\n"
    "\n"
    "Run a Lua scenario. Every combination of the values of swept settings\n"
    "(settings given as a list) times every replication is one run, stored\n"
    "in the database in its own transaction. A bad scenario stores nothing\n"
    "and exits with status 2. Started by mpirun (or srun --mpi=pmix), the\n"
    "runs are spread over the ranks and rank 0 stores them, in the order\n"
    "and with the rows of a serial run (docs/scenarios.md, \"Sweeps over\n"
    "MPI\"; --trace is refused there).\n"
    "\n"
    "options:\n"
    "  --seed N             base seed (default: run{seed=} or 1)\n"
    "  --reps N             independent replications per sweep point (1)\n"
    "  --db FILE            SQLite results database (default: none)\n"
    "  --set NAME=V[,V...]  override a setting or param(); a list sweeps\n"
    "  --backend sim|kvm    simulated cluster (default) or the local KVM node\n"
    "                       (one node, apps run the synth guest unless\n"
    "                       app(..., {image=}); the scenario reads backend())\n"
    "  --trace FILE         write the engine's event log with times\n"
    "  --template-dir DIR   kvm: start from the templates saved in DIR and\n"
    "                       save the node's templates there at the end\n"
    "  --cluster FILE       run on the node agents (ukforkd) of the cluster\n"
    "                       FILE, one engine per node (implies --backend kvm;\n"
    "                       --template-dir is then a directory at the agents)\n"
    "  --quiet              no per-run lines, summary table or progress\n"
    "  --progress           progress on stderr even when it is not a terminal\n"
    "                       (or with --quiet): a line at the end of each run\n"
    "                       at least. By default, on a terminal, runs over a\n"
    "                       second show one, rewritten every 0.5 s: sweep\n"
    "                       point, rep, world time, events/s, ETA of the\n"
    "                       whole command\n"
    "  --trusted            full Lua for the scenario: os, io, package,\n"
    "                       debug, native modules. Without it the scenario\n"
    "                       runs in a sandbox: no process spawning, native\n"
    "                       code, debug library or file access other than\n"
    "                       trace{} and run{model=} (docs/scenarios.md)\n"
    "  --max-instructions N Lua instructions one execution of the top level\n"
    "                       or one step of a process (to its next sleep,\n"
    "                       wait, ready or end) may take before the run stops\n"
    "                       as a runaway loop (default 1000000000; 0: no\n"
    "                       limit)\n"
    "  --help               this text\n"
    "\n"
    "An option that takes a value goes once, --set as often as needed.\n"
    "\n"
    "exit status: 0 ok, 1 the world or the database failed, 2 bad scenario\n"
    "or bad command line.\n";

static const char usage_report[] =
    "usage: ukfork report DB [--json] [--plot DIR] [--width N]\n"
    "\n"
    "Per configuration (config label, backend and settings apart from seed\n"
    "and rep): runs, requests, success rate and the fractions of requests\n"
    "that failed before ready or were unfinished at the end; mean/p50/p95/\n"
    "p99 request-to-ready latency over completed requests, start kinds, with\n"
    "95% confidence intervals across replications; pooled p50/p95/p99 with\n"
    "order-statistic intervals; paired differences (latency, success rate)\n"
    "between the configurations of a sweep. Bootbench runs: boot latency\n"
    "quantiles and failures. Methods: docs/report.md.\n"
    "\n"
    "  --json      print one JSON document instead of the text tables\n"
    "  --plot DIR  also draw, with gnuplot (Debian: gnuplot-nox; or the\n"
    "              program in $UKF_GNUPLOT), PNG and SVG plots into DIR\n"
    "              (created if needed): latency CDFs per configuration,\n"
    "              latency and success-rate bars with 95% CI error bars,\n"
    "              load and template hits over time, a histogram per\n"
    "              bootbench run; their data files (.dat) and plots.gp too.\n"
    "              Fails (status 1) if gnuplot is missing; a DIR\n"
    "              starting with - is taken for a mistyped option\n"
    "              (write ./-DIR).\n"
    "  --width N   text: a section's table (one column per configuration)\n"
    "              wider than N columns is printed in blocks of\n"
    "              configurations, the figures' names in front of each;\n"
    "              0: one table however wide. Default: the terminal's\n"
    "              width on a terminal, else 160\n"
    "  --          the next argument is DB, even if it starts with -\n";

static int bad(const char *cmd, const char *fmt, const char *arg)
{
	/* Started by an MPI launcher as a rank other than 0: every rank
	 * reads the same command line, so rank 0 says what is wrong with it
	 * for all (under mpirun -n 64 a bad option was printed 64 times).
	 * Not at once: mpirun ends the job at the first rank that exits
	 * non-zero, and once (session 34) that took rank 0 down before its
	 * message got out, so the user saw none. A second is plenty. */
	if (ukf_mpi_env_rank() > 0) {
		sleep(1);
		return 2;
	}
	fprintf(stderr, "ukfork%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(try `ukfork %s%s--help`)\n", cmd ? cmd : "",
		cmd ? " " : "");
	return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	/* Decimal digits only: no sign, no blanks, no 0x or leading-0 octal
	 * (--seed 010 is ten, 0x10 is refused). */
	if (!s || !*s)
		return -1;
	for (const char *c = s; *c; c++)
		if (*c < '0' || *c > '9')
			return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno)
		return -1;
	*out = v;
	return 0;
}

/* run's short options: one of them where a value belongs is refused too */
static const char *const run_shorts[] = {"-q", "-h", NULL};

/* run's options that take one value: each at most once (a second --reps
 * silently won); --set repeats, one setting each */
static const char *const run_once[] = {"--seed",
				       "--reps",
				       "--db",
				       "--backend",
				       "--trace",
				       "--template-dir",
				       "--max-instructions",
				       "--cluster",
				       NULL};

/* 1 if opt is in names and was seen before (*seen: a bit per name). */
static int given_twice(const char *const *names, const char *opt,
		       unsigned *seen)
{
	for (unsigned k = 0; names[k]; k++)
		if (!strcmp(opt, names[k])) {
			if (*seen & 1u << k)
				return 1;
			*seen |= 1u << k;
		}
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	struct ukf_run_opts o;
	memset(&o, 0, sizeof(o));
	o.reps = 1;
	o.backend = "sim";
	const char **sets = calloc((size_t)argc + 1, sizeof(*sets));
	if (!sets) {
		fputs("ukfork run: out of memory\n", stderr);
		return 1;
	}
	int rc = 2;
	unsigned seen = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int takes = 1;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_run, stdout);
			rc = 0;
			goto out;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			o.quiet = 1;
			takes = 0;
		} else if (!strcmp(a, "--trusted")) {
			o.trusted = 1;
			takes = 0;
		} else if (!strcmp(a, "--progress")) {
			o.progress = 1;
			takes = 0;
		} else if (a[0] == '-' && a[1] == '-' &&
			   (!strcmp(a, "--seed") || !strcmp(a, "--reps") ||
			    !strcmp(a, "--db") || !strcmp(a, "--set") ||
			    !strcmp(a, "--backend") || !strcmp(a, "--trace") ||
			    !strcmp(a, "--template-dir") ||
			    !strcmp(a, "--max-instructions") ||
			    !strcmp(a, "--cluster"))) {
			if (given_twice(run_once, a, &seen)) {
				rc = bad("run", "%s given twice", a);
				goto out;
			}
			if (!v) {
				rc = bad("run", "option %s needs a value", a);
				goto out;
			}
			/* an option in the value's place is a value forgotten
			 * (--db --quiet stored the runs in a file named
			 * --quiet) */
			if (ukf_arg_is_option(v, run_shorts)) {
				fprintf(stderr,
					"ukfork run: option %s needs a value "
					"(found the option '%s')\n(try `ukfork "
					"run --help`)\n",
					a, v);
				goto out;
			}
			uint64_t n;
			if (!strcmp(a, "--seed")) {
				if (parse_u64(v, &n)) {
					rc = bad("run",
						 "--seed: bad number '%s'", v);
					goto out;
				}
				o.seed = n;
				o.seed_set = 1;
			} else if (!strcmp(a, "--reps")) {
				if (parse_u64(v, &n) || n < 1 || n > 1000000) {
					rc = bad("run",
						 "--reps: expected 1..1000000, "
						 "got '%s'",
						 v);
					goto out;
				}
				o.reps = (uint32_t)n;
			} else if (!strcmp(a, "--max-instructions")) {
				if (parse_u64(v, &n)) {
					rc = bad("run",
						 "--max-instructions: expected "
						 "a count (0: no limit), got "
						 "'%s'",
						 v);
					goto out;
				}
				o.max_instructions = n ? n : UINT64_MAX;
			} else if (!strcmp(a, "--db")) {
				o.db_path = v;
			} else if (!strcmp(a, "--set")) {
				sets[o.nsets++] = v;
			} else if (!strcmp(a, "--backend")) {
				if (!ukf_scenario_backend_known(v)) {
					char valid[128], msg[512];
					ukf_scenario_backends(valid,
							      sizeof(valid));
					snprintf(msg, sizeof(msg),
						 "--backend: unknown backend "
						 "'%s' (valid: %s)",
						 v, valid);
					rc = bad("run", "%s", msg);
					goto out;
				}
				o.backend = v;
			} else if (!strcmp(a, "--template-dir")) {
				o.template_dir = v;
			} else if (!strcmp(a, "--cluster")) {
#ifdef UKF_HAVE_AGENT
				struct ukf_cluster *cl;
				char err[1024];
				if (ukf_cluster_load(&cl, v, err, sizeof(err))) {
					fprintf(stderr, "ukfork run: --cluster: %s\n",
						err);
					goto out;
				}
				o.cluster_nodes = (uint32_t)cl->nnodes;
				ukf_cluster_destroy(&cl);
				o.cluster = v;
#else
				rc = bad("run", "--cluster %s: node agents not "
					 "built in this ukfork", v);
				goto out;
#endif
			} else {
				o.trace_path = v;
			}
		} else if (a[0] == '-' && a[1]) {
			rc = bad("run", "unknown option '%s'", a);
			goto out;
		} else {
			if (o.script) {
				rc = bad("run",
					 "one scenario only (extra argument "
					 "'%s')",
					 a);
				goto out;
			}
			o.script = a;
			takes = 0;
		}
		i += takes;
	}
	if (!o.script) {
		rc = bad("run", "%s", "missing SCENARIO.lua");
		goto out;
	}
	/* --backend took a name of the world registry (scen_world.c); any
	 * goes with --cluster, which runs on the agents' world (real VMs) */
	if (o.cluster && ukf_scenario_cluster_backend())
		o.backend = ukf_scenario_cluster_backend();
	if (o.template_dir && ukf_scenario_simulated(&o) == 1) {
		char msg[1024];
		snprintf(msg, sizeof(msg),
			 "--template-dir %s: templates on disk are a kvm "
			 "feature; the simulated cluster (--backend %s) has "
			 "no use for them (add --backend kvm, or drop the "
			 "option)",
			 o.template_dir, o.backend);
		rc = bad("run", "%s", msg);
		goto out;
	}
	o.sets = sets;
	o.mpi = 1;
	rc = ukf_scenario_run(&o, stdout, stderr);
	/* Under mpirun/srun: MPI_Finalize, or stop every rank (MPI_Abort)
	 * when a run failed. Output first: an abort does not flush it. */
	fflush(stdout);
	fflush(stderr);
	rc = ukf_scenario_mpi_end(rc);
out:
	free(sets);
	return rc;
}

/* report's default text width: the terminal's, else 160 columns */
static size_t report_width(void)
{
	struct winsize ws;
	if (isatty(STDOUT_FILENO) &&
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return 160;
}

static int cmd_report(int argc, char **argv)
{
	const char *path = NULL, *plot = NULL;
	int json = 0, opts = 1, have_width = 0;
	uint64_t width = 0;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (opts && !strcmp(o, "--")) {
			opts = 0; /* then a database named "-x.db" */
			continue;
		}
		if (opts && (!strcmp(o, "--help") || !strcmp(o, "-h"))) {
			fputs(usage_report, stdout);
			return 0;
		} else if (opts && !strcmp(o, "--json")) {
			json = 1;
		} else if (opts && !strcmp(o, "--plot")) {
			if (plot)
				return bad("report", "%s",
					   "--plot given twice");
			if (i + 1 >= argc || !argv[i + 1][0])
				return bad("report", "%s",
					   "--plot needs a directory");
			/* `--plot --json` made a directory named --json */
			if (argv[i + 1][0] == '-')
				return bad(
				    "report",
				    "--plot needs a directory, got the "
				    "option '%s' (give ./NAME for a "
				    "directory whose name starts with -)",
				    argv[i + 1]);
			plot = argv[++i];
		} else if (opts && !strcmp(o, "--width")) {
			if (have_width)
				return bad("report", "%s",
					   "--width given twice");
			if (i + 1 >= argc || parse_u64(argv[i + 1], &width) ||
			    width > 1000000)
				return bad("report",
					   "--width needs a number of columns "
					   "0 to 1000000 (0: no blocks), got "
					   "'%s'",
					   i + 1 < argc ? argv[i + 1] : "");
			have_width = 1;
			i++;
		} else if (opts && o[0] == '-' && o[1]) {
			return bad("report", "unknown option '%s'", o);
		} else if (path) {
			return bad("report",
				   "one database only (extra argument "
				   "'%s')",
				   o);
		} else {
			path = o;
		}
	}
	if (!path)
		return bad("report", "%s", "missing DB");
	char err[1024] = "";
	/* plots first: a missing gnuplot fails before any output */
	if ((plot && ukf_report_plot(path, plot, stderr, err, sizeof(err))) ||
	    ukf_report_width(path, json,
			     have_width ? (size_t)width : report_width(), stdout,
			     err, sizeof(err))) {
		fprintf(stderr, "ukfork report: %s\n", err);
		return 1;
	}
	return 0;
}

static int cmd_bootbench(int argc, char **argv)
{
#ifdef UKF_HAVE_BOOTBENCH
	/* its usage and messages name it as run: "ukfork bootbench: ..." */
	argv[0] = (char *)"ukfork bootbench";
	return ukf_bootbench_main(argc, argv);
#else
	(void)argc;
	(void)argv;
	fprintf(stderr, "ukfork bootbench: not built (bootbench/ missing)\n");
	return 1;
#endif
}

static int cmd_calibrate(int argc, char **argv)
{
#ifdef UKF_HAVE_CALIB
	argv[0] = (char *)"ukfork calibrate";
	return ukf_calib_main(argc, argv, ukf_scenario_run);
#else
	(void)argc;
	(void)argv;
	fprintf(stderr, "ukfork calibrate: not built (calib/ missing)\n");
	return 1;
#endif
}

#ifdef UKF_HAVE_AGENT
static int exec_cluster(struct ukf_world *world, const char *cluster,
			const struct ukf_engine_config *engine,
			const char *template_dir,
			const struct ukf_world_sinks *sinks, char *err,
			size_t errlen)
{
	struct ukf_cluster_world_config c;

	ukf_cluster_world_config_default(&c);
	c.cluster_file = cluster;
	c.engine = *engine;
	c.template_dir = template_dir;
	return ukf_cluster_world_create(world, &c, sinks, err, errlen);
}
#endif

static int cmd_exec(int argc, char **argv)
{
#ifdef UKF_HAVE_LIVE
	argv[0] = (char *)"ukfork exec"; /* "ukfork exec: ..." */
#ifdef UKF_HAVE_AGENT
	return ukf_exec_main_cluster(argc, argv, exec_cluster);
#else
	return ukf_exec_main(argc, argv);
#endif
#else
	(void)argc;
	(void)argv;
	fprintf(stderr, "ukfork exec: not built (live/ missing)\n");
	return 1;
#endif
}

#ifdef UKF_HAVE_AGENT
/* The directory of this program (for ukforkd beside it). */
static int self_dir(char *buf, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
	char *slash;

	if (n <= 0)
		return -1;
	buf[n] = 0;
	slash = strrchr(buf, '/');
	if (!slash)
		return -1;
	*slash = 0;
	return 0;
}
#endif

static int cmd_keys(int argc, char **argv)
{
#ifdef UKF_HAVE_AGENT
	argv[0] = (char *)"ukfork keys";
	return ukf_keys_main(argc, argv);
#else
	(void)argc;
	(void)argv;
	fprintf(stderr, "ukfork keys: not built (agent/ missing)\n");
	return 1;
#endif
}

/* `ukfork testbed ...` is scripts/testbed/testbed.sh of the source tree,
 * run with this ukfork (keys) and the ukforkd beside it. */
static int cmd_testbed(int argc, char **argv)
{
#ifdef UKF_HAVE_AGENT
	char dir[PATH_MAX], self[PATH_MAX + 16], daemon[PATH_MAX + 16];
	const char *script = UKF_SOURCE_DIR "/scripts/testbed/testbed.sh";
	char **av = calloc((size_t)argc + 2, sizeof(*av));

	if (!av) {
		fputs("ukfork testbed: out of memory\n", stderr);
		return 1;
	}
	if (self_dir(dir, sizeof(dir)) == 0) {
		snprintf(self, sizeof(self), "%s/ukfork", dir);
		snprintf(daemon, sizeof(daemon), "%s/ukforkd", dir);
		if (!getenv("UKFORK"))
			setenv("UKFORK", self, 1);
		if (!getenv("UKFORKD") && access(daemon, X_OK) == 0)
			setenv("UKFORKD", daemon, 1);
	}
	setenv("UKF_TESTBED_PROG", "ukfork testbed", 1);
	av[0] = (char *)"bash";
	av[1] = (char *)script;
	for (int i = 1; i < argc; i++)
		av[i + 1] = argv[i];
	execvp("bash", av);
	fprintf(stderr, "ukfork testbed: cannot run %s: %s\n", script,
		strerror(errno));
	free(av);
	return 1;
#else
	(void)argc;
	(void)argv;
	fprintf(stderr, "ukfork testbed: not built (agent/ missing)\n");
	return 1;
#endif
}

static int cmd_agent(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs("usage: ukfork agent status --cluster FILE [--client NAME] [--timeout S]\n"
		      "What every node agent (ukforkd) of the cluster FILE is doing.\n",
		      argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "status"))
		return bad("agent", "unknown subcommand '%s' (valid: status)",
			   argv[1]);
#ifdef UKF_HAVE_AGENT
	argv[1] = (char *)"ukfork agent status";
	return ukf_agent_status_main(argc - 1, argv + 1);
#else
	fprintf(stderr, "ukfork agent: not built (agent/ missing)\n");
	return 1;
#endif
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_main, stderr);
		return 2;
	}
	const char *c = argv[1];
	if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (!strcmp(c, "--version") || !strcmp(c, "-V")) {
		printf("ukfork %s\n", UKF_VERSION);
		return 0;
	}
	if (!strcmp(c, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(c, "report"))
		return cmd_report(argc - 1, argv + 1);
	if (!strcmp(c, "bootbench"))
		return cmd_bootbench(argc - 1, argv + 1);
	if (!strcmp(c, "calibrate"))
		return cmd_calibrate(argc - 1, argv + 1);
#ifdef UKF_HAVE_VALIDATE
	if (!strcmp(c, "validate")) {
		argv[1] = (char *)"ukfork validate"; /* its messages' name */
		return ukf_validate_main(argc - 1, argv + 1, ukf_scenario_run);
	}
#endif
	if (!strcmp(c, "exec"))
		return cmd_exec(argc - 1, argv + 1);
	if (!strcmp(c, "keys"))
		return cmd_keys(argc - 1, argv + 1);
	if (!strcmp(c, "testbed"))
		return cmd_testbed(argc - 1, argv + 1);
	if (!strcmp(c, "agent"))
		return cmd_agent(argc - 1, argv + 1);
	if (c[0] == '-')
		return bad(NULL, "unknown option '%s'", c);
	return bad(NULL, "unknown command '%s'", c);
}
