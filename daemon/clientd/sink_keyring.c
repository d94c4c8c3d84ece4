/* sink_keyring.c — keyring delivery: the ring, the table of published keys, the thread that
 * keeps each keyring peer's supply topped up (initiator) or publishes what the responder
 * rebuilt (responder). See sink_keyring.h. */
#include "clientd/sink_keyring.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#include "clientd/engine.h"
#include "clientd/sink.h"
#include "clientd/sink_keyring_int.h"
#include "common/log.h"
#include "keyring.h"
#include "desc.h"

#define TICK_MS 200                 /* the thread looks at the ring this often */
#define RETRY_MIN_MS 500            /* after a failed round for a peer, then doubling */
#define RETRY_MAX_MS 30000
#define TAKE_MAX 64                 /* responder: keys taken from the pool per call */

/* ---------------------------------------------------------------- configuration */

bool sink_keyring_wanted(const struct client_config *c)
{
	if (c->keyring.publish_etsi)
		return true;
	for (unsigned i = 0; i < c->npeers; i++)
		if (c->peers[i].keyring)
			return true;
	return false;
}

bool sink_keyring_initiates(const struct client_config *c, unsigned peer)
{
	const struct cc_peer *p = &c->peers[peer];

	if (p->keyring_initiator == CC_KR_INIT_YES)
		return true;
	if (p->keyring_initiator == CC_KR_INIT_NO)
		return false;
	return strcmp(c->name, p->name) < 0;    /* auto: both sides agree on one initiator */
}

int sink_keyring_config_check(const struct client_config *c, char *err, size_t errlen)
{
	if (!keyring_name_valid(c->keyring.name)) {
		snprintf(err, errlen, "%s: [keyring] name \"%s\": not a keyring name (1..64 of "
		         "A-Z a-z 0-9 . _ : -, not starting with . or _)", c->path, c->keyring.name);
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->npeers; i++) {
		const struct cc_peer *p = &c->peers[i];
		bool found = false;
		if (!p->keyring)
			continue;
		if (!c->keyring.sae[0] || client_config_sae_find(c, c->keyring.sae) < 0) {
			snprintf(err, errlen, "%s:%u: [peer %s] keyring = yes needs [keyring] sae = the "
			         "keyring sink's SAE ID", c->path, p->line, p->name);
			return -EINVAL;
		}
		for (unsigned j = 0; j < p->nsaes; j++)
			found |= !strcmp(p->saes[j], p->keyring_sae);
		if (!found) {
			snprintf(err, errlen, "%s:%u: [peer %s] keyring = yes needs keyring_sae = one of its "
			         "saes (the peer's keyring SAE ID)", c->path, p->line, p->name);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- the table */

static unsigned peer_keys(const struct cc_peer *p)
{
	return p->keyring_keys ? p->keyring_keys : CC_KR_DEFAULT_KEYS;
}

static uint64_t peer_lifetime(const struct client_config *c, const struct cc_peer *p)
{
	return p->keyring_lifetime_s ? p->keyring_lifetime_s : c->keyring.timeout_s;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int sink_grow_locked(struct sink_keyring *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64;
	struct kr_entry *n = realloc(s->e, cap * sizeof(*n));

	if (!n)
		return -ENOMEM;
	s->e = n;
	s->cap = cap;
	return 0;
}

/* Publish one key and remember it. Caller holds s->lock. */
static int sink_publish_locked(struct sink_keyring *s, unsigned peer, const struct keysvc_key *k,
                               uint64_t timeout_s, enum kr_source src)
{
	struct client_config *c = s->ks->cfg;
	struct kr_entry *e;
	char desc[KEYRING_DESC_SIZE], id[37];
	key_serial_t serial;
	int r;

	uuid_unparse_lower(k->key_id, id);
	r = keyring_desc_format(desc, sizeof(desc), KEYRING_DESC_PREFIX, c->peers[peer].name,
	                        k->key_id);
	if (r < 0)
		return log_warn_errno(r, "keyring: cannot name key %s of peer %s", id,
		                      c->peers[peer].name);
	if (k->len > KEYRING_PAYLOAD_MAX)
		return log_warn_errno(EMSGSIZE, "keyring: key %s is too large for a user key", id);
	if (s->n == s->cap && sink_grow_locked(s) < 0)
		return log_warn_errno(ENOMEM, "keyring: cannot track key %s", id);
	r = keyring_key_publish(&s->ring, desc, k->key, k->len,
	                        timeout_s > UINT32_MAX ? UINT32_MAX : (unsigned)timeout_s, &serial);
	if (r < 0)
		return log_warn_errno(r, "keyring: cannot publish %s in ring %s", desc, s->ring.name);
	e = &s->e[s->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->key_id, k->key_id, DSKE_KEY_ID_LEN);
	e->peer = peer;
	e->serial = serial;
	e->source = src;
	e->published = ks_now_s();
	e->expiry = timeout_s ? e->published + timeout_s : 0;
	e->len = k->len;
	snprintf(e->desc, sizeof(e->desc), "%s", desc);
	log_info("keyring: published %s (%zu bits, %s, expires in %llu s)", desc, k->len * 8,
	         kr_source_name(src), (unsigned long long)timeout_s);
	return 0;
}

const char *kr_source_name(enum kr_source src)
{
	switch (src) {
	case KR_SRC_INITIATOR: return "initiator";
	case KR_SRC_RESPONDER: return "responder";
	case KR_SRC_ETSI: return "etsi";
	}
	return "?";
}

/* Forget keys that consumers invalidated, that expired, or that someone replaced. */
static void sink_prune_locked(struct sink_keyring *s)
{
	uint64_t now = ks_now_s();
	size_t i = 0;

	while (i < s->n) {
		struct kr_entry *e = &s->e[i];
		key_serial_t found = 0;
		int r = keyring_key_find(&s->ring, e->desc, &found);
		if (r == 0 && found == e->serial && (!e->expiry || e->expiry > now)) {
			i++;
			continue;
		}
		log_info("keyring: %s is gone (%s)", e->desc,
		         r == 0 ? (found != e->serial ? "replaced" : "expired") :
		         r == -EKEYEXPIRED ? "expired" : "invalidated or unlinked");
		if (r == 0 && found == e->serial)
			keyring_key_invalidate(e->serial);      /* past our expiry: do not leave it */
		s->e[i] = s->e[--s->n];
	}
}

static size_t sink_count_locked(struct sink_keyring *s, unsigned peer, enum kr_source src)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->e[i].peer == peer && s->e[i].source == src;
	return n;
}

static void sink_note_failure(struct sink_keyring *s, unsigned peer, int r, const char *msg)
{
	struct kr_peer_state *ps = &s->peers[peer];

	ps->backoff_ms = ps->backoff_ms ? ps->backoff_ms * 2 : RETRY_MIN_MS;
	if (ps->backoff_ms > RETRY_MAX_MS)
		ps->backoff_ms = RETRY_MAX_MS;
	ps->retry_at = now_ms() + ps->backoff_ms;
	if (ps->failures++ == 0 || ps->backoff_ms == RETRY_MAX_MS)
		log_warn("keyring: peer %s: %s (%s); retrying in %llu ms", s->ks->cfg->peers[peer].name,
		         msg[0] ? msg : strerror(-r), strerror(-r), (unsigned long long)ps->backoff_ms);
}

static void sink_note_success(struct sink_keyring *s, unsigned peer)
{
	struct kr_peer_state *ps = &s->peers[peer];

	if (ps->failures)
		log_notice("keyring: peer %s: keys flow again", s->ks->cfg->peers[peer].name);
	ps->failures = 0;
	ps->backoff_ms = 0;
	ps->retry_at = 0;
}

/* Initiator: make keys until the peer has its supply. */
static void sink_top_up(struct sink_keyring *s, unsigned peer)
{
	struct client_config *c = s->ks->cfg;
	const struct cc_peer *p = &c->peers[peer];
	struct keysvc_batch *b = NULL;
	struct keysvc_err err = { "" };
	size_t have;
	unsigned want;
	int r;

	pthread_mutex_lock(&s->lock);
	have = sink_count_locked(s, peer, KR_SRC_INITIATOR);
	pthread_mutex_unlock(&s->lock);
	if (have >= peer_keys(p))
		return;
	want = peer_keys(p) - (unsigned)have;
	if (want > c->max_keys_per_request)
		want = c->max_keys_per_request;
	r = keysvc_get_keys(s->ks, c->keyring.sae, p->keyring_sae, want, 0, &b, &err);
	if (r < 0) {
		sink_note_failure(s, peer, r, err.msg);
		return;
	}
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < b->count; i++)
		sink_publish_locked(s, peer, &b->keys[i], peer_lifetime(c, p), KR_SRC_INITIATOR);
	pthread_mutex_unlock(&s->lock);
	keysvc_batch_free(b);
	sink_note_success(s, peer);
}

/* Responder (engine thread, responder lock held): a key made for our SAE is held now. Queue
 * it; the sink's thread takes it. */
static void sink_on_ready(void *userdata, const char *peer_kme, const char *master_sae,
                          const char *slave_sae, const uint8_t key_id[DSKE_KEY_ID_LEN])
{
	struct sink_keyring *s = userdata;
	struct kr_ready *q;

	pthread_mutex_lock(&s->lock);
	if (s->nq == s->qcap) {
		size_t cap = s->qcap ? s->qcap * 2 : 64;
		q = realloc(s->q, cap * sizeof(*q));
		if (!q) {
			pthread_mutex_unlock(&s->lock);
			log_warn("keyring: out of memory: a key for %s stays in the pool", slave_sae);
			return;
		}
		s->q = q;
		s->qcap = cap;
	}
	q = &s->q[s->nq++];
	memcpy(q->key_id, key_id, DSKE_KEY_ID_LEN);
	snprintf(q->peer, sizeof(q->peer), "%s", peer_kme);
	snprintf(q->master, sizeof(q->master), "%s", master_sae);
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Responder: take the queued keys (this side's delivery) and publish them, batched by master. */
static void sink_take_ready(struct sink_keyring *s)
{
	struct client_config *c = s->ks->cfg;
	struct kr_ready *q;
	size_t nq, i = 0;

	pthread_mutex_lock(&s->lock);
	q = s->q;
	nq = s->nq;
	s->q = NULL;
	s->nq = s->qcap = 0;
	pthread_mutex_unlock(&s->lock);
	while (i < nq) {
		uint8_t ids[TAKE_MAX][DSKE_KEY_ID_LEN];
		struct keysvc_batch *b = NULL;
		struct keysvc_err err = { "" };
		size_t n = 0, j;
		int peer = client_config_peer_find(c, q[i].peer), r;
		for (j = i; j < nq && n < TAKE_MAX && !strcmp(q[j].master, q[i].master); j++)
			memcpy(ids[n++], q[j].key_id, DSKE_KEY_ID_LEN);
		r = peer < 0 ? -ENOENT :
		    keysvc_get_keys_with_ids(s->ks, c->keyring.sae, q[i].master,
		                             (const uint8_t (*)[DSKE_KEY_ID_LEN])ids, n, &b, &err);
		if (r < 0) {
			log_warn("keyring: cannot take %zu key(s) from %s (%s): %s", n, q[i].master,
			         q[i].peer, err.msg[0] ? err.msg : strerror(-r));
		} else {
			const struct cc_peer *p = &c->peers[peer];
			uint64_t life = p->keyring ? peer_lifetime(c, p) : c->keyring.timeout_s;
			pthread_mutex_lock(&s->lock);
			for (size_t k = 0; k < b->count; k++)
				sink_publish_locked(s, (unsigned)peer, &b->keys[k], life, KR_SRC_RESPONDER);
			pthread_mutex_unlock(&s->lock);
			keysvc_batch_free(b);
		}
		i = j;
	}
	free(q);
}

static void *sink_main(void *arg)
{
	struct sink_keyring *s = arg;
	struct client_config *c = s->ks->cfg;

	keysvc_thread_iface("keyring");
	kr_in_sink = true;
	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		struct timespec ts;
		sink_prune_locked(s);
		pthread_mutex_unlock(&s->lock);
		sink_take_ready(s);
		for (unsigned i = 0; i < c->npeers; i++) {
			if (c->peers[i].keyring && now_ms() >= s->peers[i].retry_at &&
			    sink_keyring_initiates(c, i))
				sink_top_up(s, i);
		}
		pthread_mutex_lock(&s->lock);
		if (s->stop || s->nq)
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---------------------------------------------------------------- ETSI hook */

__thread bool kr_in_sink;
struct sink_keyring *kr_ctl_sink;

/* Every delivery to a local SAE (keysvc_delivery_hook): with publish_etsi, publish the keys
 * handed out over ETSI 014 (not the sink's own, not request-key's). */
static void sink_on_delivered(void *userdata, const char *peer_kme, const char *local_sae,
                              const struct keysvc_key *key)
{
	struct sink_keyring *s = userdata;
	struct client_config *c = s->ks->cfg;
	int peer;

	if (kr_in_sink || !c->keyring.publish_etsi || !strcmp(local_sae, c->keyring.sae))
		return;
	peer = client_config_peer_find(c, peer_kme);
	if (peer < 0)
		return;
	pthread_mutex_lock(&s->lock);
	sink_publish_locked(s, (unsigned)peer, key, c->keyring.timeout_s, KR_SRC_ETSI);
	pthread_mutex_unlock(&s->lock);
}

/* ---------------------------------------------------------------- life cycle */

/* After a restart: take over the keys a previous run published for our keyring peers, so the
 * supply is not made twice (their expiry is unknown here; the kernel still enforces it). */
static void sink_adopt(struct sink_keyring *s)
{
	struct client_config *c = s->ks->cfg;
	key_serial_t *ids = NULL;
	size_t n = 0;

	if (keyring_ring_list(&s->ring, &ids, &n) < 0)
		return;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < n; i++) {
		char *d = NULL, peer_name[DSKE_NAME_MAX + 1];
		struct keyring_describe kd;
		uint8_t id[DSKE_KEY_ID_LEN];
		long len;
		int peer;
		if (keyctl_describe_alloc(ids[i], &d) < 0)
			continue;
		if (keyring_describe_parse(d, &kd) == 0 && !strcmp(kd.type, "user") &&
		    keyring_desc_parse(kd.desc, strlen(kd.desc), KEYRING_DESC_PREFIX, peer_name, id) == 0 &&
		    (peer = client_config_peer_find(c, peer_name)) >= 0 && c->peers[peer].keyring &&
		    (len = keyctl_read(ids[i], NULL, 0)) > 0 && (s->n < s->cap || sink_grow_locked(s) == 0)) {
			struct kr_entry *e = &s->e[s->n++];
			memset(e, 0, sizeof(*e));
			memcpy(e->key_id, id, DSKE_KEY_ID_LEN);
			e->peer = (unsigned)peer;
			e->serial = ids[i];
			e->source = sink_keyring_initiates(c, (unsigned)peer) ? KR_SRC_INITIATOR :
			                                                       KR_SRC_RESPONDER;
			e->published = ks_now_s();
			e->len = (size_t)len;
			snprintf(e->desc, sizeof(e->desc), "%s", kd.desc);
		}
		free(d);
	}
	if (s->n)
		log_notice("keyring: %zu key(s) from an earlier run are still in ring %s", s->n,
		           s->ring.name);
	pthread_mutex_unlock(&s->lock);
	free(ids);
}

int sink_keyring_new(struct keysvc *ks, struct sink_keyring **ret)
{
	struct client_config *c = ks->cfg;
	struct sink_keyring *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ks = ks;
	s->peers = calloc(c->npeers ? c->npeers : 1, sizeof(*s->peers));
	if (!s->peers) {
		free(s);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	r = keyring_ring_open(c->keyring.name, c->keyring.group[0] ? c->keyring.group : NULL,
	                      &s->ring);
	if (r < 0) {
		(void)log_error_errno(r, "keyring: cannot open or create the keyring %s in root's user "
		                      "keyring", c->keyring.name);
		sink_keyring_free(s);
		return r;
	}
	sink_adopt(s);
	if (c->keyring.sae[0] && (r = keysvc_sink_register(ks, c->keyring.sae, sink_on_ready, s)) < 0) {
		(void)log_error_errno(r, "keyring: cannot register the sink's SAE %s", c->keyring.sae);
		sink_keyring_free(s);
		return r;
	}
	if (c->keyring.publish_etsi && (r = keysvc_delivery_hook(ks, sink_on_delivered, s)) < 0) {
		(void)log_error_errno(r, "keyring: cannot hook into deliveries (publish_etsi)");
		sink_keyring_free(s);
		return r;
	}
	log_notice("keyring: ring %s (id %d, permission %08x%s%s)", s->ring.name, s->ring.serial,
	           s->ring.perm, s->ring.gid != KEYRING_NO_GROUP ? ", group " : ", no group",
	           s->ring.gid != KEYRING_NO_GROUP ? c->keyring.group : "");
	kr_ctl_sink = s;
	*ret = s;
	return 0;
}

int sink_keyring_start(struct sink_keyring *s)
{
	int r = pthread_create(&s->thread, NULL, sink_main, s);
	if (r)
		return -r;
	s->started = true;
	return 0;
}

void sink_keyring_free(struct sink_keyring *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	if (kr_ctl_sink == s)
		kr_ctl_sink = NULL;
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->e);
	free(s->q);
	free(s->peers);
	free(s);
}
