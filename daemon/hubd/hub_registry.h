/* hub_registry.h — the clients registered at this hub and their PSRD links, from imported
 * bundles. State dir layout (internals.md section 6):
 *   <state_dir>/psrd/<client>/c2h.*          client->hub stream (we receive)
 *   <state_dir>/psrd/<client>/h2c.*          hub->client stream (we allocate)
 *   <state_dir>/psrd/<client>/registration   text: client, hub, hub_index, hub_url, saes
 * Clients are loaded at open and added by imports at run time (usable at once); they are never
 * removed while the registry is open, so a struct hub_client pointer stays valid until
 * hub_registry_close(). Thread-safe; no logging (results say what happened). */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/bundle.h"
#include "core/link.h"
#include "core/psrd.h"
#include "hubd/hub_replay.h"

struct hub_client {
	char name[DSKE_NAME_MAX + 1];
	pthread_mutex_t lock;             /* guards the fields below the streams */
	struct psrd_stream *c2h;          /* receiver (owned) */
	struct psrd_stream *h2c;          /* sender (owned) */
	struct link link;                 /* self = hub, peer = client, tx = h2c, rx = c2h */
	struct hub_replay *replay;        /* owned */
	/* under lock: */
	unsigned sae_count;
	char saes[BUNDLE_MAX_SAES][DSKE_NAME_MAX + 1];
	uint8_t hub_index;                /* this hub's index as the bundle gave it (the x shares carry) */
	char hub_url[BUNDLE_URL_MAX + 1];
	uint64_t frames, bad_tags, replays, conflicts, errors;
	uint64_t bad_window_start, bad_window_count, bad_logged_count, bad_last_log;
	char last_error[128];
	bool low_warned;                  /* a low-water warning was logged (re-armed above it) */
};

struct hub_registry;

struct hub_import_result {
	char client[DSKE_NAME_MAX + 1];
	uint32_t block_id;
	uint64_t c2h_len, h2c_len;
	bool new_client;                  /* registered by this import */
	bool already;                     /* this block was imported before: nothing changed */
	bool saes_changed;                /* registration updated from the bundle */
	char checksum[65];
};

/* Open the registry of state_dir for hub hub_name; loads every registered client. audit: keep
 * .audit files on the streams. On failure err says which client and why. */
int hub_registry_open(const char *state_dir, const char *hub_name, bool audit,
                      struct hub_registry **ret, char *err, size_t errlen);
void hub_registry_close(struct hub_registry *r);          /* NULL-safe */

struct hub_client *hub_registry_find(struct hub_registry *r, const char *name);   /* borrowed */
size_t hub_registry_count(struct hub_registry *r);
struct hub_client *hub_registry_get(struct hub_registry *r, size_t i);           /* borrowed */

/* Predicates under the client's lock. */
bool hub_client_has_sae(struct hub_client *c, const char *sae);
uint8_t hub_client_index(struct hub_client *c);

/* Import one bundle (the whole file's bytes). Refuses the client half, a bundle for another
 * hub, out-of-order blocks; re-importing the last block is reported (res->already), not an
 * error. 0 or -errno with err set ("bundle is for hub X, this is hub Y", ...). */
int hub_registry_import(struct hub_registry *r, const uint8_t *buf, size_t len,
                        struct hub_import_result *res, char *err, size_t errlen);
/* The same for a file; err does not repeat the path. */
int hub_registry_import_file(struct hub_registry *r, const char *path,
                             struct hub_import_result *res, char *err, size_t errlen);
