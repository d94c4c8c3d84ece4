/* psrd.c — PSRD streams on disk: open/import, sender allocation, receiver accept, group commit.
 * The durable state format lives in psrd_state.c. */
#include "core/psrd.h"
#include "core/psrd_state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#define NAME_MAX_LEN 200
/* receiver: above this many used ranges the lowest gap is abandoned (see accept_locked) */
#define USED_KEEP (PSRD_MAX_USED_RANGES / 2)

static const uint8_t zeros[1 << 16];

struct psrd_stream {
	pthread_mutex_t lock;
	pthread_cond_t cond;          /* a commit finished */
	pthread_mutex_t import_lock;  /* one import at a time */
	enum psrd_role role;
	int data_fd, state_fd, audit_fd;
	uint8_t *wbuf;                /* encoded slot being written (owned by the committer) */
	uint64_t gen_changed;         /* bumped by every change of st */
	uint64_t gen_durable;         /* the last generation on disk */
	bool committing;              /* a thread is writing wbuf, without the lock */
	int broken;                   /* a state write failed: every later change fails with it */
	uint64_t reserved_durable;    /* sender: the reservation mark known to be on disk */
	uint64_t next;                /* sender: next offset to hand out */
	uint64_t allocated_total;
	uint64_t rejected;
	uint64_t used_bytes;          /* receiver: bytes in st.used */
	struct psrd_state st;         /* current state (large: keep last) */
};

/* ------------------------------------------------------------------ files */

static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= NAME_MAX_LEN && !strchr(name, '/') && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

/* mkdir -p, new directories 0700. */
static int mkdir_p(const char *dir)
{
	char path[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return -EINVAL;
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

/* A fresh state (one slot) via NAME.state.tmp + rename, so NAME.state never exists half-made. */
static int state_create(int dfd, const char *name, enum psrd_role role, struct psrd_stream *s)
{
	char tmp[NAME_MAX_LEN + 16], fin[NAME_MAX_LEN + 16];
	int fd = -1, r;

	snprintf(tmp, sizeof(tmp), "%s.state.tmp", name);
	snprintf(fin, sizeof(fin), "%s.state", name);
	memset(&s->st, 0, sizeof(s->st));
	s->st.role = role;
	s->st.seq = 0;
	size_t len = psrd_state_encode(&s->st, s->wbuf);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = psrd_state_write(fd, s->wbuf, len, 0);
	if (r < 0)
		goto out;
	if (renameat(dfd, tmp, dfd, fin) < 0 || fsync(dfd) < 0) {
		r = -errno;
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

static int open_files(struct psrd_stream *s, const char *dir, const char *name, bool audit)
{
	char path[NAME_MAX_LEN + 16];
	struct stat sb;
	int dfd, r;

	r = mkdir_p(dir);
	if (r < 0)
		return r;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;

	snprintf(path, sizeof(path), "%s.state", name);
	s->state_fd = openat(dfd, path, O_RDWR | O_CLOEXEC);
	if (s->state_fd < 0 && errno == ENOENT) {
		/* no state: a fresh stream, unless data exists (state lost: refuse, never restart
		 * a sender from offset 0 over used pads) */
		snprintf(path, sizeof(path), "%s.data", name);
		if (fstatat(dfd, path, &sb, 0) == 0 && sb.st_size > 0) {
			r = -EBADMSG;
			goto out;
		}
		s->data_fd = openat(dfd, path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (s->data_fd < 0) {
			r = -errno;
			goto out;
		}
		r = state_create(dfd, name, s->role, s);
		if (r < 0)
			goto out;
		snprintf(path, sizeof(path), "%s.state", name);
		s->state_fd = openat(dfd, path, O_RDWR | O_CLOEXEC);
	}
	if (s->state_fd < 0) {
		r = -errno;
		goto out;
	}
	if (flock(s->state_fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto out;
	}
	r = psrd_state_load(s->state_fd, &s->st);
	if (r == -ENODATA)
		r = -EBADMSG;
	if (r < 0)
		goto out;
	if (s->st.role != (uint32_t)s->role) {
		r = -EINVAL;
		goto out;
	}
	if (s->data_fd < 0) {
		snprintf(path, sizeof(path), "%s.data", name);
		s->data_fd = openat(dfd, path, O_RDWR | O_CLOEXEC);
		if (s->data_fd < 0 && errno == ENOENT && s->st.end == 0) {
			s->data_fd = openat(dfd, path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
			if (s->data_fd >= 0 && fsync(dfd) < 0) {
				r = -errno;
				goto out;
			}
		}
		if (s->data_fd < 0) {
			r = errno == ENOENT ? -EBADMSG : -errno;   /* imported bytes missing */
			goto out;
		}
	}
	if (fstat(s->data_fd, &sb) < 0) {
		r = -errno;
		goto out;
	}
	if ((uint64_t)sb.st_size < s->st.end) {
		r = -EBADMSG;   /* imported bytes missing */
		goto out;
	}
	if (audit) {
		snprintf(path, sizeof(path), "%s.audit", name);
		s->audit_fd = openat(dfd, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (s->audit_fd < 0) {
			r = -errno;
			goto out;
		}
	}
	r = 0;
out:
	close(dfd);
	return r;
}

static void stream_free(struct psrd_stream *s)
{
	if (s->data_fd >= 0)
		close(s->data_fd);
	if (s->state_fd >= 0)
		close(s->state_fd);
	if (s->audit_fd >= 0)
		close(s->audit_fd);
	free(s->wbuf);
	free(s);
}

int psrd_stream_open(const char *dir, const char *name, enum psrd_role role, bool audit,
                     struct psrd_stream **ret)
{
	struct psrd_stream *s = NULL;
	int r;

	if (!dir || !name || !ret || !name_ok(name) || (role != PSRD_SENDER && role != PSRD_RECEIVER))
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->data_fd = s->state_fd = s->audit_fd = -1;
	s->role = role;
	s->wbuf = malloc(PSRD_SLOT_MAX);
	if (!s->wbuf) {
		r = -ENOMEM;
		goto out;
	}
	r = open_files(s, dir, name, audit);
	if (r < 0)
		goto out;
	/* restart from the durable mark: offsets below it may have been handed out */
	s->next = s->st.reserved;
	s->reserved_durable = s->st.reserved;
	for (uint32_t i = 0; i < s->st.nused; i++)
		s->used_bytes += s->st.used[i].len;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->import_lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	*ret = s;
	s = NULL;
	r = 0;
out:
	if (s)
		stream_free(s);
	return r;
}

/* ------------------------------------------------------------------ group commit */

/* With s->lock held: return once generation target is durable. One thread (the committer)
 * encodes the current state, drops the lock, writes its slot and fdatasyncs; threads arriving
 * meanwhile wait and are covered by the next write, which one of them then makes. */
static int commit_locked(struct psrd_stream *s, uint64_t target)
{
	while (s->gen_durable < target) {
		if (s->broken)
			return s->broken;
		if (s->committing) {
			pthread_cond_wait(&s->cond, &s->lock);
			continue;
		}
		s->committing = true;
		uint64_t gen = s->gen_changed;
		uint64_t reserved = s->st.reserved;
		uint64_t seq = ++s->st.seq;
		size_t len = psrd_state_encode(&s->st, s->wbuf);
		pthread_mutex_unlock(&s->lock);
		int r = psrd_state_write(s->state_fd, s->wbuf, len, seq);
		pthread_mutex_lock(&s->lock);
		s->committing = false;
		if (r < 0) {
			s->broken = r;   /* after a failed fdatasync the file's contents are unknown */
		} else {
			s->gen_durable = gen;
			s->reserved_durable = reserved;
		}
		pthread_cond_broadcast(&s->cond);
	}
	return 0;
}

int psrd_stream_sync(struct psrd_stream *s)
{
	int r;

	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	r = s->broken ? s->broken : commit_locked(s, s->gen_changed);
	pthread_mutex_unlock(&s->lock);
	return r;
}

void psrd_stream_close(struct psrd_stream *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	if (!s->broken)
		(void)commit_locked(s, s->gen_changed);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->import_lock);
	pthread_cond_destroy(&s->cond);
	stream_free(s);
}

/* ------------------------------------------------------------------ import */

int psrd_stream_import(struct psrd_stream *s, uint32_t block_id, uint64_t start, const uint8_t *data,
                       size_t len)
{
	int r;

	if (!s || (!data && len > 0))
		return -EINVAL;
	pthread_mutex_lock(&s->import_lock);
	pthread_mutex_lock(&s->lock);
	if (s->broken) {
		r = s->broken;
		goto out_locked;
	}
	if (block_id >= 1 && block_id <= s->st.nblocks) {
		const struct psrd_block *b = &s->st.blocks[block_id - 1];
		r = b->start == start && b->len == len ? -EEXIST : -EINVAL;
		goto out_locked;
	}
	if (block_id != s->st.nblocks + 1 || start != s->st.end || len == 0 ||
	    len > UINT64_MAX - start) {
		r = -EINVAL;
		goto out_locked;
	}
	if (s->st.nblocks >= PSRD_MAX_BLOCKS) {
		r = -ENOSPC;
		goto out_locked;
	}
	/* [end, end + len) is read by no one until end moves (under the lock, below) */
	pthread_mutex_unlock(&s->lock);
	r = psrd_pwrite_all(s->data_fd, data, len, start);
	if (r == 0 && fdatasync(s->data_fd) < 0)
		r = -errno;
	pthread_mutex_lock(&s->lock);
	if (r < 0)
		goto out_locked;
	s->st.blocks[s->st.nblocks++] = (struct psrd_block){ block_id, start, len };
	s->st.end = start + len;
	s->gen_changed++;
	r = commit_locked(s, s->gen_changed);
out_locked:
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(&s->import_lock);
	return r;
}

/* ------------------------------------------------------------------ sender */

static uint64_t sender_limit(const struct psrd_stream *s)
{
	if ((s->st.flags & PSRD_STATE_PEER_END_SET) && s->st.peer_end < s->st.end)
		return s->st.peer_end;
	return s->st.end;
}

static int audit_write(struct psrd_stream *s, uint64_t off, uint64_t len)
{
	char line[48];
	int n = snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu64 "\n", off, len);

	for (;;) {
		ssize_t w = write(s->audit_fd, line, (size_t)n);
		if (w == n)
			return 0;
		if (w < 0 && errno == EINTR)
			continue;
		return w < 0 ? -errno : -EIO;
	}
}

int psrd_stream_alloc(struct psrd_stream *s, uint64_t len, uint64_t *ret_off)
{
	int r;

	if (!s || !ret_off || len == 0)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	if (s->role != PSRD_SENDER) {
		r = -EINVAL;
		goto out;
	}
	for (;;) {
		uint64_t limit = sender_limit(s);
		if (s->broken) {
			r = s->broken;
			goto out;
		}
		if (s->next > limit || len > limit - s->next) {
			r = -ENOSPC;
			goto out;
		}
		uint64_t need = s->next + len;
		if (need <= s->reserved_durable)
			break;
		if (s->st.reserved < need) {
			/* reserved < need <= limit <= end: one step up, capped at end, still covers need */
			uint64_t step = psrd_reserve_step(s->st.end);
			uint64_t to = s->st.end - s->st.reserved < step ? s->st.end : s->st.reserved + step;
			s->st.reserved = to > need ? to : need;
			s->gen_changed++;
		}
		r = commit_locked(s, s->gen_changed);
		if (r < 0)
			goto out;
	}
	if (s->audit_fd >= 0) {
		r = audit_write(s, s->next, len);
		if (r < 0)
			goto out;
	}
	*ret_off = s->next;
	s->next += len;
	s->allocated_total += len;
	r = 0;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int psrd_stream_advance(struct psrd_stream *s, uint64_t off)
{
	int r = 0;

	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	if (s->role != PSRD_SENDER) {
		r = -EINVAL;
		goto out;
	}
	if (s->broken) {
		r = s->broken;
		goto out;
	}
	if (off > s->st.reserved) {
		s->st.reserved = off;
		s->gen_changed++;
		r = commit_locked(s, s->gen_changed);
		if (r < 0)
			goto out;
	}
	if (off > s->next)
		s->next = off;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

void psrd_stream_set_peer_end(struct psrd_stream *s, uint64_t end)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->role == PSRD_SENDER &&
	    (!(s->st.flags & PSRD_STATE_PEER_END_SET) || s->st.peer_end != end)) {
		s->st.flags |= PSRD_STATE_PEER_END_SET;
		s->st.peer_end = end;
		s->gen_changed++;   /* durable with the next commit */
	}
	pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------------ bytes */

static uint64_t end_get(struct psrd_stream *s)
{
	pthread_mutex_lock(&s->lock);
	uint64_t end = s->st.end;
	pthread_mutex_unlock(&s->lock);
	return end;
}

int psrd_stream_read(struct psrd_stream *s, uint64_t off, uint64_t len, uint8_t *out)
{
	int r;

	if (!s || (!out && len > 0))
		return -EINVAL;
	uint64_t end = end_get(s);
	if (off > end || len > end - off)
		return -ERANGE;
	if (len > SIZE_MAX)
		return -E2BIG;
	r = psrd_pread_all(s->data_fd, out, (size_t)len, off);
	return r == -ENODATA ? -EIO : r;
}

static int wipe_bytes(struct psrd_stream *s, uint64_t off, uint64_t len)
{
	while (len > 0) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		int r = psrd_pwrite_all(s->data_fd, zeros, n, off);
		if (r < 0)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

int psrd_stream_wipe(struct psrd_stream *s, uint64_t off, uint64_t len)
{
	if (!s)
		return -EINVAL;
	uint64_t end = end_get(s);
	if (off > end || len > end - off)
		return -ERANGE;
	return wipe_bytes(s, off, len);
}

/* ------------------------------------------------------------------ receiver */

static bool overlap(const struct psrd_range *a, const struct psrd_range *b)
{
	return a->off < b->off + b->len && b->off < a->off + a->len;
}

/* Index of the first used range ending after off (used is sorted and disjoint). */
static uint32_t used_first_after(const struct psrd_stream *s, uint64_t off)
{
	uint32_t lo = 0, hi = s->st.nused;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct psrd_range *u = &s->st.used[mid];
		if (u->off + u->len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int range_cmp(const void *a, const void *b)
{
	const struct psrd_range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Do the non-empty ranges of r[n] overlap each other? */
static int ranges_disjoint(const struct psrd_range *r, size_t n, bool *ret)
{
	if (n <= 16) {
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (r[i].len && r[j].len && overlap(&r[i], &r[j])) {
					*ret = false;
					return 0;
				}
		*ret = true;
		return 0;
	}
	struct psrd_range *c = malloc(n * sizeof(*c));
	size_t m = 0;
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (r[i].len)
			c[m++] = r[i];
	qsort(c, m, sizeof(*c), range_cmp);
	*ret = true;
	for (size_t i = 1; i < m; i++)
		if (c[i].off < c[i - 1].off + c[i - 1].len)
			*ret = false;
	free(c);
	return 0;
}

/* Zero-length ranges name no bytes: they are always acceptable and record nothing. */
static int check_locked(struct psrd_stream *s, const struct psrd_range *r, size_t n)
{
	bool disjoint;
	int e;

	if (s->role != PSRD_RECEIVER || (!r && n > 0))
		return -EINVAL;
	if (s->broken)
		return s->broken;
	if (n > USED_KEEP)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++) {
		if (r[i].len == 0)
			continue;
		if (r[i].off < s->st.mark)
			return -ESTALE;
		if (r[i].off > s->st.end || r[i].len > s->st.end - r[i].off)
			return -ERANGE;
		uint32_t k = used_first_after(s, r[i].off);
		if (k < s->st.nused && overlap(&r[i], &s->st.used[k]))
			return -ESTALE;
	}
	e = ranges_disjoint(r, n, &disjoint);
	if (e < 0)
		return e;
	return disjoint ? 0 : -ESTALE;
}

int psrd_stream_check(struct psrd_stream *s, const struct psrd_range *r, size_t n)
{
	int e;

	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	e = check_locked(s, r, n);
	pthread_mutex_unlock(&s->lock);
	return e;
}

static void used_remove_first(struct psrd_stream *s)
{
	s->st.nused--;
	memmove(&s->st.used[0], &s->st.used[1], s->st.nused * sizeof(s->st.used[0]));
}

/* Record [off, off+len) (checked: above mark, disjoint from used) and coalesce neighbours. */
static void used_insert(struct psrd_stream *s, uint64_t off, uint64_t len)
{
	struct psrd_range *u = s->st.used;
	uint32_t i = used_first_after(s, off);   /* first range after the new one */
	bool join_prev = i > 0 && u[i - 1].off + u[i - 1].len == off;
	bool join_next = i < s->st.nused && off + len == u[i].off;

	s->used_bytes += len;
	if (join_prev && join_next) {
		u[i - 1].len += len + u[i].len;
		s->st.nused--;
		memmove(&u[i], &u[i + 1], (s->st.nused - i) * sizeof(*u));
	} else if (join_prev) {
		u[i - 1].len += len;
	} else if (join_next) {
		u[i].off = off;
		u[i].len += len;
	} else {
		memmove(&u[i + 1], &u[i], (s->st.nused - i) * sizeof(*u));
		u[i] = (struct psrd_range){ off, len };
		s->st.nused++;
	}
}

int psrd_stream_accept(struct psrd_stream *s, const struct psrd_range *r, size_t n)
{
	int e;

	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	e = check_locked(s, r, n);
	if (e < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		e = wipe_bytes(s, r[i].off, r[i].len);
		if (e < 0)
			goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (r[i].len == 0)
			continue;
		used_insert(s, r[i].off, r[i].len);
		if (r[i].off + r[i].len > s->st.high)
			s->st.high = r[i].off + r[i].len;
	}
	/* the mark advances over used ranges that touch it */
	while (s->st.nused > 0 && s->st.used[0].off == s->st.mark) {
		s->st.mark += s->st.used[0].len;
		s->used_bytes -= s->st.used[0].len;
		used_remove_first(s);
	}
	/* Too many holes: give up the lowest gap (frames still in flight into it will be refused as
	 * stale; a gap this old is a sender restart or lost frames). Its bytes are wiped. */
	while (s->st.nused > USED_KEEP) {
		(void)wipe_bytes(s, s->st.mark, s->st.used[0].off - s->st.mark);
		s->st.mark = s->st.used[0].off + s->st.used[0].len;
		s->used_bytes -= s->st.used[0].len;
		used_remove_first(s);
	}
	s->gen_changed++;
out:
	pthread_mutex_unlock(&s->lock);
	return e;
}

void psrd_stream_count_rejected(struct psrd_stream *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->rejected++;
	pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------------ info */

void psrd_stream_info(struct psrd_stream *s, struct psrd_info *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	ret->role = s->role;
	ret->end = s->st.end;
	ret->blocks = s->st.nblocks;
	ret->last_block_id = s->st.nblocks ? s->st.blocks[s->st.nblocks - 1].id : 0;
	ret->allocated_total = s->allocated_total;
	ret->rejected = s->rejected;
	if (s->role == PSRD_SENDER) {
		uint64_t limit = sender_limit(s);
		ret->next = s->next;
		ret->reserved = s->reserved_durable;
		ret->peer_end = limit;
		ret->remaining = limit > s->next ? limit - s->next : 0;
	} else {
		ret->next = s->st.high;
		ret->mark = s->st.mark;
		ret->remaining = s->st.end - s->st.mark - s->used_bytes;
	}
	pthread_mutex_unlock(&s->lock);
}
