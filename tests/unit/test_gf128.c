/* test_gf128.c — GF(2^128) mod x^128+x^7+x^2+x+1 (big-endian bit order): against a bit-by-bit
 * reference on byte arrays, the reduction rule, field axioms, Fermat (a^(2^128) = a), load/store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "core/gf128.h"

/* reference: polynomial product of two 128-bit values as bit arrays, then reduction. Bit i of
 * a (coefficient of x^i) is bit (i % 8) of byte 15 - i / 8. */
static int getbit(const uint8_t *v, int i) { return (v[15 - i / 8] >> (i % 8)) & 1; }

static void ref_mul(uint8_t out[16], const uint8_t a[16], const uint8_t b[16])
{
	uint8_t p[255] = { 0 };

	for (int i = 0; i < 128; i++)
		for (int j = 0; j < 128; j++)
			p[i + j] ^= (uint8_t)(getbit(a, i) & getbit(b, j));
	for (int d = 254; d >= 128; d--)
		if (p[d]) {               /* x^d = x^(d-128) * (x^7 + x^2 + x + 1) */
			p[d] = 0;
			p[d - 128 + 7] ^= 1;
			p[d - 128 + 2] ^= 1;
			p[d - 128 + 1] ^= 1;
			p[d - 128] ^= 1;
		}
	memset(out, 0, 16);
	for (int i = 0; i < 128; i++)
		out[15 - i / 8] |= (uint8_t)(p[i] << (i % 8));
}

static void mul_bytes(uint8_t out[16], const uint8_t a[16], const uint8_t b[16])
{
	struct gf128 x, y, z;

	gf128_load(&x, a);
	gf128_load(&y, b);
	gf128_mul(&z, &x, &y);
	gf128_store(out, &z);
}

static void test_load_store(void **state)
{
	uint8_t b[16], c[16];
	struct gf128 x;

	for (int i = 0; i < 16; i++)
		b[i] = (uint8_t)(i + 1);
	gf128_load(&x, b);
	assert_true(x.hi == 0x0102030405060708ull);
	assert_true(x.lo == 0x090a0b0c0d0e0f10ull);
	gf128_store(c, &x);
	assert_memory_equal(b, c, 16);
}

static void test_reduction(void **state)
{
	uint8_t a[16] = { 0 }, b[16] = { 0 }, r[16], want[16] = { 0 };

	a[0] = 0x80;        /* x^127 */
	b[15] = 0x02;       /* x */
	mul_bytes(r, a, b); /* x^128 = x^7 + x^2 + x + 1 */
	want[15] = 0x87;
	assert_memory_equal(r, want, 16);
	b[15] = 0x01;       /* identity */
	mul_bytes(r, a, b);
	assert_memory_equal(r, a, 16);
}

static void test_against_reference(void **state)
{
	uint8_t a[16], b[16], r[16], want[16];

	for (int t = 0; t < 300; t++) {
		randombytes_buf(a, 16);
		randombytes_buf(b, 16);
		if (t < 16) {           /* sparse operands too */
			memset(a, 0, 16);
			a[t] = 0xff;
		}
		mul_bytes(r, a, b);
		ref_mul(want, a, b);
		assert_memory_equal(r, want, 16);
	}
}

static void test_axioms(void **state)
{
	uint8_t ab[16];
	struct gf128 a, b, c, t1, t2, t3;

	for (int t = 0; t < 200; t++) {
		randombytes_buf(ab, 16);
		gf128_load(&a, ab);
		randombytes_buf(ab, 16);
		gf128_load(&b, ab);
		randombytes_buf(ab, 16);
		gf128_load(&c, ab);
		gf128_mul(&t1, &a, &b);
		gf128_mul(&t2, &b, &a);
		assert_true(t1.hi == t2.hi && t1.lo == t2.lo);
		gf128_add(&t3, &b, &c);          /* a(b + c) = ab + ac */
		gf128_mul(&t2, &a, &t3);
		gf128_mul(&t3, &a, &c);
		gf128_add(&t1, &t1, &t3);
		assert_true(t1.hi == t2.hi && t1.lo == t2.lo);
		gf128_mul(&t1, &a, &b);          /* (ab)c = a(bc), with aliasing */
		gf128_mul(&t1, &t1, &c);
		gf128_mul(&t2, &b, &c);
		gf128_mul(&t2, &a, &t2);
		assert_true(t1.hi == t2.hi && t1.lo == t2.lo);
	}
}

static void test_fermat(void **state)
{
	uint8_t ab[16];
	struct gf128 a, p;

	for (int t = 0; t < 20; t++) {
		randombytes_buf(ab, 16);
		gf128_load(&a, ab);
		p = a;
		for (int i = 0; i < 128; i++)    /* a^(2^128) = a in GF(2^128) */
			gf128_mul(&p, &p, &p);
		assert_true(p.hi == a.hi && p.lo == a.lo);
		/* and a^(2^i) != a for 0 < i < 128 unless a lies in a subfield: check i = 64 for
		 * random a (a in GF(2^64) has probability 2^-64) */
		p = a;
		for (int i = 0; i < 64; i++)
			gf128_mul(&p, &p, &p);
		assert_false(p.hi == a.hi && p.lo == a.lo);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_store),
		cmocka_unit_test(test_reduction),
		cmocka_unit_test(test_against_reference),
		cmocka_unit_test(test_axioms),
		cmocka_unit_test(test_fermat),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("gf128", tests, NULL, NULL);
}
