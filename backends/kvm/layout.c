/* SPDX-License-Identifier: MIT */
/* layout.c - the guest's monitor area (GDT, TSS, IDT, fault stubs, page tables), CPL3 entry state, boot info. */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "host.h"
#include "ukvm_int.h"

/* Page table entry bits. */
#define PTE_P 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_US 0x4ULL
#define PTE_A 0x20ULL
#define PTE_D 0x40ULL
#define PTE_PS 0x80ULL
#define PTE_NX (1ULL << 63)

static void put64(uint8_t *mem, uint64_t gpa, uint64_t v)
{
	memcpy(mem + gpa, &v, 8);
}

/* Exceptions that push an error code (the frame then starts with it). */
int ukvm_vector_has_errcode(unsigned v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 ||
	       v == 29 || v == 30;
}

static void build_gdt_tss(uint8_t *mem)
{
	uint8_t *tss = mem + UKVM_TSS_GPA;
	uint64_t base = UKVM_TSS_GPA, lim = UKVM_TSS_LIMIT;
	uint64_t stack0 = UKVM_STACK0_TOP;
	uint16_t iomap = UKVM_TSS_IOMAP_OFF;

	put64(mem, UKVM_GDT_GPA + 0x00, 0);
	put64(mem, UKVM_GDT_GPA + 0x08, 0x00af9b000000ffffULL); /* kernel CS, L */
	put64(mem, UKVM_GDT_GPA + 0x10, 0x00cf93000000ffffULL); /* kernel DS */
	put64(mem, UKVM_GDT_GPA + 0x18, 0x00affb000000ffffULL); /* user CS, L */
	put64(mem, UKVM_GDT_GPA + 0x20, 0x00cff3000000ffffULL); /* user DS */
	/* 64-bit TSS descriptor, two slots; present, with TR's type (host.h). */
	put64(mem, UKVM_GDT_GPA + 0x28,
	      (lim & 0xffff) | ((base & 0xffffff) << 16) |
		      ((uint64_t)(0x80 | ukvm_host_tr_type()) << 40) |
		      (((lim >> 16) & 0xf) << 48) |
		      (((base >> 24) & 0xff) << 56));
	put64(mem, UKVM_GDT_GPA + 0x30, base >> 32);

	memset(tss, 0, UKVM_TSS_LIMIT + 1);
	memcpy(tss + 4, &stack0, 8);    /* RSP0 */
	memcpy(tss + 0x66, &iomap, 2);  /* I/O map base */
	/*
	 * I/O bitmap: every port denied except the hypercall ports. A 4-byte
	 * outl to port p checks the bits of p..p+3, so the 3 ports after the
	 * range are allowed too (else outl to the last three hypercall ports
	 * would #GP); an access to them exits and fails the guest.
	 */
	memset(tss + UKVM_TSS_IOMAP_OFF, 0xff, UKVM_TSS_IOMAP_BYTES + 1);
	for (unsigned p = UKF_HC_PORT_BASE;
	     p < UKF_HC_PORT_BASE + UKF_HC_MAX + 3; p++)
		tss[UKVM_TSS_IOMAP_OFF + p / 8] &= ~(1u << (p % 8));
}

static void build_idt_stubs(uint8_t *mem)
{
	for (unsigned v = 0; v < 32; v++) {
		uint8_t *s = mem + UKVM_STUBS_GPA + 16 * v;
		uint64_t off = UKVM_STUBS_GPA + 16 * v;
		uint8_t *g = mem + UKVM_IDT_GPA + 16 * v;
		/* mov $0x4ff,%dx; mov $v,%eax; out %eax,%dx; 1: hlt; jmp 1b */
		const uint8_t code[16] = { 0x66, 0xba, UKF_FAULT_PORT & 0xff,
					   UKF_FAULT_PORT >> 8, 0xb8, v, 0, 0, 0,
					   0xef, 0xf4, 0xeb, 0xfd, 0x90, 0x90,
					   0x90 };

		memcpy(s, code, sizeof(code));
		memset(g, 0, 16);
		g[0] = off & 0xff;
		g[1] = (off >> 8) & 0xff;
		g[2] = UKVM_SEL_KCODE;
		g[3] = 0;
		g[4] = 0;    /* IST */
		g[5] = 0x8e; /* present, DPL0, 64-bit interrupt gate */
		g[6] = (off >> 16) & 0xff;
		g[7] = (off >> 24) & 0xff;
		g[8] = (off >> 32) & 0xff;
		g[9] = (off >> 40) & 0xff;
		g[10] = (off >> 48) & 0xff;
		g[11] = (off >> 56) & 0xff;
	}
}

static void build_page_tables(uint8_t *mem, uint64_t mem_size)
{
	const uint64_t pml4 = UKVM_PT_GPA, pdpt = pml4 + 0x1000;
	const uint64_t pd0 = pdpt + 0x1000, pt = pd0 + 4 * 0x1000;
	const uint64_t tbl = PTE_P | PTE_RW | PTE_US | PTE_A;
	uint64_t ngib = (mem_size + (1ULL << 30) - 1) >> 30;

	/* memory is zero: write only present entries (a memset would fault
	 * in the unused PD pages for nothing) */
	put64(mem, pml4, pdpt | tbl);
	for (uint64_t g = 0; g < ngib; g++)
		put64(mem, pdpt + 8 * g, (pd0 + 0x1000 * g) | tbl);
	/* First 2 MiB in 4 KiB pages; the rest in 2 MiB pages (user RWX). */
	put64(mem, pd0, pt | tbl);
	for (uint64_t a = UKVM_MEM_ALIGN; a < mem_size; a += UKVM_MEM_ALIGN)
		put64(mem, pd0 + 8 * (a >> 21),
		      a | PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D | PTE_PS);
	for (uint64_t a = 0; a < UKVM_MEM_ALIGN; a += UKF_PAGE_SIZE) {
		uint64_t e;

		if (a < UKF_MON_BASE)
			continue; /* null page: not present */
		else if (a == UKVM_STUBS_GPA)
			e = a | PTE_P | PTE_A; /* supervisor, read + exec */
		else if (a < UKF_MON_END)
			e = a | PTE_P | PTE_RW | PTE_A | PTE_D | PTE_NX;
		else if (a == UKF_BOOTINFO_GPA)
			e = a | PTE_P | PTE_US | PTE_A | PTE_NX; /* user RO */
		else
			e = a | PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D;
		put64(mem, pt + 8 * (a >> 12), e);
	}
}

void ukvm_layout_protect(uint8_t *mem, const struct ukvm_image *img)
{
	const uint64_t pt = UKVM_PT_GPA + 6 * 0x1000;
	uint8_t perm[UKVM_MEM_ALIGN / UKF_PAGE_SIZE] = { 0 };

	/* per 4 KiB page of the first 2 MiB: union of the flags of the
	 * segments on it (two segments may share a page) */
	for (unsigned i = 0; i < img->nseg; i++) {
		const struct ukvm_seg *sg = &img->seg[i];
		uint64_t end = sg->gpa + sg->memsz;

		for (uint64_t a = sg->gpa & ~(UKF_PAGE_SIZE - 1);
		     a < end && a < UKVM_MEM_ALIGN; a += UKF_PAGE_SIZE)
			perm[a >> 12] |= 0x80 | (sg->flags & (PF_W | PF_X));
	}
	for (uint64_t p = UKF_IMAGE_BASE >> 12; p < sizeof(perm); p++) {
		uint64_t e;

		if (!perm[p])
			continue; /* not the image's: stays user RWX */
		e = (p << 12) | PTE_P | PTE_US | PTE_A | PTE_D;
		if (perm[p] & PF_W)
			e |= PTE_RW;
		if (!(perm[p] & PF_X))
			e |= PTE_NX;
		put64(mem, pt + 8 * p, e);
	}
}

void ukvm_layout_build(uint8_t *mem, uint64_t mem_size)
{
	build_gdt_tss(mem);
	build_idt_stubs(mem);
	build_page_tables(mem, mem_size);
}

void ukvm_layout_sanitize(uint8_t *mem, uint64_t mem_size)
{
	uint8_t *pt = mem + UKVM_PT_GPA + 6 * 0x1000;
	const uint64_t flags = PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D | PTE_NX;
	uint64_t keep[UKVM_MEM_ALIGN / UKF_PAGE_SIZE];

	/*
	 * An image page's entry is kept (its W^X permissions come from the
	 * image, which this code does not have) only if it maps its own
	 * address, for user mode, with no bit beyond present/RW/US/A/D/NX.
	 */
	for (uint64_t p = 0; p < UKVM_MEM_ALIGN / UKF_PAGE_SIZE; p++) {
		uint64_t e;

		memcpy(&e, pt + 8 * p, 8);
		keep[p] = 0;
		if (p >= UKF_IMAGE_BASE / UKF_PAGE_SIZE &&
		    (e & ~flags) == (p << 12) &&
		    (e & (PTE_P | PTE_US)) == (PTE_P | PTE_US))
			keep[p] = e;
	}
	memset(mem + UKF_MON_BASE, 0, UKF_MON_END - UKF_MON_BASE);
	ukvm_layout_build(mem, mem_size);
	for (uint64_t p = 0; p < UKVM_MEM_ALIGN / UKF_PAGE_SIZE; p++)
		if (keep[p])
			put64(mem, UKVM_PT_GPA + 6 * 0x1000 + 8 * p, keep[p]);
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = sel & 3;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

int ukvm_vcpu_boot_regs(struct ukvm_vm *vm, uint64_t rip, uint64_t rsp,
			uint64_t rdi, char *err, size_t errlen)
{
	struct kvm_sregs sr;
	struct kvm_regs r;
	struct kvm_fpu fpu;

	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sr) < 0) {
		snprintf(err, errlen, "KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	seg(&sr.cs, UKVM_SEL_UCODE, 0xb, 1);
	seg(&sr.ds, UKVM_SEL_UDATA, 0x3, 0);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	memset(&sr.tr, 0, sizeof(sr.tr));
	sr.tr.base = UKVM_TSS_GPA;
	sr.tr.limit = UKVM_TSS_LIMIT;
	sr.tr.selector = UKVM_SEL_TSS;
	sr.tr.type = ukvm_host_tr_type(); /* 64-bit TSS: busy or available */
	sr.tr.present = 1;
	memset(&sr.ldt, 0, sizeof(sr.ldt));
	sr.ldt.type = 2;
	sr.ldt.unusable = 1;
	sr.gdt.base = UKVM_GDT_GPA;
	sr.gdt.limit = 0x37;
	sr.idt.base = UKVM_IDT_GPA;
	sr.idt.limit = 32 * 16 - 1;
	sr.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sr.cr3 = UKVM_PT_GPA;
	sr.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sr.efer = EFER_LME | EFER_LMA | EFER_NXE;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sr) < 0) {
		snprintf(err, errlen, "KVM_SET_SREGS: %s", strerror(errno));
		return -1;
	}
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(vm->vcpu_fd, KVM_SET_FPU, &fpu) < 0) {
		snprintf(err, errlen, "KVM_SET_FPU: %s", strerror(errno));
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.rip = rip;
	r.rsp = rsp;
	r.rdi = rdi;
	r.rflags = 0x2;
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &r) < 0) {
		snprintf(err, errlen, "KVM_SET_REGS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void ukvm_bootinfo_fill(struct ukvm_vm *vm, const struct ukvm_image *img)
{
	struct ukf_bootinfo *bi = (void *)(vm->mem + UKF_BOOTINFO_GPA);
	size_t n = strnlen(vm->args, sizeof(vm->args) - 1);

	memset(bi, 0, sizeof(*bi));
	bi->magic = UKF_ABI_MAGIC;
	bi->abi_version = UKF_ABI_VERSION;
	bi->platform = UKF_PLATFORM_UKVM;
	bi->mem_size = vm->mem_size;
	bi->instance_id = vm->inst;
	bi->parent_id = vm->parent;
	bi->heap_start = (img->hi + UKF_PAGE_SIZE - 1) & ~(UKF_PAGE_SIZE - 1);
	bi->heap_end = vm->mem_size - UKF_STACK_SIZE;
	bi->tsc_khz = vm->mon->tsc_khz;
	bi->flags = 0;
	bi->args_len = n;
	memcpy(bi->args, vm->args, n);
	bi->args[n] = 0;
}

int ukvm_fault_frame_ok(uint64_t rsp, uint64_t len)
{
	/* rsp + len is never computed: it wraps for rsp near 2^64 */
	return rsp >= UKF_MON_BASE && rsp <= UKF_MON_END &&
	       len <= UKF_MON_END - rsp;
}
