/* SPDX-License-Identifier: MIT */
/* dir_etcd.h - a node agent's cluster directory on etcd: its own record
 * written under a lease, the other nodes' read through a watch into a
 * local replica. */
#ifndef UKF_DIR_ETCD_H
#define UKF_DIR_ETCD_H

#include <stddef.h>
#include <stdint.h>

#include "agent/etcd.h"

/*
 * Keys (values are JSON, readable with `etcdctl get --prefix PREFIX`):
 *   PREFIX/nodes/K          node K: incarnation, run, resources, load,
 *                           template app ids, the record's version
 *   PREFIX/templates/K/APP  node K holds a template of app id APP (run)
 * All of node K's keys hang on the lease its agent keeps alive: when the
 * agent dies, etcd deletes them after the lease's TTL and every other
 * agent's watch sees node K go. Node K's key is written in a transaction
 * that compares its mod revision with the one this agent wrote last, so a
 * stale writer (an older incarnation of node K) cannot overwrite a newer
 * agent's record.
 *
 * Two threads do the talking (a writer: lease keep-alive and writes, with
 * back-off while etcd is unreachable; a watcher: a fresh read, then a
 * watch from that revision, again after any break), so the agent's own
 * thread never waits for etcd. What they learn reaches the agent as events
 * (ukf_dir_etcd_next), announced on a pollable fd.
 */
typedef struct ukf_dir_etcd ukf_dir_etcd_t;

struct ukf_dir_etcd_config {
	struct ukf_etcd_config etcd;
	const char *prefix; /* no trailing slash */
	uint32_t self, nodes;
	uint64_t incarnation;
	int64_t lease_ttl_s; /* >= 1 */
	uint32_t vcpus;	     /* the node's, for its key outside runs */
	uint64_t memory;
};

enum ukf_dir_etcd_ev {
	UKF_DE_RECORD = 1, /* a node's record (rec: core/dir.h encoding) */
	UKF_DE_GONE,	   /* a node left the directory */
	UKF_DE_LOG,	   /* a line for the agent's log (level, why) */
};

struct ukf_dir_etcd_event {
	enum ukf_dir_etcd_ev kind;
	uint32_t node;
	int level; /* UKF_DE_LOG: 3 error, 4 warning, 6 info, 7 debug */
	uint64_t run, incarnation;
	int64_t written_ns; /* CLOCK_REALTIME when its writer wrote it */
	int64_t revision;   /* etcd's mod revision of the key */
	size_t len;
	unsigned char rec[512];
	char why[256];
};

/*
 * Connect, take a lease, write this node's key (refused if a newer
 * incarnation of the node holds it), start the threads. NULL and a
 * sentence in err if etcd cannot be reached or refuses.
 */
ukf_dir_etcd_t *ukf_dir_etcd_start(const struct ukf_dir_etcd_config *c,
				   char *err, size_t errlen);
/* Stop the threads; revoke: drop the lease (the node leaves at once). */
void ukf_dir_etcd_stop(ukf_dir_etcd_t **d, int revoke);

/* Readable (POLLIN) when events wait. */
int ukf_dir_etcd_fd(const ukf_dir_etcd_t *d);
/* The next event (1), or 0 if none. Keeps the replica up to date. */
int ukf_dir_etcd_next(ukf_dir_etcd_t *d, struct ukf_dir_etcd_event *ev);

/* This node's record changed (run, core/dir.h encoding): write it. */
int ukf_dir_etcd_publish(ukf_dir_etcd_t *d, uint64_t run, const void *rec,
			 size_t len);

/* The replica's record of `node` if it is of `run`: its length, else 0. */
size_t ukf_dir_etcd_replica(const ukf_dir_etcd_t *d, uint32_t node,
			    uint64_t run, void *buf, size_t cap);
/* Nodes the replica holds (this one included once written). */
uint32_t ukf_dir_etcd_known(const ukf_dir_etcd_t *d);

/* One line: endpoint, revision, nodes known, and ok / degraded (why,
 * since when) / stale. */
void ukf_dir_etcd_status(ukf_dir_etcd_t *d, char *buf, size_t cap);
/* 1 if etcd cannot be reached now (placement runs on the last replica). */
int ukf_dir_etcd_degraded(ukf_dir_etcd_t *d);

#endif /* UKF_DIR_ETCD_H */
