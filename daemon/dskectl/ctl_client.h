/* ctl_client.h — dskectl's HTTP/1.1 client for a daemon's control socket (libcurl with
 * CURLOPT_UNIX_SOCKET_PATH; docs/internals.md section 4).
 *
 * The response body is collected in memory that is wiped before it is freed or moved (ETSI
 * answers carry keys). Errors that happen before any HTTP answer (socket missing, permission
 * denied, nobody listening, timeout) are returned as a negative errno with a message in
 * ctl_reply.error; an HTTP answer of any status is a success here (the caller reads .status). */
#pragma once
#include <stddef.h>

struct ctl_reply {
	long status;          /* HTTP status, 0 if none */
	char *body;           /* NUL-terminated, body_len bytes; caller frees with ctl_reply_clear */
	size_t body_len;
	char error[512];      /* set when the request failed before an answer */
};

struct ctl_request {
	const char *socket;        /* unix socket path (borrowed) */
	const char *method;        /* "GET", "POST" */
	const char *path;          /* "/v1/status", with query if any */
	const char *sae;           /* X-DSKE-SAE header value, or NULL */
	const char *content_type;  /* for a body, or NULL */
	const void *body;          /* in-memory body, or NULL */
	size_t body_len;
	int body_fd;               /* or stream the body from this fd (-1 = none) */
	long long body_fd_len;     /* its length */
	long timeout_s;            /* 0 = no limit */
};

/* Checks the socket (exists, is a socket, may be written) first so that the common mistakes
 * get a precise message. 0 (any HTTP status), -ENOENT, -EACCES, -ENOTSOCK, -ECONNREFUSED,
 * -ETIMEDOUT, -EIO (other transport errors), -ENOMEM. */
int ctl_request_send(const struct ctl_request *rq, struct ctl_reply *ret);

/* Wipes and frees the body. NULL-safe, idempotent. */
void ctl_reply_clear(struct ctl_reply *r);

/* The daemon's error text from a JSON body ({"error": ...} or ETSI {"message": ...}), else
 * the body itself (truncated); never NULL. Points into r or a static buffer. */
const char *ctl_reply_error_text(const struct ctl_reply *r);
