/* test_secmem — cached guarded buffers: reuse within a size class, wiped on release, large
 * blocks straight from sodium_malloc, bounded cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <string.h>

#include "clientd/secmem.h"

static void test_reuse_and_wipe(void **state)
{
	uint8_t zero[1000] = { 0 };
	uint8_t *a = secmem_alloc(1000);
	assert_non_null(a);
	memset(a, 0xab, 1000);
	secmem_free(a);
	/* the same class gives the cached block back, wiped */
	uint8_t *b = secmem_alloc(700);
	assert_ptr_equal(a, b);
	assert_memory_equal(b, zero, 1000);
	/* another class: another block */
	uint8_t *c = secmem_alloc(5000);
	assert_non_null(c);
	assert_ptr_not_equal(b, c);
	memset(c, 1, 5000);
	secmem_free(b);
	secmem_free(c);
	secmem_free(NULL);
	/* large: not cached, still usable */
	uint8_t *d = secmem_alloc(1u << 20);
	assert_non_null(d);
	memset(d, 2, 1u << 20);
	secmem_free(d);
	secmem_drain();
}

static void test_many(void **state)
{
	void *p[200];
	for (int i = 0; i < 200; i++) {
		p[i] = secmem_alloc(256);
		assert_non_null(p[i]);
		memset(p[i], i, 256);
	}
	for (int i = 0; i < 200; i++)
		secmem_free(p[i]);    /* at most the cache bound is kept, the rest freed */
	secmem_drain();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reuse_and_wipe),
		cmocka_unit_test(test_many),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
