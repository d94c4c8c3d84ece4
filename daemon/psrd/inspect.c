/* inspect.c — dske-psrd inspect: verify a bundle (header and checksum) and print everything it
 * holds except the random bytes, as text or JSON. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <sodium.h>
#include "core/bundle.h"
#include "psrd/psrd_tool.h"

static int inspect_json(const char *path, const struct bundle *b, const char *hex)
{
	json_t *o, *saes = json_array();
	char *s;

	for (unsigned i = 0; i < b->sae_count; i++)
		json_array_append_new(saes, json_string(b->saes[i]));
	o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:o, s:I, s:{s:I, s:I}, s:{s:I, s:I}, s:s, "
	              "s:I, s:s, s:b}",
	              "file", path, "role", b->role == BUNDLE_FOR_HUB ? "hub" : "client",
	              "hub", b->hub, "hub_index", (int)b->hub_index, "hub_url", b->hub_url,
	              "client", b->client, "saes", saes, "block_id", (json_int_t)b->block_id,
	              "c2h", "start", (json_int_t)b->c2h_start, "length", (json_int_t)b->c2h_len,
	              "h2c", "start", (json_int_t)b->h2c_start, "length", (json_int_t)b->h2c_len,
	              "source", b->source, "created", (json_int_t)b->created,
	              "checksum", hex, "verified", true);
	if (!o)
		return -ENOMEM;
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return -ENOMEM;
	printf("%s\n", s);
	free(s);
	return 0;
}

static void inspect_text(const char *path, const struct bundle *b, const char *hex)
{
	char when[64] = "?";
	time_t t = (time_t)b->created;
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("file:      %s\n", path);
	printf("role:      %s (import on %s %s)\n", b->role == BUNDLE_FOR_HUB ? "hub" : "client",
	       b->role == BUNDLE_FOR_HUB ? "hub" : "client",
	       b->role == BUNDLE_FOR_HUB ? b->hub : b->client);
	printf("hub:       %s (index %u, %s)\n", b->hub, b->hub_index, b->hub_url);
	printf("client:    %s\n", b->client);
	printf("saes:     ");
	for (unsigned i = 0; i < b->sae_count; i++)
		printf(" %s", b->saes[i]);
	printf("\nblock:     %u\n", b->block_id);
	printf("c2h:       start %llu, length %llu (client -> hub)\n",
	       (unsigned long long)b->c2h_start, (unsigned long long)b->c2h_len);
	printf("h2c:       start %llu, length %llu (hub -> client)\n",
	       (unsigned long long)b->h2c_start, (unsigned long long)b->h2c_len);
	printf("source:    %s\n", b->source);
	printf("created:   %s (%llu)\n", when, (unsigned long long)b->created);
	printf("checksum:  blake2b-256:%s (verified)\n", hex);
}

static int inspect_one(const char *path, bool json)
{
	struct bundle b;
	uint8_t *buf = NULL;
	size_t len = 0;
	unsigned line = 0;
	char hex[65];
	int r;

	r = bundle_read_file(path, &buf, &len);
	if (r < 0) {
		fprintf(stderr, "dske-psrd: %s: %s\n", path,
		        r == -EFBIG ? "too large for a bundle" : strerror(-r));
		return PSRD_EXIT_FAIL;
	}
	r = bundle_parse(buf, len, &b, &line);
	if (r == -EBADMSG && line)
		fprintf(stderr, "dske-psrd: %s: line %u: malformed bundle header\n", path, line);
	else if (r == -EBADMSG)
		fprintf(stderr, "dske-psrd: %s: random data does not match the header's lengths or "
		        "checksum (truncated or corrupted)\n", path);
	else if (r < 0)
		fprintf(stderr, "dske-psrd: %s: %s\n", path, strerror(-r));
	if (r == 0) {
		bundle_checksum_hex(&b, hex);
		if (json)
			r = inspect_json(path, &b, hex);
		else
			inspect_text(path, &b, hex);
		if (r < 0)
			fprintf(stderr, "dske-psrd: %s: %s\n", path, strerror(-r));
	}
	sodium_memzero(buf, len);
	free(buf);
	return r < 0 ? PSRD_EXIT_FAIL : 0;
}

int psrd_inspect_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	int c, ret = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			psrd_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "dske-psrd: inspect: unknown option '%s' (try --help)\n",
			        argv[optind - 1]);
			return PSRD_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "dske-psrd: inspect needs a bundle file (try --help)\n");
		return PSRD_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		if (i > optind && !json)
			printf("\n");
		if (inspect_one(argv[i], json))
			ret = PSRD_EXIT_FAIL;
	}
	return ret;
}
