/* httpd.c — see httpd.h */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libgen.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "common/httpd.h"
#include "common/log.h"

#define HTTPD_MAX_BODY_DEFAULT (1u << 20)

struct httpd {
	struct MHD_Daemon *mhd;
	char *unix_path;
	uint16_t port;
	size_t max_body;
	httpd_handler_fn handler;
	void *cls;
	char name[32];
	char *tls_cert, *tls_key, *tls_ca, *tls_priorities;
	size_t tls_key_len;
	enum MHD_Result (*reply_error)(struct MHD_Connection *c, unsigned status, const char *msg);
};

struct httpd_conn {
	char *target;    /* request target as sent (MHD_OPTION_URI_LOG_CALLBACK) */
	bool started;    /* the first call (headers only) happened */
	uint8_t *buf;
	size_t len, cap;
	bool declared;   /* Content-Length seen and allowed */
	bool draining;   /* declared too large: read and discard it, then answer 413 */
};

/* A declared body above the cap but at most this many times the cap is read and discarded
 * before the 413: answering at once and closing with the body unread resets the connection,
 * and a client still sending may lose the answer. Larger ones are answered at once. */
#define HTTPD_DRAIN_FACTOR 8

int httpd_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *ret_port)
{
	const char *colon, *hs, *he;
	char *end;
	unsigned long p;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '[') {
		he = strchr(s, ']');
		if (!he || he[1] != ':')
			return -EINVAL;
		hs = s + 1;
		colon = he + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL;
		hs = s;
		he = colon;
	}
	if (he == hs || (size_t)(he - hs) >= hostlen)
		return -EINVAL;
	if (colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || p > 65535)
		return -EINVAL;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	*ret_port = (uint16_t)p;
	return 0;
}

static int listen_tcp(const char *spec, int *ret_fd, uint16_t *ret_port)
{
	char host[256], portstr[8];
	uint16_t port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = -1, r, one = 1;

	r = httpd_parse_hostport(spec, host, sizeof(host), &port);
	if (r < 0)
		goto out;
	snprintf(portstr, sizeof(portstr), "%u", port);
	r = getaddrinfo(strcmp(host, "*") ? host : NULL, portstr, &hints, &res);
	if (r != 0) {
		r = -EINVAL;
		goto out;
	}
	r = -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			r = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0) {
			r = 0;
			break;
		}
		r = -errno;
		close(fd);
		fd = -1;
	}
	if (r < 0)
		goto out;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		r = -errno;
		goto out;
	}
	*ret_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                           : ((struct sockaddr_in *)&ss)->sin_port);
	*ret_fd = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (res)
		freeaddrinfo(res);
	return r;
}

/* Replace a stale socket file; refuse a live socket or anything that is not a socket. */
static int unix_clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	if (r == 0)
		r = -EADDRINUSE;
	else if (errno == ECONNREFUSED || errno == ENOENT)
		r = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	else
		r = -errno;
	close(fd);
	return r;
}

static int listen_unix(const char *path, mode_t mode, gid_t gid, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *dup = NULL;
	int fd = -1, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	dup = strdup(path);
	if (!dup)
		return -ENOMEM;
	if (mkdir(dirname(dup), 0755) < 0 && errno != EEXIST) {
		r = -errno;
		goto out;
	}
	r = unix_clear_stale(path, &sa);
	if (r < 0)
		goto out;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = errno == EADDRINUSE ? -EADDRINUSE : -errno;
		goto out;
	}
	/* nobody can connect before listen(): set mode and group first */
	/* the group is best effort: an unprivileged daemon may not be a member of it */
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0)
		log_debug("%s: cannot give the socket group %u: %s", path, (unsigned)gid, strerror(errno));
	if (chmod(path, mode ? mode : 0660) < 0 || listen(fd, 64) < 0) {
		r = -errno;
		unlink(path);
		goto out;
	}
	*ret_fd = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(dup);
	return r;
}

static int read_pem(const char *path, char **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	long n;
	int r = 0;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || n > (1 << 20) || fseek(f, 0, SEEK_SET) < 0) {
		r = -EINVAL;
		goto out;
	}
	buf = calloc(1, (size_t)n + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		r = -EIO;
		goto out;
	}
	*ret = buf;
	*ret_len = (size_t)n;
	buf = NULL;
out:
	fclose(f);
	free(buf);
	return r;
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	struct httpd *h = cls;
	char buf[512];

	if (!log_enabled(LOG_LVL_DEBUG))
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("%s http: %s", h->name, buf);
}

static void conn_free(struct httpd_conn *hc)
{
	if (!hc)
		return;
	free(hc->target);
	if (hc->buf) {
		sodium_memzero(hc->buf, hc->cap);
		free(hc->buf);
	}
	free(hc);
}

/* Called once per request with the target as sent, before MHD decodes it. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct httpd_conn *hc = calloc(1, sizeof(*hc));

	if (hc && !(hc->target = strdup(uri ? uri : ""))) {
		free(hc);
		hc = NULL;
	}
	return hc;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	conn_free(*con_cls);
	*con_cls = NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;
	struct httpd_conn *hc = *con_cls;
	struct httpd_request req;

	if (!hc)
		return MHD_NO;   /* out of memory in on_uri */
	if (!hc->started) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		hc->started = true;
		if (cl) {
			char *end;
			unsigned long long n;
			errno = 0;
			n = strtoull(cl, &end, 10);
			if (!errno && !*end && n > h->max_body && n / HTTPD_DRAIN_FACTOR <= h->max_body) {
				hc->draining = true;
				return MHD_YES;
			}
			if (errno || *end || n > h->max_body)
				return h->reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
			if (n) {
				hc->buf = malloc((size_t)n);
				if (!hc->buf)
					return MHD_NO;
				hc->cap = (size_t)n;
			}
			hc->declared = true;
		}
		return MHD_YES;
	}
	if (hc->draining) {
		if (*upload_data_size) {
			*upload_data_size = 0;     /* never stored */
			return MHD_YES;
		}
		return h->reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		if (hc->len + n > h->max_body)
			return MHD_NO;    /* undeclared (chunked) body past the cap: drop the connection */
		if (hc->len + n > hc->cap) {
			size_t ncap = hc->cap ? hc->cap * 2 : 4096;
			uint8_t *nb;
			while (ncap < hc->len + n)
				ncap *= 2;
			if (ncap > h->max_body)
				ncap = h->max_body;
			nb = malloc(ncap);
			if (!nb)
				return MHD_NO;
			if (hc->buf) {
				memcpy(nb, hc->buf, hc->len);
				sodium_memzero(hc->buf, hc->cap);
				free(hc->buf);
			}
			hc->buf = nb;
			hc->cap = ncap;
		}
		memcpy(hc->buf + hc->len, upload_data, n);
		hc->len += n;
		*upload_data_size = 0;
		return MHD_YES;
	}
	req = (struct httpd_request){ .conn = c, .method = method, .url = url, .target = hc->target,
	                              .body = hc->buf,
	                              .body_len = hc->len, .is_unix = h->unix_path != NULL };
	return h->handler(h->cls, &req);
}

int httpd_start(const struct httpd_opts *o, struct httpd **ret)
{
	struct httpd *h = NULL;
	int fd = -1, r;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
	                 MHD_USE_ERROR_LOG;
	struct MHD_OptionItem opts[16];
	size_t no = 0;
	size_t ca_len = 0, cert_len = 0;

	if (!o->handler || (!o->tcp == !o->unix_path) || (!o->tls_cert != !o->tls_key))
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->max_body = o->max_body ? o->max_body : HTTPD_MAX_BODY_DEFAULT;
	h->handler = o->handler;
	h->cls = o->cls;
	h->reply_error = o->reply_error ? o->reply_error : httpd_reply_text;
	snprintf(h->name, sizeof(h->name), "%s", o->name ? o->name : "http");
	/* the logger first, so that MHD never prints on its own */
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, h };
	if (o->tls_cert) {
		if ((r = read_pem(o->tls_cert, &h->tls_cert, &cert_len)) < 0 ||
		    (r = read_pem(o->tls_key, &h->tls_key, &h->tls_key_len)) < 0 ||
		    (o->tls_ca && (r = read_pem(o->tls_ca, &h->tls_ca, &ca_len)) < 0))
			goto out;
		flags |= MHD_USE_TLS;
		opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert };
		opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key };
		if (h->tls_ca)
			opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, h->tls_ca };
		if (o->tls_priorities) {
			h->tls_priorities = strdup(o->tls_priorities);
			if (!h->tls_priorities) {
				r = -ENOMEM;
				goto out;
			}
			opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
			                                      h->tls_priorities };
		}
	}
	if (o->unix_path) {
		r = listen_unix(o->unix_path, o->unix_mode, o->unix_gid, &fd);
		if (r < 0)
			goto out;
		h->unix_path = strdup(o->unix_path);
		if (!h->unix_path) {
			r = -ENOMEM;
			unlink(o->unix_path);
			goto out;
		}
	} else {
		r = listen_tcp(o->tcp, &fd, &h->port);
		if (r < 0)
			goto out;
	}
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, fd, NULL };
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, NULL };
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL };
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
	                                      o->conn_timeout_s ? o->conn_timeout_s : 120, NULL };
	if (o->conn_limit)
		opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, o->conn_limit, NULL };
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_ARRAY, opts,
	                          MHD_OPTION_END);
	if (!h->mhd) {
		r = -EINVAL;
		if (h->unix_path)
			unlink(h->unix_path);
		goto out;
	}
	fd = -1;   /* MHD owns it now */
	*ret = h;
	h = NULL;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	httpd_stop(h);
	return r;
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	if (h->unix_path) {
		if (h->mhd)
			unlink(h->unix_path);
		free(h->unix_path);
	}
	if (h->tls_key) {
		sodium_memzero(h->tls_key, h->tls_key_len);
		free(h->tls_key);
	}
	free(h->tls_cert);
	free(h->tls_ca);
	free(h->tls_priorities);
	free(h);
}

uint16_t httpd_port(const struct httpd *h)
{
	return h->port;
}

int httpd_peer_cred(struct MHD_Connection *c, uid_t *ret_uid, gid_t *ret_gid, pid_t *ret_pid)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (!ci)
		return -EBADF;
	if (getsockname(ci->connect_fd, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	if (ss.ss_family != AF_UNIX)
		return -ENOTSOCK;
	if (getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (ret_uid)
		*ret_uid = cred.uid;
	if (ret_gid)
		*ret_gid = cred.gid;
	if (ret_pid)
		*ret_pid = cred.pid;
	return 0;
}

int httpd_peer_cert_cn(struct MHD_Connection *c, char *cn, size_t cnlen)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t s;
	const gnutls_datum_t *certs;
	unsigned int ncerts = 0, status = 0;
	gnutls_x509_crt_t crt = NULL;
	size_t sz = cnlen;
	int r;

	if (!ci || !ci->tls_session)
		return -ENOTSUP;
	s = (gnutls_session_t)ci->tls_session;
	certs = gnutls_certificate_get_peers(s, &ncerts);
	if (!certs || ncerts == 0)
		return -ENOENT;
	if (gnutls_certificate_verify_peers2(s, &status) < 0 || status != 0)
		return -EACCES;
	if (gnutls_x509_crt_init(&crt) < 0)
		return -ENOMEM;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &sz) < 0) {
		r = -EACCES;
		goto out;
	}
	r = 0;
out:
	gnutls_x509_crt_deinit(crt);
	return r;
}

const char *httpd_header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, const char *ct,
                             struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	if (ct)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ct);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result httpd_reply_copy(struct MHD_Connection *c, unsigned status, const char *content_type,
                                 const void *buf, size_t len)
{
	return queue(c, status, content_type,
	             MHD_create_response_from_buffer(len, (void *)buf, MHD_RESPMEM_MUST_COPY));
}

struct wipe_buf {
	void *buf;
	size_t len;
	bool wipe;
};

static void wipe_free(void *cls)
{
	struct wipe_buf *w = cls;

	if (w->wipe)
		sodium_memzero(w->buf, w->len);
	free(w->buf);
	free(w);
}

enum MHD_Result httpd_reply_take(struct MHD_Connection *c, unsigned status, const char *content_type,
                                 void *buf, size_t len, bool wipe)
{
	struct wipe_buf *w = malloc(sizeof(*w));
	struct MHD_Response *resp;

	if (!w) {
		if (wipe)
			sodium_memzero(buf, len);
		free(buf);
		return MHD_NO;
	}
	*w = (struct wipe_buf){ buf, len, wipe };
	resp = MHD_create_response_from_buffer_with_free_callback_cls(len, buf, wipe_free, w);
	if (!resp) {
		wipe_free(w);
		return MHD_NO;
	}
	return queue(c, status, content_type, resp);
}

enum MHD_Result httpd_reply_text(struct MHD_Connection *c, unsigned status, const char *msg)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s\n", msg);

	return httpd_reply_copy(c, status, "text/plain", buf, (size_t)(n < 0 ? 0 : n >= (int)sizeof(buf) ? (int)sizeof(buf) - 1 : n));
}
