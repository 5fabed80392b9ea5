/* SPDX-License-Identifier: MIT */
/* vmm_test.c - self-tests of backends/vmm (every call's checks, answers and events, complete, console lines, marker) on a fake backend: no KVM needed. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/vmm/vmm.h"
#include "tests/common/selftest.h"

/*
 * The fake backend: guest memory is a flat calloc'd buffer checked by
 * ukf_vmm_range_ok (the ABI's rule, as KVM applies it), events are copied
 * into a log. Argument structs go at ARG, buffers at BUF.
 */
#define MEM (4ULL << 20)
#define ARG 0x200000ULL
#define BUF 0x201000ULL
#define BOOT_NS 1000000000LL
#define MAXEV 16

struct rec {
	struct ukf_be_event ev;
	char text[600];
	char data[8192];
};

struct fake {
	uint8_t *mem;
	uint64_t mem_size;
	unsigned translates;
	unsigned nev;
	struct rec ev[MAXEV];
	struct ukf_vmm g;
};

static void *f_translate(void *be, ukf_gpa_t gpa, uint64_t len, int write)
{
	struct fake *f = be;

	f->translates++;
	return ukf_vmm_range_ok(f->mem_size, gpa, len, write) ? f->mem + gpa
							      : NULL;
}

static void f_emit(void *be, struct ukf_be_event *ev)
{
	struct fake *f = be;
	struct rec *r;

	if (f->nev >= MAXEV)
		return;
	r = &f->ev[f->nev++];
	r->ev = *ev;
	if (ev->text)
		snprintf(r->text, sizeof(r->text), "%s", ev->text);
	if (ev->data && ev->len < sizeof(r->data)) {
		memcpy(r->data, ev->data, ev->len);
		r->data[ev->len] = 0;
	}
}

static void f_ident(void *be, struct ukf_vmm_ident *id)
{
	(void)be;
	id->inst = 42;
	id->parent = 7;
	id->node = 3;
	id->boot_ns = BOOT_NS;
	id->args = "alpha beta";
}

static uint64_t f_dirty(void *be)
{
	(void)be;
	return 99;
}

static const struct ukf_vmm_ops fake_ops = {
	.translate = f_translate,
	.emit = f_emit,
	.ident = f_ident,
	.dirty_pages = f_dirty,
};

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->mem_size = MEM;
	f->mem = calloc(1, MEM);
	if (!f->mem) {
		free(f);
		return NULL;
	}
	ukf_vmm_init(&f->g, &fake_ops, f);
	return f;
}

static void fake_free(struct fake *f)
{
	if (f) {
		free(f->mem);
		free(f);
	}
}

/* Put a struct into guest memory at gpa. */
static void put(struct fake *f, ukf_gpa_t gpa, const void *p, size_t n)
{
	memcpy(f->mem + gpa, p, n);
}

static int64_t ret_at(struct fake *f, ukf_gpa_t gpa)
{
	int64_t r;

	memcpy(&r, f->mem + gpa, sizeof(r));
	return r;
}

/* Dispatch and expect FAIL with exactly `reason`. */
static int fails_with(struct fake *f, uint32_t nr, ukf_gpa_t gpa,
		      const char *reason)
{
	struct ukf_vmm_call c;
	enum ukf_vmm_outcome o = ukf_vmm_dispatch(&f->g, nr, gpa, &c);

	if (o != UKF_VMM_FAIL || strcmp(c.reason, reason)) {
		fprintf(stderr, "call %u at 0x%llx: outcome %d reason '%s', "
				"expected FAIL '%s'\n",
			nr, (unsigned long long)gpa, o, c.reason, reason);
		return 0;
	}
	return 1;
}

/* Dispatch and expect RESUME with ret `want` in the struct. */
static int answers(struct fake *f, uint32_t nr, int64_t want)
{
	struct ukf_vmm_call c;
	enum ukf_vmm_outcome o = ukf_vmm_dispatch(&f->g, nr, ARG, &c);

	if (o != UKF_VMM_RESUME || ret_at(f, ARG) != want) {
		fprintf(stderr, "call %u: outcome %d ret %lld, expected RESUME "
				"%lld (%s)\n",
			nr, o, (long long)ret_at(f, ARG), (long long)want,
			c.reason);
		return 0;
	}
	return 1;
}

static int test_call_table(void)
{
	CHECK(!strcmp(ukf_vmm_call_name(UKF_HC_CONSOLE), "console"));
	CHECK(!strcmp(ukf_vmm_call_name(UKF_HC_RECV), "recv"));
	CHECK(!strcmp(ukf_vmm_call_name(12), "unknown"));
	CHECK(!strcmp(ukf_vmm_call_name(1000), "unknown"));
	CHECK(ukf_vmm_call_size(UKF_HC_SPAWN) == sizeof(struct ukf_hc_spawn));
	CHECK(ukf_vmm_call_size(UKF_HC_INFO) == sizeof(struct ukf_hc_info));
	CHECK(ukf_vmm_call_size(13) == 8 && ukf_vmm_call_size(~0u) == 8);
	/* the ABI's memory rule */
	CHECK(!ukf_vmm_range_ok(MEM, 0, 8, 0));
	CHECK(!ukf_vmm_range_ok(MEM, 0x2000, 8, 0));
	CHECK(ukf_vmm_range_ok(MEM, UKF_BOOTINFO_GPA, 8, 0));
	CHECK(!ukf_vmm_range_ok(MEM, UKF_BOOTINFO_GPA, 8, 1));
	CHECK(ukf_vmm_range_ok(MEM, MEM - 8, 8, 1));
	CHECK(!ukf_vmm_range_ok(MEM, MEM - 8, 9, 1));
	CHECK(!ukf_vmm_range_ok(MEM, UINT64_MAX - 15, 32, 0));
	return 0;
}

/* Every call: a misaligned struct, one in the monitor area, in the read-
 * only boot info page, straddling the end, wrapping: the guest fails. */
static int test_bad_struct(void)
{
	struct fake *f = fake_new();
	char want[200];

	CHECK(f);
	for (uint32_t nr = 0; nr < UKF_HC_MAX; nr++) {
		uint32_t sz = ukf_vmm_call_size(nr);

		snprintf(want, sizeof(want),
			 "hypercall %s: misaligned argument struct at 0x200004",
			 ukf_vmm_call_name(nr));
		CHECK(fails_with(f, nr, ARG + 4, want));
		snprintf(want, sizeof(want),
			 "hypercall %s: bad argument struct [0x2000, +0x%x)",
			 ukf_vmm_call_name(nr), sz);
		CHECK(fails_with(f, nr, 0x2000, want));
		snprintf(want, sizeof(want),
			 "hypercall %s: bad argument struct [0x80000, +0x%x)",
			 ukf_vmm_call_name(nr), sz);
		CHECK(fails_with(f, nr, UKF_BOOTINFO_GPA, want));
		snprintf(want, sizeof(want),
			 "hypercall %s: bad argument struct [0x%llx, +0x%x)",
			 ukf_vmm_call_name(nr),
			 (unsigned long long)(MEM - 8), sz);
		if (sz > 8)
			CHECK(fails_with(f, nr, MEM - 8, want));
		snprintf(want, sizeof(want),
			 "hypercall %s: bad argument struct "
			 "[0xfffffffffffffff8, +0x%x)",
			 ukf_vmm_call_name(nr), sz);
		CHECK(fails_with(f, nr, 0xfffffffffffffff8ULL, want));
	}
	CHECK(f->nev == 0); /* failures are returned, not emitted */
	fake_free(f);
	return 0;
}

/* A buffer inside each call's struct that the accessor refuses fails the
 * guest, naming the call, the buffer and its range. */
static int test_bad_buffers(void)
{
	struct fake *f = fake_new();

	CHECK(f);
	{
		struct ukf_hc_console x = { 0, 0x7fff00000000ULL, 0x10 };

		put(f, ARG, &x, sizeof(x));
		CHECK(fails_with(f, UKF_HC_CONSOLE, ARG,
				 "hypercall console: bad console buffer "
				 "[0x7fff00000000, +0x10)"));
		x.buf = 0xfffffffffffffff0ULL;
		x.len = 0x20; /* wraps */
		put(f, ARG, &x, sizeof(x));
		CHECK(fails_with(f, UKF_HC_CONSOLE, ARG,
				 "hypercall console: bad console buffer "
				 "[0xfffffffffffffff0, +0x20)"));
	}
	{
		struct ukf_hc_abort x = { 0, 0, 5 };

		put(f, ARG, &x, sizeof(x));
		CHECK(fails_with(f, UKF_HC_ABORT, ARG,
				 "hypercall abort: bad abort message [0x0, "
				 "+0x5)"));
	}
	{
		/* info writes: the boot info page is read-only */
		struct ukf_hc_info x = { 0 };

		x.args_buf = UKF_BOOTINFO_GPA;
		x.args_cap = 16;
		put(f, ARG, &x, sizeof(x));
		CHECK(fails_with(f, UKF_HC_INFO, ARG,
				 "hypercall info: bad info buffer [0x80000, "
				 "+0x10)"));
	}
	{
		struct ukf_hc_spawn x = { 0, 0x10, 5, BUF, 3 };

		put(f, ARG, &x, sizeof(x));
		CHECK(fails_with(f, UKF_HC_SPAWN, ARG,
				 "hypercall spawn: bad spawn app name [0x10, "
				 "+0x5)"));
		x.app = BUF;
		x.args = MEM - 1;
		put(f, ARG, &x, sizeof(x));
		CHECK(fails_with(f, UKF_HC_SPAWN, ARG,
				 "hypercall spawn: bad spawn arguments "
				 "[0x3fffff, +0x3)"));
	}
	{
		struct ukf_hc_send x = { 0, 5, MEM, 1 };

		put(f, ARG, &x, sizeof(x));
		CHECK(fails_with(f, UKF_HC_SEND, ARG,
				 "hypercall send: bad send buffer [0x400000, "
				 "+0x1)"));
	}
	{
		/* recv: checked for writing, at most UKF_MSG_MAX of cap */
		struct ukf_hc_recv x = { 0, UKF_BOOTINFO_GPA, 100000, 0, 0 };

		put(f, ARG, &x, sizeof(x));
		CHECK(fails_with(f, UKF_HC_RECV, ARG,
				 "hypercall recv: bad recv buffer [0x80000, "
				 "+0x1000)"));
		x.buf = MEM - 100; /* cap 100000 is cut to 4096: past the end */
		put(f, ARG, &x, sizeof(x));
		CHECK(fails_with(f, UKF_HC_RECV, ARG,
				 "hypercall recv: bad recv buffer [0x3fff9c, "
				 "+0x1000)"));
	}
	CHECK(f->nev == 0);
	fake_free(f);
	return 0;
}

/* Bad lengths, names and flags: an error code to the guest, which goes on. */
static int test_refused(void)
{
	struct fake *f = fake_new();
	char big[UKF_ARGS_MAX + 8];

	CHECK(f);
	{
		struct ukf_hc_console x = { 0, BUF, UKF_CONSOLE_MAX + 1 };

		put(f, ARG, &x, sizeof(x));
		CHECK(answers(f, UKF_HC_CONSOLE, -UKF_EINVAL));
		x.buf = 0; /* an empty write needs no buffer */
		x.len = 0;
		put(f, ARG, &x, sizeof(x));
		CHECK(answers(f, UKF_HC_CONSOLE, 0));
	}
	{
		struct ukf_hc_fork x = { 0, 1 };

		put(f, ARG, &x, sizeof(x));
		CHECK(answers(f, UKF_HC_FORK, -UKF_EINVAL));
	}
	{
		struct ukf_hc_send x = { 0, 5, BUF, UKF_MSG_MAX + 1 };

		put(f, ARG, &x, sizeof(x));
		CHECK(answers(f, UKF_HC_SEND, -UKF_EMSGSIZE));
	}
	{
		struct ukf_hc_spawn x = { 0, BUF, 0, BUF + 0x100, 0 };

		put(f, ARG, &x, sizeof(x));
		CHECK(answers(f, UKF_HC_SPAWN, -UKF_EINVAL)); /* no name */
		x.app_len = UKF_APP_NAME_MAX;
		put(f, ARG, &x, sizeof(x));
		CHECK(answers(f, UKF_HC_SPAWN, -UKF_EINVAL)); /* too long */
		x.app_len = 5;
		x.args_len = UKF_ARGS_MAX;
		put(f, ARG, &x, sizeof(x));
		CHECK(answers(f, UKF_HC_SPAWN, -UKF_EINVAL)); /* args long */
		put(f, BUF, "ab\0cd", 5);
		x.args_len = 0;
		put(f, ARG, &x, sizeof(x));
		CHECK(answers(f, UKF_HC_SPAWN, -UKF_EINVAL)); /* NUL */
		put(f, BUF, "ab\ncd", 5);
		CHECK(answers(f, UKF_HC_SPAWN, -UKF_EINVAL)); /* control */
		put(f, BUF, "hello", 5);
		put(f, BUF + 0x100, "x\0y", 3);
		x.args_len = 3;
		put(f, ARG, &x, sizeof(x));
		CHECK(answers(f, UKF_HC_SPAWN, -UKF_EINVAL)); /* NUL arg */
		memset(big, 'a', sizeof(big));
		put(f, BUF + 0x100, big, UKF_ARGS_MAX - 1);
		x.args_len = UKF_ARGS_MAX - 1; /* the longest accepted */
		put(f, ARG, &x, sizeof(x));
		{
			struct ukf_vmm_call c;

			CHECK(ukf_vmm_dispatch(&f->g, UKF_HC_SPAWN, ARG, &c) ==
			      UKF_VMM_PAUSE);
			CHECK(c.ev.len == UKF_ARGS_MAX - 1);
		}
	}
	for (uint32_t nr = 12; nr < UKF_HC_MAX; nr++) {
		int64_t zero = 0;

		put(f, ARG, &zero, sizeof(zero));
		CHECK(answers(f, nr, -UKF_ENOSYS));
	}
	CHECK(f->nev == 0);
	fake_free(f);
	return 0;
}

/* console, time and info are answered at once. */
static int test_answers(void)
{
	struct fake *f = fake_new();
	struct ukf_vmm_call c;
	ukf_ns_t t0 = ukf_vmm_now();

	CHECK(f);
	{
		struct ukf_hc_console x = { 0, BUF, 6 };

		put(f, BUF, "hi\nthe", 6);
		put(f, ARG, &x, sizeof(x));
		f->translates = 0;
		CHECK(answers(f, UKF_HC_CONSOLE, 6));
		CHECK(f->translates == 2); /* struct + buffer, one call each */
		CHECK(f->nev == 1 && f->ev[0].ev.kind == UKF_BE_CONSOLE &&
		      !strcmp(f->ev[0].data, "hi") && f->ev[0].ev.at >= t0);
	}
	{
		struct ukf_hc_time x;

		memset(&x, 0xff, sizeof(x));
		put(f, ARG, &x, sizeof(x));
		CHECK(ukf_vmm_dispatch(&f->g, UKF_HC_TIME, ARG, &c) ==
		      UKF_VMM_RESUME);
		memcpy(&x, f->mem + ARG, sizeof(x));
		CHECK(x.ret == 0);
		CHECK(x.mono_ns >= (uint64_t)(t0 - BOOT_NS) &&
		      x.mono_ns <= (uint64_t)(ukf_vmm_now() - BOOT_NS));
		CHECK(x.wall_ns > 1500000000ULL * UKF_S); /* after 2017 */
	}
	{
		struct ukf_hc_info x = { 0 };

		x.args_buf = BUF;
		x.args_cap = 6; /* "alpha beta" cut to "alpha" */
		memset(f->mem + BUF, 'z', 16);
		put(f, ARG, &x, sizeof(x));
		CHECK(ukf_vmm_dispatch(&f->g, UKF_HC_INFO, ARG, &c) ==
		      UKF_VMM_RESUME);
		memcpy(&x, f->mem + ARG, sizeof(x));
		CHECK(x.ret == 10 && x.instance_id == 42 && x.parent_id == 7 &&
		      x.node == 3);
		CHECK(!strcmp((char *)f->mem + BUF, "alpha"));
		CHECK(f->mem[BUF + 6] == 'z'); /* nothing past the cap */
		x.args_buf = 0; /* ids only */
		x.ret = -1;
		put(f, ARG, &x, sizeof(x));
		CHECK(answers(f, UKF_HC_INFO, 10));
	}
	CHECK(f->nev == 1);
	fake_free(f);
	return 0;
}

/* The calls the engine answers become PAUSE with their event; exit and
 * abort end the guest after the partial console line. */
static int test_events(void)
{
	struct fake *f = fake_new();
	struct ukf_vmm_call c;

	CHECK(f);
	CHECK(ukf_vmm_dispatch(&f->g, UKF_HC_READY, ARG, &c) == UKF_VMM_PAUSE);
	CHECK(c.ev.kind == UKF_BE_READY && c.ev.dirty_pages == 99);
	CHECK(c.nr == UKF_HC_READY && c.gpa == ARG);
	f->g.pause_on_ready = 0;
	put(f, ARG, &(int64_t){ -5 }, 8);
	CHECK(ukf_vmm_dispatch(&f->g, UKF_HC_READY, ARG, &c) ==
	      UKF_VMM_NOTIFY);
	CHECK(c.ev.kind == UKF_BE_READY && ret_at(f, ARG) == 0);
	{
		struct ukf_hc_block x = { 0, 0 };

		put(f, ARG, &x, sizeof(x));
		CHECK(ukf_vmm_dispatch(&f->g, UKF_HC_BLOCK, ARG, &c) ==
		      UKF_VMM_PAUSE);
		CHECK(c.ev.kind == UKF_BE_CALL && c.ev.call == UKF_CALL_BLOCK &&
		      c.ev.deadline == BOOT_NS);
		x.deadline = 5;
		put(f, ARG, &x, sizeof(x));
		ukf_vmm_dispatch(&f->g, UKF_HC_BLOCK, ARG, &c);
		CHECK(c.ev.deadline == BOOT_NS + 5);
		x.deadline = UINT64_MAX; /* saturates */
		put(f, ARG, &x, sizeof(x));
		ukf_vmm_dispatch(&f->g, UKF_HC_BLOCK, ARG, &c);
		CHECK(c.ev.deadline == UKF_NS_NEVER);
	}
	{
		struct ukf_hc_wait x = { 0, 17, 1000, 0 };

		put(f, ARG, &x, sizeof(x));
		CHECK(ukf_vmm_dispatch(&f->g, UKF_HC_WAIT, ARG, &c) ==
		      UKF_VMM_PAUSE);
		CHECK(c.ev.call == UKF_CALL_WAIT && c.ev.arg_id == 17 &&
		      c.ev.deadline == BOOT_NS + 1000);
		x.deadline = 0; /* none */
		put(f, ARG, &x, sizeof(x));
		ukf_vmm_dispatch(&f->g, UKF_HC_WAIT, ARG, &c);
		CHECK(c.ev.deadline == 0);
	}
	{
		struct ukf_hc_fork x = { 0, 0 };

		put(f, ARG, &x, sizeof(x));
		CHECK(ukf_vmm_dispatch(&f->g, UKF_HC_FORK, ARG, &c) ==
		      UKF_VMM_PAUSE);
		CHECK(c.ev.call == UKF_CALL_FORK && c.ev.dirty_pages == 99);
	}
	{
		struct ukf_hc_spawn x = { 0, BUF, 5, BUF + 0x100, 3 };

		put(f, BUF, "hello", 5);
		put(f, BUF + 0x100, "a b", 3);
		put(f, ARG, &x, sizeof(x));
		CHECK(ukf_vmm_dispatch(&f->g, UKF_HC_SPAWN, ARG, &c) ==
		      UKF_VMM_PAUSE);
		CHECK(c.ev.call == UKF_CALL_SPAWN && !strcmp(c.ev.text, "hello") &&
		      !strcmp(c.ev.data, "a b") && c.ev.len == 3);
		x.args_len = 0;
		put(f, ARG, &x, sizeof(x));
		ukf_vmm_dispatch(&f->g, UKF_HC_SPAWN, ARG, &c);
		CHECK(!strcmp(c.ev.data, "") && c.ev.len == 0);
	}
	{
		struct ukf_hc_send x = { 0, 9, BUF, 4 };

		put(f, BUF, "ping", 4);
		put(f, ARG, &x, sizeof(x));
		CHECK(ukf_vmm_dispatch(&f->g, UKF_HC_SEND, ARG, &c) ==
		      UKF_VMM_PAUSE);
		CHECK(c.ev.call == UKF_CALL_SEND && c.ev.arg_id == 9 &&
		      c.ev.len == 4 && !memcmp(c.ev.data, "ping", 4));
		x.buf = 0; /* empty message: no buffer needed */
		x.len = 0;
		put(f, ARG, &x, sizeof(x));
		CHECK(ukf_vmm_dispatch(&f->g, UKF_HC_SEND, ARG, &c) ==
		      UKF_VMM_PAUSE);
		CHECK(c.ev.len == 0);
	}
	{
		struct ukf_hc_recv x = { 0, BUF, 16, 77, 0 };

		put(f, ARG, &x, sizeof(x));
		CHECK(ukf_vmm_dispatch(&f->g, UKF_HC_RECV, ARG, &c) ==
		      UKF_VMM_PAUSE);
		CHECK(c.ev.call == UKF_CALL_RECV &&
		      c.ev.deadline == BOOT_NS + 77);
	}
	CHECK(f->nev == 0);
	{
		struct ukf_hc_console k = { 0, BUF, 4 };
		struct ukf_hc_exit x = { 0, 7 };

		put(f, BUF, "tail", 4); /* a partial line */
		put(f, ARG, &k, sizeof(k));
		CHECK(answers(f, UKF_HC_CONSOLE, 4));
		CHECK(f->nev == 0);
		put(f, ARG, &x, sizeof(x));
		CHECK(ukf_vmm_dispatch(&f->g, UKF_HC_EXIT, ARG, &c) ==
		      UKF_VMM_EXIT);
		CHECK(c.ev.kind == UKF_BE_EXIT && c.ev.status == 7 &&
		      c.ev.dirty_pages == 99);
		CHECK(f->nev == 1 && !strcmp(f->ev[0].data, "tail"));
	}
	{
		struct ukf_hc_console k = { 0, BUF, 3 };
		struct ukf_hc_abort x = { 0, BUF + 0x100, 4 };

		put(f, BUF, "end", 3);
		put(f, ARG, &k, sizeof(k));
		CHECK(answers(f, UKF_HC_CONSOLE, 3));
		put(f, BUF + 0x100, "a\x01\n!", 4);
		put(f, ARG, &x, sizeof(x));
		CHECK(fails_with(f, UKF_HC_ABORT, ARG, "abort: a?" "?!"));
		CHECK(f->nev == 2 && !strcmp(f->ev[1].data, "end"));
		x.len = 5000; /* cut to 1024 */
		memset(f->mem + BUF + 0x100, 'm', 5000);
		put(f, ARG, &x, sizeof(x));
		CHECK(ukf_vmm_dispatch(&f->g, UKF_HC_ABORT, ARG, &c) ==
		      UKF_VMM_FAIL);
		CHECK(strlen(c.reason) == strlen("abort: ") + 1024 ||
		      strlen(c.reason) == sizeof(c.reason) - 1);
	}
	fake_free(f);
	return 0;
}

/* complete() writes each call's OUT fields. */
static int test_complete(void)
{
	struct fake *f = fake_new();

	CHECK(f);
	{
		struct ukf_hc_wait x = { -1, 3, 0, 0 };

		put(f, ARG, &x, sizeof(x));
		CHECK(ukf_vmm_complete(&f->g, UKF_HC_WAIT, ARG, 3, -9, 0, NULL,
				       0) == 0);
		memcpy(&x, f->mem + ARG, sizeof(x));
		CHECK(x.ret == 3 && x.status == -9 && x.id == 3);
	}
	{
		struct ukf_hc_recv x = { -1, BUF, 4, 0, 0 };

		memset(f->mem + BUF, '.', 8);
		put(f, ARG, &x, sizeof(x));
		CHECK(ukf_vmm_complete(&f->g, UKF_HC_RECV, ARG, 0, 0, 12,
				       "message", 7) == 0);
		memcpy(&x, f->mem + ARG, sizeof(x));
		CHECK(x.ret == 4 && x.src == 12); /* truncated to cap */
		CHECK(!memcmp(f->mem + BUF, "mess....", 8));
		x.ret = 0;
		put(f, ARG, &x, sizeof(x));
		CHECK(ukf_vmm_complete(&f->g, UKF_HC_RECV, ARG, -UKF_ETIMEDOUT,
				       0, 0, NULL, 0) == 0);
		CHECK(ret_at(f, ARG) == -UKF_ETIMEDOUT);
	}
	CHECK(ukf_vmm_complete(&f->g, UKF_HC_FORK, ARG, 1234, 0, 0, NULL, 0) ==
	      0);
	CHECK(ret_at(f, ARG) == 1234);
	/* gpa 0 (a clone's ready): refused, nothing written */
	CHECK(ukf_vmm_complete(&f->g, UKF_HC_READY, 0, 0, 0, 0, NULL, 0) ==
	      -1);
	CHECK(ret_at(f, ARG) == 1234);
	fake_free(f);
	return 0;
}

/* Console output: lines across partial writes, \r\n, empty lines,
 * escapes, a line at the length limit, flush. */
static int test_console(void)
{
	struct fake *f = fake_new();
	static char big[5000];

	CHECK(f);
	ukf_vmm_console_write(&f->g, "he", 2, 1);
	ukf_vmm_console_write(&f->g, "llo\nwor", 7, 2);
	CHECK(f->nev == 1 && !strcmp(f->ev[0].data, "hello") &&
	      f->ev[0].ev.len == 5 && f->ev[0].ev.at == 2);
	ukf_vmm_console_write(&f->g, "ld\r\n\n", 5, 3);
	CHECK(f->nev == 3 && !strcmp(f->ev[1].data, "world"));
	CHECK(f->ev[2].ev.len == 0 && !strcmp(f->ev[2].data, ""));
	ukf_vmm_console_write(&f->g, "\x1b[2Jx\xc2\x9b\n", 8, 4);
	CHECK(f->nev == 4 && !strcmp(f->ev[3].data, "\\x1b[2Jx\\xc2\\x9b"));
	memset(big, 'b', sizeof(big));
	ukf_vmm_console_write(&f->g, big, sizeof(big), 5);
	CHECK(f->nev == 5 && f->ev[4].ev.len == UKF_VMM_LINE_MAX);
	ukf_vmm_console_flush(&f->g, 6);
	CHECK(f->nev == 6 &&
	      f->ev[5].ev.len == sizeof(big) - UKF_VMM_LINE_MAX);
	ukf_vmm_console_flush(&f->g, 7); /* nothing left */
	CHECK(f->nev == 6 && f->g.con_len == 0);
	fake_free(f);
	return 0;
}

/* The marker line: 1 the first time a whole line equals it. */
static int test_marker(void)
{
	struct fake *f = fake_new();

	CHECK(f);
	CHECK(ukf_vmm_console_write(&f->g, "UKF-READY\n", 10, 1) == 0);
	f->g.marker = "UKF-READY";
	CHECK(ukf_vmm_console_write(&f->g, "UKF-READYX\n", 11, 1) == 0);
	CHECK(ukf_vmm_console_write(&f->g, "xUKF-READY\n", 11, 1) == 0);
	CHECK(ukf_vmm_console_write(&f->g, "UKF-RE", 6, 1) == 0);
	CHECK(ukf_vmm_console_write(&f->g, "ADY\r", 4, 1) == 0);
	CHECK(!f->g.marker_seen);
	CHECK(ukf_vmm_console_write(&f->g, "\nmore\n", 6, 1) == 1);
	CHECK(f->g.marker_seen);
	CHECK(ukf_vmm_console_write(&f->g, "UKF-READY\n", 10, 1) == 0);
	CHECK(f->nev == 6 && !strcmp(f->ev[3].data, "UKF-READY"));
	fake_free(f);
	return 0;
}

static const struct selftest tests[] = {
	{ "call_table", test_call_table },
	{ "bad_struct", test_bad_struct },
	{ "bad_buffers", test_bad_buffers },
	{ "refused", test_refused },
	{ "answers", test_answers },
	{ "events", test_events },
	{ "complete", test_complete },
	{ "console", test_console },
	{ "marker", test_marker },
};

int main(int argc, char **argv)
{
	return selftest_main(tests, SELFTEST_COUNT(tests), argc, argv);
}
