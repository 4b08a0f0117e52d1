/* cmd-match.c: "pricewatch match": the catalogue products an image shows; confirm or reject a listing's match. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/util.h"
#include "crawl/fetch.h"
#include "match/catalog.h"
#include "match/descriptor.h"
#include "match/matcher.h"

#define MATCH_DEFAULT_TOP 5
#define MATCH_MAX_TOP 1000

static int cmd_match_exec(struct cli_ctx *ctx, int argc, char **argv);

const struct cmd_entry cmd_match_entry = {
	.name = "match",
	.alias = NULL,
	.usage = "[--top K] [--json] [--allow-private] IMAGE|URL | confirm LISTING SKU | reject LISTING SKU",
	.summary = "find the catalogue products an image shows; confirm or reject a listing's match",
	.help =
	    "match IMAGE|URL         embeds the image (a JPEG, PNG or WebP file, or an http(s)\n"
	    "                        URL) and prints the best catalogue products, best first,\n"
	    "                        with the fused score and its reasons; MATCH marks those at\n"
	    "                        or above [match] threshold\n"
	    "confirm LISTING SKU     this listing is that product: a match from now on\n"
	    "reject LISTING SKU      this listing is not that product: never matched to it again\n"
	    "Options:\n"
	    "  -k, --top K           how many products to print (default 5)\n"
	    "      --json            JSON: [{\"sku\": ..., \"score\": 0.93, \"match\": true,\n"
	    "                        \"title\": ..., \"reasons\": [\"embedding=0.93\", ...]}]\n"
	    "      --allow-private   the URL may resolve to a loopback or private address\n"
	    "  -h, --help            show this help\n"
	    "Exit status 1 when the catalogue is empty or the listing or SKU does not exist,\n"
	    "4 when the image cannot be read or decoded.\n",
	.exec = cmd_match_exec,
};

enum { OPT_ALLOW_PRIVATE = 256 };

static const struct option match_options[] = {
	{ "top", required_argument, NULL, 'k' },
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "allow-private", no_argument, NULL, OPT_ALLOW_PRIVATE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* [match] threshold as a float (it is validated decimal text in [0, 1] in the config). */
static float
config_threshold(const struct config *cfg)
{
	return cfg->match.threshold != NULL ? strtof(cfg->match.threshold, NULL) : FUSE_THRESHOLD;
}

static void
print_candidates(struct cli_ctx *ctx, const struct matcher_candidate *c, size_t n)
{
	if (ctx->format == CLI_FORMAT_JSON) {
		struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object(), *r = json_object_new_array();

			json_object_object_add(o, "sku", json_object_new_string(c[i].sku));
			json_object_object_add(o, "score", cli_json_fixed(c[i].score, 3));
			json_object_object_add(o, "match", json_object_new_boolean(c[i].match));
			json_object_object_add(o, "title", out_json_str(c[i].title));
			for (size_t k = 0; k < c[i].fused.nreasons; k++) {
				fuse_result one = { .nreasons = 1 };
				char buf[64];

				one.reasons[0] = c[i].fused.reasons[k];
				(void)fuse_reasons_format(&one, buf, sizeof(buf));
				json_object_array_add(r, json_object_new_string(buf));
			}
			json_object_object_add(o, "reasons", r);
			json_object_array_add(a, o);
		}
		out_json_print(ctx->out, a);
		return;
	}
	{
		static const char *const headers[] = { "SKU", "SCORE", "MATCH", "REASONS", "TITLE" };
		static const enum out_align align[] = { OUT_LEFT, OUT_RIGHT, OUT_LEFT, OUT_LEFT, OUT_LEFT };
		struct out_table t;

		out_table_init(&t, 5, headers, align);
		for (size_t i = 0; i < n; i++) {
			char score[16], reasons[512];
			const char *row[5] = { c[i].sku, score, c[i].match ? "yes" : "no", reasons, c[i].title };

			pw_snprintf(score, sizeof(score), "%.3f", (double)c[i].score);
			(void)fuse_reasons_format(&c[i].fused, reasons, sizeof(reasons));
			out_table_add(&t, row);
		}
		out_table_print(ctx->out, &t, out_terminal_width(1));
		out_table_free(&t);
	}
}

static int
match_image(struct cli_ctx *ctx, const char *src, size_t top, bool allow_private)
{
	struct descriptor_model *model = NULL;
	struct matcher *mt = NULL;
	struct matcher_opts mo = {
		.threshold = config_threshold(&ctx->cfg),
		.top_k = (size_t)ctx->cfg.match.top_k > top ? (size_t)ctx->cfg.match.top_k : top,
		.cnn_min_side = (uint32_t)ctx->cfg.match.min_image_px,
		.storage = VINDEX_I8,
	};
	struct matcher_query q = { 0 };
	struct matcher_candidate *cands = NULL;
	struct descriptor d;
	struct matcher_stats ms;
	unsigned char *bytes = NULL;
	size_t len, n;
	char err[512];
	enum store_status s;
	int rc;

	memset(&d, 0, sizeof(d));
	if ((rc = cli_store_open(ctx)) != CLI_EXIT_OK || (rc = cli_descriptor_model_open(ctx, &model)) != CLI_EXIT_OK)
		return rc;
	if (!fetch_global_init()) {
		cli_error(ctx, "cannot initialise libcurl");
		descriptor_model_free(model);
		return CLI_EXIT_ERROR;
	}
	(void)matcher_new(&mt, model, &mo);
	if ((s = matcher_sync(mt, ctx->store, NULL)) != STORE_OK) {
		cli_error(ctx, "%s", store_error(ctx->store));
		rc = cli_exit_from_store(s);
		goto out;
	}
	matcher_stats_get(mt, &ms);
	if (ms.products == 0) {
		cli_error(ctx, "the catalogue is empty (pricewatch catalog import FILE)");
		rc = CLI_EXIT_NOT_FOUND;
		goto out;
	}
	bytes = cli_image_read(ctx, src, allow_private, &len, err, sizeof(err));
	if (bytes == NULL || !catalog_describe(ctx->store, model, bytes, len, src, &d, NULL, err, sizeof(err))) {
		cli_error(ctx, "%s", err);
		rc = CLI_EXIT_ERROR;
		goto out;
	}
	cands = xcalloc(top, sizeof(*cands));
	n = matcher_rank(mt, ctx->store, &q, &d, cands, top);
	print_candidates(ctx, cands, n);
out:
	fetch_global_cleanup();
	free(cands);
	free(bytes);
	descriptor_free(&d);
	matcher_free(mt);
	descriptor_model_free(model);
	return rc;
}

static int
match_override(struct cli_ctx *ctx, int argc, char **argv)
{
	bool confirm = strcmp(argv[0], "confirm") == 0;
	enum store_status s;
	int rc;

	if (argc != 3)
		return cli_usage_error(ctx, &cmd_match_entry, "%s takes LISTING and SKU", argv[0]);
	if ((rc = cli_store_open(ctx)) != CLI_EXIT_OK)
		return rc;
	s = matcher_override(ctx->store, argv[1], argv[2], confirm, time_now_ms());
	if (s != STORE_OK) {
		cli_error(ctx, "%s", store_error(ctx->store));
		return cli_exit_from_store(s);
	}
	fprintf(ctx->out, "%s: %s %s\n", argv[1], confirm ? "confirmed as" : "never again matched to", argv[2]);
	return CLI_EXIT_OK;
}

static int
cmd_match_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	int64_t top = MATCH_DEFAULT_TOP;
	bool allow_private = false;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:k:h", match_options, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (!parse_int64(optarg, 1, MATCH_MAX_TOP, &top))
				return cli_usage_error(ctx, &cmd_match_entry, "--top %s: expected 1 to %d", optarg,
				    MATCH_MAX_TOP);
			break;
		case OPT_ALLOW_PRIVATE:
			allow_private = true;
			break;
		default:
			if ((rc = cli_common_option(ctx, &cmd_match_entry, c, argv)) >= 0)
				return rc;
			break;
		}
	}
	if (optind >= argc)
		return cli_usage_error(ctx, &cmd_match_entry, "missing IMAGE, URL, confirm or reject");
	if (strcmp(argv[optind], "confirm") == 0 || strcmp(argv[optind], "reject") == 0)
		return match_override(ctx, argc - optind, argv + optind);
	if (optind + 1 != argc)
		return cli_usage_error(ctx, &cmd_match_entry, "one image at a time");
	if (ctx->format == CLI_FORMAT_CSV)
		return cli_usage_error(ctx, &cmd_match_entry, "--csv is not supported here (use --json)");
	if ((rc = cli_resolve(ctx)) != CLI_EXIT_OK)
		return rc;
	return match_image(ctx, argv[optind], (size_t)top, allow_private);
}
