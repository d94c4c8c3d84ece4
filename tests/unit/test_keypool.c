/* test_keypool — the responder's key pool: slab (many keys per chunk, chunks freed when empty),
 * once-only delivery with tombstones, all-or-nothing takes, slave/master checks, per-peer bound,
 * expiry, wiping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>

/* the module itself, to look at its slab in the wipe test */
#include "clientd/keypool.c"

static void mk_id(uint8_t id[DSKE_KEY_ID_LEN], unsigned n)
{
	memset(id, 0, DSKE_KEY_ID_LEN);
	id[0] = 0xa5;
	id[12] = (uint8_t)(n >> 24);
	id[13] = (uint8_t)(n >> 16);
	id[14] = (uint8_t)(n >> 8);
	id[15] = (uint8_t)n;
}

static struct kp_meta meta(unsigned n, unsigned peer, unsigned init, unsigned resp, uint64_t exp)
{
	struct kp_meta m = { .peer = (uint16_t)peer, .init_sae = (uint16_t)init,
	                     .resp_sae = (uint16_t)resp, .expiry = exp };
	mk_id(m.key_id, n);
	return m;
}

static void fill(uint8_t *k, size_t len, unsigned n)
{
	for (size_t i = 0; i < len; i++)
		k[i] = (uint8_t)(n * 31 + i);
}

static void test_put_take_once(void **state)
{
	struct keypool *kp;
	struct keysvc_batch *b = NULL;
	uint8_t key[32], id[1][DSKE_KEY_ID_LEN];
	struct kp_stats st;

	assert_int_equal(keypool_new(2, 100, &kp), 0);
	struct kp_meta m = meta(1, 1, 0, 3, 1000);
	fill(key, sizeof(key), 1);
	assert_int_equal(keypool_put(kp, &m, key, sizeof(key)), 0);
	assert_true(keypool_has(kp, m.key_id, 10));
	assert_int_equal(keypool_put(kp, &m, key, sizeof(key)), -EEXIST);
	assert_int_equal(keypool_count_peer(kp, 1), 1);
	assert_int_equal(keypool_count_pair(kp, 1, 0, 3), 1);
	assert_int_equal(keypool_count_pair(kp, 1, 1, 3), 0);

	memcpy(id[0], m.key_id, DSKE_KEY_ID_LEN);
	assert_int_equal(keypool_take(kp, (const uint8_t (*)[DSKE_KEY_ID_LEN])id, 1, 1, 0, 3, 10, &b), 0);
	assert_int_equal(b->count, 1);
	assert_int_equal(b->keys[0].len, 32);
	assert_memory_equal(b->keys[0].key, key, 32);
	assert_memory_equal(b->keys[0].key_id, m.key_id, DSKE_KEY_ID_LEN);
	keysvc_batch_free(b);
	b = NULL;

	/* once only: a second take and a second put of the same ID fail */
	assert_int_equal(keypool_take(kp, (const uint8_t (*)[DSKE_KEY_ID_LEN])id, 1, 1, 0, 3, 10, &b), -ENOENT);
	assert_null(b);
	assert_false(keypool_has(kp, m.key_id, 10));
	assert_true(keypool_was_delivered(kp, m.key_id));
	assert_int_equal(keypool_put(kp, &m, key, sizeof(key)), -EEXIST);
	keypool_stats(kp, &st);
	assert_int_equal(st.held, 0);
	assert_int_equal(st.tombstones, 1);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.chunks, 1);          /* one empty chunk kept for reuse, no more */
	assert_int_equal(keypool_count_peer(kp, 1), 0);
	keypool_free(kp);
}

static void test_slave_master_checks(void **state)
{
	struct keypool *kp;
	struct keysvc_batch *b = NULL;
	uint8_t key[16] = { 1 }, ids[2][DSKE_KEY_ID_LEN];

	assert_int_equal(keypool_new(2, 100, &kp), 0);
	struct kp_meta m1 = meta(1, 0, 2, 5, 1000), m2 = meta(2, 0, 2, 6, 1000);
	assert_int_equal(keypool_put(kp, &m1, key, sizeof(key)), 0);
	assert_int_equal(keypool_put(kp, &m2, key, sizeof(key)), 0);
	memcpy(ids[0], m1.key_id, DSKE_KEY_ID_LEN);
	memcpy(ids[1], m2.key_id, DSKE_KEY_ID_LEN);
	const uint8_t (*cids)[DSKE_KEY_ID_LEN] = (const uint8_t (*)[DSKE_KEY_ID_LEN])ids;

	/* the second key belongs to slave 6: the whole request is refused, nothing taken */
	assert_int_equal(keypool_take(kp, cids, 2, 0, 2, 5, 10, &b), -EACCES);
	assert_null(b);
	/* wrong master (other peer, other SAE of the peer): not found */
	assert_int_equal(keypool_take(kp, cids, 1, 1, 2, 5, 10, &b), -ENOENT);
	assert_int_equal(keypool_take(kp, cids, 1, 0, 3, 5, 10, &b), -ENOENT);
	/* an unknown ID with a good one: all or nothing */
	uint8_t mix[2][DSKE_KEY_ID_LEN];
	memcpy(mix[0], m1.key_id, DSKE_KEY_ID_LEN);
	mk_id(mix[1], 99);
	assert_int_equal(keypool_take(kp, (const uint8_t (*)[DSKE_KEY_ID_LEN])mix, 2, 0, 2, 5, 10, &b), -ENOENT);
	/* the same ID twice in one request */
	memcpy(mix[1], m1.key_id, DSKE_KEY_ID_LEN);
	assert_int_equal(keypool_take(kp, (const uint8_t (*)[DSKE_KEY_ID_LEN])mix, 2, 0, 2, 5, 10, &b), -ENOENT);
	assert_true(keypool_has(kp, m1.key_id, 10));
	assert_true(keypool_has(kp, m2.key_id, 10));
	/* the right slaves */
	assert_int_equal(keypool_take(kp, cids, 1, 0, 2, 5, 10, &b), 0);
	keysvc_batch_free(b);
	assert_int_equal(keypool_take(kp, cids + 1, 1, 0, 2, 6, 10, &b), 0);
	keysvc_batch_free(b);
	keypool_free(kp);
}

static void test_bound_per_peer(void **state)
{
	struct keypool *kp;
	uint8_t key[32] = { 7 };

	assert_int_equal(keypool_new(2, 3, &kp), 0);
	for (unsigned i = 0; i < 3; i++) {
		struct kp_meta m = meta(i, 0, 0, 0, 1000);
		assert_int_equal(keypool_put(kp, &m, key, sizeof(key)), 0);
	}
	struct kp_meta m = meta(10, 0, 0, 0, 1000);
	assert_int_equal(keypool_put(kp, &m, key, sizeof(key)), -ENOSPC);
	/* another peer has its own bound */
	m = meta(11, 1, 0, 0, 1000);
	assert_int_equal(keypool_put(kp, &m, key, sizeof(key)), 0);
	/* bad arguments */
	m = meta(12, 2, 0, 0, 1000);
	assert_int_equal(keypool_put(kp, &m, key, sizeof(key)), -EINVAL);
	m = meta(13, 1, 0, 0, 1000);
	assert_int_equal(keypool_put(kp, &m, key, 0), -EINVAL);
	uint8_t big[KEYPOOL_KEY_MAX + 1] = { 0 };
	assert_int_equal(keypool_put(kp, &m, big, sizeof(big)), -EINVAL);
	assert_int_equal(keypool_put(kp, &m, big, KEYPOOL_KEY_MAX), 0);
	keypool_free(kp);
}

static void test_expiry(void **state)
{
	struct keypool *kp;
	struct keysvc_batch *b = NULL;
	uint8_t key[32] = { 9 }, id[1][DSKE_KEY_ID_LEN];
	struct kp_stats st;

	assert_int_equal(keypool_new(1, 100, &kp), 0);
	struct kp_meta a = meta(1, 0, 0, 0, 100), c = meta(2, 0, 0, 0, 200);
	assert_int_equal(keypool_put(kp, &a, key, sizeof(key)), 0);
	assert_int_equal(keypool_put(kp, &c, key, sizeof(key)), 0);
	/* an expired key is not delivered even before the sweep */
	memcpy(id[0], a.key_id, DSKE_KEY_ID_LEN);
	assert_int_equal(keypool_take(kp, (const uint8_t (*)[DSKE_KEY_ID_LEN])id, 1, 0, 0, 0, 100, &b), -ENOENT);
	assert_false(keypool_has(kp, a.key_id, 100));
	assert_int_equal(keypool_expire(kp, 150), 1);
	keypool_stats(kp, &st);
	assert_int_equal(st.held, 1);
	assert_int_equal(st.expired, 1);
	/* after expiry the ID is forgotten entirely */
	assert_false(keypool_was_delivered(kp, a.key_id));
	assert_int_equal(keypool_expire(kp, 1000), 1);
	keypool_stats(kp, &st);
	assert_int_equal(st.held, 0);
	assert_int_equal(st.chunks, 1);
	keypool_free(kp);
}

static void test_slab_many_keys(void **state)
{
	struct keypool *kp;
	struct kp_stats st;
	uint8_t key[KEYPOOL_KEY_MAX];
	enum { N = 5000 };

	assert_int_equal(keypool_new(1, N, &kp), 0);
	for (unsigned i = 0; i < N; i++) {
		size_t len = 8 + (i % 4) * 24;     /* 8, 32, 56, 80 bytes: two size classes... */
		struct kp_meta m = meta(i, 0, 0, 0, 1000);
		fill(key, len, i);
		assert_int_equal(keypool_put(kp, &m, key, len), 0);
	}
	keypool_stats(kp, &st);
	assert_int_equal(st.held, N);
	/* one allocation per chunk of 64 KiB, not one per key: 5000 keys of <= 128 bytes fit in a
	 * handful of chunks */
	assert_true(st.chunks > 0 && st.chunks <= 8);
	/* every key comes back intact (no slot overlaps) */
	for (unsigned i = 0; i < N; i += 7) {
		uint8_t id[1][DSKE_KEY_ID_LEN];
		struct keysvc_batch *b = NULL;
		size_t len = 8 + (i % 4) * 24;
		mk_id(id[0], i);
		assert_int_equal(keypool_take(kp, (const uint8_t (*)[DSKE_KEY_ID_LEN])id, 1, 0, 0, 0, 10, &b), 0);
		fill(key, len, i);
		assert_int_equal(b->keys[0].len, len);
		assert_memory_equal(b->keys[0].key, key, len);
		keysvc_batch_free(b);
	}
	assert_int_equal(keypool_expire(kp, 2000), N - (N + 6) / 7);
	keypool_stats(kp, &st);
	assert_int_equal(st.held, 0);
	assert_int_equal(st.chunks, 3);   /* size classes 32, 64, 128: one empty chunk each */
	keypool_free(kp);
}

/* taking a key wipes its slot at once (the bytes live on only in the caller's batch) */
static void test_wipe_on_take(void **state)
{
	struct keypool *kp;
	struct keysvc_batch *b = NULL;
	uint8_t key[64], id[1][DSKE_KEY_ID_LEN], zero[64] = { 0 };

	assert_int_equal(keypool_new(1, 10, &kp), 0);
	/* keep the chunk alive with a second key so the slot stays mapped */
	struct kp_meta keep = meta(100, 0, 0, 0, 1000), m = meta(1, 0, 0, 0, 1000);
	memset(key, 0x11, sizeof(key));
	assert_int_equal(keypool_put(kp, &keep, key, 64), 0);
	memset(key, 0xee, sizeof(key));
	assert_int_equal(keypool_put(kp, &m, key, 64), 0);
	struct kp_entry *e = lookup(kp, m.key_id);
	assert_non_null(e);
	uint8_t *slot = e->slot;
	assert_memory_equal(slot, key, 64);
	memcpy(id[0], m.key_id, DSKE_KEY_ID_LEN);
	assert_int_equal(keypool_take(kp, (const uint8_t (*)[DSKE_KEY_ID_LEN])id, 1, 0, 0, 0, 10, &b), 0);
	assert_memory_equal(slot, zero, 64);
	assert_memory_equal(b->keys[0].key, key, 64);
	keysvc_batch_free(b);
	/* expiry wipes too */
	e = lookup(kp, keep.key_id);
	slot = e->slot;
	struct kp_meta m3 = meta(3, 0, 0, 0, 5000);
	assert_int_equal(keypool_put(kp, &m3, key, 64), 0);   /* keeps the chunk mapped */
	assert_int_equal(keypool_expire(kp, 2000), 1);
	assert_memory_equal(slot, zero, 64);
	keypool_free(kp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_take_once),
		cmocka_unit_test(test_slave_master_checks),
		cmocka_unit_test(test_bound_per_peer),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_slab_many_keys),
		cmocka_unit_test(test_wipe_on_take),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
