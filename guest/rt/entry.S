/* SPDX-License-Identifier: MIT */
/* entry.S - guest entry points: ukfork monitor (64-bit, CPL3) and PVH (32-bit). */

/*
 * Two ways in, one C entry (ukf_rt_start in rt.c):
 *
 *  _start (ELF e_entry): the ukfork monitor enters here in 64-bit mode at
 *    CPL3, rsp = top of memory (16-byte aligned), rdi = UKF_BOOTINFO_GPA,
 *    SSE enabled. We zero .bss and call ukf_rt_start(rdi).
 *
 *  ukf_pvh_start32 (Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY): a PVH loader
 *    (QEMU -M microvm -kernel, Xen) enters in 32-bit protected mode, paging
 *    off, flat segments, ebx = physical address of struct hvm_start_info.
 *    At CPL0 we do only what needs it: identity-map the first 1 GiB with
 *    2 MiB user pages, enable PAE, long mode and SSE, load our GDT and a TSS
 *    whose I/O bitmap allows every port, and iretq to 64-bit CPL3 (IOPL 3).
 *    Everything else - zeroing .bss, ukf_pvh_init(ebx) building a boot info
 *    (platform UKF_PLATFORM_PVH) on a small boot stack, then ukf_rt_start on
 *    the stack at the top of memory - runs at CPL3 like under the monitor.
 *    Why CPL3: on KVMs that emulate guest CPL0 (this project's kvm_pvm) the
 *    emulator is slow and rejects SSE, so `qemu -accel kvm` would stop at
 *    the first SSE instruction; at CPL3 the code runs natively.
 *    .pvhbss (page tables, TSS, boot stack) relies on the loader zeroing
 *    p_memsz beyond p_filesz, as ELF loaders do.
 */

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define CR0_PE 0x00000001
#define CR0_MP 0x00000002
#define CR0_EM 0x00000004
#define CR0_PG 0x80000000
#define CR4_PAE 0x00000020
#define CR4_OSFXSR 0x00000200
#define CR4_OSXMMEXCPT 0x00000400
#define MSR_EFER 0xc0000080
#define EFER_LME 0x00000100

/* The Xen note. QEMU aligns the name to the segment's p_align, so keep the
 * note segment 4-byte aligned; the descriptor is a 64-bit address. */
	.section .note.Xen, "a"
	.p2align 2
	.long 4f - 3f       /* namesz */
	.long 6f - 5f       /* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
3:	.asciz "Xen"
4:	.p2align 2
5:	.quad ukf_pvh_start32
6:	.p2align 2

/* ---------------- ukfork monitor entry (64-bit, CPL3) ---------------- */
	.text
	.code64
	.globl _start
	.type _start, @function
_start:
	cld
	mov %rdi, %r12                  /* boot info */
	lea __bss_start(%rip), %rdi
	lea __bss_end(%rip), %rcx
	sub %rdi, %rcx
	xor %eax, %eax
	rep stosb
	mov %r12, %rdi
	and $-16, %rsp
	xor %ebp, %ebp
	call ukf_rt_start
1:	jmp 1b                          /* ukf_rt_start never returns */
	.size _start, . - _start

/* ---------------- PVH entry (32-bit protected mode, CPL0) ---------------- */
#define PVH_TSS_IOPB 0x68
#define PVH_TSS_SIZE (PVH_TSS_IOPB + 8192 + 1)
	.code32
	.globl ukf_pvh_start32
	.type ukf_pvh_start32, @function
ukf_pvh_start32:
	cli
	cld
	/* PML4[0] -> PDPT, PDPT[0] -> PD, PD: 512 x 2 MiB user pages */
	mov $ukf_pvh_pdpt, %eax
	or $0x7, %eax                   /* present, writable, user */
	mov %eax, ukf_pvh_pml4
	mov $ukf_pvh_pd, %eax
	or $0x7, %eax
	mov %eax, ukf_pvh_pdpt
	mov $ukf_pvh_pd, %edi
	mov $0x87, %eax                 /* present, writable, user, 2 MiB */
	mov $512, %ecx
1:	mov %eax, (%edi)
	add $0x200000, %eax
	add $8, %edi
	loop 1b

	/* TSS: I/O bitmap of zeros (all ports allowed) ending in 0xff */
	movw $PVH_TSS_IOPB, ukf_pvh_tss + 0x66
	movb $0xff, ukf_pvh_tss + PVH_TSS_IOPB + 8192
	mov $ukf_pvh_tss, %eax          /* patch the base into the descriptor */
	mov %ax, ukf_pvh_gdt + 0x28 + 2
	shr $16, %eax
	mov %al, ukf_pvh_gdt + 0x28 + 4
	mov %ah, ukf_pvh_gdt + 0x28 + 7

	lgdt ukf_pvh_gdt_ptr
	mov $ukf_pvh_pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	mov %eax, %cr4
	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	wrmsr
	mov %cr0, %eax
	and $~CR0_EM, %eax
	or $(CR0_PG | CR0_PE | CR0_MP), %eax
	mov %eax, %cr0
	ljmp $0x08, $ukf_pvh_start64

	.code64
ukf_pvh_start64:
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov $0x28, %eax
	ltr %ax
	/* iretq to CPL3: ss, rsp, rflags (IOPL 3, IF 0), cs, rip */
	lea ukf_pvh_stack_top(%rip), %rax
	pushq $0x23
	pushq %rax
	pushq $0x3002
	pushq $0x1b
	lea ukf_pvh_user(%rip), %rax
	pushq %rax
	iretq

ukf_pvh_user:                           /* CPL3 from here on */
	xor %eax, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %fs
	mov %eax, %gs
	mov %rbx, %r12                  /* hvm_start_info */
	lea __bss_start(%rip), %rdi
	lea __bss_end(%rip), %rcx
	sub %rdi, %rcx
	rep stosb
	mov %r12d, %edi
	xor %ebp, %ebp
	call ukf_pvh_init               /* -> struct ukf_bootinfo * */
	mov %rax, %rdi
	mov 16(%rax), %rsp              /* bootinfo->mem_size: top of memory */
	and $-16, %rsp
	call ukf_rt_start
3:	pause
	jmp 3b
	.size ukf_pvh_start32, . - ukf_pvh_start32

/*
 * GDT: null, kernel code64 0x08, kernel data 0x10, user code64 0x18 (0x1b),
 * user data 0x20 (0x23), 64-bit TSS 0x28 (base patched at boot). Writable.
 */
	.data
	.p2align 3
ukf_pvh_gdt:
	.quad 0
	.quad 0x00af9a000000ffff
	.quad 0x00cf92000000ffff
	.quad 0x00affa000000ffff
	.quad 0x00cff2000000ffff
	.quad 0x0000890000000000 + (PVH_TSS_SIZE - 1)
	.quad 0
ukf_pvh_gdt_end:
	.p2align 3
ukf_pvh_gdt_ptr:
	.word ukf_pvh_gdt_end - ukf_pvh_gdt - 1
	.long ukf_pvh_gdt
	.long 0

/* Page tables, TSS and boot stack: zero from the ELF loader (p_memsz), never
 * touched on the monitor path. */
	.section .pvhbss, "aw", @nobits
	.p2align 12
	.globl ukf_pvh_pml4
ukf_pvh_pml4:
	.skip 4096
ukf_pvh_pdpt:
	.skip 4096
ukf_pvh_pd:
	.skip 4096
	.p2align 4
ukf_pvh_tss:
	.skip PVH_TSS_SIZE
	.p2align 4
ukf_pvh_stack:
	.skip 16384
ukf_pvh_stack_top:

	.section .note.GNU-stack, "", @progbits
