/* SPDX-License-Identifier: MIT */
/* fmt.c - printf-style formatting for the guest runtime (pure). */
#include "pure.h"

struct out {
	char *buf;
	size_t n;   /* capacity including the NUL */
	size_t len; /* bytes the full output has so far */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->n)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int count)
{
	while (count-- > 0)
		put(o, c);
}

/* Emit one converted field: prefix ("-", "0x"), zero padding, body. */
static void field(struct out *o, const char *prefix, const char *body, int blen,
		  int zeros, int width, int left, int zero_pad)
{
	int plen = 0;
	while (prefix[plen])
		plen++;
	int total = plen + zeros + blen;
	if (!left && zero_pad && width > total) {
		zeros += width - total;
		total = width;
	}
	if (!left)
		pad(o, ' ', width - total);
	for (int i = 0; i < plen; i++)
		put(o, prefix[i]);
	pad(o, '0', zeros);
	for (int i = 0; i < blen; i++)
		put(o, body[i]);
	if (left)
		pad(o, ' ', width - total);
}

int ukf_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	struct out o = {buf, n, 0};
	char num[24];

	while (*fmt) {
		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		const char *start = fmt++;
		int left = 0, zero_pad = 0, width = 0, prec = -1, lmod = 0;
		for (;; fmt++) {
			if (*fmt == '-')
				left = 1;
			else if (*fmt == '0')
				zero_pad = 1;
			else if (*fmt == ' ' || *fmt == '+' || *fmt == '#')
				; /* accepted, ignored */
			else
				break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				left = 1;
				width = -width;
			}
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				width = width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				if (prec < 0)
					prec = -1;
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					prec = prec * 10 + (*fmt++ - '0');
			}
		}
		if (*fmt == 'l') {
			lmod = 1;
			if (*++fmt == 'l') {
				lmod = 2;
				fmt++;
			}
		} else if (*fmt == 'z') {
			lmod = 3;
			fmt++;
		}

		char conv = *fmt;
		if (conv)
			fmt++;
		switch (conv) {
		case 'd':
		case 'i': {
			long long v;
			if (lmod == 1)
				v = va_arg(ap, long);
			else if (lmod == 2)
				v = va_arg(ap, long long);
			else if (lmod == 3)
				v = (long long)va_arg(ap, ptrdiff_t);
			else
				v = va_arg(ap, int);
			unsigned long long u =
			    v < 0 ? 0ULL - (unsigned long long)v
				  : (unsigned long long)v;
			int len = 0;
			char tmp[24];
			do {
				tmp[len++] = (char)('0' + u % 10);
				u /= 10;
			} while (u);
			if (prec == 0 && v == 0)
				len = 0;
			for (int i = 0; i < len; i++)
				num[i] = tmp[len - 1 - i];
			int zeros = prec > len ? prec - len : 0;
			field(&o, v < 0 ? "-" : "", num, len, zeros, width,
			      left, zero_pad && prec < 0);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'p': {
			unsigned long long u;
			const char *prefix = "";
			if (conv == 'p') {
				u = (uintptr_t)va_arg(ap, void *);
				prefix = "0x";
			} else if (lmod == 1)
				u = va_arg(ap, unsigned long);
			else if (lmod == 2)
				u = va_arg(ap, unsigned long long);
			else if (lmod == 3)
				u = va_arg(ap, size_t);
			else
				u = va_arg(ap, unsigned int);
			unsigned base = conv == 'u' ? 10 : 16;
			const char *digits = conv == 'X' ? "0123456789ABCDEF"
							 : "0123456789abcdef";
			char tmp[24];
			int len = 0;
			do {
				tmp[len++] = digits[u % base];
				u /= base;
			} while (u);
			if (prec == 0 && tmp[0] == '0' && len == 1 &&
			    conv != 'p')
				len = 0;
			for (int i = 0; i < len; i++)
				num[i] = tmp[len - 1 - i];
			int zeros = prec > len ? prec - len : 0;
			field(&o, prefix, num, len, zeros, width, left,
			      zero_pad && prec < 0);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			int len = 0;
			while (s[len] && (prec < 0 || len < prec))
				len++;
			field(&o, "", s, len, 0, width, left, 0);
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			field(&o, "", &c, 1, 0, width, left, 0);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		default:
			/* unknown or truncated conversion: copy it literally */
			while (start < fmt)
				put(&o, *start++);
			break;
		}
	}
	if (o.n)
		o.buf[o.len < o.n ? o.len : o.n - 1] = '\0';
	return o.len > 0x7fffffff ? 0x7fffffff : (int)o.len;
}

int ukf_snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = ukf_vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}
