/* swanctl_conf.c — see swanctl_conf.h */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "swanctl_conf.h"

#define SWANCTL_DEPTH_MAX 8
#define SWANCTL_TOKEN_MAX 256

static const char *const list_keys[] = { "local_addrs", "remote_addrs", "proposals",
	"esp_proposals", "ah_proposals", "local_ts", "remote_ts", "vips", "pools", "groups",
	"cert_policy" };

static bool is_list_key(const char *k)
{
	for (size_t i = 0; i < sizeof(list_keys) / sizeof(list_keys[0]); i++)
		if (strcmp(k, list_keys[i]) == 0)
			return true;
	return false;
}

static bool is_refused_key(const char *k)
{
	return strncmp(k, "cert", 4) == 0 || strcmp(k, "cacerts") == 0 ||
	       strcmp(k, "pubkeys") == 0 || strcmp(k, "include") == 0;
}

struct line {
	char key[SWANCTL_TOKEN_MAX];
	char value[4096];
	enum { L_EMPTY, L_OPEN, L_CLOSE, L_KV } kind;
};

static void trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)s[i]))
		i++;
	memmove(s, s + i, n - i + 1);
}

static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
			return false;
	return true;
}

/* Classify one line (NUL-terminated, comment stripped by the caller). */
static int parse_line(char *raw, struct line *l)
{
	char *eq, *brace;

	trim(raw);
	memset(l, 0, sizeof(*l));
	if (!*raw) {
		l->kind = L_EMPTY;
		return 0;
	}
	if (strcmp(raw, "}") == 0) {
		l->kind = L_CLOSE;
		return 0;
	}
	eq = strchr(raw, '=');
	brace = strchr(raw, '{');
	if (brace && (!eq || brace < eq)) {
		if (brace[1] != '\0')
			return -EBADMSG;
		*brace = '\0';
		trim(raw);
		if (!valid_name(raw) || strlen(raw) >= sizeof(l->key))
			return -EBADMSG;
		strcpy(l->key, raw);
		l->kind = L_OPEN;
		return 0;
	}
	if (!eq)
		return -EBADMSG;
	*eq = '\0';
	trim(raw);
	if (!valid_name(raw) || strlen(raw) >= sizeof(l->key) || strlen(eq + 1) >= sizeof(l->value))
		return -EBADMSG;
	strcpy(l->key, raw);
	strcpy(l->value, eq + 1);
	trim(l->value);
	if (l->value[0] == '"') {
		size_t n = strlen(l->value);
		if (n < 2 || l->value[n - 1] != '"')
			return -EBADMSG;
		memmove(l->value, l->value + 1, n - 2);
		l->value[n - 2] = '\0';
	}
	l->kind = L_KV;
	return 0;
}

/* Names seen in the open sections (keys and subsections are unique per section in VICI). */
struct seen {
	struct { unsigned depth; char name[SWANCTL_TOKEN_MAX]; } *v;
	size_t n, cap;
};

/* 0 if name is new at depth (and records it), -EBADMSG if a duplicate, -ENOMEM. */
static int seen_add(struct seen *s, unsigned depth, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].depth == depth && strcmp(s->v[i].name, name) == 0)
			return -EBADMSG;
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 32;
		void *nv = realloc(s->v, ncap * sizeof(*s->v));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n].depth = depth;
	strcpy(s->v[s->n].name, name);
	s->n++;
	return 0;
}

/* Forget what was seen inside a section that closes at depth. */
static void seen_close(struct seen *s, unsigned depth)
{
	while (s->n && s->v[s->n - 1].depth > depth)
		s->n--;
}

static void emit_kv(struct vici_builder *b, const char *key, const char *value)
{
	char item[4096];
	const char *p = value;

	if (!is_list_key(key)) {
		vici_builder_kv_str(b, key, value);
		return;
	}
	vici_builder_list_start(b, key);
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		memcpy(item, p, n);
		item[n] = '\0';
		trim(item);
		if (*item)
			vici_builder_list_item_str(b, item);
		p += n + (comma ? 1 : 0);
	}
	vici_builder_list_end(b);
}

int swanctl_conn_build(const char *text, size_t len, const char *name, const char *ppk_id,
                       struct vici_builder *b, unsigned *ret_line)
{
	char raw[4096 + SWANCTL_TOKEN_MAX + 8];
	unsigned depth = 0, lineno = 0, conn_depth = 0;
	bool in_conn = false, found = false, in_connections = false;
	struct seen seen = { 0 };
	size_t pos = 0;
	int r = 0;

	while (pos < len && r == 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		struct line l;
		char *hash;

		lineno++;
		if (n >= sizeof(raw) || memchr(text + pos, '\0', n)) {
			r = -EBADMSG;
			break;
		}
		memcpy(raw, text + pos, n);
		raw[n] = '\0';
		pos += n + (nl ? 1 : 0);
		if ((hash = strchr(raw, '#')))
			*hash = '\0';
		if ((r = parse_line(raw, &l)) < 0)
			break;
		switch (l.kind) {
		case L_EMPTY:
			break;
		case L_OPEN:
			if ((r = seen_add(&seen, depth, l.key)) < 0)
				break;
			if (++depth > SWANCTL_DEPTH_MAX) {
				r = -EBADMSG;
				break;
			}
			if (depth == 1)
				in_connections = strcmp(l.key, "connections") == 0;
			if (in_conn) {
				vici_builder_section_start(b, l.key);
			} else if (!found && strcmp(l.key, name) == 0 &&
			           (depth == 1 || (depth == 2 && in_connections))) {
				in_conn = found = true;
				conn_depth = depth;
				vici_builder_section_start(b, l.key);
			}
			break;
		case L_CLOSE:
			if (depth == 0) {
				r = -EBADMSG;
				break;
			}
			if (in_conn && depth == conn_depth) {
				if (ppk_id)
					vici_builder_kv_str(b, "ppk_id", ppk_id);
				in_conn = false;
			}
			if (in_conn || depth == conn_depth)
				vici_builder_section_end(b);
			if (depth == conn_depth)
				conn_depth = 0;
			depth--;
			seen_close(&seen, depth);
			break;
		case L_KV:
			if (is_refused_key(l.key)) {
				r = -EOPNOTSUPP;
				break;
			}
			if ((r = seen_add(&seen, depth, l.key)) < 0)
				break;
			if (!in_conn)
				break;
			if (depth == conn_depth && ppk_id && strcmp(l.key, "ppk_id") == 0)
				break;
			emit_kv(b, l.key, l.value);
			break;
		}
	}
	free(seen.v);
	if (r == 0 && depth != 0) {
		r = -EBADMSG;
		lineno++;
	}
	if (r == 0 && !found)
		r = -ENOENT;
	if (r == 0 && b->err)
		r = b->err;
	if (r < 0 && ret_line)
		*ret_line = lineno;
	return r;
}
