/* SPDX-License-Identifier: MIT */
/* ukvm.h - ukfork's KVM monitor: many unikernel VMs in one process. */
#ifndef UKVM_H
#define UKVM_H

#include "../../core/backend.h"

/*
 * A monitor hosts many VMs (no per-process globals), each vCPU on its own
 * thread. It implements the backend operations of core/backend.h; its
 * events (struct ukf_be_event) are delivered through cfg.event, called from
 * vCPU threads (or from the calling thread for synchronous failures): the
 * event and what it points to are valid only during the call, and the
 * receiver must be thread-safe (the live world queues them to its loop).
 * On a vCPU thread the sink runs under that thread's seccomp filter
 * (sandbox.h, docs/security.md): it may lock, allocate, write to an fd
 * already open and read clocks; anything else (open, sockets, ZeroMQ
 * sends, creating threads, booting VMs) stops the process with a report.
 * Queue the event and act on another thread, as live does.
 */
typedef struct ukvm ukvm_t;

struct ukvm_config {
	/* Event sink (required). `node` is always cfg.node. */
	void (*event)(void *u, ukf_node_id_t node, const struct ukf_be_event *ev);
	void *u;
	ukf_node_id_t node;
	/*
	 * If 0, ukf_ready() returns at once (0) without a UKF_BE_READY pause;
	 * the event is still reported. If 1, the guest stays paused until
	 * complete(), so a template can be taken (the engine's mode).
	 */
	int pause_on_ready;
	/* A guest running longer than this fails ("deadline"); 0 = none. */
	ukf_ns_t run_limit_ns;
	/* Limits: VMs alive, total guest memory (0 = no limit). */
	uint32_t max_vms;
	uint64_t max_mem_bytes;
	/*
	 * Appended: VM shells (KVM_CREATE_VM + vCPU) kept pre-created for
	 * cold boots by a background thread, so a boot does not pay the
	 * ~0.4 ms of creating them (LightVM's idea). 0 = none (create on
	 * demand). Each pooled shell holds 3 fds and ~0.5 MiB of kernel
	 * memory.
	 */
	uint32_t shell_pool;
};

/* Open /dev/kvm and create a monitor; NULL with a message in err. */
ukvm_t *ukvm_create(const struct ukvm_config *cfg, char *err, size_t errlen);
/* Stop every VM, join threads, free, NULL *m. */
void ukvm_destroy(ukvm_t **m);

/* The backend operations table; `b` is the ukvm_t. */
extern const struct ukf_backend_ops ukvm_backend_ops;

/* 1 if /dev/kvm can be opened and has the API this monitor needs. */
int ukvm_available(char *why, size_t len);

/*
 * Appended (H13): with cfg.shell_pool > 0, make the pool build shells for
 * guests of mem_bytes (rounded up to 2 MiB) - each a VM, a vCPU already
 * run once, and memslot 0 registered over a reserved range the boot maps
 * its memory onto - and wait until shell_pool of them are ready or
 * timeout_ms passed. Returns the number ready, -EINVAL without a pool.
 * Benchmarks call it before timing (LightVM's pre-created shells).
 */
int ukvm_boot_pool_fill(ukvm_t *m, uint64_t mem_bytes, int timeout_ms);

/*
 * Appended (H16): the KVM driver of the backend registry
 * (backends/registry.h): name "kvm", available = ukvm_available, create =
 * ukvm_create with the registry's config, is_image = a guest image the
 * monitor's loader accepts. Worlds reach it by name through the registry.
 */
struct ukf_backend_driver;
extern const struct ukf_backend_driver ukvm_driver;

#endif /* UKVM_H */
