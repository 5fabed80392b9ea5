/* SPDX-License-Identifier: MIT */
/* doccheck.h - a generated table inside a Markdown document, kept current by a test. */
#ifndef UKF_DOCCHECK_H
#define UKF_DOCCHECK_H

#include <stdio.h>

/*
 * The program behind `ukf-wire-doc` and its kind: with no argument print
 * what describe() writes; with `--check DOC.md` exit 0 if DOC holds
 * exactly that between the lines `begin` and `end`, else 1 naming the
 * first differing line and the program that regenerates it. 2 for bad
 * usage or an unreadable file. Returns the exit status.
 */
int ukf_doc_main(int argc, char **argv, const char *begin, const char *end,
		 void (*describe)(FILE *out));

#endif /* UKF_DOCCHECK_H */
