/* test-notify.c: sd_notify messages arrive on a real datagram socket named by NOTIFY_SOCKET (path and abstract). */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "daemon/notify.h"

static int sock = -1;
static char dir[] = "/tmp/pw-notify-XXXXXX";
static char path[sizeof(dir) + 16];

/* Binds a datagram socket at path (or "@name": abstract) and points NOTIFY_SOCKET at it. */
static void
listen_at(const char *where)
{
	struct sockaddr_un sa;
	socklen_t len;
	struct timeval tv = { .tv_sec = 5 };
	size_t n = strlen(where);

	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert(sock >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, where, n);
	if (where[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (where[0] == '@' ? 0 : 1));
	cr_assert_eq(bind(sock, (struct sockaddr *)&sa, len), 0, "bind %s: %s", where, strerror(errno));
	/* A missing message fails the test instead of hanging it. */
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(setenv("NOTIFY_SOCKET", where, 1), 0);
}

static void
expect_message(const char *want)
{
	char buf[4096];
	ssize_t n = recv(sock, buf, sizeof(buf) - 1, 0);

	cr_assert(n >= 0, "no message (wanted '%s'): %s", want, strerror(errno));
	buf[n] = '\0';
	cr_assert_str_eq(buf, want);
}

static void
setup_path(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	listen_at(path);
}

static void
teardown(void)
{
	if (sock >= 0)
		close(sock);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (path[0] != '\0') {
		unlink(path);
		rmdir(dir);
	}
}

Test(notify, messages_on_a_path_socket, .init = setup_path, .fini = teardown)
{
	cr_assert_eq(notify_ready(), 1);
	expect_message("READY=1");
	cr_assert_eq(notify_status("crawling %d source(s)\nnext in %ds", 3, 20), 1);
	expect_message("STATUS=crawling 3 source(s) next in 20s");
	cr_assert_eq(notify_watchdog(), 1);
	expect_message("WATCHDOG=1");
	cr_assert_eq(notify_stopping(), 1);
	expect_message("STOPPING=1");
	cr_assert_eq(notify_send("READY=1\nSTATUS=custom"), 1);
	expect_message("READY=1\nSTATUS=custom");
}

Test(notify, reloading_carries_the_monotonic_time, .init = setup_path, .fini = teardown)
{
	char buf[256];
	ssize_t n;

	cr_assert_eq(notify_reloading(), 1);
	n = recv(sock, buf, sizeof(buf) - 1, 0);
	cr_assert(n > 0);
	buf[n] = '\0';
	cr_assert_eq(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27), 0, "%s", buf);
	cr_assert(strspn(buf + 27, "0123456789") == strlen(buf + 27) && buf[27] != '\0', "%s", buf);
}

Test(notify, abstract_namespace, .fini = teardown)
{
	char name[64];

	snprintf(name, sizeof(name), "@pw-notify-test-%ld", (long)getpid());
	listen_at(name);
	cr_assert_eq(notify_ready(), 1);
	expect_message("READY=1");
}

Test(notify, unset_socket_is_a_no_op)
{
	unsetenv("NOTIFY_SOCKET");
	cr_assert_eq(notify_ready(), 0);
	cr_assert_eq(notify_status("x"), 0);
}

Test(notify, bad_or_missing_socket_is_an_error_not_a_crash, .fini = teardown)
{
	char longname[200];

	setenv("NOTIFY_SOCKET", "relative/path", 1);
	cr_assert_eq(notify_ready(), -1);
	cr_assert_eq(errno, EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longname, 1);
	cr_assert_eq(notify_ready(), -1);
	setenv("NOTIFY_SOCKET", "/nonexistent/pricewatch/notify", 1);
	cr_assert_eq(notify_ready(), -1);
	cr_assert(errno == ENOENT, "%s", strerror(errno));
}

Test(notify, watchdog_interval, .fini = teardown)
{
	int64_t ms = 0;
	char pid[32];

	unsetenv("WATCHDOG_USEC");
	cr_assert_not(notify_watchdog_ms(&ms));
	setenv("WATCHDOG_USEC", "120000000", 1);
	cr_assert(notify_watchdog_ms(&ms));
	cr_assert_eq(ms, 120000);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	cr_assert(notify_watchdog_ms(&ms));
	setenv("WATCHDOG_PID", "1", 1);          /* another process is watched, not us */
	cr_assert_not(notify_watchdog_ms(&ms));
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "junk", 1);
	cr_assert_not(notify_watchdog_ms(&ms));
	setenv("WATCHDOG_USEC", "0", 1);
	cr_assert_not(notify_watchdog_ms(&ms));
}
