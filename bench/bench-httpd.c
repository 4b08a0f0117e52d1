/* bench-httpd.c: a fast local HTTP server (libmicrohttpd, thread pool) serving N synthetic product pages, robots.txt, a sitemap and a URL list for the crawl benchmark. */
#include <config.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/util.h"

#define DEFAULT_PAGES 10000
#define DEFAULT_THREADS 4
#define MAX_PAGES 10000000
#define FILLER_SIZE (36 * 1024)
#define FILLER_MIN (18 * 1024)     /* pages come out between about 20 and 40 KiB */
#define RELATED 24

struct bench {
	int64_t pages;
	char base[64];              /* "http://127.0.0.1:PORT" */
	char *filler;               /* FILLER_SIZE bytes of product description markup, built once */
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Deterministic description text so every run serves the same bytes. */
static char *
make_filler(void)
{
	static const char *const words[] = { "steel", "cordless", "drill", "battery", "torque", "chuck", "keyless",
		"brushless", "motor", "warranty", "carbon", "handle", "grip", "LED", "light", "speed", "gearbox",
		"compact", "professional", "charger", "case", "bits", "included", "lithium", "ion", "ergonomic" };
	char *f = xmalloc(FILLER_SIZE + 1);
	size_t used = 0;
	uint32_t x = 2463534242u;

	while (used < FILLER_SIZE) {
		const char *w;
		size_t l;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		w = (x % 53 == 0) ? "</p>\n<p>" : words[x % (sizeof words / sizeof words[0])];
		l = strlen(w);
		if (l + 1 > FILLER_SIZE - used)
			break;
		memcpy(f + used, w, l);
		used += l;
		f[used++] = ' ';
	}
	memset(f + used, ' ', FILLER_SIZE - used);
	f[FILLER_SIZE] = '\0';
	return f;
}

/* The price of page i in cents: varies with i, always 10.00 to 909.99. */
static int64_t
price_cents(int64_t i)
{
	return 1000 + (i * 7919) % 90000;
}

/* Appends to a growing buffer (*buf of *cap bytes, *len used). */
static void
append(char **buf, size_t *cap, size_t *len, const char *s, size_t n)
{
	if (n + 1 > *cap - *len) {
		size_t want = *cap * 2 > *len + n + 1 ? *cap * 2 : *len + n + 1;
		*buf = xreallocarray(*buf, want, 1);
		*cap = want;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static void
appendf(char **buf, size_t *cap, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
appendf(char **buf, size_t *cap, size_t *len, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		append(buf, cap, len, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A realistic product page: head with JSON-LD, nav, description, related links. Caller frees. */
static char *
product_page(const struct bench *b, int64_t i, size_t *len)
{
	static const char *const avail[] = { "InStock", "InStock", "InStock", "OutOfStock", "PreOrder" };
	size_t cap = 48 * 1024, flen = FILLER_MIN + (size_t)((i * 977) % (FILLER_SIZE - FILLER_MIN));
	int64_t p = price_cents(i);
	char *buf = xmalloc(cap);

	/* Cut the description at a space: never inside a tag (the filler's tags hold no spaces). */
	while (flen > 0 && b->filler[flen - 1] != ' ')
		flen--;

	*len = 0;
	buf[0] = '\0';
	appendf(&buf, &cap, len,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	    "<title>Cordless drill model %" PRId64 " | Bench Tools</title>\n"
	    "<link rel=\"canonical\" href=\"%s/p/%" PRId64 "\">\n"
	    "<meta property=\"og:title\" content=\"Cordless drill model %" PRId64 "\">\n", i, b->base, i, i);
	appendf(&buf, &cap, len,
	    "<script type=\"application/ld+json\">{\"@context\":\"https://schema.org\",\"@type\":\"Product\","
	    "\"name\":\"Cordless drill model %" PRId64 "\",\"sku\":\"BENCH-%06" PRId64 "\",\"brand\":{\"@type\":\"Brand\","
	    "\"name\":\"Bench Tools\"},\"image\":\"%s/img/%" PRId64 ".jpg\",\"offers\":{\"@type\":\"Offer\","
	    "\"price\":\"%" PRId64 ".%02" PRId64 "\",\"priceCurrency\":\"EUR\","
	    "\"availability\":\"https://schema.org/%s\",\"url\":\"%s/p/%" PRId64 "\"}}</script>\n",
	    i, i, b->base, i, p / 100, p % 100, avail[i % 5], b->base, i);
	appendf(&buf, &cap, len,
	    "</head><body>\n<header><nav><a href=\"/\">Home</a> &rsaquo; <a href=\"/c/drills\">Drills</a></nav>"
	    "</header>\n<main><h1>Cordless drill model %" PRId64 "</h1>\n"
	    "<div class=\"price\"><span class=\"amount\">%" PRId64 ",%02" PRId64 "&nbsp;&euro;</span></div>\n"
	    "<p class=\"desc\">", i, p / 100, p % 100);
	append(&buf, &cap, len, b->filler, flen);
	append(&buf, &cap, len, "</p>\n<h2>Related</h2><ul class=\"related\">\n", 45);
	for (int k = 1; k <= RELATED; k++) {
		int64_t j = (i + (int64_t)k * 131) % b->pages;
		appendf(&buf, &cap, len, "<li><a href=\"/p/%" PRId64 "\">Cordless drill model %" PRId64 "</a></li>\n", j, j);
	}
	append(&buf, &cap, len, "</ul></main>\n<footer>Bench Tools &copy; 2026</footer></body></html>\n", 67);
	return buf;
}

/* One line "<before>BASE/p/<i><after>" per page (at most limit) between head and tail. Caller frees. */
static char *
page_list(const struct bench *b, const char *head, const char *before, const char *after, const char *tail,
    int64_t limit, size_t *len)
{
	size_t cap = (size_t)b->pages * 64 + 256;
	char *buf = xmalloc(cap);

	*len = 0;
	buf[0] = '\0';
	append(&buf, &cap, len, head, strlen(head));
	for (int64_t i = 0; i < b->pages && i < limit; i++)
		appendf(&buf, &cap, len, "%s%s/p/%" PRId64 "%s\n", before, b->base, i, after);
	append(&buf, &cap, len, tail, strlen(tail));
	return buf;
}

/* "http://127.0.0.1:PORT/p/0\n..." for every page. Caller frees. */
static char *
url_list(const struct bench *b, size_t *len)
{
	return page_list(b, "", "", "", "", MAX_PAGES, len);
}

/* sitemaps.org allows 50,000 URLs per file. Caller frees. */
static char *
sitemap(const struct bench *b, size_t *len)
{
	return page_list(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
	    "<url><loc>", "</loc></url>", "</urlset>\n", 50000, len);
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len, const char *etag)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (etag != NULL)
		(void)MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Page index from "/p/<i>", -1 when the path is not one of ours. */
static int64_t
page_index(const struct bench *b, const char *url)
{
	int64_t i;

	if (strncmp(url, "/p/", 3) != 0 || !parse_int64(url + 3, 0, b->pages - 1, &i))
		return -1;
	return i;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_size, void **state)
{
	const struct bench *b = cls;
	size_t len;
	char *body;
	int64_t i;

	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)state;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", xstrdup("GET only\n"), 9, NULL);
	if ((i = page_index(b, url)) >= 0) {
		char etag[40];
		const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);

		(void)pw_snprintf(etag, sizeof etag, "\"p%" PRId64 "-%" PRId64 "\"", i, price_cents(i));
		if (inm != NULL && strcmp(inm, etag) == 0)
			return reply(c, MHD_HTTP_NOT_MODIFIED, "text/html; charset=utf-8", xstrdup(""), 0, etag);
		body = product_page(b, i, &len);
		return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", body, len, etag);
	}
	if (strcmp(url, "/robots.txt") == 0) {
		body = xasprintf("User-agent: *\nDisallow: /private/\nAllow: /\n\nSitemap: %s/sitemap.xml\n", b->base);
		return reply(c, MHD_HTTP_OK, "text/plain", body, strlen(body), NULL);
	}
	if (strcmp(url, "/urls.txt") == 0) {
		body = url_list(b, &len);
		return reply(c, MHD_HTTP_OK, "text/plain", body, len, NULL);
	}
	if (strcmp(url, "/sitemap.xml") == 0) {
		body = sitemap(b, &len);
		return reply(c, MHD_HTTP_OK, "application/xml", body, len, NULL);
	}
	return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", xstrdup("not found\n"), 10, NULL);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench-httpd [--port N] [--pages N] [--threads N] [--urls-file PATH]\n"
	    "  serves /p/0 .. /p/N-1, /robots.txt, /sitemap.xml and /urls.txt on 127.0.0.1 until SIGINT/SIGTERM;\n"
	    "  --port 0 (the default) lets the kernel choose; the first line on stdout names the base URL.\n");
	exit(2);
}

static int64_t
int_arg(const char *flag, const char *v, int64_t min, int64_t max)
{
	int64_t out;

	if (v == NULL || !parse_int64(v, min, max, &out)) {
		fprintf(stderr, "bench-httpd: %s wants an integer from %" PRId64 " to %" PRId64 "\n", flag, min, max);
		usage();
	}
	return out;
}

static bool
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (f == NULL)
		return false;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

int
main(int argc, char **argv)
{
	struct bench b = { .pages = DEFAULT_PAGES };
	int64_t port = 0, threads = DEFAULT_THREADS;
	const char *urls_file = NULL;
	struct sockaddr_in sa;
	socklen_t salen = sizeof sa;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--port") == 0)
			port = int_arg(argv[i], v, 0, 65535);
		else if (strcmp(argv[i], "--pages") == 0)
			b.pages = int_arg(argv[i], v, 1, MAX_PAGES);
		else if (strcmp(argv[i], "--threads") == 0)
			threads = int_arg(argv[i], v, 1, 256);
		else if (strcmp(argv[i], "--urls-file") == 0 && v != NULL)
			urls_file = v;
		else
			usage();
		i++;
	}
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	b.filler = make_filler();
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, (uint16_t)port, NULL, NULL,
	    handle, &b, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)4000,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
	    MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "bench-httpd: cannot listen on 127.0.0.1:%" PRId64 "\n", port);
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
	if (info == NULL || getsockname(info->listen_fd, (struct sockaddr *)&sa, &salen) != 0) {
		fprintf(stderr, "bench-httpd: cannot read the listening port\n");
		MHD_stop_daemon(d);
		return 1;
	}
	(void)pw_snprintf(b.base, sizeof b.base, "http://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	if (urls_file != NULL) {
		size_t len;
		char *list = url_list(&b, &len);
		bool ok = write_file(urls_file, list, len);
		free(list);
		if (!ok) {
			fprintf(stderr, "bench-httpd: cannot write %s\n", urls_file);
			MHD_stop_daemon(d);
			return 1;
		}
	}
	printf("%s %" PRId64 " pages, %" PRId64 " threads\n", b.base, b.pages, threads);
	fflush(stdout);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!stop)
		pause();
	MHD_stop_daemon(d);
	free(b.filler);
	return 0;
}
