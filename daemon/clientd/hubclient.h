/* hubclient.h — sends DSKE frames to hubs over HTTP (POST /dske/v1) with libcurl multi.
 *
 * One I/O thread drives one curl multi handle for every request of the daemon, so connections
 * to the hubs are kept alive and reused by every caller (no thread or connection per request).
 * A *round* is a set of requests, at most one per hub, sent in parallel with one deadline.
 * A hub's answer is either an HTTP 200 body (a frame the caller authenticates), or a plain HTTP
 * error / transport error: those never end the wait; the identical bytes are sent again after a
 * short backoff while the deadline allows (the hub replays its cached answer for a byte-identical
 * frame, so a lost answer costs no PSRD). When the caller authenticates an answer and finds it
 * bad, hc_round_retry() resends the same bytes too.
 * Callers block in hc_round_next(); answers that arrive after the caller finished go to a
 * callback on the hubclient's background thread (so late acknowledgements are still accepted on
 * the PSRD stream). Thread-safe. Logs nothing but debug lines.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hubclient;
struct hc_round;

/* Monotonic clock, milliseconds. */
uint64_t hc_now_ms(void);

/* urls[nhubs]: each hub's full endpoint URL (".../dske/v1"), copied. max_frame: answers larger
 * than this are refused. 0 or -errno; *ret freed by hubclient_free() (stops the threads). */
int hubclient_new(unsigned nhubs, const char *const *urls, size_t max_frame, struct hubclient **ret);
/* Stops the threads; rounds still in flight are abandoned (a finished round's done runs). */
void hubclient_free(struct hubclient *hc);

/* Last plain/transport error seen for a hub ("" if none since the last 200), and whether the
 * last exchange with it succeeded. */
void hubclient_hub_state(struct hubclient *hc, unsigned hub, bool *ret_up, char *err, size_t errlen);

int hc_round_new(struct hubclient *hc, struct hc_round **ret);
/* Queue frame[len] for hub (takes ownership of frame, malloc'd). One request per hub. */
int hc_round_add(struct hc_round *r, unsigned hub, uint8_t *frame, size_t len);
/* Send everything queued; requests end at deadline_ms (hc_now_ms() clock). */
void hc_round_start(struct hc_round *r, uint64_t deadline_ms);

struct hc_answer {
	unsigned hub;
	const uint8_t *body;   /* owned by the round, valid until the next call on this hub */
	size_t len;
	const uint8_t *req;    /* the request frame (owned by the round) */
	size_t req_len;
};
/* Wait until some hub's answer arrives (0, *ret filled), or until until_ms (-ETIMEDOUT), or
 * nothing is left that could answer (-ENOENT: every request answered and consumed, or past its
 * deadline). */
int hc_round_next(struct hc_round *r, uint64_t until_ms, struct hc_answer *ret);
/* The answer for hub was not acceptable: send the identical request again (deadline allowing). */
void hc_round_retry(struct hc_round *r, unsigned hub);
/* Number of requests still pending (not yet answered or given up). */
unsigned hc_round_pending(struct hc_round *r);

/* The caller is done with the round. Requests still pending continue until the deadline; each
 * answer that arrives is passed to late(cls, answer) on the background thread; late returns true
 * to accept it, false to have the identical request sent again. late may be NULL (answers are
 * dropped). After the last one, done(cls) runs (if not NULL) and the round is freed. */
typedef bool (*hc_late_fn)(void *cls, const struct hc_answer *a);
typedef void (*hc_done_fn)(void *cls);
void hc_round_finish(struct hc_round *r, hc_late_fn late, hc_done_fn done, void *cls);

/* Run fn(cls) on the background thread (in order). 0 or -ENOMEM. */
int hubclient_defer(struct hubclient *hc, void (*fn)(void *), void *cls);
