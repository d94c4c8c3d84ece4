/* sink_keyring_ctl.c — the keyring sink's control-socket endpoints (internals.md section 4):
 *   GET /v1/keys           the keys this host published (peer, key ID, age, expiry; no bytes)
 *   POST /v1/request-key   dske-request-key's question (keyring/reqkey.h); uid 0 only */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "clientd/engine.h"
#include "clientd/sink.h"
#include "clientd/sink_keyring.h"
#include "clientd/sink_keyring_int.h"
#include "common/ctl.h"
#include "common/log.h"
#include "reqkey.h"

#define FIND_POLL_US 20000          /* while waiting for the hubs to list a requested key */

int sink_keyring_ctl_keys(void *cls, struct httpd_request *req, json_t **ret_json,
                          unsigned *ret_status)
{
	struct keysvc *ks = cls;
	struct sink_keyring *s = kr_ctl_sink;
	uint64_t now = ks_now_s();
	json_t *j, *keys;

	if (!s) {
		*ret_json = json_pack("{s:b,s:n,s:[]}", "enabled", 0, "ring", "keys");
		return *ret_json ? 0 : -ENOMEM;
	}
	keys = json_array();
	if (!keys)
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++) {
		const struct kr_entry *e = &s->e[i];
		char id[37];
		uuid_unparse_lower(e->key_id, id);
		json_t *k = json_pack("{s:s,s:s,s:s,s:i,s:s,s:I,s:I,s:I,s:I,s:I}",
		                      "peer", ks->cfg->peers[e->peer].name, "key_id", id,
		                      "description", e->desc, "serial", (int)e->serial,
		                      "source", kr_source_name(e->source),
		                      "bits", (json_int_t)(e->len * 8),
		                      "published", (json_int_t)e->published,
		                      "age", (json_int_t)(now > e->published ? now - e->published : 0),
		                      "expiry", (json_int_t)e->expiry,
		                      "expires_in", (json_int_t)(e->expiry > now ? e->expiry - now : 0));
		if (k)
			json_array_append_new(keys, k);
	}
	j = json_pack("{s:b,s:s,s:i,s:s,s:o}", "enabled", 1, "ring", s->ring.name,
	              "ring_id", (int)s->ring.serial, "permission", "", "keys", keys);
	if (j) {
		char perm[16];
		snprintf(perm, sizeof(perm), "%08x", s->ring.perm);
		json_object_set_new(j, "permission", json_string(perm));
		json_object_set_new(j, "group", s->ring.gid != KEYRING_NO_GROUP ?
		                    json_string(ks->cfg->keyring.group) : json_null());
	}
	pthread_mutex_unlock(&s->lock);
	*ret_json = j;
	return j ? 0 : -ENOMEM;
}

/* The local SAE of a requester: the first [sae] whose uid and/or gid match (the rule of the
 * ETSI unix socket). NULL if none. */
static const char *sae_by_cred(const struct client_config *c, uid_t uid, gid_t gid)
{
	for (unsigned i = 0; i < c->nsaes; i++) {
		const struct cc_sae *s = &c->saes[i];
		if (!s->has_uid && !s->has_gid)
			continue;
		if ((!s->has_uid || s->uid == uid) && (!s->has_gid || s->gid == gid))
			return s->id;
	}
	return NULL;
}

/* A key this host's sink published for its own SAE: read it back from the kernel. 0 and
 * *ret_len bytes in buf, -ENOENT if it is not one of ours. */
static int published_read(struct keysvc *ks, unsigned peer, const uint8_t *id, const char *sae,
                          uint8_t *buf, size_t cap, size_t *ret_len)
{
	struct sink_keyring *s = kr_ctl_sink;
	int r = -ENOENT;

	if (!s || strcmp(sae, ks->cfg->keyring.sae) != 0)
		return -ENOENT;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++) {
		const struct kr_entry *e = &s->e[i];
		long n;
		if (e->peer != peer || e->source == KR_SRC_ETSI ||
		    memcmp(e->key_id, id, DSKE_KEY_ID_LEN) != 0)
			continue;
		n = keyctl_read(e->serial, (char *)buf, cap);
		if (n > 0 && (size_t)n <= cap) {
			*ret_len = (size_t)n;
			r = 0;
		} else {
			r = n < 0 ? -errno : -EMSGSIZE;
		}
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Wait (until until_ms at most) for key id from peer to be held or listed by a hub, so that
 * a key that does not exist is answered before the handler's bound, and a key held for another
 * SAE is refused before any fetch. 0 (go on: keysvc decides), -ENOENT (not there in time, or
 * from another peer), -ESTALE (already delivered on this side), -EACCES (held for another SAE). */
static int key_wait(struct keysvc *ks, unsigned peer, const uint8_t *id, const char *sae,
                    uint64_t until_ms)
{
	char master[DSKE_NAME_MAX + 1];
	struct kp_meta m;

	for (;;) {
		if (keypool_meta(ks->pool, id, ks_now_s(), &m) == 0) {
			if (m.peer != peer)
				return -ENOENT;
			return strcmp(ks->cfg->saes[m.resp_sae].id, sae) ? -EACCES : 0;
		}
		if (keypool_was_delivered(ks->pool, id))
			return -ESTALE;
		if (ks->resp && responder_master_of(ks->resp, id, ks->cfg->peers[peer].name, master) == 0)
			return 0;
		if (hc_now_ms() + FIND_POLL_US / 1000 >= until_ms)
			return -ENOENT;
		usleep(FIND_POLL_US);
	}
}

static int answer_key(struct keysvc *ks, const uint8_t *key, size_t len, json_t **ret_json,
                      unsigned *ret_status)
{
	*ret_json = reqkey_response_encode(key, len, (unsigned)ks->cfg->keyring.timeout_s);
	if (!*ret_json)
		*ret_json = ctl_error(500, ret_status, "cannot encode the key");
	return 0;
}

int sink_keyring_ctl_request_key(void *cls, struct httpd_request *req, json_t **ret_json,
                                 unsigned *ret_status)
{
	struct keysvc *ks = cls;
	struct client_config *c = ks->cfg;
	struct keysvc_batch *b = NULL;
	struct keysvc_err err = { "" };
	struct reqkey_request rq;
	char id[37];
	const char *sae;
	uint8_t *buf = NULL;
	uint64_t until;
	size_t len = 0;
	int peer, r;

	keysvc_thread_iface("request-key");
	kr_in_sink = true;                     /* not an ETSI delivery: never published */
	if (!c->keyring.request_key) {
		*ret_json = ctl_error(403, ret_status, "request-key is off ([keyring] request_key = no)");
		return 0;
	}
	if (reqkey_request_decode((const char *)req->body, req->body_len, &rq) < 0) {
		*ret_json = ctl_error(400, ret_status, "bad request-key body");
		return 0;
	}
	uuid_unparse_lower(rq.key_id, id);
	peer = client_config_peer_find(c, rq.peer);
	if (peer < 0) {
		log_notice("request-key: dske:%s:%s for uid %u: unknown peer", rq.peer, id, rq.uid);
		*ret_json = ctl_error(403, ret_status, "%s is not a peer of KME %s", rq.peer, c->name);
		return 0;
	}
	sae = sae_by_cred(c, rq.uid, rq.gid);
	if (!sae) {
		log_notice("request-key: dske:%s:%s: no SAE for uid %u gid %u", rq.peer, id, rq.uid,
		           rq.gid);
		*ret_json = ctl_error(403, ret_status, "no SAE is configured for uid %u gid %u", rq.uid,
		                      rq.gid);
		return 0;
	}
	until = hc_now_ms() + rq.timeout_ms;

	/* a key this host published for its keyring SAE (e.g. the initiator's own copy) */
	buf = sodium_malloc(REQKEY_KEY_MAX);
	if (!buf)
		return -ENOMEM;
	if (published_read(ks, (unsigned)peer, rq.key_id, sae, buf, REQKEY_KEY_MAX, &len) == 0) {
		log_info("request-key: dske:%s:%s to uid %u (SAE %s) from the keyring", rq.peer, id,
		         rq.uid, sae);
		r = answer_key(ks, buf, len, ret_json, ret_status);
		goto out;
	}

	/* otherwise a key made for this SAE by the peer, held or still at the hubs */
	r = key_wait(ks, (unsigned)peer, rq.key_id, sae, until);
	if (r == -ESTALE) {
		*ret_json = ctl_error(410, ret_status, "key %s was already delivered on this side", id);
		r = 0;
		goto out;
	}
	if (r == -EACCES) {
		/* the 401 of ETSI: not made for this requester (checked before any fetch) */
		log_notice("request-key: dske:%s:%s for uid %u: not made for SAE %s", rq.peer, id,
		           rq.uid, sae);
		*ret_json = ctl_error(403, ret_status, "key %s was not made for SAE %s", id, sae);
		r = 0;
		goto out;
	}
	if (r < 0) {
		*ret_json = ctl_error(404, ret_status, "no key %s from peer %s", id, rq.peer);
		r = 0;
		goto out;
	}
	r = keysvc_get_key_from_peer(ks, sae, rq.peer, rq.key_id, &b, &err);
	if (r < 0) {
		unsigned st = r == -EACCES ? 403 : r == -ENOENT ? 404 : r == -ETIMEDOUT ? 504 : 503;
		if (r == -ENOENT && keypool_was_delivered(ks->pool, rq.key_id))
			st = 410;
		log_notice("request-key: dske:%s:%s for uid %u (SAE %s): %s", rq.peer, id, rq.uid, sae,
		           err.msg);
		*ret_json = ctl_error(st, ret_status, "%s", err.msg);
		r = 0;
		goto out;
	}
	log_info("request-key: dske:%s:%s to uid %u (SAE %s)", rq.peer, id, rq.uid, sae);
	r = answer_key(ks, b->keys[0].key, b->keys[0].len, ret_json, ret_status);
out:
	keysvc_batch_free(b);
	sodium_free(buf);
	return r;
}
