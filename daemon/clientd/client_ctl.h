/* client_ctl.h — dske-clientd's control socket (internals.md section 4). */
#pragma once
#include <jansson.h>

struct keysvc;
struct ctl;

/* The status JSON (new reference, NULL when out of memory). */
json_t *client_status_json(struct keysvc *ks);
/* Serve GET /v1/status and POST /v1/import on ks->cfg->control_socket. */
int client_ctl_start(struct keysvc *ks, struct ctl **ret);
