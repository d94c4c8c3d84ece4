/* sink.h — in-daemon delivery sinks (kernel keyring, strongSwan PPK): SAEs of this client that
 * are served inside dske-clientd instead of over ETSI 014. Each sink is an SAE like any other
 * (architecture.md): it has an SAE ID in the config and in the PROVISION bundles, and the same
 * authorization, once-per-side delivery and release rules apply through keysvc.
 *
 * Initiator side: the sink makes keys with keysvc_get_keys(ks, its_sae, peer_sae, ...) as the
 * master SAE.
 * Responder side: the sink registers its SAE; when a key whose slave is that SAE has been rebuilt
 * and is held in the key pool, the callback runs (on an engine thread: it must only queue work,
 * never block or call back into keysvc), and the sink then takes the key with
 * keysvc_get_keys_with_ids(ks, its_sae, master_sae, ...), which is that side's delivery and
 * releases the shares at the hubs.
 * Make-before-break (PPK rolling): keysvc_key_released() asks the hubs (SHARE_STATUS) whether the
 * responder has released a key, i.e. its sink holds it. */
#pragma once
#include <stdint.h>
#include "clientd/keysvc.h"

typedef void (*sink_key_ready_cb_t)(void *userdata, const char *peer_kme, const char *master_sae,
                                    const char *slave_sae, const uint8_t key_id[DSKE_KEY_ID_LEN]);

/* Register cb for keys whose slave is the local SAE sae (one sink per SAE). 0, -EINVAL (not a
 * local SAE), -EEXIST. Call before keysvc_start(). */
int keysvc_sink_register(struct keysvc *ks, const char *sae, sink_key_ready_cb_t cb, void *userdata);

/* 1 if at least k hubs report key_id RELEASED, 0 if not yet, or -errno (-EAGAIN: fewer than k
 * hubs answered). master_sae is the local SAE that made the key. */
int keysvc_key_released(struct keysvc *ks, const char *master_sae, const char *slave_sae,
                        const uint8_t key_id[DSKE_KEY_ID_LEN], struct keysvc_err *err);

/* Get key with key ID when only the peer is known (request-key: "dske:<peer>:<key_id>"): as
 * keysvc_get_keys_with_ids with caller_sae as the slave, the master being any SAE of peer_kme. */
int keysvc_get_key_from_peer(struct keysvc *ks, const char *caller_sae, const char *peer_kme,
                             const uint8_t key_id[DSKE_KEY_ID_LEN], struct keysvc_batch **ret,
                             struct keysvc_err *err);

/* Called after every delivery to a local SAE, on any interface (ETSI, request-key, sinks), with
 * the key (the keyring sink publishes ETSI keys when the config asks for it). One hook. */
typedef void (*sink_delivered_cb_t)(void *userdata, const char *peer_kme, const char *local_sae,
                                    const struct keysvc_key *key);
int keysvc_delivery_hook(struct keysvc *ks, sink_delivered_cb_t cb, void *userdata);

/* Make-before-break for a sink whose key must be in place before the peer is told (PPK): as
 * keysvc_get_keys_with_ids for one key, but the shares stay at the hubs until the sink calls
 * keysvc_sink_release() once the key is in place (so a SHARE_STATUS "released" seen by the
 * initiator means the key is loaded here). The key stays inside the daemon: the delivery hook
 * is not called for it. */
int keysvc_sink_take(struct keysvc *ks, const char *caller_sae, const char *master_sae,
                     const uint8_t key_id[DSKE_KEY_ID_LEN], struct keysvc_batch **ret,
                     struct keysvc_err *err);
void keysvc_sink_release(struct keysvc *ks, const uint8_t key_id[DSKE_KEY_ID_LEN]);
