/* SPDX-License-Identifier: MIT */
/* test_core.c - self-tests of core/: apps, wire, directory, policies, engine.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/apps.h"
#include "core/codec.h"
#include "core/dir.h"
#include "core/doccheck.h"
#include "core/frame.h"
#include "core/engine.h"
#include "core/policy.h"
#include "core/wire.h"
#include "fake.h"
#include "include/ukf_abi.h"

static int failures;

/* ------------------------------------------------------------------ */
/* apps                                                                */

static void t_app_parse(void)
{
	struct ukf_app a;
	char err[200];

	CHECK_EQ(ukf_app_parse(&a, "synth", "", err, sizeof(err)), 0);
	CHECK_EQ(a.mem_bytes, 64ULL << 20);
	CHECK_EQ(a.init_ns, 50 * UKF_MS);
	CHECK_EQ(a.work_ns, 10 * UKF_MS);
	CHECK_EQ(a.dirty_pages, 256);
	CHECK_EQ(a.fork, 0);
	CHECK_EQ(a.units, 1);
	CHECK_EQ(a.vcpus, 1);
	CHECK_EQ(a.image_bytes, 2ULL << 20);
	CHECK(!strcmp(a.name, "synth"));

	CHECK_EQ(ukf_app_parse(&a, "web",
			       "mem=1G init=2s work=250us dirty=17 fork=4 "
			       "units=3 vcpus=2 image=512K",
			       err, sizeof(err)),
		 0);
	CHECK_EQ(a.mem_bytes, 1ULL << 30);
	CHECK_EQ(a.init_ns, 2 * UKF_S);
	CHECK_EQ(a.work_ns, 250 * UKF_US);
	CHECK_EQ(a.dirty_pages, 17);
	CHECK_EQ(a.fork, 4);
	CHECK_EQ(a.units, 3);
	CHECK_EQ(a.vcpus, 2);
	CHECK_EQ(a.image_bytes, 512 << 10);
	CHECK(!strcmp(a.args, "mem=1G init=2s work=250us dirty=17 fork=4 "
			      "units=3 vcpus=2 image=512K"));
	/* bare numbers: ms for times, bytes for sizes; extra spaces */
	CHECK_EQ(
	    ukf_app_parse(&a, "x", "  init=7   mem=4096 ", err, sizeof(err)),
	    0);
	CHECK_EQ(a.init_ns, 7 * UKF_MS);
	CHECK_EQ(a.mem_bytes, 4096);
	/* a path for real backends */
	CHECK_EQ(ukf_app_parse(&a, "x", "image=guest/apps/synth.elf", err,
			       sizeof(err)),
		 0);
	CHECK(!strcmp(a.image, "guest/apps/synth.elf"));
	CHECK_EQ(a.image_bytes, 2ULL << 20);
}

static void t_app_bad(void)
{
	struct ukf_app a;
	char err[200];
	static const struct {
		const char *kv, *needle;
	} bad[] = {
	    {"mem=64M colour=red", "colour"},
	    {"mem=12X", "mem=12X"},
	    {"mem=-1M", "mem=-1M"},
	    {"mem=0", "mem=0"},
	    {"init=fast", "init=fast"},
	    {"work=10 ms", "'ms'"},
	    {"dirty=1.5", "dirty=1.5"},
	    {"fork=99999999999", "fork="},
	    {"vcpus=0", "vcpus=0"},
	    {"units", "'units'"},
	    {"=5", "'=5'"},
	    {"image=lots", "image=lots"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK_EQ(ukf_app_parse(&a, "app", bad[i].kv, err, sizeof(err)),
			 -1);
		if (!strstr(err, bad[i].needle)) {
			fprintf(stderr, "'%s': error '%s' does not name '%s'\n",
				bad[i].kv, err, bad[i].needle);
			failures++;
		}
	}
	CHECK_EQ(ukf_app_parse(&a, "", "", err, sizeof(err)), -1);
	char longname[100];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[99] = 0;
	CHECK_EQ(ukf_app_parse(&a, longname, "", err, sizeof(err)), -1);
}

static void t_parse_units(void)
{
	uint64_t s;
	ukf_ns_t t;

	CHECK_EQ(ukf_parse_size("1K", &s), 0);
	CHECK_EQ(s, 1024);
	CHECK_EQ(ukf_parse_size("1.5M", &s), 0);
	CHECK_EQ(s, 3 << 19);
	CHECK_EQ(ukf_parse_size("2G", &s), 0);
	CHECK_EQ(s, 2ULL << 30);
	CHECK_EQ(ukf_parse_size("10", &s), 0);
	CHECK_EQ(s, 10);
	CHECK_EQ(ukf_parse_size("", &s), -1);
	CHECK_EQ(ukf_parse_size("M", &s), -1);
	CHECK_EQ(ukf_parse_size("5T", &s), -1);
	CHECK_EQ(ukf_parse_size(NULL, &s), -1);
	CHECK_EQ(ukf_parse_size("99999999999999999999G", &s), -1);
	CHECK_EQ(ukf_parse_time("1s", &t), 0);
	CHECK_EQ(t, UKF_S);
	CHECK_EQ(ukf_parse_time("3us", &t), 0);
	CHECK_EQ(t, 3000);
	CHECK_EQ(ukf_parse_time("12ns", &t), 0);
	CHECK_EQ(t, 12);
	CHECK_EQ(ukf_parse_time("0.5ms", &t), 0);
	CHECK_EQ(t, 500000);
	CHECK_EQ(ukf_parse_time("4", &t), 0);
	CHECK_EQ(t, 4 * UKF_MS);
	CHECK_EQ(ukf_parse_time("4h", &t), -1);
	CHECK_EQ(ukf_parse_time("-4ms", &t), -1);
	CHECK_EQ(ukf_parse_time("1e30s", &t), -1);
	/* exact to the ns past 2^53 ns (a double was off by a few ns there)
	 * and rounded half up */
	CHECK_EQ(ukf_parse_time("9007199254740993ns", &t), 0);
	CHECK_EQ(t, 9007199254740993LL);
	CHECK_EQ(ukf_parse_time("8888888.88082s", &t), 0);
	CHECK_EQ(t, 8888888880820000LL);
	CHECK_EQ(ukf_parse_time("9007199.254740993s", &t), 0);
	CHECK_EQ(t, 9007199254740993LL);
	CHECK_EQ(ukf_parse_time("1.0000005ms", &t), 0);
	CHECK_EQ(t, 1000001);
	CHECK_EQ(ukf_parse_time("0.0000000004999999s", &t), 0);
	CHECK_EQ(t, 0);
	CHECK_EQ(ukf_parse_time("0.0000000005s", &t), 0);
	CHECK_EQ(t, 1);
	CHECK_EQ(ukf_parse_time("9199999999999999999ns", &t), 0);
	CHECK_EQ(t, 9199999999999999999LL);
	CHECK_EQ(ukf_parse_time("9199999999999999999.5ns", &t), -1);
	CHECK_EQ(ukf_parse_time("9200000000000000000ns", &t), -1);
	CHECK_EQ(ukf_parse_time("9200000000s", &t), -1);
	CHECK_EQ(ukf_parse_time("99999999999999999999999ns", &t), -1);
	CHECK_EQ(ukf_parse_time_unit("2.5", UKF_S, &t), 0);
	CHECK_EQ(t, 2500000000LL);
	CHECK_EQ(ukf_parse_time_unit("7", 1, &t), 0);
	CHECK_EQ(t, 7);
	CHECK_EQ(ukf_parse_time_unit("7", 42, &t), -1);
	CHECK(!strcmp(ukf_start_name(UKF_START_COLD), "cold"));
	CHECK(!strcmp(ukf_start_name(UKF_START_TEMPLATE), "template"));
	CHECK(!strcmp(ukf_start_name(UKF_START_FORK), "fork"));
	CHECK(!strcmp(ukf_start_name((enum ukf_start)77), "unknown"));
}

/*
 * App strings follow the one rule for numbers written as text (commit
 * d9d9868, docs/scenarios.md Units): decimal digits, optionally a
 * fraction. strtod would read "0x10M" as 16 MiB and "1e3ms" as a second;
 * each such value is refused, by the parsers and in an app string, whose
 * error names the key and the value.
 */
static void t_app_decimal(void)
{
	static const char *const bad_sizes[] = {
	    "0x10M", "0x10", "1e3", "1E3K", "1.5e1M", "0x1p4", "1.", "1.M",
	    ".5M",   "+5M",  "-0",  " 5M",  "inf",    "nan",   "5 M",
	};
	static const char *const bad_times[] = {
	    "0x10ms", "1e3ms", "1E3", "2.5e-1s", "0x1p4s", "1.s",
	    ".5s",    "+5ms",  "infs", " 5ms",   "5.ms",
	};
	uint64_t s;
	ukf_ns_t t;
	struct ukf_app a;
	char kv[64], err[200];

	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		s = 12345;
		CHECKF(ukf_parse_size(bad_sizes[i], &s) == -1 && s == 12345,
		       "size '%s' accepted as %llu", bad_sizes[i],
		       (unsigned long long)s);
		snprintf(kv, sizeof(kv), "mem=%s", bad_sizes[i]);
		if (strchr(bad_sizes[i], ' '))
			continue; /* a blank ends the token in an app string */
		err[0] = 0;
		CHECKF(ukf_app_parse(&a, "app", kv, err, sizeof(err)) == -1,
		       "'%s' accepted: mem_bytes %llu", kv,
		       (unsigned long long)a.mem_bytes);
		CHECKF(strstr(err, kv) && strstr(err, "decimal"),
		       "'%s': error '%s' names neither the value nor the rule",
		       kv, err);
		/* a size-looking image that is not a path is no size either */
		if (!strchr(bad_sizes[i], '.')) {
			snprintf(kv, sizeof(kv), "image=%s", bad_sizes[i]);
			err[0] = 0;
			CHECKF(ukf_app_parse(&a, "app", kv, err, sizeof(err)) ==
				       -1 &&
				   strstr(err, kv),
			       "'%s': image_bytes %llu, error '%s'", kv,
			       (unsigned long long)a.image_bytes, err);
		}
	}
	for (size_t i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++) {
		t = 777;
		CHECKF(ukf_parse_time(bad_times[i], &t) == -1 && t == 777,
		       "time '%s' accepted as %lld ns", bad_times[i],
		       (long long)t);
		if (strchr(bad_times[i], ' '))
			continue;
		snprintf(kv, sizeof(kv), "work=%s", bad_times[i]);
		err[0] = 0;
		CHECKF(ukf_app_parse(&a, "app", kv, err, sizeof(err)) == -1,
		       "'%s' accepted: work_ns %lld", kv, (long long)a.work_ns);
		CHECKF(strstr(err, kv) && strstr(err, "decimal"),
		       "'%s': error '%s' names neither the value nor the rule",
		       kv, err);
	}
	/* counts: digits only, and the error says so */
	static const char *const bad_counts[] = {"dirty=0x10", "fork=1e2",
						 "units=+3", "vcpus=2.0"};
	for (size_t i = 0; i < sizeof(bad_counts) / sizeof(bad_counts[0]);
	     i++) {
		err[0] = 0;
		CHECK_EQ(ukf_app_parse(&a, "app", bad_counts[i], err,
				       sizeof(err)),
			 -1);
		CHECKF(strstr(err, bad_counts[i]) &&
			   strstr(err, "decimal digits"),
		       "'%s': error '%s'", bad_counts[i], err);
	}
	/* the decimal form itself, fraction and leading zeros included */
	CHECK_EQ(ukf_parse_size("010M", &s), 0);
	CHECK_EQ(s, 10ULL << 20);
	CHECK_EQ(ukf_parse_size("0.25K", &s), 0);
	CHECK_EQ(s, 256);
	CHECK_EQ(ukf_parse_time("1.25s", &t), 0);
	CHECK_EQ(t, 1250 * UKF_MS);
	CHECK_EQ(ukf_parse_time("007us", &t), 0);
	CHECK_EQ(t, 7 * UKF_US);
	CHECK_EQ(ukf_app_parse(&a, "app",
			       "mem=0.5G init=1.5s work=0.125ms dirty=010 "
			       "image=1.5M",
			       err, sizeof(err)),
		 0);
	CHECK_EQ(a.mem_bytes, 512ULL << 20);
	CHECK_EQ(a.init_ns, 1500 * UKF_MS);
	CHECK_EQ(a.work_ns, 125 * UKF_US);
	CHECK_EQ(a.dirty_pages, 10);
	CHECK_EQ(a.image_bytes, 3ULL << 19);
	CHECK(!a.image[0]);
}

/* ------------------------------------------------------------------ */
/* wire                                                                */

/* A message of type t with every field set to something recognisable. */
static void full_msg(struct ukf_msg *m, enum ukf_msg_type t)
{
	memset(m, 0, sizeof(*m));
	m->type = t;
	m->id = 0x1122334455667788ULL + (uint64_t)t;
	m->parent = 7;
	m->src = 9;
	m->tag = UINT64_MAX;
	m->t_request = -5;
	m->t_placed = INT64_MAX;
	m->status = -1000;
	m->result = -2;
	m->bytes = 1ULL << 40;
	m->tver = 0x0123456789abcdefULL;
	m->node = 11;
	m->origin = 4;
	m->attempt = 5;
	m->flags = 6;
	m->app_name = "web";
	m->app_name_len = 3;
	m->app_digest = 0xfeedULL;
	m->text = "mem=64M";
	m->text_len = 7;
}

/* Which fields type t carries, by name. */
static int has_field(enum ukf_msg_type t, const char *name)
{
	struct ukf_wire_field_info f[32];
	size_t n = ukf_wire_fields(t, f, 32);

	for (size_t k = 0; k < n; k++)
		if (!strcmp(f[k].name, name))
			return 1;
	return 0;
}

static void t_wire_roundtrip(void)
{
	unsigned char buf[512];
	char err[160];
	struct ukf_msg m, d;

	for (int t = UKF_MSG_SPAWN; t < UKF_MSG_TYPE_MAX; t++) {
		full_msg(&m, (enum ukf_msg_type)t);
		size_t n = ukf_msg_encode(&m, buf, sizeof(buf));
		CHECK(n > 0);
		CHECK_EQ(n, ukf_msg_body_size(&m));
		CHECK_EQ(ukf_msg_decode(&d, (uint16_t)t, buf, n, NULL, 0, 0,
					err, sizeof(err)),
			 0);
		CHECK_EQ(d.type, t);
		/* the fields the type names survive; the others are 0 */
#define SAME(f, name) CHECK(has_field((enum ukf_msg_type)t, name) ? d.f == m.f : d.f == 0)
		SAME(id, "id");
		SAME(parent, "parent");
		SAME(src, "src");
		SAME(tag, "tag");
		SAME(t_request, "t_request");
		SAME(t_placed, "t_placed");
		SAME(status, "status");
		SAME(result, "result");
		SAME(bytes, "bytes");
		SAME(node, "node");
		SAME(origin, "origin");
		SAME(attempt, "attempt");
		SAME(flags, "flags");
#undef SAME
		if (has_field((enum ukf_msg_type)t, "app"))
			CHECK(d.app_name_len == 3 && !memcmp(d.app_name, "web", 3) &&
			      d.app_digest == 0xfeedULL);
		else
			CHECK(d.app_name == NULL && d.app_digest == 0);
		if (has_field((enum ukf_msg_type)t, "args") ||
		    has_field((enum ukf_msg_type)t, "reason"))
			CHECK(d.text_len == 7 && !memcmp(d.text, "mem=64M", 7));
		else
			CHECK(d.text == NULL && d.text_len == 0);
		/* bulk bytes travel beside the body, for the types that have them */
		int rc = ukf_msg_decode(&d, (uint16_t)t, buf, n, "\x00\x01\x02", 3, 0,
					err, sizeof(err));
		if (ukf_msg_has_bulk((enum ukf_msg_type)t)) {
			CHECK_EQ(rc, 0);
			CHECK(d.data_len == 3 && !memcmp(d.data, "\x00\x01\x02", 3));
		} else {
			CHECK_EQ(rc, -1);
			CHECK(strstr(err, "no bulk") != NULL);
		}
		CHECK(strcmp(ukf_msg_name(m.type), "?"));
	}
	/* little-endian on the wire, whatever the host */
	memset(&m, 0, sizeof(m));
	m.type = UKF_MSG_KILL;
	m.id = 0x0102;
	size_t n = ukf_msg_encode(&m, buf, sizeof(buf));
	CHECK_EQ(n, 12);
	CHECK(buf[0] == 0x02 && buf[1] == 0x01 && buf[2] == 0);
	/* encoder refuses what it cannot represent */
	CHECK_EQ(ukf_msg_encode(&m, buf, n - 1), 0);
	m.type = (enum ukf_msg_type)99;
	CHECK_EQ(ukf_msg_encode(&m, buf, sizeof(buf)), 0);
	full_msg(&m, UKF_MSG_FAIL);
	m.text_len = UKF_WIRE_TEXT_MAX + 1;
	m.text = (const char *)buf;
	CHECK_EQ(ukf_msg_encode(&m, buf, sizeof(buf)), 0);
	full_msg(&m, UKF_MSG_SPAWN);
	m.app_name_len = 0; /* a spawn names its app */
	CHECK_EQ(ukf_msg_encode(&m, buf, sizeof(buf)), 0);
	m.app_name = "a-name-of-sixty-four-bytes-is-one-byte-longer-than-the-limit-xy";
	m.app_name_len = 64;
	CHECK_EQ(ukf_msg_encode(&m, buf, sizeof(buf)), 0);
	CHECK(!strcmp(ukf_msg_name((enum ukf_msg_type)0), "?"));
	/* the table describes itself (docs/protocol.md is made from it) */
	char *doc = NULL;
	size_t dlen = 0;
	FILE *f = open_memstream(&doc, &dlen);
	ukf_wire_describe(f);
	fclose(f);
	CHECK(doc && strstr(doc, "### 2 `clone`") && strstr(doc, "Bulk bytes:"));
	free(doc);
}

static void expect_bad(uint16_t type, const unsigned char *buf, size_t len,
		       const char *needle)
{
	struct ukf_msg d;
	char err[160] = "";

	CHECK_EQ(ukf_msg_decode(&d, type, buf, len, NULL, 0, 0, err,
				sizeof(err)),
		 -1);
	if (needle && !strstr(err, needle)) {
		fprintf(stderr, "decode error '%s' lacks '%s'\n", err, needle);
		failures++;
	}
}

/* Where type t's fields appended in a later version begin in
 * full_msg's body (names of 3 bytes, texts of 7), or 0 if it has none. */
static size_t since_at(enum ukf_msg_type t)
{
	size_t nf, at = 0;
	const struct ukf_field *f = ukf_wire_table(t, &nf);

	for (size_t k = 0; k < nf; k++) {
		if (f[k].since)
			return at;
		at += f[k].kind == UKF_FK_NAME	 ? 1 + 3
		      : f[k].kind == UKF_FK_TEXT ? 2 + 7
		      : f[k].kind == UKF_FK_U32	 ? 4
						 : 8;
	}
	return 0;
}

/* Rejection of every field of every type: a body cut inside each field
 * names it; each app name and text length that lies is refused. A body
 * that ends where the fields of a later version begin (an older
 * sender's) decodes, those fields 0. */
static void t_wire_hostile(void)
{
	unsigned char buf[512], b2[600];
	struct ukf_msg m, d;
	char err[160];

	for (int t = UKF_MSG_SPAWN; t < UKF_MSG_TYPE_MAX; t++) {
		struct ukf_wire_field_info f[32];
		size_t nf = ukf_wire_fields((enum ukf_msg_type)t, f, 32), at = 0;

		full_msg(&m, (enum ukf_msg_type)t);
		size_t n = ukf_msg_encode(&m, buf, sizeof(buf));
		/* every truncation is refused, but an older sender's body */
		size_t old = since_at((enum ukf_msg_type)t);
		for (size_t l = 0; l < n; l++)
			if (!old || l != old)
				expect_bad((uint16_t)t, buf, l, "field '");
		if (old) {
			CHECK_EQ(ukf_msg_decode(&d, (uint16_t)t, buf, old, NULL,
						0, 0, err, sizeof(err)),
				 0);
			CHECK(d.tver == 0 && d.status == 0);
		}
		/* trailing bytes: refused, unless the sender is newer */
		memcpy(b2, buf, n);
		b2[n] = 0;
		expect_bad((uint16_t)t, b2, n + 1, "after the last field");
		CHECK_EQ(ukf_msg_decode(&d, (uint16_t)t, b2, n + 1, NULL, 0, 1,
					err, sizeof(err)),
			 0);
		for (size_t k = 0; k < nf; k++) {
			char want[64];
			snprintf(want, sizeof(want), "field '%s'", f[k].name);
			/* cut just inside this field */
			expect_bad((uint16_t)t, buf, at + 1, want);
			if (!strcmp(f[k].kind, "name")) {
				memcpy(b2, buf, n);
				b2[at] = 0; /* empty name */
				expect_bad((uint16_t)t, b2, n, want);
				b2[at] = 64; /* over the limit */
				expect_bad((uint16_t)t, b2, n, want);
				b2[at] = 60; /* past the end */
				expect_bad((uint16_t)t, b2, n, want);
				memcpy(b2, buf, n);
				b2[at + 2] = 0; /* NUL inside */
				expect_bad((uint16_t)t, b2, n, "NUL");
				at += 1 + 3;
			} else if (!strcmp(f[k].kind, "text")) {
				memcpy(b2, buf, n);
				b2[at] = 0xff; /* 0x..ff: over the limit */
				b2[at + 1] = 0xff;
				expect_bad((uint16_t)t, b2, n, "over the limit");
				b2[at] = 8; /* one byte past the end */
				b2[at + 1] = 0;
				expect_bad((uint16_t)t, b2, n, "past the end");
				at += 2 + 7;
			} else {
				at += !strcmp(f[k].kind, "u32") ? 4 : 8;
			}
		}
		CHECK_EQ(at, n);
		/* an instance id of 0 where one is needed */
		if (has_field((enum ukf_msg_type)t, "id")) {
			full_msg(&m, (enum ukf_msg_type)t);
			m.id = 0;
			n = ukf_msg_encode(&m, buf, sizeof(buf));
			expect_bad((uint16_t)t, buf, n, "instance id");
		}
	}
	/* unknown types, oversized bodies and bulk */
	expect_bad(0, buf, 10, "unknown message type");
	expect_bad(UKF_MSG_TYPE_MAX, buf, 10, "unknown message type");
	expect_bad(0xffff, buf, 10, "unknown message type");
	expect_bad(UKF_MSG_KILL, b2, UKF_WIRE_BODY_MAX + 1, "limit");
	expect_bad(UKF_MSG_KILL, NULL, 10, "no message");
	full_msg(&m, UKF_MSG_MSG);
	size_t n = ukf_msg_encode(&m, buf, sizeof(buf));
	CHECK_EQ(ukf_msg_decode(&d, UKF_MSG_MSG, buf, n, NULL,
				UKF_WIRE_BULK_MAX + 1, 0, err, sizeof(err)),
		 -1);
	CHECK_EQ(ukf_msg_decode(&d, UKF_MSG_MSG, buf, n, NULL, 5, 0, err,
				sizeof(err)),
		 -1);
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

/* One decode of a body both ways: the generated decoder (through
 * ukf_msg_decode) and the generic one over the type's table agree on the
 * outcome, the error and the fields. */
static void same_decode(enum ukf_msg_type t, const unsigned char *b, size_t len)
{
	const struct ukf_field *f;
	struct ukf_msg d1, d2;
	unsigned char e1[300], e2[300];
	char err1[160] = "", err2[160] = "";
	size_t nf, n1, n2;
	int rc1, rc2;

	f = ukf_wire_table(t, &nf);
	rc1 = ukf_msg_decode(&d1, (uint16_t)t, b, len, NULL, 0, 0, err1,
			     sizeof(err1));
	memset(&d2, 0, sizeof(d2));
	d2.type = t;
	rc2 = ukf_fields_decode(f, nf, &d2, b, len, 0, ukf_msg_name(t), err2,
				sizeof(err2));
	if (rc2 == 0 && d2.id == 0 && has_field(t, "id"))
		return; /* ukf_msg_decode then refuses it: no instance id */
	CHECK_EQ(rc1, rc2);
	if (rc1 < 0) {
		if (strcmp(err1, err2)) {
			fprintf(stderr, "decode errors differ: '%s' / '%s'\n",
				err1, err2);
			failures++;
		}
		return;
	}
	n1 = ukf_fields_encode(f, nf, &d1, e1, sizeof(e1));
	n2 = ukf_fields_encode(f, nf, &d2, e2, sizeof(e2));
	/* an older sender's body comes back with the later fields, 0 */
	CHECK(n1 == n2 && !memcmp(e1, e2, n1) &&
	      (n1 == len ||
	       (len == since_at(t) && n1 > len && !memcmp(e1, b, len))));
}

/* The generated encoder and decoder are the table's: the same bytes for
 * every type, the same outcome and errors for every cut and for bytes
 * changed at every position. */
static void t_wire_generated(void)
{
	unsigned char buf[300], gen[300], b2[300];
	static const unsigned char vals[] = { 0, 1, 3, 8, 60, 63, 64, 0xff };
	struct ukf_msg m;

	for (int t = UKF_MSG_SPAWN; t < UKF_MSG_TYPE_MAX; t++) {
		size_t nf, n, g;
		const struct ukf_field *f = ukf_wire_table((enum ukf_msg_type)t, &nf);

		CHECK(f != NULL && nf > 0);
		full_msg(&m, (enum ukf_msg_type)t);
		n = ukf_msg_encode(&m, buf, sizeof(buf));
		g = ukf_fields_encode(f, nf, &m, gen, sizeof(gen));
		CHECK(n > 0 && n == g && !memcmp(buf, gen, n));
		for (size_t c = 0; c < n; c++) /* too small a buffer */
			CHECK_EQ(ukf_msg_encode(&m, buf, c), 0);
		for (size_t l = 0; l <= n; l++)
			same_decode((enum ukf_msg_type)t, buf, l);
		for (size_t i = 0; i < n; i++)
			for (size_t v = 0; v < sizeof(vals); v++) {
				memcpy(b2, buf, n);
				b2[i] = vals[v];
				same_decode((enum ukf_msg_type)t, b2, n);
			}
	}
	CHECK(ukf_wire_table((enum ukf_msg_type)0, NULL) == NULL);
}

static void t_wire_fuzz(void)
{
	unsigned char base[UKF_MSG_TYPE_MAX][256], buf[300];
	size_t bn[UKF_MSG_TYPE_MAX];
	uint64_t seed = 12345;
	struct ukf_msg m, d;
	char err[160];
	int accepted = 0;

	for (int t = 1; t < UKF_MSG_TYPE_MAX; t++) {
		full_msg(&m, (enum ukf_msg_type)t);
		bn[t] = ukf_msg_encode(&m, base[t], sizeof(base[t]));
	}
	for (int it = 0; it < 200000; it++) {
		int t = 1 + (int)(lcg(&seed) % (UKF_MSG_TYPE_MAX - 1));
		uint16_t as = lcg(&seed) % 8 ? (uint16_t)t
					     : (uint16_t)(lcg(&seed) % 80);
		size_t n = bn[t], len = n;
		memcpy(buf, base[t], n);
		int flips = 1 + (int)(lcg(&seed) % 4);
		for (int f = 0; f < flips; f++)
			buf[lcg(&seed) % n] = (unsigned char)lcg(&seed);
		if (lcg(&seed) % 4 == 0)
			len = lcg(&seed) % (n + 1);
		if (ukf_msg_decode(&d, as, buf, len, NULL, 0, 0, err,
				   sizeof(err)) == 0) {
			accepted++;
			/* anything accepted lies entirely inside the body */
			CHECK(!d.text ||
			      ((const unsigned char *)d.text >= buf &&
			       (const unsigned char *)d.text + d.text_len <=
				   buf + len));
			CHECK(!d.app_name ||
			      ((const unsigned char *)d.app_name >= buf &&
			       (const unsigned char *)d.app_name + d.app_name_len <=
				   buf + len));
			CHECK(d.type > 0 && d.type < UKF_MSG_TYPE_MAX);
			CHECK(d.app_name_len < UKF_APP_NAME_MAX);
		}
	}
	CHECK(accepted > 0); /* mutations of values stay valid */
}

/* ------------------------------------------------------------------ */
/* directory                                                           */

/* the totals pub() gives its records */
static uint32_t pub_vtotal = 8;
static uint64_t pub_mtotal = 1ULL << 40;

static void pub(ukf_dir_t *d, ukf_node_id_t node, uint64_t version,
		uint32_t vfree, uint64_t mfree, uint32_t load,
		const uint32_t *tpl, uint32_t ntpl)
{
	struct ukf_dir_record r;
	unsigned char buf[256];

	memset(&r, 0, sizeof(r));
	r.node = node;
	r.version = version;
	r.vcpus_total = pub_vtotal;
	r.vcpus_free = vfree;
	r.mem_total = pub_mtotal;
	r.mem_free = mfree;
	r.instances = load;
	r.ntemplates = ntpl;
	for (uint32_t i = 0; i < ntpl; i++)
		r.templates[i] = tpl[i];
	size_t n = ukf_dir_encode(&r, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_EQ(ukf_dir_apply(d, buf, n), 0);
}

static void t_dir_versions(void)
{
	ukf_dir_t *d = ukf_dir_create(4);
	struct ukf_dir_record r;
	unsigned char buf[256];
	uint32_t web = 3;

	CHECK(d != NULL);
	CHECK(ukf_dir_create(0) == NULL);
	CHECK_EQ(ukf_dir_nodes(d), 4);
	CHECK_EQ(ukf_dir_get(d, 2)->version, 0);
	CHECK(ukf_dir_get(d, 4) == NULL);
	CHECK_EQ(ukf_dir_least_loaded(d, 1, 1, UKF_NODE_NONE), UKF_NODE_NONE);
	pub(d, 2, 5, 4, 100, 3, &web, 1);
	CHECK_EQ(ukf_dir_get(d, 2)->version, 5);
	CHECK_EQ(ukf_dir_holders(d, 3), 1);
	/* older and equal versions are ignored */
	pub(d, 2, 4, 8, 100, 0, NULL, 0);
	pub(d, 2, 5, 8, 100, 0, NULL, 0);
	CHECK_EQ(ukf_dir_get(d, 2)->instances, 3);
	CHECK_EQ(ukf_dir_holders(d, 3), 1);
	/* a newer one replaces it, template index follows */
	pub(d, 2, 6, 8, 100, 0, NULL, 0);
	CHECK_EQ(ukf_dir_get(d, 2)->instances, 0);
	CHECK_EQ(ukf_dir_holders(d, 3), 0);
	/* bad records */
	memset(&r, 0, sizeof(r));
	r.node = 1;
	r.version = 1;
	r.vcpus_total = 4;
	r.vcpus_free = 4;
	size_t n = ukf_dir_encode(&r, buf, sizeof(buf));
	CHECK_EQ(ukf_dir_apply(d, buf, n - 1), -1);
	CHECK_EQ(ukf_dir_apply(d, buf, n + 4), -1);
	CHECK_EQ(ukf_dir_apply(d, NULL, n), -1);
	buf[0] ^= 1;
	CHECK_EQ(ukf_dir_apply(d, buf, n), -1);
	r.node = 9; /* no such node */
	n = ukf_dir_encode(&r, buf, sizeof(buf));
	CHECK_EQ(ukf_dir_apply(d, buf, n), -1);
	r.node = 1;
	r.vcpus_free = 5; /* more free than total */
	n = ukf_dir_encode(&r, buf, sizeof(buf));
	CHECK_EQ(ukf_dir_apply(d, buf, n), -1);
	r.vcpus_free = 4;
	r.version = 0;
	n = ukf_dir_encode(&r, buf, sizeof(buf));
	CHECK_EQ(ukf_dir_apply(d, buf, n), -1);
	r.version = 1;
	r.ntemplates = 1;
	r.templates[0] = UKF_DIR_MAX_APPS;
	n = ukf_dir_encode(&r, buf, sizeof(buf));
	CHECK_EQ(ukf_dir_apply(d, buf, n), -1);
	r.ntemplates = UKF_DIR_MAX_TEMPLATES + 1;
	CHECK_EQ(ukf_dir_encode(&r, buf, sizeof(buf)), 0);
	CHECK_EQ(ukf_dir_encode(&r, buf, 10), 0);
	CHECK_EQ(ukf_dir_get(d, 1)->version, 0); /* nothing bad got in */
	/* a good record and a buffer one byte short: nothing written */
	r.ntemplates = 2;
	r.templates[0] = 3, r.templates[1] = 5;
	n = ukf_dir_encode(&r, buf, sizeof(buf));
	CHECK(n > 0);
	memset(buf, 0x5a, sizeof(buf));
	CHECK_EQ(ukf_dir_encode(&r, buf, n - 1), 0);
	CHECK_EQ(buf[0], 0x5a);
	/* questions about an app no record ever listed */
	CHECK_EQ(ukf_dir_holders(d, 4000), 0);
	CHECK_EQ(ukf_dir_least_loaded_holder(d, 4000, 1, 1, UKF_NODE_NONE),
		 UKF_NODE_NONE);
	/* forgetting a node outside the view changes nothing; forgetting
	 * node 2 makes it never heard of, so its restarted agent's version 1
	 * applies */
	pub(d, 2, 7, 8, 100, 1, &web, 1);
	ukf_dir_forget(d, 4);
	ukf_dir_forget(NULL, 2);
	CHECK_EQ(ukf_dir_get(d, 2)->version, 7);
	CHECK_EQ(ukf_dir_holders(d, web), 1);
	ukf_dir_forget(d, 2);
	CHECK_EQ(ukf_dir_get(d, 2)->version, 0);
	CHECK_EQ(ukf_dir_holders(d, web), 0);
	CHECK_EQ(ukf_dir_least_loaded(d, 1, 1, UKF_NODE_NONE), UKF_NODE_NONE);
	pub(d, 2, 1, 8, 100, 0, NULL, 0);
	CHECK_EQ(ukf_dir_get(d, 2)->version, 1);
	ukf_dir_destroy(&d);
	CHECK(d == NULL);
	ukf_dir_destroy(&d);
}

/*
 * Free vCPUs and memory of a record, and a query's, at one of three
 * scales: 0 memory in bytes below a page (every index leaf rounds), 1
 * whole pages with some records and queries off by a few bytes (exact
 * leaves and rounded ones side by side), 2 around the indexes' caps
 * (2^31 - 1 vCPUs, 2^32 - 1 pages of 4 KiB).
 */
static void dir_room(int scale, uint64_t *seed, uint32_t *v, uint64_t *m)
{
	switch (scale) {
	case 0:
		*v = (uint32_t)(lcg(seed) % 9);
		*m = lcg(seed) % 1000;
		break;
	case 1:
		*v = (uint32_t)(lcg(seed) % 9);
		*m = (lcg(seed) % 64) << 12;
		if (lcg(seed) % 4 == 0)
			*m += lcg(seed) % 3 ? 1 : 4095;
		break;
	default:
		*v = 0x7fffffffu - 4 + (uint32_t)(lcg(seed) % 9);
		*m = (1ULL << 44) - (4ULL << 12) + ((lcg(seed) % 9) << 12);
		if (lcg(seed) % 3 == 0)
			*m += lcg(seed) % 4096;
		break;
	}
}

/* Indexed answers equal brute force on random clusters. */
static void dir_indexes_at(int scale)
{
	const uint32_t N = 1000;
	ukf_dir_t *d;
	uint64_t seed = 7, ver[1000] = {0};

	pub_vtotal = scale == 2 ? 0xffffffffu : 8;
	pub_mtotal = scale == 2 ? 1ULL << 46 : 1ULL << 40;
	d = ukf_dir_create(N);

	for (int round = 0; round < 4000; round++) {
		ukf_node_id_t node = (ukf_node_id_t)(lcg(&seed) % N);
		uint32_t tpl[3], nt = (uint32_t)(lcg(&seed) % 4);
		for (uint32_t i = 0; i < nt; i++)
			tpl[i] = (uint32_t)(lcg(&seed) % 5);
		if (nt == 2 && tpl[0] == tpl[1])
			nt = 1;
		if (nt == 3 && (tpl[2] == tpl[0] || tpl[2] == tpl[1]))
			nt = 2;
		if (nt >= 2 && tpl[0] == tpl[1])
			tpl[1] = (tpl[0] + 1) % 5;
		uint32_t v;
		uint64_t m;
		dir_room(scale, &seed, &v, &m);
		pub(d, node, ++ver[node], v, m, (uint32_t)(lcg(&seed) % 50),
		    tpl, nt);
		if (round % 10)
			continue;
		dir_room(scale, &seed, &v, &m);
		uint32_t app = (uint32_t)(lcg(&seed) % 5);
		ukf_node_id_t from = (ukf_node_id_t)(lcg(&seed) % N);
		ukf_node_id_t best = UKF_NODE_NONE, hbest = UKF_NODE_NONE,
			      first = UKF_NODE_NONE, bestx = UKF_NODE_NONE;
		uint32_t holders = 0;
		for (uint32_t k = 0; k < N; k++) {
			const struct ukf_dir_record *r = ukf_dir_get(d, k);
			int has = 0;
			for (uint32_t t = 0; t < r->ntemplates; t++)
				has |= r->templates[t] == app;
			holders += has && r->version;
			if (!ukf_dir_fits(r, v, m))
				continue;
			uint64_t key = ukf_dir_load_key(r);
			if (best == UKF_NODE_NONE ||
			    key < ukf_dir_load_key(ukf_dir_get(d, best)))
				best = k;
			/* the least loaded but `from` (excluded) */
			if (k != from &&
			    (bestx == UKF_NODE_NONE ||
			     key < ukf_dir_load_key(ukf_dir_get(d, bestx))))
				bestx = k;
			if (has &&
			    (hbest == UKF_NODE_NONE ||
			     key < ukf_dir_load_key(ukf_dir_get(d, hbest))))
				hbest = k;
		}
		for (uint32_t k = 0; k < N && first == UKF_NODE_NONE; k++)
			if (ukf_dir_fits(ukf_dir_get(d, (from + k) % N), v, m))
				first = (from + k) % N;
		CHECK_EQ(ukf_dir_least_loaded(d, v, m, UKF_NODE_NONE), best);
		CHECK_EQ(ukf_dir_least_loaded(d, v, m, from), bestx);
		/* excluding the least loaded itself: the next one */
		if (best != UKF_NODE_NONE && round % 20 == 0)
			CHECK(ukf_dir_least_loaded(d, v, m, best) != best);
		CHECK_EQ(
		    ukf_dir_least_loaded_holder(d, app, v, m, UKF_NODE_NONE),
		    hbest);
		CHECK_EQ(ukf_dir_next_fit(d, from, v, m), first);
		/* spread variants: same load class as the best, first from */
		ukf_node_id_t lf = ukf_dir_least_loaded_from(d, v, m, from);
		ukf_node_id_t hf =
		    ukf_dir_least_loaded_holder_from(d, app, v, m, from);
		ukf_node_id_t nh = ukf_dir_next_holder(d, app, from, from);
		ukf_node_id_t lfx = UKF_NODE_NONE, hfx = UKF_NODE_NONE,
			      nhx = UKF_NODE_NONE;
		for (uint32_t k = 0; k < N; k++) {
			ukf_node_id_t x = (from + k) % N;
			const struct ukf_dir_record *r = ukf_dir_get(d, x);
			int has = 0;
			for (uint32_t t = 0; t < r->ntemplates; t++)
				has |= r->templates[t] == app;
			if (nhx == UKF_NODE_NONE && has && r->version &&
			    x != from)
				nhx = x;
			if (!ukf_dir_fits(r, v, m))
				continue;
			uint64_t cl = ukf_dir_load_key(r) >> 32;
			if (lfx == UKF_NODE_NONE && best != UKF_NODE_NONE &&
			    cl == ukf_dir_load_key(ukf_dir_get(d, best)) >> 32)
				lfx = x;
			if (hfx == UKF_NODE_NONE && has &&
			    hbest != UKF_NODE_NONE &&
			    cl == ukf_dir_load_key(ukf_dir_get(d, hbest)) >> 32)
				hfx = x;
		}
		CHECK_EQ(lf, lfx);
		CHECK_EQ(hf, hfx);
		CHECK_EQ(nh, nhx);
		CHECK_EQ(ukf_dir_holders(d, app), holders);
		if (best != UKF_NODE_NONE) {
			ukf_node_id_t b2 = ukf_dir_least_loaded(d, v, m, best);
			CHECK(b2 != best);
		}
	}
	ukf_dir_destroy(&d);
	pub_vtotal = 8;
	pub_mtotal = 1ULL << 40;
}

static void t_dir_indexes(void)
{
	for (int scale = 0; scale < 3; scale++)
		dir_indexes_at(scale);
}

/* The next holder round the ring and the holder counts equal brute force
 * at 9,000 nodes (141 bitmap words, three summary words), holders sparse
 * and in runs, with nodes forgotten: first while only the holder sets
 * exist, then after a least-loaded-holder query made the load trees. */
static uint32_t brute_holders(const ukf_dir_t *d, uint32_t n, uint32_t app,
			      ukf_node_id_t from, ukf_node_id_t exclude,
			      ukf_node_id_t *next)
{
	uint32_t count = 0;

	*next = UKF_NODE_NONE;
	for (uint32_t k = 0; k < n; k++) {
		ukf_node_id_t x = ((from < n ? from : 0) + k) % n;
		const struct ukf_dir_record *r = ukf_dir_get(d, x);
		int has = 0;

		for (uint32_t t = 0; t < r->ntemplates; t++)
			has |= r->templates[t] == app;
		if (!has || !r->version)
			continue;
		count++;
		if (*next == UKF_NODE_NONE && x != exclude)
			*next = x;
	}
	return count;
}

static void t_dir_holder_sets(void)
{
	const uint32_t N = 9000;
	ukf_dir_t *d = ukf_dir_create(N);
	uint64_t seed = 11, *ver = calloc(N, sizeof(*ver));
	int checks = 0;

	CHECK(d != NULL && ver != NULL);
	for (int round = 0; round < 6000; round++) {
		/* a few nodes hold a template, many of them in runs near
		 * the ends of words and of summary words */
		ukf_node_id_t node = lcg(&seed) % 4 == 0
					 ? (ukf_node_id_t)(lcg(&seed) % N)
					 : (ukf_node_id_t)((lcg(&seed) % 3) * 4096 +
							   4090 + lcg(&seed) % 12) % N;
		uint32_t tpl[2] = {(uint32_t)(lcg(&seed) % 3), 0};
		uint32_t nt = (uint32_t)(lcg(&seed) % 3);

		tpl[1] = (tpl[0] + 1) % 3;
		if (lcg(&seed) % 9 == 0) {
			ukf_dir_forget(d, node);
			ver[node] = 0;
		} else {
			pub(d, node, ++ver[node], 4, 1 << 20,
			    (uint32_t)(lcg(&seed) % 7), tpl, nt);
		}
		if (round == 3000) /* the load trees from here on */
			CHECK(ukf_dir_least_loaded_holder(d, 0, 1, 1,
							  UKF_NODE_NONE) !=
			      UKF_NODE_NONE);
		for (int q = 0; q < 3; q++) {
			uint32_t app = (uint32_t)(lcg(&seed) % 3);
			ukf_node_id_t from = lcg(&seed) % 8 == 0
						 ? N + 5
						 : (ukf_node_id_t)(lcg(&seed) % N);
			ukf_node_id_t nx, ex, want;
			uint32_t cnt = brute_holders(d, N, app, from,
						     UKF_NODE_NONE, &nx);

			CHECK_EQ(ukf_dir_holders(d, app), cnt);
			CHECK_EQ(ukf_dir_next_holder(d, app, from,
						     UKF_NODE_NONE),
				 nx);
			/* excluding the answer, or `from` itself */
			ex = q == 0 ? nx : from;
			brute_holders(d, N, app, from, ex, &want);
			CHECK_EQ(ukf_dir_next_holder(d, app, from, ex), want);
			checks++;
		}
	}
	CHECK_EQ(checks, 18000);
	CHECK_EQ(ukf_dir_holders(d, 7), 0);
	CHECK_EQ(ukf_dir_next_holder(d, 7, 0, UKF_NODE_NONE), UKF_NODE_NONE);
	free(ver);
	ukf_dir_destroy(&d);
}

/* ------------------------------------------------------------------ */
/* placement policies on a hand-checked cluster                         */

static double script_vals[8];
static size_t script_i;
static double s_uniform(void *w, uint64_t key)
{
	return script_vals[script_i++ % 8];
}

static void t_placement(void)
{
	/*
	 * node: 0    1    2    3
	 * vfree 0    2    4    1
	 * load  9    3    5    1
	 * tpl   -    web  web  -
	 */
	ukf_dir_t *d = ukf_dir_create(4);
	uint32_t web = 0;
	struct ukf_env_ops eo = {.uniform = s_uniform};
	struct ukf_env env = {&eo, NULL};
	uint32_t rr = 0;
	struct ukf_place_ctx c = {d, &env, 0, 0, 1, 100, &rr, NULL, 0};
	char err[300];
	const struct ukf_placement_ops *p;

	pub(d, 0, 1, 0, 1000, 9, NULL, 0);
	pub(d, 1, 1, 2, 1000, 3, &web, 1);
	pub(d, 2, 1, 4, 1000, 5, &web, 1);
	pub(d, 3, 1, 1, 1000, 1, NULL, 0);

	p = ukf_placement_find("local", err, sizeof(err));
	CHECK(p != NULL);
	c.origin = 2;
	CHECK_EQ(p->place(&c), 2);
	c.origin = 0; /* full: local never spills over */
	CHECK_EQ(p->place(&c), UKF_NODE_NONE);

	p = ukf_placement_find("least-loaded", err, sizeof(err));
	CHECK_EQ(p->place(&c), 3);
	c.vcpus = 2; /* node 3 has 1 vCPU free: next is 1 (load 3) */
	CHECK_EQ(p->place(&c), 1);
	c.vcpus = 3;
	CHECK_EQ(p->place(&c), 2);
	c.vcpus = 5;
	CHECK_EQ(p->place(&c), UKF_NODE_NONE);
	c.vcpus = 1;
	c.mem = 2000; /* memory filter too */
	CHECK_EQ(p->place(&c), UKF_NODE_NONE);
	c.mem = 100;

	p = ukf_placement_find("round-robin", err, sizeof(err));
	rr = 0;
	ukf_node_id_t seq[6];
	for (int i = 0; i < 6; i++)
		seq[i] = p->place(&c);
	/* node 0 is full, so 1 2 3 1 2 3 */
	CHECK(seq[0] == 1 && seq[1] == 2 && seq[2] == 3 && seq[3] == 1 &&
	      seq[4] == 2 && seq[5] == 3);

	p = ukf_placement_find("template-affinity", err, sizeof(err));
	c.app = 0; /* holders 1 (load 3) and 2 (load 5): 1 */
	CHECK_EQ(p->place(&c), 1);
	c.vcpus = 3; /* only holder 2 has room */
	CHECK_EQ(p->place(&c), 2);
	c.vcpus = 1;
	c.app = 1; /* no holder: least loaded */
	CHECK_EQ(p->place(&c), 3);

	p = ukf_placement_find("random", err, sizeof(err));
	script_i = 0;
	script_vals[0] = 0.0;  /* node 0 full: next with room is 1 */
	script_vals[1] = 0.6;  /* node 2 */
	script_vals[2] = 0.99; /* node 3 */
	c.app = 0;
	CHECK_EQ(p->place(&c), 1);
	CHECK_EQ(p->place(&c), 2);
	CHECK_EQ(p->place(&c), 3);

	p = ukf_placement_find("power-of-two", err, sizeof(err));
	script_i = 0;
	script_vals[0] = 0.3; /* node 1 (load 3) */
	script_vals[1] = 0.6; /* node 2 (load 5) */
	script_vals[2] = 0.6; /* node 2 */
	script_vals[3] = 0.9; /* node 3 (load 1) */
	CHECK_EQ(p->place(&c), 1);
	CHECK_EQ(p->place(&c), 3);

	/* load is the scarcest resource's use first, instances second */
	ukf_dir_t *d2 = ukf_dir_create(2);
	struct ukf_place_ctx c2 = {d2, &env, 0, 0, 1, 100, &rr, NULL, 0};
	pub(d2, 0, 1, 1, 1ULL << 40, 1, NULL, 0); /* 7/8 vCPUs used, 1 inst */
	pub(d2, 1, 1, 6, 1ULL << 40, 3, NULL, 0); /* 2/8 used, 3 instances */
	CHECK_EQ(
	    ukf_placement_find("least-loaded", err, sizeof(err))->place(&c2),
	    1);
	pub(d2, 1, 2, 6, 1ULL << 39, 3, NULL, 0); /* half its memory used */
	pub(d2, 0, 2, 1, 1ULL << 40, 1, NULL, 0);
	CHECK_EQ(
	    ukf_placement_find("least-loaded", err, sizeof(err))->place(&c2),
	    1);
	pub(d2, 1, 3, 6, 1ULL << 37, 3, NULL, 0); /* 7/8 of memory used */
	pub(d2, 0, 3, 2, 1ULL << 40, 1, NULL, 0); /* 6/8 vCPUs used */
	CHECK_EQ(
	    ukf_placement_find("least-loaded", err, sizeof(err))->place(&c2),
	    0);
	ukf_dir_destroy(&d2);

	CHECK(ukf_placement_find("fastest", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "fastest") && strstr(err, "local") &&
	      strstr(err, "template-affinity") && strstr(err, "power-of-two"));
	CHECK(ukf_template_find("some", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "none") && strstr(err, "on-demand") &&
	      strstr(err, "prewarm"));
	ukf_dir_destroy(&d);
}

/* ------------------------------------------------------------------ */
/* template cache and top-K                                              */

static uint32_t evicted[16];
static int nevicted;
static void on_evict(void *u, uint32_t app)
{
	evicted[nevicted++] = app;
}

static void add_ready(struct ukf_tcache *c, uint32_t app, uint64_t bytes)
{
	struct ukf_tentry *e = ukf_tcache_add(c, app);
	CHECK(e != NULL);
	if (e)
		ukf_tcache_set_ready(c, e, bytes);
}

static void t_tcache_lru(void)
{
	struct ukf_tcache c;

	ukf_tcache_init(&c, 100);
	add_ready(&c, 1, 40);
	add_ready(&c, 2, 40);
	CHECK_EQ(c.used, 80);
	CHECK(ukf_tcache_add(&c, 1) == NULL);	      /* no duplicates */
	ukf_tcache_touch(&c, ukf_tcache_find(&c, 1)); /* 2 is now LRU */
	nevicted = 0;
	CHECK_EQ(ukf_tcache_make_room(&c, 30, 0, on_evict, NULL), 0);
	CHECK_EQ(nevicted, 1);
	CHECK_EQ(evicted[0], 2);
	CHECK(ukf_tcache_find(&c, 2) == NULL);
	add_ready(&c, 3, 30);
	CHECK_EQ(c.used, 70);
	/* pinned entries stay; too big for the rest fails without evicting */
	ukf_tcache_find(&c, 1)->pinned = 1;
	nevicted = 0;
	CHECK_EQ(ukf_tcache_make_room(&c, 70, 0, on_evict, NULL), -1);
	CHECK_EQ(nevicted, 0);
	CHECK_EQ(ukf_tcache_make_room(&c, 101, 0, on_evict, NULL), -1);
	CHECK_EQ(ukf_tcache_make_room(&c, 60, 0, on_evict, NULL), 0);
	CHECK_EQ(nevicted, 1);
	CHECK_EQ(evicted[0], 3);
	/* count limit */
	ukf_tcache_init(&c, 1000);
	add_ready(&c, 1, 1);
	add_ready(&c, 2, 1);
	ukf_tcache_touch(&c, ukf_tcache_find(&c, 1));
	nevicted = 0;
	CHECK_EQ(ukf_tcache_make_room(&c, 1, 2, on_evict, NULL), 0);
	CHECK_EQ(nevicted, 1);
	CHECK_EQ(evicted[0], 2);
	/* pending entries hold no bytes and are never evicted */
	CHECK(ukf_tcache_add(&c, 9) != NULL);
	CHECK_EQ(c.nready, 1);
	ukf_tcache_remove(&c, 1);
	CHECK_EQ(c.used, 0);
	CHECK_EQ(c.nready, 0);
	CHECK(ukf_tcache_find(&c, 9) != NULL);
	/* a template said ready twice is counted once, at its first size */
	ukf_tcache_set_ready(&c, ukf_tcache_find(&c, 9), 5);
	ukf_tcache_set_ready(&c, ukf_tcache_find(&c, 9), 7);
	CHECK_EQ(c.used, 5);
	CHECK_EQ(c.nready, 1);
	/* removing an app the cache does not hold changes nothing */
	ukf_tcache_remove(&c, 12345);
	CHECK_EQ(c.used, 5);
	CHECK_EQ(c.nready, 1);
	CHECK_EQ(c.n, 1);
	ukf_tcache_free(&c);
}

/* A cache past its inline entries: all UKF_TCACHE_MAX usable and found,
 * one more refused (ENOSPC), removals anywhere keep the rest, LRU
 * eviction reaches entries in the overflow block. */
static void t_tcache_many(void)
{
	struct ukf_tcache c;

	ukf_tcache_init(&c, 1u << 20);
	for (uint32_t a = 0; a < UKF_TCACHE_MAX; a++)
		add_ready(&c, 100 + a, 10 + a);
	CHECK_EQ(c.n, UKF_TCACHE_MAX);
	CHECK(c.more != NULL);
	errno = 0;
	CHECK(ukf_tcache_add(&c, 7) == NULL);
	CHECK_EQ(errno, ENOSPC);
	errno = 0;
	CHECK(ukf_tcache_add(&c, 100 + UKF_TCACHE_MAX - 1) == NULL);
	CHECK_EQ(errno, EEXIST);
	for (uint32_t a = 0; a < UKF_TCACHE_MAX; a++) {
		struct ukf_tentry *t = ukf_tcache_find(&c, 100 + a);
		CHECK(t != NULL && t->bytes == 10 + a);
	}
	/* remove one inline entry and one in the block: the last entry
	 * moves into each hole, every other one stays found */
	ukf_tcache_remove(&c, 100 + 3);
	ukf_tcache_remove(&c, 100 + UKF_TCACHE_INLINE + 5);
	CHECK_EQ(c.n, UKF_TCACHE_MAX - 2);
	uint64_t used = 0;
	for (uint32_t a = 0; a < UKF_TCACHE_MAX; a++) {
		struct ukf_tentry *t = ukf_tcache_find(&c, 100 + a);
		int gone = a == 3 || a == UKF_TCACHE_INLINE + 5;
		CHECK(gone ? t == NULL : t != NULL && t->bytes == 10 + a);
		used += gone ? 0 : 10 + a;
	}
	CHECK_EQ(c.used, used);
	/* touch all but one entry of the block: it is the LRU one */
	for (uint32_t a = 0; a < UKF_TCACHE_MAX; a++)
		if (a != UKF_TCACHE_INLINE + 20 && ukf_tcache_find(&c, 100 + a))
			ukf_tcache_touch(&c, ukf_tcache_find(&c, 100 + a));
	nevicted = 0;
	CHECK_EQ(ukf_tcache_make_room(&c, 1, UKF_TCACHE_MAX - 2, on_evict,
				      NULL), 0);
	CHECK_EQ(nevicted, 1);
	CHECK_EQ(evicted[0], 100 + UKF_TCACHE_INLINE + 20);
	/* room again: a new app takes the freed place */
	CHECK(ukf_tcache_add(&c, 7) != NULL);
	CHECK(ukf_tcache_find(&c, 7) != NULL);
	ukf_tcache_free(&c);
	CHECK(c.more == NULL);
}

static void t_topk(void)
{
	struct ukf_topk t;
	uint32_t add = 99, rem = 99;

	CHECK_EQ(ukf_topk_init(&t, 4, 2), 0);
	CHECK(ukf_topk_has(&t, 0) && ukf_topk_has(&t, 1));
	CHECK(!ukf_topk_has(&t, 2) && !ukf_topk_has(&t, 9));
	CHECK_EQ(ukf_topk_bump(&t, 0, &add, &rem), 0);
	/* app 3 overtakes app 1 (count 0) at its first request */
	CHECK_EQ(ukf_topk_bump(&t, 3, &add, &rem), 1);
	CHECK(add == 3 && rem == 1);
	CHECK(ukf_topk_has(&t, 3) && !ukf_topk_has(&t, 1));
	/* app 2 must beat the weakest strictly: 0 and 3 have 1 each */
	CHECK_EQ(ukf_topk_bump(&t, 2, &add, &rem), 0);
	CHECK_EQ(ukf_topk_bump(&t, 2, &add, &rem), 1);
	CHECK(add == 2 && rem == 3); /* tie 0/3 at 1: the higher id leaves */
	CHECK_EQ(ukf_topk_bump(&t, 77, &add, &rem), 0);
	ukf_topk_free(&t);
	CHECK_EQ(ukf_topk_init(&t, 2, 5), 0); /* k larger than apps */
	CHECK(ukf_topk_has(&t, 0) && ukf_topk_has(&t, 1));
	ukf_topk_free(&t);
	/* no apps: an empty set that no request changes */
	CHECK_EQ(ukf_topk_init(&t, 0, 3), 0);
	CHECK(!ukf_topk_has(&t, 0));
	CHECK_EQ(ukf_topk_bump(&t, 0, &add, &rem), 0);
	CHECK(!ukf_topk_has(&t, 0));
	ukf_topk_free(&t);
}

/* ------------------------------------------------------------------ */
/* engine, end to end on the fake world                                   */

static struct fake_world *world(uint32_t nodes, uint32_t vcpus,
				const char *placement, const char *templates)
{
	struct ukf_engine_config c;
	char err[300];
	struct fake_world *fw;

	ukf_engine_config_default(&c);
	c.nodes = nodes;
	c.node.vcpus = vcpus;
	c.placement = placement;
	c.templates = templates;
	fw = fake_create(&c, err, sizeof(err));
	if (!fw)
		fprintf(stderr, "fake_create: %s\n", err);
	if (fw && getenv("UKF_TEST_VERBOSE"))
		fw->verbose = 1;
	return fw;
}

static void t_engine_spawn_template(void)
{
	struct fake_world *fw = world(1, 8, "least-loaded", "on-demand");
	ukf_id_t a, b;

	CHECK_EQ(fake_app(fw, "web", "init=100ms work=5ms"), 0);
	CHECK_EQ(fake_start(fw), 0);
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 7, &a), 0);
	fake_run(fw, UKF_S);
	CHECK_EQ(fake_spawn(fw, 0, 0, "x=1", 8, &b), 0);
	fake_run(fw, UKF_NS_NEVER);
	const struct fake_rec *ra = fake_rec(fw, a), *rb = fake_rec(fw, b);
	CHECK(ra && rb);
	if (ra && rb) {
		CHECK_EQ(ra->r.start, UKF_START_COLD);
		CHECK_EQ(ra->r.template_made, 1);
		CHECK_EQ(rb->r.start, UKF_START_TEMPLATE);
		CHECK_EQ(rb->r.template_made, 0);
		CHECK_EQ(ra->r.status, 0);
		CHECK_EQ(rb->r.status, 0);
		/* the clone is ready far sooner than the cold boot */
		CHECK(rb->r.t_ready - rb->r.t_request <
		      (ra->r.t_ready - ra->r.t_request) / 10);
		CHECK(ra->r.t_request <= ra->r.t_placed &&
		      ra->r.t_placed <= ra->r.t_start &&
		      ra->r.t_start <= ra->r.t_ready &&
		      ra->r.t_ready <= ra->r.t_exit);
		CHECK(!strcmp(ra->app, "web"));
	}
	CHECK_EQ(fw->ready_hooks, 2);
	CHECK_EQ(fw->exit_hooks, 2);
	CHECK_EQ(fake_alive(fw), 0);
	char names[64];
	fake_templates(fw, 0, names, sizeof(names));
	CHECK(!strcmp(names, "web"));
	CHECK_EQ(fake_log_count(fw, "via=template"), 1);
	CHECK_EQ(fake_log_count(fw, "via=cold+template"), 1);
	CHECK(!fw->overcommit);
	fake_destroy(&fw);

	/* "none": every spawn boots cold, no template is ever made */
	fw = world(1, 8, "least-loaded", "none");
	fake_app(fw, "web", "init=100ms");
	fake_start(fw);
	fake_spawn(fw, 0, 0, "", 0, &a);
	fake_run(fw, UKF_S);
	fake_spawn(fw, 0, 0, "", 0, &b);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fake_rec(fw, b)->r.start, UKF_START_COLD);
	CHECK_EQ(fake_log_count(fw, "template-make"), 0);
	fake_destroy(&fw);
}

static void t_engine_local_fork(void)
{
	struct fake_world *fw = world(1, 8, "least-loaded", "on-demand");
	ukf_id_t a;
	int children = 0;

	fake_app(fw, "fan", "init=10ms work=5ms fork=3 units=2 dirty=10");
	fake_start(fw);
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 1, &a), 0);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fw->nrecs, 7); /* parent + 2 units x 3 children */
	for (size_t i = 0; i < fw->nrecs; i++) {
		const struct ukf_record *r = &fw->recs[i].r;
		CHECK_EQ(r->status, 0);
		if (r->id == a)
			continue;
		children++;
		CHECK_EQ(r->parent, a);
		CHECK_EQ(r->start, UKF_START_FORK);
		CHECK_EQ(r->remote, 0);
		CHECK_EQ(r->node, 0);
	}
	CHECK_EQ(children, 6);
	CHECK_EQ(fake_log_count(fw, "via=live"), 6);
	CHECK_EQ(fake_log_count(fw, "reap "), 6);
	/* parent exits after its children (it waited for them) */
	const struct fake_rec *p = fake_rec(fw, a);
	for (size_t i = 0; i < fw->nrecs; i++)
		CHECK(fw->recs[i].r.t_exit <= p->r.t_exit);
	CHECK(!fw->overcommit);
	fake_destroy(&fw);
}

static void t_engine_remote_fork(void)
{
	/* 1 vCPU per node: the children of a fork must go remote. */
	struct fake_world *fw = world(3, 1, "least-loaded", "on-demand");
	ukf_id_t a;

	fake_app(fw, "fan", "init=10ms work=5ms fork=2 dirty=10 mem=1M");
	fake_start(fw);
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 1, &a), 0);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fw->nrecs, 3);
	for (size_t i = 0; i < fw->nrecs; i++) {
		const struct ukf_record *r = &fw->recs[i].r;
		CHECK_EQ(r->status, 0);
		if (r->id == a)
			continue;
		CHECK_EQ(r->start, UKF_START_FORK);
		CHECK_EQ(r->remote, 1);
		CHECK(r->node != fake_rec(fw, a)->r.node);
		CHECK_EQ(r->template_fetched, 1);
		CHECK_EQ(r->delta_bytes, 10 * 4096);
	}
	CHECK_EQ(fake_log_count(fw, "via=delta"), 2);
	CHECK_EQ(fake_log_count(fw, "template-fetch app=fan"), 2);
	/* template bytes and deltas travelled as bulk */
	CHECK(fw->bulk_bytes >= 2 * (1 << 20) + 2 * 10 * 4096);
	CHECK(!fw->overcommit);
	fake_destroy(&fw);

	/* fetch = cold, a parent without a template (its delta is the whole
	 * image): the target boots a template itself */
	struct ukf_engine_config c;
	char err[200];
	ukf_engine_config_default(&c);
	c.nodes = 2;
	c.node.vcpus = 1;
	c.fetch = UKF_FETCH_COLD;
	c.templates = "none";
	fw = fake_create(&c, err, sizeof(err));
	fake_app(fw, "fan", "init=10ms work=5ms fork=1 dirty=3");
	fake_start(fw);
	fake_spawn(fw, 0, 0, "", 1, &a);
	fake_run(fw, UKF_NS_NEVER);
	/* the parent, its child and the template boot on node 1, which is
	 * the engine's own VM (a template_boots row), not a request */
	CHECK_EQ(fw->nrecs, 3);
	CHECK_EQ(fake_log_count(fw, "template-boot"), 1);
	CHECK_EQ(fake_log_count(fw, "template-fetch"), 0);
	size_t tboots = 0;
	for (size_t i = 0; i < fw->nrecs; i++) {
		CHECK_EQ(fw->recs[i].r.status, 0);
		if (fw->recs[i].r.template_boot) {
			tboots++;
			CHECK_EQ(fw->recs[i].r.node, 1u);
			CHECK(fw->recs[i].r.template_made);
		}
	}
	CHECK_EQ(tboots, 1u);
	fake_destroy(&fw);

	/* fetch = cold, a parent made the template of its node: one made on
	 * node 1 would be another, so the child's template is fetched from
	 * the parent's node whatever the fetch policy */
	c.templates = "on-demand";
	fw = fake_create(&c, err, sizeof(err));
	fake_app(fw, "fan", "init=10ms work=5ms fork=1 dirty=3");
	fake_start(fw);
	fake_spawn(fw, 0, 0, "", 1, &a);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fw->nrecs, 2);
	CHECK_EQ(fake_log_count(fw, "template-boot"), 0);
	CHECK_EQ(fake_log_count(fw, "template-fetch app=fan node=1 from=0"), 1);
	for (size_t i = 0; i < fw->nrecs; i++)
		CHECK_EQ(fw->recs[i].r.status, 0);
	fake_destroy(&fw);
}

/*
 * Two nodes that each booted an app cold and made their own template hold
 * two different templates of it (fake.c gives each a checksum, as KVM
 * does). A parent cloned from node X's forks onto node Y: the delta was
 * taken against X's template, which Y must hold before it restores (Y's
 * backend refuses a delta against another template, -ESTALE). Returns
 * the world after both templates are made and the fork ran, or NULL.
 */
static struct fake_world *two_templates_fork(ukf_id_t *parent, ukf_id_t *kid)
{
	struct ukf_engine_config c;
	char err[200];
	struct fake_world *fw;
	ukf_id_t a = 0, b = 0;

	ukf_engine_config_default(&c);
	c.nodes = 2;
	c.node.vcpus = 1;
	c.fetch = UKF_FETCH_COLD; /* each node makes its own */
	fw = fake_create(&c, err, sizeof(err));
	CHECK(fw != NULL);
	if (!fw)
		return NULL;
	fw->check_every_event = 1;
	CHECK_EQ(fake_app(fw, "manual", "init=1ms mem=1M dirty=4"), 0);
	CHECK_EQ(fake_start(fw), 0);
	/* a takes one node's only vCPU, so b boots on the other */
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &a), 0);
	fake_run(fw, fw->now + 100 * UKF_MS);
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &b), 0);
	fake_run(fw, fw->now + 100 * UKF_MS);
	CHECK(fake_template_crc(fw, 0, 0) != 0);
	CHECK(fake_template_crc(fw, 1, 0) != 0);
	CHECK(fake_template_crc(fw, 0, 0) != fake_template_crc(fw, 1, 0));
	fake_exit(fw, a, 0);
	fake_exit(fw, b, 0);
	fake_run(fw, fw->now + 100 * UKF_MS);
	/* p is cloned from its node's template; its node has room for it
	 * only, so its fork goes to the other node */
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, parent), 0);
	fake_run(fw, fw->now + 100 * UKF_MS);
	CHECK_EQ(fake_fork(fw, *parent, 1, kid), 0);
	fake_run(fw, fw->now + UKF_S);
	return fw;
}

/* The fork child runs there, from the parent's template brought over. */
static void t_engine_fork_other_template(void)
{
	ukf_id_t p = 0, k = 0;
	struct fake_world *fw = two_templates_fork(&p, &k);
	const struct fake_rec *rp, *rk;

	if (!fw)
		return;
	fake_exit(fw, k, 0);
	fake_exit(fw, p, 0);
	fake_run(fw, UKF_NS_NEVER);
	rp = fake_rec(fw, p);
	rk = fake_rec(fw, k);
	CHECK(rp && rk);
	if (rp && rk) {
		CHECK_EQ(rp->r.start, UKF_START_TEMPLATE);
		CHECK_EQ(rk->r.start, UKF_START_FORK);
		CHECK(rk->r.node != rp->r.node);
		CHECKF(rk->r.status == 0, "fork child failed: %s", rk->why);
		CHECK_EQ(rk->r.template_fetched, 1);
	}
	/* brought before the restore, not after a refusal */
	CHECK_EQ(fw->stale_refusals, 0);
	CHECK_EQ(fake_log_count(fw, "template-replace app=manual"), 1);
	CHECK_EQ(fake_template_crc(fw, 0, 0), fake_template_crc(fw, 1, 0));
	CHECK(!fw->overcommit);
	fake_destroy(&fw);
}

/*
 * The engine believes the target holds the delta's template but the
 * backend holds another (changed outside the engine): the restore is
 * refused with -ESTALE and the engine recovers - it brings the parent's
 * template and restores again - instead of failing the fork.
 */
static void t_engine_fork_stale_recovered(void)
{
	ukf_id_t p = 0, k = 0, p2 = 0, k2 = 0;
	struct fake_world *fw = two_templates_fork(&p, &k);
	const struct fake_rec *rp, *rk;
	ukf_node_id_t other;
	int idx = -1;

	if (!fw)
		return;
	fake_exit(fw, k, 0);
	fake_exit(fw, p, 0);
	fake_run(fw, fw->now + 100 * UKF_MS);
	rp = fake_rec(fw, p);
	CHECK(rp != NULL);
	if (!rp) {
		fake_destroy(&fw);
		return;
	}
	/* the other node's template changes behind the engine's back */
	other = rp->r.node ? 0 : 1;
	for (size_t i = 0; i < fw->ntemplates; i++)
		if (fw->templates[i] == ((uint64_t)other << 32 | 0) + 1)
			idx = (int)i;
	CHECK(idx >= 0);
	if (idx >= 0)
		fw->tcrc[idx] = 0xdead;
	/* the same again: a parent from its node's template forks there */
	CHECK_EQ(fake_spawn(fw, rp->r.node, 0, "", 0, &p2), 0);
	fake_run(fw, fw->now + 100 * UKF_MS);
	CHECK_EQ(fake_fork(fw, p2, 2, &k2), 0);
	fake_run(fw, fw->now + UKF_S);
	fake_exit(fw, k2, 0);
	fake_exit(fw, p2, 0);
	fake_run(fw, UKF_NS_NEVER);
	rk = fake_rec(fw, k2);
	CHECK(rk != NULL);
	if (rk) {
		CHECK_EQ(rk->r.node, other);
		CHECKF(rk->r.status == 0, "fork child failed: %s", rk->why);
	}
	CHECK_EQ(fw->stale_refusals, 1);
	CHECK_EQ(fake_log_count(fw, "template-stale app=manual"), 1);
	CHECK(!fw->overcommit);
	fake_destroy(&fw);
}

/* Start one manual instance on node 0 and run until it is ready. */
static ukf_id_t manual_parent(struct fake_world *fw)
{
	ukf_id_t p;

	CHECK(fake_app(fw, "manual", "init=1ms mem=1M") >= 0);
	fake_start(fw);
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &p), 0);
	fake_run(fw, 100 * UKF_MS);
	return p;
}

/*
 * ukf_record.dirty_pages is the count at exit in every world: a fork
 * child's row holds what its EXIT reports (not 0, not its parent's), a
 * parent's row its own count at exit, and an EXIT without a count (0)
 * keeps the last one reported (the fork call's).
 */
static void t_engine_exit_dirty(void)
{
	struct fake_world *fw = world(1, 16, "local", "on-demand");
	ukf_id_t p = manual_parent(fw), c1, c2;
	struct fake_inst *fp = &fw->inst[p];

	fake_fork_dirty(fw, p, 40);
	fake_run(fw, fw->now + 10 * UKF_MS);
	c1 = (ukf_id_t)fp->last_ret;
	CHECK(c1 > p);
	fake_fork_dirty(fw, p, 41);
	fake_run(fw, fw->now + 10 * UKF_MS);
	c2 = (ukf_id_t)fp->last_ret;
	CHECK(c2 > c1);
	fake_exit_dirty(fw, c1, 0, 40 + 64);
	fake_exit_dirty(fw, c2, 0, 0);
	fake_exit_dirty(fw, p, 0, 0);
	fake_run(fw, fw->now + 10 * UKF_MS);
	const struct fake_rec *r1 = fake_rec(fw, c1), *r2 = fake_rec(fw, c2),
			      *rp = fake_rec(fw, p);
	CHECK(r1 && r2 && rp);
	if (!r1 || !r2 || !rp) {
		fake_destroy(&fw);
		return;
	}
	CHECK_EQ(r1->r.parent, p);
	CHECK_EQ(r1->r.dirty_pages, 104); /* the child's own, at exit */
	CHECK_EQ(r2->r.dirty_pages, 0);	  /* not reported: none */
	CHECK_EQ(rp->r.dirty_pages, 41);  /* the last fork call's */

	/* a parent whose EXIT carries a count: that one */
	ukf_id_t q;
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &q), 0);
	fake_run(fw, fw->now + 100 * UKF_MS);
	fake_fork_dirty(fw, q, 7);
	fake_run(fw, fw->now + 10 * UKF_MS);
	ukf_id_t c3 = (ukf_id_t)fw->inst[q].last_ret;
	CHECK(c3 > q);
	fake_exit_dirty(fw, c3, 0, 9);
	fake_exit_dirty(fw, q, 0, 12);
	fake_run(fw, fw->now + 10 * UKF_MS);
	CHECK(fake_rec(fw, q) && fake_rec(fw, c3));
	if (fake_rec(fw, q) && fake_rec(fw, c3)) {
		CHECK_EQ(fake_rec(fw, q)->r.dirty_pages, 12);
		CHECK_EQ(fake_rec(fw, c3)->r.dirty_pages, 9);
	}
	fake_destroy(&fw);
}

static void t_engine_wait(void)
{
	struct fake_world *fw = world(1, 16, "local", "on-demand");
	ukf_id_t p = manual_parent(fw), c1, c2;
	struct fake_inst *fp = &fw->inst[p];

	/* wait for an unknown id, and for any with no children */
	fake_call(fw, p, UKF_CALL_WAIT, 12345, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_ret, -UKF_ECHILD);
	fake_call(fw, p, UKF_CALL_WAIT, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_ret, -UKF_ECHILD);

	/* fork two children */
	fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + 10 * UKF_MS);
	c1 = (ukf_id_t)fp->last_ret;
	CHECK(c1 > p);
	CHECK_EQ(fw->inst[c1].last_ret, 0); /* fork() == 0 in the child */
	fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + 10 * UKF_MS);
	c2 = (ukf_id_t)fp->last_ret;
	CHECK(c2 > c1);

	/* wait with a deadline that passes */
	fake_call(fw, p, UKF_CALL_WAIT, c1, fw->now + 5 * UKF_MS, NULL, 0,
		  NULL);
	fake_run(fw, fw->now + 10 * UKF_MS);
	CHECK_EQ(fp->last_ret, -UKF_ETIMEDOUT);

	/* a blocked wait returns when the child exits */
	int before = fp->ncomplete;
	fake_call(fw, p, UKF_CALL_WAIT, c1, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + 10 * UKF_MS);
	CHECK_EQ(fp->ncomplete, before); /* still blocked */
	fake_exit(fw, c1, 7);
	fake_run(fw, fw->now + 10 * UKF_MS);
	CHECK_EQ(fp->last_ret, (int64_t)c1);
	CHECK_EQ(fp->last_status, 7);
	/* reaping twice fails */
	fake_call(fw, p, UKF_CALL_WAIT, c1, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_ret, -UKF_ECHILD);
	/* an exited child is reaped at once by "any" */
	fake_exit(fw, c2, 3);
	fake_run(fw, fw->now + UKF_MS);
	fake_call(fw, p, UKF_CALL_WAIT, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_ret, (int64_t)c2);
	CHECK_EQ(fp->last_status, 3);

	/* parent exits before its child: the child lives on, its exit is an
	 * orphan's, and both have rows */
	fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + 10 * UKF_MS);
	ukf_id_t c3 = (ukf_id_t)fp->last_ret;
	fake_exit(fw, p, 0);
	fake_run(fw, fw->now + 10 * UKF_MS);
	CHECK(fake_rec(fw, p) != NULL);
	CHECK_EQ(fake_alive(fw), 1);
	fake_exit(fw, c3, 1);
	fake_run(fw, UKF_NS_NEVER);
	CHECK(fake_rec(fw, c3) != NULL && fake_rec(fw, c3)->r.status == 1);
	CHECK_EQ(fake_log_count(fw, "orphan-exit"), 1);
	CHECK_EQ(fake_alive(fw), 0);
	fake_destroy(&fw);
}

/*
 * A request whose answer does not come in time fails (the workload hears
 * why), and the instance its target starts anyway is killed: a late READY
 * gets a KILL, its FAIL is dropped, nothing runs on, nothing is reported
 * twice.
 */
static void t_engine_answer_timeout(void)
{
	struct ukf_engine_config c;
	char err[200];
	ukf_id_t a, b;

	ukf_engine_config_default(&c);
	c.nodes = 2;
	c.node.vcpus = 1;
	c.placement = "least-loaded";
	c.answer_timeout_ns = 5 * UKF_MS;
	struct fake_world *fw = fake_create(&c, err, sizeof(err));
	CHECK(fake_app(fw, "manual", "init=1ms mem=1M") >= 0);
	fake_start(fw);
	/* one instance fills node 0; the next must go to node 1 */
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 1, &a), 0);
	fake_run(fw, 100 * UKF_MS);
	CHECK_EQ(fake_alive(fw), 1);
	/* node 1 never hears: the origin gives the request up */
	fw->drop_to = 1u << 1;
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 2, &b), 0);
	fake_run(fw, fw->now + 50 * UKF_MS);
	const struct fake_rec *r = fake_rec(fw, b);
	CHECK(r && r->r.status == UKF_STATUS_FAILED &&
	      strstr(r->why, "no answer from node 1 within 0.005 s"));
	CHECK_EQ(fw->fail_hooks, 1);
	CHECK_EQ(fake_log_count(fw, "timeout"), 1);
	/* node 1 hears, but its answers are late: the instance it starts
	 * (here while it waits for a template) is killed by the KILL that
	 * follows the timeout, and its FAIL is dropped */
	fw->drop_to = 0;
	fw->delay_to[0] = 20 * UKF_MS;
	ukf_id_t late;
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 3, &late), 0);
	fake_run(fw, fw->now + 200 * UKF_MS);
	CHECK_EQ(fw->fail_hooks, 2); /* once, at the timeout */
	CHECK_EQ(fw->ready_hooks, 1); /* only a's */
	CHECK_EQ(fake_log_count(fw, "reason=killed"), 1);
	CHECK_EQ(fake_log_count(fw, "its request was given up"), 1);
	CHECK_EQ(fake_alive(fw), 1); /* a only */
	/* now node 1 holds the template: the next one starts at once and its
	 * READY arrives after the timeout: answered with a KILL */
	ukf_id_t later;
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 4, &later), 0);
	fake_run(fw, fw->now + 200 * UKF_MS);
	CHECK_EQ(fake_log_count(fw, "answered too late"), 1);
	CHECK_EQ(fake_log_count(fw, "its request was given up"), 2);
	CHECK_EQ(fw->fail_hooks, 3);
	CHECK_EQ(fw->ready_hooks, 1);
	CHECK_EQ(fake_alive(fw), 1);
	struct ukf_node_stats st;
	CHECK_EQ(fake_stats(fw, 1, &st), 0);
	CHECK_EQ(st.instances, 0);
	CHECK(!fw->overcommit);
	fake_destroy(&fw);
}

/*
 * A lost peer: requests in flight there are placed again, a child that ran
 * there ends as failed for its parent's wait(), a workload instance that
 * ran there gets its row and on_fail, a template fetch from it falls back
 * to booting the template here.
 */
static void t_engine_peer_lost(void)
{
	struct fake_world *fw = world(3, 1, "least-loaded", "on-demand");
	ukf_id_t p = manual_parent(fw), w;
	struct fake_inst *fp = &fw->inst[p];
	ukf_engine_t *e0 = fake_engine(fw, 0);

	/* node 0 is full (1 vCPU): the fork's child runs elsewhere */
	fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + 50 * UKF_MS);
	ukf_id_t c = (ukf_id_t)fp->last_ret;
	CHECK(c > p);
	int cn = fw->inst[c].node;
	CHECK(cn == 1 || cn == 2);
	/* a workload instance from origin 0 lands on the other node */
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 7, &w), 0);
	fake_run(fw, fw->now + 50 * UKF_MS);
	int wn = fw->inst[w].node;
	CHECK(wn != 0 && wn != cn);
	/* the parent waits for its child; the child's node is lost */
	fake_call(fw, p, UKF_CALL_WAIT, c, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + UKF_MS);
	int before = fp->ncomplete;
	ukf_engine_peer_down(e0, (ukf_node_id_t)cn, "heartbeats stopped");
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->ncomplete, before + 1);
	CHECK_EQ(fp->last_ret, (int64_t)c);
	CHECK_EQ(fp->last_status, UKF_STATUS_FAILED);
	const struct fake_rec *rc = fake_rec(fw, c);
	CHECK(rc && strstr(rc->why, "lost: heartbeats stopped") &&
	      rc->r.start == UKF_START_FORK && rc->r.node == (ukf_node_id_t)cn);
	/* the workload instance's node is lost too */
	uint64_t fails = fw->fail_hooks;
	ukf_engine_peer_down(e0, (ukf_node_id_t)wn, "restarted");
	CHECK_EQ(fw->fail_hooks, fails + 1);
	const struct fake_rec *rw = fake_rec(fw, w);
	CHECK(rw && rw->r.status == UKF_STATUS_FAILED &&
	      strstr(rw->why, "lost: restarted"));
	/* losing a node again, or itself, or one out of range: nothing */
	ukf_engine_peer_down(e0, (ukf_node_id_t)wn, "again");
	ukf_engine_peer_down(e0, 0, "self");
	ukf_engine_peer_down(e0, 99, "nonsense");
	CHECK_EQ(fw->fail_hooks, fails + 1);
	fake_destroy(&fw);

	/* a request in flight to a lost node is placed again */
	fw = world(2, 1, "least-loaded", "on-demand");
	ukf_id_t a, b;
	CHECK(fake_app(fw, "manual", "init=1ms mem=1M") >= 0);
	fake_start(fw);
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 1, &a), 0);
	fake_run(fw, 100 * UKF_MS);
	fw->drop_to = 1u << 1;
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 2, &b), 0);
	fake_run(fw, fw->now + UKF_MS);
	int retries = fake_log_count(fw, "retry");
	ukf_engine_peer_down(fake_engine(fw, 0), 1, "gone");
	CHECK_EQ(fake_log_count(fw, "retry"), retries + 1);
	fw->drop_to = 0;
	fake_run(fw, fw->now + 200 * UKF_MS);
	CHECK_EQ(fake_alive(fw), 2); /* b landed on a second try */
	fake_destroy(&fw);

	/* a template fetch from a lost node: booted here instead */
	fw = world(2, 4, "least-loaded", "on-demand");
	CHECK(fake_app(fw, "web", "init=10ms work=100ms mem=1M") >= 0);
	fake_start(fw);
	CHECK_EQ(fake_spawn(fw, 1, 0, "", 1, &a), 0);
	fake_run(fw, 500 * UKF_MS); /* node 1 holds web's template */
	fw->drop_to = 1u << 1;	     /* node 0's TFETCH will get no answer */
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 2, &b), 0);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fake_log_count(fw, "template-fetch app=web node=0 from=1"), 1);
	ukf_engine_peer_down(fake_engine(fw, 0), 1, "gone");
	fw->drop_to = 0;
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fake_log_count(fw, "template-fetch-failed app=web node=0 from=1"), 1);
	CHECK(fake_rec(fw, b) && fake_rec(fw, b)->r.status == 0);
	fake_destroy(&fw);
}

static void t_engine_capacity(void)
{
	/* 2 nodes x 2 vCPUs; 6 instances that never exit: 4 run, 2 fail. */
	struct ukf_engine_config c;
	char err[200];
	struct fake_world *fw;
	ukf_id_t id[6];

	ukf_engine_config_default(&c);
	c.nodes = 2;
	c.node.vcpus = 2;
	c.max_retries = 5;
	c.retry_ns = UKF_MS;
	fw = fake_create(&c, err, sizeof(err));
	fw->dir_delay = 3 * UKF_MS; /* stale views: targets must re-check */
	fake_app(fw, "manual", "init=1ms mem=1M");
	fake_start(fw);
	fake_run(fw, 10 * UKF_MS);
	for (int i = 0; i < 6; i++)
		CHECK_EQ(fake_spawn(fw, (ukf_node_id_t)(i % 2), 0, "",
					  0, &id[i]),
			 0);
	fake_run(fw, UKF_NS_NEVER);
	CHECK(!fw->overcommit);
	CHECK_EQ(fake_alive(fw), 4);
	CHECK_EQ(fw->fail_hooks, 2);
	CHECK_EQ(fw->nrecs, 2);
	for (size_t i = 0; i < fw->nrecs; i++) {
		CHECK(strstr(fw->recs[i].why, "no capacity after"));
		CHECK_EQ(fw->recs[i].r.status, UKF_STATUS_FAILED);
		CHECK_EQ(fw->recs[i].r.node, UKF_NODE_NONE);
	}
	CHECK(fake_log_count(fw, "nack ") >= 1); /* stale view caught */
	struct ukf_node_stats s;
	fake_stats(fw, 0, &s);
	CHECK_EQ(s.vcpus_used, 2);
	CHECK_EQ(s.instances, 2);
	/* the rows of the living are written at destroy */
	fake_destroy(&fw);
}

/* Per-node capacities are honoured. */
static void t_engine_per_node(void)
{
	struct ukf_engine_config c;
	struct ukf_node_config pn[3] = {
	    {1, 1ULL << 30, 1ULL << 30},
	    {3, 1ULL << 30, 1ULL << 30},
	    {2, 4ULL << 20, 1ULL << 30}, /* memory for 2 x 2M only */
	};
	char err[200];
	struct fake_world *fw;
	struct ukf_node_stats s;
	ukf_id_t id;

	ukf_engine_config_default(&c);
	c.nodes = 3;
	c.per_node = pn;
	c.max_retries = 3;
	c.retry_ns = UKF_MS;
	fw = fake_create(&c, err, sizeof(err));
	fake_app(fw, "manual", "init=1ms mem=2M");
	fake_start(fw);
	fake_run(fw, UKF_MS);
	for (int i = 0; i < 8; i++) {
		fake_spawn(fw, 0, 0, "", 0, &id);
		fake_run(fw, fw->now + 5 * UKF_MS);
	}
	fake_run(fw, UKF_NS_NEVER);
	CHECK(!fw->overcommit);
	CHECK_EQ(fake_alive(fw), 6); /* 1 + 3 + 2 */
	CHECK_EQ(fw->fail_hooks, 2);
	fake_stats(fw, 1, &s);
	CHECK_EQ(s.vcpus, 3);
	CHECK_EQ(s.vcpus_used, 3);
	fake_stats(fw, 2, &s);
	CHECK_EQ(s.mem_used, 4ULL << 20);
	fake_destroy(&fw);
	/* a node without capacity is refused at creation */
	pn[1].vcpus = 0;
	CHECK(fake_create(&c, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "node 1"));
}

static void t_engine_fork_bomb(void)
{
	struct ukf_engine_config c;
	char err[200];
	struct fake_world *fw;
	int eagain = 0, ok = 0;

	ukf_engine_config_default(&c);
	c.nodes = 1;
	c.node.vcpus = 1000;
	c.max_children = 5;
	c.placement = "local";
	fw = fake_create(&c, err, sizeof(err));
	ukf_id_t p = manual_parent(fw);
	for (int i = 0; i < 8; i++) {
		fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
		fake_run(fw, fw->now + 10 * UKF_MS);
		if (fw->inst[p].last_ret == -UKF_EAGAIN)
			eagain++;
		else if (fw->inst[p].last_ret > 0)
			ok++;
	}
	CHECK_EQ(ok, 5);
	CHECK_EQ(eagain, 3);
	CHECK_EQ(fake_alive(fw), 6);
	/* reaping one frees a slot */
	fake_exit(fw, p + 1, 0);
	fake_call(fw, p, UKF_CALL_WAIT, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + 10 * UKF_MS);
	fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + 10 * UKF_MS);
	CHECK(fw->inst[p].last_ret > 0);
	fake_destroy(&fw);

	/* a runaway synth (fork=50 per unit) is stopped, never crashes */
	ukf_engine_config_default(&c);
	c.nodes = 2;
	c.node.vcpus = 8;
	c.max_children = 4;
	c.max_retries = 3;
	fw = fake_create(&c, err, sizeof(err));
	fake_app(fw, "bomb", "init=1ms work=1ms fork=50 units=2");
	fake_start(fw);
	ukf_id_t b;
	fake_spawn(fw, 0, 0, "", 0, &b);
	fake_run(fw, UKF_NS_NEVER);
	CHECK(!fw->overcommit);
	CHECK_EQ(fake_rec(fw, b)->r.status, 0);
	CHECK(fake_log_count(fw, "limit ") > 0);
	fake_destroy(&fw);
}

static void t_engine_messages(void)
{
	struct fake_world *fw = world(2, 1, "least-loaded", "on-demand");
	ukf_id_t p = manual_parent(fw), c;
	struct fake_inst *fp = &fw->inst[p];
	char big[UKF_MSG_MAX + 1];

	/* remote child (1 vCPU per node) */
	fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + 100 * UKF_MS);
	c = (ukf_id_t)fp->last_ret;
	CHECK(c > 0);
	CHECK_EQ(fw->inst[c].node, 1);
	/* child -> parent across nodes; parent was blocked in recv */
	fake_call(fw, p, UKF_CALL_RECV, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + UKF_MS);
	fake_call(fw, c, UKF_CALL_SEND, p, 0, "hello", 5, NULL);
	fake_run(fw, fw->now + 10 * UKF_MS);
	CHECK_EQ(fw->inst[c].last_ret, 0);
	CHECK_EQ(fp->last_ret, 5);
	CHECK_EQ(fp->last_src, c);
	CHECK(!memcmp(fp->last_data, "hello", 5));
	/* parent -> child, queued, then block sees it, recv takes it */
	fake_call(fw, p, UKF_CALL_SEND, c, 0, "abc", 3, NULL);
	fake_run(fw, fw->now + 10 * UKF_MS);
	fake_call(fw, c, UKF_CALL_BLOCK, 0, fw->now + UKF_S, NULL, 0, NULL);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fw->inst[c].last_ret, 1);
	fake_call(fw, c, UKF_CALL_RECV, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fw->inst[c].last_ret, 3);
	/* recv and block time out */
	fake_call(fw, c, UKF_CALL_RECV, 0, fw->now + 2 * UKF_MS, NULL, 0, NULL);
	fake_run(fw, fw->now + 10 * UKF_MS);
	CHECK_EQ(fw->inst[c].last_ret, -UKF_ETIMEDOUT);
	fake_call(fw, c, UKF_CALL_BLOCK, 0, fw->now + 2 * UKF_MS, NULL, 0,
		  NULL);
	fake_run(fw, fw->now + 10 * UKF_MS);
	CHECK_EQ(fw->inst[c].last_ret, 0);
	/* bad sends */
	memset(big, 'x', sizeof(big));
	fake_call(fw, p, UKF_CALL_SEND, c, 0, big, sizeof(big), NULL);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_ret, -UKF_EMSGSIZE);
	fake_call(fw, p, UKF_CALL_SEND, 999, 0, "x", 1, NULL);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_ret, -UKF_ESRCH);
	/* spawn of an unknown app; unknown call number */
	fake_call(fw, p, UKF_CALL_SPAWN, 0, 0, "", 0, "nosuchapp");
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_ret, -UKF_ENOENT);
	fake_call(fw, p, (enum ukf_call)42, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_ret, -UKF_ENOSYS);
	fake_destroy(&fw);

	/* queue limit on one node */
	struct ukf_engine_config cf;
	char err[200];
	ukf_engine_config_default(&cf);
	cf.max_queue = 2;
	cf.placement = "local";
	fw = fake_create(&cf, err, sizeof(err));
	p = manual_parent(fw);
	fp = &fw->inst[p];
	fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + 10 * UKF_MS);
	c = (ukf_id_t)fp->last_ret;
	for (int i = 0; i < 3; i++) {
		fake_call(fw, p, UKF_CALL_SEND, c, 0, "m", 1, NULL);
		fake_run(fw, fw->now + UKF_MS);
		CHECK_EQ(fp->last_ret, i < 2 ? 0 : -UKF_EAGAIN);
	}
	/* guest spawn of another app from inside */
	fake_app(fw, "manual2", "init=1ms");
	fake_call(fw, p, UKF_CALL_SPAWN, 0, 0, "k=v", 3, "manual2");
	fake_run(fw, fw->now + 100 * UKF_MS);
	CHECK(fp->last_ret > (int64_t)c);
	fake_destroy(&fw);
}

static void t_engine_prewarm(void)
{
	struct ukf_engine_config c;
	char err[200];
	struct fake_world *fw;
	ukf_id_t id;
	char names[64];

	ukf_engine_config_default(&c);
	c.nodes = 2;
	c.templates = "prewarm";
	c.prewarm_k = 1;
	c.placement = "local";
	fw = fake_create(&c, err, sizeof(err));
	fake_app(fw, "a", "init=50ms units=0");
	fake_app(fw, "b", "init=50ms units=0");
	fake_start(fw);
	fake_run(fw, UKF_S);
	for (uint32_t n = 0; n < 2; n++) {
		fake_templates(fw, n, names, sizeof(names));
		CHECK(!strcmp(names, "a"));
	}
	CHECK_EQ(fake_log_count(fw, "prewarm app=a"), 2);
	/* b gets requested more than a on node 1: b is prewarmed there */
	fake_spawn(fw, 1, 1, "", 0, &id);
	fake_run(fw, fw->now + UKF_S);
	CHECK_EQ(fake_rec(fw, id)->r.start, UKF_START_TEMPLATE);
	fake_templates(fw, 1, names, sizeof(names));
	CHECK(!strcmp(names, "a,b"));
	fake_templates(fw, 0, names, sizeof(names));
	CHECK(!strcmp(names, "a"));
	/* a spawn of an app outside the top-K boots cold (a: 2, b: 1) */
	fake_spawn(fw, 0, 0, "", 0, &id);
	fake_spawn(fw, 0, 0, "", 0, &id);
	fake_run(fw, fw->now + UKF_S);
	CHECK_EQ(fake_rec(fw, id)->r.start, UKF_START_TEMPLATE);
	fake_spawn(fw, 0, 1, "", 0, &id);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fake_rec(fw, id)->r.start, UKF_START_COLD);
	fake_destroy(&fw);
}

static void t_engine_cache_budget(void)
{
	struct ukf_engine_config c;
	char err[200];
	struct fake_world *fw;
	ukf_id_t id;

	ukf_engine_config_default(&c);
	c.node.cache_bytes = 3ULL << 20; /* room for one 2M template */
	fw = fake_create(&c, err, sizeof(err));
	fake_app(fw, "a", "init=10ms mem=2M units=0");
	fake_app(fw, "b", "init=10ms mem=2M units=0");
	fake_app(fw, "huge", "init=10ms mem=8M units=0");
	fake_start(fw);
	fake_spawn(fw, 0, 0, "", 0, &id);
	fake_run(fw, UKF_S);
	fake_spawn(fw, 0, 1, "", 0, &id);
	fake_run(fw, 2 * UKF_S);
	char names[64];
	fake_templates(fw, 0, names, sizeof(names));
	CHECK(!strcmp(names, "b"));
	CHECK_EQ(fake_log_count(fw, "template-evict app=a"), 1);
	/* a template larger than the whole cache is dropped, app still runs */
	fake_spawn(fw, 0, 2, "", 0, &id);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fake_rec(fw, id)->r.status, 0);
	CHECK_EQ(fake_log_count(fw, "template-drop app=huge"), 1);
	struct ukf_node_stats s;
	fake_stats(fw, 0, &s);
	CHECK(s.cache_used <= s.cache);
	CHECK_EQ(s.evictions, 1);
	CHECK(!fw->overcommit);
	fake_destroy(&fw);
}

static void t_engine_bad_input(void)
{
	struct ukf_engine_config c;
	char err[300];
	struct fake_world *fw;
	ukf_id_t id;

	ukf_engine_config_default(&c);
	c.placement = "nearest";
	CHECK(fake_create(&c, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "nearest") && strstr(err, "least-loaded"));
	c.placement = NULL;
	c.templates = "always";
	CHECK(fake_create(&c, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "always") && strstr(err, "on-demand"));
	c.templates = NULL;
	c.nodes = 0;
	CHECK(fake_create(&c, err, sizeof(err)) == NULL);
	c.nodes = 1;
	c.node.vcpus = 0;
	CHECK(fake_create(&c, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "capacity"));

	fw = world(2, 4, "least-loaded", "on-demand");
	CHECK_EQ(fake_app(fw, "web", ""), 0);
	CHECK_EQ(fake_app(fw, "web", ""), -1); /* duplicate */
	CHECK_EQ(ukf_apps_find(fw->apps, "web"), 0);
	CHECK_EQ(ukf_apps_find(fw->apps, "nope"), -1);
	CHECK(ukf_apps_get(fw->apps, 5) == NULL);
	fake_start(fw);
	CHECK_EQ(fake_start(fw), -22);
	CHECK(fake_spawn(fw, 0, 9, "", 0, &id) < 0);
	CHECK(fake_spawn(fw, 7, 0, "", 0, &id) < 0);
	CHECK(fake_kill(fw, 999) < 0);
	CHECK(fake_fork(fw, 999, 0, &id) < 0);
	/* garbage on the wire, events for unknown instances: logged, ignored */
	fake_raw_message(fw, 0, 1, UKF_MSG_SPAWN, "garbage", 7);
	fake_raw_message(fw, 0, 1, UKF_MSG_SPAWN, NULL, 0);
	fake_raw_message(fw, 99, 1, UKF_MSG_SPAWN, "x", 1);
	unsigned char buf[200];
	struct ukf_msg m = {.type = UKF_MSG_SPAWN, .id = 77,
			    .app_name = "nope", .app_name_len = 4};
	size_t n = ukf_msg_encode(&m, buf, sizeof(buf));
	fake_raw_message(fw, 0, 1, UKF_MSG_SPAWN, buf, n); /* unknown app */
	CHECK(fake_log_count(fw, "unknown app 'nope'") == 1);
	m.app_name = "web";
	m.app_name_len = 3;
	m.app_digest = 0x1234; /* another image of "web" */
	n = ukf_msg_encode(&m, buf, sizeof(buf));
	fake_raw_message(fw, 0, 1, UKF_MSG_SPAWN, buf, n);
	CHECK(fake_log_count(fw, "app 'web' differs here") == 1);
	fake_raw_message(fw, 0, 42, UKF_MSG_SPAWN, buf, n); /* bad sender */
	m.type = UKF_MSG_NACK;
	n = ukf_msg_encode(&m, buf, sizeof(buf));
	fake_raw_message(fw, 0, 1, UKF_MSG_NACK, buf, n); /* NACK for nothing */
	struct ukf_be_event ev = {.kind = UKF_BE_READY, .inst = 4242};
	ukf_engine_on_backend(fake_engine(fw, 0), 0, &ev);
	ev.kind = UKF_BE_TEMPLATE;
	ev.app = 1000;
	ukf_engine_on_backend(fake_engine(fw, 0), 0, &ev);
	/* an event or timer for another node than the engine's: ignored */
	ukf_engine_on_backend(fake_engine(fw, 0), 5, &ev);
	ukf_engine_on_backend(fake_engine(fw, 0), 0, NULL);
	ukf_engine_on_timer(fake_engine(fw, 0), 0, 0x1000000000000063ULL);
	ukf_engine_on_timer(fake_engine(fw, 0), 77, 1);
	CHECK(fake_log_count(fw, "drop message") >= 2);
	CHECK(fake_log_count(fw, "drop ") >= 6);
	/* still works afterwards */
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &id), 0);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fake_rec(fw, id)->r.status, 0);
	/* a backend that refuses to start an instance fails it cleanly */
	fw->fail_clone_template = 1;
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &id), 0);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fake_rec(fw, id)->r.status, UKF_STATUS_FAILED);
	CHECK(strstr(fake_rec(fw, id)->why, "clone_template"));
	CHECK_EQ(fake_alive(fw), 0);
	fake_destroy(&fw);
	ukf_engine_destroy(NULL);
}

static void t_engine_kill_and_destroy(void)
{
	struct fake_world *fw = world(1, 8, "least-loaded", "on-demand");
	ukf_id_t a, b;

	fake_app(fw, "manual", "init=1ms");
	fake_start(fw);
	fake_spawn(fw, 0, 0, "", 0, &a);
	fake_spawn(fw, 0, 0, "", 0, &b);
	fake_run(fw, UKF_S);
	CHECK_EQ(fake_alive(fw), 2);
	CHECK_EQ(fake_kill(fw, a), 0);
	CHECK_EQ(fake_alive(fw), 1);
	CHECK(!strcmp(fake_rec(fw, a)->why, "killed"));
	CHECK_EQ(fw->fail_hooks, 1);
	CHECK_EQ(fake_kill(fw, a), -3);
	/* external fork of a running instance */
	ukf_id_t f;
	CHECK_EQ(fake_fork(fw, b, 9, &f), 0);
	fake_run(fw, 2 * UKF_S);
	CHECK_EQ(fake_alive(fw), 2);
	ukf_engine_destroy(&fw->eng[0]);
	CHECK(fw->eng[0] == NULL);
	/* rows for the two still alive, marked running */
	const struct fake_rec *rb = fake_rec(fw, b), *rf = fake_rec(fw, f);
	CHECK(rb && rf);
	if (rb && rf) {
		CHECK_EQ(rb->r.status, UKF_STATUS_RUNNING);
		CHECK_EQ(rb->r.t_exit, UKF_NS_NEVER);
		CHECK_EQ(rf->r.start, UKF_START_FORK);
		CHECK_EQ(rf->r.parent, b);
	}
	fake_destroy(&fw);
}

/* Same inputs, same event log, byte for byte. */
static char *run_log(const char *placement)
{
	struct fake_world *fw = world(6, 2, placement, "on-demand");
	ukf_id_t id;
	char *copy;

	fake_app(fw, "fan", "init=20ms work=3ms fork=3 units=2 mem=1M");
	fake_app(fw, "web", "init=40ms work=1ms mem=2M");
	fake_start(fw);
	for (int i = 0; i < 10; i++) {
		fake_spawn(fw, (ukf_node_id_t)(i % 6),
				 (uint32_t)(i % 2), "", (uint64_t)i, &id);
		fake_run(fw, fw->now + 7 * UKF_MS);
	}
	fake_run(fw, UKF_NS_NEVER);
	CHECK(!fw->overcommit);
	CHECK_EQ(fake_alive(fw), 0);
	for (size_t i = 0; i < fw->nrecs; i++)
		CHECK_EQ(fw->recs[i].r.status, 0);
	copy = strdup(fw->log ? fw->log : "");
	fake_destroy(&fw);
	return copy;
}

static void t_engine_deterministic(void)
{
	static const char *const pol[] = {"local",	  "random",
					  "round-robin",  "least-loaded",
					  "power-of-two", "template-affinity"};

	for (size_t i = 0; i < sizeof(pol) / sizeof(pol[0]); i++) {
		char *a = run_log(pol[i]), *b = run_log(pol[i]);
		CHECK(a && b && strlen(a) > 100 && !strcmp(a, b));
		free(a);
		free(b);
	}
}

/* With an empty or stale view the origin still places on itself when it
 * knows it has room; without room the request waits for a view. */
static void t_engine_origin_knows_itself(void)
{
	struct fake_world *fw = world(3, 1, "least-loaded", "on-demand");
	ukf_id_t a, b;

	fw->dir_delay = 50 * UKF_MS; /* nothing published is seen yet */
	fake_app(fw, "manual", "init=1ms");
	fake_start(fw);
	fake_spawn(fw, 2, 0, "", 0, &a);
	fake_run(fw, 10 * UKF_MS);
	CHECK_EQ(fake_log_count(fw, "place 1 app=manual origin=2 -> node=2 "
				    "attempt=1"),
		 1);
	CHECK_EQ(fake_log_count(fw, "noplace"), 0);
	/* node 2 is now full and the view still empty: b must wait */
	fake_spawn(fw, 2, 0, "", 0, &b);
	fake_run(fw, 20 * UKF_MS);
	CHECK(fake_log_count(fw, "noplace 2") >= 1);
	fake_run(fw, UKF_S);
	CHECK(fw->inst[b].used && fw->inst[b].node != 2);
	CHECK(!fw->overcommit);
	fake_destroy(&fw);
}

/* A blocked instance runs no vCPU: a 1-vCPU node still runs a parent that
 * forks and waits, and parents waiting on a full cluster do not starve
 * their children; a vCPU is taken back before the parent resumes. */
static void t_engine_blocked_vcpus(void)
{
	struct fake_world *fw = world(1, 1, "least-loaded", "on-demand");
	ukf_id_t a;

	fake_app(fw, "fan", "init=10ms work=5ms fork=3 units=2 mem=1M");
	fake_start(fw);
	fake_spawn(fw, 0, 0, "", 0, &a);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fw->nrecs, 7);
	for (size_t i = 0; i < fw->nrecs; i++)
		CHECK_EQ(fw->recs[i].r.status, 0);
	CHECK_EQ(fake_log_count(fw, "noplace"), 0);
	CHECK(!fw->overcommit);
	fake_destroy(&fw);

	/* 2 nodes x 2 vCPUs, 4 parents forking 3 children each */
	fw = world(2, 2, "least-loaded", "on-demand");
	fake_app(fw, "fan", "init=10ms work=5ms fork=3 mem=1M");
	fake_start(fw);
	for (int i = 0; i < 4; i++)
		fake_spawn(fw, (ukf_node_id_t)(i % 2), 0, "", 0, &a);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fw->nrecs, 16);
	for (size_t i = 0; i < fw->nrecs; i++)
		CHECK_EQ(fw->recs[i].r.status, 0);
	CHECK(!fw->overcommit);
	CHECK_EQ(fake_alive(fw), 0);
	fake_destroy(&fw);

	/* a parent paused in fork on a 1-vCPU node gives its vCPU to the
	 * child; the fork's answer waits until the child is gone */
	fw = world(1, 1, "local", "on-demand");
	ukf_id_t p = manual_parent(fw);
	struct fake_inst *fp = &fw->inst[p];
	fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + 10 * UKF_MS);
	ukf_id_t c = p + 1;
	while (c < FAKE_MAX_INST && !fw->inst[c].used)
		c++;
	CHECK(c < FAKE_MAX_INST && fw->inst[c].alive);
	CHECK_EQ(fp->ncomplete, 1); /* only its ready(): fork not answered */
	fake_exit(fw, c, 5);
	fake_run(fw, fw->now + 10 * UKF_MS);
	CHECK_EQ(fp->last_ret, (int64_t)c);
	fake_call(fw, p, UKF_CALL_WAIT, c, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_status, 5);
	CHECK(!fw->overcommit);
	fake_destroy(&fw);
}

/* On a stale view of an idle cluster, equal-load choices spread instead of
 * herding onto one node (and NACK storms). */
static void t_engine_spread_ties(void)
{
	static const char *const pol[] = {"least-loaded", "template-affinity"};

	for (int k = 0; k < 2; k++) {
		struct fake_world *fw = world(4, 1, pol[k], "on-demand");
		ukf_id_t id[4];

		fw->dir_delay = 50 * UKF_MS;
		fake_app(fw, "manual", "init=1ms");
		fake_start(fw);
		fake_run(fw, 60 * UKF_MS); /* idle records seen by all */
		for (int i = 0; i < 4; i++)
			fake_spawn(fw, 0, 0, "", 0, &id[i]);
		fake_run(fw, 100 * UKF_MS);
		CHECK_EQ(fake_log_count(fw, "nack "), 0);
		int used[4] = {0};
		for (int i = 0; i < 4; i++)
			if (fw->inst[id[i]].used)
				used[fw->inst[id[i]].node]++;
		for (int n = 0; n < 4; n++)
			CHECK_EQ(used[n], 1);
		fake_destroy(&fw);
	}
}

/* A guest that never calls ready() does not hold up other spawns. */
static void t_engine_never_ready(void)
{
	struct fake_world *fw = world(1, 8, "least-loaded", "on-demand");
	ukf_id_t a, b, c;

	fake_app(fw, "noready", "init=10ms");
	fake_start(fw);
	fake_spawn(fw, 0, 0, "", 0, &a);
	fake_run(fw, 5 * UKF_MS);
	/* within the grace (2 x init + 10ms) it waits for the template ... */
	fake_spawn(fw, 0, 0, "", 0, &b);
	fake_run(fw, 20 * UKF_MS);
	CHECK_EQ(fake_log_count(fw, "wait-template"), 1);
	CHECK(!fw->inst[b].used);
	/* ... then is released to boot cold; later spawns boot cold at once */
	fake_run(fw, 100 * UKF_MS);
	CHECK_EQ(fake_log_count(fw, "template-slow app=noready"), 1);
	CHECK(fw->inst[b].used && fw->inst[b].alive);
	fake_spawn(fw, 0, 0, "", 0, &c);
	fake_run(fw, UKF_S);
	CHECK(fw->inst[c].used && fw->inst[c].alive);
	CHECK_EQ(fake_log_count(fw, "wait-template"), 1);
	CHECK_EQ(fake_log_count(fw, "via=cold+template"), 1);
	CHECK_EQ(fake_log_count(fw, "via=cold"), 3);
	fake_exit(fw, a, 0);
	fake_exit(fw, b, 0);
	fake_exit(fw, c, 0);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fake_log_count(fw, "template-drop app=noready"), 1);
	CHECK_EQ(fake_rec(fw, a)->r.t_ready, UKF_NS_NEVER);
	CHECK_EQ(fake_rec(fw, b)->r.status, 0);
	CHECK_EQ(fake_alive(fw), 0);
	fake_destroy(&fw);
}

/* A child that fails before it ever runs makes fork() fail in the parent. */
static void t_engine_fork_fails(void)
{
	for (int remote = 0; remote < 2; remote++) {
		struct fake_world *fw = world(remote ? 2 : 1, remote ? 1 : 8,
					      "least-loaded", "on-demand");
		ukf_id_t p = manual_parent(fw), c;
		struct fake_inst *fp = &fw->inst[p];

		if (remote)
			fw->fail_restore = 1;
		else
			fw->fail_clone_live = 1;
		fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
		fake_run(fw, fw->now + 100 * UKF_MS);
		CHECK_EQ(fp->last_ret, -UKF_EAGAIN);
		CHECK_EQ(fp->pause, 0); /* answered, not left paused */
		/* no child left to wait for */
		fake_call(fw, p, UKF_CALL_WAIT, 0, 0, NULL, 0, NULL);
		fake_run(fw, fw->now + UKF_MS);
		CHECK_EQ(fp->last_ret, -UKF_ECHILD);
		/* the failed child has a row saying why */
		c = p + 1;
		while (c < FAKE_MAX_INST && !fake_rec(fw, c))
			c++;
		CHECK(c < FAKE_MAX_INST &&
		      strstr(fake_rec(fw, c)->why,
			     remote ? "restore_delta" : "clone_live"));
		/* and the next fork works */
		fw->fail_restore = fw->fail_clone_live = 0;
		fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
		fake_run(fw, fw->now + 100 * UKF_MS);
		CHECK(fp->last_ret > 0);
		CHECK(!fw->overcommit);
		fake_destroy(&fw);
	}
}

/* A fetch from a peer whose (stale) record still lists an evicted template
 * falls back to making the template locally. */
static void t_engine_fetch_stale(void)
{
	struct ukf_engine_config c;
	char err[200];
	struct fake_world *fw;
	ukf_id_t id;

	ukf_engine_config_default(&c);
	c.nodes = 2;
	c.placement = "local";
	c.node.cache_bytes = 3ULL << 20; /* one 2M template per node */
	fw = fake_create(&c, err, sizeof(err));
	fw->dir_delay = 50 * UKF_MS;
	fake_app(fw, "a", "init=10ms mem=2M units=0");
	fake_app(fw, "b", "init=10ms mem=2M units=0");
	fake_start(fw);
	fake_run(fw, 60 * UKF_MS);
	fake_spawn(fw, 0, 0, "", 0, &id); /* node 0 makes a */
	fake_run(fw, 130 * UKF_MS);
	fake_spawn(fw, 0, 1, "", 0, &id); /* b evicts a */
	fake_run(fw, 160 * UKF_MS);
	CHECK_EQ(fake_log_count(fw, "template-evict app=a node=0"), 1);
	fake_spawn(fw, 1, 0, "", 0, &id); /* node 1 still sees a@0 */
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fake_log_count(fw, "template-fetch app=a node=1 from=0"), 1);
	CHECK_EQ(fake_log_count(fw, "template-fetch-failed app=a node=1"), 1);
	const struct fake_rec *r = fake_rec(fw, id);
	CHECK(r && r->r.status == 0 && r->r.start == UKF_START_COLD &&
	      r->r.template_made == 1 && r->r.node == 1);
	char names[64];
	fake_templates(fw, 1, names, sizeof(names));
	CHECK(!strcmp(names, "a"));
	fake_destroy(&fw);
}

/*
 * A template the backend already holds (loaded from disk) is adopted by
 * ukf_engine_template_loaded: spawns clone it, the directory lists it (a
 * peer fetches it), and it fits the cache budget like any other - LRU
 * room is made, one larger than the budget is refused, the cache is never
 * over its budget.
 */
static void t_engine_template_loaded(void)
{
	struct ukf_engine_config c;
	char err[200], names[64];
	struct fake_world *fw;
	struct ukf_node_stats s;
	ukf_id_t id;
	ukf_engine_t *e0;

	ukf_engine_config_default(&c);
	c.nodes = 2;
	c.placement = "local";
	c.node.cache_bytes = 5ULL << 20; /* two 2M templates */
	fw = fake_create(&c, err, sizeof(err));
	fake_app(fw, "a", "init=10ms mem=2M units=0");
	fake_app(fw, "b", "init=10ms mem=2M units=0");
	fake_app(fw, "c", "init=10ms mem=2M units=0");
	fake_app(fw, "huge", "init=10ms mem=8M units=0");
	fake_start(fw);
	e0 = fake_engine(fw, 0);
	fake_hold_template(fw, 0, 0);
	CHECK_EQ(ukf_engine_template_loaded(e0, 0, 0, 2ULL << 20), 0);
	CHECK_EQ(fake_log_count(fw, "template-ready app=a node=0 bytes=2097152 "
				    "loaded=1"),
		 1);
	fake_templates(fw, 0, names, sizeof(names));
	CHECK(!strcmp(names, "a"));
	fake_stats(fw, 0, &s);
	CHECK_EQ(s.cache_used, 2ULL << 20);
	CHECK_EQ(s.templates, 1);
	/* a spawn clones it: no cold boot, no template made */
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &id), 0);
	fake_run(fw, UKF_S);
	CHECK_EQ(fake_rec(fw, id)->r.start, UKF_START_TEMPLATE);
	CHECK_EQ(fake_log_count(fw, "template-boot"), 0);
	CHECK_EQ(fake_log_count(fw, "via=cold"), 0);
	/* the directory learnt of it: node 1 fetches it from node 0 */
	CHECK_EQ(fake_spawn(fw, 1, 0, "", 0, &id), 0);
	fake_run(fw, 2 * UKF_S);
	CHECK_EQ(fake_log_count(fw, "template-fetch app=a node=1 from=0"), 1);
	CHECK_EQ(fake_rec(fw, id)->r.template_fetched, 1);
	/* refusals leave the cache as it was */
	CHECK_EQ(ukf_engine_template_loaded(e0, 0, 0, 2ULL << 20), -EEXIST);
	CHECK_EQ(ukf_engine_template_loaded(e0, 1, 1, 2ULL << 20), -EINVAL);
	CHECK_EQ(ukf_engine_template_loaded(e0, 0, 99, 2ULL << 20), -EINVAL);
	CHECK_EQ(ukf_engine_template_loaded(e0, 0, 3, 8ULL << 20), -ENOSPC);
	fake_stats(fw, 0, &s);
	CHECK_EQ(s.cache_used, 2ULL << 20);
	/* b fits beside a; c needs room: a, least recently used, goes */
	fake_hold_template(fw, 0, 1);
	CHECK_EQ(ukf_engine_template_loaded(e0, 0, 1, 2ULL << 20), 0);
	fake_hold_template(fw, 0, 2);
	CHECK_EQ(ukf_engine_template_loaded(e0, 0, 2, 2ULL << 20), 0);
	CHECK_EQ(fake_log_count(fw, "template-evict app=a node=0"), 1);
	CHECK(!fake_has_template(fw, 0, 0)); /* the backend dropped it */
	fake_templates(fw, 0, names, sizeof(names));
	CHECK(!strcmp(names, "b,c") || !strcmp(names, "c,b"));
	fake_stats(fw, 0, &s);
	CHECK_EQ(s.cache_used, 4ULL << 20);
	CHECK(s.cache_used <= s.cache);
	CHECK_EQ(s.templates, 2);
	CHECK_EQ(s.evictions, 1);
	/* the spawn of a now fetches it back from node 1 */
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &id), 0);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fake_log_count(fw, "template-fetch app=a node=0 from=1"), 1);
	CHECK_EQ(fake_rec(fw, id)->r.template_fetched, 1);
	CHECK(!fw->overcommit);
	fake_destroy(&fw);
}

/*
 * The template cache is least recently *used*: cloning a template marks
 * it used, so under pressure the one not cloned lately is evicted, not
 * the oldest made. Holds for spawns (clone_template), for remote fork
 * children (restore_delta) and for templates served to a peer (TFETCH).
 */
static void t_engine_lru_use(void)
{
	struct ukf_engine_config c;
	char err[200], names[64];
	struct fake_world *fw;
	ukf_id_t id;

	ukf_engine_config_default(&c);
	c.placement = "local";
	c.node.cache_bytes = 5ULL << 20; /* two 2M templates */
	fw = fake_create(&c, err, sizeof(err));
	fake_app(fw, "a", "init=10ms mem=2M units=0");
	fake_app(fw, "b", "init=10ms mem=2M units=0");
	fake_app(fw, "c", "init=10ms mem=2M units=0");
	fake_start(fw);
	fake_spawn(fw, 0, 0, "", 0, &id); /* makes a */
	fake_run(fw, UKF_S);
	fake_spawn(fw, 0, 1, "", 0, &id); /* makes b */
	fake_run(fw, 2 * UKF_S);
	fake_spawn(fw, 0, 0, "", 0, &id); /* clones a: a is now used last */
	fake_run(fw, 3 * UKF_S);
	CHECK_EQ(fake_rec(fw, id)->r.start, UKF_START_TEMPLATE);
	fake_spawn(fw, 0, 2, "", 0, &id); /* makes c: b must go */
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fake_log_count(fw, "template-evict app=b"), 1);
	CHECK_EQ(fake_log_count(fw, "template-evict app=a"), 0);
	fake_templates(fw, 0, names, sizeof(names));
	CHECK(!strcmp(names, "a,c") || !strcmp(names, "c,a"));
	fake_destroy(&fw);

	/*
	 * Remote fork: node 1 holds templates a (older) and b; a child of
	 * a's parent on node 0 restores on node 1 from a; then c made on
	 * node 1 must evict b.
	 */
	ukf_engine_config_default(&c);
	c.nodes = 2;
	c.node.vcpus = 1;
	c.placement = "least-loaded";
	c.fetch = UKF_FETCH_COLD;
	c.node.cache_bytes = 5ULL << 20;
	fw = fake_create(&c, err, sizeof(err));
	fake_app(fw, "manual", "init=1ms mem=2M units=0");
	fake_app(fw, "b", "init=10ms mem=2M units=0");
	fake_app(fw, "c", "init=10ms mem=2M units=0");
	fake_start(fw);
	/* node 1: a's template (loaded), then b's */
	fake_hold_template(fw, 1, 0);
	CHECK_EQ(ukf_engine_template_loaded(fake_engine(fw, 1), 1, 0,
					    2ULL << 20),
		 0);
	fake_hold_template(fw, 1, 1);
	CHECK_EQ(ukf_engine_template_loaded(fake_engine(fw, 1), 1, 1,
					    2ULL << 20),
		 0);
	ukf_id_t p;
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &p), 0);
	fake_run(fw, 100 * UKF_MS);
	CHECK_EQ(fake_rec(fw, p) == NULL, 1);
	CHECK(fw->inst[p].used && fw->inst[p].node == 0);
	fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + 100 * UKF_MS);
	CHECK(fw->inst[p].last_ret > 0);
	CHECK_EQ(fake_log_count(fw, "via=delta"), 1);
	ukf_id_t kid = (ukf_id_t)fw->inst[p].last_ret;
	CHECK(fw->inst[kid].used && fw->inst[kid].node == 1);
	fake_exit(fw, kid, 0);
	fake_run(fw, fw->now + 100 * UKF_MS);
	fake_spawn(fw, 1, 2, "", 0, &id); /* node 1 makes c: b must go */
	fake_run(fw, fw->now + UKF_S);
	CHECK_EQ(fake_log_count(fw, "template-evict app=b node=1"), 1);
	CHECK_EQ(fake_log_count(fw, "template-evict app=manual node=1"), 0);
	fake_exit(fw, p, 0);
	fake_run(fw, UKF_NS_NEVER);
	fake_destroy(&fw);
}

/* VMs the fake backend still runs (workload and internal). */
static int backend_alive(const struct fake_world *fw)
{
	int n = 0;

	for (int i = 0; i < FAKE_MAX_INST; i++)
		n += fw->inst[i].used && fw->inst[i].alive;
	return n;
}

/* The record of the first instance after `after` that has one, or NULL. */
static const struct fake_rec *rec_after(struct fake_world *fw, ukf_id_t after)
{
	for (ukf_id_t c = after + 1; c < FAKE_MAX_INST; c++)
		if (fake_rec(fw, c))
			return fake_rec(fw, c);
	return NULL;
}

/* A backend that refuses to boot: the spawn fails with a row saying so;
 * a prewarm whose maker cannot boot leaves nothing pending behind. */
static void t_engine_start_refused(void)
{
	struct fake_world *fw = world(1, 8, "least-loaded", "none");
	struct ukf_node_stats s;
	struct ukf_engine_config c;
	char err[200], names[64];
	ukf_id_t id;

	fake_app(fw, "a", "init=10ms units=0");
	fake_start(fw);
	fw->fail_cold_boot = 1;
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &id), 0);
	fake_run(fw, UKF_NS_NEVER);
	CHECK(fake_rec(fw, id) != NULL);
	if (fake_rec(fw, id)) {
		CHECK_EQ(fake_rec(fw, id)->r.status, UKF_STATUS_FAILED);
		CHECK(strstr(fake_rec(fw, id)->why, "cold_boot refused"));
	}
	CHECK_EQ(fw->fail_hooks, 1);
	CHECK_EQ(fake_alive(fw), 0);
	fake_stats(fw, 0, &s);
	CHECK_EQ(s.vcpus_used, 0); /* its reservation was given back */
	CHECK_EQ(s.mem_used, 0);
	fw->fail_cold_boot = 0;
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &id), 0);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fake_rec(fw, id)->r.status, 0);
	fake_destroy(&fw);

	/* prewarm: the maker's boot is refused */
	ukf_engine_config_default(&c);
	c.templates = "prewarm";
	c.prewarm_k = 1;
	fw = fake_create(&c, err, sizeof(err));
	fake_app(fw, "a", "init=10ms units=0");
	fw->fail_cold_boot = 1;
	fake_start(fw);
	fake_run(fw, UKF_S);
	CHECK_EQ(fake_log_count(fw, "error template-boot app=a"), 1);
	fake_templates(fw, 0, names, sizeof(names));
	CHECK(!strcmp(names, ""));
	fake_stats(fw, 0, &s);
	CHECK_EQ(s.templates, 0);
	/* later spawns make it on demand rather than wait for it */
	fw->fail_cold_boot = 0;
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &id), 0);
	fake_run(fw, UKF_NS_NEVER);
	CHECK(fake_rec(fw, id) && fake_rec(fw, id)->r.status == 0 &&
	      fake_rec(fw, id)->r.template_made == 1);
	CHECK_EQ(fake_log_count(fw, "via=wait-template"), 0);
	fake_destroy(&fw);
}

/*
 * Templates the backend will not give: make_template refused at once,
 * make or load accepted then failed (UKF_BE_ERROR, inst 0), a fetched
 * template's load refused at once. The pending entry goes, waiting
 * spawns boot cold, waiting forks fail, the maker runs on.
 */
static void t_engine_template_refused(void)
{
	struct fake_world *fw = world(1, 8, "least-loaded", "on-demand");
	struct ukf_engine_config c;
	char err[200], names[64];
	ukf_id_t a, b;

	/* make_template refused: the workload instance runs on */
	fake_app(fw, "a", "init=10ms work=5ms");
	fake_start(fw);
	fw->fail_make_template = 1;
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &a), 0);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fake_log_count(fw, "template-drop app=a node=0 reason=make "
				    "refused"),
		 1);
	CHECK(fake_rec(fw, a) && fake_rec(fw, a)->r.status == 0 &&
	      fake_rec(fw, a)->r.template_made == 0);
	fake_templates(fw, 0, names, sizeof(names));
	CHECK(!strcmp(names, ""));
	fw->fail_make_template = 0;
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &b), 0);
	fake_run(fw, UKF_NS_NEVER);
	CHECK(fake_rec(fw, b) && fake_rec(fw, b)->r.template_made == 1);
	fake_destroy(&fw);

	/* make_template accepted, then a backend error: the spawn that
	 * waited for the template boots cold */
	fw = world(1, 8, "least-loaded", "on-demand");
	fake_app(fw, "a", "init=10ms units=0");
	fake_start(fw);
	fw->error_template = 1;
	fake_spawn(fw, 0, 0, "", 0, &a);
	fake_run(fw, 5 * UKF_MS);
	fake_spawn(fw, 0, 0, "", 0, &b);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fake_log_count(fw, "wait-template"), 1);
	CHECK_EQ(fake_log_count(fw, "error template app=a node=0"), 1);
	CHECK_EQ(fake_log_count(fw, "template-drop app=a node=0 reason=backend "
				    "error"),
		 1);
	CHECK(fake_rec(fw, a) && fake_rec(fw, a)->r.status == 0);
	CHECK(fake_rec(fw, b) && fake_rec(fw, b)->r.status == 0 &&
	      fake_rec(fw, b)->r.start == UKF_START_COLD);
	CHECK_EQ(fake_alive(fw), 0);
	CHECK_EQ(backend_alive(fw), 0);
	fake_destroy(&fw);

	/* a fetched template whose load is refused at once, or fails
	 * later: the spawn on node 1 boots cold */
	for (int later = 0; later < 2; later++) {
		ukf_engine_config_default(&c);
		c.nodes = 2;
		c.placement = "local";
		fw = fake_create(&c, err, sizeof(err));
		fake_app(fw, "a", "init=10ms units=0");
		fake_start(fw);
		fake_spawn(fw, 0, 0, "", 0, &a); /* node 0 makes a */
		fake_run(fw, UKF_S);
		if (later)
			fw->error_template = 1;
		else
			fw->fail_load_template = 1;
		fake_spawn(fw, 1, 0, "", 0, &b);
		fake_run(fw, UKF_NS_NEVER);
		CHECK_EQ(fake_log_count(fw, "template-fetch app=a node=1 from=0"),
			 1);
		const struct fake_rec *r = fake_rec(fw, b);
		CHECK(r && r->r.status == 0 && r->r.node == 1 &&
		      r->r.start == UKF_START_COLD &&
		      r->r.template_fetched == 0);
		if (later)
			CHECK_EQ(fake_log_count(fw, "template-drop app=a node=1 "
						    "reason=backend error"),
				 1);
		CHECK_EQ(fake_alive(fw), 0);
		fake_destroy(&fw);
	}

	/* a remote fork child waiting for a template that fails: the
	 * parent's fork() fails, and the parent goes on */
	ukf_engine_config_default(&c);
	c.nodes = 2;
	c.node.vcpus = 1;
	c.fetch = UKF_FETCH_COLD;
	fw = fake_create(&c, err, sizeof(err));
	ukf_id_t p = manual_parent(fw);
	fw->error_template = 1;
	fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + UKF_S);
	CHECK_EQ(fake_log_count(fw, "template-drop app=manual node=1 "
				    "reason=backend error"),
		 1);
	CHECK_EQ(fw->inst[p].last_ret, -UKF_EAGAIN);
	CHECK_EQ(fw->inst[p].pause, 0);
	const struct fake_rec *r = rec_after(fw, p);
	CHECK(r && r->r.status == UKF_STATUS_FAILED &&
	      strstr(r->why, "template unavailable"));
	fake_exit(fw, p, 0);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fake_rec(fw, p)->r.status, 0);
	CHECK_EQ(fake_alive(fw), 0);
	CHECK_EQ(backend_alive(fw), 0); /* the internal maker too */
	fake_destroy(&fw);
}

/* An instance the backend reports failed (UKF_BE_FAIL) or whose
 * operation failed (UKF_BE_ERROR): a failed row with the reason, the
 * world told, its capacity given back, its parent's wait() answered. */
static void t_engine_instance_fails(void)
{
	for (int error = 0; error < 2; error++) {
		struct fake_world *fw = world(1, 8, "least-loaded", "on-demand");
		struct ukf_node_stats s;
		ukf_id_t p = manual_parent(fw), kid;

		fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
		fake_run(fw, fw->now + 100 * UKF_MS);
		kid = (ukf_id_t)fw->inst[p].last_ret;
		CHECK(kid > 0 && kid < FAKE_MAX_INST);
		if (kid <= 0 || kid >= FAKE_MAX_INST) {
			fake_destroy(&fw);
			continue;
		}
		fake_call(fw, p, UKF_CALL_WAIT, kid, 0, NULL, 0, NULL);
		fake_run(fw, fw->now + UKF_MS);
		CHECK_EQ(fw->inst[p].pause, 2); /* waiting */
		fake_fail(fw, kid, error ? -EIO : 0,
			  error ? "disk gone" : "triple fault");
		fake_run(fw, fw->now + UKF_MS);
		const struct fake_rec *r = fake_rec(fw, kid);
		CHECK(r && r->r.status == UKF_STATUS_FAILED &&
		      !strcmp(r->why, error ? "disk gone" : "triple fault"));
		CHECK_EQ(fw->inst[kid].alive, 0); /* destroyed */
		CHECK_EQ(fw->inst[p].pause, 0);	  /* wait() answered */
		CHECK_EQ(fw->inst[p].last_ret, (int64_t)kid);
		CHECK_EQ(fw->inst[p].last_status, UKF_STATUS_FAILED);
		/* the top-level instance fails the same way, hook told */
		fake_fail(fw, p, error ? -EIO : 0, "gone");
		fake_run(fw, UKF_NS_NEVER);
		CHECK(fake_rec(fw, p) &&
		      fake_rec(fw, p)->r.status == UKF_STATUS_FAILED &&
		      !strcmp(fake_rec(fw, p)->why, "gone"));
		CHECK_EQ(fw->fail_hooks, 1);
		CHECK_EQ(fake_alive(fw), 0);
		fake_stats(fw, 0, &s);
		CHECK_EQ(s.vcpus_used, 0);
		CHECK_EQ(s.mem_used, 0);
		fake_destroy(&fw);
	}
}

/* A remote fork whose delta cannot be saved (refused at once, or
 * failed later): fork() fails in the parent, which lives on and can
 * fork again. */
static void t_engine_save_delta_fails(void)
{
	for (int later = 0; later < 2; later++) {
		struct fake_world *fw =
		    world(2, 1, "least-loaded", "on-demand");
		ukf_id_t p = manual_parent(fw);
		const char *why = later ? "save_delta failed"
					: "save_delta refused";

		if (later)
			fw->error_save_delta = 1;
		else
			fw->fail_save_delta = 1;
		fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
		fake_run(fw, fw->now + UKF_S);
		CHECK_EQ(fw->inst[p].last_ret, -UKF_EAGAIN);
		CHECK_EQ(fw->inst[p].pause, 0);
		CHECK(fw->inst[p].alive);
		CHECK(fake_rec(fw, p) == NULL); /* the parent did not fail */
		const struct fake_rec *r = rec_after(fw, p);
		CHECK(r && r->r.status == UKF_STATUS_FAILED &&
		      !strcmp(r->why, why));
		fw->fail_save_delta = fw->error_save_delta = 0;
		fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
		fake_run(fw, fw->now + UKF_S);
		CHECK(fw->inst[p].last_ret > 0);
		CHECK_EQ(fake_log_count(fw, "via=delta"), 1);
		fake_exit(fw, p, 0);
		fake_exit(fw, (ukf_id_t)fw->inst[p].last_ret, 0);
		fake_run(fw, UKF_NS_NEVER);
		CHECK_EQ(fake_alive(fw), 0);
		CHECK(!fw->overcommit);
		fake_destroy(&fw);
	}
}

/* Well-framed but forged messages (any type, random ids and fields) mixed
 * into a running workload: nothing crashes, capacity holds, and the
 * engine still serves new requests. */
static void t_engine_forged_messages(void)
{
	uint64_t seed = 4242;
	struct fake_world *fw = world(3, 4, "least-loaded", "on-demand");
	unsigned char buf[512];
	ukf_id_t id;

	fake_app(fw, "fan", "init=5ms work=2ms fork=2 mem=1M dirty=3");
	fake_app(fw, "manual", "init=1ms mem=1M");
	fake_start(fw);
	for (int round = 0; round < 400; round++) {
		if (round % 20 == 0)
			fake_spawn(fw, (ukf_node_id_t)(lcg(&seed) % 3),
					 (uint32_t)(lcg(&seed) % 2), "", 0,
					 &id);
		struct ukf_msg m;
		memset(&m, 0, sizeof(m));
		m.type = (enum ukf_msg_type)(1 + lcg(&seed) %
						     (UKF_MSG_TYPE_MAX - 1));
		m.id = 1 + lcg(&seed) % 40;
		m.parent = lcg(&seed) % 40;
		m.src = lcg(&seed) % 40;
		m.node = (uint32_t)(lcg(&seed) % 5);
		m.status = (int64_t)(lcg(&seed) % 5) - 2;
		m.result = (int64_t)(lcg(&seed) % 3) - 1;
		m.bytes = lcg(&seed) % 4 ? 4096 : UINT64_MAX;
		static const char *const names[] = {"fan", "manual", "nope", "fan"};
		m.app_name = names[lcg(&seed) % 4];
		m.app_name_len = strlen(m.app_name);
		m.origin = (uint32_t)(lcg(&seed) % 5);
		m.flags = (uint32_t)(lcg(&seed) % 4);
		m.attempt = (uint32_t)lcg(&seed);
		if (lcg(&seed) % 2) {
			m.text = "k=v";
			m.text_len = 3;
		}
		size_t n = ukf_msg_encode(&m, buf, sizeof(buf));
		CHECK(n > 0);
		if (lcg(&seed) % 3 == 0 && ukf_msg_has_bulk(m.type))
			ukf_engine_on_message(
			    fake_engine(fw, (ukf_node_id_t)(lcg(&seed) % 3)),
			    (ukf_node_id_t)(lcg(&seed) % 3),
			    (ukf_node_id_t)(lcg(&seed) % 4), (uint16_t)m.type,
			    buf, n, "DELTA!!", 8);
		else
			fake_raw_message(fw, (ukf_node_id_t)(lcg(&seed) % 3),
					 (ukf_node_id_t)(lcg(&seed) % 4),
					 (uint16_t)m.type, buf, n);
		fake_run(fw, fw->now + UKF_MS);
		CHECK(!fw->overcommit);
	}
	/* release what forged requests left waiting, then a clean request */
	for (ukf_id_t k = 1; k < 200; k++)
		fake_kill(fw, k);
	fake_run(fw, UKF_NS_NEVER);
	CHECK(!fw->overcommit);
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &id), 0);
	fake_run(fw, UKF_NS_NEVER);
	CHECK(fake_rec(fw, id) && fake_rec(fw, id)->r.status == 0);
	for (uint32_t k = 0; k < 3; k++) {
		struct ukf_node_stats st;
		fake_stats(fw, k, &st);
		CHECK(st.vcpus_used <= st.vcpus && st.mem_used <= st.mem);
	}
	fake_destroy(&fw);
}

/* Random workloads on tight clusters: invariants hold for every policy. */
static void t_engine_stress(void)
{
	static const char *const pol[] = {"local",	  "random",
					  "round-robin",  "least-loaded",
					  "power-of-two", "template-affinity"};
	static const char *const tpl[] = {"none", "on-demand", "prewarm"};
	uint64_t seed = 99;

	for (int round = 0; round < 18; round++) {
		struct ukf_engine_config c;
		char err[200];
		struct fake_world *fw;
		ukf_id_t ids[300];
		int n = 0;

		ukf_engine_config_default(&c);
		c.nodes = 2 + (uint32_t)(lcg(&seed) % 5);
		c.node.vcpus = 2 + (uint32_t)(lcg(&seed) % 4);
		c.node.mem_bytes = 64ULL << 20;
		c.node.cache_bytes = 5ULL << 20;
		c.placement = pol[round % 6];
		c.templates = tpl[round % 3];
		c.fetch = (enum ukf_fetch)(round / 3 % 2);
		c.prewarm_k = 1;
		c.max_children = 3;
		c.max_retries = 4;
		c.retry_ns = 2 * UKF_MS;
		fw = fake_create(&c, err, sizeof(err));
		CHECK(fw != NULL);
		if (!fw)
			continue;
		fw->dir_delay = (ukf_ns_t)(lcg(&seed) % 5) * UKF_MS;
		fake_app(fw, "a", "init=20ms work=2ms fork=2 mem=2M dirty=5");
		fake_app(fw, "b", "init=30ms work=1ms fork=0 mem=4M units=2");
		fake_app(fw, "c",
			 "init=10ms work=3ms fork=4 mem=1M units=2 vcpus=2");
		fake_app(fw, "d", "init=5ms work=1ms mem=3M");
		fake_start(fw);
		for (int i = 0; i < 300; i++) {
			ukf_node_id_t o = (ukf_node_id_t)(lcg(&seed) % c.nodes);
			uint32_t app = (uint32_t)(lcg(&seed) % 4);
			if (fake_spawn(fw, o, app, "", (uint64_t)i,
					     &ids[n]) == 0)
				n++;
			if (lcg(&seed) % 20 == 0 && n)
				fake_kill(fw, ids[lcg(&seed) % (uint64_t)n]);
			fake_run(fw,
				 fw->now + (ukf_ns_t)(lcg(&seed) % 3) * UKF_MS);
		}
		fake_run(fw, UKF_NS_NEVER);
		CHECK(!fw->overcommit);
		CHECK_EQ(fake_alive(fw), 0);
		CHECK_EQ(n, 300);
		/* every workload request ended exactly once, with one row */
		CHECK_EQ(fw->exit_hooks + fw->fail_hooks, (uint64_t)n);
		for (int i = 0; i < n; i++)
			CHECK(fake_rec(fw, ids[i]) != NULL);
		for (size_t i = 0; i < fw->nrecs; i++)
			for (size_t j = i + 1; j < fw->nrecs; j++)
				CHECK(fw->recs[i].r.id != fw->recs[j].r.id);
		for (uint32_t k = 0; k < c.nodes; k++) {
			struct ukf_node_stats s;
			fake_stats(fw, k, &s);
			CHECK_EQ(s.vcpus_used, 0);
			CHECK_EQ(s.mem_used, 0);
			CHECK(s.cache_used <= s.cache);
		}
		fake_destroy(&fw);
	}
}

/* Fail the Nth allocation anywhere in a fork-heavy run: never a crash. */
struct nth {
	long n, count;
};
static int fail_nth(void *u)
{
	struct nth *x = u;
	return ++x->count == x->n;
}

/*
 * An engine destroyed with instances alive and requests unplaced writes a
 * row for each, in id order, also when it cannot allocate the list of
 * them (a node failing while memory is short): the same rows as with
 * memory, none lost. 85 or so per node: more than one batch of the
 * fallback's 64.
 */
static int fail_all(void *u)
{
	(void)u;
	return 1;
}

static void destroy_rows(int oom, ukf_id_t *ids, int64_t *st, size_t *n,
			 size_t cap)
{
	struct ukf_engine_config c;
	char err[200];
	struct fake_world *fw;
	ukf_id_t id;

	ukf_engine_config_default(&c);
	c.nodes = 2;
	c.node.vcpus = 80;
	c.retry_ns = 10 * UKF_S;
	fw = fake_create(&c, err, sizeof(err));
	CHECK(fw != NULL);
	if (!fw)
		return;
	CHECK(fake_app(fw, "manual", "init=1ms mem=1M") >= 0);
	/* 150 run (held after ready), 20 more wait for room */
	for (int i = 0; i < 170; i++)
		CHECK_EQ(fake_spawn(fw, (ukf_node_id_t)(i % 2), 0, "", 0, &id),
			 0);
	fake_run(fw, fw->now + UKF_S);
	size_t before = fw->nrecs;
	if (oom)
		fake_set_alloc_hook(fw, fail_all, NULL);
	for (uint32_t k = 0; k < fw->nnodes; k++)
		ukf_engine_destroy(&fw->eng[k]);
	*n = 0;
	for (size_t i = before; i < fw->nrecs && *n < cap; i++, (*n)++) {
		ids[*n] = fw->recs[i].r.id;
		st[*n] = fw->recs[i].r.status;
	}
	fake_destroy(&fw);
}

static void t_engine_destroy_oom(void)
{
	static ukf_id_t a[400], b[400];
	static int64_t sa[400], sb[400];
	size_t na = 0, nb = 0;

	destroy_rows(0, a, sa, &na, 400);
	destroy_rows(1, b, sb, &nb, 400);
	printf("engine_destroy_oom: %zu rows with memory, %zu without\n", na,
	       nb);
	CHECK(na >= 170);
	CHECK_EQ(nb, na);
	for (size_t i = 0; i < na && i < nb; i++) {
		CHECKF(a[i] == b[i] && sa[i] == sb[i],
		       "row %zu: id %llu status %lld with memory, id %llu "
		       "status %lld without",
		       i, (unsigned long long)a[i], (long long)sa[i],
		       (unsigned long long)b[i], (long long)sb[i]);
	}
}

static void t_engine_alloc_failures(void)
{
	long total = 0;

	for (long n = 1;; n++) {
		struct ukf_engine_config c;
		char err[200];
		struct fake_world *fw;
		struct nth x = {n, 0};
		ukf_id_t id;

		ukf_engine_config_default(&c);
		c.nodes = 3;
		c.node.vcpus = 2;
		c.max_retries = 3;
		c.retry_ns = UKF_MS;
		fw = fake_create(&c, err, sizeof(err));
		fake_app(fw, "fan", "init=10ms work=2ms fork=3 mem=1M dirty=4");
		fake_app(fw, "solo", "init=5ms work=1ms mem=1M");
		fake_start(fw);
		fake_set_alloc_hook(fw, fail_nth, &x);
		for (int i = 0; i < 3; i++) {
			fake_spawn(fw, (ukf_node_id_t)i,
					 (uint32_t)(i % 2), "k=v", 0, &id);
			fake_run(fw, fw->now + 3 * UKF_MS);
		}
		fake_run(fw, UKF_NS_NEVER);
		CHECK(!fw->overcommit);
		/* the failed allocation was reported to the world, once */
		CHECK(fw->fatal_calls == (x.count >= n ? 1u : 0u));
		/* after the failure the engine still works: a new request is
		 * taken and runs to its exit (refusing it, or failing it for
		 * capacity a failed allocation leaked, both passed before) */
		fake_set_alloc_hook(fw, NULL, NULL);
		CHECK_EQ(fake_spawn(fw, 0, 1, "", 0, &id), 0);
		fake_run(fw, UKF_NS_NEVER);
		const struct fake_rec *r = fake_rec(fw, id);
		CHECKF(r && r->r.status == 0,
		       "allocation %ld failed: the next spawn ended with "
		       "status %lld (%s)",
		       n, r ? (long long)r->r.status : -1LL, r ? r->why : "-");
		fake_destroy(&fw);
		if (x.count < n) { /* the run made fewer than n allocations */
			total = x.count;
			break;
		}
	}
	printf(
	    "engine_alloc_failures: failed each of %ld allocations in turn\n",
	    total);
	CHECK(total > 20); /* the scenario exercised many allocation sites */
}

/*
 * One engine per node, sharing nothing: each engine answers only for its
 * own node and refuses work addressed to another; every instance alive is
 * held by exactly one engine, the one of the node it runs on; what one node
 * did on another went through messages (the world counted them); and a node
 * that no message reaches sees nothing of the others' work.
 */
static void t_engine_separate(void)
{
	struct fake_world *fw = world(3, 1, "least-loaded", "on-demand");
	struct ukf_node_stats s;
	uint64_t remote_in = 0, alive = 0;
	char buf[64];
	ukf_id_t a, id;

	fake_app(fw, "fan", "init=10ms work=50ms fork=2 dirty=10 mem=1M");
	fake_start(fw);
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 1, &a), 0);
	/* until the children run on nodes 1 and 2 */
	while (fw->now < UKF_S && fake_alive(fw) < 3)
		fake_run(fw, fw->now + UKF_MS / 4);
	for (ukf_node_id_t k = 0; k < 3; k++) {
		ukf_engine_t *e = fake_engine(fw, k);
		CHECK_EQ(ukf_engine_node(e), k);
		for (ukf_node_id_t j = 0; j < 3; j++) {
			if (j == k)
				continue;
			CHECK_EQ(ukf_engine_node_stats(e, j, &s), -EINVAL);
			CHECK_EQ(ukf_engine_node_templates(e, j, buf,
							   sizeof(buf)), 0);
			CHECK(ukf_engine_spawn(e, j, 0, "", 0, &id) < 0);
		}
		CHECK_EQ(ukf_engine_node_stats(e, k, &s), 0);
		remote_in += s.remote_in;
		alive += s.instances;
	}
	for (ukf_id_t i = 1; i < FAKE_MAX_INST; i++) {
		int holders = 0;
		if (!fw->inst[i].used || !fw->inst[i].alive)
			continue;
		for (ukf_node_id_t k = 0; k < 3; k++)
			if (ukf_engine_has(fake_engine(fw, k), i)) {
				holders++;
				CHECK_EQ(k, fw->inst[i].node);
			}
		CHECK_EQ(holders, 1);
	}
	CHECK_EQ(alive, 3);	/* the parent and its two children */
	CHECK_EQ(remote_in, 2); /* both children started for node 0 */
	/* per remote child at least the fork (with its delta), the target's
	 * template fetch and the template's bytes */
	CHECK(fw->msgs >= 3 * remote_in);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(fw->nrecs, 3);
	fake_destroy(&fw);

	/* node 2 cut off (no message reaches it): its engine sees none of
	 * the work nodes 0 and 1 do between themselves */
	fw = world(3, 1, "round-robin", "on-demand");
	fw->drop_to = 1u << 2;
	fake_app(fw, "fan", "init=10ms work=5ms fork=2 dirty=10 mem=1M");
	fake_start(fw);
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 1, &a), 0);
	fake_run(fw, UKF_NS_NEVER);
	CHECK_EQ(ukf_engine_node_stats(fake_engine(fw, 2), 2, &s), 0);
	CHECK_EQ(s.requests, 0);
	CHECK_EQ(s.remote_in, 0);
	CHECK_EQ(s.templates, 0);
	CHECK_EQ(s.instances, 0);
	CHECK_EQ(ukf_engine_alive(fake_engine(fw, 2)), 0);
	fake_destroy(&fw);
}

/*
 * Guest calls at their edges (engine.h, "Guest calls"): a deadline already
 * past answers at once (WAIT and RECV -UKF_ETIMEDOUT, BLOCK 0); SEND of
 * bytes without a buffer -UKF_EFAULT; SPAWN with an argument string of
 * UKF_ARGS_MAX bytes -UKF_EINVAL; a call from an instance already paused
 * in one is dropped with a log line, the first still answered.
 */
static void t_engine_call_edges(void)
{
	struct fake_world *fw = world(1, 16, "local", "on-demand");
	ukf_id_t p = manual_parent(fw);
	struct fake_inst *fp = &fw->inst[p];
	static char big[UKF_ARGS_MAX];

	fake_call(fw, p, UKF_CALL_FORK, 0, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + 20 * UKF_MS);
	ukf_id_t c = (ukf_id_t)fp->last_ret;
	CHECK(c > p);
	CHECK(fw->inst[c].alive);

	fp->last_ret = 12345;
	fake_call(fw, p, UKF_CALL_WAIT, c, 1, NULL, 0, NULL);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_ret, -UKF_ETIMEDOUT);
	fp->last_ret = 12345;
	fake_call(fw, p, UKF_CALL_RECV, 0, 1, NULL, 0, NULL);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_ret, -UKF_ETIMEDOUT);
	fp->last_ret = 12345;
	fake_call(fw, p, UKF_CALL_BLOCK, 0, 1, NULL, 0, NULL);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_ret, 0);
	fp->last_ret = 12345;
	fake_call(fw, p, UKF_CALL_SEND, c, 0, NULL, 5, NULL);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_ret, -UKF_EFAULT);
	memset(big, 'x', sizeof(big));
	fp->last_ret = 12345;
	fake_call(fw, p, UKF_CALL_SPAWN, 0, 0, big, sizeof(big), "manual");
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_ret, -UKF_EINVAL);
	CHECK(fw->inst[c].alive);

	/* paused in WAIT for c: a second call is dropped; c's exit answers
	 * the first */
	fp->last_ret = 12345;
	fake_call(fw, p, UKF_CALL_WAIT, c, 0, NULL, 0, NULL);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_ret, 12345);
	fake_call(fw, p, UKF_CALL_RECV, 0, 1, NULL, 0, NULL);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_ret, 12345);
	CHECK_EQ(fake_log_count(fw, "already paused in call"), 1);
	fake_exit(fw, c, 3);
	fake_run(fw, fw->now + UKF_MS);
	CHECK_EQ(fp->last_ret, (int64_t)c);
	CHECK_EQ(fp->last_status, 3);
	fake_destroy(&fw);
}

/*
 * The codec's edges: each field kind's name as the protocol docs print
 * it ("?" for a kind it does not know), and a body of len bytes given
 * without its bytes refused naming the message.
 */
static void t_codec_edges(void)
{
	static const char *const names[] = {"u8", "u32", "u64",
					    "i64", "name", "text"};
	struct body {
		uint32_t x;
	} b = {7};
	static const struct ukf_field f[] = {
	    UKF_FIELD("x", UKF_FK_U32, struct body, x, "a number"),
	};
	char err[120];

	for (int k = UKF_FK_U8; k <= UKF_FK_TEXT; k++)
		CHECK(!strcmp(ukf_fk_name((enum ukf_fk)k), names[k]));
	CHECK(!strcmp(ukf_fk_name((enum ukf_fk)42), "?"));
	err[0] = 0;
	CHECK_EQ(ukf_fields_decode(f, 1, &b, NULL, 4, 0, "probe", err,
				   sizeof(err)),
		 -1);
	CHECKF(!strcmp(err, "probe: no body"), "err '%s'", err);
	CHECK_EQ(b.x, 7);
}

/*
 * A lost peer ends every workload instance that ran there: each gets its
 * row (failed, "node 1 lost: WHY") and on_fail, in id order whatever the
 * layout of the engine's maps, so runs stay reproducible.
 */
static void t_engine_peer_lost_order(void)
{
	struct fake_world *fw = world(2, 8, "least-loaded", "none");
	ukf_id_t id[8];
	int on1 = 0;

	CHECK(fake_app(fw, "manual", "init=1ms mem=1M") == 0);
	fake_start(fw);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ(fake_spawn(fw, 0, 0, "", (uint64_t)i, &id[i]), 0);
		fake_run(fw, fw->now + 10 * UKF_MS);
	}
	for (int i = 0; i < 8; i++)
		on1 += fw->inst[id[i]].node == 1;
	CHECK(on1 >= 3);
	size_t before = fw->nrecs;
	uint64_t fails = fw->fail_hooks;
	ukf_engine_peer_down(fake_engine(fw, 0), 1, "heartbeats stopped");
	CHECK_EQ(fw->nrecs - before, (size_t)on1);
	CHECK_EQ(fw->fail_hooks - fails, (uint64_t)on1);
	ukf_id_t last = 0;
	for (size_t k = before; k < fw->nrecs; k++) {
		const struct fake_rec *r = &fw->recs[k];
		CHECKF(r->r.id > last, "row %zu: id %llu after %llu", k,
		       (unsigned long long)r->r.id, (unsigned long long)last);
		last = r->r.id;
		CHECK_EQ(r->r.status, UKF_STATUS_FAILED);
		CHECK_EQ(r->r.node, 1);
		CHECKF(!strcmp(r->why, "node 1 lost: heartbeats stopped"),
		       "why '%s'", r->why);
	}
	fake_destroy(&fw);
}

/* Console lines the engine passed on (t_engine_api). */
struct console_seen {
	int n;
	ukf_id_t id;
	char line[64];
};

static void seen_console(void *u, ukf_id_t id, const char *line, size_t len)
{
	struct console_seen *c = u;
	c->n++;
	c->id = id;
	snprintf(c->line, sizeof(c->line), "%.*s", (int)len, line);
}

/*
 * The engine's public calls refuse what they cannot do, each with the
 * error its contract names, and leave the engine working: a bad config
 * (NULL with the reason), a second start, a fork or kill of an unknown
 * id, prewarm before start. Pending requests are counted until placed;
 * a template list is cut at a whole name; console lines reach the hook;
 * an unknown backend event is dropped with a log line.
 */
static void t_engine_api(void)
{
	struct fake_world *fw = world(2, 4, "local", "on-demand");
	struct ukf_engine_config c;
	char err[200];
	ukf_id_t p, k;

	/* create: each bad input refused, the reason in err */
	ukf_engine_config_default(&c);
	c.nodes = 2;
	err[0] = 0;
	CHECK(!ukf_engine_create(NULL, fw->apps, &fw->env, &fw->be, NULL, err,
				 sizeof(err)));
	CHECK(strstr(err, "missing config, apps, env or backend"));
	struct ukf_env_ops eops = *fw->env.ops;
	struct ukf_env env = fw->env;
	eops.uniform = NULL;
	env.ops = &eops;
	err[0] = 0;
	CHECK(!ukf_engine_create(&c, fw->apps, &env, &fw->be, NULL, err,
				 sizeof(err)));
	CHECK(strstr(err, "env lacks a required operation"));
	struct ukf_backend_ops bops = *fw->be.ops;
	struct ukf_backend be = fw->be;
	bops.save_delta = NULL;
	be.ops = &bops;
	err[0] = 0;
	CHECK(!ukf_engine_create(&c, fw->apps, &fw->env, &be, NULL, err,
				 sizeof(err)));
	CHECKF(strstr(err, "backend '") && strstr(err, "lacks a required"),
	       "err '%s'", err);
	c.self = 2;
	err[0] = 0;
	CHECK(!ukf_engine_create(&c, fw->apps, &fw->env, &fw->be, NULL, err,
				 sizeof(err)));
	CHECKF(strstr(err, "node 2 is not one of the cluster's 2 nodes"),
	       "err '%s'", err);
	c.self = 0;
	c.fetch = (enum ukf_fetch)7;
	err[0] = 0;
	CHECK(!ukf_engine_create(&c, fw->apps, &fw->env, &fw->be, NULL, err,
				 sizeof(err)));
	CHECKF(strstr(err, "bad fetch mode 7"), "err '%s'", err);

	ukf_engine_t *e = fw->eng[0];
	CHECK_EQ(ukf_engine_prewarm(e), -EINVAL); /* not started */
	CHECK(fake_app(fw, "manual", "init=1ms mem=1M") == 0);
	CHECK(fake_app(fw, "a-rather-long-app-name", "init=1ms mem=1M") == 1);
	CHECK_EQ(fake_start(fw), 0);
	CHECK_EQ(ukf_engine_start(e), -EINVAL); /* started already */
	CHECK_EQ(ukf_engine_start(NULL), -EINVAL);
	CHECK_EQ(ukf_engine_pending(e), 0);
	CHECK_EQ(ukf_engine_pending(NULL), 0);
	CHECK_EQ(fake_spawn(fw, 0, 0, "", 0, &p), 0);
	/* booting: pending until it runs */
	CHECK_EQ(ukf_engine_pending(e), 1);
	fake_run(fw, 100 * UKF_MS);
	CHECK_EQ(ukf_engine_pending(e), 0);
	CHECK_EQ(ukf_engine_has(e, p), 1);
	CHECK(fake_alive(fw) == 1);

	/* unknown ids: -ESRCH, nothing changes */
	CHECK_EQ(ukf_engine_fork(e, p + 1000, 0, &k), -ESRCH);
	CHECK_EQ(ukf_engine_fork(NULL, p, 0, &k), -EINVAL);
	CHECK_EQ(ukf_engine_kill(e, p + 1000), -ESRCH);
	CHECK_EQ(ukf_engine_kill(NULL, p), -EINVAL);
	CHECK_EQ(ukf_engine_has(NULL, p), 0);
	CHECK(fake_alive(fw) == 1);

	/* a console line of the instance reaches on_console as it came */
	struct console_seen cs = {0};
	fw->hooks.on_console = seen_console;
	void *u = fw->hooks.u;
	fw->hooks.u = &cs;
	struct ukf_be_event ev = {0};
	ev.kind = UKF_BE_CONSOLE;
	ev.inst = p;
	ev.data = "hello, console";
	ev.len = 5;
	ukf_engine_on_backend(e, 0, &ev);
	CHECK_EQ(cs.n, 1);
	CHECK(cs.id == p && !strcmp(cs.line, "hello"));
	/* an event kind the engine does not know: dropped, said in the log */
	ev.kind = (enum ukf_be_kind)99;
	ukf_engine_on_backend(e, 0, &ev);
	CHECK_EQ(cs.n, 1);
	CHECK_EQ(fake_log_count(fw, "drop backend event 99"), 1);
	fw->hooks.u = u;
	fw->hooks.on_console = NULL;
	CHECK(fake_alive(fw) == 1);

	/* four more requests on a node with room for three: each pending
	 * until it runs; one killed while it waits is pending no more */
	ukf_id_t q[4];
	for (int i = 0; i < 4; i++)
		CHECK_EQ(fake_spawn(fw, 0, 1, "", 0, &q[i]), 0);
	CHECK_EQ(ukf_engine_pending(e), 4);
	CHECK_EQ(ukf_engine_kill(e, q[3]), 0);
	CHECK_EQ(ukf_engine_pending(e), 3);
	const struct fake_rec *kr = fake_rec(fw, q[3]);
	CHECK(kr && strstr(kr->why, "killed"));
	fake_run(fw, fw->now + 100 * UKF_MS);
	CHECK_EQ(ukf_engine_pending(e), 0);
	for (int i = 0; i < 3; i++) { /* the others ran and exited */
		const struct fake_rec *r = fake_rec(fw, q[i]);
		CHECK(r && r->r.status == 0);
	}
	CHECK_EQ(fake_alive(fw), 1);

	/* the template list: names in app order, cut at a whole name */
	char buf[64];
	size_t n = ukf_engine_node_templates(e, 0, buf, sizeof(buf));
	CHECKF(n == strlen("manual,a-rather-long-app-name") &&
		   !strcmp(buf, "manual,a-rather-long-app-name"),
	       "templates '%s'", buf);
	n = ukf_engine_node_templates(e, 0, buf, 12);
	CHECKF(n == 6 && !strcmp(buf, "manual"), "cut list '%s' (%zu)", buf,
	       n);
	CHECK_EQ(ukf_engine_node_templates(e, 1, buf, sizeof(buf)), 0);
	CHECK(buf[0] == 0);
	CHECK_EQ(ukf_engine_node_templates(e, 0, buf, 0), 0);
	CHECK(!fw->overcommit);
	fake_destroy(&fw);
}

/* ------------------------------------------------------------------ */
/* frame headers, the generated-doc check, the app table               */

/* Decode a frame header of len bytes; 0, or -1 with err holding what was
 * wrong. */
static int frame_try(const uint8_t *buf, size_t len, char *err, size_t cap)
{
	struct ukf_frame_header h;
	err[0] = 0;
	return ukf_frame_header_decode(&h, buf, len, err, cap);
}

/*
 * Every check of ukf_frame_header_decode refuses its own corruption with
 * a reason a peer's operator can read; a good header round-trips.
 */
static void t_frame_header(void)
{
	struct ukf_frame_header h = {0}, d;
	uint8_t buf[UKF_FRAME_HEADER + 8], bad[sizeof(buf)];
	char err[160];

	h.version = UKF_FRAME_VERSION;
	h.min_version = UKF_FRAME_MIN_VERSION;
	h.type = 7;
	h.sender = 3;
	h.flags = UKF_FRAME_F_BULK;
	h.incarnation = 0x1122334455667788ULL;
	h.seq = 42;
	h.length = 8;
	ukf_frame_header_encode(&h, buf);
	memset(buf + UKF_FRAME_HEADER, 0xee, 8);
	CHECK_EQ(ukf_frame_header_decode(&d, buf, sizeof(buf), err,
					 sizeof(err)),
		 0);
	CHECK(d.version == h.version && d.min_version == h.min_version &&
	      d.type == 7 && d.sender == 3 && d.flags == UKF_FRAME_F_BULK &&
	      d.incarnation == h.incarnation && d.seq == 42 && d.length == 8);
	/* a peer speaking a newer version is answered in ours */
	d.version = UKF_FRAME_VERSION + 3;
	CHECK_EQ(ukf_frame_version_with(&d), UKF_FRAME_VERSION);
	d.version = UKF_FRAME_MIN_VERSION;
	CHECK_EQ(ukf_frame_version_with(&d), UKF_FRAME_MIN_VERSION);

	CHECK_EQ(frame_try(buf, UKF_FRAME_HEADER - 1, err, sizeof(err)), -1);
	CHECK(strstr(err, "shorter than the 40-byte header"));
	memcpy(bad, buf, sizeof(buf));
	bad[0] ^= 0xff;
	CHECK_EQ(frame_try(bad, sizeof(bad), err, sizeof(err)), -1);
	CHECK(strstr(err, "bad magic 0x"));
	memcpy(bad, buf, sizeof(buf));
	bad[4] = 2, bad[5] = 3; /* versions 3..2 */
	CHECK_EQ(frame_try(bad, sizeof(bad), err, sizeof(err)), -1);
	CHECKF(!strcmp(err, "version range 3..2 is empty"), "err '%s'", err);
	memcpy(bad, buf, sizeof(buf));
	bad[4] = bad[5] = UKF_FRAME_VERSION + 1;
	CHECK_EQ(frame_try(bad, sizeof(bad), err, sizeof(err)), -1);
	CHECKF(strstr(err, "not understood"), "err '%s'", err);
	memcpy(bad, buf, sizeof(buf));
	bad[38] = 1; /* the reserved word */
	CHECK_EQ(frame_try(bad, sizeof(bad), err, sizeof(err)), -1);
	CHECKF(!strcmp(err, "reserved header field is not zero"), "err '%s'",
	       err);
	CHECK_EQ(frame_try(buf, sizeof(buf) - 1, err, sizeof(err)), -1);
	CHECKF(!strcmp(err, "length 8 but 7 body bytes"), "err '%s'", err);
	h.type = 0;
	ukf_frame_header_encode(&h, bad);
	CHECK_EQ(frame_try(bad, sizeof(bad), err, sizeof(err)), -1);
	CHECKF(!strcmp(err, "message type 0"), "err '%s'", err);
}

static void doc_table(FILE *out)
{
	fputs("| a | b |\n| 1 | 2 |\n| 3 | 4 |\n", out);
}

/* Run ukf_doc_main with fd (1 or 2) sent to file `to`; its status. */
static int doc_run(int argc, char **argv, int fd, const char *to)
{
	fflush(stdout);
	fflush(stderr);
	int saved = dup(fd), f = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (saved < 0 || f < 0)
		return -100;
	dup2(f, fd);
	close(f);
	int rc = ukf_doc_main(argc, argv, "<!-- t: begin -->",
			      "<!-- t: end -->", doc_table);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, fd);
	close(saved);
	return rc;
}

/* The whole text of file `path` (at most cap - 1 bytes). */
static const char *slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
	buf[n] = 0;
	if (f)
		fclose(f);
	return buf;
}

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/*
 * The program behind ukf-wire-doc: prints the table; --check passes on a
 * current document, fails (1) naming the first differing line and the
 * program that regenerates it, 2 on bad usage or an unreadable file.
 */
static void t_doc_check(void)
{
	char dir[] = "/tmp/ukf-doccheck.XXXXXX", doc[80], out[80], got[512];
	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(doc, sizeof(doc), "%s/doc.md", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	char *print[] = {"tbl-doc", NULL};
	char *check[] = {"tbl-doc", "--check", doc, NULL};
	char *usage[] = {"tbl-doc", "--chek", doc, NULL};

	CHECK_EQ(doc_run(1, print, 1, out), 0);
	CHECK(!strcmp(slurp(out, got, sizeof(got)),
		      "| a | b |\n| 1 | 2 |\n| 3 | 4 |\n"));
	CHECK_EQ(doc_run(3, usage, 2, out), 2);
	CHECK(strstr(slurp(out, got, sizeof(got)),
		     "usage: tbl-doc [--check DOC.md]"));
	CHECK_EQ(doc_run(2, check, 2, out), 2); /* --check without DOC */
#ifndef __SANITIZE_ADDRESS__
	/* no such document: 2, naming it (doccheck.c leaks the generated
	 * table on this path and the next; LeakSanitizer would report it:
	 * not run under ASan) */
	CHECK_EQ(doc_run(3, check, 2, out), 2);
	CHECK(strstr(slurp(out, got, sizeof(got)), doc));
#endif
	/* current: 0, whatever surrounds the markers */
	put_file(doc, "# Doc\n<!-- t: begin -->\n\n| a | b |\n| 1 | 2 |\n"
		      "| 3 | 4 |\n<!-- t: end -->\ntail\n");
	CHECK_EQ(doc_run(3, check, 2, out), 0);
	/* a row changed: 1, its line within the table named */
	put_file(doc, "<!-- t: begin -->\n| a | b |\n| 1 | 2 |\n| 3 | 5 |\n"
		      "<!-- t: end -->\n");
	CHECK_EQ(doc_run(3, check, 2, out), 1);
	CHECKF(strstr(slurp(out, got, sizeof(got)),
		      "the table differs from the generated one at its line "
		      "3 (regenerate: tbl-doc > "),
	       "stderr '%s'", got);
	/* a row missing at the end is a difference too */
	put_file(doc, "<!-- t: begin -->\n| a | b |\n| 1 | 2 |\n"
		      "<!-- t: end -->\n");
	CHECK_EQ(doc_run(3, check, 2, out), 1);
	CHECKF(strstr(slurp(out, got, sizeof(got)), "at its line 3 "),
	       "stderr '%s'", got);
#ifndef __SANITIZE_ADDRESS__
	/* no markers: 1, saying so (leaks too, see above) */
	put_file(doc, "| a | b |\n");
	CHECK_EQ(doc_run(3, check, 2, out), 1);
	CHECK(strstr(slurp(out, got, sizeof(got)),
		     "no '<!-- t: begin -->' ... '<!-- t: end -->' markers"));
#endif
	unlink(doc);
	unlink(out);
	rmdir(dir);
}

/*
 * App names are looked up by their first 8 bytes and length first: two
 * long names that share both are still two apps, each found as itself.
 */
static void t_apps_names(void)
{
	ukf_apps_t *t = ukf_apps_create();
	struct ukf_app a;
	char err[200];
	static const char *const names[] = {"frontend-a", "frontend-b",
					    "frontend-ab", "frontend",
					    "front"};

	CHECK(t != NULL);
	CHECK_EQ(ukf_apps_count(t), 0);
	CHECK_EQ(ukf_apps_count(NULL), 0);
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(ukf_app_parse(&a, names[i], "", err, sizeof(err)), 0);
		CHECK_EQ(ukf_apps_add(t, &a), i);
	}
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(ukf_apps_find(t, names[i]), i);
		CHECK(!strcmp(ukf_apps_get(t, (uint32_t)i)->name, names[i]));
	}
	/* a name given twice is refused, long or short */
	CHECK_EQ(ukf_app_parse(&a, "frontend-b", "", err, sizeof(err)), 0);
	CHECK_EQ(ukf_apps_add(t, &a), -1);
	CHECK_EQ(ukf_apps_count(t), 5);
	/* as messages carry them: a length, no NUL */
	CHECK_EQ(ukf_apps_find_n(t, "frontend-bXYZ", 10), 1);
	CHECK_EQ(ukf_apps_find_n(t, "frontend-c", 10), -1);
	CHECK_EQ(ukf_apps_find_n(t, "frontend-a", 0), -1);
	CHECK_EQ(ukf_apps_find(t, "frontend-"), -1);
	CHECK_EQ(ukf_apps_find(t, NULL), -1);
	CHECK(ukf_apps_get(t, 5) == NULL);
	ukf_apps_destroy(&t);
	CHECK(t == NULL);
	ukf_apps_destroy(&t); /* NULL: nothing */
}

/* ------------------------------------------------------------------ */

static const struct fake_test tests[] = {
    {"app_parse", t_app_parse},
    {"app_bad", t_app_bad},
    {"parse_units", t_parse_units},
    {"app_decimal", t_app_decimal},
    {"frame_header", t_frame_header},
    {"doc_check", t_doc_check},
    {"apps_names", t_apps_names},
    {"engine_api", t_engine_api},
    {"engine_call_edges", t_engine_call_edges},
    {"codec_edges", t_codec_edges},
    {"engine_peer_lost_order", t_engine_peer_lost_order},
    {"wire_roundtrip", t_wire_roundtrip},
    {"wire_hostile", t_wire_hostile},
    {"wire_fuzz", t_wire_fuzz},
    {"wire_generated", t_wire_generated},
    {"dir_versions", t_dir_versions},
    {"dir_indexes", t_dir_indexes},
    {"dir_holder_sets", t_dir_holder_sets},
    {"placement", t_placement},
    {"tcache_lru", t_tcache_lru},
    {"tcache_many", t_tcache_many},
    {"topk", t_topk},
    {"engine_spawn_template", t_engine_spawn_template},
    {"engine_local_fork", t_engine_local_fork},
    {"engine_remote_fork", t_engine_remote_fork},
    {"engine_fork_other_template", t_engine_fork_other_template},
    {"engine_fork_stale_recovered", t_engine_fork_stale_recovered},
    {"engine_answer_timeout", t_engine_answer_timeout},
    {"engine_peer_lost", t_engine_peer_lost},
    {"engine_wait", t_engine_wait},
    {"engine_exit_dirty", t_engine_exit_dirty},
    {"engine_capacity", t_engine_capacity},
    {"engine_per_node", t_engine_per_node},
    {"engine_fork_bomb", t_engine_fork_bomb},
    {"engine_messages", t_engine_messages},
    {"engine_prewarm", t_engine_prewarm},
    {"engine_cache_budget", t_engine_cache_budget},
    {"engine_bad_input", t_engine_bad_input},
    {"engine_kill_and_destroy", t_engine_kill_and_destroy},
    {"engine_deterministic", t_engine_deterministic},
    {"engine_origin_knows_itself", t_engine_origin_knows_itself},
    {"engine_blocked_vcpus", t_engine_blocked_vcpus},
    {"engine_spread_ties", t_engine_spread_ties},
    {"engine_never_ready", t_engine_never_ready},
    {"engine_fork_fails", t_engine_fork_fails},
    {"engine_fetch_stale", t_engine_fetch_stale},
    {"engine_forged_messages", t_engine_forged_messages},
    {"engine_stress", t_engine_stress},
    {"engine_alloc_failures", t_engine_alloc_failures},
    {"engine_destroy_oom", t_engine_destroy_oom},
    {"engine_separate", t_engine_separate},
    {"engine_template_loaded", t_engine_template_loaded},
    {"engine_lru_use", t_engine_lru_use},
    {"engine_start_refused", t_engine_start_refused},
    {"engine_template_refused", t_engine_template_refused},
    {"engine_instance_fails", t_engine_instance_fails},
    {"engine_save_delta_fails", t_engine_save_delta_fails},
};

int main(int argc, char **argv)
{
	return fake_test_main(tests, sizeof(tests) / sizeof(tests[0]),
			      &failures, "test_core", argc, argv);
}
