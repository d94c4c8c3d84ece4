/* shamir.c — byte-wise Shamir secret sharing over GF(2^8) (shamir.h).
 * Byte b of the secret is f_b(0) for f_b(x) = secret[b] + c_1 x + ... + c_{k-1} x^{k-1};
 * share i is f_b(xs[i]) for every b. All coefficients come from one rng_bytes() call of
 * (k-1)*len bytes into the thread's guarded scratch area (scratch.h): c_j of byte b is at [(j-1)*len + b].
 * Only the public x values decide branches; secret bytes and coefficients go through
 * gf256_mul (constant time) and XOR. */
#include <errno.h>
#include <stdbool.h>
#include <sodium.h>

#include "core/scratch.h"
#include "core/gf256.h"
#include "core/rng.h"
#include "core/shamir.h"

/* xs[0..m): non-zero and pairwise distinct (public data) */
static bool xs_valid(const uint8_t *xs, unsigned m)
{
	bool seen[256] = { false };

	for (unsigned i = 0; i < m; i++) {
		if (xs[i] == 0 || seen[xs[i]])
			return false;
		seen[xs[i]] = true;
	}
	return true;
}

int shamir_split(const uint8_t *secret, size_t len, unsigned n, unsigned k, const uint8_t *xs,
                 uint8_t *const *shares)
{
	uint8_t *coef = NULL;
	size_t clen;
	int ret;

	if (!secret || !xs || !shares || len == 0 || k < 2 || k > n || n > 255)
		return -EINVAL;
	if (!xs_valid(xs, n))
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (!shares[i])
			return -EINVAL;
	if (len > SIZE_MAX / (k - 1))
		return -EINVAL;
	clen = (size_t)(k - 1) * len;
	coef = scratch_get(SCRATCH_SHAMIR, clen);
	if (!coef)
		return -ENOMEM;
	ret = rng_bytes(coef, clen);
	if (ret < 0)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		uint8_t x = xs[i], *out = shares[i];
		for (size_t b = 0; b < len; b++) {
			/* Horner from the top coefficient down to the secret */
			uint8_t y = coef[(size_t)(k - 2) * len + b];
			for (unsigned j = k - 2; j > 0; j--)
				y = gf256_mul(y, x) ^ coef[(size_t)(j - 1) * len + b];
			out[b] = gf256_mul(y, x) ^ secret[b];
		}
	}
	ret = 0;
out:
	scratch_put(SCRATCH_SHAMIR, coef, clen);
	return ret;
}

int shamir_eval(const uint8_t *xs, const uint8_t *const *shares, unsigned k, size_t len,
                uint8_t x_eval, uint8_t *out)
{
	uint8_t lag[255];

	if (!xs || !shares || !out || k < 2 || k > 255)
		return -EINVAL;
	if (!xs_valid(xs, k))
		return -EINVAL;
	for (unsigned i = 0; i < k; i++)
		if (!shares[i])
			return -EINVAL;
	/* Lagrange basis at x_eval: l_i = prod_{j != i} (x_eval - x_j) / (x_i - x_j); public */
	for (unsigned i = 0; i < k; i++) {
		uint8_t num = 1, den = 1;
		for (unsigned j = 0; j < k; j++) {
			if (j == i)
				continue;
			num = gf256_mul(num, x_eval ^ xs[j]);
			den = gf256_mul(den, xs[i] ^ xs[j]);
		}
		lag[i] = gf256_mul(num, gf256_inv(den));
	}
	for (size_t b = 0; b < len; b++) {
		uint8_t y = 0;
		for (unsigned i = 0; i < k; i++)
			y ^= gf256_mul(lag[i], shares[i][b]);
		out[b] = y;
	}
	return 0;
}

int shamir_combine(const uint8_t *xs, const uint8_t *const *shares, unsigned k, size_t len,
                   uint8_t *secret)
{
	return shamir_eval(xs, shares, k, len, 0, secret);
}
