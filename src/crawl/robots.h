/* robots.h: robots.txt parsing and matching per RFC 9309, shared by the crawler and `pricewatch robots`. */
#ifndef PW_CRAWL_ROBOTS_H
#define PW_CRAWL_ROBOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 9309 2.5: parsers must read at least 500 KiB; we read exactly that much and ignore the rest. */
#define ROBOTS_MAX_BYTES ((size_t)500 * 1024)

/* What a crawler does with the answer to GET /robots.txt (RFC 9309 2.3.1). */
enum robots_fetch_policy {
	ROBOTS_USE_BODY = 0,       /* 2xx: parse the body */
	ROBOTS_ALLOW_ALL,          /* 4xx (except 429): "unavailable", no restrictions apply */
	ROBOTS_DISALLOW_ALL,       /* 5xx, 429, unreachable, redirect loop: "unreachable", crawl nothing until retried */
};

/*
 * Maps the final HTTP status of the robots.txt fetch (after following at most five
 * redirects) to a policy. status 0 means the server could not be reached (DNS,
 * connect, timeout). A 3xx still seen here means the redirect limit was hit: the
 * RFC allows treating that as unavailable; we choose the safer "unreachable".
 */
enum robots_fetch_policy robots_policy_for_status(long status);

/* Parsed robots.txt; opaque. Everything in it is owned by it. */
struct robots;

/* What the parser saw, for messages ("robots.txt: 3 lines ignored, first at line 7"). */
struct robots_stats {
	size_t lines;              /* lines read (within the size limit) */
	size_t groups;
	size_t rules;              /* allow + disallow lines kept */
	size_t ignored;            /* garbage, unknown keys, rules outside any group */
	size_t first_ignored_line; /* 1-based, 0 when nothing was ignored */
	bool truncated;            /* input was over ROBOTS_MAX_BYTES; the partial last line was dropped too */
};

/*
 * Parses len bytes of robots.txt (need not be NUL-terminated; NULs are data).
 * Never fails on content: whatever cannot be understood is ignored and counted.
 * Returns a new object the caller frees with robots_free.
 */
struct robots *robots_parse(const char *text, size_t len);
/* The fixed outcomes of robots_policy_for_status: every path allowed, or none (except /robots.txt). */
struct robots *robots_new_allow_all(void);
struct robots *robots_new_disallow_all(void);
/* Convenience: parse for ROBOTS_USE_BODY, else the fixed object for the policy. */
struct robots *robots_from_fetch(long status, const char *body, size_t len);
void robots_free(struct robots *r);

/*
 * Returns the product token of a User-Agent string into buf: its leading run of
 * [A-Za-z_-], e.g. "pricewatch" from "pricewatch/0.1 (+https://...)". Returns
 * false (buf = "") when the string does not start with such a token.
 */
bool robots_product_token(const char *user_agent, char *buf, size_t bufsize);

/*
 * May agent fetch url? url is a full URL ("https://h/p?q", only the path and query
 * count; the fragment is dropped) or a path starting with '/'. agent is a User-Agent
 * string or bare product token; the group is chosen by case-insensitive match of its
 * product token, then of its shorter forms cut at '-' ("foo-news" -> "foo": the most
 * specific group wins), then "*", else no rules apply. Among the rules that match,
 * the longest pattern wins, allow wins a tie; /robots.txt is always allowed.
 */
bool robots_allowed(const struct robots *r, const char *agent, const char *url);

/* Crawl-delay of agent's group in milliseconds (largest one when groups combine); -1 when none. */
int64_t robots_crawl_delay_ms(const struct robots *r, const char *agent);

/* Sitemap URLs in file order (they belong to no group). Borrowed from r. */
size_t robots_sitemap_count(const struct robots *r);
const char *robots_sitemap(const struct robots *r, size_t i);

const struct robots_stats *robots_stats(const struct robots *r);

/*
 * The robots.txt URL that governs url: same scheme, host and port, path
 * "/robots.txt" (RFC 9309 2.3: one file per scheme, host and port); user info,
 * query and fragment dropped, host lower-cased. NULL when url is not an absolute
 * http(s) URL. Caller frees.
 */
char *robots_url_for(const char *url);

/*
 * Normalises a rule pattern for comparison (exposed for tests): percent escapes of
 * unreserved characters are decoded, other escapes get upper-case hex, non-ASCII,
 * space, control and unsafe octets are encoded, and in the query ':' '/' '?' '@' are
 * encoded (RFC 9309 2.2.2 table). '*' and a final '$' stay special; another '$' is
 * encoded. URL paths get the same treatment plus '*' and '$' encoded. Caller frees.
 */
char *robots_normalise(const char *s, size_t len);

#endif
