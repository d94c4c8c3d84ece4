/* bench_core.c — figures for the core primitives at n = 5, k = 3, L = 32 (make bench).
 * Prints microseconds per operation; asserts nothing. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "core/amd.h"
#include "core/otmac.h"
#include "core/reconstruct.h"
#include "core/rng.h"
#include "core/shamir.h"

#define N 5
#define K 3
#define L 32
#define CW (L + AMD_OVERHEAD)

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static struct amd_context ctx = {
	.init_kme = "client1", .resp_kme = "client2",
	.init_sae = "client1_sae1", .resp_sae = "client2_sae1",
	.n = N, .k = K, .key_len = L, .codec = AMD_CODEC_VERSION,
};
static const uint8_t xs[N] = { 1, 2, 3, 4, 5 };

static int make_shares(uint8_t *key, uint8_t *cw, uint8_t **sh)
{
	if (amd_encode(&ctx, key, L, cw) < 0)
		return -1;
	return shamir_split(cw, CW, N, K, xs, sh);
}

int main(void)
{
	uint8_t *key = NULL, *cw = NULL, *buf = NULL, *out = NULL;
	uint8_t *sh[N];
	struct recon_share rs[N];
	uint32_t bad;
	uint8_t mkey[OTMAC_KEY_LEN], msg[1024], tag[OTMAC_TAG_LEN];
	double t0, t;
	int iters, rc = 1, sink = 0;

	if (rng_init() < 0)
		return 1;
	key = sodium_malloc(L);
	cw = sodium_malloc(CW);
	out = sodium_malloc(L);
	buf = sodium_malloc(N * CW);
	if (!key || !cw || !out || !buf)
		goto out;
	randombytes_buf(ctx.key_id, sizeof(ctx.key_id));
	for (int i = 0; i < N; i++) {
		sh[i] = buf + i * CW;
		rs[i] = (struct recon_share){ .x = xs[i], .data = sh[i] };
	}
	printf("core primitives (n=%d, k=%d, L=%d bytes, codeword %d bytes, rng: %s)\n", N, K, L,
	       CW, rng_source_name());

	iters = 20000;
	t0 = now_us();
	for (int i = 0; i < iters; i++) {
		randombytes_buf(key, L);
		if (make_shares(key, cw, sh) < 0)
			goto out;
	}
	t = (now_us() - t0) / iters;
	printf("  split + AMD-encode:                  %8.2f us/key\n", t);

	iters = 20000;
	t0 = now_us();
	for (int i = 0; i < iters; i++)
		sink |= reconstruct_key(&ctx, rs, N, K, out, &bad);
	t = (now_us() - t0) / iters;
	printf("  verify + rebuild, 5 clean shares:    %8.2f us/key\n", t);

	iters = 5000;
	sh[0][7] ^= 0x5a;           /* two bad shares, in the fast path's first k */
	sh[2][40] ^= 0x01;
	t0 = now_us();
	for (int i = 0; i < iters; i++)
		sink |= reconstruct_key(&ctx, rs, N, K, out, &bad);
	t = (now_us() - t0) / iters;
	printf("  verify + rebuild, 2 bad shares:      %8.2f us/key (bad mask 0x%02x)\n", t, bad);

	randombytes_buf(mkey, sizeof(mkey));
	randombytes_buf(msg, sizeof(msg));
	iters = 200000;
	t0 = now_us();
	for (int i = 0; i < iters; i++) {
		mkey[0] = (uint8_t)i;
		otmac_tag(tag, msg, sizeof(msg), mkey);
	}
	t = (now_us() - t0) / iters;
	printf("  one-time MAC tag, 1 KiB frame:       %8.2f us/frame\n", t);
	t0 = now_us();
	for (int i = 0; i < iters; i++)
		sink |= otmac_verify(tag, msg, sizeof(msg), mkey);
	t = (now_us() - t0) / iters;
	printf("  one-time MAC verify, 1 KiB frame:    %8.2f us/frame\n", t);
	iters = 20000;
	t0 = now_us();
	for (int i = 0; i < iters; i++) {
		void *p = sodium_malloc(3 * CW);
		sodium_free(p);
	}
	t = (now_us() - t0) / iters;
	printf("  sodium_malloc+free (for comparison):  %8.2f us (avoided per key: scratch.h)\n", t);
	rc = 0;
out:
	sodium_free(key);
	sodium_free(cw);
	sodium_free(out);
	sodium_free(buf);
	return rc | (sink & 0);
}
