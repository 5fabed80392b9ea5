/* SPDX-License-Identifier: MIT */
/* backend_test.c - the backend registry and template bytes out of / into the KVM backend (backend_* CTest tests). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/kvm/template.h" /* snapshot writer, images: test only */
#include "backends/registry.h"
#include "tests/common/selftest.h"

/*
 * The KVM tests drive monitors made through the registry
 * (ukf_backend_open("kvm")) and use only struct ukf_backend's ops, as a
 * backend-neutral world does; the snapshot writer is used only to forge
 * damaged or old-format bytes.
 */

#define MAXI 64
#define APP_SYNTH 3
#define MEM (16ULL << 20)

static const char *guest_dir;

/* ---- an event collector per backend ---- */

struct rec {
	int started, ready, exited, failed;
	int64_t status;
	char out[4096];
	size_t out_len;
	char reason[512];
};

struct mon {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rec r[MAXI];
	int templates;       /* UKF_BE_TEMPLATE events */
	uint32_t tmpl_app;
	uint64_t tmpl_bytes;
	int errors;          /* UKF_BE_ERROR events of template ops (inst 0) */
	uint32_t err_app;
	int64_t err_status;
	char err_text[512];
	struct ukf_backend be;
	const struct ukf_backend_driver *drv;
};

static void on_event(void *u, ukf_node_id_t node, const struct ukf_be_event *ev)
{
	struct mon *m = u;
	struct rec *r = ev->inst < MAXI ? &m->r[ev->inst] : NULL;

	(void)node;
	pthread_mutex_lock(&m->lock);
	switch (ev->kind) {
	case UKF_BE_TEMPLATE:
		m->templates++;
		m->tmpl_app = ev->app;
		m->tmpl_bytes = ev->bytes;
		break;
	case UKF_BE_ERROR:
		if (ev->inst == 0) {
			m->errors++;
			m->err_app = ev->app;
			m->err_status = ev->status;
			snprintf(m->err_text, sizeof(m->err_text), "%s",
				 ev->text ? ev->text : "");
		} else if (r) {
			r->failed = 1;
			snprintf(r->reason, sizeof(r->reason), "%s",
				 ev->text ? ev->text : "");
		}
		break;
	case UKF_BE_STARTED:
		if (r)
			r->started = 1;
		break;
	case UKF_BE_READY:
		if (r)
			r->ready++;
		break;
	case UKF_BE_EXIT:
		if (r) {
			r->exited = 1;
			r->status = ev->status;
		}
		break;
	case UKF_BE_FAIL:
		if (r) {
			r->failed = 1;
			snprintf(r->reason, sizeof(r->reason), "%s",
				 ev->text ? ev->text : "");
		}
		break;
	case UKF_BE_CONSOLE:
		if (r) {
			size_t room = sizeof(r->out) - 2 - r->out_len;
			size_t n = ev->len < room ? ev->len : room;

			memcpy(r->out + r->out_len, ev->data, n);
			r->out_len += n;
			r->out[r->out_len++] = '\n';
			r->out[r->out_len] = 0;
		}
		break;
	default:
		break;
	}
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

enum until { U_READY, U_ENDED, U_TEMPLATES, U_ERRORS };

/*
 * Wait until the condition holds (for instance id, or until the monitor
 * counted n template/error events). 60 s is a hang guard, not a timing
 * check. 0 if it holds.
 */
static int wait_for(struct mon *m, enum until u, ukf_id_t id, int n)
{
	struct timespec dl;
	int ok = 0;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 60;
	pthread_mutex_lock(&m->lock);
	for (;;) {
		struct rec *r = &m->r[id < MAXI ? id : 0];
		int ended = r->exited || r->failed;

		switch (u) {
		case U_READY:
			ok = ended || r->ready;
			break;
		case U_ENDED:
			ok = ended;
			break;
		case U_TEMPLATES:
			ok = m->templates >= n;
			break;
		case U_ERRORS:
			ok = m->errors >= n;
			break;
		}
		if (ok || pthread_cond_timedwait(&m->cond, &m->lock, &dl) ==
				  ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&m->lock);
	return ok ? 0 : -1;
}

static struct rec get_rec(struct mon *m, ukf_id_t id)
{
	struct rec r;

	pthread_mutex_lock(&m->lock);
	r = m->r[id];
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* Counters of template events, read under the lock. */
static void counts(struct mon *m, int *templates, int *errors)
{
	pthread_mutex_lock(&m->lock);
	*templates = m->templates;
	*errors = m->errors;
	pthread_mutex_unlock(&m->lock);
}

static char *guest(const char *name)
{
	static char buf[4][512];
	static int k;
	char *b = buf[k++ % 4];

	snprintf(b, 512, "%s/%s", guest_dir ? guest_dir : ".", name);
	return b;
}

/* A KVM backend through the registry; SKIP (77) with the reason when it
 * cannot run here or an image is missing. */
static int mon_open(struct mon *m, ukf_node_id_t node)
{
	struct ukf_backend_config c;
	char err[300];

	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	if (access(guest("synth"), R_OK) || access(guest("hello"), R_OK)) {
		/* the images are part of the build: a broken build fails */
		printf("FAIL: guest images synth and hello not built in %s\n",
		       guest_dir ? guest_dir : "(UKF_GUEST_DIR unset)");
		return 1;
	}
	ukf_backend_config_default(&c);
	c.node = node;
	c.event = on_event;
	c.u = m;
	c.run_limit_ns = 60 * UKF_S;
	m->drv = ukf_backend_open("kvm", &c, &m->be, err, sizeof(err));
	if (!m->drv) {
		printf("SKIP: %s\n", err);
		return SKIP;
	}
	return 0;
}

static void mon_close(struct mon *m)
{
	if (m->drv)
		m->drv->destroy(&m->be);
	m->drv = NULL;
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
}

static struct ukf_app mkapp(uint32_t id, const char *name, const char *img,
			    uint64_t mem)
{
	struct ukf_app a;

	memset(&a, 0, sizeof(a));
	a.id = id;
	snprintf(a.name, sizeof(a.name), "%s", name);
	snprintf(a.image, sizeof(a.image), "%s", guest(img));
	a.mem_bytes = mem;
	a.vcpus = 1;
	return a;
}

#define OPS(m) ((m)->be.ops)
#define B(m) ((m)->be.b)

/*
 * Cold-boot app as instance `id`, take the node's template of it at
 * ready() and let the instance run to its end. 0 or 1 (failed check).
 */
static int make_template(struct mon *m, ukf_node_id_t node,
			 const struct ukf_app *app, ukf_id_t id)
{
	int t0, e0;
	struct rec r;

	counts(m, &t0, &e0);
	CHECK(OPS(m)->cold_boot(B(m), node, id, app,
				"mem=16M init=5ms work=0 dirty=3 units=1") == 0);
	CHECK(wait_for(m, U_READY, id, 0) == 0);
	r = get_rec(m, id);
	if (!r.ready) {
		fprintf(stderr, "source %llu: %s\n%s", (unsigned long long)id,
			r.reason, r.out);
		return 1;
	}
	CHECK(OPS(m)->make_template(B(m), node, id, app->id) == 0);
	CHECK(wait_for(m, U_TEMPLATES, 0, t0 + 1) == 0);
	CHECK(OPS(m)->complete(B(m), node, id, 0, 0, 0, NULL, 0) == 0);
	CHECK(wait_for(m, U_ENDED, id, 0) == 0);
	r = get_rec(m, id);
	CHECK(r.exited && r.status == 0);
	return 0;
}

/* Clone app's template as `id` with args, run it to its end; its console
 * in out. 0 or 1. */
static int run_clone(struct mon *m, ukf_node_id_t node,
		     const struct ukf_app *app, ukf_id_t id, const char *args,
		     char *out, size_t cap)
{
	struct rec r;

	CHECK(OPS(m)->clone_template(B(m), node, id, app, args) == 0);
	CHECK(wait_for(m, U_READY, id, 0) == 0);
	CHECK(OPS(m)->complete(B(m), node, id, 0, 0, 0, NULL, 0) == 0);
	CHECK(wait_for(m, U_ENDED, id, 0) == 0);
	r = get_rec(m, id);
	if (!r.exited || r.status != 0) {
		fprintf(stderr, "clone %llu: %s\n%s", (unsigned long long)id,
			r.reason, r.out);
		return 1;
	}
	snprintf(out, cap, "%s", r.out);
	return 0;
}

/*
 * The same snapshot with its meta cut to the layout written before the
 * image digest was kept (what ukvm_template_save_as wrote until then):
 * a file already on disk. *out is malloc'd.
 */
static int old_format(const void *data, size_t len, void **out,
		      size_t *out_len)
{
	struct ukvm_snap_reader r;
	struct ukvm_snap_buf b;
	const void *p;
	size_t l;
	uint32_t type;
	char err[200];

	if (ukvm_snap_open(&r, data, len, err, sizeof(err)))
		return -1;
	memset(&b, 0, sizeof(b));
	ukvm_snap_begin(&b, r.kind);
	r.off = 0;
	while (ukvm_snap_next(&r, &type, &p, &l)) {
		if (type == UKVM_SEC_META) {
			struct ukvm_snap_meta meta;
			uint32_t old = offsetof(struct ukvm_snap_meta,
						image_sha256);

			memset(&meta, 0, sizeof(meta));
			memcpy(&meta, p, l < sizeof(meta) ? l : sizeof(meta));
			meta.size = old;
			ukvm_snap_add(&b, type, &meta, old);
		} else {
			ukvm_snap_add(&b, type, p, l);
		}
	}
	if (ukvm_snap_finish(&b)) {
		ukvm_snap_buf_free(&b);
		return -1;
	}
	*out = b.data;
	*out_len = b.len;
	return 0;
}

/* ---- no KVM needed ---- */

/* The registry: kvm is there, an unknown name is not, the listing and
 * the errors name what is known. */
static int t_registry(void)
{
	const struct ukf_backend_driver *const *list;
	const struct ukf_backend_driver *d = ukf_backend_driver_find("kvm");
	struct ukf_backend_config c;
	struct ukf_backend be;
	char names[128], err[300], why[300];
	size_t n;
	int found = 0;

	CHECK(d && !strcmp(d->name, "kvm"));
	CHECK(d->summary && d->summary[0] && d->image_dir &&
	      !strcmp(d->image_dir, "guest"));
	CHECK(d->available && d->create && d->destroy && d->is_image);
	CHECK(ukf_backend_driver_find("xen-not-built") == NULL);
	CHECK(ukf_backend_driver_find("") == NULL);
	CHECK(ukf_backend_driver_find(NULL) == NULL);
	CHECK(ukf_backend_driver_find("KVM") == NULL); /* names are exact */
	n = ukf_backend_drivers(&list);
	CHECK(n >= 1);
	for (size_t i = 0; i < n; i++) {
		CHECK(list[i] && list[i]->name);
		CHECK(ukf_backend_driver_find(list[i]->name) == list[i]);
		printf("backend %s: %s\n", list[i]->name, list[i]->summary);
		found += list[i] == d;
	}
	CHECK(found == 1);
	CHECK(ukf_backend_driver_names(names, sizeof(names)) > 0);
	CHECK(strstr(names, "kvm"));
	/* a buffer too small: cut, terminated, the length it needed */
	CHECK(ukf_backend_driver_names(names, 2) == (int)strlen("kvm") ||
	      n > 1);
	CHECK(strlen(names) == 1);

	ukf_backend_config_default(&c);
	CHECK(c.pause_on_ready == 1 && c.event == NULL && c.max_vms == 0);
	c.event = on_event;
	CHECK(ukf_backend_open("qemu", &c, &be, err, sizeof(err)) == NULL);
	printf("unknown: %s\n", err);
	CHECK(strstr(err, "unknown backend 'qemu'") && strstr(err, "known: ") &&
	      strstr(err, "kvm"));
	CHECK(ukf_backend_open(NULL, &c, &be, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "unknown backend"));
	/* no event sink: refused before anything is opened */
	c.event = NULL;
	CHECK(ukf_backend_open("kvm", &c, &be, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "event sink"));
	/* the driver itself, called directly, passes the monitor's reason
	 * through (and its destroy takes nothing without crashing) */
	err[0] = 0;
	memset(&be, 0, sizeof(be));
	CHECK(d->create(&c, &be, err, sizeof(err)) == -1);
	printf("driver create without a sink: %s\n", err);
	CHECK(strstr(err, "an event callback is required"));
	CHECK(be.ops == NULL && be.b == NULL);
	d->destroy(NULL);
	c.event = on_event;
	/* a host without KVM: unavailable, with the reason */
	setenv("UKVM_DEVICE", "/nonexistent-kvm", 1);
	CHECK(d->available(why, sizeof(why)) == 0);
	CHECK(strstr(why, "/nonexistent-kvm"));
	CHECK(ukf_backend_open("kvm", &c, &be, err, sizeof(err)) == NULL);
	printf("no kvm: %s\n", err);
	CHECK(strstr(err, "backend kvm is not available here") &&
	      strstr(err, "/nonexistent-kvm"));
	unsetenv("UKVM_DEVICE");
	return 0;
}

/* is_image: a guest image yes; a host program, a text file, a directory
 * and a missing file no, each with its reason. */
static int t_is_image(void)
{
	const struct ukf_backend_driver *d = ukf_backend_driver_find("kvm");
	char why[300], txt[] = "/tmp/backend_test_txtXXXXXX";
	int fd;

	CHECK(d);
	if (access(guest("hello"), R_OK)) {
		printf("FAIL: guest image hello was not built\n");
		return 1;
	}
	CHECK(d->is_image(guest("hello"), why, sizeof(why)) == 1);
	CHECK(d->is_image("/proc/self/exe", why, sizeof(why)) == 0);
	printf("host program: %s\n", why);
	CHECK(strstr(why, "ET_EXEC") || strstr(why, "image"));
	fd = mkstemp(txt);
	CHECK(fd >= 0);
	CHECK(write(fd, "#!/bin/sh\necho hi\n", 18) == 18);
	close(fd);
	CHECK(d->is_image(txt, why, sizeof(why)) == 0);
	printf("text: %s\n", why);
	CHECK(strstr(why, "not an ELF"));
	unlink(txt);
	/* an ELF of another class: hello's header as ELFCLASS32 */
	{
		unsigned char hdr[64];
		char e32[] = "/tmp/backend_test_e32XXXXXX";
		int in = open(guest("hello"), O_RDONLY);

		CHECK(in >= 0 && read(in, hdr, sizeof(hdr)) == sizeof(hdr));
		if (in >= 0)
			close(in);
		hdr[4] = 1; /* EI_CLASS = ELFCLASS32 */
		fd = mkstemp(e32);
		CHECK(fd >= 0 && write(fd, hdr, sizeof(hdr)) == sizeof(hdr));
		close(fd);
		CHECK(d->is_image(e32, why, sizeof(why)) == 0);
		printf("ELFCLASS32: %s\n", why);
		CHECK(strstr(why, "not an x86-64 ELF64 image"));
		unlink(e32);
	}
	CHECK(d->is_image("/tmp", why, sizeof(why)) == 0);
	CHECK(strstr(why, "not a regular file"));
	CHECK(d->is_image("/nonexistent/hello", why, sizeof(why)) == 0);
	CHECK(strstr(why, "No such file"));
	return 0;
}

/* A template snapshot forged with the writer: meta (with `name` and the
 * digest of image `img`, or an old-layout meta when old), zero vCPU, a
 * few pages. kind TEMPLATE unless kind says otherwise. */
/* A vCPU state as the monitor leaves a guest (layout.c's boot state). */
static void good_vcpu(struct ukvm_snap_vcpu *st)
{
	struct kvm_segment code = { .limit = 0xffffffff, .selector = 0x1b,
				    .type = 0xb, .present = 1, .dpl = 3,
				    .s = 1, .l = 1, .g = 1 };
	struct kvm_segment dat = { .limit = 0xffffffff, .selector = 0x23,
				   .type = 0x3, .present = 1, .dpl = 3,
				   .s = 1, .db = 1, .g = 1 };

	memset(st, 0, sizeof(*st));
	st->sregs.cs = code;
	st->sregs.ds = st->sregs.es = st->sregs.fs = st->sregs.gs =
		st->sregs.ss = dat;
	st->sregs.tr = (struct kvm_segment){ .base = 0x2000, .limit = 0x168,
					     .selector = 0x28, .type = 0xb,
					     .present = 1 };
	st->sregs.ldt = (struct kvm_segment){ .type = 2, .unusable = 1 };
	st->sregs.gdt.base = 0x1000;
	st->sregs.gdt.limit = 0x37;
	st->sregs.idt.base = 0x3000;
	st->sregs.idt.limit = 32 * 16 - 1;
	st->sregs.cr0 = 0x80010033;
	st->sregs.cr3 = 0x10000;
	st->sregs.cr4 = 0x620;
	st->sregs.efer = 0xd00;
	st->regs.rflags = 0x2;
	st->regs.rip = 0x100000;
}

static int forge_vcpu(struct ukvm_snap_buf *b, uint32_t kind,
		      const char *name, const char *img, int old,
		      const struct ukvm_snap_vcpu *vcpu);

static int forge(struct ukvm_snap_buf *b, uint32_t kind, const char *name,
		 const char *img, int old)
{
	return forge_vcpu(b, kind, name, img, old, NULL);
}

/* forge with a given vCPU state (NULL: good_vcpu's). */
static int forge_vcpu(struct ukvm_snap_buf *b, uint32_t kind,
		      const char *name, const char *img, int old,
		      const struct ukvm_snap_vcpu *vcpu)
{
	struct ukvm_snap_meta meta;
	struct ukvm_snap_vcpu st;
	uint8_t *mem = calloc(1, MEM);
	char err[300];

	if (!mem)
		return -1;
	memset(&meta, 0, sizeof(meta));
	if (vcpu)
		st = *vcpu;
	else
		good_vcpu(&st);
	meta.mem_size = MEM;
	meta.pause = kind == UKVM_SNAP_TEMPLATE ? UKVM_PAUSE_READY
						: UKVM_PAUSE_FORK;
	snprintf(meta.app_name, sizeof(meta.app_name), "%s", name);
	if (img) {
		struct ukvm_image *im = ukvm_image_load(img, err, sizeof(err));

		if (!im) {
			fprintf(stderr, "%s\n", err);
			free(mem);
			return -1;
		}
		memcpy(meta.image_sha256, im->sha256, 32);
		ukvm_image_free(im);
	}
	memcpy(mem + 0x200000, "template page", 13);
	memset(&mem[MEM - 4096], 0x5a, 4096);
	memset(b, 0, sizeof(*b));
	ukvm_snap_begin(b, kind);
	if (old) {
		meta.size = offsetof(struct ukvm_snap_meta, image_sha256);
		ukvm_snap_add(b, UKVM_SEC_META, &meta, meta.size);
	} else {
		ukvm_snap_meta_encode(b, &meta);
	}
	ukvm_snap_vcpu_encode(b, &st);
	ukvm_snap_add(b, UKVM_SEC_ARGS, "init=5ms", 9);
	ukvm_snap_add_pages(b, mem, MEM, NULL, NULL);
	free(mem);
	return ukvm_snap_finish(b);
}

/*
 * template_info (no monitor needed): describes template bytes, checks them
 * against an app (name, memory, image), and names what is wrong with
 * damaged, foreign or old bytes.
 */
static int t_tmpl_info(void)
{
	const struct ukf_backend_ops *O = &ukvm_backend_ops;
	struct ukf_template_info info;
	struct ukvm_snap_buf b, d, o;
	struct ukvm_image *im;
	struct ukf_app synth, hello, other_img, big;
	char err[400];
	uint8_t *bad;

	if (access(guest("synth"), R_OK) || access(guest("hello"), R_OK)) {
		printf("FAIL: guest images synth and hello were not built\n");
		return 1;
	}
	CHECK(O->template_info != NULL && O->export_template != NULL);
	synth = mkapp(APP_SYNTH, "synth", "synth", MEM);
	hello = mkapp(APP_SYNTH, "hello", "hello", MEM);
	other_img = mkapp(APP_SYNTH, "synth", "hello", MEM);
	big = mkapp(APP_SYNTH, "synth", "synth", 64ULL << 20);
	CHECK(forge(&b, UKVM_SNAP_TEMPLATE, "synth", guest("synth"), 0) == 0);

	/* described */
	CHECK(O->template_info(NULL, NULL, b.data, b.len, &info, err,
			       sizeof(err)) == 0);
	CHECK(!strcmp(info.app_name, "synth"));
	CHECK(info.bytes == MEM && info.mem_bytes == MEM && info.has_image);
	im = ukvm_image_load(guest("synth"), err, sizeof(err));
	CHECK(im);
	CHECK(!memcmp(info.image_sha256, im->sha256, 32));
	ukvm_image_free(im);
	/* checked against apps */
	CHECK(O->template_info(NULL, &synth, b.data, b.len, &info, err,
			       sizeof(err)) == 0);
	CHECK(O->template_info(NULL, &hello, b.data, b.len, &info, err,
			       sizeof(err)) == -EINVAL);
	printf("other app: %s\n", err);
	CHECK(strstr(err, "a template of app 'synth', not 'hello'"));
	CHECK(O->template_info(NULL, &other_img, b.data, b.len, &info, err,
			       sizeof(err)) == -EINVAL);
	printf("other image: %s\n", err);
	CHECK(strstr(err, "another image of app 'synth'") &&
	      strstr(err, guest("hello")));
	CHECK(O->template_info(NULL, &big, b.data, b.len, &info, err,
			       sizeof(err)) == -EINVAL);
	printf("other memory size: %s\n", err);
	CHECK(strstr(err, "16 MiB of memory, app 'synth' has 64 MiB"));
	{
		struct ukf_app gone = synth;

		snprintf(gone.image, sizeof(gone.image), "/nonexistent/synth");
		CHECK(O->template_info(NULL, &gone, b.data, b.len, &info, err,
				       sizeof(err)) == -ENOENT);
		printf("image missing: %s\n", err);
		CHECK(strstr(err, "/nonexistent/synth"));
	}
	/* damaged */
	CHECK(O->template_info(NULL, NULL, b.data, b.len / 2, &info, err,
			       sizeof(err)) == -EINVAL);
	printf("truncated: %s\n", err);
	CHECK(strstr(err, "truncated"));
	bad = malloc(b.len);
	CHECK(bad);
	memcpy(bad, b.data, b.len);
	bad[b.len / 2] ^= 0x40;
	CHECK(O->template_info(NULL, NULL, bad, b.len, &info, err,
			       sizeof(err)) == -EINVAL);
	printf("corrupted: %s\n", err);
	CHECK(strstr(err, "checksum mismatch"));
	free(bad);
	CHECK(O->template_info(NULL, NULL, "garbage!garbage!garbage!garbage!",
			       32, &info, err, sizeof(err)) == -EINVAL);
	printf("garbage: %s\n", err);
	CHECK(strstr(err, "not a ukfork snapshot"));
	CHECK(O->template_info(NULL, NULL, NULL, 10, &info, err,
			       sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "no template data"));
	CHECK(forge(&d, UKVM_SNAP_DELTA, "synth", NULL, 0) == 0);
	CHECK(O->template_info(NULL, NULL, d.data, d.len, &info, err,
			       sizeof(err)) == -EINVAL);
	printf("delta: %s\n", err);
	CHECK(strstr(err, "not a template"));
	/* old layout (no digest): described, and not refused for lack of it */
	CHECK(forge(&o, UKVM_SNAP_TEMPLATE, "synth", guest("synth"), 1) == 0);
	CHECK(O->template_info(NULL, &synth, o.data, o.len, &info, err,
			       sizeof(err)) == 0);
	CHECK(!strcmp(info.app_name, "synth") && !info.has_image &&
	      info.bytes == MEM);
	CHECK(O->template_info(NULL, &other_img, o.data, o.len, &info, err,
			       sizeof(err)) == 0);
	/* ... but its name still counts */
	CHECK(O->template_info(NULL, &hello, o.data, o.len, &info, err,
			       sizeof(err)) == -EINVAL);
	/* an app name with a control character (it would go into messages
	 * and traces as is): refused, naming the byte */
	ukvm_snap_buf_free(&o);
	CHECK(forge(&o, UKVM_SNAP_TEMPLATE, "syn\033th", guest("synth"), 0) ==
	      0);
	CHECK(O->template_info(NULL, NULL, o.data, o.len, &info, err,
			       sizeof(err)) == -EINVAL);
	printf("control character: %s\n", err);
	CHECK(strstr(err, "control characters (byte 0x1b at 3)"));
	/* nowhere to describe it */
	CHECK(O->template_info(NULL, NULL, b.data, b.len, NULL, err,
			       sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "no info to fill"));
	ukvm_snap_buf_free(&b);
	ukvm_snap_buf_free(&d);
	ukvm_snap_buf_free(&o);
	return 0;
}

/*
 * A planted template (#12): its bytes are well formed and its checksum
 * right, but its saved registers would start guest code in ring 0 or with
 * the monitor's structures elsewhere. template_info (what a world calls
 * before loading a file or a peer's bytes) refuses each, naming the field.
 */
static int t_tmpl_planted(void)
{
	const struct ukf_backend_ops *O = &ukvm_backend_ops;
	struct ukf_template_info info;
	struct ukvm_snap_buf b;
	struct ukvm_snap_vcpu st;
	char err[400];
	static const struct {
		const char *what, *expect;
	} cases[] = {
		{ "ring-0 code", "cs selector 0x8 dpl 0" },
		{ "ring-0 stack", "ss selector 0x10 dpl 0" },
		{ "IOPL 3", "RFLAGS 0x3002" },
		{ "interrupts on", "RFLAGS 0x202" },
		{ "own page tables", "CR3 0x200000" },
		{ "own IDT", "IDT at 0x200000" },
		{ "own GDT", "GDT at 0x200000" },
		{ "own TSS", "TR selector 0x28 base 0x200000" },
		{ "syscall on", "EFER 0xd01" },
		{ "no write protect", "CR0 0x80000033" },
		{ "PCE", "CR4 0x720" },
		{ "sysenter to ring 0", "SYSENTER_CS 0x8" },
		{ "foreign MSR", "MSR 0xc0000080" },
	};

	good_vcpu(&st);
	CHECK(forge_vcpu(&b, UKVM_SNAP_TEMPLATE, "synth", NULL, 0, &st) == 0);
	CHECK(O->template_info(NULL, NULL, b.data, b.len, &info, err,
			       sizeof(err)) == 0);
	ukvm_snap_buf_free(&b);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		good_vcpu(&st);
		switch (i) {
		case 0: st.sregs.cs.selector = 0x08; st.sregs.cs.dpl = 0; break;
		case 1: st.sregs.ss.selector = 0x10; st.sregs.ss.dpl = 0; break;
		case 2: st.regs.rflags = 0x3002; break;
		case 3: st.regs.rflags = 0x202; break;
		case 4: st.sregs.cr3 = 0x200000; break;
		case 5: st.sregs.idt.base = 0x200000; break;
		case 6: st.sregs.gdt.base = 0x200000; break;
		case 7: st.sregs.tr.base = 0x200000; break;
		case 8: st.sregs.efer |= 1; break;
		case 9: st.sregs.cr0 &= ~0x10000ULL; break;
		case 10: st.sregs.cr4 |= 0x100; break;
		case 11:
			st.nmsrs = 1;
			st.msrs[0].index = 0x174;
			st.msrs[0].data = 0x08;
			break;
		case 12:
			st.nmsrs = 1;
			st.msrs[0].index = 0xc0000080;
			st.msrs[0].data = 0xd01;
			break;
		}
		CHECK(forge_vcpu(&b, UKVM_SNAP_TEMPLATE, "synth", NULL, 0,
				 &st) == 0);
		err[0] = 0;
		int rc = O->template_info(NULL, NULL, b.data, b.len, &info,
					  err, sizeof(err));
		ukvm_snap_buf_free(&b);
		printf("%s: %s\n", cases[i].what, rc ? err : "ACCEPTED");
		if (rc != -EINVAL || !strstr(err, "vCPU state refused") ||
		    !strstr(err, cases[i].expect)) {
			fprintf(stderr, "%s: rc %d, '%s' does not say '%s'\n",
				cases[i].what, rc, err, cases[i].expect);
			return 1;
		}
	}
	return 0;
}

/* ---- KVM ---- */

/*
 * export -> load into a second monitor -> a clone there prints what a
 * clone of the original prints; the loaded template exports the very same
 * bytes; files (what ukvm_template_save_as writes, export's bytes written
 * out, a file of the layout before the image digest) load through the op.
 */
static int t_tmpl_export(void)
{
	struct mon a, b;
	struct ukf_app app;
	struct ukf_template_info info;
	void *data = NULL, *data_b = NULL, *old = NULL, *file = NULL;
	size_t len = 0, len_b = 0, old_len = 0, file_len = 0;
	uint64_t bytes = 0, bytes_b = 0;
	char out_a[4096], out_b[4096], err[400];
	char path[] = "/tmp/backend_test_tmplXXXXXX";
	const char *args = "mem=16M init=5ms work=1ms dirty=5 units=2";
	int rc, fd;

	if ((rc = mon_open(&a, 0)))
		return rc;
	if ((rc = mon_open(&b, 1))) {
		mon_close(&a);
		return rc;
	}
	app = mkapp(APP_SYNTH, "synth", "synth", MEM);
	CHECK(make_template(&a, 0, &app, 1) == 0);
	CHECK(a.tmpl_app == APP_SYNTH && a.tmpl_bytes == MEM);

	CHECK(OPS(&a)->export_template(B(&a), 0, APP_SYNTH, &data, &len,
				       &bytes) == 0);
	printf("exported: %zu bytes for a template of %llu bytes\n", len,
	       (unsigned long long)bytes);
	CHECK(data && len > 0 && bytes == a.tmpl_bytes);
	CHECK(len < MEM); /* zero pages are not shipped */
	/* the bytes name the app and its image */
	CHECK(OPS(&a)->template_info(B(&a), &app, data, len, &info, err,
				     sizeof(err)) == 0);
	CHECK(!strcmp(info.app_name, "synth") && info.has_image &&
	      info.bytes == bytes);

	/* into node 1 */
	CHECK(OPS(&b)->load_template(B(&b), 1, APP_SYNTH, data, len) == 0);
	CHECK(wait_for(&b, U_TEMPLATES, 0, 1) == 0);
	CHECK(b.errors == 0);
	CHECK(b.tmpl_app == APP_SYNTH && b.tmpl_bytes == bytes);
	/* the same template: it exports the very same bytes */
	CHECK(OPS(&b)->export_template(B(&b), 1, APP_SYNTH, &data_b, &len_b,
				       &bytes_b) == 0);
	CHECK(len_b == len && bytes_b == bytes && !memcmp(data_b, data, len));
	free(data_b);
	data_b = NULL;
	/* a clone of each, same id and arguments: the same output */
	CHECK(run_clone(&a, 0, &app, 10, args, out_a, sizeof(out_a)) == 0);
	CHECK(run_clone(&b, 1, &app, 10, args, out_b, sizeof(out_b)) == 0);
	printf("clone on node 0:\n%sclone on node 1:\n%s", out_a, out_b);
	CHECK(strstr(out_a, "synth: done id=10 units=2 children=0"));
	CHECK(!strcmp(out_a, out_b));

	/* files: ukvm_template_save_as's file loads through the op ... */
	fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	CHECK(ukvm_template_save_as(B(&a), APP_SYNTH, "synth", path, err,
				    sizeof(err)) == 0);
	CHECK(ukvm_snap_read_file(path, &file, &file_len, err,
				  sizeof(err)) == 0);
	OPS(&b)->drop_template(B(&b), 1, APP_SYNTH);
	CHECK(OPS(&b)->load_template(B(&b), 1, APP_SYNTH, file, file_len) ==
	      0);
	CHECK(wait_for(&b, U_TEMPLATES, 0, 2) == 0 && b.errors == 0);
	CHECK(run_clone(&b, 1, &app, 11, args, out_b, sizeof(out_b)) == 0);
	CHECK(strstr(out_b, "synth: done id=11 units=2 children=0"));
	free(file);
	file = NULL;
	/* ... export's bytes written out load through the file API ... */
	CHECK(ukvm_snap_write_file(path, data, len, err, sizeof(err)) == 0);
	OPS(&b)->drop_template(B(&b), 1, APP_SYNTH);
	CHECK(ukvm_template_load_file(B(&b), APP_SYNTH, path, err,
				      sizeof(err)) == 0);
	CHECK(run_clone(&b, 1, &app, 12, args, out_b, sizeof(out_b)) == 0);
	CHECK(strstr(out_b, "synth: done id=12 units=2 children=0"));
	unlink(path);
	/* ... and a file of the layout before the image digest still loads */
	CHECK(old_format(data, len, &old, &old_len) == 0);
	CHECK(OPS(&b)->template_info(B(&b), &app, old, old_len, &info, err,
				     sizeof(err)) == 0);
	CHECK(!info.has_image && !strcmp(info.app_name, "synth"));
	OPS(&b)->drop_template(B(&b), 1, APP_SYNTH);
	CHECK(OPS(&b)->load_template(B(&b), 1, APP_SYNTH, old, old_len) == 0);
	CHECK(wait_for(&b, U_TEMPLATES, 0, 3) == 0 && b.errors == 0);
	CHECK(run_clone(&b, 1, &app, 13, args, out_b, sizeof(out_b)) == 0);
	CHECK(strstr(out_b, "synth: done id=13 units=2 children=0"));
	free(old);
	free(data);
	mon_close(&b);
	mon_close(&a);
	return 0;
}

/* export of a template the node does not hold: -ENOENT; bad calls. */
static int t_tmpl_missing(void)
{
	struct mon a;
	struct ukf_app app;
	void *data = (void *)1;
	size_t len = 1;
	uint64_t bytes = 1;
	int rc;

	if ((rc = mon_open(&a, 0)))
		return rc;
	app = mkapp(APP_SYNTH, "synth", "synth", MEM);
	CHECK(OPS(&a)->export_template(B(&a), 0, APP_SYNTH, &data, &len,
				       &bytes) == -ENOENT);
	CHECK(data == NULL && len == 0 && bytes == 0);
	CHECK(OPS(&a)->export_template(B(&a), 0, 999999, &data, &len,
				       &bytes) == -ENOENT);
	CHECK(OPS(&a)->export_template(B(&a), 0, APP_SYNTH, NULL, &len,
				       &bytes) == -EINVAL);
	CHECK(make_template(&a, 0, &app, 1) == 0);
	CHECK(OPS(&a)->export_template(B(&a), 0, APP_SYNTH, &data, &len,
				       &bytes) == 0);
	free(data);
	/* another app of the node still has none */
	CHECK(OPS(&a)->export_template(B(&a), 0, APP_SYNTH + 1, &data, &len,
				       &bytes) == -ENOENT);
	/* dropped: none again */
	OPS(&a)->drop_template(B(&a), 0, APP_SYNTH);
	CHECK(OPS(&a)->export_template(B(&a), 0, APP_SYNTH, &data, &len,
				       &bytes) == -ENOENT);
	mon_close(&a);
	return 0;
}

/* Wait for the next template error of m; its text in why. 0 or -1. */
static int next_error(struct mon *m, int before, char *why, size_t cap)
{
	if (wait_for(m, U_ERRORS, 0, before + 1))
		return -1;
	pthread_mutex_lock(&m->lock);
	snprintf(why, cap, "%s", m->err_text);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/*
 * A node that knows an app id as another app (or another image of the
 * same app) refuses the bytes in load_template, with the reason, and
 * installs nothing; a world checks bytes for an app the node has not run
 * yet with template_info.
 */
static int t_tmpl_foreign(void)
{
	struct mon a, b;
	struct ukf_app synth, hello, synth_other_img, fresh;
	struct ukf_template_info info;
	void *data = NULL, *x = NULL;
	size_t len = 0, xl = 0;
	uint64_t bytes = 0, xb = 0;
	char why[600], out[4096];
	int rc, t0, e0;

	if ((rc = mon_open(&a, 0)))
		return rc;
	if ((rc = mon_open(&b, 1))) {
		mon_close(&a);
		return rc;
	}
	synth = mkapp(APP_SYNTH, "synth", "synth", MEM);
	CHECK(make_template(&a, 0, &synth, 1) == 0);
	CHECK(OPS(&a)->export_template(B(&a), 0, APP_SYNTH, &data, &len,
				       &bytes) == 0);

	/* node 1 runs hello as app 3 (and "synth" from hello's image as
	 * app 5): that is what those ids mean there */
	hello = mkapp(APP_SYNTH, "hello", "hello", MEM);
	synth_other_img = mkapp(5, "synth", "hello", MEM);
	CHECK(OPS(&b)->cold_boot(B(&b), 1, 1, &hello, "") == 0);
	CHECK(OPS(&b)->cold_boot(B(&b), 1, 2, &synth_other_img, "") == 0);
	for (ukf_id_t i = 1; i <= 2; i++) {
		CHECK(wait_for(&b, U_READY, i, 0) == 0);
		CHECK(OPS(&b)->complete(B(&b), 1, i, 0, 0, 0, NULL, 0) == 0);
		CHECK(wait_for(&b, U_ENDED, i, 0) == 0);
		CHECK(get_rec(&b, i).exited);
	}
	/* another app */
	counts(&b, &t0, &e0);
	CHECK(OPS(&b)->load_template(B(&b), 1, APP_SYNTH, data, len) == 0);
	CHECK(next_error(&b, e0, why, sizeof(why)) == 0);
	printf("other app: %s\n", why);
	CHECK(strstr(why, "template of app 3 refused") &&
	      strstr(why, "a template of app 'synth', not 'hello'"));
	CHECK(b.err_app == APP_SYNTH && b.err_status == -EINVAL);
	/* another image of the same app */
	CHECK(OPS(&b)->load_template(B(&b), 1, 5, data, len) == 0);
	CHECK(next_error(&b, e0 + 1, why, sizeof(why)) == 0);
	printf("other image: %s\n", why);
	CHECK(strstr(why, "template of app 5 refused") &&
	      strstr(why, "another image of app 'synth'"));
	CHECK(b.err_app == 5);
	/* nothing was installed, no template event came */
	CHECK(b.templates == t0);
	CHECK(OPS(&b)->export_template(B(&b), 1, APP_SYNTH, &x, &xl, &xb) ==
	      -ENOENT);
	CHECK(OPS(&b)->export_template(B(&b), 1, 5, &x, &xl, &xb) == -ENOENT);
	CHECK(OPS(&b)->clone_template(B(&b), 1, 20, &hello, "") == -ENOENT);
	/* an app id node 1 has not run yet: template_info is the check */
	fresh = mkapp(7, "hello", "hello", MEM);
	CHECK(OPS(&b)->template_info(B(&b), &fresh, data, len, &info, why,
				     sizeof(why)) == -EINVAL);
	CHECK(strstr(why, "a template of app 'synth', not 'hello'"));
	fresh = mkapp(7, "synth", "synth", MEM);
	CHECK(OPS(&b)->template_info(B(&b), &fresh, data, len, &info, why,
				     sizeof(why)) == 0);
	/* the right bytes for the right app still load and run */
	CHECK(OPS(&b)->load_template(B(&b), 1, 7, data, len) == 0);
	CHECK(wait_for(&b, U_TEMPLATES, 0, t0 + 1) == 0);
	CHECK(b.tmpl_app == 7 && b.tmpl_bytes == bytes);
	CHECK(run_clone(&b, 1, &fresh, 21, "mem=16M work=0 units=1", out,
			sizeof(out)) == 0);
	CHECK(strstr(out, "synth: done id=21 units=1"));
	free(data);
	mon_close(&b);
	mon_close(&a);
	return 0;
}

/*
 * Truncated, corrupted, garbage and wrong-kind bytes: load_template
 * accepts the call and refuses the bytes with a UKF_BE_ERROR naming the
 * problem; NULL bytes are refused at once; nothing is installed and the
 * node goes on.
 */
static int t_tmpl_corrupt(void)
{
	struct mon a, b;
	struct ukf_app app;
	struct ukvm_snap_buf d;
	void *data = NULL, *x = NULL;
	size_t len = 0, xl = 0;
	uint64_t bytes = 0, xb = 0;
	uint8_t *bad;
	char why[600], out[4096];
	int rc, t0, e0;

	if ((rc = mon_open(&a, 0)))
		return rc;
	if ((rc = mon_open(&b, 1))) {
		mon_close(&a);
		return rc;
	}
	app = mkapp(APP_SYNTH, "synth", "synth", MEM);
	CHECK(make_template(&a, 0, &app, 1) == 0);
	CHECK(OPS(&a)->export_template(B(&a), 0, APP_SYNTH, &data, &len,
				       &bytes) == 0);
	counts(&b, &t0, &e0);
	/* NULL: a bad call, refused at once with no event */
	CHECK(OPS(&b)->load_template(B(&b), 1, APP_SYNTH, NULL, len) ==
	      -EINVAL);
	/* truncated */
	CHECK(OPS(&b)->load_template(B(&b), 1, APP_SYNTH, data, len / 3) == 0);
	CHECK(next_error(&b, e0, why, sizeof(why)) == 0);
	printf("truncated: %s\n", why);
	CHECK(strstr(why, "refused") && strstr(why, "truncated"));
	/* one bit flipped in the middle */
	bad = malloc(len);
	CHECK(bad);
	memcpy(bad, data, len);
	bad[len / 2] ^= 0x10;
	CHECK(OPS(&b)->load_template(B(&b), 1, APP_SYNTH, bad, len) == 0);
	CHECK(next_error(&b, e0 + 1, why, sizeof(why)) == 0);
	printf("corrupted: %s\n", why);
	CHECK(strstr(why, "checksum mismatch"));
	free(bad);
	/* not a snapshot at all */
	CHECK(OPS(&b)->load_template(B(&b), 1, APP_SYNTH, "hello", 5) == 0);
	CHECK(next_error(&b, e0 + 2, why, sizeof(why)) == 0);
	printf("garbage: %s\n", why);
	CHECK(strstr(why, "truncated") || strstr(why, "not a ukfork snapshot"));
	/* a delta is no template */
	CHECK(forge(&d, UKVM_SNAP_DELTA, "synth", NULL, 0) == 0);
	CHECK(OPS(&b)->load_template(B(&b), 1, APP_SYNTH, d.data, d.len) == 0);
	CHECK(next_error(&b, e0 + 3, why, sizeof(why)) == 0);
	printf("delta: %s\n", why);
	CHECK(strstr(why, "not a template"));
	ukvm_snap_buf_free(&d);
	/* nothing installed, no template event */
	CHECK(b.templates == t0 && b.errors == e0 + 4);
	CHECK(OPS(&b)->export_template(B(&b), 1, APP_SYNTH, &x, &xl, &xb) ==
	      -ENOENT);
	/* the node goes on: the good bytes load and clone */
	CHECK(OPS(&b)->load_template(B(&b), 1, APP_SYNTH, data, len) == 0);
	CHECK(wait_for(&b, U_TEMPLATES, 0, t0 + 1) == 0);
	CHECK(run_clone(&b, 1, &app, 30, "mem=16M work=0 units=1", out,
			sizeof(out)) == 0);
	CHECK(strstr(out, "synth: done id=30 units=1"));
	free(data);
	mon_close(&b);
	mon_close(&a);
	return 0;
}

static const struct selftest tests[] = {
	{ "backend_registry", t_registry },
	{ "backend_is_image", t_is_image },
	{ "backend_tmpl_info", t_tmpl_info },
	{ "backend_tmpl_planted", t_tmpl_planted },
	{ "backend_tmpl_export", t_tmpl_export },
	{ "backend_tmpl_missing", t_tmpl_missing },
	{ "backend_tmpl_foreign", t_tmpl_foreign },
	{ "backend_tmpl_corrupt", t_tmpl_corrupt },
};

int main(int argc, char **argv)
{
	guest_dir = getenv("UKF_GUEST_DIR"); /* set by CTest */
	return selftest_main(tests, SELFTEST_COUNT(tests), argc, argv);
}
