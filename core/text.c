/* SPDX-License-Identifier: MIT */
/* text.c - small text helpers shared by the command lines and the outputs. */
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
