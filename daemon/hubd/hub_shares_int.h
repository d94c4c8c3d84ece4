/* hub_shares_int.h — internals shared by hub_shares.c (index and operations) and hub_journal.c
 * (the journal file: record format, append, wipe, replay at open, compaction). Not for other
 * modules: use hub_shares.h.
 *
 * Journal record: magic "DSKJ" u32 | type u8 | 3 zero bytes | payload_len u32 | payload |
 * BLAKE2b-128 over header and payload except a PUT's trailing share bytes. PUT payload: seq,
 * put time, expiry, requested expiry (u64 each), key_id[16], init_kme, init_sae, resp_kme,
 * resp_sae (u8 length + bytes), n, k, x, codec (u8), key_len u16, share_len u16,
 * BLAKE2b-256 of the share, the share. DELIVER / RELEASE / EXPIRE payload: key_id[16], time u64. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hubd/hub_shares.h"

#define J_MAGIC 0x44534b4au            /* "DSKJ" */
#define J_HDR 12
#define J_SUM 16
#define J_PAYLOAD_MAX 4096
#define J_COMPACT_MIN (4u << 20)

enum { J_PUT = 1, J_DELIVER = 2, J_RELEASE = 3, J_EXPIRE = 4 };
enum { ST_PENDING = 0, ST_RELEASED = 1, ST_EXPIRED = 2 };

struct ent {
	struct wire_key_meta meta;      /* meta.expiry: effective expiry */
	uint64_t req_expiry;            /* as the initiator asked */
	uint64_t seq, put_time, end_time;
	uint64_t share_off;             /* journal offset of the share bytes */
	uint64_t new_off;               /* compaction: offset in the new journal */
	uint64_t rec_end;               /* journal offset after the PUT record */
	uint16_t share_len;
	uint32_t deliveries;
	uint8_t state;
	uint8_t share_hash[32];
	struct ent *hnext;
	struct ent *lprev, *lnext;      /* pending: the responder's list, seq order;
	                                 * tombstone: the store's tombstone list, oldest first */
	struct resp *resp;
};

struct resp {                           /* a responder's pending list */
	char name[DSKE_NAME_MAX + 1];
	struct ent *head, *tail;
	struct resp *next;
};

struct hub_shares {
	pthread_mutex_t lock;
	pthread_cond_t sync_cond;       /* a sync finished */
	pthread_cond_t list_cond;       /* new durable entries or stop */
	char *dir;
	int fd;
	uint64_t end, synced, live_bytes;
	uint64_t compact_base;          /* journal size after the last compaction */
	bool syncing, stopping;
	uint64_t max_shares, next_seq;
	struct ent **buckets;
	size_t nbuckets, nents;
	struct resp *resps;
	struct ent *tomb_head, *tomb_tail;   /* at most max_shares tombstones */
	struct hub_shares_stats st;
};

struct wbuf {
	uint8_t b[J_PAYLOAD_MAX];
	size_t n;
	bool bad;
};

/* hub_journal.c: the journal file (all under the store's lock) */
void journal_enc_meta(struct wbuf *w, const struct ent *e);
int journal_append(struct hub_shares *s, uint8_t type, const struct wbuf *w, const uint8_t *tail,
                   size_t tail_len, uint64_t *ret_tail_off);
int journal_event(struct hub_shares *s, uint8_t type, const uint8_t *id, uint64_t t);
int journal_wipe(struct hub_shares *s, uint64_t off, size_t len);
int journal_replay(struct hub_shares *s, uint64_t now);   /* at open: rebuild the index */
int journal_compact(struct hub_shares *s);                /* rewrite without dead records */

/* hub_shares.c: the in-memory index (under the store's lock) */
struct ent *shares_find(struct hub_shares *s, const uint8_t *id);
int shares_insert(struct hub_shares *s, struct ent *e);
void shares_remove(struct hub_shares *s, struct ent *e);
void shares_tombstone(struct hub_shares *s, struct ent *e, uint8_t state, uint64_t now);
