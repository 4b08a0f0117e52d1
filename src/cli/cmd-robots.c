/* cmd-robots.c: "pricewatch robots": says whether robots.txt lets the crawler fetch each URL, with the crawler's own parser. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/util.h"
#include "crawl/robots.h"

static int cmd_robots_exec(struct cli_ctx *ctx, int argc, char **argv);

const struct cmd_entry cmd_robots_entry = {
	.name = "robots",
	.alias = NULL,
	.usage = "[--agent UA] [--json|--csv] ROBOTS_FILE URL...",
	.summary = "check URLs against a robots.txt file (RFC 9309) as the crawler would",
	.help =
	    "Prints \"allow URL\" or \"disallow URL\" for each URL. ROBOTS_FILE is a saved\n"
	    "robots.txt, or - for standard input; a URL may also be a bare path (/a/b?c).\n"
	    "Options:\n"
	    "  -a, --agent UA  the User-Agent (or bare product token) to match groups with;\n"
	    "                  default: [crawl] user-agent from the configuration\n"
	    "      --json      JSON: agent, crawl delay, sitemaps and one result per URL\n"
	    "      --csv       CSV: verdict,url\n"
	    "  -h, --help      show this help\n"
	    "Lines the parser cannot use are reported on standard error and skipped.\n"
	    "Exit status: 0 every URL allowed, 1 at least one disallowed, 2 usage error,\n"
	    "4 ROBOTS_FILE cannot be read.\n",
	.exec = cmd_robots_exec,
};

static const struct option robots_options[] = {
	{ "agent", required_argument, NULL, 'a' },
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "csv", no_argument, NULL, CLI_OPT_CSV },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
print_json(struct cli_ctx *ctx, const struct robots *r, const char *agent, char **urls, size_t n,
    const bool *allowed)
{
	struct json_object *root = json_object_new_object(), *arr = json_object_new_array();
	struct json_object *maps = json_object_new_array();
	int64_t delay = robots_crawl_delay_ms(r, agent);

	json_object_object_add(root, "agent", out_json_str(agent));
	json_object_object_add(root, "crawl_delay_ms", delay >= 0 ? json_object_new_int64(delay) : NULL);
	for (size_t i = 0; i < robots_sitemap_count(r); i++)
		json_object_array_add(maps, out_json_str(robots_sitemap(r, i)));
	json_object_object_add(root, "sitemaps", maps);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "url", out_json_str(urls[i]));
		json_object_object_add(o, "allowed", json_object_new_boolean(allowed[i]));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "results", arr);
	out_json_print(ctx->out, root);
}

static int
cmd_robots_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *agent = NULL, *path;
	const struct robots_stats *st;
	struct robots *r;
	char *text;
	size_t len = 0, n;
	bool *allowed, any_disallowed = false;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:a:h", robots_options, NULL)) != -1) {
		switch (c) {
		case 'a':
			agent = optarg;
			break;
		default:
			if ((rc = cli_common_option(ctx, &cmd_robots_entry, c, argv)) >= 0)
				return rc;
			break;
		}
	}
	if (argc - optind < 1)
		return cli_usage_error(ctx, &cmd_robots_entry, "no robots.txt file given");
	if (argc - optind < 2)
		return cli_usage_error(ctx, &cmd_robots_entry, "no URL given");
	if (agent != NULL && agent[0] == '\0')
		return cli_usage_error(ctx, &cmd_robots_entry, "--agent is empty");
	path = argv[optind];

	/* Without --agent, match as the crawler does: with the configured User-Agent. */
	if (agent == NULL) {
		if ((rc = cli_resolve(ctx)) != CLI_EXIT_OK)
			return rc;
		agent = ctx->cfg.crawl.user_agent != NULL ? ctx->cfg.crawl.user_agent : "pricewatch";
	}

	/* One byte over the limit lets the parser tell an oversized file (it reads the first 500 KiB, as the crawler does). */
	text = cli_read_input(path, ROBOTS_MAX_BYTES + 1, &len);
	if (text == NULL) {
		cli_error(ctx, "cannot read %s: %s", strcmp(path, "-") == 0 ? "standard input" : path,
		    strerror(errno));
		return CLI_EXIT_ERROR;
	}
	r = robots_parse(text, len);
	free(text);

	st = robots_stats(r);
	if (st->truncated)
		cli_error(ctx, "%s: larger than %zu bytes: only the first %zu were read (RFC 9309 limit)",
		    path, ROBOTS_MAX_BYTES, ROBOTS_MAX_BYTES);
	if (st->ignored == 1)
		cli_error(ctx, "%s:%zu: line ignored: not a robots.txt record, or a rule before any "
		    "user-agent line", path, st->first_ignored_line);
	else if (st->ignored > 1)
		cli_error(ctx, "%s:%zu: %zu lines ignored, the first here: not robots.txt records, or "
		    "rules before any user-agent line", path, st->first_ignored_line, st->ignored);

	n = (size_t)(argc - optind - 1);
	allowed = xcalloc(n, sizeof *allowed);
	for (size_t i = 0; i < n; i++) {
		allowed[i] = robots_allowed(r, agent, argv[optind + 1 + i]);
		any_disallowed |= !allowed[i];
	}

	switch (ctx->format) {
	case CLI_FORMAT_JSON:
		print_json(ctx, r, agent, argv + optind + 1, n, allowed);
		break;
	case CLI_FORMAT_CSV: {
		static const char *const head[] = { "verdict", "url" };
		out_csv_row(ctx->out, head, 2);
		for (size_t i = 0; i < n; i++) {
			const char *row[2] = { allowed[i] ? "allow" : "disallow", argv[optind + 1 + i] };
			out_csv_row(ctx->out, row, 2);
		}
		break;
	}
	case CLI_FORMAT_TABLE:
		for (size_t i = 0; i < n; i++) {
			/* The URL as given, made safe for a terminal (no escape sequences from a file). */
			char *shown = out_display_clip(argv[optind + 1 + i], 0);
			fprintf(ctx->out, "%s %s\n", allowed[i] ? "allow" : "disallow", shown);
			free(shown);
		}
		break;
	}
	free(allowed);
	robots_free(r);
	return any_disallowed ? CLI_EXIT_NOT_FOUND : CLI_EXIT_OK;
}
