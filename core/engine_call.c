/* SPDX-License-Identifier: MIT */
/* engine_call.c - guest calls: fork, spawn, wait, send, recv and block,
 * answered through the backend's complete(). */
#include "engine_int.h"

static void wait_deadline(ukf_engine_t *e, struct inst *i, ukf_ns_t deadline);
static void call_fork_or_spawn(ukf_engine_t *e, struct inst *p,
			       const struct ukf_be_event *ev);
static void call_wait(ukf_engine_t *e, struct inst *p,
		      const struct ukf_be_event *ev);
static void call_send(ukf_engine_t *e, struct inst *p,
		      const struct ukf_be_event *ev);
static void call_recv(ukf_engine_t *e, struct inst *p,
		      const struct ukf_be_event *ev);

void eng_deliver_local(ukf_engine_t *e, struct inst *d, ukf_id_t src,
		       const void *data, size_t len, int *rc)
{
	struct qmsg *q;

	*rc = 0;
	if (d->call == UKF_CALL_RECV) {
		eng_complete(e, d, (int64_t)len, 0, src, data, len);
		return;
	}
	if (d->qlen >= e->max_queue) {
		*rc = -UKF_EAGAIN;
		return;
	}
	q = eng_malloc(e, sizeof(*q) + len);
	if (!q) {
		*rc = -UKF_ENOMEM;
		return;
	}
	q->next = NULL;
	q->src = src;
	q->len = len;
	if (len)
		memcpy(q->data, data, len);
	if (d->qtail)
		d->qtail->next = q;
	else
		d->qhead = q;
	d->qtail = q;
	d->qlen++;
	if (d->call == UKF_CALL_BLOCK)
		eng_complete(e, d, 1, 0, 0, NULL, 0);
}

static void wait_deadline(ukf_engine_t *e, struct inst *i, ukf_ns_t deadline)
{
	if (deadline > 0)
		eng_arm(e, i->node, deadline, T_DEADLINE, i->id, i->gen);
}

static void call_fork_or_spawn(ukf_engine_t *e, struct inst *p,
			       const struct ukf_be_event *ev)
{
	uint32_t app = p->app;
	const char *args = NULL;
	size_t alen = 0;
	struct req *q;

	if (ev->call == UKF_CALL_SPAWN) {
		int a = ev->text ? ukf_apps_find(e->apps, ev->text) : -1;
		if (a < 0) {
			eng_complete(e, p, -UKF_ENOENT, 0, 0, NULL, 0);
			return;
		}
		app = (uint32_t)a;
		if (ev->data) {
			args = ev->data;
			alen = strnlen(args, ev->len ? ev->len : UKF_ARGS_MAX);
			if (alen >= UKF_ARGS_MAX) {
				eng_complete(e, p, -UKF_EINVAL, 0, 0, NULL, 0);
				return;
			}
		}
	}
	if (p->nkids >= e->max_children) {
		LOG(e, p->node, "limit %llu children=%u", ULL(p->id), p->nkids);
		eng_complete(e, p, -UKF_EAGAIN, 0, 0, NULL, 0);
		return;
	}
	q = eng_req_new(e, ev->call == UKF_CALL_FORK ? R_FORK : R_SPAWN,
			p->node, app, p->id, p->tag, 0, args, alen);
	if (!q || !eng_kid_add(e, p, q->id)) {
		if (q)
			eng_req_free(e, q);
		eng_complete(e, p, -UKF_ENOMEM, 0, 0, NULL, 0);
		return;
	}
	if (ev->call == UKF_CALL_FORK)
		p->dirty_pages = ev->dirty_pages;
	eng_vcpu_release(e, p); /* paused until placed: the child may use it */
	eng_place_req(e, q);
}

static void call_wait(ukf_engine_t *e, struct inst *p,
		      const struct ukf_be_event *ev)
{
	struct kid *k = NULL;
	int pending = 0;

	if (ev->arg_id) {
		k = eng_kid_find(p, ev->arg_id);
		if (!k) {
			eng_complete(e, p, -UKF_ECHILD, 0, 0, NULL, 0);
			return;
		}
		pending = k->state != K_EXITED;
	} else {
		for (uint32_t j = 0; j < p->nkids && !k; j++)
			if (p->kids[j].state == K_EXITED)
				k = &p->kids[j];
		if (!k && !p->nkids) {
			eng_complete(e, p, -UKF_ECHILD, 0, 0, NULL, 0);
			return;
		}
		pending = !k;
	}
	if (!pending) {
		ukf_id_t id = k->id;
		int64_t st = k->status;
		eng_kid_remove(p, k);
		LOG(e, p->node, "reap %llu child=%llu status=%lld", ULL(p->id),
		    ULL(id), LL(st));
		eng_complete(e, p, (int64_t)id, st, 0, NULL, 0);
		return;
	}
	if (ev->deadline > 0 && ev->deadline <= eng_now(e)) {
		eng_complete(e, p, -UKF_ETIMEDOUT, 0, 0, NULL, 0);
		return;
	}
	p->wait_id = ev->arg_id;
	wait_deadline(e, p, ev->deadline);
	eng_vcpu_release(e, p); /* blocked: its vCPU can run others */
}

static void call_send(ukf_engine_t *e, struct inst *p,
		      const struct ukf_be_event *ev)
{
	ukf_id_t dst = ev->arg_id;
	ukf_node_id_t where = UKF_NODE_NONE;
	struct inst *d;
	struct kid *k;
	int rc;

	if (ev->len > UKF_MSG_MAX) {
		eng_complete(e, p, -UKF_EMSGSIZE, 0, 0, NULL, 0);
		return;
	}
	if (ev->len && !ev->data) {
		eng_complete(e, p, -UKF_EFAULT, 0, 0, NULL, 0);
		return;
	}
	/* Where dst runs, as far as this agent knows. */
	if ((d = eng_inst_at(e, p->node, dst)) != NULL && !d->internal) {
		eng_deliver_local(e, d, p->id, ev->data, ev->len, &rc);
		eng_complete(e, p, rc, 0, 0, NULL, 0);
		return;
	}
	if (dst == p->parent && p->parent)
		where = p->origin;
	else if ((k = eng_kid_find(p, dst)) != NULL && k->state == K_RUNNING)
		where = k->node;
	if (where == UKF_NODE_NONE || where == p->node) {
		eng_complete(e, p, -UKF_ESRCH, 0, 0, NULL, 0);
		return;
	}
	struct ukf_msg m = {.type = UKF_MSG_MSG,
			    .id = dst,
			    .src = p->id,
			    .origin = p->node,
			    .data = ev->data,
			    .data_len = ev->len};
	eng_complete(e, p, 0, 0, 0, NULL, 0);
	eng_deliver(e, p->node, where, &m, 0);
}

static void call_recv(ukf_engine_t *e, struct inst *p,
		      const struct ukf_be_event *ev)
{
	struct qmsg *q = p->qhead;

	if (q) {
		if (ev->call == UKF_CALL_BLOCK) {
			eng_complete(e, p, 1, 0, 0, NULL, 0);
			return;
		}
		p->qhead = q->next;
		if (!p->qhead)
			p->qtail = NULL;
		p->qlen--;
		eng_complete(e, p, (int64_t)q->len, 0, q->src, q->data, q->len);
		free(q);
		return;
	}
	if (ev->deadline > 0 && ev->deadline <= eng_now(e)) {
		eng_complete(e, p,
			     ev->call == UKF_CALL_BLOCK ? 0 : -UKF_ETIMEDOUT, 0,
			     0, NULL, 0);
		return;
	}
	wait_deadline(e, p, ev->deadline);
	eng_vcpu_release(e, p); /* blocked: its vCPU can run others */
}

void eng_on_call(ukf_engine_t *e, struct inst *p, const struct ukf_be_event *ev)
{
	if (p->call) {
		LOG(e, p->node, "drop call %llu: already paused in call %d",
		    ULL(p->id), (int)p->call);
		return;
	}
	p->call = ev->call;
	p->gen++;
	switch (ev->call) {
	case UKF_CALL_FORK:
	case UKF_CALL_SPAWN:
		call_fork_or_spawn(e, p, ev);
		break;
	case UKF_CALL_WAIT:
		call_wait(e, p, ev);
		break;
	case UKF_CALL_SEND:
		call_send(e, p, ev);
		break;
	case UKF_CALL_RECV:
	case UKF_CALL_BLOCK:
		call_recv(e, p, ev);
		break;
	default:
		eng_complete(e, p, -UKF_ENOSYS, 0, 0, NULL, 0);
		break;
	}
}
