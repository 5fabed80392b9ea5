/* SPDX-License-Identifier: MIT */
/* clone.h - copy-on-write guest memory, dirty-page scans and a pool of pre-created VM shells. */
#ifndef UKVM_CLONE_H
#define UKVM_CLONE_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Memory model of templates and clones (see also snapshot.h):
 *
 *   template  a memfd of the guest's memory, sealed
 *             F_SEAL_WRITE|SHRINK|GROW|SEAL: nobody can change it again.
 *   instance  guest memory = MAP_PRIVATE of its template's memfd. Pages it
 *             writes become private anonymous copies; pages it only reads
 *             stay shared page-cache pages of the template.
 *
 * So "pages dirtied since the template" is exactly the set of anonymous
 * pages in the instance's mapping, whoever wrote them: the guest, or the
 * monitor through its host mapping (hypercall results, boot info, messages).
 * KVM's dirty log sees only the former - a page the monitor wrote would be
 * missed and a child would silently get the template's stale copy - so the
 * dirty set is read from the page tables with the PAGEMAP_SCAN ioctl
 * (Linux >= 6.7; one call returns ranges of anonymous pages), falling back
 * to reading /proc/self/pagemap. KVM dirty logging (ukvm_dirty_log_*) is
 * kept as a cross-check and for monitors whose memory is not a private file
 * mapping.
 *
 * A live fork builds the child as MAP_PRIVATE of the parent's template plus
 * copies of the parent's dirty pages: cost proportional to what changed.
 * Neither side can see the other's later writes (both are private).
 */

/*
 * Turn `fd` (a memfd created with MFD_ALLOW_SEALING holding the guest's
 * memory, mapped MAP_SHARED at `addr` for `size` bytes and nowhere else
 * writable) into a template in place: the mapping at addr is replaced by a
 * MAP_PRIVATE one of the same file (same address, so a KVM memslot on it
 * stays valid and the guest sees the same bytes), then the file is sealed.
 * Zero copy. Returns 0, or -errno with err (e.g. -EPERM: not sealable,
 * -EBUSY: another writable shared mapping exists) - the caller may then
 * fall back to ukvm_cow_freeze_copy(). On failure the mapping is unchanged
 * or, if the remap itself failed, still maps the same file shared.
 */
int ukvm_cow_seal_in_place(int fd, void *addr, uint64_t size, char *err,
			   size_t errlen);

/*
 * Copy `size` bytes at mem into a new sealed memfd (all-zero pages are left
 * as holes). *fd_out gets the fd (the caller closes it). 0 or -errno + err.
 */
int ukvm_cow_freeze_copy(const void *mem, uint64_t size, const char *name,
			 int *fd_out, char *err, size_t errlen);

/*
 * Map a template memfd copy-on-write (MAP_PRIVATE, read-write,
 * MAP_NORESERVE), at `fixed` if not NULL (MAP_FIXED). MAP_FAILED on error.
 */
void *ukvm_cow_map(int fd, uint64_t size, void *fixed);

/* 1 if `fd` carries the template seals (WRITE, SHRINK, GROW, SEAL). */
int ukvm_cow_is_sealed(int fd);

/*
 * Pages of the private mapping [mem, mem+size) written since it was mapped
 * from its template (anonymous pages). Sets bit i of bitmap (size/4096 bits,
 * zeroed here) for each; *count gets their number. pagemap_fd is an open
 * /proc/self/pagemap (O_RDONLY). 0 or -errno + err.
 */
int ukvm_cow_dirty_scan(int pagemap_fd, const void *mem, uint64_t size,
			uint64_t *bitmap, uint64_t *count, char *err,
			size_t errlen);

/* The same by reading /proc/self/pagemap entries (the fallback used on
 * kernels without PAGEMAP_SCAN; exposed for tests). */
int ukvm_cow_dirty_scan_pagemap(int pagemap_fd, const void *mem,
				uint64_t size, uint64_t *bitmap,
				uint64_t *count, char *err, size_t errlen);

/* Copy the pages set in bitmap from src to dst (both size bytes). */
void ukvm_cow_copy_pages(void *dst, const void *src, uint64_t size,
			 const uint64_t *bitmap);

/* --- KVM dirty log of one memslot (cross-check / non-memfd memory) --- */
/* Enable/disable KVM_MEM_LOG_DIRTY_PAGES on an existing slot. 0 / -errno. */
int ukvm_dirty_log_enable(int vm_fd, const struct kvm_userspace_memory_region
			  *slot, int on);
/* OR the pages dirtied since the last call into acc (slot pages bits). */
int ukvm_dirty_log_fetch(int vm_fd, uint32_t slot, uint64_t pages,
			 uint64_t *acc);

/* --- VM shells: KVM_CREATE_VM + one vCPU, created ahead of need --- */
struct ukvm_shell {
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run; /* mmap of the vCPU's kvm_run */
	size_t run_size;
	/*
	 * With ukvm_shell_get_mem: an address range of mem_size bytes
	 * (PROT_NONE until the caller maps guest memory over it with
	 * MAP_FIXED) already registered as memslot 0 at guest-physical 0, so
	 * the clone's critical path has no KVM_SET_USER_MEMORY_REGION (which
	 * waits for an SRCU grace period: 0.05-5 ms here). NULL/0 otherwise.
	 */
	void *mem;
	uint64_t mem_size;
};

typedef struct ukvm_shell_pool ukvm_shell_pool_t;

/*
 * A pool that keeps up to `target` shells ready, refilled by its own
 * thread (VM creation costs ~200-700 us here; a clone should not pay it).
 * Shells get CPUID (KVM_GET_SUPPORTED_CPUID) and the TSS/identity-map
 * addresses set. kvm_fd is borrowed (must outlive the pool). NULL + err.
 */
ukvm_shell_pool_t *ukvm_shell_pool_create(int kvm_fd, unsigned target,
					  char *err, size_t errlen);
/* ukvm_shell_pool_create_ex flags */
enum {
	/* build nothing until the first get names a memory size (a pool of
	 * shells with memory: shells of size 0 would only be evicted) */
	UKVM_POOL_LAZY = 1,
	/* refill threads at SCHED_BATCH: a refill woken by a get does not
	 * preempt the thread that is starting the clone (seen: a template
	 * clone's 0.3 ms in the monitor became 1.2-1.3 ms, the refill thread
	 * taking the CPU at the get's wake-up) */
	UKVM_POOL_BATCH = 2,
	/* a shell taken is not replaced at once, as a clone's shell usually
	 * comes back (ukvm_shell_put) when the clone ends: the refill builds
	 * for a size whose ready shells are under half the target, or have
	 * stayed under the target for the settle time (ukvm_shell_pool_
	 * set_settle, 20 ms by default) while the pool has room; one clock,
	 * for the size asked last (a get of another size starts it again).
	 * A prefill builds its size without settling. Without it two apps of
	 * different sizes cloned in turns had each clone replaced by a build
	 * and a shell of the other size evicted, and the builds' kernel work
	 * (VM creation, memslots) slowed the clones starting beside them
	 * (backends/kvm/README.md) */
	UKVM_POOL_SETTLE = 4,
};
/* Same with `nthreads` (1-4) refill threads and UKVM_POOL_* flags. */
ukvm_shell_pool_t *ukvm_shell_pool_create_ex(int kvm_fd, unsigned target,
					     unsigned nthreads, unsigned flags,
					     char *err, size_t errlen);
/* Stop the refill thread, close the shells still pooled, free, NULL *p. */
void ukvm_shell_pool_destroy(ukvm_shell_pool_t **p);
/*
 * Take a shell (pooled, or made now if the pool is empty). The caller owns
 * it and frees it with ukvm_shell_close. 0 or -errno + err. A get that
 * misses makes its shell before the refill threads start (in every pool):
 * made beside them it waited on their VM creations; a refill thread holds
 * off at most once per miss finished, so misses back to back do not keep
 * the pool empty. Destroy waits for a get that is making its shell.
 */
int ukvm_shell_get(ukvm_shell_pool_t *p, struct ukvm_shell *out, char *err,
		   size_t errlen);
/*
 * Take a shell whose memslot 0 already covers a reserved range of mem_size
 * bytes (see struct ukvm_shell). The pool then pre-builds shells of that
 * size (the last size asked for). 0 or -errno + err.
 */
int ukvm_shell_get_mem(ukvm_shell_pool_t *p, uint64_t mem_size,
		       struct ukvm_shell *out, char *err, size_t errlen);
/*
 * Give a used shell back (its vCPU quiesced, its memory range reset to an
 * empty reservation by the caller). Kept if the pool has room and the
 * shell's memslot size is the one the pool builds now; then *s is taken
 * (returns 0), else -ENOSPC and the caller closes it.
 */
int ukvm_shell_put(ukvm_shell_pool_t *p, struct ukvm_shell *s);
/* Shells given back with ukvm_shell_put and kept (for tests, benches). */
uint64_t ukvm_shell_pool_returned(ukvm_shell_pool_t *p);
/* Make one shell synchronously (what the pool does). 0 or -errno + err. */
int ukvm_shell_make(int kvm_fd, struct ukvm_shell *out, char *err,
		    size_t errlen);
/* Same, with memslot 0 over a reserved range of mem_size bytes. */
int ukvm_shell_make_mem(int kvm_fd, uint64_t mem_size, struct ukvm_shell *out,
			char *err, size_t errlen);
/* Close a shell's fds and unmap its kvm_run. */
void ukvm_shell_close(struct ukvm_shell *s);
/*
 * Refill only while gate(arg) returns 1 (checked before each shell; the
 * refill threads look again every 2 ms). NULL: always. A monitor uses it
 * to keep shell making (KVM_CREATE_VM, memslots: kernel and mmap locks)
 * out of a burst of boots, which would stall them behind a refill thread
 * preempted at SCHED_IDLE while holding those locks.
 */
void ukvm_shell_pool_set_gate(ukvm_shell_pool_t *p, int (*gate)(void *arg),
			      void *arg);
/*
 * Make the pool build shells of mem_size (as a get of that size would)
 * and wait until `want` of them are ready or timeout_ms passed. Returns
 * the number ready (<= the pool's target). For benchmarks that create
 * their shells before timing, as LightVM does.
 */
unsigned ukvm_shell_pool_prefill(ukvm_shell_pool_t *p, uint64_t mem_size,
				 unsigned want, int timeout_ms);
/* Ready shells of memslot size mem_size in the pool now (for tests). */
unsigned ukvm_shell_pool_ready(ukvm_shell_pool_t *p, uint64_t mem_size);
/* Shells taken from the pool ready vs. made synchronously (for benches). */
void ukvm_shell_pool_stats(ukvm_shell_pool_t *p, uint64_t *hits,
			   uint64_t *misses);
/* Shells the refill threads built and kept (for tests, benches). */
uint64_t ukvm_shell_pool_built(ukvm_shell_pool_t *p);
/* A UKVM_POOL_SETTLE pool's settle time in ns (0: replace at once). */
void ukvm_shell_pool_set_settle(ukvm_shell_pool_t *p, uint64_t ns);

#endif /* UKVM_CLONE_H */
