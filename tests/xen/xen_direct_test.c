/* SPDX-License-Identifier: MIT */
/* xen_direct_test.c - the direct clone's template parser (backends/xen/uxen_direct.c) on crafted libxl save streams, and on a real template file when given one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenctrl.h>

#include "backends/xen/uxen_direct.h"

#define SELFTEST_COUNTING
#include "tests/common/selftest.h"

/*
 * usage: xen-direct-test            the crafted streams (any machine)
 *        xen-direct-test --info F   parse template file F, print what it
 *                                   holds; exit 0 if it parses
 *        xen-direct-test --break-pt IN OUT   (for xen_direct.sh) below
 *
 * The crafted stream is what libxl_domain_suspend writes for a tiny x86-64
 * PV guest of 5 pfns: start_info (pfn 0), the p2m frame (pfn 1), a pinned
 * L4 table naming pfn 3 (pfn 2), a page of zeroes (pfn 3), an absent pfn
 * (4, XTAB); vCPU 0 with rdx = start_info, cr3 = the L4. The parser must
 * keep the 3 pages that are not zeroes, know the table and its pin, and
 * refuse each broken variant with a reason naming what and where; every
 * truncation of the good stream is refused, none crashes.
 */

static int failures; /* CHECK counts here (tests/common/selftest.h) */

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void put_be(struct buf *b, uint64_t v, int bytes)
{
	uint8_t x[8];
	for (int i = 0; i < bytes; i++)
		x[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	put(b, x, (size_t)bytes);
}

static void put_le(struct buf *b, uint64_t v, int bytes)
{
	put(b, &v, (size_t)bytes); /* x86: little-endian */
}

/* A record: type, length, body, zero padding to 8. */
static void rec(struct buf *b, uint32_t type, const void *body, uint32_t n)
{
	static const uint8_t z[8];
	put_le(b, type, 4);
	put_le(b, n, 4);
	put(b, body, n);
	put(b, z, (8 - n % 8) % 8);
}

enum flaw {
	GOOD,
	HVM,	      /* domain header type 2 */
	PD_LENGTH,    /* PAGE_DATA one page short */
	BAD_SI,	      /* vCPU 0's rdx names the absent pfn */
	UNKNOWN_REC,  /* a mandatory record type nobody knows */
	NO_VCPU,      /* no X86_PV_VCPU_BASIC */
	WIDE_PFN,     /* PAGE_DATA names a pfn beyond the p2m */
	LIBXL_V3,     /* libxl stream version 3 */
	NO_LIBXC,     /* libxl END right after the header */
	TWO_LIBXC,    /* a second LIBXC_CONTEXT (a checkpointed stream) */
	PAST_END,     /* a last libxl record longer than the file */
	LIBXC_ID,     /* the libxc header is not "XENF" */
	LIBXC_V4,     /* libxc stream version 4 */
	BIG_ENDIAN_,  /* libxc options: big-endian */
	WIDTH32,      /* X86_PV_INFO: a 32-bit guest */
	P2M_FIRST,    /* X86_PV_P2M_FRAMES before X86_PV_INFO */
	P2M_TWICE,    /* a second X86_PV_P2M_FRAMES (live migration) */
	P2M_SHORT,    /* X86_PV_P2M_FRAMES of 4 bytes */
	P2M_RANGE,    /* its pfns start at 1 */
	P2M_LEN,      /* a frame more than its pfns need */
	P2M_PFN,      /* the p2m's frame at pfn 9, beyond the guest */
	PD_FIRST,     /* PAGE_DATA before X86_PV_P2M_FRAMES */
	PD_COUNT,     /* PAGE_DATA claiming 100 pfns in 8 bytes */
	PD_TYPE,      /* a pfn of an unknown frame type */
	VCPU_SHORT,   /* a vCPU record of 4 bytes */
	VCPU_ID,      /* vCPU 300 */
	VCPU_SIZE,    /* X86_PV_VCPU_BASIC of 100 bytes */
	VCPU_EXT,     /* X86_PV_VCPU_EXTENDED of 200 bytes */
	VCPU_MSRS,    /* X86_PV_VCPU_MSRS of 5 bytes */
	SHINFO_SIZE,  /* SHARED_INFO of 100 bytes */
	NO_SHINFO,    /* no SHARED_INFO */
	TSC_SHORT,    /* X86_TSC_INFO of 8 bytes */
	NO_P2M,       /* no X86_PV_P2M_FRAMES at all */
	TOLERATED,    /* good, plus what libxc tolerates: an empty vCPU
		       * record, an optional record nobody knows */
};

static struct buf stream(enum flaw f)
{
	struct buf b = {0};
	uint8_t page[4096];

	put_be(&b, 0x4c6962786c466d74ULL, 8); /* libxl header */
	put_be(&b, f == LIBXL_V3 ? 3 : 2, 4);
	put_be(&b, 0, 4);
	if (f == NO_LIBXC) {
		rec(&b, 0x00, NULL, 0); /* libxl END */
		return b;
	}
	rec(&b, 1, NULL, 0); /* LIBXC_CONTEXT */
	put_be(&b, ~0ULL, 8); /* libxc image header */
	put_be(&b, f == LIBXC_ID ? 0x58454e47 : 0x58454e46, 4);
	put_be(&b, f == LIBXC_V4 ? 4 : 3, 4);
	put_be(&b, f == BIG_ENDIAN_ ? 1 : 0, 2);
	put_be(&b, 0, 2);
	put_be(&b, 0, 4);
	put_le(&b, f == HVM ? 2 : 1, 4); /* domain header */
	put_le(&b, 12, 2);
	put_le(&b, 0, 2);
	put_le(&b, 4, 4);
	put_le(&b, 17, 4);
	{
		uint8_t info[8] = {f == WIDTH32 ? 4 : 8, 4};
		/* pfns 0-4, the p2m's frame at pfn 1 */
		uint64_t fr[3] = {(uint64_t)4 << 32 | (f == P2M_RANGE),
				  f == P2M_PFN ? 9 : 1, 1};
		uint32_t frn = f == P2M_SHORT ? 4 : f == P2M_LEN ? 24 : 16;
		if (f == PD_FIRST) {
			uint8_t pd[16] = {1}; /* one pfn, 0, no data */
			pd[15] = 0xf0; /* XTAB */
			rec(&b, 0x01, pd, sizeof(pd));
		}
		if (f == P2M_FIRST)
			rec(&b, 0x03, fr, frn);
		rec(&b, 0x02, info, sizeof(info));
		if (f != P2M_FIRST && f != NO_P2M)
			rec(&b, 0x03, fr, frn);
		if (f == P2M_TWICE)
			rec(&b, 0x03, fr, frn);
	}
	rec(&b, 0x10, NULL, 0); /* STATIC_DATA_END */
	if (f == PD_COUNT) {
		uint8_t pd[8] = {100};
		rec(&b, 0x01, pd, sizeof(pd));
	}
	if (f == NO_P2M)
		goto tail;
	{
		struct buf pd = {0};
		uint64_t l1 = (uint64_t)XEN_DOMCTL_PFINFO_L4TAB |
			      XEN_DOMCTL_PFINFO_LPINTAB;
		put_le(&pd, 5, 4);
		put_le(&pd, 0, 4);
		put_le(&pd, 0, 8);
		put_le(&pd, 1, 8);
		put_le(&pd, 2 | l1 << 32, 8);
		put_le(&pd, f == WIDE_PFN ? 9 : 3, 8);
		put_le(&pd, 4 | (uint64_t)(f == PD_TYPE ? 0x60000000u
							 : XEN_DOMCTL_PFINFO_XTAB)
				   << 32,
		       8);
		memset(page, 0, sizeof(page));
		memcpy(page, "xen-3.0-x86_64", 14); /* start_info */
		put(&pd, page, sizeof(page));
		memset(page, 0, sizeof(page));
		for (int i = 0; i < 5; i++) /* the p2m: old frames */
			((uint64_t *)page)[i] = 0x1000 + (uint64_t)i;
		put(&pd, page, sizeof(page));
		memset(page, 0, sizeof(page));
		((uint64_t *)page)[0] = (3ULL << 12) | 0x67; /* L4 -> pfn 3 */
		put(&pd, page, sizeof(page));
		if (f != PD_LENGTH) {
			memset(page, 0, sizeof(page));
			put(&pd, page, sizeof(page));
		}
		rec(&b, 0x01, pd.p, (uint32_t)pd.n);
		free(pd.p);
	}
tail:
	if (f == UNKNOWN_REC)
		rec(&b, 0x7777, "x", 1);
	if (f == TOLERATED) {
		uint8_t v[8] = {1}; /* vCPU 1, no context */
		rec(&b, 0x04, v, sizeof(v));
		rec(&b, 0x80007777u, "x", 1);
	}
	if (f != NO_VCPU) {
		struct buf v = {0};
		vcpu_guest_context_x86_64_t c;
		memset(&c, 0, sizeof(c));
		c.user_regs.rdx = f == BAD_SI ? 4 : 0;
		c.ctrlreg[3] = 2 << 12;
		put_le(&v, f == VCPU_ID ? 300 : 0, 4);
		put_le(&v, 0, 4);
		put(&v, &c, f == VCPU_SIZE ? 100 : sizeof(c));
		rec(&b, 0x04, v.p, f == VCPU_SHORT ? 4 : (uint32_t)v.n);
		free(v.p);
	}
	if (f == VCPU_EXT || f == VCPU_MSRS) {
		uint8_t v[8 + 200] = {0}; /* vCPU 0, then the body */
		rec(&b, f == VCPU_EXT ? 0x05 : 0x0c, v,
		    f == VCPU_EXT ? 8 + 200 : 8 + 5);
	}
	memset(page, 0, sizeof(page));
	if (f != NO_SHINFO) /* SHARED_INFO */
		rec(&b, 0x07, page, f == SHINFO_SIZE ? 100 : sizeof(page));
	{
		uint8_t tsc[24] = {0};
		rec(&b, 0x08, tsc, f == TSC_SHORT ? 8 : sizeof(tsc));
	}
	rec(&b, 0x00, NULL, 0); /* libxc END */
	if (f == TWO_LIBXC)
		rec(&b, 1, NULL, 0); /* another LIBXC_CONTEXT */
	if (f == PAST_END) {
		put_le(&b, 0x5, 4); /* a record of 1 MiB in a short file */
		put_le(&b, 1u << 20, 4);
	}
	rec(&b, 0x00, NULL, 0); /* libxl END */
	return b;
}

/* Parse f's stream: 0 or the error, the reason in err. */
static int parse(enum flaw f, struct uxd_image_info *info, char *err,
		 size_t errlen)
{
	struct buf b = stream(f);
	struct uxd_image *img = NULL;
	int rc = uxd_image_parse(b.p, b.n, "crafted", &img, err, errlen);

	if (!rc) {
		uxd_image_get_info(img, info);
		uxd_image_free(img);
	}
	free(b.p);
	return rc;
}

static void expect_refused(enum flaw f, const char *why)
{
	struct uxd_image_info info;
	char err[512] = "";
	int rc = parse(f, &info, err, sizeof(err));

	CHECKF(rc < 0 && strstr(err, why),
	       "flaw %d: rc %d, reason '%s', expected one with '%s'", f, rc,
	       err, why);
}

/*
 * The file reader (uxd_image_load reads a record at a time through a
 * window, not the whole file: a fork's save stream is parsed that way)
 * against the parser in memory: for the stream f cut to n bytes (n =
 * (size_t)-1: whole), the same outcome, reason and info. 0 when equal.
 */
static int file_same(enum flaw f, size_t n)
{
	struct buf b = stream(f);
	char path[] = "/tmp/ukf-xdt-XXXXXX", e1[512] = "", e2[512] = "";
	struct uxd_image *i1 = NULL, *i2 = NULL;
	struct uxd_image_info a, c;
	int fd = mkstemp(path), r1, r2, same;

	if (n > b.n)
		n = b.n;
	if (fd < 0 || write(fd, b.p, n) != (ssize_t)n) {
		fprintf(stderr, "xen-direct-test: %s: cannot write\n", path);
		if (fd >= 0)
			close(fd), unlink(path);
		free(b.p);
		return 1;
	}
	close(fd);
	r1 = uxd_image_parse(b.p, n, path, &i1, e1, sizeof(e1));
	r2 = uxd_image_load(path, &i2, e2, sizeof(e2));
	same = r1 == r2 && !strcmp(e1, e2);
	if (same && !r1) {
		uxd_image_get_info(i1, &a);
		uxd_image_get_info(i2, &c);
		same = !memcmp(&a, &c, sizeof(a));
	}
	if (!same)
		fprintf(stderr,
			"xen-direct-test: flaw %d cut at %zu: in memory %d "
			"'%s', from the file %d '%s'\n",
			f, n, r1, e1, r2, e2);
	uxd_image_free(i1);
	uxd_image_free(i2);
	unlink(path);
	free(b.p);
	return !same;
}

static int info_of(const char *path)
{
	struct uxd_image *img;
	struct uxd_image_info i;
	char err[1024];

	if (uxd_image_load(path, &img, err, sizeof(err))) {
		fprintf(stderr, "xen-direct-test: %s\n", err);
		return 1;
	}
	uxd_image_get_info(img, &i);
	printf("template %s: %llu bytes, libxc stream v%u, %llu pfns, %llu "
	       "populated, %llu pages kept (not zeroes or rewritten), %llu "
	       "page tables among them, %llu pinned, %llu p2m frames, "
	       "start_info pfn %#llx, %u vCPUs\n",
	       path, (unsigned long long)i.file_bytes, i.libxc_version,
	       (unsigned long long)i.npfn, (unsigned long long)i.populated,
	       (unsigned long long)i.data_pages,
	       (unsigned long long)i.pt_pages, (unsigned long long)i.pinned,
	       (unsigned long long)i.p2m_frames,
	       (unsigned long long)i.start_info, i.vcpus);
	uxd_image_free(img);
	return 0;
}

/*
 * --break-pt IN OUT: a copy of template IN whose first page table (in
 * stream order) has its first present entry pointing at pfn 0xfffff, past
 * any guest: it parses (entries are not followed then), and a direct clone
 * must fail when it rewrites that table, after its domain was created.
 */
static int break_pt(const char *in, const char *out)
{
	FILE *f = fopen(in, "rb");
	uint8_t *b;
	long len;
	size_t off = 16;
	int done = 0;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 64 ||
	    fseek(f, 0, SEEK_SET))
		return fprintf(stderr, "break-pt: %s: cannot read\n", in), 1;
	b = malloc((size_t)len);
	if (!b || fread(b, 1, (size_t)len, f) != (size_t)len)
		return fprintf(stderr, "break-pt: %s: short read\n", in), 1;
	fclose(f);
	/* libxl records up to LIBXC_CONTEXT, then libxc's headers */
	while (off + 8 <= (size_t)len) {
		uint32_t t, n;
		memcpy(&t, b + off, 4);
		memcpy(&n, b + off + 4, 4);
		off += 8 + ((n + 7) & ~7u);
		if (t == 1)
			break;
	}
	off += 24 + 16;
	while (!done && off + 8 <= (size_t)len) {
		uint32_t t, n, count;
		memcpy(&t, b + off, 4);
		memcpy(&n, b + off + 4, 4);
		if (t == 0)
			break;
		if (t == 1) {
			uint8_t *p = b + off + 8;
			uint64_t data = 0;
			memcpy(&count, p, 4);
			for (uint32_t i = 0; i < count && !done; i++) {
				uint64_t e;
				memcpy(&e, p + 8 + (size_t)i * 8, 8);
				uint32_t ty = (uint32_t)(e >> 32) & 0xf0000000u;
				uint32_t tab = ty & XEN_DOMCTL_PFINFO_LTABTYPE_MASK;
				if ((ty & XEN_DOMCTL_PFINFO_LTAB_MASK) >=
				    XEN_DOMCTL_PFINFO_BROKEN)
					continue; /* no data */
				if (tab >= XEN_DOMCTL_PFINFO_L1TAB &&
				    tab <= XEN_DOMCTL_PFINFO_L4TAB) {
					uint64_t *pt =
					    (uint64_t *)(p + 8 + (size_t)count * 8 +
							 data * 4096);
					for (int k = 0; k < 512; k++)
						if (pt[k] & 1) {
							pt[k] = (pt[k] & ~0x000ffffffffff000ULL) |
								(0xfffffULL << 12);
							printf("broke pfn %#llx entry %d\n",
							       (unsigned long long)(e & 0x000fffffffffffffULL), k);
							done = 1;
							break;
						}
				}
				data++;
			}
		}
		off += 8 + ((n + 7) & ~7u);
	}
	f = done ? fopen(out, "wb") : NULL;
	if (!f || fwrite(b, 1, (size_t)len, f) != (size_t)len || fclose(f))
		return fprintf(stderr, "break-pt: %s: %s\n", out,
			       done ? "cannot write" : "no page table"), 1;
	free(b);
	return 0;
}

int main(int argc, char **argv)
{
	struct uxd_image_info info;
	char err[512] = "";
	int rc;

	if (argc == 3 && !strcmp(argv[1], "--info"))
		return info_of(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "--break-pt"))
		return break_pt(argv[2], argv[3]);
	if (argc != 1) {
		fprintf(stderr, "usage: xen-direct-test [--info FILE | "
				"--break-pt IN OUT]\n");
		return 2;
	}

	rc = parse(GOOD, &info, err, sizeof(err));
	CHECKF(rc == 0, "the good stream refused: %s", err);
	if (rc == 0) {
		CHECK(info.npfn == 5);
		CHECK(info.populated == 4);   /* pfn 4 is XTAB */
		CHECK(info.data_pages == 3);  /* pfn 3's zeroes not kept */
		CHECK(info.pt_pages == 1);
		CHECK(info.pinned == 1);
		CHECK(info.p2m_frames == 1);
		CHECK(info.start_info == 0);
		CHECK(info.vcpus == 1);
		CHECK(info.libxc_version == 3);
	}

	rc = parse(TOLERATED, &info, err, sizeof(err));
	CHECKF(rc == 0 && info.vcpus == 1,
	       "an empty vCPU record and an optional unknown record: rc %d "
	       "'%s', %u vCPUs",
	       rc, err, rc == 0 ? info.vcpus : 0);

	expect_refused(HVM, "x86 PV guest");
	expect_refused(PD_LENGTH, "PAGE_DATA at offset");
	expect_refused(BAD_SI, "start_info pfn 0x4");
	expect_refused(UNKNOWN_REC, "record type 0x7777 at offset");
	expect_refused(NO_VCPU, "no X86_PV_VCPU_BASIC record for vCPU 0");
	expect_refused(WIDE_PFN, "pfn 0x9 beyond");
	expect_refused(LIBXL_V3, "libxl stream version 3");
	expect_refused(NO_LIBXC, "no LIBXC_CONTEXT record");
	expect_refused(TWO_LIBXC, "a second libxc stream");
	expect_refused(PAST_END, "past the end of the file");
	expect_refused(LIBXC_ID, "no libxc image header");
	expect_refused(LIBXC_V4, "libxc stream version 4");
	expect_refused(BIG_ENDIAN_, "big-endian libxc stream");
	expect_refused(WIDTH32, "guest width 4, 4 levels");
	expect_refused(P2M_FIRST, "X86_PV_P2M_FRAMES at offset");
	expect_refused(P2M_FIRST, "before X86_PV_INFO");
	expect_refused(P2M_TWICE, "a second X86_PV_P2M_FRAMES");
	expect_refused(P2M_SHORT, "X86_PV_P2M_FRAMES at offset");
	expect_refused(P2M_SHORT, "truncated");
	expect_refused(P2M_RANGE, "pfns 0x1-0x4");
	expect_refused(P2M_LEN, "length 24, expected 16");
	expect_refused(P2M_PFN, "frame 0 at pfn 0x9, beyond the guest");
	expect_refused(PD_FIRST, "before the X86_PV_P2M_FRAMES record");
	expect_refused(PD_COUNT, "too short for its pfn list");
	expect_refused(PD_TYPE, "has unknown type 0x60000000");
	expect_refused(VCPU_SHORT, "vCPU record 0x4 at offset");
	expect_refused(VCPU_ID, "vCPU 300 (at most 127)");
	expect_refused(VCPU_SIZE, "100 bytes of context");
	expect_refused(VCPU_EXT, "X86_PV_VCPU_EXTENDED at offset");
	expect_refused(VCPU_EXT, "200 bytes (at most 128)");
	expect_refused(VCPU_MSRS, "not a whole number of MSRs");
	expect_refused(SHINFO_SIZE, "SHARED_INFO at offset");
	expect_refused(SHINFO_SIZE, "length 100, expected 4096");
	expect_refused(NO_SHINFO, "no SHARED_INFO record");
	expect_refused(TSC_SHORT, "X86_TSC_INFO at offset");
	expect_refused(NO_P2M, "no X86_PV_P2M_FRAMES record");

	{ /* not a libxl stream at all: an ELF file's first bytes */
		struct uxd_image *img = NULL;
		rc = uxd_image_parse("\177ELF\2\1\1\0\0\0\0\0\0\0\0\0", 16,
				     "elf", &img, err, sizeof(err));
		CHECKF(rc < 0 && strstr(err, "template file elf is not a libxl save stream"),
		       "an ELF header: rc %d, '%s'", rc, err);
	}
	{ /* every truncation of the good stream: refused, no crash */
		struct buf b = stream(GOOD);
		size_t bad = 0;
		for (size_t n = 0; n < b.n; n += n < 256 ? 1 : 61) {
			struct uxd_image *img = NULL;
			if (uxd_image_parse(b.p, n, "cut", &img, err,
					    sizeof(err)) == 0) {
				uxd_image_free(img);
				bad++;
			}
		}
		CHECKF(bad == 0, "%zu truncated streams accepted", bad);
		free(b.p);
	}
	{ /* from a file, record by record: what the parser in memory
	   * says, for every flaw and truncations of the good stream */
		size_t bad = 0, len;
		struct buf g = stream(GOOD);
		len = g.n;
		free(g.p);
		for (int f = GOOD; f <= TOLERATED; f++)
			bad += file_same((enum flaw)f, (size_t)-1);
		for (size_t n = 0; n < len; n += n < 64 ? 1 : 97)
			bad += file_same(GOOD, n);
		CHECKF(bad == 0, "%zu streams read from a file differently",
		       bad);
	}
	{ /* a missing file: the path and the system's reason */
		struct uxd_image *img = NULL;
		rc = uxd_image_load("/nonexistent/ukf.tpl", &img, err,
				    sizeof(err));
		CHECKF(rc == -2 && strstr(err, "/nonexistent/ukf.tpl: No such"),
		       "missing file: rc %d, '%s'", rc, err);
	}
	{ /* a directory: opened, then its read fails with the reason */
		struct uxd_image *img = NULL;
		rc = uxd_image_load("/", &img, err, sizeof(err));
		CHECKF(rc < 0 && strstr(err, "template file /: read at 0:"),
		       "directory: rc %d, '%s'", rc, err);
	}
	if (failures)
		fprintf(stderr, "xen-direct-test: %d checks failed\n", failures);
	else
		printf("xen-direct-test: all checks passed\n");
	return failures ? 1 : 0;
}
