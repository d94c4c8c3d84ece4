/* ctl.h — control-socket conventions shared by the daemons (internals.md section 4).
 * HTTP/1.1 over a unix socket (httpd.h), JSON in and out (jansson). A route table maps
 * (method, path) to a handler; routes marked root refuse peers whose SO_PEERCRED uid is not 0
 * (403 {"error":"..."}). Unknown paths get 404, a known path with another method 405.
 * Error bodies are {"error":"message"}. The socket is 0660, group "dske" when that group exists
 * and the daemon may give it (best effort: an unprivileged daemon keeps its own group). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include "common/httpd.h"

struct ctl;

/* Handler: fill *ret_json (a new reference, or NULL for an empty object) and *ret_status
 * (default 200). A negative return with no *ret_json answers 500 {"error": strerror}. */
typedef int (*ctl_handler_fn)(void *cls, struct httpd_request *req, json_t **ret_json,
                              unsigned *ret_status);

struct ctl_route {
	const char *method;     /* "GET", "POST" */
	const char *path;       /* exact path, e.g. "/v1/status" */
	bool root;              /* state-changing: peer uid must be 0 */
	ctl_handler_fn fn;
};

/* A raw route: every request whose path starts with prefix (any method, any peer) goes to fn,
 * which answers it itself and returns MHD's result (e.g. the ETSI API under "/api/v1/keys/",
 * whose bodies and errors are not ctl's). fn gets the server's cls. */
struct ctl_raw_route {
	const char *prefix;
	httpd_handler_fn fn;
};

/* Start the control server on path. routes: nroutes entries, borrowed (must outlive the server).
 * max_body: largest request body accepted (imports carry bundles; 0 = 64 MiB). */
int ctl_start(const char *path, const struct ctl_route *routes, size_t nroutes, size_t max_body,
              void *cls, struct ctl **ret);
/* ctl_start() with raw routes (nraw entries, borrowed), tried before the JSON routes. */
int ctl_start_raw(const char *path, const struct ctl_route *routes, size_t nroutes,
                  const struct ctl_raw_route *raw, size_t nraw, size_t max_body, void *cls,
                  struct ctl **ret);
void ctl_stop(struct ctl *c);     /* NULL-safe; unlinks the socket */

/* Build {"error": msg} (new reference); sets *ret_status. Convenience for handlers. */
json_t *ctl_error(unsigned status, unsigned *ret_status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Send json (steals the reference) with status; Content-Type application/json. */
enum MHD_Result ctl_reply_json(struct MHD_Connection *c, unsigned status, json_t *json);
/* true if the unix-socket peer is uid 0. */
bool ctl_peer_is_root(struct MHD_Connection *c);
/* gid of the group "dske", or (gid_t)-1 if it does not exist. */
gid_t ctl_group_gid(void);
