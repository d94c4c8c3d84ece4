/* format.c — dskectl's human-readable output. */
#include "dskectl/format.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#define BAR_WIDTH 20

const char *format_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", n);
		return buf;
	}
	while (v >= 1024.0 && u < 3) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

const char *format_bar(uint64_t remaining, uint64_t total, unsigned width, char *buf, size_t len)
{
	unsigned fill = 0, i;

	if (len < width + 3) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	if (total > 0) {
		if (remaining > total)
			remaining = total;
		fill = (unsigned)((remaining * width + total - 1) / total);
	}
	buf[0] = '[';
	for (i = 0; i < width; i++)
		buf[1 + i] = i < fill ? '#' : '.';
	buf[1 + width] = ']';
	buf[2 + width] = '\0';
	return buf;
}

static bool get_u64(json_t *o, const char *key, uint64_t *ret)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*ret = (uint64_t)json_integer_value(v);
	return true;
}

static const char *get_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* one stream: "tx [####......] 42%  1.7 MiB of 4.0 MiB" */
static void stream_line(FILE *f, const char *label, json_t *psrd, const char *rem_key,
                        const char *end_key)
{
	uint64_t rem, end;
	char bar[BAR_WIDTH + 3], b1[32], b2[32];

	if (!get_u64(psrd, rem_key, &rem))
		return;
	if (!get_u64(psrd, end_key, &end))
		end = 0;
	fprintf(f, "      %s %s %3u%%  %s left of %s\n", label,
	        format_bar(rem, end, BAR_WIDTH, bar, sizeof(bar)),
	        end ? (unsigned)(rem * 100 / end) : 0, format_bytes(rem, b1, sizeof(b1)),
	        format_bytes(end, b2, sizeof(b2)));
}

static void peer_block(FILE *f, json_t *p, bool is_hub_entry)
{
	const char *name = get_str(p, "name"), *err = get_str(p, "last_error");
	json_t *up = json_object_get(p, "up"), *psrd = json_object_get(p, "psrd");
	uint64_t idx, faults;

	fprintf(f, "  %-12s", name ? name : "?");
	if (json_is_boolean(up))
		fprintf(f, " %-5s", json_is_true(up) ? "up" : "DOWN");
	if (is_hub_entry && get_u64(p, "index", &idx))
		fprintf(f, " index %" PRIu64, idx);
	if (get_u64(p, "faults", &faults))
		fprintf(f, "  faults %" PRIu64, faults);
	if (json_is_true(json_object_get(psrd, "low")))
		fprintf(f, "  PSRD LOW");
	fputc('\n', f);
	if (err && *err)
		fprintf(f, "      last error: %s\n", err);
	if (json_is_object(psrd)) {
		/* tx is the stream this daemon sends on: c2h for a client, h2c for a hub */
		stream_line(f, is_hub_entry ? "tx c2h" : "tx h2c", psrd, "tx_remaining", "tx_end");
		stream_line(f, is_hub_entry ? "rx h2c" : "rx c2h", psrd, "rx_remaining", "rx_end");
	}
}

static void counters_line(FILE *f, const char *title, json_t *o)
{
	const char *k;
	json_t *v;
	bool first = true;

	if (!json_is_object(o))
		return;
	fprintf(f, "%s:", title);
	json_object_foreach(o, k, v) {
		if (!json_is_integer(v))
			continue;
		fprintf(f, "%s %s %" JSON_INTEGER_FORMAT, first ? "" : ",", k, json_integer_value(v));
		first = false;
	}
	fputc('\n', f);
}

void format_status(FILE *f, json_t *st)
{
	const char *name = get_str(st, "name"), *role = get_str(st, "role");
	const char *ver = get_str(st, "version");
	json_t *hubs = json_object_get(st, "hubs"), *clients = json_object_get(st, "clients");
	json_t *warn = json_object_get(st, "warnings"), *v;
	uint64_t up, k;
	size_t i, nup = 0;

	fprintf(f, "%s (%s", name ? name : "?", role ? role : "daemon");
	if (ver)
		fprintf(f, ", version %s", ver);
	if (get_u64(st, "uptime", &up))
		fprintf(f, ", up %" PRIu64 " s", up);
	fprintf(f, ")\n");

	if (json_is_array(hubs)) {
		json_array_foreach(hubs, i, v)
			if (!json_is_false(json_object_get(v, "up")))
				nup++;
		fprintf(f, "hubs: %zu up, %zu down", nup, json_array_size(hubs) - nup);
		if (get_u64(st, "k", &k))
			fprintf(f, " (k = %" PRIu64 ")", k);
		fputc('\n', f);
		json_array_foreach(hubs, i, v)
			peer_block(f, v, true);
	}
	if (json_is_array(clients)) {
		fprintf(f, "clients: %zu\n", json_array_size(clients));
		json_array_foreach(clients, i, v)
			peer_block(f, v, false);
	}
	counters_line(f, "keys", json_object_get(st, "keys"));
	counters_line(f, "shares", json_object_get(st, "shares"));
	counters_line(f, "alarms", json_object_get(st, "alarms"));
	if (json_is_array(warn) && json_array_size(warn) > 0) {
		fprintf(f, "warnings:\n");
		json_array_foreach(warn, i, v)
			fprintf(f, "  %s\n", json_is_string(v) ? json_string_value(v) : "?");
	} else {
		fprintf(f, "warnings: none\n");
	}
}

static void scalar(FILE *f, json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: fprintf(f, "%s", json_string_value(v)); break;
	case JSON_INTEGER: fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
	case JSON_REAL: fprintf(f, "%g", json_real_value(v)); break;
	case JSON_TRUE: fprintf(f, "yes"); break;
	case JSON_FALSE: fprintf(f, "no"); break;
	case JSON_NULL: fprintf(f, "-"); break;
	default: break;
	}
}

static bool is_scalar_array(json_t *a)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if (json_is_object(v) || json_is_array(v))
			return false;
	return true;
}

void format_json_human(FILE *f, json_t *v, unsigned indent)
{
	const char *k;
	json_t *m;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, k, m) {
			fprintf(f, "%*s%s:", (int)indent, "", k);
			if (json_is_object(m) || (json_is_array(m) && !is_scalar_array(m))) {
				if (json_is_array(m) && json_array_size(m) == 0) {
					fprintf(f, " (none)\n");
					continue;
				}
				fputc('\n', f);
				format_json_human(f, m, indent + 2);
			} else if (json_is_array(m)) {
				json_t *e;

				json_array_foreach(m, i, e) {
					fputc(' ', f);
					scalar(f, e);
				}
				if (json_array_size(m) == 0)
					fprintf(f, " (none)");
				fputc('\n', f);
			} else {
				fputc(' ', f);
				scalar(f, m);
				fputc('\n', f);
			}
		}
	} else if (json_is_array(v)) {
		if (json_array_size(v) == 0)
			fprintf(f, "%*s(none)\n", (int)indent, "");
		json_array_foreach(v, i, m) {
			if (json_is_object(m)) {
				fprintf(f, "%*s-\n", (int)indent, "");
				format_json_human(f, m, indent + 2);
			} else {
				fprintf(f, "%*s- ", (int)indent, "");
				scalar(f, m);
				fputc('\n', f);
			}
		}
	} else {
		fprintf(f, "%*s", (int)indent, "");
		scalar(f, v);
		fputc('\n', f);
	}
}

int format_keys(FILE *f, json_t *container)
{
	json_t *keys = json_object_get(container, "keys"), *k;
	size_t i, n, maxlen = 0;
	unsigned char *bin = NULL;
	char *hex = NULL;
	int r = -EBADMSG;

	if (!json_is_array(keys))
		goto out;
	json_array_foreach(keys, i, k) {
		const char *b64 = get_str(k, "key");

		if (!b64 || !get_str(k, "key_ID"))
			goto out;
		if (strlen(b64) > maxlen)
			maxlen = strlen(b64);
	}
	bin = sodium_malloc(maxlen + 1);
	hex = sodium_malloc(2 * maxlen + 3);
	if (!bin || !hex) {
		r = -ENOMEM;
		goto out;
	}
	json_array_foreach(keys, i, k) {
		const char *b64 = get_str(k, "key");

		if (sodium_base642bin(bin, maxlen + 1, b64, strlen(b64), NULL, &n, NULL,
		                      sodium_base64_VARIANT_ORIGINAL) != 0)
			goto out;
		sodium_bin2hex(hex, 2 * maxlen + 3, bin, n);
		fprintf(f, "%s %s\n", get_str(k, "key_ID"), hex);
	}
	r = 0;
out:
	sodium_free(bin);   /* sodium_free wipes */
	sodium_free(hex);
	return r;
}
