/* SPDX-License-Identifier: MIT */
/* test_sim_cpu.c - self-tests of host CPU contention (sim/cpu.c): processor sharing against analytic answers. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"
#include "tests/common/selftest.h"

#define MS 1000000LL

/* The done event of job j. */
static struct sim_ev done_ev(uint64_t j)
{
	struct sim_ev e = { .type = SIM_EV_USER };
	e.u.user.a = j;
	return e;
}

/* Run q to empty (or to `until`); job j's finish time into fin[j]. */
static int drain(sim_queue_t *q, sim_cpu_t *c, ukf_ns_t until, ukf_ns_t *fin,
		 size_t nfin)
{
	ukf_ns_t t;
	struct sim_ev e;

	while (sim_queue_peek_time(q) <= until && sim_queue_pop(q, &t, &e)) {
		if (e.type == SIM_EV_CPU) {
			CHECK(sim_cpu_event(c, t, &e) == 0);
		} else {
			CHECK(e.type == SIM_EV_USER && e.u.user.a < nfin);
			CHECK(fin[e.u.user.a] == -1); /* finishes once */
			fin[e.u.user.a] = t;
		}
	}
	return 0;
}

/* N equal jobs of work W started together on c cores all finish at
 * N*W/c if N > c, else at W; a lone job on another host is not slowed. */
static int t_cpu_equal_jobs(void)
{
	static const struct { uint32_t n, cores; ukf_ns_t w, want; } cs[] = {
		{ 200, 8, 100 * MS, 2500 * MS },
		{ 1000, 16, 3 * MS, 187500000 },
		{ 5, 8, 100 * MS, 100 * MS },
		{ 8, 8, 100 * MS, 100 * MS },
		{ 9, 8, 8 * MS, 9 * MS },
		{ 7, 3, 1 * MS, 2333333 }, /* 7/3 ms, to the nearest ns */
	};
	for (size_t k = 0; k < sizeof(cs) / sizeof(cs[0]); k++) {
		sim_queue_t *q = sim_queue_create();
		sim_cpu_t *c = sim_cpu_create(q, 2, cs[k].cores);
		ukf_ns_t fin[1001];
		CHECK(q && c && cs[k].n < 1001);
		for (size_t i = 0; i <= cs[k].n; i++)
			fin[i] = -1;
		for (uint32_t i = 0; i < cs[k].n; i++) {
			struct sim_ev d = done_ev(i);
			CHECK(sim_cpu_start(c, 0, 0, i, cs[k].w, &d) == 0);
		}
		struct sim_ev d = done_ev(cs[k].n);
		CHECK(sim_cpu_start(c, 0, 1, 5000, cs[k].w, &d) == 0);
		CHECK(sim_cpu_running(c, 0) == cs[k].n);
		CHECK(drain(q, c, UKF_NS_NEVER, fin, cs[k].n + 1) == 0);
		for (uint32_t i = 0; i < cs[k].n; i++)
			CHECKF(fin[i] == cs[k].want, "case %zu job %u at %lld, want %lld",
			       k, i, (long long)fin[i], (long long)cs[k].want);
		CHECK(fin[cs[k].n] == cs[k].w);
		CHECK(sim_cpu_running(c, 0) == 0 && sim_cpu_running(c, 1) == 0);
		sim_cpu_destroy(&c);
		sim_queue_destroy(&q);
		CHECK(!c);
	}
	return 0;
}

/*
 * Work whose finish falls past the clock's range (3 jobs of 4e18 ns on one
 * core: 1.2e19 ns, past 9.2e18) never finishes; it finished at once (the
 * finish time's conversion overflowed). A 1 ms job beside them takes
 * 4 ms, and once they are cancelled another takes 1 ms. Also at a later
 * now: 2 jobs of 4.5e18 ns at 1e17 ns.
 */
static int t_cpu_huge_work(void)
{
	sim_queue_t *q = sim_queue_create();
	sim_cpu_t *c = sim_cpu_create(q, 1, 1);
	ukf_ns_t fin[5] = { -1, -1, -1, -1, -1 };
	CHECK(q && c);
	for (uint32_t i = 0; i < 3; i++) {
		struct sim_ev d = done_ev(i);
		CHECK(sim_cpu_start(c, 0, 0, i, 4000000000000000000LL, &d) == 0);
	}
	CHECK(drain(q, c, 10 * MS, fin, 5) == 0);
	for (int i = 0; i < 3; i++)
		CHECKF(fin[i] == -1, "job %d of 4e18 ns finished at %lld", i,
		       (long long)fin[i]);
	struct sim_ev d3 = done_ev(3), d4 = done_ev(4);
	CHECK(sim_cpu_start(c, 10 * MS, 0, 3, 1 * MS, &d3) == 0);
	CHECK(drain(q, c, 20 * MS, fin, 5) == 0);
	CHECKF(fin[3] == 14 * MS, "1 ms beside 3 at %lld", (long long)fin[3]);
	for (uint32_t i = 0; i < 3; i++)
		CHECK(sim_cpu_cancel(c, 20 * MS, 0, i) == 1);
	CHECK(sim_cpu_start(c, 20 * MS, 0, 4, 1 * MS, &d4) == 0);
	CHECK(drain(q, c, 30 * MS, fin, 5) == 0);
	CHECK(fin[4] == 21 * MS && sim_cpu_running(c, 0) == 0);
	const ukf_ns_t t = 100000000000000000LL;
	struct sim_ev e0 = done_ev(0), e1 = done_ev(1);
	fin[0] = fin[1] = -1;
	CHECK(sim_cpu_start(c, t, 0, 10, 4500000000000000000LL, &e0) == 0);
	CHECK(sim_cpu_start(c, t, 0, 11, 4500000000000000000LL, &e1) == 0);
	CHECK(drain(q, c, t + MS, fin, 5) == 0);
	CHECKF(fin[0] == -1 && fin[1] == -1, "at %lld %lld", (long long)fin[0],
	       (long long)fin[1]);
	sim_cpu_destroy(&c);
	sim_queue_destroy(&q);
	return 0;
}

/* The rate changes whenever a job starts, finishes or is cancelled. */
static int t_cpu_rate_changes(void)
{
	sim_queue_t *q = sim_queue_create();
	sim_cpu_t *c = sim_cpu_create(q, 1, 1);
	ukf_ns_t fin[3] = { -1, -1, -1 };
	struct sim_ev d0 = done_ev(0), d1 = done_ev(1), d2 = done_ev(2);
	CHECK(q && c);

	/* 1 core: A (10 ms) alone for 5 ms, then A and B (10 ms) at half
	 * speed: A done at 15 ms; B alone again: done at 20 ms. */
	CHECK(sim_cpu_start(c, 0, 0, 1, 10 * MS, &d0) == 0);
	CHECK(drain(q, c, 5 * MS, fin, 3) == 0);
	CHECK(sim_cpu_start(c, 5 * MS, 0, 2, 10 * MS, &d1) == 0);
	CHECK(sim_cpu_start(c, 5 * MS, 0, 2, 1, &d1) == -EEXIST);
	CHECK(sim_cpu_start(c, 5 * MS, 1, 3, 1, &d1) == -EINVAL);
	CHECK(drain(q, c, UKF_NS_NEVER, fin, 3) == 0);
	CHECK(fin[0] == 15 * MS && fin[1] == 20 * MS);

	/* Cancel: A and B (10 ms each) from 100 ms; B leaves at 104 ms
	 * (both had 2 ms), A alone does its last 8 ms: done at 112 ms. */
	fin[0] = fin[1] = -1;
	CHECK(drain(q, c, 100 * MS, fin, 3) == 0);
	CHECK(sim_cpu_start(c, 100 * MS, 0, 1, 10 * MS, &d0) == 0);
	CHECK(sim_cpu_start(c, 100 * MS, 0, 2, 10 * MS, &d1) == 0);
	CHECK(drain(q, c, 104 * MS, fin, 3) == 0);
	CHECK(sim_cpu_cancel(c, 104 * MS, 0, 2) == 1);
	CHECK(sim_cpu_cancel(c, 104 * MS, 0, 2) == 0);
	CHECK(drain(q, c, UKF_NS_NEVER, fin, 3) == 0);
	CHECK(fin[0] == 112 * MS && fin[1] == -1);
	sim_cpu_destroy(&c);
	sim_queue_destroy(&q);

	/* 2 cores, 3 jobs of 4, 8, 8 ms: each at 2/3 speed until the first
	 * is done (6 ms), then the two left at full speed: done at 10 ms. */
	q = sim_queue_create();
	c = sim_cpu_create(q, 1, 2);
	CHECK(q && c);
	fin[0] = fin[1] = fin[2] = -1;
	CHECK(sim_cpu_start(c, 0, 0, 1, 4 * MS, &d0) == 0);
	CHECK(sim_cpu_start(c, 0, 0, 2, 8 * MS, &d1) == 0);
	CHECK(sim_cpu_start(c, 0, 0, 3, 8 * MS, &d2) == 0);
	CHECK(drain(q, c, UKF_NS_NEVER, fin, 3) == 0);
	CHECK(fin[0] == 6 * MS && fin[1] == 10 * MS && fin[2] == 10 * MS);
	sim_cpu_destroy(&c);
	sim_queue_destroy(&q);
	CHECK(!sim_cpu_create(NULL, 1, 1));
	return 0;
}

/*
 * A run of the PS checks: one host of `cores` cores, its queue, the
 * random streams of replication `rep`, and `n` Poisson arrival times with
 * mean gap `gap` ns (stream 1) in arr, fin[] all -1 (not finished).
 * 0, or -1 out of memory.
 */
struct psrun {
	sim_queue_t *q;
	sim_cpu_t *c;
	sim_rng_t *r;
	ukf_ns_t *arr, *fin;
};

static int psrun_open(struct psrun *p, uint32_t cores, uint32_t rep,
		      uint64_t n, double gap)
{
	ukf_ns_t t = 0;

	p->q = sim_queue_create();
	p->c = sim_cpu_create(p->q, 1, cores);
	p->r = sim_rng_create(42, rep);
	p->arr = malloc(sizeof(*p->arr) * n);
	p->fin = malloc(sizeof(*p->fin) * n);
	if (!p->q || !p->c || !p->r || !p->arr || !p->fin)
		return -1;
	for (uint64_t j = 0; j < n; j++) {
		t += (ukf_ns_t)llround(sim_rng_exponential(p->r, 1, gap));
		p->arr[j] = t;
		p->fin[j] = -1;
	}
	return 0;
}

static void psrun_close(struct psrun *p)
{
	free(p->arr);
	free(p->fin);
	sim_rng_destroy(&p->r);
	sim_cpu_destroy(&p->c);
	sim_queue_destroy(&p->q);
}

/*
 * An M/G/1-PS host (1 core, Poisson arrivals at rate lambda, work S): the
 * mean response time is E[S]/(1 - rho), rho = lambda E[S], whatever the
 * distribution of S (PS is insensitive). Checked for exponential work
 * (M/M/1-PS) and constant work (M/D/1-PS, where FCFS would give
 * E[S](1 + rho/(2(1 - rho))) = 3 ms instead of 5 ms at rho = 0.8).
 */
static int mg1_ps(int exponential, double rho, double tol)
{
	enum { JOBS = 400000, WARM = 20000 };
	const double es = 1e6; /* E[S]: 1 ms */
	struct psrun p;

	CHECK(psrun_open(&p, 1, 0, JOBS, es / rho) == 0);
	for (uint64_t j = 0; j < JOBS; j++) {
		CHECK(drain(p.q, p.c, p.arr[j] - 1, p.fin, JOBS) == 0);
		double w = exponential ? sim_rng_exponential(p.r, 2, es) : es;
		struct sim_ev d = done_ev(j);
		CHECK(sim_cpu_start(p.c, p.arr[j], 0, j, (ukf_ns_t)llround(w),
				    &d) == 0);
	}
	CHECK(drain(p.q, p.c, UKF_NS_NEVER, p.fin, JOBS) == 0);
	double sum = 0;
	for (uint64_t j = WARM; j < JOBS; j++) {
		CHECK(p.fin[j] >= p.arr[j]);
		sum += (double)(p.fin[j] - p.arr[j]);
	}
	double mean = sum / (JOBS - WARM), want = es / (1 - rho);
	printf("%s rho %.2f: mean response %.4f ms, E[S]/(1-rho) %.4f ms (%+.2f%%)\n",
	       exponential ? "M/M/1-PS" : "M/D/1-PS", rho, mean / 1e6,
	       want / 1e6, 100 * (mean / want - 1));
	CHECKF(fabs(mean / want - 1) < tol, "mean %.0f ns, want %.0f", mean, want);
	psrun_close(&p);
	return 0;
}

static int t_cpu_mm1_ps(void)
{
	CHECK(mg1_ps(1, 0.5, 0.03) == 0);
	CHECK(mg1_ps(1, 0.8, 0.05) == 0);
	return 0;
}

static int t_cpu_md1_ps(void)
{
	CHECK(mg1_ps(0, 0.8, 0.05) == 0);
	return 0;
}

/*
 * The exact mean number of jobs in an M/M/c-PS system of load a = lambda
 * E[S] on c cores (rho = a/c < 1). With n jobs each served at min(1, c/n)
 * the total service rate is min(n, c)/E[S], the birth-death chain of
 * M/M/c FCFS, so E[N] = a + C(c, a) rho/(1 - rho), C the Erlang C formula
 * (from Erlang B by B(0) = 1, B(k) = a B(k-1)/(k + a B(k-1)),
 * C = B/(1 - rho (1 - B))). The same E[N] straight from the chain
 * (p(n) = p(n-1) a/min(n, c), summed until the terms vanish) goes to
 * *direct, a check of the formula.
 */
static double mmc_mean_jobs(uint32_t c, double a, double *direct)
{
	double rho = a / c, b = 1, p = 1, z = 1, zn = 0;
	for (uint32_t k = 1; k <= c; k++)
		b = a * b / (k + a * b);
	for (uint32_t n = 1; n < 100000 && p > 1e-300; n++) {
		p *= a / (n < c ? n : c);
		z += p;
		zn += n * p;
	}
	*direct = zn / z;
	return a + b / (1 - rho * (1 - b)) * rho / (1 - rho);
}

/*
 * An M/M/c-PS host (c cores, Poisson arrivals at rate lambda, exponential
 * work of mean E[S], rho = lambda E[S]/c): by Little's law the mean
 * response time is E[N]/lambda (mmc_mean_jobs). The tolerance is the
 * run's own: the JOBS - WARM response times after the warm-up, in arrival
 * order, make BATCHES batch means; their standard error s/sqrt(BATCHES)
 * must put the exact value within 4 standard errors (t with 31 degrees of
 * freedom if the batch means are independent and normal: a correct model
 * fails this about 4 times in 10,000 seeds; the seed here is fixed) and
 * the standard error must be under 1% of the exact value, so that the
 * check can tell a model 4% off (it was 0.1-0.7% when written: the
 * printed line has it).
 */
static int mmc_ps(uint32_t cores, double rho)
{
	enum { JOBS = 2000000, WARM = 40000, BATCHES = 32 };
	enum { PER = (JOBS - WARM) / BATCHES };
	const double es = 1e6; /* E[S]: 1 ms */
	double a = cores * rho, direct;
	double want = mmc_mean_jobs(cores, a, &direct) / (a / es);
	CHECKF(fabs(direct / (want * a / es) - 1) < 1e-9,
	       "Erlang C E[N] %.12f, the chain's %.12f", want * a / es, direct);
	struct psrun p;

	CHECK(psrun_open(&p, cores, cores, JOBS, es / a) == 0);
	for (uint64_t j = 0; j < JOBS; j++) {
		CHECK(drain(p.q, p.c, p.arr[j] - 1, p.fin, JOBS) == 0);
		/* A model that serves less than it should (a job at 1/n, not
		 * min(1, c/n)) is unstable here: fail now rather than crawl
		 * (a start scans the host's jobs). For the exact chain
		 * P(N >= 1000) < 0.8^990, never in 2,000,000 arrivals. */
		CHECKF(sim_cpu_running(p.c, 0) < 1000,
		       "%u jobs running at arrival %llu", sim_cpu_running(p.c, 0),
		       (unsigned long long)j);
		double w = sim_rng_exponential(p.r, 2, es);
		struct sim_ev d = done_ev(j);
		CHECK(sim_cpu_start(p.c, p.arr[j], 0, j, (ukf_ns_t)llround(w),
				    &d) == 0);
	}
	CHECK(drain(p.q, p.c, UKF_NS_NEVER, p.fin, JOBS) == 0);
	double bm[BATCHES], mean = 0, var = 0, lag = 0;
	for (int b = 0; b < BATCHES; b++) {
		double sum = 0;
		for (uint64_t j = WARM + (uint64_t)b * PER;
		     j < WARM + (uint64_t)(b + 1) * PER; j++) {
			CHECK(p.fin[j] >= p.arr[j]);
			sum += (double)(p.fin[j] - p.arr[j]);
		}
		bm[b] = sum / PER;
		mean += bm[b] / BATCHES;
	}
	for (int b = 0; b < BATCHES; b++) {
		var += (bm[b] - mean) * (bm[b] - mean) / (BATCHES - 1);
		if (b > 0)
			lag += (bm[b] - mean) * (bm[b - 1] - mean);
	}
	double se = sqrt(var / BATCHES), z = (mean - want) / se;
	printf(
	    "M/M/%u-PS rho %.2f: mean response %.4f ms +- %.4f (1 s.e., %d "
	    "batch means of %d jobs, lag-1 correlation %+.2f), exact %.4f ms "
	    "(%+.2f%%, %+.2f s.e.)\n",
	    cores, rho, mean / 1e6, se / 1e6, BATCHES, PER,
	    lag / (var * (BATCHES - 1)), want / 1e6, 100 * (mean / want - 1),
	    z);
	CHECKF(se < 0.01 * want, "standard error %.0f ns: too wide to tell",
	       se);
	CHECKF(fabs(z) < 4,
	       "mean %.0f ns, exact %.0f ns: %.1f standard errors off", mean,
	       want, z);
	psrun_close(&p);
	return 0;
}

static int t_cpu_mmc_ps(void)
{
	CHECK(mmc_ps(4, 0.5) == 0);
	CHECK(mmc_ps(4, 0.8) == 0);
	CHECK(mmc_ps(2, 0.5) == 0);
	CHECK(mmc_ps(2, 0.8) == 0);
	return 0;
}

static const struct selftest tests[] = {
	{ "cpu_equal_jobs", t_cpu_equal_jobs },
	{ "cpu_rate_changes", t_cpu_rate_changes },
	{ "cpu_huge_work", t_cpu_huge_work },
	{ "cpu_mm1_ps", t_cpu_mm1_ps },
	{ "cpu_md1_ps", t_cpu_md1_ps },
	{ "cpu_mmc_ps", t_cpu_mmc_ps },
};

int main(int argc, char **argv)
{
	return selftest_main_print(tests, SELFTEST_COUNT(tests), argc, argv);
}
