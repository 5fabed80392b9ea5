/* SPDX-License-Identifier: MIT */
/* rt_internal.h - interfaces between the runtime's files (not for apps). */
#ifndef UKF_RT_INTERNAL_H
#define UKF_RT_INTERNAL_H

#include <stddef.h>

#include "include/ukf_abi.h"

/*
 * A platform the runtime runs on without ukfork's own monitor (PVH on bare
 * hardware or QEMU, Xen PV): what the dispatcher (platform.c) needs from
 * it. Each image links exactly one platform file, which defines
 * ukf_plat_ops (pvh.c: port I/O; xen.c: Xen's hypercalls, rings, event
 * channels); the dispatcher does the checks every platform shares (lengths,
 * pointers inside guest memory, info's copy) before calling them.
 */
struct ukf_plat_ops {
	/* Write n bytes to the console (already checked). */
	void (*console)(const char *p, size_t n);
	/* Fill mono_ns and wall_ns (0 if unknown). */
	void (*time)(struct ukf_hc_time *t);
	/* Stop with `status`; never returns. */
	void (*exit)(int64_t status) __attribute__((noreturn));
	/* Stop after an abort (its message is on the console); never
	 * returns. */
	void (*abort)(void) __attribute__((noreturn));
	/* ready: 0 original, 1 a clone (the boot info then rewritten). */
	int64_t (*ready)(volatile struct ukf_bootinfo *bi);
	/* block until the monotonic deadline: 0, or 1 woken by a message. */
	int64_t (*block)(uint64_t deadline);
	/* Nonzero when a node serves carried calls (NULL: never). */
	int (*reach)(void);
	/*
	 * Carry call nr (fork, spawn, wait, send, recv, or one the runtime
	 * does not know) to the node, its arguments already checked against
	 * guest memory: the call's ret. Called only when reach() said yes.
	 */
	int64_t (*carry)(const volatile struct ukf_bootinfo *bi, unsigned nr,
			 void *arg);
};

/* The platform linked into this image (pvh.c or xen.c). */
extern const struct ukf_plat_ops ukf_plat_ops;

/*
 * The one dispatcher of the ABI's calls off ukfork's monitor (platform.c):
 * call `nr` with the argument struct `arg` on the linked platform; returns
 * the call's ret (also stored in arg's ret). Bad lengths give -UKF_EINVAL
 * (-UKF_EMSGSIZE for send), pointers outside guest memory -UKF_EFAULT,
 * calls the platform cannot do -UKF_ENOSYS.
 */
int64_t ukf_plat_call(const volatile struct ukf_bootinfo *bi, unsigned nr,
		      void *arg);

/* Called from entry.S on the PVH path: build the boot info from the
 * hvm_start_info at physical address `start_info`. */
struct ukf_bootinfo *ukf_pvh_init(uint32_t start_info);

#endif /* UKF_RT_INTERNAL_H */
