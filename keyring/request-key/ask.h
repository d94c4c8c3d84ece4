/* ask.h — dske-request-key's one question to dske-clientd: POST /v1/request-key over the
 * daemon's control socket (keyring/reqkey.h has the protocol). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "reqkey.h"

struct ask_answer {
	int err;                /* 0: key below; else the positive errno for the requester */
	bool daemon_down;       /* no answer at all (not running, refused, died mid-request) */
	long status;            /* HTTP status, 0 if none */
	uint8_t *key;           /* sodium_malloc'd, ask_answer_clear() wipes and frees */
	size_t len;
	unsigned timeout_s;     /* seconds the kernel key lives, 0 = no expiry */
	char msg[160];          /* the daemon's message or curl's, for the log; never key bytes */
};

/* Ask the daemon at socket_path for the key rq names; give up after total_ms. Always fills
 * *ret (err set on failure); returns 0, or -ENOMEM when nothing could be tried. */
int ask_daemon(const char *socket_path, const struct reqkey_request *rq, unsigned total_ms,
               struct ask_answer *ret);

void ask_answer_clear(struct ask_answer *a);
