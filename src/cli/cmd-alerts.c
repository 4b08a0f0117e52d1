/* cmd-alerts.c: "pricewatch alerts": recent alerts with their delivery state per channel, the dead letters, and retrying one. */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "alert/format.h"
#include "alert/queue.h"
#include "cli/cli.h"
#include "common/util.h"

#define ALERTS_DEFAULT_SINCE "1d"
#define ALERTS_DEFAULT_LIMIT 100

static int cmd_alerts_exec(struct cli_ctx *ctx, int argc, char **argv);

const struct cmd_entry cmd_alerts_entry = {
	.name = "alerts",
	.alias = NULL,
	.usage = "[--since WHEN] [--limit N] [--dead] [--json] | retry DEAD_ID",
	.summary = "show recent alerts and their delivery per channel, or the dead letters; retry one",
	.help =
	    "Lists the alerts of pw:alerts, newest first, with the delivery state of each\n"
	    "channel (delivered, retry, dead, digest while it waits for the channel's\n"
	    "digest, or pending when no worker tried it yet).\n"
	    "\"alerts retry DEAD_ID\" puts a dead letter back in the queue for its channel\n"
	    "(same idempotency key) and prints the new alert entry's id.\n"
	    "Options:\n"
	    "  -s, --since WHEN  only alerts since then: a duration back from now (30m, 12h,\n"
	    "                    7d) or a time (2026-01-31, 2026-01-31T12:00Z, epoch seconds);\n"
	    "                    default 1d, and all dead letters with --dead\n"
	    "  -n, --limit N     at most N entries (default 100)\n"
	    "  -d, --dead        the dead letters (pw:alerts:dead): their ids are what retry takes\n"
	    "      --json        JSON: an array of alerts (or dead letters)\n"
	    "  -h, --help        show this help\n"
	    "Exit status 1 when there is no alert in the range (or no such dead letter).\n",
	.exec = cmd_alerts_exec,
};

static const struct option alerts_options[] = {
	{ "since", required_argument, NULL, 's' },
	{ "limit", required_argument, NULL, 'n' },
	{ "dead", no_argument, NULL, 'd' },
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static bool
reply_is_text(const redisReply *r)
{
	return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

/* The value of name in a stream entry's field/value array (or a hash's HGETALL), "" when absent. */
static const char *
field(const redisReply *fv, const char *name)
{
	if (fv == NULL || fv->type != REDIS_REPLY_ARRAY)
		return "";
	for (size_t i = 0; i + 1 < fv->elements; i += 2)
		if (reply_is_text(fv->element[i]) && reply_is_text(fv->element[i + 1]) &&
		    strcmp(fv->element[i]->str, name) == 0)
			return fv->element[i + 1]->str;
	return "";
}

/* An XRANGE/XREVRANGE entry is [id, [field, value, ...]]. */
static bool
entry_valid(const redisReply *e)
{
	return e->type == REDIS_REPLY_ARRAY && e->elements == 2 && reply_is_text(e->element[0]) &&
	    e->element[1]->type == REDIS_REPLY_ARRAY;
}

/* Epoch ms of a stream id ("1790000000000-0"). */
static int64_t
entry_ms(const char *id)
{
	int64_t ms = 0;

	for (; isdigit((unsigned char)*id); id++) {
		if (ms > (INT64_MAX - 9) / 10)
			return 0;
		ms = ms * 10 + (*id - '0');
	}
	return ms;
}

/* A field holding an integer, as a JSON integer; null when empty or not a number. */
static struct json_object *
json_int_field(const char *s)
{
	int64_t v;

	return parse_int64(s, INT64_MIN, INT64_MAX, &v) ? json_object_new_int64(v) : NULL;
}

/* The alert's own fields, in the shape of the webhook body (docs/alerts.md); entry is [id, [f, v, ...]]. */
static struct json_object *
json_alert(const redisReply *entry)
{
	struct alert_msg msg;
	struct json_object *o;

	if (!alert_msg_from_entry(entry, &msg)) {
		alert_msg_free(&msg);
		return json_object_new_object();
	}
	o = alert_json(&msg);
	alert_msg_free(&msg);
	return o;
}

/* "20.00 -> 17.99 USD (-10.05%), in_stock -> out_of_stock": what changed, short. */
static void
describe_change(const redisReply *fv, char *buf, size_t len)
{
	const char *op = field(fv, "old_price"), *np = field(fv, "new_price");
	const char *oc = field(fv, "old_currency"), *nc = field(fv, "new_currency");
	const char *oa = field(fv, "old_availability"), *na = field(fv, "new_availability");
	const char *pct = field(fv, "percent");
	size_t n;

	buf[0] = '\0';
	if (op[0] != '\0' && np[0] != '\0' && strcmp(oc, nc) == 0)
		pw_snprintf(buf, len, "%s -> %s %s", op, np, nc);
	else if (op[0] != '\0' && np[0] != '\0')
		pw_snprintf(buf, len, "%s %s -> %s %s", op, oc, np, nc);
	else if (np[0] != '\0')
		pw_snprintf(buf, len, "%s %s", np, nc);
	n = strlen(buf);
	if (pct[0] != '\0' && n > 0)
		pw_snprintf(buf + n, len - n, " (%s%%)", pct);
	n = strlen(buf);
	if (strcmp(oa, na) != 0 && na[0] != '\0')
		pw_snprintf(buf + n, len - n, "%s%s -> %s", n > 0 ? ", " : "", oa[0] ? oa : "unknown", na);
}

/* One channel's delivery state from the pw:alert:delivery:<key> hash ("pending" when absent). */
static const char *
channel_state(const redisReply *dh, const char *ch, char *name, size_t len, const char *suffix)
{
	pw_snprintf(name, len, "%s.%s", ch, suffix);
	return field(dh, name);
}

/* Reads pw:alert:delivery:<key>; NULL reply (and an exit code) on failure. */
static int
load_delivery(struct cli_ctx *ctx, const char *key, redisReply **dh)
{
	char *hk = xasprintf("%salert:delivery:%s", store_prefix(ctx->store), key);
	const char *argv[] = { "HGETALL", hk };
	enum store_status s = store_command(ctx->store, 2, argv, dh);

	free(hk);
	if (s != STORE_OK) {
		cli_error(ctx, "%s", store_error(ctx->store));
		*dh = NULL;
		return cli_exit_from_store(s);
	}
	return CLI_EXIT_OK;
}

/* Adds the channels' states to o (JSON) and/or writes "webhook:delivered mail:retry(2)" into buf. */
static void
describe_delivery(const redisReply *fv, const redisReply *dh, struct json_object *arr, char *buf, size_t len)
{
	char *list = xstrdup(field(fv, "channels")), *save = NULL, *ch, name[200];
	size_t n = 0;

	buf[0] = '\0';
	for (ch = strtok_r(list, ",", &save); ch != NULL; ch = strtok_r(NULL, ",", &save)) {
		const char *state = channel_state(dh, ch, name, sizeof name, "state");
		const char *attempts = channel_state(dh, ch, name, sizeof name, "attempts");

		if (state[0] == '\0')
			state = "pending";
		if (arr != NULL) {
			struct json_object *o = json_object_new_object();

			out_json_add_str(o, "channel", ch);
			json_object_object_add(o, "state", json_object_new_string(state));
			json_object_object_add(o, "attempts", json_int_field(attempts));
			json_object_object_add(o, "next_ms",
			    json_int_field(channel_state(dh, ch, name, sizeof name, "next_ms")));
			out_json_add_str(o, "error", channel_state(dh, ch, name, sizeof name, "error"));
			json_object_array_add(arr, o);
		}
		if (strcmp(state, "retry") == 0 && attempts[0] != '\0')
			pw_snprintf(buf + n, len - n, "%s%s:retry(%s)", n > 0 ? " " : "", ch, attempts);
		else
			pw_snprintf(buf + n, len - n, "%s%s:%s", n > 0 ? " " : "", ch, state);
		n = strlen(buf);
	}
	free(list);
}

static void
iso_of_ms(int64_t ms, char *buf, size_t len)
{
	out_time(ms, buf, len);
	if (buf[0] == '\0')
		pw_strlcpy(buf, "-", len);
}

static int
print_alerts(struct cli_ctx *ctx, const redisReply *r)
{
	static const char *const headers[] = { "TIME", "RULE", "LISTING", "CHANGE", "DELIVERY" };
	struct json_object *arr = NULL;
	struct out_table t;
	int rc = CLI_EXIT_OK;

	if (ctx->format == CLI_FORMAT_JSON)
		arr = json_object_new_array();
	else
		out_table_init(&t, 5, headers, NULL);
	for (size_t i = 0; i < r->elements && rc == CLI_EXIT_OK; i++) {
		const redisReply *e = r->element[i], *fv;
		redisReply *dh;
		char when[40], change[256], delivery[512];

		if (!entry_valid(e))
			continue;
		fv = e->element[1];
		if ((rc = load_delivery(ctx, field(fv, "id"), &dh)) != CLI_EXIT_OK)
			break;
		if (arr != NULL) {
			struct json_object *o = json_alert(e), *chs = json_object_new_array();

			json_object_object_add(o, "entry_id", json_object_new_string(e->element[0]->str));
			describe_delivery(fv, dh, chs, delivery, sizeof delivery);
			json_object_object_add(o, "channels", chs);
			json_object_array_add(arr, o);
		} else {
			const char *row[5];
			int64_t ms = 0;

			if (!parse_int64(field(fv, "time_ms"), 0, INT64_MAX, &ms))
				ms = entry_ms(e->element[0]->str);
			iso_of_ms(ms, when, sizeof when);
			describe_change(fv, change, sizeof change);
			describe_delivery(fv, dh, NULL, delivery, sizeof delivery);
			row[0] = when;
			row[1] = field(fv, "rule");
			row[2] = field(fv, "listing");
			row[3] = change;
			row[4] = delivery;
			out_table_add(&t, row);
		}
		freeReplyObject(dh);
	}
	if (arr != NULL) {
		if (rc == CLI_EXIT_OK)
			out_json_print(ctx->out, arr);
		else
			json_object_put(arr);
	} else {
		if (rc == CLI_EXIT_OK)
			out_table_print(ctx->out, &t, out_terminal_width(fileno(ctx->out)));
		out_table_free(&t);
	}
	return rc;
}

static void
print_dead(struct cli_ctx *ctx, const redisReply *r)
{
	static const char *const headers[] = { "DEAD ID", "DEAD AT", "CHANNEL", "TRIES", "RULE", "LISTING",
		"ERROR" };
	struct json_object *arr = NULL;
	struct out_table t;

	if (ctx->format == CLI_FORMAT_JSON)
		arr = json_object_new_array();
	else
		out_table_init(&t, 7, headers, NULL);
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i], *fv;
		int64_t dead_ms;
		char when[40];

		if (!entry_valid(e))
			continue;
		fv = e->element[1];
		if (!parse_int64(field(fv, "dead_ms"), 0, INT64_MAX, &dead_ms))
			dead_ms = entry_ms(e->element[0]->str);
		iso_of_ms(dead_ms, when, sizeof when);
		if (arr != NULL) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "dead_id", json_object_new_string(e->element[0]->str));
			json_object_object_add(o, "dead_time", json_object_new_string(when));
			json_object_object_add(o, "dead_ms", json_object_new_int64(dead_ms));
			out_json_add_str(o, "channel", field(fv, "channel"));
			json_object_object_add(o, "attempts", json_int_field(field(fv, "attempts")));
			out_json_add_str(o, "error", field(fv, "error"));
			json_object_object_add(o, "alert", json_alert(e));
			json_object_array_add(arr, o);
		} else {
			const char *row[7] = { e->element[0]->str, when, field(fv, "channel"), field(fv, "attempts"),
				field(fv, "rule"), field(fv, "listing"), field(fv, "error") };
			out_table_add(&t, row);
		}
	}
	if (arr != NULL)
		out_json_print(ctx->out, arr);
	else {
		out_table_print(ctx->out, &t, out_terminal_width(fileno(ctx->out)));
		out_table_free(&t);
	}
}

/* A stream id as "alerts retry" takes it: MS-SEQ, digits only. */
static bool
stream_id_valid(const char *id)
{
	const char *p = id;

	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p++ != '-' || !isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	return *p == '\0' && strlen(id) < 42;
}

static int
alerts_retry(struct cli_ctx *ctx, int argc, char **argv)
{
	char new_id[64];
	enum store_status s;
	int rc;

	if (argc < 2)
		return cli_usage_error(ctx, &cmd_alerts_entry, "retry: no dead letter id given "
		    "(see 'pricewatch alerts --dead')");
	if (argc > 2)
		return cli_usage_error(ctx, &cmd_alerts_entry, "retry: one dead letter id at a time");
	if (!stream_id_valid(argv[1]))
		return cli_usage_error(ctx, &cmd_alerts_entry, "retry: '%s' is not a stream id such as "
		    "1790000000000-0", argv[1]);
	if ((rc = cli_store_open(ctx)) != CLI_EXIT_OK)
		return rc;
	s = alert_dead_retry(ctx->store, argv[1], new_id, sizeof new_id);
	if (s == STORE_NOT_FOUND) {
		cli_error(ctx, "no dead letter %s in %salerts:dead", argv[1], store_prefix(ctx->store));
		return CLI_EXIT_NOT_FOUND;
	}
	if (s != STORE_OK) {
		cli_error(ctx, "%s", store_error(ctx->store));
		return cli_exit_from_store(s);
	}
	if (ctx->format == CLI_FORMAT_JSON) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "dead_id", json_object_new_string(argv[1]));
		json_object_object_add(o, "entry_id", json_object_new_string(new_id));
		out_json_print(ctx->out, o);
	} else
		fprintf(ctx->out, "re-queued %s as %s\n", argv[1], new_id);
	return CLI_EXIT_OK;
}

static int
cmd_alerts_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *since = NULL;
	char start[32], count[24], *key;
	int64_t since_ms = 0, limit = ALERTS_DEFAULT_LIMIT;
	bool dead = false;
	redisReply *r;
	enum store_status s;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:s:n:dh", alerts_options, NULL)) != -1) {
		switch (c) {
		case 's':
			since = optarg;
			break;
		case 'n':
			if (!parse_int64(optarg, 1, 1000000, &limit))
				return cli_usage_error(ctx, &cmd_alerts_entry, "--limit %s: expected 1 to 1000000",
				    optarg);
			break;
		case 'd':
			dead = true;
			break;
		default:
			if ((rc = cli_common_option(ctx, &cmd_alerts_entry, c, argv)) >= 0)
				return rc;
			break;
		}
	}
	if (ctx->format == CLI_FORMAT_CSV)
		return cli_usage_error(ctx, &cmd_alerts_entry, "--csv is not supported here (use --json)");
	if (optind < argc && strcmp(argv[optind], "retry") == 0) {
		if (since != NULL || dead)
			return cli_usage_error(ctx, &cmd_alerts_entry, "retry takes no --since or --dead");
		return alerts_retry(ctx, argc - optind, argv + optind);
	}
	if (optind < argc)
		return cli_usage_error(ctx, &cmd_alerts_entry, "unexpected argument '%s'", argv[optind]);
	/* Dead letters wait for someone to act on them: all of them unless --since says otherwise. */
	if (since == NULL && !dead)
		since = ALERTS_DEFAULT_SINCE;
	if (since != NULL && !cli_parse_time_arg(since, time_now_ms(), &since_ms))
		return cli_usage_error(ctx, &cmd_alerts_entry,
		    "--since %s: expected a duration (7d, 12h) or a time (2026-01-31)", since);
	if ((rc = cli_store_open(ctx)) != CLI_EXIT_OK)
		return rc;

	pw_snprintf(start, sizeof start, "%" PRId64, since_ms);
	pw_snprintf(count, sizeof count, "%" PRId64, limit);
	key = xasprintf("%s%s", store_prefix(ctx->store), dead ? "alerts:dead" : "alerts");
	{
		/* Newest first; the entry ids are the times the alerts (or dead letters) were written. */
		const char *xr[] = { "XREVRANGE", key, "+", start, "COUNT", count };

		s = store_command(ctx->store, 6, xr, &r);
	}
	if (s != STORE_OK) {
		cli_error(ctx, "%s", store_error(ctx->store));
		free(key);
		return cli_exit_from_store(s);
	}
	if (r->type != REDIS_REPLY_ARRAY) {
		cli_error(ctx, "reading %s: %s", key, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		free(key);
		return CLI_EXIT_ERROR;
	}
	/* Nothing found: an empty JSON array, but no bare table header. */
	if (r->elements == 0 && ctx->format == CLI_FORMAT_JSON)
		out_json_print(ctx->out, json_object_new_array());
	else if (dead && r->elements > 0)
		print_dead(ctx, r);
	else if (r->elements > 0)
		rc = print_alerts(ctx, r);
	if (rc == CLI_EXIT_OK && r->elements == 0) {
		if (since != NULL)
			cli_error(ctx, "no %s in %s since %s", dead ? "dead letter" : "alert", key, since);
		else
			cli_error(ctx, "no %s in %s", dead ? "dead letter" : "alert", key);
		rc = CLI_EXIT_NOT_FOUND;
	}
	freeReplyObject(r);
	free(key);
	return rc;
}
