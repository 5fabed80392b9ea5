/* SPDX-License-Identifier: MIT */
/* keys.c - `ukfork keys NAME [--dir DIR] [--force]`: write a CURVE key pair as
 * NAME.key (0600) and NAME.pub. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "keys.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s NAME [--dir DIR] [--force]\n"
		"\n"
		"Make a CURVE key pair for a node agent or a client of a "
		"cluster:\n"
		"  DIR/NAME.key  the secret key, mode 0600 (only the owner "
		"reads it)\n"
		"  DIR/NAME.pub  the public key, for the cluster file's "
		"public_key\n"
		"one line of 40 Z85 characters each; prints the public key.\n"
		"\n"
		"  --dir DIR   where to write (default: the current "
		"directory)\n"
		"  --force     replace existing files (default: refuse)\n"
		"  --help      this text\n"
		"\n"
		"NAME: letters, digits, '_', '.', '-', not starting with "
		"'.'.\n"
		"Exit status: 0 done, 1 cannot write, 2 bad usage.\n",
		prog);
}

static int name_ok(const char *s)
{
	if (!*s || *s == '.' || strlen(s) > 200)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("_.-", *s)))
			return 0;
	return 1;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Create path exclusively (never through a symlink) with mode, write
 * line. 0, or -1 with errno. */
static int write_new(const char *path, mode_t mode, const char *line)
{
	int fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	int e;

	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) < 0 || write_all(fd, line, strlen(line)) < 0 ||
	    fsync(fd) < 0) {
		e = errno;
		close(fd);
		unlink(path);
		errno = e;
		return -1;
	}
	return close(fd);
}

/* Write line to a fresh temporary file next to path, then rename it over
 * path (which may exist; a symlink there is replaced, not followed). */
static int write_replace(const char *path, mode_t mode, const char *line)
{
	char tmp[4200];
	int fd, e;

	snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) < 0 || write_all(fd, line, strlen(line)) < 0 ||
	    fsync(fd) < 0 || close(fd) < 0) {
		e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (rename(tmp, path) < 0) {
		e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

int ukf_keys_main(int argc, char **argv)
{
	const char *prog = argc > 0 && argv[0] ? argv[0] : "ukfork keys";
	const char *name = NULL, *dir = ".";
	char pub[41], sec[41], line[48], kpath[4096], ppath[4096];
	struct stat st;
	int force = 0, rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout, prog);
			return 0;
		} else if (!strcmp(a, "--force")) {
			force = 1;
		} else if (!strcmp(a, "--dir")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: --dir needs a directory\n",
					prog);
				return 2;
			}
			dir = argv[++i];
		} else if (!strncmp(a, "--dir=", 6)) {
			dir = a + 6;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "%s: unknown option %s (--help)\n",
				prog, a);
			return 2;
		} else if (name) {
			fprintf(stderr, "%s: one NAME only ('%s', then '%s')\n",
				prog, name, a);
			return 2;
		} else {
			name = a;
		}
	}
	if (!name) {
		usage(stderr, prog);
		return 2;
	}
	if (!name_ok(name)) {
		fprintf(stderr,
			"%s: bad NAME '%s': letters, digits, '_', '.', '-', "
			"not starting with '.'\n",
			prog, name);
		return 2;
	}
	if (!*dir) {
		fprintf(stderr, "%s: --dir is empty\n", prog);
		return 2;
	}
	if (stat(dir, &st) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: %s: not a directory\n", prog, dir);
		return 1;
	}
	snprintf(kpath, sizeof(kpath), "%s/%s.key", dir, name);
	snprintf(ppath, sizeof(ppath), "%s/%s.pub", dir, name);
	if (!force) {
		if (lstat(kpath, &st) == 0 || lstat(ppath, &st) == 0) {
			fprintf(stderr,
				"%s: %s exists; not replacing a key pair "
				"(--force replaces it)\n",
				prog, lstat(kpath, &st) == 0 ? kpath : ppath);
			return 1;
		}
	}
	if (zmq_curve_keypair(pub, sec) < 0) {
		fprintf(stderr, "%s: cannot make a key pair: %s\n", prog,
			zmq_strerror(errno));
		return 1;
	}
	snprintf(line, sizeof(line), "%s\n", sec);
	rc = force ? write_replace(kpath, 0600, line)
		   : write_new(kpath, 0600, line);
	explicit_bzero(line, sizeof(line));
	explicit_bzero(sec, sizeof(sec));
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, kpath, strerror(errno));
		return 1;
	}
	snprintf(line, sizeof(line), "%s\n", pub);
	rc = force ? write_replace(ppath, 0644, line)
		   : write_new(ppath, 0644, line);
	if (rc < 0) {
		int e = errno;

		/* no half pair: the secret without its public key is useless */
		if (!force)
			unlink(kpath);
		fprintf(stderr, "%s: %s: %s%s\n", prog, ppath, strerror(e),
			force ? " (the .key was replaced: run again)" : "");
		return 1;
	}
	printf("%s\n", pub);
	return 0;
}
