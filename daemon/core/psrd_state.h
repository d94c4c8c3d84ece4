/* psrd_state.h — the durable state of one PSRD stream (NAME.state), private to psrd.c.
 *
 * NAME.state holds two slots, slot 0 at offset 0 and slot 1 at PSRD_SLOT_STRIDE. A state with
 * sequence number seq is written to slot (seq & 1), so each write overwrites the older slot and a
 * torn write leaves the newer one intact; loading takes the valid slot with the highest seq.
 * A slot (all integers little-endian):
 *   "DSKEPSRD" | version u32 (=1) | role u32 | seq u64 | flags u32 | nblocks u32 | nused u32 |
 *   pad u32 | end u64 | reserved u64 | mark u64 | high u64 | peer_end u64 |
 *   nblocks x (id u32, start u64, len u64) | nused x (off u64, len u64) |
 *   BLAKE2b-256 of every preceding byte of the slot.
 * No logging.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "psrd.h"

#define PSRD_MAX_BLOCKS 4096               /* blocks per stream, else import is -ENOSPC */
#define PSRD_SLOT_HDR 80
#define PSRD_SLOT_SUM 32
#define PSRD_SLOT_MAX (PSRD_SLOT_HDR + PSRD_MAX_BLOCKS * 20 + PSRD_MAX_USED_RANGES * 16 + \
                       PSRD_SLOT_SUM)
#define PSRD_SLOT_STRIDE (1u << 18)
#define PSRD_STATE_PEER_END_SET 1u

struct psrd_block {
	uint32_t id;
	uint64_t start;
	uint64_t len;
};

struct psrd_state {
	uint32_t role;                 /* enum psrd_role */
	uint64_t seq;                  /* sequence number of the last slot written or loaded */
	uint32_t flags;                /* PSRD_STATE_PEER_END_SET */
	uint64_t end;                  /* imported bytes */
	uint64_t reserved;             /* sender: reservation mark */
	uint64_t mark;                 /* receiver: accepted mark */
	uint64_t high;                 /* receiver: highest used end */
	uint64_t peer_end;             /* sender: peer-confirmed end (valid with the flag) */
	uint32_t nblocks;
	struct psrd_block blocks[PSRD_MAX_BLOCKS];         /* ids 1..nblocks, contiguous from 0 */
	uint32_t nused;
	struct psrd_range used[PSRD_MAX_USED_RANGES];      /* sorted, disjoint, not adjacent, > mark */
};

/* Encode st into buf[PSRD_SLOT_MAX]; returns the slot length. */
size_t psrd_state_encode(const struct psrd_state *st, uint8_t *buf);
/* Pure, strict decode of one slot buf[len] (len may exceed the slot: the rest is ignored).
 * Checks magic, version, checksum, and consistency (blocks contiguous from offset 0 with ids
 * 1..n summing to end; used ranges sorted, disjoint, non-adjacent, above mark, within end;
 * mark <= high <= end for a receiver). 0 or -EBADMSG; ret untouched on failure. */
int psrd_state_decode(const uint8_t *buf, size_t len, struct psrd_state *ret);

/* Load the valid slot with the highest seq from fd. 0; -ENODATA if the file holds no slot at all
 * (empty); -EBADMSG if neither slot is valid; -errno. */
int psrd_state_load(int fd, struct psrd_state *ret);
/* Write the encoded slot buf[len] of sequence seq to slot (seq & 1) and fdatasync. 0 or -errno. */
int psrd_state_write(int fd, const uint8_t *buf, size_t len, uint64_t seq);

/* Whole-buffer pread/pwrite, retrying on EINTR and short counts. 0, -errno, -ENODATA (pread hit
 * end of file before len bytes). */
int psrd_pread_all(int fd, void *buf, size_t len, uint64_t off);
int psrd_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
