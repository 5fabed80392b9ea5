/* SPDX-License-Identifier: MIT */
/* bench_fork.c - figures for templates and fork on KVM: clone vs cold boot, live fork, throughput, memory, first touch. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/kvm/host.h"
#include "bench/kvm/bench_proc.h"
#include "bench/kvm/fork_json.h"
#include "results/stats.h"
#include "backends/kvm/ukvm.h"

/*
 * usage: ukvm-bench-fork [--synth PATH] [--clones N] [--forks N]
 *                        [--throughput N] [--cold N] [--json]
 * Runs the synth guest (default: the build's guest/synth) with 64 MiB of
 * working memory and 50 ms of initialisation, and prints one figure per
 * line (medians and p99 over the runs; all in one process, one run).
 * Quantiles are nearest-rank (results/stats.h), as `ukfork bootbench` and
 * `ukfork report` compute them. --json: the text goes to stderr and
 * stdout gets one JSON object: per latency figure count, median_ms,
 * p95_ms, p99_ms, max_ms, min_ms and 95% distribution-free confidence
 * intervals of the three quantiles ([lo, hi], null where the sample is
 * too small to bound a side), plus the throughput figures. The object is
 * built by fork_json.c with the project's one JSON writer (results/json.h,
 * json-c), as bootbench's and `ukfork report`'s are.
 */

#define MAXID 20000

struct rec {
	ukf_ns_t started, ready, call, exit, marker;
	int n_started, n_ready, n_call, n_exit, failed, errors;
	enum ukf_call call_kind;
	uint64_t dirty;
	int64_t status;
	char reason[256];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rec r[MAXID];
	uint64_t tmpl_events;
	int tmpl_error;
} B = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static ukf_ns_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ukf_ns_t)ts.tv_sec * UKF_S + ts.tv_nsec;
}

static void on_event(void *u, ukf_node_id_t node, const struct ukf_be_event *ev)
{
	ukf_ns_t t = now();
	struct rec *r;

	(void)u;
	(void)node;
	pthread_mutex_lock(&B.lock);
	if (ev->kind == UKF_BE_TEMPLATE) {
		B.tmpl_events++;
	} else if (ev->inst < MAXID) {
		r = &B.r[ev->inst];
		switch (ev->kind) {
		case UKF_BE_STARTED:
			r->started = t;
			r->n_started++;
			break;
		case UKF_BE_READY:
			r->ready = t;
			r->n_ready++;
			break;
		case UKF_BE_CALL:
			r->call = t;
			r->n_call++;
			r->call_kind = ev->call;
			r->dirty = ev->dirty_pages;
			break;
		case UKF_BE_EXIT:
			r->exit = t;
			r->n_exit++;
			r->status = ev->status;
			break;
		case UKF_BE_FAIL:
		case UKF_BE_ERROR:
			r->failed++;
			if (ev->kind == UKF_BE_ERROR)
				B.tmpl_error = 1;
			snprintf(r->reason, sizeof(r->reason), "%s",
				 ev->text ? ev->text : "?");
			r->exit = t;
			break;
		case UKF_BE_CONSOLE:
			if (ev->len >= 9 && !memcmp(ev->data, "UKF-READY", 9))
				r->marker = t;
			break;
		default:
			break;
		}
	}
	pthread_cond_broadcast(&B.cond);
	pthread_mutex_unlock(&B.lock);
}

/* Wait (hang guard 60 s) until *field of id becomes >= want. */
static int wait_for(ukf_id_t id, size_t off, int want)
{
	struct timespec dl;
	int ok = 0;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 60;
	pthread_mutex_lock(&B.lock);
	for (;;) {
		struct rec *r = &B.r[id];

		if (*(int *)((char *)r + off) >= want) {
			ok = 1;
			break;
		}
		if (r->failed)
			break;
		if (pthread_cond_timedwait(&B.cond, &B.lock, &dl) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&B.lock);
	if (!ok)
		fprintf(stderr, "instance %llu: wait failed: %s\n",
			(unsigned long long)id,
			B.r[id].failed ? B.r[id].reason : "timeout");
	return ok ? 0 : -1;
}
#define WAIT(id, field, n) wait_for(id, offsetof(struct rec, field), n)

static ukf_ns_t get(ukf_id_t id, size_t off)
{
	ukf_ns_t v;

	pthread_mutex_lock(&B.lock);
	v = *(ukf_ns_t *)((char *)&B.r[id] + off);
	pthread_mutex_unlock(&B.lock);
	return v;
}
#define GET(id, field) get(id, offsetof(struct rec, field))

/* Nearest-rank quantile p of v[0..n) (sorts v), as bootbench reports. */
static double pct(double *v, int n, double p)
{
	ukf_stats_sort(v, (size_t)n);
	return ukf_stats_quantile(v, (size_t)n, p);
}

/* Figures kept for --json: latencies (us values, sorted) and throughputs. */
#define MAXFIG 8
static struct ukvm_fork_fig FIG[MAXFIG];
static int NFIG;
static struct ukvm_fork_tp TPF[MAXFIG];
static int NTPF;

static void keep(const char *key, const double *v, int n)
{
	double *c = malloc(sizeof(*c) * (size_t)(n ? n : 1));

	if (!c || NFIG == MAXFIG) {
		free(c);
		return;
	}
	memcpy(c, v, sizeof(*c) * (size_t)n);
	ukf_stats_sort(c, (size_t)n);
	FIG[NFIG].key = key;
	FIG[NFIG].v = c;
	FIG[NFIG++].n = n;
}

static void keep_tp(const char *key, double v)
{
	if (NTPF < MAXFIG) {
		TPF[NTPF].key = key;
		TPF[NTPF++].v = v;
	}
}

/* The --json line on stdout (fork_json.c builds it): 0, or -1 if it could
 * not be built or written. */
static int print_json(const char *guest)
{
	struct json_object *j =
		ukvm_fork_json(guest, ukvm_host()->desc,
			       ukvm_host()->kind == UKVM_HOST_EMULATED, FIG,
			       NFIG, TPF, NTPF);
	int rc = j ? ukf_json_print(stdout, j) : -1;

	json_object_put(j);
	return rc;
}

static ukvm_t *M;
static const struct ukf_backend_ops *O = &ukvm_backend_ops;
static struct ukf_app APP;

struct tp_arg {
	ukf_id_t first;
	int n;
	int fails;
};

/* Sustained: clone, wait until ready, destroy; the shell is reused. */
static void *sus_thread(void *p)
{
	struct tp_arg *a = p;

	for (int i = 0; i < a->n; i++) {
		ukf_id_t id = a->first + (ukf_id_t)i;

		if (O->clone_template(M, 0, id, &APP,
				      "mem=64M init=50ms work=0 dirty=0") < 0 ||
		    WAIT(id, n_ready, 1) < 0) {
			a->fails++;
			continue;
		}
		O->destroy(M, 0, id);
	}
	return NULL;
}

static void *tp_thread(void *p)
{
	struct tp_arg *a = p;

	for (int i = 0; i < a->n; i++)
		if (O->clone_template(M, 0, a->first + (ukf_id_t)i, &APP,
				      "mem=64M init=50ms work=0 dirty=0") < 0)
			a->fails++;
	return NULL;
}

int main(int argc, char **argv)
{
	const char *synth = NULL;
	int nclones = 200, nforks = 200, ntp = 1000, ncold = 5;
	struct ukvm_config cfg;
	char err[300], path[700];
	ukf_id_t id = 1;
	double *v, *w;
	int json = 0;
	FILE *txt = stdout;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--synth") && i + 1 < argc)
			synth = argv[++i];
		else if (!strcmp(argv[i], "--clones") && i + 1 < argc)
			nclones = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--forks") && i + 1 < argc)
			nforks = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--throughput") && i + 1 < argc)
			ntp = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--cold") && i + 1 < argc)
			ncold = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--json"))
			json = 1;
		else {
			fprintf(stderr, "usage: %s [--synth PATH] [--clones N] [--forks N] [--throughput N] [--cold N] [--json]\n",
				argv[0]);
			return 2;
		}
	}
	if (nclones < 1 || nforks < 1 || ntp < 2 || ncold < 1 ||
	    ncold + nclones + nforks + 3 * ntp + 500 > MAXID) {
		fprintf(stderr, "counts out of range\n");
		return 2;
	}
	if (!synth) {
		char self[512];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (n < 0)
			return 2;
		self[n] = 0;
		*strrchr(self, '/') = 0;
		snprintf(path, sizeof(path), "%s/../../guest/synth", self);
		synth = path;
	}
	if (!ukvm_available(err, sizeof(err))) {
		printf("SKIP: %s\n", err);
		return 77;
	}
	if (access(synth, R_OK)) {
		fprintf(stderr, "guest image %s: %s\n", synth, strerror(errno));
		return 2;
	}
	if (json)
		txt = stderr;
	fprintf(txt, "KVM here: %s%s\n", ukvm_host()->desc,
		ukvm_host()->kind == UKVM_HOST_EMULATED
			? " -- EMULATED: timings show behaviour only"
			: "");
	memset(&cfg, 0, sizeof(cfg));
	cfg.event = on_event;
	cfg.pause_on_ready = 1;
	M = ukvm_create(&cfg, err, sizeof(err));
	if (!M) {
		fprintf(stderr, "ukvm_create: %s\n", err);
		return 1;
	}
	if (ukf_app_parse(&APP, "synth", "mem=80M", err, sizeof(err)) < 0) {
		fprintf(stderr, "app: %s\n", err);
		return 1;
	}
	APP.id = 0;
	if (strlen(synth) >= sizeof(APP.image)) {
		fprintf(stderr, "image path too long\n");
		return 2;
	}
	memcpy(APP.image, synth, strlen(synth) + 1);
	fprintf(txt, "guest: %s, VM memory 80 MiB, args mem=64M init=50ms\n", synth);

	/* 1. Cold boots to ready (the template is made from the first). */
	v = calloc((size_t)(MAXID), sizeof(double));
	w = calloc((size_t)(MAXID), sizeof(double));
	ukf_id_t tmpl_src = 0;
	for (int i = 0; i < ncold; i++, id++) {
		ukf_ns_t t0 = now();

		if (O->cold_boot(M, 0, id, &APP, "mem=64M init=50ms") < 0 ||
		    WAIT(id, n_ready, 1) < 0)
			return 1;
		v[i] = (double)(GET(id, ready) - t0) / 1e3;
		if (!tmpl_src) {
			tmpl_src = id;
		} else {
			O->destroy(M, 0, id);
		}
	}
	keep("cold_boot_to_ready", v, ncold);
	double cold_med = pct(v, ncold, 0.5);
	fprintf(txt, "cold boot to ready:        median %9.1f us  (n=%d, min %.1f, max %.1f)\n",
	       cold_med, ncold, v[0], v[ncold - 1]);
	{
		ukf_ns_t t0 = now();

		if (O->make_template(M, 0, tmpl_src, 0) < 0)
			return 1;
		pthread_mutex_lock(&B.lock);
		while (!B.tmpl_events && !B.tmpl_error)
			pthread_cond_wait(&B.cond, &B.lock);
		pthread_mutex_unlock(&B.lock);
		if (B.tmpl_error) {
			fprintf(stderr, "make_template failed\n");
			return 1;
		}
		fprintf(txt, "make_template:             %9.1f us\n",
		       (double)(now() - t0) / 1e3);
		O->destroy(M, 0, tmpl_src);
	}

	/* 2. Template clones, sequential: to ready, and to the marker. The
	 * first 10 (shell pool filling at the template's size) are not
	 * counted. */
	for (int i = 0; i < 10; i++, id++) {
		if (O->clone_template(M, 0, id, &APP,
				      "mem=64M init=50ms work=0 dirty=0") < 0 ||
		    WAIT(id, n_ready, 1) < 0)
			return 1;
		O->destroy(M, 0, id);
	}
	usleep(100000);
	int nm = 0;
	for (int i = 0; i < nclones; i++, id++) {
		ukf_ns_t t0 = now();

		if (O->clone_template(M, 0, id, &APP,
				      "mem=64M init=50ms work=0 dirty=0") < 0 ||
		    WAIT(id, n_ready, 1) < 0)
			return 1;
		v[i] = (double)(GET(id, ready) - t0) / 1e3;
		if (i < 50) { /* a few run on, to the console marker */
			O->complete(M, 0, id, 0, 0, 0, NULL, 0);
			if (WAIT(id, n_exit, 1) < 0)
				return 1;
			w[nm++] = (double)(GET(id, marker) - t0) / 1e3;
			if (B.r[id].status != 0) {
				fprintf(stderr, "clone %llu exit %lld\n",
					(unsigned long long)id,
					(long long)B.r[id].status);
				return 1;
			}
		}
		O->destroy(M, 0, id);
	}
	keep("template_clone_to_ready", v, nclones);
	keep("template_clone_to_marker", w, nm);
	double cl_med = pct(v, nclones, 0.5);
	fprintf(txt, "template clone to ready:   median %9.1f us  p99 %9.1f us  (n=%d after 10 warm-up)\n",
	       cl_med, pct(v, nclones, 0.99), nclones);
	fprintf(txt, "template clone to marker:  median %9.1f us  p99 %9.1f us  (n=%d, guest runs, prints UKF-READY)\n",
	       pct(w, nm, 0.5), pct(w, nm, 0.99), nm);
	fprintf(txt, "ratio cold/clone (ready):  %9.1f x\n", cold_med / cl_med);

	/* 3. Live fork of a 64 MiB guest with 1 MiB dirtied since template. */
	ukf_id_t parent = id++;
	if (O->clone_template(M, 0, parent, &APP,
			      "mem=64M init=50ms work=0 dirty=256 fork=1 units=1") < 0 ||
	    WAIT(parent, n_ready, 1) < 0)
		return 1;
	O->complete(M, 0, parent, 0, 0, 0, NULL, 0);
	if (WAIT(parent, n_call, 1) < 0 || B.r[parent].call_kind != UKF_CALL_FORK)
		return 1;
	fprintf(txt, "parent dirty pages at fork: %llu (since its template)\n",
	       (unsigned long long)B.r[parent].dirty);
	ukf_id_t child = 0;
	for (int i = 0; i < nforks; i++, id++) {
		ukf_ns_t t0 = now(), t1;
		int rc = O->clone_live(M, 0, id, parent);

		t1 = now();
		if (rc < 0 || WAIT(id, n_started, 1) < 0) {
			fprintf(stderr, "clone_live: %d\n", rc);
			return 1;
		}
		v[i] = (double)(GET(id, started) - t0) / 1e3;
		w[i] = (double)(t1 - t0) / 1e3;
		if (i == nforks - 1)
			child = id; /* the last one runs to its end */
		else
			O->destroy(M, 0, id);
	}
	keep("live_fork_to_child_started", v, nforks);
	keep("live_fork_op", w, nforks);
	fprintf(txt, "live fork to child started: median %9.1f us  p99 %9.1f us  (n=%d)\n",
	       pct(v, nforks, 0.5), pct(v, nforks, 0.99), nforks);
	fprintf(txt, "live fork op (clone_live):  median %9.1f us  p99 %9.1f us\n",
	       pct(w, nforks, 0.5), pct(w, nforks, 0.99));
	/* Live-fork throughput: children of the paused parent, kept alive
	 * (paused in fork()) until the end of the burst. */
	{
		int nb = nforks < 200 ? nforks : 200;
		ukf_id_t first = id;
		ukf_ns_t b0 = now(), b1;

		for (int i = 0; i < nb; i++, id++)
			if (O->clone_live(M, 0, id, parent) < 0) {
				fprintf(stderr, "clone_live in burst failed\n");
				return 1;
			}
		for (int i = 0; i < nb; i++)
			if (WAIT(first + (ukf_id_t)i, n_started, 1) < 0)
				return 1;
		b1 = now();
		fprintf(txt, "live fork throughput:       %9.0f forks/s  (%d children of one parent, 1 thread)\n",
		       nb / ((double)(b1 - b0) / 1e9), nb);
		keep_tp("live_fork_per_s", nb / ((double)(b1 - b0) / 1e9));
		for (int i = 0; i < nb; i++)
			O->destroy(M, 0, first + (ukf_id_t)i);
	}
	/* The child and the parent run on: fork returns, child exits 0. */
	O->complete(M, 0, child, 0, 0, 0, NULL, 0);
	O->complete(M, 0, parent, (int64_t)child, 0, 0, NULL, 0);
	if (WAIT(child, n_exit, 1) < 0 || B.r[child].status != 0) {
		fprintf(stderr, "forked child did not exit 0\n");
		return 1;
	}
	if (WAIT(parent, n_call, 2) < 0 || B.r[parent].call_kind != UKF_CALL_WAIT)
		return 1;
	O->complete(M, 0, parent, (int64_t)child, 0, 0, NULL, 0);
	if (WAIT(parent, n_exit, 1) < 0 || B.r[parent].status != 0) {
		fprintf(stderr, "fork parent did not exit 0\n");
		return 1;
	}
	fprintf(txt, "forked child and parent ran on and exited 0\n");
	O->destroy(M, 0, child);
	O->destroy(M, 0, parent);

	/* 4. Throughput on 2 threads, clones left idle in ready. */
	sleep(1); /* let teardown of the VMs above finish */
	long anon0 = bench_proc_kib("/proc/self/status", "RssAnon");
	long avail0 = bench_proc_kib("/proc/meminfo", "MemAvailable");
	struct tp_arg ta[2] = { { id, ntp / 2, 0 }, { id + (ukf_id_t)(ntp / 2), ntp - ntp / 2, 0 } };
	pthread_t th[2];
	ukf_ns_t t0 = now(), tend = 0;

	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, tp_thread, &ta[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < ntp; i++) {
		if (WAIT(id + (ukf_id_t)i, n_ready, 1) < 0)
			return 1;
		if (GET(id + (ukf_id_t)i, ready) > tend)
			tend = GET(id + (ukf_id_t)i, ready);
	}
	fprintf(txt, "clone throughput (2 threads): %9.0f clones/s  (%d clones to ready in %.1f ms, %d refused)\n",
	       ntp / ((double)(tend - t0) / 1e9), ntp,
	       (double)(tend - t0) / 1e6, ta[0].fails + ta[1].fails);
	keep_tp("clone_2threads_per_s", ntp / ((double)(tend - t0) / 1e9));
	long anon1 = bench_proc_kib("/proc/self/status", "RssAnon");
	long avail1 = bench_proc_kib("/proc/meminfo", "MemAvailable");
	fprintf(txt, "memory per idle clone:     private (RssAnon) %.1f KiB, system (MemAvailable drop, incl. KVM, page tables, thread) %.1f KiB\n",
	       (double)(anon1 - anon0) / ntp, (double)(avail0 - avail1) / ntp);
	for (int i = 0; i < ntp; i++)
		O->destroy(M, 0, id + (ukf_id_t)i);
	id += (ukf_id_t)ntp;
	sleep(1);

	/* 4b. Sustained throughput: 2 threads, each clone destroyed once
	 * ready (its shell goes back to the pool). */
	{
		struct tp_arg sa[2] = { { id, ntp, 0 }, { id + (ukf_id_t)ntp, ntp, 0 } };
		ukf_ns_t s0 = now(), s1;

		for (int i = 0; i < 2; i++)
			pthread_create(&th[i], NULL, sus_thread, &sa[i]);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		s1 = now();
		fprintf(txt, "sustained clone throughput (2 threads, destroyed when ready): %9.0f clones/s  (%d clones in %.1f ms, %d failed)\n",
		       2 * ntp / ((double)(s1 - s0) / 1e9), 2 * ntp,
		       (double)(s1 - s0) / 1e6, sa[0].fails + sa[1].fails);
		keep_tp("sustained_clone_2threads_per_s",
			2 * ntp / ((double)(s1 - s0) / 1e9));
		id += (ukf_id_t)(2 * ntp);
		sleep(1);
	}

	/* 5. First touch: a clone dirtying D pages vs one dirtying none. */
	const int D = 8192;
	double td[2];
	for (int k = 0; k < 2; k++) {
		double s[5];

		for (int rep = 0; rep < 5; rep++, id++) {
			char args[128];

			snprintf(args, sizeof(args),
				 "mem=64M init=50ms work=0 dirty=%d units=1",
				 k ? D : 0);
			if (O->clone_template(M, 0, id, &APP, args) < 0 ||
			    WAIT(id, n_ready, 1) < 0)
				return 1;
			ukf_ns_t a = now();
			O->complete(M, 0, id, 0, 0, 0, NULL, 0);
			if (WAIT(id, n_exit, 1) < 0)
				return 1;
			s[rep] = (double)(GET(id, exit) - a) / 1e3;
			O->destroy(M, 0, id);
		}
		td[k] = pct(s, 5, 0.5);
	}
	fprintf(txt, "first touch after clone:   %.0f pages/s  (%.2f us/page; %d pages: %.1f us vs 0 pages: %.1f us, medians of 5)\n",
	       D / ((td[1] - td[0]) / 1e6), (td[1] - td[0]) / D, D, td[1],
	       td[0]);
	keep_tp("first_touch_pages_per_s", D / ((td[1] - td[0]) / 1e6));
	int rc = 0;

	if (json && print_json(synth) < 0) {
		fprintf(stderr, "ukvm-bench-fork: --json: cannot write the "
				"JSON line to stdout\n");
		rc = 1;
	}
	ukvm_destroy(&M);
	free(v);
	free(w);
	for (int i = 0; i < NFIG; i++)
		free((double *)FIG[i].v);
	return rc;
}
