/* log.c — see log.h */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/log.h"

static const char *log_ident = "dske";
static enum log_level log_level = LOG_LVL_INFO;
static bool log_prefix;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_setup(const char *ident)
{
	log_ident = ident;
	if (getenv("JOURNAL_STREAM"))
		log_prefix = true;
}

void log_set_level(enum log_level lvl) { log_level = lvl; }
void log_set_prefix(bool on) { log_prefix = on; }
bool log_enabled(enum log_level lvl) { return lvl <= log_level; }

int log_parse_level(const char *s, enum log_level *ret)
{
	static const struct { const char *name; enum log_level lvl; } names[] = {
		{ "error", LOG_LVL_ERR }, { "warning", LOG_LVL_WARN }, { "warn", LOG_LVL_WARN },
		{ "notice", LOG_LVL_NOTICE }, { "info", LOG_LVL_INFO }, { "debug", LOG_LVL_DEBUG },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0) {
			*ret = names[i].lvl;
			return 0;
		}
	return -EINVAL;
}

void log_msg(enum log_level lvl, int err, const char *fmt, ...)
{
	static const char *const tags[] = { [LOG_LVL_ERR] = "error", [LOG_LVL_WARN] = "warning",
		[LOG_LVL_NOTICE] = "notice", [LOG_LVL_INFO] = "info", [LOG_LVL_DEBUG] = "debug" };
	char buf[1024];
	int saved = errno;
	va_list ap;

	if (!log_enabled(lvl))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	if (log_prefix)
		fprintf(stderr, "<%d>%s", (int)lvl, buf);
	else
		fprintf(stderr, "%s[%s]: %s", log_ident, tags[lvl], buf);
	if (err)
		fprintf(stderr, ": %s", strerror(abs(err)));
	fputc('\n', stderr);
	pthread_mutex_unlock(&log_lock);
	errno = saved;
}
