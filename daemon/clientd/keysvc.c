/* keysvc.c — the key service (keysvc.h): authorization, limits and quotas in front of the engine
 * (initiator, responder, key pool), and the engine's life cycle. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#include "clientd/engine.h"
#include "clientd/secmem.h"
#include "clientd/sink.h"
#include "common/log.h"
#include "core/amd.h"
#include "core/rng.h"

/* PSRD a responder needs per hub to fetch a key at all (MACs of a SHARE_GET exchange and one
 * share); below this on k hubs a missing key is reported as PSRD exhaustion */
#define FETCH_PSRD_MIN 256

static __thread const char *thread_iface;

void keysvc_thread_iface(const char *iface)
{
	thread_iface = iface;
}

static const char *iface_name(void)
{
	return thread_iface ? thread_iface : "etsi";
}

uint64_t ks_now_s(void)
{
	return (uint64_t)time(NULL);
}

void ks_err(struct keysvc_err *err, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

int keysvc_sae_is_local(struct keysvc *ks, const char *sae)
{
	return sae && client_config_sae_find(ks->cfg, sae) >= 0;
}

/* ---------------------------------------------------------------- checks */

/* 0 or -EINVAL with the ETSI message for a key size in bits (0 = default). */
static int check_size(struct keysvc *ks, unsigned size_bits, size_t *ret_len, struct keysvc_err *err)
{
	struct client_config *c = ks->cfg;
	unsigned bits = size_bits ? size_bits : c->default_key_size;

	if (bits % 8) {
		ks_err(err, "size shall be a multiple of 8");
		return -EINVAL;
	}
	if (bits < c->min_key_size || bits > c->max_key_size || bits / 8 > AMD_KEY_MAX) {
		ks_err(err, "size %u is out of range (min_key_size %u, max_key_size %u)", bits,
		       c->min_key_size, c->max_key_size);
		return -EINVAL;
	}
	*ret_len = bits / 8;
	return 0;
}

/* Per-SAE quota, a token bucket of `quota` keys refilled over a minute. 0 or -EDQUOT. */
static int quota_take(struct keysvc *ks, int sae, unsigned number, struct keysvc_err *err)
{
	const struct cc_sae *s = &ks->cfg->saes[sae];
	struct sae_quota *q = &ks->quotas[sae];
	uint64_t now = hc_now_ms();
	int r = 0;

	if (!s->quota)
		return 0;
	pthread_mutex_lock(&ks->lock);
	if (!q->last_ms) {
		q->tokens = s->quota;
	} else {
		q->tokens += (double)(now - q->last_ms) * s->quota / 60000.0;
		if (q->tokens > s->quota)
			q->tokens = s->quota;
	}
	q->last_ms = now;
	if (q->tokens + 1e-9 < number) {
		ks_err(err, "quota of %u keys per minute for SAE %s is used up", s->quota, s->id);
		r = -EDQUOT;
	} else {
		q->tokens -= number;
	}
	pthread_mutex_unlock(&ks->lock);
	return r;
}

static void quota_refund(struct keysvc *ks, int sae, unsigned number)
{
	if (!ks->cfg->saes[sae].quota)
		return;
	pthread_mutex_lock(&ks->lock);
	ks->quotas[sae].tokens += number;
	pthread_mutex_unlock(&ks->lock);
}

/* ---------------------------------------------------------------- API */

int keysvc_status(struct keysvc *ks, const char *caller_sae, const char *slave_sae,
                  struct keysvc_status *ret, struct keysvc_err *err)
{
	struct client_config *c = ks->cfg;
	struct keysvc_status st = { 0 };
	unsigned sidx;
	int peer, local = -1;

	if (!keysvc_sae_is_local(ks, caller_sae)) {
		ks_err(err, "SAE %s is not a local SAE of KME %s", caller_sae ? caller_sae : "", c->name);
		return -EACCES;
	}
	peer = client_config_peer_of_sae(c, slave_sae, &sidx);
	if (peer < 0) {
		ks_err(err, "SAE %s is not an SAE of a peer of KME %s", slave_sae, c->name);
		return -EINVAL;
	}
	local = client_config_sae_find(c, caller_sae);
	snprintf(st.source_kme, sizeof(st.source_kme), "%s", c->name);
	snprintf(st.target_kme, sizeof(st.target_kme), "%s", c->peers[peer].name);
	st.key_size = c->default_key_size;
	st.max_key_count = c->max_keys_per_peer;
	st.max_key_per_request = c->max_keys_per_request;
	st.max_key_size = c->max_key_size;
	st.min_key_size = c->min_key_size;
	st.max_sae_id_count = 0;
	/* keys this KME can make now for the pair: bounded by the PSRD of the k-th best hub, plus
	 * keys already held for the reverse direction */
	uint64_t avail[CC_MAX_HUBS];
	unsigned na = 0;
	size_t slen = amd_codeword_len(c->default_key_size / 8);
	for (unsigned i = 0; i < ks->n; i++) {
		uint64_t tx, rx;
		if (!hub_is_synced(ks, i))
			continue;
		hub_psrd_left(&ks->hubs[i], &tx, &rx);
		avail[na++] = tx > c->psrd_reserve ? (tx - c->psrd_reserve) / (slen + 8) : 0;
	}
	uint64_t can = 0;
	if (na >= c->k) {
		/* k-th largest */
		for (unsigned a = 0; a < na; a++)
			for (unsigned b = a + 1; b < na; b++)
				if (avail[b] > avail[a]) {
					uint64_t t = avail[a];
					avail[a] = avail[b];
					avail[b] = t;
				}
		can = avail[c->k - 1];
	}
	can += keypool_count_pair(ks->pool, (unsigned)peer, (int)sidx, (unsigned)local);
	st.stored_key_count = can > st.max_key_count ? st.max_key_count : (unsigned)can;
	*ret = st;
	return 0;
}

int keysvc_get_keys(struct keysvc *ks, const char *caller_sae, const char *slave_sae,
                    unsigned number, unsigned size_bits, struct keysvc_batch **ret,
                    struct keysvc_err *err)
{
	struct client_config *c = ks->cfg;
	unsigned sidx;
	size_t key_len;
	int peer, local, r;

	local = caller_sae ? client_config_sae_find(c, caller_sae) : -1;
	if (local < 0) {
		ks_err(err, "master SAE %s is not a local SAE of KME %s", caller_sae ? caller_sae : "",
		       c->name);
		return -EINVAL;
	}
	peer = slave_sae ? client_config_peer_of_sae(c, slave_sae, &sidx) : -1;
	if (peer < 0) {
		ks_err(err, "slave SAE %s is not an SAE of a configured peer", slave_sae ? slave_sae : "");
		return -EINVAL;
	}
	if (number < 1) {
		ks_err(err, "number shall be at least 1");
		return -EINVAL;
	}
	if (number > c->max_keys_per_request) {
		ks_err(err, "number %u exceeds max_key_per_request %u", number, c->max_keys_per_request);
		return -EINVAL;
	}
	r = check_size(ks, size_bits, &key_len, err);
	if (r < 0)
		return r;
	if (!ks->hc) {
		ks_err(err, "key service is not running");
		return -EIO;
	}
	r = quota_take(ks, local, number, err);
	if (r < 0)
		return r;
	r = initiator_make_keys(ks, caller_sae, (unsigned)peer, slave_sae, number, key_len, ret, err);
	if (r < 0) {
		quota_refund(ks, local, number);
		log_warn("enc_keys %s -> %s (%u x %zu bits): %s", caller_sae, slave_sae, number,
		         key_len * 8, err ? err->msg : strerror(-r));
		return r;
	}
	for (size_t j = 0; j < (*ret)->count; j++)
		audit_delivery(ks->audit, (*ret)->keys[j].key_id, caller_sae, iface_name(), "master");
	sink_notify_delivered(ks, c->peers[peer].name, caller_sae, *ret);
	return 0;
}

static int take_with_ids(struct keysvc *ks, const char *caller_sae, const char *master_sae,
                         const uint8_t (*ids)[DSKE_KEY_ID_LEN], size_t count,
                         struct keysvc_batch **ret, struct keysvc_err *err, bool release);

int keysvc_get_keys_with_ids(struct keysvc *ks, const char *caller_sae, const char *master_sae,
                             const uint8_t (*ids)[DSKE_KEY_ID_LEN], size_t count,
                             struct keysvc_batch **ret, struct keysvc_err *err)
{
	return take_with_ids(ks, caller_sae, master_sae, ids, count, ret, err, true);
}

int keysvc_sink_take(struct keysvc *ks, const char *caller_sae, const char *master_sae,
                     const uint8_t key_id[DSKE_KEY_ID_LEN], struct keysvc_batch **ret,
                     struct keysvc_err *err)
{
	return take_with_ids(ks, caller_sae, master_sae, (const uint8_t (*)[DSKE_KEY_ID_LEN])key_id,
	                     1, ret, err, false);
}

void keysvc_sink_release(struct keysvc *ks, const uint8_t key_id[DSKE_KEY_ID_LEN])
{
	if (ks->resp)
		responder_release(ks->resp, (const uint8_t (*)[DSKE_KEY_ID_LEN])key_id, 1);
}

static int take_with_ids(struct keysvc *ks, const char *caller_sae, const char *master_sae,
                         const uint8_t (*ids)[DSKE_KEY_ID_LEN], size_t count,
                         struct keysvc_batch **ret, struct keysvc_err *err, bool release)
{
	struct client_config *c = ks->cfg;
	unsigned sidx;
	int peer, local, r;

	local = caller_sae ? client_config_sae_find(c, caller_sae) : -1;
	if (local < 0) {
		ks_err(err, "SAE %s is not a local SAE of KME %s", caller_sae ? caller_sae : "", c->name);
		return -EACCES;
	}
	if (!count) {
		ks_err(err, "no key IDs given");
		return -EINVAL;
	}
	if (count > c->max_keys_per_request) {
		ks_err(err, "%zu key IDs exceed max_key_per_request %u", count, c->max_keys_per_request);
		return -EINVAL;
	}
	peer = master_sae ? client_config_peer_of_sae(c, master_sae, &sidx) : -1;
	if (peer < 0) {
		ks_err(err, "one or more keys specified are not found on KME");
		return -ENOENT;
	}
	if (!ks->hc || !ks->resp) {
		ks_err(err, "key service is not running");
		return -EIO;
	}
	uint64_t until = hc_now_ms() + c->fetch_deadline_ms;
	responder_demand(ks->resp, ids, count, master_sae, caller_sae, until);
	r = keypool_take(ks->pool, ids, count, (unsigned)peer, sidx, (unsigned)local, ks_now_s(), ret);
	if (r == -EACCES) {
		ks_err(err, "SAE %s is not the slave SAE of the keys requested", caller_sae);
		return r;
	}
	if (r == -ENOENT) {
		/* not found because this side cannot fetch any more? say so (503), not 400 */
		const char *low = NULL;
		unsigned usable = 0;
		for (unsigned i = 0; i < ks->n; i++) {
			uint64_t tx, rx;
			hub_psrd_left(&ks->hubs[i], &tx, &rx);
			if (tx >= FETCH_PSRD_MIN && rx >= FETCH_PSRD_MIN)
				usable++;
			else if (!low)
				low = c->hubs[i].name;
		}
		if (usable < c->k && low) {
			ks_err(err, "PSRD exhausted for hub %s", low);
			return -ENOSPC;
		}
		ks_err(err, "one or more keys specified are not found on KME");
		return r;
	}
	if (r < 0) {
		ks_err(err, "key service error: %s", strerror(-r));
		return r;
	}
	pthread_mutex_lock(&ks->lock);
	ks->keys_served += count;
	pthread_mutex_unlock(&ks->lock);
	for (size_t j = 0; j < count; j++)
		audit_delivery(ks->audit, ids[j], caller_sae, iface_name(), "slave");
	/* the key reached its SAE's front end: release the shares at the hubs (a sink that must put
	 * the key in place first releases it itself: keysvc_sink_release; its keys stay inside the
	 * daemon, so the delivery hook is not told) */
	if (release) {
		sink_notify_delivered(ks, c->peers[peer].name, caller_sae, *ret);
		responder_release(ks->resp, ids, count);
	}
	return 0;
}

/* ---------------------------------------------------------------- life cycle */

int keysvc_open(struct client_config *cfg, struct keysvc **ret)
{
	struct keysvc *ks = calloc(1, sizeof(*ks));
	int r;

	if (!ks)
		return -ENOMEM;
	pthread_mutex_init(&ks->lock, NULL);
	ks->cfg = cfg;
	ks->started = ks_now_s();
	ks->quotas = calloc(cfg->nsaes ? cfg->nsaes : 1, sizeof(*ks->quotas));
	if (!ks->quotas) {
		r = -ENOMEM;
		goto fail;
	}
	r = hubset_open(ks);
	if (r < 0)
		goto fail;
	r = keypool_new(cfg->npeers, cfg->max_keys_per_peer, &ks->pool);
	if (r < 0)
		goto fail;
	*ret = ks;
	return 0;
fail:
	keysvc_close(ks);
	return r;
}

int keysvc_start(struct keysvc *ks, uint64_t sync_wait_ms)
{
	struct client_config *c = ks->cfg;
	const char *urls[CC_MAX_HUBS];
	char buf[CC_MAX_HUBS][CC_URL_MAX + 16];
	int r;

	r = audit_open(c->state_dir, &ks->audit);
	if (r < 0)
		(void)log_warn_errno(r, "cannot open %s/delivery.log (delivery audit goes to the log only)",
		               c->state_dir);
	for (unsigned i = 0; i < ks->n; i++) {
		const char *u = c->hubs[i].url;
		size_t l = strlen(u);
		while (l && u[l - 1] == '/')
			l--;
		if (l >= 8 && !strncmp(u + l - 8, "/dske/v1", 8))
			snprintf(buf[i], sizeof(buf[i]), "%.*s", (int)l, u);
		else
			snprintf(buf[i], sizeof(buf[i]), "%.*s/dske/v1", (int)l, u);
		urls[i] = buf[i];
	}
	r = hubclient_new(ks->n, urls, WIRE_FRAME_MAX_DEFAULT, &ks->hc);
	if (r < 0)
		return log_error_errno(r, "cannot start the hub client");
	r = responder_new(ks, &ks->resp);
	if (r < 0)
		return log_error_errno(r, "cannot create the responder");
	uint32_t all = ks->n >= 32 ? UINT32_MAX : (1u << ks->n) - 1;
	unsigned synced = hubset_sync(ks, all, hc_now_ms() + sync_wait_ms);
	if (synced < ks->n)
		log_warn("%u of %u hubs synchronised at start (k = %u); retrying the others", synced,
		         ks->n, c->k);
	r = responder_start(ks->resp);
	if (r < 0)
		return log_error_errno(r, "cannot start the responder threads");
	return 0;
}

void keysvc_close(struct keysvc *ks)
{
	if (!ks)
		return;
	pthread_mutex_lock(&ks->lock);
	ks->stopping = true;
	pthread_mutex_unlock(&ks->lock);
	responder_stop(ks->resp);
	hubclient_free(ks->hc);   /* runs late callbacks still queued, then done callbacks */
	ks->hc = NULL;
	responder_free(ks->resp);
	ks->resp = NULL;
	keypool_free(ks->pool);
	hubset_close(ks);
	audit_close(ks->audit);
	free(ks->quotas);
	pthread_mutex_destroy(&ks->lock);
	free(ks);
	secmem_drain();
}
