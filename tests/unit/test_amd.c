/* test_amd.c — the AMD code: round trip for many key lengths; 100,000 random tamperings of a
 * codeword, none accepted; a context differing in any single field rejected; exactly k shares
 * with one tampered share detected by reconstruct_key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>

#include "core/amd.h"
#include "core/reconstruct.h"
#include "core/rng.h"
#include "core/shamir.h"

static struct amd_context base_ctx(uint16_t key_len)
{
	struct amd_context c = {
		.init_kme = "client1", .resp_kme = "client2",
		.init_sae = "client1_sae1", .resp_sae = "client2_sae1",
		.n = 5, .k = 3, .key_len = key_len, .codec = AMD_CODEC_VERSION,
	};

	for (int i = 0; i < DSKE_KEY_ID_LEN; i++)
		c.key_id[i] = (uint8_t)(0x10 + i);
	return c;
}

static uint32_t rnd(uint32_t bound)
{
	return randombytes_uniform(bound);
}

static void test_round_trip(void **state)
{
	static const uint16_t lens[] = { 1, 8, 15, 16, 17, 31, 32, 33, 48, 64, 100, 512, 1000, 1024 };
	uint8_t key[AMD_KEY_MAX], cw[AMD_KEY_MAX + AMD_OVERHEAD], cw2[AMD_KEY_MAX + AMD_OVERHEAD];

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct amd_context c = base_ctx(lens[i]);
		size_t L = amd_codeword_len(lens[i]);
		assert_int_equal(L, lens[i] + 32u);
		assert_int_equal(rng_bytes(key, lens[i]), 0);
		assert_int_equal(amd_encode(&c, key, lens[i], cw), 0);
		assert_memory_equal(cw, key, lens[i]);              /* codeword = key || x || tag */
		assert_int_equal(amd_verify(&c, cw, L), 0);
		/* a second encoding draws a fresh x: different x and tag, both valid */
		assert_int_equal(amd_encode(&c, key, lens[i], cw2), 0);
		assert_memory_not_equal(cw + lens[i], cw2 + lens[i], 16);
		assert_int_equal(amd_verify(&c, cw2, L), 0);
		/* wrong lengths */
		assert_int_equal(amd_verify(&c, cw, L - 1), -EINVAL);
		assert_int_equal(amd_verify(&c, cw, L + 1), -EINVAL);
	}
}

/* Golden vector from tests/vectors/amd_vector.py, an independent Python implementation of the
 * encoding in docs/primitives.md: 40-byte key, fixed x (fed through a file rng source). */
static void test_golden_vector(void **state)
{
	static const char want_hex[] =
		"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f4041424344454647"
		"0123456789abcdeffedcba9876543210" "9d904739a69acf6d80d44813b6b1d135";
	static const uint8_t x[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	                               0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
	struct amd_context c = base_ctx(40);
	uint8_t key[40], cw[72], want[72];
	char path[] = "/tmp/test_amd_x.XXXXXX";
	size_t bin_len = 0;
	int fd;

	for (int i = 0; i < 40; i++)
		key[i] = (uint8_t)(0x20 + i);
	for (int i = 0; i < DSKE_KEY_ID_LEN; i++)
		c.key_id[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(sodium_hex2bin(want, sizeof(want), want_hex, strlen(want_hex), NULL,
	                                &bin_len, NULL), 0);
	assert_int_equal(bin_len, sizeof(want));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, x, sizeof(x)), (ssize_t)sizeof(x));
	close(fd);
	assert_int_equal(rng_set_source(path), 0);
	assert_int_equal(amd_encode(&c, key, 40, cw), 0);
	assert_int_equal(rng_set_source(NULL), 0);
	unlink(path);
	assert_memory_equal(cw, want, sizeof(want));
	assert_int_equal(amd_verify(&c, want, sizeof(want)), 0);
}

static void test_bad_arguments(void **state)
{
	struct amd_context c = base_ctx(32);
	uint8_t key[32] = { 0 }, cw[64];
	char longname[DSKE_NAME_MAX + 2];

	assert_int_equal(amd_encode(&c, key, 31, cw), -EINVAL);   /* key_len != ctx->key_len */
	assert_int_equal(amd_encode(NULL, key, 32, cw), -EINVAL);
	c.k = 1;
	assert_int_equal(amd_encode(&c, key, 32, cw), -EINVAL);
	c = base_ctx(32);
	c.k = 6;                                                   /* k > n */
	assert_int_equal(amd_encode(&c, key, 32, cw), -EINVAL);
	c = base_ctx(32);
	c.codec = 2;
	assert_int_equal(amd_encode(&c, key, 32, cw), -EINVAL);
	c = base_ctx(32);
	c.init_sae = "";
	assert_int_equal(amd_encode(&c, key, 32, cw), -EINVAL);
	c.init_sae = NULL;
	assert_int_equal(amd_encode(&c, key, 32, cw), -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	c = base_ctx(32);
	c.resp_kme = longname;
	assert_int_equal(amd_encode(&c, key, 32, cw), -EINVAL);
	longname[DSKE_NAME_MAX] = 0;                               /* exactly 64: fine */
	assert_int_equal(amd_encode(&c, key, 32, cw), 0);
	assert_int_equal(amd_verify(&c, cw, 64), 0);
	c = base_ctx(0);
	assert_int_equal(amd_encode(&c, key, 0, cw), -EINVAL);
	c = base_ctx(AMD_KEY_MAX + 1);
	assert_int_equal(amd_verify(&c, cw, AMD_KEY_MAX + 1 + 32), -EINVAL);
}

/* 100,000 random tamperings of one codeword (L = 32): single bit flips, random byte changes,
 * a random additive error on the whole codeword, errors confined to key, x or tag, and
 * swapped parts. Not one may verify. */
static void test_random_tampering(void **state)
{
	struct amd_context c = base_ctx(32);
	uint8_t key[32], cw[64], t[64], e[64];
	unsigned accepted = 0;

	assert_int_equal(rng_bytes(key, sizeof(key)), 0);
	assert_int_equal(amd_encode(&c, key, 32, cw), 0);
	for (unsigned trial = 0; trial < 100000; trial++) {
		memset(e, 0, sizeof(e));
		switch (trial % 6) {
		case 0:     /* one bit anywhere */
			e[rnd(64)] = (uint8_t)(1u << rnd(8));
			break;
		case 1:     /* one byte, any non-zero change */
			e[rnd(64)] = (uint8_t)(1 + rnd(255));
			break;
		case 2:     /* the whole codeword */
			randombytes_buf(e, sizeof(e));
			break;
		case 3:     /* the key only */
			randombytes_buf(e, 32);
			break;
		case 4:     /* x and tag only */
			randombytes_buf(e + 32, 32);
			break;
		default:    /* a few scattered bytes */
			for (int i = 0; i < 4; i++)
				e[rnd(64)] ^= (uint8_t)(1 + rnd(255));
			break;
		}
		int zero = 1;
		for (int i = 0; i < 64; i++)
			zero &= e[i] == 0;
		if (zero)
			e[rnd(64)] = 1;
		for (int i = 0; i < 64; i++)
			t[i] = cw[i] ^ e[i];
		int v = amd_verify(&c, t, sizeof(t));
		assert_true(v == 0 || v == -EBADMSG);
		accepted += v == 0;
	}
	assert_int_equal(accepted, 0);
	assert_int_equal(amd_verify(&c, cw, sizeof(cw)), 0);
}

/* A context differing in any single field is rejected. key_len and codec are also bound to the
 * codeword length and the codec version, so those give -EINVAL; every other field -EBADMSG. */
static void test_context_binding(void **state)
{
	struct amd_context c = base_ctx(32), d;
	uint8_t key[32], cw[64];

	assert_int_equal(rng_bytes(key, sizeof(key)), 0);
	assert_int_equal(amd_encode(&c, key, 32, cw), 0);
	assert_int_equal(amd_verify(&c, cw, 64), 0);

	for (int i = 0; i < DSKE_KEY_ID_LEN; i++)
		for (int bit = 0; bit < 8; bit++) {
			d = c;
			d.key_id[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(amd_verify(&d, cw, 64), -EBADMSG);
		}
	const char *alt[] = { "client3", "client", "client10", "Client1", "client2", "client1_sae1",
	                      "client2_sae1", "client1_sae2", "x", "client1_sae1x" };
	for (size_t a = 0; a < sizeof(alt) / sizeof(alt[0]); a++) {
		d = c;
		d.init_kme = alt[a];
		if (strcmp(alt[a], c.init_kme) != 0)
			assert_int_equal(amd_verify(&d, cw, 64), -EBADMSG);
		d = c;
		d.resp_kme = alt[a];
		if (strcmp(alt[a], c.resp_kme) != 0)
			assert_int_equal(amd_verify(&d, cw, 64), -EBADMSG);
		d = c;
		d.init_sae = alt[a];
		if (strcmp(alt[a], c.init_sae) != 0)
			assert_int_equal(amd_verify(&d, cw, 64), -EBADMSG);
		d = c;
		d.resp_sae = alt[a];
		if (strcmp(alt[a], c.resp_sae) != 0)
			assert_int_equal(amd_verify(&d, cw, 64), -EBADMSG);
	}
	/* initiator and responder swapped */
	d = c;
	d.init_kme = c.resp_kme;
	d.resp_kme = c.init_kme;
	assert_int_equal(amd_verify(&d, cw, 64), -EBADMSG);
	d = c;
	d.init_sae = c.resp_sae;
	d.resp_sae = c.init_sae;
	assert_int_equal(amd_verify(&d, cw, 64), -EBADMSG);
	/* n, k */
	for (unsigned v = 2; v < 256; v++) {
		d = c;
		d.n = (uint8_t)v;
		if (v != c.n && v >= c.k)
			assert_int_equal(amd_verify(&d, cw, 64), -EBADMSG);
		d = c;
		d.k = (uint8_t)v;
		if (v != c.k && v <= c.n)
			assert_int_equal(amd_verify(&d, cw, 64), -EBADMSG);
	}
	/* key_len: the codeword length no longer matches */
	d = c;
	d.key_len = 31;
	assert_int_equal(amd_verify(&d, cw, 64), -EINVAL);
	assert_int_equal(amd_verify(&d, cw, 63), -EBADMSG);  /* same bytes read as a 31-byte key */
	d.key_len = 33;
	assert_int_equal(amd_verify(&d, cw, 64), -EINVAL);
	/* codec */
	d = c;
	d.codec = AMD_CODEC_VERSION + 1;
	assert_int_equal(amd_verify(&d, cw, 64), -EINVAL);
	assert_int_equal(amd_verify(&c, cw, 64), 0);
}

/* n = 5, k = 3: the responder gets exactly k shares, one of them tampered (by a single hub,
 * t = 1 <= k-1): reconstruct_key must refuse, never return a key. */
static void test_k_shares_one_tampered(void **state)
{
	struct amd_context c = base_ctx(32);
	uint8_t key[32], cw[64], buf[5][64], out[32], xs[5] = { 1, 2, 3, 4, 5 };
	uint8_t *sh[5] = { buf[0], buf[1], buf[2], buf[3], buf[4] };
	uint32_t bad = 0xdead;

	for (unsigned trial = 0; trial < 500; trial++) {
		assert_int_equal(rng_bytes(key, 32), 0);
		assert_int_equal(amd_encode(&c, key, 32, cw), 0);
		assert_int_equal(shamir_split(cw, 64, 5, 3, xs, sh), 0);
		unsigned pick[3] = { rnd(5), 0, 0 };
		do pick[1] = rnd(5); while (pick[1] == pick[0]);
		do pick[2] = rnd(5); while (pick[2] == pick[0] || pick[2] == pick[1]);
		struct recon_share rs[3];
		for (int i = 0; i < 3; i++)
			rs[i] = (struct recon_share){ .x = xs[pick[i]], .data = sh[pick[i]] };
		/* untampered: the key comes back */
		assert_int_equal(reconstruct_key(&c, rs, 3, 3, out, &bad), 0);
		assert_memory_equal(out, key, 32);
		assert_int_equal(bad, 0);
		/* tamper one share: one byte (trial even) or the whole share (odd) */
		uint8_t *victim = sh[pick[rnd(3)]];
		if (trial % 2 == 0) {
			victim[rnd(64)] ^= (uint8_t)(1 + rnd(255));
		} else {
			uint8_t e[64];
			randombytes_buf(e, sizeof(e));
			e[0] |= 1;
			for (int i = 0; i < 64; i++)
				victim[i] ^= e[i];
		}
		bad = 0xdead;
		memset(out, 0, sizeof(out));
		assert_int_equal(reconstruct_key(&c, rs, 3, 3, out, &bad), -EBADMSG);
		assert_int_equal(bad, 0xdead);                   /* untouched on failure */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_golden_vector),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_random_tampering),
		cmocka_unit_test(test_context_binding),
		cmocka_unit_test(test_k_shares_one_tampered),
	};

	if (rng_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("amd", tests, NULL, NULL);
}
