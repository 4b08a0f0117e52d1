/* test-ops-recognise.c: a running pricewatchd that embeds a listing image: /metrics counts the inference, status names its model and backend. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "harness/http-get.h"
#include "harness/httpd.h"
#include "harness/json.h"
#include "test-recognise-util.h"

static struct rt t;
static struct test_httpd shop;
static unsigned admin_port;
static pid_t daemon_pid = -1;

/* The shop: one product page whose image is our cup photographed again (cropped, WebP); the catalogue has it. */
static void
setup(void)
{
	char docroot[400], *html, conf[2048];

	rt_shop_setup(&t, &shop, docroot, sizeof docroot);
	html = xasprintf("<html><head><script type=\"application/ld+json\">"
	    "{\"@context\":\"https://schema.org\",\"@type\":\"Product\",\"name\":\"Tasse\",\"sku\":\"T-100\","
	    "\"image\":\"%s/img/tasse.webp\",\"offers\":{\"@type\":\"Offer\",\"price\":\"3.49\","
	    "\"priceCurrency\":\"EUR\"}}</script></head><body></body></html>", shop.base_url);
	test_httpd_write(docroot, "cup.html", html);
	free(html);
	rt_catalogue(&t);
	admin_port = test_free_port();
	cr_assert(pw_snprintf(conf, sizeof conf,
	    "[redis]\nurl = %s\n\n[daemon]\nstate-dir = %s/state\nadmin-listen = 127.0.0.1:%u\n\n"
	    "[crawl]\ntimeout = 10s\nconnect-timeout = 2s\nper-host-delay = 0s\n\n[match]\nthreshold = 0.60\n\n"
	    "[source \"s0\"]\nurl = %s/cup.html\ninterval = 1h\nallow-private = yes\n",
	    t.redis.url, t.dir, admin_port, shop.base_url));
	rt_write(t.conf, conf);
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
teardown(void)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
	}
	curl_global_cleanup();
	test_httpd_stop(&shop);
	rt_teardown(&t);
}

TestSuite(ops_recognise, .init = setup, .fini = teardown, .timeout = 300);

/* Starts pricewatchd -f on the test's configuration, its output in DIR/daemon.out. */
static void
daemon_start(void)
{
	const char *build = getenv("PW_TOP_BUILDDIR");
	char bin[512];

	cr_assert(pw_snprintf(bin, sizeof bin, "%s/pricewatchd", build != NULL ? build : "."));
	daemon_pid = fork();
	cr_assert(daemon_pid >= 0);
	if (daemon_pid == 0) {
		if (freopen(rt_path(&t, "daemon.out"), "w", stderr) == NULL)
			_exit(126);
		execl(bin, bin, "-f", "-c", t.conf, (char *)NULL);
		_exit(127);
	}
}

/* What the daemon wrote so far (for failure messages). Caller frees. */
static char *
daemon_output(void)
{
	size_t len;
	char *text = read_file(rt_path(&t, "daemon.out"), 1 << 20, &len);

	return text != NULL ? text : xstrdup("(no output)");
}

/* GET /metrics on the daemon's admin endpoint; the body (caller frees), or NULL while it does not answer 200. */
static char *
get_metrics(void)
{
	char url[128], *body;

	cr_assert(pw_snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", admin_port));
	if (test_http_get(url, NULL, &body) != 200) {
		free(body);
		return NULL;
	}
	return body;
}

/* The value of the first sample whose line starts with prefix (name and the start of its labels); -1 if none. */
static double
sample(const char *metrics, const char *prefix, char *backend, size_t blen)
{
	for (const char *p = metrics; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p != NULL ? p + 1 : NULL) {
		const char *b, *e;

		if (strncmp(p, prefix, strlen(prefix)) != 0)
			continue;
		b = p + strlen(prefix);
		e = strstr(b, "\"} ");
		cr_assert_not_null(e, "bad sample line in:\n%s", metrics);
		if (backend != NULL)
			cr_assert(pw_snprintf(backend, blen, "%.*s", (int)(e - b), b));
		return strtod(e + 3, NULL);
	}
	return -1;
}

/* Polls /metrics (at most 120 s) until an inference was timed; its backend label into backend. */
static char *
wait_for_inference(char *backend, size_t blen)
{
	for (int i = 0; i < 600; i++) {
		char *m = get_metrics();

		if (m != NULL && sample(m, "pricewatch_inference_duration_seconds_count{backend=\"", backend, blen) > 0)
			return m;
		free(m);
		cr_assert_eq(waitpid(daemon_pid, NULL, WNOHANG), 0, "pricewatchd exited:\n%s", daemon_output());
		usleep(200 * 1000);
	}
	cr_assert_fail("no inference in /metrics after 120 s; daemon said:\n%s", daemon_output());
	return NULL;
}

/* Polls status --json (at most 60 s) until the only daemon shows a model; returns that daemon's object. */
static struct json_object *
wait_for_status_model(struct json_object **root)
{
	for (int i = 0; i < 300; i++) {
		struct json_object *daemons, *d;
		char *out, *err;
		int rc = rt_pw(&t, &out, &err, "status", "--json", NULL);

		cr_assert_eq(rc, CLI_EXIT_OK, "status exited %d: %s", rc, err);
		*root = json_tokener_parse(out);
		cr_assert_not_null(*root, "%s", out);
		free(out);
		free(err);
		daemons = test_json_member(*root, "daemons");
		if (json_object_array_length(daemons) == 1) {
			d = json_object_array_get_idx(daemons, 0);
			if (json_object_get_type(test_json_member(d, "model")) == json_type_string)
				return d;
		}
		json_object_put(*root);
		usleep(200 * 1000);
	}
	cr_assert_fail("status never showed the daemon's model; daemon said:\n%s", daemon_output());
	return NULL;
}

Test(ops_recognise, metrics_time_inferences_and_status_names_model_and_backend)
{
	struct json_object *root, *d;
	char backend[64], prefix[128], *metrics, *out, *err, *line;
	double count, total;
	int status;

	daemon_start();
	metrics = wait_for_inference(backend, sizeof backend);
	cr_assert_neq(backend[0], '\0');
	/* One model run embedded the shop's image; _sum is its time, and the images counter agrees. */
	cr_assert(pw_snprintf(prefix, sizeof prefix, "pricewatch_inference_duration_seconds_count{backend=\"%s", backend));
	count = sample(metrics, prefix, NULL, 0);
	cr_assert_geq(count, 1.0, "%s", metrics);
	cr_assert(pw_snprintf(prefix, sizeof prefix, "pricewatch_inference_duration_seconds_sum{backend=\"%s", backend));
	cr_assert_gt(sample(metrics, prefix, NULL, 0), 0.0, "%s", metrics);
	cr_assert(pw_snprintf(prefix, sizeof prefix, "pricewatch_inferences_total{backend=\"%s", backend));
	total = sample(metrics, prefix, NULL, 0);
	cr_assert_geq(total, count, "%s", metrics);
	cr_assert(pw_snprintf(prefix, sizeof prefix, "pricewatch_inference_duration_seconds_bucket{backend=\"%s\",le=\"+Inf", backend));
	cr_assert_eq(sample(metrics, prefix, NULL, 0), count, "%s", metrics);
	free(metrics);

	/* status: the daemon's model id (name@hash/output/...) and the backend the histogram is labelled with. */
	d = wait_for_status_model(&root);
	cr_assert(strchr(json_object_get_string(test_json_member(d, "model")), '@') != NULL, "%s",
	    json_object_to_json_string(d));
	cr_assert_str_eq(json_object_get_string(test_json_member(d, "backend")), backend);
	cr_assert_str_eq(json_object_get_string(test_json_member(d, "version")), PACKAGE_VERSION);
	cr_assert(json_object_get_boolean(test_json_member(d, "alive")));
	line = xasprintf("model %s on %s", json_object_get_string(test_json_member(d, "model")), backend);
	json_object_put(root);
	cr_assert_eq(rt_pw(&t, &out, &err, "status", NULL), CLI_EXIT_OK, "%s", err);
	cr_assert_not_null(strstr(out, line), "no \"%s\" in:\n%s", line, out);
	cr_assert_not_null(strstr(out, "version " PACKAGE_VERSION), "%s", out);
	free(line);
	free(out);
	free(err);

	/* A daemon that stops takes its published state with it. */
	cr_assert_eq(kill(daemon_pid, SIGTERM), 0);
	cr_assert_eq(waitpid(daemon_pid, &status, 0), daemon_pid);
	daemon_pid = -1;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	cr_assert_eq(rt_keys(&t, "pw:daemon:*"), 0);
}
