/* test-admin.c: the admin HTTP endpoint over real sockets (libcurl client) against a real redis-server: routes, token, errors, binding. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "common/config.h"
#include "daemon/admin.h"
#include "daemon/metrics.h"
#include "harness/redis.h"
#include "store/jobs.h"
#include "store/store.h"

static struct test_redis R;
static struct metrics *M;
static struct admin *A;

/* What the health callbacks report; set by each test. */
static bool sched_healthy = true;

static bool
scheduler_ok(void *arg, char *why, size_t whylen)
{
	cr_assert_eq(arg, &R, "callback gets health_arg");
	if (!sched_healthy)
		snprintf(why, whylen, "scheduler stuck for 900 s");
	return sched_healthy;
}

struct reply {
	long status;
	char *body;
	size_t len;
	char headers[4096];
	char content_type[128];
};

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct reply *r = arg;
	size_t n = size * nmemb;

	r->body = realloc(r->body, r->len + n + 1);
	cr_assert_not_null(r->body);
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct reply *r = arg;
	size_t n = size * nmemb, have = strlen(r->headers);

	if (have + n < sizeof(r->headers)) {
		memcpy(r->headers + have, data, n);
		r->headers[have + n] = '\0';
	}
	return n;
}

/* Requests path from the endpoint A with method (NULL: GET) and an optional Authorization header. */
static struct reply
request(const char *method, const char *path, const char *auth)
{
	struct reply r;
	struct curl_slist *hdrs = NULL;
	char url[1024], hdr[512];
	const char *ct = NULL;
	CURL *c = curl_easy_init();
	CURLcode rc;

	memset(&r, 0, sizeof(r));
	cr_assert_not_null(c);
	cr_assert_not_null(A, "admin endpoint not started");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)admin_port(A), path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	/* Keep libcurl from normalising the path: the test sends exactly what it means. */
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	if (method != NULL && strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (method != NULL && strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
	else if (method != NULL)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (auth != NULL) {
		snprintf(hdr, sizeof(hdr), "Authorization: %s", auth);
		hdrs = curl_slist_append(hdrs, hdr);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	}
	rc = curl_easy_perform(c);
	cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method != NULL ? method : "GET", url, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	if (ct != NULL)
		snprintf(r.content_type, sizeof(r.content_type), "%s", ct);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}

static struct json_object *
json_body(const struct reply *r)
{
	struct json_object *o;

	cr_assert_str_eq(r->content_type, "application/json");
	cr_assert_not_null(r->body);
	o = json_tokener_parse(r->body);
	cr_assert_not_null(o, "not JSON: %s", r->body);
	return o;
}

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return NULL;
	return json_object_get_string(v);
}

static void
start_admin(const char *token)
{
	struct admin_opts o = {
		.listen = "127.0.0.1:0",
		.token = token,
		.metrics = M,
		.store = { .url = R.url, .connect_timeout_ms = 2000, .command_timeout_ms = 5000 },
		.scheduler_ok = scheduler_ok,
		.health_arg = &R,
	};
	char err[512] = "";

	cr_assert(admin_start(&o, &A, err, sizeof(err)), "admin_start: %s", err);
	cr_assert_not_null(A);
	cr_assert_neq(admin_port(A), 0);
}

static void
up(void)
{
	struct metric *c;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_redis_start(&R);
	M = metrics_new();
	c = metrics_counter(M, "pricewatch_fetches_total", "Fetches.", 3,
	    (const char *const[]){ "source", "host", "outcome" });
	metric_add(c, METRIC_LABELS("shopa", "shop-a.example", "ok"), 41);
	metric_inc(c, METRIC_LABELS("shopa", "shop-a.example", "ok"));
	sched_healthy = true;
	A = NULL;
}

static void
down(void)
{
	admin_stop(A);
	A = NULL;
	metrics_free(M);
	test_redis_stop(&R);
	curl_global_cleanup();
}

TestSuite(admin, .init = up, .fini = down, .timeout = 60);

Test(admin, metrics_route)
{
	struct reply r;

	start_admin(NULL);
	r = request(NULL, "/metrics", NULL);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
	cr_assert_not_null(strstr(r.body, "# TYPE pricewatch_fetches_total counter\n"), "%s", r.body);
	cr_assert_not_null(strstr(r.body, "pricewatch_fetches_total{source=\"shopa\",host=\"shop-a.example\",outcome=\"ok\"} 42\n"),
	    "%s", r.body);
	free(r.body);
}

Test(admin, healthz_ok)
{
	struct reply r;
	struct json_object *o;

	start_admin(NULL);
	r = request(NULL, "/healthz", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	o = json_body(&r);
	cr_assert_str_eq(jstr(o, "redis"), "ok");
	cr_assert_str_eq(jstr(o, "scheduler"), "ok");
	cr_assert_not(json_object_object_get_ex(o, "errors", NULL));
	json_object_put(o);
	free(r.body);

	/* HEAD: same status and type, no body. */
	r = request("HEAD", "/healthz", NULL);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.len, 0);
	free(r.body);
}

Test(admin, healthz_scheduler_down)
{
	struct reply r;
	struct json_object *o, *errors;

	start_admin(NULL);
	sched_healthy = false;
	r = request(NULL, "/healthz", NULL);
	cr_assert_eq(r.status, 503, "%s", r.body);
	o = json_body(&r);
	cr_assert_str_eq(jstr(o, "redis"), "ok");
	cr_assert_str_eq(jstr(o, "scheduler"), "down");
	cr_assert(json_object_object_get_ex(o, "errors", &errors));
	cr_assert_str_eq(jstr(errors, "scheduler"), "scheduler stuck for 900 s");
	json_object_put(o);
	free(r.body);
}

Test(admin, healthz_redis_down)
{
	struct reply r;
	struct json_object *o, *errors;

	start_admin(NULL);
	r = request(NULL, "/healthz", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	free(r.body);

	test_redis_kill(&R);
	r = request(NULL, "/healthz", NULL);
	cr_assert_eq(r.status, 503, "%s", r.body);
	o = json_body(&r);
	cr_assert_str_eq(jstr(o, "redis"), "down");
	cr_assert_str_eq(jstr(o, "scheduler"), "ok");
	cr_assert(json_object_object_get_ex(o, "errors", &errors));
	cr_assert_not_null(jstr(errors, "redis"));
	cr_assert_not_null(strstr(jstr(errors, "redis"), R.socket_path), "names the Redis: %s",
	    jstr(errors, "redis"));
	json_object_put(o);
	free(r.body);

	/* The listing API says so too, as a 503 with a reason. */
	r = request(NULL, "/api/listings/x/history", NULL);
	cr_assert_eq(r.status, 503, "%s", r.body);
	free(r.body);
}

/* Records two prices of a listing whose SKU needs URL encoding; returns its id (static buffer). */
static const char *
seed_listing(void)
{
	static char id[256];
	struct store_opts so = { .url = R.url, .connect_timeout_ms = 2000, .command_timeout_ms = 5000 };
	struct store *st = NULL;
	char err[512] = "";
	struct observation o = {
		.source = "shopa", .url = "https://shop-a.example/p/k17?x=1", .title = "Kettle \"Deluxe\" 1.7 l",
		.sku = "K/17 ü?#%", .extractor = "jsonld", .availability = AVAIL_IN_STOCK,
		.observed_ms = 1764000000000LL,
	};
	bool changed;

	cr_assert_eq(store_open(&st, &so, err, sizeof(err)), STORE_OK, "%s", err);
	cr_assert(store_listing_id(o.source, o.sku, NULL, o.url, id, sizeof(id)));
	o.listing_id = id;
	o.price.minor = 2999;
	memcpy(o.price.currency, "EUR", 4);
	cr_assert_eq(store_record(st, &o, &changed), STORE_OK, "%s", store_error(st));
	o.price.minor = 2499;
	o.observed_ms += 86400000LL;
	cr_assert_eq(store_record(st, &o, &changed), STORE_OK, "%s", store_error(st));
	cr_assert(changed);
	store_close(st);
	return id;
}

Test(admin, listing_history_with_encoded_id)
{
	const char *id = seed_listing();
	struct reply r;
	struct json_object *o, *listing, *hist, *p;
	char *esc, path[512];
	CURL *c = curl_easy_init();

	cr_assert_str_eq(id, "shopa:sku:K/17 ü?#%");
	start_admin(NULL);
	/* Every reserved character percent-encoded, '/' (%2F) included. */
	esc = curl_easy_escape(c, id, 0);
	cr_assert_not_null(strstr(esc, "%2F"));
	snprintf(path, sizeof(path), "/api/listings/%s/history", esc);
	curl_free(esc);
	curl_easy_cleanup(c);

	r = request(NULL, path, NULL);
	cr_assert_eq(r.status, 200, "%s: %s", path, r.body);
	o = json_body(&r);
	cr_assert(json_object_object_get_ex(o, "listing", &listing));
	cr_assert_str_eq(jstr(listing, "id"), id);
	cr_assert_str_eq(jstr(listing, "title"), "Kettle \"Deluxe\" 1.7 l");
	cr_assert_str_eq(jstr(listing, "price"), "24.99");
	cr_assert_str_eq(jstr(listing, "currency"), "EUR");
	cr_assert(json_object_object_get_ex(o, "history", &hist));
	cr_assert_eq(json_object_array_length(hist), 2);
	p = json_object_array_get_idx(hist, 0);
	cr_assert_str_eq(jstr(p, "price"), "29.99");
	cr_assert_eq(json_object_get_int64(json_object_object_get(p, "price_minor")), 2999);
	cr_assert_eq(json_object_get_int64(json_object_object_get(p, "time_ms")), 1764000000000LL);
	cr_assert_str_eq(jstr(p, "time"), "2025-11-24T16:00:00Z");
	cr_assert_str_eq(jstr(p, "availability"), "in_stock");
	p = json_object_array_get_idx(hist, 1);
	cr_assert_str_eq(jstr(p, "price"), "24.99");
	json_object_put(o);
	free(r.body);

	/* since= keeps only the later change point. */
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "?since=2025-11-25");
	r = request(NULL, path, NULL);
	cr_assert_eq(r.status, 200, "%s: %s", path, r.body);
	o = json_body(&r);
	cr_assert(json_object_object_get_ex(o, "history", &hist));
	cr_assert_eq(json_object_array_length(hist), 1);
	json_object_put(o);
	free(r.body);
}

/* Runs `pricewatch history ID --json` from the build tree against R and returns its stdout (caller frees). */
static char *
cli_history_json(const char *id)
{
	const char *top = getenv("PW_TOP_BUILDDIR");
	char bin[1024], *out = NULL;
	size_t len = 0;
	int fds[2], status;
	pid_t pid;
	FILE *f;

	snprintf(bin, sizeof(bin), "%s/pricewatch", top != NULL ? top : ".");
	cr_assert_eq(access(bin, X_OK), 0, "cannot run %s (set PW_TOP_BUILDDIR)", bin);
	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		setenv("PRICEWATCH_REDIS", R.url, 1);
		execl(bin, bin, "history", id, "--json", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	cr_assert_not_null(f);
	for (;;) {
		char buf[4096];
		size_t n = fread(buf, 1, sizeof(buf), f);

		if (n == 0)
			break;
		out = realloc(out, len + n + 1);
		cr_assert_not_null(out);
		memcpy(out + len, buf, n);
		len += n;
		out[len] = '\0';
	}
	fclose(f);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pricewatch history failed: %d", status);
	cr_assert_not_null(out);
	return out;
}

/* The endpoint and `pricewatch history --json` give the same document, field for field. */
Test(admin, history_matches_the_cli)
{
	const char *id = seed_listing();
	struct json_object *api, *cli;
	struct reply r;
	char *esc, path[512], *text;
	CURL *c = curl_easy_init();

	start_admin(NULL);
	esc = curl_easy_escape(c, id, 0);
	snprintf(path, sizeof(path), "/api/listings/%s/history", esc);
	curl_free(esc);
	curl_easy_cleanup(c);
	r = request(NULL, path, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	api = json_body(&r);
	text = cli_history_json(id);
	cli = json_tokener_parse(text);
	cr_assert_not_null(cli, "CLI output is not JSON: %s", text);
	cr_assert(json_object_equal(api, cli), "API:\n%s\nCLI:\n%s", r.body, text);
	json_object_put(api);
	json_object_put(cli);
	free(text);
	free(r.body);
}

Test(admin, listing_errors)
{
	struct reply r;
	struct json_object *o;

	seed_listing();
	start_admin(NULL);
	r = request(NULL, "/api/listings/shopa%3Asku%3Anope/history", NULL);
	cr_assert_eq(r.status, 404, "%s", r.body);
	o = json_body(&r);
	cr_assert_str_eq(jstr(o, "error"), "no listing 'shopa:sku:nope'");
	json_object_put(o);
	free(r.body);

	/* Bytes that are not UTF-8 come back as U+FFFD, so the JSON stays valid. */
	r = request(NULL, "/api/listings/bad%FF%FEid/history", NULL);
	cr_assert_eq(r.status, 404, "%s", r.body);
	o = json_body(&r);
	cr_assert_str_eq(jstr(o, "error"), "no listing 'bad\xef\xbf\xbd\xef\xbf\xbdid'");
	json_object_put(o);
	free(r.body);

	r = request(NULL, "/api/listings/shopa%3Asku%3AK%2F17%20%C3%BC%3F%23%25/history?since=yesterday", NULL);
	cr_assert_eq(r.status, 400, "%s", r.body);
	free(r.body);
	r = request(NULL, "/api/listings/x/history?since=2026-01-02&until=2026-01-01", NULL);
	cr_assert_eq(r.status, 400, "%s", r.body);
	free(r.body);
}

Test(admin, unknown_paths_and_methods)
{
	static const char *const missing[] = {
		"/", "/metricsx", "/metrics/", "/healthz/x", "/api/listings//history", "/api/listings/x",
		"/api/listings/history", "/api/listings/x/history/extra", "/../etc/passwd",
	};
	struct reply r;
	struct json_object *o;

	start_admin(NULL);
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		r = request(NULL, missing[i], NULL);
		cr_expect_eq(r.status, 404, "%s: %ld", missing[i], r.status);
		free(r.body);
	}
	r = request("POST", "/metrics", NULL);
	cr_assert_eq(r.status, 405, "%s", r.body);
	cr_assert_not_null(strstr(r.headers, "Allow: GET, HEAD"), "%s", r.headers);
	o = json_body(&r);
	cr_assert_not_null(jstr(o, "error"));
	json_object_put(o);
	free(r.body);
	r = request("DELETE", "/api/listings/x/history", NULL);
	cr_assert_eq(r.status, 405);
	free(r.body);
}

/* A raw command on the test server, behind the store's back; the reply is checked and freed. */
static void
raw(const char *fmt, ...)
{
	redisContext *c = redisConnectUnix(R.socket_path);
	redisReply *r;
	va_list ap;

	cr_assert(c != NULL && c->err == 0, "raw connect");
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	cr_assert(r != NULL && r->type != REDIS_REPLY_ERROR, "%s: %s", fmt, r != NULL ? r->str : "no reply");
	freeReplyObject(r);
	redisFree(c);
}

/* Queue depths, last success and error streaks come from Redis through the collect hook. */
Test(admin, metrics_collected_from_redis)
{
	struct store_opts so = { .url = R.url, .connect_timeout_ms = 2000, .command_timeout_ms = 5000 };
	struct jobs_source src[2] = {
		{ .name = "shopa", .interval_ms = 3600000 },
		{ .name = "shopb", .interval_ms = 3600000 },
	};
	struct admin_opts o = { .listen = "127.0.0.1:0", .metrics = M, .store = so,
		.collect = admin_collect_redis };
	struct pw_metrics pm;
	struct store *st = NULL;
	struct job *jobs = NULL;
	size_t enq = 0, n = 0;
	int64_t now = 1764000000000LL, next;
	char err[512] = "", want[128];
	const char *gone[] = { "shopb" };
	struct reply r;

	pw_metrics_register(M, &pm, 0);
	o.collect_arg = &pm;
	cr_assert_eq(store_open(&st, &so, err, sizeof(err)), STORE_OK, "%s", err);
	cr_assert_eq(jobs_init(st), STORE_OK, "%s", store_error(st));
	cr_assert_eq(jobs_schedule_tick(st, src, 2, now, &enq, &next), STORE_OK, "%s", store_error(st));
	if (enq == 0)
		cr_assert_eq(jobs_schedule_tick(st, src, 2, now + 60000, &enq, &next), STORE_OK);
	cr_assert(enq > 0);
	cr_assert_eq(jobs_claim(st, "test-consumer", 1, 0, &jobs, &n), STORE_OK, "%s", store_error(st));
	cr_assert_eq(n, 1);
	jobs_free(jobs, n);
	cr_assert_eq(source_state_update(st, "shopa", true, NULL, now, 3600000, NULL, NULL), STORE_OK);
	cr_assert_eq(source_state_update(st, "shopb", false, "HTTP 500", now, 3600000, NULL, NULL), STORE_OK);
	cr_assert_eq(source_state_update(st, "shopb", false, "HTTP 500", now, 3600000, NULL, NULL), STORE_OK);
	/* Three alerts, one delivered and not yet acked; one dead. */
	for (int i = 0; i < 3; i++)
		raw("XADD pw:alerts * rule r%d", i);
	raw("XGROUP CREATE pw:alerts notifiers 0");
	raw("XREADGROUP GROUP notifiers n1 COUNT 1 STREAMS pw:alerts >");
	raw("XADD pw:alerts:dead * rule r9");

	cr_assert(admin_start(&o, &A, err, sizeof(err)), "%s", err);
	r = request(NULL, "/metrics", NULL);
	cr_assert_eq(r.status, 200);
	snprintf(want, sizeof(want), "pricewatch_queue_depth{queue=\"jobs\"} %zu\n", enq);
	cr_assert_not_null(strstr(r.body, want), "%s not in:\n%s", want, r.body);
	cr_assert_not_null(strstr(r.body, "pricewatch_queue_depth{queue=\"jobs_claimed\"} 1\n"), "%s", r.body);
	cr_assert_not_null(strstr(r.body, "pricewatch_queue_depth{queue=\"alerts\"} 3\n"), "%s", r.body);
	cr_assert_not_null(strstr(r.body, "pricewatch_queue_depth{queue=\"alerts_dead\"} 1\n"), "%s", r.body);
	cr_assert_not_null(strstr(r.body,
	    "pricewatch_source_last_success_timestamp_seconds{source=\"shopa\"} 1764000000\n"), "%s", r.body);
	cr_assert_null(strstr(r.body, "pricewatch_source_last_success_timestamp_seconds{source=\"shopb\"}"),
	    "never succeeded: %s", r.body);
	cr_assert_not_null(strstr(r.body, "pricewatch_source_error_streak{source=\"shopb\"} 2\n"), "%s", r.body);
	cr_assert_not_null(strstr(r.body, "pricewatch_source_error_streak{source=\"shopa\"} 0\n"), "%s", r.body);
	free(r.body);

	/* A source that left the configuration leaves the metrics. */
	cr_assert_eq(jobs_forget_sources(st, gone, 1), STORE_OK, "%s", store_error(st));
	r = request(NULL, "/metrics", NULL);
	cr_assert_null(strstr(r.body, "source=\"shopb\""), "%s", r.body);
	cr_assert_not_null(strstr(r.body, "pricewatch_source_error_streak{source=\"shopa\"} 0\n"), "%s", r.body);
	free(r.body);

	/* Redis gone: the last values stay and the endpoint still answers. */
	store_close(st);
	test_redis_kill(&R);
	r = request(NULL, "/metrics", NULL);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.body, "pricewatch_queue_depth{queue=\"alerts\"} 3\n"), "%s", r.body);
	free(r.body);
}

Test(admin, no_metrics_registry_means_404)
{
	struct admin_opts o = { .listen = "127.0.0.1:0", .store = { .url = R.url } };
	char err[512] = "";
	struct reply r;

	cr_assert(admin_start(&o, &A, err, sizeof(err)), "%s", err);
	r = request(NULL, "/metrics", NULL);
	cr_assert_eq(r.status, 404);
	free(r.body);
	/* No scheduler callback: only Redis is checked. */
	r = request(NULL, "/healthz", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	free(r.body);
}

Test(admin, bearer_token)
{
	struct reply r;

	start_admin("s3cret-token");
	r = request(NULL, "/metrics", NULL);
	cr_assert_eq(r.status, 401);
	cr_assert_not_null(strstr(r.headers, "WWW-Authenticate: Bearer"), "%s", r.headers);
	cr_assert_null(strstr(r.body, "pricewatch_fetches_total"));
	free(r.body);
	r = request(NULL, "/metrics", "Bearer wrong-token!");
	cr_assert_eq(r.status, 401);
	free(r.body);
	r = request(NULL, "/metrics", "Bearer s3cret-token-longer");
	cr_assert_eq(r.status, 401);
	free(r.body);
	r = request(NULL, "/metrics", "Basic czNjcmV0LXRva2Vu");
	cr_assert_eq(r.status, 401);
	free(r.body);
	/* Unknown paths need the token too, so they reveal nothing. */
	r = request(NULL, "/nope", NULL);
	cr_assert_eq(r.status, 401);
	free(r.body);

	r = request(NULL, "/metrics", "Bearer s3cret-token");
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.body, "pricewatch_fetches_total"));
	free(r.body);
	r = request(NULL, "/healthz", "bearer s3cret-token");
	cr_assert_eq(r.status, 200, "the scheme is case-insensitive: %s", r.body);
	free(r.body);
}

Test(admin, address_in_use_is_a_clear_error)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char listen_addr[64], err[512] = "";
	struct admin_opts o = { .store = { .url = R.url } };
	struct admin *a = (struct admin *)1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(listen_addr, sizeof(listen_addr), "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	o.listen = listen_addr;

	cr_assert_not(admin_start(&o, &a, err, sizeof(err)));
	cr_assert_null(a);
	cr_assert_not_null(strstr(err, listen_addr), "%s", err);
	cr_assert_not_null(strstr(err, "Address already in use"), "%s", err);
	cr_assert_not_null(strstr(err, "daemon.admin-listen"), "%s", err);
	close(fd);
}

Test(admin, off_and_bad_addresses)
{
	static const char *const bad[] = {
		"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:http", "::1:9466", "[::1]",
		"[::1:9466", ":9466", "[localhost]:9466", "[127.0.0.1]:9466", "[::1]x:9466",
	};
	struct admin_opts o = { .listen = "off" };
	struct admin *a = (struct admin *)1;
	char err[512];

	cr_assert(admin_start(&o, &a, err, sizeof(err)));
	cr_assert_null(a, "off: no endpoint");
	o.listen = "";
	a = (struct admin *)1;
	cr_assert(admin_start(&o, &a, err, sizeof(err)));
	cr_assert_null(a);
	o.listen = NULL;
	cr_assert(admin_start(&o, &a, err, sizeof(err)));
	cr_assert_null(a);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.listen = bad[i];
		err[0] = '\0';
		cr_expect_not(admin_start(&o, &a, err, sizeof(err)), "accepted %s", bad[i]);
		cr_expect_null(a);
		cr_expect_not_null(strstr(err, bad[i]), "error names the address: %s", err);
		if (a != NULL)
			admin_stop(a);
	}
}

Test(admin, ipv6_loopback)
{
	struct admin_opts o = { .listen = "[::1]:0", .metrics = M, .store = { .url = R.url } };
	char err[512] = "", url[128];
	int probe = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 sa;
	CURL *c;
	long status = 0;
	CURLcode rc;
	FILE *devnull;

	/* Containers without IPv6 cannot run this test. */
	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_addr = in6addr_loopback;
	if (probe < 0 || bind(probe, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (probe >= 0)
			close(probe);
		cr_skip_test("no IPv6 loopback here");
	}
	close(probe);

	cr_assert(admin_start(&o, &A, err, sizeof(err)), "%s", err);
	snprintf(url, sizeof(url), "http://[::1]:%u/metrics", (unsigned)admin_port(A));
	c = curl_easy_init();
	devnull = fopen("/dev/null", "w");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	rc = curl_easy_perform(c);
	cr_assert_eq(rc, CURLE_OK, "%s", curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	cr_assert_eq(status, 200);
	curl_easy_cleanup(c);
	fclose(devnull);
}

/* The config keys the endpoint reads: admin-listen (off) and admin-token-file. */
Test(admin, config_keys)
{
	char dir[] = "/tmp/pw-admin-conf-XXXXXX", conf[128], tok[128], err[512] = "";
	struct config cfg;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/pricewatch.conf", dir);
	snprintf(tok, sizeof(tok), "%s/admin.token", dir);
	f = fopen(tok, "w");
	fputs("tok-123\n", f);
	fclose(f);
	f = fopen(conf, "w");
	fputs("[daemon]\nadmin-listen = [::1]:9466\nadmin-token-file = admin.token\n", f);
	fclose(f);
	cr_assert(config_load(&cfg, conf, err, sizeof(err)), "%s", err);
	cr_assert_str_eq(cfg.daemon.admin_listen, "[::1]:9466");
	cr_assert_str_eq(cfg.daemon.admin_token, "tok-123");
	cr_assert_str_eq(cfg.daemon.admin_token_file, tok);
	config_free(&cfg);

	f = fopen(conf, "w");
	fputs("[daemon]\nadmin-listen = off\n", f);
	fclose(f);
	cr_assert(config_load(&cfg, conf, err, sizeof(err)), "%s", err);
	cr_assert_null(cfg.daemon.admin_listen);
	cr_assert_null(cfg.daemon.admin_token);
	config_free(&cfg);

	f = fopen(conf, "w");
	fputs("[daemon]\nadmin-token-file = missing.token\n", f);
	fclose(f);
	cr_assert_not(config_load(&cfg, conf, err, sizeof(err)));
	cr_assert_not_null(strstr(err, ":2: [daemon] admin-token-file: cannot read"), "%s", err);
	unlink(conf);
	unlink(tok);
	rmdir(dir);
}
