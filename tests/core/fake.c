/* SPDX-License-Identifier: MIT */
/* fake.c - the deterministic test world and synth backend behind fake.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

enum ev_type { E_STEP = 1, E_MSG, E_TIMER, E_DIR, E_BE };
enum step {
	S_STARTED = 1,
	S_READY,
	S_UNIT,
	S_FORK,
	S_WAIT,
	S_EXIT,
	S_DELTA,
	S_TEMPLATE,
	S_STALE /* a restore refused: the delta's template is not here */
};

struct ev {
	ukf_ns_t t;
	uint64_t seq;
	enum ev_type type;
	ukf_node_id_t node, from;
	uint64_t x; /* STEP: inst id; TIMER: cookie; TEMPLATE: app */
	uint32_t step, gen;
	uint64_t bytes;
	uint32_t crc;	/* TEMPLATE: the loaded one's (0: made, a new one);
			   STALE: the delta's */
	ukf_id_t maker; /* TEMPLATE: the instance it was made from; STALE:
			   the app */
	struct ukf_be_event be;
	char text[64];
	size_t len;	    /* MSG: body bytes, then blen bulk bytes, in buf */
	size_t blen;
	uint16_t mtype;	    /* MSG: message type */
	unsigned char *buf;
};

#define COST_BOOT     (1 * UKF_MS)
#define COST_CLONE    (1 * UKF_MS)
#define COST_TEMPLATE (5 * UKF_MS)
#define COST_LOAD     (2 * UKF_MS)

static int before(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void push(struct fake_world *fw, struct ev *ev)
{
	struct ev **h;
	size_t i;

	if (fw->nheap == fw->capheap) {
		fw->capheap = fw->capheap ? fw->capheap * 2 : 256;
		fw->heap = realloc(fw->heap, fw->capheap * sizeof(struct ev *));
		if (!fw->heap)
			abort(); /* test harness: out of memory is fatal */
	}
	h = fw->heap;
	if (ev->t < fw->now)
		ev->t = fw->now;
	ev->seq = fw->seq++;
	i = fw->nheap++;
	while (i && before(ev, h[(i - 1) / 2])) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = ev;
}

static struct ev *pop(struct fake_world *fw)
{
	struct ev **h = fw->heap, *top, *last;
	size_t i = 0;

	if (!fw->nheap)
		return NULL;
	top = h[0];
	last = h[--fw->nheap];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= fw->nheap)
			break;
		if (c + 1 < fw->nheap && before(h[c + 1], h[c]))
			c++;
		if (!before(h[c], last))
			break;
		h[i] = h[c];
		i = c;
	}
	if (fw->nheap)
		h[i] = last;
	return top;
}

static struct ev *ev_new(enum ev_type type, ukf_ns_t t)
{
	struct ev *ev = calloc(1, sizeof(*ev));

	if (!ev)
		abort();
	ev->type = type;
	ev->t = t;
	return ev;
}

/* ---- env ---- */

static ukf_ns_t w_now(void *w)
{
	return ((struct fake_world *)w)->now;
}

static int w_timer(void *w, ukf_node_id_t node, ukf_ns_t at, uint64_t cookie)
{
	struct ev *ev = ev_new(E_TIMER, at);

	ev->node = node;
	ev->x = cookie;
	push(w, ev);
	return 0;
}

static int w_send(void *w, ukf_node_id_t from, ukf_node_id_t to,
		  uint16_t type, const void *buf, size_t len, const void *bulk,
		  size_t bulk_len, uint64_t bulk_bytes)
{
	struct fake_world *fw = w;

	if (to < 64 && (fw->drop_to >> to & 1))
		return 0; /* lost on the way */
	struct ev *ev = ev_new(E_MSG, fw->now + fw->latency +
					  (to < 8 ? fw->delay_to[to] : 0));

	ev->node = to;
	ev->from = from;
	ev->mtype = type;
	ev->buf = malloc(len + bulk_len + 1);
	memcpy(ev->buf, buf, len);
	if (bulk_len)
		memcpy(ev->buf + len, bulk, bulk_len);
	ev->len = len;
	ev->blen = bulk_len;
	fw->msgs++;
	fw->msg_bytes += len;
	fw->bulk_bytes += bulk_bytes;
	push(fw, ev);
	return 0;
}

static double w_uniform(void *w, uint64_t key)
{
	struct fake_world *fw = w;

	(void)key;
	if (fw->uniform_script && fw->nuniform)
		return fw->uniform_script[fw->iuniform++ % fw->nuniform];
	fw->rng = fw->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(fw->rng >> 11) / 9007199254740992.0;
}

static const struct ukf_dir *w_directory(void *w, ukf_node_id_t node)
{
	return ((struct fake_world *)w)->dir;
}

static void w_publish(void *w, ukf_node_id_t node, const void *rec, size_t len)
{
	struct fake_world *fw = w;

	if (fw->dir_delay == 0) {
		if (ukf_dir_apply(fw->dir, rec, len) < 0)
			fprintf(stderr, "fake: bad directory record\n");
		return;
	}
	struct ev *ev = ev_new(E_DIR, fw->now + fw->dir_delay);
	ev->buf = malloc(len);
	memcpy(ev->buf, rec, len);
	ev->len = len;
	push(fw, ev);
}

static void w_record(void *w, const struct ukf_record *r)
{
	struct fake_world *fw = w;
	struct fake_rec *fr;

	if (fw->nrecs == fw->caprecs) {
		fw->caprecs = fw->caprecs ? fw->caprecs * 2 : 64;
		fw->recs = realloc(fw->recs, fw->caprecs * sizeof(*fw->recs));
		if (!fw->recs)
			abort();
	}
	fr = &fw->recs[fw->nrecs++];
	fr->r = *r;
	snprintf(fr->app, sizeof(fr->app), "%s",
		 r->app_name ? r->app_name : "");
	snprintf(fr->why, sizeof(fr->why), "%s",
		 r->fail_reason ? r->fail_reason : "");
	fr->r.app_name = NULL;
	fr->r.fail_reason = NULL;
}

static void w_log(void *w, ukf_node_id_t node, const char *line)
{
	struct fake_world *fw = w;
	char buf[600];
	int n = snprintf(buf, sizeof(buf), "%.6f %u %s\n",
			 (double)fw->now / 1e9, node, line);

	if (fw->verbose)
		fputs(buf, stderr);
	if (fw->loglen + (size_t)n + 1 > fw->logcap) {
		fw->logcap = (fw->logcap + (size_t)n + 1) * 2;
		fw->log = realloc(fw->log, fw->logcap);
		if (!fw->log)
			abort();
	}
	memcpy(fw->log + fw->loglen, buf, (size_t)n + 1);
	fw->loglen += (size_t)n;
}

/* Run-wide ids from 1, as the simulated world gives them. */
static ukf_id_t w_new_id(void *u, ukf_node_id_t node)
{
	(void)node;
	return ++((struct fake_world *)u)->next_id;
}

static void w_fatal(void *u, ukf_node_id_t node, const char *why)
{
	struct fake_world *fw = u;

	(void)why;
	fw->fatal_calls++;
	fw->fatal_node = node;
}

static const struct ukf_env_ops env_ops = {
    .fatal = w_fatal,
    .new_id = w_new_id,
    .now = w_now,
    .timer = w_timer,
    .send = w_send,
    .uniform = w_uniform,
    .directory = w_directory,
    .publish = w_publish,
    .record = w_record,
    .log = w_log,
};

/* ---- backend ---- */

static struct fake_inst *fi_get(struct fake_world *fw, ukf_id_t id)
{
	if (id == 0 || id >= FAKE_MAX_INST || !fw->inst[id].used ||
	    !fw->inst[id].alive)
		return NULL;
	return &fw->inst[id];
}

static void step(struct fake_world *fw, ukf_id_t id, ukf_ns_t after,
		 enum step s)
{
	struct ev *ev = ev_new(E_STEP, fw->now + after);

	ev->x = id;
	ev->step = s;
	ev->gen = fw->inst[id].gen;
	ev->node = (ukf_node_id_t)fw->inst[id].node;
	push(fw, ev);
}

static int tpl_idx(const struct fake_world *fw, ukf_node_id_t node,
		   uint32_t app)
{
	uint64_t k = ((uint64_t)node << 32 | app) + 1;

	for (size_t i = 0; i < fw->ntemplates; i++)
		if (fw->templates[i] == k)
			return (int)i;
	return -1;
}

static int has_tpl(const struct fake_world *fw, ukf_node_id_t node,
		   uint32_t app)
{
	return tpl_idx(fw, node, app) >= 0;
}

uint32_t fake_template_crc(const struct fake_world *fw, ukf_node_id_t node,
			   uint32_t app)
{
	int i = tpl_idx(fw, node, app);

	return i < 0 ? 0 : fw->tcrc[i];
}

/* Hold a template of app on node with checksum crc (0: a new one). */
static uint32_t tpl_put(struct fake_world *fw, ukf_node_id_t node,
			uint32_t app, uint32_t crc)
{
	int i = tpl_idx(fw, node, app);

	if (!crc)
		crc = 0x1000u + ++fw->next_crc;
	if (i < 0 && fw->ntemplates < 256) {
		i = (int)fw->ntemplates++;
		fw->templates[i] = ((uint64_t)node << 32 | app) + 1;
	}
	if (i >= 0)
		fw->tcrc[i] = crc;
	return crc;
}

static int fi_new(struct fake_world *fw, ukf_node_id_t node, ukf_id_t id,
		  uint32_t app)
{
	struct fake_inst *fi;
	const struct ukf_app *a = ukf_apps_get(fw->apps, app);

	if (id == 0 || id >= FAKE_MAX_INST || !a)
		return -EINVAL;
	fi = &fw->inst[id];
	if (fi->used && fi->alive)
		return -EEXIST;
	uint32_t gen = fi->gen + 1;
	memset(fi, 0, sizeof(*fi));
	fi->gen = gen;
	fi->used = fi->alive = 1;
	fi->node = (int)node;
	fi->app = app;
	fi->manual = !strncmp(a->name, "manual", 6);
	return 0;
}

static int b_cold_boot(void *b, ukf_node_id_t node, ukf_id_t inst,
		       const struct ukf_app *app, const char *args)
{
	struct fake_world *fw = b;
	int rc;

	if (fw->fail_cold_boot)
		return -ENOMEM;
	if ((rc = fi_new(fw, node, inst, app->id)) < 0)
		return rc;
	step(fw, inst, COST_BOOT, S_STARTED);
	if (strncmp(app->name, "noready", 7))
		step(fw, inst, COST_BOOT + app->init_ns, S_READY);
	else
		fw->inst[inst].manual = 1; /* never calls ready() */
	return 0;
}

static int b_make_template(void *b, ukf_node_id_t node, ukf_id_t inst,
			   uint32_t app)
{
	struct fake_world *fw = b;
	struct fake_inst *fi = fi_get(fw, inst);
	struct ev *ev;

	if (fw->fail_make_template)
		return -ENOMEM;
	if (!fi || fi->pause != 1)
		return -ESRCH;
	ev = ev_new(E_STEP, fw->now + COST_TEMPLATE);
	ev->step = S_TEMPLATE;
	ev->node = node;
	ev->x = app;
	ev->maker = inst;
	ev->bytes = ukf_apps_get(fw->apps, app)->mem_bytes;
	push(fw, ev);
	return 0;
}

static int b_load_template(void *b, ukf_node_id_t node, uint32_t app,
			   const void *data, size_t bytes)
{
	struct fake_world *fw = b;
	struct ev *ev;

	if (fw->fail_load_template)
		return -ENOMEM;
	ev = ev_new(E_STEP, fw->now + COST_LOAD);
	ev->step = S_TEMPLATE;
	ev->node = node;
	ev->x = app;
	ev->bytes = bytes;
	/* b_export_template's bytes: the template's checksum, its size */
	if (data && bytes == 12 && !memcmp(data, "FTPL", 4)) {
		memcpy(&ev->crc, (const char *)data + 4, 4);
		ev->bytes = ukf_apps_get(fw->apps, app)->mem_bytes;
	}
	push(fw, ev);
	return 0;
}

static void b_drop_template(void *b, ukf_node_id_t node, uint32_t app)
{
	struct fake_world *fw = b;
	uint64_t k = ((uint64_t)node << 32 | app) + 1;

	for (size_t i = 0; i < fw->ntemplates; i++)
		if (fw->templates[i] == k) {
			fw->templates[i] = fw->templates[--fw->ntemplates];
			fw->tcrc[i] = fw->tcrc[fw->ntemplates];
		}
}

static int b_export_template(void *b, ukf_node_id_t node, uint32_t app,
			     void **data, size_t *len, uint64_t *bytes)
{
	struct fake_world *fw = b;
	uint32_t crc = fake_template_crc(fw, node, app);
	char *d;

	if (!crc)
		return -ENOENT;
	if (!(d = calloc(1, 12)))
		return -ENOMEM;
	memcpy(d, "FTPL", 4);
	memcpy(d + 4, &crc, 4);
	*data = d;
	*len = 12;
	*bytes = ukf_apps_get(fw->apps, app)->mem_bytes;
	return 0;
}

static int b_clone_template(void *b, ukf_node_id_t node, ukf_id_t inst,
			    const struct ukf_app *app, const char *args)
{
	struct fake_world *fw = b;
	int rc;

	if (fw->fail_clone_template)
		return -ENOMEM;
	if (!has_tpl(fw, node, app->id))
		return -ENOENT;
	if ((rc = fi_new(fw, node, inst, app->id)) < 0)
		return rc;
	fw->inst[inst].tcrc = fake_template_crc(fw, node, app->id);
	step(fw, inst, COST_CLONE, S_STARTED);
	step(fw, inst, COST_CLONE, S_READY);
	return 0;
}

static int b_clone_live(void *b, ukf_node_id_t node, ukf_id_t child,
			ukf_id_t parent)
{
	struct fake_world *fw = b;
	struct fake_inst *p = fi_get(fw, parent);
	int rc;

	if (fw->fail_clone_live)
		return -ENOMEM;
	if (!p)
		return -ESRCH;
	if ((rc = fi_new(fw, node, child, p->app)) < 0)
		return rc;
	fw->inst[child].is_child = 1;
	fw->inst[child].tcrc = p->tcrc;
	step(fw, child, COST_CLONE, S_STARTED);
	return 0;
}

static int b_save_delta(void *b, ukf_node_id_t node, ukf_id_t parent)
{
	struct fake_world *fw = b;

	if (fw->fail_save_delta)
		return -ENOMEM;
	if (!fi_get(fw, parent))
		return -ESRCH;
	step(fw, parent, COST_CLONE, S_DELTA);
	return 0;
}

static int b_restore_delta(void *b, ukf_node_id_t node, ukf_id_t child,
			   uint32_t app, const void *delta, size_t len,
			   uint64_t delta_bytes)
{
	struct fake_world *fw = b;
	int rc;

	uint32_t crc;

	if (fw->fail_restore)
		return -ENOMEM;
	if (!delta || len != 12 || memcmp(delta, "DELTA!!", 8))
		return -EINVAL;
	if (!has_tpl(fw, node, app))
		return -ENOENT;
	memcpy(&crc, (const char *)delta + 8, 4);
	if (crc && crc != fake_template_crc(fw, node, app)) {
		/* accepted, then refused, as KVM does */
		struct ev *ev = ev_new(E_STEP, fw->now + COST_CLONE);
		ev->step = S_STALE;
		ev->node = node;
		ev->x = child;
		ev->crc = crc;
		ev->maker = app;
		push(fw, ev);
		return 0;
	}
	if ((rc = fi_new(fw, node, child, app)) < 0)
		return rc;
	fw->inst[child].is_child = 1;
	fw->inst[child].tcrc = crc;
	step(fw, child, 2 * COST_CLONE, S_STARTED);
	return 0;
}

static void b_destroy(void *b, ukf_node_id_t node, ukf_id_t inst)
{
	struct fake_world *fw = b;
	struct fake_inst *fi = fi_get(fw, inst);

	if (fi) {
		fi->alive = 0;
		fi->gen++;
	}
}

static void after_unit(struct fake_world *fw, ukf_id_t id)
{
	struct fake_inst *fi = &fw->inst[id];
	const struct ukf_app *a = ukf_apps_get(fw->apps, fi->app);

	if (fi->units_done < a->units)
		step(fw, id, a->work_ns, S_UNIT);
	else
		step(fw, id, 0, S_EXIT);
}

static int b_complete(void *b, ukf_node_id_t node, ukf_id_t inst, int64_t ret,
		      int64_t status, ukf_id_t src, const void *data,
		      size_t len)
{
	struct fake_world *fw = b;
	struct fake_inst *fi = fi_get(fw, inst);
	const struct ukf_app *a;
	int pause;

	if (!fi || !fi->pause || (ukf_node_id_t)fi->node != node)
		return -ESRCH;
	a = ukf_apps_get(fw->apps, fi->app);
	pause = fi->pause;
	fi->pause = 0;
	fi->last_ret = ret;
	fi->last_status = status;
	fi->last_src = src;
	fi->last_len =
	    len < sizeof(fi->last_data) ? len : sizeof(fi->last_data);
	if (fi->last_len)
		memcpy(fi->last_data, data, fi->last_len);
	fi->ncomplete++;
	if (fi->manual)
		return 0;
	if (pause == 1) {
		if (a->units == 0)
			step(fw, inst, 0, S_EXIT);
		else
			step(fw, inst, a->work_ns, S_UNIT);
		return 0;
	}
	if (fi->call == UKF_CALL_FORK) {
		if (fi->is_child && fi->units_done == 0) {
			step(fw, inst, a->work_ns, S_UNIT);
			return 0;
		}
		fi->forks_issued++;
		if (ret > 0)
			fi->children++;
		if (fi->forks_issued < a->fork)
			step(fw, inst, 0, S_FORK);
		else if (fi->children)
			step(fw, inst, 0, S_WAIT);
		else
			after_unit(fw, inst);
	} else if (fi->call == UKF_CALL_WAIT) {
		fi->waits_done++;
		if (fi->waits_done < fi->children)
			step(fw, inst, 0, S_WAIT);
		else
			after_unit(fw, inst);
	}
	return 0;
}

static const struct ukf_backend_ops be_ops = {
    .name = "fake",
    .cold_boot = b_cold_boot,
    .make_template = b_make_template,
    .load_template = b_load_template,
    .drop_template = b_drop_template,
    .clone_template = b_clone_template,
    .clone_live = b_clone_live,
    .save_delta = b_save_delta,
    .restore_delta = b_restore_delta,
    .destroy = b_destroy,
    .complete = b_complete,
    .export_template = b_export_template,
};

static void emit(struct fake_world *fw, ukf_node_id_t node,
		 struct ukf_be_event *ev)
{
	ev->at = fw->now;
	ukf_engine_on_backend(fake_engine(fw, node), node, ev);
}

static void do_step(struct fake_world *fw, struct ev *e)
{
	struct ukf_be_event be;
	struct fake_inst *fi;
	const struct ukf_app *a;
	ukf_id_t id = e->x;

	memset(&be, 0, sizeof(be));
	if (e->step == S_TEMPLATE && fw->error_template) {
		be.kind = UKF_BE_ERROR;
		be.app = (uint32_t)e->x;
		be.status = -EIO;
		be.text = "fake: template refused";
		emit(fw, e->node, &be);
		return;
	}
	if (e->step == S_STALE) {
		char why[128];
		fw->stale_refusals++;
		snprintf(why, sizeof(why),
			 "delta was taken against another template of app %u "
			 "(crc %08x, this node's %08x)",
			 (unsigned)e->maker, e->crc,
			 fake_template_crc(fw, e->node, (uint32_t)e->maker));
		be.kind = UKF_BE_ERROR;
		be.inst = id;
		be.status = -ESTALE;
		be.text = why;
		emit(fw, e->node, &be);
		return;
	}
	if (e->step == S_TEMPLATE) {
		uint32_t crc = tpl_put(fw, e->node, (uint32_t)e->x, e->crc);
		struct fake_inst *m = e->maker ? fi_get(fw, e->maker) : NULL;
		if (m && m->node == (int)e->node)
			m->tcrc = crc; /* its memory maps the template now */
		be.kind = UKF_BE_TEMPLATE;
		be.app = (uint32_t)e->x;
		be.bytes = e->bytes;
		emit(fw, e->node, &be);
		return;
	}
	fi = fi_get(fw, id);
	if (!fi || fi->gen != e->gen)
		return;
	a = ukf_apps_get(fw->apps, fi->app);
	be.inst = id;
	switch (e->step) {
	case S_STARTED:
		be.kind = UKF_BE_STARTED;
		if (fi->is_child) {
			fi->pause = 2;
			fi->call = UKF_CALL_FORK;
		}
		emit(fw, e->node, &be);
		break;
	case S_READY:
		fi->pause = 1;
		be.kind = UKF_BE_READY;
		emit(fw, e->node, &be);
		break;
	case S_UNIT:
		fi->units_done++;
		if (fi->is_child) {
			step(fw, id, 0, S_EXIT);
			break;
		}
		if (a->fork == 0) {
			after_unit(fw, id);
			break;
		}
		fi->forks_issued = fi->children = fi->waits_done = 0;
		/* fall through */
		__attribute__((fallthrough));
	case S_FORK:
		fi->pause = 2;
		fi->call = UKF_CALL_FORK;
		be.kind = UKF_BE_CALL;
		be.call = UKF_CALL_FORK;
		be.dirty_pages = a->dirty_pages;
		emit(fw, e->node, &be);
		break;
	case S_WAIT:
		fi->pause = 2;
		fi->call = UKF_CALL_WAIT;
		be.kind = UKF_BE_CALL;
		be.call = UKF_CALL_WAIT;
		emit(fw, e->node, &be);
		break;
	case S_EXIT:
		fi->pause = 0;
		be.kind = UKF_BE_EXIT;
		be.status = 0;
		emit(fw, e->node, &be);
		break;
	case S_DELTA:
		if (fw->error_save_delta) {
			be.kind = UKF_BE_ERROR;
			be.status = -EIO;
			be.text = "fake: save_delta failed";
			emit(fw, e->node, &be);
			break;
		}
		/* against the node's template if its memory maps that one,
		 * else the whole image (KVM's rule) */
		{
			static char d[12] = "DELTA!!";
			uint32_t crc = fi->tcrc && fi->tcrc == fake_template_crc(
							   fw, e->node, fi->app)
					   ? fi->tcrc
					   : 0;
			memcpy(d + 8, &crc, 4);
			be.data = d;
		}
		be.kind = UKF_BE_DELTA;
		be.len = 12;
		be.bytes = (uint64_t)a->dirty_pages * 4096;
		emit(fw, e->node, &be);
		break;
	}
}

static void check_capacity(struct fake_world *fw)
{
	struct ukf_node_stats s;

	for (uint32_t n = 0; n < ukf_dir_nodes(fw->dir); n++) {
		if (ukf_engine_node_stats(fake_engine(fw, n), n, &s) < 0)
			continue;
		if (s.vcpus_used > s.vcpus || s.mem_used > s.mem ||
		    s.cache_used > s.cache)
			fw->overcommit = 1;
	}
}

void fake_run(struct fake_world *fw, ukf_ns_t until)
{
	struct ev *e;

	while (fw->nheap) {
		struct ev **h = fw->heap;
		if (h[0]->t > until)
			break;
		e = pop(fw);
		fw->now = e->t;
		fw->events++;
		switch (e->type) {
		case E_STEP:
			do_step(fw, e);
			break;
		case E_MSG:
			ukf_engine_on_message(fake_engine(fw, e->node), e->node,
					      e->from, e->mtype, e->buf, e->len,
					      e->blen ? e->buf + e->len : NULL,
					      e->blen);
			break;
		case E_TIMER:
			ukf_engine_on_timer(fake_engine(fw, e->node), e->node,
					    e->x);
			break;
		case E_DIR:
			ukf_dir_apply(fw->dir, e->buf, e->len);
			break;
		case E_BE:
			if (e->be.kind == UKF_BE_CALL) {
				struct fake_inst *fi = fi_get(fw, e->be.inst);
				if (fi) {
					fi->pause = 2;
					fi->call = e->be.call;
				}
			} else if (e->be.kind == UKF_BE_EXIT) {
				struct fake_inst *fi = fi_get(fw, e->be.inst);
				if (fi)
					fi->pause = 0;
			}
			e->be.data = e->buf;
			e->be.text = e->text[0] ? e->text : NULL;
			emit(fw, e->node, &e->be);
			break;
		}
		if (fw->check_every_event)
			check_capacity(fw);
		free(e->buf);
		free(e);
	}
	if (until != UKF_NS_NEVER && fw->now < until)
		fw->now = until;
}

/* A backend event of kind about instance id, now, from the node it is on
 * (0 if unknown); the caller fills the rest and pushes it. */
static struct ev *be_ev_new(struct fake_world *fw, ukf_id_t id,
			    enum ukf_be_kind kind)
{
	struct fake_inst *fi = fi_get(fw, id);
	struct ev *ev = ev_new(E_BE, fw->now);

	ev->node = fi ? (ukf_node_id_t)fi->node : 0;
	ev->be.kind = kind;
	ev->be.inst = id;
	return ev;
}

void fake_call(struct fake_world *fw, ukf_id_t id, enum ukf_call call,
	       ukf_id_t arg, ukf_ns_t deadline, const void *data, size_t len,
	       const char *text)
{
	struct ev *ev = be_ev_new(fw, id, UKF_BE_CALL);

	ev->be.call = call;
	ev->be.arg_id = arg;
	ev->be.deadline = deadline;
	if (data) {
		ev->buf = malloc(len + 1);
		memcpy(ev->buf, data, len);
		ev->buf[len] = 0;
	}
	ev->be.len = len;
	if (text)
		snprintf(ev->text, sizeof(ev->text), "%s", text);
	push(fw, ev);
}

void fake_exit(struct fake_world *fw, ukf_id_t id, int64_t status)
{
	fake_exit_dirty(fw, id, status, 0);
}

void fake_exit_dirty(struct fake_world *fw, ukf_id_t id, int64_t status,
		     uint64_t dirty_pages)
{
	struct ev *ev = be_ev_new(fw, id, UKF_BE_EXIT);

	ev->be.status = status;
	ev->be.dirty_pages = dirty_pages;
	push(fw, ev);
}

void fake_fork_dirty(struct fake_world *fw, ukf_id_t id, uint64_t dirty_pages)
{
	struct ev *ev = be_ev_new(fw, id, UKF_BE_CALL);

	ev->be.call = UKF_CALL_FORK;
	ev->be.dirty_pages = dirty_pages;
	push(fw, ev);
}

void fake_fail(struct fake_world *fw, ukf_id_t id, int error, const char *why)
{
	struct ev *ev = be_ev_new(fw, id, error ? UKF_BE_ERROR : UKF_BE_FAIL);

	ev->be.status = error;
	if (why)
		snprintf(ev->text, sizeof(ev->text), "%s", why);
	push(fw, ev);
}

void fake_hold_template(struct fake_world *fw, ukf_node_id_t node,
			uint32_t app)
{
	if (!has_tpl(fw, node, app))
		tpl_put(fw, node, app, 0);
}

int fake_has_template(const struct fake_world *fw, ukf_node_id_t node,
		      uint32_t app)
{
	return has_tpl(fw, node, app);
}

void fake_raw_message(struct fake_world *fw, ukf_node_id_t to,
		      ukf_node_id_t from, uint16_t type, const void *buf,
		      size_t len)
{
	ukf_engine_on_message(fake_engine(fw, to), to, from, type, buf, len,
			      NULL, 0);
}

static void h_ready(void *u, ukf_id_t id, uint64_t tag)
{
	((struct fake_world *)u)->ready_hooks++;
}
static void h_exit(void *u, ukf_id_t id, uint64_t tag, int64_t st)
{
	((struct fake_world *)u)->exit_hooks++;
}
static void h_fail(void *u, ukf_id_t id, uint64_t tag, const char *why)
{
	((struct fake_world *)u)->fail_hooks++;
}

struct fake_world *fake_create(const struct ukf_engine_config *cfg, char *err,
			       size_t errlen)
{
	struct fake_world *fw = calloc(1, sizeof(*fw));

	if (!fw) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fw->latency = 100 * UKF_US;
	fw->verbose = getenv("UKF_TEST_VERBOSE") != NULL;
	fw->rng = 42;
	fw->check_every_event = 1;
	fw->env.ops = &env_ops;
	fw->env.w = fw;
	fw->be.ops = &be_ops;
	fw->be.b = fw;
	fw->hooks.on_ready = h_ready;
	fw->hooks.on_exit = h_exit;
	fw->hooks.on_fail = h_fail;
	fw->hooks.u = fw;
	fw->nnodes = cfg->nodes ? cfg->nodes : 1;
	fw->dir = ukf_dir_create(fw->nnodes);
	fw->apps = ukf_apps_create();
	fw->eng = calloc(fw->nnodes, sizeof(*fw->eng));
	if (!fw->dir || !fw->apps || !fw->eng) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* one engine per node, as the simulated world has */
	for (uint32_t k = 0; k < fw->nnodes; k++) {
		struct ukf_engine_config c = *cfg;

		c.self = k;
		fw->eng[k] = ukf_engine_create(&c, fw->apps, &fw->env, &fw->be,
					       &fw->hooks, err, errlen);
		if (!fw->eng[k])
			goto fail;
	}
	return fw;
fail:
	fake_destroy(&fw);
	return NULL;
}

void fake_destroy(struct fake_world **p)
{
	struct fake_world *fw = *p;
	struct ev *e;

	if (!fw)
		return;
	for (uint32_t k = 0; fw->eng && k < fw->nnodes; k++)
		ukf_engine_destroy(&fw->eng[k]);
	free(fw->eng);
	ukf_apps_destroy(&fw->apps);
	while ((e = pop(fw)) != NULL) {
		free(e->buf);
		free(e);
	}
	free(fw->heap);
	ukf_dir_destroy(&fw->dir);
	free(fw->recs);
	free(fw->log);
	free(fw);
	*p = NULL;
}

int fake_app(struct fake_world *fw, const char *name, const char *kv)
{
	struct ukf_app a;
	char err[200];

	if (ukf_app_parse(&a, name, kv, err, sizeof(err)) < 0) {
		fprintf(stderr, "fake_app: %s\n", err);
		return -1;
	}
	/* a digest of what it runs, as a world sets one (FNV-1a of the
	 * description) */
	a.digest = 0xcbf29ce484222325ULL;
	for (const char *c = name; *c; c++)
		a.digest = (a.digest ^ (unsigned char)*c) * 0x100000001b3ULL;
	for (const char *c = kv; c && *c; c++)
		a.digest = (a.digest ^ (unsigned char)*c) * 0x100000001b3ULL;
	return ukf_apps_add(fw->apps, &a);
}

ukf_engine_t *fake_engine(struct fake_world *fw, ukf_node_id_t node)
{
	return node < fw->nnodes ? fw->eng[node] : NULL;
}

int fake_start(struct fake_world *fw)
{
	int rc = 0;

	for (uint32_t k = 0; k < fw->nnodes && !rc; k++)
		rc = ukf_engine_start(fw->eng[k]);
	for (uint32_t k = 0; k < fw->nnodes && !rc; k++)
		rc = ukf_engine_prewarm(fw->eng[k]);
	return rc;
}

int fake_spawn(struct fake_world *fw, ukf_node_id_t origin, uint32_t app,
	       const char *args, uint64_t tag, ukf_id_t *id)
{
	return ukf_engine_spawn(fake_engine(fw, origin), origin, app, args,
				tag, id);
}

/* The engine hosting instance id (kind 1) or holding request id (2). */
static ukf_engine_t *holder(struct fake_world *fw, ukf_id_t id, int kind)
{
	for (uint32_t k = 0; k < fw->nnodes; k++)
		if (ukf_engine_has(fw->eng[k], id) == kind)
			return fw->eng[k];
	return NULL;
}

int fake_fork(struct fake_world *fw, ukf_id_t parent, uint64_t tag,
	      ukf_id_t *id)
{
	ukf_engine_t *e = holder(fw, parent, 1);

	return e ? ukf_engine_fork(e, parent, tag, id) : -ESRCH;
}

int fake_kill(struct fake_world *fw, ukf_id_t id)
{
	ukf_engine_t *e = holder(fw, id, 1);

	if (!e)
		e = holder(fw, id, 2);
	return e ? ukf_engine_kill(e, id) : -ESRCH;
}

uint64_t fake_alive(const struct fake_world *fw)
{
	uint64_t n = 0;

	for (uint32_t k = 0; k < fw->nnodes; k++)
		n += ukf_engine_alive(fw->eng[k]);
	return n;
}

int fake_stats(struct fake_world *fw, ukf_node_id_t node,
	       struct ukf_node_stats *s)
{
	return ukf_engine_node_stats(fake_engine(fw, node), node, s);
}

size_t fake_templates(struct fake_world *fw, ukf_node_id_t node, char *buf,
		      size_t cap)
{
	return ukf_engine_node_templates(fake_engine(fw, node), node, buf,
					 cap);
}

void fake_set_alloc_hook(struct fake_world *fw, int (*fail)(void *u),
			 void *u)
{
	for (uint32_t k = 0; k < fw->nnodes; k++)
		ukf_engine_set_alloc_hook(fw->eng[k], fail, u);
}

const struct fake_rec *fake_rec(const struct fake_world *fw, ukf_id_t id)
{
	for (size_t i = 0; i < fw->nrecs; i++)
		if (fw->recs[i].r.id == id)
			return &fw->recs[i];
	return NULL;
}

int fake_log_count(const struct fake_world *fw, const char *s)
{
	int n = 0;
	const char *p = fw->log;

	while (p && (p = strstr(p, s)) != NULL) {
		n++;
		p += strlen(s);
	}
	return n;
}

int fake_test_main(const struct fake_test *tests, size_t n,
		   const int *failures, const char *prog, int argc,
		   char **argv)
{
	int ran = 0;

	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", tests[i].name);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (argc == 3 && !strcmp(argv[1], "--run") &&
		    strcmp(argv[2], tests[i].name))
			continue;
		int before = *failures;
		tests[i].fn();
		ran++;
		printf("%s %s\n", *failures == before ? "ok  " : "FAIL",
		       tests[i].name);
	}
	if (!ran) {
		fprintf(stderr, "usage: %s [--list | --run NAME]\n", prog);
		return 2;
	}
	return *failures ? 1 : 0;
}
