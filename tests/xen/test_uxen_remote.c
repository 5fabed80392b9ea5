/* SPDX-License-Identifier: MIT */
/* test_uxen_remote.c - the Xen backend's template and fork-delta bytes: good ones round-trip, bad ones are refused saying why (no Xen host needed). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "backends/xen/uxen_int.h"
#include "core/le.h"
#include "core/ukf.h"
#include "tests/common/selftest.h"

#define IMG (8u << 20) /* a fake save image: 2048 pages */

static char tmpdir[64];

/* A save image that looks like a guest's: mostly zero pages, some text. */
static uint8_t *fake_image(uint32_t seed)
{
	uint8_t *p = calloc(1, IMG);

	for (size_t pg = 0; p && pg < IMG / 4096; pg += 3)
		for (size_t i = 0; i < 4096; i += 8) {
			uint64_t v = (pg * 2654435761u) ^ (i * 40503u) ^ seed;
			memcpy(p + pg * 4096 + i, &v, 8);
		}
	return p;
}

static void hdr_of(struct uxr_hdr *h, uint32_t kind, const char *app)
{
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->app = 3;
	h->vcpus = 1;
	h->mem = 64ULL << 20;
	snprintf(h->app_name, sizeof(h->app_name), "%s", app);
	snprintf(h->image, sizeof(h->image), "/nonexistent/guest-xen/%s", app);
}

static int contains(const char *s, const char *part)
{
	if (!strstr(s, part)) {
		fprintf(stderr, "message '%s' lacks '%s'\n", s, part);
		return 0;
	}
	return 1;
}

/* A template's bytes: accepted and described; each kind of damage is
 * refused with a message naming it. */
static int t_template_bytes(void)
{
	uint8_t *img = fake_image(1);
	struct ukf_template_info info;
	struct ukf_app app;
	struct uxr_hdr h, got;
	char err[400];
	void *b = NULL;
	size_t n = 0;
	uint8_t *c;

	CHECK(img);
	hdr_of(&h, UXR_KIND_TEMPLATE, "fanout");
	CHECK(uxr_pack(&h, img, IMG, NULL, 0, &b, &n, err, sizeof(err)) == 0);
	CHECKF(n < IMG / 2, "template of %zu bytes not compressed (%zu)", n,
	       (size_t)IMG);
	CHECK(uxr_check(b, n, UXR_KIND_TEMPLATE, &got, err, sizeof(err)) == 0);
	CHECK(got.raw_len == IMG && got.mem == (64ULL << 20));
	CHECK(uxr_template_info(NULL, NULL, b, n, &info, err, sizeof(err)) ==
	      0);
	CHECK(!strcmp(info.app_name, "fanout"));
	CHECK(info.mem_bytes == (64ULL << 20) && info.bytes == info.mem_bytes);
	CHECK(!info.has_image);

	/* the app it names and its memory */
	memset(&app, 0, sizeof(app));
	snprintf(app.name, sizeof(app.name), "fanout");
	app.mem_bytes = 64ULL << 20;
	CHECK(uxr_template_info(NULL, &app, b, n, &info, err, sizeof(err)) ==
	      0);
	snprintf(app.name, sizeof(app.name), "hello");
	CHECK(uxr_template_info(NULL, &app, b, n, &info, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "a template of app 'fanout', not 'hello'"));
	snprintf(app.name, sizeof(app.name), "fanout");
	app.mem_bytes = 128ULL << 20;
	CHECK(uxr_template_info(NULL, &app, b, n, &info, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "64 MiB of memory, app 'fanout' has 128 MiB"));

	/* truncated: in the payload, in the header, almost nothing */
	CHECK(uxr_template_info(NULL, NULL, b, n - 1, &info, err,
				sizeof(err)) == -EINVAL);
	CHECK(contains(err, "truncated"));
	CHECK(uxr_template_info(NULL, NULL, b, 100, &info, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "truncated"));
	CHECK(uxr_template_info(NULL, NULL, b, 5, &info, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "truncated"));

	/* corrupted payload, corrupted header, not ours at all */
	c = b;
	c[n - 40] ^= 0x20;
	CHECK(uxr_template_info(NULL, NULL, b, n, &info, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "payload checksum mismatch"));
	c[n - 40] ^= 0x20;
	c[70] ^= 1; /* in the app name */
	CHECK(uxr_template_info(NULL, NULL, b, n, &info, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "header checksum mismatch"));
	c[70] ^= 1;
	memcpy(c, "UKFSNAP1", 8);
	CHECK(uxr_template_info(NULL, NULL, b, n, &info, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "not a xen template"));
	memcpy(c, "UKFXENR1", 8);
	CHECK(uxr_check(b, n, UXR_KIND_TEMPLATE, NULL, err, sizeof(err)) == 0);
	CHECK(uxr_check(b, n, UXR_KIND_DELTA, NULL, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "a xen template, not a fork delta"));
	free(b);
	free(img);
	return 0;
}

/* The guest image's digest in a template is checked against the app's. */
static int t_template_image(void)
{
	uint8_t *img = fake_image(2);
	char p1[128], p2[128], err[600];
	struct ukf_template_info info;
	struct ukf_app app;
	struct uxr_hdr h;
	void *b = NULL;
	size_t n = 0;
	FILE *f;

	CHECK(img);
	snprintf(p1, sizeof(p1), "%s/img1", tmpdir);
	snprintf(p2, sizeof(p2), "%s/img2", tmpdir);
	f = fopen(p1, "w");
	CHECK(f && fputs("guest image one", f) >= 0 && fclose(f) == 0);
	f = fopen(p2, "w");
	CHECK(f && fputs("guest image two", f) >= 0 && fclose(f) == 0);
	hdr_of(&h, UXR_KIND_TEMPLATE, "fanout");
	crypto_hash_sha256(h.image_sha256, (const uint8_t *)"guest image one",
			   15);
	h.flags = 1;
	CHECK(uxr_pack(&h, img, IMG, NULL, 0, &b, &n, err, sizeof(err)) == 0);
	memset(&app, 0, sizeof(app));
	snprintf(app.name, sizeof(app.name), "fanout");
	snprintf(app.image, sizeof(app.image), "%s", p1);
	CHECK(uxr_template_info(NULL, &app, b, n, &info, err, sizeof(err)) ==
	      0);
	CHECK(info.has_image);
	snprintf(app.image, sizeof(app.image), "%s", p2);
	CHECK(uxr_template_info(NULL, &app, b, n, &info, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "a template of another image of app '"));
	snprintf(app.image, sizeof(app.image), "%s/none", tmpdir);
	CHECK(uxr_template_info(NULL, &app, b, n, &info, err, sizeof(err)) <
	      0);
	CHECK(contains(err, "/none"));
	free(b);
	free(img);
	return 0;
}

/* A fork's delta against the template: small when the parent changed a
 * few pages, the parent's image exactly after unpacking against the same
 * template, refused against another one or one of another size. Same
 * lengths: image XOR template; other lengths: the template as zstd's
 * prefix. */
static int t_delta(void)
{
	uint8_t *tpl = fake_image(3), *par = fake_image(3), *out, *other;
	uint8_t *tpl2, *other2, id2[32], oid2[32];
	struct uxr_hdr h, got;
	char err[400];
	void *full = NULL, *d = NULL, *d2 = NULL;
	size_t nfull = 0, nd = 0, nd2 = 0;

	out = malloc(IMG);
	other = fake_image(4); /* another template of the same size */
	tpl2 = calloc(1, IMG + 8192);
	other2 = calloc(1, IMG + 8192);
	CHECK(tpl && par && out && other && tpl2 && other2);
	for (size_t pg = 5; pg < IMG / 4096; pg += 97) /* 22 pages written */
		memset(par + pg * 4096, (int)(pg & 0xff) | 1, 4096);
	hdr_of(&h, UXR_KIND_DELTA, "fanout");
	snprintf(h.args, sizeof(h.args), "4 200000");
	crypto_generichash(h.base_id, 32, tpl, IMG, NULL, 0);
	CHECK(uxr_pack(&h, par, IMG, NULL, 0, &full, &nfull, err,
		       sizeof(err)) == 0);
	CHECK(uxr_pack(&h, par, IMG, tpl, IMG, &d, &nd, err, sizeof(err)) ==
	      0);
	printf("delta: image %u bytes, alone %zu bytes, against the template "
	       "%zu bytes\n",
	       IMG, nfull, nd);
	CHECKF(nd * 10 < nfull, "delta %zu bytes, not much less than %zu", nd,
	       nfull);
	CHECK(uxr_check(d, nd, UXR_KIND_DELTA, &got, err, sizeof(err)) == 0);
	CHECK(got.base_len == IMG && !memcmp(got.base_id, h.base_id, 32));
	CHECK(!strcmp(got.args, "4 200000"));
	CHECK(uxr_unpack(&got, tpl, IMG, NULL, out, err, sizeof(err)) == 0);
	CHECK(!memcmp(out, par, IMG));
	CHECK(uxr_unpack(&got, tpl, IMG, h.base_id, out, err, sizeof(err)) ==
	      0);
	CHECK(!memcmp(out, par, IMG));
	CHECK(uxr_unpack(&got, other, IMG, NULL, out, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "made against another template image"));
	CHECK(uxr_unpack(&got, tpl, IMG - 4096, NULL, out, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "this node's is"));
	CHECK(uxr_unpack(&got, NULL, 0, NULL, out, err, sizeof(err)) ==
	      -EINVAL);
	/* the whole image alone needs no template */
	CHECK(uxr_check(full, nfull, UXR_KIND_DELTA, &got, err,
			sizeof(err)) == 0);
	CHECK(got.base_len == 0);
	CHECK(uxr_unpack(&got, NULL, 0, NULL, out, err, sizeof(err)) == 0);
	CHECK(!memcmp(out, par, IMG));
	/* a template of another length: zstd's prefix */
	memcpy(tpl2, tpl, IMG);
	memcpy(other2, other, IMG);
	crypto_generichash(id2, 32, tpl2, IMG + 8192, NULL, 0);
	crypto_generichash(oid2, 32, other2, IMG + 8192, NULL, 0);
	memcpy(h.base_id, id2, 32);
	CHECK(uxr_pack(&h, par, IMG, tpl2, IMG + 8192, &d2, &nd2, err,
		       sizeof(err)) == 0);
	printf("delta against a template of another length: %zu bytes\n", nd2);
	CHECKF(nd2 * 10 < nfull, "delta %zu bytes, not much less than %zu",
	       nd2, nfull);
	CHECK(uxr_check(d2, nd2, UXR_KIND_DELTA, &got, err, sizeof(err)) == 0);
	CHECK(uxr_unpack(&got, tpl2, IMG + 8192, id2, out, err, sizeof(err)) ==
	      0);
	CHECK(!memcmp(out, par, IMG));
	CHECK(uxr_unpack(&got, other2, IMG + 8192, oid2, out, err,
			 sizeof(err)) == -EINVAL);
	CHECK(contains(err, "made against another template image"));
	/* bytes that lie about their template: zstd's checksum says so */
	CHECK(uxr_unpack(&got, other2, IMG + 8192, id2, out, err,
			 sizeof(err)) == -EINVAL);
	CHECK(contains(err, "zstd: "));
	/* a delta is no template, and a cut one is refused */
	CHECK(uxr_check(d, nd, UXR_KIND_TEMPLATE, NULL, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "a xen fork delta, not a template"));
	CHECK(uxr_check(d, nd - 7, UXR_KIND_DELTA, NULL, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "truncated"));
	free(full);
	free(d);
	free(d2);
	free(tpl);
	free(par);
	free(out);
	free(other);
	free(tpl2);
	free(other2);
	return 0;
}

/* uxr_unpack_fd of bytes into a new file: 0 and the file equal to want,
 * or the error (file content not checked). */
static int unpack_file(const void *b, size_t n, const void *pre,
		       size_t pre_len, const void *want, size_t want_len,
		       char *err, size_t errlen)
{
	struct uxr_hdr h;
	char path[128];
	uint8_t *got;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/unpacked", tmpdir);
	rc = uxr_check(b, n, UXR_KIND_DELTA, &h, err, errlen);
	if (rc < 0)
		rc = uxr_check(b, n, UXR_KIND_TEMPLATE, &h, err, errlen);
	if (rc < 0)
		return rc;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -errno;
	rc = uxr_unpack_fd(&h, pre, pre_len, NULL, fd, err, errlen);
	if (!rc) {
		got = malloc(want_len + 1);
		if (!got || pread(fd, got, want_len + 1, 0) != (ssize_t)want_len ||
		    memcmp(got, want, want_len)) {
			snprintf(err, errlen, "the file is not the image");
			rc = -EIO;
		}
		free(got);
	}
	close(fd);
	unlink(path);
	return rc;
}

/* The same bytes unpacked to a file in steps: plain, XOR, prefix. */
static int t_unpack_file(void)
{
	uint8_t *tpl = fake_image(5), *par = fake_image(5), *other;
	uint8_t *tpl2 = calloc(1, IMG + 4096);
	struct uxr_hdr h;
	char err[400];
	void *a = NULL, *x = NULL, *p = NULL;
	size_t na, nx, np;

	other = fake_image(6);
	CHECK(tpl && par && other && tpl2);
	for (size_t pg = 1; pg < IMG / 4096; pg += 50)
		memset(par + pg * 4096 + 100, 0x5a, 2000);
	memcpy(tpl2, tpl, IMG);
	hdr_of(&h, UXR_KIND_TEMPLATE, "fanout");
	CHECK(uxr_pack(&h, par, IMG, NULL, 0, &a, &na, err, sizeof(err)) == 0);
	CHECKF(unpack_file(a, na, NULL, 0, par, IMG, err, sizeof(err)) == 0,
	       "plain: %s", err);
	hdr_of(&h, UXR_KIND_DELTA, "fanout");
	crypto_generichash(h.base_id, 32, tpl, IMG, NULL, 0);
	CHECK(uxr_pack(&h, par, IMG, tpl, IMG, &x, &nx, err, sizeof(err)) == 0);
	CHECKF(unpack_file(x, nx, tpl, IMG, par, IMG, err, sizeof(err)) == 0,
	       "xor: %s", err);
	CHECK(unpack_file(x, nx, other, IMG, par, IMG, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "made against another template image"));
	crypto_generichash(h.base_id, 32, tpl2, IMG + 4096, NULL, 0);
	CHECK(uxr_pack(&h, par, IMG, tpl2, IMG + 4096, &p, &np, err,
		       sizeof(err)) == 0);
	CHECKF(unpack_file(p, np, tpl2, IMG + 4096, par, IMG, err,
			   sizeof(err)) == 0,
	       "prefix: %s", err);
	printf("unpacked to a file: alone %zu, xor %zu, prefix %zu bytes\n", na,
	       nx, np);
	free(a);
	free(x);
	free(p);
	free(tpl);
	free(tpl2);
	free(par);
	free(other);
	return 0;
}


/* Bytes from a peer that lie (header fields edited, the frame cut or
 * garbled, checksums made to match, as a buggy peer would send them), and
 * an image that cannot be written (a full disk): each refused naming what
 * is wrong. */
#define HDR 2592 /* uxen_remote.c's header length */

/* Make the payload and header checksums match the edited bytes. */
static void resign(uint8_t *b, size_t n)
{
	uint8_t sum[32];

	ukf_put64(b + 40, n - HDR);
	crypto_generichash(b + 2528, 32, b + HDR, n - HDR, NULL, 0);
	memset(b + 2560, 0, 32);
	crypto_generichash(sum, 32, b, HDR, NULL, 0);
	memcpy(b + 2560, sum, 32);
}

/* uxr_unpack_fd of checked bytes h into path (created); 0 or the error. */
static int unpack_to(const struct uxr_hdr *h, const void *pre, size_t pre_len,
		     const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), rc;

	if (fd < 0)
		return -errno;
	rc = uxr_unpack_fd(h, pre, pre_len, NULL, fd, err, errlen);
	close(fd);
	return rc;
}

static int t_bad_bytes(void)
{
	uint8_t *img = fake_image(7), *tpl = calloc(1, IMG + 4096), *b, *c;
	char err[400], path[128];
	struct uxr_hdr h, got;
	void *v = NULL, *pv = NULL;
	size_t n = 0, np = 0;
	int fd;

	CHECK(img && tpl);
	memcpy(tpl, img, IMG);
	snprintf(path, sizeof(path), "%s/unpacked", tmpdir);
	hdr_of(&h, UXR_KIND_TEMPLATE, "fanout");
	CHECK(uxr_pack(&h, img, 0, NULL, 0, &v, &n, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "image of 0 bytes"));
	CHECK(uxr_pack(&h, img, IMG, NULL, 0, &v, &n, err, sizeof(err)) == 0);
	b = v;
	CHECK(uxr_check(NULL, 0, UXR_KIND_TEMPLATE, NULL, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "no bytes"));

	/* another header length: a peer of another build */
	ukf_put32(b + 12, 4000);
	CHECK(uxr_check(b, n, UXR_KIND_TEMPLATE, NULL, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "header of 4000 bytes, this build reads 2592"));
	ukf_put32(b + 12, HDR);
	/* an image of no bytes, of one byte more than the frame holds */
	ukf_put64(b + 32, 0);
	resign(b, n);
	CHECK(uxr_check(b, n, UXR_KIND_TEMPLATE, NULL, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "image of 0 bytes (at most"));
	ukf_put64(b + 32, (uint64_t)IMG + 1);
	resign(b, n);
	CHECK(uxr_check(b, n, UXR_KIND_TEMPLATE, NULL, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "the zstd frame does not hold the 8388609 bytes"));
	ukf_put64(b + 32, IMG);
	resign(b, n);
	CHECK(uxr_check(b, n, UXR_KIND_TEMPLATE, &got, err, sizeof(err)) == 0);

	/* a byte more than the header says */
	c = malloc(n + 1);
	CHECK(c);
	memcpy(c, b, n);
	c[n] = 0;
	CHECK(uxr_check(c, n + 1, UXR_KIND_TEMPLATE, NULL, err, sizeof(err)) ==
	      -EINVAL);
	CHECK(contains(err, "trailing bytes: "));

	/* the frame cut short, the checksums made to match: the image is
	 * short, unpacked to memory or to a file */
	memcpy(c, b, n);
	resign(c, n - 200);
	CHECK(uxr_check(c, n - 200, UXR_KIND_TEMPLATE, &got, err,
			sizeof(err)) == 0);
	CHECKF(unpack_to(&got, NULL, 0, path, err, sizeof(err)) == -EINVAL,
	       "cut frame unpacked: %s", err);
	printf("cut frame to a file: %s\n", err);
	CHECK(contains(err, "zstd: "));
	/* garbage in the middle of the frame */
	memcpy(c, b, n);
	memset(c + HDR + (n - HDR) / 2, 0xa5, 64);
	resign(c, n);
	CHECK(uxr_check(c, n, UXR_KIND_TEMPLATE, &got, err, sizeof(err)) == 0);
	CHECK(unpack_to(&got, NULL, 0, path, err, sizeof(err)) == -EINVAL);
	printf("garbled frame to a file: %s\n", err);
	CHECK(contains(err, "zstd: "));

	/* a full disk: the image cannot be written */
	CHECK(uxr_check(b, n, UXR_KIND_TEMPLATE, &got, err, sizeof(err)) == 0);
	fd = open("/dev/full", O_WRONLY);
	CHECK(fd >= 0);
	CHECK(uxr_unpack_fd(&got, NULL, 0, NULL, fd, err, sizeof(err)) ==
	      -ENOSPC);
	CHECK(contains(err, "writing the image: No space left on device"));
	/* against a prefix the file is sized and mapped first: a file that
	 * cannot be is refused naming the size */
	hdr_of(&h, UXR_KIND_DELTA, "fanout");
	crypto_generichash(h.base_id, 32, tpl, IMG + 4096, NULL, 0);
	CHECK(uxr_pack(&h, img, IMG, tpl, IMG + 4096, &pv, &np, err,
		       sizeof(err)) == 0);
	CHECK(uxr_check(pv, np, UXR_KIND_DELTA, &got, err, sizeof(err)) == 0);
	CHECK(uxr_unpack_fd(&got, tpl, IMG + 4096, NULL, fd, err,
			    sizeof(err)) < 0);
	printf("prefix delta to /dev/full: %s\n", err);
	CHECK(contains(err, "image of 8388608 bytes: "));
	close(fd);
	unlink(path);
	free(c);
	free(v);
	free(pv);
	free(img);
	free(tpl);
	return 0;
}

static const struct selftest tests[] = {
    {"template_bytes", t_template_bytes},
    {"template_image", t_template_image},
    {"delta", t_delta},
    {"unpack_file", t_unpack_file},
    {"bad_bytes", t_bad_bytes},
};

int main(int argc, char **argv)
{
	char cmd[300];
	int rc;

	if (sodium_init() < 0)
		return 1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ukf-xr-test-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	rc = selftest_main_print(tests, SELFTEST_COUNT(tests), argc, argv);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return rc;
}
