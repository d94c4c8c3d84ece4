/* keysvc_pair — runs the engines of two clients in one process (their state directories must not
 * be in use by a daemon) and makes key pairs through the real hubs with the key service API:
 * Get key at one client for a slave SAE of the other, Get key with key IDs there. Prints one line
 * per check; exit 0 when every check passed. Each PAIR is "ab|ba MASTER_SAE SLAVE_SAE NUMBER BITS"
 * (ab: client A is the initiator; BITS 0 = the default size).
 *   keysvc_pair CONF_A CONF_B PAIR...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "clientd/client_config.h"
#include "clientd/engine.h"
#include "clientd/sink.h"
#include "common/log.h"
#include "core/rng.h"

static int fails;

static void check(bool ok, const char *what, const char *detail)
{
	printf("%s: %s%s%s\n", ok ? "ok" : "FAIL", what, detail ? ": " : "", detail ? detail : "");
	if (!ok)
		fails++;
}

static int open_one(const char *path, struct client_config **rc, struct keysvc **rks)
{
	char err[CC_ERR_MAX];
	struct client_config *c = calloc(1, sizeof(*c));
	if (!c || client_config_load(path, c, err) < 0) {
		fprintf(stderr, "keysvc_pair: %s\n", c ? err : "out of memory");
		return -EINVAL;
	}
	if (keysvc_open(c, rks) < 0 || keysvc_start(*rks, 2 * c->hub_timeout_ms) < 0)
		return -EIO;
	*rc = c;
	return 0;
}

static void one_pair(struct keysvc *a, struct keysvc *b, const char *master, const char *slave,
                     unsigned number, unsigned bits)
{
	struct keysvc_batch *enc = NULL, *dec = NULL, *again = NULL;
	struct keysvc_err err = { "" };
	uint8_t (*ids)[DSKE_KEY_ID_LEN] = NULL;
	int r;

	printf("pair %s -> %s, %u key(s) of %u bits\n", master, slave, number, bits);
	r = keysvc_get_keys(a, master, slave, number, bits, &enc, &err);
	check(r == 0, "get_keys", r ? err.msg : NULL);
	if (r < 0)
		return;
	ids = calloc(enc->count, DSKE_KEY_ID_LEN);
	for (size_t i = 0; i < enc->count; i++)
		memcpy(ids[i], enc->keys[i].key_id, DSKE_KEY_ID_LEN);
	check(enc->count == number, "number of keys", NULL);
	/* SHARE_STATUS (sink.h): not released before the slave took the key */
	r = keysvc_key_released(a, master, slave, ids[enc->count - 1], &err);
	check(r == 0, "SHARE_STATUS: pending before delivery", r < 0 ? err.msg : NULL);
	r = keysvc_get_keys_with_ids(b, slave, master, (const uint8_t (*)[DSKE_KEY_ID_LEN])ids,
	                             enc->count, &dec, &err);
	check(r == 0, "get_keys_with_ids", r ? err.msg : NULL);
	if (r == 0) {
		bool same = dec->count == enc->count;
		for (size_t i = 0; same && i < enc->count; i++)
			same = !memcmp(enc->keys[i].key_id, dec->keys[i].key_id, DSKE_KEY_ID_LEN) &&
			       enc->keys[i].len == dec->keys[i].len &&
			       !memcmp(enc->keys[i].key, dec->keys[i].key, enc->keys[i].len);
		check(same, "both sides hold the same keys", NULL);
		char id[37];
		uuid_unparse_lower(enc->keys[0].key_id, id);
		printf("key_ID %s, %zu bits\n", id, enc->keys[0].len * 8);
	}
	if (dec) {
		/* released at the hubs in the background after the delivery: poll (bounded) */
		uint64_t until = hc_now_ms() + 5000;
		while ((r = keysvc_key_released(a, master, slave, ids[enc->count - 1], &err)) == 0 &&
		       hc_now_ms() < until)
			;
		check(r == 1, "SHARE_STATUS: released after delivery", r < 0 ? err.msg : NULL);
	}
	r = keysvc_get_keys_with_ids(b, slave, master, (const uint8_t (*)[DSKE_KEY_ID_LEN])ids, 1,
	                             &again, &err);
	check(r == -ENOENT && !strcmp(err.msg, "one or more keys specified are not found on KME"),
	      "a key is delivered once", err.msg);
	free(ids);
	keysvc_batch_free(enc);
	keysvc_batch_free(dec);
	keysvc_batch_free(again);
}

int main(int argc, char **argv)
{
	struct client_config *ca = NULL, *cb = NULL;
	struct keysvc *a = NULL, *b = NULL;

	if (argc < 3 || (argc - 3) % 5) {
		fprintf(stderr, "usage: keysvc_pair CONF_A CONF_B [ab|ba MASTER_SAE SLAVE_SAE NUMBER BITS]...\n");
		return 2;
	}
	log_setup("keysvc_pair");
	if (rng_init() < 0 || open_one(argv[1], &ca, &a) < 0 || open_one(argv[2], &cb, &b) < 0)
		return 1;
	for (int i = 3; i + 4 < argc; i += 5) {
		bool ab = !strcmp(argv[i], "ab");
		one_pair(ab ? a : b, ab ? b : a, argv[i + 1], argv[i + 2], (unsigned)atoi(argv[i + 3]),
		         (unsigned)atoi(argv[i + 4]));
	}
	keysvc_close(a);
	keysvc_close(b);
	free(ca);
	free(cb);
	return fails ? 1 : 0;
}
