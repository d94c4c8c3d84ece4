/* gf128.h — GF(2^128) arithmetic for the AMD code (polynomial x^128+x^7+x^2+x+1), constant time.
 * Elements are 16 bytes, big-endian bit order as stored (byte 0 = most significant). */
#pragma once
#include <stdint.h>

struct gf128 { uint64_t hi, lo; };

void gf128_load(struct gf128 *r, const uint8_t b[16]);
void gf128_store(uint8_t b[16], const struct gf128 *a);
void gf128_add(struct gf128 *r, const struct gf128 *a, const struct gf128 *b);
void gf128_mul(struct gf128 *r, const struct gf128 *a, const struct gf128 *b);
