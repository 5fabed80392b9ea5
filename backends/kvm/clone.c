/* SPDX-License-Identifier: MIT */
/* clone.c - live fork (copy-on-write both ways) and remote-fork deltas on the KVM monitor. */
#define _GNU_SOURCE
#include "template.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * Live fork. The parent is paused in UKF_HC_FORK (its own fork()), or is
 * stopped for a fork from outside (see stop_for_outside_fork). Its memory is (or is made
 * now) a private map of a template T, so its state = T + its anonymous
 * pages. The child gets a VM shell, a private map of T, copies of the
 * parent's anonymous pages and the parent's vCPU state; both are private
 * maps afterwards, so neither sees the other's later writes, nor do
 * siblings. Cost: one dirty scan and one memcpy per page written since T.
 *
 * Fallback without a template (cold-booted parent, template policy
 * "none"): the fork takes an implicit template of the parent at once -
 * its memfd is sealed in place (no copy) and the parent continues as a
 * private map of it; the template belongs to that fork lineage (parent,
 * children and their children), not to the node's store, and is freed
 * with the last of them.
 */

/* Paused in a call that a fork or delta can start from. */
static int paused_in_fork(struct ukvm_vm *vm)
{
	return vm->state == UKVM_VM_CALL && vm->pending_hc == UKF_HC_FORK &&
	       !vm->answered && vm->mem && vm->vcpu_fd >= 0;
}

/* Report a failure of an accepted operation on `inst`. */
static void emit_error(struct ukvm *m, ukf_id_t inst, int rc,
		       const char *why)
{
	struct ukf_be_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = UKF_BE_ERROR;
	ev.inst = inst;
	ev.status = rc;
	ev.text = why;
	ev.at = ukvm_now();
	m->cfg.event(m->cfg.u, m->cfg.node, &ev);
}

/*
 * A fork from outside (the engine's ukf_engine_fork, Lua fork(id)): the
 * parent is not in its own fork() call. Returns with p->lock held and p
 * stopped: *held = 1 if its running vCPU was held (ukvm_vm_unhold after),
 * else it is paused in BLOCK, RECV or WAIT and *child_ret is what that
 * call returns in the child (the parent's call stays pending, untouched):
 *   block: 0 (as if its deadline passed: returns early)
 *   recv:  -UKF_ETIMEDOUT (no message; the parent's queue stays its own)
 *   wait:  -UKF_ECHILD (the parent's children are not the child's)
 * -EBUSY when it is in any other state an outside fork cannot copy
 * (paused in ready(), spawn, send, being built); -ESRCH when it ended.
 */
static int stop_for_outside_fork(struct ukvm_vm *p, int *held,
				 int64_t *child_ret)
{
	*held = 0;
	for (int i = 0; i < 100; i++) {
		int rc;

		if (!p->mem || p->vcpu_fd < 0 ||
		    p->state == UKVM_VM_EXITED || p->state == UKVM_VM_FAILED)
			return -ESRCH;
		if (p->state == UKVM_VM_CALL && !p->answered) {
			switch (p->pending_hc) {
			case UKF_HC_BLOCK:
				*child_ret = 0;
				return 0;
			case UKF_HC_RECV:
				*child_ret = -UKF_ETIMEDOUT;
				return 0;
			case UKF_HC_WAIT:
				*child_ret = -UKF_ECHILD;
				return 0;
			default:
				return -EBUSY;
			}
		}
		if (p->state != UKVM_VM_RUNNING) {
			if ((p->state == UKVM_VM_CALL ||
			     p->state == UKVM_VM_READY) && p->answered) {
				/* answered, about to run: retry shortly */
				pthread_mutex_unlock(&p->lock);
				usleep(200);
				pthread_mutex_lock(&p->lock);
				continue;
			}
			return -EBUSY; /* ready(), building */
		}
		rc = ukvm_vm_hold(p);
		if (rc == 0) {
			*held = 1;
			return 0;
		}
		if (rc != -EAGAIN)
			return rc == -ETIMEDOUT ? -EBUSY : rc;
		/* it paused in a call meanwhile: look again */
	}
	return -EBUSY;
}

int ukvm_clone_live(void *b, ukf_node_id_t node, ukf_id_t child,
		    ukf_id_t parent)
{
	struct ukvm *m = b;
	struct ukvm_vm *p, *c = NULL;
	struct ukvm_tmpl *t;
	struct ukvm_snap_vcpu st;
	struct ukvm_snap_meta meta;
	uint64_t *bm = NULL, n;
	char err[300];
	int rc, outside = 0, held = 0;
	int64_t child_ret = 0;
	ukf_gpa_t call_gpa = 0;
	struct ukvm_fork_mon *fm = m->templates;
	struct ukvm_phases ph = { 0 }, *php = fm && fm->trace ? &ph : NULL;

	ukvm_phase(php, "start");
	p = ukvm_vm_find(m, parent);
	if (!p)
		return -ESRCH;
	pthread_mutex_lock(&p->lock);
	if (!paused_in_fork(p)) {
		/* a fork from outside: stop the parent where it is */
		rc = stop_for_outside_fork(p, &held, &child_ret);
		if (rc)
			goto out;
		outside = 1;
		call_gpa = held ? 0 : p->pending_gpa;
	}
	/* Limits first: a refused fork changes nothing in the parent. */
	rc = ukvm_vm_new(m, child, p->mem_size, &c);
	if (rc) {
		c = NULL;
		goto out;
	}
	bm = malloc((p->mem_size / UKF_PAGE_SIZE + 63) / 64 * 8);
	if (!bm) {
		rc = -ENOMEM;
		goto fail;
	}
	ukvm_phase(php, "new");
	t = ukvm_tmpl_freeze(p, 0, err, sizeof(err));
	if (!t) {
		rc = -EIO;
		goto fail;
	}
	ukvm_phase(php, "freeze");
	if ((rc = ukvm_snap_vcpu_quiesce(p->vcpu_fd, p->run)) ||
	    (rc = ukvm_snap_vcpu_save(p->vcpu_fd, &st, err, sizeof(err))))
		goto fail;
	ukvm_phase(php, "save");
	if ((rc = ukvm_vm_dirty(p, bm, &n, err, sizeof(err))))
		goto fail;
	ukvm_phase(php, "scan");
	ukvm_meta_capture(p, UKVM_PAUSE_FORK, &meta);
	ukvm_meta_apply(c, &meta, p->inst);
	memcpy(c->args, p->args, sizeof(c->args));
	ukvm_cur_phases = php;
	rc = ukvm_clone_build(c, t, &st, err, sizeof(err));
	ukvm_cur_phases = NULL;
	if (rc)
		goto fail;
	ukvm_cow_copy_pages(c->mem, p->mem, p->mem_size, bm);
	ukvm_phase(php, "copy");
	ukvm_clone_bootinfo(c, c->args, p->inst);
	if (outside) {
		/*
		 * The child starts paused like a fork child (the engine
		 * answers it at UKF_BE_STARTED) but with no call address, so
		 * that answer writes nothing: a held child resumes at the
		 * instruction the parent stopped at, a child of a paused
		 * call returns child_ret from it.
		 */
		rc = call_gpa ? ukvm_clone_write_ret(c, call_gpa, child_ret)
			      : 0;
		if (rc)
			goto fail;
		c->pending_hc = held ? UKF_HC_FORK : p->pending_hc;
		c->pending_gpa = 0;
	} else {
		rc = ukvm_clone_write_ret(c, p->pending_gpa, 0);
		if (rc)
			goto fail;
		c->pending_hc = UKF_HC_FORK;
		c->pending_gpa = p->pending_gpa;
	}
	c->start_in_call = 1;
	ukvm_phase(php, "boot+ret");
	rc = ukvm_vm_launch(c);
	if (rc)
		goto fail;
	ukvm_phase(php, "launch");
	if (php)
		ukvm_phases_print(php, "clone_live", child);
	goto out;
fail:
	ukvm_clone_unbuilt_free(m, c);
out:
	if (held)
		ukvm_vm_unhold(p); /* the parent goes on where it stopped */
	pthread_mutex_unlock(&p->lock);
	free(bm);
	ukvm_vm_put(p);
	return rc;
}

int ukvm_save_delta(void *b, ukf_node_id_t node, ukf_id_t parent)
{
	struct ukvm *m = b;
	struct ukvm_vm *p = ukvm_vm_find(m, parent);
	struct ukvm_fork_vm *fv;
	struct ukvm_snap_buf buf;
	struct ukvm_snap_meta meta;
	struct ukvm_snap_vcpu st;
	struct ukf_be_event ev;
	uint64_t *bm = NULL, n = 0;
	char err[300];
	int rc;

	if (!p)
		return -ESRCH;
	memset(&buf, 0, sizeof(buf));
	pthread_mutex_lock(&p->lock);
	if (!paused_in_fork(p)) {
		pthread_mutex_unlock(&p->lock);
		ukvm_vm_put(p);
		return -EINVAL;
	}
	fv = p->fork_state;
	ukvm_meta_capture(p, UKVM_PAUSE_FORK, &meta);
	rc = ukvm_snap_vcpu_quiesce(p->vcpu_fd, p->run);
	if (rc == 0)
		rc = ukvm_snap_vcpu_save(p->vcpu_fd, &st, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "completing the fork() call: %s",
			 strerror(-rc));
	if (rc)
		goto done;
	/*
	 * Against the template only if it is the node's template of the app
	 * (the one a peer can hold too); a fork lineage's implicit template
	 * exists nowhere else, so then the whole image goes.
	 */
	struct ukvm_tmpl *st_t = ukvm_tmpl_lookup(m, p->app);
	int vs_store = fv && fv->tmpl && p->mem_private && st_t == fv->tmpl;
	/* a template whose memory cannot be read has no CRC (0): then the
	 * whole image too, never a delta a receiver would take as one
	 * without a template and build on zeros */
	uint32_t tcrc = vs_store ? ukvm_tmpl_crc(fv->tmpl) : 0;

	ukvm_tmpl_put(st_t);
	if (!tcrc)
		vs_store = 0;
	if (vs_store) {
		/* Against the template: only the pages written since. */
		bm = malloc((p->mem_size / UKF_PAGE_SIZE + 63) / 64 * 8);
		if (!bm) {
			rc = -ENOMEM;
			snprintf(err, sizeof(err), "out of memory");
			goto done;
		}
		rc = ukvm_vm_dirty(p, bm, &n, err, sizeof(err));
		if (rc)
			goto done;
		meta.template_crc = tcrc;
		meta.dirty_pages = n;
	}
	/* else: no template - a full image (every non-zero page). */
	ukvm_snap_begin(&buf, UKVM_SNAP_DELTA);
	ukvm_snap_meta_encode(&buf, &meta);
	ukvm_snap_vcpu_encode(&buf, &st);
	ukvm_snap_add(&buf, UKVM_SEC_ARGS, p->args,
		      strnlen(p->args, sizeof(p->args) - 1) + 1);
	ukvm_snap_add_pages(&buf, p->mem, p->mem_size, bm, &n);
	rc = ukvm_snap_finish(&buf);
	if (rc)
		snprintf(err, sizeof(err), "out of memory encoding the delta");
done:
	pthread_mutex_unlock(&p->lock);
	memset(&ev, 0, sizeof(ev));
	if (!rc) {
		ev.kind = UKF_BE_DELTA;
		ev.data = buf.data;
		ev.len = buf.len;
		ev.bytes = n * UKF_PAGE_SIZE;
		ev.dirty_pages = n;
	}
	/* the receiver copies what it keeps */
	ukvm_emit_outcome(p, &ev, rc, err);
	ukvm_snap_buf_free(&buf);
	free(bm);
	ukvm_vm_put(p);
	return 0;
}

/* An empty sealed template of size bytes (for deltas without one). */
static struct ukvm_tmpl *empty_tmpl(uint64_t size, char *err, size_t errlen)
{
	struct ukvm_tmpl *t = calloc(1, sizeof(*t));

	if (!t) {
		ukf_seterr(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&t->refs, 1);
	pthread_mutex_init(&t->crc_lock, NULL);
	t->mem_size = size;
	t->fd = memfd_create("ukf-empty", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (t->fd < 0 || ftruncate(t->fd, (off_t)size) < 0 ||
	    fcntl(t->fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
					  F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		ukf_seterr(err, errlen, "memfd: %s", strerror(errno));
		ukvm_tmpl_put(t);
		return NULL;
	}
	return t;
}

/*
 * Does the delta hold pages of the monitor area (GDT, TSS, IDT, stubs,
 * page tables)? Guests never write there, but dirty tracking can list
 * page-table pages (KVM-NOTES; seen under QEMU's emulated SVM), and a
 * delta without a template carries all of memory. 1, 0, or -EINVAL with
 * err when its page list is malformed.
 */
static int delta_has_monitor_pages(const struct ukvm_snap_reader *r,
				   char *err, size_t errlen)
{
	uint64_t lo;

	if (ukvm_snap_pages_lowest(r, &lo) < 0) {
		snprintf(err, errlen, "delta refused: section pages missing or malformed");
		return -EINVAL;
	}
	return lo < UKF_MON_END / UKF_PAGE_SIZE;
}

int ukvm_restore_delta(void *b, ukf_node_id_t node, ukf_id_t child,
		       uint32_t app, const void *delta, size_t len,
		       uint64_t delta_bytes)
{
	struct ukvm *m = b;
	struct ukvm_snap_reader r;
	struct ukvm_snap_meta meta;
	struct ukvm_snap_vcpu st;
	struct ukvm_tmpl *t = NULL;
	struct ukvm_vm *c = NULL;
	const void *a;
	size_t alen;
	char err[300], why[240];
	int rc, mon_pages;

	if (!delta)
		return -EINVAL;
	if (ukvm_snap_open(&r, delta, len, why, sizeof(why))) {
		snprintf(err, sizeof(err), "delta refused: %s", why);
		rc = -EINVAL;
		goto report;
	}
	if (r.kind != UKVM_SNAP_DELTA) {
		snprintf(err, sizeof(err), "delta refused: snapshot kind %u is not a delta",
			 r.kind);
		rc = -EINVAL;
		goto report;
	}
	if ((rc = ukvm_snap_meta_decode(&r, &meta, err, sizeof(err))) ||
	    (rc = ukvm_snap_vcpu_decode(&r, &st, err, sizeof(err))))
		goto report;
	if (meta.pause != UKVM_PAUSE_FORK) {
		snprintf(err, sizeof(err), "delta refused: not taken in fork()");
		rc = -EINVAL;
		goto report;
	}
	if (meta.template_crc) {
		t = ukvm_tmpl_lookup(m, app);
		if (!t) {
			rc = -ENOENT;
			snprintf(err, sizeof(err),
				 "no template of app %u on this node", app);
			goto report;
		}
		if (ukvm_tmpl_crc(t) != meta.template_crc ||
		    t->mem_size != meta.mem_size) {
			snprintf(err, sizeof(err),
				 "delta was taken against another template of app %u (crc %08llx, this node's %08x)",
				 app, (unsigned long long)meta.template_crc,
				 ukvm_tmpl_crc(t));
			rc = -ESTALE;
			goto report;
		}
	} else if (!(t = empty_tmpl(meta.mem_size, err, sizeof(err)))) {
		rc = -ENOMEM;
		goto report;
	}
	/* after the template checks: a delta for another template says so */
	if ((rc = ukvm_snap_vcpu_check(&st, err, sizeof(err))))
		goto report;
	if ((mon_pages = delta_has_monitor_pages(&r, err, sizeof(err))) < 0) {
		rc = mon_pages;
		goto report;
	}
	rc = ukvm_vm_new(m, child, meta.mem_size, &c);
	if (rc) {
		ukvm_tmpl_put(t);
		return rc; /* limits: refused at once */
	}
	ukvm_meta_apply(c, &meta, meta.instance_id);
	c->app = app;
	if (ukvm_snap_find(&r, UKVM_SEC_ARGS, &a, &alen) == 0 && alen &&
	    alen <= sizeof(c->args) && ((const char *)a)[alen - 1] == 0)
		memcpy(c->args, a, alen);
	if ((rc = ukvm_clone_build(c, t, &st, err, sizeof(err))) ||
	    (rc = ukvm_snap_apply_pages(&r, c->mem, -1, c->mem_size, NULL,
					err, sizeof(err))))
		goto fail;
	/* the monitor area is the monitor's, not the delta's */
	if (mon_pages)
		ukvm_layout_sanitize(c->mem, c->mem_size);
	ukvm_clone_bootinfo(c, c->args, meta.instance_id);
	if ((rc = ukvm_clone_write_ret(c, meta.args_gpa, 0))) {
		snprintf(err, sizeof(err), "delta: bad fork argument address");
		goto fail;
	}
	c->pending_hc = UKF_HC_FORK;
	c->pending_gpa = meta.args_gpa;
	c->start_in_call = 1;
	rc = ukvm_vm_launch(c);
	if (rc)
		goto fail;
	ukvm_tmpl_put(t);
	return 0;
fail:
	ukvm_clone_unbuilt_free(m, c);
report:
	ukvm_tmpl_put(t); /* NULL-safe; also when refused before a VM */
	emit_error(m, child, rc, err);
	return 0;
}
