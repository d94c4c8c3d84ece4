/* scratch.c — see scratch.h */
#include <pthread.h>
#include <stdlib.h>
#include <sodium.h>
#include "core/scratch.h"

#define SCRATCH_MIN 4096

struct scratch_area {
	uint8_t *p[SCRATCH_SLOTS];
	size_t cap[SCRATCH_SLOTS];
};

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static __thread struct scratch_area *scratch_mine;

static void scratch_area_free(void *arg)
{
	struct scratch_area *a = arg;

	for (int i = 0; i < SCRATCH_SLOTS; i++)
		sodium_free(a->p[i]);          /* zeroes before unmapping; NULL-safe */
	free(a);
}

static void scratch_key_create(void)
{
	(void)pthread_key_create(&scratch_key, scratch_area_free);
}

uint8_t *scratch_get(enum scratch_slot slot, size_t len)
{
	struct scratch_area *a = scratch_mine;
	size_t cap;

	if (!a) {
		if (sodium_init() < 0 || pthread_once(&scratch_once, scratch_key_create) != 0)
			return NULL;
		a = calloc(1, sizeof(*a));
		if (!a)
			return NULL;
		if (pthread_setspecific(scratch_key, a) != 0) {
			free(a);
			return NULL;
		}
		scratch_mine = a;
	}
	if (len <= a->cap[slot])
		return a->p[slot];
	cap = len < SCRATCH_MIN ? SCRATCH_MIN : len;
	sodium_free(a->p[slot]);
	a->cap[slot] = 0;
	a->p[slot] = sodium_malloc(cap);
	if (!a->p[slot])
		return NULL;
	a->cap[slot] = cap;
	return a->p[slot];
}

void scratch_put(enum scratch_slot slot, uint8_t *p, size_t len)
{
	(void)slot;
	if (p)
		sodium_memzero(p, len);
}
