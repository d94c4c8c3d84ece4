/* parse.c — see parse.h */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "common/parse.h"

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

static int parse_scaled(const char *s, const char *const *units, const uint64_t *mult, size_t nunits,
                        uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	for (size_t i = 0; i < nunits; i++) {
		if (strcmp(end, units[i]) != 0)
			continue;
		if (mult[i] && v > UINT64_MAX / mult[i])
			return -ERANGE;
		*ret = v * mult[i];
		return 0;
	}
	return -EINVAL;
}

int parse_size(const char *s, uint64_t *ret)
{
	static const char *const units[] = { "", "B", "K", "KiB", "M", "MiB", "G", "GiB", "T", "TiB" };
	static const uint64_t mult[] = { 1, 1, 1ull << 10, 1ull << 10, 1ull << 20, 1ull << 20,
		1ull << 30, 1ull << 30, 1ull << 40, 1ull << 40 };
	return parse_scaled(s, units, mult, sizeof(mult) / sizeof(mult[0]), ret);
}

int parse_duration_ms(const char *s, uint64_t *ret)
{
	static const char *const units[] = { "", "ms", "s", "m", "min", "h" };
	static const uint64_t mult[] = { 1000, 1, 1000, 60000, 60000, 3600000 };
	return parse_scaled(s, units, mult, sizeof(mult) / sizeof(mult[0]), ret);
}

int parse_bool(const char *s, bool *ret)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "on"))
		*ret = true;
	else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "off"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}
