/* SPDX-License-Identifier: MIT */
/* test_sim_cov_parts.c - corner cases of the simulated network (sim/net.c) and host CPU sharing (sim/cpu.c) driven directly: cuts while messages fly, unlimited links, repeated cuts, cancels of the next job to finish; bad values in a model file (sim/model.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/sim_int.h"
#include "tests/common/selftest.h"

#define MAXGOT 64
struct got {
	int n;
	ukf_ns_t now;
	ukf_ns_t at[MAXGOT]; /* by tag */
	int seen[MAXGOT];
};

static void on_deliver(void *u, ukf_node_id_t to, ukf_node_id_t from,
		       uint16_t type, const void *buf, size_t len,
		       const void *bulk, size_t bulk_len)
{
	struct got *g = u;
	(void)to;
	(void)from;
	(void)type;
	(void)bulk;
	(void)bulk_len;
	unsigned tag = len >= 1 ? ((const unsigned char *)buf)[0] : 0;
	if (tag < MAXGOT) {
		g->at[tag] = g->now;
		g->seen[tag]++;
	}
	g->n++;
}

/* Handle q's events until `until`; any other event type is handed to the
 * network too (it must ignore it). */
static int run_net(sim_queue_t *q, sim_net_t *n, struct got *g, ukf_ns_t until)
{
	struct sim_ev e;
	while (sim_queue_peek_time(q) <= until && sim_queue_pop(q, &g->now, &e))
		if (sim_net_event(n, g->now, &e) < 0)
			return -1;
	return 0;
}

/* A message tagged `tag` of `bytes` on the wire (1 byte body, the rest
 * bulk bytes counted but not carried). */
static int msg(sim_net_t *n, ukf_ns_t now, uint32_t from, uint32_t to,
	       unsigned tag, uint64_t bytes)
{
	unsigned char b = (unsigned char)tag;
	return sim_net_send(n, now, from, to, 1, &b, 1, NULL, 0,
			    bytes > 1 ? bytes - 1 : 0);
}

/*
 * A small message (latency only, no transfer) already on its way when its
 * receiver's link is cut is lost on arrival, counted as dropped; one to an
 * untouched node arrives after the latency. A link with no bandwidth limit
 * (0) delivers even a large message after the latency alone. An event of
 * another kind is not the network's: it is ignored.
 */
static int t_net_cut_in_flight(void)
{
	sim_queue_t *q = sim_queue_create();
	struct got g = { 0 };
	sim_net_t *n = sim_net_create(q, 3, 1000, 1e9, on_deliver, &g);
	CHECK(q && n);
	CHECK(msg(n, 0, 0, 1, 1, 100) == 0);
	CHECK(msg(n, 0, 0, 2, 2, 100) == 0);
	CHECK(sim_net_cut(n, 10, 1, 1) == 0);
	CHECK(sim_net_cut(n, 10, 1, 1) == 0); /* again: nothing more lost */
	CHECK(sim_net_dropped(n) == 0);       /* nothing was open yet */
	struct sim_ev other = { .type = SIM_EV_USER };
	CHECK(sim_net_event(n, 10, &other) == 0);
	CHECK(run_net(q, n, &g, UKF_NS_NEVER) == 0);
	CHECKF(g.n == 1 && g.seen[2] == 1 && !g.seen[1], "%d delivered", g.n);
	CHECK(g.at[2] == 1000);
	CHECK(sim_net_dropped(n) == 1);
	/* the cut node's link comes back: a message to it arrives again */
	CHECK(sim_net_cut(n, g.now, 1, 0) == 0);
	CHECK(msg(n, g.now, 0, 1, 3, 100) == 0);
	CHECK(run_net(q, n, &g, UKF_NS_NEVER) == 0);
	CHECK(g.seen[3] == 1 && g.at[3] == 2000);
	CHECK(sim_net_cut(n, g.now, 3, 1) == -EINVAL);
	sim_net_destroy(&n);
	sim_queue_destroy(&q);

	/* no bandwidth limit: 1 GB after the latency alone */
	q = sim_queue_create();
	memset(&g, 0, sizeof(g));
	n = sim_net_create(q, 2, 5000, 0, on_deliver, &g);
	CHECK(q && n);
	CHECK(msg(n, 0, 0, 1, 4, 1000000000ULL) == 0);
	CHECK(run_net(q, n, &g, UKF_NS_NEVER) == 0);
	CHECK(g.seen[4] == 1 && g.at[4] == 5000);
	CHECK(sim_net_connections(n) == 0);
	sim_net_destroy(&n);
	sim_queue_destroy(&q);
	return 0;
}

/*
 * The per-link model: node 0 sends 1, 3, 2 and 4 MB to nodes 1..4 at once
 * (its uplink shared four ways). Cutting node 1 at 0.5 ms (each has had
 * 0.125 MB) ends its transfer; the other three share the uplink three
 * ways, then two, then one: the 2 MB one arrives at 0.5 + 1.875 * 3 =
 * 6.125 ms, the 3 MB one 1 MB at half rate later (8.125 ms), the 4 MB
 * one 1 MB alone after that (9.125 ms) - the uplink's order of finishes
 * kept after the cut took one out of the middle of it.
 */
static int t_net_cut_shared_link(void)
{
	static const double mb[5] = { 0, 1e6, 3e6, 2e6, 4e6 };
	static const ukf_ns_t want[5] = { 0, -1, 8125000, 6125000, 9125000 };
	sim_queue_t *q = sim_queue_create();
	struct got g = { 0 };
	sim_net_t *n = sim_net_create(q, 5, 0, 1e9, on_deliver, &g);
	CHECK(q && n);
	for (unsigned k = 1; k <= 4; k++)
		CHECK(msg(n, 0, 0, k, k, (uint64_t)mb[k]) == 0);
	CHECK(run_net(q, n, &g, 500000) == 0);
	CHECK(sim_net_connections(n) == 4);
	CHECK(sim_net_cut(n, 500000, 1, 1) == 0);
	CHECK(sim_net_connections(n) == 3);
	CHECK(run_net(q, n, &g, UKF_NS_NEVER) == 0);
	CHECKF(g.n == 3 && !g.seen[1], "%d delivered", g.n);
	for (unsigned k = 2; k <= 4; k++)
		CHECKF(llabs(g.at[k] - want[k]) <= 2, "%u at %lld, want %lld",
		       k, (long long)g.at[k], (long long)want[k]);
	CHECK(sim_net_dropped(n) == 1);
	sim_net_destroy(&n);
	sim_queue_destroy(&q);
	return 0;
}

/* The done event of job j. */
static struct sim_ev done_ev(uint64_t j)
{
	struct sim_ev e = { .type = SIM_EV_USER };
	e.u.user.a = j;
	return e;
}

/* Run q to empty; job j's finish time into fin[j]. */
static int run_cpu(sim_queue_t *q, sim_cpu_t *c, ukf_ns_t *fin, size_t nfin)
{
	ukf_ns_t t;
	struct sim_ev e;
	while (sim_queue_pop(q, &t, &e)) {
		if (e.type == SIM_EV_CPU) {
			CHECK(sim_cpu_event(c, t, &e) == 0);
		} else {
			CHECK(e.type == SIM_EV_USER && e.u.user.a < nfin);
			CHECK(fin[e.u.user.a] == -1);
			fin[e.u.user.a] = t;
		}
	}
	return 0;
}

/*
 * One core, jobs of 1, 2 and 3 ms started at 0: cancelling the 1 ms job
 * (the next to finish) at 0.9 ms and then the 2 ms job at 1.2 ms leaves
 * the 3 ms job alone: by 0.9 ms each had 0.3 ms, 0.9..1.2 ms two share
 * (0.15 more each), so it still needs 2.55 ms: done at 3.75 ms. Bad
 * arguments are refused with their errors and a cancel of a job not
 * running (or on a host that does not exist) changes nothing.
 */
static int t_cpu_cancel_next(void)
{
	const ukf_ns_t MS = 1000000;
	sim_queue_t *q = sim_queue_create();
	sim_cpu_t *c = sim_cpu_create(q, 2, 1);
	ukf_ns_t fin[3] = { -1, -1, -1 };
	CHECK(q && c);
	CHECK(!sim_cpu_create(q, 0, 1) && !sim_cpu_create(q, 1, 0) &&
	      !sim_cpu_create(NULL, 1, 1));
	for (uint64_t j = 0; j < 3; j++) {
		struct sim_ev d = done_ev(j);
		CHECK(sim_cpu_start(c, 0, 0, j, (ukf_ns_t)(j + 1) * MS, &d) == 0);
	}
	struct sim_ev d = done_ev(0), none = { .type = SIM_EV_NONE };
	CHECK(sim_cpu_start(c, 0, 0, 1, MS, &d) == -EEXIST);
	CHECK(sim_cpu_start(c, 0, 2, 9, MS, &d) == -EINVAL);
	CHECK(sim_cpu_start(c, 0, 0, 9, -1, &d) == -EINVAL);
	CHECK(sim_cpu_start(c, 0, 0, 9, MS, &none) == -EINVAL);
	CHECK(sim_cpu_running(c, 0) == 3 && sim_cpu_running(c, 7) == 0);
	CHECK(sim_cpu_cancel(c, 900000, 5, 0) == 0);
	CHECK(sim_cpu_cancel(c, 900000, 0, 42) == 0);
	CHECK(sim_cpu_cancel(c, 900000, 0, 0) == 1);
	CHECK(sim_cpu_cancel(c, 900000, 0, 0) == 0); /* not running now */
	CHECK(sim_cpu_cancel(c, 1200000, 0, 1) == 1);
	CHECK(sim_cpu_running(c, 0) == 1);
	CHECK(run_cpu(q, c, fin, 3) == 0);
	CHECK(fin[0] == -1 && fin[1] == -1);
	CHECKF(llabs(fin[2] - 3750000) <= 1, "job 2 at %lld",
	       (long long)fin[2]);
	CHECK(sim_cpu_running(c, 0) == 0);
	sim_cpu_destroy(&c);
	sim_queue_destroy(&q);
	CHECK(!c);
	return 0;
}

/* Load text as a model file over the defaults: 0, or -1 with err. */
static int load_bytes(const char *text, size_t len, char *err, size_t errlen)
{
	char path[] = "/tmp/ukf_cov_model_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -2;
	FILE *f = fdopen(fd, "w");
	fwrite(text, 1, len, f);
	fclose(f);
	struct ukf_sim_model m;
	ukf_sim_model_default(&m);
	int rc = ukf_sim_model_load(&m, path, err, errlen);
	unlink(path);
	return rc;
}

static int load_text(const char *text, char *err, size_t errlen)
{
	return load_bytes(text, strlen(text), err, errlen);
}

/*
 * Bad values in a model file the parser's other checks do not see: a
 * time past the clock's range, sizes too big, distributions with an
 * unknown or over-long family, an infinite or far-out parameter; each
 * names its line and what was expected. A line too long, a directory
 * given as the file and no file name are refused too.
 */
static int t_model_file_bad(void)
{
	static const struct { const char *text, *want; } cs[] = {
		{ "boot_base_ns = 1e10s\n", "1: bad value '1e10s' for 'boot_base_ns'" },
		{ "host_mem_bytes = 2000000T\n", "expected a size" },
		{ "host_mem_bytes = 99999999999999999999999\n", "expected a size" },
		{ "\nboot_dist = lognormalxxxxxxxxx 0 1\n", "2: bad value" },
		{ "boot_dist = lognormal 0 1e999\n", "expected none, lognormal" },
		{ "boot_dist = lognormal 0 25\n", "1: bad value 'lognormal 0 25'" },
		{ "boot_dist = gamma 2000000 1\n", "for 'boot_dist'" },
		{ "boot_dist = weibull 0.0001 1\n", "for 'boot_dist'" },
		/* the world refuses it (jitter 0..5): at its line here */
		{ "\njitter = 5.5\n", "2: bad value '5.5' for 'jitter'" },
	};
	char err[1024];
	for (size_t k = 0; k < sizeof(cs) / sizeof(cs[0]); k++) {
		err[0] = 0;
		CHECKF(load_text(cs[k].text, err, sizeof(err)) == -1,
		       "'%s' accepted", cs[k].text);
		CHECKF(strstr(err, cs[k].want), "'%s': '%s'", cs[k].text, err);
	}
	/* at the limits: accepted */
	CHECK(load_text("jitter = 5\n", err, sizeof(err)) == 0);
	CHECK(load_text("host_mem_bytes = 1048576T\nboot_dist = lognormal 0 20\n"
			"template_dist = gamma 1000000 1\n",
			err, sizeof(err)) == 0);
	char longline[1200];
	memset(longline, ' ', sizeof(longline));
	memcpy(longline, "jitter = 0.1", 12);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = 0;
	CHECK(load_text(longline, err, sizeof(err)) == -1);
	CHECKF(strstr(err, ":1: line too long"), "'%s'", err);
	/* a comment may be longer: the provenance `ukfork calibrate`
	 * writes (its command line, a long --note whole on one line), also
	 * after a key */
	char longcomment[3000];
	memset(longcomment, 'x', sizeof(longcomment));
	memcpy(longcomment, "# Command: ", 11);
	snprintf(longcomment + sizeof(longcomment) - 40, 40,
		 "\njitter = 0.2   # %s\n", "yy");
	CHECKF(load_text(longcomment, err, sizeof(err)) == 0, "'%s'", err);
	memcpy(longcomment, "jitter = 0.1 #", 14);
	longcomment[sizeof(longcomment) - 40] = '\n';
	longcomment[sizeof(longcomment) - 39] = 0;
	CHECKF(load_text(longcomment, err, sizeof(err)) == 0, "'%s'", err);
	/* a NUL in a line: refused, not the rest of the line dropped */
	static const char nul[] = "jitter = 0\nboot_base_ns = 5\0 junk\n";
	CHECK(load_bytes(nul, sizeof(nul) - 1, err, sizeof(err)) == -1);
	CHECKF(strstr(err, ":2: a NUL byte in the line"), "'%s'", err);
	struct ukf_sim_model m;
	ukf_sim_model_default(&m);
	CHECK(ukf_sim_model_load(&m, "/tmp", err, sizeof(err)) == -1);
	CHECKF(strstr(err, "/tmp: a directory, not a model file"), "'%s'", err);
	CHECK(ukf_sim_model_load(&m, "/dev/zero", err, sizeof(err)) == -1);
	CHECKF(strstr(err, "/dev/zero: not a regular file"), "'%s'", err);
	CHECK(ukf_sim_model_load(&m, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "no file name"));
	return 0;
}

static const struct selftest tests[] = {
	{ "cov_net_cut_in_flight", t_net_cut_in_flight },
	{ "cov_net_cut_shared_link", t_net_cut_shared_link },
	{ "cov_cpu_cancel_next", t_cpu_cancel_next },
	{ "cov_model_file_bad", t_model_file_bad },
};

int main(int argc, char **argv)
{
	return selftest_main_print(tests, SELFTEST_COUNT(tests), argc, argv);
}
