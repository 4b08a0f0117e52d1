/* test-cli-status.c: "pricewatch status" against a real redis-server filled through the store and jobs APIs. */
#include "config.h"

#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "harness/cli-run.h"
#include "harness/json.h"
#include "common/util.h"
#include "harness/redis.h"
#include "store/jobs.h"
#include "store/store.h"

/* 2025-11-24T16:00:00Z: fixed times so the printed ones are exact. */
#define T0 1764000000000LL
#define HOUR 3600000LL

static struct test_redis redis;
static struct store *st;
static char conf[400];

/* Writes the configuration the CLI reads (extra: more lines, may be ""). */
static void
write_conf(const char *extra)
{
	FILE *f;

	cr_assert(pw_snprintf(conf, sizeof conf, "%s/pricewatch.conf", redis.dir));
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	fprintf(f, "[crawl]\n%s", extra);
	cr_assert_eq(fclose(f), 0);
}

static void
setup(void)
{
	struct store_opts so;
	char err[512];

	test_redis_start(&redis);
	memset(&so, 0, sizeof so);
	so.url = redis.url;
	so.connect_timeout_ms = 2000;
	so.command_timeout_ms = 2000;
	cr_assert_eq(store_open(&st, &so, err, sizeof err), STORE_OK, "%s", err);
	write_conf("");
	unsetenv(CLI_ENV_REDIS);
	unsetenv("COLUMNS");
}

static void
teardown(void)
{
	store_close(st);
	test_redis_stop(&redis);
}

TestSuite(cli_status, .init = setup, .fini = teardown);

/* Runs "pricewatch -c conf --redis URL ARGS..." in this process; *out and *err are malloc'd. */
static int
pw(char **out, char **err, const char *a1, const char *a2)
{
	const char *argv[] = { "pricewatch", "-c", conf, "--redis", redis.url, a1, a2, NULL };

	return test_cli_run(a2 != NULL ? 7 : 6, argv, out, err, NULL);
}

/* Sources "alpha" (crawled fine, has a job claimed by a daemon), "beta" (failing twice), "gamma"
 * (state only: removed from the schedule). */
static void
fill(void)
{
	struct jobs_source srcs[2] = {
		{ .name = "alpha", .interval_ms = HOUR, .jitter_ms = 0, .spread_ms = 500 },
		{ .name = "beta", .interval_ms = HOUR, .jitter_ms = 0, .spread_ms = 1000 },
	};
	char ids[1][JOBS_ID_MAX];
	struct job *jobs;
	size_t n, enq;
	int64_t next, streak;

	cr_assert_eq(jobs_init(st), STORE_OK, "%s", store_error(st));
	cr_assert_eq(jobs_schedule_tick(st, srcs, 2, T0, &enq, &next), STORE_OK, "%s", store_error(st));
	cr_assert_eq(jobs_enqueue_now(st, srcs, 1, T0, ids), STORE_OK, "%s", store_error(st));
	cr_assert_eq(jobs_claim(st, "host-a:101", 1, 0, &jobs, &n), STORE_OK, "%s", store_error(st));
	cr_assert_eq(n, 1);
	cr_assert_str_eq(jobs[0].source, "alpha");
	jobs_free(jobs, n);
	cr_assert_eq(source_state_update(st, "alpha", true, NULL, T0 + 5000, HOUR, &streak, &next), STORE_OK);
	cr_assert_eq(source_state_update(st, "beta", false, "HTTP 503 from https://beta.example/", T0 + 6000, HOUR,
	    &streak, &next), STORE_OK);
	cr_assert_eq(source_state_update(st, "beta", false, "HTTP 503 from https://beta.example/", T0 + 7000, HOUR,
	    &streak, &next), STORE_OK);
	cr_assert_eq(streak, 2);
	cr_assert_eq(source_state_update(st, "gamma", false, "timeout", T0 + 8000, HOUR, NULL, NULL), STORE_OK);
	{
		/* A recorded listing: the store indexes it under pw:source:alpha:listings, which is no source. */
		struct observation o = {
			.source = "alpha", .listing_id = "alpha:sku:A1", .url = "https://alpha.example/a1",
			.title = "A1", .price = { 1999, "USD" }, .availability = AVAIL_IN_STOCK, .observed_ms = T0,
		};

		cr_assert_eq(store_record(st, &o, NULL), STORE_OK, "%s", store_error(st));
	}
	{
		/* gamma left the configuration: only its state hash remains. */
		const char *const names[] = { "gamma" };
		cr_assert_eq(jobs_forget_sources(st, names, 1), STORE_OK);
	}
}

static struct json_object *
source_named(struct json_object *srcs, const char *name)
{
	for (size_t i = 0; i < json_object_array_length(srcs); i++) {
		struct json_object *s = json_object_array_get_idx(srcs, i);
		if (strcmp(json_object_get_string(test_json_member(s, "name")), name) == 0)
			return s;
	}
	cr_assert_fail("no source %s", name);
	return NULL;
}

Test(cli_status, json_sources_queues_daemons)
{
	struct json_object *root, *srcs, *s, *q, *d;
	int64_t beta_due;
	char *out, *err;
	int rc;

	fill();
	rc = pw(&out, &err, "status", "--json");
	cr_assert_eq(rc, CLI_EXIT_OK, "stderr: %s", err);
	cr_assert_str_eq(err, "");
	root = json_tokener_parse(out);
	cr_assert_not_null(root, "not JSON: %s", out);

	srcs = test_json_member(root, "sources");
	cr_assert_eq(json_object_array_length(srcs), 3);
	/* Sorted by name. */
	cr_assert_str_eq(json_object_get_string(test_json_member(json_object_array_get_idx(srcs, 0), "name")), "alpha");
	cr_assert_str_eq(json_object_get_string(test_json_member(json_object_array_get_idx(srcs, 2), "name")), "gamma");

	s = source_named(srcs, "alpha");
	cr_assert_str_eq(json_object_get_string(test_json_member(s, "last_ok")), "2025-11-24T16:00:05Z");
	cr_assert_eq(json_object_get_int64(test_json_member(s, "last_ok_ms")), T0 + 5000);
	cr_assert_null(test_json_member(s, "last_error"));
	cr_assert_eq(json_object_get_int64(test_json_member(s, "error_streak")), 0);
	cr_assert(json_object_get_boolean(test_json_member(s, "scheduled")));
	/* enqueue_now pushed alpha's due time to now + interval (jitter 0). */
	cr_assert_eq(json_object_get_int64(test_json_member(s, "next_due_ms")), T0 + HOUR);

	s = source_named(srcs, "beta");
	cr_assert_null(test_json_member(s, "last_ok"));
	cr_assert_str_eq(json_object_get_string(test_json_member(s, "last_error")),
	    "HTTP 503 from https://beta.example/");
	cr_assert_str_eq(json_object_get_string(test_json_member(s, "last_error_time")), "2025-11-24T16:00:07Z");
	cr_assert_eq(json_object_get_int64(test_json_member(s, "error_streak")), 2);
	beta_due = json_object_get_int64(test_json_member(s, "next_due_ms"));
	/* Backoff after 2 failures: interval x 2^2 from the last failure. */
	cr_assert_eq(beta_due, T0 + 7000 + 4 * HOUR);

	s = source_named(srcs, "gamma");
	cr_assert(!json_object_get_boolean(test_json_member(s, "scheduled")));
	cr_assert_str_eq(json_object_get_string(test_json_member(s, "last_error")), "timeout");
	cr_assert_eq(json_object_get_int64(test_json_member(s, "error_streak")), 1);

	q = test_json_member(test_json_member(root, "queues"), "jobs");
	cr_assert_str_eq(json_object_get_string(test_json_member(q, "key")), "pw:jobs");
	cr_assert_eq(json_object_get_int64(test_json_member(q, "length")), 1);
	cr_assert_eq(json_object_get_int64(test_json_member(q, "pending")), 1);
	q = test_json_member(test_json_member(root, "queues"), "alerts");
	cr_assert_eq(json_object_get_int64(test_json_member(q, "length")), 0);
	cr_assert_null(test_json_member(q, "pending"), "no notifiers group yet");
	q = test_json_member(test_json_member(root, "queues"), "dead");
	cr_assert_eq(json_object_get_int64(test_json_member(q, "length")), 0);

	d = test_json_member(root, "daemons");
	cr_assert_eq(json_object_array_length(d), 1);
	d = json_object_array_get_idx(d, 0);
	cr_assert_str_eq(json_object_get_string(test_json_member(d, "name")), "host-a:101");
	cr_assert_eq(json_object_get_int64(test_json_member(d, "pending")), 1);
	/* Default job-timeout max(2 x 30 s, 60 s) = 60 s: alive under 120 s idle. */
	cr_assert(json_object_get_boolean(test_json_member(d, "alive")));
	cr_assert_eq(json_object_get_int64(test_json_member(root, "daemons_alive")), 1);
	cr_assert_eq(json_object_get_int64(test_json_member(root, "alive_idle_limit_ms")), 120000);
	json_object_put(root);
	free(out);
	free(err);
}

Test(cli_status, table)
{
	char *out, *err, line[256];
	int rc;

	fill();
	rc = pw(&out, &err, "status", NULL);
	cr_assert_eq(rc, CLI_EXIT_OK, "stderr: %s", err);
	cr_assert(strstr(out, "SOURCE  LAST OK               STREAK  NEXT DUE              ERROR AT              "
	    "LAST ERROR\n") != NULL, "out:\n%s", out);
	cr_assert(strstr(out, "alpha   2025-11-24T16:00:05Z       0  2025-11-24T17:00:00Z  -                     -\n")
	    != NULL, "out:\n%s", out);
	cr_assert(strstr(out, "beta    -                          2  2025-11-24T20:00:07Z  2025-11-24T16:00:07Z  "
	    "HTTP 503 from https://beta.example/\n") != NULL, "out:\n%s", out);
	cr_assert(pw_snprintf(line, sizeof line, "  jobs     pw:jobs                  length 1  pending 1 (group crawlers)\n"));
	cr_assert(strstr(out, line) != NULL, "out:\n%s", out);
	cr_assert(strstr(out, "  alerts   pw:alerts                length 0  (no group notifiers yet)\n") != NULL,
	    "out:\n%s", out);
	cr_assert(strstr(out, "daemons: 1 alive of 1 (alive: idle under 120s, twice job-timeout)\n") != NULL,
	    "out:\n%s", out);
	cr_assert(strstr(out, "  host-a:101 ") != NULL && strstr(out, " alive idle ") != NULL, "out:\n%s", out);
	free(out);
	free(err);
}

/* A consumer idle longer than twice the lease is shown as gone: its daemon died or hangs. */
Test(cli_status, idle_consumer_is_not_alive)
{
	struct json_object *root, *d;
	char *out, *err;

	fill();
	write_conf("timeout = 10ms\njob-timeout = 10ms\n");
	/* Idle time only grows: after 100 ms it is surely over the 20 ms limit. */
	usleep(100 * 1000);
	cr_assert_eq(pw(&out, &err, "status", "--json"), CLI_EXIT_OK, "stderr: %s", err);
	root = json_tokener_parse(out);
	cr_assert_not_null(root, "not JSON: %s", out);
	cr_assert_eq(json_object_get_int64(test_json_member(root, "alive_idle_limit_ms")), 20);
	d = json_object_array_get_idx(test_json_member(root, "daemons"), 0);
	cr_assert_not_null(d);
	cr_assert(!json_object_get_boolean(test_json_member(d, "alive")));
	cr_assert_geq(json_object_get_int64(test_json_member(d, "idle_ms")), 100);
	cr_assert_eq(json_object_get_int64(test_json_member(root, "daemons_alive")), 0);
	json_object_put(root);
	free(out);
	free(err);
}

Test(cli_status, empty_store)
{
	char *out, *err;

	cr_assert_eq(pw(&out, &err, "status", NULL), CLI_EXIT_OK, "stderr: %s", err);
	cr_assert(strstr(out, "sources: none scheduled or crawled yet\n") != NULL, "out:\n%s", out);
	cr_assert(strstr(out, "  jobs     pw:jobs                  length 0  (no group crawlers yet)\n") != NULL,
	    "out:\n%s", out);
	cr_assert(strstr(out, "daemons: 0 alive of 0 ") != NULL, "out:\n%s", out);
	free(out);
	free(err);
}

Test(cli_status, usage_errors)
{
	char *out, *err;

	cr_assert_eq(pw(&out, &err, "status", "extra"), CLI_EXIT_USAGE);
	cr_assert(strstr(err, "unexpected argument 'extra'") != NULL, "%s", err);
	free(out);
	free(err);
	cr_assert_eq(pw(&out, &err, "status", "--bogus"), CLI_EXIT_USAGE);
	free(out);
	free(err);
}

/* --csv: the sources, one row each; the error text quoted since it holds no comma here but the header is exact. */
Test(cli_status, csv_sources)
{
	char *out, *err, line[256], t[32];

	fill();
	cr_assert_eq(pw(&out, &err, "status", "--csv"), CLI_EXIT_OK, "%s", err);
	cr_expect(strncmp(out, "source,last_ok,last_ok_ms,error_streak,crawls,scheduled,next_due,next_due_ms,"
	    "last_error,last_error_time,last_error_ms\r\n", 103) == 0, "%s", out);
	time_format_iso(T0 + 5000, t, sizeof t);
	cr_assert(pw_snprintf(line, sizeof line, "\r\nalpha,%s,%lld,0,1,true,", t, (long long)(T0 + 5000)));
	cr_expect(strstr(out, line) != NULL, "%s", out);
	cr_expect(strstr(out, ",2,2,true,") != NULL && strstr(out, ",HTTP 503 from https://beta.example/,") != NULL,
	    "%s", out);
	/* gamma is no longer scheduled: its next due time is the one its state recorded. */
	cr_expect(strstr(out, "\r\ngamma,,,1,1,false,") != NULL, "%s", out);
	free(out);
	free(err);
}
