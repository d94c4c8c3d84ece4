/* dske-lossy — an HTTP proxy between clients and one hub that loses answers after the hub acted
 * (tests/integration/107-lost-responses.sh). Test tool, never installed.
 *
 * It forwards each POST /dske/v1 to the hub, reads the hub's whole answer, and for every Nth
 * request of the chosen types throws the answer away and closes the client's connection: the hub
 * has acted, the client never learns it. It records every frame it forwards, by (sender,
 * mac_off), and checks the retry rule of protocol.md section 3: a frame that reuses a mac_off
 * must be byte-identical to the first one (else "NEWCONTENT" is logged). One line per request to
 * the log: "REQ <sender> <type> <mac_off> <first|identical|NEWCONTENT> <http status> <passed|dropped>".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "core/wire.h"

#define MAX_REQ (2u << 20)

struct seen {
	char sender[DSKE_NAME_MAX + 1];
	uint64_t mac_off;
	uint8_t hash[32];
	struct seen *next;
};

static struct sockaddr_in up_addr;
static unsigned drop_every = 3, counter;
static uint32_t drop_types = (1u << WIRE_SHARE_PUT) | (1u << WIRE_SHARE_GET) | (1u << WIRE_SHARE_RELEASE);
static FILE *log_out;
static struct seen *seen;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Read one HTTP message (headers and Content-Length body) from fd into *buf. Returns its total
 * length, 0 on a clean EOF before any byte, -1 on error. *hdr_len = bytes of the header. */
static ssize_t read_msg(int fd, uint8_t **buf, size_t *cap, size_t *hdr_len)
{
	size_t len = 0, need = 0;

	for (;;) {
		if (len == *cap) {
			if (*cap >= MAX_REQ + 65536)
				return -1;
			*cap = *cap ? *cap * 2 : 65536;
			*buf = realloc(*buf, *cap + 1);
			if (!*buf)
				return -1;
		}
		ssize_t n = read(fd, *buf + len, *cap - len);
		if (n <= 0)
			return n == 0 && len == 0 ? 0 : -1;
		len += (size_t)n;
		(*buf)[len] = 0;
		if (!need) {
			char *e = strstr((char *)*buf, "\r\n\r\n");
			if (!e)
				continue;
			*hdr_len = (size_t)(e - (char *)*buf) + 4;
			size_t cl = 0;
			for (char *p = (char *)*buf; p && p < e; p = strstr(p, "\r\n"), p = p ? p + 2 : p)
				if (!strncasecmp(p, "Content-Length:", 15))
					cl = strtoul(p + 15, NULL, 10);
			need = *hdr_len + cl;
		}
		if (need && len >= need)
			return (ssize_t)len;
	}
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static const char *note_frame(const uint8_t *body, size_t len, struct wire_hdr *h)
{
	const uint8_t *b;
	uint8_t hash[32];

	if (wire_frame_parse(body, len, MAX_REQ, h, &b) < 0)
		return "unparsable";
	crypto_generichash(hash, sizeof(hash), body, len, NULL, 0);
	for (struct seen *s = seen; s; s = s->next)
		if (s->mac_off == h->mac_off && !strcmp(s->sender, h->sender))
			return sodium_memcmp(s->hash, hash, 32) ? "NEWCONTENT" : "identical";
	struct seen *s = calloc(1, sizeof(*s));
	if (!s)
		return "oom";
	snprintf(s->sender, sizeof(s->sender), "%s", h->sender);
	s->mac_off = h->mac_off;
	memcpy(s->hash, hash, 32);
	s->next = seen;
	seen = s;
	return "first";
}

static void *serve(void *arg)
{
	int cfd = (int)(intptr_t)arg, ufd = -1;
	uint8_t *req = NULL, *ans = NULL;
	size_t rcap = 0, acap = 0, rh, ah;

	for (;;) {
		ssize_t rl = read_msg(cfd, &req, &rcap, &rh);
		if (rl <= 0)
			break;
		struct wire_hdr h = { 0 };
		pthread_mutex_lock(&lock);
		const char *what = note_frame(req + rh, (size_t)rl - rh, &h);
		bool drop = h.type < 32 && (drop_types & (1u << h.type)) && ++counter % drop_every == 0;
		pthread_mutex_unlock(&lock);
		ssize_t al = -1;
		for (int attempt = 0; attempt < 2 && al <= 0; attempt++) {
			if (ufd < 0) {
				ufd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
				if (ufd < 0 || connect(ufd, (struct sockaddr *)&up_addr, sizeof(up_addr)) < 0) {
					if (ufd >= 0)
						close(ufd);
					ufd = -1;
					break;
				}
			}
			if (write_all(ufd, req, (size_t)rl) == 0)
				al = read_msg(ufd, &ans, &acap, &ah);
			if (al <= 0) {
				close(ufd);
				ufd = -1;
			}
		}
		int status = al > 12 ? atoi((char *)ans + 9) : 0;
		pthread_mutex_lock(&lock);
		fprintf(log_out, "REQ %s %s %llu %s %d %s\n", h.sender[0] ? h.sender : "-",
		        wire_type_name(h.type), (unsigned long long)h.mac_off, what, status,
		        drop ? "dropped" : "passed");
		fflush(log_out);
		pthread_mutex_unlock(&lock);
		if (al <= 0 || drop || write_all(cfd, ans, (size_t)al) < 0)
			break;    /* the hub acted; the client never hears of it */
	}
	if (ufd >= 0)
		close(ufd);
	close(cfd);
	free(req);
	free(ans);
	return NULL;
}

static int parse_addr(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *c = strrchr(s, ':');

	if (!c || (size_t)(c - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(c - s));
	host[c - s] = 0;
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)atoi(c + 1));
	return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "upstream", required_argument, NULL, 'u' },
		{ "drop-every", required_argument, NULL, 'n' }, { "log", required_argument, NULL, 'o' },
		{ "port-file", required_argument, NULL, 'p' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { 0 }
	};
	const char *listen_s = "127.0.0.1:0", *up = NULL, *logpath = NULL, *portfile = NULL;
	struct sockaddr_in la;
	socklen_t sl = sizeof(la);
	int o, lfd, one = 1;

	while ((o = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (o) {
		case 'l': listen_s = optarg; break;
		case 'u': up = optarg; break;
		case 'n': drop_every = (unsigned)atoi(optarg); break;
		case 'o': logpath = optarg; break;
		case 'p': portfile = optarg; break;
		case 'V': printf("dske-lossy %s\n", DSKE_VERSION); return 0;
		case 'h':
			printf("Usage: dske-lossy --upstream HOST:PORT --log FILE [--listen HOST:PORT]\n"
			       "                  [--drop-every N] [--port-file FILE]\n"
			       "An HTTP proxy to one hub that throws away every Nth answer (default 3) to\n"
			       "SHARE_PUT, SHARE_GET and SHARE_RELEASE after the hub acted, and logs every\n"
			       "frame, flagging a reused mac_off with other bytes as NEWCONTENT. Test tool.\n");
			return 0;
		default: return 2;
		}
	}
	if (!up || !logpath || drop_every < 1 || parse_addr(up, &up_addr) < 0 || parse_addr(listen_s, &la) < 0) {
		fprintf(stderr, "dske-lossy: --upstream HOST:PORT and --log FILE are needed (see --help)\n");
		return 2;
	}
	if (sodium_init() < 0 || !(log_out = fopen(logpath, "a")))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&la, sizeof(la)) < 0 || listen(lfd, 64) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&la, &sl) < 0) {
		perror("dske-lossy: listen");
		return 1;
	}
	if (portfile) {
		FILE *f = fopen(portfile, "w");
		if (!f)
			return 1;
		fprintf(f, "%u\n", ntohs(la.sin_port));
		fclose(f);
	}
	for (;;) {
		int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_t t;
		if (cfd < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (pthread_create(&t, NULL, serve, (void *)(intptr_t)cfd) != 0)
			close(cfd);
		else
			pthread_detach(t);
	}
}
