/* email.h: the email notifier: one RFC 5322 message (multipart text + HTML with the price chart inline, RFC 2047 subject) per alert over SMTP with libcurl. */
#ifndef PW_ALERT_EMAIL_H
#define PW_ALERT_EMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/queue.h"

/*
 * Draws the price chart of msg's listing as a PNG for the mail: true with
 * *png (caller frees) holding *len bytes; false when there is none to show,
 * with err saying why ("" when the listing simply has no history).
 */
typedef bool (*email_chart_fn)(void *arg, const struct alert_msg *msg, int64_t now_ms, unsigned char **png,
    size_t *len, char *err, size_t errlen);

/* Most charts in one mail (a digest shows the first listings'). */
#define EMAIL_CHARTS_MAX 10

struct email_opts {
	const char *url;               /* smtp://[user@]host[:port] (STARTTLS when offered; required with a password) or smtps://; NULL: smtp://localhost */
	const char *password;          /* AUTH password (the notifier's secret-file); NULL: no AUTH */
	const char *user;              /* AUTH user; NULL: the one in the URL, if any */
	const char *from;              /* envelope and From: address; NULL: pricewatch@<hostname> */
	char *const *to;               /* recipients (borrowed) */
	size_t n_to;
	int64_t connect_timeout_ms;    /* 0: 10 s */
	int64_t timeout_ms;            /* 0: 60 s */
	const char *ca_file;           /* PEM CA certificates that verify the server; NULL: the system's */
	/*
	 * NULL: no chart. Else the HTML part becomes multipart/related with one
	 * image/png part per listing (Content-ID referenced by <img src="cid:...">);
	 * a chart that cannot be drawn is logged and left out, never blocking the mail.
	 */
	email_chart_fn chart;
	void *chart_arg;
};

/*
 * An email_chart_fn that reads the listing's history from arg (a struct store *)
 * and draws it up to now_ms, at most its last 90 days, with chart_render_mem (640 x 320 PNG).
 */
bool email_chart_from_store(void *arg, const struct alert_msg *msg, int64_t now_ms, unsigned char **png,
    size_t *len, char *err, size_t errlen);

/*
 * The whole message for msg, CRLF line ends, sent at now_ms. Message-ID is
 * derived from the idempotency key, so a redelivered alert is recognisably the
 * same mail. Newly allocated, the caller frees it.
 */
char *email_message(const struct email_opts *opts, const struct alert_msg *msg, int64_t now_ms);
/*
 * One message listing n alerts (a digest) under idempotency key (NULL: the
 * first alert's id), Message-ID derived from it. Newly allocated.
 */
char *email_message_batch(const struct email_opts *opts, const struct alert_msg *msgs, size_t n, const char *key,
    int64_t now_ms);

/*
 * RFC 2047 "B" encoding of a UTF-8 header value (folded encoded words of at
 * most 75 characters, never splitting a UTF-8 sequence); plain printable ASCII
 * is returned as is. Newly allocated.
 */
char *email_encode_header(const char *text);

/* One SMTP transaction. 5xx replies, refused logins and bad URLs are permanent; the rest is retried. */
enum alert_delivery email_send(const struct email_opts *opts, const struct alert_msg *msg, int64_t now_ms,
    char *err, size_t errlen);

/*
 * One SMTP transaction of a ready message. *smtp_code (may be NULL) gets the
 * last SMTP reply code, *curl_code (may be NULL) libcurl's result code.
 */
enum alert_delivery email_send_body(const struct email_opts *opts, const char *body, long *smtp_code,
    int *curl_code, char *err, size_t errlen);

/* An alert_channel deliver function; ch->arg points to a struct email_opts. */
enum alert_delivery email_deliver(const struct alert_channel *ch, const struct alert_msg *msg, int64_t now_ms,
    char *err, size_t errlen);
/* An alert_channel deliver_batch function (digest): one mail listing n alerts. */
enum alert_delivery email_deliver_batch(const struct alert_channel *ch, const struct alert_msg *msgs, size_t n,
    const char *key, int64_t now_ms, char *err, size_t errlen);

#endif
