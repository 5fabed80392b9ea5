/* SPDX-License-Identifier: MIT */
/* fuzz_traceline.c - libFuzzer target: the trace line parser (scen_trace_parse, cli/scen_decl.c) alone, line by line as trace{} reads a file. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/scen_int.h"
#include "tests/fuzz/fuzz.h"

/*
 * Input: a trace file ("time app [node]" lines, '#' comments). Each line,
 * with its newline and a NUL after it as getline() hands it over, goes
 * to scen_trace_parse with two apps known ("a" and "c"), up to the first
 * refused line (where trace{} stops). fuzz_trace reaches the same parser
 * through a whole scenario run, at about 1/1000 of the speed.
 * Checked: a result of -1, 0 or 1; an arrival names a known app, a time
 * >= 0 and not before the one before it; a refusal says why in a
 * terminated message; an accepted line, written back as "<t>ns app
 * [node]", reads the same.
 */
static int find_app(void *ctx, const char *name)
{
	(void)ctx;
	return !strcmp(name, "a") ? 0 : !strcmp(name, "c") ? 1 : -1;
}

static const char *const apps[2] = {"a", "c"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ukf_ns_t last = 0;
	size_t at = 0;

	while (at < size) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t len = nl ? (size_t)(nl - data - at) + 1 : size - at;
		char *line = malloc(len + 1), msg[512], back[128];
		struct scen_tline tl, again;

		if (!line)
			abort();
		memcpy(line, data + at, len);
		line[len] = 0;
		at += len;
		memset(msg, 'x', sizeof msg);
		int rc = scen_trace_parse(line, len, find_app, NULL, last, &tl,
					  msg, sizeof msg);
		free(line);
		FUZZ_CHECK(rc >= -1 && rc <= 1);
		if (rc < 0) {
			FUZZ_CHECK(memchr(msg, 0, sizeof msg) != NULL);
			FUZZ_CHECK(msg[0] != 0);
			return 0;
		}
		if (rc == 0)
			continue;
		FUZZ_CHECK(tl.app == 0 || tl.app == 1);
		FUZZ_CHECK(tl.t >= 0 && tl.t >= last);
		if (tl.node == UKF_NODE_NONE)
			snprintf(back, sizeof back, "%" PRId64 "ns %s\n",
				 (int64_t)tl.t, apps[tl.app]);
		else
			snprintf(back, sizeof back, "%" PRId64 "ns %s %" PRIu32 "\n",
				 (int64_t)tl.t, apps[tl.app], tl.node);
		FUZZ_CHECK(scen_trace_parse(back, strlen(back), find_app, NULL,
					    tl.t, &again, msg,
					    sizeof msg) == 1);
		FUZZ_CHECK(again.t == tl.t && again.app == tl.app &&
			   again.node == tl.node);
		last = tl.t;
	}
	return 0;
}
