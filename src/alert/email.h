/* email.h: the email notifier: one RFC 5322 message (multipart text + HTML, RFC 2047 subject) per alert over SMTP with libcurl. */
#ifndef PW_ALERT_EMAIL_H
#define PW_ALERT_EMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/queue.h"

struct email_opts {
	const char *url;               /* smtp://[user@]host[:port] (STARTTLS when offered; required with a password) or smtps://; NULL: smtp://localhost */
	const char *password;          /* AUTH password (the notifier's secret-file); NULL: no AUTH */
	const char *from;              /* envelope and From: address; NULL: pricewatch@<hostname> */
	char *const *to;               /* recipients (borrowed) */
	size_t n_to;
	int64_t connect_timeout_ms;    /* 0: 10 s */
	int64_t timeout_ms;            /* 0: 60 s */
};

/*
 * The whole message for msg, CRLF line ends, sent at now_ms. Message-ID is
 * derived from the idempotency key, so a redelivered alert is recognisably the
 * same mail. Newly allocated, the caller frees it.
 */
char *email_message(const struct email_opts *opts, const struct alert_msg *msg, int64_t now_ms);

/*
 * RFC 2047 "B" encoding of a UTF-8 header value (folded encoded words of at
 * most 75 characters, never splitting a UTF-8 sequence); plain printable ASCII
 * is returned as is. Newly allocated.
 */
char *email_encode_header(const char *text);

/* One SMTP transaction. 5xx replies, refused logins and bad URLs are permanent; the rest is retried. */
enum alert_delivery email_send(const struct email_opts *opts, const struct alert_msg *msg, int64_t now_ms,
    char *err, size_t errlen);

/* An alert_channel deliver function; ch->arg points to a struct email_opts. */
enum alert_delivery email_deliver(const struct alert_channel *ch, const struct alert_msg *msg, int64_t now_ms,
    char *err, size_t errlen);

#endif
