/* etsi_serve.c — one authenticated ETSI 014 request: parse (etsi_request.h), call the key
 * service (keysvc.h), answer (etsi_response.h). Shared by every transport and the control
 * socket. */
#include <errno.h>
#include <string.h>
#include <microhttpd.h>
#include <uuid/uuid.h>
#include "common/log.h"
#include "clientd/etsi_internal.h"
#include "clientd/etsi_request.h"
#include "clientd/etsi_response.h"
#include "clientd/keysvc.h"

bool etsi_is_api_path(const char *path)
{
	return path && strncmp(path, "/api/v1/keys/", strlen("/api/v1/keys/")) == 0;
}

static struct MHD_Response *error_resp(unsigned status, const char *msg, unsigned *ret_status)
{
	*ret_status = status;
	return etsi_response_mhd_error(msg, NULL);
}

static struct MHD_Response *keysvc_error(int rc, const struct keysvc_err *kerr,
                                         unsigned *ret_status)
{
	return error_resp(etsi_status_from_errno(rc), kerr->msg[0] ? kerr->msg
	                                                        : etsi_default_message(rc),
	                  ret_status);
}

static struct MHD_Response *body_resp(int rc, struct etsi_body *b, unsigned *ret_status)
{
	if (rc < 0)
		return error_resp(503, rc == -ENOMEM ? "out of memory" : "cannot build the response",
		                  ret_status);
	*ret_status = 200;
	return etsi_response_mhd(b);
}

/* The batch keysvc returned must be what was asked: count, and size when one was given. */
static bool batch_ok(const struct keysvc_batch *b, size_t count, unsigned size_bits)
{
	if (!b || b->count != count)
		return false;
	for (size_t i = 0; i < b->count; i++)
		if (!b->keys[i].key || b->keys[i].len == 0 ||
		    (size_bits && b->keys[i].len != size_bits / 8))
			return false;
	return true;
}

/* One line per delivery (key IDs and sizes, never key bytes); every key ID at debug level. */
static void log_delivery(const char *what, const char *caller, const char *peer,
                         const struct keysvc_batch *b)
{
	char id[37];

	uuid_unparse_lower(b->keys[0].key_id, id);
	log_info("etsi: %s: %zu key(s) of %zu bits to %s (peer %s), first %s", what, b->count,
	         b->keys[0].len * 8, caller, peer, id);
	if (!log_enabled(LOG_LVL_DEBUG))
		return;
	for (size_t i = 1; i < b->count; i++) {
		uuid_unparse_lower(b->keys[i].key_id, id);
		log_debug("etsi: %s: key %s", what, id);
	}
}

static struct MHD_Response *serve_parsed(struct etsi *e, const char *caller,
                                         const struct etsi_request *req, unsigned *ret_status)
{
	struct keysvc_err kerr = { { 0 } };
	struct keysvc_status st;
	struct keysvc_batch *b = NULL;
	struct etsi_body body = { 0 };
	struct MHD_Response *resp;
	int rc;

	switch (req->op) {
	case ETSI_OP_STATUS:
		memset(&st, 0, sizeof(st));
		rc = keysvc_status(e->ks, caller, req->sae, &st, &kerr);
		if (rc < 0)
			return keysvc_error(rc, &kerr, ret_status);
		return body_resp(etsi_response_status(&st, caller, req->sae, &body), &body, ret_status);
	case ETSI_OP_ENC_KEYS:
		rc = keysvc_get_keys(e->ks, caller, req->sae, req->number, req->size, &b, &kerr);
		if (rc < 0)
			return keysvc_error(rc, &kerr, ret_status);
		if (!batch_ok(b, req->number, req->size)) {
			keysvc_batch_free(b);
			log_error("etsi: key service returned a batch that does not match the request");
			return error_resp(503, "key service error", ret_status);
		}
		log_delivery("enc_keys", caller, req->sae, b);
		break;
	case ETSI_OP_DEC_KEYS:
		rc = keysvc_get_keys_with_ids(e->ks, caller, req->sae,
		                              (const uint8_t (*)[DSKE_KEY_ID_LEN])req->ids, req->n_ids,
		                              &b, &kerr);
		if (rc < 0)
			return keysvc_error(rc, &kerr, ret_status);
		if (!batch_ok(b, req->n_ids, 0)) {
			keysvc_batch_free(b);
			log_error("etsi: key service returned a batch that does not match the request");
			return error_resp(503, "key service error", ret_status);
		}
		log_delivery("dec_keys", caller, req->sae, b);
		break;
	}
	rc = etsi_response_keys(b, &body);
	keysvc_batch_free(b);
	resp = body_resp(rc, &body, ret_status);
	return resp;
}

struct MHD_Response *etsi_serve(struct etsi *e, const char *caller, const char *method,
                                const char *target, const void *body, size_t body_len,
                                unsigned *ret_status)
{
	struct etsi_http_in in = {
		.method = method, .target = target, .body = body, .body_len = body_len,
	};
	struct etsi_request req = { 0 };
	struct etsi_error err = { 0 };
	struct MHD_Response *resp;
	int rc;

	rc = etsi_request_parse(&in, caller, &e->lim, &req, &err);
	if (rc == -ENOMEM)
		return error_resp(503, "out of memory", ret_status);
	if (rc < 0) {
		log_debug("etsi: %s: %u %s", caller, err.status, err.msg);
		*ret_status = err.status;
		return etsi_response_mhd_error(err.msg, err.allow);
	}
	resp = serve_parsed(e, caller, &req, ret_status);
	if (*ret_status != 200)
		log_info("etsi: %s %s by %s: %u", method, req.op == ETSI_OP_STATUS ? "status" :
		         req.op == ETSI_OP_ENC_KEYS ? "enc_keys" : "dec_keys", caller, *ret_status);
	etsi_request_free(&req);
	return resp;
}

struct MHD_Response *etsi_control_respond(struct etsi *e, uid_t peer_uid, const char *sae_header,
                                          const char *method, const char *target,
                                          const void *body, size_t body_len,
                                          unsigned *ret_status)
{
	if (peer_uid != 0)
		return error_resp(401, "only root may use the ETSI API on the control socket; SAEs use "
		                  "the ETSI socket", ret_status);
	if (!sae_header || !*sae_header)
		return error_resp(401, "the " ETSI_SAE_HEADER " header must name the local SAE to act "
		                  "as", ret_status);
	if (!names_sae_valid(sae_header) || keysvc_sae_is_local(e->ks, sae_header) <= 0)
		return error_resp(401, ETSI_SAE_HEADER " names no local SAE", ret_status);
	return etsi_serve(e, sae_header, method ? method : "", target ? target : "", body, body_len,
	                  ret_status);
}

enum MHD_Result etsi_control_handle(struct etsi *e, struct httpd_request *req)
{
	struct MHD_Response *resp;
	enum MHD_Result ok;
	uid_t uid = (uid_t)-1;
	unsigned status = 0;

	if (!e) {
		status = 503;
		resp = etsi_response_mhd_error("the ETSI front end is not running", NULL);
	} else if (httpd_peer_cred(req->conn, &uid, NULL, NULL) < 0) {
		status = 401;
		resp = etsi_response_mhd_error("cannot identify the caller (SO_PEERCRED)", NULL);
	} else {
		resp = etsi_control_respond(e, uid, httpd_header(req->conn, ETSI_SAE_HEADER),
		                            req->method, req->target, req->body, req->body_len,
		                            &status);
	}
	if (!resp)
		return MHD_NO;
	ok = MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
	return ok;
}
