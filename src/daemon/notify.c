/* notify.c: sends sd_notify datagrams (READY, RELOADING, STOPPING, WATCHDOG, STATUS) to $NOTIFY_SOCKET. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "daemon/notify.h"

/* systemd's own limit for a notification is far larger; ours are short. */
#define NOTIFY_MAX 4096

int
notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t salen;
	size_t len;
	ssize_t n;
	int fd, saved;

	if (path == NULL || path[0] == '\0')
		return 0;
	len = strlen(path);
	/* "@name" is the abstract namespace: a leading NUL and no terminator. */
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path) || len < 2) {
		errno = EINVAL;
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '@' ? 0 : 1));

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	saved = errno;
	close(fd);
	if (n < 0) {
		errno = saved;
		return -1;
	}
	return 1;
}

int
notify_ready(void)
{
	return notify_send("READY=1");
}

int
notify_reloading(void)
{
	struct timespec ts;
	char msg[96];

	/* systemd 253 (Type=notify-reload) wants the monotonic time with RELOADING=1; older ones ignore it. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
	return notify_send(msg);
}

int
notify_stopping(void)
{
	return notify_send("STOPPING=1");
}

int
notify_watchdog(void)
{
	return notify_send("WATCHDOG=1");
}

int
notify_status(const char *fmt, ...)
{
	char msg[NOTIFY_MAX];
	va_list ap;
	int n;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return 0;
	memcpy(msg, "STATUS=", 7);
	va_start(ap, fmt);
	n = vsnprintf(msg + 7, sizeof(msg) - 7, fmt, ap);
	va_end(ap);
	if (n < 0) {
		errno = EINVAL;
		return -1;
	}
	for (char *p = msg + 7; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	return notify_send(msg);
}

bool
notify_watchdog_ms(int64_t *ms)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	int64_t u, p;

	if (usec == NULL || !parse_int64(usec, 1, INT64_MAX, &u))
		return false;
	/* WATCHDOG_PID names the process systemd watches; a child that inherited it must stay quiet. */
	if (pid != NULL && (!parse_int64(pid, 1, INT64_MAX, &p) || p != (int64_t)getpid()))
		return false;
	*ms = u / 1000 > 0 ? u / 1000 : 1;
	return true;
}
