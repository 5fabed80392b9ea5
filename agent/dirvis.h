/* SPDX-License-Identifier: MIT */
/* dirvis.h - the cluster directory's update-to-visibility time, both ends in
 * one process on one clock: what bench_dir reports and `ukfork calibrate
 * --directory` fits (dir_delay_ns, dir_delay_p99_ns). */
#ifndef UKF_DIRVIS_H
#define UKF_DIRVIS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Two members of the directory, node 0 and node 1, in this process. Node 0
 * changes its record (a new version) and the time runs until node 1's copy
 * of the directory (core/dir.h) holds that version; then the next update,
 * one at a time. Embedded (etcd NULL or ""): the agents' own update message
 * (agent/dmsg.h, type 96) from one transport to the other over loopback
 * TCP (ZeroMQ, CURVE), node 1 waiting in its poll as an agent does. etcd:
 * two members of the directory on etcd (agent/dir_etcd.h) under a fresh
 * key prefix: node 0's lease-guarded write, node 1's watch and replica.
 */
struct ukf_dirvis_config {
	const char *etcd;   /* NULL or "": embedded; else etcd endpoints
			       (comma-separated http://host:port) */
	const char *prefix; /* etcd: key prefix (NULL: /ukfork-dirvis/PID),
			       deleted before and after */
	uint32_t samples;   /* updates timed, >= 1 */
	uint32_t warmup;    /* updates before them, not timed */
	int64_t timeout_ns; /* an update not seen in this long fails the
			       measurement (0: 10 s) */
};

/*
 * Time c->samples updates into ns[0..samples) (nanoseconds). Returns 0, or
 * -1 with a sentence in err (etcd unreachable, naming the endpoints; an
 * update not seen in time; out of memory). Nothing is left running.
 */
int ukf_dirvis_measure(const struct ukf_dirvis_config *c, double *ns,
		       char *err, size_t errlen);

#endif /* UKF_DIRVIS_H */
