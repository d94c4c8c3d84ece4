/* hub_ctl.h — the hub's control socket (internals.md section 4):
 *   GET  /v1/status   status JSON (anyone who can open the socket)
 *   POST /v1/import   body = a bundle file's bytes; imports it at once (root only)
 * Status JSON fields: name, role ("hub"), version, uptime, listen, port, state_dir,
 * clients[] {name, saes[], hub_index, url, frames, bad_tags, replays, conflicts, errors,
 * last_error, psrd {tx_remaining, tx_end, tx_reserved, rx_remaining, rx_end, rx_accepted,
 * blocks, low}}, shares {stored, released, expired, released_total, expired_total,
 * delivered_total, journal_bytes, last_seq}, frames {received, answered, malformed, too_large,
 * unknown_client, rate_limited, unable, waiting_polls}, alarms {bad_tags, replays, conflicts},
 * warnings[]. */
#pragma once
#include "common/ctl.h"
#include "hubd/hub.h"

int hub_ctl_start(struct hub *h, struct ctl **ret, char *err, size_t errlen);
/* The status document (new reference); also used by tests. */
json_t *hub_ctl_status(struct hub *h);
/* Import result as JSON (new reference). */
json_t *hub_ctl_import_json(const struct hub_import_result *res);
