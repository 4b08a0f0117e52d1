/* cmd-extract.c: "pricewatch extract": every listing the extractors find in a saved page, and which extractor found each field. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/config.h"
#include "common/money.h"
#include "common/util.h"
#include "extract/extract.h"
#include "store/store.h"

/* Read at most this much (one byte over extract's own 32 MiB cap, so it can say "too large"). */
#define EXTRACT_READ_MAX ((size_t)32 * 1024 * 1024 + 1)

static int cmd_extract_exec(struct cli_ctx *ctx, int argc, char **argv);

const struct cmd_entry cmd_extract_entry = {
	.name = "extract",
	.alias = NULL,
	.usage = "[--url URL] [--source NAME] [--currency CUR] [--json] FILE|-",
	.summary = "show the listings found in a saved page, and which extractor found each field",
	.help =
	    "Runs the same extractors as the crawler (source rules > JSON-LD > microdata/RDFa >\n"
	    "OpenGraph > heuristic) on a saved HTML page (FILE, or - for standard input) and\n"
	    "prints every listing, naming the extractor that filled each field: the tool for\n"
	    "writing a source's *-xpath rules.\n"
	    "Options:\n"
	    "  -u, --url URL         the page's URL: relative links resolve against it\n"
	    "  -s, --source NAME     use this [source]'s XPath rules, currency and decimal separator\n"
	    "                        from the configuration (-c FILE); the first URL is the default --url\n"
	    "  -C, --currency CUR    default currency when the page names none (wins over --source)\n"
	    "      --json            JSON: an array of listings (title, price, currency, price_high,\n"
	    "                        list_price, availability, sku, gtin, mpn, brand, image, url, seller,\n"
	    "                        extractor, listing_id, sources)\n"
	    "  -h, --help            show this help\n"
	    "Exit status 1 when the page holds no listing, 4 when it cannot be read.\n",
	.exec = cmd_extract_exec,
};

static const struct option extract_options[] = {
	{ "url", required_argument, NULL, 'u' },
	{ "source", required_argument, NULL, 's' },
	{ "currency", required_argument, NULL, 'C' },
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The schema.org short name of an availability ("InStock"), or NULL when unknown. */
static const char *
schema_availability(enum availability a)
{
	switch (a) {
	case AVAIL_IN_STOCK: return "InStock";
	case AVAIL_OUT_OF_STOCK: return "OutOfStock";
	case AVAIL_PREORDER: return "PreOrder";
	case AVAIL_BACKORDER: return "BackOrder";
	case AVAIL_LIMITED: return "LimitedAvailability";
	case AVAIL_DISCONTINUED: return "Discontinued";
	case AVAIL_UNKNOWN: break;
	}
	return NULL;
}

static struct json_object *
json_money(const struct money *m)
{
	char buf[64];

	if (m->currency[0] == '\0' || !money_format_decimal(m, buf, sizeof buf))
		return NULL;
	return json_object_new_string(buf);
}

/*
 * The id the crawler stores this listing under for --source (SKU or GTIN, else the
 * normalised URL); NULL without a source or an identity.
 */
static const char *
listing_id(const char *source, const struct extract_record *r, char *buf, size_t buflen)
{
	if (source == NULL || !store_listing_id(source, r->sku, r->gtin, r->url, buf, buflen))
		return NULL;
	return buf;
}

static void
print_json(struct cli_ctx *ctx, const struct extract_result *res, const char *source)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < res->n_records; i++) {
		const struct extract_record *r = &res->records[i];
		char id[512];
		struct json_object *o = json_object_new_object(), *src = json_object_new_object();
		const char *avail = schema_availability(r->availability);

		json_object_object_add(o, "title", out_json_str(r->title));
		json_object_object_add(o, "price", json_money(&r->price));
		out_json_add_str(o, "currency", r->price.currency);
		json_object_object_add(o, "price_high", json_money(&r->price_high));
		json_object_object_add(o, "list_price", json_money(&r->list_price));
		json_object_object_add(o, "availability", out_json_str(avail));
		json_object_object_add(o, "sku", out_json_str(r->sku));
		json_object_object_add(o, "gtin", out_json_str(r->gtin));
		json_object_object_add(o, "mpn", out_json_str(r->mpn));
		json_object_object_add(o, "brand", out_json_str(r->brand));
		json_object_object_add(o, "image", out_json_str(r->image_url));
		json_object_object_add(o, "url", out_json_str(r->url));
		json_object_object_add(o, "seller", out_json_str(r->seller));
		json_object_object_add(o, "extractor", out_json_str(r->extractor));
		json_object_object_add(o, "listing_id", out_json_str(listing_id(source, r, id, sizeof id)));
		for (int f = 0; f < EXTRACT_F_COUNT; f++)
			if (r->source[f] != NULL)
				json_object_object_add(src, extract_field_name((enum extract_field)f),
				    out_json_str(r->source[f]));
		json_object_object_add(o, "sources", src);
		json_object_array_add(arr, o);
	}
	out_json_print(ctx->out, arr);
}

/* One "  field  value  (extractor)" line; values are made terminal-safe. */
static void
print_field(struct cli_ctx *ctx, const char *name, const char *value, const char *source, const char *main)
{
	char *safe;

	if (value == NULL) {
		fprintf(ctx->out, "  %-13s -\n", name);
		return;
	}
	safe = out_display_clip(value, 0);
	/* The extractor is named only where it is not the record's own, to keep the output quiet. */
	if (source != NULL && main != NULL && strcmp(source, main) != 0)
		fprintf(ctx->out, "  %-13s %s   (from %s)\n", name, safe, source);
	else
		fprintf(ctx->out, "  %-13s %s\n", name, safe);
	free(safe);
}

/* "19.99 EUR", "19.99 - 29.99 EUR" into buf; "" when there is no price. */
static void
format_price(const struct money *low, const struct money *high, char *buf, size_t buflen)
{
	char h[64];
	size_t l;

	buf[0] = '\0';
	if (low->currency[0] == '\0' || !money_format_decimal(low, buf, buflen)) {
		buf[0] = '\0';
		return;
	}
	l = strlen(buf);
	if (high != NULL && high->currency[0] != '\0' && money_format_decimal(high, h, sizeof h))
		pw_snprintf(buf + l, buflen - l, " - %s", h);
	l = strlen(buf);
	pw_snprintf(buf + l, buflen - l, " %s", low->currency);
}

static void
print_text(struct cli_ctx *ctx, const struct extract_result *res, const char *source)
{
	for (size_t i = 0; i < res->n_records; i++) {
		const struct extract_record *r = &res->records[i];
		const char *main = r->source[EXTRACT_F_TITLE] != NULL ? r->source[EXTRACT_F_TITLE] :
		    r->source[EXTRACT_F_PRICE];
		char price[96], list[96], id[512];
		char *title = out_display_clip(r->title != NULL ? r->title : "(no title)", 0);

		format_price(&r->price, &r->price_high, price, sizeof price);
		format_price(&r->list_price, NULL, list, sizeof list);
		fprintf(ctx->out, "%s%zu. %s  [%s]\n", i > 0 ? "\n" : "", i + 1, title, r->extractor);
		free(title);
		print_field(ctx, "price", price[0] ? price : NULL, r->source[EXTRACT_F_PRICE], main);
		if (list[0] != '\0')
			print_field(ctx, "list price", list, r->source[EXTRACT_F_LIST_PRICE], main);
		print_field(ctx, "availability", schema_availability(r->availability),
		    r->source[EXTRACT_F_AVAILABILITY], main);
		print_field(ctx, "sku", r->sku, r->source[EXTRACT_F_SKU], main);
		print_field(ctx, "gtin", r->gtin, r->source[EXTRACT_F_GTIN], main);
		print_field(ctx, "mpn", r->mpn, r->source[EXTRACT_F_MPN], main);
		print_field(ctx, "brand", r->brand, r->source[EXTRACT_F_BRAND], main);
		print_field(ctx, "image", r->image_url, r->source[EXTRACT_F_IMAGE], main);
		print_field(ctx, "url", r->url, r->source[EXTRACT_F_URL], main);
		if (r->seller != NULL)
			print_field(ctx, "seller", r->seller, r->source[EXTRACT_F_SELLER], main);
		if (source != NULL)
			print_field(ctx, "listing id", listing_id(source, r, id, sizeof id), NULL, main);
	}
}

static int
cmd_extract_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *url = NULL, *source = NULL, *currency = NULL, *path;
	struct extract_opts opts = { 0 };
	struct extract_result res;
	char *html;
	size_t len = 0;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:u:s:C:h", extract_options, NULL)) != -1) {
		switch (c) {
		case 'u':
			url = optarg;
			break;
		case 's':
			source = optarg;
			break;
		case 'C':
			currency = optarg;
			break;
		default:
			if ((rc = cli_common_option(ctx, &cmd_extract_entry, c, argv)) >= 0)
				return rc;
			break;
		}
	}
	if (argc - optind < 1)
		return cli_usage_error(ctx, &cmd_extract_entry, "no page file given (use - for standard input)");
	if (argc - optind > 1)
		return cli_usage_error(ctx, &cmd_extract_entry, "one page at a time");
	if (ctx->format == CLI_FORMAT_CSV)
		return cli_usage_error(ctx, &cmd_extract_entry, "--csv is not supported here (use --json)");
	if (currency != NULL && !money_currency_valid(currency))
		return cli_usage_error(ctx, &cmd_extract_entry, "--currency %s is not an ISO 4217 code (e.g. EUR)",
		    currency);
	path = argv[optind];

	if (source != NULL) {
		const struct config_source *src;
		if ((rc = cli_resolve(ctx)) != CLI_EXIT_OK)
			return rc;
		if ((src = config_find_source(&ctx->cfg, source)) == NULL) {
			cli_error(ctx, "no [source \"%s\"] in %s", source,
			    ctx->cfg.path != NULL ? ctx->cfg.path : "the configuration");
			return CLI_EXIT_USAGE;
		}
		/* Exactly what the crawler uses for this source's pages. */
		if (currency == NULL)
			currency = src->currency;
		if (url == NULL && src->n_urls > 0)
			url = src->urls[0];
		opts.decimal_separator = src->decimal_separator;
		opts.rules = &src->xpath;
		opts.source = src->name;
	}
	opts.default_currency = currency;

	html = cli_read_input(path, EXTRACT_READ_MAX, &len);
	if (html == NULL) {
		cli_error(ctx, "cannot read %s: %s", strcmp(path, "-") == 0 ? "standard input" : path,
		    strerror(errno));
		return CLI_EXIT_ERROR;
	}
	extract_page_ex(html, len, url, &opts, &res);
	free(html);

	if (ctx->format == CLI_FORMAT_JSON)
		print_json(ctx, &res, source);
	else
		print_text(ctx, &res, source);
	/* Problems go to stderr so that --json output stays one clean document. */
	if (res.n_records == 0)
		cli_error(ctx, "%s: no listing found: %s", path, res.error);
	else if (res.n_errors > 0 || res.n_disagreements > 0 || res.n_invalid_gtin > 0)
		cli_error(ctx, "%s: %d problem%s, %d price disagreement%s, %d invalid GTIN%s; first: %s", path,
		    res.n_errors, res.n_errors == 1 ? "" : "s", res.n_disagreements,
		    res.n_disagreements == 1 ? "" : "s", res.n_invalid_gtin, res.n_invalid_gtin == 1 ? "" : "s",
		    res.error[0] ? res.error : "-");
	rc = res.n_records > 0 ? CLI_EXIT_OK : CLI_EXIT_NOT_FOUND;
	extract_result_free(&res);
	return rc;
}
