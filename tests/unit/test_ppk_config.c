/* test_ppk_config — the PPK sink's client.conf settings ([ppk], the ppk_* keys of [peer]):
 * defaults, a full initiator and responder configuration, the sink SAE added as a local SAE
 * without ETSI identity, and every cross-key rule with its FILE:LINE. */
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
#include "clientd/ppk_config.h"

#include "client_conf_helper.c"

#define BASE \
	"[client]\nname = client1\nk = 2\n" \
	"[hub hub1]\nindex = 1\nurl = http://127.0.0.1:7001\n" \
	"[hub hub2]\nindex = 2\nurl = http://127.0.0.1:7002\n"

static void test_initiator(void **state)
{
	struct client_config *c = calloc(1, sizeof(*c));
	char err[CC_ERR_MAX];
	const char *text = BASE
		"[ppk]\nsae = client1_ppk\nvici_socket = /run/x.vici\n"
		"[peer client2]\nsaes = client2_sae1 client2_ppk\n"
		"ppk = strongswan\nppk_sae = client2_ppk\nppk_link = ab.dske\n"
		"ppk_conn_file = /etc/dske/ipsec/c2.conf\nppk_conn = dske\nppk_child = dske-child\n"
		"ppk_keep = 3\nppk_roll = 10m\nppk_grace = 5s\nppk_check = 500ms\nppk_size = 512\n"
		"[peer client3]\nsaes = client3_sae1\n";
	(void)state;
	assert_int_equal(load(text, c, err), 0);
	assert_string_equal(c->ppk.sae, "client1_ppk");
	const struct cc_peer_ppk *p = &c->peers[0].ppk;
	assert_true(p->enabled);
	assert_string_equal(p->sae, "client2_ppk");
	assert_string_equal(p->link, "ab.dske");
	assert_string_equal(p->vici, "/run/x.vici");     /* from [ppk] */
	assert_string_equal(p->conn_file, "/etc/dske/ipsec/c2.conf");
	assert_string_equal(p->conn, "dske");
	assert_string_equal(p->child, "dske-child");
	assert_int_equal(p->keep, 3);
	assert_int_equal(p->roll_ms, 600000);
	assert_int_equal(p->grace_ms, 5000);
	assert_int_equal(p->check_ms, 500);
	assert_int_equal(p->size_bits, 512);
	assert_false(c->peers[1].ppk.enabled);
	/* the sink's SAE became a local SAE, with no unix-socket identity */
	int s = client_config_sae_find(c, "client1_ppk");
	assert_true(s >= 0);
	assert_false(c->saes[s].has_uid);
	assert_false(c->saes[s].has_gid);
	free(c);
}

static void test_responder_defaults(void **state)
{
	struct client_config *c = calloc(1, sizeof(*c));
	char err[CC_ERR_MAX];
	const char *text = BASE
		"[ppk]\nsae = client2_ppk\n"
		"[peer client1]\nsaes = client1_ppk\nppk = strongswan\nppk_sae = client1_ppk\n"
		"ppk_link = ab.dske\nppk_vici = /tmp/b.vici\n";
	(void)state;
	assert_int_equal(load(text, c, err), 0);
	const struct cc_peer_ppk *p = &c->peers[0].ppk;
	assert_string_equal(p->vici, "/tmp/b.vici");
	assert_string_equal(p->conn_file, "");
	assert_int_equal(p->keep, 2);
	assert_int_equal(p->roll_ms, 3600000);
	assert_int_equal(p->grace_ms, 60000);
	assert_int_equal(p->check_ms, 2000);
	assert_int_equal(p->size_bits, 256);
	free(c);
}

static void test_no_ppk(void **state)
{
	struct client_config *c = calloc(1, sizeof(*c));
	char err[CC_ERR_MAX];
	(void)state;
	assert_int_equal(load(BASE "[peer client2]\nsaes = a\n", c, err), 0);
	assert_false(c->peers[0].ppk.enabled);
	assert_string_equal(c->ppk.vici_socket, "/run/charon.vici");
	assert_int_equal(c->nsaes, 0);
	free(c);
}

#define PEER "[peer client2]\nsaes = client2_ppk\n"   /* lines 10-11 */
static void test_errors(void **state)
{
	(void)state;
	expect_error(BASE PEER "ppk = yes\n", 12, "ppk: \"yes\" is not strongswan or no");
	expect_error(BASE PEER "ppk = strongswan\nppk_link = ab.dske\n", 12, "needs ppk_sae");
	expect_error(BASE PEER "ppk = strongswan\nppk_sae = other\nppk_link = x\n", 12,
	             "ppk_sae other is not one of its saes");
	expect_error(BASE PEER "ppk = strongswan\nppk_sae = client2_ppk\n", 12, "needs ppk_link");
	expect_error(BASE PEER "ppk_link = a@b\n", 12, "is not a link name");
	expect_error(BASE PEER "ppk_link = *x\n", 12, "is not a link name");
	expect_error(BASE PEER "ppk_conn = a b\n", 12, "is not a connection name");
	expect_error(BASE PEER "ppk_size = 260\n", 12, "not a multiple of 8");
	expect_error(BASE PEER "ppk_size = 128\n", 12, "");
	expect_error(BASE PEER "ppk_keep = 65\n", 12, "");
	expect_error(BASE PEER "ppk_roll = 50ms\n", 12, "at least 100ms");
	expect_error(BASE PEER "ppk_vici = relative\n", 12, "");
	expect_error(BASE PEER "ppk = strongswan\nppk_sae = client2_ppk\nppk_link = l\n", 0,
	             "[ppk] sae");
	expect_error(BASE PEER "ppk = strongswan\nppk_sae = client2_ppk\nppk_link = l\n"
	             "ppk_conn_file = /x\n[ppk]\nsae = s\n", 12, "ppk_conn_file needs ppk_conn");
	expect_error(BASE PEER "ppk = strongswan\nppk_sae = client2_ppk\nppk_link = l\n"
	             "ppk_conn = dske\n[ppk]\nsae = s\n", 12, "need ppk_conn_file");
	expect_error(BASE PEER "ppk_link = l\n", 12, "without ppk = strongswan");
	expect_error(BASE PEER "ppk = strongswan\nppk_sae = client2_ppk\nppk_link = l\n"
	             "[peer client3]\nsaes = c3\nppk = strongswan\nppk_sae = c3\nppk_link = L\n"
	             "[ppk]\nsae = s\n", 17, "ppk_link L is also the link of peer client2");
	expect_error(BASE PEER "ppk = strongswan\nppk_sae = client2_ppk\nppk_link = l\n"
	             "[ppk]\nsae = mine\n[sae mine]\nuid = 0\n", 18,
	             "must have neither uid nor gid");
	expect_error(BASE PEER "ppk = strongswan\nppk_sae = client2_ppk\nppk_link = l\n"
	             "[ppk]\nsae = client2_ppk\n", 16, "also listed as an SAE of a peer");
	expect_error(BASE "[ppk]\nsae = a b\n", 11, "");
	expect_error(BASE "[ppk]\nbogus = 1\n", 11, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initiator),
		cmocka_unit_test(test_responder_defaults),
		cmocka_unit_test(test_no_ppk),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
