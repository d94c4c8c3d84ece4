/* test_config.c — common/config.c: strict key tables, FILE:LINE errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/config.h"

enum { K_NAME, K_SIZE, K_WAIT, K_AUDIT, K_LEVEL, K_INDEX, K_URL, K_SAES, K_LISTEN };

static const struct cfg_key table[] = {
	{ "hub", false, "name", CFG_KME_NAME, 0, 0, K_NAME },
	{ "hub", false, "max_frame", CFG_SIZE, 1024, 1 << 24, K_SIZE },
	{ "hub", false, "wait", CFG_DURATION, 0, 0, K_WAIT },
	{ "hub", false, "audit", CFG_BOOL, 0, 0, K_AUDIT },
	{ "hub", false, "log_level", CFG_LOG_LEVEL, 0, 0, K_LEVEL },
	{ "hub", false, "listen", CFG_HOSTPORT, 0, 0, K_LISTEN },
	{ "peer", true, "index", CFG_UINT, 1, 255, K_INDEX },
	{ "peer", true, "url", CFG_URL, 0, 0, K_URL },
	{ "peer", true, "saes", CFG_SAE_LIST, 0, 0, K_SAES },
};

struct res {
	char name[65];
	uint64_t size, wait, index_sum;
	bool audit;
	enum log_level level;
	int peers;
	unsigned seen_index[256];
};

static int set(void *user, struct cfg_ctx *ctx, const struct cfg_key *k, const char *arg,
               const struct cfg_value *v)
{
	struct res *r = user;

	switch (k->id) {
	case K_NAME: snprintf(r->name, sizeof(r->name), "%s", v->str); break;
	case K_SIZE: r->size = v->u; break;
	case K_WAIT: r->wait = v->u; break;
	case K_AUDIT: r->audit = v->b; break;
	case K_LEVEL: r->level = v->level; break;
	case K_INDEX:
		if (r->seen_index[v->u])
			return cfg_fail(ctx, "duplicate hub index %s (also at line %u)", v->str,
			                r->seen_index[v->u]);
		r->seen_index[v->u] = cfg_line(ctx);
		r->index_sum += v->u;
		r->peers++;
		break;
	default: break;
	}
	return 0;
}

static int load(const char *text, struct res *r, char *err, size_t errlen, char *path)
{
	FILE *f;
	int fd, ret;

	strcpy(path, "/tmp/test_config.XXXXXX");
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	memset(r, 0, sizeof(*r));
	ret = cfg_load(path, table, sizeof(table) / sizeof(table[0]), set, r, err, errlen);
	unlink(path);
	return ret;
}

static void expect_error(const char *text, unsigned line, const char *what)
{
	struct res r;
	char err[512], path[64], prefix[96];

	assert_int_equal(load(text, &r, err, sizeof(err), path), -EINVAL);
	snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, what))
		fail_msg("error \"%s\", expected prefix \"%s\" and \"%s\"", err, prefix, what);
}

static void test_good(void **state)
{
	struct res r;
	char err[512], path[64];

	assert_int_equal(load("; comment\n[hub]\nname = hub1   ; inline\nmax_frame = 64K\n"
	                      "wait = 250ms\naudit = yes\nlog_level = debug\nlisten = 127.0.0.1:0\n\n"
	                      "[peer a]\nindex = 1\nurl = http://127.0.0.1:7001\nsaes = a_1 a_2\n"
	                      "[peer b]\nindex = 2\n", &r, err, sizeof(err), path), 0);
	assert_string_equal(r.name, "hub1");
	assert_int_equal(r.size, 65536);
	assert_int_equal(r.wait, 250);
	assert_true(r.audit);
	assert_int_equal(r.level, LOG_LVL_DEBUG);
	assert_int_equal(r.peers, 2);
	assert_int_equal(r.index_sum, 3);
}

static void test_errors(void **state)
{
	expect_error("[hub]\nname = hub1\nbogus = 1\n", 3, "unknown key \"bogus\"");
	expect_error("[hub]\n\n\nname = hub1\n[nope]\nx = 1\n", 6, "unknown section [nope]");
	expect_error("[hub]\nname = hub1\nname = hub2\n", 3, "duplicate key \"name\"");
	expect_error("[hub]\nname = Hub One\n", 2, "invalid name");
	expect_error("[hub]\nmax_frame = 12\n", 2, "out of range");
	expect_error("[hub]\nmax_frame = lots\n", 2, "not a valid size");
	expect_error("[hub]\naudit = maybe\n", 2, "not yes or no");
	expect_error("[hub]\nlog_level = loud\n", 2, "not a log level");
	expect_error("[hub]\nlisten = localhost\n", 2, "not host:port");
	expect_error("[peer a]\nindex = 1\n[peer b]\nindex = 1\n", 4, "duplicate hub index 1 (also at line 2)");
	expect_error("[peer a]\nurl = ftp://x\n", 2, "not an http");
	expect_error("[peer a]\nsaes = ok bad/one\n", 2, "invalid SAE ID \"bad/one\"");
	expect_error("[hub x]\nname = a\n", 2, "unknown section [hub x]");
	expect_error("[peer]\nindex = 1\n", 2, "unknown section [peer]");
	/* unknown sections without keys are errors too (inih never calls the handler for them) */
	expect_error("[hub]\nname = hub1\n\n[nope]\n", 4, "unknown section [nope]");
	expect_error("[hub]\nname = hub1\n[ nope x ]\n; comment\n", 3, "unknown section [nope x]");
	expect_error("[hub]\nname = a\nthis is not ini\n", 3, "syntax error");
	expect_error("name = a\n", 1, "outside of a known section");
}

static void test_missing_file(void **state)
{
	struct res r;
	char err[256];

	assert_int_equal(cfg_load("/nonexistent/x.conf", table, 1, set, &r, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/x.conf"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
