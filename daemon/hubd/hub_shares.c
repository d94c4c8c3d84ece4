/* hub_shares.c — see hub_shares.h (index and operations; the journal file is hub_journal.c) */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "hubd/hub_shares_int.h"

uint64_t hub_shares_now(void)
{
	return (uint64_t)time(NULL);
}

uint64_t hub_shares_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ index */

static size_t bucket_of(const struct hub_shares *s, const uint8_t *id)
{
	uint64_t h;

	memcpy(&h, id, 8);   /* key IDs are random UUIDs */
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (size_t)(h & (s->nbuckets - 1));
}

struct ent *shares_find(struct hub_shares *s, const uint8_t *id)
{
	for (struct ent *e = s->buckets[bucket_of(s, id)]; e; e = e->hnext)
		if (memcmp(e->meta.key_id, id, DSKE_KEY_ID_LEN) == 0)
			return e;
	return NULL;
}

static int grow(struct hub_shares *s)
{
	size_t nb = s->nbuckets * 2;
	struct ent **b = calloc(nb, sizeof(*b)), **old = s->buckets;
	size_t ob = s->nbuckets;

	if (!b)
		return -ENOMEM;
	s->buckets = b;
	s->nbuckets = nb;
	for (size_t i = 0; i < ob; i++)
		for (struct ent *e = old[i], *n; e; e = n) {
			size_t k = bucket_of(s, e->meta.key_id);
			n = e->hnext;
			e->hnext = b[k];
			b[k] = e;
		}
	free(old);
	return 0;
}

static struct resp *resp_get(struct hub_shares *s, const char *name, bool create)
{
	struct resp *r;

	for (r = s->resps; r; r = r->next)
		if (strcmp(r->name, name) == 0)
			return r;
	if (!create)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->next = s->resps;
	s->resps = r;
	return r;
}

int shares_insert(struct hub_shares *s, struct ent *e)
{
	size_t k;

	if (s->nents + 1 > s->nbuckets && grow(s) < 0)
		return -ENOMEM;
	if (e->state == ST_PENDING) {
		struct resp *r = resp_get(s, e->meta.resp_kme, true);
		if (!r)
			return -ENOMEM;
		e->resp = r;
		e->lprev = r->tail;
		if (r->tail)
			r->tail->lnext = e;
		else
			r->head = e;
		r->tail = e;
		s->st.stored++;
		s->live_bytes += J_HDR + J_SUM + 200 + e->share_len;
	}
	k = bucket_of(s, e->meta.key_id);
	e->hnext = s->buckets[k];
	s->buckets[k] = e;
	s->nents++;
	return 0;
}

static void unlist(struct hub_shares *s, struct ent *e)
{
	struct resp *r = e->resp;

	if (!r)
		return;
	if (e->lprev)
		e->lprev->lnext = e->lnext;
	else
		r->head = e->lnext;
	if (e->lnext)
		e->lnext->lprev = e->lprev;
	else
		r->tail = e->lprev;
	e->lprev = e->lnext = NULL;
	e->resp = NULL;
	s->st.stored--;
	s->live_bytes -= J_HDR + J_SUM + 200 + e->share_len;
}

static void tomb_unlink(struct hub_shares *s, struct ent *e)
{
	if (e->lprev)
		e->lprev->lnext = e->lnext;
	else if (s->tomb_head == e)
		s->tomb_head = e->lnext;
	if (e->lnext)
		e->lnext->lprev = e->lprev;
	else if (s->tomb_tail == e)
		s->tomb_tail = e->lprev;
	e->lprev = e->lnext = NULL;
}

void shares_remove(struct hub_shares *s, struct ent *e)
{
	struct ent **pp = &s->buckets[bucket_of(s, e->meta.key_id)];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	if (e->state == ST_PENDING)
		unlist(s, e);
	else
		tomb_unlink(s, e);
	if (e->state == ST_RELEASED)
		s->st.released--;
	else if (e->state == ST_EXPIRED)
		s->st.expired--;
	s->nents--;
	free(e);
}

/* pending -> tombstone (under lock) */
void shares_tombstone(struct hub_shares *s, struct ent *e, uint8_t state, uint64_t now)
{
	unlist(s, e);
	e->state = state;
	e->end_time = now;
	if (state == ST_RELEASED) {
		s->st.released++;
		s->st.released_total++;
	} else {
		s->st.expired++;
		s->st.expired_total++;
	}
	e->lprev = s->tomb_tail;
	e->lnext = NULL;
	if (s->tomb_tail)
		s->tomb_tail->lnext = e;
	else
		s->tomb_head = e;
	s->tomb_tail = e;
	/* bounded memory: the oldest tombstones go first */
	while (s->st.released + s->st.expired > s->max_shares && s->tomb_head && s->tomb_head != e)
		shares_remove(s, s->tomb_head);
}

int hub_shares_open(const char *dir, uint64_t max_shares, uint64_t now, struct hub_shares **ret)
{
	struct hub_shares *s = calloc(1, sizeof(*s));
	char path[4200];
	int r;

	if (!s)
		return -ENOMEM;
	s->fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->sync_cond, NULL);
	{
		pthread_condattr_t a;
		pthread_condattr_init(&a);
		pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
		pthread_cond_init(&s->list_cond, &a);
		pthread_condattr_destroy(&a);
	}
	s->max_shares = max_shares;
	s->next_seq = 1;
	s->nbuckets = 1024;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	s->dir = strdup(dir);
	if (!s->buckets || !s->dir) {
		r = -ENOMEM;
		goto out;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/journal", dir);
	s->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->fd < 0) {
		r = -errno;
		goto out;
	}
	if (fchmod(s->fd, 0600) < 0) {
		r = -errno;
		goto out;
	}
	r = journal_replay(s, now);
	if (r < 0)
		goto out;
	s->st.last_seq = s->next_seq - 1;
	*ret = s;
	s = NULL;
out:
	hub_shares_close(s);
	return r;
}

void hub_shares_close(struct hub_shares *s)
{
	if (!s)
		return;
	if (s->buckets)
		for (size_t b = 0; b < s->nbuckets; b++)
			for (struct ent *e = s->buckets[b], *n; e; e = n) {
				n = e->hnext;
				sodium_memzero(e, sizeof(*e));
				free(e);
			}
	while (s->resps) {
		struct resp *n = s->resps->next;
		free(s->resps);
		s->resps = n;
	}
	if (s->fd >= 0)
		close(s->fd);
	free(s->buckets);
	free(s->dir);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->sync_cond);
	pthread_cond_destroy(&s->list_cond);
	free(s);
}

/* ------------------------------------------------------------------ operations */

static bool meta_same(const struct ent *e, const struct wire_key_meta *m, uint64_t req_expiry)
{
	const struct wire_key_meta *a = &e->meta;

	return !strcmp(a->init_kme, m->init_kme) && !strcmp(a->init_sae, m->init_sae) &&
	       !strcmp(a->resp_kme, m->resp_kme) && !strcmp(a->resp_sae, m->resp_sae) &&
	       a->n == m->n && a->k == m->k && a->x == m->x && a->codec == m->codec &&
	       a->key_len == m->key_len && e->req_expiry == req_expiry;
}

int hub_shares_put(struct hub_shares *s, const struct wire_key_meta *m, uint64_t req_expiry,
                   const uint8_t *share, size_t share_len, uint64_t now, uint8_t *ret_status)
{
	struct ent *e, *old;
	struct wbuf *w = NULL;
	uint8_t *cmp = NULL;
	int r = 0;

	if (share_len == 0 || share_len > HUB_SHARE_MAX)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	old = shares_find(s, m->key_id);
	if (old) {
		bool same = meta_same(old, m, req_expiry) && old->share_len == share_len;
		if (same && old->state == ST_PENDING) {
			cmp = malloc(share_len);
			if (!cmp) {
				r = -ENOMEM;
				goto out;
			}
			if (pread(s->fd, cmp, share_len, (off_t)old->share_off) != (ssize_t)share_len) {
				r = -EIO;
				goto out;
			}
			same = sodium_memcmp(cmp, share, share_len) == 0;
		}
		*ret_status = same ? WIRE_ST_ALREADY : WIRE_ST_DUPLICATE;
		goto out;
	}
	if (s->st.stored >= s->max_shares) {
		*ret_status = WIRE_ST_FULL;
		goto out;
	}
	e = calloc(1, sizeof(*e));
	w = malloc(sizeof(*w));
	if (!e || !w) {
		free(e);
		r = -ENOMEM;
		goto out;
	}
	e->meta = *m;
	e->req_expiry = req_expiry;
	e->seq = s->next_seq;
	e->put_time = now;
	e->share_len = (uint16_t)share_len;
	crypto_generichash(e->share_hash, 32, share, share_len, NULL, 0);
	w->n = 0;
	w->bad = false;
	journal_enc_meta(w, e);
	r = journal_append(s, J_PUT, w, share, share_len, &e->share_off);
	if (r < 0) {
		free(e);
		goto out;
	}
	e->rec_end = s->end;
	r = shares_insert(s, e);
	if (r < 0) {
		/* the record is in the journal but not indexed: wipe its share, it was never acked */
		journal_wipe(s, e->share_off, share_len);
		free(e);
		goto out;
	}
	s->next_seq++;
	s->st.last_seq = e->seq;
	*ret_status = WIRE_ST_OK;
out:
	pthread_mutex_unlock(&s->lock);
	if (cmp) {
		sodium_memzero(cmp, share_len);
		free(cmp);
	}
	free(w);
	return r;
}

size_t hub_shares_len(struct hub_shares *s, const uint8_t key_id[DSKE_KEY_ID_LEN])
{
	struct ent *e;
	size_t len = 0;

	pthread_mutex_lock(&s->lock);
	e = shares_find(s, key_id);
	if (e && e->state == ST_PENDING)
		len = e->share_len;
	pthread_mutex_unlock(&s->lock);
	return len;
}

int hub_shares_deliver(struct hub_shares *s, const struct wire_key_ref *ref, const char *client,
                       uint64_t max_deliveries, uint64_t now, struct wire_key_meta *ret_meta,
                       uint8_t *share_out, size_t share_cap, uint8_t *ret_status)
{
	struct ent *e;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	e = shares_find(s, ref->key_id);
	if (!e || e->state != ST_PENDING || e->rec_end > s->synced) {
		*ret_status = WIRE_ST_UNKNOWN;
		goto out;
	}
	if (strcmp(e->meta.resp_kme, client) || strcmp(e->meta.resp_sae, ref->resp_sae) ||
	    strcmp(e->meta.init_sae, ref->init_sae) || e->deliveries > max_deliveries) {
		*ret_status = WIRE_ST_FORBIDDEN;
		goto out;
	}
	if (share_cap < e->share_len) {
		r = -ENOBUFS;
		goto out;
	}
	if (pread(s->fd, share_out, e->share_len, (off_t)e->share_off) != e->share_len) {
		r = -EIO;
		goto out;
	}
	r = journal_event(s, J_DELIVER, e->meta.key_id, now);
	if (r < 0) {
		sodium_memzero(share_out, e->share_len);
		goto out;
	}
	e->deliveries++;
	s->st.delivered_total++;
	*ret_meta = e->meta;
	*ret_status = WIRE_ST_OK;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int hub_shares_release(struct hub_shares *s, const uint8_t key_id[DSKE_KEY_ID_LEN],
                       const char *client, uint64_t now, uint8_t *ret_status)
{
	struct ent *e;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	e = shares_find(s, key_id);
	if (!e || e->state == ST_EXPIRED) {
		*ret_status = WIRE_ST_UNKNOWN;
		goto out;
	}
	if (strcmp(e->meta.resp_kme, client)) {
		*ret_status = WIRE_ST_FORBIDDEN;
		goto out;
	}
	if (e->state == ST_RELEASED) {
		*ret_status = WIRE_ST_OK;
		goto out;
	}
	r = journal_event(s, J_RELEASE, key_id, now);
	if (r < 0)
		goto out;
	r = journal_wipe(s, e->share_off, e->share_len);
	shares_tombstone(s, e, ST_RELEASED, now);
	*ret_status = WIRE_ST_OK;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

uint8_t hub_shares_status(struct hub_shares *s, const uint8_t key_id[DSKE_KEY_ID_LEN],
                          const char *client)
{
	struct ent *e;
	uint8_t st = WIRE_ST_UNKNOWN;

	pthread_mutex_lock(&s->lock);
	e = shares_find(s, key_id);
	if (e && strcmp(e->meta.init_kme, client) == 0)
		st = e->state == ST_PENDING ? WIRE_ST_PENDING :
		     e->state == ST_RELEASED ? WIRE_ST_RELEASED : WIRE_ST_EXPIRED;
	pthread_mutex_unlock(&s->lock);
	return st;
}

static bool has_after(struct hub_shares *s, const char *client, uint64_t cursor)
{
	struct resp *r = resp_get(s, client, false);

	if (!r || !r->tail)
		return false;
	if (cursor >= s->next_seq)
		cursor = 0;     /* a reset store: the client's cursor is from before */
	for (struct ent *e = r->tail; e; e = e->lprev) {
		if (e->seq <= cursor)
			break;
		if (e->rec_end <= s->synced)
			return true;
	}
	return false;
}

void hub_shares_list(struct hub_shares *s, const char *client, uint64_t cursor, uint16_t max,
                     struct wire_list_entry *entries, uint16_t *ret_count, uint64_t *ret_next)
{
	struct resp *r;
	uint16_t n = 0;

	pthread_mutex_lock(&s->lock);
	if (cursor >= s->next_seq)
		cursor = 0;
	*ret_next = cursor;
	r = resp_get(s, client, false);
	for (struct ent *e = r ? r->head : NULL; e && n < max; e = e->lnext) {
		if (e->seq <= cursor)
			continue;
		if (e->rec_end > s->synced)
			break;       /* seq order = journal order: nothing durable after it */
		memcpy(entries[n].key_id, e->meta.key_id, DSKE_KEY_ID_LEN);
		memcpy(entries[n].init_kme, e->meta.init_kme, sizeof(entries[n].init_kme));
		memcpy(entries[n].init_sae, e->meta.init_sae, sizeof(entries[n].init_sae));
		memcpy(entries[n].resp_sae, e->meta.resp_sae, sizeof(entries[n].resp_sae));
		entries[n].expiry = e->meta.expiry;
		*ret_next = e->seq;
		n++;
	}
	*ret_count = n;
	pthread_mutex_unlock(&s->lock);
}

bool hub_shares_wait(struct hub_shares *s, const char *client, uint64_t cursor, uint64_t deadline_ms)
{
	bool found;

	pthread_mutex_lock(&s->lock);
	while (!(found = has_after(s, client, cursor)) && !s->stopping) {
		uint64_t now = hub_shares_mono_ms();
		struct timespec ts;
		if (now >= deadline_ms)
			break;
		ts.tv_sec = (time_t)(deadline_ms / 1000);
		ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000;
		pthread_cond_timedwait(&s->list_cond, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

void hub_shares_stop(struct hub_shares *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->list_cond);
	pthread_mutex_unlock(&s->lock);
}

static int commit_locked(struct hub_shares *s)
{
	uint64_t target = s->end;
	int r = 0;

	while (s->synced < target) {
		uint64_t upto;
		if (s->syncing) {
			pthread_cond_wait(&s->sync_cond, &s->lock);
			continue;
		}
		s->syncing = true;
		upto = s->end;
		pthread_mutex_unlock(&s->lock);
		r = fdatasync(s->fd) < 0 ? -errno : 0;
		pthread_mutex_lock(&s->lock);
		s->syncing = false;
		if (r == 0 && upto > s->synced)
			s->synced = upto;
		pthread_cond_broadcast(&s->sync_cond);
		pthread_cond_broadcast(&s->list_cond);
		if (r < 0)
			break;
	}
	return r;
}

int hub_shares_commit(struct hub_shares *s)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = commit_locked(s);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int hub_shares_sweep(struct hub_shares *s, uint64_t now, uint64_t *ret_expired)
{
	uint64_t n = 0;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t b = 0; b < s->nbuckets; b++)
		for (struct ent *e = s->buckets[b], *nx; e; e = nx) {
			nx = e->hnext;
			if (e->state == ST_PENDING && e->meta.expiry <= now) {
				r = journal_event(s, J_EXPIRE, e->meta.key_id, now);
				if (r < 0)
					goto out;
				r = journal_wipe(s, e->share_off, e->share_len);
				if (r < 0)
					goto out;
				shares_tombstone(s, e, ST_EXPIRED, now);
				n++;
			} else if (e->state != ST_PENDING && e->end_time + HUB_TOMBSTONE_TTL < now) {
				shares_remove(s, e);
			}
		}
	r = commit_locked(s);
	/* mostly dead, and grown to twice its size since the last rewrite (tombstones are kept) */
	if (r == 0 && s->end > J_COMPACT_MIN && s->end > 2 * s->compact_base &&
	    s->live_bytes * 4 < s->end && !s->syncing)
		r = journal_compact(s);
out:
	pthread_mutex_unlock(&s->lock);
	if (ret_expired)
		*ret_expired = n;
	return r;
}

void hub_shares_get_stats(struct hub_shares *s, struct hub_shares_stats *ret)
{
	pthread_mutex_lock(&s->lock);
	*ret = s->st;
	pthread_mutex_unlock(&s->lock);
}

