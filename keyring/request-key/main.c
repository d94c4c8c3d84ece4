/* dske-request-key — the kernel's request-key upcall handler for DSKE keys.
 *
 * /sbin/request-key runs it (via /etc/request-key.d/dske.conf) with authority over an
 * uninstantiated "user" key "dske:<peer>:<key_id>" that a consumer asked for with
 * request_key(2). It asks the local dske-clientd, which decides whether the requesting uid/gid
 * may have that key, and instantiates the key with the daemon's bytes and timeout, or rejects
 * it. The requester sleeps uninterruptibly meanwhile, so the whole run is bounded (--timeout,
 * default 5 s; a timer rejects the key with ETIMEDOUT if anything hangs), and every path ends
 * in instantiate, reject or negate, never in a bare exit (the kernel would cache a 60 s
 * negative key). Logs to syslog; stdio is /dev/null under the kernel. */
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <sodium.h>

#include "ask.h"
#include "desc.h"
#include "keyring.h"
#include "reqkey.h"

#define DEFAULT_SOCKET "/run/dske/clientd.sock"
#define DEFAULT_TIMEOUT_MS 5000u
#define MAX_TIMEOUT_MS 30000u
/* the daemon must answer this much before our own deadline, and curl gives up this much
 * before the timer fires, so that the answer still reaches the kernel */
#define DAEMON_MARGIN_MS 300u
#define CURL_MARGIN_MS 150u

static volatile key_serial_t alarm_key;

static void on_alarm(int sig)
{
	(void)sig;
	/* async-signal-safe: keyctl_reject is one keyctl(2) system call */
	if (alarm_key > 0)
		keyctl_reject(alarm_key, REQKEY_NEG_TIMEOUT_TRANSIENT, ETIMEDOUT,
		              KEY_REQKEY_DEFL_DEFAULT);
	_exit(3);
}

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: dske-request-key [OPTION]... KEY DESCRIPTION CALLOUT UID GID\n"
	        "The request-key(8) handler for DSKE keys \"dske:<peer>:<key_id>\": asks dske-clientd\n"
	        "for the key and instantiates or rejects KEY. Run by the kernel, through\n"
	        "/etc/request-key.d/dske.conf:\n"
	        "  create user dske:* * /usr/sbin/dske-request-key %%k %%d %%c %%u %%g\n"
	        "\n"
	        "  -s, --socket PATH    dske-clientd control socket (default " DEFAULT_SOCKET ")\n"
	        "  -p, --prefix PREFIX  description prefix (default " KEYRING_DESC_PREFIX ")\n"
	        "  -t, --timeout SECS   upper bound on the whole run, 0.1..30 (default 5)\n"
	        "  -h, --help           this text\n"
	        "  -V, --version        the version\n");
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* seconds with up to three decimals, e.g. "5" or "0.5" -> milliseconds */
static int parse_timeout(const char *s, unsigned *ret_ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.1) || v > MAX_TIMEOUT_MS / 1000.0)
		return -EINVAL;
	*ret_ms = (unsigned)(v * 1000.0 + 0.5);
	return 0;
}

static unsigned elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

static void answer_reject_for(key_serial_t key, int err, unsigned tmo, const char *desc,
                              const char *why)
{
	if (keyctl_reject(key, tmo, (unsigned)err, KEY_REQKEY_DEFL_DEFAULT) < 0)
		syslog(LOG_ERR, "%s: cannot reject key %d: %m", desc, key);
	else
		syslog(LOG_NOTICE, "%s: refused (%s, cached %u s): %s", desc, strerror(err), tmo, why);
}

static void answer_reject(key_serial_t key, int err, const char *desc, const char *why)
{
	answer_reject_for(key, err, reqkey_negative_timeout(err), desc, why);
}

/* The requester's key really is the one argv names (we hold authority over it). */
static int key_matches(key_serial_t key, const char *desc, uid_t uid, gid_t gid)
{
	struct keyring_describe kd;
	char *d = NULL;
	int r = -EINVAL;

	if (keyctl_describe_alloc(key, &d) < 0) {
		r = -errno;
		goto out;
	}
	if (keyring_describe_parse(d, &kd) < 0 || strcmp(kd.type, "user") != 0 ||
	    strcmp(kd.desc, desc) != 0 || kd.uid != uid || kd.gid != gid)
		goto out;
	r = 0;
out:
	free(d);
	return r;
}

/* Nothing below needs a capability; the kernel gave us all of them. */
static void caps_drop(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		syslog(LOG_WARNING, "cannot drop capabilities: %m");
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *socket_path = DEFAULT_SOCKET, *prefix = KEYRING_DESC_PREFIX, *desc;
	unsigned bound_ms = DEFAULT_TIMEOUT_MS, left;
	struct reqkey_request rq = { 0 };
	struct ask_answer ans = { 0 };
	struct itimerval itv = { 0 };
	struct timespec t0;
	unsigned long v;
	key_serial_t key;
	struct iovec iov;
	int c, r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	while ((c = getopt_long(argc, argv, "s:p:t:hV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 'p':
			prefix = optarg;
			break;
		case 't':
			if (parse_timeout(optarg, &bound_ms) < 0) {
				fprintf(stderr, "dske-request-key: bad --timeout '%s' (0.1..30 seconds)\n",
				        optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("dske-request-key %s\n", DSKE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 5) {
		fprintf(stderr, "dske-request-key: expected KEY DESCRIPTION CALLOUT UID GID\n");
		usage(stderr);
		return 2;
	}
	if (!keyring_prefix_valid(prefix)) {
		fprintf(stderr, "dske-request-key: bad --prefix '%s' (1..32 of [a-z0-9._-])\n", prefix);
		return 2;
	}
	if (parse_ulong(argv[optind], INT32_MAX, &v) < 0 || v == 0) {
		fprintf(stderr, "dske-request-key: bad key serial '%s'\n", argv[optind]);
		return 2;
	}
	key = (key_serial_t)v;
	desc = argv[optind + 1];
	openlog("dske-request-key", LOG_PID, LOG_DAEMON);

	/* from here on every path instantiates or rejects the key */
	alarm_key = key;
	signal(SIGALRM, on_alarm);
	itv.it_value.tv_sec = bound_ms / 1000;
	itv.it_value.tv_usec = (bound_ms % 1000) * 1000;
	setitimer(ITIMER_REAL, &itv, NULL);

	if (parse_ulong(argv[optind + 3], UINT32_MAX - 1, &v) < 0) {
		answer_reject(key, EKEYREJECTED, desc, "bad requester uid");
		return 1;
	}
	rq.uid = (uid_t)v;
	if (parse_ulong(argv[optind + 4], UINT32_MAX - 1, &v) < 0) {
		answer_reject(key, EKEYREJECTED, desc, "bad requester gid");
		return 1;
	}
	rq.gid = (gid_t)v;
	if (keyring_desc_parse(desc, strlen(desc), prefix, rq.peer, rq.key_id) < 0) {
		answer_reject(key, EKEYREJECTED, desc, "not a DSKE key description");
		return 1;
	}
	r = key_matches(key, desc, rq.uid, rq.gid);
	if (r < 0) {
		answer_reject(key, EKEYREJECTED, desc,
		              r == -EINVAL ? "arguments do not match the key" :
		              "cannot describe the key (not run by request-key?)");
		return 1;
	}
	/* permission first: for another uid's key it takes CAP_SYS_ADMIN, which we drop next.
	 * No group byte: the key is the requester's alone. */
	if (keyctl_setperm(key, KEYRING_PERM_NOGROUP) < 0)
		syslog(LOG_WARNING, "%s: cannot set permission: %m", desc);
	caps_drop();

	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK) {
		answer_reject(key, EAGAIN, desc, "cannot initialise libsodium or libcurl");
		return 1;
	}
	left = bound_ms - elapsed_ms(&t0);
	if (left <= bound_ms && left > CURL_MARGIN_MS + DAEMON_MARGIN_MS) {
		left -= CURL_MARGIN_MS;
		rq.timeout_ms = left - DAEMON_MARGIN_MS;
		r = ask_daemon(socket_path, &rq, left, &ans);
	} else {
		ans.err = ETIMEDOUT;
		snprintf(ans.msg, sizeof(ans.msg), "no time left");
	}
	if (ans.err) {
		char why[256];
		if (ans.status)
			snprintf(why, sizeof(why), "dske-clientd said %ld %s", ans.status, ans.msg);
		else
			snprintf(why, sizeof(why), "%s%s", ans.daemon_down ? "dske-clientd not answering: " : "",
			         ans.msg);
		answer_reject_for(key, ans.err, ans.daemon_down ? REQKEY_NEG_TIMEOUT_TRANSIENT :
		                  reqkey_negative_timeout(ans.err), desc, why);
		ask_answer_clear(&ans);
		return 1;
	}
	if (ans.timeout_s > 0 && keyctl_set_timeout(key, ans.timeout_s) < 0)
		syslog(LOG_WARNING, "%s: cannot set timeout: %m", desc);
	iov.iov_base = ans.key;
	iov.iov_len = ans.len;
	r = (int)keyctl_instantiate_iov(key, &iov, 1, KEY_REQKEY_DEFL_DEFAULT);
	ask_answer_clear(&ans);
	alarm_key = 0;
	if (r < 0) {
		syslog(LOG_ERR, "%s: cannot instantiate key %d: %m", desc, key);
		keyctl_reject(key, REQKEY_NEG_TIMEOUT_TRANSIENT, EKEYREJECTED, KEY_REQKEY_DEFL_DEFAULT);
		return 1;
	}
	syslog(LOG_INFO, "%s: delivered to uid %u (timeout %u s)", desc, (unsigned)rq.uid,
	       ans.timeout_s);
	return 0;
}
