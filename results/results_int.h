/* SPDX-License-Identifier: MIT */
/* results_int.h - internals shared by results.c and report.c (not public;
 * validate/compare.c checks the files it reads with ukf_results_check_schema). */
#ifndef UKF_RESULTS_INT_H
#define UKF_RESULTS_INT_H

#include <stddef.h>
#include <sqlite3.h>

/* Schema version in meta.schema_version; bump on any schema change. */
#define UKF_RESULTS_SCHEMA_VERSION 1
/* PRAGMA application_id of a results file: "ukfR". */
#define UKF_RESULTS_APP_ID 0x756b6652

/* Errors into a caller's buffer: ukf_seterr (core/ukf.h). */

/*
 * Check that sq is a ukfork results database this code understands.
 * Returns 0 (with *empty = 1 if the file holds no tables at all), or -1
 * with a message naming path in err: not a database, a foreign SQLite
 * file, a newer schema.
 */
int ukf_results_check_schema(sqlite3 *sq, const char *path, int *empty,
			     char *err, size_t errlen);

#endif /* UKF_RESULTS_INT_H */
