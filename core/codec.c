/* SPDX-License-Identifier: MIT */
/* codec.c - encoder, checking decoder and describer of bodies declared as field tables. */
#include <string.h>

#include "codec.h"
#include "le.h"

#define AT(s, off, type) ((type *)((char *)(s) + (off)))
#define CAT(s, off, type) ((const type *)((const char *)(s) + (off)))

static size_t fixed(enum ukf_fk k)
{
	switch (k) {
	case UKF_FK_U8:
		return 1;
	case UKF_FK_U32:
		return 4;
	case UKF_FK_U64:
	case UKF_FK_I64:
		return 8;
	case UKF_FK_NAME:
		return 1;
	case UKF_FK_TEXT:
		return 2;
	}
	return 0;
}

size_t ukf_fields_size(const struct ukf_field *f, size_t nf, const void *s)
{
	size_t n = 0;

	for (size_t k = 0; k < nf; k++) {
		n += fixed(f[k].kind);
		if (f[k].kind == UKF_FK_NAME || f[k].kind == UKF_FK_TEXT)
			n += *CAT(s, f[k].len_off, size_t);
	}
	return n;
}

size_t ukf_fields_encode(const struct ukf_field *f, size_t nf, const void *s,
			 void *buf, size_t cap)
{
	uint8_t *p = buf;
	size_t n = ukf_fields_size(f, nf, s);

	if (!buf || cap < n)
		return 0;
	for (size_t k = 0; k < nf; k++) {
		const void *v = CAT(s, f[k].off, char);

		switch (f[k].kind) {
		case UKF_FK_U8:
			*p++ = *(const uint8_t *)v;
			break;
		case UKF_FK_U32:
			ukf_put32(p, *(const uint32_t *)v);
			p += 4;
			break;
		case UKF_FK_U64:
		case UKF_FK_I64:
			ukf_put64(p, *(const uint64_t *)v);
			p += 8;
			break;
		case UKF_FK_NAME:
		case UKF_FK_TEXT: {
			const char *str = *(const char *const *)v;
			size_t len = *CAT(s, f[k].len_off, size_t);

			if (len > f[k].max || (len && !str) ||
			    (f[k].kind == UKF_FK_NAME && (len == 0 || len > 255)))
				return 0;
			if (f[k].kind == UKF_FK_NAME) {
				*p++ = (uint8_t)len;
			} else {
				ukf_put16(p, (uint16_t)len);
				p += 2;
			}
			if (len)
				memcpy(p, str, len);
			p += len;
			break;
		}
		}
	}
	return n;
}

#define BAD(...) (snprintf(err, errlen, __VA_ARGS__), -1)

int ukf_fields_decode(const struct ukf_field *f, size_t nf, void *s,
		      const void *buf, size_t len, int newer, const char *what,
		      char *err, size_t errlen)
{
	const uint8_t *p = buf, *end = p + len;

	if (!buf && len)
		return BAD("%s: no body", what);
	for (size_t k = 0; k < nf; k++) {
		void *v = AT(s, f[k].off, char);
		size_t at = (size_t)(p - (const uint8_t *)buf);

		if (f[k].since && p == end)
			return 0; /* an older sender's body: the rest stays 0 */
		if ((size_t)(end - p) < fixed(f[k].kind))
			return BAD("%s: body ends inside field '%s' at byte %zu",
				   what, f[k].name, at);
		switch (f[k].kind) {
		case UKF_FK_U8:
			*(uint8_t *)v = *p++;
			break;
		case UKF_FK_U32:
			*(uint32_t *)v = ukf_get32(p);
			p += 4;
			break;
		case UKF_FK_U64:
		case UKF_FK_I64:
			*(uint64_t *)v = ukf_get64(p);
			p += 8;
			break;
		case UKF_FK_NAME: {
			size_t nl = *p;

			if (nl == 0 || nl > f[k].max)
				return BAD("%s: field '%s': name of %zu bytes (1..%u)",
					   what, f[k].name, nl, f[k].max);
			if ((size_t)(end - p) < 1 + nl)
				return BAD("%s: body ends inside field '%s' at byte %zu",
					   what, f[k].name, at);
			if (memchr(p + 1, 0, nl))
				return BAD("%s: field '%s': NUL in the name",
					   what, f[k].name);
			*(const char **)v = (const char *)p + 1;
			*AT(s, f[k].len_off, size_t) = nl;
			p += 1 + nl;
			break;
		}
		case UKF_FK_TEXT: {
			size_t tl = ukf_get16(p);

			if (tl > f[k].max)
				return BAD("%s: field '%s': %zu bytes over the limit %u",
					   what, f[k].name, tl, f[k].max);
			if ((size_t)(end - p) < 2 + tl)
				return BAD("%s: field '%s': %zu bytes past the end of the body",
					   what, f[k].name, tl);
			*(const char **)v = tl ? (const char *)p + 2 : NULL;
			*AT(s, f[k].len_off, size_t) = tl;
			p += 2 + tl;
			break;
		}
		}
	}
	if (p != end && !newer)
		return BAD("%s: %zu bytes after the last field", what,
			   (size_t)(end - p));
	return 0;
}

const char *ukf_fk_name(enum ukf_fk k)
{
	switch (k) {
	case UKF_FK_U8:
		return "u8";
	case UKF_FK_U32:
		return "u32";
	case UKF_FK_U64:
		return "u64";
	case UKF_FK_I64:
		return "i64";
	case UKF_FK_NAME:
		return "name";
	case UKF_FK_TEXT:
		return "text";
	}
	return "?";
}

void ukf_fields_describe(FILE *out, const struct ukf_field *f, size_t nf)
{
	fprintf(out, "| field | type | meaning |\n| --- | --- | --- |\n");
	for (size_t k = 0; k < nf; k++)
	{
		fprintf(out, "| `%s` | %s | %s", f[k].name,
			ukf_fk_name(f[k].kind), f[k].doc);
		if (f[k].since)
			fprintf(out, " (appended in version %u: 0 from an "
				     "older sender)",
				(unsigned)f[k].since);
		fprintf(out, " |\n");
	}
}
