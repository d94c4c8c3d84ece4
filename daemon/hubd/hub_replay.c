/* hub_replay.c — see hub_replay.h */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "hubd/hub_replay.h"

struct entry {
	bool used;
	uint64_t mac_off, time;
	uint8_t hash[32];                /* BLAKE2b-256 of the request frame */
	uint8_t *answer;
	size_t alen;
};

struct hub_replay {
	pthread_mutex_t lock;
	struct entry e[HUB_REPLAY_ENTRIES];
	unsigned next;                   /* ring position: the oldest slot */
	size_t bytes;
};

int hub_replay_new(struct hub_replay **ret)
{
	struct hub_replay *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return -ENOMEM;
	pthread_mutex_init(&rc->lock, NULL);
	*ret = rc;
	return 0;
}

static void drop(struct hub_replay *rc, struct entry *e)
{
	if (!e->used)
		return;
	rc->bytes -= e->alen;
	free(e->answer);
	memset(e, 0, sizeof(*e));
}

void hub_replay_free(struct hub_replay *rc)
{
	if (!rc)
		return;
	for (unsigned i = 0; i < HUB_REPLAY_ENTRIES; i++)
		drop(rc, &rc->e[i]);
	pthread_mutex_destroy(&rc->lock);
	free(rc);
}

enum hub_replay_result hub_replay_lookup(struct hub_replay *rc, uint64_t mac_off, const uint8_t *frame,
                                         size_t len, uint64_t now, uint8_t **ret_answer,
                                         size_t *ret_len)
{
	enum hub_replay_result res = HUB_REPLAY_MISS;
	uint8_t h[32];

	crypto_generichash(h, sizeof(h), frame, len, NULL, 0);
	pthread_mutex_lock(&rc->lock);
	for (unsigned i = 0; i < HUB_REPLAY_ENTRIES; i++) {
		struct entry *e = &rc->e[i];
		if (!e->used || e->mac_off != mac_off)
			continue;
		if (e->time + HUB_REPLAY_MAX_AGE_S < now) {
			drop(rc, e);
			continue;
		}
		if (sodium_memcmp(e->hash, h, sizeof(h)) != 0) {
			res = HUB_REPLAY_CONFLICT;
			break;
		}
		*ret_answer = malloc(e->alen);
		if (!*ret_answer)
			break;          /* treated as a miss: link_open will refuse it as a replay */
		memcpy(*ret_answer, e->answer, e->alen);
		*ret_len = e->alen;
		res = HUB_REPLAY_HIT;
		break;
	}
	pthread_mutex_unlock(&rc->lock);
	return res;
}

int hub_replay_store(struct hub_replay *rc, uint64_t mac_off, const uint8_t *frame, size_t len,
                     const uint8_t *answer, size_t alen, uint64_t now)
{
	uint8_t *copy;
	struct entry *e;

	if (alen > HUB_REPLAY_BYTES)
		return 0;               /* too big to keep: a retry then gets 409 */
	copy = malloc(alen);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, answer, alen);
	pthread_mutex_lock(&rc->lock);
	e = &rc->e[rc->next];
	drop(rc, e);
	rc->next = (rc->next + 1) % HUB_REPLAY_ENTRIES;
	/* byte bound: drop the oldest until it fits */
	for (unsigned i = 0; rc->bytes + alen > HUB_REPLAY_BYTES && i < HUB_REPLAY_ENTRIES; i++)
		drop(rc, &rc->e[(rc->next + i) % HUB_REPLAY_ENTRIES]);
	e->used = true;
	e->mac_off = mac_off;
	e->time = now;
	crypto_generichash(e->hash, sizeof(e->hash), frame, len, NULL, 0);
	e->answer = copy;
	e->alen = alen;
	rc->bytes += alen;
	pthread_mutex_unlock(&rc->lock);
	return 0;
}
