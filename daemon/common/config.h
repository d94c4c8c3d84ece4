/* config.h — strict INI loading on top of inih, driven by a key table (one per daemon).
 * Every key must be in the table for its section kind, else "FILE:LINE: unknown key"; unknown
 * sections are errors; a key given twice in one section is an error. Values are parsed by type
 * (common/parse.h) and handed to the daemon's set callback, which may refuse them with
 * cfg_fail() (e.g. "duplicate hub index"). The first error is reported as "FILE:LINE: message"
 * in the caller's buffer. The table is also the list the man page must document (tests compare).
 *
 * Sections: a plain section "[hub]" has kind "hub" and arg NULL; a named section
 * "[hub hub1]" has kind "hub" and arg "hub1" (table entries with named = true). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/log.h"

enum cfg_type {
	CFG_STRING,      /* any non-empty string */
	CFG_KME_NAME,    /* names_kme_valid */
	CFG_SAE_ID,      /* names_sae_valid */
	CFG_SAE_LIST,    /* whitespace-separated SAE IDs (v.str is the raw string) */
	CFG_PATH,        /* absolute path */
	CFG_HOSTPORT,    /* "host:port" */
	CFG_URL,         /* http:// or https:// URL */
	CFG_SIZE,        /* parse_size, bounds min..max (max 0 = none) -> v.u */
	CFG_DURATION,    /* parse_duration_ms, bounds -> v.u (milliseconds) */
	CFG_UINT,        /* parse_uint, bounds -> v.u */
	CFG_BOOL,        /* parse_bool -> v.b */
	CFG_LOG_LEVEL,   /* log_parse_level -> v.level */
};

struct cfg_key {
	const char *section;   /* section kind */
	bool named;            /* "[kind NAME]" */
	const char *key;
	enum cfg_type type;
	uint64_t min, max;     /* numeric bounds (max 0 = unbounded) */
	int id;                /* the daemon's own identifier for this key */
};

struct cfg_value {
	const char *str;       /* always set: the raw value */
	uint64_t u;
	bool b;
	enum log_level level;
};

struct cfg_ctx;

/* Called for every accepted key. Return 0, or cfg_fail(ctx, ...) to reject. section_arg is the
 * name of a named section, else NULL. */
typedef int (*cfg_set_fn)(void *user, struct cfg_ctx *ctx, const struct cfg_key *key,
                          const char *section_arg, const struct cfg_value *v);

/* Load path. 0, or -EINVAL (err holds "FILE:LINE: message"), -errno (cannot open: err says so). */
int cfg_load(const char *path, const struct cfg_key *table, size_t nkeys, cfg_set_fn set,
             void *user, char *err, size_t errlen);
/* Record an error for the current line. Returns -EINVAL. */
int cfg_fail(struct cfg_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Current file and line (for the daemon's own later messages, e.g. cross-key checks). */
const char *cfg_file(const struct cfg_ctx *ctx);
unsigned cfg_line(const struct cfg_ctx *ctx);
const char *cfg_type_name(enum cfg_type t);
