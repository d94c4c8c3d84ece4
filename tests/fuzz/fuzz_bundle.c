/* fuzz_bundle.c — libFuzzer harness for bundle_parse. A parsed bundle must re-format to the same
 * bytes (one spelling per bundle) and its data pointers must lie inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle b;
	unsigned line = 1000;
	uint8_t *copy, *out;
	size_t out_len;
	int r;

	copy = malloc(size ? size : 1);   /* exact size: ASan catches any over-read */
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	r = bundle_parse(copy, size, &b, &line);
	if (r != 0 && line > 16)
		abort();
	if (r == 0) {
		if (b.c2h < copy || b.h2c + b.h2c_len != copy + size)
			abort();
		if (bundle_format(&b, &out, &out_len) != 0)
			abort();
		if (out_len != size || memcmp(out, copy, size) != 0)
			abort();
		free(out);
	}
	free(copy);
	return 0;
}
