/* fuzz_etsi_request.c — etsi_request_parse on arbitrary requests. Input: one byte choosing the
 * method, then the request target up to the first '\n', then the body. Must never crash or leak;
 * a success must carry a valid request, a failure an allowed status and a printable message. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "clientd/etsi_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "HEAD", "get" };
	static const struct etsi_limits small = { .min_key_size = 8, .max_key_size = 64,
	                                          .max_keys_per_request = 3 };
	struct etsi_http_in in = { 0 };
	struct etsi_request r;
	struct etsi_error err;
	const uint8_t *nl;
	char *target;
	size_t tlen;
	uint8_t sel;
	int rc;

	if (size < 1)
		return 0;
	sel = data[0];
	in.method = methods[sel % 6];
	data++;
	size--;
	nl = memchr(data, '\n', size);
	tlen = nl ? (size_t)(nl - data) : size;
	target = malloc(tlen + 1);
	if (!target)
		return 0;
	memcpy(target, data, tlen);
	target[tlen] = '\0';           /* a NUL inside just shortens the target */
	in.target = target;
	if (nl) {
		in.body = nl + 1;
		in.body_len = size - tlen - 1;
	}
	rc = etsi_request_parse(&in, "sae_a", (sel & 0x80) ? &small : NULL, &r, &err);
	if (rc == 0) {
		if (!names_sae_valid(r.sae) || strcmp(r.sae, "sae_a") == 0)
			abort();
		if (r.op == ETSI_OP_DEC_KEYS && (r.n_ids == 0 || !r.ids))
			abort();
		if (r.op == ETSI_OP_ENC_KEYS && (r.number == 0 || r.size % 8 != 0))
			abort();
		etsi_request_free(&r);
	} else if (rc == -EINVAL) {
		if (err.status != 400 && err.status != 404 && err.status != 405 &&
		    err.status != 413 && err.status != 414)
			abort();
		for (const char *p = err.msg; *p; p++)
			if (*p < 0x20 || *p > 0x7e)
				abort();
	} else if (rc != -ENOMEM) {
		abort();
	}
	free(target);
	return 0;
}
