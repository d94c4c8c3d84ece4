/* reconstruct.c — robust reconstruction of an AMD codeword from m >= k Shamir shares
 * (reconstruct.h, protocol.md section 6 step 3).
 *
 * Fast path: interpolate the first k shares, evaluate that polynomial at every other share's x;
 * if all agree and AMD verifies, accept (bad mask 0). If all agree and AMD fails, no subset can do
 * better (they all give the same polynomial): -EBADMSG.
 * Slow path: every k-subset in lexicographic order (at most C(m, k), m <= 32, and at most
 * RECON_MAX_SUBSETS of them); a subset wholly inside the agreement set of the best candidate so far
 * is skipped (same polynomial). A candidate counts only if AMD verifies; then its agreement set is
 * computed. The candidate agreeing with the most shares wins; a tie between two different
 * AMD-valid candidates is refused (-EBADMSG): with at most k-1 corrupt hubs it cannot happen
 * except with the AMD error probability. Two different polynomials of degree k-1 agree on at most
 * k-1 points, so a candidate agreeing with a shares where 2a > m + k - 1 is the unique best: stop.
 *
 * Agreement between shares is not secret (the bad mask is an output); AMD verification and the
 * field arithmetic are constant time. Codewords live in sodium_malloc'd scratch memory, wiped. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sodium.h>

#include "core/scratch.h"
#include "core/reconstruct.h"
#include "core/shamir.h"

#define RECON_MAX_SHARES 32
#define RECON_MAX_SUBSETS (1u << 16)     /* bound on slow-path work (C(m,k) beyond: not tried) */

struct recon {
	const struct amd_context *ctx;
	const struct recon_share *shares;
	unsigned m, k;
	size_t cw_len;
	uint8_t *cand;     /* candidate codeword */
	uint8_t *eval;     /* the candidate polynomial evaluated at some x */
};

/* interpolate the subset idx[0..k) into r->cand (x = 0) */
static int recon_interp(struct recon *r, const unsigned *idx, uint8_t x_eval, uint8_t *out)
{
	uint8_t xs[RECON_MAX_SHARES];
	const uint8_t *data[RECON_MAX_SHARES];

	for (unsigned i = 0; i < r->k; i++) {
		xs[i] = r->shares[idx[i]].x;
		data[i] = r->shares[idx[i]].data;
	}
	return shamir_eval(xs, data, r->k, r->cw_len, x_eval, out);
}

/* bit mask of shares lying on the polynomial through subset idx (the subset itself included) */
static int recon_agree(struct recon *r, const unsigned *idx, uint32_t subset, uint32_t *ret)
{
	uint32_t agree = subset;
	int ret_val;

	for (unsigned i = 0; i < r->m; i++) {
		if (subset & (1u << i))
			continue;
		ret_val = recon_interp(r, idx, r->shares[i].x, r->eval);
		if (ret_val < 0)
			return ret_val;
		if (sodium_memcmp(r->eval, r->shares[i].data, r->cw_len) == 0)
			agree |= 1u << i;
	}
	*ret = agree;
	return 0;
}

static uint32_t mask_low(unsigned n)
{
	return n >= 32 ? 0xffffffffu : (1u << n) - 1;
}

static unsigned popcount32(uint32_t v)
{
	return (unsigned)__builtin_popcount(v);
}

int reconstruct_key(const struct amd_context *ctx, const struct recon_share *shares, size_t count,
                    unsigned k, uint8_t *key_out, uint32_t *ret_bad)
{
	struct recon r = { .ctx = ctx, .shares = shares, .k = k };
	uint8_t *scratch = NULL, *best;
	uint32_t best_agree = 0, all, agree, subset;
	unsigned idx[RECON_MAX_SHARES], best_n = 0, tries = 0;
	int ret, v;
	bool tie = false;

	if (!ctx || !shares || !key_out || !ret_bad || count > RECON_MAX_SHARES || k < 2 || k > 255)
		return -EINVAL;
	if (ctx->key_len == 0 || ctx->key_len > AMD_KEY_MAX)
		return -EINVAL;
	for (size_t i = 0; i < count; i++) {
		if (shares[i].x == 0 || !shares[i].data)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (shares[j].x == shares[i].x)
				return -EINVAL;
	}
	if (count < k)
		return -EAGAIN;
	if (sodium_init() < 0)
		return -EIO;
	r.m = (unsigned)count;
	r.cw_len = amd_codeword_len(ctx->key_len);
	/* the three scratch codewords in this thread's guarded scratch area (scratch.h) */
	scratch = scratch_get(SCRATCH_RECON, 3 * r.cw_len);
	if (!scratch) {
		ret = -ENOMEM;
		goto out;
	}
	r.cand = scratch;
	r.eval = scratch + r.cw_len;
	best = scratch + 2 * r.cw_len;

	/* fast path: the first k shares */
	for (unsigned i = 0; i < k; i++)
		idx[i] = i;
	subset = mask_low(k);
	all = mask_low(r.m);
	ret = recon_interp(&r, idx, 0, r.cand);
	if (ret < 0)
		goto out;
	ret = recon_agree(&r, idx, subset, &agree);
	if (ret < 0)
		goto out;
	v = amd_verify(ctx, r.cand, r.cw_len);
	if (v == -EINVAL) {
		ret = v;
		goto out;
	}
	if (agree == all) {
		if (v < 0) {
			ret = -EBADMSG;       /* every share on one polynomial, and it fails AMD */
			goto out;
		}
		memcpy(best, r.cand, r.cw_len);
		best_agree = agree;
		goto accept;
	}
	if (v == 0) {
		memcpy(best, r.cand, r.cw_len);
		best_agree = agree;
		best_n = popcount32(agree);
	}

	/* slow path: the other k-subsets, lexicographic */
	for (;;) {
		int i = (int)k - 1;
		while (i >= 0 && idx[i] == count - k + (unsigned)i)
			i--;
		if (i < 0)
			break;
		idx[i]++;
		for (unsigned j = (unsigned)i + 1; j < k; j++)
			idx[j] = idx[j - 1] + 1;
		if (best_n && 2 * best_n > count + k - 1)
			break;                          /* the best candidate is already unique */
		if (++tries > RECON_MAX_SUBSETS)
			break;
		subset = 0;
		for (unsigned j = 0; j < k; j++)
			subset |= 1u << idx[j];
		if (best_n && (subset & ~best_agree) == 0)
			continue;                       /* same polynomial as the best candidate */
		ret = recon_interp(&r, idx, 0, r.cand);
		if (ret < 0)
			goto out;
		if (amd_verify(ctx, r.cand, r.cw_len) != 0)
			continue;
		ret = recon_agree(&r, idx, subset, &agree);
		if (ret < 0)
			goto out;
		if (best_n && sodium_memcmp(r.cand, best, r.cw_len) == 0)
			continue;                       /* same codeword found again */
		if (popcount32(agree) > best_n) {
			memcpy(best, r.cand, r.cw_len);
			best_agree = agree;
			best_n = popcount32(agree);
			tie = false;
		} else if (popcount32(agree) == best_n) {
			tie = true;
		}
	}
	if (best_n == 0 || tie) {
		ret = -EBADMSG;
		goto out;
	}
accept:
	memcpy(key_out, best, ctx->key_len);
	*ret_bad = ~best_agree & all;
	ret = 0;
out:
	if (scratch)
		scratch_put(SCRATCH_RECON, scratch, 3 * r.cw_len);
	return ret;
}
