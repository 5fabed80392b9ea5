/* SPDX-License-Identifier: MIT */
/* engine_msg.c - messages between node agents: sending (encode, or a direct
 * call on the same node) and handling each type. */
#include "engine_int.h"

/* Types whose body names an app (wire.c's table). */
static int names_app(enum ukf_msg_type t)
{
	return t == UKF_MSG_SPAWN || t == UKF_MSG_CLONE || t == UKF_MSG_NACK ||
	       t == UKF_MSG_TFETCH || t == UKF_MSG_TDATA;
}

/*
 * Send m from this node to node `to`: a direct call on the same node,
 * else its body encoded (the app by name and digest) with m->data as bulk
 * bytes beside it; `bulk` is the size the bulk stands for (the simulated
 * network charges it). Returns 0, -1 if the message could not be sent now
 * (the world refused it) or -2 if it can never be (cannot be encoded).
 */
int eng_deliver(ukf_engine_t *e, ukf_node_id_t from, ukf_node_id_t to,
		const struct ukf_msg *m, uint64_t bulk)
{
	unsigned char buf[UKF_WIRE_BODY_MAX];
	struct ukf_msg w;
	size_t len;
	int rc;

	if (from == to) {
		eng_handle_msg(e, to, from, m);
		return 0;
	}
	w = *m;
	if (names_app(m->type)) {
		const struct ukf_app *a = APP(e, m->app);

		if (!a) {
			LOG(e, from, "error send %s %llu: no app %u",
			    ukf_msg_name(m->type), ULL(m->id), m->app);
			return -2;
		}
		w.app_name = a->name;
		w.app_name_len = strlen(a->name);
		w.app_digest = a->digest;
	}
	if (m->data_len > UKF_WIRE_BULK_MAX ||
	    !(len = ukf_msg_encode(&w, buf, sizeof(buf)))) {
		LOG(e, from,
		    "error send %s %llu: cannot encode (text %zu, bulk %zu "
		    "bytes)",
		    ukf_msg_name(m->type), ULL(m->id), m->text_len,
		    m->data_len);
		return -2;
	}
	rc = e->env->ops->send(e->env->w, from, to, (uint16_t)m->type, buf,
			       len, m->data, m->data_len, bulk);
	if (rc < 0) {
		LOG(e, from, "error send %s %llu to node %u rc=%d",
		    ukf_msg_name(m->type), ULL(m->id), to, rc);
		return -1;
	}
	return 0;
}

void eng_handle_msg(ukf_engine_t *e, ukf_node_id_t to, ukf_node_id_t from,
		    const struct ukf_msg *m)
{
	struct node *n = &e->node;

	switch (m->type) {
	case UKF_MSG_SPAWN:
	case UKF_MSG_CLONE:
		if (m->app >= NAPPS(e) || m->origin >= e->nodes) {
			LOG(e, to, "drop %s %llu: bad app or origin",
			    ukf_msg_name(m->type), ULL(m->id));
			return;
		}
		if (eng_host_accept(e, n, m) < 0) {
			struct ukf_msg r = {.type = UKF_MSG_NACK,
					    .id = m->id,
					    .app = m->app,
					    .origin = m->origin};
			eng_deliver(e, to, m->origin, &r, 0);
		}
		break;
	case UKF_MSG_NACK: {
		struct req *q = eng_req_at(e, to, m->id);
		if (!q) {
			LOG(e, to, "drop nack %llu: no such request",
			    ULL(m->id));
			return;
		}
		if (m->status == -ESTALE && q->kind == R_FORK) {
			/* its delta's template is gone from the target's
			 * reach: the next attempt saves a new delta */
			free(q->delta);
			q->delta = NULL;
			q->delta_len = 0;
			q->have_delta = 0;
			q->tver = 0;
		}
		eng_retry_later(e, q);
		break;
	}
	case UKF_MSG_READY:
		LOG(e, to, "ready %llu node=%llu", ULL(m->id), ULL(m->node));
		eng_started_at_origin(e, to, m->id, m->parent,
				      (ukf_node_id_t)m->node, m->tag, m->flags);
		break;
	case UKF_MSG_EXIT:
	case UKF_MSG_FAIL: {
		int64_t st =
		    m->type == UKF_MSG_EXIT ? m->status : UKF_STATUS_FAILED;
		ukf_node_id_t was;
		if (eng_cancelled(e, m->id, &was, 1)) {
			LOG(e, to, "drop %s %llu: its request was given up",
			    ukf_msg_name(m->type), ULL(m->id));
			return;
		}
		eng_away_remove(e, m->id);
		struct req *q = eng_req_at(e, to, m->id);
		struct inst *p =
		    m->parent ? eng_inst_at(e, to, m->parent) : NULL;
		struct kid *k = p ? eng_kid_find(p, m->id) : NULL;
		int never_ran = q || (k && k->state == K_PENDING);
		if (never_ran && m->type == UKF_MSG_FAIL) {
			/* it failed before it ever ran: the fork or spawn
			 * itself failed, as the guest sees it */
			if (q)
				eng_req_free(e, q);
			if (k)
				eng_kid_remove(p, k);
			if (p && !(m->flags & F_NOTIFY) &&
			    p->call == ((m->flags & F_FORK) ? UKF_CALL_FORK
							    : UKF_CALL_SPAWN))
				eng_complete(e, p, -UKF_EAGAIN, 0, 0, NULL, 0);
			else if (p && p->call == UKF_CALL_WAIT &&
				 (p->wait_id == m->id ||
				  (p->wait_id == 0 && p->nkids == 0)))
				eng_complete(e, p, -UKF_ECHILD, 0, 0, NULL, 0);
			p = NULL; /* nothing left to reap */
		} else if (never_ran) {
			/* ended before its READY reached us */
			eng_started_at_origin(e, to, m->id, m->parent,
					      (ukf_node_id_t)m->node, m->tag,
					      m->flags & ~F_NOTIFY);
		}
		if (p)
			eng_child_ended(e, p, m->id, st);
		else if (m->parent && !never_ran)
			LOG(e, to, "orphan-exit %llu parent=%llu", ULL(m->id),
			    ULL(m->parent));
		if (m->flags & F_NOTIFY) {
			if (m->type == UKF_MSG_EXIT && HOOK(e, on_exit))
				HOOK(e, on_exit)(HOOK(e, u), m->id, m->tag, st);
			if (m->type == UKF_MSG_FAIL && HOOK(e, on_fail)) {
				char why[256];
				size_t l = m->text_len < sizeof(why) - 1
					       ? m->text_len
					       : sizeof(why) - 1;
				if (l)
					memcpy(why, m->text, l);
				why[l] = 0;
				HOOK(e, on_fail)(HOOK(e, u), m->id, m->tag,
						 why);
			}
		}
		break;
	}
	case UKF_MSG_TFETCH: {
		struct ukf_tentry *t = ukf_tcache_find(&n->tc, m->app);
		struct ukf_msg r = {.type = UKF_MSG_TDATA,
				    .app = m->app,
				    .origin = to,
				    .result = -1};
		void *data = NULL;
		if (t && t->state == UKF_T_READY && m->tver && t->tver &&
		    t->tver != m->tver) {
			/* a fork's delta needs that one; this is another */
			LOG(e, to,
			    "template-refuse app=%s node=%u to=%u version=%016llx: "
			    "holds %016llx",
			    eng_app_name(e, m->app), to, from, ULL(m->tver),
			    ULL(t->tver));
			r.result = -ESTALE;
		} else if (t && t->state == UKF_T_READY) {
			ukf_tcache_touch(&n->tc, t);
			r.result = 0;
			r.bytes = t->bytes;
			r.tver = t->tver;
			/* the bytes themselves, where the backend has them (a
			 * simulated one has only the size) */
			if (e->be->ops->export_template) {
				size_t len = 0;
				uint64_t bytes = 0;
				int rc = e->be->ops->export_template(
				    e->be->b, to, m->app, &data, &len, &bytes);
				if (rc < 0) {
					LOG(e, to,
					    "error template-export app=%s rc=%d",
					    eng_app_name(e, m->app), rc);
					r.result = rc;
					r.bytes = 0;
					data = NULL;
				} else {
					r.data = data;
					r.data_len = len;
				}
			}
		}
		eng_deliver(e, to, from, &r, r.bytes);
		free(data);
		break;
	}
	case UKF_MSG_TDATA: {
		struct ukf_tentry *t = ukf_tcache_find(&n->tc, m->app);
		int rc;
		if (!t || t->state != UKF_T_PENDING || t->fetching != 1) {
			LOG(e, to, "drop tdata app=%s: not fetching",
			    eng_app_name(e, m->app));
			return;
		}
		if (m->result < 0) {
			LOG(e, to,
			    "template-fetch-failed app=%s node=%u from=%u",
			    eng_app_name(e, m->app), to, from);
			eng_fetch_failed(e, n, t);
			return;
		}
		t->fetching = 2;
		if (m->tver)
			t->tver = m->tver; /* a copy keeps its version */
		/* real bytes when they came, else the size they stand for */
		rc = e->be->ops->load_template(e->be->b, to, m->app, m->data,
					       m->data ? m->data_len : m->bytes);
		if (rc < 0)
			eng_fetch_failed(e, n, t);
		break;
	}
	case UKF_MSG_MSG: {
		struct inst *d = eng_inst_at(e, to, m->id);
		int rc = -UKF_ESRCH;
		if (d && !d->internal)
			eng_deliver_local(e, d, m->src, m->data, m->data_len,
					  &rc);
		if (rc < 0)
			LOG(e, to, "drop msg to %llu from %llu: %s", ULL(m->id),
			    ULL(m->src),
			    rc == -UKF_EAGAIN ? "queue full"
					      : "no such instance");
		break;
	}
	case UKF_MSG_KILL: {
		struct inst *d = eng_inst_at(e, to, m->id);
		if (d)
			eng_inst_finish(e, d, UKF_STATUS_FAILED, "killed");
		break;
	}
	default:
		break;
	}
}
