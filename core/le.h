/* SPDX-License-Identifier: MIT */
/* le.h - little-endian fixed-width field access for encoded records and messages. */
#ifndef UKF_LE_H
#define UKF_LE_H

#include <stdint.h>
#include <string.h>

/*
 * Store/load v at p in little-endian order, whatever the host's order. On
 * a little-endian host a field is one unaligned move (memcpy of a constant
 * size compiles to it); the byte-by-byte form is for the others. (The
 * byte form compiled to a store per byte: a directory record of eight
 * templates, encoded on every change of a node, took ~450 instructions.)
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline void ukf_put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}
static inline void ukf_put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}
static inline void ukf_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}
static inline uint16_t ukf_get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}
static inline uint32_t ukf_get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}
static inline uint64_t ukf_get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}
#else
static inline void ukf_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void ukf_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void ukf_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t ukf_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t ukf_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static inline uint64_t ukf_get64(const uint8_t *p)
{
	return (uint64_t)ukf_get32(p) | (uint64_t)ukf_get32(p + 4) << 32;
}
#endif

#endif /* UKF_LE_H */
