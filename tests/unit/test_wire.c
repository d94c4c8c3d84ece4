/* test_wire.c — names and the wire codec: golden vectors (tests/vectors/gen_wire.py, written with
 * struct.pack independently of the C code) encoded byte for byte and decoded, round trips of every
 * message type, every truncation and one-byte extension refused, frames above the cap refused from
 * the header alone, bad names, counts, lengths and metadata refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/amd.h"
#include "core/wire.h"

/* ---------------------------------------------------------------- helpers */

static uint8_t *vec_read(const char *name, size_t *ret_len)
{
	const char *dir = getenv("DSKE_VECTORS") ? getenv("DSKE_VECTORS") : "tests/vectors";
	char path[512];
	uint8_t *buf;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/wire/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open vector %s (run from the source tree or set DSKE_VECTORS)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

static void kid(uint8_t out[DSKE_KEY_ID_LEN], uint8_t first)
{
	for (int i = 0; i < DSKE_KEY_ID_LEN; i++)
		out[i] = (uint8_t)(first + i);
}

static void meta_set(struct wire_key_meta *m, uint8_t kid_first, const char *init_kme,
                     const char *init_sae, const char *resp_kme, const char *resp_sae, uint8_t n,
                     uint8_t k, uint8_t x, uint16_t key_len, uint64_t expiry)
{
	memset(m, 0, sizeof(*m));
	kid(m->key_id, kid_first);
	snprintf(m->init_kme, sizeof(m->init_kme), "%s", init_kme);
	snprintf(m->init_sae, sizeof(m->init_sae), "%s", init_sae);
	snprintf(m->resp_kme, sizeof(m->resp_kme), "%s", resp_kme);
	snprintf(m->resp_sae, sizeof(m->resp_sae), "%s", resp_sae);
	m->n = n;
	m->k = k;
	m->x = x;
	m->codec = AMD_CODEC_VERSION;
	m->key_len = key_len;
	m->expiry = expiry;
}

/* ---------------------------------------------------------------- the vectors' messages
 * (the same values as gen_wire.py) */

static uint8_t share_bytes[3 * 97];
static uint8_t deliver_bytes[(32 + 32) + (1024 + 32)];

static void fill_bytes(void)
{
	for (size_t i = 0; i < sizeof(share_bytes); i++)
		share_bytes[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(deliver_bytes); i++)
		deliver_bytes[i] = (uint8_t)(i * 7);
}

static struct wire_key_meta put_keys[2];
static struct wire_share_put msg_put(void)
{
	meta_set(&put_keys[0], 0x00, "", "sae-a", "client2", "sae-b", 5, 3, 1, 32, 1700000000);
	meta_set(&put_keys[1], 0x10, "", "a@b:c+d", "c.2_x-y", "Z", 3, 2, 3, 1, UINT64_MAX);
	return (struct wire_share_put){ .count = 2, .keys = put_keys, .otp_off = 0x0102030405060708ull,
	                                .shares = share_bytes, .shares_len = 64 + 33 };
}

static struct wire_key_status_entry st_entries[3];
static struct wire_status_list msg_status(uint64_t req, uint16_t count, const uint8_t *st)
{
	for (int i = 0; i < count; i++) {
		kid(st_entries[i].key_id, (uint8_t)(0x10 * i));
		st_entries[i].status = st[i];
	}
	return (struct wire_status_list){ .req_mac_off = req, .count = count, .entries = st_entries };
}

static struct wire_share_list msg_list(void)
{
	return (struct wire_share_list){ .cursor = 7, .wait_ms = 25000, .max = 1024 };
}

static struct wire_list_entry list_entries[2];
static struct wire_share_list_reply msg_list_reply(uint16_t count)
{
	memset(list_entries, 0, sizeof(list_entries));
	kid(list_entries[0].key_id, 0x00);
	strcpy(list_entries[0].init_kme, "client1");
	strcpy(list_entries[0].init_sae, "sae-a");
	strcpy(list_entries[0].resp_sae, "sae-b");
	list_entries[0].expiry = 1700000000;
	kid(list_entries[1].key_id, 0x10);
	memset(list_entries[1].init_kme, 'c', 64);
	memset(list_entries[1].init_sae, 'S', 64);
	strcpy(list_entries[1].resp_sae, "x");
	list_entries[1].expiry = 1;
	return (struct wire_share_list_reply){ .req_mac_off = 1ull << 40, .next_cursor = 9,
	                                       .count = count, .entries = count ? list_entries : NULL };
}

static struct wire_key_ref get_refs[2];
static struct wire_share_get msg_get(void)
{
	memset(get_refs, 0, sizeof(get_refs));
	kid(get_refs[0].key_id, 0x00);
	strcpy(get_refs[0].init_sae, "sae-a");
	strcpy(get_refs[0].resp_sae, "sae-b");
	kid(get_refs[1].key_id, 0x10);
	strcpy(get_refs[1].init_sae, "a@b:c+d");
	strcpy(get_refs[1].resp_sae, "Z");
	return (struct wire_share_get){ .count = 2, .refs = get_refs };
}

static struct wire_deliver_entry del_entries[3];
static struct wire_share_deliver msg_deliver(void)
{
	memset(del_entries, 0, sizeof(del_entries));
	meta_set(&del_entries[0].meta, 0x00, "client1", "sae-a", "client2", "sae-b", 5, 3, 2, 32,
	         1700000000);
	del_entries[1].status = WIRE_ST_UNKNOWN;
	kid(del_entries[1].meta.key_id, 0x10);
	meta_set(&del_entries[2].meta, 0x20, "client1", "sae-a", "client2", "sae-b", 255, 255, 255,
	         1024, 42);
	return (struct wire_share_deliver){ .req_mac_off = 0xDEADBEEF, .count = 3,
	                                    .entries = del_entries, .otp_off = 65536,
	                                    .shares = deliver_bytes, .shares_len = sizeof(deliver_bytes) };
}

static struct wire_stream_status msg_stream(bool reply)
{
	if (reply)
		return (struct wire_stream_status){ 12345, 2 << 20, 128 << 20, 8192, 128 << 20, 2, 2 };
	return (struct wire_stream_status){ 0, 1 << 20, 64 << 20, 4096, 64 << 20, 1, 2 };
}

static struct wire_error msg_error(bool empty)
{
	struct wire_error e = { .req_mac_off = 777, .code = WIRE_ERR_PSRD_EXHAUSTED };

	if (empty)
		return (struct wire_error){ .req_mac_off = 0, .code = WIRE_ERR_BAD_REQUEST };
	strcpy(e.message, "PSRD exhausted on c2h");
	return e;
}

/* ---------------------------------------------------------------- encode / decode by vector */

enum vkind { V_PUT, V_STATUS, V_LIST, V_LIST_REPLY, V_GET, V_DELIVER, V_STREAM, V_ERROR };

struct vec {
	const char *file;
	enum vkind kind;
	int variant;
};

static const struct vec vectors[] = {
	{ "share_put.bin", V_PUT, 0 },
	{ "share_put_ack.bin", V_STATUS, 0 },
	{ "share_release.bin", V_STATUS, 1 },
	{ "share_status_reply.bin", V_STATUS, 2 },
	{ "share_list.bin", V_LIST, 0 },
	{ "share_list_reply.bin", V_LIST_REPLY, 2 },
	{ "share_list_reply_empty.bin", V_LIST_REPLY, 0 },
	{ "share_get.bin", V_GET, 0 },
	{ "share_deliver.bin", V_DELIVER, 0 },
	{ "stream_status.bin", V_STREAM, 0 },
	{ "stream_status_reply.bin", V_STREAM, 1 },
	{ "error.bin", V_ERROR, 0 },
	{ "error_empty.bin", V_ERROR, 1 },
};
#define NVEC (sizeof(vectors) / sizeof(vectors[0]))

static int vec_encode(const struct vec *v, uint8_t **out, size_t *len)
{
	static const uint8_t st0[] = { 0, 1, 2 }, st1[] = { 0 }, st2[] = { 7, 8, 9 };
	struct wire_share_put put;
	struct wire_status_list sl;
	struct wire_share_list l;
	struct wire_share_list_reply lr;
	struct wire_share_get g;
	struct wire_share_deliver d;
	struct wire_stream_status s;
	struct wire_error e;

	switch (v->kind) {
	case V_PUT:
		put = msg_put();
		return wire_encode_share_put(&put, out, len);
	case V_STATUS:
		sl = v->variant == 0 ? msg_status(4096, 3, st0) :
		     v->variant == 1 ? msg_status(0, 1, st1) : msg_status(99, 3, st2);
		return wire_encode_status_list(&sl, out, len);
	case V_LIST:
		l = msg_list();
		return wire_encode_share_list(&l, out, len);
	case V_LIST_REPLY:
		lr = msg_list_reply((uint16_t)v->variant);
		return wire_encode_share_list_reply(&lr, out, len);
	case V_GET:
		g = msg_get();
		return wire_encode_share_get(&g, out, len);
	case V_DELIVER:
		d = msg_deliver();
		return wire_encode_share_deliver(&d, out, len);
	case V_STREAM:
		s = msg_stream(v->variant);
		return wire_encode_stream_status(&s, out, len);
	case V_ERROR:
		e = msg_error(v->variant);
		return wire_encode_error(&e, out, len);
	}
	return -EINVAL;
}

/* decode, then re-encode into *out (so a decode is checked against the vector byte for byte) */
static int vec_decode(enum vkind kind, const uint8_t *b, size_t n, uint8_t **out, size_t *outlen)
{
	struct wire_share_put put;
	struct wire_status_list sl;
	struct wire_share_list l;
	struct wire_share_list_reply lr;
	struct wire_share_get g;
	struct wire_share_deliver d;
	struct wire_stream_status s;
	struct wire_error e;
	int r = -EINVAL;

	switch (kind) {
	case V_PUT:
		r = wire_decode_share_put(b, n, &put);
		if (!r && out)
			r = wire_encode_share_put(&put, out, outlen);
		if (r != -EBADMSG)
			wire_share_put_free(&put);
		break;
	case V_STATUS:
		r = wire_decode_status_list(b, n, &sl);
		if (!r && out)
			r = wire_encode_status_list(&sl, out, outlen);
		if (r != -EBADMSG)
			wire_status_list_free(&sl);
		break;
	case V_LIST:
		r = wire_decode_share_list(b, n, &l);
		if (!r && out)
			r = wire_encode_share_list(&l, out, outlen);
		break;
	case V_LIST_REPLY:
		r = wire_decode_share_list_reply(b, n, &lr);
		if (!r && out)
			r = wire_encode_share_list_reply(&lr, out, outlen);
		if (r != -EBADMSG)
			wire_share_list_reply_free(&lr);
		break;
	case V_GET:
		r = wire_decode_share_get(b, n, &g);
		if (!r && out)
			r = wire_encode_share_get(&g, out, outlen);
		if (r != -EBADMSG)
			wire_share_get_free(&g);
		break;
	case V_DELIVER:
		r = wire_decode_share_deliver(b, n, &d);
		if (!r && out)
			r = wire_encode_share_deliver(&d, out, outlen);
		if (r != -EBADMSG)
			wire_share_deliver_free(&d);
		break;
	case V_STREAM:
		r = wire_decode_stream_status(b, n, &s);
		if (!r && out)
			r = wire_encode_stream_status(&s, out, outlen);
		break;
	case V_ERROR:
		r = wire_decode_error(b, n, &e);
		if (!r && out)
			r = wire_encode_error(&e, out, outlen);
		break;
	}
	return r;
}

static void test_vectors_encode(void **state)
{
	for (size_t i = 0; i < NVEC; i++) {
		size_t vlen, len;
		uint8_t *v = vec_read(vectors[i].file, &vlen), *enc = NULL;

		assert_int_equal(vec_encode(&vectors[i], &enc, &len), 0);
		if (len != vlen || memcmp(enc, v, len) != 0)
			fail_msg("%s: encoding differs from the golden vector", vectors[i].file);
		free(enc);
		free(v);
	}
}

static void test_vectors_decode(void **state)
{
	for (size_t i = 0; i < NVEC; i++) {
		size_t vlen, len;
		uint8_t *v = vec_read(vectors[i].file, &vlen), *enc = NULL;

		if (vec_decode(vectors[i].kind, v, vlen, &enc, &len) != 0)
			fail_msg("%s: golden vector does not decode", vectors[i].file);
		assert_int_equal(len, vlen);
		assert_memory_equal(enc, v, len);
		free(enc);
		free(v);
	}
}

static void test_truncation_extension(void **state)
{
	for (size_t i = 0; i < NVEC; i++) {
		size_t vlen;
		uint8_t *v = vec_read(vectors[i].file, &vlen), *ext;

		for (size_t n = 0; n < vlen; n++) {
			uint8_t *t = malloc(n ? n : 1);   /* own allocation: ASan sees any over-read */

			memcpy(t, v, n);
			if (vec_decode(vectors[i].kind, t, n, NULL, NULL) != -EBADMSG)
				fail_msg("%s truncated to %zu bytes was accepted", vectors[i].file, n);
			free(t);
		}
		ext = malloc(vlen + 1);
		memcpy(ext, v, vlen);
		for (int b = 0; b < 256; b++) {
			ext[vlen] = (uint8_t)b;
			if (vec_decode(vectors[i].kind, ext, vlen + 1, NULL, NULL) != -EBADMSG)
				fail_msg("%s extended by 0x%02x was accepted", vectors[i].file, b);
		}
		free(ext);
		free(v);
	}
}

/* ---------------------------------------------------------------- decoded values */

static void test_decode_values(void **state)
{
	struct wire_share_put put;
	struct wire_share_deliver d;
	struct wire_share_list_reply lr;
	struct wire_error e;
	uint8_t *v;
	size_t vlen;

	v = vec_read("share_put.bin", &vlen);
	assert_int_equal(wire_decode_share_put(v, vlen, &put), 0);
	assert_int_equal(put.count, 2);
	assert_string_equal(put.keys[0].init_sae, "sae-a");
	assert_string_equal(put.keys[0].resp_kme, "client2");
	assert_string_equal(put.keys[0].init_kme, "");
	assert_string_equal(put.keys[1].init_sae, "a@b:c+d");
	assert_int_equal(put.keys[0].n, 5);
	assert_int_equal(put.keys[0].k, 3);
	assert_int_equal(put.keys[1].x, 3);
	assert_int_equal(put.keys[1].key_len, 1);
	assert_true(put.keys[1].expiry == UINT64_MAX);
	assert_true(put.otp_off == 0x0102030405060708ull);
	assert_int_equal(put.shares_len, 97);
	assert_ptr_equal(put.shares, v + vlen - 97);
	assert_memory_equal(put.shares, share_bytes, 97);
	assert_int_equal(wire_share_len(&put.keys[0]), 64);
	wire_share_put_free(&put);
	assert_null(put.keys);
	free(v);

	v = vec_read("share_deliver.bin", &vlen);
	assert_int_equal(wire_decode_share_deliver(v, vlen, &d), 0);
	assert_int_equal(d.count, 3);
	assert_int_equal(d.entries[1].status, WIRE_ST_UNKNOWN);
	assert_int_equal(d.entries[1].meta.key_id[0], 0x10);
	assert_string_equal(d.entries[0].meta.init_kme, "client1");
	assert_int_equal(d.entries[2].meta.key_len, 1024);
	assert_int_equal(d.shares_len, 64 + 1056);
	assert_true(d.otp_off == 65536);
	wire_share_deliver_free(&d);
	free(v);

	v = vec_read("share_list_reply.bin", &vlen);
	assert_int_equal(wire_decode_share_list_reply(v, vlen, &lr), 0);
	assert_int_equal(lr.count, 2);
	assert_int_equal(strlen(lr.entries[1].init_kme), 64);
	assert_true(lr.req_mac_off == 1ull << 40);
	wire_share_list_reply_free(&lr);
	free(v);

	v = vec_read("error.bin", &vlen);
	assert_int_equal(wire_decode_error(v, vlen, &e), 0);
	assert_int_equal(e.code, WIRE_ERR_PSRD_EXHAUSTED);
	assert_string_equal(e.message, "PSRD exhausted on c2h");
	free(v);
}

/* round trips with values the vectors do not cover (maxima) */
static void test_round_trip_limits(void **state)
{
	struct wire_share_put put = { 0 }, back;
	struct wire_share_get g = { 0 }, gback;
	struct wire_error e = { .req_mac_off = UINT64_MAX, .code = WIRE_ERR_TOO_MANY }, eback;
	uint8_t *body, *shares;
	size_t len;

	put.count = WIRE_BATCH_MAX;
	put.keys = calloc(WIRE_BATCH_MAX, sizeof(*put.keys));
	for (int i = 0; i < WIRE_BATCH_MAX; i++)
		meta_set(&put.keys[i], (uint8_t)i, "", "s", "h", "r", 255, 2, (uint8_t)(1 + i % 255), 32,
		         (uint64_t)i);
	put.shares_len = (size_t)WIRE_BATCH_MAX * 64;
	shares = calloc(1, put.shares_len);
	put.shares = shares;
	assert_int_equal(wire_encode_share_put(&put, &body, &len), 0);
	assert_int_equal(wire_decode_share_put(body, len, &back), 0);
	assert_int_equal(back.count, WIRE_BATCH_MAX);
	assert_int_equal(back.keys[1000].x, 1 + 1000 % 255);
	assert_true(back.keys[1023].expiry == 1023);
	wire_share_put_free(&back);
	free(body);
	put.count = WIRE_BATCH_MAX + 1;
	assert_int_equal(wire_encode_share_put(&put, &body, &len), -EINVAL);
	free(put.keys);
	free(shares);

	g.count = 1;
	g.refs = calloc(1, sizeof(*g.refs));
	memset(g.refs[0].init_sae, 'A', 64);
	strcpy(g.refs[0].resp_sae, "x:y@z+w");
	assert_int_equal(wire_encode_share_get(&g, &body, &len), 0);
	assert_int_equal(wire_decode_share_get(body, len, &gback), 0);
	assert_memory_equal(gback.refs, g.refs, sizeof(*g.refs));
	wire_share_get_free(&gback);
	free(body);
	free(g.refs);

	memset(e.message, '~', 255);
	assert_int_equal(wire_encode_error(&e, &body, &len), 0);
	assert_int_equal(len, 8 + 2 + 1 + 255);
	assert_int_equal(wire_decode_error(body, len, &eback), 0);
	assert_int_equal(strlen(eback.message), 255);
	free(body);
}

/* ---------------------------------------------------------------- malformed bodies */

/* a one-key SHARE_PUT body from raw fields (no validation), with share bytes of share_len */
static size_t put_raw(uint8_t *out, const char *init_sae, const char *resp_kme, uint8_t n, uint8_t k,
                      uint8_t x, uint8_t codec, uint16_t key_len, size_t share_len)
{
	size_t o = 0;
	const char *names[3] = { init_sae, resp_kme, "r" };

	out[o++] = 0;
	out[o++] = 1;
	memset(out + o, 0x55, DSKE_KEY_ID_LEN);
	o += DSKE_KEY_ID_LEN;
	for (int i = 0; i < 3; i++) {
		size_t l = strlen(names[i]);

		out[o++] = (uint8_t)l;
		memcpy(out + o, names[i], l);
		o += l;
	}
	out[o++] = n;
	out[o++] = k;
	out[o++] = x;
	out[o++] = codec;
	out[o++] = (uint8_t)(key_len >> 8);
	out[o++] = (uint8_t)key_len;
	memset(out + o, 0, 8 + 8);     /* expiry, otp_off */
	o += 16;
	memset(out + o, 0xee, share_len);
	return o + share_len;
}

static int put_try(const char *init_sae, const char *resp_kme, uint8_t n, uint8_t k, uint8_t x,
                   uint8_t codec, uint16_t key_len, size_t share_len)
{
	static uint8_t buf[4096];
	struct wire_share_put m;
	size_t len = put_raw(buf, init_sae, resp_kme, n, k, x, codec, key_len, share_len);
	uint8_t *exact = malloc(len);
	int r;

	memcpy(exact, buf, len);
	r = wire_decode_share_put(exact, len, &m);
	if (!r)
		wire_share_put_free(&m);
	free(exact);
	return r;
}

static void test_bad_metadata(void **state)
{
	/* controls: these are valid */
	assert_int_equal(put_try("s", "h", 5, 3, 1, 1, 32, 64), 0);
	assert_int_equal(put_try("S.a_b@c:d+e-f", "h.1_2-3", 2, 2, 2, 1, 1, 33), 0);
	assert_int_equal(put_try("s", "h", 255, 255, 255, 1, 1024, 1056), 0);
	/* k, n, x */
	assert_int_equal(put_try("s", "h", 5, 1, 1, 1, 32, 64), -EBADMSG);
	assert_int_equal(put_try("s", "h", 5, 0, 1, 1, 32, 64), -EBADMSG);
	assert_int_equal(put_try("s", "h", 2, 3, 1, 1, 32, 64), -EBADMSG);
	assert_int_equal(put_try("s", "h", 5, 3, 0, 1, 32, 64), -EBADMSG);
	assert_int_equal(put_try("s", "h", 5, 3, 6, 1, 32, 64), -EBADMSG);
	assert_int_equal(put_try("s", "h", 0, 0, 0, 1, 32, 64), -EBADMSG);
	/* codec */
	assert_int_equal(put_try("s", "h", 5, 3, 1, 0, 32, 64), -EBADMSG);
	assert_int_equal(put_try("s", "h", 5, 3, 1, 2, 32, 64), -EBADMSG);
	/* key_len 1..1024, share bytes exactly key_len + 32 */
	assert_int_equal(put_try("s", "h", 5, 3, 1, 1, 0, 32), -EBADMSG);
	assert_int_equal(put_try("s", "h", 5, 3, 1, 1, 1025, 1057), -EBADMSG);
	assert_int_equal(put_try("s", "h", 5, 3, 1, 1, 32, 63), -EBADMSG);
	assert_int_equal(put_try("s", "h", 5, 3, 1, 1, 32, 65), -EBADMSG);
	assert_int_equal(put_try("s", "h", 5, 3, 1, 1, 32, 0), -EBADMSG);
	/* names */
	assert_int_equal(put_try("", "h", 5, 3, 1, 1, 32, 64), -EBADMSG);
	assert_int_equal(put_try("s a", "h", 5, 3, 1, 1, 32, 64), -EBADMSG);
	assert_int_equal(put_try("s/a", "h", 5, 3, 1, 1, 32, 64), -EBADMSG);
	assert_int_equal(put_try("s%a", "h", 5, 3, 1, 1, 32, 64), -EBADMSG);
	assert_int_equal(put_try("s", "H", 5, 3, 1, 1, 32, 64), -EBADMSG);
	assert_int_equal(put_try("s", "h@x", 5, 3, 1, 1, 32, 64), -EBADMSG);
	assert_int_equal(put_try("s", "", 5, 3, 1, 1, 32, 64), -EBADMSG);
}

/* copy of a vector with one byte changed: decode must refuse it */
static void expect_mutation_refused(const char *file, enum vkind kind, size_t off, uint8_t val)
{
	size_t vlen;
	uint8_t *v = vec_read(file, &vlen);

	assert_true(off < vlen);
	v[off] = val;
	if (vec_decode(kind, v, vlen, NULL, NULL) != -EBADMSG)
		fail_msg("%s with byte %zu = 0x%02x was accepted", file, off, val);
	free(v);
}

static void test_bad_fields(void **state)
{
	struct wire_share_list l;
	size_t vlen, off;
	uint8_t *v;

	/* counts: SHARE_PUT count at 0..1 */
	expect_mutation_refused("share_put.bin", V_PUT, 1, 0);
	expect_mutation_refused("share_put.bin", V_PUT, 1, 3);
	expect_mutation_refused("share_put.bin", V_PUT, 1, 1);
	expect_mutation_refused("share_put.bin", V_PUT, 0, 0xff);
	/* a name with an embedded NUL, a name length of 0 and of 65: init_sae at 18 */
	expect_mutation_refused("share_put.bin", V_PUT, 19, 0);
	expect_mutation_refused("share_put.bin", V_PUT, 18, 0);
	expect_mutation_refused("share_put.bin", V_PUT, 18, 65);
	/* status list: count at 8..9, status byte of entry 0 at 26 */
	expect_mutation_refused("share_put_ack.bin", V_STATUS, 9, 0);
	expect_mutation_refused("share_put_ack.bin", V_STATUS, 26, 10);
	expect_mutation_refused("share_put_ack.bin", V_STATUS, 26, 0xff);
	/* SHARE_LIST: wait_ms at 8..11 (25000 -> 60001 refused), max at 12..13 */
	v = vec_read("share_list.bin", &vlen);
	v[10] = 0xea;
	v[11] = 0x61;      /* 0x0000ea61 = 60001 */
	assert_int_equal(wire_decode_share_list(v, vlen, &l), -EBADMSG);
	v[11] = 0x60;      /* 60000: allowed */
	assert_int_equal(wire_decode_share_list(v, vlen, &l), 0);
	assert_int_equal(l.wait_ms, 60000);
	v[12] = 0;
	v[13] = 0;         /* max 0 */
	assert_int_equal(wire_decode_share_list(v, vlen, &l), -EBADMSG);
	v[12] = 0x04;
	v[13] = 0x01;      /* max 1025 */
	assert_int_equal(wire_decode_share_list(v, vlen, &l), -EBADMSG);
	free(v);
	/* SHARE_LIST_REPLY: count at 16..17 (2 -> 1026) */
	expect_mutation_refused("share_list_reply.bin", V_LIST_REPLY, 16, 4);
	/* SHARE_GET: count 0 */
	expect_mutation_refused("share_get.bin", V_GET, 1, 0);
	/* SHARE_DELIVER: entry 1's status byte follows entry 0 (status + meta with init_kme) */
	off = 8 + 2 + 1 + 16 + (1 + 7) + (1 + 5) + (1 + 7) + (1 + 5) + 4 + 2 + 8;
	v = vec_read("share_deliver.bin", &vlen);
	assert_int_equal(v[off], WIRE_ST_UNKNOWN);
	free(v);
	expect_mutation_refused("share_deliver.bin", V_DELIVER, off, WIRE_ST_OK);  /* meta missing */
	expect_mutation_refused("share_deliver.bin", V_DELIVER, off, 10);
	expect_mutation_refused("share_deliver.bin", V_DELIVER, off - 13, 6);      /* k 6 > n 5 */
	/* ERROR: code 0, code 6, a control character, a byte above 0x7e, NUL, length 0x80 */
	expect_mutation_refused("error.bin", V_ERROR, 9, 0);
	expect_mutation_refused("error.bin", V_ERROR, 9, 6);
	expect_mutation_refused("error.bin", V_ERROR, 12, '\n');
	expect_mutation_refused("error.bin", V_ERROR, 12, 0x7f);
	expect_mutation_refused("error.bin", V_ERROR, 12, 0);
	expect_mutation_refused("error.bin", V_ERROR, 10, 0x80);
}

static void test_encode_invalid(void **state)
{
	struct wire_share_put put = msg_put();
	struct wire_share_deliver d;
	struct wire_share_list l = msg_list();
	struct wire_share_list_reply lr = msg_list_reply(2);
	struct wire_share_get g = msg_get();
	struct wire_error e = msg_error(false);
	static const uint8_t st[] = { 11 };
	struct wire_status_list sl = msg_status(1, 1, st);
	uint8_t *body = (uint8_t *)"untouched";
	size_t len = 12345;

	put.shares_len--;
	assert_int_equal(wire_encode_share_put(&put, &body, &len), -EINVAL);
	put = msg_put();
	put_keys[1].k = 4;
	assert_int_equal(wire_encode_share_put(&put, &body, &len), -EINVAL);
	put = msg_put();
	put_keys[0].key_len = 1025;
	put.shares_len = 1057 + 33;
	assert_int_equal(wire_encode_share_put(&put, &body, &len), -EINVAL);
	put = msg_put();
	strcpy(put_keys[0].resp_kme, "Upper");
	assert_int_equal(wire_encode_share_put(&put, &body, &len), -EINVAL);
	put = msg_put();
	put.count = 0;
	assert_int_equal(wire_encode_share_put(&put, &body, &len), -EINVAL);
	assert_int_equal(wire_encode_status_list(&sl, &body, &len), -EINVAL);
	l.wait_ms = 60001;
	assert_int_equal(wire_encode_share_list(&l, &body, &len), -EINVAL);
	l = msg_list();
	l.max = 0;
	assert_int_equal(wire_encode_share_list(&l, &body, &len), -EINVAL);
	strcpy(list_entries[1].init_kme, "no space");
	assert_int_equal(wire_encode_share_list_reply(&lr, &body, &len), -EINVAL);
	strcpy(get_refs[0].resp_sae, "");
	assert_int_equal(wire_encode_share_get(&g, &body, &len), -EINVAL);
	d = msg_deliver();
	d.shares_len = 64;    /* entry 2's share missing */
	assert_int_equal(wire_encode_share_deliver(&d, &body, &len), -EINVAL);
	d = msg_deliver();
	del_entries[1].status = 12;
	assert_int_equal(wire_encode_share_deliver(&d, &body, &len), -EINVAL);
	e.message[3] = '\t';
	assert_int_equal(wire_encode_error(&e, &body, &len), -EINVAL);
	e = msg_error(false);
	e.code = 0;
	assert_int_equal(wire_encode_error(&e, &body, &len), -EINVAL);
	/* out-params untouched on failure */
	assert_string_equal((char *)body, "untouched");
	assert_int_equal(len, 12345);
}

/* ---------------------------------------------------------------- frames */

static struct wire_hdr hdr_list(void)
{
	struct wire_hdr h = { .version = WIRE_VERSION, .type = WIRE_SHARE_LIST, .mac_off = 123456 };

	strcpy(h.sender, "client1");
	strcpy(h.receiver, "hub1");
	for (int i = 0; i < WIRE_TXN_LEN; i++)
		h.txn_id[i] = (uint8_t)(0xf0 + i);
	return h;
}

static void test_frame_vectors(void **state)
{
	struct wire_hdr h = hdr_list(), got;
	struct wire_share_list l = msg_list();
	const uint8_t *body;
	uint8_t *v, *b, *out;
	size_t vlen, blen, tag_off, plen;

	v = vec_read("frame_share_list.bin", &vlen);
	assert_int_equal(wire_encode_share_list(&l, &b, &blen), 0);
	assert_int_equal(wire_frame_len(&h, blen), vlen);
	out = malloc(vlen);
	assert_int_equal(wire_frame_encode(&h, b, blen, out, vlen, &tag_off), 0);
	assert_int_equal(tag_off, vlen - WIRE_TAG_LEN);
	assert_memory_equal(out, v, tag_off);
	/* parse the golden frame */
	assert_int_equal(wire_frame_peek_len(v, vlen, WIRE_FRAME_MAX_DEFAULT, &plen), 0);
	assert_int_equal(plen, vlen);
	assert_int_equal(wire_frame_parse(v, vlen, WIRE_FRAME_MAX_DEFAULT, &got, &body), 0);
	assert_int_equal(got.version, 1);
	assert_int_equal(got.type, WIRE_SHARE_LIST);
	assert_int_equal(got.flags, 0);
	assert_int_equal(got.body_len, blen);
	assert_string_equal(got.sender, "client1");
	assert_string_equal(got.receiver, "hub1");
	assert_memory_equal(got.txn_id, h.txn_id, WIRE_TXN_LEN);
	assert_true(got.mac_off == 123456);
	assert_ptr_equal(body, v + tag_off - blen);
	assert_memory_equal(body, b, blen);
	/* every truncation and one-byte extension refused; a frame of exactly max_len is fine */
	for (size_t n = 0; n < vlen; n++) {
		uint8_t *t = malloc(n ? n : 1);

		memcpy(t, v, n);
		assert_int_equal(wire_frame_parse(t, n, WIRE_FRAME_MAX_DEFAULT, &got, &body), -EBADMSG);
		free(t);
	}
	free(out);
	out = malloc(vlen + 1);
	memcpy(out, v, vlen);
	for (int x = 0; x < 256; x++) {
		out[vlen] = (uint8_t)x;
		assert_int_equal(wire_frame_parse(out, vlen + 1, WIRE_FRAME_MAX_DEFAULT, &got, &body),
		                 -EBADMSG);
	}
	assert_int_equal(wire_frame_parse(v, vlen, vlen, &got, &body), 0);
	assert_int_equal(wire_frame_parse(v, vlen, vlen - 1, &got, &body), -E2BIG);
	free(out);
	free(b);
	free(v);

	/* the empty-body frame with one-byte names */
	v = vec_read("frame_empty_body.bin", &vlen);
	assert_int_equal(vlen, WIRE_HDR_MIN + WIRE_TAG_LEN);
	assert_int_equal(wire_frame_parse(v, vlen, WIRE_FRAME_MAX_DEFAULT, &got, &body), 0);
	assert_int_equal(got.type, WIRE_ERROR);
	assert_int_equal(got.body_len, 0);
	assert_true(got.mac_off == UINT64_MAX);
	out = malloc(vlen);
	assert_int_equal(wire_frame_encode(&got, NULL, 0, out, vlen, &tag_off), 0);
	assert_memory_equal(out, v, tag_off);
	free(out);
	free(v);
}

static void test_frame_malformed(void **state)
{
	size_t vlen;
	uint8_t *v = vec_read("frame_share_list.bin", &vlen);
	struct { size_t off; uint8_t val; int err; } cases[] = {
		{ 0, 'X', -EBADMSG },              /* magic */
		{ 3, 'e', -EBADMSG },
		{ 4, 2, -EPROTONOSUPPORT },        /* version */
		{ 4, 0, -EPROTONOSUPPORT },
		{ 5, 0, -EBADMSG },                /* type */
		{ 5, WIRE_TYPE_MAX + 1, -EBADMSG },
		{ 7, 1, -EBADMSG },                /* flags reserved */
		{ 6, 0x80, -EBADMSG },
		{ 11, 13, -EBADMSG },              /* body_len 14 -> 13 */
		{ 11, 15, -EBADMSG },
		{ 12, 0, -EBADMSG },               /* sender length 0 */
		{ 12, 65, -EBADMSG },              /* sender length 65 */
		{ 12, 6, -EBADMSG },               /* sender length 7 -> 6 */
		{ 13, 'C', -EBADMSG },             /* "Client1": KME names are lower case */
		{ 13, 0, -EBADMSG },               /* embedded NUL */
		{ 20, 0, -EBADMSG },               /* receiver length 0 */
		{ 21, '/', -EBADMSG },             /* "/ub1" */
	};
	struct wire_hdr got;
	const uint8_t *body;
	size_t plen;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *t = malloc(vlen);

		memcpy(t, v, vlen);
		t[cases[i].off] = cases[i].val;
		if (wire_frame_parse(t, vlen, WIRE_FRAME_MAX_DEFAULT, &got, &body) != cases[i].err)
			fail_msg("frame byte %zu = 0x%02x: expected %d", cases[i].off, cases[i].val,
			         cases[i].err);
		free(t);
	}
	/* peek sees a bad magic from the first byte, a bad version from the fifth */
	assert_int_equal(wire_frame_peek_len((const uint8_t *)"X", 1, 1 << 20, &plen), -EBADMSG);
	assert_int_equal(wire_frame_peek_len((const uint8_t *)"DSKE\x02", 5, 1 << 20, &plen),
	                 -EPROTONOSUPPORT);
	free(v);
}

static void test_frame_cap(void **state)
{
	/* a header announcing a 1 MiB body: refused from the first 12 bytes alone */
	static const uint8_t big[12] = { 'D', 'S', 'K', 'E', 1, WIRE_SHARE_PUT, 0, 0, 0x00, 0x10, 0x00, 0x00 };
	static const uint8_t huge[12] = { 'D', 'S', 'K', 'E', 1, WIRE_SHARE_PUT, 0, 0, 0xff, 0xff, 0xff, 0xff };
	struct wire_hdr got;
	const uint8_t *body;
	size_t plen = 7;
	uint8_t *v;
	size_t vlen;

	assert_int_equal(wire_frame_peek_len(big, sizeof(big), WIRE_FRAME_MAX_DEFAULT, &plen), -E2BIG);
	assert_int_equal(wire_frame_peek_len(huge, sizeof(huge), WIRE_FRAME_MAX_DEFAULT, &plen), -E2BIG);
	assert_int_equal(wire_frame_parse(big, sizeof(big), WIRE_FRAME_MAX_DEFAULT, &got, &body), -E2BIG);
	assert_int_equal(plen, 7);   /* untouched */
	/* below the cap, 12 bytes are not enough to know the length */
	assert_int_equal(wire_frame_peek_len(big, sizeof(big), 4u << 20, &plen), -EAGAIN);

	/* growing prefixes of a real frame: -EAGAIN until the receiver name length is known */
	v = vec_read("frame_share_list.bin", &vlen);
	for (size_t n = 0; n < vlen; n++) {
		int r = wire_frame_peek_len(v, n, WIRE_FRAME_MAX_DEFAULT, &plen);

		if (n < 4 + 4 + 4 + 1 + 7 + 1) {
			assert_int_equal(r, -EAGAIN);
		} else {
			assert_int_equal(r, 0);
			assert_int_equal(plen, vlen);
		}
	}
	/* the cap below the real length, known once the names are read */
	assert_int_equal(wire_frame_peek_len(v, vlen, vlen - 1, &plen), -E2BIG);
	assert_int_equal(wire_frame_peek_len(v, vlen, vlen, &plen), 0);
	free(v);
}

static void test_frame_encode_invalid(void **state)
{
	struct wire_hdr h = hdr_list();
	uint8_t out[256];
	size_t tag_off = 99;

	assert_int_equal(wire_frame_encode(&h, (const uint8_t *)"x", 1, out, sizeof(out), &tag_off), 0);
	assert_int_equal(tag_off, wire_frame_len(&h, 1) - WIRE_TAG_LEN);
	assert_int_equal(wire_frame_encode(&h, (const uint8_t *)"x", 1, out,
	                                   wire_frame_len(&h, 1) - 1, &tag_off), -EINVAL);
	h.type = 0;
	assert_int_equal(wire_frame_encode(&h, NULL, 0, out, sizeof(out), &tag_off), -EINVAL);
	h = hdr_list();
	h.type = 14;
	assert_int_equal(wire_frame_encode(&h, NULL, 0, out, sizeof(out), &tag_off), -EINVAL);
	h = hdr_list();
	h.flags = 1;
	assert_int_equal(wire_frame_encode(&h, NULL, 0, out, sizeof(out), &tag_off), -EINVAL);
	h = hdr_list();
	strcpy(h.sender, "Client1");
	assert_int_equal(wire_frame_encode(&h, NULL, 0, out, sizeof(out), &tag_off), -EINVAL);
	h = hdr_list();
	h.receiver[0] = '\0';
	assert_int_equal(wire_frame_encode(&h, NULL, 0, out, sizeof(out), &tag_off), -EINVAL);
}

static void test_type_names(void **state)
{
	assert_string_equal(wire_type_name(WIRE_SHARE_PUT), "SHARE_PUT");
	assert_string_equal(wire_type_name(WIRE_SHARE_STATUS_REPLY), "SHARE_STATUS_REPLY");
	assert_string_equal(wire_type_name(WIRE_ERROR), "ERROR");
	assert_string_equal(wire_type_name(0), "UNKNOWN");
	assert_string_equal(wire_type_name(14), "UNKNOWN");
	for (int t = 1; t <= WIRE_TYPE_MAX; t++)
		assert_string_not_equal(wire_type_name((uint8_t)t), "UNKNOWN");
}

/* ---------------------------------------------------------------- names */

static void test_names(void **state)
{
	char long64[65], long65[66], dst[DSKE_NAME_MAX + 1];

	memset(long64, 'a', 64);
	long64[64] = '\0';
	memset(long65, 'a', 65);
	long65[65] = '\0';
	assert_true(names_kme_valid("hub1"));
	assert_true(names_kme_valid("a.b_c-d0"));
	assert_true(names_kme_valid(long64));
	assert_false(names_kme_valid(long65));
	assert_false(names_kme_valid(""));
	assert_false(names_kme_valid(NULL));
	assert_false(names_kme_valid("Hub1"));
	assert_false(names_kme_valid("hub 1"));
	assert_false(names_kme_valid("hub/1"));
	assert_false(names_kme_valid("hub@1"));
	assert_false(names_kme_valid("h\xc3\xa9"));
	assert_true(names_sae_valid("SAE_1@host:x+y-z.w"));
	assert_true(names_sae_valid(long64));
	assert_false(names_sae_valid(long65));
	assert_false(names_sae_valid(""));
	assert_false(names_sae_valid("a b"));
	assert_false(names_sae_valid("a/b"));
	assert_false(names_sae_valid("a%b"));
	assert_false(names_sae_valid("a\nb"));
	assert_int_equal(names_copy(dst, "Sae_1"), 0);
	assert_string_equal(dst, "Sae_1");
	assert_int_equal(names_copy(dst, long64), 0);
	assert_string_equal(dst, long64);
	strcpy(dst, "keep");
	assert_int_equal(names_copy(dst, long65), -EINVAL);
	assert_int_equal(names_copy(dst, "a b"), -EINVAL);
	assert_string_equal(dst, "keep");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_vectors_encode),
		cmocka_unit_test(test_vectors_decode),
		cmocka_unit_test(test_truncation_extension),
		cmocka_unit_test(test_decode_values),
		cmocka_unit_test(test_round_trip_limits),
		cmocka_unit_test(test_bad_metadata),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_encode_invalid),
		cmocka_unit_test(test_frame_vectors),
		cmocka_unit_test(test_frame_malformed),
		cmocka_unit_test(test_frame_cap),
		cmocka_unit_test(test_frame_encode_invalid),
		cmocka_unit_test(test_type_names),
	};

	fill_bytes();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
