/* test_link.c — sealing and opening frames over two pairs of PSRD streams made from the same
 * imported bytes: round trip, tampering, replay, forgery, a sender far ahead. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>

#include "core/link.h"
#include "core/otmac.h"

#define STREAM_BYTES (256u << 10)

static char tmpdir[256];
static struct psrd_stream *a_c2h, *a_h2c, *b_c2h, *b_h2c;   /* a: client1, b: hub1 */
static struct link client, hub;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static struct psrd_stream *stream(const char *side, const char *name, enum psrd_role role,
                                  const uint8_t *bytes)
{
	struct psrd_stream *s = NULL;
	char dir[300];

	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, side);
	assert_int_equal(psrd_stream_open(dir, name, role, true, &s), 0);
	assert_int_equal(psrd_stream_import(s, 1, 0, bytes, STREAM_BYTES / 2), 0);
	assert_int_equal(psrd_stream_import(s, 2, STREAM_BYTES / 2, bytes + STREAM_BYTES / 2,
	                                    STREAM_BYTES / 2), 0);
	return s;
}

static int setup(void **state)
{
	const char *base = getenv("TMPDIR");
	uint8_t *c2h = malloc(STREAM_BYTES), *h2c = malloc(STREAM_BYTES);

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_link.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(tmpdir) || !c2h || !h2c)
		return -1;
	randombytes_buf(c2h, STREAM_BYTES);
	randombytes_buf(h2c, STREAM_BYTES);
	a_c2h = stream("client1", "c2h", PSRD_SENDER, c2h);
	a_h2c = stream("client1", "h2c", PSRD_RECEIVER, h2c);
	b_c2h = stream("hub1", "c2h", PSRD_RECEIVER, c2h);
	b_h2c = stream("hub1", "h2c", PSRD_SENDER, h2c);
	free(c2h);
	free(h2c);
	memset(&client, 0, sizeof(client));
	memset(&hub, 0, sizeof(hub));
	strcpy(client.self, "client1");
	strcpy(client.peer, "hub1");
	client.tx = a_c2h;
	client.rx = a_h2c;
	strcpy(hub.self, "hub1");
	strcpy(hub.peer, "client1");
	hub.tx = b_h2c;
	hub.rx = b_c2h;
	return 0;
}

static int teardown(void **state)
{
	psrd_stream_close(a_c2h);
	psrd_stream_close(a_h2c);
	psrd_stream_close(b_c2h);
	psrd_stream_close(b_h2c);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void seal(struct link *l, uint8_t type, const uint8_t *body, size_t len, uint8_t **frame,
                 size_t *flen)
{
	struct wire_hdr h = { .type = type };

	randombytes_buf(h.txn_id, sizeof(h.txn_id));
	assert_int_equal(link_seal(l, &h, body, len, frame, flen), 0);
}

static int parse(const uint8_t *frame, size_t len, struct wire_hdr *h)
{
	const uint8_t *body;
	return wire_frame_parse(frame, len, WIRE_FRAME_MAX_DEFAULT, h, &body);
}

/* The receiver's state, without the refusal counter. */
static void rx_info(struct psrd_stream *s, struct psrd_info *in)
{
	psrd_stream_info(s, in);
	in->rejected = 0;
}

static bool file_zero(const char *side, const char *name, uint64_t off, size_t len)
{
	char p[400];
	uint8_t b[256];
	snprintf(p, sizeof(p), "%s/%s/%s.data", tmpdir, side, name);
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0 && len <= sizeof(b));
	assert_int_equal(pread(fd, b, len, (off_t)off), (ssize_t)len);
	close(fd);
	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

static void test_round_trip(void **state)
{
	uint8_t pad[64], got[64], body[40], *frame;
	uint64_t pad_off;
	size_t flen;
	struct wire_hdr h;
	struct psrd_info in;

	/* client: a pad and a frame naming it */
	assert_int_equal(link_take_pad(&client, sizeof(pad), &pad_off, pad), 0);
	assert_true(file_zero("client1", "c2h", pad_off, sizeof(pad)));   /* wiped after reading */
	randombytes_buf(body, sizeof(body));
	seal(&client, WIRE_SHARE_PUT, body, sizeof(body), &frame, &flen);
	assert_int_equal(parse(frame, flen, &h), 0);
	assert_string_equal(h.sender, "client1");
	assert_string_equal(h.receiver, "hub1");
	assert_int_equal(h.type, WIRE_SHARE_PUT);
	assert_int_equal(h.mac_off, pad_off + sizeof(pad));
	assert_memory_equal(frame + flen - WIRE_TAG_LEN - sizeof(body), body, sizeof(body));
	assert_true(file_zero("client1", "c2h", h.mac_off, OTMAC_KEY_LEN));

	/* hub: opens it, gets the same pad; MAC key and pad are burned on its side */
	struct link_pad p = { pad_off, sizeof(got), got };
	assert_int_equal(link_open(&hub, frame, flen, &h, &p, 1), 0);
	assert_memory_equal(got, pad, sizeof(pad));
	assert_true(file_zero("hub1", "c2h", pad_off, sizeof(pad) + OTMAC_KEY_LEN));
	rx_info(b_c2h, &in);
	assert_int_equal(in.mark, pad_off + sizeof(pad) + OTMAC_KEY_LEN);
	free(frame);

	/* and back: the hub's reply on the other stream */
	seal(&hub, WIRE_SHARE_PUT_ACK, body, 10, &frame, &flen);
	assert_int_equal(parse(frame, flen, &h), 0);
	assert_int_equal(link_open(&client, frame, flen, &h, NULL, 0), 0);
	/* opened on the wrong link (names swapped): -EPROTO */
	assert_int_equal(link_open(&hub, frame, flen, &h, NULL, 0), -EPROTO);
	free(frame);

	/* an empty body and a zero-length pad are fine */
	seal(&client, WIRE_STREAM_STATUS, NULL, 0, &frame, &flen);
	assert_int_equal(parse(frame, flen, &h), 0);
	struct link_pad z = { 12345, 0, NULL };
	assert_int_equal(link_open(&hub, frame, flen, &h, &z, 1), 0);
	free(frame);
}

/* Every single flipped bit is refused and burns nothing; the genuine frame opens afterwards. */
static void test_bit_flips(void **state)
{
	uint8_t pad[48], got[48], body[24], *frame;
	uint64_t pad_off;
	size_t flen;
	struct wire_hdr h, h0;
	struct psrd_info before, after;
	int parse_refused = 0, open_refused = 0;

	assert_int_equal(link_take_pad(&client, sizeof(pad), &pad_off, pad), 0);
	randombytes_buf(body, sizeof(body));
	seal(&client, WIRE_SHARE_GET, body, sizeof(body), &frame, &flen);
	assert_int_equal(parse(frame, flen, &h0), 0);
	size_t body_at = flen - WIRE_TAG_LEN - sizeof(body);
	rx_info(b_c2h, &before);
	for (size_t bit = 0; bit < flen * 8; bit++) {
		frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (parse(frame, flen, &h) != 0) {
			parse_refused++;
		} else {
			struct link_pad p = { pad_off, sizeof(got), got };
			int r = link_open(&hub, frame, flen, &h, &p, 1);
			assert_true(r < 0);
			if (bit / 8 >= body_at)
				assert_int_equal(r, -EBADMSG);   /* body or tag */
			else
				assert_true(r == -EBADMSG || r == -EPROTO || r == -ERANGE || r == -ESTALE);
			open_refused++;
		}
		frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rx_info(b_c2h, &after);
		assert_memory_equal(&before, &after, sizeof(before));
	}
	assert_true(open_refused > (int)(sizeof(body) + WIRE_TAG_LEN) * 8);
	assert_true(parse_refused > 0);
	psrd_stream_info(b_c2h, &after);
	assert_true(after.rejected >= (uint64_t)(sizeof(body) + WIRE_TAG_LEN) * 8);

	struct link_pad p = { pad_off, sizeof(got), got };
	assert_int_equal(link_open(&hub, frame, flen, &h0, &p, 1), 0);
	assert_memory_equal(got, pad, sizeof(pad));

	/* replayed: -ESTALE, nothing changes, the output is wiped */
	rx_info(b_c2h, &before);
	assert_int_equal(link_open(&hub, frame, flen, &h0, &p, 1), -ESTALE);
	rx_info(b_c2h, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_true(sodium_is_zero(got, sizeof(got)));
	free(frame);
}

/* Pads that overlap the MAC key or each other, or lie beyond the data: refused, nothing burned. */
static void test_bad_ranges(void **state)
{
	uint8_t pad[32], got[64], *frame;
	uint64_t off;
	size_t flen;
	struct wire_hdr h;
	struct psrd_info before, after;

	assert_int_equal(link_take_pad(&client, sizeof(pad), &off, pad), 0);
	seal(&client, WIRE_SHARE_PUT, pad, 8, &frame, &flen);
	assert_int_equal(parse(frame, flen, &h), 0);
	rx_info(b_c2h, &before);
	struct link_pad onkey = { h.mac_off + 8, 16, got };
	assert_int_equal(link_open(&hub, frame, flen, &h, &onkey, 1), -ESTALE);
	struct link_pad twice[2] = { { off, 32, got }, { off + 16, 32, got + 32 } };
	assert_int_equal(link_open(&hub, frame, flen, &h, twice, 2), -ESTALE);
	struct link_pad beyond = { STREAM_BYTES - 10, 11, got };
	assert_int_equal(link_open(&hub, frame, flen, &h, &beyond, 1), -ERANGE);
	struct link_pad noout = { off, 32, NULL };
	assert_int_equal(link_open(&hub, frame, flen, &h, &noout, 1), -EINVAL);
	rx_info(b_c2h, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	struct link_pad ok = { off, 32, got };
	assert_int_equal(link_open(&hub, frame, flen, &h, &ok, 1), 0);
	assert_memory_equal(got, pad, 32);
	free(frame);
}

/* A forged frame far ahead (random tag under unseen PSRD) is refused and burns nothing; a
 * genuine one from a sender that advanced is accepted. */
static void test_far_ahead(void **state)
{
	uint8_t body[32], *frame;
	size_t flen, tag_off;
	struct wire_hdr h = { .type = WIRE_SHARE_LIST };
	struct psrd_info before, after;
	const uint64_t far = 200000;

	strcpy(h.sender, "client1");
	strcpy(h.receiver, "hub1");
	h.version = WIRE_VERSION;
	h.mac_off = far;
	randombytes_buf(body, sizeof(body));
	flen = wire_frame_len(&h, sizeof(body));
	frame = malloc(flen);
	assert_int_equal(wire_frame_encode(&h, body, sizeof(body), frame, flen, &tag_off), 0);
	rx_info(b_c2h, &before);
	for (int i = 0; i < 100; i++) {
		struct wire_hdr ph;
		randombytes_buf(frame + tag_off, WIRE_TAG_LEN);
		assert_int_equal(parse(frame, flen, &ph), 0);
		assert_int_equal(link_open(&hub, frame, flen, &ph, NULL, 0), -EBADMSG);
	}
	rx_info(b_c2h, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	free(frame);

	/* the client restarted far ahead (e.g. from its reservation mark) */
	assert_int_equal(psrd_stream_advance(a_c2h, far), 0);
	seal(&client, WIRE_SHARE_LIST, body, sizeof(body), &frame, &flen);
	assert_int_equal(parse(frame, flen, &h), 0);
	assert_int_equal(h.mac_off, far);
	assert_int_equal(link_open(&hub, frame, flen, &h, NULL, 0), 0);
	rx_info(b_c2h, &after);
	assert_int_equal(after.mark, before.mark);
	assert_int_equal(after.next, far + OTMAC_KEY_LEN);
	assert_int_equal(link_open(&hub, frame, flen, &h, NULL, 0), -ESTALE);
	free(frame);
}

/* Bad input to seal burns nothing; an exhausted stream says -ENOSPC. */
static void test_seal_errors(void **state)
{
	struct wire_hdr h = { .type = 99 };
	struct psrd_info before, after;
	uint8_t *frame = NULL, b = 0, pad[16];
	size_t flen;
	uint64_t off;

	psrd_stream_info(a_c2h, &before);
	assert_int_equal(link_seal(&client, &h, &b, 1, &frame, &flen), -EINVAL);   /* type */
	h.type = WIRE_SHARE_PUT;
	h.flags = 1;
	assert_int_equal(link_seal(&client, &h, &b, 1, &frame, &flen), -EINVAL);   /* flags */
	h.flags = 0;
	uint8_t *big = calloc(1, WIRE_FRAME_MAX_DEFAULT);
	assert_int_equal(link_seal(&client, &h, big, WIRE_FRAME_MAX_DEFAULT, &frame, &flen), -E2BIG);
	free(big);
	struct link bad = client;
	strcpy(bad.peer, "Not A Name");
	assert_int_equal(link_seal(&bad, &h, &b, 1, &frame, &flen), -EINVAL);
	assert_int_equal(link_take_pad(&client, 0, &off, pad), -EINVAL);
	psrd_stream_info(a_c2h, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_null(frame);

	/* use it all up */
	assert_int_equal(psrd_stream_advance(a_c2h, STREAM_BYTES - 40), 0);
	assert_int_equal(link_seal(&client, &h, &b, 1, &frame, &flen), 0);
	free(frame);
	frame = NULL;
	assert_int_equal(link_take_pad(&client, 9, &off, pad), -ENOSPC);
	assert_int_equal(link_seal(&client, &h, &b, 1, &frame, &flen), -ENOSPC);
	assert_null(frame);
	assert_int_equal(link_take_pad(&client, 8, &off, pad), 0);
	assert_int_equal(off, STREAM_BYTES - 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bit_flips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_far_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal_errors, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
