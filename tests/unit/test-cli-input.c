/* test-cli-input.c: the CLI's shared input reader (limits, stdin, errors) and its refusal to invent a private store. */
#include "config.h"

#include <criterion/criterion.h>
#include <json-c/json.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "harness/cli-run.h"
#include "common/util.h"

static char dir[] = "/tmp/pw-cli-input-XXXXXX";

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	cr_assert(pw_snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir));
	cr_assert_eq(system(cmd), 0);
}

/* Writes n bytes of a repeating pattern to dir/name; returns the path (static buffer). */
static const char *
write_file(const char *name, size_t n)
{
	static char path[256];
	FILE *f;

	cr_assert(pw_snprintf(path, sizeof path, "%s/%s", dir, name));
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	for (size_t i = 0; i < n; i++)
		cr_assert_neq(fputc('a' + (int)(i % 26), f), EOF);
	cr_assert_eq(fclose(f), 0);
	return path;
}

static void
assert_pattern(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(buf[i], 'a' + (char)(i % 26), "byte %zu", i);
	cr_assert_eq(buf[n], '\0', "NUL after the data");
}

TestSuite(cli_input, .init = setup, .fini = teardown);

Test(cli_input, small_file_whole)
{
	size_t len = 99;
	char *buf = cli_read_input(write_file("small", 10), 100, &len);

	cr_assert_not_null(buf);
	cr_assert_eq(len, 10);
	assert_pattern(buf, 10);
	free(buf);
}

Test(cli_input, empty_file)
{
	size_t len = 99;
	char *buf = cli_read_input(write_file("empty", 0), 100, &len);

	cr_assert_not_null(buf);
	cr_assert_eq(len, 0);
	cr_assert_eq(buf[0], '\0');
	free(buf);
}

Test(cli_input, stops_at_the_limit)
{
	size_t len = 0;
	const char *path = write_file("big", 1000);
	char *buf = cli_read_input(path, 1000, &len);

	cr_assert_not_null(buf);
	cr_assert_eq(len, 1000, "exactly the limit is read whole");
	assert_pattern(buf, len);
	free(buf);
	buf = cli_read_input(path, 999, &len);
	cr_assert_not_null(buf);
	cr_assert_eq(len, 999, "one byte over the limit is cut at the limit");
	assert_pattern(buf, len);
	free(buf);
}

/* Larger than the first allocation: the buffer grows (several times) and keeps every byte. */
Test(cli_input, grows_past_the_first_buffer)
{
	size_t n = 300 * 1024 + 7, len = 0;
	const char *path = write_file("grow", n);
	char *buf = cli_read_input(path, 32 * 1024 * 1024 + 1, &len);

	cr_assert_not_null(buf);
	cr_assert_eq(len, n);
	assert_pattern(buf, n);
	free(buf);
	/* A limit that is not a power-of-two multiple of the first buffer. */
	buf = cli_read_input(path, 200 * 1024 + 3, &len);
	cr_assert_not_null(buf);
	cr_assert_eq(len, 200 * 1024 + 3);
	assert_pattern(buf, len);
	free(buf);
}

Test(cli_input, dash_reads_standard_input)
{
	size_t len = 0;
	const char *path = write_file("stdin", 5000);
	char *buf;

	cr_assert_not_null(freopen(path, "rb", stdin));
	buf = cli_read_input("-", 4096, &len);
	cr_assert_not_null(buf);
	cr_assert_eq(len, 4096);
	assert_pattern(buf, len);
	free(buf);
}

Test(cli_input, missing_file_sets_errno)
{
	char path[256];
	size_t len = 7;

	cr_assert(pw_snprintf(path, sizeof path, "%s/nope", dir));
	errno = 0;
	cr_assert_null(cli_read_input(path, 100, &len));
	cr_assert_eq(errno, ENOENT);
	cr_assert_eq(len, 7, "len untouched on failure");
}

Test(cli_input, directory_is_an_error)
{
	size_t len = 0;

	errno = 0;
	cr_assert_null(cli_read_input(dir, 100, &len));
	cr_assert_eq(errno, EISDIR);
}

/* Runs cli_run in this process; out and err receive what it prints (caller frees). */
static int
run_cli(int argc, const char **argv, char **out, char **err)
{
	return test_cli_run(argc, argv, out, err, NULL);
}

/* No URL and no state dir: say so, exit 1, and create nothing (no empty store, no redis-server). */
Test(cli_input, no_state_dir_means_no_data_yet)
{
	char conf[256], state[256], want[512];
	const char *cmds[] = { "listings", "history", "status", "alerts" };
	struct stat sb;
	FILE *f;

	cr_assert(pw_snprintf(conf, sizeof conf, "%s/pw.conf", dir));
	cr_assert(pw_snprintf(state, sizeof state, "%s/state", dir));
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	fprintf(f, "[daemon]\nstate-dir = %s\n", state);
	cr_assert_eq(fclose(f), 0);
	unsetenv(CLI_ENV_REDIS);
	cr_assert(pw_snprintf(want, sizeof want, "pricewatch: no data yet: pricewatchd has not run with "
	    "state-dir %s (give --redis URL, or -c FILE)\n", state));

	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		const char *argv[] = { "pricewatch", "-c", conf, cmds[i], "x", NULL };
		char *out = NULL, *err = NULL;
		int rc = run_cli(strcmp(cmds[i], "history") == 0 ? 5 : 4, argv, &out, &err);

		cr_assert_eq(rc, CLI_EXIT_NOT_FOUND, "%s: rc %d, stderr %s", cmds[i], rc, err);
		cr_assert_str_eq(err, want, "%s", cmds[i]);
		cr_assert_str_eq(out, "");
		cr_assert_neq(stat(state, &sb), 0, "%s created the state dir", cmds[i]);
		cr_assert_eq(errno, ENOENT);
		free(out);
		free(err);
	}
}

/* pricewatch price: a handful of locales through the real parser (the big table is test-price.c). */
Test(cli_input, price_json_locales)
{
	const char *argv[] = { "pricewatch", "--json", "price", "1.299,00 €", "CHF 1'049.95", "¥1,500",
		"₹1,23,456.00", "19.99 – 29.99", NULL };
	static const struct { const char *amount, *currency; int64_t minor; const char *high; } want[] = {
		{ "1299.00", "EUR", 129900, NULL },
		{ "1049.95", "CHF", 104995, NULL },
		{ "1500", "JPY", 1500, NULL },
		{ "123456.00", "INR", 12345600, NULL },
		{ "19.99", "EUR", 1999, "29.99" },
	};
	char *out = NULL, *err = NULL;
	struct json_object *arr;
	int rc;

	/* The range names no currency: --currency supplies it (options may follow the texts). */
	{
		const char *args[] = { argv[0], argv[1], argv[2], argv[3], argv[4], argv[5], argv[6], argv[7],
			"--currency", "EUR", NULL };
		rc = run_cli(10, args, &out, &err);
	}
	cr_assert_eq(rc, CLI_EXIT_OK, "stderr: %s", err);
	arr = json_tokener_parse(out);
	cr_assert_not_null(arr, "not JSON: %s", out);
	cr_assert_eq(json_object_array_length(arr), 5);
	for (size_t i = 0; i < 5; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *v;

		cr_assert(json_object_object_get_ex(o, "ok", &v) && json_object_get_boolean(v), "%zu", i);
		cr_assert(json_object_object_get_ex(o, "amount", &v));
		cr_assert_str_eq(json_object_get_string(v), want[i].amount, "%zu", i);
		cr_assert(json_object_object_get_ex(o, "currency", &v));
		cr_assert_str_eq(json_object_get_string(v), want[i].currency, "%zu", i);
		cr_assert(json_object_object_get_ex(o, "minor", &v));
		cr_assert_eq(json_object_get_int64(v), want[i].minor, "%zu", i);
		cr_assert(json_object_object_get_ex(o, "high", &v));
		if (want[i].high == NULL)
			cr_assert_null(v, "%zu", i);
		else
			cr_assert_str_eq(json_object_get_string(v), want[i].high, "%zu", i);
	}
	json_object_put(arr);
	free(out);
	free(err);
}

/* "1,299" alone is ambiguous: the locale hint decides, and a rejected text makes the exit status 1. */
Test(cli_input, price_table_hint_and_rejection)
{
	const char *de[] = { "pricewatch", "price", "--locale-hint", "de_DE", "-C", "EUR", "1,29", "12,99 €", NULL };
	const char *en[] = { "pricewatch", "--csv", "price", "-l", "en-US", "-C", "USD", "1,299", "no price here",
		NULL };
	const char *bad[] = { "pricewatch", "price", "-l", "klingon!", "1", NULL };
	char *out = NULL, *err = NULL;

	cr_assert_eq(run_cli(8, de, &out, &err), CLI_EXIT_OK, "stderr: %s", err);
	cr_assert_str_eq(out,
	    "TEXT     AMOUNT  CURRENCY  MINOR  HIGH  NOTE\n"
	    "1,29       1.29  EUR         129     -  -\n"
	    "12,99 €   12.99  EUR        1299     -  -\n");
	free(out);
	free(err);

	cr_assert_eq(run_cli(9, en, &out, &err), CLI_EXIT_NOT_FOUND);
	cr_assert_str_eq(out,
	    "text,amount,currency,minor,high,note\r\n"
	    "\"1,299\",1299.00,USD,129900,,\r\n"
	    "no price here,,,,,rejected: no price in text\r\n");
	free(out);
	free(err);

	cr_assert_eq(run_cli(5, bad, &out, &err), CLI_EXIT_USAGE);
	cr_assert(strstr(err, "--locale-hint klingon!") != NULL, "%s", err);
	free(out);
	free(err);
}
