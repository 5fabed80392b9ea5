/* SPDX-License-Identifier: MIT */
/* engine.h - the ukfork engine: node agents, the fork protocol, policies. */
#ifndef UKF_ENGINE_H
#define UKF_ENGINE_H

#include "apps.h"
#include "backend.h"
#include "env.h"
#include "ukf.h"

/*
 * One engine is one node's agent: it holds that node's instances, the
 * requests that node originated and its template cache, and knows the
 * other nodes only through wire messages (env->send) and its view of the
 * directory (env->directory/publish). A simulated world runs one engine
 * per simulated node, joined by the simulated network; a node agent
 * (ukforkd) runs one, joined to its peers by ZeroMQ. The engine is a pure
 * state machine: it reacts to ukf_engine_on_*() and to workload requests,
 * and acts through env and the backend. Single-threaded: all calls from
 * the world's event loop.
 */
typedef struct ukf_engine ukf_engine_t;

struct ukf_node_config {
	uint32_t vcpus;     /* capacity: vCPUs (default 8) */
	uint64_t mem_bytes; /* capacity: memory for instances (default 16G) */
	uint64_t cache_bytes; /* template cache budget (default 4G) */
};

/* Where a node gets a template it lacks. */
enum ukf_fetch {
	UKF_FETCH_PEER = 0, /* fetch from a node whose directory record has it */
	UKF_FETCH_COLD = 1  /* boot cold locally, template at its ready() */
};

struct ukf_engine_config {
	uint32_t nodes;         /* nodes in the cluster (ids 0..nodes-1) */
	ukf_node_id_t self;     /* this engine's node (default 0) */
	struct ukf_node_config node;           /* this node's capacity ... */
	const struct ukf_node_config *per_node;/* ... or per_node[self] (an
						  array of `nodes`) */
	const char *placement;  /* registry name, default "least-loaded" */
	const char *templates;  /* registry name, default "on-demand" */
	enum ukf_fetch fetch;   /* default UKF_FETCH_PEER */
	uint32_t prewarm_k;     /* "prewarm": top-K apps (default 2) */
	uint32_t max_children;  /* per instance (default 64) */
	uint32_t max_queue;     /* messages queued per instance (default 256) */
	ukf_ns_t retry_ns;      /* back-off when no node has capacity (10ms) */
	uint32_t max_retries;   /* then the request fails (default 100) */
	/*
	 * Appended: how long an origin waits for a target's answer (READY,
	 * NACK or FAIL) to a SPAWN or CLONE it sent; then the request fails
	 * ("no answer from node N within T") and a KILL goes to the target
	 * so a late instance does not live. 0 = no limit (the simulated
	 * network never loses a message); node agents use 60 s.
	 */
	ukf_ns_t answer_timeout_ns;
	/*
	 * Appended (issue 11): how a new instance's memory is admitted on
	 * its node (docs/scenarios.md, policy admission). UKF_ADMIT_FULL (0,
	 * the default): the app's whole mem, whatever the start. UKF_ADMIT_COW:
	 * copy-on-write, as a KVM host shares pages: a template clone is
	 * charged the pages it will dirty (the app's dirty x units), a live
	 * fork child the parent's dirtied pages it copies plus one unit's,
	 * a remote fork child its delta plus one unit's (each at most mem),
	 * and the node's ready templates count once each (their bytes);
	 * cold boots and template boots are charged the whole mem.
	 */
	int mem_admission;
};
enum { UKF_ADMIT_FULL = 0, UKF_ADMIT_COW = 1 };
/* Fill *c with the defaults above (nodes = 1). */
void ukf_engine_config_default(struct ukf_engine_config *c);

/* One finished instance, as written to the results database. */
struct ukf_record {
	ukf_id_t id;
	ukf_id_t parent;        /* 0: requested by the workload */
	uint32_t app;
	const char *app_name;
	ukf_node_id_t origin;   /* node that handled the request */
	ukf_node_id_t node;     /* node it ran on */
	enum ukf_start start;   /* cold / template / fork */
	int remote;             /* 1 if node != origin */
	int template_fetched;   /* 1 if a template was fetched for it */
	int template_made;      /* 1 if a template was taken at its ready() */
	uint64_t delta_bytes;   /* remote fork: bytes shipped */
	uint64_t dirty_pages;   /* pages dirtied since its template at exit */
	ukf_ns_t t_request;     /* request made */
	ukf_ns_t t_placed;      /* placement decided (target chosen) */
	ukf_ns_t t_start;       /* backend operation started on the target */
	ukf_ns_t t_ready;       /* ready (request-to-ready = t_ready - t_request) */
	ukf_ns_t t_exit;        /* exited or failed; UKF_NS_NEVER if still alive */
	int64_t status;         /* exit status; UKF_STATUS_FAILED if failed */
	const char *fail_reason;/* NULL unless failed */
	/* Appended. 1: not a requested instance but the engine's own boot
	 * of an app to make its template (on demand for a remote fork, after
	 * a failed fetch, or prewarm): no request (t_request and t_placed
	 * UKF_NS_NEVER), start cold; t_ready is its ready(), t_exit when it
	 * ended: status 0 once the template was made, UKF_STATUS_FAILED with
	 * fail_reason if it never was, UKF_STATUS_RUNNING at the run's end. */
	int template_boot;
	/* Appended. 1: written at the run's end by the origin of a request
	 * it had sent to `node` without hearing back (no READY yet, or its
	 * EXIT still in flight): placed, status UKF_STATUS_RUNNING (still
	 * starting as far as the origin knows). A row of the same id from
	 * its host, written before, stands instead. */
	int unanswered;
};
#define UKF_STATUS_FAILED (-1000)
#define UKF_STATUS_RUNNING (-1001)

/*
 * Workload hooks: how the engine tells the requester (a Lua process, an
 * arrival process, a CLI command) what happened to instances it asked for.
 * `tag` is the value given with the request. Any hook may be NULL.
 */
struct ukf_engine_hooks {
	void (*on_ready)(void *u, ukf_id_t id, uint64_t tag);
	void (*on_exit)(void *u, ukf_id_t id, uint64_t tag, int64_t status);
	void (*on_fail)(void *u, ukf_id_t id, uint64_t tag, const char *why);
	void (*on_console)(void *u, ukf_id_t id, const char *line, size_t len);
	void *u;
};

/*
 * Create the engine of node cfg->self. Copies cfg; keeps apps, env, be and
 * hooks (the caller keeps them alive until destroy; apps are registered
 * before ukf_engine_start and not changed after). Returns NULL with a
 * message in err (unknown policy name, zero nodes, self out of range, ...).
 */
ukf_engine_t *ukf_engine_create(const struct ukf_engine_config *cfg,
				const ukf_apps_t *apps,
				const struct ukf_env *env,
				const struct ukf_backend *be,
				const struct ukf_engine_hooks *hooks, char *err,
				size_t errlen);
/* Destroy instances still alive (their rows recorded), free, NULL *e. */
void ukf_engine_destroy(ukf_engine_t **e);

/*
 * The end of a run over several engines, in one run-wide order: the ids of
 * what engine e still holds - instances alive on its node and requests it
 * originated that no instance of its own stands for - (at most cap written
 * to ids; returns how many there are), and ukf_engine_end() to end one
 * now: an instance gets its row (status UKF_STATUS_RUNNING) and its VM is
 * destroyed, a request gets its row ("not placed before the end"). A
 * request whose instance lives on another node should not be ended: the
 * instance's row stands for it (ukf_engine_has tells which is which).
 * ukf_engine_destroy ends whatever is left in id order.
 */
size_t ukf_engine_leftovers(const ukf_engine_t *e, ukf_id_t *ids, size_t cap);
void ukf_engine_end(ukf_engine_t *e, ukf_id_t id);
/* The end of a request whose instance another node hosts and has ended
 * (its row stands for the request): freed without a row. Ending an
 * instance drops its own node's request of that id the same way. */
void ukf_engine_drop_request(ukf_engine_t *e, ukf_id_t id);

/* Start: publish the node's directory record. -EINVAL if started. */
int ukf_engine_start(ukf_engine_t *e);
/*
 * Prewarm the node's top-K apps if the template policy says so; a world
 * calls it on every engine once all of them have started (their records
 * published), so prewarm fetches see the whole cluster.
 */
int ukf_engine_prewarm(ukf_engine_t *e);

/*
 * Workload requests, handled by node `origin`'s agent (placement runs
 * there): the world hands each to the right engine.
 * spawn: a new instance of `app` (template clone or cold boot); origin
 *   must be this engine's node.
 * fork: a live fork of running instance `parent`, hosted on this node
 *   (external trigger).
 * kill: stop an instance of this node, or a request this node originated
 *   (recorded as failed "killed").
 * Return 0 with *id set, or -errno (-EINVAL bad app/node, -ESRCH not here).
 */
int ukf_engine_spawn(ukf_engine_t *e, ukf_node_id_t origin, uint32_t app,
		     const char *args, uint64_t tag, ukf_id_t *id);
int ukf_engine_fork(ukf_engine_t *e, ukf_id_t parent, uint64_t tag,
		    ukf_id_t *id);
int ukf_engine_kill(ukf_engine_t *e, ukf_id_t id);

/* World callbacks (see env.h and backend.h). */
void ukf_engine_on_timer(ukf_engine_t *e, ukf_node_id_t node, uint64_t cookie);
/* A message from node `from` to this engine's node: its type, body (wire
 * v2, core/wire.h) and the bulk bytes that travelled beside it (NULL/0 if
 * none). The engine copies what it keeps; a bad message is logged and
 * dropped. */
void ukf_engine_on_message(ukf_engine_t *e, ukf_node_id_t to,
			   ukf_node_id_t from, uint16_t type, const void *body,
			   size_t len, const void *bulk, size_t bulk_len);
void ukf_engine_on_backend(ukf_engine_t *e, ukf_node_id_t node,
			   const struct ukf_be_event *ev);
/*
 * A hint, no effect on results: the engine is about to get a callback, so
 * start loading the lines every callback reads. A world that knows its
 * next event calls it one event ahead (e may be NULL: nothing).
 */
void ukf_engine_prefetch(const ukf_engine_t *e);

/* A node's state for periodic samples and reports. */
struct ukf_node_stats {
	uint32_t instances;      /* alive on the node */
	uint32_t vcpus_used, vcpus;
	uint64_t mem_used, mem;
	uint32_t templates;      /* templates cached */
	uint64_t cache_used, cache;
	uint64_t requests, cold, template_clones, forks, remote_in, fetches,
		evictions, rejects;
};
int ukf_engine_node_stats(const ukf_engine_t *e, ukf_node_id_t node,
			  struct ukf_node_stats *s);
/* Instances alive on this engine's node. */
uint64_t ukf_engine_alive(const ukf_engine_t *e);
/* Requests this node originated that are not running yet (placing,
 * retrying, in flight). */
uint64_t ukf_engine_pending(const ukf_engine_t *e);
/*
 * This node is lost (a simulated failure ends its engine): the requester
 * of every workload instance it knows to run elsewhere hears on_fail with
 * why, the end of that instance being reported to this node only (its
 * EXIT may be in flight). The instance runs on; its host writes its row.
 */
void ukf_engine_tell_lost(ukf_engine_t *e, const char *why);
/*
 * Peer node failed (its engine is gone, not only cut off; before
 * ukf_engine_peer_down): fork children of its instances that wait here
 * for a template, never started, end as failed "node N lost: WHY" with
 * their row (their origin wrote none, and their delta's template version
 * may be held by that node only).
 */
void ukf_engine_peer_failed(ukf_engine_t *e, ukf_node_id_t peer,
			    const char *why);
/*
 * A peer node is gone: its agent was lost (heartbeats stopped) or came
 * back as a new incarnation, so everything it held is gone. What this node
 * had in flight with it is settled: requests sent there are placed again
 * (retries as with a NACK); template fetches from it fall back to making
 * the template here; children of local instances that ran there end as
 * failed (the parent's wait() sees UKF_STATUS_FAILED) and workload
 * instances that ran there get a row and on_fail, both with reason
 * "node N lost: WHY". The world also drops the peer from its directory
 * view. Nothing happens for peer == this node.
 */
void ukf_engine_peer_down(ukf_engine_t *e, ukf_node_id_t peer,
			  const char *why);

/* This engine's node id. */
ukf_node_id_t ukf_engine_node(const ukf_engine_t *e);
/* 1 if this node hosts instance `id`, 3 if `id` is a VM it boots only to
 * make a template, 2 if it holds `id` only as a request it originated (not
 * placed, or in flight), 0 if none of these. */
int ukf_engine_has(const ukf_engine_t *e, ukf_id_t id);
/* The node that asked for instance `id` hosted here (its origin), or
 * UKF_NODE_NONE if this node hosts no such instance. */
ukf_node_id_t ukf_engine_origin(const ukf_engine_t *e, ukf_id_t id);
/* Human-readable template list of a node, e.g. "web,db" (into buf). */
size_t ukf_engine_node_templates(const ukf_engine_t *e, ukf_node_id_t node,
				 char *buf, size_t cap);

/*
 * Fault injection for tests (appended by core/): from now on, before each
 * allocation the engine makes, fail(u) is called and a nonzero answer makes
 * that allocation fail as if memory were exhausted. NULL removes the hook.
 * The engine must degrade (refuse a request, fail an instance, drop a
 * message with a log line), never crash.
 */
void ukf_engine_set_alloc_hook(ukf_engine_t *e, int (*fail)(void *u), void *u);

/*
 * --- appended by core/ (H1): behaviour the worlds and tests rely on ---
 *
 * Ids: from env->new_id(node) when the world gives it (the simulated world:
 * one counter per run, from 1, shared by instances and the internal
 * template-boot VMs, in request order, deterministic); otherwise the
 * engine's own (node << 32) | n, n counting from 1.
 *
 * Times: every ukf_be_event deadline is absolute world time (what
 * env->now returns); 0 means none. A deadline already past answers at once
 * (WAIT/RECV -UKF_ETIMEDOUT, BLOCK 0). Record times that never happened
 * are UKF_NS_NEVER (t_placed/t_start/t_ready of a request never placed,
 * t_ready of an instance that never got ready, t_exit of the living).
 *
 * Capacity: the target re-checks vCPUs and memory against its own true
 * use before accepting (never the directory); no room -> NACK, and the
 * origin re-places after retry_ns << min(attempt-1, 6). A policy that
 * finds no node in a stale or empty view places on the origin itself if
 * it truly has room. An instance paused in a call (fork, spawn, wait,
 * recv, block) runs no vCPU: its vCPUs return to the node until it is
 * answered, and it resumes only when one is free again (FIFO, before any
 * new instance); memory stays reserved for its lifetime. After max_retries
 * attempts the request fails ("no capacity after N attempts"): a workload
 * request gets on_fail and a row with node UKF_NODE_NONE; a guest fork or
 * spawn returns -UKF_EAGAIN. Template VMs booted only to make a template
 * (remote fork with no template anywhere, prewarm) are charged to the
 * template cache, not to instance capacity.
 *
 * Guest calls: FORK/SPAWN -UKF_EAGAIN at max_children unreaped children;
 * SPAWN -UKF_ENOENT for an unknown app; WAIT -UKF_ECHILD for an unknown or
 * already reaped child (id 0: the earliest exited child, -UKF_ECHILD with
 * none at all); SEND -UKF_EMSGSIZE over UKF_MSG_MAX, -UKF_ESRCH if the
 * destination is not on this node, the sender's parent or a running child
 * of the sender, -UKF_EAGAIN if a local destination's queue holds max_queue
 * messages (a remote full queue drops the message with a log line); SEND
 * to another node completes at once (no delivery report). Unknown call:
 * -UKF_ENOSYS. A failed child's status, as WAIT reports it, is
 * UKF_STATUS_FAILED.
 *
 * Templates: "none" never takes or uses templates for spawns; "on-demand"
 * takes one at the first ready() of an app on a node, unless a peer holds
 * one and fetch is UKF_FETCH_PEER (then it is fetched: TFETCH, TDATA with
 * bulk_bytes = template size, load_template). Spawns meanwhile wait for
 * it, except that a maker that has not reached ready() 2 x init + 10ms
 * after its start (a guest need not ever call it) no longer holds them:
 * they boot cold ("template-slow"). "prewarm" keeps each node's
 * top-K apps (by requests that node served; apps 0..K-1 at start) pinned
 * and cold-boots everything else. A remote fork always needs the app's
 * template on the target, whatever the policy. Ready templates are evicted
 * least recently used first to stay within cache_bytes and
 * UKF_DIR_MAX_TEMPLATES; pinned ones never.
 *
 * kill / fork: ukf_engine_kill and ukf_engine_fork act on instances this
 * engine hosts (-ESRCH otherwise); kill of a request not yet placed fails
 * it ("killed").
 *
 * Event log (env->log), one event per line, formats stable:
 *   request ID app=A origin=O parent=P kind=spawn|fork
 *   place ID app=A origin=O -> node=T attempt=K   | noplace ID app=A attempt=K
 *   retry ID attempt=K in=NSns                    | nack ID app=A node=T
 *   spawn ID app=A origin=O -> node=T via=cold|cold+template|template|
 *         fetched-template|wait-template
 *   fork ID parent=P app=A origin=O -> node=T via=live|delta|wait-template
 *   ready ID node=T (at the origin)  | reap P child=C status=S | limit P children=N
 *   exit ID node=T status=S          | fail ID node=T|none reason=...
 *   template-make|template-boot|template-fetch|template-ready|template-evict|
 *   template-drop|template-replace|template-refuse|template-stale|prewarm
 *   app=A node=T ...
 *   drop ... (bad message or event, ignored) | orphan-exit ID parent=P
 */

/*
 * A template of `app` that the node's backend already holds (installed
 * outside the engine, e.g. loaded from disk at start): the node's cache
 * adopts it as ready, LRU room made within the cache budget, and the
 * directory learns of it. 0, or -EINVAL (bad node/app), -EEXIST (the node
 * has or is making one), -ENOSPC (larger than the cache budget), -ENOMEM.
 * On failure the caller still owns the backend's copy (drop it).
 */
int ukf_engine_template_loaded(ukf_engine_t *e, ukf_node_id_t node,
			       uint32_t app, uint64_t bytes);

/*
 * The same with the template's version (docs/directory.md, "Template
 * versions"): nodes that loaded the same bytes hold one template, so a
 * version derived from the bytes (non-zero) lets forks between them skip
 * a template fetch; 0 gives the node a version of its own (as
 * ukf_engine_template_loaded does), which is always safe.
 */
int ukf_engine_template_loaded_version(ukf_engine_t *e, ukf_node_id_t node,
				       uint32_t app, uint64_t bytes,
				       uint64_t tver);

#endif /* UKF_ENGINE_H */
