/* SPDX-License-Identifier: MIT */
/* xen.c - Xen PV platform: start_info, memory map, console ring, clock, xenstore, shutdown. */

/*
 * The Xen images (guest-xen-NAME) link this file and xen_entry.S instead of
 * entry.S and pvh.c; rt.c, platform.c and the apps are the same objects'
 * sources. The runtime (rt.c) sends every ABI call of a boot info whose
 * platform is not UKF_PLATFORM_UKVM to platform.c's dispatcher, which
 * checks it and calls the ops this file defines (ukf_plat_ops).
 *
 * What each call does here:
 *   console  the PV console ring (start_info->console.domU: a page in our
 *            memory + an event channel); xenconsoled copies it to the pty
 *            and to /var/log/xen/console/guest-NAME.log
 *   time     Xen's per-vCPU pvclock in the shared info page (mono: since
 *            this boot; wall: Xen's wallclock + system time)
 *   exit     the status written to xenstore as data/ukf-exit (relative to
 *            the domain's home, /local/domain/ID), after data/ukf-console
 *            (bytes written to the console in all), the console drained,
 *            then SCHEDOP_shutdown SHUTDOWN_poweroff; if xenstore could not
 *            take the status, a non-zero status shuts down with
 *            SHUTDOWN_crash so it is at least not mistaken for success
 *   abort    "ukf_abort: MSG" on the console, data/ukf-exit 255, crash
 *   ready    held for backends/xen (ready_hold: templates by suspend,
 *            clones by restore; 1 in a clone), else 0
 *   info     instance 1 (a fork child: the id the backend gave it), node 0
 *   fork, spawn, wait, send, recv, block: carried to backends/xen over the
 *            call page and its event channel (backends/xen/uxen_abi.h)
 *            when the backend serves calls (data/ukf-calls); otherwise
 *            (xl create) -UKF_ENOSYS, and block yields until its deadline
 * A fault has no handler (no trap table): Xen crashes the domain.
 *
 * Memory: Xen's builder maps the image, its own pages (p2m list, start
 * info, xenstore and console pages, page tables, boot stack) and at least
 * 512 KiB more. ukf_xen_init maps every other page of the domain (up to
 * 1 GiB: one L2 table's reach) at virtual == pseudo-physical, making new
 * L1 tables from the first free pages, then unmaps page 0 so a null
 * pointer faults. The heap is what lies above those tables.
 */
#define __XEN_INTERFACE_VERSION__ 0x00040d00

#include "guest/rt/ukfrt.h"
#include "guest/rt/rt_internal.h"

#include <xen/xen.h>
#include <xen/sched.h>
#include <xen/event_channel.h>
#include <xen/io/console.h>
#include <xen/io/xs_wire.h>

#include "backends/xen/uxen_abi.h"

#define PG_P	      0x001ULL
#define PG_RW	      0x002ULL
#define PG_USER	      0x004ULL
#define PG_ACCESSED   0x020ULL
#define PG_DIRTY      0x040ULL
#define PTE_ADDR      0x000ffffffffff000ULL
#define L1_PROT	      (PG_P | PG_RW | PG_USER | PG_ACCESSED)
#define L1_PROT_RO    (PG_P | PG_USER | PG_ACCESSED)
#define L2_PROT	      (PG_P | PG_RW | PG_USER | PG_ACCESSED | PG_DIRTY)
#define PT_ENTRIES    512
#define MAP_MAX_PAGES (1UL << 18) /* 1 GiB: what L2 table 0 reaches */
#define MMU_BATCH     512

#define XEN_CONSOLE_WAIT_NS 5000000000ULL  /* a full ring nobody drains */
#define XEN_DRAIN_WAIT_NS   2000000000ULL  /* console drained before exit */
#define XEN_STORE_WAIT_NS   10000000000ULL /* xenstored under emulation */
#define XEN_EXIT_KEY	    "data/ukf-exit"
#define XEN_CONSOLE_KEY	    "data/ukf-console"
/* the ready/template protocol with backends/xen (see ready_hold) */
#define XEN_HOLD_KEY	 "data/ukf-hold"  /* backend: hold at ready */
#define XEN_READY_KEY	 "data/ukf-ready" /* guest: held at ready */
#define XEN_GO_KEY	 "data/ukf-go"	  /* backend: ready's answer */
#define XEN_ID_KEY	 "data/ukf-id"	  /* backend, clone: its id */
#define XEN_ARGS_KEY	 "data/ukf-args"  /* backend, clone: its args */
#define XEN_CONTROL_KEY	 "control/shutdown"
#define XEN_HOLD_POLL_NS 20000000ULL /* xenstore looked at every 20 ms */

extern char ukf_xen_hypercall_page[];
extern char _end[];

static start_info_t *xs_si;
static shared_info_t *xs_sh;
static unsigned long *xs_p2m;
static struct xencons_interface *xs_con;
static uint32_t xs_con_port;
static uint64_t xs_con_bytes; /* bytes put in the console ring, in all */
static struct xenstore_domain_interface *xs_store;
static uint32_t xs_store_port;
static uint32_t xs_req_id;
static uint64_t xs_boot_ns;
static struct ukf_bootinfo xs_bi;

/* The shared info frame is mapped over this page (its own frame unused). */
static char xs_shared_page[4096] __attribute__((aligned(4096)));
/* The p2m's frame list (the MFNs of the pages of the p2m list) and the
 * list of that list's frames, which libxc's save reads through the shared
 * info (arch.pfn_to_mfn_frame_list_list): one page each reaches 1 GiB. */
static unsigned long xs_p2m_fl[512] __attribute__((aligned(4096)));
static unsigned long xs_p2m_fll[512] __attribute__((aligned(4096)));

/* ---------------- hypercalls ---------------- */

/* Xen's x86-64 PV hypercall ABI: rdi, rsi, rdx, r10; result in rax; the
 * argument registers, rcx and r11 may be clobbered. */
static long xen_hc(unsigned nr, unsigned long a1, unsigned long a2,
		   unsigned long a3, unsigned long a4)
{
	register unsigned long r10 __asm__("r10") = a4;
	unsigned long d1, d2, d3;
	long ret;

	__asm__ volatile("call *%[fn]"
			 : "=a"(ret), "=D"(d1), "=S"(d2), "=d"(d3), "+r"(r10)
			 : [fn] "r"(ukf_xen_hypercall_page + nr * 32), "1"(a1),
			   "2"(a2), "3"(a3)
			 : "rcx", "r8", "r9", "r11", "memory");
	return ret;
}

static long sched_op(int cmd, void *arg)
{
	return xen_hc(__HYPERVISOR_sched_op, (unsigned long)cmd,
		      (unsigned long)arg, 0, 0);
}

static void yield(void)
{
	sched_op(SCHEDOP_yield, NULL);
}

static void notify(uint32_t port)
{
	struct evtchn_send s = {.port = port};
	xen_hc(__HYPERVISOR_event_channel_op, EVTCHNOP_send, (unsigned long)&s,
	       0, 0);
}

static long update_va(unsigned long va, uint64_t pte)
{
	return xen_hc(__HYPERVISOR_update_va_mapping, va, pte, UVMF_INVLPG, 0);
}

static long mmu_update(mmu_update_t *req, unsigned n)
{
	unsigned done = 0;
	return xen_hc(__HYPERVISOR_mmu_update, (unsigned long)req, n,
		      (unsigned long)&done, DOMID_SELF);
}

static __attribute__((noreturn)) void shutdown(unsigned reason)
{
	struct sched_shutdown s = {.reason = reason};
	for (;;)
		sched_op(SCHEDOP_shutdown, &s);
}

static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

static inline void mb(void)
{
	__asm__ volatile("mfence" ::: "memory");
}

/* ---------------- frames ---------------- */

static unsigned long m2p(unsigned long mfn)
{
	return ((const volatile unsigned long *)MACH2PHYS_VIRT_START)[mfn];
}

/* Virtual address of a machine frame in our memory (virt == pseudo-phys). */
static void *mfn_va(unsigned long mfn)
{
	return (void *)(m2p(mfn) << 12);
}

static uint64_t pfn_pte(unsigned long pfn, uint64_t prot)
{
	return ((uint64_t)xs_p2m[pfn] << 12) | prot;
}

/* ---------------- clock ---------------- */

static uint64_t system_ns(void)
{
	volatile struct vcpu_time_info *t = &xs_sh->vcpu_info[0].time;
	uint32_t v;
	uint64_t ns;

	do {
		v = t->version;
		barrier();
		uint64_t d = ukf_rdtsc() - t->tsc_timestamp;
		int8_t shift = t->tsc_shift;
		if (shift < 0)
			d >>= -shift;
		else
			d <<= shift;
		ns = t->system_time +
		     (uint64_t)(((unsigned __int128)d * t->tsc_to_system_mul) >>
				32);
		barrier();
	} while ((v & 1) || v != t->version);
	return ns;
}

static uint64_t wall_ns(void)
{
	volatile struct shared_info *s = xs_sh;
	uint32_t v;
	uint64_t sec, nsec;

	do {
		v = s->wc_version;
		barrier();
		sec = s->wc_sec | ((uint64_t)s->xen_wc_sec_hi << 32);
		nsec = s->wc_nsec;
		barrier();
	} while ((v & 1) || v != s->wc_version);
	return sec * 1000000000ULL + nsec + system_ns();
}

static uint64_t mono_ns(void)
{
	return system_ns() - xs_boot_ns;
}

/* ---------------- console ring ---------------- */

static void con_write(const char *p, size_t n)
{
	volatile struct xencons_interface *r = xs_con;
	uint64_t stuck = 0;

	while (n) {
		XENCONS_RING_IDX cons = r->out_cons, prod = r->out_prod;
		mb();
		size_t space = sizeof(r->out) - (prod - cons);
		if (space == 0) {
			/* full: wait for xenconsoled, a while at most */
			if (!stuck)
				stuck = mono_ns() + XEN_CONSOLE_WAIT_NS;
			else if (mono_ns() > stuck)
				return;
			notify(xs_con_port);
			yield();
			continue;
		}
		stuck = 0;
		size_t k = n < space ? n : space;
		for (size_t i = 0; i < k; i++)
			r->out[MASK_XENCONS_IDX(prod + i, r->out)] = p[i];
		barrier(); /* x86: stores stay in order */
		r->out_prod = prod + (XENCONS_RING_IDX)k;
		xs_con_bytes += k;
		p += k;
		n -= k;
	}
	notify(xs_con_port);
}

/* Wait (bounded) until xenconsoled has read everything we wrote. */
static void con_drain(void)
{
	volatile struct xencons_interface *r = xs_con;
	uint64_t until = mono_ns() + XEN_DRAIN_WAIT_NS;

	while (r->out_cons != r->out_prod && mono_ns() < until) {
		notify(xs_con_port);
		yield();
	}
}

/* ---------------- xenstore ---------------- */

static int store_put(const void *p, size_t n, uint64_t until)
{
	volatile struct xenstore_domain_interface *x = xs_store;
	const char *s = p;

	while (n) {
		XENSTORE_RING_IDX cons = x->req_cons, prod = x->req_prod;
		mb();
		size_t space = XENSTORE_RING_SIZE - (prod - cons);
		if (space == 0) {
			if (mono_ns() > until)
				return -1;
			notify(xs_store_port);
			yield();
			continue;
		}
		size_t k = n < space ? n : space;
		for (size_t i = 0; i < k; i++)
			x->req[MASK_XENSTORE_IDX(prod + i)] = s[i];
		barrier();
		x->req_prod = prod + (XENSTORE_RING_IDX)k;
		s += k;
		n -= k;
	}
	return 0;
}

static int store_get(void *p, size_t n, uint64_t until)
{
	volatile struct xenstore_domain_interface *x = xs_store;
	char *d = p;

	while (n) {
		XENSTORE_RING_IDX cons = x->rsp_cons, prod = x->rsp_prod;
		mb();
		if (prod == cons) {
			if (mono_ns() > until)
				return -1;
			notify(xs_store_port);
			yield();
			continue;
		}
		size_t avail = prod - cons, k = n < avail ? n : avail;
		for (size_t i = 0; i < k; i++)
			d[i] = x->rsp[MASK_XENSTORE_IDX(cons + i)];
		mb();
		x->rsp_cons = cons + (XENSTORE_RING_IDX)k;
		d += k;
		n -= k;
	}
	notify(xs_store_port);
	return 0;
}

/*
 * XS_WRITE path=value (path relative to the domain's home), waiting for
 * xenstored's answer: 0, or -1 (no xenstore, error reply, timeout).
 */
static int store_write(const char *path, const char *value)
{
	size_t pl = strlen(path) + 1, vl = strlen(value);
	struct xsd_sockmsg h = {.type = XS_WRITE,
				.req_id = ++xs_req_id,
				.tx_id = 0,
				.len = (uint32_t)(pl + vl)};
	uint64_t until = mono_ns() + XEN_STORE_WAIT_NS;
	char skip[64];

	if (!xs_store)
		return -1;
	if (store_put(&h, sizeof(h), until) || store_put(path, pl, until) ||
	    store_put(value, vl, until))
		return -1;
	notify(xs_store_port);
	/* the reply: a header and "OK\0" (or an error name) */
	if (store_get(&h, sizeof(h), until))
		return -1;
	for (uint32_t left = h.len; left;) {
		uint32_t k = left < sizeof(skip) ? left : sizeof(skip);
		if (store_get(skip, k, until))
			return -1;
		left -= k;
	}
	return h.type == XS_ERROR ? -1 : 0;
}

/*
 * XS_READ path (relative to the domain's home) into buf (NUL-terminated,
 * cut at cap - 1): the value's length, or -1 (no such key, no xenstore,
 * timeout).
 */
static int store_read(const char *path, char *buf, size_t cap)
{
	size_t pl = strlen(path) + 1;
	struct xsd_sockmsg h = {.type = XS_READ,
				.req_id = ++xs_req_id,
				.tx_id = 0,
				.len = (uint32_t)pl};
	uint64_t until = mono_ns() + XEN_STORE_WAIT_NS;
	uint32_t got = 0;
	char c;

	if (!xs_store || cap == 0)
		return -1;
	if (store_put(&h, sizeof(h), until) || store_put(path, pl, until))
		return -1;
	notify(xs_store_port);
	if (store_get(&h, sizeof(h), until))
		return -1;
	for (uint32_t i = 0; i < h.len; i++) {
		if (store_get(&c, 1, until))
			return -1;
		if (got < cap - 1)
			buf[got++] = c;
	}
	buf[got] = '\0';
	return h.type == XS_ERROR ? -1 : (int)got;
}

/* ---------------- memory ---------------- */

static unsigned long pt_next; /* next free pfn for a new L1 table */

/*
 * Map pfns [1, nr) at virt == pseudo-phys (nr <= MAP_MAX_PAGES): the L1
 * tables missing under L2 table 0 come from pt_next on (a page already
 * mapped: each 2 MiB mapped adds 511 more than it costs), zeroed, made
 * read-only and hooked in; entries go in batches of MMU_BATCH. Returns the
 * pages mapped (nr), or 0 if Xen refused an update.
 */
static unsigned long map_memory(unsigned long nr)
{
	static mmu_update_t req[MMU_BATCH];
	const uint64_t *l4 = (const uint64_t *)xs_si->pt_base;
	const uint64_t *l3 = mfn_va((l4[0] & PTE_ADDR) >> 12);
	uint64_t l2_ma = l3[0] & PTE_ADDR;
	const volatile uint64_t *l2 = mfn_va(l2_ma >> 12);

	for (unsigned long c = 0; c * PT_ENTRIES < nr; c++) {
		uint64_t l1_ma;
		const volatile uint64_t *l1;
		unsigned n = 0;

		if (l2[c] & PG_P) {
			l1_ma = l2[c] & PTE_ADDR;
			l1 = mfn_va(l1_ma >> 12);
		} else {
			unsigned long p = pt_next++;
			void *va = (void *)(p << 12);
			memset(va, 0, 4096);
			if (update_va((unsigned long)va,
				      pfn_pte(p, L1_PROT_RO)))
				return 0;
			l1_ma = (uint64_t)xs_p2m[p] << 12;
			req[0].ptr = (l2_ma + c * 8) | MMU_NORMAL_PT_UPDATE;
			req[0].val = l1_ma | L2_PROT;
			if (mmu_update(req, 1))
				return 0;
			l1 = va;
		}
		for (unsigned i = 0; i < PT_ENTRIES; i++) {
			unsigned long pfn = c * PT_ENTRIES + i;
			if (pfn >= nr)
				break;
			if (pfn == 0 || (l1[i] & PG_P))
				continue;
			req[n].ptr = (l1_ma + i * 8) | MMU_NORMAL_PT_UPDATE;
			req[n].val = pfn_pte(pfn, L1_PROT);
			n++;
		}
		if (n && mmu_update(req, n))
			return 0;
	}
	return nr;
}

/* First pfn after everything Xen's builder placed (and the image). */
static unsigned long bootstrap_end(unsigned long boot_rsp)
{
	unsigned long e = ((unsigned long)_end + 4095) >> 12, v;

#define AT_LEAST(x)                                                            \
	do {                                                                   \
		v = (x);                                                       \
		if (v > e)                                                     \
			e = v;                                                 \
	} while (0)
	AT_LEAST((boot_rsp + 4095) >> 12);
	AT_LEAST(((unsigned long)xs_si >> 12) + 1);
	AT_LEAST((xs_si->pt_base >> 12) + xs_si->nr_pt_frames);
	AT_LEAST((xs_si->mfn_list + xs_si->nr_pages * sizeof(unsigned long) +
		  4095) >>
		 12);
	AT_LEAST(m2p(xs_si->console.domU.mfn) + 1);
	if (xs_si->store_mfn)
		AT_LEAST(m2p(xs_si->store_mfn) + 1);
#undef AT_LEAST
	return e;
}

/* ---------------- suspend and resume (templates) ---------------- */

/* Where libxc's save finds our p2m: its frames' MFNs, in the shared info. */
static void p2m_publish(void)
{
	unsigned long nr = xs_si->nr_pages, per = 4096 / sizeof(unsigned long);
	unsigned long frames = (nr + per - 1) / per;

	if (frames > 512)
		frames = 512; /* 1 GiB: what we map anyway */
	for (unsigned long i = 0; i < frames; i++)
		xs_p2m_fl[i] = xs_p2m[((unsigned long)xs_p2m >> 12) + i];
	xs_p2m_fll[0] = xs_p2m[(unsigned long)xs_p2m_fl >> 12];
	barrier();
	xs_sh->arch.max_pfn = nr;
	xs_sh->arch.pfn_to_mfn_frame_list_list =
	    xs_p2m[(unsigned long)xs_p2m_fll >> 12];
}

/* The shared info, console and xenstore frames as start_info names them
 * (after a restore into a new domain they all changed). */
static void frames_attach(void)
{
	update_va((unsigned long)xs_shared_page, xs_si->shared_info | PG_P |
						     PG_RW | PG_USER |
						     PG_ACCESSED | PG_DIRTY);
	xs_sh = (shared_info_t *)xs_shared_page;
	xs_con = mfn_va(xs_si->console.domU.mfn);
	xs_con_port = xs_si->console.domU.evtchn;
	if (xs_si->store_mfn) {
		xs_store = mfn_va(xs_si->store_mfn);
		xs_store_port = xs_si->store_evtchn;
	}
}

/*
 * Sleep ns of Xen system time, blocked (SCHEDOP_poll on xenstore's channel
 * with a deadline): a late notification of our own last request wakes the
 * poll early, so poll again until the deadline.
 */
static void store_wait(uint64_t ns)
{
	evtchn_port_t port = xs_store_port;
	uint64_t until = system_ns() + ns;
	struct sched_poll p;

	set_xen_guest_handle(p.ports, &port);
	p.nr_ports = 1;
	p.timeout = until;
	while (system_ns() < until) {
		__atomic_fetch_and(&xs_sh->evtchn_pending[port / 64],
				   ~(1UL << (port % 64)), __ATOMIC_SEQ_CST);
		sched_op(SCHEDOP_poll, &p);
	}
}

/*
 * Xen's PV suspend, asked by the toolstack (libxl writes "suspend" to
 * control/shutdown; we acknowledge by overwriting it): start_info's store
 * and console frames become pfns, SCHEDOP_shutdown SHUTDOWN_suspend with
 * start_info's MFN in the third argument register (libxc finds it there).
 * Returns 1 when the suspend was cancelled (the same domain goes on: the
 * frames are MFNs again), 0 when we were restored, maybe in a new domain:
 * libxc rewrote start_info's frames, event channels and shared info.
 */
static int suspend(void)
{
	struct sched_shutdown sd = {.reason = SHUTDOWN_suspend};
	unsigned long si_mfn = xs_p2m[(unsigned long)xs_si >> 12];
	unsigned long store_pfn = m2p(xs_si->store_mfn);
	unsigned long con_pfn = m2p(xs_si->console.domU.mfn);
	long r;

	con_drain();
	xs_si->store_mfn = store_pfn;
	xs_si->console.domU.mfn = con_pfn;
	/* the shared info frame is not ours (no pfn): a page table entry
	 * naming it cannot be saved, so it leaves our page tables (the
	 * clock is unreadable until frames_attach maps it again) */
	update_va((unsigned long)xs_shared_page, 0);
	barrier();
	r = xen_hc(__HYPERVISOR_sched_op, SCHEDOP_shutdown, (unsigned long)&sd,
		   si_mfn, 0);
	barrier();
	if (r == 1) {
		xs_si->store_mfn = xs_p2m[store_pfn];
		xs_si->console.domU.mfn = xs_p2m[con_pfn];
		frames_attach();
		return 1;
	}
	frames_attach();
	p2m_publish();
	xs_con_bytes = 0; /* the new domain's console starts here */
	return 0;
}

/* A decimal key, or dflt. */
static uint64_t store_u64(const char *key, uint64_t dflt)
{
	char v[32];
	uint64_t n = 0;

	if (store_read(key, v, sizeof(v)) <= 0)
		return dflt;
	for (const char *p = v; *p >= '0' && *p <= '9'; p++)
		n = n * 10 + (uint64_t)(*p - '0');
	return n;
}

/*
 * ready() under backends/xen, which asks for a hold (data/ukf-hold) before
 * it unpauses the domain: say so (data/ukf-ready) and wait, looking at
 * xenstore every XEN_HOLD_POLL_NS, for either a suspend request (the
 * backend makes a template: suspend; when the suspend is cancelled this
 * domain goes on waiting; when we wake in a new domain - a clone restored
 * from the template - say ready there) or the answer (data/ukf-go). A
 * clone returns 1 with its id and arguments (data/ukf-id, data/ukf-args)
 * in the boot info, so rt.c reloads them. Without a hold (xl create, a
 * backend that does not pause) ready returns 0 at once.
 */
static int64_t ready_hold(volatile struct ukf_bootinfo *bi)
{
	char v[32];
	int cloned = 0;
	int64_t ret = 0;

	if (store_read(XEN_HOLD_KEY, v, sizeof(v)) < 0)
		return 0;
	store_write(XEN_READY_KEY, "1");
	for (;;) {
		if (store_read(XEN_CONTROL_KEY, v, sizeof(v)) > 0 &&
		    !strcmp(v, "suspend")) {
			store_write(XEN_CONTROL_KEY, "");
			if (suspend() == 0) {
				cloned = 1;
				if (store_read(XEN_HOLD_KEY, v, sizeof(v)) < 0)
					break;
				store_write(XEN_READY_KEY, "1");
			}
			continue;
		}
		if (store_read(XEN_GO_KEY, v, sizeof(v)) > 0) {
			ret = (int64_t)store_u64(XEN_GO_KEY, 0);
			break;
		}
		store_wait(XEN_HOLD_POLL_NS);
	}
	if (!cloned)
		return ret;
	bi->instance_id = store_u64(XEN_ID_KEY, bi->instance_id);
	bi->parent_id = 0;
	bi->flags |= UKF_BOOT_CLONE;
	{
		static char args[UKF_ARGS_MAX];
		int n = store_read(XEN_ARGS_KEY, args, sizeof(args));
		if (n >= 0) {
			for (int i = 0; i <= n; i++)
				bi->args[i] = args[i];
			bi->args_len = (uint32_t)n;
		}
	}
	return 1;
}

/* ---------------- start-up ---------------- */

/* Called from xen_entry.S: si = start_info, boot_rsp = Xen's boot stack
 * top. Returns the boot info for ukf_rt_start. */
struct ukf_bootinfo *ukf_xen_init(start_info_t *si, unsigned long boot_rsp);

struct ukf_bootinfo *ukf_xen_init(start_info_t *si, unsigned long boot_rsp)
{
	struct ukf_bootinfo *bi = &xs_bi;
	unsigned long nr, mapped;

	xs_si = si;
	xs_p2m = (unsigned long *)si->mfn_list;
	update_va((unsigned long)xs_shared_page, si->shared_info | PG_P |
						     PG_RW | PG_USER |
						     PG_ACCESSED | PG_DIRTY);
	xs_sh = (shared_info_t *)xs_shared_page;
	xs_boot_ns = system_ns();
	xs_con = mfn_va(si->console.domU.mfn);
	xs_con_port = si->console.domU.evtchn;
	if (si->store_mfn) {
		xs_store = mfn_va(si->store_mfn);
		xs_store_port = si->store_evtchn;
	}
	p2m_publish();

	pt_next = bootstrap_end(boot_rsp);
	nr = si->nr_pages < MAP_MAX_PAGES ? si->nr_pages : MAP_MAX_PAGES;
	mapped = map_memory(nr);
	if (!mapped) {
		static const char m[] =
		    "ukf_abort: xen: mapping the domain's memory failed\n";
		con_write(m, sizeof(m) - 1);
		con_drain();
		shutdown(SHUTDOWN_crash);
	}
	update_va(0, 0); /* page 0 unmapped: null pointers fault */

	bi->magic = UKF_ABI_MAGIC;
	bi->abi_version = UKF_ABI_VERSION;
	bi->platform = UKF_PLATFORM_XEN; /* rt.c: calls go to platform.c */
	/* under backends/xen its id (data/ukf-id, written before the domain
	 * ran); started by `xl create`, none: instance 1 */
	bi->instance_id = xs_store ? store_u64(XEN_ID_KEY, 1) : 1;
	bi->parent_id = 0;
	bi->flags = 0;
	bi->mem_size = (uint64_t)mapped << 12;
	bi->heap_start = (uint64_t)pt_next << 12;
	bi->heap_end =
	    bi->mem_size > bi->heap_start ? bi->mem_size : bi->heap_start;
	bi->tsc_khz = 0; /* every reading is the pvclock: no exit anyway */
	uint32_t n = 0;
	while (n < UKF_ARGS_MAX - 1 && n < MAX_GUEST_CMDLINE && si->cmd_line[n])
		n++;
	for (uint32_t i = 0; i < n; i++)
		bi->args[i] = (char)si->cmd_line[i];
	bi->args[n] = '\0';
	bi->args_len = n;
	return bi;
}

/* ---------------- the ABI's calls ---------------- */

/*
 * The console byte count first, then the status: a reader that sees the
 * status also sees how many console bytes to wait for (xenconsoled may
 * pass them on after the domain has shut down).
 */
static int store_exit(int64_t status)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)xs_con_bytes);
	store_write(XEN_CONSOLE_KEY, num);
	snprintf(num, sizeof(num), "%lld", (long long)status);
	return store_write(XEN_EXIT_KEY, num);
}

static __attribute__((noreturn)) void xen_exit(int64_t status)
{
	int stored;

	stored = store_exit(status) == 0;
	con_drain();
	shutdown(stored || status == 0 ? SHUTDOWN_poweroff : SHUTDOWN_crash);
}

/* ---------------- calls carried to dom0 (backends/xen/uxen_abi.h) ---------------- */

#define XEN_CALL_POLL_NS    100000000ULL   /* look at the page every 100 ms */
#define XEN_SUSPEND_WAIT_NS 30000000000ULL /* libxl's request after the flag */

static struct uxen_call_page xs_call __attribute__((aligned(4096)));
static int xs_calls = -1;	/* backend serves calls: -1 not asked yet */
static uint32_t xs_call_port;	/* our end of the call channel; 0 = none */

/* Does a backend serve our calls (data/ukf-calls, asked once)? */
static int calls_reach(void)
{
	char v[8];

	if (xs_calls < 0)
		xs_calls = store_read(UXEN_CALLS_KEY, v, sizeof(v)) > 0;
	return xs_calls;
}

/*
 * The call channel: an unbound event channel for dom0 and our call page's
 * machine frames, published as data/ukf-chan for the backend to bind and
 * map. 0, or -1 (Xen or xenstore refused).
 */
static int chan_open(void)
{
	struct evtchn_alloc_unbound a = {
	    .dom = DOMID_SELF, .remote_dom = 0, .port = 0};
	char v[128];
	unsigned long pfn = (unsigned long)&xs_call >> 12;

	if (xs_call_port)
		return 0;
	if (xen_hc(__HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound,
		   (unsigned long)&a, 0, 0))
		return -1;
	xs_call.magic = UXEN_CALL_MAGIC;
	snprintf(v, sizeof(v), "%u %lu %lu %lu", (unsigned)a.port,
		 xs_p2m[pfn], xs_p2m[pfn + 1], xs_p2m[pfn + 2]);
	_Static_assert(UXEN_CALL_PAGES == 3, "data/ukf-chan names 3 frames");
	if (store_write(UXEN_CHAN_KEY, v))
		return -1;
	xs_call_port = a.port;
	return 0;
}

/* Sleep until our call port fires or ns of Xen system time pass. */
static void chan_sleep(uint64_t ns)
{
	evtchn_port_t port = xs_call_port;
	struct sched_poll p;

	set_xen_guest_handle(p.ports, &port);
	p.nr_ports = 1;
	p.timeout = system_ns() + ns;
	sched_op(SCHEDOP_poll, &p);
}

/*
 * The backend asked us (call page's suspend) to answer libxl's suspend
 * request, for a fork: wait for control/shutdown "suspend", acknowledge,
 * suspend. 1: the suspend was cancelled (we are the parent, same domain);
 * 0: we woke restored in a new domain (the fork's child); -1: no request
 * came (the flag is dropped, the call goes on waiting).
 */
static int call_suspend(void)
{
	uint64_t until = mono_ns() + XEN_SUSPEND_WAIT_NS;
	char v[32];

	while (mono_ns() < until) {
		if (store_read(XEN_CONTROL_KEY, v, sizeof(v)) > 0 &&
		    !strcmp(v, "suspend")) {
			store_write(XEN_CONTROL_KEY, "");
			xs_call.suspend = 0;
			return suspend();
		}
		store_wait(2000000ULL);
	}
	xs_call.suspend = 0;
	return -1;
}

/* After waking as a fork's child: our id from the backend (data/ukf-id),
 * the parent's as parent, a new call channel. */
static void call_child(void)
{
	xs_bi.parent_id = xs_bi.instance_id;
	xs_bi.instance_id = store_u64(XEN_ID_KEY, xs_bi.instance_id);
	xs_bi.flags |= UKF_BOOT_CLONE;
	xs_call_port = 0;
	if (chan_open()) {
		static const char m[] =
		    "ukf_abort: xen: fork child: no call channel\n";
		con_write(m, sizeof(m) - 1);
		store_exit(255);
		con_drain();
		shutdown(SHUTDOWN_crash);
	}
	notify(xs_call_port);
}

/* Bytes of each carried call's argument struct (sent verbatim). */
static size_t call_arg_size(unsigned nr)
{
	switch (nr) {
	case UKF_HC_BLOCK:
		return sizeof(struct ukf_hc_block);
	case UKF_HC_FORK:
		return sizeof(struct ukf_hc_fork);
	case UKF_HC_SPAWN:
		return sizeof(struct ukf_hc_spawn);
	case UKF_HC_WAIT:
		return sizeof(struct ukf_hc_wait);
	case UKF_HC_SEND:
		return sizeof(struct ukf_hc_send);
	case UKF_HC_RECV:
		return sizeof(struct ukf_hc_recv);
	default:
		return sizeof(int64_t); /* unknown: its ret only */
	}
}

/*
 * Post the call now in the page (arg and data filled) as call nr, notify,
 * sleep on the channel until answered (taking part in a fork's suspend on
 * the way): the answer's ret.
 */
static int64_t call_post(unsigned nr)
{
	volatile struct uxen_call_page *c = &xs_call;
	uint32_t req;

	c->nr = nr;
	c->guest_now = mono_ns();
	c->ret = -UKF_ENOSYS;
	req = c->req + 1;
	mb();
	c->req = req;
	mb();
	notify(xs_call_port);
	for (;;) {
		uint32_t port = xs_call_port;
		if (c->ans == req)
			break;
		if (c->suspend) {
			if (call_suspend() == 0)
				call_child();
			continue;
		}
		__atomic_fetch_and(&xs_sh->evtchn_pending[port / 64],
				   ~(1UL << (port % 64)), __ATOMIC_SEQ_CST);
		if (c->ans == req || c->suspend)
			continue;
		chan_sleep(XEN_CALL_POLL_NS);
	}
	mb();
	return c->ret;
}

/*
 * Carry call nr to the backend (arguments checked by platform.c): copy its
 * struct and data into the call page, notify, sleep on the channel until
 * answered (taking part in a fork's suspend on the way), copy the answer
 * back. -UKF_ENOSYS if the channel cannot be opened.
 */
static int64_t xen_carry(const volatile struct ukf_bootinfo *bi, unsigned nr,
			 void *arg)
{
	volatile struct uxen_call_page *c = &xs_call;
	size_t asz = call_arg_size(nr);

	(void)bi;
	if (chan_open())
		return -UKF_ENOSYS;
	/* the struct as it is, but its pointers name places in the page */
	union {
		uint64_t w[8];
		struct ukf_hc_spawn spawn;
		struct ukf_hc_send send;
		struct ukf_hc_recv recv;
	} a = {{0}};
	memcpy(&a, arg, asz);
	if (nr == UKF_HC_SPAWN) {
		memcpy((void *)c->data, (const void *)(uintptr_t)a.spawn.app,
		       a.spawn.app_len);
		memcpy((void *)(c->data + a.spawn.app_len),
		       (const void *)(uintptr_t)a.spawn.args, a.spawn.args_len);
		a.spawn.app = UXEN_CALL_HDR;
		a.spawn.args = UXEN_CALL_HDR + a.spawn.app_len;
	} else if (nr == UKF_HC_SEND) {
		memcpy((void *)c->data, (const void *)(uintptr_t)a.send.buf,
		       a.send.len);
		a.send.buf = UXEN_CALL_HDR;
	} else if (nr == UKF_HC_RECV) {
		a.recv.buf = UXEN_CALL_HDR;
	}
	for (size_t i = 0; i < sizeof(c->arg) / 8; i++)
		c->arg[i] = a.w[i];
	int64_t ret = call_post(nr);
	if (nr == UKF_HC_WAIT && ret >= 0)
		((struct ukf_hc_wait *)arg)->status = c->status;
	if (nr == UKF_HC_RECV && ret >= 0) {
		struct ukf_hc_recv *r = arg;
		uint64_t cap = r->cap > UKF_MSG_MAX ? UKF_MSG_MAX : r->cap;
		uint64_t n = (uint64_t)ret < cap ? (uint64_t)ret : cap;
		memcpy((void *)(uintptr_t)r->buf, (const void *)c->data, n);
		r->src = c->src;
	}
	return ret;
}

/*
 * Test hook (tests/xen's test-xencall): post call nr with the argument
 * words as they are, pointers not rewritten nor checked, to see the
 * backend refuse a guest that breaks the call page's rules. Returns the
 * backend's answer (-UKF_ENOSYS without a backend).
 */
int64_t ukf_xen_call_raw(unsigned nr, const uint64_t arg[8]);

int64_t ukf_xen_call_raw(unsigned nr, const uint64_t arg[8])
{
	volatile struct uxen_call_page *c = &xs_call;

	if (!calls_reach() || chan_open())
		return -UKF_ENOSYS;
	for (size_t i = 0; i < sizeof(c->arg) / 8; i++)
		c->arg[i] = arg[i];
	return call_post(nr);
}

/* ---------------- the platform ops (platform.c's dispatcher) ---------------- */

static void xen_time(struct ukf_hc_time *t)
{
	t->mono_ns = mono_ns();
	t->wall_ns = wall_ns();
}

static __attribute__((noreturn)) void xen_abort(void)
{
	store_exit(255);
	con_drain();
	shutdown(SHUTDOWN_crash);
}

static int64_t xen_ready(volatile struct ukf_bootinfo *bi)
{
	return ready_hold(bi);
}

/* block: carried when a backend serves calls (a message wakes it), else
 * yields until the deadline. */
static int64_t xen_block(uint64_t deadline)
{
	if (calls_reach()) {
		struct ukf_hc_block b = {0, deadline};
		int64_t r = xen_carry(&xs_bi, UKF_HC_BLOCK, &b);
		if (r != -UKF_ENOSYS)
			return r;
	}
	while (mono_ns() < deadline)
		yield();
	return 0;
}

const struct ukf_plat_ops ukf_plat_ops = {
    .console = con_write,
    .time = xen_time,
    .exit = xen_exit,
    .abort = xen_abort,
    .ready = xen_ready,
    .block = xen_block,
    .reach = calls_reach,
    .carry = xen_carry,
};
