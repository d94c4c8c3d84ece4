/* hub.h — the hub daemon's shared context: configuration, registry, share store, counters.
 * One instance per process (or per unit test). The modules: hub_config (hub.conf), hub_registry
 * (clients, streams, imports), hub_shares (share store), hub_replay (answer cache), hub_proto
 * (one frame in, one frame out), hub_http (in-band HTTP), hub_ctl (control socket). */
#pragma once
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "hubd/hub_config.h"
#include "hubd/hub_registry.h"
#include "hubd/hub_shares.h"

struct hub {
	struct hub_config cfg;
	struct hub_registry *reg;          /* owned */
	struct hub_shares *shares;         /* owned */
	uint64_t started;                  /* unix seconds */
	uint16_t port;                     /* bound in-band port (status) */
	/* test builds only (-DDSKE_TEST_FAULTS, --fault corrupt-shares): flip bits in relayed shares */
	bool fault_corrupt_shares;
	uint8_t fault_mask[32];
	atomic_uint_fast64_t frames, answered, replays, conflicts, bad_tags, unknown_client,
		malformed, too_large, rate_limited, unable, waiting_polls;
};

/* Open registry and share store for cfg (copied). err: a message for the operator. */
int hub_open(const struct hub_config *cfg, struct hub **ret, char *err, size_t errlen);
void hub_close(struct hub *h);           /* NULL-safe */
/* Log a warning once per client when a stream falls below low_water (again after a refill). */
void hub_check_low_water(struct hub *h);
#ifdef DSKE_TEST_FAULTS
/* Turn on the test-only share corruption (consistent per hub name). */
void hub_set_fault_corrupt(struct hub *h);
#endif
