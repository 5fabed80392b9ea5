/* SPDX-License-Identifier: MIT */
/* test_guest_rt.c - host unit tests of the guest runtime's pure parts. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/rt/pure.h"
#include "guest/apps/sieve.h"
#include "guest/apps/synth_args.h"
#define SELFTEST_COUNTING
#include "tests/common/selftest.h"

static int failures;

/* ---- printf formatting: compared with the host libc ---- */

#define FMT_SAME(...)                                                          \
	do {                                                                   \
		char a[256], b[256];                                           \
		int ra = ukf_snprintf(a, sizeof(a), __VA_ARGS__);              \
		int rb = snprintf(b, sizeof(b), __VA_ARGS__);                  \
		if (ra != rb || strcmp(a, b)) {                                \
			fprintf(stderr,                                        \
				"%s:%d: format %s: got '%s' (%d), "            \
				"libc '%s' (%d)\n",                            \
				__FILE__, __LINE__, #__VA_ARGS__, a, ra, b,    \
				rb);                                           \
			failures++;                                            \
		}                                                              \
	} while (0)

static void t_printf_conversions(void)
{
	FMT_SAME("plain text");
	FMT_SAME("%d %i %u", 42, -17, 3000000000u);
	FMT_SAME("%d", -2147483647 - 1);
	FMT_SAME("%x %X %x", 0xdeadbeefu, 0xabcdefu, 0u);
	FMT_SAME("%s|%c|%%", "str", 'z');
	FMT_SAME("%ld %lu %lx", -1234567890123L, 18446744073709551615UL,
		 0xfeedfacecafeUL);
	FMT_SAME("%lld %llu", -9223372036854775807LL - 1,
		 18446744073709551615ULL);
	FMT_SAME("%zu %zd %zx", (size_t)123456789, (ssize_t)-5, (size_t)255);
	FMT_SAME("%p", (void *)0x1234abcd);
}

static void t_printf_width_flags(void)
{
	FMT_SAME("[%5d][%-5d][%05d]", 42, 42, 42);
	FMT_SAME("[%5d][%-5d][%05d]", -42, -42, -42);
	FMT_SAME("[%8x][%-8X][%08x]", 0xbeefu, 0xbeefu, 0xbeefu);
	FMT_SAME("[%10s][%-10s][%.2s][%10.3s]", "abc", "abc", "abc", "abcdef");
	FMT_SAME("[%.5d][%8.5d][%-8.5d][%08.5d]", 42, 42, -42, 42);
	FMT_SAME("[%.0d][%.0x][%5.0d]", 0, 0u, 0);
	FMT_SAME("[%*d][%-*d][%.*s]", 6, 7, 6, 7, 2, "xyz");
	FMT_SAME("[%*d]", -6, 7);
	FMT_SAME("[%3c][%-3c]", 'a', 'b');
	FMT_SAME("[%020llu]", 18446744073709551615ULL);
	FMT_SAME("[%-20p]", (void *)0xffff);
}

static void t_printf_truncation(void)
{
	char buf[8];
	memset(buf, 'X', sizeof(buf));
	int r = ukf_snprintf(buf, sizeof(buf), "%s", "0123456789");
	CHECK(r == 10);
	CHECK(strcmp(buf, "0123456") == 0);
	r = ukf_snprintf(buf, 1, "abc");
	CHECK(r == 3 && buf[0] == '\0');
	memset(buf, 'X', sizeof(buf));
	r = ukf_snprintf(buf, 0, "abc");
	CHECK(r == 3 && buf[0] == 'X'); /* n == 0 writes nothing */
	r = ukf_snprintf(NULL, 0, "%d", 12345);
	CHECK(r == 5);
	/* hostile format strings: unknown and truncated conversions */
	char big[64];
	r = ukf_snprintf(big, sizeof(big), "a%qb%");
	CHECK(strcmp(big, "a%qb%") == 0 && r == 5);
	r = ukf_snprintf(big, sizeof(big), "%s", (char *)NULL);
	CHECK(strcmp(big, "(null)") == 0);
	r = ukf_snprintf(big, sizeof(big), "%999999d", 1);
	CHECK(r == 999999 && strlen(big) == sizeof(big) - 1);
}

/* ---- argument splitting ---- */

static void t_args_split(void)
{
	char s[] = "  mem=64M   init=50ms\twork=10ms\n";
	char *av[8];
	int n = ukf_split_args(s, av, 8);
	CHECK(n == 3);
	CHECK(!strcmp(av[0], "mem=64M") && !strcmp(av[1], "init=50ms") &&
	      !strcmp(av[2], "work=10ms") && av[3] == NULL);

	char q[] = "a \"b c\" 'd \"e\"' f\\ g \"h\\\"i\" ''";
	n = ukf_split_args(q, av, 8);
	CHECK(n == 6);
	CHECK(n == 6 && !strcmp(av[0], "a") && !strcmp(av[1], "b c") &&
	      !strcmp(av[2], "d \"e\"") && !strcmp(av[3], "f g") &&
	      !strcmp(av[4], "h\"i") && !strcmp(av[5], ""));

	char e[] = "";
	CHECK(ukf_split_args(e, av, 8) == 0 && av[0] == NULL);
	char blank[] = " \t \n";
	CHECK(ukf_split_args(blank, av, 8) == 0);
}

static void t_args_bad(void)
{
	char *av[4];
	char unterminated[] = "a \"b c";
	CHECK(ukf_split_args(unterminated, av, 4) == -1);
	char single[] = "x 'y";
	CHECK(ukf_split_args(single, av, 4) == -1);
	/* more words than room: counted, extra dropped, no overflow */
	char many[] = "1 2 3 4 5 6";
	av[3] = (char *)"sentinel";
	int n = ukf_split_args(many, av, 3);
	CHECK(n == 6);
	CHECK(!strcmp(av[2], "3") && !strcmp(av[3], "sentinel"));
	/* trailing backslash is dropped, not read past the end */
	char bs[] = "ab\\";
	CHECK(ukf_split_args(bs, av, 4) == 1 && !strcmp(av[0], "ab"));
}

/* ---- heap ---- */

static void t_heap_basic(void)
{
	static unsigned char mem[1 << 16];
	struct ukf_heap h;
	ukf_heap_init(&h, mem + 3, mem + sizeof(mem) - 5);
	CHECK(ukf_heap_check(&h) == 0);
	void *a = ukf_heap_alloc(&h, 100);
	void *b = ukf_heap_alloc(&h, 0);
	void *c = ukf_heap_alloc(&h, 5000);
	CHECK(a && b && c && a != b && b != c);
	CHECK((uintptr_t)a % 16 == 0 && (uintptr_t)b % 16 == 0 &&
	      (uintptr_t)c % 16 == 0);
	CHECK(ukf_heap_usable(&h, a) >= 100 && ukf_heap_usable(&h, c) >= 5000);
	memset(a, 1, 100);
	memset(c, 3, 5000);
	CHECK(((unsigned char *)a)[99] == 1);
	/* blocks stay inside the range and do not overlap */
	CHECK((uintptr_t)c + 5000 <= (uintptr_t)mem + sizeof(mem));
	CHECK((uintptr_t)a + 100 <= (uintptr_t)c ||
	      (uintptr_t)c + 5000 <= (uintptr_t)a);
	ukf_heap_free(&h, b);
	ukf_heap_free(&h, a);
	ukf_heap_free(&h, c);
	CHECK(ukf_heap_check(&h) == 0);
	CHECK(h.in_use == 0 && h.nallocs == 0);
	/* everything merged back: the whole range is allocatable again */
	void *all = ukf_heap_alloc(&h, (h.end - h.start) - 16);
	CHECK(all != NULL);
	ukf_heap_free(&h, all);
	ukf_heap_free(&h, NULL);
}

static void t_heap_exhaust(void)
{
	static unsigned char mem[4096];
	struct ukf_heap h;
	ukf_heap_init(&h, mem, mem + sizeof(mem));
	CHECK(ukf_heap_alloc(&h, 4096) == NULL);
	CHECK(ukf_heap_alloc(&h, (size_t)-1) == NULL);
	CHECK(ukf_heap_alloc(&h, (size_t)-20) == NULL);
	int n = 0;
	while (ukf_heap_alloc(&h, 100))
		n++;
	CHECK(n > 20 && n <= 4096 / 112);
	CHECK(ukf_heap_check(&h) == 0);
	/* an empty or inverted range gives a heap that refuses everything */
	struct ukf_heap z;
	ukf_heap_init(&z, mem + 100, mem + 50);
	CHECK(ukf_heap_alloc(&z, 1) == NULL);
}

static void t_heap_random(void)
{
	static unsigned char mem[1 << 20];
	struct ukf_heap h;
	ukf_heap_init(&h, mem, mem + sizeof(mem));
	void *p[256] = {0};
	size_t sz[256] = {0};
	unsigned seed = 12345;
	for (int step = 0; step < 20000; step++) {
		seed = seed * 1103515245u + 12345u;
		int i = (seed >> 8) % 256;
		if (p[i]) {
			/* contents survive until freed */
			unsigned char *q = p[i];
			CHECK(sz[i] == 0 || (q[0] == (unsigned char)i &&
					     q[sz[i] - 1] == (unsigned char)i));
			if ((seed >> 20) & 1) {
				size_t ns = (seed >> 4) % 9000 + 1;
				void *r = ukf_heap_realloc(&h, p[i], ns);
				if (r) {
					unsigned char *rq = r;
					size_t keep = sz[i] < ns ? sz[i] : ns;
					CHECK(keep == 0 ||
					      rq[0] == (unsigned char)i);
					memset(r, i, ns);
					p[i] = r;
					sz[i] = ns;
				}
			} else {
				ukf_heap_free(&h, p[i]);
				p[i] = NULL;
			}
		} else {
			size_t s = (seed >> 4) % 9000;
			p[i] = ukf_heap_alloc(&h, s);
			sz[i] = s;
			if (p[i])
				memset(p[i], i, s);
		}
		if (step % 1000 == 0)
			CHECK(ukf_heap_check(&h) == 0);
	}
	for (int i = 0; i < 256; i++)
		ukf_heap_free(&h, p[i]);
	CHECK(ukf_heap_check(&h) == 0 && h.in_use == 0);
	CHECK(ukf_heap_alloc(&h, sizeof(mem) - 64) != NULL);
}

/* ---- console batching ---- */

struct sink {
	int emits;
	size_t total;
	char out[65536];
};

static void sink_emit(void *u, const char *p, size_t n)
{
	struct sink *k = u;
	k->emits++;
	if (k->total + n <= sizeof(k->out))
		memcpy(k->out + k->total, p, n);
	k->total += n;
}

static void con_init(struct ukf_con *c, struct sink *k, int with_alloc)
{
	memset(c, 0, sizeof(*c));
	memset(k, 0, sizeof(*k));
	c->emit = sink_emit;
	c->u = k;
	if (with_alloc) {
		c->alloc = malloc;
		c->release = free;
	}
}

static int cprintf(struct ukf_con *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = ukf_con_vprintf(c, fmt, ap);
	va_end(ap);
	return n;
}

static void t_console_lines(void)
{
	static struct ukf_con c;
	static struct sink k;
	con_init(&c, &k, 1);
	/* several lines in one call: one emit */
	CHECK(cprintf(&c, "a\nb %d\nc\n", 2) == 8);
	CHECK(k.emits == 1 && k.total == 8 && !memcmp(k.out, "a\nb 2\nc\n", 8));
	/* a partial line waits for the rest */
	cprintf(&c, "UKF-");
	CHECK(k.emits == 1);
	cprintf(&c, "READY\n");
	CHECK(k.emits == 2 && !memcmp(k.out + 8, "UKF-READY\n", 10));
	/* byte-at-a-time writes are batched until the newline */
	for (int i = 0; i < 100; i++)
		ukf_con_write(&c, "x", 1);
	CHECK(k.emits == 2);
	ukf_con_write(&c, "\n", 1);
	CHECK(k.emits == 3 && k.total == 8 + 10 + 101);
	/* flushing an empty buffer emits nothing */
	ukf_con_flush(&c);
	CHECK(k.emits == 3);
}

static void t_console_full(void)
{
	static struct ukf_con c;
	static struct sink k;
	static char want[65536];
	size_t wl = 0;
	con_init(&c, &k, 1);
	c.full = 1;
	for (int i = 0; i < 200; i++) {
		int n = cprintf(&c, "line %03d of the full-mode test\n", i);
		wl += (size_t)snprintf(want + wl, sizeof(want) - wl,
				       "line %03d of the full-mode test\n", i);
		CHECK(n == 31);
	}
	/* 6200 bytes: emitted only when the 4 KiB buffer filled */
	CHECK(k.emits == 1);
	ukf_con_flush(&c);
	CHECK(k.emits == 2 && k.total == wl && !memcmp(k.out, want, wl));
}

static void t_console_big(void)
{
	static struct ukf_con c;
	static struct sink k;
	static char big[10001];
	memset(big, 'B', 10000);
	big[10000] = 0;
	con_init(&c, &k, 1);
	cprintf(&c, "head ");
	/* larger than the buffer: what was buffered, then the whole block */
	CHECK(cprintf(&c, "%s\n", big) == 10001);
	CHECK(k.emits == 2 && k.total == 5 + 10001);
	CHECK(!memcmp(k.out, "head B", 6) && k.out[5 + 10000] == '\n');
	/* raw writes larger than the buffer go out directly, in order */
	ukf_con_write(&c, "abc", 3);
	ukf_con_write(&c, big, 5000);
	CHECK(k.emits == 4 && !memcmp(k.out + 10006, "abcBBB", 6));
	/* without an allocator a too-long printf fails and prints nothing */
	con_init(&c, &k, 0);
	CHECK(cprintf(&c, "%s", big) == -1 && k.emits == 0 && c.len == 0);
	/* an output that exactly fills what is left of the buffer */
	con_init(&c, &k, 1);
	c.full = 1;
	memset(big, 'C', UKF_CON_BUF);
	big[UKF_CON_BUF - 10] = 0;
	cprintf(&c, "0123456789");
	CHECK(cprintf(&c, "%s", big) == UKF_CON_BUF - 10);
	CHECK(k.emits == 1 && k.total == 10);
	ukf_con_flush(&c);
	CHECK(k.emits == 2 && k.total == UKF_CON_BUF);
}

/* ---- synth's parser ---- */

static int parse_str(struct synth_cfg *c, const char *s, char *err)
{
	char buf[512], *av[32];
	snprintf(buf, sizeof(buf), "%s", s);
	int n = ukf_split_args(buf, av, 32);
	synth_defaults(c);
	return synth_parse(c, n, av, err, 256);
}

static void t_synth_parse(void)
{
	struct synth_cfg c;
	char err[256];
	CHECK(parse_str(&c, "", err) == 0);
	CHECK(c.mem == 64ULL << 20 && c.init_ns == 50000000 &&
	      c.work_ns == 10000000 && c.dirty == 256 && c.fork == 0 &&
	      c.units == 1);
	CHECK(parse_str(&c,
			"mem=128M init=1s work=250us dirty=7 fork=4 "
			"units=3 vcpus=2 image=2M",
			err) == 0);
	CHECK(c.mem == 128ULL << 20 && c.init_ns == 1000000000ULL &&
	      c.work_ns == 250000 && c.dirty == 7 && c.fork == 4 &&
	      c.units == 3);
	CHECK(parse_str(&c, "mem=4096 init=20 work=1.5ms", err) == 0);
	CHECK(c.mem == 4096 && c.init_ns == 20000000 && c.work_ns == 1500000);
	uint64_t v;
	CHECK(synth_parse_size("1G", &v) == 0 && v == 1ULL << 30);
	CHECK(synth_parse_size("1.5K", &v) == 0 && v == 1536);
	CHECK(synth_parse_size("2MiB", &v) == 0 && v == 2ULL << 20);
	CHECK(synth_parse_size("10k", &v) == 0 && v == 10240);
	CHECK(synth_parse_time("7ns", &v) == 0 && v == 7);
	CHECK(synth_parse_time("0.25s", &v) == 0 && v == 250000000);
	CHECK(synth_parse_time("3us", &v) == 0 && v == 3000);
}

static void t_synth_bad(void)
{
	struct synth_cfg c;
	char err[256];
	static const char *bad[] = {
	    "mem=",
	    "mem=0",
	    "mem=64X",
	    "mem=-1M",
	    "mem=M",
	    "init=5h",
	    "init=ms",
	    "work=1..5ms",
	    "dirty=-1",
	    "dirty=4294967296",
	    "fork=two",
	    "units=1.5",
	    "vcpus=0",
	    "bogus=1",
	    "mem64M",
	    "=5",
	    "averyveryverylongkey=1",
	    "mem=99999999999999999999",
	    "mem=17179869184G",
	    "image=",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		int r = parse_str(&c, bad[i], err);
		if (r != -1 || !err[0]) {
			fprintf(stderr, "synth accepted bad '%s'\n", bad[i]);
			failures++;
		}
	}
	/* the message names what was wrong */
	parse_str(&c, "mem=64M bogus=1", err);
	CHECK(strstr(err, "bogus") != NULL);
	parse_str(&c, "init=5h", err);
	CHECK(strstr(err, "init=5h") != NULL);
}

/* ---- fanout's sieve ---- */

static uint64_t naive_count(uint64_t lo, uint64_t hi)
{
	uint64_t n = 0;
	for (uint64_t x = lo; x < hi; x++) {
		if (x < 2)
			continue;
		int prime = 1;
		for (uint64_t d = 2; d * d <= x; d++)
			if (x % d == 0) {
				prime = 0;
				break;
			}
		n += prime;
	}
	return n;
}

static void t_sieve(void)
{
	static uint32_t base[SIEVE_BASE_MAX];
	static uint8_t seg[SIEVE_SEG_BYTES];
	int nb = sieve_base(200000, base, SIEVE_BASE_MAX, seg);
	CHECK(nb > 0);
	/* ranges of every shape against trial division */
	static const uint64_t r[][2] = {
	    {0, 0},	    {0, 1},	 {0, 2},	  {0, 3},
	    {2, 3},	    {3, 4},	 {0, 100},	  {1, 2},
	    {24, 29},	    {24, 30},	 {97, 98},	  {1000, 70000},
	    {65535, 65539}, {0, 200000}, {199990, 200000}};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		uint64_t got = sieve_count(r[i][0], r[i][1], base, nb, seg);
		uint64_t want = naive_count(r[i][0], r[i][1]);
		if (got != want) {
			fprintf(stderr, "sieve [%llu,%llu): %llu, want %llu\n",
				(unsigned long long)r[i][0],
				(unsigned long long)r[i][1],
				(unsigned long long)got,
				(unsigned long long)want);
			failures++;
		}
	}
	/* fanout's split of 10^7 into 8 slices adds up to pi(10^7) */
	nb = sieve_base(10000000, base, SIEVE_BASE_MAX, seg);
	uint64_t total = 0;
	for (int i = 0; i < 8; i++)
		total += sieve_count(10000000ULL * i / 8,
				     10000000ULL * (i + 1) / 8, base, nb, seg);
	CHECK(total == 664579);
	CHECK(sieve_base(SIEVE_N_MAX + 1, base, SIEVE_BASE_MAX, seg) == -1);
	CHECK(sieve_base(SIEVE_N_MAX, base, 10, seg) == -1);
	nb = sieve_base(SIEVE_N_MAX, base, SIEVE_BASE_MAX, seg);
	CHECK(nb == 9591); /* odd primes below 10^5 */
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
    {"printf_conversions", t_printf_conversions},
    {"printf_width_flags", t_printf_width_flags},
    {"printf_truncation", t_printf_truncation},
    {"args_split", t_args_split},
    {"args_bad", t_args_bad},
    {"heap_basic", t_heap_basic},
    {"heap_exhaust", t_heap_exhaust},
    {"heap_random", t_heap_random},
    {"console_lines", t_console_lines},
    {"console_full", t_console_full},
    {"console_big", t_console_big},
    {"synth_parse", t_synth_parse},
    {"synth_bad", t_synth_bad},
    {"sieve", t_sieve},
};

int main(int argc, char **argv)
{
	size_t n = sizeof(tests) / sizeof(tests[0]);
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", tests[i].name);
		return 0;
	}
	const char *only = NULL;
	if (argc == 3 && !strcmp(argv[1], "--run"))
		only = argv[2];
	else if (argc != 1) {
		fprintf(stderr, "usage: %s [--list | --run NAME]\n", argv[0]);
		return 2;
	}
	int ran = 0;
	for (size_t i = 0; i < n; i++) {
		if (only && strcmp(only, tests[i].name))
			continue;
		int before = failures;
		tests[i].fn();
		printf("%s: %s\n", tests[i].name,
		       failures == before ? "ok" : "FAILED");
		ran++;
	}
	if (!ran) {
		fprintf(stderr, "no test named '%s'\n", only);
		return 2;
	}
	return failures ? 1 : 0;
}
