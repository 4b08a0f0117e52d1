/* test-redis-url.c: every accepted shape of redis:// and unix:// URL, and the messages for the rejected ones. */
#include <string.h>

#include <criterion/criterion.h>

#include "store/redis-url.h"

static struct redis_url
parse_ok(const char *text)
{
	struct redis_url u;
	char err[512] = "";

	cr_assert(redis_url_parse(text, &u, err, sizeof(err)), "%s: %s", text, err);
	cr_assert_str_empty(err);
	return u;
}

/* Parses text expecting failure; the message must contain want and must not contain the password. */
static void
parse_bad(const char *text, const char *want)
{
	struct redis_url u;
	char err[512] = "";

	cr_assert_not(redis_url_parse(text, &u, err, sizeof(err)), "%s accepted", text);
	cr_assert(strstr(err, want) != NULL, "%s: message \"%s\" lacks \"%s\"", text, err, want);
	cr_assert(strstr(err, "invalid Redis URL") != NULL, "%s: %s", text, err);
	cr_assert(strstr(err, "s3cret") == NULL, "password leaked: %s", err);
	cr_assert_null(u.host);
	cr_assert_null(u.password);
}

Test(redis_url, host_only_defaults)
{
	struct redis_url u = parse_ok("redis://localhost");

	cr_assert_eq(u.kind, REDIS_URL_TCP);
	cr_assert_str_eq(u.host, "localhost");
	cr_assert_eq(u.port, 6379);
	cr_assert_eq(u.db, 0);
	cr_assert_null(u.user);
	cr_assert_null(u.password);
	cr_assert_null(u.path);
	redis_url_free(&u);
}

Test(redis_url, host_port_db)
{
	struct redis_url u = parse_ok("redis://127.0.0.1:6390/3");

	cr_assert_str_eq(u.host, "127.0.0.1");
	cr_assert_eq(u.port, 6390);
	cr_assert_eq(u.db, 3);
	redis_url_free(&u);

	u = parse_ok("redis://cache.example.com:1/");
	cr_assert_str_eq(u.host, "cache.example.com");
	cr_assert_eq(u.port, 1);
	cr_assert_eq(u.db, 0);
	redis_url_free(&u);

	u = parse_ok("REDIS://h:65535/2147483647");
	cr_assert_eq(u.port, 65535);
	cr_assert_eq(u.db, 2147483647);
	redis_url_free(&u);
}

Test(redis_url, user_and_password_percent_decoded)
{
	struct redis_url u = parse_ok("redis://app%40shop:p%3Ass%2Fw%25rd@10.0.0.5:7000/1");

	cr_assert_str_eq(u.user, "app@shop");
	cr_assert_str_eq(u.password, "p:ss/w%rd");
	cr_assert_str_eq(u.host, "10.0.0.5");
	cr_assert_eq(u.port, 7000);
	cr_assert_eq(u.db, 1);
	redis_url_free(&u);
}

Test(redis_url, password_only_forms)
{
	struct redis_url u = parse_ok("redis://:hunter2@db");

	cr_assert_null(u.user);
	cr_assert_str_eq(u.password, "hunter2");
	cr_assert_str_eq(u.host, "db");
	redis_url_free(&u);

	/* as redis-cli: userinfo without ':' is the password */
	u = parse_ok("redis://hunter3@db:6380");
	cr_assert_null(u.user);
	cr_assert_str_eq(u.password, "hunter3");
	cr_assert_eq(u.port, 6380);
	redis_url_free(&u);
}

Test(redis_url, ipv6_in_brackets)
{
	struct redis_url u = parse_ok("redis://[::1]:6380/2");
	char where[64];

	cr_assert_str_eq(u.host, "::1");
	cr_assert_eq(u.port, 6380);
	cr_assert_eq(u.db, 2);
	cr_assert(redis_url_describe(&u, where, sizeof(where)));
	cr_assert_str_eq(where, "[::1]:6380");
	redis_url_free(&u);
}

Test(redis_url, unix_socket)
{
	struct redis_url u = parse_ok("unix:///var/lib/pricewatch/redis.sock");
	char where[128];

	cr_assert_eq(u.kind, REDIS_URL_UNIX);
	cr_assert_str_eq(u.path, "/var/lib/pricewatch/redis.sock");
	cr_assert_eq(u.db, 0);
	cr_assert_null(u.host);
	cr_assert(redis_url_describe(&u, where, sizeof(where)));
	cr_assert_str_eq(where, "unix:///var/lib/pricewatch/redis.sock");
	redis_url_free(&u);

	u = parse_ok("unix:///tmp/r.sock?db=5");
	cr_assert_str_eq(u.path, "/tmp/r.sock");
	cr_assert_eq(u.db, 5);
	redis_url_free(&u);
}

Test(redis_url, describe_tcp)
{
	struct redis_url u = parse_ok("redis://user:s3cret@127.0.0.1:6390/0");
	char where[64];

	cr_assert(redis_url_describe(&u, where, sizeof(where)));
	cr_assert_str_eq(where, "127.0.0.1:6390");
	redis_url_free(&u);
}

Test(redis_url, redact_hides_password)
{
	char buf[128];

	redis_url_redact("redis://user:s3cret@host:1/2", buf, sizeof(buf));
	cr_assert_str_eq(buf, "redis://user:***@host:1/2");
	redis_url_redact("redis://s3cret@host", buf, sizeof(buf));
	cr_assert_str_eq(buf, "redis://***@host");
	redis_url_redact("redis://host:1", buf, sizeof(buf));
	cr_assert_str_eq(buf, "redis://host:1");
	redis_url_redact("redis://u:s3cret@host", buf, 12);
	cr_assert_str_eq(buf, "redis://u:*");
}

Test(redis_url, bad_port)
{
	parse_bad("redis://host:0", "port must be a number from 1 to 65535");
	parse_bad("redis://host:65536", "port must be a number from 1 to 65535");
	parse_bad("redis://host:", "port must be a number from 1 to 65535");
	parse_bad("redis://host:-1", "port must be a number from 1 to 65535");
	parse_bad("redis://host:63x9", "port must be a number from 1 to 65535");
	parse_bad("redis://u:s3cret@host:99999999999", "port must be a number");
}

Test(redis_url, db_out_of_range)
{
	parse_bad("redis://host:6379/2147483648", "database must be a number from 0 to 2147483647");
	parse_bad("redis://host:6379/-1", "database must be a number");
	parse_bad("redis://host/1/2", "database must be a number");
	parse_bad("redis://host/ 1", "database must be a number");
	parse_bad("unix:///tmp/r.sock?db=x", "db must be a number from 0 to 2147483647");
	parse_bad("unix:///tmp/r.sock?db=", "unknown query parameter");
}

Test(redis_url, rediss_rejected)
{
	parse_bad("rediss://:s3cret@host:6380", "TLS not supported by this build");
}

Test(redis_url, missing_host)
{
	parse_bad("redis://", "missing host");
	parse_bad("redis://:6379/0", "missing host");
	parse_bad("redis://u:s3cret@/0", "missing host");
	parse_bad("unix://", "absolute socket path");
	parse_bad("unix://relative.sock", "absolute socket path");
	parse_bad("unix:///", "missing socket path");
}

Test(redis_url, junk)
{
	parse_bad("", "empty");
	parse_bad("localhost:6379", "unknown scheme");
	parse_bad("http://host:6379", "unknown scheme");
	parse_bad("redis://ho st", "bad character in the host name");
	parse_bad("redis://::1:6379", "IPv6 addresses go in brackets");
	parse_bad("redis://[::1", "unterminated '['");
	parse_bad("redis://[::1]x", "junk after the IPv6 address");
	parse_bad("redis://[zz]:1", "bad IPv6 address");
	parse_bad("redis://host?db=1", "query strings and fragments are not supported");
	parse_bad("redis://host/1#x", "query strings and fragments are not supported");
	parse_bad("redis://u:%zz@host", "bad percent-escape in the password");
	parse_bad("redis://u:s3cret%4@host", "bad percent-escape in the password");
	parse_bad("redis://%00:x@host", "bad percent-escape in the user name");
	parse_bad("unix:///tmp/r.sock?password=s3cret", "unknown query parameter");
	parse_bad("unix:///tmp/r.sock#frag", "fragments are not supported");
}

Test(redis_url, unix_path_too_long)
{
	char url[256] = "unix://";
	size_t n = strlen(url);

	url[n++] = '/';
	while (n < 7 + 120)
		url[n++] = 'a';
	url[n] = '\0';
	parse_bad(url, "too long for a unix socket");
}

Test(redis_url, password_never_in_message)
{
	struct redis_url u;
	char err[512];

	cr_assert_not(redis_url_parse("redis://admin:s3cret@host:70000", &u, err, sizeof(err)));
	cr_assert(strstr(err, "redis://admin:***@host:70000") != NULL, "%s", err);
	cr_assert(strstr(err, "s3cret") == NULL);
}

Test(redis_url, redact_query_secrets)
{
	char buf[128];

	redis_url_redact("unix:///tmp/r.sock?db=2&password=s3cret&x", buf, sizeof(buf));
	cr_assert_str_eq(buf, "unix:///tmp/r.sock?db=2&password=***&x");
	redis_url_redact("redis://h/1?auth=s3cret#frag", buf, sizeof(buf));
	cr_assert_str_eq(buf, "redis://h/1?auth=***#frag");
}
