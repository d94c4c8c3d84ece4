/* test_gf256.c — GF(2^8) (0x11B) against a reference multiplication (peasant's algorithm with
 * branches, test-only), FIPS-197 examples, field axioms and inverses of every element. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/gf256.h"

/* plain schoolbook product reduced modulo 0x11B (branches on data: fine in a test) */
static uint8_t ref_mul(uint8_t a, uint8_t b)
{
	unsigned p = 0;

	for (int i = 0; i < 8; i++)
		if (b & (1u << i))
			p ^= (unsigned)a << i;
	for (int i = 14; i >= 8; i--)
		if (p & (1u << i))
			p ^= 0x11Bu << (i - 8);
	return (uint8_t)p;
}

static void test_known_values(void **state)
{
	/* FIPS-197 section 4.2: {57} . {83} = {c1}, {57} . {13} = {fe} */
	assert_int_equal(gf256_mul(0x57, 0x83), 0xc1);
	assert_int_equal(gf256_mul(0x57, 0x13), 0xfe);
	/* {53} and {ca} are inverses (AES S-box example) */
	assert_int_equal(gf256_mul(0x53, 0xca), 0x01);
	assert_int_equal(gf256_inv(0x53), 0xca);
	assert_int_equal(gf256_inv(0), 0);
	assert_int_equal(gf256_inv(1), 1);
}

static void test_all_products(void **state)
{
	for (unsigned a = 0; a < 256; a++)
		for (unsigned b = 0; b < 256; b++) {
			uint8_t p = gf256_mul((uint8_t)a, (uint8_t)b);
			if (p != ref_mul((uint8_t)a, (uint8_t)b))
				fail_msg("%02x * %02x = %02x, want %02x", a, b, p,
				         ref_mul((uint8_t)a, (uint8_t)b));
			assert_int_equal(p, gf256_mul((uint8_t)b, (uint8_t)a));
		}
}

static void test_inverses_and_axioms(void **state)
{
	for (unsigned a = 1; a < 256; a++) {
		uint8_t inv = gf256_inv((uint8_t)a);
		assert_int_equal(gf256_mul((uint8_t)a, inv), 1);
	}
	for (unsigned a = 0; a < 256; a += 7)
		for (unsigned b = 0; b < 256; b += 5)
			for (unsigned c = 0; c < 256; c += 3) {
				uint8_t x = (uint8_t)a, y = (uint8_t)b, z = (uint8_t)c;
				assert_int_equal(gf256_mul(x, y ^ z), gf256_mul(x, y) ^ gf256_mul(x, z));
				assert_int_equal(gf256_mul(gf256_mul(x, y), z),
				                 gf256_mul(x, gf256_mul(y, z)));
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_values),
		cmocka_unit_test(test_all_products),
		cmocka_unit_test(test_inverses_and_axioms),
	};

	return cmocka_run_group_tests_name("gf256", tests, NULL, NULL);
}
