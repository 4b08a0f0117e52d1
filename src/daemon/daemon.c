/* daemon.c: pricewatchd's life cycle: config, private or configured Redis, PID file, detaching, signals, main loop. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "alert/alert.h"
#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "crawl/fetch.h"
#include "daemon/admin.h"
#include "daemon/crawler.h"
#include "daemon/daemon.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "daemon/recognise.h"
#include "store/private.h"
#include "store/store.h"

/* A crawl turn running longer than this makes /healthz report the scheduler down. */
#define SCHEDULER_STUCK_MS (15 * 60 * 1000)

/* <prefix>daemon:<consumer> (read by pricewatch status) is written again this often, and lives 3 times as long. */
#define DAEMON_INFO_REFRESH_MS (5 * 60 * 1000)

/* Monotonic ms when the current crawl turn began, 0 between turns; read by the admin thread. */
static _Atomic int64_t turn_started_ms;

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;
static volatile sig_atomic_t reopen_requested;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else if (sig == SIGUSR1)
		reopen_requested = 1;
	else
		stop_requested = 1;
}

static sigset_t daemon_signals;  /* TERM, INT, HUP, USR1 */

/*
 * Handlers only set flags. Signals are blocked just around "check the flags,
 * then sleep" and atomically unblocked inside ppoll, so a signal that arrives
 * between the check and the sleep still wakes us; while pages are fetched they
 * are unblocked, so the crawler sees a stop between URLs.
 */
static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&daemon_signals);
	sigaddset(&daemon_signals, SIGTERM);
	sigaddset(&daemon_signals, SIGINT);
	sigaddset(&daemon_signals, SIGHUP);
	sigaddset(&daemon_signals, SIGUSR1);
}

/*
 * Threads start with the signals blocked (they inherit the mask): a signal
 * sent to the process then always reaches the main thread, the one that
 * sleeps in ppoll and acts on the flags, never a helper thread that would
 * leave the main loop asleep until its timeout.
 */
static void
threads_begin(sigset_t *old)
{
	pthread_sigmask(SIG_BLOCK, &daemon_signals, old);
}

static void
threads_end(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* Sleeps up to ms, returning early when a signal arrives (or has already arrived). */
static void
wait_ms(int64_t ms)
{
	struct timespec ts;
	sigset_t old;

	if (ms < 0)
		ms = 0;
	if (ms > 3600 * 1000)
		ms = 3600 * 1000;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	sigprocmask(SIG_BLOCK, &daemon_signals, &old);
	if (!stop_requested && !reload_requested && !reopen_requested)
		ppoll(NULL, 0, &ts, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* Loads the file named by opts, the default file if it exists, or the built-in defaults. */
static bool
load_config(const struct daemon_opts *opts, struct config *cfg, char *err, size_t errlen)
{
	const char *path = opts->config_path;

	if (path == NULL) {
		if (access(CONFIG_DEFAULT_PATH, F_OK) != 0) {
			config_defaults(cfg);
			return true;
		}
		path = CONFIG_DEFAULT_PATH;
	}
	return config_load(cfg, path, err, errlen);
}

int
daemon_check_config(const struct daemon_opts *opts)
{
	struct config cfg;
	char err[1024];

	memset(&cfg, 0, sizeof(cfg));
	if (!load_config(opts, &cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("configuration OK\n");
	config_free(&cfg);
	return 0;
}

static bool
mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t i, len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return false;
		if (i < len)
			buf[i] = '/';
	}
	return true;
}

/*
 * Takes an exclusive lock on the PID file and writes our pid. The lock, not the
 * file's existence, decides whether another daemon runs, so a stale file left
 * by a crash never blocks a restart. The descriptor stays open for our life.
 */
static int
pidfile_lock(const char *path)
{
	char buf[32];
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_warn("%s: cannot open PID file", path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		log_errorx("%s: another pricewatchd is running (pid %s); refusing to start twice",
		    path, buf[0] != '\0' ? buf : "unknown");
		close(fd);
		return -1;
	}
	return fd;
}

static bool
pidfile_write(int fd, const char *path)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		log_warn("%s: cannot write PID file", path);
		return false;
	}
	return true;
}

/* Classic double fork: the parent returns to the shell once the child is set up. */
static bool
detach(void)
{
	pid_t pid;
	int fd;

	pid = fork();
	if (pid < 0)
		return false;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return false;
	pid = fork();
	if (pid < 0)
		return false;
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0)
		return false;
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return true;
}

/*
 * Connects to Redis, retrying with backoff until it answers or a stop is
 * requested: a daemon that starts before Redis must wait for it, not die.
 * A schema mismatch is fatal because retrying cannot fix it.
 */
static struct store *
open_store(const struct config *cfg, const char *url)
{
	struct store_opts so = {
		.url = url,
		.prefix = cfg->redis.prefix,
		.user = cfg->redis.user,
		.password = cfg->redis.password,
		.connect_timeout_ms = cfg->redis.connect_timeout_ms,
		.command_timeout_ms = cfg->redis.command_timeout_ms,
	};
	struct store *st = NULL;
	char err[512];
	int64_t backoff = 250;
	enum store_status rc;

	for (;;) {
		rc = store_open(&st, &so, err, sizeof(err));
		if (rc == STORE_OK)
			return st;
		if (rc == STORE_SCHEMA_MISMATCH || rc == STORE_ERROR) {
			log_errorx("%s", err);
			return NULL;
		}
		log_warnx("%s (retrying in %lld ms)", err, (long long)backoff);
		wait_ms(backoff);
		if (stop_requested)
			return NULL;
		if (backoff < 10000)
			backoff *= 2;
	}
}

static void
apply_log_level(const struct config *cfg, const struct daemon_opts *opts)
{
	const char *name = opts->log_level != NULL ? opts->log_level : cfg->daemon.log_level;
	int level = name != NULL ? log_level_parse(name) : LOG_LEVEL_INFO;

	if (level >= 0)
		log_set_level((enum log_level)level);
}

/* /healthz's scheduler check, on the admin thread: the main loop is between turns or in a recent one. */
static bool
scheduler_alive(void *arg, char *why, size_t whylen)
{
	int64_t started = atomic_load(&turn_started_ms), now = time_mono_ms();

	if (started != 0 && now - started > SCHEDULER_STUCK_MS) {
		pw_snprintf(why, whylen, "crawl turn running for %lld s", (long long)((now - started) / 1000));
		return false;
	}
	return true;
}

static bool
start_admin(const struct config *cfg, const char *url, struct metrics *metrics, struct pw_metrics *pm,
    struct admin **out)
{
	struct admin_opts ao = {
		.listen = cfg->daemon.admin_listen,
		.token = cfg->daemon.admin_token,
		.metrics = metrics,
		.store = {
			.url = url, .prefix = cfg->redis.prefix, .user = cfg->redis.user,
			.password = cfg->redis.password,
			.connect_timeout_ms = cfg->redis.connect_timeout_ms,
			.command_timeout_ms = cfg->redis.command_timeout_ms,
		},
		.scheduler_ok = scheduler_alive,
		/* Queue depths and per-source state, read from Redis on each scrape. */
		.collect = admin_collect_redis,
		.collect_arg = pm,
	};
	char err[1024];
	sigset_t old;
	bool ok;

	threads_begin(&old);
	ok = admin_start(&ao, out, err, sizeof(err));
	threads_end(&old);
	if (!ok)
		log_errorx("%s", err);
	return ok;
}

/* The admin endpoint as the main loop holds it, so a reload can restart it. */
struct admin_ctl {
	bool enabled;              /* false with --once: no endpoint at all */
	struct admin *admin;       /* running endpoint, or NULL ("off") */
	const char *url;           /* Redis URL in use; borrowed */
	struct metrics *metrics;
	struct pw_metrics *pm;
};

/* Equal texts, NULL and "" being the same ("off", no token). */
static bool
same_text(const char *a, const char *b)
{
	if (a == NULL || a[0] == '\0')
		return b == NULL || b[0] == '\0';
	return b != NULL && strcmp(a, b) == 0;
}

/*
 * SIGHUP's part for the admin endpoint: a new admin-listen or token restarts
 * it. A new address is bound before the old endpoint stops; the same address
 * with a new token must be released first, and the old endpoint comes back if
 * the new one cannot start. False (logged) when the new settings did not take.
 */
static bool
reload_admin(struct admin_ctl *ac, const struct config *old, const struct config *next)
{
	struct admin *fresh = NULL;
	const char *listen = next->daemon.admin_listen;

	if (!ac->enabled || (same_text(old->daemon.admin_listen, listen) &&
	    same_text(old->daemon.admin_token, next->daemon.admin_token)))
		return true;
	if (!same_text(old->daemon.admin_listen, listen)) {
		if (!start_admin(next, ac->url, ac->metrics, ac->pm, &fresh))
			return false;
		admin_stop(ac->admin);
	} else {
		admin_stop(ac->admin);
		ac->admin = NULL;
		if (!start_admin(next, ac->url, ac->metrics, ac->pm, &fresh)) {
			if (!start_admin(old, ac->url, ac->metrics, ac->pm, &ac->admin))
				log_errorx("admin endpoint %s: could not be restarted; it stays off until the next "
				    "reload", old->daemon.admin_listen);
			return false;
		}
	}
	ac->admin = fresh;
	log_info("admin endpoint: %s%s", listen != NULL && listen[0] != '\0' ? listen : "off",
	    next->daemon.admin_token != NULL && next->daemon.admin_token[0] != '\0' ? " (token required)" : "");
	return true;
}

/*
 * SIGHUP: a new config that fails validation is refused and the old one kept,
 * and so is one whose log file cannot be opened or whose admin endpoint cannot
 * start (the running endpoint then keeps serving). Sources and limits take
 * effect at once; the Redis connection is kept, since reconnecting a running
 * daemon elsewhere needs a restart to be safe.
 */
static void
reload(const struct daemon_opts *opts, struct config *cfg, struct crawler *crawler, struct admin_ctl *ac)
{
	struct config next;
	char err[1024];
	bool new_log;

	memset(&next, 0, sizeof(next));
	if (!load_config(opts, &next, err, sizeof(err))) {
		log_errorx("reload refused, keeping the running configuration: %s", err);
		return;
	}
	new_log = !same_text(cfg->daemon.log_file, next.daemon.log_file);
	if (new_log && !log_set_file(next.daemon.log_file, err, sizeof(err))) {
		log_errorx("reload refused, keeping the running configuration: %s", err);
		config_free(&next);
		return;
	}
	if (!reload_admin(ac, cfg, &next)) {
		log_errorx("reload refused, keeping the running configuration (admin endpoint %s unchanged)",
		    cfg->daemon.admin_listen != NULL ? cfg->daemon.admin_listen : "off");
		if (new_log && !log_set_file(cfg->daemon.log_file, err, sizeof(err)))
			log_errorx("%s", err);
		config_free(&next);
		return;
	}
	if ((cfg->redis.url == NULL) != (next.redis.url == NULL) ||
	    (cfg->redis.url != NULL && next.redis.url != NULL &&
	    strcmp(cfg->redis.url, next.redis.url) != 0))
		log_warnx("redis.url changed: restart pricewatchd to connect to the new Redis");
	config_free(cfg);
	*cfg = next;
	crawler_reconfigure(crawler, cfg);
	apply_log_level(cfg, opts);
	log_info("configuration reloaded: %zu source(s)", cfg->n_sources);
}

/*
 * Copies the crawler's totals into the metrics (metric_set on a counter only
 * moves it up): fetches per (source, host, outcome) as the crawler counts
 * them. The notifier updates the alert counters itself, the recognition
 * worker the inference ones (count_inference).
 */
static void
mirror_stats(const struct pw_metrics *pm, const struct crawler *crawler)
{
	const struct crawl_stats *cs = crawler_stats(crawler);
	const struct crawl_host_counts *hc;
	size_t n;

	hc = crawler_outcomes(crawler, &n);
	for (size_t i = 0; i < n; i++)
		for (int o = 0; o < CRAWL_OUTCOME_N; o++)
			if (hc[i].count[o] > 0)
				metric_set(pm->fetches, METRIC_LABELS(hc[i].source, hc[i].host,
				    crawl_outcome_name((enum crawl_outcome)o)), (double)hc[i].count[o]);
	metric_set(pm->observations, NULL, (double)cs->records);
	metric_set(pm->price_changes, NULL, (double)cs->changes);
	metric_set(pm->extract_errors, NULL, (double)cs->extract_errors);
	metric_set(pm->redis_errors, NULL, (double)cs->store_errors);
}

/* recognise_opts.on_inference, on the worker thread (the registry locks): one model run of images images. */
static void
count_inference(void *arg, const char *backend, size_t images, double seconds)
{
	const struct pw_metrics *pm = arg;

	metric_observe(pm->inference_seconds, METRIC_LABELS(backend), seconds);
	metric_add(pm->inferences, METRIC_LABELS(backend), (double)images);
}

/* What this daemon last wrote to <prefix>daemon:<consumer>, so it is written again only when it changes. */
struct daemon_info {
	char model[RECOGNISE_MODEL_ID_MAX], backend[RECOGNISE_BACKEND_MAX];
	int64_t written_ms;        /* monotonic; 0: never */
};

/*
 * Publishes, next to the heartbeat that XINFO CONSUMERS shows (the consumer's
 * idle time), what pricewatch status cannot see there: version, pid and, once
 * recognition has opened its model, the model id and the backend in use. A
 * hash with a TTL, so a daemon that died without leaving leaves nothing
 * behind for long. Best effort: a Redis error only waits for the next turn.
 */
static void
daemon_info_publish(struct store *st, const struct crawler *crawler, struct recognise *recog,
    struct daemon_info *last)
{
	char model[RECOGNISE_MODEL_ID_MAX], backend[RECOGNISE_BACKEND_MAX], pid[24], now[24], ttl[24];
	char *key;
	const char *argv[13];
	int argc = 0;
	redisReply *r;
	int64_t mono = time_mono_ms();

	(void)recognise_model_info(recog, model, backend);
	if (last->written_ms != 0 && mono - last->written_ms < DAEMON_INFO_REFRESH_MS &&
	    strcmp(model, last->model) == 0 && strcmp(backend, last->backend) == 0)
		return;
	key = xasprintf("%sdaemon:%s", store_prefix(st), crawler_consumer(crawler));
	pw_snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	pw_snprintf(now, sizeof(now), "%lld", (long long)time_now_ms());
	pw_snprintf(ttl, sizeof(ttl), "%d", 3 * DAEMON_INFO_REFRESH_MS);
	argv[argc++] = "HSET";
	argv[argc++] = key;
	argv[argc++] = "version";
	argv[argc++] = PACKAGE_VERSION;
	argv[argc++] = "pid";
	argv[argc++] = pid;
	argv[argc++] = "updated_ms";
	argv[argc++] = now;
	if (model[0] != '\0') {
		argv[argc++] = "model";
		argv[argc++] = model;
		argv[argc++] = "backend";
		argv[argc++] = backend;
	}
	if (store_command(st, argc, argv, &r) == STORE_OK) {
		const char *expire[] = { "PEXPIRE", key, ttl };

		freeReplyObject(r);
		if (store_command(st, 3, expire, &r) == STORE_OK) {
			freeReplyObject(r);
			(void)pw_strlcpy(last->model, model, sizeof(last->model));
			(void)pw_strlcpy(last->backend, backend, sizeof(last->backend));
			last->written_ms = mono;
		}
	}
	free(key);
}

/* A daemon that stops removes its hash, as it leaves the consumer group. */
static void
daemon_info_remove(struct store *st, const struct crawler *crawler)
{
	char *key = xasprintf("%sdaemon:%s", store_prefix(st), crawler_consumer(crawler));
	const char *argv[] = { "DEL", key };
	redisReply *r;

	if (store_command(st, 2, argv, &r) == STORE_OK)
		freeReplyObject(r);
	free(key);
}

/*
 * The notifier runs on its own thread with its own Redis connection and its
 * own copy of the configuration: a webhook or SMTP server can take a whole
 * timeout to answer, and that must never stall crawling. It reads pw:alerts
 * through the consumer group "notifiers" and acknowledges an alert only after
 * every channel delivered it or gave up into pw:alerts:dead.
 */
struct notifier {
	pthread_t thread;
	bool running;
	const struct daemon_opts *opts;
	const char *url;           /* borrowed from daemon_run, outlives the thread */
	char consumer[300];
	_Atomic unsigned reload_gen;
	_Atomic bool stop;
	struct alert_worker_stats stats;
	struct pw_metrics *pm;     /* alerts sent/failed/dead, updated from this thread (the registry locks) */
};

/* Adds one round's deliveries to the alert counters: sent, failed (will be retried), dead. */
static void
notifier_count(const struct pw_metrics *pm, const struct alert_worker_stats *round)
{
	metric_add(pm->alerts, METRIC_LABELS("sent"), (double)round->delivered);
	metric_add(pm->alerts, METRIC_LABELS("failed"), (double)round->retried);
	metric_add(pm->alerts, METRIC_LABELS("dead"), (double)round->dead);
}

static bool
notifier_load(struct notifier *n, struct config *cfg, struct alert_engine **eng)
{
	char err[1024];

	alert_engine_free(*eng);
	*eng = NULL;
	config_free(cfg);
	memset(cfg, 0, sizeof(*cfg));
	if (!load_config(n->opts, cfg, err, sizeof(err)) || !alert_engine_new(eng, cfg, err, sizeof(err))) {
		log_warnx("notifier: %s; alerts wait in Redis until the configuration is fixed", err);
		return false;
	}
	return true;
}

static void *
notifier_main(void *arg)
{
	struct notifier *n = arg;
	struct config cfg;
	struct alert_engine *eng = NULL;
	struct store *st = NULL;
	unsigned gen = atomic_load(&n->reload_gen);
	bool ok;

	memset(&cfg, 0, sizeof(cfg));
	ok = notifier_load(n, &cfg, &eng);
	while (!atomic_load(&n->stop)) {
		struct alert_worker_opts wo = { .consumer = n->consumer, .block_ms = 1000 };
		char err[512];

		if (atomic_load(&n->reload_gen) != gen) {
			gen = atomic_load(&n->reload_gen);
			ok = notifier_load(n, &cfg, &eng);
		}
		if (st == NULL && ok) {
			struct store_opts so = {
				.url = n->url, .prefix = cfg.redis.prefix, .user = cfg.redis.user,
				.password = cfg.redis.password,
				.connect_timeout_ms = cfg.redis.connect_timeout_ms,
				.command_timeout_ms = cfg.redis.command_timeout_ms,
			};

			if (store_open(&st, &so, err, sizeof(err)) != STORE_OK ||
			    alert_queue_init(st) != STORE_OK) {
				if (st != NULL)
					store_close(st);
				st = NULL;
			}
		}
		/* Keep the block below the store's command timeout: the read must not time out itself. */
		if (cfg.redis.command_timeout_ms > 0 && wo.block_ms >= cfg.redis.command_timeout_ms)
			wo.block_ms = cfg.redis.command_timeout_ms / 2;
		struct alert_worker_stats round;

		memset(&round, 0, sizeof(round));
		if (!ok || st == NULL || alert_engine_work(eng, st, &wo, &round) != STORE_OK) {
			struct timespec ts = { 1, 0 };

			nanosleep(&ts, NULL);
		}
		/* Each round reports its own counts; the thread keeps the totals. */
		n->stats.delivered += round.delivered;
		n->stats.retried += round.retried;
		n->stats.dead += round.dead;
		n->stats.acked += round.acked;
		notifier_count(n->pm, &round);
	}
	store_close(st);
	alert_engine_free(eng);
	config_free(&cfg);
	return NULL;
}

static void
notifier_start(struct notifier *n, const struct daemon_opts *opts, const struct config *cfg, const char *url,
    const char *consumer, struct pw_metrics *pm)
{
	static const struct alert_worker_stats none;
	sigset_t old;
	int rc;

	memset(n, 0, sizeof(*n));
	if (cfg->n_notifiers == 0)
		return;
	n->pm = pm;
	/* The three series exist from the start, so rate() works before the first alert. */
	notifier_count(pm, &none);
	n->opts = opts;
	n->url = url;
	(void)pw_snprintf(n->consumer, sizeof(n->consumer), "%s", consumer);
	threads_begin(&old);
	rc = pthread_create(&n->thread, NULL, notifier_main, n);
	threads_end(&old);
	if (rc != 0) {
		errno = rc;
		log_warn("cannot start the notifier thread; alerts wait in Redis");
		return;
	}
	n->running = true;
}

static void
notifier_stop(struct notifier *n)
{
	if (!n->running)
		return;
	atomic_store(&n->stop, true);
	pthread_join(n->thread, NULL);
	n->running = false;
	log_info("notifier: %zu deliveries, %zu retried, %zu dead-lettered, %zu alerts acknowledged",
	    n->stats.delivered, n->stats.retried, n->stats.dead, n->stats.acked);
}

/* The recognition worker loads its own copy of the configuration, like the notifier. */
static bool
recognise_load_config(void *arg, struct config *cfg, char *err, size_t errlen)
{
	return load_config(arg, cfg, err, errlen);
}

int
daemon_run(const struct daemon_opts *opts)
{
	struct config cfg;
	struct private_redis pr;
	struct crawler *crawler = NULL;
	struct store *st = NULL;
	const struct crawl_stats *stats;
	char err[1024], *pid_path = NULL;
	const char *url;
	int pid_fd = -1, rc = 1;
	struct metrics *metrics = metrics_new();
	struct pw_metrics pm;
	struct admin_ctl ac = { .enabled = !opts->once, .metrics = metrics, .pm = &pm };
	int64_t watchdog_ms = 0;
	bool watchdog;
	struct notifier notifier;
	struct recognise *recog = NULL;
	struct daemon_info info;
	sigset_t thread_mask;

	memset(&cfg, 0, sizeof(cfg));
	memset(&pr, 0, sizeof(pr));
	memset(&notifier, 0, sizeof(notifier));
	memset(&info, 0, sizeof(info));
	if (!load_config(opts, &cfg, err, sizeof(err))) {
		fprintf(stderr, "pricewatchd: %s\n", err);
		return 1;
	}
	log_init("pricewatchd", LOG_LEVEL_INFO, !opts->foreground || cfg.daemon.syslog);
	apply_log_level(&cfg, opts);
	/* Opened before detaching, so a bad path is reported on the terminal. */
	if (cfg.daemon.log_file != NULL && !log_set_file(cfg.daemon.log_file, err, sizeof(err))) {
		fprintf(stderr, "pricewatchd: %s\n", err);
		config_free(&cfg);
		metrics_free(metrics);
		return 1;
	}

	if (!mkdir_p(cfg.daemon.state_dir, 0700)) {
		log_warn("%s: cannot create state directory (see daemon.state-dir in pricewatch.conf)",
		    cfg.daemon.state_dir);
		goto out;
	}
	pid_path = xstrdup(cfg.daemon.pid_file);
	pid_fd = pidfile_lock(pid_path);
	if (pid_fd < 0)
		goto out;
	if (!opts->foreground && !detach()) {
		log_warn("cannot detach");
		goto out;
	}
	if (!pidfile_write(pid_fd, pid_path))
		goto out;
	install_signals();
	if (!fetch_global_init()) {
		log_errorx("cannot initialise libcurl");
		goto out;
	}

	url = cfg.redis.url;
	if (url == NULL || url[0] == '\0') {
		if (!private_redis_start(&pr, cfg.daemon.state_dir, err, sizeof(err))) {
			log_errorx("%s", err);
			goto out_curl;
		}
		url = pr.url;
		log_info("using the private redis-server at %s", pr.socket_path);
	}
	pw_metrics_register(metrics, &pm, (double)time_now_ms() / 1000.0);
	/* After detach() and the private redis-server's fork: threads do not survive fork(). */
	ac.url = url;
	if (ac.enabled && !start_admin(&cfg, url, metrics, &pm, &ac.admin))
		goto out_redis;
	notify_status("connecting to Redis at %s", url);
	st = open_store(&cfg, url);
	if (st == NULL) {
		rc = stop_requested ? 0 : 1;
		goto out_redis;
	}
	watchdog = notify_watchdog_ms(&watchdog_ms);

	crawler = crawler_new(&cfg);
	threads_begin(&thread_mask);
	recog = recognise_start(&(struct recognise_opts){ .cfg = &cfg, .redis_url = url,
	    .load_config = recognise_load_config, .load_arg = (void *)opts,
	    .on_inference = count_inference, .inference_arg = &pm });
	threads_end(&thread_mask);
	if (recog != NULL)
		crawler_set_image_sink(crawler, recognise_sink(recog));
	notify_ready();
	notify_status("crawling %zu source(s)", cfg.n_sources);
	log_info("pricewatchd %s started: %zu source(s)%s, crawl consumer %s", PACKAGE_VERSION, cfg.n_sources,
	    opts->once ? ", one pass" : "", crawler_consumer(crawler));
	if (opts->once)
		crawler_due_now(crawler);
	else
		notifier_start(&notifier, opts, &cfg, url, crawler_consumer(crawler), &pm);

	/* Each turn blocks briefly in Redis (XREADGROUP BLOCK), so the loop does not spin. */
	while (!stop_requested) {
		int64_t wait;

		if (reopen_requested) {
			reopen_requested = 0;
			if (log_reopen(err, sizeof(err)))
				log_info("log file reopened");
			else
				log_errorx("%s", err);
		}
		if (reload_requested) {
			reload_requested = 0;
			notify_reloading();
			reload(opts, &cfg, crawler, &ac);
			atomic_fetch_add(&notifier.reload_gen, 1);
			recognise_reload(recog);
			notify_ready();
		}
		atomic_store(&turn_started_ms, time_mono_ms());
		wait = crawler_run_due(crawler, st, &stop_requested);
		atomic_store(&turn_started_ms, 0);
		mirror_stats(&pm, crawler);
		daemon_info_publish(st, crawler, recog, &info);
		if (watchdog) {
			notify_watchdog();
			if (wait > watchdog_ms / 2)
				wait = watchdog_ms / 2;
		}
		if (opts->once && crawler_once_done(crawler, st))
			break;
		if (wait > 0)
			wait_ms(wait);
	}
	notify_stopping();
	notifier_stop(&notifier);
	/* Images already fetched are matched before exit (all of them for --once). */
	crawler_set_image_sink(crawler, NULL);
	recognise_stop(recog, opts->once && !stop_requested ? 300000 : 10000);
	rc = 0;
	/* A last chance for observations that were waiting on Redis. */
	if (!crawler_flush(crawler, st))
		rc = 1;
	crawler_leave(crawler, st);
	daemon_info_remove(st, crawler);
	stats = crawler_stats(crawler);
	log_info("stopping: %llu fetches ok, %llu failed, %llu observations, %llu changes, %llu alerts raised, "
	    "%llu pages without a price, %llu extraction errors, %llu store errors",
	    (unsigned long long)stats->fetches_ok, (unsigned long long)stats->fetches_failed,
	    (unsigned long long)stats->records, (unsigned long long)stats->changes,
	    (unsigned long long)stats->alerts_raised,
	    (unsigned long long)stats->pages_without_price,
	    (unsigned long long)stats->extract_errors, (unsigned long long)stats->store_errors);
	log_info("crawl jobs: %llu enqueued, %llu claimed, %llu taken over, %llu acknowledged, %llu handed back",
	    (unsigned long long)stats->jobs_enqueued, (unsigned long long)stats->jobs_claimed,
	    (unsigned long long)stats->jobs_reclaimed, (unsigned long long)stats->jobs_acked,
	    (unsigned long long)stats->jobs_released);
	if (opts->once && (stats->fetches_failed > 0 || stats->jobs_unfinished > 0))
		rc = 1;
	crawler_free(crawler);
	store_close(st);
out_redis:
	/* Before Redis goes: the endpoint holds its own connection. */
	admin_stop(ac.admin);
	private_redis_stop(&pr);
out_curl:
	fetch_global_cleanup();
out:
	if (pid_fd >= 0) {
		unlink(pid_path);
		close(pid_fd);
	}
	free(pid_path);
	config_free(&cfg);
	metrics_free(metrics);
	return rc;
}
