/* SPDX-License-Identifier: MIT */
/* bench_results.c - rows/s inserting instance rows, and report time. */
#define _GNU_SOURCE
#include "cli/results.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long rows = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
	char path[] = "/tmp/ukf-bench-XXXXXX";
	char db_path[64], err[512], cmd[128];

	if (rows <= 0 || argc > 2) {
		fprintf(stderr, "usage: %s [ROWS]  (default 1000000)\n",
			argv[0]);
		return 2;
	}
	if (!mkdtemp(path)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db_path, sizeof db_path, "%s/bench.db", path);
	ukf_db_t *db = ukf_db_open(db_path, err, sizeof err);
	if (!db) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct ukf_run_info ri = {.kind = "scenario",
				  .scenario = "bench",
				  .config = "bench",
				  .backend = "sim",
				  .version = UKF_VERSION,
				  .seed = 1};
	static const char *apps[4] = {"web", "db", "cache", "worker"};
	double t0 = now_s();
	int64_t run = ukf_db_run_begin(db, &ri);
	if (run < 0)
		goto fail;
	for (long i = 0; i < rows; i++) {
		ukf_ns_t t = (ukf_ns_t)i * 1000;
		struct ukf_record r = {
			.id = (ukf_id_t)i + 1,
			.parent = i % 3 ? (ukf_id_t)i / 2 : 0,
			.app = (uint32_t)(i & 3),
			.app_name = apps[i & 3],
			.origin = (ukf_node_id_t)(i % 10000),
			.node = (ukf_node_id_t)((i * 7) % 10000),
			.start = (enum ukf_start)(i % 3),
			.remote = (i & 1),
			.delta_bytes = 4096 * (uint64_t)(i % 100),
			.dirty_pages = (uint64_t)(i % 256),
			.t_request = t,
			.t_placed = t + 100,
			.t_start = t + 20000,
			.t_ready = t + 300000 + (i % 1000) * 1000,
			.t_exit = t + 10000000,
			.status = 0,
		};
		if (ukf_db_instance(db, run, &r) < 0)
			goto fail;
	}
	double t1 = now_s();
	if (ukf_db_run_commit(db, run, t1 - t0, (uint64_t)rows, 0) < 0)
		goto fail;
	double t2 = now_s();
	ukf_db_close(&db);
	double t3 = now_s();
	struct stat sb;
	stat(db_path, &sb);
	printf("inserted %ld instance rows in one run: %.2f s inserting, "
	       "%.2f s commit, %.2f s close (checkpoint)\n",
	       rows, t1 - t0, t2 - t1, t3 - t2);
	printf("rows/s: %.0f (insert+commit), %.0f (incl. close); file %.1f "
	       "MiB\n",
	       rows / (t2 - t0), rows / (t3 - t0), sb.st_size / 1048576.0);
	FILE *null = fopen("/dev/null", "w");
	double t4 = now_s();
	int rc = null ? ukf_report(db_path, 0, null, err, sizeof err) : -1;
	double t5 = now_s();
	if (null)
		fclose(null);
	if (rc < 0)
		fprintf(stderr, "report: %s\n", err);
	else
		printf("ukf_report over %ld rows: %.2f s\n", rows, t5 - t4);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", path);
	return rc < 0 ? 1 : 0;
fail:
	fprintf(stderr, "%s\n", ukf_db_error(db));
	ukf_db_close(&db);
	return 1;
}
