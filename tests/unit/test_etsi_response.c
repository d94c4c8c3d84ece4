/* test_etsi_response.c — clientd/etsi_response.c: the Status object (all 11 fields, consistent),
 * the key container (canonical lowercase UUIDs, padded standard base64 that decodes to exactly
 * size/8 bytes, known answers), Error bodies, the errno -> status map, the MHD wrapping. */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>
#include "clientd/etsi_response.h"

#define UUID_RE "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

/* keysvc_batch_free is the key service's; the tests make their own batches. */
void keysvc_batch_free(struct keysvc_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->count; i++)
		sodium_free(b->keys[i].key);
	free(b->keys);
	free(b);
}

static json_t *load(const struct etsi_body *b)
{
	json_error_t e;
	json_t *j;

	assert_non_null(b->data);
	assert_int_equal(strlen(b->data), b->len);
	j = json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, &e);
	if (!j)
		fail_msg("not JSON (%s): %s", e.text, b->data);
	return j;
}

static json_int_t int_field(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v))
		fail_msg("%s is not an integer", name);
	return json_integer_value(v);
}

static const char *str_field(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_string(v))
		fail_msg("%s is not a string", name);
	return json_string_value(v);
}

static void test_status(void **state)
{
	struct keysvc_status st = {
		.source_kme = "client1", .target_kme = "client2", .key_size = 352,
		.stored_key_count = 25000, .max_key_count = 100000, .max_key_per_request = 128,
		.max_key_size = 1024, .min_key_size = 64, .max_sae_id_count = 5,
	};
	struct etsi_body b = { 0 };
	json_t *j;

	assert_int_equal(etsi_response_status(&st, "sae_a", "sae_b", &b), 0);
	j = load(&b);
	assert_int_equal(json_object_size(j), 11);
	assert_string_equal(str_field(j, "source_KME_ID"), "client1");
	assert_string_equal(str_field(j, "target_KME_ID"), "client2");
	assert_string_equal(str_field(j, "master_SAE_ID"), "sae_a");
	assert_string_equal(str_field(j, "slave_SAE_ID"), "sae_b");
	assert_int_equal(int_field(j, "key_size"), 352);
	assert_int_equal(int_field(j, "stored_key_count"), 25000);
	assert_int_equal(int_field(j, "max_key_count"), 100000);
	assert_int_equal(int_field(j, "max_key_per_request"), 128);
	assert_int_equal(int_field(j, "max_key_size"), 1024);
	assert_int_equal(int_field(j, "min_key_size"), 64);
	/* no key multicast, whatever the key service says */
	assert_int_equal(int_field(j, "max_SAE_ID_count"), 0);
	json_decref(j);
	etsi_body_free(&b);
	assert_null(b.data);
	etsi_body_free(NULL);

	/* consistency: max_key_count >= stored_key_count */
	st.stored_key_count = 7;
	st.max_key_count = 3;
	assert_int_equal(etsi_response_status(&st, "sae_a", "sae_b", &b), 0);
	j = load(&b);
	assert_int_equal(int_field(j, "stored_key_count"), 7);
	assert_int_equal(int_field(j, "max_key_count"), 7);
	json_decref(j);
	etsi_body_free(&b);

	/* no KME names: refused, not an invalid status */
	st.source_kme[0] = '\0';
	assert_int_equal(etsi_response_status(&st, "sae_a", "sae_b", &b), -EINVAL);
	assert_null(b.data);
}

static struct keysvc_batch *batch_new(size_t n, const size_t *lens)
{
	struct keysvc_batch *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	b->keys = calloc(n, sizeof(*b->keys));
	assert_non_null(b->keys);
	b->count = n;
	for (size_t i = 0; i < n; i++) {
		b->keys[i].len = lens[i];
		b->keys[i].key = sodium_malloc(lens[i]);
		assert_non_null(b->keys[i].key);
		randombytes_buf(b->keys[i].key, lens[i]);
		randombytes_buf(b->keys[i].key_id, DSKE_KEY_ID_LEN);
	}
	return b;
}

static void test_key_container(void **state)
{
	/* 8 bits ("xx=="), 16 bits ("xxx="), 24 bits (no padding), 256, 352, 1024, 8192 bits */
	static const size_t lens[] = { 1, 2, 3, 32, 44, 128, 1024 };
	const size_t n = sizeof(lens) / sizeof(lens[0]);
	struct keysvc_batch *kb = batch_new(n, lens);
	struct etsi_body b = { 0 };
	regex_t re;
	json_t *j, *keys, *k;
	size_t i;

	assert_int_equal(regcomp(&re, UUID_RE, REG_EXTENDED | REG_NOSUB), 0);
	/* a key ID with the high nibbles set, to see lowercase hex */
	memset(kb->keys[0].key_id, 0xab, DSKE_KEY_ID_LEN);
	assert_int_equal(etsi_response_keys(kb, &b), 0);
	j = load(&b);
	assert_int_equal(json_object_size(j), 1);
	keys = json_object_get(j, "keys");
	assert_true(json_is_array(keys));
	assert_int_equal(json_array_size(keys), n);
	json_array_foreach(keys, i, k) {
		const char *id = str_field(k, "key_ID"), *key = str_field(k, "key");
		uint8_t raw[2048];
		size_t raw_len = 0;
		char want_id[37];

		assert_int_equal(json_object_size(k), 2);
		if (regexec(&re, id, 0, NULL, 0) != 0)
			fail_msg("key_ID %s is not a canonical lowercase UUID", id);
		snprintf(want_id, sizeof(want_id), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		         "%02x%02x%02x%02x%02x%02x", kb->keys[i].key_id[0], kb->keys[i].key_id[1],
		         kb->keys[i].key_id[2], kb->keys[i].key_id[3], kb->keys[i].key_id[4],
		         kb->keys[i].key_id[5], kb->keys[i].key_id[6], kb->keys[i].key_id[7],
		         kb->keys[i].key_id[8], kb->keys[i].key_id[9], kb->keys[i].key_id[10],
		         kb->keys[i].key_id[11], kb->keys[i].key_id[12], kb->keys[i].key_id[13],
		         kb->keys[i].key_id[14], kb->keys[i].key_id[15]);
		assert_string_equal(id, want_id);
		/* padded standard base64: length a multiple of 4, (len+2)/3*4 chars, decodes strictly */
		assert_int_equal(strlen(key) % 4, 0);
		assert_int_equal(strlen(key), (lens[i] + 2) / 3 * 4);
		assert_null(strpbrk(key, "-_"));
		assert_int_equal(sodium_base642bin(raw, sizeof(raw), key, strlen(key), NULL, &raw_len,
		                                   NULL, sodium_base64_VARIANT_ORIGINAL), 0);
		assert_int_equal(raw_len, lens[i]);
		assert_memory_equal(raw, kb->keys[i].key, lens[i]);
	}
	assert_string_equal(str_field(json_array_get(keys, 0), "key_ID"),
	                    "abababab-abab-abab-abab-abababababab");
	json_decref(j);
	etsi_body_free(&b);
	keysvc_batch_free(kb);
	regfree(&re);
}

static void test_key_known_answers(void **state)
{
	static const size_t lens[] = { 3, 2, 1 };
	struct keysvc_batch *kb = batch_new(3, lens);
	struct etsi_body b = { 0 };
	char want[256];

	memcpy(kb->keys[0].key, "\x00\x01\x02", 3);
	memcpy(kb->keys[1].key, "\xff\xfe", 2);         /* standard alphabet: '/' not '_' */
	memcpy(kb->keys[2].key, "\xfb", 1);             /* '+' not '-' */
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < DSKE_KEY_ID_LEN; k++)
			kb->keys[i].key_id[k] = (uint8_t)(i * 16 + k);
	assert_int_equal(etsi_response_keys(kb, &b), 0);
	snprintf(want, sizeof(want), "{\"keys\":["
	         "{\"key_ID\":\"00010203-0405-0607-0809-0a0b0c0d0e0f\",\"key\":\"AAEC\"},"
	         "{\"key_ID\":\"10111213-1415-1617-1819-1a1b1c1d1e1f\",\"key\":\"//4=\"},"
	         "{\"key_ID\":\"20212223-2425-2627-2829-2a2b2c2d2e2f\",\"key\":\"+w==\"}]}");
	assert_string_equal(b.data, want);
	etsi_body_free(&b);
	keysvc_batch_free(kb);

	/* an empty batch is no key container */
	struct keysvc_batch empty = { 0 };
	assert_int_equal(etsi_response_keys(&empty, &b), -EINVAL);
	assert_int_equal(etsi_response_keys(NULL, &b), -EINVAL);
}

static void test_error_body(void **state)
{
	struct etsi_body b = { 0 };

	assert_int_equal(etsi_response_error("size shall be a multiple of 8", &b), 0);
	assert_string_equal(b.data, "{\"message\":\"size shall be a multiple of 8\"}");
	etsi_body_free(&b);
	assert_int_equal(etsi_response_error("quote \" and \\ backslash", &b), 0);
	assert_string_equal(b.data, "{\"message\":\"quote \\\" and \\\\ backslash\"}");
	etsi_body_free(&b);
	assert_int_equal(etsi_response_error("bad \xff\x01 bytes", &b), 0);
	assert_string_equal(b.data, "{\"message\":\"bad ?? bytes\"}");
	etsi_body_free(&b);
	assert_int_equal(etsi_response_error("", &b), 0);
	assert_string_equal(b.data, "{\"message\":\"error\"}");
	etsi_body_free(&b);
	assert_int_equal(etsi_response_error(NULL, &b), 0);
	assert_string_equal(b.data, "{\"message\":\"error\"}");
	etsi_body_free(&b);
}

static void test_errno_map(void **state)
{
	static const struct { int err; unsigned status; const char *msg; } map[] = {
		{ -EINVAL, 400, "bad request" },
		{ -ENOENT, 400, "one or more keys specified are not found on KME" },
		{ -EACCES, 401, "unauthorized" },
		{ -EAGAIN, 503, "too few hubs answered" },
		{ -ENOSPC, 503, "PSRD exhausted" },
		{ -EDQUOT, 503, "quota exceeded" },
		{ -ETIMEDOUT, 503, "keys not complete before the deadline" },
		{ -EIO, 503, "key service error" },
		{ -ENOMEM, 503, "key service error" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		assert_int_equal(etsi_status_from_errno(map[i].err), map[i].status);
		assert_string_equal(etsi_default_message(map[i].err), map[i].msg);
	}
}

static void test_mhd(void **state)
{
	struct etsi_body b = { 0 };
	struct MHD_Response *r;

	assert_int_equal(etsi_response_error("x", &b), 0);
	r = etsi_response_mhd(&b);
	assert_non_null(r);
	assert_null(b.data);          /* owned by the response now, freed (wiped) with it */
	assert_int_equal(b.len, 0);
	assert_string_equal(MHD_get_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE), "application/json");
	assert_string_equal(MHD_get_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL), "no-store");
	MHD_destroy_response(r);

	r = etsi_response_mhd_error("method PUT is not allowed here; use GET", "GET");
	assert_non_null(r);
	assert_string_equal(MHD_get_response_header(r, MHD_HTTP_HEADER_ALLOW), "GET");
	MHD_destroy_response(r);
}

/* The wiping free is installed before main; malloc stays malloc. */
static void test_jansson_allocator(void **state)
{
	json_malloc_t m = NULL;
	json_free_t f = NULL;
	json_t *s;

	char *d;

	json_get_alloc_funcs(&m, &f);
	assert_true(m == malloc);        /* json_dumps() output may still go to free() */
	assert_true(f != free);
	s = json_string("key material");
	assert_non_null(s);
	d = json_dumps(s, JSON_ENCODE_ANY);
	assert_string_equal(d, "\"key material\"");
	free(d);
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_key_container),
		cmocka_unit_test(test_key_known_answers),
		cmocka_unit_test(test_error_body),
		cmocka_unit_test(test_errno_map),
		cmocka_unit_test(test_mhd),
		cmocka_unit_test(test_jansson_allocator),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
