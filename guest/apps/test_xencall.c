/* SPDX-License-Identifier: MIT */
/* test_xencall.c - test guest: the calls carried to the node, their refusals, and a guest that breaks the Xen call page. */
#include "guest/rt/ukfrt.h"

/*
 * test-xencall            bad arguments refused by the runtime and the node
 *                         (each "xencall: WHAT ret=R" line), fork + wait
 *                         (child exits 7), then "xencall: done, N failed"
 *                         and exit N
 * test-xencall spawn-raw  spawn "test-xencall raw", wait for it, print its
 *                         status and go on: the node survives a guest that
 *                         broke the rules and still serves this one
 * test-xencall raw        (Xen only) post a spawn whose name lies outside
 *                         the call page: the backend fails this instance
 *                         with a reason; never returns normally
 */

/* guest/rt/xen.c's test hook; absent (NULL) in the KVM images. */
extern int64_t ukf_xen_call_raw(unsigned nr, const uint64_t arg[8])
    __attribute__((weak));

static int failed;

static void check(const char *what, int64_t r, int ok)
{
	printf("xencall: %s ret=%lld %s\n", what, (long long)r,
	       ok ? "ok" : "FAIL");
	failed += !ok;
}

int main(int argc, char **argv)
{
	ukf_ready();
	if (argc > 1 && !strcmp(argv[1], "raw")) {
		/* spawn, app name at offset 1 MiB of a 12 KiB page */
		uint64_t a[8] = {0, 1 << 20, 5, 256, 0, 0, 0, 0};
		if (!ukf_xen_call_raw)
			ukf_abort("test-xencall raw: not a Xen image");
		int64_t r = ukf_xen_call_raw(UKF_HC_SPAWN, a);
		printf("xencall: raw ret=%lld (the backend took it)\n",
		       (long long)r);
		return 3;
	}
	if (argc > 1 && !strcmp(argv[1], "spawn-raw")) {
		int st = 0;
		int64_t id = ukf_spawn("test-xencall", "raw");
		int64_t w = id > 0 ? ukf_wait((uint64_t)id, &st) : id;
		printf("xencall: spawn-raw id=%lld wait=%lld status=%d\n",
		       (long long)id, (long long)w, st);
		int64_t f = ukf_fork();
		if (f == 0)
			ukf_exit(9);
		w = f > 0 ? ukf_wait((uint64_t)f, &st) : f;
		check("after-raw fork+wait", w, f > 0 && w == f && st == 9);
		printf("xencall: done, %d failed\n", failed);
		return failed;
	}

	/* refused by the runtime's dispatcher (or the monitor) */
	struct ukf_hc_spawn s = {0, 0x10, 5, 0, 0};
	int64_t r = ukf_hypercall(UKF_HC_SPAWN, &s);
	check("spawn-badptr", r, r == -UKF_EFAULT);
	r = ukf_spawn("", "");
	check("spawn-empty", r, r == -UKF_EINVAL);
	struct ukf_hc_fork fk = {0, 1};
	r = ukf_hypercall(UKF_HC_FORK, &fk);
	check("fork-flags", r, r == -UKF_EINVAL);
	static char big[UKF_MSG_MAX + 1];
	r = ukf_send(ukf_id(), big, sizeof(big));
	check("send-big", r, r == -UKF_EMSGSIZE);
	/* refused by the node */
	r = ukf_spawn("no-such-app", "");
	check("spawn-unknown", r, r == -UKF_ENOENT);
	r = ukf_wait(987654321, NULL);
	check("wait-unknown", r, r == -UKF_ECHILD);
	struct ukf_hc_fork un = {0, 0};
	r = ukf_hypercall(13, &un);
	check("unknown-call", r, r == -UKF_ENOSYS);
	/* carried and answered */
	r = ukf_send(ukf_id(), "ping", 4);
	check("send-self", r, r == 0);
	char buf[16];
	uint64_t src = 0;
	r = ukf_recv(buf, sizeof(buf), &src, ukf_time_ns() + 60000000000ULL);
	check("recv", r, r == 4 && !memcmp(buf, "ping", 4) && src == ukf_id());
	int64_t id = ukf_fork();
	if (id == 0) {
		printf("xencall: child id=%llu parent=%llu\n",
		       (unsigned long long)ukf_id(),
		       (unsigned long long)ukf_parent_id());
		ukf_exit(7);
	}
	int st = -1;
	r = id > 0 ? ukf_wait((uint64_t)id, &st) : id;
	printf("xencall: fork id=%lld status=%d\n", (long long)id, st);
	check("fork+wait", r, id > 0 && r == id && st == 7);
	printf("xencall: done, %d failed\n", failed);
	return failed;
}
