/* engine.h — the inside of dske-clientd's key service (struct keysvc): hubs and their links,
 * the hub client, initiator, responder, key pool, quotas, counters. Private to daemon/clientd/.
 *
 * Threads: the front ends call keysvc_* on their own threads; hubclient has an I/O thread and a
 * background thread; the responder has one long-poll thread per hub, a fetcher and a releaser.
 * Locks: ks->lock guards counters, quotas and hub flags (never held across I/O); the responder
 * and key pool have their own. */
#pragma once
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "clientd/client_config.h"
#include "clientd/hubclient.h"
#include "clientd/keypool.h"
#include "clientd/keysvc.h"
#include "clientd/sink.h"
#include "core/link.h"
#include "core/psrd.h"
#include "core/wire.h"

struct responder;
struct sink_ppk;
struct audit;

struct hub {
	const struct cc_hub *cfg;          /* borrowed from ks->cfg */
	unsigned idx;                      /* position in the configuration */
	char dir[PATH_MAX];                /* <state_dir>/psrd/<hub> */
	struct psrd_stream *c2h, *h2c;
	struct link link;
	/* guarded by ks->lock */
	bool synced;                       /* STREAM_STATUS done since start or the last import */
	uint64_t faults;                   /* shares that disagreed with the rebuilt key */
	uint64_t bad_answers;              /* 200 answers that did not authenticate */
	uint64_t refusals;                 /* authenticated refusals (ERROR, not-OK status) */
	char last_error[160];
};

struct sae_quota {
	double tokens;                     /* keys left in the current bucket */
	uint64_t last_ms;
};

struct ks_sink {                       /* sink.h: a local SAE served inside the daemon */
	sink_key_ready_cb_t cb;
	void *userdata;
};

struct keysvc {
	struct client_config *cfg;         /* borrowed; outlives the engine */
	unsigned n;                        /* hubs */
	struct hub *hubs;
	struct hubclient *hc;              /* NULL when offline (--import) */
	struct keypool *pool;
	struct responder *resp;
	struct audit *audit;
	struct sink_ppk *ppk;              /* the strongSwan PPK sink, NULL when none (sink_ppk.h) */
	pthread_mutex_t lock;
	struct sae_quota *quotas;          /* per local SAE */
	uint64_t started;                  /* unix seconds */
	bool stopping;
	struct ks_sink sinks[CC_MAX_SAES];  /* by local SAE index; set before keysvc_start */
	sink_delivered_cb_t delivered_cb;
	void *delivered_ud;
	/* counters (ks->lock) */
	uint64_t keys_made, keys_served, keys_rebuilt, keys_failed, rounds_failed;
};

/* ---- hubset.c: links, frames, STREAM_STATUS, imports */
/* Open every hub's streams under state_dir (created 0700). 0 or -errno (logged). */
int hubset_open(struct keysvc *ks);
void hubset_close(struct keysvc *ks);
/* Import one bundle (bytes of a bundle file). msg: a one-line result or error (for the control
 * socket and the command line). The hub is marked unsynchronised; when online a STREAM_STATUS
 * follows at once. 0, -EINVAL (not for us), -EEXIST (already imported), -errno. */
int hubset_import(struct keysvc *ks, const uint8_t *buf, size_t len, char *msg, size_t msglen);
/* STREAM_STATUS with the hubs in mask (bit i = hub i) that are not synchronised; waits up to
 * deadline_ms. Returns the number of hubs synchronised now (all of them, not just mask). */
unsigned hubset_sync(struct keysvc *ks, uint32_t mask, uint64_t deadline_ms);
/* The same for the hubs in mask whether synchronised or not (picks up the hub's imports). */
unsigned hubset_resync(struct keysvc *ks, uint32_t mask, uint64_t deadline_ms);
/* We imported c2h data the hub has not confirmed yet (so we do not use it). */
bool hub_has_unconfirmed_psrd(struct hub *h);
unsigned hubset_synced_count(struct keysvc *ks);
bool hub_is_synced(struct keysvc *ks, unsigned i);
/* PSRD left on the hub's c2h (what we can still send) and h2c streams. */
void hub_psrd_left(struct hub *h, uint64_t *ret_tx, uint64_t *ret_rx);

/* Seal a request of type for hub h: *ret_frame (malloc'd), *ret_hdr (its header, for checking
 * the answer). 0, -ENOSPC, -errno. */
int hub_seal(struct hub *h, uint8_t type, const uint8_t *body, size_t body_len,
             uint8_t **ret_frame, size_t *ret_len, struct wire_hdr *ret_hdr);
/* Check an answer to request req: frame parses, sender = hub, receiver = us, txn_id matches,
 * type is want or WIRE_ERROR. *ret_hdr, *ret_body (into ans). 0, -EBADMSG. */
int hub_check_answer(struct hub *h, const struct wire_hdr *req, const uint8_t *ans, size_t len,
                     uint8_t want, struct wire_hdr *ret_hdr, const uint8_t **ret_body);
/* An answer of type WIRE_ERROR: decode, check req_mac_off, authenticate (link_open). 0 when it is
 * an authenticated refusal (*ret filled), -EBADMSG otherwise. */
int hub_open_error(struct hub *h, const struct wire_hdr *req, const uint8_t *ans, size_t len,
                   const struct wire_hdr *hdr, const uint8_t *body, struct wire_error *ret);
void hub_note_bad(struct keysvc *ks, unsigned i, const char *what);
void hub_note_refusal(struct keysvc *ks, unsigned i, const char *what);

/* ---- initiator.c */
int initiator_make_keys(struct keysvc *ks, const char *master, unsigned peer, const char *slave,
                        unsigned number, size_t key_len, struct keysvc_batch **ret,
                        struct keysvc_err *err);

/* ---- responder.c */
int responder_new(struct keysvc *ks, struct responder **ret);
int responder_start(struct responder *r);       /* threads */
void responder_stop(struct responder *r);       /* stops and joins the threads; NULL-safe */
void responder_free(struct responder *r);       /* stops threads, frees; NULL-safe */
/* Fetch keys ids[count] for slave/master now (if not held yet) and wait up to until_ms until
 * all are held. 0 when all are held, -ETIMEDOUT, -ENOENT (more than n - k hubs said a key is
 * unknown to them: it cannot be rebuilt, so the wait ends at once). */
int responder_demand(struct responder *r, const uint8_t (*ids)[DSKE_KEY_ID_LEN], size_t count,
                     const char *master, const char *slave, uint64_t until_ms);
/* Keys delivered: release their shares at every hub (in the background). */
void responder_release(struct responder *r, const uint8_t (*ids)[DSKE_KEY_ID_LEN], size_t count);
/* A hub was imported / must be re-synchronised: wake its poller. */
void responder_kick(struct responder *r, unsigned hub);
size_t responder_pending(struct responder *r);
uint64_t responder_released(struct responder *r);

/* Master SAE (an SAE of peer_kme) of a key a hub listed or the responder is fetching:
 * 0 and master, or -ENOENT. */
int responder_master_of(struct responder *r, const uint8_t id[DSKE_KEY_ID_LEN], const char *peer_kme,
                        char master[DSKE_NAME_MAX + 1]);

/* ---- sink.c: notify the sinks (sink.h) */
/* A key for a local SAE is held now (called with the responder's lock held: callbacks queue). */
void sink_notify_ready(struct keysvc *ks, const struct kp_meta *km);
/* Keys b were delivered to local_sae (peer_kme: the other side). */
void sink_notify_delivered(struct keysvc *ks, const char *peer_kme, const char *local_sae,
                           const struct keysvc_batch *b);

/* ---- audit.c: delivery log (no key bytes) */
int audit_open(const char *state_dir, struct audit **ret);
void audit_close(struct audit *a);
void audit_delivery(struct audit *a, const uint8_t key_id[DSKE_KEY_ID_LEN], const char *sae,
                    const char *iface, const char *what);

/* ---- keysvc.c: helpers shared by the modules */
uint64_t ks_now_s(void);
void ks_err(struct keysvc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Create the engine (streams opened, nothing started). */
int keysvc_open(struct client_config *cfg, struct keysvc **ret);
/* Start the hub client and the responder; synchronise with the hubs (waits up to sync_wait_ms
 * for every hub). */
int keysvc_start(struct keysvc *ks, uint64_t sync_wait_ms);
void keysvc_close(struct keysvc *ks);           /* stops and frees; NULL-safe */
