/* reqkey_daemon.c — a scripted stand-in for dske-clientd's POST /v1/request-key, to test
 * dske-request-key against the real kernel upcall on its own (tests/integration/058-*.sh).
 * The real daemon's endpoint is tested by 061-request-key.sh.
 *
 *   reqkey_daemon SOCKET KEYDIR ALLOW_UID KEY_TIMEOUT
 *
 * Serves HTTP/1.1 on the unix socket SOCKET (peer must be uid 0, as in the daemon). A request
 * whose uid is not ALLOW_UID gets 403; otherwise the key is the file KEYDIR/<key_id> (raw
 * bytes; 404 if there is none), answered with timeout KEY_TIMEOUT. Every decoded request is
 * appended to KEYDIR/requests.log as "peer key_id uid gid timeout_ms". Runs until killed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <jansson.h>
#include <microhttpd.h>
#include <uuid/uuid.h>

#include "reqkey.h"

static const char *keydir;
static unsigned long allow_uid, key_timeout;

struct body {
	char buf[REQKEY_BODY_MAX + 1];
	size_t len;
	int too_big;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	struct MHD_Response *r;
	enum MHD_Result ret;

	json_decref(j);
	r = MHD_create_response_from_buffer(s ? strlen(s) : 0, s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return reply(c, status, json_pack("{s:s}", "error", msg));
}

static enum MHD_Result answer(struct MHD_Connection *c, const struct body *b)
{
	const union MHD_ConnectionInfo *ci;
	struct reqkey_request rq;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	char uuid[37], path[4096];
	unsigned char key[REQKEY_KEY_MAX];
	ssize_t n;
	FILE *log;
	int fd;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    cred.uid != 0)
		return error(c, 403, "peer is not root");
	if (b->too_big || reqkey_request_decode(b->buf, b->len, &rq) < 0)
		return error(c, 400, "bad request");
	uuid_unparse_lower(rq.key_id, uuid);
	snprintf(path, sizeof(path), "%s/requests.log", keydir);
	log = fopen(path, "a");
	if (log) {
		fprintf(log, "%s %s %u %u %u\n", rq.peer, uuid, (unsigned)rq.uid, (unsigned)rq.gid,
		        rq.timeout_ms);
		fclose(log);
	}
	if (rq.uid != allow_uid)
		return error(c, 403, "uid not allowed for this key");
	snprintf(path, sizeof(path), "%s/%s", keydir, uuid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return error(c, 404, "no such key");
	n = read(fd, key, sizeof(key));
	close(fd);
	if (n <= 0)
		return error(c, 500, "cannot read key");
	return reply(c, 200, reqkey_response_encode(key, (size_t)n, (unsigned)key_timeout));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
	struct body *b = *con_cls;

	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return MHD_NO;
		*con_cls = b;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (b->too_big || b->len + *upload_data_size > REQKEY_BODY_MAX) {
			b->too_big = 1;
		} else {
			memcpy(b->buf + b->len, upload_data, *upload_data_size);
			b->len += *upload_data_size;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, REQKEY_PATH) != 0)
		return error(c, 404, "no such path");
	if (strcmp(method, "POST") != 0)
		return error(c, 405, "POST only");
	return answer(c, b);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
	free(*con_cls);
	*con_cls = NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct MHD_Daemon *d;
	sigset_t set;
	int fd, sig;

	if (argc != 5) {
		fprintf(stderr, "usage: reqkey_daemon SOCKET KEYDIR ALLOW_UID KEY_TIMEOUT\n");
		return 2;
	}
	keydir = argv[2];
	allow_uid = strtoul(argv[3], NULL, 10);
	key_timeout = strtoul(argv[4], NULL, 10);
	/* bound under a temporary name and renamed once it listens: a test that sees SOCKET
	 * knows that connections are accepted (even if it stops us at once) */
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.tmp", argv[1]) >=
	    sizeof(sa.sun_path))
		return 2;
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0 ||
	    rename(sa.sun_path, argv[1]) < 0) {
		perror("reqkey_daemon: socket");
		return 1;
	}
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
	                     NULL, NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
	                     MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "reqkey_daemon: cannot start\n");
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	unlink(argv[1]);
	return 0;
}
