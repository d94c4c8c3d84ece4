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

static int resp_dec(const char *s, uint8_t *buf, size_t cap, size_t *len, unsigned *tmo)
{
	return reqkey_response_decode(s, strlen(s), buf, cap, len, tmo);
}

static void test_response(void **state)
{
	uint8_t key[REQKEY_KEY_MAX], back[REQKEY_KEY_MAX];
	size_t len = 99;
	unsigned tmo = 99;
	json_t *o;
	char *s;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 13 + 5);
	o = reqkey_response_encode(key, 32, 3600);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "timeout")), 3600);
	s = json_dumps(o, JSON_COMPACT);
	assert_int_equal(resp_dec(s, back, sizeof(back), &len, &tmo), 0);
	assert_int_equal(len, 32);
	assert_int_equal(tmo, 3600);
	assert_memory_equal(back, key, 32);
	/* too small a buffer: refused, and wiped */
	assert_int_equal(resp_dec(s, back, 31, &len, &tmo), -EINVAL);
	assert_int_equal(back[0], 0);
	free(s);
	json_decref(o);

	/* the largest user key, timeout 0 */
	o = reqkey_response_encode(key, REQKEY_KEY_MAX, 0);
	assert_non_null(o);
	s = json_dumps(o, JSON_COMPACT);
	assert_true(strlen(s) < REQKEY_RESPONSE_MAX);
	assert_int_equal(resp_dec(s, back, sizeof(back), &len, &tmo), 0);
	assert_int_equal(len, REQKEY_KEY_MAX);
	assert_int_equal(tmo, 0);
	assert_memory_equal(back, key, REQKEY_KEY_MAX);
	free(s);
	json_decref(o);

	assert_null(reqkey_response_encode(key, 0, 1));
	assert_null(reqkey_response_encode(key, REQKEY_KEY_MAX + 1, 1));

	len = 99;
	tmo = 99;
	const char *bad[] = {
		"", "{}", "[]", "{\"key\":\"AQID\"}", "{\"timeout\":1}",
		"{\"key\":\"\",\"timeout\":1}",                 /* empty key */
		"{\"key\":\"AQI\",\"timeout\":1}",              /* padding missing */
		"{\"key\":\"AQ-_\",\"timeout\":1}",             /* url-safe alphabet */
		"{\"key\":\"AQID \",\"timeout\":1}",
		"{\"key\":\"AQID\",\"timeout\":-1}",
		"{\"key\":\"AQID\",\"timeout\":4294967296}",
		"{\"key\":\"AQID\",\"timeout\":\"1\"}",
		"{\"key\":1,\"timeout\":1}",
		"{\"key\":\"AQID\",\"timeout\":1,\"x\":0}",
		"{\"key\":\"AQID\",\"key\":\"AQID\",\"timeout\":1}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (resp_dec(bad[i], back, sizeof(back), &len, &tmo) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	assert_int_equal(len, 99);
	assert_int_equal(tmo, 99);
	assert_int_equal(resp_dec("{\"key\":\"AQID\",\"timeout\":4294967295}", back,
	                          sizeof(back), &len, &tmo), 0);
	assert_int_equal(len, 3);
	assert_int_equal(tmo, 4294967295u);
	assert_memory_equal(back, ((uint8_t[]){ 1, 2, 3 }), 3);
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
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_status_errno),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
