/* SPDX-License-Identifier: MIT */
/* scen_world.c - the world of a run: its configuration, checks and creation. */
#define _GNU_SOURCE
#include "scen_int.h"

static int point_conv(struct run *r, int s, struct conv *c)
{
	struct entry *e = scen_entry_find(r->sc, scen_builtin[s].name);
	if (!e || !e->nvals)
		return 0;
	const char *why = "";
	if (scen_val_convert(scen_builtin[s].type, scen_entry_value(r, e), c,
			     &why)) {
		scen_run_fail(r, UKF_RUN_BAD, "%s: setting '%s': %s", e->where,
			 e->name, why);
		return -1;
	}
	return 1;
}

/*
 * A placement or template policy computed from a param() was not among
 * the values checked before the first pass: 0 if the registry knows
 * `name` (or it was checked then), else -1 after scen_run_fail() naming it.
 */
static int computed_policy(struct run *r, int s, const char *name)
{
	struct entry *e = scen_entry_find(r->sc, scen_builtin[s].name);
	char err[512];
	if (!e || !r->pv || !r->pv[e - r->sc->ents].str ||
	    !scen_check_policy(scen_builtin[s].name, name, err, sizeof(err)))
		return 0;
	scen_run_fail(r, UKF_RUN_BAD, "%s: setting '%s': %s", e->where, e->name,
		 err);
	return -1;
}

/* Count setting s (prewarm, max_children, ...) into 32 bits: 0, or -1
 * after scen_run_fail() naming it (4294967296 was taken as 0). */
static int count32(struct run *r, int s, uint64_t v, uint32_t *out)
{
	if (v > UINT32_MAX) {
		scen_run_fail(r, UKF_RUN_BAD,
			      "%s: setting '%s': %" PRIu64 " is too large "
			      "(a count of at most %" PRIu32 ")",
			      scen_entry_find(r->sc, scen_builtin[s].name)->where,
			      scen_builtin[s].name, v, UINT32_MAX);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* Bytes in the largest unit that writes them exactly (a node of
 * memory = "1K" has 1 KiB, not "0 MiB"). */
static const char *mem_str(uint64_t b, char *buf, size_t cap)
{
	if (b && !(b & ((1ULL << 20) - 1)))
		snprintf(buf, cap, "%" PRIu64 " MiB", b >> 20);
	else if (b && !(b & 1023))
		snprintf(buf, cap, "%" PRIu64 " KiB", b >> 10);
	else
		snprintf(buf, cap, "%" PRIu64 " bytes", b);
	return buf;
}

int scen_build_config(struct run *r, struct cfg *cf)
{
	struct conv c;
	memset(cf, 0, sizeof(*cf));
	ukf_engine_config_default(&cf->eng);
	cf->duration = 60 * UKF_S;
	for (int s = 0; s < (int)NBUILTIN; s++) {
		int k = point_conv(r, s, &c);
		if (k < 0)
			return -1;
		if (!k)
			continue;
		switch (s) {
		case S_NODES:
			if (c.u < 1 || c.u > NODES_MAX) {
				scen_run_fail(r, UKF_RUN_BAD,
					 "%s: setting 'nodes' must be 1..%d "
					 "(the most nodes a simulated cluster "
					 "may have: each takes ~4 KiB)",
					 scen_entry_find(r->sc, "nodes")->where,
					 NODES_MAX);
				return -1;
			}
			cf->eng.nodes = (uint32_t)c.u;
			break;
		case S_VCPUS:
			if (c.u < 1 || c.u > 1000000) {
				scen_run_fail(
				    r, UKF_RUN_BAD,
				    "%s: setting 'vcpus' must be "
				    "1..1000000 (vCPUs per node)",
				    scen_entry_find(r->sc, "vcpus")->where);
				return -1;
			}
			cf->eng.node.vcpus = (uint32_t)c.u;
			break;
		case S_MEMORY:
			cf->eng.node.mem_bytes = c.u;
			break;
		case S_CACHE:
			cf->eng.node.cache_bytes = c.u;
			break;
		case S_LATENCY:
			cf->latency = c.i;
			cf->have_latency = 1;
			break;
		case S_BANDWIDTH:
			cf->bandwidth = c.d;
			cf->have_bandwidth = 1;
			break;
		case S_DIR_DELAY:
			cf->dir_delay = c.i;
			cf->have_dir_delay = 1;
			break;
		case S_PLACEMENT:
			if (computed_policy(r, s, c.s))
				return -1;
			cf->eng.placement = c.s;
			break;
		case S_TEMPLATES:
			if (computed_policy(r, s, c.s))
				return -1;
			cf->eng.templates = c.s;
			break;
		case S_FETCH:
			cf->eng.fetch = (enum ukf_fetch)c.i;
			break;
		case S_PREWARM:
			if (count32(r, s, c.u, &cf->eng.prewarm_k))
				return -1;
			break;
		case S_MAX_CHILDREN:
			if (count32(r, s, c.u, &cf->eng.max_children))
				return -1;
			break;
		case S_MAX_QUEUE:
			if (count32(r, s, c.u, &cf->eng.max_queue))
				return -1;
			break;
		case S_RETRY:
			cf->eng.retry_ns = c.i;
			break;
		case S_MAX_RETRIES:
			if (count32(r, s, c.u, &cf->eng.max_retries))
				return -1;
			break;
		case S_DURATION:
			cf->duration = c.i;
			break;
		case S_SAMPLE_EVERY:
			cf->sample_every = c.i;
			break;
		case S_MODEL:
			cf->model = c.s;
			break;
		case S_SEED:
			break;
		case S_DIRECTORY: {
			struct ukf_sim_dirmodel dm;
			ukf_ns_t delay, p99, detect;
			ukf_sim_dirmodel_default(&dm);
			if (ukf_sim_dirmodel_pick(&dm, c.s, &delay, &p99,
						  &detect) < 0) {
				scen_run_fail(
				    r, UKF_RUN_BAD,
				    "%s: setting 'directory': '%s' is not "
				    "embedded, etcd or etcd3",
				    scen_entry_find(r->sc, "directory")->where,
				    c.s);
				return -1;
			}
			cf->directory = c.s;
			cf->dir_detect = detect;
			if (!cf->have_dir_delay) /* dir_delay given: it wins */
				cf->dir_delay = delay;
			cf->have_dir_delay = 1;
			cf->dir_delay_p99 = p99;
			cf->have_dir_delay_p99 = 1;
			break;
		}
		case S_DIR_DELAY_P99:
			cf->dir_delay_p99 = c.i;
			cf->have_dir_delay_p99 = 1;
			break;
		case S_FAULTS: {
			char why[160];
			int sim = r->sc->world->simulated;
			if (!sim ||
			    ukf_sim_faults_parse(&cf->sim_faults, c.s, why,
						 sizeof(why)) < 0) {
				scen_run_fail(
				    r, UKF_RUN_BAD, "%s: setting 'faults': %s",
				    scen_entry_find(r->sc, "faults")->where,
				    !sim ? "only the simulator injects faults"
					: why);
				return -1;
			}
			cf->faults = c.s;
			break;
		}
		case S_CORES:
			if (c.i < 0 || c.i > UINT32_MAX ||
			    (c.i > 0 && !r->sc->world->simulated)) {
				scen_run_fail(
				    r, UKF_RUN_BAD, "%s: setting 'cores': %s",
				    scen_entry_find(r->sc, "cores")->where,
				    c.i < 0 || c.i > UINT32_MAX
					? "a count of cores per host, >= 0"
					: "only the simulator models host cores");
				return -1;
			}
			cf->cores = c.i;
			break;
		}
	}
	/* The simulator's model file, read here once: its measured
	 * directory (`ukfork calibrate --directory`: keys dir_delay_ns,
	 * dir_delay_p99_ns) counts when the scenario sets none of dir_delay,
	 * dir_delay_p99 and directory, and the settings show it. */
	if (cf->model && r->sc->world->simulated) {
		struct ukf_sim_model *m = &cf->sim_model;
		char path[1024], err[512];
		uint64_t given = 0, digest;
		ukf_sim_model_default(m);
		scen_path_resolve(r->sc, cf->model, path, sizeof(path));
		/* the digest the settings show is of the bytes loaded (a
		 * second read could see an edit made in between) */
		if (ukf_sim_model_load_keys(m, path, &given, &digest, err,
					    sizeof(err))) {
			scen_run_fail(r, UKF_RUN_BAD, "%s: setting 'model': %s",
				      scen_entry_find(r->sc, "model")->where,
				      err);
			return -1;
		}
		cf->have_sim_model = 1;
		snprintf(cf->model_digest, sizeof(cf->model_digest),
			 "%016" PRIx64, digest);
		/* Keys the file does not set keep the compiled-in defaults
		 * (data/model.conf's published figures): said once per sweep
		 * point, as its setup is checked, so that a calibrated file
		 * without, e.g., the remote-fork keys does not mix published
		 * hardware figures into its costs unseen. */
		char unset[600];
		size_t nunset = ukf_sim_model_unset(given, unset, sizeof(unset));
		if (nunset && r->mode == M_SETUP && r->sc->rank == 0)
			fprintf(r->sc->msg,
				"ukfork run: note: model %s sets no %s: the "
				"simulator keeps data/model.conf's value%s "
				"(the compiled-in defaults)\n",
				path, unset, nunset == 1 ? "" : "s");
		if (!cf->have_dir_delay && !cf->have_dir_delay_p99) {
			if (m->dir_delay_ns) {
				cf->dir_delay = m->dir_delay_ns;
				cf->have_dir_delay = 1;
			}
			if (m->dir_delay_p99_ns) {
				cf->dir_delay_p99 = m->dir_delay_p99_ns;
				cf->have_dir_delay_p99 = 1;
			}
		}
	}
	if (cf->have_dir_delay_p99 && cf->dir_delay_p99 &&
	    cf->dir_delay_p99 < cf->dir_delay) {
		struct entry *pe = scen_entry_find(r->sc, "dir_delay_p99");
		int given = pe && pe->nvals;
		scen_run_fail(
		    r, UKF_RUN_BAD,
		    "%s: setting 'dir_delay_p99' (%" PRId64
		    " ns%s%s%s) is below the directory delay's median, "
		    "dir_delay (%" PRId64 " ns): give both or neither",
		    given ? pe->where
			  : scen_entry_find(r->sc, "directory")->where,
		    (int64_t)cf->dir_delay_p99,
		    given ? "" : ", from directory '",
		    given ? "" : cf->directory, given ? "" : "'",
		    (int64_t)cf->dir_delay);
		return -1;
	}
	/* said here, at its line: the world's own check named no line */
	if (cf->have_dir_delay_p99 && cf->dir_delay_p99 > 0 &&
	    cf->have_dir_delay && cf->dir_delay == 0) {
		struct entry *pe = scen_entry_find(r->sc, "dir_delay_p99");
		struct entry *de = scen_entry_find(r->sc, "dir_delay");
		scen_run_fail(r, UKF_RUN_BAD,
			      "%s: setting 'dir_delay_p99' (%" PRId64
			      " ns) with a median of 0 (dir_delay%s%s): the "
			      "lognormal delay needs a median (dir_delay) > 0",
			      pe && pe->nvals ? pe->where : r->sc->o->script,
			      (int64_t)cf->dir_delay_p99,
			      de && de->nvals ? " at " : "",
			      de && de->nvals ? de->where : "");
		return -1;
	}
	/* hosts{} groups: heterogeneous nodes, unset fields from cluster{}. */
	uint64_t max_mem = cf->eng.node.mem_bytes;
	uint32_t max_vcpus = cf->eng.node.vcpus;
	if (r->nhosts) {
		uint64_t total = 0;
		for (size_t i = 0; i < r->nhosts; i++)
			total += r->hosts[i].count;
		struct entry *ne = scen_entry_find(r->sc, "nodes");
		if (total > NODES_MAX) {
			scen_run_fail(r, UKF_RUN_BAD,
				 "%s: hosts{} declare %" PRIu64 " nodes, more "
				 "than the %d a simulated cluster may have",
				 r->hosts[0].where, total, NODES_MAX);
			return -1;
		}
		if (ne && ne->nvals && cf->eng.nodes != total) {
			scen_run_fail(r, UKF_RUN_BAD,
				 "%s: hosts{} declare %" PRIu64
				 " node%s but setting 'nodes' is %u (%s)",
				 r->hosts[0].where, total, plural(total),
				 cf->eng.nodes, ne ? ne->where : "");
			return -1;
		}
		r->per_node = calloc(total, sizeof(*r->per_node));
		if (!r->per_node) {
			scen_run_fail(r, UKF_RUN_FAILED, "out of memory");
			return -1;
		}
		max_mem = 0;
		max_vcpus = 0;
		size_t k = 0;
		for (size_t i = 0; i < r->nhosts; i++) {
			struct host_decl *h = &r->hosts[i];
			struct ukf_node_config nc = cf->eng.node;
			if (h->vcpus)
				nc.vcpus = h->vcpus;
			if (h->memory)
				nc.mem_bytes = h->memory;
			if (h->cache)
				nc.cache_bytes = h->cache;
			for (uint32_t j = 0; j < h->count; j++)
				r->per_node[k++] = nc;
			if (nc.mem_bytes > max_mem)
				max_mem = nc.mem_bytes;
			if (nc.vcpus > max_vcpus)
				max_vcpus = nc.vcpus;
		}
		cf->eng.nodes = (uint32_t)total;
		cf->eng.per_node = r->per_node;
	}
	/* An app that fits on no node can never run: refuse it up front. */
	for (size_t i = 0; i < r->napps; i++) {
		const struct ukf_app *a = &r->apps[i].app;
		if (a->mem_bytes > max_mem) {
			char need[32], have[32];
			scen_run_fail(
			    r, UKF_RUN_BAD,
			    "%s: app '%s' needs %s of memory but the largest "
			    "node has %s (cluster{memory=}, hosts{})",
			    r->apps[i].where, a->name,
			    mem_str(a->mem_bytes, need, sizeof(need)),
			    mem_str(max_mem, have, sizeof(have)));
			return -1;
		}
		if (a->vcpus > max_vcpus) {
			scen_run_fail(
			    r, UKF_RUN_BAD,
			    "%s: app '%s' needs %u vCPU%s "
			    "but the largest node has %u (cluster{vcpus=}, "
			    "hosts{})",
			    r->apps[i].where, a->name, a->vcpus,
			    plural(a->vcpus), max_vcpus);
			return -1;
		}
		/* The KVM monitor maps at most UKF_MEM_MAX of guest memory:
		 * a bigger app would only fail when it boots. */
		if (!r->sc->world->simulated && a->mem_bytes > UKF_MEM_MAX) {
			scen_run_fail(r, UKF_RUN_BAD,
				 "%s: app '%s' needs %" PRIu64
				 " MiB of memory but a guest on kvm has at "
				 "most %llu MiB (UKF_MEM_MAX)",
				 r->apps[i].where, a->name, a->mem_bytes >> 20,
				 (unsigned long long)(UKF_MEM_MAX >> 20));
			return -1;
		}
	}
	return 0;
}

#ifdef UKF_HAVE_LIVE
/*
 * Real backends need a guest image per app. Scenario apps are described by
 * synth's key=value parameters, so an app declared without {image=} runs
 * the built `synth` guest. {image=NAME} (no '/') is the built guest NAME;
 * {image=PATH} (with a '/') is that file, relative to the scenario's
 * directory unless absolute. Built guests are found by
 * ukf_live_image_path() (UKF_GUEST_DIR, else guest/ next to ukfork).
 * Returns 0, or -1 after scen_run_fail() naming the app if an image is missing.
 */
/* NULL if path is a regular file starting with the ELF magic, else why. */
static const char *image_not_elf(const char *path)
{
	struct stat st;
	unsigned char m[4] = {0};
	if (stat(path, &st) < 0)
		return strerror(errno);
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	FILE *f = fopen(path, "rb");
	if (!f)
		return strerror(errno);
	size_t n = fread(m, 1, sizeof(m), f);
	fclose(f);
	if (n != sizeof(m) || memcmp(m, "\177ELF", 4))
		return "not an ELF file (a guest image is an ELF executable)";
	return NULL;
}

static int resolve_images(struct run *r)
{
	for (size_t i = 0; i < r->napps; i++) {
		struct ukf_app *a = &r->apps[i].app;
		char p[2048];
		int bad = 0;
		if (!a->image[0])
			bad = ukf_live_image_path("synth", p, sizeof(p));
		else if (!strchr(a->image, '/'))
			bad = ukf_live_image_path(a->image, p, sizeof(p));
		else
			scen_path_resolve(r->sc, a->image, p, sizeof(p));
		if (bad || strlen(p) >= sizeof(a->image)) {
			scen_run_fail(r, UKF_RUN_BAD,
				      "%s: app '%s': guest image "
				      "path too long",
				      r->apps[i].where, a->name);
			return -1;
		}
		if (access(p, R_OK)) {
			scen_run_fail(r, UKF_RUN_BAD,
				 "%s: app '%s': guest image '%s': %s (build "
				 "the guests, set UKF_GUEST_DIR or give "
				 "app(..., {image=...}))",
				 r->apps[i].where, a->name, p, strerror(errno));
			return -1;
		}
		/* a directory or a file that is not ELF would only fail
		 * when the first instance boots */
		const char *why = image_not_elf(p);
		if (why) {
			scen_run_fail(r, UKF_RUN_BAD,
				 "%s: app '%s': guest image '%s': %s",
				 r->apps[i].where, a->name, p, why);
			return -1;
		}
		memcpy(a->image, p, strlen(p) + 1); /* fits: checked above */
	}
	return 0;
}
#endif

/* The simulated cluster: cf's nodes, links, directory, model and faults. */
static int sim_create(struct run *r, const struct cfg *cf,
		      const struct ukf_world_sinks *sinks, int with_db)
{
	struct scen *sc = r->sc;
	char err[512] = "";
	struct ukf_sim_config c;
	ukf_sim_config_default(&c);
	c.engine = cf->eng;
	if (cf->have_latency)
		c.link_latency_ns = cf->latency;
	if (cf->have_bandwidth)
		c.link_bandwidth_bps = cf->bandwidth;
	if (cf->have_dir_delay)
		c.dir_delay_ns = cf->dir_delay;
	if (cf->have_dir_delay_p99)
		c.dir_delay_p99_ns = cf->dir_delay_p99;
	c.faults = cf->sim_faults;
	c.cores = (uint32_t)cf->cores;
	/* failures are noticed as the imitated directory notices them
	 * (data/directory.conf *_detect_ns), unless churn{ detect = } says */
	c.detect_ns = cf->directory ? cf->dir_detect : 0;
	if (scen_net_config(r, &c))
		return -1;
	c.sample_every_ns = with_db ? cf->sample_every : 0;
	c.seed = r->seed;
	c.rep = r->rep;
	if (cf->have_sim_model) /* read with the settings (scen_cfg) */
		c.model = cf->sim_model;
	if (ukf_sim_create(&r->world, &c, sinks, scen_s_sample, err,
			   sizeof(err))) {
		scen_run_fail(r, UKF_RUN_BAD, "%s: %s", sc->o->script, err);
		return -1;
	}
	return 0;
}

static uint32_t sim_nodes(const struct run *r, const struct cfg *cf)
{
	(void)r;
	return cf->eng.nodes;
}

static uint32_t sim_config_nodes(const struct ukf_run_opts *o,
				 const struct ukf_engine_config *e)
{
	(void)o;
	return e->nodes;
}

#ifdef UKF_HAVE_LIVE
/* The local KVM node: one engine, real VMs. */
static int live_create(struct run *r, const struct cfg *cf,
		       const struct ukf_world_sinks *sinks, int with_db)
{
	struct scen *sc = r->sc;
	const char *be = sc->o->backend;
	char err[512] = "";
	struct ukf_live_config c;
	ukf_live_config_default(&c);
	c.engine = cf->eng;
	c.engine.nodes = 1;
	c.backend = be;
	c.sample_every_ns = with_db ? cf->sample_every : 0;
	c.template_dir = sc->o->template_dir;
	if (resolve_images(r))
		return -1;
	if (ukf_live_create(&r->world, &c, sinks, err, sizeof(err))) {
		scen_run_fail(r, UKF_RUN_FAILED, "backend %s: %s", be, err);
		return -1;
	}
	r->have_world = 1;
	/* Node samples go to the same sink (and table) as in sim. */
	if (c.sample_every_ns > 0 &&
	    ukf_live_set_sampler(&r->world, scen_s_sample)) {
		scen_run_fail(r, UKF_RUN_FAILED,
			      "backend %s: node samples refused", be);
		return -1;
	}
	return 0;
}
#endif

static uint32_t one_node(const struct run *r, const struct cfg *cf)
{
	(void)r;
	(void)cf;
	return 1;
}

static uint32_t one_config_node(const struct ukf_run_opts *o,
				const struct ukf_engine_config *e)
{
	(void)o;
	(void)e;
	return 1;
}

#ifdef UKF_HAVE_AGENT
/* The node agents of a cluster file, each a live node. */
static int cluster_create(struct run *r, const struct cfg *cf,
			  const struct ukf_world_sinks *sinks, int with_db)
{
	struct scen *sc = r->sc;
	char err[512] = "";
	struct ukf_cluster_world_config c;
	ukf_cluster_world_config_default(&c);
	c.cluster_file = sc->o->cluster;
	c.engine = cf->eng;
	c.sample_every_ns = with_db ? cf->sample_every : 0;
	c.template_dir = sc->o->template_dir;
	if (resolve_images(r))
		return -1;
	if (ukf_cluster_world_create(&r->world, &c, sinks, err, sizeof(err))) {
		/* (its messages name the file: "FILE: no answer ...") */
		scen_run_fail(r, UKF_RUN_FAILED, "cluster %s", err);
		return -1;
	}
	r->have_world = 1;
	if (c.sample_every_ns > 0 &&
	    ukf_cluster_world_set_sampler(&r->world, scen_s_sample)) {
		scen_run_fail(r, UKF_RUN_FAILED,
			      "cluster: node samples refused");
		return -1;
	}
	return 0;
}
#endif

static int sim_node_state(struct run *r, ukf_node_id_t n)
{
	return ukf_sim_node_state(&r->world, n);
}

#ifdef UKF_HAVE_AGENT
/* An agent lost or restarted during the run: failed (what is sent its
 * way fails at once). */
static int cluster_node_state(struct run *r, ukf_node_id_t n)
{
	return ukf_cluster_world_node_lost(&r->world, n) == 1;
}
#endif

int scen_node_state(struct run *r, ukf_node_id_t n)
{
	const struct scen_world_ops *w = r->sc->world;

	return w && w->node_state ? w->node_state(r, n) : 0;
}

static uint32_t cluster_nodes(const struct run *r, const struct cfg *cf)
{
	(void)cf;
	return r->world.ops->nodes(r->world.w);
}

static uint32_t cluster_config_nodes(const struct ukf_run_opts *o,
				     const struct ukf_engine_config *e)
{
	(void)e;
	return o->cluster_nodes;
}

static const struct scen_world_ops sim_world = {
    .name = "sim",
    .backend = "sim",
    .cluster = -1,
    .simulated = 1,
    .create = sim_create,
    .nodes = sim_nodes,
    .config_nodes = sim_config_nodes,
    .node_state = sim_node_state,
};

static const struct scen_world_ops kvm_world = {
    .name = "kvm",
    .backend = "kvm",
    .cluster = 0,
#ifdef UKF_HAVE_LIVE
    .create = live_create,
#endif
    .not_built = "backend 'kvm' not built",
    .nodes = one_node,
    .config_nodes = one_config_node,
};

static const struct scen_world_ops cluster_world = {
    .name = "cluster",
    .backend = "kvm",
    .cluster = 1,
#ifdef UKF_HAVE_AGENT
    .create = cluster_create,
#endif
    .not_built = "--cluster: node agents not built",
    .nodes = cluster_nodes,
    .config_nodes = cluster_config_nodes,
#ifdef UKF_HAVE_AGENT
    .node_state = cluster_node_state,
#endif
};

/* Every world a scenario can run on, in the order they are matched. */
static const struct scen_world_ops *const worlds[] = {
    &sim_world,
    &kvm_world,
    &cluster_world,
};
#define NWORLDS (sizeof(worlds) / sizeof(worlds[0]))

const struct scen_world_ops *scen_world_find(const struct ukf_run_opts *o)
{
	const char *be = o->backend ? o->backend : "sim";
	for (size_t i = 0; i < NWORLDS; i++)
		if (!strcmp(worlds[i]->backend, be) &&
		    (worlds[i]->cluster < 0 ||
		     worlds[i]->cluster == (o->cluster != NULL)))
			return worlds[i];
	return NULL;
}

int ukf_scenario_backend_known(const char *name)
{
	for (size_t i = 0; i < NWORLDS; i++)
		if (!strcmp(worlds[i]->backend, name))
			return 1;
	return 0;
}

void ukf_scenario_backends(char *buf, size_t cap)
{
	size_t n = 0;

	if (!cap)
		return;
	buf[0] = 0;
	for (size_t i = 0; i < NWORLDS && n < cap; i++) {
		int dup = 0;
		for (size_t k = 0; k < i; k++)
			dup |= !strcmp(worlds[k]->backend, worlds[i]->backend);
		if (!dup)
			n += (size_t)snprintf(buf + n, cap - n, "%s%s",
					      n ? ", " : "", worlds[i]->backend);
	}
}

int ukf_scenario_simulated(const struct ukf_run_opts *o)
{
	const struct scen_world_ops *w = scen_world_find(o);

	return w ? w->simulated : -1;
}

const char *ukf_scenario_cluster_backend(void)
{
	for (size_t i = 0; i < NWORLDS; i++)
		if (worlds[i]->cluster == 1)
			return worlds[i]->backend;
	return NULL;
}

int scen_create_world(struct run *r, struct cfg *cf, int with_db)
{
	struct scen *sc = r->sc;
	const struct scen_world_ops *w = sc->world;
	struct ukf_world_sinks sinks = {
	    .record = scen_s_record,
	    .log = (r->mode == M_RUN && sc->trace) ? scen_s_log : NULL,
	    .hooks = {scen_h_ready, scen_h_exit, scen_h_fail, scen_h_console,
		      r},
	    .u = r,
	    .outage = scen_s_outage,
	};
	if (!w->create) {
		scen_run_fail(r, UKF_RUN_BAD, "%s", w->not_built);
		return -1;
	}
	if (w->create(r, cf, &sinks, with_db))
		return -1;
	r->have_world = 1;
	r->running = 1;
	r->nodes = w->nodes(r, cf);
	r->duration = cf->duration;
	for (size_t i = 0; i < r->napps; i++) {
		int id = r->world.ops->add_app(r->world.w, &r->apps[i].app);
		if (id != (int)i) {
			scen_run_fail(r, UKF_RUN_FAILED,
				 "%s: engine refused app '%s'",
				 r->apps[i].where, r->apps[i].app.name);
			return -1;
		}
	}
	for (size_t i = 0; i < r->narr; i++) {
		struct arrival *a = &r->arr[i];
		if (a->node != UKF_NODE_NONE && a->node >= r->nodes) {
			scen_run_fail(r, UKF_RUN_BAD,
				 "%s: node %u does not exist "
				 "(the cluster has %u node%s)",
				 a->where, a->node, r->nodes,
				 plural(r->nodes));
			return -1;
		}
		for (size_t k = 0; k < a->ntev; k++)
			if (a->tev[k].node != UKF_NODE_NONE &&
			    a->tev[k].node >= r->nodes) {
				scen_run_fail(r, UKF_RUN_BAD,
					 "%s: trace{}: %s:%u: "
					 "node %u does not exist (the cluster "
					 "has %u node%s)",
					 a->where, a->path ? a->path : "?",
					 a->tev[k].line, a->tev[k].node,
					 r->nodes, plural(r->nodes));
				return -1;
			}
	}
	return 0;
}

/* Is `name` a valid policy of kind `key` ("placement"/"templates")? */
int scen_check_policy(const char *key, const char *name, char *err,
			size_t errlen)
{
	struct ukf_sim_config c;
	ukf_sim_config_default(&c);
	c.engine.nodes = 1;
	if (!strcmp(key, "placement"))
		c.engine.placement = name;
	else
		c.engine.templates = name;
	struct ukf_world_sinks sinks;
	memset(&sinks, 0, sizeof(sinks));
	struct ukf_world w;
	if (ukf_sim_create(&w, &c, &sinks, NULL, err, errlen))
		return -1;
	w.ops->destroy(&w.w);
	return 0;
}
