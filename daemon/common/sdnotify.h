/* sdnotify.h — systemd readiness notification (libsystemd sd_notify). No-ops when not run by
 * systemd (NOTIFY_SOCKET unset). */
#pragma once

void sdnotify_ready(void);                 /* READY=1 */
void sdnotify_stopping(void);              /* STOPPING=1 */
void sdnotify_status(const char *status);  /* STATUS=... */
