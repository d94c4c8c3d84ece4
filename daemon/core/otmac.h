/* otmac.h — one-time MAC: Poly1305 (libsodium crypto_onetimeauth) with a fresh 32-byte key
 * taken from PSRD for every message. Never use a key twice (the stream rules guarantee it). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define OTMAC_KEY_LEN 32
#define OTMAC_TAG_LEN 16

void otmac_tag(uint8_t tag[OTMAC_TAG_LEN], const uint8_t *msg, size_t len,
               const uint8_t key[OTMAC_KEY_LEN]);
/* 0 if the tag verifies (constant time), -EBADMSG otherwise. */
int otmac_verify(const uint8_t tag[OTMAC_TAG_LEN], const uint8_t *msg, size_t len,
                 const uint8_t key[OTMAC_KEY_LEN]);
