/* SPDX-License-Identifier: MIT */
/* vmm.h - the hypervisor-neutral half of a ukfork monitor: the guest ABI's calls (argument checks, answers, events) and the console, over guest-memory ops each backend fills. */
#ifndef UKF_VMM_H
#define UKF_VMM_H

/*
 * Library ukf_vmm (backends/vmm/README.md). A backend (backends/kvm, the
 * Xen backend's dom0 side) keeps what is its hypervisor's own - VM objects,
 * vCPUs or domains, exits, memory mapping, snapshots, how a guest is
 * stopped and resumed - and hands every ABI call (include/ukf_abi.h) to
 * ukf_vmm_dispatch(), which checks it, answers what needs no engine and
 * turns the rest into the struct ukf_be_event the backend reports.
 *
 * One struct ukf_vmm per guest, embedded in the backend's own VM struct
 * (no allocation, no lock of its own): the backend calls the ukf_vmm_
 * functions of one guest from one thread at a time - its vCPU thread while
 * the guest runs, or whoever holds the backend's lock while it is paused.
 * Nothing here blocks, sleeps or keeps global state.
 */

#include <stddef.h>
#include <stdint.h>

#include "core/backend.h"
#include "include/ukf_abi.h"

/* What the layer needs to know about a guest (ops->ident). */
struct ukf_vmm_ident {
	ukf_id_t inst;      /* its instance id */
	ukf_id_t parent;    /* 0 if none */
	ukf_node_id_t node; /* the node the backend serves */
	ukf_ns_t boot_ns;   /* ukf_vmm_now() at its first boot: guest time 0 */
	const char *args;   /* its argument string, NUL-terminated */
};

/*
 * What a backend provides, in a const table. `be` is the backend's VM,
 * given to ukf_vmm_init.
 */
struct ukf_vmm_ops {
	/*
	 * Required: the one checked guest-address accessor. A host pointer to
	 * guest [gpa, gpa + len) when the guest may access that whole range
	 * (write: may also write it), without wrap-around; NULL otherwise
	 * (outside memory, wrapping, in an area the ABI keeps from the guest).
	 * len 0 is checked like len 1. The layer calls it once per guest
	 * buffer or argument struct (one indirect call per access); the
	 * pointer is used while the guest is stopped in this call, until the
	 * backend's next ukf_vmm_ call for the guest (ukf_vmm_dispatch's
	 * event may point into it: SEND data). A backend with one flat
	 * mapping checks with ukf_vmm_range_ok(); one that maps guest pages
	 * on demand may keep them mapped until then.
	 */
	void *(*translate)(void *be, ukf_gpa_t gpa, uint64_t len, int write);
	/*
	 * Required: report an event about this guest now (console lines;
	 * dispatch's other events are returned to the backend instead). The
	 * backend fills ev->inst, and ev->at when it is 0.
	 */
	void (*emit)(void *be, struct ukf_be_event *ev);
	/* Required: the guest's identity and time base, filled into *id
	 * (used by time, info, block, wait and recv). */
	void (*ident)(void *be, struct ukf_vmm_ident *id);
	/* Optional (NULL: 0): pages dirtied since the guest's template, for
	 * READY, CALL(fork) and EXIT (core/backend.h's dirty_pages). */
	uint64_t (*dirty_pages)(void *be);
};

/* Longest console line, newline excluded (a longer one is cut there). */
#define UKF_VMM_LINE_MAX 4095

/* One guest's neutral state; fields are the layer's unless said. */
struct ukf_vmm {
	const struct ukf_vmm_ops *ops; /* set by ukf_vmm_init */
	void *be;                      /* set by ukf_vmm_init */
	/* Backend's setting: 1 (the engine's mode) makes ready() pause until
	 * ukf_vmm_complete; 0 answers it at once and only reports it. */
	int pause_on_ready;
	/* Backend's setting: a console line that counts as "ready" for
	 * ukf_vmm_console_write's return (e.g. "UKF-READY" where the guest
	 * cannot call ready()); NULL: none. */
	const char *marker;
	int marker_seen; /* the marker line has been seen */
	size_t con_len;  /* bytes of the line being assembled */
	char con[UKF_VMM_LINE_MAX + 1];
};

/* Set up g for backend VM be with ops (pause_on_ready 1, no marker, empty
 * console). ops must outlive g. */
void ukf_vmm_init(struct ukf_vmm *g, const struct ukf_vmm_ops *ops, void *be);

/* ------------------------------------------------------------------ */
/* Calls. */

/* What the backend does with a dispatched call. */
enum ukf_vmm_outcome {
	UKF_VMM_RESUME = 0, /* answered (OUT fields written): resume */
	UKF_VMM_NOTIFY,     /* answered: report c->ev, then resume (ready()
			       with pause_on_ready 0) */
	UKF_VMM_PAUSE,      /* not answered: stop the guest in call c->nr with
			       its struct at c->gpa (in ready() when c->ev.kind
			       is UKF_BE_READY, else in a call), report c->ev;
			       ukf_vmm_complete answers it later */
	UKF_VMM_EXIT,       /* exited (console flushed): mark it exited, report
			       c->ev (UKF_BE_EXIT); never resume */
	UKF_VMM_FAIL        /* broke the ABI or aborted (console flushed): fail
			       it with reason c->reason; never resume */
};

/* One dispatched call: the request and what it turned into. */
struct ukf_vmm_call {
	uint32_t nr;            /* enum ukf_hc */
	ukf_gpa_t gpa;          /* its argument struct */
	struct ukf_be_event ev; /* NOTIFY, PAUSE, EXIT: to report (inst and
				   at left 0 for the backend) */
	char reason[512];       /* FAIL: e.g. "hypercall console: bad console
				   buffer [0x7fff00000000, +0x10)" */
	char app[UKF_APP_NAME_MAX]; /* SPAWN: ev.text points here */
	char args[UKF_ARGS_MAX];    /* SPAWN: ev.data points here */
};

/*
 * Check and carry out ABI call nr with its argument struct at guest
 * address gpa, as include/ukf_abi.h and backends/vmm/README.md say: a
 * misaligned or refused struct, or a refused buffer inside it, fails the
 * guest (FAIL, reason naming the call, what and the range); a length over
 * the ABI's maximum, a spawn name or argument string too long or with a
 * NUL or control character, fork flags != 0 answer -UKF_EINVAL or
 * -UKF_EMSGSIZE (RESUME); an unknown number answers -UKF_ENOSYS. console,
 * time, info and refused calls are answered here; ready, block, fork,
 * spawn, wait, send and recv become PAUSE (ready: NOTIFY with
 * pause_on_ready 0), exit EXIT, abort FAIL ("abort: MESSAGE"). Console
 * output goes out through ops->emit as it is written. *c is filled (the
 * event's pointers stay valid as long as *c and the guest's memory).
 */
enum ukf_vmm_outcome ukf_vmm_dispatch(struct ukf_vmm *g, uint32_t nr,
				      ukf_gpa_t gpa, struct ukf_vmm_call *c);

/*
 * Answer the call nr (or ready) a guest is paused in, its struct at gpa:
 * recv gets the message (truncated to its cap; ret = bytes copied, src)
 * when ret >= 0, else ret; wait gets ret and status; every other call
 * ret (a refused recv buffer gets no bytes, ret still says how many).
 * Returns 0, or -1 when translate refuses the struct (nothing written: a
 * clone's gpa 0 means "write nothing").
 * The backend keeps the paused/answered state and its lock.
 */
int ukf_vmm_complete(struct ukf_vmm *g, uint32_t nr, ukf_gpa_t gpa,
		     int64_t ret, int64_t status, ukf_id_t src,
		     const void *data, size_t len);

/* The call's name ("console" ... "recv"; "unknown" otherwise). */
const char *ukf_vmm_call_name(uint32_t nr);
/* Size of call nr's argument struct (8, the ret field, for unknown). */
uint32_t ukf_vmm_call_size(uint32_t nr);

/* ------------------------------------------------------------------ */
/* Console. */

/*
 * Add n bytes the guest wrote to its console at world time at: one
 * UKF_BE_CONSOLE event per complete line (through ops->emit; without the
 * newline or a trailing carriage return; escaped by
 * ukf_vmm_console_escape; an empty line is an event of length 0); a line
 * reaching UKF_VMM_LINE_MAX bytes goes out at that length and the rest
 * starts a new one; a partial line waits for the next write or
 * ukf_vmm_console_flush. Returns 1 if a line equal to g->marker was
 * completed for the first time, else 0.
 */
int ukf_vmm_console_write(struct ukf_vmm *g, const void *p, size_t n,
			  ukf_ns_t at);
/* Send the partial line, if any, as an event (the guest exits or fails). */
void ukf_vmm_console_flush(struct ukf_vmm *g, ukf_ns_t at);
/*
 * Guest console text as it may be shown and traced: C0 controls (but tab),
 * DEL and UTF-8-encoded C1 controls become \xHH; other bytes (UTF-8 text)
 * pass. Writes at most cap - 1 bytes and a NUL into dst (4n + 1 always
 * suffice); returns the length written.
 */
size_t ukf_vmm_console_escape(char *dst, size_t cap, const char *src,
			      size_t n);

/* ------------------------------------------------------------------ */
/* Helpers for backends. */

/* CLOCK_MONOTONIC in ns: world time of a real backend. */
ukf_ns_t ukf_vmm_now(void);

/*
 * The ABI's memory rule for a guest of mem_size bytes with one flat
 * mapping: [gpa, gpa + len) lies inside memory without wrap-around and at
 * or above UKF_BOOTINFO_GPA (reads) or above the boot info page (writes).
 * len 0 is checked like len 1. Inline: a backend's translate stays one
 * call.
 */
static inline int ukf_vmm_range_ok(uint64_t mem_size, ukf_gpa_t gpa,
				   uint64_t len, int write)
{
	uint64_t lo = write ? UKF_BOOTINFO_GPA + UKF_PAGE_SIZE
			    : UKF_BOOTINFO_GPA;
	uint64_t end;

	if (len == 0)
		len = 1;
	if (__builtin_add_overflow(gpa, len, &end))
		return 0;
	return gpa >= lo && end <= mem_size;
}

#endif /* UKF_VMM_H */
