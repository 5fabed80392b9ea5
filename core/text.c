/* SPDX-License-Identifier: MIT */
/* text.c - small text helpers shared by the command lines and the outputs. */
#include <stdio.h>
#include <string.h>

#include "ukf.h"

int ukf_arg_is_option(const char *v, const char *const *shorts)
{
	if (!v)
		return 0;
	if (v[0] == '-' && v[1] == '-' && v[2])
		return 1;
	for (; shorts && *shorts; shorts++)
		if (!strcmp(v, *shorts))
			return 1;
	return 0;
}

size_t ukf_utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		return (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (s[0] == 0xE0 && s[1] < 0xA0)
			return 0; /* overlong */
		if (s[0] == 0xED && s[1] >= 0xA0)
			return 0; /* surrogate */
		return 3;
	}
	if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		if (s[0] == 0xF0 && s[1] < 0x90)
			return 0; /* overlong */
		if (s[0] == 0xF4 && s[1] >= 0x90)
			return 0; /* beyond U+10FFFF */
		return 4;
	}
	return 0;
}

const char *ukf_esc_char(const char *s, unsigned flags, char e[8], size_t *k,
			 size_t *n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = flags & UKF_ESC_UTF8 ? ukf_utf8_len(u) : 1;
	int quotes = (flags & UKF_ESC_QUOTES) != 0;

	*k = len ? len : 1;
	if (len > 1 || (len == 1 && *u >= 0x20 && *u != 0x7f &&
			!(quotes && (*u == '"' || *u == '\\')))) {
		*n = len;
		return s;
	}
	if (len == 1 &&
	    (*u == '\n' || *u == '\r' || *u == '\t' || *u == '"' || *u == '\\'))
		snprintf(e, 8, "\\%c",
			 *u == '\n'   ? 'n'
			 : *u == '\r' ? 'r'
			 : *u == '\t' ? 't'
				      : *u);
	else
		snprintf(e, 8, "\\x%02x", *u);
	*n = strlen(e);
	return e;
}
