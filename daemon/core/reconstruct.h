/* reconstruct.h — robust reconstruction at the responder (protocol.md section 6, step 3).
 * Given m >= k shares of one codeword (all with the same claimed context), interpolate k of them;
 * if every other share agrees and AMD verifies, accept. Otherwise try k-subsets (at most C(m,k))
 * and accept the candidate that passes AMD and agrees with the most shares (two different
 * AMD-valid candidates with equal agreement: -EBADMSG). At most 65536 subsets are tried. Never
 * returns a codeword that failed AMD. Pure apart from its outputs. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "amd.h"

struct recon_share {
	uint8_t x;                /* hub index, 1..255, from local configuration */
	const uint8_t *data;      /* borrowed; amd_codeword_len(ctx->key_len) bytes */
};

/* On success writes the key (ctx->key_len bytes) to key_out and the bit mask of shares (bit i =
 * shares[i]) that disagree with the accepted codeword to *ret_bad; returns 0.
 * -EAGAIN: fewer than k shares. -EBADMSG: no candidate passes AMD (too many bad shares; *ret_bad
 * untouched). -EINVAL: bad arguments (x = 0, duplicate x, count > 32). */
int reconstruct_key(const struct amd_context *ctx, const struct recon_share *shares, size_t count,
                    unsigned k, uint8_t *key_out, uint32_t *ret_bad);
