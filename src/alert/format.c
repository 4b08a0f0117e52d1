/* format.c: renders alerts for people and programs: summary line, generic JSON, and Slack / Discord / Teams webhook shapes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/format.h"
#include "common/util.h"

#define ARROW "\xe2\x86\x92"           /* U+2192 RIGHTWARDS ARROW */
#define SLACK_MAX_SECTIONS 45          /* Slack allows 50 blocks a message */
#define DISCORD_MAX_EMBEDS 10          /* Discord allows 10 embeds a message */
#define TEAMS_MAX_SECTIONS 50
#define DISCORD_COLOR 0x2e86de

enum alert_format
alert_format_parse(const char *name)
{
	if (name == NULL)
		return ALERT_FORMAT_GENERIC;
	if (strcmp(name, "slack") == 0)
		return ALERT_FORMAT_SLACK;
	if (strcmp(name, "discord") == 0)
		return ALERT_FORMAT_DISCORD;
	if (strcmp(name, "teams") == 0)
		return ALERT_FORMAT_TEAMS;
	return ALERT_FORMAT_GENERIC;
}

void
alert_price_text(const struct alert_msg *msg, const char *side, char *out, size_t outlen)
{
	char p[32], c[32];
	const char *price, *cur;

	pw_snprintf(p, sizeof(p), "%s_price", side);
	pw_snprintf(c, sizeof(c), "%s_currency", side);
	price = alert_msg_get(msg, p);
	cur = alert_msg_get(msg, c);
	if (price[0] == '\0')
		pw_snprintf(out, outlen, "none");
	else
		pw_snprintf(out, outlen, "%s %s", price, cur);
}

/* The listing's name for people: its title, else its id. */
static const char *
listing_name(const struct alert_msg *msg)
{
	const char *t = alert_msg_get(msg, "title");

	return t[0] != '\0' ? t : alert_msg_get(msg, "listing");
}

static const char *
product_name(const struct alert_msg *msg)
{
	const char *t = alert_msg_get(msg, "product_title");

	return t[0] != '\0' ? t : alert_msg_get(msg, "product");
}

char *
alert_summary(const struct alert_msg *msg)
{
	const char *kind = alert_msg_get(msg, "kind"), *pct = alert_msg_get(msg, "percent");
	char oldp[64], newp[64], prodp[64];

	alert_price_text(msg, "old", oldp, sizeof(oldp));
	alert_price_text(msg, "new", newp, sizeof(newp));
	alert_price_text(msg, "product", prodp, sizeof(prodp));
	if (strcmp(kind, "test") == 0)
		return xstrdup(listing_name(msg));
	if (strcmp(kind, "new-match") == 0)
		return xasprintf("New match for %s: %s at %s", product_name(msg), listing_name(msg), newp);
	if (strcmp(kind, "undercut") == 0)
		return xasprintf("%s at %s undercuts %s (%s)", listing_name(msg), newp, product_name(msg), prodp);
	if (strcmp(oldp, newp) == 0)
		return xasprintf("%s: %s " ARROW " %s", listing_name(msg),
		    alert_msg_get(msg, "old_availability"), alert_msg_get(msg, "new_availability"));
	return xasprintf("%s: %s " ARROW " %s%s%s%s", listing_name(msg), oldp, newp, pct[0] != '\0' ? " (" : "",
	    pct, pct[0] != '\0' ? "%)" : "");
}

static json_object *
str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_object_new_string(s) : NULL;
}

static json_object *
int_or_null(const char *s)
{
	int64_t v;

	return s != NULL && parse_int64(s, INT64_MIN, INT64_MAX, &v) ? json_object_new_int64(v) : NULL;
}

/* {"price", "minor", "currency"[, "availability"]} of one side of the alert. */
static json_object *
side(const struct alert_msg *msg, const char *prefix, bool with_availability)
{
	json_object *o = json_object_new_object();
	char name[32];

	pw_snprintf(name, sizeof(name), "%s_price", prefix);
	json_object_object_add(o, "price", str_or_null(alert_msg_get(msg, name)));
	pw_snprintf(name, sizeof(name), "%s_minor", prefix);
	json_object_object_add(o, "minor", int_or_null(alert_msg_get(msg, name)));
	pw_snprintf(name, sizeof(name), "%s_currency", prefix);
	json_object_object_add(o, "currency", str_or_null(alert_msg_get(msg, name)));
	if (with_availability) {
		pw_snprintf(name, sizeof(name), "%s_availability", prefix);
		json_object_object_add(o, "availability", str_or_null(alert_msg_get(msg, name)));
	}
	return o;
}

json_object *
alert_json(const struct alert_msg *msg)
{
	json_object *root = json_object_new_object(), *listing = json_object_new_object(), *product = NULL;
	const char *score = alert_msg_get(msg, "score");

	json_object_object_add(root, "id", json_object_new_string(alert_msg_get(msg, "id")));
	json_object_object_add(root, "rule", json_object_new_string(alert_msg_get(msg, "rule")));
	json_object_object_add(root, "kind", json_object_new_string(alert_msg_get(msg, "kind")));
	json_object_object_add(listing, "id", json_object_new_string(alert_msg_get(msg, "listing")));
	json_object_object_add(listing, "source", str_or_null(alert_msg_get(msg, "source")));
	json_object_object_add(listing, "url", str_or_null(alert_msg_get(msg, "url")));
	json_object_object_add(listing, "title", str_or_null(alert_msg_get(msg, "title")));
	json_object_object_add(root, "listing", listing);
	json_object_object_add(root, "old", side(msg, "old", true));
	json_object_object_add(root, "new", side(msg, "new", true));
	json_object_object_add(root, "percent", str_or_null(alert_msg_get(msg, "percent")));
	if (alert_msg_get(msg, "product")[0] != '\0') {
		product = side(msg, "product", false);
		json_object_object_add(product, "sku", json_object_new_string(alert_msg_get(msg, "product")));
		json_object_object_add(product, "title", str_or_null(alert_msg_get(msg, "product_title")));
	}
	json_object_object_add(root, "product", product);
	/* The score's own digits (a similarity, not a price): keeps the text exactly as stored. */
	json_object_object_add(root, "score", score[0] != '\0' ? json_object_new_double_s(strtod(score, NULL), score) :
	    NULL);
	json_object_object_add(root, "time", str_or_null(alert_msg_get(msg, "time")));
	json_object_object_add(root, "time_ms", int_or_null(alert_msg_get(msg, "time_ms")));
	return root;
}

void
alert_write_escaped(FILE *f, const char *s, bool quotes)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs(quotes ? "&quot;" : "\"", f); break;
		case '\'': fputs(quotes ? "&#39;" : "'", f); break;
		default: fputc(*s, f); break;
		}
	}
}

/* The lines a chat message shows for one alert (Markdown-ish; link when the URL is known). */
static char *
chat_text(const struct alert_msg *msg, enum alert_format fmt)
{
	char *summary = alert_summary(msg), *out = NULL;
	const char *url = alert_msg_get(msg, "url");
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (f == NULL)
		abort();
	if (fmt == ALERT_FORMAT_SLACK) {
		fputs("*", f);
		alert_write_escaped(f, summary, false);
		fputs("*\n", f);
		if (url[0] != '\0') {
			fputc('<', f);
			alert_write_escaped(f, url, false);
			fputs("|open listing>  ", f);
		}
		fputs("rule `", f);
		alert_write_escaped(f, alert_msg_get(msg, "rule"), false);
		fputs("` (", f);
		alert_write_escaped(f, alert_msg_get(msg, "kind"), false);
		fputs(")", f);
	} else {
		fprintf(f, "**%s**\n", summary);
		if (url[0] != '\0')
			fprintf(f, "[open listing](%s) - ", url);
		fprintf(f, "rule %s (%s)", alert_msg_get(msg, "rule"), alert_msg_get(msg, "kind"));
	}
	fclose(f);
	free(summary);
	return out;
}

static char *
headline(const struct alert_msg *msgs, size_t n)
{
	return n == 1 ? alert_summary(&msgs[0]) : xasprintf("pricewatch: %zu alerts", n);
}

static json_object *
slack_payload(const struct alert_msg *msgs, size_t n)
{
	json_object *root = json_object_new_object(), *blocks = json_object_new_array();
	char *head = headline(msgs, n);
	size_t shown = n > SLACK_MAX_SECTIONS ? SLACK_MAX_SECTIONS : n;

	/* "text" is the notification fallback; the blocks are what the channel shows. */
	json_object_object_add(root, "text", json_object_new_string(head));
	for (size_t i = 0; i < shown; i++) {
		json_object *b = json_object_new_object(), *t = json_object_new_object();
		char *text = chat_text(&msgs[i], ALERT_FORMAT_SLACK);

		json_object_object_add(b, "type", json_object_new_string("section"));
		json_object_object_add(t, "type", json_object_new_string("mrkdwn"));
		json_object_object_add(t, "text", json_object_new_string(text));
		json_object_object_add(b, "text", t);
		json_object_array_add(blocks, b);
		free(text);
	}
	{
		json_object *b = json_object_new_object(), *els = json_object_new_array(), *e = json_object_new_object();
		char *ctx = n > shown ? xasprintf("pricewatch - %zu more alerts not shown", n - shown) :
		    xasprintf("pricewatch alert %s", alert_msg_get(&msgs[0], "id"));

		json_object_object_add(b, "type", json_object_new_string("context"));
		json_object_object_add(e, "type", json_object_new_string("mrkdwn"));
		json_object_object_add(e, "text", json_object_new_string(ctx));
		json_object_array_add(els, e);
		json_object_object_add(b, "elements", els);
		json_object_array_add(blocks, b);
		free(ctx);
	}
	json_object_object_add(root, "blocks", blocks);
	free(head);
	return root;
}

static json_object *
field_obj(const char *name, const char *value, bool inline_field)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "value", json_object_new_string(value[0] != '\0' ? value : "-"));
	if (inline_field)
		json_object_object_add(o, "inline", json_object_new_boolean(1));
	return o;
}

/* The facts every rich format shows: name/value pairs (Discord "fields", Teams "facts"). */
static json_object *
facts(const struct alert_msg *msg, bool discord)
{
	json_object *arr = json_object_new_array();
	char oldp[64], newp[64], price[160];

	alert_price_text(msg, "old", oldp, sizeof(oldp));
	alert_price_text(msg, "new", newp, sizeof(newp));
	pw_snprintf(price, sizeof(price), "%s " ARROW " %s", oldp, newp);
	json_object_array_add(arr, field_obj("Price", price, discord));
	json_object_array_add(arr, field_obj("Change", alert_msg_get(msg, "percent")[0] != '\0' ?
	    alert_msg_get(msg, "percent") : "-", discord));
	json_object_array_add(arr, field_obj("Availability", alert_msg_get(msg, "new_availability"), discord));
	json_object_array_add(arr, field_obj("Source", alert_msg_get(msg, "source"), discord));
	json_object_array_add(arr, field_obj("Rule", alert_msg_get(msg, "rule"), discord));
	if (alert_msg_get(msg, "product")[0] != '\0') {
		char prodp[64], prod[256];

		alert_price_text(msg, "product", prodp, sizeof(prodp));
		pw_snprintf(prod, sizeof(prod), "%s (%s)", product_name(msg), prodp);
		json_object_array_add(arr, field_obj("Product", prod, discord));
	}
	return arr;
}

static json_object *
discord_payload(const struct alert_msg *msgs, size_t n)
{
	json_object *root = json_object_new_object(), *embeds = json_object_new_array();
	size_t shown = n > DISCORD_MAX_EMBEDS ? DISCORD_MAX_EMBEDS : n;
	char *head = headline(msgs, n), *content;

	content = n > shown ? xasprintf("%s (%zu not shown)", head, n - shown) : xstrdup(head);
	json_object_object_add(root, "content", json_object_new_string(content));
	for (size_t i = 0; i < shown; i++) {
		json_object *e = json_object_new_object(), *footer = json_object_new_object();
		const char *url = alert_msg_get(&msgs[i], "url"), *t = alert_msg_get(&msgs[i], "time");
		char *summary = alert_summary(&msgs[i]), *foot = xasprintf("pricewatch alert %s",
		    alert_msg_get(&msgs[i], "id"));

		json_object_object_add(e, "title", json_object_new_string(summary));
		if (url[0] != '\0')
			json_object_object_add(e, "url", json_object_new_string(url));
		json_object_object_add(e, "color", json_object_new_int(DISCORD_COLOR));
		json_object_object_add(e, "fields", facts(&msgs[i], true));
		if (t[0] != '\0')
			json_object_object_add(e, "timestamp", json_object_new_string(t));
		json_object_object_add(footer, "text", json_object_new_string(foot));
		json_object_object_add(e, "footer", footer);
		json_object_array_add(embeds, e);
		free(summary);
		free(foot);
	}
	json_object_object_add(root, "embeds", embeds);
	free(content);
	free(head);
	return root;
}

/* Teams "legacy" MessageCard, which incoming webhooks (and Workflows) accept. */
static json_object *
teams_payload(const struct alert_msg *msgs, size_t n)
{
	json_object *root = json_object_new_object(), *sections = json_object_new_array(), *actions;
	size_t shown = n > TEAMS_MAX_SECTIONS ? TEAMS_MAX_SECTIONS : n;
	char *head = headline(msgs, n);

	json_object_object_add(root, "@type", json_object_new_string("MessageCard"));
	json_object_object_add(root, "@context", json_object_new_string("https://schema.org/extensions"));
	json_object_object_add(root, "summary", json_object_new_string(head));
	json_object_object_add(root, "themeColor", json_object_new_string("2E86DE"));
	json_object_object_add(root, "title", json_object_new_string(head));
	for (size_t i = 0; i < shown; i++) {
		json_object *sec = json_object_new_object();
		char *summary = alert_summary(&msgs[i]);

		json_object_object_add(sec, "activityTitle", json_object_new_string(summary));
		json_object_object_add(sec, "activitySubtitle", json_object_new_string(alert_msg_get(&msgs[i], "time")));
		json_object_object_add(sec, "facts", facts(&msgs[i], false));
		json_object_object_add(sec, "markdown", json_object_new_boolean(0));
		json_object_array_add(sections, sec);
		free(summary);
	}
	json_object_object_add(root, "sections", sections);
	if (n == 1 && alert_msg_get(&msgs[0], "url")[0] != '\0') {
		json_object *a = json_object_new_object(), *targets = json_object_new_array(),
		    *t = json_object_new_object();

		actions = json_object_new_array();
		json_object_object_add(a, "@type", json_object_new_string("OpenUri"));
		json_object_object_add(a, "name", json_object_new_string("Open listing"));
		json_object_object_add(t, "os", json_object_new_string("default"));
		json_object_object_add(t, "uri", json_object_new_string(alert_msg_get(&msgs[0], "url")));
		json_object_array_add(targets, t);
		json_object_object_add(a, "targets", targets);
		json_object_array_add(actions, a);
		json_object_object_add(root, "potentialAction", actions);
	}
	free(head);
	return root;
}

static json_object *
generic_payload(const struct alert_msg *msgs, size_t n, const char *key, int64_t now_ms)
{
	json_object *root, *arr;

	if (n == 1 && key == NULL) {
		root = alert_json(&msgs[0]);
		/* Inside the signed body, so a replayed request cannot claim a fresh timestamp. */
		json_object_object_add(root, "sent_at", json_object_new_int64(now_ms / 1000));
		return root;
	}
	root = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(root, "id", json_object_new_string(key != NULL ? key : ""));
	json_object_object_add(root, "digest", json_object_new_boolean(1));
	json_object_object_add(root, "count", json_object_new_int64((int64_t)n));
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, alert_json(&msgs[i]));
	json_object_object_add(root, "alerts", arr);
	json_object_object_add(root, "sent_at", json_object_new_int64(now_ms / 1000));
	return root;
}

char *
alert_payload(enum alert_format fmt, const struct alert_msg *msgs, size_t n, const char *key, int64_t now_ms)
{
	json_object *root;
	char *out;

	switch (fmt) {
	case ALERT_FORMAT_SLACK:
		root = slack_payload(msgs, n);
		break;
	case ALERT_FORMAT_DISCORD:
		root = discord_payload(msgs, n);
		break;
	case ALERT_FORMAT_TEAMS:
		root = teams_payload(msgs, n);
		break;
	default:
		root = generic_payload(msgs, n, key, now_ms);
		break;
	}
	out = xstrdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return out;
}
