/* bench_psrd.c — PSRD stream figures on a real filesystem (/var/tmp unless $DSKE_BENCH_DIR):
 * sender allocation with durable reservation marks (32 B and 1 KiB over a 64 MiB stream), and
 * receiver accept + sync (group commit) single-threaded and from 8 threads, and a one-key
 * SHARE_PUT-sized frame (64-byte pad + MAC) through link_take_pad/link_seal/link_open.
 * Prints, asserts nothing. */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "core/link.h"
#include "core/psrd.h"

#define STREAM_BYTES (64u << 20)

static char dir[256];

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

static struct psrd_stream *make_stream(const char *name, enum psrd_role role, bool audit,
                                       uint64_t bytes)
{
	struct psrd_stream *s = NULL;
	size_t blk = 4u << 20;
	uint8_t *buf = malloc(blk);
	uint32_t id = 1;

	if (!buf || psrd_stream_open(dir, name, role, audit, &s) < 0) {
		fprintf(stderr, "bench_psrd: cannot open a stream in %s\n", dir);
		exit(1);
	}
	randombytes_buf(buf, blk);
	for (uint64_t at = 0; at < bytes; at += blk, id++)
		if (psrd_stream_import(s, id, at, buf, blk) < 0) {
			fprintf(stderr, "bench_psrd: import failed\n");
			exit(1);
		}
	free(buf);
	return s;
}

static void bench_alloc(const char *name, uint64_t len, bool audit)
{
	struct psrd_stream *s = make_stream(name, PSRD_SENDER, audit, STREAM_BYTES);
	uint64_t off, n = 0;
	double t0 = now();

	while (psrd_stream_alloc(s, len, &off) == 0)
		n++;
	double dt = now() - t0;
	printf("psrd alloc %5llu B%s: %9.0f allocs/s, %7.1f MB/s (%llu allocs, %u durable marks)\n",
	       (unsigned long long)len, audit ? " +audit" : "       ", n / dt,
	       (double)(n * len) / dt / 1e6, (unsigned long long)n, STREAM_BYTES / PSRD_RESERVE_STEP);
	psrd_stream_close(s);
}

struct worker {
	struct psrd_stream *s;
	int t, nthreads, per;
	int fails;
};

/* Each "frame" uses a 32-byte MAC key and a 64-byte pad, like a one-key SHARE_PUT. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < w->per; i++) {
		uint64_t base = ((uint64_t)i * (uint64_t)w->nthreads + (uint64_t)w->t) * 96;
		struct psrd_range r[2] = { { base, 32 }, { base + 32, 64 } };
		if (psrd_stream_accept(w->s, r, 2) != 0 || psrd_stream_sync(w->s) != 0)
			w->fails++;
	}
	return NULL;
}

static void bench_accept(const char *name, int nthreads, int per)
{
	struct psrd_stream *s = make_stream(name, PSRD_RECEIVER, false, 4u << 20);
	pthread_t th[16];
	struct worker w[16];
	int fails = 0;
	double t0 = now();

	for (int t = 0; t < nthreads; t++) {
		w[t] = (struct worker){ s, t, nthreads, per, 0 };
		pthread_create(&th[t], NULL, worker_run, &w[t]);
	}
	for (int t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		fails += w[t].fails;
	}
	double dt = now() - t0;
	printf("psrd accept+sync, %d thread%s: %8.0f frames/s (%d frames%s)\n", nthreads,
	       nthreads > 1 ? "s" : " ", nthreads * per / dt, nthreads * per,
	       fails ? ", FAILURES" : "");
	psrd_stream_close(s);
}

/* Client seals, hub opens, one thread: pad 64 B + MAC key 32 B per frame. */
static void bench_link(int frames)
{
	struct psrd_stream *tx = make_stream("lc2h", PSRD_SENDER, false, 8u << 20);
	struct psrd_stream *rx = NULL;
	struct link c = { .self = "client1", .peer = "hub1" }, h = { .self = "hub1", .peer = "client1" };
	uint8_t *pad = sodium_malloc(64), *got = sodium_malloc(64), body[160];
	int fails = 0;

	/* the hub's copy of the same bytes */
	size_t blk = 4u << 20;
	uint8_t *buf = malloc(blk);
	if (psrd_stream_open(dir, "lc2h-hub", PSRD_RECEIVER, false, &rx) < 0 || !buf || !pad || !got)
		exit(1);
	for (uint32_t id = 1; id <= 2; id++)
		if (psrd_stream_read(tx, (id - 1) * (uint64_t)blk, blk, buf) < 0 ||
		    psrd_stream_import(rx, id, (id - 1) * (uint64_t)blk, buf, blk) < 0)
			exit(1);
	free(buf);
	c.tx = tx;
	h.rx = rx;
	randombytes_buf(body, sizeof(body));
	double t0 = now();
	for (int i = 0; i < frames; i++) {
		struct wire_hdr hdr = { .type = WIRE_SHARE_PUT }, ph;
		const uint8_t *b;
		uint8_t *frame;
		size_t flen;
		uint64_t off;
		if (link_take_pad(&c, 64, &off, pad) < 0 ||
		    link_seal(&c, &hdr, body, sizeof(body), &frame, &flen) < 0) {
			fails++;
			continue;
		}
		struct link_pad p = { off, 64, got };
		if (wire_frame_parse(frame, flen, WIRE_FRAME_MAX_DEFAULT, &ph, &b) < 0 ||
		    link_open(&h, frame, flen, &ph, &p, 1) < 0)
			fails++;
		free(frame);
	}
	double dt = now() - t0;
	printf("link take_pad+seal+open (64 B pad, 1 thread): %8.0f frames/s (%d frames%s)\n",
	       frames / dt, frames, fails ? ", FAILURES" : "");
	sodium_free(pad);
	sodium_free(got);
	psrd_stream_close(tx);
	psrd_stream_close(rx);
}

int main(void)
{
	const char *base = getenv("DSKE_BENCH_DIR");

	if (sodium_init() < 0)
		return 1;
	snprintf(dir, sizeof(dir), "%s/bench_psrd.XXXXXX", base ? base : "/var/tmp");
	if (!mkdtemp(dir)) {
		perror("bench_psrd: mkdtemp");
		return 1;
	}
	bench_alloc("a32", 32, false);
	bench_alloc("a32audit", 32, true);
	bench_alloc("a1k", 1024, false);
	bench_accept("r1", 1, 1000);
	bench_accept("r8", 8, 500);
	bench_link(5000);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
