/* SPDX-License-Identifier: MIT */
/* json.h - the one JSON writer (json-c) of `ukfork report` and bootbench. */
#ifndef UKF_JSON_H
#define UKF_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

/*
 * Values for json-c documents. Each constructor returns a new object the
 * caller owns (json_object_put, or hand it to ukf_json_add/_append); NULL
 * is JSON null (json-c's convention), also what a failed allocation gives.
 */

/* A number printed with printf format fmt (e.g. "%.12g"); NaN and +-inf,
 * which JSON cannot represent, give NULL (null). */
struct json_object *ukf_json_num(double x, const char *fmt);

/* A string: a copy of s with each byte that is not part of valid UTF-8
 * replaced by U+FFFD (json-c escapes quotes, backslashes and control
 * characters on output). s == NULL gives NULL (null). */
struct json_object *ukf_json_str(const char *s);

/* [lo, hi] of two numbers as ukf_json_num prints them. */
struct json_object *ukf_json_pair(double lo, double hi, const char *fmt);

/* Add key: val to object obj, taking ownership of val (freed on failure).
 * Returns 0, or -1 if obj is NULL or json-c could not add it. */
int ukf_json_add(struct json_object *obj, const char *key,
		 struct json_object *val);

/* Append val to array arr, taking ownership of val (freed on failure).
 * Returns 0 or -1. */
int ukf_json_append(struct json_object *arr, struct json_object *val);

/* Print doc on one line without spaces, then a newline. Does not free doc.
 * Returns 0, or -1 if doc could not be serialised or out failed. */
int ukf_json_print(FILE *out, struct json_object *doc);

#endif /* UKF_JSON_H */
