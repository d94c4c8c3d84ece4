/* fuzz_reqkey_request.c — reqkey_request_decode() and reqkey_timeout_parse() on arbitrary
 * bytes: never crash; a decoded request encodes and decodes back to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reqkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reqkey_request rq, back;
	unsigned secs;
	char *json = NULL;

	if (reqkey_request_decode((const char *)data, size, &rq) == 0) {
		if (reqkey_request_encode(&rq, &json) != 0 ||
		    reqkey_request_decode(json, strlen(json), &back) != 0 ||
		    strcmp(rq.peer, back.peer) != 0 ||
		    memcmp(rq.key_id, back.key_id, sizeof(rq.key_id)) != 0 || rq.uid != back.uid ||
		    rq.gid != back.gid || rq.timeout_ms != back.timeout_ms)
			abort();
		free(json);
	}
	(void)reqkey_timeout_parse((const char *)data, size, &secs);
	return 0;
}
