/* cmd-status.c: "pricewatch status": per-source crawl state, queue depths, which daemons are alive and their model, read from Redis. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "alert/queue.h"
#include "cli/cli.h"
#include "common/util.h"
#include "store/jobs.h"

static int cmd_status_exec(struct cli_ctx *ctx, int argc, char **argv);

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.alias = NULL,
	.usage = "[--json|--csv]",
	.summary = "show each source's last crawl, the queues and which daemons are alive",
	.help =
	    "One row per source found in the schedule (pw:due) or with a crawl record\n"
	    "(pw:source:NAME): last success, error streak, next due time, last error and\n"
	    "when. Then the queues: length and pending (delivered, not yet acknowledged)\n"
	    "entries of the crawl jobs (group crawlers) and the alerts (group notifiers),\n"
	    "and the dead letters. Then the daemons: the consumers of the crawlers group;\n"
	    "one idle for less than twice [crawl] job-timeout counts as alive. Each shows\n"
	    "the version it runs and, once its recognition opened the image model, the\n"
	    "model id and the inference backend in use (pw:daemon:NAME).\n"
	    "Options:\n"
	    "      --json    JSON: {sources, queues, daemons, daemons_alive, alive_idle_limit_ms};\n"
	    "                each daemon: name, idle_ms, pending, alive, version, model, backend\n"
	    "      --csv     CSV of the sources only, one row each, with a header row\n"
	    "  -h, --help    show this help\n",
	.exec = cmd_status_exec,
};

static const struct option status_options[] = {
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "csv", no_argument, NULL, CLI_OPT_CSV },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* One source as shown. */
struct status_source {
	char *name;                /* owned */
	bool scheduled;            /* member of pw:due */
	int64_t due_ms;            /* its score there */
	bool has_state;            /* pw:source:NAME exists */
	struct source_state state;
};

/* One consumer of the crawlers group. */
struct status_daemon {
	char *name;                /* owned */
	int64_t pending, idle_ms;
	bool alive;
	/* From pw:daemon:NAME, each owned, NULL when the daemon did not publish it (yet). */
	char *version, *model, *backend;
};

/* The fields of pw:daemon:NAME that status shows, in struct status_daemon's order. */
#define DAEMON_INFO_FIELDS 3

/* A queue (stream) and, when it has one, its consumer group's pending count. */
struct status_queue {
	const char *what;          /* "jobs", "alerts", "dead" */
	char *key;                 /* owned */
	int64_t length;            /* -1: unknown */
	int64_t pending;           /* -1: no group */
};

struct status_report {
	struct status_source *srcs;
	size_t n_srcs, cap_srcs;
	struct status_daemon *daemons;
	size_t n_daemons;
	struct status_queue queues[3];
	int64_t alive_limit_ms;
};

/* Runs one command; on failure prints the store's error and returns an exit code (reply NULL). */
static int
run(struct cli_ctx *ctx, int argc, const char **argv, redisReply **reply)
{
	enum store_status s = store_command(ctx->store, argc, argv, reply);

	if (s != STORE_OK) {
		cli_error(ctx, "%s", store_error(ctx->store));
		*reply = NULL;
		return cli_exit_from_store(s);
	}
	return CLI_EXIT_OK;
}

static bool
reply_is_text(const redisReply *r)
{
	return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

static struct status_source *
source_find_or_add(struct status_report *rep, const char *name, size_t len)
{
	for (size_t i = 0; i < rep->n_srcs; i++)
		if (strlen(rep->srcs[i].name) == len && memcmp(rep->srcs[i].name, name, len) == 0)
			return &rep->srcs[i];
	if (rep->n_srcs == rep->cap_srcs) {
		rep->cap_srcs = rep->cap_srcs == 0 ? 16 : rep->cap_srcs * 2;
		rep->srcs = xreallocarray(rep->srcs, rep->cap_srcs, sizeof *rep->srcs);
	}
	memset(&rep->srcs[rep->n_srcs], 0, sizeof rep->srcs[0]);
	rep->srcs[rep->n_srcs].name = xstrndup(name, len);
	return &rep->srcs[rep->n_srcs++];
}

/* ZRANGE pw:due 0 -1 WITHSCORES: the scheduled sources and their next due times. */
static int
load_due(struct cli_ctx *ctx, struct status_report *rep)
{
	char *key = xasprintf("%sdue", store_prefix(ctx->store));
	const char *argv[] = { "ZRANGE", key, "0", "-1", "WITHSCORES" };
	redisReply *r;
	int rc = run(ctx, 5, argv, &r);

	free(key);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (r->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i + 1 < r->elements; i += 2) {
			struct status_source *s;
			int64_t due;

			if (!reply_is_text(r->element[i]) || !reply_is_text(r->element[i + 1]))
				continue;
			s = source_find_or_add(rep, r->element[i]->str, r->element[i]->len);
			/* Scores are whole milliseconds; Redis writes them without an exponent below 2^53. */
			if (parse_int64(r->element[i + 1]->str, 0, INT64_MAX, &due)) {
				s->scheduled = true;
				s->due_ms = due;
			}
		}
	} else if (r->type == REDIS_REPLY_ERROR) {
		cli_error(ctx, "reading the schedule: %s", r->str);
		rc = CLI_EXIT_ERROR;
	}
	freeReplyObject(r);
	return rc;
}

/* SCAN for pw:source:*: sources that ran but are no longer scheduled show too. */
static int
load_source_keys(struct cli_ctx *ctx, struct status_report *rep)
{
	const char *prefix = store_prefix(ctx->store);
	size_t plen = strlen(prefix), n = 0;
	char *pattern = xmalloc(2 * plen + sizeof "source:*");
	char *full = xasprintf("%ssource:", prefix);
	size_t flen = strlen(full);
	char cursor[32] = "0";
	int rc = CLI_EXIT_OK;

	/* The prefix is literal text, not a glob. */
	for (size_t i = 0; i < plen; i++) {
		if (strchr("*?[]\\", prefix[i]) != NULL)
			pattern[n++] = '\\';
		pattern[n++] = prefix[i];
	}
	memcpy(pattern + n, "source:*", sizeof "source:*");

	do {
		const char *argv[] = { "SCAN", cursor, "MATCH", pattern, "COUNT", "1000" };
		redisReply *r;

		if ((rc = run(ctx, 6, argv, &r)) != CLI_EXIT_OK)
			break;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !reply_is_text(r->element[0]) ||
		    r->element[1]->type != REDIS_REPLY_ARRAY ||
		    !pw_snprintf(cursor, sizeof cursor, "%s", r->element[0]->str)) {
			cli_error(ctx, "unexpected reply to SCAN");
			freeReplyObject(r);
			rc = CLI_EXIT_ERROR;
			break;
		}
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			const redisReply *k = r->element[1]->element[i];

			/*
			 * Source names never contain ':', so pw:source:NAME:listings (the
			 * store's index of a source's listings, a set) is not a source state.
			 */
			if (reply_is_text(k) && k->len > flen && memcmp(k->str, full, flen) == 0 &&
			    memchr(k->str + flen, ':', k->len - flen) == NULL)
				source_find_or_add(rep, k->str + flen, k->len - flen);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	free(pattern);
	free(full);
	return rc;
}

static int
cmp_source(const void *a, const void *b)
{
	return strcmp(((const struct status_source *)a)->name, ((const struct status_source *)b)->name);
}

/* XLEN (0 for a missing stream), and XPENDING's total of group (-1 when there is no group). */
static int
load_queue(struct cli_ctx *ctx, struct status_queue *q, const char *what, const char *suffix, const char *group)
{
	const char *xlen[2], *xpending[3];
	redisReply *r;
	int rc;

	q->what = what;
	q->key = xasprintf("%s%s", store_prefix(ctx->store), suffix);
	q->length = -1;
	q->pending = -1;
	xlen[0] = "XLEN";
	xlen[1] = q->key;
	if ((rc = run(ctx, 2, xlen, &r)) != CLI_EXIT_OK)
		return rc;
	if (r->type == REDIS_REPLY_INTEGER)
		q->length = r->integer;
	else if (r->type == REDIS_REPLY_ERROR)
		cli_error(ctx, "%s: %s", q->key, r->str);
	freeReplyObject(r);
	if (group == NULL)
		return CLI_EXIT_OK;
	xpending[0] = "XPENDING";
	xpending[1] = q->key;
	xpending[2] = group;
	if ((rc = run(ctx, 3, xpending, &r)) != CLI_EXIT_OK)
		return rc;
	/* A missing stream or group (nothing ran yet) is an error reply: no pending count. */
	if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && r->element[0]->type == REDIS_REPLY_INTEGER)
		q->pending = r->element[0]->integer;
	freeReplyObject(r);
	return CLI_EXIT_OK;
}

/* HMGET pw:daemon:NAME: what the daemon publishes beside its heartbeat (version, model, backend). */
static int
load_daemon_info(struct cli_ctx *ctx, struct status_daemon *d)
{
	char *key = xasprintf("%sdaemon:%s", store_prefix(ctx->store), d->name);
	const char *argv[] = { "HMGET", key, "version", "model", "backend" };
	char **dst[DAEMON_INFO_FIELDS] = { &d->version, &d->model, &d->backend };
	redisReply *r;
	int rc = run(ctx, 2 + DAEMON_INFO_FIELDS, argv, &r);

	free(key);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == DAEMON_INFO_FIELDS)
		for (size_t i = 0; i < DAEMON_INFO_FIELDS; i++)
			if (reply_is_text(r->element[i]) && r->element[i]->len > 0)
				*dst[i] = xstrndup(r->element[i]->str, r->element[i]->len);
	freeReplyObject(r);
	return CLI_EXIT_OK;
}

/* XINFO CONSUMERS pw:jobs crawlers: every daemon that claimed jobs and has not left the group. */
static int
load_daemons(struct cli_ctx *ctx, struct status_report *rep)
{
	const char *argv[] = { "XINFO", "CONSUMERS", rep->queues[0].key, JOBS_GROUP };
	redisReply *r;
	int rc;

	if ((rc = run(ctx, 4, argv, &r)) != CLI_EXIT_OK)
		return rc;
	/* An error reply means no stream or no group yet: no daemon has ever run. */
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
		rep->daemons = xcalloc(r->elements, sizeof *rep->daemons);
		for (size_t i = 0; i < r->elements; i++) {
			const redisReply *c = r->element[i];
			struct status_daemon d = { .idle_ms = -1 };

			if (c->type != REDIS_REPLY_ARRAY)
				continue;
			for (size_t k = 0; k + 1 < c->elements; k += 2) {
				const redisReply *f = c->element[k], *v = c->element[k + 1];

				if (!reply_is_text(f))
					continue;
				if (strcmp(f->str, "name") == 0 && reply_is_text(v) && d.name == NULL)
					d.name = xstrndup(v->str, v->len);
				else if (strcmp(f->str, "pending") == 0 && v->type == REDIS_REPLY_INTEGER)
					d.pending = v->integer;
				else if (strcmp(f->str, "idle") == 0 && v->type == REDIS_REPLY_INTEGER)
					d.idle_ms = v->integer;
			}
			if (d.name == NULL)
				continue;
			d.alive = d.idle_ms >= 0 && d.idle_ms < rep->alive_limit_ms;
			rep->daemons[rep->n_daemons++] = d;
		}
	}
	freeReplyObject(r);
	for (size_t i = 0; i < rep->n_daemons; i++)
		if ((rc = load_daemon_info(ctx, &rep->daemons[i])) != CLI_EXIT_OK)
			return rc;
	return CLI_EXIT_OK;
}

static void
report_free(struct status_report *rep)
{
	for (size_t i = 0; i < rep->n_srcs; i++) {
		free(rep->srcs[i].name);
		source_state_free(&rep->srcs[i].state);
	}
	free(rep->srcs);
	for (size_t i = 0; i < rep->n_daemons; i++) {
		free(rep->daemons[i].name);
		free(rep->daemons[i].version);
		free(rep->daemons[i].model);
		free(rep->daemons[i].backend);
	}
	free(rep->daemons);
	for (size_t i = 0; i < 3; i++)
		free(rep->queues[i].key);
}

/* The crawl lease as the daemon computes it (docs/crawl-jobs.md): job-timeout, else max(2 x timeout, 60 s). */
static int64_t
job_timeout_ms(const struct config *cfg)
{
	int64_t t = cfg->crawl.job_timeout_ms;

	if (t > 0)
		return t;
	t = cfg->crawl.timeout_ms > 0 && cfg->crawl.timeout_ms <= INT64_MAX / 2 ? 2 * cfg->crawl.timeout_ms : 0;
	return t > 60000 ? t : 60000;
}

static int
load_report(struct cli_ctx *ctx, struct status_report *rep)
{
	int rc;

	memset(rep, 0, sizeof *rep);
	rep->alive_limit_ms = job_timeout_ms(&ctx->cfg);
	rep->alive_limit_ms = rep->alive_limit_ms <= INT64_MAX / 2 ? 2 * rep->alive_limit_ms : INT64_MAX;
	if ((rc = load_due(ctx, rep)) != CLI_EXIT_OK || (rc = load_source_keys(ctx, rep)) != CLI_EXIT_OK)
		return rc;
	if (rep->n_srcs > 1)
		qsort(rep->srcs, rep->n_srcs, sizeof *rep->srcs, cmp_source);
	for (size_t i = 0; i < rep->n_srcs; i++) {
		enum store_status s = source_state_get(ctx->store, rep->srcs[i].name, &rep->srcs[i].state);

		if (s == STORE_OK)
			rep->srcs[i].has_state = true;
		else if (s != STORE_NOT_FOUND) {
			cli_error(ctx, "%s", store_error(ctx->store));
			return cli_exit_from_store(s);
		}
	}
	if ((rc = load_queue(ctx, &rep->queues[0], "jobs", "jobs", JOBS_GROUP)) != CLI_EXIT_OK ||
	    (rc = load_queue(ctx, &rep->queues[1], "alerts", "alerts", ALERT_GROUP)) != CLI_EXIT_OK ||
	    (rc = load_queue(ctx, &rep->queues[2], "dead", "alerts:dead", NULL)) != CLI_EXIT_OK)
		return rc;
	return load_daemons(ctx, rep);
}

/* The next due time: the schedule's, else what the last failure recorded. */
static int64_t
next_due_ms(const struct status_source *s)
{
	if (s->scheduled)
		return s->due_ms;
	return s->has_state ? s->state.next_due_ms : 0;
}

static struct json_object *
json_time(int64_t ms)
{
	char buf[40];

	if (ms <= 0)
		return NULL;
	out_time(ms, buf, sizeof buf);
	return json_object_new_string(buf);
}

static struct json_object *
json_ms(int64_t ms)
{
	return ms > 0 ? json_object_new_int64(ms) : NULL;
}

static void
print_json(struct cli_ctx *ctx, const struct status_report *rep)
{
	struct json_object *root = json_object_new_object(), *srcs = json_object_new_array();
	struct json_object *queues = json_object_new_object(), *daemons = json_object_new_array();
	size_t alive = 0;

	for (size_t i = 0; i < rep->n_srcs; i++) {
		const struct status_source *s = &rep->srcs[i];
		struct json_object *o = json_object_new_object();

		out_json_add_str(o, "name", s->name);
		json_object_object_add(o, "last_ok", json_time(s->state.last_ok_ms));
		json_object_object_add(o, "last_ok_ms", json_ms(s->state.last_ok_ms));
		out_json_add_str(o, "last_error", s->state.last_error);
		json_object_object_add(o, "last_error_time", json_time(s->state.last_error_ms));
		json_object_object_add(o, "last_error_ms", json_ms(s->state.last_error_ms));
		json_object_object_add(o, "error_streak", json_object_new_int64(s->state.error_streak));
		json_object_object_add(o, "crawls", json_object_new_int64(s->state.crawls));
		json_object_object_add(o, "scheduled", json_object_new_boolean(s->scheduled));
		json_object_object_add(o, "next_due", json_time(next_due_ms(s)));
		json_object_object_add(o, "next_due_ms", json_ms(next_due_ms(s)));
		json_object_array_add(srcs, o);
	}
	for (size_t i = 0; i < 3; i++) {
		const struct status_queue *q = &rep->queues[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "key", json_object_new_string(q->key));
		json_object_object_add(o, "length", q->length >= 0 ? json_object_new_int64(q->length) : NULL);
		if (i < 2)
			json_object_object_add(o, "pending", q->pending >= 0 ? json_object_new_int64(q->pending) : NULL);
		json_object_object_add(queues, q->what, o);
	}
	for (size_t i = 0; i < rep->n_daemons; i++) {
		const struct status_daemon *d = &rep->daemons[i];
		struct json_object *o = json_object_new_object();

		out_json_add_str(o, "name", d->name);
		json_object_object_add(o, "idle_ms", json_object_new_int64(d->idle_ms));
		json_object_object_add(o, "pending", json_object_new_int64(d->pending));
		json_object_object_add(o, "alive", json_object_new_boolean(d->alive));
		out_json_add_str(o, "version", d->version);
		out_json_add_str(o, "model", d->model);
		out_json_add_str(o, "backend", d->backend);
		json_object_array_add(daemons, o);
		alive += d->alive;
	}
	json_object_object_add(root, "sources", srcs);
	json_object_object_add(root, "queues", queues);
	json_object_object_add(root, "daemons", daemons);
	json_object_object_add(root, "daemons_alive", json_object_new_int64((int64_t)alive));
	json_object_object_add(root, "alive_idle_limit_ms", json_object_new_int64(rep->alive_limit_ms));
	out_json_print(ctx->out, root);
}

/* Formats ms as "%lld" into buf, "" for 0 (never), for CSV's empty fields. */
static const char *
csv_ms(int64_t ms, char *buf, size_t len)
{
	if (ms <= 0)
		return NULL;
	pw_snprintf(buf, len, "%" PRId64, ms);
	return buf;
}

/* The sources table as CSV (queues and daemons are not tabular; --json has them). */
static void
print_csv(struct cli_ctx *ctx, const struct status_report *rep)
{
	static const char *const headers[] = {
		"source", "last_ok", "last_ok_ms", "error_streak", "crawls", "scheduled", "next_due", "next_due_ms",
		"last_error", "last_error_time", "last_error_ms",
	};

	out_csv_row(ctx->out, headers, 11);
	for (size_t i = 0; i < rep->n_srcs; i++) {
		const struct status_source *s = &rep->srcs[i];
		char ok[40], okms[32], streak[24], crawls[24], due[40], duems[32], errat[40], errms[32];
		const char *row[11];

		out_time(s->state.last_ok_ms, ok, sizeof ok);
		out_time(next_due_ms(s), due, sizeof due);
		out_time(s->state.last_error_ms, errat, sizeof errat);
		pw_snprintf(streak, sizeof streak, "%" PRId64, s->state.error_streak);
		pw_snprintf(crawls, sizeof crawls, "%" PRId64, s->state.crawls);
		row[0] = s->name;
		row[1] = ok;
		row[2] = csv_ms(s->state.last_ok_ms, okms, sizeof okms);
		row[3] = streak;
		row[4] = crawls;
		row[5] = s->scheduled ? "true" : "false";
		row[6] = due;
		row[7] = csv_ms(next_due_ms(s), duems, sizeof duems);
		row[8] = s->state.last_error;
		row[9] = errat;
		row[10] = csv_ms(s->state.last_error_ms, errms, sizeof errms);
		out_csv_row(ctx->out, row, 11);
	}
}

/* "1.5s", "12m", "3h": an idle time short enough to read. */
static void
format_idle(int64_t ms, char *buf, size_t len)
{
	if (ms < 60000)
		pw_snprintf(buf, len, "%" PRId64 ".%" PRId64 "s", ms / 1000, ms % 1000 / 100);
	else if (ms < 3600000)
		pw_snprintf(buf, len, "%" PRId64 "m", ms / 60000);
	else
		pw_snprintf(buf, len, "%" PRId64 "h", ms / 3600000);
}

/* The rest of a daemon's line: "  version V  model M on BACKEND", each part only when published. */
static void
print_daemon_info(FILE *f, const struct status_daemon *d)
{
	const char *label[DAEMON_INFO_FIELDS] = { "version", "model", "on" };
	const char *value[DAEMON_INFO_FIELDS] = { d->version, d->model, d->backend };

	for (size_t i = 0; i < DAEMON_INFO_FIELDS; i++) {
		char *shown;

		if (value[i] == NULL)
			continue;
		shown = out_display_clip(value[i], 0);
		fprintf(f, "%s%s %s", i == 2 ? " " : "  ", label[i], shown);
		free(shown);
	}
}

static void
print_table(struct cli_ctx *ctx, const struct status_report *rep)
{
	static const char *const headers[] = { "SOURCE", "LAST OK", "STREAK", "NEXT DUE", "ERROR AT",
		"LAST ERROR" };
	static const enum out_align align[] = { OUT_LEFT, OUT_LEFT, OUT_RIGHT, OUT_LEFT, OUT_LEFT, OUT_LEFT };
	size_t width = out_terminal_width(fileno(ctx->out)), alive = 0;
	struct out_table t;

	if (rep->n_srcs == 0)
		fputs("sources: none scheduled or crawled yet\n", ctx->out);
	else {
		out_table_init(&t, 6, headers, align);
		for (size_t i = 0; i < rep->n_srcs; i++) {
			const struct status_source *s = &rep->srcs[i];
			char ok[40], due[40], errat[40], streak[24];
			const char *row[6];

			out_time(s->state.last_ok_ms, ok, sizeof ok);
			out_time(next_due_ms(s), due, sizeof due);
			out_time(s->state.last_error_ms, errat, sizeof errat);
			pw_snprintf(streak, sizeof streak, "%" PRId64, s->state.error_streak);
			row[0] = s->name;
			row[1] = ok[0] ? ok : NULL;
			row[2] = streak;
			row[3] = due[0] ? due : NULL;
			row[4] = errat[0] ? errat : NULL;
			row[5] = s->state.last_error;
			out_table_add(&t, row);
		}
		out_table_print(ctx->out, &t, width);
		out_table_free(&t);
	}

	fputs("\nqueues:\n", ctx->out);
	for (size_t i = 0; i < 3; i++) {
		const struct status_queue *q = &rep->queues[i];
		char *key = out_display_clip(q->key, 0);

		fprintf(ctx->out, "  %-8s %-24s length %" PRId64, q->what, key, q->length < 0 ? 0 : q->length);
		if (i < 2) {
			if (q->pending >= 0)
				fprintf(ctx->out, "  pending %" PRId64 " (group %s)", q->pending,
				    i == 0 ? JOBS_GROUP : ALERT_GROUP);
			else
				fprintf(ctx->out, "  (no group %s yet)", i == 0 ? JOBS_GROUP : ALERT_GROUP);
		}
		fputc('\n', ctx->out);
		free(key);
	}

	for (size_t i = 0; i < rep->n_daemons; i++)
		alive += rep->daemons[i].alive;
	fprintf(ctx->out, "\ndaemons: %zu alive of %zu (alive: idle under %" PRId64 "s, twice job-timeout)\n",
	    alive, rep->n_daemons, rep->alive_limit_ms / 1000);
	for (size_t i = 0; i < rep->n_daemons; i++) {
		const struct status_daemon *d = &rep->daemons[i];
		char idle[32];
		char *name = out_display_clip(d->name, 0);

		format_idle(d->idle_ms, idle, sizeof idle);
		fprintf(ctx->out, "  %-30s %-5s idle %-7s pending %" PRId64, name, d->alive ? "alive" : "gone",
		    idle, d->pending);
		free(name);
		print_daemon_info(ctx->out, d);
		fputc('\n', ctx->out);
	}
}

static int
cmd_status_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	struct status_report rep;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", status_options, NULL)) != -1)
		if ((rc = cli_common_option(ctx, &cmd_status_entry, c, argv)) >= 0)
			return rc;
	if (optind < argc)
		return cli_usage_error(ctx, &cmd_status_entry, "unexpected argument '%s'", argv[optind]);
	if ((rc = cli_store_open(ctx)) != CLI_EXIT_OK)
		return rc;

	rc = load_report(ctx, &rep);
	if (rc == CLI_EXIT_OK) {
		if (ctx->format == CLI_FORMAT_JSON)
			print_json(ctx, &rep);
		else if (ctx->format == CLI_FORMAT_CSV)
			print_csv(ctx, &rep);
		else
			print_table(ctx, &rep);
	}
	report_free(&rep);
	return rc;
}
