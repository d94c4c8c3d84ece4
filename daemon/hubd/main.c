/* dske-hubd — DSKE hub daemon: holds PSRD with every registered client, stores the key shares
 * initiators send and relays each, re-encrypted, to the named responder only. */
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
#include "common/log.h"
#include "common/sdnotify.h"
#include "hubd/hub.h"
#include "hubd/hub_ctl.h"
#include "hubd/hub_http.h"

#define SWEEP_INTERVAL_S 10

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: dske-hubd [-c FILE] [--check-config] [--foreground]\n"
	        "       dske-hubd [-c FILE] --import BUNDLE...\n"
	        "DSKE hub daemon: stores the key shares clients send and relays them to the\n"
	        "responder they are meant for, authenticated and one-time-pad encrypted with PSRD.\n\n"
	        "  -c, --config FILE   configuration file (default %s)\n"
	        "      --check-config  check the configuration and exit\n"
	        "      --import        import the hub halves of PSRD bundles into the state\n"
	        "                      directory and exit (the daemon must not be running; at run\n"
	        "                      time use dskectl import)\n"
	        "      --foreground    stay in the foreground (the default; for systemd)\n"
#ifdef DSKE_TEST_FAULTS
	        "      --fault corrupt-shares  TEST BUILD: corrupt every share relayed\n"
#endif
	        "  -h, --help          this help\n"
	        "  -V, --version       version\n", HUB_CONF_DEFAULT);
}

/* One daemon (or importer) per state directory. */
static int lock_state_dir(const char *dir, int *ret_fd)
{
	char path[4200];
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	*ret_fd = fd;
	return 0;
}

static int do_import(const struct hub_config *cfg, char **files, int nfiles)
{
	struct hub_registry *reg = NULL;
	char err[512];
	int lockfd = -1, r, failed = 0;

	r = lock_state_dir(cfg->state_dir, &lockfd);
	if (r < 0) {
		fprintf(stderr, "dske-hubd: %s: %s\n", cfg->state_dir,
		        r == -EBUSY ? "the hub is running; import with dskectl import (POST /v1/import)"
		                    : strerror(-r));
		return 1;
	}
	r = hub_registry_open(cfg->state_dir, cfg->name, cfg->psrd_audit, &reg, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "dske-hubd: %s\n", err);
		close(lockfd);
		return 1;
	}
	for (int i = 0; i < nfiles; i++) {
		struct hub_import_result res;
		r = hub_registry_import_file(reg, files[i], &res, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "dske-hubd: %s: %s\n", files[i], err);
			failed++;
		} else if (res.already) {
			printf("%s: block %u for client %s was already imported; nothing changed\n",
			       files[i], res.block_id, res.client);
		} else {
			printf("%s: client %s, block %u imported (%llu bytes client->hub, %llu bytes "
			       "hub->client)%s\n", files[i], res.client, res.block_id,
			       (unsigned long long)res.c2h_len, (unsigned long long)res.h2c_len,
			       res.new_client ? "; client registered" : "");
			log_info("imported %s: client %s block %u", files[i], res.client, res.block_id);
		}
	}
	hub_registry_close(reg);
	close(lockfd);
	return failed ? 1 : 0;
}

static int run(const struct hub_config *cfg, bool fault_corrupt)
{
	struct hub *h = NULL;
	struct httpd *http = NULL;
	struct ctl *ctl = NULL;
	char err[512];
	sigset_t set;
	int lockfd = -1, r, sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);   /* before any thread starts */
	signal(SIGPIPE, SIG_IGN);

	r = lock_state_dir(cfg->state_dir, &lockfd);
	if (r < 0) {
		log_error("%s: %s", cfg->state_dir,
		          r == -EBUSY ? "in use by another dske-hubd" : strerror(-r));
		return 1;
	}
	r = hub_open(cfg, &h, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
#ifdef DSKE_TEST_FAULTS
	if (fault_corrupt) {
		hub_set_fault_corrupt(h);
		log_warn("TEST BUILD: corrupting every share this hub relays");
	}
#endif
	for (size_t i = 0; i < hub_registry_count(h->reg); i++) {
		struct hub_client *c = hub_registry_get(h->reg, i);
		struct psrd_info tx, rx;
		psrd_stream_info(c->h2c, &tx);
		psrd_stream_info(c->c2h, &rx);
		log_info("client %s: %u SAE(s), hub index %u, PSRD left %llu hub->client, %llu "
		         "client->hub", c->name, c->sae_count, c->hub_index,
		         (unsigned long long)tx.remaining, (unsigned long long)rx.remaining);
	}
	{
		struct hub_shares_stats st;
		hub_shares_get_stats(h->shares, &st);
		log_info("hub %s: %zu client(s) registered, %llu share(s) pending%s", cfg->name,
		         hub_registry_count(h->reg), (unsigned long long)st.stored,
		         st.dropped_at_open ? " (torn records dropped at open)" : "");
	}
	r = hub_http_start(h, &http, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	r = hub_ctl_start(h, &ctl, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	log_notice("hub %s listening on %s (port %u), control socket %s", cfg->name, cfg->listen,
	           h->port, cfg->control_socket);
	hub_check_low_water(h);
	sdnotify_ready();
	for (;;) {
		struct timespec ts = { SWEEP_INTERVAL_S, 0 };
		uint64_t expired = 0;
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP) {
			log_info("SIGHUP: nothing to reload (restart to apply configuration changes)");
			continue;
		}
		hub_check_low_water(h);
		r = hub_shares_sweep(h->shares, hub_shares_now(), &expired);
		if (r < 0)
			log_msg(LOG_LVL_ERR, r, "share store sweep");
		else if (expired)
			log_info("%llu share(s) expired and wiped", (unsigned long long)expired);
	}
	log_notice("signal %s: stopping", strsignal(sig));
	sdnotify_stopping();
	r = 0;
out:
	if (h)
		hub_shares_stop(h->shares);   /* wake long polls so the HTTP threads can end */
	ctl_stop(ctl);
	httpd_stop(http);
	hub_close(h);
	if (lockfd >= 0)
		close(lockfd);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_IMPORT, OPT_FOREGROUND, OPT_FAULT };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "import", no_argument, NULL, OPT_IMPORT },
		{ "foreground", no_argument, NULL, OPT_FOREGROUND },
#ifdef DSKE_TEST_FAULTS
		{ "fault", required_argument, NULL, OPT_FAULT },
#endif
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *conf = HUB_CONF_DEFAULT;
	bool check = false, import = false, fault = false;
	struct hub_config cfg;
	char err[512];
	int c;

	log_setup("dske-hubd");
	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case OPT_CHECK: check = true; break;
		case OPT_IMPORT: import = true; break;
		case OPT_FOREGROUND: break;
		case OPT_FAULT:
			if (strcmp(optarg, "corrupt-shares") != 0) {
				fprintf(stderr, "dske-hubd: unknown fault \"%s\" (corrupt-shares)\n", optarg);
				return 2;
			}
			fault = true;
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("dske-hubd %s\n", DSKE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (import && optind >= argc) {
		fprintf(stderr, "dske-hubd: --import needs at least one bundle file\n");
		return 2;
	}
	if (!import && optind < argc) {
		fprintf(stderr, "dske-hubd: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "dske-hubd: libsodium initialisation failed\n");
		return 1;
	}
	hub_config_defaults(&cfg);
	if (hub_config_load(conf, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "dske-hubd: %s\n", err);
		return 1;
	}
	if (check) {
		printf("%s: ok (hub %s, listen %s, state %s)\n", conf, cfg.name, cfg.listen, cfg.state_dir);
		return 0;
	}
	log_set_level(cfg.log_level);
	if (import)
		return do_import(&cfg, argv + optind, argc - optind);
	return run(&cfg, fault);
}
