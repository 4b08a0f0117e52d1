/* cmd-listings.c: "pricewatch listings": every listing in the store (or one source's) with its latest price. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/util.h"

static int cmd_listings_exec(struct cli_ctx *ctx, int argc, char **argv);

const struct cmd_entry cmd_listings_entry = {
	.name = "listings",
	.alias = "ls",
	.usage = "[--source SOURCE] [--json|--csv]",
	.summary = "list the listings with their latest price and availability",
	.help =
	    "Options:\n"
	    "  -s, --source SOURCE  only the listings of this source (a [source] name)\n"
	    "      --json           JSON: {\"listings\": [...]}\n"
	    "      --csv            CSV with a header row\n"
	    "  -h, --help           show this help\n"
	    "In the table, titles are cut to the terminal width. Exit status 1 when there\n"
	    "is no listing to show.\n",
	.exec = cmd_listings_exec,
};

static const struct option listings_options[] = {
	{ "source", required_argument, NULL, 's' },
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "csv", no_argument, NULL, CLI_OPT_CSV },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
print_table(struct cli_ctx *ctx, const struct listing *ls, size_t n)
{
	static const char *const headers[] = {
		"ID", "SOURCE", "PRICE", "CURRENCY", "AVAIL", "LAST SEEN", "TITLE",
	};
	static const enum out_align align[] = {
		OUT_LEFT, OUT_LEFT, OUT_RIGHT, OUT_LEFT, OUT_LEFT, OUT_LEFT, OUT_LEFT,
	};
	struct out_table t;

	out_table_init(&t, 7, headers, align);
	for (size_t i = 0; i < n; i++) {
		char price[64], seen[32];
		const char *row[7];

		out_money(&ls[i].price, price, sizeof price);
		out_time(ls[i].last_seen_ms, seen, sizeof seen);
		row[0] = ls[i].id;
		row[1] = ls[i].source;
		row[2] = price[0] != '\0' ? price : NULL;
		row[3] = ls[i].price.currency[0] != '\0' ? ls[i].price.currency : NULL;
		row[4] = availability_name(ls[i].availability);
		row[5] = seen[0] != '\0' ? seen : NULL;
		row[6] = ls[i].title;
		out_table_add(&t, row);
	}
	out_table_print(ctx->out, &t, out_terminal_width(fileno(ctx->out)));
	out_table_free(&t);
}

static void
print_csv(struct cli_ctx *ctx, const struct listing *ls, size_t n)
{
	static const char *const headers[] = {
		"id", "source", "price", "price_minor", "currency", "availability", "last_seen",
		"last_seen_ms", "title", "url",
	};

	out_csv_row(ctx->out, headers, 10);
	for (size_t i = 0; i < n; i++) {
		char price[64], minor[32], seen[32], seen_ms[32];
		bool priced = ls[i].price.currency[0] != '\0';
		const char *row[10];

		out_money(&ls[i].price, price, sizeof price);
		pw_snprintf(minor, sizeof minor, "%lld", (long long)ls[i].price.minor);
		out_time(ls[i].last_seen_ms, seen, sizeof seen);
		pw_snprintf(seen_ms, sizeof seen_ms, "%lld", (long long)ls[i].last_seen_ms);
		row[0] = ls[i].id;
		row[1] = ls[i].source;
		row[2] = priced ? price : NULL;
		row[3] = priced ? minor : NULL;
		row[4] = priced ? ls[i].price.currency : NULL;
		row[5] = availability_name(ls[i].availability);
		row[6] = seen;
		row[7] = ls[i].last_seen_ms > 0 ? seen_ms : NULL;
		row[8] = ls[i].title;
		row[9] = ls[i].url;
		out_csv_row(ctx->out, row, 10);
	}
}

static void
print_json(struct cli_ctx *ctx, const struct listing *ls, size_t n)
{
	struct json_object *doc = json_object_new_object();
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, out_json_listing(&ls[i]));
	json_object_object_add(doc, "listings", arr);
	out_json_print(ctx->out, doc);
}

static int
cmd_listings_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *source = NULL;
	struct listing *ls = NULL;
	enum store_status status;
	size_t n = 0;
	int c, rc;

	optind = 0;   /* glibc: 0 re-initialises getopt for this second parse */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:h", listings_options, NULL)) != -1) {
		switch (c) {
		case 's':
			source = optarg;
			break;
		default:
			if ((rc = cli_common_option(ctx, &cmd_listings_entry, c, argv)) >= 0)
				return rc;
			break;
		}
	}
	if (optind < argc)
		return cli_usage_error(ctx, &cmd_listings_entry, "unexpected argument '%s'",
		    argv[optind]);
	if (source != NULL && source[0] == '\0')
		return cli_usage_error(ctx, &cmd_listings_entry, "--source is empty");

	if ((rc = cli_store_open(ctx)) != CLI_EXIT_OK)
		return rc;
	status = store_list_listings(ctx->store, source, &ls, &n);
	if (status == STORE_NOT_FOUND) {
		status = STORE_OK;
		ls = NULL;
		n = 0;
	}
	if (status != STORE_OK) {
		cli_error(ctx, "cannot list the listings: %s", store_error(ctx->store));
		return cli_exit_from_store(status);
	}

	switch (ctx->format) {
	case CLI_FORMAT_JSON:
		print_json(ctx, ls, n);
		break;
	case CLI_FORMAT_CSV:
		print_csv(ctx, ls, n);
		break;
	case CLI_FORMAT_TABLE:
		print_table(ctx, ls, n);
		break;
	}
	rc = CLI_EXIT_OK;
	if (n == 0) {
		if (source != NULL)
			cli_error(ctx, "no listings of source '%s'", source);
		else
			cli_error(ctx, "no listings yet (has pricewatchd crawled anything?)");
		rc = CLI_EXIT_NOT_FOUND;
	}
	if (ls != NULL)
		store_listings_free(ls, n);
	return rc;
}
