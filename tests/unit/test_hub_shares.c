/* test_hub_shares.c — the hub's share store: durability across reopen, wipe on release and
 * expiry (zeros in the file), tombstones, duplicate rules, delivery bound, list cursor, torn tail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "hubd/hub_shares.h"

#define NOW 1700000000ull

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/test_hub_shares.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void meta_init(struct wire_key_meta *m, uint8_t id, const char *init, const char *resp)
{
	memset(m, 0, sizeof(*m));
	memset(m->key_id, id, sizeof(m->key_id));
	strcpy(m->init_kme, init);
	strcpy(m->init_sae, "sae_i");
	strcpy(m->resp_kme, resp);
	strcpy(m->resp_sae, "sae_r");
	m->n = 3;
	m->k = 2;
	m->x = 1;
	m->codec = 1;
	m->key_len = 32;
	m->expiry = NOW + 3600;
}

static void share_init(uint8_t *s, uint8_t seed)
{
	for (int i = 0; i < 64; i++)
		s[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

static struct hub_shares *open_store(uint64_t max)
{
	struct hub_shares *s = NULL;

	assert_int_equal(hub_shares_open(dir, max, NOW, &s), 0);
	return s;
}

/* the journal's bytes, for checking what is on disk */
static uint8_t *journal(size_t *len)
{
	char path[128];
	struct stat st;
	uint8_t *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/journal", dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	buf = malloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static bool on_disk(const uint8_t *share)
{
	size_t len;
	uint8_t *j = journal(&len);
	bool found = memmem(j, len, share, 64) != NULL;

	free(j);
	return found;
}

static uint8_t deliver(struct hub_shares *s, const struct wire_key_meta *m, const char *client,
                       uint64_t max, uint8_t *out)
{
	struct wire_key_ref ref;
	struct wire_key_meta got;
	uint8_t st = 0xff;

	memcpy(ref.key_id, m->key_id, sizeof(ref.key_id));
	strcpy(ref.init_sae, m->init_sae);
	strcpy(ref.resp_sae, m->resp_sae);
	assert_int_equal(hub_shares_deliver(s, &ref, client, max, NOW, &got, out, 2048, &st), 0);
	if (st == WIRE_ST_OK)
		assert_string_equal(got.init_kme, m->init_kme);
	return st;
}

static void test_durable_and_wipe(void **state)
{
	struct hub_shares *s = open_store(100);
	struct hub_shares_stats st;
	struct wire_key_meta m;
	uint8_t share[64], out[2048], status;

	meta_init(&m, 1, "alice", "bob");
	share_init(share, 1);
	assert_int_equal(hub_shares_put(s, &m, m.expiry, share, 64, NOW, &status), 0);
	assert_int_equal(status, WIRE_ST_OK);
	/* not durable yet: not delivered */
	assert_int_equal(deliver(s, &m, "bob", 4, out), WIRE_ST_UNKNOWN);
	assert_int_equal(hub_shares_commit(s), 0);
	hub_shares_close(s);

	s = open_store(100);
	hub_shares_get_stats(s, &st);
	assert_int_equal(st.stored, 1);
	assert_int_equal(hub_shares_status(s, m.key_id, "alice"), WIRE_ST_PENDING);
	assert_int_equal(hub_shares_status(s, m.key_id, "bob"), WIRE_ST_UNKNOWN);
	assert_int_equal(deliver(s, &m, "bob", 4, out), WIRE_ST_OK);
	assert_memory_equal(out, share, 64);
	assert_true(on_disk(share));
	/* only the responder may release */
	assert_int_equal(hub_shares_release(s, m.key_id, "alice", NOW, &status), 0);
	assert_int_equal(status, WIRE_ST_FORBIDDEN);
	assert_int_equal(hub_shares_release(s, m.key_id, "bob", NOW, &status), 0);
	assert_int_equal(status, WIRE_ST_OK);
	assert_int_equal(hub_shares_commit(s), 0);
	assert_false(on_disk(share));              /* wiped in place */
	assert_int_equal(hub_shares_status(s, m.key_id, "alice"), WIRE_ST_RELEASED);
	assert_int_equal(deliver(s, &m, "bob", 4, out), WIRE_ST_UNKNOWN);
	/* releasing again is fine */
	assert_int_equal(hub_shares_release(s, m.key_id, "bob", NOW, &status), 0);
	assert_int_equal(status, WIRE_ST_OK);
	hub_shares_close(s);

	s = open_store(100);                       /* the tombstone survives a restart */
	assert_int_equal(hub_shares_status(s, m.key_id, "alice"), WIRE_ST_RELEASED);
	hub_shares_get_stats(s, &st);
	assert_int_equal(st.stored, 0);
	assert_int_equal(st.released, 1);
	/* a released key ID is never stored again; the same client and metadata is ALREADY */
	assert_int_equal(hub_shares_put(s, &m, m.expiry, share, 64, NOW, &status), 0);
	assert_int_equal(status, WIRE_ST_ALREADY);
	strcpy(m.init_kme, "carol");
	assert_int_equal(hub_shares_put(s, &m, m.expiry, share, 64, NOW, &status), 0);
	assert_int_equal(status, WIRE_ST_DUPLICATE);
	assert_false(on_disk(share));
	hub_shares_close(s);
}

static void test_duplicates(void **state)
{
	struct hub_shares *s = open_store(100);
	struct wire_key_meta m, m2;
	uint8_t share[64], other[64], out[2048], status;

	meta_init(&m, 2, "alice", "bob");
	share_init(share, 2);
	share_init(other, 3);
	assert_int_equal(hub_shares_put(s, &m, m.expiry, share, 64, NOW, &status), 0);
	assert_int_equal(status, WIRE_ST_OK);
	assert_int_equal(hub_shares_put(s, &m, m.expiry, share, 64, NOW, &status), 0);
	assert_int_equal(status, WIRE_ST_ALREADY);
	assert_int_equal(hub_shares_put(s, &m, m.expiry, other, 64, NOW, &status), 0);
	assert_int_equal(status, WIRE_ST_DUPLICATE);
	/* a retry whose effective expiry was clamped differently is still the same request */
	m2 = m;
	m2.expiry = m.expiry - 7;
	assert_int_equal(hub_shares_put(s, &m2, m.expiry, share, 64, NOW + 7, &status), 0);
	assert_int_equal(status, WIRE_ST_ALREADY);
	assert_int_equal(hub_shares_put(s, &m2, m.expiry + 1, share, 64, NOW + 7, &status), 0);
	assert_int_equal(status, WIRE_ST_DUPLICATE);
	m2 = m;
	strcpy(m2.init_kme, "mallory");
	assert_int_equal(hub_shares_put(s, &m2, m2.expiry, share, 64, NOW, &status), 0);
	assert_int_equal(status, WIRE_ST_DUPLICATE);
	m2 = m;
	m2.k = 3;
	assert_int_equal(hub_shares_put(s, &m2, m2.expiry, share, 64, NOW, &status), 0);
	assert_int_equal(status, WIRE_ST_DUPLICATE);
	assert_int_equal(hub_shares_commit(s), 0);
	/* never overwritten */
	assert_int_equal(deliver(s, &m, "bob", 4, out), WIRE_ST_OK);
	assert_memory_equal(out, share, 64);
	assert_false(on_disk(other));
	hub_shares_close(s);
}

static void test_deliveries_and_access(void **state)
{
	struct hub_shares *s = open_store(100);
	struct wire_key_meta m, wrong;
	uint8_t share[64], out[2048], status;

	meta_init(&m, 4, "alice", "bob");
	share_init(share, 4);
	assert_int_equal(hub_shares_put(s, &m, m.expiry, share, 64, NOW, &status), 0);
	assert_int_equal(hub_shares_commit(s), 0);
	assert_int_equal(deliver(s, &m, "alice", 1, out), WIRE_ST_FORBIDDEN);   /* not the responder */
	wrong = m;
	strcpy(wrong.resp_sae, "sae_x");
	assert_int_equal(deliver(s, &wrong, "bob", 1, out), WIRE_ST_FORBIDDEN);
	wrong = m;
	strcpy(wrong.init_sae, "sae_x");
	assert_int_equal(deliver(s, &wrong, "bob", 1, out), WIRE_ST_FORBIDDEN);
	assert_int_equal(deliver(s, &m, "bob", 1, out), WIRE_ST_OK);        /* first delivery */
	assert_int_equal(deliver(s, &m, "bob", 1, out), WIRE_ST_OK);        /* one re-delivery */
	assert_int_equal(hub_shares_commit(s), 0);
	hub_shares_close(s);
	s = open_store(100);                                                /* the count is durable */
	assert_int_equal(deliver(s, &m, "bob", 1, out), WIRE_ST_FORBIDDEN);
	assert_int_equal(deliver(s, &m, "bob", 2, out), WIRE_ST_OK);
	hub_shares_close(s);
}

static void test_expiry(void **state)
{
	struct hub_shares *s = open_store(100);
	struct wire_key_meta m, m2;
	uint8_t share[64], share2[64], out[2048], status;
	uint64_t expired = 0;

	meta_init(&m, 5, "alice", "bob");
	m.expiry = NOW + 10;
	meta_init(&m2, 6, "alice", "bob");
	share_init(share, 5);
	share_init(share2, 6);
	assert_int_equal(hub_shares_put(s, &m, m.expiry, share, 64, NOW, &status), 0);
	assert_int_equal(hub_shares_put(s, &m2, m2.expiry, share2, 64, NOW, &status), 0);
	assert_int_equal(hub_shares_commit(s), 0);
	assert_int_equal(hub_shares_sweep(s, NOW + 5, &expired), 0);
	assert_int_equal(expired, 0);
	assert_int_equal(hub_shares_sweep(s, NOW + 11, &expired), 0);
	assert_int_equal(expired, 1);
	assert_false(on_disk(share));
	assert_true(on_disk(share2));
	assert_int_equal(hub_shares_status(s, m.key_id, "alice"), WIRE_ST_EXPIRED);
	assert_int_equal(deliver(s, &m, "bob", 4, out), WIRE_ST_UNKNOWN);
	assert_int_equal(hub_shares_release(s, m.key_id, "bob", NOW, &status), 0);
	assert_int_equal(status, WIRE_ST_UNKNOWN);
	hub_shares_close(s);
	s = open_store(100);
	assert_int_equal(hub_shares_status(s, m.key_id, "alice"), WIRE_ST_EXPIRED);
	assert_int_equal(hub_shares_status(s, m2.key_id, "alice"), WIRE_ST_PENDING);
	/* tombstones are forgotten after HUB_TOMBSTONE_TTL */
	assert_int_equal(hub_shares_sweep(s, NOW + 12 + HUB_TOMBSTONE_TTL, &expired), 0);
	assert_int_equal(hub_shares_status(s, m.key_id, "alice"), WIRE_ST_UNKNOWN);
	hub_shares_close(s);
}

static void test_list_and_full(void **state)
{
	struct hub_shares *s = open_store(3);
	struct wire_list_entry e[8];
	struct wire_key_meta m;
	uint8_t share[64], status;
	uint16_t n;
	uint64_t next;

	for (uint8_t i = 0; i < 4; i++) {
		meta_init(&m, (uint8_t)(10 + i), "alice", i == 1 ? "carol" : "bob");
		share_init(share, i);
		assert_int_equal(hub_shares_put(s, &m, m.expiry, share, 64, NOW, &status), 0);
		assert_int_equal(status, i < 3 ? WIRE_ST_OK : WIRE_ST_FULL);
	}
	hub_shares_list(s, "bob", 0, 8, e, &n, &next);
	assert_int_equal(n, 0);                   /* nothing durable yet */
	assert_false(hub_shares_wait(s, "bob", 0, hub_shares_mono_ms() + 50));
	assert_int_equal(hub_shares_commit(s), 0);
	assert_true(hub_shares_wait(s, "bob", 0, hub_shares_mono_ms() + 50));
	hub_shares_list(s, "bob", 0, 8, e, &n, &next);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].key_id[0], 10);
	assert_int_equal(e[1].key_id[0], 12);
	assert_string_equal(e[0].init_kme, "alice");
	assert_int_equal(next, 3);
	hub_shares_list(s, "bob", 0, 1, e, &n, &next);
	assert_int_equal(n, 1);
	assert_int_equal(next, 1);
	hub_shares_list(s, "bob", next, 8, e, &n, &next);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].key_id[0], 12);
	hub_shares_list(s, "bob", 3, 8, e, &n, &next);
	assert_int_equal(n, 0);
	assert_int_equal(next, 3);
	assert_false(hub_shares_wait(s, "bob", 3, hub_shares_mono_ms() + 20));
	hub_shares_list(s, "carol", 0, 8, e, &n, &next);
	assert_int_equal(n, 1);
	hub_shares_close(s);
}

static void test_torn_tail(void **state)
{
	struct hub_shares *s = open_store(100);
	struct hub_shares_stats st;
	struct wire_key_meta m;
	uint8_t share[64], out[2048], status;
	char path[128];
	size_t len;
	uint8_t *j;
	int fd;

	meta_init(&m, 20, "alice", "bob");
	share_init(share, 20);
	assert_int_equal(hub_shares_put(s, &m, m.expiry, share, 64, NOW, &status), 0);
	meta_init(&m, 21, "alice", "bob");
	share_init(share, 21);
	assert_int_equal(hub_shares_put(s, &m, m.expiry, share, 64, NOW, &status), 0);
	assert_int_equal(hub_shares_commit(s), 0);
	hub_shares_close(s);
	/* cut the second record in half: a crash mid-append */
	j = journal(&len);
	snprintf(path, sizeof(path), "%s/journal", dir);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, j, len - 40), (ssize_t)(len - 40));
	close(fd);
	free(j);
	s = open_store(100);
	hub_shares_get_stats(s, &st);
	assert_int_equal(st.stored, 1);
	assert_int_equal(st.dropped_at_open, 1);
	meta_init(&m, 20, "alice", "bob");
	share_init(share, 20);
	assert_int_equal(deliver(s, &m, "bob", 4, out), WIRE_ST_OK);
	assert_memory_equal(out, share, 64);
	/* appending after the cut works and survives */
	meta_init(&m, 22, "alice", "bob");
	assert_int_equal(hub_shares_put(s, &m, m.expiry, share, 64, NOW, &status), 0);
	assert_int_equal(hub_shares_commit(s), 0);
	hub_shares_close(s);
	s = open_store(100);
	hub_shares_get_stats(s, &st);
	assert_int_equal(st.stored, 2);
	assert_int_equal(st.dropped_at_open, 0);
	hub_shares_close(s);
}

static void test_compaction(void **state)
{
	struct hub_shares *s = open_store(100000);
	struct hub_shares_stats st;
	struct wire_key_meta m;
	uint8_t share[64], keep[64], out[2048], status;
	uint64_t before, expired;

	for (unsigned i = 0; i < 20000; i++) {
		meta_init(&m, 0, "alice", "bob");
		m.expiry = NOW + 2 * HUB_TOMBSTONE_TTL;
		memcpy(m.key_id, &i, sizeof(i));
		share_init(share, (uint8_t)i);
		if (i == 777)
			memcpy(keep, share, 64);
		assert_int_equal(hub_shares_put(s, &m, m.expiry, share, 64, NOW, &status), 0);
		assert_int_equal(status, WIRE_ST_OK);
	}
	assert_int_equal(hub_shares_commit(s), 0);
	for (unsigned i = 0; i < 20000; i++) {
		if (i == 777)
			continue;
		memset(m.key_id, 0, sizeof(m.key_id));
		memcpy(m.key_id, &i, sizeof(i));
		assert_int_equal(hub_shares_release(s, m.key_id, "bob", NOW, &status), 0);
		assert_int_equal(status, WIRE_ST_OK);
	}
	hub_shares_get_stats(s, &st);
	before = st.journal_bytes;
	assert_true(before > (4u << 20));
	/* the first sweep drops the tombstones once they are old enough, then compacts */
	assert_int_equal(hub_shares_sweep(s, NOW + HUB_TOMBSTONE_TTL + 1, &expired), 0);
	hub_shares_get_stats(s, &st);
	assert_true(st.journal_bytes < 4096);
	assert_true(on_disk(keep));
	hub_shares_close(s);
	s = open_store(100000);
	meta_init(&m, 0, "alice", "bob");
	m.expiry = NOW + 2 * HUB_TOMBSTONE_TTL;
	{
		unsigned i = 777;
		memcpy(m.key_id, &i, sizeof(i));
	}
	assert_int_equal(deliver(s, &m, "bob", 4, out), WIRE_ST_OK);
	assert_memory_equal(out, keep, 64);
	hub_shares_get_stats(s, &st);
	assert_int_equal(st.stored, 1);
	hub_shares_close(s);
}

static void test_tombstone_cap(void **state)
{
	struct hub_shares *s = open_store(2);
	struct hub_shares_stats st;
	struct wire_key_meta m[4];
	uint8_t share[64], status;

	for (uint8_t i = 0; i < 4; i++) {
		meta_init(&m[i], (uint8_t)(30 + i), "alice", "bob");
		share_init(share, i);
		assert_int_equal(hub_shares_put(s, &m[i], m[i].expiry, share, 64, NOW, &status), 0);
		assert_int_equal(status, WIRE_ST_OK);
		assert_int_equal(hub_shares_release(s, m[i].key_id, "bob", NOW + i, &status), 0);
		assert_int_equal(status, WIRE_ST_OK);
	}
	hub_shares_get_stats(s, &st);
	assert_int_equal(st.released, 2);             /* at most max_shares tombstones */
	assert_int_equal(st.released_total, 4);
	assert_int_equal(hub_shares_status(s, m[0].key_id, "alice"), WIRE_ST_UNKNOWN);
	assert_int_equal(hub_shares_status(s, m[1].key_id, "alice"), WIRE_ST_UNKNOWN);
	assert_int_equal(hub_shares_status(s, m[2].key_id, "alice"), WIRE_ST_RELEASED);
	assert_int_equal(hub_shares_status(s, m[3].key_id, "alice"), WIRE_ST_RELEASED);
	assert_int_equal(hub_shares_commit(s), 0);
	hub_shares_close(s);
	s = open_store(2);
	hub_shares_get_stats(s, &st);
	assert_int_equal(st.released, 2);
	assert_int_equal(hub_shares_status(s, m[3].key_id, "alice"), WIRE_ST_RELEASED);
	hub_shares_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_durable_and_wipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliveries_and_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_and_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tombstone_cap, setup, teardown),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
