/* SPDX-License-Identifier: MIT */
/* elf.c - validating loader for static x86-64 ELF guest images. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sodium.h>
#include <unistd.h>

#include "ukvm_int.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

/* a + b without wrap, else -1. */
static int add_ok(uint64_t a, uint64_t b, uint64_t *sum)
{
	return __builtin_add_overflow(a, b, sum) ? -1 : 0;
}

int ukvm_elf_parse(struct ukvm_image *img, const uint8_t *data, size_t size,
		   char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	uint64_t phend, end;

	memset(img->seg, 0, sizeof(img->seg));
	img->nseg = 0;
	img->data = NULL;
	if (size >= SELFMAG && memcmp(data, ELFMAG, SELFMAG) != 0)
		return ERR("not an ELF file (bad magic)");
	if (size < EI_NIDENT)
		return ERR("truncated ELF: %zu bytes, too short for an ELF header",
			   size);
	if (data[EI_CLASS] != ELFCLASS64)
		return ERR("not a 64-bit ELF (class %u)", data[EI_CLASS]);
	if (data[EI_DATA] != ELFDATA2LSB)
		return ERR("not a little-endian ELF (data %u)", data[EI_DATA]);
	if (size < sizeof(eh))
		return ERR("truncated ELF: %zu bytes, header needs %zu", size,
			   sizeof(eh));
	memcpy(&eh, data, sizeof(eh));
	if (data[EI_VERSION] != EV_CURRENT || eh.e_version != EV_CURRENT)
		return ERR("unsupported ELF version %u", eh.e_version);
	if (eh.e_machine != EM_X86_64)
		return ERR("ELF machine %u is not x86-64", eh.e_machine);
	if (eh.e_type != ET_EXEC)
		return ERR("ELF type %u is not a static executable (ET_EXEC)",
			   eh.e_type);
	if (eh.e_phnum == 0)
		return ERR("ELF has no program headers");
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return ERR("ELF program header size %u, expected %zu",
			   eh.e_phentsize, sizeof(Elf64_Phdr));
	if (add_ok(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr),
		   &phend) ||
	    phend > size)
		return ERR("truncated ELF: program headers [0x%llx, +%u*%zu) "
			   "past the end of the %zu-byte file",
			   (unsigned long long)eh.e_phoff, eh.e_phnum,
			   sizeof(Elf64_Phdr), size);

	img->lo = UINT64_MAX;
	img->hi = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		struct ukvm_seg *s;

		memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz)
			return ERR("segment %u: file size 0x%llx > memory size "
				   "0x%llx", i, (unsigned long long)ph.p_filesz,
				   (unsigned long long)ph.p_memsz);
		if (add_ok(ph.p_offset, ph.p_filesz, &end) || end > size)
			return ERR("segment %u: file bytes [0x%llx, +0x%llx) past "
				   "the end of the %zu-byte file (truncated?)",
				   i, (unsigned long long)ph.p_offset,
				   (unsigned long long)ph.p_filesz, size);
		if (ph.p_memsz == 0)
			continue;
		if (add_ok(ph.p_vaddr, ph.p_memsz, &end))
			return ERR("segment %u: address 0x%llx + size 0x%llx "
				   "wraps around", i,
				   (unsigned long long)ph.p_vaddr,
				   (unsigned long long)ph.p_memsz);
		if (ph.p_vaddr < UKF_IMAGE_BASE)
			return ERR("segment %u at 0x%llx is below the image "
				   "base 0x%llx (monitor area / boot info)",
				   i, (unsigned long long)ph.p_vaddr,
				   (unsigned long long)UKF_IMAGE_BASE);
		if (end > UKF_MEM_MAX)
			return ERR("segment %u [0x%llx, 0x%llx) ends beyond the "
				   "largest guest memory (0x%llx)", i,
				   (unsigned long long)ph.p_vaddr,
				   (unsigned long long)end,
				   (unsigned long long)UKF_MEM_MAX);
		for (unsigned j = 0; j < img->nseg; j++) {
			const struct ukvm_seg *o = &img->seg[j];

			if (ph.p_vaddr < o->gpa + o->memsz && o->gpa < end)
				return ERR("segment %u [0x%llx, 0x%llx) overlaps "
					   "an earlier segment [0x%llx, 0x%llx)",
					   i, (unsigned long long)ph.p_vaddr,
					   (unsigned long long)end,
					   (unsigned long long)o->gpa,
					   (unsigned long long)(o->gpa + o->memsz));
		}
		if (img->nseg == UKVM_MAX_SEGS)
			return ERR("more than %d loadable segments", UKVM_MAX_SEGS);
		s = &img->seg[img->nseg++];
		s->gpa = ph.p_vaddr;
		s->memsz = ph.p_memsz;
		s->filesz = ph.p_filesz;
		s->off = ph.p_offset;
		s->flags = ph.p_flags;
		if (s->gpa < img->lo)
			img->lo = s->gpa;
		if (end > img->hi)
			img->hi = end;
	}
	if (img->nseg == 0)
		return ERR("ELF has no loadable segment");
	img->entry = eh.e_entry;
	for (unsigned j = 0; j < img->nseg; j++) {
		const struct ukvm_seg *s = &img->seg[j];

		if (eh.e_entry >= s->gpa && eh.e_entry < s->gpa + s->memsz) {
			if (!(s->flags & PF_X))
				return ERR("entry point 0x%llx is in a "
					   "non-executable segment",
					   (unsigned long long)eh.e_entry);
			return 0;
		}
	}
	return ERR("entry point 0x%llx is outside every loadable segment",
		   (unsigned long long)eh.e_entry);
}

int ukvm_elf_fits(const struct ukvm_image *img, uint64_t mem_size, char *err,
		  size_t errlen)
{
	uint64_t heap = (img->hi + UKF_PAGE_SIZE - 1) & ~(UKF_PAGE_SIZE - 1);

	if (mem_size < UKF_STACK_SIZE || img->hi > mem_size ||
	    heap > mem_size - UKF_STACK_SIZE)
		return ERR("image [0x%llx, 0x%llx) does not fit in %llu KiB of "
			   "guest memory with a %llu KiB stack",
			   (unsigned long long)img->lo,
			   (unsigned long long)img->hi,
			   (unsigned long long)(mem_size >> 10),
			   (unsigned long long)(UKF_STACK_SIZE >> 10));
	return 0;
}

void ukvm_elf_copy(const struct ukvm_image *img, uint8_t *mem, int zeroed)
{
	for (unsigned i = 0; i < img->nseg; i++) {
		const struct ukvm_seg *s = &img->seg[i];

		memcpy(mem + s->gpa, img->data + s->off, s->filesz);
		/* Fresh memfd pages read as zero: touching the bss here would
		 * only fault its pages in twice (here and in the guest). */
		if (!zeroed)
			memset(mem + s->gpa + s->filesz, 0,
			       s->memsz - s->filesz);
	}
}

struct ukvm_image *ukvm_image_load(const char *path, char *err, size_t errlen)
{
	struct ukvm_image *img;
	struct stat st;
	uint8_t *data = NULL;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "image %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "image %s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_size > (off_t)(256 << 20)) {
		snprintf(err, errlen, "image %s: too large (%lld bytes)", path,
			 (long long)st.st_size);
		close(fd);
		return NULL;
	}
	img = calloc(1, sizeof(*img));
	data = malloc(st.st_size ? st.st_size : 1);
	if (!img || !data) {
		snprintf(err, errlen, "image %s: out of memory", path);
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "image %s: read: %s", path,
				 n < 0 ? strerror(errno) : "short read");
			goto fail;
		}
		got += n;
	}
	{
		char why[200];

		if (ukvm_elf_parse(img, data, got, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "image %s: %s", path, why);
			goto fail;
		}
	}
	/* the image's identity in templates (libsodium: sodium_init is
	 * idempotent and thread-safe; SHA-256 needs no more of it) */
	if (sodium_init() < 0) {
		snprintf(err, errlen, "image %s: libsodium failed to start", path);
		goto fail;
	}
	crypto_hash_sha256(img->sha256, data, got);
	img->path = strdup(path);
	if (!img->path) {
		snprintf(err, errlen, "image %s: out of memory", path);
		goto fail;
	}
	img->data = data;
	img->dev = st.st_dev;
	img->ino = st.st_ino;
	img->mtime_ns = (int64_t)st.st_mtim.tv_sec * UKF_S + st.st_mtim.tv_nsec;
	img->size = st.st_size;
	close(fd);
	return img;
fail:
	free(data);
	free(img);
	close(fd);
	return NULL;
}

void ukvm_image_free(struct ukvm_image *img)
{
	if (!img)
		return;
	free(img->data);
	free(img->path);
	free(img);
}
