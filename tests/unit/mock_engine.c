/* mock_engine.c — stands in for the engine modules around keysvc.c (hub client, hubset,
 * initiator, responder, audit), so test_keysvc exercises keysvc's own rules with the real key
 * pool. #include it from the test (it defines the symbols, so the library's modules are not
 * linked in). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "clientd/engine.h"

struct mock_state {
	int make_rc;                 /* initiator_make_keys result */
	unsigned make_calls;
	size_t last_key_len;
	unsigned released;           /* ids given to responder_release */
	uint8_t last_released[DSKE_KEY_ID_LEN];
	unsigned audits;
	char last_audit_sae[DSKE_NAME_MAX + 1];
	char last_audit_side[16];
	unsigned demands;
	uint64_t now_ms;
};
static struct mock_state mock;

uint64_t hc_now_ms(void) { return mock.now_ms; }

int hubclient_new(unsigned nhubs, const char *const *urls, size_t max_frame, struct hubclient **ret)
{
	*ret = (struct hubclient *)&mock;
	return 0;
}
void hubclient_free(struct hubclient *hc) { }

int hubset_open(struct keysvc *ks)
{
	ks->n = ks->cfg->nhubs;
	ks->hubs = calloc(ks->n, sizeof(*ks->hubs));
	for (unsigned i = 0; i < ks->n; i++) {
		ks->hubs[i].cfg = &ks->cfg->hubs[i];
		ks->hubs[i].synced = true;
	}
	return ks->hubs ? 0 : -ENOMEM;
}
void hubset_close(struct keysvc *ks) { free(ks->hubs); }
unsigned hubset_sync(struct keysvc *ks, uint32_t mask, uint64_t deadline_ms) { return ks->n; }
bool hub_is_synced(struct keysvc *ks, unsigned i) { return true; }
void hub_psrd_left(struct hub *h, uint64_t *ret_tx, uint64_t *ret_rx)
{
	*ret_tx = 1 << 20;
	*ret_rx = 1 << 20;
}

int initiator_make_keys(struct keysvc *ks, const char *master, unsigned peer, const char *slave,
                        unsigned number, size_t key_len, struct keysvc_batch **ret,
                        struct keysvc_err *err)
{
	mock.make_calls++;
	mock.last_key_len = key_len;
	if (mock.make_rc) {
		ks_err(err, "PSRD exhausted for hub hub1");
		return mock.make_rc;
	}
	struct keysvc_batch *b;
	int r = keysvc_batch_new(number, number * key_len, &b);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < number; i++) {
		b->keys[i].key = b->keys[0].key + i * key_len;
		b->keys[i].len = key_len;
		randombytes_buf(b->keys[i].key_id, DSKE_KEY_ID_LEN);
		memset(b->keys[i].key, 0x5a, key_len);
	}
	*ret = b;
	return 0;
}

int responder_new(struct keysvc *ks, struct responder **ret)
{
	*ret = (struct responder *)&mock;
	return 0;
}
int responder_start(struct responder *r) { return 0; }
void responder_stop(struct responder *r) { }
void responder_free(struct responder *r) { }
int responder_demand(struct responder *r, const uint8_t (*ids)[DSKE_KEY_ID_LEN], size_t count,
                     const char *master, const char *slave, uint64_t until_ms)
{
	mock.demands++;
	return 0;
}
void responder_release(struct responder *r, const uint8_t (*ids)[DSKE_KEY_ID_LEN], size_t count)
{
	mock.released += (unsigned)count;
	memcpy(mock.last_released, ids[count - 1], DSKE_KEY_ID_LEN);
}
void responder_kick(struct responder *r, unsigned hub) { }
size_t responder_pending(struct responder *r) { return 0; }
int responder_master_of(struct responder *r, const uint8_t id[DSKE_KEY_ID_LEN], const char *peer_kme,
                        char master[DSKE_NAME_MAX + 1])
{
	return -ENOENT;
}
uint64_t responder_released(struct responder *r) { return mock.released; }

int audit_open(const char *state_dir, struct audit **ret)
{
	*ret = (struct audit *)&mock;
	return 0;
}
void audit_close(struct audit *a) { }
void audit_delivery(struct audit *a, const uint8_t key_id[DSKE_KEY_ID_LEN], const char *sae,
                    const char *iface, const char *what)
{
	mock.audits++;
	snprintf(mock.last_audit_sae, sizeof(mock.last_audit_sae), "%s", sae);
	snprintf(mock.last_audit_side, sizeof(mock.last_audit_side), "%s", what);
}
