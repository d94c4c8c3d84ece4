/* ask.c — HTTP/1.1 over the client daemon's unix control socket with libcurl (ask.h).
 * The answer body goes into one sodium_malloc buffer, the key bytes into another. */
#include "ask.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <sodium.h>

struct ask_ctx {
	uint8_t *body;                     /* sodium_malloc'd, REQKEY_RESPONSE_MAX */
	size_t len;
	bool overflow;
};

static size_t ask_on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct ask_ctx *c = userdata;
	size_t n = size * nmemb;

	if (n > REQKEY_RESPONSE_MAX - c->len) {
		c->overflow = true;
		return 0;                           /* aborts the transfer */
	}
	memcpy(c->body + c->len, ptr, n);
	c->len += n;
	return n;
}

static void ask_fail(struct ask_answer *a, int err, bool down, const char *msg)
{
	a->err = err;
	a->daemon_down = down;
	if (msg && !a->msg[0])
		snprintf(a->msg, sizeof(a->msg), "%s", msg);
}

/* The start of an error answer, printable characters only, for the log. */
static void ask_copy_msg(struct ask_answer *a, const uint8_t *body, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < sizeof(a->msg); i++)
		a->msg[i] = (body[i] >= 0x20 && body[i] < 0x7f) ? (char)body[i] : ' ';
	a->msg[i] = '\0';
}

int ask_daemon(const char *socket_path, const struct reqkey_request *rq, unsigned total_ms,
               struct ask_answer *ret)
{
	struct ask_ctx c = { 0 };
	struct curl_slist *hdrs = NULL;
	char *req = NULL;
	CURL *curl = NULL;
	CURLcode cc;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->key = sodium_malloc(REQKEY_KEY_MAX);
	c.body = sodium_malloc(REQKEY_RESPONSE_MAX);
	if (!ret->key || !c.body) {
		ask_fail(ret, EAGAIN, false, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	r = reqkey_request_encode(rq, &req);
	if (r < 0) {
		ask_fail(ret, EKEYREJECTED, false, "request not encodable");
		goto out;
	}
	curl = curl_easy_init();
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (!curl || !hdrs) {
		ask_fail(ret, EAGAIN, false, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path);
	curl_easy_setopt(curl, CURLOPT_URL, "http://localhost" REQKEY_PATH);
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)total_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(total_ms < 1000 ? total_ms : 1000));
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, ask_on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &c);
	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &ret->status);
	r = 0;
	if (c.overflow) {
		ask_fail(ret, EKEYREJECTED, false, "answer too large");
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		ask_fail(ret, ETIMEDOUT, false, "no answer in time");
	} else if (cc != CURLE_OK) {
		/* not running, refusing, or gone while answering */
		ask_fail(ret, ENOKEY, true, curl_easy_strerror(cc));
	} else if (ret->status != 200) {
		ask_copy_msg(ret, c.body, c.len);
		ask_fail(ret, reqkey_status_errno(ret->status), false, NULL);
	} else if (reqkey_response_decode((const char *)c.body, c.len, ret->key, REQKEY_KEY_MAX,
	                                  &ret->len, &ret->timeout_s) < 0) {
		ask_fail(ret, EKEYREJECTED, false, "malformed answer");
	} else {
		ret->err = 0;
	}
out:
	sodium_free(c.body);                    /* wipes */
	curl_slist_free_all(hdrs);
	if (curl)
		curl_easy_cleanup(curl);
	free(req);
	return r;
}

void ask_answer_clear(struct ask_answer *a)
{
	if (!a)
		return;
	sodium_free(a->key);                    /* wipes */
	a->key = NULL;
	a->len = 0;
}
