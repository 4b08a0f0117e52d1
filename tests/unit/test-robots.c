/* test-robots.c: the robots.txt parser against every example in RFC 9309, Google's precedence examples and hostile input. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/util.h"
#include "crawl/robots.h"

static struct robots *
parse_str(const char *text)
{
	return robots_parse(text, strlen(text));
}

/* Loads tests/unit/robots/NAME from the source tree ($PW_TOP_SRCDIR, or the build's parent). */
static struct robots *
parse_fixture(const char *name)
{
	const char *top = getenv("PW_TOP_SRCDIR");
	char *path = xasprintf("%s/tests/unit/robots/%s", top != NULL ? top : "..", name);
	size_t len = 0;
	char *text = read_file(path, 1024 * 1024, &len);
	struct robots *r;

	cr_assert_not_null(text, "cannot read fixture %s", path);
	r = robots_parse(text, len);
	free(text);
	free(path);
	return r;
}

/* Asserts the verdict for one (agent, url) pair with a message naming both. */
static void
expect(const struct robots *r, const char *agent, const char *url, bool want)
{
	cr_expect_eq(robots_allowed(r, agent, url), want, "%s %s: expected %s", agent, url,
	    want ? "allow" : "disallow");
}

/* One robots.txt with a single group for "*" holding the given lines. */
static struct robots *
star_group(const char *rules)
{
	char *text = xasprintf("User-agent: *\n%s", rules);
	struct robots *r = parse_str(text);
	free(text);
	return r;
}

/* ---- RFC 9309 examples ---- */

/* 2.2.1: groups naming the same agent are combined; matching is case-insensitive on the product token. */
Test(robots_rfc, combined_groups_for_the_same_agent)
{
	struct robots *r = parse_str(
	    "user-agent: ExampleBot\n"
	    "disallow: /foo\n"
	    "disallow: /bar\n"
	    "\n"
	    "user-agent: ExampleBot\n"
	    "disallow: /baz\n");

	expect(r, "ExampleBot", "/foo", false);
	expect(r, "ExampleBot", "/bar", false);
	expect(r, "ExampleBot", "/baz", false);
	expect(r, "ExampleBot", "/qux", true);
	/* The product token of a full User-Agent header, in any case. */
	expect(r, "ExampleBot/1.1 (+https://www.example.com/bot.html)", "/baz/1", false);
	expect(r, "examplebot", "/foo", false);
	expect(r, "EXAMPLEBOT", "/bar", false);
	/* Another agent: no group, no "*": no rules apply. */
	expect(r, "OtherBot", "/foo", true);
	cr_assert_eq(robots_stats(r)->groups, 2);
	cr_assert_eq(robots_stats(r)->rules, 3);
	robots_free(r);
}

/* 2.2.2 and 5.2: the most specific (longest) match wins. */
Test(robots_rfc, longest_match)
{
	struct robots *r = parse_str(
	    "User-Agent: foobot\n"
	    "Allow: /example/page/\n"
	    "Disallow: /example/page/disallowed.gif\n");

	expect(r, "foobot", "/example/page/", true);
	expect(r, "foobot", "/example/page/allowed.gif", true);
	expect(r, "foobot", "/example/page/disallowed.gif", false);
	expect(r, "foobot", "/example/page/disallowed.gif?x=1", false);
	robots_free(r);
}

/* 2.2.2: encoding table. Rows: raw path, its encoded form; both spellings must compare equal. */
Test(robots_rfc, percent_encoding_table)
{
	static const struct {
		const char *in, *norm;
	} rows[] = {
		{ "/foo/bar?baz=quz", "/foo/bar?baz=quz" },
		{ "/foo/bar?baz=https://foo.bar", "/foo/bar?baz=https%3A%2F%2Ffoo.bar" },
		{ "/foo/bar/\xE3\x83\x84", "/foo/bar/%E3%83%84" },
		{ "/foo/bar/%E3%83%84", "/foo/bar/%E3%83%84" },
		{ "/foo/bar/%62%61%7A", "/foo/bar/baz" },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char *n = robots_normalise(rows[i].in, strlen(rows[i].in));
		cr_expect_str_eq(n, rows[i].norm, "row %zu", i);
		free(n);
	}
	/* The rule written one way matches the URL written the other way, both directions. */
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char *rules = xasprintf("Disallow: %s$\n", rows[i].in);
		struct robots *r = star_group(rules);
		expect(r, "bot", rows[i].norm, false);
		expect(r, "bot", rows[i].in, false);
		free(rules);
		robots_free(r);
		rules = xasprintf("Disallow: %s$\n", rows[i].norm);
		r = star_group(rules);
		expect(r, "bot", rows[i].in, false);
		free(rules);
		robots_free(r);
	}
}

/* 2.2.3: '#' comments, '$' end anchor, '*' wildcard, and percent-encoded special characters. */
Test(robots_rfc, special_characters)
{
	struct robots *r = star_group(
	    "allow: / # comment in line\n"
	    "# comment on its own line\n"
	    "disallow: /this/\n"
	    "allow: /this/*/exactly\n"
	    "disallow: /path/file-with-a-%2A.html\n"
	    "disallow: /path/foo-%24\n");

	expect(r, "bot", "/this/path/exactly", true);
	expect(r, "bot", "/this/other/exactly", true);
	expect(r, "bot", "/this/a/b/c/exactly.html", true);  /* '*' spans slashes */
	expect(r, "bot", "/this/other/not", false);
	expect(r, "bot", "/elsewhere", true);
	/* Literal '*' and '$' in a URL are matched by their escapes in the pattern. */
	expect(r, "bot", "https://www.example.com/path/file-with-a-*.html", false);
	expect(r, "bot", "https://www.example.com/path/file-with-a-x.html", true);
	expect(r, "bot", "https://www.example.com/path/foo-$", false);
	expect(r, "bot", "https://www.example.com/path/foo-x", true);
	cr_assert_eq(robots_stats(r)->ignored, 0);
	robots_free(r);

	r = star_group("disallow: /this/\nallow: /this/path/exactly$\n");
	expect(r, "bot", "/this/path/exactly", true);
	expect(r, "bot", "/this/path/exactly/not", false);   /* "$": nothing may follow */
	expect(r, "bot", "/this/path/exactly?x", false);
	robots_free(r);
}

/* 5.1: the simple example, read from a fixture file (its last line, "EOF", is garbage). */
Test(robots_rfc, simple_example)
{
	struct robots *r = parse_fixture("rfc9309-5.1.txt");

	/* foobot: "Disallow: /" with two exact allows. */
	expect(r, "foobot", "https://www.example.com/example/page.html", true);
	expect(r, "foobot", "https://www.example.com/example/allowed.gif", true);
	expect(r, "foobot", "https://www.example.com/example/disallowed.gif", false);
	expect(r, "foobot", "https://www.example.com/", false);
	expect(r, "foobot", "https://www.example.com/publications/", false);
	/* barbot and bazbot share a group: only /example/page.html is off limits. */
	expect(r, "barbot", "https://www.example.com/example/page.html", false);
	expect(r, "barbot", "https://www.example.com/example/allowed.gif", true);
	expect(r, "bazbot", "https://www.example.com/example/page.html", false);
	expect(r, "bazbot", "https://www.example.com/example/disallowed.gif", true);
	/* quxbot's group is empty: everything allowed, the "*" group does not apply to it. */
	expect(r, "quxbot", "https://www.example.com/example/page.html", true);
	expect(r, "quxbot", "https://www.example.com/image.gif", true);
	/* Everyone else follows "*". */
	expect(r, "otherbot", "https://www.example.com/image.gif", false);
	expect(r, "otherbot", "https://www.example.com/a/b/image.gif", false);
	expect(r, "otherbot", "https://www.example.com/image.gif?size=2", true);  /* "$" */
	expect(r, "otherbot", "https://www.example.com/example/", false);
	expect(r, "otherbot", "https://www.example.com/example/page.html", false);
	expect(r, "otherbot", "https://www.example.com/publications/", true);
	/* "/publications/" (14 octets) outweighs "*.gif$" (6): longest match, not "disallow wins". */
	expect(r, "otherbot", "https://www.example.com/publications/cover.gif", true);
	expect(r, "otherbot", "https://www.example.com/", true);
	/* /robots.txt is always allowed (2.2.2), even for foobot. */
	expect(r, "foobot", "https://www.example.com/robots.txt", true);

	cr_assert_eq(robots_stats(r)->groups, 4);
	cr_assert_eq(robots_stats(r)->rules, 7);
	cr_assert_eq(robots_stats(r)->ignored, 1);
	cr_assert_eq(robots_stats(r)->first_ignored_line, 17);
	cr_assert_not(robots_stats(r)->truncated);
	robots_free(r);
}

/* 2.3.1: what the HTTP status of GET /robots.txt means. */
Test(robots_rfc, status_handling)
{
	struct robots *r;

	cr_assert_eq(robots_policy_for_status(200), ROBOTS_USE_BODY);
	cr_assert_eq(robots_policy_for_status(204), ROBOTS_USE_BODY);
	cr_assert_eq(robots_policy_for_status(404), ROBOTS_ALLOW_ALL);
	cr_assert_eq(robots_policy_for_status(401), ROBOTS_ALLOW_ALL);
	cr_assert_eq(robots_policy_for_status(403), ROBOTS_ALLOW_ALL);
	cr_assert_eq(robots_policy_for_status(410), ROBOTS_ALLOW_ALL);
	cr_assert_eq(robots_policy_for_status(429), ROBOTS_DISALLOW_ALL);
	cr_assert_eq(robots_policy_for_status(500), ROBOTS_DISALLOW_ALL);
	cr_assert_eq(robots_policy_for_status(503), ROBOTS_DISALLOW_ALL);
	cr_assert_eq(robots_policy_for_status(0), ROBOTS_DISALLOW_ALL);     /* unreachable */
	cr_assert_eq(robots_policy_for_status(302), ROBOTS_DISALLOW_ALL);   /* too many redirects */

	r = robots_from_fetch(404, "User-agent: *\nDisallow: /\n", 26);  /* a 404 body is no robots.txt */
	expect(r, "bot", "/anything", true);
	robots_free(r);
	r = robots_from_fetch(503, NULL, 0);
	expect(r, "bot", "/anything", false);
	expect(r, "bot", "/", false);
	expect(r, "bot", "/robots.txt", true);
	cr_assert_eq(robots_crawl_delay_ms(r, "bot"), -1);
	robots_free(r);
	r = robots_from_fetch(200, "User-agent: *\nDisallow: /x\n", 26);
	expect(r, "bot", "/x", false);
	expect(r, "bot", "/y", true);
	robots_free(r);
	/* An empty 200 body: no rules at all. */
	r = robots_from_fetch(200, "", 0);
	expect(r, "bot", "/x", true);
	robots_free(r);
}

/* ---- Google's documented examples (developers.google.com robots.txt specification) ---- */

/* The precedence table: URL, allow, disallow, verdict. */
Test(robots_google, precedence_table)
{
	static const struct {
		const char *url, *allow, *disallow;
		bool allowed;
	} rows[] = {
		{ "https://example.com/page", "/p", "/", true },
		{ "https://example.com/folder/page", "/folder", "/folder", true },  /* tie: least restrictive */
		{ "https://example.com/page.htm", "/page", "/*.htm", false },       /* 6 octets beat 5 */
		{ "https://example.com/page.php5", "/page", "/*.ph", true },       /* 5 vs 5: allow */
		{ "https://example.com/", "/$", "/", true },
		{ "https://example.com/page.htm", "/$", "/", false },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char *text = xasprintf("user-agent: *\nallow: %s\ndisallow: %s\n", rows[i].allow, rows[i].disallow);
		struct robots *r = parse_str(text);
		expect(r, "googlebot", rows[i].url, rows[i].allowed);
		/* Rule order must not matter. */
		robots_free(r);
		free(text);
		text = xasprintf("user-agent: *\ndisallow: %s\nallow: %s\n", rows[i].disallow, rows[i].allow);
		r = parse_str(text);
		expect(r, "googlebot", rows[i].url, rows[i].allowed);
		robots_free(r);
		free(text);
	}
}

/* The path-matching table: each pattern with URLs it matches and URLs it does not. */
Test(robots_google, path_matching_examples)
{
	static const struct {
		const char *pattern;
		const char *match[7];
		const char *no_match[6];
	} rows[] = {
		{ "/", { "/", "/any", "/a/b?c" }, { NULL } },
		{ "/*", { "/", "/any", "/a/b?c" }, { NULL } },
		{ "/$", { "/" }, { "/a", "/?x=1" } },
		{ "/fish", { "/fish", "/fish.html", "/fish/salmon.html", "/fishheads", "/fishheads/yummy.html",
		    "/fish.php?id=anything" }, { "/Fish.asp", "/catfish", "/?id=fish", "/desert/fish" } },
		{ "/fish*", { "/fish", "/fish.html", "/fish/salmon.html", "/fishheads", "/fishheads/yummy.html",
		    "/fish.php?id=anything" }, { "/Fish.asp", "/catfish", "/?id=fish", "/desert/fish" } },
		{ "/fish/", { "/fish/", "/fish/?id=anything", "/fish/salmon.htm" },
		    { "/fish", "/fish.html", "/animals/fish/", "/Fish/Salmon.asp" } },
		{ "/*.php", { "/index.php", "/filename.php", "/folder/filename.php",
		    "/folder/filename.php?parameters", "/folder/any.php.file.html", "/filename.php/" },
		    { "/", "/windows.PHP" } },
		{ "/*.php$", { "/filename.php", "/folder/filename.php" },
		    { "/filename.php?parameters", "/filename.php/", "/filename.php5", "/windows.PHP" } },
		{ "/fish*.php", { "/fish.php", "/fishheads/catfish.php?parameters" }, { "/Fish.PHP" } },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char *text = xasprintf("User-agent: *\nDisallow: %s\n", rows[i].pattern);
		struct robots *r = parse_str(text);
		for (size_t j = 0; j < 7 && rows[i].match[j] != NULL; j++)
			cr_expect_not(robots_allowed(r, "bot", rows[i].match[j]), "%s should match %s",
			    rows[i].pattern, rows[i].match[j]);
		for (size_t j = 0; j < 6 && rows[i].no_match[j] != NULL; j++)
			cr_expect(robots_allowed(r, "bot", rows[i].no_match[j]), "%s should not match %s",
			    rows[i].pattern, rows[i].no_match[j]);
		robots_free(r);
		free(text);
	}
}

/* Group selection: the most specific agent group; "*" only when nothing names the crawler. */
Test(robots_google, group_selection)
{
	struct robots *r = parse_str(
	    "user-agent: googlebot-news\n"
	    "disallow: /group1\n"
	    "\n"
	    "user-agent: *\n"
	    "disallow: /group2\n"
	    "\n"
	    "user-agent: googlebot\n"
	    "disallow: /group3\n");

	expect(r, "Googlebot-News", "/group1", false);
	expect(r, "Googlebot-News", "/group2", true);
	expect(r, "Googlebot-News", "/group3", true);
	expect(r, "Googlebot", "/group3", false);
	expect(r, "Googlebot", "/group1", true);
	expect(r, "Storebot-Google", "/group2", false);
	expect(r, "Storebot-Google", "/group3", true);
	/* A sub-crawler with no group of its own follows its parent token, not "*". */
	expect(r, "Googlebot-Image/1.0", "/group3", false);
	expect(r, "Googlebot-Image/1.0", "/group2", true);
	/* Prefixes only count at a '-': "googlebotx" is a different crawler. */
	expect(r, "Googlebotx", "/group2", false);
	expect(r, "Googlebotx", "/group3", true);
	robots_free(r);
}

/* The user-agent line's value is reduced to its product token; "*" followed by text is still "*". */
Test(robots_google, agent_line_values)
{
	struct robots *r = parse_str(
	    "User-agent: FooBot/2.1 (compatible)\n"
	    "Disallow: /foo\n"
	    "User-agent: * # everyone\n"
	    "Disallow: /star\n");

	expect(r, "foobot", "/foo", false);
	expect(r, "foobot", "/star", true);
	expect(r, "barbot", "/star", false);
	expect(r, "", "/star", false);          /* no token at all: "*" */
	expect(r, "/1.0 odd", "/star", false);
	robots_free(r);
}

/* ---- our own cases ---- */

Test(robots, product_token)
{
	char buf[32];

	cr_assert(robots_product_token("pricewatch/0.1 (+https://x)", buf, sizeof buf));
	cr_assert_str_eq(buf, "pricewatch");
	cr_assert(robots_product_token("Some_Bot-2", buf, sizeof buf));
	cr_assert_str_eq(buf, "some_bot-");
	cr_assert_not(robots_product_token("/x", buf, sizeof buf));
	cr_assert_str_eq(buf, "");
	cr_assert_not(robots_product_token(NULL, buf, sizeof buf));
	cr_assert_not(robots_product_token("averyveryverylongtokenthatdoesnotfit", buf, 8));
}

Test(robots, empty_disallow_allows_everything)
{
	struct robots *r = star_group("Disallow:\n");

	expect(r, "bot", "/", true);
	expect(r, "bot", "/anything/at/all", true);
	cr_assert_eq(robots_stats(r)->rules, 0);
	cr_assert_eq(robots_stats(r)->ignored, 0);
	robots_free(r);
}

Test(robots, no_groups_no_rules)
{
	struct robots *r = parse_str("");

	expect(r, "bot", "/", true);
	cr_assert_eq(robots_stats(r)->lines, 0);
	robots_free(r);
	r = robots_parse(NULL, 10);
	expect(r, "bot", "/x", true);
	robots_free(r);
}

Test(robots, bom_crlf_crawl_delay_and_sitemaps)
{
	struct robots *r = parse_fixture("bom-crlf.txt");

	/* The BOM must not glue itself to the first key. */
	expect(r, "pricewatch/0.1", "/private/x", false);
	expect(r, "pricewatch/0.1", "/private/ok/page", true);
	expect(r, "pricewatch/0.1", "/public", true);
	/* "Sitemap" between the rules did not end pricewatch's group. */
	expect(r, "pricewatch", "/private/okay", true);
	expect(r, "otherbot", "/public", false);
	cr_assert_eq(robots_crawl_delay_ms(r, "pricewatch"), 2500);
	cr_assert_eq(robots_crawl_delay_ms(r, "otherbot"), -1);
	cr_assert_eq(robots_sitemap_count(r), 2);
	cr_assert_str_eq(robots_sitemap(r, 0), "https://shop.example/sitemap.xml");
	cr_assert_str_eq(robots_sitemap(r, 1), "https://shop.example/sitemap-2.xml.gz");
	cr_assert_null(robots_sitemap(r, 2));
	cr_assert_eq(robots_stats(r)->ignored, 0);
	cr_assert_eq(robots_stats(r)->groups, 2);
	robots_free(r);
}

Test(robots, old_mac_line_endings)
{
	struct robots *r = parse_str("User-agent: *\rDisallow: /a\rAllow: /a/b\r");

	expect(r, "bot", "/a/x", false);
	expect(r, "bot", "/a/b", true);
	cr_assert_eq(robots_stats(r)->lines, 3);
	robots_free(r);
}

Test(robots, garbage_is_ignored_and_counted)
{
	struct robots *r = parse_fixture("messy.txt");

	/* "User-agent pricewatch-images" (no colon) and "useragent: otherbot" form one group. */
	expect(r, "pricewatch-images", "/typo", false);
	expect(r, "pricewatch-images", "/no-colon", false);
	expect(r, "otherbot", "/typo/x", false);
	expect(r, "pricewatch-images", "/cgi-bin/", true);
	cr_assert_eq(robots_crawl_delay_ms(r, "otherbot"), 1000);
	/* A rule before any user-agent line applies to nobody. */
	expect(r, "pricewatch-images", "/nobody", true);
	expect(r, "somebot", "/nobody", true);
	expect(r, "somebot", "/cgi-bin/x", false);
	expect(r, "somebot", "/cgi-bin/style.css", false);      /* "/cgi-bin/" (9 octets) beats "*.css" (5) */
	expect(r, "somebot", "/style.css", true);
	robots_free(r);
}

Test(robots, garbage_counts)
{
	struct robots *r = parse_fixture("messy.txt");
	const struct robots_stats *st = robots_stats(r);

	cr_assert_eq(st->ignored, 5);
	cr_assert_eq(st->first_ignored_line, 2);
	cr_assert_eq(st->groups, 2);
	cr_assert_eq(st->rules, 4);
	cr_assert_eq(st->lines, 15);
	robots_free(r);
}

Test(robots, binary_junk_does_not_crash)
{
	char junk[4096];
	struct robots *r;
	unsigned x = 12345;

	for (size_t i = 0; i < sizeof junk; i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (char)(x >> 16);
	}
	r = robots_parse(junk, sizeof junk);
	(void)robots_allowed(r, "bot", "/x");
	robots_free(r);

	/* A NUL inside a rule is data, not the end of the file. */
	static const char with_nul[] = "User-agent: *\nDisallow: /a\0b\nDisallow: /c\n";
	r = robots_parse(with_nul, sizeof with_nul - 1);
	expect(r, "bot", "/c", false);
	expect(r, "bot", "/a", true);
	expect(r, "bot", "/a%00b", false);
	robots_free(r);

	/* Found by fuzzing: a NUL in a rule that lacks its leading '/'. */
	static const char nul_no_slash[] = "User-agent: *\nDisallow: \0\0x\nDisallow: /d\n";
	r = robots_parse(nul_no_slash, sizeof nul_no_slash - 1);
	expect(r, "bot", "/%00%00x", false);
	expect(r, "bot", "/d", false);
	expect(r, "bot", "/x", true);
	robots_free(r);

	/* Found by fuzzing: a Sitemap value that starts with NUL bytes is no URL. */
	static const char nul_sitemap[] = "Sitemap: \0\0https://x/s.xml\nSitemap: https://x/t.xml\n";
	r = robots_parse(nul_sitemap, sizeof nul_sitemap - 1);
	cr_assert_eq(robots_sitemap_count(r), 1);
	cr_assert_str_eq(robots_sitemap(r, 0), "https://x/t.xml");
	cr_assert_eq(robots_stats(r)->ignored, 1);
	robots_free(r);
}

Test(robots, hostile_wildcards_stay_linear)
{
	/* Backtracking would take forever here; the position-set matcher does not. */
	char *stars = xmalloc(4001);
	char *path = xmalloc(4002);
	char *text;
	struct robots *r;

	for (int i = 0; i < 4000; i++)
		stars[i] = i % 2 ? '*' : 'a';
	stars[4000] = '\0';
	path[0] = '/';
	memset(path + 1, 'a', 4000);
	path[4001] = '\0';
	text = xasprintf("User-agent: *\nDisallow: /%sb\n", stars);
	r = parse_str(text);
	expect(r, "bot", path, true);
	path[4000] = 'b';
	expect(r, "bot", path, false);
	robots_free(r);
	free(text);
	free(stars);
	free(path);
}

Test(robots, size_limit_drops_the_rest_and_the_cut_line)
{
	/* Filler comments up to just below the limit, then a line that straddles it. */
	size_t fill = ROBOTS_MAX_BYTES - 40;
	char *text = xmalloc(ROBOTS_MAX_BYTES + 200);
	size_t len;
	struct robots *r;
	static const char head[] = "User-agent: *\nDisallow: /\n";
	static const char tail[] = "Allow: /shop/kettles/the-one-allowed-page\nAllow: /late\n";

	memcpy(text, head, sizeof head - 1);
	memset(text + sizeof head - 1, '#', fill - (sizeof head - 1));
	text[fill - 1] = '\n';
	memcpy(text + fill, tail, sizeof tail - 1);
	len = fill + sizeof tail - 1;
	cr_assert_gt(len, ROBOTS_MAX_BYTES);

	r = robots_parse(text, len);
	cr_assert(robots_stats(r)->truncated);
	/* Cut at 40 bytes, "Allow: /shop/kettles/the-one-all" would allow far too much: it is dropped. */
	expect(r, "bot", "/shop/kettles/the-one-allowed-page", false);
	expect(r, "bot", "/shop/kettles/the-one-all", false);
	expect(r, "bot", "/late", false);
	cr_assert_eq(robots_stats(r)->rules, 1);
	robots_free(r);

	/* Under the limit the same allow works. */
	r = robots_parse(text, sizeof head - 1);
	cr_assert_not(robots_stats(r)->truncated);
	robots_free(r);
	free(text);
}

Test(robots, pattern_without_leading_slash)
{
	struct robots *r = star_group("Disallow: private/\nDisallow: *.pdf$\n");

	expect(r, "bot", "/private/x", false);
	expect(r, "bot", "/docs/a.pdf", false);
	expect(r, "bot", "/docs/a.pdf.html", true);
	robots_free(r);
}

Test(robots, url_forms)
{
	struct robots *r = star_group("Disallow: /a?\nDisallow: /b$\n");

	expect(r, "bot", "https://user:pw@h.example:8443/a?x=1#frag", false);
	expect(r, "bot", "https://h.example/a#?frag", true);    /* the fragment is never sent */
	expect(r, "bot", "https://h.example/b#frag", false);
	expect(r, "bot", "https://h.example?q", true);          /* path "/?q" */
	expect(r, "bot", "//h.example/b", false);
	expect(r, "bot", "https://h.example", true);
	robots_free(r);
}

Test(robots, normalise_edge_cases)
{
	static const struct {
		const char *in, *out;
	} rows[] = {
		{ "/a%2fb", "/a%2Fb" },          /* reserved escapes keep their meaning, upper-case */
		{ "/a%7e%41", "/a~A" },          /* unreserved escapes are decoded */
		{ "/100%", "/100%25" },          /* a stray percent is data */
		{ "/%zz", "/%25zz" },
		{ "/%4", "/%254" },
		{ "/a b", "/a%20b" },
		{ "/a$b$", "/a%24b$" },          /* only a final '$' anchors */
		{ "/x?a?b", "/x?a%3Fb" },
		{ "", "" },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char *n = robots_normalise(rows[i].in, strlen(rows[i].in));
		cr_expect_str_eq(n, rows[i].out, "%s", rows[i].in);
		free(n);
	}
}

Test(robots, crawl_delay_values)
{
	struct robots *r = parse_str(
	    "User-agent: a\nCrawl-delay: 10\n"
	    "User-agent: b\nCrawl-delay: .25\n"
	    "User-agent: c\nCrawl-delay: -1\n"
	    "User-agent: d\nCrawl-delay: 99999999999\n"
	    "User-agent: e\nCrawl-delay: 3\nUser-agent: e\nCrawl-delay: 5\n");

	cr_assert_eq(robots_crawl_delay_ms(r, "a"), 10000);
	cr_assert_eq(robots_crawl_delay_ms(r, "b"), 250);
	cr_assert_eq(robots_crawl_delay_ms(r, "c"), -1);
	cr_assert_eq(robots_crawl_delay_ms(r, "d"), -1);
	cr_assert_eq(robots_crawl_delay_ms(r, "e"), 5000);   /* combined groups: the larger delay */
	cr_assert_eq(robots_stats(r)->ignored, 2);
	robots_free(r);
}

Test(robots, robots_url_for)
{
	static const struct {
		const char *url, *want;
	} rows[] = {
		{ "https://Shop.Example/a/b?c=1#top", "https://shop.example/robots.txt" },
		{ "http://user:pw@shop.example:8080/x", "http://shop.example:8080/robots.txt" },
		{ "https://shop.example", "https://shop.example/robots.txt" },
		{ "http://[::1]:81/x", "http://[::1]:81/robots.txt" },
		{ "http://127.0.0.1:80/x", "http://127.0.0.1/robots.txt" },        /* default port dropped */
		{ "https://shop.example:443/x", "https://shop.example/robots.txt" },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char *u = robots_url_for(rows[i].url);
		cr_expect_not_null(u, "%s", rows[i].url);
		if (u != NULL)
			cr_expect_str_eq(u, rows[i].want, "%s", rows[i].url);
		free(u);
	}
	cr_assert_null(robots_url_for("file:///etc/passwd"));
	cr_assert_null(robots_url_for("ftp://shop.example/x"));
	cr_assert_null(robots_url_for("/just/a/path"));
	cr_assert_null(robots_url_for(NULL));
}
