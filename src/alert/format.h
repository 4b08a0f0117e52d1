/* format.h: how an alert reads to people and programs: one-line summary, price text, the JSON object, and the chat payload shapes. */
#ifndef PW_ALERT_FORMAT_H
#define PW_ALERT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "alert/queue.h"

/* Webhook payload shapes (the notifier's format key). */
enum alert_format {
	ALERT_FORMAT_GENERIC = 0,      /* the documented pricewatch JSON (docs/alerts.md) */
	ALERT_FORMAT_SLACK,            /* Slack incoming webhook: text + blocks */
	ALERT_FORMAT_DISCORD,          /* Discord webhook: content + embeds */
	ALERT_FORMAT_TEAMS,            /* Microsoft Teams incoming webhook: MessageCard */
};
/* "slack" -> ALERT_FORMAT_SLACK; NULL or unknown: generic. */
enum alert_format alert_format_parse(const char *name);

/* "20.00 USD" for side "old", "new" or "product"; "none" without a price. */
void alert_price_text(const struct alert_msg *msg, const char *side, char *out, size_t outlen);

/*
 * One line saying what happened, UTF-8 (with an arrow), e.g.
 * "Widget: 20.00 USD → 17.99 USD (-10.05%)" or, for match kinds,
 * "Widget at 17.99 USD undercuts Own widget (19.99 USD)". Newly allocated.
 */
char *alert_summary(const struct alert_msg *msg);

/*
 * Writes s with &, < and > as entities (HTML, Slack mrkdwn); quotes (for HTML
 * attributes) escapes " and ' too.
 */
void alert_write_escaped(FILE *f, const char *s, bool quotes);

/* The alert as the generic JSON object (without sent_at). The caller owns it (json_object_put). */
json_object *alert_json(const struct alert_msg *msg);

/*
 * The webhook body for n alerts (n == 1 and key NULL: a single alert, whose
 * own id is the key; else a digest under key), sent at now_ms. Generic: the
 * alert object plus sent_at, or {"id", "digest": true, "count", "alerts": [...],
 * "sent_at"}. Slack, Discord and Teams: their incoming-webhook shapes. Newly
 * allocated.
 */
char *alert_payload(enum alert_format fmt, const struct alert_msg *msgs, size_t n, const char *key,
    int64_t now_ms);

#endif
