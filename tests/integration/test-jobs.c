/* test-jobs.c: the Redis job scheduler (store/jobs.c) against a real redis-server: ticks, claims, reclaims, acks and backoff. */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "common/util.h"
#include "harness/redis.h"
#include "store/jobs.h"
#include "store/store.h"

static struct test_redis redis;
static struct store *st;
static redisContext *raw;        /* a plain connection for looking at the keys */

static void
setup(void)
{
	test_redis_start(&redis);
	st = test_redis_open_store(&redis);
	raw = redisConnectUnix(redis.socket_path);
	cr_assert(raw != NULL && raw->err == 0);
	cr_assert_eq(jobs_init(st), STORE_OK, "%s", store_error(st));
}

static void
teardown(void)
{
	redisFree(raw);
	store_close(st);
	test_redis_stop(&redis);
}

static long long
raw_int(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	long long v;

	va_start(ap, fmt);
	r = redisvCommand(raw, fmt, ap);
	va_end(ap);
	cr_assert_not_null(r);
	cr_assert_eq(r->type, REDIS_REPLY_INTEGER, "reply type %d (%s)", r->type, r->type == REDIS_REPLY_ERROR ? r->str : "");
	v = r->integer;
	freeReplyObject(r);
	return v;
}

/* ZSCORE as an integer; -1 when the member is absent. */
static long long
due_score(const char *member)
{
	redisReply *r = redisCommand(raw, "ZSCORE pw:due %s", member);
	long long v = -1;

	cr_assert_not_null(r);
	if (r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	freeReplyObject(r);
	return v;
}

/* How many entries of pw:jobs name this source. */
static size_t
jobs_for(const char *source)
{
	redisReply *r = redisCommand(raw, "XRANGE pw:jobs - +");
	size_t i, n = 0;

	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
	for (i = 0; i < r->elements; i++) {
		const redisReply *f = r->element[i]->element[1];

		if (f->elements >= 2 && strcmp(f->element[1]->str, source) == 0)
			n++;
	}
	freeReplyObject(r);
	return n;
}

static long long
pending_count(void)
{
	redisReply *r = redisCommand(raw, "XPENDING pw:jobs crawlers");
	long long v;

	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 1);
	v = r->element[0]->integer;
	freeReplyObject(r);
	return v;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

TestSuite(jobs, .init = setup, .fini = teardown, .timeout = 60);

Test(jobs, new_sources_are_spread_and_due_ones_enqueued_once)
{
	struct jobs_source src[3] = {
		{ .name = "a", .interval_ms = 60000, .jitter_ms = 0, .spread_ms = 0 },
		{ .name = "b", .interval_ms = 60000, .jitter_ms = -500, .spread_ms = 7000 },
		{ .name = "c", .interval_ms = 60000, .jitter_ms = 900, .spread_ms = 29000 },
	};
	int64_t now = 1700000000000LL, next;
	size_t n;

	cr_assert_eq(jobs_schedule_tick(st, src, 3, now, &n, &next), STORE_OK, "%s", store_error(st));
	/* a had no offset so it is due at once; b and c wait for their spread. */
	cr_assert_eq(n, 1);
	cr_assert_eq(jobs_for("a"), 1);
	cr_assert_eq(jobs_for("b"), 0);
	cr_assert_eq(due_score("a"), now + 60000);
	cr_assert_eq(due_score("b"), now + 7000);
	cr_assert_eq(due_score("c"), now + 29000);
	cr_assert_eq(next, now + 7000);

	/* The same tick again changes nothing: idempotent. */
	cr_assert_eq(jobs_schedule_tick(st, src, 3, now, &n, &next), STORE_OK);
	cr_assert_eq(n, 0);
	cr_assert_eq(raw_int("XLEN pw:jobs"), 1);

	/* Later, b is due: one job, re-scored with its jitter. */
	cr_assert_eq(jobs_schedule_tick(st, src, 3, now + 8000, &n, &next), STORE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(jobs_for("b"), 1);
	cr_assert_eq(due_score("b"), now + 8000 + 60000 - 500);
	cr_assert_eq(next, now + 29000);
}

Test(jobs, concurrent_ticks_enqueue_each_due_source_once)
{
	enum { NSRC = 20, NPROC = 4, TICKS = 30 };
	struct jobs_source src[NSRC];
	char names[NSRC][16];
	int64_t now = time_now_ms();
	pid_t pids[NPROC];
	int i;

	for (i = 0; i < NSRC; i++) {
		snprintf(names[i], sizeof(names[i]), "src%d", i);
		src[i] = (struct jobs_source){ .name = names[i], .interval_ms = 3600000, .jitter_ms = 0,
			.spread_ms = 0 };
		/* Long overdue, as after a restart. */
		raw_int("ZADD pw:due 0 %s", names[i]);
	}
	for (i = 0; i < NPROC; i++) {
		pids[i] = fork();
		cr_assert(pids[i] >= 0);
		if (pids[i] == 0) {
			struct store *mine;
			struct store_opts so = { .url = redis.url, .prefix = "pw:", .connect_timeout_ms = 2000,
				.command_timeout_ms = 2000 };
			char err[256];
			int t, bad = 0;

			if (store_open(&mine, &so, err, sizeof(err)) != STORE_OK)
				_exit(2);
			for (t = 0; t < TICKS; t++)
				if (jobs_schedule_tick(mine, src, NSRC, now + t, NULL, NULL) != STORE_OK)
					bad = 1;
			store_close(mine);
			_exit(bad);
		}
	}
	for (i = 0; i < NPROC; i++) {
		int status;

		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "ticker %d failed: %d", i, status);
	}
	cr_assert_eq(raw_int("XLEN pw:jobs"), NSRC);
	for (i = 0; i < NSRC; i++) {
		cr_assert_eq(jobs_for(names[i]), 1, "%s enqueued %zu times", names[i], jobs_for(names[i]));
		cr_assert_geq(due_score(names[i]), now + 3600000);
	}
}

Test(jobs, a_source_with_a_job_in_flight_is_not_enqueued_again)
{
	struct jobs_source src = { .name = "slow", .interval_ms = 1000 };
	struct job *jobs;
	size_t n, m;
	int64_t now = time_now_ms();

	cr_assert_eq(jobs_schedule_tick(st, &src, 1, now, &n, NULL), STORE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(jobs_claim(st, "w:1", 10, 0, &jobs, &m), STORE_OK, "%s", store_error(st));
	cr_assert_eq(m, 1);
	/* Due again while the first crawl still runs: skipped, only re-scored. */
	cr_assert_eq(jobs_schedule_tick(st, &src, 1, now + 1500, &n, NULL), STORE_OK);
	cr_assert_eq(n, 0);
	cr_assert_eq(due_score("slow"), now + 2500);
	cr_assert_eq(jobs_ack(st, &jobs[0]), STORE_OK);
	jobs_free(jobs, m);
	cr_assert_eq(jobs_schedule_tick(st, &src, 1, now + 3000, &n, NULL), STORE_OK);
	cr_assert_eq(n, 1);
}

Test(jobs, ack_comes_after_the_work_and_removes_the_entry)
{
	struct jobs_source src = { .name = "shop", .interval_ms = 60000 };
	struct job *jobs, *again;
	size_t n, m;

	cr_assert_eq(jobs_schedule_tick(st, &src, 1, time_now_ms(), &n, NULL), STORE_OK);
	cr_assert_eq(jobs_claim(st, "w:1", 10, 100, &jobs, &m), STORE_OK);
	cr_assert_eq(m, 1);
	cr_assert_str_eq(jobs[0].source, "shop");
	cr_assert_str_eq(jobs[0].url, "");
	cr_assert_gt(jobs[0].due_ms, 0);
	/* Claimed but not acked: pending for its consumer, still in the stream. */
	cr_assert_eq(pending_count(), 1);
	cr_assert_eq(raw_int("XLEN pw:jobs"), 1);
	cr_assert_eq(jobs_claim(st, "w:2", 10, 0, &again, &n), STORE_OK);
	cr_assert_eq(n, 0, "a claimed job was handed out twice");
	jobs_free(again, n);

	cr_assert_eq(jobs_ack(st, &jobs[0]), STORE_OK, "%s", store_error(st));
	cr_assert_eq(pending_count(), 0);
	cr_assert_eq(raw_int("XLEN pw:jobs"), 0);
	cr_assert_eq(raw_int("HEXISTS pw:jobs:open shop"), 0);
	jobs_free(jobs, m);
}

Test(jobs, a_job_held_by_a_killed_consumer_is_reclaimed_once)
{
	struct jobs_source src = { .name = "orphan", .interval_ms = 3600000 };
	struct job *jobs;
	size_t n, m;
	pid_t pid;
	int status;
	char id[JOBS_ID_MAX];

	cr_assert_eq(jobs_schedule_tick(st, &src, 1, time_now_ms(), &n, NULL), STORE_OK);
	cr_assert_eq(n, 1);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct store *mine;
		struct store_opts so = { .url = redis.url, .prefix = "pw:", .connect_timeout_ms = 2000,
			.command_timeout_ms = 2000 };
		char err[256];
		struct job *js;
		size_t k;

		if (store_open(&mine, &so, err, sizeof(err)) != STORE_OK)
			_exit(2);
		if (jobs_claim(mine, "doomed:1", 1, 500, &js, &k) != STORE_OK || k != 1)
			_exit(3);
		_exit(0);                /* dies holding the job: no XACK */
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	cr_assert_eq(pending_count(), 1);

	/* Nothing new to claim, and the lease has not run out yet. */
	cr_assert_eq(jobs_claim(st, "live:2", 10, 0, &jobs, &m), STORE_OK);
	cr_assert_eq(m, 0);
	jobs_free(jobs, m);
	cr_assert_eq(jobs_reclaim(st, "live:2", 60000, 10, &jobs, &m), STORE_OK, "%s", store_error(st));
	cr_assert_eq(m, 0);
	jobs_free(jobs, m);

	sleep_ms(400);
	cr_assert_eq(jobs_reclaim(st, "live:2", 300, 10, &jobs, &m), STORE_OK, "%s", store_error(st));
	cr_assert_eq(m, 1);
	cr_assert_str_eq(jobs[0].source, "orphan");
	cr_assert_eq(jobs[0].attempt, 2, "deliveries %lld", (long long)jobs[0].attempt);
	pw_strlcpy(id, jobs[0].id, sizeof(id));
	/* Another live consumer does not get it while we hold it. */
	{
		struct job *other;
		size_t k;

		cr_assert_eq(jobs_reclaim(st, "live:3", 300, 10, &other, &k), STORE_OK);
		cr_assert_eq(k, 0);
		jobs_free(other, k);
	}
	cr_assert_eq(jobs_ack(st, &jobs[0]), STORE_OK);
	jobs_free(jobs, m);

	/* Processed exactly once more: nothing left to reclaim or claim. */
	sleep_ms(400);
	cr_assert_eq(jobs_reclaim(st, "live:3", 300, 10, &jobs, &m), STORE_OK);
	cr_assert_eq(m, 0);
	jobs_free(jobs, m);
	cr_assert_eq(jobs_claim(st, "live:3", 10, 0, &jobs, &m), STORE_OK);
	cr_assert_eq(m, 0);
	jobs_free(jobs, m);
	cr_assert_eq(pending_count(), 0);
	cr_assert_eq(raw_int("XLEN pw:jobs"), 0);
	{
		bool exists = true;

		cr_assert_eq(jobs_exists(st, id, &exists), STORE_OK);
		cr_assert(!exists);
	}
}

Test(jobs, a_renewed_lease_is_not_reclaimed)
{
	struct jobs_source src = { .name = "long", .interval_ms = 3600000 };
	struct job *jobs, *other;
	size_t n, m, k;
	bool held;

	cr_assert_eq(jobs_schedule_tick(st, &src, 1, time_now_ms(), &n, NULL), STORE_OK);
	cr_assert_eq(jobs_claim(st, "a:1", 1, 0, &jobs, &m), STORE_OK);
	cr_assert_eq(m, 1);
	sleep_ms(400);
	cr_assert_eq(jobs_extend(st, "a:1", jobs[0].id, &held), STORE_OK, "%s", store_error(st));
	cr_assert(held);
	cr_assert_eq(jobs_reclaim(st, "b:2", 300, 10, &other, &k), STORE_OK);
	cr_assert_eq(k, 0, "a renewed job was taken over");
	jobs_free(other, k);
	/* Someone else's job cannot be renewed by us. */
	cr_assert_eq(jobs_extend(st, "b:2", jobs[0].id, &held), STORE_OK);
	cr_assert(!held);
	jobs_free(jobs, m);
}

Test(jobs, poison_jobs_are_dropped_after_too_many_deliveries)
{
	struct jobs_source src = { .name = "poison", .interval_ms = 3600000 };
	struct job *jobs;
	struct source_state ss;
	size_t n, m;
	int i;

	cr_assert_eq(jobs_schedule_tick(st, &src, 1, time_now_ms(), &n, NULL), STORE_OK);
	cr_assert_eq(jobs_claim(st, "c:0", 1, 0, &jobs, &m), STORE_OK);
	cr_assert_eq(m, 1);
	jobs_free(jobs, m);
	for (i = 1; i < JOBS_MAX_DELIVERIES; i++) {
		char who[16];

		snprintf(who, sizeof(who), "c:%d", i);
		cr_assert_eq(jobs_reclaim(st, who, 0, 10, &jobs, &m), STORE_OK);
		cr_assert_eq(m, 1, "delivery %d", i + 1);
		jobs_free(jobs, m);
	}
	cr_assert_eq(jobs_reclaim(st, "c:last", 0, 10, &jobs, &m), STORE_OK);
	cr_assert_eq(m, 0, "a job delivered %d times was handed out again", JOBS_MAX_DELIVERIES + 1);
	jobs_free(jobs, m);
	cr_assert_eq(pending_count(), 0);
	cr_assert_eq(source_state_get(st, "poison", &ss), STORE_OK);
	cr_assert_not_null(ss.last_error);
	cr_assert_not_null(strstr(ss.last_error, "dropped"), "%s", ss.last_error);
	source_state_free(&ss);
}

Test(jobs, a_failing_source_backs_off_and_says_so)
{
	struct jobs_source src = { .name = "flaky", .interval_ms = 1000 };
	struct source_state ss;
	int64_t now = 1700000000000LL, streak, next;
	size_t n;
	int i;

	cr_assert_eq(source_state_get(st, "flaky", &ss), STORE_NOT_FOUND);
	cr_assert_eq(jobs_schedule_tick(st, &src, 1, now, &n, NULL), STORE_OK);
	for (i = 1; i <= 3; i++) {
		cr_assert_eq(source_state_update(st, "flaky", false, "HTTP 503 from http://x/", now, 1000, &streak,
		    &next), STORE_OK, "%s", store_error(st));
		cr_assert_eq(streak, i);
		cr_assert_eq(next, now + (1000LL << i), "streak %d: next %lld", i, (long long)(next - now));
		cr_assert_eq(next - now, jobs_backoff_ms(1000, i));
		cr_assert_eq(due_score("flaky"), next);
	}
	cr_assert_eq(source_state_get(st, "flaky", &ss), STORE_OK);
	cr_assert_eq(ss.error_streak, 3);
	cr_assert_eq(ss.last_error_ms, now);
	cr_assert_eq(ss.next_due_ms, now + 8000);
	cr_assert_eq(ss.crawls, 3);
	cr_assert_str_eq(ss.last_error, "HTTP 503 from http://x/");
	source_state_free(&ss);

	/* The growth is capped. */
	cr_assert_eq(jobs_backoff_ms(1000, 50), 64000);
	cr_assert_eq(jobs_backoff_ms(3600000, 10), 24LL * 3600000);

	cr_assert_eq(source_state_update(st, "flaky", true, NULL, now + 9000, 1000, &streak, &next), STORE_OK);
	cr_assert_eq(streak, 0);
	cr_assert_eq(source_state_get(st, "flaky", &ss), STORE_OK);
	cr_assert_eq(ss.error_streak, 0);
	cr_assert_eq(ss.last_ok_ms, now + 9000);
	cr_assert_str_eq(ss.last_error, "HTTP 503 from http://x/", "the last error is history, kept");
	source_state_free(&ss);
}

Test(jobs, forgotten_sources_leave_the_schedule)
{
	struct jobs_source src[2] = { { .name = "keep", .interval_ms = 1000 }, { .name = "gone", .interval_ms = 1000 } };
	const char *gone[] = { "gone" };
	size_t n;

	cr_assert_eq(jobs_schedule_tick(st, src, 2, time_now_ms(), &n, NULL), STORE_OK);
	cr_assert_eq(raw_int("ZCARD pw:due"), 2);
	cr_assert_eq(jobs_forget_sources(st, gone, 1), STORE_OK);
	cr_assert_eq(raw_int("ZCARD pw:due"), 1);
	cr_assert_eq(due_score("gone"), -1);
	cr_assert_eq(raw_int("HEXISTS pw:jobs:open gone"), 0);
}

Test(jobs, once_enqueues_every_source_now_and_a_vanished_group_comes_back)
{
	struct jobs_source src[2] = { { .name = "x", .interval_ms = 60000 }, { .name = "y", .interval_ms = 60000 } };
	char ids[2][JOBS_ID_MAX];
	struct job *jobs;
	size_t m;
	int64_t now = time_now_ms();
	bool exists;

	cr_assert_eq(jobs_enqueue_now(st, src, 2, now, ids), STORE_OK, "%s", store_error(st));
	cr_assert_eq(raw_int("XLEN pw:jobs"), 2);
	cr_assert_eq(due_score("x"), now + 60000);
	cr_assert_eq(jobs_exists(st, ids[0], &exists), STORE_OK);
	cr_assert(exists);

	/*
	 * Redis lost everything (restart without persistence) and a job was added
	 * to the new stream before anyone noticed: claiming recreates the group
	 * and still delivers that job.
	 */
	raw_int("DEL pw:jobs");
	cr_assert_eq(jobs_enqueue_now(st, src, 1, now, ids), STORE_OK);
	cr_assert_eq(jobs_claim(st, "w:1", 10, 0, &jobs, &m), STORE_OK, "%s", store_error(st));
	cr_assert_eq(m, 1);
	cr_assert_str_eq(jobs[0].id, ids[0]);
	cr_assert_eq(jobs_ack(st, &jobs[0]), STORE_OK);
	jobs_free(jobs, m);
	cr_assert_eq(jobs_leave(st, "w:1"), STORE_OK);
	cr_assert_eq(jobs_exists(st, ids[0], &exists), STORE_OK);
	cr_assert(!exists);
}
