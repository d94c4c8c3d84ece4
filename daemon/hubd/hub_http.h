/* hub_http.h — the hub's in-band HTTP server (internals.md section 3): POST /dske/v1 (one frame
 * in, one frame out, bodies above max_frame refused with 413 before they are read), GET /healthz
 * (200 "ok", no state change). Optional TLS (tls_cert/tls_key: defence in depth only). */
#pragma once
#include "common/httpd.h"
#include "hubd/hub.h"

/* Start on h->cfg.listen; sets h->port. *ret: stop with httpd_stop(). err for the operator. */
/* idle keep-alive connections closed after this; a long poll answers within 60 s */
#define HUB_HTTP_IDLE_TIMEOUT_S 120

int hub_http_start(struct hub *h, struct httpd **ret, char *err, size_t errlen);
