/* link.h — one authenticated one-time-pad link between this node and one peer (a client and a
 * hub): the stream we own (tx, we allocate) and the stream the peer owns (rx, we accept).
 * It seals outgoing frames (fresh MAC key from tx) and opens incoming ones (ranges checked
 * against rx, tag verified in constant time, and only then ranges accepted, pads read, and the
 * acceptance made durable). A frame that fails any check burns nothing. No logging. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "names.h"
#include "psrd.h"
#include "wire.h"

struct link {
	char self[DSKE_NAME_MAX + 1];
	char peer[DSKE_NAME_MAX + 1];
	struct psrd_stream *tx;   /* borrowed */
	struct psrd_stream *rx;   /* borrowed */
};

/* Take len fresh bytes from tx: *ret_off, pad[len] (caller's buffer, ideally sodium_malloc'd);
 * the bytes are wiped on disk after reading. 0, -ENOSPC, -errno. */
int link_take_pad(struct link *l, size_t len, uint64_t *ret_off, uint8_t *pad);

/* Seal a frame: header fields from hdr (type, flags, txn_id; sender/receiver/mac_off are set
 * here), body[body_len], a MAC key freshly taken from tx. *ret_frame is malloc'd, caller frees.
 * Nothing is taken from tx unless the frame encodes. 0, -ENOSPC (PSRD exhausted), -E2BIG (frame
 * above WIRE_FRAME_MAX_DEFAULT), -EINVAL (bad type, flags or names), -errno. */
int link_seal(struct link *l, const struct wire_hdr *hdr, const uint8_t *body, size_t body_len,
              uint8_t **ret_frame, size_t *ret_len);

/* A pad range a frame's body names, to be accepted with the frame and read into out[len]. */
struct link_pad {
	uint64_t off;
	uint64_t len;
	uint8_t *out;       /* caller's buffer */
};

/* Open a frame already parsed by wire_frame_parse() (hdr, frame bytes [0, len)): the MAC range
 * (hdr->mac_off, 32) and pads[] must be acceptable on rx; the tag must verify. On success the
 * ranges are accepted, pads[i].out filled, and the acceptance is durable (group commit).
 * -EBADMSG bad tag, -ESTALE replay/overlap/behind mark, -ERANGE beyond imported data,
 * -EPROTO sender/receiver names do not match this link. Nothing is burned on error. */
int link_open(struct link *l, const uint8_t *frame, size_t len, const struct wire_hdr *hdr,
              struct link_pad *pads, size_t npads);
