/* reqkey.c — request-key upcall protocol codec (reqkey.h). Pure. */
#include "reqkey.h"
#include "desc.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <string.h>
#include <uuid/uuid.h>

int reqkey_request_encode(const struct reqkey_request *rq, char **ret)
{
	char uuid[KEYRING_UUID_STR_LEN + 1];
	json_t *o = NULL;
	char *s;
	int r;

	if (!keyring_peer_valid(rq->peer) || rq->timeout_ms == 0 ||
	    rq->timeout_ms > REQKEY_TIMEOUT_MS_MAX || rq->uid == (uid_t)-1 || rq->gid == (gid_t)-1)
		return -EINVAL;
	uuid_unparse_lower(rq->key_id, uuid);
	o = json_pack("{s:s, s:s, s:I, s:I, s:I}", "peer", rq->peer, "key_id", uuid,
	              "uid", (json_int_t)rq->uid, "gid", (json_int_t)rq->gid,
	              "timeout_ms", (json_int_t)rq->timeout_ms);
	if (!o) {
		r = -ENOMEM;
		goto out;
	}
	s = json_dumps(o, JSON_COMPACT);
	if (!s) {
		r = -ENOMEM;
		goto out;
	}
	*ret = s;
	r = 0;
out:
	json_decref(o);
	return r;
}

static int reqkey_id_take(json_t *o, const char *name, json_int_t max, json_int_t *ret)
{
	json_t *v = json_object_get(o, name);
	json_int_t n;

	if (!json_is_integer(v))
		return -EINVAL;
	n = json_integer_value(v);
	if (n < 0 || n > max)
		return -EINVAL;
	*ret = n;
	return 0;
}

int reqkey_request_decode(const char *buf, size_t len, struct reqkey_request *ret)
{
	struct reqkey_request rq;
	json_error_t jerr;
	json_t *o = NULL, *v;
	json_int_t uid, gid, tmo;
	const char *s;
	uuid_t id;
	int r = -EINVAL;

	if (!buf || len == 0 || len > REQKEY_BODY_MAX)
		goto out;
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o) || json_object_size(o) != 5)
		goto out;
	memset(&rq, 0, sizeof(rq));
	v = json_object_get(o, "peer");
	s = json_string_value(v);
	if (!s || strlen(s) != json_string_length(v) || !keyring_peer_valid(s))
		goto out;
	strcpy(rq.peer, s);
	v = json_object_get(o, "key_id");
	s = json_string_value(v);
	/* one spelling per key: lower-case canonical, the same as in the description */
	if (!s || json_string_length(v) != KEYRING_UUID_STR_LEN || uuid_parse(s, id) != 0)
		goto out;
	{
		char canon[KEYRING_UUID_STR_LEN + 1];
		uuid_unparse_lower(id, canon);
		if (strcmp(canon, s) != 0)
			goto out;
	}
	memcpy(rq.key_id, id, DSKE_KEY_ID_LEN);
	if (reqkey_id_take(o, "uid", (json_int_t)UINT32_MAX - 1, &uid) < 0 ||
	    reqkey_id_take(o, "gid", (json_int_t)UINT32_MAX - 1, &gid) < 0 ||
	    reqkey_id_take(o, "timeout_ms", REQKEY_TIMEOUT_MS_MAX, &tmo) < 0 || tmo == 0)
		goto out;
	rq.uid = (uid_t)uid;
	rq.gid = (gid_t)gid;
	rq.timeout_ms = (unsigned)tmo;
	*ret = rq;
	r = 0;
out:
	json_decref(o);
	return r;
}

json_t *reqkey_response_encode(const uint8_t *key, size_t len, unsigned timeout_s)
{
	size_t b64len = sodium_base64_ENCODED_LEN(REQKEY_KEY_MAX, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = NULL;
	json_t *o = NULL;

	if (!key || len == 0 || len > REQKEY_KEY_MAX || sodium_init() < 0)
		goto out;
	b64 = sodium_malloc(b64len);
	if (!b64)
		goto out;
	sodium_bin2base64(b64, b64len, key, len, sodium_base64_VARIANT_ORIGINAL);
	o = json_pack("{s:s, s:I}", "key", b64, "timeout", (json_int_t)timeout_s);
out:
	sodium_free(b64);                   /* wipes */
	return o;
}

int reqkey_response_decode(const char *buf, size_t len, uint8_t *key_buf, size_t cap,
                           size_t *ret_len, unsigned *ret_timeout_s)
{
	json_error_t jerr;
	json_t *o = NULL, *k, *t;
	const char *b64, *end = NULL;
	size_t n = 0, b64len = 0;
	json_int_t tmo;
	int r = -EINVAL;

	if (!buf || len == 0 || len > REQKEY_RESPONSE_MAX || !key_buf || cap == 0)
		goto out;
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o) || json_object_size(o) != 2)
		goto out;
	k = json_object_get(o, "key");
	t = json_object_get(o, "timeout");
	if (!json_is_string(k) || !json_is_integer(t))
		goto out;
	tmo = json_integer_value(t);
	if (tmo < 0 || tmo > (json_int_t)UINT32_MAX)
		goto out;
	b64 = json_string_value(k);
	b64len = json_string_length(k);
	if (sodium_base642bin(key_buf, cap, b64, b64len, NULL, &n, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 || end != b64 + b64len || n == 0) {
		sodium_memzero(key_buf, cap);
		goto out;
	}
	*ret_len = n;
	*ret_timeout_s = (unsigned)tmo;
	r = 0;
out:
	/* jansson's copy of the key text: wipe it before jansson frees it */
	if (json_is_object(o) && json_is_string(json_object_get(o, "key")))
		sodium_memzero((char *)json_string_value(json_object_get(o, "key")),
		               json_string_length(json_object_get(o, "key")));
	json_decref(o);
	return r;
}

int reqkey_status_errno(long http_status)
{
	switch (http_status) {
	case 404:
		return ENOKEY;
	case 410:
		return EKEYEXPIRED;
	case 503:
		return EAGAIN;
	case 504:
		return ETIMEDOUT;
	default:                            /* 400, 401, 403 and anything unexpected */
		return EKEYREJECTED;
	}
}

unsigned reqkey_negative_timeout(int err)
{
	switch (err) {
	case EAGAIN:
	case ETIMEDOUT:
	case ECONNREFUSED:
		return REQKEY_NEG_TIMEOUT_TRANSIENT;
	default:
		return REQKEY_NEG_TIMEOUT_REJECT;
	}
}
