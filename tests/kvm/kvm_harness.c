/* SPDX-License-Identifier: MIT */
/* kvm_harness.c - event collector shared by the monitor's tests and benchmark. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvm_harness.h"

static void on_event(void *u, ukf_node_id_t node, const struct ukf_be_event *ev)
{
	struct kh *k = u;
	struct kh_inst *r;
	ukf_ns_t at = ev->at;

	if (ev->inst == 0 || ev->inst > k->n)
		return;
	pthread_mutex_lock(&k->lock);
	r = &k->inst[ev->inst];
	switch (ev->kind) {
	case UKF_BE_STARTED:
		r->started = 1;
		r->t_started = at;
		break;
	case UKF_BE_READY:
		r->ready++;
		r->t_ready = at;
		break;
	case UKF_BE_CALL:
		r->calls++;
		r->last_call = ev->call;
		r->last_deadline = ev->deadline;
		r->last_arg = ev->arg_id;
		break;
	case UKF_BE_EXIT:
		r->exited = 1;
		r->status = ev->status;
		r->t_end = at;
		break;
	case UKF_BE_FAIL:
		r->failed = 1;
		snprintf(r->reason, sizeof(r->reason), "%s",
			 ev->text ? ev->text : "");
		r->t_end = at;
		break;
	case UKF_BE_CONSOLE: {
		size_t room = sizeof(r->out) - 1 - r->out_len;
		size_t n = ev->len < room ? ev->len : room;

		memcpy(r->out + r->out_len, ev->data, n);
		r->out_len += n;
		if (r->out_len < sizeof(r->out) - 1)
			r->out[r->out_len++] = '\n';
		r->out[r->out_len] = 0;
		if (!r->t_marker && r->marker[0] &&
		    ev->len == strlen(r->marker) &&
		    memcmp(ev->data, r->marker, ev->len) == 0)
			r->t_marker = at;
		break;
	}
	default:
		break;
	}
	pthread_cond_broadcast(&k->cond);
	pthread_mutex_unlock(&k->lock);
}

struct kh *kh_create(unsigned n, int pause_on_ready, ukf_ns_t run_limit,
		     uint32_t max_vms, uint64_t max_mem, uint32_t shell_pool,
		     char *err, size_t errlen)
{
	struct ukvm_config cfg;
	struct kh *k = calloc(1, sizeof(*k));

	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->inst = calloc(n + 1, sizeof(*k->inst));
	if (!k->inst) {
		free(k);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->n = n;
	for (unsigned i = 1; i <= n; i++) {
		k->inst[i].id = i;
		strcpy(k->inst[i].marker, "UKF-READY");
	}
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->cond, NULL);
	memset(&cfg, 0, sizeof(cfg));
	cfg.event = on_event;
	cfg.u = k;
	cfg.pause_on_ready = pause_on_ready;
	cfg.run_limit_ns = run_limit;
	cfg.max_vms = max_vms;
	cfg.max_mem_bytes = max_mem;
	cfg.shell_pool = shell_pool;
	k->m = ukvm_create(&cfg, err, errlen);
	if (!k->m) {
		free(k->inst);
		free(k);
		return NULL;
	}
	return k;
}

void kh_destroy(struct kh **kp)
{
	struct kh *k = *kp;

	if (!k)
		return;
	ukvm_destroy(&k->m);
	pthread_cond_destroy(&k->cond);
	pthread_mutex_destroy(&k->lock);
	free(k->inst);
	free(k);
	*kp = NULL;
}

int kh_boot(struct kh *k, ukf_id_t id, const char *image, uint64_t mem,
	    const char *args)
{
	struct ukf_app app;

	memset(&app, 0, sizeof(app));
	snprintf(app.name, sizeof(app.name), "test");
	snprintf(app.image, sizeof(app.image), "%s", image);
	app.mem_bytes = mem;
	app.vcpus = 1;
	return ukvm_backend_ops.cold_boot(k->m, 0, id, &app, args);
}

static int holds(const struct kh_inst *r, enum kh_until u)
{
	int ended = r->exited || r->failed;

	switch (u) {
	case KH_ENDED:
		return ended;
	case KH_READY:
		return ended || r->ready;
	case KH_CALL:
		return ended || r->calls;
	case KH_MARKER:
		return ended || r->t_marker;
	case KH_STARTED:
		return ended || r->started;
	}
	return 1;
}

int kh_wait(struct kh *k, ukf_id_t id, enum kh_until until)
{
	struct timespec dl;
	int ok;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 60;
	pthread_mutex_lock(&k->lock);
	while (!holds(&k->inst[id], until))
		if (pthread_cond_timedwait(&k->cond, &k->lock, &dl) ==
		    ETIMEDOUT)
			break;
	ok = holds(&k->inst[id], until);
	pthread_mutex_unlock(&k->lock);
	return ok ? 0 : -1;
}

struct kh_inst kh_get(struct kh *k, ukf_id_t id)
{
	struct kh_inst r;

	pthread_mutex_lock(&k->lock);
	r = k->inst[id];
	pthread_mutex_unlock(&k->lock);
	return r;
}
