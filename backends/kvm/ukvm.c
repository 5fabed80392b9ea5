/* SPDX-License-Identifier: MIT */
/* ukvm.c - the KVM monitor: creation, image cache, backend operations (cold boot, complete, destroy). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clone.h"
#include "sandbox.h"
#include "template.h" /* ukvm_phases */
#include "ukvm_int.h"


/* The KVM device: /dev/kvm, or $UKVM_DEVICE (tests use it to check how a
 * host without KVM is reported). */
static int open_kvm(char *why, size_t len)
{
	const char *dev = getenv("UKVM_DEVICE");
	int fd, v;

	if (!dev || !dev[0])
		dev = "/dev/kvm";
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "cannot open %s: %s", dev, strerror(errno));
		return -1;
	}
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		snprintf(why, len, "/dev/kvm API version %d, need %d", v,
			 KVM_API_VERSION);
		close(fd);
		return -1;
	}
	if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0 ||
	    ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
		snprintf(why, len, "/dev/kvm lacks KVM_CAP_USER_MEMORY or "
				   "KVM_CAP_IMMEDIATE_EXIT");
		close(fd);
		return -1;
	}
	return fd;
}

int ukvm_available(char *why, size_t len)
{
	char tmp[200];
	int fd;

	if (!why) {
		why = tmp;
		len = sizeof(tmp);
	}
	fd = open_kvm(why, len);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* Host TSC frequency, read from a throwaway vCPU (0 if unknown). */
static uint64_t probe_tsc_khz(int kvm_fd)
{
	int vmfd = ioctl(kvm_fd, KVM_CREATE_VM, 0), cpu;
	long khz = 0;

	if (vmfd < 0)
		return 0;
	cpu = ioctl(vmfd, KVM_CREATE_VCPU, 0);
	if (cpu >= 0) {
		khz = ioctl(cpu, KVM_GET_TSC_KHZ, 0);
		close(cpu);
	}
	close(vmfd);
	return khz > 0 ? (uint64_t)khz : 0;
}

/*
 * Start the cold-boot shell pool from this helper thread at SCHED_IDLE:
 * the pool's refill thread inherits the policy, so refilling uses idle CPU
 * only and never competes with the boots it serves.
 */
struct pool_start {
	struct ukvm *m;
	char *err;
	size_t errlen;
};

static void *pool_starter(void *arg)
{
	struct pool_start *ps = arg;
	struct sched_param sp = { 0 };

	pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
	ps->m->boot_pool = ukvm_shell_pool_create(
		ps->m->kvm_fd, ps->m->cfg.shell_pool, ps->err, ps->errlen);
	return NULL;
}

ukvm_t *ukvm_create(const struct ukvm_config *cfg, char *err, size_t errlen)
{
	struct sigaction sa;
	struct ukvm *m;
	int n = 128;

	if (!cfg || !cfg->event) {
		snprintf(err, errlen, "ukvm_create: an event callback is required");
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "ukvm_create: out of memory");
		return NULL;
	}
	/* the vCPU threads' filter, compiled once per process */
	if (ukvm_sandbox_init(err, errlen) < 0) {
		free(m);
		return NULL;
	}
	m->cfg = *cfg;
	m->kvm_fd = open_kvm(err, errlen);
	if (m->kvm_fd < 0)
		goto fail;
	m->run_size = ioctl(m->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (m->run_size <= 0) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s",
			 strerror(errno));
		goto fail;
	}
	for (;;) {
		m->cpuid = calloc(1, sizeof(*m->cpuid) +
					     n * sizeof(m->cpuid->entries[0]));
		if (!m->cpuid) {
			snprintf(err, errlen, "ukvm_create: out of memory");
			goto fail;
		}
		m->cpuid->nent = n;
		if (ioctl(m->kvm_fd, KVM_GET_SUPPORTED_CPUID, m->cpuid) == 0)
			break;
		free(m->cpuid);
		m->cpuid = NULL;
		if (errno != E2BIG || n >= 4096) {
			snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s",
				 strerror(errno));
			goto fail;
		}
		n *= 2;
	}
	m->tsc_khz = probe_tsc_khz(m->kvm_fd);
	m->boot_trace = getenv("UKVM_BOOT_TRACE") != NULL;
	if (cfg->shell_pool) {
		struct pool_start ps = { m, err, errlen };
		pthread_t t;

		/* created from a helper thread at SCHED_IDLE, whose policy
		 * the refill thread inherits (an unprivileged thread could
		 * not switch itself back from SCHED_IDLE) */
		if (pthread_create(&t, NULL, pool_starter, &ps) == 0)
			pthread_join(t, NULL);
		else
			snprintf(err, errlen, "shell pool: pthread_create failed");
		if (!m->boot_pool)
			goto fail;
	}
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->idle, NULL);
	atomic_init(&m->booting, 0);
	atomic_init(&m->last_launch, 0);
	/* refill between bursts of boots, not during one */
	ukvm_shell_pool_set_gate(m->boot_pool, ukvm_quiet, m);

	/* The kick handler only touches the interrupted thread's own
	 * kvm_run; installing it again from another monitor is harmless. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ukvm_kick_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(UKVM_KICK_SIGNAL, &sa, NULL) < 0) {
		snprintf(err, errlen, "sigaction: %s", strerror(errno));
		goto fail;
	}
	/* without the reaper thread teardown is immediate */
	(void)ukvm_reaper_start(m, getenv("UKVM_NO_REAPER") == NULL);
	(void)ukvm_crc_worker_start(m, getenv("UKVM_NO_CRC_WORKER") == NULL);
	return m;
fail:
	if (m->kvm_fd >= 0)
		close(m->kvm_fd);
	free(m->cpuid);
	free(m);
	return NULL;
}

void ukvm_destroy(ukvm_t **mp)
{
	struct ukvm *m;
	struct ukvm_image *img;

	if (!mp || !*mp)
		return;
	m = *mp;
	*mp = NULL;
	ukvm_crc_worker_stop(m);
	ukvm_templates_free(m);
	for (unsigned b = 0; b < UKVM_HASH_BUCKETS; b++) {
		for (;;) {
			struct ukvm_vm *vm;

			pthread_mutex_lock(&m->lock);
			vm = m->table[b].head;
			pthread_mutex_unlock(&m->lock);
			if (!vm)
				break;
			vm = ukvm_vm_unlink(m, vm->inst);
			if (vm) {
				ukvm_vm_stop(vm);
				ukvm_vm_put(vm);
			}
		}
	}
	pthread_mutex_lock(&m->lock);
	while (m->threads)
		pthread_cond_wait(&m->idle, &m->lock);
	pthread_mutex_unlock(&m->lock);
	ukvm_reaper_stop(m); /* closes what it still holds */
	ukvm_shell_pool_destroy(&m->boot_pool);
	while ((img = m->images)) {
		m->images = img->next;
		ukvm_image_free(img);
	}
	free(m->apps);
	pthread_cond_destroy(&m->idle);
	pthread_mutex_destroy(&m->lock);
	close(m->kvm_fd);
	free(m->cpuid);
	free(m);
}

/*
 * The cached image for path, loaded (again) if the file changed. Images
 * stay alive until the monitor is destroyed (VMs being built use them).
 */
static const struct ukvm_image *image_get(struct ukvm *m, const char *path,
					  char *err, size_t errlen)
{
	struct ukvm_image *img, *fresh;
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "image %s: %s", path, strerror(errno));
		return NULL;
	}
	pthread_mutex_lock(&m->lock);
	for (img = m->images; img; img = img->next)
		if (strcmp(img->path, path) == 0 && img->dev == st.st_dev &&
		    img->ino == st.st_ino && img->size == st.st_size &&
		    img->mtime_ns == (int64_t)st.st_mtim.tv_sec * UKF_S +
					     st.st_mtim.tv_nsec)
			break;
	pthread_mutex_unlock(&m->lock);
	if (img)
		return img;
	fresh = ukvm_image_load(path, err, errlen);
	if (!fresh)
		return NULL;
	pthread_mutex_lock(&m->lock);
	fresh->next = m->images;
	m->images = fresh;
	pthread_mutex_unlock(&m->lock);
	return fresh;
}

int ukvm_image_sha256(struct ukvm *m, const char *path, uint8_t out[32],
		      char *err, size_t errlen)
{
	const struct ukvm_image *img = image_get(m, path, err, errlen);

	if (!img)
		return access(path, R_OK) < 0 ? -errno : -EINVAL;
	memcpy(out, img->sha256, 32);
	return 0;
}

void ukvm_app_note(struct ukvm *m, const struct ukf_app *app)
{
	struct ukvm_app_ident *a;

	if (!app || !app->name[0] || app->id >= UKVM_APPS_MAX)
		return;
	pthread_mutex_lock(&m->lock);
	if (app->id >= m->napps) {
		uint32_t n = app->id + 16;
		struct ukvm_app_ident *p = realloc(m->apps, n * sizeof(*p));

		if (!p) {
			pthread_mutex_unlock(&m->lock);
			return;
		}
		memset(p + m->napps, 0, (n - m->napps) * sizeof(*p));
		m->apps = p;
		m->napps = n;
	}
	a = &m->apps[app->id];
	if (strcmp(a->name, app->name) || strcmp(a->image, app->image)) {
		snprintf(a->name, sizeof(a->name), "%s", app->name);
		snprintf(a->image, sizeof(a->image), "%s", app->image);
	}
	pthread_mutex_unlock(&m->lock);
}

int ukvm_app_ident(struct ukvm *m, uint32_t app, struct ukvm_app_ident *out)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&m->lock);
	if (app < m->napps && m->apps[app].name[0]) {
		*out = m->apps[app];
		rc = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static void fail_now(struct ukvm *m, ukf_id_t inst, const char *reason)
{
	struct ukf_be_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = UKF_BE_FAIL;
	ev.inst = inst;
	ev.text = reason;
	ev.at = ukvm_now();
	m->cfg.event(m->cfg.u, m->cfg.node, &ev);
}

/* Build a cold-booted VM, in its vCPU thread. With UKVM_BOOT_TRACE set
 * in the environment, prints where the time went (us since the previous
 * step, from the cold_boot call). */
static int cold_prepare(struct ukvm_vm *vm, char *err, size_t errlen)
{
	const struct ukvm_image *img = vm->prepare_arg;
	struct ukvm_phases ph = { 0 }, *php = vm->mon->boot_trace ? &ph : NULL;
	int pooled = vm->mon->boot_pool && !vm->slot_flags, rc;

	if (php) {
		ph.name[0] = "launch";
		ph.at[0] = vm->boot_ns;
		ph.n = 1;
		ukvm_phase(php, "thread");
	}
	if ((pooled ? ukvm_mem_create_pooled(vm, err, errlen)
		    : ukvm_mem_create(vm, err, errlen)) < 0)
		return -1;
	ukvm_phase(php, pooled ? "shell+memfd" : "memfd");
	ukvm_elf_copy(img, vm->mem, 1); /* fresh memfd: zero */
	ukvm_layout_build(vm->mem, vm->mem_size);
	ukvm_layout_protect(vm->mem, img);
	ukvm_bootinfo_fill(vm, img);
	ukvm_phase(php, "image+layout");
	if (!pooled && ukvm_kvm_create(vm, err, errlen) < 0)
		return -1;
	ukvm_phase(php, "kvm-objects");
	rc = ukvm_vcpu_boot_regs(vm, img->entry, vm->mem_size,
				 UKF_BOOTINFO_GPA, err, errlen);
	ukvm_phase(php, "regs");
	if (php)
		ukvm_phases_print(php, "cold_boot", vm->inst);
	return rc;
}

int ukvm_boot_pool_fill(ukvm_t *m, uint64_t mem_bytes, int timeout_ms)
{
	uint64_t mem = (mem_bytes + UKVM_MEM_ALIGN - 1) & ~(UKVM_MEM_ALIGN - 1);

	if (!m || !m->boot_pool || !mem)
		return -EINVAL;
	return (int)ukvm_shell_pool_prefill(m->boot_pool, mem,
					    m->cfg.shell_pool, timeout_ms);
}

static int op_cold_boot(void *b, ukf_node_id_t node, ukf_id_t inst,
			const struct ukf_app *app, const char *args)
{
	struct ukvm *m = b;
	const struct ukvm_image *img;
	struct ukvm_vm *vm;
	char err[400];
	uint64_t mem;
	int rc;

	if (inst == 0)
		return -EINVAL; /* ids are never 0 */
	vm = ukvm_vm_find(m, inst);
	if (vm) { /* never report a failure for another VM */
		ukvm_vm_put(vm);
		return -EEXIST;
	}
	if (!app || !app->image[0]) {
		fail_now(m, inst, "cold boot: the app has no guest image");
		return 0;
	}
	mem = (app->mem_bytes + UKVM_MEM_ALIGN - 1) & ~(UKVM_MEM_ALIGN - 1);
	if (app->mem_bytes < UKF_MEM_MIN || mem > UKF_MEM_MAX) {
		snprintf(err, sizeof(err),
			 "cold boot: guest memory %llu bytes outside [%llu, "
			 "%llu]",
			 (unsigned long long)app->mem_bytes,
			 (unsigned long long)UKF_MEM_MIN,
			 (unsigned long long)UKF_MEM_MAX);
		fail_now(m, inst, err);
		return 0;
	}
	if (args && strlen(args) >= UKF_ARGS_MAX) {
		snprintf(err, sizeof(err),
			 "cold boot: argument string longer than %d bytes",
			 UKF_ARGS_MAX - 1);
		fail_now(m, inst, err);
		return 0;
	}
	img = image_get(m, app->image, err, sizeof(err));
	if (!img) {
		fail_now(m, inst, err);
		return 0;
	}
	if (ukvm_elf_fits(img, mem, err, sizeof(err)) < 0) {
		char msg[sizeof(err) + UKF_APP_PATH_MAX + 16];

		snprintf(msg, sizeof(msg), "image %s: %s", app->image, err);
		fail_now(m, inst, msg);
		return 0;
	}
	rc = ukvm_vm_new(m, inst, mem, &vm);
	if (rc < 0)
		return rc;
	ukvm_app_note(m, app);
	vm->app = app->id;
	snprintf(vm->app_name, sizeof(vm->app_name), "%s", app->name);
	memcpy(vm->image_sha256, img->sha256, sizeof(vm->image_sha256));
	snprintf(vm->args, sizeof(vm->args), "%s", args ? args : "");
	vm->prepare = cold_prepare;
	vm->prepare_arg = (void *)img;
	vm->boot_ns = ukvm_now();
	ukvm_boot_begin(vm);
	rc = ukvm_vm_launch(vm);
	if (rc < 0) {
		ukvm_boot_done(vm);
		vm = ukvm_vm_unlink(m, inst);
		if (vm)
			ukvm_vm_put(vm);
		return rc;
	}
	return 0;
}

static void op_destroy(void *b, ukf_node_id_t node, ukf_id_t inst)
{
	struct ukvm_vm *vm = ukvm_vm_unlink(b, inst);

	if (!vm)
		return;
	ukvm_vm_stop(vm); /* the vCPU thread tears the VM down */
	ukvm_vm_put(vm);
}

static int op_complete(void *b, ukf_node_id_t node, ukf_id_t inst,
		       int64_t ret, int64_t status, ukf_id_t src,
		       const void *data, size_t len)
{
	struct ukvm_vm *vm = ukvm_vm_find(b, inst);
	int rc;

	if (!vm)
		return -ESRCH;
	rc = ukvm_vm_complete(vm, ret, status, src, data, len);
	ukvm_vm_put(vm);
	return rc;
}

const struct ukf_backend_ops ukvm_backend_ops = {
	.name = "kvm",
	.cold_boot = op_cold_boot,
	.make_template = ukvm_make_template,
	.load_template = ukvm_load_template,
	.drop_template = ukvm_drop_template,
	.clone_template = ukvm_clone_template,
	.clone_live = ukvm_clone_live,
	.save_delta = ukvm_save_delta,
	.restore_delta = ukvm_restore_delta,
	.destroy = op_destroy,
	.complete = op_complete,
	.export_template = ukvm_export_template,
	.template_info = ukvm_template_info_op,
};
