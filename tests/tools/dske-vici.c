/* dske-vici — a test tool over ipsec-helper/ to drive a real charon from integration tests:
 *   dske-vici SOCKET load-ppk ID PPK_ID HEXKEY | unload ID | has ID |
 *                    load-conn FILE NAME [PPK_ID] | initiate IKE [CHILD] | terminate IKE_ID |
 *                    list-sas [IKE] | conn-loaded NAME | conn-ppk-id NAME | shared-list [PREFIX]
 * Exit 0 on success (has/conn-loaded: 0 = yes, 1 = no), 2 on error with the message on stderr.
 * Not installed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "vici_client.h"
#include "vici_ike.h"
#include "vici_ppk.h"

static int die(const char *what, int r, const char *err)
{
	fprintf(stderr, "dske-vici: %s: %s%s%s\n", what, strerror(-r), err && *err ? ": " : "",
	        err ? err : "");
	return 2;
}

static int read_file(const char *path, char **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return -errno;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return -EIO;
	}
	fclose(f);
	*ret = buf;
	*ret_len = (size_t)n;
	return 0;
}

int main(int argc, char **argv)
{
	struct vici_conn *c;
	char err[256] = "";
	int r;

	if (argc < 3) {
		fprintf(stderr, "usage: dske-vici SOCKET COMMAND ARGS...\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 2;
	r = vici_connect(argv[1], 15000, &c);
	if (r < 0)
		return die("connect", r, argv[1]);
	if (!strcmp(argv[2], "load-ppk") && argc == 6) {
		uint8_t key[1024];
		size_t klen;
		if (sodium_hex2bin(key, sizeof(key), argv[5], strlen(argv[5]), NULL, &klen, NULL) < 0)
			return die("load-ppk", -EINVAL, "bad hex key");
		r = vici_ppk_load(c, argv[3], key, klen, argv[4], err, sizeof(err));
		sodium_memzero(key, sizeof(key));
	} else if (!strcmp(argv[2], "unload") && argc == 4) {
		r = vici_ppk_unload(c, argv[3], err, sizeof(err));
	} else if (!strcmp(argv[2], "has") && argc == 4) {
		r = vici_shared_has(c, argv[3]);
		if (r >= 0)
			r = r ? 0 : 1;
	} else if (!strcmp(argv[2], "shared-list") && (argc == 3 || argc == 4)) {
		static char ids[1024][VICI_SHARED_ID_MAX];
		size_t n = 0;
		r = vici_shared_list(c, argc == 4 ? argv[3] : "", ids, 1024, &n);
		for (size_t i = 0; r == 0 && i < n; i++)
			printf("%s\n", ids[i]);
	} else if (!strcmp(argv[2], "conn-ppk-id") && argc == 4) {
		char id[256];
		r = vici_conn_ppk_id(c, argv[3], id, sizeof(id));
		if (r == 1)
			printf("%s\n", id);
		if (r >= 0)
			r = r ? 0 : 1;
	} else if (!strcmp(argv[2], "conn-loaded") && argc == 4) {
		r = vici_conn_loaded(c, argv[3]);
		if (r >= 0)
			r = r ? 0 : 1;
	} else if (!strcmp(argv[2], "load-conn") && (argc == 5 || argc == 6)) {
		char *text = NULL;
		size_t len = 0;
		unsigned line = 0;
		if ((r = read_file(argv[3], &text, &len)) < 0)
			return die(argv[3], r, NULL);
		r = vici_load_conn_text(c, text, len, argv[4], argc == 6 ? argv[5] : NULL, err,
		                        sizeof(err), &line);
		if (r == -EBADMSG || r == -EOPNOTSUPP)
			snprintf(err, sizeof(err), "%s:%u", argv[3], line);
		free(text);
	} else if (!strcmp(argv[2], "initiate") && (argc == 4 || argc == 5)) {
		r = vici_initiate(c, argv[3], argc == 5 ? argv[4] : NULL, 10000, err, sizeof(err));
	} else if (!strcmp(argv[2], "terminate") && argc == 4) {
		r = vici_terminate_id(c, (unsigned)strtoul(argv[3], NULL, 10), 10000, err, sizeof(err));
	} else if (!strcmp(argv[2], "list-sas") && (argc == 3 || argc == 4)) {
		struct vici_sa sas[64];
		size_t n = 0;
		r = vici_list_sas(c, argc == 4 ? argv[3] : NULL, sas, 64, &n);
		for (size_t i = 0; r == 0 && i < n; i++)
			printf("%u %s ppk=%s\n", sas[i].uniqueid, sas[i].state, sas[i].ppk ? "yes" : "no");
	} else {
		fprintf(stderr, "dske-vici: bad command\n");
		r = -EINVAL;
	}
	vici_close(c);
	if (r < 0)
		return die(argv[2], r, err);
	return r;
}
