/* test_etsi_server.c — clientd/etsi_server.c and etsi_serve.c: the real ETSI 014 server on a unix
 * socket (and the insecure HTTP listener) in a temporary directory, over a mock key service
 * (mock_keysvc.c), driven with libcurl: caller identification by SO_PEERCRED and by header,
 * every endpoint and form, keys served once per side, 401 for a non-slave, keysvc errno -> HTTP
 * status with the key service's message, JSON Error bodies on every error, the control-socket
 * entry point. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>
#include "clientd/etsi.h"
#include "common/ctl.h"
#include "common/log.h"
#include "mock_keysvc.c"

struct resp {
	long status;
	char *body;
	size_t len;
	char ctype[128];
	char allow[64];
};

struct fixture {
	char dir[64];
	char sock[128];
	struct etsi *e;
	unsigned http_port;
	CURL *curl;               /* one handle: keep-alive across requests */
};

static size_t on_write(char *p, size_t sz, size_t n, void *ud)
{
	struct resp *r = ud;
	char *b = realloc(r->body, r->len + sz * n + 1);

	if (!b)
		return 0;
	memcpy(b + r->len, p, sz * n);
	r->body = b;
	r->len += sz * n;
	b[r->len] = '\0';
	return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t len = sz * n;

	if (len > 14 && strncasecmp(p, "Content-Type: ", 14) == 0)
		snprintf(r->ctype, sizeof(r->ctype), "%.*s", (int)strcspn(p + 14, "\r\n"), p + 14);
	if (len > 7 && strncasecmp(p, "Allow: ", 7) == 0)
		snprintf(r->allow, sizeof(r->allow), "%.*s", (int)strcspn(p + 7, "\r\n"), p + 7);
	return len;
}

static void resp_free(struct resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* One request. unix_path NULL: TCP. sae: X-DSKE-SAE header or NULL. body NULL: none. */
static void req(struct fixture *f, const char *unix_path, const char *method, const char *url,
                const char *body, const char *sae, bool json_headers, struct resp *out)
{
	struct curl_slist *h = NULL;
	char hdr[128];

	memset(out, 0, sizeof(*out));
	curl_easy_reset(f->curl);
	curl_easy_setopt(f->curl, CURLOPT_URL, url);
	if (unix_path)
		curl_easy_setopt(f->curl, CURLOPT_UNIX_SOCKET_PATH, unix_path);
	curl_easy_setopt(f->curl, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(f->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(f->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(f->curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(f->curl, CURLOPT_POSTFIELDSIZE, 0L);
		h = curl_slist_append(h, "Content-Type:");       /* none at all */
	}
	/* a body the server refuses by its Content-Length: wait for its answer before sending (as
	 * curl does above 1 MiB), or the refusal races the upload and may be lost in a reset */
	if (body && strlen(body) > 65536)
		h = curl_slist_append(h, "Expect: 100-continue");
	if (sae) {
		snprintf(hdr, sizeof(hdr), "X-DSKE-SAE: %s", sae);
		h = curl_slist_append(h, hdr);
	}
	if (json_headers) {
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, "Accept: application/json");
	}
	curl_easy_setopt(f->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(f->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(f->curl, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(f->curl, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(f->curl) != CURLE_OK)
		fail_msg("%s %s: transport error", method, url);
	curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(h);
}

static json_t *json_of(const struct resp *r)
{
	json_error_t e;
	json_t *j = json_loadb(r->body ? r->body : "", r->len, 0, &e);

	if (!j)
		fail_msg("body is not JSON: %s", r->body ? r->body : "(none)");
	return j;
}

/* Asserts status and the exact Error message (and the JSON content type). */
static void expect_error(const struct resp *r, long status, const char *msg)
{
	json_t *j;

	if (r->status != status)
		fail_msg("expected %ld, got %ld: %s", status, r->status, r->body ? r->body : "");
	assert_string_equal(r->ctype, "application/json");
	j = json_of(r);
	assert_true(json_is_string(json_object_get(j, "message")));
	assert_string_equal(json_string_value(json_object_get(j, "message")), msg);
	json_decref(j);
}

static const char *unix_url(const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "http://localhost%s", path);
	return buf;
}

static const char *http_url(struct fixture *f, const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "http://127.0.0.1:%u%s", f->http_port, path);
	return buf;
}

/* ---------------------------------------------------------------- fixture */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct etsi_sae saes[] = {
		{ .id = MOCK_SAE_A, .has_uid = true, .uid = getuid() },
		{ .id = MOCK_SAE_B },
		{ .id = MOCK_SAE_C },
	};
	struct etsi_config cfg = { .saes = saes, .n_saes = 3, .insecure_http = "127.0.0.1:0" };

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_etsi.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->sock, sizeof(f->sock), "%s/etsi.sock", f->dir);
	cfg.unix_socket = f->sock;
	mock_keysvc_reset();
	if (etsi_start(&cfg, &mock_ks, &f->e) < 0)
		return -1;
	f->http_port = etsi_port(f->e, false);
	f->curl = curl_easy_init();
	*state = f;
	return f->curl && f->http_port ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	curl_easy_cleanup(f->curl);
	etsi_stop(f->e);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---------------------------------------------------------------- tests */

static void test_socket_and_status(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	struct resp r;
	char url[256];
	json_t *j;

	assert_int_equal(stat(f->sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0666);
	assert_int_equal(etsi_port(f->e, true), 0);

	/* E14-03: master = the caller (from SO_PEERCRED), slave = the path */
	req(f, f->sock, "GET", unix_url("/api/v1/keys/sae_b/status", url, sizeof(url)), NULL, NULL,
	    false, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "application/json");
	j = json_of(&r);
	assert_int_equal(json_object_size(j), 11);
	assert_string_equal(json_string_value(json_object_get(j, "master_SAE_ID")), "sae_a");
	assert_string_equal(json_string_value(json_object_get(j, "slave_SAE_ID")), "sae_b");
	assert_string_equal(json_string_value(json_object_get(j, "source_KME_ID")), "client1");
	assert_int_equal(json_integer_value(json_object_get(j, "max_SAE_ID_count")), 0);
	json_decref(j);
	resp_free(&r);
	assert_string_equal(mock_ks.last_caller, "sae_a");
	assert_string_equal(mock_ks.last_iface, "etsi-unix");

	/* GET with a JSON content type and no body (a C client library does this) */
	req(f, f->sock, "GET", unix_url("/api/v1/keys/remote_sae/status", url, sizeof(url)), NULL,
	    NULL, true, &r);
	assert_int_equal(r.status, 200);
	j = json_of(&r);
	assert_string_equal(json_string_value(json_object_get(j, "target_KME_ID")), "client2");
	json_decref(j);
	resp_free(&r);

	/* a header cannot change who the unix-socket caller is */
	req(f, f->sock, "GET", unix_url("/api/v1/keys/sae_a/status", url, sizeof(url)), NULL,
	    MOCK_SAE_B, false, &r);
	expect_error(&r, 400, "slave_SAE_ID in the path is the calling SAE; keys need two SAEs");
	resp_free(&r);
}

/* Decodes every key of a container; returns the count, checks each is bytes long. */
static size_t keys_of(const struct resp *r, size_t bytes, char ids[][37], uint8_t keys[][1024])
{
	json_t *j = json_of(r), *a = json_object_get(j, "keys"), *k;
	size_t i;

	assert_true(json_is_array(a));
	json_array_foreach(a, i, k) {
		const char *id = json_string_value(json_object_get(k, "key_ID"));
		const char *b64 = json_string_value(json_object_get(k, "key"));
		size_t len = 0;

		assert_non_null(id);
		assert_non_null(b64);
		assert_int_equal(strlen(id), 36);
		snprintf(ids[i], 37, "%s", id);
		assert_int_equal(sodium_base642bin(keys[i], 1024, b64, strlen(b64), NULL, &len, NULL,
		                                   sodium_base64_VARIANT_ORIGINAL), 0);
		assert_int_equal(len, bytes);
	}
	i = json_array_size(a);
	json_decref(j);
	return i;
}

static void test_enc_dec_keys(void **state)
{
	struct fixture *f = *state;
	static char ids[8][37], ids2[8][37];
	static uint8_t keys[8][1024], keys2[8][1024];
	struct resp r;
	char url[1024], body[512];

	/* E14-04: POST with no body at all (no content type) -> defaults: 1 key of 256 bits */
	req(f, f->sock, "POST", unix_url("/api/v1/keys/sae_b/enc_keys", url, sizeof(url)), NULL,
	    NULL, false, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(keys_of(&r, 32, ids, keys), 1);
	resp_free(&r);

	/* E14-05: GET number and size honoured exactly */
	req(f, f->sock, "GET", unix_url("/api/v1/keys/sae_b/enc_keys?number=3&size=512", url,
	                                 sizeof(url)), NULL, NULL, false, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(keys_of(&r, 64, ids + 1, keys + 1), 3);
	resp_free(&r);

	/* POST {} and POST with number/size */
	req(f, f->sock, "POST", unix_url("/api/v1/keys/sae_b/enc_keys", url, sizeof(url)), "{}",
	    NULL, true, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(keys_of(&r, 32, ids + 4, keys + 4), 1);
	resp_free(&r);

	/* E14-09: the slave (sae_b, here over the insecure listener) gets the same bytes */
	snprintf(body, sizeof(body), "/api/v1/keys/sae_a/dec_keys?key_ID=%s", ids[0]);
	req(f, NULL, "GET", http_url(f, body, url, sizeof(url)), NULL, MOCK_SAE_B, false, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(keys_of(&r, 32, ids2, keys2), 1);
	assert_string_equal(ids2[0], ids[0]);
	assert_memory_equal(keys2[0], keys[0], 32);
	resp_free(&r);
	/* E14-12: once per side */
	req(f, NULL, "GET", http_url(f, body, url, sizeof(url)), NULL, MOCK_SAE_B, false, &r);
	expect_error(&r, 400, "one or more keys specified are not found on KME");
	resp_free(&r);

	/* E14-10: an SAE that is not the named slave -> 401 */
	snprintf(body, sizeof(body), "{\"key_IDs\":[{\"key_ID\":\"%s\"}]}", ids[1]);
	req(f, NULL, "POST", http_url(f, "/api/v1/keys/sae_a/dec_keys", url, sizeof(url)), body,
	    MOCK_SAE_C, true, &r);
	expect_error(&r, 401, "SAE sae_c is not a slave SAE of the keys");
	resp_free(&r);

	/* POST many, in request order, identical to the master's */
	snprintf(body, sizeof(body), "{\"key_IDs\":[{\"key_ID\":\"%s\"},{\"key_ID\":\"%s\","
	         "\"master_SAE_ID\":\"sae_a\"},{\"key_ID\":\"%s\"}]}", ids[3], ids[1], ids[2]);
	req(f, NULL, "POST", http_url(f, "/api/v1/keys/sae_a/dec_keys", url, sizeof(url)), body,
	    MOCK_SAE_B, true, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(keys_of(&r, 64, ids2, keys2), 3);
	assert_string_equal(ids2[0], ids[3]);
	assert_string_equal(ids2[1], ids[1]);
	assert_string_equal(ids2[2], ids[2]);
	assert_memory_equal(keys2[0], keys[3], 64);
	assert_memory_equal(keys2[1], keys[1], 64);
	assert_memory_equal(keys2[2], keys[2], 64);
	resp_free(&r);

	/* E14-11: an unknown key ID */
	req(f, NULL, "GET", http_url(f, "/api/v1/keys/sae_a/dec_keys?key_ID="
	                             "00000000-0000-4000-8000-000000000000", url, sizeof(url)),
	    NULL, MOCK_SAE_B, false, &r);
	expect_error(&r, 400, "one or more keys specified are not found on KME");
	resp_free(&r);
	/* a percent-encoded key_ID is decoded */
	snprintf(body, sizeof(body), "/api/v1/keys/sae_a/dec_keys?key_ID=%.8s%%2D%s", ids[4],
	         ids[4] + 9);
	req(f, NULL, "GET", http_url(f, body, url, sizeof(url)), NULL, MOCK_SAE_B, false, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
}

static void test_errors_are_json(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char url[256], *big;

	req(f, f->sock, "GET", unix_url("/api/v1/keys/sae_b/enc_keys?size=12", url, sizeof(url)),
	    NULL, NULL, false, &r);
	expect_error(&r, 400, "size shall be a multiple of 8");
	resp_free(&r);
	req(f, f->sock, "POST", unix_url("/api/v1/keys/sae_b/enc_keys", url, sizeof(url)),
	    "{\"extension_mandatory\":[{\"abc_route_type\":\"direct\"}]}", NULL, true, &r);
	expect_error(&r, 400, "not all extension_mandatory parameters are supported");
	resp_free(&r);
	req(f, f->sock, "GET", unix_url("/api/v1/keys/sae%20b/status", url, sizeof(url)), NULL,
	    NULL, false, &r);
	expect_error(&r, 400, "slave_SAE_ID in the path is not a valid SAE ID (1 to 64 of "
	             "A-Z a-z 0-9 . _ @ : + -)");
	resp_free(&r);
	/* encoded slash: still one path segment (the raw target is parsed, not MHD's decoding) */
	req(f, f->sock, "GET", unix_url("/api/v1/keys/sae%2Fb/status", url, sizeof(url)), NULL,
	    NULL, false, &r);
	expect_error(&r, 400, "slave_SAE_ID in the path is not a valid SAE ID (1 to 64 of "
	             "A-Z a-z 0-9 . _ @ : + -)");
	resp_free(&r);
	req(f, f->sock, "PUT", unix_url("/api/v1/keys/sae_b/enc_keys", url, sizeof(url)), "{}",
	    NULL, false, &r);
	expect_error(&r, 405, "method PUT is not allowed here; use GET or POST");
	assert_string_equal(r.allow, "GET, POST");
	resp_free(&r);
	req(f, f->sock, "GET", unix_url("/nothing/here", url, sizeof(url)), NULL, NULL, false, &r);
	expect_error(&r, 404, "unknown path: the API is /api/v1/keys/{SAE_ID}/status, enc_keys or "
	             "dec_keys");
	resp_free(&r);
	/* an unknown slave SAE: the key service's 400 and message */
	req(f, f->sock, "GET", unix_url("/api/v1/keys/nobody/enc_keys", url, sizeof(url)), NULL,
	    NULL, false, &r);
	expect_error(&r, 400, "unknown SAE nobody");
	resp_free(&r);

	/* oversized body: 413 before it is read, as JSON */
	big = malloc(300 * 1024 + 1);
	assert_non_null(big);
	memset(big, ' ', 300 * 1024);
	big[0] = '{';
	big[300 * 1024 - 1] = '}';
	big[300 * 1024] = '\0';
	req(f, f->sock, "POST", unix_url("/api/v1/keys/sae_b/enc_keys", url, sizeof(url)), big,
	    NULL, true, &r);
	expect_error(&r, 413, "request body too large");
	resp_free(&r);
	free(big);
}

/* keysvc errno -> HTTP status, with the key service's own message */
static void test_keysvc_errors(void **state)
{
	static const struct { int err; const char *msg; long status; const char *want; } cases[] = {
		{ -EAGAIN, "2 of 5 hubs answered, 3 needed", 503, "2 of 5 hubs answered, 3 needed" },
		{ -ENOSPC, "PSRD exhausted for hub hub3", 503, "PSRD exhausted for hub hub3" },
		{ -EDQUOT, "quota of 1000 keys per minute used up", 503,
		  "quota of 1000 keys per minute used up" },
		{ -ETIMEDOUT, "", 503, "keys not complete before the deadline" },
		{ -EIO, "", 503, "key service error" },
		{ -EACCES, "SAE sae_a may not use peer x", 401, "SAE sae_a may not use peer x" },
		{ -EINVAL, "", 400, "bad request" },
	};
	struct fixture *f = *state;
	struct resp r;
	char url[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mock_keysvc_fail_next(cases[i].err, cases[i].msg);
		req(f, f->sock, "GET", unix_url(i % 2 ? "/api/v1/keys/sae_b/status"
		                                      : "/api/v1/keys/sae_b/enc_keys", url, sizeof(url)),
		    NULL, NULL, false, &r);
		expect_error(&r, cases[i].status, cases[i].want);
		resp_free(&r);
	}
}

static void test_insecure_http_identity(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	char url[256];

	req(f, NULL, "GET", http_url(f, "/api/v1/keys/sae_b/status", url, sizeof(url)), NULL, NULL,
	    false, &r);
	expect_error(&r, 401, "insecure HTTP: the X-DSKE-SAE header must name the calling SAE");
	resp_free(&r);
	req(f, NULL, "GET", http_url(f, "/api/v1/keys/sae_b/status", url, sizeof(url)), NULL,
	    MOCK_SAE_R, false, &r);
	expect_error(&r, 401, "X-DSKE-SAE names no local SAE");
	resp_free(&r);
	req(f, NULL, "GET", http_url(f, "/api/v1/keys/sae_a/status", url, sizeof(url)), NULL,
	    MOCK_SAE_B, false, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_string_equal(mock_ks.last_iface, "etsi-http");
}

/* An SAE map that does not name this uid: 401, JSON. */
static void test_unmapped_uid(void **state)
{
	struct etsi_sae saes[] = {
		{ .id = MOCK_SAE_A, .has_uid = true, .uid = getuid() + 1 },
		{ .id = MOCK_SAE_B, .has_gid = true, .gid = getgid() + 1 },
		{ .id = MOCK_SAE_C, .has_uid = true, .uid = getuid(), .has_gid = true,
		  .gid = getgid() + 1 },
	};
	struct etsi_config cfg = { .saes = saes, .n_saes = 3, .unix_socket_mode = 0600 };
	struct fixture f = { 0 };
	struct etsi *e = NULL;
	struct stat st;
	struct resp r;
	char url[256], want[128];

	snprintf(f.dir, sizeof(f.dir), "/tmp/test_etsi.XXXXXX");
	assert_non_null(mkdtemp(f.dir));
	snprintf(f.sock, sizeof(f.sock), "%s/s", f.dir);
	cfg.unix_socket = f.sock;
	assert_int_equal(etsi_start(&cfg, &mock_ks, &e), 0);
	assert_int_equal(stat(f.sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	f.curl = curl_easy_init();
	req(&f, f.sock, "GET", unix_url("/api/v1/keys/sae_b/status", url, sizeof(url)), NULL, NULL,
	    false, &r);
	snprintf(want, sizeof(want), "no SAE is configured for uid %u gid %u", (unsigned)getuid(),
	         (unsigned)getgid());
	expect_error(&r, 401, want);
	resp_free(&r);
	curl_easy_cleanup(f.curl);
	etsi_stop(e);
	/* stopping removes the socket */
	assert_int_equal(stat(f.sock, &st), -1);
	rmdir(f.dir);

	/* gid alone maps too */
	saes[1].gid = getgid();
	assert_non_null(mkdtemp(strcpy(f.dir, "/tmp/test_etsi.XXXXXX")));
	snprintf(f.sock, sizeof(f.sock), "%s/s", f.dir);
	assert_int_equal(etsi_start(&cfg, &mock_ks, &e), 0);
	f.curl = curl_easy_init();
	req(&f, f.sock, "GET", unix_url("/api/v1/keys/sae_a/status", url, sizeof(url)), NULL, NULL,
	    false, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_string_equal(mock_ks.last_caller, "sae_b");
	curl_easy_cleanup(f.curl);
	etsi_stop(e);
	rmdir(f.dir);
}

static void test_bad_config(void **state)
{
	struct etsi_sae bad[] = { { .id = "sae a" } };
	struct etsi_config cfg = { .saes = bad, .n_saes = 1 };
	struct etsi *e = NULL;

	assert_int_equal(etsi_start(&cfg, &mock_ks, &e), -EINVAL);
	assert_null(e);
	bad[0].id = "ok";
	cfg.https = "127.0.0.1:0";          /* https without certificates */
	assert_int_equal(etsi_start(&cfg, &mock_ks, &e), -EINVAL);
	cfg.https = NULL;
	cfg.insecure_http = "nonsense";
	assert_int_equal(etsi_start(&cfg, &mock_ks, &e), -EINVAL);
	/* no listener at all: fine, the control socket can still serve */
	cfg.insecure_http = NULL;
	assert_int_equal(etsi_start(&cfg, &mock_ks, &e), 0);
	assert_int_equal(etsi_port(e, false), 0);
	etsi_stop(e);
	etsi_stop(NULL);
}

/* ---------------------------------------------------------------- HTTPS with client certificates */

/* Makes a CA, a server certificate for 127.0.0.1, client certificates (mapped CN, cert_cn-mapped
 * CN, unmapped CN) and one from another CA, with openssl. */
static void make_pki(const char *dir)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd),
	         "set -e; cd %s; exec 2>openssl.log\n"
	         "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1.key; }\n"
	         "ca() { key $1; openssl req -x509 -new -key $1.key -subj /CN=$1 -days 2 -out $1.pem; }\n"
	         "cert() { key $1; openssl req -new -key $1.key -subj /CN=$2 -out $1.csr;\n"
	         "  printf '%%s\\n' \"$3\" > $1.ext;\n"
	         "  openssl x509 -req -in $1.csr -CA $4.pem -CAkey $4.key -CAcreateserial -days 2"
	         " -extfile $1.ext -out $1.pem; }\n"
	         "ca ca; ca otherca\n"
	         "cert server localhost 'subjectAltName=IP:127.0.0.1,DNS:localhost' ca\n"
	         "cert alice sae_a 'extendedKeyUsage=clientAuth' ca\n"
	         "cert bob bob-cert 'extendedKeyUsage=clientAuth' ca\n"
	         "cert stranger stranger 'extendedKeyUsage=clientAuth' ca\n"
	         "cert forged sae_a 'extendedKeyUsage=clientAuth' otherca\n", dir);
	if (system(cmd) != 0)
		fail_msg("openssl failed, see %s/openssl.log", dir);
}

/* tls: 0 any, 12 = at most TLS 1.2, 13 = at least TLS 1.3, 11 = at most TLS 1.1.
 * Returns false on a transport (handshake) failure. */
static bool tls_req(CURL *c, const char *dir, unsigned port, const char *client, int tls,
                    const char *path, struct resp *out)
{
	char url[256], f_cert[256], f_key[256], f_ca[256];
	CURLcode cc;

	memset(out, 0, sizeof(*out));
	curl_easy_reset(c);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u%s", port, path);
	snprintf(f_ca, sizeof(f_ca), "%s/ca.pem", dir);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, f_ca);
	if (client) {
		snprintf(f_cert, sizeof(f_cert), "%s/%s.pem", dir, client);
		snprintf(f_key, sizeof(f_key), "%s/%s.key", dir, client);
		curl_easy_setopt(c, CURLOPT_SSLCERT, f_cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, f_key);
	}
	if (tls == 12)
		curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)(CURL_SSLVERSION_TLSv1_2 |
		                                               CURL_SSLVERSION_MAX_TLSv1_2));
	if (tls == 13)
		curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
	if (tls == 11)
		curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)(CURL_SSLVERSION_TLSv1_0 |
		                                               CURL_SSLVERSION_MAX_TLSv1_1));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK)
		return false;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	return true;
}

static void test_https(void **state)
{
	char dir[] = "/tmp/test_etsi_tls.XXXXXX", cert[256], key[256], ca[256], cmd[300];
	struct etsi_sae saes[] = {
		{ .id = MOCK_SAE_A },                       /* cert_cn defaults to the SAE ID */
		{ .id = MOCK_SAE_B, .cert_cn = "bob-cert" },
		{ .id = MOCK_SAE_C },
	};
	struct etsi_config cfg = { .saes = saes, .n_saes = 3, .https = "127.0.0.1:0",
	                           .tls_cert = cert, .tls_key = key, .tls_ca = ca };
	struct etsi *e = NULL;
	CURL *c = curl_easy_init();
	struct resp r;
	unsigned port;
	json_t *j;

	assert_non_null(mkdtemp(dir));
	make_pki(dir);
	snprintf(cert, sizeof(cert), "%s/server.pem", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	assert_int_equal(etsi_start(&cfg, &mock_ks, &e), 0);
	port = etsi_port(e, true);
	assert_true(port > 0);

	/* E14-01/02: the CN names the caller; TLS 1.3 and TLS 1.2 both work */
	assert_true(tls_req(c, dir, port, "alice", 13, "/api/v1/keys/sae_b/status", &r));
	assert_int_equal(r.status, 200);
	j = json_of(&r);
	assert_string_equal(json_string_value(json_object_get(j, "master_SAE_ID")), "sae_a");
	json_decref(j);
	resp_free(&r);
	assert_true(tls_req(c, dir, port, "alice", 12, "/api/v1/keys/sae_b/enc_keys?number=2", &r));
	assert_int_equal(r.status, 200);
	resp_free(&r);
	/* TLS 1.1 and below are refused in the handshake */
	assert_false(tls_req(c, dir, port, "alice", 11, "/api/v1/keys/sae_b/status", &r));
	resp_free(&r);
	/* cert_cn maps another CN */
	assert_true(tls_req(c, dir, port, "bob", 0, "/api/v1/keys/sae_a/status", &r));
	assert_int_equal(r.status, 200);
	assert_string_equal(mock_ks.last_caller, "sae_b");
	assert_string_equal(mock_ks.last_iface, "etsi-https");
	resp_free(&r);
	/* no certificate, an unmapped CN, a certificate from another CA with the right CN: 401 */
	assert_true(tls_req(c, dir, port, NULL, 0, "/api/v1/keys/sae_b/status", &r));
	expect_error(&r, 401, "a client certificate is required");
	resp_free(&r);
	assert_true(tls_req(c, dir, port, "stranger", 0, "/api/v1/keys/sae_b/status", &r));
	expect_error(&r, 401, "the client certificate CN 'stranger' is not mapped to an SAE");
	resp_free(&r);
	assert_true(tls_req(c, dir, port, "forged", 0, "/api/v1/keys/sae_b/status", &r));
	expect_error(&r, 401, "the client certificate does not verify against the trusted CA");
	resp_free(&r);
	etsi_stop(e);
	curl_easy_cleanup(c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static struct etsi *ctl_etsi;

static enum MHD_Result etsi_route(void *cls, struct httpd_request *req)
{
	return etsi_control_handle(ctl_etsi, req);
}

/* The control socket (common/ctl.h) with the ETSI raw route: root acts as X-DSKE-SAE. */
static void test_control_socket(void **state)
{
	static const struct ctl_raw_route raw[] = { { "/api/v1/keys/", etsi_route } };
	struct fixture *f = *state;
	struct ctl *c = NULL;
	struct resp r;
	char path[160], url[256];
	json_t *j;

	snprintf(path, sizeof(path), "%s/ctl.sock", f->dir);
	ctl_etsi = f->e;
	assert_int_equal(ctl_start_raw(path, NULL, 0, raw, 1, 0, NULL, &c), 0);
	req(f, path, "GET", unix_url("/api/v1/keys/sae_b/status", url, sizeof(url)), NULL,
	    MOCK_SAE_C, false, &r);
	if (getuid() != 0) {
		expect_error(&r, 401, "only root may use the ETSI API on the control socket; SAEs use "
		             "the ETSI socket");
		resp_free(&r);
		goto out;
	}
	assert_int_equal(r.status, 200);
	j = json_of(&r);
	assert_string_equal(json_string_value(json_object_get(j, "master_SAE_ID")), "sae_c");
	json_decref(j);
	resp_free(&r);
	req(f, path, "GET", unix_url("/api/v1/keys/sae_b/status", url, sizeof(url)), NULL, NULL,
	    false, &r);
	expect_error(&r, 401, "the X-DSKE-SAE header must name the local SAE to act as");
	resp_free(&r);
	req(f, path, "POST", unix_url("/api/v1/keys/sae_b/enc_keys", url, sizeof(url)),
	    "{\"number\":2,\"size\":64}", MOCK_SAE_C, true, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	/* no front end: 503 */
	ctl_etsi = NULL;
	req(f, path, "GET", unix_url("/api/v1/keys/sae_b/status", url, sizeof(url)), NULL,
	    MOCK_SAE_C, false, &r);
	expect_error(&r, 503, "the ETSI front end is not running");
	resp_free(&r);
out:
	ctl_stop(c);
}

static void test_control_respond(void **state)
{
	struct fixture *f = *state;
	struct MHD_Response *r;
	unsigned status = 0;

	assert_true(etsi_is_api_path("/api/v1/keys/x/status"));
	assert_false(etsi_is_api_path("/v1/status"));
	assert_false(etsi_is_api_path(NULL));

	r = etsi_control_respond(f->e, 1000, MOCK_SAE_A, "GET", "/api/v1/keys/sae_b/status", NULL,
	                         0, &status);
	assert_non_null(r);
	assert_int_equal(status, 401);
	MHD_destroy_response(r);
	r = etsi_control_respond(f->e, 0, NULL, "GET", "/api/v1/keys/sae_b/status", NULL, 0, &status);
	assert_int_equal(status, 401);
	MHD_destroy_response(r);
	r = etsi_control_respond(f->e, 0, MOCK_SAE_R, "GET", "/api/v1/keys/sae_b/status", NULL, 0,
	                         &status);
	assert_int_equal(status, 401);
	MHD_destroy_response(r);
	r = etsi_control_respond(f->e, 0, "bad sae", "GET", "/api/v1/keys/sae_b/status", NULL, 0,
	                         &status);
	assert_int_equal(status, 401);
	MHD_destroy_response(r);

	mock_ks.last_caller[0] = '\0';
	r = etsi_control_respond(f->e, 0, MOCK_SAE_C, "GET", "/api/v1/keys/sae_b/status", NULL, 0,
	                         &status);
	assert_int_equal(status, 200);
	assert_string_equal(mock_ks.last_caller, "sae_c");
	MHD_destroy_response(r);
	r = etsi_control_respond(f->e, 0, MOCK_SAE_C, "POST", "/api/v1/keys/sae_b/enc_keys",
	                         "{\"number\":2}", 12, &status);
	assert_int_equal(status, 200);
	MHD_destroy_response(r);
	r = etsi_control_respond(f->e, 0, MOCK_SAE_C, "GET", "/api/v1/keys/sae_b/enc_keys?size=7",
	                         NULL, 0, &status);
	assert_int_equal(status, 400);
	MHD_destroy_response(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_and_status),
		cmocka_unit_test(test_enc_dec_keys),
		cmocka_unit_test(test_errors_are_json),
		cmocka_unit_test(test_keysvc_errors),
		cmocka_unit_test(test_insecure_http_identity),
		cmocka_unit_test(test_control_respond),
		cmocka_unit_test(test_control_socket),
	};
	const struct CMUnitTest solo[] = {
		cmocka_unit_test(test_unmapped_uid),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_https),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_LVL_WARN);
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, setup, teardown);
	rc |= cmocka_run_group_tests(solo, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
