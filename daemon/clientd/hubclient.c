/* hubclient.c — parallel, keep-alive frame exchange with the hubs (see hubclient.h). */
#include "clientd/hubclient.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

#define BACKOFF_MIN_MS 10u
#define BACKOFF_MAX_MS 500u

enum rq_state { RQ_NONE, RQ_QUEUED, RQ_INFLIGHT, RQ_ANSWERED, RQ_CONSUMED, RQ_DEAD };

struct hc_req {
	struct hc_round *round;
	unsigned hub;
	enum rq_state state;
	uint8_t *frame;
	size_t len;
	uint64_t retry_at;
	unsigned backoff_ms;
	CURL *easy;
	uint8_t *resp;
	size_t resp_len, resp_cap;
	struct hc_req *todo_next;     /* hc->todo list (QUEUED) */
};

struct hc_round {
	struct hubclient *hc;
	struct hc_req *reqs;          /* nhubs entries, state RQ_NONE when unused */
	uint64_t deadline;
	bool started, finished;
	hc_late_fn late;
	hc_done_fn done;
	void *cls;
	unsigned *events;             /* ring of hub indexes with an answer ready */
	unsigned ev_head, ev_count;
	pthread_cond_t cond;
	struct hc_round *prev, *next; /* hc->rounds */
};

struct job {
	void (*fn)(void *);
	void *cls;
	struct hc_req *late;          /* or a late answer to hand to its round's callback */
	struct job *next;
};

struct hub_state {
	char *url;
	bool up;
	char err[128];
};

struct hubclient {
	pthread_mutex_t lock;
	unsigned nhubs;
	size_t max_frame;
	struct hub_state *hubs;
	CURLM *multi;
	struct curl_slist *headers;
	struct hc_req *todo;          /* QUEUED requests (the I/O thread adds them when due) */
	struct hc_round *rounds;
	CURL **idle;                  /* reusable easy handles */
	size_t nidle, idle_cap;
	bool stop;
	pthread_t io_thread, bg_thread;
	bool io_started, bg_started;
	/* background jobs */
	pthread_cond_t bg_cond;
	struct job *jobs, *jobs_tail;
};

uint64_t hc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void deadline_ts(uint64_t until_ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(until_ms / 1000);
	ts->tv_nsec = (long)(until_ms % 1000) * 1000000;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct hc_req *q = userdata;
	size_t n = size * nmemb;
	size_t max = q->round->hc->max_frame;

	if (q->resp_len + n > max)
		return 0;   /* too large: abort the transfer */
	if (q->resp_len + n > q->resp_cap) {
		size_t cap = q->resp_cap ? q->resp_cap : 512;
		while (cap < q->resp_len + n)
			cap *= 2;
		uint8_t *b = realloc(q->resp, cap);
		if (!b)
			return 0;
		q->resp = b;
		q->resp_cap = cap;
	}
	memcpy(q->resp + q->resp_len, ptr, n);
	q->resp_len += n;
	return n;
}

/* ---------------------------------------------------------------- I/O thread (lock held) */

static void todo_push(struct hubclient *hc, struct hc_req *q)
{
	q->state = RQ_QUEUED;
	q->todo_next = hc->todo;
	hc->todo = q;
}

static void round_signal(struct hc_round *r)
{
	pthread_cond_broadcast(&r->cond);
}

static void bg_push(struct hubclient *hc, struct job *j)
{
	j->next = NULL;
	if (hc->jobs_tail)
		hc->jobs_tail->next = j;
	else
		hc->jobs = j;
	hc->jobs_tail = j;
	pthread_cond_signal(&hc->bg_cond);
}

static bool round_busy(struct hc_round *r)
{
	for (unsigned i = 0; i < r->hc->nhubs; i++) {
		enum rq_state s = r->reqs[i].state;
		if (s == RQ_QUEUED || s == RQ_INFLIGHT || s == RQ_ANSWERED)
			return true;
	}
	return false;
}

static void round_destroy(struct hc_round *r)
{
	struct hubclient *hc = r->hc;
	for (unsigned i = 0; i < hc->nhubs; i++) {
		free(r->reqs[i].frame);
		free(r->reqs[i].resp);
	}
	pthread_cond_destroy(&r->cond);
	free(r->reqs);
	free(r->events);
	free(r);
}

/* Lock held. A finished round with nothing outstanding is unlinked; returns true when the caller
 * must run done and destroy it (after unlocking). */
static bool round_reap(struct hc_round *r)
{
	struct hubclient *hc = r->hc;
	if (!r->finished || round_busy(r))
		return false;
	if (r->prev)
		r->prev->next = r->next;
	else
		hc->rounds = r->next;
	if (r->next)
		r->next->prev = r->prev;
	return true;
}

static void answer_ready(struct hubclient *hc, struct hc_req *q)
{
	struct hc_round *r = q->round;
	q->state = RQ_ANSWERED;
	if (r->finished) {
		struct job *j = calloc(1, sizeof(*j));
		if (!j) {
			q->state = RQ_CONSUMED;   /* dropped */
			return;
		}
		j->late = q;
		bg_push(hc, j);
		return;
	}
	r->events[(r->ev_head + r->ev_count) % hc->nhubs] = q->hub;
	r->ev_count++;
	round_signal(r);
}

static void easy_release(struct hubclient *hc, CURL *e)
{
	if (hc->nidle == hc->idle_cap) {
		size_t cap = hc->idle_cap ? hc->idle_cap * 2 : 16;
		CURL **n = realloc(hc->idle, cap * sizeof(*n));
		if (!n) {
			curl_easy_cleanup(e);
			return;
		}
		hc->idle = n;
		hc->idle_cap = cap;
	}
	hc->idle[hc->nidle++] = e;
}

static int start_transfer(struct hubclient *hc, struct hc_req *q, uint64_t now)
{
	CURL *e = hc->nidle ? hc->idle[--hc->nidle] : curl_easy_init();
	if (!e)
		return -ENOMEM;
	curl_easy_reset(e);
	q->resp_len = 0;
	curl_easy_setopt(e, CURLOPT_URL, hc->hubs[q->hub].url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->frame);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hc->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(e, CURLOPT_PRIVATE, q);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	uint64_t left = q->round->deadline > now ? q->round->deadline - now : 1;
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(left < 2000 ? left : 2000));
	q->easy = e;
	q->state = RQ_INFLIGHT;
	if (curl_multi_add_handle(hc->multi, e) != CURLM_OK) {
		q->easy = NULL;
		easy_release(hc, e);
		return -EIO;
	}
	return 0;
}

/* Lock held: a failed attempt; retry after a backoff if the deadline allows. Returns a round to
 * reap (or NULL). */
static struct hc_round *attempt_failed(struct hubclient *hc, struct hc_req *q, uint64_t now)
{
	struct hc_round *r = q->round;
	q->backoff_ms = q->backoff_ms ? q->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (q->backoff_ms > BACKOFF_MAX_MS)
		q->backoff_ms = BACKOFF_MAX_MS;
	if (now + q->backoff_ms < r->deadline && !hc->stop) {
		q->retry_at = now + q->backoff_ms;
		todo_push(hc, q);
		return NULL;
	}
	q->state = RQ_DEAD;
	round_signal(r);
	return round_reap(r) ? r : NULL;
}

static void finish_round(struct hc_round *r)
{
	if (r->done)
		r->done(r->cls);
	round_destroy(r);
}

static void process_done(struct hubclient *hc, CURL *e, CURLcode res)
{
	struct hc_req *q = NULL;
	struct hc_round *reap = NULL;
	long code = 0;
	uint64_t now = hc_now_ms();

	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&q);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(hc->multi, e);
	pthread_mutex_lock(&hc->lock);
	q->easy = NULL;
	easy_release(hc, e);
	struct hub_state *h = &hc->hubs[q->hub];
	if (res == CURLE_OK && code == 200 && q->resp_len > 0) {
		h->up = true;
		h->err[0] = '\0';
		q->backoff_ms = 0;
		answer_ready(hc, q);
	} else {
		if (res != CURLE_OK) {
			h->up = false;
			snprintf(h->err, sizeof(h->err), "%s", curl_easy_strerror(res));
		} else {
			/* a plain HTTP answer: the hub is reachable but did not authenticate/serve */
			h->up = true;
			int n = snprintf(h->err, sizeof(h->err), "HTTP %ld", code);
			if (code != 200 && q->resp_len && n > 0 && (size_t)n < sizeof(h->err) - 3) {
				size_t room = sizeof(h->err) - (size_t)n - 3;
				size_t l = q->resp_len < room ? q->resp_len : room;
				char *d = h->err + n;
				*d++ = ':';
				*d++ = ' ';
				for (size_t i = 0; i < l; i++)
					*d++ = (q->resp[i] >= 0x20 && q->resp[i] < 0x7f) ? (char)q->resp[i] : ' ';
				*d = '\0';
				while (d > h->err && (d[-1] == ' '))
					*--d = '\0';
			}
		}
		log_debug("hub #%u: %s", q->hub, h->err);
		if (res == CURLE_OK && code == 409) {
			/* the hub has used this frame's PSRD and holds no answer for it (it restarted
			 * while the request was in flight, or the range is stale): the identical bytes
			 * can never be accepted, so give the request up at once and let the caller seal
			 * a new one on fresh PSRD (a retry is byte-identical or entirely fresh) */
			q->state = RQ_DEAD;
			round_signal(q->round);
			reap = round_reap(q->round) ? q->round : NULL;
		} else {
			reap = attempt_failed(hc, q, now);
		}
	}
	pthread_mutex_unlock(&hc->lock);
	if (reap)
		finish_round(reap);
}

static void *io_main(void *arg)
{
	struct hubclient *hc = arg;

	for (;;) {
		struct hc_round *reap_list[16];
		unsigned nreap = 0;
		uint64_t now = hc_now_ms();
		long timeout = 1000;

		pthread_mutex_lock(&hc->lock);
		if (hc->stop) {
			pthread_mutex_unlock(&hc->lock);
			break;
		}
		struct hc_req **pp = &hc->todo;
		while (*pp && nreap < 16) {
			struct hc_req *q = *pp;
			if (q->retry_at > now) {
				long t = (long)(q->retry_at - now);
				if (t < timeout)
					timeout = t;
				pp = &q->todo_next;
				continue;
			}
			*pp = q->todo_next;
			if (now >= q->round->deadline || start_transfer(hc, q, now) < 0) {
				q->state = RQ_DEAD;
				round_signal(q->round);
				if (round_reap(q->round))
					reap_list[nreap++] = q->round;
			}
		}
		pthread_mutex_unlock(&hc->lock);
		for (unsigned i = 0; i < nreap; i++)
			finish_round(reap_list[i]);

		int running = 0;
		curl_multi_perform(hc->multi, &running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(hc->multi, &left)))
			if (m->msg == CURLMSG_DONE)
				process_done(hc, m->easy_handle, m->data.result);
		curl_multi_poll(hc->multi, NULL, 0, (int)timeout, NULL);
	}
	return NULL;
}

/* ---------------------------------------------------------------- background thread */

static void run_late(struct hubclient *hc, struct hc_req *q)
{
	struct hc_round *r = q->round;
	struct hc_answer a = { .hub = q->hub, .body = q->resp, .len = q->resp_len,
	                       .req = q->frame, .req_len = q->len };
	bool ok = true;

	pthread_mutex_lock(&hc->lock);
	q->state = RQ_CONSUMED;
	pthread_mutex_unlock(&hc->lock);
	if (r->late)
		ok = r->late(r->cls, &a);
	pthread_mutex_lock(&hc->lock);
	if (!ok) {
		uint64_t now = hc_now_ms();
		if (now < r->deadline && !hc->stop) {
			q->retry_at = now;
			todo_push(hc, q);
			curl_multi_wakeup(hc->multi);
		} else {
			q->state = RQ_DEAD;
		}
	}
	bool reap = round_reap(r);
	pthread_mutex_unlock(&hc->lock);
	if (reap)
		finish_round(r);
}

static void *bg_main(void *arg)
{
	struct hubclient *hc = arg;

	pthread_mutex_lock(&hc->lock);
	for (;;) {
		while (!hc->jobs && !hc->stop)
			pthread_cond_wait(&hc->bg_cond, &hc->lock);
		if (!hc->jobs && hc->stop)
			break;
		struct job *j = hc->jobs;
		hc->jobs = j->next;
		if (!hc->jobs)
			hc->jobs_tail = NULL;
		pthread_mutex_unlock(&hc->lock);
		if (j->late)
			run_late(hc, j->late);
		else
			j->fn(j->cls);
		free(j);
		pthread_mutex_lock(&hc->lock);
	}
	pthread_mutex_unlock(&hc->lock);
	return NULL;
}

int hubclient_defer(struct hubclient *hc, void (*fn)(void *), void *cls)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->fn = fn;
	j->cls = cls;
	pthread_mutex_lock(&hc->lock);
	bg_push(hc, j);
	pthread_mutex_unlock(&hc->lock);
	return 0;
}

/* ---------------------------------------------------------------- setup */

int hubclient_new(unsigned nhubs, const char *const *urls, size_t max_frame, struct hubclient **ret)
{
	struct hubclient *hc;
	pthread_condattr_t ca;
	int r = -ENOMEM;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -EIO;
	hc = calloc(1, sizeof(*hc));
	if (!hc)
		return -ENOMEM;
	pthread_mutex_init(&hc->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hc->bg_cond, &ca);
	pthread_condattr_destroy(&ca);
	hc->nhubs = nhubs;
	hc->max_frame = max_frame;
	hc->hubs = calloc(nhubs ? nhubs : 1, sizeof(*hc->hubs));
	if (!hc->hubs)
		goto fail;
	for (unsigned i = 0; i < nhubs; i++) {
		hc->hubs[i].url = strdup(urls[i]);
		if (!hc->hubs[i].url)
			goto fail;
		snprintf(hc->hubs[i].err, sizeof(hc->hubs[i].err), "not contacted yet");
	}
	hc->multi = curl_multi_init();
	if (!hc->multi)
		goto fail;
	curl_multi_setopt(hc->multi, CURLMOPT_MAXCONNECTS, (long)(64 + 8 * nhubs));
	hc->headers = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	if (hc->headers)
		hc->headers = curl_slist_append(hc->headers, "Expect:");
	if (!hc->headers)
		goto fail;
	if (pthread_create(&hc->io_thread, NULL, io_main, hc)) {
		r = -EAGAIN;
		goto fail;
	}
	hc->io_started = true;
	if (pthread_create(&hc->bg_thread, NULL, bg_main, hc)) {
		r = -EAGAIN;
		goto fail;
	}
	hc->bg_started = true;
	*ret = hc;
	return 0;
fail:
	hubclient_free(hc);
	return r;
}

void hubclient_free(struct hubclient *hc)
{
	if (!hc)
		return;
	pthread_mutex_lock(&hc->lock);
	hc->stop = true;
	pthread_cond_broadcast(&hc->bg_cond);
	pthread_mutex_unlock(&hc->lock);
	if (hc->bg_started)
		pthread_join(hc->bg_thread, NULL);
	if (hc->multi)
		curl_multi_wakeup(hc->multi);
	if (hc->io_started)
		pthread_join(hc->io_thread, NULL);
	/* rounds still alive: requests in flight are abandoned */
	for (struct hc_round *r = hc->rounds, *n; r; r = n) {
		n = r->next;
		for (unsigned i = 0; i < hc->nhubs; i++)
			if (r->reqs[i].easy) {
				curl_multi_remove_handle(hc->multi, r->reqs[i].easy);
				curl_easy_cleanup(r->reqs[i].easy);
			}
		if (r->finished) {
			if (r->done)
				r->done(r->cls);
			round_destroy(r);
		}
	}
	for (struct job *j = hc->jobs, *n; j; j = n) {
		n = j->next;
		free(j);
	}
	for (size_t i = 0; i < hc->nidle; i++)
		curl_easy_cleanup(hc->idle[i]);
	free(hc->idle);
	if (hc->multi)
		curl_multi_cleanup(hc->multi);
	curl_slist_free_all(hc->headers);
	for (unsigned i = 0; hc->hubs && i < hc->nhubs; i++)
		free(hc->hubs[i].url);
	free(hc->hubs);
	pthread_cond_destroy(&hc->bg_cond);
	pthread_mutex_destroy(&hc->lock);
	free(hc);
}

void hubclient_hub_state(struct hubclient *hc, unsigned hub, bool *ret_up, char *err, size_t errlen)
{
	pthread_mutex_lock(&hc->lock);
	*ret_up = hc->hubs[hub].up;
	snprintf(err, errlen, "%s", hc->hubs[hub].err);
	pthread_mutex_unlock(&hc->lock);
}

/* ---------------------------------------------------------------- rounds */

int hc_round_new(struct hubclient *hc, struct hc_round **ret)
{
	struct hc_round *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;

	if (!r)
		return -ENOMEM;
	r->hc = hc;
	r->reqs = calloc(hc->nhubs, sizeof(*r->reqs));
	r->events = calloc(hc->nhubs, sizeof(*r->events));
	if (!r->reqs || !r->events) {
		free(r->reqs);
		free(r->events);
		free(r);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < hc->nhubs; i++) {
		r->reqs[i].round = r;
		r->reqs[i].hub = i;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&hc->lock);
	r->next = hc->rounds;
	if (hc->rounds)
		hc->rounds->prev = r;
	hc->rounds = r;
	pthread_mutex_unlock(&hc->lock);
	*ret = r;
	return 0;
}

int hc_round_add(struct hc_round *r, unsigned hub, uint8_t *frame, size_t len)
{
	if (hub >= r->hc->nhubs || r->reqs[hub].frame || r->started) {
		free(frame);
		return -EINVAL;
	}
	r->reqs[hub].frame = frame;
	r->reqs[hub].len = len;
	return 0;
}

void hc_round_start(struct hc_round *r, uint64_t deadline_ms)
{
	struct hubclient *hc = r->hc;
	uint64_t now = hc_now_ms();

	pthread_mutex_lock(&hc->lock);
	r->deadline = deadline_ms;
	r->started = true;
	for (unsigned i = 0; i < hc->nhubs; i++)
		if (r->reqs[i].frame) {
			r->reqs[i].retry_at = now;
			todo_push(hc, &r->reqs[i]);
		}
	pthread_mutex_unlock(&hc->lock);
	curl_multi_wakeup(hc->multi);
}

int hc_round_next(struct hc_round *r, uint64_t until_ms, struct hc_answer *ret)
{
	struct hubclient *hc = r->hc;
	struct timespec ts;
	int rc;

	deadline_ts(until_ms, &ts);
	pthread_mutex_lock(&hc->lock);
	for (;;) {
		if (r->ev_count) {
			unsigned h = r->events[r->ev_head];
			r->ev_head = (r->ev_head + 1) % hc->nhubs;
			r->ev_count--;
			struct hc_req *q = &r->reqs[h];
			q->state = RQ_CONSUMED;
			ret->hub = h;
			ret->body = q->resp;
			ret->len = q->resp_len;
			ret->req = q->frame;
			ret->req_len = q->len;
			rc = 0;
			break;
		}
		if (!round_busy(r)) {
			rc = -ENOENT;
			break;
		}
		if (pthread_cond_timedwait(&r->cond, &hc->lock, &ts) == ETIMEDOUT && !r->ev_count) {
			rc = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&hc->lock);
	return rc;
}

void hc_round_retry(struct hc_round *r, unsigned hub)
{
	struct hubclient *hc = r->hc;
	struct hc_req *q = &r->reqs[hub];
	uint64_t now = hc_now_ms();

	pthread_mutex_lock(&hc->lock);
	if (q->state == RQ_CONSUMED) {
		if (now < r->deadline && !hc->stop) {
			q->backoff_ms = q->backoff_ms ? q->backoff_ms * 2 : BACKOFF_MIN_MS;
			if (q->backoff_ms > BACKOFF_MAX_MS)
				q->backoff_ms = BACKOFF_MAX_MS;
			q->retry_at = now + q->backoff_ms;
			todo_push(hc, q);
		} else {
			q->state = RQ_DEAD;
		}
	}
	pthread_mutex_unlock(&hc->lock);
	curl_multi_wakeup(hc->multi);
}

unsigned hc_round_pending(struct hc_round *r)
{
	unsigned n = 0;
	pthread_mutex_lock(&r->hc->lock);
	for (unsigned i = 0; i < r->hc->nhubs; i++)
		if (r->reqs[i].state == RQ_QUEUED || r->reqs[i].state == RQ_INFLIGHT)
			n++;
	pthread_mutex_unlock(&r->hc->lock);
	return n;
}

void hc_round_finish(struct hc_round *r, hc_late_fn late, hc_done_fn done, void *cls)
{
	struct hubclient *hc = r->hc;

	pthread_mutex_lock(&hc->lock);
	r->finished = true;
	r->late = late;
	r->done = done;
	r->cls = cls;
	/* answers that arrived but were not consumed go to the late callback */
	while (r->ev_count) {
		unsigned h = r->events[r->ev_head];
		r->ev_head = (r->ev_head + 1) % hc->nhubs;
		r->ev_count--;
		struct job *j = calloc(1, sizeof(*j));
		if (!j) {
			r->reqs[h].state = RQ_CONSUMED;
			continue;
		}
		j->late = &r->reqs[h];
		bg_push(hc, j);
	}
	bool reap = round_reap(r);
	pthread_mutex_unlock(&hc->lock);
	if (reap)
		finish_round(r);
}
