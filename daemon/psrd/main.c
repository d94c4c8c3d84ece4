/* dske-psrd — make and inspect PROVISION bundles (the out-of-band half of DSKE).
 *   dske-psrd make --hub NAME --hub-index N --hub-url URL --client NAME --sae ID... --size SIZE
 *                  [--block-id N] [--offset OFF] [--source PATH] --out DIR
 *   dske-psrd inspect [--json] FILE...
 * See man/dske-psrd.1. */
#include <stdio.h>
#include <string.h>
#include "psrd/psrd_tool.h"

void psrd_usage(FILE *out)
{
	fprintf(out,
	        "Usage: dske-psrd make --hub NAME --hub-index N --hub-url URL --client NAME\n"
	        "                      --sae ID [--sae ID ...] --size SIZE [--block-id N]\n"
	        "                      [--offset OFF] [--source PATH] --out DIR\n"
	        "       dske-psrd inspect [--json] FILE...\n"
	        "       dske-psrd --help | --version\n"
	        "\n"
	        "make     generates Pre-Shared Random Data for one (hub, client) pair and writes two\n"
	        "         bundles with identical random data and registration, mode 0600, never\n"
	        "         overwriting a file:\n"
	        "           DIR/HUB-CLIENT.hub.bundle     import on the hub\n"
	        "           DIR/HUB-CLIENT.client.bundle  import on the client\n"
	        "         (block N > 1: DIR/HUB-CLIENT.blockN.hub.bundle and .client.bundle)\n"
	        "inspect  verifies a bundle and prints what it holds except the random bytes\n"
	        "\n"
	        "Options of make:\n"
	        "  --hub NAME        hub KME name ([a-z0-9._-], 1..64 bytes)\n"
	        "  --hub-index N     the hub's Shamir x coordinate, 1..255\n"
	        "  --hub-url URL     the hub's in-band endpoint (http:// or https://)\n"
	        "  --client NAME     client KME name\n"
	        "  --sae ID          an SAE ID the client serves (repeat; up to 32)\n"
	        "  --size SIZE       bytes per stream (C->H and H->C each), e.g. 64M; 4K..1G\n"
	        "  --block-id N      block number of this pair, default 1 (N > 1 needs --offset)\n"
	        "  --offset OFF      start offset of the block in both streams, default 0\n"
	        "  --source PATH     read the random data raw from a device or file (a QRNG,\n"
	        "                    /dev/hwrng); default: getrandom through libsodium, which is\n"
	        "                    computational, not information-theoretically secure\n"
	        "  --out DIR         existing directory for the two bundles\n"
	        "Options of inspect:\n"
	        "  --json            print JSON instead of text\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		psrd_usage(stderr);
		return PSRD_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		psrd_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("dske-psrd %s\n", DSKE_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "make"))
		return psrd_make_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "inspect"))
		return psrd_inspect_main(argc - 1, argv + 1);
	fprintf(stderr, "dske-psrd: unknown command '%s' (try --help)\n", argv[1]);
	return PSRD_EXIT_USAGE;
}
