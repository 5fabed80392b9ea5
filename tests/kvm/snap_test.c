/* SPDX-License-Identifier: MIT */
/* snap_test.c - self-tests of the snapshot format and vCPU save/restore (snap_* CTest tests). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/kvm/snapshot.h"
#include "tests/common/selftest.h"

#define MEM (1ULL << 20) /* 256 pages */

/* A snapshot with meta, a made-up vCPU state and 3 non-zero pages. */
static int make_snap(struct ukvm_snap_buf *b, uint8_t *mem)
{
	struct ukvm_snap_meta m = { .mem_size = MEM, .instance_id = 7,
				    .parent_id = 3, .app = 2,
				    .pause = UKVM_PAUSE_READY,
				    .args_gpa = 0x123000 };
	struct ukvm_snap_vcpu v;

	memset(&v, 0, sizeof(v));
	v.regs.rip = 0x100123;
	v.regs.rsp = 0x3ff000;
	v.regs.rax = 0xdeadbeef;
	v.sregs.cr3 = 0x10000;
	v.fpu.fcw = 0x37f;
	v.have_xcrs = 1;
	v.xcrs.nr_xcrs = 1;
	v.xcrs.xcrs[0].value = 7;
	v.nmsrs = 2;
	v.msrs[0].index = 0xc0000081;
	v.msrs[0].data = 0x1234;
	v.msrs[1].index = 0x277;
	v.msrs[1].data = 0x0007040600070406ULL;
	strcpy(m.app_name, "synth");
	memset(mem, 0, MEM);
	memset(mem + 5 * 4096, 0xaa, 4096);
	memset(mem + 6 * 4096 + 100, 0x55, 10);
	mem[MEM - 1] = 1;
	CHECK(ukvm_snap_begin(b, UKVM_SNAP_TEMPLATE) == 0);
	CHECK(ukvm_snap_meta_encode(b, &m) == 0);
	CHECK(ukvm_snap_vcpu_encode(b, &v) == 0);
	uint64_t n = 0;
	CHECK(ukvm_snap_add_pages(b, mem, MEM, NULL, &n) == 0);
	CHECK(n == 3);
	CHECK(ukvm_snap_finish(b) == 0);
	return 0;
}

static int expect_reject(const void *d, size_t len, const char *what)
{
	struct ukvm_snap_reader r;
	char err[256] = "";

	if (ukvm_snap_open(&r, d, len, err, sizeof(err)) == 0) {
		fprintf(stderr, "accepted a bad snapshot (%s)\n", what);
		return 1;
	}
	printf("rejected (%s): %s\n", what, err);
	if (!strstr(err, what)) {
		fprintf(stderr, "message does not say '%s'\n", what);
		return 1;
	}
	return 0;
}

static int t_roundtrip(void)
{
	struct ukvm_snap_buf b = { 0 };
	struct ukvm_snap_reader r;
	struct ukvm_snap_meta m;
	struct ukvm_snap_vcpu v;
	uint8_t *mem = malloc(MEM), *back = calloc(1, MEM);
	char err[256], path[] = "/tmp/snap_testXXXXXX";
	void *data;
	size_t len;
	uint64_t n;
	int fd;

	CHECK(mem && back);
	CHECK(make_snap(&b, mem) == 0);
	fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	CHECK(ukvm_snap_write_file(path, b.data, b.len, err, sizeof(err)) ==
	      0);
	CHECK(ukvm_snap_read_file(path, &data, &len, err, sizeof(err)) == 0);
	unlink(path);
	CHECK(len == b.len && memcmp(data, b.data, len) == 0);
	CHECK(ukvm_snap_open(&r, data, len, err, sizeof(err)) == 0);
	CHECK(r.kind == UKVM_SNAP_TEMPLATE);
	CHECK(ukvm_snap_meta_decode(&r, &m, err, sizeof(err)) == 0);
	CHECK(m.mem_size == MEM && m.instance_id == 7 && m.parent_id == 3);
	CHECK(m.pause == UKVM_PAUSE_READY && m.args_gpa == 0x123000);
	CHECK(strcmp(m.app_name, "synth") == 0);
	CHECK(ukvm_snap_vcpu_decode(&r, &v, err, sizeof(err)) == 0);
	CHECK(v.regs.rip == 0x100123 && v.regs.rax == 0xdeadbeef);
	CHECK(v.sregs.cr3 == 0x10000 && v.fpu.fcw == 0x37f);
	CHECK(v.have_xcrs && !v.have_xsave && v.xcrs.xcrs[0].value == 7);
	CHECK(v.nmsrs == 2 && v.msrs[1].data == 0x0007040600070406ULL);
	CHECK(ukvm_snap_apply_pages(&r, back, -1, MEM, &n, err,
				    sizeof(err)) == 0);
	CHECK(n == 3 && memcmp(mem, back, MEM) == 0);
	/* Into a file (how a template is loaded into a memfd). */
	fd = memfd_create("t", 0);
	CHECK(fd >= 0 && ftruncate(fd, MEM) == 0);
	CHECK(ukvm_snap_apply_pages(&r, NULL, fd, MEM, &n, err,
				    sizeof(err)) == 0);
	CHECK(pread(fd, back, MEM, 0) == (ssize_t)MEM);
	CHECK(memcmp(mem, back, MEM) == 0);
	close(fd);
	/* Wrong memory size is refused. */
	CHECK(ukvm_snap_apply_pages(&r, back, -1, MEM * 2, &n, err,
				    sizeof(err)) < 0);
	printf("size mismatch: %s\n", err);
	/* A delta: only the pages of a bitmap. */
	uint64_t bm[4] = { 1ULL << 6 | 1ULL << 9, 0, 0, 0 };
	struct ukvm_snap_buf d = { 0 };
	CHECK(ukvm_snap_begin(&d, UKVM_SNAP_DELTA) == 0);
	CHECK(ukvm_snap_add_pages(&d, mem, MEM, bm, &n) == 0 && n == 2);
	CHECK(ukvm_snap_finish(&d) == 0);
	CHECK(ukvm_snap_open(&r, d.data, d.len, err, sizeof(err)) == 0);
	CHECK(r.kind == UKVM_SNAP_DELTA);
	CHECK(ukvm_snap_meta_decode(&r, &m, err, sizeof(err)) < 0);
	CHECK(strstr(err, "missing section meta"));
	printf("delta without meta: %s\n", err);
	ukvm_snap_buf_free(&d);
	ukvm_snap_buf_free(&b);
	free(data);
	free(mem);
	free(back);
	return 0;
}

static int t_truncated(void)
{
	struct ukvm_snap_buf b = { 0 };
	uint8_t *mem = malloc(MEM);
	char err[256], path[] = "/tmp/snap_testXXXXXX";
	void *data;
	size_t len;
	int fd;

	CHECK(mem && make_snap(&b, mem) == 0);
	size_t cuts[] = { 0, 4, 31, 40, b.len / 2, b.len - 8, b.len - 1 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		CHECK(expect_reject(b.data, cuts[i], "truncated") == 0);
	/* Through a file: the message names the file. */
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, b.data, b.len - 100) == (ssize_t)(b.len - 100));
	close(fd);
	CHECK(ukvm_snap_read_file(path, &data, &len, err, sizeof(err)) ==
	      -EINVAL);
	printf("file: %s\n", err);
	CHECK(strstr(err, path) && strstr(err, "truncated"));
	unlink(path);
	CHECK(ukvm_snap_read_file(path, &data, &len, err, sizeof(err)) ==
	      -ENOENT);
	printf("missing file: %s\n", err);
	ukvm_snap_buf_free(&b);
	free(mem);
	return 0;
}

/* Fix up the checksum after a deliberate edit, to reach deeper checks. */
static void reseal(uint8_t *d, size_t len)
{
	uint64_t crc = ukvm_crc32c(0, d, len - 8);

	memcpy(d + len - 8, &crc, 8);
}

static int t_corrupt(void)
{
	struct ukvm_snap_buf b = { 0 };
	uint8_t *mem = malloc(MEM), *c;

	CHECK(mem && make_snap(&b, mem) == 0);
	c = malloc(b.len);
	CHECK(c);
	/* A flipped bit anywhere after the header: checksum. */
	size_t at[] = { 40, 200, b.len / 2, b.len - 20, b.len - 3 };
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		memcpy(c, b.data, b.len);
		c[at[i]] ^= 0x10;
		CHECK(expect_reject(c, b.len, "checksum mismatch") == 0);
	}
	/* Trailing bytes. */
	uint8_t *big = calloc(1, b.len + 8);
	CHECK(big);
	memcpy(big, b.data, b.len);
	CHECK(expect_reject(big, b.len + 8, "trailing garbage") == 0);
	free(big);
	/* A section length past the end, with a valid checksum. */
	memcpy(c, b.data, b.len);
	uint64_t huge = 1ULL << 40;
	memcpy(c + 32 + 8, &huge, 8);
	reseal(c, b.len);
	CHECK(expect_reject(c, b.len, "runs past the end") == 0);
	/* ... and the message names the section: by name, "end" for the
	 * end marker, by number for a type this reader does not know */
	CHECK(expect_reject(c, b.len, "section 0 (meta) of 1099511627776") ==
	      0);
	uint32_t odd = 99;
	memcpy(c + 32, &odd, 4);
	reseal(c, b.len);
	CHECK(expect_reject(c, b.len, "section 0 (type 99) of") == 0);
	memcpy(c, b.data, b.len);
	memcpy(c + b.len - 24 + 8, &huge, 8); /* the end marker's length */
	reseal(c, b.len);
	CHECK(expect_reject(c, b.len, "(end) of 1099511627776 bytes") == 0);
	/* A page number outside memory, valid checksum: apply refuses. */
	{
		struct ukvm_snap_reader r;
		const uint8_t *p;
		size_t l;
		char err[256];
		uint8_t *back = calloc(1, MEM);

		memcpy(c, b.data, b.len);
		CHECK(ukvm_snap_open(&r, c, b.len, err, sizeof(err)) == 0);
		CHECK(ukvm_snap_find(&r, UKVM_SEC_PAGES, (const void **)&p,
				     &l) == 0);
		uint64_t bad = 1000000;
		memcpy((uint8_t *)p + 16, &bad, 8);
		reseal(c, b.len);
		CHECK(ukvm_snap_open(&r, c, b.len, err, sizeof(err)) == 0);
		CHECK(ukvm_snap_apply_pages(&r, back, -1, MEM, NULL, err,
					    sizeof(err)) == -EINVAL);
		printf("rejected: %s\n", err);
		CHECK(strstr(err, "outside memory"));
		free(back);
	}
	free(c);
	ukvm_snap_buf_free(&b);
	free(mem);
	return 0;
}

static int t_foreign(void)
{
	struct ukvm_snap_buf b = { 0 };
	uint8_t *mem = malloc(MEM), *c;
	const char elf[] = "\x7f" "ELF\2\1\1\0\0\0\0\0\0\0\0\0 an ELF file, not a snapshot............";

	CHECK(mem && make_snap(&b, mem) == 0);
	CHECK(expect_reject(elf, sizeof(elf), "not a ukfork snapshot") == 0);
	c = malloc(b.len);
	CHECK(c);
	memcpy(c, b.data, b.len);
	c[8] = 9; /* version */
	reseal(c, b.len);
	CHECK(expect_reject(c, b.len, "version 9 not supported") == 0);
	memcpy(c, b.data, b.len);
	c[16] = 2; /* arch */
	reseal(c, b.len);
	CHECK(expect_reject(c, b.len, "foreign snapshot") == 0);
	memcpy(c, b.data, b.len);
	c[21] = 0x40; /* page size 16 KiB */
	reseal(c, b.len);
	CHECK(expect_reject(c, b.len, "foreign snapshot") == 0);
	/* A section of another kernel's struct size: decode names it. */
	{
		struct ukvm_snap_buf o = { 0 };
		struct ukvm_snap_reader r;
		struct ukvm_snap_vcpu v;
		char err[256];
		uint8_t junk[100] = { 0 };

		CHECK(ukvm_snap_begin(&o, UKVM_SNAP_TEMPLATE) == 0);
		CHECK(ukvm_snap_add(&o, UKVM_SEC_REGS, junk, sizeof(junk)) ==
		      0);
		CHECK(ukvm_snap_add(&o, 4242, junk, 3) == 0); /* unknown: skipped */
		CHECK(ukvm_snap_finish(&o) == 0);
		CHECK(ukvm_snap_open(&r, o.data, o.len, err, sizeof(err)) ==
		      0);
		CHECK(ukvm_snap_vcpu_decode(&r, &v, err, sizeof(err)) ==
		      -EINVAL);
		printf("rejected: %s\n", err);
		CHECK(strstr(err, "section regs has 100 bytes"));
		ukvm_snap_buf_free(&o);
	}
	free(c);
	ukvm_snap_buf_free(&b);
	free(mem);
	return 0;
}

/*
 * Files someone else planted (#12): a symlink at the temporary name the
 * writer used to pick (PATH.tmp.PID) must not have its target written nor
 * be renamed into place; a FIFO at PATH must not block the reader; a file
 * others can write, or another user's, is refused. No KVM needed.
 */
static int t_file_hostile(void)
{
	struct ukvm_snap_buf b = { 0 };
	uint8_t *mem = malloc(MEM);
	char err[512], dir[] = "/tmp/snap_hostileXXXXXX";
	char path[256], link[300], victim[256], buf[16] = "";
	struct stat st;
	void *data = NULL;
	size_t len;
	int fd;

	CHECK(mem && make_snap(&b, mem) == 0);
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.ukft", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(link, sizeof(link), "%s.tmp.%d", path, (int)getpid());
	fd = open(victim, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && write(fd, "victim", 6) == 6);
	close(fd);
	CHECK(symlink(victim, link) == 0);
	CHECK(ukvm_snap_write_file(path, b.data, b.len, err, sizeof(err)) ==
	      0);
	fd = open(victim, O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 6);
	close(fd);
	CHECK(memcmp(buf, "victim", 6) == 0); /* the target was not written */
	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
	CHECK((st.st_mode & 0777) == 0600);
	CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode)); /* left alone */
	CHECK(ukvm_snap_read_file(path, &data, &len, err, sizeof(err)) == 0);
	CHECK(len == b.len);
	free(data);
	data = NULL;

	/* others may write it: refused, naming the file and the mode */
	CHECK(chmod(path, 0666) == 0);
	CHECK(ukvm_snap_read_file(path, &data, &len, err, sizeof(err)) ==
	      -EPERM);
	printf("mode 0666: %s\n", err);
	CHECK(strstr(err, path) && strstr(err, "writable by others"));
	CHECK(chmod(path, 0620) == 0);
	CHECK(ukvm_snap_read_file(path, &data, &len, err, sizeof(err)) ==
	      -EPERM);
	CHECK(strstr(err, "writable by its group"));
	CHECK(chmod(path, 0600) == 0);
	/* another user's (only root can make one) */
	if (geteuid() == 0) {
		CHECK(chown(path, 65534, 65534) == 0);
		CHECK(ukvm_snap_read_file(path, &data, &len, err,
					  sizeof(err)) == -EPERM);
		printf("other user's: %s\n", err);
		CHECK(strstr(err, "owned by uid 65534"));
	}
	unlink(path);

	/* a FIFO: refused at once (the old open waited for a writer) */
	CHECK(mkfifo(path, 0600) == 0);
	alarm(20); /* a hang fails the test */
	CHECK(ukvm_snap_read_file(path, &data, &len, err, sizeof(err)) ==
	      -EINVAL);
	alarm(0);
	printf("fifo: %s\n", err);
	CHECK(strstr(err, path) && strstr(err, "FIFO"));
	unlink(path);
	unlink(link);
	unlink(victim);
	CHECK(rmdir(dir) == 0);
	ukvm_snap_buf_free(&b);
	free(mem);
	return 0;
}

/* Known answer: CRC32C("123456789") = 0xe3069283. */
/* A snapshot file that cannot be written or read: each error names the
 * file and the cause, nothing is left behind, nothing is read. */
static int t_file_errors(void)
{
	struct ukvm_snap_buf b = { 0 };
	uint8_t *mem = malloc(MEM);
	char err[512], dir[] = "/tmp/snap_errorsXXXXXX", path[300];
	static char bigerr[6000];
	char *longp = malloc(5000);
	void *data = NULL;
	size_t len = 1;
	DIR *d;
	struct dirent *e;
	int left = 0;

	CHECK(mem && longp && make_snap(&b, mem) == 0);
	CHECK(mkdtemp(dir));
	/* a path too long for its temporary file's name */
	memset(longp, 'a', 4999);
	longp[0] = '/';
	longp[4999] = 0;
	CHECK(ukvm_snap_write_file(longp, b.data, b.len, bigerr,
				   sizeof(bigerr)) == -ENAMETOOLONG);
	CHECK(strstr(bigerr, "path too long"));
	/* a directory that does not exist */
	snprintf(path, sizeof(path), "%s/no/such.ukft", dir);
	CHECK(ukvm_snap_write_file(path, b.data, b.len, err, sizeof(err)) ==
	      -ENOENT);
	printf("missing dir: %s\n", err);
	CHECK(strstr(err, path) && strstr(err, "temporary file"));
	/* the target is a directory: the rename fails, the temporary file
	 * is removed */
	snprintf(path, sizeof(path), "%s/d.ukft", dir);
	CHECK(mkdir(path, 0700) == 0);
	CHECK(ukvm_snap_write_file(path, b.data, b.len, err, sizeof(err)) ==
	      -EISDIR);
	printf("onto a directory: %s\n", err);
	CHECK(strstr(err, path) && strstr(err, "rename"));
	d = opendir(dir);
	CHECK(d != NULL);
	while (d && (e = readdir(d)))
		left += strstr(e->d_name, ".tmp.") != NULL;
	if (d)
		closedir(d);
	CHECK(left == 0);
	/* reading it: a directory is no snapshot file */
	CHECK(ukvm_snap_read_file(path, &data, &len, err, sizeof(err)) ==
	      -EINVAL);
	printf("directory: %s\n", err);
	CHECK(strstr(err, "a directory") && data == NULL && len == 0);
	CHECK(rmdir(path) == 0);
	/* a device, a missing file */
	CHECK(ukvm_snap_read_file("/dev/null", &data, &len, err,
				  sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "a device"));
	snprintf(path, sizeof(path), "%s/none.ukft", dir);
	CHECK(ukvm_snap_read_file(path, &data, &len, err, sizeof(err)) ==
	      -ENOENT);
	CHECK(strstr(err, path) && data == NULL);
	CHECK(rmdir(dir) == 0);
	ukvm_snap_buf_free(&b);
	free(longp);
	free(mem);
	return 0;
}

/* Open b (finished) and run what: the decoder's error, or "" if none. */
#define DECODE(b, call)                                                       \
	do {                                                                  \
		struct ukvm_snap_reader r_;                                   \
		err[0] = 0;                                                   \
		CHECK(ukvm_snap_finish(&(b)) == 0);                           \
		CHECK(ukvm_snap_open(&r_, (b).data, (b).len, err,             \
				     sizeof(err)) == 0);                      \
		rc = call;                                                    \
		ukvm_snap_buf_free(&(b));                                     \
	} while (0)

/*
 * Snapshots whose sections are missing or malformed, each well formed as
 * a file (the checksums hold): the decoders refuse them, naming the
 * section; a vCPU state that is not a ring-3 guest's is refused by the
 * check, naming the register.
 */
static int t_sections_bad(void)
{
	struct ukvm_snap_buf b = { 0 };
	struct ukvm_snap_meta m;
	struct ukvm_snap_vcpu v, ok;
	struct kvm_regs regs = { 0 };
	struct kvm_sregs sregs = { 0 };
	struct kvm_fpu fpu = { 0 };
	uint32_t msrs[4] = { 2, 0, 0, 0 }; /* says 2, holds none */
	uint64_t pages[2] = { MEM / 4096, 1 }, meta[4] = { 0 };
	uint8_t *mem = calloc(1, MEM);
	char err[300];
	int rc;

	/* vCPU sections: none at all; all but the MSRs; MSRs too short;
	 * MSRs counting more than they hold */
	ukvm_snap_begin(&b, UKVM_SNAP_TEMPLATE);
	DECODE(b, ukvm_snap_vcpu_decode(&r_, &v, err, sizeof(err)));
	CHECK(rc == -EINVAL && strstr(err, "missing section regs"));
	ukvm_snap_begin(&b, UKVM_SNAP_TEMPLATE);
	ukvm_snap_add(&b, UKVM_SEC_REGS, &regs, sizeof(regs));
	ukvm_snap_add(&b, UKVM_SEC_SREGS, &sregs, sizeof(sregs));
	ukvm_snap_add(&b, UKVM_SEC_FPU, &fpu, sizeof(fpu));
	DECODE(b, ukvm_snap_vcpu_decode(&r_, &v, err, sizeof(err)));
	printf("no msrs: %s\n", err);
	CHECK(rc == -EINVAL && strstr(err, "missing section msrs"));
	ukvm_snap_begin(&b, UKVM_SNAP_TEMPLATE);
	ukvm_snap_add(&b, UKVM_SEC_REGS, &regs, sizeof(regs));
	ukvm_snap_add(&b, UKVM_SEC_SREGS, &sregs, sizeof(sregs));
	ukvm_snap_add(&b, UKVM_SEC_FPU, &fpu, sizeof(fpu));
	ukvm_snap_add(&b, UKVM_SEC_MSRS, msrs, 4);
	DECODE(b, ukvm_snap_vcpu_decode(&r_, &v, err, sizeof(err)));
	CHECK(rc == -EINVAL && strstr(err, "section msrs malformed (4 bytes)"));
	ukvm_snap_begin(&b, UKVM_SNAP_TEMPLATE);
	ukvm_snap_add(&b, UKVM_SEC_REGS, &regs, sizeof(regs));
	ukvm_snap_add(&b, UKVM_SEC_SREGS, &sregs, sizeof(sregs));
	ukvm_snap_add(&b, UKVM_SEC_FPU, &fpu, sizeof(fpu));
	ukvm_snap_add(&b, UKVM_SEC_MSRS, msrs, sizeof(msrs));
	DECODE(b, ukvm_snap_vcpu_decode(&r_, &v, err, sizeof(err)));
	CHECK(rc == -EINVAL && strstr(err, "section msrs malformed (16 bytes)"));

	/* meta: a size field that is not its length; a memory size that is
	 * not whole pages */
	meta[0] = 24; /* u32 size = 24, in a 32-byte section */
	ukvm_snap_begin(&b, UKVM_SNAP_TEMPLATE);
	ukvm_snap_add(&b, UKVM_SEC_META, meta, sizeof(meta));
	DECODE(b, ukvm_snap_meta_decode(&r_, &m, err, sizeof(err)));
	printf("meta size: %s\n", err);
	CHECK(rc == -EINVAL && strstr(err, "section meta malformed (32 bytes)"));
	memset(&m, 0, sizeof(m));
	m.mem_size = MEM + 100;
	ukvm_snap_begin(&b, UKVM_SNAP_TEMPLATE);
	ukvm_snap_meta_encode(&b, &m);
	DECODE(b, ukvm_snap_meta_decode(&r_, &m, err, sizeof(err)));
	CHECK(rc == -EINVAL && strstr(err, "bad memory size"));

	/* pages: missing; too short; one page announced, none there */
	ukvm_snap_begin(&b, UKVM_SNAP_TEMPLATE);
	DECODE(b, ukvm_snap_apply_pages(&r_, mem, -1, MEM, NULL, err,
					sizeof(err)));
	CHECK(rc == -EINVAL && strstr(err, "missing section pages"));
	ukvm_snap_begin(&b, UKVM_SNAP_TEMPLATE);
	ukvm_snap_add(&b, UKVM_SEC_PAGES, pages, 8);
	DECODE(b, ukvm_snap_apply_pages(&r_, mem, -1, MEM, NULL, err,
					sizeof(err)));
	CHECK(rc == -EINVAL && strstr(err, "section pages malformed (8 bytes)"));
	ukvm_snap_begin(&b, UKVM_SNAP_TEMPLATE);
	ukvm_snap_add(&b, UKVM_SEC_PAGES, pages, sizeof(pages));
	DECODE(b, ukvm_snap_apply_pages(&r_, mem, -1, MEM, NULL, err,
					sizeof(err)));
	printf("pages: %s\n", err);
	CHECK(rc == -EINVAL && strstr(err, "section pages malformed (16 bytes)"));

	/* the vCPU check: a guest's boot state passes; an LDT, a data
	 * selector of ring 0, too many MSRs do not */
	{
		struct kvm_segment code = { .limit = 0xffffffff,
					    .selector = 0x1b, .type = 0xb,
					    .present = 1, .dpl = 3, .s = 1,
					    .l = 1, .g = 1 };
		struct kvm_segment dat = { .limit = 0xffffffff,
					   .selector = 0x23, .type = 0x3,
					   .present = 1, .dpl = 3, .s = 1,
					   .db = 1, .g = 1 };

		memset(&ok, 0, sizeof(ok));
		ok.sregs.cs = code;
		ok.sregs.ds = ok.sregs.es = ok.sregs.fs = ok.sregs.gs =
			ok.sregs.ss = dat;
		ok.sregs.tr = (struct kvm_segment){ .base = 0x2000,
						    .limit = 0x168,
						    .selector = 0x28,
						    .type = 0xb, .present = 1 };
		ok.sregs.ldt = (struct kvm_segment){ .type = 2, .unusable = 1 };
		ok.sregs.gdt.base = 0x1000;
		ok.sregs.gdt.limit = 0x37;
		ok.sregs.idt.base = 0x3000;
		ok.sregs.idt.limit = 32 * 16 - 1;
		ok.sregs.cr0 = 0x80010033;
		ok.sregs.cr3 = 0x10000;
		ok.sregs.cr4 = 0x620;
		ok.sregs.efer = 0xd00;
		ok.regs.rflags = 0x2;
		ok.regs.rip = 0x100000;
	}
	CHECK(ukvm_snap_vcpu_check(&ok, err, sizeof(err)) == 0);
	v = ok;
	v.sregs.ldt = (struct kvm_segment){ .selector = 0x30, .type = 2,
					    .present = 1 };
	CHECK(ukvm_snap_vcpu_check(&v, err, sizeof(err)) < 0);
	CHECK(strstr(err, "an LDT (selector 0x30)"));
	v = ok;
	v.sregs.fs.selector = 0x10;
	CHECK(ukvm_snap_vcpu_check(&v, err, sizeof(err)) < 0);
	printf("fs: %s\n", err);
	CHECK(strstr(err, "fs selector 0x10 (not a ring-3 selector)"));
	v = ok;
	v.nmsrs = UKVM_SNAP_MSRS_MAX + 1;
	CHECK(ukvm_snap_vcpu_check(&v, err, sizeof(err)) < 0);
	CHECK(strstr(err, "25 MSRs"));
	free(mem);
	return 0;
}

static int t_crc(void)
{
	CHECK(ukvm_crc32c(0xffffffff, "123456789", 9) == ~0xe3069283U);
	/* Split calls give the same result. */
	uint8_t buf[10000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	CHECK(ukvm_crc32c(ukvm_crc32c(0, buf, 1234), buf + 1234,
			  sizeof(buf) - 1234) ==
	      ukvm_crc32c(0, buf, sizeof(buf)));
	/* the CRC32C of the crc32 instruction chain, bit by bit (the
	 * values stored in snapshot files and deltas) */
	static const size_t lens[] = { 0, 1, 7, 63, 64, 299, 1000, 4096,
				       9999 };
	for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
		for (size_t at = 0; at < 2; at++) { /* aligned, then not */
			size_t len = lens[j];
			uint32_t c = 0x9e3779b9U;
			for (size_t i = 0; i < len; i++) {
				c ^= buf[at + i];
				for (int k = 0; k < 8; k++)
					c = (c >> 1) ^
					    (0x82f63b78U & (0U - (c & 1)));
			}
			CHECK(ukvm_crc32c(0x9e3779b9U, buf + at, len) == c);
		}
	}
	/* zeros without a buffer of them: across its 16 KiB steps, and
	 * by squaring from 128 KiB on */
	static const size_t zl[] = { 0, 1, 4096, 16384, 16385, 40000,
				     (128 << 10) - 1, 128 << 10,
				     (128 << 10) + 4096, 1 << 20,
				     (5 << 20) + 8 };
	uint8_t *z = calloc(1, (5 << 20) + 8);
	CHECK(z);
	for (size_t j = 0; j < sizeof(zl) / sizeof(zl[0]); j++)
		for (uint32_t c0 = 0; c0 < 3; c0++) {
			uint32_t c = c0 * 0x9e3779b9U + 0x1234;
			CHECK(ukvm_crc32c_zeros(c, zl[j]) ==
			      ukvm_crc32c(c, z, zl[j]));
		}
	free(z);
	return 0;
}

/*
 * Pages into a file go in runs of consecutive pages (one pwrite each, at
 * most 256 pages): runs longer than that, a run ending at the last page,
 * single pages between, all land where they belong; holes stay zero.
 */
static int t_apply_runs(void)
{
	const uint64_t size = 2ULL << 20; /* 512 pages */
	struct ukvm_snap_buf b = { 0 };
	struct ukvm_snap_reader r;
	uint8_t *mem = calloc(1, size), *back = malloc(size);
	char err[256];
	uint64_t n = 0;
	int fd;

	CHECK(mem && back);
	for (uint64_t pg = 0; pg < size / 4096; pg++) {
		/* 3..302 (300), 304, 306, 400..511 (112, to the end) */
		if ((pg >= 3 && pg <= 302) || pg == 304 || pg == 306 ||
		    pg >= 400)
			memset(mem + pg * 4096, (int)(pg % 251) + 1, 4096);
	}
	CHECK(ukvm_snap_begin(&b, UKVM_SNAP_DELTA) == 0);
	CHECK(ukvm_snap_add_pages(&b, mem, size, NULL, &n) == 0);
	CHECK(n == 300 + 2 + 112);
	CHECK(ukvm_snap_finish(&b) == 0);
	CHECK(ukvm_snap_open(&r, b.data, b.len, err, sizeof(err)) == 0);
	fd = memfd_create("runs", 0);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
	CHECK(ukvm_snap_apply_pages(&r, NULL, fd, size, &n, err,
				    sizeof(err)) == 0);
	CHECK(pread(fd, back, size, 0) == (ssize_t)size);
	CHECK(memcmp(mem, back, size) == 0);
	close(fd);
	ukvm_snap_buf_free(&b);
	/* Hand-made lists: a run that would end past the memory (refused,
	 * nothing written beyond it), pages listed twice and out of order
	 * (the file as the buffer path builds it: the last copy wins). */
	static const uint64_t lists[][5] = {
		{ 3, 510, 511, 512 }, { 4, 5, 6, 6, 7 }, { 2, 6, 5 } };
	for (size_t l = 0; l < 3; l++) {
		uint64_t k = lists[l][0], sec_len = 16 + k * 8 + k * 4096;
		uint8_t *sec = calloc(1, sec_len), *want = calloc(1, size);
		uint64_t hdr[2] = { size / 4096, k };
		struct stat st;
		CHECK(sec && want);
		memcpy(sec, hdr, 16);
		for (uint64_t i = 0; i < k; i++) {
			memcpy(sec + 16 + i * 8, &lists[l][1 + i], 8);
			memset(sec + 16 + k * 8 + i * 4096, (int)(i + 1), 4096);
		}
		memset(&b, 0, sizeof(b));
		CHECK(ukvm_snap_begin(&b, UKVM_SNAP_DELTA) == 0);
		CHECK(ukvm_snap_add(&b, UKVM_SEC_PAGES, sec, sec_len) == 0);
		CHECK(ukvm_snap_finish(&b) == 0);
		CHECK(ukvm_snap_open(&r, b.data, b.len, err, sizeof(err)) == 0);
		fd = memfd_create("runs", 0);
		CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
		int rc = ukvm_snap_apply_pages(&r, NULL, fd, size, &n, err,
					       sizeof(err));
		CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)size);
		if (l == 0) {
			CHECK(rc == -EINVAL);
			printf("run past the memory: %s\n", err);
			CHECK(strstr(err, "page 512 outside memory"));
		} else {
			CHECK(rc == 0);
			CHECK(ukvm_snap_apply_pages(&r, want, -1, size, &n, err,
						    sizeof(err)) == 0);
			CHECK(pread(fd, back, size, 0) == (ssize_t)size);
			CHECK(memcmp(want, back, size) == 0);
		}
		close(fd);
		ukvm_snap_buf_free(&b);
		free(sec);
		free(want);
	}
	free(mem);
	free(back);
	return 0;
}

/* The CRC of the memory a pages section gives, without building it: equal
 * to the CRC of that memory over any page range; refused when its pages
 * are not in increasing order. */
static int t_pages_crc(void)
{
	struct ukvm_snap_buf b = { 0 };
	struct ukvm_snap_reader r;
	uint8_t *mem = malloc(MEM);
	char err[256];
	uint32_t c;

	CHECK(mem && make_snap(&b, mem) == 0);
	CHECK(ukvm_snap_open(&r, b.data, b.len, err, sizeof(err)) == 0);
	static const uint64_t ranges[][2] = {
		{ 0, MEM / 4096 }, { 0, 5 }, { 5, 7 }, { 6, MEM / 4096 },
		{ 7, MEM / 4096 - 1 }, { 100, 100 } };
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		uint64_t from = ranges[i][0], to = ranges[i][1];
		c = 77;
		CHECK(ukvm_snap_pages_crc(&r, from, to, &c) == 0);
		CHECK(c == ukvm_crc32c(77, mem + from * 4096,
				       (to - from) * 4096));
	}
	CHECK(ukvm_snap_pages_crc(&r, 9, 8, &c) == -EINVAL);
	ukvm_snap_buf_free(&b);
	/* pages 9 then 3: refused, also for a range that holds only one */
	uint8_t pg[4096];
	uint8_t sec[16 + 2 * 8 + 2 * 4096];
	uint64_t v[4] = { MEM / 4096, 2, 9, 3 };
	memset(pg, 0x5a, sizeof(pg));
	memcpy(sec, v, sizeof(v));
	memcpy(sec + 32, pg, 4096);
	memcpy(sec + 32 + 4096, pg, 4096);
	memset(&b, 0, sizeof(b));
	CHECK(ukvm_snap_begin(&b, UKVM_SNAP_DELTA) == 0);
	CHECK(ukvm_snap_add(&b, UKVM_SEC_PAGES, sec, sizeof(sec)) == 0);
	CHECK(ukvm_snap_finish(&b) == 0);
	CHECK(ukvm_snap_open(&r, b.data, b.len, err, sizeof(err)) == 0);
	c = 0;
	CHECK(ukvm_snap_pages_crc(&r, 0, MEM / 4096, &c) == -EINVAL);
	CHECK(ukvm_snap_pages_crc(&r, 0, 5, &c) == -EINVAL);
	ukvm_snap_buf_free(&b);
	free(mem);
	return 0;
}

/* Real vCPU: save from one VM, restore into another, read back equal. */
static int t_vcpu_kvm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	struct ukvm_snap_vcpu a, b2;
	char err[256];

	if (kvm < 0) {
		printf("SKIP: /dev/kvm not available (%s)\n", strerror(errno));
		return SKIP;
	}
	int vm1 = ioctl(kvm, KVM_CREATE_VM, 0), vm2 = ioctl(kvm, KVM_CREATE_VM, 0);
	CHECK(vm1 >= 0 && vm2 >= 0);
	int c1 = ioctl(vm1, KVM_CREATE_VCPU, 0), c2 = ioctl(vm2, KVM_CREATE_VCPU, 0);
	CHECK(c1 >= 0 && c2 >= 0);
	CHECK(ukvm_snap_vcpu_save(c1, &a, err, sizeof(err)) == 0);
	a.regs.rax = 0x1122334455667788ULL;
	a.regs.rip = 0x4000;
	a.regs.rflags = 0x2;
	a.sregs.cs.base = 0;
	a.sregs.cs.selector = 0;
	a.fpu.xmm[3][0] = 0x5a;
	if (a.have_xsave) {
		a.xsave.region[160 / 4 + 3 * 4] = 0x5a; /* xmm3 in legacy area */
		a.xsave.region[512 / 4] |= 2;           /* XSTATE_BV: SSE */
	}
	for (uint32_t i = 0; i < a.nmsrs; i++)
		if (a.msrs[i].index == 0xc0000102)
			a.msrs[i].data = 0xffff800000001000ULL;
	CHECK(ukvm_snap_vcpu_restore(c2, &a, err, sizeof(err)) == 0);
	CHECK(ukvm_snap_vcpu_save(c2, &b2, err, sizeof(err)) == 0);
	printf("msrs saved: %u, xsave %u, xcrs %u, events %u\n", a.nmsrs,
	       a.have_xsave, a.have_xcrs, a.have_events);
	CHECK(b2.regs.rax == a.regs.rax && b2.regs.rip == 0x4000);
	CHECK(b2.sregs.cs.base == 0 && b2.sregs.cs.selector == 0);
	CHECK(b2.fpu.xmm[3][0] == 0x5a);
	CHECK(b2.nmsrs == a.nmsrs);
	for (uint32_t i = 0; i < a.nmsrs; i++) {
		CHECK(b2.msrs[i].index == a.msrs[i].index);
		if (a.msrs[i].index == 0xc0000102)
			CHECK(b2.msrs[i].data == 0xffff800000001000ULL);
	}
	close(c1);
	close(c2);
	close(vm1);
	close(vm2);
	close(kvm);
	return 0;
}

static const struct selftest tests[] = {
	{ "snap_roundtrip", t_roundtrip }, { "snap_truncated", t_truncated },
	{ "snap_corrupt", t_corrupt },     { "snap_foreign", t_foreign },
	{ "snap_crc", t_crc },             { "snap_pages_crc", t_pages_crc },
	{ "snap_apply_runs", t_apply_runs },
	{ "snap_vcpu_kvm", t_vcpu_kvm },
	{ "snap_file_hostile", t_file_hostile },
	{ "snap_file_errors", t_file_errors },
	{ "snap_sections_bad", t_sections_bad },
};

int main(int argc, char **argv)
{
	return selftest_main(tests, SELFTEST_COUNT(tests), argc, argv);
}
