/* swanctl_conf.h — the connection the DSKE PPK sink owns, written by the admin in swanctl.conf
 * syntax (a file holding `connections { NAME { ... } }` or just `NAME { ... }`), turned into a
 * VICI load-conn request with the current PPK_ID (strongswan-ppk.md sections 3 and 7: charon
 * 5.9.8 sends the initiator connection's configured ppk_id, so the daemon loads it).
 * Syntax: sections `name {` ... `}`, `key = value` (value to end of line, optionally in double
 * quotes), `#` comments. Keys that swanctl sends as lists (local_addrs, remote_addrs, proposals,
 * esp_proposals, ah_proposals, local_ts, remote_ts, vips, pools, groups, cert_policy) are split
 * on commas. Keys that make swanctl load files (certs, cacerts, pubkeys, cert*) and `include`
 * are refused: a DSKE-managed connection authenticates with PSK or with credentials loaded by
 * swanctl itself. Pure, no I/O, no logging. */
#pragma once
#include <stddef.h>
#include "vici_msg.h"

/* Build `load-conn { NAME { ...file's settings..., ppk_id = PPK_ID } }` from text[len].
 * ppk_id overrides any ppk_id in the file (NULL: keep the file's). The builder must be fresh
 * (vici_builder_init'ed by the caller with VICI_CMD_REQUEST "load-conn").
 * 0; -ENOENT (no connection NAME); -EBADMSG with *ret_line (syntax: unbalanced braces, a line that
 * is neither, an empty key, nesting over 8); -EOPNOTSUPP with *ret_line (a refused key). */
int swanctl_conn_build(const char *text, size_t len, const char *name, const char *ppk_id,
                       struct vici_builder *b, unsigned *ret_line);
