/* shamir.h — Shamir secret sharing byte-wise over GF(2^8). x = hub index (1..255), never 0.
 * 2 <= k <= n <= 255. Coefficients from rng_bytes(). Constant time in the secret.
 * Coefficients: one rng_bytes() call of (k-1)*len bytes (sodium_malloc'd, wiped); the coefficient
 * of x^j for secret byte b is at offset (j-1)*len + b (test_shamir.c relies on this layout). */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Split secret[len] into n shares; share i (x = xs[i]) is written to shares[i][0..len) (the
 * share buffers must not overlap the secret).
 * xs must be distinct and non-zero. 0, -EINVAL (k = 1, k > n, x = 0, duplicate x), -EIO (rng). */
int shamir_split(const uint8_t *secret, size_t len, unsigned n, unsigned k, const uint8_t *xs,
                 uint8_t *const *shares);
/* Interpolate the degree k-1 polynomial through the k points (xs[i], shares[i]) and evaluate it at
 * x_eval (0 = the secret). out[len]. 0 or -EINVAL (x = 0 among xs, duplicate x, k < 2). */
int shamir_eval(const uint8_t *xs, const uint8_t *const *shares, unsigned k, size_t len,
                uint8_t x_eval, uint8_t *out);
/* shamir_eval(.., 0, secret). */
int shamir_combine(const uint8_t *xs, const uint8_t *const *shares, unsigned k, size_t len,
                   uint8_t *secret);
