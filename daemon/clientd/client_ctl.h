/* client_ctl.h — dske-clientd's control socket (internals.md section 4). */
#pragma once
#include <jansson.h>

struct keysvc;
struct ctl;
struct etsi;

/* The status JSON (new reference, NULL when out of memory). */
json_t *client_status_json(struct keysvc *ks);
/* Serve GET /v1/status, POST /v1/import and the ETSI API (/api/v1/keys/..., root acting as a
 * local SAE with X-DSKE-SAE; etsi may be NULL: 503) on ks->cfg->control_socket. One per process. */
int client_ctl_start(struct keysvc *ks, struct etsi *etsi, struct ctl **ret);
