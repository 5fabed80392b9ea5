/* SPDX-License-Identifier: MIT */
/* uxen_int.h - what uxen.c lends uxen_remote.c (templates and forks across nodes): a few accessors, no struct layouts. */
#ifndef UKF_UXEN_INT_H
#define UKF_UXEN_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/backend.h"

struct uxen;	/* the backend (uxen.c) */
struct uxen_vm; /* one domain and its watcher thread (uxen.c) */

#define UXEN_META_IMAGE 256 /* = UKF_APP_PATH_MAX */

/*
 * What a template or a domain was made from: the app (its id in this
 * node's engine, its name), the guest image's path, memory and vCPUs.
 * Strings are NUL-terminated; "" when not known (a template file an
 * earlier backend left).
 */
struct uxen_meta {
	uint32_t app;
	char app_name[64]; /* UKF_APP_NAME_MAX */
	char image[UXEN_META_IMAGE];
	uint64_t mem;
	uint32_t vcpus;
};

/*
 * A template's identity (uxen_remote.c): BLAKE2b-256 of its libxl save
 * image, valid while the file keeps the size and mtime it had when it was
 * computed (a new template of the app replaces the file).
 */
struct uxen_tpl_id {
	uint8_t id[32];
	uint64_t size;
	int64_t mtime_ns;
	int valid;
};

/*
 * The node's template of app: its file (path), size, meta and cached
 * identity. 0, or -ENOENT (none registered; a file an earlier backend
 * left at the template path counts, with empty meta).
 */
int uxen_tpl_get(struct uxen *x, uint32_t app, char *path, size_t pathlen,
		 struct uxen_meta *meta, struct uxen_tpl_id *id);

/* Remember id as the identity of app's template (no-op without one). */
void uxen_tpl_set_id(struct uxen *x, uint32_t app,
		     const struct uxen_tpl_id *id);

/*
 * Install the libxl save image at tmp (a file in the template directory)
 * as the node's template of app with meta and id: renamed to the
 * template path, registered (replacing an older one). 0 or -errno.
 */
int uxen_tpl_install(struct uxen *x, uint32_t app, const char *tmp,
		     const struct uxen_meta *meta,
		     const struct uxen_tpl_id *id);

/* The backend's template directory (for temporary files). */
const char *uxen_tpl_dir(struct uxen *x);

/* A thread of uxen_remote.c begins (+1) or ends (-1): the backend's
 * destruction waits until none runs. */
void uxen_job(struct uxen *x, int delta);

/* Hand ev to the engine's sink (thread-safe). */
void uxen_emit(struct uxen *x, struct ukf_be_event *ev);

/* libxl's last words for rc ("libxl error fail (-3): ...") into buf. */
const char *uxen_xl_error(char *buf, size_t len, int rc);

/*
 * Take instance parent, paused in its fork call, for a checkpoint: marks
 * it as being saved (no other fork or template of it meanwhile; its
 * destruction waits) and fills *meta. Returns its handle, or NULL with
 * *rc = -ESRCH (no such instance paused in fork) or -EBUSY (a fork or
 * template of it is under way).
 */
struct uxen_vm *uxen_parent_hold(struct uxen *x, ukf_id_t parent,
				 struct uxen_meta *meta, char *args,
				 size_t argslen, int *rc);

/* End the hold without a checkpoint. */
void uxen_parent_release(struct uxen *x, struct uxen_vm *pa);

/*
 * The held parent saved by libxl to fd (its fork's suspend, as a local
 * fork does) and resumed, still waiting in its fork call; the hold ends
 * either way. 0, or -EIO with libxl's reason in err (the parent resumed;
 * one that cannot be resumed fails with the reason).
 */
int uxen_parent_checkpoint(struct uxen *x, struct uxen_vm *pa, int fd,
			   char *err, size_t errlen);

/*
 * Make the file a new child's domain will be restored from: called first
 * in the child's watcher thread; writes the file's path into path, 0 or -1
 * with the reason in err (the child then fails with it). Owns arg: frees
 * it either way (also when called with stop set).
 */
typedef int (*uxen_prep_fn)(struct uxen *x, void *arg, char *path,
			    size_t pathlen, char *err, size_t errlen);

/*
 * A fork child made on this node from another node's parent: instance
 * child, a domain of meta's memory and vCPUs restored from the file prep
 * makes, waiting in its copy of the fork call for complete() (0) as a
 * local fork's child does; UKF_BE_STARTED once it runs, UKF_BE_FAIL with
 * the reason if prep or the restore fails. 0 (arg is prep's), -EEXIST,
 * -ENOMEM (limits), or another -errno (arg not taken: the caller frees).
 */
int uxen_child_add(struct uxen *x, ukf_node_id_t node, ukf_id_t child,
		   const struct uxen_meta *meta, const char *args,
		   uxen_prep_fn prep, void *arg);

/* ---- uxen_remote.c: the ops across nodes (backend.h's contracts) ---- */

int uxr_load_template(void *b, ukf_node_id_t node, uint32_t app,
		      const void *data, size_t bytes);
int uxr_export_template(void *b, ukf_node_id_t node, uint32_t app,
			void **data, size_t *len, uint64_t *bytes);
int uxr_template_info(void *b, const struct ukf_app *app, const void *data,
		      size_t len, struct ukf_template_info *info, char *err,
		      size_t errlen);
int uxr_save_delta(void *b, ukf_node_id_t node, ukf_id_t parent);
int uxr_restore_delta(void *b, ukf_node_id_t node, ukf_id_t child,
		      uint32_t app, const void *delta, size_t len,
		      uint64_t delta_bytes);

/*
 * Bytes checked as this backend's template (kind 1) or fork delta (kind
 * 2): header bounds and checksum, kind, payload length and checksum.
 * Fills the header fields out (NULL-able). 0 or -EINVAL with the reason
 * in err ("truncated: ...", "not a xen template: ..."). For tests.
 */
struct uxr_hdr {
	uint32_t kind, app, vcpus, flags;
	uint64_t mem, raw_len, payload_len, base_len;
	char app_name[64];
	char image[UXEN_META_IMAGE];
	char args[2048];
	uint8_t image_sha256[32], raw_id[32], base_id[32];
	const uint8_t *payload;
};
#define UXR_KIND_TEMPLATE 1
#define UXR_KIND_DELTA	  2
int uxr_check(const void *data, size_t len, uint32_t kind,
	      struct uxr_hdr *out, char *err, size_t errlen);

/*
 * Bytes of h's kind: the header from h (kind, app, vcpus, mem, flags,
 * app name, image, args, image digest, raw id, base id) and raw_len bytes
 * of raw compressed, against pre (base length and id) when not NULL.
 * *out malloc'd, the caller frees it. 0 or -errno with the reason.
 */
int uxr_pack(const struct uxr_hdr *h, const void *raw, size_t raw_len,
	     const void *pre, size_t pre_len, void **out, size_t *out_len,
	     char *err, size_t errlen);

/*
 * The image of bytes checked by uxr_check (h) into out (h->raw_len
 * bytes), with pre the template image the delta was made against and
 * pre_id its identity (BLAKE2b-256; NULL: computed here). 0, or -EINVAL
 * with the reason (pre of another length or identity than the delta's
 * base; a frame that does not decompress).
 */
int uxr_unpack(const struct uxr_hdr *h, const void *pre, size_t pre_len,
	       const uint8_t *pre_id, void *out, char *err, size_t errlen);

/* The same written to fd (an empty file) in 1 MiB steps (no mapping of
 * the whole image: page faults are dear in a PV dom0), except for a delta
 * against zstd's prefix, which is mapped. */
int uxr_unpack_fd(const struct uxr_hdr *h, const void *pre, size_t pre_len,
		  const uint8_t *pre_id, int fd, char *err, size_t errlen);

/*
 * Held while a Xen handle (xenstore, event channel, foreign memory,
 * libxenctrl) is opened or closed anywhere in the process, around
 * libxenctrl calls made outside libxl (uxen_direct.c: their hypercall
 * buffers come from libxencall's cache, whose lock is process-wide), and
 * across libxl's fork(): a fork while another thread holds
 * libxentoolcore's or libxencall's lock leaves libxl's child stuck on it
 * (uxen.c, "handle_lock"; a destroy's child was seen stuck in
 * xencall_alloc_buffer_pages while a fork's snapshot ran). Not held while
 * waiting for anything else.
 */
void uxen_handle_enter(void);
void uxen_handle_leave(void);

#endif /* UKF_UXEN_INT_H */
