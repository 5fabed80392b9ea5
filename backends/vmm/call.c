/* SPDX-License-Identifier: MIT */
/* call.c - the guest ABI's calls, hypervisor-neutral: argument checks, answers, and the events the engine gets. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backends/vmm/vmm.h"

static const char *const call_names[UKF_HC_MAX] = {
	"console", "time", "exit", "abort", "ready", "block",
	"info",    "fork", "spawn", "wait", "send", "recv",
};

static const uint32_t call_sizes[] = {
	[UKF_HC_CONSOLE] = sizeof(struct ukf_hc_console),
	[UKF_HC_TIME] = sizeof(struct ukf_hc_time),
	[UKF_HC_EXIT] = sizeof(struct ukf_hc_exit),
	[UKF_HC_ABORT] = sizeof(struct ukf_hc_abort),
	[UKF_HC_READY] = sizeof(struct ukf_hc_ready),
	[UKF_HC_BLOCK] = sizeof(struct ukf_hc_block),
	[UKF_HC_INFO] = sizeof(struct ukf_hc_info),
	[UKF_HC_FORK] = sizeof(struct ukf_hc_fork),
	[UKF_HC_SPAWN] = sizeof(struct ukf_hc_spawn),
	[UKF_HC_WAIT] = sizeof(struct ukf_hc_wait),
	[UKF_HC_SEND] = sizeof(struct ukf_hc_send),
	[UKF_HC_RECV] = sizeof(struct ukf_hc_recv),
};

const char *ukf_vmm_call_name(uint32_t nr)
{
	return nr < UKF_HC_MAX && call_names[nr] ? call_names[nr] : "unknown";
}

uint32_t ukf_vmm_call_size(uint32_t nr)
{
	return nr < sizeof(call_sizes) / sizeof(call_sizes[0]) ? call_sizes[nr]
							       : 8;
}

/* Copy a guest string into a NUL-terminated buffer, for messages. */
static void printable(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < cap; i++)
		dst[j++] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[j] = 0;
}

/* No control characters (a \n would forge a line of a trace). */
static int name_printable(const char *s)
{
	for (; *s; s++)
		if ((uint8_t)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static inline void *gpa_ptr(struct ukf_vmm *g, ukf_gpa_t gpa, uint64_t len,
			    int write)
{
	return g->ops->translate(g->be, gpa, len, write);
}

/* FAIL with a reason; the partial console line goes out first, as it
 * does before every end of a guest. */
static enum ukf_vmm_outcome fail(struct ukf_vmm *g, struct ukf_vmm_call *c,
				 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum ukf_vmm_outcome fail(struct ukf_vmm *g, struct ukf_vmm_call *c,
				 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	ukf_vmm_console_flush(g, ukf_vmm_now());
	return UKF_VMM_FAIL;
}

#define BAD_PTR(what, gpa, len)                                               \
	return fail(g, c, "hypercall %s: bad %s [0x%llx, +0x%llx)",           \
		    ukf_vmm_call_name(nr), what, (unsigned long long)(gpa),   \
		    (unsigned long long)(len))

/* A guest deadline (guest ns since boot, 0 = none) as world time. */
static ukf_ns_t to_world(ukf_ns_t boot_ns, uint64_t guest_ns)
{
	if (guest_ns == 0)
		return 0;
	if (guest_ns > (uint64_t)(UKF_NS_NEVER - boot_ns))
		return UKF_NS_NEVER;
	return boot_ns + (ukf_ns_t)guest_ns;
}

static uint64_t dirty(struct ukf_vmm *g)
{
	return g->ops->dirty_pages ? g->ops->dirty_pages(g->be) : 0;
}

enum ukf_vmm_outcome ukf_vmm_dispatch(struct ukf_vmm *g, uint32_t nr,
				      ukf_gpa_t gpa, struct ukf_vmm_call *c)
{
	uint32_t size = ukf_vmm_call_size(nr);
	struct ukf_vmm_ident id;
	struct ukf_be_event *ev = &c->ev;
	uint8_t *a;
	int64_t ret = 0;

	c->nr = nr;
	c->gpa = gpa;
	c->reason[0] = 0;
	memset(ev, 0, sizeof(*ev));
	if (gpa & 7)
		return fail(g, c,
			    "hypercall %s: misaligned argument struct at 0x%llx",
			    ukf_vmm_call_name(nr), (unsigned long long)gpa);
	a = gpa_ptr(g, gpa, size, 1);
	if (!a)
		BAD_PTR("argument struct", gpa, size);

	switch (nr) {
	case UKF_HC_CONSOLE: {
		struct ukf_hc_console x;
		const uint8_t *p;

		memcpy(&x, a, sizeof(x));
		if (x.len > UKF_CONSOLE_MAX) {
			ret = -UKF_EINVAL;
			break;
		}
		if (x.len) { /* an empty write needs no valid buffer */
			p = gpa_ptr(g, x.buf, x.len, 0);
			if (!p)
				BAD_PTR("console buffer", x.buf, x.len);
			ukf_vmm_console_write(g, p, x.len, ukf_vmm_now());
		}
		ret = (int64_t)x.len;
		break;
	}
	case UKF_HC_TIME: {
		struct ukf_hc_time t;
		struct timespec ts;

		g->ops->ident(g->be, &id);
		memset(&t, 0, sizeof(t));
		t.mono_ns = ukf_vmm_now() - id.boot_ns;
		clock_gettime(CLOCK_REALTIME, &ts);
		t.wall_ns = (uint64_t)ts.tv_sec * UKF_S + ts.tv_nsec;
		memcpy(a, &t, sizeof(t));
		return UKF_VMM_RESUME;
	}
	case UKF_HC_EXIT: {
		struct ukf_hc_exit x;

		memcpy(&x, a, sizeof(x));
		ukf_vmm_console_flush(g, ukf_vmm_now());
		ev->kind = UKF_BE_EXIT;
		ev->status = x.status;
		/* dirty pages at exit, as sim reports them: a fork child's
		 * row then holds its own count (0 if not a template's map) */
		ev->dirty_pages = dirty(g);
		return UKF_VMM_EXIT;
	}
	case UKF_HC_ABORT: {
		struct ukf_hc_abort x;
		const uint8_t *p;
		char msg[1025];

		memcpy(&x, a, sizeof(x));
		if (x.len > 1024)
			x.len = 1024;
		p = x.len ? gpa_ptr(g, x.msg, x.len, 0) : (const uint8_t *)"";
		if (!p)
			BAD_PTR("abort message", x.msg, x.len);
		printable(msg, sizeof(msg), p, x.len);
		return fail(g, c, "abort: %s", msg);
	}
	case UKF_HC_READY:
		ev->kind = UKF_BE_READY;
		ev->dirty_pages = dirty(g);
		if (!g->pause_on_ready) {
			memcpy(a, &ret, sizeof(ret)); /* ret 0 */
			return UKF_VMM_NOTIFY;
		}
		return UKF_VMM_PAUSE;
	case UKF_HC_BLOCK: {
		struct ukf_hc_block x;

		memcpy(&x, a, sizeof(x));
		g->ops->ident(g->be, &id);
		ev->kind = UKF_BE_CALL;
		ev->call = UKF_CALL_BLOCK;
		ev->deadline = x.deadline ? to_world(id.boot_ns, x.deadline)
					  : id.boot_ns;
		return UKF_VMM_PAUSE;
	}
	case UKF_HC_INFO: {
		struct ukf_hc_info x;
		size_t n;

		memcpy(&x, a, sizeof(x));
		g->ops->ident(g->be, &id);
		n = strnlen(id.args, UKF_ARGS_MAX - 1);
		x.instance_id = id.inst;
		x.parent_id = id.parent;
		x.node = id.node; /* the node this monitor serves */
		if (x.args_buf && x.args_cap) {
			uint8_t *p = gpa_ptr(g, x.args_buf, x.args_cap, 1);
			size_t k;

			if (!p)
				BAD_PTR("info buffer", x.args_buf, x.args_cap);
			k = n < x.args_cap - 1 ? n : x.args_cap - 1;
			memcpy(p, id.args, k);
			p[k] = 0;
		}
		x.ret = (int64_t)n;
		memcpy(a, &x, sizeof(x));
		return UKF_VMM_RESUME;
	}
	case UKF_HC_FORK: {
		struct ukf_hc_fork x;

		memcpy(&x, a, sizeof(x));
		if (x.flags) {
			ret = -UKF_EINVAL;
			break;
		}
		ev->kind = UKF_BE_CALL;
		ev->call = UKF_CALL_FORK;
		ev->dirty_pages = dirty(g);
		return UKF_VMM_PAUSE;
	}
	case UKF_HC_SPAWN: {
		struct ukf_hc_spawn x;
		const uint8_t *pa, *pg;

		memcpy(&x, a, sizeof(x));
		if (x.app_len == 0 || x.app_len >= sizeof(c->app) ||
		    x.args_len >= sizeof(c->args)) {
			ret = -UKF_EINVAL;
			break;
		}
		pa = gpa_ptr(g, x.app, x.app_len, 0);
		if (!pa)
			BAD_PTR("spawn app name", x.app, x.app_len);
		pg = x.args_len ? gpa_ptr(g, x.args, x.args_len, 0) : NULL;
		if (x.args_len && !pg)
			BAD_PTR("spawn arguments", x.args, x.args_len);
		memcpy(c->app, pa, x.app_len);
		c->app[x.app_len] = 0;
		if (x.args_len)
			memcpy(c->args, pg, x.args_len);
		c->args[x.args_len] = 0;
		if (strlen(c->app) != x.app_len ||
		    strlen(c->args) != x.args_len) {
			ret = -UKF_EINVAL; /* embedded NUL */
			break;
		}
		if (!name_printable(c->app)) {
			ret = -UKF_EINVAL; /* a name goes into traces as is */
			break;
		}
		ev->kind = UKF_BE_CALL;
		ev->call = UKF_CALL_SPAWN;
		ev->text = c->app;
		ev->data = c->args;
		ev->len = x.args_len;
		return UKF_VMM_PAUSE;
	}
	case UKF_HC_WAIT: {
		struct ukf_hc_wait x;

		memcpy(&x, a, sizeof(x));
		g->ops->ident(g->be, &id);
		ev->kind = UKF_BE_CALL;
		ev->call = UKF_CALL_WAIT;
		ev->arg_id = x.id;
		ev->deadline = to_world(id.boot_ns, x.deadline);
		return UKF_VMM_PAUSE;
	}
	case UKF_HC_SEND: {
		struct ukf_hc_send x;
		const uint8_t *p;

		memcpy(&x, a, sizeof(x));
		if (x.len > UKF_MSG_MAX) {
			ret = -UKF_EMSGSIZE;
			break;
		}
		p = x.len ? gpa_ptr(g, x.buf, x.len, 0) : (const uint8_t *)"";
		if (!p)
			BAD_PTR("send buffer", x.buf, x.len);
		ev->kind = UKF_BE_CALL;
		ev->call = UKF_CALL_SEND;
		ev->arg_id = x.dst;
		ev->data = p;
		ev->len = x.len;
		return UKF_VMM_PAUSE;
	}
	case UKF_HC_RECV: {
		struct ukf_hc_recv x;
		uint64_t cap;

		memcpy(&x, a, sizeof(x));
		cap = x.cap > UKF_MSG_MAX ? UKF_MSG_MAX : x.cap;
		if (cap && !gpa_ptr(g, x.buf, cap, 1))
			BAD_PTR("recv buffer", x.buf, cap);
		g->ops->ident(g->be, &id);
		ev->kind = UKF_BE_CALL;
		ev->call = UKF_CALL_RECV;
		ev->deadline = to_world(id.boot_ns, x.deadline);
		return UKF_VMM_PAUSE;
	}
	default:
		ret = -UKF_ENOSYS;
		break;
	}
	memcpy(a, &ret, sizeof(ret));
	return UKF_VMM_RESUME;
}

int ukf_vmm_complete(struct ukf_vmm *g, uint32_t nr, ukf_gpa_t gpa,
		     int64_t ret, int64_t status, ukf_id_t src,
		     const void *data, size_t len)
{
	uint8_t *a = gpa_ptr(g, gpa, ukf_vmm_call_size(nr), 1);

	if (!a)
		return -1;
	switch (nr) {
	case UKF_HC_WAIT: {
		struct ukf_hc_wait x;

		memcpy(&x, a, sizeof(x));
		x.status = status;
		x.ret = ret;
		memcpy(a, &x, sizeof(x));
		break;
	}
	case UKF_HC_RECV: {
		struct ukf_hc_recv x;

		memcpy(&x, a, sizeof(x));
		if (ret >= 0) {
			uint64_t n = len < x.cap ? len : x.cap;
			uint8_t *p = n ? gpa_ptr(g, x.buf, n, 1) : NULL;

			if (n && p && data)
				memcpy(p, data, n);
			x.ret = (int64_t)n;
			x.src = src;
		} else {
			x.ret = ret;
		}
		memcpy(a, &x, sizeof(x));
		break;
	}
	default:
		memcpy(a, &ret, sizeof(ret));
		break;
	}
	return 0;
}
