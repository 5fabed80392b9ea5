/* SPDX-License-Identifier: MIT */
/* wire_doc.c - ukf-wire-doc: print the engine messages' table (wire.c) as Markdown, or check a document holds it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define BEGIN "<!-- wire.c table: begin -->"
#define END "<!-- wire.c table: end -->"

/*
 * ukf-wire-doc            the table, as it goes between the markers
 * ukf-wire-doc --check F  exit 0 if F holds exactly that between its
 *                         markers, 1 (with the first differing line) if not
 */
int main(int argc, char **argv)
{
	char *gen = NULL, *doc = NULL;
	size_t glen = 0, dlen = 0;
	FILE *f;

	if (argc == 1) {
		ukf_wire_describe(stdout);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "--check")) {
		fprintf(stderr, "usage: %s [--check DOC.md]\n", argv[0]);
		return 2;
	}
	f = open_memstream(&gen, &glen);
	if (!f)
		return 2;
	ukf_wire_describe(f);
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
	char *b = strstr(doc, BEGIN), *e = b ? strstr(b, END) : NULL;
	if (!b || !e) {
		fprintf(stderr, "%s: no '%s' ... '%s' markers\n", argv[2], BEGIN,
			END);
		return 1;
	}
	b += strlen(BEGIN);
	while (*b == '\n')
		b++;
	size_t n = (size_t)(e - b);
	if (n != glen || memcmp(b, gen, n)) {
		size_t k = 0, line = 1;
		while (k < n && k < glen && b[k] == gen[k])
			line += b[k++] == '\n';
		fprintf(stderr,
			"%s: the message table differs from wire.c's at its line %zu "
			"(regenerate: ukf-wire-doc)\n",
			argv[2], line);
		free(gen);
		free(doc);
		return 1;
	}
	free(gen);
	free(doc);
	return 0;
}
