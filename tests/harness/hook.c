/* hook.c: a real webhook receiver on 127.0.0.1 (a thread) that records each POST and checks its HMAC signature. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/util.h"
#include "harness/hook.h"

#define HEAD_MAX 16384
#define BODY_MAX (1 << 20)

/*
 * The value of header name in head (lines ending in "\r\n", the request line
 * first) copied to out; "" when absent. Names compare case-insensitively.
 */
static void
head_value(const char *head, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	const char *p = strstr(head, "\r\n");

	out[0] = '\0';
	while (p != NULL && p[2] != '\0') {
		const char *line = p + 2, *end = strstr(line, "\r\n");

		if (end == NULL)
			end = line + strlen(line);
		if ((size_t)(end - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
			const char *v = line + nl + 1;
			size_t len;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			len = (size_t)(end - v);
			if (len >= outlen)
				len = outlen - 1;
			memcpy(out, v, len);
			out[len] = '\0';
			return;
		}
		p = *end != '\0' ? end : NULL;
	}
}

/* Reads one request: the head (NUL-terminated, up to the blank line) and Content-Length bytes of body. */
static bool
read_request(int fd, char **head, char **body)
{
	char *buf = xmalloc(HEAD_MAX + BODY_MAX + 1), *blank = NULL;
	size_t len = 0, want = SIZE_MAX;

	while (len < want) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (poll(&p, 1, 5000) <= 0 || (k = read(fd, buf + len, HEAD_MAX + BODY_MAX - len)) <= 0)
			break;
		len += (size_t)k;
		buf[len] = '\0';
		if (blank == NULL && (blank = strstr(buf, "\r\n\r\n")) != NULL) {
			char cl[24];
			int64_t v = 0;

			blank[2] = '\0';   /* the head ends with its last "\r\n" */
			head_value(buf, "Content-Length", cl, sizeof(cl));
			if (!parse_int64(cl, 0, BODY_MAX, &v))
				v = 0;
			want = (size_t)(blank - buf) + 4 + (size_t)v;
		}
	}
	if (blank == NULL || len < want) {
		free(buf);
		return false;
	}
	*head = xstrdup(buf);
	*body = xstrndup(blank + 4, want - (size_t)(blank - buf) - 4);
	free(buf);
	return true;
}

/* Independent of the notifier: "sha256=" + hex HMAC-SHA256 computed here with libcrypto. */
static bool
signature_ok(const char *secret, const char *sig, const char *body)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char want[8 + 2 * EVP_MAX_MD_SIZE] = "sha256=";

	if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, strlen(body), md,
	    &mdlen) == NULL)
		return false;
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(want + 7 + 2 * i, 3, "%02x", md[i]);
	return strcmp(sig, want) == 0;
}

/* Records one connection's request and answers it. */
static void
serve(struct test_hook *h, int c)
{
	char *head = NULL, *body = NULL, resp[128];
	int status;

	if (!read_request(c, &head, &body)) {
		close(c);
		return;
	}
	pthread_mutex_lock(&h->mu);
	if (h->n < TEST_HOOK_MAX) {
		struct test_hook_request *q = &h->req[h->n];
		const char *eol = strstr(head, "\r\n");

		pw_strlcpy(q->line, head, eol != NULL && (size_t)(eol - head) + 1 < sizeof(q->line) ?
		    (size_t)(eol - head) + 1 : sizeof(q->line));
		head_value(head, "Content-Type", q->content_type, sizeof(q->content_type));
		head_value(head, "X-Pricewatch-Delivery", q->delivery, sizeof(q->delivery));
		head_value(head, "X-Pricewatch-Signature", q->signature, sizeof(q->signature));
		head_value(head, "X-Pricewatch-Timestamp", q->timestamp, sizeof(q->timestamp));
		q->sig_ok = signature_ok(h->secret, q->signature, body);
		q->body = body;
		body = NULL;
		h->n++;
	}
	status = h->n <= h->fail_first ? 500 : h->status;
	pthread_cond_broadcast(&h->cv);
	while (h->hold && !h->released && !h->stopping)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	if (pw_snprintf(resp, sizeof(resp), "HTTP/1.1 %d R\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status))
		(void)!send(c, resp, strlen(resp), MSG_NOSIGNAL);
	close(c);
	free(head);
	free(body);
}

static void *
hook_main(void *arg)
{
	struct test_hook *h = arg;

	while (!h->stopping) {
		struct pollfd p = { .fd = h->fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		if ((c = accept(h->fd, NULL, NULL)) >= 0)
			serve(h, c);
	}
	return NULL;
}

void
test_hook_start(struct test_hook *h, const char *secret)
{
	test_hook_start_on(h, secret, 0);
}

void
test_hook_start_on(struct test_hook *h, const char *secret, int port)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int one = 1;

	memset(h, 0, sizeof(*h));
	cr_assert(pw_strlcpy(h->secret, secret, sizeof(h->secret)) < sizeof(h->secret));
	h->status = 200;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(h->fd >= 0, "socket: %s", strerror(errno));
	setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	cr_assert_eq(bind(h->fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind: %s", strerror(errno));
	cr_assert_eq(listen(h->fd, 16), 0);
	cr_assert_eq(getsockname(h->fd, (struct sockaddr *)&a, &al), 0);
	h->port = ntohs(a.sin_port);
	cr_assert(pw_snprintf(h->url, sizeof(h->url), "http://127.0.0.1:%d/hook", h->port));
	cr_assert_eq(pthread_create(&h->thread, NULL, hook_main, h), 0);
}

void
test_hook_stop(struct test_hook *h)
{
	pthread_mutex_lock(&h->mu);
	h->stopping = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	close(h->fd);
	for (int i = 0; i < h->n; i++)
		free(h->req[i].body);
	h->n = 0;
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
}

int
test_hook_wait(struct test_hook *h, int n, int ms)
{
	struct timespec until;
	int got;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&h->mu);
	while (h->n < n && pthread_cond_timedwait(&h->cv, &h->mu, &until) == 0)
		;
	got = h->n;
	pthread_mutex_unlock(&h->mu);
	return got;
}

void
test_hook_write_secret(const struct test_hook *h, const char *path)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
	fprintf(f, "%s\n", h->secret);
	cr_assert_eq(fclose(f), 0);
}

void
test_hook_release(struct test_hook *h)
{
	pthread_mutex_lock(&h->mu);
	h->released = true;
	h->hold = false;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

int
test_hook_count(struct test_hook *h)
{
	int n;

	pthread_mutex_lock(&h->mu);
	n = h->n;
	pthread_mutex_unlock(&h->mu);
	return n;
}
