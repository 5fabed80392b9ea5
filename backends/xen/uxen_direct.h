/* SPDX-License-Identifier: MIT */
/* uxen_direct.h - clones of a PV template built directly from its parsed libxl save image (libxenctrl, no libxl restore). */
#ifndef UKF_UXEN_DIRECT_H
#define UKF_UXEN_DIRECT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A template file (libxl_domain_suspend's stream: libxl's header, the
 * libxc migration stream v2/v3 of an x86-64 PV guest, libxl's END) read
 * once into memory: the pages that are not all zeroes with their frame
 * types (page tables as libxc's save leaves them: entries name pfns), the
 * pfns to populate, the guest's p2m frames, the vCPU contexts, the shared
 * info page and TSC info. A clone then copies only those pages.
 */
struct uxd_image;

/* What a parsed template holds (for reports and tests). */
struct uxd_image_info {
	uint64_t npfn;	       /* pfns [0, npfn) (max_pfn + 1) */
	uint64_t populated;    /* pfns with a frame (not XTAB/BROKEN) */
	uint64_t data_pages;   /* pages kept: not all zeroes, or needed */
	uint64_t pt_pages;     /* of those, page tables (L1-L4) */
	uint64_t pinned;       /* page tables pinned */
	uint64_t p2m_frames;   /* frames of the guest's p2m list */
	uint64_t start_info;   /* start_info's pfn (vCPU 0's rdx) */
	uint32_t vcpus;	       /* vCPUs with a basic context */
	uint32_t libxc_version; /* the libxc stream's version (2 or 3) */
	uint64_t file_bytes;
};

/*
 * Parse the template file at path. 0 and *out (free with
 * uxd_image_free), or -errno with the reason in err naming the file and
 * what was wrong where ("... at offset N: ..."): not a libxl stream, not
 * an x86-64 PV guest, a truncated or inconsistent record.
 */
int uxd_image_load(const char *path, struct uxd_image **out, char *err,
		   size_t errlen);

/* The same from bytes in memory (for tests); name is used in messages. */
int uxd_image_parse(const void *data, size_t len, const char *name,
		    struct uxd_image **out, char *err, size_t errlen);

void uxd_image_free(struct uxd_image *img);

void uxd_image_get_info(const struct uxd_image *img,
			struct uxd_image_info *info);

/* Direct clones: Xen handles and a cache of parsed templates. */
struct uxd;
struct xs_handle;
typedef struct xenforeignmemory_handle xenforeignmemory_handle;

/*
 * Direct clones with the backend's xenstore connection xs (every request
 * on it made under *xs_lock, as the backend's own) and foreign memory
 * handle fmem, both kept open until uxd_close returns; opens its own
 * libxenctrl handle (under uxen_handle_enter: call it without that lock
 * held). NULL with the reason in err (not dom0, no privcmd).
 */
struct uxd *uxd_open(struct xs_handle *xs, pthread_mutex_t *xs_lock,
		     xenforeignmemory_handle *fmem, char *err, size_t errlen);

/* Wait for the console threads (their readers closed: within a poll),
 * close the libxenctrl handle (under uxen_handle_enter: call it without
 * that lock held) and free the cached templates (no domain touched). */
void uxd_close(struct uxd *d);

/*
 * Make sure the template file at path is parsed and cached (a file whose
 * size or mtime changed is read again). *parse_ns (NULL-able): time spent
 * parsing now (0 when cached). 0 or -errno with the reason.
 */
int uxd_warm(struct uxd *d, const char *path, int64_t *parse_ns, char *err,
	     size_t errlen);

/* Forget the cached parse of path (a dropped template). */
void uxd_forget(struct uxd *d, const char *path);

/* A clone to build. */
struct uxd_clone_req {
	const char *tpl_path; /* the template file */
	const char *name;     /* the domain's name (xenstore, console log) */
	uint64_t mem;	      /* bytes: the template's memory */
	uint32_t vcpus;
	int once; /* a fork's save file: parsed for this clone only, not
		   * cached (its parse time is in times->parse) */
	const struct uxd_image *img; /* not NULL: built from this image
				      * (uxd_snapshot), tpl_path unused */
};

/* Where the time of one clone went (ns, EMULATED under the testbed). */
struct uxd_clone_times {
	int64_t parse, create, populate, copy, context, store, total;
};

/*
 * A new PV domain from the template r->tpl_path, left paused: created,
 * its memory populated and the template's pages written (page tables and
 * the guest's p2m rewritten to the new frames), start_info naming new
 * xenstore and console event channels, vCPU contexts set as libxc's
 * restore sets them (the guest wakes from its suspend hypercall), page
 * tables pinned, grant table seeded, /local/domain/ID written (name,
 * console for xenconsoled, store) and introduced to xenstored. 0 and
 * *domid, or -errno with the reason in err; on failure the half-made
 * domain is destroyed. times (NULL-able) filled on success.
 */
int uxd_clone(struct uxd *d, const struct uxd_clone_req *r, uint32_t *domid,
	      struct uxd_clone_times *times, char *err, size_t errlen);

/*
 * PV domain domid, shut down in its suspend (SHUTDOWN_suspend: a fork's
 * parent that answered the suspend request), read into an image as
 * libxc's save would write it - its p2m from the frame lists in its
 * shared info, frame types, page tables with pfns (Xen's L4 slots
 * cleared), the pages that are not zeroes, each online vCPU's context
 * (frames as pfns, vCPU 0's rdx the start_info pfn), extended context,
 * xsave state and MSRs, shared info, TSC info - without a save stream
 * or file. The domain is not changed (it stays suspended: the caller
 * resumes it). 0 and *out (uxd_image_free), or -errno with the reason.
 */
int uxd_snapshot(struct uxd *d, uint32_t domid, struct uxd_image **out,
		 char *err, size_t errlen);

/* Wait (polling every 2 ms) until domain domid is shut down in its
 * suspend. 0, or -errno with the reason (gone, another shutdown, not
 * within timeout_ms). */
int uxd_wait_suspended(struct uxd *d, uint32_t domid, int timeout_ms,
		       char *err, size_t errlen);

/*
 * The console of a domain uxd_clone built: its ring (xenconsoled leaves it
 * alone: console/type is not "xenconsoled") drained by a thread into a
 * socket. Returns the socket's reading end (non-blocking; the guest's
 * console bytes; end of file once the thread ends), or -errno with the
 * reason. Closing it ends the thread (within 50 ms) and unmaps the ring.
 */
int uxd_console_open(struct uxd *d, uint32_t domid, char *err, size_t errlen);

#endif /* UKF_UXEN_DIRECT_H */
