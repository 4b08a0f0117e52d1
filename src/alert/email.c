/* email.c: builds the alert mail (RFC 5322, MIME multipart/alternative with the price chart inline, RFC 2047 subject) and sends it over SMTP with libcurl. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "alert/email.h"
#include "alert/format.h"
#include "chart/chart.h"
#include "common/log.h"
#include "common/util.h"

#define EMAIL_DEFAULT_URL "smtp://localhost"
#define EMAIL_DEFAULT_CONNECT_MS 10000
#define EMAIL_DEFAULT_TIMEOUT_MS 60000
#define EMAIL_CHART_DAYS 90
#define EMAIL_CHART_WIDTH 640
#define EMAIL_CHART_HEIGHT 320
#define EW_CHUNK 39                    /* bytes per encoded word: 52 + 12 = 64 chars, so "Subject: " + word stays within 78 */

static bool
plain_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* base64 of n bytes, no line breaks; newly allocated. */
static char *
b64(const unsigned char *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	(void)EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

char *
email_encode_header(const char *text)
{
	size_t len = strlen(text), off = 0;
	char *buf = NULL;
	size_t blen = 0;
	FILE *f;

	if (plain_ascii(text))
		return xstrdup(text);
	f = open_memstream(&buf, &blen);
	if (f == NULL)
		abort();
	while (off < len) {
		size_t n = len - off > EW_CHUNK ? EW_CHUNK : len - off;
		char *enc;

		/* Never end a word inside a UTF-8 sequence: back up over continuation bytes. */
		while (n > 1 && off + n < len && ((unsigned char)text[off + n] & 0xc0) == 0x80)
			n--;
		enc = b64((const unsigned char *)text + off, n);
		fprintf(f, "%s=?UTF-8?B?%s?=", off > 0 ? "\r\n " : "", enc);
		free(enc);
		off += n;
	}
	fclose(f);
	return buf;
}

/* RFC 5322 date in UTC, with English names whatever the locale. */
static void
rfc5322_date(int64_t ms, char *out, size_t outlen)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
	    "Oct", "Nov", "Dec" };
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	pw_snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
	    months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A MIME part body: base64 in 76-character lines. */
static void
b64_lines(FILE *f, const char *body, size_t len)
{
	char *enc = b64((const unsigned char *)body, len);
	size_t n = strlen(enc);

	for (size_t i = 0; i < n; i += 76)
		fprintf(f, "%.*s\r\n", (int)(n - i > 76 ? 76 : n - i), enc + i);
	free(enc);
}

static char *
default_from(void)
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0' || strchr(host, '.') == NULL)
		pw_strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	return xasprintf("pricewatch@%s", host);
}

/* What both parts show of one alert: its name for people, the two prices and the percent. */
struct shown {
	const char *name, *pct;
	char oldp[64], newp[64];
};

static void
shown_of(const struct alert_msg *msg, struct shown *sh)
{
	const char *title = alert_msg_get(msg, "title");

	sh->name = title[0] != '\0' ? title : alert_msg_get(msg, "listing");
	sh->pct = alert_msg_get(msg, "percent");
	alert_price_text(msg, "old", sh->oldp, sizeof(sh->oldp));
	alert_price_text(msg, "new", sh->newp, sizeof(sh->newp));
}

/* One alert in the plain text part. */
static void
text_alert(FILE *f, const struct alert_msg *msg)
{
	struct shown sh;

	shown_of(msg, &sh);
	fprintf(f, "Rule %s (%s) fired.\r\n\r\n", alert_msg_get(msg, "rule"), alert_msg_get(msg, "kind"));
	fprintf(f, "Listing: %s\r\nSource: %s\r\nURL: %s\r\n", sh.name, alert_msg_get(msg, "source"),
	    alert_msg_get(msg, "url"));
	fprintf(f, "Price: %s -> %s%s%s%s\r\n", sh.oldp, sh.newp, sh.pct[0] != '\0' ? " (" : "", sh.pct,
	    sh.pct[0] != '\0' ? "%)" : "");
	fprintf(f, "Availability: %s -> %s\r\n", alert_msg_get(msg, "old_availability"),
	    alert_msg_get(msg, "new_availability"));
	if (alert_msg_get(msg, "product")[0] != '\0') {
		char prodp[64];

		alert_price_text(msg, "product", prodp, sizeof(prodp));
		fprintf(f, "Matched product: %s (%s), own price %s\r\n", alert_msg_get(msg, "product_title"),
		    alert_msg_get(msg, "product"), prodp);
	}
	fprintf(f, "When: %s\r\nListing id: %s\r\nAlert id: %s\r\n", alert_msg_get(msg, "time"),
	    alert_msg_get(msg, "listing"), alert_msg_get(msg, "id"));
}

static void
html_row(FILE *f, const char *name, const char *value)
{
	fprintf(f, "<tr><th>%s</th><td>", name);
	alert_write_escaped(f, value, true);
	fputs("</td></tr>\r\n", f);
}

/* One alert in the HTML part; cid (may be NULL) names its chart's image part. */
static void
html_alert(FILE *f, const struct alert_msg *msg, const char *cid)
{
	struct shown sh;

	shown_of(msg, &sh);
	fputs("<p>Rule <b>", f);
	alert_write_escaped(f, alert_msg_get(msg, "rule"), true);
	fputs("</b> (", f);
	alert_write_escaped(f, alert_msg_get(msg, "kind"), true);
	fputs(") fired.</p>\r\n<table>\r\n<tr><th>Listing</th><td><a href=\"", f);
	alert_write_escaped(f, alert_msg_get(msg, "url"), true);
	fputs("\">", f);
	alert_write_escaped(f, sh.name, true);
	fputs("</a></td></tr>\r\n", f);
	html_row(f, "Source", alert_msg_get(msg, "source"));
	fputs("<tr><th>Price</th><td>", f);
	alert_write_escaped(f, sh.oldp, true);
	fputs(" &rarr; ", f);
	alert_write_escaped(f, sh.newp, true);
	if (sh.pct[0] != '\0') {
		fputs(" (", f);
		alert_write_escaped(f, sh.pct, true);
		fputs("%)", f);
	}
	fputs("</td></tr>\r\n<tr><th>Availability</th><td>", f);
	alert_write_escaped(f, alert_msg_get(msg, "old_availability"), true);
	fputs(" &rarr; ", f);
	alert_write_escaped(f, alert_msg_get(msg, "new_availability"), true);
	fputs("</td></tr>\r\n", f);
	if (alert_msg_get(msg, "product")[0] != '\0') {
		char prodp[64];

		alert_price_text(msg, "product", prodp, sizeof(prodp));
		html_row(f, "Product", alert_msg_get(msg, "product_title"));
		html_row(f, "Own price", prodp);
	}
	html_row(f, "When", alert_msg_get(msg, "time"));
	fputs("</table>\r\n", f);
	if (cid != NULL) {
		fprintf(f, "<p><img src=\"cid:%s\" width=\"%d\" height=\"%d\" alt=\"Price history of ", cid,
		    EMAIL_CHART_WIDTH, EMAIL_CHART_HEIGHT);
		alert_write_escaped(f, sh.name, true);
		fputs("\"></p>\r\n", f);
	}
	fputs("<p><small>Alert id ", f);
	alert_write_escaped(f, alert_msg_get(msg, "id"), true);
	fputs("</small></p>\r\n", f);
}

bool
email_chart_from_store(void *arg, const struct alert_msg *msg, int64_t now_ms, unsigned char **png, size_t *len,
    char *err, size_t errlen)
{
	struct store *st = arg;
	const char *listing = alert_msg_get(msg, "listing"), *title = alert_msg_get(msg, "title");
	struct chart_opts co = {
		.format = CHART_PNG, .width = EMAIL_CHART_WIDTH, .height = EMAIL_CHART_HEIGHT,
		.title = title[0] != '\0' ? title : listing, .until_ms = now_ms,
	};
	struct history_point *pts = NULL;
	struct chart_series series;
	size_t n = 0;
	enum store_status s;
	bool ok;

	err[0] = '\0';
	if (listing[0] == '\0')
		return false;
	/* From the start: the price in force when the window opens is the last change before it. */
	s = store_history(st, listing, 0, now_ms, &pts, &n);
	if (s != STORE_OK) {
		if (s != STORE_NOT_FOUND)
			pw_snprintf(err, errlen, "%s", store_error(st));
		return false;
	}
	if (n == 0) {
		free(pts);
		return false;
	}
	/* A younger history fills the width; an older one shows its last EMAIL_CHART_DAYS days (since_ms 0: from
	 * the first change point). */
	if (pts[0].time_ms < now_ms - (int64_t)EMAIL_CHART_DAYS * 86400 * 1000)
		co.since_ms = now_ms - (int64_t)EMAIL_CHART_DAYS * 86400 * 1000;
	series = (struct chart_series){ .label = listing, .pts = pts, .n = n };
	ok = chart_render_mem(&co, &series, 1, NULL, png, len, err, errlen);
	free(pts);
	return ok;
}

/* The charts of one mail: charts[k] is drawn for the listing of the alerts whose of[i] is k. */
struct mail_charts {
	size_t n;
	struct {
		char cid[96];
		unsigned char *png;
		size_t len;
	} c[EMAIL_CHARTS_MAX];
	size_t *of;                /* per alert: index into c, or SIZE_MAX for none */
};

/* Draws one chart per distinct listing of msgs (at most EMAIL_CHARTS_MAX); what cannot be drawn is logged. */
static void
charts_draw(const struct email_opts *opts, const struct alert_msg *msgs, size_t n, const char *key, int64_t now_ms,
    struct mail_charts *mc)
{
	memset(mc, 0, sizeof(*mc));
	mc->of = xcalloc(n, sizeof(*mc->of));
	for (size_t i = 0; i < n; i++) {
		const char *listing = alert_msg_get(&msgs[i], "listing");
		char err[512];

		mc->of[i] = SIZE_MAX;
		for (size_t j = 0; j < i && mc->of[i] == SIZE_MAX; j++)
			if (strcmp(alert_msg_get(&msgs[j], "listing"), listing) == 0)
				mc->of[i] = mc->of[j];
		if (mc->of[i] != SIZE_MAX || opts->chart == NULL || mc->n == EMAIL_CHARTS_MAX || listing[0] == '\0')
			continue;
		/* Failure to draw never blocks the alert: the mail goes out without this chart. */
		if (!opts->chart(opts->chart_arg, &msgs[i], now_ms, &mc->c[mc->n].png, &mc->c[mc->n].len, err,
		    sizeof(err))) {
			if (err[0] != '\0')
				log_warnx("alerts: no chart for %s in the mail: %s", listing, err);
			continue;
		}
		pw_snprintf(mc->c[mc->n].cid, sizeof(mc->c[mc->n].cid), "chart%zu.%.16s@pricewatch", mc->n + 1, key);
		mc->of[i] = mc->n++;
	}
}

static void
charts_free(struct mail_charts *mc)
{
	for (size_t k = 0; k < mc->n; k++)
		free(mc->c[k].png);
	free(mc->of);
}

/* The HTML part, and with charts the multipart/related around it that carries them as image/png parts. */
static void
html_part(FILE *f, const char *boundary, const char *html, size_t html_len, const struct mail_charts *mc)
{
	if (mc->n > 0)
		/* Not the outer boundary with a suffix: a parser may take any line starting with it as the boundary. */
		fprintf(f, "Content-Type: multipart/related;\r\n boundary=\"=_related_%s\";\r\n type=\"text/html\"\r\n\r\n"
		    "--=_related_%s\r\n", boundary + 2, boundary + 2);
	fputs("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n", f);
	b64_lines(f, html, html_len);
	if (mc->n == 0)
		return;
	for (size_t k = 0; k < mc->n; k++) {
		fprintf(f, "\r\n--=_related_%s\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
		    "Content-ID: <%s>\r\nContent-Disposition: inline; filename=\"chart%zu.png\"\r\n\r\n", boundary + 2,
		    mc->c[k].cid, k + 1);
		b64_lines(f, (const char *)mc->c[k].png, mc->c[k].len);
	}
	fprintf(f, "\r\n--=_related_%s--\r\n", boundary + 2);
}

char *
email_message(const struct email_opts *opts, const struct alert_msg *msg, int64_t now_ms)
{
	return email_message_batch(opts, msg, 1, NULL, now_ms);
}

char *
email_message_batch(const struct email_opts *opts, const struct alert_msg *msgs, size_t n, const char *key,
    int64_t now_ms)
{
	char *from = opts->from != NULL ? xstrdup(opts->from) : default_from();
	char date[64], boundary[48];
	char *subject, *subj_enc, *text = NULL, *html = NULL, *out = NULL, *summary;
	size_t text_len = 0, html_len = 0, out_len = 0;
	struct mail_charts mc;
	FILE *f;

	if (key == NULL)
		key = alert_msg_get(&msgs[0], "id");
	charts_draw(opts, msgs, n, key, now_ms, &mc);
	rfc5322_date(now_ms, date, sizeof(date));
	pw_snprintf(boundary, sizeof(boundary), "=_pricewatch_%.16s", key);
	/* The summary's arrow (U+2192) is why most subjects need RFC 2047 even for ASCII titles. */
	summary = n == 1 ? alert_summary(&msgs[0]) : xasprintf("%zu alerts", n);
	subject = xasprintf("[pricewatch] %s", summary);
	subj_enc = email_encode_header(subject);

	f = open_memstream(&text, &text_len);
	if (f == NULL)
		abort();
	if (n > 1)
		fprintf(f, "%zu alerts (digest %s).\r\n\r\n", n, key);
	for (size_t i = 0; i < n; i++) {
		if (n > 1)
			fprintf(f, "%s%zu. ", i > 0 ? "\r\n" : "", i + 1);
		text_alert(f, &msgs[i]);
	}
	fclose(f);

	f = open_memstream(&html, &html_len);
	if (f == NULL)
		abort();
	fputs("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>\r\n", f);
	if (n > 1)
		fprintf(f, "<h3>%zu alerts</h3>\r\n", n);
	for (size_t i = 0; i < n; i++)
		html_alert(f, &msgs[i], mc.of[i] != SIZE_MAX ? mc.c[mc.of[i]].cid : NULL);
	fputs("</body></html>\r\n", f);
	fclose(f);

	f = open_memstream(&out, &out_len);
	if (f == NULL)
		abort();
	fprintf(f, "Date: %s\r\nFrom: pricewatch <%s>\r\nTo: ", date, from);
	for (size_t i = 0; i < opts->n_to; i++)
		fprintf(f, "%s%s", i > 0 ? ",\r\n " : "", opts->to[i]);
	fprintf(f, "\r\nMessage-ID: <%.32s@pricewatch>\r\nSubject: %s\r\n", key, subj_enc);
	fprintf(f, "MIME-Version: 1.0\r\nX-Pricewatch-Delivery: %s\r\nAuto-Submitted: auto-generated\r\n", key);
	fprintf(f, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", boundary);
	fprintf(f, "This is a MIME message.\r\n\r\n--%s\r\n", boundary);
	fputs("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n", f);
	b64_lines(f, text, text_len);
	fprintf(f, "\r\n--%s\r\n", boundary);
	html_part(f, boundary, html, html_len, &mc);
	fprintf(f, "\r\n--%s--\r\n", boundary);
	fclose(f);
	charts_free(&mc);

	free(text);
	free(html);
	free(summary);
	free(subject);
	free(subj_enc);
	free(from);
	return out;
}

struct upload {
	const char *data;
	size_t len, off;
};

static size_t
on_read(char *buf, size_t size, size_t nitems, void *user)
{
	struct upload *u = user;
	size_t room = size * nitems, n = u->len - u->off;

	if (n > room)
		n = room;
	memcpy(buf, u->data + u->off, n);
	u->off += n;
	return n;
}

static enum alert_delivery
classify(CURLcode rc, long code)
{
	if (rc == CURLE_OK)
		return DELIVERY_OK;
	if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_LOGIN_DENIED)
		return DELIVERY_PERMANENT;
	if (code >= 500 && code <= 599)
		return DELIVERY_PERMANENT;   /* the server refused for good (unknown recipient, policy) */
	return DELIVERY_RETRY;
}

enum alert_delivery
email_send(const struct email_opts *opts, const struct alert_msg *msg, int64_t now_ms, char *err, size_t errlen)
{
	char *body = email_message(opts, msg, now_ms);
	enum alert_delivery d = email_send_body(opts, body, NULL, NULL, err, errlen);

	free(body);
	return d;
}

enum alert_delivery
email_send_body(const struct email_opts *opts, const char *body, long *smtp_code, int *curl_code, char *err,
    size_t errlen)
{
	const char *url = opts->url != NULL && opts->url[0] != '\0' ? opts->url : EMAIL_DEFAULT_URL;
	char *from = opts->from != NULL ? xstrdup(opts->from) : default_from();
	char *mail_from = xasprintf("<%s>", from);
	struct upload up = { .data = body, .len = strlen(body), .off = 0 };
	struct curl_slist *rcpt = NULL, *tmp;
	char cerr[CURL_ERROR_SIZE];
	CURLcode rc = CURLE_OK;
	long code = 0;
	CURL *c;
	enum alert_delivery d;
	bool auth = opts->password != NULL && opts->password[0] != '\0';

	err[0] = '\0';
	cerr[0] = '\0';
	if (smtp_code != NULL)
		*smtp_code = 0;
	if (curl_code != NULL)
		*curl_code = CURLE_OK;
	if (opts->n_to == 0) {
		pw_snprintf(err, errlen, "%s: no recipients", url);
		d = DELIVERY_PERMANENT;
		goto out;
	}
	for (size_t i = 0; i < opts->n_to && rc == CURLE_OK; i++) {
		tmp = curl_slist_append(rcpt, opts->to[i]);
		if (tmp == NULL)
			rc = CURLE_OUT_OF_MEMORY;
		else
			rcpt = tmp;
	}
	c = curl_easy_init();
	if (c == NULL) {
		pw_snprintf(err, errlen, "%s: cannot start libcurl", url);
		d = DELIVERY_RETRY;
		goto out;
	}
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val); } while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_ERRORBUFFER, cerr);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_MAIL_FROM, mail_from);
	SET(CURLOPT_MAIL_RCPT, rcpt);
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_READFUNCTION, on_read);
	SET(CURLOPT_READDATA, &up);
	SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len);
	/* A password never crosses the network in clear: STARTTLS is then required, else opportunistic. */
	SET(CURLOPT_USE_SSL, (long)(auth ? CURLUSESSL_ALL : CURLUSESSL_TRY));
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (opts->ca_file != NULL)
		SET(CURLOPT_CAINFO, opts->ca_file);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)(opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms :
	    EMAIL_DEFAULT_CONNECT_MS));
	SET(CURLOPT_TIMEOUT_MS, (long)(opts->timeout_ms > 0 ? opts->timeout_ms : EMAIL_DEFAULT_TIMEOUT_MS));
	if (opts->user != NULL && opts->user[0] != '\0')
		SET(CURLOPT_USERNAME, opts->user);
	if (auth)
		SET(CURLOPT_PASSWORD, opts->password);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
#undef SET
	if (rc == CURLE_OK)
		rc = curl_easy_perform(c);
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	d = classify(rc, code);
	if (smtp_code != NULL)
		*smtp_code = code;
	if (curl_code != NULL)
		*curl_code = (int)rc;
	if (rc != CURLE_OK)
		pw_snprintf(err, errlen, "%s: %s%s%.0ld", url, cerr[0] != '\0' ? cerr : curl_easy_strerror(rc),
		    code > 0 ? ", SMTP reply " : "", code > 0 ? code : 0L);
out:
	curl_slist_free_all(rcpt);
	free(mail_from);
	free(from);
	return d;
}

enum alert_delivery
email_deliver(const struct alert_channel *ch, const struct alert_msg *msg, int64_t now_ms, char *err, size_t errlen)
{
	return email_send(ch->arg, msg, now_ms, err, errlen);
}

enum alert_delivery
email_deliver_batch(const struct alert_channel *ch, const struct alert_msg *msgs, size_t n, const char *key,
    int64_t now_ms, char *err, size_t errlen)
{
	char *body = email_message_batch(ch->arg, msgs, n, key, now_ms);
	enum alert_delivery d = email_send_body(ch->arg, body, NULL, NULL, err, errlen);

	free(body);
	return d;
}
