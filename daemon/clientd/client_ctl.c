/* client_ctl.c — dske-clientd's control socket (internals.md section 4): GET /v1/status,
 * POST /v1/import (root; body = a bundle file). */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientd/client_ctl.h"
#include "clientd/engine.h"
#include "clientd/etsi.h"
#include "clientd/sink_keyring.h"
#include "clientd/sink_ppk.h"
#include "common/ctl.h"
#include "common/log.h"

json_t *client_status_json(struct keysvc *ks)
{
	struct client_config *c = ks->cfg;
	json_t *j = json_object(), *hubs = json_array(), *warn = json_array();
	uint64_t faults_total = 0;

	if (!j || !hubs || !warn) {
		json_decref(j);
		json_decref(hubs);
		json_decref(warn);
		return NULL;
	}
	json_object_set_new(j, "name", json_string(c->name));
	json_object_set_new(j, "role", json_string("client"));
	json_object_set_new(j, "version", json_string(DSKE_VERSION));
	json_object_set_new(j, "uptime", json_integer((json_int_t)(ks_now_s() - ks->started)));
	json_object_set_new(j, "k", json_integer(c->k));
	json_object_set_new(j, "n", json_integer(ks->n));
	unsigned up_count = 0;
	for (unsigned i = 0; i < ks->n; i++) {
		struct hub *h = &ks->hubs[i];
		struct psrd_info ti, ri;
		bool up = false;
		char err[160] = "";
		if (ks->hc)
			hubclient_hub_state(ks->hc, i, &up, err, sizeof(err));
		psrd_stream_info(h->c2h, &ti);
		psrd_stream_info(h->h2c, &ri);
		pthread_mutex_lock(&ks->lock);
		bool synced = h->synced;
		uint64_t faults = h->faults, bad = h->bad_answers, ref = h->refusals;
		if (up)
			err[0] = '\0';   /* reachable: show the engine's last complaint instead */
		if (!err[0] && h->last_error[0])
			snprintf(err, sizeof(err), "%s", h->last_error);
		pthread_mutex_unlock(&ks->lock);
		up = up && synced;
		up_count += up;
		faults_total += faults;
		bool low = ti.remaining < c->low_water || ri.remaining < c->low_water;
		json_t *ps = json_pack("{s:I,s:I,s:I,s:I,s:b}",
		                       "tx_remaining", (json_int_t)ti.remaining, "tx_end", (json_int_t)ti.end,
		                       "rx_remaining", (json_int_t)ri.remaining, "rx_end", (json_int_t)ri.end,
		                       "low", low);
		json_t *hj = json_pack("{s:s,s:i,s:s,s:b,s:b,s:I,s:I,s:I,s:s,s:o}",
		                       "name", h->cfg->name, "index", (int)h->cfg->index, "url", h->cfg->url,
		                       "up", up, "synced", synced, "faults", (json_int_t)faults,
		                       "bad_answers", (json_int_t)bad, "refusals", (json_int_t)ref,
		                       "last_error", err, "psrd", ps ? ps : json_null());
		if (hj)
			json_array_append_new(hubs, hj);
		if (low) {
			char w[200];
			snprintf(w, sizeof(w), "PSRD low for hub %s: %llu bytes left to send, %llu to receive",
			         h->cfg->name, (unsigned long long)ti.remaining, (unsigned long long)ri.remaining);
			json_array_append_new(warn, json_string(w));
		}
		if (faults) {
			char w[200];
			snprintf(w, sizeof(w), "hub %s relayed %llu share(s) that disagree with the rebuilt key",
			         h->cfg->name, (unsigned long long)faults);
			json_array_append_new(warn, json_string(w));
		}
	}
	if (up_count < c->k) {
		char w[200];
		snprintf(w, sizeof(w), "only %u of %u hubs up: at least k = %u are needed for keys",
		         up_count, ks->n, c->k);
		json_array_append_new(warn, json_string(w));
	}
	json_object_set_new(j, "hubs", hubs);
	json_object_set_new(j, "hubs_up", json_integer(up_count));

	struct kp_stats st = { 0 };
	keypool_stats(ks->pool, &st);
	/* outside ks->lock: the responder takes its own lock before ks->lock */
	size_t pending = ks->resp ? responder_pending(ks->resp) : 0;
	pthread_mutex_lock(&ks->lock);
	json_t *keys = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
	                         "made", (json_int_t)ks->keys_made,
	                         "served", (json_int_t)ks->keys_served,
	                         "rebuilt", (json_int_t)ks->keys_rebuilt,
	                         "held", (json_int_t)st.held,
	                         "pending_fetch", (json_int_t)pending,
	                         "expired", (json_int_t)st.expired,
	                         "failed", (json_int_t)ks->keys_failed,
	                         "rounds_failed", (json_int_t)ks->rounds_failed);
	pthread_mutex_unlock(&ks->lock);
	if (keys)
		json_object_set_new(j, "keys", keys);
	json_object_set_new(j, "shares", json_pack("{s:I}", "released",
	                    (json_int_t)(ks->resp ? responder_released(ks->resp) : 0)));
	json_object_set_new(j, "alarms", json_pack("{s:I}", "faulty_shares", (json_int_t)faults_total));
	json_object_set_new(j, "warnings", warn);
	return j;
}

static int h_status(void *cls, struct httpd_request *req, json_t **ret_json, unsigned *ret_status)
{
	*ret_json = client_status_json(cls);
	return *ret_json ? 0 : -ENOMEM;
}

static int h_import(void *cls, struct httpd_request *req, json_t **ret_json, unsigned *ret_status)
{
	struct keysvc *ks = cls;
	char msg[512];
	int r;

	if (!req->body_len) {
		*ret_json = ctl_error(400, ret_status, "empty body: POST the bytes of a bundle file");
		return 0;
	}
	r = hubset_import(ks, req->body, req->body_len, msg, sizeof(msg));
	if (r == -EEXIST) {
		*ret_json = json_pack("{s:s,s:b}", "result", msg, "already", 1);
		return 0;
	}
	if (r < 0) {
		*ret_json = ctl_error(r == -EINVAL ? 400 : 500, ret_status, "%s", msg);
		return 0;
	}
	/* synchronise with the hub now: new blocks are used only once the hub has them too */
	uint32_t all = ks->n >= 32 ? UINT32_MAX : (1u << ks->n) - 1;
	hubset_sync(ks, all, hc_now_ms() + ks->cfg->hub_timeout_ms);
	*ret_json = json_pack("{s:s}", "result", msg);
	return 0;
}

static const struct ctl_route routes[] = {
	{ "GET", "/v1/status", false, h_status },
	{ "POST", "/v1/import", true, h_import },
	{ "GET", "/v1/keys", false, sink_keyring_ctl_keys },
	{ "POST", "/v1/request-key", true, sink_keyring_ctl_request_key },
	{ "GET", "/v1/ppk", false, sink_ppk_ctl_get },
	{ "POST", "/v1/ppk/roll", true, sink_ppk_ctl_roll },
};

static struct etsi *ctl_etsi;   /* one daemon per process */

static enum MHD_Result h_etsi(void *cls, struct httpd_request *req)
{
	keysvc_thread_iface("control");
	return etsi_control_handle(ctl_etsi, req);
}

static const struct ctl_raw_route raw_routes[] = {
	{ "/api/v1/keys/", h_etsi },
};

int client_ctl_start(struct keysvc *ks, struct etsi *etsi, struct ctl **ret)
{
	ctl_etsi = etsi;
	return ctl_start_raw(ks->cfg->control_socket, routes, sizeof(routes) / sizeof(routes[0]),
	                     raw_routes, sizeof(raw_routes) / sizeof(raw_routes[0]), 0, ks, ret);
}
