/* SPDX-License-Identifier: MIT */
/* err.c - a printf-formatted reason into a caller's error buffer. */
#include <stdarg.h>
#include <stdio.h>

#include "ukf.h"

void ukf_seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}
