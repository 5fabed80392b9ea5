/* SPDX-License-Identifier: MIT */
/* xen_ops_test.c - the xen backend's operations refusing what an engine must not ask, in dom0 (tests/xen/xen_ops.sh). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/registry.h"
#include "core/ukf.h"
#include "include/ukf_abi.h"
#include "tests/xen/open_backend.h"

#define SELFTEST_COUNTING
#include "tests/common/selftest.h"

/*
 * usage: xen-ops-test IMAGE TPLDIR (the Xen build of hello), in dom0. A
 * backend limited to 2 VMs, held at ready (an engine's mode): hello is
 * booted as instance 1 and reaches ready; then each operation an engine
 * could call wrongly answers with its error and no VM is harmed: instance
 * 0 or one in use (-EINVAL, -EEXIST), an app without an image, an argument
 * string over the ABI's maximum (a failure event naming it), a third VM
 * past max_vms (-ENOMEM), complete/make_template of an unknown instance
 * (-ESRCH), a second template of instance 1 while the first is being
 * saved (-EBUSY), load_template (-ENOSYS: files only), clone_template
 * without an app (-EINVAL), clone_live of child 0, of a child in use, of a
 * parent that is not in fork() (-EINVAL, -EEXIST, -ESRCH). The template is
 * made, dropped (its file removed), and instance 1 goes on from ready to
 * exit 0. UKF_XEN_DEBUG=1 is set, so libxl's own messages are printed.
 * Exit 0 if every check held.
 */

static int failures; /* CHECK counts here (tests/common/selftest.h) */

struct sink {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int ready1, exit1, tpl, tpl_err, load_refused;
	char load_why[512]; /* the ERROR that refused load_template's bytes */
	int64_t status1;
	char fail[8][512]; /* FAIL text of instances 0..7 */
};

static void on_event(void *u, ukf_node_id_t node, const struct ukf_be_event *ev)
{
	struct sink *s = u;

	pthread_mutex_lock(&s->lock);
	if (ev->kind == UKF_BE_READY && ev->inst == 1)
		s->ready1 = 1;
	if (ev->kind == UKF_BE_EXIT && ev->inst == 1) {
		s->exit1 = 1;
		s->status1 = ev->status;
	}
	if (ev->kind == UKF_BE_TEMPLATE)
		s->tpl = 1;
	if (ev->kind == UKF_BE_ERROR && ev->inst == 0 && ev->text &&
	    strstr(ev->text, "refused: truncated")) {
		s->load_refused = 1;
		snprintf(s->load_why, sizeof(s->load_why), "%s", ev->text);
	} else if (ev->kind == UKF_BE_ERROR && ev->inst == 0) {
		s->tpl = s->tpl_err = 1;
	}
	if (ev->kind == UKF_BE_FAIL && ev->inst < 8) {
		snprintf(s->fail[ev->inst], sizeof(s->fail[0]), "%s",
			 ev->text ? ev->text : "");
		if (ev->inst == 1)
			s->exit1 = 1;
	}
	if (ev->kind == UKF_BE_CONSOLE)
		printf("[%llu] %.*s\n", (unsigned long long)ev->inst,
		       (int)ev->len, (const char *)ev->data);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Wait (s->lock held) until *flag, at most secs (a hang guard). */
static int wait_for(struct sink *s, const int *flag, int secs)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	while (!*flag)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &ts))
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct sink s;
	const struct ukf_backend_driver *d;
	const struct ukf_backend_ops *o;
	struct ukf_backend be;
	struct ukf_app app, noimg;
	char err[1024], tpl[600], *longargs;
	void *b;
	int e;

	if (argc != 3) {
		fprintf(stderr, "usage: %s IMAGE TPLDIR\n", argv[0]);
		return 2;
	}
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	setenv("UKF_XEN_DEBUG", "1", 1);
	d = xt_open_backend(argv[2], 2, 300, on_event, &s, &be);
	if (!d)
		return 1;
	o = be.ops;
	b = be.b;
	CHECK(ukf_app_parse(&app, "hello", "", err, sizeof(err)) == 0);
	snprintf(app.image, sizeof(app.image), "%s", argv[1]);
	app.mem_bytes = 32ULL << 20;
	noimg = app;
	noimg.image[0] = '\0';

	CHECK(o->cold_boot(b, 0, 0, &app, "") == -EINVAL);
	CHECK(o->cold_boot(b, 0, 1, &app, "") == 0);
	CHECK(o->cold_boot(b, 0, 1, &app, "") == -EEXIST);
	/* refused with a failure event, not a code: the engine reports it */
	CHECK(o->cold_boot(b, 0, 3, &noimg, "") == 0);
	longargs = malloc(UKF_ARGS_MAX + 1);
	memset(longargs, 'a', UKF_ARGS_MAX);
	longargs[UKF_ARGS_MAX] = '\0';
	CHECK(o->cold_boot(b, 0, 4, &app, longargs) == 0);
	free(longargs);
	pthread_mutex_lock(&s.lock);
	printf("fail 3: %s\nfail 4: %s\n", s.fail[3], s.fail[4]);
	CHECK(strstr(s.fail[3], "cold boot: the app has no guest image"));
	CHECK(strstr(s.fail[4], "cold boot: argument string longer than"));
	CHECK(wait_for(&s, &s.ready1, 240) == 0);
	pthread_mutex_unlock(&s.lock);

	/* instance 1 held at ready: the limit, unknown instances, templates */
	CHECK(o->cold_boot(b, 0, 5, &app, "") == 0); /* 2 of max 2 */
	CHECK(o->cold_boot(b, 0, 6, &app, "") == -ENOMEM);
	o->destroy(b, 0, 5);
	CHECK(o->complete(b, 0, 7, 0, 0, 0, NULL, 0) == -ESRCH);
	CHECK(o->make_template(b, 0, 7, app.id) == -ESRCH);
	CHECK(o->make_template(b, 0, 1, app.id) == 0);
	CHECK(o->make_template(b, 0, 1, app.id) == -EBUSY);
	/* bytes are taken, checked in the background, refused by an event */
	CHECK(o->load_template(b, 0, app.id, "x", 1) == 0);
	CHECK(o->clone_template(b, 0, 6, NULL, "") == -EINVAL);
	CHECK(o->clone_live(b, 0, 0, 1) == -EINVAL);
	CHECK(o->clone_live(b, 0, 1, 1) == -EEXIST);
	CHECK(o->clone_live(b, 0, 6, 1) == -ESRCH); /* 1 is not in fork() */
	pthread_mutex_lock(&s.lock);
	CHECK(wait_for(&s, &s.tpl, 240) == 0);
	CHECK(!s.tpl_err);
	CHECK(wait_for(&s, &s.load_refused, 240) == 0);
	printf("load refused: %s\n", s.load_why);
	CHECK(strstr(s.load_why, "truncated: 1 bytes"));
	pthread_mutex_unlock(&s.lock);
	snprintf(tpl, sizeof(tpl), "%s/ukf-xen-n0-a%u.tpl", argv[2],
		 (unsigned)app.id);
	CHECK(access(tpl, F_OK) == 0);
	o->drop_template(b, 0, app.id);
	o->drop_template(b, 0, app.id); /* none left: nothing happens */
	CHECK(access(tpl, F_OK) < 0);
	CHECK(o->clone_template(b, 0, 6, &app, "") == -ENOENT);

	CHECK(o->complete(b, 0, 1, 0, 0, 0, NULL, 0) == 0);
	pthread_mutex_lock(&s.lock);
	CHECK(wait_for(&s, &s.exit1, 240) == 0);
	printf("instance 1: exit %lld%s%s\n", (long long)s.status1,
	       s.fail[1][0] ? ", failed: " : "", s.fail[1]);
	CHECK(s.status1 == 0 && !s.fail[1][0]);
	pthread_mutex_unlock(&s.lock);
	o->destroy(b, 0, 1);
	o->destroy(b, 0, 1); /* gone already: nothing happens */
	d->destroy(&be);
	d->destroy(&be); /* destroyed already: nothing happens */
	e = failures != 0;
	printf(e ? "FAILED\n" : "PASS\n");
	return e;
}
