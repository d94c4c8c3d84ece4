/* dske-loadgen — load generator for make bench (tests/bench/10-lab.sh): key pairs through two
 * clients' ETSI GS QKD 014 unix sockets, in-process with libcurl (keep-alive, one pair of
 * handles per thread), no curl processes.
 *
 * One operation = Get key (GET enc_keys?number=N&size=S) at the initiator's socket, then Get
 * key with key IDs (POST dec_keys with those IDs) at the responder's socket; the two answers
 * must hold the same keys (else it counts as an error). The caller's uid selects the SAE on
 * each socket (the lab maps uid 0 to <client>_sae1).
 *
 *   dske-loadgen --init-sock PATH --resp-sock PATH --master SAE --slave SAE
 *                [--ops N] [--threads T] [--number K] [--size BITS] [--seconds S]
 *
 * --seconds S: stop starting operations after S seconds (--ops is then only a cap).
 *
 * Prints (figures only, one "name value" per line):
 *   ops, threads, number, size_bits, errors, mismatches, http_500, seconds, ops_per_s, keys_per_s,
 *   latency_us_p50, latency_us_p99, latency_us_max, latency_us_mean  (one whole operation)
 *   enc_us_p50, dec_us_p50                                            (its two halves)
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cfg {
	const char *init_sock, *resp_sock, *master, *slave;
	unsigned ops, threads, number, size;
	uint64_t deadline_ns;                 /* 0: none */
};

struct buf {
	char *p;
	size_t len, cap;
};

struct shared {
	const struct cfg *cfg;
	atomic_uint next;
	atomic_uint errors;
	atomic_uint mismatches, http_500;
	uint64_t *lat_ns, *enc_ns, *dec_ns;   /* per operation */
	pthread_mutex_t err_lock;
	char first_error[512];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t buf_write(char *data, size_t size, size_t nmemb, void *cls)
{
	struct buf *b = cls;
	size_t n = size * nmemb;

	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 8192;
		char *nb;

		while (cap < b->len + n + 1)
			cap *= 2;
		nb = malloc(cap);
		if (!nb)
			return 0;
		if (b->p) {
			memcpy(nb, b->p, b->len);
			sodium_memzero(b->p, b->cap);
			free(b->p);
		}
		b->p = nb;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

static void buf_reset(struct buf *b)
{
	if (b->p)
		sodium_memzero(b->p, b->cap);
	b->len = 0;
}

static void buf_free(struct buf *b)
{
	buf_reset(b);
	free(b->p);
	b->p = NULL;
	b->cap = 0;
}

static void record_error(struct shared *sh, const char *what, long code, const struct buf *b)
{
	atomic_fetch_add(&sh->errors, 1);
	if (code == 500)
		atomic_fetch_add(&sh->http_500, 1);
	pthread_mutex_lock(&sh->err_lock);
	if (!sh->first_error[0])
		snprintf(sh->first_error, sizeof(sh->first_error), "%s (HTTP %ld) %.200s", what, code,
		         b && b->p && code != 200 ? b->p : "");
	pthread_mutex_unlock(&sh->err_lock);
}

/* one HTTP exchange on a reused handle; 0 iff 200 */
static int http(CURL *c, const char *url, const char *post, struct buf *out, long *ret_code)
{
	CURLcode cc;

	buf_reset(out);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (post) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	cc = curl_easy_perform(c);
	*ret_code = 0;
	if (cc != CURLE_OK)
		return -EIO;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_code);
	return *ret_code == 200 ? 0 : -EPROTO;
}

static CURL *handle(const char *sock, struct curl_slist *hdrs)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	return c;
}

/* the key_IDs of an enc_keys answer as a dec_keys request body (malloc'd) */
static char *dec_body(json_t *enc)
{
	json_t *keys = json_object_get(enc, "keys"), *k, *req, *ids;
	char *txt = NULL;
	size_t i;

	if (!json_is_array(keys))
		return NULL;
	req = json_object();
	ids = json_array();
	json_object_set_new(req, "key_IDs", ids);
	json_array_foreach(keys, i, k)
		json_array_append_new(ids, json_pack("{s:O}", "key_ID", json_object_get(k, "key_ID")));
	txt = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	return txt;
}

/* both answers hold the same (key_ID, key) pairs in the same order */
static bool same_keys(json_t *a, json_t *b, unsigned want)
{
	json_t *ka = json_object_get(a, "keys"), *kb = json_object_get(b, "keys");
	size_t i;

	if (!json_is_array(ka) || !json_is_array(kb) || json_array_size(ka) != want ||
	    json_array_size(kb) != want)
		return false;
	for (i = 0; i < want; i++) {
		json_t *x = json_array_get(ka, i), *y = json_array_get(kb, i);
		const char *xi = json_string_value(json_object_get(x, "key_ID"));
		const char *yi = json_string_value(json_object_get(y, "key_ID"));
		const char *xk = json_string_value(json_object_get(x, "key"));
		const char *yk = json_string_value(json_object_get(y, "key"));

		if (!xi || !yi || !xk || !yk || strcmp(xi, yi) != 0 || strlen(xk) != strlen(yk) ||
		    sodium_memcmp(xk, yk, strlen(xk)) != 0)
			return false;
	}
	return true;
}

static void *worker(void *arg)
{
	struct shared *sh = arg;
	const struct cfg *cf = sh->cfg;
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *ci = handle(cf->init_sock, hdrs), *cr = handle(cf->resp_sock, hdrs);
	struct buf bi = { 0 }, br = { 0 };
	char enc_url[512], dec_url[512];
	unsigned op;

	snprintf(enc_url, sizeof(enc_url), "http://localhost/api/v1/keys/%s/enc_keys?number=%u&size=%u",
	         cf->slave, cf->number, cf->size);
	snprintf(dec_url, sizeof(dec_url), "http://localhost/api/v1/keys/%s/dec_keys", cf->master);
	if (!hdrs || !ci || !cr) {
		record_error(sh, "out of memory", 0, NULL);
		goto out;
	}
	while (!(cf->deadline_ns && now_ns() >= cf->deadline_ns) &&
	       (op = atomic_fetch_add(&sh->next, 1)) < cf->ops) {
		json_t *je = NULL, *jd = NULL;
		char *body = NULL;
		uint64_t t0 = now_ns(), t1, t2;
		long code;

		if (http(ci, enc_url, NULL, &bi, &code) < 0) {
			record_error(sh, "Get key failed", code, &bi);
			goto next;
		}
		t1 = now_ns();
		je = json_loadb(bi.p, bi.len, 0, NULL);
		body = je ? dec_body(je) : NULL;
		if (!body) {
			record_error(sh, "Get key: not a key container", code, NULL);
			goto next;
		}
		t1 = now_ns();   /* the dec half starts here (JSON work belongs to neither) */
		if (http(cr, dec_url, body, &br, &code) < 0) {
			record_error(sh, "Get key with key IDs failed", code, &br);
			goto next;
		}
		t2 = now_ns();
		jd = json_loadb(br.p, br.len, 0, NULL);
		if (!jd || !same_keys(je, jd, cf->number)) {
			atomic_fetch_add(&sh->mismatches, 1);
			record_error(sh, "the two ends' keys differ", code, NULL);
			goto next;
		}
		sh->enc_ns[op] = t1 - t0;
		sh->dec_ns[op] = t2 - t1;
		sh->lat_ns[op] = t2 - t0;
next:
		free(body);
		json_decref(je);   /* jansson strings hold key text: a test tool, freed at once */
		json_decref(jd);
		buf_reset(&bi);
		buf_reset(&br);
	}
out:
	buf_free(&bi);
	buf_free(&br);
	if (ci)
		curl_easy_cleanup(ci);
	if (cr)
		curl_easy_cleanup(cr);
	curl_slist_free_all(hdrs);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* percentile of the n successful samples (zeros = failed ops, sorted first, skipped) */
static uint64_t pct(const uint64_t *v, size_t n, size_t skip, double p)
{
	size_t m = n - skip, i;

	if (m == 0)
		return 0;
	i = (size_t)(p * (double)(m - 1) + 0.5);
	return v[skip + i];
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: dske-loadgen --init-sock PATH --resp-sock PATH --master SAE --slave SAE\n"
	           "                    [--ops N] [--threads T] [--number K] [--size BITS]\n"
	           "                    [--seconds S]\n"
	           "Key pairs through two dske-clientd ETSI unix sockets (Get key, then Get key\n"
	           "with key IDs); prints latency percentiles and rates.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "init-sock", required_argument, NULL, 'i' }, { "resp-sock", required_argument, NULL, 'r' },
		{ "master", required_argument, NULL, 'm' }, { "slave", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'o' }, { "threads", required_argument, NULL, 't' },
		{ "number", required_argument, NULL, 'n' }, { "size", required_argument, NULL, 'z' },
		{ "seconds", required_argument, NULL, 'S' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	struct cfg cf = { .ops = 1000, .threads = 1, .number = 1, .size = 256 };
	struct shared sh = { .cfg = &cf };
	pthread_t *th = NULL;
	uint64_t t0, t1, sum = 0;
	size_t skip = 0, i;
	unsigned ok, done, seconds = 0;
	double secs;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'i': cf.init_sock = optarg; break;
		case 'r': cf.resp_sock = optarg; break;
		case 'm': cf.master = optarg; break;
		case 's': cf.slave = optarg; break;
		case 'o': cf.ops = (unsigned)strtoul(optarg, NULL, 10); break;
		case 't': cf.threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': cf.number = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'z': cf.size = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'S': seconds = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!cf.init_sock || !cf.resp_sock || !cf.master || !cf.slave || cf.ops == 0 ||
	    cf.threads == 0 || cf.threads > 256 || cf.number == 0 || cf.size == 0) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	sh.lat_ns = calloc(cf.ops, sizeof(uint64_t));
	sh.enc_ns = calloc(cf.ops, sizeof(uint64_t));
	sh.dec_ns = calloc(cf.ops, sizeof(uint64_t));
	th = calloc(cf.threads, sizeof(*th));
	if (!sh.lat_ns || !sh.enc_ns || !sh.dec_ns || !th)
		goto out;
	pthread_mutex_init(&sh.err_lock, NULL);
	atomic_init(&sh.next, 0);
	atomic_init(&sh.errors, 0);
	atomic_init(&sh.mismatches, 0);
	atomic_init(&sh.http_500, 0);

	t0 = now_ns();
	if (seconds)
		cf.deadline_ns = t0 + (uint64_t)seconds * 1000000000u;
	for (i = 0; i < cf.threads; i++)
		if (pthread_create(&th[i], NULL, worker, &sh) != 0) {
			fprintf(stderr, "dske-loadgen: pthread_create failed\n");
			cf.threads = (unsigned)i;
			break;
		}
	for (i = 0; i < cf.threads; i++)
		pthread_join(th[i], NULL);
	t1 = now_ns();

	done = atomic_load(&sh.next) < cf.ops ? atomic_load(&sh.next) : cf.ops;
	ok = done - atomic_load(&sh.errors);
	secs = (double)(t1 - t0) / 1e9;
	qsort(sh.lat_ns, cf.ops, sizeof(uint64_t), cmp_u64);
	qsort(sh.enc_ns, cf.ops, sizeof(uint64_t), cmp_u64);
	qsort(sh.dec_ns, cf.ops, sizeof(uint64_t), cmp_u64);
	while (skip < cf.ops && sh.lat_ns[skip] == 0)
		skip++;
	for (i = skip; i < cf.ops; i++)
		sum += sh.lat_ns[i];
	printf("ops %u\nthreads %u\nnumber %u\nsize_bits %u\nerrors %u\n", done, cf.threads,
	       cf.number, cf.size, atomic_load(&sh.errors));
	printf("mismatches %u\nhttp_500 %u\n", atomic_load(&sh.mismatches), atomic_load(&sh.http_500));
	printf("seconds %.3f\nops_per_s %.1f\nkeys_per_s %.1f\n", secs, ok / secs,
	       (double)ok * cf.number / secs);
	printf("latency_us_p50 %" PRIu64 "\nlatency_us_p99 %" PRIu64 "\nlatency_us_max %" PRIu64 "\n",
	       pct(sh.lat_ns, cf.ops, skip, 0.50) / 1000, pct(sh.lat_ns, cf.ops, skip, 0.99) / 1000,
	       pct(sh.lat_ns, cf.ops, skip, 1.0) / 1000);
	printf("latency_us_mean %" PRIu64 "\n", ok ? sum / ok / 1000 : 0);
	printf("enc_us_p50 %" PRIu64 "\ndec_us_p50 %" PRIu64 "\n",
	       pct(sh.enc_ns, cf.ops, skip, 0.50) / 1000, pct(sh.dec_ns, cf.ops, skip, 0.50) / 1000);
	if (sh.first_error[0])
		fprintf(stderr, "dske-loadgen: %u error(s), first: %s\n", atomic_load(&sh.errors),
		        sh.first_error);
	rc = atomic_load(&sh.errors) ? 1 : 0;
out:
	free(th);
	free(sh.lat_ns);
	free(sh.enc_ns);
	free(sh.dec_ns);
	curl_global_cleanup();
	return rc;
}
