/* fuzz_dskectl_format.c — libFuzzer harness for dskectl's output of daemon answers: any bytes
 * that parse as JSON go through format_status, format_json_human and format_keys; nothing may
 * crash or read out of bounds, and format_keys either succeeds or says -EBADMSG/-ENOMEM. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "dskectl/format.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	json_t *j;
	int r;

	if (!null) {
		if (sodium_init() < 0)
			abort();
		null = fopen("/dev/null", "w");
		if (!null)
			abort();
	}
	j = json_loadb((const char *)data, size, 0, NULL);
	if (!j)
		return 0;
	format_status(null, j);
	format_json_human(null, j, 0);
	r = format_keys(null, j);
	if (r != 0 && r != -EBADMSG && r != -ENOMEM)
		abort();
	json_decref(j);
	return 0;
}
