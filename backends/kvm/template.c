/* SPDX-License-Identifier: MIT */
/* template.c - make/load/drop templates, clone instances from them, save/load templates on disk. */
#define _GNU_SOURCE
#include "template.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * Shells kept ready for clones (2 fds and ~100-400 KiB of kernel memory
 * each). Making one is mostly waiting in the kernel (memslot SRCU grace
 * period), so 4 refill threads make ~1.8k shells/s on 2 cores where 1
 * makes ~1.1k/s (measured under load).
 */
#define UKVM_SHELL_POOL 32

void ukvm_phases_print(const struct ukvm_phases *p, const char *what,
		       ukf_id_t inst)
{
	char line[512];
	int o;

	o = snprintf(line, sizeof(line), "ukvm %s %llu:", what,
		     (unsigned long long)inst);
	for (int i = 1; i < p->n && o < (int)sizeof(line); i++)
		o += snprintf(line + o, sizeof(line) - (size_t)o, " %s %.1f",
			      p->name[i],
			      (double)(p->at[i] - p->at[i - 1]) / 1e3);
	if (p->n > 1 && o < (int)sizeof(line))
		snprintf(line + o, sizeof(line) - (size_t)o, " total %.1f us",
			 (double)(p->at[p->n - 1] - p->at[0]) / 1e3);
	fprintf(stderr, "%s\n", line);
}

void ukvm_tmpl_get(struct ukvm_tmpl *t)
{
	atomic_fetch_add(&t->refs, 1);
}

void ukvm_tmpl_put(struct ukvm_tmpl *t)
{
	if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static struct ukvm_tmpl *tmpl_new(struct ukvm_fork_mon *fm)
{
	struct ukvm_tmpl *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	atomic_init(&t->refs, 1);
	t->fd = -1;
	t->id = atomic_fetch_add(&fm->next_tmpl_id, 1) + 1;
	return t;
}

struct ukvm_fork_mon *ukvm_fork_mon(struct ukvm *m, char *err, size_t errlen)
{
	struct ukvm_fork_mon *fm;

	pthread_mutex_lock(&m->lock);
	fm = m->templates;
	if (fm) {
		pthread_mutex_unlock(&m->lock);
		return fm;
	}
	fm = calloc(1, sizeof(*fm));
	if (!fm)
		goto nomem;
	pthread_mutex_init(&fm->lock, NULL);
	fm->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fm->pagemap_fd < 0) {
		ukvm_seterr(err, errlen, "/proc/self/pagemap: %s",
			    strerror(errno));
		free(fm);
		pthread_mutex_unlock(&m->lock);
		return NULL;
	}
	fm->pool = ukvm_shell_pool_create_ex(m->kvm_fd, UKVM_SHELL_POOL, 4,
					     err, errlen);
	if (!fm->pool) {
		close(fm->pagemap_fd);
		free(fm);
		pthread_mutex_unlock(&m->lock);
		return NULL;
	}
	fm->trace = getenv("UKVM_FORK_TRACE") != NULL;
	m->templates = fm;
	pthread_mutex_unlock(&m->lock);
	return fm;
nomem:
	pthread_mutex_unlock(&m->lock);
	ukvm_seterr(err, errlen, "out of memory");
	return NULL;
}

void ukvm_templates_free(struct ukvm *m)
{
	struct ukvm_fork_mon *fm;

	pthread_mutex_lock(&m->lock);
	fm = m->templates;
	m->templates = NULL;
	pthread_mutex_unlock(&m->lock);
	if (!fm)
		return;
	for (uint32_t i = 0; i < fm->napps; i++)
		ukvm_tmpl_put(fm->by_app[i]);
	free(fm->by_app);
	ukvm_shell_pool_destroy(&fm->pool);
	close(fm->pagemap_fd);
	pthread_mutex_destroy(&fm->lock);
	free(fm);
	m->templates = NULL;
}

static void fork_release(struct ukvm_vm *vm)
{
	struct ukvm_fork_vm *fv = vm->fork_state;

	if (!fv)
		return;
	ukvm_tmpl_put(fv->tmpl);
	free(fv);
	vm->fork_state = NULL;
}

struct ukvm_fork_vm *ukvm_fork_vm(struct ukvm_vm *vm)
{
	if (!vm->fork_state) {
		struct ukvm_fork_vm *fv = calloc(1, sizeof(*fv));

		if (!fv)
			return NULL;
		vm->fork_state = fv;
		vm->fork_release = fork_release;
	}
	return vm->fork_state;
}

struct ukvm_tmpl *ukvm_tmpl_lookup(struct ukvm *m, uint32_t app)
{
	struct ukvm_fork_mon *fm = m->templates;
	struct ukvm_tmpl *t = NULL;

	if (!fm)
		return NULL;
	pthread_mutex_lock(&fm->lock);
	if (app < fm->napps && fm->by_app[app]) {
		t = fm->by_app[app];
		ukvm_tmpl_get(t);
	}
	pthread_mutex_unlock(&fm->lock);
	return t;
}

/* Put t in the store as app's template (takes a new reference). */
static int store_set(struct ukvm_fork_mon *fm, uint32_t app,
		     struct ukvm_tmpl *t)
{
	struct ukvm_tmpl *old = NULL;

	pthread_mutex_lock(&fm->lock);
	if (app >= fm->napps) {
		uint32_t n = app + 16;
		struct ukvm_tmpl **p = realloc(fm->by_app, n * sizeof(*p));

		if (!p) {
			pthread_mutex_unlock(&fm->lock);
			return -ENOMEM;
		}
		memset(p + fm->napps, 0, (n - fm->napps) * sizeof(*p));
		fm->by_app = p;
		fm->napps = n;
	}
	old = fm->by_app[app];
	if (t)
		ukvm_tmpl_get(t);
	fm->by_app[app] = t;
	pthread_mutex_unlock(&fm->lock);
	ukvm_tmpl_put(old);
	return 0;
}

int ukvm_vm_dirty(struct ukvm_vm *vm, uint64_t *bitmap, uint64_t *n,
		  char *err, size_t errlen)
{
	struct ukvm_fork_mon *fm = ukvm_fork_mon(vm->mon, err, errlen);

	if (!fm)
		return -ENOMEM;
	return ukvm_cow_dirty_scan(fm->pagemap_fd, vm->mem, vm->mem_size,
				   bitmap, n, err, errlen);
}

uint64_t ukvm_dirty_pages(struct ukvm_vm *vm)
{
	struct ukvm_fork_vm *fv = vm->fork_state;
	uint64_t *bm, n = 0;
	char err[160];
	int pm;

	/* Only meaningful (and only cheap) for a private map of a template. */
	if (!fv || !fv->tmpl || !vm->mem || !vm->mem_private)
		return 0;
	/* Own fd: called from vCPU threads, also while the monitor's fork
	 * state is being freed at destroy. */
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	bm = malloc((vm->mem_size / UKF_PAGE_SIZE + 63) / 64 * 8);
	if (pm >= 0 && bm &&
	    ukvm_cow_dirty_scan(pm, vm->mem, vm->mem_size, bm, &n, err,
				sizeof(err)))
		n = 0;
	free(bm);
	if (pm >= 0)
		close(pm);
	return n;
}

struct ukvm_tmpl *ukvm_tmpl_freeze(struct ukvm_vm *vm, int fresh, char *err,
				   size_t errlen)
{
	struct ukvm_fork_mon *fm = ukvm_fork_mon(vm->mon, err, errlen);
	struct ukvm_fork_vm *fv;
	struct ukvm_tmpl *t;
	char why[200];
	int rc;

	if (!fm)
		return NULL;
	fv = ukvm_fork_vm(vm);
	if (!fv) {
		ukvm_seterr(err, errlen, "out of memory");
		return NULL;
	}
	if (fv->tmpl && !fresh)
		return fv->tmpl;
	t = tmpl_new(fm);
	if (!t) {
		ukvm_seterr(err, errlen, "out of memory");
		return NULL;
	}
	t->mem_size = vm->mem_size;
	t->app = vm->app;
	/* Zero copy: the VM's own memfd becomes the template. */
	rc = -EINVAL;
	if (vm->mem_fd >= 0 && !vm->mem_private)
		rc = ukvm_cow_seal_in_place(vm->mem_fd, vm->mem, vm->mem_size,
					    why, sizeof(why));
	if (rc == 0) {
		t->fd = vm->mem_fd;
		vm->mem_fd = -1; /* the template owns the fd now */
	} else {
		/* Copy, then continue as a private map of the copy. */
		rc = ukvm_cow_freeze_copy(vm->mem, vm->mem_size, "ukf-template",
					  &t->fd, why, sizeof(why));
		if (rc == 0 &&
		    ukvm_cow_map(t->fd, vm->mem_size, vm->mem) == MAP_FAILED) {
			/* MAP_FIXED failed: the old mapping is intact. */
			rc = -errno;
			snprintf(why, sizeof(why), "remap guest memory: %s",
				 strerror(errno));
		}
		if (rc) {
			ukvm_seterr(err, errlen,
				    "template of instance %llu: %s",
				    (unsigned long long)vm->inst, why);
			ukvm_tmpl_put(t);
			return NULL;
		}
		if (vm->mem_fd >= 0) {
			close(vm->mem_fd);
			vm->mem_fd = -1;
		}
	}
	vm->mem_private = 1;
	ukvm_tmpl_put(fv->tmpl); /* a fresh one replaces the old */
	fv->tmpl = t;            /* the VM's reference */
	return t;
}

/* pread the whole of [off, off+len) (shmem holes read as zeros, unallocated). */
static int read_full(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

uint32_t ukvm_tmpl_crc(struct ukvm_tmpl *t)
{
	uint32_t c = __atomic_load_n(&t->crc, __ATOMIC_ACQUIRE);
	const size_t chunk = 1 << 20;
	uint8_t *buf;

	if (c)
		return c;
	buf = malloc(chunk);
	if (!buf)
		return 0;
	for (uint64_t off = 0; off < t->mem_size; off += chunk) {
		size_t n = t->mem_size - off < chunk ? t->mem_size - off : chunk;

		if (read_full(t->fd, buf, n, (off_t)off)) {
			free(buf);
			return 0;
		}
		/* The boot info page differs per instance: left out. */
		if (off <= UKF_BOOTINFO_GPA && UKF_BOOTINFO_GPA < off + n)
			memset(buf + (UKF_BOOTINFO_GPA - off), 0, UKF_PAGE_SIZE);
		c = ukvm_crc32c(c, buf, n);
	}
	free(buf);
	if (!c)
		c = 1; /* 0 means "not computed" / "no template" */
	__atomic_store_n(&t->crc, c, __ATOMIC_RELEASE);
	return c;
}

void ukvm_meta_capture(struct ukvm_vm *vm, uint32_t pause,
		       struct ukvm_snap_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->size = sizeof(*m);
	m->pause = pause;
	m->mem_size = vm->mem_size;
	m->instance_id = vm->inst;
	m->parent_id = vm->parent;
	m->app = vm->app;
	m->args_gpa = vm->pending_gpa;
	/* A template clone still paused in its first ready(): the monitor
	 * holds no address for it (see ukvm_clone_template). */
	if (!m->args_gpa && vm->fork_state)
		m->args_gpa = ((struct ukvm_fork_vm *)vm->fork_state)->ready_gpa;
	m->boot_ns = (uint64_t)vm->boot_ns;
	m->guest_ns = (uint64_t)(ukvm_now() - vm->boot_ns);
}

void ukvm_meta_apply(struct ukvm_vm *vm, const struct ukvm_snap_meta *m,
		     ukf_id_t parent)
{
	vm->app = (uint32_t)m->app;
	vm->parent = parent;
	vm->boot_ns = ukvm_now() - (ukf_ns_t)m->guest_ns;
}

/* Fill t's vCPU state and meta from vm, paused in call hc at gpa. */
static int tmpl_capture(struct ukvm_tmpl *t, struct ukvm_vm *vm,
			uint32_t pause, char *err, size_t errlen)
{
	int rc = ukvm_snap_vcpu_quiesce(vm->vcpu_fd, vm->run);

	if (rc) {
		ukvm_seterr(err, errlen, "completing the ready() call: %s",
			    strerror(-rc));
		return rc;
	}
	rc = ukvm_snap_vcpu_save(vm->vcpu_fd, &t->vcpu, err, errlen);
	if (rc)
		return rc;
	ukvm_meta_capture(vm, pause, &t->meta);
	memcpy(t->args, vm->args, sizeof(t->args));
	return 0;
}

int ukvm_make_template(void *b, ukf_node_id_t node, ukf_id_t inst,
		       uint32_t app)
{
	struct ukvm *m = b;
	struct ukvm_vm *vm = ukvm_vm_find(m, inst);
	struct ukvm_fork_mon *fm;
	struct ukvm_tmpl *t;
	struct ukf_be_event ev;
	char err[300];
	int rc = 0;

	if (!vm)
		return -ESRCH;
	fm = ukvm_fork_mon(m, err, sizeof(err));
	if (!fm) {
		ukvm_vm_put(vm);
		return -ENOMEM;
	}
	pthread_mutex_lock(&vm->lock);
	if (vm->state != UKVM_VM_READY || vm->answered || !vm->mem) {
		pthread_mutex_unlock(&vm->lock);
		ukvm_vm_put(vm);
		return -EINVAL; /* not paused in ready() */
	}
	/*
	 * A template is the state at ready(). An instance that is already a
	 * private map of some template (a clone) gets a fresh one holding its
	 * current bytes (copied); a cold-booted one is sealed in place.
	 */
	struct ukvm_phases ph = { 0 }, *php = fm->trace ? &ph : NULL;

	ukvm_phase(php, "start");
	t = ukvm_tmpl_freeze(vm, 1, err, sizeof(err));
	ukvm_phase(php, "freeze");
	if (t && (rc = tmpl_capture(t, vm, UKVM_PAUSE_READY, err,
				    sizeof(err))) == 0) {
		ukvm_phase(php, "capture");
		if (php)
			ukvm_phases_print(php, "make_template", inst);
		t->app = app;
		t->meta.app = app;
		rc = store_set(fm, app, t);
	} else if (!t) {
		rc = -EIO;
	}
	pthread_mutex_unlock(&vm->lock);
	memset(&ev, 0, sizeof(ev));
	if (!rc) {
		ev.kind = UKF_BE_TEMPLATE;
		ev.app = app;
		ev.bytes = t->mem_size;
	}
	ukvm_emit_outcome(vm, &ev, rc, err);
	ukvm_vm_put(vm);
	return 0;
}

void ukvm_clone_bootinfo(struct ukvm_vm *vm, const char *args,
			 ukf_id_t parent)
{
	struct ukf_bootinfo *bi;
	size_t n = strnlen(args, UKF_ARGS_MAX - 1);

	if (vm->mem_size < UKF_BOOTINFO_GPA + sizeof(*bi))
		return;
	bi = (struct ukf_bootinfo *)(vm->mem + UKF_BOOTINFO_GPA);
	bi->instance_id = vm->inst;
	bi->parent_id = parent;
	bi->flags |= UKF_BOOT_CLONE;
	memcpy(bi->args, args, n);
	bi->args[n] = 0;
	bi->args_len = (uint32_t)n;
}

__thread struct ukvm_phases *ukvm_cur_phases;

/*
 * vm->shell_recycle: called by the monitor when a VM's KVM objects are
 * released. A clone's shell (VM, vCPU, memslot over vm->mem) goes back to
 * the pool: the dead guest's pending I/O is completed, its memory dropped
 * (the range becomes an empty reservation again, memslot unchanged).
 */
static void shell_recycle(struct ukvm_vm *vm)
{
	struct ukvm *m = vm->mon;
	struct ukvm_fork_mon *fm;
	struct ukvm_shell sh;
	int kept = 0;

	if (vm->vm_fd < 0 || vm->vcpu_fd < 0 || !vm->run || !vm->mem)
		return;
	if (ukvm_snap_vcpu_quiesce(vm->vcpu_fd, vm->run))
		return;
	if (mmap(vm->mem, vm->mem_size, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
		 0) == MAP_FAILED)
		return;
	sh.vm_fd = vm->vm_fd;
	sh.vcpu_fd = vm->vcpu_fd;
	sh.run = vm->run;
	sh.run_size = vm->run_size;
	sh.mem = vm->mem;
	sh.mem_size = vm->mem_size;
	/* Under the monitor lock: ukvm_templates_free cannot free the pool
	 * between our look and our put. */
	pthread_mutex_lock(&m->lock);
	fm = m->templates;
	if (fm && ukvm_shell_put(fm->pool, &sh) == 0)
		kept = 1;
	pthread_mutex_unlock(&m->lock);
	if (kept) {
		vm->vm_fd = vm->vcpu_fd = -1;
		vm->run = NULL;
		vm->mem = NULL;
	}
}

int ukvm_clone_build(struct ukvm_vm *vm, struct ukvm_tmpl *t,
		     const struct ukvm_snap_vcpu *st, char *err, size_t errlen)
{
	struct ukvm_phases *ph = ukvm_cur_phases;
	struct ukvm_fork_mon *fm = ukvm_fork_mon(vm->mon, err, errlen);
	struct ukvm_fork_vm *fv = ukvm_fork_vm(vm);
	struct ukvm_shell sh;
	int rc;

	if (!fm || !fv) {
		if (fm)
			ukvm_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (t->mem_size != vm->mem_size) {
		ukvm_seterr(err, errlen,
			    "template has %llu bytes of memory, instance %llu",
			    (unsigned long long)t->mem_size,
			    (unsigned long long)vm->mem_size);
		return -EINVAL;
	}
	rc = ukvm_shell_get_mem(fm->pool, vm->mem_size, &sh, err, errlen);
	if (rc == -EMFILE || rc == -ENFILE)
		rc = -EAGAIN; /* out of fds: a node limit, try again later */
	if (rc)
		return rc;
	ukvm_phase(ph, "shell");
	/* The VM owns the shell from here (release_resources frees it). */
	vm->vm_fd = sh.vm_fd;
	vm->vcpu_fd = sh.vcpu_fd;
	vm->run = sh.run;
	vm->run_size = sh.run_size;
	/* Guest memory over the range memslot 0 already points at. */
	if (ukvm_cow_map(t->fd, t->mem_size, sh.mem) == MAP_FAILED) {
		rc = -errno;
		ukvm_seterr(err, errlen, "map template: %s", strerror(errno));
		munmap(sh.mem, sh.mem_size);
		return rc;
	}
	vm->mem = sh.mem;
	vm->mem_private = 1;
	vm->shell_recycle = shell_recycle;
	ukvm_tmpl_get(t);
	fv->tmpl = t;
	ukvm_phase(ph, "map");
	rc = ukvm_snap_vcpu_restore(vm->vcpu_fd, st, err, errlen);
	ukvm_phase(ph, "vcpu");
	return rc;
}

/* Write a call's int64 ret into the clone's own copy of its struct. */
int ukvm_clone_write_ret(struct ukvm_vm *vm, ukf_gpa_t gpa, int64_t ret)
{
	uint8_t *a = ukvm_gpa(vm, gpa, sizeof(ret), 1);

	if (!a)
		return -EFAULT;
	memcpy(a, &ret, sizeof(ret));
	return 0;
}

/* Undo a VM that was never launched: out of the table, freed. */
void ukvm_clone_unbuilt_free(struct ukvm *m, struct ukvm_vm *vm)
{
	struct ukvm_vm *u = ukvm_vm_unlink(m, vm->inst);

	if (u)
		ukvm_vm_put(u);
}

int ukvm_clone_template(void *b, ukf_node_id_t node, ukf_id_t inst,
			const struct ukf_app *app, const char *args)
{
	struct ukvm *m = b;
	struct ukvm_tmpl *t = ukvm_tmpl_lookup(m, app->id);
	struct ukvm_vm *vm;
	char err[300];
	int rc;

	if (!t)
		return -ENOENT;
	if (!args)
		args = "";
	if (strlen(args) >= UKF_ARGS_MAX) {
		ukvm_tmpl_put(t);
		return -EINVAL;
	}
	struct ukvm_fork_mon *fm = m->templates;
	struct ukvm_phases ph = { 0 }, *php = fm && fm->trace ? &ph : NULL;

	ukvm_phase(php, "start");
	rc = ukvm_vm_new(m, inst, t->mem_size, &vm);
	if (rc) {
		ukvm_tmpl_put(t);
		return rc;
	}
	ukvm_phase(php, "new");
	ukvm_cur_phases = php;
	ukvm_meta_apply(vm, &t->meta, 0);
	vm->app = app->id;
	snprintf(vm->args, sizeof(vm->args), "%s", args);
	rc = ukvm_clone_build(vm, t, &t->vcpu, err, sizeof(err));
	if (rc == 0) {
		ukvm_clone_bootinfo(vm, vm->args, 0);
		rc = ukvm_clone_write_ret(vm, t->meta.args_gpa, 1);
	}
	if (rc == 0) {
		/* ready() returns 1 here; complete() must not overwrite it. */
		vm->pending_hc = UKF_HC_READY;
		vm->pending_gpa = 0;
		((struct ukvm_fork_vm *)vm->fork_state)->ready_gpa =
			t->meta.args_gpa;
		vm->start_in_ready = 1;
		ukvm_phase(php, "boot+ret");
		rc = ukvm_vm_launch(vm);
		ukvm_phase(php, "launch");
	}
	ukvm_cur_phases = NULL;
	if (php)
		ukvm_phases_print(php, "clone_template", inst);
	ukvm_tmpl_put(t);
	if (rc)
		ukvm_clone_unbuilt_free(m, vm);
	return rc;
}

void ukvm_drop_template(void *b, ukf_node_id_t node, uint32_t app)
{
	struct ukvm *m = b;
	struct ukvm_fork_mon *fm = m->templates;

	if (fm)
		store_set(fm, app, NULL);
}

/* --- on disk --- */

static int tmpl_encode(struct ukvm_tmpl *t, const char *name,
		       struct ukvm_snap_buf *out)
{
	uint8_t *mem = malloc(t->mem_size);
	struct ukvm_snap_meta meta = t->meta;
	int rc;

	if (!mem)
		return -ENOMEM;
	rc = read_full(t->fd, mem, t->mem_size, 0);
	if (rc) {
		free(mem);
		return rc;
	}
	memset(out, 0, sizeof(*out));
	ukvm_snap_begin(out, UKVM_SNAP_TEMPLATE);
	if (name)
		snprintf(meta.app_name, sizeof(meta.app_name), "%s", name);
	ukvm_snap_meta_encode(out, &meta);
	ukvm_snap_vcpu_encode(out, &t->vcpu);
	ukvm_snap_add(out, UKVM_SEC_ARGS, t->args, strlen(t->args) + 1);
	ukvm_snap_add_pages(out, mem, t->mem_size, NULL, NULL);
	rc = ukvm_snap_finish(out);
	free(mem);
	if (rc)
		ukvm_snap_buf_free(out);
	return rc;
}

int ukvm_template_encode(ukvm_t *m, uint32_t app, struct ukvm_snap_buf *out)
{
	struct ukvm_tmpl *t = ukvm_tmpl_lookup(m, app);
	int rc;

	if (!t)
		return -ENOENT;
	rc = tmpl_encode(t, NULL, out);
	ukvm_tmpl_put(t);
	return rc;
}

int ukvm_template_save(ukvm_t *m, uint32_t app, const char *path, char *err,
		       size_t errlen)
{
	return ukvm_template_save_as(m, app, NULL, path, err, errlen);
}

int ukvm_template_save_as(ukvm_t *m, uint32_t app, const char *name,
			  const char *path, char *err, size_t errlen)
{
	struct ukvm_snap_buf b;
	struct ukvm_tmpl *t = ukvm_tmpl_lookup(m, app);
	int rc = -ENOENT;

	if (t) {
		rc = tmpl_encode(t, name, &b);
		ukvm_tmpl_put(t);
	}
	if (rc) {
		ukvm_seterr(err, errlen, "template of app %u: %s", app,
			    rc == -ENOENT ? "none on this node"
					  : strerror(-rc));
		return rc;
	}
	rc = ukvm_snap_write_file(path, b.data, b.len, err, errlen);
	ukvm_snap_buf_free(&b);
	return rc;
}

int ukvm_template_install(ukvm_t *m, uint32_t app, const void *data,
			  size_t len, char *err, size_t errlen)
{
	struct ukvm_fork_mon *fm = ukvm_fork_mon(m, err, errlen);
	struct ukvm_snap_reader r;
	struct ukvm_tmpl *t;
	const void *a;
	size_t alen;
	int rc;

	if (!fm)
		return -ENOMEM;
	if (!data) {
		ukvm_seterr(err, errlen, "no template data");
		return -EINVAL;
	}
	rc = ukvm_snap_open(&r, data, len, err, errlen);
	if (rc)
		return rc;
	if (r.kind != UKVM_SNAP_TEMPLATE) {
		ukvm_seterr(err, errlen, "snapshot is not a template (kind %u)",
			    r.kind);
		return -EINVAL;
	}
	t = tmpl_new(fm);
	if (!t) {
		ukvm_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((rc = ukvm_snap_meta_decode(&r, &t->meta, err, errlen)) ||
	    (rc = ukvm_snap_vcpu_decode(&r, &t->vcpu, err, errlen)))
		goto fail;
	if (t->meta.pause != UKVM_PAUSE_READY) {
		ukvm_seterr(err, errlen, "template not taken in ready()");
		rc = -EINVAL;
		goto fail;
	}
	if (ukvm_snap_find(&r, UKVM_SEC_ARGS, &a, &alen) == 0 && alen &&
	    alen <= sizeof(t->args) && ((const char *)a)[alen - 1] == 0)
		memcpy(t->args, a, alen);
	t->mem_size = t->meta.mem_size;
	t->app = app;
	t->meta.app = app;
	t->fd = memfd_create("ukf-template", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (t->fd < 0 || ftruncate(t->fd, (off_t)t->mem_size) < 0) {
		rc = -errno;
		ukvm_seterr(err, errlen, "template memory: %s",
			    strerror(errno));
		goto fail;
	}
	rc = ukvm_snap_apply_pages(&r, NULL, t->fd, t->mem_size, NULL, err,
				   errlen);
	if (rc)
		goto fail;
	if (fcntl(t->fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
				      F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		rc = -errno;
		ukvm_seterr(err, errlen, "F_ADD_SEALS: %s", strerror(errno));
		goto fail;
	}
	rc = store_set(fm, app, t);
fail:
	ukvm_tmpl_put(t);
	return rc;
}

int ukvm_template_load_file(ukvm_t *m, uint32_t app, const char *path,
			    char *err, size_t errlen)
{
	void *data;
	size_t len;
	char why[300];
	int rc = ukvm_snap_read_file(path, &data, &len, err, errlen);

	if (rc)
		return rc;
	rc = ukvm_template_install(m, app, data, len, why, sizeof(why));
	if (rc)
		ukvm_seterr(err, errlen, "%s: %s", path, why);
	free(data);
	return rc;
}

int ukvm_load_template(void *b, ukf_node_id_t node, uint32_t app,
		       const void *data, size_t bytes)
{
	struct ukvm *m = b;
	struct ukf_be_event ev;
	char err[300];
	int rc;

	if (!data)
		return -EINVAL; /* a real node needs the bytes */
	rc = ukvm_template_install(m, app, data, bytes, err, sizeof(err));
	if (rc)
		return rc; /* refused at once, with no event */
	memset(&ev, 0, sizeof(ev));
	ev.kind = UKF_BE_TEMPLATE;
	ev.app = app;
	ev.bytes = bytes;
	ev.at = ukvm_now();
	m->cfg.event(m->cfg.u, m->cfg.node, &ev);
	return 0;
}
