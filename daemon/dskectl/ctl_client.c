/* ctl_client.c — HTTP over a daemon's unix control socket with libcurl. */
#include "dskectl/ctl_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CTL_MAX_BODY (64u << 20)   /* the largest answer we accept (1024 keys of 8192 bits fit) */

struct sink {
	char *buf;
	size_t len, cap;
	bool overflow;
};

/* grows by copying into fresh memory and wiping the old block (realloc would leave copies) */
static size_t sink_write(char *data, size_t size, size_t nmemb, void *cls)
{
	struct sink *s = cls;
	size_t n = size * nmemb;

	if (s->len + n + 1 > CTL_MAX_BODY) {
		s->overflow = true;
		return 0;
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *nb;

		while (cap < s->len + n + 1)
			cap *= 2;
		nb = malloc(cap);
		if (!nb)
			return 0;
		if (s->buf) {
			memcpy(nb, s->buf, s->len);
			sodium_memzero(s->buf, s->cap);
			free(s->buf);
		}
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

struct fd_source {
	int fd;
	int err;
};

static size_t fd_read(char *out, size_t size, size_t nmemb, void *cls)
{
	struct fd_source *src = cls;
	ssize_t n;

	do
		n = read(src->fd, out, size * nmemb);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		src->err = errno;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)n;
}

static int check_socket(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		int e = errno;

		if (e == ENOENT)
			snprintf(err, errlen, "no control socket at %s: is the daemon running? "
			         "(--socket PATH names another one)", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s is not a socket", path);
		return -ENOTSOCK;
	}
	if (access(path, W_OK) < 0) {
		int e = errno;

		if (e == EACCES)
			snprintf(err, errlen, "permission denied on %s (run as root or as a member of "
			         "group dske)", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

int ctl_request_send(const struct ctl_request *rq, struct ctl_reply *ret)
{
	CURL *c = NULL;
	struct curl_slist *hdrs = NULL;
	struct sink sink = { 0 };
	struct fd_source src = { .fd = rq->body_fd, .err = 0 };
	char url[2048], hdr[256];
	CURLcode cc;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = check_socket(rq->socket, ret->error, sizeof(ret->error));
	if (r < 0)
		goto out;
	if (snprintf(url, sizeof(url), "http://localhost%s", rq->path) >= (int)sizeof(url)) {
		snprintf(ret->error, sizeof(ret->error), "request path too long");
		r = -EINVAL;
		goto out;
	}
	c = curl_easy_init();
	if (!c) {
		snprintf(ret->error, sizeof(ret->error), "out of memory");
		r = -ENOMEM;
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, rq->socket);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	if (rq->timeout_s > 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, rq->timeout_s);
	/* no "Expect: 100-continue" round trip for bundles */
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (rq->sae) {
		snprintf(hdr, sizeof(hdr), "X-DSKE-SAE: %s", rq->sae);
		hdrs = curl_slist_append(hdrs, hdr);
	}
	if (rq->content_type) {
		snprintf(hdr, sizeof(hdr), "Content-Type: %s", rq->content_type);
		hdrs = curl_slist_append(hdrs, hdr);
	}
	if (!hdrs) {
		snprintf(ret->error, sizeof(ret->error), "out of memory");
		r = -ENOMEM;
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (strcmp(rq->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		if (rq->body_fd >= 0) {
			curl_easy_setopt(c, CURLOPT_READFUNCTION, fd_read);
			curl_easy_setopt(c, CURLOPT_READDATA, &src);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_fd_len);
		} else {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? (const char *)rq->body : "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		}
	} else if (strcmp(rq->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	}

	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		if (src.err) {
			snprintf(ret->error, sizeof(ret->error), "reading the body: %s", strerror(src.err));
			r = -src.err;
		} else if (sink.overflow) {
			snprintf(ret->error, sizeof(ret->error), "answer larger than %u bytes", CTL_MAX_BODY);
			r = -EFBIG;
		} else if (cc == CURLE_COULDNT_CONNECT) {
			snprintf(ret->error, sizeof(ret->error), "cannot connect to %s: nobody is "
			         "listening (stale socket? is the daemon running?)", rq->socket);
			r = -ECONNREFUSED;
		} else if (cc == CURLE_OPERATION_TIMEDOUT) {
			snprintf(ret->error, sizeof(ret->error), "no answer from %s within %ld s",
			         rq->socket, rq->timeout_s);
			r = -ETIMEDOUT;
		} else {
			snprintf(ret->error, sizeof(ret->error), "%s: %s", rq->socket,
			         curl_easy_strerror(cc));
			r = -EIO;
		}
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ret->status);
	if (!sink.buf) {
		sink.buf = calloc(1, 1);
		if (!sink.buf) {
			r = -ENOMEM;
			goto out;
		}
		sink.cap = 1;
	}
	ret->body = sink.buf;
	ret->body_len = sink.len;
	sink.buf = NULL;
	r = 0;
out:
	if (sink.buf) {
		sodium_memzero(sink.buf, sink.cap);
		free(sink.buf);
	}
	curl_slist_free_all(hdrs);
	if (c)
		curl_easy_cleanup(c);
	return r;
}

void ctl_reply_clear(struct ctl_reply *r)
{
	if (!r || !r->body)
		return;
	sodium_memzero(r->body, r->body_len);
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

const char *ctl_reply_error_text(const struct ctl_reply *r)
{
	static char msg[512];
	json_t *j;
	const char *s = NULL;

	msg[0] = '\0';
	if (!r->body || !r->body_len)
		return "(no message)";
	j = json_loadb(r->body, r->body_len, 0, NULL);
	if (j) {
		s = json_string_value(json_object_get(j, "error"));
		if (!s)
			s = json_string_value(json_object_get(j, "message"));
		if (s)
			snprintf(msg, sizeof(msg), "%s", s);
		json_decref(j);
	}
	if (!s) {
		size_t n = r->body_len < sizeof(msg) - 1 ? r->body_len : sizeof(msg) - 1;

		memcpy(msg, r->body, n);
		msg[n] = '\0';
		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
			msg[--n] = '\0';
	}
	return msg;
}
