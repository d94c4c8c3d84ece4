/* psrd_state.c — encode, decode, load and store the two-slot durable state of a PSRD stream. */
#include "core/psrd_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

static const uint8_t slot_magic[8] = { 'D', 'S', 'K', 'E', 'P', 'S', 'R', 'D' };
#define SLOT_VERSION 1u

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

size_t psrd_state_encode(const struct psrd_state *st, uint8_t *buf)
{
	uint8_t *p = buf;

	memcpy(p, slot_magic, 8);
	put32(p + 8, SLOT_VERSION);
	put32(p + 12, st->role);
	put64(p + 16, st->seq);
	put32(p + 24, st->flags);
	put32(p + 28, st->nblocks);
	put32(p + 32, st->nused);
	put32(p + 36, 0);
	put64(p + 40, st->end);
	put64(p + 48, st->reserved);
	put64(p + 56, st->mark);
	put64(p + 64, st->high);
	put64(p + 72, st->peer_end);
	p += PSRD_SLOT_HDR;
	for (uint32_t i = 0; i < st->nblocks; i++, p += 20) {
		put32(p, st->blocks[i].id);
		put64(p + 4, st->blocks[i].start);
		put64(p + 12, st->blocks[i].len);
	}
	for (uint32_t i = 0; i < st->nused; i++, p += 16) {
		put64(p, st->used[i].off);
		put64(p + 8, st->used[i].len);
	}
	crypto_generichash(p, PSRD_SLOT_SUM, buf, (size_t)(p - buf), NULL, 0);
	return (size_t)(p - buf) + PSRD_SLOT_SUM;
}

/* Structural checks on a decoded state; true if consistent. */
static bool state_consistent(const struct psrd_state *st)
{
	uint64_t at = 0;

	if (st->role != PSRD_SENDER && st->role != PSRD_RECEIVER)
		return false;
	if (st->flags & ~PSRD_STATE_PEER_END_SET)
		return false;
	for (uint32_t i = 0; i < st->nblocks; i++) {
		const struct psrd_block *b = &st->blocks[i];
		if (b->id != i + 1 || b->start != at || b->len == 0 || b->len > UINT64_MAX - at)
			return false;
		at += b->len;
	}
	if (at != st->end)
		return false;
	if (st->role == PSRD_SENDER)
		return st->nused == 0 && st->mark == 0 && st->high == 0;
	if (st->reserved != 0 || st->peer_end != 0 || st->flags != 0)
		return false;
	if (st->mark > st->high || st->high > st->end)
		return false;
	at = st->mark;
	for (uint32_t i = 0; i < st->nused; i++) {
		const struct psrd_range *r = &st->used[i];
		/* strictly above the previous end: disjoint, not adjacent (coalesced), not at mark */
		if (r->off <= at || r->len == 0 || r->len > st->end - r->off)
			return false;
		at = r->off + r->len;
	}
	return at <= st->high;
}

int psrd_state_decode(const uint8_t *buf, size_t len, struct psrd_state *ret)
{
	uint8_t sum[PSRD_SLOT_SUM];
	uint32_t nblocks, nused;
	size_t body;
	const uint8_t *p;

	if (len < PSRD_SLOT_HDR + PSRD_SLOT_SUM || memcmp(buf, slot_magic, 8) != 0 ||
	    get32(buf + 8) != SLOT_VERSION || get32(buf + 36) != 0)
		return -EBADMSG;
	nblocks = get32(buf + 28);
	nused = get32(buf + 32);
	if (nblocks > PSRD_MAX_BLOCKS || nused > PSRD_MAX_USED_RANGES)
		return -EBADMSG;
	body = PSRD_SLOT_HDR + (size_t)nblocks * 20 + (size_t)nused * 16;
	if (len < body + PSRD_SLOT_SUM)
		return -EBADMSG;
	crypto_generichash(sum, sizeof(sum), buf, body, NULL, 0);
	if (sodium_memcmp(sum, buf + body, sizeof(sum)) != 0)
		return -EBADMSG;

	/* decode into scratch; ret is written only once the whole slot is known to be consistent */
	struct psrd_state *st = malloc(sizeof(*st));
	int r = -EBADMSG;
	if (!st)
		return -ENOMEM;
	st->role = get32(buf + 12);
	st->seq = get64(buf + 16);
	st->flags = get32(buf + 24);
	st->nblocks = nblocks;
	st->nused = nused;
	st->end = get64(buf + 40);
	st->reserved = get64(buf + 48);
	st->mark = get64(buf + 56);
	st->high = get64(buf + 64);
	st->peer_end = get64(buf + 72);
	p = buf + PSRD_SLOT_HDR;
	for (uint32_t i = 0; i < nblocks; i++, p += 20) {
		st->blocks[i].id = get32(p);
		st->blocks[i].start = get64(p + 4);
		st->blocks[i].len = get64(p + 12);
	}
	for (uint32_t i = 0; i < nused; i++, p += 16) {
		st->used[i].off = get64(p);
		st->used[i].len = get64(p + 8);
	}
	if (!state_consistent(st))
		goto out;
	memcpy(ret, st, sizeof(*st));
	r = 0;
out:
	free(st);
	return r;
}

int psrd_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int psrd_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read what there is of slot i (short at the end of the file is fine). *ret_len = bytes read. */
static int slot_read(int fd, unsigned i, uint8_t *buf, size_t *ret_len)
{
	size_t got = 0;
	uint64_t off = (uint64_t)i * PSRD_SLOT_STRIDE;

	while (got < PSRD_SLOT_MAX) {
		ssize_t n = pread(fd, buf + got, PSRD_SLOT_MAX - got, (off_t)(off + got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*ret_len = got;
	return 0;
}

int psrd_state_load(int fd, struct psrd_state *ret)
{
	struct psrd_state *cand[2] = { NULL, NULL };
	uint8_t *buf = NULL;
	size_t len[2] = { 0, 0 };
	bool ok[2] = { false, false };
	int r;

	buf = malloc(PSRD_SLOT_MAX);
	cand[0] = malloc(sizeof(struct psrd_state));
	cand[1] = malloc(sizeof(struct psrd_state));
	if (!buf || !cand[0] || !cand[1]) {
		r = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < 2; i++) {
		r = slot_read(fd, i, buf, &len[i]);
		if (r < 0)
			goto out;
		r = psrd_state_decode(buf, len[i], cand[i]);
		if (r == -ENOMEM)
			goto out;
		/* a slot must sit where its seq says: a copy of slot 0 in slot 1 is not a slot */
		ok[i] = r == 0 && (cand[i]->seq & 1) == i;
	}
	if (!ok[0] && !ok[1]) {
		r = len[0] == 0 && len[1] == 0 ? -ENODATA : -EBADMSG;
		goto out;
	}
	if (ok[0] && ok[1])
		memcpy(ret, cand[cand[1]->seq > cand[0]->seq ? 1 : 0], sizeof(*ret));
	else
		memcpy(ret, cand[ok[1] ? 1 : 0], sizeof(*ret));
	r = 0;
out:
	free(buf);
	free(cand[0]);
	free(cand[1]);
	return r;
}

int psrd_state_write(int fd, const uint8_t *buf, size_t len, uint64_t seq)
{
	int r = psrd_pwrite_all(fd, buf, len, (seq & 1) * (uint64_t)PSRD_SLOT_STRIDE);

	if (r < 0)
		return r;
	if (fdatasync(fd) < 0)
		return -errno;
	return 0;
}
