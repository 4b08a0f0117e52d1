/* sources.c: turns a source's configuration into start URLs: URL templates with ranges, sitemaps (plain, index, gzip) and "next page" links. */
#include <config.h>

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <libxml/HTMLparser.h>
#include <libxml/xmlreader.h>
#include <libxml/xpath.h>
#include <zlib.h>

#include "common/util.h"
#include "crawl/sources.h"

#define MAX_BRACES 16
#define MAX_RANGE_DIGITS 18     /* 10^18 - 1 fits an int64_t with room for the difference */
#define MAX_LOC_LEN 2048        /* sitemaps.org: "less than 2,048 characters" */
#define INFLATE_CHUNK ((size_t)64 * 1024)

/* Formats into err (when given); every failure path of this file goes through it. */
static bool fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return false;
	va_start(ap, fmt);
	if (vsnprintf(err, errlen, fmt, ap) < 0)
		err[0] = '\0';
	va_end(ap);
	return false;
}

void
sources_free_urls(char **urls, size_t n)
{
	if (urls == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(urls[i]);
	free(urls);
}

/* ---- URL templates ------------------------------------------------------ */

/* One "{...}" of a template: an integer range or a list of alternatives. */
struct brace {
	size_t start, end;          /* offsets of '{' and one past '}' in the template */
	bool is_range;
	int64_t from, to;
	int width;                  /* zero padding of a range, 0 for none */
	const char *alts;           /* alternatives: the text between the braces, split at ',' */
	size_t n;                   /* number of values */
};

/* Strict unsigned decimal of at most MAX_RANGE_DIGITS digits; *digits gets its length. */
static bool
range_bound(const char *s, size_t len, int64_t *out, size_t *digits)
{
	char buf[MAX_RANGE_DIGITS + 1];

	if (len == 0 || len > MAX_RANGE_DIGITS)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*digits = len;
	return parse_int64(buf, 0, INT64_MAX, out);
}

/* Parses the inside of one brace (text, len); max bounds the values of a range. */
static bool
parse_brace(const char *tmpl, const char *text, size_t len, size_t max, struct brace *b, char *err, size_t errlen)
{
	const char *dots = NULL;
	size_t ldig, rdig;

	for (size_t i = 0; i + 1 < len; i++)
		if (text[i] == '.' && text[i + 1] == '.') {
			dots = text + i;
			break;
		}
	if (dots != NULL && memchr(text, ',', len) == NULL) {
		size_t llen = (size_t)(dots - text), rlen = len - llen - 2;
		uint64_t count;

		if (!range_bound(text, llen, &b->from, &ldig) || !range_bound(dots + 2, rlen, &b->to, &rdig))
			return fail(err, errlen, "URL template %s: malformed range {%.*s} (want {FROM..TO} with "
			    "non-negative integers of at most %d digits)", tmpl, (int)len, text, MAX_RANGE_DIGITS);
		count = (uint64_t)(b->from > b->to ? b->from - b->to : b->to - b->from) + 1;
		if (count > max)
			return fail(err, errlen, "URL template %s: range {%.*s} has %" PRIu64 " values, more than the "
			    "limit of %zu", tmpl, (int)len, text, count, max);
		b->is_range = true;
		b->n = (size_t)count;
		/* bash's rule: a leading zero on either bound pads every value to the wider bound. */
		if ((ldig > 1 && text[0] == '0') || (rdig > 1 && dots[2] == '0'))
			b->width = (int)(ldig > rdig ? ldig : rdig);
		return true;
	}
	if (memchr(text, ',', len) != NULL) {
		b->alts = text;
		b->n = 1;
		for (size_t i = 0; i < len; i++)
			if (text[i] == ',')
				b->n++;
		return true;
	}
	return fail(err, errlen, "URL template %s: malformed brace {%.*s} (want {FROM..TO} or {a,b,c})",
	    tmpl, (int)len, text);
}

/* Finds and parses every brace; *total gets the product of their value counts (at most max). */
static bool
parse_template(const char *tmpl, size_t max, struct brace *braces, size_t *nb, size_t *total, char *err,
    size_t errlen)
{
	size_t i = 0;

	*nb = 0;
	*total = 1;
	while (tmpl[i] != '\0') {
		const char *close;
		struct brace *b;

		if (tmpl[i] == '}')
			return fail(err, errlen, "URL template %s: '}' at offset %zu without a '{'", tmpl, i);
		if (tmpl[i] != '{') {
			i++;
			continue;
		}
		close = strpbrk(tmpl + i + 1, "{}");
		if (close == NULL || *close != '}')
			return fail(err, errlen, "URL template %s: '{' at offset %zu is %s", tmpl, i,
			    close == NULL ? "never closed" : "nested in another brace");
		if (*nb == MAX_BRACES)
			return fail(err, errlen, "URL template %s: more than %d braces", tmpl, MAX_BRACES);
		b = &braces[(*nb)++];
		memset(b, 0, sizeof *b);
		b->start = i;
		b->end = (size_t)(close - tmpl) + 1;
		if (!parse_brace(tmpl, tmpl + i + 1, b->end - i - 2, max, b, err, errlen))
			return false;
		if (b->n > max / *total)
			return fail(err, errlen, "URL template %s expands to more than %zu URLs", tmpl, max);
		*total *= b->n;
		i = b->end;
	}
	return true;
}

/* Appends value k of brace b to out (a buffer of size cap with *len used). */
static void
append_value(const struct brace *b, size_t k, char *out, size_t cap, size_t *len)
{
	if (b->is_range) {
		int64_t v = b->from <= b->to ? b->from + (int64_t)k : b->from - (int64_t)k;
		char num[32];

		(void)pw_snprintf(num, sizeof num, "%0*" PRId64, b->width, v);
		*len += pw_strlcpy(out + *len, num, cap - *len);
		return;
	}
	const char *p = b->alts, *end;
	for (size_t j = 0; j < k; j++)
		p = strchr(p, ',') + 1;
	end = p;
	while (*end != ',' && *end != '}')
		end++;
	memcpy(out + *len, p, (size_t)(end - p));
	*len += (size_t)(end - p);
	out[*len] = '\0';
}

bool
sources_expand_template(const char *tmpl, size_t max, char ***urls, size_t *n, char *err, size_t errlen)
{
	struct brace braces[MAX_BRACES];
	size_t nb, total, cap;

	*urls = NULL;
	*n = 0;
	if (max == 0)
		max = SOURCES_TEMPLATE_MAX;
	if (tmpl == NULL || *tmpl == '\0')
		return fail(err, errlen, "empty URL template");
	if (!parse_template(tmpl, max, braces, &nb, &total, err, errlen))
		return false;
	/* A value is never longer than its brace text or 20 digits: the template plus 20 per brace fits all. */
	cap = strlen(tmpl) + 20 * nb + 1;
	*urls = xcalloc(total, sizeof **urls);
	for (size_t u = 0; u < total; u++) {
		char *out = xmalloc(cap);
		size_t len = 0, lit = 0, rest = u, div = total;

		out[0] = '\0';
		for (size_t j = 0; j < nb; j++) {
			memcpy(out + len, tmpl + lit, braces[j].start - lit);
			len += braces[j].start - lit;
			/* Mixed radix, leftmost brace most significant: {1..2}{a,b} gives 1a 1b 2a 2b. */
			div /= braces[j].n;
			append_value(&braces[j], rest / div, out, cap, &len);
			rest %= div;
			lit = braces[j].end;
		}
		pw_strlcpy(out + len, tmpl + lit, cap - len);
		(*urls)[u] = out;
	}
	*n = total;
	return true;
}

/* ---- sitemaps ----------------------------------------------------------- */

/*
 * Inflates a gzip body into a new buffer (caller frees) of at most cap bytes;
 * a body that would inflate further is refused without allocating more.
 */
static bool
gunzip_capped(const unsigned char *in, size_t len, size_t cap, const char *url, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	z_stream zs;
	size_t size = INFLATE_CHUNK, used = 0;
	unsigned char *buf;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (len > UINT_MAX)
		return fail(err, errlen, "%s: gzip body too large", url);
	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return fail(err, errlen, "%s: cannot start gzip decoding", url);
	buf = xmalloc(size + 1);
	zs.next_in = (unsigned char *)(uintptr_t)in;
	zs.avail_in = (unsigned)len;
	for (;;) {
		if (used == size) {
			if (size >= cap) {
				inflateEnd(&zs);
				free(buf);
				return fail(err, errlen, "%s: gzip body inflates to more than %zu bytes (refused)", url, cap);
			}
			size = size > cap / 2 ? cap : size * 2;
			buf = xreallocarray(buf, size + 1, 1);
		}
		zs.next_out = buf + used;
		zs.avail_out = (unsigned)(size - used);
		rc = inflate(&zs, Z_NO_FLUSH);
		used = size - zs.avail_out;
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK && !(rc == Z_BUF_ERROR && zs.avail_out == 0)) {
			inflateEnd(&zs);
			free(buf);
			return fail(err, errlen, "%s: bad gzip data: %s", url,
			    rc == Z_BUF_ERROR ? "truncated" : zs.msg != NULL ? zs.msg : "corrupt");
		}
	}
	inflateEnd(&zs);
	buf[used] = '\0';
	*out = (char *)buf;
	*outlen = used;
	return true;
}

enum sitemap_kind { SITEMAP_UNKNOWN, SITEMAP_URLSET, SITEMAP_INDEX };

/* The streaming parse: what we are inside of and what we found. */
struct sitemap_state {
	const char *url;
	regex_t re;
	bool has_re;
	size_t max;
	enum sitemap_kind kind;
	char parent[16];            /* local name of the current depth-1 element */
	char *loc;                  /* text of the <loc> being read, capped at MAX_LOC_LEN + 1 */
	size_t loc_len;
	bool loc_bad;               /* entity reference, child element or over-long text inside <loc> */
	char xml_err[200];          /* first libxml2 error, with its line */
	struct sitemap_result *out;
};

static void
on_xml_error(void *arg, xmlErrorPtr e)
{
	struct sitemap_state *s = arg;
	size_t l;

	if (s->xml_err[0] != '\0' || e == NULL)
		return;
	(void)pw_snprintf(s->xml_err, sizeof s->xml_err, "line %d: %s", e->line,
	    e->message != NULL ? e->message : "parse error");
	l = strlen(s->xml_err);
	while (l > 0 && isspace((unsigned char)s->xml_err[l - 1]))
		s->xml_err[--l] = '\0';
}

static char *resolve_link(const char *base, const char *ref);

static void
push(char ***arr, size_t *n, const char *s)
{
	*arr = xreallocarray(*arr, *n + 1, sizeof **arr);
	(*arr)[(*n)++] = xstrdup(s);
}

/* A whole <loc> was read: trim it, judge it, keep it. */
static void
finish_loc(struct sitemap_state *s)
{
	const char *p = s->loc;
	size_t len = s->loc_len;

	while (len > 0 && isspace((unsigned char)*p)) {
		p++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)p[len - 1]))
		len--;
	if (s->loc_bad || len == 0 || len >= MAX_LOC_LEN || memchr(p, '\0', len) != NULL) {
		s->out->skipped++;
		return;
	}
	char *text = xstrndup(p, len), *loc = resolve_link(NULL, text);
	free(text);
	if (loc == NULL)
		s->out->skipped++;
	else if (s->kind == SITEMAP_INDEX)
		push(&s->out->sitemaps, &s->out->n_sitemaps, loc);
	else if (s->has_re && regexec(&s->re, loc, 0, NULL, 0) != 0)
		s->out->filtered++;
	else
		push(&s->out->urls, &s->out->n_urls, loc);
	curl_free(loc);
}

static void
append_loc_text(struct sitemap_state *s, const char *text)
{
	size_t l = text != NULL ? strlen(text) : 0;

	if (s->loc_bad)
		return;
	if (l > MAX_LOC_LEN - s->loc_len) {
		s->loc_bad = true;
		return;
	}
	memcpy(s->loc + s->loc_len, text, l);
	s->loc_len += l;
}

/* Reads the document node by node; a loc is <urlset><url><loc> or <sitemapindex><sitemap><loc>. */
static bool
read_sitemap(xmlTextReaderPtr r, struct sitemap_state *s, char *err, size_t errlen)
{
	bool in_loc = false;
	int rc;

	while ((rc = xmlTextReaderRead(r)) == 1) {
		int type = xmlTextReaderNodeType(r), depth = xmlTextReaderDepth(r);
		const char *name = (const char *)xmlTextReaderConstLocalName(r);

		if (in_loc) {
			if (type == XML_READER_TYPE_END_ELEMENT && depth == 2) {
				in_loc = false;
				finish_loc(s);
			} else if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
			    type == XML_READER_TYPE_WHITESPACE || type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) {
				append_loc_text(s, (const char *)xmlTextReaderConstValue(r));
			} else if (type != XML_READER_TYPE_COMMENT) {
				/* Entity references are never expanded: a loc that needs one is garbage. */
				s->loc_bad = true;
			}
			continue;
		}
		if (type != XML_READER_TYPE_ELEMENT || name == NULL)
			continue;
		if (depth == 0) {
			if (strcmp(name, "urlset") == 0)
				s->kind = SITEMAP_URLSET;
			else if (strcmp(name, "sitemapindex") == 0)
				s->kind = SITEMAP_INDEX;
			else
				return fail(err, errlen, "%s: not a sitemap (root element <%.40s>, want <urlset> or "
				    "<sitemapindex>)", s->url, name);
		} else if (depth == 1) {
			pw_strlcpy(s->parent, name, sizeof s->parent);
		} else if (depth == 2 && strcmp(name, "loc") == 0 &&
		    strcmp(s->parent, s->kind == SITEMAP_INDEX ? "sitemap" : "url") == 0) {
			if (s->max != 0 && s->out->n_urls + s->out->n_sitemaps >= s->max) {
				s->out->truncated = true;
				return true;
			}
			s->loc_len = 0;
			s->loc_bad = false;
			if (xmlTextReaderIsEmptyElement(r) == 1)
				s->out->skipped++;
			else
				in_loc = true;
		}
	}
	if (rc != 0)
		return fail(err, errlen, "%s: not well-formed XML (%s)", s->url,
		    s->xml_err[0] != '\0' ? s->xml_err : "parse error");
	if (s->kind == SITEMAP_UNKNOWN)
		return fail(err, errlen, "%s: empty document, not a sitemap", s->url);
	return true;
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void
xml_init(void)
{
	xmlInitParser();
}

bool
sitemap_parse(const char *body, size_t len, const char *base_url, const char *filter_regex, size_t max_urls,
    struct sitemap_result *out, char *err, size_t errlen)
{
	struct sitemap_state s;
	xmlTextReaderPtr r;
	char *inflated = NULL;
	bool ok;

	memset(out, 0, sizeof *out);
	memset(&s, 0, sizeof s);
	s.url = base_url != NULL ? base_url : "sitemap";
	s.max = max_urls;
	s.out = out;
	if (body == NULL)
		len = 0;
	if (filter_regex != NULL && *filter_regex != '\0') {
		int rc = regcomp(&s.re, filter_regex, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char why[128];
			regerror(rc, &s.re, why, sizeof why);
			return fail(err, errlen, "%s: bad sitemap-filter regex \"%s\": %s", s.url, filter_regex, why);
		}
		s.has_re = true;
	}
	if (len >= 2 && (unsigned char)body[0] == 0x1f && (unsigned char)body[1] == 0x8b) {
		if (!gunzip_capped((const unsigned char *)body, len, SITEMAP_MAX_INFLATED, s.url, &inflated, &len,
		    err, errlen)) {
			ok = false;
			goto done;
		}
		body = inflated;
	}
	if (len == 0 || len > SITEMAP_MAX_INFLATED) {
		ok = fail(err, errlen, "%s: %s", s.url, len == 0 ? "empty body, not a sitemap" :
		    "sitemap larger than 50 MiB (refused)");
		goto done;
	}
	pthread_once(&xml_once, xml_init);
	/* No XML_PARSE_NOENT / DTDLOAD: entities stay unexpanded references; NONET: nothing is fetched. */
	r = xmlReaderForMemory(body, (int)len, s.url, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	if (r == NULL) {
		ok = fail(err, errlen, "%s: cannot start the XML parser", s.url);
		goto done;
	}
	xmlTextReaderSetStructuredErrorHandler(r, on_xml_error, &s);
	s.loc = xmalloc(MAX_LOC_LEN + 1);
	ok = read_sitemap(r, &s, err, errlen);
	xmlFreeTextReader(r);
	free(s.loc);
done:
	free(inflated);
	if (s.has_re)
		regfree(&s.re);
	if (!ok)
		sitemap_result_free(out);
	return ok;
}

void
sitemap_result_free(struct sitemap_result *r)
{
	if (r == NULL)
		return;
	sources_free_urls(r->urls, r->n_urls);
	sources_free_urls(r->sitemaps, r->n_sitemaps);
	memset(r, 0, sizeof *r);
}

/* ---- next page ---------------------------------------------------------- */

static void
quiet_xpath_error(void *arg, xmlErrorPtr e)
{
	char *why = arg;

	if (why[0] == '\0' && e != NULL && e->message != NULL) {
		size_t l;
		(void)pw_snprintf(why, 128, "%s", e->message);
		l = strlen(why);
		while (l > 0 && isspace((unsigned char)why[l - 1]))
			why[--l] = '\0';
	}
}

/* Whitespace-trimmed copy of an xmlChar string (caller frees), NULL when empty. */
static char *
trimmed(const xmlChar *x)
{
	const char *s = (const char *)x;
	size_t len;

	if (s == NULL)
		return NULL;
	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	return len > 0 ? xstrndup(s, len) : NULL;
}

/* The link a node stands for: an attribute's value, an element's href (else its text), a text node. */
static char *
node_link(xmlNodePtr node)
{
	xmlChar *v = NULL;
	char *out;

	if (node->type == XML_ELEMENT_NODE)
		v = xmlGetProp(node, (const xmlChar *)"href");
	if (v == NULL)
		v = xmlNodeGetContent(node);
	out = trimmed(v);
	xmlFree(v);
	return out;
}

/* First result of the XPath as link text (caller frees); NULL with err set when nothing usable. */
static char *
eval_link(xmlXPathContextPtr ctx, const char *xpath, const char *url, char *err, size_t errlen)
{
	char why[128] = "";
	xmlXPathCompExprPtr comp;
	xmlXPathObjectPtr o;
	char *link = NULL;

	ctx->error = quiet_xpath_error;
	ctx->userData = why;
	comp = xmlXPathCtxtCompile(ctx, (const xmlChar *)xpath);
	if (comp == NULL) {
		fail(err, errlen, "next-page XPath \"%s\" is invalid: %s", xpath, why[0] != '\0' ? why : "syntax error");
		return NULL;
	}
	o = xmlXPathCompiledEval(comp, ctx);
	xmlXPathFreeCompExpr(comp);
	if (o == NULL)
		fail(err, errlen, "next-page XPath \"%s\" failed on %s: %s", xpath, url, why[0] != '\0' ? why : "error");
	else if (o->type == XPATH_NODESET && o->nodesetval != NULL && o->nodesetval->nodeNr > 0)
		link = node_link(o->nodesetval->nodeTab[0]);
	else if (o->type == XPATH_STRING)
		link = trimmed(o->stringval);
	if (o != NULL && link == NULL)
		fail(err, errlen, "%s: next-page XPath \"%s\" found nothing", url, xpath);
	xmlXPathFreeObject(o);
	return link;
}

/*
 * Resolves ref against base (NULL: ref must be absolute) with curl's URL parser,
 * the one that will fetch it: spaces get encoded, the fragment is dropped.
 * Returns a curl-allocated string (curl_free), NULL when the result is not an
 * absolute http(s) URL with a host.
 */
static char *
resolve_link(const char *base, const char *ref)
{
	CURLU *u = curl_url();
	char *out = NULL, *scheme = NULL, *host = NULL;
	/* curl resolves "#x" like a path ("/dir/"); RFC 3986 says it is the base itself. */
	char *own = xstrndup(ref, strcspn(ref, "#"));

	if (u == NULL) {
		free(own);
		return NULL;
	}
	if ((base == NULL || curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK) &&
	    (*own == '\0' ? base != NULL : curl_url_set(u, CURLUPART_URL, own, CURLU_URLENCODE) == CURLUE_OK) &&
	    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) && *host != '\0')
		(void)curl_url_get(u, CURLUPART_URL, &out, 0);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	free(own);
	return out;
}

/* The page's own URL as curl writes it, for comparing with links (curl-allocated; NULL if unparsable). */
static char *
canonical(const char *url)
{
	return resolve_link(url, url);
}

/* The document's <base href> resolved against url (curl-allocated), else NULL: use url itself. */
static char *
document_base(xmlXPathContextPtr ctx, const char *url)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)"(//base[@href])[1]/@href", ctx);
	char *href = NULL, *base = NULL;

	if (o != NULL && o->type == XPATH_NODESET && o->nodesetval != NULL && o->nodesetval->nodeNr > 0)
		href = node_link(o->nodesetval->nodeTab[0]);
	xmlXPathFreeObject(o);
	if (href != NULL)
		base = resolve_link(url, href);
	free(href);
	return base;
}

char *
sources_next_page(const char *html, size_t len, const char *base_url, const char *xpath, char *err, size_t errlen)
{
	htmlDocPtr doc;
	xmlXPathContextPtr ctx;
	char *link, *out = NULL;

	if (html == NULL || len == 0 || len > INT_MAX || base_url == NULL || xpath == NULL || *xpath == '\0') {
		fail(err, errlen, "%s: no page or no next-page XPath", base_url != NULL ? base_url : "next page");
		return NULL;
	}
	pthread_once(&xml_once, xml_init);
	doc = htmlReadMemory(html, (int)len, base_url, NULL,
	    HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING);
	if (doc == NULL) {
		fail(err, errlen, "%s: cannot parse the page as HTML", base_url);
		return NULL;
	}
	ctx = xmlXPathNewContext(doc);
	if (ctx == NULL) {
		xmlFreeDoc(doc);
		fail(err, errlen, "%s: out of memory for XPath", base_url);
		return NULL;
	}
	link = eval_link(ctx, xpath, base_url, err, errlen);
	if (link != NULL) {
		char *base = document_base(ctx, base_url), *self = canonical(base_url);
		char *abs = resolve_link(base != NULL ? base : base_url, link);

		if (abs == NULL) {
			fail(err, errlen, "%s: next-page link \"%.200s\" is not an http(s) URL", base_url, link);
		} else if (self != NULL && strcmp(abs, self) == 0) {
			/* Last pages often link "next" to themselves: following it would loop until max-pages. */
			fail(err, errlen, "%s: next-page link points to the page itself (last page)", base_url);
		} else {
			out = xstrdup(abs);
		}
		curl_free(abs);
		curl_free(self);
		curl_free(base);
		free(link);
	}
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return out;
}
