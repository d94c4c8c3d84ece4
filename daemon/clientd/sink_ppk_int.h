/* sink_ppk_int.h — the PPK sink's private state, shared by sink_ppk.c (life cycle, key table,
 * thread), sink_ppk_link.c (what the thread does for one peer) and sink_ppk_ctl.c (control
 * socket). Only the sink thread changes the key tables; it takes s->lock to change them, and
 * readers (the control socket) take it to read. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "clientd/client_config.h"
#include "core/names.h"
#include "vici_client.h"
#include "vici_ppk.h"

struct keysvc;

#define PPK_ID_MAX (36 + 1 + PPK_LINK_MAX + 1)        /* "<uuid>@<link>" + NUL */
#define PPK_CRED_PREFIX "dske:"
#define PPK_CRED_MAX (sizeof(PPK_CRED_PREFIX) - 1 + PPK_ID_MAX)
#define PPK_FPR_LEN 8                                 /* hex characters */
#define PPK_PENDING_MAX 256
#define PPK_ABANDON_MS 10000                          /* first wait for a release, doubling */

enum ppk_state {
	PPK_MADE,        /* initiator: made and loaded here; the responder has not released it yet */
	PPK_READY,       /* both charons hold it (initiator: released seen; responder: loaded) */
	PPK_CURRENT,     /* initiator: the connection's ppk_id */
	PPK_OLD,         /* initiator: a newer one is current; unloaded when its SA is up or on grace */
};

struct ppk_key {
	uint8_t key_id[DSKE_KEY_ID_LEN];
	char ppk_id[PPK_ID_MAX];
	char cred[PPK_CRED_MAX];
	char fpr[PPK_FPR_LEN + 1];
	uint8_t *key;                     /* sodium_malloc'd, len bytes */
	size_t len;
	uint64_t seq;                     /* order of making (initiator) or arrival (responder), from 1 */
	enum ppk_state state;
	bool loaded;                      /* in charon, as far as we know */
	bool released;                    /* responder: shares released at the hubs */
	uint64_t t_made, t_state;         /* monotonic ms */
	uint64_t poll_at;                 /* initiator, MADE: next SHARE_STATUS */
	unsigned poll_step;               /* ms, doubling */
};

struct ppk_pending {                  /* responder: a key the engine rebuilt for our sink SAE */
	uint8_t key_id[DSKE_KEY_ID_LEN];
	char master[DSKE_NAME_MAX + 1];
};

struct ppk_link {
	unsigned peer;                    /* index into cfg->peers */
	const struct cc_peer *pcfg;       /* borrowed */
	const struct cc_peer_ppk *cfg;    /* &pcfg->ppk */
	bool initiator;                   /* ppk_conn_file set: we make keys and own the connection */
	struct vici_conn *vc;             /* thread only */
	bool charon_up;
	/* the key table, ordered by seq */
	struct ppk_key *keys;
	size_t nkeys, cap;
	uint64_t next_seq;
	bool both_warned;                 /* the peer makes keys too (logged once) */
	uint64_t abandon_ms;              /* initiator: give up a MADE key not released after this */
	/* responder queue (filled by the engine's callback) */
	struct ppk_pending pending[PPK_PENDING_MAX];
	size_t npending;
	/* timers, monotonic ms */
	uint64_t retry_connect, next_check, next_roll, make_at, sa_retry;
	unsigned make_backoff, sa_backoff;
	unsigned sa_fails;                /* initiate failures in a row (2+: roll on the next retry) */
	bool sa_wanted;                   /* initiator: an IKE SA should be up and is not */
	/* roll requests (control socket) */
	uint64_t roll_req, roll_done, roll_serving;
	bool last_roll_ok;
	char last_roll_id[PPK_ID_MAX];
	char last_roll_err[200];
	uint64_t last_roll_ms;
	/* what the control socket shows */
	unsigned sa_id;
	char sa_state[32];
	bool sa_ppk;
	uint64_t rolls, restores, failures, unloaded;
	char last_error[256];
};

struct sink_ppk {
	struct keysvc *ks;
	const struct client_config *cfg;
	const char *sae;                  /* [ppk] sae */
	pthread_mutex_t lock;
	pthread_cond_t cond;              /* wakes the thread (work queued, roll, stop) */
	pthread_cond_t done;              /* wakes control-socket waiters (a roll finished) */
	bool stop, started, work;
	pthread_t thread;
	struct ppk_link *links;
	size_t nlinks;
};

uint64_t ppk_now_ms(void);
const char *ppk_state_name(enum ppk_state st);
/* Add a key (copies the bytes into sodium memory; fills ids and fingerprint); takes s->lock. */
int ppk_key_add(struct sink_ppk *s, struct ppk_link *l, const uint8_t key_id[DSKE_KEY_ID_LEN],
                const uint8_t *key, size_t len, enum ppk_state st, struct ppk_key **ret);
/* Remove key i (wipes it); takes s->lock. */
void ppk_key_drop(struct sink_ppk *s, struct ppk_link *l, size_t i);
void ppk_set_state(struct sink_ppk *s, struct ppk_link *l, struct ppk_key *k, enum ppk_state st);
void ppk_link_error(struct sink_ppk *s, struct ppk_link *l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* sink_ppk_link.c: one pass of the thread over a link; lowers *next (monotonic ms) to when it
 * wants to run again. */
void ppk_link_step(struct sink_ppk *s, struct ppk_link *l, uint64_t now, uint64_t *next);
