/* fuzz_hub_proto.c — libFuzzer harness for the hub's handling of one in-band frame
 * (hub_proto_handle: size cap, frame parse, client lookup, replay cache, body decoders, link_open,
 * hub rules). A hub with two registered clients (alice, bob) lives in a scratch state dir; the
 * PSRD is deterministic so that the seed frames (sealed by alice) verify in a fresh process.
 * Every input must get an answer: 200 with a frame or an HTTP error with a reason.
 * DSKE_FUZZ_WRITE_SEEDS=DIR writes the seed frames into DIR and exits; DSKE_FUZZ_VERBOSE=1
 * prints each answer's status. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "core/bundle.h"
#include "core/link.h"
#include "core/wire.h"
#include "hubd/hub.h"
#include "hubd/hub_proto.h"

#define FZ_PSRD (256 * 1024)

static struct hub *fz_hub;
static char fz_dir[64];

static void fz_cleanup(void)
{
	char cmd[128];

	hub_close(fz_hub);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fz_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", fz_dir);
}

static void fz_data(uint8_t *d, size_t len, uint8_t salt)
{
	for (size_t i = 0; i < len; i++)
		d[i] = (uint8_t)(i * 131 + (i >> 8) * 7 + salt);
}

static void fz_register(const char *client, const char *sae, uint8_t *data)
{
	struct bundle b = { 0 };
	struct hub_import_result res;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256];

	snprintf(b.hub, sizeof(b.hub), "hub1");
	b.hub_index = 1;
	snprintf(b.hub_url, sizeof(b.hub_url), "http://127.0.0.1:1");
	snprintf(b.client, sizeof(b.client), "%s", client);
	b.sae_count = 1;
	snprintf(b.saes[0], sizeof(b.saes[0]), "%s", sae);
	b.block_id = 1;
	b.c2h_len = b.h2c_len = FZ_PSRD;
	snprintf(b.source, sizeof(b.source), "fuzz");
	b.created = 1700000000;
	b.c2h = data;
	b.h2c = data + FZ_PSRD;
	b.role = BUNDLE_FOR_HUB;
	if (bundle_format(&b, &buf, &len) < 0 || hub_registry_import(fz_hub->reg, buf, len, &res, err, sizeof(err)) < 0)
		abort();
	free(buf);
}

static void fz_write(const char *dir, const char *name, const uint8_t *f, size_t len)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (!fp || fwrite(f, 1, len, fp) != len)
		abort();
	fclose(fp);
}

/* seal seed frames as alice would, from the same deterministic PSRD */
static void fz_seeds(const char *out, uint8_t *data)
{
	struct psrd_stream *tx = NULL, *rx = NULL;
	struct link l = { .self = "alice", .peer = "hub1" };
	struct wire_hdr h = { .version = WIRE_VERSION };
	struct wire_key_meta m = { 0 };
	struct wire_share_put put = { .count = 1, .keys = &m };
	struct wire_share_list sl = { .cursor = 0, .wait_ms = 0, .max = 10 };
	struct wire_key_ref ref = { 0 };
	struct wire_share_get g = { .count = 1, .refs = &ref };
	struct wire_stream_status ss = { .own_end = FZ_PSRD, .peer_end = FZ_PSRD };
	uint8_t pad[64], ct[64], *body = NULL, *frame = NULL;
	size_t blen = 0, flen = 0;
	char dir[80];

	snprintf(dir, sizeof(dir), "%s/alice", fz_dir);
	if (mkdir(dir, 0700) < 0 || psrd_stream_open(dir, "c2h", PSRD_SENDER, false, &tx) < 0 ||
	    psrd_stream_open(dir, "h2c", PSRD_RECEIVER, false, &rx) < 0 ||
	    psrd_stream_import(tx, 1, 0, data, FZ_PSRD) < 0 ||
	    psrd_stream_import(rx, 1, 0, data + FZ_PSRD, FZ_PSRD) < 0)
		abort();
	l.tx = tx;
	l.rx = rx;
	memset(m.key_id, 0x11, sizeof(m.key_id));
	snprintf(m.init_sae, sizeof(m.init_sae), "alice_sae");
	snprintf(m.resp_kme, sizeof(m.resp_kme), "bob");
	snprintf(m.resp_sae, sizeof(m.resp_sae), "bob_sae");
	m.n = 3;
	m.k = 2;
	m.x = 1;
	m.codec = 1;
	m.key_len = 32;
	m.expiry = 4000000000u;
	if (link_take_pad(&l, 64, &put.otp_off, pad) < 0)
		abort();
	for (int i = 0; i < 64; i++)
		ct[i] = (uint8_t)(i ^ pad[i]);
	put.shares = ct;
	put.shares_len = 64;
	h.type = WIRE_SHARE_PUT;
	if (wire_encode_share_put(&put, &body, &blen) < 0 || link_seal(&l, &h, body, blen, &frame, &flen) < 0)
		abort();
	fz_write(out, "share_put.bin", frame, flen);
	free(body);
	free(frame);
	h.type = WIRE_SHARE_LIST;
	if (wire_encode_share_list(&sl, &body, &blen) < 0 || link_seal(&l, &h, body, blen, &frame, &flen) < 0)
		abort();
	fz_write(out, "share_list.bin", frame, flen);
	free(body);
	free(frame);
	memcpy(ref.key_id, m.key_id, sizeof(ref.key_id));
	snprintf(ref.init_sae, sizeof(ref.init_sae), "alice_sae");
	snprintf(ref.resp_sae, sizeof(ref.resp_sae), "bob_sae");
	h.type = WIRE_SHARE_STATUS;
	if (wire_encode_share_get(&g, &body, &blen) < 0 || link_seal(&l, &h, body, blen, &frame, &flen) < 0)
		abort();
	fz_write(out, "share_status.bin", frame, flen);
	free(body);
	free(frame);
	h.type = WIRE_STREAM_STATUS;
	if (wire_encode_stream_status(&ss, &body, &blen) < 0 || link_seal(&l, &h, body, blen, &frame, &flen) < 0)
		abort();
	fz_write(out, "stream_status.bin", frame, flen);
	free(body);
	free(frame);
	psrd_stream_close(tx);
	psrd_stream_close(rx);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct hub_config cfg;
	char err[256];
	uint8_t *a = malloc(2 * FZ_PSRD), *b = malloc(2 * FZ_PSRD);
	const char *seeds = getenv("DSKE_FUZZ_WRITE_SEEDS");

	if (!a || !b || sodium_init() < 0)
		abort();
	snprintf(fz_dir, sizeof(fz_dir), "/tmp/fuzz_hub_proto.XXXXXX");
	if (!mkdtemp(fz_dir))
		abort();
	hub_config_defaults(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "hub1");
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s/hub", fz_dir);
	if (hub_open(&cfg, &fz_hub, err, sizeof(err)) < 0)
		abort();
	atexit(fz_cleanup);
	log_set_level(LOG_LVL_ERR);
	fz_data(a, 2 * FZ_PSRD, 1);
	fz_data(b, 2 * FZ_PSRD, 2);
	fz_register("alice", "alice_sae", a);
	fz_register("bob", "bob_sae", b);
	if (seeds) {
		fz_seeds(seeds, a);
		exit(0);
	}
	free(a);
	free(b);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hub_answer ans = { 0 };

	hub_proto_handle(fz_hub, data, size, &ans);
	if (getenv("DSKE_FUZZ_VERBOSE"))
		fprintf(stderr, "answer: %u %s\n", ans.status, ans.text ? ans.text : "(frame)");
	if (ans.status == 200) {
		if (!ans.frame || !ans.len)
			abort();
		free(ans.frame);
	} else if (!ans.text || ans.status < 400 || ans.status > 599) {
		abort();
	}
	return 0;
}
