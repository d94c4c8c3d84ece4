/* sink_keyring.h — dske-clientd's kernel keyring delivery (issue 5, shared/design/keyring.md).
 *
 * The keyring sink is an SAE like any other ([keyring] sae = ..., in the PROVISION bundles).
 * For every [peer] with keyring = yes it keeps keys "dske:<peer>:<key_id>" in the ring
 * ([keyring] name, in root's user keyring, libdske-keyring):
 *   - the initiator side (keyring_initiator; auto = the side whose KME name sorts first) keeps
 *     keyring_keys fresh keys for the pair (local sink SAE -> the peer's keyring_sae), made
 *     through the key service, each with the kernel timeout keyring_lifetime; it tops the supply
 *     up as consumers invalidate keys or they expire;
 *   - the responder side publishes the keys the responder rebuilt for that pair (the same IDs
 *     and bytes), taking them from the key pool like an ETSI slave.
 * With [keyring] publish_etsi = yes, keys handed out over ETSI 014 are published as well.
 * It also serves the control socket's GET /v1/keys (what this host published, no bytes) and
 * POST /v1/request-key (dske-request-key, keyring/reqkey.h).
 * One thread; its table of published keys is guarded by one mutex. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "clientd/client_config.h"
#include "clientd/keysvc.h"
#include "common/httpd.h"

struct keysvc;
struct sink_keyring;

/* Cross-checks of the keyring settings after the configuration is read: [keyring] sae must be
 * a local [sae], each keyring peer's keyring_sae one of its saes. 0, or -EINVAL with a message
 * "FILE: ..." in err. */
int sink_keyring_config_check(const struct client_config *c, char *err, size_t errlen);

/* True if the configuration asks for any keyring work (a keyring peer, publish_etsi). */
bool sink_keyring_wanted(const struct client_config *c);

/* Open (or create) the ring, take over keys an earlier run published, register the sink's SAE
 * with the engine (sink.h) and, with publish_etsi, the delivery hook. Call before
 * keysvc_start(). Logs its own errors. */
int sink_keyring_new(struct keysvc *ks, struct sink_keyring **ret);
int sink_keyring_start(struct sink_keyring *s);      /* the thread */
/* Stops the thread. Published keys stay in the kernel until their timeout. NULL-safe. */
void sink_keyring_free(struct sink_keyring *s);

/* Control-socket handlers (common/ctl.h signature; cls = struct keysvc *). They work without
 * a sink too: /v1/keys then says "enabled": false, request-key needs no ring. */
int sink_keyring_ctl_keys(void *cls, struct httpd_request *req, json_t **ret_json,
                          unsigned *ret_status);
int sink_keyring_ctl_request_key(void *cls, struct httpd_request *req, json_t **ret_json,
                                 unsigned *ret_status);
