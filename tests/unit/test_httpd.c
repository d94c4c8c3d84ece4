/* test_httpd.c — common/httpd.c and common/ctl.c over real sockets (libcurl as the client). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "common/ctl.h"
#include "common/httpd.h"

struct buf {
	char data[8192];
	size_t len;
};

static size_t on_write(char *p, size_t sz, size_t n, void *ud)
{
	struct buf *b = ud;
	size_t len = sz * n;

	if (b->len + len >= sizeof(b->data))
		len = sizeof(b->data) - 1 - b->len;
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return sz * n;
}

/* Returns the HTTP status, or -1 on a transport error. */
static long do_req(const char *unix_path, const char *url, const char *body, size_t body_len,
                   struct buf *out)
{
	CURL *c = curl_easy_init();
	long code = -1;

	memset(out, 0, sizeof(*out));
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (unix_path)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_path);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	return code;
}

/* echo handler: replies "METHOD URL LEN peer=UID" */
static enum MHD_Result echo(void *cls, struct httpd_request *req)
{
	char msg[256], *copy;
	uid_t uid = 99999;
	int r = httpd_peer_cred(req->conn, &uid, NULL, NULL);
	int n;

	n = snprintf(msg, sizeof(msg), "%s %s %zu peer=%d", req->method, req->url, req->body_len,
	             r == 0 ? (int)uid : r);
	copy = malloc((size_t)n);
	memcpy(copy, msg, (size_t)n);
	return httpd_reply_take(req->conn, 200, "text/plain", copy, (size_t)n, true);
}

static void test_tcp_port0_and_cap(void **state)
{
	struct httpd_opts o = { .tcp = "127.0.0.1:0", .max_body = 100, .handler = echo };
	struct httpd *h = NULL;
	struct buf b;
	char url[128], big[200];

	assert_int_equal(httpd_start(&o, &h), 0);
	assert_true(httpd_port(h) > 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/x/y", httpd_port(h));
	assert_int_equal(do_req(NULL, url, NULL, 0, &b), 200);
	assert_string_equal(b.data, "GET /x/y 0 peer=-88");    /* -ENOTSOCK: not a unix socket */
	assert_int_equal(do_req(NULL, url, "hello", 5, &b), 200);
	assert_string_equal(b.data, "POST /x/y 5 peer=-88");
	memset(big, 'a', sizeof(big));
	assert_int_equal(do_req(NULL, url, big, 100, &b), 200);
	assert_int_equal(do_req(NULL, url, big, 101, &b), 413);
	httpd_stop(h);

	/* a body 8 times the cap, sent in full without waiting (no Expect: 100-continue): read,
	 * discarded, and the 413 reaches the client every time */
	{
		struct httpd_opts o2 = { .tcp = "127.0.0.1:0", .max_body = 64 * 1024, .handler = echo };
		char *huge = calloc(1, 512 * 1024);
		assert_int_equal(httpd_start(&o2, &h), 0);
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", httpd_port(h));
		for (int i = 0; i < 5; i++) {
			assert_int_equal(do_req(NULL, url, huge, 512 * 1024, &b), 413);
			assert_null(strstr(b.data, "POST"));          /* the handler never ran */
		}
		assert_int_equal(do_req(NULL, url, huge, 64 * 1024, &b), 200);
		httpd_stop(h);
		free(huge);
	}
}

/* replies "URL|TARGET": the decoded path and the target as sent */
static enum MHD_Result echo_target(void *cls, struct httpd_request *req)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "%s|%s", req->url, req->target);

	return httpd_reply_copy(req->conn, 200, "text/plain", msg, (size_t)n);
}

static enum MHD_Result json_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "{\"message\":\"%s\"}", msg);

	return httpd_reply_copy(c, status, "application/json", body, (size_t)n);
}

static void test_raw_target_and_error_reply(void **state)
{
	struct httpd_opts o = { .tcp = "127.0.0.1:0", .max_body = 10, .handler = echo_target,
	                        .reply_error = json_error };
	struct httpd *h = NULL;
	struct buf b;
	char url[256];

	assert_int_equal(httpd_start(&o, &h), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/a%%20b/c%%2Fd?x=%%2F&y", httpd_port(h));
	assert_int_equal(do_req(NULL, url, NULL, 0, &b), 200);
	assert_string_equal(b.data, "/a b/c/d|/a%20b/c%2Fd?x=%2F&y");
	/* keep-alive: the second request on the connection gets its own target */
	assert_int_equal(do_req(NULL, url, "0123456789", 10, &b), 200);
	assert_string_equal(b.data, "/a b/c/d|/a%20b/c%2Fd?x=%2F&y");
	assert_int_equal(do_req(NULL, url, "0123456789x", 11, &b), 413);
	assert_string_equal(b.data, "{\"message\":\"request body too large\"}");
	httpd_stop(h);
}

static void test_hostport(void **state)
{
	char host[64];
	uint16_t port;

	assert_int_equal(httpd_parse_hostport("127.0.0.1:7001", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 7001);
	assert_int_equal(httpd_parse_hostport("[::1]:80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(httpd_parse_hostport("::1:80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(httpd_parse_hostport("host:", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(httpd_parse_hostport(":80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(httpd_parse_hostport("h:65536", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(httpd_parse_hostport("h:8x", host, sizeof(host), &port), -EINVAL);
}

static void test_unix_socket(void **state)
{
	char dir[] = "/tmp/test_httpd.XXXXXX", path[128];
	struct httpd_opts o = { .handler = echo, .unix_gid = (gid_t)-1 };
	struct httpd *h = NULL, *h2 = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	struct buf b;
	char expect[64];
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	/* a stale socket (bound, nobody listening) is replaced */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	o.unix_path = path;
	assert_int_equal(httpd_start(&o, &h), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(do_req(path, "http://localhost/v1/status", NULL, 0, &b), 200);
	snprintf(expect, sizeof(expect), "GET /v1/status 0 peer=%d", (int)getuid());
	assert_string_equal(b.data, expect);
	/* a live one is refused */
	assert_int_equal(httpd_start(&o, &h2), -EADDRINUSE);
	httpd_stop(h);
	assert_int_equal(stat(path, &st), -1);
	/* a regular file is never removed */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(httpd_start(&o, &h2), -EEXIST);
	assert_int_equal(stat(path, &st), 0);
	unlink(path);
	rmdir(dir);
}

static int ctl_status(void *cls, struct httpd_request *req, json_t **ret, unsigned *status)
{
	*ret = json_pack("{s:s,s:i}", "name", (const char *)cls, "len", (int)req->body_len);
	return 0;
}

static int ctl_fail(void *cls, struct httpd_request *req, json_t **ret, unsigned *status)
{
	return -EIO;
}

/* a raw route answers itself: "RAW <method> <target>" */
static enum MHD_Result ctl_raw(void *cls, struct httpd_request *req)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "RAW %s %s", req->method, req->target);

	return httpd_reply_copy(req->conn, 418, "text/plain", msg, (size_t)n);
}

static void test_ctl(void **state)
{
	char dir[] = "/tmp/test_ctl.XXXXXX", path[128];
	static const struct ctl_route routes[] = {
		{ "GET", "/v1/status", false, ctl_status },
		{ "POST", "/v1/import", true, ctl_status },
		{ "POST", "/v1/fail", false, ctl_fail },
	};
	static const struct ctl_raw_route raw[] = { { "/api/v1/keys/", ctl_raw } };
	struct ctl *c = NULL;
	struct buf b;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	assert_int_equal(ctl_start_raw(path, routes, 3, raw, 1, 0, "hubX", &c), 0);
	assert_int_equal(do_req(path, "http://localhost/v1/status", NULL, 0, &b), 200);
	assert_string_equal(b.data, "{\"name\":\"hubX\",\"len\":0}\n");
	assert_int_equal(do_req(path, "http://localhost/v1/nope", NULL, 0, &b), 404);
	assert_non_null(strstr(b.data, "\"error\""));
	assert_int_equal(do_req(path, "http://localhost/v1/status", "x", 1, &b), 405);
	assert_int_equal(do_req(path, "http://localhost/v1/import", "abc", 3, &b),
	                 getuid() == 0 ? 200 : 403);
	assert_int_equal(do_req(path, "http://localhost/v1/fail", "", 0, &b), 500);
	assert_non_null(strstr(b.data, "Input/output error"));
	/* a prefix route with a raw handler, any method */
	assert_int_equal(do_req(path, "http://localhost/api/v1/keys/a%20b/status?x=1", NULL, 0, &b), 418);
	assert_string_equal(b.data, "RAW GET /api/v1/keys/a%20b/status?x=1");
	assert_int_equal(do_req(path, "http://localhost/api/v1/keys/x/enc_keys", "{}", 2, &b), 418);
	assert_string_equal(b.data, "RAW POST /api/v1/keys/x/enc_keys");
	/* the prefix itself matches, a path beside it does not */
	assert_int_equal(do_req(path, "http://localhost/api/v1/keys/", NULL, 0, &b), 418);
	assert_int_equal(do_req(path, "http://localhost/api/v1/keysX", NULL, 0, &b), 404);
	ctl_stop(c);
	rmdir(dir);
}

static enum MHD_Result cn_handler(void *cls, struct httpd_request *req)
{
	char cn[128], msg[160];
	int r = httpd_peer_cert_cn(req->conn, cn, sizeof(cn));

	snprintf(msg, sizeof(msg), "%s", r == 0 ? cn : r == -ENOENT ? "no-cert" : r == -EACCES ? "untrusted" : "other");
	return httpd_reply_copy(req->conn, 200, "text/plain", msg, strlen(msg));
}

static long tls_req(const char *url, const char *dir, const char *cert, struct buf *out)
{
	CURL *c = curl_easy_init();
	char ca[160], crt[160], key[160];
	long code = -1;

	memset(out, 0, sizeof(*out));
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	if (cert) {
		snprintf(crt, sizeof(crt), "%s/%s.pem", dir, cert);
		snprintf(key, sizeof(key), "%s/%s.key", dir, cert);
		curl_easy_setopt(c, CURLOPT_SSLCERT, crt);
		curl_easy_setopt(c, CURLOPT_SSLKEY, key);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	return code;
}

/* TLS with client certificates from a CA made here with openssl */
static void test_tls_client_cn(void **state)
{
	char dir[] = "/tmp/test_httpd_tls.XXXXXX", cmd[2048], cert[160], key[160], ca[160], url[128];
	struct httpd_opts o = { .tcp = "127.0.0.1:0", .handler = cn_handler };
	struct httpd *h = NULL;
	struct buf b;

	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
	         "cd %s && exec >openssl.log 2>&1 && K='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes' && "
	         "openssl req -x509 $K -keyout ca.key -out ca.pem -days 1 -subj /CN=testca && "
	         "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' >srv.ext && "
	         "openssl req $K -keyout srv.key -out srv.csr -subj /CN=localhost && "
	         "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem "
	         "-days 1 -extfile srv.ext && "
	         "openssl req $K -keyout sae.key -out sae.csr -subj /CN=sae_one && "
	         "openssl x509 -req -in sae.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out sae.pem -days 1 && "
	         "openssl req -x509 $K -keyout rogue.key -out rogue.pem -days 1 -subj /CN=sae_one",
	         dir);
	if (system(cmd) != 0)
		fail_msg("openssl could not make the test certificates");
	snprintf(cert, sizeof(cert), "%s/srv.pem", dir);
	snprintf(key, sizeof(key), "%s/srv.key", dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	o.tls_cert = cert;
	o.tls_key = key;
	o.tls_ca = ca;
	assert_int_equal(httpd_start(&o, &h), 0);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/", httpd_port(h));
	assert_int_equal(tls_req(url, dir, "sae", &b), 200);
	assert_string_equal(b.data, "sae_one");
	assert_int_equal(tls_req(url, dir, NULL, &b), 200);
	assert_string_equal(b.data, "no-cert");
	assert_int_equal(tls_req(url, dir, "rogue", &b), 200);   /* same CN, not from the CA */
	assert_string_equal(b.data, "untrusted");
	httpd_stop(h);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_tcp_port0_and_cap),
		cmocka_unit_test(test_raw_target_and_error_reply),
		cmocka_unit_test(test_unix_socket),
		cmocka_unit_test(test_ctl),
		cmocka_unit_test(test_tls_client_cn),
	};
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
