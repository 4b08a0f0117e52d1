/* test-cli.c: unit tests of the pricewatch CLI: argument handling, option precedence and the table/CSV/JSON emitters. */
#include "config.h"

#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "harness/cli-run.h"
#include "common/util.h"

/* Output of one cli_run, captured through memory streams. */
struct run {
	int rc;
	char *out, *err;
	size_t out_len, err_len;
};

static void
run_cli(struct run *r, int argc, const char *const *args)
{
	char *argv[32];

	cr_assert(argc < 32);
	for (int i = 0; i < argc; i++)
		argv[i] = (char *)args[i];
	argv[argc] = NULL;
	r->rc = test_cli_run(argc, (const char *const *)argv, &r->out, &r->err, &r->out_len);
}

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

#define RUN(r, ...) do { \
	static const char *const args_[] = { "pricewatch", __VA_ARGS__ }; \
	run_cli((r), (int)(sizeof args_ / sizeof args_[0]), args_); \
} while (0)

/* A Redis URL nothing listens on, so a test that reached Redis by mistake would see exit 3. */
#define DEAD_URL "unix:///nonexistent-pricewatch-test/redis.sock"

Test(cli_args, no_command_is_usage_error)
{
	struct run r;
	static const char *const args[] = { "pricewatch" };

	run_cli(&r, 1, args);
	cr_expect_eq(r.rc, CLI_EXIT_USAGE);
	cr_expect(strstr(r.err, "pricewatch: no command given") != NULL, "err: %s", r.err);
	run_free(&r);
}

Test(cli_args, unknown_command_exits_2)
{
	struct run r;

	RUN(&r, "--redis", DEAD_URL, "frobnicate");
	cr_expect_eq(r.rc, CLI_EXIT_USAGE);
	cr_expect(strstr(r.err, "pricewatch: unknown command 'frobnicate'") != NULL, "err: %s", r.err);
	cr_expect_eq(r.out_len, 0);
	run_free(&r);
}

Test(cli_args, unknown_global_option_exits_2)
{
	struct run r;

	RUN(&r, "--frob", "listings");
	cr_expect_eq(r.rc, CLI_EXIT_USAGE);
	cr_expect(strstr(r.err, "unknown option '--frob'") != NULL, "err: %s", r.err);
	run_free(&r);
}

Test(cli_args, global_option_missing_value_exits_2)
{
	struct run r;

	RUN(&r, "--redis");
	cr_expect_eq(r.rc, CLI_EXIT_USAGE);
	cr_expect(strstr(r.err, "option '--redis' needs a value") != NULL, "err: %s", r.err);
	run_free(&r);
}

Test(cli_args, history_without_listing_exits_2)
{
	struct run r;

	RUN(&r, "--redis", DEAD_URL, "history", "--since", "30d");
	cr_expect_eq(r.rc, CLI_EXIT_USAGE);
	cr_expect(strstr(r.err, "missing LISTING") != NULL, "err: %s", r.err);
	cr_expect(strstr(r.err, "usage: pricewatch history LISTING") != NULL, "err: %s", r.err);
	run_free(&r);
}

Test(cli_args, history_extra_argument_exits_2)
{
	struct run r;

	RUN(&r, "--redis", DEAD_URL, "history", "a", "b");
	cr_expect_eq(r.rc, CLI_EXIT_USAGE);
	cr_expect(strstr(r.err, "unexpected argument 'b'") != NULL, "err: %s", r.err);
	run_free(&r);
}

Test(cli_args, history_bad_since_exits_2)
{
	struct run r;

	RUN(&r, "--redis", DEAD_URL, "history", "x", "--since", "yesterday-ish");
	cr_expect_eq(r.rc, CLI_EXIT_USAGE);
	cr_expect(strstr(r.err, "--since 'yesterday-ish'") != NULL, "err: %s", r.err);
	run_free(&r);
}

Test(cli_args, history_since_after_until_exits_2)
{
	struct run r;

	RUN(&r, "--redis", DEAD_URL, "history", "x", "--since", "2026-02-01", "--until", "2026-01-01");
	cr_expect_eq(r.rc, CLI_EXIT_USAGE);
	cr_expect(strstr(r.err, "--since is after --until") != NULL, "err: %s", r.err);
	run_free(&r);
}

Test(cli_args, history_unknown_option_exits_2)
{
	struct run r;

	RUN(&r, "--redis", DEAD_URL, "history", "x", "--bogus");
	cr_expect_eq(r.rc, CLI_EXIT_USAGE);
	cr_expect(strstr(r.err, "unknown option '--bogus'") != NULL, "err: %s", r.err);
	run_free(&r);
}

Test(cli_args, history_option_missing_value_exits_2)
{
	struct run r;

	RUN(&r, "--redis", DEAD_URL, "history", "x", "--since");
	cr_expect_eq(r.rc, CLI_EXIT_USAGE);
	cr_expect(strstr(r.err, "option '--since' needs a value") != NULL, "err: %s", r.err);
	run_free(&r);
}

Test(cli_args, json_and_csv_together_exit_2)
{
	struct run r;

	RUN(&r, "--redis", DEAD_URL, "--json", "listings", "--csv");
	cr_expect_eq(r.rc, CLI_EXIT_USAGE);
	cr_expect(strstr(r.err, "--json and --csv cannot be used together") != NULL, "err: %s", r.err);
	run_free(&r);
}

Test(cli_args, listings_rejects_arguments)
{
	struct run r;

	RUN(&r, "--redis", DEAD_URL, "listings", "extra");
	cr_expect_eq(r.rc, CLI_EXIT_USAGE);
	cr_expect(strstr(r.err, "unexpected argument 'extra'") != NULL, "err: %s", r.err);
	run_free(&r);
}

Test(cli_args, version)
{
	struct run r;

	RUN(&r, "-V");
	cr_expect_eq(r.rc, CLI_EXIT_OK);
	cr_expect_str_eq(r.out, "pricewatch " PACKAGE_VERSION "\n");
	run_free(&r);

	RUN(&r, "--version");
	cr_expect_eq(r.rc, CLI_EXIT_OK);
	cr_expect_str_eq(r.out, "pricewatch " PACKAGE_VERSION "\n");
	run_free(&r);
}

Test(cli_args, help_lists_every_command)
{
	struct run r;

	RUN(&r, "--help");
	cr_expect_eq(r.rc, CLI_EXIT_OK);
	for (size_t i = 0; cmd_table[i] != NULL; i++)
		cr_expect(strstr(r.out, cmd_table[i]->name) != NULL, "missing %s", cmd_table[i]->name);
	cr_expect(strstr(r.out, "--redis URL") != NULL);
	cr_expect(strstr(r.out, "3 cannot reach Redis") != NULL);
	run_free(&r);
}

Test(cli_args, help_command)
{
	struct run r;

	RUN(&r, "help", "history");
	cr_expect_eq(r.rc, CLI_EXIT_OK);
	cr_expect(strncmp(r.out, "usage: pricewatch history LISTING", 33) == 0, "out: %s", r.out);
	cr_expect(strstr(r.out, "--since WHEN") != NULL);
	run_free(&r);

	RUN(&r, "listings", "--help");
	cr_expect_eq(r.rc, CLI_EXIT_OK);
	cr_expect(strstr(r.out, "--source SOURCE") != NULL, "out: %s", r.out);
	run_free(&r);

	RUN(&r, "help", "nosuch");
	cr_expect_eq(r.rc, CLI_EXIT_USAGE);
	cr_expect(strstr(r.err, "unknown command 'nosuch'") != NULL);
	run_free(&r);
}

Test(cli_args, command_lookup)
{
	cr_expect_eq(cmd_find("history"), &cmd_history_entry);
	cr_expect_eq(cmd_find("hist"), &cmd_history_entry);
	cr_expect_eq(cmd_find("histo"), &cmd_history_entry);
	cr_expect_eq(cmd_find("ls"), &cmd_listings_entry);
	cr_expect_eq(cmd_find("list"), &cmd_listings_entry);
	cr_expect_null(cmd_find("h"));        /* history and help: ambiguous */
	cr_expect_null(cmd_find(""));
	cr_expect_null(cmd_find("historyx"));
}

Test(cli_time, since_duration_and_absolute)
{
	int64_t now = 1764000000000, ms = -1;

	cr_assert(cli_parse_time_arg("30d", now, &ms));
	cr_expect_eq(ms, now - 30LL * 86400 * 1000);
	cr_assert(cli_parse_time_arg("12h", now, &ms));
	cr_expect_eq(ms, now - 12LL * 3600 * 1000);
	cr_assert(cli_parse_time_arg("2026-01-31", now, &ms));
	cr_expect_eq(ms, 1769817600000LL);
	cr_assert(cli_parse_time_arg("2026-01-31T12:30Z", now, &ms));
	cr_expect_eq(ms, 1769817600000LL + 45000000LL);
	/* A bare number is epoch seconds, not a duration. */
	cr_assert(cli_parse_time_arg("1700000000", now, &ms));
	cr_expect_eq(ms, 1700000000000LL);
	/* A duration longer than the epoch clamps to the beginning. */
	cr_assert(cli_parse_time_arg("100000w", now, &ms));
	cr_expect_eq(ms, 0);
	cr_expect_not(cli_parse_time_arg("", now, &ms));
	cr_expect_not(cli_parse_time_arg("30x", now, &ms));
	cr_expect_not(cli_parse_time_arg("soon", now, &ms));
	cr_expect_not(cli_parse_time_arg("2026-13-40", now, &ms));
}

Test(cli_redis, precedence_pure)
{
	const char *from = NULL;

	cr_expect_str_eq(cli_pick_redis_url("redis://opt", "redis://env", "redis://cfg", "f.conf", &from),
	    "redis://opt");
	cr_expect_str_eq(from, "--redis");
	cr_expect_str_eq(cli_pick_redis_url(NULL, "redis://env", "redis://cfg", "f.conf", &from),
	    "redis://env");
	cr_expect_str_eq(from, "$PRICEWATCH_REDIS");
	cr_expect_str_eq(cli_pick_redis_url(NULL, "", "redis://cfg", "f.conf", &from), "redis://cfg");
	cr_expect_str_eq(from, "f.conf");
	cr_expect_str_eq(cli_pick_redis_url(NULL, NULL, NULL, NULL, &from), "");
	/* --redis '' asks for the private store even when the others name a server. */
	cr_expect_str_eq(cli_pick_redis_url("", "redis://env", "redis://cfg", "f.conf", &from), "");
	cr_expect_str_eq(from, "--redis");
}

/* Writes text to a new temp file and returns its path (caller unlinks and frees). */
static char *
temp_config(const char *text)
{
	char *path = xstrdup("/tmp/pw-cli-test-XXXXXX");
	int fd = mkstemp(path);
	size_t len = strlen(text);

	cr_assert(fd >= 0);
	cr_assert(write(fd, text, len) == (ssize_t)len);
	close(fd);
	return path;
}

/* Resolves the URL as the CLI would with the given -c, --redis and environment. */
static char *
resolve(const char *config_path, const char *opt, const char *env, char *from, size_t fromlen)
{
	struct cli_ctx ctx;
	char *url;

	memset(&ctx, 0, sizeof ctx);
	ctx.out = stdout;
	ctx.err = stderr;
	ctx.config_path = config_path;
	ctx.redis_opt = opt;
	if (env != NULL)
		setenv(CLI_ENV_REDIS, env, 1);
	else
		unsetenv(CLI_ENV_REDIS);
	cr_assert_eq(cli_resolve(&ctx), CLI_EXIT_OK);
	url = xstrdup(ctx.redis_url);
	pw_strlcpy(from, ctx.redis_from, fromlen);
	cli_ctx_release(&ctx);
	return url;
}

Test(cli_redis, precedence_with_config_file)
{
	char *path = temp_config("[redis]\nurl = redis://127.0.0.1:7001/3\n");
	char from[256], *url;

	url = resolve(path, "redis://127.0.0.1:7003/0", "redis://127.0.0.1:7002/0", from, sizeof from);
	cr_expect_str_eq(url, "redis://127.0.0.1:7003/0");
	cr_expect_str_eq(from, "--redis");
	free(url);

	url = resolve(path, NULL, "redis://127.0.0.1:7002/0", from, sizeof from);
	cr_expect_str_eq(url, "redis://127.0.0.1:7002/0");
	cr_expect_str_eq(from, "$PRICEWATCH_REDIS");
	free(url);

	url = resolve(path, NULL, NULL, from, sizeof from);
	cr_expect_str_eq(url, "redis://127.0.0.1:7001/3");
	cr_expect_str_eq(from, path);
	free(url);

	unlink(path);
	free(path);
}

Test(cli_redis, empty_config_means_private_store)
{
	char *path = temp_config("");
	char from[256], *url;

	url = resolve(path, NULL, NULL, from, sizeof from);
	cr_expect_str_eq(url, "");
	free(url);
	unlink(path);
	free(path);
}

Test(cli_redis, missing_config_file_is_an_error)
{
	struct run r;

	RUN(&r, "-c", "/nonexistent/pricewatch.conf", "listings");
	cr_expect_eq(r.rc, CLI_EXIT_ERROR);
	cr_expect(strstr(r.err, "configuration file '/nonexistent/pricewatch.conf' does not exist") != NULL,
	    "err: %s", r.err);
	run_free(&r);
}

Test(cli_redis, redacts_passwords)
{
	char *s;

	s = cli_redact_url("redis://bob:hunter2@db.example:6379/2");
	cr_expect_str_eq(s, "redis://bob:***@db.example:6379/2");
	free(s);
	s = cli_redact_url("redis://hunter2@db.example:6379");
	cr_expect_str_eq(s, "redis://***@db.example:6379");
	free(s);
	s = cli_redact_url("unix:///var/lib/pricewatch/redis.sock?db=1");
	cr_expect_str_eq(s, "unix:///var/lib/pricewatch/redis.sock?db=1");
	free(s);
	s = cli_redact_url("redis://127.0.0.1:6379/0");
	cr_expect_str_eq(s, "redis://127.0.0.1:6379/0");
	free(s);
}

Test(cli_redis, store_status_exit_codes)
{
	cr_expect_eq(cli_exit_from_store(STORE_OK), 0);
	cr_expect_eq(cli_exit_from_store(STORE_NOT_FOUND), 1);
	cr_expect_eq(cli_exit_from_store(STORE_UNREACHABLE), 3);
	cr_expect_eq(cli_exit_from_store(STORE_ERROR), 4);
	cr_expect_eq(cli_exit_from_store(STORE_SCHEMA_MISMATCH), 4);
}

/* Captures one CSV row as out_csv_row writes it. Caller frees. */
static char *
capture_csv(const char *const *fields, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert(f != NULL);
	out_csv_row(f, fields, n);
	fclose(f);
	return buf;
}

Test(cli_csv, rfc4180_quoting)
{
	static const char *const row[] = {
		"plain", "a,b", "say \"hi\"", "two\nlines", "cr\rhere", NULL, "", "日本",
	};
	char *s = capture_csv(row, 8);

	cr_expect_str_eq(s,
	    "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\rhere\",,,日本\r\n");
	free(s);
}

Test(cli_csv, single_field_and_quote_only)
{
	static const char *const row[] = { "\"" };
	char *s = capture_csv(row, 1);

	cr_expect_str_eq(s, "\"\"\"\"\r\n");
	free(s);
}

Test(cli_width, display_width_of_utf8)
{
	cr_expect_eq(out_display_width(""), 0);
	cr_expect_eq(out_display_width("abc"), 3);
	cr_expect_eq(out_display_width("日本語"), 6);
	cr_expect_eq(out_display_width("e\xcc\x81"), 1);          /* e + combining acute */
	cr_expect_eq(out_display_width("caf\xc3\xa9"), 4);        /* precomposed é */
	cr_expect_eq(out_display_width("\xff\xfe"), 2);           /* bad bytes: one column each */
	cr_expect_eq(out_display_width("\xc0\xaf"), 2);           /* overlong '/' is two bad bytes */
	cr_expect_eq(out_display_width("\xf0\x9f\x98\x80"), 2);   /* emoji */
}

Test(cli_width, clip_is_utf8_safe)
{
	char *s;

	s = out_display_clip("日本語テキスト", 5);
	cr_expect_str_eq(s, "日本…");
	cr_expect_eq(out_display_width(s), 5);
	free(s);
	s = out_display_clip("日本語テキスト", 6);
	cr_expect_str_eq(s, "日本…");                    /* a wide char never splits */
	free(s);
	s = out_display_clip("abcdef", 6);
	cr_expect_str_eq(s, "abcdef");
	free(s);
	s = out_display_clip("abcdefg", 6);
	cr_expect_str_eq(s, "abcde…");
	free(s);
	s = out_display_clip("abc", 0);
	cr_expect_str_eq(s, "abc");
	free(s);
	s = out_display_clip("abc", 1);
	cr_expect_str_eq(s, "…");
	free(s);
}

Test(cli_width, clip_sanitises_terminal_controls)
{
	char *s = out_display_clip("a\x1b[31mred\x07\xff\xe2\x80\xae!", 0);

	cr_expect_str_eq(s, "a?[31mred??" "?!");
	free(s);
}

Test(cli_width, utf8_fix_for_json)
{
	char *s = out_utf8_fix("ok\xff\xc3\xa9");

	cr_expect_str_eq(s, "ok\xef\xbf\xbd\xc3\xa9");
	free(s);
}

Test(cli_table, columns_align_by_display_width)
{
	static const char *const headers[] = { "ID", "PRICE", "TITLE" };
	static const enum out_align align[] = { OUT_LEFT, OUT_RIGHT, OUT_LEFT };
	static const char *const r1[] = { "日本", "5.00", "first" };
	static const char *const r2[] = { "abcde", "1234.50", NULL };
	struct out_table t;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	out_table_init(&t, 3, headers, align);
	out_table_add(&t, r1);
	out_table_add(&t, r2);
	out_table_print(f, &t, 0);
	out_table_free(&t);
	fclose(f);
	cr_expect_str_eq(buf,
	    "ID       PRICE  TITLE\n"
	    "日本      5.00  first\n"
	    "abcde  1234.50  -\n");
	free(buf);
}

Test(cli_table, last_column_clipped_to_width)
{
	static const char *const headers[] = { "ID", "TITLE" };
	static const char *const r1[] = { "x1", "a fairly long title that does not fit" };
	struct out_table t;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	out_table_init(&t, 2, headers, NULL);
	out_table_add(&t, r1);
	out_table_print(f, &t, 20);
	out_table_free(&t);
	fclose(f);
	cr_expect_str_eq(buf, "ID  TITLE\nx1  a fairly long t…\n");
	free(buf);
}

Test(cli_json, listing_and_history_shape)
{
	struct listing l;
	struct history_point p;
	struct json_object *o, *v;

	memset(&l, 0, sizeof l);
	l.id = "shop:sku:W1";
	l.source = "shop";
	l.url = "https://shop.example/w1";
	l.title = "Widget \"Pro\"";
	l.price.minor = 1999;
	memcpy(l.price.currency, "USD", 4);
	l.availability = AVAIL_IN_STOCK;
	l.last_seen_ms = 1764000000000;

	o = out_json_listing(&l);
	cr_assert(json_object_object_get_ex(o, "price", &v));
	cr_expect_eq(json_object_get_type(v), json_type_string);
	cr_expect_str_eq(json_object_get_string(v), "19.99");
	cr_assert(json_object_object_get_ex(o, "price_minor", &v));
	cr_expect_eq(json_object_get_type(v), json_type_int);
	cr_expect_eq(json_object_get_int64(v), 1999);
	cr_assert(json_object_object_get_ex(o, "currency", &v));
	cr_expect_str_eq(json_object_get_string(v), "USD");
	cr_assert(json_object_object_get_ex(o, "availability", &v));
	cr_expect_str_eq(json_object_get_string(v), "in_stock");
	cr_assert(json_object_object_get_ex(o, "last_seen", &v));
	cr_expect_str_eq(json_object_get_string(v), "2025-11-24T16:00:00Z");
	cr_assert(json_object_object_get_ex(o, "last_seen_ms", &v));
	cr_expect_eq(json_object_get_int64(v), 1764000000000);
	cr_assert(json_object_object_get_ex(o, "brand", &v));
	cr_expect_null(v);
	cr_assert(json_object_object_get_ex(o, "first_seen", &v));
	cr_expect_null(v);
	json_object_put(o);

	memset(&p, 0, sizeof p);
	p.time_ms = 1764000000123;
	p.price.minor = 1500;
	memcpy(p.price.currency, "JPY", 4);
	p.availability = AVAIL_OUT_OF_STOCK;
	o = out_json_history_point(&p);
	cr_assert(json_object_object_get_ex(o, "time", &v));
	cr_expect_str_eq(json_object_get_string(v), "2025-11-24T16:00:00Z");
	cr_assert(json_object_object_get_ex(o, "time_ms", &v));
	cr_expect_eq(json_object_get_int64(v), 1764000000123);
	cr_assert(json_object_object_get_ex(o, "price", &v));
	cr_expect_str_eq(json_object_get_string(v), "1500");     /* JPY has no minor digits */
	cr_assert(json_object_object_get_ex(o, "price_minor", &v));
	cr_expect_eq(json_object_get_int64(v), 1500);
	cr_assert(json_object_object_get_ex(o, "availability", &v));
	cr_expect_str_eq(json_object_get_string(v), "out_of_stock");
	json_object_put(o);
}

Test(cli_json, no_price_is_null_not_zero)
{
	struct history_point p;
	struct json_object *o, *v;

	memset(&p, 0, sizeof p);
	p.time_ms = 1000;
	p.availability = AVAIL_OUT_OF_STOCK;
	o = out_json_history_point(&p);
	cr_assert(json_object_object_get_ex(o, "price", &v));
	cr_expect_null(v);
	cr_assert(json_object_object_get_ex(o, "price_minor", &v));
	cr_expect_null(v);
	cr_assert(json_object_object_get_ex(o, "currency", &v));
	cr_expect_null(v);
	json_object_put(o);
}
