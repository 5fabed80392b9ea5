/* SPDX-License-Identifier: MIT */
/* xen_elf_test.c - the xen driver's image check on crafted ELF files: each way an image can be wrong, with its reason. */
#include <elf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xen/elfnote.h>

#include "backends/registry.h"

#define SELFTEST_COUNTING
#include "tests/common/selftest.h"

/*
 * usage: xen-elf-test DIR. Runs on any machine (no Xen needed). The images
 * a user may hand to `--backend xen` by mistake, written to DIR: an ELF64
 * that is not an x86-64 executable (a shared object), one whose program
 * headers or notes run past the end of the file, one with notes but none
 * of Xen's, one with Xen's LOADER note but no ENTRY; each is refused with
 * the reason a user reads. A minimal image with both notes is accepted,
 * so the refusals come from what is missing, not from the crafting.
 */

static int failures; /* CHECK counts here (tests/common/selftest.h) */

/* How the crafted file differs from a good minimal Xen PV image. */
enum flaw {
	GOOD,	       /* LOADER + ENTRY notes: accepted */
	SHARED_OBJECT, /* e_type ET_DYN */
	SHORT_PHDRS,   /* program headers past the end of the file */
	SHORT_NOTES,   /* PT_NOTE's bytes past the end of the file */
	OTHER_NOTES,   /* a GNU note, no Xen note */
	NO_ENTRY,      /* Xen LOADER note only */
};

struct note {
	uint32_t namesz, descsz, type;
	char name[4];
	uint32_t desc;
};

/* Write the image with flaw f to path; 0 or -1. */
static int craft(const char *path, enum flaw f)
{
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		struct note n[2];
	} img;
	size_t len = sizeof(img);
	FILE *fp;
	int ok;

	memset(&img, 0, sizeof(img));
	memcpy(img.eh.e_ident, ELFMAG, SELFMAG);
	img.eh.e_ident[EI_CLASS] = ELFCLASS64;
	img.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img.eh.e_ident[EI_VERSION] = EV_CURRENT;
	img.eh.e_type = f == SHARED_OBJECT ? ET_DYN : ET_EXEC;
	img.eh.e_machine = EM_X86_64;
	img.eh.e_version = EV_CURRENT;
	img.eh.e_phoff = offsetof(__typeof__(img), ph);
	img.eh.e_ehsize = sizeof(Elf64_Ehdr);
	img.eh.e_phentsize = sizeof(Elf64_Phdr);
	img.eh.e_phnum = 1;
	img.ph.p_type = PT_NOTE;
	img.ph.p_offset = offsetof(__typeof__(img), n);
	img.ph.p_filesz = sizeof(img.n);
	for (int i = 0; i < 2; i++) {
		img.n[i].namesz = 4;
		img.n[i].descsz = 4;
		memcpy(img.n[i].name, f == OTHER_NOTES ? "GNU" : "Xen", 4);
	}
	img.n[0].type = XEN_ELFNOTE_LOADER;
	img.n[1].type = f == NO_ENTRY ? XEN_ELFNOTE_GUEST_OS : XEN_ELFNOTE_ENTRY;
	if (f == SHORT_PHDRS)
		len = sizeof(Elf64_Ehdr) + 8;
	if (f == SHORT_NOTES)
		len = offsetof(__typeof__(img), n) + 8;
	fp = fopen(path, "wb");
	if (!fp)
		return -1;
	ok = fwrite(&img, 1, len, fp) == len;
	return fclose(fp) == 0 && ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct {
		enum flaw f;
		const char *file, *why;
	} cases[] = {
	    {GOOD, "good", NULL},
	    {SHARED_OBJECT, "shared-object", "not an x86-64 ELF64 executable"},
	    {SHORT_PHDRS, "short-phdrs", "truncated program headers"},
	    {SHORT_NOTES, "short-notes", "truncated notes"},
	    {OTHER_NOTES, "other-notes", "no Xen PV ELF notes (LOADER, ENTRY)"},
	    {NO_ENTRY, "no-entry", "no Xen PV ELF notes (LOADER, ENTRY)"},
	};
	const struct ukf_backend_driver *d = ukf_backend_driver_find("xen");
	char path[4096], why[1024];

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	CHECK(d != NULL);
	if (!d)
		return 1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r;

		snprintf(path, sizeof(path), "%s/xen-elf-%s", argv[1],
			 cases[i].file);
		CHECK(craft(path, cases[i].f) == 0);
		why[0] = '\0';
		r = d->is_image(path, why, sizeof(why));
		printf("is_image(%s) = %d%s%s\n", cases[i].file, r,
		       why[0] ? ": " : "", why);
		if (!cases[i].why) {
			CHECK(r == 1);
		} else {
			CHECK(r == 0);
			CHECK(strstr(why, cases[i].why) != NULL);
			CHECK(strstr(why, path) != NULL); /* names the file */
		}
		unlink(path);
	}
	printf(failures ? "FAILED\n" : "PASS\n");
	return failures != 0;
}
