/* etsi.h — the ETSI GS QKD 014 v1.1.1 key delivery front end of dske-clientd
 * (shared/design/etsi014.md sections 1 and 5). It authenticates the calling SAE, parses and
 * validates the request (etsi_request.h), calls the key service (keysvc.h) and answers with the
 * JSON bodies of the spec (etsi_response.h). Transports, each optional:
 *   - a unix socket: the SAE is the one whose [sae] uid/gid match the peer's SO_PEERCRED;
 *   - HTTPS with client certificates (TLS 1.2 and 1.3): the SAE is the one whose cert_cn is the
 *     CN of a client certificate that verifies against tls_ca;
 *   - plain HTTP (labs only, insecure_http): the SAE is named by the X-DSKE-SAE header.
 * And the control socket variant (internals.md section 4): etsi_control_respond().
 * Serves on libmicrohttpd's threads (one per connection); handlers block in keysvc. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/httpd.h"

struct keysvc;
struct etsi;

/* One [sae ID] section. All strings borrowed for the duration of etsi_start() (copied). */
struct etsi_sae {
	const char *id;               /* the SAE ID */
	bool has_uid;                 /* uid = */
	uid_t uid;
	bool has_gid;                 /* gid = */
	gid_t gid;
	const char *cert_cn;          /* cert_cn = ; NULL: the SAE ID */
};

/* Limits from [client] (defaults in parentheses). 0 = the default. */
struct etsi_limits {
	unsigned default_key_size;    /* bits (256) */
	unsigned min_key_size;        /* bits (64) */
	unsigned max_key_size;        /* bits (8192) */
	unsigned max_keys_per_request;/* (1024) */
};

/* [etsi] plus the SAE map. Borrowed for the duration of etsi_start() (everything is copied). */
struct etsi_config {
	const char *unix_socket;      /* unix_socket = PATH; NULL: no unix socket */
	mode_t unix_socket_mode;      /* 0: 0666 (who may call is decided by the SAE map) */
	const char *https;            /* https = HOST:PORT; NULL: no HTTPS */
	const char *tls_cert;         /* PEM server certificate (chain); required with https */
	const char *tls_key;          /* PEM server private key; required with https */
	const char *tls_ca;           /* PEM CA(s) that issue SAE client certificates; required */
	const char *insecure_http;    /* insecure_http = HOST:PORT; NULL: none (labs only) */
	const struct etsi_sae *saes;  /* the [sae ...] sections */
	size_t n_saes;
	struct etsi_limits limits;
};

/* Starts the configured listeners (none is fine: then only etsi_control_respond() serves).
 * ks is borrowed and must outlive the returned handle. Logs the precise reason on failure
 * (file, address), so the caller need not. 0 or negative errno (-EINVAL bad config, -EADDRINUSE,
 * -ENOENT missing file, ...). *ret owned by the caller: etsi_stop(). */
int etsi_start(const struct etsi_config *cfg, struct keysvc *ks, struct etsi **ret);

/* Stops the listeners (waits for running handlers), removes the unix socket, frees. NULL-safe. */
void etsi_stop(struct etsi *e);

/* Bound TCP port of the HTTPS (https = true) or insecure HTTP listener, 0 if none. Useful when
 * the configured port was 0. */
unsigned etsi_port(const struct etsi *e, bool https);

/* True if path (decoded or not) belongs to the ETSI API: starts with "/api/v1/keys/". */
bool etsi_is_api_path(const char *path);

/* The ETSI API on the control socket (internals.md section 4). Only peer_uid 0 may use it; it
 * acts as the local SAE named by sae_header (the X-DSKE-SAE header value, NULL if absent;
 * anything else -> 401 with a JSON message). method: "GET"/"POST"/...; target: the request
 * target as sent, path and query still percent-encoded (MHD_OPTION_URI_LOG_CALLBACK gives it;
 * the decoded url plus "?" and the query works for every valid request too); body/body_len the
 * whole request body (NULL/0 if none). Blocks in keysvc. Returns the response to queue with
 * status *ret_status; the caller MHD_destroy_response()s it. NULL only when out of memory. */
struct MHD_Response *etsi_control_respond(struct etsi *e, uid_t peer_uid, const char *sae_header,
                                          const char *method, const char *target,
                                          const void *body, size_t body_len,
                                          unsigned *ret_status);

/* etsi_control_respond() for a request of the control socket's common/httpd server: the peer
 * uid from SO_PEERCRED, the X-DSKE-SAE header, the raw target and the body; queues the
 * response. Fits a ctl_raw_route (ctl.h) for the prefix "/api/v1/keys/":
 *   static enum MHD_Result etsi_route(void *cls, struct httpd_request *req)
 *   { return etsi_control_handle(<the struct etsi *>, req); }
 * e may be NULL (no front end): 503 with a JSON message. */
enum MHD_Result etsi_control_handle(struct etsi *e, struct httpd_request *req);
