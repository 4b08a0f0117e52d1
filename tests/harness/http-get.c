/* http-get.c: for tests that talk to a running daemon's admin endpoint: free loopback ports and one HTTP GET (libcurl). */
#include <config.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "harness/http-get.h"

int
test_loopback_socket(bool listening, unsigned *port_out)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		cr_assert_eq(listen(fd, 1), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port_out = ntohs(sa.sin_port);
	return fd;
}

unsigned
test_free_port(void)
{
	unsigned p;

	close(test_loopback_socket(false, &p));
	return p;
}

static size_t
collect(char *data, size_t size, size_t nmemb, void *arg)
{
	return fwrite(data, size, nmemb, arg);
}

long
test_http_get(const char *url, const char *bearer, char **body)
{
	CURL *c = curl_easy_init();
	struct curl_slist *headers = NULL;
	char auth[256];
	size_t len = 0;
	long status = 0;
	FILE *f;

	*body = NULL;
	f = open_memstream(body, &len);
	cr_assert(c != NULL && f != NULL, "cannot set up a GET of %s", url);
	if (bearer != NULL) {
		int n = snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);

		cr_assert(n > 0 && (size_t)n < sizeof auth, "token too long");
		headers = curl_slist_append(NULL, auth);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	cr_assert_eq(fclose(f), 0, "cannot collect the body of %s", url);
	return status;
}
