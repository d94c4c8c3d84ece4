/* fuzz_frame.c — libFuzzer harness for wire_frame_peek_len, wire_frame_parse and every body
 * decoder. The input is tried as a whole frame (its body then goes to the decoder the frame type
 * names) and, after its first byte, as a bare body for the decoder that byte selects. A decoded
 * message must re-encode to the same bytes (the codec is canonical). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/wire.h"

static void fuzz_check_same(int r, uint8_t *enc, size_t enc_len, const uint8_t *body, size_t len)
{
	if (r == 0 && (enc_len != len || memcmp(enc, body, len) != 0))
		abort();
	if (r == 0)
		free(enc);
}

static void fuzz_body(uint8_t type, const uint8_t *body, size_t len)
{
	struct wire_share_put put;
	struct wire_status_list sl;
	struct wire_share_list l;
	struct wire_share_list_reply lr;
	struct wire_share_get g;
	struct wire_share_deliver d;
	struct wire_stream_status s;
	struct wire_error e;
	uint8_t *enc = NULL;
	size_t enc_len = 0;

	switch (type) {
	case WIRE_SHARE_PUT:
		if (wire_decode_share_put(body, len, &put) == 0) {
			fuzz_check_same(wire_encode_share_put(&put, &enc, &enc_len), enc, enc_len, body, len);
			wire_share_put_free(&put);
		}
		break;
	case WIRE_SHARE_PUT_ACK:
	case WIRE_SHARE_RELEASE:
	case WIRE_SHARE_RELEASE_ACK:
	case WIRE_SHARE_STATUS_REPLY:
		if (wire_decode_status_list(body, len, &sl) == 0) {
			fuzz_check_same(wire_encode_status_list(&sl, &enc, &enc_len), enc, enc_len, body, len);
			wire_status_list_free(&sl);
		}
		break;
	case WIRE_SHARE_LIST:
		if (wire_decode_share_list(body, len, &l) == 0)
			fuzz_check_same(wire_encode_share_list(&l, &enc, &enc_len), enc, enc_len, body, len);
		break;
	case WIRE_SHARE_LIST_REPLY:
		if (wire_decode_share_list_reply(body, len, &lr) == 0) {
			fuzz_check_same(wire_encode_share_list_reply(&lr, &enc, &enc_len), enc, enc_len, body,
			                len);
			wire_share_list_reply_free(&lr);
		}
		break;
	case WIRE_SHARE_GET:
	case WIRE_SHARE_STATUS:
		if (wire_decode_share_get(body, len, &g) == 0) {
			fuzz_check_same(wire_encode_share_get(&g, &enc, &enc_len), enc, enc_len, body, len);
			wire_share_get_free(&g);
		}
		break;
	case WIRE_SHARE_DELIVER:
		if (wire_decode_share_deliver(body, len, &d) == 0) {
			fuzz_check_same(wire_encode_share_deliver(&d, &enc, &enc_len), enc, enc_len, body, len);
			wire_share_deliver_free(&d);
		}
		break;
	case WIRE_STREAM_STATUS:
	case WIRE_STREAM_STATUS_REPLY:
		if (wire_decode_stream_status(body, len, &s) == 0)
			fuzz_check_same(wire_encode_stream_status(&s, &enc, &enc_len), enc, enc_len, body, len);
		break;
	case WIRE_ERROR:
		if (wire_decode_error(body, len, &e) == 0)
			fuzz_check_same(wire_encode_error(&e, &enc, &enc_len), enc, enc_len, body, len);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_hdr hdr;
	const uint8_t *body;
	size_t want;
	uint8_t *copy;

	/* exact-size heap copies, so ASan catches any read past the end */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (wire_frame_peek_len(copy, size, WIRE_FRAME_MAX_DEFAULT, &want) == 0 && want < WIRE_HDR_MIN)
		abort();
	if (wire_frame_parse(copy, size, WIRE_FRAME_MAX_DEFAULT, &hdr, &body) == 0) {
		uint8_t *out;
		size_t tag_off;

		if (wire_frame_len(&hdr, hdr.body_len) != size)
			abort();
		out = malloc(size);
		if (out && wire_frame_encode(&hdr, body, hdr.body_len, out, size, &tag_off) == 0 &&
		    (tag_off != size - WIRE_TAG_LEN || memcmp(out, copy, tag_off) != 0))
			abort();
		free(out);
		fuzz_body(hdr.type, body, hdr.body_len);
	}
	if (size >= 1)
		fuzz_body((uint8_t)(1 + data[0] % WIRE_TYPE_MAX), copy + 1, size - 1);
	free(copy);
	return 0;
}
