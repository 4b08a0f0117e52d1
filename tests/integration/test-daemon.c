/* test-daemon.c: runs the real pricewatchd binary against a real redis-server and a fixture HTTP server. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "harness/daemon.h"
#include "store/store.h"

Test(daemon, check_config_reports_file_and_line)
{
	struct test_daemon fx;
	char *cmd, *out;
	int status;

	test_daemon_setup(&fx);
	test_daemon_write_text(fx.conf, "[daemon]\nlog-level = info\n\n[crawl]\ntimeout = 5s\nbogus-key = 1\n");
	cmd = xasprintf("'%s' --check-config -c '%s' > '%s' 2>&1", test_daemon_path(), fx.conf, fx.log);
	status = system(cmd);
	free(cmd);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
	out = test_daemon_log(&fx);
	cr_assert_not_null(strstr(out, "pricewatch.conf:6:"), "no FILE:LINE in: %s", out);
	cr_assert_not_null(strstr(out, "bogus-key"), "key not named in: %s", out);
	free(out);

	test_daemon_write_text(fx.conf, "[daemon]\nlog-level = info\n");
	cmd = xasprintf("'%s' --check-config -c '%s' > '%s' 2>&1", test_daemon_path(), fx.conf, fx.log);
	status = system(cmd);
	free(cmd);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	out = test_daemon_log(&fx);
	cr_assert_not_null(strstr(out, "configuration OK"), "%s", out);
	free(out);
	test_daemon_teardown(&fx);
}

Test(daemon, records_change_points_and_survives_sigterm, .timeout = 60)
{
	struct test_daemon fx;
	const char *paths[] = { "a.html" };
	struct listing l;
	struct history_point *pts = NULL;
	size_t n = 0;
	pid_t pid;
	int status;
	char *log;

	test_daemon_setup(&fx);
	test_daemon_write_product(&fx, "a.html", "19.99", "USD", "InStock");
	test_daemon_write_config(&fx, fx.redis.url, paths, 1, NULL);
	pid = test_daemon_spawn(&fx, "-f", NULL);

	cr_assert_eq(test_daemon_wait_history(&fx, "s0:sku:W-a.html", 1, 10000), 1, "first observation not recorded");
	cr_assert_eq(store_get_listing(fx.st, "s0:sku:W-a.html", &l), STORE_OK);
	cr_assert_eq(l.price.minor, 1999);
	cr_assert_str_eq(l.price.currency, "USD");
	cr_assert_eq(l.availability, AVAIL_IN_STOCK);
	store_listing_free(&l);

	/* Identical pages for a few intervals: last-seen moves, history does not grow. */
	test_sleep_ms(2500);
	cr_assert_eq(test_daemon_history_len(&fx, "s0:sku:W-a.html"), 1);
	cr_assert_eq(store_get_listing(fx.st, "s0:sku:W-a.html", &l), STORE_OK);
	cr_assert_gt(l.last_seen_ms, l.first_seen_ms, "last-seen did not advance");
	store_listing_free(&l);

	test_daemon_write_product(&fx, "a.html", "17.49", "USD", "OutOfStock");
	cr_assert_eq(test_daemon_wait_history(&fx, "s0:sku:W-a.html", 2, 10000), 2, "price change not recorded");

	kill(pid, SIGTERM);
	status = test_daemon_wait_exit(pid, 10000);
	cr_assert_neq(status, -1, "daemon did not exit after SIGTERM");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);

	cr_assert_eq(store_history(fx.st, "s0:sku:W-a.html", 0, INT64_MAX, &pts, &n), STORE_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(pts[0].price.minor, 1999);
	cr_assert_eq(pts[1].price.minor, 1749);
	cr_assert_eq(pts[1].availability, AVAIL_OUT_OF_STOCK);
	cr_assert_leq(pts[0].time_ms, pts[1].time_ms);
	free(pts);

	/* A restarted daemon continues the same history. */
	test_daemon_write_product(&fx, "a.html", "18.00", "USD", "InStock");
	pid = test_daemon_spawn(&fx, "--once", NULL);
	status = test_daemon_wait_exit(pid, 15000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "--once status %d", status);
	cr_assert_eq(test_daemon_history_len(&fx, "s0:sku:W-a.html"), 3);

	log = test_daemon_log(&fx);
	cr_assert_not_null(strstr(log, "stopping:"), "no exit summary in log: %s", log);
	free(log);
	test_daemon_teardown(&fx);
}

Test(daemon, hostile_sources_do_not_stop_good_ones, .timeout = 60)
{
	struct test_daemon fx;
	const char *paths[] = { "hang", "noprice.html", "status/500", "garbage.html", "good.html" };
	struct listing l;
	pid_t pid;
	int status;
	char *log;

	test_daemon_setup(&fx);
	{
		char *p = xasprintf("%s/noprice.html", fx.docroot);
		FILE *f;
		int i;

		test_daemon_write_text(p, "<html><body><h1>Nothing to buy</h1></body></html>");
		free(p);
		p = xasprintf("%s/garbage.html", fx.docroot);
		f = fopen(p, "w");
		cr_assert_not_null(f);
		fputs("<html><script type=\"application/ld+json\">{\"@type\":\"Product\",\"offers\":[[[[", f);
		for (i = 0; i < 4096; i++)
			fputc((i * 7919) & 0xff, f);
		fclose(f);
		free(p);
	}
	test_daemon_write_product(&fx, "good.html", "1500", "JPY", "InStock");
	test_daemon_write_config(&fx, fx.redis.url, paths, 5, NULL);
	pid = test_daemon_spawn(&fx, "-f", NULL);

	cr_assert_geq(test_daemon_wait_history(&fx, "s4:sku:W-good.html", 1, 15000), 1, "good source starved");
	cr_assert_eq(store_get_listing(fx.st, "s4:sku:W-good.html", &l), STORE_OK);
	cr_assert_eq(l.price.minor, 1500);
	cr_assert_str_eq(l.price.currency, "JPY");
	store_listing_free(&l);
	cr_assert_eq(kill(pid, 0), 0, "daemon died on hostile input");

	kill(pid, SIGTERM);
	status = test_daemon_wait_exit(pid, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
	log = test_daemon_log(&fx);
	cr_assert_not_null(strstr(log, "/hang"), "timeout not logged with its URL: %s", log);
	cr_assert_not_null(strstr(log, "/status/500"), "HTTP error not logged with its URL: %s", log);
	free(log);
	test_daemon_teardown(&fx);
}

Test(daemon, keeps_running_while_redis_is_unreachable, .timeout = 60)
{
	struct test_daemon fx;
	const char *paths[] = { "a.html" };
	char url[400];
	pid_t pid;
	int status;
	char *log;

	test_daemon_setup(&fx);
	test_daemon_write_product(&fx, "a.html", "5.00", "EUR", "InStock");
	snprintf(url, sizeof(url), "unix://%s/nobody-here.sock", fx.dir);
	test_daemon_write_config(&fx, url, paths, 1, NULL);
	pid = test_daemon_spawn(&fx, "-f", NULL);
	test_sleep_ms(1500);
	cr_assert_eq(kill(pid, 0), 0, "daemon gave up without Redis");
	kill(pid, SIGTERM);
	status = test_daemon_wait_exit(pid, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
	log = test_daemon_log(&fx);
	cr_assert_not_null(strstr(log, "nobody-here.sock"), "Redis URL not named: %s", log);
	free(log);
	test_daemon_teardown(&fx);
}

Test(daemon, sighup_reload_adds_sources_and_refuses_bad_config, .timeout = 60)
{
	struct test_daemon fx;
	const char *one[] = { "a.html" };
	const char *two[] = { "a.html", "b.html" };
	pid_t pid;
	int status;
	char *log;

	test_daemon_setup(&fx);
	test_daemon_write_product(&fx, "a.html", "1.00", "USD", "InStock");
	test_daemon_write_product(&fx, "b.html", "2.00", "USD", "InStock");
	test_daemon_write_config(&fx, fx.redis.url, one, 1, NULL);
	pid = test_daemon_spawn(&fx, "-f", NULL);
	cr_assert_eq(test_daemon_wait_history(&fx, "s0:sku:W-a.html", 1, 10000), 1);

	/* A broken file is refused; the daemon keeps running on the old one. */
	test_daemon_write_text(fx.conf, "[crawl]\ntimeout = forever\n");
	kill(pid, SIGHUP);
	test_sleep_ms(500);
	cr_assert_eq(kill(pid, 0), 0, "daemon died on a bad reload");

	test_daemon_write_config(&fx, fx.redis.url, two, 2, NULL);
	kill(pid, SIGHUP);
	cr_assert_eq(test_daemon_wait_history(&fx, "s1:sku:W-b.html", 1, 10000), 1, "source added by reload not crawled");

	kill(pid, SIGTERM);
	status = test_daemon_wait_exit(pid, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	log = test_daemon_log(&fx);
	cr_assert_not_null(strstr(log, "reload refused"), "%s", log);
	cr_assert_not_null(strstr(log, "pricewatch.conf:2:"), "%s", log);
	free(log);
	test_daemon_teardown(&fx);
}

Test(daemon, refuses_to_start_twice_on_one_state_dir, .timeout = 60)
{
	struct test_daemon fx;
	const char *paths[] = { "a.html" };
	pid_t first, second;
	int status;

	test_daemon_setup(&fx);
	test_daemon_write_product(&fx, "a.html", "1.00", "USD", "InStock");
	test_daemon_write_config(&fx, fx.redis.url, paths, 1, NULL);
	first = test_daemon_spawn(&fx, "-f", NULL);
	cr_assert_eq(test_daemon_wait_history(&fx, "s0:sku:W-a.html", 1, 10000), 1);
	second = test_daemon_spawn(&fx, "-f", NULL);
	status = test_daemon_wait_exit(second, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1, "second daemon status %d",
	    status);
	cr_assert_eq(kill(first, 0), 0);
	kill(first, SIGTERM);
	status = test_daemon_wait_exit(first, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	test_daemon_teardown(&fx);
}

/* ---- crawl jobs shared through Redis (several daemons, one schedule) ---------------------------- */

#include <hiredis/hiredis.h>

/*
 * Under ASan, Criterion 2.4's parallel runner (the parent process, not a test)
 * leaks one 48-byte block when the long kill test below finishes after another
 * test; LSan then fails the whole binary although every test passed. The
 * daemon under test is not covered by this: it runs as its own process, and a
 * leak there turns into exit status 23, which every test here asserts is 0.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libcriterion.so\n";
}

/* A config at path with its own state dir (one per daemon), one source per path. */
static void
write_config_at(struct test_daemon *fx, const char *path, const char *state, const char *const *paths, size_t n,
    const char *interval, const char *crawl_extra)
{
	FILE *f = fopen(path, "w");
	size_t i;

	cr_assert_not_null(f);
	fprintf(f, "[redis]\nurl = %s\n\n[daemon]\nstate-dir = %s/%s\nlog-level = debug\nadmin-listen = off\n\n", fx->redis.url,
	    fx->dir, state);
	fprintf(f, "[crawl]\nconnect-timeout = 1s\nper-host-delay = 0s\n%s\n", crawl_extra);
	for (i = 0; i < n; i++)
		fprintf(f, "[source \"s%zu\"]\nurl = %s/%s\ninterval = %s\n\n", i, fx->httpd.base_url, paths[i],
		    interval);
	fclose(f);
}

static redisContext *
raw_connect(struct test_daemon *fx)
{
	redisContext *rc = redisConnectUnix(fx->redis.socket_path);

	cr_assert(rc != NULL && rc->err == 0);
	return rc;
}

static long long
raw_int(redisContext *rc, const char *cmd, const char *arg)
{
	redisReply *r = arg != NULL ? redisCommand(rc, cmd, arg) : redisCommand(rc, cmd);
	long long v = -1;

	cr_assert_not_null(r);
	if (r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	freeReplyObject(r);
	return v;
}

/* Makes sources s0..s(n-1) due now, as after a long stop (else first crawls spread over up to 30 s). */
static void
make_due(redisContext *rc, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char m[16];

		snprintf(m, sizeof(m), "s%zu", i);
		cr_assert_eq(raw_int(rc, "ZADD pw:due 0 %s", m), 1);
	}
}

/* Pending jobs held by the consumer whose name ends in ":pid". */
static int
jobs_held_by(redisContext *rc, pid_t pid)
{
	redisReply *r = redisCommand(rc, "XPENDING pw:jobs crawlers - + 100");
	char suffix[32];
	int n = 0;

	snprintf(suffix, sizeof(suffix), ":%ld", (long)pid);
	cr_assert_not_null(r);
	if (r->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i < r->elements; i++) {
			const char *who = r->element[i]->element[1]->str;
			size_t lw = strlen(who), ls = strlen(suffix);

			if (lw > ls && strcmp(who + lw - ls, suffix) == 0)
				n++;
		}
	freeReplyObject(r);
	return n;
}

static long long
source_crawls(redisContext *rc, const char *source)
{
	char key[160];

	snprintf(key, sizeof(key), "pw:source:%s", source);
	return raw_int(rc, "HGET %s crawls", key);
}

/* The N in the daemon's exit line "crawl jobs: E enqueued, N claimed, ...", or -1. */
static long long
claimed_in_log(const char *path)
{
	char *s = read_file(path, 1 << 20, NULL), *p;
	long long v = -1;

	if (s == NULL)
		return -1;
	p = strstr(s, "crawl jobs: ");
	if (p != NULL && (p = strstr(p, "enqueued, ")) != NULL)
		v = strtoll(p + 10, NULL, 10);
	free(s);
	return v;
}

Test(daemon, two_daemons_share_one_schedule, .timeout = 90)
{
	struct test_daemon fx;
	const char *paths[] = { "p0.html", "p1.html", "p2.html", "p3.html", "p4.html", "p5.html" };
	char conf2[320], log2[320], id[64];
	long long before[6], after[6];
	redisContext *rc;
	pid_t a, b;
	int64_t t0, elapsed;
	int status;
	size_t i;

	test_daemon_setup(&fx);
	for (i = 0; i < 6; i++)
		test_daemon_write_product(&fx, paths[i], "3.00", "EUR", "InStock");
	write_config_at(&fx, fx.conf, "state-a", paths, 6, "2s", "timeout = 2s\n");
	snprintf(conf2, sizeof(conf2), "%s/second.conf", fx.dir);
	snprintf(log2, sizeof(log2), "%s/second.log", fx.dir);
	write_config_at(&fx, conf2, "state-b", paths, 6, "2s", "timeout = 2s\n");
	a = test_daemon_spawn_at(fx.conf, fx.log, "-f", NULL);
	b = test_daemon_spawn_at(conf2, log2, "-f", NULL);
	for (i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "s%zu:sku:W-%s", i, paths[i]);
		cr_assert_eq(test_daemon_wait_history(&fx, id, 1, 15000), 1, "%s never recorded", id);
	}

	/* Over a few intervals, each page is crawled about once per interval in total, not once per daemon. */
	rc = raw_connect(&fx);
	t0 = time_mono_ms();
	for (i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "s%zu", i);
		before[i] = source_crawls(rc, id);
	}
	test_sleep_ms(8000);
	for (i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "s%zu", i);
		after[i] = source_crawls(rc, id);
	}
	elapsed = time_mono_ms() - t0;
	for (i = 0; i < 6; i++) {
		/* Due times move by 2 s +- 10 %: at most elapsed / 1.8 s crawls, plus one at each end. */
		long long most = elapsed / 1800 + 2, got = after[i] - before[i];

		cr_assert_geq(got, 1, "s%zu not crawled in %lld ms", i, (long long)elapsed);
		cr_assert_leq(got, most, "s%zu crawled %lld times in %lld ms (2 s interval): work done twice?", i, got,
		    (long long)elapsed);
	}
	redisFree(rc);

	kill(a, SIGTERM);
	kill(b, SIGTERM);
	status = test_daemon_wait_exit(a, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "first daemon: %d", status);
	status = test_daemon_wait_exit(b, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "second daemon: %d", status);
	/* Both took part. */
	cr_assert_gt(claimed_in_log(fx.log), 0, "first daemon claimed no job");
	cr_assert_gt(claimed_in_log(log2), 0, "second daemon claimed no job");
	test_daemon_teardown(&fx);
}

Test(daemon, jobs_of_a_killed_daemon_are_finished_by_another, .timeout = 90)
{
	struct test_daemon fx;
	const char *paths[] = { "slow/1500/p0.html", "slow/1500/p1.html", "slow/1500/p2.html",
		"slow/1500/p3.html", "slow/1500/p4.html", "slow/1500/p5.html" };
	char conf2[320], log2[320], id[64], *log;
	redisContext *rc;
	pid_t a, b;
	int status, waited;
	size_t i;

	test_daemon_setup(&fx);
	for (i = 0; i < 6; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%zu.html", i);
		test_daemon_write_product(&fx, name, "4.00", "EUR", "InStock");
	}
	/* An hour between crawls: a page recorded after the kill was recovered from the dead daemon's job. */
	write_config_at(&fx, fx.conf, "state-a", paths, 6, "1h", "timeout = 5s\njob-timeout = 2s\n");
	snprintf(conf2, sizeof(conf2), "%s/second.conf", fx.dir);
	snprintf(log2, sizeof(log2), "%s/second.log", fx.dir);
	write_config_at(&fx, conf2, "state-b", paths, 6, "1h", "timeout = 5s\njob-timeout = 2s\n");
	rc = raw_connect(&fx);
	make_due(rc, 6);

	a = test_daemon_spawn_at(fx.conf, fx.log, "-f", NULL);
	for (waited = 0; waited < 15000 && jobs_held_by(rc, a) == 0; waited += 20)
		test_sleep_ms(20);
	cr_assert_gt(jobs_held_by(rc, a), 0, "first daemon never claimed a job");
	b = test_daemon_spawn_at(conf2, log2, "-f", NULL);
	kill(a, SIGKILL);              /* mid-fetch: the job stays claimed, never acked */
	cr_assert_neq(test_daemon_wait_exit(a, 5000), -1);

	for (i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "s%zu:sku:W-p%zu.html", i, i);
		cr_assert_eq(test_daemon_wait_history(&fx, id, 1, 40000), 1, "%s never recorded after the kill", id);
	}
	for (waited = 0; waited < 10000 && raw_int(rc, "XLEN pw:jobs", NULL) != 0; waited += 100)
		test_sleep_ms(100);
	cr_assert_eq(raw_int(rc, "XLEN pw:jobs", NULL), 0, "jobs left in the stream");
	cr_assert_eq(jobs_held_by(rc, a), 0, "the dead daemon still holds a job");
	redisFree(rc);

	kill(b, SIGTERM);
	status = test_daemon_wait_exit(b, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "second daemon: %d", status);
	log = read_file(log2, 1 << 20, NULL);
	cr_assert_not_null(log);
	cr_assert_not_null(strstr(log, "took over job"), "no reclaim in the log: %s", log);
	free(log);
	test_daemon_teardown(&fx);
}

Test(daemon, a_job_is_acked_only_after_its_observations_are_stored, .timeout = 60)
{
	struct test_daemon fx;
	const char *paths[] = { "a.html" };
	redisContext *rc;
	redisReply *r;
	pid_t pid;
	int status, waited;
	bool refused = false;

	test_daemon_setup(&fx);
	test_daemon_write_product(&fx, "a.html", "9.99", "USD", "InStock");
	write_config_at(&fx, fx.conf, "state", paths, 1, "1h", "timeout = 2s\njob-timeout = 2s\n");
	rc = raw_connect(&fx);
	make_due(rc, 1);
	/* Another program's key where the listing goes: Redis refuses the record (WRONGTYPE). */
	r = redisCommand(rc, "SET pw:listing:s0:sku:W-a.html not-a-hash");
	freeReplyObject(r);
	pid = test_daemon_spawn_at(fx.conf, fx.log, "-f", NULL);

	for (waited = 0; waited < 15000 && !refused; waited += 100) {
		r = redisCommand(rc, "HGET pw:source:s0 last_error");
		refused = r != NULL && r->type == REDIS_REPLY_STRING && strstr(r->str, "WRONGTYPE") != NULL;
		freeReplyObject(r);
		if (!refused)
			test_sleep_ms(100);
	}
	cr_assert(refused, "the refused record was not reported in pw:source:s0");
	/* Not stored, so not acked: the job is still pending. */
	r = redisCommand(rc, "XPENDING pw:jobs crawlers");
	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
	cr_assert_eq(r->element[0]->integer, 1, "job acked although its observation was not stored");
	freeReplyObject(r);
	cr_assert_eq(raw_int(rc, "HGET pw:source:s0 error_streak", NULL), 1);

	/* Once the key is fixed, the lease runs out, the job is crawled again and stored, then acked. */
	r = redisCommand(rc, "DEL pw:listing:s0:sku:W-a.html");
	freeReplyObject(r);
	cr_assert_eq(test_daemon_wait_history(&fx, "s0:sku:W-a.html", 1, 20000), 1, "not recorded after the fix");
	for (waited = 0; waited < 10000 && raw_int(rc, "XLEN pw:jobs", NULL) != 0; waited += 100)
		test_sleep_ms(100);
	cr_assert_eq(raw_int(rc, "XLEN pw:jobs", NULL), 0);
	cr_assert_eq(raw_int(rc, "HGET pw:source:s0 error_streak", NULL), 0);
	redisFree(rc);

	kill(pid, SIGTERM);
	status = test_daemon_wait_exit(pid, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
	test_daemon_teardown(&fx);
}

Test(daemon, an_interrupted_job_is_handed_back_at_once, .timeout = 60)
{
	struct test_daemon fx;
	char conf2[320], log2[320];
	redisContext *rc;
	redisReply *r;
	FILE *f;
	pid_t a, b;
	int status, waited, i;

	test_daemon_setup(&fx);
	for (i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%d.html", i);
		test_daemon_write_product(&fx, name, "6.00", "EUR", "InStock");
	}
	/* One source, three slow pages, and a lease far longer than the test: only a hand-back can save it. */
	snprintf(conf2, sizeof(conf2), "%s/second.conf", fx.dir);
	for (i = 0; i < 2; i++) {
		f = fopen(i == 0 ? fx.conf : conf2, "w");
		cr_assert_not_null(f);
		fprintf(f, "[redis]\nurl = %s\n\n[daemon]\nstate-dir = %s/state%d\nlog-level = debug\nadmin-listen = off\n\n"
		    "[crawl]\ntimeout = 5s\njob-timeout = 1h\nper-host-delay = 0s\n\n"
		    "[source \"s0\"]\nurl = %s/slow/1000/p0.html, %s/slow/1000/p1.html, %s/slow/1000/p2.html\n"
		    "interval = 1h\n", fx.redis.url, fx.dir, i, fx.httpd.base_url, fx.httpd.base_url,
		    fx.httpd.base_url);
		fclose(f);
	}
	snprintf(log2, sizeof(log2), "%s/second.log", fx.dir);
	rc = raw_connect(&fx);
	make_due(rc, 1);
	a = test_daemon_spawn_at(fx.conf, fx.log, "-f", NULL);
	for (waited = 0; waited < 15000 && jobs_held_by(rc, a) == 0; waited += 20)
		test_sleep_ms(20);
	cr_assert_gt(jobs_held_by(rc, a), 0, "the daemon never claimed the job");
	kill(a, SIGTERM);              /* during the first page: the other two are not crawled */
	status = test_daemon_wait_exit(a, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);

	/* Back in the stream, held by nobody. */
	r = redisCommand(rc, "XPENDING pw:jobs crawlers");
	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
	cr_assert_eq(r->element[0]->integer, 0, "the stopped daemon still holds the job");
	freeReplyObject(r);
	cr_assert_eq(raw_int(rc, "XLEN pw:jobs", NULL), 1, "the job was not handed back");

	b = test_daemon_spawn_at(conf2, log2, "-f", NULL);
	cr_assert_eq(test_daemon_wait_history(&fx, "s0:sku:W-p2.html", 1, 20000), 1, "the handed-back job was not run");
	redisFree(rc);
	kill(b, SIGTERM);
	status = test_daemon_wait_exit(b, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
	test_daemon_teardown(&fx);
}

Test(daemon, a_source_removed_on_reload_leaves_the_schedule, .timeout = 60)
{
	struct test_daemon fx;
	const char *two[] = { "a.html", "b.html" };
	redisContext *rc;
	pid_t pid;
	int status, waited;

	test_daemon_setup(&fx);
	test_daemon_write_product(&fx, "a.html", "1.00", "USD", "InStock");
	test_daemon_write_product(&fx, "b.html", "2.00", "USD", "InStock");
	test_daemon_write_config(&fx, fx.redis.url, two, 2, NULL);
	pid = test_daemon_spawn(&fx, "-f", NULL);
	cr_assert_eq(test_daemon_wait_history(&fx, "s1:sku:W-b.html", 1, 10000), 1);
	rc = raw_connect(&fx);
	cr_assert_geq(raw_int(rc, "ZSCORE pw:due s1", NULL), 1);

	test_daemon_write_config(&fx, fx.redis.url, two, 1, NULL);
	kill(pid, SIGHUP);
	for (waited = 0; waited < 10000 && raw_int(rc, "ZSCORE pw:due s1", NULL) != -1; waited += 100)
		test_sleep_ms(100);
	cr_assert_eq(raw_int(rc, "ZSCORE pw:due s1", NULL), -1, "removed source still scheduled");
	cr_assert_geq(raw_int(rc, "ZSCORE pw:due s0", NULL), 1, "kept source lost its schedule");
	redisFree(rc);

	kill(pid, SIGTERM);
	status = test_daemon_wait_exit(pid, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	test_daemon_teardown(&fx);
}

/* A price drop recorded by the daemon raises an alert and its notifier thread delivers it. */
Test(daemon, price_drop_raises_and_delivers_an_alert, .timeout = 60)
{
	struct test_daemon fx;
	const char *paths[] = { "a.html" };
	char *log = NULL;
	pid_t pid;
	int status, waited;

	test_daemon_setup(&fx);
	test_daemon_write_product(&fx, "a.html", "10.00", "USD", "InStock");
	test_daemon_write_config(&fx, fx.redis.url, paths, 1,
	    "[notifier \"log1\"]\ntype = log\n\n"
	    "[rule \"big-drop\"]\nkind = drop\npercent = 10\ncooldown = 0s\nnotify = log1\n");
	pid = test_daemon_spawn(&fx, "-f", NULL);
	cr_assert_eq(test_daemon_wait_history(&fx, "s0:sku:W-a.html", 1, 10000), 1);

	/* 4 % down: below the rule's 10 %, no alert. Then 20 % down: one alert. */
	test_daemon_write_product(&fx, "a.html", "9.60", "USD", "InStock");
	cr_assert_eq(test_daemon_wait_history(&fx, "s0:sku:W-a.html", 2, 10000), 2);
	test_daemon_write_product(&fx, "a.html", "7.68", "USD", "InStock");
	cr_assert_eq(test_daemon_wait_history(&fx, "s0:sku:W-a.html", 3, 10000), 3);
	for (waited = 0; waited < 10000; waited += 100) {
		free(log);
		log = test_daemon_log(&fx);
		if (strstr(log, "[log1] rule big-drop") != NULL)
			break;
		test_sleep_ms(100);
	}
	cr_assert_not_null(strstr(log, "[log1] rule big-drop"), "alert not delivered: %s", log);
	cr_assert_not_null(strstr(log, "9.60"), "old price missing from the alert: %s", log);
	cr_assert_not_null(strstr(log, "7.68"), "new price missing from the alert: %s", log);
	/* Exactly one: the 4 % step did not fire. */
	cr_assert_null(strstr(strstr(log, "[log1] rule big-drop") + 1, "[log1] rule big-drop"),
	    "alert delivered twice: %s", log);

	kill(pid, SIGTERM);
	status = test_daemon_wait_exit(pid, 10000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
	free(log);
	log = test_daemon_log(&fx);
	cr_assert_not_null(strstr(log, "1 alerts acknowledged"), "%s", log);
	free(log);
	test_daemon_teardown(&fx);
}
