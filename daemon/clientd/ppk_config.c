/* ppk_config.c — the PPK sink's client.conf settings (see ppk_config.h). */
#include "clientd/ppk_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clientd/client_config.h"

void ppk_config_defaults(struct cc_ppk *g)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->vici_socket, sizeof(g->vici_socket), "/run/charon.vici");
}

void ppk_peer_defaults(struct cc_peer_ppk *p)
{
	memset(p, 0, sizeof(*p));
	p->keep = 2;
	p->roll_ms = 3600 * 1000;
	p->grace_ms = 60 * 1000;
	p->check_ms = 2000;
	p->size_bits = 256;
}

bool ppk_link_valid(const char *link)
{
	size_t n = strlen(link);

	if (n < 1 || n > PPK_LINK_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = link[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* connection and child names: what swanctl.conf accepts as a section name, without spaces */
static bool conn_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > PPK_CONN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == '{' || s[i] == '}' || s[i] == '=' || s[i] == '#' ||
		    s[i] == '"' || s[i] == 0x7f)
			return false;
	return true;
}

static int copy(struct cfg_ctx *ctx, char *dst, size_t len, const struct cfg_key *key,
                const char *v)
{
	if (strlen(v) >= len)
		return cfg_fail(ctx, "%s: too long (at most %zu characters)", key->key, len - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

int ppk_config_set(struct cc_ppk *g, struct cc_peer_ppk *p, struct cfg_ctx *ctx,
                   const struct cfg_key *key, const struct cfg_value *v)
{
	if (key->id >= PPK_K_PEER_PPK) {
		if (!p)
			return cfg_fail(ctx, "internal: %s outside a [peer]", key->key);
		if (!p->line)
			p->line = cfg_line(ctx);
	} else if (!g->line) {
		g->line = cfg_line(ctx);
	}
	switch (key->id) {
	case PPK_K_SAE: return copy(ctx, g->sae, sizeof(g->sae), key, v->str);
	case PPK_K_VICI_SOCKET: return copy(ctx, g->vici_socket, sizeof(g->vici_socket), key, v->str);
	case PPK_K_PEER_PPK:
		if (!strcmp(v->str, "strongswan"))
			p->enabled = true;
		else if (!strcmp(v->str, "no"))
			p->enabled = false;
		else
			return cfg_fail(ctx, "ppk: \"%s\" is not strongswan or no", v->str);
		return 0;
	case PPK_K_PEER_SAE: return copy(ctx, p->sae, sizeof(p->sae), key, v->str);
	case PPK_K_PEER_LINK:
		if (!ppk_link_valid(v->str))
			return cfg_fail(ctx, "ppk_link: \"%s\" is not a link name (1..%d of A-Z a-z 0-9 . _ -)",
			                v->str, PPK_LINK_MAX);
		return copy(ctx, p->link, sizeof(p->link), key, v->str);
	case PPK_K_PEER_VICI: return copy(ctx, p->vici, sizeof(p->vici), key, v->str);
	case PPK_K_PEER_CONN_FILE: return copy(ctx, p->conn_file, sizeof(p->conn_file), key, v->str);
	case PPK_K_PEER_CONN:
	case PPK_K_PEER_CHILD:
		if (!conn_name_valid(v->str))
			return cfg_fail(ctx, "%s: \"%s\" is not a connection name", key->key, v->str);
		if (key->id == PPK_K_PEER_CONN)
			return copy(ctx, p->conn, sizeof(p->conn), key, v->str);
		return copy(ctx, p->child, sizeof(p->child), key, v->str);
	case PPK_K_PEER_KEEP: p->keep = (unsigned)v->u; return 0;
	case PPK_K_PEER_ROLL:
		if (v->u && v->u < 100)
			return cfg_fail(ctx, "ppk_roll: at least 100ms (or 0: only on demand)");
		p->roll_ms = v->u;
		return 0;
	case PPK_K_PEER_GRACE: p->grace_ms = v->u; return 0;
	case PPK_K_PEER_CHECK: p->check_ms = v->u; return 0;
	case PPK_K_PEER_SIZE:
		if (v->u % 8)
			return cfg_fail(ctx, "ppk_size: %llu is not a multiple of 8", (unsigned long long)v->u);
		p->size_bits = (unsigned)v->u;
		return 0;
	}
	return cfg_fail(ctx, "internal: unhandled key %s", key->key);
}

static int bad(unsigned *ret_line, unsigned line, char *msg, size_t msglen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int bad(unsigned *ret_line, unsigned line, char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	*ret_line = line;
	return -EINVAL;
}

int ppk_config_check(struct client_config *c, unsigned *ret_line, char *msg, size_t msglen)
{
	bool any = false;
	int s;

	for (unsigned i = 0; i < c->npeers; i++) {
		struct cc_peer *pe = &c->peers[i];
		struct cc_peer_ppk *p = &pe->ppk;
		bool found = false;

		if (!p->enabled) {
			if (p->line && (p->sae[0] || p->link[0] || p->conn_file[0]))
				return bad(ret_line, p->line, msg, msglen,
				           "[peer %s]: ppk_* settings without ppk = strongswan", pe->name);
			continue;
		}
		any = true;
		if (!p->sae[0])
			return bad(ret_line, p->line, msg, msglen, "[peer %s]: ppk = strongswan needs ppk_sae "
			           "(the peer's PPK sink SAE)", pe->name);
		for (unsigned j = 0; j < pe->nsaes; j++)
			found = found || !strcmp(pe->saes[j], p->sae);
		if (!found)
			return bad(ret_line, p->line, msg, msglen, "[peer %s]: ppk_sae %s is not one of its saes",
			           pe->name, p->sae);
		if (!p->link[0])
			return bad(ret_line, p->line, msg, msglen, "[peer %s]: ppk = strongswan needs ppk_link",
			           pe->name);
		for (unsigned q = 0; q < i; q++)
			if (c->peers[q].ppk.enabled && !strcasecmp(c->peers[q].ppk.link, p->link))
				return bad(ret_line, p->line, msg, msglen, "[peer %s]: ppk_link %s is also the link "
				           "of peer %s", pe->name, p->link, c->peers[q].name);
		if (p->conn_file[0] && !p->conn[0])
			return bad(ret_line, p->line, msg, msglen, "[peer %s]: ppk_conn_file needs ppk_conn "
			           "(the connection's name in that file)", pe->name);
		if (!p->conn_file[0] && (p->conn[0] || p->child[0]))
			return bad(ret_line, p->line, msg, msglen, "[peer %s]: ppk_conn and ppk_child need "
			           "ppk_conn_file (only the IKE initiator's side names its connection)", pe->name);
		if (p->size_bits < c->min_key_size || p->size_bits > c->max_key_size)
			return bad(ret_line, p->line, msg, msglen, "[peer %s]: ppk_size %u not within "
			           "min_key_size..max_key_size (%u..%u)", pe->name, p->size_bits,
			           c->min_key_size, c->max_key_size);
		if (!p->vici[0])
			snprintf(p->vici, sizeof(p->vici), "%s", c->ppk.vici_socket);
	}
	if (!any)
		return 0;
	if (!c->ppk.sae[0])
		return bad(ret_line, c->ppk.line, msg, msglen, "a peer has ppk = strongswan but [ppk] sae "
		           "(this client's PPK sink SAE) is not set");
	s = client_config_sae_find(c, c->ppk.sae);
	if (s < 0) {
		/* the sink's SAE needs no [sae] section: it is local, served inside the daemon only */
		if (c->nsaes == CC_MAX_SAES)
			return bad(ret_line, c->ppk.line, msg, msglen, "more than %d local SAEs", CC_MAX_SAES);
		s = (int)c->nsaes++;
		memset(&c->saes[s], 0, sizeof(c->saes[s]));
		snprintf(c->saes[s].id, sizeof(c->saes[s].id), "%s", c->ppk.sae);
		c->saes[s].line = c->ppk.line;
	}
	unsigned dummy;
	if (client_config_peer_of_sae(c, c->ppk.sae, &dummy) >= 0)
		return bad(ret_line, c->ppk.line, msg, msglen, "[ppk] sae %s is also listed as an SAE of "
		           "a peer", c->ppk.sae);
	if (c->saes[s].has_uid || c->saes[s].has_gid)
		return bad(ret_line, c->saes[s].line, msg, msglen, "[sae %s]: the PPK sink's SAE must have "
		           "neither uid nor gid (only dske-clientd itself takes its keys)", c->ppk.sae);
	return 0;
}
