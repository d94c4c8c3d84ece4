/* sdnotify.c — see sdnotify.h */
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include "common/sdnotify.h"

void sdnotify_ready(void)
{
	sd_notify(0, "READY=1");
}

void sdnotify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void sdnotify_status(const char *status)
{
	sd_notifyf(0, "STATUS=%s", status);
}
