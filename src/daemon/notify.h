/* notify.h: the systemd readiness protocol (sd_notify) spoken directly on $NOTIFY_SOCKET, without libsystemd. */
#ifndef PW_DAEMON_NOTIFY_H
#define PW_DAEMON_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Each call sends one datagram to the unix socket named by $NOTIFY_SOCKET (a
 * path, or "@name" for the abstract namespace). Returns 1 when sent, 0 when
 * $NOTIFY_SOCKET is unset (not started by systemd, or not Type=notify: a no-op),
 * and -1 with errno set when the send failed; the daemon logs and carries on.
 */
int notify_send(const char *state);           /* raw "KEY=VALUE\n..." text */
int notify_ready(void);                       /* READY=1 */
int notify_reloading(void);                   /* RELOADING=1 (send notify_ready when done) */
int notify_stopping(void);                    /* STOPPING=1 */
int notify_watchdog(void);                    /* WATCHDOG=1 */
/* STATUS=<text> (newlines in the text become spaces, since they would end the field). */
int notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The watchdog interval systemd expects pings within ($WATCHDOG_USEC, for this
 * process when $WATCHDOG_PID is set), in milliseconds; false when no watchdog is
 * enabled. Ping at least every half of it.
 */
bool notify_watchdog_ms(int64_t *ms);

#endif
