/* ppk_config.h — the strongSwan PPK sink's settings in client.conf (dske-client.conf(5)):
 *
 *   [ppk]
 *   sae = client1_ppk                 ; this client's PPK sink SAE (a local [sae], no uid/gid)
 *   vici_socket = /run/charon.vici    ; default charon VICI socket of every PPK peer
 *
 *   [peer client2]
 *   saes = client2_sae1 client2_ppk
 *   ppk = strongswan                  ; deliver PPKs for this peer (default: no)
 *   ppk_sae = client2_ppk             ; the peer's PPK sink SAE (one of its saes)
 *   ppk_link = ab.dske                ; link name: PPK_ID = <key_id>@<link>
 *   ppk_vici = /run/charon.vici       ; this peer's charon (default: [ppk] vici_socket)
 *   ppk_conn_file = /etc/dske/ipsec/client2.conf  ; the IKE initiator's connection (swanctl.conf
 *   ppk_conn = dske                   ;  syntax); set on exactly one side: that side makes the
 *   ppk_child = dske-child            ;  keys and starts the IKE SAs (child: started with it)
 *   ppk_keep = 2                      ; PPKs kept ready (loaded on both sides) beyond the current
 *   ppk_roll = 1h                     ; automatic roll interval (0 = only on demand)
 *   ppk_grace = 1m                    ; unload an old PPK at the latest this long after a roll
 *   ppk_check = 2s                    ; how often charon is checked for an admin reload
 *   ppk_size = 256                    ; PPK size in bits (256..8192)
 *
 * ppk_config_set() is called by the client.conf reader for the keys below (ids PPK_K_*), and
 * ppk_config_check() after the whole file is read. No logging. */
#pragma once
#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include "common/config.h"
#include "core/names.h"

#define PPK_LINK_MAX 63
#define PPK_CONN_MAX 63

struct cc_ppk {                          /* [ppk] */
	char sae[DSKE_NAME_MAX + 1];         /* "" = no PPK sink */
	char vici_socket[PATH_MAX];
	unsigned line;
};

struct cc_peer_ppk {                     /* the ppk_* keys of a [peer] */
	bool enabled;                        /* ppk = strongswan */
	char sae[DSKE_NAME_MAX + 1];         /* ppk_sae */
	char link[PPK_LINK_MAX + 1];         /* ppk_link */
	char vici[PATH_MAX];                 /* ppk_vici; filled from [ppk] vici_socket */
	char conn_file[PATH_MAX];            /* ppk_conn_file: set = this side initiates */
	char conn[PPK_CONN_MAX + 1];         /* ppk_conn */
	char child[PPK_CONN_MAX + 1];        /* ppk_child, "" = none */
	unsigned keep;                       /* ppk_keep */
	uint64_t roll_ms, grace_ms, check_ms;
	unsigned size_bits;                  /* ppk_size */
	unsigned line;                       /* first ppk_* key of the peer */
};

enum {
	PPK_K_FIRST = 1000,
	PPK_K_SAE = PPK_K_FIRST, PPK_K_VICI_SOCKET,
	PPK_K_PEER_PPK, PPK_K_PEER_SAE, PPK_K_PEER_LINK, PPK_K_PEER_VICI, PPK_K_PEER_CONN_FILE,
	PPK_K_PEER_CONN, PPK_K_PEER_CHILD, PPK_K_PEER_KEEP, PPK_K_PEER_ROLL, PPK_K_PEER_GRACE,
	PPK_K_PEER_CHECK, PPK_K_PEER_SIZE,
};

/* The table rows, spliced into client_config_keys[] by client_config.c. */
#define PPK_CONFIG_KEYS \
	{ "ppk", false, "sae", CFG_SAE_ID, 0, 0, PPK_K_SAE }, \
	{ "ppk", false, "vici_socket", CFG_PATH, 0, 0, PPK_K_VICI_SOCKET }, \
	{ "peer", true, "ppk", CFG_STRING, 0, 0, PPK_K_PEER_PPK }, \
	{ "peer", true, "ppk_sae", CFG_SAE_ID, 0, 0, PPK_K_PEER_SAE }, \
	{ "peer", true, "ppk_link", CFG_STRING, 0, 0, PPK_K_PEER_LINK }, \
	{ "peer", true, "ppk_vici", CFG_PATH, 0, 0, PPK_K_PEER_VICI }, \
	{ "peer", true, "ppk_conn_file", CFG_PATH, 0, 0, PPK_K_PEER_CONN_FILE }, \
	{ "peer", true, "ppk_conn", CFG_STRING, 0, 0, PPK_K_PEER_CONN }, \
	{ "peer", true, "ppk_child", CFG_STRING, 0, 0, PPK_K_PEER_CHILD }, \
	{ "peer", true, "ppk_keep", CFG_UINT, 0, 64, PPK_K_PEER_KEEP }, \
	{ "peer", true, "ppk_roll", CFG_DURATION, 0, 365ull * 86400 * 1000, PPK_K_PEER_ROLL }, \
	{ "peer", true, "ppk_grace", CFG_DURATION, 0, 86400ull * 1000, PPK_K_PEER_GRACE }, \
	{ "peer", true, "ppk_check", CFG_DURATION, 50, 3600ull * 1000, PPK_K_PEER_CHECK }, \
	{ "peer", true, "ppk_size", CFG_UINT, 256, 8192, PPK_K_PEER_SIZE }

void ppk_config_defaults(struct cc_ppk *g);
void ppk_peer_defaults(struct cc_peer_ppk *p);
/* Store one value (g: [ppk]; p: the [peer]'s settings for peer keys, NULL for [ppk] keys).
 * 0 or cfg_fail(). */
int ppk_config_set(struct cc_ppk *g, struct cc_peer_ppk *p, struct cfg_ctx *ctx,
                   const struct cfg_key *key, const struct cfg_value *v);
/* A link name: 1..63 of A-Z a-z 0-9 . _ - (used after '@' in PPK_IDs and in `*@<link>`). */
bool ppk_link_valid(const char *link);

struct client_config;
/* Whole-file rules: [ppk] sae is a local SAE with neither uid nor gid (only the daemon takes its
 * keys), a ppk peer has ppk_sae among its saes, a ppk_link unique among the peers, ppk_conn with
 * ppk_conn_file, ppk_size within min_key_size..max_key_size. 0, or -EINVAL with *ret_line (0 =
 * none) and a message. Fills each ppk peer's vici from [ppk] vici_socket when unset. */
int ppk_config_check(struct client_config *c, unsigned *ret_line, char *msg, size_t msglen);
