/* robots.c: a robots.txt parser and matcher that follows RFC 9309 and Google's documented precedence rules. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/util.h"
#include "crawl/robots.h"

/* A Crawl-delay beyond a day is nonsense (or hostile); such a line is ignored. */
#define ROBOTS_MAX_CRAWL_DELAY_MS ((int64_t)86400 * 1000)

enum robots_kind { KIND_PARSED = 0, KIND_ALLOW_ALL, KIND_DISALLOW_ALL };

struct robots_rule {
	char *pattern;             /* normalised, owned */
	size_t len;
	bool allow;
};

struct robots_group {
	char **agents;             /* lower-case product tokens, "*" for the catch-all; owned */
	size_t n_agents;
	struct robots_rule *rules;
	size_t n_rules;
	int64_t crawl_delay_ms;    /* -1 when the group has none */
};

struct robots {
	enum robots_kind kind;
	struct robots_group *groups;
	size_t n_groups;
	char **sitemaps;
	size_t n_sitemaps;
	struct robots_stats stats;
};

/* The line keys we understand, with the misspellings Google's parser also accepts. */
enum robots_key { KEY_UNKNOWN = 0, KEY_USER_AGENT, KEY_ALLOW, KEY_DISALLOW, KEY_CRAWL_DELAY, KEY_SITEMAP };

static const struct {
	const char *name;
	enum robots_key key;
} key_names[] = {
	{ "user-agent", KEY_USER_AGENT }, { "useragent", KEY_USER_AGENT }, { "user agent", KEY_USER_AGENT },
	{ "allow", KEY_ALLOW },
	{ "disallow", KEY_DISALLOW }, { "dissallow", KEY_DISALLOW }, { "dissalow", KEY_DISALLOW },
	{ "disalow", KEY_DISALLOW }, { "diasllow", KEY_DISALLOW }, { "disallaw", KEY_DISALLOW },
	{ "crawl-delay", KEY_CRAWL_DELAY }, { "crawldelay", KEY_CRAWL_DELAY }, { "crawl delay", KEY_CRAWL_DELAY },
	{ "sitemap", KEY_SITEMAP }, { "site-map", KEY_SITEMAP },
};

enum robots_fetch_policy
robots_policy_for_status(long status)
{
	if (status >= 200 && status <= 299)
		return ROBOTS_USE_BODY;
	/* 429 asks us to slow down: treating it as "no rules" would be the opposite. */
	if (status == 429)
		return ROBOTS_DISALLOW_ALL;
	if (status >= 400 && status <= 499)
		return ROBOTS_ALLOW_ALL;
	return ROBOTS_DISALLOW_ALL;
}

static struct robots *
robots_new(enum robots_kind kind)
{
	struct robots *r = xcalloc(1, sizeof *r);

	r->kind = kind;
	return r;
}

struct robots *
robots_new_allow_all(void)
{
	return robots_new(KIND_ALLOW_ALL);
}

struct robots *
robots_new_disallow_all(void)
{
	return robots_new(KIND_DISALLOW_ALL);
}

struct robots *
robots_from_fetch(long status, const char *body, size_t len)
{
	switch (robots_policy_for_status(status)) {
	case ROBOTS_USE_BODY:
		return robots_parse(body != NULL ? body : "", body != NULL ? len : 0);
	case ROBOTS_ALLOW_ALL:
		return robots_new_allow_all();
	case ROBOTS_DISALLOW_ALL:
		break;
	}
	return robots_new_disallow_all();
}

void
robots_free(struct robots *r)
{
	if (r == NULL)
		return;
	for (size_t g = 0; g < r->n_groups; g++) {
		struct robots_group *grp = &r->groups[g];
		for (size_t i = 0; i < grp->n_agents; i++)
			free(grp->agents[i]);
		for (size_t i = 0; i < grp->n_rules; i++)
			free(grp->rules[i].pattern);
		free(grp->agents);
		free(grp->rules);
	}
	free(r->groups);
	for (size_t i = 0; i < r->n_sitemaps; i++)
		free(r->sitemaps[i]);
	free(r->sitemaps);
	free(r);
}

/* ---- percent-encoding normalisation ---- */

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

/* Octets that may not appear raw in a URI (RFC 3986): always percent-encoded. */
static bool
must_encode(unsigned char c)
{
	return c <= 0x20 || c >= 0x7f || strchr("\"<>\\^`{|}", c) != NULL;
}

/* A growing output buffer; sizes are bounded by 3x the input, which is bounded by the caller. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void
sbuf_put(struct sbuf *b, char c)
{
	if (b->len + 2 > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

static void
sbuf_put_escape(struct sbuf *b, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";

	sbuf_put(b, '%');
	sbuf_put(b, hex[c >> 4]);
	sbuf_put(b, hex[c & 15]);
}

/* Shared by robots_normalise (patterns) and URL paths, which also encode '*' and '$'. */
static char *
normalise(const char *s, size_t len, bool is_url)
{
	struct sbuf b = { .p = xmalloc(64), .len = 0, .cap = 64 };
	bool in_query = false;

	b.p[0] = '\0';            /* an empty input gives "" */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi = i + 1 < len ? hex_value((unsigned char)s[i + 1]) : -1;
			int lo = hi >= 0 && i + 2 < len ? hex_value((unsigned char)s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				sbuf_put_escape(&b, '%');      /* a stray '%' is data */
				continue;
			}
			unsigned char v = (unsigned char)(hi * 16 + lo);
			if (is_unreserved(v))
				sbuf_put(&b, (char)v);
			else
				sbuf_put_escape(&b, v);
			i += 2;
			continue;
		}
		if (must_encode(c)) {
			sbuf_put_escape(&b, c);
			continue;
		}
		/*
		 * RFC 9309 2.2.3: a URL's literal '*' or '$' compares equal to a pattern's
		 * %2A / %24; in a pattern only a final '$' is the anchor, any other is data.
		 */
		if ((is_url && (c == '*' || c == '$')) || (!is_url && c == '$' && i + 1 < len)) {
			sbuf_put_escape(&b, c);
			continue;
		}
		if (in_query && strchr(":/?@", c) != NULL) {
			/* Inside a query these are data, not delimiters: one canonical (encoded) form. */
			sbuf_put_escape(&b, c);
			continue;
		}
		if (c == '?')
			in_query = true;
		sbuf_put(&b, (char)c);
	}
	return b.p;
}

char *
robots_normalise(const char *s, size_t len)
{
	return normalise(s, len, false);
}

/* ---- parsing ---- */

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

static bool
is_token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

/* Trims [*s, *s + *len) of spaces on both ends. */
static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && is_space(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_space((*s)[*len - 1]))
		(*len)--;
}

static enum robots_key
classify_key(const char *k, size_t len)
{
	for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++)
		if (strlen(key_names[i].name) == len && strncasecmp(key_names[i].name, k, len) == 0)
			return key_names[i].key;
	return KEY_UNKNOWN;
}

/*
 * Splits a line (comment already removed, trimmed) into key and value. "key: value"
 * is the grammar; "Disallow /x" (a known key, blanks, no colon) is accepted as
 * Google's parser does, because real files contain it.
 */
static enum robots_key
split_line(const char *line, size_t len, const char **value, size_t *vlen)
{
	const char *colon = memchr(line, ':', len);
	const char *key = line;
	size_t klen;
	enum robots_key k;

	if (colon != NULL) {
		klen = (size_t)(colon - line);
		*value = colon + 1;
		*vlen = len - klen - 1;
		trim(&key, &klen);
		trim(value, vlen);
		return classify_key(key, klen);
	}
	for (klen = 0; klen < len && !is_space(line[klen]); klen++)
		;
	if (klen == len)
		return KEY_UNKNOWN;
	k = classify_key(line, klen);
	/* "user agent foo" is ambiguous without the colon; only one-word keys qualify. */
	if (k == KEY_UNKNOWN)
		return KEY_UNKNOWN;
	*value = line + klen;
	*vlen = len - klen;
	trim(value, vlen);
	return k;
}

static void
count_ignored(struct robots *r, size_t lineno)
{
	if (r->stats.ignored++ == 0)
		r->stats.first_ignored_line = lineno;
}

static struct robots_group *
new_group(struct robots *r)
{
	struct robots_group *g;

	r->groups = xreallocarray(r->groups, r->n_groups + 1, sizeof *r->groups);
	g = &r->groups[r->n_groups++];
	memset(g, 0, sizeof *g);
	g->crawl_delay_ms = -1;
	r->stats.groups++;
	return g;
}

/* Lower-cased product token of a user-agent line's value; "*" for the catch-all. Caller frees. */
static char *
agent_token(const char *v, size_t len)
{
	size_t n = 0;
	char *t;

	if (len > 0 && v[0] == '*')
		return xstrdup("*");
	while (n < len && is_token_char(v[n]))
		n++;
	t = xstrndup(v, n);
	for (size_t i = 0; i < n; i++)
		t[i] = (char)((t[i] >= 'A' && t[i] <= 'Z') ? t[i] - 'A' + 'a' : t[i]);
	return t;
}

static void
add_rule(struct robots_group *g, bool allow, const char *v, size_t len)
{
	struct robots_rule *rule;
	char *pat;

	/* A pattern must start with '/' or '*'; "private/" plainly means "/private/". */
	if (v[0] != '/' && v[0] != '*') {
		/* memcpy, not a format: the value may hold NUL bytes. */
		char *tmp = xmalloc(len + 2);
		tmp[0] = '/';
		memcpy(tmp + 1, v, len);
		tmp[len + 1] = '\0';
		pat = robots_normalise(tmp, len + 1);
		free(tmp);
	} else {
		pat = robots_normalise(v, len);
	}
	g->rules = xreallocarray(g->rules, g->n_rules + 1, sizeof *g->rules);
	rule = &g->rules[g->n_rules++];
	rule->pattern = pat;
	rule->len = strlen(pat);
	rule->allow = allow;
}

/* Crawl-delay in seconds, possibly fractional ("0.5"); false on anything else. */
static bool
parse_delay(const char *v, size_t len, int64_t *ms)
{
	int64_t whole = 0, frac = 0, scale = 100;
	size_t i = 0;

	if (len == 0)
		return false;
	for (; i < len && v[i] >= '0' && v[i] <= '9'; i++) {
		whole = whole * 10 + (v[i] - '0');
		if (whole > ROBOTS_MAX_CRAWL_DELAY_MS / 1000)
			return false;
	}
	if (i < len && v[i] == '.') {
		size_t start = ++i;
		for (; i < len && v[i] >= '0' && v[i] <= '9'; i++) {
			frac += (v[i] - '0') * scale;
			scale /= 10;   /* digits beyond milliseconds add nothing */
		}
		if (i == start && start == 1)
			return false;  /* "." alone */
	} else if (i == 0) {
		return false;
	}
	if (i != len)
		return false;
	*ms = whole * 1000 + frac;
	return *ms <= ROBOTS_MAX_CRAWL_DELAY_MS;
}

static void
parse_line(struct robots *r, const char *line, size_t len, size_t lineno,
    struct robots_group **cur, bool *last_was_agent)
{
	const char *hash = memchr(line, '#', len), *value = NULL;
	size_t vlen = 0;
	enum robots_key key;
	int64_t delay;

	if (hash != NULL)
		len = (size_t)(hash - line);
	trim(&line, &len);
	if (len == 0)
		return;            /* blank and comment lines are neither data nor garbage */
	key = split_line(line, len, &value, &vlen);
	switch (key) {
	case KEY_USER_AGENT:
		/* Consecutive user-agent lines share one group; one after a rule starts the next. */
		if (*cur == NULL || !*last_was_agent)
			*cur = new_group(r);
		(*cur)->agents = xreallocarray((*cur)->agents, (*cur)->n_agents + 1, sizeof(char *));
		(*cur)->agents[(*cur)->n_agents++] = agent_token(value, vlen);
		if ((*cur)->agents[(*cur)->n_agents - 1][0] == '\0')
			count_ignored(r, lineno);   /* kept for the group structure; matches nobody */
		*last_was_agent = true;
		return;
	case KEY_ALLOW:
	case KEY_DISALLOW:
		if (*cur == NULL) {
			count_ignored(r, lineno);   /* a rule before any user-agent line belongs to nobody */
			return;
		}
		*last_was_agent = false;
		/* "Disallow:" with no path disallows nothing; "Allow:" likewise allows nothing extra. */
		if (vlen > 0) {
			add_rule(*cur, key == KEY_ALLOW, value, vlen);
			r->stats.rules++;
		}
		return;
	case KEY_CRAWL_DELAY:
		if (*cur == NULL) {
			count_ignored(r, lineno);
			return;
		}
		/* Even a bad value is a group member: a user-agent line after it starts a new group. */
		*last_was_agent = false;
		if (!parse_delay(value, vlen, &delay)) {
			count_ignored(r, lineno);
			return;
		}
		if (delay > (*cur)->crawl_delay_ms)
			(*cur)->crawl_delay_ms = delay;
		return;
	case KEY_SITEMAP:
		/* Not a group member (RFC 9309 2.2.4): it must not end or start a group. */
		if (vlen == 0 || memchr(value, '\0', vlen) != NULL) {
			count_ignored(r, lineno);   /* no URL, or one a C string cannot hold */
			return;
		}
		r->sitemaps = xreallocarray(r->sitemaps, r->n_sitemaps + 1, sizeof(char *));
		r->sitemaps[r->n_sitemaps++] = xstrndup(value, vlen);
		return;
	case KEY_UNKNOWN:
		break;
	}
	count_ignored(r, lineno);
}

struct robots *
robots_parse(const char *text, size_t len)
{
	struct robots *r = robots_new(KIND_PARSED);
	struct robots_group *cur = NULL;
	bool last_was_agent = false;
	size_t pos = 0, lineno = 0;

	if (text == NULL)
		len = 0;
	if (len > ROBOTS_MAX_BYTES) {
		/* Drop the cut line too: "Allow: /a/b" cut to "Allow: /a" would allow too much. */
		len = ROBOTS_MAX_BYTES;
		while (len > 0 && text[len - 1] != '\n' && text[len - 1] != '\r')
			len--;
		r->stats.truncated = true;
	}
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;
	while (pos < len) {
		size_t end = pos;
		while (end < len && text[end] != '\n' && text[end] != '\r')
			end++;
		lineno++;
		parse_line(r, text + pos, end - pos, lineno, &cur, &last_was_agent);
		/* LF, CR or CRLF ends a line. */
		if (end < len && text[end] == '\r' && end + 1 < len && text[end + 1] == '\n')
			end++;
		pos = end + 1;
	}
	r->stats.lines = lineno;
	return r;
}

/* ---- matching ---- */

bool
robots_product_token(const char *user_agent, char *buf, size_t bufsize)
{
	size_t n = 0;

	if (bufsize == 0)
		return false;
	buf[0] = '\0';
	if (user_agent == NULL)
		return false;
	while (user_agent[n] != '\0' && is_token_char(user_agent[n]))
		n++;
	if (n == 0 || n >= bufsize)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = user_agent[i];
		buf[i] = (char)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
	}
	buf[n] = '\0';
	return true;
}

static bool
group_has_agent(const struct robots_group *g, const char *token, size_t len)
{
	for (size_t i = 0; i < g->n_agents; i++)
		if (strlen(g->agents[i]) == len && strncmp(g->agents[i], token, len) == 0)
			return true;
	return false;
}

/*
 * Marks in sel[] the groups that apply to agent: those naming its product token,
 * else those naming the longest '-'-cut prefix of it, else the "*" groups.
 * Returns how many were marked (0: no rules apply).
 */
static size_t
select_groups(const struct robots *r, const char *agent, bool *sel)
{
	char token[128];           /* a longer product token matches no named group, only "*" */
	size_t n = 0, len;

	memset(sel, 0, r->n_groups * sizeof *sel);
	if (robots_product_token(agent, token, sizeof token)) {
		len = strlen(token);
		while (len > 0) {
			for (size_t g = 0; g < r->n_groups; g++)
				if (group_has_agent(&r->groups[g], token, len)) {
					sel[g] = true;
					n++;
				}
			if (n > 0)
				return n;
			while (len > 0 && token[len - 1] != '-')
				len--;
			while (len > 0 && token[len - 1] == '-')
				len--;
		}
	}
	for (size_t g = 0; g < r->n_groups; g++)
		if (group_has_agent(&r->groups[g], "*", 1)) {
			sel[g] = true;
			n++;
		}
	return n;
}

/*
 * Does pattern (with '*' = any run of octets and a final '$' = end of path) match a
 * prefix of path? A set of candidate positions in path, kept sorted, advances per
 * pattern octet (no backtracking, so hostile patterns stay O(pattern * path)).
 * pos must have room for plen + 1 entries.
 */
static bool
pattern_matches(const char *pat, size_t patlen, const char *path, size_t plen, size_t *pos)
{
	size_t npos = 1;

	pos[0] = 0;
	for (size_t i = 0; i < patlen; i++) {
		char c = pat[i];

		if (c == '$' && i + 1 == patlen)
			return pos[npos - 1] == plen;
		if (c == '*') {
			size_t first = pos[0];
			npos = plen - first + 1;
			for (size_t j = 0; j < npos; j++)
				pos[j] = first + j;
			continue;
		}
		size_t kept = 0;
		for (size_t j = 0; j < npos; j++)
			if (pos[j] < plen && path[pos[j]] == c)
				pos[kept++] = pos[j] + 1;
		if (kept == 0)
			return false;
		npos = kept;
	}
	return true;
}

/* The path and query of url (fragment dropped), always starting with '/'. Caller frees. */
static char *
url_path(const char *url)
{
	const char *p = url, *end;
	const char *scheme = strstr(url, "://");
	size_t stop = strcspn(url, "/?#");

	if (scheme != NULL && (size_t)(scheme - url) < stop) {
		p = scheme + 3;
		p += strcspn(p, "/?#");
	} else if (url[0] == '/' && url[1] == '/') {
		p = url + 2;
		p += strcspn(p, "/?#");
	}
	end = p + strcspn(p, "#");
	if (p[0] == '/')
		return xstrndup(p, (size_t)(end - p));
	return xasprintf("/%.*s", (int)(end - p), p);
}

bool
robots_allowed(const struct robots *r, const char *agent, const char *url)
{
	char *raw, *path;
	size_t plen, best_len = 0, *pos;
	bool allowed = true, matched = false, *sel;

	raw = url_path(url != NULL ? url : "/");
	path = normalise(raw, strlen(raw), true);
	free(raw);
	/* RFC 9309 2.2.2: /robots.txt itself is implicitly allowed. */
	if (strcmp(path, "/robots.txt") == 0 || r->kind == KIND_ALLOW_ALL) {
		free(path);
		return true;
	}
	if (r->kind == KIND_DISALLOW_ALL || r->n_groups == 0) {
		free(path);
		return r->kind != KIND_DISALLOW_ALL;
	}
	plen = strlen(path);
	sel = xcalloc(r->n_groups, sizeof *sel);
	pos = xreallocarray(NULL, plen + 1, sizeof *pos);
	if (select_groups(r, agent, sel) > 0) {
		/* Combined groups act as one: the longest matching pattern wins, allow on a tie. */
		for (size_t g = 0; g < r->n_groups; g++) {
			if (!sel[g])
				continue;
			for (size_t i = 0; i < r->groups[g].n_rules; i++) {
				const struct robots_rule *rule = &r->groups[g].rules[i];
				if (matched && (rule->len < best_len || (rule->len == best_len && !rule->allow)))
					continue;
				if (!pattern_matches(rule->pattern, rule->len, path, plen, pos))
					continue;
				if (!matched || rule->len > best_len || rule->allow)
					allowed = rule->allow;
				matched = true;
				best_len = rule->len;
			}
		}
	}
	free(pos);
	free(sel);
	free(path);
	return allowed;
}

int64_t
robots_crawl_delay_ms(const struct robots *r, const char *agent)
{
	int64_t delay = -1;
	bool *sel;

	if (r->kind != KIND_PARSED || r->n_groups == 0)
		return -1;
	sel = xcalloc(r->n_groups, sizeof *sel);
	if (select_groups(r, agent, sel) > 0)
		for (size_t g = 0; g < r->n_groups; g++)
			if (sel[g] && r->groups[g].crawl_delay_ms > delay)
				delay = r->groups[g].crawl_delay_ms;
	free(sel);
	return delay;
}

size_t
robots_sitemap_count(const struct robots *r)
{
	return r->n_sitemaps;
}

const char *
robots_sitemap(const struct robots *r, size_t i)
{
	return i < r->n_sitemaps ? r->sitemaps[i] : NULL;
}

const struct robots_stats *
robots_stats(const struct robots *r)
{
	return &r->stats;
}

char *
robots_url_for(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *out = NULL, *result = NULL;
	bool ok;

	if (u == NULL || url == NULL) {
		curl_url_cleanup(u);
		return NULL;
	}
	ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
	    curl_url_set(u, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_QUERY, NULL, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_PATH, "/robots.txt", 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &out, CURLU_NO_DEFAULT_PORT) == CURLUE_OK;
	if (ok) {
		result = xstrdup(out);
		/* Host names are case-insensitive; one spelling keeps one cache entry per host. */
		char *host = strstr(result, "://");
		for (char *p = host != NULL ? host + 3 : result; *p != '\0' && *p != '/' && *p != ':'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	}
	curl_free(scheme);
	curl_free(out);
	curl_url_cleanup(u);
	return result;
}
