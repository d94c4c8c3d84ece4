/* log.h — daemon logging (daemons and tools only; library code in core/, keyring/ and
 * ipsec-helper/ never logs). To stderr; with a "<N>" priority prefix when stderr is the journal
 * (JOURNAL_STREAM set) or log_set_prefix(true), so journald keeps the level. Never pass key
 * bytes, pads or shares: key IDs, lengths and fingerprints only. Thread-safe. */
#pragma once
#include <stdbool.h>
#include <stdlib.h>

enum log_level { LOG_LVL_ERR = 3, LOG_LVL_WARN = 4, LOG_LVL_NOTICE = 5, LOG_LVL_INFO = 6,
                 LOG_LVL_DEBUG = 7 };

void log_setup(const char *ident);            /* reads JOURNAL_STREAM */
void log_set_level(enum log_level lvl);
int log_parse_level(const char *s, enum log_level *ret);   /* "error".."debug"; 0 or -EINVAL */
void log_set_prefix(bool on);
bool log_enabled(enum log_level lvl);
void log_msg(enum log_level lvl, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error(...)  log_msg(LOG_LVL_ERR, 0, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_LVL_WARN, 0, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, 0, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_LVL_INFO, 0, __VA_ARGS__)
#define log_debug(...)  do { if (log_enabled(LOG_LVL_DEBUG)) log_msg(LOG_LVL_DEBUG, 0, __VA_ARGS__); } while (0)
/* err is a (positive or negative) errno; ": strerror" is appended. Returns -abs(err). */
#define log_error_errno(err, ...) (log_msg(LOG_LVL_ERR, (err), __VA_ARGS__), -abs(err))
#define log_warn_errno(err, ...)  (log_msg(LOG_LVL_WARN, (err), __VA_ARGS__), -abs(err))
