/* keysvc.h — the key service of dske-clientd: what every delivery front end (ETSI 014 over a
 * unix socket or HTTPS, dskectl get-key, the keyring sink, request-key, the strongSwan PPK sink)
 * calls. It owns the DSKE engine (hubs, initiator, responder, key pools) and applies every
 * authorization and quota rule, so front ends only authenticate the caller and translate.
 * Thread-safe: front ends call it from their own threads; calls may block up to their deadline.
 *
 * Errors: negative errno, plus a human message (ETSI "message") in err->msg:
 *   -EINVAL     bad request (size not a multiple of 8, number 0, > max, unknown extension ...):
 *               400 with err->msg exactly as etsi014.md section 1.8 where it names one
 *   -ENOENT     one or more keys specified are not found on KME (400)
 *   -EACCES     caller is not the named slave / SAE unknown for this use (401)
 *   -EAGAIN     too few hubs answered: "N of M hubs answered, K needed" (503)
 *   -ENOSPC     PSRD exhausted ("PSRD exhausted for hub NAME") (503)
 *   -EDQUOT     the caller's quota is used up (503, message names the quota)
 *   -ETIMEDOUT  keys not complete before the deadline (503)
 *   other       internal (503)
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "core/names.h"

struct keysvc;

struct keysvc_err {
	char msg[256];
};

/* One delivered key. key points into sodium_malloc'd memory owned by the batch. */
struct keysvc_key {
	uint8_t key_id[DSKE_KEY_ID_LEN];
	uint8_t *key;
	size_t len;                       /* bytes */
};

struct keysvc_batch {
	size_t count;
	struct keysvc_key *keys;
};
void keysvc_batch_free(struct keysvc_batch *b);   /* wipes; NULL-safe */

/* Get status (ETSI 6.1) for master = caller, slave = slave_sae. */
struct keysvc_status {
	char source_kme[DSKE_NAME_MAX + 1];
	char target_kme[DSKE_NAME_MAX + 1];
	unsigned key_size, stored_key_count, max_key_count, max_key_per_request;
	unsigned max_key_size, min_key_size, max_sae_id_count;
};
int keysvc_status(struct keysvc *ks, const char *caller_sae, const char *slave_sae,
                  struct keysvc_status *ret, struct keysvc_err *err);

/* Get key (ETSI enc_keys): caller_sae is the master. number >= 1, size_bits (0 = default).
 * Makes fresh keys through the hubs; *ret owned by the caller. */
int keysvc_get_keys(struct keysvc *ks, const char *caller_sae, const char *slave_sae,
                    unsigned number, unsigned size_bits, struct keysvc_batch **ret,
                    struct keysvc_err *err);

/* Get key with key IDs (ETSI dec_keys): caller_sae is the slave, master_sae from the path.
 * All or nothing; each key is delivered once to this side (then released at the hubs).
 * Waits up to the configured fetch deadline for keys whose shares are still arriving. */
int keysvc_get_keys_with_ids(struct keysvc *ks, const char *caller_sae, const char *master_sae,
                             const uint8_t (*ids)[DSKE_KEY_ID_LEN], size_t count,
                             struct keysvc_batch **ret, struct keysvc_err *err);

/* Front ends: name the interface of the calls made on this thread, for the delivery audit log
 * ("etsi-unix", "etsi-https", "etsi-http", "control", "keyring", "ppk"; a static string).
 * Default "etsi". */
void keysvc_thread_iface(const char *iface);

/* Is sae a local SAE of this client (configured)? */
int keysvc_sae_is_local(struct keysvc *ks, const char *sae);
