// SPDX-License-Identifier: MIT
// fpucheck - does register and memory state survive being switched out?
//
// A diagnostic for the Xen testbed (docs/xen.md "What is left", the fork
// bug): N processes, each looping over four checks that load known values,
// let the kernel (and below it Xen and QEMU) switch the process out, and
// compare:
//   xmm  xmm0-15 loaded with movdqu
//   ymm  ymm0-15 loaded with vmovdqu (only when the CPU and the OS enable
//        AVX: CPUID.1:ECX.AVX and OSXSAVE, XCR0 bits 1 and 2)
//   gpr  rbx, rdx, r8-r10, r12-r14
//   mem  a 1 MiB buffer of 64-bit words
// Between load and compare (one asm block, no library code in between) the
// process either spins, calls sched_yield or nanosleep(1 ms), in turn; -s
// adds a 1 ms SIGALRM whose handler dirties the vector registers (memset
// into a local buffer), so signal delivery and return are exercised too.
// A mismatch is printed with the check, the register or offset and the
// expected and seen bytes.
//
// Build on the host (dom0 runs it from the shared work tree):
//   gcc -O2 -Wall -o /tmp/fpucheck scripts/xen-testbed/fpucheck.c
// Run: fpucheck [-p PROCS] [-t SECONDS] [-s] [-F] [-q]
// -F (implies -s) makes the SIGALRM handler zero xmm3 and r13 in the
// interrupted context: the mismatches it must then report show the checks
// work. -q prints only processes with mismatches and the summary.
// Exit 0 when every check matched, 1 on any mismatch, 2 on bad use.
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define NREG 16
#define MEMWORDS (1u << 17) // 1 MiB
#define MAXPRINT 20

static int have_avx;
static int quiet;
static unsigned long printed;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = mix(seed + i);
		memcpy(p + i, &v, 8);
	}
}

// What the asm does between load and store: syscall NR (ARG1, ARG2) when
// NR >= 0, then SPIN iterations of a dec/jnz loop.
struct sw {
	long nr, a1, a2, spin;
};

// The asm of struct sw, shared by run_xmm and run_ymm between their loads
// and stores: where the kernel or Xen may switch this process out.
#define SWITCH_POINT                  \
	"mov 0(%[w]), %%rax\n\t"      \
	"mov 8(%[w]), %%rdi\n\t"      \
	"mov 16(%[w]), %%rsi\n\t"     \
	"test %%rax, %%rax\n\t"       \
	"js 1f\n\t"                   \
	"syscall\n"                    \
	"1:\n\t"                      \
	"mov 24(%[w]), %%rcx\n\t"     \
	"test %%rcx, %%rcx\n\t"       \
	"jz 3f\n"                      \
	"2:\n\t"                      \
	"dec %%rcx\n\t"               \
	"jnz 2b\n"                     \
	"3:\n\t"

static void run_xmm(const uint8_t *in, uint8_t *out, const struct sw *w)
{
	__asm__ volatile(
		"movdqu 0(%[in]), %%xmm0\n\t"
		"movdqu 16(%[in]), %%xmm1\n\t"
		"movdqu 32(%[in]), %%xmm2\n\t"
		"movdqu 48(%[in]), %%xmm3\n\t"
		"movdqu 64(%[in]), %%xmm4\n\t"
		"movdqu 80(%[in]), %%xmm5\n\t"
		"movdqu 96(%[in]), %%xmm6\n\t"
		"movdqu 112(%[in]), %%xmm7\n\t"
		"movdqu 128(%[in]), %%xmm8\n\t"
		"movdqu 144(%[in]), %%xmm9\n\t"
		"movdqu 160(%[in]), %%xmm10\n\t"
		"movdqu 176(%[in]), %%xmm11\n\t"
		"movdqu 192(%[in]), %%xmm12\n\t"
		"movdqu 208(%[in]), %%xmm13\n\t"
		"movdqu 224(%[in]), %%xmm14\n\t"
		"movdqu 240(%[in]), %%xmm15\n\t"
		SWITCH_POINT
		"movdqu %%xmm0, 0(%[out])\n\t"
		"movdqu %%xmm1, 16(%[out])\n\t"
		"movdqu %%xmm2, 32(%[out])\n\t"
		"movdqu %%xmm3, 48(%[out])\n\t"
		"movdqu %%xmm4, 64(%[out])\n\t"
		"movdqu %%xmm5, 80(%[out])\n\t"
		"movdqu %%xmm6, 96(%[out])\n\t"
		"movdqu %%xmm7, 112(%[out])\n\t"
		"movdqu %%xmm8, 128(%[out])\n\t"
		"movdqu %%xmm9, 144(%[out])\n\t"
		"movdqu %%xmm10, 160(%[out])\n\t"
		"movdqu %%xmm11, 176(%[out])\n\t"
		"movdqu %%xmm12, 192(%[out])\n\t"
		"movdqu %%xmm13, 208(%[out])\n\t"
		"movdqu %%xmm14, 224(%[out])\n\t"
		"movdqu %%xmm15, 240(%[out])\n\t"
		:
		: [in] "r"(in), [out] "r"(out), [w] "r"(w)
		: "rax", "rcx", "rdi", "rsi", "r11", "memory", "cc", "xmm0", "xmm1", "xmm2",
		  "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
		  "xmm12", "xmm13", "xmm14", "xmm15");
}

static void run_ymm(const uint8_t *in, uint8_t *out, const struct sw *w)
{
	__asm__ volatile(
		"vmovdqu 0(%[in]), %%ymm0\n\t"
		"vmovdqu 32(%[in]), %%ymm1\n\t"
		"vmovdqu 64(%[in]), %%ymm2\n\t"
		"vmovdqu 96(%[in]), %%ymm3\n\t"
		"vmovdqu 128(%[in]), %%ymm4\n\t"
		"vmovdqu 160(%[in]), %%ymm5\n\t"
		"vmovdqu 192(%[in]), %%ymm6\n\t"
		"vmovdqu 224(%[in]), %%ymm7\n\t"
		"vmovdqu 256(%[in]), %%ymm8\n\t"
		"vmovdqu 288(%[in]), %%ymm9\n\t"
		"vmovdqu 320(%[in]), %%ymm10\n\t"
		"vmovdqu 352(%[in]), %%ymm11\n\t"
		"vmovdqu 384(%[in]), %%ymm12\n\t"
		"vmovdqu 416(%[in]), %%ymm13\n\t"
		"vmovdqu 448(%[in]), %%ymm14\n\t"
		"vmovdqu 480(%[in]), %%ymm15\n\t"
		SWITCH_POINT
		"vmovdqu %%ymm0, 0(%[out])\n\t"
		"vmovdqu %%ymm1, 32(%[out])\n\t"
		"vmovdqu %%ymm2, 64(%[out])\n\t"
		"vmovdqu %%ymm3, 96(%[out])\n\t"
		"vmovdqu %%ymm4, 128(%[out])\n\t"
		"vmovdqu %%ymm5, 160(%[out])\n\t"
		"vmovdqu %%ymm6, 192(%[out])\n\t"
		"vmovdqu %%ymm7, 224(%[out])\n\t"
		"vmovdqu %%ymm8, 256(%[out])\n\t"
		"vmovdqu %%ymm9, 288(%[out])\n\t"
		"vmovdqu %%ymm10, 320(%[out])\n\t"
		"vmovdqu %%ymm11, 352(%[out])\n\t"
		"vmovdqu %%ymm12, 384(%[out])\n\t"
		"vmovdqu %%ymm13, 416(%[out])\n\t"
		"vmovdqu %%ymm14, 448(%[out])\n\t"
		"vmovdqu %%ymm15, 480(%[out])\n\t"
		"vzeroupper\n\t"
		:
		: [in] "r"(in), [out] "r"(out), [w] "r"(w)
		: "rax", "rcx", "rdi", "rsi", "r11", "memory", "cc", "xmm0", "xmm1", "xmm2",
		  "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
		  "xmm12", "xmm13", "xmm14", "xmm15");
}

static const char *const gpr_names[8] = {"rbx", "rdx", "r8", "r9", "r10", "r12", "r13", "r14"};

// One pointer (kept in a register the asm does not touch) to all it needs.
struct gctx {
	uint64_t in[8], out[8];
	struct sw w;
};

extern const char fpucheck_gpr_spin[], fpucheck_gpr_spun[];

static __attribute__((noinline)) void run_gpr(struct gctx *g)
{
	__asm__ volatile(
		"mov 0(%[g]), %%rbx\n\t"
		"mov 8(%[g]), %%rdx\n\t"
		"mov 16(%[g]), %%r8\n\t"
		"mov 24(%[g]), %%r9\n\t"
		"mov 32(%[g]), %%r10\n\t"
		"mov 40(%[g]), %%r12\n\t"
		"mov 48(%[g]), %%r13\n\t"
		"mov 56(%[g]), %%r14\n\t"
		"mov 128(%[g]), %%rax\n\t"
		"mov 136(%[g]), %%rdi\n\t"
		"mov 144(%[g]), %%rsi\n\t"
		"test %%rax, %%rax\n\t"
		"js 1f\n\t"
		"syscall\n"
		"1:\n\t"
		"mov 152(%[g]), %%rcx\n\t"
		"test %%rcx, %%rcx\n\t"
		"jz 3f\n"
		".globl fpucheck_gpr_spin\n"
		"fpucheck_gpr_spin:\n"
		"2:\n\t"
		"dec %%rcx\n\t"
		"jnz 2b\n"
		".globl fpucheck_gpr_spun\n"
		"fpucheck_gpr_spun:\n"
		"3:\n\t"
		"mov %%rbx, 64(%[g])\n\t"
		"mov %%rdx, 72(%[g])\n\t"
		"mov %%r8, 80(%[g])\n\t"
		"mov %%r9, 88(%[g])\n\t"
		"mov %%r10, 96(%[g])\n\t"
		"mov %%r12, 104(%[g])\n\t"
		"mov %%r13, 112(%[g])\n\t"
		"mov %%r14, 120(%[g])\n\t"
		:
		: [g] "r"(g)
		: "rax", "rbx", "rcx", "rdx", "rdi", "rsi", "r8", "r9", "r10", "r11", "r12",
		  "r13", "r14", "memory", "cc");
}

_Static_assert(__builtin_offsetof(struct gctx, w) == 128, "run_gpr's offsets");

// Mismatches per check: xmm, ymm, gpr, mem.
static unsigned long nbad[4];

static void report(const char *check, unsigned long iter, const char *what, const uint8_t *want,
		   const uint8_t *got, size_t n)
{
	nbad[check[0] == 'x' ? 0 : check[0] == 'y' ? 1 : check[0] == 'g' ? 2 : 3]++;
	if (++printed > MAXPRINT)
		return;
	printf("fpucheck: pid %d: %s mismatch at iteration %lu in %s\n  want", (int)getpid(),
	       check, iter, what);
	for (size_t i = 0; i < n; i++)
		printf(" %02x", want[i]);
	printf("\n  got ");
	for (size_t i = 0; i < n; i++)
		printf(" %02x", got[i]);
	printf("\n");
	fflush(stdout);
}

// Compare register images of NREG registers of WIDTH bytes; return the
// number of registers that differ.
static unsigned cmp_regs(const char *check, unsigned long iter, const uint8_t *want,
			 const uint8_t *got, size_t width)
{
	unsigned bad = 0;
	char name[16];
	for (unsigned r = 0; r < NREG; r++) {
		if (memcmp(want + r * width, got + r * width, width) == 0)
			continue;
		bad++;
		snprintf(name, sizeof name, "%s%u", width == 16 ? "xmm" : "ymm", r);
		report(check, iter, name, want + r * width, got + r * width, width);
	}
	return bad;
}

static int inject;

static void on_alarm(int sig, siginfo_t *si, void *ctx)
{
	(void)si;
	if (inject) {
		// -F: show that the checks see a lost register: zero the
		// interrupted code's xmm3 in its saved context, and its r13
		// when it was in run_gpr's spin loop (elsewhere r13 may be a
		// pointer the C code needs).
		ucontext_t *uc = ctx;
		if (uc->uc_mcontext.fpregs)
			memset(&uc->uc_mcontext.fpregs->_xmm[3], 0, 16);
		uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
		if (ip >= (uintptr_t)fpucheck_gpr_spin && ip < (uintptr_t)fpucheck_gpr_spun)
			uc->uc_mcontext.gregs[REG_R13] = 0;
	}
	// Dirty the vector registers inside the handler: glibc's memset and
	// memcmp use them; the interrupted code must get its own back.
	volatile uint8_t buf[512];
	memset((void *)buf, sig, sizeof buf);
	if (memcmp((const void *)buf, (const void *)(buf + 256), 256) != 0)
		abort();
}

static unsigned long child(unsigned idx, double secs, int sigs)
{
	static uint8_t in[NREG * 32], out[NREG * 32];
	static struct gctx g;
	uint64_t *mem = malloc(MEMWORDS * 8);
	unsigned long iters = 0, bad = 0;
	struct timespec ts = {0, 1000000}, t0, t1;
	if (!mem) {
		perror("fpucheck: malloc");
		exit(2);
	}
	if (sigs) {
		struct sigaction sa = {.sa_sigaction = on_alarm, .sa_flags = SA_RESTART | SA_SIGINFO};
		struct itimerval it = {{0, 1000}, {0, 1000}};
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		uint64_t seed = ((uint64_t)idx << 48) ^ ((uint64_t)getpid() << 32) ^ iters;
		struct sw w = {-1, 0, 0, 0};
		switch (iters % 3) {
		case 0: w.spin = 200000; break;
		case 1: w.nr = SYS_sched_yield; w.spin = 1000; break;
		case 2: w.nr = SYS_nanosleep; w.a1 = (long)&ts; break;
		}
		fill(in, sizeof in, seed);
		memset(out, 0, sizeof out);
		run_xmm(in, out, &w);
		bad += cmp_regs("xmm", iters, in, out, 16);
		if (have_avx) {
			fill(in, sizeof in, ~seed);
			memset(out, 0, sizeof out);
			run_ymm(in, out, &w);
			bad += cmp_regs("ymm", iters, in, out, 32);
		}
		fill((uint8_t *)g.in, sizeof g.in, seed * 3);
		memset(g.out, 0, sizeof g.out);
		g.w = w;
		run_gpr(&g);
		for (unsigned r = 0; r < 8; r++)
			if (g.in[r] != g.out[r]) {
				bad++;
				report("gpr", iters, gpr_names[r], (uint8_t *)&g.in[r],
				       (uint8_t *)&g.out[r], 8);
			}
		if (iters % 16 == 0) {
			fill((uint8_t *)mem, MEMWORDS * 8, seed * 5);
			syscall(SYS_nanosleep, &ts, NULL);
			for (size_t i = 0; i < MEMWORDS; i++) {
				uint64_t v = mix(seed * 5 + i * 8);
				if (mem[i] == v)
					continue;
				size_t j = i;
				while (j < MEMWORDS && mem[j] != mix(seed * 5 + j * 8))
					j++;
				char what[96];
				snprintf(what, sizeof what, "memory at byte %zu (%zu bad bytes from there)",
					 i * 8, (j - i) * 8);
				bad++;
				report("mem", iters, what, (uint8_t *)&v, (uint8_t *)&mem[i], 8);
				i = j;
			}
		}
		iters++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9 >= secs)
			break;
	}
	if (!quiet || bad)
		printf("fpucheck: pid %d: %lu iterations, %lu mismatches (xmm %lu, ymm %lu, gpr %lu, "
		       "mem %lu)\n",
		       (int)getpid(), iters, bad, nbad[0], nbad[1], nbad[2], nbad[3]);
	fflush(stdout);
	free(mem);
	// exit status: 0 clean, 1 mismatches; iteration count via a pipe would
	// be overkill: the parent sums the lines above when it needs to.
	return bad;
}

int main(int argc, char **argv)
{
	unsigned procs = 2;
	double secs = 60;
	int sigs = 0, opt;
	while ((opt = getopt(argc, argv, "p:t:sqFh")) != -1) {
		switch (opt) {
		case 'p': procs = (unsigned)strtoul(optarg, NULL, 10); break;
		case 't': secs = strtod(optarg, NULL); break;
		case 's': sigs = 1; break;
		case 'q': quiet = 1; break;
		case 'F': inject = sigs = 1; break;
		default:
			fprintf(stderr, "usage: fpucheck [-p PROCS] [-t SECONDS] [-s] [-F] [-q]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (procs < 1 || procs > 256 || !(secs > 0)) {
		fprintf(stderr, "fpucheck: -p wants 1..256 processes, -t a positive time\n");
		return 2;
	}
	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	int osxsave = !!(c & bit_OSXSAVE), avx = !!(c & bit_AVX);
	uint64_t xcr0 = 0;
	if (osxsave) {
		uint32_t lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		xcr0 = ((uint64_t)hi << 32) | lo;
	}
	have_avx = avx && osxsave && (xcr0 & 6) == 6;
	printf("fpucheck: cpuid avx=%d osxsave=%d xcr0=%#llx: checking xmm%s gpr mem, %u "
	       "processes, %.0f s%s\n",
	       avx, osxsave, (unsigned long long)xcr0, have_avx ? " ymm" : "", procs, secs,
	       sigs ? ", SIGALRM every 1 ms" : "");
	fflush(stdout);
	for (unsigned i = 0; i < procs; i++) {
		pid_t p = fork();
		if (p < 0) {
			perror("fpucheck: fork");
			return 2;
		}
		if (p == 0)
			_exit(child(i, secs, sigs) ? 1 : 0);
	}
	int bad = 0, st;
	pid_t p;
	while ((p = wait(&st)) > 0 || errno == EINTR) {
		if (p <= 0)
			continue;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			bad = 1;
			if (WIFSIGNALED(st))
				printf("fpucheck: pid %d died of signal %d\n", (int)p, WTERMSIG(st));
		}
	}
	printf("fpucheck: %s\n", bad ? "MISMATCHES (see above)" : "all checks matched");
	return bad;
}
