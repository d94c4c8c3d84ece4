/* config.c — see config.h */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/config.h"
#include "common/httpd.h"
#include "common/parse.h"
#include "core/names.h"

struct cfg_seen {
	char *id;              /* "section\nkey" */
	struct cfg_seen *next;
};

struct cfg_ctx {
	const char *path;
	FILE *f;
	unsigned newlines, line;
	const struct cfg_key *table;
	size_t nkeys;
	cfg_set_fn set;
	void *user;
	char *err;
	size_t errlen;
	bool failed;
	struct cfg_seen *seen;
	unsigned bad_section_line;     /* first unknown section header (reported at the end if no
	                                * key in it was reported first) */
	char bad_section[160];
};

const char *cfg_file(const struct cfg_ctx *ctx) { return ctx->path; }
unsigned cfg_line(const struct cfg_ctx *ctx) { return ctx->line; }

const char *cfg_type_name(enum cfg_type t)
{
	static const char *const names[] = {
		[CFG_STRING] = "string", [CFG_KME_NAME] = "name", [CFG_SAE_ID] = "SAE ID",
		[CFG_SAE_LIST] = "SAE ID list", [CFG_PATH] = "path", [CFG_HOSTPORT] = "host:port",
		[CFG_URL] = "URL", [CFG_SIZE] = "size", [CFG_DURATION] = "duration",
		[CFG_UINT] = "number", [CFG_BOOL] = "boolean", [CFG_LOG_LEVEL] = "log level",
	};
	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

int cfg_fail(struct cfg_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ctx->failed)
		return -EINVAL;
	ctx->failed = true;
	n = snprintf(ctx->err, ctx->errlen, "%s:%u: ", ctx->path, ctx->line);
	if (n >= 0 && (size_t)n < ctx->errlen) {
		va_start(ap, fmt);
		vsnprintf(ctx->err + n, ctx->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Is there a table entry for section (kind, and named or not)? */
static bool cfg_section_known(const struct cfg_ctx *ctx, const char *section)
{
	size_t kl = strcspn(section, " \t");
	const char *arg = section + kl + strspn(section + kl, " \t");

	if (kl == 0)
		return false;
	for (size_t i = 0; i < ctx->nkeys; i++) {
		const struct cfg_key *t = &ctx->table[i];
		if (strlen(t->section) == kl && !strncmp(t->section, section, kl) &&
		    t->named == (*arg != '\0'))
			return true;
	}
	return false;
}

/* A section header: noted here, because inih calls the handler only for keys, so an unknown
 * section without keys would otherwise pass unnoticed (cfg_load reports it). */
static void cfg_check_header(struct cfg_ctx *ctx, const char *line)
{
	char section[160];
	const char *p = line + strspn(line, " \t"), *e;
	size_t n;

	if (*p != '[' || !(e = strchr(p, ']')))
		return;    /* not a header, or a malformed one (inih reports it) */
	p++;
	p += strspn(p, " \t");
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	n = (size_t)(e - p);
	if (n >= sizeof(section))
		n = sizeof(section) - 1;
	memcpy(section, p, n);
	section[n] = '\0';
	if (!cfg_section_known(ctx, section) && !ctx->bad_section_line) {
		ctx->bad_section_line = ctx->line;
		memcpy(ctx->bad_section, section, n + 1);
	}
}

static char *cfg_reader(char *str, int num, void *stream)
{
	struct cfg_ctx *ctx = stream;
	char *s;
	size_t len;

	ctx->line = ctx->newlines + 1;
	s = fgets(str, num, ctx->f);
	if (s) {
		len = strlen(s);
		if (len && s[len - 1] == '\n')
			ctx->newlines++;
		if (!ctx->failed)
			cfg_check_header(ctx, s);
	}
	return s;
}

static bool cfg_mark_seen(struct cfg_ctx *ctx, const char *section, const char *key)
{
	struct cfg_seen *s;
	char *id;

	if (asprintf(&id, "%s\n%s", section, key) < 0)
		return true;   /* out of memory: do not report a false duplicate */
	for (s = ctx->seen; s; s = s->next)
		if (strcmp(s->id, id) == 0) {
			free(id);
			return false;
		}
	s = malloc(sizeof(*s));
	if (!s) {
		free(id);
		return true;
	}
	s->id = id;
	s->next = ctx->seen;
	ctx->seen = s;
	return true;
}

static bool valid_url(const char *s)
{
	const char *p = !strncmp(s, "http://", 7) ? s + 7 : !strncmp(s, "https://", 8) ? s + 8 : NULL;

	if (!p || !*p || *p == '/')
		return false;
	for (; *p; p++)
		if (isspace((unsigned char)*p) || !isprint((unsigned char)*p))
			return false;
	return true;
}

static int cfg_parse_value(struct cfg_ctx *ctx, const struct cfg_key *k, const char *value,
                           struct cfg_value *v)
{
	char host[256];
	uint16_t port;
	int r = 0;

	*v = (struct cfg_value){ .str = value };
	if (!*value)
		return cfg_fail(ctx, "%s: empty value", k->key);
	switch (k->type) {
	case CFG_STRING:
		break;
	case CFG_KME_NAME:
		if (!names_kme_valid(value))
			return cfg_fail(ctx, "%s: invalid name \"%s\" (1..64 of a-z 0-9 . _ -)", k->key, value);
		break;
	case CFG_SAE_ID:
		if (!names_sae_valid(value))
			return cfg_fail(ctx, "%s: invalid SAE ID \"%s\"", k->key, value);
		break;
	case CFG_SAE_LIST: {
		char *dup = strdup(value), *save = NULL, *tok;
		if (!dup)
			return -ENOMEM;
		for (tok = strtok_r(dup, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save))
			if (!names_sae_valid(tok)) {
				r = cfg_fail(ctx, "%s: invalid SAE ID \"%s\"", k->key, tok);
				break;
			}
		free(dup);
		return r;
	}
	case CFG_PATH:
		if (value[0] != '/')
			return cfg_fail(ctx, "%s: \"%s\" is not an absolute path", k->key, value);
		break;
	case CFG_HOSTPORT:
		if (httpd_parse_hostport(value, host, sizeof(host), &port) < 0)
			return cfg_fail(ctx, "%s: \"%s\" is not host:port", k->key, value);
		break;
	case CFG_URL:
		if (!valid_url(value))
			return cfg_fail(ctx, "%s: \"%s\" is not an http:// or https:// URL", k->key, value);
		break;
	case CFG_SIZE:
	case CFG_DURATION:
	case CFG_UINT:
		r = k->type == CFG_SIZE ? parse_size(value, &v->u) :
		    k->type == CFG_DURATION ? parse_duration_ms(value, &v->u) :
		    parse_uint(value, 0, UINT64_MAX, &v->u);
		if (r < 0)
			return cfg_fail(ctx, "%s: \"%s\" is not a valid %s", k->key, value, cfg_type_name(k->type));
		if (v->u < k->min || (k->max && v->u > k->max))
			return cfg_fail(ctx, "%s: \"%s\" is out of range", k->key, value);
		break;
	case CFG_BOOL:
		if (parse_bool(value, &v->b) < 0)
			return cfg_fail(ctx, "%s: \"%s\" is not yes or no", k->key, value);
		break;
	case CFG_LOG_LEVEL:
		if (log_parse_level(value, &v->level) < 0)
			return cfg_fail(ctx, "%s: \"%s\" is not a log level (error, warning, notice, info, debug)",
			                k->key, value);
		break;
	}
	return 0;
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_ctx *ctx = user;
	char kind[128];
	const char *arg = NULL;
	const struct cfg_key *k = NULL;
	bool kind_known = false;
	struct cfg_value v;
	size_t kl;
	int r;

	if (ctx->failed)
		return 1;    /* first error only */
	kl = strcspn(section, " \t");
	if (kl == 0 || kl >= sizeof(kind)) {
		cfg_fail(ctx, "key \"%s\" outside of a known section", name);
		return 0;
	}
	memcpy(kind, section, kl);
	kind[kl] = '\0';
	if (section[kl]) {
		arg = section + kl + strspn(section + kl, " \t");
		if (!*arg)
			arg = NULL;
	}
	for (size_t i = 0; i < ctx->nkeys; i++) {
		const struct cfg_key *t = &ctx->table[i];
		if (strcmp(t->section, kind) != 0 || t->named != (arg != NULL))
			continue;
		kind_known = true;
		if (strcmp(t->key, name) == 0) {
			k = t;
			break;
		}
	}
	if (!kind_known) {
		cfg_fail(ctx, "unknown section [%s]", section);
		return 0;
	}
	if (!k) {
		cfg_fail(ctx, "unknown key \"%s\" in section [%s]", name, section);
		return 0;
	}
	if (!cfg_mark_seen(ctx, section, name)) {
		cfg_fail(ctx, "duplicate key \"%s\" in section [%s]", name, section);
		return 0;
	}
	r = cfg_parse_value(ctx, k, value, &v);
	if (r == 0)
		r = ctx->set(ctx->user, ctx, k, arg, &v);
	if (r < 0) {
		if (!ctx->failed)
			cfg_fail(ctx, "%s: %s", name, strerror(-r));
		return 0;
	}
	return 1;
}

int cfg_load(const char *path, const struct cfg_key *table, size_t nkeys, cfg_set_fn set,
             void *user, char *err, size_t errlen)
{
	struct cfg_ctx ctx = { .path = path, .table = table, .nkeys = nkeys, .set = set,
	                       .user = user, .err = err, .errlen = errlen };
	int r;

	if (errlen)
		err[0] = '\0';
	ctx.f = fopen(path, "re");
	if (!ctx.f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	r = ini_parse_stream(cfg_reader, &ctx, cfg_handler, &ctx);
	if (!ctx.failed && r == 0 && ctx.bad_section_line) {
		ctx.line = ctx.bad_section_line;
		cfg_fail(&ctx, "unknown section [%s]", ctx.bad_section);
	}
	if (ctx.failed)
		r = -EINVAL;
	else if (r > 0) {
		snprintf(err, errlen, "%s:%d: syntax error", path, r);
		r = -EINVAL;
	} else if (r < 0) {
		snprintf(err, errlen, "%s: cannot parse (%s)", path, r == -2 ? "out of memory" : "read error");
		r = r == -2 ? -ENOMEM : -EIO;
	}
	fclose(ctx.f);
	while (ctx.seen) {
		struct cfg_seen *n = ctx.seen->next;
		free(ctx.seen->id);
		free(ctx.seen);
		ctx.seen = n;
	}
	return r;
}
