/* fuzz_psrd_state.c — the PSRD state slot decoder (psrd_state_decode) on arbitrary bytes, and
 * encode(decode(x)) == x for every slot it accepts. With an odd first byte the rest of the input
 * gets a correct checksum first, so the consistency checks behind it are explored too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "core/psrd_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct psrd_state st;
	static uint8_t out[PSRD_SLOT_MAX];
	uint8_t *in;

	if (sodium_init() < 0)
		abort();
	if (size < 1)
		return 0;
	in = malloc(size - 1 + 1);
	if (!in)
		return 0;
	memcpy(in, data + 1, size - 1);
	size--;
	if ((data[0] & 1) && size >= PSRD_SLOT_HDR + PSRD_SLOT_SUM) {
		uint64_t body = PSRD_SLOT_HDR + (uint64_t)le32(in + 28) * 20 + (uint64_t)le32(in + 32) * 16;
		if (body + PSRD_SLOT_SUM <= size)
			crypto_generichash(in + body, PSRD_SLOT_SUM, in, body, NULL, 0);
	}
	if (psrd_state_decode(in, size, &st) == 0) {
		size_t len = psrd_state_encode(&st, out);
		if (len > size || memcmp(out, in, len) != 0)
			abort();
	}
	free(in);
	return 0;
}
