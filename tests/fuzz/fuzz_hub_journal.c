/* fuzz_hub_journal.c — libFuzzer harness for the share store's journal replay: the input is a
 * journal file; opening the store must either fail cleanly or give a store whose statistics are
 * consistent and that accepts a new share, survives a commit and a sweep. Seeds: journals
 * written by the store itself (DSKE_FUZZ_WRITE_SEEDS=DIR writes them and exits). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include "hubd/hub_shares.h"

#define FZ_NOW 1700000000ull

static char fz_dir[64];

static void fz_cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", fz_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", fz_dir);
}

static void fz_meta(struct wire_key_meta *m, uint8_t id)
{
	memset(m, 0, sizeof(*m));
	memset(m->key_id, id, sizeof(m->key_id));
	snprintf(m->init_kme, sizeof(m->init_kme), "alice");
	snprintf(m->init_sae, sizeof(m->init_sae), "alice_sae");
	snprintf(m->resp_kme, sizeof(m->resp_kme), "bob");
	snprintf(m->resp_sae, sizeof(m->resp_sae), "bob_sae");
	m->n = 3;
	m->k = 2;
	m->x = 1;
	m->codec = 1;
	m->key_len = 32;
	m->expiry = FZ_NOW + 3600;
}

static void fz_seeds(const char *out)
{
	struct hub_shares *s = NULL;
	struct wire_key_meta m;
	struct wire_key_ref ref;
	uint8_t share[64], got[2048], st;
	char cmd[512];

	if (hub_shares_open(fz_dir, 100, FZ_NOW, &s) < 0)
		abort();
	for (uint8_t i = 1; i <= 3; i++) {
		fz_meta(&m, i);
		memset(share, i, sizeof(share));
		if (hub_shares_put(s, &m, m.expiry, share, sizeof(share), FZ_NOW, &st) < 0)
			abort();
	}
	hub_shares_commit(s);
	memset(ref.key_id, 1, sizeof(ref.key_id));
	snprintf(ref.init_sae, sizeof(ref.init_sae), "alice_sae");
	snprintf(ref.resp_sae, sizeof(ref.resp_sae), "bob_sae");
	hub_shares_deliver(s, &ref, "bob", 4, FZ_NOW, &m, got, sizeof(got), &st);
	hub_shares_release(s, ref.key_id, "bob", FZ_NOW, &st);
	hub_shares_commit(s);
	hub_shares_sweep(s, FZ_NOW + 3601, NULL);
	hub_shares_close(s);
	snprintf(cmd, sizeof(cmd), "cp %s/journal %s/journal-mixed.bin", fz_dir, out);
	if (system(cmd) != 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (sodium_init() < 0)
		abort();
	snprintf(fz_dir, sizeof(fz_dir), "/tmp/fuzz_hub_journal.XXXXXX");
	if (!mkdtemp(fz_dir))
		abort();
	atexit(fz_cleanup);
	if (getenv("DSKE_FUZZ_WRITE_SEEDS")) {
		fz_seeds(getenv("DSKE_FUZZ_WRITE_SEEDS"));
		exit(0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hub_shares *s = NULL;
	struct hub_shares_stats st;
	struct wire_key_meta m;
	uint8_t share[64] = { 0 }, status;
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/journal", fz_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (hub_shares_open(fz_dir, 1000, FZ_NOW, &s) < 0)
		return 0;
	hub_shares_get_stats(s, &st);
	if (st.journal_bytes > size)
		abort();
	fz_meta(&m, 0xee);
	if (hub_shares_put(s, &m, m.expiry, share, sizeof(share), FZ_NOW, &status) == 0 &&
	    status != WIRE_ST_OK && status != WIRE_ST_ALREADY && status != WIRE_ST_DUPLICATE &&
	    status != WIRE_ST_FULL)
		abort();
	hub_shares_commit(s);
	hub_shares_sweep(s, FZ_NOW + 7200, NULL);
	hub_shares_close(s);
	return 0;
}
