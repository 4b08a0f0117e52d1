/* test-ops-daemon.c: the real pricewatchd as systemd runs it: sd_notify READY/RELOADING/STOPPING/WATCHDOG on a socket, and its admin endpoint. */
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

#define TOKEN "daemon-test-token"
#define LISTING "demo:sku:HT-KET-17"

static char dir[] = "/tmp/pw-opsd-XXXXXX";
static char conf[128], notify_path[128];
static int notify_fd = -1;
static unsigned port;
static pid_t daemon_pid;

static unsigned
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
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

static size_t
collect(char *data, size_t size, size_t nmemb, void *arg)
{
	char **body = arg;
	size_t n = size * nmemb, have = *body != NULL ? strlen(*body) : 0;

	*body = realloc(*body, have + n + 1);
	memcpy(*body + have, data, n);
	(*body)[have + n] = '\0';
	return n;
}

/* GETs path with the token; returns the status, the body in *body (caller frees). */
static long
get(const char *path, char **body)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " TOKEN);
	char url[256];
	long status = 0;

	*body = NULL;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

static void
up(void)
{
	const char *src = getenv("PW_TOP_SRCDIR"), *build = getenv("PW_TOP_BUILDDIR");
	char text[2048], token[160], bin[512], state[160];
	struct sockaddr_un sa;
	struct timeval tv = { .tv_sec = 1 };

	cr_assert_not_null(src, "PW_TOP_SRCDIR unset");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/pricewatch.conf", dir);
	snprintf(token, sizeof(token), "%s/admin.token", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(notify_path, sizeof(notify_path), "%s/notify", dir);
	port = free_port();
	write_file(token, TOKEN "\n");
	snprintf(text, sizeof(text),
	    "[daemon]\nstate-dir = %s\nadmin-listen = 127.0.0.1:%u\nadmin-token-file = admin.token\n"
	    "[source \"demo\"]\nurl = file://%s/data/demo/shop/kettle.html\ninterval = 1h\n",
	    state, port, src);
	write_file(conf, text);

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

/* A port already taken: the daemon refuses to start and says why. */
Test(opsd, admin_port_in_use_is_fatal_and_clear, .timeout = 60)
{
	const char *build = getenv("PW_TOP_BUILDDIR");
	char tmpl[] = "/tmp/pw-opsd2-XXXXXX", cfg[128], text[512], bin[512], log[128], buf[4096];
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), wstatus, out;
	ssize_t n;
	pid_t pid;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(cfg, sizeof(cfg), "%s/pricewatch.conf", tmpl);
	snprintf(log, sizeof(log), "%s/log", tmpl);
	snprintf(text, sizeof(text), "[daemon]\nstate-dir = %s/state\nadmin-listen = 127.0.0.1:%u\n", tmpl,
	    (unsigned)ntohs(sa.sin_port));
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
