/* SPDX-License-Identifier: MIT */
/* tiny.S - minimal hand-written guests for the monitor's tests; MODE_* picks the behaviour. */
#define SPIN_CNT 0x200008  /* MODE_SPIN's counter and stop word (test_kvm.c) */
#define SPIN_STOP 0x200000
#define HC(n, arg) mov $arg, %eax; mov $(0x500 + n), %dx; out %eax, %dx

	.text
	.globl _start
_start:
	pxor %xmm0, %xmm0          /* SSE must work */
	addps %xmm0, %xmm0
	push %rdi                  /* the stack at top of memory works */
	pop %rdi
#if defined(MODE_HELLO)
	HC(4, rdy)                 /* ready */
	HC(0, con)                 /* "UKF-READY\n" */
	HC(2, ex0)                 /* exit 0 */
#elif defined(MODE_NULL)
	movq $1, 0x8
#elif defined(MODE_UD)
	ud2
#elif defined(MODE_DIV)
	xor %ecx, %ecx
	div %ecx
#elif defined(MODE_GP)
	hlt
#elif defined(MODE_LOOP)
1:	jmp 1b
#elif defined(MODE_WRAP)
	HC(0, conwrap)
#elif defined(MODE_PASTEND)
	mov 0x80010, %rax          /* bootinfo.mem_size */
	sub $8, %rax
	mov %rax, conend+8
	HC(0, conend)
#elif defined(MODE_MONAREA)
	HC(0, 0x2000)              /* argument struct in the monitor area */
#elif defined(MODE_MISALIGNED)
	HC(0, con + 4)
#elif defined(MODE_ROBOOT)
	movq $1, 0x80000           /* boot info is read-only */
#elif defined(MODE_WRITETEXT)
	movb $0x90, _start         /* text is read-only */
#elif defined(MODE_EXECDATA)
	mov $rbuf, %eax            /* data is not executable */
	jmp *%rax
#elif defined(MODE_UNKNOWN)
	HC(15, unk)                /* last reserved port: outl must work */
	cmpq $-38, unk
	jne 2f
	movq $0, unk
	HC(12, unk)                /* first unknown number */
	cmpq $-38, unk
	jne 2f
	movq $-1, con0
	HC(0, con0)                /* empty write, null buffer: ret 0 */
	cmpq $0, con0
	jne 2f
	HC(0, con)
2:	HC(2, ex0)
#elif defined(MODE_ABORT)
	HC(3, abrt)
#elif defined(MODE_EXIT7)
	HC(0, con2)                /* two lines, the second without '\n' */
	HC(2, ex7)
#elif defined(MODE_BLOCK)
	HC(5, blk)
	mov blk, %rax
	mov %rax, exv+8
	HC(2, exv)
#elif defined(MODE_BLOCKUD)
	HC(5, blk)                 /* the test breaks the IDT meanwhile */
	ud2
#elif defined(MODE_RECV)
	HC(11, rcv)
	mov rcv, %rax
	mov %rax, conr+16
	HC(0, conr)
	HC(2, ex0)
#elif defined(MODE_INFO)
	HC(6, inf)
	mov inf, %rax
	mov %rax, coni+16
	HC(0, coni)
	mov inf+40, %rax           /* node: exit status (0x55 if never set) */
	mov %rax, exv+8
	HC(2, exv)
#elif defined(MODE_TIME)
	HC(1, tim)
	cmpq $0, tim+8
	je 3f
	cmpq $0, tim+16
	je 3f
	HC(0, con)
3:	HC(2, ex0)
#elif defined(MODE_SPIN)
	/* Runs until told to stop: counts in memory at SPIN_CNT until the
	 * host writes an exit status to SPIN_STOP, then says whether its
	 * instance id is still the one it started with, or its parent's is
	 * (a fork child's, with the register kept), and exits with that
	 * status. Both words lie above the image,
	 * at fixed addresses the test reads and writes. */
	HC(6, inf)
	mov inf+8, %rbx            /* the id it started with */
	HC(0, cons)                /* "spin: started" */
1:	incq SPIN_CNT
	pause
	mov SPIN_STOP, %rax
	test %rax, %rax
	jz 1b
	mov %rax, exv+8
	HC(6, inf)
	cmp inf+8, %rbx
	je 4f
	cmp inf+16, %rbx           /* a child of the one it started as */
	je 6f
	HC(0, consl)               /* "spin: lost id" */
	jmp 5f
6:	HC(0, consn)               /* "spin: new id" */
	jmp 5f
4:	HC(0, consa)               /* "spin: same id" */
5:	HC(2, exv)
#elif defined(MODE_CALLS)
	/* calls refused with -EINVAL (22), the guest goes on: fork with
	 * flags, spawn of an empty name, of a name with a NUL, of a name
	 * with a control character; then an empty console line and one
	 * ended by "\r\n"; UKF-READY only if every refusal came */
	HC(7, frk)
	cmpq $-22, frk
	jne 9f
	HC(8, spw0)
	cmpq $-22, spw0
	jne 9f
	HC(8, spwn)
	cmpq $-22, spwn
	jne 9f
	HC(8, spwc)
	cmpq $-22, spwc
	jne 9f
	HC(0, conlf)
	HC(0, con)
9:	HC(2, ex0)
#elif defined(MODE_INFOBAD)
	HC(6, infb)                /* info into a wild buffer */
#elif defined(MODE_SPAWNBAD)
	HC(8, spwb)                /* spawn with wild arguments */
#elif defined(MODE_ABORTLONG)
	mov 0x80010, %rax          /* bootinfo.mem_size */
	sub $1024, %rax            /* the last 1 KiB of memory, but 5000 */
	mov %rax, abrtl+8          /* bytes long: cut to 1024, not refused */
	HC(3, abrtl)
#elif defined(MODE_INPORT)
	mov $0x500, %dx            /* in from a hypercall port */
	inb %dx, %al
#elif defined(MODE_OUTBYTE)
	mov $0x510, %dx            /* a byte out to a port past the calls */
	outb %al, %dx
#else
#error "no MODE_"
#endif
	ud2

	.data
	.balign 8
rdy:	.quad 0
con:	.quad 0, msg, 10
con0:	.quad 0, 0, 0
con2:	.quad 0, msg2, 15
conwrap: .quad 0, 0xfffffffffffffff0, 0x20
conend:	.quad 0, 0, 64
ex0:	.quad 0, 0
ex7:	.quad 0, 7
exv:	.quad 0, 0
unk:	.quad 0, 0, 0, 0
abrt:	.quad 0, amsg, 4
blk:	.quad 0, 1000000
rcv:	.quad 0, rbuf, 16, 0, 0
conr:	.quad 0, rbuf, 0
inf:	.quad 0, 0, 0, ibuf, 64, 0x55
coni:	.quad 0, ibuf, 0
tim:	.quad 0, 0, 0
cons:	.quad 0, smsg, 14
consn:	.quad 0, smsg + 14, 13
consa:	.quad 0, smsg + 27, 14
consl:	.quad 0, smsg + 41, 14
msg:	.ascii "UKF-READY\n"
msg2:	.ascii "line one\nline 2"
amsg:	.ascii "boom"
	.balign 8
frk:	.quad 0, 1
spw0:	.quad 0, sname, 0, 0, 0
spwn:	.quad 0, snul, 3, 0, 0
spwc:	.quad 0, sctl, 2, 0, 0
spwb:	.quad 0, sname, 1, 0x7fff00000000, 4
infb:	.quad 0, 0, 0, 0x7fff00000000, 16, 0
abrtl:	.quad 0, 0, 5000
conlf:	.quad 0, lfmsg, 4
sname:	.ascii "a"
snul:	.ascii "a\0b"
sctl:	.ascii "a\1"
lfmsg:	.ascii "\nx\r\n"
smsg:	.ascii "spin: started\nspin: new id\nspin: same id\nspin: lost id\n"
	.balign 8
rbuf:	.fill 16, 1, 0
ibuf:	.fill 64, 1, 0
