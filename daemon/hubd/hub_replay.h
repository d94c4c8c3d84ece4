/* hub_replay.h — per-client cache of the last authenticated answers, keyed by the request's
 * mac_off (protocol.md section 3, retries): a byte-identical retry gets the cached answer again
 * and uses no PSRD; the same mac_off with other bytes is a conflict (409). Bounded by entries
 * and bytes (oldest dropped first) and by age. Thread-safe; no logging. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define HUB_REPLAY_ENTRIES 64
#define HUB_REPLAY_BYTES (4u << 20)
#define HUB_REPLAY_MAX_AGE_S 600

enum hub_replay_result { HUB_REPLAY_MISS = 0, HUB_REPLAY_HIT = 1, HUB_REPLAY_CONFLICT = 2 };

struct hub_replay;

int hub_replay_new(struct hub_replay **ret);
void hub_replay_free(struct hub_replay *rc);     /* NULL-safe */
/* HIT: *ret_answer is a malloc'd copy (caller frees), *ret_len. MISS, CONFLICT: nothing. */
enum hub_replay_result hub_replay_lookup(struct hub_replay *rc, uint64_t mac_off, const uint8_t *frame,
                                         size_t len, uint64_t now, uint8_t **ret_answer,
                                         size_t *ret_len);
/* Remember answer[alen] for the request frame[len] (copied). 0 or -ENOMEM. */
int hub_replay_store(struct hub_replay *rc, uint64_t mac_off, const uint8_t *frame, size_t len,
                     const uint8_t *answer, size_t alen, uint64_t now);
