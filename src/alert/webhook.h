/* webhook.h: delivers an alert as a signed JSON POST (HMAC-SHA256, idempotency and timestamp headers) with libcurl. */
#ifndef PW_ALERT_WEBHOOK_H
#define PW_ALERT_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/queue.h"

#define WEBHOOK_SIG_LEN (7 + 64)       /* "sha256=" + hex */

struct webhook_opts {
	const char *url;               /* http:// or https:// (TLS always verified) */
	const char *secret;            /* HMAC key; NULL or "": requests go unsigned */
	int64_t connect_timeout_ms;    /* 0: 10 s */
	int64_t timeout_ms;            /* 0: 30 s, the whole request */
	const char *user_agent;        /* NULL: "pricewatch/VERSION" */
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
 * One POST. 2xx: delivered. 408, 429, 5xx and transport errors: retry.
 * Other statuses and bad URLs: permanent. err gets "URL: reason" on failure.
 */
enum alert_delivery webhook_post(const struct webhook_opts *opts, const struct alert_msg *msg, int64_t now_ms,
    long *status, char *err, size_t errlen);

/* An alert_channel deliver function; ch->arg points to a struct webhook_opts. */
enum alert_delivery webhook_deliver(const struct alert_channel *ch, const struct alert_msg *msg, int64_t now_ms,
    char *err, size_t errlen);

#endif
