/* gf128.c — GF(2^128) modulo x^128+x^7+x^2+x+1, big-endian bit order (bit 7 of byte 0 is the
 * coefficient of x^127, bit 0 of byte 15 that of x^0). Constant time: a 128-step shift-and-add
 * loop with masks, no branch and no memory index depending on the operands. */
#include "core/gf128.h"

static uint64_t load64_be(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

static void store64_be(uint8_t *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
}

void gf128_load(struct gf128 *r, const uint8_t b[16])
{
	r->hi = load64_be(b);
	r->lo = load64_be(b + 8);
}

void gf128_store(uint8_t b[16], const struct gf128 *a)
{
	store64_be(b, a->hi);
	store64_be(b + 8, a->lo);
}

void gf128_add(struct gf128 *r, const struct gf128 *a, const struct gf128 *b)
{
	r->hi = a->hi ^ b->hi;
	r->lo = a->lo ^ b->lo;
}

/* r = a * b. r may alias a or b. Bits of b from x^0 upwards: z += bit * v, v *= x. */
void gf128_mul(struct gf128 *r, const struct gf128 *a, const struct gf128 *b)
{
	uint64_t zh = 0, zl = 0, vh = a->hi, vl = a->lo;
	uint64_t w[2] = { b->lo, b->hi };

	for (int half = 0; half < 2; half++) {
		uint64_t bits = w[half];
		for (int i = 0; i < 64; i++) {
			uint64_t m = -(bits & 1u);
			zh ^= vh & m;
			zl ^= vl & m;
			uint64_t carry = -(vh >> 63);          /* all ones when v*x overflows */
			vh = (vh << 1) | (vl >> 63);
			vl = (vl << 1) ^ (carry & 0x87u);      /* x^128 = x^7 + x^2 + x + 1 */
			bits >>= 1;
		}
	}
	r->hi = zh;
	r->lo = zl;
}
