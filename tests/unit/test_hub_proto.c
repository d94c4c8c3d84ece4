/* test_hub_proto.c — hub_proto with real PSRD streams in a tmp dir: clients made from the same
 * bundles as the hub's registrations seal requests on their c2h streams and open the answers on
 * their h2c streams, exactly like dske-clientd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "core/bundle.h"
#include "core/link.h"
#include "core/wire.h"
#include "hubd/hub.h"
#include "hubd/hub_proto.h"

#define PSRD_SIZE (64 * 1024)

struct cl {
	char name[DSKE_NAME_MAX + 1];
	struct psrd_stream *c2h, *h2c;
	struct link link;
};

static char base[64];
static struct hub *hub;
static struct cl alice, bob, mallory;

static void make_pair(const char *client, const char *sae, uint8_t index, struct cl *c)
{
	struct bundle b = { 0 };
	struct hub_import_result res;
	uint8_t *data = malloc(2 * PSRD_SIZE), *buf = NULL;
	size_t len = 0;
	char dir[128], err[256];

	randombytes_buf(data, 2 * PSRD_SIZE);
	strcpy(b.hub, "hub1");
	b.hub_index = index;
	strcpy(b.hub_url, "http://127.0.0.1:1");
	strcpy(b.client, client);
	b.sae_count = 1;
	strcpy(b.saes[0], sae);
	b.block_id = 1;
	b.c2h_len = b.h2c_len = PSRD_SIZE;
	strcpy(b.source, "test");
	b.created = 1700000000;
	b.c2h = data;
	b.h2c = data + PSRD_SIZE;
	b.role = BUNDLE_FOR_HUB;
	assert_int_equal(bundle_format(&b, &buf, &len), 0);
	if (hub_registry_import(hub->reg, buf, len, &res, err, sizeof(err)) != 0)
		fail_msg("import: %s", err);
	assert_true(res.new_client);
	free(buf);

	memset(c, 0, sizeof(*c));
	strcpy(c->name, client);
	snprintf(dir, sizeof(dir), "%s/%s", base, client);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(psrd_stream_open(dir, "c2h", PSRD_SENDER, false, &c->c2h), 0);
	assert_int_equal(psrd_stream_open(dir, "h2c", PSRD_RECEIVER, false, &c->h2c), 0);
	assert_int_equal(psrd_stream_import(c->c2h, 1, 0, data, PSRD_SIZE), 0);
	assert_int_equal(psrd_stream_import(c->h2c, 1, 0, data + PSRD_SIZE, PSRD_SIZE), 0);
	strcpy(c->link.self, client);
	strcpy(c->link.peer, "hub1");
	c->link.tx = c->c2h;
	c->link.rx = c->h2c;
	sodium_memzero(data, 2 * PSRD_SIZE);
	free(data);
}

static int setup(void **state)
{
	struct hub_config cfg;
	char err[256];

	strcpy(base, "/tmp/test_hub_proto.XXXXXX");
	assert_non_null(mkdtemp(base));
	hub_config_defaults(&cfg);
	strcpy(cfg.name, "hub1");
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s/hub", base);
	cfg.max_redeliveries = 1;
	if (hub_open(&cfg, &hub, err, sizeof(err)) != 0)
		fail_msg("hub_open: %s", err);
	make_pair("alice", "alice_sae", 2, &alice);
	make_pair("bob", "bob_sae", 2, &bob);
	make_pair("mallory", "mallory_sae", 2, &mallory);
	return 0;
}

static void cl_close(struct cl *c)
{
	psrd_stream_close(c->c2h);
	psrd_stream_close(c->h2c);
}

static int teardown(void **state)
{
	char cmd[128];

	cl_close(&alice);
	cl_close(&bob);
	cl_close(&mallory);
	hub_close(hub);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	return system(cmd);
}

/* ------------------------------------------------------------------ client side */

struct sent {
	uint8_t *frame;
	size_t len;
	uint64_t mac_off;
};

static void seal(struct cl *c, uint8_t type, uint8_t *body, size_t blen, struct sent *s)
{
	struct wire_hdr hdr = { .version = WIRE_VERSION, .type = type };

	randombytes_buf(hdr.txn_id, sizeof(hdr.txn_id));
	assert_int_equal(link_seal(&c->link, &hdr, body, blen, &s->frame, &s->len), 0);
	s->mac_off = hdr.mac_off;
	{
		struct wire_hdr h;
		const uint8_t *b;
		assert_int_equal(wire_frame_parse(s->frame, s->len, 1 << 20, &h, &b), 0);
		s->mac_off = h.mac_off;
	}
	free(body);
}

static void handle(const struct sent *s, struct hub_answer *ans)
{
	memset(ans, 0, sizeof(*ans));
	hub_proto_handle(hub, s->frame, s->len, ans);
}

/* parse an answer and check it is bound to the request; the body is returned, not yet opened */
static const uint8_t *answer_parse(const struct hub_answer *ans, const struct sent *s, uint8_t type,
                                   struct wire_hdr *h)
{
	const uint8_t *body;
	struct wire_hdr rq;
	const uint8_t *rb;

	if (ans->status != 200)
		fail_msg("status %u: %s", ans->status, ans->text ? ans->text : "");
	assert_int_equal(wire_frame_parse(ans->frame, ans->len, 1 << 20, h, &body), 0);
	assert_int_equal(h->type, type);
	assert_string_equal(h->sender, "hub1");
	assert_int_equal(wire_frame_parse(s->frame, s->len, 1 << 20, &rq, &rb), 0);
	assert_memory_equal(h->txn_id, rq.txn_id, WIRE_TXN_LEN);
	return body;
}

static void answer_open(struct cl *c, const struct hub_answer *ans, const struct wire_hdr *h,
                        struct link_pad *pads, size_t npads)
{
	assert_int_equal(link_open(&c->link, ans->frame, ans->len, h, pads, npads), 0);
}

/* status list answer (PUT_ACK, RELEASE_ACK, STATUS_REPLY) -> statuses[] */
static void status_answer(struct cl *c, const struct sent *s, uint8_t type, uint8_t *statuses,
                          unsigned count)
{
	struct hub_answer ans;
	struct wire_hdr h;
	struct wire_status_list sl;
	const uint8_t *body;

	handle(s, &ans);
	body = answer_parse(&ans, s, type, &h);
	assert_int_equal(wire_decode_status_list(body, h.body_len, &sl), 0);
	assert_int_equal(sl.req_mac_off, s->mac_off);
	assert_int_equal(sl.count, count);
	answer_open(c, &ans, &h, NULL, 0);
	for (unsigned i = 0; i < count; i++)
		statuses[i] = sl.entries[i].status;
	wire_status_list_free(&sl);
	free(ans.frame);
}

static void meta_init(struct wire_key_meta *m, uint8_t id, const char *init_sae, const char *resp,
                      const char *resp_sae)
{
	memset(m, 0, sizeof(*m));
	memset(m->key_id, id, DSKE_KEY_ID_LEN);
	strcpy(m->init_sae, init_sae);
	strcpy(m->resp_kme, resp);
	strcpy(m->resp_sae, resp_sae);
	m->n = 3;
	m->k = 2;
	m->x = 2;
	m->codec = 1;
	m->key_len = 32;
	m->expiry = (uint64_t)time(NULL) + 600;
}

/* seal a SHARE_PUT of count keys with shares[count][64] */
static void put_seal(struct cl *c, struct wire_key_meta *keys, uint8_t (*shares)[64], unsigned count,
                     struct sent *s)
{
	struct wire_share_put m = { .count = (uint16_t)count, .keys = keys };
	uint8_t *pad = malloc(64 * count), *ct = malloc(64 * count), *body = NULL;
	size_t blen = 0;

	assert_int_equal(link_take_pad(&c->link, 64 * count, &m.otp_off, pad), 0);
	for (unsigned i = 0; i < count; i++)
		for (unsigned j = 0; j < 64; j++)
			ct[i * 64 + j] = shares[i][j] ^ pad[i * 64 + j];
	m.shares = ct;
	m.shares_len = 64 * count;
	assert_int_equal(wire_encode_share_put(&m, &body, &blen), 0);
	seal(c, WIRE_SHARE_PUT, body, blen, s);
	free(pad);
	free(ct);
}

static uint8_t put1(struct cl *c, struct wire_key_meta *m, uint8_t share[64])
{
	struct sent s;
	uint8_t st;
	uint8_t (*sh)[64] = (uint8_t (*)[64])share;

	put_seal(c, m, sh, 1, &s);
	status_answer(c, &s, WIRE_SHARE_PUT_ACK, &st, 1);
	free(s.frame);
	return st;
}

static void refs_seal(struct cl *c, uint8_t type, const struct wire_key_meta *m, struct sent *s)
{
	struct wire_key_ref ref;
	struct wire_share_get g = { .count = 1, .refs = &ref };
	uint8_t *body = NULL;
	size_t blen = 0;

	memcpy(ref.key_id, m->key_id, DSKE_KEY_ID_LEN);
	strcpy(ref.init_sae, m->init_sae);
	strcpy(ref.resp_sae, m->resp_sae);
	assert_int_equal(wire_encode_share_get(&g, &body, &blen), 0);
	seal(c, type, body, blen, s);
}

/* SHARE_GET one key: status, and the decrypted share when OK */
static uint8_t get1(struct cl *c, const struct wire_key_meta *m, uint8_t out[64],
                    struct wire_key_meta *ret_meta)
{
	struct sent s;
	struct hub_answer ans;
	struct wire_hdr h;
	struct wire_share_deliver d;
	struct link_pad pad;
	uint8_t p[64], st;
	const uint8_t *body;

	refs_seal(c, WIRE_SHARE_GET, m, &s);
	handle(&s, &ans);
	body = answer_parse(&ans, &s, WIRE_SHARE_DELIVER, &h);
	assert_int_equal(wire_decode_share_deliver(body, h.body_len, &d), 0);
	assert_int_equal(d.req_mac_off, s.mac_off);
	assert_int_equal(d.count, 1);
	st = d.entries[0].status;
	assert_memory_equal(d.entries[0].meta.key_id, m->key_id, DSKE_KEY_ID_LEN);
	if (st == WIRE_ST_OK) {
		assert_int_equal(d.shares_len, 64);
		pad = (struct link_pad){ d.otp_off, 64, p };
		answer_open(c, &ans, &h, &pad, 1);
		for (int i = 0; i < 64; i++)
			out[i] = d.shares[i] ^ p[i];
		if (ret_meta)
			*ret_meta = d.entries[0].meta;
	} else {
		assert_int_equal(d.shares_len, 0);
		answer_open(c, &ans, &h, NULL, 0);
	}
	wire_share_deliver_free(&d);
	free(ans.frame);
	free(s.frame);
	return st;
}

static void list_seal(struct cl *c, uint64_t cursor, uint32_t wait_ms, struct sent *s)
{
	struct wire_share_list l = { .cursor = cursor, .wait_ms = wait_ms, .max = 100 };
	uint8_t *body = NULL;
	size_t blen = 0;

	assert_int_equal(wire_encode_share_list(&l, &body, &blen), 0);
	seal(c, WIRE_SHARE_LIST, body, blen, s);
}

static unsigned list_answer(struct cl *c, const struct sent *s, struct wire_share_list_reply *rep)
{
	struct hub_answer ans;
	struct wire_hdr h;
	const uint8_t *body;

	handle(s, &ans);
	body = answer_parse(&ans, s, WIRE_SHARE_LIST_REPLY, &h);
	assert_int_equal(wire_decode_share_list_reply(body, h.body_len, rep), 0);
	assert_int_equal(rep->req_mac_off, s->mac_off);
	answer_open(c, &ans, &h, NULL, 0);
	free(ans.frame);
	return rep->count;
}

static void share_fill(uint8_t s[64], uint8_t seed)
{
	for (int i = 0; i < 64; i++)
		s[i] = (uint8_t)(seed + i * 3);
}

/* ------------------------------------------------------------------ tests */

static void test_put_list_get_release(void **state)
{
	struct wire_key_meta m, got;
	struct wire_share_list_reply rep;
	struct sent s;
	uint8_t share[64], out[64], st;

	meta_init(&m, 1, "alice_sae", "bob", "bob_sae");
	share_fill(share, 1);
	assert_int_equal(put1(&alice, &m, share), WIRE_ST_OK);

	list_seal(&bob, 0, 0, &s);
	assert_int_equal(list_answer(&bob, &s, &rep), 1);
	assert_memory_equal(rep.entries[0].key_id, m.key_id, DSKE_KEY_ID_LEN);
	assert_string_equal(rep.entries[0].init_kme, "alice");
	assert_string_equal(rep.entries[0].init_sae, "alice_sae");
	assert_string_equal(rep.entries[0].resp_sae, "bob_sae");
	wire_share_list_reply_free(&rep);
	free(s.frame);
	list_seal(&alice, 0, 0, &s);          /* not alice's to fetch */
	assert_int_equal(list_answer(&alice, &s, &rep), 0);
	wire_share_list_reply_free(&rep);
	free(s.frame);

	assert_int_equal(get1(&bob, &m, out, &got), WIRE_ST_OK);
	assert_memory_equal(out, share, 64);
	assert_string_equal(got.init_kme, "alice");
	assert_int_equal(got.x, 2);
	/* another client cannot get it */
	assert_int_equal(get1(&alice, &m, out, NULL), WIRE_ST_FORBIDDEN);
	assert_int_equal(get1(&mallory, &m, out, NULL), WIRE_ST_FORBIDDEN);
	/* one re-delivery (max_redeliveries = 1), then no more */
	assert_int_equal(get1(&bob, &m, out, NULL), WIRE_ST_OK);
	assert_memory_equal(out, share, 64);
	assert_int_equal(get1(&bob, &m, out, NULL), WIRE_ST_FORBIDDEN);

	/* initiator sees PENDING, then RELEASED after the responder released it */
	refs_seal(&alice, WIRE_SHARE_STATUS, &m, &s);
	status_answer(&alice, &s, WIRE_SHARE_STATUS_REPLY, &st, 1);
	assert_int_equal(st, WIRE_ST_PENDING);
	free(s.frame);
	{
		struct wire_key_status_entry e;
		struct wire_status_list rl = { .count = 1, .entries = &e };
		uint8_t *body = NULL;
		size_t blen = 0;
		memcpy(e.key_id, m.key_id, DSKE_KEY_ID_LEN);
		e.status = WIRE_ST_OK;
		assert_int_equal(wire_encode_status_list(&rl, &body, &blen), 0);
		seal(&mallory, WIRE_SHARE_RELEASE, body, blen, &s);    /* not mallory's */
		status_answer(&mallory, &s, WIRE_SHARE_RELEASE_ACK, &st, 1);
		assert_int_equal(st, WIRE_ST_FORBIDDEN);
		free(s.frame);
		assert_int_equal(wire_encode_status_list(&rl, &body, &blen), 0);
		seal(&bob, WIRE_SHARE_RELEASE, body, blen, &s);
		status_answer(&bob, &s, WIRE_SHARE_RELEASE_ACK, &st, 1);
		assert_int_equal(st, WIRE_ST_OK);
		free(s.frame);
	}
	refs_seal(&alice, WIRE_SHARE_STATUS, &m, &s);
	status_answer(&alice, &s, WIRE_SHARE_STATUS_REPLY, &st, 1);
	assert_int_equal(st, WIRE_ST_RELEASED);
	free(s.frame);
	refs_seal(&mallory, WIRE_SHARE_STATUS, &m, &s);      /* not mallory's key: nothing to see */
	status_answer(&mallory, &s, WIRE_SHARE_STATUS_REPLY, &st, 1);
	assert_int_equal(st, WIRE_ST_UNKNOWN);
	free(s.frame);
	meta_init(&m, 1, "alice_sae", "bob", "bob_sae");
	assert_int_equal(get1(&bob, &m, out, NULL), WIRE_ST_UNKNOWN);
}

static void test_put_rules(void **state)
{
	struct wire_key_meta m, m2;
	uint8_t share[64], other[64], out[64];

	meta_init(&m, 2, "alice_sae", "bob", "bob_sae");
	share_fill(share, 2);
	share_fill(other, 3);
	assert_int_equal(put1(&alice, &m, share), WIRE_ST_OK);
	/* the same again with new PSRD: ALREADY; another share or client: DUPLICATE */
	assert_int_equal(put1(&alice, &m, share), WIRE_ST_ALREADY);
	assert_int_equal(put1(&alice, &m, other), WIRE_ST_DUPLICATE);
	m2 = m;
	strcpy(m2.init_sae, "mallory_sae");
	assert_int_equal(put1(&mallory, &m2, other), WIRE_ST_DUPLICATE);
	assert_int_equal(get1(&bob, &m, out, NULL), WIRE_ST_OK);
	assert_memory_equal(out, share, 64);      /* never overwritten */
	/* init SAE not alice's */
	meta_init(&m, 3, "bob_sae", "bob", "bob_sae");
	assert_int_equal(put1(&alice, &m, share), WIRE_ST_FORBIDDEN);
	/* unknown responder, responder SAE not the responder's, x not this hub's, expired
	 * (k, n and codec out of range are refused by the codec itself) */
	meta_init(&m, 4, "alice_sae", "nobody", "bob_sae");
	assert_int_equal(put1(&alice, &m, share), WIRE_ST_INVALID);
	meta_init(&m, 4, "alice_sae", "bob", "alice_sae");
	assert_int_equal(put1(&alice, &m, share), WIRE_ST_INVALID);
	meta_init(&m, 4, "alice_sae", "bob", "bob_sae");
	m.x = 1;                                  /* this hub is index 2 for alice */
	assert_int_equal(put1(&alice, &m, share), WIRE_ST_INVALID);
	meta_init(&m, 4, "alice_sae", "bob", "bob_sae");
	m.expiry = 1000;
	assert_int_equal(put1(&alice, &m, share), WIRE_ST_INVALID);
	meta_init(&m, 4, "alice_sae", "bob", "bob_sae");
	assert_int_equal(put1(&alice, &m, share), WIRE_ST_OK);
}

static void test_bad_tag_burns_nothing(void **state)
{
	struct wire_key_meta m;
	struct psrd_info before, after;
	struct hub_answer ans;
	struct sent s;
	uint8_t share[64], st;
	uint8_t *orig;

	meta_init(&m, 5, "alice_sae", "bob", "bob_sae");
	share_fill(share, 5);
	put_seal(&alice, &m, (uint8_t (*)[64])share, 1, &s);
	orig = malloc(s.len);
	memcpy(orig, s.frame, s.len);
	hub_registry_find(hub->reg, "alice");
	psrd_stream_info(hub_registry_find(hub->reg, "alice")->c2h, &before);
	s.frame[s.len - 20] ^= 1;                  /* a ciphertext byte */
	handle(&s, &ans);
	assert_int_equal(ans.status, 401);
	s.frame[s.len - 20] ^= 1;
	s.frame[s.len - 1] ^= 0x80;                /* the tag */
	handle(&s, &ans);
	assert_int_equal(ans.status, 401);
	psrd_stream_info(hub_registry_find(hub->reg, "alice")->c2h, &after);
	assert_int_equal(after.mark, before.mark);
	assert_int_equal(after.next, before.next);
	assert_int_equal(after.remaining, before.remaining);
	assert_int_equal(hub_shares_status(hub->shares, m.key_id, "alice"), WIRE_ST_UNKNOWN);
	assert_int_equal(atomic_load(&hub->bad_tags), 2);
	/* the genuine frame is still good: nothing was burned */
	memcpy(s.frame, orig, s.len);
	status_answer(&alice, &s, WIRE_SHARE_PUT_ACK, &st, 1);
	assert_int_equal(st, WIRE_ST_OK);
	free(orig);
	free(s.frame);
}

static void test_replay_from_cache(void **state)
{
	struct wire_key_meta m;
	struct psrd_info tx1, tx2, rx1, rx2;
	struct hub_answer a1, a2;
	struct sent s;
	struct hub_client *hc = hub_registry_find(hub->reg, "alice");
	uint8_t share[64];

	meta_init(&m, 6, "alice_sae", "bob", "bob_sae");
	share_fill(share, 6);
	put_seal(&alice, &m, (uint8_t (*)[64])share, 1, &s);
	handle(&s, &a1);
	assert_int_equal(a1.status, 200);
	psrd_stream_info(hc->h2c, &tx1);
	psrd_stream_info(hc->c2h, &rx1);
	handle(&s, &a2);                           /* the answer was lost: byte-identical retry */
	assert_int_equal(a2.status, 200);
	assert_int_equal(a2.len, a1.len);
	assert_memory_equal(a2.frame, a1.frame, a1.len);
	psrd_stream_info(hc->h2c, &tx2);
	psrd_stream_info(hc->c2h, &rx2);
	assert_int_equal(tx2.next, tx1.next);      /* no new PSRD either way */
	assert_int_equal(tx2.allocated_total, tx1.allocated_total);
	assert_int_equal(rx2.next, rx1.next);
	assert_int_equal(rx2.remaining, rx1.remaining);
	assert_int_equal(atomic_load(&hub->replays), 1);
	free(a2.frame);
	/* same mac_off, other bytes: refused before anything is verified */
	s.frame[s.len - 20] ^= 1;
	handle(&s, &a2);
	assert_int_equal(a2.status, 409);
	free(a1.frame);
	free(s.frame);
}

static void test_refusals(void **state)
{
	struct hub_answer ans;
	struct sent s;
	struct cl fake;
	uint8_t junk[100];

	memset(junk, 0x41, sizeof(junk));
	memset(&ans, 0, sizeof(ans));
	hub_proto_handle(hub, junk, sizeof(junk), &ans);
	assert_int_equal(ans.status, 400);
	/* a client the hub does not know (sealed on alice's streams under another name) */
	fake = alice;
	strcpy(fake.link.self, "stranger");
	list_seal(&fake, 0, 0, &s);
	handle(&s, &ans);
	assert_int_equal(ans.status, 404);
	free(s.frame);
	/* an answer type is not a request */
	{
		uint8_t *body = malloc(1);
		seal(&alice, WIRE_SHARE_PUT_ACK, body, 0, &s);
		handle(&s, &ans);
		assert_int_equal(ans.status, 400);
		free(s.frame);
	}
	/* a frame above max_frame */
	{
		size_t big = hub->cfg.max_frame + 1;
		uint8_t *b = calloc(1, big);
		memset(&ans, 0, sizeof(ans));
		hub_proto_handle(hub, b, big, &ans);
		assert_int_equal(ans.status, 413);
		free(b);
	}
	/* a replayed frame whose answer is no longer cached still gets 409 from the stream */
	list_seal(&bob, 0, 0, &s);
	{
		struct wire_share_list_reply rep;
		list_answer(&bob, &s, &rep);
		wire_share_list_reply_free(&rep);
	}
	hub_replay_free(hub_registry_find(hub->reg, "bob")->replay);
	assert_int_equal(hub_replay_new(&hub_registry_find(hub->reg, "bob")->replay), 0);
	handle(&s, &ans);
	assert_int_equal(ans.status, 409);
	free(s.frame);
}

static void test_stream_status(void **state)
{
	struct wire_stream_status req = { 0 }, rep;
	struct hub_answer ans;
	struct wire_hdr h;
	struct sent s;
	uint8_t *body = NULL;
	const uint8_t *ab;
	size_t blen = 0;

	req.own_end = PSRD_SIZE;
	req.peer_end = PSRD_SIZE;
	assert_int_equal(wire_encode_stream_status(&req, &body, &blen), 0);
	seal(&alice, WIRE_STREAM_STATUS, body, blen, &s);
	handle(&s, &ans);
	ab = answer_parse(&ans, &s, WIRE_STREAM_STATUS_REPLY, &h);
	assert_int_equal(wire_decode_stream_status(ab, h.body_len, &rep), 0);
	assert_int_equal(rep.req_mac_off, s.mac_off);
	assert_int_equal(rep.own_end, PSRD_SIZE);
	assert_int_equal(rep.peer_end, PSRD_SIZE);
	assert_int_equal(rep.peer_accepted, s.mac_off + 32);   /* our MAC key is the highest used */
	assert_int_equal(rep.last_block_own, 1);
	assert_int_equal(rep.last_block_peer, 1);
	answer_open(&alice, &ans, &h, NULL, 0);
	free(ans.frame);
	free(s.frame);
}

struct poll_arg {
	struct sent s;
	struct wire_share_list_reply rep;
	uint64_t ms;
};

static void *poll_thread(void *p)
{
	struct poll_arg *a = p;
	uint64_t t0 = hub_shares_mono_ms();

	list_answer(&bob, &a->s, &a->rep);
	a->ms = hub_shares_mono_ms() - t0;
	return NULL;
}

static void test_long_poll(void **state)
{
	struct poll_arg a;
	struct wire_key_meta m;
	uint8_t share[64];
	pthread_t t;

	list_seal(&bob, 0, 20000, &a.s);
	assert_int_equal(pthread_create(&t, NULL, poll_thread, &a), 0);
	while (atomic_load(&hub->waiting_polls) == 0)
		usleep(1000);
	meta_init(&m, 7, "alice_sae", "bob", "bob_sae");
	share_fill(share, 7);
	assert_int_equal(put1(&alice, &m, share), WIRE_ST_OK);
	pthread_join(t, NULL);
	assert_int_equal(a.rep.count, 1);
	assert_memory_equal(a.rep.entries[0].key_id, m.key_id, DSKE_KEY_ID_LEN);
	assert_true(a.ms < 10000);                /* woken by the PUT, not the timeout */
	wire_share_list_reply_free(&a.rep);
	free(a.s.frame);
}

static uint8_t import_index = 2;

static int import_one(const char *hubname, const char *client, enum bundle_role role, uint32_t block,
                      uint64_t start, struct hub_import_result *res, char *err, size_t errlen)
{
	struct bundle b = { 0 };
	uint8_t data[2 * 4096], *buf = NULL;
	size_t len = 0;
	int r;

	randombytes_buf(data, sizeof(data));
	strcpy(b.hub, hubname);
	b.hub_index = import_index;
	strcpy(b.hub_url, "http://127.0.0.1:1");
	strcpy(b.client, client);
	b.sae_count = 1;
	strcpy(b.saes[0], "x_sae");
	b.block_id = block;
	b.c2h_start = b.h2c_start = start;
	b.c2h_len = b.h2c_len = 4096;
	strcpy(b.source, "test");
	b.c2h = data;
	b.h2c = data + 4096;
	b.role = role;
	assert_int_equal(bundle_format(&b, &buf, &len), 0);
	r = hub_registry_import(hub->reg, buf, len, res, err, errlen);
	free(buf);
	return r;
}

static void test_imports(void **state)
{
	struct hub_import_result res;
	struct psrd_info info;
	char err[256];

	assert_int_equal(import_one("hub1", "..", BUNDLE_FOR_HUB, 1, 0, &res, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "starts with a dot"));
	assert_int_equal(import_one("hub2", "carol", BUNDLE_FOR_HUB, 1, 0, &res, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bundle is for hub hub2, this is hub hub1");
	assert_int_equal(import_one("hub1", "carol", BUNDLE_FOR_CLIENT, 1, 0, &res, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "client half"));
	assert_null(hub_registry_find(hub->reg, "carol"));
	assert_int_equal(import_one("hub1", "carol", BUNDLE_FOR_HUB, 1, 0, &res, err, sizeof(err)), 0);
	assert_true(res.new_client);
	assert_non_null(hub_registry_find(hub->reg, "carol"));
	/* a block out of order is refused; the next block extends the streams */
	assert_int_equal(import_one("hub1", "carol", BUNDLE_FOR_HUB, 3, 8192, &res, err, sizeof(err)), -EINVAL);
	assert_int_equal(import_one("hub1", "carol", BUNDLE_FOR_HUB, 2, 4096, &res, err, sizeof(err)), 0);
	assert_false(res.new_client);
	assert_false(res.already);
	psrd_stream_info(hub_registry_find(hub->reg, "carol")->c2h, &info);
	assert_int_equal(info.end, 8192);
	assert_int_equal(info.last_block_id, 2);
	assert_int_equal(import_one("hub1", "carol", BUNDLE_FOR_HUB, 1, 0, &res, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "older"));
	/* a bundle that gives this hub another index than the other clients' */
	import_index = 3;
	assert_int_equal(import_one("hub1", "dave", BUNDLE_FOR_HUB, 1, 0, &res, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "all clients must use the same index"));
	assert_null(hub_registry_find(hub->reg, "dave"));
	import_index = 2;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_list_get_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_tag_burns_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_from_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_poll, setup, teardown),
		cmocka_unit_test_setup_teardown(test_imports, setup, teardown),
	};
	if (sodium_init() < 0)
		return 1;
	log_set_level(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
