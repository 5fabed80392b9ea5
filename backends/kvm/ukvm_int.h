/* SPDX-License-Identifier: MIT */
/* ukvm_int.h - internal structures of the KVM monitor: monitor, VM, vCPU, images. */
#ifndef UKVM_INT_H
#define UKVM_INT_H

/*
 * Shared by the monitor proper (H6a: ukvm.c, vm.c, elf.c, layout.c) and the
 * template/clone/snapshot code (H6b: snapshot.c, template.c, clone.c).
 *
 * Ownership and locking, in one place:
 *   - struct ukvm (the monitor) owns a table of VMs keyed by instance id,
 *     protected by ukvm.lock. The table holds one reference on each VM.
 *   - a VM is reference counted (ukvm_vm_get/ukvm_vm_put); the last put
 *     frees it (closes the KVM fds, unmaps memory, closes the memfd).
 *   - each VM has one vCPU thread (vm->thread) holding a reference while it
 *     runs. It owns the vCPU fd while running; other threads may touch the
 *     vCPU (ioctls, registers) or guest memory only while the VM is PAUSED
 *     (state READY or CALL) with vm->lock held or while it is being built
 *     (before ukvm_vm_launch).
 *   - vm->lock protects state, the pending call and the completion fields.
 *   - when its thread ends (exit, failure, destroy) it detaches the KVM
 *     objects and memory under vm->lock (vm->mem = NULL, fds -1) and frees
 *     them afterwards: another thread using them must hold vm->lock and
 *     check that the VM is paused (READY/CALL) and vm->mem != NULL.
 *
 * Guest memory is a memfd (MFD_ALLOW_SEALING) of vm->mem_size bytes mapped
 * at vm->mem; a cold-booted VM maps it MAP_SHARED; a clone may map a sealed
 * template memfd MAP_PRIVATE instead (copy-on-write) and set mem_private.
 */

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "../../include/ukf_abi.h"
#include "../vmm/vmm.h"
#include "ukvm.h"

/* ------------------------------------------------------------------ */
/* Guest layout inside the monitor area [UKF_MON_BASE, UKF_MON_END).    */
/* Built by layout.c; everything supervisor-only, data pages NX.        */
#define UKVM_GDT_GPA 0x1000ULL   /* 6 descriptors (TSS takes two) */
#define UKVM_TSS_GPA 0x2000ULL   /* 64-bit TSS + I/O bitmap */
#define UKVM_IDT_GPA 0x3000ULL   /* 256 gates, 32 present */
#define UKVM_STUBS_GPA 0x4000ULL /* 32 fault stubs, 16 bytes each (exec) */
#define UKVM_PT_GPA 0x10000ULL   /* page tables: PML4, PDPT, 4 PD, 1 PT */
#define UKVM_PT_PAGES 7
#define UKVM_STACK0_TOP UKF_MON_END /* ring-0 stack page below it */

#define UKVM_SEL_KCODE 0x08
#define UKVM_SEL_KDATA 0x10
#define UKVM_SEL_UCODE 0x1b
#define UKVM_SEL_UDATA 0x23
#define UKVM_SEL_TSS 0x28
#define UKVM_TSS_IOMAP_OFF 0x68
#define UKVM_TSS_IOMAP_BYTES 0x100 /* ports 0..0x7ff */
#define UKVM_TSS_LIMIT (UKVM_TSS_IOMAP_OFF + UKVM_TSS_IOMAP_BYTES) /* incl. 0xff end */

/* Memory sizes the monitor accepts (rounded up to 2 MiB pages). */
#define UKVM_MEM_ALIGN (2ULL << 20)

/* Signal used to kick a vCPU thread out of KVM_RUN (handler sets
 * immediate_exit). Chosen from the real-time range; installed once. */
#define UKVM_KICK_SIGNAL (SIGRTMIN + 4)

/* ------------------------------------------------------------------ */
/* ELF images, loaded once per path and cached by the monitor.          */
#define UKVM_MAX_SEGS 16
struct ukvm_seg {
	uint64_t gpa;    /* where it goes (p_vaddr; identity mapped) */
	uint64_t memsz;  /* bytes in memory (>= filesz, rest zero) */
	uint64_t filesz; /* bytes from the file */
	uint64_t off;    /* offset in the file */
	uint32_t flags;  /* PF_R/PF_W/PF_X */
};

struct ukvm_image {
	struct ukvm_image *next; /* monitor's cache list */
	char *path;
	dev_t dev;               /* identity of the file when loaded, so a */
	ino_t ino;               /* rebuilt image is reloaded */
	int64_t mtime_ns;
	off_t size;
	uint8_t *data;           /* whole file */
	uint64_t entry;
	uint64_t lo, hi;         /* lowest gpa, end of highest segment */
	unsigned nseg;
	struct ukvm_seg seg[UKVM_MAX_SEGS];
	uint8_t sha256[32];      /* of the whole file (the image's identity
				    in templates) */
};

/*
 * Parse and validate an ELF image held in memory (does not take `data`;
 * img->data is left NULL): class, data, machine, type, phdr bounds,
 * PT_LOAD overflow, filesz <= memsz, segments below UKF_IMAGE_BASE,
 * overlapping segments, entry outside an executable segment. Returns 0, or
 * -1 with a message in err.
 */
int ukvm_elf_parse(struct ukvm_image *img, const uint8_t *data, size_t size,
		   char *err, size_t errlen);
/* Check that the image fits in mem_size bytes of guest memory leaving room
 * for the stack; 0 or -1 with a message. */
int ukvm_elf_fits(const struct ukvm_image *img, uint64_t mem_size, char *err,
		  size_t errlen);
/* Copy the image's segments into guest memory `mem`, zeroing the bss
 * unless `zeroed` says mem is known to be zero (a fresh memfd). The image
 * must fit (ukvm_elf_fits). */
void ukvm_elf_copy(const struct ukvm_image *img, uint8_t *mem, int zeroed);
/* Read and parse the file at path into a new image (caller frees with
 * ukvm_image_free); NULL with a message in err. */
struct ukvm_image *ukvm_image_load(const char *path, char *err, size_t errlen);
void ukvm_image_free(struct ukvm_image *img);

/* ------------------------------------------------------------------ */
enum ukvm_vm_state {
	UKVM_VM_BUILDING = 0, /* being set up (memory, KVM objects) */
	UKVM_VM_RUNNING,      /* vCPU thread in its run loop */
	UKVM_VM_READY,        /* paused in ukf_ready() until complete() */
	UKVM_VM_CALL,         /* paused in a call (pending_call) */
	UKVM_VM_EXITED,       /* guest exited; thread finished */
	UKVM_VM_FAILED        /* failed; thread finished */
};

struct ukvm_vm {
	struct ukvm *mon;
	struct ukvm_vm *hnext;   /* monitor table chain */
	atomic_int refs;
	ukf_id_t inst;
	ukf_id_t parent;
	uint32_t app;
	char args[UKF_ARGS_MAX];
	/*
	 * What it runs (H16): the app's name and the SHA-256 of the image it
	 * was cold-booted from (all zero: unknown). Carried by the snapshot
	 * meta (ukvm_meta_capture/_apply), so templates, clones, fork
	 * children and deltas keep them.
	 */
	char app_name[UKF_APP_NAME_MAX];
	uint8_t image_sha256[32];

	/* KVM objects. -1 / NULL when absent. */
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run;
	size_t run_size;

	/* Guest memory. */
	int mem_fd;              /* memfd (MFD_ALLOW_SEALING), or -1 */
	uint8_t *mem;            /* host mapping of [0, mem_size) */
	uint64_t mem_size;       /* multiple of UKVM_MEM_ALIGN */
	int mem_private;         /* 1: MAP_PRIVATE of a template memfd */
	uint32_t slot_flags;     /* KVM_MEM_* flags of slot 0 (dirty log) */

	/* Thread and state. */
	pthread_t thread;
	int thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum ukvm_vm_state state;
	atomic_int stop;         /* destroy requested: leave the run loop */
	ukf_ns_t boot_ns;        /* CLOCK_MONOTONIC at first boot (time base) */
	ukf_ns_t ran_ns;         /* guest running time so far (run limit) */

	/* Pending call while paused (READY or CALL). */
	uint32_t pending_hc;     /* enum ukf_hc */
	ukf_gpa_t pending_gpa;   /* its argument struct */
	int answered;            /* complete() happened */

	/*
	 * The hypervisor-neutral half (backends/vmm): console line buffer,
	 * pause_on_ready; its ops (vm.c's ukvm_vmm_ops) reach this VM.
	 */
	struct ukf_vmm vmm;

	/*
	 * Hooks for H6b (NULL when unused). prepare runs in the vCPU thread
	 * before the run loop (builds memory + KVM objects + registers);
	 * it returns 0, or -1 with a reason in err (the instance fails).
	 */
	int (*prepare)(struct ukvm_vm *vm, char *err, size_t errlen);
	void *prepare_arg;
	/* Free-form per-VM pointer for template/clone code (owned by it,
	 * released by fork_release if set, called from the final put). */
	void *fork_state;
	void (*fork_release)(struct ukvm_vm *vm);
	/*
	 * H6b hook, called by the monitor on the real VM before its
	 * resources are released or detached: in vcpu_main's exit path
	 * (after the state became EXITED/FAILED, without vm->lock) and first
	 * in release_resources() (no lock needed; it takes m->lock briefly).
	 * Measured: a clone from a pooled shell
	 * ~0.1 ms to ready, from a freshly made one ~0.8 ms or more).
	 * It may take the VM's KVM objects and memory range back into the
	 * shell pool for the next clone (setting vm_fd/vcpu_fd = -1, run/mem =
	 * NULL, so release_resources skips them): a new VM costs ~0.8 ms of
	 * kernel time here (KVM_CREATE_VM + memslot SRCU wait) and closing one
	 * ~0.6 ms, which caps clone throughput. NULL or not called: no change.
	 */
	void (*shell_recycle)(struct ukvm_vm *vm);

	/* Clone from a template: start paused in ready() (see launch). */
	int start_in_ready;
	/*
	 * H6b hook (live fork / remote fork child), please honour in
	 * vcpu_main like start_in_ready: after UKF_BE_STARTED, pause in state
	 * UKVM_VM_CALL on call pending_hc (UKF_HC_FORK) at pending_gpa
	 * WITHOUT emitting an event, until complete() (the engine answers the
	 * child's fork with 0), i.e.
	 *   vm_pause(vm, UKVM_VM_CALL, vm->pending_hc, vm->pending_gpa,
	 *            NULL, &stretch)
	 * Done (commit 23044f9): ukvm_vm_launch puts a start_in_call or
	 * start_in_ready VM in its paused state (answered = 0, pending_*
	 * kept) before the thread starts, so complete() may come before
	 * UKF_BE_STARTED; the thread's pause does not reset `answered`.
	 * Template clones: H6b's code writes ready()'s ret = 1 into the
	 * clone's own struct and sets pending_gpa = 0 so that complete()
	 * (which writes nothing when ukvm_gpa() refuses the address) cannot
	 * overwrite it with the engine's ret.
	 */
	int start_in_call;
	int booting; /* counted in mon->booting (ukvm_boot_begin) */
	/* Run-limit timer of the vCPU thread (when run_limit_ns > 0). */
	timer_t limit_timer;
	int has_timer;
	/*
	 * Hold of a RUNNING vCPU (ukvm_vm_hold, for a fork from outside):
	 * hold_req asks the thread to stop between two KVM_RUNs; it sets
	 * held (under vm->lock) and waits until hold_req is cleared.
	 */
	atomic_int hold_req;
	int held;
};

struct ukvm_vm_bucket {
	struct ukvm_vm *head;
};
#define UKVM_HASH_BUCKETS 1024

#define UKVM_CRCQ 16 /* templates waiting for the CRC worker */

struct ukvm {
	struct ukvm_config cfg;
	int kvm_fd;
	int run_size;               /* KVM_GET_VCPU_MMAP_SIZE */
	struct kvm_cpuid2 *cpuid;   /* KVM_GET_SUPPORTED_CPUID, set on vCPUs */
	uint64_t tsc_khz;           /* host TSC frequency, 0 if unknown */

	pthread_mutex_t lock;       /* table, counters, image cache */
	pthread_cond_t idle;        /* signalled when threads reaches 0 */
	struct ukvm_vm_bucket table[UKVM_HASH_BUCKETS];
	uint32_t nvms;              /* VMs in the table */
	uint64_t mem_used;          /* guest bytes of VMs in the table */
	uint32_t threads;           /* vCPU threads alive */
	struct ukvm_image *images;  /* cache, by path */

	/* H6b: template store and shell pool (owned by template.c). */
	void *templates;
	/*
	 * H16: what each app id means here, as the ops that pass a struct
	 * ukf_app told (cold_boot, clone_template): its name and image path.
	 * Template bytes loaded for an app id are checked against it. Indexed
	 * by app id, under m->lock; see ukvm_app_note.
	 */
	struct ukvm_app_ident *apps;
	uint32_t napps;
	/* Shells for cold boots (cfg.shell_pool > 0), from clone.h's pool. */
	struct ukvm_shell_pool *boot_pool;
	int boot_trace;             /* UKVM_BOOT_TRACE set: phase timings */
	/*
	 * Deferred teardown (vm.c's reaper): a dead VM's memory is freed at
	 * once, its KVM objects (closing a VM fd costs ~0.5 ms of kernel
	 * time and locks boots need) are queued and closed by the reaper
	 * thread once a burst of cold boots is over (none in flight, none
	 * launched for UKVM_REAP_QUIET_MS), or when UKVM_REAP_MAX are
	 * queued or the oldest waited UKVM_REAP_AGE_MS. UKVM_NO_REAPER in
	 * the environment: immediate teardown (for comparisons).
	 */
	atomic_int booting;         /* cold boots launched, not yet ready */
	_Atomic ukf_ns_t last_launch; /* of the last cold boot */
	pthread_mutex_t reap_lock;
	pthread_cond_t reap_cond;
	struct ukvm_dead *dead;     /* queue, oldest first */
	struct ukvm_dead **dead_tail;
	unsigned ndead;
	int reap_stop, reaper_on;
	pthread_t reaper;
	/*
	 * template.c's CRC worker: the templates made here (make_template)
	 * get their ukvm_tmpl_crc() in the background, before the first
	 * remote fork's delta needs it (~4-9 ms at 24 MiB on the fork's path
	 * otherwise). A ring of references; full, a template is left to its
	 * first use. UKVM_NO_CRC_WORKER in the environment: no worker (for
	 * comparisons).
	 */
	pthread_mutex_t crcq_lock;
	pthread_cond_t crcq_cond;
	struct ukvm_tmpl *crcq[UKVM_CRCQ];
	unsigned crcq_head, crcq_n;
	int crcq_stop, crcq_on;
	pthread_t crcq_thread;
};

#define UKVM_REAP_MAX 128
#define UKVM_REAP_AGE_MS 500
#define UKVM_REAP_QUIET_MS 5

/* App ids the monitor remembers (a wild id allocates nothing). */
#define UKVM_APPS_MAX 65536

/* What an app id means on this monitor (H16). */
struct ukvm_app_ident {
	char name[UKF_APP_NAME_MAX]; /* "" = nothing known */
	char image[UKF_APP_PATH_MAX];
};

/* ------------------------------------------------------------------ */
/* Internal functions (vm.c / ukvm.c / layout.c).                      */

/* Remember what app->id means here (name, image); no-op when unchanged
 * or when allocation fails (the app is then simply not checked). */
void ukvm_app_note(struct ukvm *m, const struct ukf_app *app);
/* What app means here: 0 with *out filled, or -ENOENT. */
int ukvm_app_ident(struct ukvm *m, uint32_t app, struct ukvm_app_ident *out);
/* The SHA-256 of the image file at path as the monitor's image cache
 * holds it (loaded and validated if not cached or changed). 0, or -errno
 * with a message naming the file. */
int ukvm_image_sha256(struct ukvm *m, const char *path, uint8_t out[32],
		      char *err, size_t errlen);

/* Start (thread = 0: none, teardown stays immediate) / stop (closing
 * everything queued) the monitor's reaper. */
int ukvm_reaper_start(struct ukvm *m, int thread);
void ukvm_reaper_stop(struct ukvm *m);
/* 1 when no cold boot is in flight and none was launched for
 * UKVM_REAP_QUIET_MS (arg: the monitor): when the reaper closes dead VMs
 * and the boot shell pool refills. */
int ukvm_quiet(void *arg);
/* A cold boot of vm is in flight (launch) / no longer (first ready(),
 * exit or failure); idempotent per VM. */
void ukvm_boot_begin(struct ukvm_vm *vm);
void ukvm_boot_done(struct ukvm_vm *vm);

/* Monotonic clock in ns (the live world's time base): ukf_vmm_now. */
static inline ukf_ns_t ukvm_now(void)
{
	return ukf_vmm_now();
}

/* Emit an event for vm (fills inst, sets at = now if 0). After
 * ukvm_vm_stop only TEMPLATE, DELTA and ERROR events are delivered. */
void ukvm_emit(struct ukvm_vm *vm, struct ukf_be_event *ev);
/* The outcome of an operation on vm (make template, save delta): *ev as
 * filled in for success when rc is 0, else an UKF_BE_ERROR with status rc
 * and reason err in its place. */
void ukvm_emit_outcome(struct ukvm_vm *vm, struct ukf_be_event *ev, int rc,
		       const char *err);

/*
 * Allocate a VM for `inst` and insert it in the monitor's table, counting
 * it against the limits: -EEXIST (id in use), -EAGAIN (max_vms),
 * -ENOMEM (max_mem_bytes or allocation). mem_size is rounded up to
 * UKVM_MEM_ALIGN. The returned VM holds the table's reference only.
 */
int ukvm_vm_new(struct ukvm *m, ukf_id_t inst, uint64_t mem_size,
		struct ukvm_vm **out);
/* Look up a VM and take a reference (NULL if none). */
struct ukvm_vm *ukvm_vm_find(struct ukvm *m, ukf_id_t inst);
void ukvm_vm_get(struct ukvm_vm *vm);
void ukvm_vm_put(struct ukvm_vm *vm);

/* Create guest memory: memfd (MFD_ALLOW_SEALING) of vm->mem_size mapped
 * MAP_SHARED at vm->mem. 0 or -1 with a message. */
int ukvm_mem_create(struct ukvm_vm *vm, char *err, size_t errlen);
/* Guest memory and KVM objects at once from the monitor's boot shell pool
 * (m->boot_pool, slot flags 0): a shell whose memslot 0 already covers a
 * reserved range gets a fresh memfd mapped MAP_SHARED over that range, so
 * the boot has no KVM_CREATE_VM/VCPU, no KVM_SET_USER_MEMORY_REGION and
 * no first-run setup of the vCPU. 0 or -1 with a message. */
int ukvm_mem_create_pooled(struct ukvm_vm *vm, char *err, size_t errlen);
/* Create the KVM VM, slot 0 over vm->mem (flags vm->slot_flags), the vCPU
 * with CPUID, and map kvm_run. 0 or -1 with a message. */
int ukvm_kvm_create(struct ukvm_vm *vm, char *err, size_t errlen);
/* Write GDT, TSS, IDT, fault stubs and page tables into guest memory,
 * which must be zero (a fresh memfd): only non-zero entries are written. */
void ukvm_layout_build(uint8_t *mem, uint64_t mem_size);
/* Map the image's pages in the first 2 MiB (4 KiB pages) with its
 * segments' permissions: writable only if a segment on the page is PF_W,
 * executable only if one is PF_X (W^X for a normal image). Pages above
 * 2 MiB (2 MiB pages), the heap and the stack stay user read-write-exec. */
void ukvm_layout_protect(uint8_t *mem, const struct ukvm_image *img);
/*
 * Rebuild the monitor area of mem (at least its first 2 MiB mapped;
 * mem_size the guest's size) from the monitor's own code: GDT, TSS, IDT,
 * fault stubs and page tables as at a cold boot, whatever a template's
 * pages held there. Entries of the first 2 MiB's page table above the
 * image base are kept only if they are identity, user-mode, with no bit
 * beyond P/RW/US/A/D/NX (the image's W^X permissions); others get the
 * default user entry. Templates from disk or a peer pass here before use.
 */
void ukvm_layout_sanitize(uint8_t *mem, uint64_t mem_size);
/* Initial vCPU state for entering at CPL3 at rip with rsp and rdi. */
int ukvm_vcpu_boot_regs(struct ukvm_vm *vm, uint64_t rip, uint64_t rsp,
			uint64_t rdi, char *err, size_t errlen);
/* Fill the boot info page for a cold boot. */
void ukvm_bootinfo_fill(struct ukvm_vm *vm, const struct ukvm_image *img);

/*
 * Start the vCPU thread: it runs vm->prepare (if set), emits
 * UKF_BE_STARTED, then runs the guest; with vm->start_in_ready set it
 * first emits UKF_BE_READY and pauses in ready() (pending_gpa = the
 * guest's struct ukf_hc_ready, set by prepare) until complete().
 * Returns 0 or -errno (the VM is then left BUILDING; caller destroys).
 */
int ukvm_vm_launch(struct ukvm_vm *vm);

/*
 * The single checked guest-address accessor. Returns a host pointer to
 * [gpa, gpa+len) if that range lies entirely inside guest memory that the
 * guest may access (at or above UKF_BOOTINFO_GPA for reads; above the boot
 * info page for writes), without wrap-around; NULL otherwise. len 0 is
 * checked like len 1 (the address must still be valid).
 */
static inline void *ukvm_gpa(const struct ukvm_vm *vm, ukf_gpa_t gpa,
			     uint64_t len, int write)
{
	if (!ukf_vmm_range_ok(vm->mem_size, gpa, len, write))
		return NULL;
	return vm->mem + gpa;
}
/* Same check on a bare (mem_size) range (ukf_vmm_range_ok). */
static inline int ukvm_gpa_ok(uint64_t mem_size, ukf_gpa_t gpa, uint64_t len,
			      int write)
{
	return ukf_vmm_range_ok(mem_size, gpa, len, write);
}
/*
 * Is [rsp, rsp + len) inside the monitor area, where the fault stubs'
 * ring-0 stack is? Without wrap-around: rsp is the vCPU's register, which
 * a restored state could set anywhere. 1 or 0.
 */
int ukvm_fault_frame_ok(uint64_t rsp, uint64_t len);
/* Guest console text as it may be shown and traced
 * (ukf_vmm_console_escape, backends/vmm/vmm.h). */
static inline size_t ukvm_console_escape(char *dst, size_t cap,
					 const char *src, size_t n)
{
	return ukf_vmm_console_escape(dst, cap, src, n);
}

/* Remove inst from the table and return it with the table's reference
 * (NULL if absent); limits are released at once. */
struct ukvm_vm *ukvm_vm_unlink(struct ukvm *m, ukf_id_t inst);
/* Ask the vCPU thread to stop (wakes a pause, kicks KVM_RUN); it then
 * tears the VM down. Does not wait. */
void ukvm_vm_stop(struct ukvm_vm *vm);
/* Answer the pause vm is in (writes the guest's OUT fields); -ESRCH if
 * it is not paused or already answered. */
int ukvm_vm_complete(struct ukvm_vm *vm, int64_t ret, int64_t status,
		     ukf_id_t src, const void *data, size_t len);
/*
 * Stop a RUNNING vm's vCPU where it is (kick out of KVM_RUN, no pending
 * I/O: its thread only holds after KVM_RUN returned EINTR), so another
 * thread may read its registers and memory. Call with vm->lock held; it
 * is still held on return. 0: held (undo with ukvm_vm_unhold); -EAGAIN:
 * the VM left RUNNING meanwhile (paused in a call, exited: look at
 * vm->state again); -ESRCH: stopping or no thread; -ETIMEDOUT: the
 * thread did not stop within ~1 s.
 */
int ukvm_vm_hold(struct ukvm_vm *vm);
/* Let a held vCPU go on exactly where it stopped (vm->lock held). */
void ukvm_vm_unhold(struct ukvm_vm *vm);
/* Signal handler of UKVM_KICK_SIGNAL (sets this thread's immediate_exit). */
void ukvm_kick_handler(int sig);
/* Hypercall name and argument struct size (8 for unknown numbers):
 * backends/vmm's call table. */
static inline const char *ukvm_hc_name(uint32_t nr)
{
	return ukf_vmm_call_name(nr);
}
static inline uint32_t ukvm_hc_size(uint32_t nr)
{
	return ukf_vmm_call_size(nr);
}
/* 1 if exception vector v pushes an error code. */
int ukvm_vector_has_errcode(unsigned v);

/* ------------------------------------------------------------------ */
/*
 * Template / clone / delta operations (H6b: template.c, clone.c).
 * Signatures match backend.h's ops.
 */
int ukvm_make_template(void *b, ukf_node_id_t node, ukf_id_t inst,
		       uint32_t app);
int ukvm_load_template(void *b, ukf_node_id_t node, uint32_t app,
		       const void *data, size_t bytes);
void ukvm_drop_template(void *b, ukf_node_id_t node, uint32_t app);
int ukvm_clone_template(void *b, ukf_node_id_t node, ukf_id_t inst,
			const struct ukf_app *app, const char *args);
int ukvm_clone_live(void *b, ukf_node_id_t node, ukf_id_t child,
		    ukf_id_t parent);
int ukvm_save_delta(void *b, ukf_node_id_t node, ukf_id_t parent);
int ukvm_restore_delta(void *b, ukf_node_id_t node, ukf_id_t child,
		       uint32_t app, const void *delta, size_t len,
		       uint64_t delta_bytes);
/* H16: export_template and template_info (backend.h), template.c. */
int ukvm_export_template(void *b, ukf_node_id_t node, uint32_t app,
			 void **data, size_t *len, uint64_t *bytes);
int ukvm_template_info_op(void *b, const struct ukf_app *app,
			  const void *data, size_t len,
			  struct ukf_template_info *info, char *err,
			  size_t errlen);
/* Called by ukvm_destroy before the VMs are stopped: free templates. */
void ukvm_templates_free(struct ukvm *m);
/* template.c's CRC worker (struct ukvm): start (thread 0: none; 0, or
 * -EAGAIN when it could not be started, templates then CRC'd on first
 * use) and stop (drops the templates still queued). */
int ukvm_crc_worker_start(struct ukvm *m, int thread);
void ukvm_crc_worker_stop(struct ukvm *m);
/* Pages dirtied since the VM's template (for READY/FORK events); 0 if not
 * tracked. */
uint64_t ukvm_dirty_pages(struct ukvm_vm *vm);

/* ------------------------------------------------------------------ */
/* Errors into a caller's buffer: ukf_seterr (core/ukf.h). */

/* Control register and EFER bits the monitor sets (layout.c) and checks
 * in restored vCPU states (snapshot.c). */
#define CR0_PE 0x1ULL
#define CR0_MP 0x2ULL
#define CR0_TS 0x8ULL
#define CR0_ET 0x10ULL
#define CR0_NE 0x20ULL
#define CR0_WP 0x10000ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define CR4_OSFXSR 0x200ULL
#define CR4_OSXMMEXCPT 0x400ULL
#define CR4_OSXSAVE 0x40000ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL
#define EFER_NXE 0x800ULL

#endif /* UKVM_INT_H */
