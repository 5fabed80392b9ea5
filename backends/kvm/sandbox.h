/* SPDX-License-Identifier: MIT */
/* sandbox.h - the vCPU threads' seccomp filter and what they drop before running guest code. */
#ifndef UKVM_SANDBOX_H
#define UKVM_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

/* Exit status of the process when a filtered vCPU thread made a forbidden
 * system call (128 + SIGSYS, as if SIGSYS had killed it). */
#define UKVM_SANDBOX_EXIT 159

/*
 * Once per process (later calls return the first result): decide whether
 * the filter is on (build option UKF_KVM_SECCOMP, default ON; environment
 * UKVM_SECCOMP=0 turns it off, =1 on), compile the allow-list into a BPF
 * program kept for every vCPU thread, and install the SIGSYS handler that
 * reports a forbidden call. 0, or -1 with a reason in err (libseccomp or
 * sigaction failed: the monitor is not created).
 */
int ukvm_sandbox_init(char *err, size_t errlen);

/* 1 if vCPU threads are filtered (after ukvm_sandbox_init). */
int ukvm_sandbox_on(void);

/*
 * In a vCPU thread, after its VM is built and before guest code runs:
 * set no_new_privs and clear this thread's capabilities, then load the
 * filter (this thread only; the process and its other threads keep
 * theirs). inst names the instance in the SIGSYS report. Does nothing
 * when the filter is off. 0, or -1 with a reason in err (the instance
 * fails rather than run unfiltered).
 */
int ukvm_sandbox_enter(uint64_t inst, char *err, size_t errlen);

#endif /* UKVM_SANDBOX_H */
