/* httpd.h — libmicrohttpd glue shared by the daemons (in-band DSKE, control sockets, ETSI 014).
 *
 * One server = one MHD daemon (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION:
 * handlers run on the connection's own thread and may block, e.g. a long poll), listening on
 * a TCP "host:port" (port 0 = a free port, httpd_port() reports it) or on a unix socket path
 * (bound here, mode 0660 by default, group set when asked; a stale socket is replaced, a live
 * one or a non-socket file is refused). Optional TLS from PEM files (MHD_USE_TLS; a CA file
 * makes the server ask for client certificates; httpd_peer_cert_cn() verifies them).
 * MHD's own error messages go to log_debug().
 *
 * The handler sees whole requests: the body is collected here with a cap. A Content-Length
 * above it gets 413 and the body is never stored (up to 8 times the cap it is read and
 * discarded first, so that the client, still sending, sees the answer; above that the answer
 * comes at once); an undeclared (chunked) body growing past it drops the connection. A request
 * that needs no body gets body_len 0. The handler must queue exactly one response (the
 * httpd_reply_* helpers do that) and return its MHD result.
 */
#pragma once
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct httpd;

struct httpd_request {
	struct MHD_Connection *conn;
	const char *method;               /* "GET", "POST", ... */
	const char *url;                  /* path, without the query string (percent-decoded) */
	const char *target;               /* the request target as sent: path and query, not decoded */
	const uint8_t *body;              /* body_len bytes (borrowed, valid during the call) */
	size_t body_len;
	bool is_unix;                     /* connection came in on a unix socket */
};

/* Return the result of MHD_queue_response (the httpd_reply_* helpers return it). */
typedef enum MHD_Result (*httpd_handler_fn)(void *cls, struct httpd_request *req);

struct httpd_opts {
	const char *tcp;                  /* "host:port", "[v6]:port"; port 0 = pick one */
	const char *unix_path;            /* or a unix socket path (exactly one of the two) */
	mode_t unix_mode;                 /* 0 = 0660 */
	gid_t unix_gid;                   /* (gid_t)-1 = leave the group alone; best effort */
	const char *tls_cert;             /* PEM files; cert + key turn TLS on */
	const char *tls_key;
	const char *tls_ca;               /* optional: request and trust client certs from this CA */
	size_t max_body;                  /* 0 = 1 MiB */
	unsigned conn_timeout_s;          /* idle connection timeout; 0 = 120 s */
	unsigned conn_limit;              /* 0 = MHD default */
	const char *tls_priorities;       /* GnuTLS priority string; NULL = MHD's default ("NORMAL") */
	/* optional: answers the errors httpd sends itself (413); NULL = httpd_reply_text */
	enum MHD_Result (*reply_error)(struct MHD_Connection *c, unsigned status, const char *msg);
	httpd_handler_fn handler;
	void *cls;
	const char *name;                 /* for log messages ("in-band", "control", ...) */
};

/* Start a server. *ret caller frees with httpd_stop(). 0, -EADDRINUSE (live unix socket or TCP
 * port taken), -EEXIST (unix path is not a socket), -EINVAL (bad address/options), -errno. */
int httpd_start(const struct httpd_opts *o, struct httpd **ret);
/* Stop accepting, wait for handlers to return, close; unlinks the unix socket. NULL-safe.
 * Handlers blocked in a long poll must be woken by their owner before (or while) this runs. */
void httpd_stop(struct httpd *h);
/* The bound TCP port (0 for a unix socket). */
uint16_t httpd_port(const struct httpd *h);

/* Parse "host:port" / "[v6]:port" into host (buf of hostlen) and port. 0 or -EINVAL. Pure. */
int httpd_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *ret_port);

/* Peer credentials of a unix-socket connection (SO_PEERCRED). 0, -ENOTSOCK (not unix), -errno. */
int httpd_peer_cred(struct MHD_Connection *c, uid_t *ret_uid, gid_t *ret_gid, pid_t *ret_pid);
/* TLS: verify the client certificate against the server's CA and copy its subject CN.
 * 0, -ENOENT (no certificate), -EACCES (does not verify), -ENOTSUP (not a TLS connection). */
int httpd_peer_cert_cn(struct MHD_Connection *c, char *cn, size_t cnlen);

/* Value of request header name, or NULL (borrowed). */
const char *httpd_header(struct MHD_Connection *c, const char *name);

/* Responses. status: HTTP code; content_type may be NULL. */
/* Copy buf into the response (MHD_RESPMEM_MUST_COPY). */
enum MHD_Result httpd_reply_copy(struct MHD_Connection *c, unsigned status, const char *content_type,
                                 const void *buf, size_t len);
/* Takes ownership of buf (malloc'd): freed after sending, wiped first when wipe is true. On
 * failure buf is still freed (and wiped). */
enum MHD_Result httpd_reply_take(struct MHD_Connection *c, unsigned status, const char *content_type,
                                 void *buf, size_t len, bool wipe);
/* Plain-text body: "msg\n". */
enum MHD_Result httpd_reply_text(struct MHD_Connection *c, unsigned status, const char *msg);
