/* SPDX-License-Identifier: MIT */
/* synth.c - synthetic app: init, ready, units of work, dirty, fork. */
#include "guest/rt/ukfrt.h"
#include "synth_args.h"

/*
 * synth [mem=64M init=50ms work=10ms dirty=256 fork=0 units=1]  (defaults)
 * The simulator models the same arguments (core/app.c), so sim and KVM runs
 * of one string can be compared. Bad arguments abort with the reason.
 * mem= is also the VM's memory size, so synth touches min(mem, heap - 256K):
 * every page of its heap but a reserve for the runtime.
 */

#define PAGE 4096u

struct state {
	struct synth_cfg cfg;
	volatile uint8_t *mem;
	uint64_t pages;
	uint64_t next_page; /* rotating cursor so units dirty fresh pages */
};

/* Busy for `ns` of compute, then write one byte in each of `dirty` pages. */
static void do_unit(struct state *s, uint32_t tag)
{
	ukf_spin_until(ukf_time_ns() + s->cfg.work_ns);
	for (uint32_t i = 0; i < s->cfg.dirty && s->pages; i++) {
		s->mem[s->next_page * PAGE] = (uint8_t)(tag + i);
		s->next_page = (s->next_page + 1) % s->pages;
	}
}

static void parse_or_abort(struct synth_cfg *c, int argc, char **argv)
{
	char err[256];
	if (synth_parse(c, argc - 1, argv + 1, err, sizeof(err)) < 0)
		ukf_abort("synth: %s", err);
}

int main(int argc, char **argv)
{
	struct state s = {0};
	synth_defaults(&s.cfg);
	parse_or_abort(&s.cfg, argc, argv);

	/*
	 * initialisation: allocate and touch mem, busy until init has passed.
	 * mem= also sizes the VM (core/app.c), so the whole of it cannot be
	 * heap: take min(mem, what the heap holds less a small reserve).
	 */
	uint64_t t0 = ukf_time_ns();
	uint64_t heap = ukf_heap()->end - ukf_heap()->start;
	uint64_t reserve = 256 * 1024;
	uint64_t want = s.cfg.mem;
	if (want > heap - (heap > reserve ? reserve : heap))
		want = heap > reserve ? heap - reserve : 0;
	want &= ~(uint64_t)(PAGE - 1);
	s.mem = malloc(want);
	if (!s.mem || !want)
		ukf_abort("synth: mem=%llu bytes: cannot allocate (heap is "
			  "%llu bytes)",
			  (unsigned long long)s.cfg.mem,
			  (unsigned long long)heap);
	s.cfg.mem = want;
	s.pages = s.cfg.mem / PAGE;
	for (uint64_t off = 0; off < s.cfg.mem; off += PAGE)
		s.mem[off] = (uint8_t)(off >> 12);
	ukf_spin_until(t0 + s.cfg.init_ns);

	int clone = ukf_ready();
	puts("UKF-READY");
	if (clone == 1) {
		/* a clone of the template: its own arguments apply from here */
		char **av;
		int ac = ukf_args(&av);
		parse_or_abort(&s.cfg, ac, av);
	}

	uint32_t forked = 0, failed = 0, inline_units = 0;
	for (uint32_t u = 0; u < s.cfg.units; u++) {
		do_unit(&s, u);
		uint32_t nk = 0; /* children of this unit still to reap */
		for (uint32_t f = 0; f < s.cfg.fork; f++) {
			int64_t id = ukf_fork();
			if (id == 0) {
				do_unit(&s, 0x80 + f);
				ukf_exit(0);
			}
			if (id == -UKF_ENOSYS) {
				/* no fork here (PVH): do the child's unit */
				do_unit(&s, 0x80 + f);
				inline_units++;
				continue;
			}
			if (id < 0) {
				printf("synth: fork %u of unit %u failed: %s\n",
				       f, u, ukf_strerror(id));
				failed++;
				continue;
			}
			forked++;
			nk++;
		}
		for (; nk; nk--) {
			int st = -1;
			int64_t r = ukf_wait(0, &st);
			if (r < 0 || st != 0) {
				printf("synth: child wait: %s, status %d\n",
				       r < 0 ? ukf_strerror(r) : "exited", st);
				failed++;
			}
		}
	}
	printf("synth: done id=%llu units=%u children=%u inline=%u "
	       "failed=%u\n",
	       (unsigned long long)ukf_id(), s.cfg.units, forked, inline_units,
	       failed);
	return failed ? 1 : 0;
}
