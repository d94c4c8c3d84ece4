/* test_keysvc — the key service's own rules, over a mock engine and the real key pool: who may
 * ask for what (master local, slave a peer's SAE; dec_keys only by the slave the key was made
 * for), limits with the ETSI messages, per-SAE quota, errors passed through, release and audit
 * after delivery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mock_engine.c"

static struct client_config cfg;

static int setup(void **state)
{
	char path[] = "/tmp/test_keysvc.XXXXXX", err[CC_ERR_MAX];
	const char *text =
		"[client]\nname = client2\nstate_dir = /tmp/unused\nk = 2\nmax_keys_per_request = 8\n"
		"min_key_size = 64\nmax_key_size = 1024\n"
		"[hub hub1]\nindex = 1\nurl = http://127.0.0.1:1\n"
		"[hub hub2]\nindex = 2\nurl = http://127.0.0.1:2\n"
		"[hub hub3]\nindex = 3\nurl = http://127.0.0.1:3\n"
		"[peer client1]\nsaes = c1_a c1_b\n"
		"[peer client3]\nsaes = c3_a\n"
		"[sae c2_a]\nuid = 0\n"
		"[sae c2_b]\nuid = 1\nquota = 3\n";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	int r = client_config_load(path, &cfg, err);
	unlink(path);
	if (r < 0)
		fail_msg("%s", err);
	struct keysvc *ks;
	assert_int_equal(keysvc_open(&cfg, &ks), 0);
	assert_int_equal(keysvc_start(ks, 0), 0);
	memset(&mock, 0, sizeof(mock));
	mock.now_ms = 1000000;
	*state = ks;
	return 0;
}

static int teardown(void **state)
{
	keysvc_close(*state);
	return 0;
}

static void test_get_keys_rules(void **state)
{
	struct keysvc *ks = *state;
	struct keysvc_batch *b = NULL;
	struct keysvc_err err;

	/* master must be local */
	assert_int_equal(keysvc_get_keys(ks, "c1_a", "c1_b", 1, 0, &b, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a local SAE"));
	/* slave must be a peer's SAE: unknown, or one of ours */
	assert_int_equal(keysvc_get_keys(ks, "c2_a", "nobody", 1, 0, &b, &err), -EINVAL);
	assert_int_equal(keysvc_get_keys(ks, "c2_a", "c2_b", 1, 0, &b, &err), -EINVAL);
	/* number */
	assert_int_equal(keysvc_get_keys(ks, "c2_a", "c1_a", 0, 0, &b, &err), -EINVAL);
	assert_int_equal(keysvc_get_keys(ks, "c2_a", "c1_a", 9, 0, &b, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "max_key_per_request 8"));
	/* size: the exact ETSI message for a non-multiple of 8; bounds */
	assert_int_equal(keysvc_get_keys(ks, "c2_a", "c1_a", 1, 100, &b, &err), -EINVAL);
	assert_string_equal(err.msg, "size shall be a multiple of 8");
	assert_int_equal(keysvc_get_keys(ks, "c2_a", "c1_a", 1, 56, &b, &err), -EINVAL);
	assert_int_equal(keysvc_get_keys(ks, "c2_a", "c1_a", 1, 1032, &b, &err), -EINVAL);
	assert_int_equal(mock.make_calls, 0);   /* nothing reached the engine */
	assert_null(b);

	/* a good one: default size 256 bits */
	assert_int_equal(keysvc_get_keys(ks, "c2_a", "c1_b", 2, 0, &b, &err), 0);
	assert_int_equal(b->count, 2);
	assert_int_equal(mock.last_key_len, 32);
	assert_int_equal(mock.audits, 2);
	assert_string_equal(mock.last_audit_sae, "c2_a");
	assert_string_equal(mock.last_audit_side, "master");
	keysvc_batch_free(b);
	b = NULL;
	assert_int_equal(keysvc_get_keys(ks, "c2_a", "c3_a", 1, 1024, &b, &err), 0);
	assert_int_equal(mock.last_key_len, 128);
	keysvc_batch_free(b);
	b = NULL;

	/* engine errors pass through with their message */
	mock.make_rc = -ENOSPC;
	assert_int_equal(keysvc_get_keys(ks, "c2_a", "c1_a", 1, 0, &b, &err), -ENOSPC);
	assert_string_equal(err.msg, "PSRD exhausted for hub hub1");
	assert_null(b);
}

static void test_quota(void **state)
{
	struct keysvc *ks = *state;
	struct keysvc_batch *b = NULL;
	struct keysvc_err err;

	/* c2_b: 3 keys per minute */
	assert_int_equal(keysvc_get_keys(ks, "c2_b", "c1_a", 2, 0, &b, &err), 0);
	keysvc_batch_free(b);
	b = NULL;
	assert_int_equal(keysvc_get_keys(ks, "c2_b", "c1_a", 2, 0, &b, &err), -EDQUOT);
	assert_non_null(strstr(err.msg, "quota of 3 keys per minute for SAE c2_b"));
	/* a failed request does not use the quota */
	mock.make_rc = -EAGAIN;
	assert_int_equal(keysvc_get_keys(ks, "c2_b", "c1_a", 1, 0, &b, &err), -EAGAIN);
	mock.make_rc = 0;
	assert_int_equal(keysvc_get_keys(ks, "c2_b", "c1_a", 1, 0, &b, &err), 0);
	keysvc_batch_free(b);
	b = NULL;
	assert_int_equal(keysvc_get_keys(ks, "c2_b", "c1_a", 1, 0, &b, &err), -EDQUOT);
	/* refilled over time: 20 s = one key */
	mock.now_ms += 20000;
	assert_int_equal(keysvc_get_keys(ks, "c2_b", "c1_a", 1, 0, &b, &err), 0);
	keysvc_batch_free(b);
	b = NULL;
	/* c2_a has no quota */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(keysvc_get_keys(ks, "c2_a", "c1_a", 8, 0, &b, &err), 0);
		keysvc_batch_free(b);
		b = NULL;
	}
}

static void hold(struct keysvc *ks, unsigned n, const char *init_sae, const char *resp_sae)
{
	uint8_t key[32];
	unsigned sidx;
	struct kp_meta m = { .expiry = ks_now_s() + 100 };
	m.key_id[15] = (uint8_t)n;
	m.peer = (uint16_t)client_config_peer_of_sae(&cfg, init_sae, &sidx);
	m.init_sae = (uint16_t)sidx;
	m.resp_sae = (uint16_t)client_config_sae_find(&cfg, resp_sae);
	memset(key, (int)n, sizeof(key));
	assert_int_equal(keypool_put(ks->pool, &m, key, sizeof(key)), 0);
}

static void test_dec_keys_rules(void **state)
{
	struct keysvc *ks = *state;
	struct keysvc_batch *b = NULL;
	struct keysvc_err err;
	uint8_t ids[2][DSKE_KEY_ID_LEN] = { { 0 } };
	const uint8_t (*cids)[DSKE_KEY_ID_LEN] = (const uint8_t (*)[DSKE_KEY_ID_LEN])ids;

	ids[0][15] = 1;
	ids[1][15] = 2;
	hold(ks, 1, "c1_a", "c2_a");
	hold(ks, 2, "c1_a", "c2_b");

	/* the caller must be a local SAE */
	assert_int_equal(keysvc_get_keys_with_ids(ks, "c1_b", "c1_a", cids, 1, &b, &err), -EACCES);
	/* the caller must be the slave the key was made for: 401, the key stays */
	assert_int_equal(keysvc_get_keys_with_ids(ks, "c2_b", "c1_a", cids, 1, &b, &err), -EACCES);
	assert_non_null(strstr(err.msg, "not the slave SAE"));
	/* master named in the path must be the one the key was made by */
	assert_int_equal(keysvc_get_keys_with_ids(ks, "c2_a", "c1_b", cids, 1, &b, &err), -ENOENT);
	assert_string_equal(err.msg, "one or more keys specified are not found on KME");
	assert_int_equal(keysvc_get_keys_with_ids(ks, "c2_a", "nobody", cids, 1, &b, &err), -ENOENT);
	/* all or nothing: key 2 is for c2_b */
	assert_int_equal(keysvc_get_keys_with_ids(ks, "c2_a", "c1_a", cids, 2, &b, &err), -EACCES);
	assert_int_equal(keysvc_get_keys_with_ids(ks, "c2_a", "c1_a", cids, 0, &b, &err), -EINVAL);
	assert_int_equal(mock.released, 0);
	assert_null(b);

	/* the right slave gets it once; its shares are released; the delivery is audited */
	assert_int_equal(keysvc_get_keys_with_ids(ks, "c2_a", "c1_a", cids, 1, &b, &err), 0);
	assert_int_equal(b->count, 1);
	assert_int_equal(b->keys[0].len, 32);
	assert_int_equal(b->keys[0].key[0], 1);
	keysvc_batch_free(b);
	b = NULL;
	assert_int_equal(mock.released, 1);
	assert_memory_equal(mock.last_released, ids[0], DSKE_KEY_ID_LEN);
	assert_string_equal(mock.last_audit_sae, "c2_a");
	assert_string_equal(mock.last_audit_side, "slave");
	assert_int_equal(keysvc_get_keys_with_ids(ks, "c2_a", "c1_a", cids, 1, &b, &err), -ENOENT);
	assert_int_equal(keysvc_get_keys_with_ids(ks, "c2_b", "c1_a", cids + 1, 1, &b, &err), 0);
	keysvc_batch_free(b);
}

/* sink.h: key-ready callbacks, the delivery hook, Get key by peer (request-key) */
struct sink_seen {
	int ready, delivered;
	char peer[DSKE_NAME_MAX + 1], master[DSKE_NAME_MAX + 1], slave[DSKE_NAME_MAX + 1];
	uint8_t id[DSKE_KEY_ID_LEN], first_byte;
};

static void on_ready(void *ud, const char *peer, const char *master, const char *slave,
                     const uint8_t key_id[DSKE_KEY_ID_LEN])
{
	struct sink_seen *s = ud;
	s->ready++;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	snprintf(s->master, sizeof(s->master), "%s", master);
	snprintf(s->slave, sizeof(s->slave), "%s", slave);
	memcpy(s->id, key_id, DSKE_KEY_ID_LEN);
}

static void on_delivered(void *ud, const char *peer, const char *sae, const struct keysvc_key *k)
{
	struct sink_seen *s = ud;
	s->delivered++;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	snprintf(s->slave, sizeof(s->slave), "%s", sae);
	s->first_byte = k->key[0];
}

static void test_sink_hooks(void **state)
{
	struct keysvc *ks = *state;
	struct sink_seen ready = { 0 }, dl = { 0 };
	struct keysvc_batch *b = NULL;
	struct keysvc_err err;
	uint8_t id[DSKE_KEY_ID_LEN] = { 0 };
	struct kp_meta km = { .peer = 0, .init_sae = 1, .resp_sae = 0 };

	assert_int_equal(keysvc_sink_register(ks, "c1_a", on_ready, &ready), -EINVAL);  /* not local */
	assert_int_equal(keysvc_sink_register(ks, "c2_a", on_ready, &ready), 0);
	assert_int_equal(keysvc_sink_register(ks, "c2_a", on_ready, &ready), -EEXIST);
	assert_int_equal(keysvc_delivery_hook(ks, on_delivered, &dl), 0);

	/* a rebuilt key for c2_a from client1's c1_b is announced to c2_a's sink only */
	km.key_id[15] = 7;
	sink_notify_ready(ks, &km);
	assert_int_equal(ready.ready, 1);
	assert_string_equal(ready.peer, "client1");
	assert_string_equal(ready.master, "c1_b");
	assert_string_equal(ready.slave, "c2_a");
	assert_memory_equal(ready.id, km.key_id, DSKE_KEY_ID_LEN);
	km.resp_sae = 1;
	sink_notify_ready(ks, &km);
	assert_int_equal(ready.ready, 1);

	/* Get key by peer: master taken from the held key's metadata; the hook sees the delivery */
	cfg.fetch_deadline_ms = 0;
	hold(ks, 3, "c1_b", "c2_a");
	id[15] = 3;
	assert_int_equal(keysvc_get_key_from_peer(ks, "c2_a", "client3", id, &b, &err), -ENOENT);
	assert_int_equal(keysvc_get_key_from_peer(ks, "c2_a", "nobody", id, &b, &err), -ENOENT);
	assert_int_equal(keysvc_get_key_from_peer(ks, "c1_a", "client1", id, &b, &err), -EACCES);
	assert_int_equal(keysvc_get_key_from_peer(ks, "c2_b", "client1", id, &b, &err), -EACCES);
	assert_int_equal(dl.delivered, 0);
	assert_int_equal(keysvc_get_key_from_peer(ks, "c2_a", "client1", id, &b, &err), 0);
	assert_int_equal(b->keys[0].key[0], 3);
	keysvc_batch_free(b);
	assert_int_equal(dl.delivered, 1);
	assert_string_equal(dl.peer, "client1");
	assert_string_equal(dl.slave, "c2_a");
	assert_int_equal(dl.first_byte, 3);
	/* once per side */
	assert_int_equal(keysvc_get_key_from_peer(ks, "c2_a", "client1", id, &b, &err), -ENOENT);
	assert_string_equal(err.msg, "one or more keys specified are not found on KME");
}

static void test_status(void **state)
{
	struct keysvc *ks = *state;
	struct keysvc_status st;
	struct keysvc_err err;

	assert_int_equal(keysvc_status(ks, "c1_a", "c1_b", &st, &err), -EACCES);
	assert_int_equal(keysvc_status(ks, "c2_a", "nobody", &st, &err), -EINVAL);
	assert_int_equal(keysvc_status(ks, "c2_a", "c3_a", &st, &err), 0);
	assert_string_equal(st.source_kme, "client2");
	assert_string_equal(st.target_kme, "client3");
	assert_int_equal(st.key_size, 256);
	assert_int_equal(st.min_key_size, 64);
	assert_int_equal(st.max_key_size, 1024);
	assert_int_equal(st.max_key_per_request, 8);
	assert_int_equal(st.max_key_count, 100000);
	assert_int_equal(st.max_sae_id_count, 0);
	assert_true(st.stored_key_count > 0 && st.stored_key_count <= st.max_key_count);
	assert_true(keysvc_sae_is_local(ks, "c2_b"));
	assert_false(keysvc_sae_is_local(ks, "c1_a"));
	assert_false(keysvc_sae_is_local(ks, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_keys_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dec_keys_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sink_hooks, setup, teardown),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
