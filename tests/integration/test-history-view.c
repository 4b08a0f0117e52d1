/* test-history-view.c: the history table's sparkline and min/max/current, coloured only on a terminal and never with NO_COLOR. */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"
#include "harness/cli-run.h"
#include "harness/redis.h"
#include "store/store.h"

#define T0 1764000000000LL
#define DAY (24 * 3600000LL)
#define W1 "shop:sku:W1"

static struct test_redis redis;
static char conf[400];

static void
record(struct store *st, int64_t minor, enum availability a, int64_t when)
{
	struct observation obs = {
		.source = "shop", .listing_id = W1, .url = "https://shop.example/w1", .title = "Widget",
		.extractor = "jsonld", .price = { .minor = minor, .currency = "USD" }, .availability = a,
		.observed_ms = when,
	};
	bool changed;

	cr_assert_eq(store_record(st, &obs, &changed), STORE_OK, "%s", store_error(st));
}

static void
setup(void)
{
	struct store_opts so = { .connect_timeout_ms = 2000, .command_timeout_ms = 2000 };
	struct store *st;
	char err[512];
	FILE *f;

	test_redis_start(&redis);
	so.url = redis.url;
	cr_assert_eq(store_open(&st, &so, err, sizeof err), STORE_OK, "%s", err);
	record(st, 1999, AVAIL_IN_STOCK, T0);
	record(st, 1899, AVAIL_IN_STOCK, T0 + DAY);
	record(st, 1899, AVAIL_OUT_OF_STOCK, T0 + 2 * DAY);
	record(st, 2099, AVAIL_IN_STOCK, T0 + 3 * DAY);
	store_close(st);
	cr_assert(pw_snprintf(conf, sizeof conf, "%s/pricewatch.conf", redis.dir));
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	fputs("[crawl]\n", f);
	cr_assert_eq(fclose(f), 0);
	unsetenv("NO_COLOR");
	unsetenv(CLI_ENV_REDIS);
}

static void
teardown(void)
{
	unsetenv("NO_COLOR");
	test_redis_stop(&redis);
}

TestSuite(history_view, .init = setup, .fini = teardown);

static int
pw(char **out, char **err, const char *opt)
{
	const char *argv[] = { "pricewatch", "-c", conf, "--redis", redis.url, "history", W1, opt, NULL };

	return test_cli_run(opt != NULL ? 8 : 7, argv, out, err, NULL);
}

Test(history_view, summary_line_has_sparkline_min_max_current)
{
	char *out, *err;

	cr_assert_eq(pw(&out, &err, NULL), 0, "%s", err);
	/* 19.99 18.99 18.99 20.99 between 18.99 and 20.99: half, bottom, bottom, top. */
	cr_expect(strstr(out, "\nprices ▅▁▁█  min 18.99  max 20.99  current 20.99 USD\n") != NULL, "%s", out);
	cr_expect(strchr(out, '\033') == NULL, "colour into a pipe: %s", out);
	free(out);
	free(err);
}

Test(history_view, color_always_and_no_color)
{
	char *out, *err;

	cr_assert_eq(pw(&out, &err, "--color=always"), 0, "%s", err);
	cr_expect(strstr(out, "\033[36m▅▁▁█\033[0m") != NULL, "%s", out);
	cr_expect(strstr(out, "min \033[32m18.99\033[0m") != NULL, "%s", out);
	free(out);
	free(err);
	setenv("NO_COLOR", "1", 1);
	cr_assert_eq(pw(&out, &err, "--color=always"), 0, "%s", err);
	cr_expect(strchr(out, '\033') == NULL, "colour despite NO_COLOR: %s", out);
	cr_expect(strstr(out, "prices ▅▁▁█") != NULL, "%s", out);
	free(out);
	free(err);
	unsetenv("NO_COLOR");
	cr_expect_eq(pw(&out, &err, "--color=purple"), 2);
	cr_expect(strstr(err, "auto, always or never") != NULL, "%s", err);
	free(out);
	free(err);
	/* Scripts' formats carry no summary. */
	cr_assert_eq(pw(&out, &err, "--csv"), 0, "%s", err);
	cr_expect(strstr(out, "prices") == NULL, "%s", out);
	free(out);
	free(err);
}

/* Runs the built binary on a pseudo-terminal (as a person would) and returns what it printed. */
static char *
run_on_tty(const char *no_color)
{
	const char *build = getenv("PW_TOP_BUILDDIR");
	char bin[512], *buf = NULL;
	size_t len = 0;
	int master, status;
	pid_t pid;

	cr_assert(pw_snprintf(bin, sizeof bin, "%s/pricewatch", build != NULL ? build : "."));
	pid = forkpty(&master, NULL, NULL, NULL);
	cr_assert(pid >= 0, "forkpty: %s", strerror(errno));
	if (pid == 0) {
		if (no_color != NULL)
			setenv("NO_COLOR", no_color, 1);
		execl(bin, bin, "-c", conf, "--redis", redis.url, "history", W1, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		char chunk[4096];
		ssize_t n = read(master, chunk, sizeof chunk);

		/* EIO: the child closed the terminal. */
		if (n <= 0)
			break;
		buf = realloc(buf, len + (size_t)n + 1);
		memcpy(buf + len, chunk, (size_t)n);
		len += (size_t)n;
		buf[len] = '\0';
	}
	close(master);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d: %s", status, buf);
	cr_assert_not_null(buf);
	return buf;
}

Test(history_view, colour_on_a_terminal_unless_no_color)
{
	char *out = run_on_tty(NULL);

	cr_expect(strstr(out, "\033[36m") != NULL, "no colour on a tty: %s", out);
	free(out);
	out = run_on_tty("1");
	cr_expect(strchr(out, '\033') == NULL, "colour despite NO_COLOR: %s", out);
	cr_expect(strstr(out, "prices ") != NULL, "%s", out);
	free(out);
}
