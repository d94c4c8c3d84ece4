/* vici_client.h — a VICI client over charon's unix socket: one request in flight per
 * connection, EVENT packets for registered events handed to a callback, others skipped.
 * Errors: -ENOENT (no socket: charon not running), -EACCES (permission), -ECONNREFUSED
 * (stale socket), -ETIMEDOUT, -EBADMSG (malformed reply), -EOPNOTSUPP (CMD_UNKNOWN /
 * EVENT_UNKNOWN: charon does not know the command or event), -EPIPE (connection closed).
 * No logging. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "vici_msg.h"

struct vici_conn;

/* Called for each EVENT packet of a registered event while a request is in flight.
 * msg is valid only during the call. */
typedef void (*vici_event_cb_t)(const char *event, const struct vici_msg *msg, void *userdata);

/* ret: caller closes with vici_close(). */
int vici_connect(const char *path, int timeout_ms, struct vici_conn **ret);
void vici_close(struct vici_conn *c);   /* NULL-safe */

/* Send a CMD_REQUEST segment built with vici_builder (type VICI_CMD_REQUEST) and wait for its
 * CMD_RESPONSE: *ret (caller frees with vici_reply_free). The raw reply bytes are wiped on free. */
struct vici_reply {
	uint8_t *buf;
	size_t len;
	struct vici_msg msg;
};
int vici_request(struct vici_conn *c, const uint8_t *segment, size_t len, struct vici_reply *ret);
void vici_reply_free(struct vici_reply *r);

/* Register/unregister for an event; events arrive through cb during later requests or
 * vici_wait_event(). */
int vici_register(struct vici_conn *c, const char *event, vici_event_cb_t cb, void *userdata);
int vici_unregister(struct vici_conn *c, const char *event);
/* Wait up to timeout_ms for one registered event (delivered through the callback). */
int vici_wait_event(struct vici_conn *c, int timeout_ms);

/* Finish the builder's CMD_REQUEST, send it, and check the reply's success=yes: 0, -EREMOTEIO
 * with charon's errmsg copied to err (success=no), or a transport error. Clears the builder. */
int vici_request_checked(struct vici_conn *c, struct vici_builder *b, char *err, size_t errlen);

/* Convenience: a command with an empty message; reply as above. */
int vici_command(struct vici_conn *c, const char *cmd, struct vici_reply *ret);
