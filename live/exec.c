/* SPDX-License-Identifier: MIT */
/* exec.c - `ukfork exec`: spawn an app on the live world, stream its console. */
#include "exec.h"
#include "live.h"
#include "../backends/registry.h"
#include "../core/policy.h"
#include "../core/ukf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct exec_state {
	ukf_id_t root;
	int done;
	int64_t status;
	char why[256];
	volatile int stop;
	int verbose;
	int have_rec;             /* the root's record arrived */
	enum ukf_start root_start; /* how the root was started */
	ukf_ns_t root_to_ready;   /* its request-to-ready (or NEVER) */
	const char *prog;         /* the command's name, for messages */
};

/* Results row of an instance: keep how the root started. */
static void ex_record(void *u, const struct ukf_record *r)
{
	struct exec_state *s = u;

	if (r->id != s->root)
		return;
	s->have_rec = 1;
	s->root_start = r->start;
	s->root_to_ready = r->t_ready != UKF_NS_NEVER
				   ? r->t_ready - r->t_request
				   : UKF_NS_NEVER;
}

static void ex_console(void *u, ukf_id_t id, const char *line, size_t len)
{
	struct exec_state *s = u;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (id == s->root || s->root == 0)
		printf("%.*s\n", (int)len, line);
	else
		printf("[%llu] %.*s\n", (unsigned long long)id, (int)len, line);
	fflush(stdout);
}

static void ex_exit(void *u, ukf_id_t id, uint64_t tag, int64_t status)
{
	struct exec_state *s = u;

	(void)tag;
	if (id != s->root)
		return;
	s->done = 1;
	s->status = status;
	s->stop = 1;
}

static void ex_fail(void *u, ukf_id_t id, uint64_t tag, const char *why)
{
	struct exec_state *s = u;

	(void)tag;
	if (id != s->root) {
		fprintf(stderr, "%s: instance %llu failed: %s\n", s->prog,
			(unsigned long long)id, why ? why : "(no reason)");
		return;
	}
	s->done = 1;
	s->status = UKF_STATUS_FAILED;
	snprintf(s->why, sizeof(s->why), "%s", why ? why : "(no reason)");
	s->stop = 1;
}

static void ex_log(void *u, ukf_ns_t t, ukf_node_id_t node, const char *line)
{
	(void)u;
	fprintf(stderr, "%10.3f ms n%u %s\n", (double)t / 1e6, node, line);
}

/* The mem=SIZE words of the guest arguments args, copied into kv (as
 * ukf_app_parse's key=value string, which checks the size; the last of
 * several wins, as in the guest): the guest's mem= then sizes its VM as an app string's does
 * under `ukfork run`. 0, or -1 if they do not fit in kvlen. */
static int mem_tokens(const char *args, char *kv, size_t kvlen)
{
	size_t len = 0;

	kv[0] = '\0';
	while (*args) {
		size_t n = strcspn(args, " ");

		if (n >= 4 && !strncmp(args, "mem=", 4)) {
			int w = snprintf(kv + len, kvlen - len, "%s%.*s",
					 len ? " " : "", (int)n, args);

			if (w < 0 || (size_t)w >= kvlen - len)
				return -1;
			len += (size_t)w;
		}
		args += n;
		args += strspn(args, " ");
	}
	return 0;
}

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"usage: %s [--backend kvm] [--placement P] [--templates T] [--mem SIZE]\n"
		"          [--timeout MS] [--template-dir DIR] [--trace] [--cluster FILE]\n"
		"          APP [ARGS...]\n"
		"Run APP through the engine on this machine's KVM and stream its console\n"
		"(children's lines prefixed by their instance id); exit with its status.\n"
		"APP is a guest image name (looked up in the build's guest/ directory,\n"
		"or $UKF_GUEST_DIR) or a path to one; every image of that directory is\n"
		"an app a guest can spawn by name. --template-dir DIR: load the templates\n"
		"saved in DIR at start (APP then starts as a clone of its template) and\n"
		"save the node's templates there at the end; prints how APP started\n"
		"(start=cold|template) on stderr.\n"
		"--mem SIZE sizes APP's VM (default 64M); without it a mem=SIZE word among\n"
		"ARGS (e.g. synth mem=256M) sizes it, as an app string's mem= does under\n"
		"`ukfork run`.\n"
		"--cluster FILE: run it on the node agents (ukforkd) of the cluster FILE\n"
		"instead of this process: APP starts on node 0, its forks and spawns go\n"
		"where the placement policy puts them; --template-dir is then a\n"
		"directory at the agents.\n",
		prog);
}

int ukf_exec_main(int argc, char **argv)
{
	return ukf_exec_main_cluster(argc, argv, NULL);
}

int ukf_exec_main_cluster(int argc, char **argv, ukf_exec_cluster_fn make)
{
	const char *prog = argc > 0 && argv[0] ? argv[0] : "exec";
	const char *cluster = NULL;
	const char *backend = "kvm", *placement = NULL, *templates = NULL;
	const char *mem = NULL, *app_arg = NULL, *tdir = NULL;
	char args[UKF_APP_ARGS_MAX] = "", err[512] = "", kv[UKF_APP_ARGS_MAX] = "";
	struct exec_state st = { 0 };
	struct ukf_live_config cfg;
	struct ukf_world_sinks sinks;
	struct ukf_world world = { 0 };
	struct ukf_app app;
	ukf_ns_t timeout = 0, until;
	size_t alen = 0;
	int i, id, rc, trace = 0;

	st.prog = prog;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout, prog);
			return 0;
		}
		if (!strcmp(a, "--trace")) {
			trace = 1;
			continue;
		}
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "--backend") || !strcmp(a, "--placement") ||
		    !strcmp(a, "--templates") || !strcmp(a, "--mem") ||
		    !strcmp(a, "--timeout") || !strcmp(a, "--template-dir") ||
		    !strcmp(a, "--cluster")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: %s needs a value\n", prog, a);
				return 2;
			}
			/* `--template-dir --mem 64M` made a directory named
			 * --mem */
			if (ukf_arg_is_option(argv[i + 1], NULL)) {
				fprintf(stderr, "%s: %s needs a value (found the option '%s')\n",
					prog, a, argv[i + 1]);
				return 2;
			}
			if (!strcmp(a, "--backend"))
				backend = argv[++i];
			else if (!strcmp(a, "--placement"))
				placement = argv[++i];
			else if (!strcmp(a, "--templates"))
				templates = argv[++i];
			else if (!strcmp(a, "--mem"))
				mem = argv[++i];
			else if (!strcmp(a, "--cluster")) {
				cluster = argv[++i];
				if (!make) {
					fprintf(stderr, "%s: --cluster: this program has no node-agent client (use ukfork exec)\n",
						prog);
					return 2;
				}
			}
			else if (!strcmp(a, "--template-dir")) {
				struct stat ds;

				tdir = argv[++i];
				if (!*tdir || (stat(tdir, &ds) == 0 &&
					       !S_ISDIR(ds.st_mode))) {
					fprintf(stderr, "%s: --template-dir: '%s' is not a directory\n",
						prog, tdir);
					return 2;
				}
			}
			else {
				char *end;
				double ms = strtod(argv[++i], &end);

				if (*end || end == argv[i] || !(ms > 0) || ms > 1e9) {
					fprintf(stderr, "%s: --timeout: expected milliseconds, got '%s'\n",
						prog, argv[i]);
					return 2;
				}
				timeout = (ukf_ns_t)(ms * 1e6);
			}
			continue;
		}
		fprintf(stderr, "%s: unknown option '%s' (try --help)\n", prog, a);
		return 2;
	}
	if (i >= argc) {
		fprintf(stderr, "%s: missing APP (try --help)\n", prog);
		return 2;
	}
	if (!ukf_backend_driver_find(backend)) {
		char names[128];

		ukf_backend_driver_names(names, sizeof(names));
		fprintf(stderr, "%s: --backend: unknown backend '%s' (this build has: %s)\n",
			prog, backend, names);
		return 2;
	}
	if (placement && !ukf_placement_find(placement, err, sizeof(err))) {
		fprintf(stderr, "%s: --placement: %s\n", prog, err);
		return 2;
	}
	if (templates && !ukf_template_find(templates, err, sizeof(err))) {
		fprintf(stderr, "%s: --templates: %s\n", prog, err);
		return 2;
	}
	app_arg = argv[i++];
	for (; i < argc; i++) {
		int w = snprintf(args + alen, sizeof(args) - alen, "%s%s",
				 alen ? " " : "", argv[i]);

		if (w < 0 || (size_t)w >= sizeof(args) - alen) {
			fprintf(stderr, "%s: arguments too long (max %zu bytes)\n", prog,
				sizeof(args) - 1);
			return 2;
		}
		alen += (size_t)w;
	}
	if (mem)
		snprintf(kv, sizeof(kv), "mem=%s", mem);
	else if (mem_tokens(args, kv, sizeof(kv)) < 0) {
		fprintf(stderr, "%s: guest argument mem=: too long\n", prog);
		return 2;
	}
	{
		const char *slash = strrchr(app_arg, '/');
		const char *name = slash ? slash + 1 : app_arg;

		if (!*name || ukf_app_parse(&app, name, kv, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", prog,
				*name ? err : "empty application name");
			return 2;
		}
		if (slash) {
			if (strlen(app_arg) >= sizeof(app.image)) {
				fprintf(stderr, "%s: image path too long\n", prog);
				return 2;
			}
			snprintf(app.image, sizeof(app.image), "%s", app_arg);
		}
	}

	ukf_live_config_default(&cfg);
	if (app.mem_bytes > cfg.engine.node.mem_bytes) {
		fprintf(stderr, "%s: %s needs %llu MiB, more than this node's %llu MiB\n",
			prog, app.name, (unsigned long long)(app.mem_bytes >> 20),
			(unsigned long long)(cfg.engine.node.mem_bytes >> 20));
		return 2;
	}
	if (placement)
		cfg.engine.placement = placement;
	if (templates)
		cfg.engine.templates = templates;
	cfg.template_dir = tdir;
	cfg.backend = backend;
	memset(&sinks, 0, sizeof(sinks));
	sinks.record = ex_record;
	sinks.hooks.on_console = ex_console;
	sinks.hooks.on_exit = ex_exit;
	sinks.hooks.on_fail = ex_fail;
	sinks.hooks.u = &st;
	sinks.u = &st;
	if (trace)
		sinks.log = ex_log;
	if (cluster) {
		if (make(&world, cluster, &cfg.engine, tdir, &sinks, err,
			 sizeof(err)) < 0) {
			/* (its messages name the file: "FILE: no answer ...") */
			fprintf(stderr, "%s: --cluster %s\n", prog, err);
			return 1;
		}
	} else if (ukf_live_create(&world, &cfg, &sinks, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 1;
	}
	id = world.ops->add_app(world.w, &app);
	if (id < 0) {
		fprintf(stderr, "%s: cannot register app '%s'\n", prog, app.name);
		world.ops->destroy(&world.w);
		return 1;
	}
	/* its siblings too, so that a guest can ukf_spawn() them by name */
	{
		char dir[UKF_APP_PATH_MAX];
		char *slash;

		/* the image as the world resolved it */
		snprintf(dir, sizeof(dir), "%s",
			 ukf_apps_get(world.ops->apps(world.w), (uint32_t)id)
			     ->image);
		slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
		else if (slash)
			dir[1] = '\0'; /* "/name": the root directory */
		else
			snprintf(dir, sizeof(dir), ".");
		if (ukf_live_add_guest_apps_as(&world, backend, dir, err,
					       sizeof(err)) < 0)
			fprintf(stderr, "%s: warning: %s\n", prog, err);
	}
	if (tdir && !cluster) /* agents load their own at start */
		(void)ukf_live_load_templates(&world, err, sizeof(err));
	if (world.ops->start(world.w) < 0) {
		fprintf(stderr, "%s: the engine did not start\n", prog);
		world.ops->destroy(&world.w);
		return 1;
	}
	rc = world.ops->spawn(world.w, 0, (uint32_t)id, args, 0,
			      &st.root);
	if (rc < 0) {
		fprintf(stderr, "%s: spawn %s: %s\n", prog, app.name, strerror(-rc));
		world.ops->destroy(&world.w);
		return 1;
	}
	until = timeout ? world.ops->now(world.w) + timeout : UKF_NS_NEVER;
	if (world.ops->run(world.w, until, &st.stop, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		world.ops->destroy(&world.w);
		return 1;
	}
	if (!st.done) {
		fprintf(stderr, "%s: %s did not finish%s\n", prog, app.name,
			timeout ? " before --timeout" : " (nothing left to run)");
		world.ops->destroy(&world.w);
		return 1;
	}
	world.ops->destroy(&world.w); /* saves templates to tdir */
	if (tdir && st.have_rec) {
		if (st.root_to_ready != UKF_NS_NEVER)
			fprintf(stderr, "%s: %s start=%s request-to-ready=%.3f ms\n",
				prog, app.name, ukf_start_name(st.root_start),
				(double)st.root_to_ready / 1e6);
		else
			fprintf(stderr, "%s: %s start=%s\n", prog, app.name,
				ukf_start_name(st.root_start));
	}
	if (st.status == UKF_STATUS_FAILED) {
		fprintf(stderr, "%s: %s failed: %s\n", prog, app.name, st.why);
		return 1;
	}
	if (st.status < 0 || st.status > 255)
		return 1;
	return (int)st.status;
}
