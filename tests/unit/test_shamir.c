/* test_shamir.c — Shamir over GF(2^8): every k-subset of n shares rebuilds the secret for all
 * 2 <= k <= n <= 10 and lengths 1..64; k = 1 (and k > n, x = 0, duplicate x) refused; and an
 * exhaustive count over all coefficient choices showing that any k-1 shares of a 1-byte secret
 * have the same distribution (uniform) whatever the secret. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/gf256.h"
#include "core/rng.h"
#include "core/shamir.h"

#define MAXN 10
#define MAXLEN 64

/* next k-subset of [0, n) in lexicographic order; false after the last */
static int next_subset(unsigned *idx, unsigned k, unsigned n)
{
	int i = (int)k - 1;

	while (i >= 0 && idx[i] == n - k + (unsigned)i)
		i--;
	if (i < 0)
		return 0;
	idx[i]++;
	for (unsigned j = (unsigned)i + 1; j < k; j++)
		idx[j] = idx[j - 1] + 1;
	return 1;
}

static void test_any_k_of_n(void **state)
{
	uint8_t secret[MAXLEN], out[MAXLEN], buf[MAXN][MAXLEN], xs[MAXN], sx[MAXN];
	uint8_t *shares[MAXN];
	const uint8_t *sub[MAXN];
	unsigned idx[MAXN];
	unsigned long combos = 0;

	for (unsigned i = 0; i < MAXN; i++)
		shares[i] = buf[i];
	for (unsigned n = 2; n <= MAXN; n++)
		for (unsigned k = 2; k <= n; k++)
			for (size_t len = 1; len <= MAXLEN; len++) {
				/* hub indexes: not 1..n in order, to use arbitrary x */
				for (unsigned i = 0; i < n; i++)
					xs[i] = (uint8_t)(255 - 23 * i);
				assert_int_equal(rng_bytes(secret, len), 0);
				assert_int_equal(shamir_split(secret, len, n, k, xs, shares), 0);
				for (unsigned i = 0; i < k; i++)
					idx[i] = i;
				do {
					for (unsigned i = 0; i < k; i++) {
						sx[i] = xs[idx[i]];
						sub[i] = shares[idx[i]];
					}
					memset(out, 0, sizeof(out));
					assert_int_equal(shamir_combine(sx, sub, k, len, out), 0);
					if (memcmp(out, secret, len) != 0)
						fail_msg("n=%u k=%u len=%zu: subset does not rebuild", n, k, len);
					combos++;
				} while (next_subset(idx, k, n));
				/* more than k points lie on the same polynomial too */
				const uint8_t *all[MAXN];
				for (unsigned i = 0; i < n; i++)
					all[i] = shares[i];
				assert_int_equal(shamir_combine(xs, all, n, len, out), 0);
				assert_memory_equal(out, secret, len);
				/* shamir_eval at a share's x gives that share back */
				assert_int_equal(shamir_eval(xs, all, k, len, xs[n - 1], out), 0);
				assert_memory_equal(out, shares[n - 1], len);
			}
	print_message("  %lu k-subsets rebuilt\n", combos);
}

static void test_fewer_than_k_do_not_rebuild(void **state)
{
	/* k-1 shares interpolate to some degree k-2 polynomial: its value at 0 is not the secret
	 * except by chance (the exhaustive test below shows they carry no information) */
	uint8_t secret[32], out[32], buf[5][32], xs[5] = { 1, 2, 3, 4, 5 };
	uint8_t *shares[5] = { buf[0], buf[1], buf[2], buf[3], buf[4] };
	const uint8_t *sub[2] = { buf[0], buf[1] };

	assert_int_equal(rng_bytes(secret, sizeof(secret)), 0);
	assert_int_equal(shamir_split(secret, sizeof(secret), 5, 3, xs, shares), 0);
	assert_int_equal(shamir_combine(xs, sub, 2, sizeof(secret), out), 0);
	assert_memory_not_equal(out, secret, sizeof(secret));   /* 2^-256 false failure */
}

static void test_refused(void **state)
{
	uint8_t secret[4] = { 1, 2, 3, 4 }, buf[4][4], out[4];
	uint8_t *shares[4] = { buf[0], buf[1], buf[2], buf[3] };
	const uint8_t *cs[4] = { buf[0], buf[1], buf[2], buf[3] };
	uint8_t xs[4] = { 1, 2, 3, 4 }, x0[4] = { 1, 0, 3, 4 }, dup[4] = { 1, 2, 2, 4 };

	/* k = 1 is refused by design (protocol.md section 1: a single hub would hold the key) */
	assert_int_equal(shamir_split(secret, 4, 4, 1, xs, shares), -EINVAL);
	assert_int_equal(shamir_split(secret, 4, 4, 0, xs, shares), -EINVAL);
	assert_int_equal(shamir_split(secret, 4, 3, 4, xs, shares), -EINVAL);   /* k > n */
	assert_int_equal(shamir_split(secret, 4, 4, 2, x0, shares), -EINVAL);   /* x = 0 */
	assert_int_equal(shamir_split(secret, 4, 4, 2, dup, shares), -EINVAL);  /* duplicate */
	assert_int_equal(shamir_split(secret, 0, 4, 2, xs, shares), -EINVAL);   /* empty */
	assert_int_equal(shamir_split(secret, 4, 256, 2, xs, shares), -EINVAL); /* n > 255 */
	assert_int_equal(shamir_split(NULL, 4, 4, 2, xs, shares), -EINVAL);
	assert_int_equal(shamir_split(secret, 4, 4, 4, xs, shares), 0);

	assert_int_equal(shamir_combine(xs, cs, 1, 4, out), -EINVAL);           /* k = 1 */
	assert_int_equal(shamir_combine(x0, cs, 4, 4, out), -EINVAL);           /* x = 0 */
	assert_int_equal(shamir_combine(dup, cs, 4, 4, out), -EINVAL);          /* duplicate */
	assert_int_equal(shamir_eval(x0, cs, 2, 4, 5, out), -EINVAL);
	assert_int_equal(shamir_eval(dup + 1, cs, 2, 4, 5, out), -EINVAL);
	assert_int_equal(shamir_combine(xs, cs, 4, 4, out), 0);
	assert_memory_equal(out, secret, 4);
}

/*
 * Exhaustive distribution of k-1 shares. Sharing is byte-wise, so one shamir_split of a secret
 * of length N = 256^(k-1) whose bytes all equal s is N independent 1-byte sharings of s. The rng
 * is pointed at a file that makes byte position b use coefficient choice number b (shamir.h: c_j
 * of byte b is at offset (j-1)*N + b of the rng draw), so the N positions enumerate every
 * coefficient choice exactly once. For every (k-1)-subset of the n shares we count how often
 * each tuple of share values occurs, and require the histogram to be the same for all 256
 * secrets (in fact uniform: every tuple exactly once, the map coefficients -> shares is a
 * bijection for each fixed secret).
 */
static void check_distribution(unsigned n, unsigned k)
{
	size_t N = (size_t)1 << (8 * (k - 1));
	char path[] = "/tmp/test_shamir_coef.XXXXXX";
	uint8_t *secret = malloc(N), *coef = malloc((k - 1) * N), *buf = malloc(n * N);
	uint32_t *hist = calloc(N, sizeof(uint32_t)), *hist0 = calloc(N, sizeof(uint32_t));
	uint8_t *shares[8], xs[8];
	unsigned idx[8];
	int fd, have_ref = 0;

	assert_true(n <= 8 && k >= 2 && k <= 3);
	assert_non_null(secret);
	assert_non_null(coef);
	assert_non_null(buf);
	assert_non_null(hist);
	assert_non_null(hist0);
	for (size_t b = 0; b < N; b++)
		for (unsigned j = 0; j < k - 1; j++)
			coef[j * N + b] = (uint8_t)(b >> (8 * j));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, coef, (k - 1) * N), (ssize_t)((k - 1) * N));
	close(fd);
	for (unsigned i = 0; i < n; i++) {
		shares[i] = buf + i * N;
		xs[i] = (uint8_t)(i + 1);
	}
	/* for each (k-1)-subset: the histogram of the tuple, for every secret */
	for (unsigned s = 0; s < 256; s++) {
		memset(secret, (int)s, N);
		assert_int_equal(rng_set_source(path), 0);    /* rewind: same coefficients */
		assert_int_equal(shamir_split(secret, N, n, k, xs, shares), 0);
		for (unsigned i = 0; i < k - 1; i++)
			idx[i] = i;
		do {
			memset(hist, 0, N * sizeof(uint32_t));
			for (size_t b = 0; b < N; b++) {
				size_t t = 0;
				for (unsigned i = 0; i < k - 1; i++)
					t = (t << 8) | shares[idx[i]][b];
				hist[t]++;
			}
			for (size_t t = 0; t < N; t++) {
				if (hist[t] != 1)
					fail_msg("n=%u k=%u secret=%u: share tuple %zx occurs %u times",
					         n, k, s, t, hist[t]);
			}
			if (!have_ref) {
				memcpy(hist0, hist, N * sizeof(uint32_t));
				have_ref = 1;
			} else
				assert_memory_equal(hist, hist0, N * sizeof(uint32_t));
		} while (next_subset(idx, k - 1, n));
		/* and the full set of k shares still determines s at every position */
		const uint8_t *sub[8];
		for (unsigned i = 0; i < k; i++)
			sub[i] = shares[i];
		assert_int_equal(shamir_combine(xs, sub, k, N, coef), 0);
		for (size_t b = 0; b < N; b++)
			if (coef[b] != s)
				fail_msg("n=%u k=%u: position %zu does not rebuild", n, k, b);
	}
	assert_int_equal(rng_set_source(NULL), 0);
	unlink(path);
	free(secret);
	free(coef);
	free(buf);
	free(hist);
	free(hist0);
}

static void test_k_minus_1_shares_reveal_nothing(void **state)
{
	check_distribution(2, 2);
	check_distribution(3, 2);
	check_distribution(5, 2);
	check_distribution(3, 3);
	check_distribution(4, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_any_k_of_n),
		cmocka_unit_test(test_fewer_than_k_do_not_rebuild),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_k_minus_1_shares_reveal_nothing),
	};

	if (rng_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("shamir", tests, NULL, NULL);
}
