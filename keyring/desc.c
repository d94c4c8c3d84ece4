/* desc.c — key descriptions and keyctl_describe() strings (desc.h). Pure. */
#include "desc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <uuid/uuid.h>

static bool desc_char_name(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static bool desc_span_valid(const char *s, size_t len, size_t max)
{
	size_t i;

	if (len == 0 || len > max)
		return false;
	for (i = 0; i < len; i++)
		if (!desc_char_name(s[i]))
			return false;
	return true;
}

bool keyring_prefix_valid(const char *prefix)
{
	return prefix && desc_span_valid(prefix, strlen(prefix), KEYRING_PREFIX_MAX);
}

bool keyring_peer_valid(const char *peer)
{
	return peer && desc_span_valid(peer, strlen(peer), DSKE_NAME_MAX);
}

int keyring_desc_format(char *buf, size_t size, const char *prefix, const char *peer,
                        const uint8_t key_id[DSKE_KEY_ID_LEN])
{
	char uuid[KEYRING_UUID_STR_LEN + 1];
	int n;

	if (!keyring_prefix_valid(prefix) || !keyring_peer_valid(peer))
		return -EINVAL;
	uuid_unparse_lower(key_id, uuid);
	n = snprintf(buf, size, "%s:%s:%s", prefix, peer, uuid);
	if (n < 0 || (size_t)n >= size)
		return -ENOBUFS;
	return 0;
}

/* 36 characters 8-4-4-4-12 of [0-9a-f] */
static bool desc_uuid_canonical(const char *s)
{
	size_t i;

	for (i = 0; i < KEYRING_UUID_STR_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return true;
}

int keyring_desc_parse(const char *desc, size_t len, const char *prefix,
                       char ret_peer[DSKE_NAME_MAX + 1], uint8_t ret_key_id[DSKE_KEY_ID_LEN])
{
	char uuid[KEYRING_UUID_STR_LEN + 1];
	const char *peer, *colon;
	size_t plen, peer_len;
	uuid_t id;

	if (!desc || !keyring_prefix_valid(prefix))
		return -EINVAL;
	plen = strlen(prefix);
	if (len < plen + 1 || memcmp(desc, prefix, plen) != 0 || desc[plen] != ':')
		return -EINVAL;
	peer = desc + plen + 1;
	len -= plen + 1;
	colon = memchr(peer, ':', len);
	if (!colon)
		return -EINVAL;
	peer_len = (size_t)(colon - peer);
	if (!desc_span_valid(peer, peer_len, DSKE_NAME_MAX))
		return -EINVAL;
	len -= peer_len + 1;
	if (len != KEYRING_UUID_STR_LEN || !desc_uuid_canonical(colon + 1))
		return -EINVAL;
	memcpy(uuid, colon + 1, KEYRING_UUID_STR_LEN);
	uuid[KEYRING_UUID_STR_LEN] = '\0';
	if (uuid_parse(uuid, id) != 0)
		return -EINVAL;
	memcpy(ret_peer, peer, peer_len);
	ret_peer[peer_len] = '\0';
	memcpy(ret_key_id, id, DSKE_KEY_ID_LEN);
	return 0;
}

/* A decimal unsigned number up to ';' (at most 10 digits, fits 32 bits). Advances *s. */
static int desc_take_num(const char **s, int base, uint32_t *ret)
{
	const char *p = *s;
	uint64_t v = 0;
	size_t n = 0;

	for (; *p && *p != ';'; p++, n++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else
			return -EINVAL;
		if (n >= (base == 16 ? 8 : 10))
			return -EINVAL;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	if (n == 0 || *p != ';' || v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	*s = p + 1;
	return 0;
}

int keyring_describe_parse(const char *s, struct keyring_describe *ret)
{
	struct keyring_describe d;
	const char *semi;
	uint32_t uid, gid, perm;
	size_t tlen;

	if (!s)
		return -EINVAL;
	semi = strchr(s, ';');
	if (!semi)
		return -EINVAL;
	tlen = (size_t)(semi - s);
	if (tlen == 0 || tlen >= sizeof(d.type))
		return -EINVAL;
	memcpy(d.type, s, tlen);
	d.type[tlen] = '\0';
	s = semi + 1;
	if (desc_take_num(&s, 10, &uid) < 0 || desc_take_num(&s, 10, &gid) < 0 ||
	    desc_take_num(&s, 16, &perm) < 0)
		return -EINVAL;
	d.uid = (uid_t)uid;
	d.gid = (gid_t)gid;
	d.perm = perm;
	d.desc = s;
	*ret = d;
	return 0;
}
