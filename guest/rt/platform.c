/* SPDX-License-Identifier: MIT */
/* platform.c - the one dispatcher of the ABI's calls on PVH and Xen PV (checks shared by both). */
#include "guest/rt/ukfrt.h"
#include "guest/rt/rt_internal.h"

/*
 * rt.c sends a call here when the image does not run under ukfork's
 * monitor (which takes one port write per call and checks everything
 * itself). The checks below are what every platform needs alike; what the
 * call then does is the linked platform's (ukf_plat_ops).
 */

#define ABORT_MAX 1024
#define APP_NAME_MAX 64 /* UKF_APP_NAME_MAX (core/ukf.h): the name and its NUL */

/* [gpa, gpa+len) inside guest memory above page 0, without wrapping. */
static int range_ok(const volatile struct ukf_bootinfo *bi, uint64_t gpa,
		    uint64_t len)
{
	return gpa >= UKF_PAGE_SIZE && gpa <= bi->mem_size &&
	       len <= bi->mem_size - gpa;
}

/* The arguments of a call carried to the node: 0 or -UKF_E*. */
static int64_t carried_args_ok(const volatile struct ukf_bootinfo *bi,
			       unsigned nr, const void *arg)
{
	switch (nr) {
	case UKF_HC_FORK:
		return ((const struct ukf_hc_fork *)arg)->flags ? -UKF_EINVAL
								 : 0;
	case UKF_HC_SPAWN: {
		const struct ukf_hc_spawn *s = arg;
		if (s->app_len == 0 || s->app_len >= APP_NAME_MAX ||
		    s->args_len >= UKF_ARGS_MAX)
			return -UKF_EINVAL;
		if (!range_ok(bi, s->app, s->app_len) ||
		    (s->args_len && !range_ok(bi, s->args, s->args_len)))
			return -UKF_EFAULT;
		return 0;
	}
	case UKF_HC_SEND: {
		const struct ukf_hc_send *s = arg;
		if (s->len > UKF_MSG_MAX)
			return -UKF_EMSGSIZE;
		if (s->len && !range_ok(bi, s->buf, s->len))
			return -UKF_EFAULT;
		return 0;
	}
	case UKF_HC_RECV: {
		const struct ukf_hc_recv *r = arg;
		uint64_t cap = r->cap > UKF_MSG_MAX ? UKF_MSG_MAX : r->cap;
		if (cap && !range_ok(bi, r->buf, cap))
			return -UKF_EFAULT;
		return 0;
	}
	default: /* wait: numbers only; unknown calls: the node decides */
		return 0;
	}
}

int64_t ukf_plat_call(const volatile struct ukf_bootinfo *bi, unsigned nr,
		      void *arg)
{
	const struct ukf_plat_ops *p = &ukf_plat_ops;
	int64_t *ret = arg;

	switch (nr) {
	case UKF_HC_CONSOLE: {
		struct ukf_hc_console *c = arg;
		if (c->len > UKF_CONSOLE_MAX)
			return *ret = -UKF_EINVAL;
		if (!range_ok(bi, c->buf, c->len))
			return *ret = -UKF_EFAULT;
		p->console((const char *)(uintptr_t)c->buf, c->len);
		return *ret = (int64_t)c->len;
	}
	case UKF_HC_TIME:
		p->time(arg);
		return *ret = 0;
	case UKF_HC_EXIT:
		p->exit(((struct ukf_hc_exit *)arg)->status);
	case UKF_HC_ABORT: {
		struct ukf_hc_abort *a = arg;
		uint64_t len = a->len > ABORT_MAX ? ABORT_MAX : a->len;
		p->console("ukf_abort: ", 11);
		if (range_ok(bi, a->msg, len))
			p->console((const char *)(uintptr_t)a->msg, len);
		else
			p->console("(bad message pointer)", 21);
		p->console("\n", 1);
		p->abort();
	}
	case UKF_HC_READY:
		return *ret = p->ready((volatile struct ukf_bootinfo *)bi);
	case UKF_HC_BLOCK:
		return *ret = p->block(((struct ukf_hc_block *)arg)->deadline);
	case UKF_HC_INFO: {
		struct ukf_hc_info *in = arg;
		uint64_t n = bi->args_len;
		in->instance_id = bi->instance_id;
		in->parent_id = bi->parent_id;
		in->node = 0;
		if (in->args_buf && !range_ok(bi, in->args_buf, in->args_cap))
			return *ret = -UKF_EFAULT;
		if (in->args_buf && in->args_cap) {
			uint64_t k =
			    n < in->args_cap - 1 ? n : in->args_cap - 1;
			char *d = (char *)(uintptr_t)in->args_buf;
			for (uint64_t i = 0; i < k; i++)
				d[i] = bi->args[i];
			d[k] = '\0';
		}
		return *ret = (int64_t)n;
	}
	default: {
		/* fork, spawn, wait, send, recv (and numbers unknown here):
		 * the node's, if the platform reaches one */
		int64_t r;
		if (!p->reach || !p->reach())
			return *ret = -UKF_ENOSYS;
		r = carried_args_ok(bi, nr, arg);
		if (r < 0)
			return *ret = r;
		return *ret = p->carry(bi, nr, arg);
	}
	}
}
