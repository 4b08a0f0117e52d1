/* httpd.h: a real HTTP/1.1 fixture server on 127.0.0.1 (a thread) that serves files and scripted misbehaviour. */
#ifndef PW_TEST_HTTPD_H
#define PW_TEST_HTTPD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Routes: GET /<path> serves <docroot>/<path> with a content type from its suffix;
 * /status/<code> answers that status with an empty body; /slow/<ms>/<path> waits
 * ms before answering; /hang never answers (until the server stops); /redirect/<n>
 * chains n redirects to /; anything missing is 404.
 * Also: /redirect-to/<target> answers 302 with "Location: <target>" (e.g. a file:// URL);
 * /big/<n> streams n bytes with no Content-Length (the body ends at close); /gzip/<path>
 * serves a file gzip-encoded when the client accepts gzip; a path with a ".." segment is 403;
 * a directory serves its index.html.
 * Retry fixtures: /retry-after/<secs>/<n>[/<path>] answers 429 with "Retry-After: <secs>"
 * to the first n requests made to any /retry-after* route of this server, then serves
 * <path> (or "ok\n"); /retry-after-date/<secs>/<n>[/<path>] does the same with an
 * IMF-fixdate <secs> seconds ahead.
 * Crawler fixtures: /etag/<path> serves a file with an ETag and Last-Modified and
 * answers 304 to a matching If-None-Match or If-Modified-Since (counted in
 * not_modified); /drip/<ms>[/<n>] sends headers, then one byte every ms (n bytes,
 * default: until the client leaves); /robots.txt answers what test_httpd_set_robots
 * set, else the docroot's file (404 when none).
 */
struct test_httpd {
	char docroot[512];
	int port;                  /* chosen by the kernel */
	char base_url[64];         /* "http://127.0.0.1:PORT" */
	int listen_fd;
	volatile bool stopping;
	pthread_t thread;
	int requests;              /* count of requests served, for assertions */
	int retry_after_hits;      /* requests made to the /retry-after* routes */
	/* Arrival time (CLOCK_MONOTONIC, ms) of request i, for the first 64 requests. */
	long long request_ms[64];
	/* Added for the crawler tests (zero for older callers to ignore). */
	char request_path[64][160];        /* request-target of request i (query included, truncated) */
	char request_conditional[64];      /* 1 when request i carried If-None-Match or If-Modified-Since */
	int not_modified;                  /* 304s sent by /etag/ */
	int robots_status;                 /* set by test_httpd_set_robots; 0: serve the docroot's robots.txt */
	char robots_body[8192];
	char address[32];                  /* "127.0.0.1" unless started with test_httpd_start_on */
	/* Headers of request i: User-Agent, Cookie and X-Test ("" when absent, truncated). */
	char request_agent[64][96], request_cookie[64][96], request_x_test[64][96];
};

void test_httpd_start(struct test_httpd *h, const char *docroot);
/* Like test_httpd_start on another loopback address ("127.0.0.2": a second host for the crawler). */
void test_httpd_start_on(struct test_httpd *h, const char *docroot, const char *address);
/* Makes /robots.txt answer status with body (call before requests are made). */
void test_httpd_set_robots(struct test_httpd *h, int status, const char *body);
/* Index of the first request whose path is path (exact), or -1. */
int test_httpd_find_request(const struct test_httpd *h, const char *path);
void test_httpd_stop(struct test_httpd *h);

/*
 * Docroot files for the tests (each fails the test on error): make_docroot makes a
 * fresh "/tmp/<prefix>-XXXXXX" into buf; write_file writes len bytes to
 * <docroot>/<relpath>, creating missing directories on the way; write does the same
 * for a NUL-terminated text. Remove the docroot with test_remove_tree (harness/run.h).
 */
void test_httpd_make_docroot(char *buf, size_t size, const char *prefix);
void test_httpd_write_file(const char *docroot, const char *relpath, const void *data, size_t len);
void test_httpd_write(const char *docroot, const char *relpath, const char *text);

#endif
