/* make.c — dske-psrd make: generate one block of PSRD for a (hub, client) pair and write the
 * hub's and the client's bundle (identical random data and registration, 0600, never
 * overwriting). The random bytes live in memory only as long as it takes to write them. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "common/parse.h"
#include "core/bundle.h"
#include "core/names.h"
#include "core/rng.h"
#include "psrd/psrd_tool.h"

#define PSRD_SIZE_MIN (4ull << 10)
#define PSRD_SIZE_MAX (1ull << 30)   /* per stream; a bundle holds both streams in one file */

struct make_opts {
	struct bundle b;                 /* registration; data pointers set later */
	uint64_t size;
	bool have_size, have_index, have_offset;
	const char *source;
	const char *out;
};

static int make_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int make_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("dske-psrd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return PSRD_EXIT_USAGE;
}

static bool make_url_valid(const char *url)
{
	size_t len = strlen(url), scheme;

	if (len > BUNDLE_URL_MAX)
		return false;
	if (!strncmp(url, "http://", 7))
		scheme = 7;
	else if (!strncmp(url, "https://", 8))
		scheme = 8;
	else
		return false;
	for (size_t i = 0; i < len; i++)
		if (url[i] <= 0x20 || url[i] > 0x7e)
			return false;
	return len > scheme;
}

/* 0, or PSRD_EXIT_USAGE after printing the problem */
static int make_parse(int argc, char **argv, struct make_opts *o)
{
	static const struct option longopts[] = {
		{ "hub", required_argument, NULL, 'H' },
		{ "hub-index", required_argument, NULL, 'i' },
		{ "hub-url", required_argument, NULL, 'u' },
		{ "client", required_argument, NULL, 'c' },
		{ "sae", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'z' },
		{ "block-id", required_argument, NULL, 'b' },
		{ "offset", required_argument, NULL, 'o' },
		{ "source", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	o->b.block_id = 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
		case 'c':
			if (!names_kme_valid(optarg))
				return make_fail("bad %s name '%s': 1..64 bytes of [a-z0-9._-]",
				                 c == 'H' ? "hub" : "client", optarg);
			strcpy(c == 'H' ? o->b.hub : o->b.client, optarg);
			break;
		case 'i':
			if (parse_uint(optarg, 1, 255, &v) < 0)
				return make_fail("bad --hub-index '%s': a number 1..255", optarg);
			o->b.hub_index = (uint8_t)v;
			o->have_index = true;
			break;
		case 'u':
			if (!make_url_valid(optarg))
				return make_fail("bad --hub-url '%s': http:// or https:// URL, at most %d "
				                 "bytes, no spaces", optarg, BUNDLE_URL_MAX);
			strcpy(o->b.hub_url, optarg);
			break;
		case 's':
			if (!names_sae_valid(optarg))
				return make_fail("bad SAE ID '%s': 1..64 bytes of [A-Za-z0-9._@:+-]", optarg);
			if (o->b.sae_count == BUNDLE_MAX_SAES)
				return make_fail("too many --sae (at most %d)", BUNDLE_MAX_SAES);
			for (unsigned i = 0; i < o->b.sae_count; i++)
				if (!strcmp(o->b.saes[i], optarg))
					return make_fail("SAE ID '%s' given twice", optarg);
			strcpy(o->b.saes[o->b.sae_count++], optarg);
			break;
		case 'z':
			if (parse_size(optarg, &o->size) < 0)
				return make_fail("bad --size '%s': a size such as 4096, 64K, 64M, 1G", optarg);
			if (o->size < PSRD_SIZE_MIN || o->size > PSRD_SIZE_MAX)
				return make_fail("bad --size '%s': per stream between 4K and 1G", optarg);
			o->have_size = true;
			break;
		case 'b':
			if (parse_uint(optarg, 1, UINT32_MAX, &v) < 0)
				return make_fail("bad --block-id '%s': a number 1..%u", optarg, UINT32_MAX);
			o->b.block_id = (uint32_t)v;
			break;
		case 'o':
			if (parse_size(optarg, &o->b.c2h_start) < 0)
				return make_fail("bad --offset '%s': a byte offset such as 0 or 64M", optarg);
			o->have_offset = true;
			break;
		case 'r':
			o->source = optarg;
			break;
		case 'd':
			o->out = optarg;
			break;
		case 'h':
			psrd_usage(stdout);
			exit(0);
		default:
			return make_fail("make: unknown or incomplete option '%s' (try --help)",
			                 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return make_fail("make: unexpected argument '%s'", argv[optind]);
	if (!o->b.hub[0] || !o->have_index || !o->b.hub_url[0] || !o->b.client[0] ||
	    !o->b.sae_count || !o->have_size || !o->out)
		return make_fail("make needs --hub, --hub-index, --hub-url, --client, --sae, --size "
		                 "and --out (try --help)");
	if (o->b.block_id > 1 && !o->have_offset)
		return make_fail("--block-id %u needs --offset (where block %u ends in the streams)",
		                 o->b.block_id, o->b.block_id - 1);
	if (o->b.c2h_start > UINT64_MAX - o->size)
		return make_fail("--offset plus --size overflows");
	return 0;
}

static void make_path(char *out, size_t n, const struct make_opts *o, const char *role)
{
	if (o->b.block_id == 1)
		snprintf(out, n, "%s/%s-%s.%s.bundle", o->out, o->b.hub, o->b.client, role);
	else
		snprintf(out, n, "%s/%s-%s.block%u.%s.bundle", o->out, o->b.hub, o->b.client,
		         o->b.block_id, role);
}

/* format the bundle for one role and write it */
static int make_write(struct make_opts *o, enum bundle_role role, const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	o->b.role = role;
	r = bundle_format(&o->b, &buf, &len);
	if (r < 0)
		return r;
	r = bundle_write_file(path, buf, len);
	sodium_memzero(buf, len);
	free(buf);
	return r;
}

int psrd_make_main(int argc, char **argv)
{
	struct make_opts o;
	char hub_path[4096], client_path[4096], hex[65];
	uint8_t *data = NULL;
	struct stat st;
	int r, ret = PSRD_EXIT_FAIL;

	memset(&o, 0, sizeof(o));
	r = make_parse(argc, argv, &o);
	if (r)
		return r;
	if (stat(o.out, &st) < 0) {
		fprintf(stderr, "dske-psrd: --out %s: %s\n", o.out, strerror(errno));
		return PSRD_EXIT_FAIL;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "dske-psrd: --out %s: not a directory\n", o.out);
		return PSRD_EXIT_FAIL;
	}
	make_path(hub_path, sizeof(hub_path), &o, "hub");
	make_path(client_path, sizeof(client_path), &o, "client");
	if (strlen(hub_path) + 8 >= sizeof(hub_path))
		return make_fail("--out path too long");
	/* refuse before spending any randomness; O_EXCL at write time closes the race */
	if (access(hub_path, F_OK) == 0 || access(client_path, F_OK) == 0) {
		fprintf(stderr, "dske-psrd: %s exists; refusing to overwrite a bundle (move it away "
		        "or use another --out or --block-id)\n",
		        access(hub_path, F_OK) == 0 ? hub_path : client_path);
		return PSRD_EXIT_FAIL;
	}
	if (rng_init() < 0) {
		fprintf(stderr, "dske-psrd: libsodium failed to initialise\n");
		return PSRD_EXIT_FAIL;
	}
	if (o.source) {
		r = rng_set_source(o.source);
		if (r < 0) {
			fprintf(stderr, "dske-psrd: --source %s: %s\n", o.source, strerror(-r));
			return PSRD_EXIT_FAIL;
		}
	}
	if (snprintf(o.b.source, sizeof(o.b.source), "%s", rng_source_name()) >=
	    (int)sizeof(o.b.source)) {
		fprintf(stderr, "dske-psrd: --source path longer than %zu bytes\n",
		        sizeof(o.b.source) - 1);
		return PSRD_EXIT_FAIL;
	}
	for (char *p = o.b.source; *p; p++)
		if (*p < 0x20 || *p > 0x7e) {
			fprintf(stderr, "dske-psrd: --source path must be printable ASCII\n");
			return PSRD_EXIT_FAIL;
		}
	o.b.c2h_len = o.b.h2c_len = o.size;
	o.b.h2c_start = o.b.c2h_start;
	o.b.created = (uint64_t)time(NULL);
	data = malloc(2 * (size_t)o.size);
	if (!data) {
		fprintf(stderr, "dske-psrd: out of memory for 2 x %llu bytes\n",
		        (unsigned long long)o.size);
		return PSRD_EXIT_FAIL;
	}
	r = rng_bytes(data, 2 * (size_t)o.size);
	if (r < 0) {
		fprintf(stderr, "dske-psrd: reading random data from %s: %s\n", rng_source_name(),
		        r == -EIO ? "short read (end of file)" : strerror(-r));
		goto out;
	}
	o.b.c2h = data;
	o.b.h2c = data + o.size;
	r = make_write(&o, BUNDLE_FOR_HUB, hub_path);
	if (r < 0) {
		fprintf(stderr, "dske-psrd: %s: %s\n", hub_path,
		        r == -EEXIST ? "exists; refusing to overwrite" : strerror(-r));
		goto out;
	}
	r = make_write(&o, BUNDLE_FOR_CLIENT, client_path);
	if (r < 0) {
		fprintf(stderr, "dske-psrd: %s: %s\n", client_path,
		        r == -EEXIST ? "exists; refusing to overwrite" : strerror(-r));
		unlink(hub_path);   /* never leave half a pair: ours, created above */
		goto out;
	}
	bundle_checksum_hex(&o.b, hex);
	printf("%s\t(import on hub %s)\n%s\t(import on client %s)\n", hub_path, o.b.hub, client_path,
	       o.b.client);
	printf("block %u: %llu bytes per stream at offset %llu, source %s\nchecksum blake2b-256:%s\n",
	       o.b.block_id, (unsigned long long)o.size, (unsigned long long)o.b.c2h_start,
	       o.b.source, hex);
	ret = 0;
out:
	sodium_memzero(data, 2 * (size_t)o.size);
	free(data);
	return ret;
}
