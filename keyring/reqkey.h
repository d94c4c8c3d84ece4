/* reqkey.h — the request-key upcall protocol between dske-request-key (the kernel's handler)
 * and dske-clientd, over the client daemon's control socket (docs/internals.md section 4):
 *
 *   POST /v1/request-key   Content-Type: application/json   (peer uid must be 0)
 *   {"peer":"client2","key_id":"<uuid>","uid":1000,"gid":1000,"timeout_ms":4500}
 *
 *   200  application/json {"key":"<base64 of the key bytes>","timeout":3600}
 *        timeout: seconds the kernel key lives, 0 = no expiry
 *   else {"error":"message"} (the control socket's convention); the handler turns the status
 *        into the requester's errno with reqkey_status_errno() and caches a negative key for
 *        reqkey_negative_timeout() seconds.
 *
 * peer is the other side's KME name (from "dske:<peer>:<key_id>"), uid/gid the requester's
 * (trusted: the kernel supplied them), timeout_ms what is left of the handler's bound: the
 * daemon answers before it. The daemon, not the handler, decides who gets which key.
 * Pure functions, no I/O. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include "core/names.h"

#define REQKEY_PATH            "/v1/request-key"
#define REQKEY_BODY_MAX        1024         /* the request JSON is far smaller */
#define REQKEY_RESPONSE_MAX    65536        /* base64 of the largest user key, and some */
#define REQKEY_KEY_MAX         32767        /* the kernel's cap for a "user" key */
#define REQKEY_TIMEOUT_MS_MAX  60000
/* negative-key lifetimes the handler uses, seconds */
#define REQKEY_NEG_TIMEOUT_REJECT     5     /* not authorised, bad request, unknown key */
#define REQKEY_NEG_TIMEOUT_TRANSIENT  1     /* daemon down, busy or too slow */

struct reqkey_request {
	char peer[DSKE_NAME_MAX + 1];
	uint8_t key_id[DSKE_KEY_ID_LEN];
	uid_t uid;
	gid_t gid;
	unsigned timeout_ms;                  /* 1..REQKEY_TIMEOUT_MS_MAX */
};

/* JSON text of rq into *ret (malloc'd, NUL-terminated, caller frees). 0, -EINVAL, -ENOMEM. */
int reqkey_request_encode(const struct reqkey_request *rq, char **ret);

/* Decode a request body of len bytes (need not be NUL-terminated). Exactly the five members,
 * each of the right JSON type and range; peer a KME name, key_id a lower-case canonical UUID,
 * uid/gid 0..2^32-2. 0, or -EINVAL; ret untouched on failure. */
int reqkey_request_decode(const char *buf, size_t len, struct reqkey_request *ret);

/* A 200 answer for key (len 1..REQKEY_KEY_MAX bytes, borrowed) and timeout_s: a new JSON
 * object, or NULL (bad length, out of memory). The base64 text is a copy in jansson's memory;
 * the caller's bytes are not kept. */
json_t *reqkey_response_encode(const uint8_t *key, size_t len, unsigned timeout_s);

/* Decode a 200 answer body of len bytes: exactly "key" (standard base64 with padding, 1..cap
 * bytes decoded) and "timeout" (0..2^32-1). The key goes into key_buf (cap bytes, caller's
 * locked memory); jansson's copy of the text is wiped before it is freed. 0, or -EINVAL (and
 * key_buf wiped); outputs untouched on failure. */
int reqkey_response_decode(const char *buf, size_t len, uint8_t *key_buf, size_t cap,
                           size_t *ret_len, unsigned *ret_timeout_s);

/* The errno the requester sees for a daemon answer with HTTP status (not 200):
 * 400/401/403 EKEYREJECTED (bad request, not authorised: the 401 of ETSI), 404 ENOKEY (no such
 * key at the hubs), 410 EKEYEXPIRED (already delivered to this side, or expired),
 * 503 EAGAIN (hubs unavailable), 504 ETIMEDOUT (not complete in time), others EKEYREJECTED.
 * Positive errno. */
int reqkey_status_errno(long http_status);

/* Negative-key lifetime for an errno the handler answers with, seconds. */
unsigned reqkey_negative_timeout(int err);
