/* sink.c — the engine side of sink.h: key-ready callbacks for in-daemon sinks, the delivery
 * hook, and Get key with key ID by peer (request-key). SHARE_STATUS is in sink_status.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#include "clientd/engine.h"
#include "clientd/sink.h"
#include "common/log.h"

int keysvc_sink_register(struct keysvc *ks, const char *sae, sink_key_ready_cb_t cb, void *userdata)
{
	int local = client_config_sae_find(ks->cfg, sae);

	if (local < 0 || !cb)
		return -EINVAL;
	if (ks->sinks[local].cb)
		return -EEXIST;
	ks->sinks[local].cb = cb;
	ks->sinks[local].userdata = userdata;
	return 0;
}

int keysvc_delivery_hook(struct keysvc *ks, sink_delivered_cb_t cb, void *userdata)
{
	if (ks->delivered_cb)
		return -EEXIST;
	ks->delivered_cb = cb;
	ks->delivered_ud = userdata;
	return 0;
}

void sink_notify_ready(struct keysvc *ks, const struct kp_meta *km)
{
	const struct client_config *c = ks->cfg;
	const struct ks_sink *s = &ks->sinks[km->resp_sae];

	if (!s->cb)
		return;
	s->cb(s->userdata, c->peers[km->peer].name, c->peers[km->peer].saes[km->init_sae],
	      c->saes[km->resp_sae].id, km->key_id);
}

void sink_notify_delivered(struct keysvc *ks, const char *peer_kme, const char *local_sae,
                           const struct keysvc_batch *b)
{
	if (!ks->delivered_cb)
		return;
	for (size_t j = 0; j < b->count; j++)
		ks->delivered_cb(ks->delivered_ud, peer_kme, local_sae, &b->keys[j]);
}

/* ---------------------------------------------------------------- Get key by peer */

int keysvc_get_key_from_peer(struct keysvc *ks, const char *caller_sae, const char *peer_kme,
                             const uint8_t key_id[DSKE_KEY_ID_LEN], struct keysvc_batch **ret,
                             struct keysvc_err *err)
{
	const struct client_config *c = ks->cfg;
	int peer = client_config_peer_find(c, peer_kme);
	uint64_t until = hc_now_ms() + c->fetch_deadline_ms;
	char master[DSKE_NAME_MAX + 1];

	if (peer < 0) {
		ks_err(err, "%s is not a configured peer", peer_kme);
		return -ENOENT;
	}
	if (client_config_sae_find(c, caller_sae) < 0) {
		ks_err(err, "SAE %s is not a local SAE of KME %s", caller_sae, c->name);
		return -EACCES;
	}
	/* the master SAE comes from the key's relayed metadata: held keys know it, and keys a hub
	 * listed (SHARE_LIST, a long poll that answers as soon as a share arrives) do too */
	for (;;) {
		struct kp_meta km;
		if (keypool_meta(ks->pool, key_id, ks_now_s(), &km) == 0) {
			if (km.peer != (unsigned)peer)
				break;
			snprintf(master, sizeof(master), "%s", c->peers[peer].saes[km.init_sae]);
			return keysvc_get_keys_with_ids(ks, caller_sae, master,
			                                (const uint8_t (*)[DSKE_KEY_ID_LEN])key_id, 1, ret, err);
		}
		if (ks->resp && responder_master_of(ks->resp, key_id, peer_kme, master) == 0)
			return keysvc_get_keys_with_ids(ks, caller_sae, master,
			                                (const uint8_t (*)[DSKE_KEY_ID_LEN])key_id, 1, ret, err);
		if (keypool_was_delivered(ks->pool, key_id) || hc_now_ms() >= until)
			break;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	ks_err(err, "one or more keys specified are not found on KME");
	return -ENOENT;
}
