/* sink_ppk.c — the PPK sink's life cycle, key table and thread (see sink_ppk.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <uuid/uuid.h>

#include "clientd/engine.h"
#include "clientd/sink.h"
#include "clientd/sink_ppk.h"
#include "clientd/sink_ppk_int.h"
#include "common/log.h"

uint64_t ppk_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *ppk_state_name(enum ppk_state st)
{
	switch (st) {
	case PPK_MADE: return "made";
	case PPK_READY: return "ready";
	case PPK_CURRENT: return "current";
	case PPK_OLD: return "old";
	}
	return "?";
}

bool sink_ppk_wanted(const struct client_config *c)
{
	for (unsigned i = 0; i < c->npeers; i++)
		if (c->peers[i].ppk.enabled)
			return true;
	return false;
}

/* The fingerprint both gateways' logs show for a PPK: the first 32 bits of a keyed BLAKE2b of
 * the key (a fixed, public key: the point is that both sides compute the same value). It tells a
 * PPK mismatch from a PSK mismatch; it reveals at most 32 of the key's >= 256 bits. */
static void fingerprint(const uint8_t *key, size_t len, char out[PPK_FPR_LEN + 1])
{
	static const uint8_t ctx[crypto_generichash_KEYBYTES_MIN] = "dske ppk fpr v1";
	uint8_t h[crypto_generichash_BYTES_MIN];

	crypto_generichash(h, sizeof(h), key, len, ctx, sizeof(ctx));
	sodium_bin2hex(out, PPK_FPR_LEN + 1, h, PPK_FPR_LEN / 2);
}

int ppk_key_add(struct sink_ppk *s, struct ppk_link *l, const uint8_t key_id[DSKE_KEY_ID_LEN],
                const uint8_t *key, size_t len, enum ppk_state st, struct ppk_key **ret)
{
	struct ppk_key k = { 0 };
	char uuid[37];

	if (!len)
		return -EINVAL;
	k.key = sodium_malloc(len);
	if (!k.key)
		return -ENOMEM;
	memcpy(k.key, key, len);
	k.len = len;
	memcpy(k.key_id, key_id, DSKE_KEY_ID_LEN);
	uuid_unparse_lower(key_id, uuid);
	snprintf(k.ppk_id, sizeof(k.ppk_id), "%s@%s", uuid, l->cfg->link);
	snprintf(k.cred, sizeof(k.cred), PPK_CRED_PREFIX "%s", k.ppk_id);
	fingerprint(key, len, k.fpr);
	k.state = st;
	k.t_made = k.t_state = ppk_now_ms();
	pthread_mutex_lock(&s->lock);
	if (l->nkeys == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct ppk_key *nk = realloc(l->keys, cap * sizeof(*nk));
		if (!nk) {
			pthread_mutex_unlock(&s->lock);
			sodium_free(k.key);
			return -ENOMEM;
		}
		l->keys = nk;
		l->cap = cap;
	}
	k.seq = ++l->next_seq;
	l->keys[l->nkeys] = k;
	*ret = &l->keys[l->nkeys++];
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void ppk_key_drop(struct sink_ppk *s, struct ppk_link *l, size_t i)
{
	pthread_mutex_lock(&s->lock);
	sodium_free(l->keys[i].key);          /* wipes */
	memmove(&l->keys[i], &l->keys[i + 1], (l->nkeys - i - 1) * sizeof(l->keys[0]));
	l->nkeys--;
	pthread_mutex_unlock(&s->lock);
}

void ppk_set_state(struct sink_ppk *s, struct ppk_link *l, struct ppk_key *k, enum ppk_state st)
{
	(void)l;
	pthread_mutex_lock(&s->lock);
	k->state = st;
	k->t_state = ppk_now_ms();
	pthread_mutex_unlock(&s->lock);
}

void ppk_link_error(struct sink_ppk *s, struct ppk_link *l, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&s->lock);
	va_start(ap, fmt);
	vsnprintf(l->last_error, sizeof(l->last_error), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&s->lock);
}

/* The engine's key-ready callback (an engine thread: only queue). */
static void on_key_ready(void *userdata, const char *peer_kme, const char *master_sae,
                         const char *slave_sae, const uint8_t key_id[DSKE_KEY_ID_LEN])
{
	struct sink_ppk *s = userdata;

	if (strcmp(slave_sae, s->sae))
		return;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nlinks; i++) {
		struct ppk_link *l = &s->links[i];
		if (strcmp(l->pcfg->name, peer_kme) || strcmp(l->cfg->sae, master_sae))
			continue;
		if (l->initiator) {
			/* both sides make keys: ppk_conn_file is set on both */
			if (!l->both_warned)
				log_warn("ppk %s: the peer makes PPKs too, but this side initiates "
				         "(ppk_conn_file): set ppk_conn_file on one side only", l->pcfg->name);
			l->both_warned = true;
			break;
		}
		if (l->npending == PPK_PENDING_MAX) {
			/* the thread is far behind; the key stays in the pool until it expires */
			break;
		}
		memcpy(l->pending[l->npending].key_id, key_id, DSKE_KEY_ID_LEN);
		snprintf(l->pending[l->npending].master, sizeof(l->pending[0].master), "%s", master_sae);
		l->npending++;
		s->work = true;
		pthread_cond_signal(&s->cond);
		break;
	}
	pthread_mutex_unlock(&s->lock);
}

static void *thread_main(void *arg)
{
	struct sink_ppk *s = arg;

	for (;;) {
		uint64_t now = ppk_now_ms(), next = now + 1000;
		struct timespec ts;

		pthread_mutex_lock(&s->lock);
		bool stop = s->stop;
		s->work = false;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
		for (size_t i = 0; i < s->nlinks; i++)
			ppk_link_step(s, &s->links[i], now, &next);
		now = ppk_now_ms();
		pthread_mutex_lock(&s->lock);
		if (!s->stop && !s->work && next > now) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t ns = (uint64_t)ts.tv_nsec + (next - now) * 1000000ull;
			ts.tv_sec += (time_t)(ns / 1000000000ull);
			ts.tv_nsec = (long)(ns % 1000000000ull);
			pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		}
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

int sink_ppk_new(struct keysvc *ks, struct sink_ppk **ret)
{
	const struct client_config *c = ks->cfg;
	struct sink_ppk *s;
	pthread_condattr_t ca;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ks = ks;
	s->cfg = c;
	s->sae = c->ppk.sae;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_cond_init(&s->done, &ca);
	pthread_condattr_destroy(&ca);
	s->links = calloc(c->npeers ? c->npeers : 1, sizeof(*s->links));
	if (!s->links) {
		r = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < c->npeers; i++) {
		if (!c->peers[i].ppk.enabled)
			continue;
		struct ppk_link *l = &s->links[s->nlinks++];
		l->peer = i;
		l->pcfg = &c->peers[i];
		l->cfg = &c->peers[i].ppk;
		l->initiator = l->cfg->conn_file[0] != '\0';
		l->abandon_ms = PPK_ABANDON_MS;
		if (l->initiator)
			log_info("ppk: peer %s, link %s: IKE initiator (makes the PPKs, owns connection %s "
			         "from %s), charon at %s", l->pcfg->name, l->cfg->link, l->cfg->conn,
			         l->cfg->conn_file, l->cfg->vici);
		else
			log_info("ppk: peer %s, link %s: IKE responder, charon at %s", l->pcfg->name,
			         l->cfg->link, l->cfg->vici);
	}
	r = keysvc_sink_register(ks, s->sae, on_key_ready, s);
	if (r < 0) {
		(void)log_error_errno(r, "ppk: cannot register the PPK sink SAE %s", s->sae);
		goto fail;
	}
	ks->ppk = s;
	*ret = s;
	return 0;
fail:
	sink_ppk_free(s);
	return r;
}

int sink_ppk_start(struct sink_ppk *s)
{
	if (pthread_create(&s->thread, NULL, thread_main, s))
		return log_error_errno(EAGAIN, "ppk: cannot start the PPK sink thread");
	s->started = true;
	return 0;
}

void sink_ppk_stop(struct sink_ppk *s)
{
	if (!s || !s->started)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_cond_broadcast(&s->done);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->started = false;
}

void sink_ppk_free(struct sink_ppk *s)
{
	if (!s)
		return;
	sink_ppk_stop(s);
	for (size_t i = 0; i < s->nlinks; i++) {
		struct ppk_link *l = &s->links[i];
		for (size_t j = 0; j < l->nkeys; j++)
			sodium_free(l->keys[j].key);
		free(l->keys);
		vici_close(l->vc);
	}
	free(s->links);
	pthread_cond_destroy(&s->cond);
	pthread_cond_destroy(&s->done);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
