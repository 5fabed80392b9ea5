/* SPDX-License-Identifier: MIT */
/* bench_proc.h - the /proc field reader the KVM benchmarks (ukvm-bench, ukvm-bench-fork) share. */
#ifndef UKVM_BENCH_PROC_H
#define UKVM_BENCH_PROC_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The value in KiB of the line "key: N kB" of a /proc file such as
 * /proc/self/status or /proc/meminfo (key without the colon); -1 if the
 * file cannot be read or has no such line. The first such line counts.
 */
static inline long bench_proc_kib(const char *path, const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = atol(line + kl + 1);
			break;
		}
	fclose(f);
	return v;
}

#endif /* UKVM_BENCH_PROC_H */
