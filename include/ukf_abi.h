/* SPDX-License-Identifier: MIT */
/* ukf_abi.h - the guest/monitor ABI of ukfork: hypercalls, boot info, layout. */
#ifndef UKF_ABI_H
#define UKF_ABI_H

/*
 * Self-contained: shared by the freestanding guest runtime (guest/) and the
 * monitor (backends/kvm/). Rules, so old guests keep working on new monitors:
 *   - fixed-width types only; every struct is 8-byte aligned and padded;
 *   - fields are only ever appended (never reordered, resized or removed);
 *   - a guest pointer is a ukf_gpa_t (guest-physical address): the host never
 *     dereferences it directly but goes through one checked accessor;
 *   - IN fields are written by the guest, OUT fields by the monitor.
 *
 * Hypercall mechanism (works at CPL3 on any KVM): the guest executes
 *     outl %eax, %dx     with  dx = UKF_HC_PORT_BASE + call number,
 *                              eax = guest-physical address of the call's
 *                                    argument struct (below 4 GiB)
 * The monitor's TSS I/O bitmap allows exactly the ports
 * [UKF_HC_PORT_BASE, UKF_HC_PORT_BASE + UKF_HC_MAX). Every struct starts with
 * `int64_t ret` (OUT): >= 0 success, < 0 a negated UKF_E* error code.
 * A call returns when the monitor resumes the vCPU (some calls, such as
 * fork, wait, recv and block, pause the guest until the answer is known).
 *
 * Memory layout (guest-physical == guest-virtual, identity mapped):
 *   [0, 4 KiB)                 unmapped: null pointer dereference faults
 *   [UKF_MON_BASE, UKF_MON_END) monitor area: GDT, TSS, IDT, fault stubs,
 *                              page tables, ring-0 stack (supervisor only)
 *   [UKF_BOOTINFO_GPA, +4 KiB) struct ukf_bootinfo (user read-only)
 *   [UKF_IMAGE_BASE, ...)      the ELF image's PT_LOAD segments
 *   [bootinfo.heap_start, bootinfo.heap_end) free memory for the heap
 *   [heap_end, mem_size)       the stack (UKF_STACK_SIZE), growing down
 */

#include <stdint.h>

#define UKF_ABI_MAGIC 0x4b52464b55ULL /* "UKFRK" */
#define UKF_ABI_VERSION 1

typedef uint64_t ukf_gpa_t; /* a guest-physical address: never a host pointer */

/* Layout. */
#define UKF_PAGE_SIZE 4096ULL
#define UKF_MON_BASE 0x1000ULL
#define UKF_MON_END 0x80000ULL
#define UKF_BOOTINFO_GPA 0x80000ULL
#define UKF_IMAGE_BASE 0x100000ULL /* 1 MiB, also where PVH loaders put us */
#define UKF_STACK_SIZE (256ULL * 1024)
#define UKF_MEM_MIN (4ULL << 20)
#define UKF_MEM_MAX (3ULL << 30) /* argument GPAs must fit in 32 bits */

/* Hypercall ports and numbers. */
#define UKF_HC_PORT_BASE 0x500
enum ukf_hc {
	UKF_HC_CONSOLE = 0, /* struct ukf_hc_console */
	UKF_HC_TIME = 1,    /* struct ukf_hc_time */
	UKF_HC_EXIT = 2,    /* struct ukf_hc_exit: never returns */
	UKF_HC_ABORT = 3,   /* struct ukf_hc_abort: never returns */
	UKF_HC_READY = 4,   /* struct ukf_hc_ready */
	UKF_HC_BLOCK = 5,   /* struct ukf_hc_block */
	UKF_HC_INFO = 6,    /* struct ukf_hc_info */
	UKF_HC_FORK = 7,    /* struct ukf_hc_fork */
	UKF_HC_SPAWN = 8,   /* struct ukf_hc_spawn */
	UKF_HC_WAIT = 9,    /* struct ukf_hc_wait */
	UKF_HC_SEND = 10,   /* struct ukf_hc_send */
	UKF_HC_RECV = 11,   /* struct ukf_hc_recv */
	UKF_HC_MAX = 16     /* ports reserved; numbers >= 12 are unknown today */
};

/* Port the monitor's ring-0 fault stubs write the vector number to. */
#define UKF_FAULT_PORT 0x4ff

/* Error codes (returned negated in `ret`). Stable values. */
enum ukf_err {
	UKF_EINVAL = 22,   /* bad argument */
	UKF_EFAULT = 14,   /* bad guest pointer or length */
	UKF_ENOMEM = 12,   /* memory limit */
	UKF_EAGAIN = 11,   /* limit reached (children, queue); retry later */
	UKF_ECHILD = 10,   /* wait: no such child (or already reaped) */
	UKF_ESRCH = 3,     /* send: no such instance */
	UKF_ETIMEDOUT = 110,
	UKF_ENOSYS = 38,   /* unknown hypercall or not supported here */
	UKF_ENOENT = 2,    /* spawn: unknown application */
	UKF_EMSGSIZE = 90  /* message larger than UKF_MSG_MAX */
};

#define UKF_MSG_MAX 4096      /* largest ukf_send payload */
#define UKF_ARGS_MAX 2048     /* largest argument string incl. NUL */
#define UKF_CONSOLE_MAX 65536 /* largest single console write */

/* Boot info page, filled by the monitor (or the PVH entry code). */
enum ukf_platform {
	UKF_PLATFORM_UKVM = 1, /* ukfork's monitor: CPL3, hypercalls */
	UKF_PLATFORM_PVH = 2,  /* booted through the PVH entry: CPL0, COM1 */
	UKF_PLATFORM_XEN = 3   /* a Xen PV domain: calls carried by xen.c */
};
#define UKF_BOOT_CLONE 0x1 /* this instance was cloned (template or fork) */
struct ukf_bootinfo {
	uint64_t magic;       /* UKF_ABI_MAGIC */
	uint32_t abi_version; /* UKF_ABI_VERSION of the monitor */
	uint32_t platform;    /* enum ukf_platform */
	uint64_t mem_size;    /* bytes of guest memory */
	uint64_t instance_id; /* this instance's id (rewritten in clones) */
	uint64_t parent_id;   /* 0 if none */
	uint64_t heap_start;  /* first free byte after the image, page aligned */
	uint64_t heap_end;    /* end of heap = start of stack area */
	uint64_t tsc_khz;     /* TSC frequency, 0 if unknown */
	uint64_t flags;       /* UKF_BOOT_* */
	uint32_t args_len;    /* strlen(args) */
	uint32_t pad0;
	char args[UKF_ARGS_MAX]; /* NUL-terminated argument string */
};

/* --- argument structs, one per call --- */

struct ukf_hc_console {
	int64_t ret;   /* OUT: bytes written */
	ukf_gpa_t buf; /* IN */
	uint64_t len;  /* IN: <= UKF_CONSOLE_MAX */
};

struct ukf_hc_time {
	int64_t ret;      /* OUT: 0 */
	uint64_t mono_ns; /* OUT: monotonic ns since the instance's first boot */
	uint64_t wall_ns; /* OUT: ns since the Unix epoch */
};

struct ukf_hc_exit {
	int64_t ret;    /* unused */
	int64_t status; /* IN: exit status (0-255 by convention) */
};

struct ukf_hc_abort {
	int64_t ret;   /* unused */
	ukf_gpa_t msg; /* IN: message, need not be NUL-terminated */
	uint64_t len;  /* IN: <= 1024 */
};

/*
 * ready: initialisation is done. The node may take a template here. Returns
 * 0 in the original and 1 in an instance cloned from the template; in a
 * clone the monitor has rewritten the boot info page (instance_id,
 * parent_id, args, flags) before resuming, so the runtime re-reads it.
 */
struct ukf_hc_ready {
	int64_t ret; /* OUT: 0 original, 1 clone */
};

struct ukf_hc_block {
	int64_t ret;       /* OUT: 0 deadline passed, 1 woken by a message */
	uint64_t deadline; /* IN: monotonic ns (see ukf_hc_time) */
};

struct ukf_hc_info {
	int64_t ret;          /* OUT: args length */
	uint64_t instance_id; /* OUT */
	uint64_t parent_id;   /* OUT */
	ukf_gpa_t args_buf;   /* IN: buffer for the argument string, or 0 */
	uint64_t args_cap;    /* IN: its size */
	/* appended after v1 (a monitor that does not know it leaves it 0): */
	uint64_t node;        /* OUT: id of the node the instance runs on */
};

/* fork: ret is the child's id in the parent, 0 in the child, < 0 error. */
struct ukf_hc_fork {
	int64_t ret;
	uint64_t flags; /* IN: 0 (reserved) */
};

/* spawn: start an instance of another application; ret = its id. */
struct ukf_hc_spawn {
	int64_t ret;
	ukf_gpa_t app;  /* IN: application name */
	uint64_t app_len;
	ukf_gpa_t args; /* IN: argument string */
	uint64_t args_len;
};

/* wait: reap a child (id, or 0 for any); ret = the child's id. */
struct ukf_hc_wait {
	int64_t ret;
	uint64_t id;       /* IN */
	uint64_t deadline; /* IN: monotonic ns; 0 = no deadline */
	int64_t status;    /* OUT: exit status; < 0: -signal-like failure code */
};

struct ukf_hc_send {
	int64_t ret;   /* OUT: 0 */
	uint64_t dst;  /* IN: instance id */
	ukf_gpa_t buf; /* IN */
	uint64_t len;  /* IN: <= UKF_MSG_MAX */
};

struct ukf_hc_recv {
	int64_t ret;       /* OUT: message length */
	ukf_gpa_t buf;     /* IN */
	uint64_t cap;      /* IN: a longer message is truncated to cap */
	uint64_t deadline; /* IN: monotonic ns; 0 = no deadline */
	uint64_t src;      /* OUT: sender's instance id */
};

#endif /* UKF_ABI_H */
