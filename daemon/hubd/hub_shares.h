/* hub_shares.h — the hub's share store (internals.md sections 6 and 9).
 *
 * Pending shares live in <dir>/journal (0600, dir 0700): an append-only journal of PUT,
 * DELIVER, RELEASE and EXPIRE records, each with a BLAKE2b checksum over everything but the
 * share bytes (a share carries its own hash, checked when the journal is replayed). Records are
 * appended under the store's mutex; hub_shares_commit() makes everything appended so far
 * durable with one fdatasync for all concurrent callers (group commit). A share is wiped in
 * place (zeros over its bytes in the journal) when it is released or expires; what remains is a
 * tombstone (metadata, state, time) that answers SHARE_STATUS and the duplicate rules for
 * HUB_TOMBSTONE_TTL seconds. A torn tail (crash mid-append) is cut off at open. The journal is
 * rewritten without dead records (compacted) when it is mostly dead; the old file is zeroed
 * before it is dropped.
 *
 * The store enforces the per-key rules of the flows table that need its state atomically:
 * duplicate key IDs, who may fetch, release or ask about a share, the delivery bound.
 * Entries become visible to SHARE_LIST only once durable. Thread-safe; no logging.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/wire.h"

#define HUB_TOMBSTONE_TTL (24 * 3600)
#define HUB_SHARE_MAX 2048          /* bytes of one share (key_len + AMD overhead) */

struct hub_shares;

struct hub_shares_stats {
	uint64_t stored;          /* pending now */
	uint64_t released;        /* tombstones: released (kept HUB_TOMBSTONE_TTL) */
	uint64_t expired;         /* tombstones: expired */
	uint64_t released_total;  /* since start */
	uint64_t expired_total;
	uint64_t delivered_total; /* deliveries since start */
	uint64_t dropped_at_open; /* torn or corrupt records dropped at open */
	uint64_t journal_bytes;
	uint64_t last_seq;
};

/* Open or create the store in dir (created 0700). ret: caller frees with hub_shares_close().
 * now: unix seconds (tombstone ageing at replay). 0, -errno. */
int hub_shares_open(const char *dir, uint64_t max_shares, uint64_t now, struct hub_shares **ret);
void hub_shares_close(struct hub_shares *s);     /* NULL-safe */

/* SHARE_PUT for one key: m->init_kme is the posting client; m->expiry the effective expiry
 * (bounded by the caller), req_expiry the expiry the initiator asked for (compared for ALREADY).
 * *ret_status: OK (stored), ALREADY (same client, same metadata, same share, or the same
 * metadata of a released/expired one), DUPLICATE (key ID taken otherwise), FULL.
 * Not durable until hub_shares_commit(). 0 or -errno (I/O; nothing stored). */
int hub_shares_put(struct hub_shares *s, const struct wire_key_meta *m, uint64_t req_expiry,
                   const uint8_t *share, size_t share_len, uint64_t now, uint8_t *ret_status);

/* SHARE_GET for one ref by client: *ret_status OK (share copied to share_out, metadata to
 * *ret_meta, delivery counted), UNKNOWN (no pending share), FORBIDDEN (not this client's, SAE
 * pair differs, or delivered max_deliveries times already). share_cap must be >= the share.
 * 0 or -errno. */
int hub_shares_deliver(struct hub_shares *s, const struct wire_key_ref *ref, const char *client,
                       uint64_t max_deliveries, uint64_t now, struct wire_key_meta *ret_meta,
                       uint8_t *share_out, size_t share_cap, uint8_t *ret_status);
/* Length of a pending share, or 0 if there is none (for sizing a SHARE_GET). */
size_t hub_shares_len(struct hub_shares *s, const uint8_t key_id[DSKE_KEY_ID_LEN]);

/* SHARE_RELEASE by client (the responder): OK (wiped; also for a share this client released
 * before), UNKNOWN, FORBIDDEN (someone else's). 0 or -errno. */
int hub_shares_release(struct hub_shares *s, const uint8_t key_id[DSKE_KEY_ID_LEN],
                       const char *client, uint64_t now, uint8_t *ret_status);

/* SHARE_STATUS by client (the initiator): PENDING, RELEASED, EXPIRED or UNKNOWN (never stored,
 * forgotten, or another client's). */
uint8_t hub_shares_status(struct hub_shares *s, const uint8_t key_id[DSKE_KEY_ID_LEN],
                          const char *client);

/* SHARE_LIST: up to max durable pending entries for responder client with seq > cursor, in seq
 * order. entries: caller's array of max. *ret_next = seq of the last entry returned, or the
 * cursor (0 when the cursor is ahead of the store: a reset store). */
void hub_shares_list(struct hub_shares *s, const char *client, uint64_t cursor, uint16_t max,
                     struct wire_list_entry *entries, uint16_t *ret_count, uint64_t *ret_next);
/* Block until an entry for client with seq > cursor is durable, deadline_ms (CLOCK_MONOTONIC)
 * passed, or hub_shares_stop(). true if entries wait. */
bool hub_shares_wait(struct hub_shares *s, const char *client, uint64_t cursor,
                     uint64_t deadline_ms);
void hub_shares_stop(struct hub_shares *s);      /* wake all waiters for shutdown */

/* Make every record appended so far durable (group commit). 0 or -errno. */
int hub_shares_commit(struct hub_shares *s);
/* Expire pending shares whose expiry passed (wiped, tombstoned), drop old tombstones, compact
 * the journal when it is mostly dead. Durable on return. *ret_expired: shares expired now. */
int hub_shares_sweep(struct hub_shares *s, uint64_t now, uint64_t *ret_expired);

void hub_shares_get_stats(struct hub_shares *s, struct hub_shares_stats *ret);
uint64_t hub_shares_now(void);                   /* unix seconds */
uint64_t hub_shares_mono_ms(void);               /* CLOCK_MONOTONIC milliseconds */
