/* cmd-crawl.c: "pricewatch crawl SOURCE --once": one crawl of a source in the foreground with the daemon's engine, then what was found. */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "common/log.h"
#include "common/util.h"
#include "crawl/fetch.h"
#include "daemon/crawler.h"

static int cmd_crawl_exec(struct cli_ctx *ctx, int argc, char **argv);

const struct cmd_entry cmd_crawl_entry = {
	.name = "crawl",
	.alias = NULL,
	.usage = "SOURCE --once [--dry-run] [--json]",
	.summary = "crawl one source now, in the foreground, and show what was found",
	.help =
	    "Runs one crawl of SOURCE (a [source] of the configuration) with the daemon's\n"
	    "engine: robots.txt, per-host limits and delays, retries, SSRF guard, start URL\n"
	    "templates, sitemaps and next-page links. No daemon is needed. A progress bar\n"
	    "is drawn on a terminal; otherwise one line per URL is printed as it completes.\n"
	    "Then the listings found and every URL that failed, with the reason.\n"
	    "Options:\n"
	    "      --once      one crawl, then exit (the only mode; the daemon crawls on schedule)\n"
	    "  -n, --dry-run   store nothing: no observations, no HTTP caches in Redis\n"
	    "      --json      JSON: source, ok, pages (url, kind, outcome, status, listings,\n"
	    "                  error) and listings (id, url, title, price, currency, availability)\n"
	    "  -h, --help      show this help\n"
	    "Exit status: 0 every URL fetched and every listing stored, 1 unknown source,\n"
	    "2 usage error, 3 Redis unreachable, 4 some URL failed or a listing was not stored.\n",
	.exec = cmd_crawl_exec,
};

enum { OPT_ONCE = 256 };

static const struct option crawl_options[] = {
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* One URL's result, kept for the summary. */
struct page_line {
	char *url, *error;
	const char *kind;          /* static */
	enum crawl_outcome outcome;
	long status;
	size_t listings;
};

struct found {
	char *id, *url, *title, *availability;
	char price[48], currency[8];
};

/* What the watch callbacks collect while the crawl runs. */
struct crawl_view {
	struct cli_ctx *ctx;
	struct progress prog;
	bool plain_lines;          /* print a line per URL as it completes (not a tty, not JSON) */
	struct page_line *pages;
	size_t n_pages;
	struct found *found;
	size_t n_found;
	size_t failed;
};

static volatile sig_atomic_t crawl_stop;

static void
on_sigint(int sig)
{
	(void)sig;
	crawl_stop = 1;
}

static bool
outcome_failed(enum crawl_outcome o)
{
	return o != CRAWL_OK && o != CRAWL_NOT_MODIFIED;
}

static void
print_page_line(FILE *f, const struct page_line *p)
{
	char *url = out_display_clip(p->url, 0);

	if (outcome_failed(p->outcome)) {
		char *err = out_display_clip(p->error != NULL ? p->error : "", 0);

		fprintf(f, "%-16s %s %s\n", crawl_outcome_name(p->outcome), p->kind, err);
		free(err);
	} else
		fprintf(f, "%-16s %s %s (%zu %s)\n", crawl_outcome_name(p->outcome), p->kind, url, p->listings,
		    strcmp(p->kind, "sitemap") == 0 ? "URL(s)" : "listing(s)");
	free(url);
}

static void
watch_page(void *arg, const struct crawler_page_report *r)
{
	struct crawl_view *v = arg;
	struct page_line *p;

	v->pages = xreallocarray(v->pages, v->n_pages + 1, sizeof(*v->pages));
	p = &v->pages[v->n_pages++];
	p->url = xstrdup(r->url);
	p->error = r->error != NULL && r->error[0] != '\0' ? xstrdup(r->error) : NULL;
	p->kind = strcmp(r->kind, "sitemap") == 0 ? "sitemap" : strcmp(r->kind, "image") == 0 ? "image" : "page";
	p->outcome = r->outcome;
	p->status = r->status;
	p->listings = r->listings;
	if (outcome_failed(r->outcome))
		v->failed++;
	if (v->plain_lines)
		print_page_line(v->ctx->out, p);
	progress_step(&v->prog, r->url);
}

static void
watch_listing(void *arg, const struct observation *obs)
{
	struct crawl_view *v = arg;
	struct found *f;

	v->found = xreallocarray(v->found, v->n_found + 1, sizeof(*v->found));
	f = &v->found[v->n_found++];
	memset(f, 0, sizeof(*f));
	f->id = xstrdup(obs->listing_id);
	f->url = xstrdup(obs->url != NULL ? obs->url : "");
	f->title = obs->title != NULL ? xstrdup(obs->title) : NULL;
	f->availability = xstrdup(availability_name(obs->availability));
	out_money(&obs->price, f->price, sizeof(f->price));
	pw_strlcpy(f->currency, obs->price.currency, sizeof(f->currency));
}

static void
view_free(struct crawl_view *v)
{
	for (size_t i = 0; i < v->n_pages; i++) {
		free(v->pages[i].url);
		free(v->pages[i].error);
	}
	for (size_t i = 0; i < v->n_found; i++) {
		free(v->found[i].id);
		free(v->found[i].url);
		free(v->found[i].title);
		free(v->found[i].availability);
	}
	free(v->pages);
	free(v->found);
}

static void
print_json(const struct crawl_view *v, const char *source, bool ok, bool dry_run)
{
	struct json_object *root = json_object_new_object(), *pages = json_object_new_array();
	struct json_object *listings = json_object_new_array();

	out_json_add_str(root, "source", source);
	json_object_object_add(root, "ok", json_object_new_boolean(ok));
	json_object_object_add(root, "dry_run", json_object_new_boolean(dry_run));
	for (size_t i = 0; i < v->n_pages; i++) {
		const struct page_line *p = &v->pages[i];
		struct json_object *o = json_object_new_object();

		out_json_add_str(o, "url", p->url);
		out_json_add_str(o, "kind", p->kind);
		out_json_add_str(o, "outcome", crawl_outcome_name(p->outcome));
		json_object_object_add(o, "status", json_object_new_int64(p->status));
		json_object_object_add(o, "listings", json_object_new_int64((int64_t)p->listings));
		out_json_add_str(o, "error", p->error);
		json_object_array_add(pages, o);
	}
	for (size_t i = 0; i < v->n_found; i++) {
		const struct found *f = &v->found[i];
		struct json_object *o = json_object_new_object();

		out_json_add_str(o, "id", f->id);
		out_json_add_str(o, "url", f->url);
		out_json_add_str(o, "title", f->title);
		/* The price stays decimal text: a double never holds a price. */
		out_json_add_str(o, "price", f->price);
		out_json_add_str(o, "currency", f->currency);
		out_json_add_str(o, "availability", f->availability);
		json_object_array_add(listings, o);
	}
	json_object_object_add(root, "pages", pages);
	json_object_object_add(root, "listings", listings);
	out_json_print(v->ctx->out, root);
}

static int
found_cmp(const void *a, const void *b)
{
	return strcmp(((const struct found *)a)->id, ((const struct found *)b)->id);
}

static void
print_summary(const struct crawl_view *v, bool dry_run)
{
	static const char *const headers[] = { "LISTING", "PRICE", "AVAILABILITY", "TITLE" };
	static const enum out_align align[] = { OUT_LEFT, OUT_RIGHT, OUT_LEFT, OUT_LEFT };
	FILE *f = v->ctx->out;
	struct out_table t;

	if (v->n_found > 0) {
		out_table_init(&t, 4, headers, align);
		for (size_t i = 0; i < v->n_found; i++) {
			const struct found *x = &v->found[i];
			char price[64];
			const char *row[4];

			if (x->price[0] != '\0')
				(void)pw_snprintf(price, sizeof(price), "%s %s", x->price, x->currency);
			else
				(void)pw_snprintf(price, sizeof(price), "-");
			row[0] = x->id;
			row[1] = price;
			row[2] = x->availability;
			row[3] = x->title;
			out_table_add(&t, row);
		}
		out_table_print(f, &t, out_terminal_width(fileno(f)));
		out_table_free(&t);
	}
	if (v->failed > 0 && !v->plain_lines) {
		fprintf(f, "errors:\n");
		for (size_t i = 0; i < v->n_pages; i++)
			if (outcome_failed(v->pages[i].outcome))
				print_page_line(f, &v->pages[i]);
	}
	fprintf(f, "%zu URL(s) fetched, %zu failed, %zu listing(s) found%s\n", v->n_pages - v->failed, v->failed,
	    v->n_found, dry_run ? " (dry run: nothing stored)" : "");
}

static int
cmd_crawl_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	struct crawl_view v;
	struct crawler_watch w = { .page = watch_page, .listing = watch_listing };
	struct sigaction sa, old_sa;
	struct crawler *crawler;
	enum log_level old_level;
	const char *source;
	bool dry_run = false, ok;
	char err[512];
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":nh", crawl_options, NULL)) != -1) {
		switch (c) {
		case OPT_ONCE:
			break;     /* the only mode, accepted so that scripts say what they mean */
		case 'n':
			dry_run = true;
			break;
		default:
			if ((rc = cli_common_option(ctx, &cmd_crawl_entry, c, argv)) >= 0)
				return rc;
		}
	}
	if (argc - optind < 1)
		return cli_usage_error(ctx, &cmd_crawl_entry, "no source given");
	if (argc - optind > 1)
		return cli_usage_error(ctx, &cmd_crawl_entry, "one source at a time (got %d)", argc - optind);
	source = argv[optind];
	if ((rc = cli_resolve(ctx)) != CLI_EXIT_OK)
		return rc;
	if (config_find_source(&ctx->cfg, source) == NULL) {
		cli_error(ctx, "no source \"%s\" in %s", source, ctx->cfg.path != NULL ? ctx->cfg.path : "the configuration");
		return CLI_EXIT_NOT_FOUND;
	}
	if (!dry_run && (rc = cli_store_open(ctx)) != CLI_EXIT_OK)
		return rc;
	if (!fetch_global_init()) {
		cli_error(ctx, "cannot initialise libcurl");
		return CLI_EXIT_ERROR;
	}

	memset(&v, 0, sizeof(v));
	v.ctx = ctx;
	v.plain_lines = ctx->format != CLI_FORMAT_JSON && !isatty(fileno(ctx->err));
	progress_start(&v.prog, ctx->err, source, 0, ctx->format == CLI_FORMAT_JSON ? 0 : -1);
	w.arg = &v;
	/* Per-URL problems are reported below, with the URL; the log would say them twice. */
	old_level = log_get_level();
	log_set_level(LOG_LEVEL_ERROR);
	crawl_stop = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, &old_sa);

	crawler = crawler_new(&ctx->cfg);
	ok = crawler_crawl_source(crawler, dry_run ? NULL : ctx->store, source, &w, &crawl_stop, err, sizeof(err));
	crawler_free(crawler);
	fetch_global_cleanup();

	(void)sigaction(SIGINT, &old_sa, NULL);
	log_set_level(old_level);
	progress_done(&v.prog);
	/* Pages complete in any order; the listings read better by id. */
	if (v.n_found > 1)
		qsort(v.found, v.n_found, sizeof(*v.found), found_cmp);
	if (ctx->format == CLI_FORMAT_JSON)
		print_json(&v, source, ok, dry_run);
	else
		print_summary(&v, dry_run);
	if (!ok && crawl_stop)
		cli_error(ctx, "%s: interrupted", source);
	else if (!ok && v.failed == 0)
		cli_error(ctx, "%s: %s", source, err);
	view_free(&v);
	return ok ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}
