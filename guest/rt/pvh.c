/* SPDX-License-Identifier: MIT */
/* pvh.c - PVH platform: boot info from hvm_start_info, COM1, TSC, exit. */
#include "guest/rt/ukfrt.h"
#include "guest/rt/rt_internal.h"

/*
 * Only used when the image was entered through its Xen PVH note (QEMU
 * `-M microvm -kernel IMAGE`, Xen PVH). entry.S then drops to CPL3 with
 * IOPL 3 and an all-ports TSS I/O bitmap, so this code talks to the
 * hardware with in/out (no other privileged instruction): the ABI's calls
 * go through platform.c's dispatcher to the ops below so apps run
 * unchanged; fork/spawn/wait/send/recv return -UKF_ENOSYS.
 */

#define HVM_START_MAGIC 0x336ec578u
#define HVM_MEMMAP_RAM	1
#define COM1		0x3f8
#define DEBUG_EXIT_PORT 0xf4
#define PIT_HZ		1193182u
#define PVH_MAPPED	(1ULL << 30)

/* The hvm_start_info layout (Xen public/arch-x86/hvm/start_info.h). */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

static struct ukf_bootinfo pvh_bi;
static uint64_t pvh_boot_tsc;
static uint64_t pvh_tsc_khz; /* calibrated on the first TIME call */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void com1_write(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* wait for the transmit holding register (bounded: no UART) */
		for (int spin = 0; spin < 100000; spin++)
			if (inb(COM1 + 5) & 0x20)
				break;
		outb(COM1, (uint8_t)p[i]);
	}
}

static uint8_t cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

/* Top of RAM from the old CMOS fields, when no memory map is given. */
static uint64_t cmos_mem_top(void)
{
	uint64_t above16 = ((uint64_t)cmos(0x35) << 8 | cmos(0x34)) << 16;
	if (above16)
		return (16ULL << 20) + above16;
	uint64_t above1 = ((uint64_t)cmos(0x31) << 8 | cmos(0x30)) << 10;
	return (1ULL << 20) + above1;
}

static uint16_t pit0_read(void)
{
	outb(0x43, 0x00); /* latch channel 0 */
	uint8_t lo = inb(0x40);
	uint8_t hi = inb(0x40);
	return (uint16_t)(hi << 8 | lo);
}

/*
 * TSC frequency measured against 10 ms of PIT channel 0 (free-running in
 * mode 2, polled; interrupts stay off); 0 if no PIT counts (some machines
 * have no port 0x61 gate, so channel 2 cannot be used).
 */
static uint64_t calibrate_tsc_khz(void)
{
	const uint32_t want = PIT_HZ / 100;
	outb(0x43, 0x34); /* channel 0, lo/hi byte, mode 2, binary */
	outb(0x40, 0x00); /* count 65536 */
	outb(0x40, 0x00);
	uint16_t prev = pit0_read();
	uint32_t elapsed = 0;
	uint64_t t0 = ukf_rdtsc();
	for (uint32_t spins = 0; elapsed < want; spins++) {
		uint16_t cur = pit0_read();
		elapsed += (uint16_t)(prev - cur); /* counts down, wraps */
		prev = cur;
		if (spins > 10000000u)
			return 0;
	}
	uint64_t t1 = ukf_rdtsc();
	/* elapsed PIT ticks -> ms: khz = dtsc / (elapsed / PIT_HZ * 1000) */
	uint64_t khz = (t1 - t0) * (PIT_HZ / 1000) / elapsed;
	return khz >= 10000 ? khz : 0; /* < 10 MHz: not a real answer */
}

extern char _end[];

struct ukf_bootinfo *ukf_pvh_init(uint32_t start_info)
{
	const struct hvm_start_info *si =
	    (const struct hvm_start_info *)(uintptr_t)start_info;
	struct ukf_bootinfo *bi = &pvh_bi;
	uint64_t top = 0;

	pvh_boot_tsc = ukf_rdtsc();
	bi->magic = UKF_ABI_MAGIC;
	bi->abi_version = UKF_ABI_VERSION;
	bi->platform = UKF_PLATFORM_PVH;
	bi->instance_id = 1;
	bi->parent_id = 0;
	bi->flags = 0;

	if (si && si->magic == HVM_START_MAGIC) {
		if (si->version >= 1 && si->memmap_paddr) {
			const struct hvm_memmap_entry *m =
			    (const void *)(uintptr_t)si->memmap_paddr;
			for (uint32_t i = 0; i < si->memmap_entries; i++) {
				if (m[i].type != HVM_MEMMAP_RAM)
					continue;
				if (m[i].addr <= UKF_IMAGE_BASE &&
				    m[i].addr + m[i].size > UKF_IMAGE_BASE)
					top = m[i].addr + m[i].size;
			}
		}
		if (si->cmdline_paddr) {
			const char *c =
			    (const char *)(uintptr_t)si->cmdline_paddr;
			uint32_t n = 0;
			while (n < UKF_ARGS_MAX - 1 && c[n])
				n++;
			memcpy(bi->args, c, n);
			bi->args[n] = '\0';
			bi->args_len = n;
		}
	}
	if (!top)
		top = cmos_mem_top();
	if (top > PVH_MAPPED) /* entry.S identity-maps this much */
		top = PVH_MAPPED;
	top &= ~(UKF_PAGE_SIZE - 1);
	bi->mem_size = top;
	bi->heap_start =
	    ((uintptr_t)_end + UKF_PAGE_SIZE - 1) & ~(UKF_PAGE_SIZE - 1);
	bi->heap_end = top > bi->heap_start + UKF_STACK_SIZE
			   ? top - UKF_STACK_SIZE
			   : bi->heap_start;
	/*
	 * tsc_khz stays 0: the runtime then asks TIME for every reading, which
	 * here is a TSC read (no exit) after a one-off 10 ms calibration on
	 * first use, so a boot that never reads the clock skips it.
	 */
	bi->tsc_khz = 0;
	return bi;
}

static __attribute__((noreturn)) void pvh_exit(int64_t status)
{
	outb(DEBUG_EXIT_PORT, (uint8_t)status);
	for (;;) /* CPL3: no hlt; QEMU has normally exited already */
		__asm__ volatile("pause");
}

static void pvh_time(struct ukf_hc_time *t)
{
	if (!pvh_tsc_khz) {
		pvh_tsc_khz = calibrate_tsc_khz();
		if (!pvh_tsc_khz)
			pvh_tsc_khz = 1000000; /* no PIT: guess 1 GHz */
	}
	uint64_t dt = ukf_rdtsc() - pvh_boot_tsc, khz = pvh_tsc_khz;
	t->mono_ns = dt / khz * 1000000ULL + (dt % khz) * 1000000ULL / khz;
	t->wall_ns = 0;
}

static __attribute__((noreturn)) void pvh_abort(void)
{
	pvh_exit(255);
}

static int64_t pvh_ready(volatile struct ukf_bootinfo *bi)
{
	(void)bi;
	return 0;
}

static int64_t pvh_block(uint64_t deadline)
{
	ukf_spin_until(deadline);
	return 0;
}

/* The PVH platform for platform.c's dispatcher: COM1, the TSC, the
 * debug-exit port; nothing to carry fork/spawn/wait/send/recv to. */
const struct ukf_plat_ops ukf_plat_ops = {
    .console = com1_write,
    .time = pvh_time,
    .exit = pvh_exit,
    .abort = pvh_abort,
    .ready = pvh_ready,
    .block = pvh_block,
    .reach = NULL,
    .carry = NULL,
};
