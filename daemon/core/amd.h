/* amd.h — algebraic manipulation detection code over GF(2^128) with context binding
 * (protocol.md section 2). codeword = key || x || tag, AMD_OVERHEAD = 32 bytes more than the key.
 * The context is NOT part of the codeword: encoder and verifier must supply the same context. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "names.h"

#define AMD_OVERHEAD 32
#define AMD_CODEC_VERSION 1
#define AMD_KEY_MAX 1024          /* bytes (8192 bits) */

struct amd_context {
	uint8_t key_id[DSKE_KEY_ID_LEN];
	const char *init_kme, *resp_kme;  /* borrowed */
	const char *init_sae, *resp_sae;  /* borrowed */
	uint8_t n, k;
	uint16_t key_len;                 /* bytes */
	uint8_t codec;                    /* AMD_CODEC_VERSION */
};

static inline size_t amd_codeword_len(size_t key_len) { return key_len + AMD_OVERHEAD; }

/* codeword[amd_codeword_len(key_len)] from key[key_len] (key_len == ctx->key_len); x drawn with
 * rng_bytes(). 0, -EINVAL, -EIO. */
int amd_encode(const struct amd_context *ctx, const uint8_t *key, size_t key_len, uint8_t *codeword);
/* 0 if codeword is valid for ctx (constant time in the codeword), -EBADMSG otherwise,
 * -EINVAL for a bad length or context. */
int amd_verify(const struct amd_context *ctx, const uint8_t *codeword, size_t len);
