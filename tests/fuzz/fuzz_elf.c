/* SPDX-License-Identifier: MIT */
/* fuzz_elf.c - libFuzzer target: the KVM monitor's ELF loader (ukvm_elf_parse, ukvm_elf_fits, ukvm_elf_copy). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/kvm/ukvm_int.h"
#include "tests/fuzz/fuzz.h"

#define MEM (4ULL << 20) /* UKF_MEM_MIN: the smallest guest there is */

/*
 * Input: an image file. One the parser accepts must have its segments
 * inside the file, and one that also fits must copy into guest memory of
 * that size without touching a byte outside it (the memory is an exact
 * malloc: ASan sees any overrun).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *mem;
	struct ukvm_image img;
	char err[256];

	if (!mem && !(mem = malloc(MEM)))
		return 0;
	memset(&img, 0, sizeof(img));
	if (ukvm_elf_parse(&img, data, size, err, sizeof(err)))
		return 0;
	FUZZ_CHECK(img.nseg >= 1 && img.nseg <= UKVM_MAX_SEGS);
	for (unsigned i = 0; i < img.nseg; i++) {
		const struct ukvm_seg *s = &img.seg[i];
		FUZZ_CHECK(s->filesz <= s->memsz);
		FUZZ_CHECK(s->off <= size && s->filesz <= size - s->off);
		FUZZ_CHECK(s->gpa >= UKF_IMAGE_BASE && s->gpa >= img.lo &&
			   s->gpa + s->memsz <= img.hi);
	}
	if (ukvm_elf_fits(&img, MEM, err, sizeof(err)))
		return 0;
	FUZZ_CHECK(img.hi <= MEM - UKF_STACK_SIZE);
	img.data = (uint8_t *)data;
	ukvm_elf_copy(&img, mem, 0);
	return 0;
}
