/* http-get.h: for tests that talk to a running daemon's admin endpoint: free loopback ports and one HTTP GET (libcurl). */
#ifndef PW_TEST_HTTP_GET_H
#define PW_TEST_HTTP_GET_H

#include <stdbool.h>

/* A TCP socket bound to a free loopback port (listening when listening is true); its port in *port_out. */
int test_loopback_socket(bool listening, unsigned *port_out);
/* A loopback port that was free a moment ago (for a daemon's admin-listen). */
unsigned test_free_port(void);

/*
 * GETs url (20 s at most, never through a proxy), with "Authorization: Bearer
 * <bearer>" unless bearer is NULL. Returns the HTTP status, 0 when there was no
 * answer; *body gets the body, NUL-terminated, never NULL (caller frees).
 * Link with $(CURL_LIBS).
 */
long test_http_get(const char *url, const char *bearer, char **body);

#endif
