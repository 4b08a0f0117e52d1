/* test-daemon.c: runs the real pricewatchd binary against a real redis-server and a fixture HTTP server. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "harness/httpd.h"
#include "harness/redis.h"
#include "store/store.h"

struct fixture {
	struct test_redis redis;
	struct test_httpd httpd;
	char dir[256];             /* temp dir: docroot/, state/, pricewatch.conf, daemon.log */
	char docroot[300];
	char conf[300];
	char log[300];
	struct store *st;
};

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static void
write_product(struct fixture *fx, const char *name, const char *price, const char *currency,
    const char *avail)
{
	char path[400], *html;

	snprintf(path, sizeof(path), "%s/%s", fx->docroot, name);
	html = xasprintf(
	    "<html><head><title>t</title><script type=\"application/ld+json\">"
	    "{\"@context\":\"https://schema.org\",\"@type\":\"Product\",\"name\":\"Widget %s\","
	    "\"sku\":\"W-%s\",\"offers\":{\"@type\":\"Offer\",\"price\":\"%s\","
	    "\"priceCurrency\":\"%s\",\"availability\":\"https://schema.org/%s\"}}"
	    "</script></head><body><h1>Widget</h1></body></html>",
	    name, name, price, currency, avail);
	write_text(path, html);
	free(html);
}

static void
fixture_setup(struct fixture *fx)
{
	struct store_opts so;
	char err[512];
	const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";

	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "%s/pwd-test-XXXXXX", tmp);
	cr_assert_not_null(mkdtemp(fx->dir));
	snprintf(fx->docroot, sizeof(fx->docroot), "%s/docroot", fx->dir);
	cr_assert_eq(mkdir(fx->docroot, 0755), 0);
	snprintf(fx->conf, sizeof(fx->conf), "%s/pricewatch.conf", fx->dir);
	snprintf(fx->log, sizeof(fx->log), "%s/daemon.log", fx->dir);
	test_redis_start(&fx->redis);
	test_httpd_start(&fx->httpd, fx->docroot);

	memset(&so, 0, sizeof(so));
	so.url = fx->redis.url;
	so.prefix = "pw:";
	so.connect_timeout_ms = 2000;
	so.command_timeout_ms = 2000;
	cr_assert_eq(store_open(&fx->st, &so, err, sizeof(err)), STORE_OK, "%s", err);
}

static void
fixture_teardown(struct fixture *fx)
{
	char *cmd;

	store_close(fx->st);
	test_httpd_stop(&fx->httpd);
	test_redis_stop(&fx->redis);
	cmd = xasprintf("rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", fx->dir);
	free(cmd);
}

/* Writes a config with one source per path (relative to the fixture server), interval 1s. */
static void
write_config(struct fixture *fx, const char *redis_url, const char *const *paths, size_t n,
    const char *extra)
{
	FILE *f = fopen(fx->conf, "w");
	size_t i;

	cr_assert_not_null(f);
	fprintf(f, "[redis]\nurl = %s\n\n[daemon]\nstate-dir = %s/state\nlog-level = debug\n\n", redis_url,
	    fx->dir);
	fprintf(f, "[crawl]\ntimeout = 1s\nconnect-timeout = 1s\nper-host-delay = 0s\n\n");
	for (i = 0; i < n; i++)
		fprintf(f, "[source \"s%zu\"]\nurl = %s/%s\ninterval = 1s\n\n", i, fx->httpd.base_url, paths[i]);
	if (extra != NULL)
		fputs(extra, f);
	fclose(f);
}

static const char *
daemon_path(void)
{
	static char path[1024];
	const char *b = getenv("PW_TOP_BUILDDIR");

	snprintf(path, sizeof(path), "%s/pricewatchd", b != NULL ? b : ".");
	return path;
}

/* Starts pricewatchd with the given extra arguments, stdout+stderr to the fixture log. */
static pid_t
spawn_daemon(struct fixture *fx, const char *a1, const char *a2)
{
	pid_t pid = fork();

	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open(fx->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execl(daemon_path(), "pricewatchd", "-c", fx->conf, a1, a2, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Waits for the child up to ms; returns its wait status, or -1 if it is still running. */
static int
wait_exit(pid_t pid, int ms)
{
	int status, waited;

	for (waited = 0; waited <= ms; waited += 50) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		sleep_ms(50);
	}
	return -1;
}

static size_t
history_len(struct fixture *fx, const char *id)
{
	struct history_point *pts = NULL;
	size_t n = 0;

	if (store_history(fx->st, id, 0, INT64_MAX, &pts, &n) != STORE_OK)
		return 0;
	free(pts);
	return n;
}

/* Polls until the listing's history has at least want entries or ms pass. */
static size_t
wait_history(struct fixture *fx, const char *id, size_t want, int ms)
{
	size_t n = 0;
	int waited;

	for (waited = 0; waited <= ms; waited += 100) {
		n = history_len(fx, id);
		if (n >= want)
			break;
		sleep_ms(100);
	}
	return n;
}

static char *
slurp_log(struct fixture *fx)
{
	char *s = read_file(fx->log, 1 << 20, NULL);

	return s != NULL ? s : xstrdup("");
}

Test(daemon, check_config_reports_file_and_line)
{
	struct fixture fx;
	char *cmd, *out;
	int status;

	fixture_setup(&fx);
	write_text(fx.conf, "[daemon]\nlog-level = info\n\n[crawl]\ntimeout = 5s\nbogus-key = 1\n");
	cmd = xasprintf("'%s' --check-config -c '%s' > '%s' 2>&1", daemon_path(), fx.conf, fx.log);
	status = system(cmd);
	free(cmd);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
	out = slurp_log(&fx);
	cr_assert_not_null(strstr(out, "pricewatch.conf:6:"), "no FILE:LINE in: %s", out);
	cr_assert_not_null(strstr(out, "bogus-key"), "key not named in: %s", out);
	free(out);

	write_text(fx.conf, "[daemon]\nlog-level = info\n");
	cmd = xasprintf("'%s' --check-config -c '%s' > '%s' 2>&1", daemon_path(), fx.conf, fx.log);
	status = system(cmd);
	free(cmd);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	out = slurp_log(&fx);
	cr_assert_not_null(strstr(out, "configuration OK"), "%s", out);
	free(out);
	fixture_teardown(&fx);
}

Test(daemon, records_change_points_and_survives_sigterm, .timeout = 60)
{
	struct fixture fx;
	const char *paths[] = { "a.html" };
	struct listing l;
	struct history_point *pts = NULL;
	size_t n = 0;
	pid_t pid;
	int status;
	char *log;

	fixture_setup(&fx);
	write_product(&fx, "a.html", "19.99", "USD", "InStock");
	write_config(&fx, fx.redis.url, paths, 1, NULL);
	pid = spawn_daemon(&fx, "-f", NULL);

	cr_assert_eq(wait_history(&fx, "s0:sku:W-a.html", 1, 10000), 1, "first observation not recorded");
	cr_assert_eq(store_get_listing(fx.st, "s0:sku:W-a.html", &l), STORE_OK);
	cr_assert_eq(l.price.minor, 1999);
	cr_assert_str_eq(l.price.currency, "USD");
	cr_assert_eq(l.availability, AVAIL_IN_STOCK);
	store_listing_free(&l);

	/* Identical pages for a few intervals: last-seen moves, history does not grow. */
	sleep_ms(2500);
	cr_assert_eq(history_len(&fx, "s0:sku:W-a.html"), 1);
	cr_assert_eq(store_get_listing(fx.st, "s0:sku:W-a.html", &l), STORE_OK);
	cr_assert_gt(l.last_seen_ms, l.first_seen_ms, "last-seen did not advance");
	store_listing_free(&l);

	write_product(&fx, "a.html", "17.49", "USD", "OutOfStock");
	cr_assert_eq(wait_history(&fx, "s0:sku:W-a.html", 2, 10000), 2, "price change not recorded");

	kill(pid, SIGTERM);
	status = wait_exit(pid, 10000);
	cr_assert_neq(status, -1, "daemon did not exit after SIGTERM");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);

	cr_assert_eq(store_history(fx.st, "s0:sku:W-a.html", 0, INT64_MAX, &pts, &n), STORE_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(pts[0].price.minor, 1999);
	cr_assert_eq(pts[1].price.minor, 1749);
	cr_assert_eq(pts[1].availability, AVAIL_OUT_OF_STOCK);
	cr_assert_leq(pts[0].time_ms, pts[1].time_ms);
	free(pts);

	/* A restarted daemon continues the same history. */
	write_product(&fx, "a.html", "18.00", "USD", "InStock");
	pid = spawn_daemon(&fx, "--once", NULL);
	status = wait_exit(pid, 15000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "--once status %d", status);
	cr_assert_eq(history_len(&fx, "s0:sku:W-a.html"), 3);

	log = slurp_log(&fx);
	cr_assert_not_null(strstr(log, "stopping:"), "no exit summary in log: %s", log);
	free(log);
	fixture_teardown(&fx);
}

Test(daemon, hostile_sources_do_not_stop_good_ones, .timeout = 60)
{
	struct fixture fx;
	const char *paths[] = { "hang", "noprice.html", "status/500", "garbage.html", "good.html" };
	struct listing l;
	pid_t pid;
	int status;
	char *log;

	fixture_setup(&fx);
	{
		char *p = xasprintf("%s/noprice.html", fx.docroot);
		FILE *f;
		int i;

		write_text(p, "<html><body><h1>Nothing to buy</h1></body></html>");
		free(p);
		p = xasprintf("%s/garbage.html", fx.docroot);
		f = fopen(p, "w");
		cr_assert_not_null(f);
		fputs("<html><script type=\"application/ld+json\">{\"@type\":\"Product\",\"offers\":[[[[", f);
		for (i = 0; i < 4096; i++)
			fputc((i * 7919) & 0xff, f);
		fclose(f);
		free(p);
	}
	write_product(&fx, "good.html", "1500", "JPY", "InStock");
	write_config(&fx, fx.redis.url, paths, 5, NULL);
	pid = spawn_daemon(&fx, "-f", NULL);

	cr_assert_geq(wait_history(&fx, "s4:sku:W-good.html", 1, 15000), 1, "good source starved");
	cr_assert_eq(store_get_listing(fx.st, "s4:sku:W-good.html", &l), STORE_OK);
	cr_assert_eq(l.price.minor, 1500);
	cr_assert_str_eq(l.price.currency, "JPY");
	store_listing_free(&l);
	cr_assert_eq(kill(pid, 0), 0, "daemon died on hostile input");

	kill(pid, SIGTERM);
	status = wait_exit(pid, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
	log = slurp_log(&fx);
	cr_assert_not_null(strstr(log, "/hang"), "timeout not logged with its URL: %s", log);
	cr_assert_not_null(strstr(log, "/status/500"), "HTTP error not logged with its URL: %s", log);
	free(log);
	fixture_teardown(&fx);
}

Test(daemon, keeps_running_while_redis_is_unreachable, .timeout = 60)
{
	struct fixture fx;
	const char *paths[] = { "a.html" };
	char url[400];
	pid_t pid;
	int status;
	char *log;

	fixture_setup(&fx);
	write_product(&fx, "a.html", "5.00", "EUR", "InStock");
	snprintf(url, sizeof(url), "unix://%s/nobody-here.sock", fx.dir);
	write_config(&fx, url, paths, 1, NULL);
	pid = spawn_daemon(&fx, "-f", NULL);
	sleep_ms(1500);
	cr_assert_eq(kill(pid, 0), 0, "daemon gave up without Redis");
	kill(pid, SIGTERM);
	status = wait_exit(pid, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
	log = slurp_log(&fx);
	cr_assert_not_null(strstr(log, "nobody-here.sock"), "Redis URL not named: %s", log);
	free(log);
	fixture_teardown(&fx);
}

Test(daemon, sighup_reload_adds_sources_and_refuses_bad_config, .timeout = 60)
{
	struct fixture fx;
	const char *one[] = { "a.html" };
	const char *two[] = { "a.html", "b.html" };
	pid_t pid;
	int status;
	char *log;

	fixture_setup(&fx);
	write_product(&fx, "a.html", "1.00", "USD", "InStock");
	write_product(&fx, "b.html", "2.00", "USD", "InStock");
	write_config(&fx, fx.redis.url, one, 1, NULL);
	pid = spawn_daemon(&fx, "-f", NULL);
	cr_assert_eq(wait_history(&fx, "s0:sku:W-a.html", 1, 10000), 1);

	/* A broken file is refused; the daemon keeps running on the old one. */
	write_text(fx.conf, "[crawl]\ntimeout = forever\n");
	kill(pid, SIGHUP);
	sleep_ms(500);
	cr_assert_eq(kill(pid, 0), 0, "daemon died on a bad reload");

	write_config(&fx, fx.redis.url, two, 2, NULL);
	kill(pid, SIGHUP);
	cr_assert_eq(wait_history(&fx, "s1:sku:W-b.html", 1, 10000), 1, "source added by reload not crawled");

	kill(pid, SIGTERM);
	status = wait_exit(pid, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	log = slurp_log(&fx);
	cr_assert_not_null(strstr(log, "reload refused"), "%s", log);
	cr_assert_not_null(strstr(log, "pricewatch.conf:2:"), "%s", log);
	free(log);
	fixture_teardown(&fx);
}

Test(daemon, refuses_to_start_twice_on_one_state_dir, .timeout = 60)
{
	struct fixture fx;
	const char *paths[] = { "a.html" };
	pid_t first, second;
	int status;

	fixture_setup(&fx);
	write_product(&fx, "a.html", "1.00", "USD", "InStock");
	write_config(&fx, fx.redis.url, paths, 1, NULL);
	first = spawn_daemon(&fx, "-f", NULL);
	cr_assert_eq(wait_history(&fx, "s0:sku:W-a.html", 1, 10000), 1);
	second = spawn_daemon(&fx, "-f", NULL);
	status = wait_exit(second, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1, "second daemon status %d",
	    status);
	cr_assert_eq(kill(first, 0), 0);
	kill(first, SIGTERM);
	status = wait_exit(first, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fixture_teardown(&fx);
}
