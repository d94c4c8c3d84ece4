/* test_keyring_desc.c — keyring/desc.c: key descriptions and keyctl_describe() strings. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "desc.h"

static const uint8_t ID[DSKE_KEY_ID_LEN] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef,
                                             0x80, 1, 2, 3, 4, 5, 6, 7 };
#define ID_STR "12345678-9abc-4def-8001-020304050607"

static void test_format(void **state)
{
	char buf[KEYRING_DESC_SIZE], small[20];
	char peer64[DSKE_NAME_MAX + 2];

	assert_int_equal(keyring_desc_format(buf, sizeof(buf), "dske", "client2", ID), 0);
	assert_string_equal(buf, "dske:client2:" ID_STR);
	assert_int_equal(keyring_desc_format(small, sizeof(small), "dske", "client2", ID), -ENOBUFS);
	assert_int_equal(keyring_desc_format(buf, sizeof(buf), "DSKE", "client2", ID), -EINVAL);
	assert_int_equal(keyring_desc_format(buf, sizeof(buf), "dske", "Client2", ID), -EINVAL);
	assert_int_equal(keyring_desc_format(buf, sizeof(buf), "dske", "", ID), -EINVAL);
	assert_int_equal(keyring_desc_format(buf, sizeof(buf), "dske", "a:b", ID), -EINVAL);
	assert_int_equal(keyring_desc_format(buf, sizeof(buf), "", "a", ID), -EINVAL);
	memset(peer64, 'p', DSKE_NAME_MAX);
	peer64[DSKE_NAME_MAX] = '\0';
	assert_int_equal(keyring_desc_format(buf, sizeof(buf), "dsketest-0123456789abcdefghijkl",
	                                     peer64, ID), 0);
	peer64[DSKE_NAME_MAX] = 'p';
	peer64[DSKE_NAME_MAX + 1] = '\0';
	assert_int_equal(keyring_desc_format(buf, sizeof(buf), "dske", peer64, ID), -EINVAL);
}

static int parse(const char *s, const char *prefix, char *peer, uint8_t *id)
{
	return keyring_desc_parse(s, strlen(s), prefix, peer, id);
}

static void test_parse(void **state)
{
	char peer[DSKE_NAME_MAX + 1] = "untouched";
	uint8_t id[DSKE_KEY_ID_LEN] = { 0 };

	assert_int_equal(parse("dske:client2:" ID_STR, "dske", peer, id), 0);
	assert_string_equal(peer, "client2");
	assert_memory_equal(id, ID, sizeof(ID));
	assert_int_equal(parse("dsketest9:c.1_x-y:" ID_STR, "dsketest9", peer, id), 0);
	assert_string_equal(peer, "c.1_x-y");

	strcpy(peer, "untouched");
	memset(id, 0, sizeof(id));
	const char *bad[] = {
		"dske:client2:" "12345678-9ABC-4def-8001-020304050607",   /* upper case */
		"dske:client2:" "123456789abc4def8001020304050607",       /* not canonical */
		"dske:client2:" ID_STR "x",
		"dske:client2:" ID_STR ":",
		"dske:client2:" "12345678-9abc-4def-8001-02030405060",
		"dske::" ID_STR,
		"dske:Client2:" ID_STR,
		"dske:cli ent:" ID_STR,
		"dske:a:b:" ID_STR,
		"dsk:client2:" ID_STR,
		"dskex:client2:" ID_STR,
		"other:client2:" ID_STR,
		"dske" ,
		"dske:",
		"dske:client2",
		"",
		"dske:client2:1234567g-9abc-4def-8001-020304050607",
		"dske:client2:12345678+9abc-4def-8001-020304050607",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], "dske", peer, id) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	}
	assert_string_equal(peer, "untouched");
	/* embedded NUL: the length counts */
	assert_int_equal(keyring_desc_parse("dske:c\0:" ID_STR, 6 + 2 + 36, "dske", peer, id), -EINVAL);
	/* a prefix that is itself invalid */
	assert_int_equal(parse("dske:client2:" ID_STR, "dske:", peer, id), -EINVAL);
	assert_int_equal(parse("dske:client2:" ID_STR, NULL, peer, id), -EINVAL);
	assert_int_equal(keyring_desc_parse(NULL, 0, "dske", peer, id), -EINVAL);
	assert_memory_equal(id, (uint8_t[DSKE_KEY_ID_LEN]){ 0 }, DSKE_KEY_ID_LEN);
}

static void test_round_trip(void **state)
{
	char buf[KEYRING_DESC_SIZE], peer[DSKE_NAME_MAX + 1];
	uint8_t id[DSKE_KEY_ID_LEN], back[DSKE_KEY_ID_LEN];

	for (int i = 0; i < 256; i++) {
		for (size_t j = 0; j < sizeof(id); j++)
			id[j] = (uint8_t)(i * 31 + j * 7);
		assert_int_equal(keyring_desc_format(buf, sizeof(buf), "dske", "peer-x", id), 0);
		assert_int_equal(parse(buf, "dske", peer, back), 0);
		assert_memory_equal(id, back, sizeof(id));
		assert_string_equal(peer, "peer-x");
	}
}

static void test_describe(void **state)
{
	struct keyring_describe d = { .uid = 77 };
	const char *s = "user;0;1;1b3f0b00;dske:client2:" ID_STR;

	assert_int_equal(keyring_describe_parse(s, &d), 0);
	assert_string_equal(d.type, "user");
	assert_int_equal(d.uid, 0);
	assert_int_equal(d.gid, 1);
	assert_int_equal(d.perm, 0x1b3f0b00);
	assert_string_equal(d.desc, "dske:client2:" ID_STR);
	assert_ptr_equal(d.desc, s + strlen("user;0;1;1b3f0b00;"));

	assert_int_equal(keyring_describe_parse("keyring;4294967295;65534;3f010000;a;b;c", &d), 0);
	assert_int_equal(d.uid, (uid_t)4294967295u);
	assert_int_equal(d.gid, 65534);
	assert_string_equal(d.desc, "a;b;c");
	assert_int_equal(keyring_describe_parse("keyring;0;0;3f010000;", &d), 0);
	assert_string_equal(d.desc, "");

	d.uid = 77;
	const char *bad[] = {
		"", "user", "user;0;0;1b3f0b00", ";0;0;1b;x", "user;;0;1b;x", "user;0;;1b;x",
		"user;0;0;;x", "user;-1;0;1b;x", "user;4294967296;0;1b;x", "user;0;0;1B3F0B00;x",
		"user;0;0;123456789;x", "user;0;0;xyz;x", "user;01234567890;0;1;x",
		"abcdefghijklmnopqrstuvwxyzabcdefgh;0;0;1;x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (keyring_describe_parse(bad[i], &d) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	assert_int_equal(keyring_describe_parse(NULL, &d), -EINVAL);
	assert_int_equal(d.uid, 77);
}

static void test_prefix_peer_valid(void **state)
{
	assert_true(keyring_prefix_valid("dske"));
	assert_true(keyring_prefix_valid("dsketest-123.x_y"));
	assert_false(keyring_prefix_valid("dske:"));
	assert_false(keyring_prefix_valid("Dske"));
	assert_false(keyring_prefix_valid(""));
	assert_false(keyring_prefix_valid(NULL));
	assert_false(keyring_prefix_valid("0123456789012345678901234567890123"));
	assert_true(keyring_peer_valid("client1"));
	assert_false(keyring_peer_valid("client 1"));
	assert_false(keyring_peer_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_prefix_peer_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
