/* fuzz_config.c — both daemons' configuration loaders (inih + the key tables + validation) on
 * arbitrary file contents, passed through a memfd so the real path-based loaders run unchanged.
 * The first byte picks the loader. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "clientd/client_config.h"
#include "hubd/hub_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct client_config cc;
	static struct hub_config hc;
	char path[64], err[CC_ERR_MAX];
	int fd;

	if (size < 1)
		return 0;
	fd = memfd_create("fuzz_config", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (data[0] & 1)
		(void)client_config_load(path, &cc, err);
	else
		(void)hub_config_load(path, &hc, err, sizeof(err));
	close(fd);
	return 0;
}
