/* SPDX-License-Identifier: MIT */
/* bench_results.c - rows/s inserting instance rows, and report time. */
#define _GNU_SOURCE
#include "results/results.h"

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

/*
 * One run of `rows` instance rows. scramble = 0: ids in increasing order;
 * 1: ids in a scrambled order (a multiplicative permutation), as when
 * instances are recorded at exit rather than in request order.
 */
static int insert_run(ukf_db_t *db, long rows, int scramble, double *ins_s,
		      double *commit_s)
{
	static const char *apps[4] = {"web", "db", "cache", "worker"};
	struct ukf_run_info ri = {.kind = "scenario",
				  .scenario = "bench",
				  .config = scramble ? "scrambled" : "sequential",
				  .backend = "sim",
				  .version = UKF_VERSION,
				  .seed = 1};
	double t0 = now_s();
	int64_t run = ukf_db_run_begin(db, &ri);
	if (run < 0)
		return -1;
	for (long i = 0; i < rows; i++) {
		ukf_ns_t t = (ukf_ns_t)i * 1000;
		/* 2654435761 is odd, rows < 2^32: a permutation mod 2^32. */
		uint64_t id = scramble ? ((uint64_t)i * 2654435761u) & 0xffffffffu
				       : (uint64_t)i;
		struct ukf_record r = {
			.id = id + 1,
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
		if (ukf_db_instance(db, run, &r) < 0) {
			ukf_db_run_abort(db, run);
			return -1;
		}
	}
	double t1 = now_s();
	if (ukf_db_run_commit(db, run, t1 - t0, (uint64_t)rows, 0) < 0)
		return -1;
	*ins_s = t1 - t0;
	*commit_s = now_s() - t1;
	return 0;
}

int main(int argc, char **argv)
{
	long rows = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
	char path[] = "/tmp/ukf-bench-XXXXXX";
	char db_path[64], err[512], cmd[128];
	int rc = 1;

	if (rows <= 0 || rows > 0xffffffffL || argc > 2) {
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
		goto out;
	}
	for (int scramble = 0; scramble < 2; scramble++) {
		double ins, com;
		if (insert_run(db, rows, scramble, &ins, &com) < 0) {
			fprintf(stderr, "%s\n", ukf_db_error(db));
			goto out;
		}
		printf("%s ids: %ld instance rows in one run: %.2f s insert + "
		       "%.2f s commit = %.0f rows/s\n",
		       scramble ? "scrambled " : "sequential", rows, ins, com,
		       rows / (ins + com));
	}
	double t2 = now_s();
	ukf_db_close(&db);
	struct stat sb;
	if (stat(db_path, &sb) == 0)
		printf("close (checkpoint) %.2f s; file %.1f MiB for %ld rows\n",
		       now_s() - t2, sb.st_size / 1048576.0, 2 * rows);
	FILE *null = fopen("/dev/null", "w");
	double t4 = now_s();
	int r = null ? ukf_report(db_path, 0, null, err, sizeof err) : -1;
	double t5 = now_s();
	if (null)
		fclose(null);
	if (r < 0) {
		fprintf(stderr, "report: %s\n", err);
		goto out;
	}
	printf("ukf_report over %ld rows: %.2f s\n", 2 * rows, t5 - t4);
	rc = 0;
out:
	ukf_db_close(&db);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", path);
	return rc;
}
