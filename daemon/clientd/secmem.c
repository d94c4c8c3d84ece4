/* secmem.c — cached sodium_malloc blocks (see secmem.h). Each block has a 16-byte header holding
 * its usable size; the caller's pointer follows it. */
#include "clientd/secmem.h"

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#define HDR 16
static const size_t class_size[] = { 256, 1024, 2048, 8192, 32768, 131072 };
#define NCLASS (sizeof(class_size) / sizeof(class_size[0]))
#define CACHE_BYTES (256u * 1024)     /* kept per class */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *cache[NCLASS][64];
static unsigned ncache[NCLASS];

static int class_of(size_t n)
{
	for (unsigned c = 0; c < NCLASS; c++)
		if (n <= class_size[c])
			return (int)c;
	return -1;
}

static unsigned cache_cap(unsigned c)
{
	size_t cap = CACHE_BYTES / class_size[c];
	if (cap < 4)
		cap = 4;
	return cap > 64 ? 64 : (unsigned)cap;
}

void *secmem_alloc(size_t n)
{
	int c = class_of(n);
	size_t usable = c >= 0 ? class_size[c] : n;
	uint8_t *b = NULL;

	if (c >= 0) {
		pthread_mutex_lock(&lock);
		if (ncache[c])
			b = cache[c][--ncache[c]];
		pthread_mutex_unlock(&lock);
	}
	if (!b) {
		if (usable > SIZE_MAX - HDR)
			return NULL;
		b = sodium_malloc(usable + HDR);
		if (!b)
			return NULL;
		memcpy(b, &usable, sizeof(usable));
	}
	return b + HDR;
}

void secmem_free(void *p)
{
	uint8_t *b;
	size_t usable;
	int c;

	if (!p)
		return;
	b = (uint8_t *)p - HDR;
	memcpy(&usable, b, sizeof(usable));
	sodium_memzero(p, usable);
	c = class_of(usable);
	if (c >= 0 && class_size[c] == usable) {
		pthread_mutex_lock(&lock);
		if (ncache[c] < cache_cap((unsigned)c)) {
			cache[c][ncache[c]++] = b;
			b = NULL;
		}
		pthread_mutex_unlock(&lock);
	}
	if (b)
		sodium_free(b);
}

void secmem_drain(void)
{
	pthread_mutex_lock(&lock);
	for (unsigned c = 0; c < NCLASS; c++)
		while (ncache[c])
			sodium_free(cache[c][--ncache[c]]);
	pthread_mutex_unlock(&lock);
}
