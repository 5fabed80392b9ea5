/* SPDX-License-Identifier: MIT */
/* xen_image_test.c - the registry's "xen" driver without a Xen host: entry, image check, reason. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backends/registry.h"

#define SELFTEST_COUNTING
#include "tests/common/selftest.h"

/*
 * usage: xen-image-test BUILD. Runs on any machine (no Xen needed): what a
 * world asks of the driver before it boots anything - found by name, its
 * image directory, which files are Xen PV images (the Xen build of every
 * app is, its KVM build, a text file and a missing path are not, each with
 * a reason), and, off dom0, why it is not available.
 */

static int failures; /* CHECK counts here (tests/common/selftest.h) */

static void on_event(void *u, ukf_node_id_t node, const struct ukf_be_event *ev)
{
}

static int is_image(const struct ukf_backend_driver *d, const char *path,
		    char *why, size_t len)
{
	why[0] = '\0';
	int r = d->is_image(path, why, len);
	printf("is_image(%s) = %d%s%s\n", path, r, why[0] ? ": " : "", why);
	return r;
}

int main(int argc, char **argv)
{
	const struct ukf_backend_driver *d = ukf_backend_driver_find("xen");
	const char *apps[] = {"hello", "synth", "fanout", "test-abi",
			      "test-fault"};
	char path[512], why[512], names[128];
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: %s BUILD\n", argv[0]);
		return 2;
	}
	CHECK(d != NULL);
	if (!d)
		return 1;
	CHECK(!strcmp(d->name, "xen"));
	CHECK(d->summary && d->summary[0]);
	CHECK(!strcmp(d->image_dir, "guest-xen"));
	ukf_backend_driver_names(names, sizeof(names));
	printf("backends: %s\n", names);
	CHECK(strstr(names, "xen") != NULL);

	for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]); i++) {
		snprintf(path, sizeof(path), "%s/guest-xen/%s", argv[1],
			 apps[i]);
		CHECK(is_image(d, path, why, sizeof(why)) == 1);
		snprintf(path, sizeof(path), "%s/guest/%s", argv[1], apps[i]);
		if (access(path, R_OK) == 0) {
			CHECK(is_image(d, path, why, sizeof(why)) == 0);
			CHECK(
			    strstr(why, "a PVH/KVM image, not a Xen PV image"));
		}
	}
	snprintf(path, sizeof(path), "%s/xen-image-test.txt", argv[1]);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("not an image\n", f);
		fclose(f);
		CHECK(is_image(d, path, why, sizeof(why)) == 0);
		CHECK(strstr(why, "not an ELF file"));
		unlink(path);
	}
	CHECK(is_image(d, "/nonexistent/hello", why, sizeof(why)) == 0);
	CHECK(strstr(why, "No such file or directory"));
	snprintf(path, sizeof(path), "%s/guest-xen", argv[1]);
	CHECK(is_image(d, path, why, sizeof(why)) == 0);
	CHECK(strstr(why, "not a regular file"));

	if (access("/dev/xen/privcmd", F_OK) < 0 &&
	    access("/proc/xen/privcmd", F_OK) < 0) {
		struct ukf_backend_config c;
		struct ukf_backend be;
		char err[512];

		why[0] = '\0';
		CHECK(d->available(why, sizeof(why)) == 0);
		printf("available: 0: %s\n", why);
		CHECK(strstr(why, "not a Xen control domain"));
		ukf_backend_config_default(&c);
		c.event = on_event;
		CHECK(ukf_backend_open("xen", &c, &be, err, sizeof(err)) ==
		      NULL);
		printf("open: %s\n", err);
		CHECK(strstr(err, "backend xen is not available here"));
	}
	printf(failures ? "FAILED\n" : "PASS\n");
	return failures != 0;
}
