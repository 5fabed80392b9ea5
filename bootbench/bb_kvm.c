/* SPDX-License-Identifier: MIT */
/* bb_kvm.c - bootbench runner for ukfork's KVM backend, in-process (ukvm). */
#include "bb_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../backends/kvm/host.h"
#include "../backends/kvm/ukvm.h"
#include "../live/evq.h"

struct bb_kvm {
	ukf_evq_t *q;
};

/* vCPU threads: stamp the event now and queue it for the bench thread. */
static void bb_kvm_event(void *u, ukf_node_id_t node,
			 const struct ukf_be_event *ev)
{
	struct bb_kvm *k = u;
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
static int bb_wait_kind(struct bb_kvm *k, ukf_id_t inst, enum ukf_be_kind kind,
			ukf_ns_t deadline, char *err, size_t errlen)
{
	for (;;) {
		struct ukf_evq_item *it;
		ukf_ns_t now = bb_now();

		if (now >= deadline) {
			snprintf(err, errlen, "template: timed out waiting for the guest");
			return -1;
		}
		ukf_evq_wait(k->q, deadline - now);
		while ((it = ukf_evq_pop(k->q))) {
			const struct ukf_be_event *ev = &it->ev;
			int r = 0;

			if (ev->kind == UKF_BE_FAIL || ev->kind == UKF_BE_ERROR ||
			    (ev->kind == UKF_BE_EXIT && kind != UKF_BE_EXIT)) {
				snprintf(err, errlen,
					 "template: the guest %s before its template was made: %s",
					 ev->kind == UKF_BE_EXIT ? "exited" : "failed",
					 ev->text ? ev->text : "(no reason)");
				r = -1;
			} else if (ev->kind == kind &&
				   (ev->inst == inst || kind == UKF_BE_TEMPLATE)) {
				r = 1;
			}
			free(it);
			if (r)
				return r < 0 ? -1 : 0;
		}
	}
}

void bb_platform(struct bb_platform *p)
{
	const struct ukvm_host *h = ukvm_host();
	char why[128];

	memset(p, 0, sizeof(*p));
	p->usable = ukvm_available(why, sizeof(why));
	if (p->usable)
		snprintf(p->kvm, sizeof(p->kvm), "%s", h->desc);
	else
		snprintf(p->kvm, sizeof(p->kvm), "none: %s", why);
	p->emulated = h->kind == UKVM_HOST_EMULATED;
}

int bb_run_kvm(const struct bb_opts *o, struct bb_inst *insts,
	       struct bb_result *res, char *err, size_t errlen)
{
	struct bb_kvm k = { 0 };
	struct ukvm_config cfg;
	struct ukf_app app;
	ukvm_t *m = NULL;
	const struct ukf_backend_ops *ops = &ukvm_backend_ops;
	const char *base;
	uint32_t launched = 0, done = 0, alive = 0, i;
	ukf_ns_t t0;
	double cpu0;
	uint64_t hwm0, rss0, hwm1, rss1;
	int rc = 0;

	res->mode = o->from_template ? "template" : "cold";
	res->backend = "kvm";
	if (!ukvm_available(err, errlen))
		return -1;
	k.q = ukf_evq_create();
	if (!k.q) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -1;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.event = bb_kvm_event;
	cfg.u = &k;
	cfg.node = 0;
	cfg.pause_on_ready = o->from_template; /* a template needs the pause */
	cfg.shell_pool = o->pool;
	m = ukvm_create(&cfg, err, errlen);
	if (!m) {
		ukf_evq_destroy(&k.q);
		return -1;
	}
	memset(&app, 0, sizeof(app));
	base = strrchr(o->guest, '/');
	snprintf(app.name, sizeof(app.name), "%s", base ? base + 1 : o->guest);
	if (strlen(o->guest) >= sizeof(app.image)) {
		snprintf(err, errlen, "image path too long: %s", o->guest);
		rc = -1;
		goto out;
	}
	snprintf(app.image, sizeof(app.image), "%s", o->guest);
	snprintf(app.args, sizeof(app.args), "%s", o->guest_args);
	app.mem_bytes = o->mem_bytes;
	app.vcpus = 1;
	app.units = 1;

	if (o->from_template) {
		/* untimed: boot the original, template it at ready, drop it */
		ukf_id_t tid = BB_TEMPLATE_ID(o);
		ukf_ns_t dl = bb_now() + o->timeout_ns;
		int r = ops->cold_boot(m, 0, tid, &app, o->guest_args);

		if (r < 0) {
			snprintf(err, errlen, "template: cold boot of %s: %s", o->guest,
				 strerror(-r));
			rc = -1;
			goto out;
		}
		if (bb_wait_kind(&k, tid, UKF_BE_READY, dl, err, errlen) < 0) {
			rc = -1;
			goto out;
		}
		r = ops->make_template(m, 0, tid, app.id);
		if (r < 0 || bb_wait_kind(&k, 0, UKF_BE_TEMPLATE, dl, err, errlen) < 0) {
			if (r < 0)
				snprintf(err, errlen, "make_template: %s", strerror(-r));
			rc = -1;
			goto out;
		}
		ops->destroy(m, 0, tid);
		/* drop the original's late events (console, exit) */
		{
			struct ukf_evq_item *it;

			while ((it = ukf_evq_pop(k.q)))
				free(it);
		}
	}

	if (o->pool && !o->from_template) {
		/* untimed, as LightVM: the shells exist before the first
		 * launch (a background thread refills the pool meanwhile) */
		int have = ukvm_boot_pool_fill(m, o->mem_bytes, 60000);

		if (have < (int)o->pool) {
			snprintf(err, errlen, "--pool %u: only %d VM shells could be made",
				 o->pool, have < 0 ? 0 : have);
			rc = -1;
			goto out;
		}
	}
	cpu0 = bb_cpu_self();
	bb_proc_mem(&hwm0, &rss0);
	t0 = bb_now();
	while (done < o->count) {
		struct ukf_evq_item *it;
		ukf_ns_t now, next = -1;

		while (alive < o->parallel && launched < o->count) {
			struct bb_inst *in = &insts[launched++];
			ukf_id_t id = (ukf_id_t)in->index + 1;
			int r;

			in->t_launch = bb_now() - t0;
			alive++;
			r = o->from_template ?
				ops->clone_template(m, 0, id, &app, o->guest_args) :
				ops->cold_boot(m, 0, id, &app, o->guest_args);
			if (r < 0) {
				snprintf(in->why, sizeof(in->why), "%s refused: %s",
					 o->from_template ? "clone_template" : "cold_boot",
					 strerror(-r));
				in->t_exit = bb_now() - t0;
				in->done = 1;
				alive--;
				done++;
			}
		}
		now = bb_now() - t0;
		for (i = 0; i < launched; i++) {
			struct bb_inst *in = &insts[i];
			ukf_ns_t d;

			if (in->done)
				continue;
			d = in->ok ? in->t_marker + o->grace_ns :
				     in->t_launch + o->timeout_ns;
			if (in->ok && o->keep_running)
				d = in->t_launch + o->timeout_ns;
			if (next < 0 || d < next)
				next = d;
		}
		if (done >= o->count)
			break;
		ukf_evq_wait(k.q, next < 0 ? 100 * UKF_MS : next <= now ? 0 :
			     next - now);
		while ((it = ukf_evq_pop(k.q))) {
			const struct ukf_be_event *ev = &it->ev;
			struct bb_inst *in = NULL;
			ukf_ns_t t = ev->at - t0;

			if (ev->inst >= 1 && ev->inst <= o->count)
				in = &insts[ev->inst - 1];
			if (!in || in->done) {
				free(it);
				continue;
			}
			switch (ev->kind) {
			case UKF_BE_CONSOLE:
				bb_feed(o, in, ev->data, ev->len, t);
				if (!ev->len || ((const char *)ev->data)[ev->len - 1] != '\n')
					bb_feed(o, in, "\n", 1, t);
				break;
			case UKF_BE_READY:
				/* paused only with --from-template: a clone resumes */
				if (o->from_template)
					ops->complete(m, 0, ev->inst, 1, 0, 0, NULL, 0);
				break;
			case UKF_BE_EXIT:
				in->t_exit = t;
				in->status = ev->status;
				if (!in->ok)
					snprintf(in->why, sizeof(in->why),
						 "exited with status %lld before the marker",
						 (long long)ev->status);
				ops->destroy(m, 0, ev->inst);
				in->done = 1;
				break;
			case UKF_BE_FAIL:
			case UKF_BE_ERROR:
				in->t_exit = t;
				in->status = -1;
				snprintf(in->why, sizeof(in->why), "%s: %s",
					 ev->kind == UKF_BE_FAIL ? "failed" : "error",
					 ev->text ? ev->text : "(no reason)");
				ops->destroy(m, 0, ev->inst);
				in->done = 1;
				break;
			default:
				break;
			}
			if (in->done) {
				alive--;
				done++;
			}
			free(it);
		}
		now = bb_now() - t0;
		for (i = 0; i < launched; i++) {
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
				ops->destroy(m, 0, (ukf_id_t)in->index + 1);
				in->killed = 1;
				in->status = -1;
				in->t_exit = bb_now() - t0;
				in->done = 1;
				alive--;
				done++;
			}
		}
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
	snprintf(res->measures, sizeof(res->measures),
		 "in-process: the monitor process's CPU time and peak-RSS growth over the run, divided by the instance count");
out:
	ukvm_destroy(&m);
	ukf_evq_destroy(&k.q);
	return rc;
}
