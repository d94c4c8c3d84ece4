/* client_conf_helper.c — #included by the unit tests of client.conf parsing (test_client_config,
 * test_ppk_config, test_sink_keyring): load a configuration text through the real path-based
 * loader, and check a FILE:LINE error. Needs cmocka, clientd/client_config.h and the libc
 * headers included before it. */

static char path[64];

static int load(const char *text, struct client_config *c, char *err)
{
	snprintf(path, sizeof(path), "/tmp/test_client_conf.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	int r = client_config_load(path, c, err);
	unlink(path);
	return r;
}

/* err must be "<path>:<line>: ..." (line 0: "<path>: ...") containing want */
static inline void expect_error(const char *text, unsigned line, const char *want)
{
	struct client_config *c = calloc(1, sizeof(*c));
	char err[CC_ERR_MAX], prefix[96];
	assert_int_equal(load(text, c, err), -EINVAL);
	if (line)
		snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", path);
	if (strncmp(err, prefix, strlen(prefix)) || !strstr(err, want))
		fail_msg("error \"%s\": want prefix \"%s\" and \"%s\"", err, prefix, want);
	free(c);
}
