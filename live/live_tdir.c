/* SPDX-License-Identifier: MIT */
/* live_tdir.c - templates on disk: a node's templates saved at the end of a run, loaded at the start of the next (through the backend's ops only). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live_int.h"
#include "include/ukf_abi.h"

/* Templates on disk: DIR/APP.ukft. */
#define LW_TMPL_EXT ".ukft"
/* A template file larger than this is refused unread (about the largest
 * guest memory plus its metadata). */
#define LW_TMPL_MAX ((uint64_t)UKF_MEM_MAX + (64ULL << 20))

void lw_warn(struct live_world *w, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "live: warning: %s\n", line);
	if (w->sinks.log)
		w->sinks.log(w->sinks.u, lw_now(w), w->cfg.engine.self, line);
}

/* The file state of app (growing the table), or NULL. */
static uint8_t *tfile(struct live_world *w, uint32_t app)
{
	if (app >= w->ntfile) {
		uint32_t n = app + 8;
		uint64_t *v = realloc(w->tfile_ver, n * sizeof(*v));
		if (!v)
			return NULL;
		memset(v + w->ntfile, 0, (n - w->ntfile) * sizeof(*v));
		w->tfile_ver = v;
		uint8_t *p = realloc(w->tfile, n);

		if (!p)
			return NULL;
		memset(p + w->ntfile, 0, n - w->ntfile);
		w->tfile = p;
		w->ntfile = n;
	}
	return &w->tfile[app];
}

/* A template version made from a file's bytes (FNV-1a over 64-bit words,
 * then the tail; never 0). */
static uint64_t bytes_version(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t h = 0xcbf29ce484222325ULL, x;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&x, p + i, 8);
		h = (h ^ x) * 0x100000001b3ULL;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	h ^= len;
	return h ? h : 1;
}

/*
 * Events of the node's own loads of template files are the template dir's:
 * the engine adopts the template (ukf_engine_template_loaded), or a warning
 * says why the backend refused it. A template of an app made or fetched
 * since marks its file as out of date.
 */
int lw_tdir_event(struct live_world *w, const struct ukf_be_event *ev)
{
	uint8_t *tf;
	int rc;

	if (ev->kind != UKF_BE_TEMPLATE &&
	    !(ev->kind == UKF_BE_ERROR && ev->inst == 0))
		return 0;
	if (ev->app >= w->ntfile)
		return 0;
	tf = &w->tfile[ev->app];
	if (*tf != LW_TF_LOADING) {
		if (ev->kind == UKF_BE_TEMPLATE && *tf == LW_TF_LOADED)
			*tf = LW_TF_CHANGED; /* the engine has a newer one */
		return 0;
	}
	const struct ukf_app *a = ukf_apps_get(w->apps, ev->app);
	if (ev->kind == UKF_BE_ERROR) {
		*tf = LW_TF_NONE;
		lw_warn(w, "template dir: skipped %s%s: %s",
			a ? a->name : "?", LW_TMPL_EXT,
			ev->text ? ev->text : "refused by the backend");
		return 1;
	}
	/* the same file loaded on two nodes is one template: its version
	 * comes from its bytes */
	rc = ukf_engine_template_loaded_version(w->eng, w->cfg.engine.self,
						ev->app, ev->bytes,
						w->tfile_ver[ev->app]);
	if (rc == 0) {
		*tf = LW_TF_LOADED;
		return 1;
	}
	*tf = LW_TF_NONE;
	if (rc != -EEXIST) {
		/* the engine has no room for it: the backend drops its copy */
		w->be.ops->drop_template(w->be.b, w->cfg.engine.self, ev->app);
		lw_warn(w, "template dir: skipped %s%s: the engine refused it (%s)",
			a ? a->name : "?", LW_TMPL_EXT, strerror(-rc));
	}
	return 1;
}

/*
 * Who may have written what is in the template dir (docs/security.md): the
 * dir and every file in it belong to this process's effective user and
 * nobody else can write them. A template is code and data the monitor
 * runs, so a file someone else could plant or change is refused.
 */
static int owned_by_us(const struct stat *st, char *why, size_t whylen)
{
	if (st->st_uid != geteuid()) {
		snprintf(why, whylen, "owned by uid %u, not by this user (uid %u)",
			 (unsigned)st->st_uid, (unsigned)geteuid());
		return -1;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, whylen,
			 "writable by %s (mode %04o): anyone could plant templates",
			 st->st_mode & S_IWOTH ? "others" : "its group",
			 (unsigned)(st->st_mode & 07777));
		return -1;
	}
	return 0;
}

int lw_tdir_dir_ok(const char *dir, char *why, size_t whylen)
{
	struct stat st;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return owned_by_us(&st, why, whylen);
}

int lw_tdir_read_file(const char *path, void **data, size_t *len, char *why,
		      size_t whylen)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	/* O_NONBLOCK: a FIFO's open must not wait for a writer;
	 * O_NOFOLLOW: a symlink in the dir is not a template of ours */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW |
				    O_NOCTTY);

	if (fd < 0) {
		snprintf(why, whylen, "%s",
			 errno == ELOOP ? "a symlink, not a regular file"
					: strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file%s",
			 S_ISFIFO(st.st_mode) ? " (a FIFO)" : "");
		close(fd);
		return -1;
	}
	if (owned_by_us(&st, why, whylen) < 0) {
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > LW_TMPL_MAX) {
		snprintf(why, whylen, "%lld bytes, larger than any template",
			 (long long)st.st_size);
		close(fd);
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(why, whylen, "out of memory");
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(why, whylen, "%s",
				 r < 0 ? strerror(errno) : "shorter than it was");
			free(buf);
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	*data = buf;
	*len = got;
	return 0;
}

/*
 * Check and load DIR/NAME.ukft; the backend answers with an event (caught
 * by lw_tdir_event). 1 if handed to the backend, 0 if skipped.
 */
static int lw_load_one(struct live_world *w, const char *path,
		       const char *name)
{
	struct ukf_template_info info;
	const struct ukf_app *a;
	char why[512];
	void *data = NULL;
	size_t len = 0;
	uint8_t *tf;
	int app, rc;

	app = ukf_apps_find(w->apps, name);
	a = app >= 0 ? ukf_apps_get(w->apps, (uint32_t)app) : NULL;
	if (!a) {
		lw_warn(w, "template dir: skipped %s: no app named '%s' is registered",
			path, name);
		return 0;
	}
	if (lw_tdir_read_file(path, &data, &len, why, sizeof(why)) < 0) {
		lw_warn(w, "template dir: skipped %s: %s", path, why);
		return 0;
	}
	why[0] = '\0';
	if (!w->be.ops->template_info ||
	    (rc = w->be.ops->template_info(w->be.b, a, data, len, &info, why,
					   sizeof(why))) < 0) {
		lw_warn(w, "template dir: skipped %s: %s", path,
			why[0] ? why
			       : "the backend cannot check template files");
		free(data);
		return 0;
	}
	tf = tfile(w, (uint32_t)app);
	if (!tf) {
		lw_warn(w, "template dir: skipped %s: out of memory", path);
		free(data);
		return 0;
	}
	*tf = LW_TF_LOADING;
	w->tfile_ver[app] = bytes_version(data, len);
	rc = w->be.ops->load_template(w->be.b, w->cfg.engine.self,
				      (uint32_t)app, data, len);
	free(data);
	if (rc < 0) {
		*tf = LW_TF_NONE;
		lw_warn(w, "template dir: skipped %s: the backend refused it (%s)",
			path, strerror(-rc));
		return 0;
	}
	return 1;
}

/* Wait until the backend has answered every load (bounded). */
static void lw_await_loads(struct live_world *w)
{
	for (int tries = 0; tries < 500; tries++) {
		struct ukf_evq_item *it, *keep = NULL, **tail = &keep;
		int pending = 0;

		while ((it = ukf_evq_pop(w->q))) {
			if (lw_tdir_event(w, &it->ev)) {
				free(it);
				continue;
			}
			*tail = it; /* another event: kept for the engine */
			tail = &it->next;
		}
		while (keep) {
			it = keep;
			keep = it->next;
			it->next = NULL;
			ukf_evq_push(w->q, it->node, &it->ev, it->ev.at);
			free(it);
		}
		for (uint32_t k = 0; k < w->ntfile; k++)
			pending += w->tfile[k] == LW_TF_LOADING;
		if (!pending)
			return;
		ukf_evq_wait(w->q, 10 * UKF_MS);
	}
	for (uint32_t k = 0; k < w->ntfile; k++)
		if (w->tfile[k] == LW_TF_LOADING) {
			const struct ukf_app *a = ukf_apps_get(w->apps, k);
			w->tfile[k] = LW_TF_NONE;
			lw_warn(w, "template dir: %s%s: the backend did not answer within 5 s",
				a ? a->name : "?", LW_TMPL_EXT);
		}
}

int lw_load_templates(struct live_world *w, char *err, size_t errlen)
{
	const char *dir = w->cfg.template_dir;
	struct dirent **ents = NULL;
	int n, i, loaded = 0;

	char why[256];

	w->tdir_loaded = 1;
	if (access(dir, F_OK) < 0 && errno == ENOENT)
		return 0; /* nothing saved yet */
	if (lw_tdir_dir_ok(dir, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "template dir %s refused: %s", dir, why);
		lw_warn(w, "%s", err);
		return -1;
	}
	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		if (errno == ENOENT)
			return 0; /* nothing saved yet */
		snprintf(err, errlen, "template dir %s: %s", dir,
			 strerror(errno));
		lw_warn(w, "%s", err);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *f = ents[i]->d_name;
		size_t fl = strlen(f), el = strlen(LW_TMPL_EXT);
		char path[PATH_MAX], name[UKF_APP_NAME_MAX];
		int k;

		if (f[0] == '.' || fl <= el || strcmp(f + fl - el, LW_TMPL_EXT))
			continue; /* not ours (temp files start with '.') */
		k = snprintf(path, sizeof(path), "%s/%s", dir, f);
		if (k < 0 || (size_t)k >= sizeof(path) ||
		    fl - el >= sizeof(name)) {
			lw_warn(w, "template dir: skipped %s/%s: name too long",
				dir, f);
			continue;
		}
		memcpy(name, f, fl - el);
		name[fl - el] = '\0';
		lw_load_one(w, path, name);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	lw_await_loads(w);
	for (uint32_t k = 0; k < w->ntfile; k++)
		loaded += w->tfile[k] == LW_TF_LOADED;
	return loaded;
}

int lw_tdir_write(const char *dir, const char *name, const void *data,
		  size_t len, char *why, size_t whylen)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	const char *p = data;
	int fd, k;

	k = snprintf(path, sizeof(path), "%s/%s" LW_TMPL_EXT, dir, name);
	if (k < 0 || (size_t)k >= sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s" LW_TMPL_EXT ".XXXXXX", dir,
		     name) >= (int)sizeof(tmp)) {
		snprintf(why, whylen, "path too long");
		return -1;
	}
	/* O_EXCL, mode 0600: a planted file or link is never opened */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	while (len) {
		ssize_t r = write(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(why, whylen, "%s", strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		p += r;
		len -= (size_t)r;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int lw_save_templates(struct live_world *w, char *err, size_t errlen)
{
	const char *dir = w->cfg.template_dir;
	const struct ukf_app *a;
	uint32_t app;
	int saved = 0;

	char dwhy[256];

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "template dir %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	if (lw_tdir_dir_ok(dir, dwhy, sizeof(dwhy)) < 0) {
		snprintf(err, errlen, "template dir %s refused: %s", dir, dwhy);
		return -1;
	}
	if (!w->be.ops->export_template) {
		snprintf(err, errlen, "template dir %s: backend %s cannot export templates",
			 dir, w->drv->name);
		return -1;
	}
	for (app = 0; (a = ukf_apps_get(w->apps, app)) != NULL; app++) {
		char why[512];
		void *data = NULL;
		size_t len = 0;
		uint64_t bytes = 0;
		int rc;

		/* only apps whose name makes a plain file name */
		if (!a->name[0] || a->name[0] == '.' || strchr(a->name, '/'))
			continue;
		if (app < w->ntfile && w->tfile[app] == LW_TF_LOADED)
			continue; /* the one loaded from its file: unchanged */
		rc = w->be.ops->export_template(w->be.b, w->cfg.engine.self,
						app, &data, &len, &bytes);
		if (rc == -ENOENT)
			continue; /* no template of it on this node */
		if (rc < 0 || !data) {
			lw_warn(w, "template dir: not saved: %s/%s" LW_TMPL_EXT
				": %s", dir, a->name,
				rc < 0 ? strerror(-rc) : "no bytes to save");
			free(data);
			continue;
		}
		if (lw_tdir_write(dir, a->name, data, len, why, sizeof(why)) < 0)
			lw_warn(w, "template dir: not saved: %s/%s" LW_TMPL_EXT
				": %s", dir, a->name, why);
		else
			saved++;
		free(data);
	}
	return saved;
}

static struct live_world *lw_tdir_of(struct ukf_world *world, char *err,
				     size_t errlen)
{
	struct live_world *w = lw_of(world, err, errlen);

	if (!w)
		return NULL;
	if (!w->cfg.template_dir || !*w->cfg.template_dir) {
		snprintf(err, errlen, "no template dir");
		return NULL;
	}
	return w;
}

int ukf_live_load_templates(struct ukf_world *world, char *err, size_t errlen)
{
	struct live_world *w = lw_tdir_of(world, err, errlen);

	return w ? lw_load_templates(w, err, errlen) : -1;
}

int ukf_live_save_templates(struct ukf_world *world, char *err, size_t errlen)
{
	struct live_world *w = lw_tdir_of(world, err, errlen);

	return w ? lw_save_templates(w, err, errlen) : -1;
}
