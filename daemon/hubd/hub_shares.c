/* hub_shares.c — see hub_shares.h */
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
#include "hubd/hub_shares.h"

#define J_MAGIC 0x44534b4au            /* "DSKJ" */
#define J_HDR 12
#define J_SUM 16
#define J_PAYLOAD_MAX 4096
#define J_COMPACT_MIN (4u << 20)

enum { J_PUT = 1, J_DELIVER = 2, J_RELEASE = 3, J_EXPIRE = 4 };
enum { ST_PENDING = 0, ST_RELEASED = 1, ST_EXPIRED = 2 };

struct ent {
	struct wire_key_meta meta;      /* meta.expiry: effective expiry */
	uint64_t req_expiry;            /* as the initiator asked */
	uint64_t seq, put_time, end_time;
	uint64_t share_off;             /* journal offset of the share bytes */
	uint64_t new_off;               /* compaction: offset in the new journal */
	uint64_t rec_end;               /* journal offset after the PUT record */
	uint16_t share_len;
	uint32_t deliveries;
	uint8_t state;
	uint8_t share_hash[32];
	struct ent *hnext;
	struct ent *lprev, *lnext;      /* per-responder pending list, seq order */
	struct resp *resp;
};

struct resp {                           /* a responder's pending list */
	char name[DSKE_NAME_MAX + 1];
	struct ent *head, *tail;
	struct resp *next;
};

struct hub_shares {
	pthread_mutex_t lock;
	pthread_cond_t sync_cond;       /* a sync finished */
	pthread_cond_t list_cond;       /* new durable entries or stop */
	char *dir;
	int fd;
	uint64_t end, synced, live_bytes;
	bool syncing, stopping;
	uint64_t max_shares, next_seq;
	struct ent **buckets;
	size_t nbuckets, nents;
	struct resp *resps;
	struct hub_shares_stats st;
};

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

/* ------------------------------------------------------------------ encoding */

struct wbuf {
	uint8_t b[J_PAYLOAD_MAX];
	size_t n;
	bool bad;
};

static void w_bytes(struct wbuf *w, const void *p, size_t len)
{
	if (w->n + len > sizeof(w->b)) {
		w->bad = true;
		return;
	}
	memcpy(w->b + w->n, p, len);
	w->n += len;
}

static void w_u8(struct wbuf *w, uint8_t v) { w_bytes(w, &v, 1); }
static void w_u16(struct wbuf *w, uint16_t v) { uint8_t b[2] = { v >> 8, v & 0xff }; w_bytes(w, b, 2); }
static void w_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };
	w_bytes(w, b, 4);
}
static void w_u64(struct wbuf *w, uint64_t v) { w_u32(w, (uint32_t)(v >> 32)); w_u32(w, (uint32_t)v); }
static void w_name(struct wbuf *w, const char *s)
{
	size_t l = strlen(s);
	w_u8(w, (uint8_t)l);
	w_bytes(w, s, l);
}

struct rbuf {
	const uint8_t *b;
	size_t n, pos;
	bool bad;
};

static const uint8_t *r_bytes(struct rbuf *r, size_t len)
{
	const uint8_t *p;

	if (r->bad || r->pos + len > r->n) {
		r->bad = true;
		return NULL;
	}
	p = r->b + r->pos;
	r->pos += len;
	return p;
}
static uint8_t r_u8(struct rbuf *r) { const uint8_t *p = r_bytes(r, 1); return p ? p[0] : 0; }
static uint16_t r_u16(struct rbuf *r) { const uint8_t *p = r_bytes(r, 2); return p ? (uint16_t)(p[0] << 8 | p[1]) : 0; }
static uint64_t r_u64(struct rbuf *r)
{
	const uint8_t *p = r_bytes(r, 8);
	uint64_t v = 0;

	for (int i = 0; p && i < 8; i++)
		v = v << 8 | p[i];
	return v;
}
static void r_name(struct rbuf *r, char out[DSKE_NAME_MAX + 1])
{
	uint8_t l = r_u8(r);
	const uint8_t *p;

	out[0] = '\0';
	if (l > DSKE_NAME_MAX) {
		r->bad = true;
		return;
	}
	p = r_bytes(r, l);
	if (p) {
		memcpy(out, p, l);
		out[l] = '\0';
	}
}

static void put_hdr(uint8_t h[J_HDR], uint8_t type, uint32_t plen)
{
	uint32_t m = J_MAGIC;

	h[0] = m >> 24; h[1] = m >> 16 & 0xff; h[2] = m >> 8 & 0xff; h[3] = m & 0xff;
	h[4] = type; h[5] = h[6] = h[7] = 0;
	h[8] = plen >> 24; h[9] = plen >> 16 & 0xff; h[10] = plen >> 8 & 0xff; h[11] = plen & 0xff;
}

/* checksum over header and the payload's first covered bytes */
static void rec_sum(uint8_t out[J_SUM], const uint8_t *hdr, const uint8_t *payload, size_t covered)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, J_SUM);
	crypto_generichash_update(&st, hdr, J_HDR);
	crypto_generichash_update(&st, payload, covered);
	crypto_generichash_final(&st, out, J_SUM);
}

/* Append one record (under lock): header, payload[plen] whose last tail_len bytes are tail
 * (not covered by the checksum), checksum. *ret_tail_off: journal offset of the tail. */
static int j_append(struct hub_shares *s, uint8_t type, const struct wbuf *w, const uint8_t *tail,
                    size_t tail_len, uint64_t *ret_tail_off)
{
	uint8_t hdr[J_HDR], sum[J_SUM];
	struct iovec iov[4];
	size_t total = J_HDR + w->n + tail_len + J_SUM;
	ssize_t n;

	if (w->bad)
		return -EINVAL;
	put_hdr(hdr, type, (uint32_t)(w->n + tail_len));
	rec_sum(sum, hdr, w->b, w->n);
	iov[0] = (struct iovec){ hdr, J_HDR };
	iov[1] = (struct iovec){ (void *)w->b, w->n };
	iov[2] = (struct iovec){ (void *)tail, tail_len };
	iov[3] = (struct iovec){ sum, J_SUM };
	n = pwritev(s->fd, iov, 4, (off_t)s->end);
	if (n != (ssize_t)total) {
		int e = n < 0 ? errno : ENOSPC;
		if (ftruncate(s->fd, (off_t)s->end) < 0) {
			/* the torn record is cut off at the next open */
		}
		return -e;
	}
	if (ret_tail_off)
		*ret_tail_off = s->end + J_HDR + w->n;
	s->end += total;
	s->st.journal_bytes = s->end;
	return 0;
}

static void enc_meta(struct wbuf *w, const struct ent *e)
{
	const struct wire_key_meta *m = &e->meta;

	w_u64(w, e->seq);
	w_u64(w, e->put_time);
	w_u64(w, m->expiry);
	w_u64(w, e->req_expiry);
	w_bytes(w, m->key_id, DSKE_KEY_ID_LEN);
	w_name(w, m->init_kme);
	w_name(w, m->init_sae);
	w_name(w, m->resp_kme);
	w_name(w, m->resp_sae);
	w_u8(w, m->n);
	w_u8(w, m->k);
	w_u8(w, m->x);
	w_u8(w, m->codec);
	w_u16(w, m->key_len);
	w_u16(w, e->share_len);
	w_bytes(w, e->share_hash, 32);
}

static void dec_meta(struct rbuf *r, struct ent *e)
{
	struct wire_key_meta *m = &e->meta;
	const uint8_t *p;

	e->seq = r_u64(r);
	e->put_time = r_u64(r);
	m->expiry = r_u64(r);
	e->req_expiry = r_u64(r);
	p = r_bytes(r, DSKE_KEY_ID_LEN);
	if (p)
		memcpy(m->key_id, p, DSKE_KEY_ID_LEN);
	r_name(r, m->init_kme);
	r_name(r, m->init_sae);
	r_name(r, m->resp_kme);
	r_name(r, m->resp_sae);
	m->n = r_u8(r);
	m->k = r_u8(r);
	m->x = r_u8(r);
	m->codec = r_u8(r);
	m->key_len = r_u16(r);
	e->share_len = r_u16(r);
	p = r_bytes(r, 32);
	if (p)
		memcpy(e->share_hash, p, 32);
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

static struct ent *find(struct hub_shares *s, const uint8_t *id)
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

static int insert(struct hub_shares *s, struct ent *e)
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

static void remove_ent(struct hub_shares *s, struct ent *e)
{
	struct ent **pp = &s->buckets[bucket_of(s, e->meta.key_id)];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	unlist(s, e);
	if (e->state == ST_RELEASED)
		s->st.released--;
	else if (e->state == ST_EXPIRED)
		s->st.expired--;
	s->nents--;
	free(e);
}

static int wipe_at(struct hub_shares *s, uint64_t off, size_t len)
{
	static const uint8_t zeros[1024];

	while (len) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		ssize_t w = pwrite(s->fd, zeros, n, (off_t)off);
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (uint64_t)w;
		len -= (size_t)w;
	}
	return 0;
}

/* pending -> tombstone (under lock) */
static void tombstone(struct hub_shares *s, struct ent *e, uint8_t state, uint64_t now)
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
}

/* ------------------------------------------------------------------ open and replay */

static int replay(struct hub_shares *s, uint64_t now)
{
	uint8_t hdr[J_HDR], sum[J_SUM], *payload = NULL;
	uint64_t off = 0;
	struct stat st;
	int r = 0;

	if (fstat(s->fd, &st) < 0)
		return -errno;
	payload = malloc(J_PAYLOAD_MAX + 512);
	if (!payload)
		return -ENOMEM;
	for (;;) {
		uint32_t magic, plen;
		uint8_t type;
		struct rbuf rb;
		struct ent *e;

		if (off + J_HDR + J_SUM > (uint64_t)st.st_size)
			break;
		if (pread(s->fd, hdr, J_HDR, (off_t)off) != J_HDR)
			break;
		magic = (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
		type = hdr[4];
		plen = (uint32_t)hdr[8] << 24 | hdr[9] << 16 | hdr[10] << 8 | hdr[11];
		if (magic != J_MAGIC || plen > J_PAYLOAD_MAX + 512 ||
		    off + J_HDR + plen + J_SUM > (uint64_t)st.st_size)
			break;
		if (pread(s->fd, payload, plen, (off_t)(off + J_HDR)) != (ssize_t)plen ||
		    pread(s->fd, sum, J_SUM, (off_t)(off + J_HDR + plen)) != J_SUM)
			break;
		rb = (struct rbuf){ payload, plen, 0, false };
		if (type == J_PUT) {
			uint8_t chk[J_SUM];
			e = calloc(1, sizeof(*e));
			if (!e) {
				r = -ENOMEM;
				goto out;
			}
			dec_meta(&rb, e);
			if (rb.bad || rb.pos + e->share_len != plen) {
				free(e);
				break;
			}
			rec_sum(chk, hdr, payload, rb.pos);
			if (sodium_memcmp(chk, sum, J_SUM) != 0) {
				free(e);
				break;
			}
			e->share_off = off + J_HDR + rb.pos;
			e->rec_end = off + J_HDR + plen + J_SUM;
			if (e->seq >= s->next_seq)
				s->next_seq = e->seq + 1;
			if (find(s, e->meta.key_id) || insert(s, e) < 0) {
				free(e);      /* a duplicate PUT cannot be written; ignore it */
				s->st.dropped_at_open++;
			}
		} else if (type == J_DELIVER || type == J_RELEASE || type == J_EXPIRE) {
			uint8_t chk[J_SUM];
			const uint8_t *id = r_bytes(&rb, DSKE_KEY_ID_LEN);
			uint64_t t = r_u64(&rb);
			if (rb.bad || rb.pos != plen)
				break;
			rec_sum(chk, hdr, payload, plen);
			if (sodium_memcmp(chk, sum, J_SUM) != 0)
				break;
			e = find(s, id);
			if (e && e->state == ST_PENDING) {
				if (type == J_DELIVER)
					e->deliveries++;
				else
					tombstone(s, e, type == J_RELEASE ? ST_RELEASED : ST_EXPIRED, t);
			}
		} else {
			break;
		}
		off += J_HDR + plen + J_SUM;
	}
	if (off < (uint64_t)st.st_size) {
		/* torn or corrupt tail: never acknowledged (not durable when we crashed); cut it off */
		if (wipe_at(s, off, (size_t)((uint64_t)st.st_size - off)) < 0 ||
		    ftruncate(s->fd, (off_t)off) < 0) {
			r = -errno;
			goto out;
		}
		s->st.dropped_at_open++;
	}
	s->end = s->synced = off;
	s->st.journal_bytes = off;
	s->st.released_total = s->st.expired_total = 0;   /* "since start" */
	/* check pending shares against their hash; make sure tombstones are wiped; age tombstones */
	for (size_t b = 0; b < s->nbuckets; b++)
		for (struct ent *e = s->buckets[b], *n; e; e = n) {
			uint8_t share[J_PAYLOAD_MAX], h[32];
			n = e->hnext;
			if (pread(s->fd, share, e->share_len, (off_t)e->share_off) != e->share_len) {
				r = -EIO;
				goto out;
			}
			if (e->state == ST_PENDING) {
				crypto_generichash(h, 32, share, e->share_len, NULL, 0);
				if (sodium_memcmp(h, e->share_hash, 32) != 0) {
					s->st.dropped_at_open++;
					wipe_at(s, e->share_off, e->share_len);
					remove_ent(s, e);
				}
			} else {
				if (!sodium_is_zero(share, e->share_len) &&
				    (r = wipe_at(s, e->share_off, e->share_len)) < 0)
					goto out;
				if (e->end_time + HUB_TOMBSTONE_TTL < now)
					remove_ent(s, e);
			}
			sodium_memzero(share, sizeof(share));
		}
	if (fdatasync(s->fd) < 0)
		r = -errno;
out:
	free(payload);
	return r;
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
	r = replay(s, now);
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

static bool meta_same(const struct ent *e, const struct wire_key_meta *m)
{
	const struct wire_key_meta *a = &e->meta;

	return !strcmp(a->init_kme, m->init_kme) && !strcmp(a->init_sae, m->init_sae) &&
	       !strcmp(a->resp_kme, m->resp_kme) && !strcmp(a->resp_sae, m->resp_sae) &&
	       a->n == m->n && a->k == m->k && a->x == m->x && a->codec == m->codec &&
	       a->key_len == m->key_len && e->req_expiry == m->expiry;
}

int hub_shares_put(struct hub_shares *s, const struct wire_key_meta *m, const uint8_t *share,
                   size_t share_len, uint64_t now, uint8_t *ret_status)
{
	struct ent *e, *old;
	struct wbuf *w = NULL;
	uint8_t *cmp = NULL;
	int r = 0;

	if (share_len == 0 || share_len > HUB_SHARE_MAX)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	old = find(s, m->key_id);
	if (old) {
		bool same = meta_same(old, m) && old->share_len == share_len;
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
	e->req_expiry = m->expiry;
	e->seq = s->next_seq;
	e->put_time = now;
	e->share_len = (uint16_t)share_len;
	crypto_generichash(e->share_hash, 32, share, share_len, NULL, 0);
	w->n = 0;
	w->bad = false;
	enc_meta(w, e);
	r = j_append(s, J_PUT, w, share, share_len, &e->share_off);
	if (r < 0) {
		free(e);
		goto out;
	}
	e->rec_end = s->end;
	r = insert(s, e);
	if (r < 0) {
		/* the record is in the journal but not indexed: wipe its share, it was never acked */
		wipe_at(s, e->share_off, share_len);
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

static int append_event(struct hub_shares *s, uint8_t type, const uint8_t *id, uint64_t t)
{
	struct wbuf w = { .n = 0 };

	w_bytes(&w, id, DSKE_KEY_ID_LEN);
	w_u64(&w, t);
	return j_append(s, type, &w, NULL, 0, NULL);
}

size_t hub_shares_len(struct hub_shares *s, const uint8_t key_id[DSKE_KEY_ID_LEN])
{
	struct ent *e;
	size_t len = 0;

	pthread_mutex_lock(&s->lock);
	e = find(s, key_id);
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
	e = find(s, ref->key_id);
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
	r = append_event(s, J_DELIVER, e->meta.key_id, now);
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
	e = find(s, key_id);
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
	r = append_event(s, J_RELEASE, key_id, now);
	if (r < 0)
		goto out;
	r = wipe_at(s, e->share_off, e->share_len);
	tombstone(s, e, ST_RELEASED, now);
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
	e = find(s, key_id);
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

/* Rewrite the journal with the live records only (under lock, nothing unsynced). */
static int compact_locked(struct hub_shares *s)
{
	char path[4200], tmp[4220];
	int nfd = -1, ofd = s->fd, r;
	uint64_t nend = 0;
	uint8_t *share = NULL;
	struct stat st;

	snprintf(path, sizeof(path), "%s/journal", s->dir);
	snprintf(tmp, sizeof(tmp), "%s/journal.new", s->dir);
	share = sodium_malloc(J_PAYLOAD_MAX);
	if (!share)
		return -ENOMEM;
	unlink(tmp);
	nfd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (nfd < 0) {
		r = -errno;
		goto out;
	}
	s->fd = nfd;
	s->end = 0;
	/* pending shares in seq order would be nicest; bucket order is fine: seq is stored */
	for (size_t b = 0; b < s->nbuckets; b++)
		for (struct ent *e = s->buckets[b]; e; e = e->hnext) {
			struct wbuf w = { .n = 0 };
			uint64_t off;
			if (pread(ofd, share, e->share_len, (off_t)e->share_off) != e->share_len) {
				r = -EIO;
				goto fail;
			}
			if (e->state != ST_PENDING)
				sodium_memzero(share, e->share_len);
			enc_meta(&w, e);
			r = j_append(s, J_PUT, &w, share, e->share_len, &off);
			for (uint32_t d = 0; r == 0 && d < e->deliveries; d++)
				r = append_event(s, J_DELIVER, e->meta.key_id, e->put_time);
			if (r == 0 && e->state != ST_PENDING)
				r = append_event(s, e->state == ST_RELEASED ? J_RELEASE : J_EXPIRE,
				                 e->meta.key_id, e->end_time);
			if (r < 0)
				goto fail;
			e->new_off = off;
		}
	/* seq order matters for SHARE_LIST visibility (rec_end <= synced): all are durable below */
	if (fdatasync(nfd) < 0 || rename(tmp, path) < 0) {
		r = -errno;
		goto fail;
	}
	{
		int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	nend = s->end;
	for (size_t b = 0; b < s->nbuckets; b++)
		for (struct ent *e = s->buckets[b]; e; e = e->hnext) {
			e->share_off = e->new_off;
			e->rec_end = 0;
		}
	s->synced = nend;
	s->st.journal_bytes = nend;
	/* the old file held copies of the pending shares: zero it before letting it go */
	if (fstat(ofd, &st) == 0) {
		int tfd = s->fd;
		s->fd = ofd;
		wipe_at(s, 0, (size_t)st.st_size);
		fdatasync(ofd);
		s->fd = tfd;
	}
	close(ofd);
	r = 0;
	goto out;
fail:
	/* back to the old journal (entries still point into it); drop the new file */
	if (s->end)
		wipe_at(s, 0, (size_t)s->end);
	close(nfd);
	unlink(tmp);
	s->fd = ofd;
	{
		struct stat ost;
		fstat(ofd, &ost);
		s->end = s->synced = (uint64_t)ost.st_size;
	}
out:
	sodium_free(share);
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
				r = append_event(s, J_EXPIRE, e->meta.key_id, now);
				if (r < 0)
					goto out;
				r = wipe_at(s, e->share_off, e->share_len);
				if (r < 0)
					goto out;
				tombstone(s, e, ST_EXPIRED, now);
				n++;
			} else if (e->state != ST_PENDING && e->end_time + HUB_TOMBSTONE_TTL < now) {
				remove_ent(s, e);
			}
		}
	r = commit_locked(s);
	if (r == 0 && s->end > J_COMPACT_MIN && s->live_bytes * 4 < s->end && !s->syncing)
		r = compact_locked(s);
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
