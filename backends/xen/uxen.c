/* SPDX-License-Identifier: MIT */
/* uxen.c - the Xen backend: PV domains through libxenlight, their console, calls, fork, exit status, destruction. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <sys/mman.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenstore.h>
#include <xentoollog.h>
#include <xen/elfnote.h>

#include "uxen.h"
#include "uxen_abi.h"
#include "uxen_direct.h"
#include "uxen_int.h"
#include "backends/vmm/vmm.h"
#include "core/ukf.h"
#include "include/ukf_abi.h"

#define UXEN_MARKER	 "UKF-READY"
#define UXEN_EXIT_KEY	 "data/ukf-exit" /* guest/rt/xen.c writes them */
#define UXEN_CONSOLE_KEY "data/ukf-console"
#define UXEN_TAIL_WAIT	 (10 * UKF_S)	/* console bytes after a shutdown */
#define UXEN_TAIL_QUIET	 (300 * UKF_MS) /* ... when the guest gave no count */
#define UXEN_MEM_MAX	 (1ULL << 30)	/* what guest/rt/xen.c maps */
#define UXEN_TTY_WAIT	 (30 * UKF_S)	/* xenconsoled's pty (emulated dom0) */
#define UXEN_POLL_MS	 50
#define UXEN_SUSPEND_WAIT_MS 30000 /* a fork's parent to suspend (the
				    * guest waits as long for the request) */
#define UXEN_LINE_MAX	 1024
/* the ready/template protocol with guest/rt/xen.c (ready_hold there) */
#define UXEN_HOLD_KEY  "data/ukf-hold"
#define UXEN_READY_KEY "data/ukf-ready"
#define UXEN_GO_KEY    "data/ukf-go"
#define UXEN_ID_KEY    "data/ukf-id"
#define UXEN_ARGS_KEY  "data/ukf-args"
#define UXEN_TPL_DIR   "/tmp" /* UKF_XEN_TEMPLATE_DIR overrides */
#define UXEN_PATH_MAX  512    /* a template file's path */

/*
 * libxl reports through a xentoollog logger, not through its return codes
 * (ERROR_FAIL says little). Ours keeps the first and the last warning or
 * error of the calling thread since xl_reset() (the first is usually the
 * cause - libxc's "can't allocate low memory" - the last libxl's summary),
 * so each failure we report carries libxl's own words; UKF_XEN_DEBUG=1
 * also prints every message on stderr.
 */
static __thread char xl_first[512], xl_last[512];

static void xl_reset(void)
{
	xl_first[0] = xl_last[0] = '\0';
}

struct uxen_logger {
	struct xentoollog_logger base; /* first: libxl sees only this */
	int debug;
};

static void lg_vmessage(struct xentoollog_logger *l, xentoollog_level lv,
			int errnoval, const char *context, const char *fmt,
			va_list ap)
{
	struct uxen_logger *lg = (struct uxen_logger *)l;
	char msg[400];

	if (lv < XTL_WARN && !lg->debug)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (lg->debug)
		fprintf(stderr, "%s: %s%s%s\n", context ? context : "libxl",
			msg, errnoval >= 0 ? ": " : "",
			errnoval >= 0 ? strerror(errnoval) : "");
	if (lv < XTL_WARN)
		return;
	snprintf(xl_last, sizeof(xl_last), "%s%s%s", msg,
		 errnoval >= 0 ? ": " : "",
		 errnoval >= 0 ? strerror(errnoval) : "");
	if (!xl_first[0])
		memcpy(xl_first, xl_last, sizeof(xl_first));
}

static void lg_progress(struct xentoollog_logger *l, const char *context,
			const char *doing, int percent, unsigned long done,
			unsigned long total)
{
}

static void lg_destroy(struct xentoollog_logger *l)
{
}

/* "libxl error fail (-3): FIRST [... LAST]" into buf. */
static const char *xl_error(char *buf, size_t len, int rc)
{
	int same = !strcmp(xl_first, xl_last);

	snprintf(buf, len, "libxl error %s (%d)%s%s%s%s",
		 libxl_error_to_string(rc), rc, xl_first[0] ? ": " : "",
		 xl_first, same ? "" : " ... ", same ? "" : xl_last);
	return buf;
}

/* ------------------------------------------------------------------ */

struct uxen;

struct uxen_vm {
	struct uxen *x;
	ukf_id_t inst;
	char name[64];
	char image[UKF_APP_PATH_MAX];
	char args[UKF_ARGS_MAX];
	uint64_t mem;
	uint32_t vcpus;
	pthread_t thr;
	int stop;	/* destroy asked (atomic) */
	int ready;	/* UKF_BE_READY sent (atomic) */
	int hold;	/* held at ready until complete() (pause_on_ready) */
	int suspending; /* a template is being saved: a suspend is ours */
	int answered;	/* complete() wrote the ready answer (atomic) */
	char clone_of[UXEN_PATH_MAX]; /* a clone: the template file, else "" */
	int direct; /* built by uxen_direct.c: its console ring read there */
	struct uxd_image *fork_img; /* a fork's child: its parent's snapshot
				     * (uxd_snapshot) until it is built */
	uint32_t domid;
	int has_domain;
	char con[UXEN_LINE_MAX];
	size_t con_len;
	uint64_t con_total; /* bytes read from the pty, in all */
	char last_line[UXEN_LINE_MAX];
	/* calls carried from the guest (uxen_abi.h); in_call, has_answer,
	 * the page's answer fields and call_seen under x->lock */
	int calls;		      /* data/ukf-calls written: served */
	xenevtchn_handle *xce;	      /* our end of its call channel */
	struct uxen_call_page *call;  /* its call page mapped, or NULL */
	evtchn_port_t call_port;      /* our local port of the channel */
	uint32_t call_seen;	      /* the req last taken */
	uint32_t call_nr;	      /* the call it is paused in */
	int in_call;		      /* paused in a call until complete() */
	int has_answer;		      /* complete() came before the channel */
	int64_t a_ret, a_status;
	ukf_id_t a_src;
	struct ukf_vmm vmm;	      /* backends/vmm's checks of its calls */
	struct uxen_call_page snap;   /* the call being served (vmm's view) */
	ukf_ns_t boot_est;	      /* guest time 0 on our clock */
	struct uxen_vm *fork_parent;  /* a fork child until its domain exists */
	ukf_ns_t fork_at;	      /* clone_live's call (times) */
	struct uxen_vm *next;
	/* appended for forks across nodes (uxen_remote.c) */
	struct uxen_meta meta;	      /* its app, image, memory, vCPUs */
	uxen_prep_fn prep;	      /* a remote fork's child: makes clone_of */
	void *prep_arg;
};

/* A template: one app's domain suspended at ready, saved to a file by
 * libxl (libxl_domain_suspend's stream, what libxl_domain_create_restore
 * takes). */
struct uxen_tpl {
	uint32_t app;
	char path[UXEN_PATH_MAX];
	uint64_t bytes;
	struct uxen_tpl *next;
	struct uxen_meta meta; /* appended: what it was made from */
	struct uxen_tpl_id id; /* its identity, once computed */
};

struct uxen {
	struct ukf_backend_config cfg;
	char tpl_dir[256];
	struct uxen_tpl *tpls;
	struct uxen_logger lg;
	libxl_ctx *ctx;
	/* held around every libxl call on ctx: libxl operations running at
	 * once on one ctx from several threads (a fork's suspend of the
	 * parent while an exited child's domain is destroyed) corrupted
	 * the heap or hung ukfork (docs/xen.md, the fork hang); never
	 * taken with lock held, nor lock taken under it */
	pthread_mutex_t xl_lock;
	pthread_mutex_t lock;
	/* one xenstore connection for every domain, opened and closed with
	 * the backend, never watched (so libxenstore starts no reader
	 * thread): xs_lock around each request on it */
	struct xs_handle *xsh;
	pthread_mutex_t xs_lock;
	xenforeignmemory_handle *fmem; /* maps every call page */
	libxl_childproc_hooks hooks;   /* libxl forks through xl_fork */
	struct uxen_vm *vms;
	uint32_t nvms;
	uint64_t mem_in_use;
	int times; /* UKF_XEN_TIMES=1: fork timings on stderr */
	int trace; /* UKF_XEN_TRACE=1: every carried call and answer */
	int remote_jobs; /* appended: uxen_remote.c's threads running (atomic) */
	/* clones of templates built by uxen_direct.c from the parsed file
	 * (the default); NULL: by libxl's restore (UKF_XEN_CLONE=libxl) */
	struct uxd *direct;
	/* UKF_XEN_TEST_FORK_CUT=N (tests): every local fork's save file cut
	 * to N bytes before its child is built, a damaged stream; -1: off */
	long long fork_cut;
	/* forks with the direct builder: the child built from a snapshot of
	 * the suspended parent's memory (the default) or, with
	 * UKF_XEN_FORK=stream, from libxl's save file of it */
	int fork_snapshot;
};

/*
 * libxl forks - its save and restore helpers, a domain's destruction - in
 * the thread of the libxl call, and its child, before it execs or exits,
 * frees libxl's xenstore handle (xs_daemon_destroy_postfork), which takes
 * libxentoolcore's lock of the process's open Xen handles. That lock is
 * held by any thread opening or closing a xenstore, event channel or
 * foreign memory handle: a fork at that moment leaves the child waiting
 * for a lock whose owner does not exist in it, and libxl waiting for the
 * child (docs/xen.md, "What is left"). So every such handle is opened and
 * closed under handle_lock, and libxl forks through xl_fork, which holds
 * it across fork(). Process-wide, as the lock it keeps free is.
 */
static pthread_mutex_t handle_lock = PTHREAD_MUTEX_INITIALIZER;

void uxen_handle_enter(void)
{
	pthread_mutex_lock(&handle_lock);
}

void uxen_handle_leave(void)
{
	pthread_mutex_unlock(&handle_lock);
}

/* libxl_childproc_hooks' fork_replacement: fork() with no Xen handle
 * being opened or closed by another thread. */
static pid_t xl_fork(void *user)
{
	pid_t pid;
	int e;

	(void)user;
	uxen_handle_enter();
	pid = fork();
	e = errno;
	/* the child's one thread is this one's copy: it may unlock */
	uxen_handle_leave();
	errno = e;
	return pid;
}

static void xl_enter(struct uxen *x)
{
	pthread_mutex_lock(&x->xl_lock);
}

static void xl_leave(struct uxen *x)
{
	pthread_mutex_unlock(&x->xl_lock);
}

static ukf_ns_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ukf_ns_t)ts.tv_sec * UKF_S + ts.tv_nsec;
}

static void emit(struct uxen *x, struct ukf_be_event *ev)
{
	x->cfg.event(x->cfg.u, x->cfg.node, ev);
}

/* Emit *ev with its text formatted from fmt and ap (valid only during the
 * call, as every event's text). */
static void emit_vtext(struct uxen *x, struct ukf_be_event *ev,
		       const char *fmt, va_list ap)
{
	char reason[2600];

	vsnprintf(reason, sizeof(reason), fmt, ap);
	ev->text = reason;
	emit(x, ev);
}

static void fail_inst(struct uxen *x, ukf_id_t inst, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_inst(struct uxen *x, ukf_id_t inst, const char *fmt, ...)
{
	struct ukf_be_event ev;
	va_list ap;

	memset(&ev, 0, sizeof(ev));
	ev.kind = UKF_BE_FAIL;
	ev.inst = inst;
	va_start(ap, fmt);
	emit_vtext(x, &ev, fmt, ap);
	va_end(ap);
}

static void simple_event(struct uxen_vm *vm, enum ukf_be_kind kind,
			 int64_t status)
{
	struct ukf_be_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.inst = vm->inst;
	ev.status = status;
	emit(vm->x, &ev);
}

/* ---------------- console ---------------- */

/* One console line: printable (no escapes, no forged lines), an event,
 * and READY at the first marker line. */
static void con_line(struct uxen_vm *vm)
{
	struct ukf_be_event ev;
	size_t n = vm->con_len;

	if (n && vm->con[n - 1] == '\r')
		n--;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)vm->con[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			vm->con[i] = '?';
	}
	vm->con[n] = '\0';
	memcpy(vm->last_line, vm->con, n + 1);
	memset(&ev, 0, sizeof(ev));
	ev.kind = UKF_BE_CONSOLE;
	ev.inst = vm->inst;
	ev.data = vm->con;
	ev.len = n;
	emit(vm->x, &ev);
	if (!vm->hold && !__atomic_load_n(&vm->ready, __ATOMIC_ACQUIRE) &&
	    !strcmp(vm->con, UXEN_MARKER)) {
		__atomic_store_n(&vm->ready, 1, __ATOMIC_RELEASE);
		simple_event(vm, UKF_BE_READY, 0);
	}
	vm->con_len = 0;
}

static void con_bytes(struct uxen_vm *vm, const char *p, size_t n)
{
	vm->con_total += n;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			con_line(vm);
			continue;
		}
		vm->con[vm->con_len++] = p[i];
		if (vm->con_len == sizeof(vm->con) - 1)
			con_line(vm);
	}
}

/* Read what the pty holds now; 0, or -1 at end of file / error. */
static int con_read(struct uxen_vm *vm, int fd)
{
	char buf[4096];

	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r > 0) {
			con_bytes(vm, buf, (size_t)r);
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return -1; /* EOF or EIO: the other side went away */
	}
}

/* xenconsoled's pty for the domain's PV console, opened raw. */
static int con_open(struct uxen_vm *vm, char *err, size_t errlen)
{
	struct uxen *x = vm->x;
	ukf_ns_t until = now_ns() + UXEN_TTY_WAIT;
	char *path = NULL, e[1200];
	struct termios t;
	int rc, fd;

	/* xenconsoled writes the path to xenstore once it has seen the
	 * domain: wait for it (the domain is still paused) */
	for (;;) {
		xl_enter(x);
		rc = libxl_console_get_tty(x->ctx, vm->domid, 0,
					   LIBXL_CONSOLE_TYPE_PV, &path);
		xl_leave(x);
		if (!rc && path && path[0])
			break;
		free(path);
		path = NULL;
		if (now_ns() > until ||
		    __atomic_load_n(&vm->stop, __ATOMIC_ACQUIRE)) {
			snprintf(err, errlen,
				 "no console pty for domain %u after %lld s "
				 "(is xenconsoled running?): "
				 "libxl_console_get_tty: %s",
				 vm->domid, (long long)(UXEN_TTY_WAIT / UKF_S),
				 rc ? xl_error(e, sizeof(e), rc)
				    : "empty path");
			return -1;
		}
		usleep(20000);
	}
	fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "console pty %s: %s", path,
			 strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
	return fd;
}

/* ---------------- the domain ---------------- */

static int domain_create(struct uxen_vm *vm, char *err, size_t errlen)
{
	struct uxen *x = vm->x;
	libxl_domain_config dc;
	char e[1200];
	int rc;

	libxl_domain_config_init(&dc);
	dc.c_info.type = LIBXL_DOMAIN_TYPE_PV;
	dc.c_info.name = strdup(vm->name);
	libxl_domain_build_info_init_type(&dc.b_info, LIBXL_DOMAIN_TYPE_PV);
	dc.b_info.max_vcpus = (int)vm->vcpus;
	xl_enter(x);
	rc = libxl_cpu_bitmap_alloc(x->ctx, &dc.b_info.avail_vcpus,
				    (int)vm->vcpus);
	xl_leave(x);
	if (rc) {
		snprintf(err, errlen, "vCPU bitmap of %u: %s", vm->vcpus,
			 xl_error(e, sizeof(e), rc));
		libxl_domain_config_dispose(&dc);
		return -1;
	}
	for (uint32_t i = 0; i < vm->vcpus; i++)
		libxl_bitmap_set(&dc.b_info.avail_vcpus, (int)i);
	dc.b_info.max_memkb = vm->mem / 1024;
	dc.b_info.target_memkb = vm->mem / 1024;
	dc.b_info.kernel = strdup(vm->image);
	dc.b_info.cmdline = strdup(vm->args);
	dc.on_poweroff = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
	dc.on_crash = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
	dc.on_reboot = LIBXL_ACTION_ON_SHUTDOWN_PRESERVE;
	if (!dc.c_info.name || !dc.b_info.kernel || !dc.b_info.cmdline) {
		snprintf(err, errlen, "out of memory");
		libxl_domain_config_dispose(&dc);
		return -1;
	}
	xl_reset();
	if (vm->clone_of[0] && x->direct) {
		/* a template's clone, or a fork's child from its parent's
		 * save file (local or from another node), built directly
		 * (uxen_direct.h) */
		struct uxd_clone_req req = {.tpl_path = vm->clone_of,
					    .name = vm->name,
					    .mem = vm->mem,
					    .vcpus = vm->vcpus,
					    .once = vm->fork_at != 0,
					    .img = vm->fork_img};
		struct uxd_clone_times tm;

		libxl_domain_config_dispose(&dc);
		rc = uxd_clone(x->direct, &req, &vm->domid, &tm, err, errlen);
		uxd_image_free(vm->fork_img);
		vm->fork_img = NULL;
		if (rc) {
			char why[1000];
			snprintf(why, sizeof(why), "%.900s", err);
			snprintf(err, errlen,
				 "direct %s (PV, %llu MiB, %s %s): %s",
				 vm->fork_at ? "fork child" : "clone",
				 (unsigned long long)(vm->mem >> 20),
				 !vm->fork_at	 ? "template"
				 : req.img ? "the parent's"
					   : "the parent's save file",
				 vm->clone_of, why);
			return -1;
		}
		vm->has_domain = 1;
		vm->direct = 1;
		if (x->times)
			fprintf(stderr,
				"xen: direct %s %llu (domain %u): %.1f ms "
				"(parse %.1f, create %.1f, populate %.1f, "
				"copy %.1f, context %.1f, xenstore %.1f) "
				"[EMULATED]\n",
				vm->fork_at ? "fork child" : "clone",
				(unsigned long long)vm->inst, vm->domid,
				(double)tm.total / UKF_MS,
				(double)tm.parse / UKF_MS,
				(double)tm.create / UKF_MS,
				(double)tm.populate / UKF_MS,
				(double)tm.copy / UKF_MS,
				(double)tm.context / UKF_MS,
				(double)tm.store / UKF_MS);
		return 0;
	}
	if (vm->clone_of[0]) {
		libxl_domain_restore_params params;
		int fd = open(vm->clone_of, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			snprintf(err, errlen, "template file %s: %s",
				 vm->clone_of, strerror(errno));
			libxl_domain_config_dispose(&dc);
			return -1;
		}
		/* libxl 4.17 calls a NULL pointer when the stream's header
		 * is wrong (stream_header_done's "Invalid ident"): a file
		 * that is not a save stream would kill the process and
		 * leave a half-made domain, so its header (ident, version 2
		 * big-endian) is checked here first */
		unsigned char hdr[12];
		if (pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
		    memcmp(hdr, "LibxlFmt\0\0\0\2", sizeof(hdr))) {
			snprintf(err, errlen,
				 "template file %s is not a libxl save stream "
				 "(no \"LibxlFmt\" version 2 header)",
				 vm->clone_of);
			close(fd);
			libxl_domain_config_dispose(&dc);
			return -1;
		}
		libxl_domain_restore_params_init(&params);
		params.checkpointed_stream = LIBXL_CHECKPOINTED_STREAM_NONE;
		params.stream_version = 2;
		xl_enter(x);
		rc = libxl_domain_create_restore(x->ctx, &dc, &vm->domid, fd,
						 -1, &params, NULL, NULL);
		xl_leave(x);
		libxl_domain_restore_params_dispose(&params);
		close(fd);
		libxl_domain_config_dispose(&dc);
		if (rc) {
			snprintf(err, errlen,
				 "libxl_domain_create_restore (PV, %llu MiB, "
				 "template %s): %s",
				 (unsigned long long)(vm->mem >> 20),
				 vm->clone_of, xl_error(e, sizeof(e), rc));
			return -1;
		}
		vm->has_domain = 1;
		return 0;
	}
	xl_enter(x);
	rc = libxl_domain_create_new(x->ctx, &dc, &vm->domid, NULL, NULL);
	xl_leave(x);
	libxl_domain_config_dispose(&dc);
	if (rc) {
		snprintf(err, errlen,
			 "libxl_domain_create_new (PV, %llu MiB, %u vCPUs, "
			 "kernel %s): %s",
			 (unsigned long long)(vm->mem >> 20), vm->vcpus,
			 vm->image, xl_error(e, sizeof(e), rc));
		return -1;
	}
	vm->has_domain = 1;
	return 0;
}

/*
 * KEY under the domain's home, read through the backend's xenstore
 * connection: a malloc'd string (*len bytes, NUL-terminated) or NULL
 * (errno: not there, or xenstore refused).
 */
static char *store_get(struct uxen_vm *vm, const char *key, unsigned *len)
{
	struct uxen *x = vm->x;
	char path[128], *v;
	int e;

	snprintf(path, sizeof(path), "/local/domain/%u/%s", vm->domid, key);
	pthread_mutex_lock(&x->xs_lock);
	v = xs_read(x->xsh, XBT_NULL, path, len);
	e = errno;
	pthread_mutex_unlock(&x->xs_lock);
	errno = e;
	return v;
}

/* A number the guest wrote under its home in xenstore; -1 if none. */
static int store_num(struct uxen_vm *vm, const char *key, int64_t *val)
{
	char *v, *end;
	unsigned int len = 0;
	int rc = -1;

	v = store_get(vm, key, &len);
	if (v && len) {
		long long s = strtoll(v, &end, 10);
		if (end != v && !*end) {
			*val = s;
			rc = 0;
		}
	}
	free(v);
	return rc;
}

/* Write KEY=VAL under the domain's home; 0 or -1 (errno). */
static int store_put(struct uxen_vm *vm, const char *key, const char *val)
{
	struct uxen *x = vm->x;
	char path[128];
	int ok, e;

	snprintf(path, sizeof(path), "/local/domain/%u/%s", vm->domid, key);
	pthread_mutex_lock(&x->xs_lock);
	ok = xs_write(x->xsh, XBT_NULL, path, val, (unsigned)strlen(val));
	e = errno;
	pthread_mutex_unlock(&x->xs_lock);
	errno = e;
	return ok ? 0 : -1;
}

/* ---------------- calls (uxen_abi.h) ---------------- */

/*
 * backends/vmm sees a call in vm->snap, the copy of the call page taken
 * when the call came: its "guest addresses" are offsets into that copy
 * (the struct at UXEN_ARG_GPA, data from UXEN_CALL_HDR), so a pointer the
 * guest put outside the page is refused like one outside a KVM guest's
 * memory.
 */
#define UXEN_ARG_GPA offsetof(struct uxen_call_page, arg)

static void *uxen_translate(void *be, ukf_gpa_t gpa, uint64_t len, int write)
{
	struct uxen_vm *vm = be;

	(void)write;
	if (len == 0)
		len = 1;
	if (gpa < UXEN_ARG_GPA || gpa > UXEN_CALL_BYTES ||
	    len > UXEN_CALL_BYTES - gpa)
		return NULL;
	return (uint8_t *)&vm->snap + gpa;
}

static void uxen_vmm_emit(void *be, struct ukf_be_event *ev)
{
	struct uxen_vm *vm = be;

	ev->inst = vm->inst;
	emit(vm->x, ev);
}

/* Guest time 0 as our clock: from the guest's clock at its call. */
static void uxen_ident(void *be, struct ukf_vmm_ident *id)
{
	struct uxen_vm *vm = be;

	id->inst = vm->inst;
	id->parent = 0;
	id->node = vm->x->cfg.node;
	id->boot_ns = vm->boot_est;
	id->args = vm->args;
}

static const struct ukf_vmm_ops uxen_vmm_ops = {
    .translate = uxen_translate,
    .emit = uxen_vmm_emit,
    .ident = uxen_ident,
    .dirty_pages = NULL,
};

/*
 * Serve the guest's calls: data/ukf-calls tells it so; its watcher then
 * looks for data/ukf-chan at each poll (chan_open) until the guest opened
 * its channel. Before unpausing. (No xenstore watch: a watch starts a
 * libxenstore reader thread per connection, which closing the connection
 * cancels - pthread_cancel - on a small stack.)
 */
static int chan_offer(struct uxen_vm *vm, char *err, size_t errlen)
{
	if (store_put(vm, UXEN_CALLS_KEY, "1") < 0) {
		snprintf(err, errlen, "xenstore write of %s for domain %u: %s",
			 UXEN_CALLS_KEY, vm->domid, strerror(errno));
		return -1;
	}
	vm->calls = 1;
	return 0;
}

static void chan_close(struct uxen_vm *vm)
{
	pthread_mutex_lock(&vm->x->lock);
	if (vm->call)
		xenforeignmemory_unmap(vm->x->fmem, vm->call, UXEN_CALL_PAGES);
	vm->call = NULL;
	pthread_mutex_unlock(&vm->x->lock);
	if (vm->xce) {
		if (vm->call_port)
			xenevtchn_unbind(vm->xce, vm->call_port);
		uxen_handle_enter();
		xenevtchn_close(vm->xce);
		uxen_handle_leave();
	}
	vm->xce = NULL;
	vm->call_port = 0;
	vm->calls = 0;
}

/*
 * The answer now in vm->snap's struct (and, for recv, its data) into the
 * mapped page, and the guest woken (x->lock held).
 */
static void publish_locked(struct uxen_vm *vm)
{
	struct uxen_call_page *c = vm->call;
	int64_t ret;

	memcpy(&ret, vm->snap.arg, sizeof(ret));
	if (vm->x->trace)
		fprintf(stderr, "xen: %llu answer %s (req %u) = %lld\n",
			(unsigned long long)vm->inst,
			ukf_vmm_call_name(vm->call_nr), vm->call_seen,
			(long long)ret);
	if (vm->call_nr == UKF_HC_WAIT) {
		struct ukf_hc_wait w;
		memcpy(&w, vm->snap.arg, sizeof(w));
		c->status = w.status;
	}
	if (vm->call_nr == UKF_HC_RECV && ret >= 0) {
		struct ukf_hc_recv r;
		const void *p;
		memcpy(&r, vm->snap.arg, sizeof(r));
		p = uxen_translate(vm, r.buf, (uint64_t)ret, 0);
		if (ret && p)
			memcpy(c->data, p, (size_t)ret);
		c->src = r.src;
	}
	c->ret = ret;
	__atomic_store_n(&c->ans, vm->call_seen, __ATOMIC_RELEASE);
	if (vm->xce && vm->call_port)
		xenevtchn_notify(vm->xce, vm->call_port);
}

/* complete()'s answer to the call the guest waits in (x->lock held). */
static void answer_locked(struct uxen_vm *vm, int64_t ret, int64_t status,
			  ukf_id_t src, const void *data, size_t len)
{
	ukf_vmm_complete(&vm->vmm, vm->call_nr, UXEN_ARG_GPA, ret, status, src,
			 data, len);
	publish_locked(vm);
}

/*
 * The guest published its channel (data/ukf-chan "PORT MFN0 MFN1 MFN2"):
 * map the page, bind the port. 0 (or nothing published yet), -1 with the
 * reason (the guest then fails: it broke the protocol).
 */
static int chan_open(struct uxen_vm *vm, char *err, size_t errlen)
{
	struct uxen *x = vm->x;
	char *v;
	unsigned int len = 0, port;
	unsigned long long mfn[UXEN_CALL_PAGES];
	xen_pfn_t arr[UXEN_CALL_PAGES];
	int errs[UXEN_CALL_PAGES], n, end = 0;
	void *page;
	xenevtchn_port_or_error_t lp;

	if (vm->call)
		return 0;
	v = store_get(vm, UXEN_CHAN_KEY, &len);
	if (!v)
		return 0;
	n = sscanf(v, "%u %llu %llu %llu%n", &port, &mfn[0], &mfn[1], &mfn[2],
		   &end);
	if (n != 4 || (size_t)end != strlen(v)) {
		snprintf(err, errlen,
			 "call channel: %s is '%.60s', not 'PORT MFN MFN MFN'",
			 UXEN_CHAN_KEY, v);
		free(v);
		return -1;
	}
	free(v);
	for (int i = 0; i < UXEN_CALL_PAGES; i++)
		arr[i] = (xen_pfn_t)mfn[i];
	if (!vm->xce) {
		uxen_handle_enter();
		vm->xce = xenevtchn_open(NULL, 0);
		uxen_handle_leave();
	}
	if (!vm->xce) {
		snprintf(err, errlen, "call channel: cannot open xenevtchn: %s",
			 strerror(errno));
		return -1;
	}
	page = xenforeignmemory_map(x->fmem, vm->domid,
				    PROT_READ | PROT_WRITE, UXEN_CALL_PAGES,
				    arr, errs);
	for (int i = 0; page && i < UXEN_CALL_PAGES; i++)
		if (errs[i]) {
			snprintf(err, errlen,
				 "call channel: frame %llu of the call page is "
				 "not domain %u's: %s",
				 mfn[i], vm->domid, strerror(-errs[i]));
			xenforeignmemory_unmap(x->fmem, page, UXEN_CALL_PAGES);
			return -1;
		}
	if (!page) {
		snprintf(err, errlen,
			 "call channel: mapping frames %llu %llu %llu of "
			 "domain %u: %s",
			 mfn[0], mfn[1], mfn[2], vm->domid, strerror(errno));
		return -1;
	}
	if (((struct uxen_call_page *)page)->magic != UXEN_CALL_MAGIC) {
		snprintf(err, errlen,
			 "call channel: frames %llu %llu %llu hold no call page "
			 "(bad magic)",
			 mfn[0], mfn[1], mfn[2]);
		xenforeignmemory_unmap(x->fmem, page, UXEN_CALL_PAGES);
		return -1;
	}
	lp = xenevtchn_bind_interdomain(vm->xce, vm->domid, port);
	if (lp < 0) {
		snprintf(err, errlen,
			 "call channel: binding port %u of domain %u: %s", port,
			 vm->domid, strerror(errno));
		xenforeignmemory_unmap(x->fmem, page, UXEN_CALL_PAGES);
		return -1;
	}
	pthread_mutex_lock(&x->lock);
	vm->call = page;
	vm->call_port = (evtchn_port_t)lp;
	if (vm->in_call && vm->call_nr == UKF_HC_FORK) {
		/* a fork's child: the pending call is its copy of the
		 * parent's fork; its answer is complete()'s */
		vm->call_seen = vm->call->req;
		if (vm->has_answer) {
			answer_locked(vm, vm->a_ret, vm->a_status, vm->a_src,
				      NULL, 0);
			vm->in_call = vm->has_answer = 0;
		}
	}
	pthread_mutex_unlock(&x->lock);
	return 0;
}

/* The calls a guest carries here; the others it does itself. */
static int carried(uint32_t nr)
{
	return nr == UKF_HC_BLOCK || nr >= UKF_HC_FORK;
}

/*
 * A new call on the page (req moved on): a copy of the page (vm->snap) goes
 * through backends/vmm's dispatch, which checks it as it checks a KVM
 * guest's (the struct's pointers are offsets into the copy: translate)
 * and answers it at once or makes the event to report (the guest then
 * waits until complete()). 0, or -1 when the guest broke the rules
 * (reason in why: it fails).
 */
static int call_take(struct uxen_vm *vm, char *why, size_t whylen)
{
	static __thread struct ukf_vmm_call c;
	struct uxen *x = vm->x;
	enum ukf_vmm_outcome out = UKF_VMM_RESUME;
	ukf_ns_t now = now_ns();
	uint32_t req;
	int64_t ret = -UKF_ENOSYS;

	pthread_mutex_lock(&x->lock);
	if (!vm->call || vm->in_call) {
		pthread_mutex_unlock(&x->lock);
		return 0;
	}
	req = __atomic_load_n(&vm->call->req, __ATOMIC_ACQUIRE);
	if (req == vm->call->ans || req == vm->call_seen) {
		pthread_mutex_unlock(&x->lock);
		return 0;
	}
	/* the guest waits; one that does not cannot fool checks on a copy */
	memcpy(&vm->snap, vm->call, sizeof(vm->snap));
	vm->call_seen = req;
	vm->call_nr = vm->snap.nr;
	vm->boot_est = vm->snap.guest_now < (uint64_t)now
			   ? now - (ukf_ns_t)vm->snap.guest_now
			   : 0;
	if (carried(vm->call_nr)) {
		out = ukf_vmm_dispatch(&vm->vmm, vm->call_nr, UXEN_ARG_GPA, &c);
		memcpy(&ret, vm->snap.arg, sizeof(ret));
	} else {
		memcpy(vm->snap.arg, &ret, sizeof(ret));
	}
	if (x->trace)
		fprintf(stderr,
			"xen: %llu call %s (req %u): %s [page %p magic %llx "
			"ans %u nr %u susp %u now %llu arg0 %llx]\n",
			(unsigned long long)vm->inst,
			ukf_vmm_call_name(vm->call_nr), req,
			out == UKF_VMM_PAUSE ? "to the engine" : "answered",
			(void *)vm->call, (unsigned long long)vm->snap.magic,
			vm->snap.ans, vm->snap.nr, vm->snap.suspend,
			(unsigned long long)vm->snap.guest_now,
			(unsigned long long)vm->snap.arg[0]);
	if (out == UKF_VMM_RESUME)
		publish_locked(vm);
	else if (out == UKF_VMM_PAUSE)
		vm->in_call = 1;
	pthread_mutex_unlock(&x->lock);
	if (out == UKF_VMM_PAUSE) {
		c.ev.inst = vm->inst;
		emit(x, &c.ev);
	} else if (out != UKF_VMM_RESUME) {
		snprintf(why, whylen, "%s",
			 out == UKF_VMM_FAIL ? c.reason
					     : "a call the call page cannot carry");
		return -1;
	}
	return 0;
}

/*
 * Before the domain runs: a held ready (the guest waits at ready until
 * data/ukf-go), and for a clone its id and arguments.
 */
static int vm_prepare(struct uxen_vm *vm, char *err, size_t errlen)
{
	char num[32];

	/* every domain learns its instance id (a cold boot at start, a clone
	 * when it wakes); a clone also its own arguments */
	snprintf(num, sizeof(num), "%llu", (unsigned long long)vm->inst);
	if (store_put(vm, UXEN_ID_KEY, num) < 0 ||
	    (vm->clone_of[0] && store_put(vm, UXEN_ARGS_KEY, vm->args) < 0))
		goto fail;
	if (vm->hold && store_put(vm, UXEN_HOLD_KEY, "1") < 0)
		goto fail;
	if (chan_offer(vm, err, errlen) < 0)
		return -1;
	return 0;
fail:
	snprintf(err, errlen, "xenstore write under /local/domain/%u: %s",
		 vm->domid, strerror(errno));
	return -1;
}

/*
 * After a shutdown: the rest of the console. The guest put its byte count
 * in xenstore (data/ukf-console) before shutting down, and xenconsoled
 * serves a shut-down domain's ring until it is destroyed, but may pass the
 * last bytes on late (seconds under load): read until that many bytes came
 * (at most UXEN_TAIL_WAIT); with no count (a fault), until the pty has
 * been quiet for UXEN_TAIL_QUIET.
 */
static void con_tail(struct uxen_vm *vm, int fd)
{
	ukf_ns_t until = now_ns() + UXEN_TAIL_WAIT, quiet_at;
	int64_t want = -1;
	uint64_t had;

	store_num(vm, UXEN_CONSOLE_KEY, &want);
	quiet_at = now_ns() + UXEN_TAIL_QUIET;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		had = vm->con_total;
		if (con_read(vm, fd) < 0)
			break;
		if (want >= 0 && vm->con_total >= (uint64_t)want)
			break;
		if (vm->con_total != had)
			quiet_at = now_ns() + UXEN_TAIL_QUIET;
		else if (want < 0 && now_ns() > quiet_at)
			break;
		if (now_ns() > until ||
		    __atomic_load_n(&vm->stop, __ATOMIC_ACQUIRE))
			break;
		poll(&p, 1, UXEN_POLL_MS);
	}
	if (vm->con_len)
		con_line(vm);
}

static void domain_destroy(struct uxen_vm *vm)
{
	char e[1200];
	int rc;

	if (!vm->has_domain)
		return;
	xl_reset();
	xl_enter(vm->x);
	rc = libxl_domain_destroy(vm->x->ctx, vm->domid, NULL);
	xl_leave(vm->x);
	if (rc && rc != ERROR_DOMAIN_NOTFOUND && vm->x->lg.debug)
		fprintf(stderr, "xen: destroying domain %u (%s): %s\n",
			vm->domid, vm->name, xl_error(e, sizeof(e), rc));
	vm->has_domain = 0;
}

/* After a crash: "abort: MSG" when the guest's last line was its
 * ukf_abort message (guest/rt/xen.c), as the KVM monitor reports it. */
static void report_crash(struct uxen_vm *vm)
{
	static const char pre[] = "ukf_abort: ";

	if (!strncmp(vm->last_line, pre, sizeof(pre) - 1))
		fail_inst(vm->x, vm->inst, "abort: %s",
			  vm->last_line + sizeof(pre) - 1);
	else
		fail_inst(vm->x, vm->inst,
			  "domain %u crashed (a fault in the guest: Xen "
			  "shut it down with reason crash)",
			  vm->domid);
}

/*
 * The parent pa's call page flag that makes the guest, in its fork call,
 * answer a suspend request (on: set and the guest woken; off: withdrawn).
 */
static void suspend_flag(struct uxen *x, struct uxen_vm *pa, int on)
{
	pthread_mutex_lock(&x->lock);
	if (pa->call) {
		__atomic_store_n(&pa->call->suspend, on, __ATOMIC_RELEASE);
		if (on)
			xenevtchn_notify(pa->xce, pa->call_port);
	}
	pthread_mutex_unlock(&x->lock);
}

/*
 * The parent pa, whose state was just taken (saved by libxl or read by
 * uxd_snapshot), let go on in its fork call (libxl's resume of a
 * cancelled suspend); one that cannot be resumed fails with libxl's
 * reason, `what` naming what was taken ("fork was read", "remote fork was
 * saved"). 0 or libxl's error code.
 */
static int resume_parent(struct uxen *x, struct uxen_vm *pa, const char *what)
{
	char e[1200];
	int rc;

	xl_reset();
	xl_enter(x);
	rc = libxl_domain_resume(x->ctx, pa->domid, 1, NULL);
	xl_leave(x);
	if (rc)
		fail_inst(x, pa->inst,
			  "xen: domain %u: libxl_domain_resume after its %s: %s",
			  pa->domid, what, xl_error(e, sizeof(e), rc));
	return rc;
}

/*
 * The held parent pa (in its fork call) saved by libxl to fd and resumed
 * (libxl's checkpoint: the guest answers the suspend through its call
 * page's flag); the hold ends either way. *saved_ns (may be NULL): how
 * long the save took. 0, or -EIO with libxl's reason in err (the parent
 * resumed; one that cannot be resumed fails with the reason, `what`
 * naming the save: "fork", "remote fork").
 */
static int parent_checkpoint(struct uxen *x, struct uxen_vm *pa, int fd,
			     const char *what, ukf_ns_t *saved_ns, char *err,
			     size_t errlen)
{
	char e[1200];
	ukf_ns_t t0 = now_ns();
	int rc;

	suspend_flag(x, pa, 1);
	xl_reset();
	xl_enter(x);
	rc = libxl_domain_suspend(x->ctx, pa->domid, fd, 0, NULL);
	xl_leave(x);
	if (rc) {
		snprintf(err, errlen,
			 "libxl_domain_suspend of the parent, domain %u: %s",
			 pa->domid, xl_error(e, sizeof(e), rc));
		suspend_flag(x, pa, 0);
		xl_enter(x);
		libxl_domain_resume(x->ctx, pa->domid, 1, NULL);
		xl_leave(x);
		__atomic_store_n(&pa->suspending, 0, __ATOMIC_RELEASE);
		return -EIO;
	}
	if (saved_ns)
		*saved_ns = now_ns() - t0;
	snprintf(e, sizeof(e), "%s was saved", what);
	resume_parent(x, pa, e);
	__atomic_store_n(&pa->suspending, 0, __ATOMIC_RELEASE);
	return 0;
}

/*
 * A fork's first half through a save file (UKF_XEN_FORK=stream or
 * UKF_XEN_CLONE=libxl), in the child's thread: the parent, paused in its
 * fork call, is asked (call page's suspend flag + its channel) to answer
 * libxl's suspend; libxl saves it to a file and resumes it (a cancelled
 * suspend: the parent goes on waiting for its answer). The child's domain
 * is then built from that file (domain_create with clone_of: the direct
 * builder parses it, or libxl restores it).
 */
static int fork_save(struct uxen_vm *vm, char *err, size_t errlen)
{
	struct uxen *x = vm->x;
	struct uxen_vm *pa = vm->fork_parent;
	ukf_ns_t saved_ns = 0;
	int fd, rc;

	snprintf(vm->clone_of, sizeof(vm->clone_of), "%s/ukf-xen-fork-%d-%llu",
		 x->tpl_dir, (int)getpid(), (unsigned long long)vm->inst);
	fd = open(vm->clone_of, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", vm->clone_of, strerror(errno));
		__atomic_store_n(&pa->suspending, 0, __ATOMIC_RELEASE);
		goto fail;
	}
	rc = parent_checkpoint(x, pa, fd, "fork", &saved_ns, err, errlen);
	if (close(fd) < 0 && !rc) {
		snprintf(err, errlen, "closing %s: %s", vm->clone_of,
			 strerror(errno));
		rc = -EIO;
	}
	if (!rc && x->fork_cut >= 0 && truncate(vm->clone_of, x->fork_cut)) {
		snprintf(err, errlen, "cutting %s (UKF_XEN_TEST_FORK_CUT): %s",
			 vm->clone_of, strerror(errno));
		rc = -EIO;
	}
	if (rc) {
		unlink(vm->clone_of);
		goto fail;
	}
	if (x->times)
		fprintf(stderr,
			"xen: fork of %llu (domain %u): saved in %.1f ms "
			"[EMULATED]\n",
			(unsigned long long)pa->inst, pa->domid,
			(double)saved_ns / UKF_MS);
	vm->fork_parent = NULL;
	return 0;
fail:
	vm->clone_of[0] = '\0';
	vm->fork_parent = NULL;
	return -1;
}

/*
 * A fork's first half with the direct builder (the default): the parent,
 * paused in its fork call, is asked to suspend (call page's flag and
 * control/shutdown "suspend", which it answers as for libxl's save); once
 * it is shut down in its suspend its memory and state are read into an
 * image (uxd_snapshot: no save helper, no stream, no file) and it is
 * resumed (a cancelled suspend: it goes on waiting for its answer). The
 * child's domain is then built from the image (domain_create).
 */
static int fork_snap(struct uxen_vm *vm, char *err, size_t errlen)
{
	struct uxen *x = vm->x;
	struct uxen_vm *pa = vm->fork_parent;
	ukf_ns_t t0 = now_ns(), t1 = 0, t2 = 0;
	char e[1200];
	int rc;

	suspend_flag(x, pa, 1);
	if (store_put(pa, "control/shutdown", "suspend") < 0) {
		snprintf(err, errlen,
			 "asking the parent, domain %u, to suspend "
			 "(control/shutdown): %s",
			 pa->domid, strerror(errno));
		rc = -EIO;
	} else {
		rc = uxd_wait_suspended(x->direct, pa->domid,
					UXEN_SUSPEND_WAIT_MS, err, errlen);
	}
	if (rc) {
		/* no suspend came: the request withdrawn, the parent goes on
		 * waiting (one that suspended after all is resumed) */
		store_put(pa, "control/shutdown", "");
		suspend_flag(x, pa, 0);
		if (uxd_wait_suspended(x->direct, pa->domid, 0, e,
				       sizeof(e)) == 0) {
			xl_enter(x);
			libxl_domain_resume(x->ctx, pa->domid, 1, NULL);
			xl_leave(x);
		}
		goto out;
	}
	t1 = now_ns();
	rc = uxd_snapshot(x->direct, pa->domid, &vm->fork_img, err, errlen);
	t2 = now_ns();
	resume_parent(x, pa, "fork was read");
out:
	__atomic_store_n(&pa->suspending, 0, __ATOMIC_RELEASE);
	if (!rc && x->times)
		fprintf(stderr,
			"xen: fork of %llu (domain %u): saved in %.1f ms "
			"(suspend %.1f, snapshot %.1f, resume %.1f) "
			"[EMULATED]\n",
			(unsigned long long)pa->inst, pa->domid,
			(double)(now_ns() - t0) / UKF_MS,
			(double)(t1 - t0) / UKF_MS, (double)(t2 - t1) / UKF_MS,
			(double)(now_ns() - t2) / UKF_MS);
	if (!rc)
		snprintf(vm->clone_of, sizeof(vm->clone_of),
			 "snapshot of domain %u", pa->domid);
	else
		vm->clone_of[0] = '\0';
	vm->fork_parent = NULL;
	return rc ? -1 : 0;
}

static int remote_prep(struct uxen_vm *vm, char *err, size_t errlen);

/* What the domain's watcher thread does, from creation to destruction. */
static void *vm_main(void *arg)
{
	struct uxen_vm *vm = arg;
	struct uxen *x = vm->x;
	char err[2400], e[1200];
	ukf_ns_t started;
	int fd = -1, rc;

	if (vm->prep && remote_prep(vm, err, sizeof(err)) < 0)
		return NULL;
	if (vm->fork_parent &&
	    (x->direct && x->fork_snapshot ? fork_snap(vm, err, sizeof(err))
					   : fork_save(vm, err, sizeof(err))) <
		0) {
		if (x->times || x->trace)
			fprintf(stderr, "xen: fork child %llu failed: %s\n",
				(unsigned long long)vm->inst, err);
		fail_inst(x, vm->inst, "xen: fork: %s", err);
		return NULL;
	}
	rc = domain_create(vm, err, sizeof(err));
	uxd_image_free(vm->fork_img); /* consumed, or not reached */
	vm->fork_img = NULL;
	if (vm->fork_at) {
		if (vm->clone_of[0] == '/')
			unlink(vm->clone_of); /* restored (or not) */
		if (x->times)
			fprintf(stderr,
				"xen: fork child %llu restored in %.1f ms "
				"[EMULATED]\n",
				(unsigned long long)vm->inst,
				(double)(now_ns() - vm->fork_at) / UKF_MS);
	}
	if (rc < 0) {
		fail_inst(x, vm->inst, "xen: cannot create domain %s: %s",
			  vm->name, err);
		return NULL;
	}
	if (vm_prepare(vm, err, sizeof(err)) < 0) {
		fail_inst(x, vm->inst, "xen: domain %s: %s", vm->name, err);
		goto out;
	}
	/* a direct clone's console: its ring read by uxen_direct.c, not
	 * xenconsoled's pty */
	fd = vm->direct
		 ? uxd_console_open(x->direct, vm->domid, err, sizeof(err))
		 : con_open(vm, err, sizeof(err));
	if (fd < 0) {
		/* destroyed while waiting: nobody is waiting for a reason */
		if (!__atomic_load_n(&vm->stop, __ATOMIC_ACQUIRE))
			fail_inst(x, vm->inst, "xen: domain %s: %s", vm->name,
				  err);
		goto out;
	}
	xl_reset();
	xl_enter(x);
	rc = libxl_domain_unpause(x->ctx, vm->domid, NULL);
	xl_leave(x);
	if (rc) {
		fail_inst(x, vm->inst, "xen: libxl_domain_unpause(%u): %s",
			  vm->domid, xl_error(e, sizeof(e), rc));
		goto out;
	}
	started = now_ns();
	simple_event(vm, UKF_BE_STARTED, 0);

	if (x->times && vm->fork_at)
		fprintf(stderr,
			"xen: fork child %llu (domain %u) running %.1f ms "
			"after clone_live [EMULATED]\n",
			(unsigned long long)vm->inst, vm->domid,
			(double)(now_ns() - vm->fork_at) / UKF_MS);

	while (!__atomic_load_n(&vm->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}};
		int np = 1, ev_at = -1;
		libxl_dominfo info;
		int64_t status;
		int susp;

		if (vm->xce && vm->call) {
			ev_at = np;
			p[np++] = (struct pollfd){.fd = xenevtchn_fd(vm->xce),
						  .events = POLLIN};
		}
		if (poll(p, (nfds_t)np, UXEN_POLL_MS) > 0) {
			if (p[0].revents)
				con_read(vm, fd);
			if (ev_at > 0 && p[ev_at].revents) {
				xenevtchn_port_or_error_t pp =
				    xenevtchn_pending(vm->xce);
				if (pp >= 0)
					xenevtchn_unmask(vm->xce,
							 (evtchn_port_t)pp);
			}
		}
		if (!__atomic_load_n(&vm->suspending, __ATOMIC_ACQUIRE) &&
		    vm->calls &&
		    (chan_open(vm, err, sizeof(err)) < 0 ||
		     call_take(vm, err, sizeof(err)) < 0)) {
			fail_inst(x, vm->inst, "xen: domain %u: %s", vm->domid,
				  err);
			goto out;
		}
		/* read before the info: a suspend (fork, template) that ends
		 * between the two must not read as this domain's shutdown */
		susp = __atomic_load_n(&vm->suspending, __ATOMIC_ACQUIRE);
		libxl_dominfo_init(&info);
		xl_reset();
		xl_enter(x);
		rc = libxl_domain_info(x->ctx, &info, vm->domid);
		xl_leave(x);
		if (rc) {
			libxl_dominfo_dispose(&info);
			fail_inst(x, vm->inst,
				  "xen: domain %u is gone (destroyed outside "
				  "ukfork?): libxl_domain_info: %s",
				  vm->domid, xl_error(e, sizeof(e), rc));
			vm->has_domain = 0;
			goto out;
		}
		if ((susp || __atomic_load_n(&vm->suspending,
					     __ATOMIC_ACQUIRE)) &&
		    !info.dying) {
			/* make_template's suspend: not an end */
			libxl_dominfo_dispose(&info);
			continue;
		}
		if (info.dying && !info.shutdown) {
			/* killed without a shutdown: `xl destroy` */
			libxl_dominfo_dispose(&info);
			fail_inst(x, vm->inst,
				  "xen: domain %u is gone (destroyed outside "
				  "ukfork?): dying without a shutdown",
				  vm->domid);
			goto out;
		}
		if (info.shutdown || info.dying) {
			libxl_shutdown_reason why = info.shutdown_reason;
			libxl_dominfo_dispose(&info);
			con_tail(vm, fd);
			if (why == LIBXL_SHUTDOWN_REASON_POWEROFF) {
				/* no key: powered off, said nothing */
				if (store_num(vm, UXEN_EXIT_KEY, &status) < 0)
					status = 0;
				simple_event(vm, UKF_BE_EXIT, status);
			} else if (why == LIBXL_SHUTDOWN_REASON_CRASH) {
				report_crash(vm);
			} else {
				fail_inst(x, vm->inst,
					  "domain %u shut down with reason %s",
					  vm->domid,
					  libxl_shutdown_reason_to_string(why));
			}
			goto out;
		}
		libxl_dominfo_dispose(&info);
		if (vm->hold &&
		    !__atomic_load_n(&vm->ready, __ATOMIC_ACQUIRE) &&
		    store_num(vm, UXEN_READY_KEY, &status) == 0) {
			__atomic_store_n(&vm->ready, 1, __ATOMIC_RELEASE);
			simple_event(vm, UKF_BE_READY, 0);
		}
		if (x->cfg.run_limit_ns &&
		    now_ns() - started > x->cfg.run_limit_ns) {
			fail_inst(x, vm->inst,
				  "run limit: still running after %lld ms",
				  (long long)(x->cfg.run_limit_ns / UKF_MS));
			goto out;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	chan_close(vm);
	domain_destroy(vm);
	return NULL;
}

/* ---------------- images ---------------- */

/*
 * A Xen PV guest image: ELF64 x86-64 ET_EXEC whose PT_NOTE holds Xen's
 * LOADER and ENTRY notes (what guest/rt/xen_entry.S writes and libxc's
 * loader needs). The KVM images have only the PVH note: refused, saying so.
 */
static int image_check(const char *path, char *why, size_t len)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	struct stat st;
	int fd, loader = 0, entry = 0, pvh = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return 0;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, len, "%s: not a regular file", path);
		goto no;
	}
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
		snprintf(why, len, "%s: not an ELF file", path);
		goto no;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    eh.e_type != ET_EXEC || eh.e_phentsize != sizeof(ph)) {
		snprintf(why, len, "%s: not an x86-64 ELF64 executable", path);
		goto no;
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		char notes[4096];
		size_t n, off = 0;

		if (pread(fd, &ph, sizeof(ph),
			  (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph)) {
			snprintf(why, len, "%s: truncated program headers",
				 path);
			goto no;
		}
		if (ph.p_type != PT_NOTE)
			continue;
		n = ph.p_filesz < sizeof(notes) ? ph.p_filesz : sizeof(notes);
		if (pread(fd, notes, n, (off_t)ph.p_offset) != (ssize_t)n) {
			snprintf(why, len, "%s: truncated notes", path);
			goto no;
		}
		while (off + 12 <= n) {
			uint32_t nsz, dsz, type;
			memcpy(&nsz, notes + off, 4);
			memcpy(&dsz, notes + off + 4, 4);
			memcpy(&type, notes + off + 8, 4);
			size_t name_at = off + 12;
			if (nsz == 4 && name_at + 4 <= n &&
			    !memcmp(notes + name_at, "Xen", 4)) {
				loader |= type == XEN_ELFNOTE_LOADER;
				entry |= type == XEN_ELFNOTE_ENTRY;
				pvh |= type == XEN_ELFNOTE_PHYS32_ENTRY;
			}
			off = name_at + ((nsz + 3) & ~3u) + ((dsz + 3) & ~3u);
		}
	}
	close(fd);
	if (loader && entry)
		return 1;
	if (pvh)
		snprintf(why, len,
			 "%s: a PVH/KVM image, not a Xen PV image (the Xen "
			 "images are build/guest-xen/NAME)",
			 path);
	else
		snprintf(why, len, "%s: no Xen PV ELF notes (LOADER, ENTRY)",
			 path);
	return 0;
no:
	close(fd);
	return 0;
}

/* ---------------- backend operations ---------------- */

/* 1 if one more domain of mem bytes fits the backend's limits (max_vms,
 * max_mem_bytes), else 0 (x->lock held). */
static int vm_room_locked(const struct uxen *x, uint64_t mem)
{
	return !((x->cfg.max_vms && x->nvms >= x->cfg.max_vms) ||
		 (x->cfg.max_mem_bytes &&
		  x->mem_in_use + mem > x->cfg.max_mem_bytes));
}

/* vm, whose thread runs, counted among the backend's domains (x->lock
 * held). */
static void vm_add_locked(struct uxen *x, struct uxen_vm *vm)
{
	vm->next = x->vms;
	x->vms = vm;
	x->nvms++;
	x->mem_in_use += vm->mem;
}

static struct uxen_vm *vm_find_locked(struct uxen *x, ukf_id_t inst)
{
	for (struct uxen_vm *vm = x->vms; vm; vm = vm->next)
		if (vm->inst == inst)
			return vm;
	return NULL;
}

/* A boot (clone_of NULL) or a clone from the template file clone_of. */
static int vm_start(struct uxen *x, ukf_node_id_t node, ukf_id_t inst,
		    const struct ukf_app *app, const char *args,
		    const char *clone_of)
{
	const char *what = clone_of ? "clone" : "cold boot";
	struct uxen_vm *vm;
	char why[600];
	uint64_t mem;
	int rc;

	if (inst == 0)
		return -EINVAL;
	pthread_mutex_lock(&x->lock);
	vm = vm_find_locked(x, inst);
	pthread_mutex_unlock(&x->lock);
	if (vm)
		return -EEXIST;
	if (!app || !app->image[0]) {
		fail_inst(x, inst, "%s: the app has no guest image", what);
		return 0;
	}
	if (!image_check(app->image, why, sizeof(why))) {
		fail_inst(x, inst, "%s: %s", what, why);
		return 0;
	}
	mem = (app->mem_bytes + (1 << 20) - 1) & ~((uint64_t)(1 << 20) - 1);
	if (app->mem_bytes < UKF_MEM_MIN || mem > UXEN_MEM_MAX) {
		fail_inst(x, inst,
			  "%s: guest memory %llu bytes outside [%llu, "
			  "%llu] (a Xen PV guest maps at most 1 GiB)",
			  what, (unsigned long long)app->mem_bytes,
			  (unsigned long long)UKF_MEM_MIN,
			  (unsigned long long)UXEN_MEM_MAX);
		return 0;
	}
	if (args && strlen(args) >= UKF_ARGS_MAX) {
		fail_inst(x, inst, "%s: argument string longer than %d bytes",
			  what, UKF_ARGS_MAX - 1);
		return 0;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->x = x;
	vm->inst = inst;
	ukf_vmm_init(&vm->vmm, &uxen_vmm_ops, vm);
	vm->mem = mem;
	vm->vcpus = app->vcpus ? app->vcpus : 1;
	vm->hold = x->cfg.pause_on_ready;
	if (clone_of)
		snprintf(vm->clone_of, sizeof(vm->clone_of), "%s", clone_of);
	snprintf(vm->name, sizeof(vm->name), "ukf-%d-%u-%llu", (int)getpid(),
		 (unsigned)node, (unsigned long long)inst);
	snprintf(vm->image, sizeof(vm->image), "%s", app->image);
	snprintf(vm->args, sizeof(vm->args), "%s", args ? args : "");
	vm->meta.app = app->id;
	snprintf(vm->meta.app_name, sizeof(vm->meta.app_name), "%s", app->name);
	snprintf(vm->meta.image, sizeof(vm->meta.image), "%s", app->image);
	vm->meta.mem = mem;
	vm->meta.vcpus = vm->vcpus;

	pthread_mutex_lock(&x->lock);
	if (!vm_room_locked(x, mem)) {
		pthread_mutex_unlock(&x->lock);
		free(vm);
		return -ENOMEM;
	}
	rc = pthread_create(&vm->thr, NULL, vm_main, vm);
	if (rc) {
		pthread_mutex_unlock(&x->lock);
		free(vm);
		return -rc;
	}
	vm_add_locked(x, vm);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

static int op_cold_boot(void *b, ukf_node_id_t node, ukf_id_t inst,
			const struct ukf_app *app, const char *args)
{
	return vm_start(b, node, inst, app, args, NULL);
}

static void vm_release(struct uxen *x, struct uxen_vm *vm)
{
	__atomic_store_n(&vm->stop, 1, __ATOMIC_RELEASE);
	pthread_join(vm->thr, NULL);
	/* a template being saved still uses vm (its domain is gone now, so
	 * libxl's suspend ends soon) */
	while (__atomic_load_n(&vm->suspending, __ATOMIC_ACQUIRE))
		usleep(10000);
	free(vm);
}

static void op_destroy(void *b, ukf_node_id_t node, ukf_id_t inst)
{
	struct uxen *x = b;
	struct uxen_vm **pp, *vm = NULL;

	pthread_mutex_lock(&x->lock);
	for (pp = &x->vms; *pp; pp = &(*pp)->next)
		if ((*pp)->inst == inst) {
			vm = *pp;
			*pp = vm->next;
			x->nvms--;
			x->mem_in_use -= vm->mem;
			break;
		}
	pthread_mutex_unlock(&x->lock);
	if (vm)
		vm_release(x, vm);
}

/*
 * A call the guest is paused in (in_call): the answer goes into its call
 * page (a fork child whose channel is not open yet gets it when it is).
 * Else the answer to a held ready goes to the guest as data/ukf-go (a
 * clone's guest returns 1 whatever it says: it knows it woke in a new
 * domain). Without a hold the guest did not wait at ready: nothing to do.
 */
static int op_complete(void *b, ukf_node_id_t node, ukf_id_t inst, int64_t ret,
		       int64_t status, ukf_id_t src, const void *data,
		       size_t len)
{
	struct uxen *x = b;
	struct uxen_vm *vm;
	char num[32];
	int rc = -ESRCH;

	pthread_mutex_lock(&x->lock);
	vm = vm_find_locked(x, inst);
	if (x->trace)
		fprintf(stderr, "xen: complete %llu ret %lld%s\n",
			(unsigned long long)inst, (long long)ret,
			!vm ? " (no such instance)"
			: vm->in_call ? (vm->call ? "" : " (kept: no channel yet)")
				      : " (not in a call)");
	if (vm && vm->in_call) {
		rc = 0;
		if (vm->call) {
			answer_locked(vm, ret, status, src, data, len);
			vm->in_call = 0;
		} else if (!vm->has_answer) {
			/* a fork child before its channel: only fork's
			 * answer (0) can come now */
			vm->has_answer = 1;
			vm->a_ret = ret;
			vm->a_status = status;
			vm->a_src = src;
		} else {
			rc = -ESRCH;
		}
	} else if (vm && __atomic_load_n(&vm->ready, __ATOMIC_ACQUIRE) &&
		   !__atomic_load_n(&vm->answered, __ATOMIC_ACQUIRE) &&
		   !vm->fork_at) {
		rc = 0;
		if (vm->hold) {
			snprintf(num, sizeof(num), "%lld", (long long)ret);
			rc = store_put(vm, UXEN_GO_KEY, num) < 0 ? -EIO : 0;
			__atomic_store_n(&vm->answered, rc == 0,
					 __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&x->lock);
	return rc;
}

/* The node's template file of app: TPL_DIR/ukf-xen-nNODE-aAPP.tpl. */
static void tpl_path(struct uxen *x, uint32_t app, char *buf, size_t len)
{
	snprintf(buf, len, "%s/ukf-xen-n%u-a%u.tpl", x->tpl_dir,
		 (unsigned)x->cfg.node, (unsigned)app);
}

static struct uxen_tpl *tpl_find_locked(struct uxen *x, uint32_t app)
{
	for (struct uxen_tpl *t = x->tpls; t; t = t->next)
		if (t->app == app)
			return t;
	return NULL;
}

struct tpl_job {
	struct uxen *x;
	struct uxen_vm *vm;
	uint32_t app;
};

static void tpl_error(struct uxen *x, uint32_t app, int err, const char *fmt,
		      ...) __attribute__((format(printf, 4, 5)));
static void tpl_error(struct uxen *x, uint32_t app, int err, const char *fmt,
		      ...)
{
	struct ukf_be_event ev;
	va_list ap;

	memset(&ev, 0, sizeof(ev));
	ev.kind = UKF_BE_ERROR;
	ev.app = app;
	ev.status = -err;
	va_start(ap, fmt);
	emit_vtext(x, &ev, fmt, ap);
	va_end(ap);
}

/*
 * The template job on vm is over (saved or failed, the domain resumed):
 * vm may be templated, forked or saved again. Before the job's event, so
 * that an engine acting on the event at once is not refused -EBUSY.
 */
static void tpl_done(struct uxen_vm *vm)
{
	__atomic_store_n(&vm->suspending, 0, __ATOMIC_RELEASE);
}

/*
 * make_template's thread: the guest waits in ready; libxl suspends it
 * (control/shutdown "suspend", the guest's SHUTDOWN_suspend) and writes
 * its memory and state to the file, then resumes it in place (a cancelled
 * suspend: the guest goes on waiting for complete()).
 */
static void *tpl_main(void *arg)
{
	struct tpl_job *j = arg;
	struct uxen *x = j->x;
	struct uxen_vm *vm = j->vm;
	struct uxen_tpl *t = NULL, *old;
	char path[UXEN_PATH_MAX], tmp[UXEN_PATH_MAX + 8], e[1200];
	struct ukf_be_event ev;
	struct stat st;
	int fd, rc;

	tpl_path(x, j->app, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.part", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		int err = errno;
		tpl_done(vm);
		tpl_error(x, j->app, err, "template of domain %u: %s: %s",
			  vm->domid, tmp, strerror(err));
		goto out;
	}
	xl_reset();
	xl_enter(x);
	rc = libxl_domain_suspend(x->ctx, vm->domid, fd, 0, NULL);
	xl_leave(x);
	if (close(fd) < 0 && !rc)
		rc = ERROR_FAIL;
	if (rc) {
		xl_error(e, sizeof(e), rc);
		unlink(tmp);
		xl_enter(x);
		libxl_domain_resume(x->ctx, vm->domid, 1, NULL);
		xl_leave(x);
		tpl_done(vm);
		tpl_error(x, j->app, EIO,
			  "template of domain %u: libxl_domain_suspend to "
			  "%s: %s",
			  vm->domid, tmp, e);
		goto out;
	}
	xl_reset();
	xl_enter(x);
	rc = libxl_domain_resume(x->ctx, vm->domid, 1, NULL);
	xl_leave(x);
	if (rc) {
		/* the file is good; the domain is not: it fails */
		fail_inst(x, vm->inst,
			  "xen: domain %u: libxl_domain_resume after its "
			  "template was saved: %s",
			  vm->domid, xl_error(e, sizeof(e), rc));
	}
	if (rename(tmp, path) < 0 || stat(path, &st) < 0 ||
	    !(t = calloc(1, sizeof(*t)))) {
		int err = errno ? errno : ENOMEM;
		unlink(tmp);
		tpl_done(vm);
		tpl_error(x, j->app, err, "template of domain %u: %s: %s",
			  vm->domid, path, strerror(err));
		goto out;
	}
	t->app = j->app;
	snprintf(t->path, sizeof(t->path), "%s", path);
	t->bytes = (uint64_t)st.st_size;
	t->meta = vm->meta;
	t->meta.app = j->app;
	pthread_mutex_lock(&x->lock);
	old = tpl_find_locked(x, j->app);
	if (old) { /* replaced: same file name */
		old->bytes = t->bytes;
		old->meta = t->meta;
		old->id.valid = 0;
		free(t);
		t = old;
	} else {
		t->next = x->tpls;
		x->tpls = t;
	}
	pthread_mutex_unlock(&x->lock);
	if (x->direct) {
		/* parsed now, so that the first clone does not pay for it */
		char why[1200];
		int64_t parse_ns = 0;
		if (uxd_warm(x->direct, path, &parse_ns, why, sizeof(why)))
			fprintf(stderr, "xen: template %s: direct clones "
				"will fail: %s\n", path, why);
		else if (x->times)
			fprintf(stderr, "xen: template %s parsed for direct "
				"clones in %.1f ms [EMULATED]\n", path,
				(double)parse_ns / UKF_MS);
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = UKF_BE_TEMPLATE;
	ev.app = j->app;
	ev.bytes = vm->mem; /* the guest memory it froze, as KVM counts */
	tpl_done(vm);
	emit(x, &ev);
out:
	free(j);
	return NULL;
}

/*
 * Freeze instance inst, held in ready, as the node's template of app: a
 * file written by libxl_domain_suspend (UKF_BE_TEMPLATE when done,
 * UKF_BE_ERROR with libxl's words if not). The instance goes on waiting
 * in ready. -ESRCH: no such instance held in ready; -EBUSY: a template of
 * it is being made.
 */
static int op_make_template(void *b, ukf_node_id_t node, ukf_id_t inst,
			    uint32_t app)
{
	struct uxen *x = b;
	struct uxen_vm *vm;
	struct tpl_job *j;
	pthread_t thr;
	int rc = 0;

	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	pthread_mutex_lock(&x->lock);
	vm = vm_find_locked(x, inst);
	if (!vm || !vm->hold ||
	    !__atomic_load_n(&vm->ready, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&vm->answered, __ATOMIC_ACQUIRE))
		rc = -ESRCH;
	else if (__atomic_load_n(&vm->suspending, __ATOMIC_ACQUIRE))
		rc = -EBUSY;
	if (!rc) {
		j->x = x;
		j->vm = vm;
		j->app = app;
		__atomic_store_n(&vm->suspending, 1, __ATOMIC_RELEASE);
		rc = -pthread_create(&thr, NULL, tpl_main, j);
		if (rc)
			__atomic_store_n(&vm->suspending, 0, __ATOMIC_RELEASE);
		else
			pthread_detach(thr);
	}
	pthread_mutex_unlock(&x->lock);
	if (rc)
		free(j);
	return rc;
}

/* Forget the node's template of app and remove its file. */
static void op_drop_template(void *b, ukf_node_id_t node, uint32_t app)
{
	struct uxen *x = b;
	struct uxen_tpl **pp, *t = NULL;

	pthread_mutex_lock(&x->lock);
	for (pp = &x->tpls; *pp; pp = &(*pp)->next)
		if ((*pp)->app == app) {
			t = *pp;
			*pp = t->next;
			break;
		}
	pthread_mutex_unlock(&x->lock);
	if (t) {
		if (x->direct)
			uxd_forget(x->direct, t->path);
		unlink(t->path);
		free(t);
	}
}

/*
 * A new domain restored from the node's template of app's file
 * (libxl_domain_create_restore): it wakes in ready as a clone with its own
 * id and args. The template is the one make_template made here, or a file
 * an earlier backend with the same template directory left; -ENOENT when
 * there is neither. A file that cannot be read fails the instance.
 */
static int op_clone_template(void *b, ukf_node_id_t node, ukf_id_t inst,
			     const struct ukf_app *app, const char *args)
{
	struct uxen *x = b;
	struct uxen_tpl *t;
	char path[UXEN_PATH_MAX];

	if (!app)
		return -EINVAL;
	pthread_mutex_lock(&x->lock);
	t = tpl_find_locked(x, app->id);
	if (t)
		snprintf(path, sizeof(path), "%s", t->path);
	pthread_mutex_unlock(&x->lock);
	if (!t) {
		tpl_path(x, app->id, path, sizeof(path));
		if (access(path, F_OK) < 0)
			return -ENOENT;
	}
	return vm_start(x, node, inst, app, args, path);
}

/*
 * Fork: a new domain, instance child, from parent's state now (parent is
 * paused in its fork call): libxl saves the parent to a file and resumes
 * it, the file is restored as the child's domain (fork_save, then
 * vm_main's clone path). UKF_BE_STARTED for the child once it runs; it
 * waits in its copy of the fork call for complete() (0), the parent for
 * its own (the child's id). -ESRCH: parent not paused in fork; -EBUSY: a
 * fork or template of it is under way; -EEXIST: child in use; -ENOMEM:
 * past max_vms or max_mem_bytes.
 */
static int op_clone_live(void *b, ukf_node_id_t node, ukf_id_t child,
			 ukf_id_t parent)
{
	struct uxen *x = b;
	struct uxen_vm *pa, *vm;
	int rc = 0;

	if (child == 0)
		return -EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	pthread_mutex_lock(&x->lock);
	pa = vm_find_locked(x, parent);
	if (vm_find_locked(x, child))
		rc = -EEXIST;
	else if (!pa || !pa->in_call || pa->call_nr != UKF_HC_FORK ||
		 !pa->call)
		rc = -ESRCH;
	else if (__atomic_load_n(&pa->suspending, __ATOMIC_ACQUIRE))
		rc = -EBUSY;
	else if (!vm_room_locked(x, pa->mem))
		rc = -ENOMEM;
	if (!rc) {
		vm->x = x;
		vm->inst = child;
		ukf_vmm_init(&vm->vmm, &uxen_vmm_ops, vm);
		vm->mem = pa->mem;
		vm->vcpus = pa->vcpus;
		vm->ready = 1; /* past ready: no READY of its own */
		vm->in_call = 1;
		vm->call_nr = UKF_HC_FORK;
		vm->fork_parent = pa;
		vm->fork_at = now_ns();
		snprintf(vm->clone_of, sizeof(vm->clone_of), "fork");
		snprintf(vm->name, sizeof(vm->name), "ukf-%d-%u-%llu",
			 (int)getpid(), (unsigned)node,
			 (unsigned long long)child);
		memcpy(vm->image, pa->image, sizeof(vm->image));
		memcpy(vm->args, pa->args, sizeof(vm->args));
		vm->meta = pa->meta;
		__atomic_store_n(&pa->suspending, 1, __ATOMIC_RELEASE);
		rc = -pthread_create(&vm->thr, NULL, vm_main, vm);
		if (rc)
			__atomic_store_n(&pa->suspending, 0, __ATOMIC_RELEASE);
	}
	if (!rc)
		vm_add_locked(x, vm);
	pthread_mutex_unlock(&x->lock);
	if (x->trace)
		fprintf(stderr, "xen: clone_live %llu of %llu: %d\n",
			(unsigned long long)child, (unsigned long long)parent,
			rc);
	if (rc)
		free(vm);
	return rc;
}

static const struct ukf_backend_ops uxen_ops = {
    .name = "xen",
    .cold_boot = op_cold_boot,
    .make_template = op_make_template,
    .load_template = uxr_load_template,
    .drop_template = op_drop_template,
    .clone_template = op_clone_template,
    .clone_live = op_clone_live,
    .save_delta = uxr_save_delta,
    .restore_delta = uxr_restore_delta,
    .destroy = op_destroy,
    .complete = op_complete,
    .export_template = uxr_export_template,
    .template_info = uxr_template_info,
};

/* ---------------- the driver ---------------- */

static void logger_init(struct uxen_logger *lg)
{
	const char *d = getenv("UKF_XEN_DEBUG");

	memset(lg, 0, sizeof(*lg));
	lg->base.vmessage = lg_vmessage;
	lg->base.progress = lg_progress;
	lg->base.destroy = lg_destroy;
	lg->debug = d && *d && strcmp(d, "0");
}

/* A libxl context, or NULL with the reason (not a dom0, no privcmd...). */
static libxl_ctx *ctx_open(struct uxen_logger *lg, char *why, size_t len)
{
	libxl_ctx *ctx = NULL;
	int rc;

	if (access("/proc/xen/privcmd", F_OK) < 0 &&
	    access("/dev/xen/privcmd", F_OK) < 0) {
		snprintf(why, len,
			 "not a Xen control domain (no /dev/xen/privcmd or "
			 "/proc/xen/privcmd: run it in dom0, e.g. under "
			 "scripts/xen-testbed/run)");
		return NULL;
	}
	xl_reset();
	uxen_handle_enter(); /* it opens Xen handles (handle_lock) */
	rc = libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &lg->base);
	uxen_handle_leave();
	if (rc || !ctx) {
		char e[1200];
		snprintf(why, len, "libxl_ctx_alloc: %s",
			 xl_error(e, sizeof(e), rc ? rc : ERROR_FAIL));
		return NULL;
	}
	return ctx;
}

static int drv_available(char *why, size_t len)
{
	struct uxen_logger lg;
	libxl_ctx *ctx;

	logger_init(&lg);
	ctx = ctx_open(&lg, why, len);
	if (!ctx)
		return 0;
	uxen_handle_enter();
	libxl_ctx_free(ctx);
	uxen_handle_leave();
	return 1;
}

static int drv_create(const struct ukf_backend_config *c,
		      struct ukf_backend *out, char *err, size_t errlen)
{
	struct uxen *x = calloc(1, sizeof(*x));
	char why[1400];
	int direct, e;

	if (!x) {
		snprintf(err, errlen, "xen backend: out of memory");
		return -1;
	}
	x->cfg = *c;
	snprintf(x->tpl_dir, sizeof(x->tpl_dir), "%s",
		 getenv("UKF_XEN_TEMPLATE_DIR") &&
			 *getenv("UKF_XEN_TEMPLATE_DIR")
		     ? getenv("UKF_XEN_TEMPLATE_DIR")
		     : UXEN_TPL_DIR);
	logger_init(&x->lg);
	x->times = getenv("UKF_XEN_TIMES") && !strcmp(getenv("UKF_XEN_TIMES"), "1");
	x->trace = getenv("UKF_XEN_TRACE") && !strcmp(getenv("UKF_XEN_TRACE"), "1");
	{
		const char *cut = getenv("UKF_XEN_TEST_FORK_CUT");
		char *end = NULL;
		x->fork_cut = cut && *cut ? strtoll(cut, &end, 10) : -1;
		if (cut && *cut && (*end || x->fork_cut < 0)) {
			snprintf(err, errlen,
				 "xen backend: UKF_XEN_TEST_FORK_CUT=%s: "
				 "expected a number of bytes",
				 cut);
			free(x);
			return -1;
		}
	}
	x->ctx = ctx_open(&x->lg, why, sizeof(why));
	if (!x->ctx) {
		snprintf(err, errlen, "xen backend: %s", why);
		free(x);
		return -1;
	}
	{
		const char *cl = getenv("UKF_XEN_CLONE");
		if (cl && *cl && strcmp(cl, "libxl") && strcmp(cl, "direct")) {
			snprintf(err, errlen,
				 "xen backend: UKF_XEN_CLONE=%s: expected "
				 "\"libxl\" or \"direct\"",
				 cl);
			libxl_ctx_free(x->ctx);
			free(x);
			return -1;
		}
		/* direct unless libxl's restore is asked for */
		direct = !cl || !*cl || !strcmp(cl, "direct");
		const char *fk = getenv("UKF_XEN_FORK");
		if (fk && *fk &&
		    (strcmp(fk, "snapshot") && strcmp(fk, "stream"))) {
			snprintf(err, errlen,
				 "xen backend: UKF_XEN_FORK=%s: expected "
				 "\"snapshot\" or \"stream\"",
				 fk);
			libxl_ctx_free(x->ctx);
			free(x);
			return -1;
		}
		if (fk && !strcmp(fk, "snapshot") && !direct) {
			snprintf(err, errlen,
				 "xen backend: UKF_XEN_FORK=snapshot needs the "
				 "direct builder, not UKF_XEN_CLONE=%s",
				 cl);
			libxl_ctx_free(x->ctx);
			free(x);
			return -1;
		}
		x->fork_snapshot = direct && !(fk && !strcmp(fk, "stream"));
	}
	/* libxl's default SIGCHLD handling (libxl_sigchld_owner_libxl: this
	 * process has no children of its own), forks through xl_fork */
	x->hooks.chldowner = libxl_sigchld_owner_libxl;
	x->hooks.fork_replacement = xl_fork;
	libxl_childproc_setmode(x->ctx, &x->hooks, x);
	uxen_handle_enter();
	x->xsh = xs_open(0);
	x->fmem = xenforeignmemory_open(NULL, 0);
	e = errno;
	uxen_handle_leave();
	/* with the backend's xenstore connection (under xs_lock) and
	 * foreign memory handle */
	pthread_mutex_init(&x->xs_lock, NULL);
	if (x->xsh && x->fmem && direct)
		x->direct =
		    uxd_open(x->xsh, &x->xs_lock, x->fmem, why, sizeof(why));
	if (!x->xsh || !x->fmem || (direct && !x->direct)) {
		if (!x->xsh || !x->fmem)
			snprintf(err, errlen, "xen backend: cannot open %s: %s",
				 x->xsh ? "xenforeignmemory" : "xenstore",
				 strerror(e));
		else
			snprintf(err, errlen,
				 "xen backend: direct clones (UKF_XEN_CLONE=libxl "
				 "restores through libxl instead): %s",
				 why);
		uxen_handle_enter();
		if (x->xsh)
			xs_close(x->xsh);
		if (x->fmem)
			xenforeignmemory_close(x->fmem);
		libxl_ctx_free(x->ctx);
		uxen_handle_leave();
		pthread_mutex_destroy(&x->xs_lock);
		free(x);
		return -1;
	}
	pthread_mutex_init(&x->lock, NULL);
	pthread_mutex_init(&x->xl_lock, NULL);
	out->ops = &uxen_ops;
	out->b = x;
	return 0;
}

static void drv_destroy(struct ukf_backend *be)
{
	struct uxen *x;
	struct uxen_vm *vm;

	if (!be || !be->b)
		return;
	x = be->b;
	for (;;) {
		pthread_mutex_lock(&x->lock);
		vm = x->vms;
		if (vm)
			x->vms = vm->next;
		pthread_mutex_unlock(&x->lock);
		if (!vm)
			break;
		vm_release(x, vm);
	}
	/* uxen_remote.c's template loads and delta saves end first (bounded
	 * by their own work: they hold no domain) */
	while (__atomic_load_n(&x->remote_jobs, __ATOMIC_ACQUIRE))
		usleep(10000);
	while (x->tpls) { /* the files stay: a later backend may clone them */
		struct uxen_tpl *t = x->tpls;
		x->tpls = t->next;
		free(t);
	}
	uxd_close(x->direct); /* before the handles it borrows */
	uxen_handle_enter();
	xs_close(x->xsh);
	xenforeignmemory_close(x->fmem);
	libxl_ctx_free(x->ctx);
	uxen_handle_leave();
	pthread_mutex_destroy(&x->lock);
	pthread_mutex_destroy(&x->xl_lock);
	pthread_mutex_destroy(&x->xs_lock);
	free(x);
	be->b = NULL;
	be->ops = NULL;
}

const struct ukf_backend_driver uxen_driver = {
    .name = "xen",
    .summary = "Xen through libxenlight (run in dom0): PV unikernel domains, "
	       "calls over a shared page + event channel, templates by suspend "
	       "to a file, clones built directly from it, fork by a snapshot "
	       "of the suspended parent built directly",
    .image_dir = "guest-xen",
    .available = drv_available,
    .create = drv_create,
    .destroy = drv_destroy,
    .is_image = image_check,
};

/* ---------------- for uxen_remote.c (uxen_int.h) ---------------- */

int uxen_tpl_get(struct uxen *x, uint32_t app, char *path, size_t pathlen,
		 struct uxen_meta *meta, struct uxen_tpl_id *id)
{
	struct uxen_tpl *t;
	int rc = 0;

	memset(meta, 0, sizeof(*meta));
	memset(id, 0, sizeof(*id));
	pthread_mutex_lock(&x->lock);
	t = tpl_find_locked(x, app);
	if (t) {
		snprintf(path, pathlen, "%s", t->path);
		*meta = t->meta;
		*id = t->id;
	}
	pthread_mutex_unlock(&x->lock);
	if (!t) {
		tpl_path(x, app, path, pathlen);
		if (access(path, F_OK) < 0)
			rc = -ENOENT;
	}
	meta->app = app;
	return rc;
}

void uxen_tpl_set_id(struct uxen *x, uint32_t app,
		     const struct uxen_tpl_id *id)
{
	struct uxen_tpl *t;

	pthread_mutex_lock(&x->lock);
	t = tpl_find_locked(x, app);
	if (t)
		t->id = *id;
	pthread_mutex_unlock(&x->lock);
}

int uxen_tpl_install(struct uxen *x, uint32_t app, const char *tmp,
		     const struct uxen_meta *meta,
		     const struct uxen_tpl_id *id)
{
	struct uxen_tpl *t, *old;
	char path[UXEN_PATH_MAX];
	struct stat st;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	tpl_path(x, app, path, sizeof(path));
	if (rename(tmp, path) < 0 || stat(path, &st) < 0) {
		int e = errno;
		free(t);
		return -e;
	}
	t->app = app;
	snprintf(t->path, sizeof(t->path), "%s", path);
	t->bytes = (uint64_t)st.st_size;
	t->meta = *meta;
	t->meta.app = app;
	t->id = *id;
	t->id.size = (uint64_t)st.st_size;
	t->id.mtime_ns = (int64_t)st.st_mtim.tv_sec * UKF_S + st.st_mtim.tv_nsec;
	pthread_mutex_lock(&x->lock);
	old = tpl_find_locked(x, app);
	if (old) {
		old->bytes = t->bytes;
		old->meta = t->meta;
		old->id = t->id;
		free(t);
	} else {
		t->next = x->tpls;
		x->tpls = t;
	}
	pthread_mutex_unlock(&x->lock);
	return 0;
}

const char *uxen_tpl_dir(struct uxen *x)
{
	return x->tpl_dir;
}

void uxen_emit(struct uxen *x, struct ukf_be_event *ev)
{
	emit(x, ev);
}

const char *uxen_xl_error(char *buf, size_t len, int rc)
{
	return xl_error(buf, len, rc);
}

struct uxen_vm *uxen_parent_hold(struct uxen *x, ukf_id_t parent,
				 struct uxen_meta *meta, char *args,
				 size_t argslen, int *rc)
{
	struct uxen_vm *pa;

	*rc = 0;
	pthread_mutex_lock(&x->lock);
	pa = vm_find_locked(x, parent);
	if (!pa || !pa->in_call || pa->call_nr != UKF_HC_FORK || !pa->call)
		*rc = -ESRCH;
	else if (__atomic_load_n(&pa->suspending, __ATOMIC_ACQUIRE))
		*rc = -EBUSY;
	if (!*rc) {
		__atomic_store_n(&pa->suspending, 1, __ATOMIC_RELEASE);
		*meta = pa->meta;
		meta->mem = pa->mem;
		meta->vcpus = pa->vcpus;
		snprintf(args, argslen, "%s", pa->args);
	}
	pthread_mutex_unlock(&x->lock);
	return *rc ? NULL : pa;
}

void uxen_parent_release(struct uxen *x, struct uxen_vm *pa)
{
	(void)x;
	__atomic_store_n(&pa->suspending, 0, __ATOMIC_RELEASE);
}

/* fork_save's suspend and resume, for a parent whose child is elsewhere. */
int uxen_parent_checkpoint(struct uxen *x, struct uxen_vm *pa, int fd,
			   char *err, size_t errlen)
{
	return parent_checkpoint(x, pa, fd, "remote fork", NULL, err, errlen);
}

/* vm_main's first step for a remote fork's child: prep makes clone_of. */
static int remote_prep(struct uxen_vm *vm, char *err, size_t errlen)
{
	uxen_prep_fn prep = vm->prep;
	void *arg = vm->prep_arg;

	vm->prep = NULL;
	vm->prep_arg = NULL;
	if (prep(vm->x, arg, vm->clone_of, sizeof(vm->clone_of), err,
		 errlen) < 0) {
		vm->clone_of[0] = '\0';
		if (!__atomic_load_n(&vm->stop, __ATOMIC_ACQUIRE))
			fail_inst(vm->x, vm->inst,
				  "xen: fork from another node: %s", err);
		return -1;
	}
	return 0;
}

int uxen_child_add(struct uxen *x, ukf_node_id_t node, ukf_id_t child,
		   const struct uxen_meta *meta, const char *args,
		   uxen_prep_fn prep, void *arg)
{
	struct uxen_vm *vm;
	int rc = 0;

	if (child == 0 || !prep)
		return -EINVAL;
	if (meta->mem < UKF_MEM_MIN || meta->mem > UXEN_MEM_MAX)
		return -EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->x = x;
	vm->inst = child;
	ukf_vmm_init(&vm->vmm, &uxen_vmm_ops, vm);
	vm->mem = meta->mem;
	vm->vcpus = meta->vcpus ? meta->vcpus : 1;
	vm->meta = *meta;
	vm->ready = 1; /* past ready: no READY of its own */
	vm->in_call = 1;
	vm->call_nr = UKF_HC_FORK;
	vm->fork_at = now_ns();
	vm->prep = prep;
	vm->prep_arg = arg;
	snprintf(vm->clone_of, sizeof(vm->clone_of), "remote");
	snprintf(vm->name, sizeof(vm->name), "ukf-%d-%u-%llu", (int)getpid(),
		 (unsigned)node, (unsigned long long)child);
	snprintf(vm->image, sizeof(vm->image), "%s", meta->image);
	snprintf(vm->args, sizeof(vm->args), "%s", args ? args : "");
	pthread_mutex_lock(&x->lock);
	if (vm_find_locked(x, child))
		rc = -EEXIST;
	else if (!vm_room_locked(x, vm->mem))
		rc = -ENOMEM;
	if (!rc)
		rc = -pthread_create(&vm->thr, NULL, vm_main, vm);
	if (!rc)
		vm_add_locked(x, vm);
	pthread_mutex_unlock(&x->lock);
	if (x->trace)
		fprintf(stderr, "xen: remote fork child %llu: %d\n",
			(unsigned long long)child, rc);
	if (rc)
		free(vm);
	return rc;
}

void uxen_job(struct uxen *x, int delta)
{
	__atomic_add_fetch(&x->remote_jobs, delta, __ATOMIC_ACQ_REL);
}
