/* etsi_load — key pair load generator over ETSI 014 unix sockets: T threads, each with kept-alive
 * connections to the master's and the slave's KME, loop { enc_keys at A; dec_keys at B; compare }
 * for S seconds. Prints pairs/s and pair latency percentiles; exit 1 if a pair failed or the
 * two sides disagreed.
 *   etsi_load SOCK_A SLAVE_SAE SOCK_B MASTER_SAE THREADS SECONDS
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct buf {
	char *p;
	size_t n;
};

struct worker {
	const char *sock_a, *sock_b, *slave, *master;
	double until;
	double *lat, *lat_enc;
	size_t nlat, cap;
	unsigned errors, mismatches;
	char last_err[256];
	pthread_t th;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t wr(char *d, size_t s, size_t n, void *u)
{
	struct buf *b = u;
	char *p = realloc(b->p, b->n + s * n + 1);
	if (!p)
		return 0;
	memcpy(p + b->n, d, s * n);
	b->p = p;
	b->n += s * n;
	b->p[b->n] = '\0';
	return s * n;
}

static long get(CURL *c, const char *sock, const char *url, struct buf *b)
{
	long code = 0;
	b->n = 0;
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, wr);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	if (curl_easy_perform(c) != CURLE_OK)
		return -1;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	CURL *a = curl_easy_init(), *b = curl_easy_init();
	struct buf ba = { 0 }, bb = { 0 };
	char url[512];

	while (now_s() < w->until) {
		double t0 = now_s();
		snprintf(url, sizeof(url), "http://localhost/api/v1/keys/%s/enc_keys", w->slave);
		long code = get(a, w->sock_a, url, &ba);
		if (code != 200) {
			w->errors++;
			snprintf(w->last_err, sizeof(w->last_err), "enc_keys %ld %s", code, ba.p ? ba.p : "");
			continue;
		}
		double t1 = now_s();
		json_t *j = json_loads(ba.p, 0, NULL);
		const char *id = NULL, *key = NULL;
		json_unpack(j, "{s:[{s:s,s:s}]}", "keys", "key_ID", &id, "key", &key);
		if (!id || !key) {
			w->errors++;
			json_decref(j);
			continue;
		}
		snprintf(url, sizeof(url), "http://localhost/api/v1/keys/%s/dec_keys?key_ID=%s", w->master, id);
		code = get(b, w->sock_b, url, &bb);
		if (code != 200) {
			w->errors++;
			snprintf(w->last_err, sizeof(w->last_err), "dec_keys %ld %s", code, bb.p ? bb.p : "");
			json_decref(j);
			continue;
		}
		if (!strstr(bb.p, key))
			w->mismatches++;
		json_decref(j);
		if (w->nlat == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 1024;
			w->lat = realloc(w->lat, w->cap * sizeof(double));
			w->lat_enc = realloc(w->lat_enc, w->cap * sizeof(double));
		}
		w->lat_enc[w->nlat] = t1 - t0;
		w->lat[w->nlat++] = now_s() - t0;
	}
	curl_easy_cleanup(a);
	curl_easy_cleanup(b);
	free(ba.p);
	free(bb.p);
	return NULL;
}

static int cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: etsi_load SOCK_A SLAVE_SAE SOCK_B MASTER_SAE THREADS SECONDS\n");
		return 2;
	}
	int nt = atoi(argv[5]);
	double secs = atof(argv[6]);
	struct worker *w = calloc((size_t)nt, sizeof(*w));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	double t0 = now_s();
	for (int i = 0; i < nt; i++) {
		w[i] = (struct worker){ .sock_a = argv[1], .slave = argv[2], .sock_b = argv[3],
		                        .master = argv[4], .until = t0 + secs };
		pthread_create(&w[i].th, NULL, run, &w[i]);
	}
	size_t total = 0;
	unsigned errors = 0, mism = 0;
	for (int i = 0; i < nt; i++) {
		pthread_join(w[i].th, NULL);
		total += w[i].nlat;
		errors += w[i].errors;
		mism += w[i].mismatches;
		if (w[i].errors)
			fprintf(stderr, "thread %d: %s\n", i, w[i].last_err);
	}
	double el = now_s() - t0;
	double *all = malloc((total ? total : 1) * sizeof(double));
	double *enc = malloc((total ? total : 1) * sizeof(double));
	size_t k = 0;
	for (int i = 0; i < nt; i++)
		for (size_t j = 0; j < w[i].nlat; j++) {
			enc[k] = w[i].lat_enc[j];
			all[k++] = w[i].lat[j];
		}
	qsort(all, total, sizeof(double), cmp);
	qsort(enc, total, sizeof(double), cmp);
	printf("key pairs: %d callers, %.1f s: %zu pairs, %.0f pairs/s, latency p50 %.2f ms, "
	       "p90 %.2f ms, p99 %.2f ms (Get key alone: p50 %.2f ms); %u errors, %u mismatches\n", nt,
	       el, total, total / el, total ? all[total / 2] * 1e3 : 0,
	       total ? all[total * 9 / 10] * 1e3 : 0, total ? all[total * 99 / 100] * 1e3 : 0,
	       total ? enc[total / 2] * 1e3 : 0, errors, mism);
	return errors || mism ? 1 : 0;
}
