/* hub_ctl.c — see hub_ctl.h */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "common/log.h"
#include "hubd/hub_ctl.h"

static json_t *client_json(struct hub *h, struct hub_client *c, json_t *warnings)
{
	struct psrd_info tx, rx;
	json_t *saes = json_array(), *j;
	bool low;

	psrd_stream_info(c->h2c, &tx);
	psrd_stream_info(c->c2h, &rx);
	low = tx.remaining < h->cfg.low_water || rx.remaining < h->cfg.low_water;
	if (low)
		json_array_append_new(warnings, json_sprintf("PSRD low for client %s: %llu bytes left "
		                      "hub->client, %llu client->hub", c->name,
		                      (unsigned long long)tx.remaining, (unsigned long long)rx.remaining));
	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < c->sae_count; i++)
		json_array_append_new(saes, json_string(c->saes[i]));
	j = json_pack("{s:s, s:o, s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:{s:I, s:I, s:I, s:I, s:I, "
	              "s:I, s:i, s:b}}",
	              "name", c->name, "saes", saes, "hub_index", (int)c->hub_index, "url", c->hub_url,
	              "frames", (json_int_t)c->frames, "bad_tags", (json_int_t)c->bad_tags,
	              "replays", (json_int_t)c->replays, "conflicts", (json_int_t)c->conflicts,
	              "errors", (json_int_t)c->errors, "last_error", c->last_error,
	              "psrd",
	              "tx_remaining", (json_int_t)tx.remaining, "tx_end", (json_int_t)tx.end,
	              "tx_reserved", (json_int_t)tx.reserved,
	              "rx_remaining", (json_int_t)rx.remaining, "rx_end", (json_int_t)rx.end,
	              "rx_accepted", (json_int_t)rx.mark, "blocks", (int)rx.blocks, "low", low);
	pthread_mutex_unlock(&c->lock);
	return j;
}

json_t *hub_ctl_status(struct hub *h)
{
	struct hub_shares_stats st;
	json_t *clients = json_array(), *warnings = json_array();
	size_t n = hub_registry_count(h->reg);

	for (size_t i = 0; i < n; i++)
		json_array_append_new(clients, client_json(h, hub_registry_get(h->reg, i), warnings));
	hub_shares_get_stats(h->shares, &st);
	if (st.stored * 10 >= h->cfg.max_shares * 9)
		json_array_append_new(warnings, json_sprintf("share store %llu of %llu full",
		                      (unsigned long long)st.stored, (unsigned long long)h->cfg.max_shares));
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:i, s:s, s:o, "
	                 "s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, "
	                 "s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, "
	                 "s:{s:I, s:I, s:I}, s:o}",
	                 "name", h->cfg.name, "role", "hub", "version", DSKE_VERSION,
	                 "uptime", (json_int_t)(hub_shares_now() - h->started),
	                 "listen", h->cfg.listen, "port", (int)h->port, "state_dir", h->cfg.state_dir,
	                 "clients", clients,
	                 "shares", "stored", (json_int_t)st.stored, "released", (json_int_t)st.released,
	                 "expired", (json_int_t)st.expired, "released_total", (json_int_t)st.released_total,
	                 "expired_total", (json_int_t)st.expired_total,
	                 "delivered_total", (json_int_t)st.delivered_total,
	                 "journal_bytes", (json_int_t)st.journal_bytes, "last_seq", (json_int_t)st.last_seq,
	                 "frames", "received", (json_int_t)atomic_load(&h->frames),
	                 "answered", (json_int_t)atomic_load(&h->answered),
	                 "malformed", (json_int_t)atomic_load(&h->malformed),
	                 "too_large", (json_int_t)atomic_load(&h->too_large),
	                 "unknown_client", (json_int_t)atomic_load(&h->unknown_client),
	                 "rate_limited", (json_int_t)atomic_load(&h->rate_limited),
	                 "unable", (json_int_t)atomic_load(&h->unable),
	                 "waiting_polls", (json_int_t)atomic_load(&h->waiting_polls),
	                 "alarms", "bad_tags", (json_int_t)atomic_load(&h->bad_tags),
	                 "replays", (json_int_t)atomic_load(&h->replays),
	                 "conflicts", (json_int_t)atomic_load(&h->conflicts),
	                 "warnings", warnings);
}

json_t *hub_ctl_import_json(const struct hub_import_result *res)
{
	char msg[256];

	if (res->already)
		snprintf(msg, sizeof(msg), "block %u for client %s was already imported: nothing changed",
		         res->block_id, res->client);
	else
		snprintf(msg, sizeof(msg), "client %s: block %u imported (%llu bytes client->hub, %llu "
		         "hub->client)%s", res->client, res->block_id, (unsigned long long)res->c2h_len,
		         (unsigned long long)res->h2c_len, res->new_client ? ", client registered" : "");
	return json_pack("{s:s, s:i, s:b, s:b, s:b, s:I, s:I, s:s, s:s}", "client", res->client,
	                 "block", (int)res->block_id, "new_client", res->new_client,
	                 "already", res->already, "registration_updated", res->saes_changed,
	                 "c2h_bytes", (json_int_t)res->c2h_len, "h2c_bytes", (json_int_t)res->h2c_len,
	                 "checksum", res->checksum, "message", msg);
}

static int ctl_status(void *cls, struct httpd_request *req, json_t **ret, unsigned *status)
{
	*ret = hub_ctl_status(cls);
	return *ret ? 0 : -ENOMEM;
}

static int ctl_import(void *cls, struct httpd_request *req, json_t **ret, unsigned *status)
{
	struct hub *h = cls;
	struct hub_import_result res;
	char err[512];
	int r;

	if (!req->body_len) {
		*ret = ctl_error(400, status, "empty body: send a bundle file");
		return 0;
	}
	r = hub_registry_import(h->reg, req->body, req->body_len, &res, err, sizeof(err));
	if (r < 0) {
		log_warn("control: import refused: %s", err);
		*ret = ctl_error(r == -ENOMEM || r == -EIO || r == -ENOSPC ? 500 : 400, status, "%s", err);
		return 0;
	}
	if (res.already)
		log_notice("control: import: block %u for client %s was already imported", res.block_id,
		           res.client);
	else
		log_notice("control: imported block %u for client %s (%llu + %llu bytes, checksum %.16s)%s",
		           res.block_id, res.client, (unsigned long long)res.c2h_len,
		           (unsigned long long)res.h2c_len, res.checksum,
		           res.new_client ? "; client registered" : "");
	if (res.saes_changed)
		log_notice("control: client %s: registration updated from the bundle", res.client);
	*ret = hub_ctl_import_json(&res);
	return 0;
}

static const struct ctl_route hub_routes[] = {
	{ "GET", "/v1/status", false, ctl_status },
	{ "POST", "/v1/import", true, ctl_import },
};

int hub_ctl_start(struct hub *h, struct ctl **ret, char *err, size_t errlen)
{
	int r = ctl_start(h->cfg.control_socket, hub_routes, sizeof(hub_routes) / sizeof(hub_routes[0]),
	                  0, h, ret);

	if (r < 0)
		snprintf(err, errlen, "control socket %s: %s", h->cfg.control_socket,
		         r == -EADDRINUSE ? "in use by a running daemon" :
		         r == -EEXIST ? "exists and is not a socket" : strerror(-r));
	return r;
}
