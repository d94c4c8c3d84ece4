/* hub_proto.c — see hub_proto.h (the per-type rules are in hub_proto_msgs.c) */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>
#include "common/log.h"
#include "core/link.h"
#include "core/wire.h"
#include "hubd/hub_proto_int.h"

void proto_key_str(const uint8_t id[DSKE_KEY_ID_LEN], char out[37])
{
	uuid_unparse_lower(id, out);
}

void proto_set_text(struct hub_answer *ans, unsigned status, const char *text)
{
	ans->status = status;
	ans->text = text;
	ans->frame = NULL;
	ans->len = 0;
}

void proto_client_error(struct hub_client *c, const char *msg)
{
	pthread_mutex_lock(&c->lock);
	c->errors++;
	snprintf(c->last_error, sizeof(c->last_error), "%s", msg);
	pthread_mutex_unlock(&c->lock);
}

/* Seal an answer of type on h2c, cache it for retries, hand it out. */
void proto_seal_answer(struct req *q, uint8_t type, const uint8_t *body, size_t blen,
                        struct hub_answer *ans)
{
	struct wire_hdr hdr = { .version = WIRE_VERSION, .type = type };
	uint8_t *out = NULL;
	size_t olen = 0;
	int r;

	memcpy(hdr.txn_id, q->hdr.txn_id, WIRE_TXN_LEN);
	r = link_seal(&q->c->link, &hdr, body, blen, &out, &olen);
	if (r < 0) {
		atomic_fetch_add(&q->h->unable, 1);
		log_error("client %s: cannot seal %s: %s", q->c->name, wire_type_name(type),
		          r == -ENOSPC ? "hub->client PSRD exhausted" : strerror(-r));
		proto_client_error(q->c, r == -ENOSPC ? "hub->client PSRD exhausted" : "cannot seal answer");
		proto_set_text(ans, 503, "hub unable to answer");
		return;
	}
	if (hub_replay_store(q->c->replay, q->hdr.mac_off, q->frame, q->len, out, olen, q->now) < 0)
		log_warn("client %s: answer not cached (out of memory)", q->c->name);
	atomic_fetch_add(&q->h->answered, 1);
	ans->status = 200;
	ans->frame = out;
	ans->len = olen;
	ans->text = NULL;
}

void proto_seal_error(struct req *q, uint16_t code, const char *msg, struct hub_answer *ans)
{
	struct wire_error e = { .req_mac_off = q->hdr.mac_off, .code = code };
	uint8_t *body = NULL;
	size_t blen = 0;

	snprintf(e.message, sizeof(e.message), "%s", msg);
	proto_client_error(q->c, msg);
	if (wire_encode_error(&e, &body, &blen) < 0) {
		proto_set_text(ans, 503, "hub unable to answer");
		return;
	}
	proto_seal_answer(q, WIRE_ERROR, body, blen, ans);
	free(body);
}

void proto_seal_status_list(struct req *q, uint8_t type, struct wire_status_list *sl,
                             struct hub_answer *ans)
{
	uint8_t *body = NULL;
	size_t blen = 0;

	sl->req_mac_off = q->hdr.mac_off;
	if (wire_encode_status_list(sl, &body, &blen) < 0) {
		proto_seal_error(q, WIRE_ERR_INTERNAL, "cannot encode answer", ans);
		return;
	}
	proto_seal_answer(q, type, body, blen, ans);
	free(body);
}

/* link_open outcome -> HTTP answer; true when the frame was accepted. */
bool proto_open_frame(struct req *q, struct link_pad *pads, size_t npads, struct hub_answer *ans)
{
	struct hub_client *c = q->c;
	int r = link_open(&c->link, q->frame, q->len, &q->hdr, pads, npads);

	if (r == 0) {
		pthread_mutex_lock(&c->lock);
		c->frames++;
		pthread_mutex_unlock(&c->lock);
		return true;
	}
	switch (r) {   /* link_open counted the refusal on the stream */
	case -EBADMSG: {
		uint64_t total, since = 0;
		bool warn = false;
		atomic_fetch_add(&q->h->bad_tags, 1);
		pthread_mutex_lock(&c->lock);
		total = ++c->bad_tags;
		if (q->now >= c->bad_window_start + HUB_BAD_TAG_WINDOW_S) {
			c->bad_window_start = q->now;
			c->bad_window_count = 0;
		}
		c->bad_window_count++;
		if (q->now >= c->bad_last_log + 10) {   /* at most one warning per 10 s per client */
			warn = true;
			since = total - c->bad_logged_count;
			c->bad_logged_count = total;
			c->bad_last_log = q->now;
		}
		pthread_mutex_unlock(&c->lock);
		if (warn)
			log_warn("client %s: %s frame with a bad tag refused (%llu since last warning, "
			         "%llu in total)", c->name, wire_type_name(q->hdr.type),
			         (unsigned long long)since, (unsigned long long)total);
		proto_set_text(ans, 401, "tag does not verify");
		return false;
	}
	case -ESTALE:
	case -ERANGE:
		atomic_fetch_add(&q->h->replays, 1);
		pthread_mutex_lock(&c->lock);
		c->replays++;
		pthread_mutex_unlock(&c->lock);
		log_info("client %s: %s frame refused: %s (mac_off %llu)", c->name,
		         wire_type_name(q->hdr.type),
		         r == -ESTALE ? "PSRD range already used (replay)" : "PSRD range not imported",
		         (unsigned long long)q->hdr.mac_off);
		proto_set_text(ans, 409, r == -ESTALE ? "replay or stale PSRD range" : "PSRD range beyond imported data");
		return false;
	case -EPROTO:
		atomic_fetch_add(&q->h->malformed, 1);
		proto_set_text(ans, 400, "frame names do not match this link");
		return false;
	default:
		atomic_fetch_add(&q->h->unable, 1);
		log_error("client %s: cannot open frame: %s", c->name, strerror(-r));
		proto_set_text(ans, 503, "hub unable to verify");
		return false;
	}
}

/* ------------------------------------------------------------------ entry */

static bool rate_limited(struct req *q)
{
	bool limited;

	pthread_mutex_lock(&q->c->lock);
	limited = q->now < q->c->bad_window_start + HUB_BAD_TAG_WINDOW_S &&
	          q->c->bad_window_count >= HUB_BAD_TAG_LIMIT;
	pthread_mutex_unlock(&q->c->lock);
	return limited;
}

void hub_proto_handle(struct hub *h, const uint8_t *frame, size_t len, struct hub_answer *ans)
{
	struct req q = { .h = h, .frame = frame, .len = len, .now = hub_shares_now(),
	                 .t0_ms = hub_shares_mono_ms() };
	uint8_t *cached = NULL;
	size_t clen = 0;
	int r;

	atomic_fetch_add(&h->frames, 1);
	if (len > h->cfg.max_frame) {
		atomic_fetch_add(&h->too_large, 1);
		proto_set_text(ans, 413, "frame too large");
		return;
	}
	r = wire_frame_parse(frame, len, h->cfg.max_frame, &q.hdr, &q.body);
	if (r < 0) {
		atomic_fetch_add(r == -E2BIG ? &h->too_large : &h->malformed, 1);
		proto_set_text(ans, r == -E2BIG ? 413 : 400,
		         r == -EPROTONOSUPPORT ? "unsupported protocol version" :
		         r == -E2BIG ? "frame too large" : "malformed frame");
		return;
	}
	if (strcmp(q.hdr.receiver, h->cfg.name) != 0) {
		atomic_fetch_add(&h->malformed, 1);
		proto_set_text(ans, 400, "frame is not addressed to this hub");
		return;
	}
	switch (q.hdr.type) {
	case WIRE_SHARE_PUT: case WIRE_SHARE_LIST: case WIRE_SHARE_GET: case WIRE_SHARE_RELEASE:
	case WIRE_SHARE_STATUS: case WIRE_STREAM_STATUS:
		break;
	default:
		atomic_fetch_add(&h->malformed, 1);
		proto_set_text(ans, 400, "not a request type");
		return;
	}
	q.c = hub_registry_find(h->reg, q.hdr.sender);
	if (!q.c) {
		atomic_fetch_add(&h->unknown_client, 1);
		log_debug("frame from unknown client %s refused", q.hdr.sender);
		proto_set_text(ans, 404, "unknown client");
		return;
	}
	if (rate_limited(&q)) {
		atomic_fetch_add(&h->rate_limited, 1);
		proto_set_text(ans, 429, "too many bad tags: rate limited");
		return;
	}
	switch (hub_replay_lookup(q.c->replay, q.hdr.mac_off, frame, len, q.now, &cached, &clen)) {
	case HUB_REPLAY_HIT:
		atomic_fetch_add(&h->replays, 1);
		log_debug("client %s: retry of %s answered from the cache", q.c->name,
		          wire_type_name(q.hdr.type));
		ans->status = 200;
		ans->frame = cached;
		ans->len = clen;
		ans->text = NULL;
		return;
	case HUB_REPLAY_CONFLICT:
		atomic_fetch_add(&h->conflicts, 1);
		pthread_mutex_lock(&q.c->lock);
		q.c->conflicts++;
		pthread_mutex_unlock(&q.c->lock);
		log_info("client %s: frame reuses mac_off %llu with other bytes: refused", q.c->name,
		         (unsigned long long)q.hdr.mac_off);
		proto_set_text(ans, 409, "mac_off already used by another frame");
		return;
	case HUB_REPLAY_MISS:
		break;
	}
	switch (q.hdr.type) {
	case WIRE_SHARE_PUT: proto_share_put(&q, ans); break;
	case WIRE_SHARE_LIST: proto_share_list(&q, ans); break;
	case WIRE_SHARE_GET: proto_share_get(&q, ans); break;
	case WIRE_SHARE_RELEASE: proto_share_release(&q, ans); break;
	case WIRE_SHARE_STATUS: proto_share_status(&q, ans); break;
	default: proto_stream_status(&q, ans); break;
	}
}

