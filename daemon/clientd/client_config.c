/* client_config.c — strict reader of client.conf (see client_config.h). */
#include "clientd/client_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clientd/sink_keyring.h"
#include "common/config.h"
#include "common/log.h"
#include "core/wire.h"

enum key_id {
	K_NAME, K_STATE_DIR, K_CONTROL_SOCKET, K_K, K_ACK_MARGIN, K_ACK_DEADLINE, K_HUB_TIMEOUT,
	K_POLL_WAIT, K_FETCH_DEADLINE, K_KEY_TTL, K_DEFAULT_KEY_SIZE, K_MIN_KEY_SIZE, K_MAX_KEY_SIZE,
	K_MAX_KEYS_PER_REQUEST, K_MAX_KEYS_PER_PEER, K_PSRD_AUDIT, K_LOW_WATER, K_PSRD_RESERVE,
	K_LOG_LEVEL, K_RNG_SOURCE,
	K_HUB_INDEX, K_HUB_URL,
	K_PEER_SAES,
	K_SAE_UID, K_SAE_GID, K_SAE_CERT_CN, K_SAE_QUOTA,
	K_ETSI_UNIX, K_ETSI_HTTPS, K_ETSI_CERT, K_ETSI_KEY, K_ETSI_CA, K_ETSI_INSECURE,
	K_KR_NAME, K_KR_GROUP, K_KR_SAE, K_KR_TIMEOUT, K_KR_PUBLISH_ETSI, K_KR_REQUEST_KEY,
	K_PEER_KEYRING, K_PEER_KR_SAE, K_PEER_KR_KEYS, K_PEER_KR_LIFETIME, K_PEER_KR_INITIATOR,
};

const struct cfg_key client_config_keys[] = {
	{ "client", false, "name", CFG_KME_NAME, 0, 0, K_NAME },
	{ "client", false, "state_dir", CFG_PATH, 0, 0, K_STATE_DIR },
	{ "client", false, "control_socket", CFG_PATH, 0, 0, K_CONTROL_SOCKET },
	{ "client", false, "k", CFG_UINT, 2, CC_MAX_HUBS, K_K },
	{ "client", false, "ack_margin", CFG_UINT, 0, CC_MAX_HUBS, K_ACK_MARGIN },
	{ "client", false, "ack_deadline", CFG_DURATION, 0, 60000, K_ACK_DEADLINE },
	{ "client", false, "hub_timeout", CFG_DURATION, 10, 600000, K_HUB_TIMEOUT },
	{ "client", false, "poll_wait", CFG_DURATION, 100, 60000, K_POLL_WAIT },
	{ "client", false, "fetch_deadline", CFG_DURATION, 0, 600000, K_FETCH_DEADLINE },
	{ "client", false, "key_ttl", CFG_DURATION, 1000, 30ull * 86400 * 1000, K_KEY_TTL },
	{ "client", false, "default_key_size", CFG_UINT, 8, 8192, K_DEFAULT_KEY_SIZE },
	{ "client", false, "min_key_size", CFG_UINT, 8, 8192, K_MIN_KEY_SIZE },
	{ "client", false, "max_key_size", CFG_UINT, 8, 8192, K_MAX_KEY_SIZE },
	{ "client", false, "max_keys_per_request", CFG_UINT, 1, WIRE_BATCH_MAX, K_MAX_KEYS_PER_REQUEST },
	{ "client", false, "max_keys_per_peer", CFG_UINT, 1, 10000000, K_MAX_KEYS_PER_PEER },
	{ "client", false, "psrd_audit", CFG_BOOL, 0, 0, K_PSRD_AUDIT },
	{ "client", false, "low_water", CFG_SIZE, 0, 0, K_LOW_WATER },
	{ "client", false, "psrd_reserve", CFG_SIZE, 0, 0, K_PSRD_RESERVE },
	{ "client", false, "log_level", CFG_LOG_LEVEL, 0, 0, K_LOG_LEVEL },
	{ "client", false, "rng_source", CFG_PATH, 0, 0, K_RNG_SOURCE },
	{ "hub", true, "index", CFG_UINT, 1, 255, K_HUB_INDEX },
	{ "hub", true, "url", CFG_URL, 0, 0, K_HUB_URL },
	{ "peer", true, "saes", CFG_SAE_LIST, 0, 0, K_PEER_SAES },
	{ "sae", true, "uid", CFG_UINT, 0, 0xfffffffe, K_SAE_UID },
	{ "sae", true, "gid", CFG_UINT, 0, 0xfffffffe, K_SAE_GID },
	{ "sae", true, "cert_cn", CFG_STRING, 0, 0, K_SAE_CERT_CN },
	{ "sae", true, "quota", CFG_UINT, 0, 100000000, K_SAE_QUOTA },
	{ "etsi", false, "unix_socket", CFG_PATH, 0, 0, K_ETSI_UNIX },
	{ "etsi", false, "https", CFG_HOSTPORT, 0, 0, K_ETSI_HTTPS },
	{ "etsi", false, "tls_cert", CFG_PATH, 0, 0, K_ETSI_CERT },
	{ "etsi", false, "tls_key", CFG_PATH, 0, 0, K_ETSI_KEY },
	{ "etsi", false, "tls_ca", CFG_PATH, 0, 0, K_ETSI_CA },
	{ "etsi", false, "insecure_http", CFG_HOSTPORT, 0, 0, K_ETSI_INSECURE },
	{ "keyring", false, "name", CFG_STRING, 0, 0, K_KR_NAME },
	{ "keyring", false, "group", CFG_STRING, 0, 0, K_KR_GROUP },
	{ "keyring", false, "sae", CFG_SAE_ID, 0, 0, K_KR_SAE },
	{ "keyring", false, "timeout", CFG_DURATION, 1000, 30ull * 86400 * 1000, K_KR_TIMEOUT },
	{ "keyring", false, "publish_etsi", CFG_BOOL, 0, 0, K_KR_PUBLISH_ETSI },
	{ "keyring", false, "request_key", CFG_BOOL, 0, 0, K_KR_REQUEST_KEY },
	{ "peer", true, "keyring", CFG_BOOL, 0, 0, K_PEER_KEYRING },
	{ "peer", true, "keyring_sae", CFG_SAE_ID, 0, 0, K_PEER_KR_SAE },
	{ "peer", true, "keyring_keys", CFG_UINT, 1, 1000, K_PEER_KR_KEYS },
	{ "peer", true, "keyring_lifetime", CFG_DURATION, 1000, 30ull * 86400 * 1000,
	  K_PEER_KR_LIFETIME },
	{ "peer", true, "keyring_initiator", CFG_STRING, 0, 0, K_PEER_KR_INITIATOR },
	PPK_CONFIG_KEYS,
};
const size_t client_config_nkeys = sizeof(client_config_keys) / sizeof(client_config_keys[0]);

struct loader {
	struct client_config *c;
	unsigned client_line;
	char *err;
	bool failed;
};

void client_config_defaults(struct client_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/dske-client");
	snprintf(c->control_socket, sizeof(c->control_socket), "/run/dske/clientd.sock");
	c->k = 3;
	c->ack_margin = 1;
	c->ack_deadline_ms = 50;
	c->hub_timeout_ms = 2000;
	c->poll_wait_ms = 25000;
	c->fetch_deadline_ms = 5000;
	c->key_ttl_s = 3600;
	c->default_key_size = 256;
	c->min_key_size = 64;
	c->max_key_size = 8192;
	c->max_keys_per_request = 1024;
	c->max_keys_per_peer = 100000;
	c->psrd_audit = false;
	c->low_water = 64 * 1024;
	c->psrd_reserve = 16 * 1024;
	c->log_level = LOG_LVL_INFO;
	snprintf(c->keyring.name, sizeof(c->keyring.name), "dske");
	snprintf(c->keyring.group, sizeof(c->keyring.group), "dske");
	c->keyring.timeout_s = 3600;
	c->keyring.request_key = true;
	ppk_config_defaults(&c->ppk);
}

static int copy_str(struct cfg_ctx *ctx, char *dst, size_t dstlen, const char *key, const char *v)
{
	if (strlen(v) >= dstlen)
		return cfg_fail(ctx, "%s: too long (at most %zu characters)", key, dstlen - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int key_bits(struct cfg_ctx *ctx, const char *key, uint64_t u, unsigned *dst)
{
	if (u % 8)
		return cfg_fail(ctx, "%s: %llu is not a multiple of 8", key, (unsigned long long)u);
	*dst = (unsigned)u;
	return 0;
}

static struct cc_hub *hub_get(struct client_config *c, struct cfg_ctx *ctx, const char *name)
{
	int i = client_config_hub_find(c, name);
	if (i >= 0)
		return &c->hubs[i];
	if (!names_kme_valid(name)) {
		cfg_fail(ctx, "[hub %s]: not a valid hub name (1..64 of a-z 0-9 . _ -)", name);
		return NULL;
	}
	if (c->nhubs == CC_MAX_HUBS) {
		cfg_fail(ctx, "more than %d hubs", CC_MAX_HUBS);
		return NULL;
	}
	struct cc_hub *h = &c->hubs[c->nhubs++];
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->line = cfg_line(ctx);
	return h;
}

static struct cc_peer *peer_get(struct client_config *c, struct cfg_ctx *ctx, const char *name)
{
	int i = client_config_peer_find(c, name);
	if (i >= 0)
		return &c->peers[i];
	if (!names_kme_valid(name)) {
		cfg_fail(ctx, "[peer %s]: not a valid KME name (1..64 of a-z 0-9 . _ -)", name);
		return NULL;
	}
	if (c->npeers == CC_MAX_PEERS) {
		cfg_fail(ctx, "more than %d peers", CC_MAX_PEERS);
		return NULL;
	}
	struct cc_peer *p = &c->peers[c->npeers++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	ppk_peer_defaults(&p->ppk);
	p->line = cfg_line(ctx);
	return p;
}

static struct cc_sae *sae_get(struct client_config *c, struct cfg_ctx *ctx, const char *id)
{
	int i = client_config_sae_find(c, id);
	if (i >= 0)
		return &c->saes[i];
	if (!names_sae_valid(id)) {
		cfg_fail(ctx, "[sae %s]: not a valid SAE ID", id);
		return NULL;
	}
	if (c->nsaes == CC_MAX_SAES) {
		cfg_fail(ctx, "more than %d local SAEs", CC_MAX_SAES);
		return NULL;
	}
	struct cc_sae *s = &c->saes[c->nsaes++];
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->line = cfg_line(ctx);
	return s;
}

static int set_peer_saes(struct cfg_ctx *ctx, struct cc_peer *pe, const char *v)
{
	char buf[4096];
	char *save = NULL, *tok;

	if (strlen(v) >= sizeof(buf))
		return cfg_fail(ctx, "saes: too long");
	memcpy(buf, v, strlen(v) + 1);
	pe->nsaes = 0;
	for (tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		if (pe->nsaes == CC_MAX_PEER_SAES)
			return cfg_fail(ctx, "saes: more than %d SAE IDs", CC_MAX_PEER_SAES);
		for (unsigned i = 0; i < pe->nsaes; i++)
			if (!strcmp(pe->saes[i], tok))
				return cfg_fail(ctx, "saes: \"%s\" listed twice", tok);
		snprintf(pe->saes[pe->nsaes++], DSKE_NAME_MAX + 1, "%s", tok);
	}
	if (!pe->nsaes)
		return cfg_fail(ctx, "saes: empty");
	return 0;
}

static int set_key(void *user, struct cfg_ctx *ctx, const struct cfg_key *key,
                   const char *arg, const struct cfg_value *v)
{
	struct loader *l = user;
	struct client_config *c = l->c;
	struct cc_hub *h;
	struct cc_peer *pe;
	struct cc_sae *s;

	if (!strcmp(key->section, "client") && !l->client_line)
		l->client_line = cfg_line(ctx);
	if (key->id >= PPK_K_FIRST) {
		pe = key->named ? peer_get(c, ctx, arg) : NULL;
		if (key->named && !pe)
			return -EINVAL;
		return ppk_config_set(&c->ppk, pe ? &pe->ppk : NULL, ctx, key, v);
	}
	switch ((enum key_id)key->id) {
	case K_NAME: return copy_str(ctx, c->name, sizeof(c->name), key->key, v->str);
	case K_STATE_DIR: return copy_str(ctx, c->state_dir, sizeof(c->state_dir), key->key, v->str);
	case K_CONTROL_SOCKET:
		return copy_str(ctx, c->control_socket, sizeof(c->control_socket), key->key, v->str);
	case K_K: c->k = (unsigned)v->u; return 0;
	case K_ACK_MARGIN: c->ack_margin = (unsigned)v->u; return 0;
	case K_ACK_DEADLINE: c->ack_deadline_ms = v->u; return 0;
	case K_HUB_TIMEOUT: c->hub_timeout_ms = v->u; return 0;
	case K_POLL_WAIT: c->poll_wait_ms = v->u; return 0;
	case K_FETCH_DEADLINE: c->fetch_deadline_ms = v->u; return 0;
	case K_KEY_TTL: c->key_ttl_s = v->u / 1000; return 0;
	case K_DEFAULT_KEY_SIZE: return key_bits(ctx, key->key, v->u, &c->default_key_size);
	case K_MIN_KEY_SIZE: return key_bits(ctx, key->key, v->u, &c->min_key_size);
	case K_MAX_KEY_SIZE: return key_bits(ctx, key->key, v->u, &c->max_key_size);
	case K_MAX_KEYS_PER_REQUEST: c->max_keys_per_request = (unsigned)v->u; return 0;
	case K_MAX_KEYS_PER_PEER: c->max_keys_per_peer = (unsigned)v->u; return 0;
	case K_PSRD_AUDIT: c->psrd_audit = v->b; return 0;
	case K_LOW_WATER: c->low_water = v->u; return 0;
	case K_PSRD_RESERVE: c->psrd_reserve = v->u; return 0;
	case K_LOG_LEVEL: c->log_level = (int)v->level; return 0;
	case K_RNG_SOURCE: return copy_str(ctx, c->rng_source, sizeof(c->rng_source), key->key, v->str);
	case K_HUB_INDEX:
		if (!(h = hub_get(c, ctx, arg)))
			return -EINVAL;
		for (unsigned i = 0; i < c->nhubs; i++)
			if (&c->hubs[i] != h && c->hubs[i].index == v->u)
				return cfg_fail(ctx, "duplicate hub index %llu (hub %s, line %u)",
				                (unsigned long long)v->u, c->hubs[i].name, c->hubs[i].line);
		h->index = (uint8_t)v->u;
		return 0;
	case K_HUB_URL:
		if (!(h = hub_get(c, ctx, arg)))
			return -EINVAL;
		return copy_str(ctx, h->url, sizeof(h->url), key->key, v->str);
	case K_PEER_SAES:
		if (!(pe = peer_get(c, ctx, arg)))
			return -EINVAL;
		return set_peer_saes(ctx, pe, v->str);
	case K_SAE_UID:
		if (!(s = sae_get(c, ctx, arg)))
			return -EINVAL;
		s->uid = (uid_t)v->u;
		s->has_uid = true;
		return 0;
	case K_SAE_GID:
		if (!(s = sae_get(c, ctx, arg)))
			return -EINVAL;
		s->gid = (gid_t)v->u;
		s->has_gid = true;
		return 0;
	case K_SAE_CERT_CN:
		if (!(s = sae_get(c, ctx, arg)))
			return -EINVAL;
		return copy_str(ctx, s->cert_cn, sizeof(s->cert_cn), key->key, v->str);
	case K_SAE_QUOTA:
		if (!(s = sae_get(c, ctx, arg)))
			return -EINVAL;
		s->quota = (unsigned)v->u;
		return 0;
	case K_ETSI_UNIX: return copy_str(ctx, c->etsi.unix_socket, sizeof(c->etsi.unix_socket), key->key, v->str);
	case K_ETSI_HTTPS: return copy_str(ctx, c->etsi.https, sizeof(c->etsi.https), key->key, v->str);
	case K_ETSI_CERT: return copy_str(ctx, c->etsi.tls_cert, sizeof(c->etsi.tls_cert), key->key, v->str);
	case K_ETSI_KEY: return copy_str(ctx, c->etsi.tls_key, sizeof(c->etsi.tls_key), key->key, v->str);
	case K_ETSI_CA: return copy_str(ctx, c->etsi.tls_ca, sizeof(c->etsi.tls_ca), key->key, v->str);
	case K_ETSI_INSECURE:
		return copy_str(ctx, c->etsi.insecure_http, sizeof(c->etsi.insecure_http), key->key, v->str);
	case K_KR_NAME: return copy_str(ctx, c->keyring.name, sizeof(c->keyring.name), key->key, v->str);
	case K_KR_GROUP: return copy_str(ctx, c->keyring.group, sizeof(c->keyring.group), key->key, v->str);
	case K_KR_SAE:
		/* the sink's SAE is a local SAE (no uid/gid: no ETSI caller maps to it) */
		if (!sae_get(c, ctx, v->str))
			return -EINVAL;
		return copy_str(ctx, c->keyring.sae, sizeof(c->keyring.sae), key->key, v->str);
	case K_KR_TIMEOUT: c->keyring.timeout_s = v->u / 1000; return 0;
	case K_KR_PUBLISH_ETSI: c->keyring.publish_etsi = v->b; return 0;
	case K_KR_REQUEST_KEY: c->keyring.request_key = v->b; return 0;
	case K_PEER_KEYRING:
	case K_PEER_KR_SAE:
	case K_PEER_KR_KEYS:
	case K_PEER_KR_LIFETIME:
	case K_PEER_KR_INITIATOR:
		if (!(pe = peer_get(c, ctx, arg)))
			return -EINVAL;
		switch ((enum key_id)key->id) {
		case K_PEER_KEYRING: pe->keyring = v->b; return 0;
		case K_PEER_KR_SAE: return copy_str(ctx, pe->keyring_sae, sizeof(pe->keyring_sae), key->key, v->str);
		case K_PEER_KR_KEYS: pe->keyring_keys = (unsigned)v->u; return 0;
		case K_PEER_KR_LIFETIME: pe->keyring_lifetime_s = v->u / 1000; return 0;
		default:
			if (!strcmp(v->str, "auto"))
				pe->keyring_initiator = CC_KR_INIT_AUTO;
			else if (!strcmp(v->str, "yes"))
				pe->keyring_initiator = CC_KR_INIT_YES;
			else if (!strcmp(v->str, "no"))
				pe->keyring_initiator = CC_KR_INIT_NO;
			else
				return cfg_fail(ctx, "keyring_initiator: \"%s\" is not auto, yes or no", v->str);
			return 0;
		}
	}
	return cfg_fail(ctx, "internal: unhandled key %s", key->key);
}

static int fail(struct loader *l, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct loader *l, unsigned line, const char *fmt, ...)
{
	char msg[CC_ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int n = line ? snprintf(l->err, CC_ERR_MAX, "%s:%u: %s", l->c->path, line, msg)
	             : snprintf(l->err, CC_ERR_MAX, "%s: %s", l->c->path, msg);
	if (n >= CC_ERR_MAX)
		l->err[CC_ERR_MAX - 1] = '\0';
	l->failed = true;
	return -EINVAL;
}

/* Whole-file rules, after parsing. */
static int validate(struct loader *l)
{
	struct client_config *c = l->c;

	if (!l->client_line)
		return fail(l, 0, "no [client] section");
	if (!c->name[0])
		return fail(l, l->client_line, "[client]: \"name\" is required");
	if (!c->nhubs)
		return fail(l, 0, "no [hub NAME] section: at least k hubs are needed");
	for (unsigned i = 0; i < c->nhubs; i++) {
		if (!c->hubs[i].index)
			return fail(l, c->hubs[i].line, "[hub %s]: \"index\" is required", c->hubs[i].name);
		if (!c->hubs[i].url[0])
			return fail(l, c->hubs[i].line, "[hub %s]: \"url\" is required", c->hubs[i].name);
	}
	if (c->k > c->nhubs)
		return fail(l, l->client_line, "k = %u but only %u hubs are configured", c->k, c->nhubs);
	for (unsigned i = 0; i < c->npeers; i++)
		for (unsigned j = 0; j < c->peers[i].nsaes; j++)
			for (unsigned q = i + 1; q < c->npeers; q++)
				for (unsigned r = 0; r < c->peers[q].nsaes; r++)
					if (!strcmp(c->peers[i].saes[j], c->peers[q].saes[r]))
						return fail(l, c->peers[q].line, "SAE %s listed for two peers (%s, %s)",
						            c->peers[q].saes[r], c->peers[i].name, c->peers[q].name);
	for (unsigned i = 0; i < c->nsaes; i++) {
		if (!c->saes[i].cert_cn[0])
			memcpy(c->saes[i].cert_cn, c->saes[i].id, sizeof(c->saes[i].cert_cn));   /* same size */
		unsigned dummy;
		int pe = client_config_peer_of_sae(c, c->saes[i].id, &dummy);
		if (pe >= 0 && strcmp(c->peers[pe].name, c->name))
			return fail(l, c->saes[i].line, "[sae %s]: also listed as an SAE of peer %s",
			            c->saes[i].id, c->peers[pe].name);
	}
	if (c->min_key_size > c->max_key_size)
		return fail(l, l->client_line, "min_key_size %u > max_key_size %u", c->min_key_size,
		            c->max_key_size);
	if (c->default_key_size < c->min_key_size || c->default_key_size > c->max_key_size)
		return fail(l, l->client_line, "default_key_size %u not within min_key_size..max_key_size",
		            c->default_key_size);
	if (c->etsi.https[0] && (!c->etsi.tls_cert[0] || !c->etsi.tls_key[0] || !c->etsi.tls_ca[0]))
		return fail(l, 0, "[etsi]: https needs tls_cert, tls_key and tls_ca");
	if (sink_keyring_config_check(c, l->err, CC_ERR_MAX) < 0) {
		l->failed = true;
		return -EINVAL;
	}
	char msg[CC_ERR_MAX - 64];
	unsigned line = 0;
	if (ppk_config_check(c, &line, msg, sizeof(msg)) < 0)
		return fail(l, line, "%s", msg);
	return 0;
}

int client_config_load(const char *path, struct client_config *ret, char *err)
{
	struct loader l = { .c = ret, .err = err };
	int r;

	err[0] = '\0';
	client_config_defaults(ret);
	snprintf(ret->path, sizeof(ret->path), "%s", path);
	r = cfg_load(path, client_config_keys, client_config_nkeys, set_key, &l, err, CC_ERR_MAX);
	if (r < 0)
		return r;
	return validate(&l);
}

int client_config_hub_find(const struct client_config *c, const char *name)
{
	for (unsigned i = 0; i < c->nhubs; i++)
		if (!strcmp(c->hubs[i].name, name))
			return (int)i;
	return -1;
}

int client_config_peer_find(const struct client_config *c, const char *name)
{
	for (unsigned i = 0; i < c->npeers; i++)
		if (!strcmp(c->peers[i].name, name))
			return (int)i;
	return -1;
}

int client_config_sae_find(const struct client_config *c, const char *sae)
{
	for (unsigned i = 0; i < c->nsaes; i++)
		if (!strcmp(c->saes[i].id, sae))
			return (int)i;
	return -1;
}

int client_config_peer_of_sae(const struct client_config *c, const char *sae, unsigned *ret_sae_idx)
{
	for (unsigned i = 0; i < c->npeers; i++)
		for (unsigned j = 0; j < c->peers[i].nsaes; j++)
			if (!strcmp(c->peers[i].saes[j], sae)) {
				*ret_sae_idx = j;
				return (int)i;
			}
	return -1;
}
