/* sink_keyring_int.h — the keyring sink's private state, shared by sink_keyring.c (the ring
 * and the thread) and sink_keyring_ctl.c (the control-socket endpoints). */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "clientd/client_config.h"
#include "core/names.h"
#include "desc.h"
#include "keyring.h"

struct keysvc;

enum kr_source { KR_SRC_INITIATOR, KR_SRC_RESPONDER, KR_SRC_ETSI };

struct kr_entry {                     /* a key this daemon published (no bytes) */
	uint8_t key_id[DSKE_KEY_ID_LEN];
	unsigned peer;                    /* index into cfg->peers */
	key_serial_t serial;
	enum kr_source source;
	uint64_t published, expiry;       /* unix seconds; expiry 0 = none */
	size_t len;                       /* bytes */
	char desc[KEYRING_DESC_SIZE];
};

struct kr_ready {                     /* responder: a key for our SAE is held */
	uint8_t key_id[DSKE_KEY_ID_LEN];
	char peer[DSKE_NAME_MAX + 1], master[DSKE_NAME_MAX + 1];
};

struct kr_peer_state {
	uint64_t retry_at, backoff_ms;    /* monotonic ms */
	unsigned failures;
};

struct sink_keyring {
	struct keysvc *ks;
	struct keyring ring;
	pthread_mutex_t lock;             /* the table and the ring's contents */
	pthread_cond_t cond;
	bool stop, started;
	pthread_t thread;
	struct kr_entry *e;
	size_t n, cap;
	struct kr_peer_state *peers;      /* per configured peer (thread only) */
	struct kr_ready *q;               /* keys to take, queued by the engine */
	size_t nq, qcap;
};

/* The sink the control endpoints see (one daemon per process); NULL when off. */
extern struct sink_keyring *kr_ctl_sink;
/* True on the sink's own threads and request-key answers: not ETSI deliveries. */
extern __thread bool kr_in_sink;

const char *kr_source_name(enum kr_source src);
bool sink_keyring_initiates(const struct client_config *c, unsigned peer);
