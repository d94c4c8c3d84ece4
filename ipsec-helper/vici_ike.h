/* vici_ike.h — IKE SA control over VICI for the PPK sink: load the connection with the current
 * PPK_ID, initiate, terminate, list the SAs of a connection (with their ppk flag), and the
 * ike-updown event. Errors as vici_client.h; -EREMOTEIO when charon answered success=no (errmsg
 * copied). No logging. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "vici_client.h"

/* load-conn of connection name from swanctl.conf-syntax text, with ppk_id (swanctl_conf.h). */
int vici_load_conn_text(struct vici_conn *c, const char *text, size_t len, const char *name,
                        const char *ppk_id, char *err, size_t errlen, unsigned *ret_line);
/* initiate { ike = NAME [child = CHILD] timeout = MS }: returns once the SA is established. */
int vici_initiate(struct vici_conn *c, const char *ike, const char *child, unsigned timeout_ms,
                  char *err, size_t errlen);
/* terminate { ike-id = ID timeout = MS } */
int vici_terminate_id(struct vici_conn *c, unsigned ike_id, unsigned timeout_ms, char *err,
                      size_t errlen);

struct vici_sa {
	unsigned uniqueid;
	char state[32];           /* ESTABLISHED, CONNECTING, ... */
	bool ppk;                 /* ppk=yes on the SA itself */
	unsigned established;     /* seconds since it was established */
};
/* list-sas { ike = NAME }: up to max SAs into sas; *ret_n = how many. */
int vici_list_sas(struct vici_conn *c, const char *ike, struct vici_sa *sas, size_t max,
                  size_t *ret_n);
/* list-conns: 1 if connection NAME is loaded, 0 if not. */
int vici_conn_loaded(struct vici_conn *c, const char *name);
/* list-conns: 1 if connection NAME is loaded (its ppk_id copied into ppk_id, "" when it has
 * none), 0 if not loaded. */
int vici_conn_ppk_id(struct vici_conn *c, const char *name, char *ppk_id, size_t len);
