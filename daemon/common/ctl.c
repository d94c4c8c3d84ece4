/* ctl.c — see ctl.h */
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/ctl.h"
#include "common/log.h"

#define CTL_MAX_BODY_DEFAULT (64u << 20)

struct ctl {
	struct httpd *http;
	const struct ctl_route *routes;
	size_t nroutes;
	const struct ctl_raw_route *raw;
	size_t nraw;
	void *cls;
};

json_t *ctl_error(unsigned status, unsigned *ret_status, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (ret_status)
		*ret_status = status;
	return json_pack("{s:s}", "error", buf);
}

enum MHD_Result ctl_reply_json(struct MHD_Connection *c, unsigned status, json_t *json)
{
	/* json_dumpb into our own malloc'd buffer: jansson's allocator may be replaced process-wide
	 * (the ETSI front end wipes what jansson frees), so json_dumps() memory must not reach free() */
	size_t len = json ? json_dumpb(json, NULL, 0, JSON_COMPACT) : 0;
	char *s = len ? malloc(len + 2) : NULL;

	if (s && json_dumpb(json, s, len, JSON_COMPACT) != len) {
		free(s);
		s = NULL;
	}
	json_decref(json);
	if (!s)
		return httpd_reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	s[len++] = '\n';   /* a trailing newline, for shells */
	s[len] = '\0';
	return httpd_reply_take(c, status, "application/json", s, len, false);
}

bool ctl_peer_is_root(struct MHD_Connection *c)
{
	uid_t uid;

	return httpd_peer_cred(c, &uid, NULL, NULL) == 0 && uid == 0;
}

gid_t ctl_group_gid(void)
{
	struct group grb, *gr = NULL;
	char buf[4096];

	if (getgrnam_r("dske", &grb, buf, sizeof(buf), &gr) != 0 || !gr)
		return (gid_t)-1;
	return gr->gr_gid;
}

static enum MHD_Result ctl_dispatch(void *cls, struct httpd_request *req)
{
	struct ctl *c = cls;
	const struct ctl_route *rt = NULL;
	bool path_known = false;
	json_t *j = NULL;
	unsigned status = MHD_HTTP_OK;
	int r;

	for (size_t i = 0; i < c->nraw; i++)
		if (strncmp(req->url, c->raw[i].prefix, strlen(c->raw[i].prefix)) == 0)
			return c->raw[i].fn(c->cls, req);
	for (size_t i = 0; i < c->nroutes; i++) {
		if (strcmp(c->routes[i].path, req->url) != 0)
			continue;
		path_known = true;
		if (strcmp(c->routes[i].method, req->method) == 0) {
			rt = &c->routes[i];
			break;
		}
	}
	if (!rt) {
		j = path_known ? ctl_error(MHD_HTTP_METHOD_NOT_ALLOWED, &status, "method %s not allowed on %s", req->method, req->url)
		               : ctl_error(MHD_HTTP_NOT_FOUND, &status, "no such endpoint: %s", req->url);
		return ctl_reply_json(req->conn, status, j);
	}
	if (rt->root && !ctl_peer_is_root(req->conn)) {
		log_notice("control: %s %s refused: peer is not root", req->method, req->url);
		j = ctl_error(MHD_HTTP_FORBIDDEN, &status, "%s %s needs root", req->method, req->url);
		return ctl_reply_json(req->conn, status, j);
	}
	r = rt->fn(c->cls, req, &j, &status);
	if (r < 0 && !j)
		j = ctl_error(MHD_HTTP_INTERNAL_SERVER_ERROR, &status, "%s", strerror(-r));
	if (!j)
		j = json_object();
	return ctl_reply_json(req->conn, status, j);
}

int ctl_start(const char *path, const struct ctl_route *routes, size_t nroutes, size_t max_body,
              void *cls, struct ctl **ret)
{
	return ctl_start_raw(path, routes, nroutes, NULL, 0, max_body, cls, ret);
}

int ctl_start_raw(const char *path, const struct ctl_route *routes, size_t nroutes,
                  const struct ctl_raw_route *raw, size_t nraw, size_t max_body, void *cls,
                  struct ctl **ret)
{
	struct ctl *c = calloc(1, sizeof(*c));
	struct httpd_opts o = {
		.unix_path = path, .unix_mode = 0660, .unix_gid = ctl_group_gid(),
		.max_body = max_body ? max_body : CTL_MAX_BODY_DEFAULT,
		.handler = ctl_dispatch, .name = "control",
	};
	int r;

	if (!c)
		return -ENOMEM;
	c->routes = routes;
	c->nroutes = nroutes;
	c->raw = raw;
	c->nraw = nraw;
	c->cls = cls;
	o.cls = c;
	r = httpd_start(&o, &c->http);
	if (r < 0) {
		free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void ctl_stop(struct ctl *c)
{
	if (!c)
		return;
	httpd_stop(c->http);
	free(c);
}
