/* SPDX-License-Identifier: MIT */
/* uxen_abi.h - the call page between a Xen PV guest (guest/rt/xen.c) and backends/xen. */
#ifndef UKF_UXEN_ABI_H
#define UKF_UXEN_ABI_H

/*
 * Self-contained (stdint only): included by the freestanding guest runtime
 * and by the backend in dom0. How the ABI's calls that need the node
 * (fork, spawn, wait, send, recv, block) travel on Xen:
 *
 *   1. Before unpausing a domain, the backend writes UXEN_CALLS_KEY ("1")
 *      under its home in xenstore: "calls are served". Without that key
 *      (plain `xl create`) the guest answers those calls -UKF_ENOSYS.
 *   2. At its first such call the guest allocates an unbound event channel
 *      for dom0 (EVTCHNOP_alloc_unbound) and writes UXEN_CHAN_KEY =
 *      "PORT MFN0 MFN1 MFN2": the port and the machine frames of its call
 *      page (UXEN_CALL_PAGES pages of its own memory, page aligned).
 *   3. The backend sees the key (it looks every 50 ms until it is there),
 *      maps the frames (xenforeignmemory: dom0 may map any domain's
 *      frames) and binds the port (xenevtchn_bind_interdomain).
 *   4. A call: the guest fills nr, the call's argument struct (arg) and its
 *      data (below), then increments req (release order) and notifies;
 *      it sleeps in SCHEDOP_poll on its port until ans == req. The
 *      backend, woken on its bound port (or by its own 50 ms look at the
 *      page), reads and checks the call, answers ret/status/src (and data
 *      for recv), sets ans = req and notifies.
 *   5. Fork: the backend sets `suspend` and notifies; the guest, still in
 *      its call, then answers libxl's suspend request (control/shutdown)
 *      as at a held ready; libxl saves it and resumes it (the parent goes
 *      on waiting for its answer) and the saved stream is restored as a
 *      new domain (the child). The child wakes inside the same call with
 *      the same req, in a new domain with new frames and no event channel:
 *      it publishes a new channel (step 2) and the backend answers its
 *      pending fork with 0 once the engine completes it.
 *
 * Data of a call, at data[]; the struct's pointer fields (spawn's app and
 * args, send's and recv's buf) hold offsets into the call page, not guest
 * addresses (the backend refuses a range outside data[]):
 *   spawn  the app name (app_len bytes) then the argument string
 *          (args_len bytes), no NULs
 *   send   the message (len bytes)
 *   recv   OUT: the message (ret bytes, at most min(cap, UKF_MSG_MAX))
 * Deadlines (wait, recv, block) are on the guest's monotonic clock;
 * guest_now is that clock when the call was made, so the backend turns a
 * deadline into its own clock.
 */
#include <stdint.h>

#define UXEN_CALLS_KEY	"data/ukf-calls"
#define UXEN_CHAN_KEY	"data/ukf-chan"
#define UXEN_CALL_PAGES 3
#define UXEN_CALL_BYTES (UXEN_CALL_PAGES * 4096)
#define UXEN_CALL_HDR	256
#define UXEN_CALL_DATA	(UXEN_CALL_BYTES - UXEN_CALL_HDR)
#define UXEN_CALL_MAGIC 0x4c4c41434b4655ULL /* "UKFCALL" */

struct uxen_call_page {
	uint64_t magic;	    /* UXEN_CALL_MAGIC, set by the guest */
	uint32_t req;	    /* guest: incremented per call */
	uint32_t ans;	    /* backend: = req when answered */
	uint32_t nr;	    /* guest: enum ukf_hc */
	uint32_t suspend;   /* backend: 1 = answer libxl's suspend now */
	uint64_t guest_now; /* guest: its monotonic ns at the call */
	int64_t ret;	    /* backend: the call's ret */
	int64_t status;	    /* backend: wait's status */
	uint64_t src;	    /* backend: recv's sender */
	uint64_t arg[8];    /* guest: the call's argument struct, verbatim */
	uint8_t pad[UXEN_CALL_HDR - 120];
	uint8_t data[UXEN_CALL_DATA];
};

_Static_assert(sizeof(struct uxen_call_page) == UXEN_CALL_BYTES,
	       "call page layout");

#endif /* UKF_UXEN_ABI_H */
