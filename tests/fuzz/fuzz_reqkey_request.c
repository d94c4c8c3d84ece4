/* fuzz_reqkey_request.c — reqkey_request_decode() and reqkey_response_decode() on arbitrary
 * bytes: never crash; whatever decodes encodes and decodes back to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reqkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reqkey_request rq, back;
	static uint8_t key[REQKEY_KEY_MAX], key2[REQKEY_KEY_MAX];
	size_t len;
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
	if (reqkey_response_decode((const char *)data, size, key, sizeof(key), &len, &secs) == 0) {
		json_t *o = reqkey_response_encode(key, len, secs);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		size_t len2;
		unsigned secs2;
		if (!s || reqkey_response_decode(s, strlen(s), key2, sizeof(key2), &len2, &secs2) != 0 ||
		    len2 != len || secs2 != secs || memcmp(key, key2, len) != 0)
			abort();
		free(s);
		json_decref(o);
	}
	return 0;
}
