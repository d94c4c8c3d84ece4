/* dske-conf-keys — prints every key each daemon's config parser accepts, one per line:
 *   PAGE SECTION KEY        e.g. "dske-hub.conf.5 hub max_frame", "dske-client.conf.5 hub url"
 * (SECTION is the section kind: [hub] and [hub NAME] are both "hub"). tests/man-keys compares
 * this with the .conf(5) pages, so a key the parser accepts cannot go undocumented. A daemon whose
 * sources have not landed yet is left out (its header is absent). */
#include <stdio.h>
#include "common/config.h"

#if __has_include("hubd/hub_config.h")
#include "hubd/hub_config.h"
#define HAVE_HUB 1
#endif
#if __has_include("clientd/client_config.h")
#include "clientd/client_config.h"
#define HAVE_CLIENT 1
#endif

static void print_table(const char *page, const struct cfg_key *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s %s %s\n", page, t[i].section, t[i].key);
}

int main(void)
{
#ifdef HAVE_HUB
	print_table("dske-hub.conf.5", hub_config_keys, hub_config_nkeys);
#endif
#ifdef HAVE_CLIENT
	print_table("dske-client.conf.5", client_config_keys, client_config_nkeys);
#endif
	return ferror(stdout) ? 1 : 0;
}
