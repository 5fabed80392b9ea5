/* SPDX-License-Identifier: MIT */
/* vm.c - one guest VM: memory, KVM objects, the vCPU thread and its exits, pauses, faults (the calls themselves: backends/vmm). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clone.h"
#include "sandbox.h"
#include "ukvm_int.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

/* The kvm_run of the VM this thread runs, for the kick signal handler. */
static __thread struct kvm_run *volatile tls_run;

void ukvm_kick_handler(int sig)
{
	struct kvm_run *run = tls_run;

	(void)sig;
	if (run)
		run->immediate_exit = 1;
}

/* ------------------------------------------------------------------ */
/* Table and references. */

static const struct ukf_vmm_ops ukvm_vmm_ops;

static unsigned bucket_of(ukf_id_t inst)
{
	return (unsigned)((inst * 0x9e3779b97f4a7c15ULL) >> 54) %
	       UKVM_HASH_BUCKETS;
}

int ukvm_vm_new(struct ukvm *m, ukf_id_t inst, uint64_t mem_size,
		struct ukvm_vm **out)
{
	struct ukvm_vm *vm, *it;
	unsigned b = bucket_of(inst);

	mem_size = (mem_size + UKVM_MEM_ALIGN - 1) & ~(UKVM_MEM_ALIGN - 1);
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->mon = m;
	vm->inst = inst;
	vm->mem_size = mem_size;
	vm->vm_fd = vm->vcpu_fd = vm->mem_fd = -1;
	ukf_vmm_init(&vm->vmm, &ukvm_vmm_ops, vm);
	vm->vmm.pause_on_ready = m->cfg.pause_on_ready;
	atomic_init(&vm->refs, 1);
	atomic_init(&vm->stop, 0);
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);

	pthread_mutex_lock(&m->lock);
	for (it = m->table[b].head; it; it = it->hnext)
		if (it->inst == inst)
			break;
	if (it || inst == 0) {
		pthread_mutex_unlock(&m->lock);
		free(vm);
		return -EEXIST;
	}
	if (m->cfg.max_vms && m->nvms >= m->cfg.max_vms) {
		pthread_mutex_unlock(&m->lock);
		free(vm);
		return -EAGAIN;
	}
	if (m->cfg.max_mem_bytes &&
	    m->mem_used + mem_size > m->cfg.max_mem_bytes) {
		pthread_mutex_unlock(&m->lock);
		free(vm);
		return -ENOMEM;
	}
	vm->hnext = m->table[b].head;
	m->table[b].head = vm;
	m->nvms++;
	m->mem_used += mem_size;
	pthread_mutex_unlock(&m->lock);
	*out = vm;
	return 0;
}

struct ukvm_vm *ukvm_vm_find(struct ukvm *m, ukf_id_t inst)
{
	struct ukvm_vm *it;

	pthread_mutex_lock(&m->lock);
	for (it = m->table[bucket_of(inst)].head; it; it = it->hnext)
		if (it->inst == inst) {
			ukvm_vm_get(it);
			break;
		}
	pthread_mutex_unlock(&m->lock);
	return it;
}

struct ukvm_vm *ukvm_vm_unlink(struct ukvm *m, ukf_id_t inst)
{
	struct ukvm_vm **pp, *vm = NULL;

	pthread_mutex_lock(&m->lock);
	for (pp = &m->table[bucket_of(inst)].head; *pp; pp = &(*pp)->hnext)
		if ((*pp)->inst == inst) {
			vm = *pp;
			*pp = vm->hnext;
			vm->hnext = NULL;
			m->nvms--;
			m->mem_used -= vm->mem_size;
			break;
		}
	pthread_mutex_unlock(&m->lock);
	return vm;
}

void ukvm_vm_get(struct ukvm_vm *vm)
{
	atomic_fetch_add(&vm->refs, 1);
}

/* Close the KVM objects and unmap memory (idempotent). A clone's shell
 * may go back to the template code's pool instead (shell_recycle). */
static void release_resources(struct ukvm_vm *vm)
{
	if (vm->shell_recycle)
		vm->shell_recycle(vm);
	if (vm->run) {
		munmap(vm->run, vm->run_size);
		vm->run = NULL;
	}
	if (vm->vcpu_fd >= 0) {
		close(vm->vcpu_fd);
		vm->vcpu_fd = -1;
	}
	if (vm->vm_fd >= 0) {
		close(vm->vm_fd);
		vm->vm_fd = -1;
	}
	if (vm->mem) {
		munmap(vm->mem, vm->mem_size);
		vm->mem = NULL;
	}
	if (vm->mem_fd >= 0) {
		close(vm->mem_fd);
		vm->mem_fd = -1;
	}
}

/* ------------------------------------------------------------------ */
/* Deferred teardown of KVM objects (the reaper). */

struct ukvm_dead {
	struct ukvm_dead *next;
	ukf_ns_t at;
	int vcpu_fd, vm_fd;
	struct kvm_run *run;
	size_t run_size;
};

static void dead_close(struct ukvm_dead *d)
{
	if (d->run)
		munmap(d->run, d->run_size);
	if (d->vcpu_fd >= 0)
		close(d->vcpu_fd);
	if (d->vm_fd >= 0)
		close(d->vm_fd);
	free(d);
}

int ukvm_quiet(void *arg)
{
	struct ukvm *m = arg;

	return atomic_load(&m->booting) == 0 &&
	       ukvm_now() - atomic_load(&m->last_launch) >=
		       UKVM_REAP_QUIET_MS * UKF_MS;
}

/* The reaper may close now: the queue is over its cap, the oldest entry
 * waited long enough, or no cold boot is in flight and none was launched
 * for UKVM_REAP_QUIET_MS (a burst of boots is over). reap_lock held. */
static int reap_now(struct ukvm *m, ukf_ns_t now)
{
	if (!m->dead)
		return 0;
	return m->ndead >= UKVM_REAP_MAX ||
	       now - m->dead->at >= UKVM_REAP_AGE_MS * UKF_MS || ukvm_quiet(m);
}

static void *reaper_main(void *arg)
{
	struct ukvm *m = arg;
	struct ukvm_dead *d;
	struct timespec ts;

	pthread_mutex_lock(&m->reap_lock);
	for (;;) {
		while (!m->reap_stop && !m->dead)
			pthread_cond_wait(&m->reap_cond, &m->reap_lock);
		if (m->reap_stop)
			break;
		if (!reap_now(m, ukvm_now())) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 2 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&m->reap_cond, &m->reap_lock,
					       &ts);
			continue;
		}
		d = m->dead;
		m->dead = d->next;
		if (!m->dead)
			m->dead_tail = &m->dead;
		m->ndead--;
		pthread_mutex_unlock(&m->reap_lock);
		dead_close(d);
		pthread_mutex_lock(&m->reap_lock);
	}
	pthread_mutex_unlock(&m->reap_lock);
	return NULL;
}

int ukvm_reaper_start(struct ukvm *m, int thread)
{
	pthread_mutex_init(&m->reap_lock, NULL);
	pthread_cond_init(&m->reap_cond, NULL);
	m->dead = NULL;
	m->dead_tail = &m->dead;
	m->ndead = 0;
	m->reap_stop = 0;
	m->reaper_on = thread &&
		       pthread_create(&m->reaper, NULL, reaper_main, m) == 0;
	return m->reaper_on || !thread ? 0 : -EAGAIN;
}

void ukvm_reaper_stop(struct ukvm *m)
{
	struct ukvm_dead *d;

	pthread_mutex_lock(&m->reap_lock);
	m->reap_stop = 1;
	pthread_cond_broadcast(&m->reap_cond);
	pthread_mutex_unlock(&m->reap_lock);
	if (m->reaper_on)
		pthread_join(m->reaper, NULL);
	m->reaper_on = 0;
	while ((d = m->dead)) {
		m->dead = d->next;
		dead_close(d);
	}
	m->dead_tail = &m->dead;
	m->ndead = 0;
	pthread_cond_destroy(&m->reap_cond);
	pthread_mutex_destroy(&m->reap_lock);
}

void ukvm_boot_begin(struct ukvm_vm *vm)
{
	atomic_store(&vm->mon->last_launch, ukvm_now());
	if (!vm->booting) {
		vm->booting = 1;
		atomic_fetch_add(&vm->mon->booting, 1);
	}
}

void ukvm_boot_done(struct ukvm_vm *vm)
{
	struct ukvm *m = vm->mon;

	if (!vm->booting)
		return;
	vm->booting = 0;
	if (atomic_fetch_sub(&m->booting, 1) == 1 && m->reaper_on) {
		pthread_mutex_lock(&m->reap_lock);
		pthread_cond_signal(&m->reap_cond);
		pthread_mutex_unlock(&m->reap_lock);
	}
}

/* Free a dead VM's memory now and queue its KVM objects for the reaper
 * (closed here when there is none or no memory for the entry). */
static void teardown(struct ukvm *m, struct ukvm_vm *dead)
{
	struct ukvm_dead *d = NULL;

	if (dead->mem) {
		munmap(dead->mem, dead->mem_size);
		dead->mem = NULL;
	}
	if (dead->mem_fd >= 0) {
		close(dead->mem_fd);
		dead->mem_fd = -1;
	}
	if (m->reaper_on && (dead->vm_fd >= 0 || dead->vcpu_fd >= 0))
		d = malloc(sizeof(*d));
	if (!d) {
		release_resources(dead);
		return;
	}
	d->next = NULL;
	d->at = ukvm_now();
	d->vcpu_fd = dead->vcpu_fd;
	d->vm_fd = dead->vm_fd;
	d->run = dead->run;
	d->run_size = dead->run_size;
	pthread_mutex_lock(&m->reap_lock);
	*m->dead_tail = d;
	m->dead_tail = &d->next;
	m->ndead++;
	pthread_cond_signal(&m->reap_cond);
	pthread_mutex_unlock(&m->reap_lock);
}

void ukvm_vm_put(struct ukvm_vm *vm)
{
	if (atomic_fetch_sub(&vm->refs, 1) != 1)
		return;
	if (vm->fork_release)
		vm->fork_release(vm);
	release_resources(vm);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

/* ------------------------------------------------------------------ */
/* Memory and KVM objects. */

/*
 * Create the guest memfd (vm->mem_fd, sealable) of vm->mem_size bytes and
 * map it MAP_SHARED: anywhere when at is NULL, else over the reservation at
 * (MAP_FIXED). Returns the mapping, or MAP_FAILED with err set; vm->mem_fd
 * may be open on failure (release_resources closes it).
 */
static void *guest_mem_map(struct ukvm_vm *vm, void *at, char *err,
			   size_t errlen)
{
	void *p;

	vm->mem_fd = memfd_create("ukf-guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (vm->mem_fd < 0) {
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return MAP_FAILED;
	}
	if (ftruncate(vm->mem_fd, vm->mem_size) < 0) {
		snprintf(err, errlen, "ftruncate(%llu): %s",
			 (unsigned long long)vm->mem_size, strerror(errno));
		return MAP_FAILED;
	}
	p = mmap(at, vm->mem_size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | (at ? MAP_FIXED : 0), vm->mem_fd, 0);
	if (p == MAP_FAILED)
		snprintf(err, errlen, "mmap guest memory: %s", strerror(errno));
	return p;
}

int ukvm_mem_create(struct ukvm_vm *vm, char *err, size_t errlen)
{
	vm->mem = guest_mem_map(vm, NULL, err, errlen);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		return -1;
	}
	vm->mem_private = 0;
	return 0;
}

int ukvm_mem_create_pooled(struct ukvm_vm *vm, char *err, size_t errlen)
{
	struct ukvm_shell sh;

	if (ukvm_shell_get_mem(vm->mon->boot_pool, vm->mem_size, &sh, err,
			       errlen) < 0)
		return -1;
	/* the VM owns the shell from here (release_resources frees it) */
	vm->vm_fd = sh.vm_fd;
	vm->vcpu_fd = sh.vcpu_fd;
	vm->run = sh.run;
	vm->run_size = sh.run_size;
	vm->mem = sh.mem;
	if (guest_mem_map(vm, vm->mem, err, errlen) == MAP_FAILED)
		return -1; /* the reservation is still there: unmapped later */
	vm->mem_private = 0;
	return 0;
}

int ukvm_kvm_create(struct ukvm_vm *vm, char *err, size_t errlen)
{
	struct ukvm *m = vm->mon;
	struct kvm_userspace_memory_region reg;

	if (m->boot_pool) {
		/* a pre-created shell: VM, vCPU with CPUID, kvm_run mapped */
		struct ukvm_shell sh;

		if (ukvm_shell_get(m->boot_pool, &sh, err, errlen) < 0)
			return -1;
		vm->vm_fd = sh.vm_fd;
		vm->vcpu_fd = sh.vcpu_fd;
		vm->run = sh.run;
		vm->run_size = sh.run_size;
		goto slot;
	}
	vm->vm_fd = ioctl(m->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		return -1;
	}
slot:
	memset(&reg, 0, sizeof(reg));
	reg.slot = 0;
	reg.flags = vm->slot_flags;
	reg.guest_phys_addr = 0;
	reg.memory_size = vm->mem_size;
	reg.userspace_addr = (uintptr_t)vm->mem;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &reg) < 0) {
		snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s",
			 strerror(errno));
		return -1;
	}
	if (vm->run)
		return 0; /* from the shell pool */
	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VCPU: %s", strerror(errno));
		return -1;
	}
	if (m->cpuid && ioctl(vm->vcpu_fd, KVM_SET_CPUID2, m->cpuid) < 0) {
		snprintf(err, errlen, "KVM_SET_CPUID2: %s", strerror(errno));
		return -1;
	}
	vm->run_size = m->run_size;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED) {
		vm->run = NULL;
		snprintf(err, errlen, "mmap kvm_run: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Events. */

void ukvm_emit(struct ukvm_vm *vm, struct ukf_be_event *ev)
{
	struct ukvm *m = vm->mon;

	/* Once destroyed, an instance reports nothing more about itself
	 * (the engine has forgotten it); outcomes of operations still go. */
	if (atomic_load(&vm->stop) && ev->kind != UKF_BE_TEMPLATE &&
	    ev->kind != UKF_BE_DELTA && ev->kind != UKF_BE_ERROR)
		return;
	ev->inst = vm->inst;
	if (!ev->at)
		ev->at = ukvm_now();
	m->cfg.event(m->cfg.u, m->cfg.node, ev);
}

void ukvm_emit_outcome(struct ukvm_vm *vm, struct ukf_be_event *ev, int rc,
		       const char *err)
{
	if (rc) {
		memset(ev, 0, sizeof(*ev));
		ev->kind = UKF_BE_ERROR;
		ev->status = rc;
		ev->text = err;
	}
	ukvm_emit(vm, ev);
}

/* ------------------------------------------------------------------ */
/* The neutral layer's view of a VM (backends/vmm/vmm.h). */

static void *vmm_translate(void *be, ukf_gpa_t gpa, uint64_t len, int write)
{
	return ukvm_gpa(be, gpa, len, write);
}

static void vmm_emit(void *be, struct ukf_be_event *ev)
{
	ukvm_emit(be, ev);
}

static void vmm_ident(void *be, struct ukf_vmm_ident *id)
{
	struct ukvm_vm *vm = be;

	id->inst = vm->inst;
	id->parent = vm->parent;
	id->node = vm->mon->cfg.node;
	id->boot_ns = vm->boot_ns;
	id->args = vm->args;
}

static uint64_t vmm_dirty_pages(void *be)
{
	return ukvm_dirty_pages(be);
}

static const struct ukf_vmm_ops ukvm_vmm_ops = {
	.translate = vmm_translate,
	.emit = vmm_emit,
	.ident = vmm_ident,
	.dirty_pages = vmm_dirty_pages,
};

/* Fail the instance once with a reason; the run loop then ends. */
static void vm_fail(struct ukvm_vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void vm_fail(struct ukvm_vm *vm, const char *fmt, ...)
{
	struct ukf_be_event ev;
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	ukf_vmm_console_flush(&vm->vmm, ukvm_now());
	pthread_mutex_lock(&vm->lock);
	vm->state = UKVM_VM_FAILED;
	pthread_mutex_unlock(&vm->lock);
	memset(&ev, 0, sizeof(ev));
	ev.kind = UKF_BE_FAIL;
	ev.text = reason;
	ukvm_emit(vm, &ev);
}

/* ------------------------------------------------------------------ */
/* Run-limit timer: counts guest running time, not time paused. */

static void limit_arm(struct ukvm_vm *vm, ukf_ns_t *stretch)
{
	ukf_ns_t left = vm->mon->cfg.run_limit_ns - vm->ran_ns;
	struct itimerspec its;

	*stretch = ukvm_now();
	if (!vm->has_timer)
		return;
	if (left < 1)
		left = 1;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = left / UKF_S;
	its.it_value.tv_nsec = left % UKF_S;
	timer_settime(vm->limit_timer, 0, &its, NULL);
}

static void limit_disarm(struct ukvm_vm *vm, ukf_ns_t stretch)
{
	struct itimerspec its;

	vm->ran_ns += ukvm_now() - stretch;
	if (!vm->has_timer)
		return;
	memset(&its, 0, sizeof(its));
	timer_settime(vm->limit_timer, 0, &its, NULL);
}

static int limit_passed(struct ukvm_vm *vm, ukf_ns_t stretch)
{
	ukf_ns_t lim = vm->mon->cfg.run_limit_ns;

	return lim > 0 && vm->ran_ns + (ukvm_now() - stretch) >= lim;
}

/* Enter the paused state for call hc (args at gpa): from then on
 * complete() may answer it. (Wakes a ukvm_vm_hold waiting for a RUNNING
 * vCPU to stop: it is paused now.) */
static void pause_enter(struct ukvm_vm *vm, enum ukvm_vm_state state,
			uint32_t hc, ukf_gpa_t gpa)
{
	pthread_mutex_lock(&vm->lock);
	vm->state = state;
	vm->pending_hc = hc;
	vm->pending_gpa = gpa;
	vm->answered = 0;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

/*
 * A hold point of the run loop, reached after KVM_RUN returned EINTR (so
 * no port I/O or MMIO is half done): if a hold is asked for, report held
 * and wait until it is lifted (or the VM is stopped). Time held does not
 * count as running time.
 */
static void hold_point(struct ukvm_vm *vm, ukf_ns_t *stretch)
{
	if (!atomic_load(&vm->hold_req))
		return;
	limit_disarm(vm, *stretch);
	pthread_mutex_lock(&vm->lock);
	if (atomic_load(&vm->hold_req)) {
		vm->held = 1;
		pthread_cond_broadcast(&vm->cond);
		while (atomic_load(&vm->hold_req) && !atomic_load(&vm->stop))
			pthread_cond_wait(&vm->cond, &vm->lock);
		vm->held = 0;
	}
	pthread_mutex_unlock(&vm->lock);
	limit_arm(vm, stretch);
}

int ukvm_vm_hold(struct ukvm_vm *vm)
{
	struct timespec ts;

	if (atomic_load(&vm->stop) || !vm->thread_started)
		return -ESRCH;
	if (vm->state != UKVM_VM_RUNNING)
		return -EAGAIN;
	atomic_store(&vm->hold_req, 1);
	/* Kick until it holds: a kick landing while the thread is outside
	 * KVM_RUN still makes the next KVM_RUN return EINTR, but one landing
	 * before the thread published its kvm_run would be lost. */
	for (int i = 0; !vm->held; i++) {
		if (atomic_load(&vm->stop) || vm->state != UKVM_VM_RUNNING ||
		    !vm->thread_started || i >= 500) {
			int rc = atomic_load(&vm->stop) || !vm->thread_started
					 ? -ESRCH
				 : vm->state != UKVM_VM_RUNNING ? -EAGAIN
								 : -ETIMEDOUT;

			atomic_store(&vm->hold_req, 0);
			pthread_cond_broadcast(&vm->cond);
			return rc;
		}
		pthread_kill(vm->thread, UKVM_KICK_SIGNAL);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 2 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&vm->cond, &vm->lock, &ts);
	}
	return 0;
}

void ukvm_vm_unhold(struct ukvm_vm *vm)
{
	atomic_store(&vm->hold_req, 0);
	pthread_cond_broadcast(&vm->cond);
}

/* Report ev (if any), then wait for complete() (which writes the guest's
 * OUT fields) or a stop. 0 when answered, -1 when stopped. */
static int pause_wait(struct ukvm_vm *vm, struct ukf_be_event *ev,
		      ukf_ns_t *stretch)
{
	int answered;

	limit_disarm(vm, *stretch);
	if (ev)
		ukvm_emit(vm, ev);
	pthread_mutex_lock(&vm->lock);
	while (!vm->answered && !atomic_load(&vm->stop))
		pthread_cond_wait(&vm->cond, &vm->lock);
	answered = vm->answered;
	if (answered)
		vm->state = UKVM_VM_RUNNING;
	pthread_mutex_unlock(&vm->lock);
	limit_arm(vm, stretch);
	return answered ? 0 : -1;
}

/* Pause in `state` for the call hc with its argument struct at gpa,
 * reporting ev, until complete() or a stop (-1). */
static int vm_pause(struct ukvm_vm *vm, enum ukvm_vm_state state, uint32_t hc,
		    ukf_gpa_t gpa, struct ukf_be_event *ev, ukf_ns_t *stretch)
{
	pause_enter(vm, state, hc, gpa);
	return pause_wait(vm, ev, stretch);
}

/* ------------------------------------------------------------------ */
/* Hypercalls: backends/vmm checks and answers them; here they pause,
 * exit or fail the vCPU thread. */

enum { HC_CONTINUE = 0, HC_STOP = 1 };

static int hypercall(struct ukvm_vm *vm, uint32_t nr, ukf_gpa_t gpa,
		     ukf_ns_t *stretch)
{
	struct ukf_vmm_call c;

	switch (ukf_vmm_dispatch(&vm->vmm, nr, gpa, &c)) {
	case UKF_VMM_RESUME:
		return HC_CONTINUE;
	case UKF_VMM_NOTIFY: /* ready() without pause_on_ready */
		ukvm_boot_done(vm); /* the reaper may close dead VMs now */
		ukvm_emit(vm, &c.ev);
		return HC_CONTINUE;
	case UKF_VMM_PAUSE:
		if (c.ev.kind == UKF_BE_READY) {
			ukvm_boot_done(vm);
			return vm_pause(vm, UKVM_VM_READY, nr, gpa, &c.ev,
					stretch) < 0
				       ? HC_STOP
				       : HC_CONTINUE;
		}
		return vm_pause(vm, UKVM_VM_CALL, nr, gpa, &c.ev, stretch) < 0
			       ? HC_STOP
			       : HC_CONTINUE;
	case UKF_VMM_EXIT:
		pthread_mutex_lock(&vm->lock);
		vm->state = UKVM_VM_EXITED;
		pthread_mutex_unlock(&vm->lock);
		ukvm_emit(vm, &c.ev);
		return HC_STOP;
	case UKF_VMM_FAIL:
	default:
		vm_fail(vm, "%s", c.reason);
		return HC_STOP;
	}
}

int ukvm_vm_complete(struct ukvm_vm *vm, int64_t ret, int64_t status,
		     ukf_id_t src, const void *data, size_t len)
{
	pthread_mutex_lock(&vm->lock);
	if ((vm->state != UKVM_VM_READY && vm->state != UKVM_VM_CALL) ||
	    vm->answered || !vm->mem) {
		pthread_mutex_unlock(&vm->lock);
		return -ESRCH;
	}
	/* pending_gpa 0 (a clone's ready, a held fork child): refused by
	 * the accessor, nothing written */
	ukf_vmm_complete(&vm->vmm, vm->pending_hc, vm->pending_gpa, ret,
			 status, src, data, len);
	vm->answered = 1;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Faults and the run loop. */

static const char *const vec_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
	"#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

static void guest_fault(struct ukvm_vm *vm, uint32_t vec)
{
	struct kvm_regs r;
	struct kvm_sregs sr;
	uint64_t frame[6] = { 0 };
	unsigned skip = 0;

	if (vec >= 32) {
		vm_fail(vm, "fault stub reported bad vector %u", vec);
		return;
	}
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sr) < 0) {
		vm_fail(vm, "vector %u (%s): cannot read registers: %s", vec,
			vec_names[vec], strerror(errno));
		return;
	}
	/* The frame (5 words, 6 with an error code) is on the ring-0 stack
	 * inside the monitor area. */
	if (ukvm_vector_has_errcode(vec))
		skip = 1;
	if (ukvm_fault_frame_ok(r.rsp, 8 * (5 + skip)))
		memcpy(frame, vm->mem + r.rsp, 8 * (5 + skip));
	if (vec == 14)
		vm_fail(vm, "vector 14 (#PF) at rip 0x%llx addr 0x%llx "
			    "(error 0x%llx, rsp 0x%llx)",
			(unsigned long long)frame[skip],
			(unsigned long long)sr.cr2,
			(unsigned long long)frame[0],
			(unsigned long long)frame[skip + 3]);
	else if (skip)
		vm_fail(vm, "vector %u (%s) at rip 0x%llx (error 0x%llx, rsp "
			    "0x%llx)",
			vec, vec_names[vec], (unsigned long long)frame[1],
			(unsigned long long)frame[0],
			(unsigned long long)frame[4]);
	else
		vm_fail(vm, "vector %u (%s) at rip 0x%llx (rsp 0x%llx)", vec,
			vec_names[vec], (unsigned long long)frame[0],
			(unsigned long long)frame[3]);
}

static void run_loop(struct ukvm_vm *vm, ukf_ns_t *stretch)
{
	struct kvm_run *run = vm->run;

	for (;;) {
		if (atomic_load(&vm->stop))
			return;
		if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				run->immediate_exit = 0;
				if (atomic_load(&vm->stop))
					return;
				if (limit_passed(vm, *stretch))
					goto deadline;
				hold_point(vm, stretch);
				continue;
			}
			vm_fail(vm, "KVM_RUN: %s", strerror(errno));
			return;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint32_t port = run->io.port, val = 0;

			if (run->io.direction == KVM_EXIT_IO_OUT &&
			    run->io.size == 4 && run->io.count == 1)
				memcpy(&val, (uint8_t *)run + run->io.data_offset,
				       4);
			else {
				vm_fail(vm, "unexpected port I/O: %s port 0x%x "
					    "size %u",
					run->io.direction == KVM_EXIT_IO_OUT
						? "out"
						: "in",
					port, run->io.size);
				return;
			}
			if (port >= UKF_HC_PORT_BASE &&
			    port < UKF_HC_PORT_BASE + UKF_HC_MAX) {
				if (hypercall(vm, port - UKF_HC_PORT_BASE, val,
					      stretch) == HC_STOP)
					return;
				if (limit_passed(vm, *stretch))
					goto deadline;
			} else if (port == UKF_FAULT_PORT) {
				guest_fault(vm, val);
				return;
			} else {
				vm_fail(vm, "unexpected port I/O: out port "
					    "0x%x",
					port);
				return;
			}
			break;
		}
		case KVM_EXIT_INTR:
			run->immediate_exit = 0;
			if (limit_passed(vm, *stretch))
				goto deadline;
			hold_point(vm, stretch);
			break;
		case KVM_EXIT_MMIO:
			vm_fail(vm, "access to unmapped guest-physical address "
				    "0x%llx (%s, %u bytes)",
				(unsigned long long)run->mmio.phys_addr,
				run->mmio.is_write ? "write" : "read",
				run->mmio.len);
			return;
		case KVM_EXIT_SHUTDOWN:
			vm_fail(vm, "triple fault (KVM_EXIT_SHUTDOWN)");
			return;
		case KVM_EXIT_HLT:
			vm_fail(vm, "guest halted (KVM_EXIT_HLT)");
			return;
		case KVM_EXIT_FAIL_ENTRY:
			vm_fail(vm, "VM entry failed (hardware reason 0x%llx)",
				(unsigned long long)run->fail_entry
					.hardware_entry_failure_reason);
			return;
		case KVM_EXIT_INTERNAL_ERROR:
			vm_fail(vm, "KVM internal error (suberror %u)",
				run->internal.suberror);
			return;
		default:
			vm_fail(vm, "unexpected exit reason %u", run->exit_reason);
			return;
		}
	}
deadline:
	vm_fail(vm, "deadline: ran for more than %lld ms",
		(long long)(vm->mon->cfg.run_limit_ns / UKF_MS));
}

static void *vcpu_main(void *p)
{
	struct ukvm_vm *vm = p;
	struct ukvm *m = vm->mon;
	struct ukf_be_event ev;
	char err[400];
	ukf_ns_t stretch = 0;

	err[0] = 0;
	{
		/* the creator's mask may block the kick signal (a loop using
		 * signalfd, say): this thread must receive it */
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, UKVM_KICK_SIGNAL);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	}
	if (vm->prepare && vm->prepare(vm, err, sizeof(err)) < 0) {
		vm_fail(vm, "%s", err);
		goto out;
	}
	if (atomic_load(&vm->stop))
		goto out;
	if (m->cfg.run_limit_ns > 0) {
		struct sigevent sev;

		memset(&sev, 0, sizeof(sev));
		sev.sigev_notify = SIGEV_THREAD_ID;
		sev.sigev_signo = UKVM_KICK_SIGNAL;
		sev.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
		if (timer_create(CLOCK_MONOTONIC, &sev, &vm->limit_timer) == 0)
			vm->has_timer = 1;
	}
	/* From here on the thread runs guest code and touches guest-written
	 * memory: only the calls its loop needs (sandbox.h). */
	if (ukvm_sandbox_enter(vm->inst, err, sizeof(err)) < 0) {
		vm_fail(vm, "%s", err);
		goto out;
	}
	tls_run = vm->run;
	if (!vm->start_in_ready && !vm->start_in_call) {
		pthread_mutex_lock(&vm->lock);
		vm->state = UKVM_VM_RUNNING;
		pthread_mutex_unlock(&vm->lock);
	} /* else: paused since ukvm_vm_launch, complete() may come early */
	memset(&ev, 0, sizeof(ev));
	ev.kind = UKF_BE_STARTED;
	ukvm_emit(vm, &ev);
	limit_arm(vm, &stretch);
	if (vm->start_in_ready) {
		/* a template clone: resumes from ready() */
		memset(&ev, 0, sizeof(ev));
		ev.kind = UKF_BE_READY;
		ev.dirty_pages = ukvm_dirty_pages(vm);
		if (pause_wait(vm, &ev, &stretch) < 0)
			goto out;
	} else if (vm->start_in_call) {
		/* a fork child: paused in fork() until the engine answers */
		if (pause_wait(vm, NULL, &stretch) < 0)
			goto out;
	}
	run_loop(vm, &stretch);
	limit_disarm(vm, stretch);
out:
	ukf_vmm_console_flush(&vm->vmm, ukvm_now());
	if (vm->has_timer) {
		timer_delete(vm->limit_timer);
		vm->has_timer = 0;
	}
	tls_run = NULL;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	pthread_mutex_lock(&vm->lock);
	if (vm->state != UKVM_VM_EXITED)
		vm->state = UKVM_VM_FAILED; /* failed, or stopped by destroy */
	vm->thread_started = 0;
	pthread_mutex_unlock(&vm->lock);
	/* Not paused any more, so nobody else touches the VM's memory or
	 * vCPU: a clone's shell may go back to the pool (H6b's hook; it runs
	 * the vCPU to quiesce it, so it belongs on this thread). */
	if (vm->shell_recycle)
		vm->shell_recycle(vm);
	pthread_mutex_lock(&vm->lock);
	/*
	 * Dead: release KVM objects and memory here, off the caller's path
	 * (closing a VM costs ~0.5 ms). The resources are detached under the
	 * lock first (others then see mem == NULL), so nobody waits on it.
	 * Not at SCHED_IDLE: that helped the median on a quiet host, but
	 * under CPU hogs a starved teardown holding KVM's/debugfs' kernel
	 * locks stalled other boots for up to 0.8 s.
	 */
	{
		struct ukvm_vm dead;

		memset(&dead, 0, sizeof(dead));
		dead.run = vm->run;
		dead.run_size = vm->run_size;
		dead.vcpu_fd = vm->vcpu_fd;
		dead.vm_fd = vm->vm_fd;
		dead.mem = vm->mem;
		dead.mem_size = vm->mem_size;
		dead.mem_fd = vm->mem_fd;
		vm->run = NULL;
		vm->mem = NULL;
		vm->vcpu_fd = vm->vm_fd = vm->mem_fd = -1;
		pthread_mutex_unlock(&vm->lock);
		/* memory now; the VM and vCPU fds by the reaper, while no
		 * cold boot is in flight (measured: p95 of sequential boots
		 * 0.88-1.07 ms -> 0.48-0.52 ms with the closes deferred) */
		teardown(m, &dead);
	}
	ukvm_boot_done(vm);
	ukvm_vm_put(vm);
	pthread_mutex_lock(&m->lock);
	if (--m->threads == 0)
		pthread_cond_broadcast(&m->idle);
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

int ukvm_vm_launch(struct ukvm_vm *vm)
{
	struct ukvm *m = vm->mon;
	pthread_attr_t attr;
	int rc;

	/* A clone starts paused (in ready() or in its call): answerable by
	 * complete() from now on, even before its thread runs. */
	if (vm->start_in_ready)
		pause_enter(vm, UKVM_VM_READY, UKF_HC_READY, vm->pending_gpa);
	else if (vm->start_in_call)
		pause_enter(vm, UKVM_VM_CALL, vm->pending_hc, vm->pending_gpa);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	ukvm_vm_get(vm); /* the thread's reference */
	pthread_mutex_lock(&m->lock);
	m->threads++;
	pthread_mutex_unlock(&m->lock);
	pthread_mutex_lock(&vm->lock);
	vm->thread_started = 1;
	rc = pthread_create(&vm->thread, &attr, vcpu_main, vm);
	if (rc)
		vm->thread_started = 0;
	pthread_mutex_unlock(&vm->lock);
	pthread_attr_destroy(&attr);
	if (rc) {
		pthread_mutex_lock(&m->lock);
		if (--m->threads == 0)
			pthread_cond_broadcast(&m->idle);
		pthread_mutex_unlock(&m->lock);
		ukvm_vm_put(vm);
		return -rc;
	}
	return 0;
}

void ukvm_vm_stop(struct ukvm_vm *vm)
{
	atomic_store(&vm->stop, 1);
	pthread_mutex_lock(&vm->lock);
	pthread_cond_broadcast(&vm->cond);
	if (vm->thread_started)
		pthread_kill(vm->thread, UKVM_KICK_SIGNAL);
	pthread_mutex_unlock(&vm->lock);
}
