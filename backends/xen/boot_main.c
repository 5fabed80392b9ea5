/* SPDX-License-Identifier: MIT */
/* boot_main.c - ukf-xen-boot: boot a guest image through the registry's "xen" backend, show its console, time create-to-ready. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/registry.h"
#include "core/ukf.h"
#include "include/ukf_abi.h"

/*
 * A small driver of the Xen backend, through the registry only (as live/
 * and the node agent open backends), for tests/xen and docs/xen.md's
 * comparison with `xl create`. Runs in dom0. Exit status: the guest's
 * (last run), 125 when the backend or a boot failed.
 */

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s [--mem SIZE] [--vcpus N] [-n RUNS] [--timeout S] "
		"[--quiet] IMAGE [ARGS...]\n"
		"Boots the Xen PV guest IMAGE (build/guest-xen/NAME) through "
		"ukfork's xen backend\n"
		"(in dom0), prints its console and, on stderr, the time from "
		"the create call to\n"
		"its UKF-READY line and to its exit. -n boots it RUNS times, "
		"one after another.\n"
		"Exit status: the guest's; 125 if the backend or a boot "
		"failed.\n",
		argv0);
}

struct sink {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int quiet;
	int started, ready, done, failed;
	int64_t status;
	double t_started, t_ready, t_done;
	char reason[1024];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_event(void *u, ukf_node_id_t node, const struct ukf_be_event *ev)
{
	struct sink *s = u;
	double t = now_s();

	pthread_mutex_lock(&s->lock);
	switch (ev->kind) {
	case UKF_BE_STARTED:
		s->started = 1;
		s->t_started = t;
		break;
	case UKF_BE_READY:
		s->ready = 1;
		s->t_ready = t;
		break;
	case UKF_BE_CONSOLE:
		if (!s->quiet)
			printf("%.*s\n", (int)ev->len, (const char *)ev->data);
		break;
	case UKF_BE_EXIT:
		s->done = 1;
		s->status = ev->status;
		s->t_done = t;
		break;
	case UKF_BE_FAIL:
	case UKF_BE_ERROR:
		s->done = s->failed = 1;
		s->t_done = t;
		snprintf(s->reason, sizeof(s->reason), "%s",
			 ev->text ? ev->text : "(no reason)");
		break;
	default:
		break;
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *label = getenv("UKF_IN_XEN_TESTBED") ? " (EMULATED)" : "";
	uint64_t mem = 32ULL << 20;
	unsigned vcpus = 1, runs = 1, timeout = 120;
	int quiet = 0, i, rc = 0, ok = 0;
	struct ukf_backend_config cfg;
	struct ukf_backend be;
	const struct ukf_backend_driver *d;
	struct ukf_app app;
	struct sink s;
	char err[1024], args[UKF_ARGS_MAX] = "";
	const char *image, *base;
	double *ready_ms;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout, argv[0]);
			return 0;
		} else if (!strcmp(a, "--quiet")) {
			quiet = 1;
		} else if (i + 1 < argc && !strcmp(a, "--mem")) {
			if (ukf_parse_size(argv[++i], &mem) < 0) {
				fprintf(stderr, "%s: --mem: bad size '%s'\n",
					argv[0], argv[i]);
				return 125;
			}
		} else if (i + 1 < argc && !strcmp(a, "--vcpus")) {
			vcpus = (unsigned)strtoul(argv[++i], NULL, 10);
		} else if (i + 1 < argc && !strcmp(a, "-n")) {
			runs = (unsigned)strtoul(argv[++i], NULL, 10);
		} else if (i + 1 < argc && !strcmp(a, "--timeout")) {
			timeout = (unsigned)strtoul(argv[++i], NULL, 10);
		} else {
			usage(stderr, argv[0]);
			return 125;
		}
	}
	if (i >= argc || !runs || !vcpus || !timeout) {
		usage(stderr, argv[0]);
		return 125;
	}
	image = argv[i++];
	for (; i < argc; i++) {
		size_t n = strlen(args);
		if (snprintf(args + n, sizeof(args) - n, "%s%s", n ? " " : "",
			     argv[i]) >= (int)(sizeof(args) - n)) {
			fprintf(stderr, "%s: arguments too long\n", argv[0]);
			return 125;
		}
	}
	base = strrchr(image, '/');
	base = base ? base + 1 : image;
	if (ukf_app_parse(&app, base, "", err, sizeof(err)) < 0 &&
	    ukf_app_parse(&app, "guest", "", err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		return 125;
	}
	if (strlen(image) >= sizeof(app.image)) {
		fprintf(stderr, "%s: image path too long\n", argv[0]);
		return 125;
	}
	strcpy(app.image, image);
	app.mem_bytes = mem;
	app.vcpus = vcpus;

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	s.quiet = quiet;
	ukf_backend_config_default(&cfg);
	cfg.pause_on_ready = 0;
	cfg.event = on_event;
	cfg.u = &s;
	cfg.run_limit_ns = (ukf_ns_t)timeout * UKF_S;
	d = ukf_backend_open("xen", &cfg, &be, err, sizeof(err));
	if (!d) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		return 125;
	}
	ready_ms = calloc(runs, sizeof(*ready_ms));
	if (!ready_ms) {
		d->destroy(&be);
		return 125;
	}
	for (unsigned r = 0; r < runs; r++) {
		ukf_id_t inst = r + 1;
		double t0;
		int e;

		pthread_mutex_lock(&s.lock);
		s.started = s.ready = s.done = s.failed = 0;
		s.reason[0] = '\0';
		pthread_mutex_unlock(&s.lock);
		t0 = now_s();
		e = be.ops->cold_boot(be.b, 0, inst, &app, args);
		if (e < 0) {
			fprintf(stderr, "%s: cold boot refused: %s\n", argv[0],
				strerror(-e));
			rc = 125;
			break;
		}
		pthread_mutex_lock(&s.lock);
		while (!s.done) /* the backend's run limit ends a hung guest */
			pthread_cond_wait(&s.cond, &s.lock);
		pthread_mutex_unlock(&s.lock);
		be.ops->destroy(be.b, 0, inst);
		if (s.failed) {
			fprintf(stderr, "%s: %s failed: %s\n", argv[0], image,
				s.reason);
			rc = 125;
			break;
		}
		fprintf(stderr,
			"xen-boot: run %u: running %.1f ms, UKF-READY %s%.1f ms, "
			"exit %lld at %.1f ms after the create call%s\n",
			r + 1, (s.t_started - t0) * 1e3,
			s.ready ? "" : "(never) ",
			s.ready ? (s.t_ready - t0) * 1e3 : 0.0,
			(long long)s.status, (s.t_done - t0) * 1e3, label);
		if (s.ready)
			ready_ms[ok++] = (s.t_ready - t0) * 1e3;
		rc = (int)(s.status & 0xff);
	}
	if (ok > 1) {
		qsort(ready_ms, (size_t)ok, sizeof(*ready_ms), cmp_double);
		fprintf(stderr,
			"xen-boot: create to UKF-READY over %d runs: median "
			"%.1f ms, min %.1f, max %.1f%s\n",
			ok, ready_ms[ok / 2], ready_ms[0], ready_ms[ok - 1],
			label);
	}
	free(ready_ms);
	d->destroy(&be);
	return rc;
}
