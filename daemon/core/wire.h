/* wire.h — DSKE in-band frames and message bodies (protocol.md sections 4 and 5; the exact
 * byte layout is docs/protocol.md). All integers big-endian. Names (KME, SAE) are u8 length +
 * bytes, 1..64, validated with names.h. Decoders are pure (bytes in, struct or -errno out),
 * strict (exact lengths, no trailing bytes, bounded counts) and fuzzed. Decoded structs borrow
 * nothing from the input except where marked "points into body". No logging.
 *
 * Frame:
 *   "DSKE" | version u8 (=1) | type u8 | flags u16 | body_len u32 | sender name | receiver name |
 *   txn_id[16] | mac_off u64 | body[body_len] | tag[16]
 * tag = Poly1305 over every preceding byte, key = 32 bytes at mac_off in the sender's stream.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "names.h"

#define WIRE_MAGIC "DSKE"
#define WIRE_VERSION 1
#define WIRE_TAG_LEN 16
#define WIRE_TXN_LEN 16
#define WIRE_FRAME_MAX_DEFAULT (1u << 20)  /* 1 MiB; frames above the cap refused unread */
#define WIRE_HDR_MIN (4 + 1 + 1 + 2 + 4 + 2 + 2 + WIRE_TXN_LEN + 8)
#define WIRE_HDR_MAX (WIRE_HDR_MIN + 2 * DSKE_NAME_MAX)
#define WIRE_BATCH_MAX 1024                 /* keys per message */

enum wire_type {
	WIRE_SHARE_PUT = 1,
	WIRE_SHARE_PUT_ACK = 2,
	WIRE_SHARE_LIST = 3,
	WIRE_SHARE_LIST_REPLY = 4,
	WIRE_SHARE_GET = 5,
	WIRE_SHARE_DELIVER = 6,
	WIRE_SHARE_RELEASE = 7,
	WIRE_SHARE_RELEASE_ACK = 8,
	WIRE_SHARE_STATUS = 9,
	WIRE_SHARE_STATUS_REPLY = 10,
	WIRE_STREAM_STATUS = 11,
	WIRE_STREAM_STATUS_REPLY = 12,
	WIRE_ERROR = 13,
};
#define WIRE_TYPE_MAX 13

struct wire_hdr {
	uint8_t version;
	uint8_t type;                      /* enum wire_type */
	uint16_t flags;                    /* 0; reserved (non-zero refused) */
	uint32_t body_len;
	char sender[DSKE_NAME_MAX + 1];
	char receiver[DSKE_NAME_MAX + 1];
	uint8_t txn_id[WIRE_TXN_LEN];
	uint64_t mac_off;
};

/* Pure parse of a whole frame buf[len]: header checked (magic, version, known type, valid names,
 * body_len matching len exactly, len <= max_len). *ret_body points into buf. The tag is the
 * last WIRE_TAG_LEN bytes. -EBADMSG malformed, -E2BIG above max_len, -EPROTONOSUPPORT version. */
int wire_frame_parse(const uint8_t *buf, size_t len, size_t max_len, struct wire_hdr *ret_hdr,
                     const uint8_t **ret_body);
/* Peek the total frame length implied by the first bytes (for streaming readers): 0 and
 * *ret_len, -EAGAIN need more bytes, -EBADMSG, -EPROTONOSUPPORT, -E2BIG above max_len (known
 * from the first 12 bytes when the body alone exceeds it). */
int wire_frame_peek_len(const uint8_t *buf, size_t len, size_t max_len, size_t *ret_len);
/* Encode header + body into out (caller-sized: wire_frame_len()); the tag bytes are left for the
 * caller (link_seal) to fill (zeroed here): *ret_tag_off is their offset. The version written is
 * always WIRE_VERSION and body_len is taken from the argument. -EINVAL bad names/type/flags,
 * out_len < wire_frame_len(). */
size_t wire_frame_len(const struct wire_hdr *hdr, size_t body_len);
int wire_frame_encode(const struct wire_hdr *hdr, const uint8_t *body, size_t body_len,
                      uint8_t *out, size_t out_len, size_t *ret_tag_off);

/* ---- per-key metadata that travels with a share */
struct wire_key_meta {
	uint8_t key_id[DSKE_KEY_ID_LEN];
	char init_kme[DSKE_NAME_MAX + 1];  /* SHARE_DELIVER only (SHARE_PUT: frame sender) */
	char init_sae[DSKE_NAME_MAX + 1];
	char resp_kme[DSKE_NAME_MAX + 1];
	char resp_sae[DSKE_NAME_MAX + 1];
	uint8_t n, k, x, codec;
	uint16_t key_len;                  /* bytes of key; share length = key_len + 32 (codec 1) */
	uint64_t expiry;                   /* unix seconds */
};
size_t wire_share_len(const struct wire_key_meta *m);   /* key_len + AMD overhead */

/* SHARE_PUT, initiator -> hub: count, metas (init_kme unused), otp_off, then the encrypted
 * shares concatenated in meta order (shares points into body, shares_len bytes). */
struct wire_share_put {
	uint16_t count;
	struct wire_key_meta *keys;        /* count entries, owned */
	uint64_t otp_off;
	const uint8_t *shares;             /* points into body */
	size_t shares_len;
};

enum wire_key_status {
	WIRE_ST_OK = 0,                /* stored / delivered / released */
	WIRE_ST_ALREADY = 1,           /* duplicate key ID, same client, same metadata: already stored */
	WIRE_ST_DUPLICATE = 2,         /* key ID exists with other client or metadata: refused */
	WIRE_ST_FORBIDDEN = 3,         /* init SAE not this client's / not the named responder */
	WIRE_ST_UNKNOWN = 4,           /* no such key (never stored, released or expired) */
	WIRE_ST_INVALID = 5,           /* bad metadata (n, k, x, lengths, unknown responder) */
	WIRE_ST_FULL = 6,              /* hub storage limit */
	WIRE_ST_PENDING = 7,           /* SHARE_STATUS: stored, not yet released */
	WIRE_ST_RELEASED = 8,          /* SHARE_STATUS: released by the responder */
	WIRE_ST_EXPIRED = 9,           /* SHARE_STATUS: expired and wiped */
};

struct wire_key_status_entry {
	uint8_t key_id[DSKE_KEY_ID_LEN];
	uint8_t status;                    /* enum wire_key_status */
};

/* SHARE_PUT_ACK, SHARE_RELEASE (responder -> hub, status = the delivery outcome),
 * SHARE_RELEASE_ACK, SHARE_STATUS_REPLY: req_mac_off (0 in SHARE_RELEASE) + status list. */
struct wire_status_list {
	uint64_t req_mac_off;              /* the request's mac_off, binding reply to request */
	uint16_t count;
	struct wire_key_status_entry *entries;  /* owned */
};

/* SHARE_LIST, responder -> hub: long poll. */
struct wire_share_list {
	uint64_t cursor;                   /* hub's sequence number; entries after it */
	uint32_t wait_ms;                  /* answer when shares wait or after this long (<= 60000) */
	uint16_t max;                      /* entries wanted, 1..WIRE_BATCH_MAX */
};

struct wire_list_entry {
	uint8_t key_id[DSKE_KEY_ID_LEN];
	char init_kme[DSKE_NAME_MAX + 1];
	char init_sae[DSKE_NAME_MAX + 1];
	char resp_sae[DSKE_NAME_MAX + 1];
	uint64_t expiry;
};

struct wire_share_list_reply {
	uint64_t req_mac_off;
	uint64_t next_cursor;
	uint16_t count;
	struct wire_list_entry *entries;   /* owned */
};

/* SHARE_GET, responder -> hub: key ids with the SAE pair the responder serves. SHARE_STATUS,
 * initiator -> hub, uses the same body (SAE fields: the pair the key was made for). */
struct wire_key_ref {
	uint8_t key_id[DSKE_KEY_ID_LEN];
	char init_sae[DSKE_NAME_MAX + 1];
	char resp_sae[DSKE_NAME_MAX + 1];
};
struct wire_share_get {
	uint16_t count;
	struct wire_key_ref *refs;         /* owned */
};

/* SHARE_DELIVER, hub -> responder: per key a status and (status OK) the stored metadata; otp_off
 * in the hub's stream; the encrypted shares of the OK entries concatenated in order. */
struct wire_deliver_entry {
	uint8_t status;
	struct wire_key_meta meta;         /* meaningful when status == WIRE_ST_OK; key_id always */
};
struct wire_share_deliver {
	uint64_t req_mac_off;
	uint16_t count;
	struct wire_deliver_entry *entries; /* owned */
	uint64_t otp_off;
	const uint8_t *shares;             /* points into body */
	size_t shares_len;
};

/* STREAM_STATUS (request) and STREAM_STATUS_REPLY: accounting, rollback defence, imports. */
struct wire_stream_status {
	uint64_t req_mac_off;              /* reply only; 0 in the request */
	uint64_t own_reserved;             /* sender's reservation mark on the stream it owns */
	uint64_t own_end;                  /* bytes imported on the stream the sender owns */
	uint64_t peer_accepted;            /* accepted mark (highest used end) on the peer's stream */
	uint64_t peer_end;                 /* bytes imported on the peer's stream */
	uint32_t last_block_own;           /* last block id imported, own stream */
	uint32_t last_block_peer;          /* last block id imported, peer's stream */
};

enum wire_error_code {
	WIRE_ERR_BAD_REQUEST = 1,
	WIRE_ERR_UNKNOWN_PEER = 2,
	WIRE_ERR_PSRD_EXHAUSTED = 3,
	WIRE_ERR_INTERNAL = 4,
	WIRE_ERR_TOO_MANY = 5,
};
struct wire_error {
	uint64_t req_mac_off;
	uint16_t code;                     /* enum wire_error_code */
	char message[256];                 /* u8 length + bytes on the wire, printable ASCII */
};

/* Encoders: *ret_body malloc'd (caller frees), *ret_len. 0, -EINVAL (a field out of range or a bad
 * name), -ENOMEM. Decoders: strict; on success the struct owns its arrays (free with the matching
 * _free), -EBADMSG on any malformation, -ENOMEM. */
int wire_encode_share_put(const struct wire_share_put *m, uint8_t **ret_body, size_t *ret_len);
int wire_decode_share_put(const uint8_t *body, size_t len, struct wire_share_put *ret);
void wire_share_put_free(struct wire_share_put *m);

int wire_encode_status_list(const struct wire_status_list *m, uint8_t **ret_body, size_t *ret_len);
int wire_decode_status_list(const uint8_t *body, size_t len, struct wire_status_list *ret);
void wire_status_list_free(struct wire_status_list *m);

int wire_encode_share_list(const struct wire_share_list *m, uint8_t **ret_body, size_t *ret_len);
int wire_decode_share_list(const uint8_t *body, size_t len, struct wire_share_list *ret);

int wire_encode_share_list_reply(const struct wire_share_list_reply *m, uint8_t **ret_body,
                                 size_t *ret_len);
int wire_decode_share_list_reply(const uint8_t *body, size_t len, struct wire_share_list_reply *ret);
void wire_share_list_reply_free(struct wire_share_list_reply *m);

int wire_encode_share_get(const struct wire_share_get *m, uint8_t **ret_body, size_t *ret_len);
int wire_decode_share_get(const uint8_t *body, size_t len, struct wire_share_get *ret);
void wire_share_get_free(struct wire_share_get *m);

int wire_encode_share_deliver(const struct wire_share_deliver *m, uint8_t **ret_body, size_t *ret_len);
int wire_decode_share_deliver(const uint8_t *body, size_t len, struct wire_share_deliver *ret);
void wire_share_deliver_free(struct wire_share_deliver *m);

int wire_encode_stream_status(const struct wire_stream_status *m, uint8_t **ret_body, size_t *ret_len);
int wire_decode_stream_status(const uint8_t *body, size_t len, struct wire_stream_status *ret);

int wire_encode_error(const struct wire_error *m, uint8_t **ret_body, size_t *ret_len);
int wire_decode_error(const uint8_t *body, size_t len, struct wire_error *ret);

const char *wire_type_name(uint8_t type);   /* "SHARE_PUT", ... or "UNKNOWN" */
