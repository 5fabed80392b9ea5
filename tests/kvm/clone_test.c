/* SPDX-License-Identifier: MIT */
/* clone_test.c - self-tests of copy-on-write memory, dirty scans, shells and a raw-VM fork (clone_* CTest tests). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "backends/kvm/clone.h"
#include "backends/kvm/snapshot.h"
#include "tests/common/selftest.h"

#define MEM (1ULL << 20)
#define PG 4096ULL

static int open_kvm(int *kvm)
{
	*kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (*kvm < 0) {
		printf("SKIP: /dev/kvm not available (%s)\n", strerror(errno));
		return SKIP;
	}
	return 0;
}

/* Guest memory as the monitor makes it: a sealable memfd mapped shared. */
static uint8_t *shared_mem(int *fd)
{
	uint8_t *p;

	*fd = memfd_create("guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (*fd < 0 || ftruncate(*fd, MEM) < 0)
		return NULL;
	p = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static int t_cow_isolation(void)
{
	int fd, pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint8_t *orig = shared_mem(&fd), *a, *b;
	uint64_t bm[MEM / PG / 64], n;
	char err[256];

	CHECK(orig && pm >= 0);
	memset(orig, 0x11, 8 * PG);
	/* The original becomes a CoW instance of its own sealed memory. */
	CHECK(ukvm_cow_seal_in_place(fd, orig, MEM, err, sizeof(err)) == 0);
	CHECK(ukvm_cow_is_sealed(fd));
	CHECK(orig[0] == 0x11 && orig[8 * PG - 1] == 0x11);
	/* Sealed: no writable shared mapping, no write(), no resize. */
	CHECK(mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) ==
	      MAP_FAILED);
	CHECK(pwrite(fd, "x", 1, 0) < 0 && errno == EPERM);
	CHECK(ftruncate(fd, MEM * 2) < 0);
	a = ukvm_cow_map(fd, MEM, NULL);
	b = ukvm_cow_map(fd, MEM, NULL);
	CHECK(a != MAP_FAILED && b != MAP_FAILED);
	CHECK(ukvm_cow_dirty_scan(pm, a, MEM, bm, &n, err, sizeof(err)) == 0);
	CHECK(n == 0);
	/* Reads do not make pages dirty. */
	volatile uint8_t sink = 0;
	for (uint64_t i = 0; i < MEM; i += PG)
		sink += a[i];
	(void)sink;
	CHECK(ukvm_cow_dirty_scan(pm, a, MEM, bm, &n, err, sizeof(err)) == 0);
	CHECK(n == 0);
	a[3 * PG] = 0xa1;
	a[100 * PG + 5] = 0xa2;
	b[3 * PG] = 0xb1;
	orig[3 * PG] = 0xc1;
	CHECK(a[3 * PG] == 0xa1 && b[3 * PG] == 0xb1 && orig[3 * PG] == 0xc1);
	CHECK(b[100 * PG + 5] == 0 && orig[100 * PG + 5] == 0);
	CHECK(ukvm_cow_dirty_scan(pm, a, MEM, bm, &n, err, sizeof(err)) == 0);
	CHECK(n == 2 && (bm[0] >> 3 & 1) && (bm[1] >> (100 - 64) & 1));
	/* The /proc/self/pagemap fallback finds exactly the same pages. */
	{
		uint64_t bm2[MEM / PG / 64], n2;

		CHECK(ukvm_cow_dirty_scan_pagemap(pm, a, MEM, bm2, &n2, err,
						  sizeof(err)) == 0);
		CHECK(n2 == n && memcmp(bm, bm2, sizeof(bm)) == 0);
	}
	/* A child of a: template + a's dirty pages; then each writes. */
	uint8_t *c = ukvm_cow_map(fd, MEM, NULL);
	CHECK(c != MAP_FAILED);
	ukvm_cow_copy_pages(c, a, MEM, bm);
	CHECK(c[3 * PG] == 0xa1 && c[100 * PG + 5] == 0xa2 && c[0] == 0x11);
	c[3 * PG] = 0xd1;
	a[100 * PG + 5] = 0xa3;
	CHECK(a[3 * PG] == 0xa1 && c[100 * PG + 5] == 0xa2);
	/* The template itself never changed. */
	uint8_t t;
	CHECK(pread(fd, &t, 1, 3 * PG) == 1 && t == 0x11);
	/* A copy into a new sealed memfd holds the same bytes. */
	int fd2;
	CHECK(ukvm_cow_freeze_copy(a, MEM, "copy", &fd2, err, sizeof(err)) ==
	      0);
	CHECK(ukvm_cow_is_sealed(fd2));
	CHECK(pread(fd2, &t, 1, 3 * PG) == 1 && t == 0xa1);
	/* Sealing again (already sealed) is refused with a reason. */
	CHECK(ukvm_cow_seal_in_place(fd, orig, MEM, err, sizeof(err)) < 0);
	printf("reseal refused: %s\n", err);
	munmap(a, MEM);
	munmap(b, MEM);
	munmap(c, MEM);
	munmap(orig, MEM);
	close(fd);
	close(fd2);
	close(pm);
	return 0;
}

/* Raw real-mode guest code (emulated here; only a few instructions). */
static const uint8_t code_fork[] = {
	0xb0, 0x00,             /* mov al, 0                              */
	0xe6, 0x10,             /* out 0x10, al   ; "fork": host sets al  */
	0xa2, 0x00, 0x30,       /* mov [0x3000], al                       */
	0x88, 0x06, 0x00, 0x40, /* mov [0x4000], al                       */
	0xe6, 0x11,             /* out 0x11, al   ; done                  */
	0xf4,                   /* hlt                                    */
};
static const uint8_t code_dirty[] = {
	0xbb, 0x00, 0x30,       /* mov bx, 0x3000                         */
	0x88, 0x07,             /* loop: mov [bx], al                     */
	0x81, 0xc3, 0x00, 0x10, /* add bx, 0x1000                         */
	0x81, 0xfb, 0x00, 0xf0, /* cmp bx, 0xf000                         */
	0x75, 0xf4,             /* jne loop                               */
	0xe6, 0x12,             /* out 0x12, al                           */
	0xf4,
};

struct rawvm {
	struct ukvm_shell sh;
	uint8_t *mem;
	struct kvm_userspace_memory_region slot;
};

static int raw_setup(int kvm, struct rawvm *v, uint8_t *mem, int cold)
{
	char err[256];

	CHECK(ukvm_shell_make(kvm, &v->sh, err, sizeof(err)) == 0);
	v->mem = mem;
	v->slot = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM,
		.userspace_addr = (uintptr_t)mem };
	CHECK(ioctl(v->sh.vm_fd, KVM_SET_USER_MEMORY_REGION, &v->slot) == 0);
	if (cold) {
		struct kvm_sregs s;
		struct kvm_regs r = { .rip = 0x1000, .rflags = 2 };

		CHECK(ioctl(v->sh.vcpu_fd, KVM_GET_SREGS, &s) == 0);
		s.cs.base = 0;
		s.cs.selector = 0;
		CHECK(ioctl(v->sh.vcpu_fd, KVM_SET_SREGS, &s) == 0);
		CHECK(ioctl(v->sh.vcpu_fd, KVM_SET_REGS, &r) == 0);
	}
	return 0;
}

/* Run until an `out`; returns its port, or -1. */
static int raw_run(struct rawvm *v)
{
	if (ioctl(v->sh.vcpu_fd, KVM_RUN, 0) < 0)
		return -1;
	if (v->sh.run->exit_reason != KVM_EXIT_IO) {
		fprintf(stderr, "unexpected exit %u\n", v->sh.run->exit_reason);
		return -1;
	}
	return v->sh.run->io.port;
}

static int set_al(int vcpu, uint8_t al)
{
	struct kvm_regs r;

	if (ioctl(vcpu, KVM_GET_REGS, &r) < 0)
		return -1;
	r.rax = (r.rax & ~0xffULL) | al;
	return ioctl(vcpu, KVM_SET_REGS, &r);
}

static int t_dirty_guest(void)
{
	int kvm, fd, pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint8_t *mem;
	struct rawvm v;
	uint64_t bm[MEM / PG / 64], acc[MEM / PG / 64] = { 0 }, n;
	char err[256];

	if (open_kvm(&kvm))
		return SKIP;
	CHECK((mem = shared_mem(&fd)) && pm >= 0);
	memcpy(mem + 0x1000, code_dirty, sizeof(code_dirty));
	CHECK(ukvm_cow_seal_in_place(fd, mem, MEM, err, sizeof(err)) == 0);
	CHECK(raw_setup(kvm, &v, mem, 1) == 0);
	CHECK(ukvm_dirty_log_enable(v.sh.vm_fd, &v.slot, 1) == 0);
	CHECK(set_al(v.sh.vcpu_fd, 0x77) == 0);
	CHECK(raw_run(&v) == 0x12);
	/* Guest wrote pages 3..14; the monitor writes page 20 by hand. */
	mem[20 * PG] = 1;
	CHECK(ukvm_cow_dirty_scan(pm, mem, MEM, bm, &n, err, sizeof(err)) ==
	      0);
	printf("dirty scan: %llu pages\n", (unsigned long long)n);
	for (int i = 3; i < 15; i++)
		CHECK(bm[0] >> i & 1);
	CHECK(bm[0] >> 20 & 1);
	CHECK(mem[5 * PG] == 0x77);
	/* KVM's dirty log sees the guest's writes but not the monitor's. */
	CHECK(ukvm_dirty_log_fetch(v.sh.vm_fd, 0, MEM / PG, acc) == 0);
	for (int i = 3; i < 15; i++)
		CHECK(acc[0] >> i & 1);
	CHECK(!(acc[0] >> 20 & 1));
	/* Exactly the 12 guest pages + the monitor page (code was only read). */
	CHECK(n == 12 + 1);
	ukvm_shell_close(&v.sh);
	munmap(mem, MEM);
	close(fd);
	close(pm);
	close(kvm);
	return 0;
}

/*
 * The fork path on a raw VM: parent paused at an `out`, template sealed in
 * place, child = shell + CoW map + parent's dirty pages + parent's vCPU
 * state. Both resume; each stores its own value; neither sees the other's.
 */
static int t_fork_raw(void)
{
	int kvm, fd, pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint8_t *mem, *cmem;
	struct rawvm p, c, s;
	struct ukvm_snap_vcpu st;
	uint64_t bm[MEM / PG / 64], n;
	char err[256];

	if (open_kvm(&kvm))
		return SKIP;
	CHECK((mem = shared_mem(&fd)) && pm >= 0);
	memcpy(mem + 0x1000, code_fork, sizeof(code_fork));
	mem[0x5000] = 0x99; /* written before the template */
	CHECK(raw_setup(kvm, &p, mem, 1) == 0);
	CHECK(raw_run(&p) == 0x10);
	/* Paused in "fork". Template in place, then a dirty page after it. */
	CHECK(ukvm_cow_seal_in_place(fd, mem, MEM, err, sizeof(err)) == 0);
	mem[0x6000] = 0x66;
	/*
	 * Complete the pending `out` first, as the monitor does: KVM on SVM
	 * and VMX advances RIP past a port write only on the next KVM_RUN
	 * (kvm_pvm does it before the exit), so a state saved at the exit
	 * would make the children run `out 0x10` again.
	 */
	CHECK(ukvm_snap_vcpu_quiesce(p.sh.vcpu_fd, p.sh.run) == 0);
	CHECK(ukvm_snap_vcpu_save(p.sh.vcpu_fd, &st, err, sizeof(err)) == 0);
	CHECK(ukvm_cow_dirty_scan(pm, mem, MEM, bm, &n, err, sizeof(err)) ==
	      0);
	CHECK(n == 1);
	/* Two children (siblings). */
	cmem = ukvm_cow_map(fd, MEM, NULL);
	uint8_t *smem = ukvm_cow_map(fd, MEM, NULL);
	CHECK(cmem != MAP_FAILED && smem != MAP_FAILED);
	ukvm_cow_copy_pages(cmem, mem, MEM, bm);
	ukvm_cow_copy_pages(smem, mem, MEM, bm);
	CHECK(raw_setup(kvm, &c, cmem, 0) == 0);
	CHECK(raw_setup(kvm, &s, smem, 0) == 0);
	CHECK(ukvm_snap_vcpu_restore(c.sh.vcpu_fd, &st, err, sizeof(err)) ==
	      0);
	CHECK(ukvm_snap_vcpu_restore(s.sh.vcpu_fd, &st, err, sizeof(err)) ==
	      0);
	/* fork's return value: parent 1, child 2, sibling 3. */
	CHECK(set_al(p.sh.vcpu_fd, 1) == 0);
	CHECK(set_al(c.sh.vcpu_fd, 2) == 0);
	CHECK(set_al(s.sh.vcpu_fd, 3) == 0);
	CHECK(raw_run(&c) == 0x11);
	CHECK(raw_run(&p) == 0x11);
	CHECK(raw_run(&s) == 0x11);
	CHECK(mem[0x3000] == 1 && mem[0x4000] == 1);
	CHECK(cmem[0x3000] == 2 && cmem[0x4000] == 2);
	CHECK(smem[0x3000] == 3 && smem[0x4000] == 3);
	/* State from before the fork is in all three. */
	CHECK(cmem[0x5000] == 0x99 && cmem[0x6000] == 0x66);
	CHECK(smem[0x6000] == 0x66 && mem[0x6000] == 0x66);
	uint8_t t;
	CHECK(pread(fd, &t, 1, 0x3000) == 1 && t == 0);
	ukvm_shell_close(&p.sh);
	ukvm_shell_close(&c.sh);
	ukvm_shell_close(&s.sh);
	munmap(mem, MEM);
	munmap(cmem, MEM);
	munmap(smem, MEM);
	close(fd);
	close(pm);
	close(kvm);
	return 0;
}

static int t_shell_pool(void)
{
	int kvm;
	char err[256];
	struct ukvm_shell sh[6];
	uint64_t hits, misses;
	ukvm_shell_pool_t *p;

	if (open_kvm(&kvm))
		return SKIP;
	err[0] = 0;
	p = ukvm_shell_pool_create(kvm, 4, err, sizeof(err));
	if (!p)
		fprintf(stderr, "pool: %s\n", err);
	CHECK(p);
	for (int i = 0; i < 6; i++) {
		int rc = ukvm_shell_get(p, &sh[i], err, sizeof(err));

		if (rc)
			fprintf(stderr, "get %d: %d %s\n", i, rc, err);
		CHECK(rc == 0);
		CHECK(sh[i].vm_fd >= 0 && sh[i].vcpu_fd >= 0 && sh[i].run);
	}
	ukvm_shell_pool_stats(p, &hits, &misses);
	CHECK(hits + misses == 6);
	for (int i = 0; i < 6; i++)
		ukvm_shell_close(&sh[i]);
	/* Two memslot sizes in turn: each get has its size and a working
	 * memslot; a shell given back is handed out again for its size. */
	for (int i = 0; i < 6; i++) {
		uint64_t size = (i & 1) ? 4 * MEM : 2 * MEM;

		int rc = ukvm_shell_get_mem(p, size, &sh[i], err, sizeof(err));

		if (rc)
			fprintf(stderr, "get_mem %d: %d %s\n", i, rc, err);
		CHECK(rc == 0);
		CHECK(sh[i].mem && sh[i].mem_size == size);
	}
	{
		/* Of the size asked for last: always kept (a full pool makes
		 * room by closing a shell of another size). */
		struct ukvm_shell back = sh[5], again;
		uint64_t h0, h1, m0, m1;

		CHECK(ukvm_shell_put(p, &back) == 0);
		ukvm_shell_pool_stats(p, &h0, &m0);
		CHECK(ukvm_shell_get_mem(p, 4 * MEM, &again, err,
					 sizeof(err)) == 0);
		ukvm_shell_pool_stats(p, &h1, &m1);
		CHECK(again.mem_size == 4 * MEM && h1 == h0 + 1);
		sh[5] = again;
	}
	for (int i = 0; i < 6; i++)
		ukvm_shell_close(&sh[i]);
	ukvm_shell_pool_destroy(&p);
	CHECK(p == NULL);
	close(kvm);
	return 0;
}

/* Threads of this process whose scheduling policy is `policy`. */
static int threads_with_policy(int policy)
{
	char path[300], line[1024];
	int n = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		FILE *f;
		char *s;
		int field = 2, pol = -1;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat",
			 e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		s = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
		fclose(f);
		/* fields after the command name: the 41st is the policy */
		for (char *t = s ? strtok(s + 1, " ") : NULL; t;
		     t = strtok(NULL, " "))
			if (++field == 41) {
				pol = atoi(t);
				break;
			}
		n += pol == policy;
	}
	closedir(d);
	return n;
}

/*
 * The template code's pool (UKVM_POOL_LAZY | UKVM_POOL_BATCH): nothing is
 * built before the first get names a size (the pool once made 32 shells of
 * no memory at its creation, each closed again when a size came), a get
 * that misses makes its shell and sets the refill going for its size, and
 * the refill threads run at SCHED_BATCH. A pool without the flags builds
 * at once (the cold-boot pool's shells have no memory).
 */
static int t_shell_pool_lazy(void)
{
	int kvm, batch0;
	char err[256];
	struct ukvm_shell sh;
	uint64_t hits, misses;
	ukvm_shell_pool_t *p, *q;

	if (open_kvm(&kvm))
		return SKIP;
	batch0 = threads_with_policy(SCHED_BATCH);
	CHECK(batch0 >= 0);
	p = ukvm_shell_pool_create_ex(kvm, 4, 2,
				      UKVM_POOL_LAZY | UKVM_POOL_BATCH, err,
				      sizeof(err));
	CHECK(p);
	q = ukvm_shell_pool_create_ex(kvm, 4, 2, 0, err, sizeof(err));
	CHECK(q);
	/* the eager pool fills with shells of size 0 ... */
	for (int i = 0; i < 3000 && ukvm_shell_pool_ready(q, 0) < 4; i++)
		usleep(1000);
	CHECK(ukvm_shell_pool_ready(q, 0) == 4);
	/* ... in which time the lazy one built none */
	usleep(100 * 1000);
	CHECK(ukvm_shell_pool_ready(p, 0) == 0);
	CHECK(ukvm_shell_pool_ready(p, 2 * MEM) == 0);
	/* its two refill threads at SCHED_BATCH (the eager pool's not; each
	 * sets its own policy when it starts: waited for) */
	for (int i = 0;
	     i < 3000 && threads_with_policy(SCHED_BATCH) < batch0 + 2; i++)
		usleep(1000);
	CHECK(threads_with_policy(SCHED_BATCH) == batch0 + 2);
	/* a get misses, makes its shell, and sets the refill going */
	CHECK(ukvm_shell_get_mem(p, 2 * MEM, &sh, err, sizeof(err)) == 0);
	CHECK(sh.mem && sh.mem_size == 2 * MEM);
	ukvm_shell_pool_stats(p, &hits, &misses);
	CHECK(hits == 0 && misses == 1);
	for (int i = 0; i < 3000 && ukvm_shell_pool_ready(p, 2 * MEM) < 4; i++)
		usleep(1000);
	CHECK(ukvm_shell_pool_ready(p, 2 * MEM) == 4);
	CHECK(ukvm_shell_pool_ready(p, 0) == 0);
	ukvm_shell_close(&sh);
	CHECK(ukvm_shell_get_mem(p, 2 * MEM, &sh, err, sizeof(err)) == 0);
	ukvm_shell_pool_stats(p, &hits, &misses);
	CHECK(hits == 1 && misses == 1);
	ukvm_shell_close(&sh);
	ukvm_shell_pool_destroy(&p);
	ukvm_shell_pool_destroy(&q);
	/* a lazy pool that a prefill names the size of fills (the prefill
	 * waited its whole timeout for nothing, the size never taken) */
	p = ukvm_shell_pool_create_ex(kvm, 4, 2,
				      UKVM_POOL_LAZY | UKVM_POOL_BATCH, err,
				      sizeof(err));
	CHECK(p);
	CHECK(ukvm_shell_pool_prefill(p, 2 * MEM, 4, 3000) == 4);
	ukvm_shell_pool_destroy(&p);
	close(kvm);
	return 0;
}

/*
 * Sealing guest memory in place when it cannot be done: a file that is no
 * memfd is refused; with another writable shared mapping of the memfd the
 * seal is refused (-EBUSY) and the guest's mapping is shared again, so
 * its writes still reach the file (nothing lost, nothing sealed).
 */
static int t_seal_errors(void)
{
	char err[256], path[] = "/tmp/clone_test_sealXXXXXX";
	int fd = mkstemp(path), mfd;
	uint8_t *mem, *other;

	CHECK(fd >= 0 && ftruncate(fd, MEM) == 0);
	mem = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(mem != MAP_FAILED);
	CHECK(ukvm_cow_seal_in_place(fd, mem, MEM, err, sizeof(err)) ==
	      -EINVAL);
	printf("regular file: %s\n", err);
	CHECK(strstr(err, "F_GET_SEALS"));
	munmap(mem, MEM);
	close(fd);
	unlink(path);

	mem = shared_mem(&mfd);
	CHECK(mem != NULL);
	other = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(other != MAP_FAILED);
	CHECK(ukvm_cow_seal_in_place(mfd, mem, MEM, err, sizeof(err)) ==
	      -EBUSY);
	printf("second writable mapping: %s\n", err);
	CHECK(strstr(err, "F_ADD_SEALS"));
	CHECK(!ukvm_cow_is_sealed(mfd));
	mem[5] = 0x42; /* shared again: the other mapping sees it */
	CHECK(other[5] == 0x42);
	munmap(other, MEM);
	munmap(mem, MEM);
	close(mfd);
	return 0;
}

/* Poll up to 3 s for `want` ready shells of `size`; the count seen. */
static unsigned wait_ready(ukvm_shell_pool_t *p, uint64_t size, unsigned want)
{
	for (int i = 0; i < 3000 && ukvm_shell_pool_ready(p, size) < want; i++)
		usleep(1000);
	return ukvm_shell_pool_ready(p, size);
}

/*
 * The template code's pool also settles (UKVM_POOL_SETTLE): shells taken
 * and given back within the settle time, two sizes in turns as two apps'
 * clones, are not replaced (each was replaced by a build, evicting a shell
 * of the other size, whose next get was then replaced in turn: two builds
 * per clone beside the clones starting); a shortage is still refilled, at
 * once up to half the target, after the settle time above it.
 */
static int t_shell_pool_settle(void)
{
	int kvm;
	char err[256];
	struct ukvm_shell a, b[3];
	uint64_t built;
	ukvm_shell_pool_t *p;

	if (open_kvm(&kvm))
		return SKIP;
	p = ukvm_shell_pool_create_ex(kvm, 4, 1,
				      UKVM_POOL_LAZY | UKVM_POOL_BATCH |
					      UKVM_POOL_SETTLE,
				      err, sizeof(err));
	CHECK(p);
	/* a settle time no run of this test reaches: 100 years, longer than
	 * the monotonic clock has run (the prefills below build without
	 * settling whatever the machine's uptime: a prefill once marked its
	 * shortage as begun at clock time 1, which a machine up for less
	 * than the settle time had not yet passed) */
	const uint64_t never = 100ULL * 365 * 24 * 3600 * 1000000000ULL;
	ukvm_shell_pool_set_settle(p, never);
	/* both sizes at the target: the pool is full (twice the target) */
	CHECK(ukvm_shell_pool_prefill(p, MEM, 4, 3000) == 4);
	CHECK(ukvm_shell_pool_prefill(p, 2 * MEM, 4, 3000) == 4);
	CHECK(ukvm_shell_pool_ready(p, MEM) == 4);
	built = ukvm_shell_pool_built(p);
	CHECK(built == 8);
	/* clones of the two sizes in turns, each shell back 2 ms later */
	for (int i = 0; i < 20; i++) {
		uint64_t size = i % 2 ? 2 * MEM : MEM;

		CHECK(ukvm_shell_get_mem(p, size, &a, err, sizeof(err)) == 0);
		CHECK(a.mem_size == size);
		usleep(2000);
		CHECK(ukvm_shell_put(p, &a) == 0);
	}
	usleep(20 * 1000); /* a refill woken last would have finished */
	CHECK(ukvm_shell_pool_built(p) == built);
	CHECK(ukvm_shell_pool_ready(p, MEM) == 4);
	CHECK(ukvm_shell_pool_ready(p, 2 * MEM) == 4);
	/* a shell kept (3 of 4 ready: above half) is replaced once the
	 * shortage has lasted the settle time, here made 0 */
	CHECK(ukvm_shell_get_mem(p, 2 * MEM, &a, err, sizeof(err)) == 0);
	usleep(20 * 1000);
	CHECK(ukvm_shell_pool_built(p) == built);
	ukvm_shell_pool_set_settle(p, 0);
	CHECK(wait_ready(p, 2 * MEM, 4) == 4);
	CHECK(ukvm_shell_pool_built(p) == built + 1);
	ukvm_shell_close(&a);
	/* under half the target: refilled to half without settling */
	ukvm_shell_pool_set_settle(p, never);
	for (int i = 0; i < 3; i++)
		CHECK(ukvm_shell_get_mem(p, MEM, &b[i], err, sizeof(err)) ==
		      0);
	CHECK(wait_ready(p, MEM, 2) == 2);
	usleep(20 * 1000);
	CHECK(ukvm_shell_pool_ready(p, MEM) == 2);
	CHECK(ukvm_shell_pool_built(p) == built + 2);
	for (int i = 0; i < 3; i++)
		ukvm_shell_close(&b[i]);
	ukvm_shell_pool_destroy(&p);
	close(kvm);
	return 0;
}

static const struct selftest tests[] = {
	{ "clone_cow_isolation", t_cow_isolation },
	{ "clone_seal_errors", t_seal_errors },
	{ "clone_dirty_guest", t_dirty_guest },
	{ "clone_fork_raw", t_fork_raw },
	{ "clone_shell_pool", t_shell_pool },
	{ "clone_shell_pool_lazy", t_shell_pool_lazy },
	{ "clone_shell_pool_settle", t_shell_pool_settle },
};

int main(int argc, char **argv)
{
	return selftest_main(tests, SELFTEST_COUNT(tests), argc, argv);
}
