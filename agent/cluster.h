/* SPDX-License-Identifier: MIT */
/* cluster.h - the cluster file: nodes, clients and cluster settings, and
 * transport configurations built from it. */
#ifndef UKF_CLUSTER_H
#define UKF_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "core/ukf.h"
#include "transport.h"

/*
 * The format (docs/protocol-transport.md, "The cluster file"):
 *
 *   [cluster]                  name, directory, heartbeat, peer_timeout,
 *                              etcd_*, bulk_chunk, bulk_window, bulk_max,
 *                              compress
 *   [node N]                   endpoint, public_key, secret_key_file,
 *                              backend, vcpus, memory, cache, netns
 *   [client NAME]              public_key, secret_key_file
 *
 * `key = value` lines, `#` comments (at the start of a line or after a
 * blank), one word per value. Node ids are 0..N-1, each once. Relative
 * paths are relative to the cluster file's directory (stored absolute).
 * Every error is "FILE:LINE: what is wrong".
 */
#define UKF_CLUSTER_NAME_MAX 64
#define UKF_CLUSTER_PATH_MAX 1024

enum ukf_cluster_directory {
	UKF_CLUSTER_DIR_EMBEDDED,
	UKF_CLUSTER_DIR_ETCD,
};

struct ukf_cluster_node {
	uint32_t id;
	char endpoint[256];
	char public_key[UKF_TP_KEY_Z85];
	char secret_key_file[UKF_CLUSTER_PATH_MAX];
	char backend[32];		  /* default "kvm" */
	uint32_t vcpus;			  /* 0: not given (the agent decides) */
	uint64_t memory, cache;		  /* bytes; 0: not given */
	char netns[UKF_CLUSTER_NAME_MAX]; /* "" if none */
	int line;			  /* of its [node N] line */
};

struct ukf_cluster_client {
	char name[UKF_CLUSTER_NAME_MAX];
	char public_key[UKF_TP_KEY_Z85];
	char secret_key_file[UKF_CLUSTER_PATH_MAX];
	int line;
};

struct ukf_cluster {
	char path[UKF_CLUSTER_PATH_MAX]; /* the file, as given */
	char name[UKF_CLUSTER_NAME_MAX];
	enum ukf_cluster_directory directory;
	char etcd_endpoints[1024]; /* comma-separated http(s) URLs */
	char etcd_prefix[256];
	char etcd_ca[UKF_CLUSTER_PATH_MAX], etcd_cert[UKF_CLUSTER_PATH_MAX],
	    etcd_key[UKF_CLUSTER_PATH_MAX];
	ukf_ns_t etcd_lease_ttl_ns; /* whole seconds, default 5 s */
	ukf_ns_t heartbeat_ns, peer_timeout_ns;	    /* default 250 ms, 3 s */
	uint64_t bulk_chunk, bulk_window, bulk_max; /* 0: transport default */
	enum ukf_tp_compress compress;
	struct ukf_cluster_node *nodes; /* nodes[i].id == i */
	size_t nnodes;
	struct ukf_cluster_client *clients;
	size_t nclients;
	/* The same, as the transport takes them (owned by the cluster). */
	struct ukf_tp_peer *tp_peers;		/* nnodes */
	char (*tp_client_keys)[UKF_TP_KEY_Z85]; /* nclients */
};

/*
 * Read and check the cluster file at path. 0 and *out (free with
 * ukf_cluster_destroy), or -1 with "FILE:LINE: what is wrong" (or
 * "FILE: why it cannot be read") in err. Secret key files are not read.
 */
int ukf_cluster_load(struct ukf_cluster **out, const char *path, char *err,
		     size_t errlen);

/* The same from text[0..len); path names it in errors and anchors its
 * relative paths (as if the text had been read from there). */
int ukf_cluster_parse(struct ukf_cluster **out, const char *text, size_t len,
		      const char *path, char *err, size_t errlen);

/* Free *c and set it to NULL (no-op on NULL). */
void ukf_cluster_destroy(struct ukf_cluster **c);

/* Node id, or client by name; NULL if there is none. */
const struct ukf_cluster_node *ukf_cluster_node(const struct ukf_cluster *c,
						uint32_t id);
const struct ukf_cluster_client *ukf_cluster_client(const struct ukf_cluster *c,
						    const char *name);

/*
 * Read the secret key of `who` ("node 3" or "client runner", as its
 * section is named) from its secret_key_file into out (Z85, NUL-ended).
 * The file must be a regular file with no permission for group or
 * others, hold one line of 40 Z85 characters, and be the secret of the
 * public_key listed. 0, or -1 with the reason in err, which names the
 * cluster file once, first, as every message of this module does
 * ("c.conf:12: secret_key_file keys/node0.key of [node 0] has mode
 * 0644: ...").
 */
int ukf_cluster_load_secret(const struct ukf_cluster *c, const char *who,
			    char out[UKF_TP_KEY_Z85], char *err, size_t errlen);

/*
 * Fill tc for `who` ("node N" or "client NAME") with incarnation inc:
 * self, bind (a node binds its endpoint), keys (reads the secret as
 * ukf_cluster_load_secret), peers (every node), client keys (a node),
 * heartbeat, timeout and bulk settings. The callbacks and u are left as
 * they were; the pointers point into c (keep c until ukf_tp_create has
 * returned). 0, or -1 with the reason in err.
 */
int ukf_cluster_tp_config(const struct ukf_cluster *c, const char *who,
			  uint64_t inc, struct ukf_tp_config *tc, char *err,
			  size_t errlen);

#endif /* UKF_CLUSTER_H */
