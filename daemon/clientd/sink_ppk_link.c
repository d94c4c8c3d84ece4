/* sink_ppk_link.c — what the PPK sink's thread does for one peer (see sink_ppk.h): keep a VICI
 * connection, take and load keys (responder), make, load, roll and retire keys (initiator),
 * and restore what an admin reload removed from charon. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "clientd/engine.h"
#include "clientd/sink.h"
#include "clientd/sink_ppk_int.h"
#include "common/log.h"
#include "vici_ike.h"

#define VICI_TIMEOUT_MS 15000
#define INITIATE_TIMEOUT_MS 10000
#define CONN_FILE_MAX (256 * 1024)
#define MAX_SAS 32
#define MAX_CREDS 512

static void msgf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void msgf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static void want(uint64_t *next, uint64_t at)
{
	if (at < *next)
		*next = at;
}

/* Backoff: 250 ms doubling up to 30 s. */
static uint64_t backoff(unsigned *n)
{
	uint64_t ms = 250ull << (*n < 7 ? *n : 7);
	if (*n < 16)
		(*n)++;
	return min64(ms, 30000);
}

/* VICI failures that mean the connection is unusable (charon gone, protocol broken). */
static bool conn_broken(int r)
{
	return r < 0 && r != -EREMOTEIO && r != -EINVAL && r != -EOPNOTSUPP && r != -ENOENT &&
	       r != -EBADMSG;
}

static void drop_vici(struct sink_ppk *s, struct ppk_link *l, int r, const char *what)
{
	if (l->vc) {
		vici_close(l->vc);
		l->vc = NULL;
	}
	if (l->charon_up)
		log_warn("ppk %s: lost charon at %s (%s: %s); reconnecting", l->pcfg->name, l->cfg->vici,
		         what, strerror(-r));
	pthread_mutex_lock(&s->lock);
	l->charon_up = false;
	pthread_mutex_unlock(&s->lock);
	ppk_link_error(s, l, "charon at %s: %s: %s", l->cfg->vici, what, strerror(-r));
	l->retry_connect = ppk_now_ms() + 500;
}

static void finish_roll(struct sink_ppk *s, struct ppk_link *l, bool ok, const char *ppk_id,
                        uint64_t ms, const char *err)
{
	pthread_mutex_lock(&s->lock);
	l->roll_done = l->roll_serving > l->roll_done ? l->roll_serving : l->roll_done;
	l->last_roll_ok = ok;
	snprintf(l->last_roll_id, sizeof(l->last_roll_id), "%s", ppk_id ? ppk_id : "");
	snprintf(l->last_roll_err, sizeof(l->last_roll_err), "%s", err ? err : "");
	l->last_roll_ms = ms;
	pthread_cond_broadcast(&s->done);
	pthread_mutex_unlock(&s->lock);
}

/* Fail every roll request waiting now (nothing can be done for them at the moment). */
static void fail_waiting_rolls(struct sink_ppk *s, struct ppk_link *l, const char *err)
{
	pthread_mutex_lock(&s->lock);
	bool waiting = l->roll_req > l->roll_done;
	l->roll_serving = l->roll_req;
	pthread_mutex_unlock(&s->lock);
	if (waiting)
		finish_roll(s, l, false, NULL, 0, err);
}

static bool ensure_vici(struct sink_ppk *s, struct ppk_link *l, uint64_t now, uint64_t *next)
{
	int r;

	if (l->vc)
		return true;
	if (now < l->retry_connect) {
		want(next, l->retry_connect);
		return false;
	}
	r = vici_connect(l->cfg->vici, VICI_TIMEOUT_MS, &l->vc);
	if (r < 0) {
		l->vc = NULL;
		ppk_link_error(s, l, "charon not reachable at %s: %s", l->cfg->vici, strerror(-r));
		if (!l->retry_connect)
			log_warn("ppk %s: charon not reachable at %s: %s; retrying", l->pcfg->name,
			         l->cfg->vici, strerror(-r));
		l->retry_connect = now + min64(1000, l->cfg->check_ms);
		want(next, l->retry_connect);
		fail_waiting_rolls(s, l, "charon is not reachable");
		return false;
	}
	log_notice("ppk %s: connected to charon at %s", l->pcfg->name, l->cfg->vici);
	pthread_mutex_lock(&s->lock);
	l->charon_up = true;
	l->last_error[0] = '\0';
	pthread_mutex_unlock(&s->lock);
	l->next_check = 0;
	return true;
}

static int load_key(struct sink_ppk *s, struct ppk_link *l, struct ppk_key *k, const char *why)
{
	char err[256];
	int r;

	r = vici_ppk_load(l->vc, k->cred, k->key, k->len, k->ppk_id, err, sizeof(err));
	if (r < 0) {
		ppk_link_error(s, l, "load-shared %s: %s", k->ppk_id, err[0] ? err : strerror(-r));
		log_warn("ppk %s: cannot load PPK_ID %s into charon: %s", l->pcfg->name, k->ppk_id,
		         err[0] ? err : strerror(-r));
		if (conn_broken(r))
			drop_vici(s, l, r, "load-shared");
		return r;
	}
	pthread_mutex_lock(&s->lock);
	k->loaded = true;
	pthread_mutex_unlock(&s->lock);
	log_info("ppk %s: %s PPK_ID %s (fingerprint %s, %zu bits) into charon", l->pcfg->name, why,
	         k->ppk_id, k->fpr, k->len * 8);
	return 0;
}

/* Unload and forget key i. */
static void retire(struct sink_ppk *s, struct ppk_link *l, size_t i, const char *why)
{
	struct ppk_key *k = &l->keys[i];
	char err[256];
	int r = 0;

	if (k->loaded && l->vc) {
		r = vici_ppk_unload(l->vc, k->cred, err, sizeof(err));
		if (conn_broken(r)) {
			drop_vici(s, l, r, "unload-shared");
			return;           /* try again once charon is back */
		}
	}
	log_info("ppk %s: unloaded PPK_ID %s (fingerprint %s): %s", l->pcfg->name, k->ppk_id, k->fpr,
	         why);
	pthread_mutex_lock(&s->lock);
	l->unloaded++;
	pthread_mutex_unlock(&s->lock);
	ppk_key_drop(s, l, i);
}

static ssize_t find_state(struct ppk_link *l, enum ppk_state st)
{
	for (size_t i = 0; i < l->nkeys; i++)
		if (l->keys[i].state == st)
			return (ssize_t)i;
	return -1;
}

static size_t count_state(struct ppk_link *l, enum ppk_state st)
{
	size_t n = 0;
	for (size_t i = 0; i < l->nkeys; i++)
		n += l->keys[i].state == st;
	return n;
}

/* ---------------------------------------------------------------- responder */

static void responder_step(struct sink_ppk *s, struct ppk_link *l, uint64_t now, uint64_t *next)
{
	struct ppk_pending q[PPK_PENDING_MAX];
	size_t nq, keepn = (l->cfg->keep ? l->cfg->keep : 1) + 2;

	pthread_mutex_lock(&s->lock);
	nq = l->npending;
	memcpy(q, l->pending, nq * sizeof(q[0]));
	l->npending = 0;
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < nq; i++) {
		struct keysvc_batch *b = NULL;
		struct keysvc_err e = { "" };
		struct ppk_key *k;
		int r = keysvc_sink_take(s->ks, s->sae, q[i].master, q[i].key_id, &b, &e);
		if (r < 0) {
			log_warn("ppk %s: cannot take a key made by %s: %s", l->pcfg->name, q[i].master,
			         e.msg[0] ? e.msg : strerror(-r));
			continue;
		}
		r = ppk_key_add(s, l, b->keys[0].key_id, b->keys[0].key, b->keys[0].len, PPK_READY, &k);
		keysvc_batch_free(b);
		if (r < 0) {
			/* not released: the initiator never rolls to it */
			(void)log_error_errno(r, "ppk %s: cannot hold a PPK", l->pcfg->name);
			continue;
		}
		log_info("ppk %s: received PPK_ID %s (fingerprint %s)", l->pcfg->name, k->ppk_id, k->fpr);
	}
	/* load, and only then release the shares: SHARE_STATUS "released" tells the initiator that
	 * this charon holds the PPK */
	for (size_t i = 0; i < l->nkeys && l->vc; i++) {
		struct ppk_key *k = &l->keys[i];
		if (!k->loaded && load_key(s, l, k, "loaded") < 0)
			break;
		if (k->loaded && !k->released) {
			keysvc_sink_release(s->ks, k->key_id);
			pthread_mutex_lock(&s->lock);
			k->released = true;
			pthread_mutex_unlock(&s->lock);
		}
	}
	/* the initiator makes a new PPK only after rolling to its oldest ready one: once keepn newer
	 * PPKs are here, an older one is used by no new IKE SA (one more than needed: a key the
	 * initiator gave up waiting for, which it never uses, counts here too) */
	for (size_t i = 0; i < l->nkeys;) {
		if (l->keys[i].seq + keepn <= l->next_seq && l->vc) {
			size_t before = l->nkeys;
			retire(s, l, i, "the initiator rolled past it");
			if (l->nkeys < before)
				continue;
		}
		i++;
	}
	(void)now;
	(void)next;
}

/* ---------------------------------------------------------------- initiator */

static int read_conn_file(const char *path, char **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return -errno;
	buf = malloc(CONN_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, CONN_FILE_MAX + 1, f);
	if (ferror(f) || n > CONN_FILE_MAX) {
		int e = ferror(f) ? -EIO : -EFBIG;
		fclose(f);
		free(buf);
		return e;
	}
	fclose(f);
	buf[n] = '\0';
	*ret = buf;
	*ret_len = n;
	return 0;
}

/* load-conn of our connection with ppk_id (re-reading the admin's file each time). */
static int load_conn(struct sink_ppk *s, struct ppk_link *l, const char *ppk_id, char *msg,
                     size_t msglen)
{
	char *text = NULL, err[256] = "";
	size_t len = 0;
	unsigned line = 0;
	int r;

	r = read_conn_file(l->cfg->conn_file, &text, &len);
	if (r < 0) {
		msgf(msg, msglen, "cannot read ppk_conn_file %s: %s", l->cfg->conn_file, strerror(-r));
		return r;
	}
	r = vici_load_conn_text(l->vc, text, len, l->cfg->conn, ppk_id, err, sizeof(err), &line);
	free(text);
	if (r == -ENOENT)
		msgf(msg, msglen, "%s: no connection %s", l->cfg->conn_file, l->cfg->conn);
	else if (r == -EBADMSG)
		msgf(msg, msglen, "%s:%u: not swanctl.conf syntax", l->cfg->conn_file, line);
	else if (r == -EOPNOTSUPP)
		msgf(msg, msglen, "%s:%u: setting not allowed in a DSKE-managed connection (it "
		         "would load files)", l->cfg->conn_file, line);
	else if (r == -EREMOTEIO)
		msgf(msg, msglen, "charon refused connection %s: %s", l->cfg->conn, err);
	else if (r < 0)
		msgf(msg, msglen, "load-conn %s: %s", l->cfg->conn, strerror(-r));
	if (conn_broken(r))
		drop_vici(s, l, r, "load-conn");
	return r;
}

static void set_sa(struct sink_ppk *s, struct ppk_link *l, const struct vici_sa *sa)
{
	pthread_mutex_lock(&s->lock);
	l->sa_id = sa ? sa->uniqueid : 0;
	snprintf(l->sa_state, sizeof(l->sa_state), "%s", sa ? sa->state : "");
	l->sa_ppk = sa && sa->ppk;
	pthread_mutex_unlock(&s->lock);
}

/* The newest ESTABLISHED SA of our connection, or NULL. */
static const struct vici_sa *newest_up(const struct vici_sa *sas, size_t n)
{
	const struct vici_sa *best = NULL;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(sas[i].state, "ESTABLISHED") && (!best || sas[i].uniqueid > best->uniqueid))
			best = &sas[i];
	return best;
}

/* Unload every OLD key (an IKE SA with a newer PPK_ID is up) and stale credentials. */
static void retire_old(struct sink_ppk *s, struct ppk_link *l, const char *why)
{
	for (size_t i = 0; i < l->nkeys && l->vc;) {
		if (l->keys[i].state == PPK_OLD) {
			size_t before = l->nkeys;
			retire(s, l, i, why);
			if (l->nkeys < before)
				continue;
		}
		i++;
	}
}

/* Start an IKE SA with the current PPK_ID and terminate the older ones. */
static int initiate_current(struct sink_ppk *s, struct ppk_link *l, bool rolling)
{
	struct vici_sa before[MAX_SAS], after[MAX_SAS];
	size_t nb = 0, na = 0;
	char err[256] = "", msg[400];
	ssize_t ci = find_state(l, PPK_CURRENT);
	uint64_t t0 = ppk_now_ms();
	int r;

	if (ci < 0)
		return -ENOENT;
	char ppk_id[PPK_ID_MAX], fpr[PPK_FPR_LEN + 1];
	snprintf(ppk_id, sizeof(ppk_id), "%s", l->keys[ci].ppk_id);
	snprintf(fpr, sizeof(fpr), "%s", l->keys[ci].fpr);
	r = vici_list_sas(l->vc, l->cfg->conn, before, MAX_SAS, &nb);
	if (r == 0)
		r = vici_initiate(l->vc, l->cfg->conn, l->cfg->child[0] ? l->cfg->child : NULL,
		                  INITIATE_TIMEOUT_MS, err, sizeof(err));
	if (r == 0)
		r = vici_list_sas(l->vc, l->cfg->conn, after, MAX_SAS, &na);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "IKE SA %s with PPK_ID %s (fingerprint %s) failed: %s%s",
		         l->cfg->conn, ppk_id, fpr, err[0] ? err : strerror(-r),
		         r == -EREMOTEIO ? " (if the peer logs 'MAC mismatched' while the PSK is right, "
		         "the PPKs differ: compare the fingerprints in both gateways' logs)" : "");
		log_warn("ppk %s: %s", l->pcfg->name, msg);
		ppk_link_error(s, l, "%s", msg);
		pthread_mutex_lock(&s->lock);
		l->failures++;
		pthread_mutex_unlock(&s->lock);
		l->sa_wanted = true;
		l->sa_fails++;
		l->sa_retry = ppk_now_ms() + backoff(&l->sa_backoff);
		if (rolling)
			finish_roll(s, l, false, ppk_id, ppk_now_ms() - t0, msg);
		if (conn_broken(r))
			drop_vici(s, l, r, "initiate");
		return r;
	}
	/* the new SA: established and not there before */
	const struct vici_sa *nsa = NULL;
	for (size_t i = 0; i < na; i++) {
		bool old = false;
		for (size_t j = 0; j < nb; j++)
			old = old || before[j].uniqueid == after[i].uniqueid;
		if (!old && !strcmp(after[i].state, "ESTABLISHED") &&
		    (!nsa || after[i].uniqueid > nsa->uniqueid))
			nsa = &after[i];
	}
	if (!nsa)
		nsa = newest_up(after, na);
	set_sa(s, l, nsa);
	if (nsa && !nsa->ppk)
		log_error("ppk %s: IKE SA #%u of %s came up WITHOUT a PPK: set ppk_required = yes in %s",
		          l->pcfg->name, nsa->uniqueid, l->cfg->conn, l->cfg->conn_file);
	for (size_t j = 0; j < nb; j++) {
		if (nsa && before[j].uniqueid == nsa->uniqueid)
			continue;
		r = vici_terminate_id(l->vc, before[j].uniqueid, INITIATE_TIMEOUT_MS, err, sizeof(err));
		if (r < 0)
			log_warn("ppk %s: terminate IKE SA #%u: %s", l->pcfg->name, before[j].uniqueid,
			         err[0] ? err : strerror(-r));
		else
			log_info("ppk %s: terminated IKE SA #%u (older PPK)", l->pcfg->name,
			         before[j].uniqueid);
	}
	l->sa_wanted = false;
	l->sa_backoff = 0;
	l->sa_fails = 0;
	uint64_t ms = ppk_now_ms() - t0;
	log_notice("ppk %s: IKE SA #%u of %s up with PPK_ID %s (fingerprint %s, ppk=%s) in %llu ms",
	           l->pcfg->name, nsa ? nsa->uniqueid : 0, l->cfg->conn, ppk_id, fpr,
	           nsa && nsa->ppk ? "yes" : "no", (unsigned long long)ms);
	pthread_mutex_lock(&s->lock);
	if (rolling)
		l->rolls++;
	l->last_error[0] = '\0';
	pthread_mutex_unlock(&s->lock);
	retire_old(s, l, "an IKE SA with a newer PPK_ID is up");
	if (rolling)
		finish_roll(s, l, true, ppk_id, ms, NULL);
	return 0;
}

/* Roll to key index ri (READY): load-conn with its PPK_ID, then a new IKE SA. */
static void do_switch(struct sink_ppk *s, struct ppk_link *l, size_t ri, uint64_t now)
{
	char msg[400];
	int r;

	pthread_mutex_lock(&s->lock);
	l->roll_serving = l->roll_req;
	pthread_mutex_unlock(&s->lock);
	r = load_conn(s, l, l->keys[ri].ppk_id, msg, sizeof(msg));
	if (r < 0) {
		log_warn("ppk %s: %s", l->pcfg->name, msg);
		ppk_link_error(s, l, "%s", msg);
		l->next_roll = now + backoff(&l->sa_backoff);
		finish_roll(s, l, false, l->keys[ri].ppk_id, 0, msg);
		return;
	}
	ssize_t ci = find_state(l, PPK_CURRENT);
	if (ci >= 0)
		ppk_set_state(s, l, &l->keys[ci], PPK_OLD);
	ppk_set_state(s, l, &l->keys[ri], PPK_CURRENT);
	log_notice("ppk %s: connection %s now uses PPK_ID %s (fingerprint %s)", l->pcfg->name,
	           l->cfg->conn, l->keys[ri].ppk_id, l->keys[ri].fpr);
	l->next_roll = l->cfg->roll_ms ? now + l->cfg->roll_ms : UINT64_MAX;
	initiate_current(s, l, true);
}

static void make_key(struct sink_ppk *s, struct ppk_link *l, uint64_t now, bool roll_waiting)
{
	struct keysvc_batch *b = NULL;
	struct keysvc_err e = { "" };
	struct ppk_key *k;
	int r;

	r = keysvc_get_keys(s->ks, s->sae, l->cfg->sae, 1, l->cfg->size_bits, &b, &e);
	if (r < 0) {
		char msg[300];
		snprintf(msg, sizeof(msg), "cannot make a PPK: %s", e.msg[0] ? e.msg : strerror(-r));
		log_warn("ppk %s: %s", l->pcfg->name, msg);
		ppk_link_error(s, l, "%s", msg);
		l->make_at = now + backoff(&l->make_backoff);
		if (roll_waiting)
			fail_waiting_rolls(s, l, msg);
		return;
	}
	l->make_backoff = 0;
	r = ppk_key_add(s, l, b->keys[0].key_id, b->keys[0].key, b->keys[0].len, PPK_MADE, &k);
	keysvc_batch_free(b);
	if (r < 0) {
		(void)log_error_errno(r, "ppk %s: cannot hold a PPK", l->pcfg->name);
		return;
	}
	k->poll_at = ppk_now_ms() + 10;
	log_info("ppk %s: made PPK_ID %s (fingerprint %s)", l->pcfg->name, k->ppk_id, k->fpr);
	load_key(s, l, k, "loaded");
}

static void initiator_step(struct sink_ppk *s, struct ppk_link *l, uint64_t now, uint64_t *next)
{
	ssize_t mi = find_state(l, PPK_MADE);

	/* a key made and loaded here: has the responder released it (its charon holds it)? */
	if (mi >= 0) {
		struct ppk_key *k = &l->keys[mi];
		if (!k->loaded && load_key(s, l, k, "loaded") < 0)
			return;
		if (now >= k->poll_at) {
			struct keysvc_err e = { "" };
			int r = keysvc_key_released(s->ks, s->sae, l->cfg->sae, k->key_id, &e);
			uint64_t age = now - k->t_made;
			if (r == 1) {
				ppk_set_state(s, l, k, PPK_READY);
				log_info("ppk %s: PPK_ID %s ready: the peer's charon holds it (%llu ms)",
				         l->pcfg->name, k->ppk_id, (unsigned long long)age);
				l->abandon_ms = PPK_ABANDON_MS;
				mi = -1;
			} else if (age > l->abandon_ms || age > s->cfg->key_ttl_s * 1000) {
				/* a lost release, or the peer's daemon is away: try a fresh key, waiting
				 * twice as long each time (the peer may hold this one: it is never used) */
				log_warn("ppk %s: the hubs do not report PPK_ID %s released after %llu s (is the "
				         "peer's dske-clientd running with ppk = strongswan?); making another",
				         l->pcfg->name, k->ppk_id, (unsigned long long)age / 1000);
				l->abandon_ms = l->abandon_ms < s->cfg->key_ttl_s * 500 ? 2 * l->abandon_ms
				                                                          : l->abandon_ms;
				retire(s, l, (size_t)mi, "never released by the peer");
				return;
			} else {
				if (r < 0 && r != -EAGAIN)
					ppk_link_error(s, l, "SHARE_STATUS: %s", e.msg[0] ? e.msg : strerror(-r));
				/* each SHARE_STATUS costs every hub a durable write: 10 ms, doubling to 1 s */
				k->poll_step = k->poll_step ? (k->poll_step < 500 ? 2 * k->poll_step : 1000) : 10;
				if (age > 60000)
					k->poll_step = 10000;     /* the peer is away: spare the PSRD */
				k->poll_at = now + k->poll_step;
			}
		}
		if (mi >= 0)
			want(next, l->keys[mi].poll_at);
	}

	/* roll: at start (no current), on the timer, on request; to the oldest ready PPK */
	ssize_t ci = find_state(l, PPK_CURRENT), ri = find_state(l, PPK_READY);
	pthread_mutex_lock(&s->lock);
	bool requested = l->roll_req > l->roll_done;
	pthread_mutex_unlock(&s->lock);
	bool due = ci < 0 || requested || (l->cfg->roll_ms && now >= l->next_roll);
	if (due && ri >= 0 && l->vc) {
		do_switch(s, l, (size_t)ri, now);
		if (!l->vc)
			return;
		now = ppk_now_ms();
		ci = find_state(l, PPK_CURRENT);
		ri = find_state(l, PPK_READY);
		mi = find_state(l, PPK_MADE);
	}
	if (l->cfg->roll_ms && ci >= 0)
		want(next, l->next_roll);

	/* keep ppk_keep ready (one more before the first roll); one key in flight at a time, so
	 * the responder sees them in order */
	size_t ready = count_state(l, PPK_READY);
	bool need = ready < l->cfg->keep + (ci < 0 ? 1 : 0) || (due && ready == 0);
	if (mi < 0 && need && l->vc) {
		if (hubset_synced_count(s->ks) < s->cfg->k) {
			/* just started, or too few hubs: no round would succeed; the hubs' status says why */
			l->make_at = now + 100;
			want(next, l->make_at);
		} else if (now >= l->make_at) {
			make_key(s, l, now, requested);
			mi = find_state(l, PPK_MADE);
			if (mi >= 0)
				want(next, l->keys[mi].poll_at);
		} else {
			want(next, l->make_at);
		}
	}

	/* keep the IKE SA up; after two failures in a row with the current PPK, the next retry
	 * rolls (the peer may have lost its PPKs: a restart of both its daemon and its charon) */
	if (l->sa_wanted && ci >= 0 && l->vc) {
		if (now < l->sa_retry) {
			want(next, l->sa_retry);
		} else if (l->sa_fails >= 2 && (ri = find_state(l, PPK_READY)) >= 0) {
			log_notice("ppk %s: %u IKE SA attempts with PPK_ID %s failed: rolling to the next PPK",
			           l->pcfg->name, l->sa_fails, l->keys[ci].ppk_id);
			do_switch(s, l, (size_t)ri, now);
		} else {
			initiate_current(s, l, false);
		}
	}

	/* an old PPK whose successor's SA never came up: unloaded after ppk_grace */
	for (size_t i = 0; i < l->nkeys && l->vc;) {
		struct ppk_key *k = &l->keys[i];
		if (k->state == PPK_OLD) {
			if (now >= k->t_state + l->cfg->grace_ms) {
				size_t before = l->nkeys;
				retire(s, l, i, "grace period over");
				if (l->nkeys < before)
					continue;
			} else {
				want(next, k->t_state + l->cfg->grace_ms);
			}
		}
		i++;
	}
}

/* ---------------------------------------------------------------- admin reloads */

static bool ours(const struct ppk_link *l, const char *cred)
{
	size_t n = strlen(cred), ln = strlen(l->cfg->link);
	return n > ln + 1 && !strncmp(cred, PPK_CRED_PREFIX, strlen(PPK_CRED_PREFIX)) &&
	       cred[n - ln - 1] == '@' && !strcasecmp(cred + n - ln, l->cfg->link);
}

static void check(struct sink_ppk *s, struct ppk_link *l, uint64_t now)
{
	static char creds[MAX_CREDS][VICI_SHARED_ID_MAX];
	size_t n = 0;
	int r;

	r = vici_shared_list(l->vc, PPK_CRED_PREFIX, creds, MAX_CREDS, &n);
	if (r < 0) {
		drop_vici(s, l, r, "get-shared");
		return;
	}
	/* ours that charon lost: load again */
	for (size_t i = 0; i < l->nkeys && l->vc; i++) {
		struct ppk_key *k = &l->keys[i];
		bool there = false;
		if (!k->loaded)
			continue;   /* the steps load it */
		for (size_t j = 0; j < n && !there; j++)
			there = !strcmp(creds[j], k->cred);
		if (there)
			continue;
		log_notice("ppk %s: charon lost PPK_ID %s (an admin reload such as swanctl --load-all "
		           "or --load-creds?): loading it again", l->pcfg->name, k->ppk_id);
		if (load_key(s, l, k, "restored") == 0) {
			pthread_mutex_lock(&s->lock);
			l->restores++;
			pthread_mutex_unlock(&s->lock);
		}
	}
	/* ours from before a restart (we have no bytes for them): retire once they are unused */
	ssize_t ci = find_state(l, PPK_CURRENT);
	size_t keepn = (l->cfg->keep ? l->cfg->keep : 1) + 2;
	bool stale_unused = l->initiator ? (ci >= 0 && !l->sa_wanted) : l->next_seq >= keepn;
	for (size_t j = 0; j < n && l->vc && stale_unused; j++) {
		bool known = false;
		if (!ours(l, creds[j]))
			continue;
		for (size_t i = 0; i < l->nkeys && !known; i++)
			known = !strcmp(l->keys[i].cred, creds[j]);
		if (known)
			continue;
		char err[128];
		r = vici_ppk_unload(l->vc, creds[j], err, sizeof(err));
		if (conn_broken(r)) {
			drop_vici(s, l, r, "unload-shared");
			return;
		}
		log_info("ppk %s: unloaded %s (left from an earlier run, no longer used)", l->pcfg->name,
		         creds[j] + strlen(PPK_CRED_PREFIX));
	}
	if (!l->initiator || ci < 0 || !l->vc)
		return;
	/* our connection: there, with the current PPK_ID? */
	char have[PPK_ID_MAX + 64], msg[400];
	const char *cur = l->keys[ci].ppk_id;
	r = vici_conn_ppk_id(l->vc, l->cfg->conn, have, sizeof(have));
	if (r < 0) {
		drop_vici(s, l, r, "list-conns");
		return;
	}
	if (r == 0 || strcasecmp(have, cur)) {
		log_notice("ppk %s: connection %s %s%s%s (an admin reload?): loading it again with PPK_ID %s",
		           l->pcfg->name, l->cfg->conn, r ? "has ppk_id " : "is not loaded",
		           r ? (have[0] ? have : "(none)") : "", r ? " in charon" : "", cur);
		if (load_conn(s, l, cur, msg, sizeof(msg)) < 0) {
			log_warn("ppk %s: %s", l->pcfg->name, msg);
			ppk_link_error(s, l, "%s", msg);
			return;
		}
		pthread_mutex_lock(&s->lock);
		l->restores++;
		pthread_mutex_unlock(&s->lock);
	}
	/* and an IKE SA up */
	struct vici_sa sas[MAX_SAS];
	size_t ns = 0;
	r = vici_list_sas(l->vc, l->cfg->conn, sas, MAX_SAS, &ns);
	if (r < 0) {
		drop_vici(s, l, r, "list-sas");
		return;
	}
	const struct vici_sa *up = newest_up(sas, ns);
	set_sa(s, l, up);
	if (!up && !l->sa_wanted) {
		log_notice("ppk %s: no IKE SA of %s is up: starting one", l->pcfg->name, l->cfg->conn);
		l->sa_wanted = true;
		l->sa_retry = now;
	}
}

void ppk_link_step(struct sink_ppk *s, struct ppk_link *l, uint64_t now, uint64_t *next)
{
	if (!ensure_vici(s, l, now, next))
		return;
	if (now >= l->next_check) {
		check(s, l, now);
		l->next_check = now + l->cfg->check_ms;
		if (!l->vc)
			return;
	}
	want(next, l->next_check);
	if (l->initiator)
		initiator_step(s, l, ppk_now_ms(), next);
	else
		responder_step(s, l, now, next);
}
