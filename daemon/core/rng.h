/* rng.h — the one place randomness comes from (keys, Shamir coefficients, AMD x, PSRD in
 * dske-psrd). Default: libsodium randombytes_buf (getrandom; computational, not ITS).
 * rng_set_source() points it at a device/file (a QRNG, /dev/hwrng) read raw. Thread-safe. */
#pragma once
#include <stddef.h>

int rng_init(void);                       /* sodium_init; 0 or -EIO */
int rng_set_source(const char *path);     /* NULL = default; 0 or -errno (opened at once) */
const char *rng_source_name(void);        /* "getrandom (libsodium, computational)" or path */
int rng_bytes(void *buf, size_t len);     /* 0 or -errno (source read error) */
