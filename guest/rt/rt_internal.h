/* SPDX-License-Identifier: MIT */
/* rt_internal.h - interfaces between the runtime's files (not for apps). */
#ifndef UKF_RT_INTERNAL_H
#define UKF_RT_INTERNAL_H

#include "include/ukf_abi.h"

/*
 * The PVH platform layer (pvh.c): emulate hypercall `nr` with the argument
 * struct `arg` on bare hardware (COM1 console, TSC clock, isa-debug-exit);
 * returns the call's ret (-UKF_ENOSYS for calls PVH cannot do).
 */
int64_t ukf_pvh_call(const volatile struct ukf_bootinfo *bi, unsigned nr,
		     void *arg);

/* Called from entry.S on the PVH path: build the boot info from the
 * hvm_start_info at physical address `start_info`. */
struct ukf_bootinfo *ukf_pvh_init(uint32_t start_info);

#endif /* UKF_RT_INTERNAL_H */
