/* format_keyring.c — `dskectl keys`: the keys a client daemon published to the kernel keyring
 * (GET /v1/keys), as a table. Never key bytes (the daemon does not send them). */
#include <inttypes.h>
#include <stdio.h>

#include "format.h"

/* "59m48s", "3h02m", "2d04h", "-" for none */
static void format_span(char *buf, size_t size, json_int_t s)
{
	if (s <= 0)
		snprintf(buf, size, "-");
	else if (s < 60)
		snprintf(buf, size, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, size, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, size, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		snprintf(buf, size, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

static const char *str(json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));
	return s ? s : "?";
}

int format_keyring(FILE *f, json_t *j)
{
	json_t *keys = json_object_get(j, "keys"), *k;
	size_t i;

	if (!json_is_true(json_object_get(j, "enabled"))) {
		fprintf(f, "keyring delivery is off on this daemon (no [peer] with keyring = yes, "
		        "publish_etsi = no)\n");
		return 0;
	}
	if (!json_is_array(keys))
		return -1;
	fprintf(f, "ring %s (id %lld, permission %s, group %s): %zu key(s)\n", str(j, "ring"),
	        (long long)json_integer_value(json_object_get(j, "ring_id")), str(j, "permission"),
	        json_is_string(json_object_get(j, "group")) ? str(j, "group") : "none",
	        json_array_size(keys));
	if (json_array_size(keys) == 0)
		return 0;
	fprintf(f, "%-16s %-36s %-9s %5s %8s %10s\n", "PEER", "KEY ID", "SOURCE", "BITS", "AGE",
	        "EXPIRES IN");
	json_array_foreach(keys, i, k) {
		char age[24], exp[24];
		format_span(age, sizeof(age), json_integer_value(json_object_get(k, "age")));
		if (json_integer_value(json_object_get(k, "expiry")) == 0)
			snprintf(exp, sizeof(exp), "never");
		else
			format_span(exp, sizeof(exp), json_integer_value(json_object_get(k, "expires_in")));
		fprintf(f, "%-16s %-36s %-9s %5lld %8s %10s\n", str(k, "peer"), str(k, "key_id"),
		        str(k, "source"), (long long)json_integer_value(json_object_get(k, "bits")), age,
		        exp);
	}
	return 0;
}
