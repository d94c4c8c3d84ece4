/* rng.c — the one source of randomness (rng.h). Default: libsodium randombytes_buf (getrandom,
 * a computational CSPRNG, not information-theoretic). rng_set_source() switches to raw bytes
 * read from a device or file (a QRNG, /dev/hwrng); a short read is an error, never a fallback. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "core/rng.h"

#define RNG_DEFAULT_NAME "getrandom (libsodium, computational)"

static pthread_mutex_t rng_lock = PTHREAD_MUTEX_INITIALIZER;
static int rng_fd = -1;                         /* -1: libsodium default */
static char rng_name[PATH_MAX] = RNG_DEFAULT_NAME;

int rng_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

int rng_set_source(const char *path)
{
	struct stat st;
	int fd = -1, old, ret;

	if (path && (!*path || strlen(path) >= sizeof(rng_name)))
		return -EINVAL;
	if (path) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return -errno;
		if (fstat(fd, &st) < 0) {
			ret = -errno;
			goto fail;
		}
		if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
			ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
			goto fail;
		}
	}
	pthread_mutex_lock(&rng_lock);
	old = rng_fd;
	rng_fd = fd;
	snprintf(rng_name, sizeof(rng_name), "%s", path ? path : RNG_DEFAULT_NAME);
	pthread_mutex_unlock(&rng_lock);
	if (old >= 0)
		close(old);
	return 0;
fail:
	close(fd);
	return ret;
}

const char *rng_source_name(void)
{
	return rng_name;
}

/* read exactly len bytes from fd: 0, -EIO at end of file, -errno */
static int rng_read_full(int fd, unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t r = read(fd, p, len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int rng_bytes(void *buf, size_t len)
{
	int ret = 0;

	if (len == 0)
		return 0;
	if (!buf)
		return -EINVAL;
	pthread_mutex_lock(&rng_lock);
	if (rng_fd < 0)
		randombytes_buf(buf, len);
	else
		ret = rng_read_full(rng_fd, buf, len);
	pthread_mutex_unlock(&rng_lock);
	if (ret < 0)
		sodium_memzero(buf, len);   /* never hand out a partial buffer */
	return ret;
}
