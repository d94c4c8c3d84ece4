/* test_hubclient — the hub client against real HTTP servers (common/httpd on loopback): parallel
 * requests, plain HTTP errors and dead hubs never end the wait, retries are byte-identical, the
 * deadline ends it, a bad answer can be retried, answers after finish go to the late callback,
 * connections are kept alive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clientd/hubclient.h"
#include "common/httpd.h"

struct srv {
	struct httpd *h;
	pthread_mutex_t lock;
	unsigned fail_first;      /* answer this many requests with 503 first */
	unsigned delay_ms;        /* before answering 200 */
	unsigned requests;
	bool bodies_differ;
	uint8_t first[256];
	size_t first_len;
	char url[64];
	struct MHD_Connection *conns[64];
	unsigned nconns;
};

static enum MHD_Result handler(void *cls, struct httpd_request *req)
{
	struct srv *s = cls;
	bool fail;

	pthread_mutex_lock(&s->lock);
	s->requests++;
	if (s->requests == 1) {
		s->first_len = req->body_len < sizeof(s->first) ? req->body_len : sizeof(s->first);
		memcpy(s->first, req->body, s->first_len);
	} else if (req->body_len != s->first_len || memcmp(req->body, s->first, s->first_len)) {
		s->bodies_differ = true;
	}
	bool seen = false;
	for (unsigned i = 0; i < s->nconns; i++)
		seen |= s->conns[i] == req->conn;
	if (!seen && s->nconns < 64)
		s->conns[s->nconns++] = req->conn;
	fail = s->requests <= s->fail_first;
	pthread_mutex_unlock(&s->lock);
	if (fail)
		return httpd_reply_text(req->conn, 503, "hub unable");
	if (s->delay_ms)
		usleep(s->delay_ms * 1000);
	/* answer: "ok:" + the request body */
	uint8_t *out = malloc(req->body_len + 3);
	memcpy(out, "ok:", 3);
	memcpy(out + 3, req->body, req->body_len);
	return httpd_reply_take(req->conn, 200, "application/octet-stream", out, req->body_len + 3, false);
}

static void srv_start(struct srv *s)
{
	struct httpd_opts o = { .tcp = "127.0.0.1:0", .handler = handler, .cls = s, .name = "test" };
	pthread_mutex_init(&s->lock, NULL);
	assert_int_equal(httpd_start(&o, &s->h), 0);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u/dske/v1", httpd_port(s->h));
}

static uint8_t *frame(const char *txt, size_t *len)
{
	*len = strlen(txt);
	uint8_t *f = malloc(*len);
	memcpy(f, txt, *len);
	return f;
}

static void test_parallel_retry_deadline(void **state)
{
	struct srv s[3] = { { .fail_first = 0 }, { .fail_first = 3 }, { .fail_first = 1000 } };
	const char *urls[4];
	struct hubclient *hc;
	struct hc_round *r;
	struct hc_answer a;
	size_t len;

	for (int i = 0; i < 3; i++) {
		srv_start(&s[i]);
		urls[i] = s[i].url;
	}
	urls[3] = "http://127.0.0.1:1/dske/v1";   /* nobody listens: transport errors */
	assert_int_equal(hubclient_new(4, urls, 1 << 20, &hc), 0);
	assert_int_equal(hc_round_new(hc, &r), 0);
	for (unsigned i = 0; i < 4; i++) {
		char txt[32];
		snprintf(txt, sizeof(txt), "frame-for-hub-%u", i);
		{ uint8_t *f_ = frame(txt, &len); assert_int_equal(hc_round_add(r, i, f_, len), 0); }
	}
	uint64_t t0 = hc_now_ms();
	hc_round_start(r, t0 + 1500);
	bool got[4] = { false };
	while (hc_round_next(r, t0 + 5000, &a) == 0) {
		char want[40];
		snprintf(want, sizeof(want), "ok:frame-for-hub-%u", a.hub);
		assert_int_equal(a.len, strlen(want));
		assert_memory_equal(a.body, want, a.len);
		assert_memory_equal(a.req, want + 3, a.req_len);
		got[a.hub] = true;
	}
	uint64_t took = hc_now_ms() - t0;
	/* hub 0 at once, hub 1 after three 503s (retried, byte-identical); hub 2 (always 503) and
	 * hub 3 (no server) never answer; the round ends when no retry fits before the deadline */
	assert_true(got[0] && got[1]);
	assert_false(got[2] || got[3]);
	assert_true(took >= 900 && took < 3000);   /* last retry that fits before the deadline */
	assert_int_equal(s[1].requests, 4);
	assert_false(s[1].bodies_differ);
	assert_true(s[2].requests >= 4);     /* kept retrying until the deadline */
	assert_false(s[2].bodies_differ);
	bool up;
	char err[128];
	hubclient_hub_state(hc, 3, &up, err, sizeof(err));
	assert_false(up);
	assert_true(strlen(err) > 0);
	hubclient_hub_state(hc, 2, &up, err, sizeof(err));
	assert_true(up);                     /* reachable, but refusing */
	assert_non_null(strstr(err, "HTTP 503"));
	hc_round_finish(r, NULL, NULL, NULL);
	hubclient_free(hc);
	for (int i = 0; i < 3; i++)
		httpd_stop(s[i].h);
}

static void test_retry_bad_answer_and_keepalive(void **state)
{
	struct srv s = { 0 };
	const char *urls[1];
	struct hubclient *hc;
	struct hc_answer a;
	size_t len;

	srv_start(&s);
	urls[0] = s.url;
	assert_int_equal(hubclient_new(1, urls, 1 << 20, &hc), 0);
	for (int round = 0; round < 5; round++) {
		struct hc_round *r;
		assert_int_equal(hc_round_new(hc, &r), 0);
		{ uint8_t *f_ = frame("same", &len); assert_int_equal(hc_round_add(r, 0, f_, len), 0); }
		hc_round_start(r, hc_now_ms() + 2000);
		assert_int_equal(hc_round_next(r, hc_now_ms() + 3000, &a), 0);
		if (round == 0) {
			/* the caller finds the answer bad: the same bytes go out again */
			hc_round_retry(r, 0);
			assert_int_equal(hc_round_next(r, hc_now_ms() + 3000, &a), 0);
		}
		assert_memory_equal(a.body, "ok:same", 7);
		assert_int_equal(hc_round_next(r, hc_now_ms() + 3000, &a), -ENOENT);
		hc_round_finish(r, NULL, NULL, NULL);
	}
	assert_int_equal(s.requests, 6);
	assert_false(s.bodies_differ);
	/* six sequential requests over one kept-alive connection */
	assert_int_equal(s.nconns, 1);
	hubclient_free(hc);
	httpd_stop(s.h);
}

struct late {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned answers;
	bool done;
};

static bool late_cb(void *cls, const struct hc_answer *a)
{
	struct late *l = cls;
	pthread_mutex_lock(&l->lock);
	l->answers++;
	pthread_mutex_unlock(&l->lock);
	return true;
}

static void done_cb(void *cls)
{
	struct late *l = cls;
	pthread_mutex_lock(&l->lock);
	l->done = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

static void test_late_answers(void **state)
{
	struct srv fast = { 0 }, slow = { .delay_ms = 300 };
	const char *urls[2];
	struct hubclient *hc;
	struct hc_round *r;
	struct hc_answer a;
	struct late l = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	size_t len;

	srv_start(&fast);
	srv_start(&slow);
	urls[0] = fast.url;
	urls[1] = slow.url;
	assert_int_equal(hubclient_new(2, urls, 1 << 20, &hc), 0);
	assert_int_equal(hc_round_new(hc, &r), 0);
	{ uint8_t *f_ = frame("a", &len); hc_round_add(r, 0, f_, len); }
	{ uint8_t *f_ = frame("b", &len); hc_round_add(r, 1, f_, len); }
	hc_round_start(r, hc_now_ms() + 3000);
	assert_int_equal(hc_round_next(r, hc_now_ms() + 3000, &a), 0);
	assert_int_equal(a.hub, 0);
	assert_int_equal(hc_round_pending(r), 1);
	/* done with the round: the slow hub's answer still arrives, at the late callback */
	hc_round_finish(r, late_cb, done_cb, &l);
	pthread_mutex_lock(&l.lock);
	while (!l.done)
		pthread_cond_wait(&l.cond, &l.lock);
	pthread_mutex_unlock(&l.lock);
	assert_int_equal(l.answers, 1);
	hubclient_free(hc);
	httpd_stop(fast.h);
	httpd_stop(slow.h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parallel_retry_deadline),
		cmocka_unit_test(test_retry_bad_answer_and_keepalive),
		cmocka_unit_test(test_late_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
