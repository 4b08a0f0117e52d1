/* cmd-chart.c: "pricewatch chart": draws listings' price histories (one, several, or every listing matched to a product) as PNG or SVG. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "chart/chart.h"
#include "cli/cli.h"
#include "common/util.h"

static int cmd_chart_exec(struct cli_ctx *ctx, int argc, char **argv);

const struct cmd_entry cmd_chart_entry = {
	.name = "chart",
	.alias = NULL,
	.usage = "LISTING...|--product SKU -o FILE.png|FILE.svg [--since 90d] [--until DATE] [--size WxH] "
	    "[--title TEXT] [--json]",
	.summary = "draw the price history of listings as a PNG or SVG chart",
	.help =
	    "A step line per listing (each price holds until the next change, the last\n"
	    "one until now), out-of-stock spans shaded, the axis labelled with exact\n"
	    "amounts in the listing's currency; several listings are overlaid with a legend.\n"
	    "Options:\n"
	    "  -o, --output FILE   where to write; .png or .svg picks the format; - is\n"
	    "                      standard output (PNG unless --format svg)\n"
	    "  -p, --product SKU   every listing matched to your product SKU (match_sku)\n"
	    "  -s, --since WHEN    start of the time axis: a duration back from now (90d,\n"
	    "                      12h, 2w) or a time (2026-01-31); default: first change\n"
	    "  -u, --until WHEN    end of the time axis (same forms); default: now\n"
	    "      --format FMT    png or svg, whatever FILE's name says\n"
	    "      --size WxH      size in pixels (default 960x540)\n"
	    "      --title TEXT    chart title (default: the listing's or product's title)\n"
	    "      --json          print what was written as JSON\n"
	    "  -h, --help          show this help\n"
	    "Exit status 1 when a listing or the product is unknown or nothing has a price\n"
	    "in the range; 4 when FILE cannot be written.\n",
	.exec = cmd_chart_exec,
};

enum { OPT_FORMAT = 256, OPT_SIZE, OPT_TITLE };

static const struct option chart_options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "product", required_argument, NULL, 'p' },
	{ "since", required_argument, NULL, 's' },
	{ "until", required_argument, NULL, 'u' },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "title", required_argument, NULL, OPT_TITLE },
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "csv", no_argument, NULL, CLI_OPT_CSV },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Longest title drawn, in columns: longer ones are cut with an ellipsis. */
#define TITLE_COLUMNS 90

struct chart_args {
	const char *output, *product, *since, *until, *format, *size, *title;
	int width, height;
	enum chart_format fmt;
};

/* What the command loaded: listings and their histories, owned. */
struct chart_data {
	struct listing *ls;
	struct history_point **pts;
	size_t *npts;
	char **labels;
	size_t n;
	char *product_title;
};

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* "WxH" with both sides whole numbers. */
static bool
parse_chart_size(const char *text, int *w, int *h)
{
	const char *x = strchr(text, 'x');
	char side[16];
	int64_t v;

	if (x == NULL || (size_t)(x - text) >= sizeof(side))
		return false;
	memcpy(side, text, (size_t)(x - text));
	side[x - text] = '\0';
	if (!parse_int64(side, CHART_MIN_SIDE, CHART_MAX_SIDE, &v))
		return false;
	*w = (int)v;
	if (!parse_int64(x + 1, CHART_MIN_SIDE, CHART_MAX_SIDE, &v))
		return false;
	*h = (int)v;
	return true;
}

static int
check_args(struct cli_ctx *ctx, struct chart_args *a, int nids)
{
	const struct cmd_entry *e = &cmd_chart_entry;

	if (a->output == NULL || a->output[0] == '\0')
		return cli_usage_error(ctx, e, "missing -o FILE.png or -o FILE.svg");
	if (a->product != NULL && nids > 0)
		return cli_usage_error(ctx, e, "give LISTING ids or --product SKU, not both");
	if (a->product == NULL && nids == 0)
		return cli_usage_error(ctx, e, "missing LISTING (or --product SKU)");
	if (a->product != NULL && a->product[0] == '\0')
		return cli_usage_error(ctx, e, "--product SKU is empty");
	if (a->format != NULL) {
		if (strcmp(a->format, "png") == 0)
			a->fmt = CHART_PNG;
		else if (strcmp(a->format, "svg") == 0)
			a->fmt = CHART_SVG;
		else
			return cli_usage_error(ctx, e, "--format '%s': use png or svg", a->format);
	} else if (ends_with(a->output, ".png") || strcmp(a->output, "-") == 0)
		a->fmt = CHART_PNG;
	else if (ends_with(a->output, ".svg"))
		a->fmt = CHART_SVG;
	else
		return cli_usage_error(ctx, e, "cannot tell the format of '%s': name it .png or .svg, or give "
		    "--format png|svg", a->output);
	if (a->size != NULL && !parse_chart_size(a->size, &a->width, &a->height))
		return cli_usage_error(ctx, e, "--size '%s': use WIDTHxHEIGHT in pixels, %d to %d a side, such as 1200x600",
		    a->size, CHART_MIN_SIDE, CHART_MAX_SIDE);
	return CLI_EXIT_OK;
}

static void
data_free(struct chart_data *d)
{
	for (size_t i = 0; i < d->n; i++) {
		store_listing_free(&d->ls[i]);
		free(d->pts[i]);
		free(d->labels[i]);
	}
	free(d->ls);
	free(d->pts);
	free(d->npts);
	free(d->labels);
	free(d->product_title);
	memset(d, 0, sizeof(*d));
}

/* Reads one listing and its whole history (earlier points set the price in force at --since) into slot d->n. */
static int
load_listing(struct cli_ctx *ctx, struct chart_data *d, const char *id, int64_t until)
{
	size_t i = d->n;
	enum store_status s;

	d->ls = xreallocarray(d->ls, i + 1, sizeof(*d->ls));
	d->pts = xreallocarray(d->pts, i + 1, sizeof(*d->pts));
	d->npts = xreallocarray(d->npts, i + 1, sizeof(*d->npts));
	d->labels = xreallocarray(d->labels, i + 1, sizeof(*d->labels));
	memset(&d->ls[i], 0, sizeof(d->ls[i]));
	s = store_get_listing(ctx->store, id, &d->ls[i]);
	if (s == STORE_NOT_FOUND) {
		cli_error(ctx, "no listing '%s' (see pricewatch listings)", id);
		return CLI_EXIT_NOT_FOUND;
	}
	if (s != STORE_OK) {
		cli_error(ctx, "cannot read listing '%s': %s", id, store_error(ctx->store));
		return cli_exit_from_store(s);
	}
	d->pts[i] = NULL;
	d->npts[i] = 0;
	s = store_history(ctx->store, id, 0, until, &d->pts[i], &d->npts[i]);
	if (s != STORE_OK && s != STORE_NOT_FOUND) {
		cli_error(ctx, "cannot read the history of '%s': %s", id, store_error(ctx->store));
		store_listing_free(&d->ls[i]);
		return cli_exit_from_store(s);
	}
	/* Legend text comes from page data: made safe and short. */
	d->labels[i] = out_display_clip(id, 60);
	d->n++;
	return CLI_EXIT_OK;
}

/* Text of field in hash key, or NULL (missing key or field); caller frees. */
static int
hget(struct cli_ctx *ctx, const char *key, const char *field, char **value)
{
	const char *argv[] = { "HGET", key, field };
	redisReply *r = NULL;
	enum store_status s = store_command(ctx->store, 3, argv, &r);

	*value = NULL;
	if (s != STORE_OK) {
		cli_error(ctx, "%s", store_error(ctx->store));
		return cli_exit_from_store(s);
	}
	if (r->type == REDIS_REPLY_STRING)
		*value = xstrndup(r->str, r->len);
	else if (r->type == REDIS_REPLY_ERROR)
		cli_error(ctx, "reading %s: %s", key, r->str);
	s = r->type == REDIS_REPLY_ERROR ? STORE_ERROR : STORE_OK;
	freeReplyObject(r);
	return s == STORE_OK ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

/* Every listing whose match_sku (written by the matcher) is sku, in id order. */
static int
load_product(struct cli_ctx *ctx, struct chart_data *d, const char *sku, int64_t until)
{
	struct listing *all = NULL;
	size_t nall = 0;
	enum store_status s = store_list_listings(ctx->store, NULL, &all, &nall);
	int rc = CLI_EXIT_OK;
	char *key;

	if (s != STORE_OK && s != STORE_NOT_FOUND) {
		cli_error(ctx, "cannot list listings: %s", store_error(ctx->store));
		return cli_exit_from_store(s);
	}
	for (size_t i = 0; i < nall && rc == CLI_EXIT_OK; i++) {
		char *match;

		key = xasprintf("%slisting:%s", store_prefix(ctx->store), all[i].id);
		rc = hget(ctx, key, "match_sku", &match);
		free(key);
		if (rc == CLI_EXIT_OK && match != NULL && strcmp(match, sku) == 0)
			rc = load_listing(ctx, d, all[i].id, until);
		free(match);
	}
	store_listings_free(all, nall);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (d->n == 0) {
		cli_error(ctx, "no listing is matched to product '%s' (see pricewatch listings; matches are "
		    "made by the daemon's matcher)", sku);
		return CLI_EXIT_NOT_FOUND;
	}
	key = xasprintf("%sproduct:%s", store_prefix(ctx->store), sku);
	rc = hget(ctx, key, "title", &d->product_title);
	free(key);
	return rc;
}

/* The default title: the product's, else the only listing's, else the ids. */
static char *
default_title(const struct chart_args *a, const struct chart_data *d)
{
	if (a->product != NULL)
		return d->product_title != NULL ? xasprintf("%s  (%s, %zu listing%s)", d->product_title, a->product,
		    d->n, d->n == 1 ? "" : "s") : xasprintf("Product %s  (%zu listing%s)", a->product, d->n,
		    d->n == 1 ? "" : "s");
	if (d->n == 1 && d->ls[0].title != NULL && d->ls[0].title[0] != '\0')
		return xstrdup(d->ls[0].title);
	return d->n == 1 ? xstrdup(d->ls[0].id) : xasprintf("%zu listings", d->n);
}

static void
print_result(struct cli_ctx *ctx, const struct chart_args *a, const struct chart_data *d,
    const struct chart_geom *g)
{
	size_t points = 0;

	for (size_t i = 0; i < d->n; i++)
		points += d->npts[i];
	if (ctx->format == CLI_FORMAT_JSON) {
		struct json_object *o = json_object_new_object(), *ids = json_object_new_array();

		for (size_t i = 0; i < d->n; i++)
			json_object_array_add(ids, out_json_str(d->ls[i].id));
		json_object_object_add(o, "file", out_json_str(a->output));
		json_object_object_add(o, "format", json_object_new_string(a->fmt == CHART_SVG ? "svg" : "png"));
		json_object_object_add(o, "listings", ids);
		json_object_object_add(o, "change_points", json_object_new_int64((int64_t)points));
		json_object_object_add(o, "currency", json_object_new_string(g->currency));
		json_object_object_add(o, "skipped_other_currency", json_object_new_int64((int64_t)g->skipped));
		out_json_print(ctx->out, o);
		return;
	}
	fprintf(ctx->out, "wrote %s: %zu listing%s, %zu change point%s, prices in %s\n", a->output, d->n,
	    d->n == 1 ? "" : "s", points, points == 1 ? "" : "s", g->currency);
}

/* "-o -": the chart on standard output (PNG unless --format svg), for pipes and CGI-style use. */
static bool
render_to_stream(struct cli_ctx *ctx, const struct chart_opts *opts, const struct chart_series *series,
    size_t n, struct chart_geom *geom, char *err, size_t errlen)
{
	unsigned char *data;
	size_t len;
	bool ok;

	if (!chart_render_mem(opts, series, n, geom, &data, &len, err, errlen))
		return false;
	ok = fwrite(data, 1, len, ctx->out) == len && fflush(ctx->out) == 0;
	if (!ok)
		pw_snprintf(err, errlen, "standard output: cannot write the chart: %s", strerror(errno));
	free(data);
	return ok;
}

static int
cmd_chart_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	struct chart_args a = { 0 };
	struct chart_data d = { 0 };
	struct chart_series *series = NULL;
	struct chart_geom geom;
	int64_t now = time_now_ms(), since = 0, until;
	char err[1024], *title = NULL;
	int c, rc;
	bool ok;

	optind = 0;   /* glibc: 0 re-initialises getopt for this second parse */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:p:s:u:h", chart_options, NULL)) != -1) {
		switch (c) {
		case 'o': a.output = optarg; break;
		case 'p': a.product = optarg; break;
		case 's': a.since = optarg; break;
		case 'u': a.until = optarg; break;
		case OPT_FORMAT: a.format = optarg; break;
		case OPT_SIZE: a.size = optarg; break;
		case OPT_TITLE: a.title = optarg; break;
		case CLI_OPT_CSV:
			return cli_usage_error(ctx, &cmd_chart_entry, "--csv is not supported here (use --json)");
		default:
			if ((rc = cli_common_option(ctx, &cmd_chart_entry, c, argv)) >= 0)
				return rc;
			break;
		}
	}
	if (ctx->format == CLI_FORMAT_CSV)
		return cli_usage_error(ctx, &cmd_chart_entry, "--csv is not supported here (use --json)");
	if ((rc = check_args(ctx, &a, argc - optind)) != CLI_EXIT_OK)
		return rc;
	until = now;
	if (a.since != NULL && !cli_parse_time_arg(a.since, now, &since))
		return cli_usage_error(ctx, &cmd_chart_entry,
		    "--since '%s' is neither a duration (90d) nor a time (2026-01-31)", a.since);
	if (a.until != NULL && !cli_parse_time_arg(a.until, now, &until))
		return cli_usage_error(ctx, &cmd_chart_entry,
		    "--until '%s' is neither a duration (30d) nor a time (2026-01-31)", a.until);
	if (a.since != NULL && since >= until)
		return cli_usage_error(ctx, &cmd_chart_entry, "--since is not before --until");

	if ((rc = cli_store_open(ctx)) != CLI_EXIT_OK)
		return rc;
	if (a.product != NULL)
		rc = load_product(ctx, &d, a.product, until);
	for (int i = optind; i < argc && rc == CLI_EXIT_OK; i++)
		rc = load_listing(ctx, &d, argv[i], until);
	if (rc != CLI_EXIT_OK)
		goto out;

	series = xcalloc(d.n, sizeof(*series));
	for (size_t i = 0; i < d.n; i++)
		series[i] = (struct chart_series){ .label = d.labels[i], .pts = d.pts[i], .n = d.npts[i] };
	{
		char *raw = a.title != NULL ? xstrdup(a.title) : default_title(&a, &d);

		title = out_display_clip(raw, TITLE_COLUMNS);
		free(raw);
	}
	struct chart_opts opts = {
		.format = a.fmt, .width = a.width, .height = a.height, .title = title,
		.since_ms = since, .until_ms = until,
	};
	if (strcmp(a.output, "-") == 0)
		ok = render_to_stream(ctx, &opts, series, d.n, &geom, err, sizeof(err));
	else
		ok = chart_render(a.output, &opts, series, d.n, &geom, err, sizeof(err));
	chart_release();
	if (!ok) {
		bool empty = strncmp(err, "nothing to draw", 15) == 0;

		cli_error(ctx, "%s%s", err, empty ? " (see pricewatch history LISTING)" : "");
		rc = empty ? CLI_EXIT_NOT_FOUND : CLI_EXIT_ERROR;
		goto out;
	}
	if (geom.skipped > 0)
		cli_error(ctx, "warning: %zu price%s not in %s left out of the chart", geom.skipped,
		    geom.skipped == 1 ? "" : "s", geom.currency);
	/* With the chart itself on standard output, a summary there would corrupt it. */
	if (strcmp(a.output, "-") != 0)
		print_result(ctx, &a, &d, &geom);
out:
	free(title);
	free(series);
	data_free(&d);
	return rc;
}
