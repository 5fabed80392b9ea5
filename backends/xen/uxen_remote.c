/* SPDX-License-Identifier: MIT */
/* uxen_remote.c - the Xen backend across nodes: template bytes out and in, a fork's state as a zstd delta against the template. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <zstd.h>

#include "uxen_int.h"
#include "core/le.h"
#include "core/ukf.h"
#include "include/ukf_abi.h"

/*
 * The bytes (docs/xen.md, "Across nodes"): a header, then one zstd frame.
 *
 *   template (kind 1): the frame is the template's libxl save image
 *     (what make_template wrote), compressed on its own;
 *   fork delta (kind 2): the frame is the parent's libxl save image
 *     (taken as a local fork takes it: suspend, save, resume) against
 *     the node's template image of the app: when both have the same
 *     length (the same domain saved twice: libxc writes its pages in the
 *     same order), the image XOR the template, compressed (flag XOR:
 *     what the parent did not change is zeros); else the image
 *     compressed with the template as zstd's prefix (long distance
 *     matching). Either way what the parent shares with its template
 *     costs almost nothing. The receiver needs the same template bytes
 *     (base_id, their BLAKE2b); with no template on the parent's node the
 *     frame is the whole image, compressed.
 *
 * Header, little-endian at fixed offsets (UXR_HDR_LEN bytes):
 *   0 magic "UKFXENR1"   8 kind   12 header length   16 app   20 vcpus
 *   24 memory bytes   32 raw length (the save image)   40 payload length
 *   48 base length (the prefix's; 0 none)   56 flags (1: image digest)
 *   64 app name[64]   128 image path[256]   384 args[2048]
 *   2432 image SHA-256   2464 raw id (kind 1: BLAKE2b-256 of the image)
 *   2496 base id   2528 payload BLAKE2b-256   2560 header BLAKE2b-256
 *   (of the header with this field zero)
 */
#define UXR_MAGIC	"UKFXENR1"
#define UXR_HDR_LEN	2592
#define UXR_O_NAME	64
#define UXR_O_IMAGE	128
#define UXR_O_ARGS	384
#define UXR_O_IMGSHA	2432
#define UXR_O_RAWID	2464
#define UXR_O_BASEID	2496
#define UXR_O_PAYID	2528
#define UXR_O_HDRSUM	2560
#define UXR_F_IMAGE	1
#define UXR_F_XOR	2 /* the frame holds image XOR template (same length) */
#define UXR_RAW_MAX	(2ULL << 30) /* a save image of a 1 GiB guest fits */
#define UXR_LEVEL	1	     /* zstd level: speed first */

static int times_on(void)
{
	const char *t = getenv("UKF_XEN_TIMES");

	return t && !strcmp(t, "1");
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)((t.tv_sec - t0->tv_sec) * UKF_S +
			(t.tv_nsec - t0->tv_nsec)) / UKF_MS;
}

static void digest(uint8_t out[32], const void *p, size_t n)
{
	crypto_generichash(out, 32, p, n, NULL, 0);
}

static void hex8(char *buf, const uint8_t *p)
{
	for (int i = 0; i < 8; i++)
		sprintf(buf + 2 * i, "%02x", p[i]);
}

/* A file mapped read-only (*p NULL for an empty file). 0 or -errno. */
static int map_file(const char *path, const void **p, size_t *len,
		    struct stat *st_out)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;

	*p = NULL;
	*len = 0;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	if (st_out)
		*st_out = st;
	if (st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
			       fd, 0);
		if (m == MAP_FAILED) {
			e = errno;
			close(fd);
			return -e;
		}
		*p = m;
		*len = (size_t)st.st_size;
	}
	close(fd);
	return 0;
}

static void unmap(const void *p, size_t len)
{
	if (p)
		munmap((void *)p, len);
}

/* SHA-256 of a file (the guest image's identity, as KVM's templates). */
static int file_sha256(const char *path, uint8_t out[32], char *err,
		       size_t errlen)
{
	const void *p;
	size_t n;
	int rc = map_file(path, &p, &n, NULL);

	if (rc < 0) {
		ukf_seterr(err, errlen, "guest image %s: %s", path, strerror(-rc));
		return rc;
	}
	crypto_hash_sha256(out, p, n);
	unmap(p, n);
	return 0;
}

/* ---------------- the bytes ---------------- */

int uxr_check(const void *data, size_t len, uint32_t kind,
	      struct uxr_hdr *out, char *err, size_t errlen)
{
	static const char *kinds[] = {"?", "template", "fork delta"};
	const uint8_t *p = data;
	uint8_t h[UXR_HDR_LEN], sum[32];
	struct uxr_hdr hd;
	uint32_t hlen;

	if (!data) {
		ukf_seterr(err, errlen, "no bytes");
		return -EINVAL;
	}
	if (len < 16) {
		ukf_seterr(err, errlen,
		       "truncated: %zu bytes, a xen %s's header is %d",
		       len, kinds[kind], UXR_HDR_LEN);
		return -EINVAL;
	}
	if (memcmp(p, UXR_MAGIC, 8)) {
		ukf_seterr(err, errlen,
		       "not a xen %s: no \"%s\" magic at its start (a template "
		       "of another backend, or not one at all)",
		       kinds[kind], UXR_MAGIC);
		return -EINVAL;
	}
	hlen = ukf_get32(p + 12);
	if (hlen != UXR_HDR_LEN) {
		ukf_seterr(err, errlen,
		       "xen %s: header of %u bytes, this build reads %d",
		       kinds[kind], hlen, UXR_HDR_LEN);
		return -EINVAL;
	}
	if (len < UXR_HDR_LEN) {
		ukf_seterr(err, errlen, "truncated: %zu bytes, the header alone is %d",
		       len, UXR_HDR_LEN);
		return -EINVAL;
	}
	memcpy(h, p, UXR_HDR_LEN);
	memset(h + UXR_O_HDRSUM, 0, 32);
	digest(sum, h, UXR_HDR_LEN);
	if (memcmp(sum, p + UXR_O_HDRSUM, 32)) {
		ukf_seterr(err, errlen, "xen %s: header checksum mismatch (corrupted)",
		       kinds[kind]);
		return -EINVAL;
	}
	memset(&hd, 0, sizeof(hd));
	hd.kind = ukf_get32(p + 8);
	hd.app = ukf_get32(p + 16);
	hd.vcpus = ukf_get32(p + 20);
	hd.mem = ukf_get64(p + 24);
	hd.raw_len = ukf_get64(p + 32);
	hd.payload_len = ukf_get64(p + 40);
	hd.base_len = ukf_get64(p + 48);
	hd.flags = ukf_get32(p + 56);
	memcpy(hd.app_name, p + UXR_O_NAME, sizeof(hd.app_name) - 1);
	memcpy(hd.image, p + UXR_O_IMAGE, sizeof(hd.image) - 1);
	memcpy(hd.args, p + UXR_O_ARGS, sizeof(hd.args) - 1);
	memcpy(hd.image_sha256, p + UXR_O_IMGSHA, 32);
	memcpy(hd.raw_id, p + UXR_O_RAWID, 32);
	memcpy(hd.base_id, p + UXR_O_BASEID, 32);
	if (hd.kind != kind) {
		ukf_seterr(err, errlen, "a xen %s, not a %s",
		       hd.kind == UXR_KIND_TEMPLATE ? "template"
		       : hd.kind == UXR_KIND_DELTA  ? "fork delta"
						    : "(unknown kind)",
		       kinds[kind]);
		return -EINVAL;
	}
	if (hd.raw_len == 0 || hd.raw_len > UXR_RAW_MAX) {
		ukf_seterr(err, errlen, "xen %s: image of %llu bytes (at most %llu)",
		       kinds[kind], (unsigned long long)hd.raw_len,
		       (unsigned long long)UXR_RAW_MAX);
		return -EINVAL;
	}
	if (hd.payload_len != len - UXR_HDR_LEN) {
		ukf_seterr(err, errlen,
		       "%s: %zu bytes after the header, it says %llu",
		       hd.payload_len > len - UXR_HDR_LEN ? "truncated"
							 : "trailing bytes",
		       len - UXR_HDR_LEN,
		       (unsigned long long)hd.payload_len);
		return -EINVAL;
	}
	digest(sum, p + UXR_HDR_LEN, (size_t)hd.payload_len);
	if (memcmp(sum, p + UXR_O_PAYID, 32)) {
		ukf_seterr(err, errlen,
		       "xen %s: payload checksum mismatch (corrupted)",
		       kinds[kind]);
		return -EINVAL;
	}
	if (ZSTD_getFrameContentSize(p + UXR_HDR_LEN, (size_t)hd.payload_len) !=
	    hd.raw_len) {
		ukf_seterr(err, errlen,
		       "xen %s: the zstd frame does not hold the %llu bytes "
		       "the header says",
		       kinds[kind], (unsigned long long)hd.raw_len);
		return -EINVAL;
	}
	hd.payload = p + UXR_HDR_LEN;
	if (out)
		*out = hd;
	return 0;
}

int uxr_pack(const struct uxr_hdr *h, const void *raw, size_t raw_len,
	     const void *pre, size_t pre_len, void **out, size_t *out_len,
	     char *err, size_t errlen)
{
	size_t cap = ZSTD_compressBound(raw_len), r;
	uint32_t flags = h->flags & ~(uint32_t)UXR_F_XOR;
	uint8_t *x = NULL;
	ZSTD_CCtx *c;
	uint8_t *b;

	*out = NULL;
	*out_len = 0;
	if (!raw_len || raw_len > UXR_RAW_MAX) {
		ukf_seterr(err, errlen, "image of %zu bytes", raw_len);
		return -EINVAL;
	}
	b = malloc(UXR_HDR_LEN + cap);
	c = ZSTD_createCCtx();
	if (!b || !c) {
		free(b);
		ZSTD_freeCCtx(c);
		ukf_seterr(err, errlen, "out of memory (%zu bytes)", cap);
		return -ENOMEM;
	}
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, UXR_LEVEL);
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	if (pre && pre_len == raw_len && (x = malloc(raw_len)) != NULL) {
		const uint8_t *a = raw, *t = pre;
		for (size_t i = 0; i < raw_len; i++)
			x[i] = a[i] ^ t[i];
		raw = x;
		flags |= UXR_F_XOR;
	} else if (pre && pre_len) {
		int wlog = 10; /* ZSTD_WINDOWLOG_MIN */
		while (wlog < 30 && (1ULL << wlog) < (uint64_t)pre_len + raw_len)
			wlog++;
		ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, wlog);
		ZSTD_CCtx_setParameter(c, ZSTD_c_enableLongDistanceMatching, 1);
		ZSTD_CCtx_refPrefix(c, pre, pre_len);
	}
	r = ZSTD_compress2(c, b + UXR_HDR_LEN, cap, raw, raw_len);
	ZSTD_freeCCtx(c);
	free(x);
	if (ZSTD_isError(r)) {
		ukf_seterr(err, errlen, "zstd: %s", ZSTD_getErrorName(r));
		free(b);
		return -EIO;
	}
	memset(b, 0, UXR_HDR_LEN);
	memcpy(b, UXR_MAGIC, 8);
	ukf_put32(b + 8, h->kind);
	ukf_put32(b + 12, UXR_HDR_LEN);
	ukf_put32(b + 16, h->app);
	ukf_put32(b + 20, h->vcpus);
	ukf_put64(b + 24, h->mem);
	ukf_put64(b + 32, raw_len);
	ukf_put64(b + 40, r);
	ukf_put64(b + 48, pre ? pre_len : 0);
	ukf_put32(b + 56, flags);
	memcpy(b + UXR_O_NAME, h->app_name, strnlen(h->app_name, 63));
	memcpy(b + UXR_O_IMAGE, h->image, strnlen(h->image, UXEN_META_IMAGE - 1));
	memcpy(b + UXR_O_ARGS, h->args, strnlen(h->args, sizeof(h->args) - 1));
	memcpy(b + UXR_O_IMGSHA, h->image_sha256, 32);
	memcpy(b + UXR_O_RAWID, h->raw_id, 32);
	if (pre)
		memcpy(b + UXR_O_BASEID, h->base_id, 32);
	digest(b + UXR_O_PAYID, b + UXR_HDR_LEN, r);
	digest(b + UXR_O_HDRSUM, b, UXR_HDR_LEN);
	*out = b;
	*out_len = UXR_HDR_LEN + r;
	return 0;
}

/* Is pre (identity pre_id, NULL: computed) the template h was made
 * against? 0 or -EINVAL with the reason. */
static int base_check(const struct uxr_hdr *h, const void *pre,
		      size_t pre_len, const uint8_t *pre_id, char *err,
		      size_t errlen)
{
	uint8_t id[32];

	if (!h->base_len)
		return 0;
	if (!pre || pre_len != h->base_len) {
		ukf_seterr(err, errlen,
		       "the delta was made against a template image of %llu "
		       "bytes, this node's is %zu",
		       (unsigned long long)h->base_len, pre ? pre_len : 0);
		return -EINVAL;
	}
	if (!pre_id) {
		digest(id, pre, pre_len);
		pre_id = id;
	}
	if (memcmp(pre_id, h->base_id, 32)) {
		char a[17], w[17];
		hex8(a, h->base_id);
		hex8(w, pre_id);
		ukf_seterr(err, errlen,
		       "the delta was made against another template image "
		       "(%s..., this node's is %s...)",
		       a, w);
		return -EINVAL;
	}
	return 0;
}

int uxr_unpack_fd(const struct uxr_hdr *h, const void *pre, size_t pre_len,
		  const uint8_t *pre_id, int fd, char *err, size_t errlen)
{
	static const size_t chunk = 1 << 20;
	ZSTD_inBuffer in = {h->payload, (size_t)h->payload_len, 0};
	const uint8_t *t = pre;
	uint64_t off = 0;
	ZSTD_DCtx *d;
	uint8_t *buf;
	size_t r = 1;
	int rc;

	rc = base_check(h, pre, pre_len, pre_id, err, errlen);
	if (rc < 0)
		return rc;
	if (h->base_len && !(h->flags & UXR_F_XOR)) {
		/* against a prefix: one pass into a mapping of the file */
		void *out;
		if (ftruncate(fd, (off_t)h->raw_len) < 0 ||
		    (out = mmap(NULL, (size_t)h->raw_len,
				PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) ==
			MAP_FAILED) {
			rc = -errno;
			ukf_seterr(err, errlen, "image of %llu bytes: %s",
			       (unsigned long long)h->raw_len, strerror(-rc));
			return rc;
		}
		rc = uxr_unpack(h, pre, pre_len, h->base_id, out, err, errlen);
		munmap(out, (size_t)h->raw_len);
		return rc;
	}
	d = ZSTD_createDCtx();
	buf = malloc(chunk);
	if (!d || !buf) {
		ZSTD_freeDCtx(d);
		free(buf);
		ukf_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 31);
	while (r != 0) {
		ZSTD_outBuffer o = {buf, chunk, 0};
		if (in.pos == in.size && off >= h->raw_len)
			break;
		r = ZSTD_decompressStream(d, &o, &in);
		if (ZSTD_isError(r)) {
			ukf_seterr(err, errlen, "zstd: %s", ZSTD_getErrorName(r));
			rc = -EINVAL;
			break;
		}
		if (off + o.pos > h->raw_len) {
			ukf_seterr(err, errlen, "zstd: more than %llu bytes",
			       (unsigned long long)h->raw_len);
			rc = -EINVAL;
			break;
		}
		if (h->flags & UXR_F_XOR)
			for (size_t i = 0; i < o.pos; i++)
				buf[i] ^= t[off + i];
		for (size_t w = 0; w < o.pos;) {
			ssize_t n = write(fd, buf + w, o.pos - w);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				rc = n < 0 ? -errno : -EIO;
				ukf_seterr(err, errlen, "writing the image: %s",
				       strerror(-rc));
				break;
			}
			w += (size_t)n;
		}
		if (rc)
			break;
		off += o.pos;
		if (r != 0 && in.pos == in.size && o.pos < chunk) {
			ukf_seterr(err, errlen, "zstd: the frame ends early");
			rc = -EINVAL;
			break;
		}
	}
	ZSTD_freeDCtx(d);
	free(buf);
	if (!rc && off != h->raw_len) {
		ukf_seterr(err, errlen, "zstd: %llu bytes, not %llu",
		       (unsigned long long)off,
		       (unsigned long long)h->raw_len);
		rc = -EINVAL;
	}
	return rc;
}

int uxr_unpack(const struct uxr_hdr *h, const void *pre, size_t pre_len,
	       const uint8_t *pre_id, void *out, char *err, size_t errlen)
{
	ZSTD_DCtx *d;
	size_t r;
	int rc;

	rc = base_check(h, pre, pre_len, pre_id, err, errlen);
	if (rc < 0)
		return rc;
	d = ZSTD_createDCtx();
	if (!d) {
		ukf_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 31);
	if (h->base_len && !(h->flags & UXR_F_XOR))
		ZSTD_DCtx_refPrefix(d, pre, pre_len);
	r = ZSTD_decompressDCtx(d, out, (size_t)h->raw_len, h->payload,
				(size_t)h->payload_len);
	ZSTD_freeDCtx(d);
	if (ZSTD_isError(r) || r != h->raw_len) {
		ukf_seterr(err, errlen, "zstd: %s%s",
		       ZSTD_isError(r) ? ZSTD_getErrorName(r)
				       : "short output",
		       h->base_len ? " (decompressed against this node's "
				     "template: not the one it was made "
				     "against?)"
				   : "");
		return -EINVAL;
	}
	if (h->flags & UXR_F_XOR) {
		uint8_t *o = out;
		const uint8_t *t = pre;
		for (size_t i = 0; i < (size_t)h->raw_len; i++)
			o[i] ^= t[i];
	}
	return 0;
}

/* ---------------- templates ---------------- */

/*
 * The identity of app's template on this node (its file mapped in *map
 * when map is not NULL: the caller unmaps it). Computed once per file
 * version, cached in the template's record. 0 or -errno with the reason.
 */
static int tpl_identity(struct uxen *x, uint32_t app, char *path,
			size_t pathlen, struct uxen_meta *meta,
			struct uxen_tpl_id *id, const void **map,
			size_t *maplen, char *err, size_t errlen)
{
	const void *p;
	size_t n;
	struct stat st;
	int64_t mt;
	int rc = uxen_tpl_get(x, app, path, pathlen, meta, id);

	if (rc < 0) {
		ukf_seterr(err, errlen, "no template of app %u on this node", app);
		return rc;
	}
	rc = map_file(path, &p, &n, &st);
	if (rc < 0) {
		ukf_seterr(err, errlen, "template file %s: %s", path, strerror(-rc));
		return rc;
	}
	if (!n) {
		ukf_seterr(err, errlen, "template file %s is empty", path);
		return -EINVAL;
	}
	mt = (int64_t)st.st_mtim.tv_sec * UKF_S + st.st_mtim.tv_nsec;
	if (!id->valid || id->size != n || id->mtime_ns != mt) {
		digest(id->id, p, n);
		id->size = n;
		id->mtime_ns = mt;
		id->valid = 1;
		uxen_tpl_set_id(x, app, id);
	}
	if (map) {
		*map = p;
		*maplen = n;
	} else {
		unmap(p, n);
	}
	return 0;
}

int uxr_export_template(void *b, ukf_node_id_t node, uint32_t app,
			void **data, size_t *len, uint64_t *bytes)
{
	struct uxen *x = b;
	char path[512], err[600];
	struct uxen_meta meta;
	struct uxen_tpl_id id;
	struct uxr_hdr h;
	struct timespec t0;
	const void *p;
	size_t n;
	int rc;

	(void)node;
	if (!x || !data || !len || !bytes)
		return -EINVAL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	*data = NULL;
	*len = 0;
	*bytes = 0;
	if (sodium_init() < 0)
		return -EIO;
	rc = tpl_identity(x, app, path, sizeof(path), &meta, &id, &p, &n, err,
			  sizeof(err));
	if (rc < 0)
		return rc == -ENOENT ? -ENOENT : -EIO;
	memset(&h, 0, sizeof(h));
	h.kind = UXR_KIND_TEMPLATE;
	h.app = app;
	h.vcpus = meta.vcpus;
	h.mem = meta.mem;
	snprintf(h.app_name, sizeof(h.app_name), "%s", meta.app_name);
	snprintf(h.image, sizeof(h.image), "%s", meta.image);
	if (meta.image[0] &&
	    file_sha256(meta.image, h.image_sha256, err, sizeof(err)) == 0)
		h.flags |= UXR_F_IMAGE;
	memcpy(h.raw_id, id.id, 32);
	rc = uxr_pack(&h, p, n, NULL, 0, data, len, err, sizeof(err));
	unmap(p, n);
	if (times_on())
		fprintf(stderr,
			"xen: template of app %u exported: %zu bytes as %zu in "
			"%.1f ms [EMULATED]%s%s\n",
			app, n, *len, ms_since(&t0), rc < 0 ? ": " : "",
			rc < 0 ? err : "");
	if (rc < 0)
		return rc;
	/* as make_template counts it: the guest memory it froze (the file's
	 * size when an earlier backend left it and its memory is unknown) */
	*bytes = meta.mem ? meta.mem : n;
	return 0;
}

int uxr_template_info(void *b, const struct ukf_app *app, const void *data,
		      size_t len, struct ukf_template_info *info, char *err,
		      size_t errlen)
{
	struct uxr_hdr h;
	uint8_t sha[32];
	uint64_t want;
	int rc;

	(void)b;
	if (!info) {
		ukf_seterr(err, errlen, "no info to fill");
		return -EINVAL;
	}
	memset(info, 0, sizeof(*info));
	if (sodium_init() < 0) {
		ukf_seterr(err, errlen, "libsodium cannot start");
		return -EIO;
	}
	rc = uxr_check(data, len, UXR_KIND_TEMPLATE, &h, err, errlen);
	if (rc < 0)
		return rc;
	snprintf(info->app_name, sizeof(info->app_name), "%s", h.app_name);
	info->bytes = h.mem ? h.mem : h.raw_len;
	info->mem_bytes = h.mem;
	info->has_image = !!(h.flags & UXR_F_IMAGE);
	memcpy(info->image_sha256, h.image_sha256, 32);
	if (!app)
		return 0;
	if (app->name[0] && h.app_name[0] && strcmp(app->name, h.app_name)) {
		ukf_seterr(err, errlen, "a template of app '%s', not '%s'",
		       h.app_name, app->name);
		return -EINVAL;
	}
	want = (app->mem_bytes + (1 << 20) - 1) & ~((uint64_t)(1 << 20) - 1);
	if (app->mem_bytes && h.mem && h.mem != want) {
		ukf_seterr(err, errlen,
		       "a template of %llu MiB of memory, app '%s' has %llu MiB",
		       (unsigned long long)(h.mem >> 20), app->name,
		       (unsigned long long)(want >> 20));
		return -EINVAL;
	}
	if (app->image[0] && info->has_image) {
		char a[17], w[17];
		rc = file_sha256(app->image, sha, err, errlen);
		if (rc < 0)
			return rc;
		if (memcmp(sha, h.image_sha256, 32)) {
			hex8(a, h.image_sha256);
			hex8(w, sha);
			ukf_seterr(err, errlen,
			       "a template of another image of app '%s' "
			       "(sha256 %s..., %s is %s...)",
			       app->name, a, app->image, w);
			return -EINVAL;
		}
	}
	return 0;
}

struct load_job {
	struct uxen *x;
	uint32_t app;
	void *data;
	size_t len;
};

static void error_event(struct uxen *x, ukf_id_t inst, uint32_t app, int rc,
			const char *text)
{
	struct ukf_be_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = UKF_BE_ERROR;
	ev.inst = inst;
	ev.app = app;
	ev.status = rc;
	ev.text = text;
	uxen_emit(x, &ev);
}

/* A new temporary file in the template directory: its fd (path named),
 * or -errno with the reason. */
static int out_file(struct uxen *x, const char *what, unsigned long long n,
		    char *path, size_t pathlen, char *err, size_t errlen)
{
	int fd, e;

	snprintf(path, pathlen, "%s/ukf-xen-%s-%d-%llu.part", uxen_tpl_dir(x),
		 what, (int)getpid(), n);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		e = errno;
		ukf_seterr(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	return fd;
}

static void *load_main(void *arg)
{
	struct load_job *j = arg;
	struct uxen *x = j->x;
	char err[700], path[600], text[800];
	struct uxen_meta meta;
	struct uxen_tpl_id id;
	struct ukf_be_event ev;
	struct uxr_hdr h;
	struct timespec t0;
	int rc, fd = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = uxr_check(j->data, j->len, UXR_KIND_TEMPLATE, &h, err,
		       sizeof(err));
	if (!rc) {
		fd = out_file(x, "load", j->app, path, sizeof(path), err,
			      sizeof(err));
		rc = fd < 0 ? fd : 0;
	}
	if (!rc) {
		rc = uxr_unpack_fd(&h, NULL, 0, NULL, fd, err, sizeof(err));
		if (close(fd) < 0 && !rc) {
			rc = -errno;
			ukf_seterr(err, sizeof(err), "%s: %s", path, strerror(-rc));
		}
		if (!rc) {
			memset(&meta, 0, sizeof(meta));
			meta.app = j->app;
			snprintf(meta.app_name, sizeof(meta.app_name), "%s",
				 h.app_name);
			snprintf(meta.image, sizeof(meta.image), "%s",
				 h.image);
			meta.mem = h.mem;
			meta.vcpus = h.vcpus;
			memset(&id, 0, sizeof(id));
			memcpy(id.id, h.raw_id, 32);
			id.valid = 1; /* zstd's checksum held: these bytes */
			rc = uxen_tpl_install(x, j->app, path, &meta, &id);
			if (rc < 0)
				ukf_seterr(err, sizeof(err), "installing %s: %s",
				       path, strerror(-rc));
		}
		if (rc)
			unlink(path);
	}
	if (times_on())
		fprintf(stderr,
			"xen: template of app %u loaded from %zu bytes in %.1f "
			"ms [EMULATED]%s%s\n",
			j->app, j->len, ms_since(&t0), rc ? ": refused: " : "",
			rc ? err : "");
	if (rc) {
		snprintf(text, sizeof(text), "xen: template of app %u refused: %s",
			 j->app, err);
		error_event(x, 0, j->app, rc, text);
	} else {
		memset(&ev, 0, sizeof(ev));
		ev.kind = UKF_BE_TEMPLATE;
		ev.app = j->app;
		ev.bytes = h.mem ? h.mem : h.raw_len;
		uxen_emit(x, &ev);
	}
	free(j->data);
	free(j);
	uxen_job(x, -1);
	return NULL;
}

/* Bytes from a peer (export_template's): checked, decompressed to the
 * template file of app in a thread; UKF_BE_TEMPLATE or UKF_BE_ERROR. */
int uxr_load_template(void *b, ukf_node_id_t node, uint32_t app,
		      const void *data, size_t bytes)
{
	struct load_job *j;
	pthread_t thr;
	int rc;

	(void)node;
	if (!b || !data)
		return -EINVAL; /* a real node needs the bytes */
	if (sodium_init() < 0)
		return -EIO;
	j = calloc(1, sizeof(*j));
	if (!j || !(j->data = malloc(bytes ? bytes : 1))) {
		free(j);
		return -ENOMEM;
	}
	memcpy(j->data, data, bytes);
	j->x = b;
	j->app = app;
	j->len = bytes;
	uxen_job(b, 1);
	rc = -pthread_create(&thr, NULL, load_main, j);
	if (rc) {
		uxen_job(b, -1);
		free(j->data);
		free(j);
		return rc;
	}
	pthread_detach(thr);
	return 0;
}

/* ---------------- forks across nodes ---------------- */

struct save_job {
	struct uxen *x;
	struct uxen_vm *pa;
	ukf_id_t parent;
	struct uxen_meta meta;
	char args[2048];
};

static void *save_main(void *arg)
{
	struct save_job *j = arg;
	struct uxen *x = j->x;
	char err[1600], path[600], tpath[512], text[1800];
	const void *img = NULL, *pre = NULL;
	size_t img_len = 0, pre_len = 0, len = 0;
	struct uxen_meta tmeta;
	struct uxen_tpl_id id;
	struct ukf_be_event ev;
	struct uxr_hdr h;
	struct timespec t0, t1, t2;
	void *out = NULL;
	int fd, rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(path, sizeof(path), "%s/ukf-xen-rsave-%d-%llu",
		 uxen_tpl_dir(x), (int)getpid(),
		 (unsigned long long)j->parent);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		ukf_seterr(err, sizeof(err), "%s: %s", path, strerror(-rc));
		uxen_parent_release(x, j->pa);
		goto out;
	}
	rc = uxen_parent_checkpoint(x, j->pa, fd, err, sizeof(err));
	close(fd);
	j->pa = NULL; /* the hold ended: it may go now */
	if (rc < 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rc = map_file(path, &img, &img_len, NULL);
	if (rc < 0 || !img_len) {
		ukf_seterr(err, sizeof(err), "the parent's save image %s: %s", path,
		       rc < 0 ? strerror(-rc) : "empty");
		rc = rc < 0 ? rc : -EIO;
		goto out;
	}
	memset(&h, 0, sizeof(h));
	/* the template of its app, if this node has one, is the prefix */
	if (tpl_identity(x, j->meta.app, tpath, sizeof(tpath), &tmeta, &id,
			 &pre, &pre_len, text, sizeof(text)) == 0)
		memcpy(h.base_id, id.id, 32);
	else
		pre = NULL;
	h.kind = UXR_KIND_DELTA;
	h.app = j->meta.app;
	h.vcpus = j->meta.vcpus;
	h.mem = j->meta.mem;
	snprintf(h.app_name, sizeof(h.app_name), "%s", j->meta.app_name);
	snprintf(h.image, sizeof(h.image), "%s", j->meta.image);
	snprintf(h.args, sizeof(h.args), "%s", j->args);
	rc = uxr_pack(&h, img, img_len, pre, pre_len, &out, &len, err,
		      sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t2);
	if (times_on())
		fprintf(stderr,
			"xen: remote fork of %llu: saved %zu bytes in %.1f ms, "
			"delta %zu bytes (%s) in %.1f ms [EMULATED]\n",
			(unsigned long long)j->parent, img_len,
			(double)((t1.tv_sec - t0.tv_sec) * UKF_S +
				 (t1.tv_nsec - t0.tv_nsec)) / UKF_MS,
			len,
			!pre ? "no template"
			: pre_len == img_len ? "XOR the template"
					     : "the template as zstd's prefix",
			(double)((t2.tv_sec - t1.tv_sec) * UKF_S +
				 (t2.tv_nsec - t1.tv_nsec)) / UKF_MS);
out:
	unmap(img, img_len);
	unmap(pre, pre_len);
	unlink(path);
	if (rc < 0) {
		snprintf(text, sizeof(text), "xen: remote fork of %llu: %s",
			 (unsigned long long)j->parent, err);
		error_event(x, j->parent, 0, rc, text);
	} else {
		memset(&ev, 0, sizeof(ev));
		ev.kind = UKF_BE_DELTA;
		ev.inst = j->parent;
		ev.data = out;
		ev.len = len;
		ev.bytes = len; /* what crosses the network */
		uxen_emit(x, &ev);
	}
	free(out);
	free(j);
	uxen_job(x, -1);
	return NULL;
}

/*
 * Parent (paused in its fork call) saved by libxl as a local fork saves
 * it, resumed (it goes on waiting for its answer), its image compressed
 * against the node's template of its app: UKF_BE_DELTA (data/len) or
 * UKF_BE_ERROR with the reason. -ESRCH / -EBUSY at once.
 */
int uxr_save_delta(void *b, ukf_node_id_t node, ukf_id_t parent)
{
	struct uxen *x = b;
	struct save_job *j;
	pthread_t thr;
	int rc;

	(void)node;
	if (!x)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->x = x;
	j->parent = parent;
	j->pa = uxen_parent_hold(x, parent, &j->meta, j->args,
				 sizeof(j->args), &rc);
	if (!j->pa) {
		free(j);
		return rc;
	}
	uxen_job(x, 1);
	rc = -pthread_create(&thr, NULL, save_main, j);
	if (rc) {
		uxen_job(x, -1);
		uxen_parent_release(x, j->pa);
		free(j);
		return rc;
	}
	pthread_detach(thr);
	return 0;
}

struct restore_job {
	uint32_t app;
	ukf_id_t child;
	void *data; /* the delta (copied) */
	size_t len;
};

/* The child's restore file from the delta (in its watcher thread). */
static int restore_prep(struct uxen *x, void *arg, char *path, size_t pathlen,
			char *err, size_t errlen)
{
	struct restore_job *j = arg;
	char tpath[512], why[700];
	const void *pre = NULL;
	size_t pre_len = 0;
	struct uxen_meta tmeta;
	struct uxen_tpl_id id;
	struct uxr_hdr h;
	struct timespec t0;
	int rc, fd;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = uxr_check(j->data, j->len, UXR_KIND_DELTA, &h, err, errlen);
	if (rc < 0)
		goto out;
	if (h.base_len) {
		rc = tpl_identity(x, j->app, tpath, sizeof(tpath), &tmeta, &id,
				  &pre, &pre_len, why, sizeof(why));
		if (rc < 0) {
			ukf_seterr(err, errlen, "the delta needs a template: %s",
			       why);
			goto out;
		}
	}
	fd = out_file(x, "rfork", (unsigned long long)j->child, path, pathlen,
		      err, errlen);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	rc = uxr_unpack_fd(&h, pre, pre_len, h.base_len ? id.id : NULL, fd,
			   err, errlen);
	if (close(fd) < 0 && !rc) {
		rc = -errno;
		ukf_seterr(err, errlen, "%s: %s", path, strerror(-rc));
	}
	if (times_on())
		fprintf(stderr,
			"xen: remote fork child %llu: %zu delta bytes unpacked "
			"to %llu in %.1f ms [EMULATED]\n",
			(unsigned long long)j->child, j->len,
			(unsigned long long)h.raw_len, ms_since(&t0));
	if (rc < 0)
		unlink(path);
out:
	unmap(pre, pre_len);
	free(j->data);
	free(j);
	return rc < 0 ? -1 : 0;
}

/*
 * Child from a peer's delta: checked now (bytes, and the template it was
 * made against: -ESTALE when this node's template of app is another, so
 * the engine brings the parent's), decompressed against the template and
 * restored as a new domain in the child's thread (uxen_child_add).
 */
int uxr_restore_delta(void *b, ukf_node_id_t node, ukf_id_t child,
		      uint32_t app, const void *delta, size_t len,
		      uint64_t delta_bytes)
{
	struct uxen *x = b;
	char err[700], tpath[512];
	struct uxen_meta tmeta, meta;
	struct uxen_tpl_id id;
	struct restore_job *j;
	struct uxr_hdr h;
	int rc;

	(void)delta_bytes;
	if (!x || !delta)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	memset(&tmeta, 0, sizeof(tmeta));
	if (uxr_check(delta, len, UXR_KIND_DELTA, &h, err, sizeof(err)) < 0) {
		/* bad bytes: the child fails with the reason, from its
		 * thread (restore_prep checks them again) */
		memset(&h, 0, sizeof(h));
		h.mem = UKF_MEM_MIN;
	} else if (h.base_len) {
		rc = tpl_identity(x, app, tpath, sizeof(tpath), &tmeta, &id,
				  NULL, NULL, err, sizeof(err));
		if (rc < 0 || memcmp(id.id, h.base_id, 32))
			return -ESTALE;
	} else {
		uxen_tpl_get(x, app, tpath, sizeof(tpath), &tmeta, &id);
	}
	meta = tmeta;
	meta.app = app;
	meta.mem = h.mem;
	meta.vcpus = h.vcpus;
	if (!meta.app_name[0])
		snprintf(meta.app_name, sizeof(meta.app_name), "%s",
			 h.app_name);
	if (!meta.image[0])
		snprintf(meta.image, sizeof(meta.image), "%s", h.image);
	j = calloc(1, sizeof(*j));
	if (!j || !(j->data = malloc(len))) {
		free(j);
		return -ENOMEM;
	}
	memcpy(j->data, delta, len);
	j->len = len;
	j->app = app;
	j->child = child;
	rc = uxen_child_add(x, node, child, &meta, h.args, restore_prep, j);
	if (rc < 0) {
		free(j->data);
		free(j);
	}
	return rc;
}
