/* keyring.h — publish DSKE keys into the Linux kernel keyring (libkeyutils).
 * Library code: never logs; functions return 0 or a negative errno (from the kernel where it
 * answered). Follows shared/design/keyring.md sections 3 and 4:
 *
 *   root's user keyring (@u, _uid.0)
 *     └─ keyring "<name>" (default "dske"), perm 0x1b3f0b00, group "dske" (0x1b3f0000 without it)
 *          └─ user key "dske:<peer>:<key_id>", same perm and group, timeout set
 *
 * Every object is built in the caller's *process* keyring (so it is possessed and its
 * attributes can be set from a systemd service's private session keyring), and only then moved
 * into place with KEYCTL_MOVE_EXCL, so consumers never see a half-configured object and two
 * daemons that create the ring at the same time end up sharing one ring.
 *
 * Thread-safe: the struct keyring is read-only after keyring_ring_open(); publishing two keys
 * with the same description at the same time is the caller's business (one wins, the other
 * gets -EEXIST). Needs uid 0 (the ring lives in root's user keyring); no capability, except
 * CAP_SYS_ADMIN or membership for a group the process is not in. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <keyutils.h>

#define KEYRING_DEFAULT_NAME  "dske"
#define KEYRING_DEFAULT_GROUP "dske"
/* possessor view/read/search/link, owner all, group view/read/search, other nothing */
#define KEYRING_PERM_GROUP    0x1b3f0b00u
#define KEYRING_PERM_NOGROUP  0x1b3f0000u
#define KEYRING_NAME_MAX      64          /* our cap on ring names, bytes without NUL */
#define KEYRING_PAYLOAD_MAX   32767       /* the kernel's cap for a "user" key */
#define KEYRING_NO_GROUP      ((gid_t)-1)

struct keyring {
	key_serial_t serial;                /* the ring, linked into @u and into our @p */
	gid_t gid;                          /* group of the ring and its keys, or KEYRING_NO_GROUP */
	uint32_t perm;                      /* KEYRING_PERM_GROUP or KEYRING_PERM_NOGROUP */
	char name[KEYRING_NAME_MAX + 1];
};

/* A ring name we accept: 1..64 bytes of [A-Za-z0-9._:-], not starting with '.' or '_'
 * (kernel-reserved), so no whitespace or ';' (keyctl_describe and request-key.conf split
 * on them). Pure. */
bool keyring_name_valid(const char *name);

/* The gid of group (e.g. "dske"). 0, -ENOENT if there is no such group, other -errno. */
int keyring_group_lookup(const char *group, gid_t *ret_gid);

/* Find the ring named name in root's user keyring, or create it there (race-safe: a daemon
 * that loses the race adopts the winner's ring). group: its gid becomes the group of the ring
 * and of every key published in it, with KEYRING_PERM_GROUP; NULL or a group that does not
 * exist gives KEYRING_PERM_NOGROUP and no group change. An existing ring gets its permission
 * and group brought in line. The ring is also linked into the caller's process keyring so
 * that the process possesses it. -EINVAL for a bad name. */
int keyring_ring_open(const char *name, const char *group, struct keyring *ret);

/* Invalidate every key in the ring, then the ring (tests, decommissioning). NULL-safe;
 * 0 or -errno (of the ring's invalidation). The struct is cleared either way. */
int keyring_ring_remove(struct keyring *ring);

/* Serials of the keys currently linked in the ring (expired keys stay listed until the
 * kernel's garbage collection). *ret_serials is malloc'd, caller frees; *ret_count may be 0. */
int keyring_ring_list(const struct keyring *ring, key_serial_t **ret_serials, size_t *ret_count);

/* Publish a "user" key desc = key bytes (borrowed; the kernel copies them, the caller wipes
 * its copy) into the ring: add_key in the process keyring, setperm, chgrp, set the timeout
 * (seconds, 0 = none), then move it into the ring. len 1..KEYRING_PAYLOAD_MAX.
 * -EEXIST if the ring already holds a live key with that description (it is left alone);
 * a dead one (invalidated, revoked, expired, not yet collected) is displaced.
 * On any failure the half-made key is invalidated and nothing is left behind. */
int keyring_key_publish(const struct keyring *ring, const char *desc, const uint8_t *key,
                        size_t len, unsigned timeout_s, key_serial_t *ret_serial);

/* Look a key up by description in the ring: 0 and its serial if it is live; -ENOKEY if it is
 * not there (unlinked, never there, or invalidated and already collected), -EKEYREVOKED
 * (revoked, or invalidated and not yet collected), -EKEYEXPIRED. Anything but 0 means the
 * key is gone for consumers. */
int keyring_key_find(const struct keyring *ring, const char *desc, key_serial_t *ret_serial);

/* keyctl_invalidate: the key leaves every keyring at once. 0 or -errno (-EKEYREVOKED or
 * -ENOKEY if it is already gone). */
int keyring_key_invalidate(key_serial_t key);
