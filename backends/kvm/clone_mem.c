/* SPDX-License-Identifier: MIT */
/* clone_mem.c - sealed memfd templates, copy-on-write mappings, dirty-page scans, VM shell pool. */
#define _GNU_SOURCE
#include "clone.h"
#include "ukvm_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096ULL

/* PAGEMAP_SCAN (Linux 6.7 uapi); defined here for older headers. */
#ifndef PAGEMAP_SCAN
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
struct page_region {
	uint64_t start, end, categories;
};
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask;
	uint64_t return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

#define SEALS (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

int ukvm_cow_is_sealed(int fd)
{
	int s = fcntl(fd, F_GET_SEALS);

	return s >= 0 && (s & SEALS) == SEALS;
}

void *ukvm_cow_map(int fd, uint64_t size, void *fixed)
{
	return mmap(fixed, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_NORESERVE | (fixed ? MAP_FIXED : 0), fd,
		    0);
}

int ukvm_cow_seal_in_place(int fd, void *addr, uint64_t size, char *err,
			   size_t errlen)
{
	int seals = fcntl(fd, F_GET_SEALS);
	void *p;
	int e;

	if (seals < 0) {
		e = -errno;
		ukf_seterr(err, errlen, "F_GET_SEALS: %s", strerror(errno));
		return e;
	}
	if (seals & F_SEAL_SEAL) {
		ukf_seterr(err, errlen,
			    "memfd not sealable (F_SEAL_SEAL set)");
		return -EPERM;
	}
	/* Replace the shared mapping by a private one of the same file. */
	p = ukvm_cow_map(fd, size, addr);
	if (p == MAP_FAILED) {
		e = -errno;
		ukf_seterr(err, errlen,
			    "mmap MAP_PRIVATE over guest memory: %s",
			    strerror(errno));
		return e;
	}
	if (fcntl(fd, F_ADD_SEALS, SEALS) < 0) {
		e = -errno;
		ukf_seterr(err, errlen, "F_ADD_SEALS: %s", strerror(errno));
		/* Back to the shared mapping: the guest must keep writing to
		 * the file, nothing was lost (private map had no copies). */
		if (mmap(addr, size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
			ukf_seterr(
			    err, errlen,
			    "F_ADD_SEALS failed and restoring the shared mapping failed: %s",
			    strerror(errno));
		return e;
	}
	return 0;
}

static int page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (size_t i = 0; i < PAGE / 8; i += 4)
		if (q[i] | q[i + 1] | q[i + 2] | q[i + 3])
			return 0;
	return 1;
}

int ukvm_cow_freeze_copy(const void *mem, uint64_t size, const char *name,
			 int *fd_out, char *err, size_t errlen)
{
	const uint8_t *src = mem;
	uint8_t *dst;
	int fd, e;

	*fd_out = -1;
	fd = memfd_create(name ? name : "ukf-template",
			  MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		e = -errno;
		ukf_seterr(err, errlen, "memfd_create: %s", strerror(errno));
		return e;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		e = -errno;
		ukf_seterr(err, errlen, "ftruncate %llu: %s",
			    (unsigned long long)size, strerror(errno));
		goto fail;
	}
	dst = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (dst == MAP_FAILED) {
		e = -errno;
		ukf_seterr(err, errlen, "mmap template: %s", strerror(errno));
		goto fail;
	}
	for (uint64_t off = 0; off < size; off += PAGE)
		if (!page_is_zero(src + off))
			memcpy(dst + off, src + off, PAGE);
	munmap(dst, size);
	if (fcntl(fd, F_ADD_SEALS, SEALS) < 0) {
		e = -errno;
		ukf_seterr(err, errlen, "F_ADD_SEALS: %s", strerror(errno));
		goto fail;
	}
	*fd_out = fd;
	return 0;
fail:
	close(fd);
	return e;
}

/* Fallback: /proc/self/pagemap entries (bit 63 present, 61 file/shared). */
static int dirty_scan_pagemap(int pfd, uintptr_t start, uint64_t pages,
			      uint64_t *bitmap, uint64_t *count, char *err,
			      size_t errlen)
{
	uint64_t buf[512];
	uint64_t i = 0, n = 0;

	while (i < pages) {
		uint64_t chunk = pages - i < 512 ? pages - i : 512;
		off_t off = (off_t)((start / PAGE + i) * 8);
		ssize_t got = pread(pfd, buf, chunk * 8, off);

		if (got != (ssize_t)(chunk * 8)) {
			ukf_seterr(err, errlen, "read /proc/self/pagemap: %s",
				    got < 0 ? strerror(errno) : "short read");
			return got < 0 ? -errno : -EIO;
		}
		for (uint64_t k = 0; k < chunk; k++) {
			uint64_t e = buf[k];
			/* present or swapped, and not a file page */
			if ((e >> 63 & 1 || e >> 62 & 1) && !(e >> 61 & 1)) {
				bitmap[(i + k) / 64] |= 1ULL << ((i + k) % 64);
				n++;
			}
		}
		i += chunk;
	}
	*count = n;
	return 0;
}

int ukvm_cow_dirty_scan_pagemap(int pagemap_fd, const void *mem,
				uint64_t size, uint64_t *bitmap,
				uint64_t *count, char *err, size_t errlen)
{
	memset(bitmap, 0, (size / PAGE + 63) / 64 * 8);
	return dirty_scan_pagemap(pagemap_fd, (uintptr_t)mem, size / PAGE,
				  bitmap, count, err, errlen);
}

int ukvm_cow_dirty_scan(int pagemap_fd, const void *mem, uint64_t size,
			uint64_t *bitmap, uint64_t *count, char *err,
			size_t errlen)
{
	struct page_region vec[256];
	struct pm_scan_arg a;
	uintptr_t start = (uintptr_t)mem, end = start + size;
	uint64_t pages = size / PAGE, n = 0;

	memset(bitmap, 0, (pages + 63) / 64 * 8);
	*count = 0;
	/*
	 * Two passes (anonymous = not FILE and either PRESENT or SWAPPED):
	 * category_mask requires every listed category to match, so present
	 * and swapped pages are asked for separately.
	 */
	for (int pass = 0; pass < 2; pass++) {
		uint64_t cat = pass ? PAGE_IS_SWAPPED : PAGE_IS_PRESENT;
		uintptr_t at = start;

		while (at < end) {
			long r;

			memset(&a, 0, sizeof(a));
			a.size = sizeof(a);
			a.start = at;
			a.end = end;
			a.vec = (uintptr_t)vec;
			a.vec_len = sizeof(vec) / sizeof(vec[0]);
			a.category_inverted = PAGE_IS_FILE;
			a.category_mask = PAGE_IS_FILE | cat;
			a.return_mask = PAGE_IS_FILE | cat;
			r = ioctl(pagemap_fd, PAGEMAP_SCAN, &a);
			if (r < 0) {
				if (errno == ENOTTY || errno == EINVAL)
					return dirty_scan_pagemap(
						pagemap_fd, start, pages,
						bitmap, count, err, errlen);
				ukf_seterr(err, errlen, "PAGEMAP_SCAN: %s",
					    strerror(errno));
				return -errno;
			}
			for (long k = 0; k < r; k++) {
				for (uint64_t v = vec[k].start; v < vec[k].end;
				     v += PAGE) {
					uint64_t i = (v - start) / PAGE;
					uint64_t bit = 1ULL << (i % 64);

					if (!(bitmap[i / 64] & bit)) {
						bitmap[i / 64] |= bit;
						n++;
					}
				}
			}
			if (a.walk_end <= at)
				break;
			at = a.walk_end;
		}
	}
	*count = n;
	return 0;
}

void ukvm_cow_copy_pages(void *dst, const void *src, uint64_t size,
			 const uint64_t *bitmap)
{
	uint64_t words = (size / PAGE + 63) / 64;

	for (uint64_t w = 0; w < words; w++) {
		uint64_t bits = bitmap[w];

		while (bits) {
			unsigned b = (unsigned)__builtin_ctzll(bits);
			uint64_t off = (w * 64 + b) * PAGE;

			/* Runs of set bits: one memcpy per run. */
			unsigned run = 0;
			while (b + run < 64 && (bits >> (b + run) & 1))
				run++;
			/* Faults dominate here (~2 us/page on nested KVM):
			 * populate a run in one call, then copy. */
			if (run >= 4)
				(void)madvise((uint8_t *)dst + off, run * PAGE,
					      MADV_POPULATE_WRITE);
			memcpy((uint8_t *)dst + off, (const uint8_t *)src + off,
			       run * PAGE);
			bits &= run == 64 ? 0 : ~(((1ULL << run) - 1) << b);
		}
	}
}

/* --- KVM dirty log --- */

int ukvm_dirty_log_enable(int vm_fd,
			  const struct kvm_userspace_memory_region *slot, int on)
{
	struct kvm_userspace_memory_region r = *slot;

	if (on)
		r.flags |= KVM_MEM_LOG_DIRTY_PAGES;
	else
		r.flags &= ~KVM_MEM_LOG_DIRTY_PAGES;
	return ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

int ukvm_dirty_log_fetch(int vm_fd, uint32_t slot, uint64_t pages,
			 uint64_t *acc)
{
	uint64_t words = (pages + 63) / 64;
	uint64_t *bm = calloc(words, 8);
	struct kvm_dirty_log log = { .slot = slot };

	if (!bm)
		return -ENOMEM;
	log.dirty_bitmap = bm;
	if (ioctl(vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
		int e = -errno;

		free(bm);
		return e;
	}
	for (uint64_t w = 0; w < words; w++)
		acc[w] |= bm[w];
	free(bm);
	return 0;
}

/* --- VM shells --- */

/*
 * A vCPU's first KVM_RUN costs ~50 us more than later ones (lazy set-up in
 * KVM); pay it here, off the clone's path: run once at guest-physical 0,
 * which is in the memslot but still PROT_NONE, so KVM_RUN fails at once
 * (EFAULT) without running anything; then clear any pending state. The
 * clone restores every register afterwards. Failures are harmless.
 */
static void shell_warm(struct ukvm_shell *s)
{
	struct kvm_sregs sr;
	struct kvm_regs r;

	if (ioctl(s->vcpu_fd, KVM_GET_SREGS, &sr) < 0)
		return;
	sr.cs.base = 0;
	sr.cs.selector = 0;
	memset(&r, 0, sizeof(r));
	r.rflags = 2;
	if (ioctl(s->vcpu_fd, KVM_SET_SREGS, &sr) < 0 ||
	    ioctl(s->vcpu_fd, KVM_SET_REGS, &r) < 0)
		return;
	(void)ioctl(s->vcpu_fd, KVM_RUN, 0);
	s->run->immediate_exit = 1;
	(void)ioctl(s->vcpu_fd, KVM_RUN, 0);
	s->run->immediate_exit = 0;
}

int ukvm_shell_make(int kvm_fd, struct ukvm_shell *out, char *err,
		    size_t errlen)
{
	return ukvm_shell_make_mem(kvm_fd, 0, out, err, errlen);
}

int ukvm_shell_make_mem(int kvm_fd, uint64_t mem_size, struct ukvm_shell *out,
			char *err, size_t errlen)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[256];
	} cpuid;
	int run_size, e;

	memset(out, 0, sizeof(*out));
	out->vm_fd = out->vcpu_fd = -1;
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0) {
		ukf_seterr(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s",
			    strerror(errno));
		return -EINVAL;
	}
	out->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (out->vm_fd < 0) {
		e = -errno;
		ukf_seterr(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		return e;
	}
	/* Needed on Intel VMX before running; harmless elsewhere. */
	(void)ioctl(out->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000UL);
	out->vcpu_fd = ioctl(out->vm_fd, KVM_CREATE_VCPU, 0);
	if (out->vcpu_fd < 0) {
		e = -errno;
		ukf_seterr(err, errlen, "KVM_CREATE_VCPU: %s",
			    strerror(errno));
		goto fail;
	}
	memset(&cpuid, 0, sizeof(cpuid));
	cpuid.c.nent = 256;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0 ||
	    ioctl(out->vcpu_fd, KVM_SET_CPUID2, &cpuid) < 0) {
		e = -errno;
		ukf_seterr(err, errlen, "CPUID setup: %s", strerror(errno));
		goto fail;
	}
	out->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE,
			MAP_SHARED, out->vcpu_fd, 0);
	if (out->run == MAP_FAILED) {
		e = -errno;
		out->run = NULL;
		ukf_seterr(err, errlen, "mmap kvm_run: %s", strerror(errno));
		goto fail;
	}
	out->run_size = (size_t)run_size;
	if (mem_size) {
		struct kvm_userspace_memory_region reg;

		out->mem = mmap(NULL, mem_size, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
				0);
		if (out->mem == MAP_FAILED) {
			e = -errno;
			out->mem = NULL;
			ukf_seterr(err, errlen, "reserve %llu bytes: %s",
				    (unsigned long long)mem_size,
				    strerror(errno));
			goto fail;
		}
		out->mem_size = mem_size;
		memset(&reg, 0, sizeof(reg));
		reg.memory_size = mem_size;
		reg.userspace_addr = (uintptr_t)out->mem;
		if (ioctl(out->vm_fd, KVM_SET_USER_MEMORY_REGION, &reg) < 0) {
			e = -errno;
			ukf_seterr(err, errlen,
				    "KVM_SET_USER_MEMORY_REGION: %s",
				    strerror(errno));
			goto fail;
		}
		shell_warm(out);
	}
	return 0;
fail:
	ukvm_shell_close(out);
	return e;
}

void ukvm_shell_close(struct ukvm_shell *s)
{
	if (s->mem)
		munmap(s->mem, s->mem_size);
	s->mem = NULL;
	s->mem_size = 0;
	if (s->run)
		munmap(s->run, s->run_size);
	if (s->vcpu_fd >= 0)
		close(s->vcpu_fd);
	if (s->vm_fd >= 0)
		close(s->vm_fd);
	s->run = NULL;
	s->vcpu_fd = s->vm_fd = -1;
}

struct ukvm_shell_pool {
	int kvm_fd;
	unsigned target;
	pthread_mutex_t lock;
	pthread_cond_t want; /* refill thread waits for room */
	struct ukvm_shell *ready;
	unsigned n;
	int stop;
	int failed; /* last refill failed: stop trying until a get */
	uint64_t mem_size; /* memslot size of the shells to pre-build */
	int sized; /* a size to build is known (not so in a lazy pool before
		      its first get) */
	unsigned flags; /* UKVM_POOL_* */
	unsigned building; /* shells being made by refill threads */
	unsigned making; /* shells being made by gets that missed: the refill
			    waits for them ... */
	uint64_t made; /* ... unless one finished since the refill thread's
			  last look (gets missing back to back would hold
			  the refill off for good) */
	pthread_t thread[4];
	unsigned nthreads;
	uint64_t hits, misses, returned, built;
	int (*gate)(void *arg); /* refill only while it returns 1 */
	void *gate_arg;
	uint64_t settle_ns; /* UKVM_POOL_SETTLE: how long a shortage may
			       wait for shells to come back */
	uint64_t short_since; /* CLOCK_MONOTONIC ns since when the size
				 short_size has been under the target
				 (0: not short) */
	uint64_t short_size;
	/* a prefill's size: built without settling until the target */
	int unsettled;
	uint64_t unsettled_size;
};

#define UKVM_POOL_SETTLE_NS (20ULL * 1000 * 1000)

/*
 * The pool holds shells of several memslot sizes (one per app memory size
 * in use): a get takes one of its size; the refill threads build for the
 * size asked for last; when the pool is full, a shell of another size
 * makes room (closed outside the lock: closing a VM takes ~0.6 ms).
 */

/* Ready shells of size `size`. Caller holds p->lock. */
static unsigned pool_count(ukvm_shell_pool_t *p, uint64_t size)
{
	unsigned c = 0;

	for (unsigned i = 0; i < p->n; i++)
		c += p->ready[i].mem_size == size;
	return c;
}

/* Remove a ready shell not of `size` into *out; 1 if there was one. */
static int pool_evict_other(ukvm_shell_pool_t *p, uint64_t size,
			    struct ukvm_shell *out)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->ready[i].mem_size != size) {
			*out = p->ready[i];
			p->ready[i] = p->ready[--p->n];
			return 1;
		}
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Wait on p->want until the CLOCK_MONOTONIC time `at` (ns) at most. */
static void pool_wait_until(ukvm_shell_pool_t *p, uint64_t at)
{
	struct timespec ts = { .tv_sec = (time_t)(at / 1000000000ULL),
			       .tv_nsec = (long)(at % 1000000000ULL) };

	pthread_cond_timedwait(&p->want, &p->lock, &ts);
}

/*
 * Whether a refill thread should build a shell of the size asked for last
 * now. When not only because a settling shortage is younger than the
 * settle time, *wake is when to look again (else 0: wait to be woken).
 * Caller holds p->lock.
 */
static int pool_wants(ukvm_shell_pool_t *p, uint64_t *wake)
{
	unsigned have = pool_count(p, p->mem_size) + p->building;
	uint64_t now;

	*wake = 0;
	if (have >= p->target) {
		p->short_since = 0;
		if (p->unsettled_size == p->mem_size)
			p->unsettled = 0;
		return 0;
	}
	if (!(p->flags & UKVM_POOL_SETTLE) || have < (p->target + 1) / 2 ||
	    (p->unsettled && p->unsettled_size == p->mem_size))
		return 1;
	/* a full pool makes room by evicting: only under the low mark */
	if (p->n + p->building >= 2 * p->target)
		return 0;
	now = mono_ns();
	if (!p->short_since || p->short_size != p->mem_size) {
		p->short_since = now;
		p->short_size = p->mem_size;
	}
	if (now - p->short_since >= p->settle_ns)
		return 1;
	*wake = p->short_since + p->settle_ns;
	return 0;
}

static void *pool_main(void *arg)
{
	ukvm_shell_pool_t *p = arg;
	struct ukvm_shell s, old;
	char err[128];
	uint64_t seen = 0; /* p->made when this thread last began a build */

	if (p->flags & UKVM_POOL_BATCH) {
		struct sched_param sp = { 0 };

		pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
	}
	pthread_mutex_lock(&p->lock);
	for (;;) {
		uint64_t wake = 0;

		while (!p->stop &&
		       (!p->sized || (p->making && seen == p->made) ||
			p->failed || !pool_wants(p, &wake))) {
			if (wake)
				pool_wait_until(p, wake);
			else
				pthread_cond_wait(&p->want, &p->lock);
			wake = 0;
		}
		if (p->stop)
			break;
		if (p->gate && !p->gate(p->gate_arg)) {
			/* not now (e.g. boots in flight): look again soon */
			pool_wait_until(p, mono_ns() + 2 * 1000 * 1000);
			continue;
		}
		uint64_t size = p->mem_size;

		seen = p->made;
		p->building++;
		pthread_mutex_unlock(&p->lock);
		int rc = ukvm_shell_make_mem(p->kvm_fd, size, &s, err,
					     sizeof(err));
		pthread_mutex_lock(&p->lock);
		p->building--;
		if (rc) {
			p->failed = 1; /* e.g. out of fds: retry after a get */
			continue;
		}
		int evicted = 0;

		if (!p->stop && p->n >= 2 * p->target)
			evicted = pool_evict_other(p, size, &old);
		if (p->stop || p->n >= 2 * p->target ||
		    pool_count(p, size) >= p->target) {
			pthread_mutex_unlock(&p->lock);
			ukvm_shell_close(&s);
			if (evicted)
				ukvm_shell_close(&old);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		p->ready[p->n++] = s;
		p->built++;
		if (evicted) {
			pthread_mutex_unlock(&p->lock);
			ukvm_shell_close(&old);
			pthread_mutex_lock(&p->lock);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

ukvm_shell_pool_t *ukvm_shell_pool_create(int kvm_fd, unsigned target,
					  char *err, size_t errlen)
{
	return ukvm_shell_pool_create_ex(kvm_fd, target, 1, 0, err, errlen);
}

ukvm_shell_pool_t *ukvm_shell_pool_create_ex(int kvm_fd, unsigned target,
					     unsigned nthreads, unsigned flags,
					     char *err, size_t errlen)
{
	ukvm_shell_pool_t *p = calloc(1, sizeof(*p));

	/* Room for twice the target: recycled shells come back too. */
	if (!p || !(p->ready = calloc(target ? 2 * target : 1,
				      sizeof(*p->ready)))) {
		free(p);
		ukf_seterr(err, errlen, "out of memory");
		return NULL;
	}
	p->kvm_fd = kvm_fd;
	p->target = target;
	p->flags = flags;
	p->sized = !(flags & UKVM_POOL_LAZY);
	p->settle_ns = UKVM_POOL_SETTLE_NS;
	pthread_mutex_init(&p->lock, NULL);
	{
		/* timed waits (gate, settle) on the monotonic clock */
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&p->want, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (!target)
		nthreads = 0;
	if (nthreads > 4)
		nthreads = 4;
	for (unsigned i = 0; i < nthreads; i++) {
		if (pthread_create(&p->thread[i], NULL, pool_main, p)) {
			ukf_seterr(err, errlen, "pthread_create failed");
			p->nthreads = i;
			ukvm_shell_pool_destroy(&p);
			return NULL;
		}
		p->nthreads = i + 1;
	}
	return p;
}

void ukvm_shell_pool_destroy(ukvm_shell_pool_t **pp)
{
	ukvm_shell_pool_t *p = *pp;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->want);
	/* a get making its shell comes back to the lock: not freed under it */
	while (p->making)
		pthread_cond_wait(&p->want, &p->lock);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->thread[i], NULL);
	for (unsigned i = 0; i < p->n; i++)
		ukvm_shell_close(&p->ready[i]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->want);
	free(p->ready);
	free(p);
	*pp = NULL;
}

int ukvm_shell_get(ukvm_shell_pool_t *p, struct ukvm_shell *out, char *err,
		   size_t errlen)
{
	return ukvm_shell_get_mem(p, 0, out, err, errlen);
}

int ukvm_shell_get_mem(ukvm_shell_pool_t *p, uint64_t mem_size,
		       struct ukvm_shell *out, char *err, size_t errlen)
{
	if (!p)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	p->failed = 0;
	p->mem_size = mem_size; /* refill for the size asked for last */
	p->sized = 1;
	for (unsigned i = p->n; i-- > 0;) {
		if (p->ready[i].mem_size != mem_size)
			continue;
		*out = p->ready[i];
		p->ready[i] = p->ready[--p->n];
		p->hits++;
		pthread_cond_signal(&p->want);
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	p->misses++;
	p->making++;
	pthread_mutex_unlock(&p->lock);
	/*
	 * Make this one before waking the refill threads: made beside them,
	 * the caller's shell waited for their VM creations and memslot
	 * changes (a first clone at a size took 5-15 ms, against ~1.2 ms for
	 * a shell made alone).
	 */
	int rc = ukvm_shell_make_mem(p->kvm_fd, mem_size, out, err, errlen);

	pthread_mutex_lock(&p->lock);
	p->making--;
	p->made++;
	pthread_cond_broadcast(&p->want);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* One of the pool's counters, read under its lock. */
static uint64_t pool_counter(ukvm_shell_pool_t *p, const uint64_t *v)
{
	uint64_t n;

	pthread_mutex_lock(&p->lock);
	n = *v;
	pthread_mutex_unlock(&p->lock);
	return n;
}

uint64_t ukvm_shell_pool_returned(ukvm_shell_pool_t *p)
{
	return pool_counter(p, &p->returned);
}

int ukvm_shell_put(ukvm_shell_pool_t *p, struct ukvm_shell *s)
{
	struct ukvm_shell old;
	int rc = -ENOSPC, evicted = 0;

	if (!p)
		return rc;
	pthread_mutex_lock(&p->lock);
	if (!p->stop && p->n >= 2 * p->target && s->mem_size == p->mem_size)
		evicted = pool_evict_other(p, s->mem_size, &old);
	if (!p->stop && p->n < 2 * p->target) {
		p->ready[p->n++] = *s;
		p->returned++;
		rc = 0;
		if (s->mem_size == p->short_size &&
		    pool_count(p, s->mem_size) >= p->target)
			p->short_since = 0; /* the shortage is over */
	}
	pthread_mutex_unlock(&p->lock);
	if (evicted)
		ukvm_shell_close(&old);
	return rc;
}

void ukvm_shell_pool_set_gate(ukvm_shell_pool_t *p, int (*gate)(void *arg),
			      void *arg)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->gate = gate;
	p->gate_arg = arg;
	pthread_cond_broadcast(&p->want);
	pthread_mutex_unlock(&p->lock);
}

unsigned ukvm_shell_pool_prefill(ukvm_shell_pool_t *p, uint64_t mem_size,
				 unsigned want, int timeout_ms)
{
	unsigned have = 0;

	if (!p)
		return 0;
	if (want > p->target)
		want = p->target;
	for (int waited = 0;; waited++) {
		pthread_mutex_lock(&p->lock);
		have = pool_count(p, mem_size);
		if (have < want &&
		    (p->mem_size != mem_size || p->failed || !p->sized ||
		     !p->unsettled || p->unsettled_size != mem_size)) {
			p->mem_size = mem_size;
			p->failed = 0;
			p->sized = 1; /* a lazy pool has its size now */
			/* build without settling (UKVM_POOL_SETTLE) until
			 * the target: pool_wants clears it there */
			p->unsettled = 1;
			p->unsettled_size = mem_size;
			pthread_cond_broadcast(&p->want);
		}
		pthread_mutex_unlock(&p->lock);
		if (have >= want || waited >= timeout_ms)
			break;
		usleep(1000);
	}
	return have;
}

unsigned ukvm_shell_pool_ready(ukvm_shell_pool_t *p, uint64_t mem_size)
{
	unsigned n;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->lock);
	n = pool_count(p, mem_size);
	pthread_mutex_unlock(&p->lock);
	return n;
}

uint64_t ukvm_shell_pool_built(ukvm_shell_pool_t *p)
{
	return pool_counter(p, &p->built);
}

void ukvm_shell_pool_set_settle(ukvm_shell_pool_t *p, uint64_t ns)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->settle_ns = ns;
	pthread_cond_broadcast(&p->want);
	pthread_mutex_unlock(&p->lock);
}

void ukvm_shell_pool_stats(ukvm_shell_pool_t *p, uint64_t *hits,
			   uint64_t *misses)
{
	pthread_mutex_lock(&p->lock);
	*hits = p->hits;
	*misses = p->misses;
	pthread_mutex_unlock(&p->lock);
}
