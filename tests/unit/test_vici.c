/* test_vici.c — VICI codec and client: golden bytes from a real swanctl capture
 * (strongswan-ppk.md section 3), strict decoding of bad replies, and the client against a
 * scripted fake charon on a unix socket (the real charon is in the integration tests). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "vici_msg.h"
#include "vici_client.h"
#include "vici_ppk.h"

static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = 0;
	for (; hex[0] && hex[1]; hex += 2)
		sscanf(hex, "%2hhx", &out[n++]);
	return n;
}

/* swanctl --load-creds for secrets { ppk-dske-1 { id = dske-ppk-1 secret = 0x0001..1f } } */
static const char load_shared_hex[] =
	"00000066000b6c6f61642d73686172656403026964000a70706b2d64736b652d31030474797065000370706b"
	"0304646174610020000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f04066f77"
	"6e65727305000a64736b652d70706b2d3106";

static void test_encode_load_shared_golden(void **state)
{
	uint8_t want[256], key[32];
	struct vici_builder b;
	const uint8_t *seg;
	size_t n = unhex(load_shared_hex, want), len;

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	vici_builder_init(&b, VICI_CMD_REQUEST, "load-shared");
	vici_builder_kv_str(&b, "id", "ppk-dske-1");
	vici_builder_kv_str(&b, "type", "ppk");
	vici_builder_kv(&b, "data", key, sizeof(key));
	vici_builder_list_start(&b, "owners");
	vici_builder_list_item_str(&b, "dske-ppk-1");
	vici_builder_list_end(&b);
	assert_int_equal(vici_builder_finish(&b, &seg, &len), 0);
	assert_int_equal(len, n);
	assert_memory_equal(seg, want, n);
	vici_builder_clear(&b);
}

static void test_decode_reply_golden(void **state)
{
	/* charon's answer: 0000000f 01 03 07 "success" 0003 "yes" */
	uint8_t seg[64];
	size_t n = unhex("0000000f010307737563636573730003796573", seg);
	struct vici_packet p;
	struct vici_msg m;
	char err[64];

	assert_int_equal(n, 19);
	assert_int_equal(vici_packet_parse(seg + 4, n - 4, &p), 0);
	assert_int_equal(p.type, VICI_CMD_RESPONSE);
	assert_int_equal(vici_msg_parse(p.msg, p.msg_len, &m, NULL), 0);
	assert_true(vici_msg_success(&m, err, sizeof(err)));
	vici_msg_free(&m);
}

static void test_decode_request_golden(void **state)
{
	uint8_t seg[256];
	size_t n = unhex(load_shared_hex, seg);
	struct vici_packet p;
	struct vici_msg m;
	char s[64];
	size_t owners;

	assert_int_equal(vici_packet_parse(seg + 4, n - 4, &p), 0);
	assert_string_equal(p.name, "load-shared");
	assert_int_equal(vici_msg_parse(p.msg, p.msg_len, &m, NULL), 0);
	assert_true(vici_msg_get_str(&m, SIZE_MAX, "type", s, sizeof(s)));
	assert_string_equal(s, "ppk");
	owners = vici_msg_find(&m, SIZE_MAX, VICI_LIST_START, "owners");
	assert_int_not_equal(owners, SIZE_MAX);
	assert_int_equal(m.elems[owners].end, owners + 2);
	vici_msg_free(&m);
}

/* Element boundaries of the golden load-shared message: id, type, data, owners list. */
static void test_every_truncation_rejected(void **state)
{
	uint8_t seg[256];
	size_t n = unhex(load_shared_hex, seg);
	/* offsets (in the message) where a complete, balanced prefix ends: after id, type, data */
	const size_t ok_cuts[] = { 16, 27, 67 };
	struct vici_packet p;
	struct vici_msg m;

	assert_int_equal(vici_packet_parse(seg + 4, n - 4, &p), 0);
	for (size_t keep = 0; keep < p.msg_len; keep++) {
		size_t off = 0;
		int r = vici_msg_parse(p.msg, keep, &m, &off);
		bool boundary = keep == 0;
		for (size_t i = 0; i < sizeof(ok_cuts) / sizeof(ok_cuts[0]); i++)
			boundary |= keep == ok_cuts[i];
		if (boundary) {
			assert_int_equal(r, 0);
			vici_msg_free(&m);
		} else {
			assert_int_equal(r, -EBADMSG);
			assert_true(off <= keep);
		}
	}
}

static void test_nonsense_rejected(void **state)
{
	static const struct { const char *hex; const char *why; } bad[] = {
		{ "07", "unknown element type" },
		{ "00", "element type 0" },
		{ "0100", "section with an empty name" },
		{ "010161", "section never closed" },
		{ "02", "section end at top level" },
		{ "0301610005616263", "value longer than the message" },
		{ "03016100", "value length truncated" },
		{ "050001", "list item outside a list" },
		{ "040161", "list never closed" },
		{ "04016101016202", "section inside a list" },
		{ "0401610401620606", "nested list" },
		{ "06", "list end outside a list" },
		{ "03016100000301610000", "duplicate key" },
		{ "030261000000", "NUL in a name" },
	};
	uint8_t buf[64];
	struct vici_msg m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = unhex(bad[i].hex, buf);
		int r = vici_msg_parse(buf, n, &m, NULL);
		if (r == 0) {
			vici_msg_free(&m);
			fail_msg("accepted: %s", bad[i].why);
		}
		assert_int_equal(r, -EBADMSG);
	}
}

static void test_same_key_in_sibling_sections_accepted(void **state)
{
	/* a { x = "" } b { x = "" } : keys are unique per section, not per message */
	uint8_t buf[] = { 1, 1, 'a', 3, 1, 'x', 0, 0, 2, 1, 1, 'b', 3, 1, 'x', 0, 0, 2 };
	struct vici_msg m;

	assert_int_equal(vici_msg_parse(buf, sizeof(buf), &m, NULL), 0);
	assert_int_equal(m.count, 6);
	assert_int_not_equal(vici_msg_find(&m, 3, VICI_KEY_VALUE, "x"), SIZE_MAX);
	vici_msg_free(&m);
}

static void test_deep_nesting_rejected(void **state)
{
	uint8_t buf[4 * (VICI_DEPTH_MAX + 2) + 8];
	size_t n = 0;
	struct vici_msg m;

	for (int i = 0; i <= VICI_DEPTH_MAX; i++) {
		buf[n++] = VICI_SECTION_START;
		buf[n++] = 1;
		buf[n++] = 's';
	}
	for (int i = 0; i <= VICI_DEPTH_MAX; i++)
		buf[n++] = VICI_SECTION_END;
	assert_int_equal(vici_msg_parse(buf, n, &m, NULL), -EBADMSG);
}

static void test_packet_header_rejected(void **state)
{
	struct vici_packet p;
	uint8_t unknown_type[] = { 8 };
	uint8_t short_name[] = { VICI_CMD_REQUEST, 5, 'a', 'b' };
	uint8_t confirm_with_body[] = { VICI_EVENT_CONFIRM, 3 };

	assert_int_equal(vici_packet_parse(unknown_type, 1, &p), -EBADMSG);
	assert_int_equal(vici_packet_parse(short_name, sizeof(short_name), &p), -EBADMSG);
	assert_int_equal(vici_packet_parse(confirm_with_body, 2, &p), -EBADMSG);
	assert_int_equal(vici_packet_parse(short_name, 0, &p), -EBADMSG);
}

static void test_builder_errors(void **state)
{
	struct vici_builder b;
	const uint8_t *seg;
	size_t len;

	vici_builder_init(&b, VICI_CMD_REQUEST, "x");
	vici_builder_section_start(&b, "s");
	assert_int_equal(vici_builder_finish(&b, &seg, &len), -EINVAL);   /* unbalanced */
	vici_builder_clear(&b);
	vici_builder_init(&b, VICI_CMD_REQUEST, "x");
	vici_builder_list_item_str(&b, "a");                              /* item outside list */
	assert_int_equal(vici_builder_finish(&b, &seg, &len), -EINVAL);
	vici_builder_clear(&b);
	vici_builder_init(&b, VICI_CMD_REQUEST, "");                      /* empty command */
	assert_int_equal(vici_builder_finish(&b, &seg, &len), -EINVAL);
	vici_builder_clear(&b);
}

/* ---------------------------------------------------------------- fake charon */

struct fake {
	char path[108];
	int lfd;
	pthread_t th;
	const char *mode;   /* "ok", "fail", "unknown", "event-first", "garbage", "keys" */
	char last_cmd[64];
};

static int send_seg(int fd, const uint8_t *data, size_t len)
{
	uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
	return (write(fd, hdr, 4) == 4 && write(fd, data, len) == (ssize_t)len) ? 0 : -1;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL);
	uint8_t hdr[4], buf[4096];

	while (fd >= 0 && read(fd, hdr, 4) == 4) {
		size_t len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
		if (len > sizeof(buf) || read(fd, buf, len) != (ssize_t)len)
			break;
		snprintf(f->last_cmd, sizeof(f->last_cmd), "%.*s", buf[1], (const char *)buf + 2);
		if (!strcmp(f->mode, "unknown")) {
			uint8_t u = VICI_CMD_UNKNOWN;
			send_seg(fd, &u, 1);
		} else if (!strcmp(f->mode, "garbage")) {
			uint8_t g[] = { VICI_CMD_RESPONSE, 9, 9, 9 };
			send_seg(fd, g, sizeof(g));
		} else if (!strcmp(f->mode, "fail")) {
			uint8_t r[] = { 1, 3, 7, 's', 'u', 'c', 'c', 'e', 's', 's', 0, 2, 'n', 'o',
				3, 6, 'e', 'r', 'r', 'm', 's', 'g', 0, 4, 'o', 'o', 'p', 's' };
			send_seg(fd, r, sizeof(r));
		} else if (!strcmp(f->mode, "keys")) {
			uint8_t r[] = { 1, 4, 4, 'k', 'e', 'y', 's', 5, 0, 2, 'k', '1', 5, 0, 2, 'k', '2', 6 };
			send_seg(fd, r, sizeof(r));
		} else {
			if (!strcmp(f->mode, "event-first")) {
				uint8_t ev[] = { VICI_EVENT, 3, 'l', 'o', 'g', 3, 1, 'x', 0, 1, 'y' };
				send_seg(fd, ev, sizeof(ev));
			}
			uint8_t ok[] = { 1, 3, 7, 's', 'u', 'c', 'c', 'e', 's', 's', 0, 3, 'y', 'e', 's' };
			send_seg(fd, ok, sizeof(ok));
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void fake_start(struct fake *f, const char *mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/test_vici.XXXXXX";

	memset(f, 0, sizeof(*f));
	assert_non_null(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(f->path, sizeof(f->path), "%s/charon.vici", dir);
	strcpy(sa.sun_path, f->path);
	f->mode = mode;
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 1), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f, struct vici_conn *c)
{
	char dir[108];

	vici_close(c);
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->path);
	strcpy(dir, f->path);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
}

static void test_client_load_ppk(void **state)
{
	struct fake f;
	struct vici_conn *c;
	uint8_t key[32] = { 1 };
	char err[64];

	fake_start(&f, "event-first");    /* an unregistered event before the reply is skipped */
	assert_int_equal(vici_connect(f.path, 2000, &c), 0);
	assert_int_equal(vici_ppk_load(c, "dske-1", key, sizeof(key), "k1@link", err, sizeof(err)), 0);
	assert_string_equal(f.last_cmd, "load-shared");
	fake_stop(&f, c);
}

static void test_client_success_no(void **state)
{
	struct fake f;
	struct vici_conn *c;
	uint8_t key[32] = { 1 };
	char err[64];

	fake_start(&f, "fail");
	assert_int_equal(vici_connect(f.path, 2000, &c), 0);
	assert_int_equal(vici_ppk_load(c, "dske-1", key, sizeof(key), "k1@link", err, sizeof(err)),
	                 -EREMOTEIO);
	assert_string_equal(err, "oops");
	fake_stop(&f, c);
}

static void test_client_unknown_and_garbage(void **state)
{
	struct fake f;
	struct vici_conn *c;
	struct vici_reply rep;

	fake_start(&f, "unknown");
	assert_int_equal(vici_connect(f.path, 2000, &c), 0);
	assert_int_equal(vici_command(c, "no-such-command", &rep), -EOPNOTSUPP);
	fake_stop(&f, c);

	fake_start(&f, "garbage");
	assert_int_equal(vici_connect(f.path, 2000, &c), 0);
	assert_int_equal(vici_command(c, "version", &rep), -EBADMSG);
	fake_stop(&f, c);
}

static void test_client_get_shared(void **state)
{
	struct fake f;
	struct vici_conn *c;

	fake_start(&f, "keys");
	assert_int_equal(vici_connect(f.path, 2000, &c), 0);
	assert_int_equal(vici_shared_has(c, "k2"), 1);
	assert_int_equal(vici_shared_has(c, "k3"), 0);
	fake_stop(&f, c);
}

static void test_client_shared_list(void **state)
{
	char ids[4][VICI_SHARED_ID_MAX];
	struct fake f;
	struct vici_conn *c;
	size_t n = 9;

	fake_start(&f, "keys");
	assert_int_equal(vici_connect(f.path, 2000, &c), 0);
	assert_int_equal(vici_shared_list(c, "", ids, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], "k1");
	assert_string_equal(ids[1], "k2");
	assert_int_equal(vici_shared_list(c, "k2", ids, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "k2");
	assert_int_equal(vici_shared_list(c, "dske:", ids, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(vici_shared_list(c, "k", ids, 1, &n), 0);   /* at most max */
	assert_int_equal(n, 1);
	assert_string_equal(f.last_cmd, "get-shared");
	fake_stop(&f, c);
}

static void test_client_missing_socket(void **state)
{
	struct vici_conn *c;

	assert_int_equal(vici_connect("/nonexistent/charon.vici", 100, &c), -ENOENT);
}

static void test_client_permission_denied(void **state)
{
	struct vici_conn *c;
	struct fake f;
	pid_t pid;
	int status;

	fake_start(&f, "ok");
	chmod(f.path, 0700);               /* root only, as charon's srwxrwx--- root:root */
	pid = fork();
	if (pid == 0) {
		struct vici_conn *cc;
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(vici_connect(f.path, 100, &cc) == -EACCES ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(vici_connect(f.path, 100, &c), 0);   /* lets the fake's accept() return */
	fake_stop(&f, c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_load_shared_golden),
		cmocka_unit_test(test_decode_reply_golden),
		cmocka_unit_test(test_decode_request_golden),
		cmocka_unit_test(test_every_truncation_rejected),
		cmocka_unit_test(test_nonsense_rejected),
		cmocka_unit_test(test_same_key_in_sibling_sections_accepted),
		cmocka_unit_test(test_deep_nesting_rejected),
		cmocka_unit_test(test_packet_header_rejected),
		cmocka_unit_test(test_builder_errors),
		cmocka_unit_test(test_client_load_ppk),
		cmocka_unit_test(test_client_success_no),
		cmocka_unit_test(test_client_unknown_and_garbage),
		cmocka_unit_test(test_client_get_shared),
		cmocka_unit_test(test_client_shared_list),
		cmocka_unit_test(test_client_missing_socket),
		cmocka_unit_test(test_client_permission_denied),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
