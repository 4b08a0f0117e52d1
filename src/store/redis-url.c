/* redis-url.c: strict parser for the redis:// and unix:// URLs of store_open, with messages that never show a password. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/util.h"
#include "store/redis-url.h"

#define SHAPES "expected redis://[user:password@]host[:port][/db] or unix:///path/to/redis.sock[?db=N]"

/* Appends at most n bytes of s to buf (size buflen) at *pos, always terminated; truncates silently (messages only). */
static void
append(char *buf, size_t buflen, size_t *pos, const char *s, size_t n)
{
	if (buflen == 0)
		return;
	while (n > 0 && *s != '\0' && *pos + 1 < buflen) {
		buf[(*pos)++] = *s++;
		n--;
	}
	buf[*pos] = '\0';
}

/* Appends a query string with every value except db's masked: a URL may carry ?password=. */
static void
append_query(char *buf, size_t buflen, size_t *pos, const char *q)
{
	while (*q != '\0') {
		size_t len = strcspn(q, "&#"), name = strcspn(q, "=&#");
		if (name < len && !(name == 2 && strncmp(q, "db", 2) == 0)) {
			append(buf, buflen, pos, q, name + 1);
			append(buf, buflen, pos, "***", 3);
		} else
			append(buf, buflen, pos, q, len);
		q += len;
		if (*q == '#') {
			append(buf, buflen, pos, q, SIZE_MAX);
			return;
		}
		if (*q == '&')
			append(buf, buflen, pos, q++, 1);
	}
}

void
redis_url_redact(const char *text, char *buf, size_t buflen)
{
	size_t pos = 0;
	const char *sep, *auth, *end, *at, *colon, *q;

	if (buflen == 0)
		return;
	buf[0] = '\0';
	if (text == NULL)
		return;
	sep = strstr(text, "://");
	if (sep == NULL) {
		append(buf, buflen, &pos, text, SIZE_MAX);
		return;
	}
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	at = NULL;
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL) {
		append(buf, buflen, &pos, text, (size_t)(end - text));
	} else {
		append(buf, buflen, &pos, text, (size_t)(auth - text));
		colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon != NULL)
			append(buf, buflen, &pos, auth, (size_t)(colon - auth) + 1);
		append(buf, buflen, &pos, "***", 3);
		append(buf, buflen, &pos, at, (size_t)(end - at));
	}
	q = end + strcspn(end, "?#");
	append(buf, buflen, &pos, end, (size_t)(q - end));
	if (*q == '?') {
		append(buf, buflen, &pos, q, 1);
		append_query(buf, buflen, &pos, q + 1);
	} else
		append(buf, buflen, &pos, q, SIZE_MAX);
}

/* Writes "invalid Redis URL "<redacted>": why" into err. */
static bool
fail(const char *text, char *err, size_t errlen, const char *why)
{
	char shown[512];

	redis_url_redact(text, shown, sizeof(shown));
	if (err != NULL && errlen > 0)
		(void)pw_snprintf(err, errlen, "invalid Redis URL \"%s\": %s", shown, why);
	return false;
}

/* Strict unsigned decimal of n bytes within [min, max]: digits only, no sign, no spaces. */
static bool
parse_range(const char *s, size_t n, long min, long max, long *out)
{
	long v = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes n bytes of s into a new string (caller frees); NULL on a bad escape or an encoded NUL. */
static char *
pct_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= n) {      /* "%" or "%X" at the end */
			free(out);
			return NULL;
		}
		int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	return out;
}

static bool
valid_hostname(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '_'))
			return false;
	}
	return n > 0;
}

static bool
valid_ipv6(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hexval(s[i]) < 0 && s[i] != ':' && s[i] != '.')
			return false;
	return n > 1;
}

static bool
parse_tcp(const char *text, const char *rest, struct redis_url *u, char *err, size_t errlen)
{
	const char *end = rest + strcspn(rest, "/?#");
	const char *at = NULL, *host, *hend, *p;
	long v;

	u->kind = REDIS_URL_TCP;
	u->port = REDIS_URL_DEFAULT_PORT;
	for (p = rest; p < end; p++)
		if (*p == '@')
			at = p;
	host = rest;
	if (at != NULL) {
		const char *colon = memchr(rest, ':', (size_t)(at - rest));
		const char *pw = colon != NULL ? colon + 1 : rest;
		if (colon != NULL && colon > rest) {
			u->user = pct_decode(rest, (size_t)(colon - rest));
			if (u->user == NULL)
				return fail(text, err, errlen, "bad percent-escape in the user name");
		}
		if (at > pw) {
			u->password = pct_decode(pw, (size_t)(at - pw));
			if (u->password == NULL)
				return fail(text, err, errlen, "bad percent-escape in the password");
		}
		host = at + 1;
	}

	/* host[:port], IPv6 in brackets */
	if (host < end && *host == '[') {
		const char *rb = memchr(host, ']', (size_t)(end - host));
		if (rb == NULL)
			return fail(text, err, errlen, "unterminated '[' in the IPv6 host");
		if (!valid_ipv6(host + 1, (size_t)(rb - host - 1)))
			return fail(text, err, errlen, "bad IPv6 address in brackets");
		u->host = xstrndup(host + 1, (size_t)(rb - host - 1));
		hend = rb + 1;
		if (hend < end && *hend != ':')
			return fail(text, err, errlen, "junk after the IPv6 address");
	} else {
		hend = host + strcspn(host, ":/?#");
		if (hend > end)
			hend = end;
		if (hend < end && memchr(hend + 1, ':', (size_t)(end - hend - 1)) != NULL)
			return fail(text, err, errlen, "too many ':' (IPv6 addresses go in brackets: redis://[::1]:6379)");
		if (hend == host)
			return fail(text, err, errlen, "missing host (" SHAPES ")");
		if (!valid_hostname(host, (size_t)(hend - host)))
			return fail(text, err, errlen, "bad character in the host name");
		u->host = xstrndup(host, (size_t)(hend - host));
	}
	if (hend < end) {       /* *hend == ':' */
		if (!parse_range(hend + 1, (size_t)(end - hend - 1), 1, 65535, &v))
			return fail(text, err, errlen, "port must be a number from 1 to 65535");
		u->port = (int)v;
	}

	/* [/db], nothing after it */
	if (*end == '/') {
		const char *db = end + 1;
		size_t n = strcspn(db, "?#");
		if (db[n] != '\0')
			return fail(text, err, errlen,
			    "query strings and fragments are not supported in redis:// URLs (the database goes in the path: /N)");
		if (n > 0) {
			if (!parse_range(db, n, 0, REDIS_URL_MAX_DB, &v))
				return fail(text, err, errlen, "database must be a number from 0 to 2147483647 (redis://host:port/N)");
			u->db = (int)v;
		}
	} else if (*end != '\0') {
		return fail(text, err, errlen,
		    "query strings and fragments are not supported in redis:// URLs (the database goes in the path: /N)");
	}
	return true;
}

static bool
parse_unix(const char *text, const char *rest, struct redis_url *u, char *err, size_t errlen)
{
	size_t n = strcspn(rest, "?#");
	const char *q;
	long v;

	u->kind = REDIS_URL_UNIX;
	if (rest[0] != '/')
		return fail(text, err, errlen,
		    "unix:// URLs need an absolute socket path, with three slashes: unix:///path/to/redis.sock");
	if (n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return fail(text, err, errlen, "socket path is too long for a unix socket (at most 107 bytes)");
	if (rest[n] == '#')
		return fail(text, err, errlen, "fragments are not supported in unix:// URLs");
	u->path = xstrndup(rest, n);
	if (strcmp(u->path, "/") == 0)
		return fail(text, err, errlen, "missing socket path (" SHAPES ")");
	if (rest[n] == '\0')
		return true;
	q = rest + n + 1;
	while (*q != '\0') {
		size_t len = strcspn(q, "&#");
		if (q[len] == '#')
			return fail(text, err, errlen, "fragments are not supported in unix:// URLs");
		if (len > 3 && strncmp(q, "db=", 3) == 0) {
			if (!parse_range(q + 3, len - 3, 0, REDIS_URL_MAX_DB, &v))
				return fail(text, err, errlen, "db must be a number from 0 to 2147483647 (?db=N)");
			u->db = (int)v;
		} else {
			return fail(text, err, errlen, "unknown query parameter (only ?db=N is understood)");
		}
		q += len;
		if (*q == '&')
			q++;
	}
	return true;
}

bool
redis_url_parse(const char *text, struct redis_url *out, char *err, size_t errlen)
{
	bool ok;

	memset(out, 0, sizeof(*out));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (text == NULL || text[0] == '\0')
		return fail("", err, errlen, "empty (" SHAPES ")");
	if (strncasecmp(text, "redis://", 8) == 0)
		ok = parse_tcp(text, text + 8, out, err, errlen);
	else if (strncasecmp(text, "unix://", 7) == 0)
		ok = parse_unix(text, text + 7, out, err, errlen);
	else if (strncasecmp(text, "rediss://", 9) == 0)
		ok = fail(text, err, errlen,
		    "TLS not supported by this build; use redis:// over a trusted network, a unix socket, or a TLS tunnel (stunnel, spiped)");
	else
		ok = fail(text, err, errlen, "unknown scheme (" SHAPES ")");
	if (!ok)
		redis_url_free(out);
	return ok;
}

void
redis_url_free(struct redis_url *u)
{
	if (u == NULL)
		return;
	free(u->host);
	free(u->path);
	free(u->user);
	if (u->password != NULL) {
		memset(u->password, 0, strlen(u->password));
		free(u->password);
	}
	memset(u, 0, sizeof(*u));
}

bool
redis_url_describe(const struct redis_url *u, char *buf, size_t buflen)
{
	if (u->kind == REDIS_URL_UNIX)
		return pw_snprintf(buf, buflen, "unix://%s", u->path != NULL ? u->path : "");
	if (u->host != NULL && strchr(u->host, ':') != NULL)
		return pw_snprintf(buf, buflen, "[%s]:%d", u->host, u->port);
	return pw_snprintf(buf, buflen, "%s:%d", u->host != NULL ? u->host : "", u->port);
}
