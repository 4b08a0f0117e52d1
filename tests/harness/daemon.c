/* daemon.c: runs the real pricewatchd for a test: a temp dir with a config, a redis-server, a fixture shop, the log. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "harness/daemon.h"
#include "harness/run.h"

void
test_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

void
test_daemon_write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0, "cannot write %s: %s", path, strerror(errno));
}

void
test_daemon_write_product_image(struct test_daemon *fx, const char *name, const char *price, const char *currency,
    const char *avail, const char *image)
{
	char path[400], *html, *img = NULL;

	cr_assert(pw_snprintf(path, sizeof(path), "%s/%s", fx->docroot, name));
	if (image != NULL)
		img = xasprintf("\"image\":\"%s/%s\",", fx->httpd.base_url, image);
	html = xasprintf(
	    "<html><head><title>t</title><script type=\"application/ld+json\">"
	    "{\"@context\":\"https://schema.org\",\"@type\":\"Product\",\"name\":\"Widget %s\","
	    "\"sku\":\"W-%s\",%s\"offers\":{\"@type\":\"Offer\",\"price\":\"%s\","
	    "\"priceCurrency\":\"%s\",\"availability\":\"https://schema.org/%s\"}}"
	    "</script></head><body><h1>Widget</h1></body></html>",
	    name, name, img != NULL ? img : "", price, currency, avail);
	test_daemon_write_text(path, html);
	free(html);
	free(img);
}

void
test_daemon_write_product(struct test_daemon *fx, const char *name, const char *price, const char *currency,
    const char *avail)
{
	test_daemon_write_product_image(fx, name, price, currency, avail, NULL);
}

void
test_daemon_setup(struct test_daemon *fx)
{
	const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";

	memset(fx, 0, sizeof(*fx));
	cr_assert(pw_snprintf(fx->dir, sizeof(fx->dir), "%s/pwd-test-XXXXXX", tmp));
	cr_assert_not_null(mkdtemp(fx->dir), "mkdtemp %s: %s", fx->dir, strerror(errno));
	cr_assert(pw_snprintf(fx->docroot, sizeof(fx->docroot), "%s/docroot", fx->dir));
	cr_assert_eq(mkdir(fx->docroot, 0755), 0);
	cr_assert(pw_snprintf(fx->conf, sizeof(fx->conf), "%s/pricewatch.conf", fx->dir));
	cr_assert(pw_snprintf(fx->log, sizeof(fx->log), "%s/daemon.log", fx->dir));
	test_redis_start(&fx->redis);
	test_httpd_start(&fx->httpd, fx->docroot);

	fx->st = test_redis_open_store(&fx->redis);
}

void
test_daemon_teardown(struct test_daemon *fx)
{
	store_close(fx->st);
	fx->st = NULL;
	test_httpd_stop(&fx->httpd);
	test_redis_stop(&fx->redis);
	test_remove_tree(fx->dir);
}

void
test_daemon_write_config(struct test_daemon *fx, const char *redis_url, const char *const *paths, size_t n,
    const char *extra)
{
	FILE *f = fopen(fx->conf, "w");
	size_t i;

	cr_assert_not_null(f, "cannot write %s: %s", fx->conf, strerror(errno));
	fprintf(f, "[redis]\nurl = %s\n\n[daemon]\nstate-dir = %s/state\nlog-level = debug\nadmin-listen = off\n\n",
	    redis_url, fx->dir);
	fprintf(f, "[crawl]\ntimeout = 1s\nconnect-timeout = 1s\nper-host-delay = 0s\n\n");
	for (i = 0; i < n; i++)
		fprintf(f, "[source \"s%zu\"]\nurl = %s/%s\ninterval = 1s\n\n", i, fx->httpd.base_url, paths[i]);
	if (extra != NULL)
		fputs(extra, f);
	cr_assert_eq(fclose(f), 0);
}

const char *
test_daemon_path(void)
{
	static char path[1024];
	const char *b = getenv("PW_TOP_BUILDDIR");

	cr_assert(pw_snprintf(path, sizeof(path), "%s/pricewatchd", b != NULL ? b : "."));
	return path;
}

pid_t
test_daemon_spawn_at(const char *conf, const char *log, const char *a1, const char *a2)
{
	const char *bin = test_daemon_path();
	pid_t pid = fork();

	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		/* A NULL a1 ends the list early, so "-c conf" comes first. */
		execl(bin, "pricewatchd", "-c", conf, a1, a2, (char *)NULL);
		_exit(127);
	}
	return pid;
}

pid_t
test_daemon_spawn(struct test_daemon *fx, const char *a1, const char *a2)
{
	return test_daemon_spawn_at(fx->conf, fx->log, a1, a2);
}

int
test_daemon_wait_exit(pid_t pid, int ms)
{
	int status, waited;

	for (waited = 0; waited <= ms; waited += 50) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		test_sleep_ms(50);
	}
	return -1;
}

void
test_daemon_stop(pid_t pid)
{
	int status;

	cr_assert_eq(kill(pid, SIGTERM), 0, "daemon %ld is gone", (long)pid);
	status = test_daemon_wait_exit(pid, 10000);
	cr_assert_neq(status, -1, "daemon did not exit after SIGTERM");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "daemon exit status %d", status);
}

int
test_daemon_once(struct test_daemon *fx)
{
	pid_t pid = test_daemon_spawn(fx, "-f", "--once");
	int status = test_daemon_wait_exit(pid, 60000);

	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		cr_assert_fail("pricewatchd --once still running after 60 s");
	}
	cr_assert(WIFEXITED(status), "pricewatchd --once died (status %d)", status);
	cr_assert_neq(WEXITSTATUS(status), 127, "cannot run %s (set PW_TOP_BUILDDIR)", test_daemon_path());
	return WEXITSTATUS(status);
}

size_t
test_daemon_history_len(struct test_daemon *fx, const char *id)
{
	struct history_point *pts = NULL;
	size_t n = 0;

	if (store_history(fx->st, id, 0, INT64_MAX, &pts, &n) != STORE_OK)
		return 0;
	free(pts);
	return n;
}

size_t
test_daemon_wait_history(struct test_daemon *fx, const char *id, size_t want, int ms)
{
	size_t n = 0;
	int waited;

	for (waited = 0; waited <= ms; waited += 100) {
		n = test_daemon_history_len(fx, id);
		if (n >= want)
			break;
		test_sleep_ms(100);
	}
	return n;
}

bool
test_daemon_wait_started(struct test_daemon *fx, pid_t pid, int ms)
{
	char needle[64];

	/* The line the daemon logs once its signal handlers are in place. */
	cr_assert(pw_snprintf(needle, sizeof(needle), "pricewatchd[%ld]: info: pricewatchd ", (long)pid));
	for (int waited = 0; waited <= ms; waited += 50) {
		char *log = test_daemon_log(fx), *at = strstr(log, needle);
		bool up = at != NULL && strstr(at, " started: ") != NULL;

		free(log);
		if (up)
			return true;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			cr_assert_fail("pricewatchd %ld exited before it started", (long)pid);
		test_sleep_ms(50);
	}
	return false;
}

char *
test_daemon_log(struct test_daemon *fx)
{
	char *s = read_file(fx->log, 1 << 20, NULL);

	return s != NULL ? s : xstrdup("");
}
