/* fuzz_keyring_desc.c — keyring_desc_parse() and keyring_describe_parse() on arbitrary bytes:
 * never crash; whatever parses formats back to the same description. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "desc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char peer[DSKE_NAME_MAX + 1], again[KEYRING_DESC_SIZE];
	uint8_t id[DSKE_KEY_ID_LEN];
	struct keyring_describe kd;
	char *s;

	if (keyring_desc_parse((const char *)data, size, "dske", peer, id) == 0) {
		if (keyring_desc_format(again, sizeof(again), "dske", peer, id) != 0 ||
		    strlen(again) != size || memcmp(again, data, size) != 0)
			abort();
	}
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (keyring_describe_parse(s, &kd) == 0 && (kd.desc < s || kd.desc > s + size))
		abort();
	free(s);
	return 0;
}
