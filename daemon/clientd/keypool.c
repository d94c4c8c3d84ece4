/* keypool.c — held keys in a sodium_malloc slab (see keypool.h). */
#include "clientd/keypool.h"
#include "clientd/secmem.h"

#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <search.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_MIN 32u
#define BITMAP_WORDS (KEYPOOL_CHUNK / SLOT_MIN / 64)

struct kp_chunk {
	uint8_t *mem;                 /* sodium_malloc(KEYPOOL_CHUNK) */
	uint32_t slot;                /* slot size (power of two, SLOT_MIN..KEYPOOL_KEY_MAX) */
	uint32_t nslots, used;
	uint64_t bitmap[BITMAP_WORDS];/* 1 = slot in use */
};

struct kp_entry {
	uint8_t key_id[DSKE_KEY_ID_LEN];
	uint16_t peer, init_sae, resp_sae, len;
	uint64_t expiry;
	uint8_t *slot;                /* NULL: tombstone (delivered) */
	uint32_t chunk;
	struct kp_entry *prev, *next; /* list of all entries (expiry scans) */
};

struct keypool {
	pthread_mutex_t lock;
	void *root;                   /* tsearch tree of struct kp_entry*, by key_id */
	struct kp_entry *head;
	struct kp_chunk **chunks;
	size_t nchunks;               /* slots in chunks[] (some NULL) */
	size_t chunks_live;
	unsigned npeers;
	size_t max_per_peer;
	size_t *per_peer;
	size_t held, tombstones;
	uint64_t delivered, expired;
};

static int cmp_id(const void *a, const void *b)
{
	return memcmp(((const struct kp_entry *)a)->key_id, ((const struct kp_entry *)b)->key_id,
	              DSKE_KEY_ID_LEN);
}

int keypool_new(unsigned npeers, size_t max_per_peer, struct keypool **ret)
{
	struct keypool *kp = calloc(1, sizeof(*kp));
	if (!kp)
		return -ENOMEM;
	kp->per_peer = calloc(npeers ? npeers : 1, sizeof(size_t));
	if (!kp->per_peer) {
		free(kp);
		return -ENOMEM;
	}
	pthread_mutex_init(&kp->lock, NULL);
	kp->npeers = npeers;
	kp->max_per_peer = max_per_peer;
	*ret = kp;
	return 0;
}

static void noop_free(void *p) { (void)p; }

void keypool_free(struct keypool *kp)
{
	if (!kp)
		return;
	tdestroy(kp->root, noop_free);
	for (struct kp_entry *e = kp->head, *n; e; e = n) {
		n = e->next;
		free(e);
	}
	for (size_t i = 0; i < kp->nchunks; i++)
		if (kp->chunks[i])
			sodium_free(kp->chunks[i]->mem);   /* sodium_free wipes */
	for (size_t i = 0; i < kp->nchunks; i++)
		free(kp->chunks[i]);
	free(kp->chunks);
	free(kp->per_peer);
	pthread_mutex_destroy(&kp->lock);
	free(kp);
}

static uint32_t slot_class(size_t len)
{
	uint32_t s = SLOT_MIN;
	while (s < len)
		s <<= 1;
	return s;
}

/* Allocate a slot of class cls: *ret_chunk, returns the pointer or NULL (-ENOMEM). */
static uint8_t *slab_alloc(struct keypool *kp, uint32_t cls, uint32_t *ret_chunk)
{
	struct kp_chunk *c = NULL;
	size_t ci, free_idx = SIZE_MAX;

	for (ci = 0; ci < kp->nchunks; ci++) {
		struct kp_chunk *x = kp->chunks[ci];
		if (!x) {
			if (free_idx == SIZE_MAX)
				free_idx = ci;
			continue;
		}
		if (x->slot == cls && x->used < x->nslots) {
			c = x;
			break;
		}
	}
	if (!c) {
		if (free_idx == SIZE_MAX) {
			struct kp_chunk **n = realloc(kp->chunks, (kp->nchunks + 8) * sizeof(*n));
			if (!n)
				return NULL;
			memset(n + kp->nchunks, 0, 8 * sizeof(*n));
			kp->chunks = n;
			free_idx = kp->nchunks;
			kp->nchunks += 8;
		}
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		c->mem = sodium_malloc(KEYPOOL_CHUNK);
		if (!c->mem) {
			free(c);
			return NULL;
		}
		c->slot = cls;
		c->nslots = KEYPOOL_CHUNK / cls;
		kp->chunks[free_idx] = c;
		kp->chunks_live++;
		ci = free_idx;
	}
	for (uint32_t w = 0; w < (c->nslots + 63) / 64; w++) {
		if (c->bitmap[w] == UINT64_MAX)
			continue;
		uint32_t b = (uint32_t)__builtin_ctzll(~c->bitmap[w]);
		uint32_t s = w * 64 + b;
		if (s >= c->nslots)
			break;
		c->bitmap[w] |= 1ull << b;
		c->used++;
		*ret_chunk = (uint32_t)ci;
		return c->mem + (size_t)s * c->slot;
	}
	return NULL;   /* not reached: used < nslots */
}

static void slab_free(struct keypool *kp, uint32_t ci, uint8_t *p)
{
	struct kp_chunk *c = kp->chunks[ci];
	uint32_t s = (uint32_t)((size_t)(p - c->mem) / c->slot);

	sodium_memzero(p, c->slot);
	c->bitmap[s / 64] &= ~(1ull << (s % 64));
	if (--c->used == 0) {
		/* keep one empty chunk per size class: a pool that is emptied and refilled all the
		 * time (keys taken as soon as they arrive) does not map and unmap a chunk per key */
		bool other_empty = false;
		for (size_t i = 0; i < kp->nchunks; i++)
			if (i != ci && kp->chunks[i] && kp->chunks[i]->slot == c->slot && !kp->chunks[i]->used)
				other_empty = true;
		if (!other_empty)
			return;
		sodium_free(c->mem);
		free(c);
		kp->chunks[ci] = NULL;
		kp->chunks_live--;
	}
}

static struct kp_entry *lookup(struct keypool *kp, const uint8_t id[DSKE_KEY_ID_LEN])
{
	struct kp_entry k;
	memcpy(k.key_id, id, DSKE_KEY_ID_LEN);
	void *r = tfind(&k, &kp->root, cmp_id);
	return r ? *(struct kp_entry **)r : NULL;
}

static void list_unlink(struct keypool *kp, struct kp_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		kp->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
}

/* Wipe the key of e and make e a tombstone. */
static void entry_wipe(struct keypool *kp, struct kp_entry *e)
{
	if (!e->slot)
		return;
	slab_free(kp, e->chunk, e->slot);
	e->slot = NULL;
	kp->held--;
	kp->per_peer[e->peer]--;
}

static void entry_remove(struct keypool *kp, struct kp_entry *e)
{
	if (e->slot)
		entry_wipe(kp, e);
	else
		kp->tombstones--;
	tdelete(e, &kp->root, cmp_id);
	list_unlink(kp, e);
	free(e);
}

int keypool_put(struct keypool *kp, const struct kp_meta *m, const uint8_t *key, size_t len)
{
	struct kp_entry *e = NULL;
	int r;

	if (!len || len > KEYPOOL_KEY_MAX || m->peer >= kp->npeers)
		return -EINVAL;
	pthread_mutex_lock(&kp->lock);
	if (lookup(kp, m->key_id)) {
		r = -EEXIST;
		goto out;
	}
	if (kp->per_peer[m->peer] >= kp->max_per_peer) {
		r = -ENOSPC;
		goto out;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(e->key_id, m->key_id, DSKE_KEY_ID_LEN);
	e->peer = m->peer;
	e->init_sae = m->init_sae;
	e->resp_sae = m->resp_sae;
	e->len = (uint16_t)len;
	e->expiry = m->expiry;
	e->slot = slab_alloc(kp, slot_class(len), &e->chunk);
	if (!e->slot) {
		r = -ENOMEM;
		goto out;
	}
	if (!tsearch(e, &kp->root, cmp_id)) {
		slab_free(kp, e->chunk, e->slot);
		r = -ENOMEM;
		goto out;
	}
	memcpy(e->slot, key, len);
	e->next = kp->head;
	if (kp->head)
		kp->head->prev = e;
	kp->head = e;
	kp->held++;
	kp->per_peer[m->peer]++;
	e = NULL;
	r = 0;
out:
	pthread_mutex_unlock(&kp->lock);
	free(e);
	return r;
}

int keysvc_batch_new(size_t count, size_t total_bytes, struct keysvc_batch **ret)
{
	struct keysvc_batch *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->keys = calloc(count ? count : 1, sizeof(*b->keys));
	/* one guarded block for all key bytes; keys[0].key is its start */
	uint8_t *mem = secmem_alloc(total_bytes ? total_bytes : 1);
	if (!b->keys || !mem) {
		free(b->keys);
		free(b);
		secmem_free(mem);
		return -ENOMEM;
	}
	b->count = count;
	if (count)
		b->keys[0].key = mem;
	else
		secmem_free(mem);
	*ret = b;
	return 0;
}

void keysvc_batch_free(struct keysvc_batch *b)
{
	if (!b)
		return;
	if (b->count && b->keys[0].key)
		secmem_free(b->keys[0].key);   /* wipes */
	free(b->keys);
	free(b);
}

int keypool_take(struct keypool *kp, const uint8_t (*ids)[DSKE_KEY_ID_LEN], size_t count,
                 unsigned peer, unsigned init_sae, unsigned resp_sae, uint64_t now,
                 struct keysvc_batch **ret)
{
	struct kp_entry **es = NULL;
	struct keysvc_batch *b = NULL;
	size_t total = 0;
	int r = 0;

	if (!count)
		return -EINVAL;
	es = calloc(count, sizeof(*es));
	if (!es)
		return -ENOMEM;
	pthread_mutex_lock(&kp->lock);
	/* check all first: a key held for another slave is -EACCES, whatever else is wrong */
	for (size_t i = 0; i < count; i++) {
		struct kp_entry *e = lookup(kp, ids[i]);
		if (e && e->slot && e->expiry > now && e->resp_sae != resp_sae) {
			r = -EACCES;
			goto out;
		}
		if (!e || !e->slot || e->expiry <= now || e->peer != peer || e->init_sae != init_sae)
			r = -ENOENT;
		for (size_t j = 0; j < i; j++)
			if (es[j] == e)
				r = -ENOENT;   /* the same ID twice */
		es[i] = e;
		if (e && e->slot)
			total += e->len;
	}
	if (r < 0)
		goto out;
	r = keysvc_batch_new(count, total, &b);
	if (r < 0)
		goto out;
	uint8_t *p = b->keys[0].key;
	for (size_t i = 0; i < count; i++) {
		struct kp_entry *e = es[i];
		memcpy(b->keys[i].key_id, e->key_id, DSKE_KEY_ID_LEN);
		b->keys[i].key = p;
		b->keys[i].len = e->len;
		memcpy(p, e->slot, e->len);
		p += e->len;
		entry_wipe(kp, e);
		kp->tombstones++;
		kp->delivered++;
	}
	*ret = b;
	b = NULL;
out:
	pthread_mutex_unlock(&kp->lock);
	free(es);
	keysvc_batch_free(b);
	return r;
}

bool keypool_has(struct keypool *kp, const uint8_t id[DSKE_KEY_ID_LEN], uint64_t now)
{
	pthread_mutex_lock(&kp->lock);
	struct kp_entry *e = lookup(kp, id);
	bool r = e && e->slot && e->expiry > now;
	pthread_mutex_unlock(&kp->lock);
	return r;
}

int keypool_meta(struct keypool *kp, const uint8_t id[DSKE_KEY_ID_LEN], uint64_t now,
                 struct kp_meta *ret)
{
	int r = -ENOENT;

	pthread_mutex_lock(&kp->lock);
	struct kp_entry *e = lookup(kp, id);
	if (e && e->slot && e->expiry > now) {
		memcpy(ret->key_id, e->key_id, DSKE_KEY_ID_LEN);
		ret->peer = e->peer;
		ret->init_sae = e->init_sae;
		ret->resp_sae = e->resp_sae;
		ret->expiry = e->expiry;
		r = 0;
	}
	pthread_mutex_unlock(&kp->lock);
	return r;
}

bool keypool_was_delivered(struct keypool *kp, const uint8_t id[DSKE_KEY_ID_LEN])
{
	pthread_mutex_lock(&kp->lock);
	struct kp_entry *e = lookup(kp, id);
	bool r = e && !e->slot;
	pthread_mutex_unlock(&kp->lock);
	return r;
}

size_t keypool_expire(struct keypool *kp, uint64_t now)
{
	size_t n = 0;
	pthread_mutex_lock(&kp->lock);
	for (struct kp_entry *e = kp->head, *next; e; e = next) {
		next = e->next;
		if (e->expiry > now)
			continue;
		if (e->slot) {
			n++;
			kp->expired++;
		}
		entry_remove(kp, e);
	}
	pthread_mutex_unlock(&kp->lock);
	return n;
}

size_t keypool_count_peer(struct keypool *kp, unsigned peer)
{
	pthread_mutex_lock(&kp->lock);
	size_t n = peer < kp->npeers ? kp->per_peer[peer] : 0;
	pthread_mutex_unlock(&kp->lock);
	return n;
}

size_t keypool_count_pair(struct keypool *kp, unsigned peer, int init_sae, unsigned resp_sae)
{
	size_t n = 0;
	pthread_mutex_lock(&kp->lock);
	for (struct kp_entry *e = kp->head; e; e = e->next)
		if (e->slot && e->peer == peer && e->resp_sae == resp_sae &&
		    (init_sae < 0 || e->init_sae == init_sae))
			n++;
	pthread_mutex_unlock(&kp->lock);
	return n;
}

void keypool_stats(struct keypool *kp, struct kp_stats *ret)
{
	pthread_mutex_lock(&kp->lock);
	ret->held = kp->held;
	ret->tombstones = kp->tombstones;
	ret->chunks = kp->chunks_live;
	ret->delivered = kp->delivered;
	ret->expired = kp->expired;
	pthread_mutex_unlock(&kp->lock);
}
