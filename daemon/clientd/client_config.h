/* client_config.h — /etc/dske/client.conf (internals.md section 5), read with common/config.h:
 * unknown sections and keys, bad values, duplicate keys and hub indexes, and missing required keys
 * are errors reported as "FILE:LINE: message". No logging (the caller prints the error). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <limits.h>
#include "common/config.h"
#include "core/names.h"
#include "clientd/ppk_config.h"

#define CC_MAX_HUBS 32        /* reconstruct_key() takes at most 32 shares */
#define CC_MAX_PEERS 64
#define CC_MAX_PEER_SAES 32
#define CC_MAX_SAES 64
#define CC_URL_MAX 255
#define CC_ERR_MAX 512

struct cc_hub {
	char name[DSKE_NAME_MAX + 1];
	uint8_t index;                       /* Shamir x, 1..255 */
	char url[CC_URL_MAX + 1];            /* base URL, "/dske/v1" is appended */
	unsigned line;
};

enum cc_kr_initiator { CC_KR_INIT_AUTO, CC_KR_INIT_YES, CC_KR_INIT_NO };
#define CC_KR_DEFAULT_KEYS 4

struct cc_peer {
	char name[DSKE_NAME_MAX + 1];        /* the peer client's KME name */
	unsigned nsaes;
	char saes[CC_MAX_PEER_SAES][DSKE_NAME_MAX + 1];
	unsigned line;
	/* keyring delivery (sink_keyring.h); 0 = default */
	bool keyring;
	char keyring_sae[DSKE_NAME_MAX + 1]; /* the peer's keyring SAE (one of saes) */
	unsigned keyring_keys;               /* keys kept ready (CC_KR_DEFAULT_KEYS) */
	uint64_t keyring_lifetime_s;         /* kernel timeout ([keyring] timeout) */
	enum cc_kr_initiator keyring_initiator;
	struct cc_peer_ppk ppk;              /* the ppk_* keys (ppk_config.h) */
};

struct cc_keyring {                      /* [keyring] */
	char name[DSKE_NAME_MAX + 1];        /* ring in root's user keyring ("dske") */
	char group[DSKE_NAME_MAX + 1];       /* its group when it exists ("dske") */
	char sae[DSKE_NAME_MAX + 1];         /* the keyring sink's local SAE ("" = none) */
	uint64_t timeout_s;                  /* kernel timeout of published keys (1h) */
	bool publish_etsi;                   /* also publish keys delivered over ETSI 014 (no) */
	bool request_key;                    /* serve POST /v1/request-key (yes) */
};

struct cc_sae {                          /* a local SAE */
	char id[DSKE_NAME_MAX + 1];
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid;
	char cert_cn[DSKE_NAME_MAX + 1];     /* default: the SAE ID */
	unsigned quota;                      /* keys per minute; 0 = unlimited */
	unsigned line;
};

struct cc_etsi {
	char unix_socket[PATH_MAX];          /* "" = none */
	char https[128];                     /* "host:port", "" = none */
	char tls_cert[PATH_MAX], tls_key[PATH_MAX], tls_ca[PATH_MAX];
	char insecure_http[128];             /* labs only */
};

struct client_config {
	char path[PATH_MAX];
	/* [client] */
	char name[DSKE_NAME_MAX + 1];
	char state_dir[PATH_MAX];
	char control_socket[PATH_MAX];
	unsigned k;
	unsigned ack_margin;
	uint64_t ack_deadline_ms, hub_timeout_ms, poll_wait_ms, fetch_deadline_ms;
	uint64_t key_ttl_s;
	unsigned default_key_size, min_key_size, max_key_size;   /* bits */
	unsigned max_keys_per_request, max_keys_per_peer;
	bool psrd_audit;
	uint64_t low_water, psrd_reserve;                        /* bytes */
	int log_level;                                           /* enum log_level */
	char rng_source[PATH_MAX];                               /* "" = libsodium default */
	/* sections */
	unsigned nhubs, npeers, nsaes;
	struct cc_hub hubs[CC_MAX_HUBS];
	struct cc_peer peers[CC_MAX_PEERS];
	struct cc_sae saes[CC_MAX_SAES];
	struct cc_etsi etsi;
	struct cc_keyring keyring;
	struct cc_ppk ppk;                   /* [ppk] (ppk_config.h) */
};

/* Defaults (as documented in dske-client.conf(5)) into *c. */
void client_config_defaults(struct client_config *c);
/* Read and validate path into *ret (caller-allocated; large: heap it). On error returns
 * -EINVAL (or -errno opening the file) and writes "FILE:LINE: message" into err[CC_ERR_MAX]. */
int client_config_load(const char *path, struct client_config *ret, char *err);
/* The key table (every key the man page documents). */
extern const struct cfg_key client_config_keys[];
extern const size_t client_config_nkeys;

/* Lookups: index or -1. */
int client_config_hub_find(const struct client_config *c, const char *name);
int client_config_peer_find(const struct client_config *c, const char *name);
int client_config_sae_find(const struct client_config *c, const char *sae);
/* The peer owning SAE id sae (index into peers) or -1; *ret_sae_idx = its index in peer->saes. */
int client_config_peer_of_sae(const struct client_config *c, const char *sae, unsigned *ret_sae_idx);
