/* keyring.c — the dske ring in root's user keyring and the keys published in it (keyring.h).
 * The recipe is shared/design/keyring.md section 4.3, tested on the target kernel; the race
 * between two daemons creating the ring is settled by KEYCTL_MOVE_EXCL into @u. */
#include "keyring.h"
#include "desc.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How often keyring_ring_open() retries when another process wins the race or a dead ring of
 * the same name still waits for the kernel's garbage collector. */
#define RING_OPEN_TRIES 400
#define RING_OPEN_PAUSE_NS (5 * 1000 * 1000)

bool keyring_name_valid(const char *name)
{
	size_t i, len;

	if (!name)
		return false;
	len = strlen(name);
	if (len == 0 || len > KEYRING_NAME_MAX || name[0] == '.' || name[0] == '_')
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

int keyring_group_lookup(const char *group, gid_t *ret_gid)
{
	struct group gr, *res = NULL;
	char *buf = NULL;
	long sz = sysconf(_SC_GETGR_R_SIZE_MAX);
	int r;

	if (!group || !*group)
		return -EINVAL;
	if (sz < 1024)
		sz = 1024;
	for (;;) {
		buf = malloc((size_t)sz);
		if (!buf)
			return -ENOMEM;
		r = getgrnam_r(group, &gr, buf, (size_t)sz, &res);
		if (r != ERANGE || sz > (1L << 20))
			break;
		free(buf);
		buf = NULL;
		sz *= 4;
	}
	if (r != 0) {
		r = -r;
		goto out;
	}
	if (!res) {
		r = -ENOENT;
		goto out;
	}
	*ret_gid = res->gr_gid;
	r = 0;
out:
	free(buf);
	return r;
}

/* Bring an existing object's permission and group in line with the ring's (owner uid 0 has
 * setattr through the owner byte, so this works on a ring another daemon made). */
static int keyring_attrs_apply(key_serial_t id, uint32_t perm, gid_t gid)
{
	char *d = NULL;
	struct keyring_describe desc;
	int r;

	r = keyctl_describe_alloc(id, &d);
	if (r < 0) {
		r = -errno;
		goto out;
	}
	r = keyring_describe_parse(d, &desc);
	if (r < 0)
		goto out;
	if (desc.perm != perm && keyctl_setperm(id, perm) < 0) {
		r = -errno;
		goto out;
	}
	if (gid != KEYRING_NO_GROUP && desc.gid != gid && keyctl_chown(id, (uid_t)-1, gid) < 0) {
		r = -errno;
		goto out;
	}
	r = 0;
out:
	free(d);
	return r;
}

/* Make a fresh ring in our process keyring, configure it, then try to move it into @u
 * without displacing anything. 0 and *ret_id if it is in place, -EEXIST if @u already holds a
 * ring of that name (ours is gone again), other -errno. */
static int keyring_ring_create(const char *name, uint32_t perm, gid_t gid, key_serial_t *ret_id)
{
	key_serial_t id;
	int r;

	id = add_key("keyring", name, NULL, 0, KEY_SPEC_PROCESS_KEYRING);
	if (id < 0)
		return -errno;
	if (keyctl_setperm(id, perm) < 0 ||
	    (gid != KEYRING_NO_GROUP && keyctl_chown(id, (uid_t)-1, gid) < 0) ||
	    keyctl_move(id, KEY_SPEC_PROCESS_KEYRING, KEY_SPEC_USER_KEYRING, KEYCTL_MOVE_EXCL) < 0) {
		r = -errno;
		goto fail;
	}
	/* possession for this process, so that keys can be moved in by any of its threads */
	if (keyctl_link(id, KEY_SPEC_PROCESS_KEYRING) < 0) {
		r = -errno;
		keyctl_unlink(id, KEY_SPEC_USER_KEYRING);
		goto fail;
	}
	*ret_id = id;
	return 0;
fail:
	keyctl_invalidate(id);
	return r;
}

int keyring_ring_open(const char *name, const char *group, struct keyring *ret)
{
	struct keyring ring = { .gid = KEYRING_NO_GROUP, .perm = KEYRING_PERM_NOGROUP };
	const struct timespec pause = { 0, RING_OPEN_PAUSE_NS };
	key_serial_t id;
	int r, tries;

	if (!keyring_name_valid(name))
		return -EINVAL;
	if (group) {
		r = keyring_group_lookup(group, &ring.gid);
		if (r == 0)
			ring.perm = KEYRING_PERM_GROUP;
		else if (r != -ENOENT)
			return r;
	}
	for (tries = 0; tries < RING_OPEN_TRIES; tries++) {
		/* found: linked into our process keyring by the search itself (possession) */
		id = keyctl_search(KEY_SPEC_USER_KEYRING, "keyring", name, KEY_SPEC_PROCESS_KEYRING);
		if (id >= 0) {
			r = keyring_attrs_apply(id, ring.perm, ring.gid);
			if (r < 0)
				return r;
			goto done;
		}
		/* a dead ring (invalidated, not yet collected) reads as revoked or expired */
		if (errno != ENOKEY && errno != EKEYREVOKED && errno != EKEYEXPIRED)
			return -errno;
		r = keyring_ring_create(name, ring.perm, ring.gid, &id);
		if (r == 0)
			goto done;
		if (r != -EEXIST)
			return r;
		/* another process won the race (search again), or a dead ring of this name
		 * still sits in @u until the garbage collector unlinks it (wait a little) */
		if (tries > 0)
			nanosleep(&pause, NULL);
	}
	return -EEXIST;
done:
	ring.serial = id;
	strcpy(ring.name, name);
	*ret = ring;
	return 0;
}

int keyring_ring_remove(struct keyring *ring)
{
	key_serial_t *ids = NULL;
	size_t i, n = 0;
	int r = 0;

	if (!ring || ring->serial <= 0)
		goto out;
	/* the keys first: invalidating the ring alone leaves them alive until the garbage
	 * collector unlinks them */
	if (keyring_ring_list(ring, &ids, &n) == 0)
		for (i = 0; i < n; i++)
			keyctl_invalidate(ids[i]);
	free(ids);
	if (keyctl_invalidate(ring->serial) < 0)
		r = -errno;
out:
	if (ring)
		memset(ring, 0, sizeof(*ring));
	return r;
}

int keyring_ring_list(const struct keyring *ring, key_serial_t **ret_serials, size_t *ret_count)
{
	void *buf = NULL;
	int n;

	n = keyctl_read_alloc(ring->serial, &buf);
	if (n < 0)
		return -errno;
	*ret_serials = buf;                 /* keyctl_read_alloc NUL-terminates: never NULL */
	*ret_count = (size_t)n / sizeof(key_serial_t);
	return 0;
}

int keyring_key_publish(const struct keyring *ring, const char *desc, const uint8_t *key,
                        size_t len, unsigned timeout_s, key_serial_t *ret_serial)
{
	key_serial_t id;
	int r;

	if (!ring || ring->serial <= 0 || !desc || !*desc || strlen(desc) > 4095 || !key ||
	    len == 0 || len > KEYRING_PAYLOAD_MAX)
		return -EINVAL;
	id = add_key("user", desc, key, len, KEY_SPEC_PROCESS_KEYRING);
	if (id < 0)
		return -errno;
	if (keyctl_setperm(id, ring->perm) < 0 ||
	    (ring->gid != KEYRING_NO_GROUP && keyctl_chown(id, (uid_t)-1, ring->gid) < 0) ||
	    (timeout_s > 0 && keyctl_set_timeout(id, timeout_s) < 0)) {
		r = -errno;
		goto fail;
	}
	if (keyctl_move(id, KEY_SPEC_PROCESS_KEYRING, ring->serial, KEYCTL_MOVE_EXCL) < 0) {
		r = -errno;
		if (r != -EEXIST)
			goto fail;
		/* a dead key of that name (invalidated, revoked, expired) waiting for the garbage
		 * collector may be displaced; a live one may not */
		r = keyring_key_find(ring, desc, NULL);
		if (r == 0 || (r != -ENOKEY && r != -EKEYREVOKED && r != -EKEYEXPIRED)) {
			r = r == 0 ? -EEXIST : r;
			goto fail;
		}
		if (keyctl_move(id, KEY_SPEC_PROCESS_KEYRING, ring->serial, 0) < 0) {
			r = -errno;
			goto fail;
		}
	}
	if (ret_serial)
		*ret_serial = id;
	return 0;
fail:
	keyctl_invalidate(id);
	return r;
}

int keyring_key_find(const struct keyring *ring, const char *desc, key_serial_t *ret_serial)
{
	key_serial_t id;

	if (!ring || ring->serial <= 0 || !desc)
		return -EINVAL;
	id = keyctl_search(ring->serial, "user", desc, 0);
	if (id < 0)
		return -errno;
	if (ret_serial)
		*ret_serial = id;
	return 0;
}

int keyring_key_invalidate(key_serial_t key)
{
	if (key <= 0)
		return -EINVAL;
	if (keyctl_invalidate(key) < 0)
		return -errno;
	return 0;
}
