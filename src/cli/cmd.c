/* cmd.c: the pricewatch command table, global option parsing, configuration/Redis resolution and help. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"

static int cmd_help_exec(struct cli_ctx *ctx, int argc, char **argv);

static const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.alias = NULL,
	.usage = "[COMMAND]",
	.summary = "show the commands, or one command's options",
	.help = NULL,
	.exec = cmd_help_exec,
};

/* Every command, in the order "pricewatch help" lists them. */
const struct cmd_entry *const cmd_table[] = {
	&cmd_extract_entry,
	&cmd_price_entry,
	&cmd_history_entry,
	&cmd_chart_entry,
	&cmd_listings_entry,
	&cmd_status_entry,
	&cmd_alerts_entry,
	&cmd_notify_entry,
	&cmd_catalog_entry,
	&cmd_match_entry,
	&cmd_infer_entry,
	&cmd_embed_entry,
	&cmd_bench_entry,
	&cmd_robots_entry,
	&cmd_crawl_entry,
	&cmd_help_entry,
	NULL,
};

/* Long-only option codes start above any character. */
enum { OPT_REDIS = 256, OPT_JSON, OPT_CSV };

static const struct option global_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "redis", required_argument, NULL, OPT_REDIS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "csv", no_argument, NULL, OPT_CSV },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* The one place that writes "pricewatch: MESSAGE\n", for cli_error and cli_usage_error. */
static void
cli_verror(struct cli_ctx *ctx, const char *fmt, va_list ap)
{
	fputs("pricewatch: ", ctx->err);
	vfprintf(ctx->err, fmt, ap);
	fputc('\n', ctx->err);
}

void
cli_error(struct cli_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_verror(ctx, fmt, ap);
	va_end(ap);
}

int
cli_usage_error(struct cli_ctx *ctx, const struct cmd_entry *entry, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_verror(ctx, fmt, ap);
	va_end(ap);
	if (entry != NULL)
		fprintf(ctx->err, "usage: pricewatch %s %s\n", entry->name, entry->usage);
	else
		fputs("usage: pricewatch [-c FILE] [--redis URL] [--json|--csv] COMMAND [ARGS]\n"
		    "Try 'pricewatch help'.\n", ctx->err);
	return CLI_EXIT_USAGE;
}

int
cli_option_error(struct cli_ctx *ctx, const struct cmd_entry *entry, int c, char **argv)
{
	/* getopt leaves the offending word at argv[optind - 1] for both cases. */
	const char *word = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		return cli_usage_error(ctx, entry, "option '%s' needs a value", word);
	if (optopt != 0 && optopt < 256)
		return cli_usage_error(ctx, entry, "unknown option '-%c'", optopt);
	return cli_usage_error(ctx, entry, "unknown option '%s'", word);
}

bool
cli_set_format(struct cli_ctx *ctx, enum cli_format format)
{
	if (ctx->format_set && ctx->format != format) {
		cli_error(ctx, "--json and --csv cannot be used together");
		return false;
	}
	ctx->format = format;
	ctx->format_set = true;
	return true;
}

const struct cmd_entry *
cmd_find(const char *name)
{
	const struct cmd_entry *found = NULL;
	size_t len = strlen(name);

	if (len == 0)
		return NULL;
	for (size_t i = 0; cmd_table[i] != NULL; i++) {
		const struct cmd_entry *e = cmd_table[i];

		if (strcmp(e->name, name) == 0 || (e->alias != NULL && strcmp(e->alias, name) == 0))
			return e;
	}
	/* A unique prefix is enough ("pricewatch hist"), as in tmux. */
	for (size_t i = 0; cmd_table[i] != NULL; i++) {
		if (strncmp(cmd_table[i]->name, name, len) == 0) {
			if (found != NULL)
				return NULL;
			found = cmd_table[i];
		}
	}
	return found;
}

static void
print_main_help(FILE *f)
{
	fprintf(f,
	    "usage: pricewatch [-c FILE] [--redis URL] [--json|--csv] COMMAND [ARGS]\n"
	    "       pricewatch -h | --help | -V | --version | help [COMMAND]\n"
	    "\n"
	    "Global options (before the command):\n"
	    "  -c, --config FILE  configuration file (default %s;\n"
	    "                     built-in defaults when that file does not exist)\n"
	    "      --redis URL    Redis to read: redis://[user:pass@]host:port/db or\n"
	    "                     unix:///path.sock?db=N; \"\" means the private redis-server\n"
	    "                     in the state directory (overrides $%s and the file)\n"
	    "      --json         JSON output (prices as strings and integer minor units)\n"
	    "      --csv          CSV output (RFC 4180)\n"
	    "  -h, --help         show this help\n"
	    "  -V, --version      show the version\n"
	    "\n"
	    "Commands:\n", CONFIG_DEFAULT_PATH, CLI_ENV_REDIS);
	for (size_t i = 0; cmd_table[i] != NULL; i++)
		fprintf(f, "  %-10s %s\n", cmd_table[i]->name, cmd_table[i]->summary);
	fputs("\n"
	    "Exit status: 0 success, 1 not found or no data, 2 usage error,\n"
	    "3 cannot reach Redis, 4 other error.\n"
	    "See pricewatch(1) and 'pricewatch help COMMAND'.\n", f);
}

void
cmd_print_help(FILE *f, const struct cmd_entry *entry)
{
	fprintf(f, "usage: pricewatch %s %s\n", entry->name, entry->usage);
	fprintf(f, "%s\n", entry->summary);
	if (entry->alias != NULL)
		fprintf(f, "alias: %s\n", entry->alias);
	if (entry->help != NULL)
		fprintf(f, "\n%s", entry->help);
}

static int
cmd_help_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e;

	if (argc > 2)
		return cli_usage_error(ctx, &cmd_help_entry, "too many arguments");
	if (argc < 2) {
		print_main_help(ctx->out);
		return CLI_EXIT_OK;
	}
	if ((e = cmd_find(argv[1])) == NULL)
		return cli_usage_error(ctx, NULL, "unknown command '%s'", argv[1]);
	cmd_print_help(ctx->out, e);
	return CLI_EXIT_OK;
}

const char *
cli_pick_redis_url(const char *opt, const char *env, const char *cfg_url, const char *cfg_path,
    const char **from)
{
	/* An explicit --redis wins even when empty: --redis '' asks for the private store. */
	if (opt != NULL) {
		*from = "--redis";
		return opt;
	}
	/* An empty variable counts as unset, the usual convention for the environment. */
	if (env != NULL && env[0] != '\0') {
		*from = "$" CLI_ENV_REDIS;
		return env;
	}
	if (cfg_url != NULL && cfg_url[0] != '\0') {
		*from = cfg_path != NULL ? cfg_path : "the configuration";
		return cfg_url;
	}
	*from = "the built-in default (private store)";
	return "";
}

int
cli_resolve(struct cli_ctx *ctx)
{
	const char *path = ctx->config_path != NULL ? ctx->config_path : CONFIG_DEFAULT_PATH;
	const char *url;
	char err[512];
	struct stat sb;

	if (ctx->cfg_loaded)
		return CLI_EXIT_OK;
	if (stat(path, &sb) != 0 && errno == ENOENT) {
		if (ctx->config_path != NULL) {
			cli_error(ctx, "configuration file '%s' does not exist", path);
			return CLI_EXIT_ERROR;
		}
		/* No file at the default place: the built-in defaults, as for the daemon. */
		config_defaults(&ctx->cfg);
	} else if (!config_load(&ctx->cfg, path, err, sizeof err)) {
		cli_error(ctx, "%s", err);
		return CLI_EXIT_ERROR;
	}
	ctx->cfg_loaded = true;

	url = cli_pick_redis_url(ctx->redis_opt, getenv(CLI_ENV_REDIS), ctx->cfg.redis.url,
	    ctx->cfg.path != NULL ? ctx->cfg.path : path, &ctx->redis_from);
	ctx->redis_url = xstrdup(url);
	return CLI_EXIT_OK;
}

int
cli_exit_from_store(enum store_status status)
{
	switch (status) {
	case STORE_OK:
		return CLI_EXIT_OK;
	case STORE_NOT_FOUND:
		return CLI_EXIT_NOT_FOUND;
	case STORE_UNREACHABLE:
		return CLI_EXIT_UNREACHABLE;
	case STORE_ERROR:
	case STORE_SCHEMA_MISMATCH:
		break;
	}
	return CLI_EXIT_ERROR;
}

char *
cli_redact_url(const char *url)
{
	const char *scheme = strstr(url, "://");
	const char *auth, *end, *at, *colon;

	if (scheme == NULL)
		return xstrdup(url);
	auth = scheme + 3;
	end = auth + strcspn(auth, "/?#");
	at = memchr(auth, '@', (size_t)(end - auth));
	if (at == NULL)
		return xstrdup(url);
	colon = memchr(auth, ':', (size_t)(at - auth));
	/* user:secret@host keeps the user; secret@host (password only) loses all of it. */
	if (colon != NULL)
		return xasprintf("%.*s:***%s", (int)(colon - url), url, at);
	return xasprintf("%.*s***%s", (int)(auth - url), url, at);
}

int
cli_store_open(struct cli_ctx *ctx)
{
	struct store_opts opts;
	enum store_status status;
	const char *url;
	char err[512];
	char *shown;
	struct stat sb;
	int rc;

	if (ctx->store != NULL)
		return CLI_EXIT_OK;
	if ((rc = cli_resolve(ctx)) != CLI_EXIT_OK)
		return rc;

	url = ctx->redis_url;
	if (url[0] == '\0') {
		const char *dir = ctx->cfg.daemon.state_dir;

		/*
		 * Starting a server would create an empty store (and the directory) only to
		 * report that it is empty: without the daemon's state dir there is no data.
		 */
		if (dir == NULL || dir[0] == '\0' || (stat(dir, &sb) != 0 && errno == ENOENT)) {
			cli_error(ctx, "no data yet: pricewatchd has not run with state-dir %s (give --redis URL, "
			    "or -c FILE)", dir != NULL && dir[0] != '\0' ? dir : "(none)");
			return CLI_EXIT_NOT_FOUND;
		}
		if (!private_redis_start(&ctx->priv, dir != NULL ? dir : "", err, sizeof err)) {
			cli_error(ctx, "cannot reach Redis: no URL is configured and the private "
			    "redis-server could not be started: %s", err);
			cli_error(ctx, "give a URL with --redis URL, $%s or [redis] url in the "
			    "configuration file", CLI_ENV_REDIS);
			return CLI_EXIT_UNREACHABLE;
		}
		ctx->priv_used = true;
		url = ctx->priv.url;
	}

	memset(&opts, 0, sizeof opts);
	opts.url = url;
	opts.prefix = ctx->cfg.redis.prefix;
	opts.user = ctx->cfg.redis.user;
	opts.password = ctx->cfg.redis.password;
	opts.connect_timeout_ms = ctx->cfg.redis.connect_timeout_ms;
	opts.command_timeout_ms = ctx->cfg.redis.command_timeout_ms;
	err[0] = '\0';
	status = store_open(&ctx->store, &opts, err, sizeof err);
	if (status == STORE_OK)
		return CLI_EXIT_OK;
	ctx->store = NULL;

	shown = cli_redact_url(url);
	if (status == STORE_UNREACHABLE) {
		/* The store's sentence says why; this one says where the URL came from and the fix. */
		if (err[0] != '\0')
			cli_error(ctx, "%s", err);
		cli_error(ctx, "cannot reach Redis at %s (from %s): start redis-server there, or give "
		    "the right URL with --redis URL, $%s or [redis] url in the configuration file",
		    shown, ctx->redis_from, CLI_ENV_REDIS);
	} else {
		cli_error(ctx, "Redis at %s: %s", shown, err[0] != '\0' ? err : "cannot open the store");
	}
	free(shown);
	return cli_exit_from_store(status);
}

void
cli_ctx_release(struct cli_ctx *ctx)
{
	if (ctx->store != NULL) {
		store_close(ctx->store);
		ctx->store = NULL;
	}
	/* Stops the private redis-server only if this process started it (private.h). */
	if (ctx->priv_used) {
		private_redis_stop(&ctx->priv);
		ctx->priv_used = false;
	}
	if (ctx->cfg_loaded) {
		config_free(&ctx->cfg);
		ctx->cfg_loaded = false;
	}
	free(ctx->redis_url);
	ctx->redis_url = NULL;
}

bool
cli_parse_time_arg(const char *text, int64_t now_ms, int64_t *ms_out)
{
	size_t len = strlen(text);
	int64_t d;

	if (len == 0)
		return false;
	/* A trailing unit letter makes it a duration back from now ("30d"); "...Z" is not one. */
	if (isalpha((unsigned char)text[len - 1]) && parse_duration_ms(text, &d)) {
		*ms_out = d < now_ms ? now_ms - d : 0;
		return true;
	}
	return time_parse_iso(text, ms_out);
}

int
cli_run(int argc, char **argv, FILE *out, FILE *err)
{
	struct cli_ctx ctx;
	const struct cmd_entry *entry;
	int c, rc;

	memset(&ctx, 0, sizeof ctx);
	ctx.out = out;
	ctx.err = err;

	/* "+": stop at the command name so its own options are left for it. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:c:hV", global_options, NULL)) != -1) {
		switch (c) {
		case 'c':
			ctx.config_path = optarg;
			break;
		case OPT_REDIS:
			ctx.redis_opt = optarg;
			break;
		case OPT_JSON:
		case OPT_CSV:
			if (!cli_set_format(&ctx, c == OPT_JSON ? CLI_FORMAT_JSON : CLI_FORMAT_CSV))
				return CLI_EXIT_USAGE;
			break;
		case 'h':
			print_main_help(out);
			return CLI_EXIT_OK;
		case 'V':
			fprintf(out, "pricewatch %s\n", PACKAGE_VERSION);
			return CLI_EXIT_OK;
		default:
			return cli_option_error(&ctx, NULL, c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error(&ctx, NULL, "no command given");
	if ((entry = cmd_find(argv[optind])) == NULL)
		return cli_usage_error(&ctx, NULL, "unknown command '%s'", argv[optind]);

	rc = entry->exec(&ctx, argc - optind, argv + optind);
	cli_ctx_release(&ctx);

	if (fflush(out) != 0 || ferror(out)) {
		/* A closed pipe (pricewatch ... | head) is the reader's choice, not an error to report. */
		if (errno != EPIPE)
			cli_error(&ctx, "cannot write the output: %s", strerror(errno));
		if (rc == CLI_EXIT_OK)
			rc = CLI_EXIT_ERROR;
	}
	return rc;
}
