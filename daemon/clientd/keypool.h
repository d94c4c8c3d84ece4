/* keypool.h — keys the responder rebuilt, held until their slave SAE (or sink) takes them.
 *
 * Key bytes live in a slab of sodium_malloc'd chunks (guarded, locked memory; one chunk holds
 * many keys of one size class, so there is no guard page per key), are copied out once and wiped
 * at once. Each key is delivered once: taking it leaves a tombstone (no bytes) until the key's
 * expiry, so the same key ID can never be held or delivered again. A bound on keys held per peer
 * (initiator KME) refuses more. Expired keys are wiped by keypool_expire().
 * Metadata (IDs as small indexes into the configuration) is plain memory. Thread-safe (one
 * mutex). No logging. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/names.h"
#include "clientd/keysvc.h"

#define KEYPOOL_KEY_MAX 1024          /* bytes */
#define KEYPOOL_CHUNK (64u * 1024)     /* bytes of key slots per sodium_malloc chunk */

struct keypool;

struct kp_meta {
	uint8_t key_id[DSKE_KEY_ID_LEN];
	uint16_t peer;                     /* initiator KME: index of the peer in the configuration */
	uint16_t init_sae;                 /* master SAE: index in that peer's SAE list */
	uint16_t resp_sae;                 /* slave SAE: index of the local SAE */
	uint64_t expiry;                   /* unix seconds */
};

struct kp_stats {
	size_t held;                       /* keys held */
	size_t tombstones;                 /* delivered keys remembered until expiry */
	size_t chunks;                     /* sodium_malloc chunks mapped (one empty per class kept) */
	uint64_t delivered, expired;       /* totals */
};

/* npeers: peers in the configuration; max_per_peer: keys held per peer. *ret: keypool_free(). */
int keypool_new(unsigned npeers, size_t max_per_peer, struct keypool **ret);
void keypool_free(struct keypool *kp);        /* wipes every key; NULL-safe */

/* Hold a copy of key[len] (1..KEYPOOL_KEY_MAX). 0, -EEXIST (held or already delivered),
 * -ENOSPC (the peer's bound), -EINVAL (len, peer index), -ENOMEM. */
int keypool_put(struct keypool *kp, const struct kp_meta *m, const uint8_t *key, size_t len);

/* Deliver keys ids[count] to slave SAE resp_sae for master (peer, init_sae): all or nothing.
 * 0 and *ret (keysvc_batch_free), the keys removed (tombstones left); -EACCES a key is held for
 * another slave SAE; -ENOENT a key is missing, expired, already delivered or made by another
 * master; -ENOMEM. Nothing changes on error. now = unix seconds. */
int keypool_take(struct keypool *kp, const uint8_t (*ids)[DSKE_KEY_ID_LEN], size_t count,
                 unsigned peer, unsigned init_sae, unsigned resp_sae, uint64_t now,
                 struct keysvc_batch **ret);

/* Is the key held (not expired), or already delivered? */
bool keypool_has(struct keypool *kp, const uint8_t id[DSKE_KEY_ID_LEN], uint64_t now);
/* Metadata of a held (not expired, not delivered) key: 0 and *ret, or -ENOENT. */
int keypool_meta(struct keypool *kp, const uint8_t id[DSKE_KEY_ID_LEN], uint64_t now,
                 struct kp_meta *ret);
bool keypool_was_delivered(struct keypool *kp, const uint8_t id[DSKE_KEY_ID_LEN]);

/* Wipe keys and forget tombstones whose expiry <= now. Returns the number of keys wiped. */
size_t keypool_expire(struct keypool *kp, uint64_t now);

size_t keypool_count_peer(struct keypool *kp, unsigned peer);
/* Keys held for the pair (peer/init_sae, resp_sae); init_sae = -1: any master of that peer. */
size_t keypool_count_pair(struct keypool *kp, unsigned peer, int init_sae, unsigned resp_sae);
void keypool_stats(struct keypool *kp, struct kp_stats *ret);

/* Batches (keysvc.h): count keys with total key bytes in one sodium_malloc block. */
int keysvc_batch_new(size_t count, size_t total_bytes, struct keysvc_batch **ret);
