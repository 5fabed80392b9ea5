/* SPDX-License-Identifier: MIT */
/* test_abi.c - monitor test guest: every hypercall once, results printed. */
#include "guest/rt/ukfrt.h"

/*
 * Prints one line "abi: CALL ret=R ..." per check, and "abi: CALL ok" or
 * "abi: CALL FAIL (why)" judged against include/ukf_abi.h; ends with
 * "abi: done, N failed" and exits with N (0 = all as specified).
 * With the argument "abort" it finishes with ukf_abort instead of exiting;
 * with "spawn-hello" it also spawns the hello app and waits for it.
 * Under PVH (no fork/messages) the calls that need a monitor report ENOSYS.
 */
static int failed;
static int pvh;

static void check(const char *what, int ok, const char *why)
{
	if (ok) {
		printf("abi: %s ok\n", what);
	} else {
		printf("abi: %s FAIL (%s)\n", what, why);
		failed++;
	}
}

/* A negative result that is -want, or -ENOSYS under PVH. */
static int is_err(int64_t r, int want)
{
	return r == -want || (pvh && r == -UKF_ENOSYS);
}

int main(int argc, char **argv)
{
	int plat = ukf_platform();
	pvh = plat != UKF_PLATFORM_UKVM; /* PVH or Xen: no monitor calls */
	printf("abi: platform %s, id %llu, parent %llu, %d args\n",
	       plat == UKF_PLATFORM_XEN  ? "xen"
	       : plat == UKF_PLATFORM_PVH ? "pvh"
					  : "ukvm", (unsigned long long)ukf_id(),
	       (unsigned long long)ukf_parent_id(), argc - 1);

	/* console: a direct call returns the byte count */
	static const char line[] = "abi: console direct write\n";
	struct ukf_hc_console c = {0, (uintptr_t)line, sizeof(line) - 1};
	int64_t r = ukf_hypercall(UKF_HC_CONSOLE, &c);
	printf("abi: console ret=%lld\n", (long long)r);
	check("console", r == (int64_t)sizeof(line) - 1, "ret != length");

	/* time: monotonic advances */
	struct ukf_hc_time t1 = {0}, t2 = {0};
	r = ukf_hypercall(UKF_HC_TIME, &t1);
	ukf_hypercall(UKF_HC_TIME, &t2);
	printf("abi: time ret=%lld mono=%llu wall=%llu\n", (long long)r,
	       (unsigned long long)t1.mono_ns, (unsigned long long)t1.wall_ns);
	check("time",
	      r == 0 && t2.mono_ns >= t1.mono_ns && (pvh || t1.wall_ns > 0),
	      "bad ret or clock");

	/* info: ids and the argument string */
	char args[UKF_ARGS_MAX];
	struct ukf_hc_info in = {0};
	in.args_buf = (uintptr_t)args;
	in.args_cap = sizeof(args);
	r = ukf_hypercall(UKF_HC_INFO, &in);
	printf("abi: info ret=%lld id=%llu parent=%llu node=%llu args='%s'\n",
	       (long long)r, (unsigned long long)in.instance_id,
	       (unsigned long long)in.parent_id, (unsigned long long)in.node,
	       r >= 0 ? args : "");
	check("info",
	      r >= 0 && in.instance_id == ukf_id() &&
		  (uint64_t)r == ukf_bootinfo()->args_len,
	      "ids or args length disagree with the boot info");

	/* ready */
	r = ukf_ready();
	printf("abi: ready ret=%lld\n", (long long)r);
	check("ready", r == 0 || r == 1, "not 0 or 1");

	/* block until a deadline 1 ms away */
	struct ukf_hc_time m0 = {0}, m1 = {0};
	ukf_hypercall(UKF_HC_TIME, &m0);
	uint64_t t0 = ukf_time_ns();
	r = ukf_block(t0 + 1000000);
	uint64_t dt = ukf_time_ns() - t0;
	ukf_hypercall(UKF_HC_TIME, &m1);
	printf("abi: block ret=%lld after %llu us (monitor clock %llu us, "
	       "deadline %llu)\n",
	       (long long)r, (unsigned long long)(dt / 1000),
	       (unsigned long long)((m1.mono_ns - m0.mono_ns) / 1000),
	       (unsigned long long)(t0 + 1000000));
	check("block", r == 0 && dt >= 900000, "early or bad ret");

	/* fork + wait: child exits 7 */
	int64_t id = ukf_fork();
	if (id == 0) {
		printf("abi: fork child id=%llu parent=%llu\n",
		       (unsigned long long)ukf_id(),
		       (unsigned long long)ukf_parent_id());
		ukf_exit(7);
	}
	printf("abi: fork ret=%lld\n", (long long)id);
	if (id > 0) {
		int st = -1;
		r = ukf_wait((uint64_t)id, &st);
		printf("abi: wait ret=%lld status=%d\n", (long long)r, st);
		check("fork+wait", r == id && st == 7, "child status lost");
		r = ukf_wait((uint64_t)id, &st);
		printf("abi: wait-again ret=%lld\n", (long long)r);
		check("wait-again", r == -UKF_ECHILD, "expected ECHILD");
	} else {
		check("fork", is_err(id, UKF_ENOSYS), "fork failed");
	}
	r = ukf_wait(987654321, NULL);
	printf("abi: wait-unknown ret=%lld\n", (long long)r);
	check("wait-unknown", is_err(r, UKF_ECHILD), "expected ECHILD");

	/* spawn of an unknown application */
	r = ukf_spawn("no-such-app", "x=1");
	printf("abi: spawn-unknown ret=%lld\n", (long long)r);
	check("spawn-unknown", is_err(r, UKF_ENOENT), "expected ENOENT");

	/* spawn of a real application, when asked (needs a "hello" image) */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "spawn-hello"))
			continue;
		int64_t sid = ukf_spawn("hello", "");
		int st = -1;
		int64_t w = sid > 0 ? ukf_wait((uint64_t)sid, &st) : sid;
		printf("abi: spawn-hello ret=%lld wait=%lld status=%d\n",
		       (long long)sid, (long long)w, st);
		check("spawn-hello", sid > 0 && w == sid && st == 0,
		      "spawned hello did not exit 0");
	}

	/* messages: to self, to nobody, too big, receive with deadline */
	r = ukf_send(ukf_id(), "ping", 4);
	printf("abi: send-self ret=%lld\n", (long long)r);
	check("send-self", r == 0 || is_err(r, UKF_ENOSYS), "send failed");
	if (r == 0) {
		char buf[16];
		uint64_t src = 0;
		int64_t n = ukf_recv(buf, sizeof(buf), &src,
				     ukf_time_ns() + 1000000000ULL);
		printf("abi: recv ret=%lld src=%llu\n", (long long)n,
		       (unsigned long long)src);
		check("recv",
		      n == 4 && !memcmp(buf, "ping", 4) && src == ukf_id(),
		      "wrong message");
	}
	r = ukf_send(987654321, "x", 1);
	printf("abi: send-unknown ret=%lld\n", (long long)r);
	check("send-unknown", is_err(r, UKF_ESRCH), "expected ESRCH");
	static char big[UKF_MSG_MAX + 1];
	r = ukf_send(ukf_id(), big, sizeof(big));
	printf("abi: send-big ret=%lld\n", (long long)r);
	check("send-big", is_err(r, UKF_EMSGSIZE), "expected EMSGSIZE");
	char buf[8];
	r = ukf_recv(buf, sizeof(buf), NULL, ukf_time_ns() + 1000000);
	printf("abi: recv-timeout ret=%lld\n", (long long)r);
	check("recv-timeout", is_err(r, UKF_ETIMEDOUT), "expected ETIMEDOUT");

	/* unknown call numbers inside the reserved port range */
	for (unsigned nr = UKF_HC_RECV + 1; nr < UKF_HC_MAX; nr += 3) {
		struct {
			int64_t ret;
			uint64_t pad[4];
		} u = {0, {0}};
		r = ukf_hypercall(nr, &u);
		printf("abi: unknown-%u ret=%lld\n", nr, (long long)r);
		check("unknown", r == -UKF_ENOSYS, "expected ENOSYS");
	}

	printf("abi: done, %d failed\n", failed);
	if (argc > 1 && !strcmp(argv[1], "abort"))
		ukf_abort("test-abi: abort requested");
	return failed;
}
