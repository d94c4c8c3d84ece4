/* test_rng.c — rng: default source, raw bytes from a file source (exact bytes, in order),
 * end of file is an error with the buffer wiped, bad paths refused, back to default. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/rng.h"

static void test_default(void **state)
{
	uint8_t a[64] = { 0 }, b[64] = { 0 }, zero[64] = { 0 };

	assert_int_equal(rng_set_source(NULL), 0);
	assert_string_equal(rng_source_name(), "getrandom (libsodium, computational)");
	assert_int_equal(rng_bytes(a, sizeof(a)), 0);
	assert_int_equal(rng_bytes(b, sizeof(b)), 0);
	/* 2^-512 chance of a false failure */
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(rng_bytes(NULL, 0), 0);
	assert_int_equal(rng_bytes(NULL, 1), -EINVAL);
}

static void test_file_source(void **state)
{
	char path[] = "/tmp/test_rng.XXXXXX";
	uint8_t data[100], got[60], rest[40], more[10];
	int fd;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	close(fd);

	assert_int_equal(rng_set_source(path), 0);
	assert_string_equal(rng_source_name(), path);
	assert_int_equal(rng_bytes(got, sizeof(got)), 0);
	assert_memory_equal(got, data, sizeof(got));
	assert_int_equal(rng_bytes(rest, sizeof(rest)), 0);
	assert_memory_equal(rest, data + sizeof(got), sizeof(rest));
	memset(more, 0xaa, sizeof(more));
	assert_int_equal(rng_bytes(more, sizeof(more)), -EIO);   /* exhausted: no fallback */
	for (size_t i = 0; i < sizeof(more); i++)
		assert_int_equal(more[i], 0);                      /* wiped, not half-filled */
	/* reopening starts from the beginning again */
	assert_int_equal(rng_set_source(path), 0);
	assert_int_equal(rng_bytes(got, 10), 0);
	assert_memory_equal(got, data, 10);
	unlink(path);

	assert_int_equal(rng_set_source(NULL), 0);
	assert_string_equal(rng_source_name(), "getrandom (libsodium, computational)");
	assert_int_equal(rng_bytes(got, sizeof(got)), 0);
}

static void test_bad_sources(void **state)
{
	assert_int_equal(rng_set_source("/nonexistent/dske-rng"), -ENOENT);
	assert_int_equal(rng_set_source("/tmp"), -EISDIR);
	assert_int_equal(rng_set_source(""), -EINVAL);
	/* a failed switch keeps the previous source */
	assert_string_equal(rng_source_name(), "getrandom (libsodium, computational)");
	assert_int_equal(rng_set_source("/dev/urandom"), 0);
	assert_string_equal(rng_source_name(), "/dev/urandom");
	assert_int_equal(rng_set_source(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_file_source),
		cmocka_unit_test(test_bad_sources),
	};

	if (rng_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("rng", tests, NULL, NULL);
}
