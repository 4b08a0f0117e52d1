/* cmd-history.c: "pricewatch history LISTING": a listing's price and availability change points. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/util.h"

static int cmd_history_exec(struct cli_ctx *ctx, int argc, char **argv);

const struct cmd_entry cmd_history_entry = {
	.name = "history",
	.alias = "hist",
	.usage = "LISTING [--since 30d|DATE] [--until DATE] [--json|--csv] [--color=WHEN]",
	.summary = "show the price and availability changes of one listing",
	.help =
	    "Options:\n"
	    "  -s, --since WHEN  only changes at or after WHEN: a duration back from now\n"
	    "                    (30d, 12h, 2w) or a time (2026-01-31, 2026-01-31T12:00Z,\n"
	    "                    epoch seconds); default: the whole history\n"
	    "  -u, --until WHEN  only changes at or before WHEN (same forms); default: now\n"
	    "      --json        JSON: {\"listing\": {...}, \"history\": [...]}\n"
	    "      --csv         CSV with a header row\n"
	    "      --color=WHEN  colour the summary line: auto (on a terminal, the\n"
	    "                    default), always or never; NO_COLOR turns it off\n"
	    "  -h, --help        show this help\n"
	    "The table ends with a sparkline of the prices and their min, max and current.\n"
	    "LISTING is an id as shown by 'pricewatch listings'. Exit status 1 when the\n"
	    "listing does not exist or has no change in the range.\n",
	.exec = cmd_history_exec,
};

enum { OPT_COLOR = 256 };

/* Change points drawn in the sparkline: the most recent ones. */
#define SPARK_MAX 60

/* SGR sequences for the summary line. */
#define SGR_RESET "\033[0m"
#define SGR_BOLD "\033[1m"
#define SGR_GREEN "\033[32m"
#define SGR_RED "\033[31m"
#define SGR_CYAN "\033[36m"

static const struct option history_options[] = {
	{ "since", required_argument, NULL, 's' },
	{ "until", required_argument, NULL, 'u' },
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "csv", no_argument, NULL, CLI_OPT_CSV },
	{ "color", optional_argument, NULL, OPT_COLOR },
	{ "colour", optional_argument, NULL, OPT_COLOR },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/*
 * "prices ▇▇▁▁  min 18.99  max 19.99  current 18.99 USD": the last SPARK_MAX
 * change points in the currency of the latest price (a listing that changed
 * currency is summarised in its current one). Amounts print exactly (money.h).
 */
static void
print_summary(struct cli_ctx *ctx, const struct history_point *pts, size_t n, bool color)
{
	int64_t values[SPARK_MAX];
	bool present[SPARK_MAX];
	size_t first = n > SPARK_MAX ? n - SPARK_MAX : 0, k = 0, last = n;
	struct money lo = { 0 }, hi = { 0 };
	char spark[SPARK_MAX * 3 + 1], lo_s[64], hi_s[64], cur_s[64];
	const char *cur;

	while (last > 0 && pts[last - 1].price.currency[0] == '\0')
		last--;
	if (last == 0)
		return;
	cur = pts[last - 1].price.currency;
	for (size_t i = first; i < n; i++, k++) {
		const struct money *m = &pts[i].price;

		present[k] = strcmp(m->currency, cur) == 0;
		values[k] = m->minor;
		if (!present[k])
			continue;
		if (lo.currency[0] == '\0' || m->minor < lo.minor)
			lo = *m;
		if (hi.currency[0] == '\0' || m->minor > hi.minor)
			hi = *m;
	}
	if (lo.currency[0] == '\0')
		lo = hi = pts[last - 1].price;
	out_sparkline(values, present, k, spark, sizeof spark);
	out_money(&lo, lo_s, sizeof lo_s);
	out_money(&hi, hi_s, sizeof hi_s);
	out_money(&pts[last - 1].price, cur_s, sizeof cur_s);
	fprintf(ctx->out, "\nprices %s%s%s  min %s%s%s  max %s%s%s  current %s%s %s%s%s\n",
	    color ? SGR_CYAN : "", spark, color ? SGR_RESET : "",
	    color ? SGR_GREEN : "", lo_s, color ? SGR_RESET : "",
	    color ? SGR_RED : "", hi_s, color ? SGR_RESET : "",
	    color ? SGR_BOLD : "", cur_s, cur, color ? SGR_RESET : "",
	    first > 0 ? " (sparkline: the last 60 changes)" : "");
}

static void
print_table(struct cli_ctx *ctx, const struct listing *l, const struct history_point *pts, size_t n, bool color)
{
	static const char *const headers[] = { "TIME", "PRICE", "CURRENCY", "AVAILABILITY" };
	static const enum out_align align[] = { OUT_LEFT, OUT_RIGHT, OUT_LEFT, OUT_LEFT };
	char seen[32], first[32], *title, *url, *id;
	struct out_table t;

	/* Page data goes through out_display_clip so a hostile title cannot drive the terminal. */
	id = out_display_clip(l->id, 0);
	title = out_display_clip(l->title != NULL ? l->title : "", 0);
	url = out_display_clip(l->url != NULL ? l->url : "", 0);
	out_time(l->last_seen_ms, seen, sizeof seen);
	out_time(l->first_seen_ms, first, sizeof first);
	fprintf(ctx->out, "%s  %s\n", id, title[0] != '\0' ? title : "(no title)");
	fprintf(ctx->out, "url: %s\n", url[0] != '\0' ? url : "-");
	fprintf(ctx->out, "last seen: %s  first seen: %s\n\n", seen[0] != '\0' ? seen : "never",
	    first[0] != '\0' ? first : "never");
	free(id);
	free(title);
	free(url);

	out_table_init(&t, 4, headers, align);
	for (size_t i = 0; i < n; i++) {
		char when[32], price[64];
		const char *row[4];

		out_time(pts[i].time_ms, when, sizeof when);
		out_money(&pts[i].price, price, sizeof price);
		row[0] = when;
		row[1] = price[0] != '\0' ? price : NULL;
		row[2] = pts[i].price.currency[0] != '\0' ? pts[i].price.currency : NULL;
		row[3] = availability_name(pts[i].availability);
		out_table_add(&t, row);
	}
	out_table_print(ctx->out, &t, 0);
	out_table_free(&t);
	print_summary(ctx, pts, n, color);
}

static void
print_csv(struct cli_ctx *ctx, const struct listing *l, const struct history_point *pts, size_t n)
{
	static const char *const headers[] = {
		"listing", "time", "time_ms", "price", "price_minor", "currency", "availability",
	};

	out_csv_row(ctx->out, headers, 7);
	for (size_t i = 0; i < n; i++) {
		char when[32], ms[32], price[64], minor[32];
		bool priced = pts[i].price.currency[0] != '\0';
		const char *row[7];

		out_time(pts[i].time_ms, when, sizeof when);
		pw_snprintf(ms, sizeof ms, "%lld", (long long)pts[i].time_ms);
		out_money(&pts[i].price, price, sizeof price);
		pw_snprintf(minor, sizeof minor, "%lld", (long long)pts[i].price.minor);
		row[0] = l->id;
		row[1] = when;
		row[2] = ms;
		row[3] = priced ? price : NULL;
		row[4] = priced ? minor : NULL;
		row[5] = priced ? pts[i].price.currency : NULL;
		row[6] = availability_name(pts[i].availability);
		out_csv_row(ctx->out, row, 7);
	}
}

static void
print_json(struct cli_ctx *ctx, const struct listing *l, const struct history_point *pts, size_t n)
{
	struct json_object *doc = json_object_new_object();
	struct json_object *hist = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(hist, out_json_history_point(&pts[i]));
	json_object_object_add(doc, "listing", out_json_listing(l));
	json_object_object_add(doc, "history", hist);
	out_json_print(ctx->out, doc);
}

static int
cmd_history_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *since_arg = NULL, *until_arg = NULL, *id;
	enum out_color color = OUT_COLOR_AUTO;
	int64_t now = time_now_ms(), since = 0, until = INT64_MAX;
	struct history_point *pts = NULL;
	struct listing l;
	enum store_status status;
	size_t n = 0;
	int c, rc;

	optind = 0;   /* glibc: 0 re-initialises getopt for this second parse */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:u:h", history_options, NULL)) != -1) {
		switch (c) {
		case 's':
			since_arg = optarg;
			break;
		case 'u':
			until_arg = optarg;
			break;
		case OPT_COLOR:
			if (!out_color_parse(optarg, &color))
				return cli_usage_error(ctx, &cmd_history_entry,
				    "--color '%s': use auto, always or never", optarg);
			break;
		default:
			if ((rc = cli_common_option(ctx, &cmd_history_entry, c, argv)) >= 0)
				return rc;
			break;
		}
	}
	if (optind >= argc)
		return cli_usage_error(ctx, &cmd_history_entry, "missing LISTING");
	if (argc - optind > 1)
		return cli_usage_error(ctx, &cmd_history_entry, "unexpected argument '%s'",
		    argv[optind + 1]);
	id = argv[optind];
	if (id[0] == '\0')
		return cli_usage_error(ctx, &cmd_history_entry, "LISTING is empty");
	if (since_arg != NULL && !cli_parse_time_arg(since_arg, now, &since))
		return cli_usage_error(ctx, &cmd_history_entry,
		    "--since '%s' is neither a duration (30d) nor a time (2026-01-31)", since_arg);
	if (until_arg != NULL && !cli_parse_time_arg(until_arg, now, &until))
		return cli_usage_error(ctx, &cmd_history_entry,
		    "--until '%s' is neither a duration (30d) nor a time (2026-01-31)", until_arg);
	if (since > until)
		return cli_usage_error(ctx, &cmd_history_entry, "--since is after --until");

	if ((rc = cli_store_open(ctx)) != CLI_EXIT_OK)
		return rc;

	memset(&l, 0, sizeof l);
	status = store_get_listing(ctx->store, id, &l);
	if (status == STORE_NOT_FOUND) {
		cli_error(ctx, "no listing '%s' (see pricewatch listings)", id);
		return CLI_EXIT_NOT_FOUND;
	}
	if (status != STORE_OK) {
		cli_error(ctx, "cannot read listing '%s': %s", id, store_error(ctx->store));
		return cli_exit_from_store(status);
	}
	status = store_history(ctx->store, id, since, until, &pts, &n);
	if (status != STORE_OK && status != STORE_NOT_FOUND) {
		cli_error(ctx, "cannot read the history of '%s': %s", id, store_error(ctx->store));
		store_listing_free(&l);
		return cli_exit_from_store(status);
	}
	if (status == STORE_NOT_FOUND)
		n = 0;

	switch (ctx->format) {
	case CLI_FORMAT_JSON:
		print_json(ctx, &l, pts, n);
		break;
	case CLI_FORMAT_CSV:
		print_csv(ctx, &l, pts, n);
		break;
	case CLI_FORMAT_TABLE:
		print_table(ctx, &l, pts, n, out_color_wanted(ctx->out, color));
		break;
	}
	rc = CLI_EXIT_OK;
	if (n == 0) {
		/* The listing exists but nothing changed in the range: "no data" for scripts. */
		cli_error(ctx, "no price or availability change of '%s' in the range asked", id);
		rc = CLI_EXIT_NOT_FOUND;
	}
	free(pts);
	store_listing_free(&l);
	return rc;
}
