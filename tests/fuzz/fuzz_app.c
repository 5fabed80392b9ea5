/* SPDX-License-Identifier: MIT */
/* fuzz_app.c - libFuzzer target: the app string "key=value ..." (ukf_app_parse) and the size and time parsers (ukf_parse_size, ukf_parse_time). */
#include <stdint.h>
#include <string.h>

#include "core/ukf.h"
#include "tests/fuzz/fuzz.h"

/*
 * Input: a text. Up to its first newline, the app's name; the rest its
 * key=value string. The whole text (and each space-separated word) also
 * goes to the size and time parsers. A string bigger than the parsers
 * take is cut, as a caller's buffer would be.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[4096], name[128], err[256];
	struct ukf_app app;
	uint64_t bytes;
	ukf_ns_t ns;

	if (size >= sizeof(text))
		size = sizeof(text) - 1;
	memcpy(text, data, size);
	text[size] = 0;

	(void)ukf_parse_size(text, &bytes);
	(void)ukf_parse_time(text, &ns);
	for (char *w = text, *end; *w; w = end) {
		while (*w == ' ')
			w++;
		end = w + strcspn(w, " ");
		char c = *end;
		*end = 0;
		if (ukf_parse_size(w, &bytes) == 0)
			(void)ukf_parse_time(w, &ns);
		*end = c;
	}

	const char *nl = strchr(text, '\n');
	const char *kv = nl ? nl + 1 : "";
	size_t nlen = nl ? (size_t)(nl - text) : strlen(text);
	if (nlen >= sizeof(name))
		nlen = sizeof(name) - 1;
	memcpy(name, text, nlen);
	name[nlen] = 0;
	memset(&app, 0xa5, sizeof(app));
	if (ukf_app_parse(&app, name, kv, err, sizeof(err)) == 0) {
		FUZZ_CHECK(memchr(app.name, 0, sizeof(app.name)) != NULL);
		FUZZ_CHECK(strcmp(app.name, name) == 0);
	} else {
		FUZZ_CHECK(memchr(err, 0, sizeof(err)) != NULL && err[0]);
	}
	return 0;
}
