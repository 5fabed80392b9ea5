/* SPDX-License-Identifier: MIT */
/* json.c - JSON output through json-c: null for NaN, U+FFFD for bad UTF-8. */
#include "json.h"
#include "../core/ukf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct json_object *ukf_json_num(double x, const char *fmt)
{
	char buf[64];
	if (isnan(x) || isinf(x))
		return NULL;
	snprintf(buf, sizeof buf, fmt ? fmt : "%.12g", x);
	return json_object_new_double_s(x, buf);
}

struct json_object *ukf_json_str(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	/* each bad byte grows to the 3 bytes of U+FFFD */
	char *buf = malloc(3 * n + 1), *o = buf;
	if (!buf)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t k = ukf_utf8_len(p);
		if (k == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		} else {
			memcpy(o, p, k);
			o += k;
			p += k;
		}
	}
	struct json_object *j = json_object_new_string_len(buf, (int)(o - buf));
	free(buf);
	return j;
}

struct json_object *ukf_json_pair(double lo, double hi, const char *fmt)
{
	struct json_object *a = json_object_new_array();
	if (ukf_json_append(a, ukf_json_num(lo, fmt)) < 0 ||
	    ukf_json_append(a, ukf_json_num(hi, fmt)) < 0) {
		json_object_put(a);
		return NULL;
	}
	return a;
}

int ukf_json_add(struct json_object *obj, const char *key,
		 struct json_object *val)
{
	if (!obj || json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

int ukf_json_append(struct json_object *arr, struct json_object *val)
{
	if (!arr || json_object_array_add(arr, val) != 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

int ukf_json_print(FILE *out, struct json_object *doc)
{
	const char *s = json_object_to_json_string_ext(
		doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || fputs(s, out) < 0 || fputc('\n', out) == EOF)
		return -1;
	return 0;
}
