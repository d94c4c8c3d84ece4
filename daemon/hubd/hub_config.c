/* hub_config.c — see hub_config.h */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "hubd/hub_config.h"
#include "core/wire.h"

enum {
	HK_NAME, HK_LISTEN, HK_STATE_DIR, HK_CONTROL_SOCKET, HK_MAX_FRAME, HK_SHARE_TTL,
	HK_MAX_SHARES, HK_MAX_REDELIVERIES, HK_PSRD_AUDIT, HK_LOW_WATER, HK_LOG_LEVEL,
	HK_TLS_CERT, HK_TLS_KEY,
};

const struct cfg_key hub_config_keys[] = {
	{ "hub", false, "name", CFG_KME_NAME, 0, 0, HK_NAME },
	{ "hub", false, "listen", CFG_HOSTPORT, 0, 0, HK_LISTEN },
	{ "hub", false, "state_dir", CFG_PATH, 0, 0, HK_STATE_DIR },
	{ "hub", false, "control_socket", CFG_PATH, 0, 0, HK_CONTROL_SOCKET },
	{ "hub", false, "max_frame", CFG_SIZE, 4096, WIRE_FRAME_MAX_DEFAULT, HK_MAX_FRAME },
	{ "hub", false, "share_ttl", CFG_DURATION, 1000, 30ull * 24 * 3600 * 1000, HK_SHARE_TTL },
	{ "hub", false, "max_shares", CFG_UINT, 1, 100000000, HK_MAX_SHARES },
	{ "hub", false, "max_redeliveries", CFG_UINT, 0, 1000, HK_MAX_REDELIVERIES },
	{ "hub", false, "psrd_audit", CFG_BOOL, 0, 0, HK_PSRD_AUDIT },
	{ "hub", false, "low_water", CFG_SIZE, 0, 0, HK_LOW_WATER },
	{ "hub", false, "log_level", CFG_LOG_LEVEL, 0, 0, HK_LOG_LEVEL },
	{ "hub", false, "tls_cert", CFG_PATH, 0, 0, HK_TLS_CERT },
	{ "hub", false, "tls_key", CFG_PATH, 0, 0, HK_TLS_KEY },
};
const size_t hub_config_nkeys = sizeof(hub_config_keys) / sizeof(hub_config_keys[0]);

void hub_config_defaults(struct hub_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:7001");
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/dske-hub");
	snprintf(c->control_socket, sizeof(c->control_socket), "/run/dske-hub/hubd.sock");
	c->max_frame = WIRE_FRAME_MAX_DEFAULT;
	c->share_ttl_ms = 3600 * 1000;
	c->max_shares = 1000000;
	c->max_redeliveries = 4;
	c->psrd_audit = false;
	c->low_water = 64 * 1024;
	c->log_level = LOG_LVL_INFO;
}

static int copy_str(struct cfg_ctx *ctx, char *dst, size_t len, const char *key, const char *v)
{
	if (strlen(v) >= len)
		return cfg_fail(ctx, "%s: value too long (at most %zu bytes)", key, len - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int hub_config_set(void *user, struct cfg_ctx *ctx, const struct cfg_key *k,
                          const char *arg, const struct cfg_value *v)
{
	struct hub_config *c = user;

	switch (k->id) {
	case HK_NAME: return copy_str(ctx, c->name, sizeof(c->name), k->key, v->str);
	case HK_LISTEN: return copy_str(ctx, c->listen, sizeof(c->listen), k->key, v->str);
	case HK_STATE_DIR: return copy_str(ctx, c->state_dir, sizeof(c->state_dir), k->key, v->str);
	case HK_CONTROL_SOCKET:
		return copy_str(ctx, c->control_socket, sizeof(c->control_socket), k->key, v->str);
	case HK_MAX_FRAME: c->max_frame = v->u; break;
	case HK_SHARE_TTL: c->share_ttl_ms = v->u; break;
	case HK_MAX_SHARES: c->max_shares = v->u; break;
	case HK_MAX_REDELIVERIES: c->max_redeliveries = v->u; break;
	case HK_PSRD_AUDIT: c->psrd_audit = v->b; break;
	case HK_LOW_WATER: c->low_water = v->u; break;
	case HK_LOG_LEVEL: c->log_level = v->level; break;
	case HK_TLS_CERT: return copy_str(ctx, c->tls_cert, sizeof(c->tls_cert), k->key, v->str);
	case HK_TLS_KEY: return copy_str(ctx, c->tls_key, sizeof(c->tls_key), k->key, v->str);
	default: return cfg_fail(ctx, "%s: not handled", k->key);
	}
	return 0;
}

int hub_config_load(const char *path, struct hub_config *c, char *err, size_t errlen)
{
	int r = cfg_load(path, hub_config_keys, hub_config_nkeys, hub_config_set, c, err, errlen);

	if (r < 0)
		return r;
	if (!c->name[0]) {
		snprintf(err, errlen, "%s: [hub] name is required", path);
		return -EINVAL;
	}
	if (!c->tls_cert[0] != !c->tls_key[0]) {
		snprintf(err, errlen, "%s: [hub] tls_cert and tls_key go together", path);
		return -EINVAL;
	}
	return 0;
}
