/* names.h — identifiers used across DSKE: KME names, SAE IDs, key IDs. Pure functions. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DSKE_NAME_MAX 64          /* longest KME name or SAE ID, bytes, without NUL */
#define DSKE_KEY_ID_LEN 16        /* key IDs are RFC 4122 UUIDs, 16 raw bytes */

/* KME (client or hub) names: 1..64 bytes of [a-z0-9._-]. */
bool names_kme_valid(const char *name);
/* SAE IDs: 1..64 bytes of [A-Za-z0-9._@:+-] and '_' (no space, no '/', no '%'). */
bool names_sae_valid(const char *sae);
/* Copy a valid name into dst (DSKE_NAME_MAX + 1 bytes). 0, or -EINVAL. */
int names_copy(char dst[DSKE_NAME_MAX + 1], const char *src);
