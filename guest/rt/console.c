/* SPDX-License-Identifier: MIT */
/* console.c - console buffering: one emit per batch, never per byte (pure). */
#include "pure.h"

static void copy(char *d, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
}

static int has_nl(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\n')
			return 1;
	return 0;
}

void ukf_con_flush(struct ukf_con *c)
{
	if (c->len) {
		c->emit(c->u, c->buf, c->len);
		c->len = 0;
	}
}

/* Append without the line rule; a write larger than the buffer goes out
 * directly after what is buffered. */
static void append(struct ukf_con *c, const char *p, size_t n)
{
	if (n > UKF_CON_BUF - c->len) {
		ukf_con_flush(c);
		if (n >= UKF_CON_BUF) {
			c->emit(c->u, p, n);
			return;
		}
	}
	copy(c->buf + c->len, p, n);
	c->len += n;
}

void ukf_con_write(struct ukf_con *c, const void *p, size_t n)
{
	append(c, p, n);
	if (!c->full && has_nl(p, n))
		ukf_con_flush(c);
}

int ukf_con_vprintf(struct ukf_con *c, const char *fmt, va_list ap)
{
	size_t space = UKF_CON_BUF - c->len;
	va_list aq;
	va_copy(aq, ap);
	int n = ukf_vsnprintf(c->buf + c->len, space, fmt, aq);
	va_end(aq);
	if (n < 0)
		return n;
	const char *text;
	if ((size_t)n < space) {
		/* it fitted behind what was buffered */
		text = c->buf + c->len;
		c->len += (size_t)n;
	} else if ((size_t)n < UKF_CON_BUF) {
		/* it fits an empty buffer */
		ukf_con_flush(c);
		n = ukf_vsnprintf(c->buf, UKF_CON_BUF, fmt, ap);
		text = c->buf;
		c->len = (size_t)n;
	} else {
		/* longer than the buffer: format into a block, emit it whole */
		char *big = c->alloc ? c->alloc((size_t)n + 1) : NULL;
		if (!big)
			return -1;
		ukf_vsnprintf(big, (size_t)n + 1, fmt, ap);
		ukf_con_flush(c);
		c->emit(c->u, big, (size_t)n);
		c->release(big);
		return n;
	}
	if (!c->full && has_nl(text, (size_t)n))
		ukf_con_flush(c);
	return n;
}
