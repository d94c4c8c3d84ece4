/* vici_ppk.h — the VICI commands the PPK sink needs (strongswan-ppk.md sections 3, 7, 8):
 * load-shared type=PPK with an id and owners always set (P7: no owners = %any), unload-shared,
 * get-shared (to notice an admin reload removed our PPKs, P5/P6). Errors as vici_client.h, plus
 * -EREMOTEIO when charon answered success=no (its errmsg copied to err). No logging. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "vici_client.h"

/* id: the credential's unique id; ppk_id: its single owner (the PPK_ID, "<key_id>@<link>"). */
int vici_ppk_load(struct vici_conn *c, const char *id, const uint8_t *key, size_t len,
                  const char *ppk_id, char *err, size_t errlen);
/* unload-shared always answers success (P6): callers verify with vici_shared_has(). */
int vici_ppk_unload(struct vici_conn *c, const char *id, char *err, size_t errlen);
/* get-shared: 1 if id is among the shared keys loaded over VICI, 0 if not, or -errno. */
int vici_shared_has(struct vici_conn *c, const char *id);
/* get-shared: the ids of the shared keys loaded over VICI that start with prefix ("" = all),
 * NUL-terminated, at most max of them (longer ids, over VICI_SHARED_ID_MAX - 1 bytes, skipped);
 * *ret_n = how many were copied. */
#define VICI_SHARED_ID_MAX 160
int vici_shared_list(struct vici_conn *c, const char *prefix, char (*ids)[VICI_SHARED_ID_MAX],
                     size_t max, size_t *ret_n);
