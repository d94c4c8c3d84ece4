/* dske-forge — a frame forger for the robustness tests (tests/integration/106-forged-frames.sh,
 * 107-lost-responses.sh, 110-bad-input.sh). Test tool, never installed.
 *
 * It works on a COPY of one client's PSRD state for one hub (<state_dir>/psrd/<hub>, holding
 * c2h.* and h2c.*), or on a fresh state made from a client bundle (--bundle), and uses the real
 * core/link.h and core/wire.h to build genuine frames and tampered variants of them, which it
 * POSTs to the hub with libcurl. Each case prints one line:
 *
 *     CASE code=HTTP_STATUS [more=...] msg="the hub's plain-text answer, if any"
 *
 * The copy restarts from the client's reservation mark, so its genuine frames lie "far ahead" of
 * what the running client uses (exactly what a client restarted after a crash sends).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "core/bundle.h"
#include "core/link.h"
#include "core/psrd.h"
#include "core/wire.h"

struct buf {
	uint8_t *p;
	size_t len;
};

static struct link L;
static const char *url;
static char sender_sae[DSKE_NAME_MAX + 1] = "x", resp_kme[DSKE_NAME_MAX + 1] = "client2",
            resp_sae[DSKE_NAME_MAX + 1] = "y";
static uint8_t last_key_id[DSKE_KEY_ID_LEN], last_share[64];
static uint64_t last_expiry;
static uint8_t share_x = 1;

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	uint8_t *p = realloc(b->p, b->len + size * n + 1);

	if (!p)
		return 0;
	memcpy(p + b->len, data, size * n);
	b->p = p;
	b->len += size * n;
	b->p[b->len] = 0;
	return size * n;
}

/* POST frame to the hub: HTTP status (0 on transport failure), answer in *ans (caller frees). */
static long post(const uint8_t *frame, size_t len, struct buf *ans, const char *fake_length)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char u[512];
	long code = 0;

	ans->p = NULL;
	ans->len = 0;
	if (!c)
		return 0;
	snprintf(u, sizeof(u), "%s/dske/v1", url);
	h = curl_slist_append(h, "Content-Type: application/octet-stream");
	h = curl_slist_append(h, "Expect:");
	if (fake_length)
		h = curl_slist_append(h, fake_length);
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)frame);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, ans);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return code;
}

static void report(const char *name, long code, const struct buf *ans, const char *more)
{
	char msg[200] = "";

	if (code != 200 && ans->p) {
		size_t n = ans->len < sizeof(msg) - 1 ? ans->len : sizeof(msg) - 1;
		for (size_t i = 0; i < n; i++)
			msg[i] = (ans->p[i] >= 0x20 && ans->p[i] < 0x7f && ans->p[i] != '"') ? (char)ans->p[i] : ' ';
		msg[n] = 0;
		while (n && msg[n - 1] == ' ')
			msg[--n] = 0;
	}
	printf("%s code=%ld%s%s msg=\"%s\"\n", name, code, more ? " " : "", more ? more : "", msg);
	fflush(stdout);
}

/* An answer to request req: parse it, check the binding and open it on our h2c copy. */
static const char *check_answer(const struct wire_hdr *req, const struct buf *ans, uint8_t want)
{
	struct wire_hdr h;
	const uint8_t *body;

	if (!ans->p || wire_frame_parse(ans->p, ans->len, WIRE_FRAME_MAX_DEFAULT, &h, &body) < 0)
		return "answer=unparsable";
	if (h.type != want || memcmp(h.txn_id, req->txn_id, WIRE_TXN_LEN) != 0 ||
	    h.body_len < 8 || strcmp(h.sender, L.peer) != 0)
		return "answer=unbound";
	uint64_t rmo = 0;
	for (int i = 0; i < 8; i++)
		rmo = rmo << 8 | body[i];
	if (rmo != req->mac_off)
		return "answer=unbound";
	if (link_open(&L, ans->p, ans->len, &h, NULL, 0) < 0)
		return "answer=unauthenticated";
	return "answer=ok";
}

static int seal(uint8_t type, const uint8_t *body, size_t blen, struct buf *out, struct wire_hdr *hdr)
{
	const uint8_t *b;
	int r;

	memset(hdr, 0, sizeof(*hdr));
	hdr->type = type;
	randombytes_buf(hdr->txn_id, sizeof(hdr->txn_id));
	r = link_seal(&L, hdr, body, blen, &out->p, &out->len);
	if (r < 0)
		return r;
	return wire_frame_parse(out->p, out->len, WIRE_FRAME_MAX_DEFAULT, hdr, &b);
}

/* A STREAM_STATUS as a client sends it: our marks and ends (the hub takes peer_end as the limit
 * of its own allocations, so zeros would stop it). */
static void fill_status(struct wire_stream_status *st)
{
	struct psrd_info tx, rx;

	psrd_stream_info(L.tx, &tx);
	psrd_stream_info(L.rx, &rx);
	memset(st, 0, sizeof(*st));
	st->own_reserved = tx.reserved;
	st->own_end = tx.end;
	st->peer_accepted = rx.next;
	st->peer_end = rx.end;
	st->last_block_own = tx.last_block_id;
	st->last_block_peer = rx.last_block_id;
}

static int seal_stream_status(struct buf *out, struct wire_hdr *hdr)
{
	struct wire_stream_status st;
	uint8_t *body = NULL;
	size_t blen;
	int r;

	fill_status(&st);
	r = wire_encode_stream_status(&st, &body, &blen);

	if (r == 0)
		r = seal(WIRE_STREAM_STATUS, body, blen, out, hdr);
	free(body);
	return r;
}

/* A frame with a chosen header and a tag that is NOT made with the PSRD MAC key. */
static int forge(uint8_t type, const char *sender, const char *receiver, uint64_t mac_off,
                 const uint8_t *body, size_t blen, struct buf *out)
{
	struct wire_hdr h = { .version = WIRE_VERSION, .type = type, .mac_off = mac_off };
	size_t tag_off;
	int r;

	snprintf(h.sender, sizeof(h.sender), "%s", sender);
	snprintf(h.receiver, sizeof(h.receiver), "%s", receiver);
	randombytes_buf(h.txn_id, sizeof(h.txn_id));
	h.body_len = (uint32_t)blen;
	out->len = wire_frame_len(&h, blen);
	out->p = malloc(out->len);
	if (!out->p)
		return -ENOMEM;
	r = wire_frame_encode(&h, body, blen, out->p, out->len, &tag_off);
	if (r < 0)
		return r;
	randombytes_buf(out->p + tag_off, WIRE_TAG_LEN);
	return 0;
}

static const uint8_t *status_body(size_t *blen)
{
	static uint8_t *body;
	struct wire_stream_status st;

	fill_status(&st);
	if (!body && wire_encode_stream_status(&st, &body, blen) < 0)
		exit(2);
	*blen = 48;
	return body;
}

/* A genuine SHARE_PUT of one (random) share; key_id: fresh unless reuse. */
static int seal_put(bool reuse_id, uint64_t pad_off_override, struct buf *out, struct wire_hdr *hdr)
{
	struct wire_key_meta m = { 0 };
	struct wire_share_put p = { .count = 1, .keys = &m };
	uint8_t share[64], pad[64], *body = NULL;
	size_t blen;
	int r;

	if (!reuse_id) {   /* a new key; a retry re-sends the same key ID, metadata and share */
		randombytes_buf(last_key_id, sizeof(last_key_id));
		randombytes_buf(last_share, sizeof(last_share));
		last_expiry = (uint64_t)time(NULL) + 600;
	}
	memcpy(m.key_id, last_key_id, sizeof(m.key_id));
	snprintf(m.init_sae, sizeof(m.init_sae), "%s", sender_sae);
	snprintf(m.resp_kme, sizeof(m.resp_kme), "%s", resp_kme);
	snprintf(m.resp_sae, sizeof(m.resp_sae), "%s", resp_sae);
	m.n = 5, m.k = 3, m.x = share_x, m.codec = 1, m.key_len = 32;
	m.expiry = last_expiry;
	memcpy(share, last_share, sizeof(share));
	if (pad_off_override != UINT64_MAX) {
		p.otp_off = pad_off_override;           /* a range the hub already used */
		memset(pad, 0, sizeof(pad));
	} else {
		r = link_take_pad(&L, sizeof(pad), &p.otp_off, pad);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < sizeof(share); i++)
		share[i] ^= pad[i];
	p.shares = share;
	p.shares_len = sizeof(share);
	r = wire_encode_share_put(&p, &body, &blen);
	if (r == 0)
		r = seal(WIRE_SHARE_PUT, body, blen, out, hdr);
	free(body);
	return r;
}

static const char *put_status(const struct buf *ans)
{
	static char s[32];
	struct wire_hdr h;
	const uint8_t *body;
	struct wire_status_list sl;
	static const char *names[] = { "OK", "ALREADY", "DUPLICATE", "FORBIDDEN", "UNKNOWN",
	                               "INVALID", "FULL", "PENDING", "RELEASED", "EXPIRED" };

	if (!ans->p || wire_frame_parse(ans->p, ans->len, WIRE_FRAME_MAX_DEFAULT, &h, &body) < 0 ||
	    h.type != WIRE_SHARE_PUT_ACK || wire_decode_status_list(body, h.body_len, &sl) < 0)
		return "status=none";
	snprintf(s, sizeof(s), "status=%s", sl.count == 1 && sl.entries[0].status < 10 ?
	         names[sl.entries[0].status] : "?");
	wire_status_list_free(&sl);
	return s;
}

static uint64_t parse_u64(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (*s == 0 || *end) {
		fprintf(stderr, "dske-forge: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static void fr(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
}

/* Runs one case; 0, or -errno when the frame could not be built (printed). */
static int run_case(const char *c)
{
	struct buf f = { 0 }, f2 = { 0 }, a = { 0 }, a2 = { 0 };
	struct wire_hdr h;
	char more[128];
	const uint8_t *body;
	size_t blen;
	long code;
	int r = 0;

	if (!strcmp(c, "status") || !strncmp(c, "ahead=", 6)) {
		/* genuine STREAM_STATUS (at OFF: a client restarted from its reservation mark) */
		if (c[0] == 'a' && (r = psrd_stream_advance(L.tx, parse_u64(c + 6))) < 0)
			goto out;
		if ((r = seal_stream_status(&f, &h)) < 0)
			goto out;
		code = post(f.p, f.len, &a, NULL);
		snprintf(more, sizeof(more), "mac_off=%llu %s", (unsigned long long)h.mac_off,
		         code == 200 ? check_answer(&h, &a, WIRE_STREAM_STATUS_REPLY) : "answer=none");
		report(c, code, &a, more);
	} else if (!strcmp(c, "bitflip") || !strcmp(c, "badtag") || !strcmp(c, "truncated") ||
	           !strcmp(c, "extended") || !strcmp(c, "version") || !strcmp(c, "flags")) {
		/* a genuine frame, tampered before it is sent: the original is never sent */
		if ((r = seal_stream_status(&f, &h)) < 0)
			goto out;
		size_t hl = f.len - 48 - WIRE_TAG_LEN;
		if (c[0] == 'b' && c[1] == 'i')
			f.p[hl + 20] ^= 0x04;                  /* own_end, a bit in the body */
		else if (c[0] == 'b')
			f.p[f.len - 1] ^= 0x80;                /* the tag */
		else if (c[0] == 't')
			f.len -= 1;
		else if (c[0] == 'e')
			f.p = realloc(f.p, ++f.len), f.p[f.len - 1] = 0;
		else if (c[0] == 'v')
			f.p[4] = 2;
		else
			f.p[7] = 1;
		code = post(f.p, f.len, &a, NULL);
		snprintf(more, sizeof(more), "mac_off=%llu", (unsigned long long)h.mac_off);
		report(c, code, &a, more);
	} else if (!strcmp(c, "replay") || !strcmp(c, "conflict")) {
		/* replay: the same bytes twice (the hub must answer from its cache, byte-identical,
		 * using no PSRD); conflict: then other bytes under the same mac_off (409) */
		if ((r = seal_stream_status(&f, &h)) < 0)
			goto out;
		code = post(f.p, f.len, &a, NULL);
		if (code != 200) {
			report(c, code, &a, "first=refused");
			goto out;
		}
		if (c[0] == 'r') {
			code = post(f.p, f.len, &a2, NULL);
			snprintf(more, sizeof(more), "mac_off=%llu answer=%s", (unsigned long long)h.mac_off,
			         code != 200 ? "none" : a.len == a2.len && !memcmp(a.p, a2.p, a.len) ?
			         "identical" : "different");
		} else {
			f.p[f.len - 48 - WIRE_TAG_LEN + 20] ^= 0x04;
			code = post(f.p, f.len, &a2, NULL);
			snprintf(more, sizeof(more), "mac_off=%llu", (unsigned long long)h.mac_off);
		}
		report(c, code, &a2, more);
	} else if (!strncmp(c, "stale=", 6) || !strncmp(c, "forged=", 7)) {
		/* a frame naming chosen PSRD (behind the mark / overlapping used / far ahead) with a
		 * tag not made from the PSRD there */
		uint64_t off = parse_u64(strchr(c, '=') + 1);
		body = status_body(&blen);
		if ((r = forge(WIRE_STREAM_STATUS, L.self, L.peer, off, body, blen, &f)) < 0)
			goto out;
		code = post(f.p, f.len, &a, NULL);
		report(c, code, &a, NULL);
	} else if (!strncmp(c, "put-overlap=", 12)) {
		/* a genuine SHARE_PUT (fresh MAC key) whose pad range overlaps used PSRD at OFF */
		if ((r = seal_put(false, parse_u64(c + 12), &f, &h)) < 0)
			goto out;
		code = post(f.p, f.len, &a, NULL);
		report(c, code, &a, NULL);
	} else if (!strcmp(c, "put") || !strcmp(c, "put-lost") || !strcmp(c, "put-again")) {
		/* put: one genuine SHARE_PUT; put-lost: the same, answer discarded, then the retry
		 * (byte-identical) and a retry with fresh PSRD; put-again: same key ID, fresh PSRD */
		if ((r = seal_put(!strcmp(c, "put-again"), UINT64_MAX, &f, &h)) < 0)
			goto out;
		code = post(f.p, f.len, &a, NULL);
		snprintf(more, sizeof(more), "%s", code == 200 ? put_status(&a) : "status=none");
		if (strcmp(c, "put-lost") != 0) {
			report(c, code, &a, more);
			goto out;
		}
		/* the answer is "lost": retry byte-identically */
		code = post(f.p, f.len, &a2, NULL);
		snprintf(more, sizeof(more), "retry=%s %s", code != 200 ? "refused" :
		         a.len == a2.len && !memcmp(a.p, a2.p, a.len) ? "identical" : "different",
		         code == 200 ? put_status(&a2) : "status=none");
		report("put-lost-retry", code, &a2, more);
		fr(&a2);
		/* new content under the old offsets: refused */
		f2.len = f.len;
		f2.p = malloc(f.len);
		memcpy(f2.p, f.p, f.len);
		f2.p[f2.len - WIRE_TAG_LEN - 1] ^= 0x01;    /* a share byte */
		code = post(f2.p, f2.len, &a2, NULL);
		report("put-lost-newcontent", code, &a2, NULL);
		fr(&a2);
		/* a retry with fresh PSRD: the hub says ALREADY, stores nothing new */
		fr(&f2);
		if ((r = seal_put(true, UINT64_MAX, &f2, &h)) < 0)
			goto out;
		code = post(f2.p, f2.len, &a2, NULL);
		snprintf(more, sizeof(more), "%s", code == 200 ? put_status(&a2) : "status=none");
		report("put-lost-fresh", code, &a2, more);
	} else if (!strcmp(c, "unknown-client")) {
		body = status_body(&blen);
		if ((r = forge(WIRE_STREAM_STATUS, "nosuchclient", L.peer, 0, body, blen, &f)) < 0)
			goto out;
		code = post(f.p, f.len, &a, NULL);
		report(c, code, &a, NULL);
	} else if (!strcmp(c, "wrong-receiver")) {
		body = status_body(&blen);
		if ((r = forge(WIRE_STREAM_STATUS, L.self, "nosuchhub", 0, body, blen, &f)) < 0)
			goto out;
		code = post(f.p, f.len, &a, NULL);
		report(c, code, &a, NULL);
	} else if (!strcmp(c, "answer-type")) {
		/* a frame of an answer type sent to the hub */
		body = status_body(&blen);
		if ((r = forge(WIRE_STREAM_STATUS_REPLY, L.self, L.peer, 0, body, blen, &f)) < 0)
			goto out;
		code = post(f.p, f.len, &a, NULL);
		report(c, code, &a, NULL);
	} else if (!strcmp(c, "garbage") || !strcmp(c, "empty")) {
		uint8_t g[100];
		randombytes_buf(g, sizeof(g));
		code = post(g, c[0] == 'g' ? sizeof(g) : 0, &a, NULL);
		report(c, code, &a, NULL);
	} else if (!strcmp(c, "oversize")) {
		/* a header announcing a body far above max_frame; only the header is sent */
		body = status_body(&blen);
		if ((r = forge(WIRE_STREAM_STATUS, L.self, L.peer, 0, body, blen, &f)) < 0)
			goto out;
		f.p[8] = 0x7f;                              /* body_len ~ 2 GiB */
		code = post(f.p, f.len, &a, NULL);
		report(c, code, &a, NULL);
	} else if (!strcmp(c, "oversize-body")) {
		size_t n = 2u << 20;
		uint8_t *g = calloc(1, n);
		memcpy(g, "DSKE", 4);
		code = post(g, n, &a, NULL);
		free(g);
		report(c, code, &a, NULL);
	} else {
		fprintf(stderr, "dske-forge: unknown case '%s'\n", c);
		exit(2);
	}
out:
	if (r < 0)
		printf("%s error=%s\n", c, strerror(-r));
	fr(&f), fr(&f2), fr(&a), fr(&a2);
	return r;
}

static void usage(FILE *o)
{
	fprintf(o,
	        "Usage: dske-forge --dir DIR --client NAME --hub NAME --url URL [options] CASE...\n"
	        "Builds genuine and tampered frames on a COPY of a client's PSRD state for one hub\n"
	        "(DIR holds c2h.* and h2c.*) and posts them to the hub. Test tool.\n"
	        "  --bundle FILE    first import this client bundle into DIR (a fresh state)\n"
	        "  --sae ID         initiator SAE in SHARE_PUT (default x)\n"
	        "  --resp KME:SAE   responder in SHARE_PUT (default client2:y)\n"
	        "  --x N            the hub's index, the share's x in SHARE_PUT (default 1)\n"
	        "Cases: status ahead=OFF bitflip badtag truncated extended version flags replay\n"
	        "       conflict stale=OFF forged=OFF put put-lost put-again put-overlap=OFF\n"
	        "       unknown-client wrong-receiver answer-type garbage empty oversize oversize-body\n"
	        "Each prints: CASE code=HTTP [details] msg=\"hub's message\"\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' }, { "client", required_argument, NULL, 'c' },
		{ "hub", required_argument, NULL, 'H' }, { "url", required_argument, NULL, 'u' },
		{ "bundle", required_argument, NULL, 'b' }, { "sae", required_argument, NULL, 's' },
		{ "resp", required_argument, NULL, 'r' }, { "x", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { 0 }
	};
	const char *dir = NULL, *client = NULL, *hub = NULL, *bundle = NULL;
	struct psrd_stream *c2h = NULL, *h2c = NULL;
	int o, r, rc = 0;

	while ((o = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (o) {
		case 'd': dir = optarg; break;
		case 'c': client = optarg; break;
		case 'H': hub = optarg; break;
		case 'u': url = optarg; break;
		case 'b': bundle = optarg; break;
		case 's': snprintf(sender_sae, sizeof(sender_sae), "%s", optarg); break;
		case 'x': share_x = (uint8_t)atoi(optarg); break;
		case 'r': {
			const char *col = strchr(optarg, ':');
			if (!col) {
				usage(stderr);
				return 2;
			}
			snprintf(resp_kme, sizeof(resp_kme), "%.*s", (int)(col - optarg), optarg);
			snprintf(resp_sae, sizeof(resp_sae), "%s", col + 1);
			break;
		}
		case 'h': usage(stdout); return 0;
		case 'V': printf("dske-forge %s\n", DSKE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!dir || !client || !hub || !url || optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 2;
	r = psrd_stream_open(dir, "c2h", PSRD_SENDER, false, &c2h);
	if (r == 0)
		r = psrd_stream_open(dir, "h2c", PSRD_RECEIVER, false, &h2c);
	if (r < 0) {
		fprintf(stderr, "dske-forge: cannot open the streams in %s: %s\n", dir, strerror(-r));
		return 2;
	}
	if (bundle) {
		uint8_t *b = NULL;
		size_t blen;
		struct bundle bd;
		unsigned line;
		r = bundle_read_file(bundle, &b, &blen);
		if (r == 0)
			r = bundle_parse(b, blen, &bd, &line);
		if (r == 0)
			r = psrd_stream_import(c2h, bd.block_id, bd.c2h_start, bd.c2h, bd.c2h_len);
		if (r == 0)
			r = psrd_stream_import(h2c, bd.block_id, bd.h2c_start, bd.h2c, bd.h2c_len);
		free(b);
		if (r < 0) {
			fprintf(stderr, "dske-forge: cannot import %s: %s\n", bundle, strerror(-r));
			return 2;
		}
	}
	snprintf(L.self, sizeof(L.self), "%s", client);
	snprintf(L.peer, sizeof(L.peer), "%s", hub);
	L.tx = c2h;
	L.rx = h2c;
	for (int i = optind; i < argc; i++)
		if (run_case(argv[i]) < 0)
			rc = 1;
	psrd_stream_close(c2h);
	psrd_stream_close(h2c);
	curl_global_cleanup();
	return rc;
}
