/* alert-bench.c: end-to-end alert latency (change recorded -> webhook received, p50/p99) with N alerts queued, and alerts/s delivered to a local receiver. */
#define _GNU_SOURCE 1   /* strcasestr */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "alert/alert.h"
#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "store/store.h"

#define DEFAULT_N 1000
#define STEADY_N 200
#define T_BASE 1790000000000LL

/* ---- a receiver thread: one POST per connection, records when each delivery key arrived ---- */

struct arrival {
	char key[ALERT_KEY_HEX + 1];
	double at;                 /* seconds, CLOCK_MONOTONIC */
};

static struct {
	int fd, port;
	pthread_t thread;
	atomic_bool stop;
	atomic_size_t n;
	size_t cap;
	struct arrival *arr;
} rx;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads one request (head + Content-Length body); copies the X-Pricewatch-Delivery value into key. */
static bool
read_post(int c, char key[ALERT_KEY_HEX + 1])
{
	static char buf[1 << 16];
	size_t len = 0, need = 0;
	const char *end = NULL;

	key[0] = '\0';
	for (;;) {
		struct pollfd p = { .fd = c, .events = POLLIN };
		ssize_t k;

		if (atomic_load(&rx.stop))
			return false;
		if (poll(&p, 1, 50) <= 0)
			continue;
		k = read(c, buf + len, sizeof(buf) - 1 - len);
		if (k <= 0)
			return false;
		len += (size_t)k;
		buf[len] = '\0';
		if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:"), *d = strcasestr(buf,
			    "\r\nX-Pricewatch-Delivery:");
			int64_t v = 0;

			if (cl != NULL) {
				char num[24];
				size_t i = 0;

				for (cl += 17; *cl == ' '; cl++)
					;
				while (i < sizeof(num) - 1 && cl[i] >= '0' && cl[i] <= '9') {
					num[i] = cl[i];
					i++;
				}
				num[i] = '\0';
				(void)parse_int64(num, 0, 60000, &v);
			}
			if (d != NULL) {
				for (d += 24; *d == ' '; d++)
					;
				pw_strlcpy(key, d, ALERT_KEY_HEX + 1);
			}
			need = (size_t)(end - buf) + 4 + (size_t)v;
		}
		if (end != NULL && len >= need)
			return true;
		if (len >= sizeof(buf) - 1)
			return false;
	}
}

/* Answers every request of a connection (keep-alive: the notifier reuses its connection). */
static void *
receiver_main(void *arg)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

	(void)arg;
	while (!atomic_load(&rx.stop)) {
		struct pollfd p = { .fd = rx.fd, .events = POLLIN };
		char key[ALERT_KEY_HEX + 1];
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(rx.fd, NULL, NULL);
		if (c < 0)
			continue;
		while (read_post(c, key)) {
			size_t i = atomic_load(&rx.n);

			if (i < rx.cap) {
				pw_strlcpy(rx.arr[i].key, key, sizeof(rx.arr[i].key));
				rx.arr[i].at = now_s();
				atomic_store(&rx.n, i + 1);
			}
			if (send(c, ok, sizeof(ok) - 1, MSG_NOSIGNAL) < 0)
				break;
		}
		close(c);
	}
	return NULL;
}

static bool
receiver_start(size_t cap)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int one = 1;

	rx.cap = cap;
	rx.arr = xcalloc(cap, sizeof(*rx.arr));
	rx.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (rx.fd < 0)
		return false;
	setsockopt(rx.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(rx.fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(rx.fd, 128) != 0 ||
	    getsockname(rx.fd, (struct sockaddr *)&a, &al) != 0)
		return false;
	rx.port = ntohs(a.sin_port);
	return pthread_create(&rx.thread, NULL, receiver_main, NULL) == 0;
}

/* ---- a private redis-server on a unix socket ---- */

static char dir[] = "/tmp/pw-alert-bench-XXXXXX";
static pid_t redis_pid = -1;

static bool
redis_start(char *url, size_t urllen)
{
	const char *server = getenv("PW_REDIS_SERVER");
	char sock[200];

	if (mkdtemp(dir) == NULL)
		return false;
	pw_snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
	pw_snprintf(url, urllen, "unix://%s", sock);
	redis_pid = fork();
	if (redis_pid < 0)
		return false;
	if (redis_pid == 0) {
		const char *s = server != NULL && server[0] != '\0' ? server : "redis-server";

		/* Its output would hold our stdout and stderr open (a pipe to a caller) past our exit. */
		if (freopen("/dev/null", "w", stdout) == NULL || freopen("/dev/null", "w", stderr) == NULL)
			_exit(127);

		execlp(s, s, "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no", "--dir", dir,
		    "--loglevel", "warning", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if (access(sock, F_OK) == 0)
			return true;
		usleep(25 * 1000);
	}
	return false;
}

static void
redis_stop(void)
{
	char cmd[300];

	if (redis_pid > 0) {
		kill(redis_pid, SIGTERM);
		waitpid(redis_pid, NULL, 0);
	}
	pw_snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

/* Gives up: says what failed, stops the private redis-server (never left behind), exits 1. */
static void __attribute__((noreturn))
fail(const char *what, size_t i, struct store *st)
{
	fprintf(stderr, "alert-bench: %s %zu failed: %s\n", what, i, st != NULL ? store_error(st) : "");
	redis_stop();
	exit(1);
}

/* ---- the measurement ---- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *sorted, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return sorted[i < n ? i : n - 1];
}

/*
 * Records an observation of listing i at time t the daemon's way (alert_store_record, then
 * alert_on_change when it changed); true when it raised exactly `alerts` alerts.
 */
static bool
record_change(struct alert_engine *eng, struct store *st, size_t i, int64_t price, int64_t t, size_t alerts,
    double *at, char key[ALERT_KEY_HEX + 1])
{
	char lid[64];
	struct observation o;
	struct change c;
	bool changed = false;
	size_t fired = 0;

	pw_snprintf(lid, sizeof(lid), "bench:sku:%zu", i);
	memset(&o, 0, sizeof(o));
	o.source = "bench";
	o.listing_id = lid;
	o.url = "https://bench.example/p";
	o.title = "Bench widget";
	o.extractor = "jsonld";
	o.price.minor = price;
	memcpy(o.price.currency, "EUR", 4);
	o.availability = AVAIL_IN_STOCK;
	o.observed_ms = t;
	*at = now_s();
	if (alert_store_record(eng, st, &o, &changed) != STORE_OK || !changed ||
	    alert_change_from_store(st, &o, &c) != STORE_OK || alert_on_change(eng, st, &c, &fired) != STORE_OK ||
	    fired != alerts)
		return false;
	alert_key("any", lid, t, key);
	return true;
}

/* Latency of each sent alert: the receiver's arrival time of its key minus the time it was recorded. */
static size_t
latencies(char (*keys)[ALERT_KEY_HEX + 1], const double *sent, size_t n, size_t rx_from, double *out)
{
	size_t got = 0, nrx = atomic_load(&rx.n);

	for (size_t i = 0; i < n; i++)
		for (size_t j = rx_from; j < nrx; j++)
			if (strcmp(rx.arr[j].key, keys[i]) == 0) {
				out[got++] = (rx.arr[j].at - sent[i]) * 1000.0;
				break;
			}
	qsort(out, got, sizeof(*out), cmp_double);
	return got;
}

static struct {
	struct alert_engine *eng;
	struct store *st;
	atomic_bool stop;
} worker;

static void *
worker_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&worker.stop)) {
		struct alert_worker_opts o = { .consumer = "bench", .block_ms = 100, .batch = 64 };
		struct alert_worker_stats s;

		if (alert_engine_work(worker.eng, worker.st, &o, &s) != STORE_OK)
			return NULL;
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	size_t n = DEFAULT_N;
	int64_t v;
	char url[300], path[300], err[512];
	struct store_opts so;
	struct store *st = NULL, *wst = NULL;
	struct config cfg;
	struct alert_engine *eng = NULL;
	char (*keys)[ALERT_KEY_HEX + 1];
	double *sent, *lat, t0, t1;
	size_t got;
	pthread_t wt;
	FILE *f;

	if (argc > 1) {
		if (!parse_int64(argv[1], 1, 1000000, &v)) {
			fprintf(stderr, "usage: alert-bench [N alerts queued, default %d]\n", DEFAULT_N);
			return 2;
		}
		n = (size_t)v;
	}
	log_set_level(LOG_LEVEL_WARN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !receiver_start(n + STEADY_N + 16) ||
	    !redis_start(url, sizeof(url))) {
		fprintf(stderr, "alert-bench: cannot start the receiver or redis-server: %s\n", strerror(errno));
		redis_stop();
		return 1;
	}
	pw_snprintf(path, sizeof(path), "%s/bench.conf", dir);
	f = fopen(path, "w");
	if (f == NULL)
		fail("writing the config", 0, NULL);
	fprintf(f, "[source \"bench\"]\nurl = https://bench.example/\n"
	    "[notifier \"hook\"]\ntype = webhook\nurl = http://127.0.0.1:%d/hook\n"
	    "[rule \"any\"]\nkind = any-change\ncooldown = 0\nnotify = hook\n", rx.port);
	fclose(f);
	memset(&so, 0, sizeof(so));
	so.url = url;
	so.prefix = "pw:";
	so.connect_timeout_ms = 2000;
	so.command_timeout_ms = 5000;
	if (!config_load(&cfg, path, err, sizeof(err)) || !alert_engine_new(&eng, &cfg, err, sizeof(err)) ||
	    store_open(&st, &so, err, sizeof(err)) != STORE_OK || store_open(&wst, &so, err, sizeof(err)) != STORE_OK ||
	    alert_queue_init(st) != STORE_OK) {
		fprintf(stderr, "alert-bench: %s\n", err);
		redis_stop();
		return 1;
	}
	keys = xcalloc(n + STEADY_N, sizeof(*keys));
	sent = xcalloc(n + STEADY_N, sizeof(*sent));
	lat = xcalloc(n + STEADY_N, sizeof(*lat));

	/* 1. Backlog: n changes recorded (first sightings, then a price change each), then one worker drains them. */
	for (size_t i = 0; i < n; i++) {
		double dummy;
		char k[ALERT_KEY_HEX + 1];

		if (!record_change(eng, st, i, 2000, T_BASE, 0, &dummy, k))
			fail("recording listing", i, st);
	}
	for (size_t i = 0; i < n; i++)
		if (!record_change(eng, st, i, 1900, T_BASE + 1000, 1, &sent[i], keys[i]))
			fail("recording change", i, st);
	t0 = now_s();
	worker.eng = eng;
	worker.st = wst;
	if (pthread_create(&wt, NULL, worker_main, NULL) != 0)
		fail("starting the worker thread", 0, st);
	while (atomic_load(&rx.n) < n && now_s() - t0 < 300)
		usleep(1000);
	t1 = now_s();
	got = latencies(keys, sent, n, 0, lat);
	printf("{\"bench\":\"alerts-backlog\",\"queued\":%zu,\"record_s\":%.3f,\"delivered\":%zu,\"drain_s\":%.3f,"
	    "\"alerts_per_s\":%.1f,\"latency_p50_ms\":%.2f,\"latency_p99_ms\":%.2f,\"latency_max_ms\":%.2f}\n",
	    n, t0 - sent[0], got, t1 - t0, (double)got / (t1 - t0), got > 0 ? pct(lat, got, 0.5) : 0, got > 0 ?
	    pct(lat, got, 0.99) : 0, got > 0 ? lat[got - 1] : 0);

	/* 2. Steady state: the worker idles on a blocking read; one change at a time, each waited for. */
	for (size_t i = 0; i < STEADY_N; i++) {
		size_t before = atomic_load(&rx.n);
		double start;

		/* Listing i mod n, at a price it never had: always a change. */
		if (!record_change(eng, st, i % n, 1800 - (int64_t)i, T_BASE + 2000 + (int64_t)i, 1, &sent[n + i],
		    keys[n + i]))
			fail("recording steady change", i, st);
		start = now_s();
		while (atomic_load(&rx.n) == before && now_s() - start < 10)
			usleep(100);
	}
	got = latencies(keys + n, sent + n, STEADY_N, n, lat);
	printf("{\"bench\":\"alerts-steady\",\"alerts\":%d,\"delivered\":%zu,\"latency_p50_ms\":%.2f,"
	    "\"latency_p99_ms\":%.2f,\"latency_max_ms\":%.2f}\n", STEADY_N, got, got > 0 ? pct(lat, got, 0.5) : 0,
	    got > 0 ? pct(lat, got, 0.99) : 0, got > 0 ? lat[got - 1] : 0);

	atomic_store(&worker.stop, true);
	pthread_join(wt, NULL);
	atomic_store(&rx.stop, true);
	pthread_join(rx.thread, NULL);
	close(rx.fd);
	free(keys);
	free(sent);
	free(lat);
	free(rx.arr);
	alert_engine_free(eng);
	config_free(&cfg);
	store_close(st);
	store_close(wst);
	redis_stop();
	curl_global_cleanup();
	return 0;
}
