/* responder.c — the responder side (internals.md section 9, protocol.md section 6):
 *   - one long-poll SHARE_LIST thread per hub notes keys waiting for us;
 *   - the fetcher sends SHARE_GET to the hubs (in parallel, batched), authenticates each
 *     SHARE_DELIVER, decrypts the shares into guarded memory, groups them by the metadata each hub
 *     relayed and rebuilds the key with reconstruct_key() (x, n, k and our own name from the local
 *     configuration; authorization from the AMD-verified context only); hubs whose share
 *     disagrees are counted as faulty; the key goes to the key pool;
 *   - a Get key with key IDs for a key not held yet fetches at once (responder_demand);
 *   - the releaser sends SHARE_RELEASE to every hub once a key was delivered.
 * Locking: r->lock guards the pending table; it may be held while taking ks->lock or the key
 * pool's lock, never the other way round. */
#include <errno.h>
#include <search.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "clientd/engine.h"
#include "clientd/secmem.h"
#include "common/log.h"
#include "core/amd.h"
#include "core/reconstruct.h"
#include "core/shamir.h"

#define SHARE_SLOT (AMD_KEY_MAX + AMD_OVERHEAD)
#define PEND_IDLE_MS (120 * 1000)
#define RESYNC_MS 2000                /* STREAM_STATUS while the hub lacks a block we have */     /* forget a key no hub lists any more after this */

struct pmeta {
	char init_kme[DSKE_NAME_MAX + 1], init_sae[DSKE_NAME_MAX + 1];
	char resp_kme[DSKE_NAME_MAX + 1], resp_sae[DSKE_NAME_MAX + 1];
	uint8_t n, k, codec;
	uint16_t key_len;
	uint64_t expiry;
};

struct pend {
	uint8_t key_id[DSKE_KEY_ID_LEN];
	char init_sae[DSKE_NAME_MAX + 1], resp_sae[DSKE_NAME_MAX + 1];  /* the ref we ask with */
	uint64_t created_ms, expiry_s;
	uint32_t listed, inflight, got, nack;   /* bit i = hub i */
	bool demanded, want_all;
	bool done;                              /* rebuilt; kept only to check late shares */
	bool gone;                              /* more than n - k hubs said it is not there */
	uint32_t refused;                       /* hubs that answered (authenticated): UNKNOWN */
	uint32_t good;                          /* done: hubs whose shares gave the key */
	uint64_t demand_until;
	struct pmeta *meta;                     /* n entries, valid where got */
	uint8_t *shares;                        /* secmem_alloc(n * SHARE_SLOT) */
	struct pend *prev, *next;
};

struct responder {
	struct keysvc *ks;
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* fetcher: work arrived */
	pthread_cond_t held;        /* demand waiters: a key was rebuilt or given up */
	pthread_cond_t rel_cond;    /* releaser: ids queued */
	pthread_cond_t poll_cond;   /* pollers: kicked / stop */
	void *tree;
	struct pend *head;
	size_t npend;
	uint8_t *scratch;           /* AMD_KEY_MAX, guarded: the rebuilt key */
	bool stop, stopped;
	bool *kick;
	pthread_t *pollers;
	unsigned npollers;
	pthread_t fetcher, releaser;
	bool fetcher_started, releaser_started;
	uint8_t (*relq)[DSKE_KEY_ID_LEN];
	size_t nrel, relcap;
	uint64_t released;
};

static int cmp_pend(const void *a, const void *b)
{
	return memcmp(((const struct pend *)a)->key_id, ((const struct pend *)b)->key_id,
	              DSKE_KEY_ID_LEN);
}

static struct pend *pend_find(struct responder *r, const uint8_t *id)
{
	struct pend k;
	memcpy(k.key_id, id, DSKE_KEY_ID_LEN);
	void *p = tfind(&k, &r->tree, cmp_pend);
	return p ? *(struct pend **)p : NULL;
}

static struct pend *pend_new(struct responder *r, const uint8_t *id, const char *init_sae,
                             const char *resp_sae, uint64_t expiry)
{
	unsigned n = r->ks->n;
	struct pend *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->meta = calloc(n, sizeof(*p->meta));
	p->shares = secmem_alloc((size_t)n * SHARE_SLOT);
	if (!p->meta || !p->shares)
		goto fail;
	memcpy(p->key_id, id, DSKE_KEY_ID_LEN);
	snprintf(p->init_sae, sizeof(p->init_sae), "%s", init_sae);
	snprintf(p->resp_sae, sizeof(p->resp_sae), "%s", resp_sae);
	p->created_ms = hc_now_ms();
	p->expiry_s = expiry;
	if (!tsearch(p, &r->tree, cmp_pend))
		goto fail;
	p->next = r->head;
	if (r->head)
		r->head->prev = p;
	r->head = p;
	r->npend++;
	return p;
fail:
	free(p->meta);
	secmem_free(p->shares);
	free(p);
	return NULL;
}

static void pend_drop(struct responder *r, struct pend *p)
{
	tdelete(p, &r->tree, cmp_pend);
	if (p->prev)
		p->prev->next = p->next;
	else
		r->head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	r->npend--;
	secmem_free(p->shares);   /* wipes */
	free(p->meta);
	free(p);
}

static void id_str(const uint8_t *id, char out[37])
{
	uuid_unparse_lower(id, out);
}

/* ---------------------------------------------------------------- release */

static void queue_release(struct responder *r, const uint8_t (*ids)[DSKE_KEY_ID_LEN], size_t count)
{
	/* r->lock held */
	if (r->nrel + count > r->relcap) {
		size_t cap = r->relcap ? r->relcap : 256;
		while (cap < r->nrel + count)
			cap *= 2;
		void *n = realloc(r->relq, cap * DSKE_KEY_ID_LEN);
		if (!n) {
			log_warn("out of memory queueing %zu releases (the hubs expire them)", count);
			return;
		}
		r->relq = n;
		r->relcap = cap;
	}
	memcpy(r->relq + r->nrel, ids, count * DSKE_KEY_ID_LEN);
	r->nrel += count;
	pthread_cond_signal(&r->rel_cond);
}

void responder_release(struct responder *r, const uint8_t (*ids)[DSKE_KEY_ID_LEN], size_t count)
{
	pthread_mutex_lock(&r->lock);
	queue_release(r, ids, count);
	pthread_mutex_unlock(&r->lock);
}

struct rel_ctx {
	struct keysvc *ks;
	struct wire_hdr req[CC_MAX_HUBS];
};

static int release_check(struct rel_ctx *rc, unsigned i, const uint8_t *ans, size_t len)
{
	struct hub *h = &rc->ks->hubs[i];
	struct wire_hdr hdr;
	const uint8_t *body;
	struct wire_status_list sl = { 0 };
	int r;

	if (hub_check_answer(h, &rc->req[i], ans, len, WIRE_SHARE_RELEASE_ACK, &hdr, &body) < 0)
		return -EBADMSG;
	if (hdr.type == WIRE_ERROR) {
		struct wire_error e;
		if (hub_open_error(h, &rc->req[i], ans, len, &hdr, body, &e) < 0)
			return -EBADMSG;
		char msg[400];
		snprintf(msg, sizeof(msg), "SHARE_RELEASE refused: %s", e.message);
		hub_note_refusal(rc->ks, i, msg);
		return 0;
	}
	if (wire_decode_status_list(body, hdr.body_len, &sl) < 0)
		return -EBADMSG;
	r = sl.req_mac_off == rc->req[i].mac_off ? link_open(&h->link, ans, len, &hdr, NULL, 0) : -EBADMSG;
	wire_status_list_free(&sl);
	return r < 0 ? -EBADMSG : 0;
}

static bool release_late(void *cls, const struct hc_answer *a)
{
	struct rel_ctx *rc = cls;
	if (release_check(rc, a->hub, a->body, a->len) < 0) {
		hub_note_bad(rc->ks, a->hub, "SHARE_RELEASE_ACK does not authenticate");
		return false;
	}
	return true;
}

static void release_batch(struct responder *r, const uint8_t (*ids)[DSKE_KEY_ID_LEN], size_t count)
{
	struct keysvc *ks = r->ks;
	struct wire_key_status_entry *e = calloc(count, sizeof(*e));
	struct rel_ctx *rc = calloc(1, sizeof(*rc));
	struct hc_round *round = NULL;
	uint8_t *body = NULL;
	size_t blen;
	struct hc_answer a;

	if (!e || !rc || hc_round_new(ks->hc, &round) < 0)
		goto out;
	rc->ks = ks;
	for (size_t j = 0; j < count; j++) {
		memcpy(e[j].key_id, ids[j], DSKE_KEY_ID_LEN);
		e[j].status = WIRE_ST_OK;
	}
	struct wire_status_list sl = { .req_mac_off = 0, .count = (uint16_t)count, .entries = e };
	if (wire_encode_status_list(&sl, &body, &blen) < 0)
		goto out;
	for (unsigned i = 0; i < ks->n; i++) {
		uint8_t *frame;
		size_t flen;
		if (!hub_is_synced(ks, i))
			continue;
		if (hub_seal(&ks->hubs[i], WIRE_SHARE_RELEASE, body, blen, &frame, &flen, &rc->req[i]) < 0)
			continue;
		hc_round_add(round, i, frame, flen);
	}
	uint64_t deadline = hc_now_ms() + 4 * ks->cfg->hub_timeout_ms;
	hc_round_start(round, deadline);
	while (!r->stop && hc_round_next(round, deadline, &a) == 0)
		if (release_check(rc, a.hub, a.body, a.len) < 0) {
			hub_note_bad(ks, a.hub, "SHARE_RELEASE_ACK does not authenticate");
			hc_round_retry(round, a.hub);
		}
	pthread_mutex_lock(&r->lock);
	r->released += count;
	pthread_mutex_unlock(&r->lock);
out:
	if (round) {
		hc_round_finish(round, release_late, free, rc);
		rc = NULL;
	}
	free(rc);
	free(e);
	free(body);
}

static void *releaser_main(void *arg)
{
	struct responder *r = arg;
	uint8_t (*batch)[DSKE_KEY_ID_LEN] = malloc((size_t)WIRE_BATCH_MAX * DSKE_KEY_ID_LEN);

	if (!batch)
		return NULL;
	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->nrel && !r->stop)
			pthread_cond_wait(&r->rel_cond, &r->lock);
		if (r->stop)
			break;
		size_t n = r->nrel < WIRE_BATCH_MAX ? r->nrel : WIRE_BATCH_MAX;
		memcpy(batch, r->relq, n * DSKE_KEY_ID_LEN);
		memmove(r->relq, r->relq + n, (r->nrel - n) * DSKE_KEY_ID_LEN);
		r->nrel -= n;
		pthread_mutex_unlock(&r->lock);
		release_batch(r, (const uint8_t (*)[DSKE_KEY_ID_LEN])batch, n);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	free(batch);
	return NULL;
}

/* ---------------------------------------------------------------- rebuild */

static bool meta_same(const struct pmeta *a, const struct pmeta *b)
{
	return !strcmp(a->init_kme, b->init_kme) && !strcmp(a->init_sae, b->init_sae) &&
	       !strcmp(a->resp_kme, b->resp_kme) && !strcmp(a->resp_sae, b->resp_sae) &&
	       a->n == b->n && a->k == b->k && a->codec == b->codec && a->key_len == b->key_len;
}

/* Is the claimed context one this client may accept? Fills the kp_meta indexes. */
static bool meta_acceptable(struct keysvc *ks, const struct pmeta *m, struct kp_meta *km)
{
	struct client_config *c = ks->cfg;
	unsigned sidx;
	int peer, local;

	if (strcmp(m->resp_kme, c->name) || m->n != ks->n || m->k != c->k ||
	    m->codec != AMD_CODEC_VERSION || !m->key_len || m->key_len > AMD_KEY_MAX)
		return false;
	peer = client_config_peer_find(c, m->init_kme);
	local = client_config_sae_find(c, m->resp_sae);
	if (peer < 0 || local < 0 || client_config_peer_of_sae(c, m->init_sae, &sidx) != peer)
		return false;
	km->peer = (uint16_t)peer;
	km->init_sae = (uint16_t)sidx;
	km->resp_sae = (uint16_t)local;
	return true;
}

/* r->lock held. Try to rebuild p from the shares it has. Returns true when p is finished (rebuilt
 * or given up) and was dropped. */
static bool try_rebuild(struct responder *r, struct pend *p)
{
	struct keysvc *ks = r->ks;
	unsigned n = ks->n, k = ks->cfg->k;
	uint32_t tried = 0;
	char id[37];

	if ((unsigned)__builtin_popcount(p->got) < k)
		return false;
	id_str(p->key_id, id);
	for (unsigned g = 0; g < n; g++) {
		if (!(p->got & (1u << g)) || (tried & (1u << g)))
			continue;
		/* the group of hubs that relayed the same metadata as hub g */
		uint32_t group = 0;
		for (unsigned i = 0; i < n; i++)
			if ((p->got & (1u << i)) && meta_same(&p->meta[g], &p->meta[i]))
				group |= 1u << i;
		tried |= group;
		if ((unsigned)__builtin_popcount(group) < k)
			continue;
		struct kp_meta km = { 0 };
		const struct pmeta *m = &p->meta[g];
		if (!meta_acceptable(ks, m, &km)) {
			log_warn("key %s: %d hubs relay a context this client does not accept "
			         "(from %s/%s to %s/%s)", id, __builtin_popcount(group), m->init_kme,
			         m->init_sae, m->resp_kme, m->resp_sae);
			continue;
		}
		struct amd_context ctx = { .init_kme = m->init_kme, .resp_kme = ks->cfg->name,
		                           .init_sae = m->init_sae, .resp_sae = m->resp_sae,
		                           .n = (uint8_t)n, .k = (uint8_t)k, .key_len = m->key_len,
		                           .codec = AMD_CODEC_VERSION };
		memcpy(ctx.key_id, p->key_id, DSKE_KEY_ID_LEN);
		struct recon_share sh[CC_MAX_HUBS];
		unsigned hubof[CC_MAX_HUBS], cnt = 0;
		for (unsigned i = 0; i < n; i++)
			if (group & (1u << i)) {
				sh[cnt].x = ks->hubs[i].cfg->index;
				sh[cnt].data = p->shares + (size_t)i * SHARE_SLOT;
				hubof[cnt++] = i;
			}
		uint32_t bad = 0;
		int rc = reconstruct_key(&ctx, sh, cnt, k, r->scratch, &bad);
		if (rc < 0)
			continue;
		/* accepted: every hub outside the agreeing set is faulty */
		uint32_t faulty = p->got & ~group;
		for (unsigned j = 0; j < cnt; j++)
			if (bad & (1u << j))
				faulty |= 1u << hubof[j];
		if (faulty) {
			pthread_mutex_lock(&ks->lock);
			for (unsigned i = 0; i < n; i++)
				if (faulty & (1u << i)) {
					ks->hubs[i].faults++;
					snprintf(ks->hubs[i].last_error, sizeof(ks->hubs[i].last_error),
					         "share of key %s disagrees", id);
				}
			pthread_mutex_unlock(&ks->lock);
			for (unsigned i = 0; i < n; i++)
				if (faulty & (1u << i))
					log_warn("hub %s: its share of key %s disagrees with the rebuilt key (faulty)",
					         ks->hubs[i].cfg->name, id);
		}
		memcpy(km.key_id, p->key_id, DSKE_KEY_ID_LEN);
		km.expiry = m->expiry < p->expiry_s || !p->expiry_s ? m->expiry : p->expiry_s;
		uint32_t good = 0;
		for (unsigned j = 0; j < cnt; j++)
			if (!(bad & (1u << j)))
				good |= 1u << hubof[j];
		rc = keypool_put(ks->pool, &km, r->scratch, m->key_len);
		sodium_memzero(r->scratch, AMD_KEY_MAX);
		if (rc == 0) {
			pthread_mutex_lock(&ks->lock);
			ks->keys_rebuilt++;
			pthread_mutex_unlock(&ks->lock);
			sink_notify_ready(ks, &km);
			log_debug("key %s rebuilt from %u shares for %s", id, cnt, m->resp_sae);
		} else if (rc == -EEXIST) {
			if (keypool_was_delivered(ks->pool, p->key_id))
				queue_release(r, (const uint8_t (*)[DSKE_KEY_ID_LEN])&p->key_id, 1);
		} else {
			(void)log_warn_errno(rc, "key %s: cannot hold it (max_keys_per_peer = %u)", id,
			               ks->cfg->max_keys_per_peer);
		}
		if (rc == 0 && p->inflight) {
			/* shares still on their way are checked against the key when they arrive
			 * (late_check), so a lying hub that answers after the first k is named too */
			p->done = true;
			p->good = good;
			p->meta[0] = *m;
		} else {
			pend_drop(r, p);
		}
		pthread_cond_broadcast(&r->held);
		return true;
	}
	/* nothing passed: ask every hub that has not answered yet */
	p->want_all = true;
	uint32_t all = (n >= 32 ? UINT32_MAX : (1u << n) - 1);
	if ((p->got | p->nack) == all && !p->inflight) {
		log_error("key %s: no %u shares of the %d received pass the AMD check; given up", id, k,
		          __builtin_popcount(p->got));
		pthread_mutex_lock(&ks->lock);
		ks->keys_failed++;
		pthread_mutex_unlock(&ks->lock);
		pend_drop(r, p);
		pthread_cond_broadcast(&r->held);
		return true;
	}
	pthread_cond_signal(&r->cond);
	return false;
}

/* r->lock held. p was rebuilt from the hubs in p->good (their shares still in p->shares); hub i's
 * share (plain, slen bytes, with the metadata it relayed) arrived late: it must be the value of
 * the same polynomial at hub i's x, with the same metadata, or hub i is faulty. */
static void late_check(struct responder *r, struct pend *p, unsigned i, const uint8_t *share,
                       size_t slen, const struct wire_key_meta *meta)
{
	struct keysvc *ks = r->ks;
	const struct pmeta *m = &p->meta[0];
	uint8_t xs[CC_MAX_HUBS], *expect = NULL;
	const uint8_t *pts[CC_MAX_HUBS];
	unsigned k = ks->cfg->k, cnt = 0;
	bool faulty = true;
	char id[37];

	if (strcmp(meta->init_kme, m->init_kme) || strcmp(meta->init_sae, m->init_sae) ||
	    strcmp(meta->resp_kme, m->resp_kme) || strcmp(meta->resp_sae, m->resp_sae) ||
	    meta->n != m->n || meta->k != m->k || meta->codec != m->codec ||
	    meta->key_len != m->key_len || slen != (size_t)m->key_len + AMD_OVERHEAD)
		goto out;
	for (unsigned j = 0; j < ks->n && cnt < k; j++)
		if (p->good & (1u << j)) {
			xs[cnt] = ks->hubs[j].cfg->index;
			pts[cnt++] = p->shares + (size_t)j * SHARE_SLOT;
		}
	expect = sodium_malloc(slen);
	if (cnt < k || !expect ||
	    shamir_eval(xs, pts, k, slen, ks->hubs[i].cfg->index, expect) < 0) {
		faulty = false;            /* cannot tell: say nothing */
		goto out;
	}
	faulty = sodium_memcmp(expect, share, slen) != 0;
out:
	if (expect)
		sodium_free(expect);
	if (!faulty)
		return;
	id_str(p->key_id, id);
	pthread_mutex_lock(&ks->lock);
	ks->hubs[i].faults++;
	snprintf(ks->hubs[i].last_error, sizeof(ks->hubs[i].last_error), "share of key %s disagrees", id);
	pthread_mutex_unlock(&ks->lock);
	log_warn("hub %s: its share of key %s disagrees with the rebuilt key (faulty)",
	         ks->hubs[i].cfg->name, id);
}

/* ---------------------------------------------------------------- fetch */

struct fetch_ctx {
	struct responder *r;
	struct wire_hdr req[CC_MAX_HUBS];
	size_t nrefs[CC_MAX_HUBS];
	uint8_t (*ids[CC_MAX_HUBS])[DSKE_KEY_ID_LEN];
	uint32_t answered;
};

static void fetch_ctx_free(void *cls)
{
	struct fetch_ctx *fc = cls;
	struct responder *r = fc->r;
	/* hubs that never answered: their keys may be asked again */
	pthread_mutex_lock(&r->lock);
	for (unsigned i = 0; i < r->ks->n; i++) {
		if (fc->answered & (1u << i))
			continue;
		for (size_t j = 0; j < fc->nrefs[i]; j++) {
			struct pend *p = pend_find(r, fc->ids[i][j]);
			if (p) {
				p->inflight &= ~(1u << i);
				p->nack |= 1u << i;
				if (p->done && !p->inflight)
					pend_drop(r, p);
			}
		}
	}
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	for (unsigned i = 0; i < CC_MAX_HUBS; i++)
		free(fc->ids[i]);
	free(fc);
}

/* Authenticate hub i's SHARE_DELIVER and apply it. 0, -EBADMSG (retry). */
static int deliver_apply(struct fetch_ctx *fc, unsigned i, const uint8_t *ans, size_t len)
{
	struct responder *r = fc->r;
	struct keysvc *ks = r->ks;
	struct hub *h = &ks->hubs[i];
	struct wire_hdr hdr;
	const uint8_t *body;
	struct wire_share_deliver d = { 0 };
	uint8_t *pad = NULL;
	int rc = -EBADMSG;

	if (hub_check_answer(h, &fc->req[i], ans, len, WIRE_SHARE_DELIVER, &hdr, &body) < 0)
		return -EBADMSG;
	if (hdr.type == WIRE_ERROR) {
		struct wire_error e;
		if (hub_open_error(h, &fc->req[i], ans, len, &hdr, body, &e) < 0)
			return -EBADMSG;
		char msg[400];
		snprintf(msg, sizeof(msg), "SHARE_GET refused: %s", e.message);
		hub_note_refusal(ks, i, msg);
		memset(&d, 0, sizeof(d));
		d.count = 0;
		rc = 0;
		goto apply;
	}
	if (wire_decode_share_deliver(body, hdr.body_len, &d) < 0)
		return -EBADMSG;
	if (d.req_mac_off != fc->req[i].mac_off || d.count != fc->nrefs[i])
		goto out;
	for (unsigned j = 0; j < d.count; j++) {
		if (memcmp(d.entries[j].meta.key_id, fc->ids[i][j], DSKE_KEY_ID_LEN))
			goto out;
		if (d.entries[j].status == WIRE_ST_OK &&
		    (!d.entries[j].meta.key_len || d.entries[j].meta.key_len > AMD_KEY_MAX))
			goto out;
	}
	pad = secmem_alloc(d.shares_len ? d.shares_len : 1);
	if (!pad) {
		rc = -ENOMEM;
		goto out;
	}
	struct link_pad lp = { .off = d.otp_off, .len = d.shares_len, .out = pad };
	if (link_open(&h->link, ans, len, &hdr, d.shares_len ? &lp : NULL, d.shares_len ? 1 : 0) < 0)
		goto out;
	rc = 0;
apply:
	pthread_mutex_lock(&r->lock);
	fc->answered |= 1u << i;
	size_t off = 0;
	for (size_t j = 0; j < fc->nrefs[i]; j++) {
		struct pend *p = pend_find(r, fc->ids[i][j]);
		const struct wire_deliver_entry *e = j < d.count ? &d.entries[j] : NULL;
		size_t slen = e && e->status == WIRE_ST_OK ? wire_share_len(&e->meta) : 0;
		if (p && p->done) {
			/* a share arriving after the key was rebuilt: check it, keep nothing */
			p->inflight &= ~(1u << i);
			if (slen && slen <= SHARE_SLOT) {
				uint8_t *dst = p->shares + (size_t)i * SHARE_SLOT;
				for (size_t b = 0; b < slen; b++)
					dst[b] = d.shares[off + b] ^ pad[off + b];
				late_check(r, p, i, dst, slen, &e->meta);
			}
			if (!p->inflight)
				pend_drop(r, p);
		} else if (p) {
			p->inflight &= ~(1u << i);
			if (slen) {
				struct pmeta *m = &p->meta[i];
				uint8_t *dst = p->shares + (size_t)i * SHARE_SLOT;
				for (size_t b = 0; b < slen; b++)
					dst[b] = d.shares[off + b] ^ pad[off + b];
				snprintf(m->init_kme, sizeof(m->init_kme), "%s", e->meta.init_kme);
				snprintf(m->init_sae, sizeof(m->init_sae), "%s", e->meta.init_sae);
				snprintf(m->resp_kme, sizeof(m->resp_kme), "%s", e->meta.resp_kme);
				snprintf(m->resp_sae, sizeof(m->resp_sae), "%s", e->meta.resp_sae);
				m->n = e->meta.n;
				m->k = e->meta.k;
				m->codec = e->meta.codec;
				m->key_len = e->meta.key_len;
				m->expiry = e->meta.expiry;
				p->got |= 1u << i;
			} else {
				p->nack |= 1u << i;
				p->listed &= ~(1u << i);
				if (e && e->status == WIRE_ST_UNKNOWN)
					p->refused |= 1u << i;
				/* the initiator returned the key only once k hubs stored their shares,
				 * so when more than n - k hubs say (authenticated) they have no share,
				 * the key does not exist for us (never made, released or expired):
				 * stop asking, and let a waiting Get key with key IDs answer at once
				 * instead of re-asking every hub until fetch_deadline */
				if ((unsigned)__builtin_popcount(p->refused) > ks->n - ks->cfg->k &&
				    !p->gone) {
					p->gone = true;
					pthread_cond_broadcast(&r->held);
				}
			}
			if (!p->gone)
				try_rebuild(r, p);
		}
		off += slen;
	}
	pthread_mutex_unlock(&r->lock);
out:
	secmem_free(pad);   /* wipes */
	wire_share_deliver_free(&d);
	return rc;
}

static bool fetch_late(void *cls, const struct hc_answer *a)
{
	struct fetch_ctx *fc = cls;
	if (deliver_apply(fc, a->hub, a->body, a->len) == -EBADMSG) {
		hub_note_bad(fc->r->ks, a->hub, "SHARE_DELIVER does not authenticate");
		return false;
	}
	return true;
}

static uint32_t synced_mask(struct keysvc *ks)
{
	uint32_t m = 0;
	pthread_mutex_lock(&ks->lock);
	for (unsigned i = 0; i < ks->n; i++)
		if (ks->hubs[i].synced)
			m |= 1u << i;
	pthread_mutex_unlock(&ks->lock);
	return m;
}

/* r->lock held: which hubs to ask for p now. */
static uint32_t ask_mask(struct responder *r, struct pend *p, uint32_t synced, uint64_t now)
{
	unsigned k = r->ks->cfg->k;
	if (p->done || p->gone)
		return 0;
	uint32_t base;
	if (p->want_all)
		base = synced;
	else if ((unsigned)__builtin_popcount(p->listed | p->got) >= k)
		base = p->listed;
	else
		return 0;
	return base & synced & ~p->got & ~p->inflight & ~p->nack;
}

/* r->lock held: drop pends nobody needs any more. */
static void housekeeping(struct responder *r, uint64_t now)
{
	uint64_t now_s = ks_now_s();
	for (struct pend *p = r->head, *n; p; p = n) {
		n = p->next;
		if (p->inflight)
			continue;
		bool expired = p->expiry_s && p->expiry_s <= now_s;
		bool idle = !p->demanded && now > p->created_ms + PEND_IDLE_MS;
		if (p->demanded && now > p->demand_until + 1000) {
			p->demanded = false;
			idle = !p->listed;
		}
		if (expired || idle) {
			pend_drop(r, p);
			pthread_cond_broadcast(&r->held);
		}
	}
}

static void *fetcher_main(void *arg)
{
	struct responder *r = arg;
	struct keysvc *ks = r->ks;
	uint64_t last_hk = 0;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		uint64_t now = hc_now_ms();
		uint32_t synced = synced_mask(ks);
		struct fetch_ctx *fc = NULL;
		bool any = false;

		if (now > last_hk + 1000) {
			housekeeping(r, now);
			/* wipe keys nobody took before their expiry, forget old tombstones */
			size_t n = keypool_expire(ks->pool, ks_now_s());
			if (n)
				log_info("%zu held key(s) expired undelivered and were wiped", n);
			last_hk = now;
		}
		for (struct pend *p = r->head; p; p = p->next) {
			uint32_t m = ask_mask(r, p, synced, now);
			if (!m)
				continue;
			if (!fc) {
				fc = calloc(1, sizeof(*fc));
				if (!fc)
					break;
				fc->r = r;
			}
			for (unsigned i = 0; i < ks->n; i++) {
				if (!(m & (1u << i)) || fc->nrefs[i] >= WIRE_BATCH_MAX)
					continue;
				if (!fc->ids[i] && !(fc->ids[i] = malloc((size_t)WIRE_BATCH_MAX * DSKE_KEY_ID_LEN)))
					continue;
				memcpy(fc->ids[i][fc->nrefs[i]++], p->key_id, DSKE_KEY_ID_LEN);
				p->inflight |= 1u << i;
				any = true;
			}
		}
		if (!any) {
			if (fc)
				free(fc);
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t wait = 1000;
			ts.tv_nsec += (long)(wait % 1000) * 1000000;
			ts.tv_sec += (time_t)(wait / 1000) + ts.tv_nsec / 1000000000;
			ts.tv_nsec %= 1000000000;
			pthread_cond_timedwait(&r->cond, &r->lock, &ts);
			continue;
		}
		/* build the SHARE_GETs outside the lock: refs need the SAEs of each pend */
		struct wire_key_ref *refs[CC_MAX_HUBS] = { 0 };
		for (unsigned i = 0; i < ks->n; i++) {
			if (!fc->nrefs[i])
				continue;
			refs[i] = calloc(fc->nrefs[i], sizeof(*refs[i]));
			for (size_t j = 0; refs[i] && j < fc->nrefs[i]; j++) {
				struct pend *p = pend_find(r, fc->ids[i][j]);
				memcpy(refs[i][j].key_id, fc->ids[i][j], DSKE_KEY_ID_LEN);
				snprintf(refs[i][j].init_sae, sizeof(refs[i][j].init_sae), "%s", p->init_sae);
				snprintf(refs[i][j].resp_sae, sizeof(refs[i][j].resp_sae), "%s", p->resp_sae);
			}
		}
		pthread_mutex_unlock(&r->lock);

		struct hc_round *round = NULL;
		unsigned sent = 0;
		if (hc_round_new(ks->hc, &round) == 0) {
			for (unsigned i = 0; i < ks->n; i++) {
				uint8_t *body = NULL, *frame = NULL;
				size_t blen, flen;
				if (!refs[i])
					continue;
				struct wire_share_get g = { .count = (uint16_t)fc->nrefs[i], .refs = refs[i] };
				int rc = wire_encode_share_get(&g, &body, &blen);
				if (rc >= 0)
					rc = hub_seal(&ks->hubs[i], WIRE_SHARE_GET, body, blen, &frame, &flen, &fc->req[i]);
				free(body);
				if (rc < 0) {
					(void)log_warn_errno(rc, "hub %s: cannot make SHARE_GET", ks->hubs[i].cfg->name);
					continue;
				}
				if (hc_round_add(round, i, frame, flen) == 0)
					sent++;
			}
		}
		for (unsigned i = 0; i < ks->n; i++)
			free(refs[i]);
		if (round && sent) {
			uint64_t deadline = hc_now_ms() + ks->cfg->hub_timeout_ms;
			struct hc_answer a;
			hc_round_start(round, deadline);
			/* wait while some key of this round is still being fetched */
			for (;;) {
				int rc = hc_round_next(round, deadline, &a);
				if (rc < 0)
					break;
				if (deliver_apply(fc, a.hub, a.body, a.len) == -EBADMSG) {
					hub_note_bad(ks, a.hub, "SHARE_DELIVER does not authenticate");
					hc_round_retry(round, a.hub);
				}
				bool open = false;
				pthread_mutex_lock(&r->lock);
				for (unsigned i = 0; i < ks->n && !open; i++)
					for (size_t j = 0; j < fc->nrefs[i] && !open; j++) {
						struct pend *p = pend_find(r, fc->ids[i][j]);
						if (p && (unsigned)__builtin_popcount(p->got) < ks->cfg->k && p->inflight)
							open = true;
					}
				pthread_mutex_unlock(&r->lock);
				if (!open || r->stop)
					break;
			}
		}
		if (round)
			hc_round_finish(round, fetch_late, fetch_ctx_free, fc);
		else
			fetch_ctx_free(fc);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* ---------------------------------------------------------------- SHARE_LIST pollers */

struct list_ctx {
	struct keysvc *ks;
	struct wire_hdr req;
	unsigned hub;
};

/* Authenticate a SHARE_LIST_REPLY; *ret decoded (caller frees). 0, -EBADMSG, -EREMOTE. */
static int list_check(struct list_ctx *lc, const uint8_t *ans, size_t len,
                      struct wire_share_list_reply *ret)
{
	struct hub *h = &lc->ks->hubs[lc->hub];
	struct wire_hdr hdr;
	const uint8_t *body;

	if (hub_check_answer(h, &lc->req, ans, len, WIRE_SHARE_LIST_REPLY, &hdr, &body) < 0)
		return -EBADMSG;
	if (hdr.type == WIRE_ERROR) {
		struct wire_error e;
		if (hub_open_error(h, &lc->req, ans, len, &hdr, body, &e) < 0)
			return -EBADMSG;
		char msg[400];
		snprintf(msg, sizeof(msg), "SHARE_LIST refused: %s", e.message);
		hub_note_refusal(lc->ks, lc->hub, msg);
		return -EREMOTE;
	}
	if (wire_decode_share_list_reply(body, hdr.body_len, ret) < 0)
		return -EBADMSG;
	if (ret->req_mac_off != lc->req.mac_off || link_open(&h->link, ans, len, &hdr, NULL, 0) < 0) {
		wire_share_list_reply_free(ret);
		return -EBADMSG;
	}
	return 0;
}

static bool list_late(void *cls, const struct hc_answer *a)
{
	struct wire_share_list_reply rep = { 0 };
	int rc = list_check(cls, a->body, a->len, &rep);
	if (rc == 0)
		wire_share_list_reply_free(&rep);
	return rc != -EBADMSG;
}

static void note_listed(struct responder *r, unsigned hub, const struct wire_share_list_reply *rep)
{
	struct keysvc *ks = r->ks;
	uint64_t now_s = ks_now_s();

	pthread_mutex_lock(&r->lock);
	for (unsigned j = 0; j < rep->count; j++) {
		const struct wire_list_entry *e = &rep->entries[j];
		if (keypool_was_delivered(ks->pool, e->key_id)) {
			/* delivered, but this hub still has it: release again */
			queue_release(r, (const uint8_t (*)[DSKE_KEY_ID_LEN])&e->key_id, 1);
			continue;
		}
		if (keypool_has(ks->pool, e->key_id, now_s))
			continue;
		if (client_config_sae_find(ks->cfg, e->resp_sae) < 0) {
			char id[37];
			id_str(e->key_id, id);
			log_debug("hub %s lists key %s for SAE %s, not ours: ignored", ks->hubs[hub].cfg->name,
			          id, e->resp_sae);
			continue;
		}
		struct pend *p = pend_find(r, e->key_id);
		if (!p)
			p = pend_new(r, e->key_id, e->init_sae, e->resp_sae, e->expiry);
		if (!p)
			continue;
		if (!p->listed) {
			/* the hubs' view of the SAE pair replaces a guess from a Get key with key IDs */
			snprintf(p->init_sae, sizeof(p->init_sae), "%s", e->init_sae);
			snprintf(p->resp_sae, sizeof(p->resp_sae), "%s", e->resp_sae);
			p->nack = 0;
		}
		p->listed |= 1u << hub;
		p->nack &= ~(1u << hub);
	}
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

struct poller_arg {
	struct responder *r;
	unsigned hub;
};

static bool poll_wait_stop(struct responder *r, unsigned hub, uint64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	ts.tv_sec += (time_t)(ms / 1000) + ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	pthread_mutex_lock(&r->lock);
	if (!r->stop && !r->kick[hub])
		pthread_cond_timedwait(&r->poll_cond, &r->lock, &ts);
	bool stop = r->stop;
	pthread_mutex_unlock(&r->lock);
	return stop;
}

static void *poller_main(void *arg)
{
	struct poller_arg *pa = arg;
	struct responder *r = pa->r;
	struct keysvc *ks = r->ks;
	unsigned hub = pa->hub;
	uint64_t cursor = 0, backoff = 250, next_resync = 0;

	free(pa);
	for (;;) {
		pthread_mutex_lock(&r->lock);
		bool stop = r->stop;
		r->kick[hub] = false;
		pthread_mutex_unlock(&r->lock);
		if (stop)
			break;
		if (!hub_is_synced(ks, hub)) {
			hubset_sync(ks, 1u << hub, hc_now_ms() + ks->cfg->hub_timeout_ms);
			if (!hub_is_synced(ks, hub)) {
				if (poll_wait_stop(r, hub, backoff))
					break;
				backoff = backoff * 2 > 10000 ? 10000 : backoff * 2;
				continue;
			}
		}
		backoff = 250;
		/* we imported a block the hub has not confirmed: ask again now and then, so the block
		 * is used once the hub imported its half too */
		if (hub_has_unconfirmed_psrd(&ks->hubs[hub]) && hc_now_ms() >= next_resync) {
			hubset_resync(ks, 1u << hub, hc_now_ms() + ks->cfg->hub_timeout_ms);
			next_resync = hc_now_ms() + RESYNC_MS;
		}

		struct list_ctx *lc = calloc(1, sizeof(*lc));
		struct hc_round *round = NULL;
		uint8_t *body = NULL, *frame = NULL;
		size_t blen, flen;
		int rc = -ENOMEM;
		if (!lc)
			goto wait;
		lc->ks = ks;
		lc->hub = hub;
		struct wire_share_list sl = { .cursor = cursor, .wait_ms = (uint32_t)ks->cfg->poll_wait_ms,
		                              .max = WIRE_BATCH_MAX };
		rc = wire_encode_share_list(&sl, &body, &blen);
		if (rc >= 0)
			rc = hub_seal(&ks->hubs[hub], WIRE_SHARE_LIST, body, blen, &frame, &flen, &lc->req);
		free(body);
		if (rc >= 0)
			rc = hc_round_new(ks->hc, &round);
		if (rc < 0) {
			free(frame);
			free(lc);
			(void)log_warn_errno(rc, "hub %s: cannot make SHARE_LIST", ks->hubs[hub].cfg->name);
			goto wait;
		}
		hc_round_add(round, hub, frame, flen);
		uint64_t deadline = hc_now_ms() + ks->cfg->poll_wait_ms + ks->cfg->hub_timeout_ms;
		hc_round_start(round, deadline);
		bool got = false;
		for (;;) {
			struct hc_answer a;
			uint64_t now = hc_now_ms();
			uint64_t until = now + 250 < deadline ? now + 250 : deadline;
			rc = hc_round_next(round, until, &a);
			if (rc == -ETIMEDOUT) {
				pthread_mutex_lock(&r->lock);
				bool out = r->stop || r->kick[hub];
				pthread_mutex_unlock(&r->lock);
				if (out || hc_now_ms() >= deadline)
					break;
				continue;
			}
			if (rc < 0)
				break;
			struct wire_share_list_reply rep = { 0 };
			rc = list_check(lc, a.body, a.len, &rep);
			if (rc == -EBADMSG) {
				hub_note_bad(ks, hub, "SHARE_LIST_REPLY does not authenticate");
				hc_round_retry(round, hub);
				continue;
			}
			if (rc == 0) {
				note_listed(r, hub, &rep);
				cursor = rep.next_cursor;
				wire_share_list_reply_free(&rep);
				got = true;
			}
			break;
		}
		hc_round_finish(round, list_late, free, lc);
		if (got)
			continue;
wait:
		if (poll_wait_stop(r, hub, backoff))
			break;
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
	return NULL;
}

/* ---------------------------------------------------------------- API */

int responder_new(struct keysvc *ks, struct responder **ret)
{
	struct responder *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;

	if (!r)
		return -ENOMEM;
	r->ks = ks;
	r->scratch = sodium_malloc(AMD_KEY_MAX);
	r->kick = calloc(ks->n ? ks->n : 1, sizeof(bool));
	r->pollers = calloc(ks->n ? ks->n : 1, sizeof(pthread_t));
	if (!r->scratch || !r->kick || !r->pollers) {
		responder_free(r);
		return -ENOMEM;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_cond_init(&r->held, &ca);
	pthread_cond_init(&r->rel_cond, &ca);
	pthread_cond_init(&r->poll_cond, &ca);
	pthread_condattr_destroy(&ca);
	*ret = r;
	return 0;
}

int responder_start(struct responder *r)
{
	if (pthread_create(&r->fetcher, NULL, fetcher_main, r))
		return -EAGAIN;
	r->fetcher_started = true;
	if (pthread_create(&r->releaser, NULL, releaser_main, r))
		return -EAGAIN;
	r->releaser_started = true;
	for (unsigned i = 0; i < r->ks->n; i++) {
		struct poller_arg *pa = malloc(sizeof(*pa));
		if (!pa)
			return -ENOMEM;
		pa->r = r;
		pa->hub = i;
		if (pthread_create(&r->pollers[i], NULL, poller_main, pa)) {
			free(pa);
			return -EAGAIN;
		}
		r->npollers++;
	}
	return 0;
}

void responder_stop(struct responder *r)
{
	if (!r || !r->pollers || r->stopped)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_cond_broadcast(&r->rel_cond);
	pthread_cond_broadcast(&r->poll_cond);
	pthread_cond_broadcast(&r->held);
	pthread_mutex_unlock(&r->lock);
	for (unsigned i = 0; i < r->npollers; i++)
		pthread_join(r->pollers[i], NULL);
	if (r->fetcher_started)
		pthread_join(r->fetcher, NULL);
	if (r->releaser_started)
		pthread_join(r->releaser, NULL);
	r->stopped = true;
}

void responder_free(struct responder *r)
{
	if (!r)
		return;
	if (r->pollers) {
		responder_stop(r);
		while (r->head)
			pend_drop(r, r->head);
		pthread_cond_destroy(&r->cond);
		pthread_cond_destroy(&r->held);
		pthread_cond_destroy(&r->rel_cond);
		pthread_cond_destroy(&r->poll_cond);
		pthread_mutex_destroy(&r->lock);
	}
	if (r->scratch)
		sodium_free(r->scratch);
	free(r->kick);
	free(r->pollers);
	free(r->relq);
	free(r);
}

void responder_kick(struct responder *r, unsigned hub)
{
	pthread_mutex_lock(&r->lock);
	r->kick[hub] = true;
	pthread_cond_broadcast(&r->poll_cond);
	pthread_mutex_unlock(&r->lock);
}

size_t responder_pending(struct responder *r)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->npend;
	pthread_mutex_unlock(&r->lock);
	return n;
}

uint64_t responder_released(struct responder *r)
{
	pthread_mutex_lock(&r->lock);
	uint64_t n = r->released;
	pthread_mutex_unlock(&r->lock);
	return n;
}

int responder_master_of(struct responder *r, const uint8_t id[DSKE_KEY_ID_LEN], const char *peer_kme,
                        char master[DSKE_NAME_MAX + 1])
{
	const struct client_config *c = r->ks->cfg;
	int peer = client_config_peer_find(c, peer_kme), rc = -ENOENT;
	unsigned sidx;

	pthread_mutex_lock(&r->lock);
	struct pend *p = pend_find(r, id);
	if (p && p->init_sae[0] && peer >= 0 && client_config_peer_of_sae(c, p->init_sae, &sidx) == peer) {
		snprintf(master, DSKE_NAME_MAX + 1, "%s", p->init_sae);
		rc = 0;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int responder_demand(struct responder *r, const uint8_t (*ids)[DSKE_KEY_ID_LEN], size_t count,
                     const char *master, const char *slave, uint64_t until_ms)
{
	struct keysvc *ks = r->ks;
	struct timespec ts = { .tv_sec = (time_t)(until_ms / 1000),
	                       .tv_nsec = (long)(until_ms % 1000) * 1000000 };
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		uint64_t now_s = ks_now_s();
		bool all = true, kicked = false;
		for (size_t j = 0; j < count; j++) {
			if (keypool_has(ks->pool, ids[j], now_s) || keypool_was_delivered(ks->pool, ids[j]))
				continue;
			all = false;
			struct pend *p = pend_find(r, ids[j]);
			if (p && p->gone) {
				rc = -ENOENT;
				goto out;
			}
			if (!p) {
				/* not listed (yet): ask every hub once with the caller's SAE pair (the
				 * hubs check it); after that, listings trigger the fetches */
				p = pend_new(r, ids[j], master, slave, 0);
				if (!p)
					continue;
				p->want_all = true;
				kicked = true;
			}
			p->demanded = true;
			if (p->demand_until < until_ms)
				p->demand_until = until_ms;
		}
		if (all)
			break;
		if (kicked)
			pthread_cond_signal(&r->cond);
		if (r->stop || pthread_cond_timedwait(&r->held, &r->lock, &ts) == ETIMEDOUT) {
			rc = -ETIMEDOUT;
			break;
		}
	}
out:
	pthread_mutex_unlock(&r->lock);
	return rc;
}
