/* bench_hub.c — hub figures in process, on a real filesystem (/var/tmp unless $DSKE_BENCH_DIR):
 * SHARE_PUT of 1, 100 and 1000 keys per frame (32-byte keys, verified, decrypted, stored durably,
 * acknowledged), the same one-key SHARE_PUT from 1 and 8 threads (the share store's group
 * commit), and SHARE_GET of 100 keys per frame. The client side seals and opens like
 * dske-clientd, with real streams made from the same bundle. Prints, asserts nothing. */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sodium.h>
#include "core/bundle.h"
#include "core/link.h"
#include "core/wire.h"
#include "hubd/hub.h"
#include "hubd/hub_proto.h"

#define PSRD_BYTES (32u << 20)

struct cl {
	struct psrd_stream *c2h, *h2c;
	struct link link;
};

static char dir[256];
static struct hub *hub;
static struct cl alice, bob;
static uint64_t key_counter;
static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void die(const char *what)
{
	fprintf(stderr, "bench_hub: %s\n", what);
	exit(1);
}

static void make_pair(const char *client, const char *sae, struct cl *c)
{
	struct bundle b = { 0 };
	struct hub_import_result res;
	uint8_t *data = malloc(2 * (size_t)PSRD_BYTES), *buf = NULL;
	size_t len = 0;
	char cdir[300], err[256];

	if (!data)
		die("out of memory");
	randombytes_buf(data, 2 * (size_t)PSRD_BYTES);
	snprintf(b.hub, sizeof(b.hub), "hub1");
	b.hub_index = 1;
	snprintf(b.hub_url, sizeof(b.hub_url), "http://127.0.0.1:1");
	snprintf(b.client, sizeof(b.client), "%s", client);
	b.sae_count = 1;
	snprintf(b.saes[0], sizeof(b.saes[0]), "%s", sae);
	b.block_id = 1;
	b.c2h_len = b.h2c_len = PSRD_BYTES;
	snprintf(b.source, sizeof(b.source), "bench");
	b.c2h = data;
	b.h2c = data + PSRD_BYTES;
	b.role = BUNDLE_FOR_HUB;
	if (bundle_format(&b, &buf, &len) < 0 || hub_registry_import(hub->reg, buf, len, &res, err, sizeof(err)) < 0)
		die("import");
	free(buf);
	snprintf(cdir, sizeof(cdir), "%s/%s", dir, client);
	if (mkdir(cdir, 0700) < 0 ||
	    psrd_stream_open(cdir, "c2h", PSRD_SENDER, false, &c->c2h) < 0 ||
	    psrd_stream_open(cdir, "h2c", PSRD_RECEIVER, false, &c->h2c) < 0 ||
	    psrd_stream_import(c->c2h, 1, 0, data, PSRD_BYTES) < 0 ||
	    psrd_stream_import(c->h2c, 1, 0, data + PSRD_BYTES, PSRD_BYTES) < 0)
		die("client streams");
	snprintf(c->link.self, sizeof(c->link.self), "%s", client);
	snprintf(c->link.peer, sizeof(c->link.peer), "hub1");
	c->link.tx = c->c2h;
	c->link.rx = c->h2c;
	sodium_memzero(data, 2 * (size_t)PSRD_BYTES);
	free(data);
}

static void next_key_id(uint8_t id[DSKE_KEY_ID_LEN])
{
	uint64_t k;

	pthread_mutex_lock(&key_lock);
	k = ++key_counter;
	pthread_mutex_unlock(&key_lock);
	memset(id, 0, DSKE_KEY_ID_LEN);
	memcpy(id, &k, sizeof(k));
}

/* one SHARE_PUT of count keys from alice to bob, answer opened; returns 0 */
static int put_batch(unsigned count)
{
	struct wire_key_meta *keys = calloc(count, sizeof(*keys));
	struct wire_share_put m = { .count = (uint16_t)count, .keys = keys };
	struct wire_hdr h = { .version = WIRE_VERSION, .type = WIRE_SHARE_PUT }, ah;
	struct hub_answer ans = { 0 };
	uint8_t *pad = malloc(64 * (size_t)count), *body = NULL, *frame = NULL;
	const uint8_t *ab;
	size_t blen = 0, flen = 0;
	int r = -1;

	for (unsigned i = 0; i < count; i++) {
		struct wire_key_meta *k = &keys[i];
		next_key_id(k->key_id);
		snprintf(k->init_sae, sizeof(k->init_sae), "alice_sae");
		snprintf(k->resp_kme, sizeof(k->resp_kme), "bob");
		snprintf(k->resp_sae, sizeof(k->resp_sae), "bob_sae");
		k->n = 3;
		k->k = 2;
		k->x = 1;
		k->codec = 1;
		k->key_len = 32;
		k->expiry = (uint64_t)time(NULL) + 3000;
	}
	if (link_take_pad(&alice.link, 64 * (size_t)count, &m.otp_off, pad) < 0)
		goto out;
	m.shares = pad;              /* ct = share ^ pad with share = 0 */
	m.shares_len = 64 * (size_t)count;
	randombytes_buf(h.txn_id, sizeof(h.txn_id));
	if (wire_encode_share_put(&m, &body, &blen) < 0 || link_seal(&alice.link, &h, body, blen, &frame, &flen) < 0)
		goto out;
	hub_proto_handle(hub, frame, flen, &ans);
	if (ans.status != 200 || wire_frame_parse(ans.frame, ans.len, 1 << 20, &ah, &ab) < 0 ||
	    link_open(&alice.link, ans.frame, ans.len, &ah, NULL, 0) < 0)
		goto out;
	r = 0;
out:
	free(ans.frame);
	free(frame);
	free(body);
	free(pad);
	free(keys);
	return r;
}

/* SHARE_GET of the count keys with ids first..first+count-1 by bob */
static int get_batch(uint64_t first, unsigned count)
{
	struct wire_key_ref *refs = calloc(count, sizeof(*refs));
	struct wire_share_get g = { .count = (uint16_t)count, .refs = refs };
	struct wire_hdr h = { .version = WIRE_VERSION, .type = WIRE_SHARE_GET }, ah;
	struct wire_share_deliver d;
	struct hub_answer ans = { 0 };
	struct link_pad pad;
	uint8_t *body = NULL, *frame = NULL, *p = NULL;
	const uint8_t *ab;
	size_t blen = 0, flen = 0;
	int r = -1;

	for (unsigned i = 0; i < count; i++) {
		uint64_t k = first + i;
		memcpy(refs[i].key_id, &k, sizeof(k));
		snprintf(refs[i].init_sae, sizeof(refs[i].init_sae), "alice_sae");
		snprintf(refs[i].resp_sae, sizeof(refs[i].resp_sae), "bob_sae");
	}
	randombytes_buf(h.txn_id, sizeof(h.txn_id));
	if (wire_encode_share_get(&g, &body, &blen) < 0 || link_seal(&bob.link, &h, body, blen, &frame, &flen) < 0)
		goto out;
	hub_proto_handle(hub, frame, flen, &ans);
	if (ans.status != 200 || wire_frame_parse(ans.frame, ans.len, 1 << 20, &ah, &ab) < 0 ||
	    wire_decode_share_deliver(ab, ah.body_len, &d) < 0)
		goto out;
	p = malloc(d.shares_len ? d.shares_len : 1);
	pad = (struct link_pad){ d.otp_off, d.shares_len, p };
	if (link_open(&bob.link, ans.frame, ans.len, &ah, &pad, d.shares_len ? 1 : 0) == 0 &&
	    d.shares_len == 64 * (size_t)count)
		r = 0;
	wire_share_deliver_free(&d);
out:
	free(p);
	free(ans.frame);
	free(frame);
	free(body);
	free(refs);
	return r;
}

struct thr {
	unsigned frames;
	int err;
};

static void *put_thread(void *p)
{
	struct thr *t = p;

	for (unsigned i = 0; i < t->frames; i++)
		if (put_batch(1) < 0)
			t->err = 1;
	return NULL;
}

static void bench_threads(unsigned nthreads, unsigned frames_each)
{
	pthread_t th[16];
	struct thr t[16];
	double t0 = now(), dt;
	int err = 0;

	for (unsigned i = 0; i < nthreads; i++) {
		t[i] = (struct thr){ frames_each, 0 };
		pthread_create(&th[i], NULL, put_thread, &t[i]);
	}
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		err |= t[i].err;
	}
	dt = now() - t0;
	printf("hub SHARE_PUT 1 key/frame, %u thread(s): %8.0f frames/s%s\n", nthreads,
	       nthreads * frames_each / dt, err ? " (ERRORS)" : "");
}

int main(void)
{
	const char *base = getenv("DSKE_BENCH_DIR") ? getenv("DSKE_BENCH_DIR") : "/var/tmp";
	struct hub_config cfg;
	char err[256];
	static const unsigned batches[] = { 1, 100, 1000 };
	uint64_t first;
	double t0, dt;

	if (sodium_init() < 0)
		die("sodium_init");
	snprintf(dir, sizeof(dir), "%s/bench_hub.XXXXXX", base);
	if (!mkdtemp(dir))
		die("mkdtemp");
	hub_config_defaults(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "hub1");
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s/hub", dir);
	cfg.max_redeliveries = 100;
	log_set_level(LOG_LVL_ERR);
	if (hub_open(&cfg, &hub, err, sizeof(err)) < 0)
		die(err);
	make_pair("alice", "alice_sae", &alice);
	make_pair("bob", "bob_sae", &bob);

	for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
		unsigned frames = batches[b] == 1 ? 300 : batches[b] == 100 ? 40 : 8, bad = 0;
		t0 = now();
		for (unsigned i = 0; i < frames; i++)
			bad += put_batch(batches[b]) < 0;
		dt = now() - t0;
		printf("hub SHARE_PUT %4u key(s)/frame: %8.0f frames/s %9.0f keys/s%s\n", batches[b],
		       frames / dt, frames * batches[b] / dt, bad ? " (ERRORS)" : "");
	}
	bench_threads(1, 200);
	bench_threads(8, 50);
	first = key_counter + 1;
	for (unsigned i = 0; i < 20; i++)
		if (put_batch(100) < 0)
			die("put");
	t0 = now();
	{
		unsigned bad = 0;
		for (unsigned i = 0; i < 20; i++)
			bad += get_batch(first + 100 * i, 100) < 0;
		dt = now() - t0;
		printf("hub SHARE_GET  100 key(s)/frame: %8.0f frames/s %9.0f keys/s%s\n", 20 / dt,
		       2000 / dt, bad ? " (ERRORS)" : "");
	}
	psrd_stream_close(alice.c2h);
	psrd_stream_close(alice.h2c);
	psrd_stream_close(bob.c2h);
	psrd_stream_close(bob.h2c);
	hub_close(hub);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
