/* test_dskectl_format_ppk — dskectl's human output for GET /v1/ppk and POST /v1/ppk/roll. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dskectl/format_ppk.c"

static char *capture(void (*fn)(FILE *, json_t *), const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(j);
	assert_non_null(f);
	fn(f, j);
	fclose(f);
	json_decref(j);
	return buf;
}

static void test_initiator(void **state)
{
	(void)state;
	char *out = capture(format_ppk,
		"{\"sae\":\"client1_ppk\",\"peers\":[{\"peer\":\"client2\",\"link\":\"ab.dske\","
		"\"role\":\"initiator\",\"vici\":\"/run/charon.vici\",\"charon\":true,\"keep\":2,"
		"\"roll_ms\":3600000,\"rolls\":5,\"restores\":1,\"failures\":0,\"unloaded\":4,"
		"\"last_error\":\"\",\"conn\":\"dske\",\"conn_file\":\"/etc/dske/c.conf\","
		"\"child\":\"dske-child\",\"current\":\"k1@ab.dske\","
		"\"sa\":{\"uniqueid\":7,\"state\":\"ESTABLISHED\",\"ppk\":true},"
		"\"last_roll\":{\"ok\":true,\"ppk_id\":\"k1@ab.dske\",\"ms\":12,\"error\":\"\"},"
		"\"ppks\":[{\"ppk_id\":\"k1@ab.dske\",\"id\":\"dske:k1@ab.dske\",\"fingerprint\":\"0a1b2c3d\","
		"\"state\":\"current\",\"loaded\":true,\"seq\":3,\"bits\":256,\"age_ms\":1500},"
		"{\"ppk_id\":\"k2@ab.dske\",\"id\":\"dske:k2@ab.dske\",\"fingerprint\":\"ffee0011\","
		"\"state\":\"made\",\"loaded\":false,\"seq\":4,\"bits\":256,\"age_ms\":300000}]}]}");
	assert_non_null(strstr(out, "PPK sink SAE client1_ppk\n"));
	assert_non_null(strstr(out, "peer client2, link ab.dske: IKE initiator, charon up (/run/charon.vici)\n"));
	assert_non_null(strstr(out, "  connection dske (/etc/dske/c.conf), child dske-child\n"));
	assert_non_null(strstr(out, "  IKE SA #7 ESTABLISHED, ppk=yes\n"));
	assert_non_null(strstr(out, "  current PPK_ID k1@ab.dske\n"));
	assert_non_null(strstr(out, "rolls 5, restores 1, failures 0, unloaded 4; keep 2, roll every 60 min\n"));
	assert_non_null(strstr(out, "  last roll: ok, k1@ab.dske (12 ms)\n"));
	assert_non_null(strstr(out, "current  k1@ab.dske"));
	assert_non_null(strstr(out, "0a1b2c3d yes    1500 ms\n"));
	assert_non_null(strstr(out, "made     k2@ab.dske"));
	assert_non_null(strstr(out, "ffee0011 NO     5 min\n"));
	assert_null(strstr(out, "last error"));
	free(out);
}

static void test_responder_and_none(void **state)
{
	(void)state;
	char *out = capture(format_ppk,
		"{\"sae\":\"client2_ppk\",\"peers\":[{\"peer\":\"client1\",\"link\":\"ab.dske\","
		"\"role\":\"responder\",\"vici\":\"/v\",\"charon\":false,\"keep\":2,\"roll_ms\":0,"
		"\"rolls\":0,\"restores\":0,\"failures\":0,\"unloaded\":0,"
		"\"last_error\":\"charon not reachable at /v: No such file or directory\",\"ppks\":[]}]}");
	assert_non_null(strstr(out, "IKE responder, charon NOT REACHABLE (/v)\n"));
	assert_null(strstr(out, "IKE SA"));
	assert_non_null(strstr(out, "  last error: charon not reachable at /v"));
	assert_non_null(strstr(out, "  PPKs: none\n"));
	free(out);
	out = capture(format_ppk, "{\"sae\":\"\",\"peers\":[]}");
	assert_string_equal(out, "no peer has ppk = strongswan\n");
	free(out);
}

static void test_roll(void **state)
{
	(void)state;
	char *out = capture(format_ppk_roll,
		"{\"rolled\":[{\"peer\":\"client2\",\"link\":\"ab.dske\",\"ok\":true,\"ppk_id\":\"k9@ab.dske\","
		"\"ms\":8,\"error\":\"\"},{\"peer\":\"client3\",\"link\":\"ac\",\"ok\":false,"
		"\"ppk_id\":\"k5@ac\",\"ms\":0,\"error\":\"boom\"}]}");
	assert_string_equal(out, "client2 (ab.dske): rolled to k9@ab.dske, IKE SA up in 8 ms\n"
	                         "client3 (ac): roll FAILED with k5@ac: boom\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initiator),
		cmocka_unit_test(test_responder_and_none),
		cmocka_unit_test(test_roll),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
