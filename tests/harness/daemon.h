/* daemon.h: runs the real pricewatchd for a test: a temp dir with a config, a redis-server, a fixture shop, the log. */
#ifndef PW_TEST_DAEMON_H
#define PW_TEST_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "harness/httpd.h"
#include "harness/redis.h"
#include "store/store.h"

/*
 * One test's world: a redis-server, the fixture shop (an httpd serving
 * docroot/), a store connected to Redis, and a temp dir holding docroot/,
 * the daemon's state dir(s), pricewatch.conf and daemon.log (the daemon's
 * stdout and stderr). Everything is removed by test_daemon_teardown.
 */
struct test_daemon {
	struct test_redis redis;
	struct test_httpd httpd;
	char dir[256];             /* temp dir */
	char docroot[300];
	char conf[300];
	char log[300];
	struct store *st;          /* owned: closed by test_daemon_teardown */
};

void test_daemon_setup(struct test_daemon *fx);
void test_daemon_teardown(struct test_daemon *fx);

/* Writes text to path (creates or truncates); fails the test when it cannot. */
void test_daemon_write_text(const char *path, const char *text);
/*
 * Writes docroot/name: a product page whose JSON-LD offer has price (decimal
 * text), currency and a schema.org availability ("InStock", "OutOfStock",
 * ...). The listing's id is "<source>:sku:W-<name>".
 */
void test_daemon_write_product(struct test_daemon *fx, const char *name, const char *price, const char *currency,
    const char *avail);
/* The same page with a product image: image is a path on the shop ("img/cup.webp"). */
void test_daemon_write_product_image(struct test_daemon *fx, const char *name, const char *price,
    const char *currency, const char *avail, const char *image);
/*
 * Writes fx->conf: Redis at redis_url, state dir DIR/state, debug log, no
 * admin endpoint, 1 s timeouts, and one source "s<i>" per path (relative to
 * the shop, interval 1 s); extra (may be NULL) is appended as is.
 */
void test_daemon_write_config(struct test_daemon *fx, const char *redis_url, const char *const *paths, size_t n,
    const char *extra);

/* $PW_TOP_BUILDDIR/pricewatchd (else ./pricewatchd). Static buffer. */
const char *test_daemon_path(void);
/*
 * Starts pricewatchd -c conf with up to two more arguments (NULL: none; e.g.
 * "-f", "--once"), stdout and stderr appended to log. Returns its pid.
 */
pid_t test_daemon_spawn_at(const char *conf, const char *log, const char *a1, const char *a2);
/* test_daemon_spawn_at with the world's conf and log. */
pid_t test_daemon_spawn(struct test_daemon *fx, const char *a1, const char *a2);
/* Waits for the child up to ms; returns its wait status, or -1 if it is still running. */
int test_daemon_wait_exit(pid_t pid, int ms);
/* SIGTERMs the daemon and asserts it exited with status 0 within 10 s. */
void test_daemon_stop(pid_t pid);
/* Runs pricewatchd -f --once on the world's conf to its end (at most 60 s); returns its exit status. */
int test_daemon_once(struct test_daemon *fx);

/* Number of change points of the listing (0 when it has none or Redis cannot say). */
size_t test_daemon_history_len(struct test_daemon *fx, const char *id);
/* Polls until the listing's history has at least want entries or ms pass; returns the last count. */
size_t test_daemon_wait_history(struct test_daemon *fx, const char *id, size_t want, int ms);
/*
 * Waits up to ms until the daemon pid logged that it started (in the world's
 * log; signals are handled from then on); false when it did not.
 */
bool test_daemon_wait_started(struct test_daemon *fx, pid_t pid, int ms);
/* The whole log so far (at most 1 MiB); never NULL. The caller frees. */
char *test_daemon_log(struct test_daemon *fx);

void test_sleep_ms(int ms);

#endif
