/* sink_ppk_ctl.c — the PPK sink's control-socket endpoints (see sink_ppk.h):
 * GET /v1/ppk and POST /v1/ppk/roll. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clientd/engine.h"
#include "clientd/sink_ppk.h"
#include "clientd/sink_ppk_int.h"
#include "common/ctl.h"

#define ROLL_WAIT_MS 30000

static json_t *link_json(struct sink_ppk *s, struct ppk_link *l, uint64_t now)
{
	json_t *keys = json_array(), *j;

	for (size_t i = 0; i < l->nkeys; i++) {
		struct ppk_key *k = &l->keys[i];
		json_array_append_new(keys, json_pack("{s:s,s:s,s:s,s:s,s:b,s:I,s:i,s:I}",
		        "ppk_id", k->ppk_id, "id", k->cred, "fingerprint", k->fpr,
		        "state", ppk_state_name(k->state), "loaded", k->loaded,
		        "seq", (json_int_t)k->seq, "bits", (int)(k->len * 8),
		        "age_ms", (json_int_t)(now - k->t_made)));
	}
	const char *cur = "";
	for (size_t i = 0; i < l->nkeys; i++)
		if (l->keys[i].state == PPK_CURRENT)
			cur = l->keys[i].ppk_id;
	j = json_pack("{s:s,s:s,s:s,s:s,s:b,s:i,s:I,s:o,s:I,s:I,s:I,s:I,s:s}",
	        "peer", l->pcfg->name, "link", l->cfg->link,
	        "role", l->initiator ? "initiator" : "responder", "vici", l->cfg->vici,
	        "charon", l->charon_up, "keep", (int)l->cfg->keep,
	        "roll_ms", (json_int_t)l->cfg->roll_ms, "ppks", keys,
	        "rolls", (json_int_t)l->rolls, "restores", (json_int_t)l->restores,
	        "failures", (json_int_t)l->failures, "unloaded", (json_int_t)l->unloaded,
	        "last_error", l->last_error);
	if (!j)
		return NULL;
	if (l->initiator) {
		json_object_set_new(j, "conn", json_string(l->cfg->conn));
		json_object_set_new(j, "conn_file", json_string(l->cfg->conn_file));
		json_object_set_new(j, "child", json_string(l->cfg->child));
		json_object_set_new(j, "current", json_string(cur));
		json_object_set_new(j, "sa", l->sa_id ? json_pack("{s:i,s:s,s:b}", "uniqueid",
		                    (int)l->sa_id, "state", l->sa_state, "ppk", l->sa_ppk) : json_null());
		if (l->last_roll_id[0] || l->last_roll_err[0])
			json_object_set_new(j, "last_roll", json_pack("{s:b,s:s,s:I,s:s}",
			                    "ok", l->last_roll_ok, "ppk_id", l->last_roll_id,
			                    "ms", (json_int_t)l->last_roll_ms, "error", l->last_roll_err));
	}
	return j;
}

int sink_ppk_ctl_get(void *cls, struct httpd_request *req, json_t **ret_json, unsigned *ret_status)
{
	struct keysvc *ks = cls;
	struct sink_ppk *s = ks->ppk;
	json_t *j, *links;
	uint64_t now = ppk_now_ms();

	(void)req;
	if (!s) {
		*ret_json = json_pack("{s:s,s:[]}", "sae", "", "peers");
		return *ret_json ? 0 : -ENOMEM;
	}
	links = json_array();
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nlinks; i++) {
		json_t *lj = link_json(s, &s->links[i], now);
		if (lj)
			json_array_append_new(links, lj);
	}
	pthread_mutex_unlock(&s->lock);
	j = json_pack("{s:s,s:o}", "sae", s->sae, "peers", links);
	*ret_json = j;
	(void)ret_status;
	return j ? 0 : -ENOMEM;
}

int sink_ppk_ctl_roll(void *cls, struct httpd_request *req, json_t **ret_json, unsigned *ret_status)
{
	struct keysvc *ks = cls;
	struct sink_ppk *s = ks->ppk;
	const char *peer = NULL;
	json_t *body = NULL, *out = NULL;
	json_error_t jerr;
	uint64_t target[CC_MAX_PEERS] = { 0 };
	struct timespec ts;
	size_t n = 0;

	if (!s) {
		*ret_json = ctl_error(409, ret_status, "no peer has ppk = strongswan");
		return 0;
	}
	if (req->body_len) {
		body = json_loadb((const char *)req->body, req->body_len, 0, &jerr);
		json_t *p = body ? json_object_get(body, "peer") : NULL;
		if (!body || !json_is_object(body) || (p && !json_is_string(p)) ||
		    json_object_size(body) > (p ? 1u : 0u)) {
			json_decref(body);
			*ret_json = ctl_error(400, ret_status, "body: {} or {\"peer\":\"NAME\"}");
			return 0;
		}
		peer = p ? json_string_value(p) : NULL;
	}
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nlinks; i++) {
		struct ppk_link *l = &s->links[i];
		if (peer && strcmp(peer, l->pcfg->name))
			continue;
		n++;
		if (!l->initiator)
			continue;
		target[i] = ++l->roll_req;
	}
	bool any = false;
	for (size_t i = 0; i < s->nlinks; i++)
		any = any || target[i];
	if (!n || !any) {
		pthread_mutex_unlock(&s->lock);
		*ret_json = !n ? ctl_error(404, ret_status, "no PPK peer %s", peer ? peer : "")
		               : ctl_error(409, ret_status, "this side is the PPK responder for %s: roll "
		                           "on the peer (the side with ppk_conn_file)", peer ? peer : "its peers");
		json_decref(body);
		return 0;
	}
	s->work = true;
	pthread_cond_signal(&s->cond);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ROLL_WAIT_MS / 1000;
	bool all_done = false;
	while (!all_done && !s->stop) {
		all_done = true;
		for (size_t i = 0; i < s->nlinks; i++)
			if (target[i] && s->links[i].roll_done < target[i])
				all_done = false;
		if (!all_done && pthread_cond_timedwait(&s->done, &s->lock, &ts) == ETIMEDOUT)
			break;
	}
	out = json_array();
	bool ok = true;
	char first_err[400] = "";
	for (size_t i = 0; i < s->nlinks; i++) {
		struct ppk_link *l = &s->links[i];
		if (!target[i])
			continue;
		bool done = l->roll_done >= target[i];
		ok = ok && done && l->last_roll_ok;
		if (!(done && l->last_roll_ok) && !first_err[0])
			snprintf(first_err, sizeof(first_err), "%s: %s", l->pcfg->name,
			         done ? l->last_roll_err : "the roll did not finish in time");
		json_array_append_new(out, json_pack("{s:s,s:s,s:b,s:s,s:I,s:s}", "peer", l->pcfg->name,
		        "link", l->cfg->link, "ok", done && l->last_roll_ok,
		        "ppk_id", done ? l->last_roll_id : "", "ms", (json_int_t)(done ? l->last_roll_ms : 0),
		        "error", done ? l->last_roll_err : "the roll did not finish in time"));
	}
	pthread_mutex_unlock(&s->lock);
	json_decref(body);
	*ret_json = json_pack("{s:o}", "rolled", out);
	if (!ok) {
		*ret_status = 502;
		if (*ret_json)
			json_object_set_new(*ret_json, "error", json_string(first_err));
	}
	return *ret_json ? 0 : -ENOMEM;
}
