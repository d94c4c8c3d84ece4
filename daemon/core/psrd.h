/* psrd.h — Pre-Shared Random Data streams on disk (protocol.md section 3).
 *
 * One stream = one direction of one (client, hub) pair: bytes addressed by a u64 offset,
 * appended by out-of-band bundle blocks in block-id order. Files, in the directory given to
 * psrd_stream_open() (created 0700): NAME.data (the bytes, 0600), NAME.state (durable marks,
 * two checksummed slots written alternately, so a torn write never loses both), NAME.audit
 * (optional allocation audit: one "off len" line per allocation, appended before the bytes are
 * handed out; tests read it to prove no offset is used twice).
 *
 * Sender (PSRD_SENDER, only we allocate): allocation is a counter bump; before handing out any
 * offset < X, "reserved up to X" is durable (bumped in steps of psrd_reserve_step(end), so one
 * fdatasync covers many allocations). After a crash the stream restarts from the reserved mark:
 * a pad is never handed out twice. Allocation stops at min(imported end, peer-confirmed end).
 *
 * Receiver (PSRD_RECEIVER, the peer allocates): a frame's ranges are acceptable iff they lie
 * inside imported data, at or above the accepted mark, overlap no used range and each other.
 * Accepting records them (the mark advances over contiguous used ranges) and wipes their bytes on
 * disk. psrd_stream_sync() makes every accept so far durable; concurrent callers share one
 * fdatasync (group commit). Nothing may be acted on before the sync covering it returned.
 *
 * Consumed bytes are overwritten with zeros in NAME.data (not erasure on CoW filesystems/SSDs).
 * All functions are thread-safe (one mutex per stream). No logging.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PSRD_RESERVE_STEP (1u << 20)        /* the largest reservation step */
#define PSRD_RESERVE_STEP_MIN (4u << 10)

/* The reservation step for a stream of end bytes: end/64 between 4 KiB and 1 MiB, so a restart
 * (which resumes at the reservation mark) skips at most 1/64 of a stream and a small bundle
 * survives many restarts, while a large one needs one fdatasync per MiB. */
static inline uint64_t psrd_reserve_step(uint64_t end)
{
	uint64_t step = end / 64;
	return step < PSRD_RESERVE_STEP_MIN ? PSRD_RESERVE_STEP_MIN :
	       step > PSRD_RESERVE_STEP ? PSRD_RESERVE_STEP : step;
}
#define PSRD_MAX_USED_RANGES 4096   /* receiver: used ranges above the mark, else -ENOSPC */

enum psrd_role { PSRD_SENDER, PSRD_RECEIVER };

struct psrd_stream;

struct psrd_range {
	uint64_t off;
	uint64_t len;
};

struct psrd_info {
	enum psrd_role role;
	uint64_t end;            /* imported bytes: offsets [0, end) exist */
	uint32_t blocks;         /* blocks imported */
	uint32_t last_block_id;  /* 0 if none */
	uint64_t next;           /* sender: next offset to hand out; receiver: highest used end */
	uint64_t reserved;       /* sender: durable reservation mark */
	uint64_t peer_end;       /* sender: allocation limit confirmed by the peer (STREAM_STATUS) */
	uint64_t mark;           /* receiver: accepted mark */
	uint64_t remaining;      /* bytes still usable: sender end' - next; receiver end - mark - used */
	uint64_t allocated_total;/* sender: bytes handed out since open (accounting) */
	uint64_t rejected;       /* receiver: frames refused (replay, overlap, behind mark) */
};

/* Open or create stream NAME in dir (created with parents, 0700). audit: keep NAME.audit.
 * ret: caller frees with psrd_stream_close(), which also makes pending changes durable.
 * A sender restarts from its reservation mark. 0, -errno, -EBADMSG (state file corrupt in both
 * slots, or NAME.data holds bytes but NAME.state is missing), -EINVAL (bad name, or the stream
 * exists with the other role), -EBUSY (open elsewhere: the state file is flock()ed). */
int psrd_stream_open(const char *dir, const char *name, enum psrd_role role, bool audit,
                     struct psrd_stream **ret);
void psrd_stream_close(struct psrd_stream *s);   /* NULL-safe */

/* Append a block: block_id must be last_block_id + 1 and start must equal end; data is written and
 * made durable before returning. Re-importing the last block (same id, start, len) is -EEXIST.
 * 0, -EEXIST, -EINVAL (out of order, gap), -errno. */
int psrd_stream_import(struct psrd_stream *s, uint32_t block_id, uint64_t start, const uint8_t *data,
                       size_t len);

/* Sender: hand out len fresh bytes; *ret_off = their offset. Durable before it returns.
 * -ENOSPC when fewer than len usable bytes remain (nothing changes), -EINVAL for a receiver. */
int psrd_stream_alloc(struct psrd_stream *s, uint64_t len, uint64_t *ret_off);
/* Sender: never hand out offsets below off again (rollback defence: a peer's accepted mark). */
int psrd_stream_advance(struct psrd_stream *s, uint64_t off);
/* Sender: limit allocation to [0, end) until the peer confirmed a larger end. Until first set,
 * the limit is the imported end; once set it stays until set again and is durable with the next
 * state write (any alloc that moves the reservation, advance, import, sync, close). */
void psrd_stream_set_peer_end(struct psrd_stream *s, uint64_t end);

/* Read bytes [off, off+len) into out (no state change). -ERANGE outside imported data. */
int psrd_stream_read(struct psrd_stream *s, uint64_t off, uint64_t len, uint8_t *out);
/* Overwrite [off, off+len) with zeros on disk (sender: after the pad was read). */
int psrd_stream_wipe(struct psrd_stream *s, uint64_t off, uint64_t len);

/* Receiver: 0 if all ranges could be accepted now; -ESTALE (behind mark or overlaps a used
 * range or each other: replay), -ERANGE (beyond imported data), -ENOSPC (more than
 * PSRD_MAX_USED_RANGES / 2 ranges in one call). Zero-length ranges name no bytes: always
 * acceptable, never recorded. No state change. */
int psrd_stream_check(struct psrd_stream *s, const struct psrd_range *r, size_t n);
/* Receiver: the same check, then record the ranges as used and wipe their bytes, atomically with
 * respect to other callers. Not durable until psrd_stream_sync(). The used set stays bounded:
 * when more than PSRD_MAX_USED_RANGES / 2 disjoint used ranges lie above the mark, the mark jumps
 * over the lowest gap (its bytes are wiped; frames still in flight into it are then -ESTALE). */
int psrd_stream_accept(struct psrd_stream *s, const struct psrd_range *r, size_t n);
/* Receiver: count a refused frame (accounting only). */
void psrd_stream_count_rejected(struct psrd_stream *s);
/* Make all state changes so far durable (group commit). 0 or -errno. */
int psrd_stream_sync(struct psrd_stream *s);

void psrd_stream_info(struct psrd_stream *s, struct psrd_info *ret);
