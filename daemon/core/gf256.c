/* gf256.c — GF(2^8) with the AES polynomial x^8+x^4+x^3+x+1 (0x11B), constant time:
 * multiplication by shift and masked XOR, inversion by a fixed square-and-multiply chain.
 * No table indexed by data, no branch on data (tests/ct/ct_secret.c checks it). */
#include "core/gf256.h"

uint8_t gf256_mul(uint8_t a, uint8_t b)
{
	uint8_t r = 0;

	for (int i = 0; i < 8; i++) {
		r ^= (uint8_t)(-(b & 1u)) & a;          /* add a when bit i of b is set */
		uint8_t hi = (uint8_t)-(a >> 7);        /* 0xFF when a*x overflows */
		a = (uint8_t)((a << 1) ^ (hi & 0x1Bu)); /* a *= x mod 0x11B */
		b >>= 1;
	}
	return r;
}

/* a^254 = a^-1 (a != 0), 0 for 0: a^(2+4+8+...+128), seven squarings, six multiplications */
uint8_t gf256_inv(uint8_t a)
{
	uint8_t sq = a, r = 1;

	for (int i = 1; i < 8; i++) {
		sq = gf256_mul(sq, sq);                 /* a^(2^i) */
		r = gf256_mul(r, sq);
	}
	return r;
}
