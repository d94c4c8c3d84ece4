/* test_otmac.c — otmac against RFC 8439 (section 2.5.2 and appendix A.3 Poly1305 vectors), and
 * every single-bit change of a 1 KiB message (and of the tag) rejected. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "core/otmac.h"
#include "core/rng.h"

static const char ietf_text[] =
	"Any submission to the IETF intended by the Contributor for publication as all or part of an "
	"IETF Internet-Draft or RFC and any statement made within the context of an IETF activity is "
	"considered an \"IETF Contribution\". Such statements include oral statements in IETF "
	"sessions, as well as written and electronic communications made at any time or place, "
	"which are addressed to";
static const char jabberwocky[] =
	"'Twas brillig, and the slithy toves\nDid gyre and gimble in the wabe:\n"
	"All mimsy were the borogoves,\nAnd the mome raths outgrabe.";

static void unhex(uint8_t *out, size_t len, const char *hex)
{
	size_t bin_len = 0;

	assert_int_equal(sodium_hex2bin(out, len, hex, strlen(hex), " ", &bin_len, NULL), 0);
	assert_int_equal(bin_len, len);
}

/* tag the message, compare with the expected tag, verify it, and reject a changed tag */
static void check_vector(const char *key_hex, const uint8_t *msg, size_t len, const char *tag_hex)
{
	uint8_t key[OTMAC_KEY_LEN], want[OTMAC_TAG_LEN], tag[OTMAC_TAG_LEN];

	unhex(key, sizeof(key), key_hex);
	unhex(want, sizeof(want), tag_hex);
	otmac_tag(tag, msg, len, key);
	assert_memory_equal(tag, want, OTMAC_TAG_LEN);
	assert_int_equal(otmac_verify(want, msg, len, key), 0);
	want[OTMAC_TAG_LEN - 1] ^= 0x80;
	assert_int_equal(otmac_verify(want, msg, len, key), -EBADMSG);
}

static void test_rfc8439_2_5_2(void **state)
{
	const char *msg = "Cryptographic Forum Research Group";

	check_vector("85d6be7857556d337f4452fe42d506a8 0103808afb0db2fd4abff6af4149f51b",
	             (const uint8_t *)msg, strlen(msg), "a8061dc1305136c6c22b8baf0c0127a9");
}

static void test_rfc8439_a3(void **state)
{
	uint8_t m[64];

	assert_int_equal(strlen(ietf_text), 375);
	assert_int_equal(strlen(jabberwocky), 127);
	/* #1 */
	memset(m, 0, sizeof(m));
	check_vector("0000000000000000000000000000000000000000000000000000000000000000", m, 64,
	             "00000000000000000000000000000000");
	/* #2 and #3 */
	check_vector("00000000000000000000000000000000 36e5f6b5c5e06070f0efca96227a863e",
	             (const uint8_t *)ietf_text, 375, "36e5f6b5c5e06070f0efca96227a863e");
	check_vector("36e5f6b5c5e06070f0efca96227a863e 00000000000000000000000000000000",
	             (const uint8_t *)ietf_text, 375, "f3477e7cd95417af89a6b8794c310cf0");
	/* #4 */
	check_vector("1c9240a5eb55d38af333888604f6b5f0 473917c1402b80099dca5cbc207075c0",
	             (const uint8_t *)jabberwocky, 127, "4541669a7eaaee61e708dc7cbcc5eb62");
	/* #5: r = 2, s = 0, data FF x 16 */
	memset(m, 0xff, 16);
	check_vector("02000000000000000000000000000000 00000000000000000000000000000000", m, 16,
	             "03000000000000000000000000000000");
	/* #6: r = 2, s = FF x 16, data 02 00.. */
	memset(m, 0, 16);
	m[0] = 2;
	check_vector("02000000000000000000000000000000 ffffffffffffffffffffffffffffffff", m, 16,
	             "03000000000000000000000000000000");
	/* #7: r = 1, s = 0 */
	unhex(m, 48, "ffffffffffffffffffffffffffffffff f0ffffffffffffffffffffffffffffff"
	             "11000000000000000000000000000000");
	check_vector("01000000000000000000000000000000 00000000000000000000000000000000", m, 48,
	             "05000000000000000000000000000000");
	/* #8 */
	unhex(m, 48, "ffffffffffffffffffffffffffffffff fbfefefefefefefefefefefefefefefe"
	             "01010101010101010101010101010101");
	check_vector("01000000000000000000000000000000 00000000000000000000000000000000", m, 48,
	             "00000000000000000000000000000000");
	/* #9 */
	unhex(m, 16, "fdffffffffffffffffffffffffffffff");
	check_vector("02000000000000000000000000000000 00000000000000000000000000000000", m, 16,
	             "faffffffffffffffffffffffffffffff");
	/* #10 and #11 */
	unhex(m, 64, "e33594d7505e43b90000000000000000 3394d7505e4379cd0100000000000000"
	             "00000000000000000000000000000000 01000000000000000000000000000000");
	check_vector("01000000000000000400000000000000 00000000000000000000000000000000", m, 64,
	             "14000000000000005500000000000000");
	check_vector("01000000000000000400000000000000 00000000000000000000000000000000", m, 48,
	             "13000000000000000000000000000000");
}

static void test_every_bit_flip_rejected(void **state)
{
	uint8_t key[OTMAC_KEY_LEN], tag[OTMAC_TAG_LEN], msg[1024];

	assert_int_equal(rng_bytes(key, sizeof(key)), 0);
	assert_int_equal(rng_bytes(msg, sizeof(msg)), 0);
	otmac_tag(tag, msg, sizeof(msg), key);
	assert_int_equal(otmac_verify(tag, msg, sizeof(msg), key), 0);
	for (size_t bit = 0; bit < 8 * sizeof(msg); bit++) {
		msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (otmac_verify(tag, msg, sizeof(msg), key) != -EBADMSG)
			fail_msg("message bit %zu flipped, tag still verifies", bit);
		msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t bit = 0; bit < 8 * sizeof(tag); bit++) {
		tag[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (otmac_verify(tag, msg, sizeof(msg), key) != -EBADMSG)
			fail_msg("tag bit %zu flipped, still verifies", bit);
		tag[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* truncated and extended messages */
	assert_int_equal(otmac_verify(tag, msg, sizeof(msg) - 1, key), -EBADMSG);
	assert_int_equal(otmac_verify(tag, msg, 0, key), -EBADMSG);
	assert_int_equal(otmac_verify(tag, msg, sizeof(msg), key), 0);
	/* another key */
	key[0] ^= 1;
	assert_int_equal(otmac_verify(tag, msg, sizeof(msg), key), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8439_2_5_2),
		cmocka_unit_test(test_rfc8439_a3),
		cmocka_unit_test(test_every_bit_flip_rejected),
	};

	if (rng_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("otmac", tests, NULL, NULL);
}
