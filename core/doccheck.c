/* SPDX-License-Identifier: MIT */
/* doccheck.c - a generated table inside a Markdown document: print it, or check the document holds it. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doccheck.h"

int ukf_doc_main(int argc, char **argv, const char *begin, const char *end,
		 void (*describe)(FILE *out))
{
	char *gen = NULL, *doc = NULL;
	size_t glen = 0, dlen = 0;
	FILE *f;

	if (argc == 1) {
		describe(stdout);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "--check")) {
		fprintf(stderr, "usage: %s [--check DOC.md]\n", argv[0]);
		return 2;
	}
	f = open_memstream(&gen, &glen);
	if (!f)
		return 2;
	describe(f);
	fclose(f);
	f = fopen(argv[2], "r");
	if (!f) {
		perror(argv[2]);
		return 2;
	}
	{
		FILE *m = open_memstream(&doc, &dlen);
		int c;

		while ((c = fgetc(f)) != EOF)
			fputc(c, m);
		fclose(m);
	}
	fclose(f);
	char *b = strstr(doc, begin), *e = b ? strstr(b, end) : NULL;
	if (!b || !e) {
		fprintf(stderr, "%s: no '%s' ... '%s' markers\n", argv[2], begin,
			end);
		return 1;
	}
	b += strlen(begin);
	while (*b == '\n')
		b++;
	size_t n = (size_t)(e - b);
	if (n != glen || memcmp(b, gen, n)) {
		size_t k = 0, line = 1;
		while (k < n && k < glen && b[k] == gen[k])
			line += b[k++] == '\n';
		fprintf(stderr,
			"%s: the table differs from the generated one at its line %zu "
			"(regenerate: %s > the part between the markers)\n",
			argv[2], line, argv[0]);
		free(gen);
		free(doc);
		return 1;
	}
	free(gen);
	free(doc);
	return 0;
}
