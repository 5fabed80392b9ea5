/* SPDX-License-Identifier: MIT */
/* template.h - templates of the KVM monitor: store, per-VM fork state, save/load to disk. */
#ifndef UKVM_TEMPLATE_H
#define UKVM_TEMPLATE_H

#include "clone.h"
#include "snapshot.h"
#include "ukvm_int.h"

/*
 * A template: the frozen state of an instance paused in ready() (or the
 * implicit one of a fork lineage): a sealed memfd, the vCPU state and the
 * monitor's meta. Reference counted: the node's store holds one reference
 * per app, and every VM whose memory is a private map of it holds one
 * (through its fork state) so that it can fork later.
 */
struct ukvm_tmpl {
	atomic_int refs;
	int fd;                     /* sealed memfd, mem_size bytes */
	uint64_t mem_size;
	uint32_t app;
	uint64_t id;                /* unique per monitor: deltas name it */
	struct ukvm_snap_vcpu vcpu; /* at the ready() pause */
	struct ukvm_snap_meta meta; /* pause, args_gpa, boot_ns, ids */
	char args[UKF_ARGS_MAX];    /* the original's argument string */
	uint32_t crc;               /* ukvm_tmpl_crc(), 0 = not computed yet */
	pthread_mutex_t crc_lock;   /* one computation at a time */
};

/* CRC32C of t's memory without the boot info page (computed once). */
uint32_t ukvm_tmpl_crc(struct ukvm_tmpl *t);

void ukvm_tmpl_get(struct ukvm_tmpl *t);
void ukvm_tmpl_put(struct ukvm_tmpl *t);

/* Per-monitor state of the template/clone code (m->templates). */
struct ukvm_fork_mon {
	pthread_mutex_t lock;       /* the store */
	struct ukvm_tmpl **by_app;  /* index = app id; NULL = none */
	uint32_t napps;
	ukvm_shell_pool_t *pool;    /* pre-created VM shells */
	int pagemap_fd;             /* /proc/self/pagemap */
	atomic_ullong next_tmpl_id;
	int trace;                  /* UKVM_FORK_TRACE set: phase timings */
};

/* Phase timings of one clone/fork, printed to stderr when fm->trace. */
struct ukvm_phases {
	int n;
	const char *name[12];
	ukf_ns_t at[12];
};
static inline void ukvm_phase(struct ukvm_phases *p, const char *name)
{
	if (p && p->n < 12) {
		p->name[p->n] = name;
		p->at[p->n++] = ukvm_now();
	}
}
void ukvm_phases_print(const struct ukvm_phases *p, const char *what,
		       ukf_id_t inst);
/* The phases ukvm_clone_build records into (this thread's clone op). */
extern __thread struct ukvm_phases *ukvm_cur_phases;

/* Per-VM state (vm->fork_state), released by vm->fork_release. */
struct ukvm_fork_vm {
	struct ukvm_tmpl *tmpl; /* memory is a private map of it, or NULL */
	ukf_gpa_t ready_gpa;    /* template clone: its ready() struct (the
				   monitor's pending_gpa is 0 there) */
	int pagemap_fd;         /* own /proc/self/pagemap for
				   ukvm_dirty_pages, opened here because the
				   vCPU thread's filter forbids open; or -1 */
};

/* The monitor's fork state, created on first use; NULL + err. */
struct ukvm_fork_mon *ukvm_fork_mon(struct ukvm *m, char *err, size_t errlen);
/* The VM's fork state, created on first use; NULL on ENOMEM. */
struct ukvm_fork_vm *ukvm_fork_vm(struct ukvm_vm *vm);
/* The store's template of app with a reference taken, or NULL. */
struct ukvm_tmpl *ukvm_tmpl_lookup(struct ukvm *m, uint32_t app);

/*
 * Make sure vm's memory is a private map of a template (vm paused). If it
 * already is and !fresh, returns that one; else freezes the memory now (sealing the
 * VM's memfd in place, or copying when that is impossible) and the VM
 * continues as a copy-on-write instance of it. The template's vCPU state
 * and meta are filled from the VM. Returns the template (the VM's
 * reference; not an extra one) or NULL with err.
 */
struct ukvm_tmpl *ukvm_tmpl_freeze(struct ukvm_vm *vm, int fresh, char *err,
				   size_t errlen);

/* Pages the paused vm wrote since its template (bitmap of mem_size/4096
 * bits, caller-allocated); count in *n. 0 or -errno + err. */
int ukvm_vm_dirty(struct ukvm_vm *vm, uint64_t *bitmap, uint64_t *n,
		  char *err, size_t errlen);

/*
 * Build vm's KVM objects and memory as a clone of t: a shell from the pool,
 * memory = private map of t, slot 0, vCPU state st. Called before launch;
 * the caller then copies pages, rewrites the boot info and the paused
 * call's ret. 0 or -errno + err (the caller frees the unlaunched vm with
 * ukvm_clone_unbuilt_free).
 */
int ukvm_clone_build(struct ukvm_vm *vm, struct ukvm_tmpl *t,
		     const struct ukvm_snap_vcpu *st, char *err, size_t errlen);
/* Rewrite the clone's boot info: its id, parent, args, UKF_BOOT_CLONE. */
void ukvm_clone_bootinfo(struct ukvm_vm *vm, const char *args,
			 ukf_id_t parent);
/* Store ret as the int64 `ret` of the call struct at gpa; -EFAULT. */
int ukvm_clone_write_ret(struct ukvm_vm *vm, ukf_gpa_t gpa, int64_t ret);
/* Unlink and free a VM that was never launched. */
void ukvm_clone_unbuilt_free(struct ukvm *m, struct ukvm_vm *vm);

/*
 * The monitor's per-VM state as a snapshot piece: capture fills m from a
 * paused vm (ids, app, memory size, the paused call's address, the guest's
 * clock); apply gives a new VM that state as a clone whose parent is
 * `parent` (its guest clock resumes where the captured one was). Used by
 * templates, live fork and remote fork alike.
 */
void ukvm_meta_capture(struct ukvm_vm *vm, uint32_t pause,
		       struct ukvm_snap_meta *m);
void ukvm_meta_apply(struct ukvm_vm *vm, const struct ukvm_snap_meta *m,
		     ukf_id_t parent);

/* --- templates on disk (a node restarts warm) --- */
/*
 * Encode the node's template of app as a snapshot (kind TEMPLATE: meta,
 * vCPU, every non-zero page) into out (caller frees with
 * ukvm_snap_buf_free). 0, -ENOENT (no template) or -ENOMEM.
 */
int ukvm_template_encode(ukvm_t *m, uint32_t app, struct ukvm_snap_buf *out);
/* Write it to path atomically. 0 or -errno + err. */
int ukvm_template_save(ukvm_t *m, uint32_t app, const char *path, char *err,
		       size_t errlen);
/*
 * Appended (H9): as ukvm_template_save, with the snapshot's meta.app_name
 * set to name (NULL: left empty), so a loader can check the file belongs
 * to the app it is installed for. 0 or -errno + err.
 */
int ukvm_template_save_as(ukvm_t *m, uint32_t app, const char *name,
			  const char *path, char *err, size_t errlen);
/*
 * Install a template of app from a snapshot held in memory / in a file
 * (validated first: a truncated, corrupted or foreign one is refused with
 * err saying why). Replaces the app's template. 0 or -errno + err.
 */
int ukvm_template_install(ukvm_t *m, uint32_t app, const void *data,
			  size_t len, char *err, size_t errlen);
int ukvm_template_load_file(ukvm_t *m, uint32_t app, const char *path,
			    char *err, size_t errlen);

#endif /* UKVM_TEMPLATE_H */
