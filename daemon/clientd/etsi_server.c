/* etsi_server.c — the transports of the ETSI 014 front end (etsi.h): who is calling, then
 * etsi_serve(). One common/httpd server (libmicrohttpd, a thread per connection) per listener. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <microhttpd.h>
#include "common/log.h"
#include "clientd/etsi_internal.h"
#include "clientd/etsi_request.h"
#include "clientd/etsi_response.h"
#include "clientd/keysvc.h"

#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* ---------------------------------------------------------------- caller identification */

static const char *sae_by_cred(const struct etsi *e, uid_t uid, gid_t gid)
{
	for (size_t i = 0; i < e->n_saes; i++) {
		const struct etsi_sae_entry *s = &e->saes[i];

		if (!s->has_uid && !s->has_gid)
			continue;
		if ((!s->has_uid || s->uid == uid) && (!s->has_gid || s->gid == gid))
			return s->id;
	}
	return NULL;
}

static const char *sae_by_cn(const struct etsi *e, const char *cn)
{
	for (size_t i = 0; i < e->n_saes; i++)
		if (strcmp(e->saes[i].cert_cn ? e->saes[i].cert_cn : e->saes[i].id, cn) == 0)
			return e->saes[i].id;
	return NULL;
}

static int caller_unix(const struct etsi *e, struct MHD_Connection *c, const char **ret,
                       struct etsi_error *err)
{
	uid_t uid;
	gid_t gid;
	const char *sae;

	if (httpd_peer_cred(c, &uid, &gid, NULL) < 0)
		return etsi_error_set(err, 401, "cannot identify the caller (SO_PEERCRED)");
	sae = sae_by_cred(e, uid, gid);
	if (!sae)
		return etsi_error_set(err, 401, "no SAE is configured for uid %u gid %u",
		                      (unsigned)uid, (unsigned)gid);
	*ret = sae;
	return 0;
}

/* The SAE of a client certificate that verifies against tls_ca: its CN -> [sae] cert_cn. */
static int caller_tls(const struct etsi *e, struct MHD_Connection *c, const char **ret,
                      struct etsi_error *err)
{
	char cn[256];
	const char *sae;
	int rc;

	rc = httpd_peer_cert_cn(c, cn, sizeof(cn));
	if (rc == -ENOENT)
		return etsi_error_set(err, 401, "a client certificate is required");
	if (rc < 0)
		return etsi_error_set(err, 401, "the client certificate does not verify against the "
		                      "trusted CA");
	sae = sae_by_cn(e, cn);
	if (!sae)
		return etsi_error_set(err, 401, "the client certificate CN '%s' is not mapped to an SAE",
		                      cn);
	*ret = sae;
	return 0;
}

static int caller_header(const struct etsi *e, struct MHD_Connection *c, const char **ret,
                         struct etsi_error *err)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, ETSI_SAE_HEADER);

	if (!h || !*h)
		return etsi_error_set(err, 401, "insecure HTTP: the " ETSI_SAE_HEADER
		                      " header must name the calling SAE");
	if (!names_sae_valid(h) || keysvc_sae_is_local(e->ks, h) <= 0)
		return etsi_error_set(err, 401, ETSI_SAE_HEADER " names no local SAE");
	*ret = h;
	return 0;
}

/* ---------------------------------------------------------------- httpd glue */

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *resp)
{
	enum MHD_Result ok;

	if (!resp)
		return MHD_NO;       /* out of memory: MHD closes the connection */
	ok = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ok;
}

/* httpd's own errors (413) as ETSI Error objects. */
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return queue(c, status, etsi_response_mhd_error(msg, NULL));
}

static enum MHD_Result on_request(void *cls, struct httpd_request *req)
{
	struct etsi_listener *l = cls;
	struct etsi_error err = { 0 };
	struct MHD_Response *resp;
	const char *caller = NULL;
	unsigned status = 0;
	int rc;

	switch (l->kind) {
	case T_UNIX:
		keysvc_thread_iface("etsi-unix");
		rc = caller_unix(l->e, req->conn, &caller, &err);
		break;
	case T_HTTPS:
		keysvc_thread_iface("etsi-https");
		rc = caller_tls(l->e, req->conn, &caller, &err);
		break;
	default:
		keysvc_thread_iface("etsi-http");
		rc = caller_header(l->e, req->conn, &caller, &err);
		break;
	}
	if (rc < 0) {
		log_notice("etsi: %s request refused: %s", l->kind == T_UNIX ? "unix socket" :
		           l->kind == T_HTTPS ? "HTTPS" : "HTTP", err.msg);
		return queue(req->conn, err.status, etsi_response_mhd_error(err.msg, NULL));
	}
	resp = etsi_serve(l->e, caller, req->method, req->target, req->body, req->body_len, &status);
	return queue(req->conn, status, resp);
}

static int start_listener(struct etsi *e, struct etsi_listener *l, enum etsi_transport kind,
                          const struct etsi_config *cfg)
{
	struct httpd_opts o = {
		.max_body = ETSI_BODY_MAX, .conn_timeout_s = 30, .conn_limit = 256,
		.handler = on_request, .cls = l, .reply_error = reply_error,
		.unix_gid = (gid_t)-1,
	};
	const char *what;
	int rc;

	l->e = e;
	l->kind = kind;
	switch (kind) {
	case T_UNIX:
		what = cfg->unix_socket;
		o.unix_path = cfg->unix_socket;
		o.unix_mode = cfg->unix_socket_mode ? cfg->unix_socket_mode : 0666;
		o.name = "etsi-unix";
		break;
	case T_HTTPS:
		what = cfg->https;
		if (!cfg->tls_cert || !cfg->tls_key || !cfg->tls_ca)
			return log_error_errno(EINVAL, "etsi: https needs tls_cert, tls_key and tls_ca");
		o.tcp = cfg->https;
		o.tls_cert = cfg->tls_cert;
		o.tls_key = cfg->tls_key;
		o.tls_ca = cfg->tls_ca;
		o.tls_priorities = TLS_PRIORITIES;
		o.name = "etsi-https";
		break;
	default:
		what = cfg->insecure_http;
		o.tcp = cfg->insecure_http;
		o.name = "etsi-http";
		break;
	}
	rc = httpd_start(&o, &l->h);
	if (rc < 0)
		return log_error_errno(rc, "etsi: cannot listen on %s%s", what,
		                       kind == T_HTTPS ? " (or read tls_cert/tls_key/tls_ca)" : "");
	l->port = httpd_port(l->h);
	return 0;
}

/* ---------------------------------------------------------------- start, stop */

static int copy_saes(struct etsi *e, const struct etsi_config *cfg)
{
	e->saes = calloc(cfg->n_saes ? cfg->n_saes : 1, sizeof(*e->saes));
	if (!e->saes)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_saes; i++) {
		const struct etsi_sae *s = &cfg->saes[i];
		struct etsi_sae_entry *d = &e->saes[i];

		if (!s->id || names_copy(d->id, s->id) < 0 || !names_sae_valid(s->id))
			return log_error_errno(EINVAL, "etsi: invalid SAE ID '%s'", s->id ? s->id : "");
		d->has_uid = s->has_uid;
		d->uid = s->uid;
		d->has_gid = s->has_gid;
		d->gid = s->gid;
		if (s->cert_cn) {
			d->cert_cn = strdup(s->cert_cn);
			if (!d->cert_cn)
				return -ENOMEM;
		}
		e->n_saes = i + 1;
	}
	return 0;
}

int etsi_start(const struct etsi_config *cfg, struct keysvc *ks, struct etsi **ret)
{
	struct etsi *e;
	int rc;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->ks = ks;
	etsi_limits_resolve(&cfg->limits, &e->lim);
	rc = copy_saes(e, cfg);
	if (rc < 0)
		goto fail;
	if (cfg->unix_socket && *cfg->unix_socket) {
		rc = start_listener(e, &e->unix_l, T_UNIX, cfg);
		if (rc < 0)
			goto fail;
		log_info("etsi: unix socket %s", cfg->unix_socket);
	}
	if (cfg->https && *cfg->https) {
		rc = start_listener(e, &e->https_l, T_HTTPS, cfg);
		if (rc < 0)
			goto fail;
		log_info("etsi: HTTPS with client certificates on %s (port %u)", cfg->https,
		         e->https_l.port);
	}
	if (cfg->insecure_http && *cfg->insecure_http) {
		rc = start_listener(e, &e->http_l, T_HTTP, cfg);
		if (rc < 0)
			goto fail;
		log_warn("etsi: INSECURE plain HTTP on %s (port %u): callers name themselves with "
		         ETSI_SAE_HEADER "; for labs only", cfg->insecure_http, e->http_l.port);
	}
	*ret = e;
	return 0;
fail:
	etsi_stop(e);
	return rc;
}

void etsi_stop(struct etsi *e)
{
	if (!e)
		return;
	httpd_stop(e->unix_l.h);
	httpd_stop(e->https_l.h);
	httpd_stop(e->http_l.h);
	for (size_t i = 0; i < e->n_saes; i++)
		free(e->saes[i].cert_cn);
	free(e->saes);
	free(e);
}

unsigned etsi_port(const struct etsi *e, bool https)
{
	if (!e)
		return 0;
	return https ? e->https_l.port : e->http_l.port;
}
