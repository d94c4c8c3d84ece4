/* etsi_response.h — the JSON bodies of ETSI GS QKD 014 (etsi014.md 1.3, 1.5, 1.7; checks E14-03,
 * 05, 08, 17) and the errno -> HTTP status map of keysvc.h. Bodies live in sodium_malloc'd
 * buffers that are wiped when freed; the JSON is built with jansson, whose free function this
 * module replaces (json_set_alloc_funcs, before main, for the whole program) with one that wipes
 * every block before free(), so no copy of a base64 key outlives its response. The allocation
 * side stays malloc, so json_dumps() results may still be released with free(). No logging. */
#pragma once
#include <stddef.h>
#include "clientd/keysvc.h"

struct MHD_Response;

/* A response body: NUL-terminated JSON text in sodium_malloc'd memory. */
struct etsi_body {
	char *data;
	size_t len;           /* without the NUL */
};
void etsi_body_free(struct etsi_body *b);   /* wipes and frees data; NULL-safe */

/* Status object with all 11 fields: master = the calling SAE, slave = the path SAE; the
 * counts and sizes from st, made consistent (max_key_count >= stored_key_count) and
 * max_SAE_ID_count 0 (no key multicast). 0, -EINVAL (bad names) or -ENOMEM. */
int etsi_response_status(const struct keysvc_status *st, const char *master, const char *slave,
                         struct etsi_body *ret);

/* Key container {"keys":[{"key_ID": canonical lowercase UUID, "key": padded standard
 * base64}, ...]} for every key of b (borrowed). 0 or -ENOMEM, -EINVAL (empty batch). */
int etsi_response_keys(const struct keysvc_batch *b, struct etsi_body *ret);

/* Error object {"message": msg}; bytes of msg outside printable ASCII become '?'. */
int etsi_response_error(const char *msg, struct etsi_body *ret);

/* keysvc errno -> HTTP status (keysvc.h): -EINVAL/-ENOENT 400, -EACCES 401, other 503. */
unsigned etsi_status_from_errno(int err);

/* The fallback message for a keysvc error that came without one. */
const char *etsi_default_message(int err);

/* An MHD response with Content-Type application/json and Cache-Control no-store that owns
 * b->data (sodium_free()d when MHD destroys it); b is emptied. NULL on out of memory (b is
 * then freed too). */
struct MHD_Response *etsi_response_mhd(struct etsi_body *b);

/* Builds the error body and its MHD response in one go (allow: the Allow header or NULL). */
struct MHD_Response *etsi_response_mhd_error(const char *msg, const char *allow);
