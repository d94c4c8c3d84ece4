/* hubset.c — the hubs of this client: PSRD streams and links from the state directory, frame
 * sealing and answer checks, STREAM_STATUS synchronisation, bundle imports. */
#include <errno.h>
#include <fcntl.h>
#include <curl/curl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clientd/engine.h"
#include "common/log.h"
#include "core/bundle.h"
#include "core/rng.h"

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0700) < 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int hubset_open(struct keysvc *ks)
{
	struct client_config *c = ks->cfg;
	char dir[PATH_MAX];
	int r;

	ks->n = c->nhubs;
	ks->hubs = calloc(ks->n, sizeof(*ks->hubs));
	if (!ks->hubs)
		return -ENOMEM;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/psrd", c->state_dir) >= sizeof(dir))
		return log_error_errno(ENAMETOOLONG, "state_dir too long");
	r = mkdir_p(dir);
	if (r < 0)
		return log_error_errno(r, "cannot create %s", dir);
	for (unsigned i = 0; i < ks->n; i++) {
		struct hub *h = &ks->hubs[i];
		h->cfg = &c->hubs[i];
		h->idx = i;
		if ((size_t)snprintf(h->dir, sizeof(h->dir), "%s/psrd/%s", c->state_dir, h->cfg->name) >=
		    sizeof(h->dir))
			return log_error_errno(ENAMETOOLONG, "state directory path too long");
		r = psrd_stream_open(h->dir, "c2h", PSRD_SENDER, c->psrd_audit, &h->c2h);
		if (r < 0)
			return log_error_errno(r, "cannot open PSRD stream %s/c2h", h->dir);
		r = psrd_stream_open(h->dir, "h2c", PSRD_RECEIVER, c->psrd_audit, &h->h2c);
		if (r < 0)
			return log_error_errno(r, "cannot open PSRD stream %s/h2c", h->dir);
		snprintf(h->link.self, sizeof(h->link.self), "%s", c->name);
		snprintf(h->link.peer, sizeof(h->link.peer), "%s", h->cfg->name);
		h->link.tx = h->c2h;
		h->link.rx = h->h2c;
		snprintf(h->last_error, sizeof(h->last_error), "not synchronised yet");
	}
	return 0;
}

void hubset_close(struct keysvc *ks)
{
	for (unsigned i = 0; ks->hubs && i < ks->n; i++) {
		psrd_stream_close(ks->hubs[i].c2h);
		psrd_stream_close(ks->hubs[i].h2c);
	}
	free(ks->hubs);
	ks->hubs = NULL;
}

void hub_psrd_left(struct hub *h, uint64_t *ret_tx, uint64_t *ret_rx)
{
	struct psrd_info ti, ri;
	psrd_stream_info(h->c2h, &ti);
	psrd_stream_info(h->h2c, &ri);
	*ret_tx = ti.remaining;
	*ret_rx = ri.remaining;
}

bool hub_is_synced(struct keysvc *ks, unsigned i)
{
	pthread_mutex_lock(&ks->lock);
	bool s = ks->hubs[i].synced;
	pthread_mutex_unlock(&ks->lock);
	return s;
}

unsigned hubset_synced_count(struct keysvc *ks)
{
	unsigned n = 0;
	pthread_mutex_lock(&ks->lock);
	for (unsigned i = 0; i < ks->n; i++)
		n += ks->hubs[i].synced;
	pthread_mutex_unlock(&ks->lock);
	return n;
}

void hub_note_bad(struct keysvc *ks, unsigned i, const char *what)
{
	pthread_mutex_lock(&ks->lock);
	ks->hubs[i].bad_answers++;
	snprintf(ks->hubs[i].last_error, sizeof(ks->hubs[i].last_error), "%s", what);
	pthread_mutex_unlock(&ks->lock);
	log_warn("hub %s: answer refused: %s", ks->hubs[i].cfg->name, what);
}

void hub_note_refusal(struct keysvc *ks, unsigned i, const char *what)
{
	pthread_mutex_lock(&ks->lock);
	ks->hubs[i].refusals++;
	snprintf(ks->hubs[i].last_error, sizeof(ks->hubs[i].last_error), "%s", what);
	pthread_mutex_unlock(&ks->lock);
	log_warn("hub %s: %s", ks->hubs[i].cfg->name, what);
}

int hub_seal(struct hub *h, uint8_t type, const uint8_t *body, size_t body_len,
             uint8_t **ret_frame, size_t *ret_len, struct wire_hdr *ret_hdr)
{
	struct wire_hdr hdr = { .version = WIRE_VERSION, .type = type };
	const uint8_t *b;
	uint8_t *frame = NULL;
	size_t len = 0;
	int r;

	randombytes_buf(hdr.txn_id, sizeof(hdr.txn_id));
	snprintf(hdr.sender, sizeof(hdr.sender), "%s", h->link.self);
	snprintf(hdr.receiver, sizeof(hdr.receiver), "%s", h->link.peer);
	r = link_seal(&h->link, &hdr, body, body_len, &frame, &len);
	if (r < 0)
		return r;
	r = wire_frame_parse(frame, len, SIZE_MAX, ret_hdr, &b);
	if (r < 0) {
		free(frame);
		return -EIO;
	}
	*ret_frame = frame;
	*ret_len = len;
	return 0;
}

int hub_check_answer(struct hub *h, const struct wire_hdr *req, const uint8_t *ans, size_t len,
                     uint8_t want, struct wire_hdr *ret_hdr, const uint8_t **ret_body)
{
	struct wire_hdr hdr;
	const uint8_t *body;

	if (wire_frame_parse(ans, len, WIRE_FRAME_MAX_DEFAULT, &hdr, &body) < 0)
		return -EBADMSG;
	if (hdr.type != want && hdr.type != WIRE_ERROR)
		return -EBADMSG;
	if (strcmp(hdr.sender, h->cfg->name) || strcmp(hdr.receiver, h->link.self))
		return -EBADMSG;
	if (sodium_memcmp(hdr.txn_id, req->txn_id, WIRE_TXN_LEN))
		return -EBADMSG;
	*ret_hdr = hdr;
	*ret_body = body;
	return 0;
}

int hub_open_error(struct hub *h, const struct wire_hdr *req, const uint8_t *ans, size_t len,
                   const struct wire_hdr *hdr, const uint8_t *body, struct wire_error *ret)
{
	struct wire_error e;
	if (wire_decode_error(body, hdr->body_len, &e) < 0 || e.req_mac_off != req->mac_off)
		return -EBADMSG;
	if (link_open(&h->link, ans, len, hdr, NULL, 0) < 0)
		return -EBADMSG;
	*ret = e;
	return 0;
}

/* ---------------------------------------------------------------- STREAM_STATUS */

static int sync_body(struct hub *h, uint8_t **ret, size_t *ret_len)
{
	struct psrd_info ti, ri;
	psrd_stream_info(h->c2h, &ti);
	psrd_stream_info(h->h2c, &ri);
	struct wire_stream_status m = {
		.own_reserved = ti.reserved, .own_end = ti.end,
		.peer_accepted = ri.next, .peer_end = ri.end,
		.last_block_own = ti.last_block_id, .last_block_peer = ri.last_block_id,
	};
	return wire_encode_stream_status(&m, ret, ret_len);
}

/* Authenticate a STREAM_STATUS_REPLY and apply it. 0, -EBADMSG, -EREMOTE (authenticated ERROR). */
static int sync_apply(struct keysvc *ks, unsigned i, const struct wire_hdr *req,
                      const uint8_t *ans, size_t len)
{
	struct hub *h = &ks->hubs[i];
	struct wire_hdr hdr;
	const uint8_t *body;
	struct wire_stream_status st;
	int r;

	r = hub_check_answer(h, req, ans, len, WIRE_STREAM_STATUS_REPLY, &hdr, &body);
	if (r < 0)
		return r;
	if (hdr.type == WIRE_ERROR) {
		struct wire_error e;
		if (hub_open_error(h, req, ans, len, &hdr, body, &e) < 0)
			return -EBADMSG;
		char msg[400];
		snprintf(msg, sizeof(msg), "STREAM_STATUS refused: %s", e.message);
		hub_note_refusal(ks, i, msg);
		return -EREMOTE;
	}
	if (wire_decode_stream_status(body, hdr.body_len, &st) < 0 || st.req_mac_off != req->mac_off)
		return -EBADMSG;
	r = link_open(&h->link, ans, len, &hdr, NULL, 0);
	if (r < 0)
		return -EBADMSG;
	/* rollback defence: never allocate below what the hub already accepted on c2h; and use
	 * imported blocks only once the hub has them too */
	r = psrd_stream_advance(h->c2h, st.peer_accepted);
	if (r < 0) {
		(void)log_error_errno(r, "hub %s: cannot advance c2h past %llu", h->cfg->name,
		                (unsigned long long)st.peer_accepted);
		return r;
	}
	psrd_stream_set_peer_end(h->c2h, st.peer_end);
	pthread_mutex_lock(&ks->lock);
	bool was = h->synced;
	h->synced = true;
	h->last_error[0] = '\0';
	pthread_mutex_unlock(&ks->lock);
	if (!was)
		log_info("hub %s: synchronised (c2h accepted %llu, hub has %llu bytes of c2h; h2c end %llu)",
		         h->cfg->name, (unsigned long long)st.peer_accepted,
		         (unsigned long long)st.peer_end, (unsigned long long)st.own_end);
	return 0;
}

struct sync_late {
	struct keysvc *ks;
	struct wire_hdr req[CC_MAX_HUBS];
};

static bool sync_late_cb(void *cls, const struct hc_answer *a)
{
	struct sync_late *sl = cls;
	int r = sync_apply(sl->ks, a->hub, &sl->req[a->hub], a->body, a->len);
	if (r == -EBADMSG)
		hub_note_bad(sl->ks, a->hub, "STREAM_STATUS_REPLY does not authenticate");
	return r != -EBADMSG;
}

/* One STREAM_STATUS round to the hubs in mask (unsynchronised ones only unless force); returns
 * the hubs that refused the frame with 409 (its PSRD range is already used at the hub), with
 * the refused offsets in ret_mac_off. */
static uint32_t sync_round(struct keysvc *ks, uint32_t mask, uint64_t deadline_ms, bool force,
                           uint64_t ret_mac_off[CC_MAX_HUBS])
{
	struct hc_round *round = NULL;
	struct sync_late *sl = NULL;
	struct hc_answer a;
	unsigned sent = 0;
	uint32_t stale = 0;
	int r;

	if (!ks->hc)
		return 0;
	sl = calloc(1, sizeof(*sl));
	if (!sl || hc_round_new(ks->hc, &round) < 0)
		goto out;
	sl->ks = ks;
	for (unsigned i = 0; i < ks->n; i++) {
		uint8_t *body = NULL, *frame = NULL;
		size_t blen, flen;
		if (!(mask & (1u << i)) || (!force && hub_is_synced(ks, i)))
			continue;
		r = sync_body(&ks->hubs[i], &body, &blen);
		if (r >= 0)
			r = hub_seal(&ks->hubs[i], WIRE_STREAM_STATUS, body, blen, &frame, &flen, &sl->req[i]);
		free(body);
		if (r < 0) {
			char msg[160];
			snprintf(msg, sizeof(msg), "cannot seal STREAM_STATUS: %s", strerror(-r));
			hub_note_refusal(ks, i, msg);
			continue;
		}
		if (hc_round_add(round, i, frame, flen) == 0)
			sent++;
	}
	if (!sent)
		goto out;
	hc_round_start(round, deadline_ms);
	while (hc_round_next(round, deadline_ms, &a) == 0) {
		r = sync_apply(ks, a.hub, &sl->req[a.hub], a.body, a.len);
		if (r == -EBADMSG) {
			hub_note_bad(ks, a.hub, "STREAM_STATUS_REPLY does not authenticate");
			hc_round_retry(round, a.hub);
		}
	}
	for (unsigned i = 0; i < ks->n; i++) {
		char err[64];
		bool up;
		if (!sl->req[i].type || hub_is_synced(ks, i))
			continue;
		hubclient_hub_state(ks->hc, i, &up, err, sizeof(err));
		if (!strncmp(err, "HTTP 409", 8)) {
			stale |= 1u << i;
			ret_mac_off[i] = sl->req[i].mac_off;
		}
	}
out:
	if (round) {
		hc_round_finish(round, sync_late_cb, free, sl);
		sl = NULL;
	}
	free(sl);
	return stale;
}

/* Rollback: a client started on an old copy of its state (a backup, a VM snapshot) allocates
 * c2h offsets it has already used; the hub refuses its STREAM_STATUS with 409 (stale range), so
 * the client cannot learn the hub's mark from an authenticated reply. It looks for an unused
 * offset with probe frames: a STREAM_STATUS naming the candidate offset whose tag is random, not
 * made with the PSRD there, so it reveals nothing about those bytes. The hub checks the range
 * before the tag: 409 = used, 401 = unused (the tag then fails; nothing is burned). Candidates
 * go up in doubling steps (32 bytes, 64, ... up to SYNC_PROBE_MAX) from the refused offset, so
 * the client leaves the used range it landed in after skipping about twice its length at most;
 * the real STREAM_STATUS is then sealed at the unused offset, and its authenticated reply moves
 * the allocation past everything the hub accepted. No PSRD the hub saw used is used again, for
 * a pad or a MAC key. (Answers to probes are not authenticated: a forged 409 makes the client
 * skip further, a forged 401 costs one refused STREAM_STATUS; neither makes it reuse PSRD.) */
#define SYNC_PROBE_MAX (64u * 1024)
#define SYNC_PROBES 48

static size_t probe_discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* POST a probe frame naming c2h offset off to hub h: the HTTP status (401 unused, 409 used), 0
 * on a transport error. */
static long sync_probe(struct keysvc *ks, struct hub *h, uint64_t off)
{
	struct wire_hdr hdr = { .version = WIRE_VERSION, .type = WIRE_STREAM_STATUS, .mac_off = off };
	struct curl_slist *hl = NULL;
	uint8_t *body = NULL, *frame = NULL;
	size_t blen = 0, flen, tag_off;
	char url[CC_URL_MAX + 16];
	CURL *c = NULL;
	long code = 0;
	size_t l = strlen(h->cfg->url);

	while (l && h->cfg->url[l - 1] == '/')
		l--;
	if (l >= 8 && !strncmp(h->cfg->url + l - 8, "/dske/v1", 8))
		snprintf(url, sizeof(url), "%.*s", (int)l, h->cfg->url);
	else
		snprintf(url, sizeof(url), "%.*s/dske/v1", (int)l, h->cfg->url);
	if (sync_body(h, &body, &blen) < 0 || names_copy(hdr.sender, h->link.self) < 0 ||
	    names_copy(hdr.receiver, h->cfg->name) < 0)
		goto out;
	randombytes_buf(hdr.txn_id, sizeof(hdr.txn_id));
	hdr.body_len = (uint32_t)blen;
	flen = wire_frame_len(&hdr, blen);
	frame = malloc(flen);
	if (!frame || wire_frame_encode(&hdr, body, blen, frame, flen, &tag_off) < 0)
		goto out;
	randombytes_buf(frame + tag_off, WIRE_TAG_LEN);   /* not a MAC: no PSRD is read */
	c = curl_easy_init();
	hl = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	if (!c || !hl)
		goto out;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)frame);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)flen);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, probe_discard);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)ks->cfg->hub_timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
out:
	if (hl)
		curl_slist_free_all(hl);
	if (c)
		curl_easy_cleanup(c);
	free(frame);
	free(body);
	return code;
}

/* Hub i refused a STREAM_STATUS at c2h offset used: find an unused offset above it and move the
 * allocation there. 0 when found, -EAGAIN otherwise (try again later). */
static int sync_skip_used(struct keysvc *ks, unsigned i, uint64_t used)
{
	struct hub *h = &ks->hubs[i];
	struct psrd_info ti;
	uint64_t step = 32, cand;
	unsigned probes = 0;

	log_warn("hub %s: STREAM_STATUS refused, c2h offset %llu is already used at the hub (was "
	         "this state restored from a backup or a snapshot?); looking for unused PSRD above it",
	         h->cfg->name, (unsigned long long)used);
	for (; probes < SYNC_PROBES; probes++) {
		cand = used + 32 + step;
		psrd_stream_info(h->c2h, &ti);
		if (cand + 32 > ti.end)
			break;
		long code = sync_probe(ks, h, cand);
		if (code == 401) {
			int r = psrd_stream_advance(h->c2h, cand);
			if (r < 0)
				return log_error_errno(r, "hub %s: cannot move c2h to %llu", h->cfg->name,
				                       (unsigned long long)cand);
			log_notice("hub %s: c2h offsets below %llu are used at the hub (%u probes); "
			           "resynchronising from there", h->cfg->name, (unsigned long long)cand,
			           probes + 1);
			return 0;
		}
		if (code != 409)
			break;
		used = cand;
		if (step < SYNC_PROBE_MAX)
			step *= 2;
	}
	log_warn("hub %s: no unused c2h PSRD found above offset %llu (%u probes)", h->cfg->name,
	         (unsigned long long)used, probes);
	return -EAGAIN;
}

static unsigned sync_hubs(struct keysvc *ks, uint32_t mask, uint64_t deadline_ms, bool force)
{
	uint64_t mac_off[CC_MAX_HUBS] = { 0 };

	for (unsigned round = 0; round < 4 && mask; round++) {
		uint32_t stale = sync_round(ks, mask, deadline_ms, force, mac_off);
		if (!stale || hc_now_ms() >= deadline_ms)
			break;
		mask = 0;
		for (unsigned i = 0; i < ks->n; i++)
			if ((stale & (1u << i)) && sync_skip_used(ks, i, mac_off[i]) == 0)
				mask |= 1u << i;
	}
	return hubset_synced_count(ks);
}

unsigned hubset_sync(struct keysvc *ks, uint32_t mask, uint64_t deadline_ms)
{
	return sync_hubs(ks, mask, deadline_ms, false);
}

unsigned hubset_resync(struct keysvc *ks, uint32_t mask, uint64_t deadline_ms)
{
	return sync_hubs(ks, mask, deadline_ms, true);
}

bool hub_has_unconfirmed_psrd(struct hub *h)
{
	struct psrd_info ti;
	psrd_stream_info(h->c2h, &ti);
	return ti.end > ti.peer_end;
}

/* ---------------------------------------------------------------- import */

static int write_registration(struct hub *h, const struct bundle *b)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 40];
	FILE *f;
	int r = 0;

	snprintf(path, sizeof(path), "%s/registration", h->dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		return r;
	}
	fprintf(f, "hub: %s\nhub index: %u\nhub url: %s\nclient: %s\nclient saes:", b->hub,
	        b->hub_index, b->hub_url, b->client);
	for (unsigned i = 0; i < b->sae_count; i++)
		fprintf(f, " %s", b->saes[i]);
	fprintf(f, "\nlast block: %u\n", b->block_id);
	if (fflush(f) || fsync(fileno(f)))
		r = -errno;
	if (fclose(f) && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	return r;
}

int hubset_import(struct keysvc *ks, const uint8_t *buf, size_t len, char *msg, size_t msglen)
{
	struct bundle b;
	unsigned line = 0;
	int r, r1, r2;
	int i;

	r = bundle_parse(buf, len, &b, &line);
	if (r < 0) {
		if (line)
			snprintf(msg, msglen, "not a valid bundle (header line %u)", line);
		else
			snprintf(msg, msglen, "not a valid bundle (%s)", r == -EBADMSG ?
			         "checksum or data length wrong" : strerror(-r));
		return -EINVAL;
	}
	if (b.role != BUNDLE_FOR_CLIENT) {
		snprintf(msg, msglen, "bundle is the hub's half (import it on hub %s)", b.hub);
		return -EINVAL;
	}
	if (strcmp(b.client, ks->cfg->name)) {
		snprintf(msg, msglen, "bundle is for client %s, this is %s", b.client, ks->cfg->name);
		return -EINVAL;
	}
	i = client_config_hub_find(ks->cfg, b.hub);
	if (i < 0) {
		snprintf(msg, msglen, "hub %s is not in %s (add a [hub %s] section)", b.hub,
		         ks->cfg->path, b.hub);
		return -EINVAL;
	}
	struct hub *h = &ks->hubs[i];
	if (b.hub_index != h->cfg->index) {
		snprintf(msg, msglen, "bundle gives hub %s index %u, the configuration %u", b.hub,
		         b.hub_index, h->cfg->index);
		return -EINVAL;
	}
	if (strcmp(b.hub_url, h->cfg->url))
		log_warn("hub %s: bundle names URL %s, the configuration %s (using the configuration)",
		         b.hub, b.hub_url, h->cfg->url);
	r1 = psrd_stream_import(h->c2h, b.block_id, b.c2h_start, b.c2h, b.c2h_len);
	r2 = psrd_stream_import(h->h2c, b.block_id, b.h2c_start, b.h2c, b.h2c_len);
	if (r1 == -EEXIST && r2 == -EEXIST) {
		snprintf(msg, msglen, "block %u for hub %s already imported", b.block_id, b.hub);
		return -EEXIST;
	}
	if ((r1 < 0 && r1 != -EEXIST) || (r2 < 0 && r2 != -EEXIST)) {
		r = r1 < 0 && r1 != -EEXIST ? r1 : r2;
		snprintf(msg, msglen, "hub %s block %u: cannot import %s stream: %s", b.hub, b.block_id,
		         r1 < 0 && r1 != -EEXIST ? "c2h" : "h2c",
		         r == -EINVAL ? "out of order (blocks must be imported in order)" : strerror(-r));
		return r;
	}
	r = write_registration(h, &b);
	if (r < 0)
		(void)log_warn_errno(r, "hub %s: cannot write %s/registration", b.hub, h->dir);
	pthread_mutex_lock(&ks->lock);
	h->synced = false;
	pthread_mutex_unlock(&ks->lock);
	snprintf(msg, msglen, "imported block %u for hub %s: %llu bytes c2h, %llu bytes h2c",
	         b.block_id, b.hub, (unsigned long long)b.c2h_len, (unsigned long long)b.h2c_len);
	log_notice("%s", msg);
	if (ks->hc && ks->resp)
		responder_kick(ks->resp, (unsigned)i);
	return 0;
}
