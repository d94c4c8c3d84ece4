/* etsi_request.c — see etsi_request.h. Pure. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <uuid/uuid.h>
#include "clientd/etsi_request.h"

#define API_PREFIX "/api/v1/keys/"
#define NUMBER_MSG "number must be a positive integer"
#define SIZE_MSG "size must be a positive integer"

int etsi_error_set(struct etsi_error *err, unsigned status, const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->allow = NULL;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	for (char *p = err->msg; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	return -EINVAL;
}

void etsi_limits_resolve(const struct etsi_limits *in, struct etsi_limits *ret)
{
	struct etsi_limits l = in ? *in : (struct etsi_limits){ 0 };

	if (!l.default_key_size)
		l.default_key_size = 256;
	if (!l.min_key_size)
		l.min_key_size = 64;
	if (!l.max_key_size)
		l.max_key_size = 8192;
	if (!l.max_keys_per_request)
		l.max_keys_per_request = 1024;
	*ret = l;
}

void etsi_request_free(struct etsi_request *r)
{
	if (!r)
		return;
	free(r->ids);
	r->ids = NULL;
	r->n_ids = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int etsi_percent_decode(const char *src, size_t len, char *dst, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = src[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -EINVAL;
			hi = hexval(src[i + 1]);
			lo = hexval(src[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '\0') {
			return -EINVAL;
		}
		if (o + 1 >= cap)
			return -E2BIG;
		dst[o++] = c;
	}
	if (cap == 0)
		return -E2BIG;
	dst[o] = '\0';
	return 0;
}

/* A decoded string fit to quote in a message: short printable ASCII. */
static bool quotable(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (*s < 0x21 || *s > 0x7e || *s == '\'' || n >= 40)
			return false;
	return n > 0;
}

/* Unsigned decimal (digits only, non-empty); saturates at UINT64_MAX. */
static bool parse_digits(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			v = UINT64_MAX;
		else
			v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return true;
}

/* The number/size checks shared by the query and the JSON forms. valid: a positive integer was
 * given (v >= 1); v == UINT64_MAX means "more than fits". */
static int check_number(bool valid, uint64_t v, const struct etsi_limits *l, unsigned *ret,
                        struct etsi_error *err)
{
	if (!valid || v == 0)
		return etsi_error_set(err, 400, NUMBER_MSG);
	if (v > l->max_keys_per_request)
		return etsi_error_set(err, 400, "number exceeds max_key_per_request (%u)",
		                      l->max_keys_per_request);
	*ret = (unsigned)v;
	return 0;
}

static int check_size(bool valid, uint64_t v, const struct etsi_limits *l, unsigned *ret,
                      struct etsi_error *err)
{
	if (!valid || v == 0)
		return etsi_error_set(err, 400, SIZE_MSG);
	if (v != UINT64_MAX && v % 8 != 0)
		return etsi_error_set(err, 400, ETSI_MSG_SIZE_MULTIPLE_OF_8);
	if (v > l->max_key_size)
		return etsi_error_set(err, 400, "size exceeds max_key_size (%u)", l->max_key_size);
	if (v < l->min_key_size)
		return etsi_error_set(err, 400, "size is below min_key_size (%u)", l->min_key_size);
	*ret = (unsigned)v;
	return 0;
}

static int parse_uuid(const char *s, uint8_t id[DSKE_KEY_ID_LEN])
{
	uuid_t u;

	if (strlen(s) != 36 || uuid_parse(s, u) != 0)
		return -EINVAL;
	memcpy(id, u, DSKE_KEY_ID_LEN);
	return 0;
}

/* ---------------------------------------------------------------- path */

static const char *op_sae_name(enum etsi_op op)
{
	return op == ETSI_OP_DEC_KEYS ? "master_SAE_ID" : "slave_SAE_ID";
}

static int route(const char *path, size_t path_len, const char *method, struct etsi_request *r,
                 const char **sae_raw, size_t *sae_len, struct etsi_error *err)
{
	static const struct { const char *name; enum etsi_op op; bool post; } eps[] = {
		{ "status", ETSI_OP_STATUS, false },
		{ "enc_keys", ETSI_OP_ENC_KEYS, true },
		{ "dec_keys", ETSI_OP_DEC_KEYS, true },
	};
	const size_t plen = strlen(API_PREFIX);
	const char *seg, *slash, *end = path + path_len;

	if (path_len < plen || memcmp(path, API_PREFIX, plen) != 0)
		goto unknown;
	seg = path + plen;
	slash = memchr(seg, '/', (size_t)(end - seg));
	if (!slash)
		goto unknown;
	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		size_t n = strlen(eps[i].name);

		if ((size_t)(end - slash - 1) != n || memcmp(slash + 1, eps[i].name, n) != 0)
			continue;
		r->op = eps[i].op;
		if (strcmp(method, "GET") != 0 && !(eps[i].post && strcmp(method, "POST") == 0)) {
			etsi_error_set(err, 405, "method %s is not allowed here; use %s",
			               quotable(method) ? method : "(unprintable)",
			               eps[i].post ? "GET or POST" : "GET");
			err->allow = eps[i].post ? "GET, POST" : "GET";
			return -EINVAL;
		}
		*sae_raw = seg;
		*sae_len = (size_t)(slash - seg);
		return 0;
	}
unknown:
	return etsi_error_set(err, 404, "unknown path: the API is /api/v1/keys/{SAE_ID}/"
	                      "status, enc_keys or dec_keys");
}

static int decode_path_sae(const char *raw, size_t len, enum etsi_op op, const char *caller,
                           struct etsi_request *r, struct etsi_error *err)
{
	const char *what = op_sae_name(op);
	int rc;

	if (len == 0)
		return etsi_error_set(err, 400, "%s in the path is empty", what);
	rc = etsi_percent_decode(raw, len, r->sae, sizeof(r->sae));
	if (rc == -E2BIG)
		return etsi_error_set(err, 400, "%s in the path is longer than %d bytes", what,
		                      DSKE_NAME_MAX);
	if (rc < 0)
		return etsi_error_set(err, 400, "%s in the path has a malformed percent-encoding", what);
	if (!names_sae_valid(r->sae))
		return etsi_error_set(err, 400, "%s in the path is not a valid SAE ID (1 to %d of "
		                      "A-Z a-z 0-9 . _ @ : + -)", what, DSKE_NAME_MAX);
	if (caller && strcmp(caller, r->sae) == 0)
		return etsi_error_set(err, 400, "%s in the path is the calling SAE; keys need two SAEs",
		                      what);
	return 0;
}

/* ---------------------------------------------------------------- query (GET forms) */

struct query {
	bool has_number, has_size, has_key_id;
	char number[ETSI_TARGET_MAX + 1], size[ETSI_TARGET_MAX + 1], key_id[ETSI_TARGET_MAX + 1];
};

static int query_set(bool *has, char *dst, size_t cap, const char *name, const char *v,
                     size_t vlen, struct etsi_error *err)
{
	if (*has)
		return etsi_error_set(err, 400, "duplicate query parameter %s", name);
	*has = true;
	if (etsi_percent_decode(v, vlen, dst, cap) < 0)
		return etsi_error_set(err, 400, "query parameter %s has a malformed percent-encoding",
		                      name);
	return 0;
}

static int parse_query(const char *q, size_t qlen, enum etsi_op op, struct query *out,
                       struct etsi_error *err)
{
	const char *p = q, *end = q + qlen;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pe = amp ? amp : end, *eq;
		char name[48];
		size_t nlen, vlen;
		const char *v;
		int rc;

		if (pe == p) {
			p = pe + 1;
			continue;
		}
		eq = memchr(p, '=', (size_t)(pe - p));
		nlen = (size_t)((eq ? eq : pe) - p);
		v = eq ? eq + 1 : pe;
		vlen = (size_t)(pe - v);
		rc = etsi_percent_decode(p, nlen, name, sizeof(name));
		if (rc < 0 && rc != -E2BIG)
			return etsi_error_set(err, 400, "malformed percent-encoding in the query");
		if (rc == 0 && op == ETSI_OP_ENC_KEYS && strcmp(name, "number") == 0)
			rc = query_set(&out->has_number, out->number, sizeof(out->number), "number",
			               v, vlen, err);
		else if (rc == 0 && op == ETSI_OP_ENC_KEYS && strcmp(name, "size") == 0)
			rc = query_set(&out->has_size, out->size, sizeof(out->size), "size", v, vlen,
			               err);
		else if (rc == 0 && op == ETSI_OP_DEC_KEYS && strcmp(name, "key_ID") == 0)
			rc = query_set(&out->has_key_id, out->key_id, sizeof(out->key_id), "key_ID",
			               v, vlen, err);
		else if (rc == 0 && quotable(name))
			return etsi_error_set(err, 400, "unknown query parameter '%s'%s", name,
			                      op == ETSI_OP_ENC_KEYS ? " (GET enc_keys takes number and size)" :
			                      op == ETSI_OP_DEC_KEYS ? " (GET dec_keys takes key_ID)" :
			                      " (status takes none)");
		else
			return etsi_error_set(err, 400, "unknown query parameter");
		if (rc < 0)
			return rc;
		p = pe + 1;
	}
	return 0;
}

static int query_number(const struct query *q, const struct etsi_limits *l,
                        struct etsi_request *r, struct etsi_error *err)
{
	uint64_t v = 0;
	bool ok;

	if (q->has_number) {
		ok = parse_digits(q->number, &v);
		if (check_number(ok, v, l, &r->number, err) < 0)
			return -EINVAL;
	}
	if (q->has_size) {
		ok = parse_digits(q->size, &v);
		if (check_size(ok, v, l, &r->size, err) < 0)
			return -EINVAL;
	}
	return 0;
}

/* ---------------------------------------------------------------- JSON bodies */

static bool is_blank_body(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != ' ' && b[i] != '\t' && b[i] != '\r' && b[i] != '\n')
			return false;
	return true;
}

static int load_body(const struct etsi_http_in *in, json_t **ret, struct etsi_error *err)
{
	json_error_t jerr;
	json_t *j;

	if (!in->body || is_blank_body(in->body, in->body_len)) {
		j = json_object();
		if (!j)
			return -ENOMEM;
		*ret = j;
		return 0;
	}
	j = json_loadb((const char *)in->body, in->body_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
	               &jerr);
	if (!j)
		return etsi_error_set(err, 400, "malformed JSON body: %s", jerr.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return etsi_error_set(err, 400, "the request body must be a JSON object");
	}
	*ret = j;
	return 0;
}

/* An optional member: absent and JSON null are both "not given". */
static json_t *member(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	return json_is_null(v) ? NULL : v;
}

/* An extension list: absent, null, or an array of objects. */
static int extension_list(json_t *body, const char *name, json_t **ret, struct etsi_error *err)
{
	json_t *a = member(body, name), *e;
	size_t i;

	*ret = a;
	if (!a)
		return 0;
	if (!json_is_array(a))
		return etsi_error_set(err, 400, "%s must be an array of objects", name);
	json_array_foreach(a, i, e)
		if (!json_is_object(e))
			return etsi_error_set(err, 400, "%s must be an array of objects", name);
	return 0;
}

static int check_extensions(json_t *body, struct etsi_error *err)
{
	json_t *mandatory, *optional, *e;
	size_t i;

	if (extension_list(body, "extension_mandatory", &mandatory, err) < 0 ||
	    extension_list(body, "extension_optional", &optional, err) < 0)
		return -EINVAL;
	/* no extension parameter is supported: any one named is unsupported */
	json_array_foreach(mandatory, i, e)
		if (json_object_size(e) > 0)
			return etsi_error_set(err, 400, ETSI_MSG_EXT_MANDATORY_UNSUPPORTED);
	/* extension_optional: the KME may ignore them and answer normally (etsi014.md 1.4) */
	return 0;
}

static int check_additional_slaves(json_t *body, const char *slave, const char *caller,
                                   struct etsi_error *err)
{
	json_t *a = member(body, "additional_slave_SAE_IDs"), *e, *f;
	size_t i, j;

	if (!a)
		return 0;
	if (!json_is_array(a))
		return etsi_error_set(err, 400, "additional_slave_SAE_IDs must be an array of strings");
	json_array_foreach(a, i, e)
		if (!json_is_string(e))
			return etsi_error_set(err, 400,
			                      "additional_slave_SAE_IDs must be an array of strings");
	json_array_foreach(a, i, e) {
		const char *s = json_string_value(e);

		if (strlen(s) != json_string_length(e) || !names_sae_valid(s))
			return etsi_error_set(err, 400, "additional_slave_SAE_IDs contains an empty, "
			                      "blank or invalid SAE ID");
		if (strcmp(s, slave) == 0 || (caller && strcmp(s, caller) == 0))
			return etsi_error_set(err, 400, "additional_slave_SAE_IDs must not name the "
			                      "slave or the master SAE");
		json_array_foreach(a, j, f)
			if (j < i && json_equal(e, f))
				return etsi_error_set(err, 400, "additional_slave_SAE_IDs contains a "
				                      "duplicate SAE ID");
	}
	if (json_array_size(a) > 0)
		return etsi_error_set(err, 400, "additional_slave_SAE_IDs lists %zu SAE(s) but "
		                      "max_SAE_ID_count is 0 (no key multicast)", json_array_size(a));
	return 0;
}

static int json_number(json_t *body, const struct etsi_limits *l, struct etsi_request *r,
                       struct etsi_error *err)
{
	json_t *n = member(body, "number"), *s = member(body, "size");

	if (n && check_number(json_is_integer(n) && json_integer_value(n) > 0,
	                      json_is_integer(n) ? (uint64_t)json_integer_value(n) : 0, l,
	                      &r->number, err) < 0)
		return -EINVAL;
	if (s && check_size(json_is_integer(s) && json_integer_value(s) > 0,
	                    json_is_integer(s) ? (uint64_t)json_integer_value(s) : 0, l,
	                    &r->size, err) < 0)
		return -EINVAL;
	return 0;
}

static int json_enc_keys(json_t *body, const char *caller, const struct etsi_limits *l,
                         struct etsi_request *r, struct etsi_error *err)
{
	if (json_number(body, l, r, err) < 0)
		return -EINVAL;
	if (check_additional_slaves(body, r->sae, caller, err) < 0)
		return -EINVAL;
	return check_extensions(body, err);
}

static int json_dec_keys(json_t *body, const struct etsi_limits *l, struct etsi_request *r,
                         struct etsi_error *err)
{
	json_t *a = member(body, "key_IDs"), *e;
	size_t i, n;

	if (!a)
		return etsi_error_set(err, 400, "key_IDs is required");
	if (!json_is_array(a))
		return etsi_error_set(err, 400, "key_IDs must be an array of objects");
	n = json_array_size(a);
	if (n == 0)
		return etsi_error_set(err, 400, "key_IDs must not be empty");
	if (n > l->max_keys_per_request)
		return etsi_error_set(err, 400, "key_IDs has %zu entries, max_key_per_request is %u",
		                      n, l->max_keys_per_request);
	json_array_foreach(a, i, e) {
		if (!json_is_object(e))
			return etsi_error_set(err, 400, "key_IDs must be an array of objects");
		if (!json_is_string(json_object_get(e, "key_ID")))
			return etsi_error_set(err, 400, "each key_IDs entry needs a key_ID string");
	}
	r->ids = calloc(n, sizeof(*r->ids));
	if (!r->ids)
		return -ENOMEM;
	r->n_ids = n;
	json_array_foreach(a, i, e) {
		json_t *s = json_object_get(e, "key_ID");

		if (strlen(json_string_value(s)) != json_string_length(s) ||
		    parse_uuid(json_string_value(s), r->ids[i]) < 0)
			return etsi_error_set(err, 400, ETSI_MSG_KEYS_NOT_FOUND);
		for (size_t j = 0; j < i; j++)
			if (memcmp(r->ids[i], r->ids[j], DSKE_KEY_ID_LEN) == 0)
				return etsi_error_set(err, 400, "key_IDs names the same key_ID twice");
	}
	return 0;
}

/* ---------------------------------------------------------------- the whole request */

static int parse_get(const struct etsi_http_in *in, const char *q, size_t qlen,
                     const struct etsi_limits *l, struct etsi_request *r, struct etsi_error *err)
{
	struct query qs = { 0 };

	if (in->body_len > 0 && !is_blank_body(in->body, in->body_len))
		return etsi_error_set(err, 400, "a GET request takes no body; use POST");
	if (parse_query(q, qlen, r->op, &qs, err) < 0)
		return -EINVAL;
	if (r->op == ETSI_OP_ENC_KEYS)
		return query_number(&qs, l, r, err);
	if (r->op == ETSI_OP_DEC_KEYS) {
		if (!qs.has_key_id)
			return etsi_error_set(err, 400, "GET dec_keys needs a key_ID query parameter "
			                      "(or POST key_IDs)");
		r->ids = calloc(1, sizeof(*r->ids));
		if (!r->ids)
			return -ENOMEM;
		r->n_ids = 1;
		if (parse_uuid(qs.key_id, r->ids[0]) < 0)
			return etsi_error_set(err, 400, ETSI_MSG_KEYS_NOT_FOUND);
	}
	return 0;
}

static int parse_post(const struct etsi_http_in *in, size_t qlen, const char *caller,
                      const struct etsi_limits *l, struct etsi_request *r, struct etsi_error *err)
{
	json_t *body = NULL;
	int rc;

	if (qlen > 0)
		return etsi_error_set(err, 400, "a POST request takes its parameters in the JSON body, "
		                      "not in the query");
	rc = load_body(in, &body, err);
	if (rc < 0)
		return rc;
	if (r->op == ETSI_OP_ENC_KEYS)
		rc = json_enc_keys(body, caller, l, r, err);
	else
		rc = json_dec_keys(body, l, r, err);
	json_decref(body);
	return rc;
}

int etsi_request_parse(const struct etsi_http_in *in, const char *caller,
                       const struct etsi_limits *lim, struct etsi_request *ret,
                       struct etsi_error *err)
{
	struct etsi_request r = { .number = 1 };
	struct etsi_limits l;
	const char *target = in->target ? in->target : "", *qmark, *sae_raw = NULL;
	size_t tlen, plen, qlen, sae_len = 0;
	int rc;

	etsi_limits_resolve(lim, &l);
	tlen = strnlen(target, ETSI_TARGET_MAX + 1);
	if (tlen > ETSI_TARGET_MAX) {
		rc = etsi_error_set(err, 414, "request target longer than %d bytes", ETSI_TARGET_MAX);
		goto out;
	}
	if (in->body_len > ETSI_BODY_MAX) {
		rc = etsi_error_set(err, 413, "request body larger than %d bytes", ETSI_BODY_MAX);
		goto out;
	}
	qmark = memchr(target, '?', tlen);
	plen = qmark ? (size_t)(qmark - target) : tlen;
	qlen = qmark ? tlen - plen - 1 : 0;
	rc = route(target, plen, in->method ? in->method : "", &r, &sae_raw, &sae_len, err);
	if (rc < 0)
		goto out;
	rc = decode_path_sae(sae_raw, sae_len, r.op, caller, &r, err);
	if (rc < 0)
		goto out;
	if (strcmp(in->method, "GET") == 0)
		rc = parse_get(in, qmark ? qmark + 1 : "", qlen, &l, &r, err);
	else
		rc = parse_post(in, qlen, caller, &l, &r, err);
	if (rc < 0)
		goto out;
	*ret = r;
	return 0;
out:
	etsi_request_free(&r);
	return rc;
}
