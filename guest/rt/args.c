/* SPDX-License-Identifier: MIT */
/* args.c - split the boot info argument string into argv (pure). */
#include "pure.h"

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int ukf_split_args(char *s, char **argv, int max)
{
	int argc = 0;
	char *r = s, *w = s;

	for (;;) {
		while (blank(*r))
			r++;
		if (!*r)
			break;
		char *word = w;
		char quote = 0;
		while (*r && (quote || !blank(*r))) {
			char c = *r++;
			if (quote) {
				if (c == quote) {
					quote = 0;
					continue;
				}
				if (c == '\\' && quote == '"' && *r)
					c = *r++;
				*w++ = c;
			} else if (c == '"' || c == '\'') {
				quote = c;
			} else if (c == '\\') {
				if (*r)
					*w++ = *r++;
			} else {
				*w++ = c;
			}
		}
		if (quote)
			return -1;
		/*
		 * w never overtakes r, and r stands on a blank or the NUL here;
		 * the terminator goes to w, then r resumes after its blank.
		 */
		int at_end = !*r;
		*w++ = '\0';
		if (!at_end)
			r++;
		if (argc < max)
			argv[argc] = word;
		argc++;
		if (at_end)
			break;
	}
	if (argc < max)
		argv[argc] = NULL;
	return argc;
}
