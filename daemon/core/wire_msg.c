/* wire_msg.c — DSKE message bodies (wire.h, docs/protocol.md "Message bodies"). Every decoder is
 * strict: exact length, no trailing bytes, counts bounded by WIRE_BATCH_MAX, names validated,
 * key metadata sane. Encoders refuse what the decoders would refuse. Pure, no logging. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/amd.h"
#include "core/wire.h"
#include "core/wire_io.h"

/* smallest encodings, to refuse a count the remaining bytes cannot hold before allocating */
#define WIRE_META_MIN (DSKE_KEY_ID_LEN + 3 * 2 + 4 + 2 + 8)   /* SHARE_PUT meta, 1-byte names */
#define WIRE_STATUS_ENTRY_LEN (DSKE_KEY_ID_LEN + 1)
#define WIRE_LIST_ENTRY_MIN (DSKE_KEY_ID_LEN + 3 * 2 + 8)
#define WIRE_REF_MIN (DSKE_KEY_ID_LEN + 2 * 2)
#define WIRE_DELIVER_ENTRY_MIN (1 + DSKE_KEY_ID_LEN)
#define WIRE_WAIT_MAX_MS 60000
#define WIRE_STREAM_STATUS_LEN (5 * 8 + 2 * 4)

size_t wire_share_len(const struct wire_key_meta *m)
{
	if (m->codec != AMD_CODEC_VERSION)
		return 0;
	return amd_codeword_len(m->key_len);
}

static bool wire_meta_valid(const struct wire_key_meta *m, bool with_init_kme)
{
	if (m->k < 2 || m->k > m->n || m->x < 1 || m->x > m->n)
		return false;
	if (m->codec != AMD_CODEC_VERSION || m->key_len < 1 || m->key_len > AMD_KEY_MAX)
		return false;
	if (with_init_kme && !names_kme_valid(m->init_kme))
		return false;
	return names_sae_valid(m->init_sae) && names_kme_valid(m->resp_kme) &&
	       names_sae_valid(m->resp_sae);
}

static bool wire_status_valid(uint8_t st)
{
	return st <= WIRE_ST_EXPIRED;
}

static void wire_wr_fail(struct wire_wr *w)
{
	if (!w->err)
		w->err = -EINVAL;
}

/* key_id [init_kme] init_sae resp_kme resp_sae n k x codec key_len expiry */
static void wire_wr_meta(struct wire_wr *w, const struct wire_key_meta *m, bool with_init_kme)
{
	if (!wire_meta_valid(m, with_init_kme)) {
		wire_wr_fail(w);
		return;
	}
	wire_wr_bytes(w, m->key_id, DSKE_KEY_ID_LEN);
	if (with_init_kme)
		wire_wr_name(w, m->init_kme, names_kme_valid);
	wire_wr_name(w, m->init_sae, names_sae_valid);
	wire_wr_name(w, m->resp_kme, names_kme_valid);
	wire_wr_name(w, m->resp_sae, names_sae_valid);
	wire_wr_u8(w, m->n);
	wire_wr_u8(w, m->k);
	wire_wr_u8(w, m->x);
	wire_wr_u8(w, m->codec);
	wire_wr_u16(w, m->key_len);
	wire_wr_u64(w, m->expiry);
}

static void wire_rd_meta(struct wire_rd *r, struct wire_key_meta *m, bool with_init_kme)
{
	memset(m, 0, sizeof(*m));
	wire_rd_copy(r, m->key_id, DSKE_KEY_ID_LEN);
	if (with_init_kme)
		wire_rd_name(r, m->init_kme, names_kme_valid);
	wire_rd_name(r, m->init_sae, names_sae_valid);
	wire_rd_name(r, m->resp_kme, names_kme_valid);
	wire_rd_name(r, m->resp_sae, names_sae_valid);
	m->n = wire_rd_u8(r);
	m->k = wire_rd_u8(r);
	m->x = wire_rd_u8(r);
	m->codec = wire_rd_u8(r);
	m->key_len = wire_rd_u16(r);
	m->expiry = wire_rd_u64(r);
	if (!r->bad && !wire_meta_valid(m, with_init_kme))
		r->bad = true;
}

/* count in [min, WIRE_BATCH_MAX] whose entries (at least entry_min bytes each) can fit */
static uint16_t wire_rd_count(struct wire_rd *r, uint16_t min, size_t entry_min)
{
	uint16_t count = wire_rd_u16(r);

	if (count < min || count > WIRE_BATCH_MAX || (size_t)count * entry_min > wire_rd_left(r))
		r->bad = true;
	return r->bad ? 0 : count;
}

static bool wire_count_valid(uint16_t count, uint16_t min, const void *array)
{
	return count >= min && count <= WIRE_BATCH_MAX && (count == 0 || array);
}

/* ---------------------------------------------------------------- SHARE_PUT */

int wire_encode_share_put(const struct wire_share_put *m, uint8_t **ret_body, size_t *ret_len)
{
	struct wire_wr w = { 0 };
	size_t need = 0;

	if (!wire_count_valid(m->count, 1, m->keys))
		return -EINVAL;
	wire_wr_u16(&w, m->count);
	for (size_t i = 0; i < m->count; i++) {
		wire_wr_meta(&w, &m->keys[i], false);
		need += wire_share_len(&m->keys[i]);
	}
	wire_wr_u64(&w, m->otp_off);
	if (need != m->shares_len || !m->shares)
		wire_wr_fail(&w);
	else
		wire_wr_bytes(&w, m->shares, m->shares_len);
	return wire_wr_finish(&w, ret_body, ret_len);
}

int wire_decode_share_put(const uint8_t *body, size_t len, struct wire_share_put *ret)
{
	struct wire_rd r = wire_rd_init(body, len);
	struct wire_share_put m = { 0 };
	int ret_code = -EBADMSG;

	m.count = wire_rd_count(&r, 1, WIRE_META_MIN);
	if (r.bad)
		goto out;
	m.keys = calloc(m.count, sizeof(*m.keys));
	if (!m.keys) {
		ret_code = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < m.count; i++) {
		wire_rd_meta(&r, &m.keys[i], false);
		m.shares_len += wire_share_len(&m.keys[i]);
	}
	m.otp_off = wire_rd_u64(&r);
	m.shares = wire_rd_bytes(&r, m.shares_len);
	if (!wire_rd_done(&r))
		goto out;
	*ret = m;
	m.keys = NULL;
	ret_code = 0;
out:
	free(m.keys);
	return ret_code;
}

void wire_share_put_free(struct wire_share_put *m)
{
	if (!m)
		return;
	free(m->keys);
	m->keys = NULL;
	m->count = 0;
}

/* ---------------------------------------------------------------- status lists */

int wire_encode_status_list(const struct wire_status_list *m, uint8_t **ret_body, size_t *ret_len)
{
	struct wire_wr w = { 0 };

	if (!wire_count_valid(m->count, 1, m->entries))
		return -EINVAL;
	wire_wr_u64(&w, m->req_mac_off);
	wire_wr_u16(&w, m->count);
	for (size_t i = 0; i < m->count; i++) {
		if (!wire_status_valid(m->entries[i].status))
			wire_wr_fail(&w);
		wire_wr_bytes(&w, m->entries[i].key_id, DSKE_KEY_ID_LEN);
		wire_wr_u8(&w, m->entries[i].status);
	}
	return wire_wr_finish(&w, ret_body, ret_len);
}

int wire_decode_status_list(const uint8_t *body, size_t len, struct wire_status_list *ret)
{
	struct wire_rd r = wire_rd_init(body, len);
	struct wire_status_list m = { 0 };
	int ret_code = -EBADMSG;

	m.req_mac_off = wire_rd_u64(&r);
	m.count = wire_rd_count(&r, 1, WIRE_STATUS_ENTRY_LEN);
	if (r.bad)
		goto out;
	m.entries = calloc(m.count, sizeof(*m.entries));
	if (!m.entries) {
		ret_code = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < m.count; i++) {
		wire_rd_copy(&r, m.entries[i].key_id, DSKE_KEY_ID_LEN);
		m.entries[i].status = wire_rd_u8(&r);
		if (!wire_status_valid(m.entries[i].status))
			r.bad = true;
	}
	if (!wire_rd_done(&r))
		goto out;
	*ret = m;
	m.entries = NULL;
	ret_code = 0;
out:
	free(m.entries);
	return ret_code;
}

void wire_status_list_free(struct wire_status_list *m)
{
	if (!m)
		return;
	free(m->entries);
	m->entries = NULL;
	m->count = 0;
}

/* ---------------------------------------------------------------- SHARE_LIST */

int wire_encode_share_list(const struct wire_share_list *m, uint8_t **ret_body, size_t *ret_len)
{
	struct wire_wr w = { 0 };

	if (m->wait_ms > WIRE_WAIT_MAX_MS || m->max < 1 || m->max > WIRE_BATCH_MAX)
		return -EINVAL;
	wire_wr_u64(&w, m->cursor);
	wire_wr_u32(&w, m->wait_ms);
	wire_wr_u16(&w, m->max);
	return wire_wr_finish(&w, ret_body, ret_len);
}

int wire_decode_share_list(const uint8_t *body, size_t len, struct wire_share_list *ret)
{
	struct wire_rd r = wire_rd_init(body, len);
	struct wire_share_list m;

	m.cursor = wire_rd_u64(&r);
	m.wait_ms = wire_rd_u32(&r);
	m.max = wire_rd_u16(&r);
	if (!wire_rd_done(&r) || m.wait_ms > WIRE_WAIT_MAX_MS || m.max < 1 || m.max > WIRE_BATCH_MAX)
		return -EBADMSG;
	*ret = m;
	return 0;
}

/* ---------------------------------------------------------------- SHARE_LIST_REPLY */

int wire_encode_share_list_reply(const struct wire_share_list_reply *m, uint8_t **ret_body,
                                 size_t *ret_len)
{
	struct wire_wr w = { 0 };

	if (!wire_count_valid(m->count, 0, m->entries))
		return -EINVAL;
	wire_wr_u64(&w, m->req_mac_off);
	wire_wr_u64(&w, m->next_cursor);
	wire_wr_u16(&w, m->count);
	for (size_t i = 0; i < m->count; i++) {
		const struct wire_list_entry *e = &m->entries[i];

		wire_wr_bytes(&w, e->key_id, DSKE_KEY_ID_LEN);
		wire_wr_name(&w, e->init_kme, names_kme_valid);
		wire_wr_name(&w, e->init_sae, names_sae_valid);
		wire_wr_name(&w, e->resp_sae, names_sae_valid);
		wire_wr_u64(&w, e->expiry);
	}
	return wire_wr_finish(&w, ret_body, ret_len);
}

int wire_decode_share_list_reply(const uint8_t *body, size_t len, struct wire_share_list_reply *ret)
{
	struct wire_rd r = wire_rd_init(body, len);
	struct wire_share_list_reply m = { 0 };
	int ret_code = -EBADMSG;

	m.req_mac_off = wire_rd_u64(&r);
	m.next_cursor = wire_rd_u64(&r);
	m.count = wire_rd_count(&r, 0, WIRE_LIST_ENTRY_MIN);
	if (r.bad)
		goto out;
	if (m.count) {
		m.entries = calloc(m.count, sizeof(*m.entries));
		if (!m.entries) {
			ret_code = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < m.count; i++) {
		struct wire_list_entry *e = &m.entries[i];

		wire_rd_copy(&r, e->key_id, DSKE_KEY_ID_LEN);
		wire_rd_name(&r, e->init_kme, names_kme_valid);
		wire_rd_name(&r, e->init_sae, names_sae_valid);
		wire_rd_name(&r, e->resp_sae, names_sae_valid);
		e->expiry = wire_rd_u64(&r);
	}
	if (!wire_rd_done(&r))
		goto out;
	*ret = m;
	m.entries = NULL;
	ret_code = 0;
out:
	free(m.entries);
	return ret_code;
}

void wire_share_list_reply_free(struct wire_share_list_reply *m)
{
	if (!m)
		return;
	free(m->entries);
	m->entries = NULL;
	m->count = 0;
}

/* ---------------------------------------------------------------- SHARE_GET, SHARE_STATUS */

int wire_encode_share_get(const struct wire_share_get *m, uint8_t **ret_body, size_t *ret_len)
{
	struct wire_wr w = { 0 };

	if (!wire_count_valid(m->count, 1, m->refs))
		return -EINVAL;
	wire_wr_u16(&w, m->count);
	for (size_t i = 0; i < m->count; i++) {
		wire_wr_bytes(&w, m->refs[i].key_id, DSKE_KEY_ID_LEN);
		wire_wr_name(&w, m->refs[i].init_sae, names_sae_valid);
		wire_wr_name(&w, m->refs[i].resp_sae, names_sae_valid);
	}
	return wire_wr_finish(&w, ret_body, ret_len);
}

int wire_decode_share_get(const uint8_t *body, size_t len, struct wire_share_get *ret)
{
	struct wire_rd r = wire_rd_init(body, len);
	struct wire_share_get m = { 0 };
	int ret_code = -EBADMSG;

	m.count = wire_rd_count(&r, 1, WIRE_REF_MIN);
	if (r.bad)
		goto out;
	m.refs = calloc(m.count, sizeof(*m.refs));
	if (!m.refs) {
		ret_code = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < m.count; i++) {
		wire_rd_copy(&r, m.refs[i].key_id, DSKE_KEY_ID_LEN);
		wire_rd_name(&r, m.refs[i].init_sae, names_sae_valid);
		wire_rd_name(&r, m.refs[i].resp_sae, names_sae_valid);
	}
	if (!wire_rd_done(&r))
		goto out;
	*ret = m;
	m.refs = NULL;
	ret_code = 0;
out:
	free(m.refs);
	return ret_code;
}

void wire_share_get_free(struct wire_share_get *m)
{
	if (!m)
		return;
	free(m->refs);
	m->refs = NULL;
	m->count = 0;
}

/* ---------------------------------------------------------------- SHARE_DELIVER */

int wire_encode_share_deliver(const struct wire_share_deliver *m, uint8_t **ret_body, size_t *ret_len)
{
	struct wire_wr w = { 0 };
	size_t need = 0;

	if (!wire_count_valid(m->count, 1, m->entries))
		return -EINVAL;
	wire_wr_u64(&w, m->req_mac_off);
	wire_wr_u16(&w, m->count);
	for (size_t i = 0; i < m->count; i++) {
		const struct wire_deliver_entry *e = &m->entries[i];

		if (!wire_status_valid(e->status))
			wire_wr_fail(&w);
		wire_wr_u8(&w, e->status);
		if (e->status == WIRE_ST_OK) {
			wire_wr_meta(&w, &e->meta, true);
			need += wire_share_len(&e->meta);
		} else {
			wire_wr_bytes(&w, e->meta.key_id, DSKE_KEY_ID_LEN);
		}
	}
	wire_wr_u64(&w, m->otp_off);
	if (need != m->shares_len || (need && !m->shares))
		wire_wr_fail(&w);
	else
		wire_wr_bytes(&w, m->shares, m->shares_len);
	return wire_wr_finish(&w, ret_body, ret_len);
}

int wire_decode_share_deliver(const uint8_t *body, size_t len, struct wire_share_deliver *ret)
{
	struct wire_rd r = wire_rd_init(body, len);
	struct wire_share_deliver m = { 0 };
	int ret_code = -EBADMSG;

	m.req_mac_off = wire_rd_u64(&r);
	m.count = wire_rd_count(&r, 1, WIRE_DELIVER_ENTRY_MIN);
	if (r.bad)
		goto out;
	m.entries = calloc(m.count, sizeof(*m.entries));
	if (!m.entries) {
		ret_code = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < m.count; i++) {
		struct wire_deliver_entry *e = &m.entries[i];

		e->status = wire_rd_u8(&r);
		if (!wire_status_valid(e->status))
			r.bad = true;
		if (e->status == WIRE_ST_OK) {
			wire_rd_meta(&r, &e->meta, true);
			m.shares_len += wire_share_len(&e->meta);
		} else {
			wire_rd_copy(&r, e->meta.key_id, DSKE_KEY_ID_LEN);
		}
	}
	m.otp_off = wire_rd_u64(&r);
	m.shares = wire_rd_bytes(&r, m.shares_len);
	if (!wire_rd_done(&r))
		goto out;
	*ret = m;
	m.entries = NULL;
	ret_code = 0;
out:
	free(m.entries);
	return ret_code;
}

void wire_share_deliver_free(struct wire_share_deliver *m)
{
	if (!m)
		return;
	free(m->entries);
	m->entries = NULL;
	m->count = 0;
}

/* ---------------------------------------------------------------- STREAM_STATUS */

int wire_encode_stream_status(const struct wire_stream_status *m, uint8_t **ret_body, size_t *ret_len)
{
	struct wire_wr w = { 0 };

	wire_wr_u64(&w, m->req_mac_off);
	wire_wr_u64(&w, m->own_reserved);
	wire_wr_u64(&w, m->own_end);
	wire_wr_u64(&w, m->peer_accepted);
	wire_wr_u64(&w, m->peer_end);
	wire_wr_u32(&w, m->last_block_own);
	wire_wr_u32(&w, m->last_block_peer);
	return wire_wr_finish(&w, ret_body, ret_len);
}

int wire_decode_stream_status(const uint8_t *body, size_t len, struct wire_stream_status *ret)
{
	struct wire_rd r = wire_rd_init(body, len);
	struct wire_stream_status m;

	m.req_mac_off = wire_rd_u64(&r);
	m.own_reserved = wire_rd_u64(&r);
	m.own_end = wire_rd_u64(&r);
	m.peer_accepted = wire_rd_u64(&r);
	m.peer_end = wire_rd_u64(&r);
	m.last_block_own = wire_rd_u32(&r);
	m.last_block_peer = wire_rd_u32(&r);
	if (!wire_rd_done(&r))
		return -EBADMSG;
	*ret = m;
	return 0;
}

/* ---------------------------------------------------------------- ERROR */

static bool wire_error_code_valid(uint16_t code)
{
	return code >= WIRE_ERR_BAD_REQUEST && code <= WIRE_ERR_TOO_MANY;
}

static bool wire_printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

int wire_encode_error(const struct wire_error *m, uint8_t **ret_body, size_t *ret_len)
{
	struct wire_wr w = { 0 };
	size_t n = strnlen(m->message, sizeof(m->message));

	if (!wire_error_code_valid(m->code) || n > 255 || !wire_printable(m->message, n))
		return -EINVAL;
	wire_wr_u64(&w, m->req_mac_off);
	wire_wr_u16(&w, m->code);
	wire_wr_u8(&w, (uint8_t)n);
	wire_wr_bytes(&w, m->message, n);
	return wire_wr_finish(&w, ret_body, ret_len);
}

int wire_decode_error(const uint8_t *body, size_t len, struct wire_error *ret)
{
	struct wire_rd r = wire_rd_init(body, len);
	struct wire_error m = { 0 };
	uint8_t n;

	m.req_mac_off = wire_rd_u64(&r);
	m.code = wire_rd_u16(&r);
	n = wire_rd_u8(&r);
	wire_rd_copy(&r, m.message, n);
	if (!wire_rd_done(&r) || !wire_error_code_valid(m.code) || !wire_printable(m.message, n))
		return -EBADMSG;
	m.message[n] = '\0';
	*ret = m;
	return 0;
}
