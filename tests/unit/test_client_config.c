/* test_client_config — client.conf: a full good file, defaults, and bad files with the exact
 * FILE:LINE of the fault (unknown key and section, duplicate key and hub index, bad values,
 * cross-key rules). */
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

#include "client_conf_helper.c"

#define HUBS \
	"[hub hub1]\nindex = 1\nurl = http://127.0.0.1:7001\n" \
	"[hub hub2]\nindex = 2\nurl = http://127.0.0.1:7002\n" \
	"[hub hub3]\nindex = 3\nurl = http://127.0.0.1:7003\n"

static void test_good(void **state)
{
	struct client_config *c = calloc(1, sizeof(*c));
	char err[CC_ERR_MAX];
	const char *text =
		"; a full configuration\n"
		"[client]\n"
		"name = client1\n"
		"state_dir = /var/lib/x\n"
		"control_socket = /run/x.sock\n"
		"k = 2\n"
		"ack_margin = 0\n"
		"ack_deadline = 20ms\n"
		"hub_timeout = 3s\n"
		"poll_wait = 10s\n"
		"fetch_deadline = 1s\n"
		"key_ttl = 2h\n"
		"default_key_size = 512\n"
		"min_key_size = 128\n"
		"max_key_size = 1024\n"
		"max_keys_per_request = 64\n"
		"max_keys_per_peer = 500\n"
		"psrd_audit = yes\n"
		"low_water = 1M\n"
		"psrd_reserve = 8K\n"
		"log_level = debug\n"
		HUBS
		"[peer client2]\nsaes = c2_a c2_b\n"
		"[sae c1_a]\nuid = 1000\ngid = 1000\ncert_cn = host-a\nquota = 60\n"
		"[sae c1_b]\nuid = 0\n"
		"[etsi]\nunix_socket = /run/etsi.sock\nhttps = 127.0.0.1:8443\n"
		"tls_cert = /etc/c.pem\ntls_key = /etc/k.pem\ntls_ca = /etc/ca.pem\n";

	assert_int_equal(load(text, c, err), 0);
	assert_string_equal(c->name, "client1");
	assert_string_equal(c->state_dir, "/var/lib/x");
	assert_int_equal(c->k, 2);
	assert_int_equal(c->ack_margin, 0);
	assert_int_equal(c->ack_deadline_ms, 20);
	assert_int_equal(c->hub_timeout_ms, 3000);
	assert_int_equal(c->poll_wait_ms, 10000);
	assert_int_equal(c->fetch_deadline_ms, 1000);
	assert_int_equal(c->key_ttl_s, 7200);
	assert_int_equal(c->default_key_size, 512);
	assert_int_equal(c->max_keys_per_request, 64);
	assert_int_equal(c->max_keys_per_peer, 500);
	assert_true(c->psrd_audit);
	assert_int_equal(c->low_water, 1 << 20);
	assert_int_equal(c->psrd_reserve, 8192);
	assert_int_equal(c->nhubs, 3);
	assert_int_equal(c->hubs[2].index, 3);
	assert_string_equal(c->hubs[1].url, "http://127.0.0.1:7002");
	assert_int_equal(c->npeers, 1);
	assert_int_equal(c->peers[0].nsaes, 2);
	assert_string_equal(c->peers[0].saes[1], "c2_b");
	assert_int_equal(c->nsaes, 2);
	assert_true(c->saes[0].has_uid && c->saes[0].has_gid);
	assert_int_equal(c->saes[0].uid, 1000);
	assert_string_equal(c->saes[0].cert_cn, "host-a");
	assert_int_equal(c->saes[0].quota, 60);
	assert_string_equal(c->saes[1].cert_cn, "c1_b");    /* default: the SAE ID */
	assert_false(c->saes[1].has_gid);
	assert_string_equal(c->etsi.https, "127.0.0.1:8443");
	unsigned j;
	assert_int_equal(client_config_peer_of_sae(c, "c2_b", &j), 0);
	assert_int_equal(j, 1);
	assert_int_equal(client_config_peer_of_sae(c, "c1_a", &j), -1);
	assert_int_equal(client_config_sae_find(c, "c1_b"), 1);
	assert_int_equal(client_config_hub_find(c, "hub3"), 2);
	free(c);
}

static void test_defaults(void **state)
{
	struct client_config *c = calloc(1, sizeof(*c));
	char err[CC_ERR_MAX];
	assert_int_equal(load("[client]\nname = c\n" HUBS, c, err), 0);
	assert_int_equal(c->k, 3);
	assert_int_equal(c->ack_margin, 1);
	assert_int_equal(c->ack_deadline_ms, 50);
	assert_int_equal(c->hub_timeout_ms, 2000);
	assert_int_equal(c->poll_wait_ms, 25000);
	assert_int_equal(c->fetch_deadline_ms, 5000);
	assert_int_equal(c->key_ttl_s, 3600);
	assert_int_equal(c->default_key_size, 256);
	assert_int_equal(c->min_key_size, 64);
	assert_int_equal(c->max_key_size, 8192);
	assert_int_equal(c->max_keys_per_request, 1024);
	assert_int_equal(c->max_keys_per_peer, 100000);
	assert_int_equal(c->low_water, 65536);
	assert_int_equal(c->psrd_reserve, 16384);
	assert_string_equal(c->state_dir, "/var/lib/dske-client");
	assert_string_equal(c->control_socket, "/run/dske/clientd.sock");
	free(c);
}

static void test_errors(void **state)
{
	expect_error("[client]\nname = c\nbogus = 1\n" HUBS, 3, "unknown key \"bogus\"");
	expect_error("[client]\nname = c\n[hubs]\nx = 1\n" HUBS, 4, "unknown section [hubs]");
	expect_error("[client]\nname = c\nk = 3\nk = 2\n" HUBS, 4, "duplicate key \"k\"");
	expect_error("[client]\nname = c\n" HUBS "[hub hub4]\nindex = 2\n", 13, "duplicate hub index 2");
	expect_error("[client]\nname = C!\n" HUBS, 2, "invalid name");
	expect_error("[client]\nname = c\nk = 1\n" HUBS, 3, "out of range");
	expect_error("[client]\nname = c\nhub_timeout = soon\n" HUBS, 3, "not a valid duration");
	expect_error("[client]\nname = c\ndefault_key_size = 100\n" HUBS, 3, "not a multiple of 8");
	expect_error("[client]\nname = c\nstate_dir = relative/dir\n" HUBS, 3, "not an absolute path");
	expect_error("[client]\nname = c\npsrd_audit = maybe\n" HUBS, 3, "not yes or no");
	expect_error("[client]\nname = c\n" HUBS "[hub hub9]\nindex = 9\nurl = ftp://x\n", 14, "URL");
	expect_error("[client]\nname = c\n" HUBS "[peer p]\nsaes = a b a\n", 13, "listed twice");
	expect_error("[client]\nname = c\n" HUBS "[sae a b]\nuid = 0\n", 13, "not a valid SAE ID");
	expect_error("name = c\n" HUBS, 1, "outside of a known section");
	expect_error("[client]\nname = c\nthis line is not ini\n" HUBS, 3, "");
	/* whole-file rules */
	expect_error("[client]\nname = c\nk = 4\n" HUBS, 2, "k = 4 but only 3 hubs");
	expect_error("[client]\nk = 2\n" HUBS, 2, "\"name\" is required");
	expect_error("[client]\nname = c\n", 0, "no [hub NAME] section");
	expect_error("[client]\nname = c\n" HUBS "[hub hub4]\nurl = http://h:1\n", 13, "\"index\" is required");
	expect_error("[client]\nname = c\nmin_key_size = 512\n" HUBS, 2,
	             "default_key_size 256 not within");
	expect_error("[client]\nname = c\n" HUBS "[peer p1]\nsaes = x\n[peer p2]\nsaes = x\n", 15,
	             "listed for two peers");
	expect_error("[client]\nname = c\n" HUBS "[etsi]\nhttps = 127.0.0.1:1\n", 0, "https needs");
}

static void test_missing_file(void **state)
{
	struct client_config *c = calloc(1, sizeof(*c));
	char err[CC_ERR_MAX];
	assert_int_equal(client_config_load("/nonexistent/client.conf", c, err), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/client.conf"));
	free(c);
}

/* dske-client.conf(5) documents exactly the keys of the table, each in its section */
static void test_man_page_lists_every_key(void **state)
{
	FILE *f = fopen("man/dske-client.conf.5", "r");
	char line[512], sect[32] = "", doc[128][80];
	size_t ndoc = 0;
	bool after_tp = false;

	if (!f)
		f = fopen("../man/dske-client.conf.5", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, ".SH ", 4)) {
			sect[0] = '\0';
			if (!strncmp(line, ".SH \"[", 6))
				sscanf(line + 6, "%31[a-z]", sect);
			after_tp = false;
			continue;
		}
		if (after_tp && sect[0] && (!strncmp(line, ".B ", 3) || !strncmp(line, ".BR ", 4)) &&
		    ndoc < 128) {
			char key[64] = "";
			sscanf(line + (line[2] == 'R' ? 4 : 3), "%63[a-z_]", key);
			snprintf(doc[ndoc++], sizeof(doc[0]), "%s.%s", sect, key);
		}
		after_tp = !strcmp(line, ".TP");
	}
	fclose(f);
	assert_int_equal(ndoc, client_config_nkeys);
	for (size_t i = 0; i < client_config_nkeys; i++) {
		char want[80];
		bool found = false;
		snprintf(want, sizeof(want), "%s.%s", client_config_keys[i].section, client_config_keys[i].key);
		for (size_t j = 0; j < ndoc; j++)
			found |= !strcmp(doc[j], want);
		if (!found)
			fail_msg("%s is not documented in dske-client.conf(5)", want);
	}
	for (size_t j = 0; j < ndoc; j++) {
		bool found = false;
		for (size_t i = 0; i < client_config_nkeys; i++) {
			char have[80];
			snprintf(have, sizeof(have), "%s.%s", client_config_keys[i].section,
			         client_config_keys[i].key);
			found |= !strcmp(doc[j], have);
		}
		if (!found)
			fail_msg("dske-client.conf(5) documents %s, which the parser does not know", doc[j]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_man_page_lists_every_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
