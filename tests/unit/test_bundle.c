/* test_bundle.c — PROVISION bundles: format/parse round trip, both halves with one checksum,
 * checksum mismatch and truncation detected, each header line malformed refused with its line
 * number, files written 0600 and never overwritten. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>
#include "core/bundle.h"

static uint8_t c2h[100], h2c[50];

static struct bundle bundle_sample(enum bundle_role role)
{
	struct bundle b;

	memset(&b, 0, sizeof(b));
	b.role = role;
	strcpy(b.hub, "hub1");
	b.hub_index = 3;
	strcpy(b.hub_url, "http://127.0.0.1:7001");
	strcpy(b.client, "client1");
	b.sae_count = 2;
	strcpy(b.saes[0], "client1_sae1");
	strcpy(b.saes[1], "ppk@client1");
	b.block_id = 2;
	b.c2h_start = 4096;
	b.c2h_len = sizeof(c2h);
	b.h2c_start = 8192;
	b.h2c_len = sizeof(h2c);
	strcpy(b.source, "getrandom (libsodium, computational)");
	b.created = 1700000000;
	b.c2h = c2h;
	b.h2c = h2c;
	return b;
}

static uint8_t *sample_buf(size_t *len)
{
	struct bundle b = bundle_sample(BUNDLE_FOR_HUB);
	uint8_t *buf;

	assert_int_equal(bundle_format(&b, &buf, len), 0);
	return buf;
}

/* parse a private copy of exactly len bytes (ASan sees over-reads); returns the error */
static int parse_copy(const uint8_t *buf, size_t len, struct bundle *out, unsigned *line)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct bundle b;
	int r;

	memcpy(copy, buf, len);
	r = bundle_parse(copy, len, out ? out : &b, line);
	free(copy);
	return r;
}

static void test_round_trip(void **state)
{
	struct bundle hub = bundle_sample(BUNDLE_FOR_HUB), client = bundle_sample(BUNDLE_FOR_CLIENT), p;
	uint8_t *hbuf, *cbuf, want[32];
	size_t hlen, clen;
	unsigned line = 99;
	char hex[65];
	crypto_generichash_state st;

	assert_int_equal(bundle_format(&hub, &hbuf, &hlen), 0);
	assert_int_equal(bundle_format(&client, &cbuf, &clen), 0);
	/* the checksum is BLAKE2b-256 over c2h then h2c, the same in both halves */
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, c2h, sizeof(c2h));
	crypto_generichash_update(&st, h2c, sizeof(h2c));
	crypto_generichash_final(&st, want, 32);
	assert_memory_equal(hub.checksum, want, 32);
	assert_memory_equal(client.checksum, want, 32);
	/* the data is the tail of the file: c2h then h2c */
	assert_memory_equal(hbuf + hlen - 150, c2h, 100);
	assert_memory_equal(hbuf + hlen - 50, h2c, 50);
	assert_non_null(memmem(hbuf, hlen, "\nrole: hub\n", 11));
	assert_non_null(memmem(cbuf, clen, "\nrole: client\n", 14));

	assert_int_equal(bundle_parse(hbuf, hlen, &p, &line), 0);
	assert_int_equal(line, 99);
	assert_int_equal(p.role, BUNDLE_FOR_HUB);
	assert_string_equal(p.hub, "hub1");
	assert_int_equal(p.hub_index, 3);
	assert_string_equal(p.hub_url, "http://127.0.0.1:7001");
	assert_string_equal(p.client, "client1");
	assert_int_equal(p.sae_count, 2);
	assert_string_equal(p.saes[0], "client1_sae1");
	assert_string_equal(p.saes[1], "ppk@client1");
	assert_int_equal(p.block_id, 2);
	assert_true(p.c2h_start == 4096 && p.c2h_len == 100);
	assert_true(p.h2c_start == 8192 && p.h2c_len == 50);
	assert_string_equal(p.source, "getrandom (libsodium, computational)");
	assert_true(p.created == 1700000000);
	assert_memory_equal(p.checksum, want, 32);
	assert_ptr_equal(p.c2h, hbuf + hlen - 150);
	assert_ptr_equal(p.h2c, hbuf + hlen - 50);
	bundle_checksum_hex(&p, hex);
	assert_int_equal(strlen(hex), 64);
	assert_non_null(memmem(hbuf, hlen, hex, 64));

	assert_int_equal(bundle_parse(cbuf, clen, &p, &line), 0);
	assert_int_equal(p.role, BUNDLE_FOR_CLIENT);
	assert_memory_equal(p.checksum, want, 32);
	free(hbuf);
	free(cbuf);
}

static void test_checksum_mismatch(void **state)
{
	size_t len;
	uint8_t *buf = sample_buf(&len);
	unsigned line = 99;
	char *sum;

	buf[len - 1] ^= 1;                               /* last h2c byte */
	assert_int_equal(parse_copy(buf, len, NULL, &line), -EBADMSG);
	assert_int_equal(line, 0);
	buf[len - 1] ^= 1;
	buf[len - 150] ^= 0x80;                          /* first c2h byte */
	line = 99;
	assert_int_equal(parse_copy(buf, len, NULL, &line), -EBADMSG);
	assert_int_equal(line, 0);
	buf[len - 150] ^= 0x80;
	assert_int_equal(parse_copy(buf, len, NULL, &line), 0);
	/* a well-formed but wrong checksum */
	sum = (char *)memmem(buf, len, "blake2b-256:", 12) + 12;
	*sum = *sum == '0' ? '1' : '0';
	line = 99;
	assert_int_equal(parse_copy(buf, len, NULL, &line), -EBADMSG);
	assert_int_equal(line, 0);
	free(buf);
}

static void test_truncation(void **state)
{
	size_t len;
	uint8_t *buf = sample_buf(&len), *ext;
	unsigned line;

	for (size_t n = 0; n < len; n++) {
		line = 99;
		if (parse_copy(buf, n, NULL, &line) != -EBADMSG)
			fail_msg("bundle truncated to %zu of %zu bytes accepted", n, len);
		assert_true(line <= 16);
		if (n >= len - 150)
			assert_int_equal(line, 0);   /* header complete: the data is at fault */
	}
	ext = malloc(len + 1);
	memcpy(ext, buf, len);
	ext[len] = 0;
	line = 99;
	assert_int_equal(parse_copy(ext, len + 1, NULL, &line), -EBADMSG);
	assert_int_equal(line, 0);
	free(ext);
	free(buf);
}

/* the sample with header line `no` (1-based) replaced by `text` */
static uint8_t *with_line(const char *text, unsigned no, size_t *ret_len)
{
	size_t len, start = 0, end, tl = strlen(text), out_len;
	uint8_t *buf = sample_buf(&len), *out;

	for (unsigned i = 1; i < no; i++)
		start = (size_t)((uint8_t *)memchr(buf + start, '\n', len - start) - buf) + 1;
	end = (size_t)((uint8_t *)memchr(buf + start, '\n', len - start) - buf);
	out_len = len - (end - start) + tl;
	out = malloc(out_len);
	memcpy(out, buf, start);
	memcpy(out + start, text, tl);
	memcpy(out + start + tl, buf + end, len - end);
	free(buf);
	*ret_len = out_len;
	return out;
}

static void test_header_fields(void **state)
{
	static const struct { unsigned line; const char *text; } bad[] = {
		{ 1, "DSKE-PROVISION 2" }, { 1, "DSKE-PROVISION 1 " }, { 1, "" },
		{ 2, "role: both" }, { 2, "role:hub" }, { 2, "Role: hub" }, { 2, "role: hub\r" },
		{ 2, "hub: hub1" },                                  /* a line missing: order matters */
		{ 3, "hub: Hub1" }, { 3, "hub: " }, { 3, "hub: hub 1" }, { 3, "hub:  hub1" },
		{ 4, "hub-index: 0" }, { 4, "hub-index: 256" }, { 4, "hub-index: 03" },
		{ 4, "hub-index: -1" }, { 4, "hub-index: 1x" }, { 4, "hub-index: " },
		{ 5, "hub-url: ftp://127.0.0.1" }, { 5, "hub-url: http://" }, { 5, "hub-url: http://a b" },
		{ 5, "hub-url: http://a\tb" },
		{ 6, "client: c/1" }, { 6, "client: " },
		{ 7, "saes: " }, { 7, "saes: a  b" }, { 7, "saes: a a" }, { 7, "saes: a/b" },
		{ 7, "saes:  a" }, { 7, "saes: a " },
		{ 8, "block-id: 0" }, { 8, "block-id: 4294967296" },
		{ 9, "c2h-start: x" }, { 9, "c2h-start: 18446744073709551616" },
		{ 10, "c2h-length: 0" },
		{ 11, "h2c-start: +1" },
		{ 12, "h2c-length: 5000000000" },
		{ 13, "source: " }, { 13, "source:  x" }, { 13, "source: x " },
		{ 14, "created: 1.5" },
		{ 15, "checksum: sha256:00" }, { 15, "checksum: blake2b-256:00" },
		{ 16, "x" },
	};
	char saes33[40 * 33] = "saes:";
	unsigned line;
	size_t len;
	uint8_t *buf;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf = with_line(bad[i].text, bad[i].line, &len);
		line = 99;
		if (parse_copy(buf, len, NULL, &line) != -EBADMSG || line != bad[i].line)
			fail_msg("line %u \"%s\": got line %u", bad[i].line, bad[i].text, line);
		free(buf);
	}
	/* upper-case hex is a second spelling: refused */
	buf = sample_buf(&len);
	for (char *p = (char *)memmem(buf, len, "blake2b-256:", 12) + 12; *p != '\n'; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	line = 99;
	assert_int_equal(parse_copy(buf, len, NULL, &line), -EBADMSG);
	assert_int_equal(line, 15);
	free(buf);
	/* 33 SAE IDs: one too many */
	for (int i = 0; i < 33; i++)
		sprintf(saes33 + strlen(saes33), " s%d", i);
	buf = with_line(saes33, 7, &len);
	assert_int_equal(parse_copy(buf, len, NULL, &line), -EBADMSG);
	assert_int_equal(line, 7);
	free(buf);
	/* a start that would overflow with its length: the length line is at fault */
	buf = with_line("h2c-start: 18446744073709551615", 11, &len);
	assert_int_equal(parse_copy(buf, len, NULL, &line), -EBADMSG);
	assert_int_equal(line, 12);
	free(buf);
	/* a length that does not match the data: the data is at fault */
	buf = with_line("c2h-length: 101", 10, &len);
	assert_int_equal(parse_copy(buf, len, NULL, &line), -EBADMSG);
	assert_int_equal(line, 0);
	free(buf);
	/* controls: well-formed replacements are accepted */
	buf = with_line("source: /dev/hwrng", 13, &len);
	assert_int_equal(parse_copy(buf, len, NULL, &line), 0);
	free(buf);
	buf = with_line("hub-url: https://hub1.example:7001/x", 5, &len);
	assert_int_equal(parse_copy(buf, len, NULL, &line), 0);
	free(buf);
}

static void test_format_invalid(void **state)
{
	struct bundle b;
	uint8_t *buf = (uint8_t *)"untouched";
	size_t len = 7;

	b = bundle_sample(BUNDLE_FOR_HUB);
	strcpy(b.hub, "Hub1");
	assert_int_equal(bundle_format(&b, &buf, &len), -EINVAL);
	b = bundle_sample(BUNDLE_FOR_HUB);
	b.hub_index = 0;
	assert_int_equal(bundle_format(&b, &buf, &len), -EINVAL);
	b = bundle_sample(BUNDLE_FOR_HUB);
	b.sae_count = 0;
	assert_int_equal(bundle_format(&b, &buf, &len), -EINVAL);
	b = bundle_sample(BUNDLE_FOR_HUB);
	strcpy(b.saes[1], b.saes[0]);
	assert_int_equal(bundle_format(&b, &buf, &len), -EINVAL);
	b = bundle_sample(BUNDLE_FOR_HUB);
	strcpy(b.hub_url, "127.0.0.1:7001");
	assert_int_equal(bundle_format(&b, &buf, &len), -EINVAL);
	b = bundle_sample(BUNDLE_FOR_HUB);
	b.block_id = 0;
	assert_int_equal(bundle_format(&b, &buf, &len), -EINVAL);
	b = bundle_sample(BUNDLE_FOR_HUB);
	b.h2c = NULL;
	assert_int_equal(bundle_format(&b, &buf, &len), -EINVAL);
	b = bundle_sample(BUNDLE_FOR_HUB);
	b.c2h_len = 0;
	assert_int_equal(bundle_format(&b, &buf, &len), -EINVAL);
	b = bundle_sample(BUNDLE_FOR_HUB);
	b.source[0] = '\0';
	assert_int_equal(bundle_format(&b, &buf, &len), -EINVAL);
	assert_string_equal((char *)buf, "untouched");
	assert_int_equal(len, 7);
}

static void test_files(void **state)
{
	char dir[] = "/tmp/test_bundle.XXXXXX", path[256], link[256];
	uint8_t *buf, *back;
	size_t len, blen;
	struct stat st;
	mode_t old = umask(0);

	assert_non_null(mkdtemp(dir));
	buf = sample_buf(&len);
	snprintf(path, sizeof(path), "%s/a.bundle", dir);
	assert_int_equal(bundle_write_file(path, buf, len), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, len);
	assert_int_equal(bundle_read_file(path, &back, &blen), 0);
	assert_int_equal(blen, len);
	assert_memory_equal(back, buf, len);
	free(back);
	/* never overwrite: EEXIST and the file unchanged */
	assert_int_equal(bundle_write_file(path, (const uint8_t *)"x", 1), -EEXIST);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, len);
	/* not through a symlink either (dangling: O_EXCL refuses it, nothing created at its target) */
	snprintf(link, sizeof(link), "%s/link.bundle", dir);
	assert_int_equal(symlink("/tmp/test_bundle-target-must-not-exist", link), 0);
	assert_int_equal(bundle_write_file(link, buf, len), -EEXIST);
	assert_int_equal(access("/tmp/test_bundle-target-must-not-exist", F_OK), -1);
	/* a missing directory, a directory as input */
	snprintf(path, sizeof(path), "%s/missing/b.bundle", dir);
	assert_int_equal(bundle_write_file(path, buf, len), -ENOENT);
	assert_int_equal(bundle_read_file(dir, &back, &blen), -EISDIR);
	snprintf(path, sizeof(path), "%s/none.bundle", dir);
	assert_int_equal(bundle_read_file(path, &back, &blen), -ENOENT);
	/* umask 077 does not change the mode either */
	umask(077);
	snprintf(path, sizeof(path), "%s/c.bundle", dir);
	assert_int_equal(bundle_write_file(path, buf, len), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	umask(old);
	free(buf);
	unlink(link);
	snprintf(path, sizeof(path), "%s/a.bundle", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/c.bundle", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_checksum_mismatch),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_format_invalid),
		cmocka_unit_test(test_files),
	};

	if (sodium_init() < 0)
		return 1;
	for (size_t i = 0; i < sizeof(c2h); i++)
		c2h[i] = (uint8_t)(i * 3 + 1);
	for (size_t i = 0; i < sizeof(h2c); i++)
		h2c[i] = (uint8_t)(i * 5 + 2);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
