/* webhook.c: the webhook notifier: JSON payload, HMAC-SHA256 signature and one verified HTTP(S) POST per attempt. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alert/webhook.h"
#include "common/util.h"

#define WEBHOOK_DEFAULT_UA "pricewatch/" PACKAGE_VERSION
#define WEBHOOK_DEFAULT_CONNECT_MS 10000
#define WEBHOOK_DEFAULT_TIMEOUT_MS 30000
#define WEBHOOK_ERR_BODY 200           /* bytes of the receiver's answer quoted in an error */

char *
webhook_payload(const struct alert_msg *msg, int64_t now_ms)
{
	return alert_payload(ALERT_FORMAT_GENERIC, msg, 1, NULL, now_ms);
}

bool
webhook_signature(const char *secret, const char *body, size_t len, char out[WEBHOOK_SIG_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";
	size_t klen = strlen(secret);

	if (klen > INT32_MAX || HMAC(EVP_sha256(), secret, (int)klen, (const unsigned char *)body, len, md,
	    &mdlen) == NULL || mdlen != 32)
		return false;
	memcpy(out, "sha256=", 7);
	for (unsigned int i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[WEBHOOK_SIG_LEN] = '\0';
	return true;
}

/* Keeps the start of the receiver's answer for the error message and drops the rest. */
struct answer {
	char text[WEBHOOK_ERR_BODY + 1];
	size_t len;
};

static size_t
on_body(char *data, size_t size, size_t nmemb, void *user)
{
	struct answer *a = user;
	size_t n = size * nmemb, room = WEBHOOK_ERR_BODY - a->len;

	if (room > n)
		room = n;
	memcpy(a->text + a->len, data, room);
	a->len += room;
	a->text[a->len] = '\0';
	return n;
}

static CURLcode
set_protocols(CURL *c)
{
#if LIBCURL_VERSION_NUM >= 0x075500
	return curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	return curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

/* Only what cannot get better by itself is permanent; a receiver that is down or overloaded will come back. */
static enum alert_delivery
classify(CURLcode rc, long status)
{
	if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
		return DELIVERY_PERMANENT;
	if (rc != CURLE_OK)
		return DELIVERY_RETRY;
	if (status >= 200 && status <= 299)
		return DELIVERY_OK;
	if (status == 408 || status == 429 || status >= 500)
		return DELIVERY_RETRY;
	return DELIVERY_PERMANENT;
}

struct webhook_conn {
	CURL *handle;              /* made on first use; keeps the connection to the receiver open */
};

struct webhook_conn *
webhook_conn_new(void)
{
	return xcalloc(1, sizeof(struct webhook_conn));
}

void
webhook_conn_free(struct webhook_conn *conn)
{
	if (conn == NULL)
		return;
	if (conn->handle != NULL)
		curl_easy_cleanup(conn->handle);
	free(conn);
}

/* The easy handle for one POST: the connection's, reset to no options (its connection cache survives), or a new one. */
static CURL *
conn_handle(struct webhook_conn *conn)
{
	if (conn == NULL)
		return curl_easy_init();
	if (conn->handle == NULL)
		conn->handle = curl_easy_init();
	else
		curl_easy_reset(conn->handle);
	return conn->handle;
}

const char *
alert_transport_stage(int curl_code)
{
	switch ((CURLcode)curl_code) {
	case CURLE_OK:
		return "ok";
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return "url";
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return "dns";
	case CURLE_COULDNT_CONNECT:
		return "connect";
	case CURLE_OPERATION_TIMEDOUT:
		return "timeout";
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return "tls";
	case CURLE_LOGIN_DENIED:
		return "auth";
	default:
		return "transfer";
	}
}

enum alert_delivery
webhook_post(const struct webhook_opts *opts, const struct alert_msg *msg, int64_t now_ms, long *status,
    char *err, size_t errlen)
{
	char *body = alert_payload(opts->format, msg, 1, NULL, now_ms);
	enum alert_delivery d = webhook_post_body(opts, body, alert_msg_get(msg, "id"), now_ms, status, NULL, err,
	    errlen);

	free(body);
	return d;
}

enum alert_delivery
webhook_post_body(const struct webhook_opts *opts, const char *body, const char *key, int64_t now_ms,
    long *status, int *curl_code, char *err, size_t errlen)
{
	char sig[WEBHOOK_SIG_LEN + 1], *h_sig = NULL, *h_id, *h_ts;
	char cerr[CURL_ERROR_SIZE];
	struct curl_slist *hdr = NULL, *tmp;
	struct answer ans = { .len = 0 };
	CURL *c;
	CURLcode rc = CURLE_OK;
	long st = 0;
	enum alert_delivery d;

	*status = 0;
	if (curl_code != NULL)
		*curl_code = CURLE_OK;
	err[0] = '\0';
	cerr[0] = '\0';
	ans.text[0] = '\0';
	h_id = xasprintf("X-Pricewatch-Delivery: %s", key);
	h_ts = xasprintf("X-Pricewatch-Timestamp: %" PRId64, now_ms / 1000);
	if (opts->secret != NULL && opts->secret[0] != '\0') {
		if (!webhook_signature(opts->secret, body, strlen(body), sig)) {
			pw_snprintf(err, errlen, "%s: cannot compute the HMAC signature", opts->url);
			d = DELIVERY_RETRY;
			goto out_nocurl;
		}
		h_sig = xasprintf("X-Pricewatch-Signature: %s", sig);
	}
	c = conn_handle(opts->conn);
	if (c == NULL) {
		pw_snprintf(err, errlen, "%s: cannot start libcurl", opts->url);
		d = DELIVERY_RETRY;
		goto out_nocurl;
	}
	{
		const char *lines[] = { "Content-Type: application/json", h_id, h_ts, h_sig, "Expect:" };

		for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
			if (lines[i] == NULL)
				continue;
			tmp = curl_slist_append(hdr, lines[i]);
			if (tmp == NULL) {
				rc = CURLE_OUT_OF_MEMORY;
				break;
			}
			hdr = tmp;
		}
	}
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val); } while (0)
	SET(CURLOPT_URL, opts->url);
	SET(CURLOPT_ERRORBUFFER, cerr);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_POSTFIELDS, body);
	SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	SET(CURLOPT_HTTPHEADER, hdr);
	SET(CURLOPT_USERAGENT, opts->user_agent != NULL ? opts->user_agent : WEBHOOK_DEFAULT_UA);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)(opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms :
	    WEBHOOK_DEFAULT_CONNECT_MS));
	SET(CURLOPT_TIMEOUT_MS, (long)(opts->timeout_ms > 0 ? opts->timeout_ms : WEBHOOK_DEFAULT_TIMEOUT_MS));
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_FOLLOWLOCATION, 0L);   /* a redirected POST would be replayed elsewhere: fix the URL instead */
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, &ans);
#undef SET
	if (rc == CURLE_OK)
		rc = set_protocols(c);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	if (opts->conn == NULL)
		curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	*status = st;
	if (curl_code != NULL)
		*curl_code = (int)rc;
	d = classify(rc, st);
	if (rc != CURLE_OK)
		pw_snprintf(err, errlen, "%s: %s", opts->url, cerr[0] != '\0' ? cerr : curl_easy_strerror(rc));
	else if (d != DELIVERY_OK)
		pw_snprintf(err, errlen, "%s: HTTP %ld%s%.*s", opts->url, st, ans.len > 0 ? ": " : "",
		    (int)ans.len, ans.text);
out_nocurl:
	free(h_sig);
	free(h_id);
	free(h_ts);
	return d;
}

enum alert_delivery
webhook_deliver(const struct alert_channel *ch, const struct alert_msg *msg, int64_t now_ms, char *err,
    size_t errlen)
{
	long status;

	return webhook_post(ch->arg, msg, now_ms, &status, err, errlen);
}

enum alert_delivery
webhook_deliver_batch(const struct alert_channel *ch, const struct alert_msg *msgs, size_t n, const char *key,
    int64_t now_ms, char *err, size_t errlen)
{
	const struct webhook_opts *opts = ch->arg;
	char *body = alert_payload(opts->format, msgs, n, key, now_ms);
	long status;
	enum alert_delivery d = webhook_post_body(opts, body, key, now_ms, &status, NULL, err, errlen);

	free(body);
	return d;
}
