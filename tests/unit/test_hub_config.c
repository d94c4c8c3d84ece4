/* test_hub_config.c — hub.conf: defaults, every key parsed, errors with FILE:LINE, and the man
 * page dske-hub.conf(5) documents exactly the keys the parser accepts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hubd/hub_config.h"

static char path[64];

static int load(const char *text, struct hub_config *c, char *err, size_t errlen)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/test_hub_config.XXXXXX");
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	hub_config_defaults(c);
	fd = hub_config_load(path, c, err, errlen);
	unlink(path);
	return fd;
}

static void test_defaults_and_keys(void **state)
{
	struct hub_config c;
	char err[256];

	assert_int_equal(load("[hub]\nname = hub1\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.listen, "127.0.0.1:7001");
	assert_string_equal(c.state_dir, "/var/lib/dske-hub");
	assert_string_equal(c.control_socket, "/run/dske-hub/hubd.sock");
	assert_int_equal(c.max_frame, 1 << 20);
	assert_int_equal(c.share_ttl_ms, 3600000);
	assert_int_equal(c.max_redeliveries, 4);
	assert_false(c.psrd_audit);
	assert_int_equal(c.low_water, 65536);

	assert_int_equal(load("[hub]\nname = hub-2\nlisten = [::1]:0\nstate_dir = /srv/h\n"
	                      "control_socket = /run/h.sock\nmax_frame = 256K\nshare_ttl = 90s\n"
	                      "max_shares = 10\nmax_redeliveries = 0\npsrd_audit = yes\n"
	                      "low_water = 1M\nlog_level = debug\ntls_cert = /c.pem\ntls_key = /k.pem\n",
	                      &c, err, sizeof(err)), 0);
	assert_string_equal(c.name, "hub-2");
	assert_string_equal(c.listen, "[::1]:0");
	assert_string_equal(c.state_dir, "/srv/h");
	assert_string_equal(c.control_socket, "/run/h.sock");
	assert_int_equal(c.max_frame, 256 * 1024);
	assert_int_equal(c.share_ttl_ms, 90000);
	assert_int_equal(c.max_shares, 10);
	assert_int_equal(c.max_redeliveries, 0);
	assert_true(c.psrd_audit);
	assert_int_equal(c.low_water, 1 << 20);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_string_equal(c.tls_cert, "/c.pem");
	assert_string_equal(c.tls_key, "/k.pem");
}

static void expect(const char *text, unsigned line, const char *what)
{
	struct hub_config c;
	char err[512], prefix[96];

	assert_int_equal(load(text, &c, err, sizeof(err)), -EINVAL);
	if (line)
		snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", path);
	if (strncmp(err, prefix, strlen(prefix)) || !strstr(err, what))
		fail_msg("got \"%s\", expected \"%s...%s\"", err, prefix, what);
}

static void test_errors(void **state)
{
	expect("[hub]\nname = hub1\nlisten_port = 1\n", 3, "unknown key \"listen_port\"");
	expect("[hub]\nname = hub1\n[hub x]\nname = y\n", 4, "unknown section");
	expect("[hub]\nname = HUB\n", 2, "invalid name");
	expect("[hub]\nname = a\nstate_dir = relative\n", 3, "absolute path");
	expect("[hub]\nname = a\nmax_frame = 1K\n", 3, "out of range");
	expect("[hub]\nname = a\nshare_ttl = soon\n", 3, "share_ttl");
	expect("[hub]\nname = a\nmax_redeliveries = -1\n", 3, "max_redeliveries");
	expect("[hub]\nname = a\ncontrol_socket = /a/very/long/path/that/does/not/fit/into/a/unix/"
	       "socket/address/because/those/are/limited/to/one/hundred/and/eight/bytes.sock\n", 3, "too long");
	expect("[hub]\nlisten = 127.0.0.1:1\n", 0, "name is required");
	expect("[hub]\nname = a\ntls_cert = /c.pem\n", 0, "go together");
}

/* every key in the table has a ".TP/.B key" entry in the KEYS section, and nothing else does */
static void test_man_page_lists_every_key(void **state)
{
	FILE *f = fopen("man/dske-hub.conf.5", "r");
	char line[512], documented[64][64];
	size_t ndoc = 0;
	bool in_keys = false, after_tp = false;

	if (!f)
		f = fopen("../man/dske-hub.conf.5", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, ".SH ", 4)) {
			in_keys = !strcmp(line, ".SH KEYS");
			continue;
		}
		if (!in_keys)
			continue;
		if (after_tp && !strncmp(line, ".B ", 3) && ndoc < 64)
			snprintf(documented[ndoc++], sizeof(documented[0]), "%.63s", line + 3);
		after_tp = !strcmp(line, ".TP");
	}
	fclose(f);
	for (size_t i = 0; i < hub_config_nkeys; i++) {
		bool found = false;
		for (size_t j = 0; j < ndoc && !found; j++)
			found = !strcmp(documented[j], hub_config_keys[i].key);
		if (!found)
			fail_msg("key %s is not documented in dske-hub.conf(5)", hub_config_keys[i].key);
	}
	for (size_t j = 0; j < ndoc; j++) {
		bool found = false;
		for (size_t i = 0; i < hub_config_nkeys && !found; i++)
			found = !strcmp(documented[j], hub_config_keys[i].key);
		if (!found)
			fail_msg("dske-hub.conf(5) documents %s, which the parser does not accept", documented[j]);
	}
	assert_int_equal(ndoc, hub_config_nkeys);
}

/* the configuration make install ships as /etc/dske/hub.conf loads */
static void test_shipped_config(void **state)
{
	struct hub_config c;
	char err[512];

	hub_config_defaults(&c);
	if (hub_config_load("daemon/conf/hub.conf", &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(c.control_socket, "/run/dske-hub/hubd.sock");
	assert_string_equal(c.state_dir, "/var/lib/dske-hub");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_keys),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_man_page_lists_every_key),
		cmocka_unit_test(test_shipped_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
