/* test_psrd.c — PSRD streams on disk: allocation, crash restart, receiver rules, torn state,
 * group commit. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>

#include "core/psrd.h"
#include "core/psrd_state.h"

static char tmpdir[256];

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_psrd.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static char *path_of(const char *name, const char *ext)
{
	static char p[2][512];   /* two, for rename(path_of(..), path_of(..)) */
	static int i;
	i ^= 1;
	snprintf(p[i], sizeof(p[i]), "%s/s/%s.%s", tmpdir, name, ext);
	return p[i];
}

static struct psrd_stream *open_ok(const char *name, enum psrd_role role, bool audit)
{
	struct psrd_stream *s = NULL;
	char dir[300];

	snprintf(dir, sizeof(dir), "%s/s", tmpdir);
	assert_int_equal(psrd_stream_open(dir, name, role, audit, &s), 0);
	assert_non_null(s);
	return s;
}

static int open_err(const char *name, enum psrd_role role)
{
	struct psrd_stream *s = NULL;
	char dir[300];

	snprintf(dir, sizeof(dir), "%s/s", tmpdir);
	int r = psrd_stream_open(dir, name, role, false, &s);
	if (r == 0)
		psrd_stream_close(s);
	return r;
}

/* Import `total` bytes of deterministic data as blocks of at most 4 MiB. */
static void import_bytes(struct psrd_stream *s, uint64_t total)
{
	struct psrd_info in;
	size_t blk = 4u << 20;
	uint8_t *buf = malloc(blk);

	assert_non_null(buf);
	psrd_stream_info(s, &in);
	while (total > 0) {
		size_t n = total < blk ? (size_t)total : blk;
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)((in.end + i) * 131 + 7) | 1;   /* never zero */
		assert_int_equal(psrd_stream_import(s, in.last_block_id + 1, in.end, buf, n), 0);
		psrd_stream_info(s, &in);
		total -= n;
	}
	free(buf);
}

static uint8_t expect_byte(uint64_t off, uint64_t block_start)
{
	return (uint8_t)((off) * 131 + 7) | 1;
}

/* Read the data file directly (not through the stream). */
static void file_read(const char *name, uint64_t off, size_t len, uint8_t *out)
{
	int fd = open(path_of(name, "data"), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, out, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static bool file_is_zero(const char *name, uint64_t off, size_t len)
{
	uint8_t *b = malloc(len);
	file_read(name, off, len, b);
	bool z = true;
	for (size_t i = 0; i < len; i++)
		z &= b[i] == 0;
	free(b);
	return z;
}

static bool file_is_intact(const char *name, uint64_t off, size_t len)
{
	uint8_t *b = malloc(len);
	file_read(name, off, len, b);
	bool ok = true;
	for (size_t i = 0; i < len; i++)
		ok &= b[i] == expect_byte(off + i, 0);
	free(b);
	return ok;
}

/* ------------------------------------------------------------------ import, read, open */

static void test_import_rules(void **state)
{
	struct psrd_stream *s = open_ok("imp", PSRD_SENDER, false);
	uint8_t a[100], b[50], out[150];
	struct psrd_info in;

	randombytes_buf(a, sizeof(a));
	randombytes_buf(b, sizeof(b));
	assert_int_equal(psrd_stream_import(s, 2, 0, a, sizeof(a)), -EINVAL);   /* not first */
	assert_int_equal(psrd_stream_import(s, 0, 0, a, sizeof(a)), -EINVAL);   /* id 0 */
	assert_int_equal(psrd_stream_import(s, 1, 10, a, sizeof(a)), -EINVAL);  /* gap */
	assert_int_equal(psrd_stream_import(s, 1, 0, a, 0), -EINVAL);           /* empty */
	assert_int_equal(psrd_stream_import(s, 1, 0, a, sizeof(a)), 0);
	assert_int_equal(psrd_stream_import(s, 1, 0, a, sizeof(a)), -EEXIST);
	assert_int_equal(psrd_stream_import(s, 1, 0, a, 99), -EINVAL);          /* not the same */
	assert_int_equal(psrd_stream_import(s, 3, 100, b, sizeof(b)), -EINVAL); /* out of order */
	assert_int_equal(psrd_stream_import(s, 2, 99, b, sizeof(b)), -EINVAL);  /* overlap */
	assert_int_equal(psrd_stream_import(s, 2, 100, b, sizeof(b)), 0);
	assert_int_equal(psrd_stream_import(s, 1, 0, a, sizeof(a)), -EEXIST);   /* older block */
	assert_int_equal(psrd_stream_import(s, 2, 100, b, sizeof(b)), -EEXIST);
	psrd_stream_info(s, &in);
	assert_int_equal(in.end, 150);
	assert_int_equal(in.blocks, 2);
	assert_int_equal(in.last_block_id, 2);
	assert_int_equal(in.remaining, 150);
	assert_int_equal(psrd_stream_read(s, 0, 150, out), 0);
	assert_memory_equal(out, a, 100);
	assert_memory_equal(out + 100, b, 50);
	assert_int_equal(psrd_stream_read(s, 100, 51, out), -ERANGE);
	assert_int_equal(psrd_stream_read(s, UINT64_MAX, 2, out), -ERANGE);
	assert_int_equal(psrd_stream_wipe(s, 140, 11), -ERANGE);
	/* the stream is locked while open */
	assert_int_equal(open_err("imp", PSRD_SENDER), -EBUSY);
	psrd_stream_close(s);

	/* durable: reopen, same info and bytes; the other role is refused */
	assert_int_equal(open_err("imp", PSRD_RECEIVER), -EINVAL);
	s = open_ok("imp", PSRD_SENDER, false);
	psrd_stream_info(s, &in);
	assert_int_equal(in.end, 150);
	assert_int_equal(in.last_block_id, 2);
	memset(out, 0, sizeof(out));
	assert_int_equal(psrd_stream_read(s, 0, 150, out), 0);
	assert_memory_equal(out + 100, b, 50);
	assert_int_equal(psrd_stream_wipe(s, 10, 20), 0);
	assert_true(file_is_zero("imp", 10, 20));
	psrd_stream_close(s);
	psrd_stream_close(NULL);

	/* bad names and arguments */
	struct psrd_stream *x = NULL;
	assert_int_equal(psrd_stream_open(tmpdir, "a/b", PSRD_SENDER, false, &x), -EINVAL);
	assert_int_equal(psrd_stream_open(tmpdir, "", PSRD_SENDER, false, &x), -EINVAL);
	assert_int_equal(psrd_stream_open(tmpdir, "..", PSRD_SENDER, false, &x), -EINVAL);
	assert_int_equal(psrd_stream_open(tmpdir, "ok", (enum psrd_role)7, false, &x), -EINVAL);
	assert_null(x);
}

static void test_lost_state_refused(void **state)
{
	struct psrd_stream *s = open_ok("lost", PSRD_SENDER, false);
	uint64_t off;

	import_bytes(s, 4096);
	assert_int_equal(psrd_stream_alloc(s, 100, &off), 0);
	psrd_stream_close(s);
	/* state without data (or with less than was imported): the bytes are gone */
	assert_int_equal(rename(path_of("lost", "data"), path_of("lost", "data.x")), 0);
	assert_int_equal(open_err("lost", PSRD_SENDER), -EBADMSG);
	assert_int_equal(truncate(path_of("lost", "data.x"), 4095), 0);
	assert_int_equal(rename(path_of("lost", "data.x"), path_of("lost", "data")), 0);
	assert_int_equal(open_err("lost", PSRD_SENDER), -EBADMSG);
	assert_int_equal(truncate(path_of("lost", "data"), 4096), 0);
	s = open_ok("lost", PSRD_SENDER, false);
	psrd_stream_close(s);
	/* data without state: restarting from 0 would reuse pads */
	assert_int_equal(unlink(path_of("lost", "state")), 0);
	assert_int_equal(open_err("lost", PSRD_SENDER), -EBADMSG);
	/* an empty state file is corrupt too */
	int fd = open(path_of("lost", "state"), O_WRONLY | O_CREAT, 0600);
	close(fd);
	assert_int_equal(open_err("lost", PSRD_SENDER), -EBADMSG);
}

/* ------------------------------------------------------------------ sender */

static void test_alloc_no_overlap(void **state)
{
	const uint64_t end = 16u << 20;
	struct psrd_stream *s = open_ok("alloc", PSRD_SENDER, true);
	struct psrd_info in, in2;
	uint64_t prev_end = 0, off;

	import_bytes(s, end);
	for (int i = 0; i < 100000; i++) {
		uint64_t len = 1 + randombytes_uniform(300);
		assert_int_equal(psrd_stream_alloc(s, len, &off), 0);
		assert_true(off >= prev_end);
		assert_true(off + len <= end);
		prev_end = off + len;
	}
	psrd_stream_info(s, &in);
	assert_int_equal(in.next, prev_end);
	assert_true(in.reserved >= in.next);
	assert_true(in.reserved - in.next <= psrd_reserve_step(in.end));
	assert_int_equal(in.remaining, end - prev_end);
	/* exhaust: -ENOSPC changes nothing */
	assert_int_equal(psrd_stream_alloc(s, in.remaining + 1, &off), -ENOSPC);
	psrd_stream_info(s, &in2);
	assert_memory_equal(&in, &in2, sizeof(in));
	assert_int_equal(psrd_stream_alloc(s, in.remaining, &off), 0);
	assert_int_equal(off + in.remaining, end);
	assert_int_equal(psrd_stream_alloc(s, 1, &off), -ENOSPC);
	assert_int_equal(psrd_stream_alloc(s, 0, &off), -EINVAL);
	assert_int_equal(psrd_stream_accept(s, &(struct psrd_range){ 0, 1 }, 1), -EINVAL);
	psrd_stream_close(s);

	/* the audit file has one line per allocation, in order, disjoint */
	FILE *f = fopen(path_of("alloc", "audit"), "r");
	unsigned long long ao, al, lines = 0, at = 0;
	assert_non_null(f);
	while (fscanf(f, "%llu %llu\n", &ao, &al) == 2) {
		assert_true(ao >= at);
		at = ao + al;
		lines++;
	}
	fclose(f);
	assert_int_equal(lines, 100001);
	assert_int_equal(at, end);
}

static void test_reserve_step_scales(void **state)
{
	assert_int_equal(psrd_reserve_step(0), PSRD_RESERVE_STEP_MIN);
	assert_int_equal(psrd_reserve_step(64u << 10), PSRD_RESERVE_STEP_MIN);
	assert_int_equal(psrd_reserve_step(1u << 20), 16u << 10);
	assert_int_equal(psrd_reserve_step(4u << 20), 64u << 10);
	assert_int_equal(psrd_reserve_step(64u << 20), PSRD_RESERVE_STEP);
	assert_int_equal(psrd_reserve_step(1ull << 34), PSRD_RESERVE_STEP);
}

static void test_restart_and_advance(void **state)
{
	struct psrd_stream *s = open_ok("adv", PSRD_SENDER, false);
	struct psrd_info in;
	uint64_t off;

	import_bytes(s, 8u << 20);
	assert_int_equal(psrd_stream_alloc(s, 10, &off), 0);
	assert_int_equal(off, 0);
	psrd_stream_info(s, &in);
	assert_int_equal(in.reserved, psrd_reserve_step(8u << 20));     /* 8 MiB / 64 = 128 KiB */
	assert_int_equal(in.reserved, 128u << 10);
	psrd_stream_close(s);

	/* restart from the reservation mark */
	s = open_ok("adv", PSRD_SENDER, false);
	assert_int_equal(psrd_stream_alloc(s, 10, &off), 0);
	assert_int_equal(off, 128u << 10);
	/* rollback defence: a peer's accepted mark far ahead */
	assert_int_equal(psrd_stream_advance(s, 2500000), 0);
	assert_int_equal(psrd_stream_advance(s, 5), 0);       /* never backwards */
	assert_int_equal(psrd_stream_alloc(s, 10, &off), 0);
	assert_int_equal(off, 2500000);
	psrd_stream_close(s);
	s = open_ok("adv", PSRD_SENDER, false);
	assert_int_equal(psrd_stream_alloc(s, 10, &off), 0);
	assert_int_equal(off, 2500000 + (128u << 10));
	/* advancing past the end exhausts the stream, durably */
	assert_int_equal(psrd_stream_advance(s, 9u << 20), 0);
	assert_int_equal(psrd_stream_alloc(s, 1, &off), -ENOSPC);
	psrd_stream_info(s, &in);
	assert_int_equal(in.remaining, 0);
	psrd_stream_close(s);
	s = open_ok("adv", PSRD_SENDER, false);
	assert_int_equal(psrd_stream_alloc(s, 1, &off), -ENOSPC);
	/* more data: usable only up to the confirmed peer end */
	import_bytes(s, 2u << 20);       /* end = 10 MiB */
	psrd_stream_set_peer_end(s, (9u << 20) + 100);
	assert_int_equal(psrd_stream_alloc(s, 101, &off), -ENOSPC);
	assert_int_equal(psrd_stream_alloc(s, 100, &off), 0);
	assert_int_equal(off, 9u << 20);
	psrd_stream_close(s);
	s = open_ok("adv", PSRD_SENDER, false);     /* the peer end is durable */
	psrd_stream_info(s, &in);
	assert_int_equal(in.peer_end, (9u << 20) + 100);
	assert_int_equal(psrd_stream_alloc(s, 1, &off), -ENOSPC);
	psrd_stream_set_peer_end(s, 10u << 20);
	/* this process restarted at the reservation mark: 9 MiB + one step of a 10 MiB stream */
	assert_int_equal(psrd_stream_alloc(s, 1, &off), 0);
	assert_int_equal(off, (9u << 20) + psrd_reserve_step(10u << 20));
	assert_int_equal(psrd_stream_advance(s, 10u << 20), 0);    /* the rest used up */
	assert_int_equal(psrd_stream_alloc(s, 1, &off), -ENOSPC);
	import_bytes(s, 1u << 20);
	assert_int_equal(psrd_stream_alloc(s, 1, &off), -ENOSPC);   /* not confirmed yet */
	psrd_stream_set_peer_end(s, 11u << 20);
	assert_int_equal(psrd_stream_alloc(s, 1, &off), 0);
	assert_int_equal(off, 10u << 20);
	assert_int_equal(psrd_stream_advance(NULL, 1), -EINVAL);
	psrd_stream_close(s);
	s = open_ok("rcv-adv", PSRD_RECEIVER, false);
	assert_int_equal(psrd_stream_advance(s, 1), -EINVAL);
	assert_int_equal(psrd_stream_alloc(s, 1, &off), -EINVAL);
	psrd_stream_close(s);
}

/* A child allocates until SIGKILLed; after reopening nothing it handed out is handed out again. */
static void test_sigkill_restart(void **state)
{
	struct psrd_stream *s = open_ok("kill", PSRD_SENDER, true);
	char dir[300];
	uint64_t max_end = 0;

	import_bytes(s, 48u << 20);
	psrd_stream_close(s);
	snprintf(dir, sizeof(dir), "%s/s", tmpdir);
	for (int run = 0; run < 6; run++) {
		int fds[2];
		assert_int_equal(pipe(fds), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct psrd_stream *c = NULL;
			close(fds[0]);
			if (psrd_stream_open(dir, "kill", PSRD_SENDER, true, &c) < 0)
				_exit(2);
			for (;;) {
				uint64_t rec[2];
				rec[1] = 1 + randombytes_uniform(16384);
				if (psrd_stream_alloc(c, rec[1], &rec[0]) < 0)
					_exit(3);
				if (write(fds[1], rec, sizeof(rec)) != sizeof(rec))
					_exit(4);
			}
		}
		close(fds[1]);
		uint32_t want = 20 + randombytes_uniform(400), got = 0;
		uint64_t rec[2];
		while (read(fds[0], rec, sizeof(rec)) == sizeof(rec)) {
			assert_true(rec[0] >= max_end);   /* also never below an earlier run's */
			max_end = rec[0] + rec[1];
			if (++got == want)
				kill(pid, SIGKILL);
		}
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		close(fds[0]);
		assert_true(got >= want);

		s = open_ok("kill", PSRD_SENDER, true);
		uint64_t off;
		assert_int_equal(psrd_stream_alloc(s, 1, &off), 0);
		assert_true(off >= max_end);
		max_end = off + 1;
		psrd_stream_close(s);
	}
	/* every allocation of every process is in the audit file, none overlapping */
	FILE *f = fopen(path_of("kill", "audit"), "r");
	unsigned long long ao, al, at = 0;
	int lines = 0;
	assert_non_null(f);
	while (fscanf(f, "%llu %llu\n", &ao, &al) == 2) {
		assert_true(ao >= at);
		at = ao + al;
		lines++;
	}
	fclose(f);
	assert_true(lines > 6 * 20);
	assert_true(at >= max_end);
}

/* ------------------------------------------------------------------ receiver */

static void expect_refused(struct psrd_stream *s, const char *name, const struct psrd_range *r,
                           size_t n, int err)
{
	struct psrd_info a, b;

	psrd_stream_info(s, &a);
	assert_int_equal(psrd_stream_check(s, r, n), err);
	assert_int_equal(psrd_stream_accept(s, r, n), err);
	psrd_stream_info(s, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	/* burns nothing: the bytes inside the stream are still there */
	for (size_t i = 0; i < n; i++) {
		if (r[i].len == 0 || r[i].off >= a.end)
			continue;
		uint64_t len = r[i].len < a.end - r[i].off ? r[i].len : a.end - r[i].off;
		bool used_before = r[i].off < a.mark;   /* behind mark: wiped long ago */
		if (!used_before && len <= 4096 && err != -ESTALE)
			assert_true(file_is_intact(name, r[i].off, (size_t)len));
	}
}

static void test_receiver_rules(void **state)
{
	struct psrd_stream *s = open_ok("rcv", PSRD_RECEIVER, false);
	const uint64_t end = 1u << 20;
	struct psrd_info in;

	import_bytes(s, end);
	struct psrd_range a = { 100, 50 };
	assert_int_equal(psrd_stream_check(s, &a, 1), 0);
	psrd_stream_info(s, &in);
	assert_int_equal(in.remaining, end);                  /* check changes nothing */
	assert_true(file_is_intact("rcv", 100, 50));
	assert_int_equal(psrd_stream_accept(s, &a, 1), 0);
	assert_int_equal(psrd_stream_sync(s), 0);
	assert_true(file_is_zero("rcv", 100, 50));
	assert_true(file_is_intact("rcv", 90, 10));
	assert_true(file_is_intact("rcv", 150, 10));
	psrd_stream_info(s, &in);
	assert_int_equal(in.mark, 0);
	assert_int_equal(in.next, 150);
	assert_int_equal(in.remaining, end - 50);

	/* replay */
	expect_refused(s, "rcv", &a, 1, -ESTALE);
	/* overlapping a used range from either side, or inside it */
	expect_refused(s, "rcv", &(struct psrd_range){ 90, 11 }, 1, -ESTALE);
	expect_refused(s, "rcv", &(struct psrd_range){ 149, 5 }, 1, -ESTALE);
	expect_refused(s, "rcv", &(struct psrd_range){ 120, 1 }, 1, -ESTALE);
	expect_refused(s, "rcv", &(struct psrd_range){ 0, 1000 }, 1, -ESTALE);
	/* a good range together with a replayed one: the whole frame is refused */
	struct psrd_range mix[2] = { { 200, 10 }, { 100, 50 } };
	expect_refused(s, "rcv", mix, 2, -ESTALE);
	assert_true(file_is_intact("rcv", 200, 10));
	/* overlapping each other */
	struct psrd_range pair[2] = { { 300, 10 }, { 305, 10 } };
	expect_refused(s, "rcv", pair, 2, -ESTALE);
	struct psrd_range dup[2] = { { 300, 10 }, { 300, 10 } };
	expect_refused(s, "rcv", dup, 2, -ESTALE);
	struct psrd_range many[40];
	for (int i = 0; i < 40; i++)
		many[i] = (struct psrd_range){ 10000 + 100 * (uint64_t)(39 - i), 100 };
	many[20].len = 101;                                   /* touches its right neighbour */
	expect_refused(s, "rcv", many, 40, -ESTALE);
	/* beyond the end, or wrapping around */
	expect_refused(s, "rcv", &(struct psrd_range){ end - 10, 11 }, 1, -ERANGE);
	expect_refused(s, "rcv", &(struct psrd_range){ end, 1 }, 1, -ERANGE);
	expect_refused(s, "rcv", &(struct psrd_range){ UINT64_MAX - 5, 10 }, 1, -ERANGE);
	/* too many ranges in one frame */
	struct psrd_range *lots = calloc(PSRD_MAX_USED_RANGES, sizeof(*lots));
	for (int i = 0; i < PSRD_MAX_USED_RANGES; i++)
		lots[i] = (struct psrd_range){ 200000 + 2 * (uint64_t)i, 1 };
	expect_refused(s, "rcv", lots, PSRD_MAX_USED_RANGES, -ENOSPC);
	free(lots);

	/* the same 40 ranges without the overlap are fine */
	many[20].len = 100;
	assert_int_equal(psrd_stream_accept(s, many, 40), 0);
	assert_true(file_is_zero("rcv", 10000, 4000));
	/* the mark advances over contiguous used ranges */
	assert_int_equal(psrd_stream_accept(s, &(struct psrd_range){ 0, 100 }, 1), 0);
	psrd_stream_info(s, &in);
	assert_int_equal(in.mark, 150);
	assert_int_equal(psrd_stream_accept(s, &(struct psrd_range){ 150, 9850 }, 1), 0);
	psrd_stream_info(s, &in);
	assert_int_equal(in.mark, 14000);
	assert_int_equal(in.remaining, end - 14000);
	expect_refused(s, "rcv", &(struct psrd_range){ 13999, 2 }, 1, -ESTALE);
	/* a genuine frame far ahead (sender restarted from its reservation mark) */
	struct psrd_range far = { 900000, 64 };
	assert_int_equal(psrd_stream_accept(s, &far, 1), 0);
	psrd_stream_info(s, &in);
	assert_int_equal(in.mark, 14000);
	assert_int_equal(in.next, 900064);
	assert_int_equal(in.remaining, end - 14000 - 64);
	/* zero-length ranges name nothing */
	assert_int_equal(psrd_stream_check(s, &(struct psrd_range){ 5, 0 }, 1), 0);
	assert_int_equal(psrd_stream_sync(s), 0);
	psrd_stream_count_rejected(s);
	psrd_stream_info(s, &in);
	assert_true(in.rejected >= 1);
	psrd_stream_close(s);

	/* durable: reopen, the same refusals */
	s = open_ok("rcv", PSRD_RECEIVER, false);
	struct psrd_info in2;
	psrd_stream_info(s, &in2);
	assert_int_equal(in2.mark, 14000);
	assert_int_equal(in2.next, 900064);
	assert_int_equal(in2.remaining, in.remaining);
	expect_refused(s, "rcv", &far, 1, -ESTALE);
	expect_refused(s, "rcv", &a, 1, -ESTALE);
	assert_int_equal(psrd_stream_accept(s, &(struct psrd_range){ 899990, 10 }, 1), 0);
	psrd_stream_close(s);
}

/* Many holes: the lowest gap is abandoned so the used set stays bounded. */
static void test_receiver_holes(void **state)
{
	struct psrd_stream *s = open_ok("holes", PSRD_RECEIVER, false);
	struct psrd_info in;
	const int n = PSRD_MAX_USED_RANGES / 2 + 10;

	import_bytes(s, 1u << 20);
	for (int i = 0; i < n; i++) {
		struct psrd_range r = { 1000 + 10 * (uint64_t)i, 5 };
		assert_int_equal(psrd_stream_accept(s, &r, 1), 0);
	}
	assert_int_equal(psrd_stream_sync(s), 0);
	psrd_stream_info(s, &in);
	/* 10 holes given up, the first at [0, 1000) */
	assert_int_equal(in.mark, 1000 + 10 * 10 - 5);
	assert_true(file_is_zero("holes", 0, 1000));
	expect_refused(s, "holes", &(struct psrd_range){ 500, 1 }, 1, -ESTALE);
	expect_refused(s, "holes", &(struct psrd_range){ 1000 + 10 * 9, 5 }, 1, -ESTALE);
	assert_int_equal(psrd_stream_accept(s, &(struct psrd_range){ 1000 + 10 * 20 + 5, 5 }, 1), 0);
	psrd_stream_close(s);
	s = open_ok("holes", PSRD_RECEIVER, false);
	expect_refused(s, "holes", &(struct psrd_range){ 1000 + 10 * 20 + 5, 5 }, 1, -ESTALE);
	psrd_stream_close(s);
}

/* ------------------------------------------------------------------ torn state */

static uint64_t slot_seq(const char *name, unsigned slot, bool *ok)
{
	uint8_t *buf = calloc(1, PSRD_SLOT_MAX);
	struct psrd_state *st = malloc(sizeof(*st));
	int fd = open(path_of(name, "state"), O_RDONLY);
	uint64_t seq = 0;

	assert_true(fd >= 0);
	ssize_t n = pread(fd, buf, PSRD_SLOT_MAX, (off_t)slot * PSRD_SLOT_STRIDE);
	*ok = n > 0 && psrd_state_decode(buf, (size_t)n, st) == 0;
	if (*ok)
		seq = st->seq;
	close(fd);
	free(buf);
	free(st);
	return seq;
}

static void corrupt_slot(const char *name, unsigned slot, uint64_t at)
{
	int fd = open(path_of(name, "state"), O_RDWR);
	uint8_t b;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, (off_t)(slot * PSRD_SLOT_STRIDE + at)), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)(slot * PSRD_SLOT_STRIDE + at)), 1);
	close(fd);
}

static void test_torn_state(void **state)
{
	struct psrd_stream *s = open_ok("torn", PSRD_RECEIVER, false);
	struct psrd_info in;
	bool ok0, ok1;

	import_bytes(s, 65536);
	assert_int_equal(psrd_stream_accept(s, &(struct psrd_range){ 0, 100 }, 1), 0);
	assert_int_equal(psrd_stream_sync(s), 0);
	assert_int_equal(psrd_stream_accept(s, &(struct psrd_range){ 100, 100 }, 1), 0);
	assert_int_equal(psrd_stream_sync(s), 0);
	psrd_stream_close(s);
	uint64_t q0 = slot_seq("torn", 0, &ok0), q1 = slot_seq("torn", 1, &ok1);
	assert_true(ok0 && ok1);
	unsigned newest = q1 > q0 ? 1 : 0;

	/* the newest slot torn (its write never completed): the older one is loaded */
	corrupt_slot("torn", newest, 40);
	s = open_ok("torn", PSRD_RECEIVER, false);
	psrd_stream_info(s, &in);
	assert_int_equal(in.mark, 100);
	assert_int_equal(psrd_stream_accept(s, &(struct psrd_range){ 100, 28 }, 1), 0);
	assert_int_equal(psrd_stream_sync(s), 0);    /* rewrites the torn slot */
	psrd_stream_close(s);
	slot_seq("torn", newest, &ok0);
	assert_true(ok0);

	/* the older slot damaged: the newest is used */
	s = open_ok("torn", PSRD_RECEIVER, false);
	psrd_stream_info(s, &in);
	assert_int_equal(in.mark, 128);
	psrd_stream_close(s);
	corrupt_slot("torn", !newest, 90);
	s = open_ok("torn", PSRD_RECEIVER, false);
	psrd_stream_info(s, &in);
	assert_int_equal(in.mark, 128);
	psrd_stream_close(s);

	/* both damaged: refused, never started from scratch */
	corrupt_slot("torn", newest, PSRD_SLOT_HDR - 1);
	assert_int_equal(open_err("torn", PSRD_RECEIVER), -EBADMSG);
}

static void test_state_decode(void **state)
{
	struct psrd_state *st = calloc(1, sizeof(*st)), *out = calloc(1, sizeof(*out));
	uint8_t *buf = malloc(PSRD_SLOT_MAX);

	st->role = PSRD_RECEIVER;
	st->seq = 7;
	st->nblocks = 2;
	st->blocks[0] = (struct psrd_block){ 1, 0, 1000 };
	st->blocks[1] = (struct psrd_block){ 2, 1000, 24 };
	st->end = 1024;
	st->mark = 10;
	st->nused = 2;
	st->used[0] = (struct psrd_range){ 20, 5 };
	st->used[1] = (struct psrd_range){ 30, 5 };
	st->high = 35;
	size_t len = psrd_state_encode(st, buf);
	assert_int_equal(len, PSRD_SLOT_HDR + 2 * 20 + 2 * 16 + PSRD_SLOT_SUM);
	assert_int_equal(psrd_state_decode(buf, len, out), 0);
	assert_int_equal(out->seq, 7);
	assert_int_equal(out->used[1].off, 30);
	assert_int_equal(psrd_state_decode(buf, len - 1, out), -EBADMSG);
	/* every single flipped bit is caught */
	for (size_t i = 0; i < len * 8; i++) {
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(psrd_state_decode(buf, len, out), -EBADMSG);
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	/* inconsistent states are refused even with a good checksum */
	st->used[1].off = 25;                         /* adjacent: not coalesced */
	len = psrd_state_encode(st, buf);
	assert_int_equal(psrd_state_decode(buf, len, out), -EBADMSG);
	st->used[1].off = 30;
	st->used[0].off = 10;                         /* at the mark */
	len = psrd_state_encode(st, buf);
	assert_int_equal(psrd_state_decode(buf, len, out), -EBADMSG);
	st->used[0].off = 20;
	st->blocks[1].start = 1001;                   /* gap between blocks */
	len = psrd_state_encode(st, buf);
	assert_int_equal(psrd_state_decode(buf, len, out), -EBADMSG);
	free(st);
	free(out);
	free(buf);
}

/* ------------------------------------------------------------------ group commit */

#define NTHREADS 8
#define PER_THREAD 300
#define RLEN 32

struct worker {
	struct psrd_stream *s;
	int t;
	int fails;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		struct psrd_range r = { ((uint64_t)i * NTHREADS + (uint64_t)w->t) * RLEN, RLEN };
		if (psrd_stream_accept(w->s, &r, 1) != 0 || psrd_stream_sync(w->s) != 0)
			w->fails++;
	}
	return NULL;
}

static void test_group_commit(void **state)
{
	struct psrd_stream *s = open_ok("gc", PSRD_RECEIVER, false);
	pthread_t th[NTHREADS];
	struct worker w[NTHREADS];
	const uint64_t total = (uint64_t)NTHREADS * PER_THREAD * RLEN;

	import_bytes(s, total + 4096);
	for (int t = 0; t < NTHREADS; t++) {
		w[t] = (struct worker){ s, t, 0 };
		assert_int_equal(pthread_create(&th[t], NULL, worker_run, &w[t]), 0);
	}
	for (int t = 0; t < NTHREADS; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		assert_int_equal(w[t].fails, 0);
	}
	/* on disk now, without close: read the state file behind the stream's back */
	struct psrd_state *st = malloc(sizeof(*st));
	int fd = open(path_of("gc", "state"), O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(psrd_state_load(fd, st), 0);
	close(fd);
	assert_int_equal(st->mark, total);
	assert_int_equal(st->nused, 0);
	free(st);
	assert_true(file_is_zero("gc", 0, (size_t)total));
	assert_true(file_is_intact("gc", total, 4096));
	psrd_stream_close(s);
	s = open_ok("gc", PSRD_RECEIVER, false);
	for (int i = 0; i < 50; i++) {
		struct psrd_range r = { randombytes_uniform((uint32_t)total - RLEN), RLEN };
		expect_refused(s, "gc", &r, 1, -ESTALE);
	}
	psrd_stream_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_import_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_state_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_no_overlap, setup, teardown),
		cmocka_unit_test(test_reserve_step_scales),
		cmocka_unit_test_setup_teardown(test_restart_and_advance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigkill_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receiver_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receiver_holes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_state, setup, teardown),
		cmocka_unit_test(test_state_decode),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
