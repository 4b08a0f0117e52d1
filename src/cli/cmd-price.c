/* cmd-price.c: "pricewatch price": what the crawler's price parser makes of price texts, or why it rejects them. */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/money.h"
#include "common/util.h"
#include "extract/price.h"

static int cmd_price_exec(struct cli_ctx *ctx, int argc, char **argv);

const struct cmd_entry cmd_price_entry = {
	.name = "price",
	.alias = NULL,
	.usage = "[--currency CUR] [--locale-hint HINT] [--json|--csv] TEXT...",
	.summary = "parse price texts (\"1.299,00 €\") as the crawler does, or say why they are rejected",
	.help =
	    "Each TEXT is parsed by the crawler's price parser and printed with its exact\n"
	    "amount, currency, amount in minor units and the high end of a range; a\n"
	    "rejected text is printed with the reason.\n"
	    "Options:\n"
	    "  -C, --currency CUR      currency when the text names none, and the choice for an\n"
	    "                          ambiguous symbol ($ -> CAD, kr -> NOK); as a source's\n"
	    "                          default currency\n"
	    "  -l, --locale-hint HINT  how the site writes decimals when the digits cannot tell\n"
	    "                          (\"1,299\"): ',' or comma, '.' or dot, or a locale such as\n"
	    "                          de_DE, fr-FR, en_US, de-CH\n"
	    "      --json              JSON: an array of {text, ok, amount, currency, currency_text,\n"
	    "                          minor, high, minor_high, free, from, error}\n"
	    "      --csv               CSV: text,amount,currency,minor,high,note\n"
	    "  -h, --help              show this help\n"
	    "Options may come after the texts; put -- before a text that starts with '-'.\n"
	    "Exit status 1 when at least one TEXT was rejected.\n",
	.exec = cmd_price_exec,
};

static const struct option price_options[] = {
	{ "currency", required_argument, NULL, 'C' },
	{ "locale-hint", required_argument, NULL, 'l' },
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "csv", no_argument, NULL, CLI_OPT_CSV },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Languages that usually write a decimal comma; every other language is taken to write a point. */
static const char *const comma_languages[] = {
	"bg", "ca", "cs", "da", "de", "el", "es", "et", "fi", "fr", "hr", "hu", "id", "is", "it", "lt",
	"lv", "nb", "nl", "nn", "no", "pl", "pt", "ro", "ru", "sk", "sl", "sr", "sv", "tr", "uk", "vi",
};

/* Regions that write a decimal point whatever the language (Swiss "CHF 1'049.95"). */
static const char *const point_regions[] = { "CH", "LI" };

/*
 * Maps --locale-hint to a decimal separator: ',' / "comma", '.' / "dot" / "point",
 * or a locale tag "ll", "ll_RR", "ll-RR" (anything after '.' or '@' ignored).
 * Returns 0 when the hint is not understood.
 */
static char
decimal_from_hint(const char *hint)
{
	char lang[4] = "", region[4] = "";
	size_t n = 0;
	const char *p = hint;

	if (strcmp(hint, ",") == 0 || strcmp(hint, "comma") == 0)
		return ',';
	if (strcmp(hint, ".") == 0 || strcmp(hint, "dot") == 0 || strcmp(hint, "point") == 0)
		return '.';
	while (isalpha((unsigned char)*p) && n < 3)
		lang[n++] = (char)tolower((unsigned char)*p++);
	lang[n] = '\0';
	if (n < 2 || isalpha((unsigned char)*p))
		return 0;
	if (*p == '_' || *p == '-') {
		p++;
		n = 0;
		while (isalpha((unsigned char)*p) && n < 3)
			region[n++] = (char)toupper((unsigned char)*p++);
		region[n] = '\0';
		if (n != 2 || (*p != '\0' && *p != '.' && *p != '@'))
			return 0;
	} else if (*p != '\0' && *p != '.' && *p != '@') {
		return 0;
	}
	for (size_t i = 0; i < sizeof point_regions / sizeof point_regions[0]; i++)
		if (strcmp(region, point_regions[i]) == 0)
			return '.';
	for (size_t i = 0; i < sizeof comma_languages / sizeof comma_languages[0]; i++)
		if (strcmp(lang, comma_languages[i]) == 0)
			return ',';
	return '.';
}

/* What one text became; the strings are empty when they do not apply. */
struct price_row {
	bool ok;
	char amount[64], high[64], minor[32], minor_high[32];
	char note[200];
};

static void
price_row_fill(const char *text, const struct price_opts *opts, struct price *p, struct price_row *row)
{
	memset(row, 0, sizeof *row);
	row->ok = price_parse(text, strlen(text), opts, p);
	if (!row->ok) {
		pw_snprintf(row->note, sizeof row->note, "rejected: %s", p->error[0] ? p->error : "no price");
		return;
	}
	if (!price_format_amount(p, false, row->amount, sizeof row->amount))
		pw_strlcpy(row->amount, "?", sizeof row->amount);
	if (p->has_high && !price_format_amount(p, true, row->high, sizeof row->high))
		pw_strlcpy(row->high, "?", sizeof row->high);
	if (p->minor.currency[0] != '\0')
		pw_snprintf(row->minor, sizeof row->minor, "%" PRId64, p->minor.minor);
	if (p->has_high && p->minor_high.currency[0] != '\0')
		pw_snprintf(row->minor_high, sizeof row->minor_high, "%" PRId64, p->minor_high.minor);
	/* Flags first; the parser's remark (why minor is empty) after them. */
	pw_snprintf(row->note, sizeof row->note, "%s%s%s%s", p->is_free ? "free" : "",
	    p->is_from ? (p->is_free ? ", from" : "from") : "",
	    (p->is_free || p->is_from) && p->error[0] ? "; " : "", p->error);
}

static struct json_object *
json_opt(const char *s)
{
	return s[0] != '\0' ? out_json_str(s) : NULL;
}

static struct json_object *
json_row(const char *text, const struct price *p, const struct price_row *row)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "text", out_json_str(text));
	json_object_object_add(o, "ok", json_object_new_boolean(row->ok));
	json_object_object_add(o, "amount", row->ok ? json_opt(row->amount) : NULL);
	json_object_object_add(o, "currency", row->ok ? json_opt(p->currency) : NULL);
	json_object_object_add(o, "currency_text", row->ok ? json_opt(p->currency_text) : NULL);
	json_object_object_add(o, "minor", row->minor[0] ? json_object_new_int64(p->minor.minor) : NULL);
	json_object_object_add(o, "high", row->ok ? json_opt(row->high) : NULL);
	json_object_object_add(o, "minor_high",
	    row->minor_high[0] ? json_object_new_int64(p->minor_high.minor) : NULL);
	json_object_object_add(o, "free", json_object_new_boolean(row->ok && p->is_free));
	json_object_object_add(o, "from", json_object_new_boolean(row->ok && p->is_from));
	json_object_object_add(o, "error", p->error[0] ? out_json_str(p->error) : NULL);
	return o;
}

static int
cmd_price_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = { "TEXT", "AMOUNT", "CURRENCY", "MINOR", "HIGH", "NOTE" };
	static const enum out_align align[] = { OUT_LEFT, OUT_RIGHT, OUT_LEFT, OUT_RIGHT, OUT_RIGHT, OUT_LEFT };
	struct price_opts opts;
	struct out_table table;
	struct json_object *arr = NULL;
	const char *currency = NULL, *hint = NULL;
	bool any_rejected = false;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":C:l:h", price_options, NULL)) != -1) {
		switch (c) {
		case 'C':
			currency = optarg;
			break;
		case 'l':
			hint = optarg;
			break;
		default:
			if ((rc = cli_common_option(ctx, &cmd_price_entry, c, argv)) >= 0)
				return rc;
			break;
		}
	}
	if (argc - optind < 1)
		return cli_usage_error(ctx, &cmd_price_entry, "no price text given");
	memset(&opts, 0, sizeof opts);
	if (currency != NULL) {
		if (!money_currency_valid(currency))
			return cli_usage_error(ctx, &cmd_price_entry,
			    "--currency %s is not an ISO 4217 code (e.g. EUR)", currency);
		opts.currency_hint = currency;
	}
	if (hint != NULL && (opts.decimal_separator = decimal_from_hint(hint)) == 0)
		return cli_usage_error(ctx, &cmd_price_entry,
		    "--locale-hint %s: expected ',' (comma), '.' (dot) or a locale such as de_DE", hint);

	if (ctx->format == CLI_FORMAT_JSON)
		arr = json_object_new_array();
	else if (ctx->format == CLI_FORMAT_CSV) {
		static const char *const head[] = { "text", "amount", "currency", "minor", "high", "note" };
		out_csv_row(ctx->out, head, 6);
	} else
		out_table_init(&table, 6, headers, align);

	for (int i = optind; i < argc; i++) {
		struct price p;
		struct price_row row;

		price_row_fill(argv[i], &opts, &p, &row);
		any_rejected |= !row.ok;
		if (ctx->format == CLI_FORMAT_JSON) {
			json_object_array_add(arr, json_row(argv[i], &p, &row));
		} else {
			const char *cells[6] = { argv[i], row.amount, row.ok ? p.currency : "", row.minor,
			    row.high, row.note };
			if (ctx->format == CLI_FORMAT_CSV) {
				out_csv_row(ctx->out, cells, 6);
			} else {
				/* Empty cells print as "-" in the table. */
				for (size_t k = 1; k < 6; k++)
					if (cells[k][0] == '\0')
						cells[k] = NULL;
				out_table_add(&table, cells);
			}
		}
	}

	if (ctx->format == CLI_FORMAT_JSON)
		out_json_print(ctx->out, arr);
	else if (ctx->format == CLI_FORMAT_TABLE) {
		out_table_print(ctx->out, &table, out_terminal_width(fileno(ctx->out)));
		out_table_free(&table);
	}
	return any_rejected ? CLI_EXIT_NOT_FOUND : CLI_EXIT_OK;
}
