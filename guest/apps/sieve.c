/* SPDX-License-Identifier: MIT */
/* sieve.c - segmented odd-only sieve counting primes in a range (pure). */
#include "sieve.h"

static uint32_t isqrt_up(uint64_t n)
{
	/* smallest r with r*r >= n */
	uint64_t r = 0;
	for (uint64_t bit = 1ULL << 31; bit; bit >>= 1)
		if ((r + bit) * (r + bit) < n)
			r += bit;
	return (uint32_t)(r + 1);
}

int sieve_base(uint64_t n, uint32_t *base, size_t cap, uint8_t *scratch)
{
	if (n > SIEVE_N_MAX)
		return -1;
	uint32_t lim = isqrt_up(n); /* candidates p < lim */
	/* plain sieve of the odd numbers below lim (lim <= 100001) */
	if (lim / 2 + 1 > SIEVE_SEG_BYTES * 2u)
		return -1;
	uint8_t *comp = scratch; /* comp[i]: 2i+1 composite; lim/2 < 65536 */
	uint32_t half = lim / 2 + 1;
	if (half > SIEVE_SEG_BYTES) {
		/* use bits when the byte table would not fit */
		for (uint32_t i = 0; i < SIEVE_SEG_BYTES; i++)
			comp[i] = 0;
		for (uint32_t i = 1; i < half; i++) {
			if (comp[i >> 3] & (1u << (i & 7)))
				continue;
			uint32_t p = 2 * i + 1;
			for (uint64_t j = (uint64_t)p * p / 2; j < half; j += p)
				comp[j >> 3] |= (uint8_t)(1u << (j & 7));
		}
	} else {
		for (uint32_t i = 0; i < half; i++)
			comp[i] = 0;
		for (uint32_t i = 1; i < half; i++) {
			if (comp[i])
				continue;
			uint32_t p = 2 * i + 1;
			for (uint64_t j = (uint64_t)p * p / 2; j < half; j += p)
				comp[j] = 1;
		}
	}
	int nb = 0;
	for (uint32_t i = 1; i < half; i++) {
		int c = half > SIEVE_SEG_BYTES ? (comp[i >> 3] >> (i & 7)) & 1
					       : comp[i];
		uint64_t p = 2ULL * i + 1;
		if (c || p * p >= n)
			continue;
		if ((size_t)nb >= cap)
			return -1;
		base[nb++] = (uint32_t)p;
	}
	return nb;
}

uint64_t sieve_count(uint64_t lo, uint64_t hi, const uint32_t *base, int nbase,
		     uint8_t *seg)
{
	uint64_t count = 0;
	if (lo <= 2 && 2 < hi)
		count++;
	if (lo < 3)
		lo = 3;
	if (!(lo & 1))
		lo++;
	/* odd numbers lo, lo+2, ... below hi, SIEVE_SEG_BYTES at a time */
	for (uint64_t start = lo; start < hi; start += 2ULL * SIEVE_SEG_BYTES) {
		uint64_t end = start + 2ULL * SIEVE_SEG_BYTES; /* exclusive */
		if (end > hi)
			end = hi;
		uint32_t len = (uint32_t)((end - start + 1) / 2);
		for (uint32_t i = 0; i < len; i++)
			seg[i] = 0;
		for (int b = 0; b < nbase; b++) {
			uint64_t p = base[b];
			if (p * p >= end)
				break;
			uint64_t m = (start + p - 1) / p * p;
			if (m < p * p)
				m = p * p;
			if (!(m & 1))
				m += p;
			for (uint64_t j = (m - start) / 2; j < len; j += p)
				seg[j] = 1;
		}
		for (uint32_t i = 0; i < len; i++)
			count += !seg[i];
	}
	return count;
}
