/* etsi_internal.h — what the files of the ETSI front end share (not for other modules). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "core/names.h"
#include "clientd/etsi.h"
#include "common/httpd.h"

#define ETSI_SAE_HEADER "X-DSKE-SAE"

enum etsi_transport { T_UNIX, T_HTTPS, T_HTTP };

struct etsi_listener {
	struct etsi *e;
	enum etsi_transport kind;
	struct httpd *h;                      /* NULL: not configured */
	unsigned port;                        /* TCP listeners */
};

struct etsi_sae_entry {
	char id[DSKE_NAME_MAX + 1];
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid;
	char *cert_cn;                        /* NULL: the SAE ID */
};

struct etsi {
	struct keysvc *ks;                    /* borrowed */
	struct etsi_limits lim;               /* resolved */
	struct etsi_sae_entry *saes;
	size_t n_saes;
	struct etsi_listener unix_l, https_l, http_l;
};

/* Serves one authenticated request of SAE caller: parse, keysvc, respond. Logs the outcome.
 * Returns the response (NULL: out of memory) and its status in *ret_status. */
struct MHD_Response *etsi_serve(struct etsi *e, const char *caller, const char *method,
                                const char *target, const void *body, size_t body_len,
                                unsigned *ret_status);
