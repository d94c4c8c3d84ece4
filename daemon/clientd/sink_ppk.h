/* sink_ppk.h — dske-clientd's strongSwan PPK delivery (RFC 8784; issue 6,
 * shared/design/strongswan-ppk.md).
 *
 * The PPK sink is an SAE like any other ([ppk] sae, in the PROVISION bundles). For every [peer]
 * with ppk = strongswan it keeps DSKE keys loaded as PPKs in that peer's charon over VICI
 * (load-shared type=ppk, id "dske:<PPK_ID>", owners = [PPK_ID], PPK_ID = <key_id>@<ppk_link>):
 *   - the IKE initiator's side (ppk_conn_file set) makes the keys (its sink SAE -> the peer's
 *     ppk_sae), loads each into its own charon, waits until SHARE_STATUS says the responder
 *     released it (the responder's charon holds it), keeps ppk_keep such keys ready, and rolls:
 *     load-conn of its connection with the newest PPK_ID, initiate, terminate the old IKE SA,
 *     unload the older PPKs; on ppk_roll, on POST /v1/ppk/roll, and at start;
 *   - the responder's side takes each key made for its sink SAE, loads it, and only then
 *     releases the shares (make-before-break); it unloads a PPK once max(ppk_keep, 1) + 2 newer
 *     ones are loaded (the initiator makes a key only after rolling to the oldest ready one);
 *   - both sides check charon every ppk_check (get-shared, list-conns) and load again what an
 *     admin reload (swanctl --load-all / --load-creds) removed.
 * PPK bytes never reach a log: PPK_IDs and a 32-bit fingerprint do.
 * One thread serves every PPK peer; its state is guarded by one mutex. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "clientd/client_config.h"
#include "common/httpd.h"

struct keysvc;
struct sink_ppk;

/* True if a peer has ppk = strongswan. */
bool sink_ppk_wanted(const struct client_config *c);
/* Set the sink up and register its SAE's key-ready callback (before keysvc_start). */
int sink_ppk_new(struct keysvc *ks, struct sink_ppk **ret);
int sink_ppk_start(struct sink_ppk *s);          /* the thread */
/* Stop the thread (the engine may still call the key-ready callback: it only queues). */
void sink_ppk_stop(struct sink_ppk *s);
/* Stops the thread and wipes the keys it holds; call after keysvc_close() (no more callbacks;
 * does not touch the key service). PPKs and the connection stay loaded in charon (established
 * IKE SAs, and a reconnect with the current PPK_ID, keep working). NULL-safe. */
void sink_ppk_free(struct sink_ppk *s);

/* Control socket (common/ctl.h handlers, cls = the struct keysvc *, whose ppk is the sink):
 *   GET /v1/ppk        per peer: link, role, charon reachable, the PPKs (PPK_ID, fingerprint,
 *                      state, loaded), the IKE SA, rolls, restores, errors
 *   POST /v1/ppk/roll  body {} or {"peer":"NAME"}: roll now (initiator side), answers once the
 *                      new IKE SA is up (or the roll failed) */
int sink_ppk_ctl_get(void *cls, struct httpd_request *req, json_t **ret_json, unsigned *ret_status);
int sink_ppk_ctl_roll(void *cls, struct httpd_request *req, json_t **ret_json, unsigned *ret_status);
