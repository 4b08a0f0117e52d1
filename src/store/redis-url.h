/* redis-url.h: parses the redis:// and unix:// URLs that name a Redis server, and prints them without secrets. */
#ifndef PW_STORE_REDIS_URL_H
#define PW_STORE_REDIS_URL_H

#include <stdbool.h>
#include <stddef.h>

#define REDIS_URL_DEFAULT_PORT 6379
#define REDIS_URL_MAX_DB 2147483647   /* Redis's own limit is its "databases" setting; SELECT says so */

enum redis_url_kind {
	REDIS_URL_TCP = 0,
	REDIS_URL_UNIX,
};

/*
 * A parsed URL. Accepted shapes:
 *   redis://[[user]:password@]host[:port][/db]   host may be [IPv6]; port 1..65535, default 6379
 *   redis://password@host...                      userinfo without ':' is the password (as redis-cli)
 *   unix:///absolute/path.sock[?db=N]
 * user and password are percent-decoded. rediss:// is rejected: this build has no TLS.
 * All strings are owned by the struct and freed by redis_url_free.
 */
struct redis_url {
	enum redis_url_kind kind;
	char *host;        /* TCP: name or address, IPv6 without brackets; NULL for unix */
	int port;          /* TCP only */
	char *path;        /* unix only: the socket path */
	char *user;        /* NULL when absent */
	char *password;    /* NULL when absent; never print it */
	int db;            /* 0 when absent */
};

/*
 * Parses text into *out. On failure returns false, leaves *out empty and writes
 * into err a sentence that names the URL with any password masked and says what is wrong.
 */
bool redis_url_parse(const char *text, struct redis_url *out, char *err, size_t errlen);
void redis_url_free(struct redis_url *u);

/* Where the server is, for messages: "127.0.0.1:6379", "[::1]:6380", "unix:///run/redis.sock". */
bool redis_url_describe(const struct redis_url *u, char *buf, size_t buflen);

/* Copies a URL's text with the password in its userinfo replaced by "***", for messages and logs. */
void redis_url_redact(const char *text, char *buf, size_t buflen);

#endif
