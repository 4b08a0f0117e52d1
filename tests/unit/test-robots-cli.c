/* test-robots-cli.c: "pricewatch robots" through cli_run: verdict lines, exit codes, formats and error messages. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "cli/cli.h"
#include "harness/cli-run.h"
#include "common/util.h"

struct run {
	int rc;
	char *out, *err;
	size_t out_len, err_len;
};

static void
run_cli(struct run *r, int argc, char **argv)
{
	memset(r, 0, sizeof *r);
	r->rc = test_cli_run(argc, (const char *const *)argv, &r->out, &r->err, &r->out_len);
}

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

#define RUN(r, ...) do { \
	char *args_[] = { "pricewatch", __VA_ARGS__ }; \
	run_cli((r), (int)(sizeof args_ / sizeof args_[0]), args_); \
} while (0)

/* Path of a fixture under tests/unit/robots/; caller frees. */
static char *
fixture(const char *name)
{
	const char *top = getenv("PW_TOP_SRCDIR");
	return xasprintf("%s/tests/unit/robots/%s", top != NULL ? top : "..", name);
}

Test(robots_cli, rfc_example_verdicts_and_exit_1)
{
	struct run r;
	char *path = fixture("rfc9309-5.1.txt");

	RUN(&r, "robots", "--agent", "foobot/2.0", path, "https://www.example.com/example/page.html",
	    "https://www.example.com/example/disallowed.gif", "/example/allowed.gif");
	cr_assert_eq(r.rc, 1, "%s", r.err);
	cr_assert_str_eq(r.out,
	    "allow https://www.example.com/example/page.html\n"
	    "disallow https://www.example.com/example/disallowed.gif\n"
	    "allow /example/allowed.gif\n");
	/* The fixture's last line ("EOF") is reported with its place. */
	cr_assert_not_null(strstr(r.err, "rfc9309-5.1.txt:17: line ignored: "), "%s", r.err);
	run_free(&r);
	free(path);
}

Test(robots_cli, several_ignored_lines_are_summed_up)
{
	struct run r;
	char *path = fixture("messy.txt");

	RUN(&r, "robots", "--agent", "somebot", path, "/style.css");
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "allow /style.css\n");
	cr_assert_not_null(strstr(r.err, "messy.txt:2: 5 lines ignored, the first here"), "%s", r.err);
	run_free(&r);
	free(path);
}

Test(robots_cli, all_allowed_exit_0)
{
	struct run r;
	char *path = fixture("rfc9309-5.1.txt");

	RUN(&r, "robots", "-a", "quxbot", path, "/example/page.html", "/x.gif");
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "allow /example/page.html\nallow /x.gif\n");
	run_free(&r);
	free(path);
}

Test(robots_cli, json_and_csv)
{
	struct run r;
	char *path = fixture("bom-crlf.txt");

	RUN(&r, "robots", "--json", "--agent", "pricewatch", path, "/private/x", "/public");
	cr_assert_eq(r.rc, 1, "%s", r.err);
	{
		struct json_object *root = json_tokener_parse(r.out), *v, *res, *maps;
		cr_assert_not_null(root, "%s", r.out);
		cr_assert(json_object_object_get_ex(root, "agent", &v));
		cr_assert_str_eq(json_object_get_string(v), "pricewatch");
		cr_assert(json_object_object_get_ex(root, "crawl_delay_ms", &v));
		cr_assert_eq(json_object_get_int64(v), 2500);
		cr_assert(json_object_object_get_ex(root, "sitemaps", &maps));
		cr_assert_eq(json_object_array_length(maps), 2);
		cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(maps, 0)),
		    "https://shop.example/sitemap.xml");
		cr_assert(json_object_object_get_ex(root, "results", &res));
		cr_assert_eq(json_object_array_length(res), 2);
		cr_assert(json_object_object_get_ex(json_object_array_get_idx(res, 0), "url", &v));
		cr_assert_str_eq(json_object_get_string(v), "/private/x");
		cr_assert(json_object_object_get_ex(json_object_array_get_idx(res, 0), "allowed", &v));
		cr_assert_not(json_object_get_boolean(v));
		cr_assert(json_object_object_get_ex(json_object_array_get_idx(res, 1), "allowed", &v));
		cr_assert(json_object_get_boolean(v));
		json_object_put(root);
	}
	run_free(&r);

	/* No Crawl-delay for this agent: null, not a made-up number. */
	RUN(&r, "robots", "--json", "--agent", "otherbot", path, "/public");
	cr_assert_eq(r.rc, 1, "%s", r.err);
	{
		struct json_object *root = json_tokener_parse(r.out), *v = NULL;
		cr_assert_not_null(root, "%s", r.out);
		cr_assert(json_object_object_get_ex(root, "crawl_delay_ms", &v));
		cr_assert_null(v);
		json_object_put(root);
	}
	run_free(&r);

	RUN(&r, "--csv", "robots", "--agent", "pricewatch", path, "/private/x", "/a,b");
	cr_assert_eq(r.rc, 1, "%s", r.err);
	cr_assert_str_eq(r.out, "verdict,url\r\ndisallow,/private/x\r\nallow,\"/a,b\"\r\n");
	run_free(&r);
	free(path);
}

Test(robots_cli, default_agent_comes_from_the_configuration)
{
	struct run r;
	char conf[] = "/tmp/pw-robots-cli-XXXXXX";
	char *path = fixture("bom-crlf.txt");
	int fd = mkstemp(conf);
	static const char text[] = "[crawl]\nuser-agent = pricewatch/9.9 (+https://example.org/bot)\n";

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
	close(fd);
	/* pricewatch's group disallows /private/ only; "*" would disallow everything. */
	RUN(&r, "-c", conf, "robots", path, "/public", "/private/x");
	cr_assert_eq(r.rc, 1, "%s", r.err);
	cr_assert_str_eq(r.out, "allow /public\ndisallow /private/x\n");
	run_free(&r);
	unlink(conf);
	free(path);
}

Test(robots_cli, usage_and_read_errors)
{
	struct run r;
	char *path = fixture("bom-crlf.txt");

	RUN(&r, "robots");
	cr_assert_eq(r.rc, 2);
	cr_assert_not_null(strstr(r.err, "no robots.txt file given"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "usage: pricewatch robots"), "%s", r.err);
	run_free(&r);

	RUN(&r, "robots", "--agent", "x", path);
	cr_assert_eq(r.rc, 2);
	cr_assert_not_null(strstr(r.err, "no URL given"), "%s", r.err);
	run_free(&r);

	RUN(&r, "robots", "--agent", "", path, "/x");
	cr_assert_eq(r.rc, 2);
	run_free(&r);

	RUN(&r, "robots", "--bogus", path, "/x");
	cr_assert_eq(r.rc, 2);
	cr_assert_not_null(strstr(r.err, "unknown option '--bogus'"), "%s", r.err);
	run_free(&r);

	RUN(&r, "robots", "--agent", "x", "/nonexistent/robots.txt", "/x");
	cr_assert_eq(r.rc, 4);
	cr_assert_str_eq(r.err, "pricewatch: cannot read /nonexistent/robots.txt: No such file or directory\n");
	cr_assert_str_eq(r.out, "");
	run_free(&r);

	RUN(&r, "help", "robots");
	cr_assert_eq(r.rc, 0);
	cr_assert_not_null(strstr(r.out, "Exit status: 0 every URL allowed, 1 at least one disallowed"), "%s",
	    r.out);
	run_free(&r);
	free(path);
}

Test(robots_cli, oversized_file_is_read_up_to_the_limit)
{
	struct run r;
	char name[] = "/tmp/pw-robots-big-XXXXXX";
	int fd = mkstemp(name);
	static const char head[] = "User-agent: *\nDisallow: /private\n";
	char filler[4096];

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, head, sizeof head - 1), (ssize_t)(sizeof head - 1));
	memset(filler, '#', sizeof filler);
	filler[sizeof filler - 1] = '\n';
	for (int i = 0; i < 200; i++)   /* 800 KiB of comments */
		cr_assert_eq(write(fd, filler, sizeof filler), (ssize_t)sizeof filler);
	cr_assert_eq(write(fd, "Disallow: /late\n", 16), 16);
	close(fd);

	RUN(&r, "robots", "--agent", "bot", name, "/private/a", "/late");
	cr_assert_eq(r.rc, 1);
	cr_assert_str_eq(r.out, "disallow /private/a\nallow /late\n");
	cr_assert_not_null(strstr(r.err, "only the first 512000 were read"), "%s", r.err);
	run_free(&r);
	unlink(name);
}
