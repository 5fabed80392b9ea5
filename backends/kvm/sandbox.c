/* SPDX-License-Identifier: MIT */
/* sandbox.c - the vCPU threads' seccomp filter and what they drop before running guest code. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

#ifndef UKVM_SECCOMP_DEFAULT
#define UKVM_SECCOMP_DEFAULT 1
#endif
/* PAGEMAP_SCAN (Linux 6.7; struct pm_scan_arg is 96 bytes), as clone_mem.c. */
#define UKVM_PAGEMAP_SCAN _IOC(_IOC_READ | _IOC_WRITE, 'f', 16, 96)
#define UKVM_NAMES 512
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a seccomp SIGSYS */
#endif

/*
 * The ioctl requests a vCPU thread makes once its guest runs (found in
 * vm.c, template.c, snapshot.c and clone_mem.c, confirmed with strace -f
 * of the KVM tests: docs/security.md).
 */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN,           /* run loop; shell_recycle's quiesce */
	KVM_GET_REGS,      /* guest_fault */
	KVM_GET_SREGS,     /* guest_fault */
	UKVM_PAGEMAP_SCAN, /* ukvm_dirty_pages on a clone's private map */
};

/*
 * The allow-list (everything else traps). Comment: who makes the call.
 * mmap and mprotect are further limited to mappings without PROT_EXEC,
 * ioctl to vcpu_ioctls, tgkill to this process.
 */
static const int plain_calls[] = {
	SCMP_SYS(futex),           /* VM lock and condition, engine queues */
	SCMP_SYS(clock_gettime),   /* ukvm_now (no vDSO under QEMU TCG) */
	SCMP_SYS(timer_settime),   /* run-limit timer: arm / disarm */
	SCMP_SYS(timer_delete),    /* run-limit timer at the end */
	SCMP_SYS(pread64),         /* /proc/self/pagemap scan (kernel < 6.7) */
	SCMP_SYS(write),           /* event sink: live's eventfd, stderr */
	SCMP_SYS(close),           /* teardown: memfd, an evicted pool shell */
	SCMP_SYS(munmap),          /* teardown; free() */
	SCMP_SYS(madvise),         /* free(); thread exit (stack) */
	SCMP_SYS(brk),             /* malloc() in the main arena */
	SCMP_SYS(mremap),          /* realloc() of large blocks */
	SCMP_SYS(rt_sigreturn),    /* after the kick signal's handler */
	SCMP_SYS(rt_sigprocmask),  /* thread exit; abort() */
	SCMP_SYS(getpid),          /* abort() */
	SCMP_SYS(gettid),          /* abort() */
	SCMP_SYS(exit),            /* thread exit */
	SCMP_SYS(exit_group),      /* the SIGSYS report below */
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_rc;
static char init_err[200];
static int sandbox_on;
static struct sock_fprog prog;
/* Syscall names for the SIGSYS report (resolved at init: the handler
 * may not allocate). */
static const char *names[UKVM_NAMES];
static __thread uint64_t tls_inst;
static __thread int tls_filtered;

/* Async-signal-safe: append decimal v to p. GCOVR_EXCL_START */
static char *put_dec(char *p, uint64_t v)
{
	char t[24];
	int n = 0;

	do
		t[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < (int)sizeof(t));
	while (n)
		*p++ = t[--n];
	return p;
}

static char *put_str(char *p, const char *s, const char *end)
{
	while (*s && p < end)
		*p++ = *s++;
	return p;
}

/*
 * SIGSYS from the filter (SECCOMP_RET_TRAP): name the instance and the
 * call on stderr, then end the process (not just the thread: the address
 * space shared with the other VMs cannot be trusted after a monitor bug or
 * a guest takeover; Firecracker's jailer chooses so too). Only write and
 * exit_group, both allowed; nothing allocates or locks. Out of coverage
 * figures: kvm_seccomp_kill runs it, but its process ends here, unable to
 * write gcov counts (the filter forbids opening files).
 */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[320], *p = msg, *end = msg + sizeof(msg) - 2;
	int nr = si->si_syscall;

	(void)uc;
	if (si->si_code != SYS_SECCOMP || !tls_filtered) {
		/* not ours: what SIGSYS would have done without us */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	p = put_str(p, "ukvm: instance ", end);
	p = put_dec(p, tls_inst);
	p = put_str(p, ": vCPU thread made system call ", end);
	p = put_dec(p, (uint64_t)(unsigned)nr);
	if (nr >= 0 && nr < UKVM_NAMES && names[nr]) {
		p = put_str(p, " (", end);
		p = put_str(p, names[nr], end);
		p = put_str(p, ")", end);
	}
	p = put_str(p, ", which its seccomp filter forbids; stopping the "
		       "monitor (docs/security.md; UKVM_SECCOMP=0 turns the "
		       "filter off for debugging)",
		    end);
	*p++ = '\n';
	(void)!write(2, msg, (size_t)(p - msg));
	syscall(SYS_exit_group, UKVM_SANDBOX_EXIT);
} /* GCOVR_EXCL_STOP */

static int add_rules(scmp_filter_ctx ctx)
{
	int rc;

	for (size_t i = 0; i < sizeof(plain_calls) / sizeof(plain_calls[0]); i++)
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, plain_calls[i],
					   0)) < 0)
			return rc;
	/* the kernel reads ioctl's request as a 32-bit unsigned int */
	for (size_t i = 0; i < sizeof(vcpu_ioctls) / sizeof(vcpu_ioctls[0]); i++)
		if ((rc = seccomp_rule_add(
			     ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
			     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL,
				     vcpu_ioctls[i] & 0xffffffffUL))) < 0)
			return rc;
	/* memory, never executable: a thread that only runs KVM_RUN has no
	 * reason to map code */
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				   SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) < 0 ||
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				   SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) < 0)
		return rc;
	/*
	 * glibc's free() at a vCPU thread's exit (of a finished thread's
	 * cached stack and TLS) can trim a thread arena's heap, and the
	 * process's first trim opens /proc/sys/vm/overcommit_memory with
	 * O_RDONLY | O_CLOEXEC. It runs with every signal blocked, so a trap
	 * there is a bare SIGSYS, no report (seen: ukvm-bench-fork killed in
	 * one run of two or three). Refused with EACCES, glibc reads "not
	 * mode 2" and trims with madvise (allowed). Only that exact flag
	 * set: any other open still traps; a read-only open of anything
	 * fails, it opens nothing.
	 */
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
				   SCMP_SYS(openat), 1,
				   SCMP_A2(SCMP_CMP_EQ,
					   (scmp_datum_t)(O_RDONLY |
							  O_CLOEXEC)))) < 0)
		return rc;
	/* abort() signals itself; no other process */
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
}

/* Compile the filter once; each vCPU thread loads the same program
 * (building it with libseccomp per thread would cost every boot). */
static int compile(char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int rc = -ENOMEM, fd = -1;
	off_t len;

	if (!ctx)
		goto fail;
	/* no_new_privs is set by ukvm_sandbox_enter; a foreign-arch call
	 * (int 0x80) is reported like any other */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
				   SCMP_ACT_TRAP)) < 0 ||
	    (rc = add_rules(ctx)) < 0)
		goto fail;
	fd = memfd_create("ukvm-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = seccomp_export_bpf(ctx, fd)) < 0)
		goto fail;
	len = lseek(fd, 0, SEEK_END);
	rc = -EINVAL;
	if (len <= 0 || len % sizeof(struct sock_filter) ||
	    len / sizeof(struct sock_filter) > BPF_MAXINSNS)
		goto fail;
	prog.len = (unsigned short)(len / sizeof(struct sock_filter));
	prog.filter = malloc((size_t)len);
	rc = -ENOMEM;
	if (!prog.filter)
		goto fail;
	if (pread(fd, prog.filter, (size_t)len, 0) != len) {
		rc = -EIO;
		free(prog.filter);
		prog.filter = NULL;
		goto fail;
	}
	close(fd);
	seccomp_release(ctx);
	return 0;
fail:
	snprintf(err, errlen, "vCPU seccomp filter: %s", strerror(-rc));
	if (fd >= 0)
		close(fd);
	if (ctx)
		seccomp_release(ctx);
	return -1;
}

static void init_once(void)
{
	const char *e = getenv("UKVM_SECCOMP");
	struct sigaction sa;

	sandbox_on = UKVM_SECCOMP_DEFAULT;
	if (e && *e)
		sandbox_on = strcmp(e, "0") != 0;
	if (!sandbox_on)
		return;
	if (compile(init_err, sizeof(init_err)) < 0) {
		init_rc = -1;
		return;
	}
	for (int i = 0; i < UKVM_NAMES; i++)
		names[i] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, i);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		snprintf(init_err, sizeof(init_err), "sigaction SIGSYS: %s",
			 strerror(errno));
		init_rc = -1;
	}
}

int ukvm_sandbox_init(char *err, size_t errlen)
{
	pthread_once(&once, init_once);
	if (init_rc < 0)
		snprintf(err, errlen, "%s", init_err);
	return init_rc;
}

int ukvm_sandbox_on(void)
{
	pthread_once(&once, init_once);
	return sandbox_on && init_rc == 0;
}

/*
 * Capabilities are per thread in Linux: clearing them here leaves the
 * process's (and its other threads') as they were. no_new_privs is per
 * thread too, and is what lets an unprivileged thread load a filter.
 */
static int drop_privileges(char *err, size_t errlen)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0
	};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capset, &h, d) < 0) {
		snprintf(err, errlen, "capset: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int ukvm_sandbox_enter(uint64_t inst, char *err, size_t errlen)
{
	if (!ukvm_sandbox_on())
		return 0;
	tls_inst = inst;
	if (drop_privileges(err, errlen) < 0)
		return -1;
	{
		/* The thread's first malloc picks its arena, and a new arena
		 * reads /sys/devices/system/cpu/online (glibc's get_nprocs):
		 * allocate once now, so event sinks that queue (malloc) on
		 * this thread never open a file under the filter. */
		void *volatile warm = malloc(64);

		free(warm);
	}
	tls_filtered = 1;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		tls_filtered = 0;
		snprintf(err, errlen, "loading the vCPU seccomp filter: %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}
