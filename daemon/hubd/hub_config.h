/* hub_config.h — /etc/dske/hub.conf (internals.md section 5), strict: unknown keys and sections
 * are errors reported as FILE:LINE. hub_config_keys is the complete list of keys (the man page
 * dske-hub.conf(5) documents each; a unit test compares them). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/config.h"
#include "common/log.h"
#include "core/names.h"

#define HUB_CONF_DEFAULT SYSCONFDIR "/dske/hub.conf"

struct hub_config {
	char name[DSKE_NAME_MAX + 1];      /* required */
	char listen[256];                  /* in-band HTTP "host:port" */
	char state_dir[4096];
	char control_socket[108];
	uint64_t max_frame;                /* bytes */
	uint64_t share_ttl_ms;             /* upper bound on a share's life */
	uint64_t max_shares;               /* pending shares stored at once */
	uint64_t max_redeliveries;         /* deliveries of one share beyond the first */
	bool psrd_audit;                   /* keep the .audit allocation files */
	uint64_t low_water;                /* warn when a stream has fewer bytes left */
	enum log_level log_level;
	char tls_cert[4096];               /* optional TLS on the in-band listener */
	char tls_key[4096];
};

extern const struct cfg_key hub_config_keys[];
extern const size_t hub_config_nkeys;

void hub_config_defaults(struct hub_config *c);
/* Load path over the defaults. 0, or -errno with err = "FILE:LINE: message". */
int hub_config_load(const char *path, struct hub_config *c, char *err, size_t errlen);
