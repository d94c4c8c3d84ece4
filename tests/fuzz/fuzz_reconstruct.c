/* fuzz_reconstruct.c — libFuzzer harness for reconstruct_key (and through it shamir_eval and
 * amd_verify) on hostile share bytes. Input: count (u8, mod 9), k (u8, mod 9), key_len (u8, 1 + mod
 * 48), count hub indexes, then the shares (key_len + 32 bytes each, zero-filled if the input is
 * short). Context fixed. Properties: only the documented errors; on success the bad mask lies
 * within the shares given and at least k shares agree with the accepted codeword; *ret_bad is
 * untouched on failure. Deterministic (reconstruct_key draws no randomness). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/amd.h"
#include "core/reconstruct.h"

#define FZ_MAX_SHARES 8
#define FZ_MAX_KEY 48

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[FZ_MAX_SHARES][FZ_MAX_KEY + AMD_OVERHEAD];
	struct amd_context ctx = {
		.key_id = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 },
		.init_kme = "client1", .resp_kme = "client2",
		.init_sae = "client1_sae1", .resp_sae = "client2_sae1",
		.n = 5, .k = 3, .codec = AMD_CODEC_VERSION,
	};
	struct recon_share rs[FZ_MAX_SHARES];
	uint8_t key[FZ_MAX_KEY];
	uint32_t bad = 0xa5a5a5a5u;
	unsigned count, k;
	size_t pos = 3, cw;
	int r;

	if (size < 3)
		return 0;
	count = data[0] % (FZ_MAX_SHARES + 1);
	k = data[1] % (FZ_MAX_SHARES + 1);
	ctx.key_len = (uint16_t)(1 + data[2] % FZ_MAX_KEY);
	cw = amd_codeword_len(ctx.key_len);
	for (unsigned i = 0; i < count; i++) {
		rs[i].x = pos < size ? data[pos] : (uint8_t)(i + 1);
		pos++;
	}
	for (unsigned i = 0; i < count; i++) {
		memset(buf[i], 0, cw);
		if (pos < size)
			memcpy(buf[i], data + pos, size - pos < cw ? size - pos : cw);
		pos += cw;
		rs[i].data = buf[i];
	}
	r = reconstruct_key(&ctx, rs, count, k, key, &bad);
	if (r != 0 && r != -EINVAL && r != -EAGAIN && r != -EBADMSG)
		abort();
	if (r != 0 && bad != 0xa5a5a5a5u)
		abort();
	if (r == 0) {
		uint32_t all = count >= 32 ? 0xffffffffu : (1u << count) - 1;
		if ((bad & ~all) != 0 || (unsigned)__builtin_popcount(all & ~bad) < k)
			abort();
	}
	return 0;
}
