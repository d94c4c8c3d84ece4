/* hub_http.c — see hub_http.h */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "common/log.h"
#include "hubd/hub_http.h"
#include "hubd/hub_proto.h"

static enum MHD_Result hub_http_handle(void *cls, struct httpd_request *req)
{
	struct hub *h = cls;
	struct hub_answer ans = { 0 };

	if (strcmp(req->url, "/healthz") == 0) {
		if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD"))
			return httpd_reply_text(req->conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
		return httpd_reply_text(req->conn, MHD_HTTP_OK, "ok");
	}
	if (strcmp(req->url, "/dske/v1") != 0)
		return httpd_reply_text(req->conn, MHD_HTTP_NOT_FOUND, "not found");
	if (strcmp(req->method, "POST") != 0)
		return httpd_reply_text(req->conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
	hub_proto_handle(h, req->body, req->body_len, &ans);
	if (ans.status == MHD_HTTP_OK)
		return httpd_reply_take(req->conn, MHD_HTTP_OK, "application/octet-stream", ans.frame,
		                        ans.len, false);
	return httpd_reply_text(req->conn, ans.status, ans.text ? ans.text : "error");
}

int hub_http_start(struct hub *h, struct httpd **ret, char *err, size_t errlen)
{
	struct httpd_opts o = {
		.tcp = h->cfg.listen,
		.max_body = h->cfg.max_frame,
		.tls_cert = h->cfg.tls_cert[0] ? h->cfg.tls_cert : NULL,
		.tls_key = h->cfg.tls_key[0] ? h->cfg.tls_key : NULL,
		.conn_timeout_s = HUB_HTTP_IDLE_TIMEOUT_S,
		.handler = hub_http_handle, .cls = h, .name = "in-band",
	};
	int r = httpd_start(&o, ret);

	if (r < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", h->cfg.listen, strerror(-r));
		return r;
	}
	h->port = httpd_port(*ret);
	return 0;
}
