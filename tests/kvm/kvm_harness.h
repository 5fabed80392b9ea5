/* SPDX-License-Identifier: MIT */
/* kvm_harness.h - event collector shared by the monitor's tests and benchmark. */
#ifndef KVM_HARNESS_H
#define KVM_HARNESS_H

#include <pthread.h>
#include <stdint.h>

#include "backends/kvm/ukvm.h"

/* What one instance did, as seen through the monitor's events. */
struct kh_inst {
	ukf_id_t id;
	int started, ready, exited, failed, calls;
	int64_t status;
	enum ukf_call last_call;
	ukf_ns_t last_deadline;
	ukf_id_t last_arg;
	char reason[512];
	char out[4096];     /* console lines joined with '\n' */
	size_t out_len;
	ukf_ns_t t_started, t_ready, t_marker, t_end;
	char marker[32];    /* console line that sets t_marker */
};

struct kh {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct kh_inst *inst; /* indexed by id (1..n) */
	unsigned n;
	ukvm_t *m;
};

/* Create a collector for ids 1..n and a monitor using it; NULL + message
 * (or a SKIP reason when /dev/kvm is missing: *skip set). */
struct kh *kh_create(unsigned n, int pause_on_ready, ukf_ns_t run_limit,
		     uint32_t max_vms, uint64_t max_mem, uint32_t shell_pool,
		     char *err, size_t errlen);
void kh_destroy(struct kh **k);
/* Boot image as instance id with mem and args; returns the op's result. */
int kh_boot(struct kh *k, ukf_id_t id, const char *image, uint64_t mem,
	    const char *args);
/* Wait (up to 60 s, a hang guard, not a timing check) until pred holds;
 * 0 if it did, -1 if not. */
enum kh_until { KH_ENDED, KH_READY, KH_CALL, KH_MARKER, KH_STARTED };
int kh_wait(struct kh *k, ukf_id_t id, enum kh_until until);
/* A snapshot copy of an instance's record. */
struct kh_inst kh_get(struct kh *k, ukf_id_t id);

#endif /* KVM_HARNESS_H */
