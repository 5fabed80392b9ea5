/* SPDX-License-Identifier: MIT */
/* driver.c - the KVM monitor as a driver of the backend registry (create by name, image check). */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../registry.h"
#include "ukvm_int.h"

static int drv_available(char *why, size_t len)
{
	return ukvm_available(why, len);
}

static int drv_create(const struct ukf_backend_config *c,
		      struct ukf_backend *out, char *err, size_t errlen)
{
	struct ukvm_config vc;
	ukvm_t *m;

	memset(&vc, 0, sizeof(vc));
	vc.event = c->event;
	vc.u = c->u;
	vc.node = c->node;
	vc.pause_on_ready = c->pause_on_ready;
	vc.run_limit_ns = c->run_limit_ns;
	vc.max_vms = c->max_vms;
	vc.max_mem_bytes = c->max_mem_bytes;
	vc.shell_pool = c->shell_pool;
	m = ukvm_create(&vc, err, errlen);
	if (!m)
		return -1;
	out->ops = &ukvm_backend_ops;
	out->b = m;
	return 0;
}

static void drv_destroy(struct ukf_backend *be)
{
	ukvm_t *m;

	if (!be)
		return;
	m = be->b;
	ukvm_destroy(&m);
	be->b = NULL;
	be->ops = NULL;
}

/*
 * A cheap look at the ELF header first (a directory may hold large files
 * that are no images), then the monitor's own loader, which validates
 * everything a cold boot would.
 */
static int drv_is_image(const char *path, char *why, size_t len)
{
	Elf64_Ehdr eh;
	struct stat st;
	struct ukvm_image *img;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return 0;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, len, "%s: not a regular file", path);
		close(fd);
		return 0;
	}
	n = read(fd, &eh, sizeof(eh));
	close(fd);
	if (n != (ssize_t)sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
		snprintf(why, len, "%s: not an ELF file", path);
		return 0;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
		snprintf(why, len, "%s: not an x86-64 ELF64 image", path);
		return 0;
	}
	img = ukvm_image_load(path, why, len);
	if (!img)
		return 0;
	ukvm_image_free(img);
	return 1;
}

const struct ukf_backend_driver ukvm_driver = {
	.name = "kvm",
	.summary = "Linux KVM (/dev/kvm): unikernel VMs in this process, templates and fork",
	.image_dir = "guest",
	.available = drv_available,
	.create = drv_create,
	.destroy = drv_destroy,
	.is_image = drv_is_image,
};
