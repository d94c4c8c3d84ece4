/* test_keyring_reqkey.c — keyring/reqkey.c: the request-key upcall protocol codec. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reqkey.h"

#define ID_STR "12345678-9abc-4def-8001-020304050607"
static const uint8_t ID[DSKE_KEY_ID_LEN] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef,
                                             0x80, 1, 2, 3, 4, 5, 6, 7 };

static int dec(const char *s, struct reqkey_request *rq)
{
	return reqkey_request_decode(s, strlen(s), rq);
}

static void test_encode_decode(void **state)
{
	struct reqkey_request rq = { .peer = "client2", .uid = 1000, .gid = 100, .timeout_ms = 4500 };
	struct reqkey_request back;
	char *json = NULL;

	memcpy(rq.key_id, ID, sizeof(ID));
	assert_int_equal(reqkey_request_encode(&rq, &json), 0);
	assert_non_null(strstr(json, "\"key_id\":\"" ID_STR "\""));
	assert_non_null(strstr(json, "\"peer\":\"client2\""));
	assert_non_null(strstr(json, "\"uid\":1000"));
	assert_int_equal(dec(json, &back), 0);
	assert_string_equal(back.peer, "client2");
	assert_memory_equal(back.key_id, ID, sizeof(ID));
	assert_int_equal(back.uid, 1000);
	assert_int_equal(back.gid, 100);
	assert_int_equal(back.timeout_ms, 4500);
	free(json);

	rq.timeout_ms = 0;
	assert_int_equal(reqkey_request_encode(&rq, &json), -EINVAL);
	rq.timeout_ms = REQKEY_TIMEOUT_MS_MAX + 1;
	assert_int_equal(reqkey_request_encode(&rq, &json), -EINVAL);
	rq.timeout_ms = 1;
	strcpy(rq.peer, "Bad Peer");
	assert_int_equal(reqkey_request_encode(&rq, &json), -EINVAL);
}

static void test_decode_rejects(void **state)
{
	struct reqkey_request rq = { .uid = 4242 };
	const char *ok = "{\"peer\":\"c\",\"key_id\":\"" ID_STR "\",\"uid\":0,\"gid\":0,\"timeout_ms\":1}";
	const char *bad[] = {
		"", "[]", "null", "{}", "{\"peer\":\"c\"}",
		/* upper-case or non-canonical key ID */
		"{\"peer\":\"c\",\"key_id\":\"12345678-9ABC-4def-8001-020304050607\",\"uid\":0,\"gid\":0,\"timeout_ms\":1}",
		"{\"peer\":\"c\",\"key_id\":\"123456789abc4def8001020304050607\",\"uid\":0,\"gid\":0,\"timeout_ms\":1}",
		/* types and ranges */
		"{\"peer\":\"c\",\"key_id\":\"" ID_STR "\",\"uid\":\"0\",\"gid\":0,\"timeout_ms\":1}",
		"{\"peer\":\"c\",\"key_id\":\"" ID_STR "\",\"uid\":-1,\"gid\":0,\"timeout_ms\":1}",
		"{\"peer\":\"c\",\"key_id\":\"" ID_STR "\",\"uid\":4294967295,\"gid\":0,\"timeout_ms\":1}",
		"{\"peer\":\"c\",\"key_id\":\"" ID_STR "\",\"uid\":0,\"gid\":0,\"timeout_ms\":0}",
		"{\"peer\":\"c\",\"key_id\":\"" ID_STR "\",\"uid\":0,\"gid\":0,\"timeout_ms\":60001}",
		"{\"peer\":\"c\",\"key_id\":\"" ID_STR "\",\"uid\":0.5,\"gid\":0,\"timeout_ms\":1}",
		"{\"peer\":\"C\",\"key_id\":\"" ID_STR "\",\"uid\":0,\"gid\":0,\"timeout_ms\":1}",
		"{\"peer\":\"c\\u0000x\",\"key_id\":\"" ID_STR "\",\"uid\":0,\"gid\":0,\"timeout_ms\":1}",
		"{\"peer\":1,\"key_id\":\"" ID_STR "\",\"uid\":0,\"gid\":0,\"timeout_ms\":1}",
		/* extra or duplicate members */
		"{\"peer\":\"c\",\"key_id\":\"" ID_STR "\",\"uid\":0,\"gid\":0,\"timeout_ms\":1,\"x\":1}",
		"{\"peer\":\"c\",\"peer\":\"d\",\"key_id\":\"" ID_STR "\",\"uid\":0,\"gid\":0}",
		/* trailing garbage */
		"{\"peer\":\"c\",\"key_id\":\"" ID_STR "\",\"uid\":0,\"gid\":0,\"timeout_ms\":1} x",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dec(bad[i], &rq) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	assert_int_equal(rq.uid, 4242);                 /* untouched */
	assert_int_equal(reqkey_request_decode(ok, 0, &rq), -EINVAL);
	assert_int_equal(reqkey_request_decode(ok, strlen(ok) - 1, &rq), -EINVAL);
	assert_int_equal(dec(ok, &rq), 0);
	{
		char big[REQKEY_BODY_MAX + 2];
		memset(big, ' ', sizeof(big));
		memcpy(big, ok, strlen(ok));
		assert_int_equal(reqkey_request_decode(big, sizeof(big), &rq), -EINVAL);
	}
}

static void test_timeout_parse(void **state)
{
	unsigned s = 99;

	assert_int_equal(reqkey_timeout_parse("3600", 4, &s), 0);
	assert_int_equal(s, 3600);
	assert_int_equal(reqkey_timeout_parse(" 0\r\n", 4, &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(reqkey_timeout_parse("4294967295", 10, &s), 0);
	assert_int_equal(s, 4294967295u);
	s = 99;
	assert_int_equal(reqkey_timeout_parse("4294967296", 10, &s), -EINVAL);
	assert_int_equal(reqkey_timeout_parse("", 0, &s), -EINVAL);
	assert_int_equal(reqkey_timeout_parse("-1", 2, &s), -EINVAL);
	assert_int_equal(reqkey_timeout_parse("1 2", 3, &s), -EINVAL);
	assert_int_equal(reqkey_timeout_parse("12x", 3, &s), -EINVAL);
	assert_int_equal(reqkey_timeout_parse("00000000001", 11, &s), -EINVAL);
	assert_int_equal(s, 99);
}

static void test_status_errno(void **state)
{
	assert_int_equal(reqkey_status_errno(400), EKEYREJECTED);
	assert_int_equal(reqkey_status_errno(401), EKEYREJECTED);
	assert_int_equal(reqkey_status_errno(403), EKEYREJECTED);
	assert_int_equal(reqkey_status_errno(404), ENOKEY);
	assert_int_equal(reqkey_status_errno(410), EKEYEXPIRED);
	assert_int_equal(reqkey_status_errno(503), EAGAIN);
	assert_int_equal(reqkey_status_errno(504), ETIMEDOUT);
	assert_int_equal(reqkey_status_errno(500), EKEYREJECTED);
	assert_int_equal(reqkey_negative_timeout(EKEYREJECTED), REQKEY_NEG_TIMEOUT_REJECT);
	assert_int_equal(reqkey_negative_timeout(ETIMEDOUT), REQKEY_NEG_TIMEOUT_TRANSIENT);
	assert_int_equal(reqkey_negative_timeout(EAGAIN), REQKEY_NEG_TIMEOUT_TRANSIENT);
	assert_true(REQKEY_NEG_TIMEOUT_TRANSIENT < REQKEY_NEG_TIMEOUT_REJECT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_decode),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_timeout_parse),
		cmocka_unit_test(test_status_errno),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
