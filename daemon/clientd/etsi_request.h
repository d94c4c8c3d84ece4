/* etsi_request.h — parsing and validation of one ETSI GS QKD 014 request (etsi014.md 1.2-1.6,
 * checks E14-04..07, 09, 11, 13..16). Pure: no I/O, no globals, no logging; fuzzed by
 * tests/fuzz/fuzz_etsi_request.c. Every rejection carries the HTTP status and the exact
 * "message" of the Error object. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "core/names.h"
#include "clientd/etsi.h"

#define ETSI_TARGET_MAX 2048          /* longest request target (path + query), bytes */
#define ETSI_BODY_MAX (256 * 1024)    /* largest request body, bytes */

/* The exact messages etsi014.md 1.8 names. */
#define ETSI_MSG_SIZE_MULTIPLE_OF_8 "size shall be a multiple of 8"
#define ETSI_MSG_EXT_MANDATORY_UNSUPPORTED "not all extension_mandatory parameters are supported"
#define ETSI_MSG_KEYS_NOT_FOUND "one or more keys specified are not found on KME"

enum etsi_op {
	ETSI_OP_STATUS,       /* GET  /api/v1/keys/{slave}/status */
	ETSI_OP_ENC_KEYS,     /* GET|POST /api/v1/keys/{slave}/enc_keys */
	ETSI_OP_DEC_KEYS,     /* GET|POST /api/v1/keys/{master}/dec_keys */
};

struct etsi_error {
	unsigned status;      /* HTTP status: 400, 401, 404, 405, 413, 414, 503 */
	char msg[256];        /* the Error object's "message"; printable ASCII */
	const char *allow;    /* with 405: the Allow header value (static), else NULL */
};

struct etsi_request {
	enum etsi_op op;
	char sae[DSKE_NAME_MAX + 1];  /* the path SAE (decoded): slave for status/enc_keys, master
	                               * for dec_keys */
	unsigned number;              /* enc_keys: keys wanted (default 1) */
	unsigned size;                /* enc_keys: bits, 0 = the default key size */
	size_t n_ids;                 /* dec_keys: key IDs requested (>= 1) */
	uint8_t (*ids)[DSKE_KEY_ID_LEN];  /* dec_keys: malloc'd, owned; etsi_request_free() */
};

/* The request as it came off the wire (all borrowed). */
struct etsi_http_in {
	const char *method;           /* "GET", "POST", ... */
	const char *target;           /* path and query as sent, still percent-encoded */
	const uint8_t *body;          /* NULL when body_len == 0 */
	size_t body_len;
};

/* Parses and validates in for the calling SAE caller (already authenticated; used for the
 * "caller == path SAE" and additional-slave checks) under limits lim (0 fields = defaults).
 * 0 and *ret filled (caller etsi_request_free()s it), or -EINVAL and *err filled (*ret untouched),
 * or -ENOMEM. Unknown JSON members are ignored; an empty POST body is {}. */
int etsi_request_parse(const struct etsi_http_in *in, const char *caller,
                       const struct etsi_limits *lim, struct etsi_request *ret,
                       struct etsi_error *err);

void etsi_request_free(struct etsi_request *r);   /* frees ids; NULL-safe; r itself borrowed */

/* The limits with every 0 replaced by its default. */
void etsi_limits_resolve(const struct etsi_limits *in, struct etsi_limits *ret);

/* Percent-decodes src[0..len) into dst (cap bytes incl. NUL); '+' stays '+'. 0, -EINVAL (bad
 * escape or %00) or -E2BIG (does not fit). */
int etsi_percent_decode(const char *src, size_t len, char *dst, size_t cap);

/* Sets err->status, formats err->msg (bytes outside printable ASCII become '?'), clears
 * err->allow; returns -EINVAL. */
int etsi_error_set(struct etsi_error *err, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
