/* hub.c — see hub.h */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/log.h"
#include "hubd/hub.h"

int hub_open(const struct hub_config *cfg, struct hub **ret, char *err, size_t errlen)
{
	struct hub *h = calloc(1, sizeof(*h));
	char dir[4200];
	int r;

	if (!h)
		return -ENOMEM;
	h->cfg = *cfg;
	h->started = hub_shares_now();
	r = hub_registry_open(cfg->state_dir, cfg->name, cfg->psrd_audit, &h->reg, err, errlen);
	if (r < 0)
		goto out;
	snprintf(dir, sizeof(dir), "%s/shares", cfg->state_dir);
	r = hub_shares_open(dir, cfg->max_shares, h->started, &h->shares);
	if (r < 0) {
		snprintf(err, errlen, "share store %s: %s", dir, strerror(-r));
		goto out;
	}
	*ret = h;
	h = NULL;
out:
	hub_close(h);
	return r;
}

void hub_close(struct hub *h)
{
	if (!h)
		return;
	hub_shares_close(h->shares);
	hub_registry_close(h->reg);
	free(h);
}

void hub_check_low_water(struct hub *h)
{
	size_t n = hub_registry_count(h->reg);

	for (size_t i = 0; i < n; i++) {
		struct hub_client *c = hub_registry_get(h->reg, i);
		struct psrd_info tx, rx;
		bool low, warn;

		psrd_stream_info(c->h2c, &tx);
		psrd_stream_info(c->c2h, &rx);
		low = tx.remaining < h->cfg.low_water || rx.remaining < h->cfg.low_water;
		pthread_mutex_lock(&c->lock);
		warn = low && !c->low_warned;
		c->low_warned = low;
		pthread_mutex_unlock(&c->lock);
		if (warn)
			log_warn("client %s: PSRD low: %llu bytes left hub->client, %llu client->hub "
			         "(low_water %llu); import a new bundle", c->name,
			         (unsigned long long)tx.remaining, (unsigned long long)rx.remaining,
			         (unsigned long long)h->cfg.low_water);
	}
}

#ifdef DSKE_TEST_FAULTS
void hub_set_fault_corrupt(struct hub *h)
{
	crypto_generichash(h->fault_mask, sizeof(h->fault_mask), (const uint8_t *)h->cfg.name,
	                   strlen(h->cfg.name), (const uint8_t *)"dske-fault", 10);
	for (size_t i = 0; i < sizeof(h->fault_mask); i++)
		h->fault_mask[i] |= 1;     /* every byte changes */
	h->fault_corrupt_shares = true;
}
#endif
