/* initiator.c — Get key: draw keys, AMD-encode each with its context, Shamir-split the codeword
 * into one share per hub (x = the hub's configured index), send one SHARE_PUT per hub with all the
 * batch's shares (OTP-encrypted on our c2h stream), in parallel, and return the keys once
 * k + ack_margin hubs acknowledged, or k acknowledged and ack_deadline passed; never with fewer
 * than k (internals.md section 9). */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "clientd/engine.h"
#include "clientd/secmem.h"
#include "common/log.h"
#include "core/amd.h"
#include "core/rng.h"
#include "core/shamir.h"

struct put_ctx {
	struct keysvc *ks;
	unsigned count;
	struct wire_hdr req[CC_MAX_HUBS];
	uint8_t (*ids)[DSKE_KEY_ID_LEN];   /* count key IDs, to check the acks */
};

static void put_ctx_free(void *p)
{
	struct put_ctx *pc = p;
	if (!pc)
		return;
	free(pc->ids);
	free(pc);
}

/* Authenticate a SHARE_PUT_ACK. 1: all keys stored; 0: authenticated refusal (reason in why);
 * -EBADMSG: not an acceptable answer. */
static int check_ack(struct put_ctx *pc, unsigned i, const uint8_t *ans, size_t len,
                     char *why, size_t whylen)
{
	struct hub *h = &pc->ks->hubs[i];
	struct wire_hdr hdr;
	const uint8_t *body;
	struct wire_status_list sl = { 0 };
	int r;

	r = hub_check_answer(h, &pc->req[i], ans, len, WIRE_SHARE_PUT_ACK, &hdr, &body);
	if (r < 0)
		return -EBADMSG;
	if (hdr.type == WIRE_ERROR) {
		struct wire_error e;
		if (hub_open_error(h, &pc->req[i], ans, len, &hdr, body, &e) < 0)
			return -EBADMSG;
		snprintf(why, whylen, "SHARE_PUT refused: %s (code %u)", e.message, e.code);
		return 0;
	}
	if (wire_decode_status_list(body, hdr.body_len, &sl) < 0)
		return -EBADMSG;
	r = -EBADMSG;
	if (sl.req_mac_off != pc->req[i].mac_off || sl.count != pc->count)
		goto out;
	for (unsigned j = 0; j < sl.count; j++)
		if (memcmp(sl.entries[j].key_id, pc->ids[j], DSKE_KEY_ID_LEN))
			goto out;
	if (link_open(&h->link, ans, len, &hdr, NULL, 0) < 0)
		goto out;
	r = 1;
	for (unsigned j = 0; j < sl.count; j++) {
		uint8_t st = sl.entries[j].status;
		if (st != WIRE_ST_OK && st != WIRE_ST_ALREADY) {
			char id[37];
			uuid_unparse_lower(sl.entries[j].key_id, id);
			snprintf(why, whylen, "SHARE_PUT refused for key %s: status %u", id, st);
			r = 0;
			break;
		}
	}
out:
	wire_status_list_free(&sl);
	return r;
}

static bool put_late(void *cls, const struct hc_answer *a)
{
	struct put_ctx *pc = cls;
	char why[400];
	int r = check_ack(pc, a->hub, a->body, a->len, why, sizeof(why));
	if (r == -EBADMSG) {
		hub_note_bad(pc->ks, a->hub, "SHARE_PUT_ACK does not authenticate");
		return false;
	}
	if (r == 0)
		hub_note_refusal(pc->ks, a->hub, why);
	return true;
}

/* Build and seal hub i's SHARE_PUT from the shares (shares + j*n*slen + i*slen). */
static int build_put(struct keysvc *ks, unsigned i, struct put_ctx *pc, const uint8_t *shares,
                     uint8_t *pad, size_t key_len, const char *master, const char *peer,
                     const char *slave, uint64_t expiry, uint8_t **ret_frame, size_t *ret_len)
{
	struct hub *h = &ks->hubs[i];
	unsigned n = ks->n, count = pc->count;
	size_t slen = amd_codeword_len(key_len), total = (size_t)count * slen;
	struct wire_key_meta *metas = calloc(count, sizeof(*metas));
	uint8_t *ct = malloc(total);
	uint8_t *body = NULL;
	size_t blen;
	uint64_t otp_off;
	int r;

	if (!metas || !ct) {
		r = -ENOMEM;
		goto out;
	}
	for (unsigned j = 0; j < count; j++) {
		struct wire_key_meta *m = &metas[j];
		memcpy(m->key_id, pc->ids[j], DSKE_KEY_ID_LEN);
		snprintf(m->init_kme, sizeof(m->init_kme), "%s", ks->cfg->name);
		snprintf(m->init_sae, sizeof(m->init_sae), "%s", master);
		snprintf(m->resp_kme, sizeof(m->resp_kme), "%s", peer);
		snprintf(m->resp_sae, sizeof(m->resp_sae), "%s", slave);
		m->n = (uint8_t)n;
		m->k = (uint8_t)ks->cfg->k;
		m->x = h->cfg->index;
		m->codec = AMD_CODEC_VERSION;
		m->key_len = (uint16_t)key_len;
		m->expiry = expiry;
	}
	r = link_take_pad(&h->link, total, &otp_off, pad);
	if (r < 0)
		goto out;
	for (unsigned j = 0; j < count; j++) {
		const uint8_t *s = shares + ((size_t)j * n + i) * slen;
		for (size_t b = 0; b < slen; b++)
			ct[(size_t)j * slen + b] = s[b] ^ pad[(size_t)j * slen + b];
	}
	struct wire_share_put put = { .count = (uint16_t)count, .keys = metas, .otp_off = otp_off,
	                              .shares = ct, .shares_len = total };
	r = wire_encode_share_put(&put, &body, &blen);
	if (r < 0)
		goto out;
	r = hub_seal(h, WIRE_SHARE_PUT, body, blen, ret_frame, ret_len, &pc->req[i]);
out:
	free(metas);
	free(ct);
	free(body);
	sodium_memzero(pad, total);
	return r;
}

int initiator_make_keys(struct keysvc *ks, const char *master, unsigned peer, const char *slave,
                        unsigned number, size_t key_len, struct keysvc_batch **ret,
                        struct keysvc_err *err)
{
	struct client_config *c = ks->cfg;
	const char *peer_name = c->peers[peer].name;
	unsigned n = ks->n, k = c->k;
	size_t slen = amd_codeword_len(key_len);
	struct keysvc_batch *batch = NULL;
	struct put_ctx *pc = NULL;
	struct hc_round *round = NULL;
	uint8_t *work = NULL;                 /* codeword + shares + one pad, guarded */
	uint8_t xs[CC_MAX_HUBS];
	uint32_t use = 0;
	unsigned nuse = 0, acks = 0, unsynced = 0;
	const char *low = NULL;
	int r;

	/* which hubs can take part: synchronised, PSRD above the reserve */
	for (unsigned i = 0; i < n; i++) {
		uint64_t tx, rx;
		xs[i] = c->hubs[i].index;
		if (!hub_is_synced(ks, i)) {
			unsynced++;
			continue;
		}
		hub_psrd_left(&ks->hubs[i], &tx, &rx);
		if (tx < c->psrd_reserve + (uint64_t)number * slen + 64 || rx < c->psrd_reserve) {
			if (!low)
				low = c->hubs[i].name;
			continue;
		}
		use |= 1u << i;
		nuse++;
	}
	if (nuse < k) {
		if (low) {
			ks_err(err, "PSRD exhausted for hub %s", low);
			r = -ENOSPC;
		} else {
			ks_err(err, "%u of %u hubs answered, %u needed", n - unsynced, n, k);
			r = -EAGAIN;
		}
		goto out;
	}

	pc = calloc(1, sizeof(*pc));
	r = -ENOMEM;
	if (!pc || !(pc->ids = calloc(number, DSKE_KEY_ID_LEN)))
		goto out;
	pc->ks = ks;
	pc->count = number;
	r = keysvc_batch_new(number, (size_t)number * key_len, &batch);
	if (r < 0)
		goto out;
	work = secmem_alloc(slen + (size_t)number * n * slen + (size_t)number * slen);
	if (!work) {
		r = -ENOMEM;
		goto out;
	}
	uint8_t *cw = work, *shares = work + slen, *pad = shares + (size_t)number * n * slen;
	uint8_t *kp = batch->keys[0].key;
	for (unsigned j = 0; j < number; j++) {
		struct keysvc_key *key = &batch->keys[j];
		uint8_t *ptrs[CC_MAX_HUBS];
		uuid_generate_random(key->key_id);
		memcpy(pc->ids[j], key->key_id, DSKE_KEY_ID_LEN);
		key->key = kp + (size_t)j * key_len;
		key->len = key_len;
		r = rng_bytes(key->key, key_len);
		if (r < 0)
			goto out;
		struct amd_context ctx = { .init_kme = c->name, .resp_kme = peer_name,
		                           .init_sae = master, .resp_sae = slave,
		                           .n = (uint8_t)n, .k = (uint8_t)k, .key_len = (uint16_t)key_len,
		                           .codec = AMD_CODEC_VERSION };
		memcpy(ctx.key_id, key->key_id, DSKE_KEY_ID_LEN);
		r = amd_encode(&ctx, key->key, key_len, cw);
		if (r < 0)
			goto out;
		for (unsigned i = 0; i < n; i++)
			ptrs[i] = shares + ((size_t)j * n + i) * slen;
		r = shamir_split(cw, slen, n, k, xs, ptrs);
		if (r < 0)
			goto out;
	}
	sodium_memzero(cw, slen);

	r = hc_round_new(ks->hc, &round);
	if (r < 0)
		goto out;
	uint64_t expiry = ks_now_s() + c->key_ttl_s;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *frame;
		size_t flen;
		if (!(use & (1u << i)))
			continue;
		r = build_put(ks, i, pc, shares, pad, key_len, master, peer_name, slave, expiry, &frame,
		              &flen);
		if (r < 0) {
			if (r == -ENOSPC && !low)
				low = c->hubs[i].name;
			(void)log_warn_errno(r, "hub %s: cannot make SHARE_PUT", c->hubs[i].name);
			use &= ~(1u << i);
			nuse--;
			continue;
		}
		hc_round_add(round, i, frame, flen);
	}
	sodium_memzero(shares, (size_t)number * n * slen);
	if (nuse < k) {
		if (low) {
			ks_err(err, "PSRD exhausted for hub %s", low);
			r = -ENOSPC;
		} else {
			ks_err(err, "%u of %u hubs answered, %u needed", 0u, n, k);
			r = -EAGAIN;
		}
		goto out;
	}

	uint64_t now = hc_now_ms(), deadline = now + c->hub_timeout_ms, t_k = 0;
	unsigned want = k + c->ack_margin < nuse ? k + c->ack_margin : nuse;
	hc_round_start(round, deadline);
	while (acks < want) {
		struct hc_answer a;
		char why[400];
		uint64_t until = deadline;
		if (acks >= k && t_k + c->ack_deadline_ms < until)
			until = t_k + c->ack_deadline_ms;
		r = hc_round_next(round, until, &a);
		if (r < 0)
			break;
		r = check_ack(pc, a.hub, a.body, a.len, why, sizeof(why));
		if (r == -EBADMSG) {
			hub_note_bad(ks, a.hub, "SHARE_PUT_ACK does not authenticate");
			hc_round_retry(round, a.hub);
			continue;
		}
		if (r == 0) {
			hub_note_refusal(ks, a.hub, why);
			continue;
		}
		if (++acks == k)
			t_k = hc_now_ms();
	}
	if (acks < k) {
		ks_err(err, "%u of %u hubs answered, %u needed", acks, n, k);
		pthread_mutex_lock(&ks->lock);
		ks->rounds_failed++;
		pthread_mutex_unlock(&ks->lock);
		r = -EAGAIN;
		goto out;
	}
	pthread_mutex_lock(&ks->lock);
	ks->keys_made += number;
	pthread_mutex_unlock(&ks->lock);
	*ret = batch;
	batch = NULL;
	r = 0;
out:
	if (round) {
		hc_round_finish(round, put_late, put_ctx_free, pc);
		pc = NULL;
	}
	put_ctx_free(pc);
	secmem_free(work);
	keysvc_batch_free(batch);
	return r;
}
