/* mock_keysvc.c — a key service (clientd/keysvc.h) in memory for front-end tests; #included by
 * the test that needs it. Two local SAEs (MOCK_SAE_A, MOCK_SAE_B, both on this "client"), one
 * remote SAE (MOCK_SAE_R) and one unauthorised local SAE (MOCK_SAE_C). Keys made by Get key are
 * remembered with their master and slave so Get key with key IDs (from a local slave) returns the
 * same bytes once, like a loopback pair of clients. mock_keysvc_fail_next() makes the next call
 * fail with a given errno and message. */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clientd/keysvc.h"

#define MOCK_SAE_A "sae_a"
#define MOCK_SAE_B "sae_b"
#define MOCK_SAE_C "sae_c"
#define MOCK_SAE_R "remote_sae"
#define MOCK_MAX_KEYS 4096

struct mock_key {
	uint8_t id[DSKE_KEY_ID_LEN];
	uint8_t bytes[1024];
	size_t len;
	char master[DSKE_NAME_MAX + 1], slave[DSKE_NAME_MAX + 1];
	bool served_slave;
};

struct keysvc {
	pthread_mutex_t lock;
	struct mock_key keys[MOCK_MAX_KEYS];
	size_t n;
	int fail_rc;
	char fail_msg[256];
	unsigned calls;
	char last_caller[DSKE_NAME_MAX + 1];
	char last_iface[32];
};

static __thread const char *mock_iface;

void keysvc_thread_iface(const char *iface)
{
	mock_iface = iface;
}

static struct keysvc mock_ks = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void mock_keysvc_reset(void)
{
	pthread_mutex_lock(&mock_ks.lock);
	mock_ks.n = 0;
	mock_ks.fail_rc = 0;
	mock_ks.calls = 0;
	mock_ks.last_caller[0] = '\0';
	pthread_mutex_unlock(&mock_ks.lock);
}

static void mock_keysvc_fail_next(int rc, const char *msg)
{
	pthread_mutex_lock(&mock_ks.lock);
	mock_ks.fail_rc = rc;
	snprintf(mock_ks.fail_msg, sizeof(mock_ks.fail_msg), "%s", msg ? msg : "");
	pthread_mutex_unlock(&mock_ks.lock);
}

static bool mock_local(const char *s)
{
	return strcmp(s, MOCK_SAE_A) == 0 || strcmp(s, MOCK_SAE_B) == 0 ||
	       strcmp(s, MOCK_SAE_C) == 0;
}

static bool mock_known(const char *s)
{
	return mock_local(s) || strcmp(s, MOCK_SAE_R) == 0;
}

/* Called with the lock held: counts the call, returns a forced failure if one is armed. */
static int mock_enter(const char *caller, struct keysvc_err *err)
{
	int rc = mock_ks.fail_rc;

	mock_ks.calls++;
	snprintf(mock_ks.last_caller, sizeof(mock_ks.last_caller), "%s", caller);
	snprintf(mock_ks.last_iface, sizeof(mock_ks.last_iface), "%s", mock_iface ? mock_iface : "");
	if (rc) {
		snprintf(err->msg, sizeof(err->msg), "%s", mock_ks.fail_msg);
		mock_ks.fail_rc = 0;
	}
	return rc;
}

void keysvc_batch_free(struct keysvc_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->count; i++)
		sodium_free(b->keys[i].key);
	free(b->keys);
	free(b);
}

static struct keysvc_batch *mock_batch(size_t n)
{
	struct keysvc_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->keys = calloc(n, sizeof(*b->keys));
	if (!b->keys) {
		free(b);
		return NULL;
	}
	return b;
}

static int mock_add(struct keysvc_batch *b, const struct mock_key *k)
{
	struct keysvc_key *d = &b->keys[b->count];

	d->key = sodium_malloc(k->len);
	if (!d->key)
		return -ENOMEM;
	memcpy(d->key, k->bytes, k->len);
	memcpy(d->key_id, k->id, DSKE_KEY_ID_LEN);
	d->len = k->len;
	b->count++;
	return 0;
}

int keysvc_status(struct keysvc *ks, const char *caller_sae, const char *slave_sae,
                  struct keysvc_status *ret, struct keysvc_err *err)
{
	int rc;

	pthread_mutex_lock(&ks->lock);
	rc = mock_enter(caller_sae, err);
	if (rc)
		goto out;
	if (!mock_known(slave_sae)) {
		snprintf(err->msg, sizeof(err->msg), "unknown SAE %s", slave_sae);
		rc = -EINVAL;
		goto out;
	}
	*ret = (struct keysvc_status){
		.key_size = 256, .stored_key_count = 25, .max_key_count = 100000,
		.max_key_per_request = 1024, .max_key_size = 8192, .min_key_size = 64,
		.max_sae_id_count = 0,
	};
	snprintf(ret->source_kme, sizeof(ret->source_kme), "client1");
	snprintf(ret->target_kme, sizeof(ret->target_kme), "%s",
	         mock_local(slave_sae) ? "client1" : "client2");
out:
	pthread_mutex_unlock(&ks->lock);
	return rc;
}

int keysvc_get_keys(struct keysvc *ks, const char *caller_sae, const char *slave_sae,
                    unsigned number, unsigned size_bits, struct keysvc_batch **ret,
                    struct keysvc_err *err)
{
	struct keysvc_batch *b = NULL;
	size_t bytes = (size_bits ? size_bits : 256) / 8;
	int rc;

	pthread_mutex_lock(&ks->lock);
	rc = mock_enter(caller_sae, err);
	if (rc)
		goto out;
	if (!mock_known(slave_sae)) {
		snprintf(err->msg, sizeof(err->msg), "unknown SAE %s", slave_sae);
		rc = -EINVAL;
		goto out;
	}
	if (bytes > sizeof(ks->keys[0].bytes) || ks->n + number > MOCK_MAX_KEYS) {
		rc = -ENOSPC;
		snprintf(err->msg, sizeof(err->msg), "PSRD exhausted for hub hub1");
		goto out;
	}
	b = mock_batch(number);
	if (!b) {
		rc = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < number; i++) {
		struct mock_key *k = &ks->keys[ks->n++];

		randombytes_buf(k->id, sizeof(k->id));
		k->id[6] = (uint8_t)((k->id[6] & 0x0f) | 0x40);    /* version 4 */
		k->id[8] = (uint8_t)((k->id[8] & 0x3f) | 0x80);    /* RFC 4122 variant */
		randombytes_buf(k->bytes, bytes);
		k->len = bytes;
		k->served_slave = false;
		snprintf(k->master, sizeof(k->master), "%s", caller_sae);
		snprintf(k->slave, sizeof(k->slave), "%s", slave_sae);
		rc = mock_add(b, k);
		if (rc < 0)
			goto out;
	}
	*ret = b;
	b = NULL;
out:
	pthread_mutex_unlock(&ks->lock);
	keysvc_batch_free(b);
	return rc;
}

int keysvc_get_keys_with_ids(struct keysvc *ks, const char *caller_sae, const char *master_sae,
                             const uint8_t (*ids)[DSKE_KEY_ID_LEN], size_t count,
                             struct keysvc_batch **ret, struct keysvc_err *err)
{
	struct keysvc_batch *b = NULL;
	struct mock_key *found[64];
	int rc;

	pthread_mutex_lock(&ks->lock);
	rc = mock_enter(caller_sae, err);
	if (rc)
		goto out;
	if (count > 64) {
		rc = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		found[i] = NULL;
		for (size_t j = 0; j < ks->n; j++)
			if (memcmp(ks->keys[j].id, ids[i], DSKE_KEY_ID_LEN) == 0)
				found[i] = &ks->keys[j];
		if (!found[i] || found[i]->served_slave || strcmp(found[i]->master, master_sae) != 0) {
			rc = -ENOENT;
			snprintf(err->msg, sizeof(err->msg), "one or more keys specified are not found on KME");
			goto out;
		}
		if (strcmp(found[i]->slave, caller_sae) != 0) {
			rc = -EACCES;
			snprintf(err->msg, sizeof(err->msg), "SAE %s is not a slave SAE of the keys", caller_sae);
			goto out;
		}
	}
	b = mock_batch(count);
	if (!b) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		rc = mock_add(b, found[i]);
		if (rc < 0)
			goto out;
	}
	for (size_t i = 0; i < count; i++)
		found[i]->served_slave = true;
	*ret = b;
	b = NULL;
out:
	pthread_mutex_unlock(&ks->lock);
	keysvc_batch_free(b);
	return rc;
}

int keysvc_sae_is_local(struct keysvc *ks, const char *sae)
{
	return mock_local(sae) ? 1 : 0;
}
