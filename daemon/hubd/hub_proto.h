/* hub_proto.h — one in-band frame in, one answer out (internals.md section 9).
 *
 * Order: size cap (413) -> wire_frame_parse (400) -> receiver is this hub (400) -> request type
 * (400) -> client known (404) -> bad-tag rate limit (429) -> replay cache (same mac_off and
 * bytes: the cached answer, no PSRD; same mac_off, other bytes: 409) -> body decode (400) ->
 * link_open with the body's pad ranges (401 bad tag, 409 replay or stale range; nothing burned)
 * -> the hub rules -> durable (group commit) -> answer sealed on h2c, cached, sent.
 * An authenticated request whose handling fails inside the hub gets a sealed ERROR frame; only
 * when nothing can be sealed (h2c exhausted) a plain 503.
 * Logs decisions (bad tags rate-limited, refused keys), never shares or pads. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "hubd/hub.h"

#define HUB_LIST_WAIT_MAX_MS 60000
#define HUB_BAD_TAG_WINDOW_S 60
#define HUB_BAD_TAG_LIMIT 100        /* failed verifications per client per window, then 429 */

struct hub_answer {
	unsigned status;                 /* HTTP status */
	uint8_t *frame;                  /* status 200: the answer frame (malloc'd, caller frees) */
	size_t len;
	const char *text;                /* otherwise: the plain-text reason (static) */
};

/* frame[len] borrowed. Never fails: every outcome is an answer. */
void hub_proto_handle(struct hub *h, const uint8_t *frame, size_t len, struct hub_answer *ans);
