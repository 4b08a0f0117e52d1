/* test-config.c: pricewatch.conf defaults, the shipped example, fixtures for every error class, lists and secrets. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/util.h"

#define REDIS_SECRET "TOPSECRET-redis-7f3a"
#define HMAC_SECRET "TOPSECRET-hmac-91c2"

/* Path of a file under the source tree; the caller frees. */
static char *
srcpath(const char *rel)
{
	const char *top = getenv("PW_TOP_SRCDIR");

	return xasprintf("%s/%s", top != NULL && *top != '\0' ? top : ".", rel);
}

static char *
fixture(const char *name)
{
	char *rel = xasprintf("tests/unit/config/%s", name);
	char *path = srcpath(rel);

	free(rel);
	return path;
}

static bool
load_fixture(const char *name, struct config *cfg, char *err, size_t errlen)
{
	char *path = fixture(name);
	bool ok = config_load(cfg, path, err, errlen);

	free(path);
	return ok;
}

Test(config, defaults)
{
	struct config cfg;

	config_defaults(&cfg);
	cr_expect_null(cfg.path);
	cr_expect_null(cfg.redis.url);
	cr_expect_str_eq(cfg.redis.prefix, "pw:");
	cr_expect_null(cfg.redis.password);
	cr_expect_eq(cfg.redis.connect_timeout_ms, 2000);
	cr_expect_eq(cfg.redis.command_timeout_ms, 5000);
	cr_expect_str_eq(cfg.daemon.state_dir, LOCALSTATEDIR "/lib/pricewatch");
	cr_expect_str_eq(cfg.daemon.pid_file, LOCALSTATEDIR "/lib/pricewatch/pricewatchd.pid");
	cr_expect_str_eq(cfg.daemon.log_level, "info");
	cr_expect_not(cfg.daemon.syslog);
	cr_expect_str_eq(cfg.daemon.admin_listen, "127.0.0.1:9466");
	cr_expect(strncmp(cfg.crawl.user_agent, "pricewatch/", 11) == 0, "%s", cfg.crawl.user_agent);
	cr_expect_eq(cfg.crawl.default_interval_ms, 3600000);
	cr_expect_eq(cfg.crawl.connect_timeout_ms, 10000);
	cr_expect_eq(cfg.crawl.timeout_ms, 30000);
	cr_expect_eq(cfg.crawl.max_body, 8u * 1024 * 1024);
	cr_expect_eq(cfg.crawl.max_redirects, 5);
	cr_expect_eq(cfg.crawl.concurrency, 8);
	cr_expect_eq(cfg.crawl.per_host_delay_ms, 1000);
	cr_expect(cfg.crawl.respect_robots);
	cr_expect_null(cfg.inference.model);
	cr_expect_str_eq(cfg.inference.backend, "auto");
	cr_expect_eq(cfg.inference.threads, 0);
	cr_expect_eq(cfg.n_sources, 0);
	cr_expect_eq(cfg.n_notifiers, 0);
	cr_expect_eq(cfg.n_rules, 0);
	config_free(&cfg);
	cr_expect_null(cfg.redis.prefix);
}

Test(config, example_file_loads)
{
	char *path = srcpath("data/pricewatch.conf.example");
	struct config cfg;
	char err[512];

	cr_assert(config_load(&cfg, path, err, sizeof(err)), "%s", err);
	cr_expect_str_eq(cfg.path, path);
	cr_expect_str_eq(cfg.redis.url, "redis://127.0.0.1:6379/0");
	cr_expect_eq(cfg.n_sources, 2);
	cr_expect_eq(cfg.sources[0].n_urls, 3);
	cr_expect_eq(cfg.n_notifiers, 3);
	cr_expect_eq(cfg.n_rules, 3);
	cr_expect_null(cfg.inference.model);
	config_free(&cfg);
	free(path);
}

Test(config, minimal_file_takes_defaults)
{
	struct config cfg;
	char err[512];

	cr_assert(load_fixture("minimal.conf", &cfg, err, sizeof(err)), "%s", err);
	cr_expect_str_eq(cfg.redis.prefix, "pw:");
	cr_expect_eq(cfg.crawl.concurrency, 8);
	cr_assert_eq(cfg.n_sources, 1);
	cr_expect_str_eq(cfg.sources[0].name, "only");
	cr_expect_eq(cfg.sources[0].interval_ms, 3600000);
	cr_expect(cfg.sources[0].enabled);
	cr_expect_null(cfg.sources[0].currency);
	cr_expect_eq(cfg.sources[0].line, 1);
	cr_expect_str_eq(cfg.daemon.pid_file, LOCALSTATEDIR "/lib/pricewatch/pricewatchd.pid");
	config_free(&cfg);
}

Test(config, full_file_values_lists_and_secrets)
{
	struct config cfg;
	char err[512];
	const struct config_source *s;
	char *dir;

	cr_assert(load_fixture("full.conf", &cfg, err, sizeof(err)), "%s", err);

	cr_expect_str_eq(cfg.redis.url, "unix:///run/pricewatch/redis.sock");
	cr_expect_str_eq(cfg.redis.prefix, "tenant1:");
	cr_expect_str_eq(cfg.redis.user, "pw");
	cr_expect_str_eq(cfg.redis.password, REDIS_SECRET);
	dir = fixture("redis.pass");
	cr_expect_str_eq(cfg.redis.password_file, dir);
	free(dir);
	cr_expect_eq(cfg.redis.connect_timeout_ms, 1500);
	cr_expect_eq(cfg.redis.command_timeout_ms, 60000);

	cr_expect_str_eq(cfg.daemon.state_dir, "/tmp/pw-state");
	cr_expect_str_eq(cfg.daemon.pid_file, "/tmp/pw-state/pricewatchd.pid");
	cr_expect_str_eq(cfg.daemon.log_level, "debug");
	cr_expect(cfg.daemon.syslog);
	cr_expect_str_eq(cfg.daemon.admin_listen, "[::1]:9999");

	cr_expect_str_eq(cfg.crawl.user_agent, "TestAgent/1.0");
	cr_expect_eq(cfg.crawl.default_interval_ms, 45 * 60000);
	cr_expect_eq(cfg.crawl.connect_timeout_ms, 3000);
	cr_expect_eq(cfg.crawl.timeout_ms, 60000);
	cr_expect_eq(cfg.crawl.max_body, 512u * 1024);
	cr_expect_eq(cfg.crawl.max_redirects, 0);
	cr_expect_eq(cfg.crawl.concurrency, 16);
	cr_expect_eq(cfg.crawl.per_host_delay_ms, 250);
	cr_expect_not(cfg.crawl.respect_robots);

	cr_expect_str_eq(cfg.inference.model, "/opt/models/m.onnx");
	cr_expect_str_eq(cfg.inference.backend, "cpu");
	cr_expect_eq(cfg.inference.threads, 4);

	cr_assert_eq(cfg.n_sources, 2);
	s = config_find_source(&cfg, "acme");
	cr_assert_not_null(s);
	cr_assert_eq(s->n_urls, 4);
	cr_expect_str_eq(s->urls[0], "https://acme.example/p/1");
	cr_expect_str_eq(s->urls[1], "https://acme.example/p/2");
	cr_expect_str_eq(s->urls[2], "http://acme.example/p/3");
	cr_expect_str_eq(s->urls[3], "file:///tmp/p4.html");
	cr_expect_str_eq(s->currency, "EUR");
	/* No interval of its own: the [crawl] interval, even though [crawl] comes later. */
	cr_expect_eq(s->interval_ms, 45 * 60000);
	cr_expect_eq(s->line, 16);
	s = config_find_source(&cfg, "beta.shop_2");
	cr_assert_not_null(s);
	cr_expect_eq(s->interval_ms, 150 * 60000);
	cr_expect_not(s->enabled);
	cr_expect_null(config_find_source(&cfg, "missing"));

	cr_assert_eq(cfg.n_notifiers, 2);
	cr_expect_str_eq(cfg.notifiers[0].name, "ops");
	cr_expect_str_eq(cfg.notifiers[0].type, "webhook");
	cr_expect_str_eq(cfg.notifiers[0].url, "https://hooks.example/x");
	cr_expect_str_eq(cfg.notifiers[0].secret, HMAC_SECRET, "CRLF stripped");
	cr_expect_str_eq(cfg.notifiers[1].type, "email");
	cr_assert_eq(cfg.notifiers[1].n_to, 3);
	cr_expect_str_eq(cfg.notifiers[1].to[0], "a@example.com");
	cr_expect_str_eq(cfg.notifiers[1].to[1], "b@example.com");
	cr_expect_str_eq(cfg.notifiers[1].to[2], "c@example.com");
	cr_expect_null(cfg.notifiers[1].secret);

	cr_assert_eq(cfg.n_rules, 2);
	cr_expect_str_eq(cfg.rules[0].name, "big-drop");
	cr_expect_str_eq(cfg.rules[0].kind, "drop");
	cr_expect_str_eq(cfg.rules[0].percent, "12.5");
	cr_expect_str_eq(cfg.rules[0].amount, "5.00");
	cr_expect_null(cfg.rules[0].target);
	cr_expect_eq(cfg.rules[0].days, 30);
	cr_expect_str_eq(cfg.rules[0].scope, "source:acme");
	cr_expect_eq(cfg.rules[0].cooldown_ms, 6 * 3600000);
	cr_assert_eq(cfg.rules[0].n_notify, 2);
	cr_expect_str_eq(cfg.rules[0].notify[0], "ops");
	cr_expect_str_eq(cfg.rules[0].notify[1], "mail");
	cr_expect_str_eq(cfg.rules[1].target, "19.99");
	cr_expect_str_eq(cfg.rules[1].scope, "all");
	cr_expect_eq(cfg.rules[1].n_notify, 2);
	config_free(&cfg);
	cr_expect_null(cfg.redis.password);
	cr_expect_eq(cfg.n_rules, 0);
}

struct bad_case {
	const char *file;
	int line;               /* 0: no line number in the message */
	const char *needles[3]; /* substrings the message must contain */
};

static const struct bad_case bad_cases[] = {
	{ "bad-unknown-section.conf", 3, { "unknown section", "[cache]" } },
	{ "bad-unknown-key.conf", 3, { "unknown key", "'speed'", "[crawl]" } },
	{ "bad-duration.conf", 3, { "duration", "'5 minutes'", "interval" } },
	{ "bad-size.conf", 2, { "size", "'8 MB'", "max-body" } },
	{ "bad-bool.conf", 3, { "boolean", "'maybe'", "respect-robots" } },
	{ "bad-int.conf", 2, { "integer", "'eight'", "concurrency" } },
	{ "bad-dup-source.conf", 5, { "duplicate source", "'a'", "line 1" } },
	{ "bad-dup-notifier.conf", 3, { "duplicate notifier", "'n'", "line 1" } },
	{ "bad-dup-rule.conf", 5, { "duplicate rule", "'r'", "line 3" } },
	{ "bad-source-no-url.conf", 4, { "source \"empty\"", "no url" } },
	{ "bad-url-scheme.conf", 3, { "scheme", "ftp://files.example/list", "https://" } },
	{ "bad-currency.conf", 3, { "currency", "'EURO'", "ISO 4217" } },
	{ "bad-secret-file.conf", 3, { "password-file", "missing.pass", "No such file or directory" } },
	{ "bad-unknown-notifier.conf", 8, { "rule \"r2\"", "unknown notifier", "'pager'" } },
	{ "bad-malformed.conf", 3, { "malformed line", "key = value" } },
	{ "bad-outside-section.conf", 2, { "outside any section", "'interval'" } },
	{ "bad-section-header.conf", 3, { "malformed section header", "]" } },
	{ "bad-inline-secret.conf", 2, { "password", "password-file" } },
	{ "bad-after-secret.conf", 8, { "timeout", "duration" } },
	{ "bad-percent.conf", 3, { "percent", "'150'" } },
	{ "bad-first-error.conf", 3, { "timeout", "'forever'" } },
	{ "bad-source-name.conf", 1, { "source name", "'has space'" } },
	{ "bad-empty-secret.conf", 4, { "secret-file", "empty.secret", "is empty" } },
};

Test(config, every_error_class_names_file_line_and_value)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];
		char *path = fixture(bc->file);
		char *prefix = xasprintf("%s:%d: ", path, bc->line);
		struct config cfg;
		char err[1024];

		memset(&cfg, 0xA5, sizeof(cfg));
		cr_expect_not(config_load(&cfg, path, err, sizeof(err)), "%s loaded", bc->file);
		cr_expect(strncmp(err, prefix, strlen(prefix)) == 0, "%s: want prefix '%s', got '%s'",
		    bc->file, prefix, err);
		for (size_t j = 0; j < 3 && bc->needles[j] != NULL; j++)
			cr_expect(strstr(err, bc->needles[j]) != NULL, "%s: '%s' not in '%s'",
			    bc->file, bc->needles[j], err);
		/* No secret, read from a file or written inline, ever shows up in a message. */
		cr_expect(strstr(err, REDIS_SECRET) == NULL, "%s leaks: %s", bc->file, err);
		cr_expect(strstr(err, HMAC_SECRET) == NULL, "%s leaks: %s", bc->file, err);
		cr_expect(strstr(err, "hunter2") == NULL, "%s leaks: %s", bc->file, err);
		/* A failed load leaves the struct freed and zeroed. */
		cr_expect_null(cfg.redis.prefix, "%s", bc->file);
		cr_expect_eq(cfg.n_sources, 0, "%s", bc->file);
		free(prefix);
		free(path);
	}
}

Test(config, missing_file)
{
	struct config cfg;
	char err[512], *want;

	cr_expect_not(config_load(&cfg, "/nonexistent/pricewatch.conf", err, sizeof(err)));
	want = xasprintf("%s: cannot open: %s", "/nonexistent/pricewatch.conf", strerror(ENOENT));
	cr_expect_str_eq(err, want);
	cr_expect_str_eq(err, "/nonexistent/pricewatch.conf: cannot open: No such file or directory");
	free(want);
}

/* Writes text into a temporary config file; the caller unlinks and frees. */
static char *
temp_conf(const char *text)
{
	char *path = xstrdup("/tmp/pw-config-test-XXXXXX");
	int fd = mkstemp(path);
	size_t len = strlen(text);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void
expect_error(const char *text, int line, const char *needle)
{
	char *path = temp_conf(text);
	char *prefix = xasprintf("%s:%d: ", path, line);
	struct config cfg;
	char err[1024];

	cr_expect_not(config_load(&cfg, path, err, sizeof(err)), "loaded: %s", text);
	cr_expect(strncmp(err, prefix, strlen(prefix)) == 0, "want '%s', got '%s'", prefix, err);
	cr_expect(strstr(err, needle) != NULL, "'%s' not in '%s'", needle, err);
	unlink(path);
	free(path);
	free(prefix);
}

Test(config, more_value_checks)
{
	expect_error("[crawl]\ninterval = 0\n", 2, "greater than zero");
	expect_error("[crawl]\nmax-body = 99999999999999999999\n", 2, "max-body");
	expect_error("[crawl]\nconcurrency = 0\n", 2, "from 1 to 1024");
	expect_error("[daemon]\nlog-level = loud\n", 2, "'loud'");
	expect_error("[daemon]\nadmin-listen = localhost\n", 2, "'localhost'");
	expect_error("[redis]\nurl = http://redis.example/\n", 2, "scheme");
	expect_error("[redis]\n\n  prefix = \n", 3, "prefix");
	expect_error("[notifier \"x\"]\ntype = pager\n", 2, "'pager'");
	expect_error("[notifier \"x\"]\ntype = webhook\n", 1, "needs 'url");
	expect_error("[notifier \"x\"]\ntype = email\nto = nobody\n", 3, "'nobody'");
	expect_error("[notifier \"x\"]\nurl = https://h.example/\n", 1, "no type");
	expect_error("[rule \"r\"]\nkind = sideways\n", 2, "'sideways'");
	expect_error("[rule \"r\"]\nkind = drop\n", 1, "percent");
	expect_error("[rule \"r\"]\nkind = below\n", 1, "target");
	expect_error("[rule \"r\"]\nkind = drop\npercent = 1.23456\n", 3, "'1.23456'");
	expect_error("[rule \"r\"]\nkind = drop\npercent = 0\n", 3, "'0'");
	expect_error("[rule \"r\"]\nkind = drop\namount = -1\n", 3, "'-1'");
	expect_error("[rule \"r\"]\nkind = any-change\nscope = everything\n", 3, "'everything'");
	expect_error("[rule \"r\"]\nkind = any-change\nscope = source:nope\n", 1, "'nope'");
	expect_error("[source \"s\"]\nurl = https://s.example/\ninterval = 1x\n", 3, "'1x'");
	expect_error("[source \"s\"]\nurl = https://s.example/\nenabled = perhaps\n", 3, "'perhaps'");
	expect_error("[source \"s\"]\nurl = ,\n", 2, "empty");
	expect_error("[source]\nurl = https://s.example/\n", 1, "quoted name");
	expect_error("[redis \"x\"]\n", 1, "takes no name");
	expect_error("[crawl] junk\n", 1, "after ']'");
	expect_error("[source \"s\"]\nurl = https://s.example/\n[daemon]\n[source \"t\"]\n", 4, "no url");
}

Test(config, long_lines_and_bytes)
{
	size_t n = 9000;
	char *text = xmalloc(n + 64), *path;
	struct config cfg;
	char err[512];
	int len;

	/* A 7000-byte URL fits; a 9000-byte line does not and is refused, not split. */
	len = snprintf(text, n + 64, "[source \"s\"]\nurl = https://s.example/");
	memset(text + len, 'a', 7000);
	strcpy(text + len + 7000, "\n");
	path = temp_conf(text);
	cr_assert(config_load(&cfg, path, err, sizeof(err)), "%s", err);
	cr_expect_eq(strlen(cfg.sources[0].urls[0]), 7000 + strlen("https://s.example/"));
	config_free(&cfg);
	unlink(path);
	free(path);

	memset(text + len, 'a', n);
	strcpy(text + len + n, "\n");
	path = temp_conf(text);
	cr_expect_not(config_load(&cfg, path, err, sizeof(err)));
	cr_expect(strstr(err, ":2: line too long") != NULL, "%s", err);
	unlink(path);
	free(path);
	free(text);
}

Test(config, comments_bom_and_colon_syntax)
{
	char *path = temp_conf("\xEF\xBB\xBF# comment\n; another\n[crawl]  ; trailing\n"
	    "interval: 2h\n   timeout = 9s ; inline\n\n[source \"s\"]\n"
	    "url = https://s.example/a;b\n");
	struct config cfg;
	char err[512];

	cr_assert(config_load(&cfg, path, err, sizeof(err)), "%s", err);
	cr_expect_eq(cfg.crawl.default_interval_ms, 7200000);
	cr_expect_eq(cfg.crawl.timeout_ms, 9000);
	cr_expect_str_eq(cfg.sources[0].urls[0], "https://s.example/a;b");
	config_free(&cfg);
	unlink(path);
	free(path);
}

Test(config, relative_secret_resolves_against_config_dir)
{
	char *rel = fixture("full.conf");
	char *path = realpath(rel, NULL);
	char *cwd = getcwd(NULL, 0);
	struct config cfg;
	char err[512];
	bool ok;

	cr_assert_not_null(path);
	cr_assert_not_null(cwd);
	/* From another working directory, "redis.pass" still means the file beside full.conf. */
	cr_assert_eq(chdir("/"), 0);
	ok = config_load(&cfg, path, err, sizeof(err));
	cr_assert_eq(chdir(cwd), 0);
	cr_assert(ok, "%s", err);
	cr_expect_str_eq(cfg.redis.password, REDIS_SECRET);
	cr_expect_str_eq(cfg.notifiers[0].secret, HMAC_SECRET);
	config_free(&cfg);
	free(cwd);
	free(path);
	free(rel);
}

Test(config, crawl_source_match_and_notifier_extensions)
{
	char *path = temp_conf(
	    "[crawl]\nmax-connections-per-host = 4\nrobots-ttl = 2h\nretries = 5\nretry-delay = 250ms\n"
	    "retry-max-delay = 1m\nlow-speed-limit = 1KiB\nlow-speed-time = 10s\nmax-image-size = 2MiB\n"
	    "[match]\nthreshold = 0.65\ntop-k = 3\nmin-image-size = 96\nembedding-output = block_10\n"
	    "[source \"s\"]\nurl = https://s.example/c?page={1..3}\nsitemap = https://s.example/sitemap.xml.gz\n"
	    "sitemap-filter = /product/[0-9]+$\nnext-page = //a[@rel='next']/@href\nmax-pages = 50\n"
	    "allow-private = yes\nproxy = socks5h://127.0.0.1:1080\nheader = Accept-Language: de-CH\n"
	    "header = X-Shop: 1\ndecimal-separator = ,\ntags = tools, kitchen\nper-host-delay = 0\n"
	    "item-xpath = //li[@class='product']\nprice-xpath = .//span[@class='price']\n"
	    "[notifier \"slack\"]\ntype = webhook\nurl = https://hooks.example/x\nformat = slack\n"
	    "[notifier \"mail\"]\ntype = email\nurl = smtp://127.0.0.1:2525\nto = a@b.example\n"
	    "from = pw@shop.example\ndigest = 15m\ntimeout = 3s\nca-file = /dev/null\n");
	struct config cfg;
	char err[1024];
	const struct config_source *s;

	cr_assert(config_load(&cfg, path, err, sizeof(err)), "%s", err);
	cr_expect_eq(cfg.crawl.max_per_host, 4);
	cr_expect_eq(cfg.crawl.robots_ttl_ms, 2 * 3600 * 1000LL);
	cr_expect_eq(cfg.crawl.retries, 5);
	cr_expect_eq(cfg.crawl.retry_delay_ms, 250);
	cr_expect_eq(cfg.crawl.retry_max_delay_ms, 60000);
	cr_expect_eq(cfg.crawl.low_speed_limit, 1024);
	cr_expect_eq(cfg.crawl.low_speed_time_ms, 10000);
	cr_expect_eq(cfg.crawl.max_image_body, 2 * 1024 * 1024);
	cr_expect(cfg.match.enabled);
	cr_expect_str_eq(cfg.match.threshold, "0.65");
	cr_expect_eq(cfg.match.top_k, 3);
	cr_expect_eq(cfg.match.min_image_px, 96);
	cr_expect_str_eq(cfg.match.embedding_output, "block_10");
	s = config_find_source(&cfg, "s");
	cr_assert_not_null(s);
	cr_expect_str_eq(s->urls[0], "https://s.example/c?page={1..3}");
	cr_assert_eq(s->n_sitemaps, 1);
	cr_expect_str_eq(s->sitemap_filter, "/product/[0-9]+$");
	cr_expect_str_eq(s->next_page, "//a[@rel='next']/@href");
	cr_expect_eq(s->max_pages, 50);
	cr_expect(s->allow_private);
	cr_expect_str_eq(s->proxy, "socks5h://127.0.0.1:1080");
	cr_assert_eq(s->n_headers, 2);
	cr_expect_str_eq(s->headers[1], "X-Shop: 1");
	cr_expect_eq(s->decimal_separator, ',');
	cr_assert_eq(s->n_tags, 2);
	cr_expect_str_eq(s->tags[1], "kitchen");
	cr_expect_eq(s->per_host_delay_ms, 0);
	cr_expect_str_eq(s->xpath.item, "//li[@class='product']");
	cr_expect_str_eq(s->xpath.price, ".//span[@class='price']");
	cr_expect_null(s->xpath.title);
	cr_expect_eq(s->xpath.line, 28, "%d", s->xpath.line);
	cr_expect_str_eq(cfg.notifiers[0].format, "slack");
	cr_expect_str_eq(cfg.notifiers[1].format, "generic");
	cr_expect_str_eq(cfg.notifiers[1].from, "pw@shop.example");
	cr_expect_eq(cfg.notifiers[1].digest_ms, 15 * 60 * 1000);
	cr_expect_eq(cfg.notifiers[1].timeout_ms, 3000);
	cr_expect_str_eq(cfg.notifiers[1].ca_file, "/dev/null");
	cr_expect_null(cfg.notifiers[0].ca_file);
	config_free(&cfg);
	unlink(path);
	free(path);

	expect_error("[source \"s\"]\nurl = https://s.example/\nsitemap-filter = ([a\n", 3, "sitemap-filter");
	expect_error("[source \"s\"]\nurl = https://s.example/\nproxy = ftp://p.example\n", 3, "proxy");
	expect_error("[source \"s\"]\nurl = https://s.example/\nheader = NoColon\n", 3, "'NoColon'");
	expect_error("[source \"s\"]\nurl = https://s.example/\ndecimal-separator = ;\n", 3, "separator");
	expect_error("[source \"s\"]\nurl = https://s.example/\nprice-xpath =\n", 3, "XPath");
	expect_error("[match]\nthreshold = 1.5\n", 2, "'1.5'");
	expect_error("[notifier \"n\"]\nformat = mattermost\n", 2, "'mattermost'");
	expect_error("[notifier \"n\"]\nca-file = /nonexistent/ca.pem\n", 2, "/nonexistent/ca.pem");
}
