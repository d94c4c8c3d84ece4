/* gf256.h — GF(2^8), polynomial x^8+x^4+x^3+x+1 (0x11B). Constant time: shift and masked
 * XOR, no table indexed by secret data, no branch on secret data. */
#pragma once
#include <stdint.h>

uint8_t gf256_mul(uint8_t a, uint8_t b);
uint8_t gf256_inv(uint8_t a);             /* a^254; gf256_inv(0) = 0 */
