/* test_reconstruct.c — robust reconstruction, n = 5, k = 3, L = 32:
 * 0, 1, 2 corrupted shares (random, in every position, and coordinated: two hubs adding the same
 * consistent offset polynomial) give the right key and name exactly the corrupted shares;
 * 3 shares corrupted independently at random give an error, never a wrong key; argument errors;
 * and a test that DOCUMENTS THE LIMIT: k colluding hubs can substitute a consistent different
 * codeword (accepted — no threshold scheme can prevent it). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "core/amd.h"
#include "core/gf256.h"
#include "core/reconstruct.h"
#include "core/rng.h"
#include "core/shamir.h"

#define N 5
#define K 3
#define L 32
#define CW (L + AMD_OVERHEAD)

static const uint8_t XS[N] = { 1, 2, 3, 4, 5 };

struct fixture {
	struct amd_context ctx;
	uint8_t key[L];
	uint8_t cw[CW];
	uint8_t buf[N][CW];
	uint8_t *sh[N];
	struct recon_share rs[N];
};

static void fx_init(struct fixture *f)
{
	f->ctx = (struct amd_context){
		.init_kme = "alice", .resp_kme = "bob", .init_sae = "alice_sae", .resp_sae = "bob_sae",
		.n = N, .k = K, .key_len = L, .codec = AMD_CODEC_VERSION,
	};
	randombytes_buf(f->ctx.key_id, sizeof(f->ctx.key_id));
	assert_int_equal(rng_bytes(f->key, L), 0);
	assert_int_equal(amd_encode(&f->ctx, f->key, L, f->cw), 0);
	for (int i = 0; i < N; i++)
		f->sh[i] = f->buf[i];
	assert_int_equal(shamir_split(f->cw, CW, N, K, XS, f->sh), 0);
	for (int i = 0; i < N; i++)
		f->rs[i] = (struct recon_share){ .x = XS[i], .data = f->buf[i] };
}

static void corrupt_random(uint8_t *share)
{
	uint8_t e[CW];

	randombytes_buf(e, sizeof(e));
	e[randombytes_uniform(CW)] |= 1;     /* never the zero error */
	for (int i = 0; i < CW; i++)
		share[i] ^= e[i];
}

static void expect_key(struct fixture *f, size_t count, uint32_t want_bad)
{
	uint8_t out[L];
	uint32_t bad = 0xdeadbeef;

	memset(out, 0, sizeof(out));
	assert_int_equal(reconstruct_key(&f->ctx, f->rs, count, K, out, &bad), 0);
	assert_memory_equal(out, f->key, L);
	assert_int_equal(bad, want_bad);
}

static void test_clean(void **state)
{
	struct fixture f;

	for (int t = 0; t < 50; t++) {
		fx_init(&f);
		expect_key(&f, N, 0);
		expect_key(&f, K, 0);          /* exactly k */
		expect_key(&f, 4, 0);
	}
}

static void test_one_corrupted(void **state)
{
	struct fixture f;

	for (int t = 0; t < 100; t++)
		for (int bad = 0; bad < N; bad++) {
			fx_init(&f);
			corrupt_random(f.buf[bad]);
			expect_key(&f, N, 1u << bad);
		}
	/* a single flipped bit in the key part of one share */
	fx_init(&f);
	f.buf[0][3] ^= 0x10;
	expect_key(&f, N, 1u << 0);
}

static void test_two_corrupted(void **state)
{
	struct fixture f;

	for (int t = 0; t < 30; t++)
		for (int a = 0; a < N; a++)
			for (int b = a + 1; b < N; b++) {
				fx_init(&f);
				corrupt_random(f.buf[a]);
				corrupt_random(f.buf[b]);
				expect_key(&f, N, (1u << a) | (1u << b));
			}
}

/* two colluding hubs add the same offset polynomial e(x) (degree k-1, e(0) != 0) to their shares:
 * their two shares stay consistent with each other, and every candidate using them fails AMD */
static void test_two_coordinated(void **state)
{
	struct fixture f;
	uint8_t e[K][CW];

	for (int t = 0; t < 30; t++)
		for (int a = 0; a < N; a++)
			for (int b = a + 1; b < N; b++) {
				fx_init(&f);
				randombytes_buf(e, sizeof(e));
				e[0][0] |= 1;
				int pick[2] = { a, b };
				for (int p = 0; p < 2; p++) {
					uint8_t x = XS[pick[p]];
					for (int i = 0; i < CW; i++) {
						uint8_t v = gf256_mul(gf256_mul(e[2][i], x) ^ e[1][i], x) ^ e[0][i];
						f.buf[pick[p]][i] ^= v;
					}
				}
				expect_key(&f, N, (1u << a) | (1u << b));
			}
}

/* the corrupted shares first, so the fast path fails, and only 4 shares received */
static void test_order_and_subsets(void **state)
{
	struct fixture f;
	struct recon_share rs[4];

	for (int t = 0; t < 50; t++) {
		fx_init(&f);
		corrupt_random(f.buf[4]);
		rs[0] = f.rs[4];
		rs[1] = f.rs[2];
		rs[2] = f.rs[0];
		rs[3] = f.rs[3];
		memcpy(f.rs, rs, sizeof(rs));
		expect_key(&f, 4, 1u << 0);
	}
	/* 4 shares with 2 bad: only 2 good shares < k, no candidate passes */
	fx_init(&f);
	corrupt_random(f.buf[0]);
	corrupt_random(f.buf[1]);
	uint8_t out[L];
	uint32_t bad = 7;
	assert_int_equal(reconstruct_key(&f.ctx, f.rs, 4, K, out, &bad), -EBADMSG);
	assert_int_equal(bad, 7);
}

/* three shares corrupted independently at random (no collusion): only 2 honest shares remain,
 * the key cannot be rebuilt; the AMD check must turn every candidate down: error, never a wrong
 * key. (This is what the AMD code gives against independent faults; it is not a claim about
 * k colluding hubs — see test_limit_k_colluding_hubs_substitute_key.) */
static void test_three_independent_never_wrong_key(void **state)
{
	struct fixture f;
	uint8_t out[L];

	for (int t = 0; t < 1000; t++) {
		fx_init(&f);
		int keep = (int)randombytes_uniform(N), keep2;
		do keep2 = (int)randombytes_uniform(N); while (keep2 == keep);
		for (int i = 0; i < N; i++)
			if (i != keep && i != keep2)
				corrupt_random(f.buf[i]);
		uint32_t bad = 0x55;
		memset(out, 0, sizeof(out));
		int r = reconstruct_key(&f.ctx, f.rs, N, K, out, &bad);
		assert_int_equal(r, -EBADMSG);
		assert_int_equal(bad, 0x55);
	}
}

/* The wrong context (a lying hub relayed other metadata; or the shares belong to another key):
 * all shares consistent, AMD fails: refused. */
static void test_wrong_context(void **state)
{
	struct fixture f;
	uint8_t out[L];
	uint32_t bad = 1;

	fx_init(&f);
	f.ctx.resp_sae = "mallory_sae";
	assert_int_equal(reconstruct_key(&f.ctx, f.rs, N, K, out, &bad), -EBADMSG);
	assert_int_equal(bad, 1);
}

/* Two different AMD-valid codewords with equal support (3 shares each of 6): ambiguous, refused.
 * (Needs k colluding hubs; with at most k-1 it happens only with the AMD error probability.) */
static void test_tie_refused(void **state)
{
	struct amd_context ctx = {
		.init_kme = "alice", .resp_kme = "bob", .init_sae = "alice_sae", .resp_sae = "bob_sae",
		.n = 6, .k = K, .key_len = L, .codec = AMD_CODEC_VERSION,
	};
	uint8_t key[2][L], cw[2][CW], buf[2][6][CW], out[L], xs[6] = { 1, 2, 3, 4, 5, 6 };
	struct recon_share rs[6];
	uint32_t bad = 9;

	for (int c = 0; c < 2; c++) {
		uint8_t *sh[6];
		for (int i = 0; i < 6; i++)
			sh[i] = buf[c][i];
		assert_int_equal(rng_bytes(key[c], L), 0);
		assert_int_equal(amd_encode(&ctx, key[c], L, cw[c]), 0);
		assert_int_equal(shamir_split(cw[c], CW, 6, K, xs, sh), 0);
	}
	for (int i = 0; i < 6; i++)     /* hubs 1, 3, 5 from codeword 0; 2, 4, 6 from codeword 1 */
		rs[i] = (struct recon_share){ .x = xs[i], .data = buf[i % 2][i] };
	assert_int_equal(reconstruct_key(&ctx, rs, 6, K, out, &bad), -EBADMSG);
	assert_int_equal(bad, 9);
	/* one more share for codeword 0 breaks the tie in its favour */
	rs[1].data = buf[0][1];
	assert_int_equal(reconstruct_key(&ctx, rs, 6, K, out, &bad), 0);
	assert_memory_equal(out, key[0], L);
	assert_int_equal(bad, (1u << 3) | (1u << 5));
}

static void test_arguments(void **state)
{
	struct fixture f;
	uint8_t out[L];
	uint32_t bad = 0;
	struct recon_share rs[33];

	fx_init(&f);
	assert_int_equal(reconstruct_key(&f.ctx, f.rs, 2, K, out, &bad), -EAGAIN);
	assert_int_equal(reconstruct_key(&f.ctx, f.rs, 0, K, out, &bad), -EAGAIN);
	assert_int_equal(reconstruct_key(&f.ctx, f.rs, N, 1, out, &bad), -EINVAL);
	assert_int_equal(reconstruct_key(NULL, f.rs, N, K, out, &bad), -EINVAL);
	assert_int_equal(reconstruct_key(&f.ctx, f.rs, N, K, NULL, &bad), -EINVAL);
	f.rs[1].x = 0;
	assert_int_equal(reconstruct_key(&f.ctx, f.rs, N, K, out, &bad), -EINVAL);
	f.rs[1].x = 1;                       /* duplicate of share 0 */
	assert_int_equal(reconstruct_key(&f.ctx, f.rs, N, K, out, &bad), -EINVAL);
	f.rs[1].x = 2;
	for (int i = 0; i < 33; i++)
		rs[i] = (struct recon_share){ .x = (uint8_t)(i + 1), .data = f.buf[0] };
	assert_int_equal(reconstruct_key(&f.ctx, rs, 33, K, out, &bad), -EINVAL);
	f.ctx.codec = 9;
	assert_int_equal(reconstruct_key(&f.ctx, f.rs, N, K, out, &bad), -EINVAL);
}

/*
 * DOCUMENTS THE LIMIT — THIS IS NOT A BUG AND NOT FIXABLE BY ANY THRESHOLD SCHEME.
 *
 * k = 3 colluding hubs together hold enough shares to learn the key, and they can also replace it:
 * they build their own valid AMD codeword for a key of their choice under the same context
 * (the context is public metadata), and hand out shares of it that are mutually consistent.
 * The two honest hubs' shares disagree with it, but the responder cannot tell which side lies:
 * the forged codeword passes AMD and agrees with 3 of 5 shares, the real one has only 2 shares
 * and is never even a candidate. reconstruct_key ACCEPTS THE FORGED KEY and names the honest hubs
 * as bad. protocol.md section 1: correctness holds only for t <= k-1 corrupt hubs.
 * Nobody may claim otherwise on the strength of the other tests in this file.
 */
static void test_limit_k_colluding_hubs_substitute_key(void **state)
{
	struct fixture f;
	uint8_t forged_key[L], forged_cw[CW], fbuf[N][CW], out[L];
	uint8_t *fsh[N];
	uint32_t bad = 0;

	fx_init(&f);
	assert_int_equal(rng_bytes(forged_key, L), 0);
	assert_int_equal(amd_encode(&f.ctx, forged_key, L, forged_cw), 0);  /* anyone can */
	for (int i = 0; i < N; i++)
		fsh[i] = fbuf[i];
	assert_int_equal(shamir_split(forged_cw, CW, N, K, XS, fsh), 0);
	/* hubs 1, 3, 4 (indexes 0, 2, 3) collude and hand out shares of the forged codeword */
	int colluders[K] = { 0, 2, 3 };
	for (int c = 0; c < K; c++)
		memcpy(f.buf[colluders[c]], fbuf[colluders[c]], CW);
	assert_int_equal(reconstruct_key(&f.ctx, f.rs, N, K, out, &bad), 0);
	assert_memory_equal(out, forged_key, L);          /* the forged key is accepted */
	assert_memory_not_equal(out, f.key, L);
	assert_int_equal(bad, (1u << 1) | (1u << 4));     /* and the honest hubs are blamed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_one_corrupted),
		cmocka_unit_test(test_two_corrupted),
		cmocka_unit_test(test_two_coordinated),
		cmocka_unit_test(test_order_and_subsets),
		cmocka_unit_test(test_three_independent_never_wrong_key),
		cmocka_unit_test(test_wrong_context),
		cmocka_unit_test(test_tie_refused),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_limit_k_colluding_hubs_substitute_key),
	};

	if (rng_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("reconstruct", tests, NULL, NULL);
}
