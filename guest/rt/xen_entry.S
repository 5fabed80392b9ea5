/* SPDX-License-Identifier: MIT */
/* xen_entry.S - Xen PV (x86-64) entry of a guest image: ELF notes, hypercall page, _start. */

/*
 * Linked into the Xen images only (guest/link-xen.ld, library ukfrt-xen);
 * the KVM/PVH images keep entry.S. What Xen's PV domain builder (libxc's
 * ELF loader, as `xl create` and backends/xen use it) needs to see:
 *   - notes in the "Xen" namespace: LOADER "generic" and XEN_VERSION
 *     "xen-3.0" (it refuses images without them), GUEST_OS, VIRT_BASE 0
 *     and PADDR_OFFSET 0 (virtual == pseudo-physical: the image is linked
 *     at 1 MiB, so pages [0, 1 MiB) are padding the builder maps too),
 *     ENTRY and HYPERCALL_PAGE (a page of .text Xen fills with one 32-byte
 *     stub per hypercall);
 *   - no XEN_ELFNOTE_PHYS32_ENTRY: this image is PV only.
 * Xen enters _xen_start in 64-bit mode (the PV kernel runs in ring 3),
 * events masked, rsi = virtual address of struct start_info, rsp = the
 * top of the boot stack page the builder put after its page tables. We
 * zero .bss, move to our own stack (in .bss), let xen.c build a boot info
 * (platform hook, memory mapping, console ring) and enter the runtime.
 */

#define XEN_ELFNOTE_ENTRY          1
#define XEN_ELFNOTE_HYPERCALL_PAGE 2
#define XEN_ELFNOTE_VIRT_BASE      3
#define XEN_ELFNOTE_PADDR_OFFSET   4
#define XEN_ELFNOTE_XEN_VERSION    5
#define XEN_ELFNOTE_GUEST_OS       6
#define XEN_ELFNOTE_GUEST_VERSION  7
#define XEN_ELFNOTE_LOADER         8

#define XEN_STACK_SIZE (256 * 1024) /* UKF_STACK_SIZE */

/* One note: its type, then its descriptor between labels 3 and 4. */
.macro XEN_NOTE_HEAD type
	.p2align 2
	.long 2f - 1f
	.long 4f - 3f
	.long \type
1:	.asciz "Xen"
2:	.p2align 2
.endm
.macro XEN_NOTE_STR type, str
	XEN_NOTE_HEAD \type
3:	.asciz "\str"
4:	.p2align 2
.endm
.macro XEN_NOTE_QUAD type, val
	XEN_NOTE_HEAD \type
3:	.quad \val
4:	.p2align 2
.endm

	.section .note.Xen, "a"
	XEN_NOTE_STR XEN_ELFNOTE_GUEST_OS, "ukfork"
	XEN_NOTE_STR XEN_ELFNOTE_GUEST_VERSION, "1"
	XEN_NOTE_STR XEN_ELFNOTE_XEN_VERSION, "xen-3.0"
	XEN_NOTE_STR XEN_ELFNOTE_LOADER, "generic"
	XEN_NOTE_QUAD XEN_ELFNOTE_VIRT_BASE, 0
	XEN_NOTE_QUAD XEN_ELFNOTE_PADDR_OFFSET, 0
	XEN_NOTE_QUAD XEN_ELFNOTE_ENTRY, _xen_start
	XEN_NOTE_QUAD XEN_ELFNOTE_HYPERCALL_PAGE, ukf_xen_hypercall_page

	.section .text.entry, "ax"
	.code64
	.globl _xen_start
	.type _xen_start, @function
_xen_start:
	cld
	mov %rsi, %r12                  /* start_info */
	mov %rsp, %r13                  /* top of Xen's boot stack */
	lea __bss_start(%rip), %rdi
	lea __bss_end(%rip), %rcx
	sub %rdi, %rcx
	xor %eax, %eax
	rep stosb
	lea ukf_xen_stack_top(%rip), %rsp
	xor %ebp, %ebp
	mov %r12, %rdi
	mov %r13, %rsi
	call ukf_xen_init               /* -> struct ukf_bootinfo * */
	mov %rax, %rdi
	call ukf_rt_start
1:	jmp 1b                          /* ukf_rt_start never returns */
	.size _xen_start, . - _xen_start

/* Filled by Xen at domain build: hypercall N is a call to page + 32 * N. */
	.text
	.p2align 12
	.globl ukf_xen_hypercall_page
ukf_xen_hypercall_page:
	.skip 4096

	.bss
	.p2align 12
ukf_xen_stack:
	.skip XEN_STACK_SIZE
	.globl ukf_xen_stack_top
ukf_xen_stack_top:

	.section .note.GNU-stack, "", @progbits
