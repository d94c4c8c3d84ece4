/* etsi_response.c — see etsi_response.h. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>
#include <uuid/uuid.h>
#include "clientd/etsi_response.h"

/* ---------------------------------------------------------------- wiping jansson allocator */

/* Plain malloc, and a free that wipes the whole block first (malloc_usable_size), so a block
 * jansson frees leaves no copy of a key behind, and memory jansson hands out (json_dumps) may
 * still be released with free() by code that does not know about this allocator. */
static void zfree(void *p)
{
	if (!p)
		return;
	sodium_memzero(p, malloc_usable_size(p));
	free(p);
}

/* Before main, so every jansson user in the program gets it from the start. */
__attribute__((constructor)) static void etsi_response_init(void)
{
	json_set_alloc_funcs(malloc, zfree);
}

/* ---------------------------------------------------------------- bodies */

void etsi_body_free(struct etsi_body *b)
{
	if (!b)
		return;
	sodium_free(b->data);     /* wipes; NULL-safe */
	b->data = NULL;
	b->len = 0;
}

static int body_dump(const json_t *j, struct etsi_body *ret)
{
	size_t n = json_dumpb(j, NULL, 0, JSON_COMPACT);
	char *buf;

	if (n == 0)
		return -ENOMEM;
	buf = sodium_malloc(n + 1);
	if (!buf)
		return -ENOMEM;
	if (json_dumpb(j, buf, n, JSON_COMPACT) != n) {
		sodium_free(buf);
		return -ENOMEM;
	}
	buf[n] = '\0';
	ret->data = buf;
	ret->len = n;
	return 0;
}

static void sanitize(char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

int etsi_response_error(const char *msg, struct etsi_body *ret)
{
	char m[512];
	json_t *j;
	int rc;

	snprintf(m, sizeof(m), "%s", msg && *msg ? msg : "error");
	sanitize(m);
	j = json_pack("{s:s}", "message", m);
	if (!j)
		return -ENOMEM;
	rc = body_dump(j, ret);
	json_decref(j);
	return rc;
}

int etsi_response_status(const struct keysvc_status *st, const char *master, const char *slave,
                         struct etsi_body *ret)
{
	unsigned max_count = st->max_key_count > st->stored_key_count ? st->max_key_count
	                                                               : st->stored_key_count;
	json_t *j;
	int rc;

	if (!master || !slave || !*st->source_kme || !*st->target_kme)
		return -EINVAL;
	j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	              "source_KME_ID", st->source_kme,
	              "target_KME_ID", st->target_kme,
	              "master_SAE_ID", master,
	              "slave_SAE_ID", slave,
	              "key_size", (json_int_t)st->key_size,
	              "stored_key_count", (json_int_t)st->stored_key_count,
	              "max_key_count", (json_int_t)max_count,
	              "max_key_per_request", (json_int_t)st->max_key_per_request,
	              "max_key_size", (json_int_t)st->max_key_size,
	              "min_key_size", (json_int_t)st->min_key_size,
	              "max_SAE_ID_count", (json_int_t)0);
	if (!j)
		return -EINVAL;      /* json_pack refuses invalid UTF-8 names */
	rc = body_dump(j, ret);
	json_decref(j);
	return rc;
}

static int key_object(const struct keysvc_key *k, json_t *keys)
{
	size_t b64len = sodium_base64_encoded_len(k->len, sodium_base64_VARIANT_ORIGINAL);
	char id[37];
	char *b64;
	json_t *o = NULL;
	int rc = -ENOMEM;

	b64 = sodium_malloc(b64len);
	if (!b64)
		return -ENOMEM;
	sodium_bin2base64(b64, b64len, k->key, k->len, sodium_base64_VARIANT_ORIGINAL);
	uuid_unparse_lower(k->key_id, id);
	o = json_pack("{s:s, s:s%}", "key_ID", id, "key", b64, strlen(b64));
	if (!o)
		goto out;
	if (json_array_append_new(keys, o) < 0)
		goto out;
	rc = 0;
out:
	sodium_free(b64);
	return rc;
}

int etsi_response_keys(const struct keysvc_batch *b, struct etsi_body *ret)
{
	json_t *keys = NULL, *j = NULL;
	int rc = -ENOMEM;

	if (!b || b->count == 0)
		return -EINVAL;
	keys = json_array();
	if (!keys)
		goto out;
	for (size_t i = 0; i < b->count; i++) {
		rc = key_object(&b->keys[i], keys);
		if (rc < 0)
			goto out;
	}
	j = json_pack("{s:o}", "keys", keys);
	keys = NULL;             /* stolen by "o", even on failure */
	if (!j) {
		rc = -ENOMEM;
		goto out;
	}
	rc = body_dump(j, ret);
out:
	json_decref(keys);
	json_decref(j);
	return rc;
}

/* ---------------------------------------------------------------- errors */

unsigned etsi_status_from_errno(int err)
{
	switch (err) {
	case -EINVAL:
	case -ENOENT:
		return 400;
	case -EACCES:
		return 401;
	default:
		return 503;
	}
}

const char *etsi_default_message(int err)
{
	switch (err) {
	case -EINVAL:
		return "bad request";
	case -ENOENT:
		return "one or more keys specified are not found on KME";
	case -EACCES:
		return "unauthorized";
	case -EAGAIN:
		return "too few hubs answered";
	case -ENOSPC:
		return "PSRD exhausted";
	case -EDQUOT:
		return "quota exceeded";
	case -ETIMEDOUT:
		return "keys not complete before the deadline";
	default:
		return "key service error";
	}
}

/* ---------------------------------------------------------------- MHD */

struct MHD_Response *etsi_response_mhd(struct etsi_body *b)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer_with_free_callback(b->len, b->data, sodium_free);
	if (!r) {
		etsi_body_free(b);
		return NULL;
	}
	b->data = NULL;
	b->len = 0;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") == MHD_NO ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_NO) {
		MHD_destroy_response(r);
		return NULL;
	}
	return r;
}

struct MHD_Response *etsi_response_mhd_error(const char *msg, const char *allow)
{
	struct etsi_body b = { 0 };
	struct MHD_Response *r;

	if (etsi_response_error(msg, &b) < 0)
		return NULL;
	r = etsi_response_mhd(&b);
	if (r && allow && MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow) == MHD_NO) {
		MHD_destroy_response(r);
		return NULL;
	}
	return r;
}
