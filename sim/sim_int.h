/* SPDX-License-Identifier: MIT */
/* sim_int.h - internals of the simulated world: queue, streams, network, backend. */
#ifndef UKF_SIM_INT_H
#define UKF_SIM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"

/* ------------------------------------------------------------------ */
/* u64 -> u64 hash map (open addressing, linear probing, backward-shift
 * deletion). Every key is allowed. Used for instance ids, connections,
 * templates held and random streams. A key and its value share a slot:
 * a lookup that finds its key at home reads one cache line. */
struct sim_slot {
	uint64_t key, val;
};
typedef struct sim_map {
	struct sim_slot *s;
	uint32_t cap;   /* power of two, or 0 */
	uint32_t count; /* entries except the UINT64_MAX key */
	int has_max;
	uint64_t max_val;
} sim_map_t;

void sim_map_init(sim_map_t *m);
void sim_map_free(sim_map_t *m);
/* 1 and *val if present, 0 if absent. */
int sim_map_get(const sim_map_t *m, uint64_t key, uint64_t *val);
/* Insert or replace; 0, or -1 on ENOMEM. */
int sim_map_put(sim_map_t *m, uint64_t key, uint64_t val);
/* Replace the value of a key present: 1, or 0 if absent (nothing
 * added). Never allocates, so it cannot fail. */
int sim_map_set(sim_map_t *m, uint64_t key, uint64_t val);
/* 1 if it was present, 0 if not. */
int sim_map_del(sim_map_t *m, uint64_t key);
/* Drop the entries whose value is <= floor (a rebuild, O(capacity)); 0,
 * or -1 on ENOMEM with the map as it was. */
int sim_map_keep_above(sim_map_t *m, uint64_t floor);

/* A 64-bit mixing function (splitmix64 finaliser). */
uint64_t sim_mix64(uint64_t x);

/* ------------------------------------------------------------------ */
/* Event queue: integer-ns time, ties broken by insertion order. A radix
 * heap (6-bit digits) of linked lists threaded through a pool of fixed-size
 * payloads; O(1) push, pops amortised over a few moves per event. */
enum sim_ev_type {
	SIM_EV_NONE = 0,
	SIM_EV_CALL,     /* world op `at`: fn(arg, x) */
	SIM_EV_TIMER,    /* engine timer: node, cookie */
	SIM_EV_XFER,     /* network: a connection's head transfer may be done */
	SIM_EV_DELIVER,  /* network: a message arrives */
	SIM_EV_DIR,      /* directory: apply a published record */
	SIM_EV_INST,     /* backend: an instance's next step */
	SIM_EV_TEMPLATE, /* backend: a template made or loaded */
	SIM_EV_SAMPLE,   /* periodic node samples */
	SIM_EV_USER,     /* tests and benchmarks */
	SIM_EV_CPU       /* host CPU: a host's next finish may be due */
};

struct sim_ev {
	uint32_t type;
	uint32_t node;
	union {
		struct {
			ukf_world_fn fn;
			void *arg;
			uint64_t x;
		} call;
		struct {
			uint64_t cookie;
			uint32_t inc; /* the node's incarnation (outages) */
		} timer;
		struct {
			uint32_t slot, ver;
		} xfer;
		struct {
			void *msg;
		} deliver;
		struct {
			void *buf;
			size_t len;
		} dir;
		struct {
			uint32_t slot, gen;
			uint32_t step;
		} inst;
		struct {
			uint32_t app;
			uint32_t fail; /* 0, or an injected fault (backend.c) */
			uint64_t bytes;
			uint32_t load; /* 1: fetched from a peer, not made */
		} tmpl;
		struct {
			uint64_t a, b, c;
		} user;
		struct {
			uint32_t ver;
		} cpu;
	} u;
};

typedef struct sim_queue sim_queue_t;

/* An empty queue; NULL on ENOMEM. */
sim_queue_t *sim_queue_create(void);
/* Free the queue (payload resources are the caller's: drain it first). */
void sim_queue_destroy(sim_queue_t **q);
/* Schedule *ev at time t; 0, or -1 on ENOMEM. */
int sim_queue_push(sim_queue_t *q, ukf_ns_t t, const struct sim_ev *ev);
/* Pop the earliest event (lowest time, then lowest insertion order) into
 * *t / *ev; 1 if one was popped, 0 if the queue is empty. */
int sim_queue_pop(sim_queue_t *q, ukf_ns_t *t, struct sim_ev *ev);
/* Time of the earliest event, or UKF_NS_NEVER if empty. Not const: it may
 * first close the hole a pop leaves for the next push (see queue.c). */
ukf_ns_t sim_queue_peek_time(sim_queue_t *q);
size_t sim_queue_size(const sim_queue_t *q);
/* The event the next pop most likely returns, to prefetch what it will
 * touch (NULL: not known without changing the queue). Changes nothing;
 * the pointer holds until the next push or pop. */
const struct sim_ev *sim_queue_peek_next(const sim_queue_t *q);

/* ------------------------------------------------------------------ */
/* Keyed random streams (GSL taus2), each seeded lazily from
 * hash(seed, rep, key), so drawing from one never changes another. */
typedef struct sim_rng sim_rng_t;

sim_rng_t *sim_rng_create(uint64_t seed, uint32_t rep);
void sim_rng_destroy(sim_rng_t **r);
/* Uniform in [0, 1) from stream `key`. NaN only on ENOMEM. */
double sim_rng_uniform(sim_rng_t *r, uint64_t key);
/* Exponential with the given mean. */
double sim_rng_exponential(sim_rng_t *r, uint64_t key, double mean);
/* Standard normal N(0, 1). */
double sim_rng_gaussian(sim_rng_t *r, uint64_t key);
/*
 * Uniform in (0, 1) at position `index` of stream `key`: a hash of (seed,
 * rep, key, index), with no state, so a draw depends only on what it is
 * for, never on how many draws came before it (common random numbers by
 * identity: the same request's draw in every configuration of a sweep).
 */
double sim_rng_at(const sim_rng_t *r, uint64_t key, uint64_t index);
/* Standard normal at position `index` of stream `key` (as sim_rng_at). */
double sim_rng_gaussian_at(const sim_rng_t *r, uint64_t key, uint64_t index);

/*
 * Stream kinds of sim/ beside env.h's UKF_RNG_* (1..7), kept far from them:
 * per-operation cost jitter and injected faults, each keyed by the
 * operation (UKF_RNG_KEY(kind, op)) and indexed by instance identity.
 */
enum { SIM_RNG_COST = 0x5301, SIM_RNG_FAULT = 0x5302,
       SIM_RNG_CHURN = 0x5303 /* keyed by node, indexed by period */ };
/* Number of streams created so far. */
size_t sim_rng_streams(const sim_rng_t *r);

/* ------------------------------------------------------------------ */
/* Network. Each node has one full-duplex link: an uplink and a downlink of
 * `bandwidth` bytes/s each. Messages between one (from, to) pair travel in
 * order over one connection (like one TCP stream): a connection sends its
 * queued messages one after the other. Each link serves the connections
 * active on it by processor sharing (n active connections get bandwidth/n
 * each, re-shared whenever one starts or finishes there); a message has
 * left when it has received its size of service on BOTH the sender's
 * uplink and the receiver's downlink, so it takes the longer of the two
 * shared-link times. It is delivered `latency` after that; a message to
 * oneself is delivered at once (scheduled at now). Each link keeps a
 * virtual clock (service per connection so far) and a heap of its
 * connections' virtual finish times, so a start or finish costs O(log k)
 * for k connections on a link, with one pending event per busy link.
 * (Not max-min fairness: a share one connection cannot use because its
 * other link is slower is not handed to the others.) */
typedef struct sim_net sim_net_t;

/* Delivery callback: the message (type, body, bulk bytes) is freed after
 * it returns. */
typedef void (*sim_deliver_fn)(void *u, ukf_node_id_t to, ukf_node_id_t from,
			       uint16_t type, const void *body, size_t len,
			       const void *bulk, size_t bulk_len);

sim_net_t *sim_net_create(sim_queue_t *q, uint32_t nodes, ukf_ns_t latency,
			  double bandwidth, sim_deliver_fn deliver, void *u);
/* Frees pending messages not yet handed to the queue; the caller drains the
 * queue with sim_net_drop() for SIM_EV_DELIVER events first. */
void sim_net_destroy(sim_net_t **n);
/* Copy and queue a message; 0, -EINVAL (bad node), -ENOMEM. */
int sim_net_send(sim_net_t *n, ukf_ns_t now, ukf_node_id_t from,
		 ukf_node_id_t to, uint16_t type, const void *buf, size_t len,
		 const void *bulk, size_t bulk_len,
		 uint64_t bulk_bytes);
/* The same, the message arriving `late` ns later than it would (between
 * two nodes; its transfer on the links as usual), and the pair's later
 * messages not before it (deliveries of a pair stay in the order sent). */
int sim_net_send_late(sim_net_t *n, ukf_ns_t now, ukf_node_id_t from,
		      ukf_node_id_t to, uint16_t type, const void *buf,
		      size_t len, const void *bulk, size_t bulk_len,
		      uint64_t bulk_bytes, ukf_ns_t late);
/* Handle SIM_EV_XFER / SIM_EV_DELIVER popped at time `now`. 0 or -ENOMEM. */
int sim_net_event(sim_net_t *n, ukf_ns_t now, const struct sim_ev *ev);
/* A hint: start loading what sim_net_event(ev) reads first. */
void sim_net_prefetch(const sim_net_t *n, const struct sim_ev *ev);
/* Free the resources of an unprocessed event (at destroy). */
void sim_net_drop(const struct sim_ev *ev);
/* Connections currently open (tests). */
size_t sim_net_connections(const sim_net_t *n);
/* Bytes delivered so far (tests, reports). */
uint64_t sim_net_bytes(const sim_net_t *n);
/*
 * Switch n (before its first send) to max-min fair sharing (sim/README.md
 * "Network"): each connection's head message is a flow over its sender's
 * uplink and receiver's downlink and, with racks > 0 (node k in rack
 * floor(k racks / nodes)) between two racks, also the sender rack's
 * uplink (rack_bw), the core (core_bw) and the receiver rack's downlink
 * (rack_bw); 0 for rack_bw or core_bw is unlimited. Rates are re-solved
 * (progressive filling) for the flows connected to a link where a flow
 * started or ended. 0, -EINVAL (racks > nodes, already used), -ENOMEM.
 */
int sim_net_fabric(sim_net_t *n, uint32_t racks, double rack_bw,
		   double core_bw);
/* The rack of a node (0 without racks). */
uint32_t sim_net_rack(const sim_net_t *n, ukf_node_id_t node);
/* Max-min solves so far, and the flows they re-rated (*flows may be NULL). */
uint64_t sim_net_solves(const sim_net_t *n, uint64_t *flows);
/*
 * Cut (down = 1) or restore (0) node's link: while cut, messages to or
 * from it (but to itself) are lost when sent; at the cut, its open
 * connections and whatever is in flight to or from it are lost, for good
 * (a restore does not bring them back). 0, -EINVAL, -ENOMEM.
 */
int sim_net_cut(sim_net_t *n, ukf_ns_t now, ukf_node_id_t node, int down);
int sim_net_is_cut(const sim_net_t *n, ukf_node_id_t node);
/* Messages lost to cuts so far. */
uint64_t sim_net_dropped(const sim_net_t *n);
/*
 * No message from another node sent from now on (nor a transfer still on
 * its links) reaches node before `until` (a receiver waking:
 * msg_idle_curve): those due earlier arrive then, in the order sent; a
 * message already on its way, due earlier, keeps its time. A later hold
 * can only move it later. 0, -EINVAL, -ENOMEM.
 */
int sim_net_hold(sim_net_t *n, ukf_node_id_t node, ukf_ns_t until);

/* ------------------------------------------------------------------ */
/* Host CPU contention (cpu.c): each host has `cores` cores shared by the
 * jobs (guest CPU work phases) running on it by egalitarian processor
 * sharing: with n running, each progresses at min(1, cores/n). A host
 * keeps a virtual clock and a heap of virtual finish times with one
 * pending SIM_EV_CPU event, rescheduled on every start, cancel or finish
 * (O(log k) each for k jobs on the host). */
typedef struct sim_cpu sim_cpu_t;

/* Per-host sharing of `cores` (> 0) cores among `hosts` (> 0) hosts,
 * pushing its events on q; NULL on bad arguments or ENOMEM. */
sim_cpu_t *sim_cpu_create(sim_queue_t *q, uint32_t hosts, uint32_t cores);
/* Free it and null *c (events left in the queue hold nothing). */
void sim_cpu_destroy(sim_cpu_t **c);
/* Job `key` (unique among the host's running jobs) needs work_ns of CPU
 * on host from now; *done (copied) is pushed on the queue at the time it
 * has received it. 0, -EINVAL (bad host, negative work, done of type
 * SIM_EV_NONE), -EEXIST (key running there), -ENOMEM. */
int sim_cpu_start(sim_cpu_t *c, ukf_ns_t now, uint32_t host, uint64_t key,
		  ukf_ns_t work_ns, const struct sim_ev *done);
/* Job `key` on host leaves unfinished (its VM destroyed); its done event
 * is never pushed. 1 if it was running, 0 if not, -ENOMEM. */
int sim_cpu_cancel(sim_cpu_t *c, ukf_ns_t now, uint32_t host, uint64_t key);
/* Handle SIM_EV_CPU popped at now: push the done events of the jobs that
 * finished. 0 or -ENOMEM. */
int sim_cpu_event(sim_cpu_t *c, ukf_ns_t now, const struct sim_ev *ev);
/* A hint: start loading what sim_cpu_event(ev) reads first. */
void sim_cpu_prefetch(const sim_cpu_t *c, const struct sim_ev *ev);
/* Jobs running on host now (tests, samples). */
uint32_t sim_cpu_running(const sim_cpu_t *c, uint32_t host);

/* ------------------------------------------------------------------ */
/* The simulated backend (struct ukf_backend_ops "sim"). */
struct sim_world;
typedef struct sim_be sim_be_t;

extern const struct ukf_backend_ops sim_backend_ops;
sim_be_t *sim_be_create(struct sim_world *w);
void sim_be_destroy(sim_be_t **b);
/* Handle SIM_EV_INST / SIM_EV_TEMPLATE. */
void sim_be_event(sim_be_t *b, const struct sim_ev *ev);
/* A hint: start loading what sim_be_event(ev) reads first. */
void sim_be_prefetch(const sim_be_t *b, const struct sim_ev *ev);
/* Instances the backend holds (tests). */
size_t sim_be_instances(const sim_be_t *b);
/* The node instance `id` runs on, or UKF_NODE_NONE if the backend has no
 * such VM (not started yet, or gone). After a link cut one id can run on
 * two nodes (the copy behind the cut, the one its origin placed again):
 * then either. */
ukf_node_id_t sim_be_node_of(const sim_be_t *b, ukf_id_t id);
/* Bytes counted against host `node`: its instances' private pages (a cold
 * boot's whole memory, a clone's pages dirtied since its template) and its
 * templates (model key host_mem_bytes); 0 for a bad node. */
uint64_t sim_be_mem_used(const sim_be_t *b, ukf_node_id_t node);
/* With msg_idle_curve: what a message sent now from `from` to `to` pays
 * for the receiver's idle spell (ns; 0 without the key), both nodes'
 * agents awake from now; -1 out of memory (the run fails). delta
 * non-NULL (a remote fork's delta): delta_idle_curve at that spell into
 * *delta (0 without the key). */
double sim_be_msg_wake(sim_be_t *b, ukf_node_id_t from, ukf_node_id_t to,
		       double *delta);

/* ------------------------------------------------------------------ */
/* The world, shared by world.c and backend.c. */
struct sim_world {
	struct ukf_sim_config cfg;
	/* msg_idle_curve or delta_idle_curve given (env_send's test) */
	int idle_msgs;
	struct ukf_world_sinks sinks;
	void (*sample)(void *u, const struct ukf_world_sample *s);
	struct ukf_env_ops env_ops;
	struct ukf_env env;
	struct ukf_backend be;
	ukf_engine_t **engines; /* one per node */
	ukf_apps_t *apps;       /* shared by the engines */
	ukf_id_t next_id;       /* run-wide instance ids */
	/* Workload requests (world spawn/fork calls) so far; while one is
	 * being made, req_open is its number and the first id the engine
	 * asks for is the request's: idents maps it to the request's
	 * identity until the backend starts it (sim_world_ident_take). */
	uint64_t requests, req_open;
	sim_map_t idents;
	int started;
	sim_queue_t *q;
	sim_rng_t *rng;
	sim_net_t *net;
	sim_be_t *sbe;
	sim_cpu_t *cpu;         /* NULL unless cfg.cores > 0 */
	struct ukf_dir *dir;
	ukf_ns_t now;
	uint64_t events;
	int failed;          /* an internal allocation failed */
	char fail_msg[128];
	struct sim_outage *out; /* node and link failures (world.c); NULL
				   until the first one */
	void *dir_free; /* spent directory record buffers (world.c) */
};

/* The engine of node `node`, or NULL. */
ukf_engine_t *sim_world_engine(struct sim_world *w, ukf_node_id_t node);
/* Node's incarnation: 0, one more at each of its failures (a failed
 * node comes back as a restarted agent: nothing of its old monitor). */
uint32_t sim_world_incarnation(const struct sim_world *w, ukf_node_id_t node);
/* Schedule an event at max(t, now); sets w->failed on ENOMEM. */
int sim_world_push(struct sim_world *w, ukf_ns_t t, const struct sim_ev *ev);
/* Lognormal jitter (mean-preserving) of a cost with the model's sigma,
 * from stream UKF_RNG_KEY(UKF_RNG_BACKEND, node). */
ukf_ns_t sim_world_jitter(struct sim_world *w, ukf_node_id_t node,
			  enum ukf_sim_op mop, double cost_ns);
/* The same jitter drawn from position `index` of stream
 * UKF_RNG_KEY(SIM_RNG_COST, op) (sim_rng_gaussian_at): the draw of one
 * operation of one instance identity, whatever ran before it. */
ukf_ns_t sim_world_jitter_at(struct sim_world *w, uint32_t op,
			     enum ukf_sim_op mop, uint64_t index,
			     double cost_ns);
/* The identity of workload request `id` (taken: a second call gives 0),
 * or 0 if `id` was not made by a workload request (sim_world.idents). */
uint64_t sim_world_ident_take(struct sim_world *w, ukf_id_t id);

/* Transparent huge pages for the heap of a world of `nodes` nodes
 * (huge.c): set up once, from the first world of at least 4096 nodes;
 * sim_huge_heap advises what the heap has grown by since (cheap when it
 * has not). Speed only. */
void sim_huge_setup(uint32_t nodes);
void sim_huge_heap(void);

#endif /* UKF_SIM_INT_H */
