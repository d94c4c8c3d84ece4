/* wire_io.h — internal to wire_frame.c and wire_msg.c: a bounds-checked big-endian reader over
 * a borrowed buffer and a growing writer. A failed read or write sets the sticky error, so a
 * codec reads or writes all its fields and checks once at the end. Not an interface. */
#pragma once
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/names.h"

struct wire_rd {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

static inline struct wire_rd wire_rd_init(const uint8_t *p, size_t len)
{
	return (struct wire_rd){ .p = p, .len = len };
}

static inline size_t wire_rd_left(const struct wire_rd *r)
{
	return r->bad ? 0 : r->len - r->pos;
}

/* n bytes, or NULL (and sticky error) when fewer are left */
static inline const uint8_t *wire_rd_bytes(struct wire_rd *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || r->len - r->pos < n) {
		r->bad = true;
		return NULL;
	}
	p = r->p + r->pos;
	r->pos += n;
	return p;
}

static inline uint64_t wire_rd_uint(struct wire_rd *r, size_t n)
{
	const uint8_t *p = wire_rd_bytes(r, n);
	uint64_t v = 0;

	if (!p)
		return 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static inline uint8_t wire_rd_u8(struct wire_rd *r) { return (uint8_t)wire_rd_uint(r, 1); }
static inline uint16_t wire_rd_u16(struct wire_rd *r) { return (uint16_t)wire_rd_uint(r, 2); }
static inline uint32_t wire_rd_u32(struct wire_rd *r) { return (uint32_t)wire_rd_uint(r, 4); }
static inline uint64_t wire_rd_u64(struct wire_rd *r) { return wire_rd_uint(r, 8); }

static inline void wire_rd_copy(struct wire_rd *r, void *dst, size_t n)
{
	const uint8_t *p = wire_rd_bytes(r, n);

	if (p)
		memcpy(dst, p, n);
}

/* u8 length + bytes, checked with valid() (names_kme_valid / names_sae_valid) */
static inline void wire_rd_name(struct wire_rd *r, char dst[DSKE_NAME_MAX + 1],
                                bool (*valid)(const char *))
{
	uint8_t n = wire_rd_u8(r);
	const uint8_t *p;

	dst[0] = '\0';
	if (n == 0 || n > DSKE_NAME_MAX)
		r->bad = true;
	p = wire_rd_bytes(r, n);
	if (!p)
		return;
	memcpy(dst, p, n);
	dst[n] = '\0';
	if (memchr(p, 0, n) || !valid(dst)) {
		r->bad = true;
		dst[0] = '\0';
	}
}

/* all of the input consumed, no error */
static inline bool wire_rd_done(const struct wire_rd *r)
{
	return !r->bad && r->pos == r->len;
}

struct wire_wr {
	uint8_t *buf;
	size_t len, cap;
	int err;           /* 0, -ENOMEM, -EINVAL */
};

static inline void wire_wr_bytes(struct wire_wr *w, const void *p, size_t n)
{
	if (w->err)
		return;
	if (w->cap - w->len < n) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *nb;

		while (cap - w->len < n) {
			if (cap > SIZE_MAX / 2) {
				w->err = -ENOMEM;
				return;
			}
			cap *= 2;
		}
		nb = realloc(w->buf, cap);
		if (!nb) {
			w->err = -ENOMEM;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	if (n)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static inline void wire_wr_uint(struct wire_wr *w, uint64_t v, size_t n)
{
	uint8_t b[8];

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	wire_wr_bytes(w, b, n);
}

static inline void wire_wr_u8(struct wire_wr *w, uint8_t v) { wire_wr_uint(w, v, 1); }
static inline void wire_wr_u16(struct wire_wr *w, uint16_t v) { wire_wr_uint(w, v, 2); }
static inline void wire_wr_u32(struct wire_wr *w, uint32_t v) { wire_wr_uint(w, v, 4); }
static inline void wire_wr_u64(struct wire_wr *w, uint64_t v) { wire_wr_uint(w, v, 8); }

static inline void wire_wr_name(struct wire_wr *w, const char *name, bool (*valid)(const char *))
{
	size_t n;

	if (!valid(name)) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	n = strlen(name);
	wire_wr_u8(w, (uint8_t)n);
	wire_wr_bytes(w, name, n);
}

/* 0 and the buffer (caller frees), or the first error (buffer freed) */
static inline int wire_wr_finish(struct wire_wr *w, uint8_t **ret_body, size_t *ret_len)
{
	int r = w->err;

	if (r) {
		free(w->buf);
		w->buf = NULL;
		return r;
	}
	*ret_body = w->buf;
	*ret_len = w->len;
	w->buf = NULL;
	return 0;
}
