/* SPDX-License-Identifier: MIT */
/* test_cmsg.c - the client protocol's and the directory update's codecs: round trips, and every way to break a body refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cmsg.h"
#include "agent/dmsg.h"

static int failures;
#define SELFTEST_COUNTING
#include "../common/selftest.h"

/* Every field of the struct set to a distinct value. */
static void fill(struct ukf_cmsg *m, unsigned type)
{
	static const char name[] = "synth", text[] = "mem=64M init=50ms",
			  text2[] = "/build/guest/synth", text3[] = "/var/tpl",
			  text4[] = "etcd http://127.0.0.1:2379: ok";
	uint64_t v = 0x0102030405060708ull;

	memset(m, 0, sizeof(*m));
	m->type = (enum ukf_cmsg_type)type;
#define SET(f) (m->f = (__typeof__(m->f))(v += 0x1111111111111111ull))
	SET(run); SET(req); SET(id); SET(parent); SET(tag); SET(rc);
	SET(status); SET(t); SET(epoch_ns); SET(retry_ns);
	SET(answer_timeout_ns); SET(run_limit_ns); SET(sample_every_ns);
	SET(nodes); SET(fetch); SET(prewarm_k); SET(max_children);
	SET(max_queue); SET(max_retries); SET(trace); SET(app); SET(origin);
	SET(node); SET(start); SET(remote); SET(template_fetched);
	SET(template_made); SET(delta_bytes); SET(dirty_pages); SET(t_request);
	SET(t_placed); SET(t_start); SET(t_ready); SET(t_exit); SET(instances);
	SET(vcpus_used); SET(vcpus); SET(templates); SET(mem_used); SET(mem);
	SET(cache_used); SET(cache); SET(requests); SET(cold);
	SET(template_clones); SET(forks); SET(remote_in); SET(fetches);
	SET(evictions); SET(rejects); SET(alive); SET(pending); SET(events);
	SET(incarnation);
#undef SET
	m->name = name;
	m->name_len = strlen(name);
	m->text = text;
	m->text_len = strlen(text);
	m->text2 = text2;
	m->text2_len = strlen(text2);
	m->text3 = text3;
	m->text3_len = strlen(text3);
	m->text4 = text4;
	m->text4_len = strlen(text4);
}

/* Encode, decode, encode again: the same bytes (every field the type
 * carries survives); the decoded strings equal the originals. */
static void t_roundtrip(void)
{
	for (unsigned t = UKF_C_RUN; t < UKF_C_TYPE_END; t++) {
		struct ukf_cmsg m, d;
		unsigned char a[UKF_CMSG_BODY_MAX], b[UKF_CMSG_BODY_MAX];
		char err[256];
		size_t na, nb;

		fill(&m, t);
		na = ukf_cmsg_encode(&m, a, sizeof(a));
		CHECKF(na > 0, "%s: not encoded", ukf_cmsg_name(t));
		CHECKF(ukf_cmsg_decode(&d, (uint16_t)t, a, na, 0, err,
				      sizeof(err)) == 0,
		      "%s: decode: %s", ukf_cmsg_name(t), err);
		nb = ukf_cmsg_encode(&d, b, sizeof(b));
		CHECKF(na == nb && !memcmp(a, b, na), "%s: not the same bytes",
		      ukf_cmsg_name(t));
		CHECKF(d.type == t, "%s: type", ukf_cmsg_name(t));
		if (d.text_len)
			CHECKF(d.text_len == m.text_len &&
				  !memcmp(d.text, m.text, m.text_len),
			      "%s: text", ukf_cmsg_name(t));
		/* too small a buffer: nothing written */
		CHECKF(ukf_cmsg_encode(&m, a, na - 1) == 0,
		      "%s: encoded into %zu bytes of %zu", ukf_cmsg_name(t),
		      na - 1, na);
	}
	/* an unknown type encodes to nothing */
	struct ukf_cmsg m;
	unsigned char buf[64];
	fill(&m, UKF_C_TYPE_END);
	CHECKF(ukf_cmsg_encode(&m, buf, sizeof(buf)) == 0, "type 147 encoded");
	CHECKF(!strcmp(ukf_cmsg_name(127), "?"), "name of 127");
}

/* Every truncation, trailing bytes, a string over its limit, unknown
 * types and oversized bodies are refused with a reason. */
static void t_reject(void)
{
	char err[256];

	for (unsigned t = UKF_C_RUN; t < UKF_C_TYPE_END; t++) {
		struct ukf_cmsg m, d;
		unsigned char a[UKF_CMSG_BODY_MAX + 16];
		size_t n;

		fill(&m, t);
		n = ukf_cmsg_encode(&m, a, sizeof(a));
		for (size_t cut = 0; cut < n; cut++) {
			err[0] = 0;
			CHECKF(ukf_cmsg_decode(&d, (uint16_t)t, a, cut, 0, err,
					      sizeof(err)) < 0,
			      "%s: %zu of %zu bytes accepted",
			      ukf_cmsg_name(t), cut, n);
			CHECKF(err[0], "%s: truncated: no reason",
			      ukf_cmsg_name(t));
		}
		/* a byte more: refused from a sender of our version, taken
		 * (appended field) from a newer one */
		a[n] = 0;
		CHECKF(ukf_cmsg_decode(&d, (uint16_t)t, a, n + 1, 0, err,
				      sizeof(err)) < 0,
		      "%s: trailing byte accepted", ukf_cmsg_name(t));
		CHECKF(ukf_cmsg_decode(&d, (uint16_t)t, a, n + 1, 1, err,
				      sizeof(err)) == 0,
		      "%s: a newer sender's appended byte refused: %s",
		      ukf_cmsg_name(t), err);
		/* as another type: refused or, if it happens to parse, with
		 * no crash (fields differ in kind and number) */
		(void)ukf_cmsg_decode(&d, (uint16_t)(t == UKF_C_RUN ? t + 1
								    : t - 1),
				      a, n, 0, err, sizeof(err));
	}
	{
		/* a string longer than its field allows */
		static char big[UKF_CMSG_TEXT_MAX + 2];
		struct ukf_cmsg m;
		unsigned char a[UKF_CMSG_BODY_MAX];
		memset(big, 'x', sizeof(big) - 1);
		fill(&m, UKF_C_CONSOLE);
		m.text = big;
		m.text_len = sizeof(big) - 1;
		CHECKF(ukf_cmsg_encode(&m, a, sizeof(a)) == 0,
		      "an over-long line was encoded");
		/* an app name over its limit */
		fill(&m, UKF_C_APP);
		m.name = big;
		m.name_len = 200;
		CHECKF(ukf_cmsg_encode(&m, a, sizeof(a)) == 0,
		      "an over-long app name was encoded");
	}
	{
		static unsigned char huge[UKF_CMSG_BODY_MAX + 1];
		struct ukf_cmsg d;
		CHECKF(ukf_cmsg_decode(&d, UKF_C_CONSOLE, huge, sizeof(huge), 1,
				      err, sizeof(err)) < 0 &&
			  strstr(err, "over the limit"),
		      "an oversized body: %s", err);
		for (unsigned t = 0; t < 256; t++) {
			if (t >= UKF_C_RUN && t < UKF_C_TYPE_END)
				continue;
			CHECKF(ukf_cmsg_decode(&d, (uint16_t)t, huge, 8, 0, err,
					      sizeof(err)) < 0,
			      "type %u accepted", t);
		}
		CHECKF(ukf_cmsg_decode(NULL, UKF_C_RUN, huge, 8, 0, err,
				      sizeof(err)) < 0,
		      "NULL message accepted");
	}
}

static void t_dmsg(void)
{
	unsigned char rec[300], a[1200], b[1200];
	struct ukf_dmsg m = { .run = 0xabcdef0123456789ull, .rec = rec,
			      .rec_len = sizeof(rec) },
			d;
	char err[256];
	size_t n, k;

	for (size_t i = 0; i < sizeof(rec); i++)
		rec[i] = (unsigned char)(i * 7);
	n = ukf_dmsg_encode(&m, a, sizeof(a));
	CHECKF(n > sizeof(rec), "not encoded");
	CHECKF(ukf_dmsg_decode(&d, a, n, 0, err, sizeof(err)) == 0, "%s", err);
	CHECKF(d.run == m.run && d.rec_len == m.rec_len &&
		  !memcmp(d.rec, rec, sizeof(rec)),
	      "not the same update");
	k = ukf_dmsg_encode(&d, b, sizeof(b));
	CHECKF(k == n && !memcmp(a, b, n), "not the same bytes");
	for (size_t cut = 0; cut < n; cut++)
		CHECKF(ukf_dmsg_decode(&d, a, cut, 0, err, sizeof(err)) < 0,
		      "%zu of %zu bytes accepted", cut, n);
	CHECKF(ukf_dmsg_encode(&m, a, n - 1) == 0, "encoded into too little");
	{
		static unsigned char big[1100];
		struct ukf_dmsg o = { .run = 1, .rec = big, .rec_len = 1025 };
		CHECKF(ukf_dmsg_encode(&o, a, sizeof(a)) == 0,
		      "a record over 1 KiB was encoded");
	}
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = { { "cmsg_roundtrip", t_roundtrip },
		      { "cmsg_reject", t_reject },
		      { "dmsg_codec", t_dmsg } };
	int ran = 0;

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (argc < 3 || !strcmp(argv[2], tests[i].name)) {
			tests[i].fn();
			ran++;
		}
	if (!ran) {
		fprintf(stderr, "usage: %s [--run NAME]\n", argv[0]);
		return 2;
	}
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
