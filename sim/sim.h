/* SPDX-License-Identifier: MIT */
/* sim.h - the simulated world: virtual clock, network, hosts, VM costs. */
#ifndef UKF_SIM_H
#define UKF_SIM_H

#include "../core/world.h"

/* The operations a per-operation distribution can be given to. */
enum ukf_sim_op {
	UKF_SIM_OP_BOOT = 0, /* cold boot (both STARTED and READY parts) */
	UKF_SIM_OP_TEMPLATE, /* making a template */
	UKF_SIM_OP_LOAD,     /* installing a template from a peer */
	UKF_SIM_OP_CLONE,    /* clone from a template */
	UKF_SIM_OP_FORK,     /* live fork on the same node */
	UKF_SIM_OP_SAVE,     /* remote fork: encoding the delta */
	UKF_SIM_OP_RESTORE,  /* remote fork: restoring from the delta */
	UKF_SIM_OP_UNIT,     /* a unit of work */
	UKF_SIM_NOPS
};
enum ukf_sim_family {
	UKF_SIM_DIST_NONE = 0, /* the model's jitter lognormal */
	UKF_SIM_DIST_LOGNORMAL, /* p1 = mu, p2 = sigma of ln X */
	UKF_SIM_DIST_GAMMA,     /* p1 = shape k, p2 = scale theta */
	UKF_SIM_DIST_WEIBULL,   /* p1 = shape k, p2 = scale lambda */
	UKF_SIM_DIST_LOGLOGISTIC, /* p1 = shape k > 1, p2 = scale alpha
				    (heavy tail: P(X > x) ~ (x/alpha)^-k) */
	UKF_SIM_DIST_EMPIRICAL /* q[]: the quantiles at 0, 5%, ... 100% */
};
/* The quantiles an empirical distribution is given by (every 5%). */
#define UKF_SIM_EMP_Q 21
/* The most points a cost curve (load_curve) may have. */
#define UKF_SIM_CURVE_MAX 16

/*
 * A cost against a size, through measured points: linear between them;
 * below the first, proportional to the size; beyond the last, the last
 * segment's line, never under the last point's cost per unit of size.
 * n 0: none.
 */
struct ukf_sim_curve {
	uint32_t n;
	double x[UKF_SIM_CURVE_MAX]; /* strictly increasing, >= 0 */
	double y[UKF_SIM_CURVE_MAX]; /* ns, >= 0 */
};
/* The curve's value at x (n >= 1; one point: its y). */
double ukf_sim_curve_eval(const struct ukf_sim_curve *c, double x);
/* The curve's value at x as model key idle_curve takes it: linear
 * between its points, the first point's y below it, the last's beyond
 * (n >= 1). */
double ukf_sim_idle_eval(const struct ukf_sim_curve *c, double x);
/* 1 if c is none (n 0) or 2 to UKF_SIM_CURVE_MAX points, x strictly
 * increasing, x and y finite and >= 0; else 0. */
int ukf_sim_curve_ok(const struct ukf_sim_curve *c);

/*
 * Cost model of simulated VM operations. Defaults come from data/model.conf
 * (published figures, each with its source); ukf_sim_model_load() reads a
 * file of the same "key = value  # source" form.
 */
/* The largest jitter (lognormal sigma) a model may have. */
#define UKF_SIM_JITTER_MAX 5.0

struct ukf_sim_model {
	ukf_ns_t boot_base_ns;        /* cold boot: fixed cost */
	double boot_ns_per_byte;      /* cold boot: per image byte */
	ukf_ns_t template_base_ns;    /* taking a template: fixed */
	double template_ns_per_byte;  /* per byte of guest memory frozen */
	ukf_ns_t clone_base_ns;       /* local clone (template or fork): fixed */
	ukf_ns_t clone_ns_per_page;   /* per dirty page copied at fork */
	ukf_ns_t touch_ns_per_page;   /* first-touch fault after a clone */
	ukf_ns_t restore_base_ns;     /* remote clone: restore from delta */
	ukf_ns_t restore_ns_per_page;
	ukf_ns_t destroy_ns;
	double jitter;                /* lognormal sigma applied to each cost,
					 0 .. UKF_SIM_JITTER_MAX */
	/* Appended by sim/ (keep at the end): */
	ukf_ns_t load_base_ns;        /* install a template received from a peer */
	double load_ns_per_byte;      /* per byte of the received image */
	ukf_ns_t save_ns_per_page;    /* remote fork: encode a dirty page */
	/*
	 * Cold boot: per byte of the guest's MEMORY (app mem=), the guest
	 * touching it during its init. Charged between STARTED and READY,
	 * overlapping the app's init: READY comes max(init, mem * this) after
	 * STARTED, as guest/apps/synth.c touches mem, then spins until init
	 * has passed since it started.
	 */
	double boot_ns_per_mem_byte;
	/*
	 * Appended for calibration (calib/, issue 11): the spread of each
	 * operation's cost (keys boot_dist, template_dist, ...: "lognormal MU
	 * SIGMA", "gamma K THETA", "weibull K LAMBDA", "loglogistic K ALPHA"
	 * or "none"). Only the SHAPE is used: an operation's cost is its
	 * modeled mean (the _ns keys above) times a factor with that shape
	 * and mean 1. An operation
	 * without a distribution (family UKF_SIM_DIST_NONE, the default) keeps
	 * the lognormal `jitter` factor, so files without these keys behave
	 * exactly as before.
	 */
	struct ukf_sim_dist {
		int family; /* enum ukf_sim_family */
		double p1, p2;
		/* empirical: the quantiles, scaled at load so that the
		 * piecewise-linear quantile function has mean 1 */
		double q[UKF_SIM_EMP_Q];
	} dist[UKF_SIM_NOPS];
	/*
	 * Appended for host contention (issue 11; sim/README.md "Agent,
	 * monitor and memory"). All 0 by default: no queueing, no limit.
	 * agent_msg_ns: the node agent's service time per backend event
	 * (one FIFO server per host). monitor_slots: how many monitor
	 * operations (template clone, live fork, restore, delta save,
	 * template make/load) a host runs at once, FIFO beyond (0: no
	 * limit); with 1 they share the agent's one server, as the live
	 * engine runs them on its event-loop thread. host_mem_bytes: a
	 * host's physical memory (0: no limit) against which the backend
	 * counts each instance's private pages (copy-on-write: a clone's
	 * dirtied pages, a cold boot's whole memory) and its templates; an
	 * operation that would pass it fails with -ENOMEM. fork_base_ns: a
	 * live fork's fixed cost; 0 takes clone_base_ns (as before).
	 */
	ukf_ns_t agent_msg_ns;
	uint64_t monitor_slots;
	uint64_t host_mem_bytes;
	ukf_ns_t fork_base_ns;
	/*
	 * Appended for directory calibration (`ukfork calibrate
	 * --directory`): a measured update-to-visibility median and p99.
	 * The simulator itself does not read them: a scenario whose run{}
	 * names this model file and sets none of dir_delay, dir_delay_p99
	 * and directory takes them as dir_delay and dir_delay_p99
	 * (cli/scen_world.c). 0 (the default): not given, the scenario's
	 * defaults stay.
	 */
	ukf_ns_t dir_delay_ns;
	ukf_ns_t dir_delay_p99_ns;
	/*
	 * Appended for the validation of template clones (issue 11):
	 * the extra cost of a template clone or live fork at a guest
	 * memory size its node has not cloned at before (in this
	 * incarnation of the node). The KVM monitor builds a clone into a
	 * VM shell (VM, vCPU, memslot) of the guest's memory size from a
	 * pool that refills in the background for the size asked last: the
	 * first clone at a size finds none ready and makes one itself. 0
	 * (the default): no such cost.
	 */
	ukf_ns_t clone_first_ns;
	/*
	 * Appended for the validation on several nodes (issue 11): the
	 * node agents' own delay on a message from one node to another,
	 * beyond the link's latency and transfer (two agents' event loops,
	 * ZeroMQ, CURVE). Every message between nodes is delivered this
	 * much later; a node's messages to itself are not. Written by
	 * `ukfork calibrate --cluster`. 0 (the default): none.
	 */
	ukf_ns_t peer_msg_ns;
	/*
	 * Appended for template fetches (issue 11): a template load's cost
	 * against the template's bytes as a curve through measured points
	 * (key load_curve = "BYTES NS BYTES NS ...", 2 to
	 * UKF_SIM_CURVE_MAX points): on this machine's testbed the fetch
	 * costs 3.2 ns a byte at 12 MiB and 5.1 at 48 MiB, which no line
	 * fits across the sizes. Given, it replaces load_base_ns +
	 * load_ns_per_byte x bytes. n 0 (the default, "none"): the line.
	 */
	struct ukf_sim_curve load_curve;
	/*
	 * Appended for template fetches (issue 11): the first remote
	 * restore from a template its node fetched (loaded from a peer, not
	 * made there) costs this much more per template byte, when it is
	 * the first start from that template there: on this machine's
	 * testbed such a restore took 3.3, 5.3 and 10.3 ms at 8, 16 and 32
	 * MiB against 1.2 ms for the next ones, ~0.28 ms a MiB. A template
	 * clone first from it is charged nothing more (measured: its VM
	 * shell only) and takes that first start. Written by `ukfork
	 * calibrate --cluster`. 0 (the default): none.
	 */
	double fetched_first_ns_per_byte;
	/*
	 * Appended for template clones (issue 11): a template clone's cost
	 * per byte of the guest's memory, beside clone_base_ns. Through the
	 * KVM node agents a clone took more the larger the guest (medians
	 * 550, 610 and 650 us at 8, 16 and 32 MiB in one calibration; the
	 * least-squares slope 0.0013 to 0.005 ns a byte with its 95%
	 * interval above 0 in 5 of 9 interleaved validations' calibrations,
	 * sessions 31-32). Written by `ukfork calibrate` when the alone
	 * step's template clones span memory sizes and the slope's interval
	 * is above 0. 0 (the default): flat.
	 */
	double clone_ns_per_byte;
	/*
	 * Appended for template clones on several nodes (issue 11): a
	 * template clone started on the node that requested it costs this
	 * much more than one that node starts for a peer. On this machine's
	 * testbed a clone's start -> READY took 25-53 us more (medians) when
	 * its own agent had placed it than when a peer had, in held-out runs
	 * and in the calibrations alike. Written by `ukfork calibrate
	 * --cluster` (the workload's clones placed in turn on both nodes);
	 * the template clone fit then takes it off the alone step's (local)
	 * clones. 0 (the default): none.
	 */
	ukf_ns_t local_clone_ns;
	/*
	 * Appended for idle spells (issue 11): a template clone, live fork
	 * or remote restore on a node that has had no backend event or
	 * operation for a spell of s ns (since the run began, for its
	 * first) costs idle_curve at s more (key idle_curve = "SPELL NS
	 * SPELL NS ...", 2 to UKF_SIM_CURVE_MAX points, evaluated by
	 * ukf_sim_idle_eval: flat beyond its ends). Through the KVM engine
	 * a template clone took 0.13, 0.57, 1.0 and 1.7 ms more after 0.3,
	 * 0.6, 1 and 2 s of idle than 20 ms after the last instance ended
	 * (session 36, Intel kvm_pvm); through an agent 9-16% more after
	 * 300 ms (session 35, AMD). Written by `ukfork calibrate` from the
	 * alone step's clones after each spell of plan key idle against
	 * those after the plan's gap (the first point: the gap, 0). n 0 (the
	 * default, "none"): no such cost.
	 */
	struct ukf_sim_curve idle_curve;
	/*
	 * Appended for idle spells (issue 11): a cold boot on a node idle
	 * for a spell of s ns costs boot_idle_curve at s (ns per byte of
	 * the guest's memory) times its memory more (key boot_idle_curve =
	 * "SPELL NS_PER_BYTE ...", evaluated as idle_curve). Through the
	 * KVM engine a cold boot took 6-7% more 1 s after the last one ended
	 * than 20 ms after (24 MiB: 172 against 161 ms, 12 MiB: 84 against
	 * 77-81 ms; session 36). Written by `ukfork calibrate` from
	 * bootbench's cold boots after each spell of plan key idle (--gap)
	 * against those back to back. n 0 (the default): none.
	 */
	struct ukf_sim_curve boot_idle_curve;
	/*
	 * Appended for idle spells (issue 11): a message between the engines
	 * of two nodes whose receiver has had no backend event or operation
	 * for a spell of s ns, and has sent or received no message between
	 * nodes since, arrives msg_idle_curve at s later (key
	 * msg_idle_curve = "SPELL NS ...",
	 * evaluated as idle_curve; a transfer's time on the links overlaps
	 * it); so do the messages sent to that node after it until then
	 * (deliveries to a node stay in the order sent). Through
	 * the node agents a template clone placed on the other node took
	 * 150-200 us from placement to start 20 ms after the last request
	 * there, and 180-490 us after 0.3-2 s of idle, while one started
	 * where requested took 10-55 us either way (session 37, Intel
	 * kvm_pvm). Written by `ukfork calibrate --cluster` from template
	 * clones after each spell of plan key idle, placed on the other node
	 * and where requested. n 0 (the default): none.
	 */
	struct ukf_sim_curve msg_idle_curve;
	/*
	 * Appended for idle spells (issue 11): a remote fork's message (its
	 * delta) to a node idle for a spell of s ns, reckoned as for
	 * msg_idle_curve, arrives delta_idle_curve at s plus msg_idle_curve
	 * at s later than it would have (added to its transfer, not
	 * overlapping it), the later messages of that pair after it, those
	 * of others held by msg_idle_curve alone (key delta_idle_curve =
	 * "SPELL NS ...", evaluated as idle_curve).
	 * Through the node agents a remote fork of about 260 pages took
	 * 3.0-3.2 ms from placement to the restore's start 20 ms after the
	 * last request and 3.4-3.7 ms after 1 s of idle, where a small
	 * message to such a node took 50-130 us more (session 37, Intel
	 * kvm_pvm). Written by `ukfork calibrate --cluster` from remote forks
	 * after each spell of plan key idle against those after the gap.
	 * n 0 (the default): none.
	 */
	struct ukf_sim_curve delta_idle_curve;
	/*
	 * Appended for idle spells (issue 11): what delta_idle_curve's spell
	 * is reckoned from (key delta_idle_since). 0, "message" (the
	 * default): as msg_idle_curve's, since the target's last backend
	 * event or operation or message sent or received between nodes, so
	 * that a node which has just placed the fork's parent elsewhere
	 * (its agent awake) is charged nothing. 1, "activity": since its
	 * last backend event or operation alone, messages not counted (the
	 * cost then lies in the host's or monitor's idle state, not in its
	 * agent's wake-up). `ukfork calibrate --cluster` chooses from the
	 * remote forks back to the node that placed their parent elsewhere
	 * (its dsavew_* samples) against those of the curve.
	 */
	uint64_t delta_idle_since;
};

enum { UKF_SIM_SINCE_MESSAGE = 0, UKF_SIM_SINCE_ACTIVITY = 1 };

void ukf_sim_model_default(struct ukf_sim_model *m);
/* The mean of the piecewise-linear quantile function through an empirical
 * distribution's quantiles at 0, 5%, ... 100% (its draw's mean). */
double ukf_sim_empirical_mean(const double q[UKF_SIM_EMP_Q]);
/* Load key = value lines over *m; -1 with "file:line: ..." in err. */
int ukf_sim_model_load(struct ukf_sim_model *m, const char *path, char *err,
		       size_t errlen);
/*
 * The same, and *given |= one bit per key the file set (bit i: the
 * loader's i-th key; *given untouched on failure). With
 * ukf_sim_model_unset(), says which keys a model file left to the
 * compiled-in defaults (data/model.conf's published figures). *digest
 * (if not NULL): the FNV-1a (ukf_fnv1a) of the bytes read, so that what
 * was loaded and what a run's settings name are one content.
 */
int ukf_sim_model_load_keys(struct ukf_sim_model *m, const char *path,
			    uint64_t *given, uint64_t *digest, char *err,
			    size_t errlen);
/*
 * The cost and host keys (not the *_dist ones, whose absence means the
 * jitter, nor dir_delay_ns / dir_delay_p99_ns or destroy_ns) that no file
 * in `given` set, comma-separated into buf (cut at cap, always
 * terminated when cap > 0). Returns how many there are.
 */
size_t ukf_sim_model_unset(uint64_t given, char *buf, size_t cap);
/* The value of cost or host key `key` in *m as the model file writes it
 * (ns for times), into buf; -1 if key is no such key (or a *_dist). */
int ukf_sim_model_format(const struct ukf_sim_model *m, const char *key,
			 char *buf, size_t cap);

/*
 * Whether a cost of operation op is random under model m: 1 if op has a
 * distribution or jitter > 0, else 0 (the cost is exact and the caller
 * draws nothing, so its random streams are unchanged).
 */
int ukf_sim_model_random(const struct ukf_sim_model *m, enum ukf_sim_op op);

/*
 * The factor (mean 1) a cost of operation op is multiplied by, for the
 * standard normal draw z: the quantile of op's distribution, scaled to mean
 * 1, at Phi(z); without a distribution exp(jitter z - jitter^2 / 2), the
 * same expression sim/world.c uses. A lognormal's mu and a gamma's,
 * Weibull's or log-logistic's scale do not matter (only the shape). Never
 * negative; NaN z gives 1.
 */
double ukf_sim_model_factor(const struct ukf_sim_model *m, enum ukf_sim_op op,
			    double z);

/*
 * The directories the simulator can imitate (data/directory.conf, measured
 * by bench/cluster/directory.sh): update-to-visibility median and p99, and
 * the time until a dead node is dropped (a scenario imitating the
 * directory takes it as its detect_ns, below). embedded: the agents' own
 * update messages; etcd: one etcd member; etcd3: three members.
 */
struct ukf_sim_dirmodel {
	ukf_ns_t embedded_delay_ns, embedded_delay_p99_ns, embedded_detect_ns;
	ukf_ns_t etcd_delay_ns, etcd_delay_p99_ns, etcd_detect_ns;
	ukf_ns_t etcd3_delay_ns, etcd3_delay_p99_ns, etcd3_detect_ns;
};
void ukf_sim_dirmodel_default(struct ukf_sim_dirmodel *m);
/* Load key = value lines over *m; -1 with "file:line: ..." in err. */
int ukf_sim_dirmodel_load(struct ukf_sim_dirmodel *m, const char *path,
			  char *err, size_t errlen);
/* Directory `name` (embedded, etcd, etcd3): its three times; -1 unknown. */
int ukf_sim_dirmodel_pick(const struct ukf_sim_dirmodel *m, const char *name,
			  ukf_ns_t *delay, ukf_ns_t *p99, ukf_ns_t *detect);

struct ukf_sim_config {
	struct ukf_engine_config engine;
	struct ukf_sim_model model;
	ukf_ns_t link_latency_ns;   /* one-way per message (default 50us) */
	double link_bandwidth_bps;  /* per node link, bytes/s (default 1.25e9) */
	ukf_ns_t dir_delay_ns;      /* directory propagation delay (1ms) */
	/* 0: every record after exactly dir_delay_ns; else each record's
	 * delay is lognormal with median dir_delay_ns and this p99 */
	ukf_ns_t dir_delay_p99_ns;
	ukf_ns_t sample_every_ns;   /* node samples period (0 = off) */
	uint64_t seed;
	uint32_t rep;               /* replication: a separate substream */
	/* Appended: faults the simulated backend injects (all 0: none). */
	struct ukf_sim_faults {
		double boot;       /* a cold boot fails (UKF_BE_ERROR) */
		double clone;      /* a template clone, live fork or restore
				      from a delta fails (UKF_BE_ERROR) */
		double template;   /* making or loading a template fails
				      (UKF_BE_ERROR, inst 0) */
		double save_delta; /* a remote fork's delta save fails
				      (UKF_BE_ERROR on the parent) */
		double crash;      /* a unit of work ends in a crash
				      (UKF_BE_FAIL) instead of finishing */
	} faults;
	/* Appended: physical cores per host shared by the guest CPU work
	 * of the instances running there (processor sharing, sim/README.md
	 * "Host CPU contention"); 0: no contention (each runs at full
	 * speed, the behaviour before this field). */
	uint32_t cores;
	/* Appended: the network fabric (sim/README.md "Network"). With
	 * net_fair 0 and racks 0 (the defaults), the per-link model of
	 * before. net_fair 1: max-min fair sharing of the host links;
	 * racks > 0 (implies it): nodes in racks (node k in rack
	 * floor(k racks / nodes)), traffic between racks also crossing
	 * each rack's uplink/downlink (rack_uplink_bps each way) and the
	 * core (core_bps); 0 for either is unlimited. */
	int net_fair;
	uint32_t racks;
	double rack_uplink_bps;
	double core_bps;
	/* Appended: churn and failure detection (sim/README.md "Churn").
	 * churn_mtbf_ns > 0 (with churn_mttr_ns > 0): from the start every
	 * node alternates up and down periods, exponential with these means,
	 * each period drawn by (node, its number) from stream
	 * UKF_RNG_KEY(SIM_RNG_CHURN, node), so a node's trace is the same in
	 * every configuration of a sweep; a down period is a
	 * ukf_sim_fail_node(why "churn") and a ukf_sim_recover_node. 0: none.
	 * detect_ns: how long after a node fails (churned or
	 * ukf_sim_fail_node) the other nodes notice (ukf_engine_peer_down,
	 * its directory record forgotten); until then placement may choose
	 * it and what is sent there is lost. 0: at once (as before). */
	ukf_ns_t churn_mtbf_ns;
	ukf_ns_t churn_mttr_ns;
	ukf_ns_t detect_ns;
};
void ukf_sim_config_default(struct ukf_sim_config *c);

/*
 * Parse a fault specification into *f: whitespace-separated key=value
 * pairs, each key one of boot, clone, template, save_delta, crash (at most
 * once) and each value a probability in [0, 1] written as a decimal number
 * (e.g. "boot=0.05 crash=0.01"); keys not given are 0, and "none" (or a
 * blank spec) means no faults. Returns 0, or -1 with a message naming the
 * bad pair in err (*f then unchanged). See sim/README.md, "Fault
 * injection".
 */
int ukf_sim_faults_parse(struct ukf_sim_faults *f, const char *spec,
			 char *err, size_t errlen);

/* Node samples (struct ukf_world_sample, core/world.h), taken every
 * sample_every_ns, go to the sample sink. */

/*
 * Create a simulated world with its engine. The apps are registered into
 * the engine by the caller (ukf_engine_add_app on world->engine) before
 * ukf_engine_start. Returns 0 and fills *world, or -1 with a message in err.
 */
int ukf_sim_create(struct ukf_world *world, const struct ukf_sim_config *cfg,
		   const struct ukf_world_sinks *sinks,
		   void (*sample)(void *u, const struct ukf_world_sample *s),
		   char *err, size_t errlen);

/* ---- Appended by sim/ ---- */

/*
 * More on ukf_sim_create(): cfg and *sinks are copied, but pointers inside
 * them (cfg->engine.per_node, policy names, sinks->u) are kept: the caller
 * keeps them alive until destroy. sample (may be NULL) is called with
 * sinks->u, for every node at t = 0 and then every sample_every_ns while
 * other events remain. Bad settings (no nodes, negative latency or delays,
 * bandwidth <= 0, negative costs, unknown policy names) give -1 with a
 * message. world->ops->run(until): the clock ends at `until` if events
 * remain beyond it, else at the last event. world->ops->destroy destroys
 * the engine first (it records the instances still alive), then the rest.
 */

/* Keyed random streams of a simulated world, for callers outside the engine
 * (the scenario runner keeps its own SplitMix64 streams, cli/scenario.c). */

/* 1 if `world` is a simulated world (made by ukf_sim_create), else 0. */
int ukf_sim_is(const struct ukf_world *world);

/*
 * Draws from the world's keyed stream `key` (the same streams env->uniform
 * uses: a stream is seeded from hash(seed, rep, key) on first use, so its
 * draws do not depend on any other stream's). Use a key of kind
 * UKF_RNG_ARRIVALS / UKF_RNG_SCRIPT (env.h) for workload draws.
 * uniform: in [0, 1). exponential: mean `mean` (>= 0), e.g. 1/rate.
 * Return NaN if `world` is not a simulated world or mean is negative.
 */
double ukf_sim_uniform(struct ukf_world *world, uint64_t key);
double ukf_sim_exponential(struct ukf_world *world, uint64_t key, double mean);

/* ---- Appended by sim/ (net): the fabric and outages ---- */

/*
 * Set the network fabric of a simulated world before ukf_sim_create's
 * world starts (as cfg->net_fair, racks, rack_uplink_bps, core_bps).
 * Returns 0, or -1 with a message in err (not a simulated world, already
 * started, racks > nodes, a negative or NaN bandwidth).
 */
int ukf_sim_set_network(struct ukf_world *world, int fair, uint32_t racks,
			double rack_uplink_bps, double core_bps, char *err,
			size_t errlen);

/*
 * Outages (sim/README.md "Node and link failures"), at the world's now:
 * fail_node: the node is lost with all it held: what was in flight to or
 *   from it is lost; the instances it hosted and the requests it
 *   originated end as failed ("node N lost: WHY"), each requester told
 *   (on_fail; tag 0 for those the node originated); every other node is
 *   told as a live agent is told of a lost peer (ukf_engine_peer_down)
 *   and forgets its directory record, so placement avoids it; its
 *   templates are gone. recover_node: it comes back empty, as a restarted
 *   agent (a new engine: record published, prewarm).
 * fail_link: the node's link is cut: transfers over it fail (lost), its
 *   peers treat it as lost and it treats them so (each side's
 *   ukf_engine_peer_down), placement avoids it; its local work goes on.
 *   recover_link: its record is seen again.
 * Returns 0, or -1 with a message in err (not simulated, bad node, node
 * already in that state, ENOMEM).
 */
int ukf_sim_fail_node(struct ukf_world *world, ukf_node_id_t node,
		      const char *why, char *err, size_t errlen);
int ukf_sim_recover_node(struct ukf_world *world, ukf_node_id_t node,
			 char *err, size_t errlen);
int ukf_sim_fail_link(struct ukf_world *world, ukf_node_id_t node,
		      const char *why, char *err, size_t errlen);
int ukf_sim_recover_link(struct ukf_world *world, ukf_node_id_t node,
			 char *err, size_t errlen);
/* 0 up, 1 node failed, 2 link failed; -1 not simulated or bad node. */
int ukf_sim_node_state(struct ukf_world *world, ukf_node_id_t node);
/* Messages lost to outages so far (0 if not simulated). */
uint64_t ukf_sim_net_dropped(struct ukf_world *world);

#endif /* UKF_SIM_H */
