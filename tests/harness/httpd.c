/* httpd.c: the fixture HTTP/1.1 server for tests: files from a docroot plus scripted misbehaviour, on 127.0.0.1. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "httpd.h"

/* Poll slice: how quickly the server and its connection threads notice test_httpd_stop. */
#define POLL_SLICE_MS 50
/* A request head larger than this is refused (the fixtures never need more). */
#define MAX_REQUEST_HEAD 8192
/* Fixture files larger than this are not served (tests stay small). */
#define MAX_FILE_SIZE (64u * 1024u * 1024u)

/* One accepted connection, served by its own thread; the server thread joins it. */
struct conn {
	struct test_httpd *h;
	int fd;
	pthread_t thread;
	volatile int done;         /* set by the connection thread when it has finished */
	struct conn *next;
};

static void
die(const char *what)
{
	fprintf(stderr, "test_httpd: %s: %s\n", what, strerror(errno));
	abort();
}

static bool
stopping(const struct test_httpd *h)
{
	return __atomic_load_n(&h->stopping, __ATOMIC_ACQUIRE);
}

/* Sleeps ms in slices so that a stop request interrupts the wait; returns false when stopping. */
static bool
wait_ms(const struct test_httpd *h, long ms)
{
	while (ms > 0 && !stopping(h)) {
		long slice = ms < POLL_SLICE_MS ? ms : POLL_SLICE_MS;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = slice * 1000000L };
		nanosleep(&ts, NULL);
		ms -= slice;
	}
	return !stopping(h);
}

/* Writes all of buf; gives up quietly when the client has gone (tests of aborts close early). */
static bool
send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static const char *
reason_phrase(int code)
{
	switch (code) {
	case 200: return "OK";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

/* Sends a complete response; extra_headers (may be NULL) is zero or more "Name: value\r\n" lines. */
static void
respond(int fd, int code, const char *content_type, const char *extra_headers,
    const void *body, size_t len, bool head_only)
{
	char head[1024];
	int n;

	n = snprintf(head, sizeof head,
	    "HTTP/1.1 %d %s\r\n"
	    "Server: pricewatch-test-httpd\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "%s"
	    "Connection: close\r\n"
	    "\r\n",
	    code, reason_phrase(code), content_type ? content_type : "text/plain",
	    len, extra_headers ? extra_headers : "");
	if (n < 0 || (size_t)n >= sizeof head)
		return;
	if (!send_all(fd, head, (size_t)n))
		return;
	if (!head_only && len > 0)
		send_all(fd, body, len);
}

static void
respond_text(int fd, int code, const char *text, bool head_only)
{
	respond(fd, code, "text/plain", NULL, text, strlen(text), head_only);
}

static const char *
content_type_for(const char *path)
{
	static const struct {
		const char *suffix, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".htm", "text/html; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".xml", "application/xml" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".webp", "image/webp" },
		{ ".jpg", "image/jpeg" },
		{ ".jpeg", "image/jpeg" },
		{ ".png", "image/png" },
	};
	size_t plen = strlen(path);

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		size_t slen = strlen(types[i].suffix);
		if (plen >= slen && strcasecmp(path + plen - slen, types[i].suffix) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
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

/* Percent-decodes src into dst; false on a bad escape, an embedded NUL or no room. */
static bool
url_decode(const char *src, char *dst, size_t dstsize)
{
	size_t o = 0;

	for (const char *p = src; *p != '\0'; p++) {
		char c = *p;
		if (c == '%') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (char)(hi * 16 + lo);
			if (c == '\0')
				return false;
			p += 2;
		}
		if (o + 1 >= dstsize)
			return false;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return true;
}

/* True when a decoded path has a ".." segment (or any backslash trickery): refused with 403. */
static bool
path_escapes(const char *path)
{
	if (strchr(path, '\\') != NULL)
		return true;
	for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2) {
		bool starts = p == path || p[-1] == '/';
		bool ends = p[2] == '\0' || p[2] == '/';
		if (starts && ends)
			return true;
	}
	return false;
}

/* Reads docroot/path into a malloc'd buffer (caller frees); NULL when missing or not a regular file. */
static char *
load_file(const struct test_httpd *h, const char *path, size_t *len_out, int *status)
{
	char full[1536];
	struct stat st;
	char *buf;
	int fd;
	size_t got = 0;

	*status = 404;
	if (path_escapes(path)) {
		*status = 403;
		return NULL;
	}
	if (snprintf(full, sizeof full, "%s/%s", h->docroot, path) >= (int)sizeof full)
		return NULL;
	if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
		size_t l = strlen(full);
		if (snprintf(full + l, sizeof full - l, "/index.html") >= (int)(sizeof full - l))
			return NULL;
	}
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_FILE_SIZE) {
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len_out = got;
	*status = 200;
	return buf;
}

static uint32_t
crc32_update(uint32_t crc, const unsigned char *p, size_t len)
{
	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/*
 * Wraps data in a gzip member made of "stored" deflate blocks: valid gzip that any client
 * decodes, without linking zlib into the harness. Returns a malloc'd buffer (caller frees).
 */
static unsigned char *
gzip_stored(const unsigned char *data, size_t len, size_t *out_len)
{
	size_t nblocks = len / 65535 + 1;
	size_t total = 10 + nblocks * 5 + len + 8;
	unsigned char *out = malloc(total), *p;
	uint32_t crc = crc32_update(0, data, len);

	if (out == NULL)
		return NULL;
	p = out;
	static const unsigned char header[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff };
	memcpy(p, header, sizeof header);
	p += sizeof header;
	for (size_t off = 0, b = 0; b < nblocks; b++) {
		size_t n = len - off < 65535 ? len - off : 65535;
		*p++ = b + 1 == nblocks ? 1 : 0;          /* BFINAL on the last, BTYPE 00 (stored) */
		*p++ = (unsigned char)(n & 0xff);
		*p++ = (unsigned char)(n >> 8);
		*p++ = (unsigned char)(~n & 0xff);
		*p++ = (unsigned char)((~n >> 8) & 0xff);
		memcpy(p, data + off, n);
		p += n;
		off += n;
	}
	for (int i = 0; i < 4; i++)
		*p++ = (unsigned char)(crc >> (8 * i));
	for (int i = 0; i < 4; i++)
		*p++ = (unsigned char)(((uint32_t)len) >> (8 * i));
	*out_len = (size_t)(p - out);
	return out;
}

/* Parses a non-negative decimal prefix of s (up to '/' or end); false on junk or overflow. */
static bool
parse_number(const char *s, long max, long *out, const char **rest)
{
	long v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > max)
			return false;
	}
	if (*p != '\0' && *p != '/')
		return false;
	*out = v;
	*rest = p;
	return true;
}

/* Blocks until the client closes or the server stops: the /hang route. */
static void
hang(const struct test_httpd *h, int fd)
{
	while (!stopping(h)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char buf[256];
		int r = poll(&pfd, 1, POLL_SLICE_MS);
		if (r < 0 && errno != EINTR)
			return;
		if (r > 0) {
			ssize_t n = recv(fd, buf, sizeof buf, 0);
			if (n <= 0)
				return;    /* the client gave up */
		}
	}
}

/* Streams n bytes with no Content-Length (body ends at close): the /big/<n> route. */
static void
stream_big(const struct test_httpd *h, int fd, long n, bool head_only)
{
	static const char head[] =
	    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n";
	char chunk[16384];

	memset(chunk, 'x', sizeof chunk);
	if (!send_all(fd, head, sizeof head - 1) || head_only)
		return;
	while (n > 0 && !stopping(h)) {
		size_t k = (size_t)n < sizeof chunk ? (size_t)n : sizeof chunk;
		if (!send_all(fd, chunk, k))
			return;
		n -= (long)k;
	}
}

/* What the request head said that the routes care about. */
struct req_info {
	bool head_only, accept_gzip;
	char if_none_match[128], if_modified_since[64];
};

/* The fixed Last-Modified of /etag/ responses. */
#define ETAG_LAST_MODIFIED "Wed, 21 Oct 2015 07:28:00 GMT"

/* /etag/<path>: a file with validators; 304 when the client's match. */
static void
serve_etag(struct test_httpd *h, int fd, const char *path, const struct req_info *ri)
{
	int status;
	size_t len = 0;
	char *body = load_file(h, path, &len, &status), etag[64], hdr[256];

	if (body == NULL) {
		respond_text(fd, status, status == 403 ? "forbidden\n" : "not found\n", ri->head_only);
		return;
	}
	snprintf(etag, sizeof etag, "\"%zx-%08x\"", len, crc32_update(0, (const unsigned char *)body, len));
	snprintf(hdr, sizeof hdr, "ETag: %s\r\nLast-Modified: %s\r\n", etag, ETAG_LAST_MODIFIED);
	if ((ri->if_none_match[0] != '\0' && strcmp(ri->if_none_match, etag) == 0) ||
	    (ri->if_none_match[0] == '\0' && strcmp(ri->if_modified_since, ETAG_LAST_MODIFIED) == 0)) {
		__atomic_fetch_add(&h->not_modified, 1, __ATOMIC_ACQ_REL);
		respond(fd, 304, content_type_for(path), hdr, "", 0, true);
	} else
		respond(fd, 200, content_type_for(path), hdr, body, len, ri->head_only);
	free(body);
}

/* /drip/<ms>[/<n>]: headers, then one byte every ms; n bytes or until the client leaves. */
static void
serve_drip(const struct test_httpd *h, int fd, long ms, long n)
{
	static const char head[] =
	    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n";

	if (!send_all(fd, head, sizeof head - 1))
		return;
	while ((n < 0 || n-- > 0) && wait_ms(h, ms))
		if (!send_all(fd, "x", 1))
			return;
}

/* Routes one decoded request path (leading '/' stripped). */
static void
serve_path(struct test_httpd *h, int fd, const char *path, const struct req_info *ri)
{
	long n;
	const char *rest;
	bool head_only = ri->head_only, accept_gzip = ri->accept_gzip;

	(void)accept_gzip;
	if (strcmp(path, "robots.txt") == 0 && h->robots_status != 0) {
		respond(fd, h->robots_status, "text/plain", NULL, h->robots_body, strlen(h->robots_body), head_only);
		return;
	}
	if (strncmp(path, "etag/", 5) == 0) {
		serve_etag(h, fd, path + 5, ri);
		return;
	}
	if (strncmp(path, "drip/", 5) == 0) {
		long count = -1;
		if (!parse_number(path + 5, 600000, &n, &rest) ||
		    (*rest == '/' && !parse_number(rest + 1, 1000000, &count, &rest)) || *rest != '\0') {
			respond_text(fd, 400, "bad drip\n", head_only);
			return;
		}
		serve_drip(h, fd, n, count);
		return;
	}

	if (strncmp(path, "status/", 7) == 0) {
		if (!parse_number(path + 7, 999, &n, &rest) || n < 100 || *rest != '\0') {
			respond_text(fd, 400, "bad status\n", head_only);
			return;
		}
		respond(fd, (int)n, "text/plain", NULL, "", 0, head_only);
		return;
	}
	if (strncmp(path, "slow/", 5) == 0) {
		if (!parse_number(path + 5, 600000, &n, &rest) || *rest != '/') {
			respond_text(fd, 400, "bad delay\n", head_only);
			return;
		}
		if (wait_ms(h, n))
			serve_path(h, fd, rest + 1, ri);
		return;
	}
	if (strcmp(path, "hang") == 0 || strncmp(path, "hang/", 5) == 0) {
		hang(h, fd);
		return;
	}
	if (strncmp(path, "redirect/", 9) == 0) {
		char loc[128];
		if (!parse_number(path + 9, 1000, &n, &rest) || *rest != '\0') {
			respond_text(fd, 400, "bad redirect count\n", head_only);
			return;
		}
		if (n <= 1)
			snprintf(loc, sizeof loc, "Location: /\r\n");
		else
			snprintf(loc, sizeof loc, "Location: /redirect/%ld\r\n", n - 1);
		respond(fd, 302, "text/plain", loc, "", 0, head_only);
		return;
	}
	if (strncmp(path, "redirect-to/", 12) == 0) {
		char loc[1200];
		if (snprintf(loc, sizeof loc, "Location: %s\r\n", path + 12) >= (int)sizeof loc ||
		    strpbrk(path + 12, "\r\n") != NULL) {
			respond_text(fd, 400, "bad target\n", head_only);
			return;
		}
		respond(fd, 302, "text/plain", loc, "", 0, head_only);
		return;
	}
	if (strncmp(path, "retry-after/", 12) == 0 || strncmp(path, "retry-after-date/", 17) == 0) {
		bool as_date = path[11] == '-';
		long secs, times;
		char hdr[128];
		if (!parse_number(path + (as_date ? 17 : 12), 86400, &secs, &rest) || *rest != '/' ||
		    !parse_number(rest + 1, 1000, &times, &rest)) {
			respond_text(fd, 400, "bad retry-after\n", head_only);
			return;
		}
		if (__atomic_fetch_add(&h->retry_after_hits, 1, __ATOMIC_ACQ_REL) >= times) {
			if (*rest == '/')
				serve_path(h, fd, rest + 1, ri);
			else
				respond_text(fd, 200, "ok\n", head_only);
			return;
		}
		if (as_date) {
			time_t when = time(NULL) + secs;
			struct tm tm;
			char date[64];
			gmtime_r(&when, &tm);
			strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
			snprintf(hdr, sizeof hdr, "Retry-After: %s\r\n", date);
		} else {
			snprintf(hdr, sizeof hdr, "Retry-After: %ld\r\n", secs);
		}
		respond(fd, 429, "text/plain", hdr, "slow down\n", 10, head_only);
		return;
	}
	if (strncmp(path, "big/", 4) == 0) {
		if (!parse_number(path + 4, LONG_MAX / 2, &n, &rest) || *rest != '\0') {
			respond_text(fd, 400, "bad size\n", head_only);
			return;
		}
		stream_big(h, fd, n, head_only);
		return;
	}
	if (strncmp(path, "gzip/", 5) == 0) {
		int status;
		size_t len = 0, glen = 0;
		char *body = load_file(h, path + 5, &len, &status);
		unsigned char *gz;
		if (body == NULL) {
			respond_text(fd, status, status == 403 ? "forbidden\n" : "not found\n", head_only);
			return;
		}
		if (!accept_gzip) {
			respond(fd, 200, content_type_for(path), NULL, body, len, head_only);
			free(body);
			return;
		}
		gz = gzip_stored((const unsigned char *)body, len, &glen);
		free(body);
		if (gz == NULL) {
			respond_text(fd, 500, "out of memory\n", head_only);
			return;
		}
		respond(fd, 200, content_type_for(path), "Content-Encoding: gzip\r\n", gz, glen, head_only);
		free(gz);
		return;
	}

	int status;
	size_t len = 0;
	char *body = load_file(h, path, &len, &status);
	if (body == NULL) {
		respond_text(fd, status, status == 403 ? "forbidden\n" : "not found\n", head_only);
		return;
	}
	respond(fd, 200, path[0] == '\0' || path[strlen(path) - 1] == '/' ?
	    "text/html; charset=utf-8" : content_type_for(path), NULL, body, len, head_only);
	free(body);
}

/* Reads the request head (up to the blank line) with a deadline; false when the client is silent or gone. */
static bool
read_head(const struct test_httpd *h, int fd, char *buf, size_t bufsize)
{
	size_t got = 0;
	int waited = 0;

	while (!stopping(h) && waited < 5000) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, POLL_SLICE_MS);
		if (r < 0 && errno != EINTR)
			return false;
		if (r <= 0) {
			waited += POLL_SLICE_MS;
			continue;
		}
		ssize_t n = recv(fd, buf + got, bufsize - 1 - got, 0);
		if (n <= 0)
			return false;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL)
			return true;
		if (got + 1 >= bufsize)
			return false;
	}
	return false;
}

/* Copies the value of header name (case-insensitive) from a request head into buf; "" when absent. */
static void
header_value(const char *head, const char *name, char *buf, size_t bufsize)
{
	size_t nl = strlen(name);

	buf[0] = '\0';
	for (const char *p = strchr(head, '\n'); p != NULL; p = strchr(p + 1, '\n')) {
		const char *v = p + 1, *end;
		if (strncasecmp(v, name, nl) != 0 || v[nl] != ':')
			continue;
		v += nl + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		end = strpbrk(v, "\r\n");
		snprintf(buf, bufsize, "%.*s", (int)(end != NULL ? end - v : (long)strlen(v)), v);
		return;
	}
}

static void
handle_connection(struct test_httpd *h, int fd)
{
	char head[MAX_REQUEST_HEAD], method[16], target[2048], path[2048];
	bool head_only, accept_gzip;
	char *q, *line_end;
	struct req_info ri;
	int idx;

	if (!read_head(h, fd, head, sizeof head))
		return;
	memset(&ri, 0, sizeof ri);
	header_value(head, "If-None-Match", ri.if_none_match, sizeof ri.if_none_match);
	header_value(head, "If-Modified-Since", ri.if_modified_since, sizeof ri.if_modified_since);
	idx = __atomic_fetch_add(&h->requests, 1, __ATOMIC_ACQ_REL);
	if (idx >= 0 && idx < (int)(sizeof h->request_ms / sizeof h->request_ms[0])) {
		struct timespec now;
		char *sp1 = strchr(head, ' '), *sp2;

		clock_gettime(CLOCK_MONOTONIC, &now);
		h->request_ms[idx] = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
		h->request_conditional[idx] = ri.if_none_match[0] != '\0' || ri.if_modified_since[0] != '\0';
		header_value(head, "User-Agent", h->request_agent[idx], sizeof h->request_agent[idx]);
		header_value(head, "Cookie", h->request_cookie[idx], sizeof h->request_cookie[idx]);
		header_value(head, "X-Test", h->request_x_test[idx], sizeof h->request_x_test[idx]);
		if (sp1 != NULL && (sp2 = strpbrk(sp1 + 1, " \r\n")) != NULL)
			snprintf(h->request_path[idx], sizeof h->request_path[idx], "%.*s", (int)(sp2 - sp1 - 1), sp1 + 1);
	}

	line_end = strpbrk(head, "\r\n");
	if (line_end != NULL)
		*line_end = '\0';
	if (sscanf(head, "%15s %2047s", method, target) != 2 || target[0] != '/') {
		respond_text(fd, 400, "bad request\n", false);
		return;
	}
	head_only = strcmp(method, "HEAD") == 0;
	if (!head_only && strcmp(method, "GET") != 0) {
		respond_text(fd, 405, "method not allowed\n", false);
		return;
	}
	/* Header lines follow the request line; look for a gzip-capable Accept-Encoding. */
	accept_gzip = false;
	if (line_end != NULL) {
		for (char *p = line_end + 1; *p != '\0'; p++) {
			if (strncasecmp(p, "\nAccept-Encoding:", 17) == 0) {
				char *eol = strchr(p + 1, '\n');
				size_t l = eol ? (size_t)(eol - p) : strlen(p);
				accept_gzip = memmem(p, l, "gzip", 4) != NULL;
			}
		}
	}
	q = strchr(target, '?');
	if (q != NULL)
		*q = '\0';
	if (!url_decode(target + 1, path, sizeof path)) {
		respond_text(fd, 400, "bad escape\n", head_only);
		return;
	}
	ri.head_only = head_only;
	ri.accept_gzip = accept_gzip;
	serve_path(h, fd, path, &ri);
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;

	handle_connection(c->h, c->fd);
	/* Half-close first: the reply ends at close for the routes without Content-Length. */
	shutdown(c->fd, SHUT_WR);
	close(c->fd);
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Joins finished connection threads (all of them when everything is true); returns the new list. */
static struct conn *
reap(struct conn *list, bool everything)
{
	struct conn **pp = &list;

	while (*pp != NULL) {
		struct conn *c = *pp;
		if (everything || __atomic_load_n(&c->done, __ATOMIC_ACQUIRE)) {
			pthread_join(c->thread, NULL);
			*pp = c->next;
			free(c);
		} else {
			pp = &c->next;
		}
	}
	return list;
}

static void *
server_main(void *arg)
{
	struct test_httpd *h = arg;
	struct conn *conns = NULL;

	while (!stopping(h)) {
		struct pollfd pfd = { .fd = h->listen_fd, .events = POLLIN };
		int r = poll(&pfd, 1, POLL_SLICE_MS);
		conns = reap(conns, false);
		if (r <= 0)
			continue;
		int fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		struct conn *c = calloc(1, sizeof *c);
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->h = h;
		c->fd = fd;
		if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = conns;
		conns = c;
	}
	/* Every connection thread polls h->stopping, so these joins return promptly (even /hang). */
	reap(conns, true);
	return NULL;
}

void
test_httpd_start(struct test_httpd *h, const char *docroot)
{
	test_httpd_start_on(h, docroot, "127.0.0.1");
}

void
test_httpd_set_robots(struct test_httpd *h, int status, const char *body)
{
	snprintf(h->robots_body, sizeof h->robots_body, "%s", body != NULL ? body : "");
	__atomic_store_n(&h->robots_status, status, __ATOMIC_RELEASE);
}

int
test_httpd_find_request(const struct test_httpd *h, const char *path)
{
	int n = __atomic_load_n(&h->requests, __ATOMIC_ACQUIRE);

	for (int i = 0; i < n && i < (int)(sizeof h->request_path / sizeof h->request_path[0]); i++)
		if (strcmp(h->request_path[i], path) == 0)
			return i;
	return -1;
}

void
test_httpd_start_on(struct test_httpd *h, const char *docroot, const char *address)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof sa;
	int one = 1;

	memset(h, 0, sizeof *h);
	snprintf(h->address, sizeof h->address, "%s", address);
	if (snprintf(h->docroot, sizeof h->docroot, "%s", docroot) >= (int)sizeof h->docroot) {
		fprintf(stderr, "test_httpd: docroot too long: %s\n", docroot);
		abort();
	}
	h->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->listen_fd < 0)
		die("socket");
	setsockopt(h->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) {
		fprintf(stderr, "test_httpd: not an IPv4 address: %s\n", address);
		abort();
	}
	sa.sin_port = 0;
	if (bind(h->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		die("bind");
	if (listen(h->listen_fd, 64) != 0)
		die("listen");
	if (getsockname(h->listen_fd, (struct sockaddr *)&sa, &salen) != 0)
		die("getsockname");
	h->port = ntohs(sa.sin_port);
	snprintf(h->base_url, sizeof h->base_url, "http://%s:%d", address, h->port);
	h->stopping = false;
	if (pthread_create(&h->thread, NULL, server_main, h) != 0) {
		errno = EAGAIN;
		die("pthread_create");
	}
}

void
test_httpd_stop(struct test_httpd *h)
{
	if (h->listen_fd < 0)
		return;
	__atomic_store_n(&h->stopping, true, __ATOMIC_RELEASE);
	pthread_join(h->thread, NULL);
	close(h->listen_fd);
	h->listen_fd = -1;
}

void
test_httpd_make_docroot(char *buf, size_t size, const char *prefix)
{
	int n = snprintf(buf, size, "/tmp/%s-XXXXXX", prefix);

	cr_assert(n > 0 && (size_t)n < size, "docroot name too long: %s", prefix);
	cr_assert_not_null(mkdtemp(buf), "mkdtemp %s: %s", buf, strerror(errno));
}

/* Creates each missing directory on the way to the file at path (the last component is the file). */
static void
make_parents(char *path, size_t root_len)
{
	for (char *p = path + root_len + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
		*p = '/';
	}
}

void
test_httpd_write_file(const char *docroot, const char *relpath, const void *data, size_t len)
{
	char path[1024];
	int n = snprintf(path, sizeof path, "%s/%s", docroot, relpath);
	FILE *f;

	cr_assert(n > 0 && (size_t)n < sizeof path, "path too long: %s/%s", docroot, relpath);
	make_parents(path, strlen(docroot));
	f = fopen(path, "wb");
	cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len, "short write to %s", path);
	cr_assert_eq(fclose(f), 0, "cannot close %s: %s", path, strerror(errno));
}

void
test_httpd_write(const char *docroot, const char *relpath, const char *text)
{
	test_httpd_write_file(docroot, relpath, text, strlen(text));
}
