/* httpd.h: a real HTTP/1.1 fixture server on 127.0.0.1 (a thread) that serves files and scripted misbehaviour. */
#ifndef PW_TEST_HTTPD_H
#define PW_TEST_HTTPD_H

#include <pthread.h>
#include <stdbool.h>

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
};

void test_httpd_start(struct test_httpd *h, const char *docroot);
void test_httpd_stop(struct test_httpd *h);

#endif
