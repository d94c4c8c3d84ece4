/* test_sink_keyring — the keyring settings of client.conf ([keyring], [peer] keyring_*): values,
 * defaults, the cross-checks with their FILE:LINE, and who initiates for a pair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clientd/client_config.h"
#include "clientd/sink_keyring.h"
#include "clientd/sink_keyring_int.h"

#include "client_conf_helper.c"

#define BASE(name) \
	"[client]\nname = " name "\n" \
	"[hub hub1]\nindex = 1\nurl = http://127.0.0.1:7001\n" \
	"[hub hub2]\nindex = 2\nurl = http://127.0.0.1:7002\n" \
	"[hub hub3]\nindex = 3\nurl = http://127.0.0.1:7003\n" \
	"[sae local_sae]\nuid = 0\n" \
	"[sae local_keyring]\n"

static void test_values(void **state)
{
	struct client_config *c = calloc(1, sizeof(*c));
	char err[CC_ERR_MAX];
	const char *text = BASE("client1")
		"[peer client2]\n"
		"saes = client2_sae client2_keyring\n"
		"keyring = yes\n"
		"keyring_sae = client2_keyring\n"
		"keyring_keys = 7\n"
		"keyring_lifetime = 90s\n"
		"keyring_initiator = no\n"
		"[peer client0]\n"
		"saes = client0_sae\n"
		"[keyring]\n"
		"name = ring.test\n"
		"group = wheel\n"
		"sae = local_keyring\n"
		"timeout = 2h\n"
		"publish_etsi = yes\n"
		"request_key = no\n";

	assert_int_equal(load(text, c, err), 0);
	assert_string_equal(c->keyring.name, "ring.test");
	assert_string_equal(c->keyring.group, "wheel");
	assert_string_equal(c->keyring.sae, "local_keyring");
	assert_int_equal(c->keyring.timeout_s, 7200);
	assert_true(c->keyring.publish_etsi);
	assert_false(c->keyring.request_key);
	assert_true(c->peers[0].keyring);
	assert_string_equal(c->peers[0].keyring_sae, "client2_keyring");
	assert_int_equal(c->peers[0].keyring_keys, 7);
	assert_int_equal(c->peers[0].keyring_lifetime_s, 90);
	assert_int_equal(c->peers[0].keyring_initiator, CC_KR_INIT_NO);
	assert_false(c->peers[1].keyring);
	assert_true(sink_keyring_wanted(c));
	/* "no": the peer initiates although client1 sorts first */
	assert_false(sink_keyring_initiates(c, 0));
	free(c);
}

static void test_defaults_and_auto(void **state)
{
	struct client_config *c = calloc(1, sizeof(*c));
	char err[CC_ERR_MAX];

	assert_int_equal(load(BASE("client1") "[peer client2]\nsaes = client2_sae\n", c, err), 0);
	assert_string_equal(c->keyring.name, "dske");
	assert_string_equal(c->keyring.group, "dske");
	assert_string_equal(c->keyring.sae, "");
	assert_int_equal(c->keyring.timeout_s, 3600);
	assert_false(c->keyring.publish_etsi);
	assert_true(c->keyring.request_key);
	assert_false(c->peers[0].keyring);
	assert_false(sink_keyring_wanted(c));
	assert_int_equal(c->peers[0].keyring_initiator, CC_KR_INIT_AUTO);
	assert_true(sink_keyring_initiates(c, 0));        /* client1 < client2 */

	/* [keyring] sae declares the sink's local SAE: no [sae] section needed */
	assert_int_equal(load(BASE("client1") "[keyring]\nsae = sink_only\n", c, err), 0);
	int i = client_config_sae_find(c, "sink_only");
	assert_true(i >= 0);
	assert_false(c->saes[i].has_uid);
	assert_false(c->saes[i].has_gid);

	/* the same pair seen from client2: auto picks the other side, exactly one initiates */
	assert_int_equal(load(BASE("client2") "[peer client1]\nsaes = client1_sae\n"
	                      "keyring_initiator = auto\n", c, err), 0);
	assert_false(sink_keyring_initiates(c, 0));
	assert_int_equal(load(BASE("client2") "[peer client1]\nsaes = client1_sae\n"
	                      "keyring_initiator = yes\n", c, err), 0);
	assert_true(sink_keyring_initiates(c, 0));
	free(c);
}

static void test_errors(void **state)
{
	/* BASE is 14 lines: a section opened after it starts on line 15, its first key on 16 (a peer
	 * is remembered at its first key) */
	expect_error(BASE("client1") "[peer client2]\nsaes = client2_sae\nkeyring = yes\n", 16,
	             "needs [keyring] sae");
	expect_error(BASE("client1") "[peer client2]\nsaes = client2_sae\n[keyring]\nsae = client2_sae\n",
	             18, "also listed as an SAE of peer client2");
	expect_error(BASE("client1") "[peer client2]\nsaes = client2_sae\nkeyring = yes\n"
	             "keyring_sae = other\n[keyring]\nsae = local_keyring\n", 16,
	             "keyring_sae = one of its saes");
	expect_error(BASE("client1") "[peer client2]\nsaes = client2_sae\n"
	             "keyring_initiator = maybe\n", 17, "is not auto, yes or no");
	expect_error(BASE("client1") "[peer client2]\nsaes = client2_sae\nkeyring_keys = 0\n", 17,
	             "keyring_keys");
	expect_error(BASE("client1") "[peer client2]\nsaes = client2_sae\nkeyring_keys = 1001\n", 17,
	             "keyring_keys");
	expect_error(BASE("client1") "[keyring]\nname = .dske\n", 0, "not a keyring name");
	expect_error(BASE("client1") "[keyring]\nname = a;b\n", 0, "not a keyring name");
	expect_error(BASE("client1") "[keyring]\nflavour = x\n", 16, "flavour");
	expect_error(BASE("client1") "[keyring]\ntimeout = 0s\n", 16, "timeout");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_defaults_and_auto),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
