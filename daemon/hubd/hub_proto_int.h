/* hub_proto_int.h — internals shared by hub_proto.c (the ordered checks, authentication,
 * sealing and caching of answers) and hub_proto_msgs.c (the hub rules per request type).
 * Not for other modules: use hub_proto.h. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "core/link.h"
#include "core/wire.h"
#include "hubd/hub_proto.h"

/* one request being handled */
struct req {
	struct hub *h;
	struct hub_client *c;
	const uint8_t *frame;
	size_t len;
	struct wire_hdr hdr;
	const uint8_t *body;
	uint64_t now;                    /* unix seconds */
	uint64_t t0_ms;                  /* CLOCK_MONOTONIC when the frame arrived */
};

void proto_key_str(const uint8_t id[DSKE_KEY_ID_LEN], char out[37]);
void proto_set_text(struct hub_answer *ans, unsigned status, const char *text);
void proto_client_error(struct hub_client *c, const char *msg);
/* Seal an answer on h2c, cache it for byte-identical retries, hand it out (503 if impossible). */
void proto_seal_answer(struct req *q, uint8_t type, const uint8_t *body, size_t blen,
                       struct hub_answer *ans);
/* An authenticated ERROR answer. */
void proto_seal_error(struct req *q, uint16_t code, const char *msg, struct hub_answer *ans);
void proto_seal_status_list(struct req *q, uint8_t type, struct wire_status_list *sl,
                            struct hub_answer *ans);
/* link_open with the body's pads; on refusal ans holds the HTTP error. true if accepted. */
bool proto_open_frame(struct req *q, struct link_pad *pads, size_t npads, struct hub_answer *ans);

/* hub_proto_msgs.c: after the frame parsed and its client is known; decode, open, apply, answer */
void proto_share_put(struct req *q, struct hub_answer *ans);
void proto_share_list(struct req *q, struct hub_answer *ans);
void proto_share_get(struct req *q, struct hub_answer *ans);
void proto_share_release(struct req *q, struct hub_answer *ans);
void proto_share_status(struct req *q, struct hub_answer *ans);
void proto_stream_status(struct req *q, struct hub_answer *ans);
