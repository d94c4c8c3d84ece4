/* desc.h — the text forms around DSKE keys in the kernel keyring. Pure functions, no I/O.
 *
 * Key description: "<prefix>:<peer>:<key_id>", prefix "dske" in production (tests use their
 * own), peer = the other side's KME name (1..64 of [a-z0-9._-]), key_id = the ETSI key ID as a
 * lower-case canonical UUID (36 characters). One spelling per key, so one kernel key per key.
 *
 * keyctl_describe() text: "<type>;<uid>;<gid>;<perm hex>;<description>". */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/names.h"

#define KEYRING_DESC_PREFIX  "dske"
#define KEYRING_PREFIX_MAX   32           /* bytes, without NUL */
#define KEYRING_UUID_STR_LEN 36
/* longest description we make or accept, with its NUL */
#define KEYRING_DESC_SIZE (KEYRING_PREFIX_MAX + 1 + DSKE_NAME_MAX + 1 + KEYRING_UUID_STR_LEN + 1)

/* A description prefix: 1..32 bytes of [a-z0-9._-]. */
bool keyring_prefix_valid(const char *prefix);
/* A peer (KME) name: 1..64 bytes of [a-z0-9._-]. */
bool keyring_peer_valid(const char *peer);

/* Write "<prefix>:<peer>:<uuid>" into buf (size bytes, at least KEYRING_DESC_SIZE is always
 * enough). 0, or -EINVAL (bad prefix or peer), -ENOBUFS (buf too small). */
int keyring_desc_format(char *buf, size_t size, const char *prefix, const char *peer,
                        const uint8_t key_id[DSKE_KEY_ID_LEN]);

/* Parse a description of len bytes (need not be NUL-terminated) that must start with
 * "<prefix>:". 0 and ret_peer (NUL-terminated), ret_key_id; -EINVAL for anything else (wrong
 * prefix, bad peer, key ID not a lower-case canonical UUID, extra bytes). Outputs are untouched
 * on failure. */
int keyring_desc_parse(const char *desc, size_t len, const char *prefix,
                       char ret_peer[DSKE_NAME_MAX + 1], uint8_t ret_key_id[DSKE_KEY_ID_LEN]);

struct keyring_describe {
	char type[32];
	uid_t uid;
	gid_t gid;
	uint32_t perm;
	const char *desc;                   /* points into the parsed string (borrowed) */
};

/* Parse keyctl_describe() output s (NUL-terminated). 0, or -EINVAL. ret untouched on failure. */
int keyring_describe_parse(const char *s, struct keyring_describe *ret);
