/* ct_secret.c — constant-time check of the core primitives by the ctgrind method: secret bytes
 * are marked undefined for valgrind memcheck (VALGRIND_MAKE_MEM_UNDEFINED); any branch or memory
 * index that depends on them makes memcheck report "Conditional jump or move depends on
 * uninitialised value(s)" or "Use of uninitialised value of size N", and `make ct` runs this
 * under valgrind --error-exitcode=1. Public results (amd_verify's and otmac_verify's return
 * values) are marked defined again before the program branches on them. Outside valgrind the
 * client requests are no-ops and the program just checks the results.
 *
 * Covered: gf256_mul, gf256_inv, shamir_split, shamir_combine/shamir_eval, gf128_mul, amd_encode,
 * amd_verify, otmac_tag + otmac_verify (the tag comparison). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include <valgrind/memcheck.h>

#include "core/amd.h"
#include "core/gf128.h"
#include "core/gf256.h"
#include "core/otmac.h"
#include "core/rng.h"
#include "core/shamir.h"

#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))

static int failures;
static int checks;

static void check(int ok, const char *what)
{
	checks++;
	if (!ok) {
		failures++;
		fprintf(stderr, "ct_secret: FAILED: %s\n", what);
	}
}

static void ct_gf256(void)
{
	uint8_t a[64], b[64], r[64];

	randombytes_buf(a, sizeof(a));
	randombytes_buf(b, sizeof(b));
	SECRET(a, sizeof(a));
	SECRET(b, sizeof(b));
	for (size_t i = 0; i < sizeof(a); i++) {
		r[i] = gf256_mul(a[i], b[i]);
		r[i] ^= gf256_inv(a[i]);
	}
	PUBLIC(r, sizeof(r));
	PUBLIC(a, sizeof(a));
	/* a * a^-1 = 1 for non-zero a: checked on public copies */
	for (size_t i = 0; i < sizeof(a); i++)
		if (a[i])
			check(gf256_mul(a[i], gf256_inv(a[i])) == 1, "gf256 inverse");
}

static void ct_shamir(void)
{
	enum { N = 5, K = 3, LEN = 64 };
	uint8_t *secret = sodium_malloc(LEN), *out = sodium_malloc(LEN);
	uint8_t *buf = sodium_malloc(N * LEN);
	uint8_t xs[N] = { 1, 2, 3, 4, 5 };
	uint8_t *sh[N];
	const uint8_t *sub[K];
	uint8_t sx[K] = { 2, 4, 5 };

	for (int i = 0; i < N; i++)
		sh[i] = buf + i * LEN;
	randombytes_buf(secret, LEN);
	SECRET(secret, LEN);
	check(shamir_split(secret, LEN, N, K, xs, sh) == 0, "shamir_split");
	/* shares are secret (the split output is, and so is every share to the responder) */
	SECRET(buf, N * LEN);
	sub[0] = sh[1];
	sub[1] = sh[3];
	sub[2] = sh[4];
	check(shamir_combine(sx, sub, K, LEN, out) == 0, "shamir_combine");
	check(shamir_eval(sx, sub, K, LEN, 3, out) == 0, "shamir_eval");
	check(shamir_combine(sx, sub, K, LEN, out) == 0, "shamir_combine");
	PUBLIC(out, LEN);
	PUBLIC(secret, LEN);
	check(memcmp(out, secret, LEN) == 0, "shamir round trip");
	sodium_free(secret);
	sodium_free(out);
	sodium_free(buf);
}

static void ct_gf128(void)
{
	uint8_t ab[32], rb[16];
	struct gf128 a, b, r;

	randombytes_buf(ab, sizeof(ab));
	SECRET(ab, sizeof(ab));
	gf128_load(&a, ab);
	gf128_load(&b, ab + 16);
	for (int i = 0; i < 16; i++)
		gf128_mul(&a, &a, &b);
	gf128_add(&r, &a, &b);
	gf128_store(rb, &r);
	PUBLIC(rb, sizeof(rb));
	check(1, "gf128_mul");
}

static void ct_amd(void)
{
	struct amd_context ctx = {
		.init_kme = "client1", .resp_kme = "client2",
		.init_sae = "client1_sae1", .resp_sae = "client2_sae1",
		.n = 5, .k = 3, .key_len = 32, .codec = AMD_CODEC_VERSION,
	};
	uint8_t *key = sodium_malloc(32), *cw = sodium_malloc(64);
	int v;

	memset(ctx.key_id, 0x42, sizeof(ctx.key_id));
	randombytes_buf(key, 32);
	SECRET(key, 32);
	check(amd_encode(&ctx, key, 32, cw) == 0, "amd_encode");
	SECRET(cw, 64);                        /* all of it: key, x, tag */
	v = amd_verify(&ctx, cw, 64);
	PUBLIC(&v, sizeof(v));                 /* the verdict is public */
	check(v == 0, "amd_verify valid codeword");
	PUBLIC(cw, 64);
	cw[40] ^= 1;                           /* tampered x */
	SECRET(cw, 64);
	v = amd_verify(&ctx, cw, 64);
	PUBLIC(&v, sizeof(v));
	check(v == -EBADMSG, "amd_verify tampered codeword");
	sodium_free(key);
	sodium_free(cw);
}

static void ct_otmac(void)
{
	uint8_t *key = sodium_malloc(OTMAC_KEY_LEN);
	uint8_t msg[1024], tag[OTMAC_TAG_LEN];
	int v;

	randombytes_buf(key, OTMAC_KEY_LEN);
	randombytes_buf(msg, sizeof(msg));
	SECRET(key, OTMAC_KEY_LEN);
	otmac_tag(tag, msg, sizeof(msg), key);
	/* the received tag is attacker-controlled, but how close it is to the right one is
	 * secret: mark it undefined so only a constant-time comparison passes */
	SECRET(tag, sizeof(tag));
	v = otmac_verify(tag, msg, sizeof(msg), key);
	PUBLIC(&v, sizeof(v));
	check(v == 0, "otmac_verify valid tag");
	PUBLIC(tag, sizeof(tag));
	tag[5] ^= 0x20;
	SECRET(tag, sizeof(tag));
	v = otmac_verify(tag, msg, sizeof(msg), key);
	PUBLIC(&v, sizeof(v));
	check(v == -EBADMSG, "otmac_verify wrong tag");
	sodium_free(key);
}

int main(void)
{
	if (rng_init() < 0) {
		fprintf(stderr, "ct_secret: sodium_init failed\n");
		return 1;
	}
	ct_gf256();
	ct_shamir();
	ct_gf128();
	ct_amd();
	ct_otmac();
	printf("ct_secret: %d checks, %d failed (%s valgrind); gf256, shamir, gf128, amd, otmac\n",
	       checks, failures, RUNNING_ON_VALGRIND ? "under" : "not under");
	return failures ? 1 : 0;
}
