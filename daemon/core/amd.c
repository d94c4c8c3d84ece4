/* amd.c — algebraic manipulation detection code over GF(2^128) with context binding
 * (protocol.md section 2; exact encoding in docs/primitives.md).
 *
 * Coefficients c_1..c_D: the key blocks s_1..s_d (16 bytes, last one zero-padded), then the
 * context blocks a_1..a_c (key ID, init KME, resp KME, init SAE, resp SAE, each as a length byte
 * followed by the bytes, zero-padded to whole blocks; then one block n | k | key_len (u16 BE) |
 * codec | 11 zero bytes), then one zero block if d + c is even, so that D is odd.
 * tag = x^(D+2) + sum_{j=1..D} c_j x^j, computed by Horner's rule; codeword = key || x || tag.
 * Everything that touches the key, x or the tag is constant time (gf128_mul, XOR, and a
 * branch-free comparison); only public lengths decide loops. */
#include <errno.h>
#include <string.h>
#include <sodium.h>

#include "core/amd.h"
#include "core/gf128.h"
#include "core/rng.h"

#define AMD_BLOCK 16
/* key ID (2 blocks) + 4 names (at most 5 blocks each) + parameter block */
#define AMD_CTX_MAX (2 * AMD_BLOCK + 4 * 5 * AMD_BLOCK + AMD_BLOCK)

static size_t name_len(const char *s)
{
	return s ? strnlen(s, DSKE_NAME_MAX + 1) : 0;
}

static int ctx_valid(const struct amd_context *ctx)
{
	const char *names[4];

	if (!ctx)
		return -EINVAL;
	names[0] = ctx->init_kme;
	names[1] = ctx->resp_kme;
	names[2] = ctx->init_sae;
	names[3] = ctx->resp_sae;
	for (int i = 0; i < 4; i++) {
		size_t l = name_len(names[i]);
		if (l == 0 || l > DSKE_NAME_MAX)
			return -EINVAL;
	}
	if (ctx->k < 2 || ctx->k > ctx->n)
		return -EINVAL;
	if (ctx->key_len == 0 || ctx->key_len > AMD_KEY_MAX)
		return -EINVAL;
	if (ctx->codec != AMD_CODEC_VERSION)
		return -EINVAL;
	return 0;
}

/* append one length-prefixed field, zero-padded to whole blocks; returns the new length */
static size_t ctx_put_field(uint8_t *buf, size_t pos, const void *data, size_t len)
{
	buf[pos] = (uint8_t)len;
	memcpy(buf + pos + 1, data, len);
	return pos + (1 + len + AMD_BLOCK - 1) / AMD_BLOCK * AMD_BLOCK;
}

/* the context blocks into buf[AMD_CTX_MAX] (zeroed here); returns their length in bytes */
static size_t ctx_encode(const struct amd_context *ctx, uint8_t buf[AMD_CTX_MAX])
{
	size_t pos = 0;

	memset(buf, 0, AMD_CTX_MAX);
	pos = ctx_put_field(buf, pos, ctx->key_id, DSKE_KEY_ID_LEN);
	pos = ctx_put_field(buf, pos, ctx->init_kme, name_len(ctx->init_kme));
	pos = ctx_put_field(buf, pos, ctx->resp_kme, name_len(ctx->resp_kme));
	pos = ctx_put_field(buf, pos, ctx->init_sae, name_len(ctx->init_sae));
	pos = ctx_put_field(buf, pos, ctx->resp_sae, name_len(ctx->resp_sae));
	buf[pos + 0] = ctx->n;
	buf[pos + 1] = ctx->k;
	buf[pos + 2] = (uint8_t)(ctx->key_len >> 8);
	buf[pos + 3] = (uint8_t)ctx->key_len;
	buf[pos + 4] = ctx->codec;
	return pos + AMD_BLOCK;
}

/* coefficient c_j (1-based) into r: key block, context block or the odd-making zero block */
static void amd_coeff(struct gf128 *r, size_t j, const uint8_t *key, size_t key_len, size_t d,
                      const uint8_t *cbuf, size_t c)
{
	uint8_t blk[AMD_BLOCK];

	if (j <= d) {
		size_t off = (j - 1) * AMD_BLOCK;
		size_t n = key_len - off < AMD_BLOCK ? key_len - off : AMD_BLOCK;
		memset(blk, 0, sizeof(blk));
		memcpy(blk, key + off, n);
		gf128_load(r, blk);
		sodium_memzero(blk, sizeof(blk));
	} else if (j <= d + c) {
		gf128_load(r, cbuf + (j - d - 1) * AMD_BLOCK);
	} else {
		r->hi = r->lo = 0;
	}
}

/* tag[16] = x^(D+2) + sum_{j=1..D} c_j x^j for key[key_len] under ctx (validated) */
static void amd_tag(const struct amd_context *ctx, const uint8_t *key, size_t key_len,
                    const uint8_t xb[AMD_BLOCK], uint8_t tag[AMD_BLOCK])
{
	uint8_t cbuf[AMD_CTX_MAX];
	struct gf128 x, acc, c;
	size_t d = (key_len + AMD_BLOCK - 1) / AMD_BLOCK;
	size_t nc = ctx_encode(ctx, cbuf) / AMD_BLOCK;
	size_t D = d + nc;

	if (D % 2 == 0)
		D++;
	gf128_load(&x, xb);
	/* Horner: acc = x (leading 1 at x^(D+1), 0 at x^D after the final shift), then
	 * acc = acc*x + c_j for j = D..1, then tag = acc*x */
	acc = x;
	for (size_t j = D; j >= 1; j--) {
		gf128_mul(&acc, &acc, &x);
		amd_coeff(&c, j, key, key_len, d, cbuf, nc);
		gf128_add(&acc, &acc, &c);
	}
	gf128_mul(&acc, &acc, &x);
	gf128_store(tag, &acc);
	sodium_memzero(&x, sizeof(x));
	sodium_memzero(&acc, sizeof(acc));
	sodium_memzero(&c, sizeof(c));
}

int amd_encode(const struct amd_context *ctx, const uint8_t *key, size_t key_len, uint8_t *codeword)
{
	int ret;

	ret = ctx_valid(ctx);
	if (ret < 0)
		return ret;
	if (!key || !codeword || key_len != ctx->key_len)
		return -EINVAL;
	ret = rng_bytes(codeword + key_len, AMD_BLOCK);
	if (ret < 0)
		return -EIO;
	memmove(codeword, key, key_len);
	amd_tag(ctx, codeword, key_len, codeword + key_len, codeword + key_len + AMD_BLOCK);
	return 0;
}

int amd_verify(const struct amd_context *ctx, const uint8_t *codeword, size_t len)
{
	uint8_t tag[AMD_BLOCK];
	size_t key_len;
	int ret, diff;

	ret = ctx_valid(ctx);
	if (ret < 0)
		return ret;
	if (!codeword || len != amd_codeword_len(ctx->key_len))
		return -EINVAL;
	key_len = ctx->key_len;
	amd_tag(ctx, codeword, key_len, codeword + key_len, tag);
	diff = sodium_memcmp(tag, codeword + key_len + AMD_BLOCK, AMD_BLOCK);   /* 0 or -1 */
	sodium_memzero(tag, sizeof(tag));
	/* 0 / -EBADMSG without a branch on the (secret until returned) comparison */
	return (int)((0u - (unsigned)(diff != 0)) & (unsigned)-EBADMSG);
}
