/* hub_journal.c — the share store's journal file: see hub_shares_int.h */
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

/* ------------------------------------------------------------------ encoding */

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
int journal_append(struct hub_shares *s, uint8_t type, const struct wbuf *w, const uint8_t *tail,
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

void journal_enc_meta(struct wbuf *w, const struct ent *e)
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

int journal_wipe(struct hub_shares *s, uint64_t off, size_t len)
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

/* ------------------------------------------------------------------ replay */

int journal_replay(struct hub_shares *s, uint64_t now)
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
			if (rb.bad || rb.pos + e->share_len != plen || e->share_len == 0 ||
			    e->share_len > HUB_SHARE_MAX) {
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
			if (shares_find(s, e->meta.key_id) || shares_insert(s, e) < 0) {
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
			e = shares_find(s, id);
			if (e && e->state == ST_PENDING) {
				if (type == J_DELIVER)
					e->deliveries++;
				else
					shares_tombstone(s, e, type == J_RELEASE ? ST_RELEASED : ST_EXPIRED, t);
			}
		} else {
			break;
		}
		off += J_HDR + plen + J_SUM;
	}
	if (off < (uint64_t)st.st_size) {
		/* torn or corrupt tail: never acknowledged (not durable when we crashed); cut it off */
		if (journal_wipe(s, off, (size_t)((uint64_t)st.st_size - off)) < 0 ||
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
					journal_wipe(s, e->share_off, e->share_len);
					shares_remove(s, e);
				}
			} else {
				if (!sodium_is_zero(share, e->share_len) &&
				    (r = journal_wipe(s, e->share_off, e->share_len)) < 0)
					goto out;
				if (e->end_time + HUB_TOMBSTONE_TTL < now)
					shares_remove(s, e);
			}
			sodium_memzero(share, sizeof(share));
		}
	if (fdatasync(s->fd) < 0)
		r = -errno;
out:
	free(payload);
	return r;
}

int journal_event(struct hub_shares *s, uint8_t type, const uint8_t *id, uint64_t t)
{
	struct wbuf w = { .n = 0 };

	w_bytes(&w, id, DSKE_KEY_ID_LEN);
	w_u64(&w, t);
	return journal_append(s, type, &w, NULL, 0, NULL);
}

/* Rewrite the journal with the live records only (under lock, nothing unsynced). */
int journal_compact(struct hub_shares *s)
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
			journal_enc_meta(&w, e);
			r = journal_append(s, J_PUT, &w, share, e->share_len, &off);
			for (uint32_t d = 0; r == 0 && d < e->deliveries; d++)
				r = journal_event(s, J_DELIVER, e->meta.key_id, e->put_time);
			if (r == 0 && e->state != ST_PENDING)
				r = journal_event(s, e->state == ST_RELEASED ? J_RELEASE : J_EXPIRE,
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
	s->compact_base = nend;
	s->st.journal_bytes = nend;
	/* the old file held copies of the pending shares: zero it before letting it go */
	if (fstat(ofd, &st) == 0) {
		int tfd = s->fd;
		s->fd = ofd;
		journal_wipe(s, 0, (size_t)st.st_size);
		fdatasync(ofd);
		s->fd = tfd;
	}
	close(ofd);
	r = 0;
	goto out;
fail:
	/* back to the old journal (entries still point into it); drop the new file */
	if (s->end)
		journal_wipe(s, 0, (size_t)s->end);
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
