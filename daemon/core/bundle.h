/* bundle.h — PROVISION bundles: the out-of-band half of DSKE (protocol.md section 5).
 * dske-psrd writes two files per (hub, client) pair with identical random data and matching
 * registration: one to import on the hub, one on the client. Format (docs/protocol.md):
 *   text header lines "key: value" (magic line "DSKE-PROVISION 1", role hub|client, hub name,
 *   hub index, hub endpoint URL, client name, client SAE IDs, block id, stream offsets and
 *   lengths for C->H and H->C, entropy source, BLAKE2b-256 checksum of the random bytes,
 *   created time), a blank line, then the raw PSRD bytes: C->H stream block then H->C block.
 * Both halves have the same checksum. Written 0600, never overwriting an existing file.
 * The parser is pure (bytes in, struct out) and fuzzed. No logging. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "names.h"

#define BUNDLE_MAX_SAES 32
#define BUNDLE_URL_MAX 255

enum bundle_role { BUNDLE_FOR_HUB, BUNDLE_FOR_CLIENT };

struct bundle {
	enum bundle_role role;
	char hub[DSKE_NAME_MAX + 1];
	uint8_t hub_index;                        /* 1..255 */
	char hub_url[BUNDLE_URL_MAX + 1];
	char client[DSKE_NAME_MAX + 1];
	unsigned sae_count;
	char saes[BUNDLE_MAX_SAES][DSKE_NAME_MAX + 1];
	uint32_t block_id;                        /* 1, 2, ... per pair */
	uint64_t c2h_start, c2h_len;              /* client->hub stream block */
	uint64_t h2c_start, h2c_len;              /* hub->client stream block */
	char source[64];                          /* entropy source label */
	uint64_t created;                         /* unix seconds */
	uint8_t checksum[32];                     /* BLAKE2b-256 (crypto_generichash) of the data */
	const uint8_t *c2h;                       /* points into the parsed buffer */
	const uint8_t *h2c;                       /* points into the parsed buffer */
};

/* Parse buf[len] (a whole bundle file). Verifies the checksum. -EBADMSG with *ret_line = the
 * header line at fault (0 = data/checksum), -EINVAL. Pure. */
int bundle_parse(const uint8_t *buf, size_t len, struct bundle *ret, unsigned *ret_line);
/* Serialize b with the given data (b->c2h/h2c point at c2h_len/h2c_len bytes; checksum computed
 * here). *ret_buf malloc'd, caller frees (wipe it: it holds PSRD). */
int bundle_format(struct bundle *b, uint8_t **ret_buf, size_t *ret_len);
/* Write to path with O_CREAT|O_EXCL, mode 0600, fsync. -EEXIST, -errno. */
int bundle_write_file(const char *path, const uint8_t *buf, size_t len);
/* Read a whole file (<= 4 GiB) into a malloc'd buffer (caller wipes and frees). */
int bundle_read_file(const char *path, uint8_t **ret_buf, size_t *ret_len);
/* Hex of the checksum, 65 bytes with NUL. */
void bundle_checksum_hex(const struct bundle *b, char out[65]);
