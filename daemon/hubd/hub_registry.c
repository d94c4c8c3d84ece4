/* hub_registry.c — see hub_registry.h */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/names.h"
#include "hubd/hub_registry.h"

struct hub_registry {
	pthread_mutex_t lock;           /* the client array */
	pthread_mutex_t import_lock;    /* one import at a time */
	char *state_dir;
	char hub[DSKE_NAME_MAX + 1];
	bool audit;
	struct hub_client **clients;
	size_t n, cap;
};

struct registration {
	char client[DSKE_NAME_MAX + 1];
	char hub[DSKE_NAME_MAX + 1];
	unsigned hub_index;
	char hub_url[BUNDLE_URL_MAX + 1];
	unsigned sae_count;
	char saes[BUNDLE_MAX_SAES][DSKE_NAME_MAX + 1];
};

static int client_dir(const struct hub_registry *r, const char *client, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/psrd/%s", r->state_dir, client);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int reg_parse(const char *path, struct registration *reg)
{
	FILE *f = fopen(path, "re");
	char line[4096];
	int r = 0;

	if (!f)
		return -errno;
	memset(reg, 0, sizeof(*reg));
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');
		line[strcspn(line, "\n")] = '\0';
		if (!v)
			continue;
		*v++ = '\0';
		v += strspn(v, " ");
		if (!strcmp(line, "client"))
			r = names_copy(reg->client, v);
		else if (!strcmp(line, "hub"))
			r = names_copy(reg->hub, v);
		else if (!strcmp(line, "hub_index"))
			reg->hub_index = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(line, "hub_url"))
			snprintf(reg->hub_url, sizeof(reg->hub_url), "%s", v);
		else if (!strcmp(line, "saes")) {
			char *save = NULL;
			for (char *t = strtok_r(v, " ", &save); t && reg->sae_count < BUNDLE_MAX_SAES;
			     t = strtok_r(NULL, " ", &save)) {
				if (!names_sae_valid(t)) {
					r = -EBADMSG;
					break;
				}
				snprintf(reg->saes[reg->sae_count++], DSKE_NAME_MAX + 1, "%s", t);
			}
		}
		if (r < 0)
			break;
	}
	fclose(f);
	if (r == 0 && (!reg->client[0] || !reg->hub[0] || reg->hub_index < 1 || reg->hub_index > 255))
		r = -EBADMSG;
	return r < 0 ? -EBADMSG : 0;
}

static int reg_write(const char *dir, const struct registration *reg)
{
	char path[4300], tmp[4300];
	FILE *f;
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/registration", dir);
	snprintf(tmp, sizeof(tmp), "%s/registration.tmp", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -errno;
	}
	fprintf(f, "client: %s\nhub: %s\nhub_index: %u\nhub_url: %s\nsaes:", reg->client, reg->hub,
	        reg->hub_index, reg->hub_url);
	for (unsigned i = 0; i < reg->sae_count; i++)
		fprintf(f, " %s", reg->saes[i]);
	fputc('\n', f);
	if (fflush(f) != 0 || fsync(fd) < 0)
		r = -errno;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r == 0) {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	} else {
		unlink(tmp);
	}
	return r;
}

static void client_free(struct hub_client *c)
{
	if (!c)
		return;
	psrd_stream_close(c->c2h);
	psrd_stream_close(c->h2c);
	hub_replay_free(c->replay);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void client_set_reg(struct hub_client *c, const struct registration *reg)
{
	c->sae_count = reg->sae_count;
	memcpy(c->saes, reg->saes, sizeof(c->saes));
	c->hub_index = (uint8_t)reg->hub_index;
	snprintf(c->hub_url, sizeof(c->hub_url), "%s", reg->hub_url);
}

static int client_open(struct hub_registry *r, const struct registration *reg,
                       struct hub_client **ret)
{
	struct hub_client *c = calloc(1, sizeof(*c));
	char dir[4200];
	int e;

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	snprintf(c->name, sizeof(c->name), "%s", reg->client);
	client_set_reg(c, reg);
	if ((e = client_dir(r, reg->client, dir, sizeof(dir))) < 0 ||
	    (e = psrd_stream_open(dir, "c2h", PSRD_RECEIVER, r->audit, &c->c2h)) < 0 ||
	    (e = psrd_stream_open(dir, "h2c", PSRD_SENDER, r->audit, &c->h2c)) < 0 ||
	    (e = hub_replay_new(&c->replay)) < 0) {
		client_free(c);
		return e;
	}
	snprintf(c->link.self, sizeof(c->link.self), "%s", r->hub);
	snprintf(c->link.peer, sizeof(c->link.peer), "%s", reg->client);
	c->link.tx = c->h2c;
	c->link.rx = c->c2h;
	*ret = c;
	return 0;
}

static int add_client(struct hub_registry *r, struct hub_client *c)
{
	pthread_mutex_lock(&r->lock);
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 16;
		struct hub_client **nc = realloc(r->clients, ncap * sizeof(*nc));
		if (!nc) {
			pthread_mutex_unlock(&r->lock);
			return -ENOMEM;
		}
		r->clients = nc;
		r->cap = ncap;
	}
	r->clients[r->n++] = c;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

int hub_registry_open(const char *state_dir, const char *hub_name, bool audit,
                      struct hub_registry **ret, char *err, size_t errlen)
{
	struct hub_registry *r = calloc(1, sizeof(*r));
	char path[4200];
	DIR *d = NULL;
	struct dirent *de;
	int e = 0;

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->import_lock, NULL);
	r->state_dir = strdup(state_dir);
	r->audit = audit;
	snprintf(r->hub, sizeof(r->hub), "%s", hub_name);
	if (!r->state_dir) {
		e = -ENOMEM;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/psrd", state_dir);
	if ((mkdir(state_dir, 0700) < 0 && errno != EEXIST) || (mkdir(path, 0700) < 0 && errno != EEXIST)) {
		e = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	d = opendir(path);
	if (!d) {
		e = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	while ((de = readdir(d))) {
		struct registration reg;
		struct hub_client *c = NULL;
		char rp[4500];
		if (de->d_name[0] == '.')
			continue;
		snprintf(rp, sizeof(rp), "%s/%s/registration", path, de->d_name);
		if (access(rp, F_OK) < 0)
			continue;     /* an import that never finished: no registration, no client */
		e = reg_parse(rp, &reg);
		if (e == 0 && (strcmp(reg.client, de->d_name) || strcmp(reg.hub, hub_name)))
			e = -EBADMSG;
		if (e < 0) {
			snprintf(err, errlen, "%s: invalid registration (client %s, hub %s)", rp, reg.client, reg.hub);
			goto out;
		}
		e = client_open(r, &reg, &c);
		if (e == 0 && (e = add_client(r, c)) < 0)
			client_free(c);
		if (e < 0) {
			snprintf(err, errlen, "client %s: cannot open PSRD streams: %s", reg.client, strerror(-e));
			goto out;
		}
	}
	*ret = r;
	r = NULL;
out:
	if (d)
		closedir(d);
	hub_registry_close(r);
	return e;
}

void hub_registry_close(struct hub_registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		client_free(r->clients[i]);
	free(r->clients);
	free(r->state_dir);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->import_lock);
	free(r);
}

struct hub_client *hub_registry_find(struct hub_registry *r, const char *name)
{
	struct hub_client *c = NULL;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->clients[i]->name, name) == 0) {
			c = r->clients[i];
			break;
		}
	pthread_mutex_unlock(&r->lock);
	return c;
}

size_t hub_registry_count(struct hub_registry *r)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

struct hub_client *hub_registry_get(struct hub_registry *r, size_t i)
{
	struct hub_client *c = NULL;

	pthread_mutex_lock(&r->lock);
	if (i < r->n)
		c = r->clients[i];
	pthread_mutex_unlock(&r->lock);
	return c;
}

bool hub_client_has_sae(struct hub_client *c, const char *sae)
{
	bool found = false;

	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < c->sae_count && !found; i++)
		found = strcmp(c->saes[i], sae) == 0;
	pthread_mutex_unlock(&c->lock);
	return found;
}

uint8_t hub_client_index(struct hub_client *c)
{
	uint8_t x;

	pthread_mutex_lock(&c->lock);
	x = c->hub_index;
	pthread_mutex_unlock(&c->lock);
	return x;
}

/* import one half into a stream: -EEXIST (this block is there already) counts as done */
static int import_stream(struct psrd_stream *s, uint32_t id, uint64_t start, const uint8_t *data,
                         uint64_t len, bool *ret_had)
{
	int e = psrd_stream_import(s, id, start, data, (size_t)len);

	if (e == -EEXIST) {
		*ret_had = true;
		return 0;
	}
	*ret_had = false;
	return e;
}

int hub_registry_import(struct hub_registry *r, const uint8_t *buf, size_t len,
                        struct hub_import_result *res, char *err, size_t errlen)
{
	struct bundle b;
	struct registration reg = { 0 };
	struct hub_client *c = NULL;
	struct psrd_info ic, ih;
	char dir[4200];
	unsigned line = 0;
	bool had_c = false, had_h = false;
	int e;

	memset(res, 0, sizeof(*res));
	e = bundle_parse(buf, len, &b, &line);
	if (e < 0) {
		if (line)
			snprintf(err, errlen, "not a valid PSRD bundle (header line %u)", line);
		else
			snprintf(err, errlen, "not a valid PSRD bundle (%s)",
			         e == -EBADMSG ? "data or checksum does not match" : strerror(-e));
		return -EBADMSG;
	}
	if (b.role != BUNDLE_FOR_HUB) {
		snprintf(err, errlen, "this is the client half of the bundle for hub %s and client %s; "
		         "import the hub half here", b.hub, b.client);
		return -EINVAL;
	}
	if (b.client[0] == '.') {
		/* "." and ".." are valid KME names but not usable as the client's directory */
		snprintf(err, errlen, "client name \"%s\" cannot be registered (it starts with a dot)",
		         b.client);
		return -EINVAL;
	}
	if (strcmp(b.hub, r->hub) != 0) {
		snprintf(err, errlen, "bundle is for hub %s, this is hub %s", b.hub, r->hub);
		return -EINVAL;
	}
	snprintf(reg.client, sizeof(reg.client), "%s", b.client);
	snprintf(reg.hub, sizeof(reg.hub), "%s", b.hub);
	reg.hub_index = b.hub_index;
	snprintf(reg.hub_url, sizeof(reg.hub_url), "%s", b.hub_url);
	reg.sae_count = b.sae_count;
	memcpy(reg.saes, b.saes, sizeof(reg.saes));
	snprintf(res->client, sizeof(res->client), "%s", b.client);
	res->block_id = b.block_id;
	res->c2h_len = b.c2h_len;
	res->h2c_len = b.h2c_len;
	bundle_checksum_hex(&b, res->checksum);

	pthread_mutex_lock(&r->import_lock);
	/* every client must give this hub the same Shamir index, or shares would not combine */
	for (size_t i = 0; i < hub_registry_count(r); i++) {
		struct hub_client *o = hub_registry_get(r, i);
		uint8_t x = hub_client_index(o);
		if (strcmp(o->name, b.client) != 0 && x != b.hub_index) {
			snprintf(err, errlen, "bundle gives this hub index %u, but client %s has it as index "
			         "%u: all clients must use the same index for a hub", b.hub_index, o->name, x);
			e = -EINVAL;
			goto out;
		}
	}
	c = hub_registry_find(r, b.client);
	if (!c) {
		e = client_dir(r, b.client, dir, sizeof(dir));
		if (e == 0 && mkdir(dir, 0700) < 0 && errno != EEXIST)
			e = -errno;
		if (e == 0)
			e = client_open(r, &reg, &c);
		if (e < 0) {
			snprintf(err, errlen, "client %s: cannot create PSRD streams: %s", b.client, strerror(-e));
			goto out;
		}
		res->new_client = true;
	} else {
		client_dir(r, b.client, dir, sizeof(dir));
	}
	psrd_stream_info(c->c2h, &ic);
	psrd_stream_info(c->h2c, &ih);
	if (b.block_id < ic.last_block_id && b.block_id < ih.last_block_id) {
		snprintf(err, errlen, "block %u for client %s is older than the last imported block %u",
		         b.block_id, b.client, ic.last_block_id);
		e = -EINVAL;
		goto out;
	}
	e = import_stream(c->c2h, b.block_id, b.c2h_start, b.c2h, b.c2h_len, &had_c);
	if (e == 0)
		e = import_stream(c->h2c, b.block_id, b.h2c_start, b.h2c, b.h2c_len, &had_h);
	if (e < 0) {
		snprintf(err, errlen, "client %s block %u: cannot import (%s; last block imported: %u)",
		         b.client, b.block_id,
		         e == -EINVAL ? "out of order or not contiguous" : strerror(-e), ic.last_block_id);
		goto out;
	}
	res->already = had_c && had_h;
	if (!res->new_client) {
		pthread_mutex_lock(&c->lock);
		res->saes_changed = c->sae_count != reg.sae_count ||
		                    memcmp(c->saes, reg.saes, sizeof(reg.saes)) != 0 ||
		                    c->hub_index != reg.hub_index || strcmp(c->hub_url, reg.hub_url) != 0;
		pthread_mutex_unlock(&c->lock);
	}
	if (res->new_client || res->saes_changed) {
		e = reg_write(dir, &reg);
		if (e < 0) {
			snprintf(err, errlen, "client %s: cannot write registration: %s", b.client, strerror(-e));
			goto out;
		}
		if (res->saes_changed) {
			pthread_mutex_lock(&c->lock);
			client_set_reg(c, &reg);
			pthread_mutex_unlock(&c->lock);
		}
	}
	if (res->new_client) {
		e = add_client(r, c);
		if (e < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		c = NULL;
	}
out:
	if (res->new_client && c && e < 0)
		client_free(c);
	pthread_mutex_unlock(&r->import_lock);
	sodium_memzero(&b, sizeof(b));
	return e;
}

int hub_registry_import_file(struct hub_registry *r, const char *path,
                             struct hub_import_result *res, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int e = bundle_read_file(path, &buf, &len);

	if (e < 0) {
		snprintf(err, errlen, "cannot read: %s", strerror(-e));
		return e;
	}
	e = hub_registry_import(r, buf, len, res, err, errlen);
	sodium_memzero(buf, len);
	free(buf);
	return e;
}
