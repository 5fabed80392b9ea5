/* SPDX-License-Identifier: MIT */
/* sieve.h - segmented sieve of Eratosthenes for fanout (pure). */
#ifndef UKF_SIEVE_H
#define UKF_SIEVE_H

#include <stddef.h>
#include <stdint.h>

#define SIEVE_N_MAX	10000000000ULL /* largest N: base primes below 10^5 */
#define SIEVE_BASE_MAX	9600	       /* primes below 10^5: 9592 */
#define SIEVE_SEG_BYTES 32768	       /* one byte per odd number */

/*
 * The odd primes p with p*p < n, into base (cap entries); returns how many,
 * or -1 if n > SIEVE_N_MAX or cap is too small. `scratch` needs
 * SIEVE_SEG_BYTES bytes.
 */
int sieve_base(uint64_t n, uint32_t *base, size_t cap, uint8_t *scratch);
/*
 * The number of primes p with lo <= p < hi, using base primes from
 * sieve_base(hi' >= hi) and a SIEVE_SEG_BYTES scratch segment.
 */
uint64_t sieve_count(uint64_t lo, uint64_t hi, const uint32_t *base, int nbase,
		     uint8_t *seg);

#endif /* UKF_SIEVE_H */
