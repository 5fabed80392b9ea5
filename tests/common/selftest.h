/* SPDX-License-Identifier: MIT */
/* selftest.h - the CHECK macro and test registry (--run NAME, --list) shared by ukfork's C self-test programs. */
#ifndef UKF_SELFTEST_H
#define UKF_SELFTEST_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Exit code of a test (and of the program) that could not run here. */
#define SKIP 77

#ifdef SELFTEST_COUNTING
/*
 * Programs that define SELFTEST_COUNTING before including this and have
 * their own `static int failures`: when c is false, print
 * "FILE:LINE: check failed: c" on stderr, count one more failure and go
 * on with the test.
 */
#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n",          \
				__FILE__, __LINE__, #c);                      \
			failures++;                                           \
		}                                                             \
	} while (0)
/* The same, saying why in printf style: CHECKF(n == 2, "n is %d", n). */
#define CHECKF(c, ...)                                                        \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);       \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
			failures++;                                           \
		}                                                             \
	} while (0)
#else
/*
 * In a test function returning int: when c is false, print
 * "FILE:LINE: check failed: c" on stderr and fail the test (return 1).
 */
#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n",          \
				__FILE__, __LINE__, #c);                      \
			return 1;                                             \
		}                                                             \
	} while (0)
/* The same, saying why in printf style: CHECKF(n == 2, "n is %d", n). */
#define CHECKF(c, ...)                                                        \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);       \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
			return 1;                                             \
		}                                                             \
	} while (0)
#endif

/* One self-test: 0 passed, SKIP could not run here, anything else failed. */
struct selftest {
	const char *name;
	int (*fn)(void);
};

#define SELFTEST_COUNT(reg) (sizeof(reg) / sizeof((reg)[0]))

/* The test of reg[0..n) called name, or NULL if there is none. */
/* Write text to path (created or truncated): 0, or -1 if it could not be
 * opened or written. */
static inline int selftest_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	int bad = fputs(text, f) < 0;
	return fclose(f) != 0 || bad ? -1 : 0;
}

static inline const struct selftest *
selftest_find(const struct selftest *reg, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(reg[i].name, name))
			return &reg[i];
	return NULL;
}

/* Print the names of reg[0..n) on stdout, one a line; returns 0. */
static inline int selftest_list(const struct selftest *reg, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s\n", reg[i].name);
	return 0;
}

/*
 * The registry's own command lines: "--list" prints the names (*rc 0);
 * "--run NAME" runs that test, *rc what it returned, or prints
 * "unknown test NAME" on stderr (*rc 2) if there is none. Returns 1 when
 * it handled the command line, 0 for any other one, which the caller
 * handles (usage, run all).
 */
static inline int selftest_dispatch(const struct selftest *reg, size_t n,
				    int argc, char **argv, int *rc)
{
	const struct selftest *t;

	if (argc == 2 && !strcmp(argv[1], "--list")) {
		*rc = selftest_list(reg, n);
		return 1;
	}
	if (argc != 3 || strcmp(argv[1], "--run"))
		return 0;
	t = selftest_find(reg, n, argv[2]);
	if (t) {
		*rc = t->fn();
	} else {
		fprintf(stderr, "unknown test %s\n", argv[2]);
		*rc = 2;
	}
	return 1;
}

/*
 * main() of a program that only runs its tests one by name: "--run NAME"
 * or "--list" as selftest_dispatch, anything else a usage line (2).
 */
static inline int selftest_main(const struct selftest *reg, size_t n,
				int argc, char **argv)
{
	int rc;

	if (selftest_dispatch(reg, n, argc, argv, &rc))
		return rc;
	fprintf(stderr, "usage: %s --run NAME | --list\n", argv[0]);
	return 2;
}

/* Run t and print "NAME: ok", "NAME: skipped" or "NAME: FAIL" on stdout:
 * 0 passed, SKIP could not run here, else 1. */
static inline int selftest_run_print(const struct selftest *t)
{
	int rc = t->fn();

	printf("%s: %s\n", t->name,
	       rc == SKIP ? "skipped" : rc ? "FAIL" : "ok");
	return rc == SKIP ? SKIP : rc ? 1 : 0;
}

/* Every test of reg[0..n) in order, each printed as selftest_run_print:
 * 0 if all passed, else 1. */
static inline int selftest_run_all_print(const struct selftest *reg, size_t n)
{
	int fails = 0;

	for (size_t i = 0; i < n; i++)
		fails += selftest_run_print(&reg[i]) == 1;
	return fails ? 1 : 0;
}

/*
 * The command lines of a program that prints each result: "--list" as
 * selftest_list; "--run NAME" as selftest_run_print, or "unknown test
 * 'NAME' (--list)" on stderr (*rc 2); no arguments, selftest_run_all_print.
 * Returns 1 when it handled the command line (*rc the exit code), 0 for
 * any other one, which the caller handles (its own options, usage).
 */
static inline int selftest_dispatch_print(const struct selftest *reg,
					  size_t n, int argc, char **argv,
					  int *rc)
{
	const struct selftest *t;

	if (argc == 1) {
		*rc = selftest_run_all_print(reg, n);
		return 1;
	}
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		*rc = selftest_list(reg, n);
		return 1;
	}
	if (argc != 3 || strcmp(argv[1], "--run"))
		return 0;
	t = selftest_find(reg, n, argv[2]);
	if (t) {
		*rc = selftest_run_print(t);
	} else {
		fprintf(stderr, "unknown test '%s' (--list)\n", argv[2]);
		*rc = 2;
	}
	return 1;
}

/* main() of a program whose only command lines are selftest_dispatch_print's:
 * anything else a usage line (2). */
static inline int selftest_main_print(const struct selftest *reg, size_t n,
				      int argc, char **argv)
{
	int rc;

	if (selftest_dispatch_print(reg, n, argc, argv, &rc))
		return rc;
	fprintf(stderr, "usage: %s [--list | --run NAME]\n", argv[0]);
	return 2;
}

#endif /* UKF_SELFTEST_H */
