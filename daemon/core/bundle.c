/* bundle.c — PROVISION bundle files (bundle.h, docs/protocol.md "Bundle format").
 *
 *   DSKE-PROVISION 1
 *   role: hub|client
 *   hub: NAME
 *   hub-index: 1..255
 *   hub-url: http://... or https://...
 *   client: NAME
 *   saes: SAE [SAE ...]
 *   block-id: N
 *   c2h-start: OFF
 *   c2h-length: LEN
 *   h2c-start: OFF
 *   h2c-length: LEN
 *   source: LABEL
 *   created: UNIX-SECONDS
 *   checksum: blake2b-256:HEX
 *   (blank line)
 *   c2h bytes, then h2c bytes
 *
 * Lines in exactly this order, "\n" endings, "key: value" with one space, decimal numbers without
 * sign or leading zeros. No logging. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "core/bundle.h"

#define BUNDLE_MAGIC "DSKE-PROVISION 1"
#define BUNDLE_HDR_MAX 8192              /* the header never gets near this */
#define BUNDLE_FILE_MAX (4ull << 30)

enum bundle_line {
	BL_MAGIC = 1, BL_ROLE, BL_HUB, BL_HUB_INDEX, BL_HUB_URL, BL_CLIENT, BL_SAES, BL_BLOCK_ID,
	BL_C2H_START, BL_C2H_LEN, BL_H2C_START, BL_H2C_LEN, BL_SOURCE, BL_CREATED, BL_CHECKSUM,
	BL_BLANK,
};

static const char *const bundle_keys[] = {
	[BL_ROLE] = "role", [BL_HUB] = "hub", [BL_HUB_INDEX] = "hub-index", [BL_HUB_URL] = "hub-url",
	[BL_CLIENT] = "client", [BL_SAES] = "saes", [BL_BLOCK_ID] = "block-id",
	[BL_C2H_START] = "c2h-start", [BL_C2H_LEN] = "c2h-length", [BL_H2C_START] = "h2c-start",
	[BL_H2C_LEN] = "h2c-length", [BL_SOURCE] = "source", [BL_CREATED] = "created",
	[BL_CHECKSUM] = "checksum",
};

/* printable ASCII without space (space allowed when with_space) */
static bool bundle_text_valid(const char *s, size_t len, bool with_space)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < (with_space ? 0x20 : 0x21) || s[i] > 0x7e)
			return false;
	return true;
}

static bool bundle_url_valid(const char *url)
{
	size_t len = strnlen(url, BUNDLE_URL_MAX + 1);

	if (len > BUNDLE_URL_MAX || !bundle_text_valid(url, len, false))
		return false;
	if (!strncmp(url, "http://", 7))
		return len > 7;
	if (!strncmp(url, "https://", 8))
		return len > 8;
	return false;
}

static bool bundle_source_valid(const char *src)
{
	size_t len = strnlen(src, 64);

	return len >= 1 && len < 64 && bundle_text_valid(src, len, true) && src[0] != ' ' &&
	       src[len - 1] != ' ';
}

static bool bundle_range_valid(uint64_t start, uint64_t len)
{
	return len >= 1 && start <= UINT64_MAX - len;
}

/* everything but the data and the checksum */
static bool bundle_fields_valid(const struct bundle *b)
{
	if (b->role != BUNDLE_FOR_HUB && b->role != BUNDLE_FOR_CLIENT)
		return false;
	if (!names_kme_valid(b->hub) || !names_kme_valid(b->client) || b->hub_index < 1)
		return false;
	if (!bundle_url_valid(b->hub_url) || !bundle_source_valid(b->source) || b->block_id < 1)
		return false;
	if (b->sae_count < 1 || b->sae_count > BUNDLE_MAX_SAES)
		return false;
	for (unsigned i = 0; i < b->sae_count; i++) {
		if (!names_sae_valid(b->saes[i]))
			return false;
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(b->saes[i], b->saes[j]))
				return false;
	}
	if (!bundle_range_valid(b->c2h_start, b->c2h_len) || !bundle_range_valid(b->h2c_start, b->h2c_len))
		return false;
	/* both streams in one file of at most BUNDLE_FILE_MAX bytes */
	return b->c2h_len <= BUNDLE_FILE_MAX && b->h2c_len <= BUNDLE_FILE_MAX - b->c2h_len;
}

static void bundle_checksum(const uint8_t *c2h, size_t c2h_len, const uint8_t *h2c, size_t h2c_len,
                            uint8_t out[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, c2h, c2h_len);
	crypto_generichash_update(&st, h2c, h2c_len);
	crypto_generichash_final(&st, out, 32);
}

void bundle_checksum_hex(const struct bundle *b, char out[65])
{
	sodium_bin2hex(out, 65, b->checksum, sizeof(b->checksum));
}

/* ---------------------------------------------------------------- format */

int bundle_format(struct bundle *b, uint8_t **ret_buf, size_t *ret_len)
{
	char hdr[BUNDLE_HDR_MAX], saes[BUNDLE_MAX_SAES * (DSKE_NAME_MAX + 1) + 1] = "", hex[65];
	size_t hlen, total;
	uint8_t *buf;
	int n;

	if (!bundle_fields_valid(b) || !b->c2h || !b->h2c || b->c2h_len > SIZE_MAX / 2 ||
	    b->h2c_len > SIZE_MAX / 2)
		return -EINVAL;
	for (unsigned i = 0; i < b->sae_count; i++) {
		if (i)
			strcat(saes, " ");
		strcat(saes, b->saes[i]);
	}
	bundle_checksum(b->c2h, b->c2h_len, b->h2c, b->h2c_len, b->checksum);
	bundle_checksum_hex(b, hex);
	n = snprintf(hdr, sizeof(hdr),
	             BUNDLE_MAGIC "\nrole: %s\nhub: %s\nhub-index: %u\nhub-url: %s\nclient: %s\n"
	             "saes: %s\nblock-id: %u\nc2h-start: %llu\nc2h-length: %llu\nh2c-start: %llu\n"
	             "h2c-length: %llu\nsource: %s\ncreated: %llu\nchecksum: blake2b-256:%s\n\n",
	             b->role == BUNDLE_FOR_HUB ? "hub" : "client", b->hub, b->hub_index, b->hub_url,
	             b->client, saes, b->block_id, (unsigned long long)b->c2h_start,
	             (unsigned long long)b->c2h_len, (unsigned long long)b->h2c_start,
	             (unsigned long long)b->h2c_len, b->source, (unsigned long long)b->created, hex);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return -EINVAL;
	hlen = (size_t)n;
	total = hlen + (size_t)b->c2h_len + (size_t)b->h2c_len;
	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, hdr, hlen);
	memcpy(buf + hlen, b->c2h, b->c2h_len);
	memcpy(buf + hlen + b->c2h_len, b->h2c, b->h2c_len);
	*ret_buf = buf;
	*ret_len = total;
	return 0;
}

/* ---------------------------------------------------------------- parse */

/* decimal in [min, max], no sign, no leading zero, no junk */
static bool bundle_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < min || v > max)
		return false;
	*ret = v;
	return true;
}

static bool bundle_parse_saes(char *val, struct bundle *b)
{
	char *save = NULL, *tok;

	/* single spaces between IDs, none at either end */
	if (!*val || val[0] == ' ' || val[strlen(val) - 1] == ' ' || strstr(val, "  "))
		return false;
	b->sae_count = 0;
	for (tok = strtok_r(val, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (b->sae_count == BUNDLE_MAX_SAES || !names_sae_valid(tok))
			return false;
		for (unsigned j = 0; j < b->sae_count; j++)
			if (!strcmp(b->saes[j], tok))
				return false;
		strcpy(b->saes[b->sae_count++], tok);
	}
	return b->sae_count >= 1;
}

static bool bundle_parse_checksum(const char *val, uint8_t out[32])
{
	static const char prefix[] = "blake2b-256:";
	size_t bin_len;

	if (strncmp(val, prefix, sizeof(prefix) - 1))
		return false;
	val += sizeof(prefix) - 1;
	if (strlen(val) != 64 || !bundle_text_valid(val, 64, false))
		return false;
	for (size_t i = 0; i < 64; i++)   /* lower-case hex only: one spelling per checksum */
		if (!((val[i] >= '0' && val[i] <= '9') || (val[i] >= 'a' && val[i] <= 'f')))
			return false;
	return sodium_hex2bin(out, 32, val, 64, NULL, &bin_len, NULL) == 0 && bin_len == 32;
}

/* one "key: value" line (NUL-terminated, no newline) into b */
static bool bundle_parse_field(enum bundle_line ln, char *line, struct bundle *b)
{
	const char *key = bundle_keys[ln];
	size_t klen = strlen(key);
	char *val = line + klen + 2;
	uint64_t v;

	if (strncmp(line, key, klen) || line[klen] != ':' || line[klen + 1] != ' ')
		return false;
	switch (ln) {
	case BL_ROLE:
		if (!strcmp(val, "hub"))
			b->role = BUNDLE_FOR_HUB;
		else if (!strcmp(val, "client"))
			b->role = BUNDLE_FOR_CLIENT;
		else
			return false;
		return true;
	case BL_HUB:
	case BL_CLIENT:
		if (!names_kme_valid(val))
			return false;
		strcpy(ln == BL_HUB ? b->hub : b->client, val);
		return true;
	case BL_HUB_INDEX:
		if (!bundle_parse_uint(val, 1, 255, &v))
			return false;
		b->hub_index = (uint8_t)v;
		return true;
	case BL_HUB_URL:
		if (strlen(val) > BUNDLE_URL_MAX || !bundle_url_valid(val))
			return false;
		strcpy(b->hub_url, val);
		return true;
	case BL_SAES:
		return bundle_parse_saes(val, b);
	case BL_BLOCK_ID:
		if (!bundle_parse_uint(val, 1, UINT32_MAX, &v))
			return false;
		b->block_id = (uint32_t)v;
		return true;
	case BL_C2H_START:
		return bundle_parse_uint(val, 0, UINT64_MAX, &b->c2h_start);
	case BL_C2H_LEN:
		return bundle_parse_uint(val, 1, BUNDLE_FILE_MAX, &b->c2h_len) &&
		       bundle_range_valid(b->c2h_start, b->c2h_len);
	case BL_H2C_START:
		return bundle_parse_uint(val, 0, UINT64_MAX, &b->h2c_start);
	case BL_H2C_LEN:
		return bundle_parse_uint(val, 1, BUNDLE_FILE_MAX, &b->h2c_len) &&
		       bundle_range_valid(b->h2c_start, b->h2c_len);
	case BL_SOURCE:
		if (strlen(val) >= sizeof(b->source) || !bundle_source_valid(val))
			return false;
		strcpy(b->source, val);
		return true;
	case BL_CREATED:
		return bundle_parse_uint(val, 0, UINT64_MAX, &b->created);
	case BL_CHECKSUM:
		return bundle_parse_checksum(val, b->checksum);
	case BL_MAGIC:
	case BL_BLANK:
		break;
	}
	return false;
}

int bundle_parse(const uint8_t *buf, size_t len, struct bundle *ret, unsigned *ret_line)
{
	struct bundle b;
	char line[BUNDLE_HDR_MAX];
	size_t pos = 0, data_len;
	unsigned ln = BL_MAGIC;
	uint8_t sum[32];

	if (!buf || !ret || !ret_line)
		return -EINVAL;
	memset(&b, 0, sizeof(b));
	for (ln = BL_MAGIC; ln <= BL_BLANK; ln++) {
		const uint8_t *nl;
		size_t l;

		nl = memchr(buf + pos, '\n', len - pos);
		if (!nl || (size_t)(nl - (buf + pos)) >= sizeof(line))
			goto bad;
		l = (size_t)(nl - (buf + pos));
		memcpy(line, buf + pos, l);
		line[l] = '\0';
		pos += l + 1;
		if (memchr(line, '\0', l) || !bundle_text_valid(line, l, true))
			goto bad;   /* also refuses CR, tabs and NUL */
		if (ln == BL_MAGIC) {
			if (strcmp(line, BUNDLE_MAGIC))
				goto bad;
		} else if (ln == BL_BLANK) {
			if (l != 0)
				goto bad;
		} else if (!bundle_parse_field((enum bundle_line)ln, line, &b)) {
			goto bad;
		}
	}
	/* the data: exactly c2h_len + h2c_len bytes, then the checksum over them */
	ln = 0;
	data_len = len - pos;
	if ((uint64_t)data_len != b.c2h_len + b.h2c_len)
		goto bad;
	b.c2h = buf + pos;
	b.h2c = buf + pos + b.c2h_len;
	bundle_checksum(b.c2h, b.c2h_len, b.h2c, b.h2c_len, sum);
	if (sodium_memcmp(sum, b.checksum, 32) != 0)
		goto bad;
	sodium_memzero(line, sizeof(line));
	*ret = b;
	return 0;
bad:
	sodium_memzero(line, sizeof(line));
	*ret_line = ln;
	return -EBADMSG;
}

/* ---------------------------------------------------------------- files */

static int bundle_fsync_dir(const char *path)
{
	char *dir = strdup(path), *slash;
	int fd, r = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return r;
}

int bundle_write_file(const char *path, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* 0600 whatever the umask; the file is new, so nobody else has it open */
	if (fchmod(fd, 0600) < 0) {
		r = -errno;
		goto out;
	}
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		r = -errno;
out:
	if (close(fd) < 0 && !r)
		r = -errno;
	if (r)
		unlink(path);   /* ours: created above with O_EXCL */
	else
		r = bundle_fsync_dir(path);
	return r;
}

int bundle_read_file(const char *path, uint8_t **ret_buf, size_t *ret_len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t off = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > BUNDLE_FILE_MAX + BUNDLE_HDR_MAX) {
		r = -EFBIG;
		goto out;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0) {   /* shrank under us */
			r = -EIO;
			goto out;
		}
		off += (size_t)n;
	}
	*ret_buf = buf;
	*ret_len = off;
	buf = NULL;
out:
	if (buf) {
		sodium_memzero(buf, off);
		free(buf);
	}
	close(fd);
	return r;
}
