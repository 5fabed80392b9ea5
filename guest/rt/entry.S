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
 *    off, flat segments, ebx = physical address of struct hvm_start_info. We
 *    zero .bss, identity-map the first 4 GiB with 2 MiB pages, enable PAE,
 *    long mode and SSE, load our GDT, jump to 64-bit code, let
 *    ukf_pvh_init(ebx) build a boot info (platform UKF_PLATFORM_PVH) on a
 *    small boot stack, then move the stack to the top of memory and call
 *    ukf_rt_start like the monitor path. Runs at CPL0.
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
	.code32
	.globl ukf_pvh_start32
	.type ukf_pvh_start32, @function
ukf_pvh_start32:
	cli
	cld
	/* zero .bss and .pvhbss (page tables, boot stack) */
	mov $__bss_start, %edi
	mov $__pvhbss_end, %ecx
	sub %edi, %ecx
	xor %eax, %eax
	rep stosb

	/* PML4[0] -> PDPT; PDPT[0..3] -> PD0..PD3; PDn: 512 x 2 MiB pages */
	mov $ukf_pvh_pdpt, %eax
	or $0x3, %eax
	mov %eax, ukf_pvh_pml4
	mov $ukf_pvh_pd, %eax
	or $0x3, %eax
	mov $ukf_pvh_pdpt, %edi
	mov $4, %ecx
1:	mov %eax, (%edi)
	add $0x1000, %eax
	add $8, %edi
	loop 1b
	mov $ukf_pvh_pd, %edi
	mov $0x83, %eax                 /* present, writable, 2 MiB page */
	xor %edx, %edx                  /* high half of the address */
	mov $2048, %ecx
2:	mov %eax, (%edi)
	mov %edx, 4(%edi)
	add $0x200000, %eax
	adc $0, %edx
	add $8, %edi
	loop 2b

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
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	lea ukf_pvh_stack_top(%rip), %rsp
	mov %ebx, %edi                  /* hvm_start_info (zero-extended) */
	xor %ebp, %ebp
	call ukf_pvh_init               /* -> struct ukf_bootinfo * */
	mov %rax, %rdi
	mov 16(%rax), %rsp              /* bootinfo->mem_size: top of memory */
	and $-16, %rsp
	call ukf_rt_start
3:	hlt
	jmp 3b
	.size ukf_pvh_start32, . - ukf_pvh_start32

/* GDT: null, 64-bit code (0x08), data (0x10). */
	.section .rodata
	.p2align 3
ukf_pvh_gdt:
	.quad 0
	.quad 0x00af9a000000ffff
	.quad 0x00cf92000000ffff
ukf_pvh_gdt_end:
	.p2align 3
ukf_pvh_gdt_ptr:
	.word ukf_pvh_gdt_end - ukf_pvh_gdt - 1
	.long ukf_pvh_gdt
	.long 0

/* Page tables and the boot stack: zeroed by the PVH entry code above only,
 * so the ukfork monitor path never touches these pages. */
	.section .pvhbss, "aw", @nobits
	.p2align 12
	.globl ukf_pvh_pml4
ukf_pvh_pml4:
	.skip 4096
ukf_pvh_pdpt:
	.skip 4096
ukf_pvh_pd:
	.skip 4 * 4096
	.p2align 4
ukf_pvh_stack:
	.skip 16384
ukf_pvh_stack_top:

	.section .note.GNU-stack, "", @progbits
