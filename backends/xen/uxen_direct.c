/* SPDX-License-Identifier: MIT */
/* uxen_direct.c - clones of a PV template built directly from its parsed libxl save image (libxenctrl, no libxl restore). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/io/console.h>
#include <xenguest.h>
#include <xenstore.h>

#include "uxen_direct.h"
#include "uxen_int.h"

/*
 * The stream (Xen's docs/specs/libxl-migration-stream.pandoc and
 * libxc-migration-stream.pandoc): libxl's header (big-endian), libxl's
 * records; the LIBXC_CONTEXT record (empty) is followed by libxc's stream:
 * its image header (big-endian), domain header, records (8-byte aligned,
 * little-endian here), up to its END; then libxl's END.
 */
#define UXD_PAGE	 4096u
#define UXD_LIBXL_IDENT	 0x4c6962786c466d74ULL /* "LibxlFmt" */
#define UXD_LIBXC_MARKER 0xffffffffffffffffULL
#define UXD_LIBXC_ID	 0x58454e46u /* "XENF" */
#define UXD_DHDR_X86_PV	 1u
#define UXD_VCPUS_MAX	 128u
#define UXD_NPFN_MAX	 (1ULL << 20) /* 4 GiB of guest: far beyond ours */
#define UXD_CON_TYPE	 "ukfork-direct" /* console/type: read by us */
#define UXD_CON_POLL_MS	 50

enum {
	LXL_END = 0,
	LXL_LIBXC_CONTEXT = 1,
};

enum {
	REC_END = 0x00,
	REC_PAGE_DATA = 0x01,
	REC_X86_PV_INFO = 0x02,
	REC_X86_PV_P2M_FRAMES = 0x03,
	REC_X86_PV_VCPU_BASIC = 0x04,
	REC_X86_PV_VCPU_EXTENDED = 0x05,
	REC_X86_PV_VCPU_XSAVE = 0x06,
	REC_SHARED_INFO = 0x07,
	REC_X86_TSC_INFO = 0x08,
	REC_X86_PV_VCPU_MSRS = 0x0c,
	REC_VERIFY = 0x0d,
	REC_STATIC_DATA_END = 0x10,
	REC_X86_CPUID_POLICY = 0x11,
	REC_X86_MSR_POLICY = 0x12,
	REC_OPTIONAL = 0x80000000u,
};

#define PD_PFN_MASK  0x000fffffffffffffULL
#define PD_TYPE_MASK 0xf000000000000000ULL
#define PTE_P	     0x1ULL
#define PTE_FRAME    0x000ffffffffff000ULL

struct uxd_blob {
	void *p;
	size_t n;
};

struct uxd_vcpu {
	int has_basic;
	vcpu_guest_context_x86_64_t basic;
	struct uxd_blob ext, xsave, msrs;
};

struct uxd_image {
	uint64_t npfn;
	uint32_t *types;   /* [npfn]: XEN_DOMCTL_PFINFO_*; XTAB: absent */
	uint64_t *pfns;	   /* [nr_data]: pfn of each kept page */
	uint8_t *data;	   /* [nr_data * 4096] */
	uint64_t nr_data, cap_data;
	uint64_t *p2m_pfns; /* [nr_p2m] */
	uint64_t nr_p2m;
	struct uxd_vcpu *vcpus;
	uint32_t nr_vcpus; /* highest id with a record + 1 */
	uint8_t shinfo[UXD_PAGE];
	int has_shinfo;
	struct {
		uint32_t mode, khz;
		uint64_t nsec;
		uint32_t incarnation;
	} tsc;
	int has_tsc;
	uint32_t version;
	uint64_t file_bytes;
	uint64_t populated;
};

/* ---------------- helpers ---------------- */

static int64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static int page_is_zero(const uint8_t *p)
{
	static const uint8_t z[UXD_PAGE];
	return !memcmp(p, z, UXD_PAGE);
}

static int type_has_data(uint32_t t)
{
	t &= XEN_DOMCTL_PFINFO_LTAB_MASK;
	return t != XEN_DOMCTL_PFINFO_XTAB && t != XEN_DOMCTL_PFINFO_XALLOC &&
	       t != XEN_DOMCTL_PFINFO_BROKEN;
}

static int type_known(uint32_t t)
{
	uint32_t tab = t & XEN_DOMCTL_PFINFO_LTABTYPE_MASK;

	switch (t & XEN_DOMCTL_PFINFO_LTAB_MASK) {
	case XEN_DOMCTL_PFINFO_XTAB:
	case XEN_DOMCTL_PFINFO_XALLOC:
	case XEN_DOMCTL_PFINFO_BROKEN:
		return 1;
	default:
		return tab <= XEN_DOMCTL_PFINFO_L4TAB;
	}
}

static int type_is_pt(uint32_t t)
{
	uint32_t tab = t & XEN_DOMCTL_PFINFO_LTABTYPE_MASK;
	return type_has_data(t) && tab >= XEN_DOMCTL_PFINFO_L1TAB &&
	       tab <= XEN_DOMCTL_PFINFO_L4TAB;
}

static int type_populated(uint32_t t)
{
	t &= XEN_DOMCTL_PFINFO_LTAB_MASK;
	return t != XEN_DOMCTL_PFINFO_XTAB && t != XEN_DOMCTL_PFINFO_BROKEN;
}

void uxd_image_free(struct uxd_image *img)
{
	if (!img)
		return;
	free(img->types);
	free(img->pfns);
	free(img->data);
	free(img->p2m_pfns);
	for (uint32_t i = 0; i < img->nr_vcpus; i++) {
		free(img->vcpus[i].ext.p);
		free(img->vcpus[i].xsave.p);
		free(img->vcpus[i].msrs.p);
	}
	free(img->vcpus);
	free(img);
}

/* Keep one page (data NULL: zeroes). 0 or -ENOMEM. */
static int keep_page(struct uxd_image *img, uint64_t pfn, const uint8_t *data)
{
	if (img->nr_data == img->cap_data) {
		uint64_t cap = img->cap_data ? img->cap_data * 2 : 256;
		uint64_t *p = realloc(img->pfns, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		img->pfns = p;
		uint8_t *d = realloc(img->data, cap * UXD_PAGE);
		if (!d)
			return -ENOMEM;
		img->data = d;
		img->cap_data = cap;
	}
	img->pfns[img->nr_data] = pfn;
	if (data)
		memcpy(img->data + img->nr_data * UXD_PAGE, data, UXD_PAGE);
	else
		memset(img->data + img->nr_data * UXD_PAGE, 0, UXD_PAGE);
	img->nr_data++;
	return 0;
}

static int has_page(const struct uxd_image *img, uint64_t pfn)
{
	for (uint64_t i = 0; i < img->nr_data; i++)
		if (img->pfns[i] == pfn)
			return 1;
	return 0;
}

static struct uxd_vcpu *vcpu_at(struct uxd_image *img, uint32_t id)
{
	if (id >= UXD_VCPUS_MAX)
		return NULL;
	if (id >= img->nr_vcpus) {
		struct uxd_vcpu *v =
		    realloc(img->vcpus, (id + 1) * sizeof(*img->vcpus));
		if (!v)
			return NULL;
		memset(v + img->nr_vcpus, 0,
		       (id + 1 - img->nr_vcpus) * sizeof(*v));
		img->vcpus = v;
		img->nr_vcpus = id + 1;
	}
	return &img->vcpus[id];
}

static int blob_set(struct uxd_blob *b, const void *p, size_t n)
{
	void *c = malloc(n ? n : 1);
	if (!c)
		return -ENOMEM;
	memcpy(c, p, n);
	free(b->p);
	b->p = c;
	b->n = n;
	return 0;
}

/* ---------------- parsing ---------------- */

struct pctx {
	const uint8_t *b; /* the stream in memory, or NULL: read from fd */
	size_t len;	  /* its length (the file's size) */
	int fd;
	uint8_t *win;	  /* fd: the bytes last asked for (src_at) */
	size_t wcap;
	const char *name;
	char *err;
	size_t errlen;
	struct uxd_image *img;
	int seen_info;
};

/*
 * Bytes [off, off + n) of the stream (the caller checked they lie within
 * c->len): in memory, or read from the file into a window reused for
 * every record (a fork's or template's 33 MB read whole into fresh memory
 * cost ~0.5 s of page faults in a PV dom0 under emulation; only the
 * largest record is held at once). Valid until the next call. NULL with
 * the reason in err when the read fails.
 */
static const uint8_t *src_at(struct pctx *c, size_t off, size_t n)
{
	size_t got = 0;

	if (c->b)
		return c->b + off;
	if (n > c->wcap) {
		size_t cap = n < (1u << 20) ? (1u << 20) : n;
		uint8_t *w = realloc(c->win, cap);
		if (!w) {
			fail(c->err, c->errlen, -ENOMEM,
			     "%s: out of memory for a record of %zu bytes",
			     c->name, n);
			return NULL;
		}
		c->win = w;
		c->wcap = cap;
	}
	while (got < n) {
		ssize_t r = pread(c->fd, c->win + got, n - got,
				  (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fail(c->err, c->errlen, -EIO,
			     "template file %s: read at %zu: %s", c->name,
			     off + got, r < 0 ? strerror(errno) : "short file");
			return NULL;
		}
		got += (size_t)r;
	}
	return c->win;
}


static int rec_page_data(struct pctx *c, const uint8_t *p, uint32_t n,
			 size_t at)
{
	struct uxd_image *img = c->img;
	uint32_t count, with_data = 0;

	if (!img->types)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: PAGE_DATA at offset %zu before the "
			    "X86_PV_P2M_FRAMES record (no pfn range yet)",
			    c->name, at);
	if (n < 8 || (count = le32(p)) == 0 ||
	    (uint64_t)n < 8 + (uint64_t)count * 8)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: PAGE_DATA at offset %zu: length %u too short "
			    "for its pfn list",
			    c->name, at, n);
	for (uint32_t i = 0; i < count; i++) {
		uint64_t e = le64(p + 8 + (size_t)i * 8);
		uint64_t pfn = e & PD_PFN_MASK;
		uint32_t t = (uint32_t)((e & PD_TYPE_MASK) >> 32);
		if (pfn >= img->npfn)
			return fail(c->err, c->errlen, -EINVAL,
				    "%s: PAGE_DATA at offset %zu: pfn %#llx "
				    "beyond the guest's %#llx pages",
				    c->name, at, (unsigned long long)pfn,
				    (unsigned long long)img->npfn);
		if (!type_known(t))
			return fail(c->err, c->errlen, -EINVAL,
				    "%s: PAGE_DATA at offset %zu: pfn %#llx "
				    "has unknown type %#x",
				    c->name, at, (unsigned long long)pfn, t);
		with_data += type_has_data(t);
	}
	if ((uint64_t)n != 8 + (uint64_t)count * 8 +
			       (uint64_t)with_data * UXD_PAGE)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: PAGE_DATA at offset %zu: length %u, expected "
			    "%llu for %u pfns with %u pages of data",
			    c->name, at, n,
			    (unsigned long long)(8 + (uint64_t)count * 8 +
						 (uint64_t)with_data *
						     UXD_PAGE),
			    count, with_data);
	const uint8_t *d = p + 8 + (size_t)count * 8;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t e = le64(p + 8 + (size_t)i * 8);
		uint64_t pfn = e & PD_PFN_MASK;
		uint32_t t = (uint32_t)((e & PD_TYPE_MASK) >> 32);
		if (!type_populated(img->types[pfn]) && type_populated(t))
			img->populated++;
		img->types[pfn] = t;
		if (!type_has_data(t))
			continue;
		if (!page_is_zero(d) && keep_page(img, pfn, d))
			return fail(c->err, c->errlen, -ENOMEM,
				    "%s: out of memory for its pages",
				    c->name);
		d += UXD_PAGE;
	}
	return 0;
}

static int rec_p2m_frames(struct pctx *c, const uint8_t *p, uint32_t n,
			  size_t at)
{
	struct uxd_image *img = c->img;
	uint32_t start, end, fpp = UXD_PAGE / 8;

	if (!c->seen_info)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: X86_PV_P2M_FRAMES at offset %zu before "
			    "X86_PV_INFO",
			    c->name, at);
	if (img->types)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: a second X86_PV_P2M_FRAMES at offset %zu "
			    "(a live migration's stream, not a template)",
			    c->name, at);
	if (n < 8)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: X86_PV_P2M_FRAMES at offset %zu truncated",
			    c->name, at);
	start = le32(p);
	end = le32(p + 4);
	if (start != 0 || end < start || (uint64_t)end + 1 > UXD_NPFN_MAX)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: X86_PV_P2M_FRAMES at offset %zu: pfns "
			    "%#x-%#x (expected from 0, at most %#llx)",
			    c->name, at, start, end,
			    (unsigned long long)UXD_NPFN_MAX);
	uint64_t frames = end / fpp + 1;
	if ((uint64_t)n != 8 + frames * 8)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: X86_PV_P2M_FRAMES at offset %zu: length %u, "
			    "expected %llu",
			    c->name, at, n,
			    (unsigned long long)(8 + frames * 8));
	img->npfn = (uint64_t)end + 1;
	img->types = malloc(img->npfn * sizeof(*img->types));
	img->p2m_pfns = malloc(frames * sizeof(*img->p2m_pfns));
	if (!img->types || !img->p2m_pfns)
		return fail(c->err, c->errlen, -ENOMEM, "%s: out of memory",
			    c->name);
	for (uint64_t i = 0; i < img->npfn; i++)
		img->types[i] = XEN_DOMCTL_PFINFO_XTAB;
	for (uint64_t i = 0; i < frames; i++) {
		img->p2m_pfns[i] = le64(p + 8 + i * 8);
		if (img->p2m_pfns[i] >= img->npfn)
			return fail(c->err, c->errlen, -EINVAL,
				    "%s: X86_PV_P2M_FRAMES at offset %zu: "
				    "frame %llu at pfn %#llx, beyond the guest",
				    c->name, at, (unsigned long long)i,
				    (unsigned long long)img->p2m_pfns[i]);
	}
	img->nr_p2m = frames;
	return 0;
}

static int rec_vcpu(struct pctx *c, uint32_t type, const uint8_t *p,
		    uint32_t n, size_t at)
{
	struct uxd_vcpu *v;
	uint32_t id;
	size_t bn;
	int rc = 0;

	if (n < 8)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: vCPU record %#x at offset %zu truncated",
			    c->name, type, at);
	id = le32(p);
	bn = n - 8;
	if (bn == 0)
		return 0; /* libxc tolerates empty ones */
	v = vcpu_at(c->img, id);
	if (!v)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: vCPU record %#x at offset %zu: vCPU %u "
			    "(at most %u)",
			    c->name, type, at, id, UXD_VCPUS_MAX - 1);
	switch (type) {
	case REC_X86_PV_VCPU_BASIC:
		if (bn != sizeof(v->basic))
			return fail(c->err, c->errlen, -EINVAL,
				    "%s: X86_PV_VCPU_BASIC at offset %zu: "
				    "%zu bytes of context, expected %zu "
				    "(x86-64)",
				    c->name, at, bn, sizeof(v->basic));
		memcpy(&v->basic, p + 8, bn);
		v->has_basic = 1;
		return 0;
	case REC_X86_PV_VCPU_EXTENDED:
		if (bn > 128)
			return fail(c->err, c->errlen, -EINVAL,
				    "%s: X86_PV_VCPU_EXTENDED at offset %zu: "
				    "%zu bytes (at most 128)",
				    c->name, at, bn);
		rc = blob_set(&v->ext, p + 8, bn);
		break;
	case REC_X86_PV_VCPU_XSAVE:
		rc = blob_set(&v->xsave, p + 8, bn);
		break;
	default:
		if (bn % sizeof(xen_domctl_vcpu_msr_t))
			return fail(c->err, c->errlen, -EINVAL,
				    "%s: X86_PV_VCPU_MSRS at offset %zu: %zu "
				    "bytes, not a whole number of MSRs",
				    c->name, at, bn);
		rc = blob_set(&v->msrs, p + 8, bn);
		break;
	}
	if (rc)
		return fail(c->err, c->errlen, rc, "%s: out of memory",
			    c->name);
	return 0;
}

/* libxc's stream from offset off; *end: the offset after its END. */
static int parse_libxc(struct pctx *c, size_t off, size_t *end)
{
	const uint8_t *b;
	struct uxd_image *img = c->img;

	if (c->len - off < 24 + 16)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: truncated at offset %zu: no libxc image and "
			    "domain header",
			    c->name, off);
	b = src_at(c, off, 24 + 16); /* b[0]: offset off */
	if (!b)
		return -EIO;
	if (be64(b) != UXD_LIBXC_MARKER ||
	    be32(b + 8) != UXD_LIBXC_ID)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: no libxc image header (marker, \"XENF\") at "
			    "offset %zu",
			    c->name, off);
	img->version = be32(b + 12);
	if (img->version != 2 && img->version != 3)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: libxc stream version %u at offset %zu "
			    "(2 or 3 known)",
			    c->name, img->version, off + 12);
	if (be16(b + 16) & 1)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: big-endian libxc stream at offset %zu",
			    c->name, off);
	off += 24;
	b += 24;
	if (le32(b) != UXD_DHDR_X86_PV || (b[4] | b[5] << 8) != 12)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: domain header at offset %zu: type %u, page "
			    "shift %u (an x86 PV guest, 4 KiB pages, expected)",
			    c->name, off, le32(b),
			    (unsigned)(b[4] | b[5] << 8));
	off += 16;
	for (;;) {
		uint32_t type, n;
		size_t at = off, padded;
		int rc = 0;

		if (c->len - off < 8)
			return fail(c->err, c->errlen, -EINVAL,
				    "%s: truncated at offset %zu: no libxc "
				    "END record",
				    c->name, off);
		const uint8_t *h = src_at(c, off, 8);
		if (!h)
			return -EIO;
		type = le32(h);
		n = le32(h + 4);
		padded = ((size_t)n + 7) & ~(size_t)7;
		if (c->len - off - 8 < padded)
			return fail(c->err, c->errlen, -EINVAL,
				    "%s: libxc record %#x at offset %zu: "
				    "length %u past the end of the file",
				    c->name, type, off, n);
		/* the record's body (END's is empty; others are read) */
		const uint8_t *p = src_at(c, off + 8, n);
		if (!p)
			return -EIO;
		off += 8 + padded;
		switch (type) {
		case REC_END:
			*end = off;
			goto done;
		case REC_PAGE_DATA:
			rc = rec_page_data(c, p, n, at);
			break;
		case REC_X86_PV_INFO:
			if (n < 2 || p[0] != 8 || p[1] != 4)
				return fail(c->err, c->errlen, -EINVAL,
					    "%s: X86_PV_INFO at offset %zu: "
					    "guest width %u, %u levels (a "
					    "64-bit PV guest, 4 levels, "
					    "expected)",
					    c->name, at, n ? p[0] : 0,
					    n > 1 ? p[1] : 0);
			c->seen_info = 1;
			break;
		case REC_X86_PV_P2M_FRAMES:
			rc = rec_p2m_frames(c, p, n, at);
			break;
		case REC_X86_PV_VCPU_BASIC:
		case REC_X86_PV_VCPU_EXTENDED:
		case REC_X86_PV_VCPU_XSAVE:
		case REC_X86_PV_VCPU_MSRS:
			rc = rec_vcpu(c, type, p, n, at);
			break;
		case REC_SHARED_INFO:
			if (n != UXD_PAGE)
				return fail(c->err, c->errlen, -EINVAL,
					    "%s: SHARED_INFO at offset %zu: "
					    "length %u, expected 4096",
					    c->name, at, n);
			memcpy(img->shinfo, p, UXD_PAGE);
			img->has_shinfo = 1;
			break;
		case REC_X86_TSC_INFO:
			if (n < 24)
				return fail(c->err, c->errlen, -EINVAL,
					    "%s: X86_TSC_INFO at offset %zu "
					    "truncated",
					    c->name, at);
			img->tsc.mode = le32(p);
			img->tsc.khz = le32(p + 4);
			img->tsc.nsec = le64(p + 8);
			img->tsc.incarnation = le32(p + 16);
			img->has_tsc = 1;
			break;
		/* the new domain keeps Xen's default CPUID/MSR policy (a
		 * template made on this host had it too) */
		case REC_X86_CPUID_POLICY:
		case REC_X86_MSR_POLICY:
		case REC_STATIC_DATA_END:
		case REC_VERIFY:
			break;
		default:
			if (!(type & REC_OPTIONAL))
				return fail(c->err, c->errlen, -EINVAL,
					    "%s: libxc record type %#x at "
					    "offset %zu not known to the "
					    "direct clone (a checkpoint or "
					    "HVM stream?)",
					    c->name, type, at);
			break;
		}
		if (rc)
			return rc;
	}
done:
	if (!img->types)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: no X86_PV_P2M_FRAMES record", c->name);
	if (!img->nr_vcpus || !img->vcpus[0].has_basic)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: no X86_PV_VCPU_BASIC record for vCPU 0",
			    c->name);
	if (!img->has_shinfo)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: no SHARED_INFO record", c->name);
	return 0;
}

/* The pages a clone rewrites are kept even when all zeroes. */
static int keep_needed(struct pctx *c)
{
	struct uxd_image *img = c->img;
	uint64_t si = img->vcpus[0].basic.user_regs.rdx;

	if (si >= img->npfn ||
	    (img->types[si] & XEN_DOMCTL_PFINFO_LTAB_MASK) !=
		XEN_DOMCTL_PFINFO_NOTAB)
		return fail(c->err, c->errlen, -EINVAL,
			    "%s: vCPU 0's start_info pfn %#llx (rdx at its "
			    "suspend) is not a plain page of the guest",
			    c->name, (unsigned long long)si);
	if (!has_page(img, si) && keep_page(img, si, NULL))
		return -ENOMEM;
	for (uint64_t i = 0; i < img->nr_p2m; i++) {
		uint64_t pfn = img->p2m_pfns[i];
		if ((img->types[pfn] & XEN_DOMCTL_PFINFO_LTAB_MASK) !=
		    XEN_DOMCTL_PFINFO_NOTAB)
			return fail(c->err, c->errlen, -EINVAL,
				    "%s: p2m frame %llu (pfn %#llx) is not a "
				    "plain page of the guest",
				    c->name, (unsigned long long)i,
				    (unsigned long long)pfn);
		if (!has_page(img, pfn) && keep_page(img, pfn, NULL))
			return -ENOMEM;
	}
	return 0;
}

/* The libxl stream in c (b or fd, len, name, err set). */
static int parse_stream(struct pctx *c, struct uxd_image **out)
{
	const char *name = c->name;
	char *err = c->err;
	size_t errlen = c->errlen, len = c->len, off = 16;
	const uint8_t *b;
	int libxc_seen = 0, rc;

	*out = NULL;
	b = len < 16 ? NULL : src_at(c, 0, 16);
	if (len >= 16 && !b)
		return -EIO;
	if (len < 16 || be64(b) != UXD_LIBXL_IDENT)
		return fail(err, errlen, -EINVAL,
			    "template file %s is not a libxl save stream (no "
			    "\"LibxlFmt\" header at offset 0)",
			    name);
	if (be32(b + 8) != 2 || (be32(b + 12) & 3))
		return fail(err, errlen, -EINVAL,
			    "%s: libxl stream version %u, options %#x at "
			    "offset 8 (version 2, little-endian, not legacy, "
			    "expected)",
			    name, be32(b + 8), be32(b + 12));
	c->img = calloc(1, sizeof(*c->img));
	if (!c->img)
		return fail(err, errlen, -ENOMEM, "%s: out of memory", name);
	c->img->file_bytes = len;
	for (;;) {
		uint32_t type, n;
		size_t padded;

		if (len - off < 8) {
			rc = fail(err, errlen, -EINVAL,
				  "%s: truncated at offset %zu: no libxl END "
				  "record",
				  name, off);
			goto bad;
		}
		b = src_at(c, off, 8);
		if (!b) {
			rc = -EIO;
			goto bad;
		}
		type = le32(b);
		n = le32(b + 4);
		padded = ((size_t)n + 7) & ~(size_t)7;
		if (len - off - 8 < padded) {
			rc = fail(err, errlen, -EINVAL,
				  "%s: libxl record %#x at offset %zu: length "
				  "%u past the end of the file",
				  name, type, off, n);
			goto bad;
		}
		off += 8 + padded;
		if (type == LXL_END)
			break;
		if (type == LXL_LIBXC_CONTEXT) {
			if (libxc_seen) {
				rc = fail(err, errlen, -EINVAL,
					  "%s: a second libxc stream at offset "
					  "%zu (a checkpointed stream?)",
					  name, off);
				goto bad;
			}
			rc = parse_libxc(c, off, &off);
			if (rc)
				goto bad;
			libxc_seen = 1;
		}
		/* emulator records (HVM only) and others: not ours (their
		 * bodies are not read) */
	}
	if (!libxc_seen) {
		rc = fail(err, errlen, -EINVAL,
			  "%s: no LIBXC_CONTEXT record (no guest memory)", name);
		goto bad;
	}
	rc = keep_needed(c);
	if (rc) {
		if (rc == -ENOMEM)
			fail(err, errlen, rc, "%s: out of memory", name);
		goto bad;
	}
	*out = c->img;
	c->img = NULL;
	return 0;
bad:
	uxd_image_free(c->img);
	c->img = NULL;
	return rc;
}

int uxd_image_parse(const void *data, size_t len, const char *name,
		    struct uxd_image **out, char *err, size_t errlen)
{
	struct pctx c = {.b = data, .len = len, .fd = -1, .name = name,
			 .err = err, .errlen = errlen};

	return parse_stream(&c, out);
}

int uxd_image_load(const char *path, struct uxd_image **out, char *err,
		   size_t errlen)
{
	struct pctx c = {.fd = -1, .name = path, .err = err,
			 .errlen = errlen};
	struct stat st;
	uint8_t probe[16];
	int rc;

	*out = NULL;
	c.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c.fd < 0 || fstat(c.fd, &st) < 0) {
		rc = -errno;
		if (c.fd >= 0)
			close(c.fd);
		return fail(err, errlen, rc, "template file %s: %s", path,
			    strerror(-rc));
	}
	/* a file that cannot be read (a directory) says so, whatever size
	 * it claims */
	if (pread(c.fd, probe, sizeof(probe), 0) < 0) {
		rc = -errno;
		close(c.fd);
		return fail(err, errlen, rc, "template file %s: read at 0: %s",
			    path, strerror(-rc));
	}
	c.len = (size_t)st.st_size;
	rc = parse_stream(&c, out);
	close(c.fd);
	free(c.win);
	return rc;
}

void uxd_image_get_info(const struct uxd_image *img,
			struct uxd_image_info *info)
{
	memset(info, 0, sizeof(*info));
	info->npfn = img->npfn;
	info->populated = img->populated;
	info->data_pages = img->nr_data;
	for (uint64_t i = 0; i < img->nr_data; i++)
		info->pt_pages += type_is_pt(img->types[img->pfns[i]]);
	for (uint64_t i = 0; i < img->npfn; i++)
		info->pinned += type_is_pt(img->types[i]) &&
				(img->types[i] & XEN_DOMCTL_PFINFO_LPINTAB);
	info->p2m_frames = img->nr_p2m;
	info->start_info = img->vcpus[0].basic.user_regs.rdx;
	for (uint32_t i = 0; i < img->nr_vcpus; i++)
		info->vcpus += img->vcpus[i].has_basic;
	info->libxc_version = img->version;
	info->file_bytes = img->file_bytes;
}

/* ---------------- the clone ---------------- */

struct uxd_entry {
	char path[512];
	int64_t size, mtime_ns;
	struct uxd_image *img;
	int refs;	/* clones using img; the entry is freed at 0 once gone */
	int gone;	/* replaced or forgotten */
	struct uxd_entry *next;
};

struct uxd {
	xc_interface *xch; /* ours (the backend has none outside libxl) */
	/* the backend's: one foreign memory handle and one xenstore
	 * connection per backend (uxen.c), every xenstore request under
	 * *xs_lock; they outlive this (uxd_close ends first) */
	xenforeignmemory_handle *fmem;
	struct xs_handle *xs;
	pthread_mutex_t *xs_lock;
	pthread_mutex_t lock;
	struct uxd_entry *cache;
	int pumps; /* console threads running (atomic): uxd_close waits */
	int zero; /* UKF_XEN_DIRECT_ZERO=1: the pages not copied zeroed too */
};

struct uxd *uxd_open(struct xs_handle *xs, pthread_mutex_t *xs_lock,
		     xenforeignmemory_handle *fmem, char *err, size_t errlen)
{
	struct uxd *d = calloc(1, sizeof(*d));
	int e;

	if (!d) {
		fail(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&d->lock, NULL);
	d->zero = getenv("UKF_XEN_DIRECT_ZERO") &&
		  !strcmp(getenv("UKF_XEN_DIRECT_ZERO"), "1");
	d->xs = xs;
	d->xs_lock = xs_lock;
	d->fmem = fmem;
	uxen_handle_enter();
	d->xch = xc_interface_open(NULL, NULL, 0);
	e = errno;
	uxen_handle_leave();
	if (!d->xch) {
		fail(err, errlen, -e,
		     "xc_interface_open: %s (not dom0, or no privcmd?)",
		     strerror(e));
		uxd_close(d);
		return NULL;
	}
	return d;
}

static void entry_put_locked(struct uxd *d, struct uxd_entry *e)
{
	if (--e->refs > 0 || !e->gone)
		return;
	for (struct uxd_entry **pp = &d->cache; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	uxd_image_free(e->img);
	free(e);
}

void uxd_close(struct uxd *d)
{
	if (!d)
		return;
	while (d->cache) {
		struct uxd_entry *e = d->cache;
		d->cache = e->next;
		uxd_image_free(e->img);
		free(e);
	}
	/* the console threads use d->fmem: they end within a poll once
	 * their reader closed its end (the backend's watchers did) */
	while (__atomic_load_n(&d->pumps, __ATOMIC_ACQUIRE))
		usleep(10000);
	uxen_handle_enter();
	if (d->xch)
		xc_interface_close(d->xch);
	uxen_handle_leave();
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* The cached parse of path, parsed now if missing or stale; a reference
 * the caller drops with entry_put_locked (under d->lock). */
static int entry_get(struct uxd *d, const char *path, struct uxd_entry **out,
		     int64_t *parse_ns, char *err, size_t errlen)
{
	struct uxd_entry *e;
	struct stat st;
	int64_t mt, t0;
	int rc;

	if (parse_ns)
		*parse_ns = 0;
	if (stat(path, &st) < 0)
		return fail(err, errlen, -errno, "template file %s: %s", path,
			    strerror(errno));
	mt = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	pthread_mutex_lock(&d->lock);
	for (e = d->cache; e; e = e->next) {
		if (e->gone || strcmp(e->path, path))
			continue;
		if (e->size == st.st_size && e->mtime_ns == mt) {
			e->refs++;
			pthread_mutex_unlock(&d->lock);
			*out = e;
			return 0;
		}
		e->gone = 1; /* stale: freed when its last clone ends */
		e->refs++;
		entry_put_locked(d, e);
		break;
	}
	pthread_mutex_unlock(&d->lock);
	e = calloc(1, sizeof(*e));
	if (!e)
		return fail(err, errlen, -ENOMEM, "out of memory");
	t0 = mono_ns();
	rc = uxd_image_load(path, &e->img, err, errlen);
	if (rc) {
		free(e);
		return rc;
	}
	if (parse_ns)
		*parse_ns = mono_ns() - t0;
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->size = st.st_size;
	e->mtime_ns = mt;
	e->refs = 1;
	pthread_mutex_lock(&d->lock);
	e->next = d->cache;
	d->cache = e;
	pthread_mutex_unlock(&d->lock);
	*out = e;
	return 0;
}

int uxd_warm(struct uxd *d, const char *path, int64_t *parse_ns, char *err,
	     size_t errlen)
{
	struct uxd_entry *e;
	int rc = entry_get(d, path, &e, parse_ns, err, errlen);

	if (rc)
		return rc;
	pthread_mutex_lock(&d->lock);
	entry_put_locked(d, e);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

void uxd_forget(struct uxd *d, const char *path)
{
	pthread_mutex_lock(&d->lock);
	for (struct uxd_entry *e = d->cache; e; e = e->next)
		if (!e->gone && !strcmp(e->path, path)) {
			e->gone = 1;
			e->refs++;
			entry_put_locked(d, e);
			break;
		}
	pthread_mutex_unlock(&d->lock);
}

/* What one clone builds from. */
struct build {
	struct uxd *d;
	const struct uxd_image *img;
	uint32_t domid;
	xen_pfn_t *p2m;	    /* [npfn]: the new frames; INVALID_MFN: none */
	uint64_t shinfo_mfn;
	uint32_t store_port, con_port;
	xen_pfn_t store_mfn, con_mfn;
	char *err;
	size_t errlen;
};

static int pfn_mfn(struct build *b, uint64_t pfn, const char *what,
		   xen_pfn_t *mfn)
{
	if (pfn >= b->img->npfn || b->p2m[pfn] == INVALID_MFN)
		return fail(b->err, b->errlen, -EINVAL,
			    "template: %s names pfn %#llx, not a page of the "
			    "guest",
			    what, (unsigned long long)pfn);
	*mfn = b->p2m[pfn];
	return 0;
}

static int populate(struct build *b)
{
	const struct uxd_image *img = b->img;
	xen_pfn_t *m;
	uint64_t n = 0;

	for (uint64_t i = 0; i < img->npfn; i++)
		b->p2m[i] = INVALID_MFN;
	m = malloc(img->populated * sizeof(*m) + 1);
	if (!m)
		return fail(b->err, b->errlen, -ENOMEM, "out of memory");
	for (uint64_t i = 0; i < img->npfn; i++)
		if (type_populated(img->types[i]))
			m[n++] = i;
	/* a PV guest's frames: Xen writes the new MFN over each pfn */
	if (xc_domain_populate_physmap_exact(b->d->xch, b->domid, n, 0, 0,
					     m)) {
		int e = errno;
		free(m);
		return fail(b->err, b->errlen, -e,
			    "xc_domain_populate_physmap_exact of %llu pages: "
			    "%s",
			    (unsigned long long)n, strerror(e));
	}
	n = 0;
	for (uint64_t i = 0; i < img->npfn; i++)
		if (type_populated(img->types[i]))
			b->p2m[i] = m[n++];
	free(m);
	return 0;
}

/* A page table's entries from pfns to the new frames. */
static int localise(struct build *b, uint64_t pfn, uint64_t *t)
{
	for (unsigned i = 0; i < UXD_PAGE / 8; i++) {
		xen_pfn_t mfn = 0;
		char what[64];
		if (!(t[i] & PTE_P))
			continue;
		snprintf(what, sizeof(what), "page table pfn %#llx entry %u",
			 (unsigned long long)pfn, i);
		if (pfn_mfn(b, (t[i] & PTE_FRAME) >> 12, what, &mfn))
			return -EINVAL;
		t[i] = (t[i] & ~PTE_FRAME) | ((uint64_t)mfn << 12);
	}
	return 0;
}

/* start_info: its store and console frames (pfns at the suspend) and the
 * new event channels, shared info, pages. */
static int patch_start_info(struct build *b, start_info_t *si)
{
	if (pfn_mfn(b, si->store_mfn, "start_info's store page",
		    &b->store_mfn) ||
	    pfn_mfn(b, si->console.domU.mfn, "start_info's console page",
		    &b->con_mfn))
		return -EINVAL;
	si->store_mfn = b->store_mfn;
	si->store_evtchn = b->store_port;
	si->console.domU.mfn = b->con_mfn;
	si->console.domU.evtchn = b->con_port;
	si->nr_pages = b->img->npfn;
	si->shared_info = b->shinfo_mfn << 12;
	si->flags = 0;
	return 0;
}

static int copy_pages(struct build *b)
{
	const struct uxd_image *img = b->img;
	uint64_t n = img->nr_data, si = img->vcpus[0].basic.user_regs.rdx;
	xen_pfn_t *m = malloc(n * sizeof(*m) + 1);
	int *errs = calloc(n + 1, sizeof(int));
	uint8_t *map = NULL;
	int rc = 0;

	if (!m || !errs) {
		rc = fail(b->err, b->errlen, -ENOMEM, "out of memory");
		goto out;
	}
	for (uint64_t i = 0; i < n; i++)
		m[i] = b->p2m[img->pfns[i]];
	map = xenforeignmemory_map(b->d->fmem, b->domid,
				   PROT_READ | PROT_WRITE, n, m, errs);
	if (!map) {
		rc = fail(b->err, b->errlen, -errno,
			  "xenforeignmemory_map of %llu new pages: %s",
			  (unsigned long long)n, strerror(errno));
		goto out;
	}
	for (uint64_t i = 0; i < n; i++)
		if (errs[i]) {
			rc = fail(b->err, b->errlen, -EIO,
				  "xenforeignmemory_map: new page %llu (pfn "
				  "%#llx, mfn %#llx): %s",
				  (unsigned long long)i,
				  (unsigned long long)img->pfns[i],
				  (unsigned long long)m[i],
				  strerror(-errs[i]));
			goto out;
		}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pfn = img->pfns[i];
		uint8_t *dst = map + i * UXD_PAGE;

		memcpy(dst, img->data + i * UXD_PAGE, UXD_PAGE);
		if (type_is_pt(img->types[pfn]) &&
		    localise(b, pfn, (uint64_t *)dst)) {
			rc = -EINVAL;
			goto out;
		}
		if (pfn == si && patch_start_info(b, (start_info_t *)dst)) {
			rc = -EINVAL;
			goto out;
		}
		for (uint64_t k = 0; k < img->nr_p2m; k++) {
			if (img->p2m_pfns[k] != pfn)
				continue;
			uint64_t first = k * (UXD_PAGE / 8), cnt;
			if (first >= img->npfn)
				break;
			cnt = img->npfn - first;
			if (cnt > UXD_PAGE / 8)
				cnt = UXD_PAGE / 8;
			memcpy(dst, b->p2m + first, cnt * 8);
		}
	}
out:
	if (map)
		xenforeignmemory_unmap(b->d->fmem, map, n);
	free(m);
	free(errs);
	return rc;
}

/*
 * The populated pages not copied, zeroed through a mapping (1024 at a
 * time). Without it a clone relies on Xen handing out scrubbed pages: it
 * scrubs what domains free and, unless booted with bootscrub=false, the
 * memory never used since boot.
 */
static int zero_rest(struct build *b)
{
	const struct uxd_image *img = b->img;
	uint8_t *kept = calloc(img->npfn, 1);
	xen_pfn_t m[1024];
	uint64_t pfn = 0;
	int rc = 0;

	if (!kept)
		return fail(b->err, b->errlen, -ENOMEM, "out of memory");
	for (uint64_t i = 0; i < img->nr_data; i++)
		kept[img->pfns[i]] = 1;
	while (pfn < img->npfn && !rc) {
		unsigned n = 0;
		for (; pfn < img->npfn && n < 1024; pfn++)
			if (!kept[pfn] && b->p2m[pfn] != INVALID_MFN)
				m[n++] = b->p2m[pfn];
		if (!n)
			break;
		void *map = xenforeignmemory_map(b->d->fmem, b->domid,
						 PROT_READ | PROT_WRITE, n, m,
						 NULL);
		if (!map) {
			rc = fail(b->err, b->errlen, -errno,
				  "zeroing %u new pages: %s", n,
				  strerror(errno));
			break;
		}
		memset(map, 0, (size_t)n * UXD_PAGE);
		xenforeignmemory_unmap(b->d->fmem, map, n);
	}
	free(kept);
	return rc;
}

static int set_shared_info(struct build *b)
{
	xen_pfn_t f = b->shinfo_mfn;
	shared_info_t *sh;
	const shared_info_t *old = (const shared_info_t *)b->img->shinfo;

	sh = xenforeignmemory_map(b->d->fmem, b->domid, PROT_READ | PROT_WRITE,
				  1, &f, NULL);
	if (!sh)
		return fail(b->err, b->errlen, -errno,
			    "mapping the new shared info (mfn %#llx): %s",
			    (unsigned long long)f, strerror(errno));
	memcpy(sh->vcpu_info, old->vcpu_info, sizeof(sh->vcpu_info));
	memcpy(&sh->arch, &old->arch, sizeof(sh->arch));
	sh->arch.pfn_to_mfn_frame_list_list = 0;
	memset(sh->evtchn_pending, 0, sizeof(sh->evtchn_pending));
	for (unsigned i = 0; i < XEN_LEGACY_MAX_VCPUS; i++)
		sh->vcpu_info[i].evtchn_pending_sel = 0;
	memset(sh->evtchn_mask, 0xff, sizeof(sh->evtchn_mask));
	xenforeignmemory_unmap(b->d->fmem, sh, 1);
	return 0;
}

static int domctl_blob(struct build *b, uint32_t cmd, uint32_t vcpu,
		       const struct uxd_blob *blob, const char *what)
{
	struct xen_domctl dc;
	int rc;
	DECLARE_HYPERCALL_BUFFER(void, buf);

	memset(&dc, 0, sizeof(dc));
	dc.cmd = cmd;
	dc.domain = (domid_t)b->domid;
	if (cmd == XEN_DOMCTL_set_ext_vcpucontext) {
		memcpy(&dc.u.ext_vcpucontext, blob->p, blob->n);
		rc = xc_domctl(b->d->xch, &dc);
	} else {
		buf = xc_hypercall_buffer_alloc(b->d->xch, buf, blob->n);
		if (!buf)
			return fail(b->err, b->errlen, -ENOMEM,
				    "hypercall buffer for vCPU %u's %s", vcpu,
				    what);
		memcpy(buf, blob->p, blob->n);
		if (cmd == XEN_DOMCTL_setvcpuextstate) {
			dc.u.vcpuextstate.vcpu = vcpu;
			dc.u.vcpuextstate.size = blob->n;
			set_xen_guest_handle(dc.u.vcpuextstate.buffer, buf);
		} else {
			dc.u.vcpu_msrs.vcpu = vcpu;
			dc.u.vcpu_msrs.msr_count =
			    (uint32_t)(blob->n / sizeof(xen_domctl_vcpu_msr_t));
			set_xen_guest_handle(dc.u.vcpu_msrs.msrs, buf);
		}
		rc = xc_domctl(b->d->xch, &dc);
		xc_hypercall_buffer_free(b->d->xch, buf);
	}
	if (rc)
		return fail(b->err, b->errlen, -errno,
			    "setting vCPU %u's %s: %s", vcpu, what,
			    strerror(errno));
	return 0;
}

/* The vCPUs as libxc's restore leaves them: frames named by the new
 * MFNs, vCPU 0's rdx the new start_info's MFN (it returns from its
 * suspend hypercall into the new domain). */
static int set_vcpus(struct build *b)
{
	const struct uxd_image *img = b->img;

	for (uint32_t v = 0; v < img->nr_vcpus; v++) {
		const struct uxd_vcpu *src = &img->vcpus[v];
		vcpu_guest_context_any_t ctx;
		vcpu_guest_context_x86_64_t *c = &ctx.x64;
		xen_pfn_t mfn = 0;

		if (!src->has_basic)
			continue;
		memset(&ctx, 0, sizeof(ctx));
		memcpy(c, &src->basic, sizeof(*c));
		if (v == 0) {
			if (pfn_mfn(b, c->user_regs.rdx, "vCPU 0's start_info",
				    &mfn))
				return -EINVAL;
			c->user_regs.rdx = mfn;
		}
		c->flags |= VGCF_online;
		if (c->gdt_ents > 14 * 512)
			return fail(b->err, b->errlen, -EINVAL,
				    "template: vCPU %u has %lu GDT entries", v,
				    (unsigned long)c->gdt_ents);
		for (unsigned i = 0; i < (c->gdt_ents + 511) / 512; i++)
			if (pfn_mfn(b, c->gdt_frames[i], "a GDT frame", &mfn))
				return -EINVAL;
			else
				c->gdt_frames[i] = mfn;
		if (pfn_mfn(b, c->ctrlreg[3] >> 12, "cr3", &mfn))
			return -EINVAL;
		c->ctrlreg[3] = (uint64_t)mfn << 12;
		if (c->ctrlreg[1] & 1) {
			if (pfn_mfn(b, c->ctrlreg[1] >> 12, "cr1", &mfn))
				return -EINVAL;
			c->ctrlreg[1] = (uint64_t)mfn << 12;
		}
		if (xc_vcpu_setcontext(b->d->xch, b->domid, v, &ctx))
			return fail(b->err, b->errlen, -errno,
				    "xc_vcpu_setcontext of vCPU %u (cr3 mfn "
				    "%#llx): %s",
				    v, (unsigned long long)(c->ctrlreg[3] >> 12),
				    strerror(errno));
		if (src->ext.p &&
		    domctl_blob(b, XEN_DOMCTL_set_ext_vcpucontext, v,
				&src->ext, "extended context"))
			return -EIO;
		if (src->xsave.p &&
		    domctl_blob(b, XEN_DOMCTL_setvcpuextstate, v, &src->xsave,
				"xsave state"))
			return -EIO;
		if (src->msrs.p && src->msrs.n &&
		    domctl_blob(b, XEN_DOMCTL_set_vcpu_msrs, v, &src->msrs,
				"MSRs"))
			return -EIO;
	}
	return 0;
}

static int pin_tables(struct build *b)
{
	const struct uxd_image *img = b->img;
	struct mmuext_op op[64];
	unsigned n = 0;

	for (uint64_t i = 0; i <= img->npfn; i++) {
		if (i < img->npfn) {
			uint32_t t = img->types[i];
			if (!type_is_pt(t) || !(t & XEN_DOMCTL_PFINFO_LPINTAB))
				continue;
			switch (t & XEN_DOMCTL_PFINFO_LTABTYPE_MASK) {
			case XEN_DOMCTL_PFINFO_L1TAB:
				op[n].cmd = MMUEXT_PIN_L1_TABLE;
				break;
			case XEN_DOMCTL_PFINFO_L2TAB:
				op[n].cmd = MMUEXT_PIN_L2_TABLE;
				break;
			case XEN_DOMCTL_PFINFO_L3TAB:
				op[n].cmd = MMUEXT_PIN_L3_TABLE;
				break;
			default:
				op[n].cmd = MMUEXT_PIN_L4_TABLE;
				break;
			}
			op[n].arg1.mfn = b->p2m[i];
			n++;
		}
		if (n && (n == 64 || i == img->npfn)) {
			if (xc_mmuext_op(b->d->xch, op, n, b->domid))
				return fail(b->err, b->errlen, -errno,
					    "pinning %u page tables: %s", n,
					    strerror(errno));
			n = 0;
		}
	}
	return 0;
}

static int xs_put(struct build *b, xs_transaction_t t, const char *dom,
		  const char *key, const char *val,
		  struct xs_permissions *perm, unsigned nperm)
{
	char path[128];

	snprintf(path, sizeof(path), "%s%s%s", dom, key[0] ? "/" : "", key);
	if (!xs_write(b->d->xs, t, path, val, (unsigned)strlen(val)) ||
	    (perm && !xs_set_permissions(b->d->xs, t, path, perm, nperm)))
		return fail(b->err, b->errlen, -errno, "xenstore %s: %s", path,
			    strerror(errno));
	return 0;
}

/* /local/domain/ID as the guest and xenconsoled need it, then
 * xs_introduce_domain; under the backend's xs_lock (store_setup). */
static int store_setup_locked(struct build *b, const char *name)
{
	struct xs_permissions ro[2] = {{.id = 0, .perms = XS_PERM_NONE},
				       {.id = b->domid, .perms = XS_PERM_READ}};
	struct xs_permissions rw[1] = {{.id = b->domid,
					.perms = XS_PERM_NONE}};
	char dom[64], v[32];
	int rc;

	snprintf(dom, sizeof(dom), "/local/domain/%u", b->domid);
	for (int tries = 0;; tries++) {
		xs_transaction_t t = xs_transaction_start(b->d->xs);
		if (t == XBT_NULL)
			return fail(b->err, b->errlen, -errno,
				    "xenstore transaction: %s",
				    strerror(errno));
		xs_rm(b->d->xs, t, dom);
		snprintf(v, sizeof(v), "%u", b->domid);
		rc = xs_put(b, t, dom, "", "", ro, 2);
		if (!rc)
			rc = xs_put(b, t, dom, "name", name, NULL, 0);
		if (!rc)
			rc = xs_put(b, t, dom, "domid", v, NULL, 0);
		if (!rc)
			rc = xs_put(b, t, dom, "control", "", ro, 2);
		if (!rc)
			rc = xs_put(b, t, dom, "control/shutdown", "", rw, 1);
		if (!rc)
			rc = xs_put(b, t, dom, "data", "", rw, 1);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)b->store_mfn);
		if (!rc)
			rc = xs_put(b, t, dom, "store/ring-ref", v, NULL, 0);
		snprintf(v, sizeof(v), "%u", b->store_port);
		if (!rc)
			rc = xs_put(b, t, dom, "store/port", v, NULL, 0);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)b->con_mfn);
		if (!rc)
			rc = xs_put(b, t, dom, "console/ring-ref", v, NULL, 0);
		snprintf(v, sizeof(v), "%u", b->con_port);
		if (!rc)
			rc = xs_put(b, t, dom, "console/port", v, NULL, 0);
		/* not "xenconsoled": xenconsoled leaves the ring to us
		 * (uxd_console_open) */
		if (!rc)
			rc = xs_put(b, t, dom, "console/type", UXD_CON_TYPE,
				    NULL, 0);
		if (!rc)
			rc = xs_put(b, t, dom, "console/output", "pty", NULL,
				    0);
		if (!rc)
			rc = xs_put(b, t, dom, "console/limit", "1048576",
				    NULL, 0);
		if (rc) {
			xs_transaction_end(b->d->xs, t, true);
			return rc;
		}
		if (xs_transaction_end(b->d->xs, t, false))
			break;
		if (errno != EAGAIN || tries >= 20)
			return fail(b->err, b->errlen, -errno,
				    "xenstore transaction for %s: %s", dom,
				    strerror(errno));
	}
	if (!xs_introduce_domain(b->d->xs, b->domid, b->store_mfn,
				 b->store_port))
		return fail(b->err, b->errlen, -errno,
			    "xs_introduce_domain(%u, store mfn %#llx, port %u): "
			    "%s",
			    b->domid, (unsigned long long)b->store_mfn,
			    b->store_port, strerror(errno));
	return 0;
}

/* ---------------- a snapshot of a suspended domain ---------------- */

/*
 * What libxc's save writes of a PV domain, read from the domain itself
 * while it is shut down in its suspend (its guest turned start_info's
 * store and console frames into pfns and unmapped its shared info, as for
 * libxl's save): no save helper, no stream, no file. The image is the one
 * a parse of that stream gives (page tables with pfns, vCPU 0's rdx the
 * start_info pfn), so uxd_clone builds from either.
 */
struct snap {
	struct uxd *d;
	uint32_t domid;
	uint64_t npfn;
	xen_pfn_t *p2m;	 /* [npfn]: the domain's frames; INVALID_MFN: none */
	struct { xen_pfn_t mfn; uint64_t pfn; } *rev; /* sorted by mfn */
	uint64_t nrev;
	char *err;
	size_t errlen;
};

static int rev_cmp(const void *a, const void *b)
{
	xen_pfn_t x = *(const xen_pfn_t *)a, y = *(const xen_pfn_t *)b;
	return x < y ? -1 : x > y;
}

/* The pfn of one of the domain's frames, or -1. */
static int64_t snap_pfn(const struct snap *s, xen_pfn_t mfn)
{
	uint64_t lo = 0, hi = s->nrev;

	while (lo < hi) {
		uint64_t mid = (lo + hi) / 2;
		if (s->rev[mid].mfn == mfn)
			return (int64_t)s->rev[mid].pfn;
		if (s->rev[mid].mfn < mfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int snap_conv(const struct snap *s, uint64_t *v, const char *what,
		     unsigned vcpu)
{
	int64_t pfn = snap_pfn(s, (xen_pfn_t)*v);

	if (pfn < 0)
		return fail(s->err, s->errlen, -ERANGE,
			    "domain %u: vCPU %u's %s names mfn %#llx, not a "
			    "frame of the domain",
			    s->domid, vcpu, what, (unsigned long long)*v);
	*v = (uint64_t)pfn;
	return 0;
}

/* The p2m through the frame lists the guest publishes in its shared info
 * (pfn_to_mfn_frame_list_list: the list of the lists' frames). */
static int snap_p2m(struct snap *s, const shared_info_t *sh,
		    struct uxd_image *img)
{
	const unsigned fpp = UXD_PAGE / 8;
	xen_pfn_t fll_mfn = sh->arch.pfn_to_mfn_frame_list_list, *fl = NULL;
	uint64_t nfl = (s->npfn + fpp - 1) / fpp, nfll = (nfl + fpp - 1) / fpp;
	uint64_t *fll_map = NULL, *fl_map = NULL, *leaves = NULL;
	xen_pfn_t fll[8];
	int rc = 0;

	if (sh->arch.p2m_cr3)
		return fail(s->err, s->errlen, -EINVAL,
			    "domain %u publishes its p2m as a virtual list "
			    "(p2m_cr3), not frame lists",
			    s->domid);
	if (!fll_mfn || nfll > 8)
		return fail(s->err, s->errlen, -EINVAL,
			    "domain %u: no p2m frame list list in its shared "
			    "info (mfn %#llx, %llu pfns)",
			    s->domid, (unsigned long long)fll_mfn,
			    (unsigned long long)s->npfn);
	fll_map = xenforeignmemory_map(s->d->fmem, s->domid, PROT_READ, 1,
				       &fll_mfn, NULL);
	if (!fll_map) {
		rc = fail(s->err, s->errlen, -errno,
			  "domain %u: mapping its p2m frame list list (mfn "
			  "%#llx): %s",
			  s->domid, (unsigned long long)fll_mfn,
			  strerror(errno));
		goto out;
	}
	memcpy(fll, fll_map, nfll * sizeof(*fll));
	fl_map = xenforeignmemory_map(s->d->fmem, s->domid, PROT_READ, nfll,
				      fll, NULL);
	fl = malloc(nfl * sizeof(*fl));
	if (!fl_map || !fl) {
		rc = fail(s->err, s->errlen, fl ? -errno : -ENOMEM,
			  "domain %u: mapping its %llu p2m frame lists: %s",
			  s->domid, (unsigned long long)nfll,
			  fl ? strerror(errno) : "out of memory");
		goto out;
	}
	memcpy(fl, fl_map, nfl * sizeof(*fl));
	leaves = xenforeignmemory_map(s->d->fmem, s->domid, PROT_READ, nfl, fl,
				      NULL);
	if (!leaves) {
		rc = fail(s->err, s->errlen, -errno,
			  "domain %u: mapping its %llu p2m frames: %s",
			  s->domid, (unsigned long long)nfl, strerror(errno));
		goto out;
	}
	for (uint64_t i = 0; i < s->npfn; i++)
		s->p2m[i] = leaves[i];
	img->p2m_pfns = malloc(nfl * sizeof(*img->p2m_pfns));
	if (!img->p2m_pfns) {
		rc = fail(s->err, s->errlen, -ENOMEM, "out of memory");
		goto out;
	}
	img->nr_p2m = nfl;
	for (uint64_t i = 0; i < nfl; i++)
		img->p2m_pfns[i] = fl[i]; /* mfns until the reverse map exists */
out:
	if (leaves)
		xenforeignmemory_unmap(s->d->fmem, leaves, nfl);
	if (fl_map)
		xenforeignmemory_unmap(s->d->fmem, fl_map, nfll);
	if (fll_map)
		xenforeignmemory_unmap(s->d->fmem, fll_map, 1);
	free(fl);
	return rc;
}

/* Frame types of mfns (XEN_DOMCTL_getpageframeinfo3), in place. */
static int snap_types(struct snap *s, xen_pfn_t *arr, unsigned n)
{
	struct xen_domctl dc;
	int rc;
	DECLARE_HYPERCALL_BUFFER(xen_pfn_t, buf);

	buf = xc_hypercall_buffer_alloc(s->d->xch, buf, n * sizeof(*arr));
	if (!buf)
		return fail(s->err, s->errlen, -ENOMEM,
			    "hypercall buffer for %u frame types", n);
	memcpy(buf, arr, n * sizeof(*arr));
	memset(&dc, 0, sizeof(dc));
	dc.cmd = XEN_DOMCTL_getpageframeinfo3;
	dc.domain = (domid_t)s->domid;
	dc.u.getpageframeinfo3.num = n;
	set_xen_guest_handle(dc.u.getpageframeinfo3.array, buf);
	rc = xc_domctl(s->d->xch, &dc);
	if (!rc)
		memcpy(arr, buf, n * sizeof(*arr));
	else
		rc = fail(s->err, s->errlen, -errno,
			  "domain %u: the types of %u frames: %s", s->domid, n,
			  strerror(errno));
	xc_hypercall_buffer_free(s->d->xch, buf);
	return rc;
}

/* A page table's entries from the domain's frames to pfns; the L4's
 * slots of Xen's own mappings cleared (Xen fills them when the clone's
 * table is pinned), as libxc's save does. */
static int snap_table(const struct snap *s, uint64_t pfn, uint32_t type,
		      uint64_t *t)
{
	unsigned xen_first = 512, xen_last = 0;
	uint32_t lv = (type & XEN_DOMCTL_PFINFO_LTABTYPE_MASK) >>
		      XEN_DOMCTL_PFINFO_LTAB_SHIFT;

	if ((type & XEN_DOMCTL_PFINFO_LTABTYPE_MASK) ==
	    XEN_DOMCTL_PFINFO_L4TAB) {
		xen_first = (unsigned)((HYPERVISOR_VIRT_START >> 39) & 511);
		xen_last = (unsigned)((HYPERVISOR_VIRT_END >> 39) & 511);
	}
	for (unsigned i = 0; i < UXD_PAGE / 8; i++) {
		int64_t p;
		if (i >= xen_first && i <= xen_last)
			t[i] = 0;
		if (!(t[i] & PTE_P))
			continue;
		if (lv > 1 && (t[i] & 0x80))
			return fail(s->err, s->errlen, -EINVAL,
				    "domain %u: L%u table pfn %#llx entry %u "
				    "maps a superpage",
				    s->domid, lv, (unsigned long long)pfn, i);
		p = snap_pfn(s, (t[i] & PTE_FRAME) >> 12);
		if (p < 0)
			return fail(s->err, s->errlen, -ERANGE,
				    "domain %u: L%u table pfn %#llx entry %u "
				    "names mfn %#llx, not a frame of the "
				    "domain",
				    s->domid, lv, (unsigned long long)pfn, i,
				    (unsigned long long)((t[i] & PTE_FRAME) >>
							 12));
		t[i] = (t[i] & ~PTE_FRAME) | ((uint64_t)p << 12);
	}
	return 0;
}

/* The frames' types and contents: page tables with pfns, the pages that
 * are not zeroes kept (1024 frames mapped at a time). */
static int snap_pages(struct snap *s, struct uxd_image *img)
{
	xen_pfn_t m[1024];
	uint64_t pf[1024];
	uint8_t tbl[UXD_PAGE];
	int rc = 0;

	for (uint64_t i = 0; i < s->npfn; i++)
		img->types[i] = XEN_DOMCTL_PFINFO_XTAB;
	for (uint64_t pfn = 0; pfn < s->npfn && !rc;) {
		unsigned n = 0;
		for (; pfn < s->npfn && n < 1024; pfn++)
			if (s->p2m[pfn] != INVALID_MFN && s->p2m[pfn] != 0) {
				pf[n] = pfn;
				m[n++] = s->p2m[pfn];
			}
		if (!n)
			break;
		xen_pfn_t ty[1024];
		memcpy(ty, m, n * sizeof(*m));
		rc = snap_types(s, ty, n);
		if (rc)
			break;
		uint8_t *map = xenforeignmemory_map(s->d->fmem, s->domid,
						    PROT_READ, n, m, NULL);
		if (!map) {
			rc = fail(s->err, s->errlen, -errno,
				  "domain %u: mapping %u of its frames: %s",
				  s->domid, n, strerror(errno));
			break;
		}
		for (unsigned k = 0; k < n && !rc; k++) {
			uint32_t t = (uint32_t)(ty[k] &
						XEN_DOMCTL_PFINFO_LTAB_MASK);
			const uint8_t *src = map + (size_t)k * UXD_PAGE;
			img->types[pf[k]] = t;
			if (type_populated(t))
				img->populated++;
			if (!type_has_data(t))
				continue;
			if (type_is_pt(t)) {
				memcpy(tbl, src, UXD_PAGE);
				rc = snap_table(s, pf[k], t, (uint64_t *)tbl);
				src = tbl;
			}
			if (!rc && !page_is_zero(src) &&
			    keep_page(img, pf[k], src))
				rc = fail(s->err, s->errlen, -ENOMEM,
					  "out of memory for the pages of "
					  "domain %u",
					  s->domid);
		}
		xenforeignmemory_unmap(s->d->fmem, map, n);
	}
	return rc;
}

/* One vCPU's state, as the save's VCPU records carry it. */
static int snap_vcpu(struct snap *s, struct uxd_image *img, uint32_t v)
{
	struct uxd_vcpu *u;
	vcpu_guest_context_any_t ctx;
	vcpu_guest_context_x86_64_t *c = &ctx.x64;
	struct xen_domctl dc;
	uint64_t val;
	int rc = 0;
	DECLARE_HYPERCALL_BUFFER(void, buf);

	memset(&dc, 0, sizeof(dc));
	dc.cmd = XEN_DOMCTL_getvcpuinfo;
	dc.domain = (domid_t)s->domid;
	dc.u.getvcpuinfo.vcpu = v;
	if (xc_domctl(s->d->xch, &dc))
		return fail(s->err, s->errlen, -errno,
			    "domain %u: vCPU %u's info: %s", s->domid, v,
			    strerror(errno));
	if (!dc.u.getvcpuinfo.online)
		return 0;
	if (xc_vcpu_getcontext(s->d->xch, s->domid, v, &ctx))
		return fail(s->err, s->errlen, -errno,
			    "domain %u: vCPU %u's context: %s", s->domid, v,
			    strerror(errno));
	if (v == 0 && snap_conv(s, &c->user_regs.rdx, "start_info (rdx)", v))
		return -ERANGE;
	if (c->gdt_ents > 14 * 512)
		return fail(s->err, s->errlen, -EINVAL,
			    "domain %u: vCPU %u has %lu GDT entries", s->domid,
			    v, (unsigned long)c->gdt_ents);
	for (unsigned i = 0; i < (c->gdt_ents + 511) / 512; i++) {
		val = c->gdt_frames[i];
		if (snap_conv(s, &val, "GDT frame", v))
			return -ERANGE;
		c->gdt_frames[i] = val;
	}
	val = c->ctrlreg[3] >> 12;
	if (snap_conv(s, &val, "cr3", v))
		return -ERANGE;
	c->ctrlreg[3] = val << 12;
	if (c->ctrlreg[1]) {
		val = c->ctrlreg[1] >> 12;
		if (snap_conv(s, &val, "cr1", v))
			return -ERANGE;
		c->ctrlreg[1] = 1 | val << 12;
	}
	u = vcpu_at(img, v);
	if (!u)
		return fail(s->err, s->errlen, -EINVAL,
			    "domain %u: vCPU %u (at most %u)", s->domid, v,
			    UXD_VCPUS_MAX - 1);
	memcpy(&u->basic, c, sizeof(u->basic));
	u->has_basic = 1;

	memset(&dc, 0, sizeof(dc));
	dc.cmd = XEN_DOMCTL_get_ext_vcpucontext;
	dc.domain = (domid_t)s->domid;
	dc.u.ext_vcpucontext.vcpu = v;
	if (xc_domctl(s->d->xch, &dc))
		return fail(s->err, s->errlen, -errno,
			    "domain %u: vCPU %u's extended context: %s",
			    s->domid, v, strerror(errno));
	if (dc.u.ext_vcpucontext.size &&
	    blob_set(&u->ext, &dc.u.ext_vcpucontext,
		     dc.u.ext_vcpucontext.size))
		return fail(s->err, s->errlen, -ENOMEM, "out of memory");

	/* xsave state and MSRs: their sizes asked first, as the save does */
	for (int pass = 0; pass < 2; pass++) {
		uint64_t size;
		int xs = pass == 0;
		memset(&dc, 0, sizeof(dc));
		dc.cmd = xs ? XEN_DOMCTL_getvcpuextstate
			    : XEN_DOMCTL_get_vcpu_msrs;
		dc.domain = (domid_t)s->domid;
		if (xs)
			dc.u.vcpuextstate.vcpu = v;
		else
			dc.u.vcpu_msrs.vcpu = v;
		if (xc_domctl(s->d->xch, &dc))
			return fail(s->err, s->errlen, -errno,
				    "domain %u: vCPU %u's %s size: %s",
				    s->domid, v, xs ? "xsave" : "MSR",
				    strerror(errno));
		if (xs && !dc.u.vcpuextstate.xfeature_mask)
			continue;
		size = xs ? dc.u.vcpuextstate.size
			  : (uint64_t)dc.u.vcpu_msrs.msr_count *
				sizeof(xen_domctl_vcpu_msr_t);
		if (!size)
			continue;
		buf = xc_hypercall_buffer_alloc(s->d->xch, buf, size);
		if (!buf)
			return fail(s->err, s->errlen, -ENOMEM,
				    "hypercall buffer of %llu bytes",
				    (unsigned long long)size);
		if (xs)
			set_xen_guest_handle(dc.u.vcpuextstate.buffer, buf);
		else
			set_xen_guest_handle(dc.u.vcpu_msrs.msrs, buf);
		rc = xc_domctl(s->d->xch, &dc);
		if (rc)
			rc = fail(s->err, s->errlen, -errno,
				  "domain %u: vCPU %u's %s: %s", s->domid, v,
				  xs ? "xsave state" : "MSRs", strerror(errno));
		else {
			size = xs ? dc.u.vcpuextstate.size
				  : (uint64_t)dc.u.vcpu_msrs.msr_count *
					sizeof(xen_domctl_vcpu_msr_t);
			if (size && blob_set(xs ? &u->xsave : &u->msrs, buf,
					     size))
				rc = fail(s->err, s->errlen, -ENOMEM,
					  "out of memory");
		}
		xc_hypercall_buffer_free(s->d->xch, buf);
		if (rc)
			return rc;
	}
	return 0;
}

int uxd_wait_suspended(struct uxd *d, uint32_t domid, int timeout_ms,
		       char *err, size_t errlen)
{
	int64_t until = mono_ns() + (int64_t)timeout_ms * 1000000;

	for (;;) {
		xc_dominfo_t info;
		int n;
		uxen_handle_enter(); /* libxencall's lock: not while libxl forks */
		n = xc_domain_getinfo(d->xch, domid, 1, &info);
		uxen_handle_leave();
		if (n != 1 || info.domid != domid)
			return fail(err, errlen, -ESRCH,
				    "domain %u is gone", domid);
		if (info.shutdown && info.shutdown_reason == SHUTDOWN_suspend)
			return 0;
		if (info.shutdown || info.dying)
			return fail(err, errlen, -EIO,
				    "domain %u shut down with reason %u "
				    "instead of suspending",
				    domid, info.shutdown_reason);
		if (mono_ns() > until)
			return fail(err, errlen, -ETIMEDOUT,
				    "domain %u did not suspend within %d ms",
				    domid, timeout_ms);
		usleep(2000);
	}
}

int uxd_snapshot(struct uxd *d, uint32_t domid, struct uxd_image **out,
		 char *err, size_t errlen)
{
	struct snap s = {.d = d, .domid = domid, .err = err,
			 .errlen = errlen};
	struct uxd_image *img = calloc(1, sizeof(*img));
	xc_dominfo_t info;
	shared_info_t *sh = NULL;
	xen_pfn_t shf;
	char name[48];
	int rc;

	*out = NULL;
	if (!img)
		return fail(err, errlen, -ENOMEM, "out of memory");
	/* libxenctrl's calls take libxencall's process-wide buffer lock: not
	 * while libxl forks (uxen_handle_enter) */
	uxen_handle_enter();
	if (xc_domain_getinfo(d->xch, domid, 1, &info) != 1 ||
	    info.domid != domid) {
		rc = fail(err, errlen, -ESRCH, "domain %u: no such domain",
			  domid);
		goto out;
	}
	if (!info.shutdown || info.shutdown_reason != SHUTDOWN_suspend ||
	    info.hvm) {
		rc = fail(err, errlen, -EINVAL,
			  "domain %u is not a PV domain in its suspend "
			  "(shutdown %u, reason %u)",
			  domid, info.shutdown, info.shutdown_reason);
		goto out;
	}
	shf = info.shared_info_frame;
	sh = xenforeignmemory_map(d->fmem, domid, PROT_READ, 1, &shf, NULL);
	if (!sh) {
		rc = fail(err, errlen, -errno,
			  "domain %u: mapping its shared info (mfn %#llx): %s",
			  domid, (unsigned long long)shf, strerror(errno));
		goto out;
	}
	memcpy(img->shinfo, sh, UXD_PAGE);
	img->has_shinfo = 1;
	s.npfn = sh->arch.max_pfn;
	if (!s.npfn || s.npfn > UXD_NPFN_MAX) {
		rc = fail(err, errlen, -EINVAL,
			  "domain %u: max_pfn %llu in its shared info",
			  domid, (unsigned long long)s.npfn);
		goto out;
	}
	img->npfn = s.npfn;
	img->version = 3;
	s.p2m = malloc(s.npfn * sizeof(*s.p2m));
	s.rev = malloc(s.npfn * sizeof(*s.rev));
	img->types = malloc(s.npfn * sizeof(*img->types));
	if (!s.p2m || !s.rev || !img->types) {
		rc = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	rc = snap_p2m(&s, sh, img);
	if (rc)
		goto out;
	for (uint64_t i = 0; i < s.npfn; i++)
		if (s.p2m[i] != INVALID_MFN && s.p2m[i] != 0) {
			s.rev[s.nrev].mfn = s.p2m[i];
			s.rev[s.nrev++].pfn = i;
		}
	qsort(s.rev, s.nrev, sizeof(*s.rev), rev_cmp);
	for (uint64_t i = 1; i < s.nrev; i++)
		if (s.rev[i].mfn == s.rev[i - 1].mfn) {
			rc = fail(err, errlen, -EINVAL,
				  "domain %u: mfn %#llx at pfns %#llx and "
				  "%#llx of its p2m",
				  domid, (unsigned long long)s.rev[i].mfn,
				  (unsigned long long)s.rev[i - 1].pfn,
				  (unsigned long long)s.rev[i].pfn);
			goto out;
		}
	for (uint64_t i = 0; i < img->nr_p2m; i++) {
		int64_t p = snap_pfn(&s, (xen_pfn_t)img->p2m_pfns[i]);
		if (p < 0) {
			rc = fail(err, errlen, -ERANGE,
				  "domain %u: p2m frame %llu (mfn %#llx) is "
				  "not a frame of the domain",
				  domid, (unsigned long long)i,
				  (unsigned long long)img->p2m_pfns[i]);
			goto out;
		}
		img->p2m_pfns[i] = (uint64_t)p;
	}
	rc = snap_pages(&s, img);
	for (uint32_t v = 0; !rc && v <= info.max_vcpu_id; v++)
		rc = snap_vcpu(&s, img, v);
	if (rc)
		goto out;
	if (!img->nr_vcpus || !img->vcpus[0].has_basic) {
		rc = fail(err, errlen, -EINVAL, "domain %u: vCPU 0 is offline",
			  domid);
		goto out;
	}
	if (xc_domain_get_tsc_info(d->xch, domid, &img->tsc.mode,
				   &img->tsc.nsec, &img->tsc.khz,
				   &img->tsc.incarnation)) {
		rc = fail(err, errlen, -errno, "domain %u: TSC info: %s", domid,
			  strerror(errno));
		goto out;
	}
	img->has_tsc = 1;
	snprintf(name, sizeof(name), "domain %u", domid);
	{
		struct pctx c = {.fd = -1, .name = name, .err = err,
				 .errlen = errlen, .img = img};
		rc = keep_needed(&c);
		if (rc == -ENOMEM)
			fail(err, errlen, rc, "%s: out of memory", name);
	}
out:
	uxen_handle_leave();
	if (sh)
		xenforeignmemory_unmap(d->fmem, sh, 1);
	free(s.p2m);
	free(s.rev);
	if (rc)
		uxd_image_free(img);
	else
		*out = img;
	return rc;
}

static int store_setup(struct build *b, const char *name)
{
	int rc;

	pthread_mutex_lock(b->d->xs_lock);
	rc = store_setup_locked(b, name);
	pthread_mutex_unlock(b->d->xs_lock);
	return rc;
}

int uxd_clone(struct uxd *d, const struct uxd_clone_req *r, uint32_t *domid,
	      struct uxd_clone_times *times, char *err, size_t errlen)
{
	struct uxd_clone_times tm = {0};
	struct uxd_entry *e;
	struct build b = {.d = d, .err = err, .errlen = errlen};
	struct xen_domctl_createdomain cfg;
	xc_dominfo_t info;
	int64_t t0 = mono_ns(), t;
	int rc, created = 0, held = 0;

	if (r->img) {
		e = NULL; /* the caller's image */
	} else if (r->once) {
		/* a fork's save file: parsed for this build only */
		e = calloc(1, sizeof(*e));
		if (!e)
			return fail(err, errlen, -ENOMEM, "out of memory");
		rc = uxd_image_load(r->tpl_path, &e->img, err, errlen);
		tm.parse = mono_ns() - t0;
		if (rc) {
			free(e);
			return rc;
		}
		e->refs = 1;
		e->gone = 1; /* not in the cache: freed by entry_put_locked */
	} else {
		rc = entry_get(d, r->tpl_path, &e, &tm.parse, err, errlen);
		if (rc)
			return rc;
	}
	b.img = e ? e->img : r->img;
	if (r->mem / UXD_PAGE < b.img->populated) {
		rc = fail(err, errlen, -EINVAL,
			  "template %s has %llu pages, more than the %llu "
			  "MiB asked for",
			  r->tpl_path, (unsigned long long)b.img->populated,
			  (unsigned long long)(r->mem >> 20));
		goto out;
	}
	if (r->vcpus < b.img->nr_vcpus) {
		rc = fail(err, errlen, -EINVAL,
			  "template %s has %u vCPUs, more than the %u asked "
			  "for",
			  r->tpl_path, b.img->nr_vcpus, r->vcpus);
		goto out;
	}
	b.p2m = malloc(b.img->npfn * sizeof(*b.p2m));
	if (!b.p2m) {
		rc = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}

	t = mono_ns();
	/* libxenctrl's calls take libxencall's process-wide buffer lock: not
	 * while libxl forks (uxen_handle_enter) */
	uxen_handle_enter();
	held = 1;
	memset(&cfg, 0, sizeof(cfg));
	/* the domain's UUID (xl list -v): random, version 4 */
	if (getrandom(cfg.handle, sizeof(cfg.handle), 0) !=
	    (ssize_t)sizeof(cfg.handle))
		for (size_t i = 0; i < sizeof(cfg.handle); i++)
			cfg.handle[i] = (uint8_t)(mono_ns() >> (i % 8 * 8));
	cfg.handle[6] = (uint8_t)((cfg.handle[6] & 0x0f) | 0x40);
	cfg.handle[8] = (uint8_t)((cfg.handle[8] & 0x3f) | 0x80);
	cfg.max_vcpus = r->vcpus;
	cfg.max_evtchn_port = 1023;
	cfg.max_grant_frames = 32;
	cfg.max_maptrack_frames = 1024;
	cfg.grant_opts = XEN_DOMCTL_GRANT_version(1);
	b.domid = 0; /* Xen picks */
	if (xc_domain_create(d->xch, &b.domid, &cfg)) {
		rc = fail(err, errlen, -errno, "xc_domain_create (PV): %s",
			  strerror(errno));
		goto out;
	}
	created = 1;
	if (xc_domain_max_vcpus(d->xch, b.domid, r->vcpus) ||
	    xc_domain_setmaxmem(d->xch, b.domid, r->mem / 1024 + 1024)) {
		rc = fail(err, errlen, -errno,
			  "domain %u: max vCPUs %u / max memory %llu KiB: %s",
			  b.domid, r->vcpus,
			  (unsigned long long)(r->mem / 1024 + 1024),
			  strerror(errno));
		goto out;
	}
	if (b.img->has_tsc &&
	    xc_domain_set_tsc_info(d->xch, b.domid, b.img->tsc.mode,
				   b.img->tsc.nsec, b.img->tsc.khz,
				   b.img->tsc.incarnation)) {
		rc = fail(err, errlen, -errno, "domain %u: TSC info: %s",
			  b.domid, strerror(errno));
		goto out;
	}
	if (xc_domain_getinfo(d->xch, b.domid, 1, &info) != 1 ||
	    info.domid != b.domid) {
		rc = fail(err, errlen, -ESRCH,
			  "xc_domain_getinfo of the new domain %u failed",
			  b.domid);
		goto out;
	}
	b.shinfo_mfn = info.shared_info_frame;
	{
		int sp = xc_evtchn_alloc_unbound(d->xch, b.domid, 0);
		int cp = sp < 0 ? -1
				: xc_evtchn_alloc_unbound(d->xch, b.domid, 0);
		if (sp < 0 || cp < 0) {
			rc = fail(err, errlen, -errno,
				  "domain %u: event channels for xenstore and "
				  "the console: %s",
				  b.domid, strerror(errno));
			goto out;
		}
		b.store_port = (uint32_t)sp;
		b.con_port = (uint32_t)cp;
	}
	tm.create = mono_ns() - t;

	t = mono_ns();
	rc = populate(&b);
	tm.populate = mono_ns() - t;
	if (rc)
		goto out;
	t = mono_ns();
	rc = copy_pages(&b);
	if (!rc && d->zero)
		rc = zero_rest(&b);
	if (!rc)
		rc = set_shared_info(&b);
	tm.copy = mono_ns() - t;
	if (rc)
		goto out;
	t = mono_ns();
	rc = set_vcpus(&b);
	if (!rc)
		rc = pin_tables(&b);
	if (!rc &&
	    xc_dom_gnttab_seed(d->xch, b.domid, false, b.con_mfn, b.store_mfn,
			       0, 0))
		rc = fail(err, errlen, -errno,
			  "domain %u: seeding the grant table: %s", b.domid,
			  strerror(errno));
	tm.context = mono_ns() - t;
	if (rc)
		goto out;
	uxen_handle_leave();
	held = 0;
	t = mono_ns();
	rc = store_setup(&b, r->name);
	tm.store = mono_ns() - t;
	if (rc)
		goto out;
	tm.total = mono_ns() - t0;
	*domid = b.domid;
	if (times)
		*times = tm;
out:
	if (rc && created) {
		char dom[64];
		snprintf(dom, sizeof(dom), "/local/domain/%u", b.domid);
		pthread_mutex_lock(d->xs_lock);
		xs_rm(d->xs, XBT_NULL, dom);
		pthread_mutex_unlock(d->xs_lock);
		if (!held)
			uxen_handle_enter();
		held = 1;
		xc_domain_destroy(d->xch, b.domid);
	}
	if (held)
		uxen_handle_leave();
	free(b.p2m);
	if (e) {
		pthread_mutex_lock(&d->lock);
		entry_put_locked(d, e);
		pthread_mutex_unlock(&d->lock);
	}
	return rc;
}

/* ---------------- the console ring ---------------- */

struct pump {
	struct uxd *d;
	xenevtchn_handle *xce;
	xenforeignmemory_handle *fmem; /* d's (the backend's) */
	volatile struct xencons_interface *ring;
	evtchn_port_t port;
	int fd; /* our end of the socket pair */
};

static void pump_free(struct pump *p)
{
	if (p->ring)
		xenforeignmemory_unmap(p->fmem, (void *)p->ring, 1);
	uxen_handle_enter();
	if (p->xce)
		xenevtchn_close(p->xce);
	uxen_handle_leave();
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

/* Bytes in the ring's out half to the socket; -1 when the reader left. */
static int pump_once(struct pump *p)
{
	volatile struct xencons_interface *r = p->ring;
	char buf[sizeof(r->out)];
	XENCONS_RING_IDX cons = r->out_cons, prod = r->out_prod, n;

	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	n = prod - cons;
	if (n > sizeof(r->out)) { /* the guest broke its ring: drop it */
		r->out_cons = prod;
		return 0;
	}
	for (XENCONS_RING_IDX i = 0; i < n; i++)
		buf[i] = r->out[MASK_XENCONS_IDX(cons + i, r->out)];
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	r->out_cons = prod;
	if (n)
		xenevtchn_notify(p->xce, p->port);
	for (size_t off = 0; off < n;) {
		ssize_t w = send(p->fd, buf + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* The ring drained into the socket until the reader closes its end. */
static void *pump_main(void *arg)
{
	struct pump *p = arg;

	for (;;) {
		struct pollfd f[2] = {
		    {.fd = xenevtchn_fd(p->xce), .events = POLLIN},
		    {.fd = p->fd, .events = 0}};
		if (pump_once(p) < 0)
			break;
		if (poll(f, 2, UXD_CON_POLL_MS) < 0 && errno != EINTR)
			break;
		if (f[1].revents & (POLLHUP | POLLERR))
			break;
		if (f[0].revents) {
			xenevtchn_port_or_error_t pp = xenevtchn_pending(p->xce);
			if (pp >= 0)
				xenevtchn_unmask(p->xce, (evtchn_port_t)pp);
		}
	}
	struct uxd *d = p->d;
	pump_free(p);
	__atomic_sub_fetch(&d->pumps, 1, __ATOMIC_ACQ_REL); /* last use of d */
	return NULL;
}

int uxd_console_open(struct uxd *d, uint32_t domid, char *err, size_t errlen)
{
	char path[96], *v;
	unsigned long long ref = 0;
	unsigned port = 0;
	int sv[2], ok;
	xenevtchn_port_or_error_t lp;
	pthread_t thr;
	struct pump *p = calloc(1, sizeof(*p));

	if (!p)
		return fail(err, errlen, -ENOMEM, "out of memory");
	p->fd = -1;
	pthread_mutex_lock(d->xs_lock);
	snprintf(path, sizeof(path), "/local/domain/%u/console/type", domid);
	v = xs_read(d->xs, XBT_NULL, path, NULL);
	ok = v && !strcmp(v, UXD_CON_TYPE);
	free(v);
	snprintf(path, sizeof(path), "/local/domain/%u/console/ring-ref",
		 domid);
	v = ok ? xs_read(d->xs, XBT_NULL, path, NULL) : NULL;
	ok = v && sscanf(v, "%llu", &ref) == 1;
	free(v);
	snprintf(path, sizeof(path), "/local/domain/%u/console/port", domid);
	v = ok ? xs_read(d->xs, XBT_NULL, path, NULL) : NULL;
	pthread_mutex_unlock(d->xs_lock);
	ok = v && sscanf(v, "%u", &port) == 1;
	free(v);
	if (!ok) {
		free(p);
		return fail(err, errlen, -ENOENT,
			    "domain %u: no console of a direct clone in "
			    "xenstore (console/type " UXD_CON_TYPE
			    ", ring-ref, port)",
			    domid);
	}
	p->d = d;
	p->fmem = d->fmem;
	uxen_handle_enter();
	p->xce = xenevtchn_open(NULL, 0);
	int e0 = errno;
	uxen_handle_leave();
	if (!p->xce) {
		int e = e0;
		pump_free(p);
		return fail(err, errlen, -e, "console of domain %u: %s", domid,
			    strerror(e));
	}
	xen_pfn_t f = (xen_pfn_t)ref;
	p->ring = xenforeignmemory_map(p->fmem, domid, PROT_READ | PROT_WRITE,
				       1, &f, NULL);
	lp = p->ring ? xenevtchn_bind_interdomain(p->xce, domid, port) : -1;
	if (lp < 0) {
		int e = errno;
		pump_free(p);
		return fail(err, errlen, -e,
			    "console of domain %u (ring mfn %#llx, port %u): "
			    "%s",
			    domid, ref, port, strerror(e));
	}
	p->port = (evtchn_port_t)lp;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		int e = errno;
		pump_free(p);
		return fail(err, errlen, -e, "socketpair: %s", strerror(e));
	}
	p->fd = sv[1];
	__atomic_add_fetch(&d->pumps, 1, __ATOMIC_ACQ_REL);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0 ||
	    pthread_create(&thr, NULL, pump_main, p)) {
		int e = errno ? errno : EAGAIN;
		close(sv[0]);
		pump_free(p);
		__atomic_sub_fetch(&d->pumps, 1, __ATOMIC_ACQ_REL);
		return fail(err, errlen, -e, "console thread: %s", strerror(e));
	}
	pthread_detach(thr);
	return sv[0];
}
