/* dske-clientd — the DSKE client daemon: makes keys through the hubs (initiator), rebuilds keys
 * made for its SAEs (responder), delivers them over ETSI GS QKD 014. See dske-clientd(8). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clientd/client_config.h"
#include "clientd/client_ctl.h"
#include "clientd/engine.h"
#include "clientd/etsi.h"
#include "clientd/sink_keyring.h"
#include "clientd/sink_ppk.h"
#include "common/ctl.h"
#include "common/log.h"
#include "common/sdnotify.h"
#include "core/bundle.h"
#include "core/rng.h"

#define DEFAULT_CONFIG SYSCONFDIR "/dske/client.conf"

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: dske-clientd [-c FILE] [--check-config] [--import BUNDLE...]\n"
	        "       dske-clientd --version | --help\n"
	        "\n"
	        "The DSKE client daemon: makes keys through the hubs, rebuilds keys made for its\n"
	        "SAEs, and delivers them over ETSI GS QKD 014.\n"
	        "\n"
	        "  -c, --config FILE   configuration (default " DEFAULT_CONFIG ")\n"
	        "      --check-config  read and check the configuration, then exit\n"
	        "      --import        import the PSRD bundles named by the remaining arguments into\n"
	        "                      the state directory, then exit (daemon stopped; a running\n"
	        "                      daemon imports with: dskectl import BUNDLE)\n"
	        "  -h, --help          this text\n"
	        "  -V, --version       print the version\n");
}

/* Take the state directory lock (one process per state directory). */
static int lock_state(const char *state_dir, int *ret_fd)
{
	char path[PATH_MAX];
	int fd;

	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return log_error_errno(errno, "cannot create state directory %s", state_dir);
	if ((size_t)snprintf(path, sizeof(path), "%s/lock", state_dir) >= sizeof(path))
		return log_error_errno(ENAMETOOLONG, "state_dir too long");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return log_error_errno(errno, "cannot open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK) {
			log_error("state directory %s is in use by a running dske-clientd "
			          "(to import into a running daemon: dskectl import BUNDLE)", state_dir);
			return -EBUSY;
		}
		return log_error_errno(e, "cannot lock %s", path);
	}
	*ret_fd = fd;
	return 0;
}

static int do_import(struct keysvc *ks, char **files, int nfiles)
{
	int failed = 0;

	for (int i = 0; i < nfiles; i++) {
		uint8_t *buf = NULL;
		size_t len = 0;
		char msg[512];
		int r = bundle_read_file(files[i], &buf, &len);
		if (r < 0) {
			log_error("%s: %s", files[i], strerror(-r));
			failed++;
			continue;
		}
		r = hubset_import(ks, buf, len, msg, sizeof(msg));
		sodium_memzero(buf, len);
		free(buf);
		if (r == -EEXIST) {
			printf("%s: %s\n", files[i], msg);
			continue;
		}
		if (r < 0) {
			log_error("%s: %s", files[i], msg);
			failed++;
			continue;
		}
		printf("%s: %s\n", files[i], msg);
	}
	return failed ? 1 : 0;
}

static int start_etsi(struct client_config *c, struct keysvc *ks, struct etsi **ret)
{
	struct etsi_sae saes[CC_MAX_SAES];
	struct etsi_config ec = { 0 };

	unsigned n = 0;
	for (unsigned i = 0; i < c->nsaes; i++)
		if (strcmp(c->saes[i].id, c->ppk.sae))   /* the PPK sink's keys never leave the daemon */
			saes[n++] = (struct etsi_sae){ .id = c->saes[i].id, .has_uid = c->saes[i].has_uid,
		                             .uid = c->saes[i].uid, .has_gid = c->saes[i].has_gid,
		                             .gid = c->saes[i].gid, .cert_cn = c->saes[i].cert_cn };
	ec.unix_socket = c->etsi.unix_socket[0] ? c->etsi.unix_socket : NULL;
	ec.https = c->etsi.https[0] ? c->etsi.https : NULL;
	ec.tls_cert = c->etsi.tls_cert[0] ? c->etsi.tls_cert : NULL;
	ec.tls_key = c->etsi.tls_key[0] ? c->etsi.tls_key : NULL;
	ec.tls_ca = c->etsi.tls_ca[0] ? c->etsi.tls_ca : NULL;
	ec.insecure_http = c->etsi.insecure_http[0] ? c->etsi.insecure_http : NULL;
	ec.saes = saes;
	ec.n_saes = n;
	ec.limits = (struct etsi_limits){ .default_key_size = c->default_key_size,
	                                  .min_key_size = c->min_key_size,
	                                  .max_key_size = c->max_key_size,
	                                  .max_keys_per_request = c->max_keys_per_request };
	return etsi_start(&ec, ks, ret);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "import", no_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *config = DEFAULT_CONFIG;
	bool check = false, import = false;
	struct client_config *cfg = NULL;
	struct keysvc *ks = NULL;
	struct ctl *ctl = NULL;
	struct etsi *etsi = NULL;
	struct sink_keyring *keyring = NULL;
	struct sink_ppk *ppk = NULL;
	char err[CC_ERR_MAX];
	int opt, r, rc = 1, lockfd = -1;
	sigset_t sigs;

	log_setup("dske-clientd");
	while ((opt = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'C': check = true; break;
		case 'I': import = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("dske-clientd %s\n", DSKE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc && !import) {
		fprintf(stderr, "dske-clientd: unexpected argument '%s' (bundles go after --import)\n",
		        argv[optind]);
		return 2;
	}
	if (import && optind >= argc) {
		fprintf(stderr, "dske-clientd: --import needs at least one bundle file\n");
		return 2;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return 1;
	r = client_config_load(config, cfg, err);
	if (r < 0) {
		fprintf(stderr, "dske-clientd: %s\n", err);
		goto out;
	}
	if (check) {
		printf("%s: OK (client %s, %u hubs, k = %u, %u peers, %u local SAEs)\n", config,
		       cfg->name, cfg->nhubs, cfg->k, cfg->npeers, cfg->nsaes);
		rc = 0;
		goto out;
	}
	log_set_level((enum log_level)cfg->log_level);
	if (rng_init() < 0) {
		log_error("cannot initialise libsodium");
		goto out;
	}
	if (cfg->rng_source[0] && (r = rng_set_source(cfg->rng_source)) < 0) {
		(void)log_error_errno(r, "rng_source %s", cfg->rng_source);
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	if (lock_state(cfg->state_dir, &lockfd) < 0)
		goto out;
	if (keysvc_open(cfg, &ks) < 0)
		goto out;
	if (import) {
		rc = do_import(ks, argv + optind, argc - optind);
		goto out;
	}

	/* every thread created from here on inherits the blocked signals; main waits for them */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	log_info("dske-clientd %s starting: client %s, %u hubs, k = %u, entropy: %s", DSKE_VERSION,
	         cfg->name, cfg->nhubs, cfg->k, rng_source_name());
	if (sink_keyring_wanted(cfg) && sink_keyring_new(ks, &keyring) < 0)
		goto out;   /* logged why */
	if (sink_ppk_wanted(cfg) && sink_ppk_new(ks, &ppk) < 0)
		goto out;
	if (keysvc_start(ks, 2 * cfg->hub_timeout_ms) < 0)
		goto out;
	if (start_etsi(cfg, ks, &etsi) < 0)
		goto out;   /* etsi_start logged why */
	if (ppk && sink_ppk_start(ppk) < 0)
		goto out;
	r = client_ctl_start(ks, etsi, &ctl);
	if (r < 0) {
		(void)log_error_errno(r, "cannot serve the control socket %s", cfg->control_socket);
		goto out;
	}
	if (keyring && (r = sink_keyring_start(keyring)) < 0) {
		(void)log_error_errno(r, "cannot start keyring delivery");
		goto out;
	}
	sdnotify_ready();
	log_notice("ready: %u of %u hubs synchronised; control socket %s%s%s", hubset_synced_count(ks),
	           cfg->nhubs, cfg->control_socket, cfg->etsi.unix_socket[0] ? ", ETSI socket " : "",
	           cfg->etsi.unix_socket);
	for (;;) {
		int sig = 0;
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_notice("SIGHUP: configuration reload is not supported; restart to apply changes");
			continue;
		}
		log_notice("signal %d: stopping", sig);
		break;
	}
	sdnotify_stopping();
	rc = 0;
out:
	ctl_stop(ctl);
	etsi_stop(etsi);
	sink_keyring_free(keyring);
	sink_ppk_stop(ppk);
	keysvc_close(ks);
	sink_ppk_free(ppk);
	if (lockfd >= 0)
		close(lockfd);
	free(cfg);
	return rc;
}
