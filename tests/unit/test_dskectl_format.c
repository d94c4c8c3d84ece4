/* test_dskectl_format — dskectl's human output: byte counts, PSRD bars, the status summary,
 * generic JSON, key containers to "KEY_ID HEX" lines. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "dskectl/format.c"

/* runs fn on a memory stream, returns the text (caller frees) */
static char *capture_status(json_t *j)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	format_status(f, j);
	fclose(f);
	return buf;
}

static void test_bytes(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(format_bytes(0, b, sizeof(b)), "0 B");
	assert_string_equal(format_bytes(1023, b, sizeof(b)), "1023 B");
	assert_string_equal(format_bytes(1024, b, sizeof(b)), "1.0 KiB");
	assert_string_equal(format_bytes(1536, b, sizeof(b)), "1.5 KiB");
	assert_string_equal(format_bytes(4194304, b, sizeof(b)), "4.0 MiB");
	assert_string_equal(format_bytes(3ull << 30, b, sizeof(b)), "3.0 GiB");
}

static void test_bar(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(format_bar(0, 100, 10, b, sizeof(b)), "[..........]");
	assert_string_equal(format_bar(100, 100, 10, b, sizeof(b)), "[##########]");
	assert_string_equal(format_bar(50, 100, 10, b, sizeof(b)), "[#####.....]");
	/* anything left shows at least one cell */
	assert_string_equal(format_bar(1, 100, 10, b, sizeof(b)), "[#.........]");
	/* more than the total (imported meanwhile) is a full bar, not an overflow */
	assert_string_equal(format_bar(200, 100, 10, b, sizeof(b)), "[##########]");
	assert_string_equal(format_bar(5, 0, 4, b, sizeof(b)), "[....]");
	/* a buffer too small for the bar gets an empty string */
	assert_string_equal(format_bar(5, 10, 10, b, 8), "");
}

static void test_status_client(void **state)
{
	json_error_t e;
	json_t *j = json_loads(
		"{\"name\":\"client1\",\"role\":\"client\",\"version\":\"0.1.0\",\"uptime\":12,\"k\":3,"
		"\"hubs\":["
		"{\"name\":\"hub1\",\"index\":1,\"up\":true,\"faults\":0,\"last_error\":\"\","
		" \"psrd\":{\"tx_remaining\":2097152,\"tx_end\":4194304,\"rx_remaining\":4194304,"
		"  \"rx_end\":4194304,\"low\":false}},"
		"{\"name\":\"hub2\",\"index\":2,\"up\":false,\"faults\":7,\"last_error\":\"connection refused\","
		" \"psrd\":{\"tx_remaining\":1024,\"tx_end\":4194304,\"rx_remaining\":0,\"rx_end\":4194304,"
		"  \"low\":true}}],"
		"\"keys\":{\"made\":10,\"served\":9,\"held\":3,\"pending_fetch\":0},"
		"\"warnings\":[\"PSRD low for hub hub2: 1024 bytes left\"]}", 0, &e);
	char *out;

	(void)state;
	assert_non_null(j);
	out = capture_status(j);
	assert_non_null(strstr(out, "client1 (client, version 0.1.0, up 12 s)\n"));
	assert_non_null(strstr(out, "hubs: 1 up, 1 down (k = 3)\n"));
	assert_non_null(strstr(out, "  hub1         up    index 1  faults 0\n"));
	assert_non_null(strstr(out, "  hub2         DOWN  index 2  faults 7  PSRD LOW\n"));
	assert_non_null(strstr(out, "      last error: connection refused\n"));
	assert_non_null(strstr(out, "tx c2h [##########..........]  50%  2.0 MiB left of 4.0 MiB\n"));
	assert_non_null(strstr(out, "rx h2c [....................]   0%  0 B left of 4.0 MiB\n"));
	assert_non_null(strstr(out, "keys: made 10, served 9, held 3, pending_fetch 0\n"));
	assert_non_null(strstr(out, "warnings:\n  PSRD low for hub hub2: 1024 bytes left\n"));
	free(out);
	json_decref(j);
}

static void test_status_hub_minimal(void **state)
{
	json_t *j = json_loads("{\"name\":\"hub1\",\"role\":\"hub\",\"clients\":[{\"name\":\"client1\","
	                       "\"psrd\":{\"tx_remaining\":10,\"tx_end\":10}}],\"warnings\":[]}",
	                       0, NULL);
	char *out;

	(void)state;
	assert_non_null(j);
	out = capture_status(j);
	assert_non_null(strstr(out, "hub1 (hub)\n"));
	assert_non_null(strstr(out, "clients: 1\n"));
	assert_non_null(strstr(out, "tx h2c [####################] 100%"));
	assert_null(strstr(out, "rx c2h"));   /* absent fields are skipped */
	assert_non_null(strstr(out, "warnings: none\n"));
	free(out);
	json_decref(j);
}

static void test_json_human(void **state)
{
	json_t *j = json_loads("{\"a\":1,\"b\":\"x\",\"c\":[1,2],\"d\":{\"e\":true},\"f\":[],"
	                       "\"g\":[{\"h\":null}]}", 0, NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(j);
	format_json_human(f, j, 0);
	fclose(f);
	assert_string_equal(buf, "a: 1\nb: x\nc: 1 2\nd:\n  e: yes\nf: (none)\ng:\n  -\n    h: -\n");
	free(buf);
	json_decref(j);
}

static void test_keys(void **state)
{
	/* 32 bytes 00..1f, and 3 bytes ff fe fd */
	json_t *j = json_loads(
		"{\"keys\":[{\"key_ID\":\"550e8400-e29b-41d4-a716-446655440000\","
		"\"key\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"},"
		"{\"key_ID\":\"550e8400-e29b-41d4-a716-446655440001\",\"key\":\"//79\"}]}", 0, NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(j);
	assert_int_equal(format_keys(f, j), 0);
	fclose(f);
	assert_string_equal(buf,
		"550e8400-e29b-41d4-a716-446655440000 "
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
		"550e8400-e29b-41d4-a716-446655440001 fffefd\n");
	free(buf);
	json_decref(j);
}

static void test_keys_bad(void **state)
{
	static const char *bad[] = {
		"{}", "{\"keys\":{}}", "{\"keys\":[{\"key\":\"AAAA\"}]}",
		"{\"keys\":[{\"key_ID\":\"x\"}]}", "{\"keys\":[{\"key_ID\":\"x\",\"key\":\"!!!!\"}]}",
		"{\"keys\":[{\"key_ID\":\"x\",\"key\":\"AAA\"}]}",
	};
	FILE *f = fopen("/dev/null", "w");

	(void)state;
	assert_non_null(f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i], 0, NULL);

		assert_non_null(j);
		assert_int_equal(format_keys(f, j), -EBADMSG);
		json_decref(j);
	}
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_bar),
		cmocka_unit_test(test_status_client),
		cmocka_unit_test(test_status_hub_minimal),
		cmocka_unit_test(test_json_human),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_keys_bad),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
