/* format_ppk.c — dskectl's human output for GET /v1/ppk and POST /v1/ppk/roll (the JSON is in
 * docs/internals.md section 4). Pure formatting to a FILE; absent fields are skipped. */
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "dskectl/format_ppk.h"

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static long long num(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static void age(char *buf, size_t len, long long ms)
{
	if (ms < 10000)
		snprintf(buf, len, "%lld ms", ms);
	else if (ms < 120000)
		snprintf(buf, len, "%lld s", ms / 1000);
	else if (ms < 7200000)
		snprintf(buf, len, "%lld min", ms / 60000);
	else
		snprintf(buf, len, "%lld h", ms / 3600000);
}

void format_ppk(FILE *f, json_t *j)
{
	json_t *peers = json_object_get(j, "peers"), *p;
	size_t i;

	if (!json_is_array(peers) || json_array_size(peers) == 0) {
		fprintf(f, "no peer has ppk = strongswan\n");
		return;
	}
	fprintf(f, "PPK sink SAE %s\n", str(j, "sae"));
	json_array_foreach(peers, i, p) {
		bool init = !strcmp(str(p, "role"), "initiator");
		json_t *sa = json_object_get(p, "sa"), *ppks = json_object_get(p, "ppks"), *k;
		size_t n;

		fprintf(f, "\npeer %s, link %s: IKE %s, charon %s (%s)\n", str(p, "peer"), str(p, "link"),
		        str(p, "role"), json_is_true(json_object_get(p, "charon")) ? "up" : "NOT REACHABLE",
		        str(p, "vici"));
		if (init) {
			fprintf(f, "  connection %s (%s)%s%s\n", str(p, "conn"), str(p, "conn_file"),
			        *str(p, "child") ? ", child " : "", str(p, "child"));
			if (json_is_object(sa))
				fprintf(f, "  IKE SA #%lld %s, ppk=%s\n", num(sa, "uniqueid"), str(sa, "state"),
				        json_is_true(json_object_get(sa, "ppk")) ? "yes" : "NO");
			else
				fprintf(f, "  IKE SA: none up\n");
			fprintf(f, "  current PPK_ID %s\n", *str(p, "current") ? str(p, "current") : "(none)");
		}
		fprintf(f, "  rolls %lld, restores %lld, failures %lld, unloaded %lld; keep %lld",
		        num(p, "rolls"), num(p, "restores"), num(p, "failures"), num(p, "unloaded"),
		        num(p, "keep"));
		if (init) {
			char a[32];
			long long r = num(p, "roll_ms");
			if (r) {
				age(a, sizeof(a), r);
				fprintf(f, ", roll every %s", a);
			} else {
				fprintf(f, ", roll on demand");
			}
		}
		fputc('\n', f);
		json_t *lr = json_object_get(p, "last_roll");
		if (json_is_object(lr)) {
			if (json_is_true(json_object_get(lr, "ok")))
				fprintf(f, "  last roll: ok, %s (%lld ms)\n", str(lr, "ppk_id"), num(lr, "ms"));
			else
				fprintf(f, "  last roll: FAILED: %s\n", str(lr, "error"));
		}
		if (*str(p, "last_error"))
			fprintf(f, "  last error: %s\n", str(p, "last_error"));
		if (!json_is_array(ppks) || !(n = json_array_size(ppks))) {
			fprintf(f, "  PPKs: none\n");
			continue;
		}
		fprintf(f, "  %-8s %-50s %-8s %-6s %s\n", "STATE", "PPK_ID", "FPR", "LOADED", "AGE");
		json_array_foreach(ppks, n, k) {
			char a[32];
			age(a, sizeof(a), num(k, "age_ms"));
			fprintf(f, "  %-8s %-50s %-8s %-6s %s\n", str(k, "state"), str(k, "ppk_id"),
			        str(k, "fingerprint"), json_is_true(json_object_get(k, "loaded")) ? "yes" : "NO",
			        a);
		}
	}
}

void format_ppk_roll(FILE *f, json_t *j)
{
	json_t *rolled = json_object_get(j, "rolled"), *r;
	size_t i;

	json_array_foreach(rolled, i, r) {
		if (json_is_true(json_object_get(r, "ok")))
			fprintf(f, "%s (%s): rolled to %s, IKE SA up in %lld ms\n", str(r, "peer"),
			        str(r, "link"), str(r, "ppk_id"), num(r, "ms"));
		else
			fprintf(f, "%s (%s): roll FAILED%s%s: %s\n", str(r, "peer"), str(r, "link"),
			        *str(r, "ppk_id") ? " with " : "", str(r, "ppk_id"), str(r, "error"));
	}
}
