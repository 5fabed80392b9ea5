/* SPDX-License-Identifier: MIT */
/* rt.c - guest runtime core: start-up, hypercalls, console, time, fork API. */
#include "guest/rt/ukfrt.h"
#include "guest/rt/rt_internal.h"

/*
 * One image is one VM, so the runtime's state is plain file-level statics
 * (the "no per-process globals" rule is about host processes hosting many
 * VMs; a guest hosts exactly one instance).
 */

int main(int argc, char **argv);
extern const char ukf_app_name[] __attribute__((weak));

#define ARGV_MAX    128
#define REANCHOR_NS 50000000ULL /* re-read the monitor clock every 50 ms */

static const volatile struct ukf_bootinfo *rt_bi;
static int rt_platform;
static struct ukf_heap rt_heap;

static uint64_t rt_id, rt_parent, rt_node;
static int rt_node_known;

static char rt_args[UKF_ARGS_MAX];
static char *rt_argv[ARGV_MAX + 1];
static int rt_argc;

static void con_emit(void *u, const char *p, size_t len);
static void *con_alloc(size_t n);
static void con_release(void *p);
static struct ukf_con rt_con; /* in .bss: callbacks set at start-up */

static uint64_t tm_khz, tm_anchor_ns, tm_anchor_tsc, tm_last;
static int tm_anchored; /* anchor lazily: a boot that never asks pays nothing */
static int rt_ident_stale; /* after fork in the child: ask the monitor */

/* ---------------- hypercalls ---------------- */

static inline int64_t hc_raw(unsigned nr, void *arg)
{
	uint32_t gpa = (uint32_t)(uintptr_t)arg;
	uint16_t port = (uint16_t)(UKF_HC_PORT_BASE + nr);
	__asm__ volatile("outl %0, %1" : : "a"(gpa), "Nd"(port) : "memory");
	return *(volatile int64_t *)arg;
}

/*
 * Under ukfork's monitor a call is one port write; on any other platform
 * (PVH, Xen PV) platform.c's dispatcher carries it over the platform file
 * linked into the image (pvh.c or xen.c).
 */
int64_t ukf_hypercall(unsigned nr, void *arg)
{
	if (rt_platform != UKF_PLATFORM_UKVM)
		return ukf_plat_call(rt_bi, nr, arg);
	return hc_raw(nr, arg);
}

const char *ukf_strerror(int64_t err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case UKF_EINVAL:
		return "EINVAL (bad argument)";
	case UKF_EFAULT:
		return "EFAULT (bad pointer or length)";
	case UKF_ENOMEM:
		return "ENOMEM (memory limit)";
	case UKF_EAGAIN:
		return "EAGAIN (limit reached)";
	case UKF_ECHILD:
		return "ECHILD (no such child)";
	case UKF_ESRCH:
		return "ESRCH (no such instance)";
	case UKF_ETIMEDOUT:
		return "ETIMEDOUT (deadline passed)";
	case UKF_ENOSYS:
		return "ENOSYS (not supported)";
	case UKF_ENOENT:
		return "ENOENT (unknown application)";
	case UKF_EMSGSIZE:
		return "EMSGSIZE (message too large)";
	default:
		return "unknown error";
	}
}

/* ---------------- console ---------------- */

static void con_emit(void *u, const char *p, size_t len)
{
	(void)u;
	while (len) {
		size_t n = len > UKF_CONSOLE_MAX ? UKF_CONSOLE_MAX : len;
		struct ukf_hc_console c = {0, (uintptr_t)p, n};
		int64_t r = ukf_hypercall(UKF_HC_CONSOLE, &c);
		if (r <= 0)
			return; /* nothing sensible to do: drop the rest */
		p += r;
		len -= (size_t)r < n ? (size_t)r : n;
	}
}

void ukf_flush(void)
{
	ukf_con_flush(&rt_con);
}

void ukf_console_full(int on)
{
	rt_con.full = on;
}

void ukf_write(const void *buf, size_t len)
{
	ukf_con_write(&rt_con, buf, len);
}

int vprintf(const char *fmt, va_list ap)
{
	return ukf_con_vprintf(&rt_con, fmt, ap);
}

int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	return ukf_vsnprintf(buf, n, fmt, ap);
}

int snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = ukf_vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}

int puts(const char *s)
{
	ukf_con_write(&rt_con, s, strlen(s));
	ukf_con_write(&rt_con, "\n", 1);
	return 0;
}

int putchar(int c)
{
	char ch = (char)c;
	ukf_con_write(&rt_con, &ch, 1);
	return (unsigned char)c;
}

/*
 * The heap is set up on first use: ukf_heap_init writes a block header at
 * heap_start, and an app that never allocates (hello) need not touch that
 * page.
 */
static int rt_heap_ready;

static struct ukf_heap *heap(void)
{
	if (!rt_heap_ready) {
		extern char _end[];
		uint64_t hs = rt_bi->heap_start, he = rt_bi->heap_end;
		if (hs < (uintptr_t)_end)
			hs = (uintptr_t)_end;
		if (he < hs)
			he = hs;
		ukf_heap_init(&rt_heap, (void *)(uintptr_t)hs,
			      (void *)(uintptr_t)he);
		rt_heap_ready = 1;
	}
	return &rt_heap;
}

void *malloc(size_t size)
{
	return ukf_heap_alloc(heap(), size);
}

void free(void *p)
{
	if (p)
		ukf_heap_free(heap(), p);
}

void *calloc(size_t nmemb, size_t size)
{
	if (size && nmemb > (size_t)-1 / size)
		return NULL;
	void *p = malloc(nmemb * size);
	if (p)
		memset(p, 0, nmemb * size);
	return p;
}

void *realloc(void *p, size_t size)
{
	return ukf_heap_realloc(heap(), p, size);
}

struct ukf_heap *ukf_heap(void)
{
	return heap();
}

static void *con_alloc(size_t n)
{
	return malloc(n);
}

static void con_release(void *p)
{
	free(p);
}

/* ---------------- time ---------------- */

static uint64_t tsc_to_ns(uint64_t dt)
{
	return dt / tm_khz * 1000000ULL + (dt % tm_khz) * 1000000ULL / tm_khz;
}

static uint64_t time_call(uint64_t *wall)
{
	struct ukf_hc_time t = {0, 0, 0};
	ukf_hypercall(UKF_HC_TIME, &t);
	if (wall)
		*wall = t.wall_ns;
	return t.mono_ns;
}

/* Re-read the monitor clock. */
static void time_anchor(void)
{
	tm_anchor_tsc = ukf_rdtsc();
	tm_anchor_ns = time_call(NULL);
	tm_anchored = 1;
}

uint64_t ukf_time_ns(void)
{
	uint64_t now;
	if (!tm_khz) {
		now = time_call(NULL);
	} else {
		if (!tm_anchored)
			time_anchor();
		uint64_t dt = tsc_to_ns(ukf_rdtsc() - tm_anchor_tsc);
		if (dt > REANCHOR_NS) {
			time_anchor();
			dt = 0;
		}
		now = tm_anchor_ns + dt;
	}
	if (now < tm_last)
		now = tm_last;
	tm_last = now;
	return now;
}

uint64_t ukf_wall_ns(void)
{
	uint64_t wall;
	time_call(&wall);
	return wall;
}

void ukf_spin_until(uint64_t deadline_ns)
{
	while (ukf_time_ns() < deadline_ns)
		__asm__ volatile("pause");
}

int ukf_block(uint64_t deadline_ns)
{
	ukf_flush();
	struct ukf_hc_block b = {0, deadline_ns};
	return (int)ukf_hypercall(UKF_HC_BLOCK, &b);
}

/* ---------------- identity, args ---------------- */

static void load_args(void)
{
	uint32_t len = rt_bi->args_len;
	if (len >= UKF_ARGS_MAX)
		len = UKF_ARGS_MAX - 1;
	for (uint32_t i = 0; i < len; i++)
		rt_args[i] = rt_bi->args[i];
	rt_args[len] = '\0';
	rt_argv[0] = (char *)(ukf_app_name ? ukf_app_name : "guest");
	int n = ukf_split_args(rt_args, rt_argv + 1, ARGV_MAX - 1);
	if (n < 0) {
		/* unterminated quote: treat the whole string as one word */
		for (uint32_t i = 0; i < len; i++)
			rt_args[i] = rt_bi->args[i];
		rt_args[len] = '\0';
		rt_argv[1] = rt_args;
		rt_argv[2] = NULL;
		n = 1;
	}
	if (n > ARGV_MAX - 1)
		n = ARGV_MAX - 1;
	rt_argv[n + 1] = NULL;
	rt_argc = n + 1;
}

static void load_identity(void)
{
	rt_id = rt_bi->instance_id;
	rt_parent = rt_bi->parent_id;
	rt_node_known = 0;
	rt_ident_stale = 0;
}

static void refresh_info(void)
{
	struct ukf_hc_info in = {0};
	if (ukf_hypercall(UKF_HC_INFO, &in) >= 0) {
		rt_id = in.instance_id;
		rt_parent = in.parent_id;
		rt_node = in.node;
		rt_node_known = 1;
		rt_ident_stale = 0;
	}
}

uint64_t ukf_id(void)
{
	if (rt_ident_stale)
		refresh_info();
	return rt_id;
}

uint64_t ukf_parent_id(void)
{
	if (rt_ident_stale)
		refresh_info();
	return rt_parent;
}

uint64_t ukf_node(void)
{
	if (!rt_node_known)
		refresh_info();
	return rt_node;
}

int ukf_args(char ***argv)
{
	if (argv)
		*argv = rt_argv;
	return rt_argc;
}

const volatile struct ukf_bootinfo *ukf_bootinfo(void)
{
	return rt_bi;
}

int ukf_platform(void)
{
	return rt_platform;
}

/* ---------------- lifecycle ---------------- */

int ukf_ready(void)
{
	ukf_flush();
	struct ukf_hc_ready r = {0};
	int64_t ret = ukf_hypercall(UKF_HC_READY, &r);
	if (ret == 1) {
		/* a clone: the monitor rewrote the boot info page */
		load_identity();
		load_args();
		tm_anchored = 0;
		tm_last = 0;
	}
	return (int)ret;
}

void ukf_exit(int status)
{
	ukf_flush();
	struct ukf_hc_exit e = {0, status};
	for (;;)
		ukf_hypercall(UKF_HC_EXIT, &e);
}

void ukf_abort(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = ukf_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(msg))
		n = sizeof(msg) - 1;
	ukf_flush();
	struct ukf_hc_abort a = {0, (uintptr_t)msg, (uint64_t)n};
	for (;;)
		ukf_hypercall(UKF_HC_ABORT, &a);
}

/* ---------------- fork, spawn, wait, messages ---------------- */

int64_t ukf_fork(void)
{
	ukf_flush();
	struct ukf_hc_fork f = {0, 0};
	int64_t ret = ukf_hypercall(UKF_HC_FORK, &f);
	if (ret == 0) {
		/*
		 * the child: a new instance with its own id and clock, both
		 * fetched on first use so a child that never asks costs no
		 * extra exits
		 */
		rt_ident_stale = 1;
		rt_node_known = 0;
		tm_anchored = 0;
		tm_last = 0;
	}
	return ret;
}

int64_t ukf_spawn(const char *app, const char *args)
{
	if (!app)
		return -UKF_EINVAL;
	if (!args)
		args = "";
	ukf_flush();
	struct ukf_hc_spawn s = {0, (uintptr_t)app, strlen(app),
				 (uintptr_t)args, strlen(args)};
	return ukf_hypercall(UKF_HC_SPAWN, &s);
}

int64_t ukf_wait_until(uint64_t id, int *status, uint64_t deadline_ns)
{
	ukf_flush();
	struct ukf_hc_wait w = {0, id, deadline_ns, 0};
	int64_t ret = ukf_hypercall(UKF_HC_WAIT, &w);
	if (ret >= 0 && status)
		*status = (int)w.status;
	return ret;
}

int64_t ukf_wait(uint64_t id, int *status)
{
	return ukf_wait_until(id, status, 0);
}

int ukf_send(uint64_t dst, const void *buf, size_t len)
{
	struct ukf_hc_send s = {0, dst, (uintptr_t)buf, len};
	return (int)ukf_hypercall(UKF_HC_SEND, &s);
}

int64_t ukf_recv(void *buf, size_t cap, uint64_t *src, uint64_t deadline_ns)
{
	ukf_flush();
	struct ukf_hc_recv r = {0, (uintptr_t)buf, cap, deadline_ns, 0};
	int64_t ret = ukf_hypercall(UKF_HC_RECV, &r);
	if (ret >= 0 && src)
		*src = r.src;
	return ret;
}

/* ---------------- start-up ---------------- */

/* Called from entry.S with the boot info; never returns. */
__attribute__((noreturn)) void ukf_rt_start(const struct ukf_bootinfo *bi);

void ukf_rt_start(const struct ukf_bootinfo *bi)
{
	rt_bi = bi;
	rt_con.emit = con_emit;
	rt_con.alloc = con_alloc;
	rt_con.release = con_release;
	rt_platform = bi->platform == UKF_PLATFORM_PVH ||
			      bi->platform == UKF_PLATFORM_XEN
			  ? (int)bi->platform
			  : UKF_PLATFORM_UKVM;
	if (bi->magic != UKF_ABI_MAGIC)
		ukf_abort("ukfork runtime: bad boot info magic 0x%llx",
			  (unsigned long long)bi->magic);
	tm_khz = bi->tsc_khz;
	load_identity();
	load_args();
	ukf_exit(main(rt_argc, rt_argv));
}
