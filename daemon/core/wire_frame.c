/* wire_frame.c — the DSKE frame header (wire.h, docs/protocol.md "Frame"). Pure, no logging. */
#include <errno.h>
#include <string.h>
#include "core/wire.h"
#include "core/wire_io.h"

/* magic, version, type, flags, body_len */
#define WIRE_FIXED_LEN 12

static const char *const wire_type_names[WIRE_TYPE_MAX + 1] = {
	[WIRE_SHARE_PUT] = "SHARE_PUT",
	[WIRE_SHARE_PUT_ACK] = "SHARE_PUT_ACK",
	[WIRE_SHARE_LIST] = "SHARE_LIST",
	[WIRE_SHARE_LIST_REPLY] = "SHARE_LIST_REPLY",
	[WIRE_SHARE_GET] = "SHARE_GET",
	[WIRE_SHARE_DELIVER] = "SHARE_DELIVER",
	[WIRE_SHARE_RELEASE] = "SHARE_RELEASE",
	[WIRE_SHARE_RELEASE_ACK] = "SHARE_RELEASE_ACK",
	[WIRE_SHARE_STATUS] = "SHARE_STATUS",
	[WIRE_SHARE_STATUS_REPLY] = "SHARE_STATUS_REPLY",
	[WIRE_STREAM_STATUS] = "STREAM_STATUS",
	[WIRE_STREAM_STATUS_REPLY] = "STREAM_STATUS_REPLY",
	[WIRE_ERROR] = "ERROR",
};

const char *wire_type_name(uint8_t type)
{
	if (type == 0 || type > WIRE_TYPE_MAX)
		return "UNKNOWN";
	return wire_type_names[type];
}

/* WIRE_HDR_MIN counts two one-byte names (length byte + one byte each) */
static uint64_t wire_frame_total(size_t slen, size_t rlen, uint64_t body_len)
{
	return (uint64_t)WIRE_HDR_MIN - 2 + slen + rlen + body_len + WIRE_TAG_LEN;
}

int wire_frame_peek_len(const uint8_t *buf, size_t len, size_t max_len, size_t *ret_len)
{
	struct wire_rd r = wire_rd_init(buf, len);
	const uint8_t *magic;
	uint8_t version, slen, rlen;
	uint32_t body_len;
	uint64_t total;

	/* refuse a wrong magic as soon as the bytes that differ have arrived */
	if (len && memcmp(buf, WIRE_MAGIC, len < 4 ? len : 4) != 0)
		return -EBADMSG;
	magic = wire_rd_bytes(&r, 4);
	version = wire_rd_u8(&r);
	if (!magic || r.bad)
		return -EAGAIN;
	if (version != WIRE_VERSION)
		return -EPROTONOSUPPORT;
	wire_rd_u8(&r);        /* type: checked by wire_frame_parse */
	wire_rd_u16(&r);       /* flags */
	body_len = wire_rd_u32(&r);
	if (r.bad)
		return -EAGAIN;
	if (wire_frame_total(1, 1, body_len) > max_len)
		return -E2BIG;
	slen = wire_rd_u8(&r);
	if (r.bad)
		return -EAGAIN;
	if (slen == 0 || slen > DSKE_NAME_MAX)
		return -EBADMSG;
	wire_rd_bytes(&r, slen);
	rlen = wire_rd_u8(&r);
	if (r.bad)
		return -EAGAIN;
	if (rlen == 0 || rlen > DSKE_NAME_MAX)
		return -EBADMSG;
	total = wire_frame_total(slen, rlen, body_len);
	if (total > max_len)
		return -E2BIG;
	*ret_len = (size_t)total;
	return 0;
}

int wire_frame_parse(const uint8_t *buf, size_t len, size_t max_len, struct wire_hdr *ret_hdr,
                     const uint8_t **ret_body)
{
	struct wire_rd r = wire_rd_init(buf, len);
	struct wire_hdr h = { 0 };
	const uint8_t *magic, *body;
	size_t want;
	int ret;

	if (len > max_len)
		return -E2BIG;
	ret = wire_frame_peek_len(buf, len, max_len, &want);
	if (ret == -EAGAIN)
		return -EBADMSG;      /* a whole frame was promised: too short */
	if (ret < 0)
		return ret;
	if (want != len)
		return -EBADMSG;
	magic = wire_rd_bytes(&r, 4);
	h.version = wire_rd_u8(&r);
	h.type = wire_rd_u8(&r);
	h.flags = wire_rd_u16(&r);
	h.body_len = wire_rd_u32(&r);
	wire_rd_name(&r, h.sender, names_kme_valid);
	wire_rd_name(&r, h.receiver, names_kme_valid);
	wire_rd_copy(&r, h.txn_id, WIRE_TXN_LEN);
	h.mac_off = wire_rd_u64(&r);
	body = wire_rd_bytes(&r, h.body_len);
	wire_rd_bytes(&r, WIRE_TAG_LEN);
	if (!magic || !wire_rd_done(&r))
		return -EBADMSG;
	if (h.type == 0 || h.type > WIRE_TYPE_MAX || h.flags != 0)
		return -EBADMSG;
	*ret_hdr = h;
	*ret_body = body;
	return 0;
}

size_t wire_frame_len(const struct wire_hdr *hdr, size_t body_len)
{
	return (size_t)wire_frame_total(strnlen(hdr->sender, DSKE_NAME_MAX + 1),
	                                strnlen(hdr->receiver, DSKE_NAME_MAX + 1), body_len);
}

int wire_frame_encode(const struct wire_hdr *hdr, const uint8_t *body, size_t body_len,
                      uint8_t *out, size_t out_len, size_t *ret_tag_off)
{
	struct wire_wr w = { 0 };
	size_t flen;
	int ret = -EINVAL;

	if (hdr->type == 0 || hdr->type > WIRE_TYPE_MAX || hdr->flags != 0 ||
	    body_len > UINT32_MAX || (body_len && !body))
		goto out;
	if (!names_kme_valid(hdr->sender) || !names_kme_valid(hdr->receiver))
		goto out;
	flen = wire_frame_len(hdr, body_len);
	if (out_len < flen)
		goto out;
	wire_wr_bytes(&w, WIRE_MAGIC, 4);
	wire_wr_u8(&w, WIRE_VERSION);
	wire_wr_u8(&w, hdr->type);
	wire_wr_u16(&w, hdr->flags);
	wire_wr_u32(&w, (uint32_t)body_len);
	wire_wr_name(&w, hdr->sender, names_kme_valid);
	wire_wr_name(&w, hdr->receiver, names_kme_valid);
	wire_wr_bytes(&w, hdr->txn_id, WIRE_TXN_LEN);
	wire_wr_u64(&w, hdr->mac_off);
	ret = w.err;
	if (ret < 0)
		goto out;
	/* the header is small; the body goes straight into out */
	memcpy(out, w.buf, w.len);
	if (body_len)
		memcpy(out + w.len, body, body_len);
	memset(out + w.len + body_len, 0, WIRE_TAG_LEN);
	*ret_tag_off = w.len + body_len;
	ret = 0;
out:
	free(w.buf);
	return ret;
}
