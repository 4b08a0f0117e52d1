/* cmd-notify.c: "pricewatch notify test CHANNEL": sends one test message through a configured notifier and says where it failed. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alert/alert.h"
#include "cli/cli.h"
#include "common/util.h"
#include "crawl/fetch.h"

/* Beyond the shared exit codes (cli.h): how a test delivery failed, as pricewatch(1) documents. */
enum {
	NOTIFY_EXIT_RETRYABLE = 5,     /* the daemon would retry: transport errors, HTTP 408/429/5xx, SMTP 4xx */
	NOTIFY_EXIT_REFUSED = 6,       /* would never work as configured: bad URL, login denied, HTTP 4xx, SMTP 5xx */
};

static int cmd_notify_exec(struct cli_ctx *ctx, int argc, char **argv);

const struct cmd_entry cmd_notify_entry = {
	.name = "notify",
	.alias = NULL,
	.usage = "test CHANNEL [--json]",
	.summary = "send a test message through a configured notifier and report the outcome",
	.help =
	    "Sends one message marked as a test through the [notifier \"CHANNEL\"] of the\n"
	    "configuration, right away (not through the alerts queue), with the notifier's\n"
	    "format, signature, sender and timeouts, and reports where it failed: dns,\n"
	    "connect, timeout, tls, auth, http (the status) or smtp (the server's reply).\n"
	    "Options:\n"
	    "      --json        JSON: {channel, type, delivered, stage, code, key, error}\n"
	    "  -h, --help        show this help\n"
	    "Exit status: 0 delivered; 1 no notifier of that name; 2 usage or configuration\n"
	    "error; 5 failed and the daemon would retry (transport errors such as dns,\n"
	    "connect, timeout, tls; HTTP 408, 429, 5xx; SMTP 4xx); 6 refused, it will not\n"
	    "work as configured (bad URL, login denied, other HTTP statuses, SMTP 5xx).\n",
	.exec = cmd_notify_exec,
};

static const struct option notify_options[] = {
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
print_result(struct cli_ctx *ctx, const char *channel, const struct alert_test_result *res)
{
	if (ctx->format == CLI_FORMAT_JSON) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "channel", json_object_new_string(channel));
		json_object_object_add(o, "type", json_object_new_string(res->kind));
		json_object_object_add(o, "delivered", json_object_new_boolean(res->delivery == DELIVERY_OK));
		json_object_object_add(o, "stage", json_object_new_string(res->stage));
		json_object_object_add(o, "code", res->code > 0 ? json_object_new_int64(res->code) : NULL);
		json_object_object_add(o, "key", json_object_new_string(res->key));
		json_object_object_add(o, "error", res->error[0] != '\0' ? json_object_new_string(res->error) : NULL);
		out_json_print(ctx->out, o);
		return;
	}
	if (res->delivery == DELIVERY_OK) {
		if (res->code > 0)
			fprintf(ctx->out, "%s (%s): delivered, %s %ld (key %s)\n", channel, res->kind,
			    strcmp(res->kind, "email") == 0 ? "SMTP reply" : "HTTP", res->code, res->key);
		else
			fprintf(ctx->out, "%s (%s): delivered (key %s)\n", channel, res->kind, res->key);
		return;
	}
	fprintf(ctx->out, "%s (%s): FAILED at %s%s: %s\n", channel, res->kind, res->stage,
	    res->delivery == DELIVERY_RETRY ? " (the daemon would retry)" : " (not retried: fix the notifier)",
	    res->error);
}

static int
cmd_notify_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	struct alert_engine *eng = NULL;
	struct alert_test_result res;
	char err[1024];
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", notify_options, NULL)) != -1) {
		switch (c) {
		default:
			if ((rc = cli_common_option(ctx, &cmd_notify_entry, c, argv)) >= 0)
				return rc;
			break;
		}
	}
	if (ctx->format == CLI_FORMAT_CSV)
		return cli_usage_error(ctx, &cmd_notify_entry, "--csv is not supported here (use --json)");
	if (optind >= argc || strcmp(argv[optind], "test") != 0)
		return cli_usage_error(ctx, &cmd_notify_entry, optind < argc ? "unknown subcommand '%s'" :
		    "no subcommand given%s", optind < argc ? argv[optind] : "");
	if (argc - optind != 2)
		return cli_usage_error(ctx, &cmd_notify_entry, "test: one notifier name expected");
	if ((rc = cli_resolve(ctx)) != CLI_EXIT_OK)
		return rc;
	if (!alert_engine_new(&eng, &ctx->cfg, err, sizeof(err))) {
		cli_error(ctx, "%s", err);
		return CLI_EXIT_USAGE;
	}
	if (!fetch_global_init()) {
		cli_error(ctx, "cannot initialise libcurl");
		alert_engine_free(eng);
		return CLI_EXIT_ERROR;
	}
	if (!alert_engine_test(eng, argv[optind + 1], time_now_ms(), &res)) {
		cli_error(ctx, "no [notifier \"%s\"] in %s", argv[optind + 1],
		    ctx->cfg.path != NULL ? ctx->cfg.path : "the configuration");
		alert_engine_free(eng);
		return CLI_EXIT_NOT_FOUND;
	}
	print_result(ctx, argv[optind + 1], &res);
	alert_engine_free(eng);
	if (res.delivery == DELIVERY_OK)
		return CLI_EXIT_OK;
	return res.delivery == DELIVERY_RETRY ? NOTIFY_EXIT_RETRYABLE : NOTIFY_EXIT_REFUSED;
}
