/* test_swanctl_conf.c — the admin's swanctl.conf-syntax connection turned into load-conn. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "swanctl_conf.h"
#include "vici_msg.h"

static const char conf[] =
	"# gateway A\n"
	"connections {\n"
	"    dske {\n"
	"        version = 2\n"
	"        local_addrs = 10.99.0.1, 10.99.0.3\n"
	"        proposals = aes256-sha256-x25519\n"
	"        ppk_id = old@link   # replaced\n"
	"        ppk_required = yes\n"
	"        local {\n"
	"            auth = psk\n"
	"            id = \"a.dske.test\"\n"
	"        }\n"
	"        children {\n"
	"            dske-child {\n"
	"                local_ts = 10.98.1.0/24\n"
	"                mode = tunnel\n"
	"            }\n"
	"        }\n"
	"    }\n"
	"    other {\n"
	"        version = 1\n"
	"    }\n"
	"}\n"
	"secrets {\n"
	"    dske2 {\n"
	"        secret = x\n"
	"    }\n"
	"}\n";

static int build(const char *text, const char *name, const char *ppk, struct vici_msg *m,
                 unsigned *line)
{
	static uint8_t copy[65536];   /* the parsed message points into it */
	struct vici_builder b;
	struct vici_packet p;
	const uint8_t *seg;
	size_t len;
	int r;

	vici_builder_init(&b, VICI_CMD_REQUEST, "load-conn");
	r = swanctl_conn_build(text, strlen(text), name, ppk, &b, line);
	if (r == 0)
		r = vici_builder_finish(&b, &seg, &len);
	if (r == 0 && len > sizeof(copy))
		r = -E2BIG;
	if (r == 0) {
		memcpy(copy, seg, len);
		r = vici_packet_parse(copy + 4, len - 4, &p);
	}
	if (r == 0)
		r = vici_msg_parse(p.msg, p.msg_len, m, NULL);
	vici_builder_clear(&b);
	return r;
}

static void test_conn_to_load_conn(void **state)
{
	struct vici_msg m;
	size_t conn, list, local, children, child;
	char s[64];

	assert_int_equal(build(conf, "dske", "k9@link", &m, NULL), 0);
	conn = vici_msg_find(&m, SIZE_MAX, VICI_SECTION_START, "dske");
	assert_int_not_equal(conn, SIZE_MAX);
	assert_int_equal(vici_msg_find(&m, SIZE_MAX, VICI_SECTION_START, "other"), SIZE_MAX);
	assert_true(vici_msg_get_str(&m, conn, "ppk_id", s, sizeof(s)));
	assert_string_equal(s, "k9@link");
	list = vici_msg_find(&m, conn, VICI_LIST_START, "local_addrs");
	assert_int_not_equal(list, SIZE_MAX);
	assert_int_equal(m.elems[list].end - list - 1, 2);     /* two items, comma split */
	assert_int_not_equal(vici_msg_find(&m, conn, VICI_LIST_START, "proposals"), SIZE_MAX);
	local = vici_msg_find(&m, conn, VICI_SECTION_START, "local");
	assert_true(vici_msg_get_str(&m, local, "id", s, sizeof(s)));
	assert_string_equal(s, "a.dske.test");                 /* quotes removed */
	children = vici_msg_find(&m, conn, VICI_SECTION_START, "children");
	child = vici_msg_find(&m, children, VICI_SECTION_START, "dske-child");
	assert_int_not_equal(vici_msg_find(&m, child, VICI_LIST_START, "local_ts"), SIZE_MAX);
	assert_true(vici_msg_get_str(&m, child, "mode", s, sizeof(s)));
	vici_msg_free(&m);
}

static void test_keep_file_ppk_id(void **state)
{
	struct vici_msg m;
	char s[64];

	assert_int_equal(build(conf, "dske", NULL, &m, NULL), 0);   /* same names in sibling sections are fine */
	assert_true(vici_msg_get_str(&m, vici_msg_find(&m, SIZE_MAX, VICI_SECTION_START, "dske"),
	                             "ppk_id", s, sizeof(s)));
	assert_string_equal(s, "old@link");
	vici_msg_free(&m);
}

static void test_errors(void **state)
{
	struct vici_msg m;
	unsigned line = 0;

	assert_int_equal(build(conf, "nope", "k@l", &m, &line), -ENOENT);
	assert_int_equal(build(conf, "dske2", "k@l", &m, &line), -ENOENT);   /* a secret, not a conn */
	assert_int_equal(build("dske {\n version = 2\n", "dske", "k@l", &m, &line), -EBADMSG);
	assert_int_equal(line, 3);
	assert_int_equal(build("dske {\n}\n}\n", "dske", "k@l", &m, &line), -EBADMSG);
	assert_int_equal(line, 3);
	assert_int_equal(build("dske {\n what is this\n}\n", "dske", "k@l", &m, &line), -EBADMSG);
	assert_int_equal(line, 2);
	assert_int_equal(build("dske {\n local {\n  certs = a.pem\n }\n}\n", "dske", "k@l", &m, &line),
	                 -EOPNOTSUPP);
	assert_int_equal(line, 3);
	assert_int_equal(build("dske { version = 2 }\n", "dske", "k@l", &m, &line), -EBADMSG);
	assert_int_equal(build("dske {\n a = 1\n b = 2\n a = 3\n}\n", "dske", "k@l", &m, &line), -EBADMSG);
	assert_int_equal(line, 4);                                        /* duplicate key */
	assert_int_equal(build("dske {\n a {\n }\n a {\n }\n}\n", "dske", "k@l", &m, &line), -EBADMSG);
	assert_int_equal(line, 4);                                        /* duplicate section */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conn_to_load_conn),
		cmocka_unit_test(test_keep_file_ppk_id),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
