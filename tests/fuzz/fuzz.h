/* SPDX-License-Identifier: MIT */
/* fuzz.h - what the fuzz targets share: the libFuzzer entry point and a check that memory handed back is really there. */
#ifndef UKF_FUZZ_H
#define UKF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read every byte of p[0..n): a pointer a decoder returned must point at
 * n readable bytes (ASan reports it otherwise). */
static inline void fuzz_touch(const void *p, size_t n)
{
	const volatile uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		(void)b[i];
}

/* A property of the code under test does not hold: say which, and crash
 * so that libFuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n",          \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

#endif /* UKF_FUZZ_H */
