/* SPDX-License-Identifier: MIT */
/* bb_be.c - bootbench's runner over a backend's ops: the boot loop shared by the in-process KVM runner and --backend NAME (any backend of the registry, e.g. xen in a Xen dom0). */
#include "bb_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../backends/registry.h"
#include "../live/evq.h"

/* Backend threads: stamp the event now and queue it for the bench thread. */
void bb_be_event(void *u, ukf_node_id_t node, const struct ukf_be_event *ev)
{
	struct bb_be *k = u;
	struct ukf_be_event e = *ev;

	e.at = bb_now();
	ukf_evq_push(k->q, node, &e, e.at);
}

/* Peak RSS (VmHWM) and current RSS of this process, bytes. */
static void bb_proc_mem(uint64_t *hwm, uint64_t *rss)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long kb;

	*hwm = *rss = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			*hwm = kb * 1024;
		else if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			*rss = kb * 1024;
	}
	fclose(f);
}

static double bb_cpu_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Template ids live above every timed instance's id (index + 1). */
#define BB_TEMPLATE_ID(o) ((ukf_id_t)(o)->count + 1)

/* Wait for an event of `kind` from `inst` (others are dropped). */
static int bb_wait_kind(struct bb_be *k, ukf_id_t inst, enum ukf_be_kind kind,
			ukf_ns_t deadline, char *err, size_t errlen)
{
	for (;;) {
		struct ukf_evq_item *it;
		ukf_ns_t now = bb_now();

		if (now >= deadline) {
			snprintf(err, errlen,
				 "template: timed out waiting for the guest");
			return -1;
		}
		ukf_evq_wait(k->q, deadline - now);
		while ((it = ukf_evq_pop(k->q))) {
			const struct ukf_be_event *ev = &it->ev;
			int r = 0;

			if (ev->kind == UKF_BE_FAIL || ev->kind == UKF_BE_ERROR ||
			    (ev->kind == UKF_BE_EXIT && kind != UKF_BE_EXIT)) {
				snprintf(err, errlen,
					 "template: the guest %s before its "
					 "template was made: %s",
					 ev->kind == UKF_BE_EXIT ? "exited"
								 : "failed",
					 ev->text ? ev->text : "(no reason)");
				r = -1;
			} else if (ev->kind == kind &&
				   (ev->inst == inst ||
				    kind == UKF_BE_TEMPLATE)) {
				r = 1;
			}
			free(it);
			if (r)
				return r < 0 ? -1 : 0;
		}
	}
}

int bb_be_app(const struct bb_opts *o, struct ukf_app *app, char *err,
	      size_t errlen)
{
	const char *base = strrchr(o->guest, '/');

	memset(app, 0, sizeof(*app));
	snprintf(app->name, sizeof(app->name), "%s", base ? base + 1 : o->guest);
	if (strlen(o->guest) >= sizeof(app->image)) {
		snprintf(err, errlen, "image path too long: %s", o->guest);
		return -1;
	}
	snprintf(app->image, sizeof(app->image), "%s", o->guest);
	snprintf(app->args, sizeof(app->args), "%s", o->guest_args);
	app->mem_bytes = o->mem_bytes;
	app->vcpus = 1;
	app->units = 1;
	return 0;
}

int bb_be_template(const struct bb_opts *o, struct bb_be *k,
		   const struct ukf_app *app, char *err, size_t errlen)
{
	/* untimed: boot the original, template it at ready, drop it */
	ukf_id_t tid = BB_TEMPLATE_ID(o);
	ukf_ns_t dl = bb_now() + o->timeout_ns;
	struct ukf_evq_item *it;
	int r = k->ops->cold_boot(k->b, 0, tid, app, o->guest_args);

	if (r < 0) {
		snprintf(err, errlen, "template: cold boot of %s: %s", o->guest,
			 strerror(-r));
		return -1;
	}
	if (bb_wait_kind(k, tid, UKF_BE_READY, dl, err, errlen) < 0)
		return -1;
	r = k->ops->make_template(k->b, 0, tid, app->id);
	if (r < 0) {
		snprintf(err, errlen, "make_template: %s", strerror(-r));
		return -1;
	}
	if (bb_wait_kind(k, 0, UKF_BE_TEMPLATE, dl, err, errlen) < 0)
		return -1;
	k->ops->destroy(k->b, 0, tid);
	/* drop the original's late events (console, exit) */
	while ((it = ukf_evq_pop(k->q)))
		free(it);
	return 0;
}

/* The earliest time (since t0) something of a launched instance is due:
 * the end of its grace after the marker, or its timeout; -1 none. */
static ukf_ns_t bb_next_due(const struct bb_opts *o, const struct bb_inst *insts,
			    uint32_t launched)
{
	ukf_ns_t next = -1;

	for (uint32_t i = 0; i < launched; i++) {
		const struct bb_inst *in = &insts[i];
		ukf_ns_t d;

		if (in->done)
			continue;
		d = in->ok ? in->t_marker + o->grace_ns
			   : in->t_launch + o->timeout_ns;
		if (in->ok && o->keep_running)
			d = in->t_launch + o->timeout_ns;
		if (next < 0 || d < next)
			next = d;
	}
	return next;
}

/* One backend event of instance in (t since t0). 1 if it ended in. */
static int bb_on_event(const struct bb_opts *o, struct bb_be *k,
		       struct bb_inst *in, const struct ukf_be_event *ev,
		       ukf_ns_t t)
{
	switch (ev->kind) {
	case UKF_BE_CONSOLE:
		bb_feed(o, in, ev->data, ev->len, t);
		if (!ev->len || ((const char *)ev->data)[ev->len - 1] != '\n')
			bb_feed(o, in, "\n", 1, t);
		return 0;
	case UKF_BE_READY:
		/* paused only with --from-template: a clone resumes */
		if (o->from_template)
			k->ops->complete(k->b, 0, ev->inst, 1, 0, 0, NULL, 0);
		return 0;
	case UKF_BE_EXIT:
		in->t_exit = t;
		in->status = ev->status;
		if (!in->ok)
			snprintf(in->why, sizeof(in->why),
				 "exited with status %lld before the marker",
				 (long long)ev->status);
		break;
	case UKF_BE_FAIL:
	case UKF_BE_ERROR:
		in->t_exit = t;
		in->status = -1;
		snprintf(in->why, sizeof(in->why), "%s: %s",
			 ev->kind == UKF_BE_FAIL ? "failed" : "error",
			 ev->text ? ev->text : "(no reason)");
		break;
	default:
		return 0;
	}
	k->ops->destroy(k->b, 0, ev->inst);
	in->done = 1;
	return 1;
}

/* Instances past their grace or timeout, or that printed the --fail
 * output, stopped. Returns how many it stopped. */
static uint32_t bb_stop_due(const struct bb_opts *o, struct bb_be *k,
			    struct bb_inst *insts, uint32_t launched,
			    ukf_ns_t t0)
{
	ukf_ns_t now = bb_now() - t0;
	uint32_t n = 0;

	for (uint32_t i = 0; i < launched; i++) {
		struct bb_inst *in = &insts[i];
		int stop = 0;

		if (in->done)
			continue;
		if (in->bad)
			stop = 1; /* why: the failure output */
		else if (in->ok && !o->keep_running &&
			 now >= in->t_marker + o->grace_ns)
			stop = 1;
		else if (!in->ok && now >= in->t_launch + o->timeout_ns) {
			snprintf(in->why, sizeof(in->why),
				 "timeout: no marker within %lld ms",
				 (long long)(o->timeout_ns / UKF_MS));
			stop = 1;
		} else if (in->ok && o->keep_running &&
			   now >= in->t_launch + o->timeout_ns) {
			stop = 1; /* kept running until --timeout */
		}
		if (stop) {
			k->ops->destroy(k->b, 0, (ukf_id_t)in->index + 1);
			in->killed = 1;
			in->status = -1;
			in->t_exit = bb_now() - t0;
			in->done = 1;
			n++;
		}
	}
	return n;
}

int bb_be_loop(const struct bb_opts *o, struct bb_inst *insts,
	       struct bb_result *res, struct bb_be *k,
	       const struct ukf_app *app)
{
	uint32_t launched = 0, done = 0, alive = 0, i;
	ukf_ns_t t0, last_end = -1; /* since t0: the last instance's end */
	double cpu0 = bb_cpu_self();
	uint64_t hwm0, rss0, hwm1, rss1;

	bb_proc_mem(&hwm0, &rss0);
	t0 = bb_now();
	if (o->gap_ns)
		last_end = 0; /* the first launch after the gap too */
	while (done < o->count) {
		struct ukf_evq_item *it;
		ukf_ns_t now, next;
		uint32_t n;

		while (alive < o->parallel && launched < o->count &&
		       (last_end < 0 ||
			bb_now() - t0 >= last_end + o->gap_ns)) {
			struct bb_inst *in = &insts[launched++];
			ukf_id_t id = (ukf_id_t)in->index + 1;
			int r;

			in->t_launch = bb_now() - t0;
			alive++;
			r = o->from_template
				? k->ops->clone_template(k->b, 0, id, app,
							 o->guest_args)
				: k->ops->cold_boot(k->b, 0, id, app,
						    o->guest_args);
			if (r < 0) {
				snprintf(in->why, sizeof(in->why),
					 "%s refused: %s",
					 o->from_template ? "clone_template"
							  : "cold_boot",
					 strerror(-r));
				in->t_exit = bb_now() - t0;
				in->done = 1;
				alive--;
				done++;
				last_end = in->t_exit;
			}
		}
		if (done >= o->count)
			break;
		now = bb_now() - t0;
		next = bb_next_due(o, insts, launched);
		/* --gap: the next launch is due once the gap has passed */
		if (o->gap_ns && last_end >= 0 && launched < o->count &&
		    alive < o->parallel &&
		    (next < 0 || last_end + o->gap_ns < next))
			next = last_end + o->gap_ns;
		ukf_evq_wait(k->q, next < 0 ? 100 * UKF_MS
				   : next <= now ? 0
						 : next - now);
		while ((it = ukf_evq_pop(k->q))) {
			const struct ukf_be_event *ev = &it->ev;
			struct bb_inst *in = NULL;

			if (ev->inst >= 1 && ev->inst <= o->count)
				in = &insts[ev->inst - 1];
			if (in && !in->done &&
			    bb_on_event(o, k, in, ev, ev->at - t0)) {
				alive--;
				done++;
				last_end = bb_now() - t0;
			}
			free(it);
		}
		n = bb_stop_due(o, k, insts, launched, t0);
		alive -= n;
		done += n;
		if (n)
			last_end = bb_now() - t0;
	}
	res->t_end = bb_now() - t0;
	bb_proc_mem(&hwm1, &rss1);
	{
		double cpu = (bb_cpu_self() - cpu0) / o->count;
		uint64_t grow = hwm1 > rss0 ? (hwm1 - rss0) / o->count : 0;

		for (i = 0; i < o->count; i++) {
			insts[i].cpu_s = cpu;
			insts[i].rss = grow;
		}
	}
	return 0;
}

int bb_run_backend(const struct bb_opts *o, struct bb_inst *insts,
		   struct bb_result *res, char *err, size_t errlen)
{
	const struct ukf_backend_driver *drv;
	struct ukf_backend_config cfg;
	struct ukf_backend be = { 0 };
	struct bb_be k = { 0 };
	struct ukf_app app;
	int rc = -1;

	res->mode = o->from_template ? "template" : "cold";
	if (bb_be_app(o, &app, err, errlen) < 0)
		return -1;
	k.q = ukf_evq_create();
	if (!k.q) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -1;
	}
	ukf_backend_config_default(&cfg);
	cfg.node = 0;
	cfg.event = bb_be_event;
	cfg.u = &k;
	cfg.pause_on_ready = o->from_template; /* a template needs the pause */
	drv = ukf_backend_open(o->backend, &cfg, &be, err, errlen);
	if (!drv)
		goto out;
	res->backend = drv->name;
	k.ops = be.ops;
	k.b = be.b;
	if (o->from_template && bb_be_template(o, &k, &app, err, errlen) < 0)
		goto out;
	rc = bb_be_loop(o, insts, res, &k, &app);
	snprintf(res->measures, sizeof(res->measures),
		 "in-process (backend %s): this process's CPU time and "
		 "peak-RSS growth over the run, divided by the instance count "
		 "(the hypervisor's and its daemons' work is not counted)",
		 drv->name);
out:
	if (drv)
		drv->destroy(&be);
	ukf_evq_destroy(&k.q);
	return rc;
}
