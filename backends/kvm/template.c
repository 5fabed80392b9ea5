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
	pthread_mutex_destroy(&t->crc_lock);
	free(t);
}

static struct ukvm_tmpl *tmpl_new(struct ukvm_fork_mon *fm)
{
	struct ukvm_tmpl *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	atomic_init(&t->refs, 1);
	pthread_mutex_init(&t->crc_lock, NULL);
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
		ukf_seterr(err, errlen, "/proc/self/pagemap: %s",
			    strerror(errno));
		free(fm);
		pthread_mutex_unlock(&m->lock);
		return NULL;
	}
	/*
	 * One refill thread per two CPUs, 1 to 4: four on this project's
	 * 2-core kvm_pvm machine made the forks just after a first fork at a
	 * size wait on their VM creations (held-out.lua's fork p95 4.5 ms
	 * with 4 threads, 3.6 with 2, 2.9 with 1; ukvm-bench-fork's
	 * sustained clones 1320/s with 4, 1740/s with 1).
	 */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned nthreads = ncpu >= 8 ? 4 : ncpu >= 4 ? (unsigned)ncpu / 2 : 1;

	fm->pool = ukvm_shell_pool_create_ex(m->kvm_fd, UKVM_SHELL_POOL,
					     nthreads,
					     UKVM_POOL_LAZY | UKVM_POOL_BATCH |
						     UKVM_POOL_SETTLE,
					     err, errlen);
	if (!fm->pool) {
		close(fm->pagemap_fd);
		free(fm);
		pthread_mutex_unlock(&m->lock);
		return NULL;
	}
	{
		/* for comparisons: UKVM_POOL_SETTLE_MS=0 replaces each shell
		 * taken at once, as before the settle time */
		const char *e = getenv("UKVM_POOL_SETTLE_MS");
		char *end;
		unsigned long ms;

		if (e && *e) {
			errno = 0;
			ms = strtoul(e, &end, 10);
			if (!errno && !*end && ms <= 60000)
				ukvm_shell_pool_set_settle(
					fm->pool, (uint64_t)ms * 1000000ULL);
			else
				fprintf(stderr,
					"ukvm: UKVM_POOL_SETTLE_MS=%s ignored "
					"(want 0-60000 ms)\n", e);
		}
	}
	fm->trace = getenv("UKVM_FORK_TRACE") != NULL;
	m->templates = fm;
	pthread_mutex_unlock(&m->lock);
	return fm;
nomem:
	pthread_mutex_unlock(&m->lock);
	ukf_seterr(err, errlen, "out of memory");
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
	if (fv->pagemap_fd >= 0)
		close(fv->pagemap_fd);
	free(fv);
	vm->fork_state = NULL;
}

struct ukvm_fork_vm *ukvm_fork_vm(struct ukvm_vm *vm)
{
	if (!vm->fork_state) {
		struct ukvm_fork_vm *fv = calloc(1, sizeof(*fv));

		if (!fv)
			return NULL;
		/* before any template is set on it: ukvm_dirty_pages runs
		 * on the (filtered) vCPU thread and cannot open files */
		fv->pagemap_fd = open("/proc/self/pagemap",
				      O_RDONLY | O_CLOEXEC);
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
	/* The VM's own fd (ukvm_fork_vm): called from vCPU threads, whose
	 * seccomp filter forbids open, also while the monitor's fork state
	 * is being freed at destroy. */
	pm = fv->pagemap_fd;
	bm = malloc((vm->mem_size / UKF_PAGE_SIZE + 63) / 64 * 8);
	if (pm >= 0 && bm &&
	    ukvm_cow_dirty_scan(pm, vm->mem, vm->mem_size, bm, &n, err,
				sizeof(err)))
		n = 0;
	free(bm);
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
		ukf_seterr(err, errlen, "out of memory");
		return NULL;
	}
	if (fv->tmpl && !fresh)
		return fv->tmpl;
	t = tmpl_new(fm);
	if (!t) {
		ukf_seterr(err, errlen, "out of memory");
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
			ukf_seterr(err, errlen,
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

/*
 * The next stretch of fd's data in [off, end): *data, its start (end:
 * none left), and *hole, where it stops (SEEK_DATA / SEEK_HOLE; without
 * hole information all of [off, end) is data).
 */
static void next_data(int fd, uint64_t off, uint64_t end, uint64_t *data,
		      uint64_t *hole)
{
	off_t d = lseek(fd, (off_t)off, SEEK_DATA);

	*data = off;
	*hole = end;
	if (d >= 0)
		*data = (uint64_t)d < end ? (uint64_t)d : end;
	else if (errno == ENXIO)
		*data = end; /* nothing but holes from off on */
	if (*data >= end)
		return;
	d = lseek(fd, (off_t)*data, SEEK_HOLE);
	if (d > 0 && (uint64_t)d > *data && (uint64_t)d < end)
		*hole = (uint64_t)d;
}

/*
 * ukvm_crc32c continued from *crc over [off, end) of fd as a template's
 * memory: the boot info page as zeros (it differs per instance), holes
 * (pages never written: SEEK_DATA / SEEK_HOLE) as zeros without reading
 * them, data read in 64 KiB steps (a buffer that stays in cache; the whole
 * of a 24 MiB template in one step took ~1.5x as long here). off, end and
 * the holes are page-aligned. 0, or -errno with *crc unchanged.
 */
static int crc_fd(int fd, uint64_t off, uint64_t end, uint32_t *crc)
{
	const size_t chunk = 64 << 10;
	uint8_t *buf = malloc(chunk);
	uint32_t c = *crc;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	while (off < end && !rc) {
		uint64_t data, hole;

		next_data(fd, off, end, &data, &hole);
		if (data > off) {
			c = ukvm_crc32c_zeros(c, data - off);
			off = data;
			continue;
		}
		while (off < hole) {
			size_t n = hole - off < chunk ? (size_t)(hole - off) : chunk;

			if ((rc = read_full(fd, buf, n, (off_t)off)))
				break;
			if (off <= UKF_BOOTINFO_GPA &&
			    UKF_BOOTINFO_GPA + UKF_PAGE_SIZE <= off + n)
				memset(buf + (UKF_BOOTINFO_GPA - off), 0,
				       UKF_PAGE_SIZE);
			c = ukvm_crc32c(c, buf, n);
			off += n;
		}
	}
	free(buf);
	if (!rc)
		*crc = c; /* never a partial one */
	return rc;
}

uint32_t ukvm_tmpl_crc(struct ukvm_tmpl *t)
{
	uint32_t c = __atomic_load_n(&t->crc, __ATOMIC_ACQUIRE);

	if (c)
		return c;
	/* the CRC worker may be at it: wait for its result, not redo it */
	pthread_mutex_lock(&t->crc_lock);
	c = __atomic_load_n(&t->crc, __ATOMIC_ACQUIRE);
	if (!c && crc_fd(t->fd, 0, t->mem_size, &c) == 0) {
		if (!c)
			c = 1; /* 0 means "not computed" / "no template" */
		__atomic_store_n(&t->crc, c, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&t->crc_lock);
	return c;
}

static void *crc_worker_main(void *arg)
{
	struct ukvm *m = arg;

	pthread_mutex_lock(&m->crcq_lock);
	for (;;) {
		while (!m->crcq_stop && !m->crcq_n)
			pthread_cond_wait(&m->crcq_cond, &m->crcq_lock);
		if (m->crcq_stop)
			break;
		struct ukvm_tmpl *t = m->crcq[m->crcq_head];
		m->crcq_head = (m->crcq_head + 1) % UKVM_CRCQ;
		m->crcq_n--;
		pthread_mutex_unlock(&m->crcq_lock);
		(void)ukvm_tmpl_crc(t);
		ukvm_tmpl_put(t);
		pthread_mutex_lock(&m->crcq_lock);
	}
	pthread_mutex_unlock(&m->crcq_lock);
	return NULL;
}

int ukvm_crc_worker_start(struct ukvm *m, int thread)
{
	pthread_mutex_init(&m->crcq_lock, NULL);
	pthread_cond_init(&m->crcq_cond, NULL);
	m->crcq_head = m->crcq_n = 0;
	m->crcq_stop = 0;
	m->crcq_on = thread && pthread_create(&m->crcq_thread, NULL,
					      crc_worker_main, m) == 0;
	return m->crcq_on || !thread ? 0 : -EAGAIN;
}

void ukvm_crc_worker_stop(struct ukvm *m)
{
	pthread_mutex_lock(&m->crcq_lock);
	m->crcq_stop = 1;
	pthread_cond_broadcast(&m->crcq_cond);
	pthread_mutex_unlock(&m->crcq_lock);
	if (m->crcq_on)
		pthread_join(m->crcq_thread, NULL);
	m->crcq_on = 0;
	while (m->crcq_n) {
		ukvm_tmpl_put(m->crcq[m->crcq_head]);
		m->crcq_head = (m->crcq_head + 1) % UKVM_CRCQ;
		m->crcq_n--;
	}
	pthread_cond_destroy(&m->crcq_cond);
	pthread_mutex_destroy(&m->crcq_lock);
}

/* Queue t (a new template of this monitor) for the CRC worker. */
static void crc_worker_push(struct ukvm *m, struct ukvm_tmpl *t)
{
	pthread_mutex_lock(&m->crcq_lock);
	if (m->crcq_on && !m->crcq_stop && m->crcq_n < UKVM_CRCQ) {
		ukvm_tmpl_get(t);
		m->crcq[(m->crcq_head + m->crcq_n) % UKVM_CRCQ] = t;
		m->crcq_n++;
		pthread_cond_signal(&m->crcq_cond);
	}
	pthread_mutex_unlock(&m->crcq_lock);
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
	snprintf(m->app_name, sizeof(m->app_name), "%s", vm->app_name);
	memcpy(m->image_sha256, vm->image_sha256, sizeof(m->image_sha256));
}

void ukvm_meta_apply(struct ukvm_vm *vm, const struct ukvm_snap_meta *m,
		     ukf_id_t parent)
{
	vm->app = (uint32_t)m->app;
	vm->parent = parent;
	vm->boot_ns = ukvm_now() - (ukf_ns_t)m->guest_ns;
	snprintf(vm->app_name, sizeof(vm->app_name), "%s", m->app_name);
	memcpy(vm->image_sha256, m->image_sha256, sizeof(vm->image_sha256));
}

/* Fill t's vCPU state and meta from vm, paused in call hc at gpa. */
static int tmpl_capture(struct ukvm_tmpl *t, struct ukvm_vm *vm,
			uint32_t pause, char *err, size_t errlen)
{
	int rc = ukvm_snap_vcpu_quiesce(vm->vcpu_fd, vm->run);

	if (rc) {
		ukf_seterr(err, errlen, "completing the ready() call: %s",
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

/* A template with no app name in its meta gets the one this monitor
 * knows its app by (if any), so its bytes name the app. */
static void tmpl_stamp_name(struct ukvm *m, struct ukvm_tmpl *t)
{
	struct ukvm_app_ident id;

	if (!t->meta.app_name[0] && ukvm_app_ident(m, t->app, &id) == 0)
		snprintf(t->meta.app_name, sizeof(t->meta.app_name), "%s",
			 id.name);
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
		tmpl_stamp_name(m, t);
		rc = store_set(fm, app, t);
		if (!rc)
			ukvm_tmpl_get(t); /* for the CRC worker, below */
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
	if (!rc) {
		crc_worker_push(m, t);
		ukvm_tmpl_put(t);
	}
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
			ukf_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (t->mem_size != vm->mem_size) {
		ukf_seterr(err, errlen,
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
		ukf_seterr(err, errlen, "map template: %s", strerror(errno));
		munmap(sh.mem, sh.mem_size);
		return rc;
	}
	vm->mem = sh.mem;
	vm->mem_private = 1;
	vm->shell_recycle = shell_recycle;
	ukvm_tmpl_get(t);
	fv->tmpl = t;
	ukvm_phase(ph, "map");
	/* every state a clone starts from: a template's, a fork parent's, a
	 * delta's (checked when parsed too, for a clearer error) */
	rc = ukvm_snap_vcpu_check(st, err, errlen);
	if (rc == 0)
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
	ukvm_app_note(m, app);
	ukvm_cur_phases = php;
	ukvm_meta_apply(vm, &t->meta, 0);
	vm->app = app->id;
	if (!vm->app_name[0]) /* a template saved before names were kept */
		snprintf(vm->app_name, sizeof(vm->app_name), "%s", app->name);
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
	/* zero (ukf_big_calloc: huge pages with UKF_THP=1); only the
	 * memfd's data read into it, holes stay zero */
	uint8_t *mem = ukf_big_calloc(t->mem_size);
	struct ukvm_snap_meta meta = t->meta;
	uint64_t off = 0, data, hole;
	int rc = 0;

	if (!mem)
		return -ENOMEM;
	while (off < t->mem_size && !rc) {
		next_data(t->fd, off, t->mem_size, &data, &hole);
		if (data < hole)
			rc = read_full(t->fd, mem + data, hole - data,
				       (off_t)data);
		off = hole;
	}
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
		ukf_seterr(err, errlen, "template of app %u: %s", app,
			    rc == -ENOENT ? "none on this node"
					  : strerror(-rc));
		return rc;
	}
	rc = ukvm_snap_write_file(path, b.data, b.len, err, errlen);
	ukvm_snap_buf_free(&b);
	return rc;
}

/* A template snapshot read and checked, not installed yet. */
struct tmpl_parsed {
	struct ukvm_snap_reader r;
	struct ukvm_snap_meta meta;
	struct ukvm_snap_vcpu vcpu;
	char args[UKF_ARGS_MAX];
};

/*
 * Validate data[0..len) as a template (snapshot checks, kind, meta, vCPU,
 * taken in ready(); with check_pages, the page list too) into *p (which
 * points into data). 0 or -EINVAL + err.
 */
static int tmpl_parse(const void *data, size_t len, struct tmpl_parsed *p,
		      int check_pages, char *err, size_t errlen)
{
	const void *a;
	size_t alen;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!data) {
		ukf_seterr(err, errlen, "no template data");
		return -EINVAL;
	}
	rc = ukvm_snap_open(&p->r, data, len, err, errlen);
	if (rc)
		return rc;
	if (p->r.kind != UKVM_SNAP_TEMPLATE) {
		ukf_seterr(err, errlen, "snapshot is not a template (kind %u)",
			    p->r.kind);
		return -EINVAL;
	}
	if ((rc = ukvm_snap_meta_decode(&p->r, &p->meta, err, errlen)) ||
	    (rc = ukvm_snap_vcpu_decode(&p->r, &p->vcpu, err, errlen)) ||
	    (rc = ukvm_snap_vcpu_check(&p->vcpu, err, errlen)))
		return rc;
	if (p->meta.pause != UKVM_PAUSE_READY) {
		ukf_seterr(err, errlen, "template not taken in ready()");
		return -EINVAL;
	}
	for (const char *c = p->meta.app_name; *c; c++)
		if ((uint8_t)*c < 0x20 || *c == 0x7f) {
			/* the name goes into messages and traces */
			ukf_seterr(err, errlen,
				    "the template's app name has control characters (byte 0x%02x at %d)",
				    (uint8_t)*c, (int)(c - p->meta.app_name));
			return -EINVAL;
		}
	if (ukvm_snap_find(&p->r, UKVM_SEC_ARGS, &a, &alen) == 0 && alen &&
	    alen <= sizeof(p->args) && ((const char *)a)[alen - 1] == 0)
		memcpy(p->args, a, alen);
	if (check_pages)
		return ukvm_snap_apply_pages(&p->r, NULL, -1, p->meta.mem_size,
					     NULL, err, errlen);
	return 0;
}

static int sha_known(const uint8_t d[32])
{
	for (int i = 0; i < 32; i++)
		if (d[i])
			return 1;
	return 0;
}

/* The first 6 bytes of a digest in hex (for messages). */
static const char *sha_short(const uint8_t d[32], char buf[16])
{
	for (int i = 0; i < 6; i++)
		snprintf(buf + 2 * i, 3, "%02x", d[i]);
	return buf;
}

/* SHA-256 of the image at path: through m's image cache, or (m NULL)
 * loaded and validated for this call only. 0 or -errno + err. */
static int image_digest(struct ukvm *m, const char *path, uint8_t out[32],
			char *err, size_t errlen)
{
	struct ukvm_image *img;

	if (m)
		return ukvm_image_sha256(m, path, out, err, errlen);
	img = ukvm_image_load(path, err, errlen);
	if (!img)
		return access(path, R_OK) < 0 ? -errno : -EINVAL;
	memcpy(out, img->sha256, 32);
	ukvm_image_free(img);
	return 0;
}

/*
 * Is meta a template of the app called `name` booted from `image`? Either
 * may be NULL or "" (not known: not checked), and so may the meta's own
 * name and digest (snapshots written before they were kept). 0, -EINVAL
 * with the difference in err, or -errno when the image cannot be read.
 */
static int tmpl_check_ident(struct ukvm *m, const struct ukvm_snap_meta *meta,
			    const char *name, const char *image, char *err,
			    size_t errlen)
{
	uint8_t d[32];
	char why[300], h1[16], h2[16];
	int rc;

	if (name && name[0] && meta->app_name[0] &&
	    strcmp(name, meta->app_name)) {
		ukf_seterr(err, errlen, "a template of app '%s', not '%s'",
			    meta->app_name, name);
		return -EINVAL;
	}
	if (!image || !image[0] || !sha_known(meta->image_sha256))
		return 0;
	rc = image_digest(m, image, d, why, sizeof(why));
	if (rc) {
		ukf_seterr(err, errlen,
			    "cannot check the template against the app's image: %s",
			    why);
		return rc;
	}
	if (memcmp(d, meta->image_sha256, sizeof(d))) {
		ukf_seterr(err, errlen,
			    "a template of another image of app '%s' (sha256 %s..., %s is %s...)",
			    name && name[0] ? name : meta->app_name,
			    sha_short(meta->image_sha256, h1), image,
			    sha_short(d, h2));
		return -EINVAL;
	}
	return 0;
}

/*
 * The monitor area of a template's memory from the monitor's own code, not
 * from the bytes (ukvm_layout_sanitize): a template's pages could hold an
 * IDT gate into guest code or page tables that map the monitor area for
 * ring 3. 0 or -errno + err.
 */
static int tmpl_sanitize(struct ukvm_tmpl *t, char *err, size_t errlen)
{
	uint8_t *mem = mmap(NULL, UKVM_MEM_ALIGN, PROT_READ | PROT_WRITE,
			    MAP_SHARED, t->fd, 0);

	if (mem == MAP_FAILED) {
		ukf_seterr(err, errlen, "template memory: mmap: %s",
			    strerror(errno));
		return -errno;
	}
	ukvm_layout_sanitize(mem, t->mem_size);
	munmap(mem, UKVM_MEM_ALIGN);
	return 0;
}

/*
 * ukvm_tmpl_crc() of a template just installed from r, from the bytes in
 * hand: the monitor area (the first UKVM_MEM_ALIGN bytes, which
 * tmpl_sanitize rewrote) read back, the rest from r's page list. Its first
 * delta restore then need not read the whole template back (that took
 * ~0.3 ns a byte, ~7 ms at 24 MiB, on the first restore after each
 * fetch); ~0.05 ns a byte here. Left to ukvm_tmpl_crc() when r's pages
 * are not in order.
 */
static void tmpl_install_crc(struct ukvm_tmpl *t, const struct ukvm_snap_reader *r)
{
	/* tmpl_install admits whole 2 MiB units only: mem_size >= mon */
	const uint64_t mon = UKVM_MEM_ALIGN;
	uint32_t c = 0;

	if (crc_fd(t->fd, 0, mon, &c) ||
	    ukvm_snap_pages_crc(r, mon / UKF_PAGE_SIZE,
				t->mem_size / UKF_PAGE_SIZE, &c))
		return;
	t->crc = c ? c : 1; /* not shared yet */
}

/* Validate, check against what app means here, install; the template's
 * memory size in *mem. 0 or -errno + err. */
static int tmpl_install(struct ukvm *m, uint32_t app, const void *data,
			size_t len, uint64_t *mem, char *err, size_t errlen)
{
	struct ukvm_fork_mon *fm;
	struct ukvm_app_ident id;
	struct tmpl_parsed *p;
	struct ukvm_tmpl *t = NULL;
	int rc;

	p = malloc(sizeof(*p));
	if (!p) {
		ukf_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = tmpl_parse(data, len, p, 0, err, errlen);
	if (rc)
		goto out;
	if (p->meta.mem_size % UKVM_MEM_ALIGN) {
		/* the monitor's VMs are whole 2 MiB units (and sanitizing
		 * maps the first one): a shorter memfd would fault there */
		ukf_seterr(err, errlen,
			    "template memory of %llu bytes is not a multiple of "
			    "%llu (2 MiB)",
			    (unsigned long long)p->meta.mem_size,
			    (unsigned long long)UKVM_MEM_ALIGN);
		rc = -EINVAL;
		goto out;
	}
	if (ukvm_app_ident(m, app, &id) == 0 &&
	    (rc = tmpl_check_ident(m, &p->meta, id.name, id.image, err,
				   errlen)))
		goto out;
	fm = ukvm_fork_mon(m, err, errlen);
	t = fm ? tmpl_new(fm) : NULL;
	if (!t) {
		if (fm)
			ukf_seterr(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	t->meta = p->meta;
	t->vcpu = p->vcpu;
	memcpy(t->args, p->args, sizeof(t->args));
	t->mem_size = t->meta.mem_size;
	t->app = app;
	t->meta.app = app;
	tmpl_stamp_name(m, t);
	t->fd = memfd_create("ukf-template", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (t->fd < 0 || ftruncate(t->fd, (off_t)t->mem_size) < 0) {
		rc = -errno;
		ukf_seterr(err, errlen, "template memory: %s",
			    strerror(errno));
		goto out;
	}
	rc = ukvm_snap_apply_pages(&p->r, NULL, t->fd, t->mem_size, NULL, err,
				   errlen);
	if (rc || (rc = tmpl_sanitize(t, err, errlen)))
		goto out;
	tmpl_install_crc(t, &p->r);
	if (fcntl(t->fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
				      F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		rc = -errno;
		ukf_seterr(err, errlen, "F_ADD_SEALS: %s", strerror(errno));
		goto out;
	}
	rc = store_set(fm, app, t);
	if (rc == 0 && mem)
		*mem = t->mem_size;
out:
	ukvm_tmpl_put(t);
	free(p);
	return rc;
}

int ukvm_template_install(ukvm_t *m, uint32_t app, const void *data,
			  size_t len, char *err, size_t errlen)
{
	return tmpl_install(m, app, data, len, NULL, err, errlen);
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
		ukf_seterr(err, errlen, "%s: %s", path, why);
	free(data);
	return rc;
}

int ukvm_load_template(void *b, ukf_node_id_t node, uint32_t app,
		       const void *data, size_t bytes)
{
	struct ukvm *m = b;
	struct ukf_be_event ev;
	uint64_t mem = 0;
	char err[400], why[360];
	int rc;

	if (!data)
		return -EINVAL; /* a real node needs the bytes */
	rc = tmpl_install(m, app, data, bytes, &mem, why, sizeof(why));
	if (rc == -ENOMEM)
		return rc; /* refused at once, with no event */
	memset(&ev, 0, sizeof(ev));
	ev.app = app;
	ev.at = ukvm_now();
	if (rc) {
		/* accepted, then refused with the reason (backend.h) */
		snprintf(err, sizeof(err), "template of app %u refused: %s",
			 app, why);
		ev.kind = UKF_BE_ERROR;
		ev.status = rc;
		ev.text = err;
	} else {
		ev.kind = UKF_BE_TEMPLATE;
		ev.bytes = mem; /* as make_template counts it */
	}
	m->cfg.event(m->cfg.u, m->cfg.node, &ev);
	return 0;
}

int ukvm_export_template(void *b, ukf_node_id_t node, uint32_t app,
			 void **data, size_t *len, uint64_t *bytes)
{
	struct ukvm *m = b;
	struct ukvm_snap_buf buf;
	struct ukvm_tmpl *t;
	int rc;

	if (!m || !data || !len || !bytes)
		return -EINVAL;
	*data = NULL;
	*len = 0;
	*bytes = 0;
	t = ukvm_tmpl_lookup(m, app);
	if (!t)
		return -ENOENT;
	rc = tmpl_encode(t, NULL, &buf);
	if (rc == 0) {
		*data = buf.data; /* malloc'd: the caller frees it */
		*len = buf.len;
		*bytes = t->mem_size;
	}
	ukvm_tmpl_put(t);
	return rc;
}

int ukvm_template_info_op(void *b, const struct ukf_app *app,
			  const void *data, size_t len,
			  struct ukf_template_info *info, char *err,
			  size_t errlen)
{
	struct tmpl_parsed *p;
	uint64_t want;
	int rc;

	if (!info) {
		ukf_seterr(err, errlen, "no info to fill");
		return -EINVAL;
	}
	memset(info, 0, sizeof(*info));
	p = malloc(sizeof(*p));
	if (!p) {
		ukf_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = tmpl_parse(data, len, p, 1, err, errlen);
	if (rc)
		goto out;
	snprintf(info->app_name, sizeof(info->app_name), "%s",
		 p->meta.app_name);
	info->bytes = p->meta.mem_size;
	info->mem_bytes = p->meta.mem_size;
	info->has_image = sha_known(p->meta.image_sha256);
	memcpy(info->image_sha256, p->meta.image_sha256,
	       sizeof(info->image_sha256));
	if (!app)
		goto out;
	/* another app's template says so before any size differs */
	if (app->name[0] && p->meta.app_name[0] &&
	    strcmp(app->name, p->meta.app_name)) {
		rc = tmpl_check_ident(b, &p->meta, app->name, NULL, err,
				      errlen);
		goto out;
	}
	want = (app->mem_bytes + UKVM_MEM_ALIGN - 1) & ~(UKVM_MEM_ALIGN - 1);
	if (app->mem_bytes && p->meta.mem_size != want) {
		ukf_seterr(err, errlen,
			    "a template of %llu MiB of memory, app '%s' has %llu MiB",
			    (unsigned long long)(p->meta.mem_size >> 20),
			    app->name, (unsigned long long)(want >> 20));
		rc = -EINVAL;
		goto out;
	}
	rc = tmpl_check_ident(b, &p->meta, app->name, app->image, err, errlen);
out:
	free(p);
	return rc;
}
