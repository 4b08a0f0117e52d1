/* multi.c: the crawl fetch engine: a libcurl multi handle fed from per-host queues under global, per-host, robots and retry rules. */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/util.h"
#include "crawl/fetch.h"
#include "crawl/guard.h"
#include "crawl/multi.h"
#include "crawl/retry.h"
#include "crawl/robots.h"

/* Defaults for zero fields of mfetch_config (the [crawl] defaults of pricewatch.conf(5)). */
#define DEF_CONCURRENCY 8
#define DEF_PER_HOST 2
#define DEF_CONNECT_MS 10000
#define DEF_TIMEOUT_MS 30000
#define DEF_MAX_BODY ((uint64_t)8 * 1024 * 1024)
#define DEF_MAX_IMAGE ((uint64_t)10 * 1024 * 1024)
#define DEF_ROBOTS_TTL_MS ((int64_t)24 * 3600 * 1000)
#define DEF_UA "pricewatch/" PACKAGE_VERSION
/* "Unreachable" robots.txt (5xx, 429, no answer) disallows the host until retried: this soon. */
#define ROBOTS_UNREACHABLE_TTL_MS ((int64_t)5 * 60 * 1000)
/* A robots.txt read from the shared cache is asked for again after this long (the cache keeps the real TTL). */
#define ROBOTS_LOCAL_MAX_MS ((int64_t)10 * 60 * 1000)

enum robots_state { RS_UNKNOWN = 0, RS_FETCHING, RS_READY };

struct host;

/* One request: queued on its host, then a running transfer; owned by the engine until its callback returns. */
struct req {
	struct req *next;          /* host queue */
	struct req *rprev, *rnext; /* the engine's list of running transfers */
	struct host *host;
	char *url, *etag, *last_modified;
	const struct mfetch_profile *profile;
	enum mfetch_priority prio;
	bool untrusted, is_robots;
	mfetch_done_fn done;
	void *arg;
	int attempts;
	int64_t not_before_ms;     /* monotonic: a retry waits until then */
	/* Transfer state, reset before each attempt. */
	CURL *easy;
	struct curl_slist *hdrs;   /* owned copy when conditional headers were added; else NULL */
	struct fetch_body body;
	uint64_t max;
	bool too_big, oom, truncated;
	char *resp_etag, *resp_last_modified, *resp_retry_after;
	struct guard_policy guard; /* the profile's, with report pointing at this request */
	struct guard_report report;
	char errbuf[CURL_ERROR_SIZE];
};

/* One scheme/host/port: its queues, politeness clock and robots.txt. */
struct host {
	struct host *hnext;        /* hash chain */
	char *key;                 /* robots.txt URL ("file:" for local files) */
	char *name;                /* "host:port" */
	struct req *head[MFETCH_PRIO_N], *tail[MFETCH_PRIO_N];
	size_t queued;
	long active;
	bool in_work;
	int64_t next_start_ms;     /* monotonic: last start + delay */
	int64_t not_before_ms;     /* monotonic: Retry-After for the whole host */
	enum robots_state rstate;
	struct robots *robots;
	int64_t robots_expire_ms;
};

struct mfetch {
	struct mfetch_config cfg;  /* user_agent copied */
	char *user_agent;
	struct retry_policy retry;
	struct retry_rng rng;
	CURLM *multi;
	struct host **buckets;
	size_t n_buckets, n_hosts;
	struct host **work;        /* hosts with queued requests */
	size_t n_work, cap_work, rr;
	CURL **pool;               /* idle easy handles, reused (keeps memory flat) */
	size_t n_pool, cap_pool;
	size_t running, queued;
	struct req *run_head;      /* running transfers (curl 7.88 cannot list a multi handle's easies) */
	struct mfetch_counts counts;
};

/* ---- small helpers ------------------------------------------------------ */

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static bool
has_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static const char *
req_agent(const struct mfetch *m, const struct req *r)
{
	if (r->profile != NULL && r->profile->user_agent != NULL && r->profile->user_agent[0] != '\0')
		return r->profile->user_agent;
	return m->user_agent;
}

static bool
req_obeys_robots(const struct mfetch *m, const struct req *r)
{
	if (!m->cfg.respect_robots || strcmp(r->host->key, "file:") == 0)
		return false;
	return r->profile == NULL || !r->profile->ignore_robots;
}

/* "host:port" from a robots URL "scheme://host[:port]/robots.txt"; caller frees. */
static char *
host_name_of(const char *robots_url)
{
	const char *p = strstr(robots_url, "://"), *end;

	if (p == NULL)
		return xstrdup(robots_url);
	p += 3;
	end = strchr(p, '/');
	return end != NULL ? xstrndup(p, (size_t)(end - p)) : xstrdup(p);
}

/* ---- hosts ---------------------------------------------------------------- */

static void
hosts_grow(struct mfetch *m)
{
	size_t n = m->n_buckets ? m->n_buckets * 2 : 64, i;
	struct host **b = xcalloc(n, sizeof(*b));

	for (i = 0; i < m->n_buckets; i++) {
		struct host *h = m->buckets[i], *next;

		for (; h != NULL; h = next) {
			size_t k = (size_t)(hash_str(h->key) % n);

			next = h->hnext;
			h->hnext = b[k];
			b[k] = h;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
}

/* Finds or creates the host for key (consumed: freed or kept). */
static struct host *
host_get(struct mfetch *m, char *key)
{
	struct host *h;
	size_t k;

	if (m->n_hosts >= m->n_buckets)
		hosts_grow(m);
	k = (size_t)(hash_str(key) % m->n_buckets);
	for (h = m->buckets[k]; h != NULL; h = h->hnext)
		if (strcmp(h->key, key) == 0) {
			free(key);
			return h;
		}
	h = xcalloc(1, sizeof(*h));
	h->key = key;
	h->name = strcmp(key, "file:") == 0 ? xstrdup("file") : host_name_of(key);
	h->hnext = m->buckets[k];
	m->buckets[k] = h;
	m->n_hosts++;
	return h;
}

static void
work_add(struct mfetch *m, struct host *h)
{
	if (h->in_work)
		return;
	if (m->n_work == m->cap_work) {
		m->cap_work = m->cap_work ? m->cap_work * 2 : 16;
		m->work = xreallocarray(m->work, m->cap_work, sizeof(*m->work));
	}
	m->work[m->n_work++] = h;
	h->in_work = true;
}

/* Drops hosts whose queues are empty from the work list. */
static void
work_prune(struct mfetch *m)
{
	size_t i = 0;

	while (i < m->n_work) {
		if (m->work[i]->queued == 0) {
			m->work[i]->in_work = false;
			m->work[i] = m->work[--m->n_work];
		} else
			i++;
	}
}

static void
queue_push(struct mfetch *m, struct req *r)
{
	struct host *h = r->host;

	r->next = NULL;
	if (h->tail[r->prio] != NULL)
		h->tail[r->prio]->next = r;
	else
		h->head[r->prio] = r;
	h->tail[r->prio] = r;
	h->queued++;
	m->queued++;
	work_add(m, h);
}

static struct req *
queue_pop(struct mfetch *m, struct host *h, int prio)
{
	struct req *r = h->head[prio];

	if (r == NULL)
		return NULL;
	h->head[prio] = r->next;
	if (h->head[prio] == NULL)
		h->tail[prio] = NULL;
	r->next = NULL;
	h->queued--;
	m->queued--;
	return r;
}

/* ---- requests ------------------------------------------------------------- */

static void
req_reset_transfer(struct req *r)
{
	free(r->body.data);
	free(r->resp_etag);
	free(r->resp_last_modified);
	free(r->resp_retry_after);
	curl_slist_free_all(r->hdrs);
	r->resp_etag = r->resp_last_modified = r->resp_retry_after = NULL;
	r->hdrs = NULL;
	memset(&r->body, 0, sizeof(r->body));
	r->too_big = r->oom = r->truncated = false;
	memset(&r->report, 0, sizeof(r->report));
	r->errbuf[0] = '\0';
}

static void
req_free(struct req *r)
{
	if (r == NULL)
		return;
	req_reset_transfer(r);
	free(r->url);
	free(r->etag);
	free(r->last_modified);
	free(r);
}

/* "URL: reason", the URL shortened when both do not fit, so that the reason always does. */
static void
format_error(char *buf, size_t len, const char *url, const char *reason)
{
	if (!pw_snprintf(buf, len, "%s: %s", url, reason))
		(void)pw_snprintf(buf, len, "%.120s...: %s", url, reason);
}

/* Calls the request's callback with an outcome and no body, then frees it. */
static void
req_finish_error(struct req *r, enum crawl_outcome outcome, long status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
req_finish_error(struct req *r, enum crawl_outcome outcome, long status, const char *fmt, ...)
{
	struct mfetch_response resp;
	char reason[200], error[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	format_error(error, sizeof(error), r->url, reason);
	memset(&resp, 0, sizeof(resp));
	resp.url = r->url;
	resp.effective_url = r->url;
	resp.host = r->host != NULL ? r->host->name : "";
	resp.outcome = outcome;
	resp.status = status;
	resp.attempts = r->attempts;
	resp.error = error;
	if (r->done != NULL)
		r->done(r->arg, &resp);
	req_free(r);
}

/* ---- curl callbacks ------------------------------------------------------- */

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct req *r = userdata;
	size_t n = size * nmemb;   /* size is always 1 */

	if (n == 0)
		return 0;
	if ((uint64_t)r->body.len + n > r->max) {
		if (r->is_robots) {
			/* robots.txt: keep the first ROBOTS_MAX_BYTES + 1; the parser drops the cut line. */
			n = (size_t)(r->max - r->body.len);
			r->truncated = true;
		} else {
			r->too_big = true;
			return 0;  /* anything but the full size aborts the transfer */
		}
	}
	if (!fetch_body_append(&r->body, r->max, ptr, n)) {
		r->oom = true;
		return 0;
	}
	return r->truncated ? 0 : size * nmemb;
}

/* Keeps one header value (trimmed) in *slot when the line is "name: value". */
static void
header_take(const char *line, size_t len, const char *name, char **slot)
{
	size_t nl = strlen(name);
	const char *v, *end = line + len;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	v = line + nl + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	free(*slot);
	*slot = xstrndup(v, (size_t)(end - v));
}

static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct req *r = userdata;
	size_t n = size * nmemb;

	/* A new status line (after a redirect or 100-continue): the previous response's validators do not apply. */
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		free(r->resp_etag);
		free(r->resp_last_modified);
		free(r->resp_retry_after);
		r->resp_etag = r->resp_last_modified = r->resp_retry_after = NULL;
		return n;
	}
	header_take(ptr, n, "etag", &r->resp_etag);
	header_take(ptr, n, "last-modified", &r->resp_last_modified);
	header_take(ptr, n, "retry-after", &r->resp_retry_after);
	return n;
}

/*
 * Checks the address of the connection a transfer is about to use, reused ones
 * included: guard_install only sees new sockets, and a connection opened for a
 * trusted start URL to the same host must not carry a page-supplied one.
 */
static int
on_prereq(void *clientp, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
    int conn_local_port)
{
	struct req *r = clientp;
	unsigned char a6[16];
	struct in_addr a4;
	enum guard_class cls;

	(void)conn_local_ip;
	(void)conn_primary_port;
	(void)conn_local_port;
	if (inet_pton(AF_INET, conn_primary_ip, &a4) == 1)
		cls = guard_classify_ipv4(ntohl(a4.s_addr));
	else if (inet_pton(AF_INET6, conn_primary_ip, a6) == 1)
		cls = guard_classify_ipv6(a6);
	else
		cls = GUARD_RESERVED;
	if (guard_class_allowed(cls, &r->guard))
		return CURL_PREREQFUNC_OK;
	r->report.refused++;
	(void)pw_snprintf(r->report.reason, sizeof(r->report.reason), "blocked by the SSRF guard: %s is %s",
	    conn_primary_ip, guard_class_name(cls));
	return CURL_PREREQFUNC_ABORT;
}

/* ---- transfers -------------------------------------------------------------- */

static CURL *
pool_get(struct mfetch *m)
{
	if (m->n_pool > 0)
		return m->pool[--m->n_pool];
	return curl_easy_init();
}

static void
pool_put(struct mfetch *m, CURL *easy, bool reusable)
{
	if (easy == NULL)
		return;
	if (!reusable) {
		curl_easy_cleanup(easy);
		return;
	}
	curl_easy_reset(easy);
	if (m->n_pool == m->cap_pool) {
		if (m->cap_pool >= (size_t)m->cfg.concurrency + 8) {
			curl_easy_cleanup(easy);
			return;
		}
		m->cap_pool = m->cap_pool ? m->cap_pool * 2 : 16;
		m->pool = xreallocarray(m->pool, m->cap_pool, sizeof(*m->pool));
	}
	m->pool[m->n_pool++] = easy;
}

/*
 * Whether r's easy handle may go back to the pool. libcurl 7.88's
 * curl_easy_reset does not free the list CURLOPT_COOKIEFILE builds, so a
 * handle that read a cookie file is cleaned up instead.
 */
static bool
req_reusable(const struct req *r)
{
	return r->profile == NULL || r->profile->cookie_file == NULL || r->profile->cookie_file[0] == '\0';
}

/* The request headers: the profile's, plus the validators of a conditional GET (own list then). */
static struct curl_slist *
req_headers(struct req *r)
{
	const struct curl_slist *base = r->profile != NULL ? r->profile->headers : NULL;
	struct curl_slist *l = NULL, *t;
	char line[1024];

	if (r->etag == NULL && r->last_modified == NULL)
		return (struct curl_slist *)base;   /* curl only reads it */
	for (; base != NULL; base = base->next)
		if ((t = curl_slist_append(l, base->data)) != NULL)
			l = t;
	if (r->etag != NULL && pw_snprintf(line, sizeof(line), "If-None-Match: %s", r->etag) &&
	    (t = curl_slist_append(l, line)) != NULL)
		l = t;
	if (r->last_modified != NULL &&
	    pw_snprintf(line, sizeof(line), "If-Modified-Since: %s", r->last_modified) &&
	    (t = curl_slist_append(l, line)) != NULL)
		l = t;
	r->hdrs = l;
	return l;
}

static CURLcode
set_protocols(CURL *c, bool allow_file)
{
	CURLcode rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, allow_file ? "http,https,file" : "http,https");

	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	return rc;
}

/* Configures r's easy handle for one attempt and hands it to the multi handle. */
static bool
transfer_start(struct mfetch *m, struct req *r, char *why, size_t whylen)
{
	const struct mfetch_profile *p = r->profile;
	const struct mfetch_config *cfg = &m->cfg;
	long low_time = (long)((cfg->low_speed_time_ms + 999) / 1000);
	CURLcode rc;
	CURL *c;

	req_reset_transfer(r);
	r->max = r->is_robots ? ROBOTS_MAX_BYTES + 1 :
	    r->prio == MFETCH_PRIO_IMAGE ? cfg->max_image_body : cfg->max_body;
	if (r->untrusted && p != NULL && p->proxy != NULL && p->proxy[0] != '\0') {
		/* Through a proxy the socket goes to the proxy: judge the target by name now. */
		struct guard_policy g = p->guard;
		char err[300];

		g.report = NULL;
		if (guard_check_url(r->url, &g, err, sizeof(err)) != GUARD_ALLOWED) {
			(void)pw_snprintf(r->report.reason, sizeof(r->report.reason), "%s", err);
			r->report.refused = 1;
			(void)pw_snprintf(why, whylen, "%s", err);
			return false;
		}
	}
	c = pool_get(m);
	if (c == NULL) {
		(void)pw_snprintf(why, whylen, "cannot create a curl handle");
		return false;
	}
	r->easy = c;
	rc = curl_easy_setopt(c, CURLOPT_URL, r->url);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_PRIVATE, r);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_USERAGENT, req_agent(m, r));
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
	if (rc == CURLE_OK && cfg->low_speed_limit > 0 && low_time > 0) {
		rc = curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, (long)cfg->low_speed_limit);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, low_time);
	}
	if (rc == CURLE_OK && !r->is_robots)
		rc = curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_MAXREDIRS, cfg->max_redirects);
	if (rc == CURLE_OK) rc = set_protocols(c, !r->untrusted && !r->is_robots);
	/* "" offers every encoding this libcurl decodes (gzip, deflate, br, zstd as built). */
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, req_headers(r));
	if (rc == CURLE_OK && p != NULL && p->proxy != NULL && p->proxy[0] != '\0')
		rc = curl_easy_setopt(c, CURLOPT_PROXY, p->proxy);
	if (rc == CURLE_OK && p != NULL && p->cookie_file != NULL && p->cookie_file[0] != '\0')
		rc = curl_easy_setopt(c, CURLOPT_COOKIEFILE, p->cookie_file);
	if (rc == CURLE_OK && r->untrusted) {
		r->guard = p != NULL ? p->guard : (struct guard_policy){ 0 };
		r->guard.report = &r->report;
		rc = guard_install(c, &r->guard);
		if (rc == CURLE_OK && (p == NULL || p->proxy == NULL || p->proxy[0] == '\0')) {
			rc = curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
			if (rc == CURLE_OK)
				rc = curl_easy_setopt(c, CURLOPT_PREREQDATA, r);
		}
	}
	if (rc == CURLE_OK && curl_multi_add_handle(m->multi, c) != CURLM_OK)
		rc = CURLE_FAILED_INIT;
	if (rc != CURLE_OK) {
		(void)pw_snprintf(why, whylen, "curl refused an option: %s", curl_easy_strerror(rc));
		pool_put(m, c, req_reusable(r));
		r->easy = NULL;
		return false;
	}
	r->attempts++;
	r->host->active++;
	r->rprev = NULL;
	r->rnext = m->run_head;
	if (m->run_head != NULL)
		m->run_head->rprev = r;
	m->run_head = r;
	m->running++;
	m->counts.started++;
	if (m->running > m->counts.peak_running)
		m->counts.peak_running = m->running;
	return true;
}

/* ---- robots.txt ------------------------------------------------------------ */

static int64_t
robots_ttl_for(const struct mfetch *m, long status)
{
	if (robots_policy_for_status(status) == ROBOTS_DISALLOW_ALL && m->cfg.robots_ttl_ms > ROBOTS_UNREACHABLE_TTL_MS)
		return ROBOTS_UNREACHABLE_TTL_MS;
	return m->cfg.robots_ttl_ms;
}

static void
host_set_robots(struct host *h, long status, const char *body, size_t len, int64_t ttl)
{
	robots_free(h->robots);
	h->robots = robots_from_fetch(status, body != NULL ? body : "", len);
	h->rstate = RS_READY;
	h->robots_expire_ms = time_mono_ms() + ttl;
}

/*
 * Before the first request to a host: its robots.txt from the shared cache, or
 * a fetch that goes out with the first waiting request's profile and guard (a
 * page-supplied host must not be reached through its robots.txt either).
 */
static void
robots_begin(struct mfetch *m, struct host *h, const struct req *first)
{
	struct req *r;
	char why[256];

	if (m->cfg.cache.get != NULL) {
		long status = 0;
		char *body = NULL;
		size_t len = 0;

		if (m->cfg.cache.get(m->cfg.cache.arg, h->key, &status, &body, &len)) {
			int64_t ttl = robots_ttl_for(m, status);

			host_set_robots(h, status, body, len, ttl < ROBOTS_LOCAL_MAX_MS ? ttl : ROBOTS_LOCAL_MAX_MS);
			free(body);
			m->counts.robots_cached++;
			return;
		}
	}
	r = xcalloc(1, sizeof(*r));
	r->url = xstrdup(h->key);
	r->host = h;
	r->profile = first->profile;
	r->untrusted = first->untrusted;
	r->is_robots = true;
	h->rstate = RS_FETCHING;
	m->counts.robots_fetched++;
	if (!transfer_start(m, r, why, sizeof(why))) {
		/* Cannot even try: unreachable, so disallow until retried (RFC 9309 2.3.1.4). */
		host_set_robots(h, 0, NULL, 0, robots_ttl_for(m, 0));
		req_free(r);
	}
}

/* Fails the untrusted requests waiting on h (their robots.txt fetch was refused by the guard). */
static void
host_fail_untrusted(struct mfetch *m, struct host *h, const char *reason)
{
	struct req *failed = NULL, *r, *next;

	/* Unlink first, call back after: a callback may queue new requests on this host. */
	for (int p = 0; p < MFETCH_PRIO_N; p++) {
		struct req *keep = NULL, *keep_tail = NULL;

		for (r = h->head[p]; r != NULL; r = next) {
			next = r->next;
			r->next = NULL;
			if (r->untrusted) {
				h->queued--;
				m->queued--;
				r->next = failed;
				failed = r;
				continue;
			}
			if (keep_tail != NULL)
				keep_tail->next = r;
			else
				keep = r;
			keep_tail = r;
		}
		h->head[p] = keep;
		h->tail[p] = keep_tail;
	}
	for (r = failed; r != NULL; r = next) {
		next = r->next;
		req_finish_error(r, CRAWL_BLOCKED_BY_GUARD, 0, "%s", reason);
	}
}

static void
robots_done(struct mfetch *m, struct req *r, CURLcode rc, long status)
{
	struct host *h = r->host;

	if (r->report.refused > 0) {
		h->rstate = RS_UNKNOWN;    /* trusted requests may still fetch it themselves */
		host_fail_untrusted(m, h, r->report.reason);
		return;
	}
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && r->truncated))
		status = rc == CURLE_TOO_MANY_REDIRECTS && status >= 300 ? status : 0;
	else if (status == 0)
		status = 200;
	host_set_robots(h, status, r->body.data, r->body.len, robots_ttl_for(m, status));
	if (m->cfg.cache.put != NULL)
		m->cfg.cache.put(m->cfg.cache.arg, h->key, status, r->body.data, r->body.len, robots_ttl_for(m, status));
}

/* ---- scheduling ------------------------------------------------------------- */

static int64_t
host_delay(const struct mfetch *m, const struct host *h, const struct req *r)
{
	int64_t d = m->cfg.per_host_delay_ms;

	if (r->profile != NULL && r->profile->per_host_delay_ms >= 0)
		d = r->profile->per_host_delay_ms;
	if (h->rstate == RS_READY && h->robots != NULL && req_obeys_robots(m, r))
		d = max64(d, robots_crawl_delay_ms(h->robots, req_agent(m, r)));
	return d;
}

/* Starts what host h may start now at priority prio; *wake gets the next time something becomes possible. */
static void
host_start(struct mfetch *m, struct host *h, int prio, int64_t now, int64_t *wake)
{
	char why[256];

	while (h->head[prio] != NULL && m->running < (size_t)m->cfg.concurrency &&
	    h->active < m->cfg.max_per_host) {
		struct req *r = h->head[prio];
		int64_t at;

		if (req_obeys_robots(m, r)) {
			if (h->rstate == RS_READY && now >= h->robots_expire_ms)
				h->rstate = RS_UNKNOWN;
			if (h->rstate == RS_UNKNOWN)
				robots_begin(m, h, r);
			if (h->rstate != RS_READY)
				return;    /* woken when the robots.txt transfer completes */
			if (!robots_allowed(h->robots, req_agent(m, r), r->url)) {
				r = queue_pop(m, h, prio);
				req_finish_error(r, CRAWL_ROBOTS_DENIED, 0, "disallowed by robots.txt");
				continue;
			}
		}
		at = max64(max64(h->next_start_ms, h->not_before_ms), r->not_before_ms);
		if (at > now) {
			if (at < *wake)
				*wake = at;
			return;
		}
		r = queue_pop(m, h, prio);
		if (!transfer_start(m, r, why, sizeof(why))) {
			req_finish_error(r, r->report.refused > 0 ? CRAWL_BLOCKED_BY_GUARD : CRAWL_ERROR, 0, "%s", why);
			continue;
		}
		h->next_start_ms = now + host_delay(m, h, r);
	}
}

/* Pages first, then images; hosts in rotating order so that none is always served last. */
static void
start_ready(struct mfetch *m, int64_t *wake)
{
	int64_t now = time_mono_ms();
	size_t n, k;

	for (int prio = 0; prio < MFETCH_PRIO_N; prio++) {
		n = m->n_work;
		for (k = 0; k < n && k < m->n_work; k++) {
			if (m->running >= (size_t)m->cfg.concurrency)
				break;
			host_start(m, m->work[(m->rr + k) % m->n_work], prio, now, wake);
		}
	}
	m->rr++;
	work_prune(m);
}

/* ---- completion ----------------------------------------------------------- */

static enum crawl_outcome
classify(const struct req *r, CURLcode rc, long status)
{
	if (r->report.refused > 0)
		return CRAWL_BLOCKED_BY_GUARD;
	if (r->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		return CRAWL_TOO_LARGE;
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return CRAWL_TIMEOUT;
	if (rc != CURLE_OK)
		return CRAWL_ERROR;
	if (status == 304)
		return CRAWL_NOT_MODIFIED;
	if (status >= 200 && status <= 299)
		return CRAWL_OK;
	if (status >= 400 && status <= 499)
		return CRAWL_HTTP_4XX;
	if (status >= 500 && status <= 599)
		return CRAWL_HTTP_5XX;
	return CRAWL_ERROR;
}

static void
describe(const struct mfetch *m, const struct req *r, enum crawl_outcome o, CURLcode rc, long status,
    char *buf, size_t len)
{
	switch (o) {
	case CRAWL_BLOCKED_BY_GUARD:
		(void)pw_snprintf(buf, len, "%s", r->report.reason);
		break;
	case CRAWL_TOO_LARGE:
		(void)pw_snprintf(buf, len, "body exceeds %" PRIu64 " bytes", r->max);
		break;
	case CRAWL_TIMEOUT:
		if (strstr(r->errbuf, "too slow") != NULL)
			(void)pw_snprintf(buf, len, "too slow (under %" PRIu64 " bytes/s for %" PRId64 " ms)",
			    m->cfg.low_speed_limit, m->cfg.low_speed_time_ms);
		else
			(void)pw_snprintf(buf, len, "timed out (%s)", r->errbuf[0] ? r->errbuf : "no answer");
		break;
	case CRAWL_HTTP_4XX:
	case CRAWL_HTTP_5XX:
		(void)pw_snprintf(buf, len, "HTTP %ld", status);
		break;
	case CRAWL_ERROR:
		if (rc == CURLE_OK)
			(void)pw_snprintf(buf, len, "unexpected HTTP %ld", status);
		else
			(void)pw_snprintf(buf, len, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
		break;
	default:
		buf[0] = '\0';
	}
	/* curl's messages may end in a newline; log lines should not. */
	for (size_t l = strlen(buf); l > 0 && (buf[l - 1] == '\n' || buf[l - 1] == '\r'); l--)
		buf[l - 1] = '\0';
}

/* Retries r later when the rules say so (returns true: r went back to its queue). */
static bool
maybe_retry(struct mfetch *m, struct req *r, enum crawl_outcome o, CURLcode rc, long status)
{
	struct retry_decision d;
	int64_t now = time_mono_ms();

	if (o == CRAWL_BLOCKED_BY_GUARD || o == CRAWL_TOO_LARGE || o == CRAWL_OK || o == CRAWL_NOT_MODIFIED)
		return false;
	if (!retry_is_retryable((int)rc, rc == CURLE_OK ? status : 0))
		return false;
	d = retry_decide(&m->retry, r->attempts, (int)rc, rc == CURLE_OK ? status : 0, r->resp_retry_after,
	    time_now_ms(), &m->rng);
	if (!d.retry)
		return false;
	{
		char reason[300];

		describe(m, r, o, rc, status, reason, sizeof(reason));
		log_info("%s: %s; try %d of %d in %" PRId64 " ms (%s)", r->url, reason, r->attempts + 1,
		    m->retry.max_attempts, d.delay_ms, d.reason);
	}
	r->not_before_ms = now + d.delay_ms;
	/* The server asked the whole host to slow down: nothing else goes there before then either. */
	if (r->resp_retry_after != NULL && (status == 429 || status == 503))
		r->host->not_before_ms = max64(r->host->not_before_ms, r->not_before_ms);
	req_reset_transfer(r);
	m->counts.retried++;
	queue_push(m, r);
	return true;
}

/* Takes r off the running list and the counters. */
static void
running_unlink(struct mfetch *m, struct req *r)
{
	if (r->rprev != NULL)
		r->rprev->rnext = r->rnext;
	else
		m->run_head = r->rnext;
	if (r->rnext != NULL)
		r->rnext->rprev = r->rprev;
	r->rprev = r->rnext = NULL;
	m->running--;
	r->host->active--;
}

static void
transfer_done(struct mfetch *m, CURL *easy, CURLcode rc)
{
	struct req *r = NULL;
	struct mfetch_response resp;
	enum crawl_outcome o;
	char reason[300], error[600];
	char *eff = NULL, *ctype = NULL;
	long status = 0;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	running_unlink(m, r);
	curl_multi_remove_handle(m->multi, easy);
	if (r->is_robots) {
		robots_done(m, r, rc, status);
		pool_put(m, easy, req_reusable(r));
		r->easy = NULL;
		req_free(r);
		return;
	}
	if (rc == CURLE_OK && status == 0 && has_prefix_ci(r->url, "file:"))
		status = 200;
	o = classify(r, rc, status);
	if (maybe_retry(m, r, o, rc, status)) {
		pool_put(m, easy, req_reusable(r));
		r->easy = NULL;
		return;
	}
	curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &eff);
	curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ctype);
	describe(m, r, o, rc, status, reason, sizeof(reason));
	if (reason[0] == '\0')
		error[0] = '\0';
	else
		format_error(error, sizeof(error), r->url, reason);
	memset(&resp, 0, sizeof(resp));
	resp.url = r->url;
	resp.effective_url = eff != NULL ? eff : r->url;
	resp.host = r->host->name;
	resp.outcome = o;
	resp.status = status;
	if (o == CRAWL_OK) {
		resp.body = r->body.data != NULL ? r->body.data : "";
		resp.len = r->body.len;
	}
	resp.content_type = ctype;
	resp.etag = r->resp_etag;
	resp.last_modified = r->resp_last_modified;
	resp.attempts = r->attempts;
	resp.error = error;
	if (r->done != NULL)
		r->done(r->arg, &resp);
	pool_put(m, easy, req_reusable(r));
	r->easy = NULL;
	req_free(r);
}

/* ---- public ------------------------------------------------------------------ */

struct mfetch *
mfetch_new(const struct mfetch_config *cfg)
{
	struct mfetch *m = xcalloc(1, sizeof(*m));
	struct mfetch_config *c = &m->cfg;

	*c = *cfg;
	if (c->concurrency <= 0) c->concurrency = DEF_CONCURRENCY;
	if (c->max_per_host <= 0) c->max_per_host = DEF_PER_HOST;
	if (c->per_host_delay_ms < 0) c->per_host_delay_ms = 0;
	if (c->connect_timeout_ms <= 0) c->connect_timeout_ms = DEF_CONNECT_MS;
	if (c->timeout_ms <= 0) c->timeout_ms = DEF_TIMEOUT_MS;
	if (c->max_body == 0) c->max_body = DEF_MAX_BODY;
	if (c->max_image_body == 0) c->max_image_body = DEF_MAX_IMAGE;
	if (c->max_redirects < 0) c->max_redirects = 0;  /* curl reads -1 as "unlimited" */
	if (c->robots_ttl_ms <= 0) c->robots_ttl_ms = DEF_ROBOTS_TTL_MS;
	m->user_agent = xstrdup(cfg->user_agent != NULL && cfg->user_agent[0] != '\0' ? cfg->user_agent : DEF_UA);
	c->user_agent = m->user_agent;
	m->retry.max_attempts = c->retries > 0 ? c->retries + 1 : 1;
	m->retry.base_delay_ms = c->retry_delay_ms > 0 ? c->retry_delay_ms : RETRY_DEFAULT_BASE_MS;
	m->retry.max_delay_ms = c->retry_max_delay_ms > 0 ? c->retry_max_delay_ms : RETRY_DEFAULT_MAX_DELAY_MS;
	m->retry.max_retry_after_ms = m->retry.max_delay_ms;
	/* Seeded from the clock and the PID so that daemons do not retry in step. */
	retry_rng_seed(&m->rng, (uint64_t)time_now_ms() ^ ((uint64_t)getpid() << 40) ^ (uint64_t)time_mono_ms());
	m->multi = curl_multi_init();
	if (m->multi == NULL) {
		free(m->user_agent);
		free(m);
		return NULL;
	}
	curl_multi_setopt(m->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, c->concurrency);
	curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, c->concurrency);
	hosts_grow(m);
	return m;
}

void
mfetch_cancel_all(struct mfetch *m)
{
	size_t i;

	while (m->run_head != NULL) {
		struct req *r = m->run_head;
		CURL *easy = r->easy;

		running_unlink(m, r);
		curl_multi_remove_handle(m->multi, easy);
		pool_put(m, easy, req_reusable(r));
		if (r->is_robots)
			r->host->rstate = RS_UNKNOWN;
		r->easy = NULL;
		req_finish_error(r, CRAWL_ERROR, 0, "cancelled");
	}
	for (i = 0; i < m->n_buckets; i++)
		for (struct host *h = m->buckets[i]; h != NULL; h = h->hnext)
			for (int p = 0; p < MFETCH_PRIO_N; p++) {
				struct req *r;

				while ((r = queue_pop(m, h, p)) != NULL)
					req_finish_error(r, CRAWL_ERROR, 0, "cancelled");
			}
	work_prune(m);
}

void
mfetch_free(struct mfetch *m)
{
	size_t i;

	if (m == NULL)
		return;
	mfetch_cancel_all(m);
	for (i = 0; i < m->n_buckets; i++) {
		struct host *h = m->buckets[i], *next;

		for (; h != NULL; h = next) {
			next = h->hnext;
			robots_free(h->robots);
			free(h->key);
			free(h->name);
			free(h);
		}
	}
	for (i = 0; i < m->n_pool; i++)
		curl_easy_cleanup(m->pool[i]);
	curl_multi_cleanup(m->multi);
	free(m->pool);
	free(m->buckets);
	free(m->work);
	free(m->user_agent);
	free(m);
}

void
mfetch_add(struct mfetch *m, const struct mfetch_request *in)
{
	struct req *r = xcalloc(1, sizeof(*r));
	char *key = NULL;

	r->url = xstrdup(in->url != NULL ? in->url : "");
	r->profile = in->profile;
	r->prio = in->priority == MFETCH_PRIO_IMAGE ? MFETCH_PRIO_IMAGE : MFETCH_PRIO_PAGE;
	r->untrusted = in->untrusted;
	r->etag = in->etag != NULL && in->etag[0] != '\0' ? xstrdup(in->etag) : NULL;
	r->last_modified = in->last_modified != NULL && in->last_modified[0] != '\0' ?
	    xstrdup(in->last_modified) : NULL;
	r->done = in->done;
	r->arg = in->arg;
	if (has_prefix_ci(r->url, "http://") || has_prefix_ci(r->url, "https://"))
		key = robots_url_for(r->url);
	else if (has_prefix_ci(r->url, "file:") && !r->untrusted)
		key = xstrdup("file:");
	if (key == NULL) {
		req_finish_error(r, CRAWL_ERROR, 0, "not an http(s) URL%s",
		    has_prefix_ci(r->url, "file:") ? " (file: URLs only as configured start URLs)" : "");
		return;
	}
	r->host = host_get(m, key);
	queue_push(m, r);
}

size_t
mfetch_run(struct mfetch *m, int64_t max_wait_ms)
{
	int64_t wake = INT64_MAX, wait = max_wait_ms, now;
	struct CURLMsg *msg;
	int still = 0, left = 0;

	start_ready(m, &wake);
	if (m->running == 0 && m->queued == 0)
		return 0;
	now = time_mono_ms();
	if (wake != INT64_MAX && wake - now < wait)
		wait = wake - now;
	if (wait < 0)
		wait = 0;
	if (wait > INT32_MAX)
		wait = INT32_MAX;
	if (m->running > 0)
		(void)curl_multi_poll(m->multi, NULL, 0, (int)wait, NULL);
	else if (wait > 0)
		(void)poll(NULL, 0, (int)wait);
	(void)curl_multi_perform(m->multi, &still);
	while ((msg = curl_multi_info_read(m->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			transfer_done(m, msg->easy_handle, msg->data.result);
	wake = INT64_MAX;
	start_ready(m, &wake);
	return m->running + m->queued;
}

size_t
mfetch_pending(const struct mfetch *m)
{
	return m->running + m->queued;
}

void
mfetch_counts(const struct mfetch *m, struct mfetch_counts *out)
{
	*out = m->counts;
	out->running = m->running;
	out->queued = m->queued;
	out->hosts = m->n_hosts;
}
