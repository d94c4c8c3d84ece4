/* vici_msg.c — see vici_msg.h */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "vici_msg.h"

static bool packet_is_named(uint8_t type)
{
	return type == VICI_CMD_REQUEST || type == VICI_EVENT_REGISTER ||
	       type == VICI_EVENT_UNREGISTER || type == VICI_EVENT;
}

static bool packet_has_msg(uint8_t type)
{
	return type == VICI_CMD_REQUEST || type == VICI_CMD_RESPONSE || type == VICI_EVENT;
}

/* ---------------------------------------------------------------- builder */

static void put(struct vici_builder *b, const void *data, size_t len)
{
	uint8_t *nbuf;
	size_t ncap;

	if (b->err)
		return;
	if (b->len + len > 4 + VICI_SEGMENT_MAX) {
		b->err = -E2BIG;
		return;
	}
	if (b->len + len > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + len)
			ncap *= 2;
		/* never realloc: the old buffer may hold key bytes and must be wiped */
		nbuf = malloc(ncap);
		if (!nbuf) {
			b->err = -ENOMEM;
			return;
		}
		if (b->buf) {
			memcpy(nbuf, b->buf, b->len);
			sodium_memzero(b->buf, b->cap);
			free(b->buf);
		}
		b->buf = nbuf;
		b->cap = ncap;
	}
	memcpy(b->buf + b->len, data, len);
	b->len += len;
}

static void put_u8(struct vici_builder *b, uint8_t v) { put(b, &v, 1); }

static void put_name(struct vici_builder *b, const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 255) {
		if (!b->err)
			b->err = -EINVAL;
		return;
	}
	put_u8(b, (uint8_t)n);
	put(b, name, n);
}

static void put_value(struct vici_builder *b, const void *value, size_t len)
{
	uint8_t be[2] = { (uint8_t)(len >> 8), (uint8_t)len };

	if (len > UINT16_MAX) {
		if (!b->err)
			b->err = -E2BIG;
		return;
	}
	put(b, be, 2);
	put(b, value, len);
}

void vici_builder_init(struct vici_builder *b, enum vici_packet_type type, const char *name)
{
	static const uint8_t zero_len[4];

	memset(b, 0, sizeof(*b));
	put(b, zero_len, sizeof(zero_len));
	put_u8(b, (uint8_t)type);
	if (packet_is_named((uint8_t)type))
		put_name(b, name);
}

static void check_not_in_list(struct vici_builder *b)
{
	if (b->in_list && !b->err)
		b->err = -EINVAL;
}

void vici_builder_section_start(struct vici_builder *b, const char *name)
{
	check_not_in_list(b);
	if (++b->depth > VICI_DEPTH_MAX && !b->err)
		b->err = -EINVAL;
	put_u8(b, VICI_SECTION_START);
	put_name(b, name);
}

void vici_builder_section_end(struct vici_builder *b)
{
	check_not_in_list(b);
	if (b->depth == 0 && !b->err)
		b->err = -EINVAL;
	b->depth--;
	put_u8(b, VICI_SECTION_END);
}

void vici_builder_kv(struct vici_builder *b, const char *name, const void *value, size_t len)
{
	check_not_in_list(b);
	put_u8(b, VICI_KEY_VALUE);
	put_name(b, name);
	put_value(b, value, len);
}

void vici_builder_kv_str(struct vici_builder *b, const char *name, const char *value)
{
	vici_builder_kv(b, name, value, strlen(value));
}

void vici_builder_list_start(struct vici_builder *b, const char *name)
{
	check_not_in_list(b);
	b->in_list = true;
	put_u8(b, VICI_LIST_START);
	put_name(b, name);
}

void vici_builder_list_item(struct vici_builder *b, const void *value, size_t len)
{
	if (!b->in_list && !b->err)
		b->err = -EINVAL;
	put_u8(b, VICI_LIST_ITEM);
	put_value(b, value, len);
}

void vici_builder_list_item_str(struct vici_builder *b, const char *value)
{
	vici_builder_list_item(b, value, strlen(value));
}

void vici_builder_list_end(struct vici_builder *b)
{
	if (!b->in_list && !b->err)
		b->err = -EINVAL;
	b->in_list = false;
	put_u8(b, VICI_LIST_END);
}

int vici_builder_finish(struct vici_builder *b, const uint8_t **ret, size_t *ret_len)
{
	size_t n;

	if (!b->err && (b->depth != 0 || b->in_list))
		b->err = -EINVAL;
	if (b->err)
		return b->err;
	n = b->len - 4;
	b->buf[0] = (uint8_t)(n >> 24);
	b->buf[1] = (uint8_t)(n >> 16);
	b->buf[2] = (uint8_t)(n >> 8);
	b->buf[3] = (uint8_t)n;
	*ret = b->buf;
	*ret_len = b->len;
	return 0;
}

void vici_builder_clear(struct vici_builder *b)
{
	if (b->buf) {
		sodium_memzero(b->buf, b->cap);
		free(b->buf);
	}
	memset(b, 0, sizeof(*b));
}

/* ---------------------------------------------------------------- decoder */

int vici_packet_parse(const uint8_t *buf, size_t len, struct vici_packet *ret)
{
	struct vici_packet p;
	size_t pos = 1;

	if (len < 1 || len > VICI_SEGMENT_MAX || buf[0] > VICI_EVENT)
		return -EBADMSG;
	memset(&p, 0, sizeof(p));
	p.type = buf[0];
	if (packet_is_named(p.type)) {
		if (len < 2 || buf[1] == 0 || len < 2u + buf[1])
			return -EBADMSG;
		memcpy(p.name, buf + 2, buf[1]);
		p.name[buf[1]] = '\0';
		if (strlen(p.name) != buf[1])     /* NUL inside the name */
			return -EBADMSG;
		pos = 2u + buf[1];
	}
	p.msg = buf + pos;
	p.msg_len = len - pos;
	if (!packet_has_msg(p.type) && p.msg_len)
		return -EBADMSG;
	*ret = p;
	return 0;
}

static bool names_equal(const struct vici_elem *e, const char *name)
{
	size_t n = strlen(name);
	return e->name_len == n && memcmp(e->name, name, n) == 0;
}

/* A key must be unique among the direct children of its section. */
static bool key_is_duplicate(const struct vici_msg *m, size_t parent_start, const struct vici_elem *e)
{
	for (size_t i = parent_start; i < m->count; i++) {
		const struct vici_elem *o = &m->elems[i];
		if (o->depth != e->depth || o->type == VICI_SECTION_END || o->type == VICI_LIST_END ||
		    o->type == VICI_LIST_ITEM)
			continue;
		if (o->name_len == e->name_len && memcmp(o->name, e->name, e->name_len) == 0)
			return true;
	}
	return false;
}

int vici_msg_parse(const uint8_t *buf, size_t len, struct vici_msg *ret, size_t *ret_off)
{
	struct vici_msg m = { 0 };
	size_t stack[VICI_DEPTH_MAX + 1], starts[VICI_DEPTH_MAX + 1];
	size_t pos = 0, cap = 0, list_open = SIZE_MAX;
	unsigned depth = 0;
	int r = -EBADMSG;

	starts[0] = 0;
	while (pos < len) {
		struct vici_elem e = { .type = buf[pos], .depth = (uint8_t)depth };
		size_t at = pos++;

		if (m.count >= VICI_ELEMS_MAX)
			goto fail_at_pos;
		if (e.type < VICI_SECTION_START || e.type > VICI_LIST_END)
			goto fail_at;
		if ((list_open != SIZE_MAX) != (e.type == VICI_LIST_ITEM || e.type == VICI_LIST_END))
			goto fail_at;
		if (e.type == VICI_SECTION_START || e.type == VICI_KEY_VALUE || e.type == VICI_LIST_START) {
			if (pos >= len || buf[pos] == 0 || len - pos - 1 < buf[pos])
				goto fail_at;
			e.name_len = buf[pos];
			e.name = (const char *)buf + pos + 1;
			if (memchr(e.name, '\0', e.name_len))
				goto fail_at;
			pos += 1u + e.name_len;
			if (key_is_duplicate(&m, starts[depth], &e))
				goto fail_at;
		}
		if (e.type == VICI_KEY_VALUE || e.type == VICI_LIST_ITEM) {
			if (len - pos < 2)
				goto fail_at;
			e.value_len = (uint16_t)(buf[pos] << 8 | buf[pos + 1]);
			pos += 2;
			if (len - pos < e.value_len)
				goto fail_at;
			e.value = buf + pos;
			pos += e.value_len;
		}
		if (e.type == VICI_SECTION_START && depth >= VICI_DEPTH_MAX)
			goto fail_at;
		if (e.type == VICI_SECTION_END && depth == 0)
			goto fail_at;
		if (m.count == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct vici_elem *n = realloc(m.elems, ncap * sizeof(*n));
			if (!n) {
				r = -ENOMEM;
				goto fail;
			}
			m.elems = n;
			cap = ncap;
		}
		switch (e.type) {
		case VICI_SECTION_START:
			stack[depth++] = m.count;
			starts[depth] = m.count + 1;
			break;
		case VICI_SECTION_END:
			depth--;
			e.depth = (uint8_t)depth;
			m.elems[stack[depth]].end = (uint32_t)m.count;
			break;
		case VICI_LIST_START:
			list_open = m.count;
			break;
		case VICI_LIST_END:
			m.elems[list_open].end = (uint32_t)m.count;
			list_open = SIZE_MAX;
			break;
		default:
			break;
		}
		m.elems[m.count++] = e;
		continue;
fail_at:
		pos = at;
		goto fail_at_pos;
	}
	if (depth != 0 || list_open != SIZE_MAX)
		goto fail_at_pos;
	*ret = m;
	return 0;
fail_at_pos:
	if (ret_off)
		*ret_off = pos;
fail:
	free(m.elems);
	return r;
}

void vici_msg_free(struct vici_msg *m)
{
	if (!m)
		return;
	free(m->elems);
	m->elems = NULL;
	m->count = 0;
}

size_t vici_msg_find(const struct vici_msg *m, size_t parent, enum vici_elem_type type,
                     const char *name)
{
	size_t i = parent == SIZE_MAX ? 0 : parent + 1;
	size_t end = parent == SIZE_MAX ? m->count : m->elems[parent].end;
	uint8_t depth = parent == SIZE_MAX ? 0 : (uint8_t)(m->elems[parent].depth + 1);

	for (; i < end; i++) {
		const struct vici_elem *e = &m->elems[i];
		if (e->depth == depth && e->type == type && names_equal(e, name))
			return i;
	}
	return SIZE_MAX;
}

bool vici_msg_get_str(const struct vici_msg *m, size_t parent, const char *name, char *out, size_t n)
{
	size_t i = vici_msg_find(m, parent, VICI_KEY_VALUE, name);
	size_t len;

	if (i == SIZE_MAX || n == 0)
		return false;
	len = m->elems[i].value_len < n - 1 ? m->elems[i].value_len : n - 1;
	memcpy(out, m->elems[i].value, len);
	out[len] = '\0';
	return true;
}

bool vici_msg_success(const struct vici_msg *m, char *err, size_t n)
{
	char v[8];

	if (vici_msg_get_str(m, SIZE_MAX, "success", v, sizeof(v)) && strcmp(v, "yes") == 0)
		return true;
	if (!vici_msg_get_str(m, SIZE_MAX, "errmsg", err, n) && n)
		err[0] = '\0';
	return false;
}
