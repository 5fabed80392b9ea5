/* SPDX-License-Identifier: MIT */
/* fork_json_test.c - ukvm-bench-fork's --json document (bench/kvm/fork_json.c) without KVM: the line the hand-written printer gave, escaping, null for NaN. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/kvm/fork_json.h"
#include "results/stats.h"

static int fails;
#define CHECK(c)                                                          \
	do {                                                              \
		if (!(c)) {                                               \
			fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__,    \
				__LINE__, #c);                            \
			fails++;                                          \
		}                                                         \
	} while (0)

/* The document as one string (ukf_json_print's line without its newline). */
static char *line(struct json_object *j)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (ukf_json_print(f, j) < 0) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = 0;
	return buf;
}

/*
 * Three latency figures (20 values, 3 values: CIs unbounded, none: all
 * null) and four throughputs (two not finite). EXPECT is what the
 * hand-written printf printer of bench_fork.c printed for these inputs
 * before the port to json-c (same keys, order and %.6g numbers).
 */
static const char EXPECT[] =
	"{\"bench\":\"ukvm-bench-fork\",\"guest\":\"/build dir/guest/sy"
	"nth \\\"q\\\" back\\\\slash\",\"kvm\":\"AMD-V (kvm_amd), emula"
	"ted\",\"kvm_emulated\":true,\"method\":\"nearest-rank quantile"
	"s, 95% distribution-free CIs (results/stats.h)\",\"figures\":{"
	"\"a\":{\"count\":20,\"median_ms\":11.1111,\"median_ci_ms\":[6."
	"61728,16.7284],\"p95_ms\":21.2222,\"p95_ci_ms\":[18.9753,null]"
	",\"p99_ms\":22.3457,\"p99_ci_ms\":[21.2222,null],\"max_ms\":22"
	".3457,\"min_ms\":1},\"b\":{\"count\":3,\"median_ms\":1.50025,\""
	"median_ci_ms\":[null,null],\"p95_ms\":2.5005,\"p95_ci_ms\":[1."
	"50025,null],\"p99_ms\":2.5005,\"p99_ci_ms\":[1.50025,null],\"m"
	"ax_ms\":2.5005,\"min_ms\":0.900125},\"empty\":{\"count\":0,\"m"
	"edian_ms\":null,\"median_ci_ms\":[null,null],\"p95_ms\":null,\""
	"p95_ci_ms\":[null,null],\"p99_ms\":null,\"p99_ci_ms\":[null,nu"
	"ll],\"max_ms\":null,\"min_ms\":null}},\"throughput\":{\"x_per_"
	"s\":1234.57,\"nan_per_s\":null,\"inf_per_s\":null,\"big_per_s\""
	":1.23457e+07}}";

static void same_as_before(void)
{
	double a[20], b[3] = { 1500.25, 2500.5, 900.125 }, none[1] = { 0 };

	for (int i = 0; i < 20; i++)
		a[19 - i] = (i + 1) * 1000.0 + 123.456 * i;
	ukf_stats_sort(a, 20);
	ukf_stats_sort(b, 3);
	const struct ukvm_fork_fig f[3] = { { "a", a, 20 },
					    { "b", b, 3 },
					    { "empty", none, 0 } };
	const struct ukvm_fork_tp t[4] = { { "x_per_s", 1234.5678 },
					   { "nan_per_s", NAN },
					   { "inf_per_s", INFINITY },
					   { "big_per_s", 12345678.9 } };
	struct json_object *j = ukvm_fork_json(
		"/build dir/guest/synth \"q\" back\\slash",
		"AMD-V (kvm_amd), emulated", 1, f, 3, t, 4);
	char *s = line(j);

	CHECK(s && !strcmp(s, EXPECT));
	if (s && strcmp(s, EXPECT))
		fprintf(stderr, "got:  %s\nwant: %s\n", s, EXPECT);
	free(s);
	json_object_put(j);
}

/* A guest path with control characters and bad UTF-8 still gives valid
 * JSON that reads back (bad bytes as U+FFFD); no figures: empty objects. */
static void escaping(void)
{
	const char *guest = "/g\tuest\n\x01\"\\\xff/synth";
	struct json_object *j = ukvm_fork_json(guest, NULL, 0, NULL, 0, NULL, 0);
	char *s = line(j);
	struct json_object *back = s ? json_tokener_parse(s) : NULL, *v;

	CHECK(s && strchr(s, '\n') == NULL && strchr(s, '\t') == NULL);
	CHECK(back && json_object_object_get_ex(back, "guest", &v) &&
	      !strcmp(json_object_get_string(v),
		      "/g\tuest\n\x01\"\\\xef\xbf\xbd/synth"));
	CHECK(back && json_object_object_get_ex(back, "kvm", &v) &&
	      !strcmp(json_object_get_string(v), ""));
	CHECK(back && json_object_object_get_ex(back, "kvm_emulated", &v) &&
	      json_object_is_type(v, json_type_boolean) &&
	      !json_object_get_boolean(v));
	CHECK(s && strstr(s, "\"figures\":{},\"throughput\":{}}"));
	json_object_put(back);
	free(s);
	json_object_put(j);
}

int main(void)
{
	same_as_before();
	escaping();
	if (fails)
		return 1;
	printf("fork_json: ok\n");
	return 0;
}
