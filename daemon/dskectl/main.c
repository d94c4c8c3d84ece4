/* dskectl — talk to dske-clientd or dske-hubd over its control socket (docs/internals.md
 * section 4): status, get keys as a local SAE (root), import PSRD bundles, keyring and PPK
 * state. --json prints the daemon's JSON as it came. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "common/parse.h"
#include "core/names.h"
#include "dskectl/ctl_client.h"
#include "dskectl/format.h"
#include "dskectl/format_ppk.h"

#define CLIENT_SOCKET "/run/dske/clientd.sock"
#define HUB_SOCKET "/run/dske-hub/hubd.sock"
#define MAX_KEY_IDS 1024

struct opts {
	const char *socket;
	bool hub, json;
	const char *sae;
	const char *number, *size;
	long timeout_s;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: dskectl [--socket PATH] [--hub] [--json] [--timeout SEC] COMMAND [ARGS]\n"
	        "Talks to dske-clientd (or dske-hubd with --hub) over its control socket.\n"
	        "\n"
	        "Commands:\n"
	        "  status                          hubs up/down, PSRD left per stream, faults,\n"
	        "                                  key and share counters, warnings\n"
	        "  get-key --sae ID PEER_SAE [--number N] [--size BITS]\n"
	        "                                  ETSI Get key as local SAE ID (root): prints\n"
	        "                                  \"KEY_ID KEY_HEX\" per key\n"
	        "  get-key-with-ids --sae ID MASTER_SAE KEY_ID...\n"
	        "                                  ETSI Get key with key IDs as local SAE ID\n"
	        "  import BUNDLE                   import a PSRD bundle made by dske-psrd\n"
	        "  keys                            keys this host put into the kernel keyring\n"
	        "  ppk                             strongSwan PPK state\n"
	        "  ppk roll                        roll the PPKs now\n"
	        "\n"
	        "Options:\n"
	        "  -s, --socket PATH   control socket (default " CLIENT_SOCKET ",\n"
	        "                      with --hub " HUB_SOCKET ")\n"
	        "      --hub           talk to dske-hubd\n"
	        "  -j, --json          print the daemon's JSON answer as it came\n"
	        "  -t, --timeout SEC   give up after SEC seconds (default 60, 0 = never)\n"
	        "  -h, --help          this help\n"
	        "  -V, --version       version\n");
}

/* Runs one request; on a transport error prints it and returns -errno. */
static int send_req(const struct opts *o, const char *method, const char *path,
                    const char *sae, const char *ctype, const void *body, size_t len,
                    struct ctl_reply *rep)
{
	struct ctl_request rq = {
		.socket = o->socket, .method = method, .path = path, .sae = sae,
		.content_type = ctype, .body = body, .body_len = len, .body_fd = -1,
		.timeout_s = o->timeout_s,
	};
	int r = ctl_request_send(&rq, rep);

	if (r < 0)
		fprintf(stderr, "dskectl: %s\n", rep->error);
	return r;
}

/* Common tail: --json prints the body; errors print the daemon's message. 0 or 1. */
static int report_error(const struct opts *o, const struct ctl_reply *rep, const char *what)
{
	if (o->json && rep->body_len)
		printf("%s%s", rep->body, rep->body[rep->body_len - 1] == '\n' ? "" : "\n");
	fprintf(stderr, "dskectl: %s: HTTP %ld: %s\n", what, rep->status, ctl_reply_error_text(rep));
	return 1;
}

static int print_json_body(const struct ctl_reply *rep)
{
	printf("%s%s", rep->body, rep->body_len && rep->body[rep->body_len - 1] == '\n' ? "" : "\n");
	return 0;
}

static json_t *parse_body(const struct ctl_reply *rep)
{
	json_error_t e;
	json_t *j = json_loadb(rep->body, rep->body_len, 0, &e);

	if (!j)
		fprintf(stderr, "dskectl: the daemon's answer is not JSON: %s\n", e.text);
	return j;
}

static int cmd_status(const struct opts *o)
{
	struct ctl_reply rep;
	json_t *j = NULL;
	int rc = 1;

	if (send_req(o, "GET", "/v1/status", NULL, NULL, NULL, 0, &rep) < 0)
		return 1;
	if (rep.status != 200) {
		rc = report_error(o, &rep, "status");
		goto out;
	}
	if (o->json) {
		rc = print_json_body(&rep);
		goto out;
	}
	j = parse_body(&rep);
	if (!j)
		goto out;
	format_status(stdout, j);
	rc = 0;
out:
	json_decref(j);
	ctl_reply_clear(&rep);
	return rc;
}

static bool sae_ok(const char *what, const char *sae)
{
	if (names_sae_valid(sae))
		return true;
	fprintf(stderr, "dskectl: %s '%s' is not a valid SAE ID ([A-Za-z0-9._@:+-], 1..%d bytes)\n",
	        what, sae, DSKE_NAME_MAX);
	return false;
}

/* prints a key container (or the JSON) */
static int keys_answer(const struct opts *o, struct ctl_reply *rep, const char *what)
{
	json_t *j;
	int r;

	if (rep->status != 200)
		return report_error(o, rep, what);
	if (o->json)
		return print_json_body(rep);
	j = parse_body(rep);
	if (!j)
		return 1;
	r = format_keys(stdout, j);
	json_decref(j);
	if (r < 0) {
		fprintf(stderr, "dskectl: %s: the answer is not an ETSI key container\n", what);
		return 1;
	}
	return 0;
}

static int cmd_get_key(const struct opts *o, int argc, char **argv)
{
	struct ctl_reply rep;
	char path[512];
	uint64_t v;
	int rc, n;

	if (!o->sae || argc != 1) {
		fprintf(stderr, "dskectl: usage: get-key --sae ID PEER_SAE [--number N] [--size BITS]\n");
		return 2;
	}
	if (!sae_ok("--sae", o->sae) || !sae_ok("PEER_SAE", argv[0]))
		return 2;
	if (o->number && parse_uint(o->number, 1, 1000000, &v) < 0) {
		fprintf(stderr, "dskectl: --number: a positive integer\n");
		return 2;
	}
	if (o->size && parse_uint(o->size, 1, 1u << 24, &v) < 0) {
		fprintf(stderr, "dskectl: --size: key size in bits, a positive integer\n");
		return 2;
	}
	n = snprintf(path, sizeof(path), "/api/v1/keys/%s/enc_keys%s%s%s%s%s", argv[0],
	             o->number || o->size ? "?" : "", o->number ? "number=" : "",
	             o->number ? o->number : "", o->number && o->size ? "&" : "",
	             o->size ? "size=" : "");
	if (o->size)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "%s", o->size);
	if (send_req(o, "GET", path, o->sae, NULL, NULL, 0, &rep) < 0)
		return 1;
	rc = keys_answer(o, &rep, "get-key");
	ctl_reply_clear(&rep);
	return rc;
}

static int cmd_get_key_with_ids(const struct opts *o, int argc, char **argv)
{
	struct ctl_reply rep = { 0 };
	json_t *body = NULL, *ids;
	char path[512], *txt = NULL;
	uuid_t u;
	int i, rc = 1;

	if (!o->sae || argc < 2) {
		fprintf(stderr, "dskectl: usage: get-key-with-ids --sae ID MASTER_SAE KEY_ID...\n");
		return 2;
	}
	if (!sae_ok("--sae", o->sae) || !sae_ok("MASTER_SAE", argv[0]))
		return 2;
	if (argc - 1 > MAX_KEY_IDS) {
		fprintf(stderr, "dskectl: at most %d key IDs per request\n", MAX_KEY_IDS);
		return 2;
	}
	body = json_object();
	ids = json_array();
	if (!body || !ids || json_object_set_new(body, "key_IDs", ids) < 0)
		goto nomem;
	for (i = 1; i < argc; i++) {
		if (strlen(argv[i]) != 36 || uuid_parse(argv[i], u) != 0) {
			fprintf(stderr, "dskectl: '%s' is not a key ID (a UUID like "
			        "550e8400-e29b-41d4-a716-446655440000)\n", argv[i]);
			rc = 2;
			goto out;
		}
		if (json_array_append_new(ids, json_pack("{s:s}", "key_ID", argv[i])) < 0)
			goto nomem;
	}
	txt = json_dumps(body, JSON_COMPACT);
	if (!txt)
		goto nomem;
	snprintf(path, sizeof(path), "/api/v1/keys/%s/dec_keys", argv[0]);
	if (send_req(o, "POST", path, o->sae, "application/json", txt, strlen(txt), &rep) < 0)
		goto out;
	rc = keys_answer(o, &rep, "get-key-with-ids");
	goto out;
nomem:
	fprintf(stderr, "dskectl: out of memory\n");
out:
	free(txt);
	json_decref(body);
	ctl_reply_clear(&rep);
	return rc;
}

static int cmd_import(const struct opts *o, int argc, char **argv)
{
	struct ctl_request rq = { .socket = o->socket, .method = "POST", .path = "/v1/import",
	                          .content_type = "application/octet-stream", .body_fd = -1,
	                          .timeout_s = o->timeout_s };
	struct ctl_reply rep = { 0 };
	struct stat st;
	json_t *j = NULL;
	const char *msg;
	int fd = -1, rc = 1;

	if (argc != 1) {
		fprintf(stderr, "dskectl: usage: import BUNDLE\n");
		return 2;
	}
	fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "dskectl: %s: %s\n", argv[0], strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "dskectl: %s is not a regular file\n", argv[0]);
		goto out;
	}
	rq.body_fd = fd;
	rq.body_fd_len = st.st_size;
	if (ctl_request_send(&rq, &rep) < 0) {
		fprintf(stderr, "dskectl: %s\n", rep.error);
		goto out;
	}
	if (rep.status != 200) {
		rc = report_error(o, &rep, "import");
		goto out;
	}
	if (o->json) {
		rc = print_json_body(&rep);
		goto out;
	}
	j = parse_body(&rep);
	if (!j)
		goto out;
	msg = json_string_value(json_object_get(j, "message"));
	if (msg)
		printf("%s\n", msg);
	else
		format_json_human(stdout, j, 0);
	rc = 0;
out:
	json_decref(j);
	ctl_reply_clear(&rep);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* keys, ppk, ppk roll: print the daemon's answer */
static int cmd_simple(const struct opts *o, const char *method, const char *path,
                      const char *what)
{
	struct ctl_reply rep;
	json_t *j = NULL;
	int rc = 1;

	if (send_req(o, method, path, NULL, NULL, NULL, 0, &rep) < 0)
		return 1;
	if (rep.status == 404 || rep.status == 405) {
		if (o->json && rep.body_len)
			print_json_body(&rep);
		fprintf(stderr, "dskectl: %s: this daemon does not serve %s %s (HTTP %ld: a hub, or a "
		        "dske-clientd older than this dskectl)\n", what, method, path, rep.status);
		goto out;
	}
	if (rep.status < 200 || rep.status > 299) {
		rc = report_error(o, &rep, what);
		goto out;
	}
	if (o->json) {
		rc = print_json_body(&rep);
		goto out;
	}
	if (rep.body_len == 0) {
		printf("%s: done\n", what);
		rc = 0;
		goto out;
	}
	j = parse_body(&rep);
	if (!j)
		goto out;
	if (strcmp(what, "keys") == 0 && format_keyring(stdout, j) == 0) {
		rc = 0;
		goto out;
	}
	if (strcmp(what, "ppk") == 0 && json_is_array(json_object_get(j, "peers"))) {
		format_ppk(stdout, j);
		rc = 0;
		goto out;
	}
	if (strcmp(what, "ppk roll") == 0 && json_is_array(json_object_get(j, "rolled"))) {
		format_ppk_roll(stdout, j);
		rc = 0;
		goto out;
	}
	format_json_human(stdout, j, 0);
	rc = 0;
out:
	json_decref(j);
	ctl_reply_clear(&rep);
	return rc;
}

int main(int argc, char **argv)
{
	enum { OPT_HUB = 256, OPT_SAE, OPT_NUMBER, OPT_SIZE };
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "hub", no_argument, NULL, OPT_HUB },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "sae", required_argument, NULL, OPT_SAE },
		{ "number", required_argument, NULL, OPT_NUMBER },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct opts o = { .timeout_s = 60 };
	const char *cmd;
	uint64_t v;
	int c, rc;

	while ((c = getopt_long(argc, argv, "s:jt:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o.socket = optarg; break;
		case OPT_HUB: o.hub = true; break;
		case 'j': o.json = true; break;
		case 't':
			if (parse_uint(optarg, 0, 86400, &v) < 0) {
				fprintf(stderr, "dskectl: --timeout: seconds, 0..86400\n");
				return 2;
			}
			o.timeout_s = (long)v;
			break;
		case OPT_SAE: o.sae = optarg; break;
		case OPT_NUMBER: o.number = optarg; break;
		case OPT_SIZE: o.size = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("dskectl %s\n", DSKE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	if (!o.socket)
		o.socket = o.hub ? HUB_SOCKET : CLIENT_SOCKET;
	if ((o.sae || o.number || o.size) && strcmp(cmd, "get-key") != 0 &&
	    strcmp(cmd, "get-key-with-ids") != 0) {
		fprintf(stderr, "dskectl: --sae, --number and --size are for get-key and get-key-with-ids\n");
		return 2;
	}
	if ((o.number || o.size) && strcmp(cmd, "get-key") != 0) {
		fprintf(stderr, "dskectl: --number and --size are for get-key\n");
		return 2;
	}
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "dskectl: cannot initialise libsodium/libcurl\n");
		return 1;
	}
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "status") == 0 && argc == 0)
		rc = cmd_status(&o);
	else if (strcmp(cmd, "get-key") == 0)
		rc = cmd_get_key(&o, argc, argv);
	else if (strcmp(cmd, "get-key-with-ids") == 0)
		rc = cmd_get_key_with_ids(&o, argc, argv);
	else if (strcmp(cmd, "import") == 0)
		rc = cmd_import(&o, argc, argv);
	else if (strcmp(cmd, "keys") == 0 && argc == 0)
		rc = cmd_simple(&o, "GET", "/v1/keys", "keys");
	else if (strcmp(cmd, "ppk") == 0 && argc == 0)
		rc = cmd_simple(&o, "GET", "/v1/ppk", "ppk");
	else if (strcmp(cmd, "ppk") == 0 && argc == 1 && strcmp(argv[0], "roll") == 0)
		rc = cmd_simple(&o, "POST", "/v1/ppk/roll", "ppk roll");
	else {
		fprintf(stderr, "dskectl: unknown command or wrong arguments: %s (see --help)\n", cmd);
		rc = 2;
	}
	curl_global_cleanup();
	return rc;
}
