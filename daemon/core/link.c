/* link.c — seal and open DSKE frames on one pair of PSRD streams (tx: ours, rx: the peer's). */
#include "core/scratch.h"
#include "core/link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "core/otmac.h"

_Static_assert(OTMAC_TAG_LEN == WIRE_TAG_LEN, "frame tag is an otmac tag");

int link_take_pad(struct link *l, size_t len, uint64_t *ret_off, uint8_t *pad)
{
	uint64_t off;
	int r;

	if (!l || !ret_off || !pad || len == 0)
		return -EINVAL;
	r = psrd_stream_alloc(l->tx, len, &off);
	if (r < 0)
		return r;
	/* from here the bytes are spent whatever happens: they are never handed out again */
	r = psrd_stream_read(l->tx, off, len, pad);
	if (r == 0)
		r = psrd_stream_wipe(l->tx, off, len);
	if (r < 0) {
		sodium_memzero(pad, len);
		return r;
	}
	*ret_off = off;
	return 0;
}

int link_seal(struct link *l, const struct wire_hdr *hdr, const uint8_t *body, size_t body_len,
              uint8_t **ret_frame, size_t *ret_len)
{
	struct wire_hdr h;
	uint8_t *frame = NULL, *key = NULL;
	size_t flen, tag_off;
	uint64_t off;
	int r;

	if (!l || !hdr || !ret_frame || !ret_len || (!body && body_len))
		return -EINVAL;
	if (body_len > WIRE_FRAME_MAX_DEFAULT)
		return -E2BIG;
	h = *hdr;
	h.version = WIRE_VERSION;
	h.body_len = (uint32_t)body_len;
	h.mac_off = 0;
	if (names_copy(h.sender, l->self) < 0 || names_copy(h.receiver, l->peer) < 0)
		return -EINVAL;
	flen = wire_frame_len(&h, body_len);
	if (flen > WIRE_FRAME_MAX_DEFAULT)
		return -E2BIG;
	frame = malloc(flen);
	if (!frame)
		return -ENOMEM;
	/* encode once before taking the key: a frame that cannot be encoded burns nothing */
	r = wire_frame_encode(&h, body, body_len, frame, flen, &tag_off);
	if (r < 0)
		goto out;
	key = scratch_get(SCRATCH_MAC, OTMAC_KEY_LEN);
	if (!key) {
		r = -ENOMEM;
		goto out;
	}
	r = link_take_pad(l, OTMAC_KEY_LEN, &off, key);
	if (r < 0)
		goto out;
	h.mac_off = off;
	r = wire_frame_encode(&h, body, body_len, frame, flen, &tag_off);
	if (r < 0)
		goto out;
	otmac_tag(frame + tag_off, frame, tag_off, key);
	*ret_frame = frame;
	*ret_len = flen;
	frame = NULL;
	r = 0;
out:
	if (key) {
		scratch_put(SCRATCH_MAC, key, OTMAC_KEY_LEN);
	}
	free(frame);
	return r;
}

static void pads_wipe(struct link_pad *pads, size_t npads)
{
	for (size_t i = 0; i < npads; i++)
		if (pads[i].out && pads[i].len)
			sodium_memzero(pads[i].out, (size_t)pads[i].len);
}

int link_open(struct link *l, const uint8_t *frame, size_t len, const struct wire_hdr *hdr,
              struct link_pad *pads, size_t npads)
{
	struct psrd_range stack[8], *ranges = stack;
	uint8_t *key = NULL;
	size_t n;
	int r;

	if (!l || !frame || !hdr || (!pads && npads))
		return -EINVAL;
	if (len < WIRE_TAG_LEN)
		return -EBADMSG;
	if (strncmp(hdr->sender, l->peer, sizeof(l->peer)) != 0 ||
	    strncmp(hdr->receiver, l->self, sizeof(l->self)) != 0)
		return -EPROTO;
	for (size_t i = 0; i < npads; i++)
		if (pads[i].len && (!pads[i].out || pads[i].len > SIZE_MAX))
			return -EINVAL;
	if (npads > PSRD_MAX_USED_RANGES)
		return -ENOSPC;
	n = npads + 1;
	if (n > sizeof(stack) / sizeof(stack[0])) {
		ranges = malloc(n * sizeof(*ranges));
		if (!ranges)
			return -ENOMEM;
	}
	ranges[0] = (struct psrd_range){ hdr->mac_off, OTMAC_KEY_LEN };
	for (size_t i = 0; i < npads; i++)
		ranges[i + 1] = (struct psrd_range){ pads[i].off, pads[i].len };

	r = psrd_stream_check(l->rx, ranges, n);
	if (r < 0)
		goto out_reject;
	key = scratch_get(SCRATCH_MAC, OTMAC_KEY_LEN);
	if (!key) {
		r = -ENOMEM;
		goto out;
	}
	/* read everything before verifying; nothing is recorded until the tag verified */
	r = psrd_stream_read(l->rx, hdr->mac_off, OTMAC_KEY_LEN, key);
	for (size_t i = 0; r == 0 && i < npads; i++)
		if (pads[i].len)
			r = psrd_stream_read(l->rx, pads[i].off, pads[i].len, pads[i].out);
	if (r < 0)
		goto out_wipe;
	r = otmac_verify(frame + len - WIRE_TAG_LEN, frame, len - WIRE_TAG_LEN, key);
	if (r < 0) {
		/* a byte-identical duplicate accepted meanwhile (its key is wiped now): a replay */
		if (psrd_stream_check(l->rx, ranges, n) == -ESTALE)
			r = -ESTALE;
		goto out_reject;
	}
	/* check again and record, atomically: a concurrent duplicate loses here with -ESTALE */
	r = psrd_stream_accept(l->rx, ranges, n);
	if (r < 0)
		goto out_reject;
	r = psrd_stream_sync(l->rx);
	if (r < 0)
		goto out_wipe;
	r = 0;
	goto out;
out_reject:
	if (r == -EBADMSG || r == -ESTALE || r == -ERANGE || r == -ENOSPC)
		psrd_stream_count_rejected(l->rx);
out_wipe:
	pads_wipe(pads, npads);
out:
	if (key) {
		scratch_put(SCRATCH_MAC, key, OTMAC_KEY_LEN);
	}
	if (ranges != stack)
		free(ranges);
	return r;
}
