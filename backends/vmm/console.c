/* SPDX-License-Identifier: MIT */
/* console.c - guest console output as escaped lines (one event each) and the ready marker line. */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>

#include "backends/vmm/vmm.h"

ukf_ns_t ukf_vmm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ukf_ns_t)ts.tv_sec * UKF_S + ts.tv_nsec;
}

void ukf_vmm_init(struct ukf_vmm *g, const struct ukf_vmm_ops *ops, void *be)
{
	memset(g, 0, sizeof(*g));
	g->ops = ops;
	g->be = be;
	g->pause_on_ready = 1;
}

size_t ukf_vmm_console_escape(char *dst, size_t cap, const char *src,
			      size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t j = 0;

	if (!cap)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)src[i];
		int esc = (c < 0x20 && c != '\t') || c == 0x7f;
		/* U+0080..U+009F in UTF-8 (0xc2 0x80..0x9f): C1 controls,
		 * CSI among them; both bytes escaped */
		int c1 = c == 0xc2 && i + 1 < n &&
			 (uint8_t)src[i + 1] >= 0x80 &&
			 (uint8_t)src[i + 1] <= 0x9f;

		if (esc || c1) {
			for (int k = 0; k <= c1; k++) {
				uint8_t b = (uint8_t)src[i + k];

				if (j + 4 >= cap)
					goto out;
				dst[j++] = '\\';
				dst[j++] = 'x';
				dst[j++] = hex[b >> 4];
				dst[j++] = hex[b & 15];
			}
			i += c1;
			continue;
		}
		if (j + 1 >= cap)
			break;
		dst[j++] = (char)c;
	}
out:
	dst[j] = 0;
	return j;
}

/* The line assembled so far as one event; 1 if it is the marker's first
 * appearance. */
static int line_out(struct ukf_vmm *g, ukf_ns_t at)
{
	struct ukf_be_event ev;
	char line[4 * sizeof(g->con) + 1];
	int marker = 0;

	if (g->con_len && g->con[g->con_len - 1] == '\r')
		g->con_len--;
	if (g->marker && !g->marker_seen &&
	    strlen(g->marker) == g->con_len &&
	    !memcmp(g->con, g->marker, g->con_len))
		marker = g->marker_seen = 1;
	memset(&ev, 0, sizeof(ev));
	ev.kind = UKF_BE_CONSOLE;
	/* guest text is shown on terminals and written to traces: no
	 * escape sequences, no carriage returns, no forged lines */
	ev.len = ukf_vmm_console_escape(line, sizeof(line), g->con,
					g->con_len);
	ev.data = line;
	ev.at = at;
	g->ops->emit(g->be, &ev);
	g->con_len = 0;
	return marker;
}

void ukf_vmm_console_flush(struct ukf_vmm *g, ukf_ns_t at)
{
	if (g->con_len)
		line_out(g, at);
}

int ukf_vmm_console_write(struct ukf_vmm *g, const void *buf, size_t n,
			  ukf_ns_t at)
{
	const uint8_t *p = buf;
	int marker = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (!g->con_len) {
				struct ukf_be_event ev;

				memset(&ev, 0, sizeof(ev));
				ev.kind = UKF_BE_CONSOLE;
				ev.data = "";
				ev.at = at;
				g->ops->emit(g->be, &ev);
				continue;
			}
			marker |= line_out(g, at);
			continue;
		}
		g->con[g->con_len++] = (char)p[i];
		if (g->con_len == UKF_VMM_LINE_MAX)
			marker |= line_out(g, at);
	}
	return marker;
}
