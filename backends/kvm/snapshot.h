/* SPDX-License-Identifier: MIT */
/* snapshot.h - one save/restore mechanism for KVM VM state: file format, vCPU, memory, monitor state. */
#ifndef UKVM_SNAPSHOT_H
#define UKVM_SNAPSHOT_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Snapshot format (all integers little-endian, every item 8-byte aligned):
 *
 *   header   u64 magic "UKFSNAP\0"   u32 version   u32 kind
 *            u32 arch (1 = x86_64)  u32 page_size  u64 total_len
 *   section  u32 type  u32 flags(0)  u64 len  payload[len]  pad to 8
 *   ...
 *   trailer  u32 type = UKVM_SEC_END  u32 0  u64 len = 8
 *            u64 checksum: CRC32C of every byte before it (zero-extended)
 *
 * A reader validates magic, version, arch, page size, total length, every
 * section bound and the checksum before any section is used, and names
 * what was wrong. Unknown section types are skipped (new sections may be
 * appended in later versions); a consumer that needs a section and does
 * not find it fails with "missing section X".
 *
 * Each piece of VM state saves and restores itself with its own code:
 *   vCPU      ukvm_snap_vcpu_save/_restore  (regs, sregs, FPU, XSAVE,
 *             XCRs, MSRs, events) + _encode/_decode into sections
 *   memory    ukvm_snap_add_pages / ukvm_snap_apply_pages (page list)
 *   monitor   struct ukvm_snap_meta (ids, sizes, pause point) + encode/decode
 * Templates (on disk), live fork (in memory, no encoding) and remote fork
 * deltas are all built from these pieces.
 */

#define UKVM_SNAP_MAGIC 0x0050414e53464b55ULL /* "UKFSNAP\0" */
#define UKVM_SNAP_VERSION 1
#define UKVM_SNAP_ARCH_X86_64 1

enum ukvm_snap_kind {
	UKVM_SNAP_TEMPLATE = 1, /* full memory (non-zero pages) + vCPU + meta */
	UKVM_SNAP_DELTA = 2     /* pages dirtied since a template + vCPU + meta */
};

enum ukvm_snap_sec {
	UKVM_SEC_META = 1,      /* struct ukvm_snap_meta */
	UKVM_SEC_REGS = 2,      /* struct kvm_regs */
	UKVM_SEC_SREGS = 3,     /* struct kvm_sregs */
	UKVM_SEC_FPU = 4,       /* struct kvm_fpu */
	UKVM_SEC_XSAVE = 5,     /* struct kvm_xsave */
	UKVM_SEC_XCRS = 6,      /* struct kvm_xcrs */
	UKVM_SEC_MSRS = 7,      /* u32 n, u32 0, n x {u32 index, u32 0, u64 data} */
	UKVM_SEC_EVENTS = 8,    /* struct kvm_vcpu_events */
	UKVM_SEC_PAGES = 9,     /* u64 mem_pages, u64 n, n x u64 pfn, n pages */
	UKVM_SEC_ARGS = 10,     /* the instance's argument string, NUL-terminated */
	UKVM_SEC_END = 0x7fffffff
};

/* Name of a section type for messages ("regs", "pages", "type 42"). */
const char *ukvm_snap_sec_name(uint32_t type, char *buf, size_t len);

/* CRC32C (Castagnoli) of n bytes continuing from crc (start with 0). */
uint32_t ukvm_crc32c(uint32_t crc, const void *p, size_t n);
/* ukvm_crc32c over n zero bytes (no buffer of them needed). */
uint32_t ukvm_crc32c_zeros(uint32_t crc, uint64_t n);

/* --- writer: a growable buffer the caller owns --- */
struct ukvm_snap_buf {
	uint8_t *data; /* malloc'd; the caller frees with ukvm_snap_buf_free */
	size_t len, cap;
	int err; /* sticky -ENOMEM after a failed append */
};

/* Start a snapshot of `kind` in b (b zeroed or freed before). 0 / -ENOMEM. */
int ukvm_snap_begin(struct ukvm_snap_buf *b, uint32_t kind);
/* Append a section with a copy of p[0..len). 0 / -ENOMEM. */
int ukvm_snap_add(struct ukvm_snap_buf *b, uint32_t type, const void *p,
		  size_t len);
/*
 * Append a section of len bytes and return where to write its payload
 * (valid until the next append), or NULL (-ENOMEM recorded in b->err).
 */
void *ukvm_snap_reserve(struct ukvm_snap_buf *b, uint32_t type, size_t len);
/* Write the trailer (total length and checksum). 0 or b->err. */
int ukvm_snap_finish(struct ukvm_snap_buf *b);
/* Free b's memory and zero it. */
void ukvm_snap_buf_free(struct ukvm_snap_buf *b);

/* --- reader: validates a whole snapshot held in memory (not copied) --- */
struct ukvm_snap_reader {
	const uint8_t *data;
	size_t len;
	uint32_t kind;
	size_t off; /* iteration cursor */
};

/*
 * Validate data[0..len) as a snapshot and prepare r to read it. Returns 0,
 * or -EINVAL with a message saying what was wrong in err ("truncated: ...",
 * "not a ukfork snapshot ...", "checksum mismatch ...", ...). data must
 * outlive r.
 */
int ukvm_snap_open(struct ukvm_snap_reader *r, const void *data, size_t len,
		   char *err, size_t errlen);
/* First section of `type`: 0 with *p and *len set, or -ENOENT. */
int ukvm_snap_find(const struct ukvm_snap_reader *r, uint32_t type,
		   const void **p, size_t *len);
/* Next section in order (rewinds with r->off = 0): 1, or 0 at the end. */
int ukvm_snap_next(struct ukvm_snap_reader *r, uint32_t *type, const void **p,
		   size_t *len);

/*
 * Write data to path atomically: a new temporary file beside it (random
 * name, O_CREAT|O_EXCL, mode 0600, so a planted file or symlink is never
 * followed), fsync, rename over path. 0 or -errno + err.
 */
int ukvm_snap_write_file(const char *path, const void *data, size_t len,
			 char *err, size_t errlen);
/*
 * Who may have written a snapshot file (the policy of docs/security.md):
 * st (from fstat of the opened file) must be a regular file owned by this
 * process's effective user and writable by nobody else. 0, or -EINVAL
 * (not a regular file) / -EPERM with the reason in why.
 */
struct stat;
int ukvm_snap_file_trusted(const struct stat *st, char *why, size_t whylen);
/*
 * Read a whole file into *data (malloc'd, the caller frees) and validate it
 * as a snapshot (ukvm_snap_open). The file must pass
 * ukvm_snap_file_trusted; a FIFO or device is refused without blocking.
 * 0 or -errno / -EINVAL / -EPERM with err naming the file and the problem.
 */
int ukvm_snap_read_file(const char *path, void **data, size_t *len,
			char *err, size_t errlen);

/* --- vCPU state --- */
#define UKVM_SNAP_MSRS_MAX 24
struct ukvm_msr_val {
	uint32_t index;
	uint32_t pad;
	uint64_t data;
};
struct ukvm_snap_vcpu {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_xsave xsave;
	struct kvm_xcrs xcrs;
	struct kvm_vcpu_events events;
	uint32_t have_xsave, have_xcrs, have_events;
	uint32_t nmsrs;
	struct ukvm_msr_val msrs[UKVM_SNAP_MSRS_MAX];
};

/*
 * Read every piece of a (stopped) vCPU's state: general and segment/control
 * registers, FPU/SSE, XSAVE (AVX), XCR0, the MSRs a guest can reach and the
 * pending exception/interrupt state. 0 or -errno with err naming the ioctl.
 * The vCPU must not be inside KVM_RUN, and a pending `in`/MMIO must have
 * been completed (KVM-NOTES).
 */
int ukvm_snap_vcpu_save(int vcpu_fd, struct ukvm_snap_vcpu *st, char *err,
			 size_t errlen);
/*
 * Complete an I/O instruction the vCPU exited on (KVM finishes it, e.g.
 * advances RIP past an `out`, at the start of the next KVM_RUN): one
 * KVM_RUN with run->immediate_exit = 1, which returns EINTR without running
 * guest code. Call before ukvm_snap_vcpu_save of a vCPU paused in a
 * hypercall, so the saved RIP is after the call on every KVM (KVM-NOTES:
 * registers are stale until then), and before reusing a vCPU. The vCPU must
 * not be running in another thread. 0 or -errno.
 */
int ukvm_snap_vcpu_quiesce(int vcpu_fd, struct kvm_run *run);
/* Load st into a vCPU (of the same or another VM). 0 or -errno + err. */
int ukvm_snap_vcpu_restore(int vcpu_fd, const struct ukvm_snap_vcpu *st,
			    char *err, size_t errlen);
/*
 * Is st a state the monitor itself could have saved from a guest? Ring 3
 * (CS 0x1b, SS 0x23, data selectors null or ring 3), the monitor's GDT,
 * IDT, TSS and page-table root, CR0/CR4/EFER as the monitor sets them,
 * RFLAGS without IF/IOPL/NT/VM, only the MSRs the monitor saves and
 * SYSENTER_CS 0. Pure (no KVM). 0, or -EINVAL with err naming the field
 * and its value. Every vCPU state restored into a monitor's VM from a
 * template or a delta passes here first; ukvm_snap_vcpu_restore itself
 * loads any state (tests restore raw ones).
 */
int ukvm_snap_vcpu_check(const struct ukvm_snap_vcpu *st, char *err,
			 size_t errlen);
/* Append st as sections. 0 / -ENOMEM. */
int ukvm_snap_vcpu_encode(struct ukvm_snap_buf *b,
			   const struct ukvm_snap_vcpu *st);
/* Read st back from sections; -EINVAL + err on a missing or bad section. */
int ukvm_snap_vcpu_decode(const struct ukvm_snap_reader *r,
			   struct ukvm_snap_vcpu *st, char *err,
			   size_t errlen);

/* --- monitor per-VM state --- */
enum ukvm_pause {
	UKVM_PAUSE_NONE = 0,
	UKVM_PAUSE_READY = 1, /* in UKF_HC_READY */
	UKVM_PAUSE_FORK = 2   /* in UKF_HC_FORK */
};
struct ukvm_snap_meta {
	uint32_t size;        /* sizeof this struct when written (append-only) */
	uint32_t pause;       /* enum ukvm_pause: the call the vCPU sits in */
	uint64_t mem_size;    /* guest memory bytes */
	uint64_t instance_id; /* the instance saved */
	uint64_t parent_id;
	uint64_t app;         /* engine app id */
	uint64_t args_gpa;    /* GPA of the paused call's argument struct */
	uint64_t dirty_pages; /* pages in the PAGES section's source set */
	uint64_t template_crc;/* CRC32C of the template's memory without the
				 boot info page (a delta applies only to it);
				 0 in a delta = full memory, no template */
	uint64_t boot_ns;     /* monotonic origin of the instance (ukf_hc_time) */
	uint64_t guest_ns;    /* guest's monotonic time at the capture: a
				 loader on another host/boot rebases boot_ns */
	char app_name[64];    /* the app's name (templates since H9/H16) */
	/*
	 * Appended (H16): SHA-256 of the guest image file the instance was
	 * cold-booted from, all zero if unknown (snapshots written before,
	 * or an image never seen). A loader refuses a template whose digest
	 * differs from its own image of the app.
	 */
	uint8_t image_sha256[32];
};
int ukvm_snap_meta_encode(struct ukvm_snap_buf *b,
			  const struct ukvm_snap_meta *m);
int ukvm_snap_meta_decode(const struct ukvm_snap_reader *r,
			  struct ukvm_snap_meta *m, char *err, size_t errlen);

/* --- guest memory as a page list --- */
/*
 * Append a PAGES section with the pages of mem (mem_size bytes) selected by
 * bitmap (bit i = page i; NULL = every page that is not all zero). 0 or
 * -ENOMEM. *npages (may be NULL) gets the number of pages written.
 */
int ukvm_snap_add_pages(struct ukvm_snap_buf *b, const uint8_t *mem,
			uint64_t mem_size, const uint64_t *bitmap,
			uint64_t *npages);
/*
 * Copy the pages of the PAGES section into mem (mem_size bytes) - or, with
 * fd >= 0 and mem NULL, pwrite them into that file; with mem NULL and
 * fd < 0, only check the section. 0 or -EINVAL + err when the section is
 * missing, malformed or names a page outside mem_size.
 */
int ukvm_snap_apply_pages(const struct ukvm_snap_reader *r, uint8_t *mem,
			  int fd, uint64_t mem_size, uint64_t *npages,
			  char *err, size_t errlen);

/*
 * The lowest page number in the PAGES section (UINT64_MAX when it lists
 * none): 0, or -EINVAL when the section is missing or malformed.
 */
int ukvm_snap_pages_lowest(const struct ukvm_snap_reader *r, uint64_t *pfn);

/* ukvm_crc32c continued from *crc over the pages [from, to) of the memory
 * r's pages section gives (pages it does not list are zeros), without
 * building that memory. 0, or -EINVAL when the section is missing,
 * malformed or its pages are not in strictly increasing order (*crc then
 * undefined). */
int ukvm_snap_pages_crc(const struct ukvm_snap_reader *r, uint64_t from,
			uint64_t to, uint32_t *crc);

#endif /* UKVM_SNAPSHOT_H */
