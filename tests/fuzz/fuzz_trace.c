/* SPDX-License-Identifier: MIT */
/* fuzz_trace.c - libFuzzer target: the trace reader of scenarios (trace{file=} in cli/scenario.c), through ukf_scenario_run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/scenario.h"
#include "tests/fuzz/fuzz.h"

/*
 * The reader is static in cli/scenario.c (l_trace, a Lua binding); its
 * smallest public entry is a whole scenario run. Input: a trace file
 * ("time app [node]" lines, '#' comments), read by a scenario of one node
 * and two apps that runs 1 ms of simulated time. A bad trace is a refused
 * scenario (UKF_RUN_BAD); anything else that is not UKF_RUN_OK is a bug.
 */
static char dir[64], script[128], trace[128];
static FILE *sink;

static int setup(void)
{
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/ukf-fuzz-trace.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(script, sizeof(script), "%s/s.lua", dir);
	snprintf(trace, sizeof(trace), "%s/in.trace", dir);
	f = fopen(script, "w");
	if (!f)
		return -1;
	fputs("cluster { nodes = 2, vcpus = 4, memory = \"1G\" }\n"
	      "run { duration = \"1ms\" }\n"
	      "app(\"a\", \"mem=16M init=1ms work=1ms\")\n"
	      "app(\"c\", \"mem=16M init=1ms work=1ms\")\n"
	      "trace { file = \"in.trace\" }\n",
	      f);
	if (fclose(f))
		return -1;
	sink = fopen("/dev/null", "w");
	return sink ? 0 : -1;
}

static void cleanup(void)
{
	unlink(trace);
	unlink(script);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	FILE *f;

	if (!ready) {
		if (setup())
			abort();
		atexit(cleanup);
		ready = 1;
	}
	f = fopen(trace, "w");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	struct ukf_run_opts o = {
	    .script = script, .seed = 1, .seed_set = 1, .reps = 1,
	    .backend = "sim", .quiet = 1,
	};
	/* UKF_FUZZ_VERBOSE=1: the scenario's messages on stderr */
	int rc = ukf_scenario_run(&o, sink,
				  getenv("UKF_FUZZ_VERBOSE") ? stderr : sink);
	FUZZ_CHECK(rc == UKF_RUN_OK || rc == UKF_RUN_BAD);
	return 0;
}
