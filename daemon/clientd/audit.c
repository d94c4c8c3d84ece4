/* audit.c — the delivery audit log: one line per key handed to an SAE or sink, with time, key ID,
 * SAE, side (master/slave) and interface. Never key bytes. <state_dir>/delivery.log, 0600,
 * appended; not fsynced (it is an audit trail, not state). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "clientd/engine.h"

struct audit {
	pthread_mutex_t lock;
	FILE *f;
};

int audit_open(const char *state_dir, struct audit **ret)
{
	char path[PATH_MAX];
	struct audit *a;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/delivery.log", state_dir) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	a = calloc(1, sizeof(*a));
	if (!a || !(a->f = fdopen(fd, "a"))) {
		free(a);
		close(fd);
		return -ENOMEM;
	}
	pthread_mutex_init(&a->lock, NULL);
	*ret = a;
	return 0;
}

void audit_close(struct audit *a)
{
	if (!a)
		return;
	fclose(a->f);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void audit_delivery(struct audit *a, const uint8_t key_id[DSKE_KEY_ID_LEN], const char *sae,
                    const char *iface, const char *what)
{
	char id[37], ts[32];
	struct timespec now;
	struct tm tm;

	if (!a)
		return;
	uuid_unparse_lower(key_id, id);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&a->lock);
	fprintf(a->f, "%s.%03ldZ key=%s sae=%s side=%s iface=%s\n", ts, now.tv_nsec / 1000000, id, sae,
	        what, iface);
	fflush(a->f);
	pthread_mutex_unlock(&a->lock);
}
