/* SPDX-License-Identifier: MIT */
/* fuzz_snapshot.c - libFuzzer target: the snapshot reader (backends/kvm/snapshot.h) and the template reader built on it (ukvm_template_info_op). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/kvm/snapshot.h"
#include "backends/kvm/ukvm_int.h"
#include "core/backend.h"
#include "core/le.h"
#include "tests/fuzz/fuzz.h"

#define HDR_LEN 32 /* snapshot.h: magic, version, kind, arch, page, total */

/* Everything a reader does with a snapshot that opened. */
static void read_sections(const uint8_t *d, size_t len)
{
	struct ukvm_snap_reader r;
	struct ukvm_snap_meta meta;
	static struct ukvm_snap_vcpu vcpu;
	char err[256];
	uint32_t type;
	const void *p;
	size_t slen;

	if (ukvm_snap_open(&r, d, len, err, sizeof(err)))
		return;
	while (ukvm_snap_next(&r, &type, &p, &slen)) {
		char nb[32];
		FUZZ_CHECK((const uint8_t *)p >= d && slen <= len &&
			   (size_t)((const uint8_t *)p - d) <= len - slen);
		fuzz_touch(p, slen);
		(void)ukvm_snap_sec_name(type, nb, sizeof(nb));
	}
	(void)ukvm_snap_vcpu_decode(&r, &vcpu, err, sizeof(err));
	if (ukvm_snap_meta_decode(&r, &meta, err, sizeof(err)) == 0) {
		FUZZ_CHECK(memchr(meta.app_name, 0, sizeof(meta.app_name)));
		/* small memories for real (an exact malloc: ASan sees a page
		 * written past its end), big ones checked only */
		uint8_t *mem = meta.mem_size <= (1u << 20)
				   ? calloc(1, meta.mem_size ? meta.mem_size : 1)
				   : NULL;
		if (ukvm_snap_apply_pages(&r, mem, -1, meta.mem_size, NULL,
					  err, sizeof(err)) == 0 &&
		    mem) {
			/* the CRC from the page list (a fetched template's)
			 * is the CRC of the memory built from it, whenever
			 * the list is in order */
			uint32_t c = 0;
			if (ukvm_snap_pages_crc(&r, 0, meta.mem_size / 4096,
						&c) == 0)
				FUZZ_CHECK(c == ukvm_crc32c(0, mem,
							    meta.mem_size /
								4096 * 4096));
		}
		free(mem);
	}

	struct ukf_template_info info;
	struct ukf_app app;
	memset(&app, 0, sizeof(app));
	strcpy(app.name, "synth");
	(void)ukvm_template_info_op(NULL, NULL, d, len, &info, err,
				    sizeof(err));
	(void)ukvm_template_info_op(NULL, &app, d, len, &info, err,
				    sizeof(err));
}

/*
 * Input: a snapshot file. It is read as it is (where nearly every mutation
 * ends at the checksum), then with its total length and checksum made
 * right, so that the sections behind them are reached.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	read_sections(data, size);
	size_t len = size & ~(size_t)7;
	if (len < HDR_LEN + 24)
		return 0;
	uint8_t *d = malloc(len);
	if (!d)
		return 0;
	memcpy(d, data, len);
	ukf_put64(d + 24, len);
	ukf_put64(d + len - 8, ukvm_crc32c(0, d, len - 8));
	read_sections(d, len);
	free(d);
	return 0;
}
