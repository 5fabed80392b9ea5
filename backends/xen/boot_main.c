/* SPDX-License-Identifier: MIT */
/* boot_main.c - ukf-xen-boot: boots a guest through the registry's "xen" backend, times it to ready. */
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
	fprintf(
	    f,
	    "usage: %s [--mem SIZE] [--vcpus N] [-n RUNS] [-j PARALLEL] "
	    "[--timeout S] [--quiet]\n"
	    "       [--clones N [--clone-only] [--template-dir DIR]] IMAGE "
	    "[ARGS...]\n"
	    "Boots the Xen PV guest IMAGE (build/guest-xen/NAME) through "
	    "ukfork's xen backend\n"
	    "(in dom0), prints its console and, on stderr, the time from "
	    "the create call to\n"
	    "its UKF-READY line and to its exit. -n boots it RUNS times, at "
	    "most PARALLEL\n"
	    "alive at once (1: one after another); with PARALLEL > 1 console "
	    "lines are\n"
	    "prefixed by [RUN]. Exit status: the guest's (the last run's); "
	    "125 if the\n"
	    "backend or a boot failed.\n"
	    "--clones N: boots IMAGE held at ready, makes it the template "
	    "(suspended to a\n"
	    "file in DIR, default $UKF_XEN_TEMPLATE_DIR or /tmp), lets it "
	    "go on, then\n"
	    "starts N clones restored from that file (at most PARALLEL at "
	    "once), each\n"
	    "going on from ready with ARGS; --clone-only skips the boot and "
	    "clones the\n"
	    "file a previous --clones left in DIR.\n",
	    argv0);
}

/* One boot, instance id = its index + 1. */
struct run {
	int launched, ready, done, failed, reaped;
	int launched_go; /* --clones: ready answered */
	int64_t status;
	double t0, t_started, t_ready, t_done;
	double wall_ready; /* CLOCK_REALTIME at READY, for a shell's clock */
	char reason[1024];
};

struct sink {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int quiet, prefix;
	struct run *runs;
	unsigned nruns;
	int tpl_done, tpl_failed; /* UKF_BE_TEMPLATE / ERROR seen */
	uint64_t tpl_bytes;
	char tpl_reason[1024];
	struct ukf_backend *be; /* to answer calls (set before any boot) */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_event(void *u, ukf_node_id_t node, const struct ukf_be_event *ev)
{
	struct sink *s = u;
	double t = now_s();
	struct run *r;

	if (ev->inst == 0 &&
	    (ev->kind == UKF_BE_TEMPLATE || ev->kind == UKF_BE_ERROR)) {
		pthread_mutex_lock(&s->lock);
		s->tpl_done = 1;
		s->tpl_failed = ev->kind == UKF_BE_ERROR;
		s->tpl_bytes = ev->bytes;
		snprintf(s->tpl_reason, sizeof(s->tpl_reason), "%s",
			 ev->text ? ev->text : "");
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (ev->kind == UKF_BE_CALL) {
		/* no engine here to fork, spawn or pass messages: the guest
		 * is told so and does the work itself (fanout, synth) */
		s->be->ops->complete(s->be->b, node, ev->inst, -UKF_ENOSYS, 0,
				     0, NULL, 0);
		return;
	}
	if (ev->inst < 1 || ev->inst > s->nruns)
		return;
	pthread_mutex_lock(&s->lock);
	r = &s->runs[ev->inst - 1];
	switch (ev->kind) {
	case UKF_BE_STARTED:
		r->t_started = t;
		break;
	case UKF_BE_READY:
		r->ready = 1;
		r->t_ready = t;
		r->wall_ready = wall_s();
		break;
	case UKF_BE_CONSOLE:
		if (s->quiet)
			break;
		if (s->prefix)
			printf("[%llu] ", (unsigned long long)ev->inst);
		printf("%.*s\n", (int)ev->len, (const char *)ev->data);
		fflush(stdout);
		break;
	case UKF_BE_EXIT:
		r->done = 1;
		r->status = ev->status;
		r->t_done = t;
		break;
	case UKF_BE_FAIL:
	case UKF_BE_ERROR:
		r->done = r->failed = 1;
		r->t_done = t;
		snprintf(r->reason, sizeof(r->reason), "%s",
			 ev->text ? ev->text : "(no reason)");
		break;
	default:
		break;
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Wait on s->cond until *flag or the deadline (s->lock held); 0 / -1. */
static int wait_flag(struct sink *s, const int *flag, double until)
{
	while (!*flag) {
		struct timespec ts;
		double w = wall_s() + (until - now_s());

		if (now_s() > until)
			return -1;
		ts.tv_sec = (time_t)w;
		ts.tv_nsec = (long)((w - (double)ts.tv_sec) * 1e9);
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/*
 * --clones: instance 1 is the template's boot (unless clone_only), 2..N+1
 * the clones. Each held ready is answered at once (the template's after
 * its file is written). Returns the exit status.
 */
static int clones_main(const char *argv0, struct sink *s,
		       struct ukf_backend *be, const struct ukf_app *app,
		       const char *args, unsigned n, unsigned par,
		       int clone_only, unsigned timeout, const char *label)
{
	double until = now_s() + (double)timeout, t0;
	unsigned next = 0, alive = 0, done = 0;
	int rc = 0, e;
	struct run *r;

	pthread_mutex_lock(&s->lock);
	if (!clone_only) {
		r = &s->runs[0];
		r->launched = 1;
		r->t0 = now_s();
		pthread_mutex_unlock(&s->lock);
		e = be->ops->cold_boot(be->b, 0, 1, app, args);
		pthread_mutex_lock(&s->lock);
		if (e < 0 || wait_flag(s, &r->ready, until) < 0 || r->failed) {
			fprintf(stderr, "%s: template boot: %s\n", argv0,
				e < 0	    ? strerror(-e)
				: r->failed ? r->reason
					    : "no ready before the timeout");
			pthread_mutex_unlock(&s->lock);
			return 125;
		}
		t0 = now_s();
		pthread_mutex_unlock(&s->lock);
		e = be->ops->make_template(be->b, 0, 1, app->id);
		pthread_mutex_lock(&s->lock);
		if (e < 0 || wait_flag(s, &s->tpl_done, until) < 0 ||
		    s->tpl_failed) {
			fprintf(stderr, "%s: template: %s\n", argv0,
				e < 0 ? strerror(-e)
				: s->tpl_failed
				    ? s->tpl_reason
				    : "not made before the timeout");
			pthread_mutex_unlock(&s->lock);
			return 125;
		}
		fprintf(stderr,
			"xen-boot: template: ready %.1f ms after the create "
			"call, saved in %.1f ms%s\n",
			(r->t_ready - r->t0) * 1e3, (now_s() - t0) * 1e3,
			label);
		pthread_mutex_unlock(&s->lock);
		be->ops->complete(be->b, 0, 1, 0, 0, 0, NULL, 0);
		pthread_mutex_lock(&s->lock);
		if (wait_flag(s, &r->done, until) < 0 || r->failed) {
			fprintf(stderr, "%s: the template's instance: %s\n",
				argv0,
				r->failed ? r->reason
					  : "no exit before the "
					    "timeout");
			rc = 125;
		}
		pthread_mutex_unlock(&s->lock);
		be->ops->destroy(be->b, 0, 1);
		pthread_mutex_lock(&s->lock);
	}
	while (done < n) {
		while (alive < par && next < n) {
			r = &s->runs[1 + next];
			r->launched = 1;
			r->t0 = now_s();
			pthread_mutex_unlock(&s->lock);
			e = be->ops->clone_template(be->b, 0, 2 + next, app,
						    args);
			pthread_mutex_lock(&s->lock);
			if (e < 0) {
				r->done = r->failed = 1;
				snprintf(r->reason, sizeof(r->reason),
					 "clone refused: %s%s", strerror(-e),
					 e == -ENOENT ? " (no template of the "
							"app in the template "
							"directory)"
						      : "");
			}
			next++;
			alive++;
		}
		int found = 0;
		for (unsigned k = 0; k < next; k++) {
			ukf_id_t id = 2 + k;

			r = &s->runs[1 + k];
			if (r->ready && !r->reaped && !r->done &&
			    !r->launched_go) {
				r->launched_go = 1;
				pthread_mutex_unlock(&s->lock);
				be->ops->complete(be->b, 0, id, 1, 0, 0, NULL,
						  0);
				pthread_mutex_lock(&s->lock);
			}
			if (!r->done || r->reaped)
				continue;
			found = 1;
			r->reaped = 1;
			done++;
			alive--;
			pthread_mutex_unlock(&s->lock);
			be->ops->destroy(be->b, 0, id);
			if (r->failed) {
				fprintf(stderr, "%s: clone %u: %s\n", argv0,
					k + 1, r->reason);
				rc = 125;
			} else {
				fprintf(stderr,
					"xen-boot: clone %u: running %.1f ms, "
					"ready %s%.1f ms, exit %lld at %.1f "
					"ms after the clone call%s\n",
					k + 1, (r->t_started - r->t0) * 1e3,
					r->ready ? "" : "(never) ",
					r->ready ? (r->t_ready - r->t0) * 1e3
						 : 0.0,
					(long long)r->status,
					(r->t_done - r->t0) * 1e3, label);
				if (rc != 125)
					rc = (int)(r->status & 0xff);
			}
			pthread_mutex_lock(&s->lock);
		}
		if (!found && done < n) {
			if (now_s() > until) {
				fprintf(stderr,
					"%s: clones still running "
					"after %u s\n",
					argv0, timeout);
				rc = 125;
				break;
			}
			struct timespec ts;
			double w = wall_s() + 0.2;
			ts.tv_sec = (time_t)w;
			ts.tv_nsec = (long)((w - (double)ts.tv_sec) * 1e9);
			pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int main(int argc, char **argv)
{
	double t_main = now_s();
	const char *label = getenv("UKF_IN_XEN_TESTBED") ? " (EMULATED)" : "";
	uint64_t mem = 32ULL << 20;
	unsigned vcpus = 1, runs = 1, par = 1, timeout = 120;
	unsigned next = 0, alive = 0, reaped = 0, nready = 0;
	int quiet = 0, i, rc = 0, clone_only = 0;
	unsigned clones = 0;
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
		} else if (i + 1 < argc && !strcmp(a, "-j")) {
			par = (unsigned)strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(a, "--clone-only")) {
			clone_only = 1;
		} else if (i + 1 < argc && !strcmp(a, "--clones")) {
			clones = (unsigned)strtoul(argv[++i], NULL, 10);
		} else if (i + 1 < argc && !strcmp(a, "--template-dir")) {
			setenv("UKF_XEN_TEMPLATE_DIR", argv[++i], 1);
		} else if (i + 1 < argc && !strcmp(a, "--timeout")) {
			timeout = (unsigned)strtoul(argv[++i], NULL, 10);
		} else {
			usage(stderr, argv[0]);
			return 125;
		}
	}
	if (i >= argc || !runs || runs > 4096 || !par || !vcpus || !timeout) {
		usage(stderr, argv[0]);
		return 125;
	}
	if (clone_only && !clones) {
		usage(stderr, argv[0]);
		return 125;
	}
	if (clones) {
		if (clones > 1024) {
			usage(stderr, argv[0]);
			return 125;
		}
		runs = clones + 1;
	}
	if (par > runs)
		par = runs;
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
	s.prefix = par > 1;
	s.nruns = runs;
	s.runs = calloc(runs, sizeof(*s.runs));
	ready_ms = calloc(runs, sizeof(*ready_ms));
	if (!s.runs || !ready_ms) {
		fprintf(stderr, "%s: out of memory\n", argv[0]);
		return 125;
	}
	ukf_backend_config_default(&cfg);
	cfg.pause_on_ready = clones > 0; /* held at ready: templates */
	cfg.event = on_event;
	cfg.u = &s;
	cfg.run_limit_ns = (ukf_ns_t)timeout * UKF_S;
	d = ukf_backend_open("xen", &cfg, &be, err, sizeof(err));
	if (!d) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		return 125;
	}
	s.be = &be;
	if (clones) {
		s.prefix = 1;
		rc = clones_main(argv[0], &s, &be, &app, args, clones, par,
				 clone_only, timeout, label);
		free(ready_ms);
		free(s.runs);
		d->destroy(&be);
		return rc;
	}
	pthread_mutex_lock(&s.lock);
	while (reaped < runs) {
		/* launch up to PARALLEL; the backend's run limit ends a hung
		 * guest, so every launched run ends */
		while (alive < par && next < runs && !(rc == 125 && par == 1)) {
			struct run *r = &s.runs[next];
			int e;

			r->launched = 1;
			r->t0 = now_s();
			pthread_mutex_unlock(&s.lock);
			e = be.ops->cold_boot(be.b, 0, next + 1, &app, args);
			pthread_mutex_lock(&s.lock);
			if (e < 0) {
				r->done = r->failed = 1;
				snprintf(r->reason, sizeof(r->reason),
					 "cold boot refused: %s", strerror(-e));
			}
			next++;
			alive++;
		}
		if (next < runs && rc == 125 && par == 1)
			break; /* one after another: stop at a failure */
		int found = 0;
		for (unsigned k = 0; k < next; k++) {
			struct run *r = &s.runs[k];

			if (!r->done || r->reaped)
				continue;
			found = 1;
			r->reaped = 1;
			reaped++;
			alive--;
			pthread_mutex_unlock(&s.lock);
			be.ops->destroy(be.b, 0, k + 1);
			if (r->failed) {
				fprintf(stderr, "%s: run %u: %s failed: %s\n",
					argv[0], k + 1, image, r->reason);
				rc = 125;
			} else {
				fprintf(
				    stderr,
				    "xen-boot: run %u: running %.1f ms, "
				    "UKF-READY %s%.1f ms, exit %lld at "
				    "%.1f ms after the create call; "
				    "UKF-READY %.1f ms after the process "
				    "started (at %.6f s since the epoch)%s\n",
				    k + 1, (r->t_started - r->t0) * 1e3,
				    r->ready ? "" : "(never) ",
				    r->ready ? (r->t_ready - r->t0) * 1e3 : 0.0,
				    (long long)r->status,
				    (r->t_done - r->t0) * 1e3,
				    r->ready ? (r->t_ready - t_main) * 1e3
					     : 0.0,
				    r->wall_ready, label);
				if (r->ready)
					ready_ms[nready++] =
					    (r->t_ready - r->t0) * 1e3;
				if (rc != 125)
					rc = (int)(r->status & 0xff);
			}
			pthread_mutex_lock(&s.lock);
		}
		if (!found && reaped < runs)
			pthread_cond_wait(&s.cond, &s.lock);
	}
	pthread_mutex_unlock(&s.lock);
	if (runs > 1) {
		qsort(ready_ms, nready, sizeof(*ready_ms), cmp_double);
		fprintf(stderr,
			"xen-boot: %u/%u runs reached UKF-READY (%u at once at "
			"most)",
			nready, runs, par);
		if (nready)
			fprintf(stderr,
				"; create call to UKF-READY: median %.1f ms, "
				"min %.1f, max %.1f",
				ready_ms[nready / 2], ready_ms[0],
				ready_ms[nready - 1]);
		fprintf(stderr, "%s\n", label);
	}
	free(ready_ms);
	free(s.runs);
	d->destroy(&be);
	return rc;
}
