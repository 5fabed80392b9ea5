/* SPDX-License-Identifier: MIT */
/* bb_ext.c - bootbench runner for external VMMs: sh -c, pipes, wait4. */
#define _GNU_SOURCE
#include "bb_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The command line with every "{i}" replaced by the instance number. */
static char *bb_subst(const char *cmd, uint32_t index)
{
	char num[16];
	size_t nl, n = 0, cap;
	const char *p;
	char *out;

	nl = (size_t)snprintf(num, sizeof(num), "%u", index);
	cap = strlen(cmd) + 1;
	for (p = cmd; (p = strstr(p, "{i}")); p += 3)
		cap += nl;
	out = malloc(cap);
	if (!out)
		return NULL;
	for (p = cmd; *p;) {
		if (!strncmp(p, "{i}", 3)) {
			memcpy(out + n, num, nl);
			n += nl;
			p += 3;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	return out;
}

static int bb_launch(const struct bb_opts *o, struct bb_inst *in, ukf_ns_t t0,
		     char *err, size_t errlen)
{
	char *line = bb_subst(o->cmd, in->index);
	int p[2];
	pid_t pid;

	if (!line) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s (raise the open-files limit for -j)",
			 strerror(errno));
		free(line);
		return -1;
	}
	in->t_launch = bb_now() - t0;
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		free(line);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		if (o->keep_running)
			signal(SIGPIPE, SIG_IGN);
		execl("/bin/sh", "sh", "-c", line, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid); /* also in the parent: no race with killpg */
	close(p[1]);
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	free(line);
	in->pid = pid;
	in->fd = p[0];
	return 0;
}

/* Read what is available; returns 1 at EOF. */
static int bb_drain(const struct bb_opts *o, struct bb_inst *in, ukf_ns_t t0)
{
	char buf[65536];

	for (;;) {
		ssize_t r = read(in->fd, buf, sizeof(buf));

		if (r > 0) {
			bb_feed(o, in, buf, (size_t)r, bb_now() - t0);
			continue;
		}
		if (r == 0)
			return 1;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? 0 : 1;
	}
}

static void bb_close(const struct bb_opts *o, struct bb_inst *in, ukf_ns_t t)
{
	if (in->fd >= 0) {
		bb_feed_end(o, in, t);
		close(in->fd);
		in->fd = -1;
	}
	in->eof = 1;
}

static void bb_reaped(struct bb_inst *in, int st, const struct rusage *ru,
		      ukf_ns_t t)
{
	in->reaped = 1;
	in->t_exit = t;
	if (in->killed)
		in->status = -1;
	else if (WIFEXITED(st))
		in->status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		in->status = 128 + WTERMSIG(st);
	in->cpu_s = (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
		    (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
	in->rss = (uint64_t)ru->ru_maxrss * 1024;
}

static void bb_kill(struct bb_inst *in, const char *why)
{
	if (why && !in->why[0])
		snprintf(in->why, sizeof(in->why), "%s", why);
	in->killed = 1;
	kill(-in->pid, SIGKILL);
}

int bb_run_external(const struct bb_opts *o, struct bb_inst *insts,
		    struct bb_result *res, char *err, size_t errlen)
{
	struct pollfd *pfd = calloc(o->parallel, sizeof(*pfd));
	uint32_t *pidx = calloc(o->parallel, sizeof(*pidx));
	uint32_t launched = 0, done = 0, i, first_alive = 0;
	ukf_ns_t t0 = bb_now();
	int rc = 0;

	res->mode = "external";
	res->backend = "external";
	snprintf(res->measures, sizeof(res->measures),
		 "wait4 rusage of the command: user+system CPU and max RSS of its process tree as reaped");
	if (!pfd || !pidx) {
		snprintf(err, errlen, "out of memory");
		free(pfd);
		free(pidx);
		return -1;
	}
	while (done < o->count) {
		uint32_t alive = launched - done, np = 0;
		ukf_ns_t now, next = -1;
		int timeout_ms, r;

		while (alive < o->parallel && launched < o->count) {
			if (bb_launch(o, &insts[launched], t0, err, errlen) < 0) {
				rc = -1;
				goto out;
			}
			launched++;
			alive++;
		}
		now = bb_now() - t0;
		while (first_alive < launched && insts[first_alive].done)
			first_alive++;
		for (i = first_alive; i < launched; i++) {
			struct bb_inst *in = &insts[i];
			ukf_ns_t d;

			if (in->done)
				continue;
			if (in->fd >= 0 && !in->eof && np < o->parallel) {
				pfd[np].fd = in->fd;
				pfd[np].events = POLLIN;
				pidx[np++] = i;
			}
			if (in->eof && !in->reaped)
				d = now + 5 * UKF_MS; /* pipe closed: poll for exit */
			else if (in->ok)
				d = in->t_marker + o->grace_ns;
			else
				d = in->t_launch + o->timeout_ns;
			if (next < 0 || d < next)
				next = d;
		}
		timeout_ms = next < 0 ? 100 : next <= now ? 0 :
			(int)((next - now + UKF_MS - 1) / UKF_MS);
		r = poll(pfd, np, timeout_ms);
		if (r < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			rc = -1;
			goto out;
		}
		for (i = 0; r > 0 && i < np; i++) {
			struct bb_inst *in = &insts[pidx[i]];

			if (pfd[i].revents && bb_drain(o, in, t0))
				bb_close(o, in, bb_now() - t0);
		}
		now = bb_now() - t0;
		for (i = first_alive; i < launched; i++) {
			struct bb_inst *in = &insts[i];
			struct rusage ru;
			int st;

			if (in->done)
				continue;
			if (!in->reaped) {
				pid_t w = wait4(in->pid, &st, WNOHANG, &ru);

				if (w == in->pid) {
					/* catch output written just before exit */
					if (in->fd >= 0 && bb_drain(o, in, t0) >= 0)
						bb_close(o, in, bb_now() - t0);
					bb_reaped(in, st, &ru, bb_now() - t0);
				}
			}
			if (!in->reaped && !in->killed) {
				if (in->ok && o->keep_running) {
					in->done = 1; /* left running */
					in->cpu_s = -1;
					done++;
					continue;
				}
				if (in->bad)
					bb_kill(in, NULL); /* why: the failure output */
				else if (in->ok && now >= in->t_marker + o->grace_ns)
					bb_kill(in, NULL);
				else if (!in->ok && now >= in->t_launch + o->timeout_ns) {
					char why[64];

					snprintf(why, sizeof(why),
						 "timeout: no marker within %lld ms",
						 (long long)(o->timeout_ns / UKF_MS));
					bb_kill(in, why);
				}
				if (in->killed) {
					pid_t w = wait4(in->pid, &st, 0, &ru);

					if (in->fd >= 0) {
						bb_drain(o, in, t0);
						bb_close(o, in, bb_now() - t0);
					}
					if (w == in->pid)
						bb_reaped(in, st, &ru, bb_now() - t0);
					else
						in->reaped = 1;
				}
			}
			if (in->reaped) {
				/* the command exited: stop what it left behind */
				if (!o->keep_running)
					kill(-in->pid, SIGKILL);
				if (in->fd >= 0)
					bb_close(o, in, bb_now() - t0);
				if (!in->ok && !in->why[0])
					snprintf(in->why, sizeof(in->why),
						 "exited with status %lld before the marker",
						 (long long)in->status);
				in->done = 1;
				done++;
			}
		}
	}
out:
	for (i = 0; i < launched; i++) {
		struct bb_inst *in = &insts[i];

		if (rc < 0 && !in->reaped && !in->done) {
			kill(-in->pid, SIGKILL);
			waitpid(in->pid, NULL, 0);
		}
		if (in->fd >= 0) {
			close(in->fd);
			in->fd = -1;
		}
	}
	res->t_end = bb_now() - t0;
	free(pfd);
	free(pidx);
	return rc;
}
