/* email.c: builds the alert mail (RFC 5322, MIME multipart/alternative, RFC 2047 subject) and sends it over SMTP with libcurl. */
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
#include "common/util.h"

#define EMAIL_DEFAULT_URL "smtp://localhost"
#define EMAIL_DEFAULT_CONNECT_MS 10000
#define EMAIL_DEFAULT_TIMEOUT_MS 60000
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

static void
html_escaped(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f); break;
		}
	}
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

/* "20.00 USD", or "none" without a price. */
static void
price_text(const struct alert_msg *msg, const char *side, char *out, size_t outlen)
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

static char *
default_from(void)
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0' || strchr(host, '.') == NULL)
		pw_strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	return xasprintf("pricewatch@%s", host);
}

char *
email_message(const struct email_opts *opts, const struct alert_msg *msg, int64_t now_ms)
{
	const char *key = alert_msg_get(msg, "id"), *title = alert_msg_get(msg, "title");
	const char *pct = alert_msg_get(msg, "percent");
	char *from = opts->from != NULL ? xstrdup(opts->from) : default_from();
	char date[64], oldp[64], newp[64], boundary[48];
	char *subject, *subj_enc, *text = NULL, *html = NULL, *out = NULL;
	size_t text_len = 0, html_len = 0, out_len = 0;
	FILE *f;

	rfc5322_date(now_ms, date, sizeof(date));
	price_text(msg, "old", oldp, sizeof(oldp));
	price_text(msg, "new", newp, sizeof(newp));
	pw_snprintf(boundary, sizeof(boundary), "=_pricewatch_%.16s", key);
	/* U+2192 RIGHTWARDS ARROW: why most subjects need RFC 2047 even for ASCII titles. */
	subject = xasprintf("[pricewatch] %s: %s \xe2\x86\x92 %s%s%s%s", title[0] != '\0' ? title :
	    alert_msg_get(msg, "listing"), oldp, newp, pct[0] != '\0' ? " (" : "", pct,
	    pct[0] != '\0' ? "%)" : "");
	subj_enc = email_encode_header(subject);

	f = open_memstream(&text, &text_len);
	if (f == NULL)
		abort();
	fprintf(f, "Rule %s (%s) fired.\r\n\r\n", alert_msg_get(msg, "rule"), alert_msg_get(msg, "kind"));
	fprintf(f, "Listing: %s\r\nSource: %s\r\nURL: %s\r\n", title[0] != '\0' ? title : alert_msg_get(msg, "listing"),
	    alert_msg_get(msg, "source"), alert_msg_get(msg, "url"));
	fprintf(f, "Price: %s -> %s%s%s%s\r\n", oldp, newp, pct[0] != '\0' ? " (" : "", pct, pct[0] != '\0' ? "%)" : "");
	fprintf(f, "Availability: %s -> %s\r\n", alert_msg_get(msg, "old_availability"),
	    alert_msg_get(msg, "new_availability"));
	fprintf(f, "When: %s\r\nListing id: %s\r\nAlert id: %s\r\n", alert_msg_get(msg, "time"),
	    alert_msg_get(msg, "listing"), key);
	fclose(f);

	f = open_memstream(&html, &html_len);
	if (f == NULL)
		abort();
	fputs("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>\r\n<p>Rule <b>", f);
	html_escaped(f, alert_msg_get(msg, "rule"));
	fputs("</b> (", f);
	html_escaped(f, alert_msg_get(msg, "kind"));
	fputs(") fired.</p>\r\n<table>\r\n<tr><th>Listing</th><td><a href=\"", f);
	html_escaped(f, alert_msg_get(msg, "url"));
	fputs("\">", f);
	html_escaped(f, title[0] != '\0' ? title : alert_msg_get(msg, "listing"));
	fputs("</a></td></tr>\r\n<tr><th>Source</th><td>", f);
	html_escaped(f, alert_msg_get(msg, "source"));
	fputs("</td></tr>\r\n<tr><th>Price</th><td>", f);
	html_escaped(f, oldp);
	fputs(" &rarr; ", f);
	html_escaped(f, newp);
	if (pct[0] != '\0') {
		fputs(" (", f);
		html_escaped(f, pct);
		fputs("%)", f);
	}
	fputs("</td></tr>\r\n<tr><th>Availability</th><td>", f);
	html_escaped(f, alert_msg_get(msg, "old_availability"));
	fputs(" &rarr; ", f);
	html_escaped(f, alert_msg_get(msg, "new_availability"));
	fputs("</td></tr>\r\n<tr><th>When</th><td>", f);
	html_escaped(f, alert_msg_get(msg, "time"));
	fputs("</td></tr>\r\n</table>\r\n<p><small>Alert id ", f);
	html_escaped(f, key);
	fputs("</small></p>\r\n</body></html>\r\n", f);
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
	fputs("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n", f);
	b64_lines(f, html, html_len);
	fprintf(f, "\r\n--%s--\r\n", boundary);
	fclose(f);

	free(text);
	free(html);
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
	const char *url = opts->url != NULL && opts->url[0] != '\0' ? opts->url : EMAIL_DEFAULT_URL;
	char *from = opts->from != NULL ? xstrdup(opts->from) : default_from();
	char *mail_from = xasprintf("<%s>", from);
	char *body = email_message(opts, msg, now_ms);
	struct upload up = { .data = body, .len = strlen(body), .off = 0 };
	struct curl_slist *rcpt = NULL, *tmp;
	char cerr[CURL_ERROR_SIZE];
	CURLcode rc = CURLE_OK;
	long code = 0;
	CURL *c;
	enum alert_delivery d;

	err[0] = '\0';
	cerr[0] = '\0';
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
	SET(CURLOPT_USE_SSL, (long)(opts->password != NULL && opts->password[0] != '\0' ? CURLUSESSL_ALL :
	    CURLUSESSL_TRY));
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)(opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms :
	    EMAIL_DEFAULT_CONNECT_MS));
	SET(CURLOPT_TIMEOUT_MS, (long)(opts->timeout_ms > 0 ? opts->timeout_ms : EMAIL_DEFAULT_TIMEOUT_MS));
	if (opts->password != NULL && opts->password[0] != '\0')
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
	if (rc != CURLE_OK)
		pw_snprintf(err, errlen, "%s: %s%s%.0ld", url, cerr[0] != '\0' ? cerr : curl_easy_strerror(rc),
		    code > 0 ? ", SMTP reply " : "", code > 0 ? code : 0L);
out:
	curl_slist_free_all(rcpt);
	free(body);
	free(mail_from);
	free(from);
	return d;
}

enum alert_delivery
email_deliver(const struct alert_channel *ch, const struct alert_msg *msg, int64_t now_ms, char *err, size_t errlen)
{
	return email_send(ch->arg, msg, now_ms, err, errlen);
}
