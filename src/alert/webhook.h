/* webhook.h: delivers an alert as a signed JSON POST (HMAC-SHA256, idempotency and timestamp headers) with libcurl. */
#ifndef PW_ALERT_WEBHOOK_H
#define PW_ALERT_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/format.h"
#include "alert/queue.h"

#define WEBHOOK_SIG_LEN (7 + 64)       /* "sha256=" + hex */

/* A kept-alive connection to a webhook receiver (a libcurl handle); used by one thread at a time. */
struct webhook_conn;
struct webhook_conn *webhook_conn_new(void);
void webhook_conn_free(struct webhook_conn *conn);

struct webhook_opts {
	const char *url;               /* http:// or https:// (TLS always verified) */
	const char *secret;            /* HMAC key; NULL or "": requests go unsigned */
	int64_t connect_timeout_ms;    /* 0: 10 s */
	int64_t timeout_ms;            /* 0: 30 s, the whole request */
	const char *user_agent;        /* NULL: "pricewatch/VERSION" */
	enum alert_format format;      /* body shape; generic by default */
	struct webhook_conn *conn;     /* NULL: a new connection per POST; else reused across POSTs (not owned) */
};

/*
 * The JSON payload (see docs/alerts.md) for msg, sent at now_ms. Newly
 * allocated, the caller frees it. Prices are exact decimal strings; minor
 * units are integers.
 */
char *webhook_payload(const struct alert_msg *msg, int64_t now_ms);

/* "sha256=<hex HMAC-SHA256 of body with secret>" into out (WEBHOOK_SIG_LEN + 1 bytes). */
bool webhook_signature(const char *secret, const char *body, size_t len, char out[WEBHOOK_SIG_LEN + 1]);

/*
 * One POST of a ready body under idempotency key (X-Pricewatch-Delivery),
 * signed when the options have a secret. *status gets the HTTP status (0
 * without an answer), *curl_code (may be NULL) libcurl's result code for
 * alert_transport_stage. Outcome as webhook_post.
 */
enum alert_delivery webhook_post_body(const struct webhook_opts *opts, const char *body, const char *key,
    int64_t now_ms, long *status, int *curl_code, char *err, size_t errlen);

/*
 * Where a transfer failed, from libcurl's result code, for people: "ok",
 * "url", "dns", "connect", "timeout", "tls", "auth" or "transfer". Static.
 */
const char *alert_transport_stage(int curl_code);

/*
 * One POST (body in the options' format). 2xx: delivered. 408, 429, 5xx and transport errors: retry.
 * Other statuses and bad URLs: permanent. err gets "URL: reason" on failure.
 */
enum alert_delivery webhook_post(const struct webhook_opts *opts, const struct alert_msg *msg, int64_t now_ms,
    long *status, char *err, size_t errlen);

/* An alert_channel deliver function; ch->arg points to a struct webhook_opts. */
enum alert_delivery webhook_deliver(const struct alert_channel *ch, const struct alert_msg *msg, int64_t now_ms,
    char *err, size_t errlen);
/* An alert_channel deliver_batch function (digest): one POST for n alerts under key. */
enum alert_delivery webhook_deliver_batch(const struct alert_channel *ch, const struct alert_msg *msgs, size_t n,
    const char *key, int64_t now_ms, char *err, size_t errlen);

#endif
