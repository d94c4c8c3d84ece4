/* names.c — see names.h. Pure functions, no logging. */
#include <errno.h>
#include <string.h>
#include "core/names.h"

static bool names_valid(const char *s, bool (*ok)(char c))
{
	size_t len;

	if (!s)
		return false;
	len = strnlen(s, DSKE_NAME_MAX + 1);
	if (len == 0 || len > DSKE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!ok(s[i]))
			return false;
	return true;
}

static bool names_kme_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static bool names_sae_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '@' || c == ':' || c == '+' || c == '-';
}

bool names_kme_valid(const char *name)
{
	return names_valid(name, names_kme_char);
}

bool names_sae_valid(const char *sae)
{
	return names_valid(sae, names_sae_char);
}

int names_copy(char dst[DSKE_NAME_MAX + 1], const char *src)
{
	size_t len;

	/* every valid KME name is also a valid SAE ID */
	if (!names_sae_valid(src))
		return -EINVAL;
	len = strlen(src);
	memcpy(dst, src, len + 1);
	return 0;
}
