/* hook.h: a real webhook receiver on 127.0.0.1 (a thread) that records each POST and checks its HMAC signature. */
#ifndef PW_TEST_HOOK_H
#define PW_TEST_HOOK_H

#include <pthread.h>
#include <stdbool.h>

#define TEST_HOOK_MAX 64

/* One request as received. */
struct test_hook_request {
	char line[160];            /* request line: "POST /hook HTTP/1.1" */
	char content_type[80];
	char delivery[96];         /* X-Pricewatch-Delivery */
	char signature[96];        /* X-Pricewatch-Signature */
	char timestamp[32];        /* X-Pricewatch-Timestamp */
	bool sig_ok;               /* the signature is "sha256=" + hex HMAC-SHA256(secret, body) */
	char *body;                /* owned by the receiver, NUL-terminated */
};

struct test_hook {
	char secret[128];
	int port;
	char url[64];              /* "http://127.0.0.1:PORT/hook" */
	int fd;
	volatile bool stopping;
	pthread_t thread;
	pthread_mutex_t mu;        /* guards what follows */
	pthread_cond_t cv;
	int status;                /* answered to every request, 200 unless set */
	int fail_first;            /* but 500 to the first fail_first requests (0 unless set) */
	bool hold;                 /* record, then keep the answer until test_hook_release */
	bool released;
	int n;                     /* requests recorded (at most TEST_HOOK_MAX) */
	struct test_hook_request req[TEST_HOOK_MAX];
};

/* Starts listening on a port the kernel picks; secret is the channel's (its HMAC key). */
void test_hook_start(struct test_hook *h, const char *secret);
/* The same on port (0: any), e.g. again on the port of a receiver that was stopped. */
void test_hook_start_on(struct test_hook *h, const char *secret, int port);
/* Answers the requests held (hold) and every later one at once. */
void test_hook_release(struct test_hook *h);
/* Requests recorded so far. */
int test_hook_count(struct test_hook *h);
/* Stops the thread (held answers are dropped) and frees the bodies. */
void test_hook_stop(struct test_hook *h);
/* Waits up to ms until at least n requests arrived; returns the number received. */
int test_hook_wait(struct test_hook *h, int n, int ms);
/* Writes the secret to path with a newline (a notifier's secret-file). */
void test_hook_write_secret(const struct test_hook *h, const char *path);

#endif
