/* hub_proto_msgs.c — the hub rules per request type (internals.md section 9, flows table) */
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

/* ------------------------------------------------------------------ SHARE_PUT */

static uint8_t put_check(struct req *q, struct wire_key_meta *m)
{
	struct hub_client *resp;
	uint64_t max_expiry = q->now + q->h->cfg.share_ttl_ms / 1000;

	if (!hub_client_has_sae(q->c, m->init_sae))
		return WIRE_ST_FORBIDDEN;
	resp = hub_registry_find(q->h->reg, m->resp_kme);
	if (!resp || !hub_client_has_sae(resp, m->resp_sae))
		return WIRE_ST_INVALID;
	if (m->k < 2 || m->k > m->n || m->x < 1 || m->x > m->n || m->x != hub_client_index(q->c) ||
	    m->codec != 1 || m->key_len == 0 || wire_share_len(m) > HUB_SHARE_MAX ||
	    m->expiry <= q->now)
		return WIRE_ST_INVALID;
	if (m->expiry > max_expiry)
		m->expiry = max_expiry;
	snprintf(m->init_kme, sizeof(m->init_kme), "%s", q->c->name);
	return WIRE_ST_OK;
}

void proto_share_put(struct req *q, struct hub_answer *ans)
{
	struct wire_share_put m;
	struct wire_status_list sl = { 0 };
	struct link_pad pad;
	uint8_t *buf = NULL;
	size_t off = 0, total = 0;
	unsigned stored = 0, refused = 0;
	int r;

	if (wire_decode_share_put(q->body, q->hdr.body_len, &m) < 0) {
		atomic_fetch_add(&q->h->malformed, 1);
		proto_set_text(ans, 400, "malformed SHARE_PUT body");
		return;
	}
	for (unsigned i = 0; i < m.count; i++)
		total += wire_share_len(&m.keys[i]);
	if (total != m.shares_len) {
		atomic_fetch_add(&q->h->malformed, 1);
		proto_set_text(ans, 400, "malformed SHARE_PUT body");
		goto out;
	}
	buf = sodium_malloc(total ? total : 1);
	sl.entries = calloc(m.count ? m.count : 1, sizeof(*sl.entries));
	if (!buf || !sl.entries) {
		proto_set_text(ans, 503, "hub out of memory");
		goto out;
	}
	pad = (struct link_pad){ .off = m.otp_off, .len = total, .out = buf };
	if (!proto_open_frame(q, &pad, total ? 1 : 0, ans))
		goto out;
	for (size_t i = 0; i < total; i++)
		buf[i] ^= m.shares[i];       /* plaintext shares, only after the tag verified */
	sl.count = m.count;
	for (unsigned i = 0; i < m.count; i++) {
		struct wire_key_meta *km = &m.keys[i];
		size_t slen = wire_share_len(km);
		uint64_t req_expiry = km->expiry;
		uint8_t st = put_check(q, km);
		char id[37];

		memcpy(sl.entries[i].key_id, km->key_id, DSKE_KEY_ID_LEN);
		if (st == WIRE_ST_OK) {
			r = hub_shares_put(q->h->shares, km, req_expiry, buf + off, slen, q->now, &st);
			if (r < 0) {
				log_error("client %s: cannot store share: %s", q->c->name, strerror(-r));
				proto_seal_error(q, WIRE_ERR_INTERNAL, "hub storage error", ans);
				goto out;
			}
		}
		off += slen;
		sl.entries[i].status = st;
		if (st == WIRE_ST_OK) {
			stored++;
			continue;
		}
		refused++;
		proto_key_str(km->key_id, id);
		if (st == WIRE_ST_DUPLICATE || st == WIRE_ST_FORBIDDEN || st == WIRE_ST_INVALID ||
		    st == WIRE_ST_FULL)
			log_notice("client %s: key %s refused: %s (init SAE %s, responder %s/%s)",
			           q->c->name, id,
			           st == WIRE_ST_DUPLICATE ? "duplicate key ID" :
			           st == WIRE_ST_FORBIDDEN ? "initiator SAE not registered for this client" :
			           st == WIRE_ST_FULL ? "share store full" : "invalid metadata",
			           km->init_sae, km->resp_kme, km->resp_sae);
		else
			log_debug("client %s: key %s already stored", q->c->name, id);
	}
	r = hub_shares_commit(q->h->shares);
	if (r < 0) {
		log_error("share store: cannot make shares durable: %s", strerror(-r));
		proto_seal_error(q, WIRE_ERR_INTERNAL, "hub storage error", ans);
		goto out;
	}
	if (stored)
		log_info("client %s: %u share(s) stored%s", q->c->name, stored, refused ? ", some refused" : "");
	proto_seal_status_list(q, WIRE_SHARE_PUT_ACK, &sl, ans);
out:
	sodium_free(buf);
	free(sl.entries);
	wire_share_put_free(&m);
}

/* ------------------------------------------------------------------ SHARE_LIST */

void proto_share_list(struct req *q, struct hub_answer *ans)
{
	struct wire_share_list m;
	struct wire_share_list_reply rep = { 0 };
	uint64_t wait_ms;
	uint16_t max;
	uint8_t *body = NULL;
	size_t blen = 0, fit;

	if (wire_decode_share_list(q->body, q->hdr.body_len, &m) < 0) {
		atomic_fetch_add(&q->h->malformed, 1);
		proto_set_text(ans, 400, "malformed SHARE_LIST body");
		return;
	}
	if (!proto_open_frame(q, NULL, 0, ans))
		return;
	wait_ms = m.wait_ms < HUB_LIST_WAIT_MAX_MS ? m.wait_ms : HUB_LIST_WAIT_MAX_MS;
	fit = (q->h->cfg.max_frame - WIRE_HDR_MAX - WIRE_TAG_LEN - 32) /
	      (DSKE_KEY_ID_LEN + 3 * (DSKE_NAME_MAX + 1) + 8);
	max = m.max < WIRE_BATCH_MAX ? m.max : WIRE_BATCH_MAX;
	if (max > fit)
		max = (uint16_t)fit;
	if (max == 0)
		max = 1;
	if (wait_ms) {
		/* counted from the frame's arrival, and a little early: the client's timeout runs
		 * from its send, and verifying and sealing take time (fdatasync) */
		uint64_t margin = wait_ms / 10 < 1000 ? wait_ms / 10 : 1000;
		atomic_fetch_add(&q->h->waiting_polls, 1);
		hub_shares_wait(q->h->shares, q->c->name, m.cursor, q->t0_ms + wait_ms - margin);
		atomic_fetch_sub(&q->h->waiting_polls, 1);
	}
	rep.entries = calloc(max, sizeof(*rep.entries));
	if (!rep.entries) {
		proto_seal_error(q, WIRE_ERR_INTERNAL, "hub out of memory", ans);
		return;
	}
	hub_shares_list(q->h->shares, q->c->name, m.cursor, max, rep.entries, &rep.count, &rep.next_cursor);
	rep.req_mac_off = q->hdr.mac_off;
	q->now = hub_shares_now();
	if (wire_encode_share_list_reply(&rep, &body, &blen) < 0)
		proto_seal_error(q, WIRE_ERR_INTERNAL, "cannot encode answer", ans);
	else
		proto_seal_answer(q, WIRE_SHARE_LIST_REPLY, body, blen, ans);
	free(body);
	free(rep.entries);
}

/* ------------------------------------------------------------------ SHARE_GET */

void proto_share_get(struct req *q, struct hub_answer *ans)
{
	struct wire_share_get m;
	struct wire_share_deliver d = { 0 };
	uint8_t *plain = NULL, *pad = NULL, *ct = NULL, *body = NULL;
	size_t total = 0, cap, blen = 0, budget;
	unsigned ok = 0;
	int r;

	if (wire_decode_share_get(q->body, q->hdr.body_len, &m) < 0) {
		atomic_fetch_add(&q->h->malformed, 1);
		proto_set_text(ans, 400, "malformed SHARE_GET body");
		return;
	}
	if (!proto_open_frame(q, NULL, 0, ans))
		goto out;
	cap = (size_t)m.count * HUB_SHARE_MAX;
	budget = q->h->cfg.max_frame / 2;     /* shares plus metadata must fit in one answer */
	plain = sodium_malloc(cap ? cap : 1);
	d.entries = calloc(m.count ? m.count : 1, sizeof(*d.entries));
	if (!plain || !d.entries) {
		proto_seal_error(q, WIRE_ERR_INTERNAL, "hub out of memory", ans);
		goto out;
	}
	d.count = m.count;
	for (unsigned i = 0; i < m.count; i++) {
		struct wire_deliver_entry *e = &d.entries[i];
		size_t slen = hub_shares_len(q->h->shares, m.refs[i].key_id);

		memcpy(e->meta.key_id, m.refs[i].key_id, DSKE_KEY_ID_LEN);
		if (slen && total + slen + (i + 1) * 300 > budget) {
			e->status = WIRE_ST_FULL;   /* answer would be too large: ask again */
			continue;
		}
		r = hub_shares_deliver(q->h->shares, &m.refs[i], q->c->name, q->h->cfg.max_redeliveries,
		                       q->now, &e->meta, plain + total, cap - total, &e->status);
		if (r < 0) {
			log_error("client %s: cannot read share: %s", q->c->name, strerror(-r));
			proto_seal_error(q, WIRE_ERR_INTERNAL, "hub storage error", ans);
			goto out;
		}
		if (e->status == WIRE_ST_OK) {
			total += wire_share_len(&e->meta);
			ok++;
		} else {
			char id[37];
			proto_key_str(m.refs[i].key_id, id);
			log_info("client %s: share %s not delivered: %s", q->c->name, id,
			         e->status == WIRE_ST_UNKNOWN ? "unknown" : "forbidden");
		}
	}
	r = hub_shares_commit(q->h->shares);      /* the delivery counts are durable first */
	if (r < 0) {
		proto_seal_error(q, WIRE_ERR_INTERNAL, "hub storage error", ans);
		goto out;
	}
	if (total) {
		pad = sodium_malloc(total);
		ct = malloc(total);
		if (!pad || !ct) {
			proto_seal_error(q, WIRE_ERR_INTERNAL, "hub out of memory", ans);
			goto out;
		}
		r = link_take_pad(&q->c->link, total, &d.otp_off, pad);
		if (r < 0) {
			log_error("client %s: cannot take a pad for %u share(s): %s", q->c->name, ok,
			          r == -ENOSPC ? "hub->client PSRD exhausted" : strerror(-r));
			proto_client_error(q->c, "hub->client PSRD exhausted");
			proto_set_text(ans, 503, "hub unable: PSRD exhausted");
			goto out;
		}
#ifdef DSKE_TEST_FAULTS
		if (q->h->fault_corrupt_shares)
			for (size_t i = 0; i < total; i++)
				plain[i] ^= q->h->fault_mask[i % sizeof(q->h->fault_mask)];
#endif
		for (size_t i = 0; i < total; i++)
			ct[i] = plain[i] ^ pad[i];
	}
	d.shares = ct;
	d.shares_len = total;
	d.req_mac_off = q->hdr.mac_off;
	if (wire_encode_share_deliver(&d, &body, &blen) < 0) {
		proto_seal_error(q, WIRE_ERR_INTERNAL, "cannot encode answer", ans);
		goto out;
	}
	if (ok)
		log_info("client %s: %u share(s) delivered", q->c->name, ok);
	proto_seal_answer(q, WIRE_SHARE_DELIVER, body, blen, ans);
out:
	if (plain)
		sodium_free(plain);
	if (pad)
		sodium_free(pad);
	free(ct);
	free(body);
	free(d.entries);
	wire_share_get_free(&m);
}

/* ------------------------------------------------------------------ SHARE_RELEASE, STATUS */

void proto_share_release(struct req *q, struct hub_answer *ans)
{
	struct wire_status_list m, rep = { 0 };
	unsigned released = 0;
	int r;

	if (wire_decode_status_list(q->body, q->hdr.body_len, &m) < 0) {
		atomic_fetch_add(&q->h->malformed, 1);
		proto_set_text(ans, 400, "malformed SHARE_RELEASE body");
		return;
	}
	if (!proto_open_frame(q, NULL, 0, ans))
		goto out;
	rep.entries = calloc(m.count ? m.count : 1, sizeof(*rep.entries));
	if (!rep.entries) {
		proto_seal_error(q, WIRE_ERR_INTERNAL, "hub out of memory", ans);
		goto out;
	}
	rep.count = m.count;
	for (unsigned i = 0; i < m.count; i++) {
		memcpy(rep.entries[i].key_id, m.entries[i].key_id, DSKE_KEY_ID_LEN);
		r = hub_shares_release(q->h->shares, m.entries[i].key_id, q->c->name, q->now,
		                       &rep.entries[i].status);
		if (r < 0) {
			log_error("client %s: cannot release share: %s", q->c->name, strerror(-r));
			proto_seal_error(q, WIRE_ERR_INTERNAL, "hub storage error", ans);
			goto out;
		}
		released += rep.entries[i].status == WIRE_ST_OK;
	}
	r = hub_shares_commit(q->h->shares);
	if (r < 0) {
		proto_seal_error(q, WIRE_ERR_INTERNAL, "hub storage error", ans);
		goto out;
	}
	if (released)
		log_info("client %s: %u share(s) released and wiped", q->c->name, released);
	proto_seal_status_list(q, WIRE_SHARE_RELEASE_ACK, &rep, ans);
out:
	free(rep.entries);
	wire_status_list_free(&m);
}

void proto_share_status(struct req *q, struct hub_answer *ans)
{
	struct wire_share_get m;
	struct wire_status_list rep = { 0 };

	if (wire_decode_share_get(q->body, q->hdr.body_len, &m) < 0) {
		atomic_fetch_add(&q->h->malformed, 1);
		proto_set_text(ans, 400, "malformed SHARE_STATUS body");
		return;
	}
	if (!proto_open_frame(q, NULL, 0, ans))
		goto out;
	rep.entries = calloc(m.count ? m.count : 1, sizeof(*rep.entries));
	if (!rep.entries) {
		proto_seal_error(q, WIRE_ERR_INTERNAL, "hub out of memory", ans);
		goto out;
	}
	rep.count = m.count;
	for (unsigned i = 0; i < m.count; i++) {
		memcpy(rep.entries[i].key_id, m.refs[i].key_id, DSKE_KEY_ID_LEN);
		rep.entries[i].status = hub_shares_status(q->h->shares, m.refs[i].key_id, q->c->name);
	}
	proto_seal_status_list(q, WIRE_SHARE_STATUS_REPLY, &rep, ans);
out:
	free(rep.entries);
	wire_share_get_free(&m);
}

void proto_stream_status(struct req *q, struct hub_answer *ans)
{
	struct wire_stream_status m, rep = { 0 };
	struct psrd_info rx, tx;
	uint8_t *body = NULL;
	size_t blen = 0;
	int r;

	if (wire_decode_stream_status(q->body, q->hdr.body_len, &m) < 0) {
		atomic_fetch_add(&q->h->malformed, 1);
		proto_set_text(ans, 400, "malformed STREAM_STATUS body");
		return;
	}
	if (!proto_open_frame(q, NULL, 0, ans))
		return;
	/* the client's view of our stream: never reuse what it accepted, use only what it has */
	r = psrd_stream_advance(q->c->h2c, m.peer_accepted);
	if (r < 0) {
		proto_seal_error(q, WIRE_ERR_INTERNAL, "cannot advance hub->client stream", ans);
		return;
	}
	psrd_stream_set_peer_end(q->c->h2c, m.peer_end);
	psrd_stream_info(q->c->h2c, &tx);
	psrd_stream_info(q->c->c2h, &rx);
	rep.req_mac_off = q->hdr.mac_off;
	rep.own_reserved = tx.reserved;
	rep.own_end = tx.end;
	rep.peer_accepted = rx.next;
	rep.peer_end = rx.end;
	rep.last_block_own = tx.last_block_id;
	rep.last_block_peer = rx.last_block_id;
	if (wire_encode_stream_status(&rep, &body, &blen) < 0) {
		proto_seal_error(q, WIRE_ERR_INTERNAL, "cannot encode answer", ans);
		return;
	}
	proto_seal_answer(q, WIRE_STREAM_STATUS_REPLY, body, blen, ans);
	free(body);
}
