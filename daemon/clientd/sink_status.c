/* sink_status.c — keysvc_key_released (sink.h): SHARE_STATUS to the hubs, so a PPK initiator
 * knows the responder's sink holds a key before it switches to it (make-before-break). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientd/engine.h"
#include "clientd/sink.h"

struct status_ctx {
	struct keysvc *ks;
	struct wire_hdr req[CC_MAX_HUBS];
	uint8_t key_id[DSKE_KEY_ID_LEN];
};

/* 1 authenticated reply (*ret_status), 0 authenticated refusal, -EBADMSG otherwise. */
static int status_check(struct status_ctx *sc, unsigned i, const uint8_t *ans, size_t len,
                        uint8_t *ret_status)
{
	struct hub *h = &sc->ks->hubs[i];
	struct wire_status_list sl = { 0 };
	struct wire_hdr hdr;
	const uint8_t *body;
	int r = hub_check_answer(h, &sc->req[i], ans, len, WIRE_SHARE_STATUS_REPLY, &hdr, &body);

	if (r < 0)
		return -EBADMSG;
	if (hdr.type == WIRE_ERROR) {
		struct wire_error e;
		return hub_open_error(h, &sc->req[i], ans, len, &hdr, body, &e) < 0 ? -EBADMSG : 0;
	}
	if (wire_decode_status_list(body, hdr.body_len, &sl) < 0)
		return -EBADMSG;
	r = -EBADMSG;
	if (sl.req_mac_off == sc->req[i].mac_off && sl.count == 1 &&
	    memcmp(sl.entries[0].key_id, sc->key_id, DSKE_KEY_ID_LEN) == 0 &&
	    link_open(&h->link, ans, len, &hdr, NULL, 0) == 0) {
		*ret_status = sl.entries[0].status;
		r = 1;
	}
	wire_status_list_free(&sl);
	return r;
}

static bool status_late(void *cls, const struct hc_answer *a)
{
	uint8_t st;
	return status_check(cls, a->hub, a->body, a->len, &st) != -EBADMSG;
}

int keysvc_key_released(struct keysvc *ks, const char *master_sae, const char *slave_sae,
                        const uint8_t key_id[DSKE_KEY_ID_LEN], struct keysvc_err *err)
{
	const struct client_config *c = ks->cfg;
	struct wire_key_ref ref = { 0 };
	struct wire_share_get q = { .count = 1, .refs = &ref };
	struct status_ctx *sc;
	struct hc_round *round = NULL;
	uint8_t *body = NULL;
	unsigned answered = 0, released = 0, sent = 0;
	size_t blen;
	int r;

	if (client_config_sae_find(c, master_sae) < 0 || !ks->hc)
		return -EINVAL;
	memcpy(ref.key_id, key_id, DSKE_KEY_ID_LEN);
	snprintf(ref.init_sae, sizeof(ref.init_sae), "%s", master_sae);
	snprintf(ref.resp_sae, sizeof(ref.resp_sae), "%s", slave_sae);
	r = wire_encode_share_get(&q, &body, &blen);
	if (r < 0)
		return r;
	sc = calloc(1, sizeof(*sc));
	if (!sc || (r = hc_round_new(ks->hc, &round)) < 0) {
		free(body);
		free(sc);
		return sc ? r : -ENOMEM;
	}
	sc->ks = ks;
	memcpy(sc->key_id, key_id, DSKE_KEY_ID_LEN);
	for (unsigned i = 0; i < ks->n; i++) {
		uint8_t *frame;
		size_t flen;
		if (!hub_is_synced(ks, i) ||
		    hub_seal(&ks->hubs[i], WIRE_SHARE_STATUS, body, blen, &frame, &flen, &sc->req[i]) < 0)
			continue;
		hc_round_add(round, i, frame, flen);
		sent++;
	}
	free(body);
	uint64_t deadline = hc_now_ms() + c->hub_timeout_ms;
	hc_round_start(round, deadline);
	while (released < c->k && answered < sent) {
		struct hc_answer a;
		uint8_t st = 0;
		if (hc_round_next(round, deadline, &a) < 0)
			break;
		r = status_check(sc, a.hub, a.body, a.len, &st);
		if (r == -EBADMSG) {
			hub_note_bad(ks, a.hub, "SHARE_STATUS_REPLY does not authenticate");
			hc_round_retry(round, a.hub);
			continue;
		}
		answered++;
		if (r == 1 && st == WIRE_ST_RELEASED)
			released++;
	}
	hc_round_finish(round, status_late, free, sc);
	if (released >= c->k)
		return 1;
	if (answered < c->k) {
		ks_err(err, "%u of %u hubs answered, %u needed", answered, ks->n, c->k);
		return -EAGAIN;
	}
	return 0;
}

