/* test-ops-daemon.c: the real pricewatchd as systemd runs it: sd_notify, its admin endpoint, and the signals TERM, HUP and USR1. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "harness/http-get.h"

#define TOKEN "daemon-test-token"
#define LISTING "demo:sku:HT-KET-17"

static char dir[] = "/tmp/pw-opsd-XXXXXX";
static char conf[128], notify_path[128], token_path[160], log_path[160];
static int notify_fd = -1;
static unsigned port;
static pid_t daemon_pid;

#define KETTLE_SOURCE "[source \"demo\"]\nurl = file://%1$s/data/demo/shop/kettle.html\ninterval = 1h\n"
#define TEAPOT_SOURCE "[source \"teapot\"]\nurl = file://%1$s/data/demo/shop/teapot.html\ninterval = 1h\n"

/*
 * One test at a time: each runs a whole daemon with its own redis-server, and
 * Criterion's runner (2.4) leaks a little when several long tests end at once,
 * which fails the sanitizer build. Criterion reads CRITERION_JOBS in its main(),
 * after constructors; an explicit setting in the environment wins.
 */
__attribute__((constructor)) static void
one_job_at_a_time(void)
{
	setenv("CRITERION_JOBS", "1", 0);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/* Waits (at most 60 s, so a broken daemon fails instead of hanging) for a message starting with want. */
static void
expect_notify(const char *want)
{
	char buf[4096];

	for (int i = 0; i < 60; i++) {
		ssize_t n = recv(notify_fd, buf, sizeof(buf) - 1, 0);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		cr_assert(n >= 0, "recv: %s", strerror(errno));
		buf[n] = '\0';
		if (strncmp(buf, want, strlen(want)) == 0)
			return;
		/* STATUS= and WATCHDOG=1 arrive in between; they are checked elsewhere. */
	}
	cr_assert_fail("no %s from the daemon", want);
}

/* GETs path on port with token; returns the status (0: no connection), the body in *body (caller frees). */
static long
get_at(unsigned at, const char *token, const char *path, char **body)
{
	char url[256];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", at, path);
	return test_http_get(url, token, body);
}

/* The token get() sends; a test that changes the daemon's token changes it too. */
static const char *token = TOKEN;

/* GETs path on the daemon's admin port with the current token. */
static long
get(const char *path, char **body)
{
	return get_at(port, token, path, body);
}

/*
 * Writes the daemon's configuration: state dir, admin endpoint on admin_port
 * with the token file, a log file, then the given sources (printf format whose
 * %1$s is the source tree) and any extra [daemon] lines.
 */
static void
write_conf(unsigned admin_port, const char *extra, const char *sources)
{
	const char *src = getenv("PW_TOP_SRCDIR");
	char text[4096], srcs[2048];
	int n;

	n = snprintf(text, sizeof(text),
	    "[daemon]\nstate-dir = %s/state\nadmin-listen = 127.0.0.1:%u\nadmin-token-file = admin.token\n"
	    "log-file = daemon.log\n%s", dir, admin_port, extra);
	cr_assert(n > 0 && (size_t)n < sizeof(text));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(srcs, sizeof(srcs), sources, src);
#pragma GCC diagnostic pop
	cr_assert(strlen(text) + strlen(srcs) < sizeof(text));
	memcpy(text + strlen(text), srcs, strlen(srcs) + 1);
	write_file(conf, text);
}

/* Reads a whole small file (the daemon's log); "" when it does not exist. Caller frees. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	cr_assert_not_null(buf);
	if (f == NULL)
		return buf;
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Polls (at most 60 s) until path contains want. */
static void
expect_in_file(const char *path, const char *want)
{
	for (int i = 0; i < 600; i++) {
		char *text = slurp(path);
		bool found = strstr(text, want) != NULL;

		free(text);
		if (found)
			return;
		usleep(100 * 1000);
	}
	cr_assert_fail("%s never contained '%s'", path, want);
}

/* Polls /metrics (at most 90 s) until it contains want (or, with absent, no longer contains it). */
static void
expect_metrics(const char *want, bool absent)
{
	for (int i = 0; i < 180; i++) {
		char *body = NULL;
		bool found;

		if (get("/metrics", &body) == 200) {
			found = strstr(body, want) != NULL;
			if (found != absent) {
				free(body);
				return;
			}
		}
		free(body);
		usleep(500 * 1000);
	}
	cr_assert_fail("/metrics %s '%s'", absent ? "still has" : "never had", want);
}

/* The daemon's real /metrics through `promtool check metrics` (Debian package prometheus), when installed. */
static void
promtool_check(void)
{
	char path[200], cmd[400], *body = NULL;
	int status;

	if (access("/usr/bin/promtool", X_OK) != 0)
		return;
	cr_assert_eq(get("/metrics", &body), 200);
	snprintf(path, sizeof(path), "%s/metrics.txt", dir);
	write_file(path, body);
	snprintf(cmd, sizeof(cmd), "/usr/bin/promtool check metrics < %s", path);
	status = system(cmd);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "promtool check metrics failed on:\n%s", body);
	free(body);
}

/* HUP and the RELOADING=1 / READY=1 pair systemd waits for. */
static void
reload_daemon(void)
{
	cr_assert_eq(kill(daemon_pid, SIGHUP), 0);
	expect_notify("RELOADING=1");
	expect_notify("READY=1");
}

/* TERM; the daemon must be gone within 30 s (a bound on draining, not a timing measurement) with status 0. */
static void
stop_daemon(void)
{
	int wstatus = 0;
	pid_t got = 0;

	cr_assert_eq(kill(daemon_pid, SIGTERM), 0);
	for (int i = 0; i < 300 && got == 0; i++) {
		got = waitpid(daemon_pid, &wstatus, WNOHANG);
		if (got == 0)
			usleep(100 * 1000);
	}
	cr_assert_eq(got, daemon_pid, "pricewatchd did not exit within 30 s of SIGTERM");
	cr_assert(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "exit status %d", wstatus);
	daemon_pid = 0;
}

/* Extra configuration the daemon starts with (set by an .init before calling up). */
static const char *up_extra = "";

static void
up(void)
{
	const char *src = getenv("PW_TOP_SRCDIR"), *build = getenv("PW_TOP_BUILDDIR");
	char bin[512];
	struct sockaddr_un sa;
	struct timeval tv = { .tv_sec = 1 };

	cr_assert_not_null(src, "PW_TOP_SRCDIR unset");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	token = TOKEN;
	cr_assert_not_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/pricewatch.conf", dir);
	snprintf(token_path, sizeof(token_path), "%s/admin.token", dir);
	snprintf(log_path, sizeof(log_path), "%s/daemon.log", dir);
	snprintf(notify_path, sizeof(notify_path), "%s/notify", dir);
	port = test_free_port();
	write_file(token_path, TOKEN "\n");
	write_conf(port, up_extra, KETTLE_SOURCE);

	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	cr_assert(strlen(notify_path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, notify_path, strlen(notify_path) + 1);
	cr_assert_eq(bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(notify_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	snprintf(bin, sizeof(bin), "%s/pricewatchd", build != NULL ? build : ".");
	daemon_pid = fork();
	cr_assert(daemon_pid >= 0);
	if (daemon_pid == 0) {
		setenv("NOTIFY_SOCKET", notify_path, 1);
		setenv("WATCHDOG_USEC", "2000000", 1);
		unsetenv("WATCHDOG_PID");
		execl(bin, bin, "-f", "-c", conf, (char *)NULL);
		_exit(127);
	}
}

/* up, with a log notifier configured (the notifier thread runs). */
static void
up_with_notifier(void)
{
	up_extra = "[notifier \"log\"]\ntype = log\n";
	up();
	up_extra = "";
}

static int
rm_tree(const char *path)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return system(cmd);
}

static void
down(void)
{
	if (daemon_pid > 0 && waitpid(daemon_pid, NULL, WNOHANG) == 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
	}
	if (notify_fd >= 0)
		close(notify_fd);
	(void)rm_tree(dir);
	curl_global_cleanup();
}

Test(opsd, notify_and_admin_through_start_reload_stop, .init = up, .fini = down, .timeout = 180)
{
	char *body = NULL;
	long status = 0;
	int wstatus;

	expect_notify("READY=1");
	/* The endpoint answers once the daemon is ready; the first crawl may take a while. */
	cr_assert_eq(get("/healthz", &body), 200, "%s", body != NULL ? body : "");
	cr_assert_not_null(strstr(body, "\"scheduler\": \"ok\""), "%s", body);
	free(body);
	for (int i = 0; i < 120; i++) {
		status = get("/api/listings/" LISTING "/history", &body);
		if (status == 200)
			break;
		free(body);
		body = NULL;
		usleep(500 * 1000);
	}
	cr_assert_eq(status, 200, "the demo listing never appeared");
	cr_assert_not_null(strstr(body, "\"price\": \"24.90\""), "%s", body);
	free(body);
	expect_notify("WATCHDOG=1");

	cr_assert_eq(get("/metrics", &body), 200);
	cr_assert_not_null(strstr(body, "pricewatch_observations_total 1\n"), "%s", body);
	cr_assert_not_null(strstr(body, "pricewatch_source_error_streak{source=\"demo\"} 0\n"), "%s", body);
	free(body);

	/* systemctl reload */
	cr_assert_eq(kill(daemon_pid, SIGHUP), 0);
	expect_notify("RELOADING=1");
	expect_notify("READY=1");

	/* systemctl stop */
	cr_assert_eq(kill(daemon_pid, SIGTERM), 0);
	expect_notify("STOPPING=1");
	cr_assert_eq(waitpid(daemon_pid, &wstatus, 0), daemon_pid);
	cr_assert(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "exit status %d", wstatus);
	daemon_pid = 0;
}

/* Fetch counters carry the source, the host and the outcome the crawler saw. */
Test(opsd, fetches_are_counted_per_source_host_and_outcome, .init = up_with_notifier, .fini = down, .timeout = 180)
{
	/* With a notifier, the alert counters exist at 0 before the first alert. */
	expect_notify("READY=1");
	expect_metrics("pricewatch_alerts_total{outcome=\"sent\"} 0\n", false);
	expect_metrics("pricewatch_alerts_total{outcome=\"dead\"} 0\n", false);
	/* file:// URLs have no host: the crawler names it "" or "localhost"; the source and outcome are fixed. */
	expect_metrics("pricewatch_fetches_total{source=\"demo\",host=\"", false);
	expect_metrics("\",outcome=\"ok\"} 1\n", false);
	promtool_check();
	stop_daemon();
}

/* systemctl stop: TERM drains, logs its totals and exits 0, within a bound. */
Test(opsd, term_drains_and_exits, .init = up, .fini = down, .timeout = 180)
{
	expect_notify("READY=1");
	expect_in_file(log_path, "started");
	stop_daemon();
	expect_in_file(log_path, "stopping: ");
}

/* logrotate: rename the log, USR1, and new lines go to a new file at the old name. */
Test(opsd, usr1_reopens_the_log_file, .init = up, .fini = down, .timeout = 180)
{
	char rotated[200], *old;

	expect_notify("READY=1");
	expect_in_file(log_path, "started");
	snprintf(rotated, sizeof(rotated), "%s.1", log_path);
	cr_assert_eq(rename(log_path, rotated), 0);
	cr_assert_eq(kill(daemon_pid, SIGUSR1), 0);
	expect_in_file(log_path, "log file reopened");
	stop_daemon();
	expect_in_file(log_path, "stopping: ");
	old = slurp(rotated);
	cr_expect(strstr(old, "started") != NULL, "%s", old);
	cr_expect(strstr(old, "stopping: ") == NULL, "the old file got lines after USR1: %s", old);
	free(old);
}

/* systemctl reload: sources added and removed take effect without a restart. */
Test(opsd, hup_adds_and_removes_sources, .init = up, .fini = down, .timeout = 240)
{
	expect_notify("READY=1");
	expect_metrics("pricewatch_source_error_streak{source=\"demo\"} 0\n", false);
	write_conf(port, "", TEAPOT_SOURCE);
	reload_daemon();
	/* A new source gets its first crawl within min(interval, 30 s). */
	expect_metrics("pricewatch_source_error_streak{source=\"teapot\"} 0\n", false);
	expect_metrics("source=\"demo\"} 0\n", true);
	expect_in_file(log_path, "configuration reloaded: 1 source(s)");
	stop_daemon();
}

/* A new token or address restarts the endpoint; a bad file or a taken port keeps the running one. */
Test(opsd, hup_applies_admin_settings_and_keeps_them_on_bad_config, .init = up, .fini = down, .timeout = 180)
{
	unsigned port2 = test_free_port(), taken;
	char *body = NULL;
	int fd;

	expect_notify("READY=1");
	cr_assert_eq(get("/healthz", &body), 200, "%s", body != NULL ? body : "");
	free(body);

	write_file(token_path, "second-token\n");
	reload_daemon();
	cr_expect_eq(get_at(port, TOKEN, "/healthz", &body), 401);
	free(body);
	cr_expect_eq(get_at(port, "second-token", "/healthz", &body), 200);
	free(body);

	write_conf(port2, "", KETTLE_SOURCE);
	reload_daemon();
	cr_expect_eq(get_at(port2, "second-token", "/healthz", &body), 200);
	free(body);
	cr_expect_eq(get_at(port, "second-token", "/healthz", &body), 0, "the old port still answers");
	free(body);

	/* A file that does not parse: nothing changes. */
	write_file(conf, "[daemon]\nno-such-key = 1\n");
	reload_daemon();
	expect_in_file(log_path, "reload refused");
	cr_expect_eq(get_at(port2, "second-token", "/healthz", &body), 200);
	free(body);

	/* A port someone else holds: the reload is refused and the endpoint stays where it was. */
	fd = test_loopback_socket(true, &taken);
	write_conf(taken, "", TEAPOT_SOURCE);
	reload_daemon();
	expect_in_file(log_path, "Address already in use");
	cr_expect_eq(get_at(port2, "second-token", "/healthz", &body), 200);
	free(body);
	/* ... and the sources did not change either. */
	port = port2;
	token = "second-token";
	expect_metrics("pricewatch_source_error_streak{source=\"demo\"}", false);
	close(fd);
	stop_daemon();
}

/* A port already taken: the daemon refuses to start and says why. */
Test(opsd, admin_port_in_use_is_fatal_and_clear, .timeout = 60)
{
	const char *build = getenv("PW_TOP_BUILDDIR");
	char tmpl[] = "/tmp/pw-opsd2-XXXXXX", cfg[128], text[512], bin[512], log[128], buf[4096];
	unsigned taken;
	int fd = test_loopback_socket(true, &taken), wstatus, out;
	ssize_t n;
	pid_t pid;

	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(cfg, sizeof(cfg), "%s/pricewatch.conf", tmpl);
	snprintf(log, sizeof(log), "%s/log", tmpl);
	snprintf(text, sizeof(text), "[daemon]\nstate-dir = %s/state\nadmin-listen = 127.0.0.1:%u\n", tmpl,
	    taken);
	write_file(cfg, text);
	snprintf(bin, sizeof(bin), "%s/pricewatchd", build != NULL ? build : ".");
	out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(out, STDERR_FILENO);
		execl(bin, bin, "-f", "-c", cfg, (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &wstatus, 0), pid);
	close(out);
	cr_assert(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 1, "exit status %d", wstatus);
	out = open(log, O_RDONLY);
	n = read(out, buf, sizeof(buf) - 1);
	close(out);
	buf[n > 0 ? n : 0] = '\0';
	cr_assert_not_null(strstr(buf, "Address already in use"), "%s", buf);
	cr_assert_not_null(strstr(buf, "daemon.admin-listen"), "%s", buf);
	close(fd);
	(void)rm_tree(tmpl);
}
