/* SPDX-License-Identifier: MIT */
/* codec.h - message bodies declared as tables of fields: one encoder, one checking decoder, one describer for every protocol. */
#ifndef UKF_CODEC_H
#define UKF_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * A body is the fields of its table, in order, little-endian, fixed width:
 *   u8, u32, u64, i64  1, 4, 8, 8 bytes
 *   name               u8 length (1..max), the bytes (no NUL): app names
 *   text               u16 length (0..max), the bytes (no NUL needed)
 * Each field lives in a C struct at `off` (name and text: a const char *
 * at off and a size_t length at len_off). The engine's messages
 * (core/wire.c) and the client protocol (agent/cmsg.c) are such tables.
 */
enum ukf_fk { UKF_FK_U8, UKF_FK_U32, UKF_FK_U64, UKF_FK_I64, UKF_FK_NAME,
	      UKF_FK_TEXT };

struct ukf_field {
	const char *name;
	enum ukf_fk kind;
	size_t off;	/* the value (name/text: the pointer) */
	size_t len_off; /* name/text: the size_t length */
	uint32_t max;	/* name/text: most bytes (name: at most 255) */
	const char *doc;
	/* 0, or the protocol version that appended this field: a body that
	 * ends right before it (an older sender's) decodes, it and the fields
	 * after it (all appended too) left as 0 */
	uint8_t since;
};

#define UKF_FIELD(n, k, type, member, d)                                      \
	{ n, k, offsetof(type, member), 0, 0, d, 0 }
#define UKF_FIELD_STR(n, k, type, member, lenmember, mx, d)                   \
	{ n, k, offsetof(type, member), offsetof(type, lenmember), mx, d, 0 }
/* A fixed-width field appended in protocol version v (see `since`). */
#define UKF_FIELD_SINCE(n, k, type, member, v, d)                             \
	{ n, k, offsetof(type, member), 0, 0, d, v }

/* Bytes the fields of struct s take encoded. */
size_t ukf_fields_size(const struct ukf_field *f, size_t nf, const void *s);

/*
 * Encode struct s into buf (cap bytes): bytes written, or 0 if cap is too
 * small or a name/text is over its max (or has length without bytes; a
 * name must not be empty).
 */
size_t ukf_fields_encode(const struct ukf_field *f, size_t nf, const void *s,
			 void *buf, size_t cap);

/*
 * Decode exactly len bytes into struct s (its fields set; name/text point
 * into buf). With `newer`, bytes after the last field are allowed (a
 * newer sender's appended fields); a body that ends right before a field
 * marked `since` (an older sender's) leaves it and the rest 0. 0, or -1
 * with the reason in err, named
 * after `what` and the field: "spawn: body ends inside field 'app' at byte
 * 60", "...: field 'args': 70000 bytes over the limit 2048", "...: 3
 * bytes after the last field".
 */
int ukf_fields_decode(const struct ukf_field *f, size_t nf, void *s,
		      const void *buf, size_t len, int newer, const char *what,
		      char *err, size_t errlen);

/* "u8", "u32", "u64", "i64", "name", "text". */
const char *ukf_fk_name(enum ukf_fk k);

/* The rows of a Markdown table (| `name` | kind | doc |) for the fields. */
void ukf_fields_describe(FILE *out, const struct ukf_field *f, size_t nf);

#endif /* UKF_CODEC_H */
