/* SPDX-License-Identifier: MIT */
/* bb_int.h - bootbench internals shared by the external and KVM runners. */
#ifndef UKF_BB_INT_H
#define UKF_BB_INT_H

#include <regex.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/backend.h"
#include "../core/ukf.h"

#define BB_LAST_MAX 512  /* bytes of last output kept per instance */
#define BB_LINE_MAX 4096 /* longest line matched against the marker */

struct bb_opts {
	uint32_t count, parallel;
	const char *marker;
	regex_t re;
	const char *fail_marker; /* --fail: output that means failure at once */
	regex_t fail_re;
	int have_fail;
	const char *db;
	int json, keep_running, from_template, quiet;
	ukf_ns_t grace_ns, timeout_ns;
	ukf_ns_t gap_ns;             /* --gap: idle after an end before a launch */
	uint64_t mem_bytes;          /* --mem: guest memory (in-process) */
	int mem_set;                 /* --mem was given */
	uint32_t pool;               /* --pool: VM shells made before timing */
	const char *cmd;             /* --cmd */
	const char *guest;           /* --guest IMAGE */
	const char *backend;         /* --backend NAME (default "kvm") */
	char guest_args[UKF_APP_ARGS_MAX]; /* the words after IMAGE */
};

struct bb_inst {
	uint32_t index;
	ukf_ns_t t_launch, t_first, t_marker, t_exit; /* since bench start, -1 */
	int64_t status; /* exit status; -1 killed or failed */
	int ok, done;
	int bad;        /* the --fail regex matched: stop it, it failed */
	double cpu_s;   /* -1 unknown */
	uint64_t rss;   /* peak RSS bytes, 0 unknown */
	char why[128];  /* failure reason ("timeout", a monitor reason, ...) */
	char last[BB_LAST_MAX]; /* last output (tail) */
	size_t last_len;
	char line[BB_LINE_MAX]; /* current partial line */
	size_t line_len;
	/* runner state */
	int pid, fd, eof, reaped, killed;
	ukf_ns_t t_kill_at; /* when to stop it (after marker + grace) */
	uint64_t vm_id;
};

/* What KVM this machine has, to label every figure with (bb_kvm.c asks the
 * monitor's own detection, backends/kvm/host.h; bb_nokvm.c knows only the
 * test VM's marker). */
struct bb_platform {
	char kvm[160]; /* "hardware (VMX)", "nested kvm_pvm", "none: why", ... */
	int emulated;  /* 1: KVM nested under QEMU TCG (scripts/kvm-vm) */
	int usable;    /* ukfork's KVM backend can run here */
	int xen_emulated; /* 1: in the PV dom0 of scripts/xen-testbed (Xen
			   * under QEMU TCG, UKF_IN_XEN_TESTBED set) */
};

/* Fill *p; never fails. */
void bb_platform(struct bb_platform *p);

/* 1 when figures taken here are emulated: KVM nested under QEMU TCG
 * (scripts/kvm-vm) or a Xen dom0 under QEMU TCG (scripts/xen-testbed). */
int bb_emulated(const struct bb_platform *p);

struct bb_result {
	const char *mode;   /* "cold", "template", "external" */
	const char *backend;/* "kvm", "external" */
	ukf_ns_t t_end;     /* bench wall time at the end */
	char measures[256]; /* what cpu_s / rss mean for this runner */
	struct bb_platform plat; /* where the figures were taken */
};

/* Monotonic clock in ns. */
ukf_ns_t bb_now(void);

/* Feed output bytes of instance `in` seen at time t (since bench start);
 * updates first output, last output and the marker time. */
void bb_feed(const struct bb_opts *o, struct bb_inst *in, const char *buf,
	     size_t len, ukf_ns_t t);
/* Flush a partial last line (at EOF) through the marker check. */
void bb_feed_end(const struct bb_opts *o, struct bb_inst *in, ukf_ns_t t);

/* Runners: fill insts[0..count-1]; 0, or -1 with a message in err. */
int bb_run_external(const struct bb_opts *o, struct bb_inst *insts,
		    struct bb_result *res, char *err, size_t errlen);
int bb_run_kvm(const struct bb_opts *o, struct bb_inst *insts,
	       struct bb_result *res, char *err, size_t errlen);
/* --guest with --backend NAME other than kvm: that backend of the
 * registry (backends/registry.h), created in this process. */
int bb_run_backend(const struct bb_opts *o, struct bb_inst *insts,
		   struct bb_result *res, char *err, size_t errlen);

/* A backend driven by bb_be.c's loop: its ops and state, and the queue
 * its events reach the bench thread through (bb_be_event is its sink). */
struct ukf_evq;
struct bb_be {
	const struct ukf_backend_ops *ops;
	void *b;
	struct ukf_evq *q;
};
void bb_be_event(void *u, ukf_node_id_t node, const struct ukf_be_event *ev);
/* The app o->guest names, with its arguments and memory. 0, or -1 (err). */
int bb_be_app(const struct bb_opts *o, struct ukf_app *app, char *err,
	      size_t errlen);
/* --from-template's untimed part: boot app, template it at ready, drop the
 * original. 0, or -1 with the reason in err. */
int bb_be_template(const struct bb_opts *o, struct bb_be *k,
		   const struct ukf_app *app, char *err, size_t errlen);
/* Boot (or clone) o->count instances, o->parallel at a time, each timed
 * from launch to the marker on its console; fills insts (CPU and memory
 * per instance: this process's) and res->t_end; the caller says what
 * those measure (res->measures). 0. */
int bb_be_loop(const struct bb_opts *o, struct bb_inst *insts,
	       struct bb_result *res, struct bb_be *k,
	       const struct ukf_app *app);

#endif /* UKF_BB_INT_H */
